"""Vendor lines that a published run of another period billed already, refused before this run
takes an invoice number.

A report may hold lines charged outside its month: an export whose date range ends on 1
January inclusive (an Azure cost export or a FOCUS export of a chosen range) holds the first day
of January, which December's run bills (with a warning, priced as of that day). January's export
holds the same day again, and January's run billed it a second time without a word: neither file
was billed before (``billed_reports``), and such exports carry no vendor invoice id to tell them
by. Two runs holding a line of the same day is always one of them billing outside its month, so
the lines of this run are compared with those of every other published run on the days both
hold: a line is the same when its vendor, charge day, line id, subscription, SKU, service, charge
category, quantity, billed cost and vendor currency are (what the rated lines keep of a vendor
line; the import compares whole lines within a run the same way, importers/line_content). A
line with a vendor line id (AWS's identity_line_item_id and interval) is the same by its vendor,
charge day and line id alone, whatever its amounts, as the import holds a repeated line id with
another cost within a run: AWS restating a line of October that November's report holds again at
another cost was billed a second time in full. And since AWS gives each report line ids of its
own, a line with a vendor line id is also the same as one of the other run under another id when
every other value of ``LINE_KEY`` is: October's line that November's report held again under a new
id was billed a second time, October finalised. Each other month counts as it is billed now: an
invoice a credit note cancelled no longer holds its lines, the invoice that replaced it does
(``run_files.billed_now``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from billing_lib.billed_reports import report_name
from billing_lib.errors import InputError, Problem
from billing_lib.periods import run_periods
from billing_lib.rating.exact import install_macros
from billing_lib.run_files import MANIFEST, RATED_PARQUET, billed_now
from billing_lib.sql import ql

#: The rated lines' columns a vendor line is told apart by (its identity and its money).
LINE_KEY = (
    "vendor",
    "charge_date",
    "vendor_line_id",
    "subscription",
    "sku",
    "service",
    "charge_category",
    "quantity",
    "billed_cost",
    "vendor_currency",
)
#: What tells a line with a vendor line id apart: the other columns of ``LINE_KEY`` (its
#: amounts) may be restated by the vendor, and it is the same line.
LINE_ID_KEY = ("vendor", "charge_date", "vendor_line_id")
#: What tells a line apart whatever its vendor line id: AWS gives each report line ids of its own
#: ("the line item ID isn't consistent between different Cost and Usage Reports"), so October's
#: line that November's report holds again has another id there.
CHARGE_KEY = tuple(c for c in LINE_KEY if c != "vendor_line_id")
#: Lines shown in the message (the count says how many there are).
MAX_SHOWN = 20
#: How a line matched one billed elsewhere, when not as itself.
_HOW = {
    "restated": ", with other values (the same line id: restated?)",
    "other id": ", under another line id (the same charge delivered again?)",
}


def _key(alias: str) -> str:
    """``LINE_KEY`` of the lines of ``alias``: only ``LINE_ID_KEY`` for a line with a vendor line
    id (the rest NULL), plus its content as it is (``content``), to say when it was restated."""
    return (
        ", ".join(
            f"{alias}.{c}"
            if c in LINE_ID_KEY
            else f"CASE WHEN {alias}.vendor_line_id IS NULL THEN {alias}.{c} END AS {c}"
            for c in LINE_KEY
        )
        + f", row({', '.join(f'{alias}.{c}' for c in LINE_KEY)}) AS content"
        + f", row({', '.join(f'{alias}.{c}' for c in CHARGE_KEY)}) AS charge"
    )


def other_runs(output: Path, period: str) -> list[tuple[str, str, list[str]]]:
    """The rated lines' files of the published runs of the other periods in ``output``, each
    month as billed now (``run_files.billed_now``): (file, month, customers whose lines in that
    file are billed no longer)."""
    files: list[tuple[str, str, list[str]]] = []
    for month in run_periods(output, MANIFEST):
        rated = output / month / RATED_PARQUET
        if month == period or not rated.is_file():
            continue
        dropped, replacing = billed_now(output, month)
        files.append((str(rated), month, dropped))
        files += [(str(f), month, []) for f in replacing if f.is_file()]
    return files


@dataclass(frozen=True)
class BilledElsewhere:
    """Vendor lines billed by the published run of another period too: how many (``shared``),
    those months, and a Problem per line shown (its file and row, the other run's)."""

    shared: int
    months: list[str]
    problems: list[Problem]


def check_lines_not_billed_elsewhere(
    con: duckdb.DuckDBPyConnection,
    output: Path,
    period: str,
    reports: Path,
    table: str = "rated_lines",
) -> None:
    """InputError naming each vendor line of ``table`` (this run's rated lines of ``period``)
    that the published run of another period in ``output`` billed already
    (``lines_billed_elsewhere``)."""
    found = lines_billed_elsewhere(con, output, period, reports, table)
    if found is None:
        return
    raise InputError(
        f"the reports of {period} hold {found.shared} vendor line(s) that the run of "
        f"{', '.join(found.months)} billed already (the same charge on the same day: one of the "
        "two exports reaches into the other's month, e.g. a date range ending on the 1st "
        "inclusive, or the vendor's report of one month holds a charge of the other's again); "
        f"billing them in {period} would bill them a second time. Nothing was "
        "billed or written. Export the months so that they do not overlap (each month from its "
        "1st to its last day) and bill the month that is not finalised again",
        found.problems,
    )


def lines_billed_elsewhere(
    con: duckdb.DuckDBPyConnection,
    output: Path,
    period: str,
    reports: Path,
    table: str = "rated_lines",
) -> BilledElsewhere | None:
    """The vendor lines of ``table`` (rated lines of ``period``: a run's, or a reissue's new
    invoices') that the published run of another period in ``output``, as billed now, billed
    already: same identity and amounts on the same charge day (as many times as both hold it);
    their files named within ``reports``. None when there are none. Days neither holds are not
    read: other runs' files are filtered on ``table``'s charge days. Lines billed to no customer
    (an account unmapped) are in no run's rated lines: no month billed them."""
    output = Path(output)
    days = con.execute(
        f"SELECT min(charge_date), max(charge_date) FROM {table} WHERE line_kind = 'vendor'"
    ).fetchall()[0]
    if days[0] is None:
        return None
    files = other_runs(output, period)
    if not files:
        return None
    others = " UNION ALL ".join(
        f"""SELECT {ql(month)} AS month, {_key("o")}, o.source_file, o.source_row
            FROM read_parquet({ql(file)}) o
            WHERE o.line_kind = 'vendor' AND o.charge_date BETWEEN ? AND ?
              AND o.customer_id NOT IN ({", ".join(ql(c) for c in dropped) or "''"})"""
        for file, month, dropped in files
    )
    params = [d for _ in files for d in days]
    keys = ", ".join(LINE_KEY)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _billed_elsewhere AS
            SELECT *, row_number() OVER (PARTITION BY month, {keys}
                                         ORDER BY source_file, source_row) AS n
            FROM ({others})""",
        params,
    )
    try:
        # the n-th line of a key in this run matches the n-th of another run: counted, not
        # joined; only this run's lines of the days another run holds are numbered
        # a line with a vendor line id that the other run holds under another id only (no line
        # of that vendor, day and id there): the same charge delivered again, numbered apart
        same_id = " AND ".join(f"a.{c} = b.{c}" for c in LINE_ID_KEY)
        rows = con.execute(
            f"""WITH lines AS (
                    SELECT {_key("h")}, h.source_file, h.source_row
                    FROM {table} h WHERE h.line_kind = 'vendor' AND h.charge_date IN
                         (SELECT DISTINCT charge_date FROM _billed_elsewhere)),
                here AS (
                    SELECT *, row_number() OVER (PARTITION BY {keys}
                                                 ORDER BY source_file, source_row) AS n
                    FROM lines),
                by_id AS (
                    SELECT h.source_file, h.source_row, h.charge_date, t.month,
                           t.source_file AS other_file, t.source_row AS other_row,
                           CASE WHEN h.content IS DISTINCT FROM t.content THEN 'restated' END
                             AS how
                    FROM here h JOIN _billed_elsewhere t
                      ON {" AND ".join(f"h.{c} IS NOT DISTINCT FROM t.{c}" for c in LINE_KEY)}
                     AND h.n = t.n),
                here_other AS (
                    SELECT *, row_number() OVER (PARTITION BY charge
                                                 ORDER BY source_file, source_row) AS m
                    FROM lines a WHERE a.vendor_line_id IS NOT NULL AND NOT EXISTS
                         (SELECT 1 FROM _billed_elsewhere b WHERE {same_id})),
                there_other AS (
                    SELECT *, row_number() OVER (PARTITION BY month, charge
                                                 ORDER BY source_file, source_row) AS m
                    FROM _billed_elsewhere a WHERE a.vendor_line_id IS NOT NULL AND NOT EXISTS
                         (SELECT 1 FROM lines b WHERE {same_id})),
                by_charge AS (
                    SELECT h.source_file, h.source_row, h.charge_date, t.month,
                           t.source_file, t.source_row, 'other id'
                    FROM here_other h JOIN there_other t ON h.charge = t.charge AND h.m = t.m),
                found AS (SELECT * FROM by_id UNION ALL SELECT * FROM by_charge)
                SELECT source_file, source_row, charge_date, month, other_file, other_row,
                       count(*) OVER () AS shared, how
                FROM found
                ORDER BY source_file, source_row, month
                LIMIT {MAX_SHOWN}"""
        ).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _billed_elsewhere")
    if not rows:
        return None
    shared = rows[0][6]
    problems = [
        Problem(
            report_name(file, Path(reports)),
            row,
            "ChargePeriodStart",
            f"a line charged {day.isoformat()} that the run of {month} ({output / month}) "
            f"billed already from {Path(other_file or '').name}, row {other_row}"
            + _HOW.get(how, ""),
            f"a line billed in one month only ({shared} line(s) shared)",
        )
        for file, row, day, month, other_file, other_row, _, how in rows
    ]
    return BilledElsewhere(shared, sorted({r[3] for r in rows}), problems)


@dataclass(frozen=True)
class SplitDay:
    """A day of one vendor account that this run and the run of another period both bill lines
    of, none with a vendor line id: their billed costs (vendor currency, unrounded), the other
    run's reports and this run's (file, row) lines."""

    day: date
    vendor: str
    account: str
    currency: str
    month: str
    billed_there: Decimal
    reports_there: tuple[str, ...]
    billed_here: Decimal
    rows_here: tuple[tuple[str, int], ...]


def _by_day(lines: str) -> str:
    """SQL: the rated lines of the query ``lines``, a Usage line of several days (``charge_end``)
    once per day it covers, as ``charge_date``, with its billed cost spread evenly over them (to
    12 places): October's line of 31 October to 1 November holds 1 November as much as
    November's line of that day does."""
    days = (
        "CASE WHEN charge_category = 'Usage' AND charge_end > charge_date "
        "THEN date_diff('day', charge_date, charge_end) + 1 ELSE 1 END"
    )
    return f"""SELECT * REPLACE (charge_date + CAST(k AS INTEGER) AS charge_date,
                             CASE WHEN n > 1 THEN _xdiv(billed_cost, n) ELSE billed_cost END
                               AS billed_cost)
               FROM (SELECT *, unnest(range(n)) AS k
                     FROM (SELECT *, {days} AS n FROM {lines}))"""


def days_billed_elsewhere(
    con: duckdb.DuckDBPyConnection, output: Path, period: str, table: str = "rated_lines"
) -> list[SplitDay]:
    """Days this run (``table``, its rated lines; ``customer_lines`` for their accounts) bills
    lines of that the published run of another period in ``output`` billed lines of too, for the
    same vendor, subscription (the resource, else the account) and vendor currency, both without
    a vendor line id: an export of a range ending on the 1st inclusive holds the next month's
    first day in part, the next month's export holds it whole. Not refused: the lines differ
    (identical ones ``check_lines_not_billed_elsewhere`` refuses), and two values of one day may
    be two real charges. Per day, vendor, account (``SubAccountId``), currency and other month;
    a Usage line of several days on each day it covers (``_by_day``)."""
    output = Path(output)
    days = con.execute(
        f"""SELECT min(charge_date), max(COALESCE(charge_end, charge_date)) FROM {table}
            WHERE line_kind = 'vendor' AND vendor_line_id IS NULL"""
    ).fetchall()[0]
    files = other_runs(output, period) if days[0] is not None else []
    if not files:
        return []
    install_macros(con)  # _xdiv: a line's cost spread over its days
    others = " UNION ALL ".join(
        f"""SELECT {ql(month)} AS month, o.vendor, o.subscription, o.charge_date, o.charge_end,
                   o.charge_category, o.vendor_currency, o.billed_cost, o.source_file
            FROM read_parquet({ql(file)}) o
            WHERE o.line_kind = 'vendor' AND o.vendor_line_id IS NULL
              AND o.charge_date <= ? AND COALESCE(o.charge_end, o.charge_date) >= ?
              AND o.customer_id NOT IN ({", ".join(ql(c) for c in dropped) or "''"})"""
        for file, month, dropped in files
    )
    key = "vendor, subscription, charge_date, vendor_currency"
    mine = _by_day(f"(SELECT * FROM {table} WHERE line_kind = 'vendor' AND vendor_line_id IS NULL)")
    rows = con.execute(
        f"""WITH there AS ({_by_day(f"({others})")}),
            here AS (
                SELECT h.vendor, h.subscription, h.charge_date, h.vendor_currency, h.billed_cost,
                       h.source_file, h.source_row, c.SubAccountId AS account
                FROM ({mine}) h JOIN customer_lines c
                  ON c.x_SourceFile = h.source_file AND c.x_SourceRow = h.source_row
                WHERE ({key}) IN (SELECT ({key}) FROM there)),
            accounts AS (SELECT DISTINCT {key}, account FROM here),
            billed_there AS (
                SELECT a.vendor, a.account, a.charge_date, a.vendor_currency, t.month,
                       sum(t.billed_cost) AS billed,
                       list(DISTINCT t.source_file ORDER BY t.source_file) AS files
                FROM there t JOIN accounts a USING ({key}) GROUP BY ALL),
            billed_here AS (
                SELECT vendor, account, charge_date, vendor_currency, sum(billed_cost) AS billed,
                       list(source_file ORDER BY source_file, source_row) AS files,
                       list(source_row ORDER BY source_file, source_row) AS rows
                FROM here GROUP BY ALL)
            SELECT t.charge_date, t.vendor, t.account, t.vendor_currency, t.month, t.billed,
                   t.files, h.billed, h.files, h.rows
            FROM billed_there t JOIN billed_here h
              USING (vendor, account, charge_date, vendor_currency)
            ORDER BY t.charge_date, t.vendor, t.account, t.vendor_currency, t.month""",
        [d for _ in files for d in reversed(days)],
    ).fetchall()
    return [
        SplitDay(
            day,
            vendor,
            account or "",
            currency,
            month,
            Decimal(there),
            tuple(Path(f or "").name for f in files_there),
            Decimal(here),
            tuple(zip(files_here, rows_here, strict=True)),
        )
        for (
            day,
            vendor,
            account,
            currency,
            month,
            there,
            files_there,
            here,
            files_here,
            rows_here,
        ) in rows
    ]
