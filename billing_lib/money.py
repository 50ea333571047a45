"""Exact money: Decimal in Python, DECIMAL in DuckDB, and the one rounding rule.

Rounding rule (docs/rounding.md): vendor amounts are kept unrounded (12 decimal places) through
import and rating; each invoice line is rounded half-up to the currency's minor unit; VAT is
computed per rate on the sum of the rounded lines and rounded half-up; totals are sums of rounded
figures only.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import list_currencies

#: DuckDB type of every unrounded amount, quantity and rate in the line tables.
SQL_AMOUNT = "DECIMAL(38,12)"

ZERO = Decimal(0)

# ISO 4217 minor units for every currency where it is not 2 (ISO 4217 table A.1): a currency
# missing here is rounded to cents, so a JOD invoice lost its fils and a VND one showed hundredths
# of a dong.
_MINOR_UNITS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI"), 0
    ),
    **dict.fromkeys(("VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


@lru_cache(maxsize=1)
def _iso_4217() -> frozenset[str]:
    return frozenset(list_currencies())


def is_iso_4217(code: str) -> bool:
    """Whether ``code`` (in capitals) is an ISO 4217 currency code (babel's CLDR list, historic
    ones included): three letters may still be a typo (``ERU``) or no currency (``XYZ``)."""
    return code in _iso_4217()


def decimal_places(currency: str) -> int:
    """How many decimals an amount of ``currency`` shows (2 for EUR, 0 for JPY, 3 for KWD)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency`` an invoice can show (0.01 for EUR, 1 for JPY)."""
    return Decimal(1).scaleb(-decimal_places(currency))


def round_money(amount: Decimal, currency: str = "EUR") -> Decimal:
    """Round half-up to the currency's minor unit (2.675 -> 2.68, -2.675 -> -2.68); an amount
    that rounds to nothing is 0.00 whatever its sign (-0.002 -> 0.00, never ``Decimal('-0.00')``,
    which a workbook cell or an amount's text would show as "-0.00")."""
    rounded = amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
    return rounded if rounded else abs(rounded)


def _by_places(amount: str, currency: str, text: bool) -> str:
    """SQL: ``amount`` cast to the decimals of ``currency`` (SQL expressions), as text or not."""

    def cast(places: int) -> str:
        sql = f"CAST({amount} AS DECIMAL(38,{places}))"
        return f"CAST({sql} AS {'VARCHAR' if text else SQL_AMOUNT})"

    other = sorted(set(_MINOR_UNITS.values()))
    cases = " ".join(
        f"WHEN upper({currency}) IN ("
        + ", ".join(f"'{c}'" for c, p in sorted(_MINOR_UNITS.items()) if p == places)
        + f") THEN {cast(places)}"
        for places in other
    )
    return f"CASE {cases} ELSE {cast(2)} END"


def round_money_sql(amount: str, currency: str) -> str:
    """SQL of ``round_money``: the DECIMAL ``amount`` half-up to the minor unit of ``currency``
    (SQL expressions), as a ``SQL_AMOUNT``: DuckDB's cast of a DECIMAL to fewer places rounds
    away from zero at an exact tie. For the one sum the rating rounds as the invoice will: the
    minimum-fee top-up's count of the invoice lines (docs/rounding.md)."""
    return _by_places(amount, currency, text=False)


def money_text_sql(amount: str, currency: str) -> str:
    """SQL: the DECIMAL ``amount`` as text in the decimals of ``currency`` (75.00 EUR, 30000 JPY),
    rounded as ``round_money_sql``."""
    return _by_places(amount, currency, text=True)


#: Thousands separators ``money_grouped_sql`` can insert: a DECIMAL(38, x) has at most 38 digits.
_SEPARATORS = 12


def money_grouped_sql(amount: str, currency: str) -> str:
    """SQL: the DECIMAL ``amount`` as the invoice prints an amount beside its currency, "EUR
    1,500.00", "JPY 30,000", "KWD -1,234.568": the currency, then the amount rounded half-up to
    its decimals (``money_text_sql``) with thousands separators (``-0.00`` never), as
    ``invoice_pdf.amount_text`` and the workbook print them. Exact: text from the DECIMAL, no
    float. For texts built in SQL for every customer at once (a minimum fee's line). Each
    ``regexp_replace`` puts one separator before the last three digits of the integer part
    without one (DuckDB's RE2 has no look-ahead to place them all at once)."""
    return f"({currency} || ' ' || {grouped_sql(money_text_sql(amount, currency))})"


def grouped_sql(text: str) -> str:
    """SQL: the number ``text`` (a VARCHAR expression, no separators) with thousands separators
    in its integer part ("1234567.5" -> "1,234,567.5")."""
    for _ in range(_SEPARATORS):
        text = f"regexp_replace({text}, '^(-?[0-9]+)([0-9]{{3}})', '\\1,\\2')"
    return text


def price_grouped_sql(price: str, currency: str) -> str:
    """SQL: the DECIMAL ``price`` (a price per unit, up to 12 places) as ``money_grouped_sql``
    prints an amount, but exact: in the currency's decimals where it has no more ("EUR 2.00"),
    else in its own, trailing zeros dropped ("EUR 2.005", "JPY 0.5"), never rounded to a price
    the customer is not charged."""
    exact = f"rtrim(CAST(CAST({price} AS {SQL_AMOUNT}) AS VARCHAR), '0')"
    text = (
        f"CASE WHEN {round_money_sql(price, currency)} = {price} "
        f"THEN {money_text_sql(price, currency)} ELSE {exact} END"
    )
    return f"({currency} || ' ' || {grouped_sql(text)})"


def shared_rounding_sql(
    exact: str, currency: str, line: str, ties: str, total: str | None = None
) -> str:
    """SQL of a part's share of its invoice line as the invoice rounds the line, over rows that
    are the parts of lines (``line``: a window, ``PARTITION BY`` the line's keys, or its name):
    the part's unrounded ``exact`` rounded half-up (``round_money_sql``), and the cents those
    roundings leave against the line's ``total`` (default: the line's ``exact`` sum rounded
    once, as the invoice rounds it) to the part of the largest absolute ``exact`` (``ties``:
    the columns that order parts of equal size). The shares add up to the line to the cent:
    rounded each on its own, two parts of 1.004 were 2.00 of a line of 2.01 (docs/rounding.md).
    One rule for the ledger's cost of sales (``cost_entries.rated_costs``) and the margin analysis
    (``analysis.load_summary``)."""
    own = round_money_sql(exact, currency)
    whole = total or round_money_sql(f"sum({exact}) OVER ({line})", currency)
    return (
        f"{own} + CASE WHEN row_number() OVER ({line} ORDER BY abs({exact}) DESC, {ties}) = 1 "
        f"THEN {whole} - sum({own}) OVER ({line}) ELSE 0 END"
    )
