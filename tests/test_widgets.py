"""Margin explorer widgets driven as a user would: set .value, press .click()."""

from decimal import Decimal as D

import pandas as pd
import pytest

from billing_lib import whatif
from billing_lib.errors import ParameterError
from billing_lib.widgets import MarginExplorer, compare_margins
from tests.rated_frames import LINES

PLOTLY = "application/vnd.plotly.v1+json"


def markup_on_cost(lines: pd.DataFrame, customer: str, markup: D | None) -> pd.DataFrame:
    """A test re-pricer: revenue = cost x (1 + markup %), exact (None: as rated); each line's
    service an invoice line of its own, as ``whatif.reprice`` keys them."""
    out = lines.copy()
    if markup is not None:
        out["amount"] = [c * (1 + markup / 100) for c in out["cost"]]
    out["line_key"], out["line_credit"] = out["service"], False
    return out


def test_filters_redraw_totals_and_charts():
    ex = MarginExplorer(LINES, markup_on_cost)
    assert ex.periods.options == ("2026-09", "2026-10")
    assert len(ex.chart_area.outputs) == 4
    assert all(PLOTLY in o["data"] for o in ex.chart_area.outputs)

    ex.vendors.value = ("aws",)
    by_vendor = ex.figures["by_vendor"]
    assert sorted({x for t in by_vendor.data for x in t.x}) == ["aws"]
    c1 = ex.summary[ex.summary["customer"] == "C1"].iloc[0]
    assert (c1["cost"], c1["revenue"]) == (D("180.00"), D("216.00"))
    assert "216.00" in ex.totals.value and "3 rated lines" in ex.totals.value

    ex.periods.value = ("2026-10",)
    trend = ex.figures["trend"]
    assert [list(t.x) for t in trend.data] == [["2026-10"], ["2026-10"]]
    assert "2 rated lines" in ex.totals.value


def test_what_if_markup_shows_the_margin_change_at_once():
    ex = MarginExplorer(LINES, markup_on_cost)
    ex.vendors.value = ("aws",)
    ex.periods.value = ("2026-10",)
    ex.what_if_customer.value = "C1"
    ex.markup.value = 25.0  # observed: re-prices without pressing the button
    row = ex.comparison.iloc[0]
    assert (row["margin"], row["what_if_margin"], row["margin_change"]) == (
        D("20.00"),
        D("25.00"),
        D("5.00"),
    )
    assert "change <b>+5.00</b>" in ex.what_if_text.value
    assert "20.0 %" in ex.what_if_text.value  # 25 / 125

    ex.vendors.value = ("aws", "microsoft")
    ex.apply.click()
    row = ex.comparison.iloc[0]
    # C1 in 2026-10: cost 150.005; the invoice's lines now 120.00 + 55.0055 print 175.01; at
    # 25 %: 125.00 + 62.50625, printed 187.51 (the rated lines' sum 187.50625, shown as such);
    # the cost the invoice states is its lines' rounded: 100.00 + 50.01 (not 150.005)
    assert (row["revenue"], row["rated_revenue"]) == (D("175.01"), D("175.0055"))
    assert (row["what_if_revenue"], row["what_if_rated_revenue"]) == (D("187.51"), D("187.50625"))
    assert (row["margin"], row["what_if_margin"]) == (D("25.00"), D("37.50"))
    assert "change <b>+12.50</b>" in ex.what_if_text.value
    assert "invoiced net EUR 175.01 &rarr; 187.51" in ex.what_if_text.value
    assert "(rated lines, unrounded: 175.0055 &rarr; 187.50625)" in ex.what_if_text.value
    assert ex.what_if_area.outputs[0]["data"][PLOTLY]["data"][0]["name"] == "current"


def test_the_what_if_follows_the_chosen_periods_and_vendors_at_once():
    """The what-if states the margin of the lines chosen now, not of the earlier choice."""
    ex = MarginExplorer(LINES, markup_on_cost)
    ex.what_if_customer.value = "C1"
    ex.markup.value = 25.0
    # the invoices print 125.00 + 62.51 (October) and 100.00 (September) on a cost of 230.005,
    # which their lines state as 100.00 + 50.01 and 80.00
    assert ex.comparison.iloc[0]["what_if_margin"] == D("57.50")
    ex.periods.value = ("2026-09",)
    row = ex.comparison.iloc[0]
    assert (row["margin"], row["what_if_margin"]) == (D(16), D(20))
    assert "change <b>+4.00</b>" in ex.what_if_text.value
    ex.periods.value = ("2026-09", "2026-10")
    ex.vendors.value = ("microsoft",)
    row = ex.comparison.iloc[0]
    assert (row["margin"], row["what_if_margin"]) == (D("5.00"), D("12.50"))  # 55.01, 62.51
    ex.periods.value = ("2026-09",)
    assert ex.comparison.empty
    assert ex.what_if_text.value == "no lines of this customer in the selection"


