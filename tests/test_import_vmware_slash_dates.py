"""VMware's billing API and Hourly Usage Report write ISO dates (2026-10-01 00:00:00); a slash date
is a file saved again by a spreadsheet, in the order of the locale it was saved in (10/1/2026 in
the US, 01/10/2026 in the UK). The order is read from the file's own dates, never guessed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

DATA = Path(__file__).resolve().parent / "data" / "vmware-usage"
HOURLY = DATA / "hourly-usage-report-2026-10.csv"
BILLING_API = DATA / "billing-api-raw-usage-2026-10.csv"
HEADER = "Product,SKU,Usage Hour,License Key,Quantity,Unit of Measurement\n"
KEY = "4J0QH-8A2DL-M8Y9C-0U1K2-3PQ4R"


@pytest.fixture(scope="module")
def prices():
    return load_vendor_prices(DATA)


def _hourly(tmp_path: Path, hours: list[str]) -> Path:
    """An Hourly Usage Report of one key, 64 cores an hour, at the given ``hours`` as written."""
    report = tmp_path / HOURLY.name
    rows = [f"VMware Cloud Foundation,VCF-CLD-FDN-5,{h},{KEY},64,Core\n" for h in hours]
    report.write_text(HEADER + "".join(rows), encoding="utf-8")
    return report


def _hours(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT strftime(ChargePeriodStart, '%Y-%m-%d %H:%M') FROM lines ORDER BY x_SourceRow"
        ).fetchall()
    ]


def test_a_day_first_hourly_report_whose_days_are_all_twelve_or_less_is_refused(prices, tmp_path):
    """Excel in a UK locale saves 2026-10-01 00:00:00 as 01/10/2026 00:00. With no day above 12
    nothing in the file tells 1 October from 10 January: it was read month first, in silence, as
    January's hours (a run with --period refused it by the month; billing import did not)."""
    report = _hourly(tmp_path, ["01/10/2026 00:00", "01/10/2026 01:00", "02/10/2026 00:00"])
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [report], vendor_prices=prices)
    problem = err.value.problems[0]
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(report),
        2,
        "Usage Hour",
        "01/10/2026 00:00",
    )
    assert "day first or month first is not written" in problem.expected
    assert "2026-10-01 read day first, 2026-01-10 month first" in problem.expected
    assert "ISO dates, YYYY-MM-DD" in problem.expected
    assert [p.row for p in err.value.problems] == [2, 3, 4]


def test_a_day_first_hourly_report_is_read_day_first_where_a_day_above_twelve_shows_it(
    prices, tmp_path
):
    """17/10/2026 can only be day first: the file's other dates are read in that order too."""
    report = _hourly(tmp_path, ["01/10/2026 00:00", "02/10/2026 05:00", "17/10/2026 05:00"])
    con = open_store()
    import_reports(con, [report], vendor_prices=prices)
    assert _hours(con) == ["2026-10-01 00:00", "2026-10-02 05:00", "2026-10-17 05:00"]


def test_a_month_first_billing_api_export_is_read_month_first(prices, tmp_path):
    """The US order, shown by 10/17/2026: 10/1/2026 is 1 October."""
    report = tmp_path / BILLING_API.name
    text = BILLING_API.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[1] = lines[1].replace('"2026-10-01 00:00:00"', '"10/1/2026 0:00"')
    lines[2] = lines[2].replace('"2026-10-01 01:00:00"', '"10/17/2026 1:00"')
    report.write_text("".join(lines), encoding="utf-8")
    con = open_store()
    import_reports(con, [report], vendor_prices=prices)
    assert _hours(con)[:2] == ["2026-10-01 00:00", "2026-10-17 01:00"]


def test_a_file_with_dates_in_both_orders_is_refused_naming_a_row_of_each(prices, tmp_path):
    """13/10/2026 is day first and 10/14/2026 month first: two files pasted together."""
    report = _hourly(tmp_path, ["13/10/2026 00:00", "10/14/2026 00:00"])
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [report], vendor_prices=prices)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (2, "Usage Hour", "13/10/2026 00:00"),
        (3, "Usage Hour", "10/14/2026 00:00"),
    ]
    assert "one order" in err.value.problems[0].expected


def test_a_slash_date_that_reads_the_same_in_both_orders_needs_no_day_above_twelve(
    prices, tmp_path
):
    """10/10/2026 is 10 October whichever number is the day."""
    report = _hourly(tmp_path, ["10/10/2026 00:00", "2026-10-11 00:00:00"])
    con = open_store()
    [result] = import_reports(con, [report], vendor_prices=prices)
    assert _hours(con) == ["2026-10-10 00:00", "2026-10-11 00:00"]
    assert result.currencies[0].cost_after == Decimal("1.5104")


def test_a_slash_date_with_both_numbers_above_twelve_is_unreadable_not_an_order(prices, tmp_path):
    """17/13/2026 is no date in either order: refused as unreadable, not as two orders."""
    report = _hourly(tmp_path, ["17/13/2026 00:00", "17/10/2026 01:00"])
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [report], vendor_prices=prices)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (2, "Usage Hour", "17/13/2026 00:00")
    ]
    assert "%d/%m/%Y %H:%M" in err.value.problems[0].expected
