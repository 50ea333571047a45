"""Tiered and volume pricing: a month's quantity per customer and tier scope priced by the rule's
tiers (``tiered_sql``, ``tier_amount_sql``), and the refusal of a tier whose lines are in
different units or of two vendors (``one_unit_sql``, ``units_named``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from billing_lib.errors import ParameterError
from billing_lib.pricing import Pricing
from billing_lib.rating.exact import DEC
from billing_lib.sql import ql

#: Starts the message of the error ``one_unit_sql`` makes the rating's query raise.
MIXED_UNITS = "billing: a tier of mixed units "


def tier_amount_sql() -> str:
    """The amount of one tiered or volume line ``t`` (with ``counted``: its signed quantity,
    ``cum_from``, ``cum_to``: the month's quantity before and after it, ``total``: the month's)
    from its rule's tiers ``tiers`` (a list of ``price_tiers`` rows, ``tiered_sql``): a graduated
    line pays each tier's price for the units between ``cum_from`` and ``cum_to``, negative when
    the quantity falls (a credit priced by the rule), the first tier's price below 0, so a month's
    lines add up to its net quantity priced graduated whatever their order; a volume line pays the
    price of the tier the month's total falls in. NULL when the rule has no tier. A list, not a
    correlated subquery of ``price_tiers``: the same sum, without the subquery's planning (a fifth
    of a small month's rating)."""

    def clamp(x: str) -> str:  # x within the tier (least/greatest skip NULL: no bound)
        return f"least(greatest({x}, CASE WHEN p.tier_no > 0 THEN p.lower END), p.upper)"

    graduated = f"p.tier_price * ({clamp('t.cum_to')} - {clamp('t.cum_from')})"
    in_tier = (
        "t.total > p.lower AND (p.upper IS NULL OR t.total <= p.upper)"
        " OR (p.tier_no = 0 AND t.total <= 0)"
    )
    return f"""CAST(list_sum(list_transform(tiers, lambda p: CASE WHEN t.pricing = 'volume'
                             THEN CASE WHEN {in_tier}
                                       THEN CAST(p.tier_price * t.counted AS {DEC}) ELSE 0 END
                             ELSE CAST({graduated} AS {DEC}) END)) AS {DEC})"""


#: What a tier counts the month's quantity per: the customer and the scope of the rule
#: (``parameters.tier_scope``): entries of one scope following each other in the month (the
#: tiers changed from a date, or the customer moved to another plan) count one cumulative volume,
#: each line at its own entry's tiers. Not per plan: a customer moved to a plan of its own on the
#: 16th restarted the month at 0 there and was charged the first tier twice.
TIER_COUNT = "customer_id, tier_scope"


