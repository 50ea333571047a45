"""Allowances in money (``kind: allowance``): "the first 50.00 EUR of Azure a month included", one
credit line per customer of -min(amount, the spend in its scope as the invoice prints it), never
more than that spend and no line where it is 0 or less; beside minimum and percent fees, which
count the vendor lines only, as it does; recomputed by the what-if; refused when written wrong
(docs/pricing.md, "Allowances")."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
from rating_helpers import cents, entry_named, group_plan, line, rated_month, write_parameters

from billing_lib import analysis, review, whatif
from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.pricing import load_pricing
from billing_lib.rating import minimum_rules_sql
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

CUSTOMERS = """
customers:
  - {id: C1, name: Alpha B.V., address: [Kade 1], country: NL, invoice_currency: EUR, group: smb}
  - {id: C2, name: Beta B.V., address: [Kade 2], country: NL, invoice_currency: EUR, group: smb,
     line_grouping: [vendor]}
  - {id: C3, name: Gamma B.V., address: [Kade 3], country: NL, invoice_currency: EUR, group: smb}
  - {id: C4, name: Delta K.K., address: [Ginza 1], country: JP, invoice_currency: JPY}
"""
ACCOUNTS = "vendor,account_id,customer_id,valid_from,valid_to,note\n" + "".join(
    f"{v},{n}{n}{n},C{n},,,\n" for n in range(1, 5) for v in ("aws", "microsoft")
)
EUR = {"BillingCurrency": "EUR"}
ALLOWANCE = "{id: incl, kind: allowance, amount: '50.00', currency: EUR}"


def rate(tmp_path, plans: str, rows: list[dict]):
    return rated_month(tmp_path, plans, rows, CUSTOMERS, ACCOUNTS)


def allowances(con) -> list[tuple]:
    return con.execute(
        "SELECT customer_id, rule_id, amount, description FROM rated_lines "
        "WHERE line_kind = 'allowance' ORDER BY customer_id, rule_id"
    ).fetchall()


def test_an_allowance_gives_back_the_printed_spend_in_its_scope_up_to_its_amount(tmp_path):
    """C1's AWS of 10.005 + 10.005 prints 10.01 + 10.01 (a line per service), so the allowance
    counts 20.02, as the invoice prints it, and gives -20.02: the invoice shows 0.00, never less
    for an allowance. C2 spends 80.00 on AWS: -50.00. C3 spends nothing on AWS: no line. The
    line names the amount and the spend as the invoice prints amounts; it costs nothing, is the
    reseller's, and is in the product group the rule names, else the one of the lines it covers
    (it lowers that revenue), else services when they are of several (C2's EC2 is support)."""
    plans = """plans:
  - id: p
    rules:
      - {id: all, kind: pass_through}
      - {id: ec2, kind: pass_through, match: {service: Amazon EC2}, product_group: support}
      - {id: incl, kind: allowance, amount: '50.00', currency: EUR, match: {vendor: aws},
         description: AWS included}
      - {id: incl-ms, kind: allowance, amount: '5', currency: EUR, match: {vendor: microsoft},
         product_group: managed_services}
assignments:
  - {plan: p, group: smb}
"""
    c2 = {**EUR, "SubAccountId": "222"}
    con, report = rate(
        tmp_path,
        plans,
        [
            line(**EUR, ServiceName="A", BilledCost="10.005"),
            line(**EUR, ServiceName="B", BilledCost="10.005"),
            line(**c2, BilledCost="30"),
            line(**c2, ServiceName="B", BilledCost="50"),
            line(**EUR, SubAccountId="333", x_Vendor="microsoft", BilledCost="40"),
        ],
    )
    assert allowances(con) == [
        ("C1", "incl", D("-20.02"), "AWS included (EUR 50.00 a month, used EUR 20.02)"),
        ("C2", "incl", D("-50.00"), "AWS included (EUR 50.00 a month, used EUR 80.00)"),
        ("C3", "incl-ms", D("-5.00"), "Allowance (EUR 5.00 a month, used EUR 40.00)"),
    ]
    rows = con.execute(
        "SELECT customer_id, product_group, vendor, quantity, unit, unit_price = amount, cost,"
        " vendor_cost, billed_cost, plan_id FROM rated_lines "
        "WHERE line_kind = 'allowance' ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("C1", "aws", "reseller", D(1), "month", True, D(0), D(0), D(0), "p"),
        ("C2", "services", "reseller", D(1), "month", True, D(0), D(0), D(0), "p"),
        ("C3", "managed_services", "reseller", D(1), "month", True, D(0), D(0), D(0), "p"),
    ]
    totals = dict(
        con.execute("SELECT customer_id, sum(amount) FROM rated_lines GROUP BY 1").fetchall()
    )
    assert (totals["C2"], totals["C3"]) == (D("30.00"), D("35.00"))
    assert [w for w in report.warnings if "incl" in w] == []


def test_credits_lower_what_an_allowance_covers_and_none_below_0(tmp_path):
    """A credit in the scope is less spend: C1's 40.00 less a credit of -25.00 is covered
    15.00 (giving 50.00 would bill the customer -35.00 for nothing). C2's credit is larger than
    its usage: nothing to cover, no line. A JPY customer's allowance is in yen: no decimals."""
    plans = """plans:
  - id: p
    rules:
      - {id: all, kind: pass_through}
      - {id: incl, kind: allowance, amount: '50.00', currency: EUR}
  - id: jp
    rules:
      - {id: all, kind: pass_through}
      - {id: incl, kind: allowance, amount: '5000', currency: JPY}
assignments:
  - {plan: p, group: smb}
  - {plan: jp, customer: C4}
"""
    c2 = {**EUR, "SubAccountId": "222"}
    con, _ = rate(
        tmp_path,
        plans,
        [
            line(**EUR, BilledCost="40"),
            line(**EUR, ChargeCategory="Credit", BilledCost="-25"),
            line(**c2, BilledCost="10"),
            line(**c2, ChargeCategory="Credit", BilledCost="-25"),
            line(SubAccountId="444", BillingCurrency="JPY", BilledCost="1234.5"),
        ],
    )
    assert allowances(con) == [
        ("C1", "incl", D("-15.00"), "Allowance (EUR 50.00 a month, used EUR 15.00)"),
        ("C4", "incl", D(-1235), "Allowance (JPY 5,000 a month, used JPY 1,235)"),
    ]


def test_minimum_and_percent_fees_count_the_vendor_lines_before_the_allowance(tmp_path):
    """The order is none: every fee counts the vendor lines alone. The allowance is not spend a
    minimum counts (so a top-up never swallows it: the bundle's 50.00 is worth 50.00 to a
    customer below its minimum), and the percent fee takes its share of the spend the reseller
    managed, the part the allowance pays included; the allowance covers vendor lines, never a
    fee's line. C1's usage of 59.00: top-up 16.00, fee 5.90, allowance -50.00, invoice 30.90;
    C2's 200.00: no top-up, fee 20.00, allowance -50.00, invoice 170.00."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: pass_through}",
            "{id: min, kind: minimum_fee, amount: '75', currency: EUR, description: Minimum}",
            "{id: mgmt, kind: percent_fee, percent: 10}",
            ALLOWANCE,
        ),
        [line(**EUR, BilledCost="59"), line(**EUR, SubAccountId="222", BilledCost="200")],
    )
    got = con.execute(
        "SELECT customer_id, line_kind, amount FROM rated_lines "
        "WHERE line_kind <> 'vendor' AND customer_id <> 'C3' ORDER BY ALL"
    ).fetchall()
    assert got == [
        ("C1", "allowance", D("-50.00")),
        ("C1", "minimum", D("16.00")),
        ("C1", "percent_fee", D("5.90")),
        ("C2", "allowance", D("-50.00")),
        ("C2", "percent_fee", D("20.00")),
    ]
    totals = dict(
        con.execute("SELECT customer_id, sum(amount) FROM rated_lines GROUP BY 1").fetchall()
    )
    assert (totals["C1"], totals["C2"]) == (D("30.90"), D("170.00"))
    assert review.absorbed_credits(con) == []


def test_a_customer_s_own_allowance_replaces_the_plan_s_of_its_scope(tmp_path):
    """As fees: of one scope the customer's own replaces the plan's; of different scopes that
    cannot meet (AWS, Microsoft) each applies; one in force on the month's last day only."""
    con, report = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: pass_through}",
            "{id: incl, kind: allowance, amount: '5', currency: EUR, match: {vendor: aws}}",
            "{id: c1-incl, kind: allowance, amount: '8', currency: EUR, "
            "match: {customer: C1, vendor: aws}}",
            "{id: incl-ms, kind: allowance, amount: '3', currency: EUR, "
            "match: {vendor: microsoft}, valid_to: 2026-10-30}",
        ),
        [
            line(**EUR, BilledCost="100"),
            line(**EUR, SubAccountId="222", BilledCost="100"),
            line(**EUR, x_Vendor="microsoft", BilledCost="100"),
        ],
    )
    assert [(c, r, a) for c, r, a, _ in allowances(con)] == [
        ("C1", "c1-incl", D("-8.00")),
        ("C2", "incl", D("-5.00")),
    ]
    [said] = [w for w in report.warnings if "incl-ms" in w]
    assert "the allowance ends on 2026-10-30, within 2026-10" in said
    assert said.endswith("not billed for 2026-10")


