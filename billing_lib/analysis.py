"""Margin analysis over finished runs (``notebooks/margin_analysis.ipynb``): the runs found, their
rated lines summed per customer, vendor, product and service from ``rated_lines.parquet`` as the
invoices state them (each invoice line rounded once and shared, ``invoiced_shares``: the
invoices' and the journal's figures to the cent), and the what-if re-pricer the margin explorer
uses. A month is analysed as it is
billed now: the lines of an invoice a credit note cancelled are left out, those of the invoice
that replaced it (``billing reissue``) are in."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import pandas as pd

from billing_lib import whatif
from billing_lib.errors import RunError
from billing_lib.invoice_files import billed_nets
from billing_lib.invoiced_shares import KEYS, Invoiced, summary_sql
from billing_lib.invoices import CUSTOMER_SOURCE_FILE, INVOICE_DATA, read_invoice_data
from billing_lib.margin_parameters import LOADED_FROM, MARGIN_PARAMETERS, check_cell_unchanged
from billing_lib.margin_parameters import (  # the notebook calls them from here
    MARGIN_PARAMETER_NAMES as MARGIN_PARAMETER_NAMES,
)
from billing_lib.margin_parameters import check_parameters as check_parameters
from billing_lib.margin_parameters import period_list as period_list
from billing_lib.margin_parameters import resolve as resolve
from billing_lib.money import round_money
from billing_lib.notebook_parameters import parameter_values
from billing_lib.periods import run_periods
from billing_lib.publishing import MANIFEST
from billing_lib.rating import DEC
from billing_lib.run_files import (
    RATED_PARQUET,
    billed_now,
    corrections_of,
    named_if_damaged,
    read_manifest,
)
from billing_lib.run_parameters import check_period
from billing_lib.sql import ql
from billing_lib.store import register_frame, scratch_connection
from billing_lib.what_if_months import check_has_lines
from billing_lib.what_if_months import (  # the explorer's tests call it from here
    credited_not_replaced as credited_not_replaced,
)


def finished_runs(output: Path) -> list[str]:
    """Periods with a published run in ``output`` (a folder named YYYY-MM holding a manifest)."""
    return run_periods(output, MANIFEST)


#: The margin notebook's grain: one row per period, customer, invoice currency, vendor, product
#: group and service (every summary and chart of the notebook is a sum over these rows).
SUMMARY_KEYS = KEYS


def rated_files(output: Path, periods: list[str] | None = None) -> list[Path]:
    """``rated_lines.parquet`` of the finished runs of ``periods`` (None: every finished run), each
    once (a period listed twice would count its lines twice) and in calendar order, whatever
    the order given (every list of the notebook reads the months in it); RunError naming the
    folder and the runs found when one is missing."""
    available = finished_runs(output)
    chosen = (
        available
        if periods is None
        else sorted({check_period(p, MARGIN_PARAMETERS, "periods") for p in periods})
    )
    missing = [p for p in chosen if p not in available]
    if not available:
        raise RunError(
            f"{output}: no finished run in this folder (a folder YYYY-MM holding {MANIFEST}); "
            "bill a month first (billing run --output with this folder), or give the outputs "
            "folder the runs were published in"
        )
    if missing or not chosen:
        raise RunError(
            f"{output}: no finished run for {missing or 'any period'}; runs found: {available}"
        )
    return [Path(output) / p / RATED_PARQUET for p in chosen]


def billed_lines(
    output: Path, files: list[Path], credited_cost: bool = False
) -> tuple[str, list[Path]]:
    """SQL of the rated lines of the runs' ``files`` as billed now (``run_files.billed_now``): a
    customer's lines of an invoice that a credit note cancelled left out, the lines of the invoice
    that replaced it (``billing reissue``) in; and every Parquet file it reads. With
    ``credited_cost``, the vendor lines of a cancelled invoice that no invoice replacing one of
    the month bills (by report name and row: none replaced it, or a corrected accounts.csv moved
    them away from its customer) stay under that customer at amount 0: their vendor cost was
    bought and booked (the run's purchase entry; the credit note reverses only the sale, a
    reissue moves only the cost of the lines it bills, ``moved_cost.moved_cost_entries``), so the
    month shows it as cost without revenue, not as cost gone (the margin overstated by it). So
    do the other lines (fees, top-ups: no cost) of a customer whose invoice none replaced."""
    parts, read = _billed_parts(Path(output), files, credited_cost)
    return "(" + " UNION ALL BY NAME ".join(p.sql for p, _ in parts) + ")", read


def _billed_parts(
    output: Path, files: list[Path], credited_cost: bool
) -> tuple[list[tuple[Invoiced, Path]], list[Path]]:
    """``billed_lines``' parts, each the lines of one set of invoices (``Invoiced``, its
    groupings not read yet) with the run folder whose terms (``whatif.TERMS_PARQUET``) grouped
    its invoice lines: a run's, its lines of cancelled invoices kept at amount 0, a reissued
    invoice's (its own terms where its folder holds them, else the run's); and every Parquet
    file they read."""
    parts, read = [], []
    for run in files:
        dropped, replacing = billed_now(output, run.parent.name)
        source = f"read_parquet({ql(str(run))})"
        where = f" WHERE customer_id NOT IN ({', '.join(map(ql, dropped))})" if dropped else ""
        parts.append((Invoiced(f"(SELECT * FROM {source}{where})", "run"), run.parent))
        if credited_cost and dropped:
            kept = _cost_kept(source, dropped, replacing)
            parts.append((Invoiced(f"({kept})", "credited"), run.parent))
        for f in replacing:
            own = f.parent if (f.parent / whatif.TERMS_PARQUET).is_file() else run.parent
            sql = f"(SELECT * FROM read_parquet({ql(str(f))}))"
            parts.append((Invoiced(sql, f.parent.name), own))
        read += [run, *replacing]
    return parts, read


def _cost_kept(source: str, dropped: list[str], replacing: list[Path]) -> str:
    """SQL of the lines of ``source`` (a run's rated lines) of the ``dropped`` customers that
    ``billed_lines`` keeps at amount 0: the vendor lines no ``replacing`` file bills (by report
    name, as ``reissue`` compares them, and row), and every line of a customer none replaced."""
    reissued = sorted({str(read_manifest(f.parent).get("customer_id")) for f in replacing})
    billed = " UNION ALL ".join(
        f"SELECT {CUSTOMER_SOURCE_FILE} AS f, source_row AS n FROM read_parquet({ql(str(f))}) r "
        "WHERE line_kind = 'vendor'"
        for f in replacing
    )
    vendor_kept = (
        f"NOT EXISTS (SELECT 1 FROM ({billed}) b WHERE b.f = {CUSTOMER_SOURCE_FILE} "
        "AND b.n = r.source_row)"
        if billed
        else "true"
    )
    others_kept = (
        f"r.customer_id NOT IN ({', '.join(ql(c) for c in reissued)})" if reissued else "true"
    )
    return (
        f"SELECT r.* REPLACE (CAST(0 AS {DEC}) AS amount) FROM {source} r "
        f"WHERE r.customer_id IN ({', '.join(ql(c) for c in dropped)}) "
        f"AND CASE WHEN r.line_kind = 'vendor' THEN {vendor_kept} ELSE {others_kept} END"
    )


def billed_run_file(output: Path, periods: list[str], name: str) -> tuple[str, list[Path]]:
    """SQL of the Parquet file ``name`` of ``periods`` as billed now (``billed_lines``' month):
    each run's (``whatif.MINIMUM_FEES_PARQUET``, the minimum fees in force, or
    ``whatif.TERMS_PARQUET``, the customers' terms), and for a customer whose invoice a reissued
    one replaced, the reissue's (billed with the parameters as corrected: a minimum fee changed
    is the correction), where its folder holds one; and every Parquet file it reads. A customer
    whose invoice a credit note cancelled and none replaced has none of the run's rows: its
    month bills nothing, and the run's minimum fee would top up a whole fee from no line. By
    name: a minimum-fees file written before they held the line_grouping lacks that column."""
    parts, read = [], []
    for period in periods:
        dropped, replacing = billed_now(Path(output), period)
        reissued = {str(read_manifest(f.parent).get("customer_id")) for f in replacing}
        own = [f.parent / name for f in replacing]
        own = [f for f in own if f.is_file()]
        replaced = [str(read_manifest(f.parent).get("customer_id")) for f in own]
        gone = sorted({*replaced, *(c for c in dropped if c not in reissued)})
        run = Path(output) / period / name
        where = f" WHERE customer_id NOT IN ({', '.join(map(ql, gone))})" if gone else ""
        parts.append(f"SELECT * FROM read_parquet({ql(str(run))}){where}")
        parts += [f"SELECT * FROM read_parquet({ql(str(f))})" for f in own]
        read += [run, *own]
    return "(" + " UNION ALL BY NAME ".join(parts) + ")", read


def load_summary(output: Path, periods: list[str] | None = None) -> pd.DataFrame:
    """Cost, revenue (``amount``) and the number of rated lines (``lines``) per SUMMARY_KEYS of
    the finished runs of ``periods`` (the service as ``charts.service_sql`` names it), as the
    invoices state them: each invoice line's revenue and cost rounded once, then shared among
    its vendors and services (``invoiced_shares``), so per customer and month the revenue is the
    invoices' net to the cent, and every total and margin shown adds up to theirs. Summed by
    DuckDB from the runs' ``rated_lines.parquet``, named (``customer_name``). Only these sums
    become a DataFrame: a month of ten million rated lines is a few thousand rows here, not
    gigabytes in pandas; the what-if reads the one customer's lines itself (``repricer``). A
    run without ``what_if_terms.parquet`` (older than it) is grouped by the default
    line_grouping, listed in ``attrs["default_grouping"]``: its invoices may differ by a cent,
    which ``revenue_against_invoices`` shows. In a notebook kernel, the parameters it was
    loaded with are recorded (``attrs["parameters"]``, ``check_loaded``)."""
    loaded_with = parameter_values(LOADED_FROM)
    files = rated_files(output, periods)
    parts, read = _billed_parts(Path(output), files, credited_cost=True)
    folders = list(dict.fromkeys(folder for _, folder in parts))
    terms = {folder: _groupings(folder) for folder in folders}
    invoiced = [replace(p, groupings=terms[folder] or {}) for p, folder in parts]
    with scratch_connection() as con, named_if_damaged(read):
        summary = con.sql(summary_sql(invoiced)).to_arrow_table().to_pandas()
    names = customer_names(Path(output), sorted({f.parent.name for f in files}))
    summary["customer_name"] = summary["customer_id"].map(names)
    summary.attrs["runs"] = run_stamps(Path(output), [f.parent.name for f in files])
    summary.attrs["output"] = str(output)
    summary.attrs["parameters"] = loaded_with
    summary.attrs["default_grouping"] = sorted(
        {f.parent.name for f in files if terms[f.parent] is None}
    )
    return summary


def _groupings(folder: Path) -> dict[str, tuple[str, ...]] | None:
    """Each customer's line_grouping as the run (or reissue) in ``folder`` stored it
    (``whatif.TERMS_PARQUET``); None when the folder holds none (a run older than it)."""
    path = folder / whatif.TERMS_PARQUET
    if not path.is_file():
        return None
    with scratch_connection() as con, named_if_damaged([path]):
        rows = con.execute(
            "SELECT customer_id, line_grouping FROM read_parquet(?) "
            "WHERE line_grouping IS NOT NULL",
            [str(path)],
        ).fetchall()
    return {str(c): tuple(g) for c, g in rows}


def run_stamps(output: Path, periods: list[str]) -> dict[str, tuple[str, ...]]:
    """Per period: its run's id and the folders of its corrections (credit notes, reissued
    invoices), what the month as billed now is read from; another run published, or a
    correction added, changes it."""
    return {
        p: (
            str(read_manifest(output / p).get("run_id")),
            *(f.name for f, _ in corrections_of(output, p)),
        )
        for p in periods
    }


def check_loaded(output: Path, summary: pd.DataFrame) -> None:
    """RunError when a month of ``summary`` (``load_summary``'s ``attrs["runs"]``) is billed
    otherwise now than when it was loaded (billed again, a credit note or reissue since): the
    invoices and the what-if read now would be set against another run's totals, a notebook
    left open showing both as one month. A frame without the record is not checked. First, a
    parameters cell changed since (``margin_parameters.check_cell_unchanged``) is named: another
    ``output`` or ``periods`` than the summary's, its first code cell not run again."""
    check_cell_unchanged(summary.attrs)
    loaded = summary.attrs.get("runs")
    if not loaded:
        return
    now = run_stamps(Path(output), list(loaded))
    changed = sorted(p for p, stamp in loaded.items() if now[p] != tuple(stamp))
    if changed:
        raise RunError(
            f"{output}: the runs of {changed} changed since the summary was loaded (billed "
            "again, or a credit note or reissued invoice since); run the notebook again from "
            "its first cell to see the months as billed now"
        )


#: What the margin notebook's "Totals per customer" says when no customer is billed in the runs
#: loaded (every vendor line unmapped or excluded): "Empty DataFrame" read as a fault.
NO_CUSTOMER = (
    "No customer is billed in the runs loaded: no invoice to sum; the vendor cost billed to no "
    "customer is listed at the end."
)


#: The columns of ``unbilled_cost``.
UNBILLED_COLUMNS = (
    "period",
    "reason",
    "customer_id",
    "vendor",
    "account",
    "vendor_currency",
    "lines",
    "cost",
)


def unbilled_cost(output: Path, periods: list[str] | None = None) -> pd.DataFrame:
    """The vendor cost of the finished runs of ``periods`` that no invoice bills, as each run's
    manifest recorded it: its excluded lines (internal use, vendor taxes, credits the reseller
    keeps; ``run_manifest.unbilled_costs``: a vendor's recoverable VAT is no cost, the ledger
    books it as input VAT) and its unmapped accounts (less, in a negative row, the recoverable
    VAT of their lines, ``run_manifest.input_vat``), per reason, customer (of
    the excluded), vendor, account (of the unmapped) and vendor currency, in that currency
    (BilledCost, exact: the ledger's unbilled-cost account, each of its postings rounded). A
    loss the rated lines cannot show: the reseller paid for these lines and billed nobody. A run
    older than that record gives its excluded cost per vendor currency only. Then, negative,
    what an invoice replacing a credited one bills of those lines now (``_billed_since``). Text
    left empty where it does not apply (no customer of an unmapped account)."""
    rows = []
    for period in [f.parent.name for f in rated_files(output, periods)]:
        manifest = read_manifest(Path(output) / period)
        excluded = manifest.get("unbilled")
        if excluded is None:  # a run written before the manifest listed them
            excluded = [
                {
                    "reason": "excluded (bill the period again for the detail)",
                    "vendor_currency": c.get("vendor_currency"),
                    "cost": c.get("excluded"),
                }
                for c in manifest.get("conservation", [])
                if Decimal(str(c.get("excluded") or 0))
            ]
        for e in excluded:
            rows.append(
                (
                    period,
                    e.get("reason"),
                    e.get("customer_id") or "",
                    e.get("vendor") or "",
                    "",
                    e.get("vendor_currency"),
                    e.get("lines"),
                    Decimal(str(e.get("cost"))),
                )
            )
        named = {}
        for u in manifest.get("unmapped", []):
            account = f"{u.get('account_id')}" + (
                f" ({u['account_name']})" if u.get("account_name") else ""
            )
            named[u.get("vendor"), u.get("account_id")] = account
            rows.append(
                (
                    period,
                    "unmapped account",
                    "",
                    u.get("vendor"),
                    account,
                    u.get("currency"),
                    u.get("lines"),
                    Decimal(str(u.get("cost"))),
                )
            )
        # the VAT on an unmapped account's lines that the ledger booked as input VAT: no cost
        rows += [
            (
                period,
                f"of which recoverable VAT, booked on {v.get('account')} (input VAT)",
                "",
                v.get("vendor"),
                named.get((v.get("vendor"), v.get("account_id")), str(v.get("account_id"))),
                v.get("vendor_currency"),
                -int(v.get("lines") or 0),
                -Decimal(str(v.get("amount"))),
            )
            for v in manifest.get("input_vat", [])
            if v.get("source") == "unmapped account"
        ]
        rows += _billed_since(Path(output), period)
    return pd.DataFrame(rows, columns=list(UNBILLED_COLUMNS))


def unbilled_cost_of(output: Path, summary: pd.DataFrame) -> pd.DataFrame:
    """``unbilled_cost`` of the months of ``summary`` (``load_summary``), as the margin notebook
    lists it under the summary: the months loaded, not those the ``periods`` parameter names now
    (edited, the first code cell not run again, it listed other months than the summary); what
    ``check_loaded`` refuses first."""
    check_loaded(Path(output), summary)
    periods = list(summary.attrs.get("runs") or sorted(set(summary["period"])))
    return unbilled_cost(output, periods)


def _billed_since(output: Path, period: str) -> list[tuple]:
    """``unbilled_cost``'s rows of the vendor lines of ``period`` that an invoice replacing a
    credited one bills now and the run billed to nobody (a corrected accounts.csv mapped an
    unmapped account, or gave an excluded line a customer): negative, per invoice, vendor and
    vendor currency, so the list adds up to the cost still billed to no customer (the summaries
    count those lines' cost on that invoice) while each run's rows stay as its ledger booked
    them."""
    _, replacing = billed_now(output, period)
    run = output / period / RATED_PARQUET
    if not replacing or not run.is_file():
        return []
    rows = []
    with scratch_connection() as con:
        for path in replacing:
            manifest = read_manifest(path.parent)
            with named_if_damaged([run, path]):
                found = con.execute(
                    f"""SELECT vendor, vendor_currency, count(*), sum(billed_cost)
                        FROM read_parquet(?) n WHERE line_kind = 'vendor' AND NOT EXISTS (
                          SELECT 1 FROM read_parquet(?) r WHERE r.line_kind = 'vendor'
                          AND r.source_row = n.source_row
                          AND {CUSTOMER_SOURCE_FILE} = {CUSTOMER_SOURCE_FILE.replace("r.", "n.")})
                        GROUP BY ALL ORDER BY ALL""",
                    [str(path), str(run)],
                ).fetchall()
            rows += [
                (
                    period,
                    f"billed since on {manifest.get('invoice')} (billing reissue), billed to "
                    "nobody by the run",
                    str(manifest.get("customer_id")),
                    vendor,
                    "",
                    currency,
                    -lines,
                    -cost,
                )
                for vendor, currency, lines, cost in found
            ]
    return rows


def revenue_against_invoices(output: Path, summary: pd.DataFrame) -> pd.DataFrame:
    """Per period, customer and invoice currency of ``summary`` (``load_summary``): its revenue,
    the net its invoices state (the run's ``invoice_summary.csv`` with the month's credit notes
    and reissued invoices: the month as billed now) and their ``difference``, which is 0: the
    summary shares each invoice line as the invoice rounds it. The margin notebook's check that
    its figures are the invoices' (``equal_to_the_cent``); a month loaded without the run's
    line groupings (``attrs["default_grouping"]``) would show its cents here."""
    check_loaded(Path(output), summary)
    revenue: dict[tuple[str, str, str], Decimal] = {}
    for p, c, cur, amount in summary[["period", "customer_id", "currency", "amount"]].itertuples(
        index=False, name=None
    ):
        revenue[p, c, cur] = revenue.get((p, c, cur), Decimal(0)) + amount
    invoiced = {
        (period, customer, currency): net
        for period in sorted({p for p, _, _ in revenue})
        for (customer, currency), net in billed_nets(output, period).items()
    }
    periods = sorted({p for p, _, _ in revenue | invoiced})
    names = customer_names(Path(output), periods) | dict(
        zip(summary["customer_id"], summary["customer_name"], strict=False)
    )
    rows = []
    for key in sorted(set(revenue) | set(invoiced)):
        rev, net = revenue.get(key, Decimal(0)), invoiced.get(key, Decimal(0))
        rows.append((key[0], key[1], names.get(key[1]), key[2], rev, net, net - rev))
    columns = ["period", "customer_id", "customer_name", "currency", "revenue", "invoiced"]
    return pd.DataFrame(rows, columns=[*columns, "difference"])


def equal_to_the_cent(against: pd.DataFrame) -> str:
    """The margin notebook's sentence on ``revenue_against_invoices``' table when every
    difference is 0: the invoices counted and their nets per currency, which the totals above
    equal to the cent; when there is no invoice at all (a month whose run rated no line), that."""
    if against.empty:
        return (
            "No invoice in the runs loaded: no customer billed, nothing to set the summary against."
        )
    totals = against.groupby("currency", sort=True)["invoiced"].sum()
    nets = ", ".join(f"{c} {round_money(n, str(c)):,f}" for c, n in totals.items())
    return (
        f"Equal to the cent: the revenue above is the invoices' net for every customer and "
        f"month ({len(against)} customer months, net {nets})."
    )


def customer_names(output: Path, periods: list[str]) -> dict[str, str]:
    """Customer id -> name as its latest issued invoice of the runs of ``periods`` shows it (the
    runs' ``invoices.json`` and those of the invoices replacing a credited one, ``billing
    reissue``: a name corrected by the reissue, or a customer renamed since, is the name now),
    so summaries read "C001 Dijkstra Architecten B.V."."""
    issued: dict[str, tuple[tuple, str]] = {}
    for k, period in enumerate(sorted(periods)):
        folders = [Path(output) / period]
        folders += [
            f for f, m in corrections_of(Path(output), period) if m.get("kind") == "reissue"
        ]
        for j, folder in enumerate(folders):
            path = folder / INVOICE_DATA
            if not path.is_file():
                continue
            for i in read_invoice_data(path)[1].values():
                when = (i.issue_date, k, j)
                if i.customer_id not in issued or issued[i.customer_id][0] <= when:
                    issued[i.customer_id] = (when, i.buyer.name)
    return {c: name for c, (_, name) in issued.items()}


def runs_overview(summary: pd.DataFrame) -> pd.DataFrame:
    """Rated lines, customers and vendors per loaded period (of ``load_summary``'s rows), a
    period it loaded without a row (its run rated no line) with none: left out, the month read
    as not loaded."""
    with scratch_connection() as con:
        register_frame(con, "summary", summary)
        counted = con.sql("""SELECT period, CAST(sum(lines) AS BIGINT) AS rated_lines,
                                    count(DISTINCT customer_id) AS customers,
                                    string_agg(DISTINCT vendor, ', ' ORDER BY vendor) AS vendors
                             FROM summary GROUP BY period ORDER BY period""").to_df()
    none = [p for p in summary.attrs.get("runs", {}) if p not in set(counted["period"])]
    if not none:
        return counted
    rows = pd.DataFrame({"period": none, "rated_lines": 0, "customers": 0, "vendors": ""})
    rows = rows.astype(counted.dtypes.to_dict())
    parts = [f for f in (counted, rows) if not f.empty]
    return pd.concat(parts).sort_values("period", ignore_index=True)


class Repricer(Protocol):
    """``repricer``'s what-if: (selection, customer, markup, unit_price_places) -> lines."""

    def __call__(
        self,
        selection: pd.DataFrame,
        customer: str,
        markup: Decimal | None,
        unit_price_places: int | None = None,
    ) -> pd.DataFrame: ...


def repricer(output: Path) -> Repricer:
    """The margin explorer's what-if over finished runs in ``output``: given the selection (rows
    of ``load_summary``, or rated lines: what matters is their periods), a customer and a
    markup (None: the lines as billed, keyed to their invoice lines the same way, for the
    comparison), ``whatif.reprice`` of that customer's rated lines of those periods, every vendor's,
    read from the runs' ``rated_lines.parquet`` (stored by customer, so only its row groups are
    read), with the minimum fees each run stored beside them (``minimum_fees.parquet``; a
    reissued invoice's own, ``billed_run_file``): the margin is what a run with that markup
    would invoice, with the customers' terms each stored (``what_if_terms.parquet``: credits
    priced, invoice lines). Every vendor's lines, as a run prices
    them all: a minimum fee tops up the revenue of its whole scope, and a VMware minimum topped
    up from the Microsoft lines alone would bill the whole fee to a customer whose VMware lines
    reach it (the explorer shows the chosen vendors' lines of it). A month of the customer that
    a credit note cancelled and none replaced has no line: the frame's ``attrs["not_billed"]``
    says so (``credited_not_replaced``), for the explorer to name. RunError naming the file when
    a run folder has none (a run older than it: bill that period again). ``unit_price_places``:
    the re-priced lines priced per unit, as a run prices a markup rule with that field
    (``whatif.reprice``)."""
    output = Path(output)

    def reprice(
        selection: pd.DataFrame,
        customer: str,
        markup: Decimal | None,
        unit_price_places: int | None = None,
    ) -> pd.DataFrame:
        check_loaded(output, selection)
        periods = sorted(set(selection["period"]))
        needed = {
            whatif.MINIMUM_FEES_PARQUET: "the minimum fees the run used",
            whatif.TERMS_PARQUET: "the customers' terms the run used (line grouping, credits "
            "priced)",
        }
        for name, what in needed.items():
            missing = [output / p / name for p in periods if not (output / p / name).is_file()]
            if missing:
                raise RunError(
                    f"{missing[0]}: not found; the what-if needs {what} (runs since this file "
                    f"exists write it): bill {missing[0].parent.name} again"
                )
        lines, rated = billed_lines(output, [output / p / RATED_PARQUET for p in periods])
        rules, fees = billed_run_file(output, periods, whatif.MINIMUM_FEES_PARQUET)
        terms, terms_read = billed_run_file(output, periods, whatif.TERMS_PARQUET)
        with scratch_connection() as con, named_if_damaged([*rated, *fees, *terms_read]):
            con.execute(
                f"CREATE TEMP TABLE _lines AS SELECT * FROM {lines} WHERE customer_id = ?",
                [customer],
            )
            not_billed = [
                why for p in periods if (why := credited_not_replaced(output, p, customer))
            ]
            check_has_lines(con, lines, customer, periods, output, not_billed)
            repriced = whatif.reprice(
                con, "_lines", rules, terms, customer, markup, unit_price_places
            )
        repriced.attrs["not_billed"] = not_billed
        if "customer_name" in selection.columns:  # as load_summary names them, for the summaries
            names = dict(zip(selection["customer_id"], selection["customer_name"], strict=True))
            repriced["customer_name"] = repriced["customer_id"].map(names)
        return repriced

    return reprice
