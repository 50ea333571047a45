"""Corrections after finalising: a credit note that cancels one finalised invoice in full.

``billing credit-note --output DIR --invoice NW2026-000002`` calls ``issue_credit_note``. What a
finalised run stored is the only source: the invoice comes back from the run folder's
``invoices.json`` (the very objects the workbooks, ``invoice_summary.csv`` and the journal were
written from), never from today's parameters, which may have changed since. Before a number is
taken, the rebuilt invoice is checked against the run: the files carry the sha256 the run's
manifest recorded, the figures follow from the lines by the rounding rules, they equal the row of
``invoice_summary.csv`` to the cent, the lines sum to the period's rated lines, and the journal's
entry of the invoice is the one its figures give (and the beancount ledger says the same):
``original_invoice``.

The credit note negates every line, VAT line and total (no new rounding: the cents are the
original's), is numbered in the credit-note series of its issue year, refers to the original, and
is written with a reversing journal entry into ``DIR/corrections/<credit note number>/``. The
command holds the lock of the outputs folder throughout (``billing_lib.locking``). All files are
written into a staging folder with the next number of the series (read, not yet recorded); the
register records the plan, the folder is renamed into place, and only then is the number
recorded. A failure at any point leaves no folder and no number used; a kill between the last two
steps is finished by the next run or credit note (``billing_lib.recovery``). The finalised run
folder is only read.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from billing_lib.accounting_exports import (
    write_reversed_packages,
)
from billing_lib.correction_batches import NOT_ISSUED, issued_in_turn
from billing_lib.documents import write_documents
from billing_lib.errors import ParameterError, RunError
from billing_lib.faults import pause_point
from billing_lib.interrupts import held_off
from billing_lib.invoice_files import (
    summary_row,
    write_invoice_data,
    write_invoice_summary,
)
from billing_lib.invoice_model import Invoice, negated
from billing_lib.invoice_pdf import logo_path
from billing_lib.journal_entries import reversing_entry
from billing_lib.journal_files import write_beancount_file, write_csv_journal
from billing_lib.journal_readback import (
    beancount_problems,
)
from billing_lib.ledger import sales_narration
from billing_lib.locking import OutputLock, held
from billing_lib.numbering import Register, check_dated_in_order
from billing_lib.original_invoice import Original, load_original, outputs_register
from billing_lib.printed_texts import clean_text
from billing_lib.publishing import checksums, package_versions, writing
from billing_lib.run_files import (
    CORRECTIONS,
    CREDIT_NOTE_DATA,
    INVOICE_DATA,
    MANIFEST,
    SUMMARY_CSV,
    journal_name,
    ledger_name,
    read_manifest,
)
from billing_lib.run_parameters import issued_too_far_ahead
from billing_lib.workbooks import workbook_name, write_credit_note_workbook


@dataclass(frozen=True)
class IssuedCreditNote:
    """A credit note as issued: the note, the invoice it cancels and the folder written."""

    note: Invoice
    original: Invoice
    folder: Path
    files: tuple[Path, ...]
    #: what was cleaned up from killed runs before the credit note was issued
    cleaned: tuple[str, ...] = ()


def issue_credit_note(
    output: Path,
    invoice_number: str,
    issue_date: date | None = None,
    reason: str | None = None,
    *,
    before_publish: Callable[[Path], None] | None = None,
    wait: float = 0,
) -> IssuedCreditNote:
    """Cancel the finalised invoice ``invoice_number`` of the runs in ``output`` with a credit
    note dated ``issue_date`` (default today), giving ``reason`` on it; written into
    ``output/corrections/<number>/``. Holds the lock of ``output`` throughout (refused when a run
    holds it, or after waiting ``wait`` seconds). RunError, with nothing written and no number
    used, when the invoice is unknown, its run is not finalised, it already has a credit note, or
    the run folder does not give back the invoice as issued. ``before_publish`` (tests) is called
    with the staging folder just before it is renamed into place."""
    return issue_credit_notes(
        output, [invoice_number], issue_date, reason, before_publish=before_publish, wait=wait
    )[0]


def issue_credit_notes(
    output: Path,
    invoice_numbers: list[str],
    issue_date: date | None = None,
    reason: str | None = None,
    *,
    before_publish: Callable[[Path], None] | None = None,
    wait: float = 0,
) -> list[IssuedCreditNote]:
    """``issue_credit_note`` for each of ``invoice_numbers`` under one lock, numbered in the
    order given; every invoice is rebuilt and checked before the first credit note is issued, so
    a refusal of any issues none (a group of invoices to correct, ``billing reissue`` then
    replaces them at once)."""
    output = Path(output)
    if not invoice_numbers or len(set(invoice_numbers)) != len(invoice_numbers):
        raise RunError(f"give each invoice to credit once; got {invoice_numbers}")
    issued = issue_date or date.today()
    with holding_output(output, wait) as (lock, cleaned):
        register = outputs_register(output)
        # each rebuilt and checked first (its files hashed once): all or none
        originals = [_credited_original(output, n, issued, register) for n in invoice_numbers]
        done = issued_in_turn(
            originals,
            invoice_numbers,
            lambda original: _issue(
                output, register, original, issued, reason, lock.run_id, before_publish
            ),
            lambda d: (
                f"credit note {d.note.number} was issued for invoice {d.original.number} "
                f"in {d.folder}"
            ),
            "credit-note",
        )
    return [replace(d, cleaned=tuple(cleaned)) if k == 0 else d for k, d in enumerate(done)]


@contextmanager
def holding_output(output: Path, wait: float) -> Iterator[tuple[OutputLock, list[str]]]:
    """The lock of the runs' outputs folder ``output`` (this process's own when it holds it
    already), and what was cleaned up from killed runs on taking it; released at the end when
    taken here. RunError for a folder that is not the runs' outputs folder."""
    from billing_lib.recovery import open_output

    outputs_register(output)  # a clear error for a folder that is not the runs' outputs folder
    existing = held(output)
    if existing is not None:
        yield existing, []
        return
    lock, cleaned = open_output(output, wait=wait, create=False)
    try:
        yield lock, cleaned
    finally:
        lock.release()


