"""Reports that read fine but would bill a wrong month in silence: no rows, every line (or most of
the money) in another month, and charge lines whose quantity and cost have contradicting signs.

Each check runs on ``__new``, the lines of the file just staged, and raises an InputError naming
the file (and row, column and value where there is one) and the way out.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.line_facts import (
    LineFacts,
    begins_in_period_sql,
    billed_before_sql,
    in_period_sql,
    sign_rule_sql,
)
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.source_checks import resolve_columns
from billing_lib.importers.spec import CONTRACT_MONTH, QUOTED_COLUMN, FormatSpec
from billing_lib.sql import ql

MAX_SHOWN = 20


def check_has_rows(src: SourceFile, spec: FormatSpec, rows: int) -> None:
    """A report with a header and no rows would drop that vendor's revenue from the month."""
    if rows == 0:
        raise InputError(
            f"{src.name} ({spec.title}): no rows; a vendor report for a month has lines. "
            "Only the header is there: export the report again, or remove the file from the "
            "reports folder if the vendor really billed nothing"
        )


#: The share of a report's charges (positive BilledCost, per currency) on lines charged outside
#: the run's month above which the report is another month's (``check_in_period``). Microsoft's
#: new-commerce invoice of a month bills the charge cycles starting in it; the lines of other
#: months on it are the prorated changes made late in the month before (an addQuantity of
#: 28 October on November's invoice), a small part of its money. Next month's invoice in this
#: month's folder has those few lines in the month and all the rest outside.
OUTSIDE_SHARE = Decimal("0.5")


def check_in_period(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    period: str,
    facts: LineFacts | None = None,
) -> None:
    """Refuse a report of another month: none of its lines is charged in ``period`` (neither its
    charge period nor its billing period meets the month: a September usage report in an October
    run), or its lines charged outside the month carry more than ``OUTSIDE_SHARE`` of its charges
    in a currency (next month's Partner Center invoice, one late change of this month on it). A
    report of the month with some lines outside it (a late credit for September in October's AWS
    bill, a licence change of late September on October's invoice) is fine: its lines outside
    the month are billed in it and the run warns about them. ``facts`` (line_facts, counted with
    this period): the lines are read only when some are outside the period, or most begin before
    it.

    Last month's invoice is refused too: its lines meet this month when its charge cycles run
    into it (licences renewing on their anniversaries, 12 September to 11 October), so the
    charges of lines that *begin* before the month count as well (``_check_begun_before``)."""
    begun_before = facts is None or facts.most_begun_before()
    if facts is not None and (
        facts.first_start is None
        or (facts.in_period == sum(g.lines for g in facts.groups) and not begun_before)
    ):
        return
    inside = f"COALESCE({in_period_sql(period)}, false)"
    n_in, lo, hi, months = con.execute(
        f"""SELECT count(*) FILTER (WHERE {inside}), min(ChargePeriodStart),
                   max(greatest(
                       COALESCE(ChargePeriodEnd, ChargePeriodStart) - INTERVAL 1 MICROSECOND,
                       ChargePeriodStart)),
                   list(DISTINCT strftime(ChargePeriodStart, '%Y-%m') ORDER BY 1)
            FROM __new"""
    ).fetchall()[0]
    if lo is None:
        return
    if not n_in:
        shown = ", ".join(months[:6]) + (" ..." if len(months) > 6 else "")
        raise InputError(
            f"{src.name} ({spec.title}): no line is charged in the run's period {period}; the "
            f"report's lines are charged in {shown} ({lo.date()} to {hi.date()}). A report of "
            f"another month? Bill it with --period {months[0]}, or remove it from the reports "
            "folder (a late vendor credit for an earlier month is entered in custom_lines.yaml)",
            _rows_outside(con, src, spec, period, inside),
        )
    _check_billed_before(con, src, spec, period)
    _check_other_bills(con, src, spec, period, inside)
    _check_charges_in_period(con, src, spec, period, inside)
    if begun_before:
        _check_begun_before(con, src, spec, period)
    if _invoices(con) > 1:  # invoices pasted into one file: each is judged on its own
        _check_charges_in_period(con, src, spec, period, inside, by_invoice=True)
        if begun_before:
            _check_begun_before(con, src, spec, period, by_invoice=True)


