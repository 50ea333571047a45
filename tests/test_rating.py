"""Rating: each rule kind on hand-checked lines, effective dating, credits and taxes, the tables'
contract, errors for lines that cannot be priced, and the what-if."""

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from rating_helpers import line, rated_store, write_parameters

from billing_lib import analysis, review
from billing_lib.errors import ControlTotalError, InputError, ParameterError, RunError
from billing_lib.rating import (
    RATED_COLUMNS,
    minimum_rules_sql,
    rate_lines,
    rated_frame,
)
from billing_lib.run import RATED_PARQUET
from billing_lib.sql import ql
from billing_lib.store import frame
from billing_lib.whatif import (
    MINIMUM_FEES_PARQUET,
    TERMS_PARQUET,
    margin,
    reprice_customer,
    totals_sql,
    write_minimum_fees,
    write_terms,
)

MS = {
    "x_Vendor": "microsoft",
    "SubAccountId": "tenant-1",
    "ProviderName": "Microsoft",
    "PublisherName": "Microsoft",
    "BillingCurrency": "EUR",
}


def rate(
    tmp_path, plans: str, rows: list[dict], custom: str | None = None, period: str = "2026-10"
):
    params = write_parameters(tmp_path, plans, custom)
    con, pricing, customers = rated_store(params, rows)
    report = rate_lines(con, pricing, customers, period)
    return con, report


def rated(con, where: str = "line_kind = 'vendor'") -> list[tuple]:
    return [
        tuple(r)
        for r in frame(
            con,
            f"""SELECT customer_id, rule_id, amount FROM rated_lines WHERE {where}
                                               ORDER BY customer_id, source_row, rule_id""",
        ).itertuples(index=False)
    ]


def plan(*rules: str, extra: str = "") -> str:
    body = "\n".join(f"      - {r}" for r in rules)
    return (
        f"plans:\n  - id: p\n    rules:\n{body}\n{extra}assignments:\n  - {{plan: p, group: smb}}\n"
    )


def test_markup_on_billed_or_effective_cost(tmp_path):
    con, _ = rate(
        tmp_path,
        plan(
            "{id: aws, kind: markup, percent: 10}",
            "{id: ec2, kind: markup, percent: 20, basis: EffectiveCost, "
            "match: {service: Amazon EC2}}",
        ),
        [
            line(ServiceName="Amazon S3", BilledCost="10", EffectiveCost="7"),
            line(BilledCost="10", EffectiveCost="7"),
            line(ServiceName="Amazon S3", BilledCost="10", EffectiveCost=None),
        ],
    )
    # USD->EUR 0.9 on 1 Oct: S3 10 x 0.9 x 1.10 = 9.90; EC2 7 x 0.9 x 1.20 = 7.56; a line without
    # EffectiveCost priced on BilledCost needs none: 9.90
    assert rated(con) == [
        ("C1", "aws", D("9.9")),
        ("C1", "ec2", D("7.56")),
        ("C1", "aws", D("9.9")),
    ]
    costs = frame(con, "SELECT vendor_cost, billed_cost, cost FROM rated_lines ORDER BY source_row")
    assert list(costs["vendor_cost"]) == [D(10), D(7), D(10)]
    assert list(costs["billed_cost"]) == [D(10), D(10), D(10)]
    assert list(costs["cost"]) == [D(9), D("6.3"), D(9)]


def test_a_line_priced_on_effective_cost_without_one_is_refused(tmp_path):
    """Its BilledCost instead would bill a commitment wrong in silence (an AWS export without the
    Savings Plan columns: covered usage at on-demand on top of the plan's fee); tests of the
    sample month: tests/test_aws_commitments.py."""
    with pytest.raises(InputError) as caught:
        rate(
            tmp_path,
            plan(
                "{id: aws, kind: markup, percent: 10}",
                "{id: ec2, kind: markup, percent: 20, basis: EffectiveCost, "
                "match: {service: Amazon EC2}}",
            ),
            [line(BilledCost="10", EffectiveCost="7"), line(BilledCost="10", EffectiveCost=None)],
        )
    assert str(caught.value).startswith(
        "1 line(s) priced on their amortised cost (EffectiveCost) have none"
    )
    assert (
        "test.csv, row 3, column 'EffectiveCost'; expected the amortised cost of this line, "
        in (str(caught.value))
    )
    assert "plans[id=p].rules[id=ec2] prices (basis EffectiveCost)" in str(caught.value)


def test_a_rule_s_vendor_matches_whatever_its_case(tmp_path):
    """``vendor: AWS`` matched no line (every format's vendor is lower case): the catch-all rule
    priced AWS, with only "rule matched nothing" said. Read as accounts.csv reads it: aws."""
    con, _ = rate(
        tmp_path,
        plan("{id: all, kind: markup, percent: 10}", "{id: aws, kind: markup, percent: 20, "
             "match: {vendor: ' AWS'}}"),
        [line(BilledCost="10")],
    )  # fmt: skip
    assert rated(con) == [("C1", "aws", D("10.8"))]  # 10 x 0.9 x 1.20


def test_a_rule_s_vendor_by_another_of_its_names_matches_its_lines(tmp_path):
    """``vendor: azure`` (Azure's lines are ``microsoft``, as accounts.csv now reads ``azure``)
    matched no line: the catch-all rule priced Azure. Read by the names the FOCUS importer reads
    as one vendor (``model.VENDOR_NAMES``)."""
    con, _ = rate(
        tmp_path,
        plan("{id: all, kind: markup, percent: 10}", "{id: az, kind: markup, percent: 20, "
             "match: {vendor: Microsoft  Azure}}"),
        [line(BilledCost="10", x_Vendor="microsoft", SubAccountId="tenant-1")],
    )  # fmt: skip
    assert rated(con) == [("C1", "az", D("10.8"))]  # 10 x 0.9 x 1.20


def test_a_rule_s_text_match_fields_match_whatever_their_case(tmp_path):
    """``service: amazon ec2`` or ``sku: ec2-1`` matched no line: the catch-all rule priced them,
    with only "rule matched nothing" said. Provider, publisher, service, SKU and charge type are
    compared whatever their case (on the keys, never per line)."""
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: ec2, kind: markup, percent: 20, match: {service: amazon ec2, sku: ec2-1, "
            "provider: aws, publisher: Aws, charge_type: USAGE}}",
        ),
        [line(BilledCost="10", x_VendorChargeType="Usage"), line(BilledCost="10", SkuId="EC2-2")],
    )
    assert sorted(rated(con)) == [("C1", "all", D("9.9")), ("C1", "ec2", D("10.8"))]  # x 0.9 USD


def test_a_minimum_fee_s_service_matches_whatever_its_case(tmp_path):
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: pass_through}",
            "{id: min-s3, kind: minimum_fee, amount: '20', currency: EUR, "
            "match: {service: AMAZON S3}}",
        ),
        [line(BillingCurrency="EUR", ServiceName="Amazon S3", BilledCost="12.50")],
    )
    # C1's S3 12.50 < 20 -> 7.50 (with the fee's service in capitals); C2 has no S3 -> 20
    assert rated(con, "line_kind = 'minimum'") == [
        ("C1", "min-s3", D("7.5")),
        ("C2", "min-s3", D(20)),
    ]


def test_list_price_discount_and_uplift(tmp_path):
    con, _ = rate(
        tmp_path,
        plan(
            "{id: ms, kind: list_price, discount_percent: 5}",
            "{id: az, kind: list_price, uplift_percent: 2.5, match: {service: Azure}}",
        ),
        [
            line(**MS, ListUnitPrice="33.60", PricingQuantity=3, BilledCost="80.64"),
            line(**MS, ServiceName="Azure", ListUnitPrice=None, ListCost="200", BilledCost="190"),
        ],
    )
    # 33.60 x 3 = 100.80 x 0.95 = 95.76; no unit price: ListCost 200 x 1.025 = 205 (a line
    # without a quantity has no unit price either)
    assert rated(con) == [("C1", "ms", D("95.76")), ("C1", "az", D(205))]
    assert frame(con, "SELECT unit_price FROM rated_lines ORDER BY source_row")[
        "unit_price"
    ].tolist() == [D("31.92"), None]


def test_fixed_seat_price_prorated_by_the_charge_period(tmp_path):
    con, _ = rate(
        tmp_path,
        plan(
            "{id: seat, kind: fixed_price, unit_price: '30.00', currency: EUR}",
            "{id: flat, kind: fixed_price, unit_price: '30.00', currency: EUR, prorate: false, "
            "match: {sku: F}}",
        ),
        [
            line(
                **MS,
                SkuId="E3",
                PricingQuantity=10,
                BilledCost="250",
                ChargePeriodStart=datetime(2026, 10, 1),
                ChargePeriodEnd=datetime(2026, 11, 1),
            ),
            line(
                **MS,
                SkuId="E3",
                PricingQuantity=4,
                BilledCost="50",
                ChargePeriodStart=datetime(2026, 10, 15),
                ChargePeriodEnd=datetime(2026, 11, 1),
            ),
            line(
                **MS,
                SkuId="E3",
                PricingQuantity=2,
                BilledCost="1",
                ChargePeriodStart=datetime(2026, 10, 1, 12),
                ChargePeriodEnd=datetime(2026, 10, 2),
            ),
            line(
                **MS,
                SkuId="F",
                PricingQuantity=2,
                BilledCost="1",
                ChargePeriodStart=datetime(2026, 10, 15),
                ChargePeriodEnd=datetime(2026, 11, 1),
            ),
            line(
                **MS,
                SkuId="E3",
                PricingQuantity=5,
                BilledCost="1200",
                ChargePeriodStart=datetime(2026, 10, 15),
                ChargePeriodEnd=datetime(2027, 10, 15),
            ),
            line(
                **MS,
                SkuId="E3",
                PricingQuantity=3,
                BilledCost="-20",
                ChargeCategory="Credit",
                ChargePeriodStart=datetime(2026, 10, 12),
                ChargePeriodEnd=datetime(2026, 11, 12),
            ),
        ],
    )
    # 10 x 30 x 1 month = 300; 4 x 30 x 17/31 = 2040/31 = 65.806451612903(2..); 2 x 30 x 0.5/31 =
    # 30/31
    # = 0.967741935484 (half-up); not prorated 2 x 30 = 60; annual term 5 x 30 x 12 = 1800; a refund
    # of
    # 3 seats for 12 Oct - 12 Nov (one whole month) with credits passed on at cost: -20
    assert rated(con) == [
        ("C1", "seat", D(300)),
        ("C1", "seat", D("65.806451612903")),
        ("C1", "seat", D("0.967741935484")),
        ("C1", "flat", D(60)),
        ("C1", "seat", D(1800)),
        ("C1", "seat", D(-20)),
    ]


