"""Rating: every customer line of a month priced by its customer's plan, in DuckDB SQL.

``rate_lines`` creates three tables from ``customer_lines``:

- ``rated_lines`` (docs/architecture.md): one row per billed vendor line, plus the custom lines
  (fees, one-offs, credits) and minimum-fee top-ups;
- ``excluded_lines``: customer lines not billed (vendor taxes, exclude rules, credits the reseller
  keeps), every column of ``customer_lines`` plus ``reason``, ``plan_id``, ``rule_id``;
- ``unmapped_lines``: customer lines without a customer.

How the rules are applied without touching lines one by one: the lines are reduced to their
distinct *keys* (customer, vendor, provider, publisher, service, sku, charge category, vendor charge
type, currency, charge date) - a few thousand even for ten million lines. Plans, rules and exchange
rates are resolved per key (join to the candidate rules, keep the most specific with a window
function); the lines then join back to their key once and are priced by the rule's kind. Amounts
stay unrounded at 12 decimal places (docs/rounding.md); divisions use ``_xdiv`` (exact integer
arithmetic, half-up), because DuckDB divides DECIMALs as DOUBLE.

Conservation is checked before returning, per vendor currency and exactly:
``sum(customer_lines.BilledCost) = rated vendor lines' billed_cost + excluded + unmapped``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from billing_lib.customers import Customer
from billing_lib.errors import ControlTotalError, ParameterError
from billing_lib.fx import missing_rate_error
from billing_lib.importers.engine import ql
from billing_lib.line_labels import check_grouping, labelled_sql, resource_name_sql
from billing_lib.money import SQL_AMOUNT
from billing_lib.periods import month_days
from billing_lib.pricing import (
    CREDIT_CATEGORIES,
    MinimumFeeRule,
    Pricing,
    TieredRule,
)
from billing_lib.store import frame

DEC = SQL_AMOUNT
_TWELVE = Decimal("0.000000000001")
#: How many offending lines or keys an error message lists.
SHOWN = 5

#: Columns of ``rated_lines`` in order (docs/architecture.md), with their DuckDB types.
RATED_COLUMNS: dict[str, str] = {
    "customer_id": "VARCHAR",
    "period": "VARCHAR",
    "charge_date": "DATE",
    "line_kind": "VARCHAR",
    "vendor": "VARCHAR",
    "provider": "VARCHAR",
    "publisher": "VARCHAR",
    "service": "VARCHAR",
    "sku": "VARCHAR",
    "charge_category": "VARCHAR",
    "subscription": "VARCHAR",
    "subscription_name": "VARCHAR",
    "tags": "VARCHAR",
    "product_group": "VARCHAR",
    "description": "VARCHAR",
    "quantity": DEC,
    "unit": "VARCHAR",
    "unit_price": DEC,
    "amount": DEC,
    "cost": DEC,
    "vendor_cost": DEC,
    "billed_cost": DEC,
    "vendor_currency": "VARCHAR",
    "fx_rate": DEC,
    "currency": "VARCHAR",
    "plan_id": "VARCHAR",
    "rule_id": "VARCHAR",
    "source_file": "VARCHAR",
    "source_row": "BIGINT",
    "vendor_line_id": "VARCHAR",
}

# Exact division to 12 places, half away from zero (= half-up for money), through HUGEINT: DuckDB
# would turn DECIMAL / DECIMAL into DOUBLE. n: DECIMAL(38,12) below 8.5e13; d: DECIMAL or integer.
_MACROS = f"""
CREATE OR REPLACE TEMP MACRO _scaled(x) AS CAST(CAST(x AS {DEC}) * 1000000000000 AS HUGEINT);
CREATE OR REPLACE TEMP MACRO _xdiv(n, d) AS CASE WHEN _scaled(d) = 0 THEN NULL ELSE
  CAST(CAST(sign(_scaled(n)) * sign(_scaled(d))
            * ((abs(_scaled(n)) * 2000000000000 + abs(_scaled(d))) // (2 * abs(_scaled(d))))
       AS DECIMAL(38,0)) * CAST(0.000000000001 AS DECIMAL(13,12)) AS {DEC}) END;
"""

_KEY_COLUMNS = (
    "vendor",
    "provider",
    "publisher",
    "service",
    "sku",
    "charge_category",
    "charge_type",
)
_SCOPE_TO_LINE = {
    "vendor": "x_Vendor",
    "provider": "ProviderName",
    "publisher": "PublisherName",
    "service": "ServiceName",
    "sku": "SkuId",
    "charge_category": "ChargeCategory",
    "charge_type": "x_VendorChargeType",
}


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


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of ``sql`` or None, with the result read to its end (DuckDB 2 refuses new
    work on a connection while a result is unfinished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


# -- the parameters as tables --------------------------------------------------------------------


def _put(
    con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, tuple[str, list[Any]]]
) -> None:
    """Create temp table ``name`` from Python values: column -> (DuckDB type, values). Decimals go
    through text so they stay exact."""
    arrow = pa.table(
        {
            c: pa.array(
                [None if v is None else str(v) if isinstance(v, Decimal) else v for v in vals],
                pa.string() if t.startswith("DECIMAL") else None,
            )
            for c, (t, vals) in columns.items()
        }
    )
    con.register("__rows", arrow)
    try:
        cols = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, (t, _) in columns.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols} FROM __rows")
    finally:
        con.unregister("__rows")


def _factor(rule: Any) -> Decimal | None:
    if rule.kind == "markup":
        return 1 + rule.percent / 100
    if rule.kind == "list_price":
        return (
            1 - rule.discount_percent / 100
            if rule.discount_percent is not None
            else 1 + rule.uplift_percent / 100
        )
    return None


def register_pricing(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, customers: dict[str, Customer]
) -> None:
    """Put plans, rules, tiers, minimum fees, assignments, customers' currencies and exchange rates
    into temp tables (``_pr_*``, ``_fx_rates``) for the SQL of the rating and the what-if."""
    con.execute(_MACROS)
    low, high = date(1, 1, 1), date(9999, 12, 31)
    rules: list[tuple[str, Any]] = []
    minimums: list[tuple[str, MinimumFeeRule]] = []
    tiers: list[tuple[str, str, int, Decimal, Decimal | None, Decimal]] = []
    for plan in pricing.plans.values():
        for r in plan.rules:
            if isinstance(r, MinimumFeeRule):
                minimums.append((plan.id, r))
                continue
            rules.append((plan.id, r))
            if isinstance(r, TieredRule):
                lower = Decimal(0)
                for n, t in enumerate(r.tiers):
                    tiers.append((plan.id, r.id, n, lower, t.up_to, t.unit_price))
                    lower = t.up_to if t.up_to is not None else lower

    def dates(plan_id: str, r: Any) -> tuple[date, date]:
        plan = pricing.plans[plan_id]
        return (
            max(r.valid_from or low, plan.valid_from or low),
            min(r.valid_to or high, plan.valid_to or high),
        )

    scope_cols = {
        f"m_{k}": ("VARCHAR", [r.match.fields().get(k) for _, r in rules])
        for k in (*_KEY_COLUMNS, "customer")
    }
    _put(
        con,
        "_pr_rules",
        {
            "plan_id": ("VARCHAR", [p for p, _ in rules]),
            "rule_id": ("VARCHAR", [r.id for _, r in rules]),
            "kind": ("VARCHAR", [r.kind for _, r in rules]),
            "specificity": ("INTEGER", [r.specificity for _, r in rules]),
            **scope_cols,
            "valid_from": ("DATE", [dates(p, r)[0] for p, r in rules]),
            "valid_to": ("DATE", [dates(p, r)[1] for p, r in rules]),
            "basis": ("VARCHAR", [getattr(r, "basis", "BilledCost") for _, r in rules]),
            "factor": ("DECIMAL(18,8)", [_factor(r) for _, r in rules]),
            "price": (DEC, [getattr(r, "unit_price", None) for _, r in rules]),
            "prorate": ("BOOLEAN", [getattr(r, "prorate", False) for _, r in rules]),
            "credits": ("VARCHAR", [r.credits for _, r in rules]),
            "reason": ("VARCHAR", [getattr(r, "reason", None) for _, r in rules]),
            "rule_description": ("VARCHAR", [r.description for _, r in rules]),
            "rule_product_group": ("VARCHAR", [r.product_group for _, r in rules]),
        },
    )
    _put(
        con,
        "_pr_tiers",
        {
            "plan_id": ("VARCHAR", [t[0] for t in tiers]),
            "rule_id": ("VARCHAR", [t[1] for t in tiers]),
            "tier_no": ("INTEGER", [t[2] for t in tiers]),
            "lower": (DEC, [t[3] for t in tiers]),
            "upper": (DEC, [t[4] for t in tiers]),
            "tier_price": (DEC, [t[5] for t in tiers]),
        },
    )
    _put(
        con,
        "_pr_minimums",
        {
            "plan_id": ("VARCHAR", [p for p, _ in minimums]),
            "rule_id": ("VARCHAR", [r.id for _, r in minimums]),
            **{
                f"m_{k}": ("VARCHAR", [r.match.fields().get(k) for _, r in minimums])
                for k in (*_KEY_COLUMNS[:-1], "customer")
            },
            "valid_from": ("DATE", [dates(p, r)[0] for p, r in minimums]),
            "valid_to": ("DATE", [dates(p, r)[1] for p, r in minimums]),
            "minimum": (DEC, [r.amount for _, r in minimums]),
            "currency": ("VARCHAR", [r.currency for _, r in minimums]),
            "rule_description": ("VARCHAR", [r.description for _, r in minimums]),
            "rule_product_group": ("VARCHAR", [r.product_group for _, r in minimums]),
        },
    )
    a = pricing.assignments
    _put(
        con,
        "_pr_assign",
        {
            "customer_id": ("VARCHAR", [x.customer_id for x in a]),
            "plan_id": ("VARCHAR", [x.plan_id for x in a]),
            "level": ("INTEGER", [x.level for x in a]),
            "valid_from": ("DATE", [x.valid_from for x in a]),
            "valid_to": ("DATE", [x.valid_to for x in a]),
        },
    )
    _put(
        con,
        "_pr_customers",
        {
            "customer_id": ("VARCHAR", list(customers)),
            "currency": ("VARCHAR", [c.invoice_currency for c in customers.values()]),
        },
    )
    pricing.fx.register(con, "_fx_rates")


# -- resolving rules per key ---------------------------------------------------------------------


def _resolve_keys(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    """``_rkey``: one row per distinct line key with its plan, winning rule, action, pricing and
    exchange rate; raises ParameterError for keys without plan, rule or rate."""
    scope = " AND ".join(
        f"(r.m_{k} IS NULL OR r.m_{k} = k.{k})" for k in (*_KEY_COLUMNS, "customer")
    )
    used = _used_scope(pricing)
    _calendar(con, pricing)
    key_cols = ",\n                 ".join(
        f"l.{_SCOPE_TO_LINE[k]} AS {k}" if k in used else f"CAST(NULL AS VARCHAR) AS {k}"
        for k in _KEY_COLUMNS
        if k not in ("vendor", "charge_category")
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rk AS
        SELECT row_number() OVER () AS key_id, * FROM (
          SELECT l.x_CustomerId AS customer, l.x_Vendor AS vendor, l.ChargeCategory AS charge_category,
                 {key_cols},
                 l.BillingCurrency AS vendor_currency, c.segment, min(c.day) AS charge_date,
                 count(*) AS lines
          FROM customer_lines l JOIN _cal c ON c.day = CAST(l.ChargePeriodStart AS DATE)
          WHERE l.x_CustomerId IS NOT NULL GROUP BY ALL);
        CREATE OR REPLACE TEMP TABLE _rkp AS
        SELECT k.*, a.plan_id FROM _rk k LEFT JOIN _pr_assign a
          ON a.customer_id = k.customer AND k.charge_date BETWEEN a.valid_from AND a.valid_to
        QUALIFY row_number() OVER (PARTITION BY k.key_id ORDER BY a.level DESC NULLS LAST) = 1;
        CREATE OR REPLACE TEMP TABLE _rkr AS
        SELECT k.*, r.* EXCLUDE (plan_id, valid_from, valid_to, {", ".join(f"m_{c}" for c in (*_KEY_COLUMNS, "customer"))}),
               count(r.rule_id) OVER (PARTITION BY k.key_id, r.specificity) AS ties
        FROM _rkp k LEFT JOIN _pr_rules r
          ON r.plan_id = k.plan_id AND k.charge_date BETWEEN r.valid_from AND r.valid_to AND {scope}
        QUALIFY row_number() OVER (PARTITION BY k.key_id ORDER BY r.specificity DESC NULLS LAST) = 1;
        CREATE OR REPLACE TEMP TABLE _rkey AS
        SELECT k.*, c.currency,
          CASE WHEN k.charge_category = 'Tax' THEN 'exclude'
               WHEN k.plan_id IS NULL THEN 'no plan'
               WHEN k.rule_id IS NULL THEN 'no rule'
               WHEN k.kind = 'exclude' THEN 'exclude'
               WHEN k.charge_category IN {CREDIT_CATEGORIES} AND k.credits = 'keep' THEN 'exclude'
               ELSE 'rate' END AS action,
          CASE WHEN k.charge_category = 'Tax' THEN 'vendor tax'
               WHEN k.kind = 'exclude' THEN 'excluded by rule ' || k.rule_id || ': ' || k.reason
               WHEN k.charge_category IN {CREDIT_CATEGORIES} AND k.credits = 'keep'
                 THEN 'credit kept by reseller (rule ' || k.rule_id || ')' END AS excluded_reason,
          CASE WHEN k.charge_category IN {CREDIT_CATEGORIES} AND k.credits = 'pass_on' THEN 'pass_on'
               ELSE k.kind END AS pricing,
          CASE WHEN k.vendor_currency = c.currency THEN CAST(1 AS {DEC}) ELSE f.rate END AS fx_rate
        FROM _rkr k JOIN _pr_customers c ON c.customer_id = k.customer
        LEFT JOIN _fx_rates f ON f.from_currency = k.vendor_currency AND f.to_currency = c.currency
          AND k.charge_date BETWEEN f.valid_from AND f.valid_to;
    """)
    ties = _one(con, "SELECT count(*) FROM _rkr WHERE ties > 1 AND charge_category <> 'Tax'")[0]  # type: ignore[index]
    if ties:  # pragma: no cover - load_price_plans refuses such rules
        raise ParameterError(pricing.plans_path, None, "two equally specific rules match one line")
    bad = con.execute(
        """SELECT action, customer, charge_date, plan_id, vendor, provider, service, sku,
                                charge_category, charge_type, lines FROM _rkey
                         WHERE action IN ('no plan', 'no rule') ORDER BY action, customer, charge_date
                         LIMIT ?""",
        [SHOWN],
    ).fetchall()
    if bad:
        action, customer, day, plan = bad[0][:4]
        if action == "no plan":
            raise ParameterError(
                pricing.plans_path,
                "assignments",
                f"customer {customer!r} has lines charged on {day} but no price plan is "
                "assigned to it (or its group) on that date",
            )
        names = ("vendor", "provider", "service", "sku", "charge_category", "charge_type")
        shown = "; ".join(
            ", ".join(f"{n} {v!r}" for n, v in zip(names, b[4:10], strict=True) if v is not None)
            + f" on {b[2]} ({b[10]} lines)"
            for b in bad
            if b[0] == "no rule"
        )
        raise ParameterError(
            pricing.plans_path,
            f"plans[id={plan}]",
            f"no rule matches these lines of customer {customer!r}: {shown}; add a rule "
            "(an empty match catches every line)",
        )
    missing = _one(
        con,
        """SELECT vendor_currency, currency, min(charge_date) FROM _rkey
                             WHERE action = 'rate' AND fx_rate IS NULL GROUP BY ALL ORDER BY 1, 2 LIMIT 1""",
    )
    if missing:
        raise missing_rate_error(pricing.fx.path, missing[0], missing[1], missing[2])


