"""The month billed again for ``billing reissue``: the period's reports imported, mapped and
rated once with the corrected parameters (``rate_again``, the run's own steps in a scratch
folder), and from those rated lines each customer's new invoice built and its files written
(``BilledAgain``: workbook, PDF, UBL, summary, data, sales entry and the cost moves)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb

from billing_lib.accounting_exports import conversion_of, write_package_journals
from billing_lib.billed_commitments import commitments_of
from billing_lib.documents import document_writer
from billing_lib.errors import RunError
from billing_lib.invoice_files import write_invoice_data, write_invoice_summary
from billing_lib.invoice_model import Invoice
from billing_lib.invoices import build_invoices
from billing_lib.journal_entries import NationalRate
from billing_lib.journal_files import write_beancount, write_csv_journal
from billing_lib.journal_readback import beancount_problems
from billing_lib.ledger import sales_entry
from billing_lib.moved_cost import moved_cost_entries
from billing_lib.numbering import RegisterEntry
from billing_lib.periods import month_days
from billing_lib.reissue_checks import nothing_to_bill
from billing_lib.run_files import (
    INVOICE_DATA,
    RATED_PARQUET,
    SUMMARY_CSV,
    journal_name,
    ledger_name,
)
from billing_lib.run_manifest import check_reports_as_read
from billing_lib.run_state import RunSettings
from billing_lib.sql import ql
from billing_lib.store import scratch_cursor
from billing_lib.whatif import MINIMUM_FEES_PARQUET, TERMS_PARQUET, write_minimum_fees, write_terms
from billing_lib.workbooks import INVOICE_FOLDER, write_workbooks


@dataclass(frozen=True)
class BilledAgain:
    """The period billed again for the customers to invoice anew: the parameters as loaded, their
    rated lines (``rated``, a Parquet file in the scratch folder), and where they came from; and
    the minimum fees in force and the customers' terms for the what-if (``minimum_fees``,
    ``terms``, Parquet in the scratch folder)."""

    settings: RunSettings
    rated: Path
    reports: Path
    parameters: Path
    minimum_fees: Path
    terms: Path
    #: the report files as the import read them, with sha256 (``checksums``)
    inputs: list[dict]
    #: the AWS delivery manifests the import checked the deliveries by (file, or a zip's member
    #: ``x.zip!member``, with sha256), as a run's manifest records them
    manifests: list[dict]
    #: (source, entry) of the commitments the new invoices bill
    #: (``billed_commitments.commitments_of``): compared with the other months' and recorded in
    #: each reissued invoice's manifest, as a run's ``commitments``
    commitments: tuple[tuple[str, dict], ...] = ()

    def invoice(self, entry: RegisterEntry, number: str, issued: date, note: str) -> Invoice:
        """The invoice ``number`` of ``entry``'s customer and period from its rated lines,
        replacing ``entry``; RunError when the customer has none."""
        customer, period = str(entry.customer_id), entry.period
        con = self._lines_of(customer)
        try:
            (lines,) = con.execute("SELECT count(*) FROM rated_lines").fetchone() or (0,)
            if not lines:
                raise nothing_to_bill(entry, self.parameters, self.reports, self.settings)
            [inv] = build_invoices(
                con,
                self.settings.customers,
                self.settings.invoicing,
                period,
                None,
                issued,
                numbers={customer: number},
                rates=self.settings.pricing.fx,
            )
        finally:
            con.close()
        # the invoice replaced by its number and issue date (BT-25, BT-26), as a credit note's
        replaced = date.fromisoformat(entry.issue_date) if entry.issue_date else None
        return replace(inv, refers_to=entry.invoice_number, refers_to_date=replaced, note=note)

    def write(
        self,
        folder: Path,
        inv: Invoice,
        booked: list[Path],
        booked_rates: dict[tuple[str, str], NationalRate],
    ) -> list[Path]:
        """Every file of ``inv`` into ``folder`` but the manifest: the customer's rated lines,
        minimum fees in force and terms (what the margin notebook's what-if recomputes the
        top-ups from and prices and rounds by, as a run folder's), workbook with usage sheets,
        PDF and UBL, summary row, data and sales entry (CSV journal, beancount, Xero,
        QuickBooks), with the entries that bring the cost the month's purchase entries booked
        for its vendor lines (``booked``: the rated lines of the run and of the invoices of the
        period reissued before it) to what it invoices (``moved_cost.moved_cost_entries``),
        stated in the national currency at the rates those purchase entries booked it at
        (``booked_rates``)."""
        invoicing = self.settings.invoicing
        rated = folder / RATED_PARQUET
        fees = folder / MINIMUM_FEES_PARQUET
        terms = folder / TERMS_PARQUET
        con = self._lines_of(inv.customer_id)
        try:
            con.execute(
                f"COPY (SELECT * FROM rated_lines ORDER BY source_file, source_row) TO "
                f"{ql(str(rated))} (FORMAT parquet)"
            )
            con.execute(
                f"COPY (SELECT * FROM read_parquet({ql(str(self.minimum_fees))}) "
                f"WHERE customer_id = {ql(inv.customer_id)}) TO {ql(str(fees))} (FORMAT parquet)"
            )
            con.execute(
                f"COPY (SELECT * FROM read_parquet({ql(str(self.terms))}) "
                f"WHERE customer_id = {ql(inv.customer_id)}) TO {ql(str(terms))} (FORMAT parquet)"
            )
            documents = document_writer(invoicing.seller, folder / INVOICE_FOLDER, invoicing.folder)
            files = write_workbooks(
                con, [inv], invoicing, folder, also=documents, rated=rated, summary=False
            )
        finally:
            con.close()
        fx = self.settings.pricing.fx
        sales = [
            sales_entry(inv, invoicing, fx),
            *moved_cost_entries(
                rated,
                booked,
                inv.customer_id,
                inv.period,
                invoicing,
                inv.issue_date,
                inv.number,
                fx,
                booked_rates,
            ),
        ]
        ledger = write_beancount(sales, invoicing, folder / ledger_name(inv.number))
        problems = beancount_problems(ledger)
        if problems:
            raise RunError(f"{ledger}: beancount refuses the invoice's ledger: {problems}")
        exports = self.settings.accounting_exports
        end = month_days(inv.period)[1]
        conversion = conversion_of(exports, end, fx, invoicing)
        return [
            *files,
            write_invoice_summary([inv], folder / SUMMARY_CSV),
            write_invoice_data([inv], invoicing.seller, folder / INVOICE_DATA),
            write_csv_journal(sales, invoicing, folder / journal_name(inv.number)),
            ledger,
            *write_package_journals(sales, invoicing, exports, folder, inv.number, conversion, fx),
            rated,
            fees,
            terms,
        ]

    def _lines_of(self, customer: str) -> duckdb.DuckDBPyConnection:
        """A connection (``store.scratch_cursor``, for the caller to close) whose
        ``rated_lines`` are ``customer``'s."""
        con = scratch_cursor()
        con.execute(
            f"CREATE TEMP VIEW rated_lines AS SELECT * FROM read_parquet({ql(str(self.rated))}) "
            f"WHERE customer_id = {ql(customer)}"
        )
        return con


def rate_again(
    scratch: Path,
    period: str,
    customers: list[str],
    reports: Path,
    parameters: Path,
    issued: date,
) -> BilledAgain:
    """The period's reports imported, mapped and rated with ``parameters`` once (the run's own
    steps, in ``scratch``), the rated lines of ``customers`` kept in ``scratch``."""
    from billing_lib.rating import release_target
    from billing_lib.run import BillingRun
    from billing_lib.run_parameters import check_parameters

    br = BillingRun(check_parameters(period, reports, parameters, scratch, False, issued))
    rated = scratch / RATED_PARQUET
    fees = scratch / MINIMUM_FEES_PARQUET
    terms = scratch / TERMS_PARQUET
    try:
        br.load_parameters()
        br.import_reports()
        # the reports as the import read them: what the manifest records, and what is compared
        # with the finalised run's (a report written into the folder meanwhile is refused)
        check_reports_as_read(br)
        inputs = [{"file": f, "sha256": d, "bytes": n} for f, d, n in br.params.report_digests]
        manifests = [{"file": f, "sha256": d} for f, d in br.params.delivery_manifests]
        br.map_customers()
        br.rate()
        commitments = tuple(commitments_of(br.con, br.params.reports, customers))
        br.con.execute(
            f"COPY (SELECT * FROM rated_lines WHERE period = {ql(period)} AND list_contains("
            f"[{', '.join(ql(c) for c in customers)}], customer_id) ORDER BY customer_id, "
            f"source_file, source_row) TO {ql(str(rated))} (FORMAT parquet)"
        )
        write_minimum_fees(br.con, period, fees)
        write_terms(br.con, period, terms)
    finally:
        if br.results.rating is not None and br.results.rating.rated_file is not None:
            release_target(br.results.rating.rated_file)
        br.con.close()
    return BilledAgain(
        br.settings, rated, reports, parameters, fees, terms, inputs, manifests, commitments
    )
