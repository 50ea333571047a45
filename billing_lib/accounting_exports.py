"""The run's journal entries in the import layouts of two accounting packages, beside the generic
CSV journal and the beancount ledger (billing_lib.ledger): the same balanced entries, the same
cents, in the columns, date format, decimal separator and sign convention each package documents.

- **Xero, manual journal import** (Accounting > Manual Journals > Import; help.xero.com
  "Add or post multiple manual journals"): the template's columns ``*Narration, *Date,
  Description, *AccountCode, *TaxRate, *Amount, TrackingName1, TrackingOption1, TrackingName2,
  TrackingOption2`` (``*`` = mandatory); date ``dd/mm/yyyy`` as Xero's help documents it, or
  ``mm/dd/yyyy`` for a US organisation (Xero reads the dates as the organisation's regional
  settings write them; ``xero.date_format``, as QuickBooks' below); one signed ``Amount`` per line,
  positive = debit, negative = credit, decimal point; rows with the same narration and date make
  one journal; at most 300 lines per file; the tax rate by its full name as in Xero's tax
  settings. A manual journal is in the organisation's base currency. With ``base_currency`` set
  in ``accounting_exports.yaml`` there is one file in it, and the entries in other currencies (a
  USD invoice, the AWS bill in USD) are converted at exchange_rates.csv's rate on the period's
  last day, each line rounded half-up and the cents the roundings leave on a line of the
  rounding account (products.yaml ``rounding_account``, 7099, where the ledger books its
  rounding), so each journal still balances; the line's description keeps the amount in its own
  currency and the rate. Without it, one file per currency
  (``xero_manual_journal_<period>_<currency>.csv``, for an organisation in that currency).
  ``_2``, ``_3``... when an entry would cross the 300-line limit; an entry of more than 300
  lines as journals of parts, carried from one to the next on the rounding account
  (``_xero_parts``). Every line carries the
  ``tax_rate`` of ``accounting_exports.yaml`` (default "No VAT"), since the entries post their
  VAT on lines of their own.
- **QuickBooks Online, journal entries import** (Settings > Import data > Journal entries;
  Intuit help "Import journal entries"): columns ``Journal No., Journal Date, Account Name,
  Description, Debits, Credits, Name, Currency Code, Exchange Rate``; an entry in another
  currency than the home currency with the rate the journal states it at (``quickbooks_rate``),
  which QuickBooks would otherwise take from its own list (or 1), and the rows that make
  QuickBooks' own conversion of each row add up to the journal's home-currency amounts
  (``rounding_postings``); one journal per Journal No.
  (at most 21 characters: the entry's id, a longer one shortened with a digest of it,
  ``journal_number``, so the same entry has the same number in every run); debit and credit
  as positive amounts, one of them empty; the account by its name (products.yaml
  ``accounts``; ``load_invoicing`` refuses two codes of one name, which QuickBooks would
  merge), the receivable and payable accounts in an entry in another currency than the
  company file's home currency as ``<name> - <currency>`` (QuickBooks keeps A/R and A/P per
  currency; ``quickbooks_account``); the customer's name on receivable lines and the vendor's
  on payable lines (QuickBooks requires a Name on A/R and A/P lines; a name past QuickBooks'
  100 characters, or with a character it refuses or reads as a sub-customer's path, a colon,
  rewritten and given a digest of it, ``quickbooks_name``; in an entry in another currency
  than the home currency "<name> - <currency>", QuickBooks keeping a contact per currency, and
  a customer named like a vendor "<name> (customer)", QuickBooks keeping one name across
  customers and vendors: ``quickbooks_contact``); date ``dd/mm/yyyy`` by
  default (``%m/%d/%Y`` for a US company file).

Text a spreadsheet would read as a formula gets an apostrophe before it (``journal_files.csv_text``)
in the free-text columns (narration, description), not in QuickBooks' ``Name``: QuickBooks matches
that cell, as it is, to a customer or vendor of the company file, so "'@EasePay B.V." named no
customer of "@EasePay B.V.". The files are for the packages' importers, which read every cell as
text; a file opened in a spreadsheet first may read such a name as a formula.
"""

