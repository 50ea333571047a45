"""Vendor report importers: recognise a file's format from its header and read it into the model.

One YAML specification per format lives in ``formats/``; ``engine`` applies it. ``import_reports``
is all-or-nothing: either every file lands with balanced control totals, or none does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from billing_lib.errors import InputError
from billing_lib.importers.amounts import install_amount_macros
from billing_lib.importers.checks import check_has_rows, check_in_period, check_signs
from billing_lib.importers.commitment_views import check_commitments_in_one_view
from billing_lib.importers.contract import use_vendor_prices
from billing_lib.importers.deliveries import check_one_delivery
from billing_lib.importers.duplicates import (
    ROW_HASH,
    check_not_imported,
    check_repeated_rows,
    row_hash_sql,
)
from billing_lib.importers.engine import (
    FILE_RELATIONS,
    disabled_optimizers,
    drop_staging,
    next_rowid,
    restore_optimizers,
    stage_source,
    unreadable_parquet,
)
from billing_lib.importers.export_parts import ExportParts
from billing_lib.importers.line_content import (
    check_rows_not_imported,
    content_key,
    remember_rows,
)
from billing_lib.importers.manifests import Manifest, check_manifests, manifests_of
from billing_lib.importers.optional_key_parts import check_optional_key_parts
from billing_lib.importers.purchase_sources import check_purchases_from_one_source
from billing_lib.importers.reader import SourceFile, open_sources
from billing_lib.importers.report import ImportReport
from billing_lib.importers.report_names import (
    files_not_read,
    is_manifest,
    manifest_files,
    report_files,
)
from billing_lib.importers.source_checks import detect_format, reads_invoice_ids
from billing_lib.importers.spec import FormatSpec, all_specs, spec_named
from billing_lib.importers.usage_sources import check_usage_from_one_format
from billing_lib.periods import month_days
from billing_lib.store import ensure_tables
from billing_lib.vendor_prices import VendorPrices

if TYPE_CHECKING:  # imported where a frame is built: `billing run` checks reports without it
    import pandas as pd

    from billing_lib.customers import AccountMapping

__all__ = [
    "FormatSpec",
    "ImportReport",
    "all_specs",
    "import_reports",
    "files_not_read",
    "forget_imports",
    "manifest_files",
    "report_files",
    "spec_named",
]


def reports_size(folder: Path) -> int:
    """The bytes of the vendor report files in ``folder`` (0 if it cannot be listed: the import
    names the problem)."""
    try:
        return files_size(report_files(folder))
    except InputError:
        return 0


def files_size(paths: Iterable[Path | str]) -> int:
    """The bytes of the files ``paths`` (one that cannot be read counts 0: the import names it)."""
    total = 0
    for path in paths:
        with suppress(OSError):
            total += Path(path).stat().st_size
    return total


def import_reports(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path | str],
    *,
    fmt: str | None = None,
    default_currency: str | None = None,
    vendor_prices: VendorPrices | None = None,
    period: str | None = None,
    accounts: Sequence[AccountMapping] | None = None,
    manifests_read: list[Manifest] | None = None,
) -> list[ImportReport]:
    """Import every file in ``paths`` into ``lines``, all or nothing.

    Every file is checked (format, types, model rules, control totals, duplicates), and then the
    lines of each format against the same usage given with and without a column that tells its
    lines apart (optional_key_parts: VMware's Usage Meter), the month's usage of each vendor
    account against coming from two report formats
    (usage_sources) and each Microsoft purchase against coming from both the invoice file and an
    Azure cost export (purchase_sources), and each Microsoft reservation or savings plan against
    being billed both as bought and as amortized cost (commitment_views), inside one
    transaction that is committed only when all pass and rolled back at the first problem, so
    the store is left as it was. Each file's lines go into ``lines`` once, checked there, instead
    of being staged in a table of their own and copied (a copy of 10 million lines costs tens of
    seconds). ``fmt`` forces a format instead of recognising it; ``default_currency`` is the
    billing currency of FOCUS files that carry no BillingCurrency column (the FOCUS
    specification's examples do not). ``vendor_prices`` (``parameters/vendor_prices.yaml``)
    prices the reports that carry usage but no money (VMware); ``period`` is the month of such a
    report that names none itself. A report none of whose lines is charged in ``period``, or
    most of whose charges are outside it, is refused (checks.check_in_period); a ``period``
    that is no ``YYYY-MM`` month before any file is read (it names the contract's prices of a
    report naming no month). ``accounts`` (``accounts.csv``) tell the customer of an Azure
    subscription, for a purchase both files bill (purchase_sources) and for Azure usage in both
    the invoice file and a FOCUS or EA/MCA export (usage_sources). ``manifests_read``, when
    given, receives the AWS delivery manifests the import checked the deliveries by (a
    ``-Manifest.json`` among ``paths`` or in a zip of them), as read (with their sha256), once
    the import is committed."""
    if period is not None:
        month_days(period, "period")
    ensure_tables(con)
    use_vendor_prices(con, vendor_prices)
    install_amount_macros(con)  # outside the transaction: a rolled-back one would take them
    reports: list[ImportReport] = []
    checksums: dict[str, str] = {}
    parts = ExportParts()
    manifests: list[Manifest] = []
    optimizers = disabled_optimizers(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for path in (Path(p) for p in paths):
            manifests += manifests_of(path)
            if is_manifest(path.name):
                continue  # a delivery's manifest: checked below, never read as a report
            with open_sources(path) as sources:
                for src in sources:
                    if src.checksum in checksums:
                        raise InputError(
                            f"{src.name}: same content as {checksums[src.checksum]}, given twice"
                        )
                    checksums[src.checksum] = src.name
                    reports.append(_import_source(con, src, fmt, default_currency, period, parts))
        check_manifests(con, manifests, {r.file: r.rows for r in reports})
        check_one_delivery(con)
        check_optional_key_parts(con)
        check_usage_from_one_format(con, accounts)
        check_purchases_from_one_source(con, accounts)
        check_commitments_in_one_view(con)
        con.execute("COMMIT")
        if manifests_read is not None:
            manifests_read.extend(manifests)
    except BaseException:
        rollback(con)
        restore_optimizers(con, optimizers)  # left as the failed insert had it (engine)
        raise
    finally:
        drop_staging(con)
    return reports


def forget_imports(con: duckdb.DuckDBPyConnection) -> None:
    """Empty the store of imported reports (``lines``, ``imports``, ``imported_rows``), in one
    transaction: a run imports its reports again from the start (a notebook cell run again after
    a report was replaced), and a report it imported before is not a duplicate of itself."""
    ensure_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("lines", "imports", "imported_rows"):
            con.execute(f"DELETE FROM {table}")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the transaction, if DuckDB has not ended it already: a COMMIT that failed (its write
    of the store: a full disk) ends it, and a ROLLBACK's error then would hide the COMMIT's."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException as exc:
        if "no transaction is active" not in str(exc):
            raise


def _import_source(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    fmt: str | None,
    default_currency: str | None,
    period: str | None,
    parts: ExportParts | None = None,
) -> ImportReport:
    """One table of a report into ``lines`` inside ``import_reports``' transaction, checked. A
    Parquet file whose data DuckDB cannot read (a damaged page, cut short) is an InputError
    naming it; the footer alone was read when the file was recognised. ``parts``: the import's
    parts of exports so far, whose other parts a part is not compared with (export_parts)."""
    try:
        spec = spec_named(fmt) if fmt else detect_format(src)
        start = next_rowid(con, "lines")
        row_hash = row_hash_sql(src, spec)
        extra = {ROW_HASH: row_hash} if row_hash else None
        report, facts = stage_source(
            con,
            src,
            spec,
            default_currency,
            into="lines",
            period=period,
            extra_raw=extra,
            start=start,
        )
        check_has_rows(src, spec, report.rows)
        check_repeated_rows(con, src, spec)
        remember_rows(con, src, spec, start, facts.without_line_id)
        content = content_key(con, spec, start)
        # the raw copy is not needed any more: free its memory now
        drop_staging(con, *FILE_RELATIONS)
        check_not_imported(con, src, spec, start, content, report.rows)
        same_export = parts.earlier_parts(src, spec) if parts else ()
        check_rows_not_imported(
            con, src, spec, start, report.rows, facts.without_line_id, same_export
        )
        if period is not None:
            check_in_period(con, src, spec, period, facts)
        check_signs(con, src, spec, facts)
        con.execute(
            "INSERT INTO imports (file, format, checksum, rows, charge_start, charge_end, "
            "content, invoice_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                report.file,
                report.format,
                report.checksum,
                report.rows,
                facts.first_start,
                facts.last_end,
                content,
                reads_invoice_ids(spec, src.header),
            ],
        )
        return report
    except duckdb.Error as exc:
        if unreadable_parquet(src, exc):
            first = str(exc).splitlines()[0]
            raise InputError(
                f"{src.name}: the Parquet file's data cannot be read as its footer describes it "
                f"(damaged or cut short; download it again): {first}"
            ) from exc
        raise


def charged_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The months (``YYYY-MM``) the imported lines are charged in, in order."""
    rows = con.execute(
        "SELECT DISTINCT strftime(ChargePeriodStart, '%Y-%m') FROM lines ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def control_totals_frame(
    reports: list[ImportReport], shown: Callable[[str], str] = str
) -> pd.DataFrame:
    """The control totals per report and currency (rows and cost as read and as imported, which
    must be equal) as the run shows them; ``shown`` names a report's file."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "file": shown(rep.file),
                "format": rep.format,
                "currency": c.currency,
                "rows_read": c.rows_before,
                "lines": c.rows_after,
                "cost_read": c.cost_before,
                "cost_imported": c.cost_after,
                "balanced": c.balanced,
            }
            for rep in reports
            for c in rep.currencies
        ]
    )
