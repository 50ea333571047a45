"""The QuickBooks Online journal-entries import file (Settings > Import data > Journal entries;
Intuit help "Import journal entries"): its columns, the Journal No. of an entry, the account
names QuickBooks keeps per currency, the exchange rate of an entry in another currency than the
company file's home currency, and the rows (``accounting_exports`` writes the file and its
reversal; its docstring has the layout)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from decimal import Decimal

from billing_lib.errors import ParameterError, RunError
from billing_lib.fx import ExchangeRates, missing_rate_error
from billing_lib.invoice_model import money_text
from billing_lib.invoicing_parameters import Invoicing
from billing_lib.journal_entries import Entry, NationalRate, Posting, in_national
from billing_lib.journal_files import csv_text
from billing_lib.money import ZERO, minor_unit, round_money
from billing_lib.quickbooks_names import QuickBooksContacts

QUICKBOOKS_COLUMNS = (
    "Journal No.",
    "Journal Date",
    "Account Name",
    "Description",
    "Debits",
    "Credits",
    "Name",
    "Currency Code",
    "Exchange Rate",
)
#: The QuickBooks file's columns before ``Exchange Rate`` was appended: a run folder written
#: before holds such a file, which a credit note reverses as it is.
EARLIER_QUICKBOOKS_COLUMNS = QUICKBOOKS_COLUMNS[:-1]
QUICKBOOKS_MAX_NUMBER = 21

#: Digits of an entry id's SHA-256 in a Journal No. shortened to QuickBooks' 21 characters.
_NUMBER_DIGEST = 6


def journal_number(entry_id: str) -> str:
    """QuickBooks' Journal No. of the entry ``entry_id``: the id itself when it fits in 21
    characters (an invoice number, ``COST-2026-10-aws-EUR``), else its first 14 characters, a
    dash and 6 hex digits of its SHA-256 (``COST-2026-10-m-<6 hex>`` for
    ``COST-2026-10-microsoft-EUR``). Derived from what the entry is, never from its place in the
    file: a rerun of an unfinalised month (a report more or fewer, another order) gives the same
    vendor bill the same number, so an accountant who imported the first run is not given the
    bill a second time under another number. ``quickbooks_rows`` checks it is unique in a file."""
    if len(entry_id) <= QUICKBOOKS_MAX_NUMBER:
        return entry_id
    digest = hashlib.sha256(entry_id.encode("utf-8")).hexdigest()[:_NUMBER_DIGEST]
    return f"{entry_id[: QUICKBOOKS_MAX_NUMBER - _NUMBER_DIGEST - 1]}-{digest}"


def quickbooks_account(code: str, currency: str, home: str, invoicing: Invoicing) -> str:
    """QuickBooks' Account Name of ``code`` on a line in ``currency``: its name in products.yaml,
    and for the receivable account or a vendor's payable account in another currency than the
    company file's ``home`` currency "<name> - <currency>" ("Accounts receivable - USD").
    QuickBooks Online keeps an A/R and an A/P account per currency ("Accounts Receivable (A/R) -
    USD") and refuses a journal entry whose A/R or A/P account is in another currency than the
    entry: booked on the EUR invoices' "Accounts receivable", the USD invoice's journal was
    refused. Other accounts keep their names: income and expense accounts are in the home
    currency, which an entry in any currency may post to, and so may the other balance-sheet
    accounts (VAT payable stays one account in the currency the VAT return is made in)."""
    account = invoicing.account(code)
    return (
        f"{account.name} - {currency}"
        if _quickbooks_named(code, invoicing) and currency != home
        else account.name
    )


def _quickbooks_named(code: str, invoicing: Invoicing) -> bool:
    """Whether ``code`` is an A/R or A/P account to QuickBooks (the receivable account or a
    vendor's payable account): its lines carry a Name, and it is kept per currency."""
    products = invoicing.products
    return code == products.receivable_account or code in {
        v.payable_account for v in products.vendors.values()
    }


def quickbooks_rate(
    entry: Entry, currency: str, home: str, rates: ExchangeRates | None = None
) -> str:
    """QuickBooks' Exchange Rate of ``entry``'s lines in ``currency`` for a company file in
    ``home``: the home-currency units one unit of ``currency`` is worth, as Intuit defines it;
    empty in the home currency. Without it QuickBooks converts at the rate its own list has for
    the entry's date, or 1, and the entry's home-currency amounts were not those of the CSV
    journal and the Xero file. The rate the journal states the entry in the national currency
    at (``Entry.national``: the invoice's own, else exchange_rates.csv's of its period's last
    day) where the home currency is the national one; else ``rates``' rate to ``home`` on that
    rate's day (a ParameterError naming the pair when exchange_rates.csv has none); empty for
    an entry stated in no national currency (one built without rates)."""
    stated = entry.national
    if currency == home or stated is None:
        return ""
    if stated.currency == home:
        return f"{stated.rate:f}"
    if rates is None:
        return ""
    try:
        return f"{rates.rate(currency, home, stated.day):f}"
    except ParameterError:
        raise missing_rate_error(
            rates.path,
            currency,
            home,
            stated.day,
            f" (the QuickBooks file states the {currency} entries at their rate to the company "
            f"file's home currency {home}, accounting_exports.yaml "
            "quickbooks_online.home_currency, of their period's last day)",
        ) from None


def quickbooks_rows(
    entries: list[Entry],
    invoicing: Invoicing,
    date_format: str,
    period: str,
    home_currency: str | None = None,
    rates: ExchangeRates | None = None,
) -> list[list[str]]:
    """Rows of the QuickBooks Online journal-entries file (without the header), the accounts
    named by ``quickbooks_account`` for a company file in ``home_currency`` (None: the seller's
    national currency, ``_home``), an entry in another currency at ``quickbooks_rate``; a
    RunError when two entries would share a Journal No. (QuickBooks would make one journal of
    them)."""
    rows = []
    numbered: dict[str, str] = {}
    contacts = QuickBooksContacts(invoicing, period)
    for entry in entries:
        number = journal_number(entry.entry_id)
        if number in numbered:
            raise RunError(
                f"the QuickBooks journal of {period} would number the entries "
                f"{numbered[number]} and {entry.entry_id} both {number}, and QuickBooks would "
                "import them as one journal; no file is written"
            )
        numbered[number] = entry.entry_id
        home = home_currency or _home(entry, invoicing)
        postings = [p for p in entry.postings if p.amount]  # a line of nothing left out
        currencies = {p.currency for p in postings}
        if len(currencies) == 1:
            currency = currencies.pop()
            rate = quickbooks_rate(entry, currency, home, rates)
            if rate:
                postings += rounding_postings(entry, currency, home, Decimal(rate), invoicing)
        for ln in postings:
            named = _quickbooks_named(ln.account, invoicing)
            name = contacts.name(entry.payee or "", ln.account, ln.currency, home) if named else ""
            rows.append(
                [
                    number,
                    entry.date.strftime(date_format),
                    quickbooks_account(ln.account, ln.currency, home, invoicing),
                    csv_text(ln.description),
                    money_text(ln.amount) if ln.amount > 0 else "",
                    money_text(-ln.amount) if ln.amount < 0 else "",
                    name,  # a key QuickBooks matches: exact, at most 100 characters
                    ln.currency,
                    quickbooks_rate(entry, ln.currency, home, rates),
                ]
            )
    return rows


def rounding_postings(
    entry: Entry, currency: str, home: str, rate: Decimal, invoicing: Invoicing
) -> list[Posting]:
    """The rows that make QuickBooks book ``entry`` (in ``currency``, not ``home``) in
    ``home`` as the journal states it. QuickBooks converts each row at the Exchange Rate ``rate``
    and rounds it by itself, so the rows converted did not add up to the entry in ``home``: the
    cents the journal books on the rounding account (``Entry.conversion``) and a VAT row the
    journal makes the invoice's national VAT (``in_national``) were not booked, and QuickBooks'
    entry in ``home`` did not balance. Per account whose rows convert to another amount than
    the journal's, rows on it that net to 0 in the entry's currency (+2u, -u, -u, or the signs
    swapped) and convert to one minor unit of ``home`` each (``_cent_rows``), each row saying
    so ("Rounding differences converting to EUR at 1.5 (3 rows: USD 0.00, EUR 0.01 debit)"):
    an accountant saw USD amounts booked as rounding. The entry is
    stated in ``home`` by ``in_national``: its own statement where ``home`` is its national
    currency, else at ``rate`` (the rounding on products.yaml's ``rounding_account``)."""
    rounding = invoicing.products.rounding_account
    stated = (
        entry
        if entry.national is not None and entry.national.currency == home
        else in_national(
            replace(entry, national=None, conversion=None),
            NationalRate(home, rate, entry.national.day if entry.national else entry.date),
            rounding,
        )
    )
    target: dict[str, Decimal] = {}
    booked: dict[str, Decimal] = {}
    described: dict[str, str] = {}
    for p in (*stated.postings, *([stated.conversion] if stated.conversion else [])):
        target[p.account] = target.get(p.account, ZERO) + (p.national or ZERO)
        booked[p.account] = booked.get(p.account, ZERO) + round_money(p.amount * rate, home)
        described.setdefault(p.account, p.description)
    out: list[Posting] = []
    for account, amount in target.items():
        cents = int((amount - booked[account]) / minor_unit(home))
        text = f"Rounding differences converting to {home} at {rate}"
        if account != rounding:
            text += f", {described[account]}"
        for _ in range(abs(cents)):
            rows = _cent_rows(currency, home, rate, 1 if cents > 0 else -1, entry.entry_id)
            said = (
                f"{text} ({len(rows)} rows: {currency} {money_text(round_money(ZERO, currency))}"
                f", {home} {money_text(minor_unit(home))} {'debit' if cents > 0 else 'credit'})"
            )
            out += [Posting(account, a, currency, said) for a in rows]
    return out


#: The end of a rounding row's description (``rounding_postings``): its rows and the side of
#: the home-currency unit they book.
_CARRIED = re.compile(r"( \(\d+ rows: [A-Z]{3} [\d.]+, [A-Z]{3} [\d.]+ )(debit|credit)\)$")


def rounding_reversed(text: str) -> str:
    """A QuickBooks row's description in the reversal of its entry (a credit note's file, its
    debits and credits swapped): a rounding row's side named the other way ("EUR 0.01 debit"
    becomes "EUR 0.01 credit"); any other description as it is."""
    found = _CARRIED.search(text)
    if found is None:
        return text
    side = "credit" if found.group(2) == "debit" else "debit"
    return f"{text[: found.start()]}{found.group(1)}{side})"


def _cent_rows(currency: str, home: str, rate: Decimal, sign: int, entry_id: str) -> list[Decimal]:
    """Three amounts of ``currency`` adding up to 0 whose conversions at ``rate``, each rounded
    half-up to ``home``'s minor unit, add up to ``sign`` minor units: +2u, -u, -u (or negated)
    for the smallest u of ``currency`` whose conversion and twice it fall on no half unit, so
    QuickBooks' rounding of a tie does not matter. At a rate that converts every amount to
    whole or half units only (0.5, 1.5, 1.25: no such u) ``_tie_rows``. A RunError where
    neither finds one up to 1000 minor units (a rate that converts every amount exactly, at
    which no conversion leaves a cent to carry)."""
    unit, home_unit = minor_unit(currency), minor_unit(home)
    for n in range(1, 1001):
        u = unit * n
        if any((x * rate / home_unit) % 1 == Decimal("0.5") for x in (u, 2 * u)):
            continue
        moved = round_money(2 * u * rate, home) - 2 * round_money(u * rate, home)
        if moved:
            flip = 1 if moved * sign > 0 else -1
            return [2 * u * flip, -u * flip, -u * flip]
    tied = _tie_rows(unit, home_unit, rate, sign)
    if tied:
        return tied
    raise RunError(
        f"the QuickBooks journal cannot book entry {entry_id} in {home} as the journal states "
        f"it: no amount of {currency} converts at {rate} to a rounding of one {home} minor unit"
    )


def _tie_rows(unit: Decimal, home_unit: Decimal, rate: Decimal, sign: int) -> list[Decimal]:
    """+u, +u, -2u (negated for ``sign`` -1) for the smallest u (a multiple of ``unit``, up to
    1000) that converts to k + 1/2 ``home_unit`` with k odd, 2u to the whole 2k + 1: QuickBooks
    rounds each row's amount (a debit or a credit, positive) to k + 1, so the rows book
    2(k + 1) - (2k + 1) = one unit on the side of ``sign``. k + 1 is even, so half-up and
    half-even agree (1.5 cents is 2 either way); only an importer that rounded half down
    would book the unit on the other side. Empty when there is no such u."""
    for n in range(1, 1001):
        u = unit * n
        halves = u * rate / home_unit * 2  # the conversion of u in half units of home
        if halves % 4 == 3:  # 2k + 1 with k odd
            return [u * sign, u * sign, -2 * u * sign]
    return []


def _home(entry: Entry, invoicing: Invoicing) -> str:
    """The seller's national currency of ``entry``: the one the CSV journal states it in
    (``Entry.national``, of its period's last day), else the one of its date. Not today's: a
    Bulgarian seller's December 2025 in lev, written in 2026 (the euro in use that day), named
    its lev receivable "Accounts receivable - BGN" as if the lev were foreign, and the file
    depended on the day it was written."""
    if entry.national is not None:
        return entry.national.currency
    return invoicing.national_currency_on(entry.date)
