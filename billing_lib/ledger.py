"""The run's journal: balanced double entries equal to the invoices to the cent.

Two kinds of entry (docs/invoices-and-ledger.md has a worked example):

- **Sales** (journal ``SALES``, dated the invoice's issue date), one per invoice: accounts
  receivable debit = gross; revenue credit per product group = the sum of that group's rounded
  invoice lines (accounts from ``products.yaml``); VAT payable credit per VAT line (none for 0 %).
  The figures are the ``Invoice`` objects' own, so journal = invoices = workbooks. A negative
  invoice (credit balance) or a credit note has every side swapped.
- **Purchases** (journal ``PURCH``, dated the period's last day), one per vendor and vendor
  currency: the vendor payable credit = everything the vendor's report bills for the month
  (BilledCost of the rated, excluded and unmapped lines), one posting per vendor invoice
  rounded once, so it matches the vendor's invoices (``vendor_bills``);
  cost of sales debit per product group = the invoices' cost (each invoice line's vendor cost
  rounded half-up, then added: ``rated_costs``), in the vendor's currency (each entry balances
  in it; stated in the national currency beside it, below); vendor
  cost billed to no customer (internal use, vendor taxes, credits the reseller keeps, unmapped
  accounts) debit the unbilled-cost account, but for the VAT a vendor charges that is
  recoverable input VAT (its Tax lines, the vendor's ``input_vat_account``), debited there; what
  the vendor bills beyond the rated lines' cost
  (amortised commitments, when the plan prices EffectiveCost) the prepaid account, rounded once.
  The cents left between the payable and these (the invoices round cost per line, the vendor its
  bill once) go to the rounding account (``products.yaml`` ``rounding_account``), so the entry
  balances exactly and the prepaid account holds commitments only.

Every entry is also stated in the seller's national currency (the one the invoices state their
national VAT in, ``Invoicing.national_currency_on``): each posting converted at one rate per
entry (``NationalRate``: a sales entry at the invoice's own, ``Invoice.national_vat``, else at
exchange_rates.csv's of the supply period's last day; a purchase entry at exchange_rates.csv's of
the period's last day: the rates the Xero base-currency journal converts at) and rounded half-up,
the cents the roundings leave on a row of the rounding account, as the Xero journal books them
(``in_national``). So the VAT rows in the national currency are the invoice's national VAT, and
the entry balances in it too.

Writers: a generic CSV journal for accounting packages and the same entries as a beancount v3
ledger that ``bean-check`` verifies independently (``journal_files``). Both are written to a
temporary name and moved into place. The entries are ``journal_entries``'; the purchase entries
``cost_entries``'; the cost a reissue moves ``moved_cost``'s; a journal read back
``journal_readback``'s. This module builds the sales entries and a run's journal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from billing_lib.cost_entries import purchase_entries
from billing_lib.errors import ControlTotalError
from billing_lib.fx import ExchangeRates
from billing_lib.invoice_model import Invoice, VatLine, money_text
from billing_lib.invoicing_parameters import Invoicing
from billing_lib.journal_entries import Entry, NationalRate, Posting, in_national, national_rate
from billing_lib.journal_files import write_beancount, write_csv_journal
from billing_lib.run_files import journal_name, ledger_name


@dataclass(frozen=True)
class SalesLine:
    """A posting of an invoice's sales entry with its wording, before its account is chosen:
    the receivable (neither group nor VAT line), a product group's revenue, or a VAT line."""

    description: str
    amount: Decimal
    product_group: str | None = None
    vat: VatLine | None = None


def sales_lines(inv: Invoice) -> list[SalesLine]:
    """The postings of ``inv``'s sales entry in order, worded as the journal shows them: the
    receivable debit (= gross), a credit per product group (= its subtotal) and per VAT line
    (none for 0 VAT). ``sales_entry`` books them; a correction checks a run's journal with them."""
    kind = "Credit note" if inv.kind == "credit_note" else "Invoice"
    out = [SalesLine(f"{kind} {inv.number} {inv.buyer.name}", inv.gross)]
    out += [
        SalesLine(f"{heading} {inv.period}", -total, product_group=group)
        for group, heading, total in inv.subtotals()
        if total
    ]
    out += [
        SalesLine(f"{vat.label} on {money_text(vat.base)}", -vat.amount, vat=vat)
        for vat in inv.vat
        if vat.amount
    ]
    return out


