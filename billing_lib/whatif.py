"""The what-if markup: one customer's rated lines as a run would invoice them if every vendor line
were priced at ``cost x (1 + markup %)``.

One implementation for the billing run's store (``reprice_customer``: the benchmark, a notebook on
the run) and for finished runs read back from their folders (``analysis.repricer``: the margin
notebook): credits and adjustments the plan passes on at cost keep their amount, those it prices
like a charge (``credits: price``) are priced by the markup as the rating would, custom lines
stay, and the fees' lines (minimum-fee top-ups, percent fees, allowances) are recomputed from
the fees in force (``rating.minimum_lines_sql``, the rating's own SQL, from the re-priced lines
as the invoice would print them), so the margin shown is the one a run with that markup would
invoice. A seat fee's line stays as the run billed it: its seats are the licence lines'
quantities over their periods, which a markup does not change. With ``unit_price_places`` the
re-priced lines are priced per unit as a run prices the lines of a markup rule with that field
(``rating.price.price_list_sql``, the rating's own SQL): quantity x the unit price rounded
half-up to those places.
Each line keeps the invoice line it is summed into (``line_key``, ``line_credit``, by the
customer's line_grouping), so ``TOTALS_SQL`` states the net the invoice
would print (``invoiced``: each invoice line rounded, docs/rounding.md) beside the rated lines'
unrounded sum (``amount``). What the what-if needs of the price plans and customers beyond the
minimum fees (the line_grouping, the rules whose credits are priced) is ``terms_sql``; a run
writes it beside its rated lines (``TERMS_PARQUET``). Only the customer's lines are read:
``rated_lines`` and ``rated_lines.parquet`` are stored by customer, so DuckDB skips the other
customers' row groups.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pandas as pd

from billing_lib.errors import ParameterError
from billing_lib.line_labels import line_key_sql
from billing_lib.money import shared_rounding_sql
from billing_lib.periods import month_days
from billing_lib.pricing import CREDIT_CATEGORIES, MAX_UNIT_PLACES
from billing_lib.rating import (
    DEC,
    MINIMUM_SCOPE,
    RATED_COLUMNS,
    install_macros,
    minimum_lines_sql,
    minimum_rules_sql,
)
from billing_lib.rating.price import price_list_sql
from billing_lib.sql import ql
from billing_lib.store import frame

MAX_WHAT_IF = Decimal(1000)
#: The lines the what-if re-prices: vendor lines but the credits and adjustments their plan
#: passes on at cost (those of a rule with ``credits: price`` in ``_priced``, the line's terms:
#: ``terms_sql``, are priced as a charge, as the rating prices them).
REPRICED = (
    f"line_kind = 'vendor' AND (COALESCE(charge_category, '') NOT IN {CREDIT_CATEGORIES} "
    "OR COALESCE(list_contains(_priced, {'plan_id': plan_id, 'rule_id': rule_id}), false))"
)
#: The line kinds of the fees' lines, which the what-if bills again from the re-priced lines.
#: Not a seat fee's (``seat_fee``): its seat-months count the licence lines' quantities and
#: charge periods, which no markup changes, so the what-if keeps the line the run billed.
FEE_LINES = ("minimum", "percent_fee", "allowance")
#: SQL of a rated line's ``line_credit``: a vendor credit is an invoice line of its own
#: (``line_labels``: beside the charges of the same key).
LINE_CREDIT = "(line_kind = 'vendor' AND COALESCE(charge_category, '') = 'Credit')"


#: A markup of the what-if: percent on cost, or None for the lines as the run priced them (the
#: current figures computed as the what-if's, for a comparison of like with like).
Markup = Decimal | int | str | None


#: The most decimals of a what-if markup in percent: its factor on cost (``1 + markup / 100``)
#: is a DECIMAL(18,8) in the SQL, so a seventh decimal would be rounded away without a word.
MARKUP_DECIMALS = 6


def markup_factor(markup_percent: Decimal | int | str) -> Decimal:
    """``1 + markup / 100`` for a markup from -100 to MAX_WHAT_IF percent with at most
    MARKUP_DECIMALS decimals (ParameterError else: the factor would not be the markup asked)."""
    try:
        pct = Decimal(str(markup_percent).strip())
    except InvalidOperation:
        pct = Decimal("NaN")
    if not pct.is_finite() or not Decimal(-100) <= pct <= MAX_WHAT_IF:
        raise ParameterError(
            "what-if",
            "markup",
            f"expected a markup from -100 to {MAX_WHAT_IF} %; got {markup_percent!r}",
        )
    exponent = pct.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MARKUP_DECIMALS:
        raise ParameterError(
            "what-if",
            "markup",
            f"expected a markup with at most {MARKUP_DECIMALS} decimals (its factor on cost is "
            f"exact to 8 places); got {str(markup_percent)!r}",
        )
    return 1 + pct / 100


def check_unit_places(value: object) -> int | None:
    """The what-if's ``unit_price_places``: None (the re-priced lines unrounded, as a markup rule
    without it), or a whole number of places from 0 to MAX_UNIT_PLACES (as a rule's); a
    ParameterError naming it else."""
    if value is None or (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UNIT_PLACES
    ):
        return value
    raise ParameterError(
        "what-if",
        "unit_price_places",
        f"expected a whole number of decimal places from 0 to {MAX_UNIT_PLACES}, or none; got "
        f"{value!r}",
    )


def reprice(
    con: duckdb.DuckDBPyConnection,
    lines: str,
    rules: str,
    terms: str,
    customer_id: str,
    markup_percent: Markup,
    unit_price_places: int | None = None,
) -> pd.DataFrame:
    """``customer_id``'s rated lines of the relation ``lines`` (rated_lines columns) re-priced at
    ``markup_percent`` (None: as the run priced them), with the minimum-fee top-ups of ``rules``
    (a relation with ``rating.MINIMUM_RULE_COLUMNS``) recomputed from the re-priced lines, the
    customer's ``terms`` (``terms_sql``'s columns) telling the credits priced and the invoice
    lines; exact Decimals, every rated_lines column, then ``line_key`` and ``line_credit`` (the
    invoice line each is summed into). The re-priced lines' rule is 'what-if'. ``lines`` is not
    changed. ``unit_price_places``: the re-priced lines priced per unit (module docstring)."""
    _reprice_into(con, lines, rules, terms, customer_id, markup_percent, unit_price_places)
    return frame(
        con, "SELECT * FROM _whatif ORDER BY period, line_kind, source_file, source_row, rule_id"
    )


def reprice_totals(
    con: duckdb.DuckDBPyConnection,
    lines: str,
    rules: str,
    terms: str,
    customer_id: str,
    markup_percent: Markup,
    unit_price_places: int | None = None,
) -> pd.DataFrame:
    """``reprice`` summed in DuckDB: the same figures as ``TOTALS_SQL`` over ``reprice``'s lines.
    No line is stored: each re-priced amount is cast to 12 places as in ``reprice`` and summed
    per the minimum fees' scope and invoice line (``minimum_lines_sql`` reads the sums as it
    reads lines), so a customer of 80,000 lines costs one grouped pass over its row groups.
    ``unit_price_places``: the re-priced lines priced per unit (``_per_unit``)."""
    factor, repriced = _factor(markup_percent)
    places = _places(unit_price_places, repriced)
    rules = fee_rules(con, rules)
    new_amount = f"CAST(cost * CAST(? AS DECIMAL(18,8)) AS {DEC})"
    amount, source = f"CASE WHEN {repriced} THEN {new_amount} ELSE amount END", None
    if places is not None:  # the factor a parameter of the lines' query, before the customer's
        amount, source = (
            "amount",
            _per_unit(con, lines, terms, repriced, places, factor, customer_id),
        )
    line_key = _line_key(con, terms, customer_id)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _whatif_sums AS
            SELECT {SUMMED_BY}, {line_key} AS line_key, {LINE_CREDIT} AS line_credit,
                   count(*) AS lines, CAST(sum(cost) AS {DEC}) AS cost,
                   CAST(sum({amount}) AS {DEC}) AS amount
            FROM {source or _with_terms(lines, terms)} GROUP BY ALL""",
        [factor, customer_id, customer_id],
    )
    top_ups = minimum_lines_sql(
        "_whatif_sums",
        f"SELECT * FROM {rules} WHERE customer_id = ?",
        kinds=fee_kinds(con, rules, customer_id),
        texts=False,  # summed: no text shows
    )
    parts = f"{_LINE}, vendor"
    return frame(
        con,
        TOTALS_SQL.format(
            source=f"""(SELECT {parts}, lines, cost, amount FROM _whatif_sums
                        UNION ALL
                        SELECT {parts}, 1, cost, amount FROM (
                          SELECT *, {line_key} AS line_key, {LINE_CREDIT} AS line_credit
                          FROM ({top_ups})))""",
            lines="sum(lines)",
            where="",
        ),
        [customer_id],
    )


