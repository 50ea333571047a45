"""A query's rows written to one Parquet file by pyarrow, while DuckDB still computes them.

DuckDB's own ``COPY (... ORDER BY ...) TO 'file.parquet'`` writes a sorted result on one thread
once the sort has spilled beyond the memory limit: its ordered writer asks for 4 MB per column and
thread of the memory the sort still holds, gets less, and runs one writer (benchmarks/README.md:
at ten million rated lines the second half of that statement used 1.1 of the 2 cores). Here the
query's rows come out as Arrow batches (DuckDB's threads sort and convert them) and a thread of
this process encodes them with pyarrow meanwhile: the same rows in the same order, in row groups
of a fixed number of rows, so a rerun writes the same bytes.

The batches live outside DuckDB's memory limit: DuckDB's conversion holds several times a batch
while it fills one (at three million rated lines about 20 MB more at 8,192 lines a batch, 120 MB
at 30,720, 360 MB at 122,880; the ten-million-line run's peak 1,733 MB with 15,360, 1,851-1,896
MB with 30,720), so the batches are small, a few wait in the queue, and a row group is written
from several of them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

#: Rows of an Arrow batch from DuckDB (module docstring).
BATCH_ROWS = 15_360
#: Batches converted but not yet taken by the writer.
QUEUED_BATCHES = 2


def write_query_parquet(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    target: Path,
    rows_per_group: int,
    no_dictionary: Iterable[str] = (),
    no_statistics: Iterable[str] = (),
    transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
) -> None:
    """Write the rows of the query ``sql`` to the Parquet file ``target`` in their order, in row
    groups of ``rows_per_group`` rows (a multiple of ``BATCH_ROWS``; the last group smaller),
    each batch first through ``transform`` (on the writer thread) if given.
    Columns in ``no_dictionary`` (values nearly unique per row: a dictionary only costs) are
    written plain, those in ``no_statistics`` (long text no reader filters on) without min/max.
    An error of the query or of the write is raised here; ``target`` is then incomplete and the
    caller removes it."""
    if rows_per_group % BATCH_ROWS:
        raise ValueError(f"rows_per_group {rows_per_group} is no multiple of {BATCH_ROWS}")
    reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
    transform = transform or (lambda batch: batch)
    schema = transform(pa.RecordBatch.from_pylist([], schema=reader.schema)).schema
    plain, unfiltered = set(no_dictionary), set(no_statistics)
    names = schema.names
    options = {
        "use_dictionary": [c for c in names if c not in plain],
        "write_statistics": [c for c in names if c not in unfiltered],
    }
    batches: queue.Queue[pa.RecordBatch | None] = queue.Queue(maxsize=QUEUED_BATCHES)
    failures: list[BaseException] = []
    writer = threading.Thread(
        target=_write_batches,
        args=(batches, target, schema, rows_per_group, transform, options, failures),
        name="query-parquet",
        daemon=True,
    )
    writer.start()
    try:
        for batch in reader:
            if failures:
                break
            batches.put(batch)
    finally:
        batches.put(None)
        writer.join()
        reader.close()
    if failures:
        raise failures[0]


def _write_batches(
    batches: queue.Queue[pa.RecordBatch | None],
    target: Path,
    schema: pa.Schema,
    rows_per_group: int,
    transform: Callable[[pa.RecordBatch], pa.RecordBatch],
    options: dict[str, list[str]],
    failures: list[BaseException],
) -> None:
    """The writer thread: the batches of ``batches`` until None, ``rows_per_group`` rows a row
    group of ``target``. A failed write is kept in ``failures`` and the queue read to its end, so
    the query's side never waits on a full queue."""
    try:
        with pq.ParquetWriter(target, schema, **options) as writer:  # type: ignore[arg-type]
            group: list[pa.RecordBatch] = []
            rows = 0
            while (batch := batches.get()) is not None:
                group.append(transform(batch))
                rows += batch.num_rows
                if rows >= rows_per_group:
                    writer.write_table(pa.Table.from_batches(group), row_group_size=rows)
                    group, rows = [], 0
            if group:
                writer.write_table(pa.Table.from_batches(group), row_group_size=rows)
    except BaseException as exc:  # raised again by write_query_parquet in the caller's thread
        failures.append(exc)
        while batches.get() is not None:
            pass
