"""The test suite as it was at an earlier commit, run on today's code: its speed at that coverage.

Issue 13's target for ``make test`` ("< 90 s on 2 cores, same coverage") was set when the suite
held the test functions of ``cb0ed82`` (2026-11-29); later issues added tests of their own. This
lists the test functions defined at ``--commit`` in the modules of ``tests/`` (``def test_...``
at the top of a module, found with ``git grep``) that still exist under the same name in the same
module, and runs them (with their parameters as they are today) the way ``make test`` runs the
suite, printing the wall and CPU seconds. It needs the project's git history (a clone, not an
export).

    .venv/bin/python benchmarks/suite_of_commit.py --commit cb0ed82
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: A module-level test function's definition, as ``git grep -n`` prints it.
_DEFINED = re.compile(r"^[^:]+:(tests/test_[^:]+\.py):\d+:def (test_\w+)\(")


def test_ids_of(commit: str) -> list[str]:
    """``module::function`` of every test function defined at ``commit`` that is defined in the
    same module today."""
    listed = subprocess.run(
        ["git", "grep", "-n", "-E", r"^def test_\w+\(", commit, "--", "tests/test_*.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    then = [m.groups() for m in map(_DEFINED.match, listed) if m]
    return [
        f"{module}::{name}"
        for module, name in then
        if (REPO / module).is_file() and f"def {name}(" in (REPO / module).read_text("utf-8")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", default="cb0ed82", help="the suite's commit (default cb0ed82)")
    args = parser.parse_args()
    ids = test_ids_of(args.commit)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ids], cwd=REPO, env=env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        f"{len(ids)} test functions of {args.commit} still defined today: "
        f"{wall:.1f} s wall, {cpu:.1f} CPU-s, exit status {done.returncode}"
    )
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
