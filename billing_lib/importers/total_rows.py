"""A vendor report's own total row (``FormatSpec.total_row``: VMware Usage Meter and the Cloud
Partner Navigator portal end an export with one): a label in the first column, the sums in the
numeric columns. It is no line: it is set aside before the rows are typed (``set_aside``) and
checked as the report's control total once they are (``check_total``). A row that looks like a
total but is not the report's (lines after it, a subtotal) is refused naming it, never read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.source_checks import identifying_columns
from billing_lib.importers.spec import FormatSpec
from billing_lib.importers.values import MAX_EXAMPLES_PER_COLUMN, typed_expr
from billing_lib.sql import qi, ql

#: Column of the raw records holding the text of the file's first column (the label).
LABEL_COLUMN = "__total_label"

#: A first column that looks like a total's label (RE2): Total, Totals, Grand total, Subtotal,
#: 'Total northwind-mgmt' ...; the row is taken for one only where it names no line (``_rows``).
_LOOKS_LIKE = r"(?i)^\s*(grand\s*|sub\s*-?\s*)?totals?\b"

#: The label of the report's own total row.
_TOTAL_LABEL = re.compile(r"\s*(grand\s+)?totals?\s*:?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class TotalRow:
    """The report's total row as printed: its spreadsheet row and each amount column it fills."""

    row: int
    figures: dict[str, str]


def label_select(spec: FormatSpec, src: SourceFile) -> dict[str, str]:
    """The raw column the label is read into (name -> SQL over the file's columns), for a CSV of
    a format whose reports may end with a total row; else none."""
    if not spec.total_row or src.kind != "csv" or not src.header:
        return {}
    return {LABEL_COLUMN: qi(src.header[0])}


def _amount_columns(spec: FormatSpec, present: list[str]) -> list[str]:
    """The columns read that hold numbers (the sums of a total row), in the format's order."""
    return [c for c in spec.types if spec.types[c] == "decimal" and c in present]


def set_aside(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    present: list[str],
    raw: str,
) -> TotalRow | None:
    """The report's total row, removed from the records ``raw`` (over which ``__numbered`` is a
    view), or None. Rows whose first column reads as a total and that name no line (every
    identifying column but the label's empty) are totals; the last record, labelled Total (or
    Totals, Grand total), is the report's; any other such row is refused naming it."""
    if LABEL_COLUMN not in label_select(spec, src):
        return None
    label = src.header[0]
    others = [c for c in identifying_columns(spec, present) if c.casefold() != label.casefold()]
    amounts = _amount_columns(spec, present)
    empty = "".join(f" AND {qi(c)} IS NULL" for c in others)
    figures = ", ".join(f"CAST({qi(c)} AS VARCHAR)" for c in amounts) or "NULL"
    found = con.execute(
        f"SELECT __row, {qi(LABEL_COLUMN)}, [{figures}], __row = (SELECT max(__row) FROM "
        f"__numbered) FROM __numbered WHERE regexp_matches({qi(LABEL_COLUMN)}, {ql(_LOOKS_LIKE)})"
        f"{empty} ORDER BY __row LIMIT {MAX_EXAMPLES_PER_COLUMN + 1}"
    ).fetchall()
    if not found:
        return None
    *before, (row, text, values, last) = found
    if before or not last or not _TOTAL_LABEL.fullmatch(text):
        _refuse(src, spec, label, found)
    con.execute(f"DELETE FROM {qi(raw)} WHERE rowid = (SELECT max(rowid) FROM {qi(raw)})")
    return TotalRow(
        int(row), {c: v for c, v in zip(amounts, values or [], strict=False) if v is not None}
    )


def _refuse(src: SourceFile, spec: FormatSpec, label: str, found: list[tuple]) -> None:
    """InputError naming each row that looks like a total but is not the report's total row."""
    problems = []
    for row, text, _values, last in found:
        if not _TOTAL_LABEL.fullmatch(text):
            expected = (
                "no subtotal or other total: the report's lines, ending with at most its one "
                "total row (Total); delete the row"
            )
        elif not last:
            expected = (
                "a total as the report's last row: lines or another total follow this one; "
                "delete it, or export the report again as the vendor writes it"
            )
        else:
            continue
        problems.append(Problem(src.name, int(row), label, text, expected))
    raise InputError(
        f"{src.name} ({spec.title}): rows that look like a total but are not the report's total "
        "row (its last row, labelled Total in the first column)",
        problems,
    )


def check_total(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    total: TotalRow | None,
    lines: str = "__typed",
) -> None:
    """Refuse the report when a figure of its total row is no number, or is not the sum of the
    column over its lines (``lines``: their typed values), naming the row, the column and both
    figures: a line deleted or a figure edited after the export. Exact, as every amount."""
    if total is None or not total.figures:
        return
    columns = list(total.figures)
    printed = ", ".join(f"{typed_expr(c, 'decimal', True, {}, spec)} AS {qi(c)}" for c in columns)
    values = ", ".join(f"{ql(v)} AS {qi(c)}" for c, v in total.figures.items())
    sums = ", ".join(f"sum({qi(c)})" for c in columns)
    row = con.execute(f"SELECT {printed} FROM (SELECT {values})").fetchall()[0]
    added = con.execute(f"SELECT {sums} FROM {lines}").fetchall()[0]
    problems = []
    for column, value, number, lines_sum in zip(
        columns, total.figures.values(), row, added, strict=True
    ):
        if number is None:
            expected = "a decimal number (e.g. 12.34)"
        elif number != (lines_sum or Decimal(0)):
            expected = _figure(lines_sum)
        else:
            continue
        problems.append(
            Problem(
                src.name,
                total.row,
                column,
                value,
                f"{expected}: the sum of the column over the report's lines",
            )
        )
    if problems:
        raise InputError(
            f"{src.name} ({spec.title}): the report's total row (row {total.row}) is not the sum "
            "of its lines: a line deleted or a figure edited since the report was exported? "
            "Export the report again",
            problems,
        )


def _figure(value: Decimal | None) -> str:
    """An amount as a reader writes it: without the zeros DECIMAL(38,12) pads it with."""
    if value is None:
        return "nothing (no line has a value)"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
