"""The review of exceptions: one short list of what needs a human look before a month is finalised,
each finding with the lines behind it. Information only: the invoices stay as rated.

What is compared with the previous finalised month (its ``invoice_summary.csv`` and, for products,
the ``rated_lines.parquet`` of every finalised month before) is skipped when there is none. The one
finding that stops a run is a customer's month that moves by an order of magnitude (``jump_factor``)
against the previous finalised month: ``month_jumps`` finds it before invoice numbers are taken, and
``billing run --confirm-jump CUSTOMER`` (notebook parameter ``confirm_jumps``) lets it through.

Thresholds live in the optional ``parameters/review.yaml`` (``ReviewSettings``).

The checks live in modules by what they look at: ``findings`` (a finding, the thresholds),
``previous_month`` and ``net_changes`` (the comparison with the previous finalised month),
``invoice_checks`` (invoices without vendor lines or plan, margins), ``price_checks`` (the
price plans' rules and products), ``rate_checks`` (exchange rates), ``billed_checks`` (custom
lines and months not billed), ``report_checks`` (the vendor reports read), ``span_checks``
(seats, commitments, charge periods), ``numbering_checks`` (the register of numbers),
``plan_changes`` (price plans changed since a month was finalised);
``run_review`` runs them all on one run. This module names what the rest of the workbench uses.
"""

from __future__ import annotations

from billing_lib.review.billed_checks import (
    custom_lines_not_billed,
    months_not_billed,
    months_not_finalised,
)
from billing_lib.review.findings import (
    REVIEW_FILE,
    Finding,
    ReviewSettings,
    findings_frame,
    load_review_settings,
)
from billing_lib.review.invoice_checks import customer_sums, margins, no_plan, no_vendor_lines
from billing_lib.review.net_changes import net_changes
from billing_lib.review.numbering_checks import credited_not_replaced, number_order
from billing_lib.review.plan_changes import plans_changed_after_finalising
from billing_lib.review.previous_month import (
    finalised_before,
    invoice_nets,
    month_jumps,
    previous_net,
    previous_period,
)
from billing_lib.review.price_checks import (
    absorbed_credits,
    assignment_gaps,
    percent_fractions,
    rule_gaps,
)
from billing_lib.review.rate_checks import stale_rates
from billing_lib.review.report_checks import ReportLines, billing_accounts, report_lines
from billing_lib.review.run_review import RunFacts, run_findings
from billing_lib.review.span_checks import charge_spans, commitments, seat_counts

__all__ = [
    "Finding",
    "REVIEW_FILE",
    "ReportLines",
    "ReviewSettings",
    "RunFacts",
    "absorbed_credits",
    "assignment_gaps",
    "billing_accounts",
    "charge_spans",
    "commitments",
    "credited_not_replaced",
    "custom_lines_not_billed",
    "customer_sums",
    "finalised_before",
    "findings_frame",
    "invoice_nets",
    "load_review_settings",
    "margins",
    "month_jumps",
    "months_not_billed",
    "months_not_finalised",
    "net_changes",
    "no_plan",
    "no_vendor_lines",
    "number_order",
    "percent_fractions",
    "plans_changed_after_finalising",
    "previous_net",
    "previous_period",
    "report_lines",
    "rule_gaps",
    "run_findings",
    "seat_counts",
    "stale_rates",
]
