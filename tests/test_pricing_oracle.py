"""The rating and the invoices against an independent oracle of docs/pricing.md and
docs/rounding.md (tests/pricing_oracle.py): small generated months, each line's rule and amount,
the excluded lines, the minimum fee's top-up and every printed invoice line."""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from pricing_oracle import Rule, months_of, plan_yaml, price_month
from rating_helpers import line, rated_store, write_parameters

from billing_lib.invoices import draft_invoices
from billing_lib.invoicing_parameters import load_invoicing
from billing_lib.rating import rate_lines

REPO = Path(__file__).resolve().parents[1]

#: Two EUR customers of the smb group, with what their e-invoices need.
CUSTOMERS = """
customers:
  - id: C1
    name: Alpha B.V.
    address: [Kade 1, 1011 AA Amsterdam]
    postal_code: 1011 AA
    city: Amsterdam
    email: billing@alpha.example
    country: NL
    vat_number: NL000000008B01
    invoice_currency: EUR
    group: smb
  - id: C2
    name: Beta GmbH
    address: [Strasse 2, 10115 Berlin]
    postal_code: "10115"
    city: Berlin
    email: billing@beta.example
    country: DE
    vat_number: DE123456788
    invoice_currency: EUR
    group: smb
  - id: C3
    name: Gamma Inc.
    address: [1 Main St, "Boston, MA 02210"]
    postal_code: "02210"
    city: Boston
    state: MA
    email: billing@gamma.example
    country: US
    invoice_currency: USD
    group: enterprise
"""
ACCOUNTS = {
    **{"111": "C1", "222": "C2", "333": "C3"},
    **{"tenant-1": "C1", "tenant-2": "C2", "tenant-3": "C3", "v-1": "C2"},
}
CURRENCIES = {"C1": "EUR", "C2": "EUR", "C3": "USD"}
ACCOUNTS_CSV = "vendor,account_id,customer_id,valid_from,valid_to,note\n" + "".join(
    f"{'aws' if a[0].isdigit() else 'microsoft' if a[0] == 't' else 'vmware'},{a},{c},,,\n"
    for a, c in ACCOUNTS.items()
)
#: Rates of six places, so that conversions are rounded at the rating's 12.
RATES = {
    ("USD", "EUR"): [
        (date(2026, 10, 1), date(2026, 10, 15), D("0.921537")),
        (date(2026, 10, 16), date(2026, 10, 31), D("0.918712")),
    ],
    ("EUR", "USD"): [(date(2026, 10, 1), date(2026, 10, 31), D("1.085349"))],
}
RATES_CSV = "from_currency,to_currency,rate,valid_from,valid_to,source\n" + "".join(
    f"{a},{b},{rate},{lo},{hi},oracle\n" for (a, b), rows in RATES.items() for lo, hi, rate in rows
)
OCT10, OCT16 = date(2026, 10, 10), date(2026, 10, 16)
TIERS = ((D("10.5"), D("0.3")), (D(100), D("0.2")), (None, D("0.111111111111")))
DEAL = ((D(50), D("0.25")), (None, D("0.05")))

#: No two rules a line could match tie (docs/pricing.md, "The rule").
AWS, MS = {"vendor": "aws"}, {"vendor": "microsoft"}
RULES = [
    Rule("all", "markup", percent=D("7.123457")),
    Rule("aws", "markup", AWS, percent=D(12), credits="keep", valid_to=OCT16 - timedelta(1)),
    Rule("aws-late", "markup", AWS, discount_percent=D(3), credits="keep", valid_from=OCT16),
    Rule("c1-ec2", "markup", {"customer": "C1", **AWS, "service": "EC2"}, percent=D(0)),
    Rule(
        "c2-ec2",
        "markup",
        {"customer": "C2", **AWS, "service": "EC2"},
        discount_percent=D(100),
        credits="price",
    ),
    Rule("s3", "tiered", {**AWS, "service": "S3"}, tiers=TIERS, credits="price"),
    Rule(
        "c1-s3",
        "tiered",
        {"customer": "C1", **AWS, "service": "S3"},
        tiers=DEAL,
        credits="price",
        valid_from=date(2026, 10, 20),
    ),
    Rule("c2-ms", "markup", {"customer": "C2", **MS}, discount_percent=D(20), valid_to=OCT10),
    Rule("ebs", "volume", {**AWS, "service": "EBS"}, tiers=TIERS, credits="price"),
    Rule("ms", "pass_through", MS),
    Rule(
        "seat",
        "fixed_price",
        {**MS, "sku": "SEAT"},
        unit_price=D("9.999999999999"),
        credits="price",
    ),
    Rule("lab", "exclude", {"vendor": "vmware", "service": "LAB"}),
    Rule("min", "minimum_fee", amount=D("40.00")),
    # C3, invoiced in USD, on the plan with its own USD prices in place of its EUR ones
    Rule("c3-seat", "fixed_price", {"customer": "C3", **MS}, unit_price=D("11.5"), currency="USD"),
    Rule(
        "c3-aws", "tiered", {"customer": "C3", **AWS}, tiers=DEAL, credits="price", currency="USD"
    ),
    Rule("c3-min", "minimum_fee", {"customer": "C3"}, amount=D("45.00"), currency="USD"),
]