from __future__ import annotations

import csv
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import Field

from billing_lib.errors import ParameterError, RunError
from billing_lib.fx import ExchangeRates
from billing_lib.invoices import Invoicing, money_text
from billing_lib.journal_entries import Entry, Posting
from billing_lib.journal_files import csv_text, reworded
from billing_lib.money import round_money
from billing_lib.parameter_files import Strict, load_optional
from billing_lib.pricing.rules import Currency
from billing_lib.quickbooks_journal import (
    EARLIER_QUICKBOOKS_COLUMNS,
    QUICKBOOKS_COLUMNS,
    journal_number,
    quickbooks_rows,
    rounding_reversed,
)
from billing_lib.run_files import atomic_target
from billing_lib.xero_layout import (
    XERO_COLUMNS,
    XERO_MAX_LINES,
    files_by_suffix,
    journal_narration,
    pack_journal,
)
from billing_lib.xero_reversal import xero_part, xero_reversed, xero_reversed_files

SETTINGS_FILE = "accounting_exports.yaml"
#: The manifest key (a run's, a reissued invoice's) of its QuickBooks file's date format.
QUICKBOOKS_DATE_FORMAT = "quickbooks_date_format"
#: The same of its Xero files' date format.
XERO_DATE_FORMAT = "xero_date_format"
#: The date formats the packages' imports read: day first (UK, AU, NZ, CA...) or month first
#: (a US organisation or company file).
DATE_FORMATS = r"^(%d/%m/%Y|%m/%d/%Y)$"


class XeroSettings(Strict):
    #: Xero tax rate name on every line (the entries carry VAT on lines of their own).
    tax_rate: str = Field(default="No VAT", min_length=1)
    #: The organisation's base currency: one file in it, other currencies converted (module
    #: docstring); None: one file per currency.
    base_currency: Currency | None = None
    #: strftime format of ``*Date``: %d/%m/%Y (as Xero's help documents; UK, AU, NZ...) or
    #: %m/%d/%Y (a US organisation, whose import reads the dates month first).
    date_format: str = Field(default="%d/%m/%Y", pattern=DATE_FORMATS)


@dataclass(frozen=True)
class Conversion:
    """How entries in other currencies become the base currency's: exchange_rates.csv's rate
    on ``day`` (the period's last day), the cents of rounding on ``rounding_account``
    (products.yaml ``rounding_account``, where the ledger books its rounding)."""

    base: str
    day: date
    rates: ExchangeRates
    rounding_account: str

    def rate(self, currency: str) -> Decimal:
        """The rate from ``currency`` to the base currency on ``day``; a ParameterError saying
        the Xero journal needs it when exchange_rates.csv has none."""
        try:
            return self.rates.rate(currency, self.base, self.day)
        except ParameterError:
            day = self.day.isoformat()
            raise ParameterError(
                self.rates.path,
                f"{currency}->{self.base} on {day}",
                f"the Xero journal is in the base currency {self.base} (accounting_exports.yaml "
                f"xero.base_currency) and converts the {currency} entries at the rate of the "
                f"period's last day, but no rate from {currency} to {self.base} is valid on "
                f"{day}; add a row '{currency},{self.base},<rate>,<valid_from>,<valid_to>,"
                "<source>' covering it",
            ) from None

    def entry(self, entry: Entry) -> Entry:
        """``entry`` in the base currency: each posting converted and rounded half-up, and the
        cents the roundings leave on a posting of its own to the rounding account, so it still
        balances and every other line is its own amount converted (left on the largest line, a
        credit balance's cent landed on a revenue line, its largest). An entry in the base
        currency as it is. An entry stated in the base currency at a rate of its own
        (``Entry.national``: a reissue's cost move, at the rate the month's purchase entry
        booked the cost at) is booked as the CSV journal states it: each row its national
        amount (``in_national``: converted, but a VAT row the invoice's VAT in the national
        currency, which the row converted by itself missed by a cent). ParameterError for a
        missing rate."""
        if all(p.currency == self.base for p in entry.postings):
            return entry
        own = entry.national if entry.national and entry.national.currency == self.base else None
        converted: list[Posting] = []
        for p in entry.postings:
            if p.currency == self.base:
                converted.append(p)
                continue
            rate = own.rate if own is not None else self.rate(p.currency)
            stated = p.national if own is not None else None  # the VAT row: the invoice's VAT
            converted.append(
                replace(
                    p,
                    amount=round_money(p.amount * rate, self.base) if stated is None else stated,
                    currency=self.base,
                    description=f"{p.description} ({p.currency} {money_text(p.amount)} at {rate})",
                )
            )
        rest = sum((p.amount for p in converted), Decimal(0))
        if rest:
            converted.append(
                Posting(
                    self.rounding_account,
                    -rest,
                    self.base,
                    f"Rounding differences converting to {self.base} on {self.day.isoformat()}",
                )
            )
        return replace(entry, postings=tuple(converted))


