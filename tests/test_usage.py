"""A share's rated lines as the workbooks read them (billing_lib.usage): sorted by pyarrow in the
order DuckDB's ``ORDER BY`` gave them, and the summarised sheets' rows per resource or counting
the resources."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pyarrow as pa

from billing_lib.invoices import build_invoices
from billing_lib.numbering import open_register
from billing_lib.usage import DETAIL_ORDER, share_lines, sorted_lines, usage_rows
from billing_lib.usage_summaries import SUMMARY_COLUMNS
from tests.invoice_helpers import ISSUED, PERIOD, line, setup

D = Decimal


def test_the_lines_are_sorted_as_duckdb_orders_them_nulls_last_the_resellers_lines_last():
    day1, day2 = date(2026, 10, 1), date(2026, 10, 2)
    rows = [
        # part, vendor_id, charge_date, source_file, source_row, invoice_line, description,
        # subscription, amount, quantity, tags (carried along)
        (1, "aws", day1, "a.csv", 2, "EC2", "x", "i-1", D("1.5"), D(1), "first part 1"),
        (0, "reseller", None, None, None, "Fee", "Fee", None, D(25), D(1), "reseller"),
        (0, "microsoft", day2, "m.csv", 1, "VM", "y", None, D(-2), None, "microsoft"),
        (0, "aws", day2, "a.csv", 9, "EC2", "z", "i-2", D(3), D(2), "aws day 2"),
        (0, "aws", None, "a.csv", 1, "EC2", "z", "i-2", D(3), D(2), "aws no date"),
        (0, "aws", day1, "b.csv", 1, "S3", "é", "i-3", D(4), D(1), "aws b.csv é"),
        (0, "aws", day1, "b.csv", 1, "S3", "z", "i-3", D(4), D(1), "aws b.csv z"),
        (0, "aws", day1, "a.csv", 5, "S3", "e", "i-3", D(4), D(1), "aws a.csv 5 S3"),
        (0, "aws", day1, "a.csv", 5, "EC2", "z", "i-9", D(-1), D(1), "aws a.csv 5 EC2 i-9"),
        (0, "aws", day1, "a.csv", 5, "EC2", "z", None, D(1), D(1), "aws a.csv 5 EC2 null"),
        (0, "aws", day1, "a.csv", 5, "EC2", "z", "i-9", D(-2), D(1), "aws a.csv 5 EC2 -2"),
        (0, None, day1, "n.csv", 1, "?", "?", None, D(0), None, "no vendor"),
    ]
    names = ["part", *DETAIL_ORDER[1:], "tags"]
    money = pa.decimal128(38, 12)
    types = [pa.int32(), pa.string(), pa.date32(), pa.string(), pa.int64(), *[pa.string()] * 3]
    types += [money, money, pa.string()]
    lines = pa.table(
        {
            n: pa.array([r[k] for r in rows], t)
            for k, (n, t) in enumerate(zip(names, types, strict=True))
        }
    )
    got = sorted_lines(lines)
    assert got["tags"].to_pylist() == [
        "aws a.csv 5 EC2 -2",
        "aws a.csv 5 EC2 i-9",
        "aws a.csv 5 EC2 null",
        "aws a.csv 5 S3",
        "aws b.csv z",  # text by its UTF-8 bytes: z before é
        "aws b.csv é",
        "aws day 2",
        "aws no date",
        "microsoft",
        "reseller",
        "no vendor",  # vendor_id = 'reseller' is NULL: last, as DuckDB's NULLS LAST
        "first part 1",
    ]
    keys = ", ".join(k for k in DETAIL_ORDER if k != "_reseller")
    oracle = duckdb.connect()
    oracle.register("lines", lines)
    assert got.equals(
        oracle.sql(
            f"SELECT * FROM lines ORDER BY part, vendor_id = 'reseller', {keys}"
        ).to_arrow_table()
    )


def _usage(tmp_path, rows, limit):
    """The usage rows of the one invoice of ``rows`` with ``usage_detail_max_lines`` ``limit``."""
    con, customers, invoicing = setup(rows)
    [inv] = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    lines = share_lines(con, [inv], invoicing, customers)
    return usage_rows(con, lines, [inv], limit)[inv.number]


RESOURCE = [h for h, _, _ in SUMMARY_COLUMNS].index("Subscription / resource")


def test_a_summary_with_no_more_rows_per_resource_than_the_limit_shows_them(tmp_path):
    # two resources, one of them none (NULL): two rows per resource, as many as the limit
    rows = [line("C003", "1", subscription=s, source_row=k) for k, s in enumerate("aab")]
    rows[2]["subscription"] = None
    usage = _usage(tmp_path, rows, 2)
    [aws] = usage.vendors
    assert usage.summarised and not aws.resources_counted
    assert [(r[RESOURCE], r[-1]) for r in aws.rows] == [("a", 2), (None, 1)]


def test_a_summary_with_more_rows_per_resource_than_the_limit_counts_them(tmp_path):
    # three rows per resource (a, b and none) against a limit of two
    rows = [line("C003", "1", subscription=s, source_row=k) for k, s in enumerate("abc")]
    rows[2]["subscription"] = None
    usage = _usage(tmp_path, rows, 2)
    [aws] = usage.vendors
    assert usage.summarised and aws.resources_counted
    assert [(r[RESOURCE], r[-1]) for r in aws.rows] == [("2 resources", 3)]


def test_a_summary_counts_one_vendors_resources_lists_anothers_and_sums_exactly(tmp_path):
    rows = [
        line("C003", "0.1", subscription="a", source_row=1, quantity="0.5", unit_price="0.2"),
        line("C003", "0.2", subscription="b", source_row=2, quantity="1", unit_price="0.2"),
        line("C003", "0.3", subscription="c", source_row=3, quantity="1.5", unit_price="0.2"),
        line("C003", "7", vendor="microsoft", service="VM", subscription="s", unit_price="7"),
        line("C003", "8", vendor="microsoft", service="VM", subscription="s", unit_price="8"),
        line("C003", "25", kind="fee", product_group="managed_services", description="Fee"),
    ]
    usage = _usage(tmp_path, rows, 2)
    assert [(v.vendor, v.resources_counted) for v in usage.vendors] == [
        ("aws", True),
        ("microsoft", False),
        ("reseller", False),
    ]
    columns = [h for h, _, _ in SUMMARY_COLUMNS]
    shown = [
        {h: r[columns.index(h)] for h in ("Subscription / resource", "Quantity", "Unit price")}
        | {"amount": D(r[columns.index("Amount")]), "lines": r[-1]}
        for v in usage.vendors
        for r in v.rows
    ]
    assert shown == [
        # one price for all three lines: shown; the quantities summed exactly
        {
            "Subscription / resource": "3 resources",
            "Quantity": "3.000000000000",
            "Unit price": "0.200000000000",
            "amount": D("0.6"),
            "lines": 3,
        },
        # two prices: none shown
        {
            "Subscription / resource": "s",
            "Quantity": "2.000000000000",
            "Unit price": None,
            "amount": D(15),
            "lines": 2,
        },
        {
            "Subscription / resource": None,
            "Quantity": "1.000000000000",
            "Unit price": "25.000000000000",
            "amount": D(25),
            "lines": 1,
        },
    ]
