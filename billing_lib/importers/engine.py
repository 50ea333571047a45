"""Reading one vendor table into the line model inside DuckDB, with every check before it lands.

Steps for one file: recognise the format from the header, check required columns, load the
referenced columns as text, type them (collecting every unparsable value), map them to the line
model, check the model's rules, and compare control totals before and after. Only then are the lines
added to the ``lines`` table; a failure leaves the store as it was.
What a table must be before its lines are read is ``source_checks``'.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import duckdb

from billing_lib.errors import InputError, Problem, duckdb_file, write_fault
from billing_lib.importers.contract import attach_contract_prices
from billing_lib.importers.header_currency import header_currency
from billing_lib.importers.line_checks import OVERFLOW_RISK, check_model, check_overflow
from billing_lib.importers.line_facts import FACTS, LineFacts, line_facts
from billing_lib.importers.reader import SourceFile, blank_records, duckdb_source
from billing_lib.importers.renamed_columns import check_renamed
from billing_lib.importers.report import ImportReport, control_totals
from billing_lib.importers.row_warnings import row_warnings
from billing_lib.importers.slash_dates import with_file_order
from billing_lib.importers.source_checks import (
    check_no_line_rows,
    check_older_names,
    check_rejects,
    check_repeated,
    check_required,
    check_respelled,
    check_unnamed,
    csv_unnamed,
    resolve_columns,
    with_newer_names,
)
from billing_lib.importers.spec import (
    FILE_NAME_COLUMN,
    OPTIONAL_COLUMNS,
    QUOTED_COLUMN,
    FormatSpec,
    mapping_sql,
    tag_columns_of,
)
from billing_lib.importers.spreadsheet_damage import (
    check_not_cut_at_sheet_end,
    check_spreadsheet_damage,
)
from billing_lib.importers.total_rows import check_total, label_select, set_aside
from billing_lib.importers.unread_prices import check_unread_prices
from billing_lib.importers.values import (
    absent_text_sql,
    check_rows,
    check_types,
    typed_expr,
    typing_source,
)
from billing_lib.model import (
    DERIVED_COLUMNS,
    LINE_COLUMN_NAMES,
    LINE_COLUMNS,
    derived_select_sql,
)
from billing_lib.sql import qi, ql

__all__ = [
    "FILE_RELATIONS",
    "ROW_NUMBER_COLUMN",
    "STAGING_RELATIONS",
    "drop_staging",
    "line_columns_sql",
    "next_rowid",
    "stage_source",
]


_DUCKDB_LINE = re.compile(r"Line:\s*(\d+)")


#: Column of the ``__raw_parquet`` view holding the record's 0-based place in the Parquet file.
ROW_NUMBER_COLUMN = "__file_row"


#: The file's records: a CSV's text is parsed once into the table ``__raw``; a Parquet file is
#: read through the view ``__raw_parquet`` in each pass.
RAW_TABLE, RAW_VIEW = "__raw", "__raw_parquet"


#: The table of malformed CSV rows DuckDB sets aside while reading (and its ``_scan`` table).
REJECTS = "__rejects"


#: Temporary relations the engine creates while staging one file, each always of one kind (TABLE
#: or VIEW), so that dropping them needs no catalog lookup: one costs a millisecond or more, on a
#: small file more than its data, and an import drops its staging three times a file.
STAGING_RELATIONS = {
    "__new": "VIEW",
    "__staged": "TABLE",
    "__typed": "VIEW",
    "__numbered": "VIEW",
    RAW_VIEW: "VIEW",
    RAW_TABLE: "TABLE",
    "__blanks": "TABLE",
    FACTS: "TABLE",
    REJECTS: "TABLE",
    f"{REJECTS}_scan": "TABLE",
}


#: The relations over the file's own records, not needed once its lines are mapped.
FILE_RELATIONS = (
    "__typed",
    "__numbered",
    RAW_VIEW,
    RAW_TABLE,
    "__blanks",
    REJECTS,
    f"{REJECTS}_scan",
)


def store_write_failed(src: SourceFile, exc: BaseException) -> bool:
    """Whether ``exc`` is DuckDB failing to write a file other than the report ``src`` (the
    store or its temporary files: a full disk, a file-size limit), not the report's fault: the
    run names that file (``publishing.writing``)."""
    named = duckdb_file(str(exc))
    return write_fault(exc) is not None and named is not None and Path(named) != src.path


def _raise_duckdb(src: SourceFile, exc: Exception) -> None:
    """InputError naming the CSV row DuckDB could not parse; a write of the store that failed is
    raised as it is (``store_write_failed``)."""
    if store_write_failed(src, exc):
        raise exc
    msg = str(exc).splitlines()
    m = _DUCKDB_LINE.search(str(exc))
    row = int(m.group(1)) if m else None
    detail = " ".join(line.strip() for line in msg[:3])
    raise InputError(
        f"{src.name}: the file cannot be parsed as comma-separated {src.encoding.upper()} text",
        [Problem(src.name, row, None, None, f"a well-formed CSV row ({detail})")],
    ) from exc


def _numbered_view(con: duckdb.DuckDBPyConnection, src: SourceFile, raw: str) -> None:
    """``__numbered``: the records of ``raw`` plus ``__row``, the record's spreadsheet row
    (header = 1, blank lines counted as the rows they are in a spreadsheet, though DuckDB skips
    them); for Parquet the 1-based record number (the file's own record number column of the
    view ``RAW_VIEW``)."""
    if raw == RAW_VIEW:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW __numbered AS SELECT {ROW_NUMBER_COLUMN} + 1 AS __row, "
            f"* EXCLUDE ({ROW_NUMBER_COLUMN}) FROM {raw}"
        )
        return
    # Rows added inside a transaction get rowids from a large offset on: count from the first.
    records, first = con.execute(f"SELECT count(*), COALESCE(min(rowid), 0) FROM {raw}").fetchall()[
        0
    ]
    # lines ended by a CR alone (Excel for Mac's "CSV (Macintosh)"): the line scan counts LF and
    # finds one line, so it cannot have found the blank ones; the csv module reads such lines
    cr_only = src.kind == "csv" and records > 0 and src.physical_lines <= 1
    blanks = src.blank_lines if src.kind == "csv" else ()
    if cr_only or (blanks and records + 1 + len(blanks) != src.physical_lines):
        blanks = blank_records(src)  # quoted values span lines: count records, not lines
    if not blanks:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW __numbered AS "
            f"SELECT rowid - {int(first)} + {src.first_data_row} AS __row, * FROM {raw}"
        )
        return
    # Record i (0-based) is on row i + 2 + (blank rows before it); the j-th blank row R_j comes
    # before it when R_j - j < i + 2, so an ASOF join on a = R_j - j finds how many do.
    con.execute("CREATE OR REPLACE TEMP TABLE __blanks (a BIGINT, n BIGINT)")
    con.executemany(
        "INSERT INTO __blanks VALUES (?, ?)", [(r - j, j) for j, r in enumerate(blanks, 1)]
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW __numbered AS "
        f"SELECT r.__rid + 2 + COALESCE(b.n, 0) AS __row, r.* EXCLUDE (__rid) "
        f"FROM (SELECT rowid - {int(first)} AS __rid, * FROM {raw}) r ASOF LEFT JOIN __blanks b ON "
        f"r.__rid + 2 > b.a "
        f"ORDER BY __row"
    )


def drop_staging(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop those of the engine's temporary relations (``STAGING_RELATIONS`` unless named) that
    exist, in the order named, in one call: each name is always a table or always a view."""
    con.execute(
        "; ".join(
            f"DROP {STAGING_RELATIONS[n]} IF EXISTS {qi(n)}" for n in names or STAGING_RELATIONS
        )
    )


