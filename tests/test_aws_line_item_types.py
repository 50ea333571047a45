"""AWS line item types beyond the common ones, in CUR 2.0 and the legacy CUR: the Solution
Provider Program's and the RI volume discount (money back on a positive usage amount, as an EDP
discount), a flat-rate subscription (a charge), and a type the import does not know, which is
refused rather than filed under ChargeCategory Adjustment, where a rule's ``credits: keep`` left
a charge uninvoiced."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.errors import InputError, ParameterError
from billing_lib.importers import import_reports
from billing_lib.pricing import CREDIT_CATEGORIES, load_pricing
from billing_lib.rating import rate_lines
from billing_lib.store import open_store
from tests import cur2_sample as cur2
from tests.rating_helpers import write_parameters

LEGACY_HEADER = (
    "identity/LineItemId,identity/TimeInterval,lineItem/UsageAccountId,lineItem/LineItemType,"
    "lineItem/UsageStartDate,lineItem/ProductCode,lineItem/UsageAmount,lineItem/UnblendedCost,"
    "lineItem/CurrencyCode\n"
)


def _cur2(tmp_path, kinds: list[tuple[str, str, str]] | list[tuple[str, str, str, dict]]):
    """A CUR 2.0 CSV of the sample's first row once per (type, usage amount, cost[, more
    columns])."""
    base = cur2.records()[0]
    rows = [
        base
        | {
            "identity_line_item_id": f"li-{i}",
            "line_item_line_item_type": kind,
            "line_item_usage_amount": amount,
            "line_item_unblended_cost": cost,
        }
        | (more[0] if more else {})
        for i, (kind, amount, cost, *more) in enumerate(kinds)
    ]
    return cur2.write_csv(tmp_path / "cur2-2024-05.csv", rows)


def _mapped_store(tmp_path, plans: str, path):
    """A store with ``path`` imported and its account (444455556666) mapped to C3 under
    ``plans``: the store, the pricing and the customers, for ``rate_lines``."""
    params = write_parameters(
        tmp_path / "parameters",
        plans,
        accounts="vendor,account_id,customer_id,valid_from,valid_to,note\naws,444455556666,C3,,,\n",
    )
    con = open_store()
    import_reports(con, [path])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    return con, load_pricing(params, customers), customers


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


LIST_PRICE_PLANS = """
plans:
  - id: list
    name: AWS at its public on-demand price less 5 %, refunds and credits at that price
    rules:
      - {id: aws-list, kind: list_price, discount_percent: 5, credits: price, match: {vendor: aws}}
assignments:
  - {plan: list, group: enterprise}
"""


def test_a_refund_priced_by_its_list_price_gives_money_back(tmp_path):
    """AWS prints a refund (and a credit) with a positive usage amount and the public on-demand
    rate of the usage it gives back, and a negative cost. Under a list price with ``credits:
    price`` the refund is the list price of that usage, negative: it was the list price itself,
    so a refund of USD 5.00 was billed as a charge of USD 4.75 (the usage and its refund billed
    9.50 instead of 0)."""
    on_demand = {"pricing_public_on_demand_rate": "0.5"}
    rows = [
        ("Usage", "10", "5.00", on_demand | {"pricing_public_on_demand_cost": "5.00"}),
        ("Refund", "10", "-5.00", on_demand),  # no public on-demand cost: rate x amount
        ("Refund", "10", "-5.00", on_demand | {"pricing_public_on_demand_cost": "5.00"}),
        ("Credit", "4", "-2.00", on_demand),
    ]
    con, pricing, customers = _mapped_store(tmp_path, LIST_PRICE_PLANS, _cur2(tmp_path, rows))
    rate_lines(con, pricing, customers, "2024-05")
    got = con.execute(
        "SELECT source_row, billed_cost, amount FROM rated_lines WHERE line_kind = 'vendor' "
        "ORDER BY source_row"
    ).fetchall()
    assert got == [
        (2, Decimal("5.00"), Decimal("4.75")),
        (3, Decimal("-5.00"), Decimal("-4.75")),
        (4, Decimal("-5.00"), Decimal("-4.75")),
        (5, Decimal("-2.00"), Decimal("-1.90")),
    ]


UNIT_PRICE_PLANS = """
plans:
  - id: units
    name: AWS per unit
    rules:
      - {id: aws-units, kind: fixed_price, unit_price: "0.03", currency: USD, match: {vendor: aws}}
assignments:
  - {plan: units, group: enterprise}
