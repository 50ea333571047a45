"""The rating's SQL pieces on their own: the exact division ``_xdiv``, each intermediate table of
a rating from given rows, and the ``rated_lines`` contract from its documented column list."""

import random
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from rating_helpers import line, rated_store, write_parameters

from billing_lib.errors import ControlTotalError
from billing_lib.invoice_pdf import amount_text
from billing_lib.money import money_grouped_sql, money_text_sql, round_money, round_money_sql
from billing_lib.rating import RATED_COLUMNS, SQL_MACROS, rate_lines
from billing_lib.rating.exact import DEC
from billing_lib.rating.keys import resolve_keys, segment_starts
from billing_lib.rating.parameters import register_pricing
from billing_lib.rating.price import create_excluded_unmapped
from billing_lib.rating.rated_file import write_rated
from billing_lib.rating.tables import put_table
from billing_lib.rating.tiers import tiered_sql
from billing_lib.store import open_store

D = Decimal
ROOT = Path(__file__).resolve().parents[1]


# -- _xdiv ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sql():
    con = duckdb.connect()
    con.execute(SQL_MACROS)
    yield con
    con.close()


def xdiv(con, n, d, macro: str = "_xdiv"):
    """``macro(n, d)`` with both operands as DECIMAL(38,12) (d may be an integer)."""
    d_sql = "CAST(? AS BIGINT)" if isinstance(d, int) else "CAST(? AS DECIMAL(38,12))"
    return con.execute(
        f"SELECT {macro}(CAST(? AS DECIMAL(38,12)), {d_sql})",
        [None if n is None else str(n), None if d is None else str(d)],
    ).fetchone()[0]


def half_up(n: Decimal, d: Decimal) -> Decimal:
    """The quotient at 12 places, half away from zero, in Python."""
    with localcontext() as ctx:
        ctx.prec = 80
        q = abs(n) / abs(d)
        q = q.quantize(D("1e-12"), rounding=ROUND_HALF_UP)
        return q if (n < 0) == (d < 0) or q == 0 else -q


@pytest.mark.parametrize(
    ("n", "d", "expected"),
    [
        ("1", "3", "0.333333333333"),
        ("2", "3", "0.666666666667"),
        ("-2", "3", "-0.666666666667"),
        ("2", "-3", "-0.666666666667"),
        ("-2", "-3", "0.666666666667"),
        # ties: half away from zero (= half-up for money), on both signs
        ("0.000000000001", "2", "0.000000000001"),
        ("-0.000000000001", "2", "-0.000000000001"),
        ("0.000000000003", "2", "0.000000000002"),
        ("0.000000000005", "10", "0.000000000001"),
        ("-0.000000000005", "-10", "0.000000000001"),
        ("0.000000000004", "10", "0"),
        ("-0.000000000006", "10", "-0.000000000001"),
        ("9.9", "3", "3.3"),
        ("1", "8", "0.125"),
        ("0", "7", "0"),
        ("84999999999999.999999999999", "1", "84999999999999.999999999999"),
        ("84999999999999.999999999999", "7", "12142857142857.142857142857"),
        ("1", "0.000000000001", "1000000000000"),
    ],
)
def test_xdiv_rounds_half_away_from_zero_at_12_places(sql, n, d, expected):
    assert xdiv(sql, D(n), D(d)) == D(expected)
    assert xdiv(sql, D(n), D(d), "_xdiv_long") == D(expected)


def test_xdiv_divides_by_an_integer(sql):
    assert xdiv(sql, D("86400"), 2678400) == D("0.032258064516")


def test_xdiv_by_zero_or_null_is_null(sql):
    assert xdiv(sql, D(5), D(0)) is None
    assert xdiv(sql, D(5), 0) is None
    assert xdiv(sql, None, D(2)) is None
    assert xdiv(sql, D(2), None) is None
    # a divisor that rounds to 0 at 12 places divides by 0
    assert sql.execute("SELECT _xdiv(1, CAST(0.0000000000004 AS DECIMAL(38,13)))").fetchone() == (
        None,
    )


def test_xdiv_above_its_stated_limit_fails_instead_of_answering_wrong(sql):
    """n below 8.5e13 is the limit of the 128-bit long division; above it DuckDB refuses."""
    with pytest.raises(duckdb.Error):
        xdiv(sql, D("90000000000000"), D(7))


