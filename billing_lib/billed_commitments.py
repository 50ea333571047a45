"""A Microsoft reservation or savings plan paid up front that one month billed as bought and
another month as amortised cost, refused before this run takes an invoice number.

An order paid up front (a one-time Purchase line: the actual-cost export's purchase, or the
invoice reconciliation file's) bills the whole commitment in the month it is bought. The
amortized-cost export of every later month of its term spreads that same payment over the usage
it covers and the unused part (``importers/commitment_views``: the lines carrying a cost and the
order in ``CommitmentDiscountId``). Within one import the two views of an order are refused
together; a reseller who bills October from the actual-cost export and November from the
amortized one billed each later month's share a second time, and no check compared the months:
the lines share no day and no row. Each run therefore records the orders it billed in either view
(``manifest.json`` ``commitments``), and a run holding an order that another published month
billed in the other view is refused, naming both. An order paid monthly (Recurring) pays each
month's share in that month: its purchase in one month and its amortised cost in another bill
different months and are read.

AWS the same way (Cost and Usage Reports, legacy and 2.0): a Savings Plan's upfront fee
(``SavingsPlanUpfrontFee``) or a reserved instance's (a ``Fee`` line with its ARN) priced on
BilledCost bills the payment whole in the month it is bought; the usage it covers in a later month
(``SavingsPlanCoveredUsage``, ``DiscountedUsage``) priced on its amortised cost (a rule's
``basis: EffectiveCost``) bills its share of that payment again. The order is the plan's or
reservation's ARN; a plan without an upfront fee (No Upfront) has no bought view and is read.

FOCUS exports of any provider alike: a commitment's one-time Purchase priced on BilledCost bills it
bought, and usage whose EffectiveCost is not its BilledCost (its share of a payment made up front)
priced on EffectiveCost bills it amortised. The order is the CommitmentDiscountId; FOCUS makes that
column optional, and a commitment no line names (a SaaS provider's spend agreement) is the billing
account's (``aws billing account 402719385610``): a purchase naming none counts as bought only
where its EffectiveCost is not its BilledCost (spread over usage: a commitment, not a one-off).

A run published before manifests listed ``commitments`` (or a reissued invoice's folder) is not
taken for billing none: its rated lines keep no order id, so what it billed cannot be derived
from its folder, and a run billing a commitment beside it is refused, naming its folder, until
``review.yaml``'s ``commitments_checked`` lists its month (its invoices checked by the analyst);
the run's manifest then records that month as let through uncompared
(``commitments_waived_as_checked``), so that the waiver stays visible to whoever reads the run.
Only where this run bills amortised views alone and the older run's ``rated_lines.parquet``
bills no Purchase line (every bought view is one) is it known to have bought none.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import NamedTuple

import duckdb

from billing_lib.billed_reports import report_name
from billing_lib.errors import InputError, Problem
from billing_lib.importers.commitment_views import AMORTISED_EXPORTS
from billing_lib.importers.purchase_sources import ORDER_SQL
from billing_lib.periods import run_periods
from billing_lib.run_files import MANIFEST, RATED_PARQUET, billed_now, read_manifest
from billing_lib.sql import ql
from billing_lib.store import scratch_connection

#: The AWS formats whose line item types tell an upfront fee from the usage it covers.
AWS_CUR_FORMATS = ("aws_cur2", "aws_cur_legacy")

#: The FOCUS format, of any provider (a commitment's order is its CommitmentDiscountId).
FOCUS = "focus"

#: ``manifest.json``'s key of the orders a run billed.
COMMITMENTS = "commitments"
#: ``manifest.json``'s key of the months stated checked (``commitments_checked``) whose folders,
#: listing no ``commitments``, the run's commitments were let through beside uncompared.
WAIVED = "commitments_waived_as_checked"
#: The two views of an order: its up-front purchase, or its cost spread over the covered usage.
BOUGHT, AMORTISED = "bought", "amortised"
#: Orders shown in the message (the count says how many there are).
MAX_SHOWN = 20

#: The orders of this run's billed vendor lines (the rated lines'), per view and customer: the
#: Microsoft one-time purchases with a cost, and the amortized-cost exports' lines carrying one.
BILLED_COMMITMENTS_SQL = f"""
    WITH c AS (
      SELECT {ORDER_SQL} AS ord,
             CASE WHEN ChargeCategory = 'Purchase' THEN '{BOUGHT}' ELSE '{AMORTISED}' END AS view,
             x_SourceFile AS file, x_SourceRow AS row, BilledCost AS cost,
             BillingCurrency AS currency
      FROM lines
      WHERE x_Vendor = 'microsoft' AND CommitmentDiscountId IS NOT NULL AND BilledCost <> 0
        AND x_Format <> '{FOCUS}'
        AND ((ChargeCategory = 'Purchase' AND ChargeFrequency IS DISTINCT FROM 'Recurring')
             OR (ChargeCategory = 'Usage'
                 AND x_Format IN ({", ".join(ql(f) for f in AMORTISED_EXPORTS)})))),
    billed AS (
      SELECT DISTINCT r.source_file, r.source_row, r.customer_id
      FROM rated_lines r SEMI JOIN c ON r.source_file = c.file AND r.source_row = c.row
      WHERE r.line_kind = 'vendor')
    SELECT c.ord, c.view, b.customer_id, min_by(c.file, c.row), min(c.row), count(*),
           sum(c.cost), any_value(c.currency)
    FROM c JOIN billed b ON b.source_file = c.file AND b.source_row = c.row
    GROUP BY ALL ORDER BY 1, 2, 3"""


def _priced_commitments_sql(candidates: str, amortised: str) -> str:
    """The orders of ``candidates`` (a query of the lines of a vendor's commitments: ``ord``,
    ``view``, ``file``, ``row``, BilledCost, EffectiveCost, ``currency``) that the rated lines
    bill in their view, per order, view and customer: a purchase whose rated line bills its
    BilledCost (bought), a line whose rated line bills its EffectiveCost where ``amortised``
    (SQL over ``c``) holds (amortised); the cost the rated lines bill. Only the rated lines of
    the candidates' rows are read: DISTINCT over every rated line took 3.6 s of the 10M month's
    manifest, this 1.3-1.5 s (benchmarks/README.md, 2026-12-03 13:00)."""
    return f"""
    WITH c AS ({candidates}),
    billed AS (
      SELECT DISTINCT r.source_file, r.source_row, r.customer_id, r.vendor_cost
      FROM rated_lines r SEMI JOIN c ON r.source_file = c.file AND r.source_row = c.row
      WHERE r.line_kind = 'vendor' AND r.vendor_cost <> 0)
    SELECT c.ord, c.view, b.customer_id, min_by(c.file, c.row), min(c.row), count(*),
           sum(b.vendor_cost), any_value(c.currency)
    FROM c JOIN billed b ON b.source_file = c.file AND b.source_row = c.row
    WHERE CASE c.view WHEN '{BOUGHT}' THEN b.vendor_cost = c.BilledCost
          ELSE b.vendor_cost = c.EffectiveCost AND {amortised} END
    GROUP BY ALL ORDER BY 1, 2, 3"""


#: AWS's upfront fees priced on BilledCost (bought) and the usage they cover priced on its
#: amortised cost (EffectiveCost, where it differs from BilledCost), per order (the ARN), view and
#: customer, from the CUR formats' line item types; the cost the rated line bills.
AWS_COMMITMENTS_SQL = _priced_commitments_sql(
    f"""
      SELECT {ORDER_SQL} AS ord,
             CASE WHEN x_VendorChargeType IN ('SavingsPlanCoveredUsage', 'DiscountedUsage')
                  THEN '{AMORTISED}' ELSE '{BOUGHT}' END AS view,
             x_SourceFile AS file, x_SourceRow AS row, BilledCost, EffectiveCost,
             BillingCurrency AS currency
      FROM lines
      WHERE x_Vendor = 'aws' AND x_Format IN ({", ".join(ql(f) for f in AWS_CUR_FORMATS)})
        AND CommitmentDiscountId IS NOT NULL
        AND x_VendorChargeType IN ('SavingsPlanUpfrontFee', 'Fee', 'SavingsPlanCoveredUsage',
                                   'DiscountedUsage')""",
    "c.EffectiveCost <> c.BilledCost",
)


#: FOCUS exports' commitments (module docstring): per order (the CommitmentDiscountId, else the
#: vendor's billing account), view and customer, a one-time purchase priced on BilledCost
#: (bought) and usage priced on an EffectiveCost other than its BilledCost (amortised, which its
#: candidates already are); the cost the rated line bills.
FOCUS_COMMITMENTS_SQL = _priced_commitments_sql(
    f"""
      SELECT COALESCE({ORDER_SQL},
                      x_Vendor || ' billing account ' || COALESCE(BillingAccountId, '')) AS ord,
             CASE WHEN ChargeCategory = 'Purchase' THEN '{BOUGHT}' ELSE '{AMORTISED}' END AS view,
             x_SourceFile AS file, x_SourceRow AS row, BilledCost, EffectiveCost,
             BillingCurrency AS currency
      FROM lines
      WHERE x_Format = '{FOCUS}'
        AND ((ChargeCategory = 'Purchase' AND ChargeFrequency IS DISTINCT FROM 'Recurring'
              AND (CommitmentDiscountId IS NOT NULL OR EffectiveCost <> BilledCost))
             OR (ChargeCategory = 'Usage' AND EffectiveCost <> BilledCost))""",
    "true",
)


def _commitment_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[str, tuple]]:
    """(source, row of a query) of the commitments this run bills: ``microsoft`` (the Azure
    reports), ``aws`` (the CURs) or ``focus``, each query run only where the month has such
    lines (most months have none: no scan of a million rated lines for them)."""
    [(microsoft, aws)] = con.execute(
        "SELECT count(*) FILTER (WHERE x_Vendor = 'microsoft') > 0, "
        "count(*) FILTER (WHERE x_Vendor = 'aws') > 0 "
        "FROM lines WHERE CommitmentDiscountId IS NOT NULL"
    ).fetchall()
    [(focus,)] = con.execute(
        f"SELECT count(*) > 0 FROM imports WHERE format = '{FOCUS}'"
    ).fetchall()
    queries = [
        (source, q)
        for source, q, used in (
            ("microsoft", BILLED_COMMITMENTS_SQL, microsoft),
            ("aws", AWS_COMMITMENTS_SQL, aws),
            ("focus", FOCUS_COMMITMENTS_SQL, focus),
        )
        if used
    ]
    return [(source, r) for source, q in queries for r in con.execute(q).fetchall()]


def _entries(con: duckdb.DuckDBPyConnection, reports: Path) -> list[tuple[str, dict]]:
    """(source, ``commitments`` entry) of each commitment this run bills (``billed_commitments``),
    its source the query's (``_commitment_rows``)."""
    return [
        (
            source,
            {
                "order": order,
                "view": view,
                "customer_id": customer,
                "file": report_name(file, Path(reports)),
                "row": row,
                "lines": lines,
                "cost": f"{cost.normalize():f}",
                "currency": currency,
            },
        )
        for source, (order, view, customer, file, row, lines, cost, currency) in _commitment_rows(
            con
        )
    ]


