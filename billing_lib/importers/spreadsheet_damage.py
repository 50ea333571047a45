"""Reports a spreadsheet (or another tool) has re-saved: their ids are refused, not billed.

An analyst who opens a vendor's CSV in Excel or LibreOffice to look at it, and saves it, gets a
file that still imports: the same columns, the same amounts. But the spreadsheet has rewritten the
ids it read as numbers: a long one in scientific notation (the AWS account 402719385610 as
``4.02719E+11``, Microsoft's line id ``8449250160e3`` as ``8.44925E+12``), and leading zeros
dropped (Microsoft's SKU id ``0002`` as ``2``, the AWS account 012345678901 as 12345678901). The
lines then map to no customer, or match other price rules: Partner Center's licences re-saved so
were billed at other prices with nothing but "rule matched nothing" in the review. Each format
names its ids that a spreadsheet damages (``FormatSpec.ids``); a value in scientific notation, or
of the damaged shape the format gives (an AWS account is always 12 digits), refuses the file
naming the row and column. A Parquet file keeps its types: only an id column it stores as a
number (a tool that read the ids as numbers rewrote it: 402719385610.0) is read so, a text column
of the vendor's own file costs nothing.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import QUOTED_COLUMN, FormatSpec, IdShape
from billing_lib.importers.values import MAX_EXAMPLES_PER_COLUMN
from billing_lib.spreadsheet_numbers import SCIENTIFIC, in_scientific_notation
from billing_lib.sql import qi, ql


def _damaged_sql(column: str, shape: IdShape | None, as_text: bool = False) -> str:
    """SQL true where raw ``column`` (text, or a number read as text when ``as_text``) is in
    scientific notation or has the damaged ``shape`` (a regular expression over the whole value)
    on a row where the shape's ``when`` holds."""
    col = f"CAST({qi(column)} AS VARCHAR)" if as_text else qi(column)
    v = f"trim({col})"
    # the "+" first: a substring test per value, the trim and the pattern only where there is one
    damaged = f"(contains({col}, '+') AND regexp_full_match({v}, {ql(SCIENTIFIC)}))"
    if shape:
        damaged += f" OR regexp_full_match({v}, {ql(shape.damaged)})"
    found = f"({col} IS NOT NULL AND ({damaged}))"
    return f"({found} AND ({shape.when}))" if shape and shape.when else found


def _expected(value: str, shape: IdShape | None) -> str:
    what = "the id as the vendor writes it"
    if shape and shape.expected:
        what += f" ({shape.expected})"
    if in_scientific_notation(value):
        how = "a long number as a spreadsheet writes it (scientific notation)"
    elif value.strip().isdigit():
        how = "an id whose leading zeros a spreadsheet dropped"
    else:
        how = "an id another tool rewrote (as a number with a decimal point, or other characters)"
    return f"{what}, not {how}"


def _checked(
    spec: FormatSpec, src: SourceFile, present: set[str], raw_types: dict[str, str]
) -> dict[str, IdShape | None]:
    """The id columns of ``src`` to read: those present whose ``when`` reads present columns
    only; of a Parquet file, those it stores as anything but text."""
    out = {}
    for column, shape in spec.id_shapes().items():
        needs = set(QUOTED_COLUMN.findall(shape.when or "")) if shape else set()
        if column not in present or not needs <= present:
            continue
        if src.kind == "csv" or raw_types.get(column, "VARCHAR") != "VARCHAR":
            out[column] = shape
    return out


#: The last row of a worksheet in Excel (2007 and later) and LibreOffice: a CSV opened in one is
#: cut there ("file not loaded completely"), and saving it writes the rows it kept.
SHEET_ROWS = 1_048_576


def check_not_cut_at_sheet_end(con: duckdb.DuckDBPyConnection, src: SourceFile) -> None:
    """InputError when the text report ``src`` (its raw records, ``__numbered``) ends exactly at
    a worksheet's last row: a larger export opened in a spreadsheet and saved lost every row
    after it, and those lines were on no invoice, without a word. A vendor's file of just so many
    rows is not told apart: most unlikely, it would be read from its own download's parts."""
    if src.kind != "csv":
        return
    last = con.execute("SELECT max(__row) FROM __numbered").fetchone()
    if not last or last[0] != SHEET_ROWS:
        return
    raise InputError(
        f"{src.name}: ends at row {SHEET_ROWS:,}, a spreadsheet's last row: opened and saved in "
        "Excel or LibreOffice, which keep only a worksheet's 1,048,576 rows, so the report's "
        "lines after it would be on no invoice. Import the report as the vendor exported it "
        "(download it again), and open a copy to look at it",
        [
            Problem(
                src.name,
                SHEET_ROWS,
                None,
                None,
                "the report's rows as the vendor wrote them, not cut at a spreadsheet's last row",
            )
        ],
    )


def check_spreadsheet_damage(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    present: set[str],
    raw_types: dict[str, str] | None = None,
) -> None:
    """InputError naming each id of ``src`` (its raw rows, ``__numbered``) that a spreadsheet or
    another tool rewrote, before any line is mapped; nothing for a format without ids, nor for a
    Parquet file storing its ids as text (``raw_types``: the types of its columns)."""
    ids = _checked(spec, src, present, raw_types or {})
    if not ids:
        return
    as_text = src.kind != "csv"
    checks = {c: _damaged_sql(c, shape, as_text) for c, shape in ids.items()}
    counts = con.execute(
        f"SELECT {', '.join(f'count_if({sql})' for sql in checks.values())} FROM __numbered"
    ).fetchall()[0]
    if not any(counts):
        return
    problems: list[Problem] = []
    for (column, sql), n in zip(checks.items(), counts, strict=True):
        if n:
            text = f"CAST({qi(column)} AS VARCHAR)"
            rows = con.execute(
                f"SELECT __row, {text} FROM __numbered WHERE {sql} ORDER BY __row "
                f"LIMIT {MAX_EXAMPLES_PER_COLUMN}"
            ).fetchall()
            problems += [
                Problem(src.name, row, column, value, _expected(value, ids[column]))
                for row, value in rows
            ]
    if as_text:
        types = ", ".join(f"{c} {(raw_types or {})[c]}" for c in ids)
        raise InputError(
            f"{src.name} ({spec.title}): ids stored as numbers ({types}): a tool that read the "
            "ids as numbers rewrote the file, dropping their leading zeros or adding a decimal "
            "point, so its lines would map to other customers or none. Import the file as the "
            "vendor exported it (download it again)",
            problems,
        )
    raise InputError(
        f"{src.name} ({spec.title}): ids rewritten by a spreadsheet: the file was opened and "
        "saved in one (Excel, LibreOffice), which writes long numbers in scientific notation and "
        "drops leading zeros, so its lines would map to other customers or prices. Import the "
        "file as the vendor exported it (download it again), and open a copy to look at it",
        problems,
    )
