"""Offerings MSPs and CSP partners sell, each written as parameters and billed on the sample month
(samples/2026-10 with a copy of the committed parameters/): what the promise "a new offering
needs no code change" holds for, and how (docs/pricing.md, "Offerings"). Each test checks the
invoice the offering gives against arithmetic done by hand."""

import re
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml

from billing_lib.errors import ParameterError
from tests.test_sample_month_rating import (
    USD_EUR_1_15,
    USD_EUR_16_31,
    apply_recipe,
    cents,
    rate_sample,
    recipes,
    sample_invoices,
    totals,
)

BP_SKU = "CFQ7TTC0LCHC:0002"  # Microsoft 365 Business Premium
EXCHANGE_SKU = "CFQ7TTC0LH16:0001"  # Exchange Online (Plan 1)
STANDARD_SKU = "CFQ7TTC0LDPB:0001"  # Microsoft 365 Business Standard


def billed(tmp_path: Path, rules: list[dict], plan: str = "smb"):
    """(rated store, invoices by customer) of the sample month with ``rules`` in ``plan``."""
    params = apply_recipe(tmp_path, plan, rules)
    con = rate_sample(params)[0]
    return con, sample_invoices(con, params)


def amounts(invoice) -> dict[str, D]:
    """Amount by line text, without the charge period a licence line names (" (2026-10-15 to
    2027-10-14)": docs/invoices-and-ledger.md); no two lines of these invoices share a text."""
    texts = [(re.sub(r" \(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d\)$", "", ln.description), ln.amount)
             for ln in invoice.lines]  # fmt: skip
    assert len({t for t, _ in texts}) == len(texts)
    return dict(texts)


def ec2_in_eur(con, customer: str) -> D:
    """The customer's EC2 usage (USD) converted at the rate of each half of October."""
    halves = con.execute(
        """SELECT sum(BilledCost) FILTER (WHERE ChargePeriodStart < DATE '2026-10-16'),
                  sum(BilledCost) FILTER (WHERE ChargePeriodStart >= DATE '2026-10-16')
           FROM customer_lines WHERE x_CustomerId = ? AND ChargeCategory = 'Usage'
             AND ServiceName = 'Amazon Elastic Compute Cloud'""",
        [customer],
    ).fetchone()
    assert sum(halves) == D("114.2784")
    return halves[0] * USD_EUR_1_15 + halves[1] * USD_EUR_16_31


def test_a_bundle_priced_per_seat_with_its_other_products_at_0(tmp_path):
    """(a) "Modern Workplace" at 25.00 per user per month: the Business Premium seat price is
    the bundle's, and a product the bundle includes (here C007's Exchange Online) is billed 0.00
    on its own line, its cost kept for the margin. Awkward: the bundle rides on the licence line
    (named by Microsoft's product where the invoice groups by service), and each included
    product needs a rule of its own."""
    plan, rules = recipes()["bundle"]
    con, invoices = billed(tmp_path, rules, plan)
    assert amounts(invoices["C009"])["Microsoft 365 Business Premium"] == 14 * 25 == D("350.00")
    # 12 seats 12 Oct - 12 Nov, 3 more 20 Oct - 12 Nov (23 of 31 days)
    assert amounts(invoices["C001"])["Microsoft 365 Business Premium"] == cents(
        12 * 25 + D(3 * 25 * 23) / 31
    )
    c007 = amounts(invoices["C007"])
    assert c007["Exchange Online (Plan 1)"] == D("0.00")
    assert c007["Microsoft 365 Business Premium"] == 9 * 25
    assert c007["Microsoft 365 Business Premium – credit"] == -cents(D(9 * 25 * 28) / 31)
    [(cost, amount)] = con.execute(
        "SELECT sum(cost), sum(amount) FROM rated_lines WHERE rule_id = 'c007-bundle-exchange'"
    ).fetchall()
    assert (cost, amount) == (D("33.30"), 0)


def test_a_free_allowance_of_100_gb_of_s3_a_month_then_a_price_per_gb(tmp_path):
    """(b) The first 100 GB-months of S3 free each month, per customer, then 0.025 EUR a
    GB-month: a graduated tier at 0.00. ``charge_category: Usage`` makes it more specific than
    the plan's AWS refunds rule (vendor and charge_type), which it would tie with. Awkward:
    beyond the allowance the price is a list price of ours, never the cost plus a markup (an
    allowance in money is ``kind: allowance``, below)."""
    plan, rules = recipes()["s3-allowance"]
    _, invoices = billed(tmp_path, rules, plan)
    s3 = "Amazon Simple Storage Service"
    assert amounts(invoices["C006"])[s3] == cents((D("940.0000000012") - 100) * D("0.025"))
    assert amounts(invoices["C006"])[s3] == D("21.00")
    # C009 until 15 Oct, C001 (its own accounts and, from 16 Oct, the render farm's): each its own
    assert amounts(invoices["C009"])[s3] == cents((D("3580.645161291") - 100) * D("0.025"))
    assert amounts(invoices["C001"])[s3] == cents((D("5619.3548387094") - 100) * D("0.025"))


