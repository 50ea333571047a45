"""Control totals of a vendor sample computed independently of the importer (csv module + Decimal),
and the beangulp-style expected-output files kept beside the tests
(tests/expected/<sample>.json)."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

#: The real public vendor samples copied into the project (tests/data/vendor-samples, with their
#: sources and licences), or where ``BILLING_VENDOR_SAMPLES`` points (an override, never required).
SAMPLES = Path(
    os.environ.get("BILLING_VENDOR_SAMPLES")
    or Path(__file__).resolve().parent / "data" / "vendor-samples"
)
EXPECTED = Path(__file__).with_name("expected")
#: The line model keeps 12 decimal places; a vendor amount with more is rounded once, half away
#: from zero, on import (docs/formats.md).
PLACES = Decimal("1e-12")


def model_amount(text: str) -> Decimal:
    return Decimal(text).quantize(PLACES, rounding=ROUND_HALF_UP)


def own_totals(
    path: Path,
    cost: str,
    currency: Callable[[dict], str],
    category: Callable[[dict], str],
    nulls: tuple[str, ...] = ("",),
) -> dict:
    """Rows, cost per currency and lines per charge category, read with the csv module."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if any(v not in nulls for v in r.values())]
    by_cur: dict[str, Decimal] = {}
    for r in rows:
        value = r[cost]
        amount = Decimal(0) if value in nulls else model_amount(value)
        by_cur[currency(r)] = by_cur.get(currency(r), Decimal(0)) + amount
    return {
        "rows": len(rows),
        "cost_per_currency": {c: format(v, "f") for c, v in sorted(by_cur.items())},
        "lines_per_category": dict(sorted(Counter(category(r) for r in rows).items())),
    }


def report_totals(report) -> dict:
    """The same figures from an ImportReport, for comparing and for the expected files."""
    return {
        "rows": report.rows,
        "cost_per_currency": {c.currency: format(c.cost_after, "f") for c in report.currencies},
        "lines_per_category": dict(sorted(report.lines_per_category.items())),
    }


def expected(name: str) -> dict:
    return json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))
