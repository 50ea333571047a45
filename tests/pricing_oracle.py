"""An independent oracle of docs/pricing.md and docs/rounding.md for a subset of the price plans:
the most specific rule on the charge date, markups and discounts, pass-through, exclusions, seat
prices prorated, graduated and volume tiers counted per customer and scope over the month,
credits passed on, kept or priced, conversion per line at the charge date's rate, each invoice
line (vendor, service) rounded half-up, and a minimum fee topped up from the printed lines.

Written from the documents, in plain ``Decimal``, not from ``billing_lib``: where the two
disagree one of them is wrong (tests/test_pricing_oracle.py)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

#: The rating's scale (docs/rounding.md, rule 1): every product and division half-up at 12 places.
Q12 = Decimal("0.000000000001")
CENT = Decimal("0.01")
MATCH_TEXT = ("vendor", "publisher", "service", "sku", "charge_category", "charge_type")
LINE_FIELD = {
    "vendor": "x_Vendor",
    "publisher": "PublisherName",
    "service": "ServiceName",
    "sku": "SkuId",
    "charge_category": "ChargeCategory",
    "charge_type": "x_VendorChargeType",
}


def q12(x: Decimal) -> Decimal:
    return x.quantize(Q12, rounding=ROUND_HALF_UP)


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rule:
    """One rule of a plan as docs/pricing.md "Rule kinds" describes it."""

    id: str
    kind: str
    match: dict[str, str] = field(default_factory=dict)
    percent: Decimal | None = None
    discount_percent: Decimal | None = None
    unit_price: Decimal | None = None
    tiers: tuple[tuple[Decimal | None, Decimal], ...] = ()
    amount: Decimal | None = None
    credits: str = "pass_on"
    valid_from: date | None = None
    valid_to: date | None = None
    currency: str = "EUR"

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def fits(self, customer: str, ln: dict[str, Any]) -> bool:
        for key, want in self.match.items():
            if key == "customer":
                if customer != want:
                    return False
            elif (ln.get(LINE_FIELD[key]) or "").lower() != want.lower():
                return False
        return True

    def specificity(self) -> tuple[int, int]:
        return ("customer" in self.match, len(self.match))

    def scope(self) -> tuple:
        """The tier scope: the match, whatever its case, but the customer."""
        return tuple(sorted((k, v.lower()) for k, v in self.match.items() if k != "customer"))

    def yaml(self) -> str:
        """The rule as a flow mapping of price_plans.yaml."""
        parts = [f"id: {self.id}", f"kind: {self.kind}"]
        for name in ("percent", "discount_percent", "amount", "unit_price"):
            v = getattr(self, name)
            if v is not None:
                parts.append(
                    f"{name}: '{v}'" if name in ("amount", "unit_price") else f"{name}: {v}"
                )
        if self.kind in ("fixed_price", "tiered", "volume", "minimum_fee"):
            parts.append(f"currency: {self.currency}")
        if self.tiers:
            tiers = ", ".join(
                f"{{up_to: {up}, unit_price: '{p}'}}"
                if up is not None
                else f"{{unit_price: '{p}'}}"
                for up, p in self.tiers
            )
            parts.append(f"tiers: [{tiers}]")
        if self.credits != "pass_on":
            parts.append(f"credits: {self.credits}")
        if self.kind == "exclude":
            parts.append("reason: oracle")
        if self.match:
            parts.append("match: {" + ", ".join(f"{k}: '{v}'" for k, v in self.match.items()) + "}")
        for name in ("valid_from", "valid_to"):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{name}: {v.isoformat()}")
        return "{" + ", ".join(parts) + "}"


def plan_yaml(rules: list[Rule], customers: tuple[str, ...] = ()) -> str:
    """price_plans.yaml of one plan ``p`` of ``rules`` for the group smb and ``customers``."""
    body = "\n".join(f"      - {r.yaml()}" for r in rules)
    own = "".join(f"  - {{plan: p, customer: {c}}}\n" for c in customers)
    return (
        f"plans:\n  - id: p\n    rules:\n{body}\nassignments:\n  - {{plan: p, group: smb}}\n{own}"
    )


@dataclass
class Oracle:
    """The month priced: per source row its rule and amount (None: excluded), the top-ups, and
    the printed invoice lines per customer."""

    priced: dict[int, tuple[str, Decimal | None]]
    top_ups: dict[str, Decimal]
    printed: dict[str, dict[tuple, Decimal]]


def months_of(start: datetime, end: datetime | None) -> tuple[int, int, int]:
    """Whole months from the start, then the rest over the month it starts in or, where longer,
    the time to the next month from the start (by the second): 12 Oct - 12 Nov 1; 20 Oct -
    12 Nov 23/31; 31 Oct - 30 Mar 4 + 30/31. A period whose last day is whole months from the
    start and the last day of a month too short for the start's day is those months: Partner
    Center's cycle from the 29th-31st, 31 Oct - 30 Nov inclusive (to 1 Dec) 1, 29 Feb 2028 - 28
    Feb 2029 inclusive 12. The whole months, the rest's seconds and the month's (the rating
    divides once: the price x the seconds by the month's)."""
    if end is None:
        return 1, 0, 1
    last = end - timedelta(days=1)
    if last > start and last.day < start.day:
        n = (last.year - start.year) * 12 + last.month - start.month
        if _add_months(start, n) == last:
            end = last
    whole = 0
    while _add_months(start, whole + 1) <= end:
        whole += 1
    rest = _add_months(start, whole)
    seconds = int((end - rest).total_seconds())
    month_seconds = max(
        86400 * calendar.monthrange(rest.year, rest.month)[1],
        int((_add_months(start, whole + 1) - rest).total_seconds()),
    )
    return whole, seconds, month_seconds


def _add_months(t: datetime, n: int) -> datetime:
    m = t.month - 1 + n
    year, month = t.year + m // 12, m % 12 + 1
    return t.replace(year=year, month=month, day=min(t.day, calendar.monthrange(year, month)[1]))


def graduated(tiers, before: Decimal, after: Decimal) -> Decimal:
    """The tiers' price of the units between ``before`` and ``after`` (negative when the count
    falls), the first tier's price below 0; each tier's product at 12 places."""
    total, lower = Decimal(0), None
    for up, price in tiers:

        def clamp(x: Decimal, lo=lower, hi=up) -> Decimal:
            if lo is not None:
                x = max(x, lo)
            return min(x, hi) if hi is not None else x

        total += q12(price * (clamp(after) - clamp(before)))
        lower = up
    return total


def volume_price(tiers, total: Decimal) -> Decimal:
    """The price of the tier the month's total falls in (0 or less: the first)."""
    for up, price in tiers:
        if up is None or total <= up:
            return price
    raise AssertionError("tiers end with one without up_to")


Rates = dict[tuple[str, str], list[tuple[date, date, Decimal]]]


def winning_rule(rules: list[Rule], customer: str, ln: dict[str, Any]) -> Rule:
    """The most specific rule valid on the line's charge date whose match fits it (ties are
    refused when the plans are loaded: none here)."""
    day = ln["ChargePeriodStart"].date()
    fitting = [r for r in rules if r.kind != "minimum_fee" and r.valid_on(day)]
    fitting = [r for r in fitting if r.fits(customer, ln)]
    best = max(r.specificity() for r in fitting)
    (rule,) = [r for r in fitting if r.specificity() == best]
    return rule


def at_cost(ln: dict[str, Any], currency: str, rates: Rates) -> Decimal:
    """The line's BilledCost in ``currency`` at the rate of its charge date, at 12 places."""
    day = ln["ChargePeriodStart"].date()
    rate = Decimal(1)
    if ln["BillingCurrency"] != currency:
        (rate,) = [x for a, b, x in rates[(ln["BillingCurrency"], currency)] if a <= day <= b]
    return q12(ln["BilledCost"] * rate)


def setting_of(rule: Rule, ln: dict[str, Any]) -> str:
    """How the rule prices the line: ``price``, or for a credit or adjustment its ``credits``
    (a positive adjustment is a charge: kept, it is billed at cost)."""
    category, cost = ln["ChargeCategory"], ln["BilledCost"]
    follows = category == "Credit" or (category == "Adjustment" and cost <= 0)
    if follows:
        return rule.credits
    if category == "Adjustment":
        return "pass_on" if rule.credits == "keep" else rule.credits
    return "price"


def unit_amount(rule: Rule, ln: dict[str, Any], cost_here: Decimal) -> Decimal:
    """The amount of a line priced by a markup or a seat price."""
    if rule.kind == "markup":
        if rule.percent is not None:
            factor = 1 + rule.percent / 100
        else:
            assert rule.discount_percent is not None
            factor = 1 - rule.discount_percent / 100
        return q12(cost_here * factor)
    assert rule.kind == "fixed_price" and rule.unit_price is not None, rule.kind
    qty = ln.get("PricingQuantity") or Decimal(0)
    sign = -1 if ln["BilledCost"] < 0 and qty > 0 else 1
    fixed = q12(rule.unit_price * qty)  # a product, at 12 places
    whole, seconds, month_seconds = months_of(ln["ChargePeriodStart"], ln.get("ChargePeriodEnd"))
    return sign * (fixed * whole + q12(fixed * seconds / month_seconds))


def tier_amounts(tiered: list[tuple]) -> dict[int, Decimal]:
    """Per row the amount of the tiered and volume lines ``tiered`` (scope key, charge start,
    row, counted quantity, rule): the month's count per customer and scope, in charge order."""
    counts: dict[tuple, Decimal] = defaultdict(Decimal)
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for key, _, _, counted, _ in tiered:
        totals[key] += counted
    amounts = {}
    for key, _, row, counted, rule in sorted(tiered, key=lambda t: (t[1], t[2])):
        before = counts[key]
        counts[key] += counted
        if rule.kind == "tiered":
            amount = graduated(rule.tiers, before, counts[key])
        else:
            amount = q12(volume_price(rule.tiers, totals[key]) * counted)
        amounts[row] = amount
    return amounts


def price_month(
    rules: list[Rule],
    lines: list[dict[str, Any]],
    customer_of: dict[str, str],
    currency_of: dict[str, str],
    rates: Rates,
) -> Oracle:
    """``lines`` (rows 2, 3, ... in order; unmapped accounts left out) priced by ``rules`` for
    the customers on the plan, ``currency_of`` (customer -> invoice currency)."""
    priced: dict[int, tuple[str, Decimal | None]] = {}
    tiered: list[tuple] = []
    printed_as: list[tuple[str, tuple[str, str, bool], int]] = []
    for row, ln in enumerate(lines, start=2):
        customer = customer_of.get(ln["SubAccountId"])
        if customer is None:
            continue
        if ln["ChargeCategory"] == "Tax":
            priced[row] = ("", None)
            continue
        rule = winning_rule(rules, customer, ln)
        setting = setting_of(rule, ln)
        priced[row] = (rule.id, None)
        if rule.kind == "exclude" or setting == "keep":
            continue
        printed_as.append((customer, _line_key(ln), row))
        if setting == "pass_on" or rule.kind == "pass_through":
            priced[row] = (rule.id, at_cost(ln, currency_of[customer], rates))
        elif rule.kind in ("tiered", "volume"):
            qty = ln.get("PricingQuantity") or Decimal(0)
            counted = -qty if ln["BilledCost"] < 0 and qty > 0 else qty
            tiered.append(((customer, rule.scope()), ln["ChargePeriodStart"], row, counted, rule))
        else:
            cost_here = at_cost(ln, currency_of[customer], rates)
            priced[row] = (rule.id, unit_amount(rule, ln, cost_here))
    for row, amount in tier_amounts(tiered).items():
        priced[row] = (priced[row][0], amount)
    printed: dict[str, dict[tuple, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for customer, key, row in printed_as:
        amount = priced[row][1]
        assert amount is not None
        printed[customer][key] += amount
    rounded = {c: {k: cents(v) for k, v in lines.items()} for c, lines in printed.items()}
    return Oracle(priced, top_ups(rules, sorted(currency_of), rounded), rounded)


def top_ups(
    rules: list[Rule], on_plan: list[str], rounded: dict[str, dict[tuple, Decimal]]
) -> dict[str, Decimal]:
    """Per customer on the plan the top-up of its minimum fee of everything (its own, else the
    plan's): the amount less the customer's printed lines, where that is above 0."""
    result: dict[str, Decimal] = {}
    for customer in on_plan:
        fees = [r for r in rules if r.kind == "minimum_fee"]
        fees = [r for r in fees if r.match.get("customer", customer) == customer]
        if not fees:
            continue
        (fee,) = [r for r in fees if r.match] or fees
        assert fee.amount is not None and set(fee.match) <= {"customer"}
        used = sum(rounded.get(customer, {}).values(), Decimal(0))
        if fee.amount > used:
            result[customer] = fee.amount - used
    return result


def _line_key(ln: dict[str, Any]) -> tuple[str, str, bool]:
    """The invoice line of a vendor line grouped by vendor and service (the default
    ``line_grouping``): a vendor credit (ChargeCategory Credit) is a line of its own beside the
    charges (docs/invoices-and-ledger.md)."""
    return (ln["x_Vendor"], ln.get("ServiceName") or "", ln["ChargeCategory"] == "Credit")
