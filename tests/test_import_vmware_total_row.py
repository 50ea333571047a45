"""A VMware usage report that ends with its "Total" row, as Usage Meter and the Cloud Partner
Navigator portal export it: a label in the first column, the sums in the numeric columns. The row
is no line: it is set aside and checked as the report's control total. A row that looks like a
total but is none is refused naming it. Each report is built here from the sample month's
(samples/2026-10) or tests/data/vmware-usage's."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "vmware-usage"
SAMPLE = (
    ROOT
    / "samples"
    / "2026-10"
    / "reports"
    / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
)
CUSTOMER_MONTHLY = DATA / "customer-monthly-usage-2026-10.tsv"
MONTHLY = DATA / "monthly-usage-2026-11.csv"
D = Decimal


@pytest.fixture(scope="module")
def prices():
    return load_vendor_prices(DATA)


def _with_rows(source: Path, target: Path, *rows: str) -> Path:
    """``source`` with ``rows`` (text, each a whole line) added at its end, in its line ends."""
    text = source.read_bytes().decode("utf-8")
    end = "\r\n" if "\r\n" in text else "\n"
    text = text if text.endswith(end) else text + end
    target.write_bytes((text + "".join(r + end for r in rows)).encode("utf-8"))
    return target


def _lines(con) -> list[tuple]:
    return con.execute(
        "SELECT x_SourceRow, SubAccountId, SkuId, PricingQuantity, BilledCost, BillingCurrency "
        "FROM lines ORDER BY x_SourceRow"
    ).fetchall()


def _imported(path: Path, **kwargs) -> tuple[list, list[tuple]]:
    con = open_store()
    reports = import_reports(con, [path], **kwargs)
    return reports, _lines(con)


# The sample month's sums: 904.5 units (of every unit), 6451.5 billable points
SAMPLE_TOTAL = "Total,,,,,,904.5,,6451.5,,"


@pytest.mark.parametrize(
    ("source", "row", "kwargs"),
    [
        (SAMPLE, SAMPLE_TOTAL, {}),
        (SAMPLE, "TOTAL:,,,,,,904.50,,6451.50,,EUR", {}),
        (CUSTOMER_MONTHLY, "Total\t\t\t\t904.5", {"period": "2026-10"}),
        (MONTHLY, "Total,,904.5", {"period": "2026-11"}),
        (MONTHLY, "Grand Total,,", {"period": "2026-11"}),
        (DATA / "msp-usage-report-2026-10.csv", "Total,,,,,,,,42966,42966", {"period": "2026-10"}),
        (DATA / "hourly-usage-report-2026-10.csv", "Total,,,,392,", {}),
        (DATA / "billing-api-raw-usage-2026-10.csv", "Total" + "," * 12 + "338.5,128,338.5,,,", {}),
    ],
    ids=[
        "priced",
        "priced-upper-case",
        "customer-monthly",
        "monthly",
        "no-sums",
        "msp-usage",
        "hourly-usage",
        "billing-api",
    ],
)
def test_a_usage_meter_report_ending_with_its_total_row_imports_its_lines_only(
    tmp_path, prices, source, row, kwargs
):
    """The total row was refused: as a Month that is no date ('Total'), as a product without a
    contract price ('Total in 2026-11'), or as a row that is no line. Its lines import as the
    report without it does, and the row is no line of it."""
    expected_reports, expected = _imported(source, vendor_prices=prices, **kwargs)
    with_total = _with_rows(source, tmp_path / source.name, row)
    reports, got = _imported(with_total, vendor_prices=prices, **kwargs)
    assert got == expected
    assert reports[0].rows == expected_reports[0].rows == len(expected)
    assert reports[0].currencies == expected_reports[0].currencies


def test_a_total_row_that_is_not_the_lines_sum_is_refused_with_both_figures(tmp_path):
    """A line deleted in a spreadsheet (or a figure edited) after the report was exported: the
    total row no longer adds up. Refused naming the file, the row and each column that differs,
    with the total printed and the lines' sum."""
    bad = _with_rows(SAMPLE, tmp_path / SAMPLE.name, "Total,,,,,,904.5,,6452.5,,")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [bad])
    message = str(err.value)
    assert message.startswith(f"{bad} (")
    assert "total row" in message
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(bad),
        16,
        "Billable Points",
        "6452.5",
    )
    assert "6451.5" in problem.expected  # the lines' sum
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_a_total_row_with_a_figure_that_is_no_number_is_refused_naming_it(tmp_path):
    bad = _with_rows(SAMPLE, tmp_path / SAMPLE.name, "Total,,,,,,n/a,,6451.5,,")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [bad])
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.value) == (16, "Units to be Reported", "n/a")
    assert "decimal number" in problem.expected


@pytest.mark.parametrize(
    ("rows", "row", "found", "expected"),
    [
        (
            # a total row moved up (or a report pasted under another): lines follow it
            [SAMPLE_TOTAL, "2026-10,um,late-label,NL,NSX Advanced,Powered-on VM,1,3,3,0.8640,EUR"],
            16,
            "Total",
            "the report's last row",
        ),
        (
            # a spreadsheet user's subtotal of one customer
            ["Subtotal northwind-mgmt,,,,,,46,,216,,"],
            16,
            "Subtotal northwind-mgmt",
            "no subtotal",
        ),
        (
            # two total rows: only the last can be the report's
            [SAMPLE_TOTAL, SAMPLE_TOTAL],
            16,
            "Total",
            "the report's last row",
        ),
    ],
    ids=["lines-after-it", "subtotal", "two-totals"],
)
def test_a_row_that_looks_like_a_total_but_is_not_the_report_s_is_refused(
    tmp_path, rows, row, found, expected
):
    """Such a row was refused as a Month that is no date; or, were it taken for the total, lines
    after it would be read beside a total that does not cover them."""
    bad = _with_rows(SAMPLE, tmp_path / SAMPLE.name, *rows)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [bad])
    assert str(err.value).startswith(f"{bad} (")
    problem = err.value.problems[0]
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(bad),
        row,
        "Month",
        found,
    )
    assert expected in problem.expected


def test_a_customer_label_beginning_with_total_is_a_customer(tmp_path, prices):
    """A customer labelled 'Total Logistics' whose rows name a product is a line like any."""
    report = _with_rows(
        CUSTOMER_MONTHLY,
        tmp_path / CUSTOMER_MONTHLY.name,
        "Total Logistics\tCustomer-0001\tNSX Advanced\tPowered-on VM\t10",
    )
    _, got = _imported(report, vendor_prices=prices, period="2026-10")
    assert got[-1][:4] == (16, "Total Logistics", "NSX Advanced", D(30))