def _issue(
    output: Path,
    register: Register,
    original: Original,
    issued: date,
    reason: str | None,
    run_id: str,
    before_publish: Callable[[Path], None] | None,
) -> IssuedCreditNote:
    """The credit note of the checked ``original``, numbered and published."""
    # one line, as every document prints it: a reason pasted with a line break or a tab made the
    # PDF draw boxes and the e-invoice's note hold them (``printed_texts.clean_text``)
    reason = clean_text(reason)
    inv = original.invoice
    invoice_number = inv.number
    series = f"{original.seller.credit_note_series}{issued.year}"
    number = register.credit_note_number(series, invoice_number)
    note = negated(inv, number, issued, reason)
    plan = {
        "kind": "credit_note",
        "series": series,
        "number": number,
        "refers_to": invoice_number,
        "issue_date": issued.isoformat(),
        "note": reason,
    }
    target, files = publish_correction(
        output,
        register,
        run_id,
        plan,
        lambda staging: _write(staging, note, original, run_id),
        before_publish,
    )
    return IssuedCreditNote(note, inv, target, tuple(files))


def _credited_original(
    output: Path, invoice_number: str, issued: date, register: Register
) -> Original:
    """The invoice ``invoice_number`` rebuilt and checked (``load_original``), and a credit
    note for it dated ``issued`` not before it; RunError otherwise."""
    original = load_original(output, invoice_number, register)
    if issued < original.invoice.issue_date:
        raise RunError(
            f"{invoice_number} was issued on {original.invoice.issue_date}; a credit note cannot "
            f"be dated {issued} (before it)"
        )
    ahead = issued_too_far_ahead(issued)
    if ahead:
        raise RunError(f"a credit note for {invoice_number}: {ahead}")
    series = f"{original.seller.credit_note_series}{issued.year}"
    check_dated_in_order(register, series, issued, f"the credit note for {invoice_number}")
    return original


def publish_correction(
    output: Path,
    register: Register,
    run_id: str,
    plan: dict,
    write: Callable[[Path], list[Path]],
    before_publish: Callable[[Path], None] | None,
) -> tuple[Path, list[Path]]:
    """Publish a credit note or reissued invoice (``plan``: what the register records) as
    ``output/corrections/<number>/``: ``write`` fills a staging folder (a scratch folder beside
    it, ``<staging>-work``, is removed with it), the register records the plan, the folder is
    renamed into place, and only then is the number recorded. A failure at any point leaves no
    folder and no number used; a kill after the rename is finished by the next command
    (``recovery``); Ctrl-C is held off from the plan to the number recorded
    (``interrupts.held_off``). The folder and its files."""
    number = str(plan["number"])
    corrections = output / CORRECTIONS
    # named as the folder it becomes (``writing_error``); removed by the next run when killed
    staging = corrections / f".staging-{number}-{secrets.token_hex(4)}"
    target = corrections / number
    point = str(plan["kind"]).replace("_", "-")
    published: Path | None = None
    begun = False
    try:
        # a read-only corrections/ or a full disk: named, with the way out (it was a traceback)
        with writing(staging, NOT_ISSUED):
            corrections.mkdir(parents=True, exist_ok=True)
            staging.mkdir()
            files = write(staging)
        if target.exists():
            raise RunError(
                f"{target} exists although the register never issued {number}; the register and "
                f"the corrections folder disagree: move that folder aside and check the register"
            )
        if before_publish is not None:
            before_publish(staging)
        lock = held(output)
        if lock is not None:  # still the folder it locked
            lock.check()
        with held_off(_issued(plan, target)):
            register.begin_publishing(run_id, f"{CORRECTIONS}/{number}", plan)
            begun = True
            pause_point(f"{point}-publishing-begun")
            staging.rename(target)
            published = target
            pause_point(f"{point}-moved-in")
            register.commit_publishing(run_id)
            begun = False
            published = None  # issued: an interrupt held off till now leaves it in place
    except BaseException:
        if published is not None:  # the register could not record it: take the folder back
            shutil.rmtree(published, ignore_errors=True)
        if begun:
            register.abandon_publishing(run_id)
        raise
    finally:
        for scratch in (staging, staging.with_name(staging.name + "-work")):
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)
    return target, [target / f.relative_to(staging) for f in files]


