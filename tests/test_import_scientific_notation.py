"""Amounts and quantities in scientific notation, as AWS (``4.0E-7`` in the legacy CUR sample),
Azure and a spreadsheet re-save write them, in every CSV format: read as the exact decimal they
state, the lines and control totals those of the same report written out in full, and a value
that is no number refused naming file, row and column."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.importers.spec import spec_named
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices
from tests import cur2_sample

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
REPORTS = ROOT / "samples" / "2026-10" / "reports"
VMWARE = DATA / "vmware-usage"

#: (report, the format it is, import options: "prices" for the contract of tests/data/vmware-usage)
CSV_REPORTS = [
    (
        DATA / "vendor-samples" / "aws-cur" / "cur-legacy-anonymous-2023-11.csv",
        "aws_cur_legacy",
        {},
    ),
    (None, "aws_cur2", {}),  # tests/cur2_sample.py's CSV, written in tmp_path
    (
        DATA / "vendor-samples" / "focus" / "saas_spend_agreements_b2.csv",
        "focus",
        {"default_currency": "USD"},
    ),
    (
        DATA / "vendor-samples" / "azure-ea" / "ea-actual-cost-small-2023-09.csv",
        "azure_cost_export",
        {},
    ),
    (DATA / "azure-cost-details" / "mca-actual-cost-2026-10.csv", "azure_cost_export", {}),
    (DATA / "azure-cost-details" / "mpa-actual-cost-2026-10.csv", "azure_cost_export_partner", {}),
    (REPORTS / "ms-invoice-reconciliation-G052026103.csv", "ms_invoice_reconciliation", {}),
    (REPORTS / "ms-daily-rated-usage-G052026103.csv", "ms_daily_rated_usage", {}),
    (
        REPORTS / "vmware-usage-meter-customer-monthly-usage-2026-10.csv",
        "vmware_usage_meter",
        {},
    ),
    (
        VMWARE / "monthly-usage-2026-11.csv",
        "vmware_usage_meter_report",
        {"prices": True, "period": "2026-11"},
    ),
    (VMWARE / "msp-usage-report-2026-10.csv", "vmware_cpn_usage", {"prices": True}),
    (VMWARE / "billing-api-raw-usage-2026-10.csv", "vmware_billing_usage", {"prices": True}),
    (VMWARE / "hourly-usage-report-2026-10.csv", "vmware_hourly_usage", {"prices": True}),
]
IDS = [f"{fmt}-{path.name if path else 'cur2'}" for path, fmt, _ in CSV_REPORTS]


def _report(path: Path | None, tmp_path: Path) -> Path:
    return path or cur2_sample.write_csv(tmp_path / "cur2-2024-05.csv")


def _options(options: dict) -> dict:
    out = {k: v for k, v in options.items() if k != "prices"}
    if options.get("prices"):
        out["vendor_prices"] = load_vendor_prices(VMWARE)
    return out


def _in_scientific_notation(text: str, lower: bool) -> str:
    """``text`` in scientific notation, every digit kept (``3.25`` is ``3.25E+0``, ``0.0000004``
    ``4E-7``), or as it is where it is no number."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    written = format(number, "E") if number.is_finite() else text
    return written.lower() if lower else written


def _rewritten(source: Path, target: Path, fmt: str, edit) -> tuple[Path, int]:
    """``source`` written to ``target`` with ``edit(row number, value)`` applied to each non-empty
    value of the columns ``fmt`` types as decimal; the number of values changed."""
    data = source.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    amounts = {c.casefold() for c, kind in spec_named(fmt).types.items() if kind == "decimal"}
    places = [i for i, name in enumerate(records[0]) if name.strip().casefold() in amounts]
    changed = 0
    for number, record in enumerate(records[1:], start=2):
        for i in places:
            if i < len(record) and record[i].strip():
                new = edit(number, record[i])
                changed += new != record[i]
                record[i] = new
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if b"\r\n" in data else "\n").writerows(records)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))
    return target, changed


def _lines(con) -> list[tuple]:
    cur = con.execute("SELECT * EXCLUDE (x_SourceFile) FROM lines ORDER BY ALL")
    return cur.fetchall()


def _totals(report) -> list[tuple]:
    return [(c.currency, c.cost_before, c.cost_after, c.balanced) for c in report.currencies]


@pytest.mark.parametrize(("path", "fmt", "options"), CSV_REPORTS, ids=IDS)
def test_amounts_in_scientific_notation_are_the_exact_decimals_they_state(
    tmp_path, path, fmt, options
):
    source = _report(path, tmp_path)
    plain = open_store()
    [before] = import_reports(plain, [source], **_options(options))
    assert before.format == fmt
    edit = lambda row, value: _in_scientific_notation(value, lower=row % 2 == 0)  # noqa: E731
    sci, changed = _rewritten(source, tmp_path / "sci" / source.name, fmt, edit)
    assert changed > 0
    con = open_store()
    [after] = import_reports(con, [sci], **_options(options))
    assert after.format == fmt and after.balanced
    assert _totals(after) == _totals(before)
    assert _lines(con) == _lines(plain)


@pytest.mark.parametrize(("path", "fmt", "options"), CSV_REPORTS, ids=IDS)
def test_an_exponent_that_is_no_number_is_refused_naming_file_row_and_column(
    tmp_path, path, fmt, options
):
    source = _report(path, tmp_path)
    bad: list[int] = []

    def edit(row: int, value: str) -> str:
        if bad:
            return value
        bad.append(row)
        return "1.2E-7x"

    target, _ = _rewritten(source, tmp_path / "bad" / source.name, fmt, edit)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [target], **_options(options))
    [problem] = [p for p in err.value.problems if p.value == "1.2E-7x"]
    assert (problem.file, problem.row) == (str(target), bad[0])
    assert problem.column and problem.column.casefold() in {
        c.casefold() for c, kind in spec_named(fmt).types.items() if kind == "decimal"
    }
    assert problem.expected.startswith("a decimal number")


def test_a_long_amount_in_scientific_notation_keeps_every_digit(tmp_path):
    """18 significant digits, more than a binary float holds: read through one, 123456789.012345678
    points became 123456789.01234568 and the cost 106666665.70666667."""
    source = REPORTS / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
    values = {
        "Units to be Reported": "6.17283945061728390E+7",
        "Billable Points": "1.23456789012345678E+8",
    }
    records = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"), newline="")))
    for column, value in values.items():
        records[1][records[0].index(column)] = value
    records[1][records[0].index("Price per Point")] = "8.64e-1"
    path = tmp_path / source.name
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(records)
    con = open_store()
    import_reports(con, [path])
    row = con.execute(
        "SELECT ConsumedQuantity, PricingQuantity, ListUnitPrice, BilledCost FROM lines "
        "WHERE SubAccountId = 'vanleeuwen-logistiek' AND SkuId = 'VMware Cloud Director'"
    ).fetchone()
    assert row == (
        Decimal("61728394.506172839"),
        Decimal("123456789.012345678"),
        Decimal("0.864"),
        Decimal("106666665.706666665792"),
    )
