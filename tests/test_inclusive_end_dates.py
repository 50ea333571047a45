"""Inclusive date columns (Microsoft's ChargeStartDate..ChargeEndDate, UsageDate, Azure's date and
billing period) are dates: a time printed with them (an end at 11:59:59 PM) is dropped before the
model's end-exclusive day is added, in every format that has such columns."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.importers.spec import spec_named
from billing_lib.importers.values import _unreadable_sql, typed_expr
from billing_lib.store import open_store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "2026-10" / "reports"
AZURE = ROOT / "tests" / "data" / "azure-cost-details"
PERIODS = (
    "SELECT x_SourceRow, ChargePeriodStart, ChargePeriodEnd, BillingPeriodStart, "
    "BillingPeriodEnd, ListCost, PricingQuantity FROM lines ORDER BY x_SourceRow"
)


def _us_time(value: str, time: str) -> str:
    return f"{value} {time}" if value else value


def _iso_time(value: str, time: str) -> str:
    """10/31/2026 or 2026-10-31 -> 2026-10-31T23:59:59 (ISO 8601, which Azure exports may print)."""
    if not value or "/" not in value:
        return f"{value}T{time}" if value else value
    month, day, year = value.split("/")
    return f"{year}-{int(month):02d}-{int(day):02d}T{time}"


def with_times(src: Path, dst: Path, times: dict[str, str], form=_us_time) -> Path:
    """A copy of ``src`` with a time of day added to each column of ``times``."""
    with open(src, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    assert header and all(c in header for c in times)
    for row in rows:
        for column, time in times.items():
            row[column] = form(row[column], time)
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows(rows)
    return dst


def periods(path: Path) -> list[tuple]:
    con = open_store()
    import_reports(con, [path])
    return con.execute(PERIODS).fetchall()


@pytest.mark.parametrize(
    ("source", "times", "form"),
    [
        (
            SAMPLE / "ms-invoice-reconciliation-G052026103.csv",
            {"ChargeStartDate": "12:00:00 AM", "ChargeEndDate": "11:59:59 PM"},
            _us_time,
        ),
        (
            SAMPLE / "ms-daily-rated-usage-G052026103.csv",
            {
                "ChargeStartDate": "12:00:00 AM",
                "ChargeEndDate": "11:59:59 PM",
                "UsageDate": "13:30:00",
            },
            _us_time,
        ),
        (
            AZURE / "mpa-actual-cost-2026-10.csv",
            {
                "billingPeriodStartDate": "00:00:00",
                "billingPeriodEndDate": "23:59:59",
                "date": "12:00:00",
            },
            _iso_time,
        ),
        (
            AZURE / "mca-actual-cost-2026-10.csv",
            {
                "billingPeriodStartDate": "00:00:00",
                "billingPeriodEndDate": "23:59:59",
                "date": "12:00:00",
            },
            _iso_time,
        ),
    ],
    ids=["ms_invoice_reconciliation", "ms_daily_rated_usage", "azure_partner", "azure"],
)
def test_a_time_on_an_inclusive_date_is_dropped(tmp_path, source, times, form):
    plain = periods(source)
    timed = periods(with_times(source, tmp_path / source.name, times, form))
    assert timed == plain
    # every period starts and ends on a midnight
    assert {t.time().isoformat() for row in timed for t in row[1:5] if t is not None} == {
        "00:00:00"
    }


def test_binary_timestamps_of_inclusive_dates_keep_their_day(tmp_path):
    """A Parquet export stores the dates as TIMESTAMP values (here with times): the same days as
    the CSV's, and the binary values are not checked value by value (a TIMESTAMP always types)."""
    source = AZURE / "mpa-actual-cost-2026-10.csv"
    parquet = tmp_path / "mpa-actual-cost-2026-10.parquet"
    duckdb.sql(
        f"""COPY (SELECT * REPLACE (
                    strptime(date, '%m/%d/%Y') + INTERVAL 13 HOUR AS date,
                    strptime(billingPeriodStartDate, '%m/%d/%Y') AS billingPeriodStartDate,
                    strptime(billingPeriodEndDate, '%m/%d/%Y') + INTERVAL 86399 SECOND
                      AS billingPeriodEndDate)
                  FROM read_csv('{source}', all_varchar = true))
            TO '{parquet}' (FORMAT parquet)"""
    )
    # rows numbered from 1 in a Parquet file, from 2 (after the header) in a CSV
    assert [r[1:] for r in periods(parquet)] == [r[1:] for r in periods(source)]
    spec = spec_named("azure_cost_export_partner")
    typed = typed_expr("date", "date", True, {"date": "TIMESTAMP"}, spec)
    assert _unreadable_sql("date", typed, "TIMESTAMP", "date") == "false"


@pytest.mark.parametrize(
    ("source", "times"),
    [
        (
            SAMPLE / "ms-invoice-reconciliation-G052026103.csv",
            {"ChargeStartDate": "00:00:00+13:00", "ChargeEndDate": "23:59:59-05:00"},
        ),
        (
            SAMPLE / "ms-daily-rated-usage-G052026103.csv",
            {"UsageDate": "00:00:00+13:00", "ChargeEndDate": "23:00:00-0500"},
        ),
    ],
    ids=["ms_invoice_reconciliation", "ms_daily_rated_usage"],
)
def test_an_offset_on_an_inclusive_date_keeps_the_day_written(tmp_path, source, times):
    """A date written with a time and a UTC offset (a tool in UTC+13 printing 1 January as
    2027-01-01T00:00:00+13:00) is the day written: converted to UTC it was the day before (and
    an end at 23:59:59-05:00 the day after), moving licences and usage of a month's 1st into the
    month before and lengthening charge periods by a day."""
    plain = periods(source)
    assert periods(with_times(source, tmp_path / source.name, times, _iso_time)) == plain


def _daily_ending(dst: Path, end: str) -> Path:
    """The sample month's daily rated usage file with every ChargeEndDate ``end``."""
    with open(SAMPLE / "ms-daily-rated-usage-G052026103.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header or [], lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({**r, "ChargeEndDate": end} for r in rows)
    return dst


def test_a_daily_file_s_billing_period_ending_on_the_next_month_s_first_is_its_month(tmp_path):
    """Microsoft Learn, "daily-rated usage reconciliation files", ChargeEndDate: "Billing end
    date. It could be the end of the month or the first of the following month. The charges,
    however, are based on the Usage Date, not this date." October's file printing 11/1/2026 was
    read as billed up to 2 November: its billing period met November, so the file given again
    in November's reports folder was read as November's report and its EUR 900.52 of October
    usage billed a second time. A period from the first of a month to the first of the next is
    that month, as the same file ending 10/31/2026 says."""
    first = _daily_ending(tmp_path / "ms-daily-rated-usage-first.csv", "11/1/2026")
    last = _daily_ending(tmp_path / "ms-daily-rated-usage-last.csv", "10/31/2026")
    assert periods(first) == periods(last)
    assert {str(r[4]) for r in periods(first)} == {"2026-11-01 00:00:00"}
    for path in (first, last):
        with pytest.raises(InputError, match="no line is charged in the run's period 2026-11"):
            import_reports(open_store(), [path], period="2026-11")
        import_reports(open_store(), [path], period="2026-10")
