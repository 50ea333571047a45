"""The rules of a price plan (``parameters/price_plans.yaml``), validated when they are loaded.

A rule has a scope (``match``: any of vendor, provider, publisher, service, sku, charge_category,
charge_type, region, tag, customer) and validity dates; the most specific rule matching a line wins
(see ``specificity``). Every percentage and price is an exact ``Decimal``; YAML floats are read
through their shortest text (``12.5`` -> ``Decimal('12.5')``), but quoting prices is recommended.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from billing_lib.azure_regions import rule_region
from billing_lib.model import CHARGE_CATEGORIES, line_vendor
from billing_lib.money import decimal_places
from billing_lib.parameter_files import Strict
from billing_lib.printed_texts import PrintedText

#: A markup or uplift above this is refused as a typing error (1000 % = eleven times the cost).
MAX_PERCENT = Decimal(1000)
#: The most tags one rule may match on (``Scope.tag``), so that the customer's weight stays above
#: every other field together.
MAX_TAGS = 20
#: Weight of the customer field in a rule's specificity (more than all other fields together: the
#: eight fields of the line's key and ``MAX_TAGS`` tags).
CUSTOMER_WEIGHT = 100
#: A tag pair's name among a scope's fields (``Scope.fields``): ``tag:`` and its key.
TAG_FIELD = "tag:"
#: Charge categories whose lines follow a rule's ``credits`` policy (credits, refunds, price
#: adjustments): those that give money back. A credit of positive cost takes a credit back and
#: follows the policy as the credit did; an adjustment of positive cost is a charge, billed at
#: cost but under ``credits: price`` (the line's ``x_FollowsCredits``, ``model.DERIVED_COLUMNS``;
#: ``rating.keys.rating_keys_sql``).
CREDIT_CATEGORIES = ("Credit", "Adjustment")
#: Rule kinds with a price of their own (not cost, not excluded): what ``credits`` decides for
#: credit lines.
PRICED_KINDS = ("markup", "list_price", "fixed_price", "tiered", "volume")
#: Rule kinds whose unit price ``unit_price_places`` rounds: those priced from the line's cost or
#: list price (a seat or tier price is a price list's price already).
UNIT_PRICED_KINDS = ("markup", "list_price")
#: The most decimal places ``unit_price_places`` rounds a unit price to (a price list's prices
#: have 2 to 4; the rating's amounts 12).
MAX_UNIT_PLACES = 6
#: The vendors' own charge types (``x_VendorChargeType``, in lower case without spaces) as the
#: importers map them (billing_lib/importers/formats): of AWS (both CURs) those it takes, Credit
#: and Refund to ChargeCategory Credit; of Microsoft any, refund (Azure cost exports, the invoice
#: reconciliation file), removequantity, cancelimmediate, cancel, credit, customercredit and any
#: "...adjustment" to Credit or Adjustment only (the reconciliation file; an Azure export maps
#: every type but usage, purchase, tax and unused commitments so; the daily rated usage file by
#: the sign alone, a refund being negative); of VMware only usage. A FOCUS provider's charge type
#: is its ChargeCategory[/ChargeSubcategory]: Credit... and Adjustment... are credits.
AWS_CHARGE_TYPES = frozenset(
    {
        *("usage", "discountedusage", "savingsplancoveredusage", "savingsplannegation"),
        *("edpdiscount", "bundleddiscount", "privateratediscount", "discount"),
        *("distributordiscount", "sppdiscount", "rivolumediscount", "fee", "rifee"),
        *("savingsplanupfrontfee", "savingsplanrecurringfee", "flatratesubscription", "tax"),
        *("credit", "refund"),
    }
)
MICROSOFT_CREDIT_TYPES = frozenset(
    {"refund", "removequantity", "cancelimmediate", "cancel", "credit", "customercredit"}
)
FOCUS_CATEGORIES = ("usage", "purchase", "tax", "credit", "adjustment")


def _carried(vendor: str, charge_type: str) -> tuple[bool, bool]:
    """(a line of ``vendor`` can have ``charge_type``, such a line is always a credit)."""
    kind = charge_type.lower().replace(" ", "")
    if vendor == "aws":
        return kind in AWS_CHARGE_TYPES, kind in ("credit", "refund")
    if vendor == "microsoft":
        return True, kind in MICROSOFT_CREDIT_TYPES or kind.endswith("adjustment")
    if vendor == "vmware":
        return kind == "usage", False
    category = kind.split("/")[0]
    return category in FOCUS_CATEGORIES, category in ("credit", "adjustment")


def credits_only(scope: Scope) -> str | None:
    """Why every line ``scope`` matches is a credit (ChargeCategory Credit or Adjustment: the
    lines a rule's ``credits`` decides for), or None when a charge may match it: its
    ``charge_category``, or a ``charge_type`` that every vendor able to carry it (the rule's
    ``vendor``, else any) maps to Credit or Adjustment only (``_carried``)."""
    if scope.charge_category in CREDIT_CATEGORIES:
        return f"charge_category {scope.charge_category}"
    if scope.charge_type is None or scope.charge_category is not None:
        return None
    vendors = [scope.vendor] if scope.vendor else ["aws", "microsoft", "vmware", "focus"]
    carried = [_carried(v, scope.charge_type) for v in vendors]
    if any(can and not credit for can, credit in carried) or not any(c for _, c in carried):
        return None
    return (
        f"charge_type {scope.charge_type}, which the imports map to ChargeCategory Credit or "
        "Adjustment only"
    )


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


_Date = date
Money = Annotated[
    Decimal,
    BeforeValidator(_exact),
    Field(allow_inf_nan=False, decimal_places=MONEY_PLACES),
    AfterValidator(_bounded),
]
#: Percentages have at most 6 decimal places, so 1 + p/100 is exact in DECIMAL(18,8).
Percent = Annotated[Decimal, BeforeValidator(_exact), Field(allow_inf_nan=False, decimal_places=6)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


def _tag_pair(key: Any, value: Any) -> tuple[str, str]:
    """A tag's key and value of a rule's match, trimmed; a blank key or value is refused (it
    matches nothing), and so is one YAML did not read as text (``2026``, ``010`` as 8, ``1.10``
    as 1.1: never the tag's text)."""
    if not isinstance(key, str):
        raise ValueError(f"the tag key {key!r} is not text: quote it ('{key}')")
    if not key.strip():
        raise ValueError(f"a blank tag key matches nothing (got {key!r}); give the key")
    key = key.strip()
    if not isinstance(value, str):
        raise ValueError(f"the value of tag {key!r} is {value!r}, not text: quote it ('{value}')")
    if not value.strip():
        raise ValueError(
            f"the value of tag {key!r} is blank: a blank value matches nothing; leave the tag "
            "out to match every value"
        )
    return key, value.strip()


class Scope(Strict):
    """Which lines a rule is for; a field left out matches every value."""

    vendor: str | None = None
    provider: str | None = None
    publisher: str | None = None
    service: str | None = None
    sku: str | None = None
    charge_category: str | None = None
    charge_type: str | None = Field(
        default=None, description="Vendor's own line type, e.g. Refund, Credit"
    )
    region: str | None = Field(
        default=None,
        description="The line's RegionId: AWS's region code, Azure's resource location",
    )
    tag: dict[str, str] | None = Field(
        default=None,
        description=(
            "Tags the line's Tags must all have, key: value (keys and values compared whatever "
            "their case)"
        ),
    )
    customer: str | None = None

    @field_validator("vendor")
    @classmethod
    def _vendor_lower_case(cls, value: str | None) -> str | None:
        """The vendor as every format names it (``x_Vendor``: aws, microsoft, vmware; FOCUS
        lower-cases its provider) and as accounts.csv reads it (``model.line_vendor``):
        ``vendor: AWS`` and ``vendor: azure`` (Azure's lines are ``microsoft``) matched no line,
        and the catch-all rule priced them in silence."""
        return line_vendor(value) if value is not None else None

    @field_validator("provider", "publisher", "service", "sku", "charge_type", "region", "customer")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        """The text without spaces around it, as vendors' values are compared: ``charge_type:
        'Refund '`` matched no line, and the catch-all rule priced refunds in silence."""
        if value is None:
            return None
        if not value.strip():
            raise ValueError(
                "a blank value matches nothing: leave the field out to match every value"
            )
        return value.strip()

    @field_validator("tag", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        """Each key and value trimmed, as the other fields' values (``_tag_pair``); refused: no
        mapping, an empty one, a key given twice in two cases (one key: tag keys are compared
        whatever their case), more than ``MAX_TAGS``."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError(
                "expected a mapping of tag keys to values, e.g. tag: {managed-by: msp}"
            )
        if not value:
            raise ValueError("an empty tag matches every line: leave tag out, or give key: value")
        if len(value) > MAX_TAGS:
            raise ValueError(f"a rule matches at most {MAX_TAGS} tags; got {len(value)}")
        tags = dict(_tag_pair(key, text) for key, text in value.items())
        seen: dict[str, str] = {}
        for key in tags:
            if key.lower() in seen:
                raise ValueError(
                    f"tag {key.lower()!r} is given twice (as {seen[key.lower()]!r} and {key!r}); "
                    "keys are compared whatever their case, so give it once"
                )
            seen[key.lower()] = key
        return tags

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Azure's region by its programmatic name, as Microsoft's lines hold it
        (``azure_regions.rule_region``): ``region: West Europe`` and ``region: EU West`` matched
        no line (they read ``westeurope``), and the plan's other rules priced them in silence.
        Runs after ``_trimmed`` (declared after it) and the vendor's validator (a field before)."""
        return None if value is None else rule_region(value, info.data.get("vendor"))

    @field_validator("charge_category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value == "Tax":
            raise ValueError(
                "vendor taxes (ChargeCategory Tax) are never billed, so no rule can price them"
            )
        if value is not None and value not in CHARGE_CATEGORIES:
            raise ValueError(
                f"expected one of {', '.join(c for c in CHARGE_CATEGORIES if c != 'Tax')}"
            )
        return value

    def fields(self) -> dict[str, str]:
        """The match fields given, as written; each tag pair a field of its own (``TAG_FIELD``
        and its key: ``tag:managed-by``), as it counts in the specificity."""
        scope = {k: v for k, v in self.model_dump(exclude={"tag"}).items() if v is not None}
        return scope | {f"{TAG_FIELD}{k}": v for k, v in (self.tag or {}).items()}

    def folded(self) -> dict[str, str]:
        """``fields`` as the rating compares them: in lower case but the customer (an id), since
        a line's service, SKU or charge type matches a rule whatever their case (``service:
        amazon ec2`` priced nothing, and the catch-all priced EC2 in silence); a tag's key in
        lower case too (Azure's tag keys are case-insensitive, AWS's are lower case once
        imported: docs/pricing.md)."""
        return {k.lower(): v if k == "customer" else v.lower() for k, v in self.fields().items()}

    def folded_tags(self) -> dict[str, str]:
        """The tags as the rating compares them: key and value in lower case."""
        return {k.lower(): v.lower() for k, v in (self.tag or {}).items()}


class _Rule(Strict):
    id: str = Field(min_length=1)
    match: Scope = Scope()
    valid_from: date | None = None
    valid_to: date | None = None
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


PricingRule = (
    MarkupRule | ListPriceRule | FixedPriceRule | TieredRule | PassThroughRule | ExcludeRule
)
Rule = Annotated[
    PricingRule | MinimumFeeRule | PercentFeeRule | AllowanceRule | SeatFeeRule,
    Field(discriminator="kind"),
]


class Plan(Strict):
    id: str = Field(min_length=1)
    name: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    rules: list[Rule] = Field(min_length=1)


def catch_all_rules(plans: dict[str, Plan]) -> list[tuple[str, str]]:
    """(plan, rule) of the pricing rules that match anything (no match field): what prices a
    product no rule was written for."""
    return sorted(
        (plan.id, rule.id)
        for plan in plans.values()
        for rule in plan.rules
        if rule.kind not in FEE_KINDS and not rule.match.fields()
    )
