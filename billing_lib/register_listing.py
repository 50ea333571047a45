"""The invoice register as an accountant or auditor reads it (``billing register list``): every
number of every series in order, with its kind, status, period, issue date, customer and the
amounts its folder's ``invoice_summary.csv`` states, what it corrects and what corrected it, and
per series whether the numbers run 1, 2, 3, ... with every one accounted for.

The register (``numbering``) says which numbers were given and why a void one was never issued;
the published folders (a run's ``<period>/``, a credit note's or reissued invoice's
``corrections/<number>/``) say what each number billed. A number the register gives as issued
but whose folder has no row for it is listed with "not in its folder" rather than skipped, so
the listing never looks more complete than the files are.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from billing_lib.errors import RunError
from billing_lib.invoice_files import read_invoice_data
from billing_lib.journal_files import csv_text
from billing_lib.numbering import RegisterEntry
from billing_lib.original_invoice import invoice_folder, outputs_register
from billing_lib.run_files import (
    CORRECTIONS,
    CREDIT_NOTE_DATA,
    FINALISED_MARKER,
    INVOICE_DATA,
    MANIFEST,
    SUMMARY_CSV,
    atomic_target,
)
from billing_lib.run_parameters import check_period

#: The listing's columns, in order (the CSV's header).
COLUMNS = (
    "number",
    "kind",
    "status",
    "period",
    "issue_date",
    "customer_id",
    "customer_name",
    "currency",
    "net_amount",
    "vat_amount",
    "gross_amount",
    "corrects",
    "corrected_by",
    "note",
    "folder",
)
#: The columns ``billing register list`` prints (the CSV has them all).
SHOWN = tuple(c for c in COLUMNS if c not in ("net_amount", "vat_amount", "folder"))


@dataclass(frozen=True)
class _Folder:
    """What a published folder states about its numbers: summary rows and buyers' names."""

    rows: dict[str, dict[str, str]]
    names: dict[str, str]


