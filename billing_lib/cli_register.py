"""The ``billing register`` commands: list the invoice-number register, rebuild a lost one."""

from __future__ import annotations

import argparse
from pathlib import Path


def register_list_command(args: argparse.Namespace) -> int:
    from billing_lib.cli_options import check_apart_from_records, check_folder_exists
    from billing_lib.errors import ParameterError
    from billing_lib.publishing import writing
    from billing_lib.register_listing import (
        SHOWN,
        register_listing,
        series_check,
        unfinished_publishing,
        write_listing_csv,
    )
    from billing_lib.run_files import remove_temporaries

    if args.csv is not None and args.csv.is_dir():  # the folder meant to hold it: no traceback
        raise ParameterError(
            "billing register list",
            "--csv",
            f"{args.csv}: a folder; expected the CSV file to write, "
            f"e.g. {args.csv / 'register.csv'}",
        )
    if args.csv is not None:
        check_apart_from_records(args.csv, args.output, "billing register list", "--csv")
        example = Path(args.output) / "register.csv"
        check_folder_exists(args.csv, example, "billing register list", "--csv")
    listing = register_listing(args.output, args.series, args.period, args.customer)
    shown = listing[list(SHOWN)].copy()
    shown["customer_name"] = shown["customer_name"].str.slice(0, 30)
    shown["note"] = shown["note"].str.slice(0, 60)
    print(shown.to_string(index=False) if len(shown) else "no numbers")
    if args.series is None and args.period is None and args.customer is None:
        for line in series_check(listing):
            print(line)
    for line in unfinished_publishing(args.output):
        print(line)
    if args.csv:
        # what an earlier list killed while writing this file left beside it (never read)
        csv = Path(args.csv)
        for line in remove_temporaries(csv.parent, csv.parent, of=csv.name):
            print(f"cleaned up: {line}")
        with writing(args.csv, "The list was printed; the CSV was not written."):
            written = write_listing_csv(listing, args.csv)
        print(f"written to {written}")
    return 0


def register_rebuild_command(args: argparse.Namespace) -> int:
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
