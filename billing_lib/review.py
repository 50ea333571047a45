"""The review of exceptions: one short list of what needs a human look before a month is finalised,
each finding with the lines behind it. Information only: the invoices stay as rated.

What is compared with the previous finalised month (its ``invoice_summary.csv`` and, for products,
the ``rated_lines.parquet`` of every finalised month before) is skipped when there is none. The one
finding that stops a run is a customer's month that moves by an order of magnitude (``jump_factor``)
against the previous finalised month: ``month_jumps`` finds it before invoice numbers are taken, and
``billing run --confirm-jump CUSTOMER`` (notebook parameter ``confirm_jumps``) lets it through.

Thresholds live in the optional ``parameters/review.yaml`` (``ReviewSettings``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import Field

from billing_lib.billed_lines import days_billed_elsewhere, other_runs
from billing_lib.customers import AccountMapping, Customer
from billing_lib.errors import RunError
from billing_lib.fx import ExchangeRate, ExchangeRates, neighbours_in, span_text
from billing_lib.invoice_files import billed_nets, billed_numbers
from billing_lib.invoice_model import Invoice
from billing_lib.money import ZERO, minor_unit, round_money
from billing_lib.numbering_records import NumberPlan, RegisterEntry
from billing_lib.parameter_files import Strict, load_optional
from billing_lib.periods import days_text, month_days, months_from, run_periods
from billing_lib.pricing import FEE_KINDS, PLANS_FILE, CustomLine, PlanAssignment, catch_all_rules
from billing_lib.publishing import FINALISED_MARKER
from billing_lib.rating.commitments import EFFECTIVE, NOT_BILLED, Side, commitment_splits
from billing_lib.rating.custom import billed_in
from billing_lib.rating.rated_file import MINIMUM_COUNTS
from billing_lib.rating.spans import Span, spans
from billing_lib.run_files import (
    MANIFEST,
    billed_now,
    named_if_damaged,
    read_manifest,
)

REVIEW_FILE = "review.yaml"
#: Source rows shown per finding; the rest are counted.
LINES_SHOWN = 5


class ReviewSettings(Strict):
    """Thresholds of the review (``parameters/review.yaml``; every key optional)."""

    net_change_percent: Decimal = Field(
        Decimal(25),
        gt=0,
        description=(
            "list customers whose net moved more than this % vs the previous finalised month"
        ),
    )
    jump_factor: Decimal = Field(
        Decimal(10),
        gt=1,
        description="a net this many times larger or smaller stops the run unless confirmed",
    )
    min_margin_percent: Decimal = Field(
        Decimal(5), description="list customers whose margin is below this % of their revenue"
    )
    fx_change_percent: Decimal = Field(
        Decimal(5),
        gt=0,
        description=(
            "list exchange rates of the month that moved more than this % from the rate before"
        ),
    )


def load_review_settings(parameters: Path) -> ReviewSettings:
    """``parameters/review.yaml`` validated, or the defaults when the file is absent."""
    return load_optional(Path(parameters) / REVIEW_FILE, ReviewSettings)


@dataclass(frozen=True)
class Finding:
    """One thing to look at: which check found it, about whom or what, and the lines behind it."""

    check: str
    subject: str
    finding: str
    lines: tuple[str, ...] = field(default_factory=tuple)

    def as_row(self) -> dict[str, str]:
        shown = list(self.lines[:LINES_SHOWN])
        if len(self.lines) > LINES_SHOWN:
            shown.append(f"... and {len(self.lines) - LINES_SHOWN} more")
        return {
            "check": self.check,
            "subject": self.subject,
            "finding": self.finding,
            "lines": "; ".join(shown),
        }


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """The findings as the notebook shows them (one row each, at most five lines behind each)."""
    return pd.DataFrame(
        [f.as_row() for f in findings], columns=["check", "subject", "finding", "lines"]
    )


# -- the previous finalised month -------------------------------------------------------------


def finalised_before(output: Path, period: str) -> list[str]:
    """Finalised periods in ``output`` before ``period``, oldest first."""
    return [p for p in run_periods(output, FINALISED_MARKER) if p < period]


def previous_net(output: Path, previous: str | None) -> dict[tuple[str, str], Decimal]:
    """Net per (customer, currency) billed for the previous finalised month: its run's invoices,
    and the credit notes and reissued invoices of that month since (``corrections/``), so that
    a corrected invoice is compared as corrected."""
    if previous is None:
        return {}
    net = billed_nets(output, previous)
    return {key: amount.quantize(minor_unit(key[1])) for key, amount in net.items()}


def previous_numbers(output: Path, previous: str | None) -> dict[tuple[str, str], list[str]]:
    """The invoice numbers per (customer, currency) that the previous finalised month bills now."""
    return billed_numbers(output, previous) if previous else {}


def _times(now: Decimal, before: Decimal) -> Decimal:
    return (abs(now) / abs(before)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def invoice_nets(invoices: Sequence[Invoice]) -> dict[tuple[str, str], Decimal]:
    """Net per (customer, currency) of ``invoices``, as each states it (the sum of its rounded
    lines, the figure of invoice_summary.csv): drafts (``invoices.draft_invoices``) included."""
    nets: dict[tuple[str, str], Decimal] = {}
    for i in invoices:
        nets[i.customer_id, i.currency] = nets.get((i.customer_id, i.currency), ZERO) + i.net
    return nets


def month_jumps(
    nets: Mapping[tuple[str, str], Decimal],
    previous: dict[tuple[str, str], Decimal],
    previous_period: str | None,
    factor: Decimal,
    confirmed: tuple[str, ...],
) -> list[str]:
    """Customers whose month (``nets``: the invoices' nets, ``invoice_nets``) is ``factor`` times
    larger or smaller (0.00 included) than their net in the previous finalised month; raises
    RunError for those not ``confirmed`` and returns the confirmed ones' descriptions. The run
    calls it on its draft invoices, before any invoice number is taken: the figure judged and
    quoted is the one the customer receives, not the rated lines' sum rounded once (which
    differs by up to half a cent per invoice line, docs/rounding.md)."""
    if not previous:
        return []
    jumps: list[tuple[str, str]] = []
    for (customer, currency), net in sorted(nets.items()):
        before = previous.get((customer, currency))
        if not before:  # no factor of 0 (net_changes lists a move from 0.00)
            continue
        if abs(net) >= factor * abs(before) or abs(net) * factor <= abs(before):
            jumps.append(
                (
                    customer,
                    (
                        f"{customer}: {currency} {net} against {before} in {previous_period} "
                        f"(x{_times(net, before)})"
                    ),
                )
            )
    refused = [text for customer, text in jumps if customer not in confirmed]
    if refused:
        ids = ",".join(c for c, _ in jumps if c not in confirmed)
        raise RunError(
            f"a customer's month moved by a factor of {factor} or more against the finalised "
            f"{previous_period}; nothing was invoiced:\n  - "
            + "\n  - ".join(refused)
            + f"\nCheck the lines; if the figures are right, confirm with "
            f'`billing run ... --confirm-jump {ids}` (notebook parameter confirm_jumps = "{ids}")'
        )
    return [text for _, text in jumps]


# -- the checks ---------------------------------------------------------------------------------


def net_changes(
    invoices: pd.DataFrame,
    previous: dict[tuple[str, str], Decimal],
    previous_period: str | None,
    percent: Decimal,
    numbers: dict[tuple[str, str], list[str]] | None = None,
    reasons: dict[str, str] | None = None,
) -> list[Finding]:
    """Customers whose net moved more than ``percent`` against the previous finalised month, new
    customers (invoiced now, not then), customers who got no invoice (invoiced then, not now:
    with the previous month's invoice ``numbers`` per customer and currency,
    ``previous_numbers``, and the likely reason where the review can tell,
    ``no_invoice_reasons``), and customers invoiced in both months in another currency (their
    nets, one per currency, cannot be compared: listed once, not as a new customer and a
    customer without an invoice)."""
    if previous_period is None:
        return []
    out: list[Finding] = []
    now = {
        (str(r.customer_id), str(r.currency)): (Decimal(str(r.net)), str(r.invoice_number))
        for r in invoices.itertuples()
    }
    then_customers = {c for c, _ in previous}
    now_customers = {c for c, _ in now}
    for (customer, currency), (net, number) in sorted(now.items()):
        before = previous.get((customer, currency))
        if before is None:
            if customer not in then_customers:
                out.append(
                    Finding(
                        "new customer",
                        customer,
                        f"first invoice: {currency} {net} (none in {previous_period})",
                        (f"invoice {number}",),
                    )
                )
            continue
        if before == 0:
            # no % of 0: a net from 0.00 (a month its credits covered, or credited since) is a
            # move of any size, which the jump check's factor does not see either
            if net == 0:
                continue
            moved = f"from {before}: no %"
        else:
            change = ((net - before) / abs(before) * 100).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            )
            if abs(change) <= percent:
                continue
            moved = f"{change:+}%"
        out.append(
            Finding(
                "net moved",
                customer,
                f"net {currency} {net} against {before} in {previous_period} ({moved})",
                (f"invoice {number}",),
            )
        )
    for customer in sorted(then_customers & now_customers):
        out += _currency_change(customer, now, previous, previous_period, numbers or {})
    return out + _no_invoices(previous, now_customers, previous_period, numbers, reasons)


def _no_invoices(
    previous: dict[tuple[str, str], Decimal],
    now_customers: set[str],
    previous_period: str,
    numbers: dict[tuple[str, str], list[str]] | None,
    reasons: dict[str, str] | None,
) -> list[Finding]:
    """The customers of ``previous`` without an invoice now (``net_changes``)."""
    out = []
    for (customer, currency), before in sorted(previous.items()):
        if customer not in now_customers:
            then = (numbers or {}).get((customer, currency), [])
            why = (reasons or {}).get(customer)
            out.append(
                Finding(
                    "no invoice",
                    customer,
                    f"no invoice this month; {currency} {before} in {previous_period}"
                    + (f" ({', '.join(then)})" if then else "")
                    + (f"; {why}" if why else ""),
                    tuple(f"invoice {n}" for n in then),
                )
            )
    return out


def _currency_change(
    customer: str,
    now: dict[tuple[str, str], tuple[Decimal, str]],
    previous: dict[tuple[str, str], Decimal],
    previous_period: str,
    numbers: dict[tuple[str, str], list[str]],
) -> list[Finding]:
    """A customer invoiced in both months whose invoice currencies differ (``invoice_currency``
    of customers.yaml changed): EUR 450.00 then, USD 480.00 now. Looked up per currency, it
    read as a new customer and as one without an invoice."""
    new = sorted(c for k, c in now if k == customer and (k, c) not in previous)
    gone = sorted(c for k, c in previous if k == customer and (k, c) not in now)
    if not new and not gone:
        return []
    then_numbers = [n for c in gone for n in numbers.get((customer, c), [])]
    now_text = ", ".join(f"{c} {now[customer, c][0]} ({now[customer, c][1]})" for c in new)
    then_text = ", ".join(
        f"{c} {previous[customer, c]}"
        + (f" ({', '.join(numbers[customer, c])})" if numbers.get((customer, c)) else "")
        for c in gone
    )
    if new and gone:
        text = (
            f"invoiced in {', '.join(new)} this month ({now_text}), in {', '.join(gone)} in "
            f"{previous_period} ({then_text}): its invoice currency changed, so the nets are "
            "not compared. Check customers.yaml invoice_currency and the custom lines' "
            "currency, and tell the customer"
        )
    elif new:
        text = (
            f"also invoiced in {', '.join(new)} this month ({now_text}), not in {previous_period}"
        )
    else:
        text = f"no {', '.join(gone)} invoice this month; {then_text} in {previous_period}"
    return [
        Finding(
            "currency changed",
            customer,
            text,
            tuple(f"invoice {now[customer, c][1]}" for c in new)
            + tuple(f"invoice {n}" for n in then_numbers),
        )
    ]


def no_invoice_reasons(
    con: duckdb.DuckDBPyConnection,
    mappings: Sequence[AccountMapping],
    customers: set[str],
    period: str,
) -> dict[str, str]:
    """Why ``customers`` (invoiced in the previous finalised month, not now) likely got no
    invoice, where accounts.csv tells: every mapping of theirs ended before ``period`` (their
    lines, if any, are unmapped now), or none of the accounts mapped to them in ``period`` has a
    line in the month's reports (a report left out?). One look-up of those accounts' lines, and
    only when a customer got no invoice."""
    first, last = month_days(period)
    mine = [m for m in mappings if m.customer_id in customers]
    if not mine:
        return {}
    ids = sorted({m.account_id for m in mine})
    seen = set(
        con.execute(
            """SELECT x_Vendor, SubAccountId FROM lines WHERE list_contains(?, SubAccountId)
               UNION
               SELECT x_Vendor, x_SubscriptionId FROM lines
               WHERE list_contains(?, x_SubscriptionId)""",
            [ids, ids],
        ).fetchall()
    )
    out: dict[str, str] = {}
    for customer in sorted(customers):
        of = [m for m in mine if m.customer_id == customer]
        held = [m for m in of if (m.valid_from or first) <= last and (m.valid_to or last) >= first]
        ended = [m for m in of if m.valid_to is not None and m.valid_to < first]
        if not held and ended:
            out[customer] = "its accounts.csv mapping ended: " + ", ".join(
                f"{m.vendor} {m.account_id} on {m.valid_to}" for m in ended
            )
        elif held and not any((m.vendor, m.account_id) in seen for m in held):
            out[customer] = (
                "no line of its account(s) "
                + ", ".join(f"{m.vendor} {m.account_id}" for m in held)
                + " in this month's reports: is a report missing from the reports folder?"
            )
    return out


def currency_reasons(
    customers: Mapping[str, Customer],
    previous: Mapping[tuple[str, str], Decimal],
    without: set[str],
) -> dict[str, str]:
    """For customers invoiced in the previous finalised month and not now (``without``), whose
    invoice currency in customers.yaml is none of the currencies they were invoiced in then: the
    change, read before what ``no_invoice_reasons`` tells (its accounts, its lines)."""
    out = {}
    for customer in sorted(without):
        known = customers.get(customer)
        then = sorted(c for k, c in previous if k == customer)
        if known is not None and known.invoice_currency not in then:
            out[customer] = (
                f"its invoice currency is now {known.invoice_currency} (customers.yaml), "
                f"{', '.join(then)} then"
            )
    return out


def _source_lines(
    con: duckdb.DuckDBPyConnection, where: str, params: list | None = None
) -> tuple[str, ...]:
    rows = con.execute(
        f"""SELECT source_file, source_row FROM rated_lines WHERE {where}
            ORDER BY source_file, source_row""",
        params or [],
    ).fetchall()
    return tuple(f"{_name(f)} row {r}" for f, r in rows)


def _name(path: str | None) -> str:
    return Path(path).name if path else "-"


def customer_sums(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Per customer and currency of ``rated_lines``: revenue, cost, the number of vendor lines and
    the line kinds, for the vendor-line check."""
    return con.execute(
        """SELECT customer_id, currency, sum(amount), sum(cost),
                  count(*) FILTER (WHERE line_kind = 'vendor'),
                  list(DISTINCT line_kind ORDER BY line_kind)
           FROM rated_lines GROUP BY ALL ORDER BY 1, 2"""
    ).fetchall()