SERVICES = {
    "aws": ["EC2", "S3", "EBS", "RDS"],
    "microsoft": ["Azure", "M365"],
    "vmware": ["LAB", "VCF"],
}
VENDOR_ACCOUNTS = {
    "aws": ["111", "222", "333", "999"],
    "microsoft": ["tenant-1", "tenant-2", "tenant-3"],
    "vmware": ["v-1"],
}


def generated_month(seed: int, size: int) -> list[dict[str, Any]]:
    """``size`` lines of October 2026, the same for one seed."""
    rnd = random.Random(seed)
    rows = []
    for _ in range(size):
        vendor = rnd.choice(sorted(SERVICES))
        service = rnd.choice(SERVICES[vendor])
        sku = "SEAT" if vendor == "microsoft" and service == "M365" else "X"
        category = rnd.choice(
            ["Usage", "Usage", "Usage", "Purchase", "Credit", "Adjustment", "Tax"]
        )
        cost = D(rnd.randint(-5000, 200000)) / D(10) ** rnd.randint(0, 6)
        if rnd.random() < 0.3:  # 12 places: every product rounded at the rating's scale
            cost = D(rnd.randint(-(10**15), 2 * 10**15)) / D(10) ** 12
        if category == "Credit" and rnd.random() < 0.8:
            cost = -abs(cost)
        start = datetime(2026, 10, 1) + timedelta(hours=rnd.choice([0, 1]) * rnd.randint(0, 23))
        start += timedelta(days=rnd.randint(0, 30))
        quantity = D(rnd.randint(1, 400000)) / D(10) ** rnd.randint(0, 6)
        if rnd.random() < 0.1:
            quantity = -quantity
        rows.append(
            line(
                x_Vendor=vendor,
                SubAccountId=rnd.choice(VENDOR_ACCOUNTS[vendor]),
                ProviderName=vendor,
                PublisherName=vendor,
                ServiceName=service,
                SkuId=sku,
                ChargeCategory=category,
                x_VendorChargeType=category,
                BillingCurrency=rnd.choice(["USD", "EUR"]),
                BilledCost=cost,
                PricingQuantity=quantity,
                ChargePeriodStart=start,
                ChargePeriodEnd=None
                if rnd.random() < 0.1
                else start + timedelta(hours=rnd.randint(1, 24 * 45)),
            )
        )
    return rows


def parameters(tmp_path: Path, rules: list[Rule]) -> Path:
    """The repository's parameters (seller, VAT, products) with the two customers, their
    accounts and ``rules`` as plan p of group smb; no custom lines."""
    folder = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", folder)
    (folder / "custom_lines.yaml").unlink()
    plans = plan_yaml(rules, ("C3",) if _with_usd(rules) else ())
    return write_parameters(
        folder, plans, customers=CUSTOMERS, accounts=ACCOUNTS_CSV, rates=RATES_CSV
    )


def _with_usd(rules: list[Rule]) -> bool:
    """Whether C3 (USD) is on the plan: it has prices of its own in USD there."""
    return any(r.currency == "USD" for r in rules)


def rated_and_invoiced(tmp_path: Path, rules: list[Rule], rows: list[dict[str, Any]]):
    """(store, invoices) of ``rows`` rated for 2026-10 by ``rules``."""
    params = parameters(tmp_path, rules)
    con, pricing, customers = rated_store(params, rows)
    rate_lines(con, pricing, customers, "2026-10")
    invoicing = load_invoicing(params, customers)
    return con, draft_invoices(con, customers, invoicing, "2026-10", date(2026, 11, 1))


