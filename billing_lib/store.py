"""The DuckDB database a billing run works in, and the hand-over to pandas.

DuckDB is the engine (typed SQL, exact DECIMAL money, spills to disk when a month is large); pandas
DataFrames are what notebooks receive. ``frame`` keeps DECIMAL columns as Python ``Decimal`` objects
instead of floats, so that a total computed from a DataFrame is still exact.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from billing_lib.model import IMPORTED_ROWS_TABLE_SQL, IMPORTS_TABLE_SQL, lines_table_sql
from billing_lib.scratch import owned_folder, release, sweep_once
from billing_lib.sql import qi, ql
from billing_lib.store_limits import store_limits

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


#: The kind of the temporary folder of a store in a file (``scratch.owned_folder``), and its file.
STORE_KIND = "store"
STORE_FILE = "store.duckdb"


#: Bytes a line takes in DuckDB's memory per byte it takes in its vendor report, about: 800 against
#: 77 in the benchmark's Parquet CUR (10M lines), against 210 in CSV.gz (``open_run_store``).
STORE_BYTES_PER_REPORT_BYTE = 10


def open_run_store(reports_bytes: int = 0) -> duckdb.DuckDBPyConnection:
    """The run's store for reports of ``reports_bytes`` bytes. ``BILLING_MEMORY_LIMIT`` (e.g.
    ``2GB``) and ``BILLING_THREADS`` in the environment bound it for a large month on a shared
    machine; unset, DuckDB's defaults apply (80 % of RAM, every core).

    In memory, unless the month's lines would not fit in DuckDB's memory limit (the reports'
    bytes times ``STORE_BYTES_PER_REPORT_BYTE``): then in a database file of a temporary folder
    of its own (``scratch.owned_folder``), removed with the connection or when the process ends
    (by the next such run after a ``kill -9``). DuckDB keeps the tables of a file compressed; an
    in-memory table beyond the limit is spilled uncompressed to temporary files, and every later
    scan reads it back from them (10M lines: the rating 34 s instead of 55-68 s,
    benchmarks/README.md)."""
    limit, threads = store_limits()  # checked: junk there is named, not a DuckDB traceback
    sweep_once(STORE_KIND)
    con = open_store(memory_limit=limit, threads=threads)
    memory = con.execute(
        "SELECT parse_formatted_bytes(current_setting('memory_limit'))"
    ).fetchall()[0][0]
    if reports_bytes * STORE_BYTES_PER_REPORT_BYTE <= memory:
        return con
    con.close()
    folder = owned_folder(STORE_KIND)
    con = open_store(folder / STORE_FILE, memory_limit=limit, threads=threads)
    # the file is thrown away: no checkpoint when the connection closes
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    keep_allocated(con, memory)
    _remove_with(con, folder)
    return con


def keep_allocated(con: duckdb.DuckDBPyConnection, memory: int) -> None:
    """Let the store ``con`` keep the memory it allocated, up to its memory limit of ``memory``
    bytes, for as long as it is open. A month beyond the limit sorts and joins beyond it, and by
    default DuckDB gives memory back to the system after each task that used more than 128 MB
    and faults it in again for the next one: at ten million lines the process spent 19-22 CPU-s
    in the kernel (15-16 with the memory kept), and the rating took 37-40 s with the memory kept
    against 44-61 s without
    (benchmarks/README.md, issue 13's twenty-fourth pass). Only the memory used is taken, not the
    limit: the peak did not rise (it fell by about 60 MB)."""
    con.execute(f"SET block_allocator_memory = '{int(memory)}B'")
    con.execute(f"SET allocator_flush_threshold = '{int(memory)}B'")


def store_location(con: duckdb.DuckDBPyConnection) -> str:
    """The file of the store ``con``, or words saying it is in memory: what a failed write that
    names no file is reported against (``publishing.writing``)."""
    path = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return str(path[0]) if path and path[0] else "the run's store (in memory)"


def _remove_with(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Remove ``folder`` when ``con`` is collected, or when this process ends (``con`` closed
    first); not in a forked child, which did not make it."""
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            release(folder)

    def at_exit(ref: weakref.ref[duckdb.DuckDBPyConnection]) -> None:
        held = ref()
        if held is not None and os.getpid() == owner:
            held.close()
        remove()

    weakref.finalize(con, remove)
    atexit.register(at_exit, weakref.ref(con))


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``lines``, ``imports`` and ``imported_rows`` tables if they are not there yet
    (``content`` and ``invoice_ids`` added to an ``imports`` table of a store written before they
    existed)."""
    con.execute(lines_table_sql("lines"))
    con.execute(IMPORTS_TABLE_SQL)
    con.execute(IMPORTED_ROWS_TABLE_SQL)
    con.execute(
        "ALTER TABLE imports ADD COLUMN IF NOT EXISTS content VARCHAR; "
        "ALTER TABLE imports ADD COLUMN IF NOT EXISTS invoice_ids BOOLEAN"
    )


@contextmanager
def scratch_or(con: duckdb.DuckDBPyConnection | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """``con`` when given, else a scratch connection closed afterwards (``scratch_connection``):
    for code that sums or reads a little on the caller's connection when it has one."""
    if con is not None:
        yield con
        return
    with scratch_connection() as own:
        yield own


#: The process's scratch database (``scratch_connection``) and the process that made it.
_SCRATCH: tuple[int, duckdb.DuckDBPyConnection] | None = None
_SCRATCH_LOCK = threading.Lock()
#: Scratch databases a forked process inherited: never used nor closed there (their threads are
#: the parent's), only kept from being collected.
_INHERITED: list[duckdb.DuckDBPyConnection] = []


def scratch_cursor() -> duckdb.DuckDBPyConnection:
    """A connection of its own to an in-memory DuckDB this process keeps, for the caller to
    close: for a few statements that read files or registered frames. A new database costs about
    20 ms of CPU, more than such work (hundreds of them in the test suite); a connection to a
    kept one costs 0.01 ms. What its statements make must be the connection's own (``TEMP``
    tables and views, ``register``: gone when it closes), and they change no setting (settings
    are the database's); with those, its statements read and answer as on a new database."""
    global _SCRATCH
    with _SCRATCH_LOCK:
        if _SCRATCH is None or _SCRATCH[0] != os.getpid():
            if _SCRATCH is not None:
                _INHERITED.append(_SCRATCH[1])
            _SCRATCH = (os.getpid(), duckdb.connect())
        try:
            own = _SCRATCH[1].cursor()
            own.execute("SELECT 1").fetchall()
        except duckdb.Error:  # invalidated by a fatal error of an earlier user: a new one
            _SCRATCH = (os.getpid(), duckdb.connect())
            own = _SCRATCH[1].cursor()
    return own


@contextmanager
def scratch_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """``scratch_cursor``, closed when the block ends."""
    own = scratch_cursor()
    try:
        yield own
    finally:
        own.close()


def relation_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the store has a table or (not internal) view ``name``: a stage's relation that
    an earlier stage makes only in some runs (``excluded_lines``, ``unmapped_lines``)."""
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? UNION ALL "
        "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal",
        [name, name],
    ).fetchall() != [(0,), (0,)]


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
