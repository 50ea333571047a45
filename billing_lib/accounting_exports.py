"""The run's journal entries in the import layouts of two accounting packages, beside the generic
CSV journal and the beancount ledger (billing_lib.ledger): the same balanced entries, the same
cents, in the columns, date format, decimal separator and sign convention each package documents.

- **Xero, manual journal import** (Accounting > Manual Journals > Import; help.xero.com
  "Add or post multiple manual journals"): the template's columns ``*Narration, *Date,
  Description, *AccountCode, *TaxRate, *Amount, TrackingName1, TrackingOption1, TrackingName2,
  TrackingOption2`` (``*`` = mandatory); date ``dd/mm/yyyy``; one signed ``Amount`` per line,
  positive = debit, negative = credit, decimal point; rows with the same narration and date make
  one journal; at most 300 lines per file; the tax rate by its full name as in Xero's tax
  settings. A manual journal is in the organisation's base currency, so there is one file per
  currency (``xero_manual_journal_<period>_<currency>.csv``; ``_2``, ``_3``... when an entry would
  cross the 300-line limit); every line carries the ``tax_rate`` of ``accounting_exports.yaml``
  (default "No VAT"), since the entries post their VAT on lines of their own.
- **QuickBooks Online, journal entries import** (Settings > Import data > Journal entries;
  Intuit help "Import journal entries"): columns ``Journal No., Journal Date, Account Name,
  Description, Debits, Credits, Name, Currency Code``; one journal per Journal No. (at most 21
  characters); debit and credit as positive amounts, one of them empty; the account by its
  name (products.yaml ``accounts``); the customer's name on receivable lines and the vendor's on
  payable lines (QuickBooks requires a Name on A/R and A/P lines); date ``dd/mm/yyyy`` by default
  (``%m/%d/%Y`` for a US company file).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import Field

from billing_lib.invoices import Invoicing, money_text
from billing_lib.ledger import Entry, csv_text
from billing_lib.parameter_files import Strict, load_optional
from billing_lib.run_files import atomic_target

SETTINGS_FILE = "accounting_exports.yaml"
XERO_COLUMNS = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)
XERO_MAX_LINES = 300
QUICKBOOKS_COLUMNS = (
    "Journal No.",
    "Journal Date",
    "Account Name",
    "Description",
    "Debits",
    "Credits",
    "Name",
    "Currency Code",
)
QUICKBOOKS_MAX_NUMBER = 21


class XeroSettings(Strict):
    #: Xero tax rate name on every line (the entries carry VAT on lines of their own).
    tax_rate: str = Field(default="No VAT", min_length=1)


class QuickBooksSettings(Strict):
    #: strftime format of Journal Date: %d/%m/%Y (UK, AU, CA...) or %m/%d/%Y (US).
    date_format: str = Field(default="%d/%m/%Y", pattern=r"^(%d/%m/%Y|%m/%d/%Y)$")


class ExportSettings(Strict):
    """``parameters/accounting_exports.yaml`` (optional: every setting has a default)."""

    xero: XeroSettings = XeroSettings()
    quickbooks_online: QuickBooksSettings = QuickBooksSettings()


def load_export_settings(parameters: Path) -> ExportSettings:
    """The settings of ``parameters/accounting_exports.yaml``, or the defaults without the file;
    a ParameterError naming the entry for a wrong one."""
    return load_optional(Path(parameters) / SETTINGS_FILE, ExportSettings)


@dataclass(frozen=True)
class _Line:
    entry: Entry
    account: str
    amount: Decimal
    currency: str
    description: str


def _lines(entry: Entry) -> list[_Line]:
    """The postings a package takes: zero amounts left out (a line of nothing)."""
    return [
        _Line(entry, p.account, p.amount, p.currency, p.description)
        for p in entry.postings
        if p.amount
    ]


def _narration(entry: Entry) -> str:
    """One narration per entry (Xero makes one journal of the rows sharing narration and date)."""
    text = (
        entry.narration
        if entry.entry_id in entry.narration
        else f"{entry.entry_id} {entry.narration}"
    )
    return f"{text} – {entry.payee}" if entry.payee and entry.payee not in text else text


def xero_files(entries: list[Entry], tax_rate: str) -> dict[str, list[list[str]]]:
    """Rows of the Xero manual-journal files per currency: a list of files (each a list of rows
    without the header), an entry never split between two files."""
    files: dict[str, list[list[list[str]]]] = {}
    for entry in entries:
        by_currency: dict[str, list[_Line]] = {}
        for ln in _lines(entry):
            by_currency.setdefault(ln.currency, []).append(ln)
        for currency, lines in by_currency.items():
            rows = [
                [
                    csv_text(_narration(entry)),
                    entry.date.strftime("%d/%m/%Y"),
                    csv_text(ln.description),
                    ln.account,
                    tax_rate,
                    money_text(ln.amount),
                    "",
                    "",
                    "",
                    "",
                ]
                for ln in lines
            ]
            parts = files.setdefault(currency, [[]])
            if parts[-1] and len(parts[-1]) + len(rows) > XERO_MAX_LINES:
                parts.append([])
            parts[-1].extend(rows)
    return {
        currency if i == 1 else f"{currency}_{i}": rows
        for currency, parts in files.items()
        for i, rows in enumerate(parts, start=1)
    }


def _journal_number(entry: Entry, index: int, period: str) -> str:
    if len(entry.entry_id) <= QUICKBOOKS_MAX_NUMBER:
        return entry.entry_id
    return f"{entry.journal}-{period}-{index:03d}"[:QUICKBOOKS_MAX_NUMBER]


def quickbooks_rows(
    entries: list[Entry], invoicing: Invoicing, date_format: str, period: str
) -> list[list[str]]:
    """Rows of the QuickBooks Online journal-entries file (without the header)."""
    products = invoicing.products
    payable = {v.payable_account for v in products.vendors.values()}
    rows = []
    for index, entry in enumerate(entries, start=1):
        number = _journal_number(entry, index, period)
        for ln in _lines(entry):
            named = ln.account == products.receivable_account or ln.account in payable
            rows.append(
                [
                    number,
                    entry.date.strftime(date_format),
                    invoicing.account(ln.account).name,
                    csv_text(ln.description),
                    money_text(ln.amount) if ln.amount > 0 else "",
                    money_text(-ln.amount) if ln.amount < 0 else "",
                    csv_text(entry.payee or "") if named else "",
                    ln.currency,
                ]
            )
    return rows


def _write(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> Path:
    with atomic_target(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_package_journals(
    entries: list[Entry],
    invoicing: Invoicing,
    settings: ExportSettings,
    folder: Path,
    name: str,
) -> list[Path]:
    """The Xero files (one per currency) and the QuickBooks Online file of ``entries`` in
    ``folder``, named after ``name`` (the period); the paths written."""
    folder = Path(folder)
    written = [
        _write(folder / f"xero_manual_journal_{name}_{suffix}.csv", XERO_COLUMNS, rows)
        for suffix, rows in sorted(xero_files(entries, settings.xero.tax_rate).items())
    ]
    rows = quickbooks_rows(entries, invoicing, settings.quickbooks_online.date_format, name)
    written.append(_write(folder / f"quickbooks_journal_{name}.csv", QUICKBOOKS_COLUMNS, rows))
    return written
