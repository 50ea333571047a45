"""The reseller's price plans (``parameters/price_plans.yaml``) and custom lines
(``parameters/custom_lines.yaml``), validated when they are loaded.

A plan is a list of rules; each rule has a scope (``match``: any of vendor, provider, publisher,
service, sku, charge_category, charge_type, customer) and validity dates. For a line, the rules of
its customer's plan on the line's charge date whose scope matches compete, and the most specific
(most scope fields) wins. Two rules with the same number of fields that could both match one line on
one date are refused here, so the rating never has to pick silently. ``billing_lib.rating`` applies
the rules in DuckDB SQL; this module only checks and holds them.

Every percentage and price is an exact ``Decimal``; YAML floats are read through their shortest text
(``12.5`` -> ``Decimal('12.5')``), but quoting prices is recommended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import combinations, pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from billing_lib.customers import Customer
from billing_lib.errors import ParameterError
from billing_lib.fx import FX_PLAUSIBILITY_FACTOR, ExchangeRates, load_exchange_rates
from billing_lib.model import CHARGE_CATEGORIES
from billing_lib.parameter_files import read_yaml, validate

PLANS_FILE = "price_plans.yaml"
CUSTOM_FILE = "custom_lines.yaml"
#: A markup or uplift above this is refused as a typing error (1000 % = eleven times the cost).
MAX_PERCENT = Decimal(1000)
#: Scope fields and the line column each one is compared with (exact, case-sensitive text).
SCOPE_COLUMNS = {
    "vendor": "x_Vendor",
    "provider": "ProviderName",
    "publisher": "PublisherName",
    "service": "ServiceName",
    "sku": "SkuId",
    "charge_category": "ChargeCategory",
    "charge_type": "x_VendorChargeType",
    "customer": "x_CustomerId",
}
#: Weight of the customer field in a rule's specificity (more than all other fields together).
CUSTOMER_WEIGHT = 10
#: Charge categories whose lines follow a rule's ``credits`` policy (credits, refunds, price adjustments).
CREDIT_CATEGORIES = ("Credit", "Adjustment")


def _exact(value: Any) -> Any:
    """YAML gives 12.5 as a float: take its shortest text, never its binary value."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


