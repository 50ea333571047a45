"""The ``billing`` command: quick checks of vendor files, scheduled runs from scripts, and credit
notes and reissued invoices for finalised ones."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing_lib.errors import BillingError, ParameterError

if TYPE_CHECKING:
    from billing_lib.importers.report import ImportReport
    from billing_lib.invoice_model import Invoice


def _import_command(args: argparse.Namespace) -> int:
    from billing_lib.customers import (
        UNMAPPED_SQL,
        assign_customers,
        load_account_mappings,
        load_customers,
        register_account_map,
    )
    from billing_lib.importers import files_size, import_reports
    from billing_lib.publishing import writing
    from billing_lib.run_parameters import check_currency, check_period
    from billing_lib.store import open_run_store, store_location
    from billing_lib.vendor_prices import load_vendor_prices

    period = (
        None if args.period is None else check_period(args.period, "billing import", "--period")
    )
    currency = check_currency(args.currency, "billing import", "--currency")
    params = Path(args.parameters or "parameters")
    if args.parameters is not None and not params.is_dir():
        raise ParameterError(
            params,
            None,
            "no such parameters folder (--parameters); give the folder holding accounts.csv "
            "and vendor_prices.yaml, or leave the option out",
        )
    files, not_read = _split_not_read(args.files)
    accounts = None
    if (params / "customers.yaml").exists() and (params / "accounts.csv").exists():
        accounts = load_account_mappings(params, load_customers(params))
    con = open_run_store(files_size(files))
    with writing(store_location(con)):  # a full disk under the store names its file
        reports = import_reports(
            con,
            files,
            fmt=args.format,
            default_currency=currency,
            vendor_prices=load_vendor_prices(params) if params.is_dir() else None,
            period=period,
            accounts=accounts,
        )
    unmapped: list[dict] = []
    if accounts is not None:
        register_account_map(con, accounts)
        assign_customers(con)
        cols = ["vendor", "account_id", "account_name", "currency", "lines", "cost", "files"]
        unmapped = [dict(zip(cols, r, strict=True)) for r in con.execute(UNMAPPED_SQL).fetchall()]
    if args.json:
        out = {
            "files": [r.to_dict() for r in reports],
            "not_read": [{"file": n, "why": why} for n, why in not_read],
            "unmapped_accounts": unmapped,
        }
        print(json.dumps(out, indent=2, default=lambda v: str(v) if isinstance(v, Decimal) else v))
        return 0
    _print_reports(reports, not_read, unmapped)
    return 0


def _print_reports(
    reports: list[ImportReport], not_read: list[tuple[str, str]], unmapped: list[dict]
) -> None:
    """``billing import``'s text output: each report's control totals, the zip members not read,
    the unmapped accounts."""
    for r in reports:
        print(f"{r.file}\n  format: {r.format_title} ({r.format})\n  rows: {r.rows}")
        for c in r.currencies:
            status = "ok" if c.balanced else "DIFFERENT"
            print(
                f"  {c.currency}: {c.rows_before} rows, cost {c.cost_before.normalize():f} read; "
                f"{c.rows_after} lines, cost {c.cost_after.normalize():f} normalised [{status}]"
            )
        for cat, n in r.lines_per_category.items():
            costs = ", ".join(
                f"{cur} {v.normalize():f}" for cur, v in r.cost_per_category[cat].items()
            )
            print(f"    {cat}: {n} lines ({costs})")
    if not_read:
        print("not read (files and members of the zips given that are no vendor reports):")
        for name, why in not_read:
            print(f"  {name}: {why}")
    if unmapped:
        print("unmapped accounts (not on any invoice; map them in accounts.csv):")
        for u in unmapped:
            print(
                f"  {u['vendor']} {u['account_id']} ({u['account_name'] or '-'}): {u['lines']} "
                f"lines, {u['currency']} {u['cost'].normalize():f}"
            )


def _split_not_read(files: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files given that the import reads, and (name, why) of those it does not and of the
    members of the zips given that it does not read, to be printed as a run lists them among its
    warnings. A file of another ending than a report's (a legacy CUR manifest ``.json``, notes
    given by ``billing import <folder>/*``) is not read, as in a reports folder or a zip: it was
    sniffed as a report and failed as an unknown format; nor is a folder (the reports folder's
    ``platform/``), which failed the command. InputError before anything is read when
    one of them looks like a vendor report (``report.csv.bz2``, a ``.7z``): its charges would be
    on no invoice while the command exits 0; and when none of the files is read. Files a program
    leaves beside any file (``~$report.csv``, ``._report.csv``) are skipped, as in a folder."""
    from billing_lib.errors import InputError, Problem
    from billing_lib.importers.report_names import (
        REPORT_SUFFIXES,
        left_by_a_program,
        refuse_reports_not_read,
        why_file_not_read,
        zip_members_not_read,
    )

    read: list[Path] = []
    found: list[tuple[str, str]] = []
    for path in map(Path, files):
        if path.is_file() and left_by_a_program(path.name):
            continue  # Excel's lock file, macOS metadata: skipped as in a reports folder
        why = why_file_not_read(path, REPORT_SUFFIXES) if path.is_file() else None
        if path.is_dir():
            why = "a folder: the import reads files; give its reports (billing import FOLDER/*)"
        if why is not None:
            found.append((str(path), why))
            continue
        read.append(path)
        if path.name.lower().endswith(".zip") and path.is_file():
            found += zip_members_not_read(path)
    refuse_reports_not_read(found)
    if not read:
        found = found or [
            (str(p), "a file a program left (a lock file, macOS metadata)") for p in files
        ]
        raise InputError(
            f"no vendor report to import among the files given ({len(found)}): "
            f"{found[0][0]}: {found[0][1]}",
            [
                Problem(name, None, None, None, "a report as .csv, .csv.gz, .tsv, .parquet or .zip")
                for name, _ in found
            ],
        )
    return read, found