def sales_entry(inv: Invoice, invoicing: Invoicing, rates: ExchangeRates | None = None) -> Entry:
    """The entry of one invoice or credit note, from its rounded figures only (``sales_lines``),
    in the national currency too (``in_national``) at the rate the invoice states its national VAT
    at (``Invoice.national_vat``; its VAT rows are that VAT), else at exchange_rates.csv's
    ``rates`` of its supply period's last day (a 0 % invoice in USD)."""
    products = invoicing.products
    rule = invoicing.vat.rules[inv.vat_rule].on(inv.supply_end)
    postings = []
    for line in sales_lines(inv):
        if line.product_group is not None:
            account = products.product_groups[line.product_group].revenue_account
            vat_code: str | None = rule.vat_code
        elif line.vat is not None:
            account, vat_code = rule.vat_account, line.vat.vat_code
        else:
            account, vat_code = products.receivable_account, None
        postings.append(Posting(account, line.amount, inv.currency, line.description, vat_code))
    entry = Entry(
        inv.issue_date,
        "SALES",
        inv.number,
        inv.buyer.name,
        sales_narration(inv),
        tuple(p for p in postings if p.amount or p.account == products.receivable_account),
        inv.customer_id,
        inv.number,
    )
    stated = inv.national_vat
    if stated is None:
        national = invoicing.national_currency_on(inv.supply_end)
        return in_national(
            entry,
            national_rate(inv.currency, national, inv.supply_end, rates),
            products.rounding_account,
        )
    return in_national(
        entry,
        NationalRate(stated.currency, stated.rate, stated.rate_date),
        products.rounding_account,
        (rule.vat_account, -stated.amount),
    )


def sales_narration(inv: Invoice) -> str:
    """The narration of ``inv``'s sales entry (the CSV journal does not keep it; the packages'
    files do: a credit note finds the invoice's rows in them by it)."""
    kind = "Credit note" if inv.kind == "credit_note" else "Invoice"
    return f"{kind} {inv.number} period {inv.period}" + (
        f" corrects {inv.refers_to}" if inv.refers_to else ""
    )


def build_entries(
    con: duckdb.DuckDBPyConnection,
    invoices: list[Invoice],
    invoicing: Invoicing,
    period: str | None = None,
    rates: ExchangeRates | None = None,
) -> list[Entry]:
    """Every entry of the run: sales per invoice (in number order), then purchases per vendor of
    each invoiced period and of the run's ``period``: a month that invoices no customer (every
    line unmapped or excluded) still books the vendors' bills. Each in the national currency too,
    converted at ``rates`` where it is in another (without them, where an invoice does not give
    its rate, not: the journal's national columns are left empty)."""
    entries = [
        sales_entry(inv, invoicing, rates) for inv in sorted(invoices, key=lambda i: i.number)
    ]
    invoiced = [i for i in invoices if i.kind == "invoice"]
    for month in sorted({i.period for i in invoiced} | ({period} if period else set())):
        ids = sorted({i.customer_id for i in invoiced if i.period == month})
        entries += purchase_entries(con, month, ids, invoicing, rates)
    for e in entries:
        if any(e.balance().values()) or e.national_balance():
            raise ControlTotalError(
                f"journal entry {e.entry_id} does not balance: {e.balance()}, in the national "
                f"currency {e.national_balance()}"
            )
    return entries


def write_ledger(
    con: duckdb.DuckDBPyConnection,
    invoices: list[Invoice],
    invoicing: Invoicing,
    folder: Path,
    more: Callable[[list[Entry], str], list[Path]] | None = None,
    period: str | None = None,
    rates: ExchangeRates | None = None,
) -> list[Path]:
    """``journal_<period>.csv`` and ``ledger_<period>.beancount`` in ``folder``, and whatever
    ``more(entries, period name)`` writes of the same entries (the accounting packages' files,
    billing_lib.accounting_exports); the paths. ``period``: the run's month, named and its
    purchases booked even when no customer is invoiced (``build_entries``); ``rates``: the
    run's exchange rates, at which entries in other currencies are stated in the national one."""
    entries = build_entries(con, invoices, invoicing, period, rates)
    periods = sorted({i.period for i in invoices} | ({period} if period else set())) or ["empty"]
    name = periods[0] if len(periods) == 1 else f"{periods[0]}_{periods[-1]}"
    written = [
        write_csv_journal(entries, invoicing, Path(folder) / journal_name(name)),
        write_beancount(entries, invoicing, Path(folder) / ledger_name(name)),
    ]
    return written + (more(entries, name) if more else [])
