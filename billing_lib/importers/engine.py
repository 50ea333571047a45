"""Reading one vendor table into the line model inside DuckDB, with every check before it lands.

Steps for one file: recognise the format from the header, check required columns, load the
referenced columns as text, type them (collecting every unparsable value), map them to the line
model, check the model's rules, and compare control totals before and after. Only then are the lines
added to the ``lines`` table; a failure leaves the store as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from xlsxwriter.utility import xl_col_to_name

from billing_lib.errors import InputError, Problem, duckdb_file, write_fault
from billing_lib.importers.contract import attach_contract_prices
from billing_lib.importers.header_currency import header_currency
from billing_lib.importers.line_checks import OVERFLOW_RISK, check_model, check_overflow
from billing_lib.importers.line_facts import FACTS, LineFacts, line_facts
from billing_lib.importers.reader import SourceFile, blank_records, duckdb_source
from billing_lib.importers.report import ImportReport, control_totals
from billing_lib.importers.spec import (
    FILE_NAME_COLUMN,
    OPTIONAL_COLUMNS,
    QUOTED_COLUMN,
    FormatSpec,
    all_specs,
    choice_text,
    choices,
    mapping_sql,
    tag_columns_of,
)
from billing_lib.importers.spreadsheet_damage import check_spreadsheet_damage
from billing_lib.importers.values import (
    MAX_EXAMPLES_PER_COLUMN,
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
    "reads_invoice_ids",
    "ROW_NUMBER_COLUMN",
    "STAGING_RELATIONS",
    "detect_format",
    "drop_staging",
    "line_columns_sql",
    "next_rowid",
    "resolve_columns",
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


def resolve_columns(names: Iterable[str], header: Iterable[str]) -> dict[str, str]:
    """Spec column name -> the file's own spelling, for the names the file has. An exact match
    wins; otherwise a unique case-insensitive one (Azure writes ``CostInBillingCurrency`` in one
    export and ``costInBillingCurrency`` in another)."""
    header = list(header)
    exact = set(header)
    folded: dict[str, list[str]] = {}
    for h in header:
        folded.setdefault(h.casefold(), []).append(h)
    found = {}
    for n in names:
        if n in exact:
            found[n] = n
        elif len(folded.get(n.casefold(), [])) == 1:
            found[n] = folded[n.casefold()][0]
    return found


def reads_invoice_ids(spec: FormatSpec, header: Iterable[str]) -> bool:
    """Whether a file of ``header`` has a column the format's InvoiceId comes from: a report
    without one (Data Exports lets a user leave ``bill_invoice_id`` out) says nothing about
    whether the vendor has invoiced its lines."""
    m = spec.column_map("InvoiceId")
    names = m.alternatives() or QUOTED_COLUMN.findall(m.sql or "")
    return bool(resolve_columns(names, header))


def _missing(entries: list, header: tuple[str, ...]) -> list[str]:
    """Signature or required entries none of whose alternatives the header has."""
    return [choice_text(e) for e in entries if not resolve_columns(choices(e), header)]


def detect_format(src: SourceFile) -> FormatSpec:
    """The format whose signature columns all stand in the header, or an error listing what each
    known format expects and what the file has."""
    for spec in all_specs():
        if not _missing(spec.signature, src.header):
            return spec
    lines = [f"{src.name}: not a known vendor report format."]
    for spec in all_specs():
        expects = [choice_text(e) for e in spec.signature]
        lines.append(
            f"  {spec.title} ({spec.name}) expects columns {expects}; "
            f"missing {_missing(spec.signature, src.header)}"
        )
    lines.append(
        f"  found columns: {list(src.header)[:40]}{' ...' if len(src.header) > 40 else ''}"
    )
    raise InputError("\n".join(lines))


def _check_required(src: SourceFile, spec: FormatSpec, default_currency: str | None) -> None:
    if src.kind == "csv" and src.delimiter not in spec.delimiters:
        raise InputError(
            f"{src.name} ({spec.title}): the columns are separated by tabs, not commas",
            [
                Problem(
                    src.name, 1, None, None, "comma-separated columns as the vendor exports them"
                )
            ],
        )
    missing = _missing(spec.required, src.header)
    stand_in = spec.default_currency_column
    if stand_in in missing and default_currency:
        missing.remove(stand_in)
    if missing:
        hint = ""
        if stand_in in missing:
            hint = (
                " (FOCUS requires it: export the data with it, or give the billing currency of "
                "the files without it: `billing run --currency EUR`, `billing import --currency "
                "EUR`, notebook parameter currency)"
            )
        raise InputError(
            f"{src.name} ({spec.title}): missing required column(s) {missing}{hint}.\n"
            f"  expected: {[choice_text(e) for e in spec.required]}\n  found: {list(src.header)}"
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


_REJECT_EXPECTED = {
    "TOO MANY COLUMNS": "as many values as the header has columns",
    "MISSING COLUMNS": "as many values as the header has columns",
    "UNQUOTED VALUE": "a value in matching double quotes",
    "INVALID ENCODING": "UTF-8 text (re-export the report as UTF-8)",
    "LINE SIZE OVER MAXIMUM": "a line shorter than DuckDB's maximum line size",
}


def _check_rejects(con: duckdb.DuckDBPyConnection, src: SourceFile, table: str) -> None:
    """Every malformed CSV row DuckDB set aside (ragged rows, bad quotes, bad bytes), with its
    line and, where DuckDB knows it, the column."""
    rows = con.execute(
        f"SELECT line, arg_min(column_name, column_idx), arg_min(error_type, column_idx), "
        f"any_value(csv_line), arg_min(error_message, column_idx), min(column_idx) FROM {table} "
        f"GROUP BY line ORDER BY line LIMIT 200"
    ).fetchall()
    if not rows:
        return
    problems = [
        Problem(
            src.name,
            int(line),
            _reject_column(etype, col, position),
            # DuckDB's text of a row after blank lines begins with them
            (text or "").lstrip("\r\n")[:120],
            f"{_REJECT_EXPECTED.get(etype, etype.lower())} ({message.strip()})",
        )
        for line, col, etype, text, message, position in rows
    ]
    raise InputError(f"{src.name}: rows that are not well-formed CSV", problems)


def _reject_column(etype: str, column: str | None, position: int | None) -> str | None:
    """The column a malformed row is named by: DuckDB's, or for a row with more values than
    the header has columns the place of the first value beyond them (number and letter)."""
    if etype == "TOO MANY COLUMNS" and position:
        return f"column {position} ({xl_col_to_name(position - 1)}), beyond the header's last"
    # a byte that is not UTF-8 is named by its column too: where the accent Excel's code page
    # wrote stands (DuckDB names it right, in quoted values as well)
    return None if etype == "TOO MANY COLUMNS" else column


def _csv_unnamed(src: SourceFile) -> tuple[str, ...]:
    """The columns of a CSV's header without a name (none for Parquet: reader checks them)."""
    return src.unnamed if src.kind == "csv" else ()


