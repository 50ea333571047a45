"""Rows a format imports as the file says but lists among the import report's warnings
(``FormatSpec.row_warnings``): figures that do not agree where the vendor documents no rule that
they must, so refusing the row could refuse a real report, and billing it in silence could bill
an edited figure. The analyst sees each row named by its row and columns (``billing import``'s
output, a run's warnings)."""

from __future__ import annotations

import duckdb

from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec, RowWarning

#: Rows listed per warning of a format; the rest are counted.
MAX_ROWS_LISTED = 20


def row_warnings(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec
) -> tuple[str, ...]:
    """The warnings of ``spec.row_warnings`` for the rows of ``__typed`` (the file's typed
    values, before any line is mapped): ``row N, columns 'A', 'B': <what is wrong>``, in row
    order, at most ``MAX_ROWS_LISTED`` a warning and then how many more."""
    header = {h.casefold() for h in src.header}
    out: list[str] = []
    for warning in spec.row_warnings:
        if warning.if_in_file and warning.columns[0].casefold() not in header:
            continue
        out += _listed(con, warning, [c for c in warning.columns if c.casefold() in header])
    return tuple(out)


def _listed(con: duckdb.DuckDBPyConnection, warning: RowWarning, columns: list[str]) -> list[str]:
    """One text per row ``warning`` lists, naming the ``columns`` of it the file has."""
    found = con.execute(
        f"SELECT __row, CAST({warning.detail or 'NULL'} AS VARCHAR), count(*) OVER () "
        f"FROM __typed WHERE {warning.when} ORDER BY __row LIMIT {MAX_ROWS_LISTED}"
    ).fetchall()
    named = ", ".join(f"'{c}'" for c in columns)
    kind = "columns" if len(columns) > 1 else "column"
    out = [
        f"row {row}, {kind} {named}: {warning.says.replace('{detail}', detail or '').strip()}"
        for row, detail, _ in found
    ]
    if found and found[0][2] > len(found):
        out.append(f"and {found[0][2] - len(found)} more rows like these ({named})")
    return out