def conversion_of(
    settings: ExportSettings, period_end: date, rates: ExchangeRates, invoicing: Invoicing
) -> Conversion | None:
    """The Xero journal's conversion into ``settings``' base currency at the rates of the
    period's last day ``period_end``, its rounding on ``invoicing``'s rounding account; None when
    no base currency is set (a file per currency)."""
    base = settings.xero.base_currency
    rounding = invoicing.products.rounding_account
    return Conversion(base, period_end, rates, rounding) if base else None


class QuickBooksSettings(Strict):
    #: strftime format of Journal Date: %d/%m/%Y (UK, AU, CA...) or %m/%d/%Y (US).
    date_format: str = Field(default="%d/%m/%Y", pattern=DATE_FORMATS)
    #: The company file's home currency; None: the seller's national currency. An entry in
    #: another currency names its A/R and A/P accounts "<name> - <currency>"
    #: (``quickbooks_account``).
    home_currency: Currency | None = None


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


def xero_files(
    entries: list[Entry],
    tax_rate: str,
    conversion: Conversion | None = None,
    date_format: str = "%d/%m/%Y",
    carry_account: str | None = None,
) -> dict[str, list[list[str]]]:
    """Rows of the Xero manual-journal files per currency (all in ``conversion``'s base currency
    when given), dated in ``date_format``: a list of files (each a list of rows without the
    header), a journal never split between two files; an entry of more lines than a file holds
    as journals of parts (``_xero_parts``, carried on ``carry_account``)."""
    if conversion is not None:
        entries = [conversion.entry(e) for e in entries]
    files: dict[str, list[list[list[str]]]] = {}
    for entry in entries:
        by_currency: dict[str, list[_Line]] = {}
        for ln in _lines(entry):
            by_currency.setdefault(ln.currency, []).append(ln)
        for currency, lines in by_currency.items():
            for narration, part in _xero_parts(entry, lines, carry_account):
                rows = [
                    [
                        csv_text(narration),
                        entry.date.strftime(date_format),
                        csv_text(ln.description),
                        ln.account,
                        tax_rate,
                        money_text(ln.amount),
                        "",
                        "",
                        "",
                        "",
                    ]
                    for ln in part
                ]
                pack_journal(files.setdefault(currency, [[]]), rows)
    return files_by_suffix(files)


