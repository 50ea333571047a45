"""The DuckDB database a billing run works in, and the hand-over to pandas.

DuckDB is the engine (typed SQL, exact DECIMAL money, spills to disk when a month is large); pandas
DataFrames are what notebooks receive. ``frame`` keeps DECIMAL columns as Python ``Decimal`` objects
instead of floats, so that a total computed from a DataFrame is still exact.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from billing_lib.model import IMPORTS_TABLE_SQL, lines_table_sql
from billing_lib.sql import qi, ql

if TYPE_CHECKING:  # pandas only for types (pyarrow's to_pandas imports it): `billing run` starts
    import pandas as pd  # without it


def open_store(
    database: str | Path = ":memory:",
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection with the ``lines`` and ``imports`` tables ready; in memory unless a file is
    given (a file lets DuckDB spill to disk for very large months)."""
    con = duckdb.connect(str(database))
    con.execute("SET preserve_insertion_order = true")
    if memory_limit:
        con.execute(f"SET memory_limit = {ql(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    ensure_tables(con)
    return con


def open_run_store() -> duckdb.DuckDBPyConnection:
    """The run's store. ``BILLING_MEMORY_LIMIT`` (e.g. ``2GB``) and ``BILLING_THREADS`` in the
    environment bound it for a large month on a shared machine (DuckDB then spills to disk);
    unset, DuckDB's defaults apply (80 % of RAM, every core)."""
    threads = os.environ.get("BILLING_THREADS", "").strip()
    return open_store(
        memory_limit=os.environ.get("BILLING_MEMORY_LIMIT", "").strip() or None,
        threads=int(threads) if threads else None,
    )


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``lines`` and ``imports`` tables if they are not there yet (``content`` added to
    an ``imports`` table of a store written before it existed)."""
    con.execute(lines_table_sql("lines"))
    con.execute(IMPORTS_TABLE_SQL)
    con.execute("ALTER TABLE imports ADD COLUMN IF NOT EXISTS content VARCHAR")


@contextmanager
def scratch_or(con: duckdb.DuckDBPyConnection | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """``con`` when given, else a new in-memory database closed afterwards: for code that sums or
    reads a little on the caller's connection when it has one (a new database costs about 25 ms,
    more than such work)."""
    if con is not None:
        yield con
        return
    own = duckdb.connect()
    try:
        yield own
    finally:
        own.close()


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the view or table ``name`` if there is one (a stage that makes ``name`` one or the
    other: an earlier run of it, or a store of an older version, may have made the other)."""
    kind = con.execute(
        "SELECT 'VIEW' FROM duckdb_views() WHERE view_name = $1 AND NOT internal "
        "UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = $1",
        [name],
    ).fetchone()
    if kind:
        con.execute(f"DROP {kind[0]} {qi(name)}")


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """The result of ``sql`` as a DataFrame with DECIMAL columns as exact ``Decimal`` objects."""
    table = con.sql(sql, params=params).to_arrow_table()
    return table.to_pandas()


#: The type every money column has in the store; frames handed back to DuckDB get it again.
MONEY_ARROW = pa.decimal128(38, 12)


def register_frame(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame) -> None:
    """Register ``df`` as view ``name`` with its ``Decimal`` columns typed DECIMAL(38,12).

    Left to itself DuckDB types a pandas column of ``Decimal`` objects from the values it samples,
    so a larger amount further down fails to cast; the store's own money type avoids that."""
    arrays, names = [], []
    for col in df.columns:
        values = df[col]
        sample = values.dropna().head(1)
        if values.dtype == object and len(sample) and isinstance(sample.iloc[0], Decimal):
            arrays.append(pa.array(values.tolist(), type=MONEY_ARROW, from_pandas=True))
        else:
            arrays.append(pa.Array.from_pandas(values))
        names.append(str(col))
    con.register(name, pa.table(arrays, names=names))
