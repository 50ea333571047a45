"""``rated_lines`` written once: one sorted DuckDB query streamed into the Parquet file the run
publishes, and a view over that file for every later stage.

The rated lines are wide (30 columns, about 500 bytes a line): at ten million lines several times
the run's DuckDB memory limit. Stored as a sorted table they were written to DuckDB's temporary
files by the sort, again as the table, and read back by the run's ``COPY rated_lines TO
rated_lines.parquet`` (benchmarks/README.md). Here DuckDB's sort streams straight into a Parquet
writer (``query_parquet``: DuckDB sorts on its threads, pyarrow encodes on another, the order
kept), so the lines are written once:

1. what used to be done to the stored table is done before: tiered and volume lines are priced
   in the same query by a window over only those lines (``price.vendor_sql``); the minimum-fee
   revenue is summed per customer and scope from the lines of the customers with a minimum fee
   only, and only when some customer has one (``REVENUE_SQL``), so the top-ups are known;
2. one query gives the vendor lines by customer, vendor file and row, then the custom lines
   and the top-ups in their own order (``rated_query_sql``); the long repeated text (service,
   SKU, tags, description, file name) goes through its sort as INTEGER codes (``codes``);
3. ``rated_lines`` is a view over the file (``view_sql``); the run publishes the file itself.

A small month (up to ``CODED_LINES`` lines) sorts its rated lines as they are (``plain_query_sql``):
the codes and key ids only shrink a sort of millions of lines, and for a few lines making the codes
(eleven statements) and planning their joins cost about 40 ms of a 380 ms rating on 20 lines. The
same rows in the same order: a code sorts as its value does, and a vendor line's keyed columns
equal its key's (the key's join makes them equal, ``keys.key_join``).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from billing_lib.line_labels import key_columns, line_key_sql
from billing_lib.periods import month_days
from billing_lib.pricing import Pricing
from billing_lib.query_parquet import write_query_parquet
from billing_lib.rating.codes import (
    KEYED,
    create_codes,
    decoded_sql,
    encoded_sql,
    key_values_sql,
)
from billing_lib.rating.custom import custom_rows, custom_table
from billing_lib.rating.fees import minimum_counts_sql, minimum_lines_sql, minimum_rules_sql
from billing_lib.rating.keys import used_scope
from billing_lib.rating.price import TIERED, vendor_sql
from billing_lib.rating.price_checks import check_priceable, check_seat_lines, unit_places_used
from billing_lib.rating.tables import RATED_COLUMNS, one
from billing_lib.rating.tiers import units_named
from billing_lib.run_files import RATED_PARQUET
from billing_lib.scratch import owned_folder, release
from billing_lib.sql import ql
from billing_lib.store import drop_relation

#: The order of the vendor lines in rated_lines.parquet (one line per vendor file and row).
ORDER = "customer_id, source_file, source_row"

#: Lines per row group of rated_lines.parquet (DuckDB's own row group size, as before): the later
#: stages read one customer's lines by the row groups' customer_id statistics.
ROW_GROUP_LINES = 122_880
#: Up to this many lines (in the table ``lines``) a month's rated lines are sorted without codes
#: (module docstring).
CODED_LINES = 20_000
#: Columns of a value (nearly) of its own on every vendor line: written without a dictionary.
PLAIN_COLUMNS = ("amount", "cost", "vendor_cost", "billed_cost", "source_row", "vendor_line_id")
#: Long text of its own on most lines that no stage filters on: written without min/max.
UNFILTERED_COLUMNS = ("subscription", "vendor_line_id")

#: The revenue per customer, fee scope and invoice line (``{line_key}``: its key under the
#: customer's line_grouping, made on the sums per the columns it reads, ``{key_columns}``;
#: ``fees.minimum_lines_sql`` sums it again per rule and invoice line) of the vendor lines of
#: the customers with a fee (``{vendor}``), and when some seat fee is in force their seats
#: (``{seats}``: the sums of ``price.SEAT_COLUMNS``, ``SEAT_SUMS``; empty otherwise).
REVENUE_SQL = """
    CREATE OR REPLACE TEMP TABLE rating_revenue AS
    SELECT *, {line_key} AS line_key FROM (
        SELECT customer_id, period, vendor, provider, publisher, service, sku, charge_category,
               product_group{key_columns}, sum(amount) AS amount{seats}
        FROM ({vendor}) GROUP BY ALL)"""
#: ``{seats}`` of ``REVENUE_SQL`` in a month with a seat fee.
SEAT_SUMS = (
    ", sum(seat_months) AS seat_months, sum(seat_months_whole) AS seat_months_whole, "
    "min(seat_unpriced) AS seat_unpriced"
)


def rated_query_sql(vendor: str) -> str:
    """The rows of rated_lines.parquet: the lines of ``vendor`` (``price.vendor_sql``) by
    customer, vendor file and row, then those of ``rating_custom_lines`` in its order (custom
    lines, then top-ups); each column of its contract type (``RATED_COLUMNS``). ``part`` sorts
    the vendor lines first (0) and each custom line after them (1 + its row number); ``vendor``
    gives each line's ``key_id`` after its columns, and so does the result: its ``KEYED``
    columns are NULL on a line with a key (``keyed_decoder`` gives them their values)."""
    cols = ", ".join(RATED_COLUMNS)
    typed = ", ".join(f"CAST({decoded_sql(c)} AS {t}) AS {c}" for c, t in RATED_COLUMNS.items())
    typed += ", key_id"
    rows = f"""
        SELECT CAST(0 AS BIGINT) AS part, {cols}, key_id FROM ({vendor})
        UNION ALL SELECT 1 + rowid, {cols}, CAST(NULL AS BIGINT) FROM rating_custom_lines"""
    encoded = encoded_sql(rows, keyed=True)
    return f"""
        SELECT {typed} FROM (SELECT * FROM ({encoded}) ORDER BY part, {ORDER})"""


def plain_query_sql(vendor: str) -> str:
    """The rows of ``rated_query_sql`` for ``vendor`` without a ``key_id`` (``price.vendor_sql``)
    with no column coded and none taken by key: the rated_lines columns, in the same order."""
    cols = ", ".join(RATED_COLUMNS)
    typed = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in RATED_COLUMNS.items())
    return f"""
        SELECT {typed} FROM (
            SELECT CAST(0 AS BIGINT) AS part, {cols} FROM ({vendor})
            UNION ALL SELECT 1 + rowid, {cols} FROM rating_custom_lines)
        ORDER BY part, {ORDER}"""


def write_plain_file(con: duckdb.DuckDBPyConnection, vendor: str, target: Path) -> None:
    """``target`` with the rows of ``plain_query_sql(vendor)`` in their order, written as
    ``write_rated_file`` writes its rows (each batch's columns made a batch of their own, so the
    file's schema is made as ``keyed_decoder`` makes it)."""
    write_query_parquet(
        con,
        plain_query_sql(vendor),
        target,
        ROW_GROUP_LINES,
        no_dictionary=PLAIN_COLUMNS,
        no_statistics=UNFILTERED_COLUMNS,
        transform=lambda batch: pa.RecordBatch.from_arrays(
            batch.columns, names=list(RATED_COLUMNS)
        ),
    )


def write_rated_file(
    con: duckdb.DuckDBPyConnection, vendor: str, keys: str, period: str, target: Path
) -> None:
    """``target`` with the rows of ``rated_query_sql(vendor)`` in their order, each vendor
    line's ``KEYED`` columns taken from its key in ``keys`` (``keyed_decoder``)."""
    write_query_parquet(
        con,
        rated_query_sql(vendor),
        target,
        ROW_GROUP_LINES,
        no_dictionary=PLAIN_COLUMNS,
        no_statistics=UNFILTERED_COLUMNS,
        transform=keyed_decoder(con, keys, period),
    )


def keyed_decoder(
    con: duckdb.DuckDBPyConnection, keys: str, period: str
) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """A batch of ``rated_query_sql`` rows -> the rated_lines columns: on a line with a
    ``key_id`` each ``KEYED`` column the value of its key in ``keys`` (the line's own value on
    a line without). Taken by pyarrow on the writer thread: DuckDB looking the values up per
    line from a list cost more than carrying them through the sort saved (benchmarks/README.md)."""
    table = con.sql(key_values_sql(keys, period)).to_arrow_table()
    values = {c: table.column(c).combine_chunks() for c in KEYED}

    def decode(batch: pa.RecordBatch) -> pa.RecordBatch:
        key = batch.column("key_id")
        keyless, index = pc.is_null(key), pc.subtract(key, 1)
        columns = [
            pc.if_else(keyless, batch.column(c), values[c].take(index))
            if c in KEYED
            else batch.column(c)
            for c in RATED_COLUMNS
        ]
        return pa.RecordBatch.from_arrays(columns, names=list(RATED_COLUMNS))

    return decode


#: The minimum fees in force with what each counts (``fees.minimum_counts_sql``: the revenue
#: and the credits in it), for the review's minimum fees that absorb credits.
MINIMUM_COUNTS = "rating_minimum_counts"


def top_ups(
    con: duckdb.DuckDBPyConnection,
    pricing: Pricing,
    used: list[str],
    period: str,
    last: date,
    tiered: bool,
    places: list[int] | None = None,
) -> None:
    """The fees' lines (minimum-fee top-ups, percent fees, allowances, seat fees) appended to
    ``rating_custom_lines``, when some customer has a fee: its revenue summed from its own
    vendor lines first (priced as ``vendor_sql`` prices them, ``places`` the rules'
    ``unit_price_places``), per invoice line of its line_grouping (``REVENUE_SQL``), so the fees
    count the lines as the invoices round them; and their seat-months, only when some seat fee
    is in force (``price.seat_columns_sql``: no SQL of them otherwise), a line without a
    quantity that costs something in a seat fee's scope refused (``price_checks.check_seat_lines``).
    What each fee counted is kept in ``MINIMUM_COUNTS`` (empty without fees)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE rating_minimums AS {minimum_rules_sql(period, last)}"
    )
    fees, kinds = one(
        con,
        "SELECT count(*), list(DISTINCT COALESCE(fee_kind, 'minimum_fee')) FROM rating_minimums",
    )
    kinds = kinds or []  # NULL: no fee
    seats = "seat_fee" in kinds
    if not fees:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {MINIMUM_COUNTS} AS "
            + minimum_counts_sql(
                "(SELECT *, CAST(NULL AS VARCHAR) AS line_key FROM rating_custom_lines)",
                "SELECT * FROM rating_minimums",
            )
        )
        return
    keys = (
        "(SELECT * FROM rating_keys_rated "
        "WHERE customer IN (SELECT customer_id FROM rating_minimums))"
    )
    groupings = {
        tuple(grouping): ids
        for grouping, ids in con.execute(
            "SELECT line_grouping, list(DISTINCT customer_id ORDER BY customer_id) "
            "FROM rating_minimums WHERE line_grouping IS NOT NULL GROUP BY ALL"
        ).fetchall()
    }
    scope = ("vendor", "provider", "publisher", "service", "sku")
    read = key_columns(groupings)
    extra = "".join(f", {c}" for c in read if c not in scope)
    if "description" not in read:  # read by the key of non-vendor lines only
        extra += ", CAST(NULL AS VARCHAR) AS description"
    con.execute(
        REVENUE_SQL.format(
            vendor=vendor_sql(used, keys, period, tiered, seats=seats, places=places or []),
            line_key=line_key_sql(groupings),
            key_columns=extra,
            seats=SEAT_SUMS if seats else "",
        )
    )
    counts = minimum_counts_sql("rating_revenue", "SELECT * FROM rating_minimums", seats)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {MINIMUM_COUNTS} AS {counts}")
    if seats:
        check_seat_lines(con, pricing, MINIMUM_COUNTS)
    lines = minimum_lines_sql(
        "rating_revenue", "SELECT * FROM rating_minimums", MINIMUM_COUNTS, seats, kinds
    )
    con.execute(f"INSERT INTO rating_custom_lines {lines}")


def write_rated(
    con: duckdb.DuckDBPyConnection, pricing: Pricing, period: str, target: Path
) -> None:
    """``target`` (rated_lines.parquet) with the vendor lines whose key is rated, the custom lines
    and the minimum-fee top-ups; ``rated_lines`` a view over it. ParameterError for a line its
    rule cannot price (``price_checks.check_priceable``), and for a tiered or volume rule adding
    up a customer's quantities of different units (``tiers.one_unit_sql``). A small month's lines
    (``CODED_LINES``) are sorted without codes (``plain_query_sql``)."""
    first, last = month_days(period, "rating")
    used = used_scope(pricing)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rating_keys_rated AS "
        "SELECT * FROM rating_keys WHERE action = 'rate'"
    )
    places = unit_places_used(con)  # none: the rating plans no rounding of unit prices
    check_priceable(con, pricing, used, bool(places))
    tiered = one(con, f"SELECT count(*) FROM rating_keys_rated WHERE pricing IN {TIERED}")[0] > 0
    custom_table(con, custom_rows(pricing, period, first, last))
    with units_named(pricing):  # a tier of mixed units stops the query that prices it
        top_ups(con, pricing, used, period, last, tiered, places)
        coded = one(con, "SELECT count(*) FROM lines")[0] > CODED_LINES
        if coded:
            create_codes(con, "lines", "rating_keys_rated", "rating_custom_lines")
        drop_rated_lines(con)
        target.parent.mkdir(parents=True, exist_ok=True)
        vendor = vendor_sql(
            used, "rating_keys_rated", period, tiered, with_key=coded, places=places
        )
        if coded:
            write_rated_file(con, vendor, "rating_keys_rated", period, target)
        else:
            write_plain_file(con, vendor, target)
    con.execute(view_sql(target))


def drop_rated_lines(con: duckdb.DuckDBPyConnection) -> None:
    """Drop ``rated_lines``, a view of an earlier rating or a table."""
    drop_relation(con, "rated_lines")


def discard_rated(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """No ``rated_lines`` and no file ``target``: what a failed rating leaves."""
    drop_rated_lines(con)
    target.unlink(missing_ok=True)


def view_sql(target: Path) -> str:
    """``rated_lines`` as a view over the file ``target``."""
    return f"CREATE VIEW rated_lines AS SELECT * FROM read_parquet({ql(str(target))})"


def temporary_target() -> Path:
    """A rated_lines.parquet path in a folder of its own (``scratch.owned_folder``), removed when
    the process that made it ends (not a forked writer process) or by ``release_target``; a
    folder a killed run left is removed by the next rating: the file of a rating until the run
    publishes it (a hard link), or of a connection that publishes no run folder."""
    folder = owned_folder("rated")
    atexit.register(_remove, folder, os.getpid())
    return folder / RATED_PARQUET


def release_target(target: Path) -> None:
    """Remove a ``temporary_target`` and its folder now (a rating run again in the same process
    replaces it: the earlier one is not kept until the process ends)."""
    _remove(target.parent, os.getpid())


def _remove(folder: Path, owner: int) -> None:
    """Remove ``folder`` in the process that made it."""
    if os.getpid() == owner:
        release(folder)
