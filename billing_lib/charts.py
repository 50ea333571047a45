"""Insight charts over rated lines: what each customer costs and brings in, and where the margin is.

The summaries are DuckDB SQL over the rated lines (exact DECIMAL sums, per invoice currency:
amounts of different currencies are never added together). The figure builders turn a summary into
a plotly figure; only there do amounts become floats, rounded to cents, because a chart is not a
money record.

Figures use a lean template and the ``plotly_mimetype`` renderer (``use_notebook_renderer``) so a
notebook stores only the figure's data, not plotly.js or a large template.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from billing_lib.money import decimal_places, round_money
from billing_lib.sql import ql
from billing_lib.store import register_frame, scratch_or

TEMPLATE_NAME = "billing"

#: Dimensions a summary can be grouped by, mapped to rated_lines columns.
DIMENSIONS = {
    "period": "period",
    "customer": "customer_id",
    "vendor": "vendor",
    "product": "product_group",
    "service": "service",
    "currency": "currency",
}

#: What the lines that are no vendor's service are summed under by the ``service`` dimension
#: (their ``service`` is empty: a summary showed them as one row named NaN), per line kind.
KIND_SERVICES = {
    "fee": "fees (custom lines)",
    "one_off": "one-offs (custom lines)",
    "credit": "credits (custom lines)",
    "minimum": "minimum fee top-ups",
    "percent_fee": "percent fees",
    "allowance": "allowances",
    "seat_fee": "seat fees",
}
#: A vendor line whose report names no service.
NO_SERVICE = "(no service)"
#: What a margin percentage without a value reads (a revenue of 0 or less has none to take a
#: percentage of: ``summarise``'s ``margin_pct`` is empty there), in the charts and tables.
NO_PERCENT = "n/a"


def percent_label(value: Any) -> str:
    """A margin percentage as a chart labels it ("15.1%"), NO_PERCENT where it has none."""
    return NO_PERCENT if value is None or pd.isna(value) else f"{value}%"


def margin_pct_sql(revenue: str, cost: str) -> str:
    """SQL of the margin in percent of ``revenue`` (SQL expressions), rounded to 0.1; NULL for a
    revenue of 0 or less (NO_PERCENT). A margin that rounds to nothing is 0.0, not the float's
    negative zero (-0.001 % read "-0.0%"; ``+ 0.0`` turns -0.0 into 0.0)."""
    return (
        f"CASE WHEN {revenue} <= 0 THEN NULL "
        f"ELSE round(100 * ({revenue} - {cost}) / {revenue}, 1) + 0.0 END"
    )


def service_sql(service: str = "service", kind: str = "line_kind") -> str:
    """SQL of a rated line's service as summaries show it: its ``service``, else what its line
    kind is (KIND_SERVICES: a fee, a credit and a top-up of one product group are three rows,
    not one without a name), else NO_SERVICE."""
    kinds = " ".join(f"WHEN {ql(k)} THEN {ql(v)}" for k, v in KIND_SERVICES.items())
    return f"COALESCE({service}, CASE {kind} {kinds} END, {ql(NO_SERVICE)})"


_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def lean_template() -> go.layout.Template:
    """A small template: white background, light grid, a fixed colour sequence. plotly's default
    templates add several kilobytes to every stored figure."""
    axis = {"gridcolor": "#e5e5e5", "zerolinecolor": "#bbbbbb", "automargin": True}
    return go.layout.Template(
        layout={
            "font": {"family": "Arial, sans-serif", "size": 12},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "colorway": _COLOURS,
            "xaxis": axis,
            "yaxis": axis,
            "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        }
    )


def use_notebook_renderer() -> None:
    """Make figures render as plain ``application/vnd.plotly.v1+json`` with the lean template
    (JupyterLab's bundled plotly extension draws them; nothing else is embedded in the notebook)."""
    pio.templates[TEMPLATE_NAME] = lean_template()
    pio.templates.default = TEMPLATE_NAME
    pio.renderers.default = "plotly_mimetype"


def summarise(
    rated: pd.DataFrame, by: list[str], con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """Cost, revenue and margin of ``rated`` (rated_lines rows) grouped by ``by`` (keys of
    DIMENSIONS) and always by invoice currency. Exact Decimal sums; ``margin_pct`` is margin over
    revenue in percent rounded to 0.1, None where revenue is zero or negative (a credit balance:
    a loss over a negative revenue would read as a positive %). Where ``rated`` has a
    ``customer_name`` column (``analysis.load_summary``), a customer reads "C001 Dijkstra
    Architecten B.V.". ``con``: a scratch connection to sum on (a new DuckDB database costs
    about 25 ms, more than summing a customer's lines)."""
    names = None
    if "customer_name" in rated.columns:
        pairs = rated[["customer_id", "customer_name"]].drop_duplicates("customer_id")
        names = dict(zip(pairs["customer_id"], pairs["customer_name"], strict=True))
    with scratch_or(con) as summing:
        register_frame(summing, "_summarised", rated)
        try:
            return summarise_table(
                summing, "_summarised", by, names, summed="lines" in rated.columns
            )
        finally:
            summing.unregister("_summarised")


def customer_label(customer_id: str, name: str | None) -> str:
    """How a customer reads in summaries and lists: its id and its name ("C001 Dijkstra
    Architecten B.V."), the id alone when the name is unknown."""
    return f"{customer_id} {name}" if isinstance(name, str) and name else str(customer_id)


def summarise_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    by: list[str],
    names: dict[str, str] | None = None,
    summed: bool = False,
) -> pd.DataFrame:
    """``summarise`` over a table of the store (``rated_lines`` of a run): the lines stay in DuckDB
    and only the small summary becomes a DataFrame, so a month of millions of lines fits.
    ``names``: customer id -> name, for the customer column's labels. ``summed``: the table's
    rows are sums already (``analysis.load_summary``) with their rated lines in ``lines``. A
    rated line's service is ``service_sql``'s (fees and top-ups named, not NaN)."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"unknown summary dimension(s) {unknown}; expected some of {sorted(DIMENSIONS)}"
        )
    keys = list(dict.fromkeys([*by, "currency"]))
    columns = {k: f'"{DIMENSIONS[k]}"' for k in keys}
    if "service" in keys and "line_kind" in con.sql(f"SELECT * FROM {table} LIMIT 0").columns:
        columns["service"] = service_sql()  # rated lines (a summary's rows are named already)
    select = ", ".join(f'{c} AS "{k}"' for k, c in columns.items())
    # by position: a key named as its column ("service") would group by the column, not the key
    group = ", ".join(str(k + 1) for k in range(len(keys)))
    out = (
        con.sql(
            f"""SELECT {select},
                   CAST(sum(cost) AS DECIMAL(38,12)) AS cost,
                   CAST(sum(amount) AS DECIMAL(38,12)) AS revenue,
                   CAST(sum(amount) - sum(cost) AS DECIMAL(38,12)) AS margin,
                   {margin_pct_sql("sum(amount)", "sum(cost)")} AS margin_pct,
                   {"CAST(sum(lines) AS BIGINT)" if summed else "count(*)"} AS lines
            FROM {table} GROUP BY {group} ORDER BY {group}"""
        )
        .to_arrow_table()
        .to_pandas()
    )
    if names is not None and "customer" in out.columns:
        out["customer"] = [customer_label(c, names.get(c)) for c in out["customer"]]
    return out


def _money(values: Iterable[Any], currency: object = "EUR") -> list[float]:
    """Amounts of ``currency`` for a chart axis: rounded half-up to its minor unit (cents, fils
    of a KWD, whole yen), as its invoices state them, then float (display only)."""
    code = str(currency)
    return [float(round_money(Decimal(v), code)) if v is not None else 0.0 for v in values]


def _amount_format(currency: object) -> str:
    """The d3 format of an amount of ``currency`` in a hover text: thousands separated, to its
    minor unit (",.2f"; ",.3f" for KWD, ",.0f" for JPY)."""
    return f",.{decimal_places(str(currency))}f"


def _amount_text(value: float, currency: object) -> str:
    """An amount of ``currency`` as ``_amount_format`` shows it, for a hover's custom data."""
    return f"{value:{_amount_format(currency)}}"


def cost_revenue_scatter(summary: pd.DataFrame) -> go.Figure:
    """One point per customer (per invoice currency): cost on x, revenue on y, and the break-even
    line revenue = cost. Points above the line make money. ``summary`` is
    ``summarise(rated, ["customer"])``. The line spans every point, negative ones too (a credit
    balance, a refund above the usage): drawn from 0 only, it did not reach them."""
    fig = go.Figure()
    top = bottom = 0.0
    for currency, part in summary.groupby("currency", sort=True):
        cost, revenue = _money(part["cost"], currency), _money(part["revenue"], currency)
        f = _amount_format(currency)
        top = max([top, *cost, *revenue])
        bottom = min([bottom, *cost, *revenue])
        fig.add_trace(
            go.Scatter(
                x=cost,
                y=revenue,
                mode="markers+text",
                name=str(currency),
                text=list(part["customer"]),
                textposition="top center",
                customdata=[
                    [_amount_text(m, currency), percent_label(p)]
                    for m, p in zip(
                        _money(part["margin"], currency), part["margin_pct"], strict=True
                    )
                ],
                hovertemplate=f"%{{text}}<br>cost %{{x:{f}}}<br>revenue %{{y:{f}}}<br>margin "
                "%{customdata[0]} "
                "(%{customdata[1]})<extra>" + str(currency) + "</extra>",
                marker={"size": 11},
            )
        )
    edge, low = round(top * 1.1, 2) or 1.0, round(bottom * 1.1, 2) if bottom < 0 else 0.0
    fig.add_trace(
        go.Scatter(
            x=[low, edge],
            y=[low, edge],
            mode="lines",
            name="break-even",
            line={"dash": "dash", "color": "#888888"},
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        title="Cost versus revenue per customer",
        xaxis_title="cost (invoice currency)",
        yaxis_title="revenue (invoice currency)",
        height=420,
    )
    return fig


def margin_bars(summary: pd.DataFrame, by: str) -> go.Figure:
    """Margin per ``by`` (vendor, product, ...), one bar series per invoice currency, with the
    margin % as bar text. ``summary`` is ``summarise(rated, [by])``."""
    fig = go.Figure()
    for currency, part in summary.groupby("currency", sort=True):
        pct = [percent_label(p) for p in part["margin_pct"]]
        f = _amount_format(currency)
        fig.add_trace(
            go.Bar(
                x=[str(v) for v in part[by]],
                y=_money(part["margin"], currency),
                name=str(currency),
                text=pct,
                textposition="outside",
                customdata=list(
                    zip(
                        _money(part["cost"], currency),
                        _money(part["revenue"], currency),
                        strict=True,
                    )
                ),
                hovertemplate=f"%{{x}}<br>margin %{{y:{f}}} (%{{text}})<br>cost "
                f"%{{customdata[0]:{f}}}<br>revenue %{{customdata[1]:{f}}}<extra>{currency}"
                "</extra>",
            )
        )
    fig.update_layout(
        title=f"Margin by {by}",
        xaxis_title=by,
        yaxis_title="margin (invoice currency)",
        barmode="group",
        height=380,
    )
    return fig


def margin_trend(summary: pd.DataFrame, measure: str = "margin") -> go.Figure:
    """Month-over-month ``measure`` (margin, revenue or cost) per customer: one line per customer
    and currency, periods in order. ``summary`` is ``summarise(rated, ["period", "customer"])``.
    The period axis lists every period in calendar order: a category axis orders its periods as
    the traces first name them, so a first customer without October put October after
    November. Each trace names every period, without a value (a gap) where the customer had no
    line: a line from September straight to November read as a figure for an October it was
    not billed in."""
    if measure not in ("margin", "revenue", "cost"):
        raise ValueError(f"measure must be margin, revenue or cost; got {measure!r}")
    fig = go.Figure()
    periods = sorted({str(p) for p in summary["period"]})
    ordered = summary.sort_values(["customer", "currency", "period"])
    for (customer, currency), part in ordered.groupby(["customer", "currency"], sort=True):
        shown = dict(
            zip((str(p) for p in part["period"]), _money(part[measure], currency), strict=True)
        )
        fig.add_trace(
            go.Scatter(
                x=periods,
                y=[shown.get(p) for p in periods],
                mode="lines+markers",
                connectgaps=False,
                name=f"{customer} ({currency})",
                hovertemplate=f"%{{x}}<br>{measure} %{{y:{_amount_format(currency)}}}"
                f"<extra>{customer} ({currency})</extra>",
            )
        )
    fig.update_layout(
        title=f"{measure.capitalize()} per customer, month over month",
        xaxis_title="period",
        yaxis_title=f"{measure} (invoice currency)",
        xaxis_type="category",
        xaxis_categoryorder="array",
        xaxis_categoryarray=periods,
        height=380,
    )
    return fig


def what_if_bars(comparison: pd.DataFrame) -> go.Figure:
    """Current versus what-if margin per customer (``comparison`` has customer, currency,
    margin and what_if_margin columns, as ``widgets.compare_margins`` returns)."""
    labels = [
        f"{c} ({cur})"
        for c, cur in zip(comparison["customer"], comparison["currency"], strict=True)
    ]
    currencies = list(comparison["currency"])

    def amounts(column: str) -> list[float]:  # each customer's in its currency's minor unit
        return [_money([v], c)[0] for v, c in zip(comparison[column], currencies, strict=True)]

    def hover(name: str) -> list[str]:  # per bar: a trace holds customers of every currency
        return [
            f"%{{x}}<br>margin {c} %{{y:{_amount_format(c)}}}<extra>{name}</extra>"
            for c in currencies
        ]

    fig = go.Figure(
        [
            go.Bar(x=labels, y=amounts("margin"), name="current", hovertemplate=hover("current")),
            go.Bar(
                x=labels,
                y=amounts("what_if_margin"),
                name="what-if",
                hovertemplate=hover("what-if"),
            ),
        ]
    )
    fig.update_layout(
        title="Margin now and with the what-if markup",
        barmode="group",
        height=340,
        yaxis_title="margin (invoice currency)",
    )
    return fig
