"""What a billing run shows once its steps ran (``RunViews``, the base of ``run.BillingRun``): the
conservation check, warnings, excluded and rated lines, summaries for the charts and the review.
Apart from the steps, which change the run, these only read its state (the review and the lines
per report are computed once and kept in ``RunResults``)."""

from __future__ import annotations

import os

import duckdb
import pandas as pd

from billing_lib import charts, numbering, review
from billing_lib.customer_sync import read_exports
from billing_lib.invoiced_shares import Invoiced, summary_sql
from billing_lib.pdf_fonts import font_warnings
from billing_lib.publishing import REGISTER
from billing_lib.review import Finding
from billing_lib.review.plan_changes import plans_digest
from billing_lib.run_files import RATED_PARQUET
from billing_lib.run_parameters import RunParameters
from billing_lib.run_state import RunResults, RunSettings, required
from billing_lib.store import frame
from billing_lib.ubl import ubl_unavailable


class RunViews:
    """The tables and lists a run shows the analyst (the notebook's cells, the manifest, the
    review); ``run.BillingRun`` holds the state declared here and adds the steps."""

    params: RunParameters
    con: duckdb.DuckDBPyConnection
    results: RunResults
    #: the parameters files as loaded by ``BillingRun.load_parameters``
    loaded: RunSettings | None

    @property
    def settings(self) -> RunSettings:
        """The parameters files of the run; the step ``load_parameters`` must have run."""
        return required(self.loaded, "load_parameters")

    def register(self) -> numbering.Register:
        """The invoice-number register (SQLite, beside the run folders: it outlives every run)."""
        if self.results.register is None:
            self.results.register = numbering.open_register(self.params.output / REGISTER)
        return self.results.register

    def conservation(self) -> pd.DataFrame:
        """Per vendor currency: the imported cost = rated + excluded + unmapped (vendor cost, to
        the last digit; rating stops the run when a difference is not 0)."""
        return required(self.results.rating, "rate").conservation_frame()

    def warnings(self) -> pd.DataFrame:
        """What the analyst should look at though the run went through: price-plan rules that
        matched no line this month, lines charged outside the period, invoices without a UBL
        e-invoice (``ubl.ubl_unavailable``) or whose PDF cannot draw a character
        (``pdf_fonts.missing_glyphs``) or prints right-to-left text reversed
        (``pdf_fonts.right_to_left``), files of the reports folder that were not read
        (``files_not_read``: a lock file, a vendor's PDF, a subfolder), rows a report's import
        listed (``ImportReport.warnings``: VMware points that are not units x points per unit)."""
        listed = [*self.results.parameters_not_read]
        listed += [f"reports folder: {name} not read: {why}" for name, why in self.results.not_read]
        # rows of a report imported as it says but worth a look (VMware points that are not
        # units x points per unit)
        listed += self.results.import_warnings
        listed += [
            w.replace(f"{self.params.parameters}{os.sep}", "")
            for w in required(self.results.rating, "rate").warnings
        ]
        # invoices whose amounts an EN 16931 e-invoice cannot state (three-decimal currencies)
        listed += [r for inv in self.results.invoices or [] if (r := ubl_unavailable(inv))]
        # characters the PDFs' font cannot draw (a name in Chinese, a product in Thai), and
        # right-to-left text it draws reversed (a name in Arabic, a product in Hebrew)
        if self.results.invoices:
            seller = self.settings.invoicing.seller
            missing, reversed_ = font_warnings(self.results.invoices, seller)
            listed += missing + reversed_
        return pd.DataFrame({"warning": listed})

    def excluded(self) -> pd.DataFrame:
        """Customer lines not billed, per reason and vendor currency (their cost stays with the
        reseller or is a vendor tax; conservation: rated + excluded + unmapped = imported)."""
        required(self.results.rating, "rate")
        return frame(
            self.con,
            """
            SELECT reason, x_Vendor AS vendor, BillingCurrency AS vendor_currency,
                   count(*) AS lines, sum(BilledCost) AS vendor_cost
            FROM excluded_lines GROUP BY ALL ORDER BY reason, vendor, vendor_currency""",
        )

    def rated(self) -> pd.DataFrame:
        """The rated lines as a DataFrame (exact Decimals), for questions on a small month."""
        required(self.results.rating, "rate")
        return frame(
            self.con,
            "SELECT * FROM rated_lines ORDER BY customer_id, vendor, source_file, source_row",
        )

    def summary(self, by: list[str]) -> pd.DataFrame:
        """Cost, revenue and margin of the rated lines per ``by`` (``charts.DIMENSIONS``) and
        currency, summed in DuckDB (the charts' input without the month's lines in pandas), as
        the invoices state them: each invoice line (the customer's line_grouping) rounded once
        and shared among its vendors, products and services (``invoiced_shares``, as the margin
        notebook's ``analysis.load_summary``), so a customer's revenue and cost are its
        invoice's net and cost and a vendor's cost (in the invoice currency) the journal's cost
        of sales. Summed unrounded, C002's point read 5701.30 under an invoice of 5701.29."""
        required(self.results.rating, "rate")
        groupings = {cid: tuple(c.line_grouping) for cid, c in self.settings.customers.items()}
        shares = summary_sql([Invoiced("rated_lines", "run", groupings)])
        return charts.summarise_table(self.con, f"({shares})", by, self._names(), summed=True)

    def report_lines(self) -> list[review.ReportLines]:
        """The imported lines per report file and billing account, counted once (the manifest
        records them per billing account; the review reads them)."""
        required(self.results.control_totals, "import_reports")
        if self.results.report_lines is None:
            self.results.report_lines = review.report_lines(self.con)
        return self.results.report_lines

    def review(self) -> pd.DataFrame:
        """What needs a human look before finalising, one row per finding with the lines behind it
        (billing_lib/review.py); information only, the invoices stay as rated."""
        return review.findings_frame(self.review_findings())

    def review_findings(self) -> list[Finding]:
        """The review's findings, computed once (the manifest and the notebook show the same)."""
        if self.results.review is None:
            exports = read_exports(self.params.reports, None)
            facts = review.RunFacts(
                con=self.con,
                output=self.params.output,
                period=self.params.period,
                settings=self.settings.review,
                plans=self.settings.pricing.plans,
                control_totals=required(self.results.control_totals, "import_reports"),
                invoice_totals=required(self.results.invoice_totals, "build_invoices"),
                confirmed_jumps=self.results.confirmed_jumps or [],
                subscriptions=exports.subscriptions if exports is not None else [],
                warnings=list(self.warnings()["warning"]),
                rated_file=RATED_PARQUET,
                rates=self.settings.pricing.fx,
                custom_lines=self.settings.pricing.custom_lines,
                report_lines=self.report_lines(),
                numbering=self.results.numbering,
                register=self.register().entries(),
                invoices=self.results.invoices,
                customers=self.settings.customers,
                assignments=self.settings.pricing.assignments,
                account_mappings=self.settings.account_mappings,
                parameters=self.params.parameters,
                plans_sha256=plans_digest(self.results.parameter_files),
            )
            self.results.review = review.run_findings(facts)
        return self.results.review

    def _names(self) -> dict[str, str]:
        """Customer id -> name (customers.yaml), so tables read "C001 Dijkstra Architecten B.V."."""
        return {cid: c.name for cid, c in (self.loaded.customers if self.loaded else {}).items()}

    def _shown(self, file: str) -> str:
        """A report's name relative to the reports folder (stable across machines)."""
        return file.removeprefix(f"{self.params.reports}{os.sep}")
