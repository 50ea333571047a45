"""The price plans and their assignments (``parameters/price_plans.yaml``), validated when they
are loaded: unique ids, known customers and groups, dates within the plan, prices in the invoice
currency of every customer on the plan, and no two equally specific rules (or two plans of one
level for one customer) on overlapping dates, so the rating never has to pick silently."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from billing_lib.customers import CUSTOMERS_FILE, Customer
from billing_lib.errors import ParameterError
from billing_lib.parameter_files import Day, Strict, read_yaml, validate
from billing_lib.periods import days_text
from billing_lib.pricing.fee_rules import (
    FEE_KINDS,
    AllowanceRule,
    MinimumFeeRule,
    PercentFeeRule,
    SeatFeeRule,
)
from billing_lib.pricing.rules import PricingRule, _Rule

PLANS_FILE = "price_plans.yaml"

Rule = Annotated[
    PricingRule | MinimumFeeRule | PercentFeeRule | AllowanceRule | SeatFeeRule,
    Field(discriminator="kind"),
]


class Plan(Strict):
    id: str = Field(min_length=1)
    name: str | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None
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


class Assignment(Strict):
    """A plan for one customer or for every customer of a group; a customer's own assignment wins
    over its group's."""

    plan: str
    customer: str | None = None
    group: str | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None

    @model_validator(mode="after")
    def _target(self) -> Assignment:
        if (self.customer is None) == (self.group is None):
            raise ValueError("give exactly one of customer or group")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class PricePlansFile(Strict):
    plans: list[Plan] = Field(min_length=1)
    assignments: list[Assignment] = Field(min_length=1)


@dataclass(frozen=True)
class PlanAssignment:
    """One (customer, plan) span after groups are expanded; level 2 = the customer's own, 1 =
    group."""

    customer_id: str
    plan_id: str
    level: int
    valid_from: date
    valid_to: date
    entry: str


def _overlap(
    a_from: date | None, a_to: date | None, b_from: date | None, b_to: date | None
) -> bool:
    return max(a_from or date.min, b_from or date.min) <= min(a_to or date.max, b_to or date.max)


def _fields_text(rule: _Rule) -> str:
    scope = rule.match.fields()
    n = len(scope) - ("customer" in scope)
    return ("a customer and " if "customer" in scope else "") + f"{n} other match field(s) each"


def _competes(rule: Rule) -> str:
    """What a rule competes with for a line: the pricing rules with each other, the fees with
    the fees of their own kind (a minimum fee and a percent fee of one scope both apply)."""
    return rule.kind if rule.kind in FEE_KINDS else "price"


def _check_allowances(path: Path, plan: Plan) -> None:
    """No two allowances of a plan that could both cover one line of a customer on one date:
    each gives back up to its amount of the spend in its scope, so together they gave more than
    that spend (50.00 of everything and 20.00 of AWS, 30.00 spent on AWS: 50.00 back). A
    customer's own of the plan's scope replaces the plan's (``rating.minimum_rules_sql``): no
    conflict."""
    allowances = [r for r in plan.rules if r.kind == "allowance"]
    for a, b in combinations(allowances, 2):
        fa, fb = a.match.folded(), b.match.folded()
        if any(fa[k] != fb[k] for k in fa.keys() & fb.keys()):
            continue  # they differ in a field both scope: no line is covered by both
        if not _overlap(a.valid_from, a.valid_to, b.valid_from, b.valid_to):
            continue
        if fa.keys() - {"customer"} == fb.keys() - {"customer"}:
            continue  # one scope: the customer's own replaces the plan's (equal ones refused)
        both = {**a.match.fields(), **b.match.fields()}
        both.pop("customer", None)
        example = ", ".join(f"{k} {v!r}" for k, v in both.items()) or "every line"
        raise ParameterError(
            path,
            f"plans[id={plan.id}].rules[id={a.id}] and rules[id={b.id}]",
            f"the two allowances both cover {example} on overlapping dates, and together would "
            "give more than the spend they cover; give them scopes that cannot meet (e.g. "
            "vendor aws and vendor microsoft) or end one's valid_to before the other's "
            "valid_from",
        )


