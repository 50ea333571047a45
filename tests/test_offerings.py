"""Offerings MSPs and CSP partners sell, each written as parameters and billed on the sample month
(samples/2026-10 with a copy of the committed parameters/): what the promise "a new offering
needs no code change" holds for, and how (docs/pricing.md, "Offerings"). Each test checks the
invoice the offering gives against arithmetic done by hand."""

import re
import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest

from billing_lib import analysis
from billing_lib.corrections import issue_credit_note
from billing_lib.errors import ParameterError
from billing_lib.rating import rate_lines
from billing_lib.reissue import reissue_invoice
from billing_lib.ubl import CAC, CBC
from tests.invoice_readback import pdf_words, sheet_row, ubl_line, what_if_net
from tests.notebook_project import PERIOD
from tests.rating_helpers import line, rated_store
from tests.test_sample_month_rating import (
    REPORTS,
    USD_EUR_1_15,
    USD_EUR_16_31,
    apply_recipe,
    billed_with_recipe,
    cents,
    invoice_of,
    rate_sample,
    recipes,
    sample_invoices,
    totals,
)

BP_SKU = "CFQ7TTC0LCHC:0002"  # Microsoft 365 Business Premium
EXCHANGE_SKU = "CFQ7TTC0LH16:0001"  # Exchange Online (Plan 1)
BS_TEXT = "Microsoft 365 Business Standard"
#: The sample month's EC2 usage in USD of the customers the offerings price.
EC2_USD = {"C006": D("114.2784"), "C001": D("768.636")}


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
    assert sum(halves) == EC2_USD[customer]
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
    8 % on cost applies again. 20 % off *our* price (cost + 8 %) is cost - 13.6 %: a markup
    below 0 is refused (a minus typed by mistake), its message naming ``discount_percent``."""
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


def test_a_discount_off_the_aws_bill_prices_below_cost(tmp_path):
    """(j) "3 % off your AWS bill": a markup with ``discount_percent`` prices C001's AWS at cost
    x 0.97, below what the reseller pays (its partner discount pays for it). On the cost, not
    on the list price: covered by a savings plan, the list price is the on-demand price, and
    list - 3 % was billed above the cost the customer was promised a discount on."""
    plan, rules = recipes()["aws-discount"]
    con, invoices = billed(tmp_path, rules, plan)
    c001 = amounts(invoices["C001"])
    assert c001["Amazon Elastic Compute Cloud"] == cents(ec2_in_eur(con, "C001") * D("0.97"))
    [(cost, amount)] = con.execute(
        """SELECT sum(cost), sum(amount) FROM rated_lines
           WHERE rule_id = 'c001-aws-discount' AND charge_category = 'Usage'"""
    ).fetchall()
    assert cents(amount) == cents(cost * D("0.97")) and amount < cost  # each line at 12 places
    # the AWS credit C001 got is still kept, as the plan's AWS rules keep credits
    kept = con.execute(
        "SELECT count(*) FROM excluded_lines WHERE x_CustomerId = 'C001' AND reason LIKE '%kept%'"
    ).fetchone()
    assert kept == (1,)


def test_a_discount_off_the_aws_bill_keeps_the_partner_discount_that_pays_for_it(tmp_path):
    """The recipe says the reseller's partner discount (AWS's SppDiscount lines) pays for the
    3 %, but a discount line is Usage: the customer's own rule priced it, so C001 got USD 5.00 of
    SPP discount x 0.97 on top of its 3 % (the discount twice), and an exclusion by the plan
    (docs/pricing.md, item 4) loses to a rule for one customer. The recipe keeps it by a rule of
    the customer's: the line is excluded, named, and the usage billed at cost x 0.97."""
    plan, rules = recipes()["aws-discount"]
    params = apply_recipe(tmp_path, plan, rules)
    usage = {"SubAccountId": "402719385610", "x_VendorChargeType": "Usage"}
    con, pricing, customers = rated_store(
        params,
        [
            line(**usage, BilledCost="100.00", PricingQuantity="24"),
            line(**usage | {"x_VendorChargeType": "SppDiscount"}, BilledCost="-5.00"),
        ],
    )
    rate_lines(con, pricing, customers, PERIOD)
    billed_lines = con.execute(
        "SELECT x_SourceRow, rule_id, vendor_cost FROM rated_lines l JOIN lines s "
        "ON s.x_SourceRow = l.source_row WHERE l.line_kind = 'vendor' ORDER BY 1"
    ).fetchall()
    assert billed_lines == [(2, "c001-aws-discount", D("100"))]
    [(row, cost, reason)] = con.execute(
        "SELECT x_SourceRow, BilledCost, reason FROM excluded_lines"
    ).fetchall()
    assert (row, cost) == (3, D("-5"))
    assert "partner discount" in reason