def stage_source(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    default_currency: str | None = None,
    into: str | None = None,
    period: str | None = None,
    extra_raw: dict[str, str] | None = None,
    start: int | None = None,
) -> tuple[ImportReport, LineFacts]:
    """Read ``src`` into the temporary table ``__staged`` (``__new`` a view of it) in the line
    model, checked; return its control totals and the counts the later checks start from
    (line_facts). Raises InputError or ControlTotalError; adds nothing to ``lines``.
    ``extra_raw``: more columns of the file's records (name -> SQL over the file's columns),
    computed in the same scan (the row hash of duplicates.row_hash_sql).

    With ``into`` (a table of the line model) the lines are appended to that table instead and
    ``__new`` is a view of them: the caller holds a transaction and rolls it back on an error;
    ``start``: ``next_rowid(con, into)`` when the caller has it already.
    ``period`` (``YYYY-MM``) is the month of a report priced from the reseller's contract that
    names no month itself (billing_lib.importers.contract)."""
    check_required(src, spec, default_currency)
    check_older_names(src, spec)  # Cost in an MCA export for its costInBillingCurrency
    wanted = sorted(spec.referenced_columns() | set(tag_columns_of(spec, src.header)))
    actual = with_newer_names(spec, src.header, resolve_columns(wanted, src.header))
    read_as, constants = header_currency(src, spec)  # Price (DKK) read as Price (CUR), and DKK
    actual |= read_as
    check_respelled(src, spec, wanted, actual)
    check_renamed(src, spec, wanted, actual)  # Qty for Quantity
    check_unread_prices(con, src, spec, actual)  # Unit Price for Price per Point
    check_repeated(src, spec, set(actual.values()))
    present = [c for c in wanted if c in actual]
    rejects = REJECTS if src.kind == "csv" else None
    # Parquet is columnar and compressed: reading the referenced columns again in each pass is
    # cheaper than a copy of them all (benchmarks/README.md), so RAW_VIEW is
    # a view numbering records by their place in the file. CSV text is parsed once, into RAW_TABLE.
    as_view = src.kind == "parquet" and ROW_NUMBER_COLUMN not in src.header
    raw = RAW_VIEW if as_view else RAW_TABLE
    source = duckdb_source(src, spec.null_values, rejects, row_numbers=as_view)
    text = _text_columns(con, src, spec, source)
    select = ", ".join(
        [f"{_read_as(actual[c], text, spec)} AS {qi(c)}" for c in present]
        + [qi(u) for u in csv_unnamed(src)]  # checked to hold nothing (check_unnamed)
        + [f"{e} AS {qi(n)}" for n, e in constants.items()]
        + [f"{e} AS {qi(n)}" for n, e in (extra_raw or {}).items()]
        + [f"{e} AS {qi(n)}" for n, e in label_select(spec, src).items()]
    )
    actual |= {n: n for n in constants}  # a column of the records from here on
    select = select or "1 AS __none"
    try:
        drop_staging(con, RAW_VIEW, RAW_TABLE, *([rejects, f"{rejects}_scan"] if rejects else []))
        if as_view:
            con.execute(
                f"CREATE TEMP VIEW {raw} AS SELECT {select}, file_row_number AS "
                f"{ROW_NUMBER_COLUMN} "
                f"FROM {source}"
            )
        else:
            con.execute(f"CREATE TEMP TABLE {raw} AS SELECT {select} FROM {source}")
    except duckdb.Error as exc:
        _raise_duckdb(src, exc)
    if rejects:
        check_rejects(con, src, rejects)  # its tables go with FILE_RELATIONS
    # a CSV is read as text (duckdb_source): every column VARCHAR, typed_expr's default
    raw_types = (
        {} if src.kind == "csv" else {r[0]: r[1] for r in con.execute(f"DESCRIBE {raw}").fetchall()}
    )
    _numbered_view(con, src, raw)
    check_not_cut_at_sheet_end(con, src)
    check_unnamed(con, src)
    total = set_aside(con, src, spec, present, raw)  # the report's own total row is no line
    check_no_line_rows(con, src, spec, present)
    # a spreadsheet's re-save of an ISO vendor's dates: 01/10/2026 day or month first
    spec = with_file_order(con, src, spec, present, raw_types)

    # over __numbered and the text each text date column is typed from (values.typing_source)
    typed_from = typing_source(spec.types, present, raw_types)
    typed = {
        c: typed_expr(c, spec.types.get(c), c in actual, raw_types, spec, layered=True)
        for c in wanted
    }
    typed_cols = ["__row"] + [f"{e} AS {qi(c)}" for c, e in typed.items()]
    if spec.line_id_by_file:
        typed_cols.append(f"{ql(src.file_name)} AS {qi(FILE_NAME_COLUMN)}")
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW __typed AS SELECT {', '.join(typed_cols)} FROM {typed_from}"
    )

    largest = check_types(
        con, src, spec, {c: typed[c] for c in present if c in spec.types}, raw_types, typed_from
    )
    check_total(con, src, spec, total)
    check_spreadsheet_damage(con, src, spec, set(present), raw_types)
    if spec.row_checks:
        check_rows(con, src, spec)
    if spec.contract_price:
        attach_contract_prices(con, src, spec, ", ".join(typed_cols), period, typed_from)
    # listed in the report, not refused; after the contract columns, which warnings may compare
    warned = row_warnings(con, src, spec)
    default_sql = default_currency_sql(spec, set(actual), default_currency)
    if largest >= OVERFLOW_RISK:
        check_overflow(con, src, spec, set(actual), default_sql)
    _map_lines(con, src, spec, set(actual), default_sql, into, start)
    facts = line_facts(con, spec, period)
    check_model(con, src, spec, set(actual), facts)
    read = _read_columns(spec, typed, typed_from)
    report = control_totals(con, src, spec, default_sql, facts, read)
    return replace(report, warnings=warned) if warned else report, facts


