"""The corrected invoice after a credit note: ``billing reissue`` invoices anew what a credited,
finalised invoice should have billed.

A finalised invoice is never changed under its number. It is cancelled in full by a credit note
(``billing credit-note``, ``corrections.py``), and what is really owed is invoiced anew. That new
invoice bills the same customer for the same supply period, so it comes from the same vendor
lines: ``reissue_invoice`` imports the period's reports again (refused unless every file is the
one the finalised run read, by name and sha256, and every AWS delivery manifest among them one
the run checked the delivery by), maps and rates them with the parameters as they
are now (the correction: a price plan, the customer's address or VAT number) and builds the one
customer's invoice. It is numbered with the next number of the original's series, refers to the
original ("Corrects invoice ..." in the details, a UBL BillingReference), says which invoice and
credit note it replaces, and is dated the issue date (not before the credit note).

It is written, like a run folder of one invoice, into ``DIR/corrections/<number>/``: the workbook
with its usage sheets and detail file, PDF and UBL in ``invoices/``, ``invoice_summary.csv``,
``invoices.json``, the customer's ``rated_lines.parquet``, ``minimum_fees.parquet`` and
``what_if_terms.parquet`` (for the margin notebook's what-if), the sales entry (CSV journal,
beancount, and Xero's and QuickBooks Online's import files as the run writes them) and a
manifest. The vendor's cost was booked by the finalised run's purchase entries and is not booked
again: a vendor line costing another amount now (a contract price of ``vendor_prices.yaml``
changed for the month) is refused. Where the new invoice bills a line the run billed to no
customer (an account unmapped then) or in another product group, entries of the reissue's
journal move its cost (``moved_cost.moved_cost_entries``), in the national currency at the rate the
month's purchase entries booked it at. An exchange_rates.csv row of the month edited since the
run that converts the new invoice otherwise is refused, naming the row and both rates, unless
confirmed as the correction (``booked_rates``). As a credit note, it holds the lock of
the outputs folder throughout, is staged and renamed into place, and its number is recorded,
final, only then (``recovery`` finishes a kill between the two). It can itself be credited and
reissued; the finalised run folder is only read. What it refuses before it invoices is
``reissue_checks``'; the month billed again and each new invoice's files, ``reissue_billing``'s.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from billing_lib.accounting_exports import QUICKBOOKS_DATE_FORMAT, XERO_DATE_FORMAT
from billing_lib.billed_commitments import (
    COMMITMENTS,
    WAIVED,
    refuse_commitments_billed_elsewhere,
)
from billing_lib.billed_later import refuse_billed_later
from billing_lib.booked_rates import purchase_rates
from billing_lib.correction_batches import NOT_ISSUED, issued_in_turn
from billing_lib.corrections import holding_output, publish_correction
from billing_lib.errors import RunError
from billing_lib.invoice_files import read_invoice_data, summary_row
from billing_lib.invoice_model import Invoice
from billing_lib.numbering import Register, RegisterEntry, check_dated_in_order, format_number
from billing_lib.numbering_records import not_final_way_out
from billing_lib.original_invoice import invoice_entry, invoice_folder, outputs_register
from billing_lib.printed_texts import clean_text
from billing_lib.publishing import checksums, package_versions, writing
from billing_lib.reissue_billing import BilledAgain, rate_again
from billing_lib.reissue_checks import (
    Delivery,
    buyer_changes,
    check_rates,
    check_reports,
    check_vendor_cost,
    moved_lines,
    refuse_billed_elsewhere,
    refuse_billed_twice,
)
from billing_lib.run_files import (
    CORRECTIONS,
    INVOICE_DATA,
    MANIFEST,
    RATED_PARQUET,
    billed_now,
    journal_name,
    outputs_problems,
    read_manifest,
)
from billing_lib.run_manifest import write_manifest


@dataclass(frozen=True)
class ReissuedInvoice:
    """An invoice as reissued: the new invoice, the credited invoice it replaces and the credit
    note that cancelled it, the folder written and its files, and the reports and parameters
    folders it was billed from."""

    invoice: Invoice
    #: the credited invoice it replaces, as its folder's invoices.json has it
    replaces: Invoice
    credit_note: str
    folder: Path
    files: tuple[Path, ...]
    reports: Path
    parameters: Path
    #: the vendor lines billed on the invoice replaced and not now, and now and not then (one
    #: text per side, vendor and currency), then the custom lines so (one text each); empty: the
    #: same vendor and custom lines
    moved_lines: tuple[str, ...] = ()
    #: what was cleaned up from killed runs before the invoice was reissued
    cleaned: tuple[str, ...] = ()
    #: the exchange rates edited since the run that convert it otherwise, confirmed as the
    #: correction (``booked_rates.rate_changes``; one text per pair and rate)
    rate_changes: tuple[str, ...] = ()
    #: the buyer's fields printed otherwise than on the invoice replaced (``buyer_changes``)
    buyer_changed: tuple[str, ...] = ()


def reissue_invoice(
    output: Path,
    invoice_number: str,
    parameters: Path | None = None,
    reports: Path | None = None,
    issue_date: date | None = None,
    reason: str | None = None,
    *,
    before_publish: Callable[[Path], None] | None = None,
    wait: float = 0,
    confirm_rate_change: bool = False,
) -> ReissuedInvoice:
    """Invoice anew the period's charges of the customer of ``invoice_number``, a finalised
    invoice that a credit note cancelled (``reissue_invoices`` of one)."""
    return reissue_invoices(
        output,
        [invoice_number],
        parameters,
        reports,
        issue_date,
        reason,
        before_publish=before_publish,
        wait=wait,
        confirm_rate_change=confirm_rate_change,
    )[0]


def reissue_invoices(
    output: Path,
    invoice_numbers: list[str],
    parameters: Path | None = None,
    reports: Path | None = None,
    issue_date: date | None = None,
    reason: str | None = None,
    *,
    before_publish: Callable[[Path], None] | None = None,
    wait: float = 0,
    confirm_rate_change: bool = False,
) -> list[ReissuedInvoice]:
    """Invoice anew the period's charges of the customers of ``invoice_numbers``: finalised
    invoices of one period, each cancelled by a credit note, billed from ``reports`` (default:
    the folder their run read) with ``parameters`` (default: the folder their run used, as it is
    now), rated once for all of them; dated ``issue_date`` (default today), ``reason`` printed on
    each. Each is written into ``output/corrections/<number>/``, numbered in the order given;
    holds the lock of ``output`` throughout (refused when a run holds it, or after waiting
    ``wait`` seconds). RunError, with nothing written and no number used, when any invoice is not
    final, not credited or already replaced, the invoices are of several periods, a report
    differs from the run's, a customer has nothing to bill, or (unless ``confirm_rate_change``)
    an exchange rate edited since the run converts an invoice otherwise (``check_rates``):
    every invoice is checked, rated and built before the first is issued. ``before_publish``
    (tests) is called with each staging folder just before it is renamed into place."""
    output = Path(output)
    with holding_output(output, wait) as (lock, cleaned):
        done = _reissue(
            output,
            invoice_numbers,
            parameters,
            reports,
            issue_date or date.today(),
            clean_text(reason),  # one line, as every document prints it
            lock.run_id,
            before_publish,
            confirm_rate_change,
        )
    return [replace(d, cleaned=tuple(cleaned)) if k == 0 else d for k, d in enumerate(done)]


@dataclass(frozen=True)
class ReplacedInvoice:
    """A finalised, credited invoice to replace, checked: its register entry, the credit note
    that cancelled it, its folder and the invoice as that folder's ``invoices.json`` has it."""

    entry: RegisterEntry
    credit_note: str
    folder: Path
    invoice: Invoice
    manifest: dict
    #: the credit note's issue date (ISO), None where the register has none
    credit_note_date: str | None = None