#: What the re-priced sums of ``reprice_totals`` are grouped by: the totals' keys, and what
#: ``REPRICED`` and a minimum fee's scope (``rating.MINIMUM_SCOPE``) look at, and the product
#: group (with the line key and credit: the invoice line, which the top-ups and ``invoiced``
#: count).
SUMMED_BY = ", ".join(
    ["customer_id", "period", "currency", "line_kind", *MINIMUM_SCOPE, "product_group"]
)


def _factor(markup_percent: Markup) -> tuple[str, str]:
    """The factor on cost (text, a query parameter) and the SQL of the lines it re-prices:
    ``REPRICED``, or none for the lines as priced (``markup_percent`` None)."""
    if markup_percent is None:
        return "1", "false"
    return str(markup_factor(markup_percent)), REPRICED


def _per_unit(
    con: duckdb.DuckDBPyConnection,
    lines: str,
    terms: str,
    repriced: str,
    places: int,
    factor: str,
    customer_id: str,
) -> str:
    """The customer's lines of ``_with_terms`` with those ``repriced`` priced as a run prices the
    lines of a markup rule with ``unit_price_places: places``: cost x the factor (a query
    parameter, before the customer's two), its unit price (``_xdiv``, 12 places) rounded half-up
    to ``places`` and quantity x that (``rating.price.price_list_sql``); the others as they are;
    ``unit_places`` the places on the lines re-priced. ParameterError, as the run refuses such a
    rule's line, for the first line re-priced to an amount without a quantity (none, or 0):
    it has no unit price to round."""
    new_amount = f"CAST(cost * CAST(? AS DECIMAL(18,8)) AS {DEC})"
    marked = f"""
        SELECT * REPLACE (CASE WHEN {repriced} THEN {new_amount} ELSE amount END AS amount),
               CASE WHEN {repriced} THEN {int(places)} END AS unit_places
        FROM {_with_terms(lines, terms)}"""
    found = con.execute(
        f"""SELECT source_file, source_row, CAST(amount AS VARCHAR), currency FROM ({marked})
            WHERE unit_places IS NOT NULL AND COALESCE(quantity, 0) = 0 AND amount <> 0
            ORDER BY source_file, source_row LIMIT 1""",
        [factor, customer_id, customer_id],
    ).fetchone()
    if found:
        file, row, amount, currency = found
        raise ParameterError(
            "what-if",
            "unit_price_places",
            f"the what-if prices per unit ({places} places), but {file} row {row} has no "
            f"quantity (or 0) and would be billed {Decimal(amount).normalize():f} {currency}: "
            "it has no unit price to round, and a run would refuse a rule pricing it so; try "
            "the markup without unit_price_places",
        )
    unit = f"""
        SELECT * REPLACE (CASE WHEN unit_places IS NOT NULL THEN _xdiv(amount, quantity)
                               ELSE unit_price END AS unit_price)
        FROM ({marked})"""
    return f"({price_list_sql(unit, [int(places)])})"


