"""Reading an invoice workbook back as Excel would show it: a formula's value computed in Decimal
from the cells it refers to, and the cell of a totals label (used by the workbook and credit-note
tests)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from openpyxl.utils import range_boundaries

D = Decimal


def evaluate(ws, formula: str) -> Decimal:
    """The value of one of the invoice sheet's formulas (ROUND, SUM, +, -, *, cell references and
    ranges), computed in Decimal from the cells' values, half-up like Excel's ROUND."""

    def cell(ref: str) -> Decimal:
        value = ws[ref].value
        if isinstance(value, str) and value.startswith("="):
            return evaluate(ws, value)
        return D(str(value)) if value is not None else D(0)

    def rng(ref: str) -> list[Decimal]:
        if ":" not in ref:
            return [cell(ref)]
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        return [
            cell(ws.cell(r, c).coordinate)
            for r in range(min_row, max_row + 1)
            for c in range(min_col, max_col + 1)
        ]

    def SUM(*parts):
        return sum((x for p in parts for x in p), D(0))

    def ROUND(x, places):
        return x.quantize(D(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)

    expr = formula.lstrip("=")
    expr = re.sub(
        r"SUM\(([^)]*)\)",
        lambda m: "SUM(" + ",".join(f"rng('{p}')" for p in m[1].split(",")) + ")",
        expr,
    )
    expr = re.sub(r"(?<!')\b([A-Z]{1,2}[0-9]+)\b(?!')", r"cell('\1')", expr)
    return eval(expr, {"SUM": SUM, "ROUND": ROUND, "rng": rng, "cell": cell})


def formulas(ws) -> dict[str, str]:
    """Every formula of a sheet by its cell (``{"F22": "=ROUND(SUM(F20:F21),2)"}``)."""
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.data_type == "f"}


def label_cell(ws, text):
    """The totals' label in column E (the last one: the lines' header says VAT too)."""
    return [c for (c,) in ws.iter_rows(min_col=5, max_col=5) if c.value == text][-1]
