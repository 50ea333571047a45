"""The what-if markup: one customer's rated lines as a run would invoice them if every vendor line
were priced at ``cost x (1 + markup %)``.

One implementation for the billing run's store (``reprice_customer``: the benchmark, a notebook on
the run) and for finished runs read back from their folders (``analysis.repricer``: the margin
notebook): credits and adjustments keep their amount, custom lines stay, and the minimum-fee
top-ups are recomputed from the minimum fees in force (``rating.minimum_lines_sql``, the rating's
own SQL), so the margin shown is the one a run with that markup would invoice. Only the
customer's lines are read: ``rated_lines`` and ``rated_lines.parquet`` are stored by customer, so
DuckDB skips the other customers' row groups.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from billing_lib.errors import ParameterError
from billing_lib.line_labels import line_key_sql
from billing_lib.periods import month_days
from billing_lib.pricing import CREDIT_CATEGORIES
from billing_lib.rating import (
    DEC,
    MINIMUM_SCOPE,
    RATED_COLUMNS,
    install_macros,
    minimum_lines_sql,
    minimum_rules_sql,
)
from billing_lib.sql import ql
from billing_lib.store import frame

MAX_WHAT_IF = Decimal(1000)
#: The lines the what-if re-prices: vendor lines that are not credits or adjustments.
REPRICED = f"line_kind = 'vendor' AND COALESCE(charge_category, '') NOT IN {CREDIT_CATEGORIES}"


def markup_factor(markup_percent: Decimal | int | str) -> Decimal:
    """``1 + markup / 100`` for a markup from -100 to MAX_WHAT_IF percent (ParameterError else)."""
    pct = Decimal(str(markup_percent))
    if not pct.is_finite() or not Decimal(-100) <= pct <= MAX_WHAT_IF:
        raise ParameterError(
            "what-if",
            "markup",
            f"expected a markup from -100 to {MAX_WHAT_IF} %; got {markup_percent!r}",
        )
    return 1 + pct / 100


def reprice(
    con: duckdb.DuckDBPyConnection,
    lines: str,
    rules: str,
    customer_id: str,
    markup_percent: Decimal | int | str,
) -> pd.DataFrame:
    """``customer_id``'s rated lines of the relation ``lines`` (rated_lines columns) re-priced at
    ``markup_percent``, with the minimum-fee top-ups of ``rules`` (a relation with
    ``rating.MINIMUM_RULE_COLUMNS``) recomputed from the re-priced lines; exact Decimals, every
    rated_lines column. The re-priced lines' rule is 'what-if'. ``lines`` is not changed."""
    _reprice_into(con, lines, rules, customer_id, markup_percent)
    return frame(
        con, "SELECT * FROM _whatif ORDER BY period, line_kind, source_file, source_row, rule_id"
    )