def decimal_pairs(
    con: duckdb.DuckDBPyConnection, name: str, columns: tuple[str, str], pairs: list
) -> None:
    """Temp table ``name`` of two DECIMAL(38,12) columns holding ``pairs``, in one statement
    (``executemany`` inserts row by row: about a millisecond a row)."""
    put_table(con, name, {c: (DEC, [pair[k] for pair in pairs]) for k, c in enumerate(columns)})


def test_xdiv_equals_the_python_quotient_on_random_operands(sql):
    """The quick DOUBLE path is taken only when proven right: every quotient equals Python's
    exact one, near ties and on operands of every size up to the limit included."""
    rnd = random.Random(20261129)
    pairs = []
    for _ in range(3000):
        n = D(rnd.randint(-(10**25), 10**25)).scaleb(-12) / D(10 ** rnd.randint(0, 12))
        n = n.quantize(D("1e-12"), rounding=ROUND_HALF_UP)
        d = D(rnd.randint(1, 10**18)).scaleb(-12) * rnd.choice([1, -1])
        if abs(n) >= D("8.5e13") or d == 0:
            continue
        pairs.append((n, d))
    # exact ties at the 13th place: (k + 0.5) x 1e-12 x d / d
    for k in range(200):
        d = D(rnd.randint(1, 99)) * 2
        pairs.append(((D(k) + D("0.5")) * D("1e-12") * d, d))
    decimal_pairs(sql, "ops", ("n", "d"), pairs)
    got = sql.execute("SELECT n, d, _xdiv(n, d), _xdiv_long(n, d) FROM ops").fetchall()
    wrong = [(n, d, q, q_long) for n, d, q, q_long in got if q != half_up(n, d) or q != q_long]
    assert wrong == []
    assert len(got) > 2500


def test_xmul_is_the_exact_product_rounded_half_away_from_zero_on_random_operands(sql):
    """The quick DOUBLE product is taken only when proven right: every product equals Python's
    exact one at 12 places (half away from zero), near ties and exact ties included, and the
    product DuckDB rounds without the quick path."""
    rnd = random.Random(20261130)
    pairs = []
    for _ in range(3000):
        a = D(rnd.randint(-(10**20), 10**20)).scaleb(-12) / D(10 ** rnd.randint(0, 8))
        b = D(rnd.randint(0, 10**14)).scaleb(-12) * rnd.choice([1, -1])
        pairs.append((a.quantize(D("1e-12")), b))
    # exact ties at the 13th place: (k + 0.5) x 1e-12 x 2 x 0.5
    pairs += [((D(k) + D("0.5")) * D("2e-12"), D("0.5")) for k in range(-100, 100)]
    decimal_pairs(sql, "mul", ("a", "b"), pairs)
    got = sql.execute("SELECT a, b, _xmul(a, b), CAST(a * b AS DECIMAL(38,12)) FROM mul").fetchall()
    with localcontext() as ctx:
        ctx.prec = 80
        exact = [(a * b).quantize(D("1e-12"), rounding=ROUND_HALF_UP) for a, b, _, _ in got]
    wrong = [g for g, e in zip(got, exact, strict=True) if g[2] != e or g[2] != g[3]]
    assert wrong == []
    assert sql.execute(
        "SELECT _xmul(NULL, 2), _xmul(1.5, CAST(0.9215 AS DECIMAL(18,8)))"
    ).fetchall() == [(None, D("1.38225"))]


def test_the_top_up_s_rounding_in_sql_is_round_money(sql):
    """``money.round_money_sql`` (the minimum-fee top-up counts the invoice lines rounded in SQL)
    gives ``round_money``'s figure and the currency's decimals as text, ties and signs included."""
    rng = random.Random(7)
    amounts = ["2.675", "-2.675", "0.005", "-0.005", "12345.5", "-0.0005", "74.1551", "0"]
    amounts += [
        str(D(rng.randrange(-(10**9), 10**9)).scaleb(-rng.randrange(0, 7))) for _ in range(300)
    ]
    for currency in ("EUR", "JPY", "KWD", "jpy"):
        rows = sql.execute(
            f"""SELECT a, {round_money_sql("CAST(a AS DECIMAL(38,12))", "c")},
                       {money_text_sql("CAST(a AS DECIMAL(38,12))", "c")}
                FROM unnest(?) t(a), (SELECT CAST(? AS VARCHAR) AS c)""",
            [amounts, currency],
        ).fetchall()
        for a, rounded, text in rows:
            expected = round_money(D(a), currency)
            assert rounded == expected, (a, currency)
            assert (
                D(text) == expected and D(text).as_tuple().exponent == expected.as_tuple().exponent
            )


