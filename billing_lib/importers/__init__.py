"""Vendor report importers: recognise a file's format from its header and read it into the model.

One YAML specification per format lives in ``formats/``; ``engine`` applies it. ``import_reports``
is all-or-nothing: either every file lands with balanced control totals, or none does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.contract import use_vendor_prices
from billing_lib.importers.engine import (
    ImportReport,
    detect_format,
    drop_staging,
    next_rowid,
    stage_source,
)
from billing_lib.importers.reader import SourceFile, open_sources
from billing_lib.importers.spec import FormatSpec, all_specs, spec_named
from billing_lib.model import lines_table_sql
from billing_lib.vendor_prices import VendorPrices

REPORT_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".zip")

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
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(REPORT_SUFFIXES)
    )


def _check_not_imported(con: duckdb.DuckDBPyConnection, src: SourceFile, start: int) -> None:
    """Refuse a report whose content, or any of whose vendor line ids, was imported already
    (in an earlier run into this store, or earlier in the same batch). ``__new`` is the report's
    lines, the rows of ``lines`` from rowid ``start`` on; the rows before it are the earlier ones."""
    same = con.execute("SELECT file FROM imports WHERE checksum = ?", [src.checksum]).fetchone()
    if same:
        raise InputError(
            f"{src.name}: this report was already imported as {same[0]} (same content)"
        )
    if not con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM lines WHERE rowid < {int(start)} LIMIT 1)"
    ).fetchone()[0]:
        return  # nothing imported before it: no join over all its lines
    clash = con.execute(
        f"""SELECT n.x_SourceRow, n.x_VendorLineId, l.x_SourceFile, l.x_SourceRow
           FROM __new n JOIN (SELECT x_Format, x_VendorLineId, x_SourceFile, x_SourceRow FROM lines
                              WHERE rowid < {int(start)}) l
             ON n.x_Format = l.x_Format AND n.x_VendorLineId = l.x_VendorLineId
           ORDER BY n.x_SourceRow LIMIT 10"""
    ).fetchall()
    if clash:
        problems = [
            Problem(
                src.name,
                row,
                "x_VendorLineId",
                lid,
                f"a line not imported before (it is {f} row {r})",
            )
            for row, lid, f, r in clash
        ]
        raise InputError(
            f"{src.name}: lines of this report were already imported from another file", problems
        )


def import_reports(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path | str],
    *,
    fmt: str | None = None,
    default_currency: str | None = None,
    vendor_prices: VendorPrices | None = None,
    period: str | None = None,
) -> list[ImportReport]:
    """Import every file in ``paths`` into ``lines``, all or nothing.

    Every file is checked (format, types, model rules, control totals, duplicates) inside one
    transaction that is committed only when all pass and rolled back at the first problem, so
    the store is left as it was. Each file's lines go into ``lines`` once, checked there, instead
    of being staged in a table of their own and copied (a copy of 10 million lines costs tens of
    seconds). ``fmt`` forces a format instead of recognising it; ``default_currency`` is the
    billing currency of FOCUS files that carry no BillingCurrency column (the FOCUS
    specification's examples do not). ``vendor_prices`` (``parameters/vendor_prices.yaml``)
    prices the reports that carry usage but no money (VMware); ``period`` is the month of such a
    report that names none itself."""
    ensure_tables(con)
    use_vendor_prices(con, vendor_prices)
    reports: list[ImportReport] = []
    checksums: dict[str, str] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for path in (Path(p) for p in paths):
            with open_sources(path) as sources:
                for src in sources:
                    if src.checksum in checksums:
                        raise InputError(
                            f"{src.name}: same content as {checksums[src.checksum]}, given twice"
                        )
                    checksums[src.checksum] = src.name
                    spec = spec_named(fmt) if fmt else detect_format(src)
                    start = next_rowid(con, "lines")
                    report = stage_source(
                        con, src, spec, default_currency, into="lines", period=period
                    )
                    # the raw copy is not needed any more: free its memory now
                    drop_staging(con, "__typed", "__numbered", "__raw", "__blanks")
                    _check_not_imported(con, src, start)
                    con.execute(
                        "INSERT INTO imports SELECT ?, ?, ?, ?, min(ChargePeriodStart), max(ChargePeriodEnd) FROM __new",
                        [report.file, report.format, report.checksum, report.rows],
                    )
                    reports.append(report)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        drop_staging(con)
    return reports
