"""Two months in one file: a download of several months, or next month's rows pasted under this
month's in a spreadsheet. In a run, the lines of the vendor's bill of another month (their
billing period and their charge both outside the run's month) are refused naming their rows;
they were billed in the run's month beside its own whenever they carried no more than half of the
report's charges (two equal months: exactly half)."""

from __future__ import annotations

import calendar
import csv
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests.notebook_project import REPO

VMWARE = REPO / "samples/2026-10/reports/vmware-usage-meter-customer-monthly-usage-2026-10.csv"
MPA = REPO / "tests/data/azure-cost-details/mpa-actual-cost-2026-10.csv"
MPA_DATES = (
    "billingPeriodStartDate",
    "billingPeriodEndDate",
    "servicePeriodStartDate",
    "servicePeriodEndDate",
    "date",
)


def _next_month(value: str) -> str:
    """``2026-10`` or ``10/31/2026`` a month later (the last day of a month the next's last)."""
    if "/" not in value:
        year, month = (int(v) for v in value.split("-"))
        return f"{year + month // 12}-{month % 12 + 1:02d}"
    month, day, year = (int(v) for v in value.split("/"))
    last = day == calendar.monthrange(year, month)[1]
    month, year = (1, year + 1) if month == 12 else (month + 1, year)
    days = calendar.monthrange(year, month)[1]
    return f"{month:02d}/{days if last else min(day, days):02d}/{year}"


def _with_next_month(src: Path, dst: Path, columns: tuple[str, ...], rows: int | None = None):
    """``src`` with its rows (the first ``rows``) repeated below them a month later."""
    with open(src, encoding="utf-8-sig", newline="") as fh:
        header, *body = list(csv.reader(fh))
    later = []
    for row in body[:rows]:
        moved = list(row)
        for column in columns:
            moved[header.index(column)] = _next_month(row[header.index(column)])
        later.append(moved)
    with open(dst, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body, *later])
    return dst, len(body), len(later)


@pytest.mark.parametrize(
    "source, columns, column",
    [(VMWARE, ("Month",), "Month"), (MPA, MPA_DATES, "billingPeriodStartDate")],
    ids=["usage-meter", "azure-partner-export"],
)
@pytest.mark.parametrize("rows", [None, 2], ids=["two-whole-months", "a-few-rows"])
def test_the_lines_of_another_months_bill_in_the_file_are_refused_naming_their_rows(
    tmp_path, source, columns, column, rows
):
    path, first, added = _with_next_month(source, tmp_path / source.name, columns, rows)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path], period="2026-10")
    assert str(err.value).startswith(f"{path} (")
    assert "billing period 2026-11" in str(err.value)
    assert [(p.row, column in (p.column or "")) for p in err.value.problems] == [
        (first + 2 + i, True) for i in range(added)
    ]
    assert err.value.problems[0].value.startswith("2026-11-01")
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    # without a run's period (billing import) both months are read, each line its own month
    assert import_reports(open_store(), [path])[0].rows == first + added


def test_a_line_charged_before_the_month_on_the_month_s_bill_is_still_read(tmp_path):
    """A late credit or usage of September that the vendor bills in October (its billing period
    October's) is October's, as before."""
    with open(MPA, encoding="utf-8-sig", newline="") as fh:
        header, *body = list(csv.reader(fh))
    for column in ("servicePeriodStartDate", "servicePeriodEndDate", "date"):
        body[0][header.index(column)] = "09/30/2026"
    path = tmp_path / MPA.name
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body])
    assert import_reports(open_store(), [path], period="2026-10")[0].rows == len(body)


RECON = REPO / "samples/2026-10/reports/ms-invoice-reconciliation-G052026103.csv"


def _next_month_us(value: str) -> str:
    """``10/12/2026`` a month later (a month's last day the next's last)."""
    return _next_month(value).lstrip("0").replace("/0", "/")


def test_next_months_invoice_pasted_under_this_months_in_one_file_is_refused(tmp_path):
    """Partner Center's invoice file of November pasted under October's: it names no billing
    period, and the two invoices' charges outside October were half of the file's, not more, so
    November's licences were billed in October. Each invoice of the file is judged on its own:
    November's, its one late change of 28 October aside, is refused naming its rows."""
    with open(RECON, encoding="utf-8-sig", newline="") as fh:
        header, *body = list(csv.reader(fh))
    november = []
    for i, row in enumerate(body):
        moved = list(row)
        moved[header.index("InvoiceNumber")] = "G052026999"
        for column in ("ChargeStartDate", "ChargeEndDate", "OrderDate"):
            if i == 1 and column == "ChargeEndDate":
                continue  # the late change is charged to its cycle's end, 11 November
            value = row[header.index(column)]
            moved[header.index(column)] = "10/28/2026" if i == 1 else _next_month_us(value)
        november.append(moved)
    path = tmp_path / RECON.name
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body, *november])
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path], period="2026-10")
    assert str(err.value).startswith(f"{path} (Microsoft Partner Center"), str(err.value)
    assert "invoice G052026999" in str(err.value)
    late = len(body) + 3  # row 2 of November's rows: its late change of October is October's
    assert [p.row for p in err.value.problems] == [
        r for r in range(len(body) + 2, 2 * len(body) + 2) if r != late
    ]
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    # October's invoice alone is read, as before
    assert import_reports(open_store(), [RECON], period="2026-10")[0].rows == len(body)
