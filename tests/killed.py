"""A ``billing`` command run as a new program, stopped at a named point (``billing_lib.faults``)
and killed there with SIGKILL (``kill -9``): for the tests of what such a command leaves."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.console_scripts import BILLING


@contextmanager
def paused_at(point: str, argv: list[str], root: Path) -> Iterator[subprocess.Popen]:
    """``billing argv`` running until it reaches ``point``, where it waits (its marker file in
    ``root``); killed (SIGKILL) when the block ends, whatever happened in it."""
    marker = root / "paused"
    env = {**os.environ, "BILLING_PAUSE_AT": point, "BILLING_PAUSE_MARKER": str(marker)}
    env.pop("BILLING_PAUSE_RESUME", None)
    proc = subprocess.Popen(
        [BILLING, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"ended (status {proc.returncode}) before {point}:\n{out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail(f"{point} not reached")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        marker.unlink(missing_ok=True)


def killed_at(point: str, argv: list[str], root: Path) -> None:
    """``billing argv`` run until it reaches ``point``, and killed there (SIGKILL)."""
    with paused_at(point, argv, root) as proc:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