def test_a_seat_period_longer_than_a_month_counts_whole_months_then_days(tmp_path):
    """A period of whole months and some days (a change within an annual or triennial term):
    its days over February's 28 counted 80 days as 2.86 months; it is 2 months and 21 days."""
    seat = "{id: seat, kind: fixed_price, unit_price: '30.00', currency: EUR}"
    periods = [
        (datetime(2026, 2, 10), datetime(2026, 5, 1)),  # 10 Feb + 2 months = 10 Apr, + 21/30
        (datetime(2026, 2, 10), datetime(2026, 5, 10)),  # 3 whole months
        (datetime(2026, 2, 10), datetime(2026, 3, 1)),  # 19 days of February's 28
    ]
    rows = [
        line(**MS, PricingQuantity=1, BilledCost="1", ChargePeriodStart=s, ChargePeriodEnd=e)
        for s, e in periods
    ]
    con, _ = rate(tmp_path, plan(seat), rows, period="2026-02")
    # 30 x 2 + 30 x 21/30 = 81; 30 x 3 = 90; 30 x 19/28 = 20.357142857142(86..) half-up
    assert [a for _, _, a in rated(con)] == [D(81), D(90), D("20.357142857143")]


def test_a_seat_period_from_the_31st_never_bills_more_than_a_longer_one(tmp_path):
    """A period from 31 October counts its whole months to 28 February (31 October + 4 months),
    then days left that can run past 28 March: 30 days over February's 28 billed 31 October -
    30 March as 5.07 months, more than the 5 months to 31 March, and 28 March as the whole 5.
    The days left count over the days to the next month from the start (28 February - 31
    March: 31) where those are more than the days of the month they start in, so they stay
    below a month; a period shorter than a month is counted as before."""
    seat = "{id: seat, kind: fixed_price, unit_price: '22.00', currency: EUR}"
    ends = [
        datetime(2027, 3, 28),  # 4 months + 28/31
        datetime(2027, 3, 30),  # 4 months + 30/31
        datetime(2027, 3, 31),  # 5 months
        datetime(2026, 11, 29),  # 29 days of October's 31, as before
        datetime(2026, 11, 30),  # a month
    ]
    rows = [
        line(
            **MS,
            PricingQuantity=100,
            BilledCost="1",
            ChargePeriodStart=datetime(2026, 10, 31),
            ChargePeriodEnd=e,
        )
        for e in ends
    ]
    con, _ = rate(tmp_path, plan(seat), rows)
    # 2200 x 4 = 8800, + 2200 x 28/31 = 1987.096774193548(39..), + 2200 x 30/31 =
    # 2129.032258064516(13..); 2200 x 29/31 = 2058.064516129032(26..)
    assert [a for _, _, a in rated(con)] == [
        D("10787.096774193548"),
        D("10929.032258064516"),
        D(11000),
        D("2058.064516129032"),
        D(2200),
    ]


#: Charge periods as Partner Center writes them (ChargeStartDate, ChargeEndDate: inclusive
#: days), the seat-months each bills and why. A monthly cycle from the 29th-31st ends the day
#: before the same day next month, clamped to that month's end (31 January - 28 February),
#: and one cycle is one month; the end a day earlier (31 January - 27 February: 31 January + 1
#: month, the end the rating's month count has) is one month too.
CYCLES = [
    (date(2027, 1, 31), date(2027, 2, 28), D(1)),  # from the 31st over February
    (date(2028, 1, 31), date(2028, 2, 29), D(1)),  # a leap year
    (date(2027, 1, 30), date(2027, 2, 28), D(1)),  # the 30th
    (date(2028, 1, 30), date(2028, 2, 29), D(1)),
    (date(2027, 1, 29), date(2027, 2, 28), D(1)),  # the 29th: no 29 February
    (date(2028, 1, 29), date(2028, 2, 28), D(1)),  # a leap year's 29 February starts the next
    (date(2027, 1, 31), date(2027, 2, 27), D(1)),  # the other end: 31 January + 1 month
    (date(2027, 3, 31), date(2027, 4, 30), D(1)),  # 31 April clamped to 30 April
    (date(2027, 3, 31), date(2027, 4, 29), D(1)),
    (date(2026, 10, 31), date(2026, 11, 30), D(1)),
    (date(2026, 11, 30), date(2026, 12, 29), D(1)),  # no month shorter: as before
    (date(2026, 10, 31), date(2027, 2, 28), D(4)),  # four cycles
    (date(2027, 1, 31), date(2028, 1, 30), D(12)),  # annual from 31 January
    (date(2028, 2, 29), date(2029, 2, 28), D(12)),  # annual from a leap day
    (date(2028, 2, 29), date(2031, 2, 28), D(36)),  # triennial from a leap day
    # partial cycles keep their proration: added 15 February to the cycle's end (14 of
    # February's 28 days), cancelled 14 February (15 of January's 31), added 10 February in a
    # leap year (20 of February's 29)
    (date(2027, 2, 15), date(2027, 2, 28), D(1) / 2),
    (date(2027, 1, 31), date(2027, 2, 14), D(15) / 31),
    (date(2028, 2, 10), date(2028, 2, 29), D(20) / 29),
]


@pytest.mark.parametrize(("first", "last", "months"), CYCLES)
def test_a_whole_monthly_cycle_from_the_29th_to_31st_bills_one_month(tmp_path, first, last, months):
    """A monthly cycle from the 31st over a shorter month (Partner Center: 31 January - 28
    February, ChargePeriodEnd 1 March) counted 1 month + 1 day of the 31 to 31 March: 2 seats
    at 22.00 billed 45.42, not 44.00, and 88.00 not prorated; each cycle from the 29th-31st
    bills its month (``CYCLES``), an annual or triennial term its 12 or 36; a partial cycle
    keeps its proration. A seat fee counts the same seat-months, the what-if the same
    amounts."""
    seat = "{id: seat, kind: fixed_price, unit_price: '22.00', currency: EUR}"
    flat = "{id: flat, kind: fixed_price, unit_price: '22.00', currency: EUR, prorate: false, "
    fee = "{id: fee, kind: seat_fee, unit_price: '1', currency: EUR, match: {vendor: microsoft}}"
    start = datetime.combine(first, datetime.min.time())
    end = datetime.combine(last, datetime.min.time()) + timedelta(days=1)
    rows = [
        line(
            **MS,
            SkuId=s,
            PricingQuantity=2,
            BilledCost="1",
            ChargePeriodStart=start,
            ChargePeriodEnd=end,
        )
        for s in ("E3", "F")
    ]
    period = f"{first:%Y-%m}"
    con, _ = rate(tmp_path, plan(seat, flat + "match: {sku: F}}", fee), rows, period=period)
    whole = D(int(months) + (0 if months == int(months) else 1))
    prorated = (44 * months).quantize(D("1e-12"), rounding=ROUND_HALF_UP)
    assert rated(con) == [("C1", "seat", prorated), ("C1", "flat", 44 * whole)]
    [(seat_months,)] = con.execute(
        "SELECT quantity FROM rated_lines WHERE line_kind = 'seat_fee'"
    ).fetchall()
    assert seat_months == (2 * months).quantize(D("1e-12"), rounding=ROUND_HALF_UP) * 2
    what_if = reprice_customer(con, "C1", None)
    assert what_if[what_if["line_kind"] == "vendor"]["amount"].tolist() == [
        prorated,
        44 * whole,
    ]


def test_a_seat_price_not_prorated_counts_every_month_of_the_period_a_part_one_whole(tmp_path):
    """``prorate: false`` charges a part of a month as a whole month; it charged one month for
    any period, so an annual term paid up front was billed 1/12 of its price."""
    flat = "{id: flat, kind: fixed_price, unit_price: '30.00', currency: EUR, prorate: false}"
    periods = [
        (datetime(2026, 10, 15), datetime(2027, 10, 15)),  # an annual term: 12 months
        (datetime(2026, 10, 20), datetime(2026, 11, 12)),  # 23 days: a whole month
        (datetime(2026, 10, 20), datetime(2028, 3, 15)),  # 16 months and 24 days: 17
        (datetime(2026, 10, 12), datetime(2026, 11, 12)),  # one month
    ]
    rows = [
        line(**MS, PricingQuantity=2, BilledCost="1", ChargePeriodStart=s, ChargePeriodEnd=e)
        for s, e in periods
    ]
    con, _ = rate(tmp_path, plan(flat), rows)
    assert [a for _, _, a in rated(con)] == [D(2 * 30 * 12), D(60), D(2 * 30 * 17), D(60)]


def test_a_refund_of_seats_priced_by_the_seat_rule_is_negative(tmp_path):
    con, _ = rate(
        tmp_path,
        plan("{id: seat, kind: fixed_price, unit_price: '22.00', currency: EUR, credits: price}"),
        [
            line(
                **MS,
                PricingQuantity=9,
                BilledCost="185.40",
                x_VendorChargeType="new",
                ChargePeriodStart=datetime(2026, 10, 2),
                ChargePeriodEnd=datetime(2026, 11, 2),
            ),
            line(
                **MS,
                PricingQuantity=9,
                BilledCost="-167.40",
                ChargeCategory="Credit",
                x_VendorChargeType="cancelImmediate",
                ChargePeriodStart=datetime(2026, 10, 5),
                ChargePeriodEnd=datetime(2026, 11, 2),
            ),
        ],
    )
    # bought 2 Oct for a month: 9 x 22 = 198; cancelled 5 Oct: -(9 x 22 x 28/31) = -5544/31 =
    # -178.838709677419(35..)
    assert rated(con) == [("C1", "seat", D(198)), ("C1", "seat", D("-178.838709677419"))]


