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
- ``account``: usage lines, and licence cycles (recurring purchases), whose customer changes
  inside their charge period: a mapping of their account or of their subscription starts or ends
  there, and the customer the day before and on it, taken as ``assign_customers`` takes it (a
  subscription's ``accounts.csv`` row before its tenant's), differ; per account or subscription,
  day and charge category. The lines are read only when a mapping starts or ends inside the
  month.

Both in ``rating_spans`` (``spans`` reads it); information only, the invoices stay as rated.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb

from billing_lib.customers import customer_joins_sql, customer_sql
from billing_lib.pricing import Pricing
from billing_lib.rating.exact import DEC
from billing_lib.rating.keys import (
    lines_with_keys,
    rating_key_plans_sql,
    rating_key_rules_sql,
    rating_keys_sql,
    tags_of,
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
               'Usage' AS category, CAST(NULL AS VARCHAR) AS tenant,
               CAST(NULL AS BOOLEAN) AS before_by_tenant, CAST(NULL AS BIGINT) AS mapping_row,
               min_by({{'file': l.x_SourceFile, 'row': l.x_SourceRow}}, l.x_SourceRow,
                      {ROWS_KEPT}) AS rows
        FROM {lines_with_keys(spanned, used)}
        WHERE l.ChargePeriodEnd > k.cut
        GROUP BY ALL"""


def account_boundaries_sql(first: date, last: date) -> str:
    """The days inside ``first`` .. ``last`` on which a mapping of a vendor account or
    subscription starts or ends (the day after its ``valid_to``)."""
    inside = f"BETWEEN DATE '{first.isoformat()}' + 1 AND DATE '{last.isoformat()}'"
    return f"""
        SELECT vendor, account_id, valid_from AS cut FROM account_map WHERE valid_from {inside}
        UNION SELECT vendor, account_id, CAST(valid_to + 1 AS DATE) FROM account_map
        WHERE CAST(valid_to + 1 AS DATE) {inside}"""


#: The lines a move can span: usage, and a licence's (or any recurring fee's) cycle, which is a
#: charge for days too (a licence cycle of 1-31 October billed wholly to the customer of the 1st).
SPANNABLE_SQL = (
    "(l.ChargeCategory = 'Usage' "
    "OR (l.ChargeCategory = 'Purchase' AND l.ChargeFrequency = 'Recurring'))"
)

#: Each line whose charge period runs across a day a mapping of its account or of its
#: subscription starts or ends (``rating_account_boundaries``) and whose customer changes on it,
#: the customer the day before and on it taken as ``assign_customers`` takes it (the
#: subscription's row before the account's: ``customer_joins_sql``); per the key whose row
#: decides (the subscription while a row of its own maps it on either day), that row's
#: accounts.csv row, day and charge category. One scan of the lines, which only runs when a
#: mapping starts or ends inside the month.
ACCOUNT_SPANS_SQL = f"""
    WITH c AS (
      SELECT DISTINCT l.rowid AS id, l.x_Vendor, l.SubAccountId, l.x_SubscriptionId,
             l.ChargeCategory, l.ChargePeriodStart, l.ChargePeriodEnd, l.BilledCost,
             l.BillingCurrency, l.x_SourceFile, l.x_SourceRow, unnest([t.cut, s.cut]) AS cut
      FROM lines l
      LEFT JOIN rating_account_boundaries t
        ON t.vendor = l.x_Vendor AND t.account_id = l.SubAccountId
       AND l.ChargePeriodStart < t.cut AND l.ChargePeriodEnd > t.cut
      LEFT JOIN rating_account_boundaries s
        ON s.vendor = l.x_Vendor AND s.account_id = l.x_SubscriptionId
       AND l.ChargePeriodStart < s.cut AND l.ChargePeriodEnd > s.cut
      WHERE {SPANNABLE_SQL}
        -- only a line running past the midnight after its start can span a day (hourly and
        -- daily lines do not): tested in the scan, before the joins
        AND l.ChargePeriodEnd > date_trunc('day', l.ChargePeriodStart) + INTERVAL 1 DAY
        AND (t.cut IS NOT NULL OR s.cut IS NOT NULL)),
    m AS (
      SELECT l.*, {customer_sql("sb", "mb")} AS before, {customer_sql("sa", "ma")} AS after,
             sb.customer_id IS NOT NULL OR sa.customer_id IS NOT NULL AS by_subscription,
             sb.customer_id IS NULL AND mb.customer_id IS NOT NULL AS before_by_tenant,
             CASE WHEN sb.customer_id IS NOT NULL OR sa.customer_id IS NOT NULL
                  THEN COALESCE(sa."row", sb."row") ELSE COALESCE(ma."row", mb."row") END
               AS mapping_row
      FROM c l
      {customer_joins_sql("account_map", "l.cut - 1", "sb", "mb")}
      {customer_joins_sql("account_map", "l.cut", "sa", "ma")}
      WHERE l.cut IS NOT NULL)
    SELECT 'account', before, x_Vendor, NULL,
           CASE WHEN by_subscription THEN x_SubscriptionId ELSE SubAccountId END,
           CAST(min(ChargePeriodStart) AS DATE), max(ChargePeriodEnd), cut, before, after,
           NULL, NULL, NULL, count(*), sum(BilledCost), BillingCurrency, ChargeCategory,
           CASE WHEN by_subscription THEN SubAccountId END,
           CASE WHEN by_subscription THEN before_by_tenant END, mapping_row,
           min_by({{'file': x_SourceFile, 'row': x_SourceRow}}, x_SourceRow, {ROWS_KEPT})
    FROM m WHERE before IS DISTINCT FROM after
    GROUP BY ALL"""


#: ``rating_spans`` without a span.
EMPTY_SPANS_SQL = f"""
    CREATE OR REPLACE TEMP TABLE rating_spans (kind VARCHAR, customer VARCHAR, vendor VARCHAR,
      product VARCHAR, account VARCHAR, first_day DATE, last_end TIMESTAMP, cut DATE,
      before VARCHAR, after VARCHAR, rate_before {DEC}, rate_after {DEC}, pair VARCHAR,
      lines BIGINT, cost {DEC}, currency VARCHAR, category VARCHAR, tenant VARCHAR,
      before_by_tenant BOOLEAN, mapping_row BIGINT, rows STRUCT(file VARCHAR, "row" BIGINT)[])"""


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
        tags = tags_of(used_scope(pricing))
        con.execute(rating_key_rules_sql("rating_span_plans", "rating_span_rules", tags))
        con.execute(rating_keys_sql("rating_span_rules", "rating_span_keys"))
        con.execute(
            f"{PRICE_SPANS_SQL}; DROP TABLE rating_span_probes; DROP TABLE rating_span_plans; "
            "DROP TABLE rating_span_rules; DROP TABLE rating_span_keys; "
            "DROP TABLE rating_span_cuts"
        )
        if one(con, "SELECT count(*) FROM rating_price_spans")[0]:
            parts.append(price_spans_sql(used_scope(pricing)))
    if moves:
        columns = ("vendor", "account_id", "cut")
        types = ("VARCHAR", "VARCHAR", "DATE")
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
    #: The lines' charge category: Usage, or Purchase (a licence cycle) for an account move.
    category: str | None
    #: For a move of a subscription's row (``account`` the subscription): the tenant it is under.
    tenant: str | None
    #: For a move of a subscription's row: its customer before the day was its tenant's row's.
    before_by_tenant: bool | None
    #: The accounts.csv row whose start or end is the move (the row in force from ``cut``, else
    #: the one ending before it).
    mapping_row: int | None
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