def test_a_markup_has_either_a_percent_or_a_discount_percent(tmp_path):
    """A markup states its percent above cost or its discount below it, never both or neither;
    a discount of more than 100 % would bill money out and is refused naming the field."""
    match = {"customer": "C001", "vendor": "aws"}
    refused = (
        ({"percent": 5, "discount_percent": 3}, r"rules\[id=x\]"),
        ({}, r"rules\[id=x\]"),
        ({"discount_percent": 101}, r"rules\[id=x\]\.discount_percent"),
        ({"discount_percent": -3}, r"rules\[id=x\]\.discount_percent"),
    )
    for n, (fields, where) in enumerate(refused):
        rule = {"id": "x", "kind": "markup", "match": match, **fields}
        with pytest.raises(ParameterError, match=where):
            billed(tmp_path / str(n), [rule])
    negative = {"id": "x", "kind": "markup", "percent": -3, "match": match}
    with pytest.raises(ParameterError, match="for a price below cost write discount_percent"):
        billed(tmp_path / "negative", [negative])


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


#: The sample's Microsoft 365 licence lines (publisher Microsoft Corporation) of the
#: small-business customers: (seats, charge period's first day, last day exclusive), a credit's
#: seats negative as the Partner Center file gives them.
LICENCES = {
    "C001": [(12, "2026-10-12", "2026-11-12"), (3, "2026-10-20", "2026-11-12")],
    "C003": [(2, "2026-10-07", "2026-11-07"), (6, "2026-10-18", "2026-11-18")],
    "C006": [(18, "2026-10-05", "2026-11-05"), (10, "2026-10-22", "2026-11-22")],
    "C007": [(9, "2026-10-02", "2026-11-02"), (-9, "2026-10-05", "2026-11-02"),
             (9, "2026-10-26", "2026-11-26")],
    "C009": [(14, "2026-10-09", "2026-11-09")],
}  # fmt: skip


def test_support_per_licence_seat_follows_the_licences(tmp_path):
    """(g) Support at 2.00 per Microsoft 365 seat and month for every small-business customer:
    a seat fee counts the month's seat-months of the licence lines, so nobody types the seats
    and a seat added or removed mid-month counts. C001's 12 seats for a month and 3 added on
    20 Oct (23 of 31 days): 14.225806451613 seat-months, 28.45; C007's 9 seats cancelled on 5
    Oct give back 9 x 28/31 beside its 9 Exchange seats. Each line under "Support", cost 0, its
    text and figures checkable (14.226 x 2.00 = 28.45); no other line of any invoice moves. The
    enterprise plan's customers (C005's annual term among them) have no seat fee."""
    plan, rules = recipes()["seat-support"]
    before = totals(rate_sample(apply_recipe(tmp_path / "before", plan, []))[0])
    con, invoices = billed(tmp_path / "after", rules, plan)
    got = con.execute(
        """SELECT x_CustomerId, CAST(PricingQuantity AS INTEGER),
                  strftime(ChargePeriodStart, '%Y-%m-%d'), strftime(ChargePeriodEnd, '%Y-%m-%d')
           FROM customer_lines WHERE PublisherName = 'Microsoft Corporation'
             AND x_CustomerId IN ('C001', 'C003', 'C006', 'C007', 'C009')
           ORDER BY 1, 3, 2 DESC"""
    ).fetchall()
    assert got == [(c, *ln) for c, lines in LICENCES.items() for ln in lines]
    # whole months count 1; the days of a part over the days of October, at 12 places half-up
    months = {
        "C001": 12 + D("2.225806451613"),  # 3 x 23/31
        "C003": D(8),
        "C006": D(28),
        "C007": 9 - D("8.129032258065") + 9,  # 9 x 28/31 given back
        "C009": D(14),
    }
    fees = con.execute(
        "SELECT customer_id, quantity, unit, unit_price, amount, description, product_group, "
        "cost FROM rated_lines WHERE line_kind = 'seat_fee' ORDER BY 1"
    ).fetchall()
    texts = {"C001": "14.226", "C003": "8", "C006": "28", "C007": "9.87", "C009": "14"}
    assert fees == [
        (c, m, "seat", 2, cents(2 * m), f"Support per seat ({texts[c]} seats, EUR 2.00 a seat)",
         "support", 0)
        for c, m in months.items()
    ]  # fmt: skip
    assert [f[4] for f in fees] == [D("28.45"), D(16), D(56), D("19.74"), D(28)]
    after = totals(con)
    assert {c: after[c] - before[c] for c in before if after[c] != before[c]} == {
        c: cents(2 * m) for c, m in months.items()
    }
    [line] = [ln for ln in invoices["C001"].lines if ln.product_group == "support"]
    assert (line.heading, line.amount, line.cost) == ("Support", D("28.45"), D(0))
    assert (line.display_quantity, line.unit, line.display_unit_price) == (
        D("14.226"),
        "seat",
        D("2.00"),
    )