def _xero_parts(
    entry: Entry, lines: list[_Line], carry_account: str | None
) -> list[tuple[str, list[_Line]]]:
    """``entry``'s journal (narration, lines): one, or where its lines are more than a Xero file
    holds (a vendor bill of 300 invoices, a payable line each) its lines in order in parts
    "<narration> (part 1 of 2)"..., each a journal of its own: one would exceed the file, and a
    journal split between files would not balance in either. Each part but the last ends with
    a line on ``carry_account`` (the rounding account) carrying what it leaves unbalanced to the
    next, which opens with the opposite line, so every part balances and the carried lines net
    to 0 on that account. A RunError naming the entry where a part is needed and no account is
    given."""
    narration = journal_narration(entry)
    if len(lines) <= XERO_MAX_LINES:
        return [(narration, lines)]
    if carry_account is None:
        raise RunError(
            f"the Xero journal of entry {entry.entry_id} has {len(lines)} lines, more than "
            f"the {XERO_MAX_LINES} a Xero import file holds, and no account is given to carry "
            "its parts on"
        )
    size = XERO_MAX_LINES - 2  # room for the lines carried in and out
    chunks = [lines[i : i + size] for i in range(0, len(lines), size)]
    out: list[tuple[str, list[_Line]]] = []
    carried = Decimal(0)
    for n, chunk in enumerate(chunks, start=1):
        part = list(chunk)
        of = f"of {len(chunks)}"
        if carried:
            text = f"{entry.entry_id} carried from part {n - 1} {of}"
            part.insert(0, _Line(entry, carry_account, carried, chunk[0].currency, text))
        carried += sum((ln.amount for ln in chunk), Decimal(0))
        if n < len(chunks) and carried:
            text = f"{entry.entry_id} carried to part {n + 1} {of}"
            part.append(_Line(entry, carry_account, -carried, chunk[0].currency, text))
        out.append((f"{narration} (part {n} {of})", part))
    return out


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
    conversion: Conversion | None = None,
    rates: ExchangeRates | None = None,
) -> list[Path]:
    """The Xero files (one per currency, or one in ``conversion``'s base currency) and the
    QuickBooks Online file of ``entries`` in ``folder``, named after ``name`` (the period); the
    paths written. ``rates``: the run's exchange rates, for QuickBooks' rate of an entry to a
    home currency other than the national one (``quickbooks_rate``)."""
    folder = Path(folder)
    xero = xero_files(
        entries,
        settings.xero.tax_rate,
        conversion,
        settings.xero.date_format,
        invoicing.products.rounding_account,
    )
    written = [
        _write(folder / f"xero_manual_journal_{name}_{suffix}.csv", XERO_COLUMNS, rows)
        for suffix, rows in sorted(xero.items())
    ]
    qbo = settings.quickbooks_online
    rows = quickbooks_rows(entries, invoicing, qbo.date_format, name, qbo.home_currency, rates)
    written.append(_write(folder / f"quickbooks_journal_{name}.csv", QUICKBOOKS_COLUMNS, rows))
    return written


# -- a credit note's entry in the packages' layouts, reversed from the run's own files -----------


def package_files(folder: Path, name: str, recorded: Iterable[str] = ()) -> list[Path]:
    """The Xero and QuickBooks Online files ``write_package_journals`` wrote in ``folder`` for
    ``name`` (a period, or a reissued invoice's number): those that are there, and those among
    ``recorded`` (the file names the folder's manifest lists) that are not, so that a lost file
    is named rather than its reversal left out."""
    folder = Path(folder)
    xero = f"xero_manual_journal_{name}_*.csv"
    quickbooks = f"quickbooks_journal_{name}.csv"
    there = {
        *folder.glob(xero),
        *([folder / quickbooks] if (folder / quickbooks).is_file() else []),
    }
    listed = {folder / f for f in recorded if f == quickbooks or fnmatch.fnmatchcase(f, xero)}
    found = sorted(there | listed)
    return [
        *(p for p in found if p.name != quickbooks),
        *(p for p in found if p.name == quickbooks),
    ]


