"""Exact money: Decimal in Python, DECIMAL in DuckDB, and the one rounding rule.

Rounding rule (docs/rounding.md): vendor amounts are kept unrounded (12 decimal places) through
import and rating; each invoice line is rounded half-up to the currency's minor unit; VAT is
computed per rate on the sum of the rounded lines and rounded half-up; totals are sums of rounded
figures only.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: DuckDB type of every unrounded amount, quantity and rate in the line tables.
SQL_AMOUNT = "DECIMAL(38,12)"

ZERO = Decimal(0)

# ISO 4217 minor units for the currencies where it is not 2.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def decimal_places(currency: str) -> int:
    """How many decimals an amount of ``currency`` shows (2 for EUR, 0 for JPY, 3 for KWD)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency`` an invoice can show (0.01 for EUR, 1 for JPY)."""
    return Decimal(1).scaleb(-decimal_places(currency))


def round_money(amount: Decimal, currency: str = "EUR") -> Decimal:
    """Round half-up to the currency's minor unit (2.675 -> 2.68, -2.675 -> -2.68)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
