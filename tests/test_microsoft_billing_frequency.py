"""A new-commerce licence's BillingFrequency is the cycle a change within it is prorated by:
Monthly, Annual, Triennial. OneTime is a purchase billed once, whole (perpetual software, a
reservation or software subscription paid up front): nothing to prorate, and so is a reservation
whose BillingFrequency is empty (Microsoft: an RI bought with one-time billing shows it empty).
Any other value (a frequency the workbench does not know, an empty one on a licence) leaves the
cycle unknown: the file is refused naming row and column, not billed at an unprorated price."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests.test_microsoft_credit_signs import HEADER, reconciliation_row

D = Decimal
COLUMNS = [*HEADER, "TermAndBillingCycle", "MeterDescription", "ReservationOrderId"]
#: 2 licences added on 20 Oct to a cycle ending 11 Nov: 23 days
ADDED = {
    "ChargeType": "addQuantity",
    "UnitPrice": "240.00",
    "Quantity": "2",
    "BillableQuantity": "2",
    "EffectiveUnitPrice": "15.12",
    "Subtotal": "30.24",
    "ChargeStartDate": "10/20/2026",
    "ChargeEndDate": "11/11/2026",
}


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, COLUMNS, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    return path


def _lines(path: Path) -> list[tuple]:
    con = open_store()
    import_reports(con, [path])
    return con.execute(
        "SELECT ChargeFrequency, ListCost FROM lines ORDER BY x_SourceRow"
    ).fetchall()


@pytest.mark.parametrize(
    "frequency, term",
    [
        ("Quarterly", "1 Year - Quarterly Billing"),
        ("", "1 Year - Annual Billing"),
        ("None", "1 Month - Monthly Billing"),
        ("Biennial", ""),
    ],
)
def test_a_licence_with_a_frequency_not_understood_is_refused(tmp_path, frequency, term):
    rows = [
        reconciliation_row(1, **ADDED, BillingFrequency="Annual"),
        reconciliation_row(2, **ADDED, BillingFrequency=frequency, TermAndBillingCycle=term),
    ]
    path = _write(tmp_path / "recon.csv", rows)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == (str(path), 3, "BillingFrequency")
    assert problem.value == (frequency or None)
    for understood in ("Monthly", "Annual", "Triennial", "OneTime"):
        assert understood in problem.expected
    if term:
        assert term in problem.expected  # what the row says of its term and billing, to check


def test_one_time_purchases_are_billed_whole(tmp_path):
    """A one-time purchase (any spelling) and a reservation bought with one-time billing (its
    BillingFrequency empty): One-Time, the list price not prorated by the days charged."""
    one_time = {**ADDED, "ChargeType": "new", "ChargeEndDate": "10/19/2027"}
    rows = [
        reconciliation_row(1, **one_time, BillingFrequency="OneTime"),
        reconciliation_row(2, **one_time, BillingFrequency="One Time"),
        reconciliation_row(3, **one_time, BillingFrequency="one-time"),
        reconciliation_row(
            4,
            **one_time,
            BillingFrequency="",
            ReservationOrderId="e21a6344e398ffc1c4d7",
            MeterDescription="Reserved VM Instance, Standard_D2s_v5, EU West, 1 Year",
        ),
        reconciliation_row(5, **ADDED, BillingFrequency="Annual"),
    ]
    lines = _lines(_write(tmp_path / "recon.csv", rows))
    assert lines[:4] == [("One-Time", D("480.00"))] * 4
    # an annual cycle's change is prorated: 23 of the 365 days from 12 Nov 2025
    assert lines[4] == ("Recurring", D("240.00") * 2 * D("0.063013698630"))


def test_metered_usage_needs_no_frequency(tmp_path):
    rows = [
        reconciliation_row(
            1,
            ChargeType="new",
            UnitPrice="0.192",
            Quantity="24",
            BillableQuantity="24",
            EffectiveUnitPrice="0.192",
            Subtotal="4.60",
            ChargeStartDate="10/1/2026",
            ChargeEndDate="10/1/2026",
            BillingFrequency="",
            MeterDescription="Virtual Machines - D2s v5",
        )
    ]
    assert _lines(_write(tmp_path / "recon.csv", rows)) == [("Usage-Based", D("4.608"))]


def test_a_licence_charged_for_longer_than_its_billing_cycle_is_refused(tmp_path):
    """Row 3: 2 licences of 432.00 a year charged 5 Oct 2026 - 4 Oct 2027 (864.00) with
    BillingFrequency Monthly: its list cost was prorated as 365 days of a 30-day cycle, 10,511.99
    for Microsoft's 864.00, and a 3 % uplift billed 10,827.36. Microsoft charges one cycle per
    line at most; a cycle beginning late in a month (31 Jan - 28 Feb, monthly) is a few days
    longer than the month that ends it and is read (row 2)."""
    year = {
        "ChargeType": "new",
        "UnitPrice": "432.00",
        "Quantity": "2",
        "BillableQuantity": "2",
        "EffectiveUnitPrice": "432",
        "Subtotal": "864.00",
        "ChargeStartDate": "10/5/2026",
        "ChargeEndDate": "10/4/2027",
        "BillingFrequency": "Monthly",
        "TermAndBillingCycle": "1 Year - Annual Billing",
    }
    month_end = {
        **ADDED,
        "ChargeType": "cycleCharge",
        "EffectiveUnitPrice": "240",
        "Subtotal": "480.00",
        "ChargeStartDate": "1/31/2027",
        "ChargeEndDate": "2/28/2027",
    }
    path = _write(
        tmp_path / "r.csv", [reconciliation_row(1, **month_end), reconciliation_row(2, **year)]
    )
    with pytest.raises(InputError) as err:
        _lines(path)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (3, "ChargeStartDate", "2026-10-05")
    ]
    message = str(err.value)
    assert "one Monthly billing cycle" in message and "1 Year - Annual Billing" in message
    assert len(_lines(_write(tmp_path / "m.csv", [reconciliation_row(1, **month_end)]))) == 1


def test_a_whole_cycle_begun_late_in_a_month_is_one_cycle_s_list_price(tmp_path):
    """2 licences of 240.00 a month charged 31 Jan - 28 Feb 2027 (480.00): the month that ends on
    28 Feb begins on 1 Feb, and the 29 days were prorated as 29/28 of it, 497.14 for
    Microsoft's 480.00. A line charges one cycle at most: its list cost is never more."""
    month_end = {
        **ADDED,
        "ChargeType": "cycleCharge",
        "EffectiveUnitPrice": "240",
        "Subtotal": "480.00",
        "ChargeStartDate": "1/31/2027",
        "ChargeEndDate": "2/28/2027",
    }
    [(frequency, list_cost)] = _lines(
        _write(tmp_path / "r.csv", [reconciliation_row(1, **month_end)])
    )
    assert (frequency, list_cost) == ("Recurring", D("480.00"))
