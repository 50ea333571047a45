"""Fixtures for the invoice, workbook and ledger tests: ``rated_lines`` tables built by hand with
exactly the contract's columns (docs/architecture.md), and the repository's parameters."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from billing_lib.customers import load_customers
from billing_lib.invoices import load_invoicing
from billing_lib.rating import RATED_COLUMNS

REPO = Path(__file__).resolve().parents[1]
PARAMETERS = REPO / "parameters"
PERIOD = "2026-10"
ISSUED = date(2026, 11, 1)

#: The contract's columns of ``rated_lines`` and their DuckDB types (the library's list, itself
#: checked against docs/architecture.md in tests/test_rating_sql.py).
RATED = RATED_COLUMNS


def line(
    customer: str,
    amount: str,
    *,
    vendor: str = "aws",
    service: str | None = "Amazon EC2",
    product_group: str | None = None,
    cost: str | None = None,
    currency: str = "EUR",
    kind: str = "vendor",
    **more: object,
) -> dict[str, object]:
    """One rated line; ``cost`` defaults to 80 % of the amount, vendor cost = cost (EUR)."""
    amt = Decimal(amount)
    cst = (
        Decimal(cost)
        if cost is not None
        else (amt * Decimal("0.8")).quantize(Decimal("0.000000000001"))
    )
    row: dict[str, object] = {
        "customer_id": customer,
        "period": PERIOD,
        "charge_date": date(2026, 10, 15),
        "charge_end": None,
        "line_kind": kind,
        "vendor": vendor if kind == "vendor" else "reseller",
        "provider": None,
        "publisher": None,
        "service": service if kind == "vendor" else None,
        "sku": None,
        "charge_category": "Usage",
        "subscription": None,
        "subscription_name": None,
        "tags": None,
        "product_group": product_group or (vendor if kind == "vendor" else "services"),
        "description": service or "a line",
        "quantity": Decimal(1),
        "unit": "Hrs",
        "unit_price": amt,
        "amount": amt,
        "cost": cst if kind == "vendor" else Decimal(0),
        "vendor_cost": cst if kind == "vendor" else Decimal(0),
        "billed_cost": cst if kind == "vendor" else Decimal(0),
        "vendor_currency": currency if kind == "vendor" else None,
        "fx_rate": Decimal(1),
        "currency": currency,
        "plan_id": "plan",
        "rule_id": "rule",
        "source_file": "report.csv" if kind == "vendor" else None,
        "source_row": 2 if kind == "vendor" else None,
        "vendor_line_id": None,
    }
    row.update(
        {
            k: Decimal(v) if isinstance(v, str) and RATED[k].startswith("DECIMAL") else v
            for k, v in more.items()
        }
    )
    return row


def rated_table(con: duckdb.DuckDBPyConnection, rows: list[dict[str, object]]) -> None:
    """``rated_lines`` holding ``rows`` (typed exactly as the contract says)."""
    cols = ", ".join(f'"{c}" {t}' for c, t in RATED.items())
    con.execute(f"CREATE OR REPLACE TABLE rated_lines ({cols})")
    if rows:
        table = pa.table({c: pa.array([r[c] for r in rows]) for c in RATED})
        con.register("_rows", table)
        casts = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in RATED.items())
        con.execute(f"INSERT INTO rated_lines SELECT {casts} FROM _rows")
        con.unregister("_rows")


def parameters_copy(tmp: Path) -> Path:
    """A copy of the repository's parameters to edit in a test."""
    target = tmp / "parameters"
    shutil.copytree(PARAMETERS, target)
    return target


def input_vat_parameters(tmp_path: Path, vendor: str = "aws") -> Path:
    """A copy of the parameters whose ``vendor`` charges recoverable input VAT, booked on 1510."""
    params = parameters_copy(tmp_path)
    products = params / "products.yaml"
    text = products.read_text(encoding="utf-8")
    old = f'payable_account: "{ {"aws": "1610", "microsoft": "1620"}[vendor] }"}}'
    assert old in text and '"1510"' in text
    products.write_text(
        text.replace(old, old[:-1] + ', input_vat_account: "1510"}', 1), encoding="utf-8"
    )
    return params


def setup(rows: list[dict[str, object]], parameters: Path = PARAMETERS):
    """(connection with rated_lines, customers, invoicing) for ``rows``."""
    con = duckdb.connect()
    rated_table(con, rows)
    customers = load_customers(parameters)
    return con, customers, load_invoicing(parameters, customers)
