"""Lines priced on their amortised cost (a rule's ``basis: EffectiveCost``) that have none.

A vendor report computes a commitment line's EffectiveCost from columns of its own (AWS: the
Savings Plan and reservation columns, the format's ``effective_cost_columns``), and AWS Data
Exports lets a user leave those out. Such a line has no EffectiveCost, and a fallback to its
BilledCost would bill it wrong in silence: Savings-Plan-covered usage at its on-demand price on top
of the plan's fee, reserved-instance usage at 0 and the reservation's fee to nobody. So the rating
refuses it, naming the file, the row and the columns, when a rule would price it on EffectiveCost;
priced on BilledCost (or a credit passed on at it) the line's figures are right and it passes.

Counted per key while the keys are made (``rating_line_keys.no_effective_cost``): the lines are
read only when a key has such a line.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.spec import spec_named
from billing_lib.pricing import Pricing
from billing_lib.rating.keys import lines_with_keys, used_scope
from billing_lib.rating.tables import SHOWN

#: A key whose lines are priced on their EffectiveCost (vendor_cost_sql).
PRICED_ON_EFFECTIVE_COST = (
    "k.action = 'rate' AND k.basis = 'EffectiveCost' AND k.pricing <> 'pass_on'"
)


def source_columns(format_name: str, charge_type: str | None) -> str:
    """``EffectiveCost (from savings_plan_savings_plan_effective_cost)``: the vendor columns a
    line's EffectiveCost is computed from in its format."""
    try:
        spec = spec_named(format_name)
    except InputError:  # lines not read by a format (tests, a format since removed)
        return "EffectiveCost"
    columns = spec.effective_cost_columns.get(charge_type or "")
    if columns is None:
        columns = [c for c in spec.column_map("EffectiveCost").alternatives()[:1]]
    if not columns or columns == ["EffectiveCost"]:
        return "EffectiveCost"
    return f"EffectiveCost (from {', '.join(columns)})"


def check_effective_costs(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    """InputError counting the lines that a rule prices on EffectiveCost and that have none,
    naming the first (up to SHOWN); nothing to read when no key has such a line."""
    count = con.execute(
        f"SELECT COALESCE(sum(k.no_effective_cost), 0) FROM rating_keys k "
        f"WHERE {PRICED_ON_EFFECTIVE_COST} AND k.no_effective_cost > 0"
    ).fetchall()[0][0]
    if not count:
        return
    rows = con.execute(
        f"""SELECT l.x_SourceFile, l.x_SourceRow, l.x_Format, l.x_VendorChargeType, k.plan_id,
                   k.rule_id
            FROM {lines_with_keys("rating_keys", used_scope(pricing))}
            WHERE {PRICED_ON_EFFECTIVE_COST} AND l.EffectiveCost IS NULL
            ORDER BY l.x_SourceFile, l.x_SourceRow"""
    ).fetchmany(SHOWN)
    problems = [
        Problem(
            file,
            row,
            source_columns(fmt, kind),
            None,
            f"the amortised cost of this {f'{kind} line' if kind else 'line'}, which "
            f"{pricing.rule_entry(plan, rule)} prices (basis EffectiveCost)",
        )
        for file, row, fmt, kind, plan, rule in rows
    ]
    raise InputError(
        f"{count} line(s) priced on their amortised cost (EffectiveCost) have none: the vendor "
        "report lacks the columns it is computed from, or their values (an export without the "
        "Savings Plan or reservation columns), and billing them at their BilledCost instead would "
        "bill covered usage at its on-demand price or a reservation to nobody. Export the report "
        "with those columns (AWS Data Exports: include the savings_plan_* and reservation_* "
        f"columns), or price these lines on BilledCost (the rule's basis in "
        f"{pricing.plans_path})",
        problems,
    )