def _key_join(used: list[str], line: str = "l", key: str = "k") -> str:
    """Join condition of a customer line (joined to ``_cal c``) to its key: the columns the rules
    use and the date segment (NULL-safe on the optional columns)."""
    conds = [
        f"{line}.x_CustomerId = {key}.customer",
        f"c.segment = {key}.segment",
        f"{line}.BillingCurrency = {key}.vendor_currency",
        f"{line}.x_Vendor = {key}.vendor",
        f"{line}.ChargeCategory = {key}.charge_category",
    ]
    conds += [f"{line}.{_SCOPE_TO_LINE[k]} IS NOT DISTINCT FROM {key}.{k}" for k in used]
    return " AND ".join(conds)


def _lines_with_keys(key_table: str, used: list[str]) -> str:
    """FROM clause: customer lines with their date segment and their key in ``key_table``."""
    return (
        f"customer_lines l JOIN _cal c ON c.day = CAST(l.ChargePeriodStart AS DATE) "
        f"JOIN {key_table} k ON {_key_join(used)}"
    )


def _used_scope(pricing: Pricing) -> list[str]:
    """The optional scope fields some pricing rule matches on: only these are part of a line's key
    (fewer keys: one per customer, vendor, category, currency and date segment in the common case)."""
    used = {
        f
        for plan in pricing.plans.values()
        for r in plan.rules
        if not isinstance(r, MinimumFeeRule)
        for f in r.match.fields()
    }
    return [k for k in _KEY_COLUMNS if k in used and k not in ("vendor", "charge_category")]