def test_tiered_and_volume_count_the_month_per_customer_and_rule(tmp_path):
    tiers = (
        "[{up_to: 100, unit_price: '0.10'}, {up_to: 1000, unit_price: '0.05'}, "
        "{unit_price: '0.01'}]"
    )
    con, _ = rate(
        tmp_path,
        plan(
            f"{{id: grad, kind: tiered, currency: EUR, tiers: {tiers}}}",
            f"{{id: vol, kind: volume, currency: EUR, match: {{service: V}}, tiers: {tiers}}}",
        ),
        [
            line(**MS, PricingQuantity=60, ChargePeriodStart=datetime(2026, 10, 2)),
            line(**MS, PricingQuantity=60, ChargePeriodStart=datetime(2026, 10, 1)),
            line(**MS, PricingQuantity=1000, ChargePeriodStart=datetime(2026, 10, 3)),
            line(**{**MS, "SubAccountId": "tenant-2"}, PricingQuantity=60),
            line(**MS, ServiceName="V", PricingQuantity=60),
            line(**MS, ServiceName="V", PricingQuantity=60),
        ],
    )
    # graduated, in charge order: 1 Oct 60 x 0.10 = 6; 2 Oct 40 x 0.10 + 20 x 0.05 = 5; 3 Oct 880 x
    # 0.05 + 120 x 0.01 = 45.2
    # C2 counts on its own: 60 x 0.10 = 6. Volume: the month's 120 units are in tier 2: 60 x 0.05 =
    # 3 each.
    assert rated(con) == [
        ("C1", "grad", D(5)),
        ("C1", "grad", D(6)),
        ("C1", "grad", D("45.2")),
        ("C1", "vol", D(3)),
        ("C1", "vol", D(3)),
        ("C2", "grad", D(6)),
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # 1 Oct: 0 -> 80 at the old tiers, 80 x 1.00; 20 Oct: 80 -> 160 at the new ones,
        # 20 x 1.10 + 60 x 0.60 (restarted at 0 it was 80 x 1.10 = 88)
        ("tiered", [D(80), D(58)]),
        # the month's 160 units are in the second tier: 80 x 0.50 (the old price), 80 x 0.60
        # (restarted, each half was in the first tier: 80 x 1.00 and 80 x 1.10)
        ("volume", [D(40), D(48)]),
    ],
)
def test_tiers_changed_mid_month_count_the_month_s_volume_at_each_day_s_prices(
    tmp_path, kind, expected
):
    """A tier price changed from the 16th: two entries of one scope, the old one ending the day
    before the new one begins. The month's cumulative volume decides the tier (the counting
    does not restart at the change, so the customer is not charged the first tier twice), each
    line at the prices in effect on its charge date."""
    old = "[{up_to: 100, unit_price: '1.00'}, {unit_price: '0.50'}]"
    new = "[{up_to: 100, unit_price: '1.10'}, {unit_price: '0.60'}]"
    con, report = rate(
        tmp_path,
        plan(
            f"{{id: pts-old, kind: {kind}, currency: EUR, tiers: {old}, valid_to: 2026-10-15}}",
            f"{{id: pts-new, kind: {kind}, currency: EUR, tiers: {new}, valid_from: 2026-10-16}}",
        ),
        [
            line(**MS, PricingQuantity=80, ChargePeriodStart=datetime(2026, 10, 1)),
            line(**MS, PricingQuantity=80, ChargePeriodStart=datetime(2026, 10, 20)),
            line(**{**MS, "SubAccountId": "tenant-2"}, PricingQuantity=30),  # C2 on its own
        ],
    )
    assert rated(con) == [
        ("C1", "pts-old", expected[0]),
        ("C1", "pts-new", expected[1]),
        ("C2", "pts-old", D(30)),
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # 1 Oct: 0 -> 80 at the plan's tiers, 80 x 1.00; 20 Oct: 80 -> 160 at the customer's,
        # 20 x 0.90 + 60 x 0.45 (restarted at 0 it was 80 x 0.90 = 72: the better deal billed
        # 152 where the plan's tiers alone bill 130)
        ("tiered", [D(80), D(45)]),
        # the month's 160 units are in the second tier: 80 x 0.50, 80 x 0.45 (restarted, each
        # half in the first: 80 x 1.00 and 80 x 0.90)
        ("volume", [D(40), D(36)]),
    ],
)
def test_a_customer_s_own_tiers_from_mid_month_count_the_month_s_volume_with_the_plan_s(
    tmp_path, kind, expected
):
    """A customer's own tiers from the 16th (a negotiated deal, ``match: {customer: C1}``)
    follow the plan's tiers of the same match for that customer. The month's quantity counted
    per scope with the customer in it: the deal restarted the volume at 0 and charged the first
    tier again, more than the plan's tiers alone. It now counts on, as a price change does."""
    general = "[{up_to: 100, unit_price: '1.00'}, {unit_price: '0.50'}]"
    deal = "[{up_to: 100, unit_price: '0.90'}, {unit_price: '0.45'}]"
    con, _ = rate(
        tmp_path,
        plan(
            f"{{id: pts, kind: {kind}, currency: EUR, tiers: {general}}}",
            f"{{id: c1-pts, kind: {kind}, currency: EUR, tiers: {deal}, "
            "match: {customer: C1}, valid_from: 2026-10-16}",
        ),
        [
            line(**MS, PricingQuantity=80, ChargePeriodStart=datetime(2026, 10, 1)),
            line(**MS, PricingQuantity=80, ChargePeriodStart=datetime(2026, 10, 20)),
        ],
    )
    assert rated(con) == [("C1", "pts", expected[0]), ("C1", "c1-pts", expected[1])]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # 1 Oct: 0 -> 80 on plan p, 80 x 1.00; 20 Oct: 80 -> 160 on the customer's own plan q,
        # 20 x 0.90 + 60 x 0.45 (restarted at 0 on plan q it was 80 x 0.90 = 72: moving to the
        # better plan billed 152 where staying on p billed 130)
        ("tiered", [D(80), D(45)]),
        # the month's 160 units are in the second tier: 80 x 0.50 and 80 x 0.45
        ("volume", [D(40), D(36)]),
    ],
)
def test_a_customer_moved_to_another_plan_mid_month_counts_the_month_s_volume_on(
    tmp_path, kind, expected
):
    """A customer moved to a plan of its own from the 16th (``assignments``, docs/pricing.md "A
    customer on its own plan") whose tiers have the scope of its old plan's: the month's volume
    counted per plan restarted at 0 on the new plan and charged its first tier again. It counts
    on, as for a price change or a customer's own tiers within one plan; each line at its own
    plan's tiers. Another customer of the old plan counts on its own."""
    general = "[{up_to: 100, unit_price: '1.00'}, {unit_price: '0.50'}]"
    deal = "[{up_to: 100, unit_price: '0.90'}, {unit_price: '0.45'}]"
    plans = f"""plans:
  - id: p
    rules:
      - {{id: pts, kind: {kind}, currency: EUR, tiers: {general}}}
  - id: q
    rules:
      - {{id: pts-q, kind: {kind}, currency: EUR, tiers: {deal}}}
assignments:
  - {{plan: p, group: smb}}
  - {{plan: q, customer: C1, valid_from: 2026-10-16}}
"""
    con, _ = rate(
        tmp_path,
        plans,
        [
            line(**MS, PricingQuantity=80, ChargePeriodStart=datetime(2026, 10, 1)),
            line(**MS, PricingQuantity=80, ChargePeriodStart=datetime(2026, 10, 20)),
            line(**{**MS, "SubAccountId": "tenant-2"}, PricingQuantity=30),  # C2 on its own
        ],
    )
    assert rated(con) == [
        ("C1", "pts", expected[0]),
        ("C1", "pts-q", expected[1]),
        ("C2", "pts", D(30)),
    ]


@pytest.mark.parametrize("kind", ["tiered", "volume"])
def test_a_tier_refuses_to_add_up_quantities_of_different_units(tmp_path, kind):
    """35,712 core-hours priced per unit (no points) beside a customer's VMware points: a tier
    adding them up would price the core-hours as points. Refused naming the rule, the customer
    and the units; units differing only in case and spaces are one unit, and another customer's
    lines in another unit are no mix."""
    vmware = MS  # (as accounts.csv maps it: the vendor does not matter to a tier)
    tiers = "[{up_to: 500, unit_price: '1.10'}, {unit_price: '0.95'}]"
    rules = plan(f"{{id: vmware-points, kind: {kind}, currency: EUR, tiers: {tiers}}}")
    points = line(**vmware, ServiceName="Flex Core", PricingQuantity=320, PricingUnit="Point")
    core_hours = line(**vmware, ServiceName="VCF", PricingQuantity=35712, PricingUnit=None)
    with pytest.raises(ParameterError) as err:
        rate(tmp_path, rules, [points, core_hours])
    assert err.value.entry == "plans[id=p].rules[id=vmware-points]"
    assert "customer 'C1'" in str(err.value)
    assert "(no unit and 'point', by their PricingUnit)" in str(err.value)
    # one unit, spelt two ways; and C2's lines in another unit of their own
    other = {**vmware, "SubAccountId": "tenant-2"}
    con, _ = rate(
        tmp_path,
        rules,
        [
            points,
            line(**vmware, ServiceName="Flex Core", PricingQuantity=80, PricingUnit=" point"),
            line(**other, ServiceName="VCF", PricingQuantity=10, PricingUnit="Core-hour"),
        ],
    )
    assert [r[:2] for r in rated(con)] == [("C1", "vmware-points")] * 2 + [("C2", "vmware-points")]


@pytest.mark.parametrize("kind", ["tiered", "volume"])
def test_a_tier_refuses_to_add_up_quantities_of_two_vendors(tmp_path, kind):
    """A tiered rule matched by service name alone (``match: {service: Compute}``) priced a
    customer's AWS and Azure hours as one month's volume: 80 AWS hours moved 80 Azure hours into
    the cheaper tier (billed 50.00 instead of 80.00), each vendor's usage discounted by the
    other's, without a word. Refused as different units are, naming the rule, the customer and
    the vendors; one vendor's lines, or two customers of two vendors, are no mix."""
    tiers = "[{up_to: 100, unit_price: '1.00'}, {unit_price: '0.50'}]"
    rules = plan(
        f"{{id: compute, kind: {kind}, currency: EUR, match: {{service: Compute}}, tiers: {tiers}}}"
    )
    hours = {"ServiceName": "Compute", "PricingQuantity": 80, "PricingUnit": "Hours"}
    aws = line(**hours, BillingCurrency="EUR")
    azure = line(**MS, **hours)
    with pytest.raises(ParameterError) as err:
        rate(tmp_path, rules, [aws, azure])
    assert err.value.entry == "plans[id=p].rules[id=compute]"
    text = str(err.value)
    assert "customer 'C1'" in text
    assert "lines of two vendors (aws and microsoft)" in text
    assert "add vendor to its match" in text
    # C1's AWS and C2's Azure: each customer's month of one vendor
    con, _ = rate(tmp_path, rules, [aws, line(**{**MS, "SubAccountId": "tenant-2"}, **hours)])
    assert rated(con) == [("C1", "compute", D(80)), ("C2", "compute", D(80))]