@pytest.fixture(scope="module")
def price_list(tmp_path_factory) -> tuple[Path, Path]:
    """(outputs, parameters): the sample month billed and finalised with the recipe."""
    return billed_with_recipe(tmp_path_factory.mktemp("price-list"), "price-list")


def _shown(invoice, text: str) -> tuple[D, D | None, D | None]:
    """(amount, shown quantity, shown unit price) of the invoice line ``text`` (``amounts``)."""
    [ln] = [ln for ln in invoice.lines if ln.description.startswith(text)]
    return ln.amount, ln.display_quantity, ln.display_unit_price


def test_unit_prices_of_a_price_list_are_the_rule_s_rounded_to_the_cent(price_list):
    """(i) Licence prices rounded to a price list: list + 3 % gives Business Standard 12.051 a
    seat, 18 seats 216.918 (printed 216.92); with ``unit_price_places: 2`` on the list-price
    rule every licence it prices is billed at quantity x its unit price rounded half-up, "18 x
    12.05" 216.90 on the invoice, the workbook, the PDF and the UBL; Teams Premium 9.682 -> 9.68,
    Business Basic 5.768 -> 5.77 (rounded up: 34.62, where 34.608 printed 34.61). The business
    premium seats keep the plan's seat price, and the what-if as billed states the net."""
    outputs, _ = price_list
    folder = outputs / PERIOD
    c006, c003 = invoice_of(folder, "C006"), invoice_of(folder, "C003")
    assert _shown(c006, "Microsoft 365 Business Standard") == (D("216.90"), 18, D("12.05"))
    assert _shown(c006, "Microsoft Teams Premium") == (D("96.80"), 10, D("9.68"))
    assert _shown(c003, "Microsoft 365 Business Standard") == (D("24.10"), 2, D("12.05"))
    assert _shown(c003, "Microsoft 365 Business Basic") == (D("34.62"), 6, D("5.77"))
    assert _shown(invoice_of(folder, "C001"), "Microsoft 365 Business Premium")[0] == cents(
        12 * 22 + D(3 * 22 * 23) / 31
    )
    stem = folder / "invoices" / f"{c006.number}_C006"
    row = sheet_row(stem, lambda v: str(v).startswith(BS_TEXT))
    assert 12.05 in row and 216.9 in row and 18 in row
    pdf = pdf_words(stem)
    assert "12.05" in pdf and "216.90" in pdf
    el = ubl_line(stem, lambda name: name.startswith(BS_TEXT))
    assert el.findtext(f"{{{CBC}}}InvoicedQuantity") == "18"
    assert el.findtext(f"{{{CAC}}}Price/{{{CBC}}}PriceAmount") == "12.05"
    assert el.findtext(f"{{{CBC}}}LineExtensionAmount") == "216.90"
    what_if = analysis.repricer(outputs)(analysis.load_summary(outputs, [PERIOD]), "C006", None)
    assert what_if_net(what_if) == c006.net


