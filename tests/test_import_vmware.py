"""VMware Cloud Provider Program usage meter monthly usage: the sample month's report imports with
its own totals; a line's cost is its billable points x the contract's price per point, both read
from the file; a report without the price is priced from parameters/vendor_prices.yaml."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from tests.sample_totals import model_amount

REPORT = (
    Path(__file__).resolve().parents[1]
    / "samples"
    / "2026-10"
    / "reports"
    / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
)
D = Decimal
#: what a line naming no Usage Meter bills the same of as a metered one (optional_key_parts)
SAME = "the same month, customer, product, unit and units"


def _rows(path: Path = REPORT) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def test_totals_equal_the_reports_own_sums():
    con = duckdb.connect()
    (report,) = import_reports(con, [REPORT])
    assert report.format == "vmware_usage_meter"
    _, rows = _rows()
    own: dict[str, Decimal] = {}
    for r in rows:
        own[r["Currency"]] = own.get(r["Currency"], D(0)) + model_amount(
            str(D(r["Billable Points"]) * D(r["Price per Point"]))
        )
    assert {c.currency: c.cost_after for c in report.currencies} == own
    assert report.rows == len(rows) == 14
    per_label = {}
    for r in rows:
        per_label[r["Customer Label"]] = per_label.get(r["Customer Label"], D(0)) + D(
            r["Billable Points"]
        )
    got = dict(
        con.execute("SELECT SubAccountId, sum(PricingQuantity) FROM lines GROUP BY 1").fetchall()
    )
    assert got == per_label


def test_hand_checked_lines():
    con = duckdb.connect()
    import_reports(con, [REPORT])
    cur = con.execute(
        "SELECT * FROM lines WHERE SubAccountId = 'zorggroep-amstelland' AND ServiceName = 'vSAN "
        "Enterprise'"
    )
    line = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    # 61.25 TiB used x 38 points per TiB = 2,327.5 points x EUR 0.864 = 2,010.96
    assert line["ConsumedQuantity"] == D("61.25") and line["ConsumedUnit"] == "TiB used"
    assert line["PricingQuantity"] == D("2327.5") and line["PricingUnit"] == "Point"
    assert line["BilledCost"] == D("2010.96") and line["BillingCurrency"] == "EUR"
    assert line["x_Vendor"] == "vmware" and line["ChargeCategory"] == "Usage"
    assert str(line["ChargePeriodStart"]) == "2026-10-01 00:00:00"
    assert str(line["ChargePeriodEnd"]) == "2026-11-01 00:00:00"
    # Zorggroep in all: 236 + 1,344 + 2,327.5 + 354 + 472 = 4,733.5 points = EUR 4,089.744
    total = con.execute(
        "SELECT sum(BilledCost) FROM lines WHERE SubAccountId = 'zorggroep-amstelland'"
    ).fetchone()[0]
    assert total == D("4089.744")


def test_a_report_with_the_price_and_no_currency_is_refused(tmp_path):
    header, rows = _rows()
    header = [h for h in header if h != "Currency"]
    path = _write(tmp_path / "no-currency.csv", header, rows)
    with pytest.raises(InputError, match=r"missing required column\(s\) \['Currency'\]") as err:
        import_reports(duckdb.connect(), [path])
    assert "expected:" in str(err.value) and "found:" in str(err.value)


def test_a_report_without_the_price_per_point_is_priced_from_the_contract(tmp_path):
    """Without Price per Point the report is a Usage Meter report priced from
    parameters/vendor_prices.yaml (tests/test_import_vmware_contract.py); without that file it is
    refused naming each product and the month."""
    header, rows = _rows()
    header = [h for h in header if h != "Price per Point"]
    path = _write(tmp_path / "points-only.csv", header, rows)
    with pytest.raises(InputError, match="Flex Core - Standard in 2026-10"):
        import_reports(duckdb.connect(), [path])


def test_unreadable_points_name_row_and_column(tmp_path):
    header, rows = _rows()
    rows[4]["Billable Points"] = "1.344,0"  # a decimal comma from a spreadsheet re-save
    path = _write(tmp_path / "comma.csv", header, rows)
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [path])
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (6, "Billable Points", "1.344,0")
    ]


def test_two_currencies_in_one_report_are_refused(tmp_path):
    header, rows = _rows()
    rows[2]["Currency"] = "USD"
    path = _write(tmp_path / "mixed.csv", header, rows)
    with pytest.raises(InputError, match="one currency expected per file") as err:
        import_reports(duckdb.connect(), [path])
    assert [(p.row, p.value) for p in err.value.problems] == [(4, "USD")]


@pytest.mark.parametrize(
    ("units", "points"), [("42", "-84"), ("-42", "84")], ids=["points-negative", "units-negative"]
)
def test_units_and_points_of_opposite_signs_are_refused_naming_both(tmp_path, units, points):
    """A row's units and its billable points count the same usage: one positive and the other
    negative (a sign lost or added by an edit) was billed as the points' sign says, a usage as a
    credit of -72.58, without a word."""
    header, rows = _rows()
    rows[0]["Units to be Reported"], rows[0]["Billable Points"] = units, points
    rows[3]["Units to be Reported"], rows[3]["Billable Points"] = "-42", "-126"  # a credit: fine
    path = _write(tmp_path / "signs.csv", header, rows)
    with pytest.raises(InputError, match="rows that cannot be billed right") as err:
        import_reports(duckdb.connect(), [path])
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(path),
        2,
        "Billable Points",
        points,
    )
    assert problem.expected.startswith(
        f"Billable Points of the sign of Units to be Reported ({units})"
    )


def test_units_and_points_of_one_sign_import(tmp_path):
    """A credit row (both negative) and a row of no points import as they read."""
    header, rows = _rows()
    rows[0]["Units to be Reported"], rows[0]["Billable Points"] = "-42", "-84"
    rows[1]["Units to be Reported"], rows[1]["Billable Points"] = "0", "0"
    path = _write(tmp_path / "credit.csv", header, rows)
    con = duckdb.connect()
    import_reports(con, [path])
    assert con.execute(
        "SELECT ChargeCategory, PricingQuantity, BilledCost FROM lines "
        "WHERE SubAccountId = 'vanleeuwen-logistiek' AND SkuId = 'VMware Cloud Director'"
    ).fetchall() == [("Credit", D(-84), D("-72.576"))]


def test_points_that_are_not_units_times_points_per_unit_are_listed_as_warnings(tmp_path):
    """Billable Points of 0 against 64 cores, and 80 points for 42 VMs at 2 points each,
    imported without a word. VMware documents no rule that the points are always units x points
    per unit (bundles, minimums, rounding): each such row is billed as the report's points and
    listed among the import report's warnings, naming row, columns and the product."""
    header, rows = _rows()
    rows[0]["Billable Points"] = "80"  # 42 VMs x 2 = 84
    rows[1]["Billable Points"] = "0"  # 64 cores x 5 = 320
    path = _write(tmp_path / "points.csv", header, rows)
    con = duckdb.connect()
    (report,) = import_reports(con, [path])
    assert report.warnings == (
        "row 2, columns 'Billable Points', 'Units to be Reported', 'Points per Unit': Billable "
        "Points 80 are not Units to be Reported 42 x Points per Unit 2 = 84; billed as the "
        "report's 80 points (a bundle, a minimum or rounding, or a figure edited?)",
        "row 3, columns 'Billable Points', 'Units to be Reported', 'Points per Unit': Billable "
        "Points 0 against Units to be Reported 64 (x Points per Unit 5 = 320); billed as the "
        "report's 0 points (a bundle, a minimum or rounding, or a figure edited?)",
    )
    assert report.to_dict()["warnings"] == list(report.warnings)
    assert con.execute(
        "SELECT x_SourceRow, PricingQuantity, BilledCost FROM lines WHERE x_SourceRow < 4 "
        "ORDER BY 1"
    ).fetchall() == [(2, D(80), D("69.12")), (3, D(0), D(0))]


