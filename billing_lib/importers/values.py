"""Typing a vendor file's raw values as its format declares them (decimal, timestamp, date), in
DuckDB: the SQL that types each column, and the check that names every value that does not type,
with its row and column, before any line is mapped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec
from billing_lib.model import DATES_BEFORE, DATES_FROM
from billing_lib.money import SQL_AMOUNT
from billing_lib.sql import qi, ql

#: Bad values listed per column (the rest are counted).
MAX_EXAMPLES_PER_COLUMN = 20


_NULL_OF = {"decimal": f"NULL::{SQL_AMOUNT}", "timestamp": "NULL::TIMESTAMP", "date": "NULL::DATE"}
#: A date-time text that carries its own UTC offset (or Z): read as an instant and converted to UTC.
_ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
_OFFSET_RE = r"^.*\d[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"
#: The offset (or Z) at the end of such a text.
_OFFSET_END_RE = r"\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"
#: Such a text whose offset is one a place has: at most 14 hours (UTC-12:00 to UTC+14:00), minutes
#: below 60. DuckDB reads any two digits ('+99:00' is 99 hours): another is unreadable.
_REAL_OFFSET_RE = r"^.*\d\s*([Zz]|[+-]((0\d|1[0-3])(:?[0-5]\d)?|14(:?00)?))$"


def absent_text_sql(col: str, null_values: list[str]) -> str:
    """SQL of the text value ``col`` with an empty one made NULL: '' (as pyarrow and pandas write
    every empty field of a table to Parquet) or another of the format's missing-value markers
    (``FormatSpec.null_values``), as DuckDB's CSV reader reads them (``reader.duckdb_source``,
    quoted or not). Applied to the text columns of a Parquet file before any typing or mapping,
    so that an empty value is absent in every column and format exactly as a NULL is: an export
    whose previousInvoiceId is '' is no correction, an empty date or amount is none, not
    unreadable. A value of spaces is a value, in a CSV too."""
    markers = ", ".join(ql(v) for v in dict.fromkeys(["", *null_values]))
    return f"CASE WHEN {col} IN ({markers}) THEN NULL ELSE {col} END"


def timestamp_from_text(col: str, spec: FormatSpec) -> str:
    """Text -> TIMESTAMP (UTC). Values with an offset or Z are instants: converted to UTC. Values
    without one are taken as UTC, as the vendors document their exports; only the spec's formats
    and ISO 8601 are accepted, never a guess between day-first and month-first. Every one begins
    with a digit: a value that does not is unreadable (DuckDB reads the words 'epoch' and
    'infinity' as dates, its strptime as 1900-01-01 whatever the format)."""
    return _timestamp_from_trimmed(f"trim({col})", spec)


#: A text DuckDB's TIMESTAMP cast reads as written: digits and the separators of an ISO date and
#: time, then at most the name of UTC itself (' UTC', ' GMT': BigQuery's text of a timestamp).
_WITHOUT_ZONE_NAME_RE = r"[0-9T:. /-]*( (?i:utc|gmt))?"


def _without_zone_name(v: str) -> str:
    """SQL true for the text ``v`` that DuckDB's TIMESTAMP cast reads as written. The cast drops
    any other word after the time, unread: '00:00:00 Europe/Amsterdam', 'UTC+2', an ISO date's
    'PM' or 'garbage' were read as that wall clock in UTC, hours off in silence."""
    return f"regexp_full_match({v}, {ql(_WITHOUT_ZONE_NAME_RE)})"


def _timestamp_from_trimmed(v: str, spec: FormatSpec) -> str:
    """``timestamp_from_text`` of the trimmed text ``v``, which it reads ten times or more: a
    column of ``typing_source`` rather than an expression, so that DuckDB binds it once."""
    naive = [f"TRY_STRPTIME({v}, {ql(f)})" for f in spec.timestamp_formats]
    iso = f"CASE WHEN {_without_zone_name(v)} THEN TRY_CAST({v} AS TIMESTAMP) END"
    general = (
        f"CASE WHEN NOT left({v}, 1) BETWEEN '0' AND '9' THEN NULL "
        f"WHEN contains({v}, ':') AND regexp_full_match({v}, {ql(_OFFSET_RE)}) "
        f"THEN CASE WHEN regexp_full_match({v}, {ql(_REAL_OFFSET_RE)}) "
        f"THEN timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ)) END "
        f"ELSE COALESCE({', '.join([*naive, iso])}) END"
    )
    # Speed only, same values: the commonest vendor form (2026-10-01T00:00:00Z, the whole AWS CUR)
    # read by one strptime instead of a regex per value; anything it does not read takes the
    # general way. The offset regex needs a ':', so values without one skip it.
    return (
        f"COALESCE(CASE WHEN {v} LIKE '____-__-__T__:__:__Z' THEN TRY_STRPTIME({v}, "
        f"{ql(_ISO_Z)}) END, {general})"
    )


def wall_clock_text(col: str) -> str:
    """SQL of the text ``col`` without the UTC offset (or Z) that ends a date-time, for a date
    column: its day is the day written, whatever the zone. Converted to UTC, 1 January written
    by a tool in UTC+13 (2027-01-01T00:00:00+13:00) was 31 December, and an inclusive end at
    23:59:59-05:00 the next day. The offset regex needs a ':', so values without one skip it."""
    v = f"trim({col})"
    return (
        f"CASE WHEN contains({v}, ':') AND regexp_full_match({v}, {ql(_OFFSET_RE)}) "
        f"AND regexp_full_match({v}, {ql(_REAL_OFFSET_RE)}) "
        f"THEN regexp_replace({v}, {ql(_OFFSET_END_RE)}, '') ELSE {col} END"
    )


def _decimal_expr(col: str, raw: str) -> str:
    """SQL typing the raw column ``col`` (quoted; of DuckDB type ``raw``) as an amount."""
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
        return (
            f"CASE WHEN abs({col}) < 2048 AND CAST({direct} AS DOUBLE) = {col} THEN "
            f"{direct} ELSE {text} END"
        )
    if raw != "VARCHAR":
        return f"TRY_CAST({col} AS {SQL_AMOUNT})"
    # DuckDB reads '_' between digits as a separator ('1_2.5' is 12.5): no vendor writes one,
    # so such a value is unreadable, not read without it. A substring test per value.
    return f"CASE WHEN NOT contains({col}, '_') THEN TRY_CAST(trim({col}) AS {SQL_AMOUNT}) END"


#: Prefix of the columns ``check_types`` types text values into, once each.
TYPED_PREFIX = "__typed "
#: Prefix of the columns ``typing_source`` adds to ``__numbered``: the text a text date or
#: date-time column is typed from (``_typing_text``).
TEXT_PREFIX = "__text "


def _typing_text(col: str, kind: str | None) -> str:
    """SQL of the text a text date or date-time column ``col`` is typed from: trimmed, and a
    date's without its offset (a date is the day written: its offset dropped, not converted)."""
    return f"trim({wall_clock_text(col) if kind == 'date' else col})"