GOOD = group_plan("{id: all, kind: pass_through}", ALLOWANCE)


@pytest.mark.parametrize(
    ("change", "entry", "fragment"),
    [
        ("amount: '0'", "incl].amount", "greater than 0"),
        ("amount: '-5'", "incl].amount", "greater than 0"),
        ("amount: '50.005'", "incl]", "more decimals than EUR shows (2)"),
        ("currency: USD", "incl].currency", "the price is in USD but customer 'C1'"),
        (
            "match: {charge_type: Usage}",
            "incl].match",
            "an allowance cannot be scoped by charge_type",
        ),
        (
            "match: {region: eu-west-1}",
            "incl].match",
            "an allowance cannot be scoped by region",
        ),
        (
            "match: {charge_category: Credit}",
            "incl].match",
            "an allowance cannot be scoped to charge_category Credit",
        ),
        (
            "match: {charge_category: Adjustment}",
            "incl].match",
            "an allowance cannot be scoped to charge_category Adjustment",
        ),
        ("percent: 10", "incl].percent", "unknown key 'percent'"),
    ],
)
def test_a_bad_allowance_is_refused_naming_the_file_entry_and_field(
    tmp_path, change, entry, fragment
):
    field = change.split(":")[0]
    rule = ALLOWANCE.replace("}", f", {change}}}")
    if field in ("amount", "currency"):
        was = "amount: '50.00'" if field == "amount" else "currency: EUR"
        rule = ALLOWANCE.replace(was, change)
    plans = group_plan("{id: all, kind: pass_through}", rule)
    params = write_parameters(tmp_path, plans, customers=CUSTOMERS, accounts=ACCOUNTS)
    with pytest.raises(ParameterError) as err:
        load_pricing(params, load_customers(params))
    text = str(err.value)
    assert re.search(entry_named("price_plans.yaml", f"plans[id=p].rules[id={entry}"), text), text
    assert fragment in text, text


