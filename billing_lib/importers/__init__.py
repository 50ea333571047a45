"""Vendor report importers: recognise a file's format from its header and read it into the model.

One YAML specification per format lives in ``formats/``; ``engine`` applies it. ``import_reports``
is all-or-nothing: either every file lands with balanced control totals, or none does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.engine import (
    ImportReport,
    detect_format,
    drop_staging,
    line_columns_sql,
    stage_source,
)
from billing_lib.importers.reader import SourceFile, open_sources
from billing_lib.importers.spec import FormatSpec, all_specs, spec_named
from billing_lib.model import lines_table_sql

REPORT_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".zip")

__all__ = [
    "FormatSpec",
    "ImportReport",
    "all_specs",
    "ensure_tables",
    "import_reports",
    "report_files",
    "spec_named",
]

IMPORTS_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS imports (
  file VARCHAR, format VARCHAR, checksum VARCHAR, rows BIGINT,
  charge_start TIMESTAMP, charge_end TIMESTAMP
)"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``lines`` and ``imports`` tables if they are not there yet."""
    con.execute(lines_table_sql("lines"))
    con.execute(IMPORTS_TABLE_SQL)


def report_files(folder: Path) -> list[Path]:
    """Vendor report files in ``folder`` (not recursive), in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such reports folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(REPORT_SUFFIXES))


def _check_not_imported(con: duckdb.DuckDBPyConnection, src: SourceFile, table: str,
                        earlier: list[str]) -> None:
    """Refuse a report whose content, or any of whose vendor line ids, was imported already
    (in an earlier run into this store, or earlier in the same batch)."""
    same = con.execute("SELECT file FROM imports WHERE checksum = ?", [src.checksum]).fetchone()
    if same:
        raise InputError(f"{src.name}: this report was already imported as {same[0]} (same content)")
    for other in ["lines", *earlier]:
        clash = con.execute(
            f"""SELECT n.x_SourceRow, n.x_VendorLineId, l.x_SourceFile, l.x_SourceRow
               FROM {table} n JOIN {other} l
                 ON n.x_Format = l.x_Format AND n.x_VendorLineId = l.x_VendorLineId
               ORDER BY n.x_SourceRow LIMIT 10"""
        ).fetchall()
        if clash:
            problems = [
                Problem(src.name, row, "x_VendorLineId", lid, f"a line not imported before (it is {f} row {r})")
                for row, lid, f, r in clash
            ]
            raise InputError(f"{src.name}: lines of this report were already imported from another file", problems)


def import_reports(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path | str],
    *,
    fmt: str | None = None,
    default_currency: str | None = None,
) -> list[ImportReport]:
    """Import every file in ``paths`` into ``lines``, all or nothing.

    Every file is staged and checked first (format, types, model rules, control totals, duplicates);
    only when all pass are their lines added, in one transaction. ``fmt`` forces a format instead of
    recognising it; ``default_currency`` is the billing currency of FOCUS files that carry no
    BillingCurrency column (the FOCUS specification's examples do not)."""
    ensure_tables(con)
    staged: list[str] = []
    reports: list[ImportReport] = []
    checksums: dict[str, str] = {}
    try:
        for path in (Path(p) for p in paths):
            with open_sources(path) as sources:
                for src in sources:
                    if src.checksum in checksums:
                        raise InputError(f"{src.name}: same content as {checksums[src.checksum]}, given twice")
                    checksums[src.checksum] = src.name
                    spec = spec_named(fmt) if fmt else detect_format(src)
                    report = stage_source(con, src, spec, default_currency)
                    table = f"__staged_{len(staged)}"
                    con.execute(f"ALTER TABLE __new RENAME TO {table}")
                    drop_staging(con)  # the raw copy is not needed any more: free its memory now
                    earlier = list(staged)
                    staged.append(table)  # dropped in ``finally`` even when the check fails
                    _check_not_imported(con, src, table, earlier)
                    reports.append(report)
        con.execute("BEGIN TRANSACTION")
        try:
            for table, report in zip(staged, reports):
                con.execute(f"INSERT INTO lines ({line_columns_sql()}) SELECT {line_columns_sql()} FROM {table}")
                con.execute(
                    f"INSERT INTO imports SELECT ?, ?, ?, ?, min(ChargePeriodStart), max(ChargePeriodEnd) FROM {table}",
                    [report.file, report.format, report.checksum, report.rows],
                )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        for table in staged:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        drop_staging(con)
    return reports
