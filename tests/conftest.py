"""Fixtures shared by the whole suite: the sample month billed once per session, and the order
the tests run in.

Billing the sample month end to end takes seconds; many tests need a finished run of it and most
only read it. They share one run (``sample_outputs``) and one finalised run
(``finalised_sample_outputs``); a test that changes a run folder copies it first
(``shutil.copytree`` into its ``tmp_path``), so no test sees another's changes. Each fixture
checks at the end of the session that no test wrote into it. Tests that exercise another path to
a run (the ``billing run`` command through papermill, nbval, the browser) still run their own and
are marked ``slow``: ``pytest -m "not slow"`` is the quick loop, ``make test`` runs everything.

``make test`` runs the tests in one pytest-xdist worker per core (``addopts`` in
pyproject.toml). Each worker is a process of its own with its own temp folder; the two sample
runs are billed once for the session, by the first worker that needs one, in the temp folder the
workers share (under a file lock: the other worker waits for it, then reads the same folder).
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.folder_digest import digest
from tests.notebook_project import PERIOD, REPO


def _bill_sample_month(base: Path, finalise: bool) -> Path:
    """The sample month billed into ``base/outputs``. A finalised run is billed with a copy of the
    parameters, removed afterwards: a credit note must not need them (it rebuilds from the run
    folder)."""
    from billing_lib import run

    parameters = REPO / "parameters"
    if finalise:
        parameters = base / "parameters"
        shutil.copytree(REPO / "parameters", parameters, ignore=shutil.ignore_patterns("local"))
    run.run_all(
        PERIOD,
        REPO / "samples" / PERIOD / "reports",
        parameters,
        base / "outputs",
        finalise=finalise,
    )
    if finalise:
        shutil.rmtree(parameters)
    return base / "outputs"


def _read_only(outputs: Path) -> Iterator[Path]:
    """``outputs`` for the session; afterwards it must be as it was billed (a test that wrote into
    it would have changed what the tests after it read)."""
    before = digest(outputs)
    yield outputs
    assert digest(outputs) == before, (
        f"a test changed the shared run folder {outputs}: copy it (shutil.copytree) before "
        "changing it"
    )


def _billed_once(tmp_path_factory: pytest.TempPathFactory, name: str, finalise: bool) -> Path:
    """The sample month billed into ``<shared temp>/<name>/outputs``: by the first worker that
    asks (under a lock), the others find it there. Without xdist the shared temp folder is this
    session's own."""
    base = tmp_path_factory.getbasetemp()
    if base.name.startswith("popen-gw"):  # an xdist worker's: the workers' common parent
        base = base.parent
    folder = base / name
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (folder / "billed").exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed half-way
            folder.mkdir()
            _bill_sample_month(folder, finalise)
            (folder / "billed").write_text("")
    return folder / "outputs"


@pytest.fixture(scope="session")
def sample_outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An outputs folder holding the sample month's run (not finalised). Read only: copy it before
    changing anything."""
    yield from _read_only(_billed_once(tmp_path_factory, "sample-run", finalise=False))


@pytest.fixture(scope="session")
def finalised_sample_outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An outputs folder holding the sample month's finalised run (register included). Read only:
    copy it before changing anything."""
    yield from _read_only(_billed_once(tmp_path_factory, "finalised-run", finalise=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules holding slow tests first, each module's tests together and in their order: the
    workers start on the long tests and end on short ones, instead of one worker finishing a
    20-second kernel test while the other has nothing left to do."""
    slow = {getattr(item, "module", None) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: getattr(item, "module", None) not in slow)
