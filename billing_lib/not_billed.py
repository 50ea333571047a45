"""The vendor cost a run bills to no customer, and the margin the journal books, for the run
summary (``summary_workbook``): what the reseller paid and invoiced nobody (unmapped accounts,
lines excluded by a rule, credits it keeps, vendor taxes it cannot recover) per vendor, report,
account and reason, and per currency the reconciliation of the invoices' margin with the books'.

The figures are the journal's own: the postings of ``cost_entries.purchase_entries`` (the function
the journal is written from) on the unbilled-cost account (each rounded half-up once, and stated in
the national currency at the rate of the period's last day, as the journal states it), on the cost
accounts and on the rounding account. The detail rows are exact (BilledCost); each group of them
adds up, rounded once, to its posting. A vendor's recoverable VAT is no cost (booked on its input
VAT account) and is not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath

import duckdb

from billing_lib.cost_entries import purchase_entries, rated_costs
from billing_lib.fx import ExchangeRates
from billing_lib.input_vat import InputVat
from billing_lib.invoice_model import Invoice
from billing_lib.invoicing_parameters import Invoicing
from billing_lib.journal_entries import Entry
from billing_lib.money import ZERO
from billing_lib.periods import month_days
from billing_lib.store import relation_exists

#: What the journal's posting on the unbilled-cost account says of a group of lines
#: (``cost_entries.unbilled_lines``): excluded lines, vendor taxes and unmapped accounts.
EXCLUDED, TAX, UNMAPPED = "not billed to customers", "vendor tax", "unmapped accounts"


@dataclass(frozen=True)
class NotBilledLine:
    """Lines of one vendor, currency, report, account and reason that no invoice bills: their
    count and BilledCost, exact, in the vendor's ``currency``."""

    vendor: str
    currency: str
    booked_as: str
    reason: str
    customer: str
    account: str
    report: str
    lines: int
    cost: Decimal


@dataclass(frozen=True)
class Booked:
    """One posting of the journal on the unbilled-cost account: its text, its amount in the
    vendor's currency and in the national one (None without exchange rates), and the rate."""

    vendor: str
    currency: str
    booked_as: str
    description: str
    amount: Decimal
    national: Decimal | None
    rate: Decimal | None


@dataclass(frozen=True)
class BooksMargin:
    """Per currency, from the invoices' margin to the margin the journal's entries in that
    currency book (revenue less cost of sales, unbilled cost and rounding differences)."""

    currency: str
    invoices: Decimal
    #: cost on the invoices in this currency that the journal books in another (their vendor's)
    bought_elsewhere: Decimal
    #: cost of sales the journal books in this currency for invoices in another
    bought_here: Decimal
    not_billed: Decimal
    rounding: Decimal

    @property
    def books(self) -> Decimal:
        return (
            self.invoices + self.bought_elsewhere - self.bought_here - self.not_billed
        ) - self.rounding


@dataclass(frozen=True)
class NotBilled:
    """What ``run_summary.xlsx`` shows of the cost billed to no customer, and its margins."""

    national: str
    lines: tuple[NotBilledLine, ...]
    booked: tuple[Booked, ...]
    margins: tuple[BooksMargin, ...]


def report_name(source: str | None) -> str:
    """A report's file name without its folder (``cur.zip!part-1.csv`` for a zip's member)."""
    if not source:
        return ""
    outer, _, member = source.partition("!")
    return PurePosixPath(outer).name + (f"!{member}" if member else "")


def not_billed(
    con: duckdb.DuckDBPyConnection,
    invoices: list[Invoice],
    invoicing: Invoicing,
    rates: ExchangeRates | None = None,
    period: str | None = None,
) -> NotBilled:
    """The cost billed to no customer in the run of ``invoices`` (one period: ``period``, which
    a run without an invoice gives) and the books' margin per currency, from the journal's
    purchase entries at ``rates``."""
    period = period or invoices[0].period
    billed = [i for i in invoices if i.kind == "invoice"]
    ids = sorted({i.customer_id for i in billed})
    entries = purchase_entries(con, period, ids, invoicing, rates)
    products = invoicing.products
    booked = tuple(_booked(e, products.unbilled_cost_account) for e in entries)
    flat = tuple(b for group in booked for b in group)
    national = invoicing.national_currency_on(month_days(period)[1])
    return NotBilled(
        national,
        tuple(_lines(con, invoicing)),
        flat,
        _margins(con, period, invoices, invoicing, entries, flat),
    )


