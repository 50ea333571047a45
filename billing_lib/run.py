"""One billing run, as the steps ``notebooks/billing_run.ipynb`` shows one by one and ``billing run``
executes through papermill.

Steps: check the run's parameters -> load the parameters files -> import the vendor reports with
control totals -> map lines to customers (unmapped report) -> rate -> build invoices -> write the
workbooks, ledger files, ``invoice_summary.csv`` and ``rated_lines.parquet`` -> write the manifest ->
publish.

Publishing is atomic: every file is written into a hidden staging folder next to
``<output>/<period>/`` and swapped in (two renames on one file system) only when the whole run
succeeded. A failed run removes its staging folder and leaves the earlier run as it was; a run folder
holding a ``FINALISED`` marker is never replaced.

A run holds the lock of its outputs folder from ``start`` to ``publish`` (``billing_lib.locking``;
the process ending frees it): a second run on the folder is refused. Its invoice numbers are
planned when the invoices are built and recorded in the register only when the run is published
(``billing_lib.numbering``), so a failed or killed run leaves the numbers as they were.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from billing_lib import (
    accounting_exports,
    charts,
    invoices,
    ledger,
    numbering,
    pricing,
    rating,
    review,
    whatif,
    workbooks,
)
from billing_lib.customers import (
    UNMAPPED_SQL,
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.documents import document_writer
from billing_lib.errors import ParameterError, RunError
from billing_lib.faults import pause_point
from billing_lib.importers import import_reports, report_files
from billing_lib.locking import OutputLock, check_held_for
from billing_lib.publishing import (
    MANIFEST,
    REGISTER,
    checksums,
    discard,
    jsonable,
    new_staging,
    package_versions,
    publish,
    records,
    writing,
)
from billing_lib.run_parameters import (
    NOTEBOOK_PARAMETERS,
    RunParameters,
    check_parameters,
    project_dir,
)
from billing_lib.sql import ql
from billing_lib.store import frame, open_store
from billing_lib.vendor_prices import load_vendor_prices

RATED_PARQUET = "rated_lines.parquet"
SUMMARY_CSV = "invoice_summary.csv"


def display_money(df: pd.DataFrame, places: int | None = 2) -> pd.DataFrame:
    """A copy of ``df`` for showing: Decimal columns as fixed-point text with ``places`` decimals
    (half-up), or unrounded (``places=None``, trailing zeros dropped) for control totals."""
    out = df.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, Decimal)).any():
            out[col] = out[col].map(lambda v: _fixed(v, places) if isinstance(v, Decimal) else v)
    return out


def _fixed(value: Decimal, places: int | None) -> str:
    if places is None:
        return f"{value.normalize():f}"
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}"


def run_store() -> duckdb.DuckDBPyConnection:
    """The run's DuckDB store. ``BILLING_MEMORY_LIMIT`` (e.g. ``2GB``) and ``BILLING_THREADS`` in
    the environment bound it for a large month on a shared machine (DuckDB then spills to disk);
    unset, DuckDB's defaults apply (80 % of RAM, every core)."""
    threads = os.environ.get("BILLING_THREADS", "").strip()
    return open_store(
        memory_limit=os.environ.get("BILLING_MEMORY_LIMIT", "").strip() or None,
        threads=int(threads) if threads else None,
    )