def _calendar(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    """``_cal(day, segment)``: each charge date of the lines and the segment it falls in. Segments
    are cut where any plan, rule, assignment or exchange rate starts or ends, so all days of one
    segment are priced alike and a key needs the segment, not the day."""
    cuts: set[date] = set()

    def add(lo: date | None, hi: date | None) -> None:
        if lo is not None and lo > date(1, 1, 1):
            cuts.add(lo)
        if hi is not None and hi < date(9999, 12, 31):
            cuts.add(hi + timedelta(days=1))

    for plan in pricing.plans.values():
        add(plan.valid_from, plan.valid_to)
        for r in plan.rules:
            add(r.valid_from, r.valid_to)
    for a in pricing.assignments:
        add(a.valid_from, a.valid_to)
    for fx in pricing.fx.rates:
        add(fx.valid_from, fx.valid_to)
    _put(con, "_cuts", {"cut": ("DATE", sorted(cuts))})
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _cal AS
        SELECT d.day, CAST(COALESCE(max(x.cut), DATE '0001-01-01') AS DATE) AS segment
        FROM (SELECT DISTINCT CAST(ChargePeriodStart AS DATE) AS day FROM customer_lines) d
        LEFT JOIN _cuts x ON x.cut <= d.day GROUP BY d.day""")


# -- the tables ----------------------------------------------------------------------------------


def _create_vendor_rated(con: duckdb.DuckDBPyConnection, pricing: Pricing, period: str) -> None:
    used = _used_scope(pricing)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rkey_rate AS SELECT * FROM _rkey WHERE action = 'rate'"
    )
    no_list = _one(
        con,
        f"""
        SELECT k.plan_id, k.rule_id, l.x_SourceFile, l.x_SourceRow FROM {_lines_with_keys("_rkey_rate", used)}
        WHERE k.pricing = 'list_price' AND (l.ListUnitPrice IS NULL OR l.PricingQuantity IS NULL) AND l.ListCost IS NULL
        LIMIT 1""",
    )
    if no_list:
        raise ParameterError(
            pricing.plans_path,
            pricing.rule_entry(no_list[0], no_list[1]),
            f"the rule prices by the vendor's list price, but {no_list[2]} row {no_list[3]} "
            "has none (ListCost, or ListUnitPrice x PricingQuantity); narrow the rule's match",
        )
    # Layered so that each product is computed once per line (every rescale to 12 places is a
    # 128-bit division, the dominant cost on millions of lines): vendor cost -> cost -> amount
    # -> unit price.
    vendor_cost = (
        "CASE WHEN k.basis = 'EffectiveCost' AND k.pricing <> 'pass_on' "
        "THEN COALESCE(l.EffectiveCost, l.BilledCost) ELSE l.BilledCost END"
    )
    # The vendor's list cost of the line (prorated and signed as the vendor did), else unit x quantity
    list_cost = f"COALESCE(ListCost, CAST(ListUnitPrice * PricingQuantity AS {DEC}))"
    fixed = f"CAST(price * COALESCE(PricingQuantity, 0) AS {DEC})"
    seconds = "date_diff('second', ChargePeriodStart, ChargePeriodEnd)"
    month_seconds = "(86400 * day(last_day(ChargePeriodStart)))"
    months = "CAST(date_diff('month', ChargePeriodStart, ChargePeriodEnd) AS INTEGER)"
    # A vendor refund of seats (Microsoft removeQuantity, cancelImmediate) has a positive quantity
    # and a negative cost: the seat price follows the cost's sign.
    refund_sign = "(CASE WHEN billed_cost < 0 AND PricingQuantity > 0 THEN -1 ELSE 1 END)"
    amount = f"""CASE pricing
        WHEN 'markup' THEN CAST(cost * factor AS {DEC})
        WHEN 'list_price' THEN CAST(CAST({list_cost} * factor AS {DEC}) * fx_rate AS {DEC})
        WHEN 'fixed_price' THEN {refund_sign} * CASE
            WHEN NOT prorate OR ChargePeriodEnd IS NULL THEN {fixed}
            WHEN {months} >= 1 AND ChargePeriodStart + to_months({months}) = ChargePeriodEnd
              THEN {fixed} * {months}
            ELSE _xdiv({fixed} * {seconds}, {month_seconds}) END
        WHEN 'tiered' THEN NULL WHEN 'volume' THEN NULL
        ELSE cost END"""
    counted = "k.pricing IN ('fixed_price', 'tiered', 'volume')"
    quantity = (
        f"CAST(CASE WHEN {counted} THEN COALESCE(l.PricingQuantity, 0) "
        f"ELSE COALESCE(NULLIF(l.PricingQuantity, 0), 1) END AS {DEC})"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE rated_lines AS
        SELECT customer_id, period, charge_date, line_kind, vendor, provider, publisher, service, sku,
               charge_category, subscription, subscription_name, tags, product_group, description, quantity, unit,
               CASE WHEN amount IS NULL THEN NULL WHEN quantity = 1 THEN amount
                    WHEN quantity = 0 THEN COALESCE(price, CAST(0 AS {DEC})) ELSE _xdiv(amount, quantity) END AS unit_price,
               amount, cost, vendor_cost, billed_cost, vendor_currency, fx_rate, currency, plan_id, rule_id,
               source_file, source_row, vendor_line_id, pricing, ChargePeriodStart AS charge_start
        FROM (SELECT *, {amount} AS amount FROM (
          SELECT *, CASE WHEN fx_rate = 1 THEN vendor_cost ELSE CAST(vendor_cost * fx_rate AS {DEC}) END AS cost
          FROM (
            SELECT l.x_CustomerId AS customer_id, CAST(? AS VARCHAR) AS period, c.day AS charge_date,
                   'vendor' AS line_kind, l.x_Vendor AS vendor, l.ProviderName AS provider,
                   l.PublisherName AS publisher, l.ServiceName AS service, l.SkuId AS sku,
                   l.ChargeCategory AS charge_category, COALESCE(l.ResourceId, l.SubAccountId) AS subscription,
                   {resource_name_sql("l.ResourceId", "l.ResourceName", "l.SubAccountName")} AS subscription_name,
                   l.Tags AS tags, COALESCE(k.rule_product_group, l.x_Vendor) AS product_group,
                   COALESCE(k.rule_description, l.ChargeDescription, l.ServiceName, l.SkuId, l.ChargeCategory) AS description,
                   {quantity} AS quantity, l.PricingUnit AS unit, {vendor_cost} AS vendor_cost,
                   l.BilledCost AS billed_cost, l.BillingCurrency AS vendor_currency,
                   k.fx_rate, k.currency, k.plan_id, k.rule_id, l.x_SourceFile AS source_file,
                   l.x_SourceRow AS source_row, l.x_VendorLineId AS vendor_line_id, k.pricing, k.price, k.factor,
                   k.prorate, l.ChargePeriodStart, l.ChargePeriodEnd, l.PricingQuantity, l.ListCost, l.ListUnitPrice
            FROM {_lines_with_keys("_rkey_rate", used)})))
        -- stored by customer: a what-if reads one customer's row groups (zone maps), not all of them;
        -- then by vendor file and row, so the run's rated_lines.parquet is the same on every rerun
        ORDER BY customer_id, source_file, source_row
    """,
        [period],
    )
    _price_tiers(con)
    con.execute("ALTER TABLE rated_lines DROP COLUMN pricing")
    con.execute("ALTER TABLE rated_lines DROP COLUMN charge_start")


