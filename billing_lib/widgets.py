"""Interactive margin analysis over finished runs: choose periods, customers and vendors, and try
another markup for one customer, its unit prices rounded to a price list's or not.

The callbacks are plain methods (``on_filter_change``, ``on_what_if``) that tests drive by setting
``.value`` on the widgets and calling ``.click()``. Charts go into ``Output`` widgets as plotly
mime bundles; the figures last drawn are kept in ``figures`` so tests read them through
``fig.data`` without a browser.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from billing_lib import charts, whatif
from billing_lib.errors import BillingError
from billing_lib.margin_parameters import MARKUP_RANGE, check_markup
from billing_lib.money import round_money
from billing_lib.pricing import MAX_UNIT_PLACES
from billing_lib.rating import DEC
from billing_lib.store import register_frame, scratch_connection

#: Re-prices one customer's rated lines with another markup (percent on cost; None: as the run
#: priced them); returns the lines re-priced (the rated lines' columns with ``line_key`` and
#: ``line_credit``, the invoice line each is summed into: ``whatif.reprice``), of every vendor
#: where it re-prices the whole month as a run would (``analysis.repricer``: minimum fees topped
#: up from all their scope's lines); the explorer leaves out those of the vendors not chosen.
#: Given a fourth argument, the places the re-priced unit prices are rounded to (a markup rule's
#: ``unit_price_places``: ``analysis.repricer``); never given one where none is chosen.
Repricer = Callable[..., pd.DataFrame]
#: The what-if's choices of unit prices: unrounded (a markup rule without ``unit_price_places``),
#: or rounded half-up to 0 to 6 places (``pricing.MAX_UNIT_PLACES``).
UNIT_PRICE_CHOICES = [
    ("unrounded", None),
    *((f"{n} places", n) for n in range(MAX_UNIT_PLACES + 1)),
]


def _mime(fig: go.Figure) -> dict:
    """A display_data output for an Output widget: the plotly JSON only (no plotly.js)."""
    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_dict())
    bundle["text/plain"] = f"<Figure: {fig.layout.title.text or 'chart'}>"
    return {"output_type": "display_data", "data": bundle, "metadata": {}}


def _registered(con: duckdb.DuckDBPyConnection, lines: pd.DataFrame) -> str:
    """``lines`` registered on ``con`` under a name of its own, which it returns."""
    name = f"_lines_{id(lines)}"
    register_frame(con, name, lines)
    return name


def _invoiced(
    con: duckdb.DuckDBPyConnection, lines: pd.DataFrame, left_out: Collection[str] = ()
) -> str:
    """SQL of the cost the invoices state (each invoice line's rounded: the invoice's margin is
    net less that), the rated lines' unrounded revenue (``rated``) and the net the invoices print
    (``revenue``) per customer and currency of ``lines``: a repricer's lines
    (``whatif.reprice``: each invoice line rounded, ``whatif.TOTALS_SQL``; the vendors
    ``left_out`` not counted, their shares of a line shared with others neither) or their totals
    already (``whatif.reprice_totals``)."""
    name = _registered(con, lines)
    totals = name if "invoiced" in lines.columns else f"({whatif.totals_sql(name, left_out)})"
    return f"""(SELECT customer_id, currency, CAST(sum(invoiced_cost) AS {DEC}) AS cost,
                       CAST(sum(amount) AS {DEC}) AS rated,
                       CAST(sum(invoiced) AS {DEC}) AS revenue
                FROM {totals} GROUP BY ALL)"""


def compare_margins(
    current: pd.DataFrame, what_if: pd.DataFrame, left_out: Collection[str] = ()
) -> pd.DataFrame:
    """Per customer and currency: the net the invoices print now and with the re-priced lines
    (``revenue``, ``what_if_revenue``: each invoice line rounded as the invoices round it,
    docs/rounding.md), the margin on it, its percentage of the net, and the change in margin;
    beside them the rated lines' unrounded sums, labelled so (``rated_revenue``,
    ``what_if_rated_revenue``). ``current`` and ``what_if`` are a repricer's lines (the current
    ones at markup None) or ``whatif.reprice_totals``. Exact Decimals; the what-if columns are
    empty for customers not re-priced, and a customer and currency that only the what-if bills
    (a minimum fee's top-up the markup needs, where nothing of the chosen vendors is billed now)
    is 0 now; likewise one re-priced (in ``what_if``, of any vendor) that bills nothing of the
    chosen vendors with the markup (a top-up billed now that the markup makes unneeded) is 0
    with it, not empty (which the explorer's text could not round). The vendors ``left_out``
    (of the explorer's list) are not counted: the others show their shares of each invoice
    line, as the margin summary does (``whatif.TOTALS_SQL``)."""
    names: dict[str, str] = {}
    for part in (current, what_if):
        if "customer_name" in part.columns:
            names |= dict(zip(part["customer_id"], part["customer_name"], strict=True))
    zero = f"CAST(0 AS {DEC})"
    with scratch_connection() as con:  # one scratch connection for the queries
        out = (
            con.sql(
                f"""WITH n AS {_invoiced(con, current, left_out)},
                         wi AS {_invoiced(con, what_if, left_out)},
               -- nothing billed now of what the what-if bills (a top-up it needs): 0 now
               now AS (SELECT customer_id, currency, COALESCE(n.cost, {zero}) AS cost,
                              COALESCE(n.rated, {zero}) AS rated,
                              COALESCE(n.revenue, {zero}) AS revenue
                       FROM n FULL JOIN (SELECT customer_id, currency FROM wi)
                         USING (customer_id, currency)),
               -- re-priced, nothing of the chosen vendors with the markup (a top-up it ends): 0
               w AS (SELECT customer_id, currency, COALESCE(wi.cost, {zero}) AS cost,
                            COALESCE(wi.rated, {zero}) AS rated,
                            COALESCE(wi.revenue, {zero}) AS revenue
                     FROM wi FULL JOIN (SELECT DISTINCT customer_id, currency
                                       FROM {_registered(con, what_if)})
                       USING (customer_id, currency))
               SELECT customer_id AS customer, currency, now.revenue,
                      now.revenue - now.cost AS margin,
                      {charts.margin_pct_sql("now.revenue", "now.cost")} AS margin_pct,
                      now.rated AS rated_revenue,
                      w.revenue AS what_if_revenue, w.revenue - w.cost AS what_if_margin,
                      {charts.margin_pct_sql("w.revenue", "w.cost")} AS what_if_margin_pct,
                      w.rated AS what_if_rated_revenue,
                      (w.revenue - w.cost) - (now.revenue - now.cost) AS margin_change
               FROM now LEFT JOIN w USING (customer_id, currency)
               ORDER BY customer_id, currency"""
            )
            .to_arrow_table()
            .to_pandas()
        )
    out["customer"] = [charts.customer_label(c, names.get(c)) for c in out["customer"]]
    return out


def _exact(value: Any) -> str:
    """An unrounded amount as text without trailing zeros (175.0055), "n/a" when missing."""
    return "n/a" if value is None or pd.isna(value) else f"{Decimal(value).normalize():f}"


def _percent(value: Any) -> str:
    return "n/a" if pd.isna(value) else f"{value} %"


def describe_change(
    comparison: pd.DataFrame, markup: Decimal, unit_price_places: int | None = None
) -> str:
    """One sentence per currency, as HTML: margin now -> with the markup (and its unit prices
    rounded to ``unit_price_places``, where given), and the change (cents), on the net the
    invoices print; then that net, and the rated lines' unrounded revenue."""
    how = f"{markup:f} % markup"
    if unit_price_places is not None:
        how += f", unit prices to {unit_price_places} places"
    parts = []
    for row in comparison.to_dict("records"):
        currency = row["currency"]
        change = round_money(row["margin_change"], currency)
        sign = "+" if change > 0 else ""
        pct_now = _percent(row["margin_pct"])
        pct_new = _percent(row["what_if_margin_pct"])
        parts.append(
            f"<b>{html.escape(str(row['customer']))}</b> at {how}: margin "
            f"{currency} {round_money(row['margin'], currency):,f} ({pct_now}) &rarr; "
            f"{currency} {round_money(row['what_if_margin'], currency):,f} ({pct_new}), "
            f"change <b>{sign}{change:,f}</b>; invoiced net {currency} "
            f"{round_money(row['revenue'], currency):,f} &rarr; "
            f"{round_money(row['what_if_revenue'], currency):,f} (rated lines, unrounded: "
            f"{_exact(row['rated_revenue'])} &rarr; {_exact(row['what_if_rated_revenue'])})"
        )
    return "<br>".join(parts) or "no lines selected"


def without_lines(loaded: list[str], with_lines: list[str]) -> str:
    """The explorer's sentence on the months ``loaded`` that have no rated line (their runs
    billed no customer: every vendor line unmapped or excluded), empty when every one has: as
    the notebook says "No customer is billed in the runs loaded" (``analysis.NO_CUSTOMER``)
    under its empty tables, rather than an empty list saying nothing."""
    empty = [p for p in loaded if p not in set(with_lines)]
    if not empty:
        return ""
    unbilled = "the vendor cost billed to no customer is listed at the end."
    if not with_lines:
        return (
            f"No rated line in the runs loaded ({', '.join(empty)}): no customer is billed, "
            f"nothing to choose or re-price; {unbilled}"
        )
    runs = "its run" if len(empty) == 1 else "their runs"
    return f"No rated line in {', '.join(empty)}: {runs} billed no customer; {unbilled}"


def _line_count(selection: pd.DataFrame) -> int:
    """Rated lines behind ``selection``: rated lines, or ``analysis.load_summary`` rows."""
    return int(selection["lines"].sum()) if "lines" in selection.columns else len(selection)


class MarginExplorer:
    """Filters, the three insight charts, and a what-if markup for one customer."""

    def __init__(
        self, rated: pd.DataFrame, reprice: Repricer, default_markup: object = Decimal(10)
    ) -> None:
        markup = check_markup(default_markup)  # the notebook's parameter, before anything else
        self.rated = rated
        self.reprice = reprice
        self.figures: dict[str, go.Figure] = {}
        self.summary = pd.DataFrame()
        self.comparison = pd.DataFrame()
        #: the as-billed side of the what-if per customer and periods chosen (``as_billed``)
        self._as_billed: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}

        def options(col: str) -> list[str]:
            return sorted(str(v) for v in rated[col].dropna().unique())

        with_lines, vendors = options("period"), options("vendor")
        # the months loaded (``load_summary``'s ``attrs["runs"]``), those whose run rated no
        # line too: left out, the list was empty for such a month alone, and nothing said why
        periods = sorted({*with_lines, *map(str, rated.attrs.get("runs", {}))})
        # (label, id): the lists read "C001 Dijkstra Architecten B.V.", their values stay the ids
        names = (
            dict(zip(rated["customer_id"], rated["customer_name"], strict=True))
            if "customer_name" in rated.columns
            else {}
        )
        ids = options("customer_id")
        customers = [(charts.customer_label(c, names.get(c)), c) for c in ids]
        self.periods = w.SelectMultiple(
            options=periods,
            value=tuple(periods),
            description="Periods",
            rows=min(6, max(2, len(periods))),
        )
        self.customers = w.SelectMultiple(
            options=customers,
            value=tuple(ids),
            description="Customers",
            rows=min(6, max(2, len(customers))),
        )
        self.vendors = w.SelectMultiple(
            options=vendors,
            value=tuple(vendors),
            description="Vendors",
            rows=min(6, max(2, len(vendors))),
        )
        self.notice = w.HTML(html.escape(without_lines(periods, with_lines)))
        self.totals = w.HTML()
        self.chart_area = w.Output()
        self.what_if_customer = w.Dropdown(
            options=customers, value=ids[0] if ids else None, description="Customer"
        )
        self.markup = w.BoundedFloatText(
            value=markup,
            min=float(MARKUP_RANGE[0]),
            max=float(MARKUP_RANGE[1]),
            step=0.5,
            description="Markup %",
        )
        self.unit_places = w.Dropdown(
            options=UNIT_PRICE_CHOICES, value=None, description="Unit prices"
        )
        self.apply = w.Button(description="Re-price", button_style="primary", icon="calculator")
        self.what_if_text = w.HTML()
        self.what_if_area = w.Output()

        for control in (self.periods, self.customers, self.vendors):
            control.observe(self.on_filter_change, names="value")
        for control in (self.periods, self.vendors):  # the what-if's lines are of these
            control.observe(self.on_what_if, names="value")
        self.markup.observe(self.on_what_if, names="value")
        self.unit_places.observe(self.on_what_if, names="value")
        self.what_if_customer.observe(self.on_what_if, names="value")
        self.apply.on_click(self.on_what_if)
        self.on_filter_change()
        self.on_what_if()

    def selected(self) -> pd.DataFrame:
        """Rated lines of the chosen periods, customers and vendors."""
        r = self.rated
        keep = (
            r["period"].isin(self.periods.value)
            & r["customer_id"].isin(self.customers.value)
            & r["vendor"].isin(self.vendors.value)
        )
        return r[keep]

    def on_filter_change(self, change: dict | None = None) -> None:
        """Recompute the totals and redraw the charts for the current selection. The five
        summaries are summed on one scratch connection (``store.scratch_connection``)."""
        chosen = self.selected()
        with scratch_connection() as con:
            self.summary = charts.summarise(chosen, ["customer"], con)
            by = {d: charts.summarise(chosen, [d], con) for d in ("vendor", "product", "currency")}
            trend = charts.summarise(chosen, ["period", "customer"], con)
        self.figures = {
            "cost_revenue": charts.cost_revenue_scatter(self.summary),
            "by_vendor": charts.margin_bars(by["vendor"], "vendor"),
            "by_product": charts.margin_bars(by["product"], "product"),
            "trend": charts.margin_trend(trend),
        }
        per_currency = by["currency"]
        rows = "".join(
            f"<tr><td>{r['currency']}</td>"
            f"<td>{round_money(r['cost'], r['currency']):,f}</td>"
            f"<td>{round_money(r['revenue'], r['currency']):,f}</td>"
            f"<td>{round_money(r['margin'], r['currency']):,f}</td>"
            f"<td>{charts.NO_PERCENT if pd.isna(r['margin_pct']) else r['margin_pct']}</td></tr>"
            for r in per_currency.to_dict("records")
        )
        self.totals.value = (
            f"<table><tr><th>currency</th><th>cost</th><th>revenue</th><th>margin</th>"
            f"<th>margin %</th></tr>{rows}</table><p>{_line_count(chosen)} rated lines selected</p>"
        )
        self.chart_area.outputs = tuple(_mime(f) for f in self.figures.values())

    def markup_value(self) -> Decimal:
        """The what-if markup as an exact Decimal (the text the user typed, not the float)."""
        try:
            return Decimal(repr(float(self.markup.value))).normalize()
        except InvalidOperation:  # pragma: no cover - BoundedFloatText only holds numbers
            return Decimal(0)

    def as_billed(self, lines: pd.DataFrame, customer: str) -> pd.DataFrame:
        """The customer's ``lines`` (of the periods chosen) as billed, keyed to their invoice
        lines as the what-if keys them (the repricer at markup None): priced once per customer
        and periods, as they do not change with the markup or the unit price places, so that a
        change of either re-prices once, not twice (the as-billed side is half of a what-if)."""
        key = (customer, tuple(sorted(set(lines["period"]))))
        if key not in self._as_billed:
            self._as_billed[key] = self.reprice(lines, customer, None)
        return self._as_billed[key]

    def on_what_if(self, change: object = None) -> None:
        """Re-price the chosen customer's selected lines with the markup (their unit prices
        rounded to the places chosen, if any, as a markup rule's ``unit_price_places``); show the
        margin change on the net the invoices print, now (its lines as billed, the same way) and
        with it."""
        customer = self.what_if_customer.value
        markup = self.markup_value()
        places = self.unit_places.value
        rounded = () if places is None else (places,)
        r = self.rated
        # the customer's months of the chosen periods, whatever vendors are chosen: the
        # repricer re-prices each whole (every vendor's lines, as a run would), and a month
        # without a line of the chosen vendors now gets a top-up (vendor "reseller") at
        # another markup; the vendors not chosen are left out of what is shown, each chosen
        # one with its share of an invoice line shared with them (``compare_margins``)
        lines = r[r["period"].isin(self.periods.value) & (r["customer_id"] == customer)]
        if customer is None or lines.empty:
            self.comparison = pd.DataFrame()
            self.what_if_text.value = (
                "no customer has a rated line in the runs loaded"
                if customer is None
                else "no lines of this customer in the selection"
            )
            self.what_if_area.outputs = ()
            return
        left_out = set(self.vendors.options) - set(self.vendors.value)
        try:
            now = self.as_billed(lines, customer)
            repriced = self.reprice(lines, customer, markup, *rounded)
        except BillingError as error:
            # a markup the what-if cannot price exactly, a run's file it cannot read: said in
            # its text, as a widget's callback raising shows in no cell (the kernel's log only)
            # and the text would keep the figures of the customer or periods chosen before
            self.comparison = pd.DataFrame()
            self.what_if_text.value = html.escape(str(error))
            self.what_if_area.outputs = ()
            return
        self.comparison = compare_margins(now, repriced, left_out)
        # the months a credit note cancelled and none replaced: nothing to re-price, said so
        notes = [html.escape(str(n)) for n in now.attrs.get("not_billed", [])]
        if self.comparison.empty:  # nothing of the chosen vendors, now or with the markup
            self.what_if_text.value = (
                "<br>".join(notes) or "no lines of this customer in the selection"
            )
            self.what_if_area.outputs = ()
            return
        self.what_if_text.value = "<br>".join(
            [describe_change(self.comparison, markup, places), *notes]
        )
        self.figures["what_if"] = charts.what_if_bars(self.comparison)
        self.what_if_area.outputs = (_mime(self.figures["what_if"]),)

    def widget(self) -> w.Widget:
        """The whole explorer as one widget to display."""
        filters = w.HBox([self.periods, self.customers, self.vendors])
        what_if = w.VBox(
            [
                w.HTML("<h4>What if</h4>"),
                w.HBox([self.what_if_customer, self.markup, self.unit_places, self.apply]),
                self.what_if_text,
                self.what_if_area,
            ]
        )
        return w.VBox([filters, self.notice, self.totals, what_if, self.chart_area])
