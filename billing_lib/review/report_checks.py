"""Checks of the vendor reports the run read: billing accounts missing against the previous
month, short reports, charges after the month, days billed by another run, estimated
(not yet invoiced) reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb

from billing_lib.billed_lines import days_billed_elsewhere, other_runs
from billing_lib.money import round_money
from billing_lib.periods import month_days
from billing_lib.review.findings import Finding, file_name, money_text, source_lines
from billing_lib.run_files import (
    MANIFEST,
    named_if_damaged,
    read_manifest,
)


@dataclass(frozen=True)
class ReportLines:
    """The imported lines of one report file and billing account (AWS payer, Partner Center
    tenant, Usage Meter): how many, and how many carry no vendor invoice id."""

    file: str
    vendor: str
    format: str
    account: str
    lines: int
    without_invoice: int
    #: whether the report has the vendor's invoice id column at all (``imports.invoice_ids``)
    invoice_ids: bool = True


#: ``ReportLines`` of a run: one scan of its lines serves the manifest's ``billing_accounts``,
#: the comparison with the previous month (``missing_reports``) and ``estimated_reports``.
REPORT_LINES_SQL = """
    SELECT r.*, COALESCE(i.invoice_ids, true) FROM (
      SELECT x_SourceFile, x_Vendor, x_Format, coalesce(BillingAccountId, '') AS account,
             count(*), count(*) FILTER (WHERE coalesce(InvoiceId, '') = '')
      FROM lines GROUP BY ALL) r
    LEFT JOIN (SELECT file, bool_and(invoice_ids) AS invoice_ids FROM imports GROUP BY file) i
      ON i.file = r.x_SourceFile
    ORDER BY r.x_SourceFile, r.x_Vendor, r.x_Format, r.account"""


def report_lines(con: duckdb.DuckDBPyConnection) -> list[ReportLines]:
    """The run's imported lines per report file and billing account (``REPORT_LINES_SQL``)."""
    return [ReportLines(*row) for row in con.execute(REPORT_LINES_SQL).fetchall()]


def billing_accounts(reports: list[ReportLines]) -> list[dict]:
    """Per vendor, report format and billing account: how many lines the run imported (what
    the manifest records, and the next month's review compares with)."""
    counted: dict[tuple[str, str, str], int] = {}
    for r in reports:
        key = (r.vendor, r.format, r.account)
        counted[key] = counted.get(key, 0) + r.lines
    return [
        {"vendor": v, "format": f, "account": a, "lines": n}
        for (v, f, a), n in sorted(counted.items())
    ]


def missing_reports(accounts: list[dict], output: Path, previous: str | None) -> list[Finding]:
    """A report the previous finalised month had and this month lacks: a vendor's report format
    and billing account with lines then and none now (the Azure usage file left out beside the
    licence reconciliation, the report of a second AWS payer account). A vendor with no line at
    all is the ``vendor missing`` finding's. A month published before the manifests recorded
    billing accounts is compared by report format (its control totals), a vendor with no line
    included."""
    if previous is None or not (output / previous / MANIFEST).is_file():
        return []  # no previous month, or one without its manifest
    manifest = read_manifest(output / previous)
    vendors = {a["vendor"] for a in accounts}
    now = {(a["vendor"], a["format"], a["account"]) for a in accounts}
    then = manifest.get("billing_accounts")
    if isinstance(then, list):
        return [
            Finding(
                "report missing",
                f"{a['format']} {a['account']}".strip(),
                f"{previous} had {a['lines']} line(s) from the {a['format']} report of "
                f"{a['vendor']} billing account {a['account'] or '(none)'}; none this month: is "
                "its report missing from the reports folder?",
            )
            for a in then
            if a["vendor"] in vendors and (a["vendor"], a["format"], a["account"]) not in now
        ]
    formats = {a["format"] for a in accounts}
    earlier = sorted(
        {c["format"] for c in manifest.get("control_totals", []) if isinstance(c, dict)}
    )
    return [
        Finding(
            "report missing",
            f,
            f"{previous} had a {f} report; none this month: is it missing from the reports folder?",
        )
        for f in earlier
        if f not in formats
    ]


def short_reports(con: duckdb.DuckDBPyConnection, period: str) -> list[Finding]:
    """Vendor reports whose usage charged in ``period`` ends before the month does: a report
    downloaded before the month ended (AWS, Azure and Partner Center give the month so far), or
    one part of a report split in several files. Usage (``ChargeFrequency`` Usage-Based) runs to
    the month's last day on any report of more than a few resources; purchases and monthly fees
    end where their own term does, so they are not compared."""
    first, last = month_days(period)
    rows = con.execute(
        """SELECT x_SourceFile, CAST(max(ChargePeriodEnd) - INTERVAL 1 MICROSECOND AS DATE) AS
                  last_day, count(*)
           FROM lines
           WHERE ChargeFrequency = 'Usage-Based'
             AND ChargePeriodStart >= $1 AND ChargePeriodStart < $2
           GROUP BY 1 HAVING last_day < $3
           ORDER BY 1""",
        [first, last + timedelta(days=1), last],
    ).fetchall()
    return [
        Finding(
            "report ends early",
            file_name(file),
            f"its {n} usage line(s) of {period} run to {end.isoformat()}, the month to "
            f"{last.isoformat()}: downloaded before the month ended, or a part of the report "
            "missing?",
        )
        for file, end, n in rows
    ]


