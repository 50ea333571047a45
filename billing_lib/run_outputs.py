"""The hand-over from a billing run to the invoicing stages (invoices, workbooks, documents,
ledger, accounting exports): the invoice files and the ledger a run writes into its staging
folder, kept together so the hand-over points are in one place."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from billing_lib import accounting_exports, invoices, journal_entries, ledger, workbooks
from billing_lib.documents import document_writer
from billing_lib.periods import month_days
from billing_lib.run_files import SUMMARY_CSV

if TYPE_CHECKING:
    from billing_lib.run import BillingRun


def write_invoice_files(folder: Path, br: BillingRun, rated: Path) -> list[Path]:
    """Invoice workbooks, PDFs and UBL e-invoices, the summary workbook, the invoices as data
    (``invoices.json``, what ``billing credit-note`` rebuilds a finalised invoice from) and the
    ledger files; the paths written. ``rated``: the run's rated lines as Parquet, already
    written."""
    built = br.results.invoices
    invoicing = br.settings.invoicing
    written = [folder / SUMMARY_CSV]
    documents = document_writer(
        invoicing.seller, folder / workbooks.INVOICE_FOLDER, invoicing.folder
    )
    written += workbooks.write_workbooks(
        br.con,
        built,
        invoicing,
        folder,
        also=documents,
        rated=rated,
        rates=br.settings.pricing.fx,
        period=br.params.period,
    )
    if built:
        written.append(
            invoices.write_invoice_data(built, invoicing.seller, folder / invoices.INVOICE_DATA)
        )

    def packages(entries: list[journal_entries.Entry], name: str) -> list[Path]:
        settings = br.settings.accounting_exports
        period_end = month_days(br.params.period)[1]
        conversion = accounting_exports.conversion_of(
            settings, period_end, br.settings.pricing.fx, invoicing
        )
        return accounting_exports.write_package_journals(
            entries, invoicing, settings, folder, name, conversion, br.settings.pricing.fx
        )

    written += ledger.write_ledger(
        br.con, built, invoicing, folder, packages, br.params.period, br.settings.pricing.fx
    )
    return [Path(p) for p in written]
