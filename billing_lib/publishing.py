"""Publishing a run folder atomically, and what a run records about itself.

Every file of a run is written into a hidden staging folder next to ``<output>/<period>/``;
publishing swaps it in with two renames on one file system, so readers see either the earlier run
or the whole new one. A folder holding the ``FINALISED`` marker is never replaced.

Publishing is also when the register records the run's invoice numbers (``numbering``): under the
lock of the outputs folder, the plan is written to the register, the folder swapped in, and the
numbers recorded in one transaction. A kill between these steps is finished or undone by the next
run (``billing_lib.recovery``), so the register and the published folders always agree.
"""

from __future__ import annotations

import errno
import json
import math
import platform
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing_lib.command_lines import arg
from billing_lib.errors import RunError, duckdb_file, write_fault
from billing_lib.faults import pause_point
from billing_lib.interrupts import held_off
from billing_lib.locking import OutputLock, acquire, held
from billing_lib.numbering import Register, open_register
from billing_lib.run_files import (
    CORRECTIONS,
    FINALISED_MARKER,
    MANIFEST,
    REGISTER,
    marker_text,
    sha256s_of,
)
from billing_lib.scratch import in_scratch

if TYPE_CHECKING:  # pandas only for a type: the `billing` commands start without it
    import pandas as pd

#: The names of a run folder's files live in ``run_files``; they stay importable from here.
__all__ = [
    "CORRECTIONS",
    "FINALISED_MARKER",
    "MANIFEST",
    "RECORDED_PACKAGES",
    "REGISTER",
    "check_not_finalised",
    "check_register_not_finalised",
    "checksums",
    "discard",
    "discard_replaced",
    "jsonable",
    "new_staging",
    "package_versions",
    "publish",
    "records",
    "writing",
    "writing_error",
]

#: Packages whose versions the manifest records (what can change a figure or a file).
RECORDED_PACKAGES = (
    "billing-lib",
    "duckdb",
    "pandas",
    "pyarrow",
    "pydantic",
    "pyyaml",
    "xlsxwriter",
    "babel",
    "papermill",
    "nbconvert",
    "plotly",
    "ipywidgets",
    "beancount",
    "reportlab",
    "lxml",
    "matplotlib",
)


def check_not_finalised(output: Path, period: str) -> None:
    """RunError when ``output/period`` holds a finalised run: it is immutable; a correction is a
    credit note and the invoice that replaces it."""
    marker = Path(output) / period / FINALISED_MARKER
    if marker.exists():
        raise RunError(
            f"{marker.parent}: the run for {period} is finalised ({marker_text(marker)}); "
            "it cannot be run again. To correct an invoice of it, cancel it with a credit note "
            "(billing credit-note --invoice NUMBER) and bill it anew with the corrected "
            "parameters (billing reissue --invoice NUMBER)."
        )


def check_register_not_finalised(output: Path, period: str) -> None:
    """RunError when the invoice register of ``output`` has ``period`` as finalised while its
    run folder has no ``FINALISED`` marker (deleted by hand, a copy that left it out): the month
    is final, and a rerun would be refused only once it had imported and rated the month, at
    numbering. ``billing finalise`` writes the marker again (the run's files checked first)."""
    path = Path(output) / REGISTER
    if not path.is_file() or not Register(path).is_finalised(period):
        return
    folder = Path(output) / period
    if (folder / FINALISED_MARKER).exists():
        return
    where = "its run folder is missing" if not folder.is_dir() else f"{folder} has no"
    marker = f"{FINALISED_MARKER} marker" + ("" if folder.is_dir() else f" ({folder})")
    raise RunError(
        f"{path} has {period} as finalised (its invoice numbers final), but {where} "
        f"{marker}: deleted, or left out of a copy? The month cannot be billed again. "
        + (
            f"Put the marker back: billing finalise --period {period} --output {arg(output)} "
            "(it checks the run's files first); "
            if folder.is_dir()
            else "Restore the run folder from a backup; "
        )
        + "an invoice of it is corrected with a credit note (billing credit-note)."
    )


def checksums(files: list[Path], base: Path) -> list[dict[str, Any]]:
    """Each file (sorted) with its path under ``base``, sha256 (``sha256s_of``: on every core)
    and size."""
    ordered = sorted(files)
    digests = sha256s_of(ordered)
    return [
        {"file": str(p.relative_to(base)), "sha256": digest, "bytes": p.stat().st_size}
        for p, digest in zip(ordered, digests, strict=True)
    ]


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a run's figures and files (a new dict each call)."""
    return dict(_installed_versions())


@cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """``package_versions``, looked up once per process: the packages a process imported do not
    change under it, and each look-up scans the installed distributions (14 ms a manifest, about
    the fifth of a sample month's ``write_manifest``)."""
    out = [("python", platform.python_version())]
    for name in RECORDED_PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None  # pandas' missing value (an account no report names), not JSON's NaN
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars from pandas
        return value.item()
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [jsonable(dict(zip(df.columns, row, strict=True))) for row in df.itertuples(index=False)]


def new_staging(output: Path, period: str) -> Path:
    """A fresh hidden folder next to ``output/period`` (same file system, so publishing is a
    rename). A folder that cannot be written is a RunError naming it (``writing_error``)."""
    output = Path(output)
    staging = output / f".staging-{period}-{secrets.token_hex(4)}"
    with writing(output):
        output.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    return staging


#: What a failed write of a run leaves, as its message says.
RUN_NOT_PUBLISHED = "Nothing was published; an earlier run folder is as it was."


def writing_error(
    exc: BaseException, where: Path | str, outcome: str = RUN_NOT_PUBLISHED
) -> RunError | None:
    """A RunError for a failed write (disk full, file too large, read-only or forbidden folder)
    naming the file, what was left (``outcome``) and the way out, or None when ``exc`` is no such
    fault. ``where`` is named when the exception does not say which file. A file of the temporary
    directory (a file of the run's scratch folders: its store, its rated lines until published)
    has its own way out (``TMPDIR``)."""
    fault = write_fault(exc)
    if fault is None:
        return None
    what, output_way, temporary_way = fault
    text = str(exc)
    # a copy (shutil.copyfile) names the file it read first and the file it wrote second: lack
    # of room or a size limit is the written file's
    written = getattr(exc, "filename2", None) if _is_room(exc) else None
    file = written or getattr(exc, "filename", None) or duckdb_file(text) or where
    # not any file of the temporary directory: an outputs folder may be in it too
    temporary = in_scratch(file)
    # a file of a staging folder is named as where it would have been published (``<period>``
    # of a run, ``corrections/<number>`` of a credit note or reissued invoice), and the
    # temporary file of ``atomic_target`` as the file it was to replace
    file = re.sub(r"\.staging-([^/]+?)-[0-9a-f]{8}(?:-work)?(?=/|$)", r"\1", str(file))
    file = re.sub(r"(^|/)\.([^/]+)\.[0-9a-f]{12}\.tmp$", r"\1\2", file)
    reason = getattr(exc, "strerror", None) or text
    return RunError(
        f"{file}: {what} ({reason}). {outcome} Way out: "
        f"{temporary_way if temporary else output_way}."
    )


def _is_room(exc: BaseException) -> bool:
    """True for a write that failed for lack of room or a file-size limit."""
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@contextmanager
def writing(where: Path | str, outcome: str = RUN_NOT_PUBLISHED) -> Iterator[None]:
    """Writes inside the block that fail for lack of room or permission become a RunError
    naming the file and what was left (``writing_error``); other errors pass unchanged."""
    import duckdb
    from xlsxwriter.exceptions import FileCreateError

    try:
        yield
    except (
        OSError,
        duckdb.IOException,
        duckdb.PermissionException,
        duckdb.TransactionException,  # a COMMIT whose write failed
        FileCreateError,
    ) as exc:
        cause = exc.args[0] if isinstance(exc, FileCreateError) and exc.args else exc
        err = writing_error(cause if isinstance(cause, BaseException) else exc, where, outcome)
        if err is None:
            raise
        raise err from None


def publish(staging: Path, output: Path, period: str, lock: OutputLock | None = None) -> Path:
    """Swap ``staging`` in as ``output/period`` and record its invoice numbers (the manifest's
    ``numbering``) in the register, holding the lock of ``output`` (``lock``, else this process's,
    else taken for the call). An earlier, unfinalised run is moved aside first and removed only
    after the new folder is in place and its numbers recorded; if the swap fails it is put back.
    A finalised earlier run is never replaced."""
    output, staging = Path(output), Path(staging)
    lock = lock or held(output)
    if lock is None:
        own = acquire(output)
        try:
            return publish(staging, output, period, own)
        finally:
            own.release()
    lock.check()
    target = output / period
    check_not_finalised(output, period)
    numbering, run_id = _numbering_of(staging)
    final = numbering is not None and numbering["finalise"]
    done = f"the run for {period} was published{' and finalised' if final else ''} in {target}"
    with held_off(done + ("" if numbering is None else ", its invoice numbers recorded")):
        register = None
        if numbering is not None:
            register = open_register(output / REGISTER)
            register.begin_publishing(run_id, period, numbering)
            pause_point("publishing-begun")
        try:
            old = _swap_in(staging, target, output, period)
        except BaseException:
            if register is not None:
                register.abandon_publishing(run_id)
            raise
        if register is not None:
            _record(register, run_id, staging, target, old)
        if old is not None:  # what cannot be removed now is said by the next run
            discard_replaced(old, period)
    return target