def _check_unnamed(con: duckdb.DuckDBPyConnection, src: SourceFile) -> None:
    """Refuse a CSV whose header has a column without a name holding a value: no format reads it,
    so the value would be lost in silence. Columns without a name that hold nothing (a comma
    ending every line, as a spreadsheet leaves) are ignored. (A Parquet file's are checked when it
    is opened: reader.)"""
    unnamed = _csv_unnamed(src)
    if not unnamed:
        return
    found = con.execute(
        f"SELECT __row, [{', '.join(qi(u) for u in unnamed)}] FROM __numbered "
        f"WHERE {' OR '.join(f'{qi(u)} IS NOT NULL' for u in unnamed)} "
        "ORDER BY __row LIMIT 1"
    ).fetchall()
    if not found:
        return
    row, values = found[0]
    name, value = next((u, v) for u, v in zip(unnamed, values, strict=True) if v is not None)
    position = src.header.index(name) + 1
    raise InputError(
        f"{src.name}: column {position} of the header (row 1) has no name, and row {row} holds "
        f"a value in it ({value!r}); a column without a name is not read, so its values would be "
        "lost. Give the column its name in the header, or delete it if the vendor's report has "
        "no such column",
        [
            Problem(
                src.name,
                1,
                f"column {position}",
                "",
                f"a column name, for a column that holds values (row {row}: {value!r})",
            )
        ],
    )


def _check_repeated(src: SourceFile, spec: FormatSpec, read: set[str]) -> None:
    """Refuse a header that names a column the format reads twice (``BilledCost,...,BilledCost``,
    or ignoring case): only the first would be read, and the values of the other ignored in
    silence, whichever of the two holds the vendor's. A vendor writes each column once; a
    spreadsheet edit (a column pasted or copied in) does not. Two spellings of one tag key
    (a legacy CUR's ``resourceTags/user:Name`` and ``user:name``) are the vendor's: tag keys are
    case-sensitive, and ``spec.tags_sql`` reads both."""
    tags = set(tag_columns_of(spec, src.header))
    problems = []
    for first, position, name in src.repeated:
        column = src.header[first - 1]
        if column not in read and src.header[position - 1] not in read:
            continue
        if column in tags and name != column:
            continue
        csv = src.kind == "csv"  # a Parquet file has no header row, nor column letters
        places = [
            f"column {n}" + (f" ({xl_col_to_name(n - 1)})" if csv else "")
            for n in (first, position)
        ]
        problems.append(
            Problem(
                src.name,
                1 if csv else None,
                column,
                f"{column!r} at {places[0]} and {name!r} at {places[1]}",
                "each column once, as the vendor exports it: delete the repeated column, or "
                "export the report again",
            )
        )
    if problems:
        header = "the header (row 1)" if src.kind == "csv" else "the Parquet file"
        raise InputError(
            f"{src.name} ({spec.title}): {header} names a column it reads twice; only the first "
            "would be read and the other's values ignored",
            problems,
        )