def _issued(plan: dict, target: Path) -> str:
    """What publishing the correction ``plan`` in ``target`` did, for an interrupt's message."""
    kind = "credit note" if plan["kind"] == "credit_note" else "invoice"
    verb = "issued for invoice" if plan["kind"] == "credit_note" else "issued replacing invoice"
    return f"{kind} {plan['number']} was {verb} {plan['refers_to']} in {target}"


def _logo(original: Original) -> Path | None:
    """The seller's logo for the credit note's PDF: the file the corrected run's parameters
    folder holds (its manifest names it), or None when it is no longer there."""
    if not original.seller.logo:
        return None
    folder = read_manifest(original.folder).get("parameters", {}).get("parameters")
    try:
        return logo_path(original.seller, Path(folder)) if folder else None
    except ParameterError:
        return None


def _write(folder: Path, note: Invoice, original: Original, run_id: str) -> list[Path]:
    """Every file of the credit note into ``folder``: workbook, PDF and UBL e-invoice, summary
    row, the note as data, the reversing journal entry (CSV and beancount, checked by beancount's
    loader; Xero and QuickBooks Online as the run's files had the invoice) and a manifest."""
    inv = original.invoice
    kind = f"Credit note {note.number}"
    entry = reversing_entry(
        original.entry,
        note.number,
        note.issue_date,
        inv.buyer.name,
        f"{kind} period {note.period} corrects {inv.number}",
        f"{kind} corrects {inv.number} {inv.buyer.name}",
    )
    if any(entry.balance().values()) or entry.postings[0].amount != note.gross:
        raise RunError(
            f"{kind}: the reversing entry does not carry the credit note's total {note.gross}"
        )
    # a reissued invoice's cost moves undone: its lines' cost back where it was booked before
    costs = [
        (
            cost,
            replace(
                reversing_entry(
                    cost,
                    cost.entry_id.replace(f"COST-{inv.number}-", f"COST-{note.number}-", 1),
                    note.issue_date,
                    "",
                    f"reverses {cost.entry_id} (credit note {note.number} cancels {inv.number})",
                    cost.postings[0].description,
                ),
                invoice_number=None,
            ),
        )
        for cost in original.cost_entries
    ]
    files = [
        write_credit_note_workbook(note, original.seller, folder / workbook_name(note)),
        *write_documents([note], original.seller, folder, None, _logo(original)),
        write_invoice_summary([note], folder / SUMMARY_CSV),
        write_invoice_data([note], original.seller, folder / CREDIT_NOTE_DATA),
        write_csv_journal(
            [entry, *(c for _, c in costs)], None, folder / journal_name(note.number)
        ),
        write_beancount_file(
            [entry, *(c for _, c in costs)],
            original.seller.name,
            original.accounts,
            folder / ledger_name(note.number),
            f"credit note {note.number}",
        ),
    ]
    problems = beancount_problems(files[-1])
    if problems:
        raise RunError(f"{files[-1]}: beancount refuses the credit note's ledger: {problems}")
    # the invoice's entry as the run booked it, with the narration its package files carry
    booked = replace(original.entry, payee=inv.buyer.name, narration=sales_narration(inv))
    files += write_reversed_packages(
        list(original.packages),
        booked,
        entry,
        folder,
        original.quickbooks_date_format,
        costs,
        original.xero_date_format,
    )
    manifest = {
        "kind": "credit_note",
        "run_id": run_id,
        "credit_note": note.number,
        "corrects": inv.number,
        "customer_id": inv.customer_id,
        "period": note.period,
        "issue_date": note.issue_date.isoformat(),
        "reason": note.note,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "original_run": str(original.folder),
        "totals": summary_row(note),
        "original_files": checksums(
            [original.folder / INVOICE_DATA, original.folder / SUMMARY_CSV], original.folder
        ),
        "packages": package_versions(),
        "outputs": checksums(files, folder),
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return [*files, path]
