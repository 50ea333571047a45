"""The ``billing`` command: quick checks of vendor files, scheduled runs from scripts, and credit
notes and reissued invoices for finalised ones."""

# Its parser and entry point (``main``, the console script); the commands are in the modules
# named after them: cli_import, cli_runs, cli_corrections, cli_register; the options several
# commands share in cli_options.

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

# The project's modules are imported in ``build_parser`` and ``main``, not here: the console
# script imports this module before ``main`` handles Ctrl-C, and an interrupt while it imported
# them ended in a KeyboardInterrupt traceback.

#: The commands that rate reports in a DuckDB store that BILLING_MEMORY_LIMIT and BILLING_THREADS
#: bound: those settings are checked before anything is read.
STORE_COMMANDS = ("import", "run", "reissue")


def build_parser() -> argparse.ArgumentParser:
    from pathlib import Path

    from billing_lib.cli_corrections import credit_note_command, reissue_command
    from billing_lib.cli_import import import_command
    from billing_lib.cli_options import (
        WholeOptions,
        customer_ids,
        invoice_number,
        output_option,
        run_id,
        wait_option,
    )
    from billing_lib.cli_register import register_list_command, register_rebuild_command
    from billing_lib.cli_runs import customers_sync_command, finalise_command, run_command

    parser = WholeOptions(prog="billing", description=(__doc__ or "").replace("``", ""))
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
        type=Path,
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
    imp.set_defaults(func=import_command)
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
    run.add_argument(
        "--output",
        default=None,
        type=Path,
        help="outputs folder; the run is published in OUTPUT/PERIOD/ (default: ./outputs, if "
        "there is one: a new outputs folder, with a new invoice register, is made only when named)",
    )
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
        type=customer_ids,
        metavar="CUSTOMER",
        help="bill this customer although its month moved by an order of magnitude against the "
        "previous finalised month (parameters/review.yaml jump_factor); repeatable or "
        "comma-separated; refused for a customer whose month did not move",
    )
    run.add_argument(
        "--currency",
        default=None,
        help="billing currency of FOCUS reports without a BillingCurrency column (e.g. EUR); a "
        "report's own currency is never overridden",
    )
    wait_option(run)
    run.set_defaults(func=run_command)
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
    output_option(sync, "where the proposal is written (OUTPUT/customers-sync-PERIOD.diff)")
    sync.add_argument("--diff", default=None, type=Path, help="the proposal's file instead")
    sync.add_argument(
        "--apply",
        action="store_true",
        help="write the reviewed proposal into customers.yaml and accounts.csv (refused when it "
        "differs from the diff file reviewed)",
    )
    sync.set_defaults(func=customers_sync_command)
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
        type=run_id,
        metavar="RUN_ID",
        help="the id of the run reviewed (billing run prints it): refused, with nothing "
        "finalised, when the month was billed again since",
    )
    output_option(fin, "outputs folder of the runs (holds invoice_register.sqlite and PERIOD/)")
    wait_option(fin)
    fin.set_defaults(func=finalise_command)
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
    output_option(cn, "outputs folder of the runs (holds invoice_register.sqlite and PERIOD/)")
    cn.add_argument(
        "--invoice",
        required=True,
        action="append",
        type=invoice_number,
        help="number of the invoice to cancel, e.g. NW2026-000002; give it again for more "
        "(each checked before the first credit note is issued)",
    )
    cn.add_argument(
        "--issue-date", default=None, help="date of the credit note YYYY-MM-DD (default: today)"
    )
    cn.add_argument(
        "--reason", default=None, help="why the invoice is cancelled (printed on the credit note)"
    )
    wait_option(cn)
    cn.set_defaults(func=credit_note_command)
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
    output_option(ri, "outputs folder of the runs (holds invoice_register.sqlite and PERIOD/)")
    ri.add_argument(
        "--invoice",
        required=True,
        action="append",
        type=invoice_number,
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
    wait_option(ri)
    ri.set_defaults(func=reissue_command)
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
    output_option(listed, "outputs folder of the runs (holds invoice_register.sqlite)")
    listed.add_argument("--series", default=None, help="one series only, e.g. NW2026")
    listed.add_argument("--period", default=None, help="the numbers of one period, YYYY-MM")
    listed.add_argument("--customer", default=None, help="the numbers of one customer, e.g. C002")
    listed.add_argument(
        "--csv", type=Path, default=None, help="also write every column to this CSV file"
    )
    listed.set_defaults(func=register_list_command)
    rebuild = reg_sub.add_parser(
        "rebuild",
        help="restore a lost invoice register from the run folders",
        description="Write OUTPUT/invoice_register.sqlite anew from the run folders' invoices.json "
        "and the credit notes in OUTPUT/corrections/, checked (every number once, no gap in a "
        "series); the earlier register, if any, is kept beside it.",
    )
    output_option(rebuild, "outputs folder of the runs (holds PERIOD/ and corrections/)")
    wait_option(rebuild)
    rebuild.set_defaults(func=register_rebuild_command)
    for commands in (sub, cust_sub, reg_sub):
        # a command left out is named by the commands to choose from, as the usage lists them,
        # not by its dest ("required: register_command")
        commands.metavar = "{" + ",".join(commands.choices) + "}"
    return parser


def main(argv: list[str] | None = None) -> int:
    try:  # Ctrl-C as the command starts (importing its modules, building its parser)
        from billing_lib.cli_options import refuse_repeated, refuse_unknown

        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:
            refuse_unknown(parser, args, extra)
        refuse_repeated(parser, args, sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        print("error: interrupted as the command started; nothing was done", file=sys.stderr)
        return 130
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command ``args`` name, its errors and interrupts reported in one line."""
    import signal
    from typing import TextIO, cast

    from billing_lib.errors import BillingError
    from billing_lib.standard_output import GuardedOutput, check_open
    from billing_lib.store_limits import store_limits

    if hasattr(signal, "SIGXFSZ"):
        # past a file-size limit (ulimit -f) a write then fails with EFBIG, which is reported
        # naming the file, instead of the signal killing the command without a word
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    stdout = sys.stdout
    try:
        check_open()  # a closed standard output: refused before anything is done
        for stream in (sys.stdout, sys.stderr):
            # a name its encoding cannot show (Zürich on ASCII, € on Latin-1) is printed
            # escaped; it ended the command in a UnicodeEncodeError traceback
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")
        sys.stdout = cast(TextIO, GuardedOutput(stdout))
        if args.command in STORE_COMMANDS:  # before a notebook starts: named, not "cell [3]"
            store_limits()
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
    finally:
        sys.stdout = stdout


def _reader_gone() -> int:
    """The exit of a command whose output's reader went away (``billing register list | head``):
    128 + SIGPIPE, as a shell reports it, without the traceback Python printed, and with the
    standard output pointed at /dev/null, so flushing it at exit does not fail again. The
    command stopped where it was writing; a run publishes nothing unfinished."""
    import os
    import signal

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
