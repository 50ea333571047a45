"""Temporary folders of a run's process (the rated lines until published, the invoice writers'
spill, unpacked reports), and the sweep of those a killed process left behind.

A run removes its folders when it ends, but ``kill -9`` runs no clean-up, and at ten million
lines the rated lines alone are about a gigabyte. So each folder holds an ``fcntl.flock`` on a
file inside it for as long as its process (or a forked child that inherited it) lives; the
operating system frees the lock when they end, whatever ends them. Before it makes a folder of a
kind, a process removes the folders of that kind whose lock it can take: nobody owns them any
more. A lock, not the pid in the name: pids are reused, and another container sharing the
temporary directory has pids of its own.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

#: The file in each folder whose flock says its process still runs.
OWNER_LOCK = ".owner.lock"

#: The open lock file of each folder this process owns.
_HELD: dict[Path, int] = {}
#: (kind, temporary directory) this process has swept once (``scratch_when_needed``).
_SWEPT: set[tuple[str, str]] = set()


def owned_folder(kind: str) -> Path:
    """A new folder ``billing-<kind>-*`` in the temporary directory, owned by this process until
    ``release`` (or the process's end); first the abandoned folders of that kind are removed."""
    base = Path(tempfile.gettempdir())
    sweep(kind)
    folder = Path(tempfile.mkdtemp(prefix=f"billing-{kind}-", dir=base))
    fd = os.open(folder / OWNER_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new and ours: never held
    _HELD[folder] = fd
    return folder


def sweep(kind: str) -> None:
    """Remove the folders ``billing-<kind>-*`` in the temporary directory whose process ended."""
    _SWEPT.add((kind, tempfile.gettempdir()))
    for old in sorted(Path(tempfile.gettempdir()).glob(f"billing-{kind}-*")):
        remove_if_abandoned(old)


def sweep_once(kind: str) -> None:
    """``sweep(kind)`` the first time this process asks (for work that makes a folder of the kind
    only now and then: the abandoned ones are still removed, without listing the temporary
    directory every time)."""
    if (kind, tempfile.gettempdir()) not in _SWEPT:
        sweep(kind)


def release(folder: Path) -> None:
    """Remove ``folder`` (an ``owned_folder`` of this process) and free its lock."""
    shutil.rmtree(folder, ignore_errors=True)
    fd = _HELD.pop(folder, None)
    if fd is not None:
        os.close(fd)


@contextmanager
def scratch_folder(kind: str) -> Iterator[Path]:
    """``owned_folder(kind)`` while the block runs, removed after it."""
    folder = owned_folder(kind)
    try:
        yield folder
    finally:
        release(folder)


@contextmanager
def scratch_when_needed(kind: str) -> Iterator[Callable[[], Path]]:
    """A function giving ``owned_folder(kind)``, made at its first call, while the block runs,
    and the folder (if made) removed after it: for work that needs one only now and then (the
    importer: a zip's members, a copy of a CSV with mixed line endings), since making one costs a
    listing of the temporary directory, a lock and a removal, on every report. The abandoned
    folders of the kind are still swept when none is made, once per process."""
    made: list[Path] = []

    def folder() -> Path:
        if not made:
            made.append(owned_folder(kind))
        return made[0]

    sweep_once(kind)
    try:
        yield folder
    finally:
        if made:
            release(made[0])


def in_scratch(path: Path | str) -> bool:
    """Whether ``path`` is in a folder ``owned_folder`` makes (of any process): a file the run
    keeps in the temporary directory, not one of the outputs folder (which may be in it too)."""
    base = Path(tempfile.gettempdir()).resolve()
    resolved = Path(path).resolve()
    if base not in resolved.parents:
        return False
    top = base / resolved.relative_to(base).parts[0]
    return top.name.startswith("billing-") and (top / OWNER_LOCK).exists()


def remove_if_abandoned(folder: Path) -> bool:
    """Remove ``folder`` when no process holds its lock (its owner ended); True if removed. A
    folder without the lock file (being made, or not one of ours) is left alone."""
    try:
        fd = os.open(folder / OWNER_LOCK, os.O_RDWR)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its process (or a child of it) still runs
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        with suppress(OSError):
            os.close(fd)
