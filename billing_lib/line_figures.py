"""The figures of an invoice line as the invoice shows them (``line_labels`` gives its text): the
quantity half-up to 2 places (3 or 4 where 2 do not give the amount at its price), in Python and
as DuckDB SQL; the unit without a pack of one's 1; and the unit price, shown only where shown
quantity x shown price rounds to the line's amount."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from billing_lib.money import grouped_sql, minor_unit, round_money, round_money_sql
from billing_lib.printed_texts import clean_text

_PRICE_PLACES = Decimal("0.0001")


def display_quantity(quantity: Decimal, places: int = 2) -> Decimal:
    """``quantity`` as an invoice shows it: half-up to 2 places (hours, seats, GB, points), whole
    where that is whole; a quantity that 2 places would show as 0 gets 4. Vendors' float noise
    (``349.9999999986`` GB-Mo) reads 350. ``places``: 3 or 4 where 2 do not give the line's
    amount at its price (``display_figures``), trailing zeros dropped."""
    shown = quantity.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if not shown and quantity:
        shown = quantity.quantize(_PRICE_PLACES, rounding=ROUND_HALF_UP)
    if shown == shown.to_integral_value():
        return shown.quantize(Decimal(1))
    return shown.normalize() if places > 2 else shown


def display_quantity_sql(
    quantity: str, price: str | None = None, amount: str | None = None, currency: str = "'EUR'"
) -> str:
    """SQL of ``display_quantity`` as text, as the PDF prints a shown quantity
    (``invoice_pdf.quantity_text``): the DECIMAL ``quantity`` (above 0) half-up to 2 places (4
    where 2 show 0), trailing zeros dropped, thousands separators: "15", "14.5", "1,234.57";
    with its ``price`` and the rounded ``amount`` in ``currency`` (SQL expressions), at 3 or 4
    places where 2 do not give the amount at that price, as ``display_figures`` shows it
    ("14.226" at 2.00 for 28.45). Exact: from the DECIMAL, no float noise."""

    def at(places: int) -> str:
        return f"CAST({quantity} AS DECIMAL(38,{places}))"  # rounds half away from zero

    def text(value: str) -> str:
        return f"rtrim(rtrim(CAST({value} AS VARCHAR), '0'), '.')"

    shown = text(f"CASE WHEN {at(2)} = 0 AND {quantity} <> 0 THEN {at(4)} ELSE {at(2)} END")
    if price is not None and amount is not None:
        gives = [
            (f"{round_money_sql(f'{at(p)} * {price}', currency)} = {amount}", p) for p in (2, 3, 4)
        ]
        cases = " ".join(f"WHEN {g} THEN {text(at(p))}" for g, p in gives)
        shown = f"CASE {cases} ELSE {shown} END"
    return grouped_sql(shown)


#: A unit of measure naming a pack of one (Microsoft's "1 Hour", "1 GB/Month", "1/Day",
#: "1 /Month", EA's "1 1 Hour"): the number is the pack size, not a quantity. Only a lone 1
#: followed by a space or a slash: "1K/Hour", "10K/Month", "1M" and "100/Month" are packs of a
#: thousand, ten thousand, a million, a hundred, whose size the quantity counts.
_PACK_OF_ONE = re.compile(r"^(?:\s*1(?:\s*/\s*|\s+))+(?=[^\s/])")


def display_unit(unit: str | None) -> str | None:
    """``unit`` as an invoice shows it: a pack of one without its 1 ("744 1 Hour" reads
    "744 Hour", "31 1/Day" reads "31 Day"); a larger pack ("10 Hours", "100 GB", "10K/Month")
    keeps its size, which the quantity counts. A vendor's tab or newline reads as a space
    (``clean_text``), a blank unit as none."""
    unit = clean_text(unit)
    if unit is None:
        return None
    return _PACK_OF_ONE.sub("", unit)


def display_figures(
    quantity: Decimal | None,
    unit_price: Decimal | None,
    amount: Decimal,
    currency: str,
    credit: bool = False,
    exact: Decimal | None = None,
) -> tuple[Decimal | None, Decimal | None]:
    """(quantity, unit price) an invoice line shows for the exact ``quantity`` (None: the line
    mixes units), its one exact ``unit_price`` (None: several prices) and its rounded ``amount``.
    A credit line shows its quantity with the amount's sign, and so does a line of one negative
    price (a custom line of kind credit: ``1 x -200.00`` reads ``-1 x 200.00``, as a vendor
    credit and the e-invoice, whose price is never negative, state it). Where the amount rounds
    to nothing, the sign is that of ``exact``, the amount before rounding: a credit of 0.5 at
    -0.004 (-0.002) reads ``-0.5 x 0.004`` beside 0.00. The price, at most 4 places (at least
    the currency's), is shown only where shown quantity x shown price rounds to the amount;
    where the quantity at 2 places does not give it, at 3 or 4 places (a seat fee's
    14.225806451613 seat-months at 2.00, 28.45: 14.226, as 14.23 gives 28.46), as the seat
    fee's text shows it (``rating.fees``)."""
    if quantity is None:
        return None, None
    negative_price = unit_price is not None and unit_price < 0
    signed = amount if amount or exact is None else exact
    sign = -1 if (credit or negative_price) and signed < 0 < quantity else 1
    shown = display_quantity(quantity * sign)
    if unit_price is None or not shown:
        return shown, None
    price = (unit_price * sign).quantize(_PRICE_PLACES, rounding=ROUND_HALF_UP)
    minor = minor_unit(currency)
    price = price.normalize()
    if price.as_tuple().exponent > minor.as_tuple().exponent:  # type: ignore[operator]
        price = price.quantize(minor)
    for places in (2, 3, 4):
        finer = display_quantity(quantity * sign, places)
        if round_money(finer * price, currency) == amount:
            return finer, price
        if finer == quantity * sign:  # exact already: more places show nothing more
            break
    return shown, None
