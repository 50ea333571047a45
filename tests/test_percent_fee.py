"""Percent fees (``kind: percent_fee``): a management fee of a percentage of the month's spend in
its scope, one line per fee, computed from the invoice lines as the invoice prints them (each
rounded), credits lowering it, rounded once; beside a minimum fee, which it does not count and
which does not count it; recomputed by the what-if; refused when written wrong
(docs/pricing.md, "Percent fees")."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
from rating_helpers import cents, entry_named, group_plan, line, rated_month, write_parameters

from billing_lib import analysis, review
from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.pricing import load_pricing
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
  - {id: C3, name: Gamma K.K., address: [Ginza 1], country: JP, invoice_currency: JPY}
"""
ACCOUNTS = "vendor,account_id,customer_id,valid_from,valid_to,note\n" + "".join(
    f"aws,{n}{n}{n},C{n},,,\n" for n in range(1, 4)
)
EUR = {"BillingCurrency": "EUR"}


def rate(tmp_path, plans: str, rows: list[dict]):
    return rated_month(tmp_path, plans, rows, CUSTOMERS, ACCOUNTS)


def fees(con, customer: str | None = None) -> list[tuple]:
    only = f"AND customer_id = {ql(customer)}" if customer else ""
    return con.execute(
        "SELECT customer_id, rule_id, amount, description FROM rated_lines "
        f"WHERE line_kind = 'percent_fee' {only} ORDER BY customer_id, rule_id"
    ).fetchall()


def test_a_percent_fee_is_its_percent_of_the_printed_lines_in_its_scope_rounded_once(tmp_path):
    """Each fee counts the invoice lines in its scope as the invoice prints them (each rounded
    to the currency's minor unit, by the customer's line_grouping), then takes its percent of
    that sum, rounded once half-up: C1's lines of 10.005 print 10.01 + 10.01 = 20.02, and 25 %
    of it is 5.005, billed 5.01 (of the unrounded 20.01 it was 5.0025: 5.00, and the invoice
    would not show 25 % of what it prints). C2, grouped by vendor, prints one line of 20.01. A
    scope taking part of an invoice line (service A of C2's one line) counts that part rounded
    once. JPY has no decimals. The line says what it is a percentage of, as the invoice prints
    amounts; it costs nothing, is the reseller's, and is in the product group the rule names
    (else services)."""
    plans = """plans:
  - id: p
    rules:
      - {id: all, kind: pass_through}
      - {id: mgmt, kind: percent_fee, percent: 25, description: Cloud management fee}
      - {id: mgmt-a, kind: percent_fee, percent: '12.5', match: {service: A},
         product_group: managed_services}
  - id: jp
    rules:
      - {id: all, kind: pass_through}
      - {id: mgmt, kind: percent_fee, percent: 10}
assignments:
  - {plan: p, group: smb}
  - {plan: jp, customer: C3}
"""
    c2 = {**EUR, "SubAccountId": "222"}
    con, _ = rate(
        tmp_path,
        plans,
        [
            line(**EUR, ServiceName="A", BilledCost="10.005"),
            line(**EUR, ServiceName="B", BilledCost="10.005"),
            line(**c2, ServiceName="A", BilledCost="10.005"),
            line(**c2, ServiceName="B", BilledCost="10.005"),
            line(SubAccountId="333", BillingCurrency="JPY", BilledCost="12345.6"),
        ],
    )
    assert fees(con) == [
        ("C1", "mgmt", D("5.01"), "Cloud management fee 25 % of EUR 20.02"),
        ("C1", "mgmt-a", D("1.25"), "Management fee 12.5 % of EUR 10.01"),
        ("C2", "mgmt", D("5.00"), "Cloud management fee 25 % of EUR 20.01"),
        ("C2", "mgmt-a", D("1.25"), "Management fee 12.5 % of EUR 10.01"),
        ("C3", "mgmt", D(1235), "Management fee 10 % of JPY 12,346"),
    ]
    rows = con.execute(
        "SELECT DISTINCT rule_id, product_group, vendor, quantity, unit_price = amount, cost, "
        "vendor_cost, billed_cost, plan_id FROM rated_lines WHERE line_kind = 'percent_fee' "
        "ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("mgmt", "services", "reseller", D(1), True, D(0), D(0), D(0), "jp"),
        ("mgmt", "services", "reseller", D(1), True, D(0), D(0), D(0), "p"),
        ("mgmt-a", "managed_services", "reseller", D(1), True, D(0), D(0), D(0), "p"),
    ]