def test_the_what_if_prices_unit_prices_to_the_places_chosen():
    """ "Unit prices" passes the places chosen to the re-pricer (a markup rule's
    ``unit_price_places``: ``analysis.repricer``), and the text says so; "unrounded" passes none,
    so a re-pricer of three arguments still serves."""
    calls = []

    def priced(lines: pd.DataFrame, customer: str, markup: D | None, *places: int):
        calls.append((markup, places))
        return markup_on_cost(lines, customer, markup)

    ex = MarginExplorer(LINES, priced)
    ex.what_if_customer.value = "C1"
    assert calls[-2:] == [(None, ()), (D(10), ())]
    assert [v for _, v in ex.unit_places.options] == [None, 0, 1, 2, 3, 4, 5, 6]
    ex.unit_places.value = 2  # observed: re-prices without pressing the button
    assert calls[-1] == (D(10), (2,))
    assert "at 10 % markup, unit prices to 2 places: margin" in ex.what_if_text.value
    ex.unit_places.value = None
    assert calls[-1] == (D(10), ())
    assert "at 10 % markup: margin" in ex.what_if_text.value


def test_a_loss_making_markup_is_shown_as_a_negative_change():
    ex = MarginExplorer(LINES, markup_on_cost)
    ex.what_if_customer.value = "C2"
    ex.markup.value = -10.0
    ex.apply.click()
    assert "change <b>-10.00</b>" in ex.what_if_text.value  # margin -10 -> -20


def test_compare_margins_keeps_customers_without_a_what_if():
    other = LINES[LINES["customer_id"] == "C1"]
    cmp = compare_margins(markup_on_cost(LINES, "", None), markup_on_cost(other, "C1", D(0)))
    assert list(cmp["customer"]) == ["C1", "C2"]
    assert pd.isna(cmp.iloc[1]["what_if_margin"])


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("15%", "expected a number of percent on cost, e.g. 10 or 12.5; got '15%'"),
        (5000, "expected a number of percent on cost from -100 to 1000; got 5000"),
        (-150.0, "expected a number of percent on cost from -100 to 1000; got -150.0"),
        (True, "expected a number of percent on cost, e.g. 10 or 12.5; got True"),
        (float("nan"), "expected a number of percent on cost, e.g. 10 or 12.5; got nan"),
        (
            "12.3456789",
            "expected a number of percent on cost with at most 6 decimals (the what-if prices "
            "exactly to that); got '12.3456789'",
        ),
    ],
)
def test_a_markup_parameter_that_is_no_percent_in_range_is_named(markup, expected):
    """``-r markup 15%`` was a ValueError traceback; ``-p markup 5000`` was clamped to 1000 by
    the widget without a word, the what-if then showing another markup than the one asked."""
    with pytest.raises(ParameterError) as err:
        MarginExplorer(LINES, markup_on_cost, markup)
    assert str(err.value) == f"margin_analysis parameters, entry markup: {expected}"


def test_a_markup_parameter_given_as_text_of_a_number_is_read():
    """``-r markup 12.5`` arrives as text: the number it writes."""
    assert MarginExplorer(LINES, markup_on_cost, "12.5").markup_value() == D("12.5")
    assert MarginExplorer(LINES, markup_on_cost, D(1000)).markup_value() == D(1000)


def test_a_markup_of_more_decimals_than_the_what_if_prices_is_refused_not_rounded():
    """The factor on cost is a DECIMAL(18,8): 10.1234567 % re-priced at 10.123457 % without a
    word. The what-if says what it can price instead of showing another markup's margin."""
    ex = MarginExplorer(LINES, markup_on_cost)
    ex.what_if_customer.value = "C1"
    ex.markup.value = 12.123456
    assert "at 12.123456 % markup" in ex.what_if_text.value
    with pytest.raises(ParameterError, match="at most 6 decimals"):
        whatif.markup_factor("10.1234567")
    assert whatif.markup_factor("10.12345600") == D("1.1012345600")

    def exact(lines: pd.DataFrame, customer: str, markup: D | None) -> pd.DataFrame:
        if markup is not None:
            whatif.markup_factor(markup)
        return markup_on_cost(lines, customer, markup)

    ex = MarginExplorer(LINES, exact)
    ex.what_if_customer.value = "C1"
    ex.markup.value = 10.1234567
    assert ex.comparison.empty and ex.what_if_area.outputs == ()
    assert ex.what_if_text.value == (
        "what-if, entry markup: expected a markup with at most 6 decimals (its factor on cost is "
        "exact to 8 places); got &#x27;10.1234567&#x27;"
    )


