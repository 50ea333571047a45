"""The lock of an outputs folder as a refused run describes it (billing_lib.locking). Two real
runs racing for the lock are in tests/test_bad_inputs_numbering.py."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

import pytest

from billing_lib import locking
from billing_lib.errors import RunError


def _held_by_another(output: Path) -> int:
    """The lock of ``output`` taken through a file description of its own (as another process
    would hold it), its text not written yet; the descriptor, to close."""
    fd = os.open(output / locking.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
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