def _typed_from_text(kind: str | None, raw: str) -> bool:
    """Whether a column of ``kind`` and DuckDB type ``raw`` is typed from ``_typing_text``."""
    return kind in ("timestamp", "date") and raw == "VARCHAR"


def typing_source(
    kinds: Mapping[str, str], present: Iterable[str], raw_types: dict[str, str]
) -> str:
    """The relation the typed columns (``typed_expr`` with ``layered``) read: ``__numbered``,
    with ``_typing_text`` of each text date or date-time column computed once, in a layer below.
    Inlined, ``timestamp_from_text`` reads its text ten times or more, and each statement over
    the typed values binds all of it again: 13-17 kB of SQL for a Partner Center file's dates
    (tens of milliseconds a statement on any number of rows). Per row it is the same work, the
    text computed once a value rather than once a reference."""
    texts = [
        f"{_typing_text(qi(c), kinds[c])} AS {qi(TEXT_PREFIX + c)}"
        for c in present
        if c in kinds and _typed_from_text(kinds[c], raw_types.get(c, "VARCHAR"))
    ]
    return f"(SELECT *, {', '.join(texts)} FROM __numbered)" if texts else "__numbered"


def typed_expr(
    name: str,
    kind: str | None,
    present: bool,
    raw_types: dict[str, str],
    spec: FormatSpec,
    layered: bool = False,
) -> str:
    """SQL typing one raw column as the spec declares it. NULL means 'no value' or 'unreadable';
    ``check_types`` tells the two apart. ``layered``: SQL over ``typing_source``, reading a text
    date or date-time column's text by name instead of computing it (the same values)."""
    col = qi(name)
    if not present:
        return _NULL_OF.get(kind or "", "NULL::VARCHAR")
    raw = raw_types.get(name, "VARCHAR")
    is_text = raw == "VARCHAR"
    if kind == "decimal":
        return _decimal_expr(col, raw)
    if kind in ("timestamp", "date"):
        if _typed_from_text(kind, raw):
            text = qi(TEXT_PREFIX + name) if layered else _typing_text(col, kind)
            expr = _timestamp_from_trimmed(text, spec)
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


#: What a date or time holding a word (a zone's name, AM/PM after an ISO date) should be.
_ZONE_TEXT = "; a time zone as an offset (+02:00) or Z (a zone's name or other word is not read)"


