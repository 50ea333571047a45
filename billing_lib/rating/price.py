"""The vendor lines priced: ``rated_lines`` (vendor lines), ``excluded_lines``, ``unmapped_lines``.

Each customer line joins its key (``rating.keys``) once and is priced by the key's pricing. Amounts
stay unrounded at 12 places (docs/rounding.md); products are computed once per line and layered
(vendor cost -> cost, seat cycle end -> list cost, seat parts -> list amount, seat amount ->
amount -> unit price), divisions go through ``_xdiv`` and the products of costs, factors and
rates through ``_xmul`` (``rating.exact``: exact, without a 128-bit rescaling per line where a
DOUBLE is proven right).

The layers also keep the planning cheap: a macro repeats its arguments (``_xdiv`` up to a dozen
times), so a macro nested in a macro's argument was planned dozens of times over (a third of a
small month's rating, benchmarks/README.md); each macro here gets column references, and each
layer's column is computed (CASE) only on the lines whose pricing needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from billing_lib.line_labels import resource_name_sql
from billing_lib.pricing import UNIT_PRICED_KINDS, Pricing
from billing_lib.rating.exact import DEC
from billing_lib.rating.keys import (
    key_join,
    line_column,
    lines_source,
    lines_with_keys,
    tags_of,
    used_scope,
)
from billing_lib.rating.tables import RATED_COLUMNS
from billing_lib.rating.tiers import one_unit_sql, tiered_sql
from billing_lib.sql import ql

#: Pricings whose quantity counts (a seat, a tier's unit): none is 0.
COUNTED = ("fixed_price", "tiered", "volume")


#: Pricings priced by the month's quantity per customer and rule (``tiered_sql``).
TIERED = ("tiered", "volume")


#: Pricings whose unit price a rule's ``unit_price_places`` rounds (``price_list_sql``).
UNIT_PRICED = UNIT_PRICED_KINDS


def vendor_cost_sql() -> str:
    """The vendor cost of a line in its vendor currency: EffectiveCost where the rule says so
    (never for credits passed on), else BilledCost."""
    return (
        "CASE WHEN k.basis = 'EffectiveCost' AND k.pricing <> 'pass_on' "
        "THEN COALESCE(l.EffectiveCost, l.BilledCost) ELSE l.BilledCost END"
    )


def quantity_sql() -> str:
    """The priced quantity: PricingQuantity (0 if none) for counted pricings, else the quantity,
    none for none: a line without a quantity adds nothing to the quantity an invoice line shows
    (it was 1: five lines of 0 hours made 5 hours more)."""
    counted = f"k.pricing IN {COUNTED}"
    return (
        f"CAST(CASE WHEN {counted} THEN COALESCE(l.PricingQuantity, 0) "
        f"ELSE l.PricingQuantity END AS {DEC})"
    )


def fixed_parts_sql(
    when: str = "pricing = 'fixed_price'",
    fixed: str = "price * COALESCE(PricingQuantity, 0)",
    prefix: str = "",
    end: str = "cycle_end",
) -> str:
    """The parts of a seat price (``fixed_price_sql``) as columns of their own, NULL on the
    lines not ``when``, of the charge period from ChargePeriodStart to ``end`` (the column of
    ``cycle_end_sql``, computed once in the layer below): ``fixed`` (price per month x
    quantity), ``months`` (whole months from the start of the charge period), ``seconds`` (of
    the rest of the period after them) and ``month_seconds`` (of the month that rest starts in),
    each name after ``prefix``. A seat fee counts its lines' seat-months by the same parts,
    ``fixed`` the quantity alone (``seat_columns_sql``). ``date_diff('month')`` counts month
    boundaries: the whole months are that, or one less where that many months from the start
    pass the end. The rest counts over the month it starts in, or over the time to the next
    month from the start where that is longer: 31 October + 4 months is 28 February, and 28
    February - 30 March over February's 28 days was more than a month (31 October - 30 March
    billed more than to 31 March).
    A period from the 29th-31st that ends the day after its whole months where the month it ends
    in is too short for its day (Partner Center's cycle, ``cycle_end_sql``: 31 January - 28
    February inclusive, ChargePeriodEnd 1 March) counts those months, no day more (it was 1
    month and 1/31: 45.42 for 44.00)."""
    start = "ChargePeriodStart"
    crossed = f"CAST(date_diff('month', {start}, {end}) AS INTEGER)"
    months = (
        f"greatest(0, {crossed} - CASE WHEN {start} + to_months({crossed}) > {end} "
        "THEN 1 ELSE 0 END)"
    )
    rest = f"({start} + to_months({months}))"
    parts = {
        "fixed": f"CAST({fixed} AS {DEC})",
        "months": months,
        "seconds": f"date_diff('second', {rest}, {end})",
        "month_seconds": (
            f"greatest(86400 * day(last_day({rest})), "
            f"date_diff('second', {rest}, {start} + to_months({months} + 1)))"
        ),
    }
    return ", ".join(
        f"CASE WHEN {when} THEN {sql} END AS {prefix}{name}" for name, sql in parts.items()
    )


def cycle_end_sql(when: str) -> str:
    """The end (exclusive) a seat price counts a charge period to (``fixed_parts_sql``), NULL on
    the lines not ``when``: ChargePeriodEnd, or the day before where that day is whole months
    after ChargePeriodStart and the last day of a month too short for the start's day. Partner
    Center ends a monthly cycle from the 29th-31st the day before the same day next month,
    clamped to that month's end (31 January - 28 February, 31 March - 30 April, 29 January - 28
    February of a year without 29 February: ChargePeriodEnd the 1st after), and that cycle is
    one month; DuckDB's ``start + months`` clamps the same way (31 January + 1 month = 28
    February), so the day before the end is those months exactly. The same for an annual or
    triennial term from such a day (29 February 2028 - 28 February 2029: 12 months). A period
    that ends on another day keeps its proration."""
    start, end = "ChargePeriodStart", "ChargePeriodEnd"
    last = f"({end} - INTERVAL 1 DAY)"
    months = f"CAST(date_diff('month', {start}, {last}) AS INTEGER)"
    whole = (
        f"{last} > {start} AND day({last}) < day({start}) "
        f"AND {start} + to_months({months}) = {last}"
    )
    return f"CASE WHEN NOT ({when}) THEN NULL WHEN {whole} THEN {last} ELSE {end} END"


def fixed_price_sql(prefix: str = "", prorate: str = "prorate") -> str:
    """A seat price per month x quantity, prorated: the whole months of the charge period
    counted, then the seconds of the rest over the seconds of the month the rest starts in (a
    period shorter than a month: its seconds over those of the month it starts in; a triennial
    change of 512 days: 16 months and 24 days of a February's 29, not 512 days over a month's).
    A vendor refund of seats (a positive quantity with a negative cost: Microsoft
    removeQuantity) is priced negative. Not prorated (``prorate``, SQL: false), the rest counts
    as a whole month, and a period counts one month at least (it counted one month whatever the
    period: an annual term paid up front was billed 1/12 of its price). Of the columns of
    ``fixed_parts_sql`` (named after ``prefix``): the division's operands are columns, so its
    macro (which repeats them) is planned on column references."""
    fixed, months, seconds = f"{prefix}fixed", f"{prefix}months", f"{prefix}seconds"
    whole = f"greatest(1, {months} + CASE WHEN {seconds} > 0 THEN 1 ELSE 0 END)"
    refund_sign = "(CASE WHEN billed_cost < 0 AND PricingQuantity > 0 THEN -1 ELSE 1 END)"
    return f"""{refund_sign} * CASE
            WHEN ChargePeriodEnd IS NULL THEN {fixed}
            WHEN NOT {prorate} THEN {fixed} * {whole}
            WHEN {seconds} = 0 THEN {fixed} * {months}
            ELSE {fixed} * {months} + _xdiv({fixed} * {seconds}, {prefix}month_seconds) END"""


#: The columns a vendor line gets for the seat fees (``seat_columns_sql``), summed per rule by
#: ``fees.minimum_counts_sql``.
SEAT_COLUMNS = ("seat_months", "seat_months_whole", "seat_unpriced")


def seat_columns_sql(costed: str) -> str:
    """The lines of ``costed`` (``costed_sql``) with ``SEAT_COLUMNS``: the seat-months a seat fee
    counts of each, its PricingQuantity x its charge period's months exactly as a seat price
    counts them (``fixed_price_sql`` of a price of 1: a refund of seats negative, an annual term
    12), prorated (``seat_months``) and not (``seat_months_whole``), NULL on a line without a
    quantity; and ``seat_unpriced``, on a line without a PricingQuantity (or of 0) whose vendor
    cost is not 0, the line as a struct (``file``, ``row``, ``no_quantity``, ``cost``,
    ``currency``) for the error that names it (``check_seat_lines``). Only for the months
    with a seat fee (``rated_file.top_ups``): three layers, the cycle's end
    (``cycle_end_sql``), the parts, then the months. A line with a quantity whose charge period
    has no length (ChargePeriodEnd = ChargePeriodStart: 0 seat-months prorated) has a
    ``seat_unpriced`` too, its ``instant`` true (false first, so the smallest of a sum is a line
    without a quantity where there is one), refused only by a prorated fee."""
    quantity = "COALESCE(PricingQuantity, 0)"
    seated = f"{quantity} <> 0"
    facts = (
        "'file': source_file, 'row': source_row, 'no_quantity': PricingQuantity IS NULL, "
        "'cost': vendor_cost, 'currency': vendor_currency, "
        "'start': CAST(ChargePeriodStart AS VARCHAR)"
    )
    unpriced = (
        f"CASE WHEN {quantity} = 0 AND vendor_cost <> 0 THEN {{'instant': false, {facts}}} "
        f"WHEN {quantity} <> 0 AND ChargePeriodEnd = ChargePeriodStart "
        f"THEN {{'instant': true, {facts}}} END"
    )
    return f"""
        SELECT * EXCLUDE (s_fixed, s_months, s_seconds, s_month_seconds, s_cycle_end),
               {fixed_price_sql("s_", "true")} AS seat_months,
               {fixed_price_sql("s_", "false")} AS seat_months_whole, {unpriced} AS seat_unpriced
        FROM (SELECT *, {fixed_parts_sql(seated, quantity, "s_", "s_cycle_end")}
              FROM (SELECT *, {cycle_end_sql(seated)} AS s_cycle_end FROM ({costed})))"""


def list_cost_sql() -> str:
    """The vendor's list cost of a list-price line (prorated and signed as the vendor did), else
    unit x quantity; NULL on other lines. A credit (charge category Credit: an AWS Refund or
    Credit priced by ``credits: price``) giving money back (a negative cost) whose list cost is
    positive is priced negative, as ``fixed_price_sql`` prices a refund of seats: it carries the
    positive usage amount and public on-demand rate (or cost) of the usage it gives back, and
    was billed as a charge. Not a Usage line with a negative cost (a Savings Plan negation, a
    discount): what the customer of a list price owes for those is the usage's list price, not
    the reseller's commitment or discount. The sign is taken from the operands' signs, so the
    product's macro is planned once."""
    listed = "COALESCE(ListCost, _xmul(ListUnitPrice, PricingQuantity))"
    positive = "COALESCE(sign(ListCost), sign(ListUnitPrice) * sign(PricingQuantity)) > 0"
    back = f"charge_category = 'Credit' AND billed_cost < 0 AND {positive}"
    return (
        "CASE WHEN pricing = 'list_price' "
        f"THEN (CASE WHEN {back} THEN -1 ELSE 1 END) * {listed} END"
    )


