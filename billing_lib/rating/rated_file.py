"""``rated_lines`` written once, as a Parquet file in customer order, and read back as a view.

The rated lines are wide (30 columns, about 500 bytes a line): at ten million lines several
times the run's DuckDB memory limit. Sorted by customer in one query they spilled to DuckDB's
temporary files several times over, and were copied out of them again for the run's
``rated_lines.parquet`` (benchmarks/README.md). Here:

1. the customers are cut into *shares* of at most ``SHARE_LINES`` rated lines, in customer order
   (``rating_shares``, from the line counts of the keys: no pass over the lines);
2. one unsorted pass prices every vendor line (``price.vendor_lines_sql``); when there is more
   than one share, its rows are split by share into Arrow IPC files (LZ4) in a temporary folder;
3. each share is sorted in memory (customer, vendor file, row) and appended to the Parquet file
   by pyarrow (zstd) in row groups of ``ROW_GROUP`` lines, a share ending its last one; where
   tiered lines or minimum fees need it, the sorted share is a table first, its tiered lines
   priced (a customer's lines are all in one share) and its minimum-fee revenue kept;
4. the custom lines and the minimum-fee top-ups follow, as one row group.

``rated_lines`` is then a view over the file: stored by customer, so a query for a range of
customers reads only their row groups (zone maps of the Parquet statistics), and the run
publishes the file itself. Same bytes on every rerun: the order is total (a vendor file and row
is one line) and the row groups are cut the same way.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from billing_lib.periods import month_days
from billing_lib.pricing import Pricing
from billing_lib.rating.custom import (
    custom_rows,
    custom_table,
    minimum_lines_sql,
    minimum_rules_sql,
)
from billing_lib.rating.exact import DEC
from billing_lib.rating.keys import used_scope
from billing_lib.rating.price import (
    TIERED,
    apply_tier_amounts_sql,
    check_list_prices,
    tier_amounts_sql,
    vendor_lines_sql,
)
from billing_lib.rating.tables import RATED_COLUMNS, one
from billing_lib.run_files import RATED_PARQUET
from billing_lib.sql import ql

#: Rated lines per share at most (a customer with more is a share of its own): a share is sorted
#: in memory, about 500 bytes a line, within the run's DuckDB memory limit.
SHARE_LINES = 250_000
#: Lines per row group of the Parquet file (DuckDB's own default).
ROW_GROUP = 122_880
#: Lines per batch of the unsorted pass: its Arrow buffers are outside DuckDB's memory limit.
SPLIT_ROWS = 16_384
#: The order of rated_lines.parquet; unique for vendor lines (one line per vendor file and row).
ORDER = "customer_id, source_file, source_row"

_ARROW: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    DEC: pa.decimal128(38, 12),
    "DATE": pa.date32(),
    "BIGINT": pa.int64(),
}
#: rated_lines.parquet's schema: RATED_COLUMNS as Arrow types.
RATED_SCHEMA = pa.schema([(c, _ARROW[t]) for c, t in RATED_COLUMNS.items()])


def shares_sql(share_lines: int) -> str:
    """``rating_shares(customer, share)``: consecutive customers (in ``customer_id`` order) in
    shares of at most ``share_lines`` rated lines, counted from ``rating_keys_rated``."""
    return f"""
        CREATE OR REPLACE TEMP TABLE rating_shares AS
        SELECT customer,
               CAST((sum(n) OVER (ORDER BY customer ROWS UNBOUNDED PRECEDING) - n)
                    // {int(share_lines)} AS INTEGER) AS share
        FROM (SELECT customer, sum(lines) AS n FROM rating_keys_rated GROUP BY customer)"""


def typed(sql: str, order: str | None = None) -> str:
    """``sql``'s rated_lines columns, each cast to its contract type, in order (of rows too:
    sorted by ``order`` at this level, else as ``sql`` gives them)."""
    cols = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in RATED_COLUMNS.items())
    return f"SELECT {cols} FROM ({sql})" + (f" ORDER BY {order}" if order else "")


class RatedWriter:
    """The rated_lines Parquet file being written: row groups of ROW_GROUP lines at most, each
    query's rows after the previous ones."""

    def __init__(self, target: Path) -> None:
        self.writer = pq.ParquetWriter(target, RATED_SCHEMA, compression="zstd", store_schema=False)

    def append(
        self,
        con: duckdb.DuckDBPyConnection,
        sql: str,
        order: str | None = None,
        params: list | None = None,
    ) -> None:
        """The rows of ``sql`` (rated_lines columns), sorted by ``order`` (else as they come)."""
        reader = con.sql(typed(sql, order), params=params).to_arrow_reader(ROW_GROUP)
        try:
            for batch in reader:
                if batch.num_rows:
                    self.writer.write_batch(batch, row_group_size=ROW_GROUP)
        finally:
            reader.close()
        pa.default_memory_pool().release_unused()

    def close(self) -> None:
        self.writer.close()