@pytest.mark.parametrize("kind", ["tiered", "volume"])
def test_a_tier_s_unit_refuses_lines_of_another_unit(tmp_path, kind):
    """Tiers per VMware point: a customer whose only lines are core-hours (its contract prices
    the SKU per core-hour) had its 35,712 core-hours priced as points, 35,712 x 0.95, without a
    word (only a mix of units in one month was refused). A rule's ``unit`` names the unit its
    tiers count: a line in another is refused, naming the rule, the customer, the file and row
    and both units; the unit compared whatever its case and outer spaces."""
    tiers = "[{up_to: 500, unit_price: '1.10'}, {unit_price: '0.95'}]"
    rules = plan(f"{{id: vmware-points, kind: {kind}, currency: EUR, unit: Point, tiers: {tiers}}}")
    core_hours = line(**MS, ServiceName="VCF", PricingQuantity=35712, PricingUnit="Core-hour")
    with pytest.raises(ParameterError) as err:
        rate(tmp_path, rules, [core_hours])
    assert err.value.entry == "plans[id=p].rules[id=vmware-points].unit"
    text = str(err.value)
    assert "its tiers count 'Point'" in text, text
    assert "test.csv row 2 (customer 'C1') is in 'Core-hour'" in text, text
    con, _ = rate(tmp_path, rules, [line(**MS, PricingQuantity=320, PricingUnit=" point")])
    assert rated(con) == [("C1", "vmware-points", D(352))]


def test_a_tiered_rule_prices_a_credit_of_units_negative_like_a_charge(tmp_path):
    """``credits: price`` under a graduated rule: a seat cancellation (negative quantity) was
    priced 0.00 (each tier's part was floored at 0), so the customer paid for seats it returned,
    and a credit before the purchase made the purchase's first units free. Each line now pays the
    tiers' price of the units between the month's quantity before and after it, whichever way,
    the first tier's price below 0: the lines add up to the month's net quantity, graduated."""
    tiers = "[{up_to: 10, unit_price: '22.00'}, {unit_price: '20.00'}]"
    t2 = {**MS, "SubAccountId": "tenant-2"}

    def seats(when: int, quantity: int, cost: str, **more) -> dict:
        category = "Credit" if cost.startswith("-") else "Purchase"
        return line(
            **more,
            PricingQuantity=quantity,
            BilledCost=cost,
            ChargeCategory=category,
            ChargePeriodStart=datetime(2026, 10, when),
        )

    con, _ = rate(
        tmp_path,
        plan(f"{{id: seat, kind: tiered, currency: EUR, credits: price, tiers: {tiers}}}"),
        [
            seats(2, 9, "185.40", **MS),
            seats(5, -9, "-167.40", **MS),
            seats(6, 12, "240", **MS),
            seats(7, -3, "-60", **MS),
            seats(1, -3, "-60", **t2),
            seats(2, 12, "240", **t2),
            seats(4, 2, "-40", **t2),  # a return printed with a positive quantity
        ],
    )
    # C1: 0 -> 9: 9 x 22 = 198; 9 -> 0: -198; 0 -> 12: 10 x 22 + 2 x 20 = 260; 12 -> 9:
    # -(2 x 20 + 1 x 22) = -62; the month: 9 seats, 198.
    # C2: 0 -> -3: -66; -3 -> 9: 12 x 22 = 264; 9 -> 7: -44; the month: 7 seats, 154.
    assert rated(con) == [
        ("C1", "seat", D(198)),
        ("C1", "seat", D(-198)),
        ("C1", "seat", D(260)),
        ("C1", "seat", D(-62)),
        ("C2", "seat", D(-66)),
        ("C2", "seat", D(264)),
        ("C2", "seat", D(-44)),
    ]


def test_pass_through_exclude_and_vendor_tax(tmp_path):
    con, report = rate(
        tmp_path,
        plan(
            "{id: all, kind: pass_through}",
            "{id: lab, kind: exclude, reason: internal lab, match: {customer: C2}}",
        ),
        [
            line(BilledCost="10"),
            line(SubAccountId="222", BilledCost="4"),
            line(ChargeCategory="Tax", BilledCost="2.10"),
            line(SubAccountId="nobody", BilledCost="1"),
        ],
    )
    assert rated(con) == [("C1", "all", D(9))]
    excluded = con.execute(
        "SELECT x_CustomerId, BilledCost, reason, rule_id FROM excluded_lines ORDER BY x_SourceRow"
    ).fetchall()
    assert excluded == [
        ("C2", D(4), "excluded by rule lab: internal lab", "lab"),
        ("C1", D("2.1"), "vendor tax", None),
    ]
    assert frame(con, "SELECT SubAccountId FROM unmapped_lines")["SubAccountId"].tolist() == [
        "nobody"
    ]
    usd = next(b for b in report.conservation if b.currency == "USD")
    assert (usd.imported, usd.rated, usd.excluded, usd.unmapped, usd.difference) == (
        D("17.1"),
        D(10),
        D("6.1"),
        D(1),
        0,
    )
    assert report.counts == {"customer_lines": 4, "rated_vendor": 1, "excluded": 2, "unmapped": 1}


def test_credits_passed_on_kept_or_priced_per_rule(tmp_path):
    con, _ = rate(
        tmp_path,
        plan(
            "{id: aws, kind: markup, percent: 10}",
            "{id: ms, kind: markup, percent: 10, credits: keep, match: {vendor: microsoft}}",
            "{id: refund, kind: markup, percent: 10, credits: price, "
            "match: {vendor: aws, charge_type: Refund}}",
        ),
        [
            line(ChargeCategory="Credit", BilledCost="-10"),
            line(**MS, ChargeCategory="Credit", BilledCost="-5"),
            line(ChargeCategory="Credit", x_VendorChargeType="Refund", BilledCost="-10"),
            line(ChargeCategory="Adjustment", BilledCost="3"),
        ],
    )
    # passed on at cost: -10 x 0.9 = -9; refund priced like the charge: -9 x 1.1 = -9.9; adjustment
    # 3 x 0.9 = 2.7
    assert rated(con) == [
        ("C1", "aws", D(-9)),
        ("C1", "refund", D("-9.9")),
        ("C1", "aws", D("2.7")),
    ]
    assert frame(con, "SELECT reason FROM excluded_lines")["reason"].tolist() == [
        "credit kept by reseller (rule ms)"
    ]


def test_credits_kept_keep_money_back_but_bill_a_positive_adjustment_at_cost(tmp_path):
    """``credits: keep`` keeps what gives money back: credits and refunds, a credit taken back
    (positive) with them, and negative adjustments. A positive adjustment (Azure's
    RoundingAdjustment of +0.01, a positive Partner Center price adjustment) is a charge: it was
    excluded as 'credit kept by reseller', the reseller bearing a charge it never billed. It is
    billed at cost, as under ``pass_on``; lines of both signs of one customer, vendor and
    category are told apart (one rating key before)."""
    con, _ = rate(
        tmp_path,
        plan("{id: all, kind: markup, percent: 10, credits: keep}"),
        [
            line(**MS, ChargeCategory="Adjustment", BilledCost="0.01"),
            line(**MS, ChargeCategory="Adjustment", BilledCost="-0.02"),
            line(**MS, ChargeCategory="Credit", BilledCost="-5"),
            line(**MS, ChargeCategory="Credit", BilledCost="5"),
            line(**MS, BilledCost="10"),
        ],
    )
    assert rated(con) == [("C1", "all", D("0.01")), ("C1", "all", D(11))]
    assert frame(con, "SELECT BilledCost FROM excluded_lines ORDER BY x_SourceRow")[
        "BilledCost"
    ].tolist() == [D("-0.02"), D(-5), D(5)]


def test_a_positive_adjustment_is_priced_by_the_rule_with_credits_priced(tmp_path):
    """Under ``credits: price`` an adjustment of either sign is priced by the rule like a charge
    (markup 10 %); under ``pass_on`` both go at cost."""
    con, _ = rate(
        tmp_path,
        plan(
            "{id: priced, kind: markup, percent: 10, credits: price, match: {vendor: microsoft}}",
            "{id: passed, kind: markup, percent: 10}",
        ),
        [
            line(**MS, ChargeCategory="Adjustment", BilledCost="2"),
            line(**MS, ChargeCategory="Adjustment", BilledCost="-1"),
            line(ChargeCategory="Adjustment", BilledCost="2", BillingCurrency="EUR"),
            line(ChargeCategory="Adjustment", BilledCost="-1", BillingCurrency="EUR"),
        ],
    )
    assert rated(con) == [
        ("C1", "priced", D("2.2")),
        ("C1", "priced", D("-1.1")),
        ("C1", "passed", D(2)),
        ("C1", "passed", D(-1)),
    ]


def test_most_specific_rule_wins_and_customer_deals_beat_general_rules(tmp_path):
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: ec2, kind: markup, percent: 20, match: {provider: AWS, service: Amazon EC2}}",
            "{id: c2-deal, kind: markup, percent: 5, match: {customer: C2}}",
        ),
        [
            line(BilledCost="10"),
            line(ServiceName="Amazon S3", BilledCost="10"),
            line(SubAccountId="222", BilledCost="10"),
        ],
    )
    assert rated(con) == [
        ("C1", "ec2", D("10.8")),
        ("C1", "all", D("9.9")),
        ("C2", "c2-deal", D("9.45")),
    ]


def test_a_mid_month_change_applies_by_charge_date(tmp_path):
    plans = """plans:
  - id: p
    rules:
      - {id: old, kind: markup, percent: 10, valid_to: 2026-10-14}
      - {id: new, kind: markup, percent: 15, valid_from: 2026-10-15}
  - id: q
    rules:
      - {id: flat, kind: pass_through}
assignments:
  - {plan: p, group: smb}
  - {plan: q, customer: C2, valid_from: 2026-10-20}
"""
    con, report = rate(
        tmp_path,
        plans,
        [
            line(BillingCurrency="EUR", ChargePeriodStart=datetime(2026, 10, 14, 23)),
            line(BillingCurrency="EUR", ChargePeriodStart=datetime(2026, 10, 15)),
            line(
                SubAccountId="222", BillingCurrency="EUR", ChargePeriodStart=datetime(2026, 10, 19)
            ),
            line(
                SubAccountId="222", BillingCurrency="EUR", ChargePeriodStart=datetime(2026, 10, 20)
            ),
        ],
    )
    assert rated(con) == [
        ("C1", "old", D(11)),
        ("C1", "new", D("11.5")),
        ("C2", "new", D("11.5")),
        ("C2", "flat", D(10)),
    ]
    assert frame(con, "SELECT plan_id FROM rated_lines ORDER BY source_row")[
        "plan_id"
    ].tolist() == ["p", "p", "p", "q"]
    assert report.warnings == []


