"""Reports a spreadsheet has re-saved: their ids are refused, not billed.

An analyst who opens a vendor's CSV in Excel or LibreOffice to look at it, and saves it, gets a
file that still imports: the same columns, the same amounts. But the spreadsheet has rewritten the
ids it read as numbers: a long one in scientific notation (the AWS account 402719385610 as
``4.02719E+11``, Microsoft's line id ``8449250160e3`` as ``8.44925E+12``), and leading zeros
dropped (Microsoft's SKU id ``0002`` as ``2``). The lines then map to no customer, or match other
price rules: Partner Center's licences re-saved so were billed at other prices with nothing but
"rule matched nothing" in the review. Each format names its ids that a spreadsheet damages
(``FormatSpec.ids``); a value in scientific notation, or of the damaged shape the format gives,
refuses the file naming the row and column. Only text files are read so: a Parquet file keeps
its types.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec
from billing_lib.importers.values import MAX_EXAMPLES_PER_COLUMN
from billing_lib.spreadsheet_numbers import SCIENTIFIC, in_scientific_notation
from billing_lib.sql import qi, ql


def _damaged_sql(column: str, shape: str | None) -> str:
    """SQL true where raw text ``column`` is in scientific notation or has the damaged ``shape``
    (a regular expression over the whole value)."""
    col = qi(column)
    v = f"trim({col})"
    # the "+" first: a substring test per value, the trim and the pattern only where there is one
    damaged = f"(contains({col}, '+') AND regexp_full_match({v}, {ql(SCIENTIFIC)}))"
    if shape:
        damaged += f" OR regexp_full_match({v}, {ql(shape)})"
    return f"({col} IS NOT NULL AND ({damaged}))"


def _expected(value: str) -> str:
    if in_scientific_notation(value):
        how = "a long number as a spreadsheet writes it (scientific notation)"
    else:
        how = "an id whose leading zeros a spreadsheet dropped"
    return f"the id as the vendor writes it, not {how}"


def check_spreadsheet_damage(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec, present: set[str]
) -> None:
    """InputError naming each id of ``src`` (its raw rows, ``__numbered``) that a spreadsheet
    rewrote, before any line is mapped; nothing for a Parquet file or a format without ids."""
    ids = {c: shape for c, shape in spec.ids.items() if c in present}
    if src.kind != "csv" or not ids:
        return
    checks = {c: _damaged_sql(c, shape) for c, shape in ids.items()}
    counts = con.execute(
        f"SELECT {', '.join(f'count_if({sql})' for sql in checks.values())} FROM __numbered"
    ).fetchall()[0]
    if not any(counts):
        return
    problems: list[Problem] = []
    for (column, sql), n in zip(checks.items(), counts, strict=True):
        if n:
            rows = con.execute(
                f"SELECT __row, {qi(column)} FROM __numbered WHERE {sql} ORDER BY __row "
                f"LIMIT {MAX_EXAMPLES_PER_COLUMN}"
            ).fetchall()
            problems += [
                Problem(src.name, row, column, value, _expected(value)) for row, value in rows
            ]
    raise InputError(
        f"{src.name} ({spec.title}): ids rewritten by a spreadsheet: the file was opened and "
        "saved in one (Excel, LibreOffice), which writes long numbers in scientific notation and "
        "drops leading zeros, so its lines would map to other customers or prices. Import the "
        "file as the vendor exported it (download it again), and open a copy to look at it",
        problems,
    )