def amount_sql() -> str:
    """Revenue of a line in the invoice currency by its pricing (NULL for tiered and volume lines,
    priced by ``tiered_sql``), of the columns ``list_amount`` (the list cost x factor) and
    ``fixed_amount`` (``fixed_price_sql``): each product's operands are columns (``priced_sql``)."""
    return """CASE pricing
        WHEN 'markup' THEN _xmul(cost, factor)
        WHEN 'list_price' THEN _xmul(list_amount, fx_rate)
        WHEN 'fixed_price' THEN fixed_amount
        WHEN 'tiered' THEN NULL WHEN 'volume' THEN NULL
        ELSE cost END"""


def unit_price_sql() -> str:
    """Price per unit, unrounded: the amount for one unit; for a quantity of 0 the rule's price
    (a seat price), none where the rule has no price of its own (a markup); none for a line
    without a quantity."""
    return """CASE WHEN amount IS NULL THEN NULL WHEN quantity = 1 THEN amount
                   WHEN quantity = 0 THEN price
                   ELSE _xdiv(amount, quantity) END"""


def rounded_sql(value: str, places: str, used: Sequence[int]) -> str:
    """SQL: the DECIMAL ``value`` rounded half-up (away from zero at an exact tie: DuckDB's cast
    of a DECIMAL to fewer places) to ``places`` decimals, an SQL expression whose values are among
    ``used``, as a DEC (NULL for another value). ``value`` is repeated once per place: give a
    column."""
    cases = " ".join(
        f"WHEN {n} THEN CAST(CAST({value} AS DECIMAL(38,{n})) AS {DEC})" for n in sorted(set(used))
    )
    return f"CASE {places} {cases} END"


