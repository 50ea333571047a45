"""The rules of a price plan (``parameters/price_plans.yaml``) that price lines, and the values
every rule holds, validated when they are loaded.

A rule has a scope (``match``, ``scope.Scope``: any of vendor, provider, publisher, service, sku,
charge_category, charge_type, region, tag, customer) and validity dates; the most specific rule
matching a line wins (see ``specificity``). Every percentage and price is an exact ``Decimal``;
YAML floats are read through their shortest text (``12.5`` -> ``Decimal('12.5')``), but quoting
prices is recommended. The fees are ``fee_rules``'; a plan of both kinds is ``plans.Plan``.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from billing_lib.parameter_files import Day, Strict
from billing_lib.pricing.scope import CUSTOMER_WEIGHT, Scope, credits_only
from billing_lib.printed_texts import PrintedText

#: A markup or uplift above this is refused as a typing error (1000 % = eleven times the cost).
MAX_PERCENT = Decimal(1000)


#: Rule kinds with a price of their own (not cost, not excluded): what ``credits`` decides for
#: credit lines.
PRICED_KINDS = ("markup", "list_price", "fixed_price", "tiered", "volume")


#: Rule kinds whose unit price ``unit_price_places`` rounds: those priced from the line's cost or
#: list price (a seat or tier price is a price list's price already).
UNIT_PRICED_KINDS = ("markup", "list_price")


#: The most decimal places ``unit_price_places`` rounds a unit price to (a price list's prices
#: have 2 to 4; the rating's amounts 12).
MAX_UNIT_PLACES = 6


def _exact(value: Any) -> Any:
    """YAML gives 12.5 as a float: take its shortest text, never its binary value."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


#: A price, amount or quantity of the parameters at or above this is refused as a typing mistake:
#: the rating holds amounts as DECIMAL(38,12) (below 10^26) and Python's Decimal computes custom
#: lines to 28 digits, so a larger figure failed in DuckDB's cast or Python's quantize with their
#: own messages, naming no file or entry.
MAX_MONEY = Decimal(10) ** 12


#: Places a price keeps (the scale of DECIMAL(38,12)): more were rounded without a word.
MONEY_PLACES = 12


def _bounded(value: Decimal) -> Decimal:
    if abs(value) >= MAX_MONEY:
        raise ValueError(f"expected an amount below {MAX_MONEY} (a typing mistake?)")
    return value


_Date = Day


Money = Annotated[
    Decimal,
    BeforeValidator(_exact),
    Field(allow_inf_nan=False, decimal_places=MONEY_PLACES),
    AfterValidator(_bounded),
]


#: Percentages have at most 6 decimal places, so 1 + p/100 is exact in DECIMAL(18,8).
Percent = Annotated[Decimal, BeforeValidator(_exact), Field(allow_inf_nan=False, decimal_places=6)]


Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class _Rule(Strict):
    id: str = Field(min_length=1)
    match: Scope = Scope()
    valid_from: Day | None = None
    valid_to: Day | None = None
    description: PrintedText | None = Field(
        default=None,
        description=(
            "Text of the rule's lines instead of the vendor's description (usage sheets); the "
            "invoice text where the customer's line_grouping shows descriptions (sku)"
        ),
    )
    product_group: str | None = Field(default=None, description="Key into parameters/products.yaml")
    credits: Literal["pass_on", "keep", "price"] = Field(
        "pass_on",
        description=(
            "Credit/Adjustment lines: pass on at cost, keep (excluded), or price by the rule"
        ),
    )
    unit_price_places: int | None = Field(
        default=None,
        description=(
            "markup and list_price rules: each line billed at quantity x its unit price rounded "
            f"half-up to this many decimal places (0 to {MAX_UNIT_PLACES}), a price list's price"
        ),
    )

    @field_validator("unit_price_places", mode="before")
    @classmethod
    def _unit_places(cls, value: Any) -> Any:
        """A whole number of places from 0 to MAX_UNIT_PLACES, on a markup or list-price rule only
        (a YAML ``2.0``, ``'2'`` or ``true`` is refused, not read as 2 or 1)."""
        kinds = get_args(cls.model_fields["kind"].annotation)
        if value is not None and not set(kinds) <= set(UNIT_PRICED_KINDS):
            raise ValueError(
                f"a {' or '.join(kinds)} rule has no unit_price_places: only the unit price a "
                "markup or list_price rule gives (its cost or list price per unit) is rounded to "
                "a price list's; leave it out"
            )
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and not (whole and 0 <= value <= MAX_UNIT_PLACES):
            raise ValueError(
                f"expected a whole number of decimal places from 0 to {MAX_UNIT_PLACES}, e.g. 2"
            )
        return value

    @model_validator(mode="after")
    def _dates(self) -> _Rule:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    @model_validator(mode="after")
    def _credits_priced(self) -> _Rule:
        """A rule that prices (a markup, list price, seat or tier price) only credit lines
        (``charge_category: Credit`` or ``Adjustment``) must price them (``credits: price``):
        passed on at cost or kept, its price never applied, without a word."""
        kind = getattr(self, "kind", None)
        why = credits_only(self.match) if kind in PRICED_KINDS else None
        if why is not None and self.credits != "price":
            does = "keeps them" if self.credits == "keep" else "passes them on at cost"
            raise ValueError(
                f"the rule matches only credits ({why}), but its credits: "
                f"{self.credits} {does}, so its {kind} never applies; write credits: price to "
                "price them by it, or kind: pass_through (at cost) or kind: exclude (kept)"
            )
        return self

    @property
    def specificity(self) -> int:
        """Match fields counted, a customer counting as ``CUSTOMER_WEIGHT``: a rule for one customer
        (the negotiated deal) beats every rule without one; otherwise more fields win."""
        scope = self.match.fields()
        return len(scope) + (CUSTOMER_WEIGHT - 1 if "customer" in scope else 0)


