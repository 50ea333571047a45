"""A finalised invoice read back from its run folder for a correction (``load_original``), and
checked against the run before a number is taken: the files' sha256 as the manifest recorded
them, the figures as the rounding rules give them from the lines, the row of
``invoice_summary.csv``, the period's rated lines, and the journal's (and beancount ledger's)
entry of the invoice."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from billing_lib.accounting_exports import (
    QUICKBOOKS_DATE_FORMAT,
    XERO_DATE_FORMAT,
    package_files,
)
from billing_lib.command_lines import arg
from billing_lib.errors import RunError
from billing_lib.invoice_files import (
    read_invoice_data,
    summary_row,
)
from billing_lib.invoice_model import Invoice, figure_problems, money_text
from billing_lib.invoicing_parameters import Seller
from billing_lib.journal_entries import Entry
from billing_lib.journal_readback import (
    beancount_postings,
    cost_entry_ids,
    read_entry,
)
from billing_lib.ledger import sales_lines
from billing_lib.money import ZERO
from billing_lib.numbering import Register, RegisterEntry
from billing_lib.numbering_records import format_number, not_final_way_out
from billing_lib.run_files import (
    CORRECTIONS,
    FINALISED_MARKER,
    INVOICE_DATA,
    RATED_PARQUET,
    REGISTER,
    SUMMARY_CSV,
    journal_name,
    ledger_name,
    outputs_problems,
    read_manifest,
)
from billing_lib.store import scratch_connection
from billing_lib.workbooks import INVOICE_FOLDER, workbook_name


@dataclass(frozen=True)
class Original:
    """A finalised invoice as its run stored it, checked: the invoice, the seller block it
    printed, its journal entry, the beancount account of each of the entry's postings, and the
    run folder."""

    invoice: Invoice
    seller: Seller
    entry: Entry
    accounts: dict[str, str]
    folder: Path
    #: the run's Xero and QuickBooks Online files holding the invoice's entry (checked)
    packages: tuple[Path, ...] = ()
    #: the date format of the run's QuickBooks file, as its manifest records it (None: not
    #: recorded, told from the file's dates)
    quickbooks_date_format: str | None = None
    #: an invoice replacing a credited one: the entries with which it moved cost
    #: (``moved_cost.moved_cost_entries``), as its journal has them (checked against its ledger)
    cost_entries: tuple[Entry, ...] = ()
    #: the date format of the run's Xero files, as its manifest records it (None: not recorded,
    #: told from the files' dates)
    xero_date_format: str | None = None


def outputs_register(output: Path) -> Register:
    """The invoice register of the runs' outputs folder ``output``; RunError naming the way out
    when there is none (a wrong folder, or a register lost beside run folders) or ``output`` is
    no folder (a typo, the default ``outputs`` where there is none, the register's file)."""
    way = (
        "--output must be the outputs folder of the billing runs (the one holding "
        "invoice_register.sqlite and the run folders)"
    )
    if not output.is_dir():
        what = "a file, not a folder" if output.exists() else "no such outputs folder"
        raise RunError(f"{output}: {what}; {way}")
    path = output / REGISTER
    if not path.is_file():
        from billing_lib.register_check import check_register_knows_folders

        check_register_knows_folders(output)  # run folders without their register: it was lost
        raise RunError(f"{path}: no invoice register here; {way}")
    return Register(path)


def invoice_entry(register: Register, invoice_number: str, then: str) -> RegisterEntry:
    """The register's entry of the invoice ``invoice_number``; RunError saying what the number
    is instead (unknown, a credit note, a void number), followed by ``then``."""
    entry = register.entry(invoice_number)
    if entry is None or entry.kind != "invoice" or entry.status == "void":
        what = (
            "unknown: the register has no such number"
            if entry is None
            else "a credit note, not an invoice"
            if entry.kind == "credit_note"
            else f"a void number, never issued ({entry.note})"
        )
        typed = _as_numbered(invoice_number)
        if entry is None and typed != invoice_number and register.entry(typed) is not None:
            what += f" (did you mean {typed}?)"
        raise RunError(f"{invoice_number}: {what} ({register.path}). {then}")
    return entry


def _as_numbered(typed: str) -> str:
    """``typed`` as the register writes its numbers: in upper case, without spaces, the number
    in six digits (``nw2026-2`` -> ``NW2026-000002``), for the "did you mean" of a refusal."""
    series, _, number = typed.strip().upper().rpartition("-")
    return (
        format_number(series, int(number)) if series and number.isdigit() else typed.strip().upper()
    )


def load_original(output: Path, invoice_number: str, register: Register) -> Original:
    """The finalised invoice ``invoice_number`` rebuilt from its run folder and checked against
    everything the run stored (see the module docstring). RunError naming the file and the
    figures when anything differs."""
    entry = invoice_entry(
        register,
        invoice_number,
        "A credit note cancels an invoice of a finalised run; the numbers are in the run's "
        "invoice_summary.csv",
    )
    folder, name = invoice_folder(Path(output), entry)
    journal, ledger = folder / journal_name(name), folder / ledger_name(name)
    in_run = entry.refers_to is None  # a reissued invoice's folder has no FINALISED marker
    if in_run and entry.status == "final" and not (folder / FINALISED_MARKER).is_file():
        raise RunError(
            f"{folder}: "
            f"{'no such folder' if not folder.is_dir() else f'no {FINALISED_MARKER} marker'}, "
            f"although the register has {invoice_number} as final: the finalised run of "
            f"{entry.period} "
            "is not there; restore it (from a backup) before issuing a credit note"
        )
    if entry.status != "final":
        raise RunError(
            f"{invoice_number} belongs to the run of {entry.period}, which is not finalised: "
            f"{not_final_way_out(entry.period, Path(output))}. Credit notes are for invoices "
            "that are final."
        )
    done = register.credit_notes_of(invoice_number)
    if done:
        raise RunError(
            f"{invoice_number} is already corrected by credit note {done[0].invoice_number} "
            "(issued "
            f"{done[0].issue_date}, {Path(output) / CORRECTIONS / done[0].invoice_number}); an "
            "invoice is credited in full only once. "
            + _after_credit(register, invoice_number, Path(output))
        )
    manifest = read_manifest(folder)
    data = folder / INVOICE_DATA
    if not data.is_file():
        raise RunError(
            f"{data}: missing; the run of {entry.period} was made before runs stored their "
            "invoices as "
            "data, so its invoices cannot be rebuilt exactly for a credit note"
        )
    outputs = manifest.get("outputs")
    recorded = [
        str(o.get("file"))
        for o in (outputs if isinstance(outputs, list) else [])
        if isinstance(o, dict)
    ]
    packages = package_files(folder, name, recorded)
    seller, invoices = read_invoice_data(data)
    invoice = invoices.get(invoice_number)
    if invoice is None:
        raise RunError(
            f"{data}: no invoice {invoice_number}, although the register gives it to period "
            f"{entry.period}"
        )
    _check_checksums(
        folder,
        manifest,
        [
            data,
            folder / SUMMARY_CSV,
            journal,
            ledger,
            folder / INVOICE_FOLDER / workbook_name(invoice),
            folder / RATED_PARQUET,
            *packages,
        ],
    )
    problems = [f"{data}: {p}" for p in figure_problems(invoice)]
    problems += _summary_problems(folder / SUMMARY_CSV, invoice)
    problems += _rated_problems(folder / RATED_PARQUET, invoice)
    sales = read_entry(journal, invoice_number)
    problems += _entry_problems(journal, sales, invoice)
    accounts = {}
    postings = beancount_postings(ledger, invoice_number)
    if [(a, c) for _, a, c in postings] != [(p.amount, p.currency) for p in sales.postings]:
        problems.append(f"{ledger}: the transaction of {invoice_number} is not the journal's entry")
    else:
        accounts = {
            p.account: name for p, (name, _, _) in zip(sales.postings, postings, strict=True)
        }
    cost_entries = []
    for cost_id in cost_entry_ids(journal, invoice_number) if not in_run else []:
        cost = read_entry(journal, cost_id)
        booked = beancount_postings(ledger, cost_id)
        if [(a, c) for _, a, c in booked] != [(p.amount, p.currency) for p in cost.postings]:
            problems.append(f"{ledger}: the transaction of {cost_id} is not the journal's entry")
            continue
        accounts |= {p.account: name for p, (name, _, _) in zip(cost.postings, booked, strict=True)}
        cost_entries.append(cost)
    if problems:
        raise RunError(
            f"{invoice_number}: the invoice rebuilt from {folder} is not the one issued; no credit "
            "note "
            "was issued:\n  - " + "\n  - ".join(problems)
        )
    date_format = manifest.get(QUICKBOOKS_DATE_FORMAT)
    return Original(
        invoice,
        seller,
        sales,
        accounts,
        folder,
        tuple(packages),
        date_format,
        tuple(cost_entries),
        manifest.get(XERO_DATE_FORMAT),
    )


def _after_credit(register: Register, invoice_number: str, output: Path) -> str:
    """The way out of a second credit note for ``invoice_number``: bill what is owed with
    ``billing reissue``, or, where an invoice replaces it already, correct that one."""
    replaced = register.replacements_of(invoice_number)
    if replaced:
        number = replaced[0].invoice_number
        return (
            f"Since it is replaced by invoice {number}, correct that one: billing credit-note "
            f"--output {arg(output)} --invoice {number}"
        )
    return (
        "What is still owed is billed by a new invoice replacing it: billing reissue --output "
        f"{arg(output)} --invoice {invoice_number}"
    )


def invoice_folder(output: Path, entry: RegisterEntry) -> tuple[Path, str]:
    """The folder holding the invoice ``entry`` of the register, and the name its journal,
    ledger and package files carry: the run folder of its period and the period, or
    ``corrections/<number>/`` and the number for an invoice that replaces a credited one
    (``billing reissue``)."""
    if entry.refers_to is None:
        return output / entry.period, entry.period
    return output / CORRECTIONS / entry.invoice_number, entry.invoice_number


def _check_checksums(folder: Path, manifest: dict, files: list[Path]) -> None:
    """RunError when a file is missing or differs from the sha256 the run's manifest recorded."""
    problems = outputs_problems(folder, manifest, files)
    if problems:
        raise RunError(
            f"{folder}: the finalised run is not as it was published; no credit note was "
            "issued:\n  - " + "\n  - ".join(problems)
        )


def _summary_problems(path: Path, invoice: Invoice) -> list[str]:
    """The rebuilt figures against the invoice's row of ``invoice_summary.csv``, to the cent."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["invoice_number"] == invoice.number]
    if len(rows) != 1:
        return [f"{path}: {len(rows)} rows for {invoice.number}, expected one"]
    row = rows[0]
    rebuilt = summary_row(invoice)
    differ = [
        f"{col} {value} (rebuilt) vs {row[col]} ({path.name})"
        for col, value in rebuilt.items()
        if value != row[col]
    ]
    return [f"{path}: " + "; ".join(differ)] if differ else []


def _rated_problems(path: Path, invoice: Invoice) -> list[str]:
    """The invoice's lines against the run's rated lines: per product group, the unrounded sum
    and the number of rated lines."""
    with scratch_connection() as con:
        rated = {
            g: (a, n)
            for g, a, n in con.execute(
                "SELECT product_group, sum(amount), count(*) FROM read_parquet(?) WHERE period = ? "
                "AND customer_id = ? "
                "GROUP BY ALL",
                [str(path), invoice.period, invoice.customer_id],
            ).fetchall()
        }
    lines: dict[str, tuple[Decimal, int]] = {}
    for ln in invoice.lines:
        a, n = lines.get(ln.product_group, (ZERO, 0))
        lines[ln.product_group] = (a + ln.unrounded_amount, n + ln.rated_lines)
    if rated != lines:
        return [
            (
                f"{path}: the rated lines of {invoice.customer_id} per product group are "
                f"{_fmt(rated)}; "
                f"the invoice's lines sum to {_fmt(lines)}"
            )
        ]
    return []


def _fmt(sums: dict[str, tuple[Decimal, int]]) -> str:
    return (
        ", ".join(f"{g} {a.normalize():f} ({n} lines)" for g, (a, n) in sorted(sums.items()))
        or "nothing"
    )


def _entry_problems(journal: Path, entry: Entry, invoice: Invoice) -> list[str]:
    """The invoice's journal entry against its figures: the receivable first (= gross), then a
    credit per product group (= its subtotal) and per VAT line, worded as ``ledger.sales_lines``
    words them (the receivable's wording names the buyer and is not compared); its VAT in the
    national currency the invoice's (``Invoice.national_vat``), where the journal states it."""
    want = [
        ("receivable" if i == 0 else line.description, line.amount, invoice.currency)
        for i, line in enumerate(sales_lines(invoice))
    ]
    have = [
        ("receivable" if i == 0 else p.description, p.amount, p.currency)
        for i, p in enumerate(entry.postings)
    ]
    if have != want or entry.customer_id != invoice.customer_id or entry.date != invoice.issue_date:
        return [
            (
                f"{journal}: the entry of {invoice.number} is {_postings(have)}; the invoice "
                f"gives {_postings(want)}"
            )
        ]
    stated, rate = invoice.national_vat, entry.national
    if stated is None or rate is None:  # a journal written before its national columns
        return []
    vat = -sum(
        (
            p.national or Decimal(0)
            for p, line in zip(entry.postings, sales_lines(invoice), strict=True)
            if line.vat
        ),
        Decimal(0),
    )
    if (vat, rate.currency, rate.rate) != (stated.amount, stated.currency, stated.rate):
        return [
            f"{journal}: the entry of {invoice.number} states its VAT as {rate.currency} "
            f"{money_text(vat)} at {rate.rate}; the invoice as {stated.currency} "
            f"{money_text(stated.amount)} at {stated.rate}"
        ]
    return []


def _postings(items: list[tuple[str, Decimal, str]]) -> str:
    return "; ".join(f"{d} {money_text(a)} {c}" for d, a, c in items)