def price_list_sql(source: str, places: Sequence[int]) -> str:
    """The lines of ``source`` (with ``amount``, ``unit_price`` and ``unit_places``: the places
    of the rule of a markup or list-price line, NULL on others) priced as a price list prices
    them where ``unit_places`` is set: the unit price (the amount for one unit, ``unit_price_sql``,
    at 12 places) rounded half-up to the rule's places, and the amount quantity x that price, at
    12 places (docs/rounding.md); a credit of a negative quantity gets the price of a charge, so
    a seat removed gives back what it was charged. A line without a quantity (or of 0: refused
    by ``check_priceable`` unless it bills 0) keeps its amount. Two layers of column references:
    the unit price rounded, then the product."""
    per_unit = "unit_places IS NOT NULL AND quantity <> 0"
    return f"""
        SELECT * REPLACE (CASE WHEN {per_unit} THEN _xmul(quantity, unit_price) ELSE amount END
                          AS amount)
        FROM (SELECT * REPLACE (CASE WHEN {per_unit}
                                     THEN {rounded_sql("unit_price", "unit_places", places)}
                                     ELSE unit_price END AS unit_price)
              FROM ({source}))"""


def charge_end_sql(start: str = "l.ChargePeriodStart", end: str = "l.ChargePeriodEnd") -> str:
    """The last day of a charge period (``end`` exclusive, as the line model has it) that ends on
    a later day than it starts (a licence cycle, a credit from a day to the cycle's end, a month
    of usage); NULL for a line within one day (hourly and daily usage, which makes up the month,
    and a line without an end), so the rated file's column costs nearly nothing where most lines
    are usage. ``rated_lines.charge_date`` is the first day; the invoices name the period where
    it is not their supply period (``line_labels``)."""
    last = f"CAST({end} - INTERVAL 1 MICROSECOND AS DATE)"
    return f"CASE WHEN {last} > CAST({start} AS DATE) THEN {last} END"


