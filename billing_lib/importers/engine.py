"""Reading one vendor table into the line model inside DuckDB, with every check before it lands.

Steps for one file: recognise the format from the header, check required columns, load the referenced
columns as text, type them (collecting every unparsable value), map them to the line model, check the
model's rules, and compare control totals before and after. Only then are the lines added to the
``lines`` table; a failure leaves the store as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from billing_lib.errors import ControlTotalError, InputError, Problem
from billing_lib.importers.contract import attach_contract_prices
from billing_lib.importers.reader import SourceFile, blank_records, duckdb_source
from billing_lib.importers.spec import _QUOTED, FormatSpec, all_specs, choice_text, choices
from billing_lib.model import LINE_COLUMN_NAMES, LINE_COLUMN_TYPES, LINE_COLUMNS, violations_sql
from billing_lib.money import SQL_AMOUNT
from billing_lib.sql import qi, ql

_DUCKDB_LINE = re.compile(r"Line:\s*(\d+)")
_DECIMAL_TYPE = re.compile(r"DECIMAL\s*\([^)]*\)", re.IGNORECASE)
#: Column of the ``__raw`` view over a Parquet file holding the record's 0-based place in the file.
ROW_NUMBER_COLUMN = "__file_row"
#: Temporary relations the engine creates while staging one file.
STAGING_RELATIONS = ("__new", "__typed", "__numbered", "__raw", "__blanks")
MAX_EXAMPLES_PER_COLUMN = 20


@dataclass(frozen=True)
class CurrencyTotal:
    """Rows and cost of one currency in a vendor file, read raw and after normalisation."""

    currency: str
    rows_before: int
    rows_after: int
    cost_before: Decimal
    cost_after: Decimal

    @property
    def balanced(self) -> bool:
        return self.rows_before == self.rows_after and self.cost_before == self.cost_after


@dataclass(frozen=True)
class ImportReport:
    """Control totals of one imported vendor table."""

    file: str
    format: str
    format_title: str
    checksum: str
    rows: int
    currencies: tuple[CurrencyTotal, ...]
    lines_per_category: dict[str, int] = field(default_factory=dict)
    cost_per_category: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return all(c.balanced for c in self.currencies)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "format": self.format,
            "format_title": self.format_title,
            "checksum": self.checksum,
            "rows": self.rows,
            "balanced": self.balanced,
            "currencies": [
                {
                    "currency": c.currency,
                    "rows_before": c.rows_before,
                    "rows_after": c.rows_after,
                    "cost_before": format(c.cost_before, "f"),
                    "cost_after": format(c.cost_after, "f"),
                }
                for c in self.currencies
            ],
            "lines_per_category": self.lines_per_category,
            "cost_per_category": {
                cat: {cur: format(v, "f") for cur, v in by_cur.items()}
                for cat, by_cur in self.cost_per_category.items()
            },
        }


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
            hint = " (or give the billing currency explicitly: --currency / default_currency)"
        raise InputError(
            f"{src.name} ({spec.title}): missing required column(s) {missing}{hint}.\n"
            f"  expected: {[choice_text(e) for e in spec.required]}\n  found: {list(src.header)}"
        )


_NULL_OF = {"decimal": f"NULL::{SQL_AMOUNT}", "timestamp": "NULL::TIMESTAMP", "date": "NULL::DATE"}
#: A date-time text that carries its own UTC offset (or Z): read as an instant and converted to UTC.
_ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
_OFFSET_RE = r"^.*\d[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"


def _timestamp_from_text(col: str, spec: FormatSpec) -> str:
    """Text -> TIMESTAMP (UTC). Values with an offset or Z are instants: converted to UTC. Values
    without one are taken as UTC, as the vendors document their exports; only the spec's formats
    and ISO 8601 are accepted, never a guess between day-first and month-first."""
    v = f"trim({col})"
    naive = [f"TRY_STRPTIME({v}, {ql(f)})" for f in spec.timestamp_formats]
    general = (
        f"CASE WHEN contains({v}, ':') AND regexp_full_match({v}, {ql(_OFFSET_RE)}) "
        f"THEN timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ)) "
        f"ELSE COALESCE({', '.join([*naive, f'TRY_CAST({v} AS TIMESTAMP)'])}) END"
    )
    # Speed only, same values: the commonest vendor form (2026-10-01T00:00:00Z, the whole AWS CUR)
    # read by one strptime instead of a regex per value; anything it does not read takes the
    # general way. The offset regex needs a ':', so values without one skip it.
    return f"COALESCE(CASE WHEN {v} LIKE '____-__-__T__:__:__Z' THEN TRY_STRPTIME({v}, {ql(_ISO_Z)}) END, {general})"


def _typed_expr(
    name: str, kind: str | None, present: bool, raw_types: dict[str, str], spec: FormatSpec
) -> str:
    """SQL typing one raw column as the spec declares it. NULL means 'no value' or 'unreadable';
    ``_check_types`` tells the two apart."""
    col = qi(name)
    if not present:
        return _NULL_OF.get(kind or "", "NULL::VARCHAR")
    raw = raw_types.get(name, "VARCHAR")
    is_text = raw == "VARCHAR"
    if kind == "decimal":
        if raw in ("DOUBLE", "FLOAT", "REAL"):
            # Parquet writers store some amounts as binary floats: go through the shortest text
            # that round-trips (1.81e-08), so the DECIMAL is what the vendor printed.
            text = f"TRY_CAST(CAST({col} AS VARCHAR) AS {SQL_AMOUNT})"
            if raw != "DOUBLE" or SQL_AMOUNT != "DECIMAL(38,12)":
                return text
            # The same value without the text, five times faster, where that is provably it: below
            # 2048 two numbers with 12 decimals are more than a DOUBLE's step apart, so a direct
            # cast that converts back to the same DOUBLE is the one 12-decimal number that does,
            # which is the shortest text itself. Every other value takes the text.
            direct = f"CAST({col} AS {SQL_AMOUNT})"
            return f"CASE WHEN abs({col}) < 2048 AND CAST({direct} AS DOUBLE) = {col} THEN {direct} ELSE {text} END"
        return f"TRY_CAST({'trim(' + col + ')' if is_text else col} AS {SQL_AMOUNT})"
    if kind in ("timestamp", "date"):
        if is_text:
            expr = _timestamp_from_text(col, spec)
        elif raw.startswith("TIMESTAMP WITH TIME ZONE") or raw == "TIMESTAMPTZ":
            expr = f"timezone('UTC', {col})"
        else:
            expr = f"TRY_CAST({col} AS TIMESTAMP)"
        return expr if kind == "timestamp" else f"CAST({expr} AS DATE)"
    if kind == "json":
        if is_text:
            return f"CASE WHEN json_valid(trim({col})) THEN trim({col}) END"
        # Parquet MAP or STRUCT (CUR 2.0 resource_tags, product): its JSON text.
        return f"CAST(to_json({col}) AS VARCHAR)"
    return col if is_text else f"CAST({col} AS VARCHAR)"


def _expected_text(kind: str, spec: FormatSpec) -> str:
    if kind == "decimal":
        return "a decimal number (e.g. 12.34 or 1.5E-8)"
    if kind == "json":
        return 'a JSON object (e.g. {"env": "prod"})'
    fmts = ", ".join([*spec.timestamp_formats, "ISO 8601"])
    return f"a valid {'date' if kind == 'date' else 'date and time'} ({fmts})"


#: DECIMAL(38,12) holds amounts below 10^26 in size.
AMOUNT_LIMIT = Decimal(10) ** 26


def out_of_range(value: str | None) -> bool:
    """True for a number too large for DECIMAL(38,12) (or infinite): out of range, not unreadable."""
    try:
        number = Decimal((value or "").strip())
    except ArithmeticError:
        return False
    return not number.is_nan() and (number.is_infinite() or abs(number) >= AMOUNT_LIMIT)


def _value_expected(kind: str, value: str | None, spec: FormatSpec) -> str:
    if kind == "decimal" and out_of_range(value):
        return "an amount within DECIMAL(38,12), less than 10^26 in size: the value is out of range"
    return _expected_text(kind, spec)


def _raise_duckdb(src: SourceFile, exc: Exception) -> None:
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


def _check_rejects(con, src: SourceFile, table: str) -> None:
    """Every malformed CSV row DuckDB set aside (ragged rows, bad quotes, bad bytes), with its
    line and, where DuckDB knows it, the column."""
    rows = con.execute(
        f"SELECT line, arg_min(column_name, column_idx), arg_min(error_type, column_idx), "
        f"any_value(csv_line), arg_min(error_message, column_idx) FROM {table} "
        f"GROUP BY line ORDER BY line LIMIT 200"
    ).fetchall()
    if not rows:
        return
    problems = [
        Problem(
            src.name,
            int(line),
            None if etype in ("TOO MANY COLUMNS", "INVALID ENCODING") else col,
            (text or "")[:120],
            f"{_REJECT_EXPECTED.get(etype, etype.lower())} ({message.strip()})",
        )
        for line, col, etype, text, message in rows
    ]
    raise InputError(f"{src.name}: rows that are not well-formed CSV", problems)


def _numbered_view(con, src: SourceFile, records: int, from_file: bool = False) -> None:
    """``__numbered``: ``__raw`` plus ``__row``, the record's spreadsheet row (header = 1, blank
    lines counted as the rows they are in a spreadsheet, though DuckDB skips them); for Parquet
    the 1-based record number (``from_file``: the file's own record number column of the view)."""
    if from_file:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW __numbered AS SELECT {ROW_NUMBER_COLUMN} + 1 AS __row, "
            f"* EXCLUDE ({ROW_NUMBER_COLUMN}) FROM __raw"
        )
        return
    # Rows added inside a transaction get rowids from a large offset on: count from the first.
    first = con.execute("SELECT COALESCE(min(rowid), 0) FROM __raw").fetchone()[0]
    if src.kind != "csv" or not src.blank_lines:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW __numbered AS "
            f"SELECT rowid - {int(first)} + {src.first_data_row} AS __row, * FROM __raw"
        )
        return
    blanks = src.blank_lines
    if records + 1 + len(blanks) != src.physical_lines:
        blanks = blank_records(src)  # quoted values span lines: count records, not lines
    # Record i (0-based) is on row i + 2 + (blank rows before it); the j-th blank row R_j comes
    # before it when R_j - j < i + 2, so an ASOF join on a = R_j - j finds how many do.
    con.execute("CREATE OR REPLACE TEMP TABLE __blanks (a BIGINT, n BIGINT)")
    con.executemany(
        "INSERT INTO __blanks VALUES (?, ?)", [(r - j, j) for j, r in enumerate(blanks, 1)]
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW __numbered AS "
        f"SELECT r.__rid + 2 + COALESCE(b.n, 0) AS __row, r.* EXCLUDE (__rid) "
        f"FROM (SELECT rowid - {int(first)} AS __rid, * FROM __raw) r ASOF LEFT JOIN __blanks b ON r.__rid + 2 > b.a "
        f"ORDER BY __row"
    )