def _check_billed_before(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec, period: str
) -> None:
    """InputError naming the lines of ``src`` on a vendor bill of an earlier period (their
    billing period ends before ``period``: a Usage Meter row of September, a daily file's row of
    September's billing period), however little money they carry: two months' exports pasted
    into one file. A late credit or usage day of the month before on this month's bill has this
    month's billing period and is read; formats without a billing period are not checked."""
    before = f"COALESCE({billed_before_sql(period)}, false)"
    n, total, lo, hi, month = con.execute(
        f"""SELECT count(*) FILTER (WHERE {before}), count(*),
                   min(BillingPeriodStart) FILTER (WHERE {before}),
                   max(COALESCE(BillingPeriodEnd, BillingPeriodStart + INTERVAL 1 DAY))
                     FILTER (WHERE {before}),
                   max(strftime(BillingPeriodStart, '%Y-%m')) FILTER (WHERE {before})
            FROM __new"""
    ).fetchall()[0]
    if not n:
        return
    last = (hi - timedelta(microseconds=1)).date()
    rows = con.execute(
        f"""SELECT x_SourceRow, CAST(BillingPeriodStart AS DATE), BilledCost
            FROM __new WHERE {before} ORDER BY x_SourceRow"""
    ).fetchmany(MAX_SHOWN)
    present = set(resolve_columns(spec.referenced_columns(), src.header))
    column = _vendor_columns(spec, "BillingPeriodStart", present)
    raise InputError(
        f"{src.name} ({spec.title}): {n} of its {total} lines are on a vendor bill of a period "
        f"before {period} ({lo.date()} to {last}): lines of an earlier month's bill (two "
        f"months' exports in one file?), billed in {period} they would be billed a second time "
        f"or in the wrong month. Bill them with --period {month} from that month's report, and "
        f"give {period}'s report without them (a late credit of an earlier month that is on no "
        f"report of it is entered in custom_lines.yaml)",
        [
            Problem(
                src.name,
                row,
                column,
                f"{start}, cost {_amount(cost)}",
                f"a line of a vendor bill of {period}",
            )
            for row, start, cost in rows
        ],
    )


def _invoices(con: duckdb.DuckDBPyConnection) -> int:
    """How many vendor invoices the lines of the file just staged name (``InvoiceId``)."""
    return int(con.execute("SELECT count(DISTINCT InvoiceId) FROM __new").fetchall()[0][0])


def _check_other_bills(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec, period: str, inside: str
) -> None:
    """InputError naming the lines of ``src`` on the vendor's bill of another month: their
    billing period (where the format has one) and their charge both outside ``period`` (SQL
    ``inside`` false). Two months in one file (a download of several months, or next month's rows
    pasted under this month's) were billed in the run's month whenever the other month carried
    no more than ``OUTSIDE_SHARE`` of the charges. A line charged outside the month that the
    vendor bills in it (a late credit, its billing period the month's) is the month's."""
    rows = con.execute(
        f"""SELECT x_SourceRow, CAST(BillingPeriodStart AS DATE), BilledCost,
                   BillingCurrency, strftime(BillingPeriodStart, '%Y-%m')
            FROM __new WHERE BillingPeriodStart IS NOT NULL AND NOT {inside}
            ORDER BY x_SourceRow"""
    ).fetchall()
    if not rows:
        return
    months = sorted({r[4] for r in rows})
    present = set(resolve_columns(spec.referenced_columns(), src.header))
    column = _vendor_columns(spec, "BillingPeriodStart", present)
    problems = [
        Problem(
            src.name,
            row,
            column,
            f"{start}, cost {currency} {_amount(cost)}",
            f"a line of the vendor's bill for {period} (its billing period meeting the month)",
        )
        for row, start, cost, currency, _month in rows[:MAX_SHOWN]
    ]
    raise InputError(
        f"{src.name} ({spec.title}): {len(rows)} of its lines "
        f"{'is' if len(rows) == 1 else 'are'} of the vendor's bill for "
        f"another month (billing period {', '.join(months)}), not {period}, and charged outside "
        f"it too: two months in one file (a download of several months, or another month's "
        f"rows pasted into it)? They would be billed in {period}. Export the report of "
        f"{period} alone, and bill the other month with --period {months[0]}",
        problems,
    )


