"""The run folders of an outputs folder and what the invoice register must know of them: every
run folder's and correction's numbers recorded, each series without a gap
(``check_register_knows_folders``, refused before a run takes a number)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from billing_lib.command_lines import arg
from billing_lib.errors import RunError
from billing_lib.numbering import Register
from billing_lib.numbering_records import (
    RegisterEntry,
    format_number,
)
from billing_lib.run_files import (
    CORRECTIONS,
    CREDIT_NOTE_DATA,
    FINALISED_MARKER,
    INVOICE_DATA,
    MANIFEST,
    REGISTER,
)

PERIOD_FOLDER = re.compile(r"^\d{4}-\d{2}$")


SHOWN_PROBLEMS = 12


def run_id_of(folder: Path) -> str | None:
    manifest = manifest_of(folder)
    return manifest.get("run_id") if manifest else None


def manifest_of(folder: Path) -> dict | None:
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
    register = Register(path) if path.exists() else None  # a folder there: named by Register
    entries = {e.invoice_number: e for e in register.entries()} if register else {}
    finalised = set(register.finalised_periods()) if register else set()
    problems = _series_problems(register) if register else []
    for folder in run_folders(output):
        manifest = manifest_of(folder)
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
            f"run folders: billing register rebuild --output {arg(output)}"
        )


def _correction_problems(output: Path, entries: dict[str, RegisterEntry]) -> list[str]:
    """The credit notes and reissued invoices of ``corrections/`` whose number the register
    (``entries``) does not have as theirs; RunError naming a manifest that cannot be read."""
    problems = []
    for folder in correction_folders(output):
        # damaged, it said "credit note None (corrects None) is not in the register" and sent the
        # user to a rebuild; it is the folder that needs restoring
        manifest = manifest_of(folder)
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


def rebuild_files(output: Path) -> list[Path]:
    """The unfinished registers ``_replace_register`` writes (and SQLite's journal beside one)."""
    return sorted(Path(output).glob(f".{REGISTER}.rebuild-*"))
