"""Insight charts: exact summaries per currency, and figures checked through fig.data."""

from decimal import Decimal as D

import pandas as pd
import pytest

from billing_lib import charts
from tests.rated_frames import LINES, rated


def test_summary_is_exact_and_never_adds_currencies():
    s = charts.summarise(LINES, ["customer"])
    assert list(zip(s["customer"], s["currency"], strict=True)) == [("C1", "EUR"), ("C2", "USD")]
    c1 = s.iloc[0]
    assert (c1["cost"], c1["revenue"], c1["margin"]) == (D("230.005"), D("271.0055"), D("41.0005"))
    assert isinstance(c1["margin"], D)
    assert float(c1["margin_pct"]) == 15.1  # 41.0005 / 271.0055
    assert float(s.iloc[1]["margin_pct"]) == -5.3  # a loss: -10 / 190
    assert list(s["lines"]) == [3, 1]


def test_a_loss_on_a_revenue_of_0_or_less_has_no_margin_percent():
    """A credit balance (revenue -662.14 at a cost of 1183.93) read as a margin of 278.8 %."""
    lines = LINES.iloc[:1].assign(amount=[D("-662.14")], cost=[D("1183.93")])
    [pct] = charts.summarise(lines, ["customer"])["margin_pct"]
    assert pct is None or pd.isna(pct)


def test_summary_rejects_an_unknown_dimension():
    with pytest.raises(ValueError, match="unknown summary dimension"):
        charts.summarise(LINES, ["colour"])


def test_scatter_has_one_trace_per_currency_and_a_break_even_line():
    fig = charts.cost_revenue_scatter(charts.summarise(LINES, ["customer"]))
    names = [t.name for t in fig.data]
    assert names == ["EUR", "USD", "break-even"]
    eur, usd, even = fig.data
    assert list(eur.x) == [230.01] and list(eur.y) == [271.01]  # cents, half-up
    assert list(usd.text) == ["C2"] and list(usd.y) == [190.0]
    assert list(even.x) == list(even.y) == [0.0, 298.11]  # 10 % beyond the largest figure
    assert even.line.dash == "dash"


def test_margin_bars_per_vendor_show_margin_and_percent():
    fig = charts.margin_bars(charts.summarise(LINES, ["vendor"]), "vendor")
    eur = next(t for t in fig.data if t.name == "EUR")
    assert list(eur.x) == ["aws", "microsoft"]
    assert list(eur.y) == [36.0, 5.0]  # (20 + 16) and 5.0005 -> 5.00
    assert list(eur.text) == ["16.7%", "9.1%"]  # 36 / 216, 5.0005 / 55.0055
    usd = next(t for t in fig.data if t.name == "USD")
    assert list(usd.y) == [-10.0]


def test_trend_orders_periods_per_customer():
    fig = charts.margin_trend(charts.summarise(LINES, ["period", "customer"]), "revenue")
    c1 = next(t for t in fig.data if t.name == "C1 (EUR)")
    assert list(c1.x) == ["2026-09", "2026-10"]
    assert list(c1.y) == [96.0, 175.01]  # 120 + 55.0055
    with pytest.raises(ValueError):
        charts.margin_trend(charts.summarise(LINES, ["period", "customer"]), "profit")


def test_stored_figures_stay_small():
    charts.use_notebook_renderer()
    fig = charts.cost_revenue_scatter(charts.summarise(LINES, ["customer"]))
    assert len(fig.to_json()) < 6000  # the lean template, not plotly's default


def test_frames_go_back_to_duckdb_with_the_stores_money_type():
    """Decimal columns handed back to DuckDB are DECIMAL(38,12) whatever their first values look
    like (a small amount first, a large one and a None later), so sums stay exact and never fail."""
    import duckdb

    from billing_lib.store import register_frame

    df = pd.DataFrame(
        {
            "customer_id": ["a"] * 3 + ["b"] * 2,
            "cost": [D("0.000000000001"), D("0.5"), None, D("123456789012345.123456789012"), D(-1)],
            "quantity": [1, 2, 3, 4, 5],
        }
    )
    con = duckdb.connect()
    register_frame(con, "r", df)
    types = dict(con.sql("SELECT column_name, column_type FROM (DESCRIBE r)").fetchall())
    assert types["cost"] == "DECIMAL(38,12)" and types["quantity"] == "BIGINT"
    assert con.execute("SELECT sum(cost) FROM r").fetchone()[0] == D("123456789012344.623456789013")
    summary = charts.summarise(df.assign(amount=df["cost"], currency="EUR"), ["customer"])
    assert list(summary["cost"]) == [D("0.500000000001"), D("123456789012344.123456789012")]


