"""Rated lines as the notebooks receive them (one row a line, exact Decimals), for the chart and
widget tests: two customers, two currencies, two months."""

from __future__ import annotations

from decimal import Decimal as D

import pandas as pd


def rated(rows: list[tuple]) -> pd.DataFrame:
    cols = [
        "period",
        "customer_id",
        "vendor",
        "product_group",
        "service",
        "currency",
        "cost",
        "amount",
    ]
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows])


LINES = rated(
    [
        ("2026-10", "C1", "aws", "compute", "Amazon EC2", "EUR", D("100.00"), D("120.00")),
        (
            "2026-10",
            "C1",
            "microsoft",
            "licences",
            "Microsoft 365 E3",
            "EUR",
            D("50.005"),
            D("55.0055"),
        ),
        ("2026-10", "C2", "aws", "compute", "Amazon EC2", "USD", D(200), D(190)),
        ("2026-09", "C1", "aws", "compute", "Amazon EC2", "EUR", D(80), D(96)),
    ]
)