#: DECIMAL(38,12) holds amounts below 10^26 in size.
AMOUNT_LIMIT = Decimal(10) ** 26


def out_of_range(value: str | None) -> bool:
    """True for a number too large for DECIMAL(38,12): out of range, not unreadable. Infinity
    and NaN (``not_a_number``) are no numbers at all, not numbers out of range."""
    try:
        number = Decimal((value or "").strip())
    except ArithmeticError:
        return False
    return number.is_finite() and abs(number) >= AMOUNT_LIMIT


def not_a_number(value: str | None) -> bool:
    """True for the words Python and DuckDB read as special floats ('Infinity', 'inf',
    '-Infinity', 'NaN'): no amount or quantity a vendor prints (a spreadsheet's or a script's
    result of a division by zero)."""
    try:
        return not Decimal((value or "").strip()).is_finite()
    except ArithmeticError:
        return False


#: The dates a line may hold (model.DATES_FROM .. DATES_BEFORE), as the bounds of a BETWEEN.
_FIRST_DATE, _LAST_DATE = (
    f"TIMESTAMP '{DATES_FROM}'",
    f"TIMESTAMP '{int(DATES_BEFORE[:4]) - 1}-12-31 23:59:59.999999'",
)


#: A number in a spreadsheet's locale format: digits with a comma (a decimal comma, or
#: thousands separated by commas, points, spaces or apostrophes around one).
_LOCALE_NUMBER = re.compile(r"[+-]?\d[\d.' \u00a0\u202f]*,[\d.,' \u00a0\u202f]*\d")
_LOCALE_EXPECTED = (
    "a decimal number with a point before its decimals and no thousands separators (e.g. "
    "1234.5): a number in a spreadsheet's format (a decimal comma or digit grouping), the report "
    "saved again? Export it again as the vendor writes it"
)
_HEADER_AGAIN = (
    ", not the column's name: the row repeats the header (reports pasted into one file?); delete "
    "it, or give each report as its own file"
)


def _value_expected(
    kind: str, value: str | None, spec: FormatSpec, read: str | None, column: str = ""
) -> str:
    """What ``value`` (the file's text) of ``column`` should be; ``read``: what it typed to, if it
    did. The column's own name is the header row again (two exports pasted into one file); a
    number with a comma is a spreadsheet's locale format: each is said, not only that the value
    is unreadable."""
    text = (value or "").strip()
    if column and text.casefold() == column.strip().casefold():
        return _expected_text(kind, spec) + _HEADER_AGAIN
    if kind == "decimal" and _LOCALE_NUMBER.fullmatch(text):
        return _LOCALE_EXPECTED
    if kind in ("timestamp", "date") and read is not None:
        years = f"{DATES_FROM[:4]} to {int(DATES_BEFORE[:4]) - 1}"
        return f"a date in the years {years} (read as {read})"
    if kind == "decimal" and "_" in (value or ""):
        return "a decimal number without digit separators ('_')"
    if kind == "decimal" and not_a_number(value):
        return _expected_text(kind, spec) + ", not Infinity or NaN"
    if kind == "decimal" and out_of_range(value):
        return "an amount within DECIMAL(38,12), less than 10^26 in size: the value is out of range"
    if kind in ("timestamp", "date") and text[:1].isdigit() and re.search("[A-SU-Za-z]", text):
        return _expected_text(kind, spec) + _ZONE_TEXT
    return _expected_text(kind, spec)


def _unreadable_sql(name: str, expr: str, raw_type: str, kind: str | None = None) -> str:
    """SQL true where a present value of raw column ``name`` does not type. For binary Parquet
    values it is the same test without the typing: a DOUBLE fails to become a DECIMAL(38,12)
    exactly when it is NaN, infinite or 1e26 or more in size, and a TIMESTAMP or DATE never
    fails; both are far cheaper than formatting and parsing every value once more."""
    col = qi(name)
    if raw_type in ("DOUBLE", "FLOAT", "REAL") and kind == "decimal":
        return f"{col} IS NOT NULL AND NOT (isfinite({col}) AND abs({col}) < 1e26)"
    if raw_type in ("TIMESTAMP", "DATE") and expr in (
        f"TRY_CAST({col} AS TIMESTAMP)",
        f"CAST(TRY_CAST({col} AS TIMESTAMP) AS DATE)",
    ):
        return "false"
    if kind in ("timestamp", "date") and raw_type == "VARCHAR":
        # a date no billing period holds is refused here, with the file's text: the line model's
        # own check (model.violation_rules) shows the date as read, which for a short date DuckDB
        # reads as the year 5 ('05/01/24') is no text the file has
        between = f"({expr}) BETWEEN {_FIRST_DATE} AND {_LAST_DATE}"
        return f"{col} IS NOT NULL AND NOT COALESCE({between}, false)"
    return f"{col} IS NOT NULL AND ({expr}) IS NULL"


