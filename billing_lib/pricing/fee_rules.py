"""The fee rules of a price plan: rules that price no line but bill a line of their own per
customer from the month's vendor lines in their scope (``rating.fees``): the minimum fee, the
percent fee, the allowance and the seat fee."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from billing_lib.money import decimal_places
from billing_lib.pricing.rules import Currency, Money, Percent, _Rule
from billing_lib.pricing.scope import CREDIT_CATEGORIES, Scope
from billing_lib.printed_texts import PrintedText


def _fee_scope(value: Scope, what: str) -> Scope:
    """The scope of a fee (a minimum fee, a percent fee, an allowance, a seat fee): the vendor
    lines whose revenue (or seats) it counts. Not by ``charge_type`` or ``region`` (rated lines
    keep neither), nor by ``tag`` (a fee counts its scope's invoice lines as the invoice prints
    them, each rounded, and an invoice line sums lines of any tags), nor by a charge category of
    lines that give money back (Credit, Adjustment)."""
    a = "an" if what[0] in "aeiou" else "a"
    for field in ("charge_type", "region"):
        if getattr(value, field) is not None:
            raise ValueError(f"{a} {what} cannot be scoped by {field} (rated lines do not keep it)")
    if value.tag is not None:
        raise ValueError(
            f"{a} {what} cannot be scoped by tag: it counts the invoice lines of its scope as "
            "the invoice prints them, and an invoice line sums lines of any tags; scope it by "
            "vendor, provider, publisher, service, sku or charge_category"
        )
    if value.charge_category in CREDIT_CATEGORIES:
        if what == "minimum fee":  # the whole minimum billed beside the credits
            why = "it would bill the whole minimum beside them"
        elif what == "allowance":  # credits only are no spend to cover
            why = "the spend it covers would be below 0 and it would give nothing"
        elif what == "seat fee":  # seats given back only
            why = "its seats would count below 0 and it would bill nothing"
        else:  # a base of credits only is never above 0
            why = "its base would be below 0 and it would bill nothing"
        raise ValueError(
            f"{a} {what} cannot be scoped to charge_category {value.charge_category} (the lines "
            f"give money back: {why}); scope it to the charges, e.g. charge_category Usage, or "
            "leave charge_category out"
        )
    return value


class MinimumFeeRule(_Rule):
    """If the month's revenue of a customer's vendor lines in scope is below ``amount``, a
    ``minimum`` line tops it up. Applies to the customers on the plan on the period's last day."""

    kind: Literal["minimum_fee"]
    amount: Money = Field(gt=0)
    currency: Currency

    @model_validator(mode="after")
    def _shown(self) -> MinimumFeeRule:
        """The minimum is what the invoice shows when it is topped up: in the currency's
        decimals (a top-up to 75.005 EUR would print 75.01 or leave the invoice below it)."""
        places = decimal_places(self.currency)
        if -self.amount.normalize().as_tuple().exponent > places:  # type: ignore[operator]
            raise ValueError(
                f"the minimum {self.amount} has more decimals than {self.currency} shows "
                f"({places}); give it in {self.currency}'s minor unit"
            )
        return self

    @field_validator("match")
    @classmethod
    def _scope(cls, value: Scope) -> Scope:
        return _fee_scope(value, "minimum fee")


#: The most a percent fee may be, in percent: a fee of more than the spend it is a percentage of
#: is a typing mistake (10 for 10 %, never 1000).
MAX_FEE_PERCENT = Decimal(100)


