"""The rated lines as a table for notebooks, labelled as the invoices label them."""

from __future__ import annotations

import duckdb
import pandas as pd

from billing_lib.customers import Customer
from billing_lib.line_labels import check_grouping, labelled_sql
from billing_lib.store import frame


def rated_frame(
    con: duckdb.DuckDBPyConnection,
    customers: dict[str, Customer] | None = None,
    table: str = "rated_lines",
    vendor_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The rated lines for a notebook (exact Decimals): customer, the text of the invoice line
    each is summed into (by each customer's ``line_grouping``, vendor / service for customers not
    given; the same text the invoices show: billing_lib.line_labels), description, quantity,
    unit, unit price, amount, cost, currency, rule id and the source line ids. ``vendor_names``:
    vendor key -> name (products.yaml vendors)."""
    by_grouping: dict[tuple[str, ...], list[str]] = {}
    for c in (customers or {}).values():
        check_grouping(c.line_grouping, c.id)
        by_grouping.setdefault(tuple(c.line_grouping), []).append(c.id)
    labelled = labelled_sql(table, by_grouping, ("vendor", "service"), vendor_names or {})
    return frame(
        con,
        f"""
        SELECT customer_id AS customer, invoice_line AS invoice_line_group, description, quantity,
               unit, unit_price, amount, cost, currency, rule_id, plan_id, line_kind, vendor,
               period,
               CASE WHEN source_file IS NOT NULL
                    THEN source_file || ':' || source_row
                         || COALESCE(' (' || vendor_line_id || ')', '')
                    ELSE line_kind || ':' || rule_id END AS source_line_ids
        FROM ({labelled})
        ORDER BY customer, invoice_line_group, line_kind, source_file, source_row, rule_id""",
    )
