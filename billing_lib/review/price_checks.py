"""Checks of the price plans against the month: credits a fee absorbed, rules with gaps in their
dates, percentages that read as fractions, new products only a catch-all rule prices, the
control totals, rules that matched nothing, vendors missing against the previous month."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import duckdb
import pandas as pd

from billing_lib.periods import month_days
from billing_lib.pricing import FEE_KINDS, PLANS_FILE, PlanAssignment
from billing_lib.rating.rated_file import MINIMUM_COUNTS
from billing_lib.review.findings import Finding, money_text, source_lines
from billing_lib.run_files import (
    named_if_damaged,
)


def absorbed_credits(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Customers whose minimum fee absorbed vendor credits (``rating.MINIMUM_COUNTS``): a fee
    tops up its lines' revenue, credits included (docs/pricing.md), so usage of 11.00 and a
    credit of -200.00 passed on give a top-up of 264.00: the customer pays the minimum, 75.00,
    and the credit goes to the reseller. The part absorbed is what the top-up holds beyond the
    usage's own shortfall: min(top-up, -credits)."""
    rows = con.execute(
        f"""SELECT customer_id, plan_id, rule_id, currency, minimum, used, credits
            FROM {MINIMUM_COUNTS}
            WHERE fee_kind = 'minimum_fee' AND credits < 0 AND used < minimum
            ORDER BY customer_id, plan_id, rule_id"""
    ).fetchall()
    out = []
    for customer, plan, rule, currency, minimum, used, credits in rows:
        top_up = Decimal(minimum) - Decimal(used)
        absorbed = min(top_up, -Decimal(credits))
        out.append(
            Finding(
                "minimum fee absorbs credits",
                customer,
                f"the minimum fee {plan}/{rule} of {money_text(minimum, currency)} counts "
                f"its credits of {money_text(credits, currency)} as revenue (usage "
                f"{money_text(Decimal(used) - Decimal(credits), currency)}): its top-up of "
                f"{money_text(top_up, currency)} absorbs {money_text(absorbed, currency)} of "
                "them, so the customer pays the minimum and the credit goes to the reseller. "
                "Tell the customer, or give the credit back with a custom line",
                source_lines(
                    con,
                    "customer_id = ? AND line_kind = 'vendor' AND charge_category = 'Credit'",
                    [customer],
                ),
            )
        )
    return out


def rule_gaps(plans: dict, period: str) -> list[Finding]:
    """Days of ``period`` between two dated versions of one rule (the same ``match`` in one
    plan: ``aws-15`` to the 15th, ``aws-12`` from the 18th) that neither covers: the lines of
    those days are priced by the next rule that matches, a catch-all most often, without a word.
    A rule that simply ends (no version after it) is not a gap."""
    first, last = month_days(period)
    out = []
    for plan in plans.values():
        versions: dict[tuple, list] = {}
        for rule in plan.rules:
            if rule.kind not in FEE_KINDS:  # a fee prices no line: no gap between its dates
                versions.setdefault(tuple(sorted(rule.match.folded().items())), []).append(rule)
        for rules in versions.values():
            scope = rules[0].match.fields().items()
            ordered = sorted(rules, key=lambda r: r.valid_from or date.min)
            for a, b in pairwise(ordered):
                if a.valid_to is None or b.valid_from is None:
                    continue
                start = max(a.valid_to + timedelta(days=1), first)
                end = min(b.valid_from - timedelta(days=1), last)
                if start <= end:
                    matched = ", ".join(f"{k} {v}" for k, v in scope) or "any line"
                    out.append(
                        Finding(
                            "rule dates leave a gap",
                            f"price_plans.yaml, plans[id={plan.id}].rules[id={a.id}] and "
                            f"[id={b.id}]",
                            f"no version of the rule for {matched} from {start.isoformat()} to "
                            f"{end.isoformat()}: those days' lines are priced by the next rule "
                            "that matches them",
                        )
                    )
    return out


def assignment_gaps(assignments: tuple[PlanAssignment, ...], period: str) -> list[Finding]:
    """Days of ``period`` between two of a customer's own plan assignments (``customer: C1``,
    ``valid_to: 2026-10-14`` and ``valid_from: 2026-10-16``) that neither covers: the lines of
    those days are priced by its group's plan, or, with none, stop the rating, and nothing said
    so (``rule_gaps`` lists the same for two versions of a rule; ``no_plan`` looks at the
    month's last day only). A customer's own plan that simply ends is not a gap."""
    first, last = month_days(period)
    out = []
    for customer in sorted({a.customer_id for a in assignments}):
        theirs = [a for a in assignments if a.customer_id == customer]
        own = sorted((a for a in theirs if a.level == 2), key=lambda a: a.valid_from)
        for a, b in pairwise(own):
            start = max(a.valid_to + timedelta(days=1), first)
            end = min(b.valid_from - timedelta(days=1), last)
            if start > end:
                continue
            group = [
                g.plan_id for g in theirs if g.level == 1 and g.valid_from <= start <= g.valid_to
            ]
            then = (
                f"those days' lines are priced by its group's plan {group[0]}"
                if group
                else "those days it is on no plan: a vendor line of them stops the rating"
            )
            out.append(
                Finding(
                    "plan dates leave a gap",
                    customer,
                    f"no plan of its own from {start.isoformat()} to {end.isoformat()}, between "
                    f"{a.plan_id} ({a.entry}, until {a.valid_to.isoformat()}) and {b.plan_id} "
                    f"({b.entry}, from {b.valid_from.isoformat()}) in {PLANS_FILE}: {then}",
                )
            )
    return out