def test_credits_in_its_scope_lower_the_base_of_every_percent_fee_and_none_below_0(tmp_path):
    """A credit lowers the spend, so it lowers the base of each percent fee whose scope holds it
    (unlike a minimum fee's, where a credit counts for the widest fee only: there it raises the
    top-up). C1: EC2 100.00 and S3 40.00 less an S3 credit printed -30.00: the plan-wide fee is
    10 % of 110.00, the S3 fee 10 % of 10.00. C2's credit is larger than its usage: a base below
    0 bills no fee (it never gives money back), and no line of 0.00 for a base that small."""
    s3 = {**EUR, "ServiceName": "Amazon S3"}
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: pass_through}",
            "{id: mgmt, kind: percent_fee, percent: 10}",
            "{id: mgmt-s3, kind: percent_fee, percent: 10, match: {service: Amazon S3}}",
        ),
        [
            line(**EUR, BilledCost="100"),
            line(**s3, BilledCost="40"),
            line(**s3, ChargeCategory="Credit", BilledCost="-30.004"),
            line(**EUR, SubAccountId="222", BilledCost="10"),
            line(**EUR, SubAccountId="222", ChargeCategory="Credit", BilledCost="-25"),
            line(**s3, SubAccountId="222", BilledCost="0.04"),
        ],
    )
    assert fees(con) == [
        ("C1", "mgmt", D("11.00"), "Management fee 10 % of EUR 110.00"),
        ("C1", "mgmt-s3", D("1.00"), "Management fee 10 % of EUR 10.00"),
    ]
    assert review.absorbed_credits(con) == []