def split_by_share(
    con: duckdb.DuckDBPyConnection, sql: str, period: str, folder: Path
) -> dict[int, Path]:
    """The rows of ``sql`` (with ``share`` as its last column) into one Arrow IPC stream file per
    share in ``folder`` (LZ4): the unsorted pass, kept outside DuckDB's memory."""
    files: dict[int, Path] = {}
    with ExitStack() as stack:
        reader = con.sql(sql, params=[period]).to_arrow_reader(SPLIT_ROWS)
        stack.callback(reader.close)
        writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        for batch in reader:
            for share, part in _runs(batch):
                if share not in writers:
                    files[share] = folder / f"share-{share}.arrow"
                    writers[share] = stack.enter_context(
                        pa.ipc.new_stream(str(files[share]), batch.schema, options=options)
                    )
                writers[share].write_batch(part)
            pa.default_memory_pool().release_unused()
    return files


def _runs(batch: pa.RecordBatch) -> Iterator[tuple[int, pa.RecordBatch]]:
    """``batch`` cut into its rows of each share (the last column)."""
    shares = batch.column(batch.num_columns - 1).to_numpy()
    if (shares == shares[0]).all():
        yield int(shares[0]), batch
        return
    order = np.argsort(shares, kind="stable")
    ordered, shares = batch.take(order), shares[order]
    cuts = [0, *(np.flatnonzero(shares[1:] != shares[:-1]) + 1), len(shares)]
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=False):
        yield int(shares[lo]), ordered.slice(lo, hi - lo)


def sort_share(con: duckdb.DuckDBPyConnection, source: str, tiered: bool, params: list) -> None:
    """``rating_share``: the lines of ``source`` (a relation with ``share``) in rated_lines
    order, the tiered and volume lines priced."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE rating_share AS "
        f"SELECT * EXCLUDE (share) FROM {source} ORDER BY {ORDER}",
        params,
    )
    if tiered:
        con.execute(tier_amounts_sql())
        con.execute(apply_tier_amounts_sql())


#: The revenue per customer and minimum-fee scope of the vendor lines of ``rating_share``, for
#: ``custom.minimum_lines_sql`` (which sums it again over the shares).
SHARE_REVENUE_SQL = """
    INSERT INTO rating_revenue
    SELECT customer_id, period, line_kind, vendor, provider, publisher, service, sku,
           charge_category, sum(amount) AS amount
    FROM rating_share WHERE customer_id IN (SELECT customer_id FROM rating_minimums)
    GROUP BY ALL"""
REVENUE_TABLE_SQL = f"""
    CREATE OR REPLACE TEMP TABLE rating_revenue (
        customer_id VARCHAR, period VARCHAR, line_kind VARCHAR, vendor VARCHAR,
        provider VARCHAR, publisher VARCHAR, service VARCHAR, sku VARCHAR,
        charge_category VARCHAR, amount {DEC})"""


def write_vendor_lines(
    con: duckdb.DuckDBPyConnection, out: RatedWriter, sql: str, period: str, tiered: bool
) -> None:
    """The vendor lines of ``sql`` (``vendor_lines_sql``) into ``out`` share by share, and the
    revenue of ``rating_minimums``' customers into ``rating_revenue``."""
    shares = one(con, "SELECT count(DISTINCT share) FROM rating_shares")[0]
    if shares <= 1:
        _write_share(con, out, f"({sql})", tiered, [period])
        return
    with tempfile.TemporaryDirectory(prefix="billing-rating-") as spill:
        files = split_by_share(con, sql, period, Path(spill))
        for share in sorted(files):
            with (
                pa.OSFile(str(files[share]), "r") as source,
                pa.ipc.open_stream(source) as lines,
            ):
                con.register("rating_share_lines", lines)
                try:
                    _write_share(con, out, "rating_share_lines", tiered, [])
                finally:
                    con.unregister("rating_share_lines")
            files[share].unlink()


