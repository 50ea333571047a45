"""Charges that would be billed twice: a row repeated inside one vendor file, the same report
given twice in another container, encoding or line ending, and two reports that overlap.

A row's identity inside its file is its format's key (``FormatSpec.key_kind``): the vendor's own
line id where the format has one (AWS ``identity_line_item_id`` with its interval, the Partner
Center reconciliation row's identifying columns, the VMware usage meter's month, meter, customer,
product and unit), and otherwise the whole row, every column of the file, numbers compared as
numbers. Reports are compared by content, not bytes: by their line ids, or, for formats without
them, by the charge each line bills: the values of the line model the format maps it to
(``line_content_sql``), which are the same whatever the file's layout (an added or a dropped
column the format does not read), its date and number spelling, its container (CSV or Parquet)
or its vendor invoice id (the unbilled export of the same usage has none yet).
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.engine import resolve_columns
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec
from billing_lib.model import LINE_COLUMN_NAMES
from billing_lib.money import SQL_AMOUNT
from billing_lib.sql import qi, ql

#: Column of ``__raw`` (and ``__numbered``) holding a row's hash when whole rows are compared.
ROW_HASH = "__rowhash"
MAX_SHOWN = 20
#: SQL function giving a key's 64-bit hash, compared before the keys themselves (a seam: a test
#: makes different keys collide to show that only equal keys are reported).
KEY_HASH = "hash"
_NULL = "chr(30)"
_SEP = "chr(31)"


#: Line-model columns that are not part of the charge a line bills (``line_content_sql``): where it
#: was read, the vendor's invoice id, which the unbilled (estimated) export of the same usage
#: leaves empty, and the vendor's line id, which an export without its id columns lacks.
NOT_CONTENT = ("x_SourceFile", "x_SourceRow", "InvoiceId", "x_VendorLineId")
#: The words for ``line_content_sql`` in messages ("the same ..."), and the column a problem names.
CONTENT_WORDS = "values in the line model, the vendor's invoice and line ids aside"
CONTENT_COLUMN = "every line-model value"


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
        if src.kind != "csv":
            expr = f"CAST({col} AS VARCHAR)"
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


def line_content_sql() -> str:
    """SQL over a line of ``lines``: a 128-bit hash of the charge it bills, every line-model value
    but ``NOT_CONTENT`` (typed: decimals with their 12 places, timestamps in UTC), so a report is
    the same whatever its layout, spelling or container. Two of DuckDB's 64-bit hashes of the
    typed values, the second seeded: a third of the time of an md5 of their text, which casts
    every value to text (1.2 against 3.7 s per million lines on two threads)."""
    cols = ", ".join(qi(c) for c in LINE_COLUMN_NAMES if c not in NOT_CONTENT)
    return f"((CAST(hash({cols}) AS UHUGEINT) << 64) | CAST(hash('line', {cols}) AS UHUGEINT))"


def content_key(con: duckdb.DuckDBPyConnection, spec: FormatSpec, start: int) -> str | None:
    """A file's content as one value, independent of container, encoding, layout, spelling and row
    order: its line count and the sums of the halves of its lines' ``line_content_sql`` hashes
    (``remember_rows``, report ``start``; one pass, no sort). None for formats with line ids:
    those are compared by their ids (``check_not_imported``)."""
    if spec.key_kind != "row":
        return None
    return con.execute(
        "SELECT $1 || ':' || count(*) || ':' || COALESCE(sum(CAST(hash >> 64 AS HUGEINT)), 0) "
        "|| ':' || COALESCE(sum(CAST(hash & 18446744073709551615::UHUGEINT AS HUGEINT)), 0) "
        "FROM imported_rows WHERE report = $2 AND format = $1",
        [spec.name, start],
    ).fetchall()[0][0]


def compared_across_reports(spec: FormatSpec) -> bool:
    """Whether ``spec``'s lines are compared by what they bill with the earlier reports' lines of
    its format (``remember_rows``): formats without line ids. FOCUS too, whose identical rows are
    legitimate inside one file (``repeated_rows``) but not the same charge in two files."""
    return spec.key_kind == "row"


def remember_rows(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    start: int,
    without_line_id: int = 0,
) -> None:
    """The ``line_content_sql`` hashes of the lines of ``src`` (``__new``, its lines from rowid
    ``start`` on) added to ``imported_rows``, for its ``content_key`` and
    ``check_rows_not_imported``: every line of a format ``compared_across_reports``; of one with
    line ids,
    the ``without_line_id`` lines that have none (line_facts: nothing is read when there are
    none, the common case)."""
    if compared_across_reports(spec):
        where = ""
    elif without_line_id:
        where = " WHERE x_VendorLineId IS NULL"
    else:
        return
    con.execute(
        f"INSERT INTO imported_rows SELECT $1, $2, $3, x_SourceRow, {line_content_sql()} "
        f"FROM __new{where}",
        [spec.name, start, src.name],
    )


def _compared_lines(
    con: duckdb.DuckDBPyConnection, spec: FormatSpec, start: int, without_line_id: int
) -> tuple[str, str] | None:
    """SQL of the report's lines compared by what they bill (``row``, ``hash``) and of the earlier
    lines of its format they are compared with (``ord``: the import order, ``file``, ``row``,
    ``hash``), or None when there is nothing to compare. A format with line ids compares its
    lines without one with every earlier line of the format, and a report with ids with the
    earlier lines that had none: an AWS CUR exported with and without its identity columns."""
    fmt, first = ql(spec.name), int(start)
    mine = f"SELECT row, hash FROM imported_rows WHERE report = {first} AND format = {fmt}"
    remembered = (
        f"SELECT report AS ord, file, row, hash FROM imported_rows WHERE report < {first} "
        f"AND format = {fmt}"
    )
    if compared_across_reports(spec):
        return mine, remembered
    if without_line_id:
        with_ids = (
            f"SELECT rowid, x_SourceFile, x_SourceRow, {line_content_sql()} FROM lines "
            f"WHERE rowid < {first} AND x_Format = {fmt} AND x_VendorLineId IS NOT NULL"
        )
        return mine, f"{remembered} UNION ALL {with_ids}"
    if con.execute(f"SELECT count(*) FROM ({remembered} LIMIT 1)").fetchall()[0][0]:
        mine = (
            f"SELECT x_SourceRow AS row, {line_content_sql()} AS hash FROM __new "
            "WHERE x_VendorLineId IS NOT NULL"
        )
        return mine, remembered
    return None


def check_rows_not_imported(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    start: int,
    rows: int,
    without_line_id: int = 0,
) -> None:
    """Refuse a report a line of which bills the same charge (``line_content_sql``) as a line of
    an earlier report of its format (two overlapping month-to-date exports, one pasted into the
    other, the usage exported before and after the vendor invoiced it): the overlap would be
    billed twice. Lines with vendor line ids are compared by them (``check_not_imported``), those
    without one by what they bill (``_compared_lines``); a report equal to an earlier one as a
    whole is named so. ``start``: the rowid of its first line (``remember_rows``); ``rows``: its
    rows; ``without_line_id``: its lines without a line id (line_facts)."""
    compared = _compared_lines(con, spec, start, without_line_id)
    if compared is None:
        return
    mine, earlier = compared
    shared = con.execute(
        f"SELECT count(*) FROM ({mine}) WHERE hash IN (SELECT hash FROM ({earlier}))"
    ).fetchall()[0][0]
    if not shared:
        return
    both = f"({mine}) n JOIN ({earlier}) e USING (hash)"
    per_file = con.execute(
        f"SELECT e.file, count(DISTINCT n.row) FROM {both} GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    clash = con.execute(
        f"""SELECT n.row, e.file, e.row FROM {both}
            QUALIFY row_number() OVER (PARTITION BY n.row ORDER BY e.ord, e.row) = 1
            ORDER BY n.row LIMIT {MAX_SHOWN}"""
    ).fetchall()
    first, first_file, first_row = clash[0]
    problems = [
        Problem(src.name, row, CONTENT_COLUMN, None, f"a row not in {f} (it is its row {r})")
        for row, f, r in clash
    ]
    other_rows = con.execute(
        "SELECT sum(rows) FROM imports WHERE file = ?", [first_file]
    ).fetchall()[0][0]
    if len(per_file) == 1 and shared == rows == other_rows:
        raise InputError(
            f"{src.name}: the same report as {first_file} (its {rows} lines bill the same "
            f"charges, the same {CONTENT_WORDS}: another container, layout or copy of it), "
            "given twice; import one of them",
            problems,
        )
    others = (
        per_file[0][0] if len(per_file) == 1 else ", ".join(f"{f} ({k} rows)" for f, k in per_file)
    )
    raise InputError(
        f"{src.name} ({spec.title}): row {first} bills the same charge as {first_file} row "
        f"{first_row} (the same {CONTENT_WORDS}); {shared} of its {rows} rows are also in "
        f"{others}. The reports overlap (two month-to-date exports, one copied into the other, "
        "or the usage exported before and after the vendor invoiced it): their common rows "
        "would be billed twice. Import reports that do not overlap, such as one export of the "
        "whole month",
        problems,
    )


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
