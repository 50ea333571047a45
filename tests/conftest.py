"""Fixtures shared by the whole suite: the sample month billed once per session.

Billing the sample month end to end takes seconds; about nine tests need a finished run of it and
most only read it. They share one run (``sample_outputs``) and one finalised run
(``finalised_sample_outputs``); a test that changes a run folder copies it first
(``shutil.copytree`` into its ``tmp_path``), so no test sees another's changes. Tests that exercise
another path to a run (the ``billing run`` command through papermill, nbval, the browser) still run
their own and are marked ``slow``: ``pytest -m "not slow"`` is the quick loop, ``make test`` runs
everything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def sample_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An outputs folder holding the sample month's run (not finalised). Read only: copy it before
    changing anything."""
    return _bill_sample_month(tmp_path_factory.mktemp("sample-run"), finalise=False)


@pytest.fixture(scope="session")
def finalised_sample_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An outputs folder holding the sample month's finalised run (register included). Read only:
    copy it before changing anything."""
    return _bill_sample_month(tmp_path_factory.mktemp("finalised-run"), finalise=True)
