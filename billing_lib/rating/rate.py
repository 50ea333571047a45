"""``rate_lines``: the steps of a rating, in order.

A small month (up to ``ONE_THREAD_LINES`` lines) is rated on one DuckDB thread: its statements
each take a few milliseconds, mostly planning, and handing a few rows to a second thread and
waiting for it cost more than it saved (a sixth of such a rating's CPU time, benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import duckdb

from billing_lib.customers import Customer
from billing_lib.errors import InputError, Problem
from billing_lib.periods import month_days
from billing_lib.pricing import Pricing
from billing_lib.rating.amortised_purchases import check_amortised_purchases
from billing_lib.rating.checks import RatingReport, conservation, line_counts, warnings
from billing_lib.rating.commitments import mark_commitments
from billing_lib.rating.effective_cost import check_effective_costs
from billing_lib.rating.keys import resolve_keys
from billing_lib.rating.parameters import register_pricing
from billing_lib.rating.price import create_excluded_unmapped
from billing_lib.rating.rated_file import discard_rated, temporary_target, write_rated
from billing_lib.rating.spans import mark_spans
from billing_lib.rating.tables import one

#: Up to this many lines in the store a rating runs on one thread (module docstring).
ONE_THREAD_LINES = 20_000


@contextmanager
def threads_for_size(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB thread while a small month is rated, the setting as it was afterwards (a
    setting of the database: nothing else runs on it meanwhile)."""
    lines, threads = one(con, "SELECT count(*), current_setting('threads') FROM lines")
    if lines > ONE_THREAD_LINES or threads == 1:
        yield
        return
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")


#: The line-model values the rating multiplies and divides, named when one is too large for it.
_SIZED = ("BilledCost", "EffectiveCost", "ListCost", "ListUnitPrice", "PricingQuantity")


def too_large(con: duckdb.DuckDBPyConnection, exc: duckdb.OutOfRangeException) -> InputError:
    """The error for a rating DuckDB's DECIMAL arithmetic overflowed on: the importers take
    amounts exactly up to 10^26 in size, but the rating multiplies 12-place amounts at 24 places
    (a price x a quantity, a cost x a factor of 10^14 or more overflows) and divides below
    8.5 x 10^13 (``exact``). Names the customer lines with the largest such values."""
    values = ", ".join(f"CAST({c} AS DECIMAL(38,12)) AS {c}" for c in _SIZED)
    # the values of 10^13 or more (the largest one if none is: a product of two smaller ones)
    largest = con.execute(
        f"""SELECT x_SourceFile, x_SourceRow, name, CAST(v AS VARCHAR) FROM (
              UNPIVOT (SELECT x_SourceFile, x_SourceRow, {values} FROM customer_lines)
              ON {", ".join(_SIZED)} INTO NAME name VALUE v)
            QUALIFY abs(v) >= 1e13 OR row_number() OVER (ORDER BY abs(v) DESC) = 1
            ORDER BY abs(v) DESC, x_SourceFile, x_SourceRow, name LIMIT 10"""
    ).fetchall()
    return InputError(
        "amounts too large for the rating's exact arithmetic: it multiplies 12-place amounts at "
        "24 decimal places, so a price x a quantity or a cost x a factor of 10^14 or more "
        f"overflows ({str(exc).splitlines()[0]}); the largest amounts and quantities:",
        [
            Problem(
                file,
                row,
                name,
                format(Decimal(value).normalize(), "f"),
                "an amount or quantity the rating can price (well below 10^14 in size)",
            )
            for file, row, name, value in largest
        ],
    )


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
    missing; a commitment bought on BilledCost and used on EffectiveCost with no
    CommitmentDiscountId to tell them apart), InputError (a line priced on an EffectiveCost it
    lacks) and ControlTotalError if
    the BilledCost would not be conserved per vendor currency or a customer line were not rated,
    excluded or unmapped exactly once; a failed rating leaves neither ``target`` nor
    ``rated_lines``."""
    with threads_for_size(con):
        return _rate(con, pricing, customers, period, target)


def _rate(
    con: duckdb.DuckDBPyConnection,
    pricing: Pricing,
    customers: dict[str, Customer],
    period: str,
    target: Path | None,
) -> RatingReport:
    """The steps of ``rate_lines``."""
    first, last = month_days(period, "rating")
    register_pricing(con, pricing, customers)
    resolve_keys(con, pricing)
    check_effective_costs(con, pricing)
    check_amortised_purchases(con, pricing)
    target = target or temporary_target()
    try:
        try:
            write_rated(con, pricing, period, target)
        except duckdb.OutOfRangeException as exc:
            raise too_large(con, exc) from exc
        create_excluded_unmapped(con, pricing)
        mark_commitments(con, pricing)
        mark_spans(con, pricing, first, last)
        report = RatingReport(period, rated_file=target)
        report.conservation = conservation(con, period)
        report.counts = line_counts(con, period)
        report.warnings = warnings(con, pricing, period, first, last)
    except BaseException:
        discard_rated(con, target)  # a failed rating leaves no rated lines behind
        raise
    return report
