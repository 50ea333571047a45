"""A run's review as a whole: what the run hands the checks (``RunFacts``) and every check in
the order the notebook lists its findings (``run_findings``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from billing_lib.customers import AccountMapping, Customer
from billing_lib.fx import ExchangeRates
from billing_lib.invoice_model import Invoice
from billing_lib.numbering_records import NumberPlan, RegisterEntry
from billing_lib.pricing import CustomLine, PlanAssignment, catch_all_rules
from billing_lib.review.billed_checks import (
    custom_lines_not_billed,
    months_not_billed,
    months_not_finalised,
    repeated_one_offs,
)
from billing_lib.review.findings import Finding, ReviewSettings
from billing_lib.review.invoice_checks import customer_sums, margins, no_plan, no_vendor_lines
from billing_lib.review.net_changes import currency_reasons, net_changes, no_invoice_reasons
from billing_lib.review.numbering_checks import credited_not_replaced, number_order
from billing_lib.review.plan_changes import plans_changed_after_finalising
from billing_lib.review.previous_month import (
    finalised_before,
    previous_net,
    previous_numbers,
    previous_period,
)
from billing_lib.review.price_checks import (
    absorbed_credits,
    assignment_gaps,
    control_totals,
    missing_vendors,
    new_products,
    percent_fractions,
    rule_gaps,
    unmatched_rules,
)
from billing_lib.review.rate_checks import rate_moves, stale_national_rates, stale_rates
from billing_lib.review.report_checks import (
    ReportLines,
    billing_accounts,
    charged_after_the_month,
    estimated_reports,
    missing_reports,
    short_reports,
    split_days,
)
from billing_lib.review.span_checks import charge_spans, commitments, seat_counts
from billing_lib.review.vat_checks import vat_place_changes


@dataclass(frozen=True)
class RunFacts:
    """What a run hands the review: its store, folders, thresholds and what its steps produced."""

    con: duckdb.DuckDBPyConnection
    output: Path
    period: str
    settings: ReviewSettings
    #: the price plans by id (``pricing.Pricing.plans``)
    plans: dict
    control_totals: pd.DataFrame
    invoice_totals: pd.DataFrame
    confirmed_jumps: list[str]
    subscriptions: list
    warnings: list[str]
    #: the rated lines' file in a run folder (``rated_lines.parquet``)
    rated_file: str
    #: the imported lines per report file and billing account (``report_lines``)
    report_lines: list[ReportLines] = field(default_factory=list)
    #: the custom lines of the parameters folder (``pricing.Pricing.custom_lines``)
    custom_lines: tuple[CustomLine, ...] = ()
    #: the exchange rates of the parameters folder
    rates: ExchangeRates | None = None
    #: the invoice numbers the run plans, and every number of the register
    numbering: NumberPlan | None = None
    register: list[RegisterEntry] = field(default_factory=list)
    #: the invoices the run built (their VAT in the national currency, ``Invoice.national_vat``)
    invoices: list[Invoice] = field(default_factory=list)
    #: the customers (customers.yaml) and their plans (``pricing.Pricing.assignments``)
    customers: dict[str, Customer] = field(default_factory=dict)
    assignments: tuple[PlanAssignment, ...] = ()
    #: accounts.csv (``customers.load_account_mappings``): why a customer got no invoice
    account_mappings: Sequence[AccountMapping] = ()
    #: the parameters folder and price_plans.yaml's sha256 as loaded: the price plans changed
    #: since a month was finalised (``plan_changes``)
    parameters: Path | None = None
    plans_sha256: str | None = None


def _reasons(
    run: RunFacts, before: Mapping[tuple[str, str], Decimal], without: set[str]
) -> dict[str, str]:
    """Why the customers ``without`` an invoice now got none: a currency change first, then
    what accounts.csv tells (``currency_reasons``, ``no_invoice_reasons``)."""
    out = currency_reasons(run.customers, before, without)
    for customer, why in no_invoice_reasons(
        run.con, run.account_mappings, without, run.period
    ).items():
        out[customer] = f"{out[customer]}; {why}" if customer in out else why
    return out


def run_findings(run: RunFacts) -> list[Finding]:
    """Every check of the review on one run, in the order the notebook lists them."""
    previous = previous_period(run.output, run.period)
    found = [
        Finding("confirmed jump", text.partition(": ")[0], text.partition(": ")[2])
        for text in run.confirmed_jumps
    ]
    before = previous_net(run.output, previous)
    invoiced_now = (
        {(str(r.customer_id), str(r.currency)) for r in run.invoice_totals.itertuples()}
        if previous
        else set()
    )
    without = {c for c, _ in before if c not in {c for c, _ in invoiced_now}}
    found += net_changes(
        run.invoice_totals,
        before,
        previous,
        run.settings.net_change_percent,
        previous_numbers(run.output, previous) if set(before) - invoiced_now else None,
        _reasons(run, before, without) if without else None,
    )
    found += vat_place_changes(run.invoices, run.output, previous)
    found += margins(run.con, run.settings.min_margin_percent, run.invoice_totals)
    found += no_vendor_lines(customer_sums(run.con), run.invoice_totals)
    found += absorbed_credits(run.con)
    found += no_plan(run.customers, run.assignments, run.period, run.invoice_totals)
    earlier = [run.output / p / run.rated_file for p in finalised_before(run.output, run.period)]
    found += new_products(run.con, [p for p in earlier if p.is_file()], catch_all_rules(run.plans))
    found += control_totals(run.control_totals)
    found += missing_vendors(
        run.con, run.output / previous / run.rated_file if previous else None, previous
    )
    found += missing_reports(billing_accounts(run.report_lines), run.output, previous)
    found += short_reports(run.con, run.period)
    found += charged_after_the_month(run.con, run.period)
    found += split_days(run.con, run.output, run.period)
    found += estimated_reports(run.report_lines)
    found += months_not_billed(run.output, run.period)
    found += months_not_finalised(run.output, run.period)
    found += custom_lines_not_billed(
        run.con, run.custom_lines, run.output, run.period, run.rated_file
    )
    found += repeated_one_offs(run.con, run.custom_lines, run.output, run.period, run.rated_file)
    found += seat_counts(run.con, run.subscriptions, run.period)
    found += commitments(run.con)
    found += charge_spans(run.con)
    found += unmatched_rules(run.warnings)
    found += plans_changed_after_finalising(
        run.con, run.output, run.period, run.parameters, run.plans_sha256, run.customers
    )
    found += rule_gaps(run.plans, run.period)
    found += assignment_gaps(run.assignments, run.period)
    found += percent_fractions(run.plans, run.period)
    found += stale_rates(run.con, run.period)
    found += stale_national_rates(run.invoices, run.rates, run.period)
    found += rate_moves(run.rates, run.period, run.settings.fx_change_percent)
    found += number_order(run.numbering, run.register)
    found += credited_not_replaced(previous, run.register)
    return found