def _price_tiers(con: duckdb.DuckDBPyConnection) -> None:
    """Tiered (graduated) and volume prices: the month's quantity per customer and rule, lines in
    charge order; a graduated line pays each tier's price for the part of its quantity inside it."""
    if not _one(con, "SELECT count(*) FROM rated_lines WHERE pricing IN ('tiered', 'volume')")[0]:
        return
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tiered AS
        WITH t AS (
          SELECT rowid AS rid, customer_id, plan_id, rule_id, pricing, quantity,
                 sum(quantity) OVER w - quantity AS cum_from, sum(quantity) OVER w AS cum_to,
                 sum(quantity) OVER (PARTITION BY customer_id, plan_id, rule_id) AS total
          FROM rated_lines WHERE pricing IN ('tiered', 'volume')
          WINDOW w AS (PARTITION BY customer_id, plan_id, rule_id
                       ORDER BY charge_start, source_file, source_row, vendor_line_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
        SELECT t.rid, t.quantity,
               CAST(sum(CASE WHEN t.pricing = 'volume'
                         THEN CASE WHEN t.total > p.lower AND (p.upper IS NULL OR t.total <= p.upper)
                                     OR (p.tier_no = 0 AND t.total <= 0)
                                   THEN CAST(p.tier_price * t.quantity AS {DEC}) ELSE 0 END
                         ELSE CAST(p.tier_price * greatest(0, least(t.cum_to, COALESCE(p.upper, t.cum_to))
                                                              - greatest(t.cum_from, p.lower)) AS {DEC}) END)
                    AS {DEC}) AS amount
        FROM t JOIN _pr_tiers p ON p.plan_id = t.plan_id AND p.rule_id = t.rule_id
        GROUP BY t.rid, t.quantity;
        UPDATE rated_lines SET amount = x.amount,
               unit_price = CASE WHEN x.quantity = 0 THEN CAST(0 AS {DEC}) ELSE _xdiv(x.amount, x.quantity) END
        FROM _tiered x WHERE rated_lines.rowid = x.rid;
    """)


def _create_excluded_unmapped(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    used = _used_scope(pricing)
    con.execute(f"""
        CREATE OR REPLACE TABLE excluded_lines AS
        SELECT l.*, k.excluded_reason AS reason,
               CASE WHEN k.charge_category <> 'Tax' THEN k.plan_id END AS plan_id,
               CASE WHEN k.charge_category <> 'Tax' THEN k.rule_id END AS rule_id
        FROM {_lines_with_keys("(SELECT * FROM _rkey WHERE action = 'exclude')", used)};
        CREATE OR REPLACE TABLE unmapped_lines AS SELECT * FROM customer_lines WHERE x_CustomerId IS NULL;
    """)


def _round12(value: Decimal) -> Decimal:
    return value.quantize(_TWELVE, rounding=ROUND_HALF_UP)


def _custom_rows(pricing: Pricing, period: str, first: date, last: date) -> list[dict[str, Any]]:
    """The custom lines billed in ``period``: fees prorated by their valid days in the month,
    one-offs and credits in the month of their date. A few dozen entries: computed in Python,
    with the SQL rounding (12 places, half-up)."""
    rows: list[dict[str, Any]] = []
    days_in_month = (last - first).days + 1
    for c in pricing.custom_lines:
        base = c.quantity * c.unit_price
        if c.kind == "fee":
            lo, hi = max(first, c.valid_from or first), min(last, c.valid_to or last)
            if lo > hi:
                continue
            days = (hi - lo).days + 1
            amount = _round12(base * days / days_in_month) if c.prorate else base
            day = lo
            text = (
                c.description
                if days == days_in_month or not c.prorate
                else f"{c.description} ({days} of {days_in_month} days)"
            )
        else:
            if c.on is None or not first <= c.on <= last:
                continue
            amount, day, text = (-base if c.kind == "credit" else base), c.on, c.description
        quantity = c.quantity
        rows.append(
            {
                "customer_id": c.customer,
                "period": period,
                "charge_date": day,
                "line_kind": c.kind,
                "vendor": "reseller",
                "product_group": c.product_group,
                "description": text,
                "quantity": quantity,
                "unit": c.unit,
                "unit_price": amount if quantity == 0 else _round12(amount / quantity),
                "amount": _round12(amount),
                "cost": Decimal(0),
                "vendor_cost": Decimal(0),
                "billed_cost": Decimal(0),
                "vendor_currency": c.currency,
                "fx_rate": Decimal(1),
                "currency": c.currency,
                "rule_id": c.id,
            }
        )
    return rows


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = {c: (t, [r.get(c) for r in rows]) for c, t in RATED_COLUMNS.items()}
    _put(con, "_custom_rows", columns)
    con.execute(f"INSERT INTO {table} SELECT * FROM _custom_rows")


#: Columns of ``minimum_rules_sql``: the minimum fees in force per customer and period (the run
#: writes them beside its rated lines, ``MINIMUM_FEES_PARQUET``, for the what-if).
MINIMUM_RULE_COLUMNS = (
    "period",
    "last_day",
    "customer_id",
    "plan_id",
    "rule_id",
    "minimum",
    "currency",
    "rule_description",
    "rule_product_group",
    *(f"m_{k}" for k in _KEY_COLUMNS[:-1]),
)


def minimum_rules_sql(period: str, last: date, customer: str | None = None) -> str:
    """The minimum-fee rules in force for each customer (or ``customer`` only) in ``period``: the
    customer's plan on the period's last day (``last``) and its minimum rules valid that day, with
    their scope (``m_vendor`` ... ``m_charge_category``; NULL = any). Reads the ``_pr_*`` tables of
    ``register_pricing``. Columns MINIMUM_RULE_COLUMNS."""
    only = f"AND a.customer_id = {ql(customer)}" if customer is not None else ""
    scope = ", ".join(f"x.m_{k}" for k in _KEY_COLUMNS[:-1])
    return f"""
        WITH cp AS (SELECT a.customer_id, a.plan_id FROM _pr_assign a
                    WHERE DATE '{last}' BETWEEN a.valid_from AND a.valid_to {only}
                    QUALIFY row_number() OVER (PARTITION BY a.customer_id ORDER BY a.level DESC) = 1)
        SELECT {ql(period)} AS period, DATE '{last}' AS last_day, cp.customer_id, x.plan_id,
               x.rule_id, x.minimum, x.currency, x.rule_description, x.rule_product_group, {scope}
        FROM cp JOIN _pr_minimums x ON x.plan_id = cp.plan_id
          AND DATE '{last}' BETWEEN x.valid_from AND x.valid_to
          AND (x.m_customer IS NULL OR x.m_customer = cp.customer_id)
        ORDER BY cp.customer_id, x.rule_id"""


def minimum_lines_sql(source: str, rules: str) -> str:
    """Top-up lines (``rated_lines`` columns) for every minimum fee of ``rules`` (a relation with
    MINIMUM_RULE_COLUMNS) that the vendor lines of ``source`` (rated lines) do not reach: revenue
    of the customer's vendor lines of that period in the rule's scope. The one place the rating
    and the what-if compute minimum fees."""
    scope = " AND ".join(f"(m.m_{k} IS NULL OR m.m_{k} = r.{k})" for k in _KEY_COLUMNS[:-1])
    cols = ", ".join(RATED_COLUMNS)
    return f"""
        WITH rev AS (SELECT customer_id, period, vendor, provider, publisher, service, sku,
                            charge_category, sum(amount) AS amount
                     FROM {source} WHERE line_kind = 'vendor' GROUP BY ALL),
        got AS (SELECT m.period, m.last_day, m.customer_id, m.plan_id, m.rule_id, m.minimum,
                       m.currency, m.rule_description, m.rule_product_group,
                       CAST(COALESCE(sum(r.amount), 0) AS {DEC}) AS revenue
                FROM ({rules}) m LEFT JOIN rev r
                  ON r.customer_id = m.customer_id AND r.period = m.period AND {scope}
                GROUP BY ALL)
        SELECT {cols} FROM (
          SELECT customer_id, period, last_day AS charge_date,
                 'minimum' AS line_kind, 'reseller' AS vendor, NULL AS provider, NULL AS publisher,
                 NULL AS service, NULL AS sku, NULL AS charge_category, NULL AS subscription,
                 NULL AS subscription_name, NULL AS tags,
                 COALESCE(rule_product_group, 'services') AS product_group,
                 COALESCE(rule_description, 'Minimum monthly fee') || ' (minimum ' || CAST(minimum AS DECIMAL(38,2))
                   || ' ' || currency || ', used ' || CAST(round(revenue, 2) AS DECIMAL(38,2)) || ')' AS description,
                 CAST(1 AS {DEC}) AS quantity, 'month' AS unit, CAST(minimum - revenue AS {DEC}) AS unit_price,
                 CAST(minimum - revenue AS {DEC}) AS amount, CAST(0 AS {DEC}) AS cost,
                 CAST(0 AS {DEC}) AS vendor_cost, CAST(0 AS {DEC}) AS billed_cost, currency AS vendor_currency,
                 CAST(1 AS {DEC}) AS fx_rate, currency, plan_id, rule_id, NULL AS source_file,
                 CAST(NULL AS BIGINT) AS source_row, NULL AS vendor_line_id
          FROM got WHERE revenue < minimum)
        ORDER BY period, customer_id, rule_id"""


def _conservation(con: duckdb.DuckDBPyConnection) -> list[CurrencyBalance]:
    rows = con.execute(f"""
        WITH i AS (SELECT BillingCurrency AS c, sum(BilledCost) AS v FROM customer_lines GROUP BY 1),
             r AS (SELECT vendor_currency AS c, sum(billed_cost) AS v FROM rated_lines WHERE line_kind = 'vendor' GROUP BY 1),
             e AS (SELECT BillingCurrency AS c, sum(BilledCost) AS v FROM excluded_lines GROUP BY 1),
             u AS (SELECT BillingCurrency AS c, sum(BilledCost) AS v FROM unmapped_lines GROUP BY 1),
             cur AS (SELECT c FROM i UNION SELECT c FROM r UNION SELECT c FROM e UNION SELECT c FROM u)
        SELECT cur.c, CAST(COALESCE(i.v, 0) AS {DEC}), CAST(COALESCE(r.v, 0) AS {DEC}),
               CAST(COALESCE(e.v, 0) AS {DEC}), CAST(COALESCE(u.v, 0) AS {DEC})
        FROM cur LEFT JOIN i USING (c) LEFT JOIN r USING (c) LEFT JOIN e USING (c) LEFT JOIN u USING (c)
        ORDER BY cur.c""").fetchall()
    return [CurrencyBalance(*r) for r in rows]


def _warnings(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, period: str, first: date, last: date
) -> list[str]:
    out: list[str] = []
    for plan_id, rule_id in con.execute(f"""
            SELECT r.plan_id, r.rule_id FROM _pr_rules r
            WHERE r.valid_from <= DATE '{last}' AND r.valid_to >= DATE '{first}'
              AND r.plan_id IN (SELECT plan_id FROM _pr_assign
                                WHERE valid_from <= DATE '{last}' AND valid_to >= DATE '{first}')
              AND NOT EXISTS (SELECT 1 FROM _rkr k WHERE k.plan_id = r.plan_id AND k.rule_id = r.rule_id)
            ORDER BY r.plan_id, r.rule_id""").fetchall():
        out.append(
            f"{pricing.plans_path}, {pricing.rule_entry(plan_id, rule_id)}: the rule matched no line in {period}"
        )
    outside = _one(
        con,
        f"""SELECT count(*), min(charge_date), max(charge_date) FROM rated_lines
                              WHERE line_kind = 'vendor' AND charge_date NOT BETWEEN DATE '{first}' AND DATE '{last}'""",
    )
    if outside[0]:
        out.append(
            f"{outside[0]} rated lines are charged outside {period} ({outside[1]} to {outside[2]}); "
            "they are billed in this period, priced by the rules of their charge dates"
        )
    return out


def rate_lines(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, customers: dict[str, Customer], period: str
) -> RatingReport:
    """Price ``customer_lines`` for ``period`` into ``rated_lines``, ``excluded_lines`` and
    ``unmapped_lines``. Raises ParameterError (missing plan, rule or exchange rate, list price
    missing) and ControlTotalError if the BilledCost would not be conserved per vendor currency."""
    first, last = month_days(period, "rating")
    register_pricing(con, pricing, customers)
    _resolve_keys(con, pricing)
    _create_vendor_rated(con, pricing, period)
    _create_excluded_unmapped(con, pricing)
    _insert_rows(con, "rated_lines", _custom_rows(pricing, period, first, last))
    con.execute(
        f"INSERT INTO rated_lines {minimum_lines_sql('rated_lines', minimum_rules_sql(period, last))}"
    )
    report = RatingReport(period)
    report.conservation = _conservation(con)
    if not report.balanced:
        shown = "; ".join(
            f"{b.currency}: imported {b.imported}, rated {b.rated}, excluded {b.excluded}, "
            f"unmapped {b.unmapped}, difference {b.difference}"
            for b in report.conservation
            if b.difference
        )
        raise ControlTotalError(
            f"rating {period} does not conserve the vendors' BilledCost: {shown}"
        )
    counts = dict(
        con.execute("""
        SELECT 'customer_lines', count(*) FROM customer_lines
        UNION ALL SELECT 'rated_' || line_kind, count(*) FROM rated_lines GROUP BY line_kind
        UNION ALL SELECT 'excluded', count(*) FROM excluded_lines
        UNION ALL SELECT 'unmapped', count(*) FROM unmapped_lines""").fetchall()
    )
    if (
        counts["customer_lines"]
        != counts.get("rated_vendor", 0) + counts["excluded"] + counts["unmapped"]
    ):
        raise ControlTotalError(
            f"rating {period}: {counts['customer_lines']} customer lines but "
            f"{counts.get('rated_vendor', 0)} rated + {counts['excluded']} excluded + "
            f"{counts['unmapped']} unmapped"
        )
    report.counts = counts
    report.warnings = _warnings(con, pricing, period, first, last)
    return report


# -- for notebooks: the rated lines as a table, and a what-if markup -------------------------------


def rated_frame(
    con: duckdb.DuckDBPyConnection,
    customers: dict[str, Customer] | None = None,
    table: str = "rated_lines",
    vendor_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The rated lines for a notebook (exact Decimals): customer, the text of the invoice line
    each is summed into (by each customer's ``line_grouping``, vendor / service for customers not
    given; the same text the invoices show: billing_lib.line_labels), description, quantity,
    unit, unit price, amount, cost, currency, rule id and the source line ids. ``vendor_names``:
    vendor key -> name (products.yaml vendors)."""
    by_grouping: dict[tuple[str, ...], list[str]] = {}
    for c in (customers or {}).values():
        check_grouping(c.line_grouping, c.id)
        by_grouping.setdefault(tuple(c.line_grouping), []).append(c.id)
    labelled = labelled_sql(table, by_grouping, ("vendor", "service"), vendor_names or {})
    return frame(
        con,
        f"""
        SELECT customer_id AS customer, invoice_line AS invoice_line_group, description, quantity, unit,
               unit_price, amount, cost, currency, rule_id, plan_id, line_kind, vendor, period,
               CASE WHEN source_file IS NOT NULL
                    THEN source_file || ':' || source_row || COALESCE(' (' || vendor_line_id || ')', '')
                    ELSE line_kind || ':' || rule_id END AS source_line_ids
        FROM ({labelled})
        ORDER BY customer, invoice_line_group, line_kind, source_file, source_row, rule_id""",
    )