def billed_commitments(con: duckdb.DuckDBPyConnection, reports: Path) -> list[dict]:
    """The Microsoft, AWS and FOCUS commitment orders this run bills (``manifest.json``
    ``commitments``): per order, view (``bought``: a one-time purchase, an AWS upfront fee on
    BilledCost, a FOCUS one-time purchase on BilledCost; ``amortised``: an amortized-cost
    export's lines carrying its cost, AWS covered usage and FOCUS usage on an EffectiveCost
    other than its BilledCost) and customer, the first report (named within ``reports``) and
    row, the lines, their cost and currency (``_commitment_rows``)."""
    return [entry for _, entry in _entries(con, reports)]


def _listed(manifest: dict, dropped: set[str]) -> list[dict]:
    """The ``commitments`` entries of a manifest, without those of the customers ``dropped``."""
    return [
        e
        for e in manifest.get(COMMITMENTS) or []
        if isinstance(e, dict) and e.get("order") and e.get("customer_id") not in dropped
    ]


class Unlisted(NamedTuple):
    """A folder of another month (a run's, or a reissued invoice's) whose manifest lists no
    ``commitments`` (published before they were recorded): its rated lines, without the
    customers ``dropped`` (their invoice cancelled by a credit note)."""

    month: str
    folder: Path
    dropped: frozenset[str]


