"""One run at a time per outputs folder: an exclusive OS lock on the outputs folder itself.

A billing run, ``billing credit-note`` and ``billing register rebuild`` hold the lock for their
whole life; it guards the run folders, ``corrections/`` and the invoice register beside them. It
is an ``fcntl.flock`` on the open outputs folder (a directory cannot be deleted while it holds the
register and run folders, nor by one of its own files being deleted), so the operating system
frees it when the process ends, ``kill -9`` included: a killed run never leaves a stale lock (a
process forked from it, such as a workbook writer, closes its copy of the folder at once). It
was a flock on the file ``.billing.lock``: a clean-up that deleted that file while a run held it
let the next run create a new file, lock that one and run at the same time. The file
``<output>/.billing.lock`` now holds only the holder's text (pid, command, start time, run id) for
the message a second run prints; the holder writes it again when it finds it deleted or replaced
(``OutputLock.check``, before publishing). It also holds the holder's host: a file system shared
between hosts may keep each host's flocks apart, so a text naming another host refuses the run
(``_not_held_on_another_host``) until that run empties it by ending, or a person deletes it.

A second run on the same folder refuses at once, naming the folder and the holder, or waits up to
``wait`` seconds when asked (``--wait``). ``billing run`` holds the lock in its own process and
hands the run to a notebook kernel; the kernel checks that the lock is held by the run that gave
it its staging folder (``check_held_for``) and never publishes or writes the register itself.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from billing_lib.command_lines import arg
from billing_lib.errors import RunError, write_fault
from billing_lib.faults import pause_point

LOCK_FILE = ".billing.lock"
POLL_SECONDS = 0.2
#: How long a refused run waits for the holder's text: a holder writes it just after taking the
#: lock, so a run asking at the same moment can find the lock taken and the text not yet there.
HOLDER_TEXT_SECONDS = 1.0


@dataclass
class OutputLock:
    """This process's exclusive lock on ``output`` for the run ``run_id``."""

    output: Path
    #: the open lock file (``LOCK_FILE``): the holder's text only
    fd: int
    run_id: str
    info: dict = field(default_factory=dict)
    #: False once released, or taken over by a newer run of this process (a notebook's first
    #: cell run again): the older run may no longer publish.
    current: bool = True
    #: the open outputs folder: the flock
    folder_fd: int = -1

    def check(self) -> None:
        """RunError when this run no longer holds the lock, or the folder at ``output`` is no
        longer the one it locked (moved aside, another put in its place: a second run may hold
        that one, and this run would write into it by its path). The holder's text is written
        again when its file was deleted or replaced since (a clean-up of the folder), so that a
        run refused from now on names the holder."""
        if not self.current:
            raise RunError(
                f"{self.output}: this run (run id {self.run_id}) no longer holds the lock of the "
                "outputs folder (it was released, or a newer run started in this process); start "
                "the run again"
            )
        try:
            same = os.path.samestat(os.fstat(self.folder_fd), os.stat(self.output))
        except OSError:
            same = False
        if not same:
            raise RunError(
                f"{self.output}: the outputs folder was moved or replaced while this run (run id "
                f"{self.run_id}) held it, so it is not the folder this run locked; nothing was "
                "published and no invoice number recorded. Put the folder back, or start the run "
                "again on the folder now there"
            )
        if self._reopen_text():
            _write_info(self.fd, self.info)

    def _reopen_text(self) -> bool:
        """Open the lock file anew when the one open here is no longer at its path (deleted or
        replaced); whether it was."""
        path = self.output / LOCK_FILE
        try:
            if os.path.samestat(os.fstat(self.fd), os.stat(path)):
                return False
        except OSError:
            pass
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return False  # the text is for messages only; the flock on the folder holds anyway
        os.close(self.fd)
        self.fd = fd
        return True

    def note(self, **info: str) -> None:
        """Add to what the lock file says about the holder (e.g. the staging folder)."""
        self.info.update(info)
        self._reopen_text()
        _write_info(self.fd, self.info)

    def release(self) -> None:
        """Free the lock (the process ending frees it too)."""
        if not self.current:
            return
        self.current = False
        _HELD.pop(self.output, None)
        try:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.folder_fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            os.close(self.folder_fd)