def test_customers_read_with_their_names_where_the_lines_carry_them():
    named = LINES.assign(
        customer_name=LINES["customer_id"].map({"C1": "Dijkstra Architecten B.V."})
    )
    s = charts.summarise(named, ["customer"])
    # a customer without a known name keeps its id
    assert list(s["customer"]) == ["C1 Dijkstra Architecten B.V.", "C2"]
    assert charts.customer_label("C001", "Dijkstra Architecten B.V.") == (
        "C001 Dijkstra Architecten B.V."
    )


def test_the_trend_s_period_axis_is_in_calendar_order_whatever_customer_comes_first():
    """C1 without October drew its September and November first, and a category axis keeps the
    order the traces name their periods in: October after November."""
    lines = rated(
        [
            ("2026-09", "C1", "aws", "compute", "Amazon EC2", "EUR", D(10), D(12)),
            ("2026-11", "C1", "aws", "compute", "Amazon EC2", "EUR", D(10), D(13)),
            ("2026-10", "C2", "aws", "compute", "Amazon EC2", "EUR", D(10), D(11)),
        ]
    )
    fig = charts.margin_trend(charts.summarise(lines, ["period", "customer"]))
    # every trace names every period (a gap where it has none), in calendar order
    assert [list(t.x) for t in fig.data] == [["2026-09", "2026-10", "2026-11"]] * 2
    assert fig.layout.xaxis.categoryorder == "array"
    assert list(fig.layout.xaxis.categoryarray) == ["2026-09", "2026-10", "2026-11"]


def test_a_month_without_a_customer_s_invoice_is_a_gap_in_its_trend_not_a_line_across_it():
    """C1 billed in September and November, not in October: its line went straight from
    September's margin to November's, through October, which read as a margin of about 2.50 in
    a month it had none. Each customer's trace now names every period shown, with no value
    (a gap, ``connectgaps`` off) where it had no line."""
    lines = rated(
        [
            ("2026-09", "C1", "aws", "compute", "Amazon EC2", "EUR", D(10), D(12)),
            ("2026-11", "C1", "aws", "compute", "Amazon EC2", "EUR", D(10), D(13)),
            ("2026-10", "C2", "aws", "compute", "Amazon EC2", "EUR", D(10), D(11)),
        ]
    )
    fig = charts.margin_trend(charts.summarise(lines, ["period", "customer"]))
    c1, c2 = fig.data
    assert list(c1.x) == list(c2.x) == ["2026-09", "2026-10", "2026-11"]
    assert list(c1.y) == [2.0, None, 3.0]
    assert list(c2.y) == [None, 1.0, None]
    assert not c1.connectgaps


def test_the_break_even_line_reaches_a_customer_of_negative_figures():
    """A customer whose month is a credit balance (revenue -200.00 at cost 0, or a refund above
    its usage: cost -50.00, revenue -40.00) sits below or left of 0; the break-even line began
    at 0 and did not reach it, so whether it made money could not be read off the chart."""
    lines = LINES.iloc[:2].assign(
        customer_id=["C1", "C2"], amount=[D("-200.00"), D("-40.00")], cost=[D(0), D("-50.00")]
    )
    fig = charts.cost_revenue_scatter(charts.summarise(lines, ["customer"]))
    even = fig.data[-1]
    assert even.name == "break-even"
    assert list(even.x) == list(even.y) == [-220.0, 1.0]  # 10 % beyond the lowest figure
    # only positive figures: from 0, as before
    even = charts.cost_revenue_scatter(charts.summarise(LINES, ["customer"])).data[-1]
    assert list(even.x) == [0.0, 298.11]