def test_two_allowances_that_could_cover_one_line_are_refused(tmp_path):
    """Two allowances both covering a line (everything and AWS) would together give more than
    the spend they cover: refused naming both. Scopes that cannot meet, and a customer's own of
    the plan's scope (it replaces it), are no conflict; nor are dates that do not overlap."""
    both = group_plan(
        "{id: all, kind: pass_through}",
        ALLOWANCE,
        "{id: incl-aws, kind: allowance, amount: '20', currency: EUR, match: {vendor: aws}}",
    )
    params = write_parameters(tmp_path, both, customers=CUSTOMERS, accounts=ACCOUNTS)
    with pytest.raises(ParameterError) as err:
        load_pricing(params, load_customers(params))
    text = str(err.value)
    assert "entry plans[id=p].rules[id=incl] and rules[id=incl-aws]" in text, text
    assert "both cover vendor 'aws'" in text, text
    fine = group_plan(
        "{id: all, kind: pass_through}",
        "{id: incl, kind: allowance, amount: '5', currency: EUR, match: {vendor: microsoft}, "
        "valid_from: 2026-10-01}",
        "{id: incl-aws, kind: allowance, amount: '5', currency: EUR, match: {vendor: aws}, "
        "valid_from: 2026-10-01}",
        "{id: c1-aws, kind: allowance, amount: '9', currency: EUR, "
        "match: {vendor: aws, customer: C1}, valid_from: 2026-10-01}",
        "{id: old, kind: allowance, amount: '5', currency: EUR, valid_to: 2026-09-30}",
    )
    params = write_parameters(tmp_path, fine, customers=CUSTOMERS, accounts=ACCOUNTS)
    load_pricing(params, load_customers(params))


def test_the_review_knows_the_allowance(tmp_path):
    """No false findings: the allowance is neither a rule that priced nothing nor a gap between
    dated versions of a pricing rule; a customer with an allowance and its lines has vendor
    lines."""
    plans = group_plan(
        "{id: all, kind: pass_through}",
        "{id: incl, kind: allowance, amount: '5', currency: EUR, valid_to: 2026-10-10}",
        "{id: incl-2, kind: allowance, amount: '7', currency: EUR, valid_from: 2026-10-20}",
    )
    con, report = rate(tmp_path, plans, [line(**EUR, BilledCost="100")])
    assert [w for w in report.warnings if "matched no line" in w] == []
    pricing = load_pricing(tmp_path, load_customers(tmp_path))
    assert review.rule_gaps(pricing.plans, "2026-10") == []
    assert [(c, r, a) for c, r, a, _ in allowances(con)] == [("C1", "incl-2", D("-7.00"))]
    none = frame(con, "SELECT 'C1' AS customer_id, 'EUR' AS currency, 0 AS net WHERE false")
    assert review.no_vendor_lines(review.customer_sums(con), none) == []


