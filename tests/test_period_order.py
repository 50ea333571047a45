"""A line whose period ends before it starts is refused naming row and column: the mark of a
day-first file read month first (a Partner Center file in a European locale), where a seat's
list price, prorated by a negative number of days, came out as a credit of the charge."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "2026-10" / "reports"
RECON = SAMPLE / "ms-invoice-reconciliation-G052026103.csv"
DATES = ("OrderDate", "ChargeStartDate", "ChargeEndDate", "SubscriptionStartDate")


def _day_first(value: str) -> str:
    month, day, year = value.split("/")
    return f"{day}/{month}/{year}"


def test_a_day_first_partner_center_file_is_refused_not_billed_with_a_negative_period(tmp_path):
    """The sample's first row (cycleCharge 12 Oct-11 Nov 2026, 247.20) as a Dutch partner's
    download prints it: 12/10/2026-11/11/2026, read month first as 10 Dec-11 Nov. Imported, its
    ListCost was -223.28 for a charge of +247.20: a list_price rule credited the customer."""
    with RECON.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        row = next(reader)
        header = reader.fieldnames
    assert (row["ChargeStartDate"], row["ChargeEndDate"]) == ("10/12/2026", "11/11/2026")
    row |= {c: _day_first(row[c]) for c in DATES}
    path = tmp_path / "ms-invoice-reconciliation-G052026103.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerow(row)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (2, "ChargePeriodEnd (from 'ChargeEndDate')")
    assert problem.value == "2026-11-12 00:00:00, before ChargePeriodStart 2026-12-10 00:00:00"
    assert "never guessed" in problem.expected
    assert con.execute("SELECT count(*) FROM lines").fetchone()[0] == 0


def test_a_billing_period_ending_before_it_starts_is_refused_and_an_equal_one_read(tmp_path):
    path = tmp_path / "focus-2026-10.csv"
    path.write_text(
        "SubAccountId,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,BillingPeriodStart,"
        "BillingPeriodEnd,BilledCost,BillingCurrency\n"
        "s1,Usage,2026-10-01,2026-10-01,2026-10-01,2026-11-01,1,EUR\n"
        "s1,Usage,2026-10-01,2026-10-02,2026-11-01,2026-10-01,2,EUR\n"
    )
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert [(p.row, p.column) for p in err.value.problems] == [
        (3, "BillingPeriodEnd (from 'BillingPeriodEnd')")
    ]
