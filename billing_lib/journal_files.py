"""The journal's files: a generic CSV journal for accounting packages (text cells that a
spreadsheet would read as a formula made plain) and the same entries as a beancount v3 ledger
that ``bean-check`` verifies independently; each written to a temporary name and moved into
place."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from billing_lib.invoice_model import money_text
from billing_lib.invoicing_parameters import Invoicing, beancount_name
from billing_lib.journal_entries import Entry, NationalRate, Posting
from billing_lib.run_files import atomic_target

#: The beancount plugin that opens each account on its first posting (each ledger file declares
#: it; ``write_beancount_file`` says why).
AUTO_ACCOUNTS = "beancount.plugins.auto_accounts"


#: The CSV journal's columns as journals were written before the national-currency columns (an
#: earlier run folder's journal, which ``read_entry`` still reads).
EARLIER_JOURNAL_COLUMNS = (
    "date",
    "journal",
    "entry_id",
    "account",
    "description",
    "debit",
    "credit",
    "currency",
    "vat_code",
    "customer_id",
    "invoice_number",
)


#: Appended to them: each row in the seller's national currency (``in_national``), so an importer
#: that maps the earlier columns by position or name reads the file as before.
NATIONAL_COLUMNS = (
    "national_currency",
    "exchange_rate",
    "rate_date",
    "national_debit",
    "national_credit",
)


JOURNAL_COLUMNS = EARLIER_JOURNAL_COLUMNS + NATIONAL_COLUMNS


def write_csv_journal(entries: list[Entry], invoicing: Invoicing | None, path: Path) -> Path:
    """One row per posting: debit or credit (never both, never negative), account code, VAT code,
    customer and invoice number, so an accounting package can import it line by line; then
    (``NATIONAL_COLUMNS``, appended so the earlier columns stay where they were) the national
    currency, the entry's rate and its date, and the row's debit or credit in that currency,
    and after an entry's rows the row of its conversion's cents (``in_national``). An entry
    without ``national`` (one read from a journal written before) leaves them empty."""
    with atomic_target(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(JOURNAL_COLUMNS)
        for e in entries:
            for p in (*e.postings, *([e.conversion] if e.conversion else [])):
                debit, credit = _sides(p.amount, p.amount)
                writer.writerow(
                    [
                        e.date.isoformat(),
                        e.journal,
                        e.entry_id,
                        p.account,
                        csv_text(p.description),
                        debit,
                        credit,
                        p.currency,
                        p.vat_code or "",
                        e.customer_id or "",
                        e.invoice_number or "",
                        *_national_cells(e.national, p),
                    ]
                )
    return path


def _sides(amount: Decimal, side: Decimal) -> tuple[str, str]:
    """(debit, credit) of ``amount``: one filled, never negative; 0 as a debit of 0.00, or (a
    converted amount that rounds to 0) on the side of ``side``, its row's own amount."""
    if amount > 0 or (not amount and side >= 0):
        return money_text(amount if amount else abs(amount)), ""
    return "", money_text(-amount)


def _national_cells(rate: NationalRate | None, p: Posting) -> list[str]:
    """The cells of ``NATIONAL_COLUMNS`` of ``p`` (empty without a rate or national amount)."""
    if rate is None or p.national is None:
        return [""] * len(NATIONAL_COLUMNS)
    debit, credit = _sides(p.national, p.amount)
    return [rate.currency, str(rate.rate), rate.day.isoformat(), debit, credit]


#: First characters a spreadsheet opening the CSV reads as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """Text for a CSV cell: an apostrophe before text a spreadsheet would read as a formula (a
    description from a vendor file or the parameters), as the workbooks' usage CSV does."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def plain_text(text: str) -> str:
    """``csv_text`` undone when a journal is read back."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def reworded(text: str, receivable: tuple[str, str]) -> str:
    """The receivable line's description in a package file (Xero's, QuickBooks') with the
    original's wording replaced by the credit note's (a converted line keeps its "(USD ... at
    ...)")."""
    return text.replace(csv_text(receivable[0]), csv_text(receivable[1]), 1)


def beancount_account(code: str, invoicing: Invoicing) -> str:
    """``1300`` -> ``Assets:1300-Accounts-receivable`` (``beancount_name``; ``load_invoicing``
    refuses two codes of one name)."""
    return beancount_name(code, invoicing.account(code))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def write_beancount(entries: list[Entry], invoicing: Invoicing, path: Path) -> Path:
    """The entries as a beancount v3 ledger (``write_beancount_file``), amounts exact to the
    cent."""
    codes = {p.account for e in entries for p in e.postings}
    return write_beancount_file(
        entries,
        invoicing.seller.name,
        {c: beancount_account(c, invoicing) for c in codes},
        path,
        "journal of a billing run",
    )


def write_beancount_file(
    entries: list[Entry], title: str, accounts: dict[str, str], path: Path, what: str
) -> Path:
    """The entries as a beancount v3 ledger titled ``title``, each account code named by
    ``accounts`` (code -> beancount account), ``what`` in the first comment line.

    Its accounts are opened by beancount's ``auto_accounts`` plugin (on their first posting), not
    by ``open`` directives, and no ``commodity`` is declared: a year's ledgers (every month's and
    every correction's) are checked and queried together by a main file that includes them, and
    beancount refuses an account opened twice, a commodity declared twice or a file included
    twice, so nothing the files share may be declared in them. Each file still passes
    ``bean-check`` on its own; a main file declares the plugin (or opens the accounts) itself,
    since beancount reads the options and plugins of the top file only
    (docs/invoices-and-ledger.md)."""
    lines = [
        f"; {title}: {what}, written by billing_lib.ledger",
        f"option {_q('title')} {_q(title)}",
    ]
    lines += [f"option {_q('operating_currency')} {_q(c)}" for c in _operating(entries)]
    lines.append(f"plugin {_q(AUTO_ACCOUNTS)}")
    for e in entries:
        lines.append("")
        lines.append(f"{e.date.isoformat()} * {_q(e.payee)} {_q(e.narration)}")
        lines.append(f"  journal: {_q(e.journal)}")
        lines.append(f"  entry_id: {_q(e.entry_id)}")
        if e.customer_id:
            lines.append(f"  customer_id: {_q(e.customer_id)}")
        if e.invoice_number:
            lines.append(f"  invoice_number: {_q(e.invoice_number)}")
        for p in e.postings:
            lines.append(f"  {accounts[p.account]:<48} {money_text(p.amount):>14} {p.currency}")
            lines.append(f"    description: {_q(p.description)}")
            if p.vat_code:
                lines.append(f"    vat_code: {_q(p.vat_code)}")
    with atomic_target(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _operating(entries: list[Entry]) -> list[str]:
    """The ledger's operating currency: the seller's national currency its entries are stated
    in (``Entry.national``, the books' currency), else the first of its currencies by name (a
    journal written before the national amounts). By name alone, a credit note of a USD invoice
    reported in USD and a Swedish seller's month of SEK and EUR in EUR."""
    national = sorted({e.national.currency for e in entries if e.national is not None})
    return national[:1] or sorted({p.currency for e in entries for p in e.postings})[:1]