def reprice_totals(
    con: duckdb.DuckDBPyConnection,
    lines: str,
    rules: str,
    customer_id: str,
    markup_percent: Decimal | int | str,
) -> pd.DataFrame:
    """``reprice`` summed in DuckDB: per customer, period and invoice currency the re-priced
    lines' count, cost and amount (exact), the same figures as ``TOTALS_SQL`` over ``reprice``'s
    lines. No line is stored: each re-priced amount is cast to 12 places as in ``reprice`` and
    summed per the minimum fees' scope (``minimum_lines_sql`` reads the sums as it reads lines),
    so a customer of 80,000 lines costs one grouped pass over its row groups."""
    factor = str(markup_factor(markup_percent))
    new_amount = f"CAST(cost * CAST(? AS DECIMAL(18,8)) AS {DEC})"
    line_key = _line_key(con, rules, customer_id)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _whatif_sums AS
            SELECT {SUMMED_BY}, {line_key} AS line_key, count(*) AS lines,
                   CAST(sum(cost) AS {DEC}) AS cost,
                   CAST(sum(CASE WHEN {REPRICED} THEN {new_amount} ELSE amount END) AS {DEC})
                     AS amount
            FROM {lines} WHERE customer_id = ? AND line_kind <> 'minimum' GROUP BY ALL""",
        [factor, customer_id],
    )
    top_ups = minimum_lines_sql("_whatif_sums", f"SELECT * FROM {rules} WHERE customer_id = ?")
    return frame(
        con,
        f"""SELECT customer_id, period, currency, CAST(sum(lines) AS BIGINT) AS lines,
                   CAST(sum(cost) AS {DEC}) AS cost, CAST(sum(amount) AS {DEC}) AS amount
            FROM (SELECT customer_id, period, currency, lines, cost, amount FROM _whatif_sums
                  UNION ALL
                  SELECT customer_id, period, currency, 1, cost, amount FROM ({top_ups}))
            GROUP BY ALL ORDER BY ALL""",
        [customer_id],
    )


#: What the re-priced sums of ``reprice_totals`` are grouped by: the totals' keys, and what
#: ``REPRICED`` and a minimum fee's scope (``rating.MINIMUM_SCOPE``) look at, and the product
#: group (with the line key: the invoice line, which the top-ups count).
SUMMED_BY = ", ".join(
    ["customer_id", "period", "currency", "line_kind", *MINIMUM_SCOPE, "product_group"]
)


def _line_key(con: duckdb.DuckDBPyConnection, rules: str, customer_id: str) -> str:
    """SQL of a line's ``line_key`` (``line_labels.line_key_sql``) by the line_grouping the
    minimum fees ``rules`` give ``customer_id`` per period; NULL where they give none (a run
    folder's minimum_fees.parquet written before it held the line_grouping: the top-up then
    counts the revenue in scope rounded once)."""
    columns = [d[0] for d in con.execute(f"SELECT * FROM {rules} LIMIT 0").description]
    if "line_grouping" not in columns:
        return line_key_sql({})
    groupings: dict[tuple[str, ...], list[str]] = {}
    for period, grouping in con.execute(
        f"SELECT DISTINCT period, line_grouping FROM {rules} "
        "WHERE customer_id = ? AND line_grouping IS NOT NULL ORDER BY ALL",
        [customer_id],
    ).fetchall():
        groupings.setdefault(tuple(grouping), []).append(period)
    return line_key_sql(groupings, column="period")


#: Per customer, period and currency: rated lines, cost and amount of ``{source}`` (what
#: ``widgets.compare_margins`` compares, as lines would give it).
TOTALS_SQL = f"""
    SELECT customer_id, period, currency, count(*) AS lines,
           CAST(sum(cost) AS {DEC}) AS cost, CAST(sum(amount) AS {DEC}) AS amount
    FROM {{source}} GROUP BY ALL ORDER BY ALL"""


def _reprice_into(
    con: duckdb.DuckDBPyConnection,
    lines: str,
    rules: str,
    customer_id: str,
    markup_percent: Decimal | int | str,
) -> None:
    """The re-priced lines of ``reprice`` into the temp table ``_whatif``."""
    factor = str(markup_factor(markup_percent))
    install_macros(con)
    new_amount = f"CAST(cost * CAST(? AS DECIMAL(18,8)) AS {DEC})"
    columns = ", ".join(
        f"CASE WHEN {REPRICED} THEN {new_amount} ELSE amount END AS amount"
        if c == "amount"
        else f"CASE WHEN {REPRICED} THEN _xdiv({new_amount}, quantity) ELSE unit_price END "
        "AS unit_price"
        if c == "unit_price"
        else f"CASE WHEN {REPRICED} THEN 'what-if' ELSE rule_id END AS rule_id"
        if c == "rule_id"
        else f"CAST({c} AS {t}) AS {c}"
        for c, t in RATED_COLUMNS.items()
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _whatif AS SELECT {columns} FROM {lines} "
        "WHERE customer_id = ? AND line_kind <> 'minimum'",
        [factor, factor, customer_id],
    )
    lines_keyed = f"(SELECT *, {_line_key(con, rules, customer_id)} AS line_key FROM _whatif)"
    con.execute(
        f"INSERT INTO _whatif BY NAME "
        f"{minimum_lines_sql(lines_keyed, f'SELECT * FROM {rules} WHERE customer_id = ?')}",
        [customer_id],
    )


def reprice_customer(
    con: duckdb.DuckDBPyConnection,
    customer_id: str,
    markup_percent: Decimal | int | str,
    totals: bool = False,
) -> pd.DataFrame:
    """``reprice`` (or ``reprice_totals`` with ``totals``) on the connection ``rating.rate_lines``
    ran on: its ``rated_lines`` and the minimum fees of its price plans."""
    # the first line's period (every line of a run has the run's): no scan of every line
    found = con.execute(
        "SELECT period FROM rated_lines WHERE period IS NOT NULL LIMIT 1"
    ).fetchone()
    if found is None:
        raise ParameterError(
            "what-if", "period", "rate_lines has not rated any line on this connection"
        )
    period = found[0]
    rules = f"({minimum_rules_sql(period, month_days(period, 'rating')[1], customer_id)})"
    how = reprice_totals if totals else reprice
    return how(con, "rated_lines", rules, customer_id, markup_percent)


def margin(lines: pd.DataFrame) -> dict[str, Decimal]:
    """Revenue minus cost of rated lines per invoice currency (exact)."""
    out: dict[str, Decimal] = {}
    for currency, amount, cost in zip(
        lines["currency"], lines["amount"], lines["cost"], strict=True
    ):
        out[currency] = out.get(currency, Decimal(0)) + amount - cost
    return out


#: The file of a run folder with the minimum fees in force (``minimum_rules_sql``), written beside
#: ``rated_lines.parquet`` so the margin notebook's what-if recomputes them as the run did.
MINIMUM_FEES_PARQUET = "minimum_fees.parquet"


def write_minimum_fees(con: duckdb.DuckDBPyConnection, period: str, path: Path) -> Path:
    """The minimum fees in force for every customer in ``period`` (the price plans the run used,
    registered on ``con`` by the rating) as Parquet at ``path``."""
    rules = minimum_rules_sql(period, month_days(period, "rating")[1])
    con.execute(f"COPY ({rules}) TO {ql(str(path))} (FORMAT parquet)")
    return Path(path)