def costed_sql(used: list[str], keys: str, period: str, places: Sequence[int] = ()) -> str:
    """The vendor lines of the keys ``keys`` with the columns of the rated lines, their key's
    pricing columns and the line's cost (in the invoice currency); with ``places`` (the
    ``unit_price_places`` some key's rule has) also ``unit_places``, those of the line's markup
    or list price, NULL on other lines (credits passed on at cost or kept among them)."""
    name = resource_name_sql("l.ResourceId", "l.ResourceName", "l.SubAccountName", "l.Tags")
    description = (
        "COALESCE(k.rule_description, l.ChargeDescription, l.ServiceName, l.SkuId, "
        "l.ChargeCategory)"
    )
    cost = "CASE WHEN fx_rate = 1 THEN vendor_cost ELSE _xmul(vendor_cost, fx_rate) END"
    unit_places = (
        f", CASE WHEN k.pricing IN {UNIT_PRICED} THEN k.unit_places END AS unit_places"
        if places
        else ""
    )
    return f"""
        SELECT *, {cost} AS cost FROM (
            SELECT l.x_CustomerId AS customer_id, CAST({ql(period)} AS VARCHAR) AS period,
                   CAST(l.ChargePeriodStart AS DATE) AS charge_date,
                   {charge_end_sql()} AS charge_end, 'vendor' AS line_kind,
                   l.x_Vendor AS vendor,
                   l.ProviderName AS provider, l.PublisherName AS publisher,
                   l.ServiceName AS service, l.SkuId AS sku, l.ChargeCategory AS charge_category,
                   COALESCE(l.ResourceId, l.SubAccountId) AS subscription,
                   {name} AS subscription_name, l.Tags AS tags,
                   COALESCE(k.rule_product_group, l.x_Vendor) AS product_group,
                   {description} AS description, {quantity_sql()} AS quantity,
                   l.PricingUnit AS unit, {vendor_cost_sql()} AS vendor_cost,
                   l.BilledCost AS billed_cost, l.BillingCurrency AS vendor_currency,
                   k.fx_rate, k.currency, k.plan_id, k.rule_id, l.x_SourceFile AS source_file,
                   l.x_SourceRow AS source_row, l.x_VendorLineId AS vendor_line_id, k.key_id,
                   k.pricing, k.tier_scope,
                   k.price, k.factor, k.prorate, l.ChargePeriodStart, l.ChargePeriodEnd,
                   l.PricingQuantity, l.ListCost, l.ListUnitPrice{unit_places}
            FROM {lines_with_keys(keys, used)})"""