def test_an_amount_printed_in_sql_is_the_invoice_s_print_of_it(sql):
    """``money.money_grouped_sql`` (a minimum fee's text, built in SQL for every customer) prints
    an amount as the invoice does: the currency, then ``invoice_pdf.amount_text`` (thousands
    separators, the currency's decimals rounded half-up, never "-0.00"), exactly for amounts of
    26 integer digits too."""
    rng = random.Random(11)
    amounts = ["1500", "-200", "0", "-0.001", "999.995", "-999.995", "1234567.8915", "0.0005"]
    amounts += ["99999999999999999999999999.999999999999", "-1000000000000000000000000"]
    amounts += [
        str(D(rng.randrange(-(10**15), 10**15)).scaleb(-rng.randrange(0, 8))) for _ in range(300)
    ]
    for currency in ("EUR", "JPY", "KWD"):
        rows = sql.execute(
            f"""SELECT a, {money_grouped_sql("CAST(a AS DECIMAL(38,12))", "c")}
                FROM unnest(?) t(a), (SELECT CAST(? AS VARCHAR) AS c)""",
            [amounts, currency],
        ).fetchall()
        with localcontext() as ctx:
            ctx.prec = 80
            wrong = [
                (a, text)
                for a, text in rows
                if text != f"{currency} {amount_text(round_money(D(a), currency), currency)}"
            ]
        assert wrong == []
    kwd = money_grouped_sql("CAST(-1500.5 AS DECIMAL(38,12))", "'KWD'")
    assert sql.execute(f"SELECT {kwd}").fetchone() == ("KWD -1,500.500",)


# -- the intermediate tables of one rating --------------------------------------------------------

PLANS = """
plans:
  - id: p
    rules:
      - {id: all, kind: markup, percent: "10"}
      - {id: internal, kind: exclude, reason: test account, match: {service: Internal}}
  - id: deal
    rules:
      - {id: all, kind: pass_through}
assignments:
  - {plan: p, group: smb}
  - {plan: deal, customer: C1, valid_from: 2026-10-16}
"""

LINES = [
    line(BilledCost=10),
    line(BilledCost=10, PricingQuantity=3, ChargePeriodStart=datetime(2026, 10, 2)),
    line(BilledCost=10, ChargePeriodStart=datetime(2026, 10, 20)),
    line(ServiceName="Internal", BilledCost=4),
    line(SubAccountId="222", ChargeCategory="Tax", ServiceName="Tax", BilledCost=2),
    line(SubAccountId="999", BilledCost=1),
]


@pytest.fixture
def keyed(tmp_path):
    """A store with LINES resolved to their keys (rating_keys and the tables before it)."""
    params = write_parameters(tmp_path, PLANS)
    con, pricing, customers = rated_store(params, LINES)
    register_pricing(con, pricing, customers)
    resolve_keys(con, pricing)
    return con, pricing


def rows(con, sql: str) -> list[tuple]:
    return [tuple(r) for r in con.execute(sql).fetchall()]


def test_segments_start_where_a_plan_an_assignment_or_a_rate_changes(keyed):
    con, pricing = keyed
    assert segment_starts(pricing) == [date(2026, 10, 1), date(2026, 10, 16), date(2026, 11, 1)]
    assert rows(con, "SELECT day, segment FROM rating_calendar ORDER BY day") == [
        (date(2026, 10, 1), date(2026, 10, 1)),
        (date(2026, 10, 2), date(2026, 10, 1)),
        (date(2026, 10, 20), date(2026, 10, 16)),
    ]