def register_listing(
    output: Path,
    series: str | None = None,
    period: str | None = None,
    customer: str | None = None,
) -> pd.DataFrame:
    """Every number of the register of ``output`` (of ``series``, of ``period``, of
    ``customer``) in series and number order, one row each with ``COLUMNS``; amounts as the
    folder's summary states them (text, exact)."""
    output = Path(output)
    if period is not None:
        period = check_period(period, "billing register list", "--period")
    every = outputs_register(output).entries(period)
    entries = [
        e
        for e in every
        if (series is None or e.series == series)
        and (customer is None or e.customer_id == customer)
    ]
    if not entries:
        _refuse_typed_otherwise(every, series, customer)
    corrected_by: dict[str, list[str]] = {}
    corrections = [e for e in outputs_register(output).entries() if e.refers_to]
    for e in sorted(corrections, key=lambda e: (e.issue_date or "", e.kind != "credit_note")):
        if e.refers_to and e.status != "void":
            corrected_by.setdefault(e.refers_to, []).append(e.invoice_number)
    folders: dict[Path, _Folder] = {}
    rows = []
    for e in entries:
        where = _where(output, e)
        stated = folders.get(where) if where else None
        if where is not None and stated is None:
            stated = folders[where] = _read(where)
        row = stated.rows.get(e.invoice_number, {}) if stated else {}
        note = e.note or ""
        if e.status != "void" and not row:
            note = f"not in its folder ({where.relative_to(output) if where else 'none'}/); {note}"
        rows.append(
            {
                "number": e.invoice_number,
                "kind": "credit note" if e.kind == "credit_note" else "invoice",
                "status": e.status,
                "period": e.period,
                "issue_date": e.issue_date or "",
                "customer_id": e.customer_id or "",
                "customer_name": csv_text(stated.names.get(e.invoice_number, "")) if stated else "",
                "currency": row.get("currency", ""),
                "net_amount": row.get("net_amount", ""),
                "vat_amount": row.get("vat_amount", ""),
                "gross_amount": row.get("gross_amount", ""),
                "corrects": e.refers_to or "",
                "corrected_by": ", ".join(corrected_by.get(e.invoice_number, [])),
                "note": csv_text(note.strip().rstrip(";")),
                "folder": f"{where.relative_to(output)}/" if where and row else "",
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def series_check(listing: pd.DataFrame) -> list[str]:
    """Per series of ``listing`` (all its numbers): the range, how many are void, and whether
    every number from 1 up is there once."""
    out = []
    for name, numbers in listing.groupby(listing["number"].str.rsplit("-", n=1).str[0], sort=True):
        n = [int(x.rsplit("-", 1)[1]) for x in numbers["number"]]
        void = int((numbers["status"] == "void").sum())
        gapless = sorted(n) == list(range(1, len(n) + 1))
        out.append(
            f"{name}: {name}-{min(n):06d} to {name}-{max(n):06d}, {len(n)} numbers, {void} void, "
            + ("none missing" if gapless else "NUMBERS MISSING: the register has a gap")
        )
    return out


def unfinished_publishing(output: Path) -> list[str]:
    """One line per run, credit note, reissued invoice or ``billing finalise`` killed while it
    published (``numbering.Register.pending_publishing``): what its folder shows and the register
    does not have yet, or what it planned and never used. The listing is read only; the next
    command on ``output``, holding the lock, records or drops each (``recovery``). Without these
    lines the register listed the series as ending before numbers printed on published
    invoices. Also a run folder a killed rerun left moved aside (``_moved_aside``) and the
    other leftovers of killed commands (``_left_behind``)."""
    from billing_lib.register_check import run_id_of

    output = Path(output)
    lines = []
    for run_id, target, plan in outputs_register(output).pending_publishing():
        folder = output / target
        if plan.get("kind") == "finalise":
            final = (folder / FINALISED_MARKER).is_file()
            lines.append(
                f"not recorded yet: {target}/ was finalised by billing finalise, killed before "
                f"the register made its numbers final; the next billing command on {output} "
                "does"
                if final
                else f"billing finalise of {target}/ was killed before it finalised the folder; "
                "the month is not final"
            )
            continue
        numbers = sorted(
            [plan["number"]] if plan.get("number") else plan.get("numbers", {}).values()
        )
        shown = _range(numbers)
        if run_id_of(folder) == run_id:
            lines.append(
                f"not recorded yet: {shown}, on the invoices of {target}/ (run {run_id}), "
                f"published by a run killed before the register recorded them; the next billing "
                f"command on {output} records them"
            )
        else:
            lines.append(
                f"planned, not used: {shown}, by a run killed before {target}/ was in place (run "
                f"{run_id}); the next billing command on {output} drops them"
            )
    return lines + _moved_aside(output) + _left_behind(output)


def _left_behind(output: Path) -> list[str]:
    """One line per leftover of a killed command in ``output`` (``recovery.leftovers``): the
    listing is read only, so they are named with who removes them."""
    from billing_lib.recovery import leftovers

    return [
        f"left by a killed command: {name} ({what}); the next billing command on {output} "
        "removes it"
        for name, what in leftovers(output)
    ]


def _moved_aside(output: Path) -> list[str]:
    """One line per run folder a rerun killed while replacing it left moved aside
    (``.replaced-<period>-*``, its ``<period>/`` missing): the outputs folder showed no such month
    while the register listed its numbers (``recovery`` puts it back)."""
    from billing_lib.recovery import REPLACED

    lines = []
    for aside in sorted(Path(output).glob(".replaced-*")):
        match = REPLACED.match(aside.name)
        if not (match and aside.is_dir()) or (output / match.group(1)).exists():
            continue
        period = match.group(1)
        try:
            manifest = json.loads((aside / MANIFEST).read_text(encoding="utf-8"))
            numbers = sorted(str(i["invoice_number"]) for i in manifest["invoices"])
        except (OSError, ValueError, KeyError, TypeError):  # named without its numbers
            numbers = []
        held = f", whose invoices hold {_range(numbers)}," if numbers else ""
        lines.append(
            f"moved aside: {period}/{held} is {aside.name} (a run of {period} was killed while "
            f"replacing it); the next billing command on {output} puts it back"
        )
    return lines


def _range(numbers: list[str]) -> str:
    """``numbers`` (sorted) as a reader takes them in: one, or the first to the last and how
    many."""
    if not numbers:
        return "no numbers"
    if len(numbers) == 1:
        return numbers[0]
    return f"{numbers[0]} to {numbers[-1]} ({len(numbers)} numbers)"


def write_listing_csv(listing: pd.DataFrame, path: Path) -> Path:
    """``listing`` as CSV (UTF-8, the header ``COLUMNS``), written in one rename."""
    with atomic_target(Path(path)) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(listing[list(COLUMNS)].itertuples(index=False, name=None))
    return Path(path)


def _refuse_typed_otherwise(
    entries: list[RegisterEntry], series: str | None, customer: str | None
) -> None:
    """ParameterError when a filter that matched nothing names, but for its case or spaces, a
    series or customer of ``entries`` (``--customer c002``): "no numbers" and exit 0 read as a
    customer never billed."""
    from billing_lib.errors import ParameterError

    for option, given, values in (
        ("--series", series, {e.series for e in entries}),
        ("--customer", customer, {e.customer_id for e in entries if e.customer_id}),
    ):
        meant = sorted(
            v for v in values if given is not None and v.casefold() == given.strip().casefold()
        )
        if meant and given not in values:
            raise ParameterError(
                "billing register list",
                option,
                f"no number for {given!r}; did you mean {meant[0]}? (ids are matched exactly)",
            )


def _where(output: Path, entry: RegisterEntry) -> Path | None:
    """The folder holding ``entry``'s documents (None for a void number)."""
    if entry.status == "void":
        return None
    if entry.kind == "credit_note":
        return output / CORRECTIONS / entry.invoice_number
    return invoice_folder(output, entry)[0]


def _read(folder: Path) -> _Folder:
    """The summary rows (by number) and the buyers' names of a published folder; empty when it
    is not there."""
    rows: dict[str, dict[str, str]] = {}
    summary = folder / SUMMARY_CSV
    if summary.is_file():
        try:
            with open(summary, newline="", encoding="utf-8") as fh:
                rows = {r["invoice_number"]: r for r in csv.DictReader(fh)}
        except (KeyError, csv.Error, UnicodeDecodeError) as exc:
            raise RunError(
                f"{summary}: not an invoice summary as a run writes it ({exc!r}); restore it "
                "from a backup"
            ) from None
    names: dict[str, str] = {}
    for data in (folder / INVOICE_DATA, folder / CREDIT_NOTE_DATA):
        if data.is_file():
            names |= {n: inv.buyer.name for n, inv in read_invoice_data(data)[1].items()}
    return _Folder(rows, names)
