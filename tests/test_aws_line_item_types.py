"""AWS line item types beyond the common ones, in CUR 2.0 and the legacy CUR: the Solution
Provider Program's and the RI volume discount (money back on a positive usage amount, as an EDP
discount), a flat-rate subscription (a charge), and a type the import does not know, which is
refused rather than filed under ChargeCategory Adjustment, where a rule's ``credits: keep`` left
a charge uninvoiced."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.pricing import CREDIT_CATEGORIES
from billing_lib.store import open_store
from tests import cur2_sample as cur2

LEGACY_HEADER = (
    "identity/LineItemId,identity/TimeInterval,lineItem/UsageAccountId,lineItem/LineItemType,"
    "lineItem/UsageStartDate,lineItem/ProductCode,lineItem/UsageAmount,lineItem/UnblendedCost,"
    "lineItem/CurrencyCode\n"
)


def _cur2(tmp_path, kinds: list[tuple[str, str, str]]):
    """A CUR 2.0 CSV of the sample's first row once per (type, usage amount, cost)."""
    base = cur2.records()[0]
    rows = [
        base
        | {
            "identity_line_item_id": f"li-{i}",
            "line_item_line_item_type": kind,
            "line_item_usage_amount": amount,
            "line_item_unblended_cost": cost,
        }
        for i, (kind, amount, cost) in enumerate(kinds)
    ]
    return cur2.write_csv(tmp_path / "cur2-2024-05.csv", rows)


def _legacy(tmp_path, kinds: list[tuple[str, str, str]]):
    path = tmp_path / "cur-2024-05-1.csv"
    path.write_text(
        LEGACY_HEADER
        + "".join(
            f"li-{i},2024-05-02T00:00:00Z/2024-05-03T00:00:00Z,444455556666,{kind},"
            f"2024-05-02T00:00:00Z,AmazonEC2,{amount},{cost},USD\n"
            for i, (kind, amount, cost) in enumerate(kinds)
        )
    )
    return path


WRITERS = {"cur2": _cur2, "legacy": _legacy}


@pytest.mark.parametrize("layout", WRITERS)
def test_partner_and_volume_discounts_and_a_flat_rate_subscription_are_billed_by_their_kind(
    layout, tmp_path
):
    path = WRITERS[layout](
        tmp_path,
        [
            ("Usage", "24", "10.00"),
            ("SppDiscount", "24", "-0.50"),
            ("RiVolumeDiscount", "24", "-0.25"),
            ("FlatRateSubscription", "1", "20.00"),
        ],
    )
    con = open_store()
    [report] = import_reports(con, [path])
    got = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT x_VendorChargeType, ChargeCategory, ChargeFrequency, PricingQuantity, "
            "BilledCost FROM lines"
        ).fetchall()
    }
    # discounts give money back on the usage they concern: Usage, no quantity of their own
    assert got["SppDiscount"] == ("Usage", "Usage-Based", None, Decimal("-0.5"))
    assert got["RiVolumeDiscount"] == ("Usage", "Usage-Based", None, Decimal("-0.25"))
    # a subscription is a charge: not under a rule's credits policy (credits: keep dropped it)
    assert got["FlatRateSubscription"] == ("Purchase", "Recurring", Decimal(1), Decimal(20))
    assert all(category not in CREDIT_CATEGORIES for category, *_ in got.values())
    assert report.currencies[0].cost_after == Decimal("29.25")


@pytest.mark.parametrize("layout", WRITERS)
def test_a_line_item_type_the_import_does_not_know_is_refused_naming_row_and_value(
    layout, tmp_path
):
    path = WRITERS[layout](
        tmp_path, [("Usage", "24", "10.00"), ("CapacityBlockCharge", "1", "35.00")]
    )
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    [problem] = err.value.problems
    column = "line_item_line_item_type" if layout == "cur2" else "lineItem/LineItemType"
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(path),
        3,
        column,
        "CapacityBlockCharge",
    )
    assert "FlatRateSubscription" in problem.expected and "not billed at a guess" in (
        problem.expected
    )
    assert con.execute("SELECT count(*) FROM lines").fetchone()[0] == 0
