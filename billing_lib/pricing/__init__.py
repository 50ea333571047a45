"""The reseller's price plans (``parameters/price_plans.yaml``) and custom lines
(``parameters/custom_lines.yaml``), validated when they are loaded.

A plan is a list of rules; each rule has a scope (``match``: any of vendor, provider, publisher,
service, sku, charge_category, charge_type, region, tag, customer) and validity dates. For a line,
the rules of its customer's plan on the line's charge date whose scope matches compete, and the
most specific (most scope fields, each tag pair one) wins. Two rules with the same number of
fields that could both match one line on one date are refused here, so the rating never has to
pick silently.
``billing_lib.rating`` applies the rules in DuckDB SQL; this package only checks and holds them:
``rules`` (the rule kinds), ``plans`` (plans and assignments), ``custom_lines``.

Every percentage and price is an exact ``Decimal``; YAML floats are read through their shortest text
(``12.5`` -> ``Decimal('12.5')``), but quoting prices is recommended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from billing_lib.customers import Customer
from billing_lib.fx import FX_PLAUSIBILITY_FACTOR, ExchangeRates, load_exchange_rates
from billing_lib.pricing.custom_lines import (
    CUSTOM_FILE,
    CustomLine,
    CustomLinesFile,
    load_custom_lines,
)
from billing_lib.pricing.fee_rules import (
    FEE_KINDS,
    AllowanceRule,
    FeeRule,
    MinimumFeeRule,
    PercentFeeRule,
    SeatFeeRule,
)
from billing_lib.pricing.plans import (
    PLANS_FILE,
    Assignment,
    Plan,
    PlanAssignment,
    PricePlansFile,
    Rule,
    catch_all_rules,
    load_price_plans,
)
from billing_lib.pricing.rules import (
    MAX_PERCENT,
    MAX_UNIT_PLACES,
    UNIT_PRICED_KINDS,
    ExcludeRule,
    FixedPriceRule,
    ListPriceRule,
    MarkupRule,
    PassThroughRule,
    PricingRule,
    Tier,
    TieredRule,
)
from billing_lib.pricing.scope import CREDIT_CATEGORIES, CUSTOMER_WEIGHT, Scope

__all__ = [
    "CREDIT_CATEGORIES",
    "CUSTOMER_WEIGHT",
    "CUSTOM_FILE",
    "FEE_KINDS",
    "MAX_PERCENT",
    "MAX_UNIT_PLACES",
    "PLANS_FILE",
    "UNIT_PRICED_KINDS",
    "AllowanceRule",
    "Assignment",
    "CustomLine",
    "CustomLinesFile",
    "ExcludeRule",
    "FeeRule",
    "FixedPriceRule",
    "ListPriceRule",
    "MarkupRule",
    "MinimumFeeRule",
    "PassThroughRule",
    "PercentFeeRule",
    "Plan",
    "PlanAssignment",
    "PricePlansFile",
    "Pricing",
    "PricingRule",
    "Rule",
    "Scope",
    "SeatFeeRule",
    "Tier",
    "TieredRule",
    "catch_all_rules",
    "load_custom_lines",
    "load_price_plans",
    "load_pricing",
]


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


def load_pricing(
    parameters: Path,
    customers: dict[str, Customer],
    fx_plausibility_factor: Decimal = FX_PLAUSIBILITY_FACTOR,
    *,
    from_day: date | None = None,
) -> Pricing:
    """Price plans, custom lines and exchange rates of a parameters folder, all validated (the
    factor is seller.yaml's ``fx_plausibility_factor``, see ``fx.check_plausible``). Money prices
    and custom lines are judged against each customer's invoice currency from ``from_day`` on
    (a run: its month's first day; None: every day): ``invoice_currency`` is not dated, so the
    months a customer was billed in another currency before a move are history, not errors."""
    folder = Path(parameters)
    plans, assignments = load_price_plans(folder, customers, from_day=from_day)
    return Pricing(
        plans=plans,
        assignments=tuple(assignments),
        custom_lines=tuple(load_custom_lines(folder, customers, from_day=from_day)),
        fx=load_exchange_rates(folder, fx_plausibility_factor),
        plans_path=folder / PLANS_FILE,
        custom_path=folder / CUSTOM_FILE,
    )
