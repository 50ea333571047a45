"""The notebooks are committed with their outputs (executed on the sample month); nbval re-runs them
and compares every result cell with what is stored. Volatile text (paths, dates, ids) is replaced
by tests/nbval_sanitize.cfg; chart and widget cells are tagged nbval-ignore-output.

nbval runs in a subprocess, in a temp copy of the project, so the run folders it writes never land
in the repository's outputs/. One pytest process checks both notebooks and, after them, a copy of
billing_run.ipynb with one stored total changed by a cent, ending with that cell (each notebook in a
kernel of its own): the copy's one failing cell shows that a changed figure is caught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.notebook_project import REPO, copy_project

SANITIZE = REPO / "tests" / "nbval_sanitize.cfg"
NOTEBOOKS = [
    "billing_run.ipynb",
    "margin_analysis.ipynb",
]  # in this order: the analysis reads the run
CHANGED = "changed/billing_run.ipynb"  # in the copy of the project, checked after the two
PLOTLY = "application/vnd.plotly.v1+json"


def nbval(project: Path, *notebooks: str) -> subprocess.CompletedProcess:
    """pytest with nbval over ``notebooks`` (paths in ``project``), every cell's result listed."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        str(SANITIZE),
        "-p",
        "no:cacheprovider",
        "-q",
        "-rA",
        "--rootdir",
        str(project),
        *notebooks,
    ]
    return subprocess.run(
        cmd, cwd=project, capture_output=True, text=True, timeout=900, check=False
    )


def change_a_total(path: Path) -> tuple[str, str]:
    """Edit one stored gross total in ``path`` as if a code change had moved it by a cent, and end
    the notebook with that cell; the stored total and the changed one. (The cells after it are
    those billing_run.ipynb itself shows reproduced; in the copy they would only write, chart and
    publish the run a second time, about 2 CPU-s of its kernel.)"""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "br.build_invoices()" in c.source)
    out = next(o for o in cell.outputs if "text/plain" in o.get("data", {}))
    plain = out["data"]["text/plain"]
    total = plain.split()[-1]  # last figure of the table: a gross amount like 1234.56
    assert total.replace(".", "").replace("-", "").isdigit(), plain
    cents = int(total.replace(".", "")) + 1
    changed = f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else total
    out["data"]["text/plain"] = plain[: plain.rindex(total)] + changed
    html = out["data"].get("text/html")
    if html:
        out["data"]["text/html"] = html.replace(f"<td>{total}</td>", f"<td>{changed}</td>")
    del nb.cells[nb.cells.index(cell) + 1 :]
    nbformat.write(nb, path)
    return total, changed


def cells(notebook: str, path: Path) -> set[str]:
    """nbval's test ids of the code cells of the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    count = sum(c.cell_type == "code" for c in nb.cells)
    return {f"{notebook}::Cell {i}" for i in range(count)}


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """nbval over both notebooks, then over the copy with a changed total: the result and the
    stored and changed totals."""
    project = copy_project(tmp_path_factory.mktemp("nbval") / "project")
    copy = project / CHANGED
    copy.parent.mkdir()
    copy.write_bytes((project / "notebooks" / "billing_run.ipynb").read_bytes())
    total, changed = change_a_total(copy)
    result = nbval(project, *[f"notebooks/{n}" for n in NOTEBOOKS], CHANGED)
    return project, result, total, changed


def _number(test_id: str) -> int:
    """The cell number of an nbval test id (``...::Cell 9`` -> 9)."""
    return int(test_id.rsplit(" ", 1)[1])


def results(result: subprocess.CompletedProcess, outcome: str) -> set[str]:
    """The test ids -rA lists with ``outcome`` (PASSED, FAILED)."""
    lines = result.stdout.splitlines()
    return {ln.split(" ", 1)[1].split(" - ")[0] for ln in lines if ln.startswith(f"{outcome} ")}


@pytest.mark.slow
def test_every_notebook_reproduces_its_stored_results(checked):
    project, result, _, _ = checked
    passed = results(result, "PASSED")
    for name in NOTEBOOKS:
        expected = cells(f"notebooks/{name}", REPO / "notebooks" / name)
        assert expected and expected <= passed, result.stdout[-6000:] + result.stderr[-2000:]
    assert (project / "outputs" / "2026-10" / "manifest.json").is_file()


@pytest.mark.slow
def test_a_changed_invoice_total_makes_nbval_fail(checked):
    """The copy with one stored gross total moved by a cent: nbval fails on exactly that cell."""
    project, result, total, changed = checked
    failed = results(result, "FAILED")
    assert len(failed) == 1 and next(iter(failed)).startswith(f"{CHANGED}::"), result.stdout[-3000:]
    assert failed | results(result, "PASSED") >= cells(CHANGED, project / CHANGED)
    assert next(iter(failed)) == max(cells(CHANGED, project / CHANGED), key=_number)  # its last
    assert result.returncode == 1 and "1 failed" in result.stdout, result.stdout[-3000:]
    assert changed in result.stdout and total in result.stdout


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_stored_notebooks_stay_small_and_stable(name):
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    size = (REPO / "notebooks" / name).stat().st_size
    assert size < 250_000, f"{name} is {size} bytes: is plotly.js or a big template embedded?"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and nb.cells.index(params[0]) == 1
    assert all(c.outputs for c in nb.cells if c.cell_type == "code" and c not in params), (
        "committed without outputs: execute the notebook on the sample month first"
    )
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kinds = {k for o in cell.outputs for k in o.get("data", {})}
        if PLOTLY in kinds:
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), cell.source
            assert kinds <= {PLOTLY, "text/html", "text/plain"}, kinds
            fig = next(o["data"][PLOTLY] for o in cell.outputs if PLOTLY in o.get("data", {}))
            assert len(json.dumps(fig)) < 20_000
            assert fig["layout"]["template"]["layout"]["paper_bgcolor"] == "white"  # the lean one
        assert "application/javascript" not in kinds
        assert not any(o.get("output_type") == "error" for o in cell.outputs), cell.source