# -- the what-if ------------------------------------------------------------------------------


@pytest.mark.parametrize("markup", [None, "50", "10", "0", "-100", "300"])
def test_the_what_if_recomputes_the_allowance_as_the_run_does(tmp_path, markup):
    """The margin notebook's what-if (a run folder read back) and the benchmark's (the run's
    store) re-price the vendor lines, drop the run's allowance line and give it again from the
    re-priced lines as printed, up to its amount: the same lines in both, and the net the
    invoice would print. C1: usage of 20 USD (18 EUR at cost), a credit of -4.50, at 10 %."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: incl, kind: allowance, amount: '30', currency: EUR}",
            "{id: mgmt, kind: percent_fee, percent: 15}",
        ),
        [
            line(BilledCost="20"),
            line(ChargeCategory="Credit", BilledCost="-5"),
            line(SubAccountId="222", BilledCost="50"),
        ],
    )
    folder = tmp_path / "outputs" / "2026-10"
    folder.mkdir(parents=True)
    con.execute(f"COPY rated_lines TO {ql(str(folder / RATED_PARQUET))} (FORMAT parquet)")
    write_minimum_fees(con, "2026-10", folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", folder / TERMS_PARQUET)
    lines = frame(con, "SELECT * FROM rated_lines WHERE customer_id = 'C1'")
    pct = None if markup is None else D(markup)
    in_notebook = analysis.repricer(tmp_path / "outputs")(lines, "C1", pct)
    on_the_run = reprice_customer(con, "C1", markup)
    assert in_notebook.equals(on_the_run)
    totals = reprice_customer(con, "C1", markup, totals=True)
    assert totals.equals(frame(con, totals_sql("_whatif")))
    assert margin(totals) == margin(on_the_run)
    printed = cents(18 * (1 + D(markup or 10) / 100)) - D("4.50")
    given = min(D(30), printed) if printed > 0 else D(0)
    fee = cents(printed * D("0.15")) if printed > 0 else D(0)
    kinds = on_the_run.groupby("line_kind")["amount"].sum().to_dict()
    assert kinds.get("allowance", D(0)) == -given
    assert ("allowance" in kinds) == (given > 0)
    [invoiced] = totals["invoiced"].tolist()
    assert invoiced == printed - given + fee
    if markup is None:
        run_net = con.execute(
            "SELECT sum(amount) FROM rated_lines WHERE customer_id = 'C1'"
        ).fetchone()[0]
        assert invoiced == run_net == cents(D("15.30") * D("0.15"))
    got = con.execute(
        "SELECT DISTINCT rule_id, fee_kind, minimum, currency FROM read_parquet(?) ORDER BY ALL",
        [str(folder / MINIMUM_FEES_PARQUET)],
    ).fetchall()
    assert got == [("incl", "allowance", D(30), "EUR"), ("mgmt", "percent_fee", None, "EUR")]


@pytest.mark.parametrize("markup", [None, "10", "300"])
def test_the_what_if_sums_its_fees_by_the_sql_of_the_kinds_in_force_only(tmp_path, markup):
    """The what-if's sums (``reprice_totals``) bill the fees by the SQL of the kinds the
    customer has (``rating.minimum_lines_sql`` with ``kinds``) and without their texts: the same
    figures as the re-priced lines of every kind with their texts, summed. C1 has a minimum fee,
    an allowance and a percent fee; C2 none, beside it: its sums are its lines' alone."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: floor, kind: minimum_fee, amount: '90', currency: EUR, match: {customer: C1}}",
            "{id: incl, kind: allowance, amount: '3', currency: EUR, match: {customer: C1}}",
            "{id: mgmt, kind: percent_fee, percent: 15, match: {customer: C1}}",
        ),
        [
            line(**EUR, BilledCost="20"),
            line(**EUR, ChargeCategory="Credit", BilledCost="-5"),
            line(**EUR, SubAccountId="222", BilledCost="50"),
        ],
    )
    assert whatif.fee_kinds(
        con, whatif.fee_rules(con, f"({minimum_rules_sql('2026-10', date(2026, 10, 31))})"), "C1"
    ) == ["allowance", "minimum_fee", "percent_fee"]
    for customer in ("C1", "C2"):
        lines = reprice_customer(con, customer, markup)  # every kind's SQL, with texts
        totals = reprice_customer(con, customer, markup, totals=True)
        assert totals.equals(frame(con, totals_sql("_whatif")))
        kinds = set(lines["line_kind"])
        assert ("minimum" in kinds or "allowance" in kinds) == (customer == "C1")
