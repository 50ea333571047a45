"""``rate_lines``: the steps of a rating, in order."""

from __future__ import annotations

from pathlib import Path

import duckdb

from billing_lib.customers import Customer
from billing_lib.periods import month_days
from billing_lib.pricing import Pricing
from billing_lib.rating.checks import RatingReport, conservation, line_counts, warnings
from billing_lib.rating.keys import resolve_keys
from billing_lib.rating.parameters import register_pricing
from billing_lib.rating.price import create_excluded_unmapped
from billing_lib.rating.rated_file import discard_rated, temporary_target, write_rated


def rate_lines(
    con: duckdb.DuckDBPyConnection,
    pricing: Pricing,
    customers: dict[str, Customer],
    period: str,
    target: Path | None = None,
) -> RatingReport:
    """Price ``customer_lines`` for ``period`` into ``rated_lines`` (a view over the Parquet file
    ``target``, written once: ``rated_file``; None: a temporary file), ``excluded_lines`` and
    ``unmapped_lines``. Raises ParameterError (missing plan, rule or exchange rate, list price
    missing) and ControlTotalError if the BilledCost would not be conserved per vendor currency
    or a customer line were not rated, excluded or unmapped exactly once; a failed rating leaves
    neither ``target`` nor ``rated_lines``."""
    first, last = month_days(period, "rating")
    register_pricing(con, pricing, customers)
    resolve_keys(con, pricing)
    target = target or temporary_target()
    try:
        write_rated(con, pricing, period, target)
        create_excluded_unmapped(con, pricing)
        report = RatingReport(period, rated_file=target)
        report.conservation = conservation(con, period)
        report.counts = line_counts(con, period)
        report.warnings = warnings(con, pricing, period, first, last)
    except BaseException:
        discard_rated(con, target)  # a failed rating leaves no rated lines behind
        raise
    return report