def test_minimum_fees_per_customer_and_per_service(tmp_path):
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: pass_through}",
            "{id: min, kind: minimum_fee, amount: '50', currency: EUR, description: Minimum fee}",
            "{id: min-s3, kind: minimum_fee, amount: '20', currency: EUR, "
            "match: {service: Amazon S3}}",
        ),
        [
            line(BillingCurrency="EUR", BilledCost="30"),
            line(BillingCurrency="EUR", ServiceName="Amazon S3", BilledCost="12.50"),
            line(SubAccountId="222", BillingCurrency="EUR", BilledCost="80"),
        ],
    )
    # C1: 42.50 < 50 -> 7.50; S3 12.50 < 20 -> 7.50. C2: 80 reaches 50; no S3 -> 20. C3 has no plan.
    assert rated(con, "line_kind = 'minimum'") == [
        ("C1", "min", D("7.5")),
        ("C1", "min-s3", D("7.5")),
        ("C2", "min-s3", D(20)),
    ]
    text = frame(
        con,
        "SELECT description FROM rated_lines WHERE line_kind = 'minimum' "
        "ORDER BY customer_id, rule_id",
    )
    assert text["description"][0] == "Minimum fee (minimum EUR 50.00, used EUR 42.50)"


def test_a_customer_s_own_minimum_fee_replaces_the_plan_s_of_the_same_scope(tmp_path):
    """A negotiated minimum for one customer was billed beside the plan's minimum (both topped up:
    75 + 41.29 for a minimum of 100; a lower deal of 50 still billed 75). Of the minimum fees of
    one scope (the same match fields apart from the customer, whatever their case) the customer's
    own wins, as for pricing rules; minimum fees of other scopes still each apply."""
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: pass_through}",
            "{id: min, kind: minimum_fee, amount: '50', currency: EUR}",
            "{id: min-s3, kind: minimum_fee, amount: '20', currency: EUR, "
            "match: {service: Amazon S3}}",
            "{id: c1-min, kind: minimum_fee, amount: '30', currency: EUR, match: {customer: C1}}",
            "{id: c2-s3, kind: minimum_fee, amount: '100', currency: EUR, "
            "match: {customer: C2, service: amazon s3}}",
        ),
        [
            line(BillingCurrency="EUR", BilledCost="30"),
            line(BillingCurrency="EUR", ServiceName="Amazon S3", BilledCost="12.50"),
            line(SubAccountId="222", BillingCurrency="EUR", BilledCost="80"),
        ],
    )
    # C1: 42.50 reaches its own 30 (the plan's 50 is not billed); S3 12.50 < 20 -> 7.50.
    # C2: 80 reaches the plan's 50; its own S3 minimum of 100 (not the plan's 20): no S3 -> 100.
    assert rated(con, "line_kind = 'minimum'") == [
        ("C1", "min-s3", D("7.5")),
        ("C2", "c2-s3", D(100)),
    ]
    in_force = con.execute(
        f"SELECT customer_id, rule_id FROM ({minimum_rules_sql('2026-10', date(2026, 10, 31))})"
    ).fetchall()
    assert in_force == [("C1", "c1-min"), ("C1", "min-s3"), ("C2", "c2-s3"), ("C2", "min")]


MINIMUM_CUSTOMERS = """
customers:
  - {id: C1, name: Alpha B.V., address: [Kade 1], country: NL, invoice_currency: EUR, group: smb}
  - {id: C2, name: Beta B.V., address: [Kade 2], country: NL, invoice_currency: EUR, group: smb,
     line_grouping: [vendor]}
  - {id: C3, name: Gamma K.K., address: [Ginza 1], country: JP, invoice_currency: JPY}
  - {id: C4, name: Delta B.V., address: [Kade 4], country: NL, invoice_currency: EUR, group: smb,
     line_grouping: ["tag:team"]}
"""


def test_a_minimum_fee_is_topped_up_from_the_invoice_lines_as_printed(tmp_path):
    """The top-up is the minimum less the customer's invoice lines in its scope as the invoice
    rounds them (each invoice line of the customer's line_grouping once, to the currency's minor
    unit), so the invoice shows exactly the minimum; "used" is that sum, in the currency's
    decimals (JPY without any). A scope that takes only part of an invoice line counts that
    part, rounded once."""
    plans = """plans:
  - id: p
    rules:
      - {id: all, kind: pass_through}
      - {id: min, kind: minimum_fee, amount: '75.00', currency: EUR, description: Minimum}
      - {id: min-a, kind: minimum_fee, amount: '50.00', currency: EUR, match: {service: A}}
  - id: jp
    rules:
      - {id: all, kind: pass_through}
      - {id: min, kind: minimum_fee, amount: '30000', currency: JPY, description: Minimum}
assignments:
  - {plan: p, group: smb}
  - {plan: jp, customer: C3}
"""
    accounts = "vendor,account_id,customer_id,valid_from,valid_to,note\n" + "".join(
        f"aws,{n}{n}{n},C{n},,,\n" for n in range(1, 5)
    )
    params = write_parameters(tmp_path, plans, customers=MINIMUM_CUSTOMERS, accounts=accounts)
    eur = {"BillingCurrency": "EUR"}
    team_a = {**eur, "SubAccountId": "444", "Tags": '{"team": "a"}'}
    con, pricing, customers = rated_store(
        params,
        [
            line(**eur, ServiceName="A", BilledCost="43.7149"),
            line(**eur, ServiceName="B", BilledCost="30.4402"),
            line(**eur, SubAccountId="222", ServiceName="A", BilledCost="43.7149"),
            line(**eur, SubAccountId="222", ServiceName="B", BilledCost="30.4402"),
            line(SubAccountId="333", BillingCurrency="JPY", BilledCost="12345.6"),
            line(**team_a, ServiceName="A", BilledCost="43.7149"),
            line(**{**team_a, "Tags": '{"team": "b"}'}, ServiceName="B", BilledCost="30.4402"),
        ],
    )
    rate_lines(con, pricing, customers, "2026-10")
    got = con.execute(
        "SELECT customer_id, rule_id, amount, description FROM rated_lines "
        "WHERE line_kind = 'minimum' ORDER BY ALL"
    ).fetchall()
    # C1 (by vendor and service): 43.71 + 30.44 = 74.15 (not 74.1551); A alone 43.71.
    # C2 (by vendor): one line 74.1551, printed 74.16; A is part of it: 43.7149 rounded once.
    # C3: 12345.6 JPY printed 12346. C4 (by the tag team): a line per team, as C1.
    assert got == [
        ("C1", "min", D("0.85"), "Minimum (minimum EUR 75.00, used EUR 74.15)"),
        ("C1", "min-a", D("6.29"), "Minimum monthly fee (minimum EUR 50.00, used EUR 43.71)"),
        ("C2", "min", D("0.84"), "Minimum (minimum EUR 75.00, used EUR 74.16)"),
        ("C2", "min-a", D("6.29"), "Minimum monthly fee (minimum EUR 50.00, used EUR 43.71)"),
        ("C3", "min", D(17654), "Minimum (minimum JPY 30,000, used JPY 12,346)"),
        ("C4", "min", D("0.85"), "Minimum (minimum EUR 75.00, used EUR 74.15)"),
        ("C4", "min-a", D("6.29"), "Minimum monthly fee (minimum EUR 50.00, used EUR 43.71)"),
    ]


def test_a_minimum_fee_s_line_prints_its_amounts_as_the_invoice_prints_amounts(tmp_path):
    """A minimum's line read "(minimum 1500.00 EUR, used 11.00, credits -200.00)" beside the
    invoice's "EUR 1,500.00": the currency after the minimum, none beside "used" and "credits",
    no thousands separators. Each amount now reads as the invoice prints one, in the currency's
    decimals: none for JPY, three for KWD."""
    plans = """plans:
  - id: p
    rules:
      - {id: all, kind: pass_through}
      - {id: min, kind: minimum_fee, amount: '1500.00', currency: EUR, description: Minimum}
  - id: jp
    rules:
      - {id: all, kind: pass_through}
      - {id: min, kind: minimum_fee, amount: '3000000', currency: JPY, description: Minimum}
  - id: kw
    rules:
      - {id: all, kind: pass_through}
      - {id: min, kind: minimum_fee, amount: '2500.125', currency: KWD, description: Minimum}
assignments:
  - {plan: p, group: smb}
  - {plan: jp, customer: C3}
  - {plan: kw, customer: C5}
"""
    customers = MINIMUM_CUSTOMERS + (
        "  - {id: C5, name: Epsilon W.L.L., address: [Souq 5], country: KW, "
        "invoice_currency: KWD}\n"
    )
    accounts = "vendor,account_id,customer_id,valid_from,valid_to,note\n" + "".join(
        f"aws,{n}{n}{n},C{n},,,\n" for n in (1, 2, 3, 5)
    )
    params = write_parameters(tmp_path, plans, customers=customers, accounts=accounts)
    eur = {"BillingCurrency": "EUR"}
    con, pricing, customers_ = rated_store(
        params,
        [
            line(**eur, BilledCost="11"),
            line(**eur, ChargeCategory="Credit", BilledCost="-200"),
            line(**eur, SubAccountId="222", BilledCost="1234.5"),
            line(SubAccountId="333", BillingCurrency="JPY", BilledCost="1234567.6"),
            line(SubAccountId="555", BillingCurrency="KWD", BilledCost="1234.5675"),
        ],
    )
    rate_lines(con, pricing, customers_, "2026-10")
    got = con.execute(
        "SELECT customer_id, amount, description FROM rated_lines WHERE line_kind = 'minimum' "
        "ORDER BY customer_id"
    ).fetchall()
    assert got == [
        ("C1", D(1689), "Minimum (minimum EUR 1,500.00, used EUR 11.00, credits EUR -200.00)"),
        ("C2", D("265.5"), "Minimum (minimum EUR 1,500.00, used EUR 1,234.50)"),
        ("C3", D(1765432), "Minimum (minimum JPY 3,000,000, used JPY 1,234,568)"),
        ("C4", D(1500), "Minimum (minimum EUR 1,500.00, used EUR 0.00)"),
        ("C5", D("1265.557"), "Minimum (minimum KWD 2,500.125, used KWD 1,234.568)"),
    ]


