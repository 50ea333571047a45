"""What the notebooks show: money as fixed-point text, paths relative to the project folder, and
the table of a run's checked parameters. Display only; no figure is computed here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from billing_lib.charts import NO_PERCENT
from billing_lib.errors import BillingError
from billing_lib.money import decimal_places
from billing_lib.run_parameters import project_dir

if TYPE_CHECKING:
    from billing_lib.run import BillingRun


#: A percentage column (``margin_pct``, ``what_if_margin_pct``: a name ending in
#: PERCENT_SUFFIX) shows NO_PERCENT where it has no value: a margin over a revenue of 0 or
#: less, which ``charts.summarise`` leaves empty (a customer whose month a credit note
#: cancelled, the credits of the custom lines). pandas showed it as NaN, a division by zero to
#: the analyst.
PERCENT_SUFFIX = "_pct"


def display_money(
    df: pd.DataFrame, places: int | None = 2, exact: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A copy of ``df`` for showing: Decimal columns as fixed-point text rounded half-up to the
    decimals of the row's currency (its ``currency`` column, else ``vendor_currency``: 0 for JPY,
    3 for KWD, as the invoices state them; ``places`` where a frame or row names none), or
    unrounded (``places=None``, trailing zeros dropped) for control totals; the columns ``exact``
    unrounded whatever ``places`` (sums beside the minor units they round to). A KWD invoice's
    net 42.412 showed as 42.41, a yen amount as 13763.00. A percentage without a value (no
    revenue to divide by) reads NO_PERCENT, not NaN."""
    out = df.copy()
    for col in out.columns:
        if str(col).endswith(PERCENT_SUFFIX):
            out[col] = [NO_PERCENT if v is None or pd.isna(v) else v for v in out[col]]
    named = next((c for c in ("currency", "vendor_currency") if c in df.columns), None)
    row_places = [
        decimal_places(c) if isinstance(c, str) and c else places
        for c in (df[named] if named else [None] * len(df))
    ]
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, Decimal)).any():
            out[col] = [
                _fixed(v, None if col in exact or places is None else n)
                if isinstance(v, Decimal)
                else v
                for v, n in zip(out[col], row_places, strict=True)
            ]
    return out


@dataclass(frozen=True)
class Sentence:
    """A line of text a notebook cell shows as its result (plain text and Markdown alike)."""

    text: str

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


def listed(frame: pd.DataFrame, nothing: str) -> pd.DataFrame | Sentence:
    """``frame``, or the sentence ``nothing`` when it has no row: "Empty DataFrame" under a list
    of warnings or findings reads as a fault, where it means all is well."""
    return frame if len(frame) else Sentence(nothing)


def _fixed(value: Decimal, places: int | None) -> str:
    """``value`` as fixed-point text (rounded half-up to ``places``, or unrounded); an amount
    that is, or rounds to, nothing without a sign ("0.00", not "-0.00": a loss of nothing), as
    ``money.round_money`` keeps it."""
    shown = value if places is None else value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    if not shown:
        shown = abs(shown)
    return f"{shown.normalize():f}" if places is None else f"{shown:f}"


def shown(path: Path) -> str:
    """``path`` relative to the project folder when inside it (what the notebook shows, the same on
    every machine), else as it is."""
    base = project_dir()
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def describe(br: BillingRun) -> pd.DataFrame:
    """The checked parameters and the vendor reports found, for the notebook's first table."""
    p = br.params
    rows = [
        ("period", p.period),
        ("reports", shown(p.reports)),
        ("parameters", shown(p.parameters)),
        ("run folder", shown(p.run_folder)),
        ("finalise", str(p.finalise)),
        ("issue date", p.issue_date.isoformat()),
    ]
    if p.currency:
        rows.append(("currency of FOCUS reports without one", p.currency))
    rows += [(f"report {name}", fmt) for name, fmt in p.reports_found]
    rows += [("cleaned up", line) for line in br.cleaned]
    return pd.DataFrame(rows, columns=["parameter", "value"])


def short_errors() -> None:
    """In a notebook kernel, an error of the workbench (``BillingError``: a parameters file, a
    report, a run that cannot go on) shows as its type and message alone. The message names the
    file, row or entry and the way out; the frames of billing_lib above it are noise to the
    analyst. Any other exception (a fault of the code) keeps its whole traceback. Outside a
    kernel, nothing changes."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return
    shell = get_ipython()
    if shell is None:
        return

    def show(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> None:
        shell.showtraceback((etype, value, tb), exception_only=True)

    shell.set_custom_exc((BillingError,), show)
