"""``billing register rebuild`` (``rebuild_register``): a lost or damaged invoice register restored
from the run folders' manifests and invoices and the corrections' folders, written beside the
register and moved into its place in one step (a killed rebuild leaves the earlier register)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from billing_lib.errors import RunError
from billing_lib.faults import pause_point
from billing_lib.importers.report_names import reports_among
from billing_lib.numbering import Register
from billing_lib.numbering_records import (
    NO_INVOICE_IN_RERUN,
    rerun_in_series,
    void_held_for,
    void_note,
    void_notes,
)
from billing_lib.parameter_paths import PARAMETERS_MARKS
from billing_lib.register_check import SHOWN_PROBLEMS, correction_folders, manifest_of, run_folders
from billing_lib.run_files import (
    CORRECTIONS,
    CREDIT_NOTE_DATA,
    FINALISED_MARKER,
    INVOICE_DATA,
    MANIFEST,
    REGISTER,
    marker_text,
)

NUMBER = re.compile(r"^(.+)-(\d+)$")


class _Found:
    """The register's rows as the folders give them (by number), where each came from, the
    finalised periods, and what is wrong."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple] = {}
        self.source: dict[str, str] = {}
        self.finalised: dict[str, str] = {}
        self.problems: list[str] = []

    def add(self, number: str, where: str, row: tuple) -> None:
        if number in self.rows:
            self.problems.append(f"{number} is in both {self.source[number]} and {where}")
            return
        self.rows[number], self.source[number] = row, where


def _finalised_time(marker: Path) -> str:
    """The time a FINALISED marker records, or now when its text is no time (emptied, damaged):
    the marker's presence makes the run final, its time is the register's note of when."""
    text = marker_text(marker).removeprefix("finalised ")
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return datetime.now(UTC).replace(microsecond=0).isoformat()
    return text


def check_something_to_rebuild(output: Path) -> None:
    """RunError when ``output`` (a folder) holds no run folder and no correction: there is
    nothing to rebuild the register from, and an empty one would restart every series (a
    register there is left as it is). Naming the parameters files or the vendor reports it
    holds when it does: that folder given for the outputs folder. Checked before the lock, so
    that nothing (not even the lock file) is written into a wrong folder."""
    output = Path(output)
    if not output.is_dir() or run_folders(output) or correction_folders(output):
        return
    marks = [m for m in PARAMETERS_MARKS if (output / m).is_file()]
    # a workbook is no report (a price list, an export kept there): it is not named as one
    reports = [p.name for p in reports_among(output)]
    shown = ", ".join(reports[:3]) + (", ..." if len(reports) > 3 else "")
    if marks:  # its CSV files (accounts.csv) are no vendor reports
        hint = (
            f". It holds parameters files ({', '.join(marks)}): is it the parameters folder? "
            "Give the outputs folder of the runs (--output)"
        )
    elif reports:
        hint = (
            f". It holds vendor reports ({shown}): is it the reports folder? Give the outputs "
            "folder of the runs (--output)"
        )
    else:
        hint = (
            "; a register there is left as it is. Give the outputs folder of the runs "
            "(--output), or restore its run folders from a backup first; a new outputs folder "
            "needs no rebuild (the first run creates its register)"
        )
    raise RunError(
        f"{output}: no run folder (YYYY-MM/ with {MANIFEST}) and no credit note or reissued "
        f"invoice ({CORRECTIONS}/) to rebuild the invoice register from; nothing was written" + hint
    )


def rebuild_register(output: Path) -> list[str]:
    """Write ``output/invoice_register.sqlite`` anew from the run folders' ``invoices.json`` (and
    the void numbers their manifests list) and the credit notes in ``corrections/``; the caller
    holds the lock. Refused, with nothing written, when a number is in two folders or a series
    has a gap no folder explains. The new file is complete before it replaces the old one (kept
    beside it as ``invoice_register.sqlite.before-rebuild-<time>``). What was done, one line
    each."""
    output = Path(output)
    check_something_to_rebuild(output)
    found = _Found()
    folders = run_folders(output)
    for folder in folders:
        _add_run(found, folder)
    notes = correction_folders(output)
    for folder in notes:
        _add_correction(found, folder)
    series = _series(found)
    given_back = _check_earlier_register(output / REGISTER, found)
    if found.problems:
        raise RunError(
            f"{output / REGISTER}: cannot rebuild the register from the run folders; nothing was "
            "written:\n  - " + "\n  - ".join(found.problems)
        )
    kept = _replace_register(output, found, series)
    reissued = sum(1 for f in notes if _is_reissue(f))
    target = output / REGISTER
    finalised = ", ".join(sorted(found.finalised)) or "none"
    rebuilt = (
        f"rebuilt {target} from {len(folders)} run folders"
        + (
            f", {len(notes) - reissued} credit notes and {reissued} reissued invoices"
            if reissued
            else f" and {len(notes)} credit notes"
        )
        + f" (finalised: {finalised})"
    )
    done = [rebuilt]
    for name, numbers in sorted(series.items(), reverse=True):
        void = sum(1 for n, r in found.rows.items() if n.startswith(name + "-") and r[5] == "void")
        done.append(
            f"{name}: {name}-000001 to {name}-{max(numbers):06d} ({len(numbers)} numbers, "
            f"{void} void)"
        )
    return done + given_back + kept


