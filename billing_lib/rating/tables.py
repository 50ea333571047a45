"""The rating's table contract (``rated_lines`` columns and types) and the two helpers every
rating module uses: a temp table from Python values, and the first row of a query."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from billing_lib.rating.exact import DEC

#: How many offending lines or keys an error message lists.
SHOWN = 5

#: Columns of ``rated_lines`` in order (docs/architecture.md), with their DuckDB types.
RATED_COLUMNS: dict[str, str] = {
    "customer_id": "VARCHAR",
    "period": "VARCHAR",
    "charge_date": "DATE",
    "charge_end": "DATE",
    "line_kind": "VARCHAR",
    "vendor": "VARCHAR",
    "provider": "VARCHAR",
    "publisher": "VARCHAR",
    "service": "VARCHAR",
    "sku": "VARCHAR",
    "charge_category": "VARCHAR",
    "subscription": "VARCHAR",
    "subscription_name": "VARCHAR",
    "tags": "VARCHAR",
    "product_group": "VARCHAR",
    "description": "VARCHAR",
    "quantity": DEC,
    "unit": "VARCHAR",
    "unit_price": DEC,
    "amount": DEC,
    "cost": DEC,
    "vendor_cost": DEC,
    "billed_cost": DEC,
    "vendor_currency": "VARCHAR",
    "fx_rate": DEC,
    "currency": "VARCHAR",
    "plan_id": "VARCHAR",
    "rule_id": "VARCHAR",
    "source_file": "VARCHAR",
    "source_row": "BIGINT",
    "vendor_line_id": "VARCHAR",
}


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> tuple:
    """The first row of ``sql`` (a query that always gives one), read to its end (DuckDB 2
    refuses new work on a connection while a result is unfinished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0]


def first_or_none(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None
) -> tuple | None:
    """The first row of ``sql`` or None, with the result read to its end."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def put_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, tuple[str, list[Any]]]
) -> None:
    """Create temp table ``name`` from Python values: column -> (DuckDB type, values). Decimals go
    through text so they stay exact."""
    arrow = pa.table(
        {
            c: pa.array(
                [None if v is None else str(v) if isinstance(v, Decimal) else v for v in vals],
                pa.string() if t.startswith("DECIMAL") else None,
            )
            for c, (t, vals) in columns.items()
        }
    )
    con.register("__rows", arrow)
    try:
        cols = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, (t, _) in columns.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols} FROM __rows")
    finally:
        con.unregister("__rows")