def _run_command(args: argparse.Namespace) -> int:
    from billing_lib.headless import execute, run_report

    folder = execute(
        args.period,
        args.reports,
        args.parameters,
        args.output,
        finalise=args.finalise,
        issue_date=args.issue_date or "",
        progress_bar=not args.quiet,
        confirm_jumps=",".join(args.confirm_jump or []),
        wait=args.wait,
        say=print,
        currency=args.currency or "",
    )
    args.done = f"the run for {args.period.strip()} was published" + (
        f" and finalised in {folder}" if args.finalise else f" in {folder}"
    )
    print(run_report(folder))
    print(
        f"run for {args.period.strip()} published in {folder}"
        + (" (finalised)" if args.finalise else "")
    )
    if not args.finalise:
        print(_finalise_hint(folder, args.period.strip(), args.output))
    return 0


def _finalise_hint(folder: Path, period: str, output: Path) -> str:
    """The command that finalises the run just published, by its id: ``billing finalise
    --run`` refuses the month billed again after this review (another price, another report)."""
    run_id = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("run_id")
    return (
        f"once reviewed, finalise this run as it is: billing finalise --period {period} "
        f"--output {output} --run {run_id}"
    )


def _customers_sync_command(args: argparse.Namespace) -> int:
    from billing_lib import customer_files, customer_sync
    from billing_lib.errors import RunError
    from billing_lib.publishing import writing

    proposal, changes = customer_sync.sync(
        args.period, args.reports, args.parameters, args.platform, args.output
    )
    diff_file = args.diff or Path(args.output) / f"customers-sync-{proposal.period}.diff"
    print("\n".join(proposal.summary()))
    if args.apply:
        customer_files.apply(args.parameters, changes, diff_file)
        args.done = f"{diff_file} was applied to {args.parameters}"
        print(f"applied {diff_file} to {args.parameters}/customers.yaml and accounts.csv")
        return 0
    if proposal.empty:
        print("nothing to change")
        return 0
    customer_files.check_loadable(args.parameters, changes)
    if diff_file.parent.exists() and not diff_file.parent.is_dir():  # a typo: no traceback
        raise RunError(
            f"{diff_file.parent}: a file, not a folder; nothing was written. Give the folder "
            "for the proposal (--output, default outputs) or its file (--diff)"
        )
    with writing(diff_file, "Nothing was written."):
        diff_file.parent.mkdir(parents=True, exist_ok=True)
        diff_file.write_text(changes.diff, encoding="utf-8")
    print(
        f"proposal written to {diff_file} (nothing changed yet); review it, then run the same "
        "command with --apply"
    )
    return 0


