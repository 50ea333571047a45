"""Rules resolved per line *key*, not per line.

A key is what decides a line's price: customer, vendor, charge category, whether the rule's
``credits`` setting decides it (``x_FollowsCredits``: a positive adjustment is a charge) and
whether such a line gives back seats (``x_RefundsSeats``), vendor currency, the date segment of
its pricing date (``x_PricingDate``: its charge date, or a licence credit's cycle start), and
those of provider, publisher, service, sku, charge type and region that some rule matches on - a
few thousand keys even for ten million lines. The credits' columns are plain columns of the
line, set at import: a line joins its key on plain columns only (an expression computed in that
join made DuckDB spill past 60 GB at a million lines, benchmarks/README.md).

A rule may match a resource tag (``match: {tag: {key: value}}``): the value of each tag key some
rule of the month matches on is a key column of its own (``tag_1`` ...: ``parameters.tag_columns``),
read from the line's Tags once per scan into a column of the view ``rating_tagged_lines``
(``tagged_lines_sql``), which the lines are then read from and joined to their keys by, a column
as the others. A month whose plans match no tag reads ``customer_lines`` and keys as before.
Tables, each built by the SQL of the function named after it:

- ``rating_calendar(day, segment)``: each pricing date and its date segment;
- ``rating_line_keys``: one row per distinct key (``key_id``), its first pricing date
  (``charge_date``) and lines;
- ``rating_key_plans``: the key with its customer's plan on that date (own beats group);
- ``rating_key_rules``: the key with the most specific rule of that plan matching it;
- ``rating_keys``: the key with its action (``rate``, ``exclude``, ``no plan``, ``no rule``),
  pricing, exchange rate and the reason of an exclusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb

from billing_lib.errors import ParameterError
from billing_lib.fx import missing_rate_error
from billing_lib.pricing import CREDIT_CATEGORIES, FEE_KINDS, Pricing
from billing_lib.pricing.plans import PlanAssignment
from billing_lib.rating.exact import DEC
from billing_lib.rating.parameters import KEY_COLUMNS, scope_equal, tag_columns
from billing_lib.rating.tables import SHOWN, first_or_none, one, put_table
from billing_lib.sql import ql

#: The line column each scope field is compared with.
SCOPE_TO_LINE = {
    "vendor": "x_Vendor",
    "provider": "ProviderName",
    "publisher": "PublisherName",
    "service": "ServiceName",
    "sku": "SkuId",
    "charge_category": "ChargeCategory",
    "charge_type": "x_VendorChargeType",
    "region": "RegionId",
}
#: Key columns every key has; the other scope fields only when a rule uses them (``used_scope``).
_ALWAYS = ("vendor", "charge_category")
#: Pricings by the unit (a list price, a seat price, tiers): they price a credit by the units it
#: gives back, so not one that gives back none (``rating_keys_sql``).
PER_UNIT_KINDS = ("list_price", "fixed_price", "tiered", "volume")
#: The customer lines with a column per tag key some rule matches on (``tagged_lines_sql``).
TAGGED_LINES = "rating_tagged_lines"


def used_scope(pricing: Pricing) -> list[str]:
    """The optional scope fields some pricing rule matches on: only these are part of a line's key
    (fewer keys: one per customer, vendor, category, currency and date segment in the common
    case), then a column per tag key some rule matches on (``parameters.tag_columns``)."""
    used = {
        f
        for plan in pricing.plans.values()
        for r in plan.rules
        if r.kind not in FEE_KINDS
        for f in r.match.fields()
    }
    return [k for k in KEY_COLUMNS if k in used and k not in _ALWAYS] + list(tag_columns(pricing))


def tags_of(used: list[str]) -> list[str]:
    """The tag columns of ``used`` (``used_scope``)."""
    return [k for k in used if k not in KEY_COLUMNS]


def line_column(field: str) -> str:
    """The line column a key column is compared with: ``SCOPE_TO_LINE``'s, or a tag's column of
    ``rating_tagged_lines`` (``x_tag_1`` for ``tag_1``)."""
    return SCOPE_TO_LINE.get(field) or f"x_{field}"


def lines_source(used: list[str]) -> str:
    """The relation the customer lines are read from to join their keys: ``customer_lines``, or
    where a rule matches a tag ``rating_tagged_lines`` (the same rows with the tags' columns)."""
    return TAGGED_LINES if tags_of(used) else "customer_lines"


def tag_value_sql(key: str, tags: str = "Tags") -> str:
    """SQL: the value of the tag ``key`` (in lower case) of a line's ``tags`` (a JSON object,
    docs/formats.md), in lower case as the rating compares it; NULL where it has no such key. The
    key is found whatever its case: in the Tags text in lower case (one JSON parse a line), or,
    where the text holds a JSON escape (``\\u00C9``, a letter lower() does not fold in the
    text), among its keys each in lower case (dearer, and rare). A line with the key in two cases
    (AWS's keys are case-sensitive: ``Name`` and ``name`` in a FOCUS export) gives the first."""
    path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    found = f"list_filter(json_keys({tags}), lambda k: lower(k) = {ql(key)})[1]"
    quoted = f"""replace(replace({found}, '\\', '\\\\'), '"', '\\"')"""
    escaped = f"""lower(json_extract_string({tags}, '$."' || {quoted} || '"'))"""
    return (
        f"CASE WHEN contains({tags}, '\\u') THEN {escaped} "
        f"ELSE json_extract_string(lower({tags}), {ql(path)}) END"
    )


def tagged_lines_sql(tags: dict[str, str]) -> str:
    """The view ``rating_tagged_lines``: ``customer_lines`` with the value of each tag of ``tags``
    (key column -> tag key, ``parameters.tag_columns``) as its ``line_column``. A view: each scan
    of the lines reads the tags as it reads the line (no copy of the lines), and the join to the
    keys compares a column."""
    columns = "".join(f", {tag_value_sql(key)} AS {line_column(c)}" for c, key in tags.items())
    return f"CREATE OR REPLACE TEMP VIEW {TAGGED_LINES} AS SELECT *{columns} FROM customer_lines"


def segment_starts(pricing: Pricing) -> list[date]:
    """The days where any plan, rule, assignment or exchange rate starts or ends (the day after an
    end): all days between two of them are priced alike."""
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
    return sorted(cuts)


def rating_calendar_sql() -> str:
    """Each pricing date (``x_PricingDate``) of the customer lines and the segment (start) it
    falls in."""
    return """
        CREATE OR REPLACE TEMP TABLE rating_calendar AS
        SELECT d.day, CAST(COALESCE(max(x.cut), DATE '0001-01-01') AS DATE) AS segment
        FROM (SELECT DISTINCT x_PricingDate AS day FROM customer_lines) d
        LEFT JOIN rating_segment_starts x ON x.cut <= d.day GROUP BY d.day"""


def rating_line_keys_sql(used: list[str]) -> str:
    """The distinct keys of the mapped customer lines (columns not used by any rule are NULL),
    with their lines, how many of those have no EffectiveCost (``rating.effective_cost``), how
    many belong to a commitment (``rating.commitments``), how many have an EffectiveCost other
    than their BilledCost (``rating.amortised_purchases``) and their last charge end
    (``rating.spans``)."""
    optional = ",\n               ".join(
        [
            f"l.{SCOPE_TO_LINE[k]} AS {k}" if k in used else f"CAST(NULL AS VARCHAR) AS {k}"
            for k in KEY_COLUMNS
            if k not in _ALWAYS
        ]
        + [f"l.{line_column(k)} AS {k}" for k in tags_of(used)]
    )
    return f"""
        CREATE OR REPLACE TEMP TABLE rating_line_keys AS
        SELECT row_number() OVER () AS key_id, * FROM (
          SELECT l.x_CustomerId AS customer, l.x_Vendor AS vendor,
                 l.ChargeCategory AS charge_category, l.x_FollowsCredits AS follows_credits,
                 l.x_RefundsSeats AS refunds_seats,
                 {optional},
                 l.BillingCurrency AS vendor_currency, c.segment, min(c.day) AS charge_date,
                 count(*) AS lines, count_if(l.EffectiveCost IS NULL) AS no_effective_cost,
                 count_if(l.CommitmentDiscountId IS NOT NULL) AS commitment_lines,
                 count_if(l.EffectiveCost <> l.BilledCost) AS amortised_lines,
                 max(l.ChargePeriodEnd) AS last_end
          FROM {lines_source(used)} l JOIN rating_calendar c ON c.day = l.x_PricingDate
          WHERE l.x_CustomerId IS NOT NULL GROUP BY ALL)"""


def rating_key_plans_sql(source: str = "rating_line_keys", target: str = "rating_key_plans") -> str:
    """Each key with its customer's plan on the key's charge date (own assignment beats group)."""
    return f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        SELECT k.*, a.plan_id FROM {source} k LEFT JOIN price_assignments a
          ON a.customer_id = k.customer AND k.charge_date BETWEEN a.valid_from AND a.valid_to
        QUALIFY row_number() OVER (PARTITION BY k.key_id ORDER BY a.level DESC NULLS LAST) = 1"""


def rating_key_rules_sql(
    source: str = "rating_key_plans",
    target: str = "rating_key_rules",
    tags: Sequence[str] = (),
) -> str:
    """Each key with the most specific rule of its plan that matches it on its charge date, and
    how many rules tie for that (``ties``); ``tags`` the tag columns of the keys and rules
    (``tags_of``: a rule without a tag's value matches whatever the key's, one with it only a
    key of that value, not one without the tag)."""
    fields = (*KEY_COLUMNS, *tags, "customer")
    scope = " AND ".join(
        f"(r.m_{k} IS NULL OR {scope_equal(f'r.m_{k}', f'k.{k}', k)})" for k in fields
    )
    dropped = ", ".join(f"m_{k}" for k in fields)
    return f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        SELECT k.*, r.* EXCLUDE (plan_id, valid_from, valid_to, {dropped}),
               count(r.rule_id) OVER (PARTITION BY k.key_id, r.specificity) AS ties
        FROM {source} k LEFT JOIN price_rules r
          ON r.plan_id = k.plan_id AND k.charge_date BETWEEN r.valid_from AND r.valid_to
         AND {scope}
        QUALIFY row_number() OVER (PARTITION BY k.key_id
                                   ORDER BY r.specificity DESC NULLS LAST) = 1"""


def rating_keys_sql(source: str = "rating_key_rules", target: str = "rating_keys") -> str:
    """Each key with its action, the pricing applied, the reason of an exclusion, the invoice
    currency and the exchange rate (NULL when missing). The ``credits`` setting decides the
    keys that follow it (``follows_credits``: credits, and adjustments giving money back); an
    adjustment that charges (positive) is billed at cost under ``pass_on`` and ``keep`` alike,
    and priced by the rule under ``price``, as its credits are. Whether a credit gives back
    seats a charge billed (``refunds_seats``, ``x_RefundsSeats``) decides two cases: seats given
    back are priced by the rule under ``pass_on`` as well, as their charge was (at cost, the
    customer got back less or more than it paid for them); money back that gives back no seat
    (a Microsoft credit) is passed on at cost under ``price`` too where the rule prices by units
    (``PER_UNIT_KINDS``: the seats its row names are not what it gives back)."""
    credit = "k.follows_credits"
    back = f"k.charge_category IN {CREDIT_CATEGORIES}"
    return f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        SELECT k.*, c.currency,
          CASE WHEN k.charge_category = 'Tax' THEN 'exclude'
               WHEN k.plan_id IS NULL THEN 'no plan'
               WHEN k.rule_id IS NULL THEN 'no rule'
               WHEN k.kind = 'exclude' THEN 'exclude'
               WHEN {credit} AND k.credits = 'keep' THEN 'exclude'
               ELSE 'rate' END AS action,
          CASE WHEN k.charge_category = 'Tax' THEN 'vendor tax'
               WHEN k.kind = 'exclude' THEN 'excluded by rule ' || k.rule_id || ': ' || k.reason
               WHEN {credit} AND k.credits = 'keep'
                 THEN 'credit kept by reseller (rule ' || k.rule_id || ')' END AS excluded_reason,
          CASE WHEN {back} AND k.credits = 'pass_on' AND k.refunds_seats THEN k.kind
               WHEN {back} AND k.credits = 'price' AND k.refunds_seats IS FALSE
                    AND k.kind IN {PER_UNIT_KINDS} THEN 'pass_on'
               WHEN {back} AND k.credits <> 'price' THEN 'pass_on'
               ELSE k.kind END AS pricing,
          CASE WHEN k.vendor_currency = c.currency THEN CAST(1 AS {DEC}) ELSE f.rate END AS fx_rate
        FROM {source} k JOIN price_customers c ON c.customer_id = k.customer
        LEFT JOIN _fx_rates f ON f.from_currency = k.vendor_currency AND f.to_currency = c.currency
          AND k.charge_date BETWEEN f.valid_from AND f.valid_to"""


def resolve_keys(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    """``rating_keys`` (module docstring) from ``customer_lines`` and the ``price_*`` tables;
    raises ParameterError for keys without plan, rule or exchange rate."""
    put_table(con, "rating_segment_starts", {"cut": ("DATE", segment_starts(pricing))})
    con.execute(rating_calendar_sql())
    used = used_scope(pricing)
    if tags_of(used):
        con.execute(tagged_lines_sql(tag_columns(pricing)))
    con.execute(rating_line_keys_sql(used))
    con.execute(rating_key_plans_sql())
    con.execute(rating_key_rules_sql(tags=tags_of(used)))
    con.execute(rating_keys_sql())
    check_keys(con, pricing)


def check_keys(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    """ParameterError for the first key without plan, the keys without rule (up to SHOWN), or a
    missing exchange rate."""
    ties = one(
        con, "SELECT count(*) FROM rating_key_rules WHERE ties > 1 AND charge_category <> 'Tax'"
    )[0]
    if ties:  # pragma: no cover - load_price_plans refuses such rules
        raise ParameterError(pricing.plans_path, None, "two equally specific rules match one line")
    tags = "".join(f", {c}" for c in tag_columns(pricing))
    bad = con.execute(
        f"""SELECT action, customer, charge_date, plan_id, vendor, provider, service, sku,
                   charge_category, charge_type, region, lines{tags} FROM rating_keys
            WHERE action IN ('no plan', 'no rule') ORDER BY action, customer, charge_date
            LIMIT ?""",
        [SHOWN],
    ).fetchall()
    if bad:
        raise _unpriced_error(con, pricing, bad)
    missing = first_or_none(
        con,
        """SELECT vendor_currency, currency, min(charge_date) FROM rating_keys
           WHERE action = 'rate' AND fx_rate IS NULL GROUP BY ALL ORDER BY 1, 2 LIMIT 1""",
    )
    if missing:
        why = cycle_credit_text(
            con,
            missing[2],
            "l.BillingCurrency = ? AND l.x_CustomerId IN "
            "(SELECT customer_id FROM price_customers WHERE currency = ?)",
            [missing[0], missing[1]],
            "at the rate it was converted at",
        )
        raise missing_rate_error(pricing.fx.path, missing[0], missing[1], missing[2], why)


def cycle_credit_text(
    con: duckdb.DuckDBPyConnection, day: date, where: str, params: list, what: str
) -> str:
    """Why lines are priced on ``day`` when it is no line's own charge date: the first licence
    credit (``x_PricingDate`` before its charge date, ``customer_lines l`` filtered by ``where``)
    priced on that day, named by file and row, its own date and the cycle it gives back, whose
    first day is ``day`` (docs/pricing.md, item 4); "" when a line of that day's own charge
    date is among them."""
    found = first_or_none(
        con,
        f"""SELECT l.x_SourceFile, l.x_SourceRow, CAST(l.ChargePeriodStart AS DATE),
                   CAST(l.ChargePeriodEnd - INTERVAL 1 DAY AS DATE)
            FROM customer_lines l
            WHERE l.x_PricingDate = ? AND l.x_PricingDate < CAST(l.ChargePeriodStart AS DATE)
              AND {where}
            ORDER BY l.x_SourceFile, l.x_SourceRow LIMIT 1""",
        [day, *params],
    )
    if not found:
        return ""
    file, row, own, end = found
    return (
        f" (the pricing date of {file} row {row}, a licence credit charged from {own}: it is "
        f"priced as of the start of the cycle it gives back ({day} to {end}), as that cycle's "
        f"charge was, {what}; docs/pricing.md)"
    )


def _plan_ended(pricing: Pricing, customer: str, day: date | str) -> PlanAssignment | None:
    """The customer's latest assignment that ended before ``day`` because its plan did (the
    plan's ``valid_to``): "add an assignment" would not price the line, as a new one of that
    plan ends on that day too. None if there is none."""
    on = day if isinstance(day, date) else date.fromisoformat(str(day))
    ended = [
        a
        for a in pricing.assignments
        if a.customer_id == customer
        and a.valid_to < on
        and pricing.plans[a.plan_id].valid_to == a.valid_to
    ]
    return max(ended, key=lambda a: a.valid_to, default=None)


def _unpriced_error(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, bad: list[tuple]
) -> ParameterError:
    """The error for keys without a plan (the first one) or without a rule (those listed)."""
    action, customer, day, plan = bad[0][:4]
    if action == "no plan":
        cycle = cycle_credit_text(
            con,
            day,
            "l.x_CustomerId = ?",
            [customer],
            "by the plan that priced it",
        )
        priced = f"customer {customer!r} has lines priced on {day} " + (
            cycle.removeprefix(" ") if cycle else "(their charge date)"
        )
        ended = _plan_ended(pricing, customer, day)
        if ended is not None:
            return ParameterError(
                pricing.plans_path,
                f"plans[id={ended.plan_id}].valid_to",
                f"{priced} but no price plan in force on that date: its plan {ended.plan_id} "
                f"({ended.entry}) ended on {ended.valid_to} (the plan's valid_to); extend the "
                "plan's valid_to, or assign the customer (or its group) a plan in force from "
                f"{day} or earlier",
            )
        return ParameterError(
            pricing.plans_path,
            "assignments",
            f"{priced} but no price plan is assigned to it (or its group) on that date; add an "
            f"assignment of the customer (or its group) with valid_from {day} or earlier",
        )
    names = ["vendor", "provider", "service", "sku", "charge_category", "charge_type", "region"]
    names += [f"tag {key}" for key in tag_columns(pricing).values()]

    def why(b: tuple) -> str:  # ", the pricing date of ... docs/pricing.md)", or ")"
        text = cycle_credit_text(
            con,
            b[2],
            "l.x_CustomerId = ? AND l.ChargeCategory = ?",
            [customer, b[8]],
            "by the rule that priced it",
        )
        return text.replace(" (", ", ", 1) if text else ")"

    shown = "; ".join(
        ", ".join(
            f"{n} {v!r}" for n, v in zip(names, (*b[4:11], *b[12:]), strict=True) if v is not None
        )
        + f" on {b[2]} ({b[11]} lines{why(b)}"
        for b in bad
        if b[0] == "no rule"
    )
    return ParameterError(
        pricing.plans_path,
        f"plans[id={plan}]",
        f"no rule matches these lines of customer {customer!r}: {shown}; add a rule "
        "(an empty match catches every line)",
    )


def key_join(used: list[str], line: str = "l", key: str = "k") -> str:
    """Join condition of a customer line (joined to ``rating_calendar c``) to its key: the columns
    the rules use and the date segment (NULL-safe on the optional columns); plain columns only
    (module docstring)."""
    conds = [
        f"{line}.x_CustomerId = {key}.customer",
        f"c.segment = {key}.segment",
        f"{line}.BillingCurrency = {key}.vendor_currency",
        f"{line}.x_Vendor = {key}.vendor",
        f"{line}.ChargeCategory = {key}.charge_category",
        f"{line}.x_FollowsCredits = {key}.follows_credits",
        f"{line}.x_RefundsSeats IS NOT DISTINCT FROM {key}.refunds_seats",
    ]
    conds += [f"{line}.{line_column(k)} IS NOT DISTINCT FROM {key}.{k}" for k in used]
    return " AND ".join(conds)


def lines_with_keys(key_table: str, used: list[str]) -> str:
    """FROM clause: customer lines with the date segment of their pricing date and their key in
    ``key_table``."""
    return (
        f"{lines_source(used)} l JOIN rating_calendar c ON c.day = l.x_PricingDate "
        f"JOIN {key_table} k ON {key_join(used)}"
    )