def test_a_minimum_fee_that_absorbs_credits_says_so_on_its_line_and_in_the_review(tmp_path):
    """A minimum tops up its lines' revenue, credits passed on included: usage of 11.00 and an
    AWS credit of -200.00 gave "used -189.00" and a top-up of 264.00, so the customer paid 75.00
    and never saw the credit. The rule stays; the line says what it counted ("used 11.00,
    credits -200.00") and the review lists the credit absorbed. A credit the usage's margin
    above the minimum covers in part is absorbed in part (C2: 70.00 of -100.00)."""
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: pass_through}",
            "{id: min, kind: minimum_fee, amount: '75', currency: EUR, description: Minimum}",
        ),
        [
            line(BillingCurrency="EUR", BilledCost="11"),
            line(BillingCurrency="EUR", ChargeCategory="Credit", BilledCost="-200"),
            line(SubAccountId="222", BillingCurrency="EUR", BilledCost="105"),
            line(
                SubAccountId="222",
                BillingCurrency="EUR",
                ChargeCategory="Credit",
                BilledCost="-100.004",
            ),
        ],
    )
    got = con.execute(
        "SELECT customer_id, amount, description FROM rated_lines WHERE line_kind = 'minimum' "
        "ORDER BY customer_id"
    ).fetchall()
    assert got == [
        ("C1", D(264), "Minimum (minimum EUR 75.00, used EUR 11.00, credits EUR -200.00)"),
        ("C2", D(70), "Minimum (minimum EUR 75.00, used EUR 105.00, credits EUR -100.00)"),
    ]
    found = [(f.check, f.subject, f.finding, f.lines) for f in review.absorbed_credits(con)]
    assert found == [
        (
            "minimum fee absorbs credits",
            "C1",
            "the minimum fee p/min of EUR 75.00 counts its credits of EUR -200.00 as revenue "
            "(usage EUR 11.00): its top-up of EUR 264.00 absorbs EUR 200.00 of them, "
            "so the customer pays the minimum and the credit goes to the reseller. "
            "Tell the customer, or give the credit back with a custom line",
            ("test.csv row 3",),
        ),
        (
            "minimum fee absorbs credits",
            "C2",
            "the minimum fee p/min of EUR 75.00 counts its credits of EUR -100.00 as revenue "
            "(usage EUR 105.00): its top-up of EUR 70.00 absorbs EUR 70.00 of them, "
            "so the customer pays the minimum and the credit goes to the reseller. "
            "Tell the customer, or give the credit back with a custom line",
            ("test.csv row 5",),
        ),
    ]


def test_a_credit_lowers_the_base_of_one_minimum_fee_only_the_widest(tmp_path):
    """A plan-wide minimum of 75.00 and one of 20.00 for S3 both counted an S3 credit of -50.00
    against S3 usage of 30.00: each saw "used -20.00" and topped up (95.00 + 40.00), so the
    customer paid 115.00, 40.00 more than with the plan-wide minimum alone and more than without
    the credit (75.00). A credit lowers the base of exactly one minimum: the widest whose scope
    holds it (the fewest match fields, then the rule id), so every minimum is still met (the
    invoice >= 75.00, S3's charges >= 20.00) and the credit is absorbed once."""
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: pass_through}",
            "{id: min, kind: minimum_fee, amount: '75', currency: EUR, description: Minimum}",
            "{id: min-s3, kind: minimum_fee, amount: '20', currency: EUR, "
            "description: S3 minimum, match: {service: Amazon S3}}",
        ),
        [
            line(BillingCurrency="EUR", ServiceName="Amazon S3", BilledCost="30"),
            line(
                BillingCurrency="EUR",
                ServiceName="Amazon S3",
                ChargeCategory="Credit",
                BilledCost="-50",
            ),
        ],
    )
    got = con.execute(
        "SELECT customer_id, rule_id, amount, description FROM rated_lines "
        "WHERE line_kind = 'minimum' AND customer_id = 'C1' ORDER BY rule_id"
    ).fetchall()
    assert got == [
        ("C1", "min", D(95), "Minimum (minimum EUR 75.00, used EUR 30.00, credits EUR -50.00)")
    ]
    (total,) = con.execute(
        "SELECT sum(amount) FROM rated_lines WHERE customer_id = 'C1'"
    ).fetchone()
    assert total == D(75)
    found = [f.finding for f in review.absorbed_credits(con) if f.subject == "C1"]
    assert [f.split(":")[0] for f in found] == [
        "the minimum fee p/min of EUR 75.00 counts its credits of EUR -50.00 as revenue "
        "(usage EUR 30.00)"
    ]


def test_custom_lines_fees_prorated_one_offs_and_credits(tmp_path):
    custom = """custom_lines:
  - {id: sup, customer: C1, kind: fee, description: Support, unit_price: '310', currency: EUR,
     valid_from: 2026-10-11}
  - {id: mgmt, customer: C1, kind: fee, description: Management, quantity: 3, unit: VM,
     unit_price: '20', currency: EUR, valid_from: 2026-01-01}
  - {id: old, customer: C1, kind: fee, description: Gone, unit_price: '99', currency: EUR,
     valid_from: 2026-01-01, valid_to: 2026-09-30}
  - {id: setup, customer: C2, kind: one_off, description: Setup, unit_price: '500', currency: EUR,
     date: 2026-10-05}
  - {id: later, customer: C2, kind: one_off, description: Next month, unit_price: '1',
     currency: EUR, date: 2026-11-05}
  - {id: sorry, customer: C2, kind: credit, description: Outage credit, quantity: 2,
     unit_price: '25.005', currency: EUR, date: 2026-10-31}
"""
    con, report = rate(
        tmp_path, plan("{id: all, kind: pass_through}"), [line(BillingCurrency="EUR")], custom
    )
    # support 310 x 21/31 = 210 ; management 3 x 20 = 60 ; setup 500 ; credit -(2 x 25.005) = -50.01
    assert rated(con, "line_kind <> 'vendor'") == [
        ("C1", "mgmt", D(60)),
        ("C1", "sup", D(210)),
        ("C2", "setup", D(500)),
        ("C2", "sorry", D("-50.01")),
    ]
    sup = frame(con, "SELECT * FROM rated_lines WHERE rule_id = 'sup'").iloc[0]
    assert (sup["description"], sup["vendor"], sup["line_kind"], sup["cost"]) == (
        "Support (2026-10-11 to 2026-10-31: 21 of 31 days)",
        "reseller",
        "fee",
        0,
    )
    assert report.counts["rated_credit"] == 1


def test_a_prorated_fee_names_the_days_it_is_billed_for(tmp_path):
    """A fee whose price changes on the 16th of a month of 30 days (100.00 to 15 November,
    120.00 from the 16th, both prorated) gave two lines both described "Support (15 of 30
    days)": the invoice summed them into one line "Support (15 of 30 days) 2 each 110.00", as
    if two fees of the same 15 days. Each prorated fee's text names its days."""
    custom = """custom_lines:
  - {id: old, customer: C1, kind: fee, description: Support, unit_price: '100', currency: EUR,
     valid_from: 2026-01-01, valid_to: 2026-11-15}
  - {id: new, customer: C1, kind: fee, description: Support, unit_price: '120', currency: EUR,
     valid_from: 2026-11-16}
  - {id: day, customer: C2, kind: fee, description: Visit, unit_price: '30', currency: EUR,
     valid_from: 2026-11-30}
"""
    con, _ = rate(tmp_path, plan("{id: all, kind: pass_through}"), [], custom, "2026-11")
    assert frame(
        con, "SELECT rule_id, description, amount FROM rated_lines ORDER BY customer_id, rule_id"
    ).values.tolist() == [
        ["new", "Support (2026-11-16 to 2026-11-30: 15 of 30 days)", D(60)],
        ["old", "Support (2026-11-01 to 2026-11-15: 15 of 30 days)", D(50)],
        ["day", "Visit (2026-11-30: 1 of 30 days)", D(1)],
    ]


def test_rated_lines_keep_the_contract_columns_and_types(tmp_path):
    con, _ = rate(tmp_path, plan("{id: all, kind: pass_through}"), [line()])
    described = {r[0]: r[1] for r in con.execute("DESCRIBE rated_lines").fetchall()}
    assert described == RATED_COLUMNS
    row = frame(con, "SELECT * FROM rated_lines").iloc[0]
    assert (
        row["period"],
        row["vendor"],
        row["source_file"],
        row["source_row"],
        row["currency"],
        row["vendor_currency"],
        row["product_group"],
    ) == ("2026-10", "aws", "test.csv", 2, "EUR", "USD", "aws")


def test_a_line_after_its_plan_ended_names_the_plan_s_end_not_a_missing_assignment(tmp_path):
    """A line of 31 October under a plan whose valid_to is 30 October was refused as "no price
    plan is assigned to it ... add an assignment with valid_from 2026-10-31 or earlier": the
    assignment was there (from always), and another would end with the plan too. The error names
    the plan and the day it ended."""
    plans = (
        "plans:\n  - id: p\n    valid_to: 2026-10-30\n    rules:\n"
        "      - {id: all, kind: pass_through}\nassignments:\n  - {plan: p, group: smb}\n"
    )
    last = datetime(2026, 10, 31, 23)
    with pytest.raises(ParameterError) as caught:
        rate(tmp_path, plans, [line(ChargePeriodStart=last, ChargePeriodEnd=last)])
    assert (
        "customer 'C1' has lines priced on 2026-10-31 (their charge date) but no price plan in "
        "force on that date: its plan p (assignments[0]) ended on 2026-10-30 (the plan's "
        "valid_to); extend the plan's valid_to, or assign the customer (or its group) a plan "
        "in force from 2026-10-31 or earlier"
    ) in str(caught.value)


