"""The typed state of one billing run: the parameters files as loaded (``RunSettings``) and what
each step produced (``RunResults``), instead of dictionaries keyed by text.

``load_settings`` reads every parameters file before any report is read, in the order their
checks need: the customers first, then the account mapping against them; the seller's settings
before the price plans, as they say how plausible the exchange rates must be.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

import pandas as pd

from billing_lib import accounting_exports, invoices, pricing, review
from billing_lib.accounting_exports import SETTINGS_FILE
from billing_lib.customers import (
    ACCOUNTS_FILE,
    CUSTOMERS_FILE,
    AccountMapping,
    Customer,
    load_account_mappings,
    load_customers,
)
from billing_lib.errors import ParameterError, RunError
from billing_lib.fx import FX_FILE
from billing_lib.invoicing_parameters import PRODUCTS_FILE, SELLER_FILE
from billing_lib.numbering import NumberPlan, Register
from billing_lib.parameter_paths import check_files_present, misnamed_file
from billing_lib.pricing.custom_lines import CUSTOM_FILE
from billing_lib.pricing.plans import PLANS_FILE
from billing_lib.rating import RatingReport
from billing_lib.review import REVIEW_FILE
from billing_lib.vat import VAT_FILE
from billing_lib.vendor_prices import VENDOR_PRICES_FILE, VendorPrices, load_vendor_prices

T = TypeVar("T")

#: The files of a parameters folder a run reads (``load_settings``); those without defaults
#: are required.
PARAMETER_FILES = (
    CUSTOMERS_FILE,
    ACCOUNTS_FILE,
    PLANS_FILE,
    CUSTOM_FILE,
    FX_FILE,
    SELLER_FILE,
    PRODUCTS_FILE,
    VAT_FILE,
    REVIEW_FILE,
    SETTINGS_FILE,
    VENDOR_PRICES_FILE,
)
#: The files of ``PARAMETER_FILES`` a run cannot do without (the others have defaults, or are
#: needed only by what uses them: exchange rates by a month in two currencies).
NEEDED_FILES = (CUSTOMERS_FILE, ACCOUNTS_FILE, PLANS_FILE, SELLER_FILE, PRODUCTS_FILE, VAT_FILE)


@dataclass(frozen=True)
class RunSettings:
    """Every parameters file of a run, validated (``BillingRun.load_parameters``)."""

    customers: dict[str, Customer]
    account_mappings: list[AccountMapping]
    pricing: pricing.Pricing
    invoicing: invoices.Invoicing
    accounting_exports: accounting_exports.ExportSettings
    review: review.ReviewSettings
    vendor_prices: VendorPrices


def check_parameter_files(folder: Path) -> list[str]:
    """ParameterError when ``folder`` holds a misnamed parameters file, none of the files a run
    reads, or not all it needs: by ``billing run`` before it makes the outputs folder, and by
    every load of the settings. A ``billing customers sync --apply`` killed half way is
    finished first (``customer_files.finish_apply``), so no run reads half its proposal; what
    was done, one line each."""
    from billing_lib.customer_files import finish_apply

    finished = finish_apply(folder) if Path(folder).is_dir() else []
    misnamed_file(folder, PARAMETER_FILES)
    check_files_present(folder, PARAMETER_FILES, NEEDED_FILES)
    return finished


def load_settings(folder: Path, from_day: date | None = None) -> RunSettings:
    """The parameters files of ``folder`` loaded and checked; the first problem is a
    ParameterError naming the file and the entry. Prices and custom lines are judged against
    the customers' invoice currencies from ``from_day`` on (the run's month; ``load_pricing``)."""
    check_parameter_files(folder)
    customers = load_customers(folder)
    _check_any_customer(folder, customers)
    mappings = load_account_mappings(folder, customers)
    _check_any_account(folder, mappings)
    invoicing = invoices.load_invoicing(folder, customers)
    factor = invoicing.seller.fx_plausibility_factor
    priced = pricing.load_pricing(folder, customers, factor, from_day=from_day)
    check_product_groups(priced, set(invoicing.products.product_groups))
    return RunSettings(
        customers=customers,
        account_mappings=mappings,
        pricing=priced,
        invoicing=invoicing,
        accounting_exports=accounting_exports.load_export_settings(folder),
        review=review.load_review_settings(folder),
        vendor_prices=load_vendor_prices(folder),
    )


def _check_any_customer(folder: Path, customers: dict[str, Customer]) -> None:
    """ParameterError when customers.yaml holds no customer: it was blamed on accounts.csv,
    "unknown customer 'C001'; known: []". (``billing customers sync``, which proposes customers
    from the reports, reads such a file.)"""
    if not customers:
        raise ParameterError(
            Path(folder) / CUSTOMERS_FILE,
            "customers",
            "no customer; expected an entry per customer billed (id, name, address, invoice "
            "currency, ...: the example in the project's parameters/ folder shows them; billing "
            "customers sync proposes them from the month's reports)",
        )


def _check_any_account(folder: Path, mappings: list[AccountMapping]) -> None:
    """ParameterError when accounts.csv maps no account (its header only): the run billed every
    vendor line to no customer and published fee-only invoices under new numbers, exit 0.
    (``billing customers sync``, which proposes the rows, reads such a file.)"""
    if not mappings:
        raise ParameterError(
            Path(folder) / ACCOUNTS_FILE,
            "row 2",
            "no vendor account mapped to a customer (the file holds only its header); expected "
            "a row per vendor account: vendor,account_id,customer_id,valid_from,valid_to,note. "
            "Without one every line of the month's reports is billed to no customer (billing "
            "customers sync proposes the rows from the reports)",
        )


def check_product_groups(priced: pricing.Pricing, known: set[str]) -> None:
    """ParameterError naming the rule or custom line whose ``product_group`` products.yaml does not
    define: found when the parameters are read, not when the invoices are built after the import
    and the rating (minutes into a large month)."""
    named = [
        (priced.plans_path, priced.rule_entry(plan.id, rule.id), rule.product_group)
        for plan in priced.plans.values()
        for rule in plan.rules
        if rule.product_group is not None
    ] + [
        (priced.custom_path, f"custom_lines[id={c.id}]", c.product_group)
        for c in priced.custom_lines
    ]
    for path, entry, group in named:
        if group not in known:
            guess = difflib.get_close_matches(group, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            raise ParameterError(
                path,
                f"{entry}.product_group",
                f"expected a product group of products.yaml{hint}; got {group!r}; known: "
                f"{sorted(known)}",
            )


def parameters_not_read(folder: Path, settings: RunSettings) -> list[str]:
    """A warning for each file of the parameters ``folder`` that a run does not read (a copy such
    as ``price_plans (copy).yaml``, an export, a note): an edit made there changes nothing, so the
    analyst is told which file the run reads. Hidden files and the seller's logo are left out.
    A folder without custom_lines.yaml is named too: left out of a copy, its recurring fees,
    one-offs and credits were on no invoice without a word (an empty file says there are none)."""
    logo = settings.invoicing.seller.logo
    used = {*PARAMETER_FILES, *([Path(logo).name] if logo and "/" not in logo else [])}
    out = []
    if not (Path(folder) / CUSTOM_FILE).exists():
        out.append(
            f"parameters folder: no {CUSTOM_FILE} in {folder}; no recurring fee, one-off charge "
            f"or credit of it is billed (a reseller without any: an empty {CUSTOM_FILE} says so)"
        )
    for path in sorted(Path(folder).iterdir()):
        if path.is_dir() and not path.name.startswith("."):
            out += _parameters_in_subfolder(Path(folder), path)
        if not path.is_file() or path.name.startswith(".") or path.name in used:
            continue
        close = difflib.get_close_matches(path.name.lower(), PARAMETER_FILES, n=1, cutoff=0.6)
        out.append(
            f"parameters folder: {path.name} not read; a run reads its files by name only"
            + (f" (this looks like a copy of {close[0]}: edit that one)" if close else "")
        )
    return out


def _parameters_in_subfolder(folder: Path, sub: Path) -> list[str]:
    """A warning for a subfolder of the parameters ``folder`` holding parameters files (the
    git-ignored ``parameters/local/`` of the README): a run of ``folder`` bills with its own
    files, and the prices edited in the subfolder changed nothing without a word."""
    found = sorted(p.name for p in sub.iterdir() if p.is_file() and p.name in PARAMETER_FILES)
    if not found:
        return []
    return [
        f"parameters folder: {sub.name}/ holds parameters files ({', '.join(found)}) this run "
        f"does not read; it reads those of {folder}: to bill with them, run with --parameters "
        f"{sub}"
    ]


#: The steps of a run in order, each with the ``RunResults`` fields it produces. A step run again
#: (a notebook cell, after a parameters file or a report was changed) voids what it and every
#: step after it produced: they must run again (``RunResults.void_from``). The review is derived
#: from them all and is voided by any step.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("load_parameters", ("parameter_files", "parameters_not_read")),
    (
        "import_reports",
        ("reports_read", "control_totals", "not_read", "import_warnings", "report_lines"),
    ),
    ("map_customers", ("unmapped",)),
    ("rate", ("rating", "rated_summary", "commitments_waived")),
    ("build_invoices", ("confirmed_jumps", "invoices", "numbering", "invoice_totals")),
    ("write_outputs", ("files",)),
    ("ledger_balance", ("ledger_balance",)),
)


@dataclass
class RunResults:
    """What the steps of a run produced so far (None: the step has not run)."""

    parameter_files: pd.DataFrame | None = None
    #: warnings for the files of the parameters folder a run does not read
    parameters_not_read: list[str] = field(default_factory=list)
    #: each report file of the reports folder as the import found it (``reports_as_found``)
    reports_read: dict[str, tuple[int, int, int]] | None = None
    control_totals: pd.DataFrame | None = None
    #: (name, why) of what the reports folder holds besides reports (``files_not_read``)
    not_read: list[tuple[str, str]] = field(default_factory=list)
    #: rows the reports' import listed for the analyst (``ImportReport.warnings``), each after
    #: its report's name
    import_warnings: list[str] = field(default_factory=list)
    #: the imported lines per report file and billing account (``BillingRun.report_lines``)
    report_lines: list[review.ReportLines] | None = None
    unmapped: pd.DataFrame | None = None
    rating: RatingReport | None = None
    rated_summary: pd.DataFrame | None = None
    #: the months stated checked (``review.yaml``'s ``commitments_checked``) whose runs, listing
    #: no commitments, this run's commitments were let through beside uncompared
    #: (``billed_commitments.check_commitments_not_billed_elsewhere``)
    commitments_waived: list[str] | None = None
    confirmed_jumps: list[str] | None = None
    invoices: list[invoices.Invoice] = field(default_factory=list)
    numbering: NumberPlan | None = None
    invoice_totals: pd.DataFrame | None = None
    register: Register | None = None
    files: pd.DataFrame | None = None
    ledger_balance: pd.DataFrame | None = None
    review: list[review.Finding] | None = None

    def void_from(self, step: str) -> None:
        """Forget what ``step`` and the steps after it (``STEPS``) produced, and the review."""
        defaults = RunResults()
        for _, produced in STEPS[step_index(step) :]:
            for name in produced:
                setattr(self, name, getattr(defaults, name))
        self.review = None


def step_index(step: str) -> int:
    """The place of ``step`` in ``STEPS``."""
    return [name for name, _ in STEPS].index(step)


def required(value: T | None, step: str) -> T:
    """``value`` of a step that must have run; a RunError naming the step otherwise (a notebook's
    cells run out of order)."""
    if value is None:
        raise RunError(
            f"the step {step}() has not run yet, or an earlier step ran again since; run the "
            "notebook's cells in order"
        )
    return value
