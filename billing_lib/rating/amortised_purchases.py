"""A commitment bought on BilledCost and used on EffectiveCost that no line ties together.

A commitment paid up front (a FOCUS spend agreement, a prepaid plan) has two views in one
export: its Purchase line bills the payment (BilledCost) and has an amortised cost of 0 or less
(EffectiveCost: the payment is spread over the usage), and the usage it covers bills nothing or
less (BilledCost) and carries its share of the payment (EffectiveCost). A price plan pricing the
purchase on BilledCost and the usage on EffectiveCost bills the payment whole and its shares again:
the commitment twice (the FOCUS example ``saas_spend_agreements_b2.csv``: USD 1200.00 bought and
USD 60.00 of it amortised over April). Lines naming their commitment (``CommitmentDiscountId``)
are compared commitment by commitment (``rating.commitments``, the review's "commitment priced
apart"); a purchase naming none (FOCUS makes the column optional, and a SaaS provider's spend
agreement has none) could not be, and was billed twice in silence. So the rating refuses such a
purchase priced on BilledCost together with usage of the same vendor, billing account and currency
whose amortised cost differs from its billed cost priced on EffectiveCost: nothing tells which
commitment that usage draws down, and one of the two rules bills it a second time.

A line is amortised when its EffectiveCost differs from its BilledCost. The keys count such lines
while they are made (``rating_line_keys.amortised_lines``): the lines are read only when a key
priced on BilledCost has amortised Purchase lines and one priced on EffectiveCost amortised Usage
lines of the same vendor and currency (most months have neither).
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from billing_lib.errors import ParameterError
from billing_lib.pricing import Pricing
from billing_lib.rating.effective_cost import PRICED_ON_EFFECTIVE_COST
from billing_lib.rating.keys import lines_with_keys, used_scope

#: The pricings whose amount follows the line's vendor cost on the rule's basis (a list price,
#: a seat price or tiers bill no vendor cost).
COST_PRICED = ("markup", "pass_through")
#: A key billing its lines' cost on BilledCost.
PRICED_ON_BILLED_COST = (
    f"k.action = 'rate' AND k.pricing IN {COST_PRICED} AND NOT ({PRICED_ON_EFFECTIVE_COST})"
)
#: A key billing its lines' cost on EffectiveCost.
PRICED_AMORTISED = f"{PRICED_ON_EFFECTIVE_COST} AND k.pricing IN {COST_PRICED}"
#: An amortised line: its EffectiveCost is not its BilledCost.
AMORTISED = "l.EffectiveCost <> l.BilledCost"


def _sides_sql(used: list[str]) -> str:
    """Per vendor, billing account and currency: the first unnamed purchase priced on BilledCost
    (plan, rule, file, row, billed cost, lines, their billed cost) and the first amortised usage
    priced on EffectiveCost (the same of it, its amortised cost), where both are."""
    keys = (
        f"(SELECT * FROM rating_keys k WHERE k.amortised_lines > 0 AND "
        f"((k.charge_category = 'Purchase' AND {PRICED_ON_BILLED_COST}) OR "
        f"(k.charge_category = 'Usage' AND {PRICED_AMORTISED})))"
    )
    side = """
        SELECT vendor, account, currency,
               min_by(plan_id, (file, "row")) AS plan_id, min_by(rule_id, (file, "row")) AS rule_id,
               min_by(file, (file, "row")) AS file, min("row") AS "row", count(*) AS lines,
               sum(cost) AS cost
        FROM c WHERE fee = {fee} GROUP BY ALL"""
    return f"""
        WITH c AS (
          SELECT l.x_Vendor AS vendor, l.BillingAccountId AS account,
                 l.BillingCurrency AS currency, k.plan_id, k.rule_id, l.x_SourceFile AS file,
                 l.x_SourceRow AS "row", l.ChargeCategory = 'Purchase' AS fee,
                 CASE WHEN l.ChargeCategory = 'Purchase' THEN l.BilledCost
                      ELSE l.EffectiveCost END AS cost
          FROM {lines_with_keys(keys, used)}
          WHERE {AMORTISED}
            AND ((l.ChargeCategory = 'Purchase' AND l.CommitmentDiscountId IS NULL
                  AND {PRICED_ON_BILLED_COST})
                 OR (l.ChargeCategory = 'Usage' AND {PRICED_AMORTISED}))),
        fee AS ({side.format(fee="true")}), usage AS ({side.format(fee="false")})
        SELECT f.vendor, f.account, f.currency, f.plan_id, f.rule_id, f.file, f."row", f.lines,
               f.cost, u.plan_id, u.rule_id, u.file, u."row", u.lines, u.cost
        FROM fee f JOIN usage u ON u.vendor = f.vendor AND u.currency = f.currency
         AND u.account IS NOT DISTINCT FROM f.account
        ORDER BY f.file, f."row\""""


def _could_bill_twice(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a key priced on BilledCost has amortised Purchase lines and one priced on
    EffectiveCost amortised Usage lines of the same vendor and currency."""
    [(found,)] = con.execute(
        f"""SELECT count(*) > 0 FROM rating_keys k JOIN rating_keys u
              ON u.vendor = k.vendor AND u.vendor_currency = k.vendor_currency
            WHERE k.amortised_lines > 0 AND u.amortised_lines > 0
              AND k.charge_category = 'Purchase' AND {PRICED_ON_BILLED_COST}
              AND u.charge_category = 'Usage'
              AND {PRICED_AMORTISED.replace("k.", "u.")}"""
    ).fetchall()
    return bool(found)


def _money(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def check_amortised_purchases(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    """ParameterError naming the rule pricing amortised usage on EffectiveCost, where a rule
    prices a purchase of the same vendor, billing account and currency that names no commitment
    on BilledCost (module docstring): the first such purchase and usage, their rules, rows and
    amounts. Reads no line unless the keys could disagree so."""
    if not _could_bill_twice(con):
        return
    found = con.execute(_sides_sql(used_scope(pricing))).fetchall()
    if not found:
        return
    vendor, account, currency, *fee, u_plan, u_rule, u_file, u_row, u_lines, u_cost = found[0]
    f_plan, f_rule, f_file, f_row, f_lines, f_cost = fee
    more = f" and {u_lines - 1} more" if u_lines > 1 else ""
    f_more = f" and {f_lines - 1} more" if f_lines > 1 else ""
    others = f" ({len(found)} billing accounts or vendors in all)" if len(found) > 1 else ""
    raise ParameterError(
        pricing.plans_path,
        pricing.rule_entry(u_plan, u_rule),
        f"the rule prices the usage a commitment paid up front covers on its amortised cost "
        f"({u_file} row {u_row}{more}: {currency} {_money(u_cost)} on EffectiveCost), while "
        f"{pricing.rule_entry(f_plan, f_rule)} prices the purchase of {vendor} billing account "
        f"{account} that pays for it on its billed cost ({f_file} row {f_row}{f_more}: "
        f"{currency} {_money(f_cost)} on BilledCost, its EffectiveCost spread over that usage)"
        f"{others}: the commitment would be billed twice, whole when bought and again in shares "
        "as it is used, and the purchase names no commitment (CommitmentDiscountId) to tell which "
        "usage it pays for. Price both on one basis: the purchase and its usage on EffectiveCost "
        "(the purchase then bills 0, the usage its share), or both on BilledCost (the purchase "
        "billed whole, the covered usage at what the vendor bills for it)",
    )
