"""The UN/ECE Rec 20 code of an invoice line's unit (billing_lib.unit_codes), which the UBL
e-invoice states its quantity in: only a unit that means one Rec 20 unit has one."""

from __future__ import annotations

import pytest

from billing_lib.unit_codes import rec20_code


@pytest.mark.parametrize(
    ("unit", "code"),
    [
        ("Licenses", "C62"),
        ("licence", "C62"),
        ("Seat(s)", "C62"),
        ("each", "C62"),
        ("Hrs", "HUR"),
        ("Hour", "HUR"),
        ("hours", "HUR"),
        ("Day", "DAY"),
        ("month", "MON"),
        ("GB", "E34"),
        ("TB", "E35"),
    ],
)
def test_a_unit_meaning_one_rec20_unit_has_its_code(unit, code):
    assert rec20_code(unit) == code


@pytest.mark.parametrize(
    "unit", [None, "", "GB-Mo", "GB/Month", "Point", "10 Hours", "100 GB", "Requests", "vCPU-Hours"]
)
def test_a_unit_of_no_single_rec20_unit_has_none(unit):
    """A gigabyte-month, a VMware point or a pack of ten hours is not stated as hours or
    gigabytes: its e-invoice line states quantity 1 at its amount (billing_lib.ubl)."""
    assert rec20_code(unit) is None