def test_the_what_if_of_some_vendors_shows_their_share_of_an_invoice_line_they_share():
    """An invoice line of two vendors (a grouping by tag): 1.004 + 1.0041 prints 2.01, cost
    0.804 + 0.8041 states 1.61. With all vendors chosen the what-if's "now" is the invoice's;
    with Microsoft alone its share, as the margin summary shares the line (1.01 and 0.81: each
    part rounded, the cent to the larger part), not its part rounded alone (1.00 and 0.80)."""
    lines = pd.DataFrame(
        {
            "period": ["2026-10", "2026-10"],
            "customer_id": ["C1", "C1"],
            "currency": ["EUR", "EUR"],
            "vendor": ["vmware", "microsoft"],
            "product_group": ["services", "services"],
            "line_key": ["R&D", "R&D"],
            "line_credit": [False, False],
            "amount": [D("1.004"), D("1.0041")],
            "cost": [D("0.804"), D("0.8041")],
        }
    )
    [both] = compare_margins(lines, lines).to_dict("records")
    assert (both["revenue"], both["margin"]) == (D("2.01"), D("0.40"))
    [microsoft] = compare_margins(lines, lines, {"vmware"}).to_dict("records")
    assert (microsoft["revenue"], microsoft["margin"]) == (D("1.01"), D("0.20"))
    assert microsoft["rated_revenue"] == D("1.0041")
    [vmware] = compare_margins(lines, lines, {"microsoft"}).to_dict("records")
    assert (vmware["revenue"], vmware["margin"]) == (D("1.00"), D("0.20"))


def test_the_explorer_s_totals_read_n_a_for_a_margin_percent_of_no_revenue():
    """Its totals table left the percent of a revenue of 0 blank, where the tables, charts and
    what-if text read n/a."""
    lines = LINES.assign(amount=[D(0)] * len(LINES))
    ex = MarginExplorer(lines, markup_on_cost)
    assert ex.totals.value.count("<td>n/a</td>") == 2  # EUR and USD


def test_the_as_billed_side_is_priced_once_per_customer_and_periods():
    """A what-if compares the lines as billed with them re-priced; the former do not change with
    the markup or the unit price places, so a change of either re-prices once, not twice (half
    of the analyst's wait); another customer or other periods price their own as billed."""
    calls = []

    def priced(lines: pd.DataFrame, customer: str, markup: D | None, *places: int):
        calls.append((customer, tuple(sorted(set(lines["period"]))), markup))
        return markup_on_cost(lines, customer, markup)

    ex = MarginExplorer(LINES, priced)
    ex.what_if_customer.value = "C1"
    ex.markup.value = 25.0
    ex.unit_places.value = 2
    ex.markup.value = 30.0
    both = ("2026-09", "2026-10")
    assert calls == [("C1", both, None), ("C1", both, D(10)), ("C1", both, D(25))] + [
        ("C1", both, D(25)),
        ("C1", both, D(30)),
    ]
    assert ex.comparison.iloc[0]["what_if_margin"] - ex.comparison.iloc[0]["margin"] > 0
    calls.clear()
    ex.periods.value = ("2026-10",)
    ex.apply.click()
    ex.what_if_customer.value = "C2"
    assert [c for c in calls if c[2] is None] == [
        ("C1", ("2026-10",), None),
        ("C2", ("2026-10",), None),
    ]


def test_a_what_if_margin_percent_that_rounds_to_nothing_reads_0_0():
    """As the summaries: -0.001 % read "(-0.0 %)" in the what-if's text."""
    import math

    from billing_lib.widgets import compare_margins

    def totals(net: str, cost: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "customer_id": ["C1"],
                "currency": ["EUR"],
                "invoiced_cost": [D(cost)],
                "amount": [D(net)],
                "invoiced": [D(net)],
            }
        )

    out = compare_margins(totals("1000.00", "1000.01"), totals("1000.00", "1000.01"))
    for column in ("margin_pct", "what_if_margin_pct"):
        assert out[column][0] == 0 and math.copysign(1, out[column][0]) == 1, column