def _issue_date(args: argparse.Namespace, command: str) -> date | None:
    """``--issue-date`` as a date (None: today); ParameterError naming the command otherwise."""
    from billing_lib.errors import ParameterError

    if not args.issue_date:
        return None
    try:
        return date.fromisoformat(args.issue_date)
    except ValueError:
        raise ParameterError(
            f"billing {command}",
            "--issue-date",
            f"expected a date YYYY-MM-DD; got {args.issue_date!r}",
        ) from None


def _credit_note_command(args: argparse.Namespace) -> int:
    from billing_lib.corrections import issue_credit_notes
    from billing_lib.invoices import money_text

    issued = _issue_date(args, "credit-note")
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
        _print_font_warnings(note)  # a reason in Japanese
        print(f"  written to {done.folder}:")
        for path in done.files:
            print(f"    {path.name}")
    return 0


def _print_font_warnings(inv: Invoice) -> None:
    """What the PDF just written of ``inv`` cannot print as written (``pdf_fonts``), as a run
    lists it among its warnings."""
    from billing_lib.pdf_fonts import document_font_warnings

    for warning in document_font_warnings(inv):
        print(f"  warning: {warning}")


def _reissue_command(args: argparse.Namespace) -> int:
    from billing_lib.booked_rates import CONFIRM_OPTION
    from billing_lib.invoices import money_text
    from billing_lib.reissue import reissue_invoices

    done = reissue_invoices(
        args.output,
        args.invoice,
        args.parameters,
        args.reports,
        _issue_date(args, "reissue"),
        args.reason,
        wait=args.wait,
        confirm_rate_change=args.confirm_rate_change,
    )
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
        _print_font_warnings(inv)  # a customer renamed in Chinese
        print(f"  written to {one.folder}:")
        for path in one.files:
            print(f"    {path.relative_to(one.folder)}")
    return 0


def _finalise_command(args: argparse.Namespace) -> int:
    from billing_lib.finalising import finalise_published

    done = finalise_published(args.output, args.period, wait=args.wait, run_id=args.run)
    args.done = f"{done.folder} was finalised, its invoice numbers final"
    for line in done.cleaned:
        print(f"cleaned up: {line}")
    numbers = done.numbers
    shown = f" ({numbers[0]} to {numbers[-1]})" if numbers else ""
    print(
        f"finalised {done.folder} (run {done.run_id}) as published: {len(numbers)} invoice "
        f"number(s) final{shown}; "
        "corrections are credit notes from now on (billing credit-note)"
    )
    return 0


def _register_list_command(args: argparse.Namespace) -> int:
    from billing_lib.register_listing import (
        SHOWN,
        register_listing,
        series_check,
        write_listing_csv,
    )

    listing = register_listing(args.output, args.series, args.period, args.customer)
    shown = listing[list(SHOWN)].copy()
    shown["customer_name"] = shown["customer_name"].str.slice(0, 30)
    shown["note"] = shown["note"].str.slice(0, 60)
    print(shown.to_string(index=False) if len(shown) else "no numbers")
    if args.series is None and args.period is None and args.customer is None:
        for line in series_check(listing):
            print(line)
    if args.csv:
        print(f"written to {write_listing_csv(listing, args.csv)}")
    return 0


