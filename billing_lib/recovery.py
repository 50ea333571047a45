"""What every run does first, holding the lock of its outputs folder (``open_output``): finish or
undo what a killed run left behind, and refuse when the invoice register does not know what the
run folders hold (``register_check``). ``billing register rebuild`` (``register_rebuild``)
restores a lost register from the run folders.

Left by a killed run, and what the next run does with it (and prints):

- a run that had begun publishing (``numbering.Register.begin_publishing``): when its folder is in
  place (its manifest carries the run's id) its numbers are recorded, else its plan is dropped;
- ``.replaced-<period>-*`` (the earlier run folder moved aside): put back when ``<period>/`` is
  missing (the new run never got into place), else removed;
- ``.superseded-<period>-*`` (an earlier run folder a published rerun could not remove): removed,
  or named with the way out while it cannot be;
- ``.staging-*`` (a run's unfinished files, also in ``corrections/``): removed;
- ``<period>/.FINALISED.<hex>.tmp`` (the marker of a killed ``billing finalise``, written, not
  moved in: the month is not finalised): removed;
- ``.invoice_register.sqlite.rebuild-*`` (the new register of a killed ``billing register
  rebuild``, and SQLite's journal beside it): removed, the register in place is the earlier one;
- ``.<name>.<hex>.tmp`` in the outputs folder (a file of ``run_files.atomic_target`` a command
  that holds no lock was killed writing: ``billing register list --csv``, the customers sync's
  diff): removed, or named while the process that wrote it may still run
  (``run_files.remove_temporaries``).

Only a run holding the lock cleans, so it never touches the folders of a live run. A leftover
that cannot be removed (read-only, another user's) is named with the way out and stops nothing:
none is ever used again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from billing_lib.command_lines import arg
from billing_lib.errors import RunError
from billing_lib.faults import pause_point
from billing_lib.locking import OutputLock, acquire
from billing_lib.numbering import Register, check_register_is_a_file, unwritable_register
from billing_lib.publishing import SUPERSEDED, discard_replaced, remove_tree
from billing_lib.register_check import (
    PERIOD_FOLDER,
    RUN_FILES,
    check_register_knows_folders,
    rebuild_files,
    run_id_of,
)
from billing_lib.run_files import (
    CORRECTIONS,
    CREDIT_NOTE_DATA,
    FINALISED_MARKER,
    INVOICE_DATA,
    MANIFEST,
    REGISTER,
    TEMPORARY,
    remove_temporaries,
)

REPLACED = re.compile(r"^\.replaced-(\d{4}-\d{2})-[0-9a-f]+$")
#: the temporary file of a FINALISED marker (``run_files.atomic_target``)
MARKER_TMP = re.compile(rf"^\.{FINALISED_MARKER}\.[0-9a-f]+\.tmp$")


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
                f"outputs folder itself (--output {arg(parent)}); nothing was written"
            )


def _check_writable(output: Path) -> None:
    register = output / REGISTER
    check_register_is_a_file(register)
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
        *_remove_superseded(output),
        *_remove_staging(output),
        *_remove_marker_files(output),
        *_remove_rebuild_files(output),
        *remove_temporaries(output, output),
    ]


def leftovers(output: Path) -> list[tuple[str, str]]:
    """What killed commands left in ``output`` that ``recover`` removes, without touching it (for
    ``billing register list``, read only): (name relative to ``output``, what it is). A run folder
    moved aside whose place is empty is put back instead (``register_listing``)."""
    output = Path(output)
    found: list[tuple[Path, str]] = []
    for folder in (output, output / CORRECTIONS):
        found += [
            (p, "the unfinished files of a killed run")
            for p in (sorted(folder.glob(".staging-*")) if folder.is_dir() else [])
        ]
    found += [
        (p, "an earlier run folder a rerun replaced") for p in sorted(output.glob(f"{SUPERSEDED}*"))
    ]
    for old in sorted(output.glob(".replaced-*")):
        match = REPLACED.match(old.name)
        if match and old.is_dir() and (output / match.group(1)).exists():
            found.append((old, f"the earlier {match.group(1)}/ a killed run had replaced"))
    found += [(p, "the unfinished register of a killed rebuild") for p in rebuild_files(output)]
    for folder in sorted(output.iterdir()) if output.is_dir() else []:
        if PERIOD_FOLDER.match(folder.name) and folder.is_dir():
            found += [
                (p, f"the unfinished {FINALISED_MARKER} marker of a killed billing finalise")
                for p in sorted(folder.iterdir())
                if MARKER_TMP.match(p.name)
            ]
    found += [
        (p, f"the unfinished {match.group(1)} of a killed command")
        for p in sorted(output.iterdir())
        if output.is_dir()
        if (match := TEMPORARY.match(p.name)) and p.is_file()
    ]
    return [(str(p.relative_to(output)), what) for p, what in found]


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
        elif run_id_of(output / target) == run_id:
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
            continue
        what = f"the earlier {target.name}/ a killed run had replaced"
        left, problem = discard_replaced(old, target.name)
        done.append(
            f"removed {old.name}: {what}" if problem is None else _left(left.name, what, problem)
        )
    return done


def _remove_superseded(output: Path) -> list[str]:
    """Earlier run folders a published rerun replaced and could not remove (``.superseded-*``,
    ``publishing.discard_replaced``): removed now, or said again."""
    done = []
    for left in sorted(output.glob(f"{SUPERSEDED}*")):
        what = "an earlier run folder a rerun replaced, never used again"
        problem = remove_tree(left) if left.is_dir() else None
        done.append(
            f"removed {left.name}: {what}" if problem is None else _left(left.name, what, problem)
        )
    return done


def _left(name: object, what: str, problem: str) -> str:
    """The line for the leftover ``name`` (as the outputs folder has it) that cannot be removed:
    named, and the way out."""
    return (
        f"{name} cannot be removed ({problem}): {what}; remove it by hand (make it writable first)"
    )


def _remove_staging(output: Path) -> list[str]:
    """The unfinished files of killed runs and credit notes, removed."""
    done = []
    what = "the unfinished files of a run that was killed"
    for folder in (output, output / CORRECTIONS):
        for staging in sorted(folder.glob(".staging-*")) if folder.is_dir() else []:
            name = staging.relative_to(output)
            problem = remove_tree(staging) if staging.is_dir() else _unlink(staging)
            done.append(
                f"removed {name}: {what}" if problem is None else _left(name, what, problem)
            )
    return done


def _remove_marker_files(output: Path) -> list[str]:
    """The FINALISED markers a killed ``billing finalise`` wrote and never moved in, removed:
    its month is not finalised (the register dropped its plan), and no command reads them."""
    done = []
    what = f"the unfinished {FINALISED_MARKER} marker of a billing finalise that was killed"
    for folder in sorted(output.iterdir()) if output.is_dir() else []:
        if not (PERIOD_FOLDER.match(folder.name) and folder.is_dir()):
            continue
        for left in sorted(p for p in folder.iterdir() if MARKER_TMP.match(p.name)):
            name = left.relative_to(output)
            problem = _unlink(left)
            done.append(
                f"removed {name}: {what}" if problem is None else _left(name, what, problem)
            )
    return done


def _unlink(path: Path) -> str | None:
    """Remove the file ``path``; None when it is gone, else why it is not (``remove_tree``)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    return None


def _remove_rebuild_files(output: Path) -> list[str]:
    """The unfinished register of a killed ``billing register rebuild``, removed: the register in
    place is still the one before it (the new one is moved in only once complete)."""
    done = []
    what = "the unfinished register of a register rebuild that was killed"
    for left in rebuild_files(output):
        problem = _unlink(left)
        done.append(
            f"removed {left.name}: {what}" if problem is None else _left(left.name, what, problem)
        )
    return done