Basis = Literal["BilledCost", "EffectiveCost"]


def _percent(value: Decimal, low: Decimal, high: Decimal, what: str) -> Decimal:
    if value < low:
        raise ValueError(
            f"a negative {what} ({value} %) is not allowed; expected {low} to {high} %"
        )
    if value > high:
        raise ValueError(f"a {what} of {value} % is not plausible; expected {low} to {high} %")
    return value


class MarkupRule(_Rule):
    """Price = cost x (1 + percent / 100), or cost x (1 - discount_percent / 100) for a price
    below cost ("3 % off your AWS bill"), cost being BilledCost or EffectiveCost. A negative
    ``percent`` stays refused: a minus typed by mistake would bill below cost in silence."""

    kind: Literal["markup"]
    percent: Percent | None = None
    discount_percent: Percent | None = None
    basis: Basis = "BilledCost"

    @field_validator("percent")
    @classmethod
    def _range(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError(
                f"a negative markup ({value} %) is not allowed; expected 0 to {MAX_PERCENT} %; "
                f"for a price below cost write discount_percent: {-value}"
            )
        return None if value is None else _percent(value, Decimal(0), MAX_PERCENT, "markup")

    @field_validator("discount_percent")
    @classmethod
    def _discount(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _percent(value, Decimal(0), Decimal(100), "discount")

    @model_validator(mode="after")
    def _one(self) -> MarkupRule:
        if (self.percent is None) == (self.discount_percent is None):
            raise ValueError(
                "give exactly one of percent (above cost) or discount_percent (below cost)"
            )
        return self


class ListPriceRule(_Rule):
    """Price = the vendor's list price of the line x (1 - discount %) or x (1 + uplift %). The list
    price is ListCost (as the vendor prorated and signed it), else ListUnitPrice x
    PricingQuantity."""

    kind: Literal["list_price"]
    discount_percent: Percent | None = None
    uplift_percent: Percent | None = None
    basis: Basis = "BilledCost"

    @field_validator("discount_percent")
    @classmethod
    def _discount(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _percent(value, Decimal(0), Decimal(100), "discount")

    @field_validator("uplift_percent")
    @classmethod
    def _uplift(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _percent(value, Decimal(0), MAX_PERCENT, "uplift")

    @model_validator(mode="after")
    def _one(self) -> ListPriceRule:
        if (self.discount_percent is None) == (self.uplift_percent is None):
            raise ValueError("give exactly one of discount_percent or uplift_percent")
        return self


class FixedPriceRule(_Rule):
    """Price = unit_price x PricingQuantity per month. With ``prorate`` (the default), a charge
    period counts its whole months from its start (12 Oct - 12 Nov, an annual term), then the
    days left over the days of the month they start in. A line with a negative cost and a
    positive quantity (a vendor's refund of seats) is priced negative."""

    kind: Literal["fixed_price"]
    unit_price: Money = Field(ge=0)
    currency: Currency
    prorate: bool = True
    basis: Basis = "BilledCost"


class Tier(Strict):
    up_to: Money | None = Field(
        default=None, gt=0, description="Upper bound (inclusive); empty for the last tier"
    )
    unit_price: Money = Field(ge=0)


class TieredRule(_Rule):
    """``tiered``: each tier's price for the units within it (graduated); ``volume``: every unit
    at the price of the tier the month's total quantity falls in. Quantities are counted per
    customer and rule over the month."""

    kind: Literal["tiered", "volume"]
    tiers: list[Tier] = Field(min_length=1)
    currency: Currency
    basis: Basis = "BilledCost"
    unit: str | None = Field(
        default=None,
        description=(
            "The unit the tiers count (the lines' PricingUnit, e.g. Point), compared whatever "
            "its case and outer spaces: a line in another unit is refused"
        ),
    )

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str | None) -> str | None:
        """The unit without spaces around it; a blank one is refused (no line's unit is blank:
        a line without a unit has none)."""
        if value is not None and not value.strip():
            raise ValueError(
                "a blank unit names no unit: give the lines' PricingUnit, or leave it out"
            )
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _bounds(self) -> TieredRule:
        bounds = [t.up_to for t in self.tiers]
        if bounds[-1] is not None:
            raise ValueError(
                "the last tier must have no up_to (it takes every quantity above the others)"
            )
        inner = bounds[:-1]
        if any(b is None for b in inner):
            raise ValueError("only the last tier may leave up_to empty")
        if any(b2 <= b1 for b1, b2 in pairwise(inner)):  # type: ignore[operator]
            raise ValueError(f"tier bounds must increase; got {[str(b) for b in inner]}")
        return self


class PassThroughRule(_Rule):
    """Price = cost."""

    kind: Literal["pass_through"]
    basis: Basis = "BilledCost"


class ExcludeRule(_Rule):
    """Not billed: the lines go to ``excluded_lines`` with ``reason`` (internal or test
    accounts)."""

    kind: Literal["exclude"]
    reason: str = Field(min_length=1)


PricingRule = (
    MarkupRule | ListPriceRule | FixedPriceRule | TieredRule | PassThroughRule | ExcludeRule
)