def drop_staging(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop the engine's temporary relations (``STAGING_RELATIONS`` unless named), tables and
    views alike: ``__raw`` is a view over Parquet and a table for CSV."""
    for name in names or STAGING_RELATIONS:
        kinds = con.execute(
            "SELECT 'VIEW' FROM duckdb_views() WHERE view_name = $1 AND temporary "
            "UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = $1 AND temporary",
            [name],
        ).fetchall()
        for (kind,) in kinds:
            con.execute(f"DROP {kind} IF EXISTS {qi(name)}")


def stage_source(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    default_currency: str | None = None,
    into: str | None = None,
    period: str | None = None,
    extra_raw: dict[str, str] | None = None,
) -> ImportReport:
    """Read ``src`` into the temporary table ``__new`` in the line model, checked; return its
    control totals. Raises InputError or ControlTotalError; adds nothing to ``lines``.
    ``extra_raw``: more columns of ``__raw`` (name -> SQL over the file's columns), computed in
    the same scan (the row hash of duplicates.row_hash_sql).

    With ``into`` (a table of the line model) the lines are appended to that table instead and
    ``__new`` is a view of them: the caller holds a transaction and rolls it back on an error.
    ``period`` (``YYYY-MM``) is the month of a report priced from the reseller's contract that
    names no month itself (billing_lib.importers.contract)."""
    _check_required(src, spec, default_currency)
    wanted = sorted(spec.referenced_columns())
    actual = resolve_columns(wanted, src.header)
    present = [c for c in wanted if c in actual]
    rejects = "__rejects" if src.kind == "csv" else None
    # Parquet is columnar and compressed: reading the referenced columns again in each pass is
    # cheaper than a copy of them all (benchmarks/README.md), so ``__raw`` is
    # a view numbering records by their place in the file. CSV text is parsed once, into a table.
    as_view = src.kind == "parquet" and ROW_NUMBER_COLUMN not in src.header
    source = duckdb_source(src, spec.null_values, rejects, row_numbers=as_view)
    select = ", ".join(
        [f"{qi(actual[c])} AS {qi(c)}" for c in present]
        + [f"{e} AS {qi(n)}" for n, e in (extra_raw or {}).items()]
    )
    select = select or "1 AS __none"
    try:
        drop_staging(con, "__raw")
        if rejects:
            con.execute("DROP TABLE IF EXISTS __rejects; DROP TABLE IF EXISTS __rejects_scan")
        if as_view:
            con.execute(
                f"CREATE TEMP VIEW __raw AS SELECT {select}, file_row_number AS {ROW_NUMBER_COLUMN} "
                f"FROM {source}"
            )
        else:
            con.execute(f"CREATE TEMP TABLE __raw AS SELECT {select} FROM {source}")
    except duckdb.Error as exc:
        _raise_duckdb(src, exc)
    if rejects:
        try:
            _check_rejects(con, src, rejects)
        finally:
            con.execute("DROP TABLE IF EXISTS __rejects; DROP TABLE IF EXISTS __rejects_scan")
    raw_types = {r[0]: r[1] for r in con.execute("DESCRIBE __raw").fetchall()}
    records = con.execute("SELECT count(*) FROM __raw").fetchone()[0]
    _numbered_view(con, src, records, as_view)

    typed = {c: _typed_expr(c, spec.types.get(c), c in actual, raw_types, spec) for c in wanted}
    typed_cols = ["__row"] + [f"{e} AS {qi(c)}" for c, e in typed.items()]
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW __typed AS SELECT {', '.join(typed_cols)} FROM __numbered"
    )

    largest = _check_types(
        con, src, spec, {c: typed[c] for c in present if c in spec.types}, raw_types
    )
    if spec.contract_price:
        attach_contract_prices(con, src, spec, ", ".join(typed_cols), period)
    default_sql = _default_currency_sql(spec, set(actual), default_currency)
    if largest >= OVERFLOW_RISK:
        _check_overflow(con, src, spec, set(actual), default_sql)
    _map_lines(con, src, spec, set(actual), default_sql, into)
    _check_model(con, src, spec, set(actual))
    return _control_totals(con, src, spec, default_sql)


def _unreadable_sql(name: str, expr: str, raw_type: str, kind: str | None = None) -> str:
    """SQL true where a present value of raw column ``name`` does not type. For binary Parquet
    values it is the same test without the typing: a DOUBLE fails to become a DECIMAL(38,12)
    exactly when it is NaN, infinite or 1e26 or more in size, and a TIMESTAMP or DATE never
    fails; both are far cheaper than formatting and parsing every value once more."""
    col = qi(name)
    if raw_type in ("DOUBLE", "FLOAT", "REAL") and kind == "decimal":
        return f"{col} IS NOT NULL AND NOT (isfinite({col}) AND abs({col}) < 1e26)"
    if raw_type in ("TIMESTAMP", "DATE") and expr == f"TRY_CAST({col} AS TIMESTAMP)":
        return "false"
    return f"{col} IS NOT NULL AND ({expr}) IS NULL"


def _check_types(
    con,
    src: SourceFile,
    spec: FormatSpec,
    typed: dict[str, str],
    raw_types: dict[str, str] | None = None,
) -> float:
    """Every value that is present but does not parse as its declared kind, with row and column.
    Returns the largest size of a decimal value read (in the same pass; for ``_check_overflow``)."""
    if not typed:
        return 0.0
    raw_types = raw_types or {}
    counts = ", ".join(
        f"count_if({_unreadable_sql(c, e, raw_types.get(c, 'VARCHAR'), spec.types.get(c))})"
        for c, e in typed.items()
    )
    sizes = [
        f"max(abs(TRY_CAST({qi(c) if raw_types.get(c) in ('DOUBLE', 'FLOAT', 'REAL') else e} AS DOUBLE)))"
        for c, e in typed.items()
        if spec.types.get(c) == "decimal"
    ]
    *failing, largest = con.execute(
        f"SELECT {counts}, greatest({', '.join(sizes) or 'NULL'}, 0) FROM __numbered"
    ).fetchone()
    problems: list[Problem] = []
    for (c, e), n in zip(typed.items(), failing, strict=True):
        if not n:
            continue
        rows = con.execute(
            f"SELECT __row, CAST({qi(c)} AS VARCHAR) FROM __numbered "
            f"WHERE {qi(c)} IS NOT NULL AND ({e}) IS NULL ORDER BY __row LIMIT {MAX_EXAMPLES_PER_COLUMN}"
        ).fetchall()
        problems += [
            Problem(src.name, row, c, val, _value_expected(spec.types[c], val, spec))
            for row, val in rows
        ]
    if problems:
        raise InputError(f"{src.name} ({spec.title}): values that cannot be read", problems)
    return float(largest or 0)


def _default_currency_sql(spec: FormatSpec, present: set[str], default_currency: str | None) -> str:
    """What ``{default_currency}`` stands for: the given currency when the file lacks the column
    it stands in for, otherwise NULL (a file's own currency is never overridden or filled in)."""
    if (
        default_currency
        and spec.default_currency_column
        and spec.default_currency_column not in present
    ):
        return ql(default_currency.strip().upper())
    return "NULL"


def _mapping_sql(spec: FormatSpec, present: set[str], target: str, default_sql: str) -> str:
    m = spec.column_map(target)
    if m.value is not None:
        return ql(m.value)
    if m.sql is not None:
        return m.sql.replace("{default_currency}", default_sql)
    for alt in m.alternatives():
        if alt in present:
            return qi(alt)
    return "NULL"


def next_rowid(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """The rowid the next row appended to ``table`` gets at least (rowids grow with appends, also
    inside a transaction), so that ``rowid >= next_rowid(...)`` picks the rows appended after."""
    return con.execute(f"SELECT COALESCE(max(rowid) + 1, 0) FROM {qi(table)}").fetchone()[0]


def _map_lines(
    con,
    src: SourceFile,
    spec: FormatSpec,
    present: set[str],
    default_sql: str,
    into: str | None = None,
) -> None:
    exprs = []
    for col in LINE_COLUMNS:
        if col.name == "x_Format":
            expr = ql(spec.name)
        elif col.name == "x_SourceFile":
            expr = ql(src.name)
        elif col.name == "x_SourceRow":
            expr = "__row"
        else:
            expr = _mapping_sql(spec, present, col.name, default_sql)
        if col.name == "Tags":
            expr = f"NULLIF(trim({expr}), '{{}}')"  # no tags: NULL, whatever the vendor wrote
        exprs.append(f"CAST({expr} AS {col.sql_type}) AS {qi(col.name)}")
    try:
        if into:
            start = next_rowid(con, into)
            con.execute(
                f"INSERT INTO {qi(into)} ({line_columns_sql()}) SELECT {', '.join(exprs)} FROM __typed"
            )
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW __new AS SELECT {line_columns_sql()} FROM {qi(into)} "
                f"WHERE rowid >= {int(start)}"
            )
        else:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE __new AS SELECT {', '.join(exprs)} FROM __typed"
            )
    except duckdb.Error as exc:
        raise InputError(
            f"{src.name} ({spec.title}): the mapping to the line model failed: {exc}"
        ) from exc


#: Values this large (10^13) are no vendor's bill; a file holding one is checked for amounts that
#: would overflow DECIMAL(38,12) once computed or summed, before DuckDB fails on them mid-way
#: (which aborts the import's transaction, leaving no way to name the row).
OVERFLOW_RISK = 1e13


def _check_overflow(
    con, src: SourceFile, spec: FormatSpec, present: set[str], default_sql: str
) -> None:
    """Refuse rows whose computed amount (e.g. VMware points x price per point) is out of range
    (no value when computed exactly, a number in binary floating point), and a file whose cost
    total is."""
    decimals = [c for c, k in spec.types.items() if k == "decimal" and c in present]
    as_double = ", ".join(f"CAST({qi(c)} AS DOUBLE) AS {qi(c)}" for c in decimals)
    problems: list[Problem] = []
    for col in LINE_COLUMNS:
        if col.sql_type != SQL_AMOUNT or col.name not in spec.columns:
            continue
        expr = _mapping_sql(spec, present, col.name, default_sql)
        in_double = _DECIMAL_TYPE.sub("DOUBLE", expr)
        rows = con.execute(
            f"""SELECT d.__row, CAST(d.v AS VARCHAR) FROM
                  (SELECT __row, TRY(CAST({in_double} AS DOUBLE)) AS v
                   FROM (SELECT * REPLACE ({as_double}) FROM __typed)) d
                JOIN (SELECT __row FROM __typed WHERE TRY(CAST({expr} AS {SQL_AMOUNT})) IS NULL) e
                  USING (__row)
                WHERE d.v IS NOT NULL ORDER BY d.__row"""
        ).fetchmany(MAX_EXAMPLES_PER_COLUMN)
        problems += [
            Problem(
                src.name,
                row,
                _source_of(spec, col.name, present),
                value,
                "an amount within DECIMAL(38,12), less than 10^26 in size: it is out of range",
            )
            for row, value in rows
        ]
    if problems:
        raise InputError(
            f"{src.name} ({spec.title}): amounts computed from the file are out of range of "
            "DECIMAL(38,12) (10^26 or more in size)",
            problems,
        )
    cost = _DECIMAL_TYPE.sub("DOUBLE", spec.cost)
    total = con.execute(
        f"SELECT sum(TRY(CAST({cost} AS DOUBLE))) FROM (SELECT * REPLACE ({as_double}) FROM __typed)"
    ).fetchone()[0]
    if total is not None and abs(total) >= 1e26:
        largest = con.execute(
            f"SELECT __row, CAST(TRY(CAST({cost} AS DOUBLE)) AS VARCHAR) FROM "
            f"(SELECT * REPLACE ({as_double}) FROM __typed) "
            f"ORDER BY abs(TRY(CAST({cost} AS DOUBLE))) DESC NULLS LAST, __row"
        ).fetchmany(3)
        column = _source_of(spec, "BilledCost", present)
        raise InputError(
            f"{src.name} ({spec.title}): the total of {column} is out of range of DECIMAL(38,12) "
            "(10^26 or more in size); the largest amounts:",
            [
                Problem(src.name, row, column, value, "amounts whose total is within range")
                for row, value in largest
            ],
        )


def _source_of(spec: FormatSpec, target: str, present: set[str]) -> str:
    if target not in spec.columns:
        return target
    m = spec.column_map(target)
    alts = [a for a in m.alternatives() if a in present]
    if not alts and m.sql:
        alts = [a for a in _QUOTED.findall(m.sql) if a in present][:1]
    return f"{target} (from {alts[0]!r})" if alts else target


def _check_model(con, src: SourceFile, spec: FormatSpec, present: set[str]) -> None:
    """The line model's rules (model.violations_sql), Tags as JSON objects, and one currency per
    file where the format promises it; every violation with its row."""
    rows = con.execute(violations_sql("__new")).fetchall()
    rows += con.execute(
        "SELECT x_SourceRow, 'Tags', Tags, 'a JSON object of tags' FROM __new "
        "WHERE Tags IS NOT NULL AND (NOT json_valid(Tags) OR json_type(Tags) <> 'OBJECT') "
        "ORDER BY 1 LIMIT 50"
    ).fetchall()
    if rows:
        problems = [Problem(src.name, r, _source_of(spec, c, present), v, e) for r, c, v, e in rows]
        raise InputError(f"{src.name} ({spec.title}): lines that break the line model", problems)
    if spec.single_currency:
        currencies = [
            r[0]
            for r in con.execute("SELECT DISTINCT BillingCurrency FROM __new ORDER BY 1").fetchall()
        ]
        if len(currencies) > 1:
            majority = con.execute(
                "SELECT BillingCurrency FROM __new GROUP BY 1 ORDER BY count(*) DESC, min(x_SourceRow) LIMIT 1"
            ).fetchone()[0]
            odd = con.execute(
                "SELECT x_SourceRow, BillingCurrency FROM __new WHERE BillingCurrency <> ? "
                "ORDER BY x_SourceRow LIMIT 20",
                [majority],
            ).fetchall()
            raise InputError(
                f"{src.name} ({spec.title}): one currency expected per file, found {currencies}",
                [
                    Problem(
                        src.name,
                        row,
                        _source_of(spec, "BillingCurrency", present),
                        cur,
                        f"{majority} like the rest of the file",
                    )
                    for row, cur in odd
                ],
            )


def _control_totals(con, src: SourceFile, spec: FormatSpec, default_sql: str) -> ImportReport:
    cur_sql = spec.currency.replace("{default_currency}", default_sql)
    before = {
        r[0]: (r[1], r[2] or Decimal(0))
        for r in con.execute(
            f"SELECT {cur_sql} AS cur, count(*), sum(CAST({spec.cost} AS {SQL_AMOUNT})) FROM __typed GROUP BY 1"
        ).fetchall()
    }
    after = {
        r[0]: (r[1], r[2] or Decimal(0))
        for r in con.execute(
            "SELECT BillingCurrency, count(*), sum(BilledCost) FROM __new GROUP BY 1"
        ).fetchall()
    }
    totals = tuple(
        CurrencyTotal(
            cur,
            before.get(cur, (0, Decimal(0)))[0],
            after.get(cur, (0, Decimal(0)))[0],
            before.get(cur, (0, Decimal(0)))[1],
            after.get(cur, (0, Decimal(0)))[1],
        )
        for cur in sorted(set(before) | set(after), key=lambda c: c or "")
    )
    rows = sum(t.rows_after for t in totals)
    per_cat: dict[str, int] = {}
    cost_cat: dict[str, dict[str, Decimal]] = {}
    for cat, cur, n, cost in con.execute(
        "SELECT ChargeCategory, BillingCurrency, count(*), sum(BilledCost) FROM __new GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall():
        per_cat[cat] = per_cat.get(cat, 0) + n
        cost_cat.setdefault(cat, {})[cur] = cost
    report = ImportReport(
        src.name, spec.name, spec.title, src.checksum, rows, totals, per_cat, cost_cat
    )
    if not report.balanced:
        detail = "; ".join(
            f"{t.currency}: rows {t.rows_before} -> {t.rows_after}, cost {t.cost_before} -> {t.cost_after}"
            for t in totals
            if not t.balanced
        )
        raise ControlTotalError(
            f"{src.name} ({spec.title}): control totals differ after normalisation: {detail}"
        )
    return report


def line_columns_sql() -> str:
    return ", ".join(qi(c) for c in LINE_COLUMN_NAMES)


def types_of(names: Iterable[str]) -> dict[str, str]:
    return {n: LINE_COLUMN_TYPES[n] for n in names}