def _write_share(
    con: duckdb.DuckDBPyConnection, out: RatedWriter, source: str, tiered: bool, params: list
) -> None:
    """One share of ``source`` (a relation with ``share``) appended in rated_lines order; when
    tiered lines or minimum fees need the sorted share first (``sort_share``), through
    ``rating_share``, the revenue of customers with a minimum fee kept."""
    minimums = one(con, "SELECT count(*) FROM rating_minimums")[0] > 0
    if not (tiered or minimums):
        out.append(con, f"SELECT * EXCLUDE (share) FROM {source}", ORDER, params)
        return
    sort_share(con, source, tiered, params)
    con.execute(SHARE_REVENUE_SQL)
    out.append(con, "SELECT * FROM rating_share")
    con.execute("DROP TABLE rating_share")


def write_rated(
    con: duckdb.DuckDBPyConnection,
    pricing: Pricing,
    period: str,
    target: Path,
) -> None:
    """``target`` (rated_lines.parquet) with the vendor lines whose key is rated, the custom lines
    and the minimum-fee top-ups, and ``rated_lines`` a view over it. ParameterError for a line a
    list-price rule cannot price. Shares of SHARE_LINES lines (read here: a test makes them
    small)."""
    first, last = month_days(period, "rating")
    used = used_scope(pricing)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rating_keys_rated AS "
        "SELECT * FROM rating_keys WHERE action = 'rate'"
    )
    check_list_prices(con, pricing, used)
    tiered = one(con, f"SELECT count(*) FROM rating_keys_rated WHERE pricing IN {TIERED}")[0] > 0
    con.execute(shares_sql(SHARE_LINES))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE rating_minimums AS {minimum_rules_sql(period, last)}"
    )
    con.execute(REVENUE_TABLE_SQL)
    drop_rated_lines(con)
    target.parent.mkdir(parents=True, exist_ok=True)
    out = RatedWriter(target)
    try:
        write_vendor_lines(con, out, vendor_lines_sql(used, tiered), period, tiered)
        # the custom lines, then the top-ups in their order, as one row group
        custom_table(con, custom_rows(pricing, period, first, last))
        top_ups = minimum_lines_sql("rating_revenue", "SELECT * FROM rating_minimums")
        con.execute(f"INSERT INTO rating_custom_lines {top_ups}")
        out.append(con, "SELECT * FROM rating_custom_lines")
    finally:
        out.close()
    con.execute(view_sql(target))


def drop_rated_lines(con: duckdb.DuckDBPyConnection) -> None:
    """Drop ``rated_lines``, a view of an earlier rating or a table."""
    kind = con.execute(
        "SELECT 'VIEW' FROM duckdb_views() WHERE view_name = 'rated_lines' AND NOT internal "
        "UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = 'rated_lines'"
    ).fetchone()
    if kind:
        con.execute(f"DROP {kind[0]} rated_lines")


def temporary_target() -> Path:
    """A rated_lines.parquet path in a folder of its own, removed when the process ends (the
    rating of a connection that publishes no run folder)."""
    folder = Path(tempfile.mkdtemp(prefix="billing-rated-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder / RATED_PARQUET


def view_sql(target: Path) -> str:
    """``rated_lines`` as a view over the file ``target``."""
    return f"CREATE VIEW rated_lines AS SELECT * FROM read_parquet({ql(str(target))})"