#: The lock this process holds, per resolved outputs folder.
_HELD: dict[Path, OutputLock] = {}


def _forget_in_child() -> None:
    """In a process forked while this one holds locks (a large month's workbook writers): close
    the inherited folder and lock-file descriptors, without unlocking (the flock belongs to the
    open folder, shared with the parent). Kept open, they held the flock past a ``kill -9`` of
    the run: its idle writers lived on, and every later run was refused naming the dead pid."""
    for lock in _HELD.values():
        lock.current = False
        for fd in (lock.fd, lock.folder_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


@atexit.register
def _release_at_exit() -> None:
    """Release what this process still holds when it ends normally (a notebook kernel shut down
    before its ``publish`` cell): the flock would die with it anyway, but its text stayed in the
    lock file, and a run on another host is refused while the file names a holder there."""
    for lock in list(_HELD.values()):
        with contextlib.suppress(OSError):
            lock.release()


def held(output: Path) -> OutputLock | None:
    """The lock this process holds on ``output`` (None when it holds none)."""
    return _HELD.get(Path(output).resolve())


def acquire(output: Path, command: str | None = None, wait: float = 0) -> OutputLock:
    """Lock ``output`` (which must exist) for a new run, refusing at once, or after ``wait``
    seconds, when another process holds it. A lock this process already holds is taken over by
    the new run (the older run object can no longer publish)."""
    key = Path(output).resolve()
    run_id = secrets.token_hex(8)
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "started": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "run_id": run_id,
    }
    earlier = _HELD.get(key)
    if earlier is not None and earlier.current:
        earlier.current = False
        lock = OutputLock(key, earlier.fd, run_id, info, folder_fd=earlier.folder_fd)
        lock._reopen_text()
        _write_info(lock.fd, info)
        _HELD[key] = lock
        return lock
    path = key / LOCK_FILE
    try:
        folder_fd = os.open(key, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise RunError(f"{key}: the outputs folder cannot be opened ({exc.strerror})") from None
    deadline = time.monotonic() + max(0.0, float(wait))
    _lock_folder(key, folder_fd, wait)
    _not_held_on_another_host(path, folder_fd, deadline)
    fd = _holder_text(path, info, folder_fd)
    lock = OutputLock(key, fd, run_id, info, folder_fd=folder_fd)
    _HELD[key] = lock
    return lock


def _lock_folder(key: Path, folder_fd: int, wait: float) -> None:
    """Take the flock of the open outputs folder ``folder_fd``, waiting up to ``wait`` seconds;
    RunError naming the holder when another keeps it (``folder_fd`` closed then)."""
    deadline = time.monotonic() + max(0.0, float(wait))
    waiting = False
    while True:
        try:
            fcntl.flock(folder_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(folder_fd)
                holder = describe_holder(key / LOCK_FILE, HOLDER_TEXT_SECONDS)
                waited = f" (waited {wait:g} s)" if wait else ""
                raise RunError(
                    f"{key}: another billing run is using this outputs folder{waited}: {holder}. "
                    "Only one run, credit note or register rebuild at a time may write a folder's "
                    "runs and invoice register. Wait until it ends, or give --wait SECONDS to wait "
                    "for it"
                ) from None
            if not waiting:  # held by another run: this one waits for it (``--wait``)
                waiting = True
                pause_point("lock-waiting")
            time.sleep(POLL_SECONDS)
        except OSError as exc:  # a file system that cannot lock a folder
            os.close(folder_fd)
            raise RunError(
                f"{key}: the outputs folder cannot be locked ({exc.strerror}); only that lock "
                "keeps two runs from writing it at once. Give the run an outputs folder on a "
                "local file system (--output)"
            ) from None


def _not_held_on_another_host(path: Path, folder_fd: int, deadline: float) -> None:
    """RunError, the flock of ``folder_fd`` let go, when the lock file ``path`` says a run on
    another host holds the folder (still so at ``deadline``, for a run asked to wait): a file
    system shared between hosts may keep each host's flocks apart (sshfs and other FUSE mounts,
    SMB), and two runs at once number the month with the same numbers. A run that ends empties
    the file; a killed one leaves its text, which on this host the free flock shows to be stale,
    and on another host only a person can (the way out: delete the file)."""
    here = socket.gethostname()
    while True:
        info = _read_info(path)
        host = info.get("host")
        if not host or host == here:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    os.close(folder_fd)
    raise RunError(
        f"{path.parent}: the lock file says a run on another host holds this outputs folder "
        f"({describe_holder(path)}). A file system shared between hosts may not show one host's "
        f"lock to another, so this run cannot tell whether that one still runs, and two runs at "
        "once would give the same invoice numbers; nothing was changed. Wait until it ends (it "
        f"empties the lock file), or give --wait SECONDS; if it has ended without (killed, its "
        f"host down), delete {path} and run again"
    )


def _holder_text(path: Path, info: dict, folder_fd: int) -> int:
    """The lock file ``path`` opened and ``info`` written into it, under the flock of
    ``folder_fd``; RunError naming the file when it cannot be (``folder_fd`` closed then: the
    lock is free again)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except IsADirectoryError:
        os.close(folder_fd)
        raise RunError(
            f"{path}: is a folder, not the lock's text file (which only names the run holding "
            f"the outputs folder; nothing in the folder is used). Remove it (rmdir {arg(path)}, or "
            "move it aside when it holds files) and run again; nothing was changed"
        ) from None
    except OSError as exc:
        os.close(folder_fd)
        raise RunError(
            f"{path.parent}: the outputs folder cannot be written ({exc.strerror}): the lock "
            f"file {LOCK_FILE} cannot be created there. Nothing was published; an earlier run "
            "folder is as it was. Way out: make the folder exist and be writable for this user, "
            "or give the run another output folder (--output)"
        ) from None
    try:
        _write_info(fd, info)
    except OSError as exc:  # a full disk, a file-size limit: named, not a traceback
        os.close(fd)
        os.close(folder_fd)
        fault = write_fault(exc)
        if fault is None:
            raise
        what, way, _ = fault
        raise RunError(
            f"{path}: {what} ({exc.strerror}): the lock's text cannot be written. Nothing was "
            f"changed. Way out: {way}."
        ) from None
    return fd


def check_held_for(output: Path, staging: Path) -> dict:
    """What the lock file says of its holder, when the lock of ``output`` is held by the run that
    created ``staging`` (``billing run`` handing its run to the notebook kernel); RunError
    otherwise."""
    path = Path(output).resolve() / LOCK_FILE
    try:
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        fd = None
    if fd is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            free = True
        except BlockingIOError:
            free = False
        finally:
            os.close(fd)
        info = _read_info(path)
        if not free and info.get("staging") == Path(staging).name:
            return info
    raise RunError(
        f"{staging}: this staging folder does not belong to the run holding the lock of "
        f"{Path(output)} ({describe_holder(path)}); the `staging` parameter is set only by "
        "`billing run`: leave it empty"
    )


def describe_holder(path: Path, wait: float = 0) -> str:
    """The holder as its lock file describes it: pid, host, command and start time; waiting up
    to ``wait`` seconds for a text the holder has not written yet (or is writing)."""
    info = _read_info(path)
    deadline = time.monotonic() + wait
    while not info and time.monotonic() < deadline:
        time.sleep(0.01)
        info = _read_info(path)
    if not info:
        if not Path(path).exists():
            return (
                f"holder unknown: its text, {LOCK_FILE}, was deleted while it held the folder; "
                "it is written again when the holder publishes"
            )
        return "holder unknown"
    return (
        f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started "
        f"{info.get('started', '?')}, "
        f"command: {info.get('command', '?')}"
    )


def _read_info(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_info(fd: int, info: dict) -> None:
    data = (json.dumps(info, sort_keys=True) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