#: How the vendor-line check names the kinds of lines an invoice holds.
_KINDS = {
    "minimum": "minimum fees",
    "percent_fee": "percent fees",
    "allowance": "allowances",
    "seat_fee": "seat fees",
    "fee": "fees",
    "one_off": "one-offs",
    "credit": "credits",
}


def no_vendor_lines(sums: list[tuple], invoices: pd.DataFrame) -> list[Finding]:
    """Invoices without a vendor line (``customer_sums``): only minimum fees, fees, one-offs or
    credits. A minimum fee bills every customer on its plan, so a new customer whose accounts are
    not in accounts.csv yet is invoiced its whole minimum without a word."""
    numbers = {(str(r.customer_id), str(r.currency)): r for r in invoices.itertuples()}
    out = []
    for customer, currency, revenue, _, vendor_lines, kinds in sums:
        if vendor_lines:
            continue
        invoice = numbers.get((customer, currency))
        net = (
            Decimal(str(invoice.net))
            if invoice is not None
            else round_money(Decimal(revenue), currency)
        )
        held = " and ".join(_KINDS.get(k, k) for k in kinds)
        text = f"invoiced {currency} {net} for {held} only, without a vendor line"
        if "minimum" in kinds:
            text += ": a minimum fee bills a customer without usage its whole amount"
        out.append(
            Finding(
                "no vendor line",
                customer,
                text + "; are its accounts missing from accounts.csv?",
                (f"invoice {invoice.invoice_number}",) if invoice is not None else (),
            )
        )
    return out


