"""The commands that correct a finalised invoice: ``billing credit-note`` and ``billing
reissue``, with what they print of the documents issued."""

from __future__ import annotations

import argparse
import re
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing_lib.invoice_model import Invoice
    from billing_lib.reissue import ReissuedInvoice


def parsed_issue_date(args: argparse.Namespace, command: str) -> date | None:
    """``--issue-date`` as a date (None: today); ParameterError naming the command otherwise."""
    from billing_lib.errors import ParameterError

    given = (args.issue_date or "").strip()  # a pasted cell's spaces, as billing run drops them
    if not given:
        return None
    try:
        # YYYY-MM-DD only, as billing run reads it: fromisoformat also took 20261105 and 2026-W45-4
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", given):
            raise ValueError(given)
        return date.fromisoformat(given)
    except ValueError:
        raise ParameterError(
            f"billing {command}",
            "--issue-date",
            f"expected a date YYYY-MM-DD; got {args.issue_date!r}",
        ) from None


def credit_note_command(args: argparse.Namespace) -> int:
    from billing_lib.corrections import issue_credit_notes
    from billing_lib.invoices import money_text

    issued = parsed_issue_date(args, "credit-note")
    notes = issue_credit_notes(args.output, args.invoice, issued, args.reason, wait=args.wait)
    args.done = "; ".join(
        f"credit note {d.note.number} was issued for invoice {d.original.number} in {d.folder}"
        for d in notes
    )
    for line in notes[0].cleaned:
        print(f"cleaned up: {line}")
    for done in notes:
        note = done.note
        print(
            f"credit note {note.number} issued on {note.issue_date} for {note.customer_id} "
            f"{note.buyer.name}: corrects invoice {done.original.number} (period {note.period})"
        )
        print(
            f"  {note.currency} net {money_text(note.net)} + VAT {money_text(note.vat_total)} = "
            f"{money_text(note.gross)} (the invoice: {money_text(done.original.gross)})"
        )
        print_font_warnings(note)  # a reason in Japanese
        print(f"  written to {done.folder}:")
        for path in done.files:
            print(f"    {path.name}")
    return 0


def print_font_warnings(inv: Invoice) -> None:
    """What the PDF just written of ``inv`` cannot print as written (``pdf_fonts``), as a run
    lists it among its warnings."""
    from billing_lib.pdf_fonts import document_font_warnings

    for warning in document_font_warnings(inv):
        print(f"  warning: {warning}")


#: The option of ``billing reissue`` each value it rates the month with comes from.
REISSUE_OPTIONS = {
    "parameters": "--parameters",
    "reports": "--reports",
    "issue_date": "--issue-date",
}


def _reissued(args: argparse.Namespace) -> list[ReissuedInvoice]:
    """``billing reissue``'s invoices issued; a folder given wrong named by its option."""
    from billing_lib.cli_runs import as_option_error
    from billing_lib.errors import ParameterError
    from billing_lib.reissue import reissue_invoices

    try:
        return reissue_invoices(
            args.output,
            args.invoice,
            args.parameters,
            args.reports,
            parsed_issue_date(args, "reissue"),
            args.reason,
            wait=args.wait,
            confirm_rate_change=args.confirm_rate_change,
        )
    except ParameterError as exc:  # as checked for a run: named by their options
        raise as_option_error(exc, "billing reissue", REISSUE_OPTIONS) from None


def reissue_command(args: argparse.Namespace) -> int:
    from billing_lib.booked_rates import CONFIRM_OPTION
    from billing_lib.invoices import money_text

    done = _reissued(args)
    args.done = "; ".join(
        f"invoice {d.invoice.number} was issued replacing invoice {d.replaces.number} in {d.folder}"
        for d in done
    )
    for line in done[0].cleaned:
        print(f"cleaned up: {line}")
    print(f"billed from {done[0].reports} with the parameters in {done[0].parameters}")
    for one in done:
        inv, old = one.invoice, one.replaces
        print(
            f"invoice {inv.number} issued on {inv.issue_date} for {inv.customer_id} "
            f"{inv.buyer.name}, period {inv.period}: replaces invoice {old.number} (cancelled by "
            f"credit note {one.credit_note})"
        )
        print(
            f"  {inv.currency} net {money_text(inv.net)} + VAT {money_text(inv.vat_total)} = "
            f"{money_text(inv.gross)} (the invoice replaced: {old.currency} "
            f"{money_text(old.net)} + {money_text(old.vat_total)} = {money_text(old.gross)})"
        )
        if one.moved_lines:
            print(
                f"  lines not as on {old.number} (check accounts.csv and custom_lines.yaml if "
                "not meant):"
            )
            for text in one.moved_lines:
                print(f"    {text}")
        else:
            print(f"  the same vendor lines and custom lines as on {old.number}")
        if one.buyer_changed:
            print(f"  the buyer not as on {old.number} (check customers.yaml if not meant):")
            for text in one.buyer_changed:
                print(f"    {text}")
        if one.rate_changes:
            print(f"  exchange rate changed since the run, converted at it ({CONFIRM_OPTION}):")
            for text in one.rate_changes:
                print(f"    {text}")
        print_font_warnings(inv)  # a customer renamed in Chinese
        print(f"  written to {one.folder}:")
        for path in one.files:
            print(f"    {path.relative_to(one.folder)}")
    return 0