def _places(unit_price_places: object, repriced: str) -> int | None:
    """``check_unit_places``, None where no line is re-priced (the lines as the run priced them:
    each rule's own ``unit_price_places`` already applied)."""
    places = check_unit_places(unit_price_places)
    return None if repriced == "false" else places


def _with_terms(lines: str, terms: str) -> str:
    """The customer's lines of ``lines`` but its fees' lines (``FEE_LINES``: billed again from
    the re-priced lines; a query parameter: the customer, twice), with ``_priced``: the rules
    whose credits its terms of the line's period price."""
    kinds = ", ".join(ql(k) for k in FEE_LINES)
    return f"""(SELECT l.*, t.priced_credits AS _priced FROM {lines} l
                LEFT JOIN (SELECT period, priced_credits FROM {terms} WHERE customer_id = ?) t
                  ON t.period = l.period
                WHERE l.customer_id = ? AND l.line_kind NOT IN ({kinds}))"""


#: Columns of the fees in force (``rating.MINIMUM_RULE_COLUMNS``) a run folder's
#: minimum_fees.parquet written before percent fees (or seat fees) lacks, and their value there:
#: every row of one before percent fees is a minimum fee, none of one before seat fees a seat
#: fee.
LATER_FEE_COLUMNS = {
    "fee_kind": "'minimum_fee'",
    "percent": "CAST(NULL AS DECIMAL(18,6))",
    "unit": "CAST(NULL AS VARCHAR)",
    "prorate": "CAST(NULL AS BOOLEAN)",
}