def _read_as(column: str, text: set[str], spec: FormatSpec) -> str:
    """SQL reading the file's ``column``: empty text as NULL (``absent_text_sql``)."""
    return absent_text_sql(qi(column), spec.null_values) if column in text else qi(column)


def _text_columns(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec, source: str
) -> set[str]:
    """The columns of ``src`` whose empty text is made NULL here (``absent_text_sql``): none of a
    CSV (its reader does it), a Parquet file's VARCHAR columns that may hold '' or another
    marker. A Parquet file is read again in each pass, so a column is left as it is where the
    footer's statistics rule that out in every row group: each marker below the least or above
    the greatest value (bounds stay bounds where a writer shortens them), or values all NULL.
    Without statistics a column may hold anything."""
    if src.kind == "csv":
        return set()
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    text = {name for name, kind, *_ in described if kind == "VARCHAR"}
    markers = list(dict.fromkeys(["", *spec.null_values]))
    groups = con.execute(
        "SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count, num_values "
        f"FROM parquet_metadata({ql(src.path)})"
    ).fetchall()
    maybe_empty: set[str] = set()
    for name, least, greatest, nulls, values in groups:
        if name not in text or (nulls is not None and nulls == values):
            continue
        if least is None or greatest is None or any(least <= m <= greatest for m in markers):
            maybe_empty.add(name)
    return maybe_empty | (text - {g[0] for g in groups})