def test_an_allowance_in_money_of_azure_a_month(tmp_path):
    """(b2) Rheinwerk's bundle includes the first 50.00 EUR of Azure a month: an allowance gives
    back the Azure lines as its invoice prints them, up to 50.00, in their section (their
    product group) and no more. Its Azure (Bandwidth, IoT Hub at cost + 8 %) prints 47.46: all
    of it is given back; at an allowance of 30.00, 30.00. Nothing else on the invoice moves, and
    no other customer's invoice."""
    plan, rules = recipes()["azure-allowance"]
    before = totals(rate_sample(apply_recipe(tmp_path / "before", plan, []))[0])
    con, invoices = billed(tmp_path / "after", rules, plan)
    c006 = amounts(invoices["C006"])
    azure = dict(
        con.execute(
            """SELECT ServiceName, sum(BilledCost) FROM customer_lines
               WHERE x_CustomerId = 'C006' AND PublisherName = 'Microsoft' GROUP BY 1"""
        ).fetchall()
    )
    printed = [cents(v * D("1.08")) for v in azure.values()]
    assert sorted(printed) == [D("21.79"), D("25.67")]
    text = "Azure included (EUR 50.00 a month, used EUR 47.46)"
    assert c006[text] == -sum(printed) == D("-47.46")
    [line] = [ln for ln in invoices["C006"].lines if ln.description == text]
    assert (line.product_group, line.cost) == ("microsoft", D(0))
    after = totals(con)
    assert {c: after[c] - before[c] for c in before if after[c] != before[c]} == {
        "C006": D("-47.46")
    }
    smaller = [{**rules[0], "amount": "30.00"}]
    c006 = amounts(billed(tmp_path / "smaller", smaller, plan)[1]["C006"])
    assert c006["Azure included (EUR 30.00 a month, used EUR 47.46)"] == D("-30.00")


def test_an_introductory_discount_on_azure_for_a_customer_s_first_three_months(tmp_path):
    """(c) 20 % off Azure for C006 from October to December: a rule for the customer with
    dates, off Microsoft's list price (the Azure lines carry it); from January the plan's
    8 % on cost applies again. 20 % off *our* price (cost + 8 %) is cost - 13.6 %, and a markup
    below 0 is refused: a discount below cost is written on the list price only."""
    plan, rules = recipes()["introductory-discount"]
    con, invoices = billed(tmp_path / "list", rules, plan)
    listed = dict(
        con.execute(
            """SELECT ServiceName, sum(ListCost) FROM customer_lines
               WHERE x_CustomerId = 'C006' AND PublisherName = 'Microsoft' GROUP BY 1"""
        ).fetchall()
    )
    assert sum(listed.values()) == D("51.692961437")
    c006 = amounts(invoices["C006"])
    assert {s: c006[s] for s in listed} == {s: cents(v * D("0.8")) for s, v in listed.items()}
    below_cost = {"id": "c006-azure-intro", "kind": "markup", "percent": "-13.6"}
    below_cost["match"] = rules[0]["match"]
    with pytest.raises(ParameterError, match=r"rules\[id=c006-azure-intro\]\.percent"):
        billed(tmp_path / "markup", [below_cost])


def test_a_committed_monthly_spend_with_usage_above_it_at_10_percent(tmp_path):
    """(d) 1,000.00 EUR a month committed, usage at cost + 10 %: the customer's own minimum fee
    (it replaces the plan's 75.00) and its own markups. The invoice shows the usage and a top-up
    to 1,000.00. Awkward: the commitment is drawn down at the marked-up price, not at cost, an
    unused part is not carried over, and the top-up reads as a minimum fee."""
    plan, rules = recipes()["committed-spend"]
    con, invoices = billed(tmp_path, rules, plan)
    c006 = invoices["C006"]
    ec2 = amounts(c006)["Amazon Elastic Compute Cloud"]
    assert ec2 == cents(ec2_in_eur(con, "C006") * D("1.10"))
    (top_up,) = [ln for ln in c006.lines if ln.description.startswith("Committed monthly spend")]
    assert "(minimum EUR 1,000.00, used EUR " in top_up.description
    assert c006.net == D("1000.00") + D("475.00")  # the commitment and the onboarding hours