#: Rule fields that hold a percentage, by rule kind.
PERCENT_FIELDS = {
    "markup": ("percent", "discount_percent"),
    "list_price": ("discount_percent", "uplift_percent"),
    "percent_fee": ("percent",),
}


def percent_fractions(plans: dict, period: str) -> list[Finding]:
    """Percentages above 0 and below 1 of the rules in force in ``period``: 12 % written as
    0.12 (a fraction) is a markup of 0.12 %, which the plan's check (0 to 1000 %) lets through
    and the rating bills in silence; a real markup or discount below 1 % is rare."""
    first, last = month_days(period)
    out = []
    for plan in plans.values():
        for rule in plan.rules:
            lo = max(rule.valid_from or date.min, plan.valid_from or date.min)
            hi = min(rule.valid_to or date.max, plan.valid_to or date.max)
            if lo > last or hi < first:
                continue
            for name in PERCENT_FIELDS.get(rule.kind, ()):
                value = getattr(rule, name)
                if value is not None and 0 < value < 1:
                    out.append(
                        Finding(
                            "percent below 1",
                            f"price_plans.yaml, plans[id={plan.id}].rules[id={rule.id}].{name}",
                            f"{name} {value} means {value} %, not {value * 100:f} %: percentages "
                            f"are written in percent (12 for 12 %), not as fractions",
                        )
                    )
    return out


def new_products(
    con: duckdb.DuckDBPyConnection, earlier_parquets: list[Path], catch_all: list[tuple[str, str]]
) -> list[Finding]:
    """Products (vendor and SKU, else service) first seen this month, i.e. in no finalised month
    before, whose every line was priced by a catch-all rule."""
    if not earlier_parquets:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE _review_catch_all (plan_id VARCHAR, rule_id VARCHAR)")
    if catch_all:
        con.executemany("INSERT INTO _review_catch_all VALUES (?, ?)", catch_all)
    files = [str(p) for p in earlier_parquets]
    with named_if_damaged(earlier_parquets):
        rows = con.execute(
            """WITH seen AS (SELECT DISTINCT vendor, coalesce(sku, service) AS product
                             FROM read_parquet(?) WHERE line_kind = 'vendor'),
                    now AS (SELECT vendor, coalesce(sku, service) AS product, customer_id,
                                   (plan_id, rule_id) IN (SELECT (plan_id, rule_id) FROM
                                   _review_catch_all) AS catch_all
                            FROM rated_lines WHERE line_kind = 'vendor')
               SELECT vendor, product, string_agg(DISTINCT customer_id, ', ' ORDER BY customer_id),
               count(*)
               FROM now WHERE (vendor, product) NOT IN (SELECT (vendor, product) FROM seen)
               GROUP BY vendor, product HAVING bool_and(catch_all) ORDER BY 1, 2""",
            [files],
        ).fetchall()
    out = []
    for vendor, product, customers, n in rows:
        rules = con.execute(
            """SELECT string_agg(DISTINCT plan_id || '/' || rule_id, ', ') FROM rated_lines
               WHERE line_kind = 'vendor' AND vendor = ? AND coalesce(sku, service) = ?""",
            [vendor, product],
        ).fetchall()[0][0]
        out.append(
            Finding(
                "new product",
                f"{vendor} {product}",
                f"first seen this month ({n} line(s), customers {customers}); priced only by the "
                f"catch-all rule {rules}",
                source_lines(
                    con,
                    "line_kind = 'vendor' AND vendor = ? AND coalesce(sku, service) = ?",
                    [vendor, product],
                ),
            )
        )
    return out


def control_totals(control: pd.DataFrame) -> list[Finding]:
    """Vendor reports whose total as read differs from what was imported."""
    return [
        Finding(
            "control total",
            str(r.file),
            f"{r.currency}: cost read {r.cost_read} but imported {r.cost_imported}",
        )
        for r in control.itertuples()
        if not r.balanced
    ]


def unmatched_rules(warnings: list[str]) -> list[Finding]:
    """The rating's warnings about rules that matched no line this month."""
    out = []
    for w in warnings:
        if "matched no line" in w:
            where, _, what = w.rpartition(": ")
            out.append(Finding("rule matched nothing", where, what))
    return out


def missing_vendors(
    con: duckdb.DuckDBPyConnection, previous_parquet: Path | None, previous_period: str | None
) -> list[Finding]:
    """Vendors with rated lines in the previous finalised month and no line imported now: most
    likely a report left out of the reports folder, whose charges would then be on no invoice."""
    if previous_parquet is None or not previous_parquet.is_file():
        return []
    with named_if_damaged([previous_parquet]):
        rows = con.execute(
            """SELECT vendor, count(*), count(DISTINCT customer_id) FROM read_parquet(?)
               WHERE line_kind = 'vendor'
                 AND vendor NOT IN (SELECT DISTINCT x_Vendor FROM lines)
               GROUP BY vendor ORDER BY vendor""",
            [str(previous_parquet)],
        ).fetchall()
    return [
        Finding(
            "vendor missing",
            vendor,
            f"no {vendor} line this month; {previous_period} had {n} for {customers} "
            "customer(s): is its report missing from the reports folder?",
        )
        for vendor, n, customers in rows
    ]
