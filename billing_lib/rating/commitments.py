"""Commitments (AWS Savings Plans, reserved instances) whose covered usage and fee are priced so
that the commitment's used part is billed to nobody, twice, or to another customer.

The vendor bills a commitment's fee (its Purchase lines) and gives the usage it covers for
nothing: in BilledCost the covered usage and its negation cancel, a reserved instance's usage
costs 0. The amortised view (EffectiveCost) moves the used part of the fee onto the covered usage.
Priced on different views, that part is billed to nobody (the usage on BilledCost, the fee on
EffectiveCost) or twice (the other way round); priced both on BilledCost, the fee's customer pays
for the usage of another customer the commitment covered (AWS shares a commitment across the
organisation's accounts unless told not to). Priced on EffectiveCost with the fee billed to
nobody (the payer's account, unmapped or excluded), the customers pay the used part, but the
run counts the whole fee as cost billed to nobody (BilledCost), and the journal that part again,
against the prepaid account. ``mark_commitments`` keeps the commitment lines per
commitment, account, customer and basis in ``rating_commitments``; ``commitment_splits`` lists
what disagrees, for the review (information only: the invoices stay as rated).

Per key first: the keys count their commitment lines in the key scan
(``rating_line_keys.commitment_lines``), and the lines are read only when two such keys could
disagree (the sample month's never do).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import product

import duckdb

from billing_lib.pricing import Pricing
from billing_lib.rating.effective_cost import PRICED_ON_EFFECTIVE_COST
from billing_lib.rating.exact import DEC
from billing_lib.rating.keys import key_join, lines_source, used_scope

EFFECTIVE, BILLED, NOT_BILLED = "EffectiveCost", "BilledCost", "not billed"
#: How a key prices its lines' cost: EffectiveCost, BilledCost, or not billed (excluded).
BASIS_SQL = (
    f"CASE WHEN {PRICED_ON_EFFECTIVE_COST} THEN '{EFFECTIVE}' "
    f"WHEN k.action = 'rate' THEN '{BILLED}' ELSE '{NOT_BILLED}' END"
)
#: Source rows kept per group of commitment lines.
ROWS_KEPT = 5
#: A used part below half a cent is nothing to look at.
HALF_CENT = Decimal("0.005")


def _disagree(usage: tuple[str | None, str], fees: list[tuple[str | None, str]]) -> str | None:
    """What goes wrong with the used part of a commitment whose covered usage is ``usage``
    (customer, basis) and whose fee lines are ``fees``: ``nobody``, ``twice``,
    ``other customer``, ``fee not billed`` (the usage bills the used part, but the fee is
    billed to nobody: the run's not-billed cost and the journal count that part again), or
    None."""
    customer, basis = usage
    billed = {c for c, b in fees if b == BILLED}
    if basis == EFFECTIVE:
        if billed:
            return "twice"
        return "fee not billed" if any(b == NOT_BILLED for _, b in fees) else None
    if billed:
        return None if customer in billed else "other customer"
    if basis == NOT_BILLED and all(b == NOT_BILLED for _, b in fees):
        return None  # the reseller's own: neither side billed
    return "nobody"


def _could_disagree(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether two keys with commitment lines (or unmapped commitment lines) could disagree:
    a usage key and a fee key for which ``_disagree`` finds something."""
    rows = con.execute(
        f"""SELECT DISTINCT k.customer, k.charge_category, {BASIS_SQL}
            FROM rating_keys k WHERE k.commitment_lines > 0
            UNION SELECT DISTINCT NULL, ChargeCategory, '{NOT_BILLED}' FROM unmapped_lines
            WHERE CommitmentDiscountId IS NOT NULL"""
    ).fetchall()
    usage = [(c, b) for c, category, b in rows if category == "Usage"]
    fees = [(c, b) for c, category, b in rows if category == "Purchase"]
    return any(_disagree(u, [f]) for u, f in product(usage, fees))


#: ``rating_commitments`` without a line.
EMPTY_COMMITMENTS_SQL = f"""
    CREATE OR REPLACE TEMP TABLE rating_commitments (vendor VARCHAR, commitment VARCHAR,
      currency VARCHAR, fee BOOLEAN, account VARCHAR, customer VARCHAR, basis VARCHAR,
      moved {DEC}, lines BIGINT, rows STRUCT(file VARCHAR, "row" BIGINT)[])"""


def commitment_lines_sql(used: list[str]) -> str:
    """The rows of ``rating_commitments``: the commitment lines (Usage and Purchase) of the
    customer lines per vendor, commitment, currency, side (fee: Purchase), account, customer and
    basis, with the part of the commitment the basis moves (``moved``: EffectiveCost -
    BilledCost of the usage, BilledCost - EffectiveCost of the fee), their count and first
    rows."""
    return f"""
        SELECT l.x_Vendor AS vendor, l.CommitmentDiscountId AS commitment,
               l.BillingCurrency AS currency, l.ChargeCategory = 'Purchase' AS fee,
               l.SubAccountId AS account, l.x_CustomerId AS customer, {BASIS_SQL} AS basis,
               sum(CASE WHEN l.ChargeCategory = 'Purchase'
                        THEN l.BilledCost - COALESCE(l.EffectiveCost, l.BilledCost)
                        ELSE COALESCE(l.EffectiveCost, l.BilledCost) - l.BilledCost END) AS moved,
               count(*) AS lines,
               min_by({{'file': l.x_SourceFile, 'row': l.x_SourceRow}}, l.x_SourceRow,
                      {ROWS_KEPT}) AS rows
        FROM {lines_source(used)} l
        LEFT JOIN rating_calendar c ON c.day = l.x_PricingDate
        LEFT JOIN rating_keys k ON {key_join(used)}
        WHERE l.CommitmentDiscountId IS NOT NULL
          AND l.ChargeCategory IN ('Usage', 'Purchase')
        GROUP BY ALL"""


def mark_commitments(con: duckdb.DuckDBPyConnection, pricing: Pricing) -> None:
    """``rating_commitments`` (``commitment_lines_sql``), read from the lines only when two keys
    could disagree; after ``rating_keys`` and ``unmapped_lines`` are made."""
    if _could_disagree(con):
        con.execute(
            f"{EMPTY_COMMITMENTS_SQL}; INSERT INTO rating_commitments "
            f"{commitment_lines_sql(used_scope(pricing))}"
        )
    else:
        con.execute(EMPTY_COMMITMENTS_SQL)


@dataclass(frozen=True)
class Side:
    """The lines of one commitment of one account, customer and basis: the part of the
    commitment the basis moves, their count and first rows (file, row)."""

    account: str
    customer: str | None
    basis: str
    moved: Decimal
    lines: int
    rows: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class CommitmentSplit:
    """A commitment's covered usage of one account (``usage``, its ``moved`` the used part) and
    its fee lines (``fees``) priced so that the used part is billed to ``outcome``: ``nobody``,
    ``twice``, ``other customer`` (the fee's customer pays for it) or ``fee not billed`` (billed
    in the usage, counted again as cost billed to nobody)."""

    vendor: str
    commitment: str
    currency: str
    usage: Side
    fees: tuple[Side, ...]
    outcome: str


def commitment_splits(con: duckdb.DuckDBPyConnection) -> list[CommitmentSplit]:
    """The covered usage of each commitment whose used part its fee's pricing bills to nobody,
    twice or to another customer (``rating_commitments``; none when the rating made no such
    table). Commitments without a fee line in the month are not compared, nor usage whose used
    part is below half a cent: neither is read (at 10M lines, turning every group into Python
    objects took 1.5 s of the review)."""
    try:
        rows = con.execute(
            """SELECT vendor, commitment, currency, fee, account, customer, basis, moved, lines,
                      rows FROM rating_commitments u
               WHERE (fee OR abs(moved) >= ?)
                 AND EXISTS (SELECT 1 FROM rating_commitments f
                             WHERE f.fee AND f.vendor IS NOT DISTINCT FROM u.vendor
                               AND f.commitment IS NOT DISTINCT FROM u.commitment
                               AND f.currency IS NOT DISTINCT FROM u.currency)
               ORDER BY vendor, commitment, currency, fee, account, customer NULLS LAST, basis""",
            [HALF_CENT],
        ).fetchall()
    except duckdb.CatalogException:
        return []
    groups: dict[tuple[str, str, str], tuple[list[Side], list[Side]]] = {}
    for vendor, commitment, currency, fee, account, customer, basis, moved, n, shown in rows:
        side = Side(
            account,
            customer,
            basis,
            Decimal(moved),
            n,
            tuple((r["file"], r["row"]) for r in shown),
        )
        groups.setdefault((vendor, commitment, currency), ([], []))[1 if fee else 0].append(side)
    out = []
    for (vendor, commitment, currency), (usage, fees) in groups.items():
        if not fees:
            continue
        pairs = [(f.customer, f.basis) for f in fees]
        for u in usage:
            if outcome := _disagree((u.customer, u.basis), pairs):
                out.append(CommitmentSplit(vendor, commitment, currency, u, tuple(fees), outcome))
    return out
