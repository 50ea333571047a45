"""The bundled sample month (samples/2026-10): the committed files are what the generator writes,
byte for byte; every file imports with control totals equal to its own sums (read here with the
csv module, pyarrow and Decimal, not with the importer); the customer mapping leaves exactly the one
intended account unmapped and moves the render-farm account between customers on 16 October."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from billing_lib.customers import (
    UNMAPPED_SQL,
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.importers import import_reports, report_files
from tests.sample_totals import EXPECTED, model_amount, report_totals

ROOT = Path(__file__).resolve().parents[1]
MONTH = ROOT / "samples" / "2026-10"
REPORTS = MONTH / "reports"
PARAMETERS = ROOT / "parameters"
D = Decimal
AWS = "aws-cur2-northwind-2026-10-00001.snappy.parquet"
MS_INVOICE = "ms-invoice-reconciliation-G052026103.csv"
MS_USAGE = "ms-daily-rated-usage-G052026103.csv"
VMWARE = "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
UNMAPPED_ACCOUNT = "285396417058"
MOVING_ACCOUNT = "963741852036"

AWS_CATEGORY = {
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Credit",
    "RIFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
}


def _generator():
    spec = importlib.util.spec_from_file_location(
        "sample_generator", ROOT / "samples" / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _csv_rows(name: str) -> list[dict[str, str]]:
    with open(REPORTS / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _aws_rows() -> list[dict]:
    """The Parquet rows, amounts as the decimals AWS meant (the float's shortest text)."""
    rows = pq.read_table(REPORTS / AWS).to_pylist()
    for r in rows:
        for key, value in r.items():
            if isinstance(value, float):
                r[key] = D(repr(value))
    return rows


def own_sums() -> dict[str, dict]:
    """Rows, cost per currency and lines per charge category of each sample file, independently."""
    out = {}
    aws = _aws_rows()
    out[AWS] = (
        aws,
        lambda r: r["line_item_unblended_cost"],
        lambda r: r["line_item_currency_code"],
        lambda r: AWS_CATEGORY.get(r["line_item_line_item_type"], "Usage"),
    )
    out[MS_INVOICE] = (
        _csv_rows(MS_INVOICE),
        lambda r: D(r["Subtotal"]),
        lambda r: r["Currency"],
        lambda r: "Credit" if D(r["Subtotal"]) < 0 else "Purchase",
    )
    out[MS_USAGE] = (
        _csv_rows(MS_USAGE),
        lambda r: D(r["BillingPreTaxTotal"]),
        lambda r: r["BillingCurrency"],
        lambda r: "Usage",
    )
    out[VMWARE] = (
        _csv_rows(VMWARE),
        lambda r: D(r["Billable Points"]) * D(r["Price per Point"]),
        lambda r: r["Currency"],
        lambda r: "Usage",
    )
    sums = {}
    for name, (rows, cost, cur, cat) in out.items():
        by_cur: dict[str, Decimal] = {}
        for r in rows:
            by_cur[cur(r)] = by_cur.get(cur(r), D(0)) + model_amount(str(cost(r)))
        sums[name] = {
            "rows": len(rows),
            "cost_per_currency": {c: format(v, "f") for c, v in sorted(by_cur.items())},
            "lines_per_category": dict(sorted(Counter(cat(r) for r in rows).items())),
        }
    return sums


@pytest.fixture(scope="module")
def month() -> tuple[duckdb.DuckDBPyConnection, list]:
    con = duckdb.connect()
    reports = import_reports(con, report_files(REPORTS))
    customers = load_customers(PARAMETERS)
    register_account_map(con, load_account_mappings(PARAMETERS, customers))
    assign_customers(con)
    return con, reports


def test_the_committed_files_are_what_the_generator_writes(tmp_path):
    gen = _generator()
    written = gen.generate(tmp_path)
    assert [p.name for p in written] == sorted(p.name for p in REPORTS.iterdir())
    for path in written:
        assert path.read_bytes() == (REPORTS / path.name).read_bytes(), (
            f"{path.name} differs: rerun samples/generate.py"
        )
    again = gen.generate(tmp_path / "second")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written]


def test_every_file_imports_with_totals_equal_to_its_own_sums(month):
    _, reports = month
    by_file = {Path(r.file).name: r for r in reports}
    assert set(by_file) == {AWS, MS_INVOICE, MS_USAGE, VMWARE}
    sums = own_sums()
    for name, report in by_file.items():
        assert report.balanced
        assert report_totals(report) == sums[name], name