def assert_as_the_oracle(tmp_path: Path, rules: list[Rule], rows: list[dict[str, Any]]) -> None:
    on_plan = {c: v for c, v in CURRENCIES.items() if v == "EUR" or _with_usd(rules)}
    expected = price_month(rules, rows, ACCOUNTS, on_plan, RATES)
    con, invoices = rated_and_invoiced(tmp_path, rules, rows)
    got = {
        row: (rule, amount)
        for row, rule, amount in con.execute(
            "SELECT source_row, rule_id, amount FROM rated_lines WHERE line_kind = 'vendor'"
        ).fetchall()
    }
    excluded = {r for (r,) in con.execute("SELECT x_SourceRow FROM excluded_lines").fetchall()}
    assert got == {r: v for r, v in expected.priced.items() if v[1] is not None}
    assert excluded == {r for r, v in expected.priced.items() if v[1] is None}
    top_ups = dict(
        con.execute(
            "SELECT customer_id, amount FROM rated_lines WHERE line_kind = 'minimum'"
        ).fetchall()
    )
    assert top_ups == expected.top_ups
    printed = {i.customer_id: sorted(ln.amount for ln in i.lines) for i in invoices}
    want = {
        c: sorted([*lines.values(), *([expected.top_ups[c]] if c in expected.top_ups else [])])
        for c, lines in expected.printed.items()
    }
    for c, top_up in expected.top_ups.items():
        want.setdefault(c, [top_up])
    assert printed == want


@pytest.mark.parametrize("seed", range(3))
def test_a_generated_month_is_priced_and_printed_as_the_documents_say(tmp_path, seed):
    assert_as_the_oracle(tmp_path, RULES, generated_month(seed, 60))


@pytest.mark.slow  # 40 larger months: about a minute
@pytest.mark.parametrize("seed", range(100, 140))
def test_larger_generated_months_are_priced_and_printed_as_the_documents_say(tmp_path, seed):
    assert_as_the_oracle(tmp_path, RULES, generated_month(seed, 150))


def at(day: int, hour: int = 0, **values: Any) -> dict[str, Any]:
    start = datetime(2026, 10, day, hour)
    return line(ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(hours=1), **values)


def test_the_edges_an_analyst_hits_are_priced_as_the_documents_say(tmp_path):
    """A rule ending on the month's last day prices that day's last hour; a markup of 0 % and a
    discount of 100 %; a tier crossed by lines of one day and by a tier bound with decimals; a
    negative usage line and a credit of units in a tier (the first tier's price below 0); a
    seat period from the 31st across February and a monthly cycle from the 31st (one month);
    lines below the minimum fee."""
    rules = [
        Rule("all", "markup", percent=D(0)),
        Rule("free", "markup", {**AWS, "service": "Free"}, discount_percent=D(100)),
        Rule("oct", "markup", AWS, percent=D(50), valid_to=date(2026, 10, 31)),
        Rule("s3", "tiered", {**AWS, "service": "S3"}, tiers=TIERS, credits="price"),
        Rule("ebs", "volume", {**AWS, "service": "EBS"}, tiers=TIERS, credits="price"),
        Rule("seat", "fixed_price", {**MS, "sku": "SEAT"}, unit_price=D("22.00")),
        Rule("min", "minimum_fee", amount=D("40.00")),
    ]
    eur = {"BillingCurrency": "EUR"}
    ms = {"x_Vendor": "microsoft", "SubAccountId": "tenant-1", **eur, "SkuId": "SEAT"}
    rows = [
        at(31, 23, BilledCost="10.005"),
        at(3, ServiceName="Free", BilledCost="99", **eur),
        at(5, 1, ServiceName="S3", PricingQuantity="10.4", BilledCost="1"),
        at(5, 1, ServiceName="S3", PricingQuantity="0.2", BilledCost="1"),
        at(5, 2, ServiceName="S3", PricingQuantity="-20", BilledCost="-2"),
        at(6, ServiceName="S3", PricingQuantity="3", BilledCost="-1", ChargeCategory="Credit"),
        at(7, ServiceName="EBS", SubAccountId="222", PricingQuantity="10.5", BilledCost="1"),
        at(8, ServiceName="EBS", SubAccountId="222", PricingQuantity="0.001", BilledCost="1"),
        line(
            **ms,
            PricingQuantity=3,
            BilledCost="60",
            ChargePeriodStart=datetime(2026, 10, 31),
            ChargePeriodEnd=datetime(2027, 3, 30),
        ),
        # Partner Center's monthly cycle from the 31st: 31 October - 30 November, one month
        line(
            **ms,
            PricingQuantity=2,
            BilledCost="40",
            ChargePeriodStart=datetime(2026, 10, 31),
            ChargePeriodEnd=datetime(2026, 12, 1),
        ),
    ]
    assert_as_the_oracle(tmp_path, rules, rows)
    assert months_of(datetime(2026, 10, 31), datetime(2026, 12, 1))[:2] == (1, 0)
    assert months_of(datetime(2028, 2, 29), datetime(2029, 3, 1))[:2] == (12, 0)