def _booked(entry: Entry, account: str) -> list[Booked]:
    vendor = entry.entry_id.split("-")[3]
    rate = entry.national.rate if entry.national else None
    return [
        Booked(
            vendor,
            p.currency,
            next(w for w in (EXCLUDED, TAX, UNMAPPED) if w in p.description),
            p.description,
            p.amount,
            p.national,
            rate,
        )
        for p in entry.postings
        if p.account == account
    ]


def _lines(con: duckdb.DuckDBPyConnection, invoicing: Invoicing) -> list[NotBilledLine]:
    """The detail of ``cost_entries.unbilled_lines``: per vendor, currency, report, account and
    reason, leaving out the vendors' recoverable VAT (no cost)."""
    recoverable = InputVat.of(invoicing)
    parts = []
    if relation_exists(con, "excluded_lines"):
        parts.append(
            f"""SELECT x_Vendor, BillingCurrency,
                       CASE WHEN reason = 'vendor tax' THEN '{TAX}' ELSE '{EXCLUDED}' END,
                       reason, x_CustomerId, SubAccountId, SubAccountName, x_SourceFile,
                       reason = 'vendor tax' AND {recoverable.sql(1)} AS input_vat,
                       BilledCost
                FROM excluded_lines"""
        )
    if relation_exists(con, "unmapped_lines"):
        parts.append(
            f"""SELECT x_Vendor, BillingCurrency, '{UNMAPPED}',
                       'unmapped account: map it in accounts.csv', NULL, SubAccountId,
                       SubAccountName, x_SourceFile,
                       COALESCE(ChargeCategory = 'Tax', false) AND {recoverable.sql(1)},
                       BilledCost
                FROM unmapped_lines"""
        )
    if not parts:
        return []
    found = con.execute(
        f"""SELECT x_Vendor, BillingCurrency, what, reason, customer, account, account_name,
                   report, count(*), sum(BilledCost)
            FROM ({" UNION ALL ".join(parts)})
                 AS t(x_Vendor, BillingCurrency, what, reason, customer, account, account_name,
                      report, input_vat, BilledCost)
            WHERE NOT input_vat
            GROUP BY ALL ORDER BY x_Vendor, BillingCurrency, what, reason, customer, account,
                     report""",
        recoverable.params(),
    ).fetchall()
    names = {cid: c.name for cid, c in invoicing.customers.items()}
    return [
        NotBilledLine(
            vendor,
            currency,
            what,
            reason,
            f"{customer} {names[customer]}" if customer in names else (customer or ""),
            f"{account} ({name})" if account and name and name != account else (account or ""),
            report_name(report),
            lines,
            cost,
        )
        for vendor, currency, what, reason, customer, account, name, report, lines, cost in found
    ]


def _margins(
    con: duckdb.DuckDBPyConnection,
    period: str,
    invoices: list[Invoice],
    invoicing: Invoicing,
    entries: list[Entry],
    booked: tuple[Booked, ...],
) -> tuple[BooksMargin, ...]:
    """Per currency of the invoices or the journal's purchase entries: ``BooksMargin``."""
    rounding_account = invoicing.products.rounding_account
    postings = [p for e in entries for p in e.postings]
    currencies = sorted({i.currency for i in invoices} | {p.currency for p in postings})
    # per invoice currency, the cost of sales the journal books for those invoices, by the
    # currency it books it in (the vendor's)
    by_invoice: dict[str, dict[str, Decimal]] = {}
    for currency in currencies:
        ids = sorted({i.customer_id for i in invoices if i.currency == currency})
        sums = by_invoice.setdefault(currency, {})
        for _, vendor_currency, _, rounded, _, _ in rated_costs(con, period, ids, invoicing):
            sums[vendor_currency] = sums.get(vendor_currency, ZERO) + rounded
    out = []
    for c in currencies:
        mine = [i for i in invoices if i.currency == c]
        cost = sum((i.cost for i in mine), ZERO)
        out.append(
            BooksMargin(
                c,
                sum((i.margin for i in mine), ZERO),
                cost - by_invoice[c].get(c, ZERO),
                sum((s.get(c, ZERO) for k, s in by_invoice.items() if k != c), ZERO),
                sum((b.amount for b in booked if b.currency == c), ZERO),
                sum(
                    (
                        p.amount
                        for p in postings
                        if p.currency == c and p.account == rounding_account
                    ),
                    ZERO,
                ),
            )
        )
    return tuple(out)