def amounts_sql(costed: str, places: Sequence[int] = ()) -> str:
    """The lines of ``costed`` (``costed_sql``) with their ``amount`` and ``unit_price``, layered
    (module docstring): the seat cycle's end (``cycle_end_sql``), list cost and seat parts,
    then list and seat amounts, then the amount, then the unit price; with ``places`` (some
    rule's ``unit_price_places``) the lines of such rules then priced by their rounded unit
    price (``price_list_sql``), else without that layer."""
    fixed = "pricing = 'fixed_price'"
    priced = f"""
        SELECT *, {unit_price_sql()} AS unit_price FROM (
          SELECT *, {amount_sql()} AS amount FROM (
            SELECT *, CASE WHEN pricing = 'list_price' THEN _xmul(list_cost, factor) END
                        AS list_amount,
                   CASE WHEN pricing = 'fixed_price' THEN {fixed_price_sql()} END AS fixed_amount
            FROM (SELECT *, {list_cost_sql()} AS list_cost, {fixed_parts_sql()}
                  FROM (SELECT *, {cycle_end_sql(fixed)} AS cycle_end FROM ({costed})))))"""
    return price_list_sql(priced, places) if places else priced


def priced_sql(
    used: list[str],
    keys: str,
    period: str,
    tiers: bool = False,
    seats: bool = False,
    places: Sequence[int] = (),
) -> str:
    """The vendor lines of the keys ``keys`` (a table or a parenthesised query of
    ``rating_keys`` rows) priced for ``period``: the rated_lines columns (``RATED_COLUMNS``), then
    the line's ``key_id``, ``pricing``, ``tier_scope`` and ``charge_start`` (the last three for
    the tier pricing, ``tiered_sql``), then with ``seats`` the ``SEAT_COLUMNS``
    (``seat_columns_sql``); amount and unit price NULL for tiered and volume lines, and for
    every line when ``tiers`` (keys of such pricings only, priced by ``tiered_sql``: their
    amounts' SQL is not planned). Unsorted. ``places``: the ``unit_price_places`` of the keys'
    rules (``amounts_sql``)."""
    costed = costed_sql(used, keys, period, () if tiers else places)
    if seats:
        costed = seat_columns_sql(costed)
    seat_columns = "".join(f", {c}" for c in SEAT_COLUMNS) if seats else ""
    rows = (
        f"SELECT *, CAST(NULL AS {DEC}) AS amount, CAST(NULL AS {DEC}) AS unit_price "
        f"FROM ({costed})"
        if tiers
        else amounts_sql(costed, places)
    )
    return f"""
        SELECT customer_id, period, charge_date, charge_end, line_kind, vendor, provider,
               publisher, service,
               sku, charge_category, subscription, subscription_name, tags, product_group,
               description, quantity, unit, unit_price, amount, cost, vendor_cost, billed_cost,
               vendor_currency, fx_rate, currency, plan_id, rule_id, source_file, source_row,
               vendor_line_id, key_id, pricing, tier_scope, ChargePeriodStart AS charge_start
               {seat_columns}
        FROM ({rows})"""


