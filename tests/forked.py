"""Real processes that start in milliseconds, for tests that start many short runs, pause and kill
them (tests/test_bad_inputs_numbering.py). A new interpreter imports billing_lib again, about a
CPU-second each time; these are forked from a server process (multiprocessing's forkserver)
that imported it once. Each is still a process of its own, with its own pid, lock, exit status
and environment, stopped with SIGKILL like any other.

``start(target, argv, cwd, env, logs)`` calls ``numbering_runner.main(argv)`` ("runner"),
``billing_lib.cli.main(argv)`` ("billing", what the ``billing`` command calls) or
``run.run_all(*argv)`` ("run_all", a BillingError printed as the command prints it) in the new
process, with its stdout and stderr in files under ``logs`` and, when asked, a file-size limit
(``ulimit -f``); it returns an object with the parts of ``subprocess.Popen`` the tests use. A
module names what its server imports (``preload``) and ends the server after its tests
(``stop``).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_CONTEXT = mp.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["tests.numbering_runner", "billing_lib.cli"])
_NUMBERS = itertools.count(1)


def preload(modules: Sequence[str]) -> None:
    """What the next server imports before it forks (each module's own list: the numbering
    tests' runs need billing_lib, ``billing run`` also papermill and jupyter_client)."""
    _CONTEXT.set_forkserver_preload(list(modules))


def _run_all(argv: list[str]) -> int:
    """``run.run_all(*argv)`` with a BillingError printed as the command prints it; past a
    file-size limit a write fails with EFBIG (SIGXFSZ ignored, as ``billing`` does)."""
    from billing_lib import run
    from billing_lib.errors import BillingError

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        run.run_all(*argv)
    except BillingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _main(
    target: str,
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    out: str,
    err: str,
    file_size_limit: int | None,
) -> None:
    """In the forked process: its environment, folder, output files and file-size limit, then
    the command."""
    for fd, path in ((1, out), (2, err)):
        file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(file, fd)
        os.close(file)  # sys.stdout and sys.stderr write to fds 1 and 2: now these files
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    if file_size_limit is not None:  # this process's and its children's (the kernel's)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
    if target == "runner":
        from tests.numbering_runner import main
    elif target == "run_all":
        main = _run_all
    else:
        from billing_lib.cli import main
    sys.exit(main(argv))


class Forked:
    """A started process, read like ``subprocess.Popen`` with text output."""

    def __init__(self, process: mp.process.BaseProcess, out: Path, err: Path) -> None:
        self._process = process
        self._out = out
        self._err = err
        self.pid = process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode  # -9 when killed with SIGKILL, as Popen's

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"forked {self.pid}", timeout or 0)
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        return self._out.read_text(encoding="utf-8"), self._err.read_text(encoding="utf-8")

    def kill(self) -> None:
        self._process.kill()

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)


def start(
    target: str,
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    logs: Path,
    file_size_limit: int | None = None,
) -> Forked:
    logs.mkdir(parents=True, exist_ok=True)
    n = next(_NUMBERS)
    out, err = logs / f"{n}.out", logs / f"{n}.err"
    process = _CONTEXT.Process(
        target=_main,
        args=(target, argv, str(cwd), env, str(out), str(err), file_size_limit),
    )
    process.start()
    return Forked(process, out, err)


def stop() -> None:
    """End the server process and wait for it (it would otherwise stay till the session ends);
    the next ``start`` starts another."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # the module's own server object; no public stop in 3.11