def test_a_margin_percent_of_no_revenue_reads_n_a_in_the_charts():
    """A customer whose month a credit note cancelled (cost 463.44 at revenue 0.00): its point's
    hover read "margin -463.44 ()" and its bar had no label, the percentage of a zero revenue
    left unsaid; both read n/a, as the tables and the what-if's text do."""
    lines = LINES.iloc[:1].assign(amount=[D("0.00")], cost=[D("463.44")])
    scatter = charts.cost_revenue_scatter(charts.summarise(lines, ["customer"]))
    assert [list(c) for c in scatter.data[0].customdata] == [["-463.44", "n/a"]]
    bars = charts.margin_bars(charts.summarise(lines, ["vendor"]), "vendor")
    assert list(bars.data[0].text) == ["n/a"]


def test_the_charts_state_amounts_to_the_minor_unit_of_their_currency():
    """A KWD invoice states fils (3 places): its margin 1,234.567 read 1234.57 in the charts
    (every amount rounded to cents, the hover formatted to 2 places), the tables beside them
    1,234.567; a yen margin read 1234.00. Each trace of one currency states its amounts and
    hover text to that currency's places, and the scatter's margin with thousands separators
    as its cost and revenue (it read "1234.567" beside "cost 2,000.000")."""
    lines = LINES.iloc[:2].assign(
        customer_id=["C1", "C2"],
        currency=["KWD", "JPY"],
        cost=[D("2000.000"), D("5000")],
        amount=[D("3234.567"), D("6234")],
    )
    scatter = charts.cost_revenue_scatter(charts.summarise(lines, ["customer"]))
    jpy, kwd = scatter.data[:2]
    assert (kwd.name, list(kwd.x), list(kwd.y)) == ("KWD", [2000.0], [3234.567])
    assert [list(c) for c in kwd.customdata] == [["1,234.567", "38.2%"]]
    assert "cost %{x:,.3f}<br>revenue %{y:,.3f}" in kwd.hovertemplate
    assert [list(c) for c in jpy.customdata] == [["1,234", "19.8%"]]
    assert "cost %{x:,.0f}<br>revenue %{y:,.0f}" in jpy.hovertemplate
    bars = charts.margin_bars(charts.summarise(lines, ["vendor"]), "vendor")
    by_currency = {t.name: t for t in bars.data}
    assert list(by_currency["KWD"].y) == [1234.567]
    assert "margin %{y:,.3f}" in by_currency["KWD"].hovertemplate
    assert "cost %{customdata[0]:,.3f}" in by_currency["KWD"].hovertemplate
    assert "margin %{y:,.0f}" in by_currency["JPY"].hovertemplate
    trend = charts.margin_trend(charts.summarise(lines, ["period", "customer"]))
    c1 = next(t for t in trend.data if t.name == "C1 (KWD)")
    assert list(c1.y) == [1234.567] and "%{y:,.3f}" in c1.hovertemplate
    comparison = pd.DataFrame(
        {
            "customer": ["C1", "C2"],
            "currency": ["KWD", "EUR"],
            "margin": [D("1234.567"), D("10.005")],
            "what_if_margin": [D("1300.1234"), D("12")],
        }
    )
    now, what_if = charts.what_if_bars(comparison).data
    assert list(now.y) == [1234.567, 10.01] and list(what_if.y) == [1300.123, 12.0]
    assert list(now.hovertemplate) == [
        "%{x}<br>margin KWD %{y:,.3f}<extra>current</extra>",
        "%{x}<br>margin EUR %{y:,.2f}<extra>current</extra>",
    ]


def test_a_margin_percent_that_rounds_to_nothing_reads_0_0_not_minus_0_0():
    """A margin of -0.01 on a revenue of 1000.00 is -0.001 %, 0.0 to one decimal: it read
    "-0.0%" in the tables and the bar labels (a float's negative zero), where the amounts
    beside it never show "-0.00"."""
    import math

    lines = LINES.iloc[:1].assign(amount=[D("1000.00")], cost=[D("1000.01")])
    [pct] = charts.summarise(lines, ["customer"])["margin_pct"]
    assert pct == 0 and math.copysign(1, pct) == 1
    assert charts.percent_label(pct) == "0.0%"
    assert list(charts.margin_bars(charts.summarise(lines, ["vendor"]), "vendor").data[0].text) == [
        "0.0%"
    ]
