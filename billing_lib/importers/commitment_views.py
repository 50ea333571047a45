"""A Microsoft reservation or savings plan billed both as bought and as amortised.

Azure Cost Management exports a month in two views with the same columns: the actual cost, where a
reservation or savings plan is billed when bought (its Purchase rows) and the usage it covers
costs 0, and the amortized cost, where that purchase is spread over the covered usage (at its
share of the commitment) and the unused part (UnusedReservation, UnusedSavingsPlan rows). Each view
bills the commitment once; an actual-cost and an amortized-cost export given together, or the
invoice reconciliation file's reservation purchase beside an amortized-cost export, bill it twice,
and share no row the overlap checks would find (the covered usage costs 0 in one and its share in
the other).

The Azure cost exports mark a line that carries part of a commitment's cost (covered usage and
unused lines of the amortized view) with the commitment's order (``CommitmentDiscountId``, from
benefitId), as a Purchase line carries the order bought. An order with both a Purchase line with a
cost (any Microsoft report; an amortized export's purchase row at 0 bills nothing) and such an
amortized line is refused, naming both files and rows.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.purchase_sources import ORDER_SQL
from billing_lib.sql import ql

#: The Azure cost exports whose Usage lines may carry the amortised cost of a commitment.
AMORTISED_EXPORTS = ("azure_cost_export_partner", "azure_cost_export")
#: The way out of the refusal.
ONE_VIEW = (
    "bill each commitment once: import the actual-cost export alone (its purchases, and the "
    "covered usage at 0), or the amortized-cost export alone (the commitment spread over the "
    "usage it covers and its unused part) without the purchase's report or rows; not both views "
    "of one month"
)


def check_commitments_in_one_view(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse the store's lines when a Microsoft reservation or savings plan order has a Purchase
    line and amortised lines (Usage lines of an Azure cost export carrying a cost and the order
    in ``CommitmentDiscountId``): its cost would be billed twice (module docstring). Reads
    nothing unless an Azure cost export was imported."""
    formats = {r[0] for r in con.execute("SELECT DISTINCT format FROM imports").fetchall()}
    exports = [f for f in AMORTISED_EXPORTS if f in formats]
    if not exports:
        return
    both = con.execute(
        f"""WITH c AS (
              SELECT x_Format AS format, x_SourceFile AS file, x_SourceRow AS row,
                     ChargeCategory AS category, {ORDER_SQL} AS ord, BilledCost AS cost,
                     BillingCurrency AS currency, SubAccountId AS account
              FROM lines
              WHERE x_Vendor = 'microsoft' AND CommitmentDiscountId IS NOT NULL
                AND ChargeCategory IN ('Purchase', 'Usage')),
            fee AS (SELECT * FROM c WHERE category = 'Purchase' AND cost <> 0),
            amortised AS (
              SELECT ord, min_by(file, row) AS file, min(row) AS row, count(*) AS lines,
                     sum(cost) AS cost, any_value(currency) AS currency
              FROM c
              WHERE category = 'Usage' AND cost <> 0
                AND format IN ({", ".join(ql(f) for f in exports)})
              GROUP BY ord)
            SELECT f.file, f.row, f.ord, f.cost, f.currency, f.account,
                   a.file, a.row, a.lines, a.cost, a.currency
            FROM fee f JOIN amortised a ON a.ord = f.ord
            ORDER BY f.file, f.row"""
    ).fetchall()
    if not both:
        return
    problems = [
        Problem(
            file,
            row,
            "CommitmentDiscountId",
            order,
            f"a commitment not amortised in {a_file} too (its row {a_row} and {lines - 1} more "
            "carry the order's cost)"
            if lines > 1
            else f"a commitment not amortised in {a_file} too (its row {a_row} carries the "
            "order's cost)",
        )
        for file, row, order, _, _, _, a_file, a_row, lines, _, _ in both
    ]
    file, row, order, cost, currency, account, a_file, a_row, lines, a_cost, a_currency = both[0]
    more = f" ({len(both)} purchases in all)" if len(both) > 1 else ""
    raise InputError(
        f"{file}: the reservation or savings plan order {order} of microsoft account {account} "
        f"is billed as bought ({file} row {row}, {currency} {cost.normalize():f}) and as "
        f"amortized cost ({a_file} row {a_row} and {lines - 1} more line(s), "
        f"{a_currency} {a_cost.normalize():f}: an amortized-cost export){more}. The amortized "
        f"cost is the purchase spread over the usage it covers, so the commitment would be "
        f"billed twice. {ONE_VIEW[0].upper()}{ONE_VIEW[1:]}",
        problems,
    )
