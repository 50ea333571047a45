"""One billing run, as the steps ``notebooks/billing_run.ipynb`` shows one by one and
``billing run`` executes through papermill.

Steps: check the run's parameters -> load the parameters files -> import the vendor reports with
control totals -> map lines to customers (unmapped report) -> rate -> build invoices -> write the
workbooks, ledger files, ``invoice_summary.csv`` and ``rated_lines.parquet`` -> write the
manifest -> publish.

Publishing is atomic: every file is written into a hidden staging folder next to
``<output>/<period>/`` and swapped in (two renames on one file system) only when the whole run
succeeded. A failed run removes its staging folder and leaves the earlier run as it was; a run
folder holding a ``FINALISED`` marker is never replaced.

A run holds the lock of its outputs folder from ``start`` to ``publish`` (``billing_lib.locking``;
the process ending frees it): a second run on the folder is refused. Its invoice numbers are
planned when the invoices are built and recorded in the register only when the run is published
(``billing_lib.numbering``), so a failed or killed run leaves the numbers as they were.

What the steps load and produce is typed state (``billing_lib.run_state``); what the notebook
shows is formatted by ``billing_lib.display``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from billing_lib import invoices, rating, review, whatif
from billing_lib.account_matching import SUBSCRIPTION_TENANTS_SQL
from billing_lib.billed_commitments import check_commitments_not_billed_elsewhere
from billing_lib.billed_lines import check_lines_not_billed_elsewhere
from billing_lib.billed_reports import check_invoices_not_billed
from billing_lib.customer_files import finish_apply
from billing_lib.customer_sync import add_suggestions
from billing_lib.customers import UNMAPPED_SQL, assign_customers, register_account_map
from billing_lib.display import shown
from billing_lib.errors import InputError, ParameterError, RunError
from billing_lib.faults import pause_point
from billing_lib.importers import (
    charged_months,
    control_totals_frame,
    files_not_read,
    forget_imports,
    import_reports,
    manifest_files,
    report_files,
    reports_size,
)
from billing_lib.importers.manifests import Manifest
from billing_lib.locking import OutputLock, check_held_for
from billing_lib.notebook_parameters import check_injected, check_unchanged, parameter_values
from billing_lib.periods import month_days
from billing_lib.publishing import (
    MANIFEST,
    checksums,
    discard,
    new_staging,
    publish,
    writing,
)
from billing_lib.recovery import open_output
from billing_lib.run_files import RATED_PARQUET, SUMMARY_CSV, link_or_copy
from billing_lib.run_manifest import (
    manifest_record,
    reports_as_found,
    row_counts,
    write_manifest,
)
from billing_lib.run_outputs import write_invoice_files
from billing_lib.run_parameters import (
    NOTEBOOK_PARAMETERS,
    RUN_PARAMETER_NAMES,
    RunParameters,
    changed_since_checked,
    check_parameters,
    check_staging,
    customer_list,
)
from billing_lib.run_readback import journal_balance, read_invoice_summary
from billing_lib.run_state import (
    STEPS,
    RunResults,
    RunSettings,
    load_settings,
    parameters_not_read,
    required,
    step_index,
)
from billing_lib.run_views import RunViews
from billing_lib.store import frame, open_run_store, store_location
from billing_lib.vendor_prices import load_vendor_prices


@dataclass
class BillingRun(RunViews):
    """State of one run as the notebook walks through it; each method is one step (what it shows
    between the steps: ``RunViews``)."""

    params: RunParameters
    staging: Path | None = None
    #: True when this object created the staging folder and so publishes it itself; False when the
    #: caller (``billing run``) gave one and publishes after adding the executed notebook.
    owns_staging: bool = True
    #: the lock of the outputs folder this run holds (None under `billing run`, which holds it)
    lock: OutputLock | None = None
    #: this run's id: in the lock file, the manifest and the register while publishing
    run_id: str = field(default_factory=lambda: secrets.token_hex(8))
    #: what the run cleaned up from killed runs before it started (one line each)
    cleaned: list[str] = field(default_factory=list)
    #: the run's store; None: ``store.open_run_store`` for the size of the run's reports
    con: duckdb.DuckDBPyConnection = None  # type: ignore[assignment]
    imports: list = field(default_factory=list)
    results: RunResults = field(default_factory=RunResults)
    #: customers whose move by an order of magnitude against the previous finalised month is
    #: confirmed (``billing run --confirm-jump``, notebook parameter ``confirm_jumps``)
    confirm_jumps: tuple[str, ...] = ()
    #: the parameters files as loaded by ``load_parameters`` (``settings`` before it: RunError)
    loaded: RunSettings | None = None
    #: the run folder ``publish`` published (None: not yet); the run is over then
    published: Path | None = None
    #: the notebook's parameters as its variables held them when the run started
    #: (``notebook_parameters.parameter_values``; empty outside a kernel)
    notebook_values: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.con is None:
            self.con = open_run_store(reports_size(self.params.reports))

    # -- steps ---------------------------------------------------------------------------------

    def import_reports(self) -> pd.DataFrame:
        """Import every vendor report, all or nothing; the control totals per report and currency
        (rows and cost as read and after normalisation, which must be equal). Also checks that the
        reports cover the run's period: each report has lines charged in it, and most of its
        charges (a report of another month is refused, importers.checks.check_in_period). Run
        again, it imports the reports afresh (the earlier import's lines are removed first)."""
        self._begin("import_reports")
        # what the manifest's sha256 must be of: a report changed while the run reads it is
        # refused before the run is published (run_manifest.check_reports_as_read)
        self.results.reports_read = reports_as_found(self.params.reports)
        manifests: list[Manifest] = []
        with writing(store_location(self.con)):  # a full disk under the store names its file
            if self.imports:  # imported before in this run (a cell run again): start afresh
                self.imports = []
                forget_imports(self.con)
            self.imports = import_reports(
                self.con,
                # with the deliveries' manifests, which check that each is given whole
                [*report_files(self.params.reports), *manifest_files(self.params.reports)],
                vendor_prices=self.loaded.vendor_prices
                if self.loaded
                else load_vendor_prices(self.params.parameters),
                period=self.params.period,
                default_currency=self.params.currency,
                accounts=self.loaded.account_mappings if self.loaded else None,
                manifests_read=manifests,
            )
        changed = changed_since_checked(
            self.params,
            [(report.file, report.checksum) for report in self.imports],
            [(m.name, m.sha256) for m in manifests],
        )
        if changed:
            forget_imports(self.con)
            self.imports = []
            raise InputError(
                f"{changed}; nothing was imported: start again (the notebook from its "
                "parameters cell, or the command) once the folder holds the reports to bill, so "
                "that they are checked as they are (a sync or a download still under way?)"
            )
        self.results.not_read = files_not_read(self.params.reports)
        self.results.import_warnings = [
            f"{self._shown(r.file)}, {w}" for r in self.imports for w in r.warnings
        ]
        # a report of a vendor invoice an earlier month billed, its bytes changed since
        check_invoices_not_billed(
            self.con, self.params.output, self.params.period, self.params.reports
        )
        covered = charged_months(self.con)
        if self.params.period not in covered:
            raise ParameterError(
                NOTEBOOK_PARAMETERS,
                "period",
                f"no report in {self.params.reports} covers {self.params.period}; "
                f"their lines are charged in {covered or 'no month'}",
            )
        control = control_totals_frame(self.imports, self._shown)
        self.results.control_totals = control
        return control

    def load_parameters(self) -> pd.DataFrame:
        """Load and validate every parameters file before any report is read (customers, account
        mapping, price plans, exchange rates, seller, VAT rules, products); a table of the files
        with their checksums."""
        self._begin("load_parameters")
        self.loaded = None  # parameters that fail to load leave none of the earlier ones in use
        folder = self.params.parameters
        self.loaded = load_settings(folder, month_days(self.params.period)[0])
        self.results.parameters_not_read = parameters_not_read(folder, self.loaded)
        files = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
        self.results.parameter_files = pd.DataFrame(checksums(files, folder))
        listed = self.results.parameter_files.copy()
        listed["sha256"] = listed["sha256"].str[:16]
        return listed

    def map_customers(self) -> pd.DataFrame:
        """Assign every line to a customer by vendor account and charge date; the unmapped accounts
        (kept, reported, on no invoice)."""
        required(self.results.control_totals, "import_reports")
        self._begin("map_customers")
        with writing(store_location(self.con)):
            register_account_map(self.con, self.settings.account_mappings)
            assign_customers(self.con)
        unmapped = frame(self.con, UNMAPPED_SQL)
        unmapped["files"] = unmapped["files"].map(
            lambda f: ", ".join(self._shown(x) for x in f.split(", "))
        )
        # the exact accounts.csv line to add per account and the customer it would match; a
        # Microsoft subscription by its tenant's customer first (the lines scanned for the
        # tenants only when a Microsoft account is unmapped)
        tenants = (
            dict(self.con.execute(SUBSCRIPTION_TENANTS_SQL).fetchall())
            if unmapped["vendor"].eq("microsoft").any()
            else None
        )
        add_suggestions(
            unmapped,
            self.params.period,
            self.settings.customers,
            self.settings.account_mappings,
            self.params.reports,
            self.params.output,
            tenants,
        )
        self.results.unmapped = unmapped
        return unmapped

    def rate(self) -> pd.DataFrame:
        """Price every customer line of the period by the plans (rated_lines, a view over the
        rated_lines.parquet the run publishes; tables excluded_lines, unmapped_lines); the rated
        lines summarised per customer, vendor and currency."""
        required(self.results.unmapped, "map_customers")
        self._begin("rate")  # run again (a notebook cell): the earlier rating's file removed
        target = rating.temporary_target()  # rated_lines.parquet, published by write_outputs
        with writing(target):  # a full disk or a file-size limit names the file
            self.results.rating = rating.rate_lines(
                self.con,
                self.settings.pricing,
                self.settings.customers,
                self.params.period,
                target,
            )
            # a line an export of another month holds too (a range ending on the 1st inclusive)
            check_lines_not_billed_elsewhere(
                self.con, self.params.output, self.params.period, self.params.reports
            )
            # a commitment paid up front in one month and amortised in another; the months
            # stated checked that it was let through beside uncompared, for the manifest
            self.results.commitments_waived = check_commitments_not_billed_elsewhere(
                self.con,
                self.params.output,
                self.params.period,
                self.params.reports,
                self.settings.review.commitments_checked,
            )
        summary = frame(
            self.con,
            """
            SELECT customer_id, vendor, currency, count(*) AS lines,
                   sum(cost) AS cost, sum(amount) AS revenue, sum(amount) - sum(cost) AS margin
            FROM rated_lines GROUP BY ALL ORDER BY customer_id, vendor, currency""",
        )
        summary.insert(1, "customer_name", summary["customer_id"].map(self._names()))
        self.results.rated_summary = summary
        return summary

    def build_invoices(self) -> pd.DataFrame:
        """One invoice per customer with rated lines, numbered from the register (a rerun of an
        unfinalised period keeps its numbers); writes ``invoice_summary.csv`` into the staging
        folder and returns its rows: the totals as on the invoices. The invoices are built first
        unnumbered (``invoices.draft_invoices``, one pass over the month's lines), so that the
        jump check judges the nets they state before the register is opened or a staging folder
        made; numbering them recomputes no figure."""
        required(self.results.rating, "rate")
        self._begin("build_invoices")
        drafts = invoices.draft_invoices(
            self.con,
            self.settings.customers,
            self.settings.invoicing,
            self.params.period,
            self.params.issue_date,
            rates=self.settings.pricing.fx,
        )
        self.results.confirmed_jumps = self._check_jumps(drafts)
        folder = self._staging()
        with self._cleanup_on_failure():
            if self.lock is not None:
                self.lock.check()
            # what the register records when the run is published (the numbers printed above)
            self.results.numbering = self.register().plan(
                invoices.invoice_series(self.settings.invoicing, self.params.period),
                self.params.period,
                [i.customer_id for i in drafts],
                self.params.issue_date,
            )
            built = invoices.numbered(drafts, self.results.numbering.numbers)
            self.results.invoices = built
            pause_point("numbers-planned")
            summary = invoices.write_invoice_summary(built, folder / SUMMARY_CSV)
        totals = read_invoice_summary(summary, self.con)
        totals.insert(1, "customer_name", totals["customer_id"].map(self._names()))
        self.results.invoice_totals = totals
        return totals

    def write_outputs(self) -> pd.DataFrame:
        """Write the invoice workbooks, the summary workbook, ``invoice_summary.csv``, the ledger
        files and the rated lines (Parquet, for margin analysis) into the staging folder; the files
        written, relative to the run folder."""
        required(self.results.invoice_totals, "build_invoices")
        self._begin("write_outputs")
        folder = self._staging()
        with self._cleanup_on_failure():
            # the file the rating wrote (rated_lines is a view over it), linked or copied; first,
            # since the workbooks' processes read their shares of the rated lines from it
            rated = required(required(self.results.rating, "rate").rated_file, "rate")
            parquet = link_or_copy(rated, folder / RATED_PARQUET)
            written = [*write_invoice_files(folder, self, parquet), parquet]
            written.append(
                whatif.write_minimum_fees(
                    self.con, self.params.period, folder / whatif.MINIMUM_FEES_PARQUET
                )
            )
            written.append(
                whatif.write_terms(self.con, self.params.period, folder / whatif.TERMS_PARQUET)
            )
        listing = pd.DataFrame({"file": sorted(str(p.relative_to(folder)) for p in written)})
        self.results.files = listing
        return listing

    def ledger_balance(self) -> pd.DataFrame:
        """Debit and credit totals per currency of the journal written, the difference (0), and the
        invoices' gross total it must carry as receivables."""
        required(self.results.files, "write_outputs")
        self._begin("ledger_balance")
        balance = journal_balance(
            self._staging(), required(self.results.invoice_totals, "build_invoices"), self.con
        )
        self.results.ledger_balance = balance
        return balance

    def write_manifest(self) -> pd.DataFrame:
        """Write ``manifest.json``: what went in (reports and parameters files with sha256), with
        which software, and what came out (counts, control totals, per-customer totals, ledger
        balance). Returns the counts and totals as a table for the notebook."""
        self._check_not_published()
        self._check_parameters_cell()
        required(self.results.files, "write_outputs")
        folder = self._staging()
        with self._cleanup_on_failure():
            counts = row_counts(self.con) | {"invoices": len(self.results.invoices)}
            write_manifest(folder, manifest_record(self, folder, counts))
        return pd.DataFrame({"count": list(counts), "value": [str(v) for v in counts.values()]})

    def publish(self) -> str:
        """Publish the staged run as ``<output>/<period>/`` (and finalise it if asked); when
        ``billing run`` gave the staging folder it publishes after adding the executed notebook."""
        if self.published is not None:  # the cell run again: the run is over, as published
            return f"{self.params.period} is published already by this run: {shown(self.published)}"
        self._check_parameters_cell()
        folder = self._staging()
        if not self.owns_staging:
            return (
                f"staged for {self.params.period}; `billing run` publishes it with the executed "
                f"notebook into {shown(self.params.run_folder)}"
            )
        with self._cleanup_on_failure():
            target = publish(folder, self.params.output, self.params.period, self.lock)
        self.published = target
        if self.lock is not None:
            self.lock.release()  # the run is over
        return f"published {self.params.period}: {shown(target)}" + (
            " (finalised)" if self.params.finalise else ""
        )

    # -- helpers -------------------------------------------------------------------------------

    def _check_jumps(self, drafts: list[invoices.Invoice]) -> list[str]:
        """Refuse (before invoice numbers are taken) a customer's month whose invoice (``drafts``,
        not numbered yet) moved by an order of magnitude against the previous finalised month,
        unless confirmed."""
        previous = review.previous_period(self.params.output, self.params.period)
        return review.month_jumps(
            review.invoice_nets(drafts),
            review.previous_net(self.params.output, previous),
            previous,
            self.settings.review.jump_factor,
            self.confirm_jumps,
        )

    def _staging(self) -> Path:
        if self.staging is None:
            self.staging = new_staging(self.params.output, self.params.period)
        return self.staging

    def _begin(self, step: str) -> None:
        """Before ``step`` runs (again: a notebook cell, after a parameters file or a report was
        changed): void what it and the steps after it produced (``RunResults.void_from``), so
        that none of it is shown, written or published with the new results, nor left if the
        step fails. The rated lines' view and file go when the rating is voided, and the files
        staged by ``write_outputs`` and ``write_manifest`` when the outputs are: a run never
        publishes an earlier pass's invoice beside the new ones (publish needs the manifest,
        written again only after them)."""
        self._check_not_published()
        self._check_parameters_cell()
        voided = {name for _, produced in STEPS[step_index(step) :] for name in produced}
        if "files" in voided:
            self._unstage()
        if "rating" in voided and self.results.rating is not None:
            rating.drop_rated_lines(self.con)
            rating.release_target(required(self.results.rating.rated_file, "rate"))
        self.results.void_from(step)

    def _check_parameters_cell(self) -> None:
        """RunError when the notebook's parameters cell changed since the run started
        (``notebook_parameters.check_unchanged``)."""
        check_unchanged(self.notebook_values, self.params.period)

    def _check_not_published(self) -> None:
        """RunError when this run is published: its lock is released and its staging folder is
        the run folder now, so a step run again (a cell after the publish's, or above it) would
        void the results the review reads and stage into a folder that is gone."""
        if self.published is not None:
            raise RunError(
                f"this run published {self.params.period} already ({shown(self.published)}); "
                "to bill the month again (a parameters file or a report changed), run the "
                "notebook again from its first cell"
            )

    def _unstage(self) -> None:
        """Remove the files ``write_outputs`` and ``write_manifest`` staged (the executed notebook
        and ``invoice_summary.csv`` stay: written again as the run goes on)."""
        if self.staging is None or self.results.files is None:
            return
        for name in [*self.results.files["file"], MANIFEST]:
            (self.staging / name).unlink(missing_ok=True)
        for folder in sorted(self.staging.rglob("*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        self.results.files = None

    @contextmanager
    def _cleanup_on_failure(self) -> Iterator[None]:
        """A failing write removes the run's own staging folder: nothing half-written remains. A
        write that fails for lack of room or permission is a RunError naming the file. The steps
        whose files went with it (``build_invoices``' invoice_summary.csv on) are void too: run
        again, a later cell would stage into a new, empty folder and publish a run without them
        (a manifest alone, over the earlier run)."""
        try:
            with writing(self.staging or self.params.output):
                yield
        except BaseException:
            if self.owns_staging:
                discard(self.staging)
                self.staging = None
                self.results.void_from("build_invoices")
            raise


# -- runs as a whole --------------------------------------------------------------------------


def start(
    period: object,
    reports: object,
    parameters: object,
    output: object,
    finalise: object = False,
    issue_date: object = "",
    staging: object = "",
    confirm_jumps: object = "",
    wait: float = 0,
    currency: object = "",
) -> BillingRun:
    """Check the parameters and open the run. ``staging`` is given by ``billing run`` (which then
    publishes after adding the executed notebook and its HTML, and holds the lock of the outputs
    folder); empty means this run locks the outputs folder (refused when another run holds it,
    or after waiting ``wait`` seconds), creates its own staging folder and publishes it in its
    last step. ``currency``: the billing currency of FOCUS reports without a BillingCurrency
    column (empty: every report states its own). In a notebook kernel, a name papermill injected
    that is not one of the notebook's parameters (``-p finalize True``) is refused first."""
    check_injected(RUN_PARAMETER_NAMES, "billing_run.ipynb", NOTEBOOK_PARAMETERS)
    started = parameter_values(RUN_PARAMETER_NAMES)
    params = check_parameters(period, reports, parameters, output, finalise, issue_date, currency)
    confirmed = customer_list("confirm_jumps", confirm_jumps)
    given = check_staging(staging, params.output)
    if given is not None:
        info = check_held_for(params.output, given)
        return BillingRun(
            params,
            staging=given,
            owns_staging=False,
            confirm_jumps=confirmed,
            run_id=info["run_id"],
            notebook_values=started,
        )
    finished = finish_apply(params.parameters) if params.parameters.is_dir() else []
    lock, cleaned = open_output(
        params.output, f"billing_run notebook, period {params.period}", wait
    )
    return BillingRun(
        params,
        confirm_jumps=confirmed,
        lock=lock,
        run_id=lock.run_id,
        cleaned=[*finished, *cleaned],
        notebook_values=started,
    )


def run_all(
    period: str,
    reports: Path,
    parameters: Path,
    output: Path,
    finalise: bool = False,
    issue_date: str = "",
    confirm_jumps: str = "",
    wait: float = 0,
    currency: str = "",
) -> Path:
    """Every step of the notebook in order, without the notebook (tests, scripts); returns the
    published run folder. The lock of the outputs folder is released at the end, also on a
    failure."""
    br = start(
        period,
        str(reports),
        str(parameters),
        str(output),
        finalise,
        issue_date,
        "",
        confirm_jumps,
        wait,
        currency,
    )
    try:
        br.load_parameters()
        br.import_reports()
        br.map_customers()
        br.rate()
        br.build_invoices()
        br.write_outputs()
        br.ledger_balance()
        br.write_manifest()
        br.publish()
    finally:
        if br.lock is not None:
            br.lock.release()
    return br.params.run_folder