def test_lines_without_plan_or_rule_or_list_price_are_errors_naming_the_entry(tmp_path):
    with pytest.raises(
        ParameterError,
        match=r"price_plans.yaml, line 5, entry assignments: customer 'C3' has lines priced on "
        r"2026-10-01 \(their charge date\) but no price plan is assigned .*; add an "
        r"assignment of the customer \(or its group\) with valid_from 2026-10-01 or earlier",
    ):
        rate(tmp_path / "a", plan("{id: all, kind: pass_through}"), [line(SubAccountId="333")])
    with pytest.raises(
        ParameterError,
        match=r"price_plans.yaml, line 2, entry plans\[id=p\]: no rule matches these lines of "
        r"customer 'C1': vendor 'microsoft', charge_category 'Usage' on 2026-10-01 \(1 lines\)",
    ):
        rate(
            tmp_path / "b",
            plan("{id: aws, kind: pass_through, match: {vendor: aws}}"),
            [line(**MS)],
        )
    with pytest.raises(
        ParameterError,
        match=r"price_plans.yaml, line 4, entry plans\[id=p\].rules\[id=ms\]: the rule prices by "
        r"the vendor's list price, but test.csv row 2 has none",
    ):
        rate(tmp_path / "c", plan("{id: ms, kind: list_price, discount_percent: 5}"), [line(**MS)])


def test_a_line_listed_at_0_with_a_cost_under_a_list_price_is_refused(tmp_path):
    # An Azure marketplace purchase is listed at 0 (pay-as-you-go cost) in the cost exports: a
    # list-price rule wide enough to catch it billed it 0.00, its cost lost without a word. A
    # line listed at 0 that costs nothing (free usage) prices 0.
    rule = "{id: ms, kind: list_price, discount_percent: 5}"
    free = line(**MS, ListCost="0", BilledCost="0")
    listed = line(**MS, ListCost="10", BilledCost="8")
    con, _ = rate(tmp_path / "ok", plan(rule), [listed, free])
    assert [r[2] for r in rated(con)] == [D("9.50"), 0]
    purchase = line(**MS, ListCost="0", BilledCost="1200", ServiceName="Marketplace")
    with pytest.raises(
        ParameterError,
        match=r"price_plans.yaml, line 4, entry plans\[id=p\].rules\[id=ms\]: the rule prices by "
        r"the vendor's list price, but test.csv row 4 lists 0 and costs 1200 EUR: it would be "
        r"billed 0.00",
    ):
        rate(tmp_path / "mp", plan(rule), [listed, free, purchase])


NOV_1 = datetime(2026, 11, 1)


@pytest.mark.parametrize("kind", ["fixed_price", "tiered"])
def test_a_line_with_a_cost_but_no_quantity_under_a_unit_price_is_refused(tmp_path, kind):
    # A savings plan's recurring fee has no PricingQuantity: priced per unit it was billed 0.00,
    # its 446.40 of cost lost without a word. A line of no cost and no quantity prices 0.
    prices = (
        "unit_price: '22.00'"
        if kind == "fixed_price"
        else "tiers: [{up_to: 10, unit_price: '2.00'}, {unit_price: '1.00'}]"
    )
    rule = f"{{id: units, kind: {kind}, currency: EUR, {prices}, match: {{vendor: aws}}}}"
    rows = [
        line(PricingQuantity=3, BilledCost="5", BillingCurrency="EUR", ChargePeriodEnd=NOV_1),
        line(BilledCost="0", BillingCurrency="EUR"),
    ]
    con, _ = rate(tmp_path / "ok", plan(rule, "{id: other, kind: pass_through}"), rows)
    assert [r[2] for r in rated(con)] == [D("66.00") if kind == "fixed_price" else D(6), 0]
    fee = line(BilledCost="446.40", BillingCurrency="EUR", ServiceName="Savings Plans")
    with pytest.raises(
        ParameterError,
        match=r"price_plans.yaml, line 4, entry plans\[id=p\].rules\[id=units\]: the rule prices "
        r"per unit \(PricingQuantity\), but test.csv row 4 has none and costs 446.4 EUR: it would "
        r"be billed 0.00",
    ):
        rate(tmp_path / "fee", plan(rule, "{id: other, kind: pass_through}"), [*rows, fee])


def test_a_charge_period_of_no_length_under_a_prorated_seat_price_is_refused(tmp_path):
    """A purchase whose ChargePeriodEnd is its ChargePeriodStart (an instant: the import refuses
    an end before the start, not this) was prorated by a period of no length under a seat
    price: 3 seats costing 60.00 billed 0.00, the reseller's cost and its price lost without a
    word. Refused naming the rule, file, row, the instant and the cost; not prorated
    (``prorate: false``) such a line bills a whole month, as one without an end does."""
    instant = datetime(2026, 10, 5)
    seats = {**MS, "ChargeCategory": "Purchase", "PricingQuantity": 3}
    rule = "{id: seat, kind: fixed_price, unit_price: '22.00', currency: EUR}"
    paid = line(**seats, BilledCost=60, ChargePeriodStart=instant, ChargePeriodEnd=instant)
    with pytest.raises(ParameterError) as err:
        rate(tmp_path / "prorated", plan(rule), [paid])
    assert err.value.entry == "plans[id=p].rules[id=seat]"
    assert (
        "test.csv row 2 has a charge period of no length (ChargePeriodStart and "
        "ChargePeriodEnd both 2026-10-05 00:00:00) and costs 60 EUR: prorated, it would be "
        "billed 0.00"
    ) in str(err.value), str(err.value)
    whole = rule.replace("}", ", prorate: false}")
    con, _ = rate(tmp_path / "whole", plan(whole), [paid])
    assert rated(con) == [("C1", "seat", D(66))]


@pytest.mark.parametrize("kind", ["fixed_price", "tiered", "volume"])
@pytest.mark.parametrize(
    ("category", "cost"), [("Credit", "-1.00"), ("Usage", "5.00")], ids=["credit", "charge"]
)
def test_a_line_with_a_cost_but_a_quantity_of_0_under_a_unit_price_is_refused(
    tmp_path, kind, category, cost
):
    # An AWS credit carries a usage amount of 0: priced per unit (credits: price) it was priced
    # 0 x the unit price, 0.00, the customer's credit lost without a word (a charge of quantity 0
    # with a cost: the reseller's cost lost). A line of quantity 0 that costs nothing prices 0.
    prices = (
        "unit_price: '22.00'"
        if kind == "fixed_price"
        else "tiers: [{up_to: 10, unit_price: '2.00'}, {unit_price: '1.00'}]"
    )
    rule = (
        f"{{id: units, kind: {kind}, currency: EUR, {prices}, credits: price, "
        "match: {vendor: aws}}"
    )
    rows = [
        line(PricingQuantity=3, BilledCost="5", BillingCurrency="EUR", ChargePeriodEnd=NOV_1),
        line(PricingQuantity=0, BilledCost="0", BillingCurrency="EUR", ChargeCategory=category),
    ]
    con, _ = rate(tmp_path / "ok", plan(rule, "{id: other, kind: pass_through}"), rows)
    assert [r[2] for r in rated(con)] == [D("66.00") if kind == "fixed_price" else D(6), 0]
    bad = line(PricingQuantity=0, BilledCost=cost, BillingCurrency="EUR", ChargeCategory=category)
    shown = cost.rstrip("0").rstrip(".")
    with pytest.raises(
        ParameterError,
        match=r"price_plans.yaml, line 4, entry plans\[id=p\].rules\[id=units\]: the rule prices "
        rf"per unit \(PricingQuantity\), but test.csv row 4 has a quantity of 0 and costs {shown} "
        r"EUR: it would be billed 0.00",
    ):
        rate(tmp_path / "bad", plan(rule, "{id: other, kind: pass_through}"), [*rows, bad])


def test_a_rule_that_matches_nothing_is_a_warning(tmp_path):
    _, report = rate(
        tmp_path,
        plan(
            "{id: all, kind: pass_through}",
            "{id: vmw, kind: markup, percent: 7, match: {vendor: vmware}}",
        ),
        [line(BilledCost="1")],
    )
    assert len(report.warnings) == 1
    assert (
        "price_plans.yaml, plans[id=p].rules[id=vmw]: the rule matched no line in 2026-10"
        in report.warnings[0]
    )


def test_a_catch_all_rule_that_matches_nothing_is_no_warning(tmp_path):
    # every line had a rule written for it: the catch-all was not needed, which is as it should be
    _, report = rate(
        tmp_path,
        plan(
            "{id: all, kind: pass_through}",
            "{id: aws, kind: markup, percent: 7, match: {vendor: aws}}",
        ),
        [line(BilledCost="1")],
    )
    assert report.warnings == []


def test_a_customer_missing_from_the_customers_loses_lines_and_the_control_total_says_so(tmp_path):
    params = write_parameters(tmp_path, plan("{id: all, kind: pass_through}"))
    con, pricing, customers = rated_store(
        params, [line(BilledCost="3"), line(SubAccountId="222", BilledCost="4")]
    )
    del customers["C2"]
    with pytest.raises(
        ControlTotalError,
        match=r"USD: imported 7.000000000000, rated 3.000000000000, .* difference 4",
    ):
        rate_lines(con, pricing, customers, "2026-10")


def test_rated_frame_for_notebooks(tmp_path):
    custom = (
        "custom_lines:\n  - {id: setup, customer: C1, kind: one_off, description: Setup, "
        "unit_price: '5', currency: EUR, date: 2026-10-05}\n"
    )
    con, _ = rate(
        tmp_path,
        plan("{id: all, kind: markup, percent: 10}"),
        [line(BilledCost="10", PricingQuantity=4, PricingUnit="Hrs", x_VendorLineId="abc")],
        custom,
    )
    df = rated_frame(con)
    assert {
        "customer",
        "invoice_line_group",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "amount",
        "cost",
        "currency",
        "rule_id",
        "source_line_ids",
    } <= set(df.columns)
    assert df[
        ["invoice_line_group", "quantity", "unit", "unit_price", "amount", "source_line_ids"]
    ].values.tolist() == [
        # the text the invoice line shows (billing_lib.line_labels), not "aws / Amazon EC2"
        ["Amazon EC2", D(4), "Hrs", D("2.475"), D("9.9"), "test.csv:2 (abc)"],
        ["Setup", D(1), "each", D(5), D(5), "one_off:setup"],
    ]


def _month_with_a_minimum_fee(tmp_path):
    """C1 rated at 10 % markup with a minimum fee of 30 EUR: a line of 20 (list discount 10 %), a
    credit of -5, and a line of 50 of another customer."""
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: min, kind: minimum_fee, amount: '30', currency: EUR}",
        ),
        [
            line(BilledCost="20"),
            line(ChargeCategory="Credit", BilledCost="-5"),
            line(SubAccountId="222", BilledCost="50"),
        ],
    )
    return con