def _check_begun_before(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    period: str,
    by_invoice: bool = False,
) -> None:
    """InputError when the lines of ``src`` that begin before ``period`` (their charge starting
    before it, their billing period, if any, not meeting it) are more than half of its lines and
    carry more than ``OUTSIDE_SHARE`` of its charges in a currency: last month's invoice, whose
    charge cycles run into this month. Both, so that October's invoice holding one large
    purchase of 30 September (a reservation) is still read. ``by_invoice``: per vendor invoice
    of the file (``_check_charges_in_period``)."""
    begun = f"COALESCE({begins_in_period_sql(period)}, false)"
    _check_charges_in_period(
        con, src, spec, period, begun, begun_before=True, by_invoice=by_invoice
    )


def _check_charges_in_period(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    period: str,
    inside: str,
    *,
    begun_before: bool = False,
    by_invoice: bool = False,
) -> None:
    """The money half of ``check_in_period``: InputError when the lines charged outside
    ``period`` (SQL ``inside`` false) carry more than ``OUTSIDE_SHARE`` of the report's charges
    (positive BilledCost: credits would cancel charges) in one of its currencies. With
    ``begun_before`` (``inside``: the line begins in the period), only when they are also more
    than half of its lines in that currency, and said so. With ``by_invoice``, of one vendor
    invoice (InvoiceId) of the report: next month's Partner Center invoice file pasted under
    this month's (a file naming no billing period) carried half of the charges, not more, and
    was billed in this month."""
    most_lines = "AND sum(n_out) * 2 > sum(n)" if begun_before else ""
    invoice = "InvoiceId" if by_invoice else "NULL"
    rows = con.execute(
        f"""WITH m AS (
              SELECT BillingCurrency AS currency, {invoice} AS invoice,
                     strftime(ChargePeriodStart, '%Y-%m') AS month,
                     count(*) FILTER (WHERE NOT {inside}) AS n_out, count(*) AS n,
                     sum(BilledCost) FILTER (WHERE BilledCost > 0) AS charged,
                     sum(BilledCost) FILTER (WHERE BilledCost > 0 AND NOT {inside}) AS outside,
                     min(ChargePeriodStart) FILTER (WHERE NOT {inside}) AS lo,
                     max(ChargePeriodStart) FILTER (WHERE NOT {inside}) AS hi
              FROM __new GROUP BY ALL)
            SELECT currency, sum(n_out), sum(n), sum(charged), COALESCE(sum(outside), 0),
                   min(lo), max(hi), arg_max(month, COALESCE(outside, 0)), invoice
            FROM m GROUP BY currency, invoice
            HAVING sum(charged) > 0 AND COALESCE(sum(outside), 0) > {OUTSIDE_SHARE} * sum(charged)
                   {most_lines}
            ORDER BY COALESCE(sum(outside), 0) / sum(charged) DESC, currency, invoice"""
    ).fetchall()
    if not rows:
        return
    currency, n_out, n, charged, outside, lo, hi, month, invoice_id = rows[0]
    share = (Decimal(outside) / Decimal(charged) * 100).quantize(Decimal("0.1"), ROUND_DOWN)
    n_in = n - n_out
    whose = ""
    if by_invoice:  # that invoice's lines outside the period, not another's
        whose = f"invoice {invoice_id}: " if invoice_id is not None else "lines of no invoice: "
        other = "InvoiceId IS NOT NULL" if invoice_id is None else f"InvoiceId <> {ql(invoice_id)}"
        inside = f"({inside} OR COALESCE({other}, true))"
    figures = (
        f"{src.name} ({spec.title}): {whose}{n_out} of its {n} lines, with {share}% of its "
        f"charges ({currency} {_amount(outside)} of {_amount(charged)})"
    )
    if begun_before:
        lines_in = (
            "none begins" if not n_in else f"only {n_in} {'begins' if n_in == 1 else 'begin'}"
        )
        message = (
            f"{figures}, begin before the run's period {period} (from {lo.date()} to "
            f"{hi.date()}); {lines_in} in {period}. A report of an earlier month (last month's "
            f"invoice, whose charge cycles run into {period})? Bill it with --period {month}, or "
            f"remove it from the reports folder. A report of {period} has few lines begun "
            f"before it (a late licence change, a purchase of the month's last day), billed in "
            f"{period} with a warning; one where they are most of its lines and carry more than "
            f"{int(OUTSIDE_SHARE * 100)}% of its charges is refused"
        )
    else:
        lines_in = f"{n_in} line is" if n_in == 1 else f"{n_in} lines are"
        message = (
            f"{figures}, are charged outside the run's period {period} (from {lo.date()} to "
            f"{hi.date()}); only {lines_in} charged in {period}. A report of another month "
            f"(next month's invoice in this month's folder)? Bill it with --period {month}, or "
            f"remove it from the reports folder. A report of {period} has few lines of other "
            f"months (a late licence change, a late credit), billed in {period} with a warning; "
            f"one whose lines outside the month carry more than {int(OUTSIDE_SHARE * 100)}% of "
            "its charges is refused"
        )
    raise InputError(message, _rows_outside(con, src, spec, period, inside))


