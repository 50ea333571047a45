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


def shown(value: float, number_format: str) -> str:
    """The text Excel shows for the number ``value`` in a cell of ``number_format``, for the
    formats the workbooks use: a positive and a negative section, quoted text, ``#,##0`` with
    decimals that are required (``0``) or shown only when present (``#``), and ``%``. As Excel
    does, the decimal point is shown whenever the format has one, even with no decimal after it
    (``0.##`` shows 744 as ``744.``)."""
    sections = number_format.split(";")
    section = sections[1] if value < 0 and len(sections) > 1 else sections[0]
    literal = re.findall(r'"([^"]*)"', section)
    body = re.sub(r'"[^"]*"\s*', "", section)
    number = D(str(abs(value) if len(sections) > 1 else value))
    if body.endswith("%"):
        number, body, suffix = number * 100, body[:-1], "%"
    else:
        suffix = ""
    sign = "-" if body.startswith("-") else ""
    body = body.lstrip("-")
    whole, _, decimals = body.partition(".")
    required, optional = decimals.count("0"), decimals.count("#")
    rounded = number.quantize(D(1).scaleb(-(required + optional)), rounding=ROUND_HALF_UP)
    text = f"{rounded:{',' if ',' in whole else ''}f}"
    head, _, tail = text.partition(".")
    tail = tail.rstrip("0").ljust(required, "0")
    prefix = f"{literal[0]} " if literal else ""
    return f"{prefix}{sign}{head}{'.' if '.' in body else ''}{tail}{suffix}"