def _billed_by_other_months(
    output: Path, period: str
) -> tuple[list[tuple[str, dict]], list[Unlisted]]:
    """(month, entry) of each ``commitments`` entry of the other periods in ``output`` as billed
    now: their published runs without the customers whose invoice a credit note cancelled, and
    the invoices that replaced one (``billing reissue``, whose manifest lists its own); and the
    folders among them whose manifest lists none (``Unlisted``)."""
    found, unlisted = [], []
    for month in run_periods(output, MANIFEST):
        if month == period:
            continue
        dropped, replacing = billed_now(output, month)
        folders = [(Path(output) / month, frozenset(dropped))]
        folders += [(rated.parent, frozenset()) for rated in replacing]
        for folder, gone in folders:
            manifest = read_manifest(folder)
            if COMMITMENTS not in manifest:
                unlisted.append(Unlisted(month, folder, gone))
            found += [(month, e) for e in _listed(manifest, set(gone))]
    return found, unlisted


def _bought_none(older: Unlisted) -> bool:
    """True when the rated lines of ``older`` bill no Purchase line: every view of a commitment
    bought up front is one (Microsoft's and FOCUS's one-time purchase, AWS's upfront fee), so it
    bought none. False where it cannot tell (no readable rated_lines.parquet)."""
    rated = older.folder / RATED_PARQUET
    if not rated.is_file():
        return False
    try:
        with scratch_connection() as con:
            [(purchases,)] = con.execute(
                "SELECT count(*) FROM read_parquet(?) WHERE line_kind = 'vendor' "
                "AND charge_category = 'Purchase' AND NOT list_contains(?, customer_id)",
                [str(rated), sorted(older.dropped)],
            ).fetchall()
    except duckdb.Error:
        return False
    return purchases == 0


