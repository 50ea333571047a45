"""The commands of a month's run: ``billing run`` (the notebook through papermill),
``billing finalise`` (the published run as it is) and ``billing customers sync`` (the proposal
of customers.yaml and accounts.csv changes a run bills from)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from billing_lib.command_lines import arg
from billing_lib.errors import ParameterError


def run_command(args: argparse.Namespace) -> int:
    from billing_lib.headless import execute, run_report

    args.output = default_output(args.output)
    try:
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
    except ParameterError as exc:
        raise as_option_error(exc) from None
    args.done = f"the run for {args.period.strip()} was published" + (
        f" and finalised in {folder}" if args.finalise else f" in {folder}"
    )
    print(run_report(folder))
    print(
        f"run for {args.period.strip()} published in {folder}"
        + (" (finalised)" if args.finalise else "")
    )
    if not args.finalise:
        print(finalise_hint(folder, args.period.strip(), args.output))
    return 0


def default_output(given: Path | None) -> Path:
    """The outputs folder of ``billing run``: ``given``, else ``outputs`` if the working directory
    has one. Left out elsewhere (a scheduler's working directory, cron's home), ./outputs was
    created with a new, empty invoice register, and the month numbered from 1 again: numbers the
    real register had issued already. A new outputs folder is made only when named."""
    if given is not None:
        return given
    default = Path("outputs")
    if not default.is_dir():
        raise ParameterError(
            "billing run",
            "--output",
            f"left out, and the working directory {Path.cwd()} has no outputs folder (the "
            "default, outputs); give --output, the outputs folder of the runs that holds "
            "invoice_register.sqlite (a new one is made only when named)",
        )
    return default


#: The option of ``billing run`` each notebook parameter it passes comes from.
RUN_OPTIONS = {
    "period": "--period",
    "reports": "--reports",
    "parameters": "--parameters",
    "output": "--output",
    "finalise": "--finalise",
    "issue_date": "--issue-date",
    "currency": "--currency",
    "confirm_jumps": "--confirm-jump",
}


def as_option_error(
    exc: ParameterError, command: str = "billing run", options: dict[str, str] = RUN_OPTIONS
) -> ParameterError:
    """``exc`` naming the option of ``command`` (``options``: notebook parameter -> option) the
    value was given by where it names the notebook parameter it became ("billing_run
    parameters, entry period" for ``--period 26-10``, where ``billing finalise`` names its
    option); any other ParameterError as it is."""
    from billing_lib.run_parameters import NOTEBOOK_PARAMETERS

    if exc.file != NOTEBOOK_PARAMETERS or exc.entry not in options:
        return exc
    return ParameterError(command, options[exc.entry], exc.message, exc.problems)


def finalise_hint(folder: Path, period: str, output: Path) -> str:
    """The command that finalises the run just published, by its id: ``billing finalise
    --run`` refuses the month billed again after this review (another price, another report)."""
    run_id = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("run_id")
    return (
        f"once reviewed, finalise this run as it is: billing finalise --period {period} "
        f"--output {arg(output)} --run {run_id}"
    )


def customers_sync_command(args: argparse.Namespace) -> int:
    from billing_lib import customer_files, customer_sync
    from billing_lib.errors import RunError
    from billing_lib.publishing import writing
    from billing_lib.run_files import atomic_target, remove_temporaries

    if args.diff is not None and args.diff.is_dir():  # before the month is read: no traceback
        raise ParameterError(
            "billing customers sync",
            "--diff",
            f"{args.diff}: a folder; expected the proposal's file, e.g. "
            f"{args.diff / 'customers-sync.diff'} (or leave it out: OUTPUT/customers-sync-PERIOD"
            ".diff)",
        )
    _check_proposal_apart(args)
    if args.diff is not None:
        from billing_lib.cli_options import check_apart_from_records, check_folder_exists

        check_apart_from_records(args.diff, args.output, "billing customers sync", "--diff")
        example = Path(args.output) / f"customers-sync-{args.period}.diff"
        check_folder_exists(args.diff, example, "billing customers sync", "--diff")
    # what a sync killed while applying left: finished (or removed) before the folder is read
    parameters = Path(args.parameters)
    if parameters.is_dir():
        for line in [
            *customer_files.finish_apply(parameters),
            *customer_files.stale_proposals(parameters),
        ]:
            print(f"cleaned up: {line}")
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
    # what a sync killed while writing this proposal left beside it (never read)
    for line in remove_temporaries(diff_file.parent, diff_file.parent, of=diff_file.name):
        print(f"cleaned up: {line}")
    # in one rename: a proposal cut short by a kill was refused by --apply as "changed since it
    # was written (new exports or parameters)"
    with writing(diff_file, "Nothing was written."), atomic_target(diff_file) as tmp:
        tmp.write_text(changes.diff, encoding="utf-8")
    print(
        f"proposal written to {diff_file} (nothing changed yet); review it, then run the same "
        "command with --apply"
    )
    return 0


def _check_proposal_apart(args: argparse.Namespace) -> None:
    """ParameterError when the proposal's folder is (or is in) the reports or the parameters
    folder (their options swapped, ``--output REPORTS``): the diff was written among the vendor
    reports or the parameters, which ``billing run`` refuses for its outputs folder."""
    option, target = ("--diff", args.diff) if args.diff is not None else ("--output", args.output)
    folder = Path(target).parent if args.diff is not None else Path(target)
    for name, given in (("reports", args.reports), ("parameters", args.parameters)):
        apart = Path(given).resolve()
        if folder.resolve() == apart or folder.resolve().is_relative_to(apart):
            raise ParameterError(
                "billing customers sync",
                option,
                f"{target}: in the {name} folder {apart}: the proposal would be mixed with the "
                f"{name}; give a folder of its own (--output outputs, the default)",
            )


def finalise_command(args: argparse.Namespace) -> int:
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
