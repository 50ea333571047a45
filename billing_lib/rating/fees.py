"""The lines of the price plans' fees: minimum-fee top-ups, percent fees, allowances and seat
fees, each counted from the customer's vendor lines as the invoice prints them - the SQL the
rating and the what-if share (``minimum_rules_sql``, ``minimum_counts_sql``,
``minimum_lines_sql``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from billing_lib.line_figures import display_quantity_sql
from billing_lib.money import money_grouped_sql, price_grouped_sql, round_money_sql
from billing_lib.rating.custom import date_sql
from billing_lib.rating.exact import DEC
from billing_lib.rating.parameters import MINIMUM_SCOPE, PERCENT, scope_equal
from billing_lib.rating.tables import RATED_COLUMNS
from billing_lib.sql import ql

#: Columns of ``minimum_rules_sql``: the fees in force per customer and period, minimum fees,
#: percent fees, allowances and seat fees (``fee_kind``; a minimum fee's ``minimum`` and
#: ``currency``, a percent fee's ``percent``, an allowance's amount in ``minimum``, a seat fee's
#: price per unit in ``minimum``, its ``unit`` and ``prorate``). The run writes them beside its
#: rated lines, ``MINIMUM_FEES_PARQUET``, for the what-if; one written before percent fees has
#: neither ``fee_kind`` nor ``percent``: every row a minimum fee, and one written before seat
#: fees no ``unit`` nor ``prorate`` (``whatif.fee_rules``).
MINIMUM_RULE_COLUMNS = (
    "period",
    "last_day",
    "customer_id",
    "plan_id",
    "rule_id",
    "minimum",
    "currency",
    "fee_kind",
    "percent",
    "unit",
    "prorate",
    "rule_description",
    "rule_product_group",
    *(f"m_{k}" for k in MINIMUM_SCOPE),
    "line_grouping",
)
#: The columns naming a minimum fee in force (its customer, period, rule and amount): the first of
#: ``MINIMUM_RULE_COLUMNS``, up to its scope.
_FEE_COLUMNS = MINIMUM_RULE_COLUMNS[: MINIMUM_RULE_COLUMNS.index("rule_product_group") + 1]


def minimum_rules_sql(period: str, last: date, customer: str | None = None) -> str:
    """The fee rules (minimum and percent fees, allowances, seat fees: ``fee_kind``) in force for
    each customer (or
    ``customer`` only) in ``period``: the customer's plan on the period's last day (``last``) and
    its fee rules valid that day, with their scope (``m_vendor`` ... ``m_charge_category``; NULL
    = any). Of the rules of one kind and scope (the same match fields apart from the customer,
    whatever their case) the customer's own replaces the plan's general one, as a rule for one
    customer beats the others (a negotiated minimum was billed beside the plan's); rules of
    different scopes each apply, and a minimum fee and a percent fee of one scope both apply.
    A percent fee's ``currency`` is the customer's invoice currency. With the
    customer's ``line_grouping``, which the fees count the invoice lines by. Reads the
    ``price_*`` tables of ``register_pricing``. Columns MINIMUM_RULE_COLUMNS. A query to embed in
    others, so its values are quoted literals (``ql``, ``date_sql``), not parameters."""
    only = f"AND a.customer_id = {ql(customer)}" if customer is not None else ""
    scope = ", ".join(f"x.m_{k}" for k in MINIMUM_SCOPE)
    same_scope = ", ".join(f"lower(x.m_{k})" for k in MINIMUM_SCOPE)
    day = date_sql(last)
    return f"""
        WITH cp AS (SELECT a.customer_id, a.plan_id FROM price_assignments a
                    WHERE {day} BETWEEN a.valid_from AND a.valid_to {only}
                    QUALIFY row_number() OVER (PARTITION BY a.customer_id
                                               ORDER BY a.level DESC) = 1)
        SELECT {ql(period)} AS period, {day} AS last_day, cp.customer_id, x.plan_id,
               x.rule_id, x.minimum, COALESCE(x.currency, c.currency) AS currency, x.fee_kind,
               x.percent, x.unit, x.prorate, x.rule_description, x.rule_product_group, {scope},
               c.line_grouping
        FROM cp JOIN price_minimums x ON x.plan_id = cp.plan_id
          AND {day} BETWEEN x.valid_from AND x.valid_to
          AND (x.m_customer IS NULL OR x.m_customer = cp.customer_id)
          LEFT JOIN price_customers c ON c.customer_id = cp.customer_id
        QUALIFY row_number() OVER (PARTITION BY cp.customer_id, x.fee_kind, {same_scope}
                                   ORDER BY x.m_customer IS NULL, x.rule_id) = 1
        ORDER BY cp.customer_id, x.rule_id"""


def _fee_line_sql(
    kind: str,
    group: str,
    description: str,
    quantity: str,
    unit: str,
    price: str,
    amount: str,
    texts: bool = True,
) -> str:
    """The rated_lines columns of a fee's line (``kind``: its line_kind) from a row of
    ``minimum_counts_sql``: the reseller's line of the month's last day, of cost 0 in the invoice
    currency, with the SQL of its product group, text, quantity, unit, unit price and amount.
    Without ``texts`` its text is its rule's id (``minimum_lines_sql``)."""
    zero = f"CAST(0 AS {DEC})"
    description = description if texts else "rule_id"
    return f"""customer_id, period, last_day AS charge_date, CAST(NULL AS DATE) AS charge_end,
                 '{kind}' AS line_kind, 'reseller' AS vendor, NULL AS provider,
                 NULL AS publisher, NULL AS service, NULL AS sku, NULL AS charge_category,
                 NULL AS subscription, NULL AS subscription_name, NULL AS tags,
                 {group} AS product_group, {description} AS description,
                 CAST({quantity} AS {DEC}) AS quantity, {unit} AS unit,
                 CAST({price} AS {DEC}) AS unit_price, CAST({amount} AS {DEC}) AS amount,
                 {zero} AS cost, {zero} AS vendor_cost, {zero} AS billed_cost,
                 currency AS vendor_currency, CAST(1 AS {DEC}) AS fx_rate, currency, plan_id,
                 rule_id, NULL AS source_file, CAST(NULL AS BIGINT) AS source_row,
                 NULL AS vendor_line_id"""


def _top_up_columns(texts: bool = True) -> str:
    """The rated_lines columns of a minimum top-up line of ``minimum_counts_sql``: the minimum
    less ``used``, both printed as the invoice prints amounts (``money_grouped_sql``: "minimum
    EUR 1,500.00, used EUR 58.71"; it read "minimum 1500.00 EUR, used 58.71" beside the
    invoice's "EUR 3,127.29"); where credits were counted, the usage and the credits apart
    ("used EUR 11.00, credits EUR -200.00"), so that a credit the minimum absorbs is not hidden
    in a net "used EUR -189.00". The text is only shown: nothing keys on it across runs (a
    credit note or reissue of an older month reads the stored text; docs/pricing.md)."""
    used = (
        f"CASE WHEN credits = 0 THEN {money_grouped_sql('used', 'currency')} "
        f"ELSE {money_grouped_sql('used - credits', 'currency')} || ', credits ' || "
        f"{money_grouped_sql('credits', 'currency')} END"
    )
    return _fee_line_sql(
        "minimum",
        "COALESCE(rule_product_group, 'services')",
        f"""COALESCE(rule_description, 'Minimum monthly fee')
                   || ' (minimum ' || {money_grouped_sql("minimum", "currency")}
                   || ', used ' || {used} || ')'""",
        "1",
        "'month'",
        "minimum - used",
        "minimum - used",
        texts,
    )


def _percent_fee_sql(base: str, percent: str, currency: str) -> str:
    """SQL of a percent fee: ``percent`` % of ``base`` (the printed lines in its scope), rounded
    once half-up to the minor unit of ``currency`` (``money.round_money_sql``). Exact: the
    DECIMAL product (12 + 6 + 2 places), no division, which DuckDB would do as DOUBLE."""
    exact = f"CAST({base} AS {DEC}) * CAST({percent} AS {PERCENT}) * CAST(0.01 AS DECIMAL(3,2))"
    return round_money_sql(exact, currency)


def _percent_fee_columns(texts: bool = True) -> str:
    """The rated_lines columns of a percent fee's line (``fee``: its amount), from a row of
    ``minimum_counts_sql``: "Cloud management fee 10 % of EUR 4,230.55", the percent as written
    (no trailing zeros) and the base as the invoice prints amounts (``money_grouped_sql``). Its
    cost is 0; its product group the rule's, else services (as a minimum fee's)."""
    shown = f"rtrim(rtrim(CAST(CAST(percent AS {PERCENT}) AS VARCHAR), '0'), '.')"
    return _fee_line_sql(
        "percent_fee",
        "COALESCE(rule_product_group, 'services')",
        f"""COALESCE(rule_description, 'Management fee') || ' ' || {shown} || ' % of '
                   || {money_grouped_sql("used", "currency")}""",
        "1",
        "'month'",
        "fee",
        "fee",
        texts,
    )


#: Columns of ``minimum_counts_sql``: each fee in force with what it counts (``covered_group``:
#: the product group of the lines it counts when they are of one, else NULL).
MINIMUM_COUNT_COLUMNS = (*_FEE_COLUMNS, "used", "credits", "covered_group")


def minimum_counts_sql(source: str, rules: str, seats: bool = False) -> str:
    """Per fee of ``rules`` (a relation with MINIMUM_RULE_COLUMNS; ``fee_kind`` NULL is a minimum
    fee), what it counts of the
    vendor lines of ``source`` (MINIMUM_COUNT_COLUMNS): ``used``, the revenue in its scope, and
    of it ``credits``, the vendor credits (ChargeCategory Credit: passed on at cost or priced)
    that the top-up thus absorbs. ``source`` holds the rated lines (or their sums) of the
    customers' period with ``line_key``, the invoice line of the customer's line_grouping each is
    summed into (``line_labels.line_key_sql``; NULL: not known). What a fee counts is what the
    invoice will print: each invoice line (one product group, line key and credit) wholly in the
    fee's scope rounded as the invoice rounds it (``money.round_money_sql``, the currency's minor
    unit), plus the part in scope of lines the scope splits (or of lines without a key) rounded
    once, charges and credits each; the top-up is the minimum less that, so an invoice of only
    the scope's lines shows exactly the minimum, and "used" the sum of its printed lines (the
    unrounded revenue gave 75.01 or 74.99). A credit in the scopes of several fees counts for
    one only, the widest (the fewest match fields, then the rule id): a plan-wide minimum and an
    S3 minimum both counting an S3 credit each topped up by it, the credit absorbed twice; so
    every minimum is still met and the credit lowers one base. A percent fee counts every line
    in its scope, credits too (a credit lowers the spend it is a percentage of, whichever other
    fee counts it). Fees count vendor lines only, never another fee's line. Only the lines of
    customers with a fee are summed. The one place the rating, the what-if and the review count
    the fees. With ``seats`` (some seat fee in force; ``source`` then has the ``SEAT_COLUMNS`` of
    ``price.seat_columns_sql``) each row has ``seats`` too, the seat-months of the vendor lines
    in a seat fee's scope (prorated or not as the fee says; NULL: none, and for the other
    fees), charges and credits alike, and ``unpriced``, the first of them that has no quantity
    and a cost (``price_checks.check_seat_lines``)."""
    scope = " AND ".join(
        f"(m.m_{k} IS NULL OR {scope_equal(f'm.m_{k}', f'i.{k}', k)})" for k in MINIMUM_SCOPE
    )
    rule = "m.period, m.last_day, m.customer_id, m.plan_id, m.rule_id"
    # the pairs of a fee and the part of an invoice line in its scope, by their columns
    paired = "period, last_day, customer_id, plan_id, rule_id, product_group, line_key, line_credit"
    # a part of an invoice line (a row of rev): a credit counts for one fee only, the widest
    rev_row = ", ".join(
        f"i.{c}"
        for c in ("customer_id", "period", "product_group", "line_key", "line_credit")
        + MINIMUM_SCOPE
    )
    width = " + ".join(f"(m.m_{k} IS NOT NULL)::INTEGER" for k in MINIMUM_SCOPE)

    def counted(credit: str) -> str:
        whole = round_money_sql("line_amount", "currency")
        rest = round_money_sql(
            f"sum(CASE WHEN whole OR NOT ({credit}) THEN 0 ELSE in_scope END)",
            "any_value(currency)",
        )
        return f"sum(CASE WHEN whole AND ({credit}) THEN {whole} ELSE 0 END) + {rest}"

    seat_sums = (
        ", sum(seat_months) AS seat_months, sum(seat_months_whole) AS seat_months_whole, "
        "min(seat_unpriced) AS seat_unpriced"
        if seats
        else ""
    )
    # the seat-months of the lines in each seat fee's scope: no rounding, no invoice line
    seated = (
        f""",
        seated AS (SELECT {rule}, sum(CASE WHEN m.prorate THEN i.seat_months
                                            ELSE i.seat_months_whole END) AS seats,
                          min(CASE WHEN m.prorate OR NOT i.seat_unpriced.instant
                                   THEN i.seat_unpriced END) AS unpriced
                   FROM m JOIN rev i ON i.customer_id = m.customer_id AND i.period = m.period
                     AND {scope}
                   WHERE m.fee_kind = 'seat_fee' GROUP BY {rule})"""
        if seats
        else ""
    )
    seat_join = (
        "LEFT JOIN seated s USING (period, last_day, customer_id, plan_id, rule_id)"
        if seats
        else ""
    )
    return f"""
        WITH m AS (SELECT * REPLACE (COALESCE(fee_kind, 'minimum_fee') AS fee_kind)
                   FROM ({rules})),
        rev AS (SELECT customer_id, period, product_group, line_key,
                       COALESCE(charge_category, '') = 'Credit' AS line_credit, vendor, provider,
                       publisher, service, sku, charge_category, sum(amount) AS amount{seat_sums}
                FROM {source}
                WHERE line_kind = 'vendor' AND customer_id IN (SELECT customer_id FROM m)
                GROUP BY ALL),
        inv AS (SELECT *, sum(amount) OVER w AS line_amount, count(*) OVER w AS line_parts
                FROM rev WINDOW w AS (PARTITION BY customer_id, period, product_group, line_key,
                                                   line_credit)),
        pair AS (SELECT {rule}, i.product_group, i.line_key, i.line_credit, m.currency,
                        i.line_parts, i.line_amount, i.amount
                 FROM m JOIN inv i ON i.customer_id = m.customer_id AND i.period = m.period
                   AND {scope}
                 QUALIFY NOT i.line_credit OR m.fee_kind <> 'minimum_fee' OR row_number() OVER (
                   PARTITION BY {rev_row}, m.fee_kind ORDER BY {width}, m.rule_id) = 1),
        part AS (SELECT {paired}, any_value(currency) AS currency,
                        count(*) = any_value(line_parts) AND line_key IS NOT NULL AS whole,
                        any_value(line_amount) AS line_amount, sum(amount) AS in_scope
                 FROM pair GROUP BY {paired}),
        counted AS (SELECT {rule}, {counted("NOT line_credit")} AS charges,
                           {counted("line_credit")} AS credits,
                           CASE WHEN count(DISTINCT product_group) = 1
                                THEN any_value(product_group) END AS covered_group
                    FROM part m GROUP BY {rule}){seated}
        SELECT m.period, m.last_day, m.customer_id, m.plan_id, m.rule_id, m.minimum,
               m.currency, m.fee_kind, m.percent, m.unit, m.prorate, m.rule_description,
               m.rule_product_group, CAST(COALESCE(u.charges + u.credits, 0) AS {DEC}) AS used,
               CAST(COALESCE(u.credits, 0) AS {DEC}) AS credits,
               u.covered_group{", s.seats, s.unpriced" if seats else ""}
        FROM m LEFT JOIN counted u USING (period, last_day, customer_id, plan_id, rule_id)
        {seat_join}"""


def _allowance_columns(texts: bool = True) -> str:
    """The rated_lines columns of an allowance's line (``given``: what it gives back, above 0),
    from a row of ``minimum_counts_sql``: -``given``, "Azure included (EUR 50.00 a month, used
    EUR 80.00)", the amounts as the invoice prints them. Its cost is 0; its product group the
    rule's, else the one of the lines it covers (it lowers their revenue, and prints in their
    section), else services (lines of several groups)."""
    return _fee_line_sql(
        "allowance",
        "COALESCE(rule_product_group, covered_group, 'services')",
        f"""COALESCE(rule_description, 'Allowance') || ' ('
                   || {money_grouped_sql("minimum", "currency")} || ' a month, used '
                   || {money_grouped_sql("used", "currency")} || ')'""",
        "1",
        "'month'",
        "-given",
        "-given",
        texts,
    )


def _seat_fee_columns(texts: bool = True) -> str:
    """The rated_lines columns of a seat fee's line (``seats``: the seat-months it counts, above
    0; ``fee``: its amount), from a row of ``minimum_counts_sql`` with seats: quantity the
    seat-months, unit the rule's, unit price the rule's price per unit (in ``minimum``), so the
    invoice shows "15 seat x 2.00"; text "Support per seat (14.5 seats, EUR 2.00 a seat)", the
    seats as the invoice shows the quantity (``line_figures.display_quantity_sql``: 2 places, 3
    or 4 where 2 do not give the amount at the price, "14.226 seats" for 28.45 at 2.00) and the
    price as the invoice prints amounts, in more decimals where it has more
    (``money.price_grouped_sql``), so the seats shown x the price give the amount. Its cost is
    0; its product group the rule's, else services."""
    shown = display_quantity_sql("seats", "minimum", "fee", "currency")
    unit = "COALESCE(unit, 'seat')"
    units = f"CASE WHEN {shown} = '1' OR {unit} LIKE '%s' THEN {unit} ELSE {unit} || 's' END"
    return _fee_line_sql(
        "seat_fee",
        "COALESCE(rule_product_group, 'services')",
        f"""COALESCE(rule_description, 'Support per seat') || ' (' || {shown} || ' '
                   || {units} || ', ' || {price_grouped_sql("minimum", "currency")} || ' a '
                   || {unit} || ')'""",
        "seats",
        unit,
        "minimum",
        "fee",
        texts,
    )


def _top_ups_sql(texts: bool) -> str:
    """The minimum fees' lines of ``minimum_lines_sql``'s ``got``: each one not reached."""
    return f"""SELECT {_top_up_columns(texts)} FROM got
               WHERE fee_kind = 'minimum_fee' AND used < minimum"""


def _percent_fees_sql(texts: bool) -> str:
    """The percent fees' lines of ``got``: a base above 0, a fee not 0.00 (a base of credits
    above the charges gives no money back)."""
    fee = _percent_fee_sql("used", "percent", "currency")
    return f"""SELECT {_percent_fee_columns(texts)} FROM (
                 SELECT *, {fee} AS fee FROM got WHERE fee_kind = 'percent_fee' AND used > 0)
               WHERE fee > 0"""


def _allowances_sql(texts: bool) -> str:
    """The allowances' lines of ``got``: -min(amount, spend) of a spend above 0."""
    # both in the minor unit already (a sum of printed lines; an amount refused otherwise):
    # rounded once more so that no figure off it can reach the invoice
    given = round_money_sql("least(minimum, used)", "currency")
    return f"""SELECT {_allowance_columns(texts)} FROM (
                 SELECT *, {given} AS given FROM got WHERE fee_kind = 'allowance' AND used > 0)"""


def _seat_fees_sql(texts: bool) -> str:
    """The seat fees' lines of ``got`` (counted with seats): seat-months above 0 at the rule's
    price, none at 0.00."""
    # exact: DECIMAL(38,12) x DECIMAL(38,12) is a DECIMAL(38,24), rounded once to the minor unit
    fee = round_money_sql(f"CAST(minimum AS {DEC}) * CAST(seats AS {DEC})", "currency")
    return f"""SELECT {_seat_fee_columns(texts)} FROM (
                 SELECT *, {fee} AS fee FROM got WHERE fee_kind = 'seat_fee' AND seats > 0)
               WHERE fee > 0"""


#: The fee kinds ``minimum_lines_sql`` bills (``fee_kind``), each its own part of the query.
FEE_KINDS = ("minimum_fee", "percent_fee", "allowance", "seat_fee")
_FEE_PARTS = {
    "minimum_fee": _top_ups_sql,
    "percent_fee": _percent_fees_sql,
    "allowance": _allowances_sql,
    "seat_fee": _seat_fees_sql,
}


def minimum_lines_sql(
    source: str,
    rules: str,
    counts: str | None = None,
    seats: bool = False,
    kinds: Collection[str] = FEE_KINDS,
    texts: bool = True,
) -> str:
    """The fees' lines (``rated_lines`` columns) of ``rules`` (a relation with
    MINIMUM_RULE_COLUMNS), counted by ``minimum_counts_sql`` from the vendor lines of ``source``
    (or read from ``counts``, a relation of its rows): a top-up for every minimum fee they do not
    reach, a line for every percent fee of a base above 0 whose fee is not 0.00 (a base of
    credits above the charges gives no money back), and one for every allowance of a spend
    above 0, of -min(amount, spend); with ``seats`` (counted with seats) one for every seat
    fee of seat-months above 0, of its price x them rounded once half-up, none at 0.00. In
    order of period, customer and rule. ``kinds``: the fee kinds some rule of ``rules`` has;
    the SQL of the others is left out (it is most of the query's planning, which is most of its
    time on a month's few fees: a seat fee's, a percent fee's and an allowance's texts and
    roundings where only minimum fees are in force). Without ``texts`` each line's
    ``description`` is its rule's id, not the text the invoice prints: for sums of the lines
    (the what-if's), where the texts' SQL is a third of the query to plan and shows nowhere. It
    keeps two fees' lines apart in their invoice lines (``line_labels.line_key_sql`` keys a fee
    by its text) as their texts do but where two fees' texts are equal; their amounts are in the
    currency's minor unit, so the invoice lines' sums are the same."""
    cols = ", ".join(RATED_COLUMNS)
    got = counts or f"({minimum_counts_sql(source, rules, seats)})"
    billed = [
        _FEE_PARTS[kind](texts)
        for kind in FEE_KINDS
        if kind in kinds and (seats or kind != "seat_fee")
    ]
    if not billed:  # no fee in force: no line, of the columns the lines have
        billed = [f"SELECT {_top_up_columns(texts)} FROM got WHERE false"]
    return f"""
        WITH got AS (SELECT * FROM {got})
        SELECT {cols} FROM ({" UNION ALL ".join(billed)})
        ORDER BY period, customer_id, rule_id"""