def _register_rebuild_command(args: argparse.Namespace) -> int:
    from billing_lib.recovery import open_output
    from billing_lib.register_rebuild import check_something_to_rebuild, rebuild_register

    check_something_to_rebuild(args.output)  # before the lock file is written into a wrong folder
    lock, cleaned = open_output(args.output, wait=args.wait, create=False, check=False)
    try:
        for line in cleaned:
            print(f"cleaned up: {line}")
        rebuilt = rebuild_register(args.output)
        args.done = f"{args.output / 'invoice_register.sqlite'} was rebuilt"
        for line in rebuilt:
            print(line)
    finally:
        lock.release()
    return 0


def _output_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--output``, the outputs folder (default ``outputs``), as ``help_text`` describes it."""
    parser.add_argument("--output", default=Path("outputs"), type=Path, help=help_text)


def _wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        default=0,
        type=float,
        metavar="SECONDS",
        help="when another run holds the outputs folder, wait up to SECONDS for it (default: "
        "refuse at once)",
    )


class _WholeOptions(argparse.ArgumentParser):
    """A parser (and, as their class, its subcommands') that takes options only as written in
    full: argparse took the start of one for the option (``--f`` for ``--finalise``), so a typo
    of `billing run` finalised the month."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _WholeOptions(prog="billing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser(
        "import", help="recognise vendor report files and print their control totals"
    )
    imp.add_argument(
        "files", nargs="+", type=Path, help="CSV, CSV.gz, zip or Parquet vendor reports"
    )
    imp.add_argument("--json", action="store_true", help="print the control totals as JSON")
    imp.add_argument(
        "--parameters",
        default=None,
        help="parameters folder for the account mapping and the VMware contract prices "
        "(default: ./parameters where there is one)",
    )
    imp.add_argument("--format", default=None, help="force a format instead of recognising it")
    imp.add_argument(
        "--currency", default=None, help="billing currency of FOCUS files without BillingCurrency"
    )
    imp.add_argument(
        "--period",
        default=None,
        help="month (YYYY-MM) the reports are billed in: a report with no line in it is refused; "
        "also the month of a usage report that names none (VMware Usage Meter export)",
    )
    imp.set_defaults(func=_import_command)
    run = sub.add_parser(
        "run", help="bill one month: execute notebooks/billing_run.ipynb through papermill"
    )
    run.add_argument("--period", required=True, help="month to bill, YYYY-MM")
    run.add_argument(
        "--reports", required=True, type=Path, help="folder with the month's vendor reports"
    )
    run.add_argument(
        "--parameters", default=Path("parameters"), type=Path, help="parameters folder"
    )
    _output_option(run, "outputs folder; the run is published in OUTPUT/PERIOD/")
    run.add_argument(
        "--finalise",
        action="store_true",
        help="finalise the run: its invoice numbers and folder become immutable",
    )
    run.add_argument(
        "--issue-date", default=None, help="invoice date YYYY-MM-DD (default: day after the period)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--confirm-jump",
        action="append",
        metavar="CUSTOMER",
        help="bill this customer although its month moved by an order of magnitude against the "
        "previous finalised month (parameters/review.yaml jump_factor); repeatable or "
        "comma-separated",
    )
    run.add_argument(
        "--currency",
        default=None,
        help="billing currency of FOCUS reports without a BillingCurrency column (e.g. EUR); a "
        "report's own currency is never overridden",
    )
    _wait_option(run)
    run.set_defaults(func=_run_command)
    cust = sub.add_parser("customers", help="customers and vendor accounts")
    cust_sub = cust.add_subparsers(dest="customers_command", required=True)
    sync = cust_sub.add_parser(
        "sync",
        help="propose customers.yaml and accounts.csv changes from the platforms' exports",
        description="Read the month's vendor reports and the provisioning platforms' exports "
        "(Partner Center customers and subscriptions, AWS Organizations accounts and tags; by "
        "default REPORTS/platform/) and propose new accounts.csv rows for accounts matching a "
        "known customer (tenant id, tag, domain or exact name), customer stubs for the rest and "
        "closed mappings for accounts that left, as a diff file and a summary. Nothing is written "
        "without --apply (docs/monthly-close.md).",
    )
    sync.add_argument("--period", required=True, help="month, YYYY-MM")
    sync.add_argument(
        "--reports", required=True, type=Path, help="folder with the month's vendor reports"
    )
    sync.add_argument(
        "--platform",
        default=None,
        type=Path,
        help="folder with the platforms' exports (default: REPORTS/platform/ if it exists)",
    )
    sync.add_argument(
        "--parameters", default=Path("parameters"), type=Path, help="parameters folder"
    )
    _output_option(sync, "where the proposal is written (OUTPUT/customers-sync-PERIOD.diff)")
    sync.add_argument("--diff", default=None, type=Path, help="the proposal's file instead")
    sync.add_argument(
        "--apply",
        action="store_true",
        help="write the reviewed proposal into customers.yaml and accounts.csv (refused when it "
        "differs from the diff file reviewed)",
    )
    sync.set_defaults(func=_customers_sync_command)
    fin = sub.add_parser(
        "finalise",
        help="finalise the published run of a month as it is (what was reviewed)",
        description="Make the published run of PERIOD final without billing the month again: its "
        "invoice numbers become final and its folder immutable. Refused, with nothing changed, "
        "when a file of the run is missing or changed since it was published (then it is not "
        "what was reviewed). billing run --finalise bills the month again instead.",
    )
    fin.add_argument("--period", required=True, help="month of the published run, YYYY-MM")
    fin.add_argument(
        "--run",
        default=None,
        metavar="RUN_ID",
        help="the id of the run reviewed (billing run prints it): refused, with nothing "
        "finalised, when the month was billed again since",
    )
    _output_option(fin, "outputs folder of the runs (holds invoice_register.sqlite and PERIOD/)")
    _wait_option(fin)
    fin.set_defaults(func=_finalise_command)
    cn = sub.add_parser(
        "credit-note",
        help="cancel a finalised invoice with a credit note "
        "(written to OUTPUT/corrections/NUMBER/)",
        description="Issue a credit note that cancels one invoice of a finalised run in full: "
        "every line, VAT and total negated, numbered in the credit-note series, referring to the "
        "invoice, with a reversing journal entry (CSV, beancount, Xero, QuickBooks). Rebuilt "
        "from what the finalised run stored (not from today's parameters); the run folder is not "
        "changed.",
    )
    _output_option(cn, "outputs folder of the runs (holds invoice_register.sqlite and PERIOD/)")
    cn.add_argument(
        "--invoice",
        required=True,
        action="append",
        help="number of the invoice to cancel, e.g. NW2026-000002; give it again for more "
        "(each checked before the first credit note is issued)",
    )
    cn.add_argument(
        "--issue-date", default=None, help="date of the credit note YYYY-MM-DD (default: today)"
    )
    cn.add_argument(
        "--reason", default=None, help="why the invoice is cancelled (printed on the credit note)"
    )
    _wait_option(cn)
    cn.set_defaults(func=_credit_note_command)
    ri = sub.add_parser(
        "reissue",
        help="invoice anew what a credited invoice should have billed "
        "(written to OUTPUT/corrections/NUMBER/)",
        description="After a credit note cancelled a finalised invoice: bill its customer's "
        "period again from the same reports (refused unless each is the file the run read) with "
        "the parameters as they are now, as a new invoice with the next number of the series, "
        "referring to the one it replaces; workbook, PDF, UBL, summary row, sales entry (CSV and "
        "beancount) and manifest. The finalised run folder is not changed.",
    )
    _output_option(ri, "outputs folder of the runs (holds invoice_register.sqlite and PERIOD/)")
    ri.add_argument(
        "--invoice",
        required=True,
        action="append",
        help="number of the credited invoice, e.g. NW2026-000002; give it again for more "
        "invoices of the same period (the month is rated once for all)",
    )
    ri.add_argument(
        "--parameters",
        type=Path,
        default=None,
        help="parameters folder, corrected (default: the one the invoice's run used)",
    )
    ri.add_argument(
        "--reports",
        type=Path,
        default=None,
        help="the period's vendor reports (default: the folder the invoice's run read)",
    )
    ri.add_argument(
        "--issue-date", default=None, help="date of the new invoice YYYY-MM-DD (default: today)"
    )
    ri.add_argument(
        "--reason", default=None, help="why the invoice is replaced (printed on the new invoice)"
    )
    ri.add_argument(
        "--confirm-rate-change",
        action="store_true",
        help="convert the new invoice at an exchange rate of the month changed in "
        "exchange_rates.csv since the run (refused without it; recorded in its manifest)",
    )
    _wait_option(ri)
    ri.set_defaults(func=_reissue_command)
    reg = sub.add_parser("register", help="the invoice-number register")
    reg_sub = reg.add_subparsers(dest="register_command", required=True)
    listed = reg_sub.add_parser(
        "list",
        help="every invoice and credit-note number with its status, customer and amounts",
        description="List the register's numbers in series and number order: kind, status "
        "(final, reserved, void with the reason), period, issue date, customer, the amounts "
        "its folder states, what it corrects and what corrected it; without a filter, per series "
        "whether every number from 1 up is accounted for. Read only.",
    )
    _output_option(listed, "outputs folder of the runs (holds invoice_register.sqlite)")
    listed.add_argument("--series", default=None, help="one series only, e.g. NW2026")
    listed.add_argument("--period", default=None, help="the numbers of one period, YYYY-MM")
    listed.add_argument("--customer", default=None, help="the numbers of one customer, e.g. C002")
    listed.add_argument(
        "--csv", type=Path, default=None, help="also write every column to this CSV file"
    )
    listed.set_defaults(func=_register_list_command)
    rebuild = reg_sub.add_parser(
        "rebuild",
        help="restore a lost invoice register from the run folders",
        description="Write OUTPUT/invoice_register.sqlite anew from the run folders' invoices.json "
        "and the credit notes in OUTPUT/corrections/, checked (every number once, no gap in a "
        "series); the earlier register, if any, is kept beside it.",
    )
    _output_option(rebuild, "outputs folder of the runs (holds PERIOD/ and corrections/)")
    _wait_option(rebuild)
    rebuild.set_defaults(func=_register_rebuild_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(signal, "SIGXFSZ"):
        # past a file-size limit (ulimit -f) a write then fails with EFBIG, which is reported
        # naming the file, instead of the signal killing the command without a word
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # a closed pipe fails here, in ``_reader_gone``, not at the exit
        return code
    except BillingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        signum = getattr(exc, "signum", None)
        return 128 + signum if signum else 2  # 130 / 143 after SIGINT / SIGTERM, as a shell
    except KeyboardInterrupt:
        done = getattr(args, "done", None)  # set by a command once its change is made
        if done:  # only what it printed was cut short: to be rerun, it would be refused
            print(f"error: interrupted (SIGINT) once {done}", file=sys.stderr)
        else:
            print("error: interrupted; nothing was published", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """The exit of a command whose output's reader went away (``billing register list | head``):
    128 + SIGPIPE, as a shell reports it, without the traceback Python printed, and with the
    standard output pointed at /dev/null, so flushing it at exit does not fail again. The
    command stopped where it was writing; a run publishes nothing unfinished."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