def _check_earlier_register(path: Path, found: _Found) -> list[str]:
    """What the earlier register (when there is a readable one) issued that no folder holds: a
    final number, a finalised month. A rebuild without them would give those numbers again, so
    they are problems (restore the folders, or move a register known to be wrong aside). Its
    reserved numbers of a month not finalised whose folder is gone are given back, one line."""
    if not path.is_file():
        return []
    try:
        register = Register(path)
        entries, finalised = register.entries(), register.finalised_periods()
    except RunError:  # unreadable: the folders are all there is
        return []
    lost = []
    for e in entries:
        if e.status == "void" or e.invoice_number in found.rows:
            continue
        if e.status == "final":
            kind = "credit note" if e.kind == "credit_note" else e.kind
            lost.append(
                f"{e.invoice_number} ({kind} of {e.customer_id}, {e.period}, issued "
                f"{e.issue_date}) is final in the register and in no folder"
            )
    lost += [
        f"{period} is finalised in the register; its folder {period}/ is not"
        for period in finalised
        if period not in found.finalised
    ]
    if lost:
        shown = lost[:SHOWN_PROBLEMS] + (
            [f"... and {len(lost) - SHOWN_PROBLEMS} more"] if len(lost) > SHOWN_PROBLEMS else []
        )
        found.problems += [
            *shown,
            "a register rebuilt without them would issue those numbers again: restore those "
            "folders from a backup (the register is left as it is); only if the register itself "
            f"is wrong, move {path.name} aside and rebuild again",
        ]
    dropped = sorted(
        e.invoice_number
        for e in entries
        if e.status == "reserved" and e.invoice_number not in found.rows
    )
    return (
        [
            f"given back: {', '.join(dropped)}, reserved in the earlier register for a month not "
            "finalised, in no run folder now"
        ]
        if dropped
        else []
    )


def _add_run(found: _Found, folder: Path) -> None:
    """The invoices of the run folder ``folder`` (reserved, or final with its period when the
    run is finalised) and the void numbers its manifest lists."""
    from billing_lib.invoice_files import read_invoice_data

    period, manifest = folder.name, manifest_of(folder) or {}
    data = folder / INVOICE_DATA
    if data.is_file():
        _, invoices = read_invoice_data(data)
    elif manifest.get("invoices"):
        raise RunError(
            f"{data}: missing, though {folder / MANIFEST} lists invoices; the register cannot "
            "be rebuilt from this folder (restore it from a backup)"
        )
    elif not manifest:  # its numbers are in neither file: rebuilt without them, they restart
        raise RunError(
            f"{folder}: its {MANIFEST} cannot be read and it holds no {INVOICE_DATA}, so which "
            "invoice numbers this run issued is unknown; the register cannot be rebuilt from "
            "this folder (restore them from a backup)"
        )
    else:
        invoices = {}
    marker = folder / FINALISED_MARKER
    status = "final" if marker.is_file() else "reserved"
    if status == "final":
        found.finalised[period] = _finalised_time(marker)
    for number, inv in invoices.items():
        if inv.period != period:
            found.problems.append(f"{data}: {number} is of period {inv.period}, not {period}")
        found.add(
            number,
            f"{period}/{INVOICE_DATA}",
            (number, "invoice", period, inv.customer_id, None, status, inv.issue_date, None),
        )
    numbering = manifest.get("numbering") or {}
    held_for = void_held_for(numbering)  # none in a manifest from before they were recorded
    notes = void_notes(numbering)  # nor these
    for number in numbering.get("void", []):
        note = notes.get(number) or _void_note_of_old_manifest(number, numbering.get("series"))
        customer, day = held_for.get(number, (None, None))
        found.add(
            number,
            f"{period}/{MANIFEST}",
            (number, "invoice", period, customer, None, "void", day, note),
        )


def _void_note_of_old_manifest(number: str, series: object) -> str:
    """The note of a void number a manifest lists without one (written before they were
    recorded): a number of another series than the run's was voided by the month rerun in the
    run's series, any other by its customer having no invoice in a rerun."""
    match = NUMBER.match(number)
    if isinstance(series, str) and match and match.group(1) != series:
        return void_note(rerun_in_series(series))
    return void_note(NO_INVOICE_IN_RERUN)