@dataclass
class BillingRun:
    """State of one run as the notebook walks through it; each method is one step."""

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
    con: duckdb.DuckDBPyConnection = field(default_factory=lambda: run_store())
    settings: dict[str, Any] = field(default_factory=dict)
    imports: list = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    #: customers whose move by an order of magnitude against the previous finalised month is
    #: confirmed (``billing run --confirm-jump``, notebook parameter ``confirm_jumps``)
    confirm_jumps: tuple[str, ...] = ()

    # -- steps ---------------------------------------------------------------------------------

    def import_reports(self) -> pd.DataFrame:
        """Import every vendor report, all or nothing; the control totals per report and currency
        (rows and cost as read and after normalisation, which must be equal). Also checks that the
        reports cover the run's period: each report has lines charged in it (a report of another
        month is refused, importers.checks.check_in_period)."""
        self.imports = import_reports(
            self.con,
            report_files(self.params.reports),
            vendor_prices=self.settings.get("vendor_prices")
            or load_vendor_prices(self.params.parameters),
            period=self.params.period,
        )
        covered = [
            r[0]
            for r in self.con.execute(
                "SELECT DISTINCT strftime(ChargePeriodStart, '%Y-%m') FROM lines ORDER BY 1"
            ).fetchall()
        ]
        if self.params.period not in covered:
            raise ParameterError(
                NOTEBOOK_PARAMETERS,
                "period",
                f"no report in {self.params.reports} covers {self.params.period}; "
                f"their lines are charged in {covered or 'no month'}",
            )
        rows = []
        for rep in self.imports:
            for c in rep.currencies:
                rows.append(
                    {
                        "file": self._shown(rep.file),
                        "format": rep.format,
                        "currency": c.currency,
                        "rows_read": c.rows_before,
                        "lines": c.rows_after,
                        "cost_read": c.cost_before,
                        "cost_imported": c.cost_after,
                        "balanced": c.balanced,
                    }
                )
        control = pd.DataFrame(rows)
        self.results["control_totals"] = control
        return control

    def load_parameters(self) -> pd.DataFrame:
        """Load and validate every parameters file before any report is read (customers, account
        mapping, price plans, exchange rates, seller, VAT rules, products); a table of the files
        with their checksums."""
        folder = self.params.parameters
        customers = load_customers(folder)
        self.settings["customers"] = customers
        self.settings["account_mappings"] = load_account_mappings(folder, customers)
        self.settings.update(_load_pricing_and_invoicing(folder, customers))
        self.settings["review"] = review.load_review_settings(folder)
        self.settings["vendor_prices"] = load_vendor_prices(folder)
        files = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
        self.results["parameter_files"] = pd.DataFrame(checksums(files, folder))
        shown = self.results["parameter_files"].copy()
        shown["sha256"] = shown["sha256"].str[:16]
        return shown

    def map_customers(self) -> pd.DataFrame:
        """Assign every line to a customer by vendor account and charge date; the unmapped accounts
        (kept, reported, on no invoice)."""
        register_account_map(self.con, self.settings["account_mappings"])
        assign_customers(self.con)
        unmapped = frame(self.con, UNMAPPED_SQL)
        unmapped["files"] = unmapped["files"].map(
            lambda f: ", ".join(self._shown(x) for x in f.split(", "))
        )
        self._suggest_mappings(unmapped)
        self.results["unmapped"] = unmapped
        return unmapped

    def rate(self) -> pd.DataFrame:
        """Price every customer line of the period by the plans (tables rated_lines, excluded_lines,
        unmapped_lines); the rated lines summarised per customer, vendor and currency."""
        self.results["rating"] = rating.rate_lines(
            self.con, self.settings["pricing"], self.settings["customers"], self.params.period
        )
        summary = frame(
            self.con,
            """
            SELECT customer_id, vendor, currency, count(*) AS lines,
                   sum(cost) AS cost, sum(amount) AS revenue, sum(amount) - sum(cost) AS margin
            FROM rated_lines GROUP BY ALL ORDER BY customer_id, vendor, currency""",
        )
        summary.insert(1, "customer_name", summary["customer_id"].map(self._names()))
        self.results["rated_summary"] = summary
        return summary

    def conservation(self) -> pd.DataFrame:
        """Per vendor currency: the imported cost = rated + excluded + unmapped (vendor cost, to
        the last digit; rating stops the run when a difference is not 0)."""
        return self.results["rating"].conservation_frame()

    def warnings(self) -> pd.DataFrame:
        """What the analyst should look at though the run went through: price-plan rules that
        matched no line this month, lines charged outside the period."""
        shown = [
            w.replace(f"{self.params.parameters}{os.sep}", "")
            for w in self.results["rating"].warnings
        ]
        return pd.DataFrame({"warning": shown})

    def excluded(self) -> pd.DataFrame:
        """Customer lines not billed, per reason and vendor currency (their cost stays with the
        reseller or is a vendor tax; conservation: rated + excluded + unmapped = imported)."""
        return frame(
            self.con,
            """
            SELECT reason, x_Vendor AS vendor, BillingCurrency AS vendor_currency, count(*) AS lines,
                   sum(BilledCost) AS vendor_cost
            FROM excluded_lines GROUP BY ALL ORDER BY reason, vendor, vendor_currency""",
        )

    def rated(self) -> pd.DataFrame:
        """The rated lines as a DataFrame (exact Decimals), for ad-hoc questions on a small month."""
        return frame(
            self.con,
            "SELECT * FROM rated_lines ORDER BY customer_id, vendor, source_file, source_row",
        )

    def summary(self, by: list[str]) -> pd.DataFrame:
        """Cost, revenue and margin of the rated lines per ``by`` (``charts.DIMENSIONS``) and
        currency, summed in DuckDB: the charts' input without the month's lines in pandas."""
        return charts.summarise_table(self.con, "rated_lines", by, self._names())

    def build_invoices(self) -> pd.DataFrame:
        """One invoice per customer with rated lines, numbered from the register (a rerun of an
        unfinalised period keeps its numbers); writes ``invoice_summary.csv`` into the staging
        folder and returns its rows: the totals as on the invoices."""
        self.results["confirmed_jumps"] = self._check_jumps()
        folder = self._staging()
        with self._cleanup_on_failure():
            if self.lock is not None:
                self.lock.check()
            built = invoices.build_invoices(
                self.con,
                self.settings["customers"],
                self.settings["invoicing"],
                self.params.period,
                self.register(),
                self.params.issue_date,
            )
            self.results["invoices"] = built
            # what the register records when the run is published (the numbers printed above)
            self.results["numbering"] = self.register().plan(
                invoices.invoice_series(self.settings["invoicing"], self.params.period),
                self.params.period,
                [i.customer_id for i in built],
                self.params.issue_date,
            )
            pause_point("numbers-planned")
            summary = invoices.write_invoice_summary(built, folder / SUMMARY_CSV)
        totals = read_invoice_summary(summary)
        totals.insert(1, "customer_name", totals["customer_id"].map(self._names()))
        self.results["invoice_totals"] = totals
        return totals

    def register(self) -> object:
        """The invoice-number register (SQLite, beside the run folders: it outlives every run)."""
        if "register" not in self.results:
            self.results["register"] = numbering.open_register(self.params.output / REGISTER)
        return self.results["register"]

    def write_outputs(self) -> pd.DataFrame:
        """Write the invoice workbooks, the summary workbook, ``invoice_summary.csv``, the ledger
        files and the rated lines (Parquet, for margin analysis) into the staging folder; the files
        written, relative to the run folder."""
        folder = self._staging()
        with self._cleanup_on_failure():
            written = _write_invoice_files(folder, self)
            parquet = folder / RATED_PARQUET
            # in the order rating stored them (by customer, then vendor file and row): sorting
            # again cost 86 s at 10 million lines (benchmarks/README.md)
            self.con.execute(f"COPY rated_lines TO {ql(parquet)} (FORMAT parquet)")
            written.append(parquet)
            written.append(
                whatif.write_minimum_fees(
                    self.con, self.params.period, folder / whatif.MINIMUM_FEES_PARQUET
                )
            )
        listing = pd.DataFrame({"file": sorted(str(p.relative_to(folder)) for p in written)})
        self.results["files"] = listing
        return listing

    def ledger_balance(self) -> pd.DataFrame:
        """Debit and credit totals per currency of the journal written, the difference (0), and the
        invoices' gross total it must carry as receivables."""
        balance = _ledger_balance(self)
        self.results["ledger_balance"] = balance
        return balance

    def write_manifest(self) -> pd.DataFrame:
        """Write ``manifest.json``: what went in (reports and parameters files with sha256), with
        which software, and what came out (counts, control totals, per-customer totals, ledger
        balance). Returns the counts and totals as a table for the notebook."""
        folder = self._staging()
        with self._cleanup_on_failure():
            counts = {
                t: self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in (
                    "lines",
                    "customer_lines",
                    "rated_lines",
                    "excluded_lines",
                    "unmapped_lines",
                )
            }
            counts["invoices"] = len(self.results.get("invoices", []))
            manifest = {
                "period": self.params.period,
                "run_id": self.run_id,
                "finalised": self.params.finalise,
                "issue_date": self.params.issue_date,
                "created": datetime.now(UTC).replace(microsecond=0),
                "parameters": {
                    "period": self.params.period,
                    "reports": self.params.reports,
                    "parameters": self.params.parameters,
                    "output": self.params.output,
                    "finalise": self.params.finalise,
                    "issue_date": self.params.issue_date,
                },
                "inputs": checksums(report_files(self.params.reports), self.params.reports),
                "parameter_files": self.results["parameter_files"].to_dict("records"),
                "packages": package_versions(),
                "counts": counts,
                "control_totals": records(self.results["control_totals"]),
                "unmapped": records(self.results["unmapped"]),
                "conservation": records(self.conservation()),
                "warnings": list(self.warnings()["warning"]),
                "confirmed_jumps": self.results.get("confirmed_jumps", []),
                "review": [
                    {
                        "check": f.check,
                        "subject": f.subject,
                        "finding": f.finding,
                        "lines": list(f.lines),
                    }
                    for f in self.review_findings()
                ],
                "invoices": records(self.results["invoice_totals"]),
                "numbering": self.results["numbering"].to_dict(),
                "ledger_balance": records(self.results["ledger_balance"]),
                "outputs": checksums(
                    [p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST], folder
                ),
            }
            (folder / MANIFEST).write_text(
                json.dumps(jsonable(manifest), indent=2) + "\n", encoding="utf-8"
            )
        shown = pd.DataFrame({"count": list(counts), "value": [str(v) for v in counts.values()]})
        return shown

    def publish(self) -> str:
        """Publish the staged run as ``<output>/<period>/`` (and finalise it if asked); when
        ``billing run`` gave the staging folder it publishes after adding the executed notebook."""
        folder = self._staging()
        if not self.owns_staging:
            return (
                f"staged for {self.params.period}; `billing run` publishes it with the executed notebook "
                f"into {shown(self.params.run_folder)}"
            )
        with self._cleanup_on_failure():
            target = publish(folder, self.params.output, self.params.period, self.lock)
        if self.lock is not None:
            self.lock.release()  # the run is over
        return f"published {self.params.period}: {shown(target)}" + (
            " (finalised)" if self.params.finalise else ""
        )

    def review(self) -> pd.DataFrame:
        """What needs a human look before finalising, one row per finding with the lines behind it
        (billing_lib/review.py); information only, the invoices stay as rated."""
        return review.findings_frame(self.review_findings())

    def review_findings(self) -> list[review.Finding]:
        """The review's findings, computed once (the manifest and the notebook show the same)."""
        if "review" not in self.results:
            settings = self.settings["review"]
            previous = self._previous_period()
            found = [
                review.Finding("confirmed jump", text.partition(": ")[0], text.partition(": ")[2])
                for text in self.results.get("confirmed_jumps", [])
            ]
            found += review.net_changes(
                self.results["invoice_totals"],
                review.previous_net(self.params.output, previous),
                previous,
                settings.net_change_percent,
            )
            found += review.margins(self.con, settings.min_margin_percent)
            earlier = [
                self.params.output / p / RATED_PARQUET
                for p in review.finalised_before(self.params.output, self.params.period)
            ]
            found += review.new_products(
                self.con,
                [p for p in earlier if p.is_file()],
                review.catch_all_rules(self.settings["pricing"].plans),
            )
            found += review.control_totals(self.results["control_totals"])
            found += review.seat_counts(self.con, self._subscriptions(), self.params.period)
            found += review.unmatched_rules(list(self.warnings()["warning"]))
            found += review.stale_rates(self.con, self.params.period)
            self.results["review"] = found
        return self.results["review"]

    # -- helpers -------------------------------------------------------------------------------

    def _names(self) -> dict[str, str]:
        """Customer id -> name (customers.yaml), so tables read "C001 Dijkstra Architecten B.V."."""
        return {cid: c.name for cid, c in self.settings.get("customers", {}).items()}

    def _suggest_mappings(self, unmapped: pd.DataFrame) -> None:
        """Add to the unmapped report the exact accounts.csv line to add per account and the
        customer it would match (billing_lib/customer_sync.py), from the lines and any platform
        exports in ``<reports>/platform/``."""
        from billing_lib import customer_sync

        keys = list(
            zip(unmapped["vendor"], unmapped["account_id"], unmapped["account_name"], strict=True)
        )
        found = customer_sync.unmapped_suggestions(
            sorted(set(keys)),
            self.params.period,
            self.settings["customers"],
            self.settings["account_mappings"],
            customer_sync.read_exports(self.params.reports, None),
        )
        unmapped["add_to_accounts_csv"] = [found[(v, a)][0] for v, a, _ in keys]
        unmapped["would_match"] = [found[(v, a)][1] for v, a, _ in keys]

    def _previous_period(self) -> str | None:
        done = review.finalised_before(self.params.output, self.params.period)
        return done[-1] if done else None

    def _check_jumps(self) -> list[str]:
        """Refuse (before invoice numbers are taken) a customer's month that moved by an order of
        magnitude against the previous finalised month, unless confirmed."""
        previous = self._previous_period()
        return review.month_jumps(
            self.con,
            review.previous_net(self.params.output, previous),
            previous,
            self.settings["review"].jump_factor,
            self.confirm_jumps,
        )

    def _subscriptions(self) -> list:
        """Partner Center subscriptions from ``<reports>/platform/`` when the analyst put them there."""
        folder = self.params.reports / review.PLATFORM_FOLDER
        if not folder.is_dir():
            return []
        from billing_lib.platform_exports import read_platform_folder

        return read_platform_folder(folder).subscriptions

    def _shown(self, file: str) -> str:
        """A report's name relative to the reports folder (stable across machines)."""
        return file.removeprefix(f"{self.params.reports}{os.sep}")

    def _staging(self) -> Path:
        if self.staging is None:
            self.staging = new_staging(self.params.output, self.params.period)
        return self.staging

    @contextmanager
    def _cleanup_on_failure(self) -> Iterator[None]:
        """A failing write removes the run's own staging folder: nothing half-written remains. A
        write that fails for lack of room or permission is a RunError naming the file."""
        try:
            with writing(self.staging or self.params.output):
                yield
        except BaseException:
            if self.owns_staging:
                discard(self.staging)
                self.staging = None
            raise