def _read_columns(spec: FormatSpec, typed: dict[str, str], typed_from: str) -> str:
    """The typed columns the format's cost and currency read, as a relation over ``typed_from``
    (``__typed`` when contract prices are attached): the same values as ``__typed`` has, but
    DuckDB binds only these columns' typing, not every column's (a few milliseconds a file)."""
    used = sorted(set(QUOTED_COLUMN.findall(f"{spec.cost} {spec.currency}")))
    if spec.contract_price or not set(used) <= set(typed):
        return "__typed"
    columns = ", ".join(f"{typed[c]} AS {qi(c)}" for c in used) or "1 AS __none"
    return f"(SELECT {columns} FROM {typed_from})"


def default_currency_sql(spec: FormatSpec, present: set[str], default_currency: str | None) -> str:
    """What ``{default_currency}`` stands for: the given currency when the file lacks the column
    it stands in for, otherwise NULL (a file's own currency is never overridden or filled in)."""
    if (
        default_currency
        and spec.default_currency_column
        and spec.default_currency_column not in present
    ):
        return ql(default_currency.strip().upper())
    return "NULL"


def next_rowid(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """The rowid the next row appended to ``table`` gets at least (rowids grow with appends, also
    inside a transaction), so that ``rowid >= next_rowid(...)`` picks the rows appended after."""
    return int(con.execute(f"SELECT COALESCE(max(rowid) + 1, 0) FROM {qi(table)}").fetchall()[0][0])


def _map_lines(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    present: set[str],
    default_sql: str,
    into: str | None = None,
    start: int | None = None,
) -> None:
    exprs = []
    for col in LINE_COLUMNS:
        if col.name == "x_Format":
            expr = ql(spec.name)
        elif col.name == "x_SourceFile":
            expr = ql(src.name)
        elif col.name == "x_SourceRow":
            expr = "__row"
        elif col.name not in spec.columns and (
            col.name in DERIVED_COLUMNS or col.name in OPTIONAL_COLUMNS
        ):
            expr = "NULL"  # computed from the mapped line (derived_select_sql), or none
        else:
            expr = mapping_sql(spec, present, col.name, default_sql)
        if col.name == "Tags":
            expr = f"NULLIF(trim({expr}), '{{}}')"  # no tags: NULL, whatever the vendor wrote
        exprs.append(f"CAST({expr} AS {col.sql_type}) AS {qi(col.name)}")
    try:
        with _in_file_order(con):
            _insert_lines(con, exprs, into, start)
    except duckdb.Error as exc:
        if store_write_failed(src, exc):
            raise  # not the report's fault: the run names the file it could not write
        if unreadable_parquet(src, exc) and not isinstance(exc, duckdb.ConversionException):
            raise  # import_reports names the file as damaged; a failed cast is the mapping's
        raise InputError(
            f"{src.name} ({spec.title}): the mapping to the line model failed: {exc}"
        ) from exc


def unreadable_parquet(src: SourceFile, exc: duckdb.Error) -> bool:
    """Whether ``src`` is a Parquet file and DuckDB failed on its pages rather than on our SQL:
    its reader raises I/O and invalid-input errors, and a plain ``duckdb.Error`` for a damaged
    page (Thrift, varint, bit width, dictionary offsets); a conversion error once the page's
    values contradict the min/max the footer promised (DuckDB trusts them: every value the checks
    refuse is otherwise refused with its row). A binder or catalog error is not about the file's
    bytes, nor is a write of the store that failed (``store_write_failed``)."""
    return (
        src.kind == "parquet"
        and not store_write_failed(src, exc)
        and type(exc)
        in (
            duckdb.Error,
            duckdb.IOException,
            duckdb.InvalidInputException,
            duckdb.ConversionException,
        )
    )


@contextmanager
def _in_file_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's ``in_clause`` optimizer turned off around the insert of a file's lines, and its
    setting restored after. It rewrites ``x IN (a, b, c, d, e)`` (a format's mapping has such
    lists) into a join with the list, and DuckDB takes a plan with a join to have no order to
    keep: the insert is then a parallel ``Insert`` that appends each thread's rows as they come,
    and the lines of a file of several row groups land in an order that varies from run to run.
    Without the rewrite the plan is DuckDB's ``Batch Insert``: as parallel, in the file's order.
    (Not faster: the same CPU seconds, benchmarks/README.md, issue 13's fourth pass.)"""
    before = disabled_optimizers(con)
    listed = [o.strip() for o in before.split(",") if o.strip()]
    con.execute(f"SET disabled_optimizers = {ql(', '.join([*listed, 'in_clause']))}")
    # Restored only when the insert went through: a failed statement aborts the caller's
    # transaction, which refuses every statement until its ROLLBACK (this SET too, whose error
    # would hide the insert's); ``import_reports`` restores the setting after its ROLLBACK.
    yield
    restore_optimizers(con, before)


def disabled_optimizers(con: duckdb.DuckDBPyConnection) -> str:
    """DuckDB's ``disabled_optimizers`` setting as it is."""
    return str(con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0] or "")


def restore_optimizers(con: duckdb.DuckDBPyConnection, setting: str) -> None:
    """``disabled_optimizers`` set back to ``setting`` (from ``disabled_optimizers``)."""
    con.execute(f"SET disabled_optimizers = {ql(setting)}")


def _insert_lines(
    con: duckdb.DuckDBPyConnection, exprs: list[str], into: str | None, start: int | None = None
) -> None:
    """The mapped lines appended to ``into`` from rowid ``start`` on (``__new`` a view of them),
    or into the table ``__staged`` (``__new`` a view of it); the ``DERIVED_COLUMNS`` computed
    from the mapped line (``derived_select_sql``)."""
    mapped = f"(SELECT {', '.join(exprs)} FROM __typed)"
    if into:
        start = next_rowid(con, into) if start is None else start
        con.execute(f"INSERT INTO {qi(into)} ({line_columns_sql()}) {derived_select_sql(mapped)}")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW __new AS SELECT {line_columns_sql()} FROM {qi(into)} "
            f"WHERE rowid >= {int(start)}"
        )
    else:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __staged AS {derived_select_sql(mapped)}; "
            "CREATE OR REPLACE TEMP VIEW __new AS SELECT * FROM __staged"
        )


def line_columns_sql() -> str:
    return ", ".join(qi(c) for c in LINE_COLUMN_NAMES)
