"""A ``billing`` command run as a new program, stopped at a named point (``billing_lib.faults``)
and killed there with SIGKILL (``kill -9``): for the tests of what such a command leaves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.console_scripts import BILLING

REPO = Path(__file__).resolve().parents[1]


#: ``tests/numbering_runner.py`` as a program: ``billing run``'s steps without a notebook kernel
RUNNER = [sys.executable, "-m", "tests.numbering_runner"]


@contextmanager
def paused_at(
    point: str, argv: list[str], root: Path, program: list[str] | None = None
) -> Iterator[subprocess.Popen]:
    """``billing argv`` (or ``program argv``) running until it reaches ``point``, where it waits
    (its marker file in ``root``); killed (SIGKILL) when the block ends, whatever happened in
    it."""
    marker = root / "paused"
    env = {**os.environ, "BILLING_PAUSE_AT": point, "BILLING_PAUSE_MARKER": str(marker)}
    env["PYTHONPATH"] = str(REPO)
    env.pop("BILLING_PAUSE_RESUME", None)
    proc = subprocess.Popen(
        [*(program or [BILLING]), *argv],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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


def killed_at(point: str, argv: list[str], root: Path, program: list[str] | None = None) -> None:
    """``billing argv`` (or ``program argv``) run until it reaches ``point``, and killed there
    (SIGKILL)."""
    with paused_at(point, argv, root, program) as proc:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