def tiered_sql(source: str) -> str:
    """The tiered and volume lines of ``source`` (``priced_sql`` rows of such keys only) with their
    amounts and unit prices: the month's quantity per customer and tier scope (``TIER_COUNT``),
    lines in charge order (``tier_amount_sql``; each line joined to its own rule's tiers, those
    in effect on its charge date). A line counts its quantity negative when the vendor gives money
    back for a positive quantity (a return of seats printed so, as ``fixed_price_sql`` signs it).
    A customer's lines of a tier scope must all be in ``source``."""
    counted = "CASE WHEN billed_cost < 0 AND quantity > 0 THEN -quantity ELSE quantity END"
    window = (
        f"PARTITION BY {TIER_COUNT} ORDER BY charge_start, source_file, "
        "source_row, vendor_line_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    )
    return f"""
        SELECT * EXCLUDE (counted, cum_from, cum_to, total)
               REPLACE (CASE WHEN quantity = 0 THEN CAST(0 AS {DEC})
                             ELSE _xdiv(amount, quantity) END AS unit_price)
        FROM (
          SELECT t.* EXCLUDE (amount), {tier_amount_sql()} AS amount
          FROM (SELECT *, sum(counted) OVER w - counted AS cum_from,
                       sum(counted) OVER w AS cum_to,
                       sum(counted) OVER (PARTITION BY {TIER_COUNT}) AS total
                FROM (SELECT *, {counted} AS counted FROM ({source}))
                WINDOW w AS ({window})) t
          LEFT JOIN (SELECT plan_id, rule_id, list(p) AS tiers FROM price_tiers p GROUP BY ALL) r
            ON r.plan_id = t.plan_id AND r.rule_id = t.rule_id)"""


def one_unit_sql(source: str) -> str:
    """The lines of ``source`` (``priced_sql`` rows of tiered and volume keys) as they are; the
    query fails (DuckDB's ``error``: ``MIXED_UNITS`` and the customer, plan, rule and two of the
    units, or of the vendors, as JSON, ``units_named``) when a customer's lines of one tier
    count (``TIER_COUNT``) are in different units (``unit``, the PricingUnit, compared without
    case and outer spaces; none is a unit of its own): a tier adds the month's quantities up,
    and core-hours added to points price neither; or come from two vendors (a rule matched by
    service name alone): AWS's hours moved Azure's into a cheaper tier, each vendor's usage
    discounted by the other's; or, where the rule names the unit its tiers count
    (``price_tier_units``), a line is in another (core-hours priced as points, a customer's
    only lines). A window over these lines only, in the query that prices them."""
    unit = "COALESCE(lower(trim(unit)), '')"
    found = (
        f"{ql(MIXED_UNITS)} || to_json({{'customer': customer_id, 'plan': plan_id, "
        "'rule': rule_id, 'units': [unit_lo, unit_hi], 'vendors': [vendor_lo, vendor_hi], "
        "'expected': tier_unit, 'unit': unit, 'file': source_file, 'row': source_row})"
    )
    mixed = (
        f"tier_unit IS NOT NULL AND lower(tier_unit) <> {unit} "
        "OR unit_lo <> unit_hi OR vendor_lo <> vendor_hi"
    )
    return f"""
        SELECT * EXCLUDE (unit_lo, unit_hi, vendor_lo, vendor_hi, tier_unit)
               REPLACE (CASE WHEN {mixed} THEN error({found}) ELSE quantity END AS quantity)
        FROM (SELECT s.*, min({unit}) OVER u AS unit_lo, max({unit}) OVER u AS unit_hi,
                     min(vendor) OVER u AS vendor_lo, max(vendor) OVER u AS vendor_hi,
                     t.tier_unit
              FROM ({source}) s LEFT JOIN price_tier_units t USING (plan_id, rule_id)
              WINDOW u AS (PARTITION BY {TIER_COUNT}))"""


@contextmanager
def units_named(pricing: Pricing) -> Iterator[None]:
    """The error of ``one_unit_sql`` as a ParameterError naming the rule, the customer and the
    vendors or units; any other error as it is."""
    try:
        yield
    except duckdb.InvalidInputException as exc:
        text = str(exc)
        if MIXED_UNITS not in text:
            raise
        found = json.loads(text.split(MIXED_UNITS, 1)[1].splitlines()[0])
        expected = found["expected"]
        if expected is not None and expected.lower() != (found["unit"] or "").strip().lower():
            raise ParameterError(
                pricing.plans_path,
                pricing.rule_entry(found["plan"], found["rule"]) + ".unit",
                f"its tiers count {expected!r} (the rule's unit), but {found['file']} row "
                f"{found['row']} (customer {found['customer']!r}) is in "
                f"{found['unit'] or 'no unit'!r} (its PricingUnit), which the tiers would price "
                f"as {expected!r}; narrow the rule's match to the lines in {expected!r} (a "
                "service or sku) and price the others by a rule of their own",
            ) from exc
        vendors = found["vendors"]
        if vendors[0] != vendors[1]:
            raise ParameterError(
                pricing.plans_path,
                pricing.rule_entry(found["plan"], found["rule"]),
                "the rule's tiers count the month's quantity per customer, but it prices "
                f"lines of two vendors ({vendors[0]} and {vendors[1]}) of customer "
                f"{found['customer']!r}, whose quantities would move each other into cheaper "
                "tiers; add vendor to its match (a rule of these tiers per vendor)",
            ) from exc
        units = " and ".join(repr(u) if u else "no unit" for u in found["units"])
        raise ParameterError(
            pricing.plans_path,
            pricing.rule_entry(found["plan"], found["rule"]),
            "the rule's tiers count the month's quantity per customer, but the lines of "
            f"customer {found['customer']!r} it prices are in different units ({units}, by "
            "their PricingUnit), which do not add up; narrow its match to the lines of one unit "
            "(a service or sku) and price the others by a rule of their own",
        ) from exc