def _not_known(here: list[tuple[str, dict]], unlisted: list[Unlisted]) -> list[Unlisted]:
    """The folders of ``unlisted`` whose commitments are not known beside ``here``'s: all, but
    those known to have bought none where ``here`` bills amortised views alone."""
    if all(mine["view"] == AMORTISED for _, mine in here):
        return [u for u in unlisted if not _bought_none(u)]
    return unlisted


def _refuse_not_known(
    here: list[tuple[str, dict]], unlisted: list[Unlisted], period: str, who: str
) -> None:
    """InputError naming each order of ``here`` and each folder of ``unlisted`` (not known,
    ``_not_known``, and not stated checked): whether those runs billed one in the other view is
    not known."""
    if not unlisted:
        return
    months = sorted({u.month for u in unlisted})
    runs = ", ".join(f"{u.month} ({u.folder})" for u in unlisted)
    problems = [
        Problem(
            mine["file"],
            mine["row"],
            "CommitmentDiscountId",
            f"the reservation or savings plan order {mine['order']} ({mine['view']}: "
            f"{mine['lines']} line(s), {mine['currency']} {mine['cost']}) not compared with the "
            f"run of {runs}",
            "a commitment compared with the commitments every other month billed",
        )
        for _, mine in here[:MAX_SHOWN]
    ]
    more = f" (the first {MAX_SHOWN} shown)" if len(here) > MAX_SHOWN else ""
    raise InputError(
        f"{who} {len(here)} commitment(s) (reservations, savings plans) that the run of "
        f"{', '.join(months)} may have billed in the other view: it was published before run "
        f"manifests listed the commitments billed (its manifest.json has no {COMMITMENTS}: "
        f"{runs}), and its rated lines keep no order, so the commitments it billed are not "
        f"known{more}. An order billed bought up front there and amortised in {period}, or the "
        "other way round, would be billed twice. Nothing was billed or written. Check that "
        "month's invoices for these orders; where none was billed in the other view, state it "
        f"in parameters/review.yaml (commitments_checked: [{', '.join(months)}]) and run again",
        problems,
    )


def check_commitments_not_billed_elsewhere(
    con: duckdb.DuckDBPyConnection,
    output: Path,
    period: str,
    reports: Path,
    checked: Collection[str] = (),
) -> list[str]:
    """InputError naming each order of this run's billed lines that the published run of another
    period in ``output`` billed in the other view (module docstring): an up-front purchase there
    and its amortised cost here, or the other way round; or that a run of a month not in
    ``checked`` (``review.yaml``'s ``commitments_checked``) published before manifests listed
    commitments may have billed so. Else the months of ``checked`` let through so, uncompared
    (the manifest's ``commitments_waived_as_checked``, sorted)."""
    here = _entries(con, reports)
    if not here:
        return []
    return refuse_commitments_billed_elsewhere(
        here, output, period, f"the reports of {period} bill", checked
    )