def charged_after_the_month(con: duckdb.DuckDBPyConnection, period: str) -> list[Finding]:
    """Vendor lines billed in ``period`` whose charge begins after the month, per report and
    currency: a date mistyped (a daily usage file's 10/5/2027) or next month's charges, billed on
    this month's invoices at the prices of their dates with only the rating's general warning
    about lines outside the month (which also counts the usual late credits of earlier months)."""
    last = month_days(period)[1]
    rows = con.execute(
        """SELECT source_file, currency, count(*), min(charge_date), max(charge_date),
                  sum(amount)
           FROM rated_lines WHERE line_kind = 'vendor' AND charge_date > $1
           GROUP BY ALL ORDER BY 1, 2""",
        [last],
    ).fetchall()
    return [
        Finding(
            "charged after the month",
            file_name(file),
            f"{n} line(s) charged from {lo.isoformat()} to {hi.isoformat()}, after {period}, "
            f"are billed on this month's invoices ({currency} {round_money(amount, currency)}): "
            "a date mistyped, or next month's charges?",
            source_lines(
                con,
                "line_kind = 'vendor' AND charge_date > ? AND source_file = ? AND currency = ?",
                [last, file, currency],
            ),
        )
        for file, currency, n, lo, hi, amount in rows
    ] + _running_past(con, period)


def _running_past(con: duckdb.DuckDBPyConnection, period: str) -> list[Finding]:
    """Usage lines billed in ``period`` that begin in it and run past it (a FOCUS line of 31
    October to 1 November), per report and currency: billed whole this month, nothing said (the
    rating warns of lines that begin outside the month), while next month's report may bill
    their days after it again (``split_days`` lists that day there). Licence cycles and other
    purchases run past the month as they are billed: not listed."""
    last = month_days(period)[1]
    where = (
        "line_kind = 'vendor' AND charge_category = 'Usage' AND charge_date <= ? AND charge_end > ?"
    )
    rows = con.execute(
        f"""SELECT source_file, currency, count(*), min(charge_date), max(charge_end), sum(amount)
            FROM rated_lines WHERE {where} GROUP BY ALL ORDER BY 1, 2""",
        [last, last],
    ).fetchall()
    return [
        Finding(
            "charged after the month",
            file_name(file),
            f"{n} Usage line(s) charged from {lo.isoformat()} run past {period}, to "
            f"{hi.isoformat()}, and are billed whole on this month's invoices ({currency} "
            f"{round_money(amount, currency)}): next month's report may bill their days after "
            f"{period} again",
            source_lines(
                con, f"{where} AND source_file = ? AND currency = ?", [last, last, file, currency]
            ),
        )
        for file, currency, n, lo, hi, amount in rows
    ]


def split_days(con: duckdb.DuckDBPyConnection, output: Path, period: str) -> list[Finding]:
    """Days of a vendor account, in formats without vendor line ids (FOCUS, Azure cost exports,
    Partner Center daily rated usage), that the published run of another period billed some
    lines of too (``billed_lines.days_billed_elsewhere``): October's export ending on 1
    November inclusive held that day in part (4.00), November's holds it whole (10.00), and
    both billed it. Identical lines are refused before; lines that differ may be two real
    charges, so they are listed, not refused. Each month counts as billed now."""
    files = [Path(f) for f, _, _ in other_runs(output, period)]
    with named_if_damaged(files):
        split = days_billed_elsewhere(con, output, period)
    return [
        Finding(
            "day billed by two runs",
            f"{s.vendor} {s.account}",
            f"{s.day.isoformat()}: the run of {s.month} ({output / s.month}) billed "
            f"{money_text(s.billed_there, s.currency)} of this day already "
            f"({', '.join(s.reports_there)}); this run bills "
            f"{money_text(s.billed_here, s.currency)} of it: a day split between two reports "
            "may be billed twice. If both reports hold the same charges, export each month "
            "from its 1st to its last day and bill again the month that is not finalised, or "
            "give the part billed twice back with a custom line",
            tuple(f"{file_name(f)} row {r}" for f, r in s.rows_here),
        )
        for s in split
    ]


#: Formats whose reports always have the vendor's invoice id column, filled on every line once
#: the vendor has invoiced the month and empty before. Not: an EA cost export (no such column),
#: FOCUS 1.0 (none either), VMware's usage (no vendor invoice).
INVOICED_FORMATS = (
    "aws_cur2",
    "aws_cur_legacy",
    "ms_daily_rated_usage",
    "azure_cost_export_partner",
)


def estimated_reports(reports: list[ReportLines]) -> list[Finding]:
    """Reports with lines the vendor had not invoiced when they were exported: AWS's month
    before its invoice (estimated until days after the month ends), Partner Center's unbilled
    daily usage, an Azure month-to-date export. Such charges can still change; the report of
    the vendor's invoice bills what the vendor bills."""
    per_file: dict[str, tuple[int, int]] = {}
    for r in reports:
        # a report without the invoice id column (not exported) tells nothing either way
        if r.format in INVOICED_FORMATS and r.invoice_ids:
            bare, n = per_file.get(r.file, (0, 0))
            per_file[r.file] = (bare + r.without_invoice, n + r.lines)
    return [
        Finding(
            "not invoiced yet",
            file_name(file),
            f"{bare} of its {n} line(s) have no vendor invoice id: the vendor had not invoiced "
            "them when the report was exported (estimated, unbilled or month-to-date), so they "
            "can still change; bill from the report of the vendor's invoice",
        )
        for file, (bare, n) in sorted(per_file.items())
        if bare
    ]
