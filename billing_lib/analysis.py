"""Margin analysis over finished runs (``notebooks/margin_analysis.ipynb``): the runs found, their
rated lines read back from ``rated_lines.parquet`` with exact decimals, and the what-if re-pricer the
margin explorer uses."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from billing_lib import whatif
from billing_lib.errors import ParameterError, RunError
from billing_lib.invoices import INVOICE_DATA, read_invoice_data
from billing_lib.publishing import MANIFEST
from billing_lib.run import RATED_PARQUET
from billing_lib.run_parameters import PERIOD_PATTERN, check_period, path_parameter
from billing_lib.sql import ql
from billing_lib.store import register_frame


def finished_runs(output: Path) -> list[str]:
    """Periods with a published run in ``output`` (a folder named YYYY-MM holding a manifest)."""
    output = Path(output)
    if not output.is_dir():
        return []
    return sorted(
        p.name
        for p in output.iterdir()
        if p.is_dir() and PERIOD_PATTERN.match(p.name) and (p / MANIFEST).is_file()
    )


def load_rated(output: Path, periods: list[str] | None = None) -> pd.DataFrame:
    """The rated lines of finished runs (each run saves them as Parquet, DECIMAL kept exact)."""
    available = finished_runs(output)
    chosen = available if periods is None else [check_period(p) for p in periods]
    missing = [p for p in chosen if p not in available]
    if missing or not chosen:
        raise RunError(
            f"{output}: no finished run for {missing or 'any period'}; runs found: {available}"
        )
    files = [str(Path(output) / p / RATED_PARQUET) for p in chosen]
    con = duckdb.connect()
    try:
        rated = (
            con.sql("SELECT * FROM read_parquet(?) ORDER BY period, customer_id", params=[files])
            .to_arrow_table()
            .to_pandas()
        )
    finally:
        con.close()
    names = customer_names(Path(output), chosen)
    rated["customer_name"] = rated["customer_id"].map(names)
    return rated


def customer_names(output: Path, periods: list[str]) -> dict[str, str]:
    """Customer id -> name as the runs' invoices show it (``invoices.json``; the latest run's name
    where a customer was renamed), so summaries read "C001 Dijkstra Architecten B.V."."""
    names: dict[str, str] = {}
    for period in sorted(periods):
        path = Path(output) / period / INVOICE_DATA
        if path.is_file():
            _, invoices = read_invoice_data(path)
            names.update({i.customer_id: i.buyer.name for i in invoices.values()})
    return names


def resolve(path: str | Path) -> Path:
    """A folder parameter as an absolute path (relative ones from the project folder)."""
    return path_parameter("output", path)


def period_list(periods: object) -> list[str] | None:
    """The margin notebook's ``periods`` parameter: comma-separated YYYY-MM text; empty = all."""
    if not isinstance(periods, str):
        raise ParameterError(
            "margin_analysis parameters",
            "periods",
            f"expected text like '2026-09, 2026-10' or empty; got {periods!r}",
        )
    chosen = [p.strip() for p in periods.split(",") if p.strip()]
    return [check_period(p) for p in chosen] or None


def runs_overview(rated: pd.DataFrame) -> pd.DataFrame:
    """Lines, customers and vendors per loaded period."""
    con = duckdb.connect()
    try:
        register_frame(con, "rated", rated)
        return con.sql("""SELECT period, count(*) AS rated_lines, count(DISTINCT customer_id) AS customers,
                                 string_agg(DISTINCT vendor, ', ' ORDER BY vendor) AS vendors
                          FROM rated GROUP BY period ORDER BY period""").to_df()
    finally:
        con.close()


def repricer(output: Path) -> Callable[[pd.DataFrame, str, Decimal], pd.DataFrame]:
    """The margin explorer's what-if over finished runs in ``output``: ``whatif.reprice`` of the
    rated lines given (read back from ``rated_lines.parquet``) with the minimum fees each run
    stored beside them (``minimum_fees.parquet``), so the margin is what a run with that markup
    would invoice. RunError naming the file when a run folder has none (a run older than it:
    bill that period again)."""
    output = Path(output)

    def reprice(lines: pd.DataFrame, customer: str, markup: Decimal) -> pd.DataFrame:
        files = [output / p / whatif.MINIMUM_FEES_PARQUET for p in sorted(set(lines["period"]))]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise RunError(
                f"{missing[0]}: not found; the what-if needs the minimum fees the run used "
                f"(runs since this file exists write it): bill {missing[0].parent.name} again"
            )
        con = duckdb.connect()
        try:
            register_frame(con, "_lines", lines)
            rules = "read_parquet([" + ", ".join(ql(str(f)) for f in files) + "])"
            repriced = whatif.reprice(con, "_lines", rules, customer, markup)
        finally:
            con.close()
        if "customer_name" in lines.columns:  # as load_rated names them, for the summaries
            names = dict(zip(lines["customer_id"], lines["customer_name"], strict=True))
            repriced["customer_name"] = repriced["customer_id"].map(names)
        return repriced

    return reprice
