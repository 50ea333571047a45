"""What every run does first, holding the lock of its outputs folder (``open_output``): finish or
undo what a killed run left behind, and refuse when the invoice register does not know what the
run folders hold. ``billing register rebuild`` (``rebuild_register``) restores a lost register
from the run folders.

Left by a killed run, and what the next run does with it (and prints):

- a run that had begun publishing (``numbering.Register.begin_publishing``): when its folder is in
  place (its manifest carries the run's id) its numbers are recorded, else its plan is dropped;
- ``.replaced-<period>-*`` (the earlier run folder moved aside): put back when ``<period>/`` is
  missing (the new run never got into place), else removed;
- ``.staging-*`` (a run's unfinished files, also in ``corrections/``): removed;
- ``.invoice_register.sqlite.rebuild-*`` (the new register of a killed ``billing register
  rebuild``, and SQLite's journal beside it): removed, the register in place is the earlier one.

Only a run holding the lock cleans, so it never touches the folders of a live run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from billing_lib.errors import InputError, RunError
from billing_lib.faults import pause_point
from billing_lib.importers.report_names import report_files
from billing_lib.locking import OutputLock, acquire
from billing_lib.numbering import Register, unwritable_register
from billing_lib.numbering_records import (
    NO_INVOICE_IN_RERUN,
    RegisterEntry,
    format_number,
    rerun_in_series,
    void_held_for,
    void_note,
    void_notes,
)
from billing_lib.run_files import (
    CORRECTIONS,
    CREDIT_NOTE_DATA,
    FINALISED_MARKER,
    INVOICE_DATA,
    MANIFEST,
    REGISTER,
    marker_text,
)

PERIOD_FOLDER = re.compile(r"^\d{4}-\d{2}$")
REPLACED = re.compile(r"^\.replaced-(\d{4}-\d{2})-[0-9a-f]+$")
NUMBER = re.compile(r"^(.+)-(\d+)$")
SHOWN_PROBLEMS = 12


def open_output(
    output: Path,
    command: str | None = None,
    wait: float = 0,
    create: bool = True,
    check: bool = True,
) -> tuple[OutputLock, list[str]]:
    """Lock ``output`` for a run (refusing, or waiting ``wait`` seconds, when another holds it),
    check the register is writable, clean what killed runs left, and check (unless ``check`` is
    False: the rebuild) the register knows every run folder. Returns the lock and what was
    cleaned, one line each."""
    output = Path(output)
    check_not_in_a_run_folder(output)
    if output.exists() and not output.is_dir():  # mkdir's "File exists" read as a folder
        raise RunError(
            f"{output}: is a file, not a folder; the outputs folder holds the run folders and "
            "the invoice register: give a folder (billing run --output, the notebook's output)"
        )
    if create:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"{output}: cannot create the outputs folder ({exc.strerror})") from None
    elif not output.is_dir():
        raise RunError(f"{output}: no such outputs folder")
    pause_point("lock-asked")
    lock = acquire(output, command, wait)
    try:
        _check_writable(output)
        cleaned = recover(output, tolerate_bad_register=not check)
        if check:
            check_register_knows_folders(output)
        pause_point("locked")
    except BaseException:
        lock.release()
        raise
    return lock, cleaned


def _what_folder(folder: Path) -> str | None:
    """What ``folder`` is, when it is a folder of an outputs folder rather than one: a run
    folder (``YYYY-MM/`` holding a run's files), a credit note's or reissued invoice's folder,
    or ``corrections/`` (beside an invoice register)."""
    if not folder.is_dir():
        return None
    if PERIOD_FOLDER.match(folder.name) and any((folder / f).is_file() for f in RUN_FILES):
        return f"the run folder of {folder.name}"
    if folder.name == CORRECTIONS and (folder.parent / REGISTER).is_file():
        return "the folder of its credit notes and reissued invoices"
    if folder.parent.name == CORRECTIONS and any(
        (folder / f).is_file() for f in (MANIFEST, CREDIT_NOTE_DATA, INVOICE_DATA)
    ):
        return f"the folder of the correction {folder.name}"
    return None


def check_not_in_a_run_folder(output: Path) -> None:
    """RunError when ``output`` is, or is in, a run folder or the corrections of an outputs
    folder (``--output outputs/2026-10``): a run there started a register of its own, so it
    issued the series' numbers a second time, and wrote into a finalised run folder."""
    given = Path(output)
    resolved = given.resolve()
    for folder in (resolved, *resolved.parents):
        what = _what_folder(folder)
        if what is not None:
            parent = folder.parent.parent if folder.parent.name == CORRECTIONS else folder.parent
            where = what if folder == resolved else f"in {what} ({folder})"
            raise RunError(
                f"{given}: is not an outputs folder: it is {where} of the outputs folder "
                f"{parent}. A run or correction there would begin an invoice register "
                f"of its own and issue numbers {parent / REGISTER} has issued already. Give the "
                f"outputs folder itself (--output {parent}); nothing was written"
            )


def _check_writable(output: Path) -> None:
    register = output / REGISTER
    if output.exists() and not os.access(output, os.W_OK):
        raise RunError(
            f"{output}: the outputs folder cannot be written (read-only or no permission); a run "
            f"publishes its folder and records its invoice numbers in {register} there. Make it "
            f"writable for this user (chmod u+w {output}), or give the run another output folder "
            "(--output); nothing was changed"
        )
    if register.exists() and not os.access(register, os.W_OK):
        raise unwritable_register(register, "a readonly file for this user")


def recover(output: Path, tolerate_bad_register: bool = False) -> list[str]:
    """Finish or undo what killed runs left in ``output`` (see the module docstring); the caller
    holds the lock. What was done, one line each. ``tolerate_bad_register`` (the rebuild): an
    unreadable register is left alone."""
    output = Path(output)
    return [
        *_finish_publishing(output, tolerate_bad_register),
        *_put_back_replaced(output),
        *_remove_staging(output),
        *_remove_rebuild_files(output),
    ]


def _finish_publishing(output: Path, tolerate_bad_register: bool) -> list[str]:
    """Record the numbers of each run that began publishing and whose folder is in place; drop
    the plans of the others."""
    path = output / REGISTER
    if not path.is_file():
        return []
    try:
        register = Register(path)
        pending = register.pending_publishing()
    except RunError:
        if not tolerate_bad_register:
            raise
        return []
    done = []
    for run_id, target, plan in pending:
        if plan.get("kind") == "finalise":
            done.append(_finish_finalising(register, run_id, output / target))
        elif _run_id_of(output / target) == run_id:
            register.commit_publishing(run_id)
            done.append(
                f"recorded the numbers of {target}/ in the register: its run (id {run_id}) was "
                "killed after moving the folder into place"
            )
        else:
            register.abandon_publishing(run_id)
            what = plan.get("number") or ", ".join(sorted(plan.get("numbers", {}).values()))
            done.append(
                f"dropped the planned numbers of a run killed before {target}/ was in place "
                f"(run id {run_id}; {what or 'no numbers'} not used)"
            )
    return done


def finished_finalising(period: str) -> str:
    """How a cleanup that recorded ``period`` as finalised begins its line (``billing finalise``
    asked again finds what it asked for done by it)."""
    return f"recorded {period} as finalised in the register"


def _finish_finalising(register: Register, run_id: str, folder: Path) -> str:
    """A ``billing finalise`` killed after it began: its folder's FINALISED marker says whether
    it got as far as finalising the folder (then the register records it) or not (then nothing
    was finalised, and the register forgets it began)."""
    if (folder / FINALISED_MARKER).is_file():
        register.commit_publishing(run_id)
        return (
            f"{finished_finalising(folder.name)}: billing finalise was killed, or could not "
            "write the register, after finalising its folder"
        )
    register.abandon_publishing(run_id)
    return f"{folder.name} is not finalised: billing finalise was killed before finalising it"


def _put_back_replaced(output: Path) -> list[str]:
    """An earlier run folder a killed run had moved aside: put back when its place is empty,
    else removed."""
    done = []
    for old in sorted(output.glob(".replaced-*")):
        match = REPLACED.match(old.name)
        if not old.is_dir() or not match:
            continue
        target = output / match.group(1)
        if not target.exists():
            old.rename(target)
            done.append(
                f"put back {target.name}/ from {old.name}: a run was killed while replacing it"
            )
        else:
            shutil.rmtree(old, ignore_errors=True)
            done.append(f"removed {old.name}: the earlier {target.name}/ a killed run had replaced")
    return done


def _remove_staging(output: Path) -> list[str]:
    """The unfinished files of killed runs and credit notes, removed."""
    done = []
    for folder in (output, output / CORRECTIONS):
        for staging in sorted(folder.glob(".staging-*")) if folder.is_dir() else []:
            shutil.rmtree(staging, ignore_errors=True)
            done.append(
                f"removed {staging.relative_to(output)}: the unfinished files of a run that was "
                "killed"
            )
    return done


def _remove_rebuild_files(output: Path) -> list[str]:
    """The unfinished register of a killed ``billing register rebuild``, removed: the register in
    place is still the one before it (the new one is moved in only once complete)."""
    done = []
    for left in _rebuild_files(output):
        left.unlink(missing_ok=True)
        done.append(
            f"removed {left.name}: the unfinished register of a register rebuild that was killed"
        )
    return done


def _run_id_of(folder: Path) -> str | None:
    manifest = _manifest(folder)
    return manifest.get("run_id") if manifest else None


def _manifest(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


#: The files of which one makes ``YYYY-MM/`` a published run folder. Not the manifest alone: a
#: run folder whose manifest was lost (deleted, not copied back) still holds its invoice numbers
#: in ``invoices.json``. A folder holding neither (a ``FINALISED`` marker and a summary, what the
#: review reads of an earlier month) holds no number to check.
RUN_FILES = (MANIFEST, INVOICE_DATA)


def run_folders(output: Path) -> list[Path]:
    """The published run folders ``output/YYYY-MM/`` (holding a manifest or ``invoices.json``),
    in period order."""
    return sorted(
        p
        for p in Path(output).iterdir()
        if p.is_dir() and PERIOD_FOLDER.match(p.name) and any((p / f).is_file() for f in RUN_FILES)
    )


def unreadable_manifest(folder: Path) -> RunError:
    """The RunError for a run folder whose manifest is lost or damaged: its numbers cannot be
    checked against the register, nor the reports it billed against a later month's."""
    path = folder / MANIFEST
    if not path.exists():
        state = "missing"
    else:
        try:
            json.loads(path.read_text(encoding="utf-8"))
            state = "not a run's manifest (a JSON object)"
        except (OSError, ValueError):
            state = "cannot be read (damaged, or cut short by a copy)"
    return RunError(
        f"{path}: {state}, though {folder.name}/ holds a run's {INVOICE_DATA}; whether the "
        "register knows its invoice numbers, and which reports "
        "it billed, cannot be checked, so a run now could issue those numbers or bill those "
        "reports again. Nothing was changed. Restore it from a backup (billing register rebuild "
        f"reads the folder's {INVOICE_DATA} without it)"
    )


def correction_folders(output: Path) -> list[Path]:
    """The published credit notes and reissued invoices ``output/corrections/<number>/`` (with a
    manifest, or, the manifest lost, the credit note's or invoice's data file)."""
    folder = Path(output) / CORRECTIONS
    if not folder.is_dir():
        return []
    files = (MANIFEST, CREDIT_NOTE_DATA, INVOICE_DATA)
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any((p / f).is_file() for f in files)
    )


def check_register_knows_folders(output: Path) -> None:
    """RunError when a run folder, credit note or reissued invoice holds a number the register
    does not have as that folder's (the register lost, or replaced by an older copy): a run now
    could give those numbers again."""
    output = Path(output)
    path = output / REGISTER
    register = Register(path) if path.is_file() else None
    entries = {e.invoice_number: e for e in register.entries()} if register else {}
    finalised = set(register.finalised_periods()) if register else set()
    problems = _series_problems(register) if register else []
    for folder in run_folders(output):
        manifest = _manifest(folder)
        if manifest is None:  # skipped, a lost register was not noticed and the series restarted
            raise unreadable_manifest(folder)
        for inv in manifest.get("invoices", []):
            number, customer = inv.get("invoice_number"), inv.get("customer_id")
            e = entries.get(number)
            if e is None:
                problems.append(f"{folder.name}/: {number} ({customer}) is not in the register")
            elif (e.kind, e.period, e.customer_id) != ("invoice", folder.name, customer) or (
                e.status == "void"
            ):
                problems.append(
                    f"{folder.name}/: {number} ({customer}) is in the register as {e.status} "
                    f"{e.kind} "
                    f"of {e.customer_id}, period {e.period}"
                )
        if (folder / FINALISED_MARKER).is_file() and folder.name not in finalised:
            problems.append(f"{folder.name}/ is finalised; the register does not have it so")
    problems += _correction_problems(output, entries)
    if problems:
        shown = problems[:SHOWN_PROBLEMS]
        if len(problems) > SHOWN_PROBLEMS:
            shown.append(f"... and {len(problems) - SHOWN_PROBLEMS} more")
        raise RunError(
            f"{path}: the invoice register does not know what these run folders hold, so a run now "
            "could issue their numbers again or leave a gap (was the register deleted, lost, "
            "replaced by an older copy, or was it edited?):\n  - "
            + "\n  - ".join(shown)
            + "\nNothing was changed. Restore the register from a backup, or rebuild it from the "
            f"run folders: billing register rebuild --output {output}"
        )


def _correction_problems(output: Path, entries: dict[str, RegisterEntry]) -> list[str]:
    """The credit notes and reissued invoices of ``corrections/`` whose number the register
    (``entries``) does not have as theirs; RunError naming a manifest that cannot be read."""
    problems = []
    for folder in correction_folders(output):
        # damaged, it said "credit note None (corrects None) is not in the register" and sent the
        # user to a rebuild; it is the folder that needs restoring
        manifest = _manifest(folder)
        if manifest is None:
            state = (
                "missing (deleted, or left out of a copy)"
                if not (folder / MANIFEST).exists()
                else "cannot be read (damaged, or cut short by a copy)"
            )
            raise RunError(
                f"{folder / MANIFEST}: {state}, so "
                f"whether the register knows the number {CORRECTIONS}/{folder.name}/ holds cannot "
                "be checked; nothing was changed. Restore the file from a backup"
            )
        kind = "invoice" if manifest.get("kind") == "reissue" else "credit_note"
        number = manifest.get("invoice" if kind == "invoice" else "credit_note")
        e = entries.get(str(number))
        if e is None or e.kind != kind or e.refers_to != manifest.get("corrects"):
            what = "invoice" if kind == "invoice" else "credit note"
            problems.append(
                f"{CORRECTIONS}/{folder.name}/: {what} {number} (corrects "
                f"{manifest.get('corrects')}) is not in the register"
            )
    return problems


def _series_problems(register: Register) -> list[str]:
    """Each series of the register must hold every number from 1 to its counter (void ones
    included): a counter raised by an edit would make the next number leave a gap, one lowered
    or a row deleted would give a number twice or leave one unaccounted for."""
    held: dict[str, set[int]] = {}
    for e in register.entries():
        held.setdefault(e.series, set()).add(e.number)
    counters = register.counters()
    problems = []
    for series in sorted(set(held) | set(counters)):
        numbers, last = held.get(series, set()), counters.get(series, 0)
        top = max(numbers, default=0)
        if top != last:
            problems.append(
                f"series {series}: its counter is at {format_number(series, last)}, its numbers "
                f"end at {format_number(series, top)}"
            )
        missing = sorted(set(range(1, top + 1)) - numbers)
        if missing:
            shown = ", ".join(format_number(series, n) for n in missing[:SHOWN_PROBLEMS])
            more = " ..." if len(missing) > SHOWN_PROBLEMS else ""
            problems.append(
                f"series {series}: {shown}{more} {'is' if len(missing) == 1 else 'are'} missing"
            )
    return problems


# -- billing register rebuild -------------------------------------------------------------------


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
    register there is left as it is). Naming the vendor reports it holds when it does: the
    reports folder given for the outputs folder. Checked before the lock, so that nothing (not
    even the lock file) is written into a wrong folder."""
    output = Path(output)
    if not output.is_dir() or run_folders(output) or correction_folders(output):
        return
    try:
        reports = [p.name for p in report_files(output)]
    except InputError:  # a spreadsheet workbook among them: a reports folder too
        reports = ["a spreadsheet workbook"]
    shown = ", ".join(reports[:3]) + (", ..." if len(reports) > 3 else "")
    raise RunError(
        f"{output}: no run folder (YYYY-MM/ with {MANIFEST}) and no credit note or reissued "
        f"invoice ({CORRECTIONS}/) to rebuild the invoice register from; nothing was written"
        + (
            f". It holds vendor reports ({shown}): is it the reports folder? Give the outputs "
            "folder of the runs (--output)"
            if reports
            else "; a register there is left as it is. Give the outputs folder of the runs "
            "(--output), or restore its run folders from a backup first; a new outputs folder "
            "needs no rebuild (the first run creates its register)"
        )
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

    period, manifest = folder.name, _manifest(folder) or {}
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
    manifest = _manifest(folder)
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
            Register(target).entries()  # settles a crashed transaction before the copy
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = target.with_name(f"{REGISTER}.before-rebuild-{stamp}")
            shutil.copy2(target, kept)
            done.append(f"the earlier register is kept as {kept.name}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return done


def _rebuild_files(output: Path) -> list[Path]:
    """The unfinished registers ``_replace_register`` writes (and SQLite's journal beside one)."""
    return sorted(Path(output).glob(f".{REGISTER}.rebuild-*"))


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
