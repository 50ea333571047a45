"""A throw-away copy of the project for notebook tests: notebooks, parameters and the sample month,
so nbval, papermill and JupyterLab write their run folders into a temp folder, never into the
repository's outputs/."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"


def copy_project(target: Path) -> Path:
    """Copy what the notebooks read (notebooks/, parameters/, samples/<period>/) to ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        REPO / "notebooks",
        target / "notebooks",
        ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
    )
    shutil.copytree(
        REPO / "parameters", target / "parameters", ignore=shutil.ignore_patterns("local")
    )
    shutil.copytree(REPO / "samples" / PERIOD, target / "samples" / PERIOD)
    return target


def refresh_notebooks() -> None:
    """Execute both notebooks on the sample month in a temp copy of the project and write them back
    with their outputs (after a deliberate change of results; nbval then compares against them)."""
    import tempfile

    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp) / "project")
        for name in ("billing_run.ipynb", "margin_analysis.ipynb"):
            path = project / "notebooks" / name
            nb = nbformat.read(path, as_version=4)
            NotebookClient(
                nb,
                kernel_name="python3",
                timeout=600,
                store_widget_state=False,
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
            for cell in nb.cells:
                cell.metadata.pop("execution", None)
            nbformat.write(nb, REPO / "notebooks" / name)


if __name__ == "__main__":
    refresh_notebooks()
