"""``billing import``: recognise vendor report files and print their control totals (text or
JSON), the files and zip members not read, and the accounts mapped to no customer."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing_lib.importers.report import ImportReport


def import_command(args: argparse.Namespace) -> int:
    from billing_lib.customer_files import finish_apply
    from billing_lib.customers import (
        UNMAPPED_SQL,
        assign_customers,
        load_account_mappings,
        load_customers,
        register_account_map,
    )
    from billing_lib.importers import files_size, import_reports
    from billing_lib.parameter_paths import check_parameters_folder
    from billing_lib.publishing import writing
    from billing_lib.run_parameters import check_currency, check_period
    from billing_lib.store import open_run_store, store_location
    from billing_lib.vendor_prices import load_vendor_prices

    period = (
        None if args.period is None else check_period(args.period, "billing import", "--period")
    )
    currency = check_currency(args.currency, "billing import", "--currency")
    params = Path(args.parameters or "parameters")
    if args.parameters is not None:
        check_parameters_folder(params, "billing import", "--parameters")
    if params.is_dir():  # a customers sync --apply killed half way: finished before the read
        for line in finish_apply(params):  # on standard error: --json's output stays JSON
            print(f"cleaned up: {line}", file=sys.stderr)
    not_mapped = check_import_parameters(params, given=args.parameters is not None)
    files, not_read = split_not_read(args.files)
    accounts = None
    if not_mapped is None:
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
            "accounts_not_mapped": not_mapped,
        }
        print(json.dumps(out, indent=2, default=lambda v: str(v) if isinstance(v, Decimal) else v))
        return 0
    print_reports(reports, not_read, unmapped)
    if not_mapped is not None:
        print(f"accounts not mapped to customers: {not_mapped}")
    return 0


#: The parameters files ``billing import`` reads: the two that map the vendor accounts to
#: customers, and the VMware contract prices.
MAPPING_FILES = ("customers.yaml", "accounts.csv")
IMPORT_FILES = (*MAPPING_FILES, "vendor_prices.yaml")


def check_import_parameters(folder: Path, given: bool) -> str | None:
    """Why the import maps no account to a customer from ``folder`` (``given``: by
    ``--parameters``, else the default ./parameters), None when it maps them. A ParameterError
    when the folder holds none of the files the import reads, or one of the two that map the
    accounts without the other: the wrong folder (or a file left out of it) printed the control
    totals, no account mapped and none listed as unmapped, and exited 0, which read as "every
    account is mapped"."""
    from billing_lib.errors import ParameterError
    from billing_lib.parameter_paths import misnamed_file

    if not folder.is_dir():
        return "no --parameters given, and no ./parameters folder"
    entry = "--parameters" if given else "--parameters (left out: ./parameters)"
    misnamed_file(folder, IMPORT_FILES)  # customers.yml: named, not taken as missing
    present = [name for name in IMPORT_FILES if (folder / name).exists()]
    if not present:
        raise ParameterError(
            "billing import",
            entry,
            f"{folder}: holds none of the parameters files billing import reads: "
            "customers.yaml and accounts.csv (the vendor accounts' customers) or "
            "vendor_prices.yaml (the contract prices of VMware reports that carry none). "
            "Give the parameters folder",
        )
    mapping = [name for name in MAPPING_FILES if name in present]
    if len(mapping) == 1:
        [missing] = set(MAPPING_FILES) - set(mapping)
        raise ParameterError(
            "billing import",
            entry,
            f"{folder}: has {mapping[0]} but no {missing}; expected both (the vendor accounts "
            f"are mapped to customers by the two): put {folder / missing} beside it",
        )
    return None if mapping else f"{folder} has no customers.yaml and no accounts.csv"


def print_reports(
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
        for warning in r.warnings:  # imported as the file says, but worth a look
            print(f"  warning: {warning}")
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


def split_not_read(files: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
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