_Date = date
Money = Annotated[Decimal, BeforeValidator(_exact), Field(allow_inf_nan=False)]
#: Percentages have at most 6 decimal places, so 1 + p/100 is exact in DECIMAL(18,8).
Percent = Annotated[Decimal, BeforeValidator(_exact), Field(allow_inf_nan=False, decimal_places=6)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """Which lines a rule is for; a field left out matches every value."""

    vendor: str | None = None
    provider: str | None = None
    publisher: str | None = None
    service: str | None = None
    sku: str | None = None
    charge_category: str | None = None
    charge_type: str | None = Field(None, description="Vendor's own line type, e.g. Refund, Credit")
    customer: str | None = None

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
        return {k: v for k, v in self.model_dump().items() if v is not None}


class _Rule(_Strict):
    id: str = Field(min_length=1)
    match: Scope = Scope()
    valid_from: date | None = None
    valid_to: date | None = None
    description: str | None = Field(
        None, description="Invoice text instead of the vendor's description"
    )
    product_group: str | None = Field(None, description="Key into parameters/products.yaml")
    credits: Literal["pass_on", "keep", "price"] = Field(
        "pass_on",
        description="Credit/Adjustment lines: pass on at cost, keep (excluded), or price by the rule",
    )

    @model_validator(mode="after")
    def _dates(self) -> _Rule:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
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
    """Price = cost x (1 + percent / 100), cost being BilledCost or EffectiveCost."""

    kind: Literal["markup"]
    percent: Percent
    basis: Basis = "BilledCost"

    @field_validator("percent")
    @classmethod
    def _range(cls, value: Decimal) -> Decimal:
        return _percent(value, Decimal(0), MAX_PERCENT, "markup")


class ListPriceRule(_Rule):
    """Price = the vendor's list price of the line x (1 - discount %) or x (1 + uplift %). The list
    price is ListCost (as the vendor prorated and signed it), else ListUnitPrice x PricingQuantity."""

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
    period of whole months (12 Oct - 12 Nov, an annual term) counts its months; any other period
    its days over the days of the month it starts in. A line with a negative cost and a positive
    quantity (a vendor's refund of seats) is priced negative."""

    kind: Literal["fixed_price"]
    unit_price: Money = Field(ge=0)
    currency: Currency
    prorate: bool = True
    basis: Basis = "BilledCost"


class Tier(_Strict):
    up_to: Money | None = Field(
        None, gt=0, description="Upper bound (inclusive); empty for the last tier"
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
    """Not billed: the lines go to ``excluded_lines`` with ``reason`` (internal or test accounts)."""

    kind: Literal["exclude"]
    reason: str = Field(min_length=1)


class MinimumFeeRule(_Rule):
    """If the month's revenue of a customer's vendor lines in scope is below ``amount``, a
    ``minimum`` line tops it up. Applies to the customers on the plan on the period's last day."""

    kind: Literal["minimum_fee"]
    amount: Money = Field(gt=0)
    currency: Currency

    @field_validator("match")
    @classmethod
    def _scope(cls, value: Scope) -> Scope:
        if value.charge_type is not None:
            raise ValueError(
                "a minimum fee cannot be scoped by charge_type (rated lines do not keep it)"
            )
        return value


PricingRule = (
    MarkupRule | ListPriceRule | FixedPriceRule | TieredRule | PassThroughRule | ExcludeRule
)
Rule = Annotated[PricingRule | MinimumFeeRule, Field(discriminator="kind")]


class Plan(_Strict):
    id: str = Field(min_length=1)
    name: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    rules: list[Rule] = Field(min_length=1)


class Assignment(_Strict):
    """A plan for one customer or for every customer of a group; a customer's own assignment wins
    over its group's."""

    plan: str
    customer: str | None = None
    group: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _target(self) -> Assignment:
        if (self.customer is None) == (self.group is None):
            raise ValueError("give exactly one of customer or group")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class PricePlansFile(_Strict):
    plans: list[Plan] = Field(min_length=1)
    assignments: list[Assignment] = Field(min_length=1)


class CustomLine(_Strict):
    """A line the reseller adds: a monthly ``fee`` (support, management; prorated by the days it is
    valid in the month), a ``one_off`` charge, or a ``credit`` (billed negative), the latter two
    in the month of ``date``. Amount = quantity x unit_price, in the customer's invoice currency."""

    id: str = Field(min_length=1)
    customer: str
    kind: Literal["fee", "one_off", "credit"]
    description: str = Field(min_length=1)
    quantity: Money = Decimal(1)
    unit: str = "each"
    unit_price: Money = Field(ge=0)
    currency: Currency
    product_group: str = "services"
    valid_from: date | None = None
    valid_to: date | None = None
    on: _Date | None = Field(None, alias="date", description="Day of a one-off or credit")
    prorate: bool = True

    @model_validator(mode="after")
    def _dates(self) -> CustomLine:
        if self.kind == "fee":
            if self.on is not None:
                raise ValueError("a recurring fee has valid_from/valid_to, not date")
            if self.valid_from is None:
                raise ValueError("a recurring fee needs valid_from (the first day it is charged)")
            if self.valid_to and self.valid_to < self.valid_from:
                raise ValueError("valid_to is before valid_from")
        else:
            if self.on is None:
                raise ValueError(f"a {self.kind} needs date (it is billed in that month)")
            if self.valid_from or self.valid_to:
                raise ValueError(f"a {self.kind} has a date, not valid_from/valid_to")
        return self


class CustomLinesFile(_Strict):
    custom_lines: list[CustomLine] = Field(default_factory=list)


@dataclass(frozen=True)
class PlanAssignment:
    """One (customer, plan) span after groups are expanded; level 2 = the customer's own, 1 = group."""

    customer_id: str
    plan_id: str
    level: int
    valid_from: date
    valid_to: date
    entry: str


@dataclass(frozen=True)
class Pricing:
    """Everything the rating needs from ``parameters/``."""

    plans: dict[str, Plan]
    assignments: tuple[PlanAssignment, ...]
    custom_lines: tuple[CustomLine, ...]
    fx: ExchangeRates
    plans_path: Path
    custom_path: Path

    def rule_entry(self, plan_id: str, rule_id: str) -> str:
        return f"plans[id={plan_id}].rules[id={rule_id}]"


# -- loading ------------------------------------------------------------------------------------


def _validate(model: type[BaseModel], path: Path, data: Any) -> Any:
    return validate(model, path, data)


def _overlap(
    a_from: date | None, a_to: date | None, b_from: date | None, b_to: date | None
) -> bool:
    return max(a_from or date.min, b_from or date.min) <= min(a_to or date.max, b_to or date.max)


def _fields_text(rule: _Rule) -> str:
    scope = rule.match.fields()
    n = len(scope) - ("customer" in scope)
    return ("a customer and " if "customer" in scope else "") + f"{n} other match field(s) each"


def _check_rules(path: Path, plan: Plan, customers: dict[str, Customer]) -> None:
    """Unique ids, known customers in scopes, and no two equally specific rules that could both
    match one line on one date (same for minimum fees among themselves)."""
    seen: set[str] = set()
    for rule in plan.rules:
        entry = f"plans[id={plan.id}].rules[id={rule.id}]"
        if rule.id in seen:
            raise ParameterError(path, entry, "the rule id is used twice in this plan")
        seen.add(rule.id)
        if rule.match.customer is not None and rule.match.customer not in customers:
            raise ParameterError(
                path,
                f"{entry}.match.customer",
                f"unknown customer {rule.match.customer!r}; known: {sorted(customers)}",
            )
        if not _overlap(rule.valid_from, rule.valid_to, plan.valid_from, plan.valid_to):
            raise ParameterError(
                path, entry, "the rule's dates lie outside its plan's valid_from/valid_to"
            )
    for a, b in combinations(plan.rules, 2):
        if (a.kind == "minimum_fee") != (b.kind == "minimum_fee") or a.specificity != b.specificity:
            continue
        fa, fb = a.match.fields(), b.match.fields()
        if any(fa[k] != fb[k] for k in fa.keys() & fb.keys()):
            continue  # they differ in a field both scope: no line matches both
        if not _overlap(a.valid_from, a.valid_to, b.valid_from, b.valid_to):
            continue
        both = {**fa, **fb}
        example = ", ".join(f"{k} {v!r}" for k, v in both.items()) or "any line"
        raise ParameterError(
            path,
            f"plans[id={plan.id}].rules[id={a.id}] and rules[id={b.id}]",
            f"the two rules are equally specific ({_fields_text(a)}) and both match "
            f"{example} on overlapping dates; make one more specific (add a match field) or end one's "
            "valid_to before the other's valid_from",
        )


def _expand_assignments(
    path: Path, parsed: PricePlansFile, plans: dict[str, Plan], customers: dict[str, Customer]
) -> list[PlanAssignment]:
    groups = {c.group for c in customers.values() if c.group}
    out: list[PlanAssignment] = []
    for n, a in enumerate(parsed.assignments):
        entry = f"assignments[{n}]"
        if a.plan not in plans:
            raise ParameterError(
                path, f"{entry}.plan", f"unknown plan {a.plan!r}; plans: {sorted(plans)}"
            )
        if a.customer is not None and a.customer not in customers:
            raise ParameterError(
                path,
                f"{entry}.customer",
                f"unknown customer {a.customer!r}; known: {sorted(customers)}",
            )
        if a.group is not None and a.group not in groups:
            raise ParameterError(
                path,
                f"{entry}.group",
                f"no customer is in group {a.group!r}; groups: {sorted(groups)}",
            )
        plan = plans[a.plan]
        lo = max(a.valid_from or date.min, plan.valid_from or date.min)
        hi = min(a.valid_to or date.max, plan.valid_to or date.max)
        if lo > hi:
            raise ParameterError(
                path, entry, f"the assignment's dates lie outside plan {a.plan!r}'s validity"
            )
        targets = (
            [a.customer]
            if a.customer
            else sorted(c.id for c in customers.values() if c.group == a.group)
        )
        for cid in targets:
            assert cid is not None
            out.append(
                PlanAssignment(
                    cid,
                    a.plan,
                    2 if a.customer else 1,
                    max(lo, date(1, 1, 1)),
                    min(hi, date(9999, 12, 31)),
                    entry,
                )
            )
    for x, y in combinations(out, 2):
        if (
            x.customer_id == y.customer_id
            and x.level == y.level
            and _overlap(x.valid_from, x.valid_to, y.valid_from, y.valid_to)
        ):
            how = "own" if x.level == 2 else "group's"
            raise ParameterError(
                path,
                f"{y.entry} and {x.entry}",
                f"customer {x.customer_id!r} gets two {how} plans ({x.plan_id!r}, "
                f"{y.plan_id!r}) on overlapping dates",
            )
    for x in out:
        own = [
            (y.valid_from, y.valid_to)
            for y in out
            if y.customer_id == x.customer_id and y.level > x.level
        ]
        for lo, hi in _uncovered(x.valid_from, x.valid_to, own):
            _check_currencies(path, plans[x.plan_id], customers[x.customer_id], lo, hi)
    return out


def _uncovered(lo: date, hi: date, covered: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The parts of [lo, hi] outside every span of ``covered`` (where a group's plan really applies
    to a customer that also has plans of its own)."""
    parts = [(lo, hi)]
    for c_lo, c_hi in covered:
        nxt = []
        for p_lo, p_hi in parts:
            if c_hi < p_lo or c_lo > p_hi:
                nxt.append((p_lo, p_hi))
                continue
            if c_lo > p_lo:
                nxt.append((p_lo, c_lo - timedelta(days=1)))
            if c_hi < p_hi:
                nxt.append((c_hi + timedelta(days=1), p_hi))
        parts = nxt
    return parts


def _check_currencies(path: Path, plan: Plan, customer: Customer, lo: date, hi: date) -> None:
    """A price stated in money (fixed, tiered, volume, minimum) must be in the invoice currency of
    every customer the plan is assigned to: it is not converted."""
    for rule in plan.rules:
        currency = getattr(rule, "currency", None)
        if currency is None or not _overlap(rule.valid_from, rule.valid_to, lo, hi):
            continue
        if rule.match.customer not in (None, customer.id):
            continue
        if currency != customer.invoice_currency:
            raise ParameterError(
                path,
                f"plans[id={plan.id}].rules[id={rule.id}].currency",
                f"the price is in {currency} but customer {customer.id!r} on this plan is invoiced in "
                f"{customer.invoice_currency}; fixed prices are not converted - give this customer a rule "
                f"priced in {customer.invoice_currency}",
            )


def load_price_plans(
    parameters: Path, customers: dict[str, Customer]
) -> tuple[dict[str, Plan], list[PlanAssignment]]:
    """Plans by id and the assignments expanded per customer, from ``price_plans.yaml``."""
    path = Path(parameters) / PLANS_FILE
    if not path.exists():
        raise ParameterError(path, None, "file not found")
    data = read_yaml(path)
    parsed: PricePlansFile = _validate(PricePlansFile, path, data)
    plans: dict[str, Plan] = {}
    for plan in parsed.plans:
        if plan.id in plans:
            raise ParameterError(path, f"plans[id={plan.id}]", "the plan id is used twice")
        if plan.valid_from and plan.valid_to and plan.valid_to < plan.valid_from:
            raise ParameterError(path, f"plans[id={plan.id}]", "valid_to is before valid_from")
        _check_rules(path, plan, customers)
        plans[plan.id] = plan
    return plans, _expand_assignments(path, parsed, plans, customers)


def load_custom_lines(parameters: Path, customers: dict[str, Customer]) -> list[CustomLine]:
    """Custom lines from ``custom_lines.yaml`` (none if the file is absent): known customers,
    unique ids, amounts in the customer's invoice currency."""
    path = Path(parameters) / CUSTOM_FILE
    if not path.exists():
        return []
    data = read_yaml(path) or {}
    parsed: CustomLinesFile = _validate(CustomLinesFile, path, data)
    seen: set[str] = set()
    for line in parsed.custom_lines:
        entry = f"custom_lines[id={line.id}]"
        if line.id in seen:
            raise ParameterError(path, entry, "the id is used twice")
        seen.add(line.id)
        if line.customer not in customers:
            raise ParameterError(
                path,
                f"{entry}.customer",
                f"unknown customer {line.customer!r}; known: {sorted(customers)}",
            )
        invoiced = customers[line.customer].invoice_currency
        if line.currency != invoiced:
            raise ParameterError(
                path,
                f"{entry}.currency",
                f"the line is in {line.currency} but customer {line.customer!r} is "
                f"invoiced in {invoiced}; custom lines are not converted",
            )
    return list(parsed.custom_lines)


def load_pricing(
    parameters: Path,
    customers: dict[str, Customer],
    fx_plausibility_factor: Decimal = FX_PLAUSIBILITY_FACTOR,
) -> Pricing:
    """Price plans, custom lines and exchange rates of a parameters folder, all validated (the
    factor is seller.yaml's ``fx_plausibility_factor``, see ``fx.check_plausible``)."""
    folder = Path(parameters)
    plans, assignments = load_price_plans(folder, customers)
    return Pricing(
        plans=plans,
        assignments=tuple(assignments),
        custom_lines=tuple(load_custom_lines(folder, customers)),
        fx=load_exchange_rates(folder, fx_plausibility_factor),
        plans_path=folder / PLANS_FILE,
        custom_path=folder / CUSTOM_FILE,
    )
