"""A minimum fee whose dates start or end inside the month is named in the rating's warnings:
it applies to a month in force on the month's last day, whole (docs/pricing.md), so one ending
on the 30th was dropped for the month without a word."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from billing_lib.customers import load_customers
from billing_lib.pricing import load_pricing
from billing_lib.rating.checks import minimum_fees_ending_within

REPO = Path(__file__).resolve().parents[1]
LINE = '{id: smb-minimum, kind: minimum_fee, amount: "75.00", currency: EUR,'


def _pricing(tmp_path: Path, dates: str):
    params = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    plans = params / "price_plans.yaml"
    text = plans.read_text(encoding="utf-8")
    assert LINE in text
    plans.write_text(text.replace(LINE, LINE + f" {dates}"), encoding="utf-8")
    return load_pricing(params, load_customers(params))


@pytest.mark.parametrize(
    ("dates", "said"),
    [
        (
            "valid_to: 2026-10-30,",
            "ends on 2026-10-30, within 2026-10; a minimum applies to a month in force on its "
            "last day (2026-10-31), whole, not prorated: not billed for 2026-10",
        ),
        (
            "valid_from: 2026-10-31,",
            "starts on 2026-10-31, within 2026-10; a minimum applies to "
            "a month in force on its last day (2026-10-31), whole, not prorated: billed in full",
        ),
        ("valid_from: 2026-10-10,", "starts on 2026-10-10"),
    ],
)
def test_a_minimum_fee_starting_or_ending_within_the_month_is_named(tmp_path, dates, said):
    pricing = _pricing(tmp_path, dates)
    [warning] = minimum_fees_ending_within(
        pricing, "2026-10", date(2026, 10, 1), date(2026, 10, 31)
    )
    assert "price_plans.yaml, plans[id=smb].rules[id=smb-minimum]: the minimum fee " in warning
    assert said in warning


@pytest.mark.parametrize(
    "dates", ["", "valid_to: 2026-10-31,", "valid_from: 2026-10-01,", "valid_to: 2026-09-30,"]
)
def test_a_minimum_fee_in_force_all_month_or_not_at_all_is_not_named(tmp_path, dates):
    pricing = _pricing(tmp_path, dates)
    assert (
        minimum_fees_ending_within(pricing, "2026-10", date(2026, 10, 1), date(2026, 10, 31)) == []
    )