def _check_rules(path: Path, plan: Plan, customers: dict[str, Customer]) -> None:
    """Unique ids, known customers in scopes, and no two equally specific rules that could both
    match one line on one date (same for minimum fees, and for percent fees, among
    themselves)."""
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
        if _competes(a) != _competes(b) or a.specificity != b.specificity:
            continue
        fa, fb = a.match.folded(), b.match.folded()
        if any(fa[k] != fb[k] for k in fa.keys() & fb.keys()):
            continue  # they differ in a field both scope: no line matches both
        if not _overlap(a.valid_from, a.valid_to, b.valid_from, b.valid_to):
            continue
        both = {**a.match.fields(), **b.match.fields()}  # as written
        example = ", ".join(f"{k} {v!r}" for k, v in both.items()) or "any line"
        raise ParameterError(
            path,
            f"plans[id={plan.id}].rules[id={a.id}] and rules[id={b.id}]",
            f"the two rules are equally specific ({_fields_text(a)}) and both match "
            f"{example} on overlapping dates; make one more specific (add a match field) or end "
            "one's valid_to before the other's valid_from",
        )
    _check_allowances(path, plan)


def _assignment_span(
    path: Path,
    entry: str,
    a: Assignment,
    plans: dict[str, Plan],
    customers: dict[str, Customer],
    groups: set[str],
) -> tuple[date, date]:
    """The days assignment ``a`` (at ``entry``) is in force within its plan's validity;
    ParameterError for an unknown plan, customer or group, or no day in force."""
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
    return max(lo, date(1, 1, 1)), min(hi, date(9999, 12, 31))


def _check_groups(parameters: Path, parsed: PricePlansFile, customers: dict[str, Customer]) -> None:
    """A customer's group that no assignment names but one nearly does (``SMB`` or ``smbb`` for
    ``smb``) is a typing mistake in customers.yaml: the customer was on no plan, so a month
    without its lines billed it no minimum fee without a word (with lines, the rating stopped
    naming neither the group nor the plan's). A group far from every assigned one is left be."""
    assigned = sorted({a.group for a in parsed.assignments if a.group})
    for c in customers.values():
        if c.group is None or c.group in assigned:
            continue
        near = [g for g in assigned if g.casefold() == c.group.casefold()]
        near = near or difflib.get_close_matches(c.group, assigned, n=1, cutoff=0.8)
        if near:
            raise ParameterError(
                Path(parameters) / CUSTOMERS_FILE,
                f"customers[id={c.id}].group",
                f"no price plan is assigned to group {c.group!r} ({PLANS_FILE} assigns plans "
                f"to groups {', '.join(assigned)}): did you mean {near[0]!r}? Groups are "
                "compared exactly; a customer in no plan's group is billed no minimum fee",
            )


def _check_no_two_plans(path: Path, spans: list[PlanAssignment]) -> None:
    """No customer gets two plans of one level (own, group's) on overlapping dates."""
    for x, y in combinations(spans, 2):
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


def _expand_assignments(
    path: Path,
    parsed: PricePlansFile,
    plans: dict[str, Plan],
    customers: dict[str, Customer],
    from_day: date | None = None,
) -> list[PlanAssignment]:
    """The assignments per customer (groups expanded), checked; a plan's money prices must be in
    the invoice currency of each customer on the days the plan really applies to it, from
    ``from_day`` on (``load_pricing``)."""
    groups = {c.group for c in customers.values() if c.group}
    out: list[PlanAssignment] = []
    for n, a in enumerate(parsed.assignments):
        entry = f"assignments[{n}]"
        lo, hi = _assignment_span(path, entry, a, plans, customers, groups)
        targets = (
            [a.customer]
            if a.customer
            else sorted(c.id for c in customers.values() if c.group == a.group)
        )
        level = 2 if a.customer else 1
        out += [PlanAssignment(cid, a.plan, level, lo, hi, entry) for cid in targets if cid]
    _check_no_two_plans(path, out)
    for x in out:
        own = [
            (y.valid_from, y.valid_to)
            for y in out
            if y.customer_id == x.customer_id and y.level > x.level
        ]
        start = max(x.valid_from, from_day or date.min)
        if start > x.valid_to:
            continue  # a month before the one billed: in the currency the customer had then
        for lo, hi in _uncovered(start, x.valid_to, own):
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
    every customer the plan is assigned to: it is not converted. Not on the days the customer's
    own rules take its place (``_replacing``): the refusal told the analyst to give the customer
    a rule in its currency, and then refused the plan's price all the same."""
    for rule in plan.rules:
        currency = getattr(rule, "currency", None)
        if currency is None or not _overlap(rule.valid_from, rule.valid_to, lo, hi):
            continue
        if rule.match.customer not in (None, customer.id):
            continue
        if currency == customer.invoice_currency:
            continue
        own = [
            (r.valid_from or date.min, r.valid_to or date.max)
            for r in plan.rules
            if r.match.customer == customer.id and _replacing(r, rule)
        ]
        span = (max(rule.valid_from or date.min, lo), min(rule.valid_to or date.max, hi))
        gaps = _uncovered(*span, own) if rule.match.customer is None else [span]
        if not gaps:
            continue
        mine = f"{{customer: {customer.id}}}"
        own_rule = (
            f"a {rule.kind} of its own in {customer.invoice_currency} of this one's match and "
            f"{mine} (it replaces this one)"
            if rule.kind in FEE_KINDS
            else f"a rule of its own priced in {customer.invoice_currency} whose match is {mine} "
            "and none but this one's fields (it prices every line this one would)"
        )
        raise ParameterError(
            path,
            f"plans[id={plan.id}].rules[id={rule.id}].currency",
            f"the price is in {currency} but customer {customer.id!r} on this plan is invoiced "
            f"in {customer.invoice_currency} (days: {days_text(*gaps[0])}); fixed prices are "
            f"not converted - give this customer {own_rule} on those days, or a plan of its own",
        )