def write_reversed_packages(
    files: list[Path],
    original: Entry,
    reversal: Entry,
    folder: Path,
    date_format: str | None = None,
    more: Iterable[tuple[Entry, Entry]] = (),
    xero_date_format: str | None = None,
) -> list[Path]:
    """The rows of ``original``'s entry in the run's package ``files`` (``package_files``),
    reversed for ``reversal`` (a credit note's entry) into ``folder``: the same accounts, tax
    rates, names and amounts (in Xero's base currency as the run converted them) with the signs
    swapped, dated and numbered as the credit note, its receivable line worded as the credit
    note's journal words it. The QuickBooks dates are written in ``date_format``, the one the
    original's file was written in (its manifest's ``QUICKBOOKS_DATE_FORMAT``); a folder from
    before manifests recorded it has it told from the file's dates. The Xero dates likewise in
    ``xero_date_format`` (the manifest's ``XERO_DATE_FORMAT``), else as the file's dates tell
    (a run's purchase entries dated the period's last day). An entry the run split into Xero
    journals of parts (``_xero_parts``) is reversed part by part, each part still a journal
    that balances, in files of at most ``XERO_MAX_LINES`` (``xero_reversal``). An entry
    that is not in a file gives no file. ``more``: further (entry, reversal) pairs reversed into
    the same files (a reissued invoice's cost moves, ``moved_cost.moved_cost_entries``; their
    Xero rows found by their narration, which starts with the entry's id)."""
    written = []
    pairs = [(original, reversal), *more]
    # the Xero rows of each pair per currency, over all the currency's files (an entry's parts
    # may be in two), with their part number, reversed and written once all are read
    xero: dict[str, list[list[tuple[int, list[str]]]]] = {}
    for path in files:
        with open(path, newline="", encoding="utf-8") as fh:
            header, *found = list(csv.reader(fh))
        if tuple(header) == XERO_COLUMNS:
            xero_form = xero_date_format or _date_format([r[1] for r in found], original.date)
            # the file's currency (``..._EUR.csv``, or ``..._EUR_2.csv`` past 300 lines)
            currency = _XERO_CURRENCY.search(path.stem)
            suffix = currency.group(1) if currency else path.stem.rsplit("_", 1)[-1]
            mine = xero.setdefault(suffix, [[] for _ in pairs])
            for n, (was, now) in enumerate(pairs):
                mine[n] += [
                    (part, xero_reversed(r, was, now, xero_form))
                    for r in found
                    for part in [xero_part(r[0], was)]
                    if part is not None
                ]
            continue
        rows = []
        if tuple(header) in (QUICKBOOKS_COLUMNS, EARLIER_QUICKBOOKS_COLUMNS):
            form = date_format or _date_format([r[1] for r in found], original.date)
            for was, now in pairs:
                receivable = (was.postings[0].description, now.postings[0].description)
                number = journal_number(now.entry_id)
                rows += [
                    [
                        number,
                        now.date.strftime(form),
                        r[2],
                        reworded(r[3], receivable) if i == 0 else rounding_reversed(r[3]),
                        r[5],
                        r[4],
                        *r[6:],
                    ]
                    for i, r in enumerate(r for r in found if r[0] == journal_number(was.entry_id))
                ]
            target = Path(folder) / f"quickbooks_journal_{reversal.entry_id}.csv"
        else:
            raise ParameterError(path, None, f"not a Xero or QuickBooks journal file: {header}")
        if rows:
            written.append(_write(target, tuple(header), rows))
    reversed_xero = [
        _write(
            Path(folder) / f"xero_manual_journal_{reversal.entry_id}_{suffix}.csv",
            XERO_COLUMNS,
            rows,
        )
        for suffix, rows in sorted(xero_reversed_files(xero, pairs).items())
    ]
    return [*reversed_xero, *written]


#: The currency at the end of a Xero file's name, before a part number (``_EUR``, ``_EUR_2``).
_XERO_CURRENCY = re.compile(r"_([A-Z]{3})(?:_\d+)?$")


def _date_format(dates: list[str], known: date) -> str:
    """The QuickBooks file's date format: the one every date of the file parses in (a period's
    last day, in every purchase entry, tells them apart), else the one the ``known`` date of the
    entry is written in, else the default."""
    forms = ("%d/%m/%Y", "%m/%d/%Y")

    def parses(text: str, form: str) -> bool:
        try:
            datetime.strptime(text, form)
        except ValueError:
            return False
        return True

    fitting = [f for f in forms if all(parses(d, f) for d in dates)]
    if len(fitting) == 1:
        return fitting[0]
    written = [f for f in fitting if known.strftime(f) in dates]
    return written[0] if len(written) == 1 else forms[0]