def fee_rules(con: duckdb.DuckDBPyConnection, rules: str) -> str:
    """The relation ``rules`` of the fees in force with the columns of later fees
    (``LATER_FEE_COLUMNS``) where it lacks them (a run folder older than percent fees: minimum
    fees only, as it was billed), but the seat fees: a markup changes no seat a licence line
    counts, so the what-if keeps the run's seat fee lines as they are (``FEE_LINES``), and
    their vendor lines' periods, which count the seats, are not in the rated lines anyway."""
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rules}").fetchall()}
    added = "".join(f", {v} AS {c}" for c, v in LATER_FEE_COLUMNS.items() if c not in have)
    # a row of an older file read beside a newer one (UNION ALL BY NAME) has no fee_kind: a
    # minimum fee, kept
    kept = "COALESCE(fee_kind, 'minimum_fee') <> 'seat_fee'"
    return f"(SELECT * FROM (SELECT *{added} FROM {rules}) WHERE {kept})"


def fee_kinds(con: duckdb.DuckDBPyConnection, rules: str, customer_id: str) -> list[str]:
    """The kinds of the fees ``rules`` (``fee_rules``) has for ``customer_id``: the fees'
    lines are billed by the SQL of those only (``rating.minimum_lines_sql``)."""
    [(kinds,)] = con.execute(
        f"SELECT list(DISTINCT kind ORDER BY kind) FROM (SELECT COALESCE(fee_kind, "
        f"'minimum_fee') AS kind FROM {rules} WHERE customer_id = ?)",
        [customer_id],
    ).fetchall()
    return kinds or []  # NULL: none


def _line_key(con: duckdb.DuckDBPyConnection, terms: str, customer_id: str) -> str:
    """SQL of a line's ``line_key`` (``line_labels.line_key_sql``) by the line_grouping the
    ``terms`` give ``customer_id`` per period; NULL where they give none."""
    groupings: dict[tuple[str, ...], list[str]] = {}
    for period, grouping in con.execute(
        f"SELECT DISTINCT period, line_grouping FROM {terms} "
        "WHERE customer_id = ? AND line_grouping IS NOT NULL ORDER BY ALL",
        [customer_id],
    ).fetchall():
        groupings.setdefault(tuple(grouping), []).append(period)
    return line_key_sql(groupings, column="period")


#: An invoice line of ``TOTALS_SQL``'s lines: one customer's, period's, product group's, line key
#: and credit (its currency is the invoice's).
_LINE = "customer_id, period, currency, product_group, line_key, line_credit"
#: Per customer, period and currency of ``{source}`` (lines with ``vendor``, ``line_key`` and
#: ``line_credit``, as ``reprice`` gives them) but the vendors ``{where}`` leaves out: the rated
#: lines, their cost, their unrounded sum (``amount``), the net the invoice prints
#: (``invoiced``: each invoice line, one product group, line key and credit, rounded half-up to
#: the currency's minor unit, as ``invoices`` rounds it; docs/rounding.md) and the cost it states
#: (``invoiced_cost``: each invoice line's cost rounded the same way, as the invoice's cost and
#: margin and the ledger's cost of sales are). An invoice line of several vendors is shared among
#: them as the margin summary shares it (``money.shared_rounding_sql``), so the vendors chosen
#: show their shares of it, and all of them the invoice's figures. What
#: ``widgets.compare_margins`` compares.
TOTALS_SQL = f"""
    SELECT customer_id, period, currency, CAST(sum(lines) AS BIGINT) AS lines,
           CAST(sum(cost) AS {DEC}) AS cost, CAST(sum(amount) AS {DEC}) AS amount,
           CAST(sum(invoiced) AS {DEC}) AS invoiced,
           CAST(sum(invoiced_cost) AS {DEC}) AS invoiced_cost
    FROM (SELECT *, {shared_rounding_sql("amount", "currency", "line", "vendor")} AS invoiced,
                 {shared_rounding_sql("cost", "currency", "line", "vendor")} AS invoiced_cost
          FROM (SELECT {_LINE}, vendor, {{lines}} AS lines, sum(cost) AS cost,
                       sum(amount) AS amount
                FROM {{source}} GROUP BY ALL)
          WINDOW line AS (PARTITION BY {_LINE}))
    {{where}}
    GROUP BY customer_id, period, currency ORDER BY ALL"""


def totals_sql(source: str, left_out: Collection[str] = ()) -> str:
    """``TOTALS_SQL`` of the lines ``source`` (with ``vendor``, ``line_key`` and
    ``line_credit``), without the vendors ``left_out`` (their shares of the invoice lines)."""
    where = f"WHERE vendor NOT IN ({', '.join(ql(v) for v in sorted(left_out))})"
    return TOTALS_SQL.format(source=source, lines="count(*)", where=where if left_out else "")


#: rated_lines columns a run folder's rated_lines.parquet written before them lacks, and their
#: value there: the what-if reads finished runs of any age.
LATER_COLUMNS = {"charge_end": "CAST(NULL AS DATE)"}


