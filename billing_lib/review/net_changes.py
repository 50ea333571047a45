"""Customers whose net moved against the previous finalised month, new customers, customers
without an invoice now (and why, where accounts.csv or customers.yaml tells), and customers
invoiced in another currency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pandas as pd

from billing_lib.customers import AccountMapping, Customer
from billing_lib.periods import month_days
from billing_lib.review.findings import Finding


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
