"""The lock of an outputs folder as a refused run describes it (billing_lib.locking). Two real
runs racing for the lock are in tests/test_bad_inputs_numbering.py."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from billing_lib import locking
from billing_lib.errors import RunError


def _held_by_another(output: Path) -> int:
    """The lock of ``output`` (the folder) taken through a file description of its own (as
    another process would hold it), its text not written yet; the descriptor, to close."""
    fd = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    (output / locking.LOCK_FILE).touch()
    return fd


def test_a_run_refused_just_as_the_holder_took_the_lock_names_the_holder(tmp_path):
    fd = _held_by_another(tmp_path)
    text = {"pid": 4242, "host": "billing-1", "command": "billing run", "started": "2026-11-30"}
    writer = threading.Timer(
        0.2, lambda: (tmp_path / locking.LOCK_FILE).write_text(json.dumps(text))
    )
    writer.start()
    try:
        with pytest.raises(RunError, match="another billing run .*: pid 4242 on billing-1"):
            locking.acquire(tmp_path)
    finally:
        writer.join()
        os.close(fd)


def test_a_lock_whose_holder_never_says_who_it_is_is_refused_as_unknown(tmp_path, monkeypatch):
    monkeypatch.setattr(locking, "HOLDER_TEXT_SECONDS", 0.1)
    fd = _held_by_another(tmp_path)
    try:
        with pytest.raises(RunError, match="holder unknown"):
            locking.acquire(tmp_path)
    finally:
        os.close(fd)
    lock = locking.acquire(tmp_path)  # free again once its holder let go
    assert lock.current
    lock.release()


def _refused_elsewhere(output: Path) -> None:
    """``locking.acquire`` as another process asks: this process's own lock put out of sight."""
    key = output.resolve()
    mine = locking._HELD.pop(key)
    try:
        locking.acquire(output)
    finally:
        locking._HELD[key] = mine


def test_the_holder_writes_its_text_again_when_the_lock_file_was_deleted(tmp_path):
    """A clean-up deleted ``.billing.lock`` while a run held the folder: the holder writes its
    text again when it checks its lock (before numbering and publishing), so a run refused from
    then on names it."""
    lock = locking.acquire(tmp_path, "billing run --period 2026-11")
    try:
        (tmp_path / locking.LOCK_FILE).unlink()
        with pytest.raises(RunError, match="another billing run .*: holder unknown: its text"):
            _refused_elsewhere(tmp_path)
        lock.check()
        text = json.loads((tmp_path / locking.LOCK_FILE).read_text())
        assert (text["run_id"], text["command"]) == (lock.run_id, "billing run --period 2026-11")
        lock.note(staging=".staging-2026-11-0badf00d")
        (tmp_path / locking.LOCK_FILE).unlink()
        lock.note(kernel="started")
        text = json.loads((tmp_path / locking.LOCK_FILE).read_text())
        assert text["staging"] == ".staging-2026-11-0badf00d" and text["run_id"] == lock.run_id
    finally:
        lock.release()


def test_a_full_disk_is_named_when_the_lock_is_taken(tmp_path):
    """A full disk: taking the lock wrote the holder's text into ``.billing.lock`` and every
    command (run, credit note, finalise) ended in OSError's traceback, "No space left on
    device". The file is named, with the disk full and the way out; the lock is free again."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = disk / "outputs"
        out.mkdir()
        fill = os.open(disk / "fill", os.O_WRONLY | os.O_CREAT)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fill, b"\0" * 4096)
        finally:
            os.close(fill)
        with pytest.raises(RunError) as err:
            locking.acquire(out)
        assert str(err.value).startswith(
            f"{out / locking.LOCK_FILE}: the disk is full (No space left on device)"
        ), err.value
        assert "free space on that file system" in str(err.value)
        assert locking.held(out) is None
        (disk / "fill").unlink()
        locking.acquire(out).release()  # free: nothing of the refused one held on
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)


def test_a_run_whose_outputs_folder_was_replaced_meanwhile_may_not_publish(tmp_path):
    """The outputs folder moved aside and another put in its place (restored from a copy, an
    archive step) while a run held it: a second run locks the new folder, and the first one, its
    lock on the old folder, would have published into the new one by its path beside the second.
    The holder checks before numbering and publishing that the folder is still the one it
    locked."""
    out = tmp_path / "outputs"
    out.mkdir()
    lock = locking.acquire(out, "billing run --period 2026-11")
    try:
        lock.check()  # still its folder
        out.rename(tmp_path / "outputs-archived")
        out.mkdir()
        with pytest.raises(
            RunError,
            match=r"outputs: the outputs folder was moved or replaced while this run .* held it",
        ):
            lock.check()
    finally:
        lock.release()


def test_a_lock_file_naming_a_run_on_another_host_is_refused_until_it_is_gone(tmp_path):
    """The flock is the operating system's: a file system shared between hosts may keep it on
    each host apart (sshfs and other FUSE mounts, SMB), so a run on another host holding the
    folder went unseen, the lock was taken, and both runs numbered the month with the same
    numbers. A run that ends empties the lock file; one holding it, or killed, has its text
    there. Another host's text is refused, naming it and the way out, also after waiting."""
    text = {
        "pid": 4242,
        "host": "billing-2.example.net",
        "command": "billing run --period 2026-11",
        "started": "2026-11-30T09:00:00+00:00",
        "run_id": "0123456789abcdef",
    }
    (tmp_path / locking.LOCK_FILE).write_text(json.dumps(text))
    for wait in (0, 0.3):
        with pytest.raises(RunError) as refused:
            locking.acquire(tmp_path, wait=wait)
        message = str(refused.value)
        assert "pid 4242 on billing-2.example.net, started 2026-11-30T09:00:00+00:00" in message
        assert "another host" in message and f"delete {tmp_path / locking.LOCK_FILE}" in message
        assert json.loads((tmp_path / locking.LOCK_FILE).read_text()) == text
        assert locking.held(tmp_path) is None
    (tmp_path / locking.LOCK_FILE).unlink()  # that run is known to be gone
    lock = locking.acquire(tmp_path)
    lock.release()
    lock = locking.acquire(tmp_path)  # a run of this host that ended leaves nothing behind
    lock.release()


def test_a_process_that_ends_without_releasing_its_lock_empties_the_lock_file(tmp_path):
    """A notebook's kernel shut down before its ``publish`` cell ends holding the lock: the
    operating system frees the flock, but its text stayed in the lock file, and a run on another
    host was refused as if that kernel still held the folder. Ending normally empties it."""
    code = (
        "import sys; from billing_lib import locking; "
        "lock = locking.acquire(sys.argv[1], 'a notebook kernel'); print(lock.info['pid'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert int(done.stdout) > 0
    assert (tmp_path / locking.LOCK_FILE).read_text() == ""


def test_a_lock_file_that_is_a_folder_is_named_with_the_way_out(tmp_path):
    """``.billing.lock`` made a folder (an unzip, a sync tool): every run said "the outputs folder
    cannot be written (Is a directory)" and asked to make a writable folder writable."""
    (tmp_path / locking.LOCK_FILE).mkdir()
    with pytest.raises(RunError) as refused:
        locking.acquire(tmp_path)
    message = str(refused.value)
    assert f"{tmp_path / locking.LOCK_FILE}: is a folder, not the lock's text file" in message
    assert "cannot be written" not in message
    assert f"rmdir {tmp_path / locking.LOCK_FILE}" in message
    assert locking.held(tmp_path) is None
    (tmp_path / locking.LOCK_FILE).rmdir()
    locking.acquire(tmp_path).release()  # the flock was let go with the refusal