#: The earlier run folder a published rerun replaced, on its way out (never put back).
SUPERSEDED = ".superseded-"


def discard_replaced(old: Path, period: str) -> tuple[Path, str | None]:
    """Remove ``old``, the earlier run folder of ``period`` a rerun moved aside
    (``.replaced-<period>-*``), once the rerun is in place and its numbers recorded. It is
    renamed ``.superseded-<period>-*`` first: a folder whose removal fails (a file in it that
    cannot be deleted) stayed ``.replaced-*``, and when a later rerun was killed while
    replacing the month, the next run put that half-removed folder back by its name and removed
    the one the killed rerun had moved aside. Where what is left is, and what stopped its
    removal (None: removed)."""
    gone = old
    if old.name.startswith(".replaced-"):
        gone = old.with_name(f"{SUPERSEDED}{period}-{secrets.token_hex(4)}")
        try:
            old.rename(gone)
        except OSError as exc:
            return old, f"it cannot be renamed ({exc.strerror})"
    return gone, remove_tree(gone)


def remove_tree(folder: Path) -> str | None:
    """Remove ``folder`` with everything in it, as far as possible; None when it is gone, else
    what stopped it (the first file that could not be removed, and why)."""
    problems: list[str] = []

    def failed(_: object, path: str, exc_info: tuple) -> None:
        error = exc_info[1]
        problems.append(f"{path}: {getattr(error, 'strerror', None) or error}")

    shutil.rmtree(folder, onerror=failed)
    if not folder.exists():
        return None
    return problems[0] if problems else "it is still there"


def _numbering_of(staging: Path) -> tuple[dict | None, str]:
    """The plan (``numbering`` with ``finalise``) and run id that the staging folder's manifest
    records; a finalised run gets its ``FINALISED`` marker here, before it is published."""
    if not (staging / MANIFEST).is_file():
        raise RunError(f"{staging}: no {MANIFEST}; only a complete run is published")
    manifest = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
    numbering = manifest.get("numbering")
    finalise = manifest.get("finalised") is True
    if finalise:
        if numbering is None:
            raise RunError(f"{staging / MANIFEST}: a finalised run must record its numbering")
        (staging / FINALISED_MARKER).write_text(
            f"finalised {datetime.now(UTC).replace(microsecond=0).isoformat()}\n", encoding="utf-8"
        )
    if numbering is None:
        return None, ""
    return {**numbering, "finalise": finalise}, str(manifest["run_id"])


def _swap_in(staging: Path, target: Path, output: Path, period: str) -> Path | None:
    """Move an earlier ``target`` aside and ``staging`` into its place; where the earlier run
    now is (None when there was none). On a failure the earlier run is put back."""
    old: Path | None = None
    try:
        if target.exists():
            old = output / f".replaced-{period}-{secrets.token_hex(4)}"
            target.rename(old)
            pause_point("old-run-moved-aside")
        staging.rename(target)
    except BaseException:
        if old is not None and not target.exists():
            old.rename(target)
        raise
    return old


def _record(register: Register, run_id: str, staging: Path, target: Path, old: Path | None) -> None:
    """Record the numbers of the run now in ``target``; when the register cannot, take the new
    folder out (back to ``staging``) and put the earlier one (``old``) back."""
    pause_point("run-moved-in")
    try:
        register.commit_publishing(run_id)
    except BaseException:
        target.rename(staging)
        if old is not None:
            old.rename(target)
        register.abandon_publishing(run_id)
        raise
    pause_point("numbers-recorded")


def discard(staging: Path | None) -> None:
    """Remove a staging folder of a failed run (nothing of it was published)."""
    if staging is not None and Path(staging).exists():
        shutil.rmtree(staging, ignore_errors=True)