"""


def test_a_commitment_s_upfront_fee_has_no_quantity_a_unit_price_could_bill(tmp_path):
    """A Savings Plan's upfront fee and a reserved instance's (a Fee with the reservation's ARN)
    carry a usage amount of 1: priced per unit, USD 1000.00 was billed 0.03, the fee's cost lost
    without a word, where the recurring fees (no quantity) are refused. They have no quantity,
    as the other commitment fees, and a unit price refuses them; a fee that is no commitment
    (support) keeps its quantity."""
    rows = [
        ("SavingsPlanUpfrontFee", "1", "1000.00", {"savings_plan_savings_plan_a_r_n": cur2.SP_ARN}),
        ("Fee", "1", "500.00", {"reservation_reservation_a_r_n": cur2.RI_ARN}),
        ("Fee", "1", "100.00", {}),
    ]
    con, pricing, customers = _mapped_store(tmp_path, UNIT_PRICE_PLANS, _cur2(tmp_path, rows))
    assert con.execute("SELECT x_SourceRow, PricingQuantity FROM lines ORDER BY 1").fetchall() == [
        (2, None),
        (3, None),
        (4, Decimal(1)),
    ]
    with pytest.raises(ParameterError) as caught:
        rate_lines(con, pricing, customers, "2024-05")
    assert "cur2-2024-05.csv row 2 has none and costs 1000 USD: it would be billed 0.00" in str(
        caught.value
    )


def test_a_container_s_split_cost_allocation_record_has_no_quantity_a_unit_price_could_bill(
    tmp_path,
):
    """With split cost allocation data, AWS adds two usage records per ECS task or EKS pod and
    hour (vCPU-hours and GB-hours) of the EC2 instance it ran on
    (``split_line_item_parent_resource_id``): the instance's line bills the cost, the records
    cost 0 and repeat its capacity. Their usage amount was the line's quantity: priced per unit,
    2 vCPU-hours and 8 GB-hours of a pod were billed beside the instance's 1 hour (11 x 0.03),
    and under a markup they made the invoice line's hours 11. They have no quantity; a Fargate
    task's record (no parent instance) bills its own vCPU and keeps it."""
    rows = [
        base_row | {"identity_line_item_id": f"li-{i}", **values}
        for base_row in [cur2.records()[0]]
        for i, values in enumerate(
            [
                {"line_item_usage_amount": "1", "line_item_unblended_cost": "0.0416"},
                {
                    "line_item_usage_amount": "2",
                    "line_item_unblended_cost": "0",
                    "split_line_item_parent_resource_id": "i-0abc123def4567890",
                },
                {
                    "line_item_usage_amount": "8",
                    "line_item_unblended_cost": "0",
                    "split_line_item_parent_resource_id": "i-0abc123def4567890",
                },
                {"line_item_usage_amount": "0.5", "line_item_unblended_cost": "0.0202"},
            ]
        )
    ]
    path = tmp_path / "cur2-2024-05.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, [*cur2.COLUMNS, "split_line_item_parent_resource_id"])
        writer.writeheader()
        writer.writerows(rows)
    con, pricing, customers = _mapped_store(tmp_path, UNIT_PRICE_PLANS, path)
    assert con.execute(
        "SELECT x_SourceRow, PricingQuantity, BilledCost FROM lines ORDER BY 1"
    ).fetchall() == [
        (2, Decimal(1), Decimal("0.0416")),
        (3, None, Decimal(0)),
        (4, None, Decimal(0)),
        (5, Decimal("0.5"), Decimal("0.0202")),
    ]
    rate_lines(con, pricing, customers, "2024-05")
    rated = con.execute(
        "SELECT source_row, quantity, amount = 0 FROM rated_lines ORDER BY 1"
    ).fetchall()
    assert [(row, quantity, free) for row, quantity, free in rated if row in (3, 4)] == [
        (3, Decimal(0), True),
        (4, Decimal(0), True),
    ]
    assert sum(quantity for _, quantity, _ in rated if quantity) == Decimal("1.5")


def test_a_legacy_cur_s_split_cost_allocation_record_has_no_quantity_either(tmp_path):
    """The same record in a legacy CUR (splitLineItem/ParentResourceId)."""
    path = tmp_path / "cur-2024-05-1.csv"
    header = LEGACY_HEADER.rstrip("\n") + ",splitLineItem/ParentResourceId\n"
    day = "2024-05-02T00:00:00Z"
    path.write_text(
        header
        + f"li-1,{day}/2024-05-03T00:00:00Z,444455556666,Usage,{day},AmazonEC2,1,0.0416,USD,\n"
        + f"li-2,{day}/2024-05-03T00:00:00Z,444455556666,Usage,{day},AmazonEKS,2,0,USD,"
        "i-0abc123def4567890\n"
    )
    con = open_store()
    import_reports(con, [path])
    assert con.execute("SELECT x_SourceRow, PricingQuantity FROM lines ORDER BY 1").fetchall() == [
        (2, Decimal(1)),
        (3, None),
    ]


UNIT_PRICE_CREDITS_PLANS = """
plans:
  - id: units
    name: AWS per unit, credits at the unit price
    rules:
      - {id: aws-units, kind: fixed_price, unit_price: "0.03", currency: USD, credits: price,
         match: {vendor: aws}}
assignments:
  - {plan: units, group: enterprise}
"""


def test_a_credit_of_usage_amount_0_is_refused_by_a_unit_price_not_billed_0(tmp_path):
    """AWS prints credits with a usage amount of 0 and a negative cost. Priced per unit
    (``credits: price``) they were priced 0 x the unit price: USD 1.50 of credits billed 0.00,
    the customer's money lost without a word. They are refused, as a line without a quantity."""
    path = _cur2(
        tmp_path, [("Usage", "24", "10.00"), ("Credit", "0", "-1.00"), ("Credit", "0", "-0.50")]
    )
    con, pricing, customers = _mapped_store(tmp_path, UNIT_PRICE_CREDITS_PLANS, path)
    assert con.execute(
        "SELECT x_SourceRow, ChargeCategory, PricingQuantity, BilledCost FROM lines ORDER BY 1"
    ).fetchall() == [
        (2, "Usage", Decimal(24), Decimal("10.00")),
        (3, "Credit", Decimal(0), Decimal("-1.00")),
        (4, "Credit", Decimal(0), Decimal("-0.50")),
    ]
    with pytest.raises(ParameterError) as caught:
        rate_lines(con, pricing, customers, "2024-05")
    message = str(caught.value)
    assert "rules[id=aws-units]: the rule prices per unit (PricingQuantity), but " in message
    assert (
        "cur2-2024-05.csv row 3 has a quantity of 0 and costs -1 USD: it would be billed 0.00"
        in message
    )


def _priced_in(tmp_path, layout: str, currencies: list[str]):
    """A report of C3's account with one usage line (10 hours, USD 5.00 unblended, public
    on-demand 0.46 an hour, 4.60) per pricing currency of ``currencies`` (legacy CUR:
    pricing/currency; CUR 2.0: pricing_currency), the lines in USD."""
    if layout == "legacy":
        header = LEGACY_HEADER.strip().split(",") + [
            "pricing/publicOnDemandRate",
            "pricing/publicOnDemandCost",
            "pricing/currency",
        ]
        path = tmp_path / "cur-2024-05-1.csv"
        path.write_text(
            ",".join(header)
            + "\n"
            + "".join(
                f"li-{i},2024-05-02T00:00:00Z/2024-05-03T00:00:00Z,444455556666,Usage,"
                f"2024-05-02T00:00:00Z,AmazonEC2,10,5.00,USD,0.46,4.60,{currency}\n"
                for i, currency in enumerate(currencies)
            )
        )
        return path
    rows = [
        cur2.records()[0]
        | {
            "identity_line_item_id": f"li-{i}",
            "line_item_usage_amount": "10",
            "line_item_unblended_cost": "5.00",
            "pricing_public_on_demand_rate": "0.46",
            "pricing_public_on_demand_cost": "4.60",
            "pricing_currency": currency,
        }
        for i, currency in enumerate(currencies)
    ]
    path = tmp_path / "cur2-2024-05.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[*cur2.COLUMNS, "pricing_currency"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("layout", WRITERS)
def test_a_public_price_in_another_currency_than_the_line_s_is_no_list_price(layout, tmp_path):
    """AWS states the pricing columns (public on-demand rate and cost) in the pricing currency,
    which need not be the line's: a list price of EUR 4.60 was billed as USD 4.60 less 5 %,
    4.37, to a customer invoiced in USD, no exchange rate applied. Such a line has no list
    price (a list-price rule refuses it, saying why); one priced in the line's currency has."""
    path = _priced_in(tmp_path, layout, ["USD", "EUR"])
    con, pricing, customers = _mapped_store(tmp_path, LIST_PRICE_PLANS, path)
    assert con.execute(
        "SELECT x_SourceRow, BillingCurrency, ListUnitPrice, ListCost FROM lines ORDER BY 1"
    ).fetchall() == [(2, "USD", Decimal("0.46"), Decimal("4.60")), (3, "USD", None, None)]
    with pytest.raises(ParameterError) as caught:
        rate_lines(con, pricing, customers, "2024-05")
    message = str(caught.value)
    assert f"{path.name} row 3 has none" in message
    assert "in another currency than the line's" in message