def commitments_of(
    con: duckdb.DuckDBPyConnection, reports: Path, customers: list[str]
) -> list[tuple[str, dict]]:
    """(source, entry) of the commitments the rated lines of ``customers`` bill (the new
    invoices of ``billing reissue``), for ``refuse_commitments_billed_elsewhere`` and the
    reissued invoice's manifest."""
    return [(s, e) for s, e in _entries(con, reports) if e["customer_id"] in customers]


def refuse_commitments_billed_elsewhere(
    here: list[tuple[str, dict]],
    output: Path,
    period: str,
    who: str,
    checked: Collection[str] = (),
) -> list[str]:
    """InputError naming each order of ``here`` ((source, entry): what ``who``, the run's
    reports or a reissue's new invoices, bill) that another period in ``output`` billed in the
    other view as billed now (``_billed_by_other_months``); else, where ``here`` is not empty,
    naming the folders of months not in ``checked`` whose manifest lists no commitments
    (``_refuse_not_known``). Else the months of ``checked`` whose folders list no commitments
    and were not known to have bought none (``_not_known``), so that ``here`` was let through
    beside them uncompared because stated checked: sorted, for the manifest's
    ``commitments_waived_as_checked``."""
    there, unlisted = _billed_by_other_months(Path(output), period)
    problems, months, sources = [], set(), set()
    for source, mine in here:
        for month, other in there:
            if other.get("order") != mine["order"] or other.get("view") == mine["view"]:
                continue
            months.add(month)
            sources.add(source)
            was = "as bought up front" if other.get("view") == BOUGHT else "as amortized cost"
            problems.append(
                Problem(
                    mine["file"],
                    mine["row"],
                    "CommitmentDiscountId",
                    f"the reservation or savings plan order {mine['order']} "
                    f"({mine['view']}: {mine['lines']} line(s), {mine['currency']} "
                    f"{mine['cost']}) that the run of {month} ({Path(output) / month}) billed "
                    f"{was} from {other.get('file')}, row {other.get('row')} "
                    f"({other.get('currency')} {other.get('cost')})",
                    "a commitment billed in one view: the up-front purchase, or its amortized "
                    "cost, not both",
                )
            )
            break
    if not problems:
        if not here or not unlisted:
            return []
        unknown = _not_known(here, unlisted)
        _refuse_not_known(here, [u for u in unknown if u.month not in set(checked)], period, who)
        return sorted({u.month for u in unknown if u.month in set(checked)})
    more = f" (the first {MAX_SHOWN} shown)" if len(problems) > MAX_SHOWN else ""
    months_text = ", ".join(sorted(months))
    if sources == {"microsoft"}:
        raise InputError(
            f"{who} {len(problems)} Microsoft reservation or savings plan "
            f"order(s) that the run of {months_text} billed already in the other "
            f"view{more}: an order paid up front is billed whole in the month it is bought, and "
            "the amortized-cost export spreads that same payment over the months of its term, so "
            "billing both would bill the commitment twice. Nothing was billed or written. Bill "
            "the months after an up-front purchase from the actual-cost export (the covered usage "
            "at 0), or bill the purchase's month from the amortized-cost export too",
            problems[:MAX_SHOWN],
        )
    named = (
        "commitment(s) (FOCUS: the CommitmentDiscountId, or the billing account of a commitment "
        "no line names)"
        if "focus" in sources
        else "reservation or savings plan order(s) (AWS: a Savings Plan's or reserved instance's "
        "ARN)"
    )
    raise InputError(
        f"{who} {len(problems)} {named} that the run of {months_text} billed "
        f"already in the other view{more}: an upfront fee priced on its BilledCost is billed whole "
        "in the month it is bought, and the covered usage priced on its amortised cost "
        "(basis EffectiveCost) bills its share of that same payment again, so billing both would "
        "bill the commitment twice. Nothing was billed or written. Price a commitment's months "
        "on one basis: the covered usage on BilledCost after an upfront fee billed whole, or the "
        "upfront fee on EffectiveCost (0) too, in docs/pricing.md's rules of the price plans",
        problems[:MAX_SHOWN],
    )
