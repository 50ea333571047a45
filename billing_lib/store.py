"""The DuckDB database a billing run works in, and the hand-over to pandas.

DuckDB is the engine (typed SQL, exact DECIMAL money, spills to disk when a month is large); pandas
DataFrames are what notebooks receive. ``frame`` keeps DECIMAL columns as Python ``Decimal`` objects
instead of floats, so that a total computed from a DataFrame is still exact.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from billing_lib.importers import ensure_tables


def open_store(database: str | Path = ":memory:", *, memory_limit: str | None = None,
               threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with the ``lines`` and ``imports`` tables ready; in memory unless a file is
    given (a file lets DuckDB spill to disk for very large months)."""
    con = duckdb.connect(str(database))
    con.execute("SET preserve_insertion_order = true")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    ensure_tables(con)
    return con


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """The result of ``sql`` as a DataFrame with DECIMAL columns as exact ``Decimal`` objects."""
    table = con.sql(sql, params=params).to_arrow_table()
    return table.to_pandas()