def test_a_minimum_fee_and_a_percent_fee_each_count_the_vendor_lines_only(tmp_path):
    """The order is none: both are computed from the vendor lines alone. The percent fee is not
    spend the minimum counts (a minimum of cloud services is met by cloud services, as a custom
    fee does not meet it either), and the minimum's top-up is not spend the percent fee takes
    its share of. C1's usage of 59.00: top-up 16.00, fee 5.90, invoice 80.90; C2's 200.00: no
    top-up, fee 20.00."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: pass_through}",
            "{id: min, kind: minimum_fee, amount: '75', currency: EUR, description: Minimum}",
            "{id: mgmt, kind: percent_fee, percent: 10}",
        ),
        [line(**EUR, BilledCost="59"), line(**EUR, SubAccountId="222", BilledCost="200")],
    )
    got = con.execute(
        "SELECT customer_id, line_kind, amount, description FROM rated_lines "
        "WHERE line_kind <> 'vendor' ORDER BY ALL"
    ).fetchall()
    assert got == [
        ("C1", "minimum", D("16.00"), "Minimum (minimum EUR 75.00, used EUR 59.00)"),
        ("C1", "percent_fee", D("5.90"), "Management fee 10 % of EUR 59.00"),
        ("C2", "percent_fee", D("20.00"), "Management fee 10 % of EUR 200.00"),
    ]
    totals = dict(
        con.execute("SELECT customer_id, sum(amount) FROM rated_lines GROUP BY 1").fetchall()
    )
    assert totals == {"C1": D("80.90"), "C2": D("220.00")}


def test_a_customer_s_own_percent_fee_replaces_the_plan_s_and_dates_are_the_month_s_last_day(
    tmp_path,
):
    """As a minimum fee: of one scope the customer's own replaces the plan's; a fee applies to a
    month in force on its last day, to the whole month (one ending on the 30th bills nothing,
    said in the warnings); a minimum fee of the same scope is no conflict."""
    con, report = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: pass_through}",
            "{id: mgmt, kind: percent_fee, percent: 10}",
            "{id: c1-mgmt, kind: percent_fee, percent: 8, match: {customer: C1}}",
            "{id: mgmt-aws, kind: percent_fee, percent: 5, match: {vendor: aws}, "
            "valid_to: 2026-10-30}",
            "{id: min, kind: minimum_fee, amount: '1', currency: EUR}",
        ),
        [line(**EUR, BilledCost="100"), line(**EUR, SubAccountId="222", BilledCost="100")],
    )
    assert [(c, r, a) for c, r, a, _ in fees(con)] == [
        ("C1", "c1-mgmt", D("8.00")),
        ("C2", "mgmt", D("10.00")),
    ]
    [said] = [w for w in report.warnings if "mgmt-aws" in w]
    assert said.endswith(
        "plans[id=p].rules[id=mgmt-aws]: the percent fee ends on 2026-10-30, within 2026-10; "
        "a percent fee applies to a month in force on its last day (2026-10-31), to the whole "
        "month's lines, not prorated: not billed for 2026-10"
    )


GOOD = group_plan("{id: all, kind: pass_through}", "{id: mgmt, kind: percent_fee, percent: 10}")


@pytest.mark.parametrize(
    ("fee", "entry", "fragment"),
    [
        ("percent: 0", "mgmt].percent", "a percent fee of 0 % bills nothing"),
        ("percent: -5", "mgmt].percent", "a percent fee of -5 % bills nothing"),
        ("percent: 100.5", "mgmt].percent", "expected more than 0 and at most 100 %"),
        ("percent: '10.0000001'", "mgmt].percent", "no more than 6 decimal places"),
        ("percent: 10, currency: EUR", "mgmt].currency", "a percent fee has no currency"),
        (
            "percent: 10, match: {charge_type: Usage}",
            "mgmt].match",
            "a percent fee cannot be scoped by charge_type",
        ),
        (  # rated lines keep no region: the fee's base would count nothing
            "percent: 10, match: {region: eu-west-1}",
            "mgmt].match",
            "a percent fee cannot be scoped by region",
        ),
        (
            "percent: 10, match: {charge_category: Credit}",
            "mgmt].match",
            "a percent fee cannot be scoped to charge_category Credit",
        ),
        ("amount: '10'", "mgmt]", "percent"),
    ],
)
def test_a_bad_percent_fee_is_refused_naming_the_file_entry_and_field(
    tmp_path, fee, entry, fragment
):
    plans = GOOD.replace("percent: 10}", f"{fee}}}")
    params = write_parameters(tmp_path, plans, customers=CUSTOMERS, accounts=ACCOUNTS)
    with pytest.raises(ParameterError) as err:
        load_pricing(params, load_customers(params))
    text = str(err.value)
    assert re.search(entry_named("price_plans.yaml", f"plans[id=p].rules[id={entry}"), text), text
    assert fragment in text, text


def test_two_percent_fees_of_one_scope_on_the_same_days_are_refused(tmp_path):
    """A new percentage added without ending the old fee billed both: refused naming both, as
    two minimum fees of one scope are; a percent fee and a minimum fee of one scope both apply."""
    plans = GOOD.replace(
        "percent: 10}", "percent: 10}\n      - {id: mgmt-new, kind: percent_fee, percent: 12}"
    )
    params = write_parameters(tmp_path, plans, customers=CUSTOMERS, accounts=ACCOUNTS)
    with pytest.raises(ParameterError) as err:
        load_pricing(params, load_customers(params))
    assert "plans[id=p].rules[id=mgmt] and rules[id=mgmt-new]" in str(err.value)
    assert "equally specific" in str(err.value)
    ended = plans.replace("percent: 10}", "percent: 10, valid_to: 2026-10-15}").replace(
        "percent: 12}", "percent: 12, valid_from: 2026-10-16}"
    )
    params = write_parameters(tmp_path, ended, customers=CUSTOMERS, accounts=ACCOUNTS)
    load_pricing(params, load_customers(params))


def test_the_review_knows_the_percent_fee(tmp_path):
    """No false findings: the fee is neither a rule that priced nothing, nor a gap between two
    dated versions of a pricing rule; a fee of 0.1 (meant as 10 %?) is named as any percentage
    below 1; a customer with a fee and its lines has vendor lines."""
    plans = group_plan(
        "{id: all, kind: pass_through}",
        "{id: mgmt, kind: percent_fee, percent: 10, valid_to: 2026-10-10}",
        "{id: mgmt-2, kind: percent_fee, percent: '0.1', valid_from: 2026-10-20}",
    )
    con, report = rate(tmp_path, plans, [line(**EUR, BilledCost="100")])
    assert [w for w in report.warnings if "matched no line" in w] == []
    pricing = load_pricing(tmp_path, load_customers(tmp_path))
    assert review.rule_gaps(pricing.plans, "2026-10") == []
    [fraction] = review.percent_fractions(pricing.plans, "2026-10")
    assert fraction.subject == "price_plans.yaml, plans[id=p].rules[id=mgmt-2].percent"
    assert fees(con) == [("C1", "mgmt-2", D("0.10"), "Management fee 0.1 % of EUR 100.00")]
    none = frame(con, "SELECT 'C1' AS customer_id, 'EUR' AS currency, 0 AS net WHERE false")
    assert review.no_vendor_lines(review.customer_sums(con), none) == []


# -- the what-if ------------------------------------------------------------------------------


def _month_with_both_fees(tmp_path):
    """C1 at 10 % markup with a minimum fee of 30 EUR and a management fee of 15 %: usage of 20
    USD (list discount 10 %: 18 EUR at cost), a credit of -5 USD passed on (-4.50), and a line of
    another customer."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: min, kind: minimum_fee, amount: '30', currency: EUR}",
            "{id: mgmt, kind: percent_fee, percent: 15}",
        ),
        [
            line(BilledCost="20"),
            line(ChargeCategory="Credit", BilledCost="-5"),
            line(SubAccountId="222", BilledCost="50"),
        ],
    )
    return con