def test_line_keys_are_the_distinct_priced_fields_of_mapped_lines(keyed):
    con, _ = keyed
    # service is in the key (a rule matches on it); provider, publisher, sku, charge type are not
    assert rows(
        con,
        """SELECT customer, vendor, charge_category, provider, service, sku, charge_type,
                  vendor_currency, segment, charge_date, lines
           FROM rating_line_keys ORDER BY customer, charge_date, service""",
    ) == [
        ("C1", "aws", "Usage", None, "Amazon EC2", None, None, "USD",
         date(2026, 10, 1), date(2026, 10, 1), 2),
        ("C1", "aws", "Usage", None, "Internal", None, None, "USD",
         date(2026, 10, 1), date(2026, 10, 1), 1),
        ("C1", "aws", "Usage", None, "Amazon EC2", None, None, "USD",
         date(2026, 10, 16), date(2026, 10, 20), 1),
        ("C2", "aws", "Tax", None, "Tax", None, None, "USD",
         date(2026, 10, 1), date(2026, 10, 1), 1),
    ]  # fmt: skip
    assert rows(con, "SELECT count(DISTINCT key_id), count(*) FROM rating_line_keys") == [(4, 4)]


def test_key_plans_take_the_customers_own_plan_over_its_groups(keyed):
    con, _ = keyed
    assert rows(
        con,
        "SELECT customer, charge_date, service, plan_id FROM rating_key_plans ORDER BY ALL",
    ) == [
        ("C1", date(2026, 10, 1), "Amazon EC2", "p"),
        ("C1", date(2026, 10, 1), "Internal", "p"),
        ("C1", date(2026, 10, 20), "Amazon EC2", "deal"),
        ("C2", date(2026, 10, 1), "Tax", "p"),
    ]


def test_key_rules_take_the_most_specific_matching_rule(keyed):
    con, _ = keyed
    assert rows(
        con,
        """SELECT customer, charge_date, service, rule_id, kind, specificity, ties
           FROM rating_key_rules ORDER BY ALL""",
    ) == [
        ("C1", date(2026, 10, 1), "Amazon EC2", "all", "markup", 0, 1),
        ("C1", date(2026, 10, 1), "Internal", "internal", "exclude", 1, 1),
        ("C1", date(2026, 10, 20), "Amazon EC2", "all", "pass_through", 0, 1),
        ("C2", date(2026, 10, 1), "Tax", "all", "markup", 0, 1),
    ]


def test_rating_keys_say_what_happens_to_the_lines_of_each_key(keyed):
    con, _ = keyed
    assert rows(
        con,
        """SELECT customer, charge_date, service, action, pricing, excluded_reason, currency,
                  fx_rate FROM rating_keys ORDER BY customer, charge_date, service""",
    ) == [
        ("C1", date(2026, 10, 1), "Amazon EC2", "rate", "markup", None, "EUR", D("0.9")),
        ("C1", date(2026, 10, 1), "Internal", "exclude", "exclude",
         "excluded by rule internal: test account", "EUR", D("0.9")),
        ("C1", date(2026, 10, 20), "Amazon EC2", "rate", "pass_through", None, "EUR", D("0.8")),
        ("C2", date(2026, 10, 1), "Tax", "exclude", "markup", "vendor tax", "EUR", D("0.9")),
    ]  # fmt: skip


def test_vendor_excluded_and_unmapped_lines_from_their_keys(keyed, tmp_path):
    con, pricing = keyed
    write_rated(con, pricing, "2026-10", tmp_path / "rated_lines.parquet")
    create_excluded_unmapped(con, pricing)
    # markup: 10 USD x 0.9 = 9 EUR cost, x 1.1 = 9.9; 3 units: 3.3 each; pass-through at 0.8;
    # a line without a quantity has none (and no unit price), not 1
    assert rows(
        con,
        """SELECT customer_id, source_row, plan_id, rule_id, quantity, unit_price, amount, cost,
                  vendor_cost, fx_rate FROM rated_lines""",
    ) == [
        ("C1", 2, "p", "all", None, None, D("9.9"), D(9), D(10), D("0.9")),
        ("C1", 3, "p", "all", D(3), D("3.3"), D("9.9"), D(9), D(10), D("0.9")),
        ("C1", 4, "deal", "all", None, None, D(8), D(8), D(10), D("0.8")),
    ]
    assert rows(
        con, "SELECT x_SourceRow, reason, plan_id, rule_id FROM excluded_lines ORDER BY 1"
    ) == [
        (5, "excluded by rule internal: test account", "p", "internal"),
        (6, "vendor tax", None, None),
    ]
    assert rows(con, "SELECT x_SourceRow, SubAccountId FROM unmapped_lines") == [(7, "999")]