def _reprice_into(
    con: duckdb.DuckDBPyConnection,
    lines: str,
    rules: str,
    terms: str,
    customer_id: str,
    markup_percent: Markup,
    unit_price_places: int | None = None,
) -> None:
    """The re-priced lines of ``reprice`` into the temp table ``_whatif``."""
    factor, repriced = _factor(markup_percent)
    places = _places(unit_price_places, repriced)
    install_macros(con)
    rules = fee_rules(con, rules)
    new_amount = f"CAST(cost * CAST(? AS DECIMAL(18,8)) AS {DEC})"
    amount = f"CASE WHEN {repriced} THEN {new_amount} ELSE amount END"
    unit_price = f"CASE WHEN {repriced} THEN _xdiv({new_amount}, quantity) ELSE unit_price END"
    source, factors = _with_terms(lines, terms), [factor, factor]
    if places is not None:  # priced per unit in the lines' query (its one factor parameter)
        source = _per_unit(con, lines, terms, repriced, places, factor, customer_id)
        amount, unit_price, factors = "amount", "unit_price", [factor]
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {lines}").fetchall()}
    columns = ", ".join(
        f"{LATER_COLUMNS[c]} AS {c}"
        if c in LATER_COLUMNS and c not in have
        else f"{amount} AS amount"
        if c == "amount"
        else f"{unit_price} AS unit_price"
        if c == "unit_price"
        else f"CASE WHEN {repriced} THEN 'what-if' ELSE rule_id END AS rule_id"
        if c == "rule_id"
        else f"CAST({c} AS {t}) AS {c}"
        for c, t in RATED_COLUMNS.items()
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _whatif AS SELECT {columns} FROM {source}",
        [*factors, customer_id, customer_id],
    )
    line_key = _line_key(con, terms, customer_id)
    keyed = f"(SELECT *, {line_key} AS line_key FROM _whatif)"
    top_ups = minimum_lines_sql(
        keyed,
        f"SELECT * FROM {rules} WHERE customer_id = ?",
        kinds=fee_kinds(con, rules, customer_id),
    )
    con.execute(f"INSERT INTO _whatif BY NAME {top_ups}", [customer_id])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _whatif AS "
        f"SELECT *, {line_key} AS line_key, {LINE_CREDIT} AS line_credit FROM _whatif"
    )


#: The file of a run folder with the customers' terms the what-if needs (``terms_sql``), written
#: beside ``rated_lines.parquet`` so the margin notebook's what-if prices and rounds as the run.
TERMS_PARQUET = "what_if_terms.parquet"


def terms_sql(period: str, customer: str | None = None) -> str:
    """Per customer of the price plans registered on the connection (``price_customers``; only
    ``customer`` when given), for ``period``: its ``line_grouping`` (the invoice lines its lines
    are summed into and rounded) and ``priced_credits``, the rules (plan_id, rule_id) whose
    credits and adjustments the plans price like a charge (``credits: price``; the others pass
    theirs on at cost or keep them). A query to embed, its values quoted literals."""
    only = f"WHERE c.customer_id = {ql(customer)}" if customer is not None else ""
    return f"""
        SELECT {ql(period)} AS period, c.customer_id, c.line_grouping,
               (SELECT list({{'plan_id': r.plan_id, 'rule_id': r.rule_id}}
                            ORDER BY r.plan_id, r.rule_id)
                FROM price_rules r WHERE r.credits = 'price') AS priced_credits
        FROM price_customers c {only} ORDER BY c.customer_id"""


def write_terms(con: duckdb.DuckDBPyConnection, period: str, path: Path) -> Path:
    """``terms_sql`` of every customer in ``period`` (the price plans and customers the run used,
    registered on ``con`` by the rating) as Parquet at ``path``."""
    con.execute(f"COPY ({terms_sql(period)}) TO {ql(str(path))} (FORMAT parquet)")
    return Path(path)


def reprice_customer(
    con: duckdb.DuckDBPyConnection,
    customer_id: str,
    markup_percent: Markup,
    totals: bool = False,
    unit_price_places: int | None = None,
) -> pd.DataFrame:
    """``reprice`` (or ``reprice_totals`` with ``totals``) on the connection ``rating.rate_lines``
    ran on: its ``rated_lines``, the minimum fees of its price plans and its customers' terms;
    ``unit_price_places`` as ``reprice``'s."""
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
    terms = f"({terms_sql(period, customer_id)})"
    how = reprice_totals if totals else reprice
    return how(con, "rated_lines", rules, terms, customer_id, markup_percent, unit_price_places)


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