def vendor_sql(
    used: list[str],
    keys: str,
    period: str,
    tiered: bool,
    with_key: bool = False,
    seats: bool = False,
    places: Sequence[int] = (),
) -> str:
    """The priced vendor lines of the keys ``keys`` (``priced_sql``), tiered and volume lines
    priced by their tiers when ``tiered`` (some key has such a pricing), those of a rule with
    ``unit_price_places`` by their rounded unit price when ``places`` (the places such keys'
    rules have: ``unit_places_used``); rated_lines columns (and the line's ``key_id`` after them
    when ``with_key``, the ``SEAT_COLUMNS`` when ``seats``), unsorted. The tier window runs over
    the tiered lines only (a second join of the lines, to the tiered keys), never over every
    line."""
    cols = ", ".join(
        [*RATED_COLUMNS, *(["key_id"] if with_key else []), *(SEAT_COLUMNS if seats else ())]
    )
    if not tiered:
        return f"SELECT {cols} FROM ({priced_sql(used, keys, period, seats=seats, places=places)})"
    flat = priced_sql(
        used,
        f"(SELECT * FROM {keys} WHERE pricing NOT IN {TIERED})",
        period,
        seats=seats,
        places=places,
    )
    tiers = priced_sql(
        used, f"(SELECT * FROM {keys} WHERE pricing IN {TIERED})", period, True, seats
    )
    return f"""
        SELECT {cols} FROM ({flat})
        UNION ALL SELECT {cols} FROM ({tiered_sql(one_unit_sql(tiers))})"""


def not_billed_sql(used: list[str]) -> str:
    """``rating_not_billed``: in one pass over the customer lines (each pass reads every column
    of every line: about 20 s at ten million lines, benchmarks/README.md), the lines that are
    not billed - those of an excluded key, with the reason, plan and rule (none for vendor
    taxes), and those without a customer. Only lines of a category some excluded key has look
    for a key; ``excluded_lines`` and ``unmapped_lines`` are split from it. Every column of
    ``customer_lines`` (not the tags' columns the key's join reads, ``keys.lines_source``)."""
    tags = ", ".join(line_column(k) for k in tags_of(used))
    return f"""
        CREATE OR REPLACE TEMP TABLE rating_not_billed AS
        SELECT l.*{f" EXCLUDE ({tags})" if tags else ""}, k.excluded_reason AS reason,
               CASE WHEN k.charge_category <> 'Tax' THEN k.plan_id END AS plan_id,
               CASE WHEN k.charge_category <> 'Tax' THEN k.rule_id END AS rule_id
        FROM {lines_source(used)} l
        LEFT JOIN rating_calendar c ON c.day = l.x_PricingDate
          AND l.ChargeCategory IN (SELECT charge_category FROM rating_keys_excluded)
        LEFT JOIN rating_keys_excluded k ON {key_join(used)}
        WHERE l.x_CustomerId IS NULL OR k.customer IS NOT NULL"""


#: The lines of excluded keys (every column of customer_lines, ``reason``, ``plan_id``,
#: ``rule_id``) and the lines without a customer (the columns of customer_lines).
EXCLUDED_LINES_SQL = """
    CREATE OR REPLACE TABLE excluded_lines AS
    SELECT * FROM rating_not_billed WHERE x_CustomerId IS NOT NULL"""


UNMAPPED_LINES_SQL = """
    CREATE OR REPLACE TABLE unmapped_lines AS
    SELECT * EXCLUDE (reason, plan_id, rule_id) FROM rating_not_billed
    WHERE x_CustomerId IS NULL"""


def create_excluded_unmapped(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    """``excluded_lines`` and ``unmapped_lines`` (docs/architecture.md)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rating_keys_excluded AS "
        "SELECT * FROM rating_keys WHERE action = 'exclude'"
    )
    con.execute(not_billed_sql(used_scope(pricing)))
    con.execute(EXCLUDED_LINES_SQL)
    con.execute(UNMAPPED_LINES_SQL)
    con.execute("DROP TABLE rating_not_billed")
