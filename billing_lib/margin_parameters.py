"""The margin notebook's parameters (``margin_analysis.ipynb``): the outputs folder of the
finished runs and the periods to load, checked before anything is read, each error naming the
parameter and what was expected."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing_lib.errors import ParameterError, RunError
from billing_lib.notebook_parameters import changed_parameters, check_injected
from billing_lib.periods import PERIOD_PATTERN
from billing_lib.publishing import MANIFEST
from billing_lib.run_parameters import check_period, path_parameter

if TYPE_CHECKING:
    import pandas as pd

#: Where the margin notebook's parameters come from, for error messages.
MARGIN_PARAMETERS = "margin_analysis parameters"

#: The names of ``margin_analysis.ipynb``'s parameters cell, in its order.
MARGIN_PARAMETER_NAMES = ("output", "periods", "markup")

#: The parameters the summary is loaded from (``analysis.load_summary``); ``markup`` is only
#: what the explorer starts with.
LOADED_FROM = ("output", "periods")


def resolve(path: str | Path, summary: pd.DataFrame | None = None) -> Path:
    """The ``output`` parameter as an absolute path (relative ones from the project folder), a
    folder that exists; ParameterError naming it otherwise: a mistyped folder, or a file, read
    as "no finished run; runs found: []", as if no month had been billed. In a notebook kernel,
    a name papermill injected that is not one of the notebook's parameters (``-r period 2026-10``
    for ``periods``: every month analysed) is refused first. Given the ``summary`` a cell below
    the first reads, a parameters cell changed since it was loaded is named first
    (``check_cell_unchanged``), not as the folder the new ``output`` is or holds."""
    if summary is not None:
        check_cell_unchanged(summary.attrs)
    check_injected(MARGIN_PARAMETER_NAMES, "margin_analysis.ipynb", MARGIN_PARAMETERS)
    folder = path_parameter("output", path, MARGIN_PARAMETERS)
    if folder.is_dir():
        _check_no_run_folder(folder)
        return folder
    what = "is a file, not a folder" if folder.exists() else "no such folder"
    raise ParameterError(
        MARGIN_PARAMETERS,
        "output",
        f"{folder}: {what}; expected the outputs folder of the billing runs (holding one "
        f"folder per period, e.g. {folder.name}/2026-10/), as billing run --output was given",
    )


def _check_no_run_folder(folder: Path) -> None:
    """ParameterError naming ``output`` when ``folder`` is a run folder (``<output>/YYYY-MM``
    holding a manifest) or in one: read as an outputs folder without a run, the message said to
    bill a month into it, a run folder inside a run folder."""
    for run in (folder, *folder.parents):
        if PERIOD_PATTERN.match(run.name) and (run / MANIFEST).is_file():
            raise ParameterError(
                MARGIN_PARAMETERS,
                "output",
                f"{folder}: in the run folder of {run.name}, not the outputs folder of the runs; "
                f'expected {run.parent}, which holds it (periods = "{run.name}" for that month '
                "alone)",
            )


def period_list(periods: object) -> list[str] | None:
    """The margin notebook's ``periods`` parameter: comma-separated YYYY-MM text; empty = all."""
    if not isinstance(periods, str):
        raise ParameterError(
            MARGIN_PARAMETERS,
            "periods",
            f"expected text like '2026-09, 2026-10' or empty; got {periods!r}",
        )
    chosen = [p.strip() for p in periods.split(",") if p.strip()]
    for p in chosen:  # "2026-09 2026-10": months, the separator wrong
        parts = p.replace(";", " ").split()
        if len(parts) > 1 and all(PERIOD_PATTERN.match(x) for x in parts):
            raise ParameterError(
                MARGIN_PARAMETERS,
                "periods",
                f"expected months separated by commas ('2026-09, 2026-10'); got {periods!r}",
            )
    return [check_period(p, MARGIN_PARAMETERS, "periods") for p in chosen] or None


def check_cell_unchanged(loaded: Mapping[Any, object]) -> None:
    """RunError naming the parameters (``LOADED_FROM``) changed since the summary was loaded
    (``loaded``: its ``attrs``, ``analysis.load_summary``'s record): the parameters cell edited
    and run, the first code cell not run again, so a cell below set the summary of the months
    loaded against other months or another outputs folder. Outside a kernel, or a frame without
    the record, nothing is checked."""
    started = loaded.get("parameters")
    changed = changed_parameters(dict(started)) if isinstance(started, dict) else []
    if changed:
        runs = loaded.get("runs")
        periods = list(runs) if isinstance(runs, dict) else []
        raise RunError(
            f"the parameters cell changed since the summary was loaded ({'; '.join(changed)}); "
            f"the summary above is of {periods} in {loaded.get('output')}: run the first code "
            "cell again (analysis.load_summary), then the cells below it"
        )
