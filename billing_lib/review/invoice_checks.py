"""Checks of the invoices the run built: invoices without a vendor line, customers without a
price plan, margins below the threshold."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pandas as pd

from billing_lib.customers import Customer
from billing_lib.money import round_money
from billing_lib.periods import days_text, month_days
from billing_lib.pricing import PLANS_FILE, PlanAssignment
from billing_lib.review.findings import Finding, source_lines


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
                source_lines(
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
