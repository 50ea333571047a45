"""The price plans as temp tables for the rating's and the what-if's SQL.

``register_pricing`` creates ``price_rules`` (one row per pricing rule, its scope as ``m_*``
columns, NULL = any; a column ``m_tag_<n>`` per tag key some rule matches on: ``tag_columns``),
``price_tiers``, ``price_tier_units`` (the unit a tier rule names), ``price_minimums`` (the fees:
minimum and percent fees, allowances and seat fees, by ``fee_kind``), ``price_assignments`` (per
customer, groups expanded), ``price_customers`` (invoice currency, line_grouping) and ``_fx_rates``
(``fx.register``)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from billing_lib.customers import Customer
from billing_lib.pricing import (
    FEE_KINDS,
    AllowanceRule,
    MinimumFeeRule,
    PercentFeeRule,
    Plan,
    Pricing,
    SeatFeeRule,
    TieredRule,
)
from billing_lib.rating.exact import DEC, install_macros
from billing_lib.rating.tables import put_table

#: Scope fields of a rule that are part of a line's key, in key order.
KEY_COLUMNS = (
    "vendor",
    "provider",
    "publisher",
    "service",
    "sku",
    "charge_category",
    "charge_type",
    "region",
)
#: Scope fields a fee (minimum or percent) can have (rated lines keep neither the vendor's
#: charge type nor the region; a fee's scope has no tag: ``pricing.fee_rules._fee_scope``).
MINIMUM_SCOPE = KEY_COLUMNS[:-2]
#: The key column (and ``price_rules``' ``m_`` column) of the n-th tag key some rule matches on
#: (``used_tags``), from 1: ``tag_1`` ...; the line's value is ``x_tag_1`` (``rating.keys``).
TAG_COLUMN = "tag_{}"
_LOW, _HIGH = date(1, 1, 1), date(9999, 12, 31)
#: A percent fee's percent (at most 6 decimals, up to 100: ``pricing.rules.Percent``).
PERCENT = "DECIMAL(18,6)"


def scope_equal(rule_value: str, line_value: str, field: str) -> str:
    """SQL: a rule's match value equals a line's (or key's) value of ``field``, as
    ``Scope.folded`` compares them: whatever the case, but a customer id exactly. Compared on keys
    or per-customer sums, never per line."""
    if field == "customer":
        return f"{rule_value} = {line_value}"
    return f"lower({rule_value}) = lower({line_value})"


def used_tags(pricing: Pricing) -> list[str]:
    """The tag keys some pricing rule matches on (``Scope.tag``), in lower case (as the rating
    compares them) and sorted: the n-th is the key column ``TAG_COLUMN.format(n)``. Empty for a
    month whose plans match no tag: its keys are those of before."""
    return sorted(
        {
            key
            for plan in pricing.plans.values()
            for r in plan.rules
            if r.kind not in FEE_KINDS
            for key in r.match.folded_tags()
        }
    )


def tag_columns(pricing: Pricing) -> dict[str, str]:
    """Key column -> tag key (lower case) of ``used_tags``: ``{"tag_1": "env"}``."""
    return {TAG_COLUMN.format(n): key for n, key in enumerate(used_tags(pricing), start=1)}


def factor(rule: Any) -> Decimal | None:
    """The multiplier of a markup or list-price rule (1 + percent / 100, 1 - discount / 100)."""
    if rule.kind not in ("markup", "list_price"):
        return None
    if rule.discount_percent is not None:
        return 1 - rule.discount_percent / 100
    up = rule.percent if rule.kind == "markup" else rule.uplift_percent
    return 1 + up / 100


def _validity(plan: Plan, rule: Any) -> tuple[date, date]:
    """The days a rule is in force: its own dates within its plan's."""
    return (
        max(rule.valid_from or _LOW, plan.valid_from or _LOW),
        min(rule.valid_to or _HIGH, plan.valid_to or _HIGH),
    )


def tier_scope(rule: Any) -> str | None:
    """The scope a tiered or volume rule counts the month's quantity in (with the customer, in
    any plan): its match as the rating compares it (``Scope.folded``) but the customer, so two
    entries of one scope that follow each other in the month (the tiers' prices changed from a
    date, a customer's own tiers from a date after the plan's, or the customer moved to another
    plan whose rule has that scope) count one cumulative volume,
    each line priced at the tiers of its own entry (docs/pricing.md); None for other rules. The
    quantity is counted per customer anyway: with the customer in the scope, a customer's own
    tiers from the 16th restarted the month at 0 and charged the first tier again."""
    if not isinstance(rule, TieredRule):
        return None
    scope = {k: v for k, v in rule.match.folded().items() if k != "customer"}
    return json.dumps(scope, sort_keys=True)


def _rules_table(pricing: Pricing) -> dict[str, tuple[str, list[Any]]]:
    rules = [
        (plan, r) for plan in pricing.plans.values() for r in plan.rules if r.kind not in FEE_KINDS
    ]
    scope = {
        f"m_{k}": ("VARCHAR", [r.match.fields().get(k) for _, r in rules])
        for k in (*KEY_COLUMNS, "customer")
    }
    # a column per tag key some rule matches on (the value in lower case, as the key's)
    scope |= {
        f"m_{column}": ("VARCHAR", [r.match.folded_tags().get(key) for _, r in rules])
        for column, key in tag_columns(pricing).items()
    }
    return {
        "plan_id": ("VARCHAR", [p.id for p, _ in rules]),
        "rule_id": ("VARCHAR", [r.id for _, r in rules]),
        "kind": ("VARCHAR", [r.kind for _, r in rules]),
        "specificity": ("INTEGER", [r.specificity for _, r in rules]),
        **scope,
        "valid_from": ("DATE", [_validity(p, r)[0] for p, r in rules]),
        "valid_to": ("DATE", [_validity(p, r)[1] for p, r in rules]),
        "basis": ("VARCHAR", [getattr(r, "basis", "BilledCost") for _, r in rules]),
        "factor": ("DECIMAL(18,8)", [factor(r) for _, r in rules]),
        "price": (DEC, [getattr(r, "unit_price", None) for _, r in rules]),
        "prorate": ("BOOLEAN", [getattr(r, "prorate", False) for _, r in rules]),
        "credits": ("VARCHAR", [r.credits for _, r in rules]),
        "unit_places": ("INTEGER", [r.unit_price_places for _, r in rules]),
        "reason": ("VARCHAR", [getattr(r, "reason", None) for _, r in rules]),
        "rule_description": ("VARCHAR", [r.description for _, r in rules]),
        "rule_product_group": ("VARCHAR", [r.product_group for _, r in rules]),
        "tier_scope": ("VARCHAR", [tier_scope(r) for _, r in rules]),
    }


def _tiers_table(pricing: Pricing) -> dict[str, tuple[str, list[Any]]]:
    """Each tier of a tiered or volume rule with its lower bound (the previous tier's up_to)."""
    tiers: list[tuple[str, str, int, Decimal, Decimal | None, Decimal]] = []
    for plan in pricing.plans.values():
        for r in plan.rules:
            if not isinstance(r, TieredRule):
                continue
            lower = Decimal(0)
            for n, t in enumerate(r.tiers):
                tiers.append((plan.id, r.id, n, lower, t.up_to, t.unit_price))
                lower = t.up_to if t.up_to is not None else lower
    names = ("plan_id", "rule_id", "tier_no", "lower", "upper", "tier_price")
    types = ("VARCHAR", "VARCHAR", "INTEGER", DEC, DEC, DEC)
    return {
        n: (t, [row[i] for row in tiers]) for i, (n, t) in enumerate(zip(names, types, strict=True))
    }


def _tier_units_table(pricing: Pricing) -> dict[str, tuple[str, list[Any]]]:
    """The ``unit`` of each tiered or volume rule that names one (``TieredRule.unit``), without
    outer spaces (``tiers.one_unit_sql`` compares it with the lines' units in lower case)."""
    units = [
        (plan.id, r.id, r.unit)
        for plan in pricing.plans.values()
        for r in plan.rules
        if isinstance(r, TieredRule) and r.unit is not None
    ]
    return {
        "plan_id": ("VARCHAR", [u[0] for u in units]),
        "rule_id": ("VARCHAR", [u[1] for u in units]),
        "tier_unit": ("VARCHAR", [u[2] for u in units]),
    }


def _minimums_table(pricing: Pricing) -> dict[str, tuple[str, list[Any]]]:
    """The fees (``FEE_KINDS``): a minimum fee's ``minimum`` and ``currency``, a percent fee's
    ``percent`` (in each customer's invoice currency: ``currency`` NULL), an allowance's
    ``amount`` (in ``minimum``: a run folder's minimum_fees.parquet keeps its columns) and
    ``currency``, a seat fee's ``unit_price`` (in ``minimum`` too), ``currency``, ``unit`` and
    ``prorate``, by ``fee_kind``."""
    minimums = [
        (plan, r)
        for plan in pricing.plans.values()
        for r in plan.rules
        if isinstance(r, MinimumFeeRule | PercentFeeRule | AllowanceRule | SeatFeeRule)
    ]
    scope = {
        f"m_{k}": ("VARCHAR", [r.match.fields().get(k) for _, r in minimums])
        for k in (*MINIMUM_SCOPE, "customer")
    }
    return {
        "plan_id": ("VARCHAR", [p.id for p, _ in minimums]),
        "rule_id": ("VARCHAR", [r.id for _, r in minimums]),
        **scope,
        "valid_from": ("DATE", [_validity(p, r)[0] for p, r in minimums]),
        "valid_to": ("DATE", [_validity(p, r)[1] for p, r in minimums]),
        "minimum": (
            DEC,
            [
                getattr(r, "unit_price" if r.kind == "seat_fee" else "amount", None)
                for _, r in minimums
            ],
        ),
        "currency": ("VARCHAR", [r.currency for _, r in minimums]),
        "fee_kind": ("VARCHAR", [r.kind for _, r in minimums]),
        "percent": (PERCENT, [getattr(r, "percent", None) for _, r in minimums]),
        "unit": ("VARCHAR", [getattr(r, "unit", None) for _, r in minimums]),
        "prorate": ("BOOLEAN", [getattr(r, "prorate", None) for _, r in minimums]),
        "rule_description": ("VARCHAR", [r.description for _, r in minimums]),
        "rule_product_group": ("VARCHAR", [r.product_group for _, r in minimums]),
    }


def register_pricing(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, customers: dict[str, Customer]
) -> None:
    """Put plans, rules, tiers, minimum fees, assignments, customers' currencies and exchange rates
    into temp tables for the SQL of the rating and the what-if (module docstring); installs the
    exact-division macros (``rating.exact``)."""
    install_macros(con)
    put_table(con, "price_rules", _rules_table(pricing))
    put_table(con, "price_tiers", _tiers_table(pricing))
    put_table(con, "price_tier_units", _tier_units_table(pricing))
    put_table(con, "price_minimums", _minimums_table(pricing))
    a = pricing.assignments
    put_table(
        con,
        "price_assignments",
        {
            "customer_id": ("VARCHAR", [x.customer_id for x in a]),
            "plan_id": ("VARCHAR", [x.plan_id for x in a]),
            "level": ("INTEGER", [x.level for x in a]),
            "valid_from": ("DATE", [x.valid_from for x in a]),
            "valid_to": ("DATE", [x.valid_to for x in a]),
        },
    )
    put_table(
        con,
        "price_customers",
        {
            "customer_id": ("VARCHAR", list(customers)),
            "currency": ("VARCHAR", [c.invoice_currency for c in customers.values()]),
            "line_grouping": ("VARCHAR[]", [list(c.line_grouping) for c in customers.values()]),
        },
    )
    pricing.fx.register(con, "_fx_rates")