def _run_folder(con, tmp_path, customer: str = "C1"):
    folder = tmp_path / "outputs" / "2026-10"
    folder.mkdir(parents=True)
    con.execute(f"COPY rated_lines TO {ql(str(folder / RATED_PARQUET))} (FORMAT parquet)")
    write_minimum_fees(con, "2026-10", folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", folder / TERMS_PARQUET)
    return folder


@pytest.mark.parametrize("markup", [None, "50", "10", "0", "-100", "12.345", "300"])
def test_the_what_if_recomputes_the_percent_fee_as_the_run_does(tmp_path, markup):
    """The margin notebook's what-if (a run folder read back) and the benchmark's (the run's
    store) re-price the vendor lines, drop the run's fee lines and bill the fees again from the
    re-priced lines as printed: the same lines in both, and the net the invoice would print.
    Without a markup (None) the what-if is the run's own invoice."""
    con = _month_with_both_fees(tmp_path)
    _run_folder(con, tmp_path)
    lines = frame(con, "SELECT * FROM rated_lines WHERE customer_id = 'C1'")
    pct = None if markup is None else D(markup)
    in_notebook = analysis.repricer(tmp_path / "outputs")(lines, "C1", pct)
    on_the_run = reprice_customer(con, "C1", markup)
    assert in_notebook.equals(on_the_run)
    totals = reprice_customer(con, "C1", markup, totals=True)
    assert totals.equals(frame(con, totals_sql("_whatif")))
    assert margin(totals) == margin(on_the_run)
    usage = cents(18 * (1 + D(markup or 10) / 100))
    printed = usage - D("4.50")
    fee = cents(printed * D("0.15")) if printed > 0 else D(0)
    top_up = max(D(0), D(30) - printed)
    kinds = on_the_run.groupby("line_kind")["amount"].sum().to_dict()
    assert kinds.get("percent_fee", D(0)) == fee
    assert kinds.get("minimum", D(0)) == top_up
    assert ("percent_fee" in kinds) == (fee > 0)
    [invoiced] = totals["invoiced"].tolist()
    assert invoiced == printed + top_up + fee
    if markup is None:
        run_net = con.execute(
            "SELECT sum(amount) FROM rated_lines WHERE customer_id = 'C1'"
        ).fetchone()[0]
        assert invoiced == run_net == D("30.00") + cents(D("15.30") * D("0.15"))


def test_a_run_folder_written_before_percent_fees_reads_as_before(tmp_path):
    """A minimum_fees.parquet written before it held the fees' kind and percent (every row a
    minimum fee) reads as before: its minimum fees are topped up, nothing else is billed."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: min, kind: minimum_fee, amount: '30', currency: EUR}",
        ),
        [line(BilledCost="20")],
    )
    folder = _run_folder(con, tmp_path)
    fees_file = folder / MINIMUM_FEES_PARQUET
    con.execute(
        f"""COPY (SELECT * EXCLUDE (fee_kind, percent) FROM read_parquet({ql(str(fees_file))}))
            TO {ql(str(folder / "old.parquet"))} (FORMAT parquet)"""
    )
    (folder / "old.parquet").replace(fees_file)
    lines = frame(con, "SELECT * FROM rated_lines WHERE customer_id = 'C1'")
    repriced = analysis.repricer(tmp_path / "outputs")(lines, "C1", D(50))
    # at 50 %: 18 x 1.5 = 27.00, topped up to 30
    assert sorted(zip(repriced["line_kind"], repriced["amount"], strict=True)) == [
        ("minimum", D(3)),
        ("vendor", D(27)),
    ]


def test_the_rating_s_fee_table_names_both_kinds(tmp_path):
    """minimum_fees.parquet holds every fee in force, with its kind and percent, for the
    what-if (and a reissue copies the customer's)."""
    con = _month_with_both_fees(tmp_path)
    folder = _run_folder(con, tmp_path)
    got = con.execute(
        "SELECT customer_id, rule_id, fee_kind, minimum, percent FROM read_parquet(?) ORDER BY ALL",
        [str(folder / MINIMUM_FEES_PARQUET)],
    ).fetchall()
    assert got == [
        ("C1", "mgmt", "percent_fee", None, D(15)),
        ("C1", "min", "minimum_fee", D(30), None),
        ("C2", "mgmt", "percent_fee", None, D(15)),
        ("C2", "min", "minimum_fee", D(30), None),
    ]
    assert (
        date(2026, 10, 31)
        == con.execute(
            "SELECT DISTINCT last_day FROM read_parquet(?)", [str(folder / MINIMUM_FEES_PARQUET)]
        ).fetchone()[0]
    )