def test_zero_points_against_units_are_listed_without_a_points_per_unit_column(tmp_path):
    header, rows = _rows()
    rows[4]["Billable Points"] = "0"
    path = _write(tmp_path / "points.csv", [h for h in header if h != "Points per Unit"], rows)
    (report,) = import_reports(duckdb.connect(), [path])
    assert report.warnings == (
        "row 6, columns 'Billable Points', 'Units to be Reported': Billable Points 0 against "
        "Units to be Reported 118; billed as the report's 0 points (a bundle, a minimum or "
        "rounding, or a figure edited?)",
    )


def test_the_sample_month_s_points_are_its_units_times_points_per_unit():
    (report,) = import_reports(duckdb.connect(), [REPORT])
    assert report.warnings == ()


def _without(header: list[str], rows: list[dict[str, str]], column: str):
    return [h for h in header if h != column], [
        {k: v for k, v in r.items() if k != column} for r in rows
    ]


def test_the_month_exported_with_and_without_its_usage_meter_column_is_refused(tmp_path):
    """The same month exported twice, once with the Usage Meter column and once without: each
    line's meter (BillingAccountId) differed, so neither the rows nor the reports were the same
    and the month was billed twice (11,148.19 EUR for 5,574.10). The line without a meter may be
    any meter's, so a line of one report that bills the month, customer, product, unit and units
    of the other's is refused, naming both files and rows."""
    header, rows = _rows()
    no_meter = _write(tmp_path / "no-meter-2026-10.csv", *_without(header, rows, "Usage Meter"))
    con = duckdb.connect()
    with pytest.raises(InputError) as err:
        import_reports(con, [REPORT, no_meter])
    message = str(err.value)
    assert message.startswith(f"{no_meter}: row 2 bills {SAME} as {REPORT} row 2 ")
    assert f"names no Usage Meter ({no_meter} row 2)" in message and "billed twice" in message
    problems = err.value.problems
    assert len(problems) == 14
    assert (problems[0].file, problems[0].row, problems[0].column) == (
        str(no_meter),
        2,
        "Usage Meter",
    )
    assert f"{REPORT} row 2" in problems[0].expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    # given the other way round, or in two imports into one store, the same
    with pytest.raises(InputError, match=f"^{REPORT}: row 2 bills {SAME} as {no_meter} row 2"):
        import_reports(duckdb.connect(), [no_meter, REPORT])
    import_reports(con, [REPORT])
    with pytest.raises(InputError, match="names no Usage Meter"):
        import_reports(con, [no_meter])