def test_tier_amounts_count_the_months_quantity_in_charge_order():
    con = duckdb.connect()
    con.execute(SQL_MACROS)
    con.execute("""
        CREATE TABLE price_tiers AS SELECT * FROM (VALUES
          ('p', 't', 0, 0, 100, 0.10), ('p', 't', 1, 100, 1000, 0.05),
          ('p', 't', 2, 1000, NULL, 0.01))
          v(plan_id, rule_id, tier_no, lower, upper, tier_price)""")
    con.execute("""
        CREATE TABLE tiered_lines AS SELECT customer_id, plan_id, rule_id, pricing,
               rule_id AS tier_scope,
               CAST(quantity AS DECIMAL(38,12)) AS quantity, charge_start, source_file,
               source_row, vendor_line_id, CAST(quantity AS DECIMAL(38,12)) AS billed_cost,
               CAST(NULL AS DECIMAL(38,12)) AS amount,
               CAST(NULL AS DECIMAL(38,12)) AS unit_price
        FROM (VALUES
          ('C1', 'p', 't', 'tiered', 60, TIMESTAMP '2026-10-02', 'a.csv', 2, NULL),
          ('C1', 'p', 't', 'tiered', 60, TIMESTAMP '2026-10-01', 'a.csv', 3, NULL),
          ('C1', 'p', 't', 'tiered', 1000, TIMESTAMP '2026-10-03', 'a.csv', 4, NULL),
          ('C2', 'p', 't', 'tiered', 60, TIMESTAMP '2026-10-01', 'a.csv', 5, NULL),
          ('C3', 'p', 't', 'volume', 60, TIMESTAMP '2026-10-01', 'a.csv', 6, NULL),
          ('C3', 'p', 't', 'volume', 60, TIMESTAMP '2026-10-02', 'a.csv', 7, NULL),
          ('C3', 'p', 't', 'volume', 0, TIMESTAMP '2026-10-03', 'a.csv', 8, NULL))
          v(customer_id, plan_id, rule_id, pricing, quantity, charge_start, source_file,
            source_row, vendor_line_id)""")
    priced = f"SELECT source_row, amount, unit_price FROM ({tiered_sql('tiered_lines')}) ORDER BY 1"
    # graduated in charge order: 1 Oct 60 x 0.10 = 6; 2 Oct 40 x 0.10 + 20 x 0.05 = 5;
    # 3 Oct 880 x 0.05 + 120 x 0.01 = 45.2; C2 on its own; volume: 120 units in tier 2, and a
    # line without quantity costs nothing per unit
    assert rows(con, priced) == [
        (2, D(5), D("0.083333333333")),
        (3, D(6), D("0.1")),
        (4, D("45.2"), D("0.0452")),
        (5, D(6), D("0.1")),
        (6, D(3), D("0.05")),
        (7, D(3), D("0.05")),
        (8, D(0), D(0)),
    ]


# -- the contract of rated_lines ------------------------------------------------------------------

