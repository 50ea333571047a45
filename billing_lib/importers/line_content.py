"""Reports compared by the charges their lines bill: the same report given again in another layout,
spelling or container, and two reports that overlap, for the lines that have no vendor line id
(every line of the formats without one; an AWS CUR exported without its identity columns).

A line's content is the values of the line model its format maps it to that identify the charge
(``line_content_sql``): account, resource, SKU and meter, charge period, quantities, amounts,
charge type, unit and currency. They are the same whatever the file's layout (an added or a dropped
column the format does not read), its date and number spelling, its container (CSV or Parquet),
its vendor invoice id (the unbilled export of the same usage has none yet) or the names, tags and
descriptions of the day it was downloaded (a customer renamed between two downloads). The store
keeps each such line's hash in ``imported_rows``; inside one file a repeat is still a row equal in
every column (duplicates).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec
from billing_lib.model import LINE_COLUMN_NAMES
from billing_lib.sql import qi, ql

MAX_SHOWN = 20
#: Line-model columns that are not part of the charge a line bills (``line_content_sql``): where it
#: was read, the vendor's invoice id, which the unbilled (estimated) export of the same usage
#: leaves empty, the vendor's line id, which an export without its id columns lacks, and the
#: resource's tags, which are the tags of the day of the download (a tag added to a resource, the
#: keys in another order), not of the charge; and the subscription the customer mapping reads
#: first (``x_SubscriptionId``), which the line's ResourceId names already (a daily file with or
#: without its EntitlementId column bills the same).
NOT_CONTENT = (
    "x_SourceFile",
    "x_SourceRow",
    "InvoiceId",
    "x_VendorLineId",
    "Tags",
    "x_SubscriptionId",
)
#: Descriptive columns -> the ids that identify what they describe: a name or description is part
#: of a line's content only when the line has none of its ids. Vendors write each download with
#: the current names (Partner Center's CustomerName and PartnerName after a rename, a meter's or
#: product's renamed description), so two downloads of one month differ there while billing the
#: same charges; without the id (a FOCUS export without SkuId) the text is all that tells two
#: charges apart.
DESCRIBED_BY: dict[str, tuple[str, ...]] = {
    "BillingAccountName": ("BillingAccountId",),
    "SubAccountName": ("SubAccountId",),
    "ChargeDescription": ("SkuId", "SkuPriceId"),
    "ServiceName": ("SkuId", "SkuPriceId"),
    "ServiceCategory": ("SkuId", "SkuPriceId"),
    "ResourceName": ("ResourceId",),
}
#: The words for ``line_content_sql`` in messages ("the same ..."), and the column a problem names.
CONTENT_WORDS = (
    "account, resource, SKU and meter, charge period, quantities, amounts, charge type, unit and "
    "currency; names, descriptions, tags and the vendor's invoice and line ids aside"
)
CONTENT_COLUMN = "every line-model value but names, descriptions and tags"


def _content_value(col: str) -> str:
    """SQL of ``col``'s part of a line's content: the column, or for a ``DESCRIBED_BY`` one, the
    column only where the line has none of its ids (else NULL)."""
    ids = DESCRIBED_BY.get(col)
    if not ids:
        return qi(col)
    absent = " AND ".join(f"{qi(i)} IS NULL" for i in ids)
    return f"CASE WHEN {absent} THEN {qi(col)} END"


def line_content_sql() -> str:
    """SQL over a line of ``lines``: a 128-bit hash of the charge it bills, every line-model value
    but ``NOT_CONTENT``, and the ``DESCRIBED_BY`` names and descriptions only where their ids are
    missing (typed: decimals with their 12 places, timestamps in UTC), so a report is the same
    whatever its layout, spelling, container or the names of the day it was downloaded. Two of
    DuckDB's 64-bit hashes of the typed values, the second seeded: a third of the time of an md5
    of their text, which casts every value to text (1.2 against 3.7 s per million lines on two
    threads)."""
    cols = ", ".join(_content_value(c) for c in LINE_COLUMN_NAMES if c not in NOT_CONTENT)
    return f"((CAST(hash({cols}) AS UHUGEINT) << 64) | CAST(hash('line', {cols}) AS UHUGEINT))"


def content_key(con: duckdb.DuckDBPyConnection, spec: FormatSpec, start: int) -> str | None:
    """A file's content as one value, independent of container, encoding, layout, spelling and row
    order: its line count and the sums of the halves of its lines' ``line_content_sql`` hashes
    (``remember_rows``, report ``start``; one pass, no sort). For formats with line ids, None:
    those are compared by their ids (``check_not_imported``); but where a line id takes its
    file's name (``FormatSpec.line_id_by_file``), a copy under another name has other ids, so
    its content is that of its lines (``__new``), hashed the same way."""
    if spec.key_kind == "row":
        hashes = f"SELECT hash FROM imported_rows WHERE report = {int(start)} AND format = $1"
    elif spec.line_id_by_file:
        hashes = f"SELECT {line_content_sql()} AS hash FROM __new"
    else:
        return None
    return con.execute(
        "SELECT $1 || ':' || count(*) || ':' || COALESCE(sum(CAST(hash >> 64 AS HUGEINT)), 0) "
        "|| ':' || COALESCE(sum(CAST(hash & 18446744073709551615::UHUGEINT AS HUGEINT)), 0) "
        f"FROM ({hashes})",
        [spec.name],
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
    line ids, the ``without_line_id`` lines that have none (line_facts: nothing is read when
    there are none, the common case)."""
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


def other_exports_sql(same_export: Sequence[str]) -> str:
    """SQL condition (`` AND ...``) on ``imported_rows`` leaving out the lines of the files
    ``same_export``, parts of the export being compared (export_parts); empty without any."""
    if not same_export:
        return ""
    return f" AND file NOT IN ({', '.join(ql(f) for f in same_export)})"


def _compared_lines(
    con: duckdb.DuckDBPyConnection,
    spec: FormatSpec,
    start: int,
    without_line_id: int,
    same_export: Sequence[str] = (),
) -> tuple[str, str] | None:
    """SQL of the report's lines compared by what they bill (``row``, ``hash``) and of the earlier
    lines of its format they are compared with (``ord``: the import order, ``file``, ``row``,
    ``hash``), or None when there is nothing to compare. A format with line ids compares its
    lines without one with every earlier line of the format, and a report with ids with the
    earlier lines that had none: an AWS CUR exported with and without its identity columns.
    ``same_export``: the earlier files that are parts of the report's export (export_parts),
    not compared with it."""
    fmt, first = ql(spec.name), int(start)
    mine = f"SELECT row, hash FROM imported_rows WHERE report = {first} AND format = {fmt}"
    remembered = (
        f"SELECT report AS ord, file, row, hash FROM imported_rows WHERE report < {first} "
        f"AND format = {fmt}{other_exports_sql(same_export)}"
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
    same_export: Sequence[str] = (),
) -> None:
    """Refuse a report a line of which bills the same charge (``line_content_sql``) as a line of
    an earlier report of its format (two overlapping month-to-date exports, one pasted into the
    other, the usage exported before and after the vendor invoiced it): the overlap would be
    billed twice. Lines with vendor line ids are compared by them (``check_not_imported``), those
    without one by what they bill (``_compared_lines``); a report equal to an earlier one as a
    whole is named so. ``start``: the rowid of its first line (``remember_rows``); ``rows``: its
    rows; ``without_line_id``: its lines without a line id (line_facts); ``same_export``: the
    earlier files that are other parts of its export (export_parts), read with it as one
    report."""
    compared = _compared_lines(con, spec, start, without_line_id, same_export)
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
