"""What the checks after the mapping need to know about a file's lines, from one scan of them.

At 10 million lines ``lines`` is far larger than DuckDB's memory limit and lives mostly in its
temporary files: each check that scanned ``__new`` on its own (the model's rules, the control
totals after normalisation, the period, the signs, the charge period of the ``imports`` record)
read it back from disk again. ``line_facts`` counts what every one of them looks for in one pass,
per charge category and currency, into the small table ``__facts``; a check whose count is zero
passes without reading the lines, and one that finds something runs its own query for the rows
and values its message names, as before. ``__facts`` is read back once, with the sums per currency
beside each group (``FactGroup``): on a small file each statement costs more than its data, and the
control totals and the one-currency check take their figures from these rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import duckdb

from billing_lib.importers.spec import FormatSpec
from billing_lib.model import date_in_range_sql, violation_rules
from billing_lib.periods import month_days
from billing_lib.sql import ql, timestamp_literal

#: The small table of counts per charge category and currency ``line_facts`` writes.
FACTS = "__facts"
#: Columns ``__facts`` is grouped by: rules on them are tested once per group.
_KEYS = ("ChargeCategory", "BillingCurrency")
#: Tags that are not a JSON object (check_model). The CASE keeps json_type from invalid text:
#: DuckDB computes both sides of an OR for every row, and json_type raises on what json_valid
#: refuses (a tab in a tag).
BAD_TAGS_SQL = (
    "Tags IS NOT NULL AND CASE WHEN json_valid(Tags) THEN json_type(Tags) <> 'OBJECT' ELSE true END"
)


@dataclass(frozen=True)
class FactGroup:
    """One row of ``__facts``: the lines and exact BilledCost of a charge category in a currency,
    and the lines and cost of that currency over every category (DuckDB's sums, exact). A NULL
    category, currency or cost is possible only on lines that check_model refuses."""

    category: str
    currency: str
    lines: int
    cost: Decimal
    currency_lines: int
    currency_cost: Decimal


@dataclass(frozen=True)
class LineFacts:
    """Counts over a file's lines (``__new``): lines breaking the model's rules or with bad tags,
    lines whose signs contradict, lines charged in the period (None: no period given), and the
    first charge start and last charge end; ``groups``: the rows of ``__facts`` in category and
    currency order (not compared: they are the counts' detail); ``without_line_id``: lines
    without a vendor line id (an AWS CUR exported without its identity columns), compared across
    reports by what they bill instead (line_content.remember_rows)."""

    broken: int
    wrong_signs: int
    in_period: int | None
    first_start: datetime | None
    last_end: datetime | None
    groups: tuple[FactGroup, ...] = field(default=(), compare=False)
    without_line_id: int = 0
    #: per currency, the lines that do not begin in the period (``begins_in_period_sql``; empty:
    #: no period given)
    begun_before: dict[str, int] = field(default_factory=dict, compare=False)

    def most_begun_before(self) -> bool:
        """Whether in some currency most lines do not begin in the period (``check_in_period``
        reads the lines only then)."""
        lines = {g.currency: g.currency_lines for g in self.groups}
        return any(n * 2 > lines.get(c, 0) for c, n in self.begun_before.items())


def _overlaps(start: str, end: str, first: date, after: date) -> str:
    """SQL: the interval [start, end) (end NULL or equal to start: the instant start) meets the
    days first .. after - 1."""
    return (
        f"({start} < {timestamp_literal(after)} AND "
        f"greatest(COALESCE({end}, {start}), {start} + INTERVAL 1 MICROSECOND) "
        f"> {timestamp_literal(first)})"
    )


def in_period_sql(period: str) -> str:
    """SQL true for a line charged in ``period`` (``YYYY-MM``): its charge period or its billing
    period meets the month."""
    first, after = _month_bounds(period)
    charge = _overlaps("ChargePeriodStart", "ChargePeriodEnd", first, after)
    return f"{charge} OR {_billed_in(first, after)}"


def begins_in_period_sql(period: str) -> str:
    """SQL true for a line that begins in ``period``: its charge starts in the month, or its
    billing period meets it (a late credit of last month on this month's AWS bill)."""
    first, after = _month_bounds(period)
    return (
        f"(ChargePeriodStart >= {timestamp_literal(first)} AND "
        f"ChargePeriodStart < {timestamp_literal(after)}) OR {_billed_in(first, after)}"
    )


def billed_before_sql(period: str) -> str:
    """SQL true for a line on a vendor bill of an earlier period: its billing period (where the
    format has one) ends before ``period`` begins."""
    first, after = _month_bounds(period)
    return (
        f"(BillingPeriodStart IS NOT NULL AND BillingPeriodStart < {timestamp_literal(first)} "
        f"AND NOT {_billed_in(first, after)})"
    )


def _month_bounds(period: str) -> tuple[date, date]:
    """The first day of ``period`` and the first day after it."""
    first, last = month_days(period, "period")
    return first, date.fromordinal(last.toordinal() + 1)


def _billed_in(first: date, after: date) -> str:
    """SQL true for a line whose billing period (where the format has one) meets the days from
    ``first`` to before ``after``."""
    return (
        f"(BillingPeriodStart IS NOT NULL AND "
        f"{_overlaps('BillingPeriodStart', 'BillingPeriodEnd', first, after)})"
    )


def sign_rule_sql(spec: FormatSpec) -> str:
    """SQL true for a line of ``__new`` whose quantity and cost contradict: a negative priced
    quantity with a positive cost (any line), or a positive quantity with a negative cost on a
    charge (Usage, Purchase) that is not one of the format's ``positive_quantity_credits``."""
    exempt = ", ".join(ql(t) for t in spec.positive_quantity_credits)
    not_exempt = f" AND COALESCE(x_VendorChargeType, '') NOT IN ({exempt})" if exempt else ""
    return (
        "(PricingQuantity < 0 AND BilledCost > 0 AND ChargeCategory <> 'Tax') OR "
        "(PricingQuantity > 0 AND BilledCost < 0 AND ChargeCategory IN ('Usage', 'Purchase')"
        f"{not_exempt})"
    )


def _or(conditions: list[str]) -> str:
    return " OR ".join(f"({c})" for c in conditions) or "false"


def line_facts(
    con: duckdb.DuckDBPyConnection, spec: FormatSpec, period: str | None = None
) -> LineFacts:
    """Scan ``__new`` once into ``__facts`` (lines and BilledCost per ChargeCategory and
    BillingCurrency, exact) and return the counts the checks start from, with its rows."""
    rules = [condition for condition, column, _, _ in violation_rules() if column not in _KEYS]
    on_keys = [condition for condition, column, _, _ in violation_rules() if column in _KEYS]
    inside = f"count_if({in_period_sql(period)})" if period else "NULL"
    begun = f"count_if(NOT COALESCE({begins_in_period_sql(period)}, false))" if period else "0"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {FACTS} AS
            SELECT ChargeCategory, BillingCurrency, count(*) AS lines, sum(BilledCost) AS cost,
                   count_if({_or([*rules, BAD_TAGS_SQL])}) AS broken,
                   count_if({sign_rule_sql(spec)}) AS wrong_signs,
                   {inside} AS in_period,
                   min(ChargePeriodStart) FILTER ({date_in_range_sql("ChargePeriodStart")})
                     AS first_start,
                   max(ChargePeriodEnd) FILTER ({date_in_range_sql("ChargePeriodEnd")})
                     AS last_end,
                   count(*) - count(x_VendorLineId) AS without_line_id,
                   {begun} AS begun_before
            FROM __new GROUP BY ALL"""
    )
    # the rules on the keys once per group; the sums per currency by DuckDB, exact
    rows = con.execute(
        f"""SELECT ChargeCategory, BillingCurrency, lines, cost, sum(lines) OVER cur,
                   sum(cost) OVER cur, broken, wrong_signs, in_period, first_start, last_end,
                   ({_or(on_keys)}) IS TRUE, without_line_id, begun_before
            FROM {FACTS} WINDOW cur AS (PARTITION BY BillingCurrency) ORDER BY 1, 2"""
    ).fetchall()
    starts = [r[9] for r in rows if r[9] is not None]
    begun_before: dict[str, int] = {}
    for r in rows:
        if r[13]:
            begun_before[r[1]] = begun_before.get(r[1], 0) + r[13]
    ends = [r[10] for r in rows if r[10] is not None]
    # count_if over a group whose condition is NULL on every line is NULL: counted as none
    return LineFacts(
        sum((r[6] or 0) + (r[2] if r[11] else 0) for r in rows),
        sum(r[7] or 0 for r in rows),
        None if not period else sum(r[8] or 0 for r in rows),
        min(starts, default=None),
        max(ends, default=None),
        tuple(FactGroup(r[0], r[1], r[2], r[3], int(r[4]), r[5]) for r in rows),
        sum(r[12] for r in rows),
        begun_before,
    )
