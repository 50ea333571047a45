"""``rate_lines``: the steps of a rating, in order."""

from __future__ import annotations

import duckdb

from billing_lib.customers import Customer
from billing_lib.periods import month_days
from billing_lib.pricing import Pricing
from billing_lib.rating.checks import RatingReport, conservation, line_counts, warnings
from billing_lib.rating.custom import custom_rows, insert_rows, minimum_lines_sql, minimum_rules_sql
from billing_lib.rating.keys import resolve_keys
from billing_lib.rating.parameters import register_pricing
from billing_lib.rating.price import create_excluded_unmapped, create_vendor_rated


def rate_lines(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, customers: dict[str, Customer], period: str
) -> RatingReport:
    """Price ``customer_lines`` for ``period`` into ``rated_lines``, ``excluded_lines`` and
    ``unmapped_lines``. Raises ParameterError (missing plan, rule or exchange rate, list price
    missing) and ControlTotalError if the BilledCost would not be conserved per vendor currency
    or a customer line were not rated, excluded or unmapped exactly once."""
    first, last = month_days(period, "rating")
    register_pricing(con, pricing, customers)
    resolve_keys(con, pricing)
    create_vendor_rated(con, pricing, period)
    create_excluded_unmapped(con, pricing)
    insert_rows(con, "rated_lines", custom_rows(pricing, period, first, last))
    top_ups = minimum_lines_sql("rated_lines", minimum_rules_sql(period, last))
    con.execute(f"INSERT INTO rated_lines {top_ups}")
    report = RatingReport(period)
    report.conservation = conservation(con, period)
    report.counts = line_counts(con, period)
    report.warnings = warnings(con, pricing, period, first, last)
    return report
