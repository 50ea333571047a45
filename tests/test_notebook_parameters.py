"""The notebooks as a scheduler runs them, papermill called directly: a parameter name the notebook
does not have (a typo: ``-p finalize True``) is refused in the notebook's first code cell. papermill
injects every name it is given and only warns ("Passed unknown parameter"), so the run went on
without it: the month published unfinalised, papermill's exit status 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from billing_lib.analysis import MARGIN_PARAMETER_NAMES
from billing_lib.errors import ParameterError
from billing_lib.notebook_parameters import check_injected, injected_names
from billing_lib.run_parameters import RUN_PARAMETER_NAMES
from tests.notebook_project import REPO, copy_project

PAPERMILL = str(Path(sys.executable).parent / "papermill")


def papermill_run(project: Path, notebook: str, *args: str) -> subprocess.CompletedProcess:
    """``papermill notebooks/<notebook> <tmp>.ipynb *args`` in ``project`` (a scheduler)."""
    executed = project.parent / f"executed-{notebook}"
    cmd = [PAPERMILL, f"notebooks/{notebook}", str(executed), "--no-progress-bar", *args]
    return subprocess.run(
        cmd, cwd=project, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize(
    ("notebook", "names"),
    [("billing_run.ipynb", RUN_PARAMETER_NAMES), ("margin_analysis.ipynb", MARGIN_PARAMETER_NAMES)],
)
def test_the_known_names_are_the_notebooks_parameters(notebook, names):
    assert tuple(papermill.inspect_notebook(str(REPO / "notebooks" / notebook))) == names


@pytest.mark.slow
def test_an_unknown_billing_run_parameter_is_refused_and_nothing_published(tmp_path):
    project = copy_project(tmp_path / "project")
    (project / "outputs").mkdir()
    result = papermill_run(project, "billing_run.ipynb", "-p", "finalize", "True")
    assert result.returncode != 0, result.stderr[-3000:]
    assert (
        "ParameterError: billing_run parameters, entry finalize: not a parameter of "
        "billing_run.ipynb (did you mean finalise?)" in result.stderr
    ), result.stderr[-3000:]
    assert not (project / "outputs" / "2026-10").exists()
    assert not (project / "outputs" / "invoice_register.sqlite").exists()


@pytest.mark.slow
def test_an_unknown_margin_analysis_parameter_is_refused(tmp_path, sample_outputs):
    """``-r period 2026-10`` for ``periods``: every finished run was analysed, exit status 0."""
    project = copy_project(tmp_path / "project")
    given = ["-r", "output", str(sample_outputs), "-r", "period", "2026-10"]
    result = papermill_run(project, "margin_analysis.ipynb", *given)
    assert result.returncode != 0, result.stderr[-3000:]
    assert (
        "ParameterError: margin_analysis parameters, entry period: not a parameter of "
        "margin_analysis.ipynb (did you mean periods?)" in result.stderr
    ), result.stderr[-3000:]


@pytest.mark.slow
def test_a_careless_markup_is_refused_in_the_first_code_cell(tmp_path, sample_outputs):
    """``-r markup 15%``: refused by the explorer's cell, after the summary of every month was
    loaded and every table and chart above drawn. The first code cell names it, before a run
    is read (its table of the runs loaded is never shown)."""
    project = copy_project(tmp_path / "project")
    given = ["-r", "output", str(sample_outputs), "-r", "markup", "15%"]
    result = papermill_run(project, "margin_analysis.ipynb", *given)
    assert result.returncode != 0, result.stderr[-3000:]
    assert (
        "ParameterError: margin_analysis parameters, entry markup: expected a number of percent "
        "on cost, e.g. 10 or 12.5; got '15%'" in result.stderr
    ), result.stderr[-3000:]
    executed = nbformat.read(project.parent / "executed-margin_analysis.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    failed = [c for c in code if any(o.output_type == "error" for o in c.outputs)]
    # the parameters cell, papermill's, then the first code cell of the notebook: failed there
    assert failed == [code[2]] and "load_summary" in code[2].source, [c.source for c in failed]
    assert not any(c.outputs for c in code[3:])


def test_only_the_cells_papermill_injected_are_read():
    """The notebook's own parameters cell, and cells the analyst runs, are not papermill's; the
    names of every injected cell of the session are (``billing run`` injects known ones only)."""
    history = [
        "",
        'period = "2026-10"  # month to bill\nwhatever = 1',
        '# Parameters\nperiod = "2026-11"\nfinalise: bool = True\n',
        "br = billing.start(period)",
    ]
    assert injected_names(history) == ["period", "finalise"]
    check_injected(RUN_PARAMETER_NAMES, "billing_run.ipynb", "billing_run parameters", history)
    with pytest.raises(
        ParameterError, match=r"entry issue_dat: not a parameter .* \(did you mean issue_date\?\)"
    ):
        check_injected(
            RUN_PARAMETER_NAMES,
            "billing_run.ipynb",
            "billing_run parameters",
            [*history, "# Parameters\nissue_dat = '2026-11-05'\n"],
        )
    assert injected_names() == []  # outside a kernel