def _rows_outside(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec, period: str, inside: str
) -> list[Problem]:
    """The first ``MAX_SHOWN`` rows of ``src`` charged outside ``period``, with their charge
    start and cost."""
    # ORDER BY without LIMIT, the first rows fetched (check_signs: DuckDB 2.0 and ``__new``)
    rows = con.execute(
        f"""SELECT x_SourceRow, CAST(ChargePeriodStart AS DATE), BilledCost
            FROM __new WHERE NOT {inside} ORDER BY x_SourceRow"""
    ).fetchmany(MAX_SHOWN)
    present = set(resolve_columns(spec.referenced_columns(), src.header))
    column = _vendor_columns(spec, "ChargePeriodStart", present)
    return [
        Problem(src.name, row, column, f"{start}, cost {_amount(cost)}", f"a charge in {period}")
        for row, start, cost in rows
    ]


def _amount(value: Decimal | None) -> str:
    """``value`` as its digits, without the trailing zeros of DECIMAL(38,12)."""
    return "NULL" if value is None else f"{Decimal(value).normalize():f}"


def _vendor_columns(spec: FormatSpec, target: str, present: set[str]) -> str:
    """``BilledCost (from 'Billable Points', 'Price per Point')``: the vendor columns a line-model
    column is computed from. A contract-priced report's month (``__contract_month``) is read
    from its ``contract_price.month`` columns (Usage Meter's Month, the billing API's hour)."""
    m = spec.column_map(target)
    names = m.alternatives()[:1] if m.alternatives() else QUOTED_COLUMN.findall(m.sql or "")
    month = spec.contract_price.month if spec.contract_price else None
    names = [
        c
        for n in names
        for c in (QUOTED_COLUMN.findall(month or "") if n == CONTRACT_MONTH else [n])
    ]
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
