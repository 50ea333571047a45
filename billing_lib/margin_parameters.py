"""The margin notebook's parameters (``margin_analysis.ipynb``): the outputs folder of the
finished runs, the periods to load and the what-if markup the explorer starts with, checked
before anything is read (``check_parameters``, its first code cell), each error naming the
parameter and what was expected."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from billing_lib import whatif
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

#: The what-if markup's bounds in percent on cost, the explorer's: -100 prices a line at 0.
MARKUP_RANGE = (-100, 1000)


class MarginParameters(NamedTuple):
    """The margin notebook's parameters as checked (``check_parameters``)."""

    output: Path  # the outputs folder of the runs, absolute
    periods: list[str] | None  # the months to load; None: every finished run
    markup: float  # percent on cost, what the explorer starts with


def check_parameters(output: object, periods: object, markup: object) -> MarginParameters:
    """The notebook's three parameters checked in their order before a run is read
    (``resolve``, ``period_list``, ``check_markup``): a careless ``markup`` (``-r markup 15%``)
    was refused by the explorer's cell only, after the summary of every month was loaded and
    the tables and charts above it drawn."""
    return MarginParameters(resolve(output), period_list(periods), check_markup(markup))


def resolve(path: object, summary: pd.DataFrame | None = None) -> Path:
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


def check_markup(value: object) -> float:
    """The margin notebook's ``markup`` parameter (what the explorer starts with) as a number of
    percent within MARKUP_RANGE; ParameterError naming the parameter otherwise: ``-r markup 15%``
    is no number, and a markup beyond the bounds would be clamped by the widget without a word
    (the what-if showing another markup than the one asked), and one of more decimals than the
    what-if prices exactly (``whatif.MARKUP_DECIMALS``) would be rounded."""
    low, high = MARKUP_RANGE
    try:
        number = None if isinstance(value, bool) else float(str(value).strip())
    except ValueError:
        number = None
    if number is None or not math.isfinite(number):
        raise ParameterError(
            MARGIN_PARAMETERS,
            "markup",
            f"expected a number of percent on cost, e.g. 10 or 12.5; got {value!r}",
        )
    if not low <= number <= high:
        raise ParameterError(
            MARGIN_PARAMETERS,
            "markup",
            f"expected a number of percent on cost from {low} to {high}; got {value!r}",
        )
    exponent = Decimal(repr(number)).normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -whatif.MARKUP_DECIMALS:
        raise ParameterError(
            MARGIN_PARAMETERS,
            "markup",
            f"expected a number of percent on cost with at most {whatif.MARKUP_DECIMALS} "
            f"decimals (the what-if prices exactly to that); got {value!r}",
        )
    return number