def test_another_site_s_report_without_its_meter_column_imports_beside_the_meters(tmp_path):
    """Lines of a report without the Usage Meter column whose units are not those of any metered
    line (another site's usage of the same customers and products) are other usage: both
    import. A line equal to a metered one but for its units is not refused."""
    header, rows = _rows()
    h, other_site = _without(header, rows[:3], "Usage Meter")
    for r in other_site:
        r["Units to be Reported"] = str(D(r["Units to be Reported"]) + 1)
        r["Billable Points"] = str(D(r["Units to be Reported"]) * D(r["Points per Unit"]))
    site = _write(tmp_path / "site-ams-2026-10.csv", h, other_site)
    reports = import_reports(duckdb.connect(), [REPORT, site])
    assert [r.rows for r in reports] == [14, 3]


def test_the_month_exported_with_and_without_its_unit_of_measure_column_is_refused(tmp_path):
    """Unit of Measure is part of a line's id where the report has it (a product may be counted
    in two units): the month exported with and without it shared no row and was billed twice. A
    line without a unit that bills the month, customer, product and units of a line with one is
    refused, naming the column."""
    header, rows = _rows()
    no_unit = _write(tmp_path / "no-unit-2026-10.csv", *_without(header, rows, "Unit of Measure"))
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [REPORT, no_unit])
    assert str(err.value).startswith(f"{no_unit}: row 2 bills {SAME} as {REPORT} row 2 (Unit")
    assert f"names no Unit of Measure ({no_unit} row 2)" in str(err.value)
    assert {(p.column, p.value) for p in err.value.problems} == {("Unit of Measure", None)}
