"""Charges that would be billed twice: a row repeated inside one vendor file, the same report
given twice in another container, encoding or line ending, and two reports that overlap.

A row's identity inside its file is its format's key (``FormatSpec.key_kind``): the vendor's own
line id where the format has one (AWS ``identity_line_item_id`` with its interval, the Partner
Center reconciliation row's identifying columns, the VMware usage meter's month, meter, customer,
product and unit), and otherwise the whole row, every column of the file, numbers compared as
numbers. Reports are compared by content, not bytes: by their line ids here, or, for formats
without them, by the charge each line bills (``line_content``).
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile, file_name_of
from billing_lib.importers.source_checks import resolve_columns
from billing_lib.importers.spec import FormatSpec
from billing_lib.importers.values import absent_text_sql
from billing_lib.model import LINE_COLUMN_NAMES
from billing_lib.money import SQL_AMOUNT
from billing_lib.sql import qi

#: Column of ``__raw`` (and ``__numbered``) holding a row's hash when whole rows are compared.
ROW_HASH = "__rowhash"
MAX_SHOWN = 20
#: SQL function giving a key's 64-bit hash, compared before the keys themselves (a seam: a test
#: makes different keys collide to show that only equal keys are reported).
KEY_HASH = "hash"
_NULL = "chr(30)"
_SEP = "chr(31)"


def row_hash_sql(src: SourceFile, spec: FormatSpec) -> str | None:
    """SQL over the raw columns of ``src``: the md5 of a row's canonical text (every column, in
    name order; declared decimal columns as their DECIMAL(38,12) value, so 12.50 and 12.5 are the
    same), for the repeats inside one file; None when the format identifies rows by line id, or
    accepts identical rows (``repeated_rows``: nothing to check inside the file)."""
    if spec.key_kind != "row" or spec.repeated_rows:
        return None
    kinds = {
        header: spec.types[name] for name, header in resolve_columns(spec.types, src.header).items()
    }
    parts = []
    for name in sorted(set(src.header) - set(src.unnamed)):  # unnamed: checked to hold nothing
        col = qi(name)
        if src.kind != "csv":  # '' is NULL, as the import reads it (values.absent_text_sql)
            expr = absent_text_sql(f"CAST({col} AS VARCHAR)", spec.null_values)
        elif kinds.get(name) == "decimal":
            expr = f"COALESCE(CAST(TRY_CAST(trim({col}) AS {SQL_AMOUNT}) AS VARCHAR), {col})"
        else:
            expr = col
        parts.append(f"COALESCE({expr}, {_NULL})")
    return f"md5(concat_ws({_SEP}, {', '.join(parts)}))"


def key_description(spec: FormatSpec) -> str:
    """The key in words, for messages and docs."""
    if spec.key_kind == "row":
        return "every column"
    return " + ".join(spec.line_id_columns()) or "x_VendorLineId"


def _line_key_sql() -> str:
    """A line's key in ``__new``: its line id, or for a line without one, the hash of the whole
    normalised line (so lines without an id are still compared)."""
    cols = [c for c in LINE_COLUMN_NAMES if c not in ("x_SourceRow", "x_SourceFile")]
    parts = ", ".join(f"COALESCE(CAST({qi(c)} AS VARCHAR), {_NULL})" for c in cols)
    whole = f"md5(concat_ws({_SEP}, {parts}))"
    return f"COALESCE(x_VendorLineId, 'line ' || {whole})"


def _line_key_hashes_sql() -> str:
    """SQL: ``h``, the hash of each line's key in ``__new`` (``_line_key_sql``), reading only the
    line id of the lines that have one: the whole normalised line, every column of a table that
    may be spilled to disk at 10 million lines, is read only for the lines without an id."""
    return (
        f"SELECT {KEY_HASH}(x_VendorLineId) AS h FROM __new WHERE x_VendorLineId IS NOT NULL "
        f"UNION ALL SELECT {KEY_HASH}({_line_key_sql()}) FROM __new WHERE x_VendorLineId IS NULL"
    )


def _shared_hashes_sql(hashes: str) -> str:
    """SQL: the hashes ``h`` of ``hashes`` that occur more than once. Sorted and compared with
    the next one: about half the work of a GROUP BY over millions of distinct hashes."""
    return (
        f"SELECT DISTINCT h FROM (SELECT h, lead(h) OVER (ORDER BY h) AS next FROM ({hashes})) "
        "WHERE h = next"
    )


def check_repeated_rows(con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec) -> None:
    """Refuse a file in which a row's key appears twice: it would be billed twice. Formats whose
    ``repeated_rows`` says why identical rows are legitimate are not checked. Runs on ``__new``
    (line ids) or ``__numbered`` (row hashes) of the file just staged."""
    if spec.repeated_rows:
        return
    if spec.key_kind == "row":
        table, key, row = "__numbered", qi(ROW_HASH), "__row"
        hashes = f"SELECT {KEY_HASH}({key}) AS h FROM {table}"
    else:
        table, key, row = "__new", _line_key_sql(), "x_SourceRow"
        hashes = _line_key_hashes_sql()
    # 64-bit hashes first (cheap on millions of lines); the exact keys only of the lines whose
    # hash is shared, so two different keys with the same hash are never a repeat.
    shared = _shared_hashes_sql(hashes)
    if not con.execute(f"SELECT count(*) FROM ({shared})").fetchall()[0][0]:
        return
    repeats = con.execute(
        f"""SELECT k, rows FROM (
              SELECT {key} AS k, list({row} ORDER BY {row}) AS rows FROM {table}
              WHERE {KEY_HASH}({key}) IN ({shared})
              GROUP BY 1 HAVING count(*) > 1)
            ORDER BY rows[1] LIMIT {MAX_SHOWN}"""
    ).fetchall()
    if not repeats:
        return
    problems = []
    for k, rows in repeats:
        what, shown = _repeated_key(spec, k)
        for again in rows[1:]:
            problems.append(
                Problem(
                    src.name,
                    again,
                    what,
                    shown,
                    f"a row not repeated in the file (row {again} repeats row {rows[0]})",
                )
            )
    first_rows = repeats[0][1]
    raise InputError(
        f"{src.name} ({spec.title}): row {first_rows[1]} repeats row {first_rows[0]} "
        f"(same {problems[0].column}); a repeated row would be billed twice. Ask the vendor for a "
        "corrected report, or remove the repeated rows if they are a copying mistake",
        problems,
    )


def _repeated_key(spec: FormatSpec, key: str) -> tuple[str, str | None]:
    """What a repeated key (``_line_key_sql``) is, in words, and the value shown for it: the line
    id, or for a line without one (an AWS CUR exported without its identity columns) every value
    of the line, named as such rather than by the id columns the file lacks."""
    if spec.key_kind == "row":
        return key_description(spec), None
    if key.startswith("line "):
        return (
            f"every value of the line model; the line has no {key_description(spec)}",
            None,
        )
    return key_description(spec), key


def check_not_imported(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    start: int,
    content: str | None,
    rows: int,
) -> None:
    """Refuse a report whose content, or any of whose vendor line ids, was imported already (in an
    earlier import into this store, or earlier in the same batch), naming both files. ``__new`` is
    the report's lines, the rows of ``lines`` from rowid ``start`` on; the rows before it are the
    earlier ones. One statement looks up the checksum, the content and whether any earlier line
    is of the report's format (a line id is only ever compared within its format): on a small
    file each statement costs more than its data, and most reports have no earlier line of
    their format, so the join over their lines is not run."""
    by_checksum, by_content, earlier_lines = con.execute(
        f"""SELECT (SELECT any_value(file) FROM imports WHERE checksum = $1),
                   (SELECT any_value(file) FROM imports WHERE content = $2),
                   (SELECT count(*) FROM (SELECT 1 FROM lines
                                          WHERE rowid < {int(start)} AND x_Format = $3 LIMIT 1))""",
        [src.checksum, content, spec.name],
    ).fetchall()[0]
    if by_checksum is not None:
        raise InputError(
            f"{src.name}: this report was already imported as {by_checksum} (same content)"
        )
    if content is not None and by_content is not None and spec.line_id_by_file:
        raise InputError(
            f"{src.name}: the same report as {by_content}: its {rows} lines bill the same "
            f"charges ({spec.file_keyed_lines}, so its lines are told from another site's by "
            "their file, and two files billing the same charges are one report copied under "
            "another name, encoding or layout), given twice; import one of them"
        )
    if content is not None and by_content is not None:
        raise InputError(
            f"{src.name}: the same report as {by_content} ({rows} rows billing the same charges: "
            "another container, layout, encoding or export of it), given twice; import one of "
            "them"
        )
    if not earlier_lines:
        return  # no line of its format imported before it: no join over all its lines
    earlier = f"""(SELECT x_Format, x_VendorLineId, x_SourceFile, x_SourceRow FROM lines
                   WHERE rowid < {int(start)})"""
    joined = (
        f"__new n JOIN {earlier} l ON n.x_Format = l.x_Format AND n.x_VendorLineId = "
        f"l.x_VendorLineId"
    )
    per_file = con.execute(
        f"SELECT l.x_SourceFile, count(*) FROM {joined} GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    if not per_file:
        return
    clash = con.execute(
        f"""SELECT n.x_SourceRow, n.x_VendorLineId, l.x_SourceFile, l.x_SourceRow
           FROM {joined} ORDER BY n.x_SourceRow LIMIT 10"""
    ).fetchall()
    problems = [
        Problem(
            src.name,
            row,
            f"x_VendorLineId ({' + '.join(spec.line_id_columns())})",
            lid,
            f"a line not imported before (it is {f} row {r})",
        )
        for row, lid, f, r in clash
    ]
    other, n = per_file[0]
    if spec.line_id_by_file and file_name_of(other) == src.file_name:
        raise InputError(
            f"{src.name}: {spec.file_keyed_lines}, so its lines are keyed by its file name "
            f"{src.file_name}, and {other} has that name too but bills other charges (two sites' "
            "reports downloaded into two folders?). Rename each report after its site and "
            "import them again",
            problems,
        )
    other_rows = con.execute("SELECT sum(rows) FROM imports WHERE file = ?", [other]).fetchall()[0][
        0
    ]
    if len(per_file) == 1 and n == rows == other_rows:
        raise InputError(
            f"{src.name}: the same report as {other} (its {rows} vendor line ids were all "
            "already imported from it: another container, encoding or copy of it), given twice; "
            "import one of them",
            problems,
        )
    raise InputError(
        f"{src.name}: lines of this report were already imported from another file "
        f"({', '.join(f for f, _ in per_file)})",
        problems,
    )