def test_what_if_reprices_one_customer_and_recomputes_the_minimum(tmp_path):
    con = _month_with_a_minimum_fee(tmp_path)
    # C1 now: 20 x 0.9 x 1.1 = 19.80, credit -4.50, minimum 30 - 15.30 = 14.70
    before = frame(con, "SELECT sum(amount) AS s FROM rated_lines WHERE customer_id = 'C1'")["s"][0]
    assert before == D(30)
    what_if = reprice_customer(con, "C1", "50")
    # at 50 %: 18 x 1.5 = 27.00, credit stays -4.50, minimum 30 - 22.50 = 7.50
    assert sorted(what_if["amount"].tolist()) == [D("-4.5"), D("7.5"), D(27)]
    assert set(what_if["customer_id"]) == {"C1"}
    assert (
        frame(con, "SELECT sum(amount) AS s FROM rated_lines WHERE customer_id = 'C1'")["s"][0]
        == before
    )
    with pytest.raises(ParameterError, match="markup from -100 to 1000"):
        reprice_customer(con, "C1", "1001")


def _month_with_priced_and_passed_on_credits(tmp_path):
    """C1 at 10 % markup: usage of 20 USD (18 EUR), a credit of -5 USD the plan prices like a
    charge (``credits: price``: -4.95 EUR) and a refund of -10 USD passed on at cost (-9 EUR)."""
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: markup, percent: 10, credits: price}",
            "{id: refunds, kind: pass_through, match: {charge_type: Refund}}",
        ),
        [
            line(BilledCost="20"),
            line(ChargeCategory="Credit", BilledCost="-5"),
            line(ChargeCategory="Credit", x_VendorChargeType="Refund", BilledCost="-10"),
        ],
    )
    return con


def test_the_what_if_reprices_the_credits_the_plan_prices_and_keeps_those_passed_on(tmp_path):
    """A credit the plan prices like a charge (``credits: price``) is priced by the what-if's
    markup as the rating would price it; a credit passed on at cost stays at cost. Both on the
    run's store and read back from a run folder (the notebook's what-if)."""
    con = _month_with_priced_and_passed_on_credits(tmp_path)
    rated = frame(con, "SELECT rule_id, amount FROM rated_lines ORDER BY amount")
    assert rated.values.tolist() == [["refunds", D(-9)], ["all", D("-4.95")], ["all", D("19.8")]]
    run_folder = _run_folder(con, tmp_path)
    write_minimum_fees(con, "2026-10", run_folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", run_folder / TERMS_PARQUET)
    lines = frame(con, "SELECT * FROM rated_lines")
    on_the_run = reprice_customer(con, "C1", "50")
    in_notebook = analysis.repricer(tmp_path / "outputs")(lines, "C1", D(50))
    for what_if in (on_the_run, in_notebook):
        got = what_if.sort_values("amount")[["rule_id", "amount"]].values.tolist()
        # at 50 %: 18 x 1.5 = 27, the priced credit -4.5 x 1.5 = -6.75, the refund at cost
        assert got == [["refunds", D(-9)], ["what-if", D("-6.75")], ["what-if", D(27)]]
    assert reprice_customer(con, "C1", "50", totals=True)["amount"].tolist() == [D("11.25")]


def _run_folder(con, tmp_path):
    """A run folder of 2026-10 holding the connection's rated lines as a run stores them."""
    folder = tmp_path / "outputs" / "2026-10"
    folder.mkdir(parents=True)
    con.execute(f"COPY rated_lines TO {ql(str(folder / RATED_PARQUET))} (FORMAT parquet)")
    return folder


@pytest.mark.parametrize("markup", ["50", "10", "0", "-100", "12.345", "300"])
def test_the_notebooks_what_if_gives_the_runs_margin_minimum_fees_included(tmp_path, markup):
    """The margin notebook re-prices lines read back from a run folder; the benchmark re-prices on
    the run's store. Same lines, same markup: the same lines, amounts and margin, the minimum fee
    recomputed in both (it is topped up at low markups and gone at high ones)."""
    con = _month_with_a_minimum_fee(tmp_path)
    run_folder = _run_folder(con, tmp_path)
    write_minimum_fees(con, "2026-10", run_folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", run_folder / TERMS_PARQUET)
    lines = frame(con, "SELECT * FROM rated_lines WHERE customer_id = 'C1'")
    in_notebook = analysis.repricer(tmp_path / "outputs")(lines, "C1", D(markup))
    on_the_run = reprice_customer(con, "C1", markup)
    assert margin(in_notebook) == margin(on_the_run)
    assert in_notebook.equals(on_the_run)  # the same lines and figures, NULLs in the same places
    from_lines = frame(con, totals_sql("_whatif"))  # reprice's lines, summed
    totals = reprice_customer(con, "C1", markup, totals=True)  # summed without storing lines
    assert totals.equals(from_lines)
    assert margin(totals) == margin(on_the_run)
    assert totals[["customer_id", "period", "currency", "lines"]].values.tolist() == [
        ["C1", "2026-10", "EUR", len(on_the_run)]
    ]
    # C1: 18 at cost (20 less the 10 % list discount) re-priced, the credit -4.50 kept; the
    # minimum of 30 tops up the invoice lines as printed (the usage and the credit, each rounded
    # to the cent) below it (below a markup of 91.67 %): the invoice shows max(30, lines)
    usage = 18 * (1 + D(markup) / 100)
    printed = usage.quantize(D("0.01"), rounding=ROUND_HALF_UP) - D("4.5")
    top_up = sum(in_notebook.loc[in_notebook["line_kind"] == "minimum", "amount"], D(0))
    assert top_up == max(D(0), D(30) - printed)
    assert ("minimum" in set(in_notebook["line_kind"])) == (printed < 30)


def test_the_notebooks_what_if_names_a_run_without_its_minimum_fees(tmp_path):
    con, _ = rate(tmp_path, plan("{id: all, kind: markup, percent: 10}"), [line(BilledCost="20")])
    _run_folder(con, tmp_path)
    lines = frame(con, "SELECT * FROM rated_lines")
    with pytest.raises(
        RunError, match=r"2026-10/minimum_fees.parquet: not found; .* bill 2026-10 again"
    ):
        analysis.repricer(tmp_path / "outputs")(lines, "C1", D(10))
    write_minimum_fees(con, "2026-10", tmp_path / "outputs" / "2026-10" / MINIMUM_FEES_PARQUET)
    with pytest.raises(
        RunError, match=r"2026-10/what_if_terms.parquet: not found; .* bill 2026-10 again"
    ):
        analysis.repricer(tmp_path / "outputs")(lines, "C1", D(10))


def test_the_notebooks_what_if_reads_minimum_fees_written_before_they_held_the_grouping(tmp_path):
    """A run folder's minimum_fees.parquet written before it held the customers' line_grouping,
    before one that holds it: both read (by name), and both months' top-ups count the invoice
    lines as printed, by the line_grouping of the customers' terms (what_if_terms.parquet)."""
    eur = {"BillingCurrency": "EUR", "BilledCost": "10.005"}
    con, _ = rate(
        tmp_path,
        plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: min, kind: minimum_fee, amount: '30', currency: EUR}",
        ),
        [line(**eur, ServiceName="A"), line(**eur, ServiceName="B")],
    )
    folder = _run_folder(con, tmp_path)
    write_minimum_fees(con, "2026-10", folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", folder / TERMS_PARQUET)
    older = tmp_path / "outputs" / "2026-09"
    older.mkdir()
    write_terms(con, "2026-09", older / TERMS_PARQUET)
    con.execute(
        f"""COPY (SELECT * REPLACE ('2026-09' AS period) FROM rated_lines)
            TO {ql(str(older / RATED_PARQUET))} (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT * EXCLUDE (line_grouping)
                  REPLACE ('2026-09' AS period, DATE '2026-09-30' AS last_day)
                  FROM read_parquet({ql(str(folder / MINIMUM_FEES_PARQUET))}))
            TO {ql(str(older / MINIMUM_FEES_PARQUET))} (FORMAT parquet)"""
    )
    selection = frame(
        con,
        "SELECT DISTINCT vendor, p.period FROM rated_lines, "
        "(VALUES ('2026-09'), ('2026-10')) p(period) WHERE line_kind = 'vendor'",
    )
    repriced = analysis.repricer(tmp_path / "outputs")(selection, "C1", D(0))
    top_ups = repriced.loc[repriced["line_kind"] == "minimum"].set_index("period")
    # at cost: A and B 10.005 each, two invoice lines (vendor and service) printed
    # 10.01 + 10.01 = 20.02
    assert top_ups["amount"].to_dict() == {"2026-09": D("9.98"), "2026-10": D("9.98")}
    assert set(top_ups["description"].str.slice(-15)) == {"used EUR 20.02)"}


def test_the_notebooks_what_if_keeps_the_customers_name_for_the_summaries(tmp_path):
    con, _ = rate(tmp_path, plan("{id: all, kind: markup, percent: 10}"), [line(BilledCost="20")])
    run_folder = _run_folder(con, tmp_path)
    write_minimum_fees(con, "2026-10", run_folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", run_folder / TERMS_PARQUET)
    lines = frame(con, "SELECT * FROM rated_lines")
    lines["customer_name"] = "Alpha B.V."  # as analysis.load_summary adds it
    repriced = analysis.repricer(tmp_path / "outputs")(lines, "C1", D(20))
    assert repriced[["customer_id", "customer_name", "amount"]].values.tolist() == [
        ["C1", "Alpha B.V.", D("21.6")]  # 20 less the 10 % list discount, x 1.2
    ]


def test_amounts_too_large_for_the_rating_s_arithmetic_are_named(tmp_path):
    """The importers take amounts exactly up to 10^26; the rating multiplies 12-place amounts at
    24 places, so a seat price x 10^14 seats overflows: an InputError naming the largest line,
    not DuckDB's overflow."""
    seat = "{id: seat, kind: fixed_price, unit_price: '22.00', currency: EUR}"
    huge = line(**MS, PricingQuantity="99999999999999", BilledCost="247.20")
    with pytest.raises(InputError) as caught:
        rate(tmp_path, plan(seat), [line(**MS, PricingQuantity=3, BilledCost="1"), huge])
    message = str(caught.value)
    assert "too large for the rating" in message and "10^14" in message
    # only the values that large: the other line's are not named
    assert [(p.row, p.column, p.value) for p in caught.value.problems] == [
        (3, "PricingQuantity", "99999999999999")
    ]