def _identifying(spec: FormatSpec, present: list[str]) -> list[str]:
    """The required columns of ``spec`` that every line of the vendor's report fills and a totals
    row does not: those present in the file that are neither amounts (decimal) nor the currency."""
    currency = set(QUOTED_COLUMN.findall(spec.currency))
    return [
        c
        for entry in spec.required
        for c in choices(entry)
        if c in present and spec.types.get(c) != "decimal" and c not in currency
    ]


def _check_no_line_rows(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec, present: list[str]
) -> None:
    """Refuse a CSV's rows that are no line of the report: every required column that names the
    line (``_identifying``) empty, as in a totals row a spreadsheet user added under the report
    or a row of empty cells a spreadsheet saved. Each line the vendor writes fills them; checked
    per line, such a row was refused for the first rule it broke ("BillingFrequency: expected
    Monthly, Annual or Triennial"), which sent the user looking for a licence's billing cycle.
    Parquet is written by tools, not spreadsheets: not read again for this."""
    columns = _identifying(spec, present)
    if src.kind != "csv" or not columns:
        return
    empty = " AND ".join(f"{qi(c)} IS NULL" for c in columns)
    order = {h.casefold(): n for n, h in reversed(list(enumerate(src.header)))}
    shown = sorted(
        (c for c in present if c not in columns), key=lambda c: order.get(c.casefold(), 1 << 30)
    )
    found = con.execute(
        f"SELECT __row, [{', '.join(f'CAST({qi(c)} AS VARCHAR)' for c in shown) or 'NULL'}] "
        f"FROM __numbered WHERE {empty} ORDER BY __row LIMIT {MAX_EXAMPLES_PER_COLUMN}"
    ).fetchall()
    if not found:
        return

    def held(values: list[str | None]) -> str:
        filled = [f"{c} {v!r}" for c, v in zip(shown, values or [], strict=False) if v]
        if filled:
            return f"a row whose columns read hold only {', '.join(filled)}"
        return "a row whose columns read are all empty"

    names = ", ".join(columns)
    raise InputError(
        f"{src.name} ({spec.title}): rows that are no line of the report: {names} empty, which "
        "every line the vendor writes fills (a totals row, or a row a spreadsheet left under the "
        "report?). Delete those rows, or export the report again as the vendor writes it",
        [
            Problem(src.name, row, None, held(values), f"a line of the report, with {names}")
            for row, values in found
        ],
    )


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
    _check_required(src, spec, default_currency)
    wanted = sorted(spec.referenced_columns() | set(tag_columns_of(spec, src.header)))
    actual = resolve_columns(wanted, src.header)
    read_as, constants = header_currency(src, spec)  # Price (DKK) read as Price (CUR), and DKK
    actual |= read_as
    _check_repeated(src, spec, set(actual.values()))
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
        + [qi(u) for u in _csv_unnamed(src)]  # checked to hold nothing (_check_unnamed)
        + [f"{e} AS {qi(n)}" for n, e in constants.items()]
        + [f"{e} AS {qi(n)}" for n, e in (extra_raw or {}).items()]
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
        _check_rejects(con, src, rejects)  # its tables go with FILE_RELATIONS
    # a CSV is read as text (duckdb_source): every column VARCHAR, typed_expr's default
    raw_types = (
        {} if src.kind == "csv" else {r[0]: r[1] for r in con.execute(f"DESCRIBE {raw}").fetchall()}
    )
    _numbered_view(con, src, raw)
    _check_unnamed(con, src)
    _check_no_line_rows(con, src, spec, present)

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
    check_spreadsheet_damage(con, src, spec, set(present), raw_types)
    if spec.row_checks:
        check_rows(con, src, spec)
    if spec.contract_price:
        attach_contract_prices(con, src, spec, ", ".join(typed_cols), period, typed_from)
    default_sql = default_currency_sql(spec, set(actual), default_currency)
    if largest >= OVERFLOW_RISK:
        check_overflow(con, src, spec, set(actual), default_sql)
    _map_lines(con, src, spec, set(actual), default_sql, into, start)
    facts = line_facts(con, spec, period)
    check_model(con, src, spec, set(actual), facts)
    read = _read_columns(spec, typed, typed_from)
    report = control_totals(con, src, spec, default_sql, facts, read)
    return report, facts


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