def check_types(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    typed: dict[str, str],
    raw_types: dict[str, str] | None = None,
    source: str = "__numbered",
) -> float:
    """Every value that is present but does not parse as its declared kind, with row and column.
    Returns the largest size of a decimal value read (in the same pass; for ``check_overflow``).
    ``typed``: SQL over ``source`` (``__numbered`` or its ``typing_source``)."""
    if not typed:
        return 0.0
    raw_types = raw_types or {}
    # A text date's or amount's typing is read twice below (a BETWEEN is two comparisons; an
    # amount's test and its size): typed once, by name, in a layer over ``source``. Binary
    # Parquet values are tested without their typing (``_unreadable_sql``): left as they are.
    layered = {
        c: qi(TYPED_PREFIX + c)
        for c in typed
        if raw_types.get(c, "VARCHAR") == "VARCHAR"
        and spec.types.get(c) in ("decimal", "timestamp", "date")
    }
    value = {c: layered.get(c, e) for c, e in typed.items()}
    if layered:
        values = ", ".join(f"{typed[c]} AS {v}" for c, v in layered.items())
        source = f"(SELECT *, {values} FROM {source})"
    counts = ", ".join(
        f"count_if({_unreadable_sql(c, value[c], raw_types.get(c, 'VARCHAR'), spec.types.get(c))})"
        for c in typed
    )
    sizes = [
        f"max(abs(TRY_CAST({qi(c) if raw_types.get(c) in ('DOUBLE', 'FLOAT', 'REAL') else v} AS "
        f"DOUBLE)))"
        for c, v in value.items()
        if spec.types.get(c) == "decimal"
    ]
    *failing, largest = con.execute(
        f"SELECT {counts}, greatest({', '.join(sizes) or 'NULL'}, 0) FROM {source}"
    ).fetchall()[0]
    problems: list[Problem] = []
    for (c, v), n in zip(value.items(), failing, strict=True):
        if not n:
            continue
        unreadable = _unreadable_sql(c, v, raw_types.get(c, "VARCHAR"), spec.types.get(c))
        # the date as read, for one out of range (an amount is not typed again: a NaN DOUBLE
        # fails the direct cast of typed_expr's fast path)
        as_read = f"CAST(({v}) AS VARCHAR)" if spec.types[c] in ("timestamp", "date") else "NULL"
        rows = con.execute(
            f"SELECT __row, CAST({qi(c)} AS VARCHAR), {as_read} FROM {source} "
            f"WHERE {unreadable} ORDER BY __row LIMIT {MAX_EXAMPLES_PER_COLUMN}"
        ).fetchall()
        problems += [
            Problem(src.name, row, c, val, _value_expected(spec.types[c], val, spec, read, c))
            for row, val, read in rows
        ]
    if problems:
        raise InputError(f"{src.name} ({spec.title}): values that cannot be read", problems)
    return float(largest or 0)


def check_rows(con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec) -> None:
    """Every row a ``row_checks`` entry of the format refuses, with its row, column and what was
    expected there (on ``__typed``, before any line is mapped)."""
    problems: list[Problem] = []
    header = {h.casefold() for h in src.header}
    for check in spec.row_checks:
        if check.if_in_file and check.column.casefold() not in header:
            continue
        found = check.found or qi(check.column)
        detail = _with_columns_in_file(check.detail or "NULL", header)
        rows = con.execute(
            f"SELECT __row, CAST({found} AS VARCHAR), CAST({detail} AS VARCHAR) "
            f"FROM __typed WHERE {check.refuse} ORDER BY __row LIMIT {MAX_EXAMPLES_PER_COLUMN}"
        ).fetchall()
        problems += [
            Problem(src.name, row, check.column, value, _check_text(check.expected, detail))
            for row, value, detail in rows
        ]
    if problems:
        raise InputError(f"{src.name} ({spec.title}): rows that cannot be billed right", problems)


#: ``{in_file:Column}`` in a row check's ``detail``: TRUE where the file has the column (any case),
#: FALSE where it lacks it, whose cells then read as empty: "the file has no PricingCurrency
#: column" and "the row's PricingCurrency cell is empty" are put right in different places.
_IN_FILE = re.compile(r"\{in_file:([^}]+)\}")


def _with_columns_in_file(sql: str, header: set[str]) -> str:
    """``sql`` with each ``{in_file:Column}`` replaced by TRUE or FALSE (``header``: casefolded)."""
    return _IN_FILE.sub(lambda m: "TRUE" if m[1].casefold() in header else "FALSE", sql)


def _check_text(expected: str, detail: str | None) -> str:
    return expected.replace("{detail}", detail or "").strip()
