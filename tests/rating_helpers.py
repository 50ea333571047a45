"""Synthetic customer lines and parameters for the pricing and rating tests."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.model import LINE_COLUMNS, derived_select_sql
from billing_lib.pricing import load_pricing
from billing_lib.store import open_store

CUSTOMERS = """
customers:
  - id: C1
    name: Alpha B.V.
    address: [Kade 1, 1011 AA Amsterdam]
    country: NL
    vat_number: NL000000008B01
    invoice_currency: EUR
    group: smb
  - id: C2
    name: Beta GmbH
    address: [Strasse 2, 10115 Berlin]
    country: DE
    vat_number: DE123456788
    invoice_currency: EUR
    group: smb
  - id: C3
    name: Gamma Inc.
    address: [1 Main St, Boston MA]
    country: US
    invoice_currency: USD
    group: enterprise
"""

ACCOUNTS = """vendor,account_id,customer_id,valid_from,valid_to,note
aws,111,C1,,,
aws,222,C2,,,
aws,333,C3,,,
microsoft,tenant-1,C1,,,
microsoft,tenant-2,C2,,,
microsoft,tenant-3,C3,,,
"""

RATES = """from_currency,to_currency,rate,valid_from,valid_to,source
USD,EUR,0.9,2026-10-01,2026-10-15,test rate A
USD,EUR,0.8,2026-10-16,2026-10-31,test rate B
EUR,USD,1.1,2026-10-01,2026-10-31,test rate C
"""


def write_parameters(
    folder: Path,
    plans: str,
    custom: str | None = None,
    rates: str | None = RATES,
    customers: str = CUSTOMERS,
    accounts: str = ACCOUNTS,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.yaml").write_text(customers)
    (folder / "accounts.csv").write_text(accounts)
    (folder / "price_plans.yaml").write_text(plans)
    if custom is not None:
        (folder / "custom_lines.yaml").write_text(custom)
    if rates is not None:
        (folder / "exchange_rates.csv").write_text(rates)
    return folder


def line(**values: Any) -> dict[str, Any]:
    """One line of the model with sensible defaults (AWS usage, USD, 1 October 2026)."""
    base: dict[str, Any] = {
        "x_Vendor": "aws",
        "SubAccountId": "111",
        "ProviderName": "AWS",
        "PublisherName": "AWS",
        "ChargeCategory": "Usage",
        "ChargePeriodStart": datetime(2026, 10, 1),
        "ChargePeriodEnd": datetime(2026, 10, 2),
        "ServiceName": "Amazon EC2",
        "SkuId": "EC2-1",
        "BilledCost": Decimal(10),
        "BillingCurrency": "USD",
        "x_Format": "test",
        "x_SourceFile": "test.csv",
    }
    base.update(values)
    for k in ("BilledCost", "EffectiveCost", "ListUnitPrice", "ListCost", "PricingQuantity"):
        if k in base and base[k] is not None and not isinstance(base[k], Decimal):
            base[k] = Decimal(str(base[k]))
    return base


def load_lines(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Insert the rows into ``lines`` as one Arrow table (row numbers 2, 3, ... unless given)."""
    cols: dict[str, list[Any]] = {c.name: [] for c in LINE_COLUMNS}
    for n, r in enumerate(rows, start=2):
        r = {"x_SourceRow": n, **r}
        for c in LINE_COLUMNS:
            v = r.get(c.name)
            cols[c.name].append(str(v) if isinstance(v, Decimal) else v)
    arrow = pa.table(
        {
            k: pa.array(v, pa.string() if LINE_COLUMNS[i].sql_type.startswith("DECIMAL") else None)
            for i, (k, v) in enumerate(cols.items())
        }
    )
    con.register("__test_lines", arrow)
    select = ", ".join(f'CAST("{c.name}" AS {c.sql_type}) AS "{c.name}"' for c in LINE_COLUMNS)
    # the columns the importer derives from the others, as it does (a pricing date given is kept)
    con.execute(f"INSERT INTO lines {derived_select_sql(f'(SELECT {select} FROM __test_lines)')}")
    con.unregister("__test_lines")


def rated_store(
    params: Path, rows: list[dict[str, Any]], con: duckdb.DuckDBPyConnection | None = None
):
    """(con, pricing, customers) with ``customer_lines`` ready for ``rate_lines`` (in ``con``, a
    new in-memory store unless given)."""
    con = con or open_store()
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    load_lines(con, rows)
    assign_customers(con)
    return con, load_pricing(params, customers), customers


def group_plan(*rules: str) -> str:
    """price_plans.yaml of one plan ``p`` of ``rules`` (YAML flow mappings), assigned to group
    smb."""
    body = "\n".join(f"      - {r}" for r in rules)
    return f"plans:\n  - id: p\n    rules:\n{body}\nassignments:\n  - {{plan: p, group: smb}}\n"


#: Where an error names the entry of a YAML file, between the file and the entry
#: (billing_lib.entry_lines): ``line 5, ``, ``line 5, column 31, `` or ``lines 4 and 6, ``.
PLACE = r"(?:line \d+(?:, column \d+)?|lines \d+(?:, \d+)* and \d+), "


def entry_named(file: str, entry: str) -> str:
    """A pattern of ``<file>, <place>, entry <entry>``: the place where the file holds the entry
    (a key left out has none). The tests of entry_lines check the places themselves."""
    return rf"{re.escape(file)}, (?:{PLACE})?entry {re.escape(entry)}"


def rated_month(tmp_path: Path, plans: str, rows: list[dict], customers: str, accounts: str):
    """(store, rating report) of ``rows`` rated for 2026-10 by ``plans``."""
    from billing_lib.rating import rate_lines

    params = write_parameters(tmp_path, plans, customers=customers, accounts=accounts)
    con, pricing, loaded = rated_store(params, rows)
    return con, rate_lines(con, pricing, loaded, "2026-10")


def cents(x: Decimal) -> Decimal:
    """``x`` half-up at 2 places, as the invoice prints a EUR amount."""
    from decimal import ROUND_HALF_UP

    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