def no_plan(
    customers: dict[str, Customer],
    assignments: tuple[PlanAssignment, ...],
    period: str,
    invoices: pd.DataFrame,
) -> list[Finding]:
    """Customers of customers.yaml on no price plan on the month's last day, the day minimum
    fees apply: a customer whose group no assignment names (``group: smb-nl`` for the plans'
    ``smb``, too far from it to be refused as a typo when loaded) was billed no minimum fee
    without a word in a month without its lines (with lines the rating stops, naming them). Not
    refused: a customer billed only for services (custom lines) needs no plan. A former customer
    (every plan of it ended before the month) and one whose first plan starts after it are
    left out."""
    first, last = month_days(period)
    numbers = {str(r.customer_id): str(r.invoice_number) for r in invoices.itertuples()}
    out = []
    for cid, customer in sorted(customers.items()):
        spans = [a for a in assignments if a.customer_id == cid]
        if any(a.valid_from <= last <= a.valid_to for a in spans):
            continue
        if spans and (
            all(a.valid_to < first for a in spans) or all(a.valid_from > last for a in spans)
        ):
            continue
        ended = [a for a in spans if first <= a.valid_to < last]
        if ended:
            a = max(ended, key=lambda a: a.valid_to)
            why = f"its plan {a.plan_id} ended on {a.valid_to.isoformat()}"
        elif spans:
            why = "none of its plans is in force then: " + ", ".join(
                f"{a.plan_id} {days_text(a.valid_from, a.valid_to)}" for a in spans
            )
        elif customer.group is not None:
            why = f"no plan is assigned to its group {customer.group!r} nor to it"
        else:
            why = "it has no group and no plan of its own"
        invoice = numbers.get(cid)
        out.append(
            Finding(
                "no price plan",
                cid,
                f"on no price plan on {last.isoformat()} ({why}; {PLANS_FILE}): billed no "
                "minimum fee, and a vendor line of it would stop the rating. Assign it a plan, "
                "or leave it so if it is billed for services only",
                (f"invoice {invoice}",) if invoice is not None else (),
            )
        )
    return out


