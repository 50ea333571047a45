"""Usage lines whose charge period runs across a day the price or the customer changes.

A line is priced by the rules, plan and exchange rate of its charge date (its start), and belongs
to the customer ``accounts.csv`` maps its account to on that date. A report of monthly granularity
(AWS Data Exports: one line per account, resource and usage type from the 1st to the 1st) has
one charge date for the whole month: a markup from the 16th never applies, and an account taken
over by another customer on the 16th is billed wholly to the first. The rating follows the rule
as documented; ``mark_spans`` keeps for the review what it could not split:

- ``price``: keys (``rating.keys``) of usage whose lines run past a day where a plan, rule,
  assignment or exchange rate starts or ends, and that would be priced otherwise from that day
  (the key resolved again for it): per key, from the keys alone;
- ``account``: usage lines of an account whose ``accounts.csv`` mapping starts or ends inside
  their charge period, per account and day; the lines are read only when a mapping starts or ends
  inside the month.

Both in ``rating_spans`` (``spans`` reads it); information only, the invoices stay as rated.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb

from billing_lib.pricing import Pricing
from billing_lib.rating.exact import DEC
from billing_lib.rating.keys import (
    lines_with_keys,
    rating_key_plans_sql,
    rating_key_rules_sql,
    rating_keys_sql,
    used_scope,
)
from billing_lib.rating.tables import one, put_table

#: Source rows kept per span.
ROWS_KEPT = 3

#: Each usage key whose lines run past later days where a plan, rule, assignment or exchange
#: rate starts or ends (``rating_segment_starts``): its plan, customer, currencies and those days.
SPANNING_SQL = """
    SELECT k.key_id, k.plan_id, k.customer, k.vendor_currency, k.currency,
           list(x.cut ORDER BY x.cut)
    FROM rating_keys k JOIN rating_segment_starts x
      ON x.cut > k.segment AND x.cut < k.last_end
    WHERE k.charge_category = 'Usage'
    GROUP BY ALL"""

#: Each key of ``rating_span_cuts`` once per day, as a key of its own (``spanned_key``: the key
#: it stands for) charged on that day.
PROBES_SQL = """
    CREATE OR REPLACE TEMP TABLE rating_span_probes AS
    SELECT row_number() OVER (ORDER BY k.key_id, x.cut) AS key_id, k.key_id AS spanned_key,
           k.* EXCLUDE (key_id, segment, charge_date), x.cut AS segment, x.cut AS charge_date
    FROM rating_line_keys k JOIN rating_span_cuts x USING (key_id)"""


def _bounds(lo: date | None, hi: date | None) -> set[date]:
    """The days a span of ``lo`` .. ``hi`` (inclusive, None: open) starts or stops."""
    days = {lo} if lo is not None else set()
    if hi is not None and hi < date.max:
        days.add(hi + timedelta(days=1))
    return days


def _cut_days(pricing: Pricing, plan_id: str, customer: str, pair: tuple[str, str]) -> set[date]:
    """The days something that prices a key of ``plan_id``, ``customer`` and currency ``pair``
    starts or stops: the plan and its rules, the customer's assignments, the pair's exchange
    rates (none when the vendor's currency is the invoice's). Other days change nothing for it."""
    days: set[date] = set()
    plan = pricing.plans.get(plan_id)
    if plan is not None:
        days |= _bounds(plan.valid_from, plan.valid_to)
        for rule in plan.rules:
            days |= _bounds(rule.valid_from, rule.valid_to)
    for a in pricing.assignments:
        if a.customer_id == customer:
            days |= _bounds(a.valid_from, a.valid_to)
    if pair[0] != pair[1]:
        for fx in pricing.fx.rates:
            if (fx.from_currency, fx.to_currency) == pair:
                days |= _bounds(fx.valid_from, fx.valid_to)
    return days


#: The first later cut at which a usage key would be priced otherwise.
PRICE_SPANS_SQL = """
    CREATE OR REPLACE TEMP TABLE rating_price_spans AS
    SELECT k.key_id, s.charge_date AS cut, k.plan_id || '/' || k.rule_id AS before,
           s.plan_id || '/' || s.rule_id AS after, k.fx_rate AS rate_before,
           s.fx_rate AS rate_after
    FROM rating_span_keys s JOIN rating_keys k ON k.key_id = s.spanned_key
    WHERE s.plan_id IS DISTINCT FROM k.plan_id OR s.rule_id IS DISTINCT FROM k.rule_id
       OR s.action IS DISTINCT FROM k.action
       OR (k.action = 'rate' AND s.fx_rate IS DISTINCT FROM k.fx_rate)
    QUALIFY row_number() OVER (PARTITION BY k.key_id ORDER BY s.charge_date) = 1"""


def price_spans_sql(used: list[str]) -> str:
    """The price spans as ``rating_spans`` rows: each key of ``rating_price_spans`` with its
    lines that run past the cut (their count, cost and first rows: read for these keys only)."""
    spanned = (
        "(SELECT k.*, p.cut, p.before, p.after, p.rate_before, p.rate_after "
        "FROM rating_keys k JOIN rating_price_spans p USING (key_id))"
    )
    return f"""
        SELECT 'price' AS kind, k.customer, k.vendor,
               COALESCE(k.service, k.sku, k.charge_type) AS product,
               CAST(NULL AS VARCHAR) AS account, CAST(min(l.ChargePeriodStart) AS DATE)
               AS first_day, max(l.ChargePeriodEnd) AS last_end, k.cut, k.before, k.after,
               k.rate_before, k.rate_after, k.vendor_currency || '->' || k.currency AS pair,
               count(*) AS lines, sum(l.BilledCost) AS cost, l.BillingCurrency AS currency,
               min_by({{'file': l.x_SourceFile, 'row': l.x_SourceRow}}, l.x_SourceRow,
                      {ROWS_KEPT}) AS rows
        FROM {lines_with_keys(spanned, used)}
        WHERE l.ChargePeriodEnd > k.cut
        GROUP BY ALL"""


def account_boundaries_sql(first: date, last: date) -> str:
    """The days inside ``first`` .. ``last`` on which an account's mapping starts or ends (the day
    after its ``valid_to``), with its customer the day before and on that day."""
    on = (
        "{m}.vendor = b.vendor AND {m}.account_id = b.account_id AND {day} BETWEEN "
        "COALESCE({m}.valid_from, DATE '0001-01-01') AND COALESCE({m}.valid_to, DATE '9999-12-31')"
    )
    inside = f"BETWEEN DATE '{first.isoformat()}' + 1 AND DATE '{last.isoformat()}'"
    return f"""
        SELECT b.vendor, b.account_id, b.cut, m.customer_id AS before, n.customer_id AS after
        FROM (SELECT vendor, account_id, valid_from AS cut FROM account_map
              WHERE valid_from {inside}
              UNION SELECT vendor, account_id, CAST(valid_to + 1 AS DATE) FROM account_map
              WHERE CAST(valid_to + 1 AS DATE) {inside}) b
        LEFT JOIN account_map m ON {on.format(m="m", day="b.cut - 1")}
        LEFT JOIN account_map n ON {on.format(m="n", day="b.cut")}"""


ACCOUNT_SPANS_SQL = f"""
    SELECT 'account', b.before, l.x_Vendor, NULL, l.SubAccountId,
           CAST(min(l.ChargePeriodStart) AS DATE), max(l.ChargePeriodEnd), b.cut, b.before,
           b.after, NULL, NULL, NULL, count(*), sum(l.BilledCost), l.BillingCurrency,
           min_by({{'file': l.x_SourceFile, 'row': l.x_SourceRow}}, l.x_SourceRow, {ROWS_KEPT})
    FROM lines l JOIN rating_account_boundaries b
      ON l.x_Vendor = b.vendor AND l.SubAccountId = b.account_id
    WHERE l.ChargeCategory = 'Usage'
      -- only a line running past the midnight after its start can span a day (hourly and
      -- daily lines do not): tested in the scan, before the join
      AND l.ChargePeriodEnd > date_trunc('day', l.ChargePeriodStart) + INTERVAL 1 DAY
      AND l.ChargePeriodStart < b.cut AND l.ChargePeriodEnd > b.cut
    GROUP BY ALL"""


#: ``rating_spans`` without a span.
EMPTY_SPANS_SQL = f"""
    CREATE OR REPLACE TEMP TABLE rating_spans (kind VARCHAR, customer VARCHAR, vendor VARCHAR,
      product VARCHAR, account VARCHAR, first_day DATE, last_end TIMESTAMP, cut DATE,
      before VARCHAR, after VARCHAR, rate_before {DEC}, rate_after {DEC}, pair VARCHAR,
      lines BIGINT, cost {DEC}, currency VARCHAR, rows STRUCT(file VARCHAR, "row" BIGINT)[])"""


def mark_spans(con: duckdb.DuckDBPyConnection, pricing: Pricing, first: date, last: date) -> None:
    """``rating_spans`` (module docstring), after ``rating_keys``: the usage keys resolved again
    on each later day inside their lines where something that prices them changes, the lines
    read only for those priced otherwise there; the lines of the accounts whose mapping starts
    or ends inside the month (none read when no mapping does)."""
    cuts: dict[str, tuple[str, list]] = {"key_id": ("BIGINT", []), "cut": ("DATE", [])}
    for key, plan, customer, vendor_currency, currency, days in con.execute(
        SPANNING_SQL
    ).fetchall():
        for day in set(days) & _cut_days(pricing, plan, customer, (vendor_currency, currency)):
            cuts["key_id"][1].append(key)
            cuts["cut"][1].append(day)
    moves = con.execute(account_boundaries_sql(first, last)).fetchall()
    parts = []
    if cuts["cut"][1]:  # those keys resolved again on each such day
        put_table(con, "rating_span_cuts", cuts)
        con.execute(PROBES_SQL)
        con.execute(rating_key_plans_sql("rating_span_probes", "rating_span_plans"))
        con.execute(rating_key_rules_sql("rating_span_plans", "rating_span_rules"))
        con.execute(rating_keys_sql("rating_span_rules", "rating_span_keys"))
        con.execute(
            f"{PRICE_SPANS_SQL}; DROP TABLE rating_span_probes; DROP TABLE rating_span_plans; "
            "DROP TABLE rating_span_rules; DROP TABLE rating_span_keys; "
            "DROP TABLE rating_span_cuts"
        )
        if one(con, "SELECT count(*) FROM rating_price_spans")[0]:
            parts.append(price_spans_sql(used_scope(pricing)))
    if moves:
        columns = ("vendor", "account_id", "cut", "before", "after")
        types = ("VARCHAR", "VARCHAR", "DATE", "VARCHAR", "VARCHAR")
        put_table(
            con,
            "rating_account_boundaries",
            {
                c: (t, [m[i] for m in moves])
                for i, (c, t) in enumerate(zip(columns, types, strict=True))
            },
        )
        parts.append(ACCOUNT_SPANS_SQL)
    union = " UNION ALL ".join(f"({q})" for q in parts)
    con.execute(
        f"{EMPTY_SPANS_SQL}; INSERT INTO rating_spans SELECT * FROM ({union})"
        if parts
        else EMPTY_SPANS_SQL
    )


@dataclass(frozen=True)
class Span:
    """Usage charged across a day the price (``kind`` price: rule and exchange rate ``before``
    and ``after``) or the customer (``kind`` account: customers ``before`` and ``after``)
    changes, billed wholly as on its first day."""

    kind: str
    customer: str | None
    vendor: str
    product: str | None
    account: str | None
    first_day: date
    last_end: datetime
    cut: date
    before: str | None
    after: str | None
    rate_before: Decimal | None
    rate_after: Decimal | None
    pair: str | None
    lines: int
    cost: Decimal | None
    currency: str | None
    rows: tuple[tuple[str, int], ...]


def spans(con: duckdb.DuckDBPyConnection) -> list[Span]:
    """The spans ``mark_spans`` kept; none when the rating made no such table."""
    try:
        found = con.execute(
            "SELECT * FROM rating_spans ORDER BY kind, customer, vendor, account, first_day"
        ).fetchall()
    except duckdb.CatalogException:
        return []
    names = [f.name for f in fields(Span)]
    return [
        Span(
            **dict(zip(names[:-1], row[:-1], strict=True)),
            rows=tuple((r["file"], r["row"]) for r in row[-1] or []),
        )
        for row in found
    ]
