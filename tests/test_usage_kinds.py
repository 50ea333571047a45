"""A usage sheet's Kind column in the customer's words; the detail file keeps the codes."""

from __future__ import annotations

import duckdb
import openpyxl

from billing_lib.workbooks import write_workbooks
from tests.invoice_helpers import line
from tests.test_workbooks import make, with_limit

ROWS = [
    line("C003", "5.00", service="Amazon EC2", source_row=2),
    line("C003", "-1.00", service="Amazon EC2", charge_category="Credit", source_row=3),
    line("C003", "25", kind="fee", product_group="managed_services", description="Managed"),
    line("C003", "95", kind="one_off", product_group="managed_services", description="Setup"),
]


def _kinds(ws, header_row: int) -> list[tuple[str, str]]:
    header = [c.value for c in ws[header_row]]
    line_col, kind = header.index("Invoice line"), header.index("Kind")
    return [(r[line_col].value, r[kind].value) for r in ws.iter_rows(min_row=header_row + 1)]


def test_a_usage_sheet_names_a_line_s_kind_as_a_customer_reads_it(tmp_path):
    """The usage sheets' Kind column showed the rated lines' codes: "vendor" (for the
    customer, whose vendor is the reseller, a word that says nothing), "one_off". It shows the
    vendor line's charge category (Usage, Credit, Purchase) and the reseller's own charges by
    name (Fee, One-off charge); the detail file for the customer's tools keeps ``line_kind``."""
    con, [inv], invoicing = make(tmp_path, ROWS)
    [book, detail, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    wb = openpyxl.load_workbook(book)
    assert _kinds(wb["Usage Amazon Web Services"], 1) == [
        ("Amazon EC2", "Usage"),
        ("Amazon EC2 – credit", "Credit"),
    ]
    assert sorted(k for _, k in _kinds(wb["Other charges"], 1)) == ["Fee", "One-off charge"]
    codes = duckdb.execute("SELECT line_kind FROM read_parquet(?)", [str(detail)]).fetchall()
    assert sorted(c for (c,) in codes) == ["fee", "one_off", "vendor", "vendor"]


def test_a_summarised_usage_sheet_names_the_kind_too(tmp_path):
    con, [inv], invoicing = make(tmp_path, ROWS, with_limit(tmp_path, "1"))
    [book, _, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(book)["Usage Amazon Web Services"]
    assert _kinds(ws, 2) == [("Amazon EC2", "Usage"), ("Amazon EC2 – credit", "Credit")]