class PercentFeeRule(_Rule):
    """A ``percent_fee`` line of ``percent`` % of the month's revenue of a customer's vendor lines
    in scope as the invoice prints them (each invoice line rounded to the currency's minor unit,
    credits lowering it), rounded once half-up to the minor unit; cost 0; none where that base is
    0 or less. In each customer's invoice currency (no ``currency``: it is a share of the
    customer's own lines). Applies to the customers on the plan on the period's last day, as a
    minimum fee; it counts the vendor lines only (not a minimum's top-up, which counts no fee)."""

    kind: Literal["percent_fee"]
    percent: Percent
    currency: Any = Field(
        default=None, description="Refused: the fee is in each customer's invoice currency"
    )

    @field_validator("percent")
    @classmethod
    def _range(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError(
                f"a percent fee of {value} % bills nothing or gives money back; expected more "
                f"than 0 and at most {MAX_FEE_PERCENT} %"
            )
        if value > MAX_FEE_PERCENT:
            raise ValueError(
                f"a percent fee of {value} % is more than the spend it is a percentage of; "
                f"expected more than 0 and at most {MAX_FEE_PERCENT} %"
            )
        return value

    @field_validator("currency")
    @classmethod
    def _no_currency(cls, value: Any) -> Any:
        """Only run for a currency given: a percentage of a customer's lines is in its invoice
        currency, and a currency here could only disagree with some customer's."""
        raise ValueError(
            f"a percent fee has no currency (got {value!r}): it is billed in each customer's "
            "invoice currency, as a percentage of the lines of that invoice; leave currency out"
        )

    @field_validator("match")
    @classmethod
    def _scope(cls, value: Scope) -> Scope:
        return _fee_scope(value, "percent fee")


class AllowanceRule(_Rule):
    """An allowance in money ("the first 50.00 EUR of Azure a month included"): an ``allowance``
    line of -min(``amount``, the month's revenue of a customer's vendor lines in scope as the
    invoice prints them, credits lowering it), so it never gives more than the spend it covers;
    none where that spend is 0 or less. Cost 0. ``amount`` in ``currency``, the customer's
    invoice currency (not converted, as a minimum fee's), in its minor unit. Applies to the
    customers on the plan on the period's last day, as the other fees; like them it counts the
    vendor lines only, and no fee counts it (docs/pricing.md, "Allowances")."""

    kind: Literal["allowance"]
    amount: Money = Field(gt=0)
    currency: Currency

    @model_validator(mode="after")
    def _shown(self) -> AllowanceRule:
        """Given in the currency's minor unit, as the invoice prints it (as a minimum)."""
        places = decimal_places(self.currency)
        if -self.amount.normalize().as_tuple().exponent > places:  # type: ignore[operator]
            raise ValueError(
                f"the allowance {self.amount} has more decimals than {self.currency} shows "
                f"({places}); give it in {self.currency}'s minor unit"
            )
        return self

    @field_validator("match")
    @classmethod
    def _scope(cls, value: Scope) -> Scope:
        return _fee_scope(value, "allowance")


class SeatFeeRule(_Rule):
    """A price per licence seat and month on the vendor lines in scope ("support at 2.00 EUR per
    Microsoft 365 seat"): one ``seat_fee`` line per customer of quantity the month's seat-months
    of those lines, each line's PricingQuantity x its charge period's months as a seat price
    (``FixedPriceRule``, ``prorate`` as its) counts them, credits giving back (a seat removed
    mid-cycle its prorated share); amount ``unit_price`` x that, rounded once half-up to the
    minor unit; none where the seat-months are 0 or less (docs/pricing.md, "Seat fees"). Cost
    0. ``unit_price`` in ``currency``, the customer's invoice currency (not converted, as a
    seat price's). Applies to the customers on the plan on the period's last day, as the other
    fees; like them it counts the vendor lines only, and no fee counts it."""

    kind: Literal["seat_fee"]
    unit_price: Money = Field(gt=0)
    currency: Currency
    unit: PrintedText = "seat"
    prorate: bool = True

    @field_validator("match")
    @classmethod
    def _scope(cls, value: Scope) -> Scope:
        return _fee_scope(value, "seat fee")


#: Rule kinds that price no line but bill a line of their own per customer from the month's
#: vendor lines in their scope (``rating.fees``): the minimum fee, the percent fee, the
#: allowance and the seat fee.
FEE_KINDS = ("minimum_fee", "percent_fee", "allowance", "seat_fee")


FeeRule = MinimumFeeRule | PercentFeeRule | AllowanceRule | SeatFeeRule