def shown(path: Path) -> str:
    """``path`` relative to the project folder when inside it (what the notebook shows, the same on
    every machine), else as it is."""
    base = project_dir()
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def describe(br: BillingRun) -> pd.DataFrame:
    """The checked parameters and the vendor reports found, for the notebook's first table."""
    p = br.params
    rows = [
        ("period", p.period),
        ("reports", shown(p.reports)),
        ("parameters", shown(p.parameters)),
        ("run folder", shown(p.run_folder)),
        ("finalise", str(p.finalise)),
        ("issue date", p.issue_date.isoformat()),
    ]
    rows += [(f"report {name}", fmt) for name, fmt in p.reports_found]
    rows += [("cleaned up", line) for line in br.cleaned]
    return pd.DataFrame(rows, columns=["parameter", "value"])


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
) -> BillingRun:
    """Check the parameters and open the run. ``staging`` is given by ``billing run`` (which then
    publishes after adding the executed notebook and its HTML, and holds the lock of the outputs
    folder); empty means this run locks the outputs folder (refused when another run holds it,
    or after waiting ``wait`` seconds), creates its own staging folder and publishes it in its
    last step."""
    params = check_parameters(period, reports, parameters, output, finalise, issue_date)
    confirmed = _customer_list("confirm_jumps", confirm_jumps)
    if not isinstance(staging, (str, Path)):
        raise ParameterError(
            NOTEBOOK_PARAMETERS, "staging", f"expected a folder path or empty; got {staging!r}"
        )
    if str(staging).strip():
        given = Path(staging)
        if not given.is_dir() or given.parent.resolve() != params.output.resolve():
            raise ParameterError(
                NOTEBOOK_PARAMETERS,
                "staging",
                f"{given}: expected an existing folder inside {params.output}",
            )
        info = check_held_for(params.output, given)
        return BillingRun(
            params,
            staging=given,
            owns_staging=False,
            confirm_jumps=confirmed,
            run_id=info["run_id"],
        )
    from billing_lib.recovery import open_output

    lock, cleaned = open_output(
        params.output, f"billing_run notebook, period {params.period}", wait
    )
    return BillingRun(
        params, confirm_jumps=confirmed, lock=lock, run_id=lock.run_id, cleaned=cleaned
    )


