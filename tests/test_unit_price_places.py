"""Unit prices of a price list (``unit_price_places`` on a markup or list-price rule): each line
the rule prices is billed at quantity x its unit price rounded half-up to the rule's places, the
unit price the invoice then shows; credits the rule prices likewise; a line without a quantity
refused; the what-if pricing as the run; the field refused where it means nothing
(docs/pricing.md, "Rule kinds"; docs/rounding.md)."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from rating_helpers import entry_named, group_plan, line, rated_store, write_parameters

from billing_lib import analysis
from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.pricing import load_pricing
from billing_lib.rating import rate_lines
from billing_lib.run import RATED_PARQUET
from billing_lib.sql import ql
from billing_lib.store import frame
from billing_lib.whatif import (
    MINIMUM_FEES_PARQUET,
    TERMS_PARQUET,
    reprice_customer,
    write_minimum_fees,
    write_terms,
)

#: Microsoft licence lines of C1 (tenant-1), in EUR.
MS = {
    "x_Vendor": "microsoft",
    "SubAccountId": "tenant-1",
    "ProviderName": "Microsoft",
    "PublisherName": "Microsoft Corporation",
    "ServiceName": "Exchange Online",
    "BillingCurrency": "EUR",
    "ChargeCategory": "Purchase",
}
EUR = {"BillingCurrency": "EUR"}
LIST_RULE = "{id: ms, kind: list_price, uplift_percent: 3, credits: price, unit_price_places: 2}"


def rate(tmp_path, plans: str, rows: list[dict]):
    params = write_parameters(tmp_path, plans)
    con, pricing, customers = rated_store(params, rows)
    rate_lines(con, pricing, customers, "2026-10")
    return con, params


def priced(con) -> list[tuple]:
    """(quantity, unit price, amount) of the vendor lines by row."""
    return con.execute(
        "SELECT quantity, unit_price, amount FROM rated_lines WHERE line_kind = 'vendor' "
        "ORDER BY source_row"
    ).fetchall()


def test_a_list_price_rule_bills_quantity_x_its_unit_price_rounded(tmp_path):
    """15 seats at list 3.80775 + 3 % = 3.9219825: the price list's 3.92 a seat, 58.80 (not
    15 x 3.9219825 = 58.8297375, printed 58.83). Without the field the same line is priced as
    before, unrounded (the invoice's "15 x 3.92": tests/test_offerings.py)."""
    seats = line(**MS, PricingQuantity=15, ListUnitPrice="3.80775", BilledCost="55.00")
    con, _ = rate(tmp_path / "rounded", group_plan(LIST_RULE), [seats])
    assert priced(con) == [(D(15), D("3.92"), D("58.80"))]
    plain = LIST_RULE.replace(", unit_price_places: 2", "")
    con, _ = rate(tmp_path / "plain", group_plan(plain), [seats])
    assert priced(con) == [(D(15), D("3.9219825"), D("58.8297375"))]


def test_a_markup_rule_rounds_half_up_and_credits_at_the_same_price(tmp_path):
    """A markup's unit price is the line's cost x factor / quantity (in the invoice currency),
    rounded half-up, away from zero: 4.60 / 4 x 1.10 = 1.265 -> 1.27 (half-even: 1.26), 4 x 1.27
    = 5.08. A credit the rule prices (``credits: price``) of -4 seats gets 1.27 too, -5.08, and so
    does a refund of +4 seats at a negative cost: -1.27 a seat. At 0 places 1.265 -> 1 a seat;
    a USD line is converted first (10 USD x 0.9 / 3 x 1.1 = 3.30 a unit, 9.90)."""
    rule = "{id: all, kind: markup, percent: 10, credits: price, unit_price_places: %s}"
    rows = [
        line(**EUR, PricingQuantity=4, BilledCost="4.60"),
        line(**EUR, PricingQuantity=-4, BilledCost="-4.60", ChargeCategory="Credit"),
        line(**EUR, PricingQuantity=4, BilledCost="-4.60", ChargeCategory="Credit"),
        line(PricingQuantity=3, BilledCost="10"),
    ]
    con, _ = rate(tmp_path / "2", group_plan(rule % 2), rows)
    assert priced(con) == [
        (D(4), D("1.27"), D("5.08")),
        (D(-4), D("1.27"), D("-5.08")),
        (D(4), D("-1.27"), D("-5.08")),
        (D(3), D("3.30"), D("9.90")),
    ]
    con, _ = rate(tmp_path / "0", group_plan(rule % 0), rows[:1])
    assert priced(con) == [(D(4), D(1), D(4))]


def test_a_minimum_fee_tops_up_the_lines_at_their_rounded_unit_prices(tmp_path):
    """The fees count the lines as the rating prices them: 4 x 1.27 = 5.08 under a minimum of
    10.00 is topped up by 4.92 (from the unrounded 5.06 it was 4.94, the invoice 10.02)."""
    plans = group_plan(
        "{id: all, kind: markup, percent: 10, unit_price_places: 2}",
        "{id: min, kind: minimum_fee, amount: '10.00', currency: EUR}",
    )
    con, _ = rate(tmp_path, plans, [line(**EUR, PricingQuantity=4, BilledCost="4.60")])
    assert con.execute(
        "SELECT line_kind, amount FROM rated_lines WHERE customer_id = 'C1' ORDER BY line_kind DESC"
    ).fetchall() == [("vendor", D("5.08")), ("minimum", D("4.92"))]


def test_a_seat_removed_credits_what_it_was_charged_a_seat(tmp_path):
    """Microsoft: 10 seats bought at list 3.80775, 3 of them removed (a credit of -3 at the same
    list price, priced by the rule): 10 x 3.92 = 39.20 and -3 x 3.92 = -11.76, 27.44 for the 7
    seats kept, exactly 7 x 3.92 (unrounded 10 and 3 seats' amounts printed 39.22 - 11.77 =
    27.45)."""
    rows = [
        line(**MS, PricingQuantity=10, ListUnitPrice="3.80775", BilledCost="36.00"),
        line(
            **{**MS, "ChargeCategory": "Credit"},
            PricingQuantity=-3,
            ListUnitPrice="3.80775",
            BilledCost="-10.80",
        ),
    ]
    con, _ = rate(tmp_path, group_plan(LIST_RULE), rows)
    assert priced(con) == [(D(10), D("3.92"), D("39.20")), (D(-3), D("3.92"), D("-11.76"))]
    assert sum(r[2] for r in priced(con)) == 7 * D("3.92")


@pytest.mark.parametrize(
    ("kind", "quantity", "has"),
    [
        ("markup", None, "no PricingQuantity"),
        ("markup", 0, "a PricingQuantity of 0"),
        ("list_price", None, "no PricingQuantity"),
        ("list_price", 0, "a PricingQuantity of 0"),
    ],
)
def test_a_line_without_a_quantity_under_unit_price_places_is_refused(
    tmp_path, kind, quantity, has
):
    """A line without a quantity has no unit price to round: refused naming the rule, the file
    and the row, as a line priced per unit without a quantity is. A line of no cost (or list)
    and no quantity prices 0, as before."""
    price = "percent: 10" if kind == "markup" else "uplift_percent: 3"
    rule = f"{{id: units, kind: {kind}, {price}, unit_price_places: 2, match: {{vendor: aws}}}}"
    plans = group_plan(rule, "{id: other, kind: pass_through}")
    zero = line(**EUR, PricingQuantity=quantity, BilledCost="0", ListCost="0")
    ok = line(**EUR, PricingQuantity=2, BilledCost="5", ListCost="6")
    con, _ = rate(tmp_path / "ok", plans, [ok, zero])
    assert [r[2] for r in priced(con)] == [D("5.50") if kind == "markup" else D("6.18"), 0]
    bad = line(**EUR, PricingQuantity=quantity, BilledCost="446.40", ListCost="450")
    shown = "costs 446.4 EUR" if kind == "markup" else "lists 450 EUR"
    with pytest.raises(
        ParameterError,
        match=r"price_plans.yaml, line 4, entry plans\[id=p\].rules\[id=units\]: the rule prices "
        rf"per unit \(unit_price_places: 2\), but test.csv row 4 has {has} and {shown}: it has no "
        r"unit price to round",
    ):
        rate(tmp_path / "bad", plans, [ok, zero, bad])


def test_the_what_if_with_unit_price_places_bills_what_a_run_bills(tmp_path):
    """The what-if at a markup of 10 % and 2 places gives the amounts and unit prices a run with
    that rule bills, line by line, on the run's store and read back from a run folder (the
    margin notebook's); its totals state the same net. Without places it prices unrounded."""
    rule = "{id: all, kind: markup, percent: 10, credits: price, unit_price_places: 2}"
    rows = [
        line(**EUR, PricingQuantity=4, BilledCost="4.60"),
        line(**EUR, PricingQuantity=3, BilledCost="10.01"),
        line(**EUR, PricingQuantity=-4, BilledCost="-4.60", ChargeCategory="Credit"),
        line(**EUR, PricingQuantity=None, BilledCost="0"),
        line(PricingQuantity=7, BilledCost="3.333"),
    ]
    con, _ = rate(tmp_path, group_plan(rule), rows)
    run = frame(con, "SELECT source_row, unit_price, amount FROM rated_lines ORDER BY 1")
    assert run["amount"].tolist() == [D("5.08"), D("3.67") * 3, D("-5.08"), 0, D("0.47") * 7]
    folder = tmp_path / "outputs" / "2026-10"
    folder.mkdir(parents=True)
    con.execute(f"COPY rated_lines TO {ql(str(folder / RATED_PARQUET))} (FORMAT parquet)")
    write_minimum_fees(con, "2026-10", folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", folder / TERMS_PARQUET)
    lines = frame(con, "SELECT * FROM rated_lines")
    on_the_run = reprice_customer(con, "C1", "10", unit_price_places=2)
    in_notebook = analysis.repricer(tmp_path / "outputs")(lines, "C1", D(10), 2)
    for what_if in (on_the_run, in_notebook):
        got = what_if.sort_values("source_row")[["source_row", "unit_price", "amount"]]
        assert got.values.tolist() == run.values.tolist()
    totals = reprice_customer(con, "C1", "10", totals=True, unit_price_places=2)
    assert totals["amount"].tolist() == [sum(run["amount"])]
    unrounded = reprice_customer(con, "C1", "10")
    assert unrounded.sort_values("source_row")["amount"].tolist()[:2] == [
        D("5.06"),
        D("11.011"),
    ]


def test_the_what_if_refuses_places_on_a_line_without_a_quantity(tmp_path):
    """A line the what-if re-prices at a cost without a quantity has no unit price to round: the
    what-if says so, naming the file and row, as the run would refuse the rule."""
    rows = [line(**EUR, PricingQuantity=2, BilledCost="5"), line(**EUR, BilledCost="3")]
    con, _ = rate(tmp_path, group_plan("{id: all, kind: markup, percent: 10}"), rows)
    with pytest.raises(
        ParameterError, match=r"what-if, entry unit_price_places: .*test.csv row 3 has no "
    ):
        reprice_customer(con, "C1", "10", unit_price_places=2)
    for bad in (7, -1, 2.5, "2", True):
        with pytest.raises(ParameterError, match=r"what-if, entry unit_price_places: expected"):
            reprice_customer(con, "C1", "10", unit_price_places=bad)


@pytest.mark.parametrize(
    ("rule", "entry", "fragment"),
    [
        (
            "{id: r, kind: fixed_price, unit_price: '2.00', currency: EUR, unit_price_places: 2}",
            "plans[id=p].rules[id=r].unit_price_places",
            "a fixed_price rule has no unit_price_places",
        ),
        (
            "{id: r, kind: pass_through, unit_price_places: 2}",
            "plans[id=p].rules[id=r].unit_price_places",
            "a pass_through rule has no unit_price_places",
        ),
        (
            "{id: r, kind: minimum_fee, amount: '75.00', currency: EUR, unit_price_places: 2}",
            "plans[id=p].rules[id=r].unit_price_places",
            "a minimum_fee rule has no unit_price_places",
        ),
        (
            "{id: r, kind: markup, percent: 10, unit_price_places: 2.5}",
            "plans[id=p].rules[id=r].unit_price_places",
            "expected a whole number of decimal places from 0 to 6, e.g. 2; got 2.5",
        ),
        (
            "{id: r, kind: markup, percent: 10, unit_price_places: '2'}",
            "plans[id=p].rules[id=r].unit_price_places",
            "expected a whole number of decimal places from 0 to 6, e.g. 2; got '2'",
        ),
        (
            "{id: r, kind: list_price, discount_percent: 5, unit_price_places: -1}",
            "plans[id=p].rules[id=r].unit_price_places",
            "expected a whole number of decimal places from 0 to 6, e.g. 2; got -1",
        ),
        (
            "{id: r, kind: list_price, discount_percent: 5, unit_price_places: 7}",
            "plans[id=p].rules[id=r].unit_price_places",
            "expected a whole number of decimal places from 0 to 6, e.g. 2; got 7",
        ),
        (
            "{id: r, kind: markup, percent: 10, unit_price_places: true}",
            "plans[id=p].rules[id=r].unit_price_places",
            "expected a whole number of decimal places from 0 to 6, e.g. 2; got True",
        ),
    ],
)
def test_bad_unit_price_places_name_the_file_entry_and_field(tmp_path, rule, entry, fragment):
    params = write_parameters(tmp_path, group_plan(rule))
    with pytest.raises(ParameterError) as err:
        load_pricing(params, load_customers(params))
    assert re.search(entry_named("price_plans.yaml", entry) + ":", str(err.value)), err.value
    assert fragment in str(err.value)


def test_unit_price_places_loads_on_markup_and_list_price_rules(tmp_path):
    plans = group_plan(
        "{id: m, kind: markup, percent: 10, unit_price_places: 0, match: {vendor: aws}}",
        "{id: l, kind: list_price, uplift_percent: 3, unit_price_places: 6}",
    )
    params = write_parameters(tmp_path, plans)
    rules = load_pricing(params, load_customers(params)).plans["p"].rules
    assert [(r.id, r.unit_price_places) for r in rules] == [("m", 0), ("l", 6)]
