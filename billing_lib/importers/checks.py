"""Reports that read fine but would bill a wrong month in silence: no rows, every line in another
month, and charge lines whose quantity and cost have contradicting signs.

Each check runs on ``__new``, the lines of the file just staged, and raises an InputError naming
the file (and row, column and value where there is one) and the way out.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.engine import resolve_columns
from billing_lib.importers.line_facts import LineFacts, in_period_sql, sign_rule_sql
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import QUOTED_COLUMN, FormatSpec

MAX_SHOWN = 20


def check_has_rows(src: SourceFile, spec: FormatSpec, rows: int) -> None:
    """A report with a header and no rows would drop that vendor's revenue from the month."""
    if rows == 0:
        raise InputError(
            f"{src.name} ({spec.title}): no rows; a vendor report for a month has lines. "
            "Only the header is there: export the report again, or remove the file from the "
            "reports folder if the vendor really billed nothing"
        )


def check_in_period(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    period: str,
    facts: LineFacts | None = None,
) -> None:
    """Refuse a report none of whose lines is charged in ``period``: neither its charge period nor
    its billing period meets the month (a September usage report in an October run). A report
    with some lines in the month (a late credit for September in October's AWS bill, a licence
    cycle from 12 October to 11 November) is fine: its lines outside the month are billed in it
    and the run warns about them. ``facts`` (line_facts, counted with this period): the lines
    are read only when none is in the period."""
    if facts is not None and (facts.in_period or facts.first_start is None):
        return
    inside = in_period_sql(period)
    n_in, lo, hi, months = con.execute(
        f"""SELECT count(*) FILTER (WHERE {inside}), min(ChargePeriodStart),
                   max(greatest(
                       COALESCE(ChargePeriodEnd, ChargePeriodStart) - INTERVAL 1 MICROSECOND,
                       ChargePeriodStart)),
                   list(DISTINCT strftime(ChargePeriodStart, '%Y-%m') ORDER BY 1)
            FROM __new"""
    ).fetchall()[0]
    if n_in or lo is None:
        return
    shown = ", ".join(months[:6]) + (" ..." if len(months) > 6 else "")
    raise InputError(
        f"{src.name} ({spec.title}): no line is charged in the run's period {period}; the "
        f"report's lines are charged in {shown} ({lo.date()} to {hi.date()}). A report of "
        f"another month? Bill it with --period {months[0]}, or remove it from the reports folder "
        "(a late vendor credit for an earlier month is entered in custom_lines.yaml)"
    )


def _vendor_columns(spec: FormatSpec, target: str, present: set[str]) -> str:
    """``BilledCost (from 'Billable Points', 'Price per Point')``: the vendor columns a line-model
    column is computed from."""
    m = spec.column_map(target)
    names = m.alternatives()[:1] if m.alternatives() else QUOTED_COLUMN.findall(m.sql or "")
    names = [n for n in dict.fromkeys(names) if n in present]
    return f"{target} (from {', '.join(repr(n) for n in names)})" if names else target


def check_signs(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    facts: LineFacts | None = None,
) -> None:
    """Refuse lines whose quantity and cost have contradicting signs: a charge of 10 seats at
    -5.00 or of -3 seats at 30.00 would be priced as a credit (or a charge) of the customer by a
    ``list_price`` or ``fixed_price`` rule while the vendor charged (or credited) the reseller.
    Credits as the vendors print them pass: a negative quantity with a negative amount
    (Microsoft reconciliation credits), a positive quantity with a negative amount on a credit
    line (Microsoft removeQuantity, AWS refunds) or on the format's own credit-like charge types
    (AWS Savings Plan negations and discounts)."""
    if facts is not None and not facts.wrong_signs:
        return
    # ORDER BY without LIMIT, the first rows fetched: DuckDB 2.0's late materialisation fails on
    # ORDER BY .. LIMIT over the ``__new`` view of ``lines`` (an internal error)
    rows = con.execute(
        f"""SELECT x_SourceRow, CAST(PricingQuantity AS VARCHAR), CAST(BilledCost AS VARCHAR),
                   ChargeCategory, x_VendorChargeType
            FROM __new WHERE {sign_rule_sql(spec)} ORDER BY x_SourceRow"""
    ).fetchmany(MAX_SHOWN)
    if not rows:
        return
    present = set(resolve_columns(spec.referenced_columns(), src.header))
    qty = _vendor_columns(spec, "PricingQuantity", present)
    cost = _vendor_columns(spec, "BilledCost", present)
    problems = [
        Problem(
            src.name,
            row,
            f"{qty} / {cost}",
            f"quantity {q}, cost {c} ({category}{', ' + kind if kind else ''})",
            "a quantity and a cost of the same sign (a charge of a negative quantity, or a "
            "negative cost on a positive quantity, would be priced as the opposite by a "
            "list_price or fixed_price rule)",
        )
        for row, q, c, category, kind in rows
    ]
    raise InputError(
        f"{src.name} ({spec.title}): lines whose quantity and cost have contradicting signs; "
        f"{_signs_advice(spec, src)}",
        problems,
    )


def _signs_advice(spec: FormatSpec, src: SourceFile) -> str:
    """What to do about lines with contradicting signs: for a format that marks lines giving
    money back by columns (FOCUS), which marks and which of them the file lacks, since a file
    without them is not wrong, only unreadable on this point; otherwise ask the vendor."""
    marks = spec.money_back_marks
    if not marks:
        return "ask the vendor for a corrected report"
    named = " or ".join(marks)
    lacking = [m for m in marks if m not in resolve_columns(marks, src.header)]
    said = (
        f"a {spec.name} line gives money back on a positive quantity only where its {named} "
        "marks it (docs/formats.md)"
    )
    if lacking:
        return (
            f"{said}, and the file has no {' or '.join(lacking)} column: export it with "
            f"{'that column' if len(lacking) == 1 else 'those columns'} (the FinOps "
            "Foundation's converter writes a commitment's CommitmentDiscountId)"
        )
    return (
        f"{said}, and these lines carry no such mark, so their signs cannot be told from an "
        "error: ask the file's producer what they are"
    )
