"""The checks before the vendor lines are priced: the first line its rule cannot price
(``unpriceable_sql``, ``check_priceable``: a list price or a quantity it lacks), the unit price
places the rules use (``unit_places_used``) and the seat fees' lines without a quantity
(``check_seat_lines``)."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from billing_lib.errors import ParameterError
from billing_lib.pricing import Pricing
from billing_lib.rating.keys import (
    lines_with_keys,
)
from billing_lib.rating.price import COUNTED, UNIT_PRICED, vendor_cost_sql
from billing_lib.rating.tables import first_or_none


def unpriceable_sql(used: list[str], places: bool = False) -> str:
    """The first line its rule cannot price (plan, rule, file, row, what it lacks, its vendor cost
    and currency): a list-price line without a list price (ListCost, or unit x quantity) or
    with a list price of 0 and a vendor cost (an Azure marketplace purchase, listed at 0 in the
    cost exports, was billed 0.00 in silence), or a line priced per unit (``COUNTED``) without a
    PricingQuantity or with one of 0 whose vendor cost (on the rule's basis) is not 0 - an AWS
    savings plan fee or reservation fee carries none, an AWS credit or refund a usage amount of
    0, and each was billed 0.00 in silence: the reseller's cost or the customer's credit was
    lost; or a line of a prorated seat price (``fixed_price``) with a quantity whose charge
    period has no length (ChargePeriodEnd = ChargePeriodStart: prorated to 0.00, the reseller's
    cost and price lost). One pass over the lines of such keys for all. With ``places`` (some
    key's rule has ``unit_price_places``) also a line of such a markup or list price without a
    PricingQuantity or with one of 0 that costs (a markup) or lists (a list price) something:
    it has no unit price to round (``price_list_sql``); else that part of the query is left
    out."""
    cost = vendor_cost_sql()
    # only the keys of such pricings join the lines (none in most months: no pass over them)
    pricings = f"pricing IN {('list_price', *COUNTED)}"
    if places:
        pricings += f" OR pricing IN {UNIT_PRICED} AND unit_places IS NOT NULL"
    keys = f"(SELECT * FROM rating_keys_rated WHERE {pricings})"
    no_list = "l.ListCost IS NULL AND (l.ListUnitPrice IS NULL OR l.PricingQuantity IS NULL)"
    zero_list = "COALESCE(l.ListCost = 0, l.ListUnitPrice = 0 OR l.PricingQuantity = 0)"
    listed = f"k.pricing = 'list_price' AND ({no_list} OR {zero_list} AND {cost} <> 0)"
    counted = f"k.pricing IN {COUNTED} AND COALESCE(l.PricingQuantity, 0) = 0 AND {cost} <> 0"
    instant = (
        "k.pricing = 'fixed_price' AND k.prorate AND l.ChargePeriodEnd = l.ChargePeriodStart "
        "AND COALESCE(l.PricingQuantity, 0) <> 0"
    )
    lacks = f"""CASE WHEN {instant} THEN 'period'
                    WHEN k.pricing <> 'list_price' AND l.PricingQuantity IS NULL THEN 'quantity'
                    WHEN k.pricing <> 'list_price' THEN 'zero quantity'
                    WHEN {no_list} THEN 'list' ELSE 'zero list' END"""
    where = f"{listed} OR {counted} OR {instant}"
    if places:
        billed = f"CASE WHEN k.pricing = 'list_price' THEN COALESCE(l.ListCost, 0) ELSE {cost} END"
        unit = (
            f"k.pricing IN {UNIT_PRICED} AND k.unit_places IS NOT NULL "
            f"AND COALESCE(l.PricingQuantity, 0) = 0 AND {billed} <> 0"
        )
        lacks = f"""CASE WHEN {listed} OR {counted} OR {instant} THEN {lacks}
                         WHEN l.PricingQuantity IS NULL THEN 'unit quantity'
                         ELSE 'unit zero quantity' END"""
        where += f" OR {unit}"
    return f"""
        SELECT k.plan_id, k.rule_id, l.x_SourceFile, l.x_SourceRow, {lacks},
               CAST({cost} AS VARCHAR), l.BillingCurrency, k.pricing, k.unit_places,
               CAST(l.ListCost AS VARCHAR), CAST(l.ChargePeriodStart AS VARCHAR)
        FROM {lines_with_keys(keys, used)}
        WHERE {where}
        ORDER BY l.x_SourceFile, l.x_SourceRow
        LIMIT 1"""


def unit_places_used(con: duckdb.DuckDBPyConnection, keys: str = "rating_keys_rated") -> list[int]:
    """The ``unit_price_places`` of the rules of the markup and list-price keys ``keys`` (a
    table of ``rating_keys`` rows), each once: none in a month without them, whose rating then
    plans no rounding (``amounts_sql``)."""
    return [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT unit_places FROM {keys} "
            f"WHERE pricing IN {UNIT_PRICED} AND unit_places IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]


def check_priceable(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, used: list[str], places: bool = False
) -> None:
    """ParameterError for the first line its rule cannot price (``unpriceable_sql``; ``places``:
    some key's rule has ``unit_price_places``)."""
    bad = first_or_none(con, unpriceable_sql(used, places))
    if not bad:
        return
    plan_id, rule_id, file, row, lacks, cost, currency, kind, unit_places, listed, start = bad
    entry = pricing.rule_entry(plan_id, rule_id)
    if lacks == "period":
        raise ParameterError(
            pricing.plans_path,
            entry,
            f"the rule prices per month, prorated by the charge period, but {file} row {row} "
            f"has a charge period of no length (ChargePeriodStart and ChargePeriodEnd both "
            f"{start}) and costs {format(Decimal(cost).normalize(), 'f')} {currency}: "
            "prorated, it would be billed 0.00; price such lines by a rule of their own, or "
            "write prorate: false (a whole month for such a line)",
        )
    if lacks.startswith("unit "):
        has = "no PricingQuantity" if lacks == "unit quantity" else "a PricingQuantity of 0"
        amount = listed if kind == "list_price" else cost
        does = "lists" if kind == "list_price" else "costs"
        raise ParameterError(
            pricing.plans_path,
            entry,
            f"the rule prices per unit (unit_price_places: {unit_places}), but {file} row {row} "
            f"has {has} and {does} {format(Decimal(amount).normalize(), 'f')} {currency}: it "
            "has no unit price to round; narrow the rule's match to the lines with a quantity "
            "(a service, sku or charge_type), and price the others by a rule of their own "
            "without unit_price_places",
        )
    if lacks == "list":
        raise ParameterError(
            pricing.plans_path,
            entry,
            f"the rule prices by the vendor's list price, but {file} row {row} has none "
            "(ListCost, or ListUnitPrice x PricingQuantity; an AWS report's public on-demand "
            "price in another currency than the line's, its pricing currency, is none either); "
            "narrow the rule's match",
        )
    shown = format(Decimal(cost).normalize(), "f")
    if lacks == "zero list":
        raise ParameterError(
            pricing.plans_path,
            entry,
            f"the rule prices by the vendor's list price, but {file} row {row} lists 0 and "
            f"costs {shown} {currency}: it would be billed 0.00 (a marketplace purchase or a "
            "fee the vendor lists at 0); narrow the rule's match, and price such lines by a "
            "rule of their own",
        )
    has = "none" if lacks == "quantity" else "a quantity of 0"
    raise ParameterError(
        pricing.plans_path,
        entry,
        f"the rule prices per unit (PricingQuantity), but {file} row {row} has {has} and costs "
        f"{shown} {currency}: it would be billed 0.00; narrow the rule's match to the lines "
        "with a quantity (a service, sku or charge_type), and price the others by a rule of "
        "their own (an exclude rule with a reason, if the unit price covers them)",
    )


def check_seat_lines(con: duckdb.DuckDBPyConnection, pricing: Pricing, counts: str) -> None:
    """ParameterError for the first line a seat fee counts that has no PricingQuantity (or one
    of 0) and a vendor cost: it would count no seat, as a price per unit would bill it 0.00
    (``check_priceable``); else for one with a quantity whose charge period has no length,
    under a prorated fee (0 seat-months). ``counts``: the seat fees' counts
    (``fees.minimum_counts_sql`` with seats: ``unpriced``, the first such line in the fee's
    scope)."""
    bad = first_or_none(
        con,
        f"""SELECT plan_id, rule_id, unpriced.file, unpriced.row, unpriced.no_quantity,
                   CAST(unpriced.cost AS VARCHAR), unpriced.currency, unpriced.instant,
                   unpriced.start
            FROM {counts} WHERE fee_kind = 'seat_fee' AND unpriced IS NOT NULL
            ORDER BY unpriced.instant, unpriced.file, unpriced.row, plan_id, rule_id LIMIT 1""",
    )
    if not bad:
        return
    plan_id, rule_id, file, row, no_quantity, cost, currency, instant, start = bad
    shown = format(Decimal(cost).normalize(), "f")
    if instant:
        raise ParameterError(
            pricing.plans_path,
            pricing.rule_entry(plan_id, rule_id),
            f"the seat fee counts the seat-months of its lines, prorated by their charge "
            f"period, but {file} row {row} has a charge period of no length (ChargePeriodStart "
            f"and ChargePeriodEnd both {start}) and costs {shown} {currency}: it would count no "
            "seat; narrow the fee's match, or write prorate: false (a whole month for such a "
            "line)",
        )
    has = "none" if no_quantity else "a quantity of 0"
    raise ParameterError(
        pricing.plans_path,
        pricing.rule_entry(plan_id, rule_id),
        f"the seat fee counts the seats of its lines (PricingQuantity), but {file} row {row} "
        f"has {has} and costs {shown} {currency}: it would count no seat; narrow the fee's "
        "match to the licence lines (a publisher, service or sku)",
    )