def test_a_month_billed_at_unrounded_prices_is_credited_and_reissued_at_the_price_list(
    finalised_sample_outputs, tmp_path
):
    """The sample month billed at list + 3 % unrounded, C006 credited and invoiced anew with the
    recipe's parameters (``billing reissue``): the credit note gives back the 216.92 and 96.82
    billed, the reissued invoice bills 18 x 12.05 and 10 x 9.68, and nothing else moves."""
    outputs = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    original = invoice_of(outputs / PERIOD, "C006")
    note = issue_credit_note(outputs, original.number, reason="price list").note
    assert _shown(note, "Microsoft 365 Business Standard")[0] == D("-216.92")
    plan, rules = recipes()["price-list"]
    params = apply_recipe(tmp_path, plan, rules)
    done = reissue_invoice(outputs, original.number, params, REPORTS, reason="price list")
    was, now = amounts(original), amounts(done.invoice)
    changed = {text: amount for text, amount in now.items() if was[text] != amount}
    assert changed == {
        "Microsoft 365 Business Standard": D("216.90"),
        "Microsoft Teams Premium": D("96.80"),
    }
    assert _shown(done.invoice, "Microsoft 365 Business Standard")[1:] == (18, D("12.05"))
    assert done.invoice.net == original.net - D("0.02") - D("0.02")


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


def ec2_by_tag(con, customer: str) -> D:
    """The customer's EC2 usage priced by hand: each line's cost (USD) at the rate of its half of
    October, times 1.20 where it is tagged ``user_project: renderfarm``, else the smb plan's AWS
    markup of its half (15 %, then 12 % from the 16th)."""
    rows = con.execute(
        """SELECT ChargePeriodStart >= DATE '2026-10-16',
                  json_extract_string(Tags, '$.user_project') = 'renderfarm', sum(BilledCost)
           FROM customer_lines WHERE x_CustomerId = ? AND ChargeCategory = 'Usage'
             AND ServiceName = 'Amazon Elastic Compute Cloud' GROUP BY ALL""",
        [customer],
    ).fetchall()
    rate = {False: USD_EUR_1_15, True: USD_EUR_16_31}
    plan = {False: D("1.15"), True: D("1.12")}
    return sum(
        (cost * rate[late] * (D("1.20") if farm else plan[late]) for late, farm, cost in rows),
        D(0),
    )


@pytest.mark.slow  # the sample month rated twice
def test_a_markup_by_tag(tmp_path):
    """(f) The render farm on AWS (EC2 tagged user_project renderfarm) at 20 % on cost, Rheinwerk's
    Azure tagged project sensors (its key and value written in other cases) at 5 %: a rule's
    ``tag`` matches the lines with that tag whatever its case; the others keep the plan's rules.
    docs/pricing.md's recipe "A markup by tag"."""
    plan, rules = recipes()["markup-by-tag"]
    before = totals(rate_sample(apply_recipe(tmp_path / "before", plan, []))[0])
    con, invoices = billed(tmp_path / "after", rules, plan)
    ec2 = "Amazon Elastic Compute Cloud"
    c001, c009, c006 = (amounts(invoices[c]) for c in ("C001", "C009", "C006"))
    assert c001[ec2] == cents(ec2_by_tag(con, "C001")) == D("837.35")
    assert c009[ec2] == cents(ec2_by_tag(con, "C009")) == D("568.26")
    assert c006[ec2] == cents(ec2_by_tag(con, "C006"))  # tagged sensor-gateway: the plan's
    azure = dict(
        con.execute(
            """SELECT ServiceName, sum(BilledCost) FROM customer_lines
               WHERE x_CustomerId = 'C006' AND PublisherName = 'Microsoft' GROUP BY 1"""
        ).fetchall()
    )
    assert {s: c006[s] for s in azure} == {s: cents(v * D("1.05")) for s, v in azure.items()}
    assert (c006["Bandwidth"], c006["IoT Hub"]) == (D("24.96"), D("21.18"))
    used = dict(con.execute("SELECT rule_id, count(*) FROM rated_lines GROUP BY 1").fetchall())
    assert (used["aws-renderfarm"], used["azure-sensors"]) == (16 + 15, 31 + 31)
    after = totals(con)
    assert {c for c in before if after[c] != before[c]} == {"C001", "C006", "C009"}
