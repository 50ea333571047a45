"""The order of a file's slash dates, for a format whose vendor writes ISO dates and whose slash
dates come from a spreadsheet that saved the file again (``FormatSpec.slash_date_order``
``from_file``): 10/1/2026 in a US locale, 01/10/2026 in a UK one. A number above 12 shows the
order; a file where none does and a date reads two ways is refused, never read month first in
silence (a UK file of 1-12 October was imported as January's hours)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec
from billing_lib.sql import qi, ql

#: Rows listed when no date tells the order (the rest are counted).
MAX_LISTED = 20
#: The two numbers and the year of a slash date (1/10/2026, 01/10/2026 00:00).
_SLASH_RE = r"^(\d{1,2})/(\d{1,2})/(\d{4})"
_ISO = "ISO dates, YYYY-MM-DD HH:MM:SS (2026-10-01 00:00:00), as VMware's own export writes them"


def _slash_rows(columns: Iterable[str]) -> str:
    """SQL of every slash date in ``columns``: row, column, value, its first and second number."""
    parts = [
        f"SELECT __row, {ql(c)} AS col, trim({qi(c)}) AS value, "
        f"TRY_CAST(regexp_extract(trim({qi(c)}), {ql(_SLASH_RE)}, 1) AS INTEGER) AS a, "
        f"TRY_CAST(regexp_extract(trim({qi(c)}), {ql(_SLASH_RE)}, 2) AS INTEGER) AS b "
        f"FROM __numbered WHERE contains({qi(c)}, '/') "
        f"AND regexp_matches(trim({qi(c)}), {ql(_SLASH_RE)})"
        for c in columns
    ]
    return " UNION ALL ".join(parts)


def _readings(value: str) -> str:
    """The two dates a slash date may be: '2026-10-01 read day first, 2026-01-10 month first'."""
    match = re.match(_SLASH_RE, value)
    assert match is not None  # selected by the same pattern
    a, b, year = match.groups()
    return f"{year}-{b:0>2}-{a:0>2} read day first, {year}-{a:0>2}-{b:0>2} month first"


def _day_first(formats: list[str]) -> list[str]:
    """``formats`` with the month and day of each slash format swapped."""
    return [f.replace("%m/%d/", "%d/%m/") for f in formats]


def _first_of_each_order(
    con: duckdb.DuckDBPyConnection, rows: str
) -> tuple[tuple | None, tuple | None]:
    """The first slash date (row, column, value) that can only be day first, and the first that
    can only be month first, in one scan of the file (17/13/2026 is neither: unreadable)."""
    first = "arg_min(struct_pack(r := __row, c := col, v := value), (__row, col))"
    day, month = con.execute(
        f"SELECT {first} FILTER (WHERE a > 12 AND b <= 12), "
        f"{first} FILTER (WHERE b > 12 AND a <= 12) FROM ({rows})"
    ).fetchone() or (None, None)
    return tuple(day.values()) if day else None, tuple(month.values()) if month else None


def with_file_order(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    present: Iterable[str],
    raw_types: dict[str, str],
) -> FormatSpec:
    """``spec`` with its slash formats in the order the file's text dates (of ``__numbered``)
    show: month first (as declared) where a second number is above 12, day first where a first
    one is. Refuses a file showing both orders, and one showing neither where a date reads two
    ways (01/10/2026), naming each such row and column and what to write instead."""
    if spec.slash_date_order != "from_file" or not any("/" in f for f in spec.timestamp_formats):
        return spec
    columns = [
        c
        for c in present
        if spec.types.get(c) in ("timestamp", "date") and raw_types.get(c, "VARCHAR") == "VARCHAR"
    ]
    if not columns:
        return spec
    rows = _slash_rows(columns)
    day_first, month_first = _first_of_each_order(con, rows)
    if day_first and month_first:
        both = sorted([(day_first, "day first"), (month_first, "month first")])
        (one, one_order), (other, other_order) = both
        raise InputError(
            f"{src.name}: its slash dates are in two orders, so no date of it can be read",
            [
                Problem(
                    src.name,
                    row[0],
                    row[1],
                    row[2],
                    f"dates in one order: this one is {order}, row {far[0]}'s {far[2]!r} "
                    f"{far_order}; write {_ISO}",
                )
                for row, order, far, far_order in (
                    (one, one_order, other, other_order),
                    (other, other_order, one, one_order),
                )
            ],
        )
    if day_first:
        return spec.model_copy(update={"timestamp_formats": _day_first(spec.timestamp_formats)})
    if month_first:
        return spec
    two_ways = "a <> b AND a BETWEEN 1 AND 12 AND b BETWEEN 1 AND 12"
    listed = con.execute(
        f"SELECT __row, col, value, count(*) OVER () FROM ({rows}) WHERE {two_ways} "
        f"ORDER BY __row, col LIMIT {MAX_LISTED}"
    ).fetchall()
    if not listed:
        return spec  # every slash date reads the same either way (10/10/2026)
    raise InputError(
        f"{src.name}: {listed[0][3]} slash date(s) read two ways and none of the file's dates has "
        "a number above 12 to tell day first from month first (a spreadsheet saved the file in "
        "its locale's order)",
        [
            Problem(
                src.name,
                row,
                col,
                value,
                f"a date in a known order: day first or month first is not written in the file "
                f"({_readings(value)}); write {_ISO}",
            )
            for row, col, value, _ in listed
        ],
    )
