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
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from billing_lib.billed_reports import report_name
from billing_lib.errors import InputError, Problem
from billing_lib.importers.commitment_views import AMORTISED_EXPORTS
from billing_lib.importers.purchase_sources import ORDER_SQL
from billing_lib.periods import run_periods
from billing_lib.run_files import MANIFEST, billed_now, read_manifest
from billing_lib.sql import ql

#: ``manifest.json``'s key of the orders a run billed.
COMMITMENTS = "commitments"
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
        AND ((ChargeCategory = 'Purchase' AND ChargeFrequency IS DISTINCT FROM 'Recurring')
             OR (ChargeCategory = 'Usage'
                 AND x_Format IN ({", ".join(ql(f) for f in AMORTISED_EXPORTS)})))),
    billed AS (
      SELECT DISTINCT source_file, source_row, customer_id FROM rated_lines
      WHERE line_kind = 'vendor')
    SELECT c.ord, c.view, b.customer_id, min_by(c.file, c.row), min(c.row), count(*),
           sum(c.cost), any_value(c.currency)
    FROM c JOIN billed b ON b.source_file = c.file AND b.source_row = c.row
    GROUP BY ALL ORDER BY 1, 2, 3"""


def billed_commitments(con: duckdb.DuckDBPyConnection, reports: Path) -> list[dict]:
    """The Microsoft commitment orders this run bills (``manifest.json`` ``commitments``): per
    order, view (``bought``: a one-time purchase; ``amortised``: an amortized-cost export's lines
    carrying its cost) and customer, the first report (named within ``reports``) and row, the
    lines, their cost and currency. The rated lines are read only when the month has a Microsoft
    commitment line at all (most months have none: no scan of a million rated lines for them)."""
    [(any_line,)] = con.execute(
        "SELECT EXISTS (SELECT 1 FROM lines WHERE x_Vendor = 'microsoft' "
        "AND CommitmentDiscountId IS NOT NULL)"
    ).fetchall()
    if not any_line:
        return []
    return [
        {
            "order": order,
            "view": view,
            "customer_id": customer,
            "file": report_name(file, Path(reports)),
            "row": row,
            "lines": lines,
            "cost": f"{cost.normalize():f}",
            "currency": currency,
        }
        for order, view, customer, file, row, lines, cost, currency in con.execute(
            BILLED_COMMITMENTS_SQL
        ).fetchall()
    ]


def _billed_by_other_months(output: Path, period: str) -> list[tuple[str, dict]]:
    """(month, entry) of each ``commitments`` entry of the published runs of the other periods
    in ``output``, without the customers whose invoice a credit note cancelled."""
    found = []
    for month in run_periods(output, MANIFEST):
        if month == period:
            continue
        listed = read_manifest(Path(output) / month).get(COMMITMENTS) or []
        if not listed:
            continue
        dropped = set(billed_now(output, month)[0])
        found += [
            (month, e)
            for e in listed
            if isinstance(e, dict) and e.get("order") and e.get("customer_id") not in dropped
        ]
    return found


def check_commitments_not_billed_elsewhere(
    con: duckdb.DuckDBPyConnection, output: Path, period: str, reports: Path
) -> None:
    """InputError naming each order of this run's billed lines that the published run of another
    period in ``output`` billed in the other view (module docstring): an up-front purchase there
    and its amortised cost here, or the other way round."""
    here = billed_commitments(con, reports)
    if not here:
        return
    there = _billed_by_other_months(Path(output), period)
    problems, months = [], set()
    for mine in here:
        for month, other in there:
            if other.get("order") != mine["order"] or other.get("view") == mine["view"]:
                continue
            months.add(month)
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
        return
    more = f" (the first {MAX_SHOWN} shown)" if len(problems) > MAX_SHOWN else ""
    raise InputError(
        f"the reports of {period} bill {len(problems)} Microsoft reservation or savings plan "
        f"order(s) that the run of {', '.join(sorted(months))} billed already in the other "
        f"view{more}: an order paid up front is billed whole in the month it is bought, and "
        "the amortized-cost export spreads that same payment over the months of its term, so "
        f"billing both would bill the commitment twice. Nothing was billed or written. Bill the "
        "months after an up-front purchase from the actual-cost export (the covered usage at 0), "
        "or bill the purchase's month from the amortized-cost export too",
        problems[:MAX_SHOWN],
    )