def _add_correction(found: _Found, folder: Path) -> None:
    """The credit note, or the invoice replacing a credited one (``billing reissue``), of
    ``corrections/<number>/`` (final at once)."""
    from billing_lib.invoice_files import read_invoice_data

    reissue = _is_reissue(folder)
    name = INVOICE_DATA if reissue else CREDIT_NOTE_DATA
    data = folder / name
    if not data.is_file():
        what = "invoice" if reissue else "credit note"
        raise RunError(f"{data}: missing; the {what} {folder.name} cannot be restored")
    for number, note in read_invoice_data(data)[1].items():
        found.add(
            number,
            f"{CORRECTIONS}/{folder.name}/{name}",
            (
                number,
                note.kind,
                note.period,
                note.customer_id,
                note.refers_to,
                "final",
                note.issue_date,
                note.note,
            ),
        )


def _is_reissue(folder: Path) -> bool:
    """Whether ``corrections/<number>/`` holds an invoice replacing a credited one (not a credit
    note): as its manifest says, or, the manifest damaged, as its data file does (a reissued
    invoice's ``invoices.json``, a credit note's ``credit_note.json``), which the register is
    rebuilt from anyway."""
    manifest = manifest_of(folder)
    if manifest is not None:
        return manifest.get("kind") == "reissue"
    return (folder / INVOICE_DATA).is_file() and not (folder / CREDIT_NOTE_DATA).is_file()


def _series(found: _Found) -> dict[str, list[int]]:
    """The numbers of each series; a number not of the form SERIES-000001, or a gap in a
    series, is a problem."""
    series: dict[str, list[int]] = {}
    for number in found.rows:
        match = NUMBER.match(number)
        if not match:
            found.problems.append(
                f"{found.source[number]}: {number} is not a number of the form SERIES-000001"
            )
            continue
        series.setdefault(match.group(1), []).append(int(match.group(2)))
    for name, numbers in sorted(series.items()):
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if missing:
            shown = ", ".join(f"{name}-{n:06d}" for n in missing[:SHOWN_PROBLEMS])
            found.problems.append(
                f"series {name}: {shown}{' ...' if len(missing) > SHOWN_PROBLEMS else ''} in no "
                "run folder (nor void in a run's manifest): restore the run folder or credit "
                "note that holds it from a backup"
            )
    return series


def _replace_register(output: Path, found: _Found, series: dict[str, list[int]]) -> list[str]:
    """Write the register complete beside the old one, keep a copy of the old one, and move
    the new one into place; what was kept, one line."""
    target = output / REGISTER
    tmp = output / f".{REGISTER}.rebuild-{secrets.token_hex(4)}"
    done = []
    try:
        _write_register(tmp, found.rows, series, found.finalised)
        pause_point("register-rebuild-written")
        if target.exists():
            done.append(_keep_earlier(target))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return done


def _keep_earlier(target: Path) -> str:
    """Copy the register ``target`` beside it (``.before-rebuild-<time>``) before the rebuilt
    one replaces it; what was kept, one line. A readable one has a crashed transaction settled
    first; an unreadable one is kept as it is: it is the damage a rebuild repairs (the rebuild
    refused it with the very message that sent the user to the rebuild)."""
    try:
        Register(target).entries()  # settles a crashed transaction before the copy
        readable = True
    except RunError:
        readable = False
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = target.with_name(f"{REGISTER}.before-rebuild-{stamp}")
    shutil.copy2(target, kept)
    if readable:
        return f"the earlier register is kept as {kept.name}"
    return f"the earlier register (not readable) is kept as {kept.name}, as it was"


def _write_register(
    path: Path, rows: dict[str, tuple], series: dict[str, list[int]], finalised: dict[str, str]
) -> None:
    Register(path)  # the tables
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    db = sqlite3.connect(path)
    try:
        with db:
            for number, (_, kind, period, customer, refers, status, issued, note) in rows.items():
                name, n = number.rsplit("-", 1)  # checked against NUMBER by _series
                db.execute(
                    "INSERT INTO numbers (series, number, invoice_number, kind, period, "
                    "customer_id, "
                    "refers_to, status, issue_date, note, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?)",
                    [
                        name,
                        int(n),
                        number,
                        kind,
                        period,
                        customer,
                        refers,
                        status,
                        issued.isoformat() if hasattr(issued, "isoformat") else issued,
                        note,
                        now,
                    ],
                )
            db.executemany(
                "INSERT INTO series VALUES (?, ?)", [(s, max(ns)) for s, ns in series.items()]
            )
            db.executemany("INSERT INTO finalised_periods VALUES (?, ?)", sorted(finalised.items()))
    finally:
        db.close()
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
