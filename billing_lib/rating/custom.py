"""Lines the reseller adds: custom fees, one-offs and credits (``custom_lines.yaml``), as rows of
``rating_custom_lines`` (the price plans' fees are appended to it: ``rating.fees``)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb

from billing_lib.pricing import CustomLine, Pricing
from billing_lib.rating.tables import RATED_COLUMNS, put_table
from billing_lib.sql import ql

_TWELVE = Decimal("0.000000000001")


def round12(value: Decimal) -> Decimal:
    """``value`` at 12 places, half-up (as the SQL stores amounts)."""
    return value.quantize(_TWELVE, rounding=ROUND_HALF_UP)


def _fee(c: CustomLine, first: date, last: date) -> tuple[Decimal, date, str] | None:
    """Amount, day and text of a monthly fee in the month ``first``..``last`` (None: not in
    force), prorated by its valid days in the month. A prorated part names its days ("Support
    (2026-11-16 to 2026-11-30: 15 of 30 days)"): a price changed on the 16th of a month of 30
    days gave two lines "(15 of 30 days)" that the invoice summed into one, "2 each"."""
    days_in_month = (last - first).days + 1
    lo, hi = max(first, c.valid_from or first), min(last, c.valid_to or last)
    if lo > hi:
        return None
    days = (hi - lo).days + 1
    base = c.quantity * c.unit_price
    if not c.prorate or days == days_in_month:
        return (base if not c.prorate else round12(base * days / days_in_month)), lo, c.description
    span = lo.isoformat() if lo == hi else f"{lo.isoformat()} to {hi.isoformat()}"
    text = f"{c.description} ({span}: {days} of {days_in_month} days)"
    return round12(base * days / days_in_month), lo, text


def billed_in(c: CustomLine, first: date, last: date) -> tuple[Decimal, date, str] | None:
    """Amount, day and text of a custom line in the month (None: not billed in it)."""
    if c.kind == "fee":
        return _fee(c, first, last)
    if c.on is None or not first <= c.on <= last:
        return None
    base = c.quantity * c.unit_price
    return (-base if c.kind == "credit" else base), c.on, c.description


def custom_rows(pricing: Pricing, period: str, first: date, last: date) -> list[dict[str, Any]]:
    """The custom lines billed in ``period``: fees prorated by their valid days in the month,
    one-offs and credits in the month of their date. A few dozen entries: computed in Python,
    with the SQL rounding (12 places, half-up)."""
    rows: list[dict[str, Any]] = []
    for c in pricing.custom_lines:
        billed = billed_in(c, first, last)
        if billed is None:
            continue
        amount, day, text = billed
        rows.append(
            {
                "customer_id": c.customer,
                "period": period,
                "charge_date": day,
                "line_kind": c.kind,
                "vendor": "reseller",
                "product_group": c.product_group,
                "description": text,
                "quantity": c.quantity,
                "unit": c.unit,
                "unit_price": amount if c.quantity == 0 else round12(amount / c.quantity),
                "amount": round12(amount),
                "cost": Decimal(0),
                "vendor_cost": Decimal(0),
                "billed_cost": Decimal(0),
                "vendor_currency": c.currency,
                "fx_rate": Decimal(1),
                "currency": c.currency,
                "rule_id": c.id,
            }
        )
    return rows


def custom_table(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """``rating_custom_lines`` with ``rows`` in their order (rated_lines columns; missing ones
    NULL); the minimum-fee top-ups are appended to it."""
    columns = {c: (t, [r.get(c) for r in rows]) for c, t in RATED_COLUMNS.items()}
    put_table(con, "rating_custom_lines", columns)


def date_sql(day: date) -> str:
    """A date as a SQL literal (from a ``date``, never from text)."""
    return f"DATE {ql(date.isoformat(day))}"
