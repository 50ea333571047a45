"""Property: for any month of lines, the imported BilledCost equals rated vendor lines + excluded +
unmapped, per vendor currency, exactly - whatever the rules, credits, taxes and unmapped
accounts."""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rating_helpers import line, rated_store, write_parameters

from billing_lib.rating import rate_lines
from billing_lib.store import frame

PLANS = """
plans:
  - id: p
    rules:
      - {id: all, kind: markup, percent: 7.5, credits: keep}
      - {id: aws, kind: markup, percent: 12, basis: EffectiveCost, match: {vendor: aws}}
      - {id: ms, kind: list_price, discount_percent: 5, credits: price, match: {vendor: microsoft}}
      - {id: seat, kind: fixed_price, unit_price: "9.99", currency: EUR, credits: price,
         match: {vendor: microsoft, sku: SEAT}}
      - {id: tier, kind: tiered, currency: EUR, match: {vendor: aws, service: S3},
         tiers: [{up_to: 10, unit_price: "0.3"}, {unit_price: "0.1"}]}
      - {id: vol, kind: volume, currency: EUR, match: {vendor: aws, service: EBS},
         tiers: [{up_to: 10, unit_price: "0.3"}, {unit_price: "0.1"}]}
      - {id: pass, kind: pass_through, match: {vendor: vmware}}
      - {id: lab, kind: exclude, reason: lab, match: {customer: C2}}
      - {id: min, kind: minimum_fee, amount: "40", currency: EUR}
  - id: q
    rules:
      - {id: all, kind: markup, percent: 3}
assignments:
  - {plan: p, group: smb}
  - {plan: q, customer: C3}
"""

money = st.decimals(
    min_value=Decimal(-1000),
    max_value=Decimal(100000),
    places=12,
    allow_nan=False,
    allow_infinity=False,
).map(lambda d: d.normalize() if d else Decimal(0))
some_quantity = st.decimals(min_value=0, max_value=500, places=4)
quantity = st.one_of(st.none(), some_quantity)
positive_quantity = st.decimals(min_value=Decimal("0.0001"), max_value=500, places=4)
accounts = {
    "aws": ["111", "222", "333", "999"],
    "microsoft": ["tenant-1", "tenant-2", "tenant-3", "tenant-x"],
    "vmware": ["v-1"],
}


@st.composite
def vendor_line(draw):
    vendor = draw(st.sampled_from(sorted(accounts)))
    start = datetime(2026, 10, 1) + timedelta(hours=draw(st.integers(0, 30 * 24)))
    service = draw(st.sampled_from(["S3", "EBS", "EC2", None]))
    sku = draw(st.sampled_from(["SEAT", "X", None]))
    # a line priced per unit (seat, tier, volume rules) without a quantity, or with one of 0,
    # but with a cost is refused (test_rating.py): those lines have one above 0
    per_unit = (vendor, service) in (("aws", "S3"), ("aws", "EBS"))
    per_unit = per_unit or (vendor, sku) == ("microsoft", "SEAT")
    return line(
        x_Vendor=vendor,
        SubAccountId=draw(st.sampled_from(accounts[vendor])),
        ProviderName={"aws": "AWS", "microsoft": "Microsoft", "vmware": "VMware"}[vendor],
        ServiceName=service,
        SkuId=sku,
        ChargeCategory=draw(
            st.sampled_from(["Usage", "Usage", "Purchase", "Tax", "Credit", "Adjustment"])
        ),
        x_VendorChargeType=draw(st.sampled_from(["Usage", "Refund", None])),
        BillingCurrency=draw(st.sampled_from(["USD", "EUR"])),
        BilledCost=draw(money),
        # the aws rule prices EffectiveCost: a line without one is refused (test_rating.py)
        EffectiveCost=draw(money if vendor == "aws" else st.one_of(st.none(), money)),
        # a list-price line listed at 0 with a cost is refused (test_rating.py): never 0 here
        ListCost=draw(money.filter(bool)),
        PricingQuantity=draw(positive_quantity if per_unit else quantity),
        ChargePeriodStart=start,
        ChargePeriodEnd=start + timedelta(hours=draw(st.integers(1, 24 * 40))),
    )


@pytest.mark.slow  # 40 generated months rated: about 15 s
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(vendor_line(), min_size=0, max_size=40))
def test_cost_is_conserved_per_currency_exactly(tmp_path_factory, rows):
    params = write_parameters(tmp_path_factory.mktemp("p"), PLANS)
    con, pricing, customers = rated_store(params, rows)
    report = rate_lines(con, pricing, customers, "2026-10")

    imported: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        imported[r["BillingCurrency"]] += r["BilledCost"]
    parts: dict[str, Decimal] = defaultdict(Decimal)
    by_table: dict[str, dict[str, Decimal]] = {}
    for table, cur, cost, where in (
        ("rated_lines", "vendor_currency", "billed_cost", "line_kind = 'vendor'"),
        ("excluded_lines", "BillingCurrency", "BilledCost", "true"),
        ("unmapped_lines", "BillingCurrency", "BilledCost", "true"),
    ):
        by_table[table] = dict(
            con.execute(
                f"SELECT {cur}, sum({cost}) FROM {table} WHERE {where} GROUP BY 1"
            ).fetchall()
        )
        for c, v in by_table[table].items():
            parts[c] += v
    assert {c: v for c, v in imported.items()} == {c: parts.get(c, Decimal(0)) for c in imported}
    assert set(parts) <= set(imported)
    # the report's conservation check states these figures, imported as the rows hold it (not
    # `report.balanced`: rate_lines raises rather than return an unbalanced report)
    zero = Decimal(0)
    assert {
        b.currency: (b.imported, b.rated, b.excluded, b.unmapped) for b in report.conservation
    } == {
        c: (
            imported[c],
            by_table["rated_lines"].get(c, zero),
            by_table["excluded_lines"].get(c, zero),
            by_table["unmapped_lines"].get(c, zero),
        )
        for c in imported
    }
    # every line in exactly one of the three tables
    n = report.counts
    assert (
        n["customer_lines"] == len(rows) == n.get("rated_vendor", 0) + n["excluded"] + n["unmapped"]
    )
    # vendor taxes never become revenue; unmapped accounts are never rated
    assert (
        frame(con, "SELECT count(*) AS n FROM rated_lines WHERE charge_category = 'Tax'")["n"][0]
        == 0
    )
    taxes = sum(
        1
        for r in rows
        if r["ChargeCategory"] == "Tax" and r["SubAccountId"] not in ("999", "tenant-x", "v-1")
    )
    assert (
        con.execute("SELECT count(*) FROM excluded_lines WHERE reason = 'vendor tax'").fetchall()[
            0
        ][0]
        == taxes
    )