def test_a_customer_price_for_a_product_until_a_date_then_the_plan_s(tmp_path):
    """(f) C001's Business Premium seats at 20.00 until 15 October, then the plan's 22.00: a
    rule for the customer with ``valid_to`` (as documented: a rule for one customer wins while it
    is valid). The cycle charged 12 Oct is at 20.00, the seats added 20 Oct at 22.00."""
    deal = {
        "id": "c001-bp-deal",
        "kind": "fixed_price",
        "unit_price": "20.00",
        "currency": "EUR",
        "credits": "price",
        "match": {"customer": "C001", "sku": BP_SKU},
        "valid_to": "2026-10-15",
    }
    _, invoices = billed(tmp_path, [deal])
    line = amounts(invoices["C001"])["Microsoft 365 Business Premium"]
    assert line == cents(12 * 20 + D(3 * 22 * 23) / 31) == D("288.97")


def test_a_fee_per_licence_seat_is_a_fee_whose_quantity_is_typed(tmp_path):
    """(g) Support at 2.00 per Microsoft seat: a custom fee of 15 seats (C001's Business
    Premium seats this month). Awkward: the quantity is typed each month, not counted from the
    month's licences."""
    params = apply_recipe(tmp_path, "smb", [])
    path = params / "custom_lines.yaml"
    data = yaml.safe_load(path.read_text())
    data["custom_lines"].append(
        {
            "id": "c001-seat-support",
            "customer": "C001",
            "kind": "fee",
            "description": "Support per Microsoft seat",
            "quantity": 15,
            "unit": "seat",
            "unit_price": "2.00",
            "currency": "EUR",
            "valid_from": "2026-10-01",
            "product_group": "support",
        }
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    c001 = sample_invoices(rate_sample(params)[0], params)["C001"]
    assert amounts(c001)["Support per Microsoft seat"] == D("30.00")
    assert c001.net == D("2584.54") + D("30.00")


def test_unit_prices_of_a_price_list_are_seat_prices(tmp_path):
    """(i) Licence prices rounded to a price list: list + 3 % gives Business Standard 12.051 a
    seat (18 seats: 216.92); the price list's 12.05 is a seat price per SKU (18 x 12.05). A
    rounding setting for list-price rules does not exist: one rule per SKU."""
    rule = {
        "id": "m365-bs-seat",
        "kind": "fixed_price",
        "unit_price": "12.05",
        "currency": "EUR",
        "credits": "price",
        "match": {"vendor": "microsoft", "publisher": "Microsoft Corporation", "sku": STANDARD_SKU},
    }
    _, invoices = billed(tmp_path, [rule])
    assert amounts(invoices["C006"])["Microsoft 365 Business Standard"] == 18 * D("12.05")
    assert amounts(invoices["C003"])["Microsoft 365 Business Standard"] == 2 * D("12.05")


@pytest.mark.slow  # the sample month rated twice
def test_a_markup_by_region(tmp_path):
    """(e) AWS used in Frankfurt (eu-central-1) at 20 % on cost for the small-business plan,
    Azure in West Europe (written as the portal shows it, the lines' westeurope) at 5 %: a
    rule's ``region`` matches the line's RegionId whatever its case, Azure's in any spelling;
    lines elsewhere keep the plan's rules. docs/pricing.md's recipe "A markup by region"."""
    plan, rules = recipes()["markup-by-region"]
    assert rules[-1]["match"]["region"] == "West Europe"
    before = totals(rate_sample(apply_recipe(tmp_path / "before", plan, []))[0])
    con, invoices = billed(tmp_path / "after", rules, plan)
    c006 = amounts(invoices["C006"])
    assert c006["Amazon Elastic Compute Cloud"] == cents(ec2_in_eur(con, "C006") * D("1.20"))
    azure = dict(
        con.execute(
            """SELECT ServiceName, sum(BilledCost) FROM customer_lines
               WHERE x_CustomerId = 'C006' AND PublisherName = 'Microsoft' GROUP BY 1"""
        ).fetchall()
    )
    assert {s: c006[s] for s in azure} == {s: cents(v * D("1.05")) for s, v in azure.items()}
    used = dict(con.execute("SELECT rule_id, count(*) FROM rated_lines GROUP BY 1").fetchall())
    assert "aws-us-east" not in used and used["aws-frankfurt"] > 0
    # the AWS credit C001 got is still kept (rule aws-15), refunds passed on (aws-refunds)
    assert used["aws-refunds"] == 1 and "aws-15" not in used and "aws-12" not in used
    after = totals(con)
    changed = {c for c in before if after[c] != before[c]}
    assert changed == {"C001", "C006", "C007", "C009"}  # smb customers with AWS or Azure