def margins(
    con: duckdb.DuckDBPyConnection, min_margin_percent: Decimal, invoices: pd.DataFrame
) -> list[Finding]:
    """Charge lines priced below their cost (cost > 0, amount < cost), per customer and rule; and
    invoices whose margin is below ``min_margin_percent`` of their net, or that bill a loss on a
    net of 0 or less (nothing invoiced, or a credit balance, where a margin % means nothing).
    The invoices are judged on their own figures (``invoices``: the run's invoice_summary.csv as
    ``read_invoice_summary`` reads it, net and margin as printed), not on the rated lines' exact
    sums, which differ by the rounding of each invoice line (docs/rounding.md): a 0.00 invoice
    must not read as a credit balance of -0.01."""
    out: list[Finding] = []
    below = con.execute(
        """SELECT customer_id, plan_id, rule_id, currency, count(*), sum(amount - cost)
           FROM rated_lines WHERE line_kind = 'vendor' AND cost > 0 AND amount < cost
           GROUP BY ALL ORDER BY 1, 2, 3"""
    ).fetchall()
    for customer, plan, rule, currency, n, margin in below:
        out.append(
            Finding(
                "negative margin",
                customer,
                f"{n} line(s) priced below cost by {plan}/{rule}: margin {currency} "
                f"{round_money(Decimal(margin), currency)}",
                _source_lines(
                    con,
                    "customer_id = ? AND plan_id = ? AND rule_id = ? AND line_kind = 'vendor' "
                    "AND cost > 0 AND amount < cost",
                    [customer, plan, rule],
                ),
            )
        )
    for inv in invoices.sort_values(["customer_id", "invoice_number"]).itertuples():
        net, margin, currency = Decimal(str(inv.net)), Decimal(str(inv.margin)), str(inv.currency)
        if net > 0 and margin * 100 >= min_margin_percent * net:
            continue
        if net <= 0 and margin >= 0:
            continue
        if net <= 0:  # no margin %: of a negative net a loss would read as a profit
            what = "a credit balance" if net < 0 else "nothing invoiced"
            text = (
                f"a loss of {currency} {margin} on revenue of {net} ({what}: no margin %; "
                f"below {min_margin_percent}%)"
            )
        else:
            pct = (margin / net * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
            text = (
                f"margin {pct}% of revenue (below {min_margin_percent}%): {currency} {margin} "
                f"on {net}"
            )
        out.append(
            Finding("low margin", str(inv.customer_id), text, (f"invoice {inv.invoice_number}",))
        )
    return out


def absorbed_credits(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Customers whose minimum fee absorbed vendor credits (``rating.MINIMUM_COUNTS``): a fee
    tops up its lines' revenue, credits included (docs/pricing.md), so usage of 11.00 and a
    credit of -200.00 passed on give a top-up of 264.00: the customer pays the minimum, 75.00,
    and the credit goes to the reseller. The part absorbed is what the top-up holds beyond the
    usage's own shortfall: min(top-up, -credits)."""
    rows = con.execute(
        f"""SELECT customer_id, plan_id, rule_id, currency, minimum, used, credits
            FROM {MINIMUM_COUNTS}
            WHERE fee_kind = 'minimum_fee' AND credits < 0 AND used < minimum
            ORDER BY customer_id, plan_id, rule_id"""
    ).fetchall()
    out = []
    for customer, plan, rule, currency, minimum, used, credits in rows:
        top_up = Decimal(minimum) - Decimal(used)
        absorbed = min(top_up, -Decimal(credits))
        out.append(
            Finding(
                "minimum fee absorbs credits",
                customer,
                f"the minimum fee {plan}/{rule} of {_money(minimum, currency)} counts "
                f"its credits of {_money(credits, currency)} as revenue (usage "
                f"{_money(Decimal(used) - Decimal(credits), currency)}): its top-up of "
                f"{_money(top_up, currency)} absorbs {_money(absorbed, currency)} of "
                "them, so the customer pays the minimum and the credit goes to the reseller. "
                "Tell the customer, or give the credit back with a custom line",
                _source_lines(
                    con,
                    "customer_id = ? AND line_kind = 'vendor' AND charge_category = 'Credit'",
                    [customer],
                ),
            )
        )
    return out


def _money(amount: Decimal, currency: str) -> str:
    """``amount`` with its currency, as every amount of a finding reads: ``EUR 75.00``."""
    return f"{currency} {_shown(amount, currency)}"


def _shown(amount: Decimal, currency: str) -> str:
    """``amount`` in the decimals of ``currency`` (the rated figures are exact: 12 places)."""
    return str(round_money(Decimal(amount), currency))


def rule_gaps(plans: dict, period: str) -> list[Finding]:
    """Days of ``period`` between two dated versions of one rule (the same ``match`` in one
    plan: ``aws-15`` to the 15th, ``aws-12`` from the 18th) that neither covers: the lines of
    those days are priced by the next rule that matches, a catch-all most often, without a word.
    A rule that simply ends (no version after it) is not a gap."""
    first, last = month_days(period)
    out = []
    for plan in plans.values():
        versions: dict[tuple, list] = {}
        for rule in plan.rules:
            if rule.kind not in FEE_KINDS:  # a fee prices no line: no gap between its dates
                versions.setdefault(tuple(sorted(rule.match.folded().items())), []).append(rule)
        for rules in versions.values():
            scope = rules[0].match.fields().items()
            ordered = sorted(rules, key=lambda r: r.valid_from or date.min)
            for a, b in pairwise(ordered):
                if a.valid_to is None or b.valid_from is None:
                    continue
                start = max(a.valid_to + timedelta(days=1), first)
                end = min(b.valid_from - timedelta(days=1), last)
                if start <= end:
                    matched = ", ".join(f"{k} {v}" for k, v in scope) or "any line"
                    out.append(
                        Finding(
                            "rule dates leave a gap",
                            f"price_plans.yaml, plans[id={plan.id}].rules[id={a.id}] and "
                            f"[id={b.id}]",
                            f"no version of the rule for {matched} from {start.isoformat()} to "
                            f"{end.isoformat()}: those days' lines are priced by the next rule "
                            "that matches them",
                        )
                    )
    return out


#: Rule fields that hold a percentage, by rule kind.
PERCENT_FIELDS = {
    "markup": ("percent", "discount_percent"),
    "list_price": ("discount_percent", "uplift_percent"),
    "percent_fee": ("percent",),
}


def percent_fractions(plans: dict, period: str) -> list[Finding]:
    """Percentages above 0 and below 1 of the rules in force in ``period``: 12 % written as
    0.12 (a fraction) is a markup of 0.12 %, which the plan's check (0 to 1000 %) lets through
    and the rating bills in silence; a real markup or discount below 1 % is rare."""
    first, last = month_days(period)
    out = []
    for plan in plans.values():
        for rule in plan.rules:
            lo = max(rule.valid_from or date.min, plan.valid_from or date.min)
            hi = min(rule.valid_to or date.max, plan.valid_to or date.max)
            if lo > last or hi < first:
                continue
            for name in PERCENT_FIELDS.get(rule.kind, ()):
                value = getattr(rule, name)
                if value is not None and 0 < value < 1:
                    out.append(
                        Finding(
                            "percent below 1",
                            f"price_plans.yaml, plans[id={plan.id}].rules[id={rule.id}].{name}",
                            f"{name} {value} means {value} %, not {value * 100:f} %: percentages "
                            f"are written in percent (12 for 12 %), not as fractions",
                        )
                    )
    return out


def new_products(
    con: duckdb.DuckDBPyConnection, earlier_parquets: list[Path], catch_all: list[tuple[str, str]]
) -> list[Finding]:
    """Products (vendor and SKU, else service) first seen this month, i.e. in no finalised month
    before, whose every line was priced by a catch-all rule."""
    if not earlier_parquets:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE _review_catch_all (plan_id VARCHAR, rule_id VARCHAR)")
    if catch_all:
        con.executemany("INSERT INTO _review_catch_all VALUES (?, ?)", catch_all)
    files = [str(p) for p in earlier_parquets]
    with named_if_damaged(earlier_parquets):
        rows = con.execute(
            """WITH seen AS (SELECT DISTINCT vendor, coalesce(sku, service) AS product
                             FROM read_parquet(?) WHERE line_kind = 'vendor'),
                    now AS (SELECT vendor, coalesce(sku, service) AS product, customer_id,
                                   (plan_id, rule_id) IN (SELECT (plan_id, rule_id) FROM
                                   _review_catch_all) AS catch_all
                            FROM rated_lines WHERE line_kind = 'vendor')
               SELECT vendor, product, string_agg(DISTINCT customer_id, ', ' ORDER BY customer_id),
               count(*)
               FROM now WHERE (vendor, product) NOT IN (SELECT (vendor, product) FROM seen)
               GROUP BY vendor, product HAVING bool_and(catch_all) ORDER BY 1, 2""",
            [files],
        ).fetchall()
    out = []
    for vendor, product, customers, n in rows:
        rules = con.execute(
            """SELECT string_agg(DISTINCT plan_id || '/' || rule_id, ', ') FROM rated_lines
               WHERE line_kind = 'vendor' AND vendor = ? AND coalesce(sku, service) = ?""",
            [vendor, product],
        ).fetchall()[0][0]
        out.append(
            Finding(
                "new product",
                f"{vendor} {product}",
                f"first seen this month ({n} line(s), customers {customers}); priced only by the "
                f"catch-all rule {rules}",
                _source_lines(
                    con,
                    "line_kind = 'vendor' AND vendor = ? AND coalesce(sku, service) = ?",
                    [vendor, product],
                ),
            )
        )
    return out


def control_totals(control: pd.DataFrame) -> list[Finding]:
    """Vendor reports whose total as read differs from what was imported."""
    return [
        Finding(
            "control total",
            str(r.file),
            f"{r.currency}: cost read {r.cost_read} but imported {r.cost_imported}",
        )
        for r in control.itertuples()
        if not r.balanced
    ]


def unmatched_rules(warnings: list[str]) -> list[Finding]:
    """The rating's warnings about rules that matched no line this month."""
    out = []
    for w in warnings:
        if "matched no line" in w:
            where, _, what = w.rpartition(": ")
            out.append(Finding("rule matched nothing", where, what))
    return out


def stale_rates(con: duckdb.DuckDBPyConnection, period: str) -> list[Finding]:
    """Exchange rates that priced lines of ``period`` but were set before it (valid from an earlier
    month, or from no date): nobody gave a rate for this month. A line's rate is that of its
    pricing date (``x_PricingDate``): its charge date, but for a licence credit the first day of
    the cycle it gives back (docs/pricing.md, item 4), whose rate is listed with the credits'
    lines, to be checked as the rate of that day rather than replaced by the month's. A late
    line charged before the month (usage of 30 September in October's report) is converted at
    the rate of its own day, as it should be: not listed (the rating warns of such lines)."""
    first, _ = month_days(period)
    rows = con.execute(
        """WITH credits AS (
              SELECT x_SourceFile AS file, x_SourceRow AS row, x_PricingDate AS day
              FROM customer_lines WHERE x_PricingDate < CAST(ChargePeriodStart AS DATE)),
            priced AS (
              SELECT r.vendor_currency, r.currency, r.source_file, r.source_row, c.day AS cycle,
                     COALESCE(c.day, r.charge_date) AS day
              FROM rated_lines r
              LEFT JOIN credits c ON c.file = r.source_file AND c.row = r.source_row
              WHERE r.line_kind = 'vendor' AND r.vendor_currency <> r.currency
                -- a late line of an earlier day has that day's rate, no old one of the month
                AND (c.day IS NOT NULL OR r.charge_date >= $1))
           SELECT f.from_currency, f.to_currency, f.rate, f.valid_from, f.source, count(*),
                  count(p.cycle), min(p.cycle),
                  list(p.source_file ORDER BY p.source_file, p.source_row)
                    FILTER (WHERE p.cycle IS NOT NULL),
                  list(p.source_row ORDER BY p.source_file, p.source_row)
                    FILTER (WHERE p.cycle IS NOT NULL)
            FROM priced p JOIN _fx_rates f
              ON f.from_currency = p.vendor_currency AND f.to_currency = p.currency
             AND p.day BETWEEN f.valid_from AND f.valid_to
            WHERE f.valid_from < $1
            GROUP BY f.from_currency, f.to_currency, f.rate, f.valid_from, f.source
            ORDER BY 1, 2, 4""",
        [first],
    ).fetchall()
    out = []
    for a, b, rate, since, source, n, credits, cycle, files, numbers in rows:
        text = (
            f"rate {Decimal(rate).normalize():f} valid from "
            f"{'no date' if since.year == 1 else since.isoformat()} ({source}) priced {n} line(s) "
            f"of {period}"
        )
        if credits:
            text += (
                (": " if credits == n else f", {credits} of them ")
                + "licence credit(s) priced as of the start of the cycle they give back (from "
                f"{cycle.isoformat()}), as that cycle's charge was; check it is the rate of "
                "that day"
            )
        lines = tuple(
            f"{_name(f)} row {r}" for f, r in zip(files or [], numbers or [], strict=True)
        )
        out.append(Finding("old exchange rate", f"{a}->{b}", text, lines))
    return out


def stale_national_rates(
    invoices: list[Invoice], rates: ExchangeRates | None, period: str
) -> list[Finding]:
    """Exchange rates that stated the VAT of invoices of ``period`` in the seller's national
    currency (``Invoice.national_vat``, Art. 230: GBP->EUR for a GBP invoice of a EUR seller) but
    were set before the month. ``stale_rates`` does not see them: such a rate converts no vendor
    line, only the VAT printed in the national currency, which is declared at it."""
    if rates is None:
        return []
    first, _ = month_days(period)
    used: dict[ExchangeRate, list[str]] = {}
    for inv in invoices:
        national = inv.national_vat
        if national is None:
            continue
        row = rates.row(inv.currency, national.currency, national.rate_date)
        if row.valid_from is None or row.valid_from < first:
            used.setdefault(row, []).append(inv.number)
    return [
        Finding(
            "old exchange rate",
            f"{r.from_currency}->{r.to_currency}",
            f"rate {r.rate.normalize():f} valid from "
            f"{r.valid_from.isoformat() if r.valid_from else 'no date'} ({r.source}) states the "
            f"VAT of {len(numbers)} invoice(s) of {period} in {r.to_currency}, the seller's "
            "national currency",
            tuple(f"invoice {n}" for n in numbers),
        )
        for r, numbers in sorted(
            used.items(), key=lambda x: (x[0].from_currency, x[0].to_currency, x[0].row)
        )
    ]


#: How close to 1 a rate times the rate before it is for the review to ask whether it was
#: entered the wrong way round (EUR->USD typed for USD->EUR).
INVERTED_WITHIN = Decimal("0.02")


def rate_moves(rates: ExchangeRates | None, period: str, percent: Decimal) -> list[Finding]:
    """Exchange rates in force in ``period`` that moved more than ``percent`` % from the rate of
    the pair before them (or to the one after): a move the plausibility check at loading lets
    through (``fx_plausibility_factor``, 1.5) but that changes every converted line. A rate
    entered the wrong way round for a pair near parity is the case in point: EUR->USD 1.0885
    typed for USD->EUR 0.9187 bills 18 % more, and 1/x is within 1.5 of x."""
    if rates is None:
        return []
    first, last = month_days(period)
    out = []
    for a, b in neighbours_in(rates, first, last):
        move = (b.rate / a.rate - 1) * 100
        if abs(move) <= percent:
            continue
        text = (
            f"{b.rate} (row {b.row}, {span_text(b)}) is {abs(move):.1f} % "
            f"{'above' if move > 0 else 'below'} {a.rate} (row {a.row}, {span_text(a)})"
        )
        if abs(a.rate * b.rate - 1) <= INVERTED_WITHIN:
            text += (
                f"; it is about 1/{a.rate}: the {a.to_currency}->{a.from_currency} rate, "
                "entered the wrong way round?"
            )
        out.append(Finding("exchange rate moved", f"{a.from_currency}->{a.to_currency}", text))
    return out


def missing_vendors(
    con: duckdb.DuckDBPyConnection, previous_parquet: Path | None, previous_period: str | None
) -> list[Finding]:
    """Vendors with rated lines in the previous finalised month and no line imported now: most
    likely a report left out of the reports folder, whose charges would then be on no invoice."""
    if previous_parquet is None or not previous_parquet.is_file():
        return []
    with named_if_damaged([previous_parquet]):
        rows = con.execute(
            """SELECT vendor, count(*), count(DISTINCT customer_id) FROM read_parquet(?)
               WHERE line_kind = 'vendor'
                 AND vendor NOT IN (SELECT DISTINCT x_Vendor FROM lines)
               GROUP BY vendor ORDER BY vendor""",
            [str(previous_parquet)],
        ).fetchall()
    return [
        Finding(
            "vendor missing",
            vendor,
            f"no {vendor} line this month; {previous_period} had {n} for {customers} "
            "customer(s): is its report missing from the reports folder?",
        )
        for vendor, n, customers in rows
    ]


def custom_lines_not_billed(
    con: duckdb.DuckDBPyConnection,
    custom_lines: tuple[CustomLine, ...],
    output: Path,
    period: str,
    rated_file: str,
) -> list[Finding]:
    """Custom lines (``custom_lines.yaml``) that would have been billed in an earlier month whose
    published run does not hold them: a one-off or credit dated in a month billed before it was
    entered, a fee whose ``valid_from`` reaches back into such a month. This run bills only its
    own month, so without a word that money is never billed (or the credit never given)."""
    earlier = {
        p: output / p / rated_file
        for p in run_periods(output, MANIFEST)
        if p < period and (output / p / rated_file).is_file()
    }
    owed = []
    for c in custom_lines:
        for month in earlier:
            first, last = month_days(month)
            billed = billed_in(c, first, last)
            if billed is not None and billed[0]:
                owed.append((c, month, billed[0]))
    if not owed:
        return []
    # each month as billed now: a credited customer's run lines out, its reissued invoice's in;
    # per file its month and the customers whose lines in it no longer count
    counted: dict[str, tuple[str, list[str]]] = {}
    for month in sorted({m for _, m, _ in owed}):
        dropped, replacing = billed_now(output, month)
        counted[str(earlier[month])] = (month, dropped)
        counted |= {str(f): (month, []) for f in replacing}
    with named_if_damaged([Path(f) for f in counted]):
        found = con.execute(
            """SELECT DISTINCT filename, customer_id, rule_id FROM read_parquet(?, filename = true)
               WHERE line_kind IN ('fee', 'one_off', 'credit')""",
            [list(counted)],
        ).fetchall()
    held = {
        (counted[name][0], rule)
        for name, customer, rule in found
        if customer not in counted[name][1]
    }
    finalised = set(run_periods(output, FINALISED_MARKER))
    return [
        Finding(
            "custom line not billed",
            f"{c.id} ({c.customer})",
            f"{c.kind} of {c.currency} {amount:.2f} in {month}, whose run "
            f"({'finalised' if month in finalised else 'published, not finalised'}) does not "
            f"hold it: entered after that month was billed, it is billed in no month. Bill it "
            f"in {period}: a one-off or credit dated in {period}"
            + (", with the fee's missed days as a one-off" if c.kind == "fee" else ""),
        )
        for c, month, amount in owed
        if (month, c.id) not in held
    ]


def _text_key(text: str) -> str:
    """A description as compared: its case and spaces aside (as for two fees, docs/pricing.md)."""
    return " ".join(text.split()).casefold()


def _charge(c: CustomLine) -> str:
    """``2 hour x 95.00 = EUR 190.00``: a one-off's or credit's amount as entered."""
    amount = round_money(c.quantity * c.unit_price, c.currency)
    return f"{c.quantity.normalize():f} {c.unit} x {c.unit_price} = {c.currency} {amount}"


def repeated_one_offs(
    con: duckdb.DuckDBPyConnection,
    custom_lines: tuple[CustomLine, ...],
    output: Path,
    period: str,
    rated_file: str,
) -> list[Finding]:
    """One-offs and credits of ``custom_lines.yaml`` billed in ``period`` that look entered
    twice: two entries (different ids) of one customer and kind with the same description
    (case and spaces aside), date, quantity and unit price, which the invoice merges into one
    line ("2 hour x 95.00"); and one billed in an earlier month's published run (as billed now)
    already: the same id (its date moved into this month) or an entry of the same customer,
    kind, description, quantity and amount (copied into this month). They may be real charges,
    so they are listed, not refused."""
    first, last = month_days(period)
    billed = [c for c in custom_lines if c.kind != "fee" and billed_in(c, first, last) is not None]
    if not billed:
        return []
    out = []
    same: dict[tuple, list[CustomLine]] = {}
    for c in billed:
        key = (c.customer, c.kind, _text_key(c.description), c.on, c.quantity, c.unit_price)
        same.setdefault(key, []).append(c)
    for group in same.values():
        if len(group) < 2:
            continue
        c = group[0]
        ids = " and ".join(f"custom_lines[id={g.id}]" for g in group)
        out.append(
            Finding(
                "one-off entered twice",
                f"{', '.join(g.id for g in group)} ({c.customer})",
                f"{ids}: {len(group)} {c.kind.replace('_', '-')}s of {c.customer} "
                f"{c.description!r} on {c.on.isoformat() if c.on else '-'}, each {_charge(c)}, "
                "are all billed (in one invoice line): the same charge entered twice? Remove "
                "one; if they are separate charges, make their descriptions tell them apart",
            )
        )
    out += _billed_before(con, billed, output, period, rated_file)
    return out


def _billed_before(
    con: duckdb.DuckDBPyConnection,
    billed: list[CustomLine],
    output: Path,
    period: str,
    rated_file: str,
) -> list[Finding]:
    """The one-offs and credits ``billed`` now that an earlier published run (as billed now)
    billed already: by id, or alike (customer, kind, description, quantity and amount). One
    read of the earlier runs' custom lines of those customers."""
    earlier = {
        p: output / p / rated_file
        for p in run_periods(output, MANIFEST)
        if p < period and (output / p / rated_file).is_file()
    }
    if not earlier:
        return []
    counted: dict[str, tuple[str, list[str]]] = {}
    for month, file in earlier.items():
        dropped, replacing = billed_now(output, month)
        counted[str(file)] = (month, dropped)
        counted |= {str(f): (month, []) for f in replacing}
    with named_if_damaged([Path(f) for f in counted]):
        rows = con.execute(
            """SELECT filename, customer_id, line_kind, rule_id, description, quantity, amount,
                      charge_date
               FROM read_parquet(?, filename = true, union_by_name = true)
               WHERE line_kind IN ('one_off', 'credit') AND list_contains(?, customer_id)
               ORDER BY charge_date, rule_id""",
            [list(counted), sorted({c.customer for c in billed})],
        ).fetchall()
    finalised = set(run_periods(output, FINALISED_MARKER))
    out = []
    for c in billed:
        amount = billed_in(c, *month_days(period))[0]  # type: ignore[index]
        for name, customer, kind, rule, text, quantity, then, day in rows:
            month, dropped = counted[name]
            if customer != c.customer or kind != c.kind or customer in dropped:
                continue
            alike = (
                _text_key(text or "") == _text_key(c.description)
                and Decimal(quantity) == c.quantity
                and Decimal(then) == amount
            )
            if rule != c.id and not alike:
                continue
            state = "finalised" if month in finalised else "published, not finalised"
            what = (
                "the same entry, its date moved into this month?"
                if rule == c.id
                else f"an identical {c.kind.replace('_', '-')}, {rule}: the same charge "
                "copied into this month?"
            )
            out.append(
                Finding(
                    "one-off billed before",
                    f"{c.id} ({c.customer})",
                    f"custom_lines[id={c.id}], {c.description!r} on "
                    f"{c.on.isoformat() if c.on else '-'}, {_charge(c)}, is billed in {period}; "
                    f"the run of {month} ({state}) billed {what} It was dated "
                    f"{day.isoformat()} there. If so, remove it from custom_lines.yaml; if it "
                    "is a second charge, make the descriptions tell them apart (a charge every "
                    "month is a fee)",
                )
            )
            break
    return out


def months_not_billed(output: Path, period: str) -> list[Finding]:
    """Months between the first this outputs folder billed and ``period`` that have no run: their
    usage, fees and one-offs are on no invoice (a month forgotten, or its folder removed), and the
    month-on-month checks compare with an older month without a word."""
    billed = [p for p in run_periods(output, MANIFEST) if p < period]
    if not billed:
        return []
    return [
        Finding(
            "month not billed",
            month,
            f"no run of {month} in the outputs folder, which holds runs from {billed[0]}: its "
            f"usage, fees and one-offs are on no invoice; bill it (billing run --period {month})",
        )
        for month in months_from(billed[0], period)
        if month not in billed
    ]


def months_not_finalised(output: Path, period: str) -> list[Finding]:
    """Months before ``period`` whose run is published but not finalised: their invoices can still
    be replaced by a rerun (they may not have been sent), and this month's comparisons skip them
    for the last finalised month. The close finalises each month once it is reviewed."""
    finalised = set(run_periods(output, FINALISED_MARKER))
    last = max((p for p in finalised if p < period), default=None)
    compared = f"; this month is compared with {last}" if last else ""
    return [
        Finding(
            "month not finalised",
            month,
            f"the run of {month} is published, not finalised: a rerun can still replace its "
            f"invoices{compared}. Once it is reviewed and sent: billing finalise --period {month}",
        )
        for month in run_periods(output, MANIFEST)
        if month < period and month not in finalised
    ]


@dataclass(frozen=True)
class ReportLines:
    """The imported lines of one report file and billing account (AWS payer, Partner Center
    tenant, Usage Meter): how many, and how many carry no vendor invoice id."""

    file: str
    vendor: str
    format: str
    account: str
    lines: int
    without_invoice: int
    #: whether the report has the vendor's invoice id column at all (``imports.invoice_ids``)
    invoice_ids: bool = True


#: ``ReportLines`` of a run: one scan of its lines serves the manifest's ``billing_accounts``,
#: the comparison with the previous month (``missing_reports``) and ``estimated_reports``.
REPORT_LINES_SQL = """
    SELECT r.*, COALESCE(i.invoice_ids, true) FROM (
      SELECT x_SourceFile, x_Vendor, x_Format, coalesce(BillingAccountId, '') AS account,
             count(*), count(*) FILTER (WHERE coalesce(InvoiceId, '') = '')
      FROM lines GROUP BY ALL) r
    LEFT JOIN (SELECT file, bool_and(invoice_ids) AS invoice_ids FROM imports GROUP BY file) i
      ON i.file = r.x_SourceFile
    ORDER BY r.x_SourceFile, r.x_Vendor, r.x_Format, r.account"""


def report_lines(con: duckdb.DuckDBPyConnection) -> list[ReportLines]:
    """The run's imported lines per report file and billing account (``REPORT_LINES_SQL``)."""
    return [ReportLines(*row) for row in con.execute(REPORT_LINES_SQL).fetchall()]


def billing_accounts(reports: list[ReportLines]) -> list[dict]:
    """Per vendor, report format and billing account: how many lines the run imported (what
    the manifest records, and the next month's review compares with)."""
    counted: dict[tuple[str, str, str], int] = {}
    for r in reports:
        key = (r.vendor, r.format, r.account)
        counted[key] = counted.get(key, 0) + r.lines
    return [
        {"vendor": v, "format": f, "account": a, "lines": n}
        for (v, f, a), n in sorted(counted.items())
    ]


def missing_reports(accounts: list[dict], output: Path, previous: str | None) -> list[Finding]:
    """A report the previous finalised month had and this month lacks: a vendor's report format
    and billing account with lines then and none now (the Azure usage file left out beside the
    licence reconciliation, the report of a second AWS payer account). A vendor with no line at
    all is the ``vendor missing`` finding's. A month published before the manifests recorded
    billing accounts is compared by report format (its control totals), a vendor with no line
    included."""
    if previous is None or not (output / previous / MANIFEST).is_file():
        return []  # no previous month, or one without its manifest
    manifest = read_manifest(output / previous)
    vendors = {a["vendor"] for a in accounts}
    now = {(a["vendor"], a["format"], a["account"]) for a in accounts}
    then = manifest.get("billing_accounts")
    if isinstance(then, list):
        return [
            Finding(
                "report missing",
                f"{a['format']} {a['account']}".strip(),
                f"{previous} had {a['lines']} line(s) from the {a['format']} report of "
                f"{a['vendor']} billing account {a['account'] or '(none)'}; none this month: is "
                "its report missing from the reports folder?",
            )
            for a in then
            if a["vendor"] in vendors and (a["vendor"], a["format"], a["account"]) not in now
        ]
    formats = {a["format"] for a in accounts}
    earlier = sorted(
        {c["format"] for c in manifest.get("control_totals", []) if isinstance(c, dict)}
    )
    return [
        Finding(
            "report missing",
            f,
            f"{previous} had a {f} report; none this month: is it missing from the reports folder?",
        )
        for f in earlier
        if f not in formats
    ]


def short_reports(con: duckdb.DuckDBPyConnection, period: str) -> list[Finding]:
    """Vendor reports whose usage charged in ``period`` ends before the month does: a report
    downloaded before the month ended (AWS, Azure and Partner Center give the month so far), or
    one part of a report split in several files. Usage (``ChargeFrequency`` Usage-Based) runs to
    the month's last day on any report of more than a few resources; purchases and monthly fees
    end where their own term does, so they are not compared."""
    first, last = month_days(period)
    rows = con.execute(
        """SELECT x_SourceFile, CAST(max(ChargePeriodEnd) - INTERVAL 1 MICROSECOND AS DATE) AS
                  last_day, count(*)
           FROM lines
           WHERE ChargeFrequency = 'Usage-Based'
             AND ChargePeriodStart >= $1 AND ChargePeriodStart < $2
           GROUP BY 1 HAVING last_day < $3
           ORDER BY 1""",
        [first, last + timedelta(days=1), last],
    ).fetchall()
    return [
        Finding(
            "report ends early",
            _name(file),
            f"its {n} usage line(s) of {period} run to {end.isoformat()}, the month to "
            f"{last.isoformat()}: downloaded before the month ended, or a part of the report "
            "missing?",
        )
        for file, end, n in rows
    ]


def charged_after_the_month(con: duckdb.DuckDBPyConnection, period: str) -> list[Finding]:
    """Vendor lines billed in ``period`` whose charge begins after the month, per report and
    currency: a date mistyped (a daily usage file's 10/5/2027) or next month's charges, billed on
    this month's invoices at the prices of their dates with only the rating's general warning
    about lines outside the month (which also counts the usual late credits of earlier months)."""
    last = month_days(period)[1]
    rows = con.execute(
        """SELECT source_file, currency, count(*), min(charge_date), max(charge_date),
                  sum(amount)
           FROM rated_lines WHERE line_kind = 'vendor' AND charge_date > $1
           GROUP BY ALL ORDER BY 1, 2""",
        [last],
    ).fetchall()
    return [
        Finding(
            "charged after the month",
            _name(file),
            f"{n} line(s) charged from {lo.isoformat()} to {hi.isoformat()}, after {period}, "
            f"are billed on this month's invoices ({currency} {round_money(amount, currency)}): "
            "a date mistyped, or next month's charges?",
            _source_lines(
                con,
                "line_kind = 'vendor' AND charge_date > ? AND source_file = ? AND currency = ?",
                [last, file, currency],
            ),
        )
        for file, currency, n, lo, hi, amount in rows
    ]


def split_days(con: duckdb.DuckDBPyConnection, output: Path, period: str) -> list[Finding]:
    """Days of a vendor account, in formats without vendor line ids (FOCUS, Azure cost exports,
    Partner Center daily rated usage), that the published run of another period billed some
    lines of too (``billed_lines.days_billed_elsewhere``): October's export ending on 1
    November inclusive held that day in part (4.00), November's holds it whole (10.00), and
    both billed it. Identical lines are refused before; lines that differ may be two real
    charges, so they are listed, not refused. Each month counts as billed now."""
    files = [Path(f) for f, _, _ in other_runs(output, period)]
    with named_if_damaged(files):
        split = days_billed_elsewhere(con, output, period)
    return [
        Finding(
            "day billed by two runs",
            f"{s.vendor} {s.account}",
            f"{s.day.isoformat()}: the run of {s.month} ({output / s.month}) billed "
            f"{_money(s.billed_there, s.currency)} of this day already "
            f"({', '.join(s.reports_there)}); this run bills "
            f"{_money(s.billed_here, s.currency)} of it: a day split between two reports may be "
            "billed twice. If both reports hold the same charges, export each month from its "
            "1st to its last day and bill again the month that is not finalised, or give the "
            "part billed twice back with a custom line",
            tuple(f"{_name(f)} row {r}" for f, r in s.rows_here),
        )
        for s in split
    ]


#: Formats whose reports always have the vendor's invoice id column, filled on every line once
#: the vendor has invoiced the month and empty before. Not: an EA cost export (no such column),
#: FOCUS 1.0 (none either), VMware's usage (no vendor invoice).
INVOICED_FORMATS = (
    "aws_cur2",
    "aws_cur_legacy",
    "ms_daily_rated_usage",
    "azure_cost_export_partner",
)


def estimated_reports(reports: list[ReportLines]) -> list[Finding]:
    """Reports with lines the vendor had not invoiced when they were exported: AWS's month
    before its invoice (estimated until days after the month ends), Partner Center's unbilled
    daily usage, an Azure month-to-date export. Such charges can still change; the report of
    the vendor's invoice bills what the vendor bills."""
    per_file: dict[str, tuple[int, int]] = {}
    for r in reports:
        # a report without the invoice id column (not exported) tells nothing either way
        if r.format in INVOICED_FORMATS and r.invoice_ids:
            bare, n = per_file.get(r.file, (0, 0))
            per_file[r.file] = (bare + r.without_invoice, n + r.lines)
    return [
        Finding(
            "not invoiced yet",
            _name(file),
            f"{bare} of its {n} line(s) have no vendor invoice id: the vendor had not invoiced "
            "them when the report was exported (estimated, unbilled or month-to-date), so they "
            "can still change; bill from the report of the vendor's invoice",
        )
        for file, (bare, n) in sorted(per_file.items())
        if bare
    ]


def seat_counts(con: duckdb.DuckDBPyConnection, subscriptions: list, period: str) -> list[Finding]:
    """Licences Microsoft billed per subscription as the month ends (the invoice reconciliation's
    quantities, credits negative whichever way the file prints them) against the seat count Partner
    Center shows for it (``platform_exports.PartnerCenterSubscription``; 0 when not active). Only
    subscriptions billed as licences this month or active in Partner Center with seats are
    compared.

    The seats as the month ends are those of the subscription's latest whole charge of the month
    (a purchase that is not an ``addQuantity``: cycle charge, renewal, new purchase, trial
    conversion) and the changes charged on or after its day: a change before it (seats added on
    the 5th to a cycle renewing on the 20th) is in that charge's quantity already, and summed with
    it read as seats over-billed. A subscription billed once a term (annual, triennial) whose
    month holds only changes (seats added mid-term) tells nothing of its seats: not compared."""
    if not subscriptions:
        return []
    whole = (
        "ChargeCategory = 'Purchase' "
        "AND lower(replace(x_VendorChargeType, ' ', '')) IS DISTINCT FROM 'addquantity'"
    )
    billed = {
        sub: (Decimal(q), customer, tuple(f"{_name(f)} row {r}" for f, r in rows), has_whole)
        for sub, q, customer, rows, has_whole in con.execute(
            f"""SELECT sub, sum(PricingQuantity),  -- a credit's quantity is negative (importer)
                      any_value(x_CustomerId),
                      list((x_SourceFile, x_SourceRow) ORDER BY x_SourceRow),
                      any_value(since IS NOT NULL)
               FROM (SELECT lower(ResourceId) AS sub, PricingQuantity, x_CustomerId,
                            x_SourceFile, x_SourceRow, ChargePeriodStart,
                            max(CASE WHEN {whole} THEN ChargePeriodStart END)
                              OVER (PARTITION BY lower(ResourceId)) AS since
                     FROM customer_lines
                     WHERE x_Format = 'ms_invoice_reconciliation'
                       AND lower(PricingUnit) = 'licenses' AND ResourceId IS NOT NULL)
               WHERE since IS NULL OR ChargePeriodStart >= since
               GROUP BY sub"""
        ).fetchall()
    }
    out = []
    for s in sorted(subscriptions, key=lambda s: (s.tenant_id, s.id)):
        seats = s.quantity if s.status == "active" else Decimal(0)
        got = billed.get(s.id.lower())
        if got is None:
            # an annual or triennial subscription is billed once a term: only a monthly one is
            # expected on every month's invoice
            if seats and s.unit_type.lower() == "licenses" and s.billing_cycle == "monthly":
                out.append(
                    Finding(
                        "seats",
                        s.tenant_id,
                        f"subscription {s.id} ({s.offer_name}): {seats} seats in Partner Center, "
                        f"none billed by Microsoft in {period}",
                        (s.source,),
                    )
                )
            continue
        quantity, customer, rows, has_whole = got
        if not has_whole and s.billing_cycle != "monthly":
            continue  # only changes of a term billed once: its seats are not in the month
        if quantity != seats:
            side = "over-billed" if quantity > seats else "under-billed"
            out.append(
                Finding(
                    "seats",
                    customer or s.tenant_id,
                    f"subscription {s.id} ({s.offer_name}): {quantity.normalize():f} licences "
                    f"billed, {seats} seats in Partner Center ({s.status}): {side}",
                    rows + (s.source,),
                )
            )
    return out


def _priced(side: Side) -> str:
    """``account 518204736291 (C002, priced on EffectiveCost)``."""
    how = {EFFECTIVE: "priced on its amortised cost, EffectiveCost", NOT_BILLED: "not billed"}
    return (
        f"account {side.account} ({side.customer or 'no customer'}, "
        f"{how.get(side.basis, 'priced on ' + side.basis)})"
    )


def commitments(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Commitments (AWS Savings Plans, reserved instances) whose covered usage of an account and
    whose fee are priced so that the part of the commitment the usage used is billed to nobody,
    twice, or to the fee's customer for another customer's usage (``rating.commitments``)."""
    out = []
    for s in commitment_splits(con):
        amount = f"{s.currency} {round_money(s.usage.moved, s.currency)}"
        fee = " and ".join(_priced(f) for f in s.fees)
        if s.outcome == "twice":
            what = f"{amount} of it is billed twice, in the usage and again in the fee"
        elif s.outcome == "other customer":
            payers = ", ".join(sorted({f.customer or f.account for f in s.fees}))
            user = s.usage.customer or "no customer"
            what = f"{payers} pays {amount} of it for the usage of {user}"
        else:
            what = f"{amount} of it is billed to nobody"
        out.append(
            Finding(
                "commitment priced apart",
                f"{s.vendor} {s.commitment}",
                f"its covered usage of {_priced(s.usage)}, {s.usage.lines} line(s), and its fee "
                f"of {fee}: {what}. Price the usage and the fee on the same basis "
                "(price_plans.yaml), or keep the commitment to one customer's accounts (AWS: "
                "turn off its sharing)",
                tuple(f"{_name(f)} row {r}" for f, r in s.usage.rows[:3])
                + tuple(f"{_name(f)} row {r}" for side in s.fees for f, r in side.rows[:1]),
            )
        )
    return out


def _rate(span: Span, rate: Decimal | None) -> str:
    return f"{span.pair} {Decimal(rate).normalize():f}" if rate is not None else "no rate"


def _price(span: Span, before: bool) -> str:
    """``smb/aws-15, USD->EUR 0.9215``: what prices the span's lines before or after its cut
    (the rule where it changes, the exchange rate where it changes)."""
    rule, rate = (span.before, span.rate_before) if before else (span.after, span.rate_after)
    parts = [rule or "no rule"] if span.before != span.after else []
    if span.rate_before != span.rate_after:
        parts.append(_rate(span, rate))
    return ", ".join(parts)


def _account_move(s: Span, first: str, end: str) -> str:
    """What an account move (``Span`` of kind account) bills, and who from its day on: by the
    tenant's row or the account's, or by the subscription's row (named: it maps the
    subscription's lines before its tenant's)."""
    cost = round_money(Decimal(s.cost or 0), s.currency or "")
    lines = f"{s.lines} {(s.category or 'usage').lower()} line(s)"
    if s.tenant is None:
        return (
            f"{lines} charged from {first} to {end} ({s.currency} {cost}) are billed wholly to "
            f"{s.before or 'no customer'}, the account's customer on {first} (accounts.csv); from "
            f"{s.cut.isoformat()} it belongs to {s.after or 'no customer'}"
        )
    # the subscription's row starts or ends on the day: the day before, or on it, the customer
    # may be the tenant's (no row of the subscription's own then)
    by = f"its tenant {s.tenant}'s row" if s.before_by_tenant else "its own row"
    # mappings not read from accounts.csv (made in code) have no row number
    row = "its accounts.csv row" if s.mapping_row is None else f"accounts.csv row {s.mapping_row}"
    return (
        f"{lines} charged from {first} to {end} ({s.currency} {cost}) are billed wholly to "
        f"{s.before or 'no customer'}, the subscription's customer on {first} (accounts.csv, "
        f"{by}); from {s.cut.isoformat()} {row} gives the subscription to "
        f"{s.after or 'no customer'}"
    )


def charge_spans(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Usage lines whose charge period runs across a day from which the price (rule, plan,
    exchange rate) or the customer of their account (``accounts.csv``) changes: billed wholly as
    on their first day (``rating.spans``), per customer, vendor and change, or per account."""
    groups: dict[tuple, list[Span]] = {}
    for s in spans(con):
        category = s.category if s.kind == "account" else None  # a move per charge category
        key = (
            s.kind,
            s.customer,
            s.vendor,
            s.account,
            s.cut,
            _price(s, True),
            _price(s, False),
            category,
        )
        groups.setdefault(key, []).append(s)
    out = []
    for (kind, customer, vendor, account, cut, before, after, _), group in groups.items():
        first = min(s.first_day for s in group).isoformat()
        end = (max(s.last_end for s in group) - timedelta(microseconds=1)).date().isoformat()
        n = sum(s.lines for s in group)
        rows = tuple(f"{_name(f)} row {r}" for f, r in sorted(r for s in group for r in s.rows))
        if kind == "account":
            [s] = group
            text = _account_move(s, first, end)
            subject = f"{vendor} {account}"
        else:
            products = ", ".join(sorted({s.product or "-" for s in group}))
            text = (
                f"{n} usage line(s) of {vendor} ({products}) charged from {first} to {end} are "
                f"priced wholly as on {first} ({before}); from {cut.isoformat()} {after} applies"
            )
            subject = customer or "-"
        out.append(
            Finding(
                "usage spans an account move"
                if kind == "account"
                else "usage spans a price change",
                subject,
                f"{text}. A line is billed as on the first day of its charge period: bill from a "
                "report of daily or hourly granularity (AWS Data Exports: time granularity), or "
                "correct the part after the change with custom lines",
                rows,
            )
        )
    return out


# -- a run's review as a whole ----------------------------------------------------------------


def number_order(plan: NumberPlan | None, register: list[RegisterEntry]) -> list[Finding]:
    """The run's invoice numbers out of the order of their issue dates against the numbers of
    other periods in the same series: a lower number dated later (a month billed after this one,
    or issued with a later ``--issue-date``), or a higher number dated earlier (this period run
    again with a later date after the next month was billed).

    The register keeps a series unique and gapless, what Dutch law asks. Spain, Italy, Portugal,
    France and Belgium also ask the numbers to follow the dates; where the seller is bound by
    that, bill the months in order and keep a rerun's issue date."""
    if plan is None or not plan.numbers:
        return []
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in plan.numbers.values())
    series = next(iter(plan.numbers.values())).rsplit("-", 1)[0]
    others = [
        e
        for e in register
        if e.series == series and e.period != plan.period and e.status != "void" and e.issue_date
    ]
    dated = plan.issue_date
    later = [e for e in others if e.number < numbers[-1] and str(e.issue_date) > dated]
    earlier = [e for e in others if e.number > numbers[0] and str(e.issue_date) < dated]
    if not later and not earlier:
        return []
    conflicts = [
        f"{e.invoice_number} of {e.period}, dated {e.issue_date}"
        for e in sorted(later + earlier, key=lambda e: e.number)
    ]
    # only lower numbers dated later (a month billed, or an invoice reissued, after the date
    # this run gives): dated on the last of those days, this run's numbers are in order
    fix = (
        f"; dated {max(str(e.issue_date) for e in later)} or later (--issue-date) they are in order"
        if later and not earlier
        else ""
    )
    return [
        Finding(
            "numbers out of date order",
            series,
            f"this run's numbers ({numbers[0]} to {numbers[-1]}), dated {dated}, are out of the "
            f"order of the dates of {len(conflicts)} number(s) of other periods: a country that "
            "asks numbers to follow the issue dates (ES, IT, PT, FR, BE) would refuse them. Bill "
            f"the months in order, and keep a rerun's issue date (--issue-date){fix}",
            tuple(conflicts),
        )
    ]


def credited_not_replaced(previous: str | None, register: list[RegisterEntry]) -> list[Finding]:
    """Invoices that a credit note cancelled and no invoice replaces (``billing reissue``): their
    month now bills the customer nothing for them. Right when nothing was owed; a correction left
    half-done otherwise, its revenue lost. Listed are the credit notes of the previous finalised
    month, and those of any earlier month issued since that month's invoices: a credit note of
    October issued after November was reviewed and finalised was named by no review (November's
    was done before it, December's looked at November's credit notes only)."""
    if previous is None:
        return []
    replaced = {
        e.refers_to for e in register if e.kind == "invoice" and e.refers_to and e.status != "void"
    }
    dates = [
        e.issue_date
        for e in register
        if e.kind == "invoice"
        and e.period == previous
        and not e.refers_to
        and e.status != "void"
        and e.issue_date
    ]
    since = min(dates) if dates else None
    return [
        Finding(
            "credited, not replaced",
            e.customer_id or "",
            f"{e.refers_to} of {e.period} was cancelled by credit note {e.invoice_number} on "
            f"{e.issue_date} and no invoice replaces it: {e.period} bills {e.customer_id} nothing "
            f"for it. If something is owed: billing reissue --invoice {e.refers_to}",
        )
        for e in register
        if e.kind == "credit_note"
        and e.status != "void"
        and e.refers_to not in replaced
        and (
            e.period == previous
            or (
                e.period < previous
                and since is not None
                and e.issue_date is not None
                and e.issue_date >= since
            )
        )
    ]


def previous_period(output: Path, period: str) -> str | None:
    """The last finalised period before ``period`` in ``output``, None when there is none."""
    done = finalised_before(output, period)
    return done[-1] if done else None


@dataclass(frozen=True)
class RunFacts:
    """What a run hands the review: its store, folders, thresholds and what its steps produced."""

    con: duckdb.DuckDBPyConnection
    output: Path
    period: str
    settings: ReviewSettings
    #: the price plans by id (``pricing.Pricing.plans``)
    plans: dict
    control_totals: pd.DataFrame
    invoice_totals: pd.DataFrame
    confirmed_jumps: list[str]
    subscriptions: list
    warnings: list[str]
    #: the rated lines' file in a run folder (``rated_lines.parquet``)
    rated_file: str
    #: the imported lines per report file and billing account (``report_lines``)
    report_lines: list[ReportLines] = field(default_factory=list)
    #: the custom lines of the parameters folder (``pricing.Pricing.custom_lines``)
    custom_lines: tuple[CustomLine, ...] = ()
    #: the exchange rates of the parameters folder
    rates: ExchangeRates | None = None
    #: the invoice numbers the run plans, and every number of the register
    numbering: NumberPlan | None = None
    register: list[RegisterEntry] = field(default_factory=list)
    #: the invoices the run built (their VAT in the national currency, ``Invoice.national_vat``)
    invoices: list[Invoice] = field(default_factory=list)
    #: the customers (customers.yaml) and their plans (``pricing.Pricing.assignments``)
    customers: dict[str, Customer] = field(default_factory=dict)
    assignments: tuple[PlanAssignment, ...] = ()
    #: accounts.csv (``customers.load_account_mappings``): why a customer got no invoice
    account_mappings: Sequence[AccountMapping] = ()


def _reasons(
    run: RunFacts, before: Mapping[tuple[str, str], Decimal], without: set[str]
) -> dict[str, str]:
    """Why the customers ``without`` an invoice now got none: a currency change first, then
    what accounts.csv tells (``currency_reasons``, ``no_invoice_reasons``)."""
    out = currency_reasons(run.customers, before, without)
    for customer, why in no_invoice_reasons(
        run.con, run.account_mappings, without, run.period
    ).items():
        out[customer] = f"{out[customer]}; {why}" if customer in out else why
    return out


def run_findings(run: RunFacts) -> list[Finding]:
    """Every check of the review on one run, in the order the notebook lists them."""
    previous = previous_period(run.output, run.period)
    found = [
        Finding("confirmed jump", text.partition(": ")[0], text.partition(": ")[2])
        for text in run.confirmed_jumps
    ]
    before = previous_net(run.output, previous)
    invoiced_now = (
        {(str(r.customer_id), str(r.currency)) for r in run.invoice_totals.itertuples()}
        if previous
        else set()
    )
    without = {c for c, _ in before if c not in {c for c, _ in invoiced_now}}
    found += net_changes(
        run.invoice_totals,
        before,
        previous,
        run.settings.net_change_percent,
        previous_numbers(run.output, previous) if set(before) - invoiced_now else None,
        _reasons(run, before, without) if without else None,
    )
    found += margins(run.con, run.settings.min_margin_percent, run.invoice_totals)
    found += no_vendor_lines(customer_sums(run.con), run.invoice_totals)
    found += absorbed_credits(run.con)
    found += no_plan(run.customers, run.assignments, run.period, run.invoice_totals)
    earlier = [run.output / p / run.rated_file for p in finalised_before(run.output, run.period)]
    found += new_products(run.con, [p for p in earlier if p.is_file()], catch_all_rules(run.plans))
    found += control_totals(run.control_totals)
    found += missing_vendors(
        run.con, run.output / previous / run.rated_file if previous else None, previous
    )
    found += missing_reports(billing_accounts(run.report_lines), run.output, previous)
    found += short_reports(run.con, run.period)
    found += charged_after_the_month(run.con, run.period)
    found += split_days(run.con, run.output, run.period)
    found += estimated_reports(run.report_lines)
    found += months_not_billed(run.output, run.period)
    found += months_not_finalised(run.output, run.period)
    found += custom_lines_not_billed(
        run.con, run.custom_lines, run.output, run.period, run.rated_file
    )
    found += repeated_one_offs(run.con, run.custom_lines, run.output, run.period, run.rated_file)
    found += seat_counts(run.con, run.subscriptions, run.period)
    found += commitments(run.con)
    found += charge_spans(run.con)
    found += unmatched_rules(run.warnings)
    found += rule_gaps(run.plans, run.period)
    found += percent_fractions(run.plans, run.period)
    found += stale_rates(run.con, run.period)
    found += stale_national_rates(run.invoices, run.rates, run.period)
    found += rate_moves(run.rates, run.period, run.settings.fx_change_percent)
    found += number_order(run.numbering, run.register)
    found += credited_not_replaced(previous, run.register)
    return found