def _customer_list(name: str, value: object) -> tuple[str, ...]:
    """Comma-separated customer ids (``C001, C002``), empty for none."""
    if not isinstance(value, str):
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            name,
            f"expected customer ids as text, e.g. 'C001,C002'; got {value!r}",
        )
    return tuple(v.strip() for v in value.split(",") if v.strip())


def run_all(
    period: str,
    reports: Path,
    parameters: Path,
    output: Path,
    finalise: bool = False,
    issue_date: str = "",
    confirm_jumps: str = "",
    wait: float = 0,
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


# -- calls into the pricing and invoicing stages (billing_lib.pricing, rating, invoices, numbering,
# workbooks, ledger); kept together so the hand-over points are in one place ------------------------


def _load_pricing_and_invoicing(folder: Path, customers: dict) -> dict[str, Any]:
    """Price plans and exchange rates (pricing), seller, VAT rules and products (invoicing),
    accounting exports; the seller's settings first, as they say how plausible the exchange rates
    must be."""
    invoicing = invoices.load_invoicing(folder, customers)
    factor = invoicing.seller.fx_plausibility_factor
    return {
        "pricing": pricing.load_pricing(folder, customers, factor),
        "invoicing": invoicing,
        "accounting_exports": accounting_exports.load_export_settings(folder),
    }


def _write_invoice_files(folder: Path, br: BillingRun) -> list[Path]:
    """Invoice workbooks, PDFs and UBL e-invoices, the summary workbook, the invoices as data
    (``invoices.json``, what ``billing credit-note`` rebuilds a finalised invoice from) and the
    ledger files; the paths written."""
    built = br.results["invoices"]
    invoicing = br.settings["invoicing"]
    written = [folder / SUMMARY_CSV]
    documents = document_writer(
        invoicing.seller, folder / workbooks.INVOICE_FOLDER, invoicing.folder
    )
    written += workbooks.write_workbooks(br.con, built, invoicing, folder, also=documents)
    if built:
        written.append(
            invoices.write_invoice_data(built, invoicing.seller, folder / invoices.INVOICE_DATA)
        )

    def packages(entries: list[ledger.Entry], name: str) -> list[Path]:
        settings = br.settings["accounting_exports"]
        return accounting_exports.write_package_journals(entries, invoicing, settings, folder, name)

    written += ledger.write_ledger(br.con, built, invoicing, folder, packages)
    return [Path(p) for p in written]


def read_invoice_summary(path: Path) -> pd.DataFrame:
    """``invoice_summary.csv`` (customer_id, invoice_number, currency, net_amount, vat_amount,
    gross_amount, cost_amount, margin_amount) with the amounts as exact decimals."""
    con = duckdb.connect()
    try:
        return (
            con.sql(
                """SELECT customer_id, invoice_number, currency,
                      CAST(net_amount AS DECIMAL(18,2)) AS net, CAST(vat_amount AS DECIMAL(18,2)) AS vat,
                      CAST(cost_amount AS DECIMAL(18,2)) AS cost, CAST(margin_amount AS DECIMAL(18,2)) AS margin,
                      CAST(gross_amount AS DECIMAL(18,2)) AS gross
               FROM read_csv(?, all_varchar = true, header = true) ORDER BY invoice_number""",
                params=[str(path)],
            )
            .to_arrow_table()
            .to_pandas()
        )
    finally:
        con.close()


def _ledger_balance(br: BillingRun) -> pd.DataFrame:
    """Balance of the CSV journal written (columns debit, credit, currency, account, invoice number)
    read back from the file: debits = credits per currency, and the invoices' gross totals."""
    folder = br._staging()
    journals = sorted(folder.glob("journal_*.csv"))
    if len(journals) != 1:
        raise RunError(
            f"{folder}: expected one CSV journal (journal_*.csv); found {[p.name for p in journals]}"
        )
    con = duckdb.connect()
    try:
        con.register("invoices", br.results["invoice_totals"])
        return (
            con.sql(
                """WITH j AS (SELECT currency, CAST(coalesce(nullif(debit, ''), '0') AS DECIMAL(18,2)) AS debit,
                                 CAST(coalesce(nullif(credit, ''), '0') AS DECIMAL(18,2)) AS credit
                          FROM read_csv(?, all_varchar = true, header = true))
               SELECT j.currency, sum(debit) AS debit, sum(credit) AS credit, sum(debit) - sum(credit) AS difference,
                      (SELECT sum(gross) FROM invoices i WHERE i.currency = j.currency) AS invoiced_gross
               FROM j GROUP BY j.currency ORDER BY j.currency""",
                params=[str(journals[0])],
            )
            .to_arrow_table()
            .to_pandas()
        )
    finally:
        con.close()