def _dated(number: str, issued: str | None) -> str:
    """An invoice or credit note as the reissued invoice's note names it: "<number> of <date>"
    (the number alone without a date)."""
    return f"{number} of {issued}" if issued else number


def _reissue(
    output: Path,
    invoice_numbers: list[str],
    parameters: Path | None,
    reports: Path | None,
    issued: date,
    reason: str | None,
    run_id: str,
    before_publish: Callable[[Path], None] | None,
    confirm_rate_change: bool = False,
) -> list[ReissuedInvoice]:
    register = outputs_register(output)
    if not invoice_numbers or len(set(invoice_numbers)) != len(invoice_numbers):
        raise RunError(f"give each invoice to replace once; got {invoice_numbers}")
    replaced = [_replaced(output, register, n, issued) for n in invoice_numbers]
    periods = sorted({r.entry.period for r in replaced})
    customers = [str(r.entry.customer_id) for r in replaced]
    series = {r.entry.series for r in replaced}
    if len(periods) > 1 or len(series) > 1 or len(set(customers)) != len(customers):
        raise RunError(
            f"{', '.join(invoice_numbers)}: invoices of {', '.join(periods)} for "
            f"{', '.join(customers)}; billing reissue replaces invoices of one period, one per "
            "customer, at a time"
        )
    recorded = replaced[0].manifest.get("parameters", {})
    reports = Path(reports or recorded.get("reports", ""))
    parameters = Path(parameters or recorded.get("parameters", ""))
    delivery = Delivery(periods[0], read_manifest(output / periods[0]).get("delivery_manifests"))
    for r in replaced:
        check_reports(reports, r.manifest, r.folder, r.entry.invoice_number, delivery)
    # the register changes only under the lock this process holds: the numbers follow in order
    first, _ = register.reissue_number(replaced[0].entry.series, replaced[0].entry.invoice_number)
    numbers = [_following(first, k) for k in range(len(replaced))]
    # named as the folder the first invoice becomes (``writing_error``); removed when killed
    scratch = output / CORRECTIONS / f".staging-{first}-{secrets.token_hex(4)}-work"
    with writing(scratch, NOT_ISSUED):  # a read-only corrections/: named (it was a traceback)
        scratch.mkdir(parents=True)
    try:
        billed = rate_again(scratch, periods[0], customers, reports, parameters, issued)
        for r in replaced:  # checked before, and again as read: a report written meanwhile
            check_reports(reports, r.manifest, r.folder, r.entry.invoice_number, delivery, billed)
        for r in replaced:
            check_vendor_cost(r, billed.rated, parameters)
        refuse_billed_twice(output, periods[0], billed.rated)
        refuse_billed_elsewhere(output, periods[0], reports, billed.rated)
        refuse_billed_later(output, periods[0], billed.rated)
        # a commitment another month billed in the other view (bought up front, or amortised);
        # the months stated checked that the new invoices were let through beside uncompared
        waived = refuse_commitments_billed_elsewhere(
            list(billed.commitments),
            output,
            periods[0],
            f"the new invoices of {periods[0]} would bill",
            billed.settings.review.commitments_checked,
        )
        notes = [  # each invoice by number and issue date, as the details name the one replaced
            f"This invoice replaces invoice {_dated(r.entry.invoice_number, r.entry.issue_date)}, "
            f"cancelled by credit note {_dated(r.credit_note, r.credit_note_date)}."
            + (f" Reason: {reason}" if reason else "")
            for r in replaced
        ]
        invoices = [
            billed.invoice(r.entry, number, issued, note)
            for r, number, note in zip(replaced, numbers, notes, strict=True)
        ]
        changed = check_rates(output, replaced, invoices, billed, confirm_rate_change)
        return issued_in_turn(
            list(zip(replaced, invoices, changed, strict=True)),
            invoice_numbers,
            lambda one: _publish(
                output,
                register,
                run_id,
                one[0],
                one[1],
                billed,
                reason,
                before_publish,
                one[2],
                waived,
            ),
            lambda d: (
                f"invoice {d.invoice.number} was issued replacing invoice "
                f"{d.replaces.number} in {d.folder}"
            ),
            "reissue",
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _following(first: str, k: int) -> str:
    """The ``k``-th number after ``first`` in its series (``NW2026-000010``, 2: ``...000012``)."""
    series, number = first.rsplit("-", 1)
    return format_number(series, int(number) + k)


def _replaced(
    output: Path, register: Register, invoice_number: str, issued: date
) -> ReplacedInvoice:
    """The finalised, credited invoice ``invoice_number`` that no invoice replaces yet, checked
    (``Register.reissue_number``); RunError naming the way out otherwise."""
    entry = invoice_entry(
        register,
        invoice_number,
        "billing reissue replaces a finalised invoice that a credit note cancelled",
    )
    if entry.status != "final":
        raise RunError(
            f"{invoice_number} belongs to the run of {entry.period}, which is not finalised: "
            f"{not_final_way_out(entry.period, output)}; an invoice is reissued only once it is "
            "final and credited"
        )
    _, credit_note = register.reissue_number(entry.series, invoice_number)
    credited = register.entry(credit_note)
    if (
        credited is not None
        and credited.issue_date
        and issued < date.fromisoformat(credited.issue_date)
    ):
        raise RunError(
            f"{invoice_number} was cancelled by credit note {credit_note} on "
            f"{credited.issue_date}; the invoice replacing it cannot be dated {issued} (before it)"
        )
    check_dated_in_order(register, entry.series, issued, f"the invoice replacing {invoice_number}")
    folder = invoice_folder(output, entry)[0]
    manifest = read_manifest(folder)
    # what the new invoice is compared with (its lines, the invoice): as the folder published it
    problems = outputs_problems(folder, manifest, [folder / INVOICE_DATA, folder / RATED_PARQUET])
    if problems:
        raise RunError(
            f"{folder}: not as it was published, so {invoice_number} cannot be replaced from it "
            "(restore it from a backup); nothing was issued:\n  - " + "\n  - ".join(problems)
        )
    invoice = read_invoice_data(folder / INVOICE_DATA)[1][invoice_number]
    credit_note_date = credited.issue_date if credited is not None else None
    return ReplacedInvoice(entry, credit_note, folder, invoice, manifest, credit_note_date)


def _publish(
    output: Path,
    register: Register,
    run_id: str,
    old: ReplacedInvoice,
    inv: Invoice,
    billed: BilledAgain,
    reason: str | None,
    before_publish: Callable[[Path], None] | None,
    rates_changed: list[str],
    waived: list[str],
) -> ReissuedInvoice:
    """``inv``, replacing ``old``, written and published (``publish_correction``);
    ``rates_changed``: the exchange rates edited since the run that convert it (confirmed);
    ``waived``: the months stated checked that the new invoices' commitments were let through
    beside uncompared (``refuse_commitments_billed_elsewhere``), recorded where ``inv`` bills
    a commitment."""
    moved: list[str] = []
    buyer = buyer_changes(old.invoice, inv)

    def write(staging: Path) -> list[Path]:
        period = old.entry.period
        # a credited reissue's credit note undid its cost moves: the invoices that stand
        booked = [output / period / RATED_PARQUET, *billed_now(output, period)[1]]
        journal = output / period / journal_name(period)  # the rates the cost was booked at
        missing = [str(p) for p in [*booked, journal] if not p.is_file()]
        if missing:
            raise RunError(
                f"{', '.join(missing)}: missing, so how the month's purchase entries booked the "
                "cost of the new invoice's vendor lines cannot be read (restore it from a "
                "backup); nothing was issued"
            )
        files = billed.write(staging, inv, booked, purchase_rates(journal, period))
        moved.extend(moved_lines(old.folder / RATED_PARQUET, staging / RATED_PARQUET, old.invoice))
        from_where = (billed.reports, billed.parameters)
        exports = billed.settings.accounting_exports
        date_format = (exports.quickbooks_online.date_format, exports.xero.date_format)
        commitments = [e for _, e in billed.commitments if e["customer_id"] == inv.customer_id]
        manifest = _write_manifest(
            staging,
            inv,
            old.credit_note,
            reason,
            run_id,
            files,
            (*from_where, billed.inputs, billed.manifests),
            (moved, buyer),
            date_format,
            rates_changed,
            commitments,
            waived if commitments else [],
        )
        return [*files, manifest]

    plan = {
        "kind": "reissue",
        "series": old.entry.series,
        "number": inv.number,
        "refers_to": old.entry.invoice_number,
        "issue_date": inv.issue_date.isoformat(),
        "note": inv.note,
    }
    target, files = publish_correction(output, register, run_id, plan, write, before_publish)
    return ReissuedInvoice(
        inv,
        old.invoice,
        old.credit_note,
        target,
        tuple(files),
        billed.reports,
        billed.parameters,
        tuple(moved),
        rate_changes=tuple(rates_changed),
        buyer_changed=tuple(buyer),
    )


def _write_manifest(
    folder: Path,
    inv: Invoice,
    credit_note: str,
    reason: str | None,
    run_id: str,
    files: list[Path],
    billed_from: tuple[Path, Path, list[dict], list[dict]],
    changed: tuple[list[str], list[str]],
    date_format: tuple[str, str],
    rates_changed: list[str] | None = None,
    commitments: list[dict] | None = None,
    waived: list[str] | None = None,
) -> Path:
    """``manifest.json`` of the reissued invoice: what it replaces, what it was billed from
    (``billed_from``: the reports and parameters folders, the reports as read, their files
    with sha256, and the delivery manifests the import checked them by), its totals, what
    ``changed`` from the invoice replaced (the lines moved, the buyer's fields), its
    QuickBooks and Xero files' ``date_format`` (what a credit note of it writes), the exchange
    rates edited since the run that it was confirmed to convert at (``rates_changed``), the
    commitments it bills (``commitments``, as a run's manifest lists them: the later runs compare
    theirs with them), the months stated checked that they were let through beside uncompared
    (``waived``, as a run's ``commitments_waived_as_checked``) and the sha256 of every file
    written."""
    reports, parameters, inputs, manifests = billed_from
    settings = [
        p for p in sorted(parameters.iterdir()) if p.is_file() and not p.name.startswith(".")
    ]
    write_manifest(
        folder,
        {
            "kind": "reissue",
            "run_id": run_id,
            "invoice": inv.number,
            "corrects": inv.refers_to,
            "credit_note": credit_note,
            "customer_id": inv.customer_id,
            "period": inv.period,
            "issue_date": inv.issue_date.isoformat(),
            "reason": reason,
            "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "parameters": {"reports": str(reports), "parameters": str(parameters)},
            "inputs": inputs,
            "delivery_manifests": manifests,
            "parameter_files": checksums(settings, parameters),
            "totals": summary_row(inv),
            "vendor_lines_moved": changed[0],
            "buyer_changed": changed[1],
            "exchange_rates_changed": rates_changed or [],
            COMMITMENTS: commitments or [],
            WAIVED: waived or [],
            "packages": package_versions(),
            QUICKBOOKS_DATE_FORMAT: date_format[0],
            XERO_DATE_FORMAT: date_format[1],
            "outputs": checksums(files, folder),
        },
    )
    return folder / MANIFEST