def test_totals_match_the_expected_file_and_the_hand_checked_figures(month):
    """tests/expected/sample-2026-10.json is the regression record (samples/README.md shows it);
    the figures below were worked out by hand from the generator's parameters."""
    _, reports = month
    got = {Path(r.file).name: report_totals(r) for r in reports}
    assert got == json.loads((EXPECTED / "sample-2026-10.json").read_text(encoding="utf-8"))
    by_file = {Path(r.file).name: r for r in reports}
    aws = by_file[AWS].cost_per_category
    # Savings Plan 0.600 USD/h x 744 h + RDS RI 0.152 USD/h x 744 h
    assert aws["Purchase"]["USD"] == D("559.488")
    # AWS Activate credit -25.00 and a refund of -12.40
    assert aws["Credit"]["USD"] == D("-37.40")
    # 6.25% of Harborview's EC2: 2 x r6i.xlarge x 24 h x 0.304 x 31 days = 452.352 -> 28.272 ->
    # 28.27
    assert aws["Tax"]["USD"] == D("28.27")
    assert by_file[MS_INVOICE].currencies[0].cost_after == D("21530.84")
    # 6,451.5 points x EUR 0.864 per point
    assert by_file[VMWARE].currencies[0].cost_after == D("5574.096")


def test_savings_plan_covered_usage_is_cancelled_by_its_negation(month):
    con, _ = month
    net = con.execute(
        "SELECT sum(BilledCost), count(*) FROM lines WHERE x_VendorChargeType IN "
        "('SavingsPlanCoveredUsage', 'SavingsPlanNegation')"
    ).fetchone()
    assert net == (D(0), 62)


def test_exactly_the_one_intended_account_is_unmapped_with_its_totals(month):
    con, _ = month
    unmapped = con.execute(UNMAPPED_SQL).fetchall()
    assert len(unmapped) == 1
    vendor, account, name, currency, lines, cost, files = unmapped[0]
    rows = [r for r in _aws_rows() if r["line_item_usage_account_id"] == UNMAPPED_ACCOUNT]
    assert (vendor, account, name, currency, Path(files).name) == (
        "aws",
        UNMAPPED_ACCOUNT,
        "poc-sandbox-ams",
        "USD",
        AWS,
    )
    assert lines == len(rows) == 62
    assert cost == sum(r["line_item_unblended_cost"] for r in rows)


def test_the_render_farm_account_moves_to_dijkstra_on_16_october(month):
    con, _ = month
    got = con.execute(
        "SELECT x_CustomerId, count(*), sum(BilledCost), min(ChargePeriodStart), "
        "max(ChargePeriodStart) "
        "FROM customer_lines WHERE SubAccountId = ? GROUP BY 1 ORDER BY 1",
        [MOVING_ACCOUNT],
    ).fetchall()
    rows = [r for r in _aws_rows() if r["line_item_usage_account_id"] == MOVING_ACCOUNT]
    before = [r for r in rows if r["line_item_usage_start_date"].day < 16]
    after = [r for r in rows if r["line_item_usage_start_date"].day >= 16]
    assert got == [
        (
            "C001",
            len(after),
            sum(r["line_item_unblended_cost"] for r in after),
            datetime(2026, 10, 16),
            datetime(2026, 10, 31),
        ),
        (
            "C009",
            len(before),
            sum(r["line_item_unblended_cost"] for r in before),
            datetime(2026, 10, 1),
            datetime(2026, 10, 15),
        ),
    ]


def test_every_customer_has_lines_and_every_vendor_account_is_in_the_mapping(month):
    con, _ = month
    customers = load_customers(PARAMETERS)
    with_lines = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT x_CustomerId FROM customer_lines WHERE x_CustomerId IS NOT NULL"
        ).fetchall()
    }
    assert with_lines == set(customers)
    mapped = {(m.vendor, m.account_id) for m in load_account_mappings(PARAMETERS, customers)}
    seen = set(con.execute("SELECT DISTINCT x_Vendor, SubAccountId FROM lines").fetchall())
    assert seen - mapped == {("aws", UNMAPPED_ACCOUNT)}
    assert mapped <= seen  # no stale mapping rows


def test_two_currencies_and_all_three_vendors(month):
    con, _ = month
    got = con.execute(
        "SELECT x_Vendor, BillingCurrency, count(*) FROM lines GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert [(v, c) for v, c, _ in got] == [("aws", "USD"), ("microsoft", "EUR"), ("vmware", "EUR")]


def test_the_readme_shows_the_expected_control_totals():
    """samples/README.md states each file's rows and cost; they must be the expected figures."""
    readme = (ROOT / "samples" / "README.md").read_text(encoding="utf-8")
    expected = json.loads((EXPECTED / "sample-2026-10.json").read_text(encoding="utf-8"))
    for name, totals in expected.items():
        (cost,) = totals["cost_per_currency"].values()
        shown = f"{D(cost).normalize():,f}"
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}`"))
        assert f"| {totals['rows']} | {shown} |" in row, (name, shown)