def _replacing(own: Rule, general: Rule) -> bool:
    """Whether a customer's rule ``own`` takes the place of the plan's ``general`` one for that
    customer's lines: a fee of the same kind and scope (the customer's own replaces the plan's,
    ``rating.fees.minimum_rules_sql``), or a price whose match is no narrower than the
    general one's (a rule for one customer beats every other where it matches)."""
    mine = {k: v for k, v in own.match.folded().items() if k != "customer"}
    theirs = general.match.folded()
    if general.kind in FEE_KINDS:
        return own.kind == general.kind and mine == theirs
    return own.kind not in FEE_KINDS and mine.items() <= theirs.items()


def _in_force(spans: list[PlanAssignment]) -> list[tuple[str, date, date]]:
    """(plan, first day, last day) of one customer's assignments ``spans`` where each is in force:
    a group's plan only outside the customer's own."""
    own = [(s.valid_from, s.valid_to) for s in spans if s.level == 2]
    return sorted(
        (s.plan_id, lo, hi)
        for s in spans
        for lo, hi in (
            [(s.valid_from, s.valid_to)]
            if s.level == 2
            else _uncovered(s.valid_from, s.valid_to, own)
        )
    )


def _check_customer_rules(path: Path, plans: dict[str, Plan], spans: list[PlanAssignment]) -> None:
    """A rule for one customer (``match: {customer: ...}``) in a plan the customer is not on while
    the rule is valid applies to nothing: refused, as it was a negotiated price or minimum put
    into the wrong plan (a minimum fee so placed was dropped without a word)."""
    for plan in plans.values():
        for rule in plan.rules:
            cid = rule.match.customer
            if cid is None:
                continue
            lo = max(rule.valid_from or date.min, plan.valid_from or date.min)
            hi = min(rule.valid_to or date.max, plan.valid_to or date.max)
            theirs = _in_force([s for s in spans if s.customer_id == cid])
            if any(p == plan.id and _overlap(lo, hi, a, b) for p, a, b in theirs):
                continue
            dates = (
                ""
                if rule.valid_from is None and rule.valid_to is None
                else (f" ({days_text(lo, hi)})")
            )
            on = "; ".join(f"plan {p} ({days_text(a, b)})" for p, a, b in theirs) or "no plan"
            raise ParameterError(
                path,
                f"plans[id={plan.id}].rules[id={rule.id}].match.customer",
                f"the rule is for customer {cid!r}, who is not on plan {plan.id!r} on any day "
                f"the rule is valid{dates}; {cid!r} is on {on}. It would price (or, a minimum "
                "fee, bill) nothing: put the rule into the customer's plan, or correct its "
                "customer or dates",
            )


def load_price_plans(
    parameters: Path, customers: dict[str, Customer], *, from_day: date | None = None
) -> tuple[dict[str, Plan], list[PlanAssignment]]:
    """Plans by id and the assignments expanded per customer, from ``price_plans.yaml``; money
    prices judged against the invoice currencies from ``from_day`` on (``load_pricing``)."""
    path = Path(parameters) / PLANS_FILE
    if not path.exists():
        raise ParameterError(path, None, "file not found")
    data = read_yaml(path)
    parsed: PricePlansFile = validate(PricePlansFile, path, data)
    plans: dict[str, Plan] = {}
    for plan in parsed.plans:
        if plan.id in plans:
            raise ParameterError(path, f"plans[id={plan.id}]", "the plan id is used twice")
        if plan.valid_from and plan.valid_to and plan.valid_to < plan.valid_from:
            raise ParameterError(path, f"plans[id={plan.id}]", "valid_to is before valid_from")
        _check_rules(path, plan, customers)
        plans[plan.id] = plan
    _check_groups(parameters, parsed, customers)
    spans = _expand_assignments(path, parsed, plans, customers, from_day)
    _check_customer_rules(path, plans, spans)
    return plans, spans
