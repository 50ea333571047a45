"""The detail file beside an invoice workbook states each rated line's charge period whole."""

from __future__ import annotations

from datetime import date

import duckdb

from billing_lib.workbooks import write_workbooks
from tests.invoice_helpers import line
from tests.test_workbooks import make


def test_the_detail_file_states_where_a_line_s_charge_period_ends(tmp_path):
    """The detail file gave each rated line its first day (``charge_date``) only: an annual
    licence (2026-10-15 to 2027-10-14) read as a charge of 15 October, and the customer's
    accountant could not spread it over the year it pays for. ``charge_end`` is its last day
    (NULL for a line within one day, as in ``rated_lines``), added after the other columns."""
    rows = [
        line(
            "C003",
            "9171.12",
            vendor="microsoft",
            service="Microsoft 365 Business Premium",
            charge_date=date(2026, 10, 15),
            charge_end=date(2027, 10, 14),
            source_row=2,
        ),
        line("C003", "5.00", service="Amazon EC2", source_row=3),
    ]
    con, [inv], invoicing = make(tmp_path, rows)
    [_, detail, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    got = duckdb.execute(
        "SELECT service, charge_date, charge_end FROM read_parquet(?) ORDER BY source_row",
        [str(detail)],
    ).fetchall()
    assert got == [
        ("Microsoft 365 Business Premium", date(2026, 10, 15), date(2027, 10, 14)),
        ("Amazon EC2", date(2026, 10, 15), None),
    ]
    names = [
        c[0]
        for c in duckdb.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(detail)]).fetchall()
    ]
    assert names[-1] == "charge_end"
