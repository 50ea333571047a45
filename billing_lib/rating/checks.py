"""What a rating reports and refuses: the conservation of the vendors' BilledCost per vendor
currency, the line counts, and the warnings (rules that matched nothing, lines charged outside
the period)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from billing_lib.errors import ControlTotalError
from billing_lib.pricing import FEE_KINDS, Pricing, catch_all_rules
from billing_lib.rating.exact import DEC
from billing_lib.rating.tables import one


@dataclass(frozen=True)
class CurrencyBalance:
    """Conservation of one vendor currency: imported = rated + excluded + unmapped (BilledCost)."""

    currency: str
    imported: Decimal
    rated: Decimal
    excluded: Decimal
    unmapped: Decimal

    @property
    def difference(self) -> Decimal:
        return self.imported - self.rated - self.excluded - self.unmapped


@dataclass
class RatingReport:
    """What a rating did: line counts, the conservation check per vendor currency, and warnings
    (rules that matched nothing, lines charged outside the period)."""

    period: str
    #: rated_lines.parquet as the rating wrote it (``rated_lines`` is a view over it)
    rated_file: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    conservation: list[CurrencyBalance] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return all(b.difference == 0 for b in self.conservation)

    def conservation_frame(self) -> pd.DataFrame:
        """The conservation check as a table (exact Decimals)."""
        return pd.DataFrame(
            [
                {
                    "vendor_currency": b.currency,
                    "imported": b.imported,
                    "rated": b.rated,
                    "excluded": b.excluded,
                    "unmapped": b.unmapped,
                    "difference": b.difference,
                }
                for b in self.conservation
            ]
        )


CONSERVATION_SQL = f"""
    WITH i AS (SELECT BillingCurrency AS c, sum(BilledCost) AS v FROM customer_lines GROUP BY 1),
         r AS (SELECT vendor_currency AS c, sum(billed_cost) AS v FROM rated_lines
               WHERE line_kind = 'vendor' GROUP BY 1),
         e AS (SELECT BillingCurrency AS c, sum(BilledCost) AS v FROM excluded_lines GROUP BY 1),
         u AS (SELECT BillingCurrency AS c, sum(BilledCost) AS v FROM unmapped_lines GROUP BY 1),
         cur AS (SELECT c FROM i UNION SELECT c FROM r UNION SELECT c FROM e UNION SELECT c FROM u)
    SELECT cur.c, CAST(COALESCE(i.v, 0) AS {DEC}), CAST(COALESCE(r.v, 0) AS {DEC}),
           CAST(COALESCE(e.v, 0) AS {DEC}), CAST(COALESCE(u.v, 0) AS {DEC})
    FROM cur LEFT JOIN i USING (c) LEFT JOIN r USING (c) LEFT JOIN e USING (c)
    LEFT JOIN u USING (c)
    ORDER BY cur.c"""

COUNTS_SQL = """
    SELECT 'customer_lines', count(*) FROM customer_lines
    UNION ALL SELECT 'rated_' || line_kind, count(*) FROM rated_lines GROUP BY line_kind
    UNION ALL SELECT 'excluded', count(*) FROM excluded_lines
    UNION ALL SELECT 'unmapped', count(*) FROM unmapped_lines"""


def conservation(con: duckdb.DuckDBPyConnection, period: str) -> list[CurrencyBalance]:
    """The balance per vendor currency; ControlTotalError when one does not add up exactly."""
    balances = [CurrencyBalance(*r) for r in con.execute(CONSERVATION_SQL).fetchall()]
    shown = "; ".join(
        f"{b.currency}: imported {b.imported}, rated {b.rated}, excluded {b.excluded}, "
        f"unmapped {b.unmapped}, difference {b.difference}"
        for b in balances
        if b.difference
    )
    if shown:
        raise ControlTotalError(
            f"rating {period} does not conserve the vendors' BilledCost: {shown}"
        )
    return balances


def line_counts(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, int]:
    """Lines per table and rated line kind; ControlTotalError when customer lines are not all
    rated, excluded or unmapped exactly once."""
    counts = dict(con.execute(COUNTS_SQL).fetchall())
    rated = counts.get("rated_vendor", 0)
    if counts["customer_lines"] != rated + counts["excluded"] + counts["unmapped"]:
        raise ControlTotalError(
            f"rating {period}: {counts['customer_lines']} customer lines but "
            f"{rated} rated + {counts['excluded']} excluded + {counts['unmapped']} unmapped"
        )
    return counts


UNMATCHED_RULES_SQL = """
    SELECT r.plan_id, r.rule_id FROM price_rules r
    WHERE r.valid_from <= $last AND r.valid_to >= $first
      AND r.plan_id IN (SELECT plan_id FROM price_assignments
                        WHERE valid_from <= $last AND valid_to >= $first)
      AND NOT EXISTS (SELECT 1 FROM rating_key_rules k
                      WHERE k.plan_id = r.plan_id AND k.rule_id = r.rule_id)
    ORDER BY r.plan_id, r.rule_id"""

OUTSIDE_SQL = """
    SELECT count(*), min(charge_date), max(charge_date) FROM rated_lines
    WHERE line_kind = 'vendor' AND charge_date NOT BETWEEN $first AND $last"""


def warnings(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, period: str, first: date, last: date
) -> list[str]:
    """Rules in force this month that matched no line, but a catch-all rule (no match field:
    that it matched nothing means the plan's other rules priced every line, as they should);
    vendor lines charged outside the month."""
    days = {"first": first, "last": last}
    catch_all = set(catch_all_rules(pricing.plans))
    out = [
        f"{pricing.plans_path}, {pricing.rule_entry(plan_id, rule_id)}: "
        f"the rule matched no line in {period}"
        for plan_id, rule_id in con.execute(UNMATCHED_RULES_SQL, days).fetchall()
        if (plan_id, rule_id) not in catch_all
    ]
    out += minimum_fees_ending_within(pricing, period, first, last)
    outside = one(con, OUTSIDE_SQL, days)
    if outside[0]:
        out.append(
            f"{outside[0]} rated lines are charged outside {period} ({outside[1]} to "
            f"{outside[2]}); they are billed in this period, priced by the rules of their "
            "charge dates"
        )
    return out


def minimum_fees_ending_within(pricing: Pricing, period: str, first: date, last: date) -> list[str]:
    """Fees (minimum and percent fees, allowances, seat fees) whose dates start or end inside the
    month: a fee applies to a month in force on its last day, whole (docs/pricing.md), so one
    ending on the 30th is not billed at all and one starting on the 31st is billed in full (a
    percent fee, an allowance or a seat fee on the whole month's lines); said, not silent."""
    out = []
    for plan in pricing.plans.values():
        for rule in plan.rules:
            if rule.kind not in FEE_KINDS:
                continue
            ends = rule.valid_to is not None and first <= rule.valid_to < last
            starts = rule.valid_from is not None and first < rule.valid_from <= last
            if not (ends or starts):
                continue
            applies = (rule.valid_from is None or rule.valid_from <= last) and (
                rule.valid_to is None or rule.valid_to >= last
            )
            when = f"ends on {rule.valid_to}" if ends else f"starts on {rule.valid_from}"
            what = rule.kind.replace("_", " ")  # minimum fee, percent fee, allowance, seat fee
            short = "a minimum" if rule.kind == "minimum_fee" else f"a {what}"
            whole = f"{short.replace('a a', 'an a')} applies to a month in force on its last day"
            lines = ", whole," if rule.kind == "minimum_fee" else ", to the whole month's lines,"
            out.append(
                f"{pricing.plans_path}, {pricing.rule_entry(plan.id, rule.id)}: the {what} "
                f"{when}, within {period}; {whole} ({last}){lines} not prorated: "
                + ("billed in full for the month" if applies else f"not billed for {period}")
            )
    return out