#: docs/architecture.md's table of rated_lines, as names and DuckDB types, in order.
CONTRACT = [
    ("customer_id", "VARCHAR"),
    ("period", "VARCHAR"),
    ("charge_date", "DATE"),
    ("charge_end", "DATE"),
    ("line_kind", "VARCHAR"),
    ("vendor", "VARCHAR"),
    ("provider", "VARCHAR"),
    ("publisher", "VARCHAR"),
    ("service", "VARCHAR"),
    ("sku", "VARCHAR"),
    ("charge_category", "VARCHAR"),
    ("subscription", "VARCHAR"),
    ("subscription_name", "VARCHAR"),
    ("tags", "VARCHAR"),
    ("product_group", "VARCHAR"),
    ("description", "VARCHAR"),
    ("quantity", "DECIMAL(38,12)"),
    ("unit", "VARCHAR"),
    ("unit_price", "DECIMAL(38,12)"),
    ("amount", "DECIMAL(38,12)"),
    ("cost", "DECIMAL(38,12)"),
    ("vendor_cost", "DECIMAL(38,12)"),
    ("billed_cost", "DECIMAL(38,12)"),
    ("vendor_currency", "VARCHAR"),
    ("fx_rate", "DECIMAL(38,12)"),
    ("currency", "VARCHAR"),
    ("plan_id", "VARCHAR"),
    ("rule_id", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_row", "BIGINT"),
    ("vendor_line_id", "VARCHAR"),
]


def documented_columns() -> list[str]:
    """The column names of the rated_lines table in docs/architecture.md, in order."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## `rated_lines`", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for row in re.findall(r"^\| ([a-z_, ]+) \|", section, flags=re.MULTILINE):
        names += [n.strip() for n in row.split(",") if n.strip() != "column"]
    return names


def test_the_documented_columns_are_the_contract():
    assert documented_columns() == [name for name, _ in CONTRACT]
    assert list(RATED_COLUMNS.items()) == CONTRACT


def tiered_plan_with_minimum(minimum: str) -> str:
    """price_plans.yaml of plan p for group smb: 10 % markup, service S tiered (2, then 1 above
    10 units) and a minimum fee of ``minimum`` EUR."""
    return f"""
plans:
  - id: p
    rules:
      - {{id: all, kind: markup, percent: "10"}}
      - {{id: seats, kind: tiered, currency: EUR, match: {{service: S}},
         tiers: [{{up_to: 10, unit_price: "2"}}, {{unit_price: "1"}}]}}
      - {{id: min, kind: minimum_fee, amount: "{minimum}", currency: EUR}}
assignments:
  - {{plan: p, group: smb}}
"""


def test_rated_lines_of_every_kind_have_the_contract_columns_and_types(tmp_path):
    plans = tiered_plan_with_minimum("1000")
    custom = """
custom_lines:
  - {id: fee, customer: C1, kind: fee, description: Support, unit_price: "50", currency: EUR,
     valid_from: 2026-01-01}
"""
    params = write_parameters(tmp_path, plans, custom)
    con, pricing, customers = rated_store(
        params, [line(), line(ServiceName="S", PricingQuantity=12)]
    )
    rate_lines(con, pricing, customers, "2026-10")
    assert rows(con, "SELECT column_name, column_type FROM (DESCRIBE rated_lines)") == CONTRACT
    assert rows(con, "SELECT line_kind, count(*) FROM rated_lines GROUP BY 1 ORDER BY 1") == [
        ("fee", 1),
        ("minimum", 2),  # C2 is on the plan too, without a line
        ("vendor", 2),
    ]


# -- rated_lines.parquet written once from a sorted query ------------------------------------------

ONCE_PLANS = tiered_plan_with_minimum("100")
#: C2's custom line first: custom lines keep the order of custom_lines.yaml, not the customers'
ONCE_CUSTOM = """
custom_lines:
  - {id: setup, customer: C2, kind: one_off, description: Setup, unit_price: "5", currency: EUR,
     date: 2026-10-05}
  - {id: fee, customer: C1, kind: fee, description: Support, unit_price: "50", currency: EUR,
     valid_from: 2026-01-01}
"""
ONCE_LINES = [
    line(SubAccountId="222", x_SourceFile="b.csv", x_SourceRow=3),
    line(SubAccountId="111", x_SourceFile="b.csv", x_SourceRow=2),
    line(SubAccountId="222", ServiceName="S", PricingQuantity=5, x_SourceRow=9,
         ChargePeriodStart=datetime(2026, 10, 2)),
    line(SubAccountId="111", x_SourceFile="a.csv", x_SourceRow=7),
    line(SubAccountId="222", ServiceName="S", PricingQuantity=8, x_SourceRow=10),
    line(SubAccountId="111", x_SourceFile="a.csv", x_SourceRow=3),
]  # fmt: skip
#: The rated lines of ONCE_LINES in the file's order: (customer, kind, file, row, amount).
ONCE_RATED = [
    ("C1", "vendor", "a.csv", 3, D("9.9")),  # 10 USD x 0.9 x 1.1
    ("C1", "vendor", "a.csv", 7, D("9.9")),
    ("C1", "vendor", "b.csv", 2, D("9.9")),
    ("C2", "vendor", "b.csv", 3, D("9.9")),
    ("C2", "vendor", "test.csv", 9, D(7)),  # 2 Oct: 2 units left at 2, then 3 at 1
    ("C2", "vendor", "test.csv", 10, D(16)),  # 1 Oct: the first 8 of the month at 2
    ("C2", "one_off", None, None, D(5)),
    ("C1", "fee", None, None, D(50)),
    ("C1", "minimum", None, None, D("70.3")),  # minimum 100, used 29.70 (the fee not counted)
    ("C2", "minimum", None, None, D("67.1")),  # minimum 100, used 32.90 (tiers counted)
]


def _rated_once(tmp_path, con=None):
    """rate_lines of ONCE_LINES into tmp_path/rated.parquet: (con, report)."""
    params = write_parameters(tmp_path / "params", ONCE_PLANS, ONCE_CUSTOM)
    store, pricing, customers = rated_store(params, ONCE_LINES, con)
    report = rate_lines(store, pricing, customers, "2026-10", tmp_path / "rated.parquet")
    return store, report


def _kinds(table) -> list[tuple]:
    return [
        (r["customer_id"], r["line_kind"], r["source_file"], r["source_row"], r["amount"])
        for r in table.to_pylist()
    ]


def test_rated_lines_are_a_view_over_the_file_the_rating_wrote_once_in_its_order(tmp_path):
    """Vendor lines by customer, vendor file and row (tiered ones priced by the month's quantity),
    then the custom lines in their order, then the minimum-fee top-ups from the vendor lines'
    revenue: one file, and rated_lines reads it."""
    con, report = _rated_once(tmp_path)
    assert report.rated_file == tmp_path / "rated.parquet"
    assert _kinds(pq.read_table(report.rated_file)) == ONCE_RATED
    assert rows(con, "SELECT view_name FROM duckdb_views() WHERE view_name = 'rated_lines'") == [
        ("rated_lines",)
    ]
    assert (
        rows(con, "SELECT table_name FROM duckdb_tables() WHERE table_name = 'rated_lines'") == []
    )
    assert (
        rows(con, "SELECT customer_id, line_kind, source_file, source_row, amount FROM rated_lines")
        == ONCE_RATED
    )
    assert pq.read_schema(report.rated_file).names == list(RATED_COLUMNS)
    assert report.counts["rated_vendor"] == 6


def test_a_vendor_lines_key_columns_come_from_its_key_and_a_custom_lines_are_its_own(tmp_path):
    """The columns a vendor line takes from its key go through the sort as the key's id and are
    taken from the key where the file is written; custom lines and top-ups, without a key, keep
    their own: each line's rule, plan, currencies, rate and kind as the rating decided them."""
    _, report = _rated_once(tmp_path)
    keyed = [
        (r["customer_id"], r["line_kind"], r["period"], r["vendor"], r["charge_category"])
        + (r["product_group"], r["vendor_currency"], r["fx_rate"], r["currency"])
        + (r["plan_id"], r["rule_id"])
        for r in pq.read_table(report.rated_file).to_pylist()
    ]
    usage = ("vendor", "2026-10", "aws", "Usage", "aws", "USD", D("0.9"), "EUR", "p")
    own = ("2026-10", "reseller", None, "services", "EUR", D(1), "EUR")
    assert keyed == [
        ("C1", *usage, "all"),
        ("C1", *usage, "all"),
        ("C1", *usage, "all"),
        ("C2", *usage, "all"),
        ("C2", *usage, "seats"),
        ("C2", *usage, "seats"),
        ("C2", "one_off", *own, None, "setup"),
        ("C1", "fee", *own, None, "fee"),
        ("C1", "minimum", *own, "p", "min"),
        ("C2", "minimum", *own, "p", "min"),
    ]


def test_a_rating_on_a_database_file_reads_its_rated_lines_from_the_file(tmp_path):
    """A store in a database file (large months) gets the same view, rated lines and file."""
    con = open_store(tmp_path / "store.duckdb")
    con, report = _rated_once(tmp_path, con)
    assert _kinds(pq.read_table(report.rated_file)) == ONCE_RATED
    assert rows(con, "SELECT count(*), sum(amount) FROM rated_lines") == [(10, D(255))]


def test_a_failed_rating_leaves_no_file_and_no_rated_lines(tmp_path):
    """The control total fails after the file is written: the file and the view are removed."""
    params = write_parameters(tmp_path / "params", ONCE_PLANS, ONCE_CUSTOM)
    con, pricing, customers = rated_store(params, ONCE_LINES)
    del customers["C2"]  # C2's lines are neither rated, excluded nor unmapped
    target = tmp_path / "rated.parquet"
    with pytest.raises(ControlTotalError, match="does not conserve"):
        rate_lines(con, pricing, customers, "2026-10", target)
    assert not target.exists()
    assert rows(con, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'rated_lines'") == [
        (0,)
    ]
