"""The summarised usage sheets' rows of the invoices above the seller's ``usage_detail_max_lines``,
summed by pyarrow from a share's lines (``usage.share_lines``, an Arrow table already).

A row sums the rated lines of one invoice line, service, SKU, description, subscription/resource,
unit and kind (``USAGE_GROUP``): exact sums that add up to the invoice lines. A vendor whose rows
per resource would be more than ``SUMMARY_MAX_ROWS`` (or the limit, if lower) is summarised
without the resource, counting the resources. Every vendor is summed that way first, with the
number of rows per resource each group would give; only the other vendors' lines are summed again
per resource. (DuckDB's ``count(DISTINCT subscription)`` over the share took two and a half times
as long as pyarrow's grouping, and a ``SELECT DISTINCT`` that counted the rows per resource
first as long again: benchmarks/README.md, issue 13's sixth pass.)
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: Summarised usage-sheet columns (header, column of ``_summed``, kind as in
#: ``usage.DETAIL_COLUMNS``), one row per group of USAGE_GROUP. The unit price is shown where
#: every line of the row has the same one (as on the invoice).
SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Invoice line", "invoice_line", "text"),
    ("First charge date", "charge_date_min", "date"),
    ("Last charge date", "charge_date_max", "date"),
    ("Kind", "kind_name", "text"),
    ("Service", "service", "text"),
    ("SKU", "sku", "text"),
    ("Description", "description", "text"),
    ("Subscription / resource", "resource", "text"),
    ("Quantity", "quantity_sum", "quantity"),
    ("Unit", "unit", "text"),
    ("Unit price", "unit_price", "price"),
    ("Amount", "amount_sum", "price"),
    ("Rated lines", "count_all", "int"),
)
#: Most rows of a summarised usage sheet per subscription/resource; a vendor with more groups is
#: summarised without the resource, counting the resources (about 13 cells a row: a month of 500
#: customers of thousands of resources each would otherwise write millions of cells again).
SUMMARY_MAX_ROWS = 200
USAGE_GROUP = ("invoice_line", "service", "sku", "description", "subscription", "unit", "kind_name")
_SUB = "subscription"
_LABEL = "resource_label"
#: The groups without the resource, per invoice (``part``) and vendor.
_COUNTED = ("part", "vendor_id", *(c for c in USAGE_GROUP if c != "subscription"))
#: The columns of a share's lines the summaries read.
_USED = [
    "part",
    "vendor_id",
    *USAGE_GROUP,
    "resource_label",
    "charge_date",
    "quantity",
    "unit_price",
    "amount",
]
#: The rows' order within an invoice: the vendors by id, the reseller's lines last, then the group.
_ORDER = (
    "part",
    "_reseller",
    "vendor_id",
    "invoice_line",
    "service",
    "sku",
    "description",
    "_resource",
    "unit",
    "kind_name",
)


def summary_rows(
    lines: pa.Table, parts: list[int], limit: int
) -> tuple[list[tuple], set[tuple[int, str]]]:
    """The summarised sheets' rows (part, vendor, SUMMARY_COLUMNS' values: quantities and
    amounts as their exact decimal text) of the invoices ``parts`` of ``lines``, in the sheets'
    order, and the (part, vendor) pairs whose rows count the resources: those whose summary per
    resource would have more than ``limit`` rows."""
    mine = _of_parts(lines.select(_USED), parts)
    counted = _summed(mine, _COUNTED, counted=True)
    sizes = counted.group_by(["part", "vendor_id"], use_threads=False).aggregate([("_rows", "sum")])
    many = pc.greater(sizes["_rows_sum"], pa.scalar(limit))
    over = sizes.filter(many).select(["part", "vendor_id"])
    rest = sizes.filter(pc.invert(many)).select(["part", "vendor_id"])
    tables = [counted.join(over, ["part", "vendor_id"], join_type="left semi", use_threads=False)]
    if rest.num_rows:
        per_resource = mine.join(
            rest, ["part", "vendor_id"], join_type="left semi", use_threads=False
        )
        tables.append(_summed(per_resource, (*_COUNTED, "subscription"), counted=False))
    columns = ["part", "vendor_id", *(c for _, c, _ in SUMMARY_COLUMNS)]
    rows = _in_order(pa.concat_tables(t.select([*columns, "_resource"]) for t in tables))
    values = [rows[c].to_pylist() for c in columns]
    return list(zip(*values, strict=True)), set(zip(*over.to_pydict().values(), strict=True))


def _of_parts(lines: pa.Table, parts: list[int]) -> pa.Table:
    """The rows of ``lines`` of the invoices ``parts`` (``lines`` itself when that is all: a
    filter copies every column)."""
    mask = pc.is_in(lines["part"], pa.array(parts, lines.schema.field("part").type))
    return lines if pc.all(mask).as_py() else lines.filter(mask)


def _summed(lines: pa.Table, keys: tuple[str, ...], counted: bool) -> pa.Table:
    """One row per group of ``keys`` of ``lines``: the keys, SUMMARY_COLUMNS' values, and
    ``_resource`` (the resource, None where counted) and ``_rows`` (the rows per resource the
    group would give: its distinct resources, a line without one counting as one more)."""
    sums: list[Any] = [  # (column, aggregate); pyarrow's stubs type each kind of tuple apart
        ("charge_date", "min"),
        ("charge_date", "max"),
        ("quantity", "sum"),
        ("unit_price", "count"),
        ("unit_price", "min"),
        ("unit_price", "max"),
        ("amount", "sum"),
        ([], "count_all"),
    ]
    # the resource as the sheets show it, its name beside its id (``usage.RESOURCE_LABEL``):
    # the one of the group's (or its one resource's) lines
    sums.append((_LABEL, "min"))
    if counted:
        sums += [(_SUB, "count_distinct"), (_SUB, "count")]
    g = lines.group_by(list(keys), use_threads=False).aggregate(sums)
    price = g["unit_price_min"]
    one_price = pc.and_(
        pc.equal(g["unit_price_count"], g["count_all"]), pc.equal(price, g["unit_price_max"])
    )
    text = pa.string()
    g = g.append_column(
        "unit_price", pc.if_else(one_price, price, pa.nulls(len(price), price.type)).cast(text)
    )
    for column in ("quantity_sum", "amount_sum"):
        g = g.set_column(g.schema.get_field_index(column), column, g[column].cast(text))
    if not counted:
        g = g.append_column("resource", g[f"{_LABEL}_min"])
        return g.append_column("_resource", g[_SUB])
    n = g[f"{_SUB}_count_distinct"]
    resources = [
        f"{k} resources" if k is not None and k > 1 else one
        for k, one in zip(n.to_pylist(), g[f"{_LABEL}_min"].to_pylist(), strict=True)
    ]
    g = g.append_column("resource", pa.array(resources, text))
    g = g.append_column("_resource", pa.nulls(g.num_rows, text))
    without = pc.greater(g["count_all"], g[f"{_SUB}_count"]).cast(pa.int64())
    return g.append_column("_rows", pc.add(n, without))


def _in_order(rows: pa.Table) -> pa.Table:
    """``rows`` in the sheets' order (``_ORDER``; nulls last, as DuckDB's ``ORDER BY``)."""
    keyed = rows.append_column("_reseller", pc.equal(rows["vendor_id"], pa.scalar("reseller")))
    return rows.take(pc.sort_indices(keyed, sort_keys=[(k, "ascending") for k in _ORDER]))
