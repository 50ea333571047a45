"""What the invoice, usage and summary workbooks share: cell formats, amounts shown and rounded to
the currency's minor unit, cell references, sheet names and the fixed document date.

Every formula that rounds money rounds to the currency's decimals (``round_formula``): 0 for JPY, 3
for KWD, 2 for EUR; so after Excel or LibreOffice recalculate, a cell holds the amount the invoice
states (``money.round_money``), never a fraction of a yen.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from billing_lib.invoices import Invoice
from billing_lib.money import decimal_places
from billing_lib.periods import month_days
from billing_lib.printed_texts import printed

#: Text stays text: a resource named ``=HYPERLINK(...)`` is never a formula, number or link.
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}


class PrintedWorksheet(Worksheet):
    """The invoice sheet: each text written as the PDF and the e-invoice print it (``printed``;
    a noncharacter was written as ``_xFFFE_`` where the e-invoice dropped it)."""

    def write_string(self, row: int, col: int, string: str, cell_format: Any = None) -> Any:
        return super().write_string(row, col, printed(string), cell_format)

    def set_footer(self, footer: str = "", options: Any = None, margin: Any = None) -> None:
        super().set_footer(printed(footer), options, margin)


def fixed_created(invoice_or_period: Invoice | str) -> datetime:
    """The workbook's (and the PDF's) creation date: the last second of the period (fixed, so
    reruns give identical bytes); for an invoice that replaces a credited one (``billing
    reissue``, issued weeks after the month) its issue date, as a credit note's: it said it was
    created at the month's end, before the invoice it replaces was issued."""
    if not isinstance(invoice_or_period, str) and invoice_or_period.refers_to:
        return datetime.combine(invoice_or_period.issue_date, time())
    period = invoice_or_period if isinstance(invoice_or_period, str) else invoice_or_period.period
    last = month_days(period)[1]
    return datetime.combine(last, time(23, 59, 59))


def amount_digits(places: int, optional: int = 0) -> str:
    """``#,##0.00`` for 2 places; ``optional`` more decimals shown only when present."""
    decimals = ("." + "0" * places + "#" * optional) if places or optional else ""
    return f"#,##0{decimals}"


def money_format(
    currency: str, places: int | None = None, optional: int = 0, least: int = 0
) -> str:
    """Number format with the currency code, e.g. ``"EUR" #,##0.00`` (the currency's decimals
    unless ``places`` is given, and at least ``least``); ``optional`` extra decimals shown only
    when present (unit prices)."""
    places = decimal_places(currency) if places is None else places
    required = max(places, least)
    body = amount_digits(required, places + optional - required)
    return f'"{currency}" {body};"{currency}" -{body}'


def _whole(value: Decimal, places: int = 0) -> bool:
    """``value`` has no more than ``places`` decimals (trailing zeros aside)."""
    return value == value.quantize(Decimal(1).scaleb(-places)) if value.is_finite() else False


def round_formula(expression: str, currency: str) -> str:
    """``=ROUND(<expression>,2)`` to the currency's minor unit (``,0`` for JPY, ``,3`` for KWD)."""
    return f"=ROUND({expression},{decimal_places(currency)})"


def number(value: Decimal | int | None) -> float | None:
    """A cell's number (xlsx stores doubles; the exact figure is the formula's cached value)."""
    return None if value is None else float(value)


def cell(row: int, col: int) -> str:
    """``F12`` for row 11, column 5 (both counted from 0)."""
    return xl_rowcol_to_cell(row, col)


def cell_ranges(rows: list[int], col: int) -> str:
    """``F12:F15,F18`` for the rows given (contiguous runs become ranges)."""
    runs: list[list[int]] = []
    for r in sorted(rows):
        if runs and r == runs[-1][1] + 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    return ",".join(cell(a, col) if a == b else f"{cell(a, col)}:{cell(b, col)}" for a, b in runs)


def sheet_name(text: str, used: set[str]) -> str:
    """A unique sheet name of at most 31 characters without []:*?/\\, neither beginning nor
    ending with an apostrophe (Excel refuses such a name: a vendor's name cut after one,
    "Usage Amazon Web Services EMEA'", stopped the workbook)."""
    base = re.sub(r"[\[\]:*?/\\]", " ", text).strip()[:31].strip(" '") or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


class InvoiceFormats:
    """The cell formats of one invoice workbook (its invoice sheet and usage sheets), amounts in
    the invoice's currency; ``national``: the currency its VAT is also stated in, if any."""

    def __init__(self, wb: xlsxwriter.Workbook, currency: str, national: str | None = None) -> None:
        def f(**props: Any) -> Any:
            return wb.add_format({"font_name": "Arial", "font_size": 9, "valign": "top", **props})

        self.text = f()
        self.wrap = f(text_wrap=True)
        self.bold = f(bold=True)
        self.seller = f(bold=True, font_size=14)
        self.title = f(bold=True, font_size=16, align="right")
        self.label = f(bold=True, align="right")
        self.meta = f(align="left")
        self.date = f(num_format="yyyy-mm-dd", align="left")
        self.head = f(bold=True, bottom=1, bg_color="#E8EEF4", text_wrap=True)
        self.head_num = f(bold=True, bottom=1, bg_color="#E8EEF4", align="right", text_wrap=True)
        self.section = f(bold=True, font_size=10, top=1)
        self.section_wrap = f(bold=True, font_size=10, top=1, text_wrap=True)
        self.money = f(num_format=money_format(currency))
        self.money_bold = f(num_format=money_format(currency), bold=True, top=1)
        self.money_total = f(
            num_format=money_format(currency), bold=True, top=1, bottom=6, font_size=10
        )
        # Decimals shown only when present (#) would leave a bare decimal point on a whole
        # number ("744." Hrs, "21.%", "JPY 150."), so a whole figure gets a format without one:
        # quantity_for, price_for, rate_for.
        self.price = f(num_format=money_format(currency, optional=4, least=1))
        self.price_whole = self.money
        self.qty = f(num_format="#,##0.0###")
        self.qty_whole = f(num_format="#,##0")
        self.int = f(num_format="0")
        self.pct = f(num_format="0.0#%", align="right")
        self.pct_whole = f(num_format="0%", align="right")
        self.places = decimal_places(currency)
        self.total_label = f(bold=True, font_size=10, align="right")
        self.sub_label = f(bold=True, align="right")
        self.mention = f(italic=True, bold=True)  # on rows of its own where long
        if national:  # only then, so other workbooks keep their styles as they were
            self.national_money = f(num_format=money_format(national), bold=True)
            self.rate = f(num_format="0.0000######")

    def quantity_for(self, value: Decimal) -> Any:
        """The format of a quantity: ``#,##0`` when whole, else up to 4 decimals."""
        return self.qty_whole if _whole(value) else self.qty

    def price_for(self, value: Decimal) -> Any:
        """The format of a unit price: the currency's decimals when it has no more (EUR 5.30,
        JPY 150), else up to 4 decimals (EUR 3.922, JPY 0.0125)."""
        return self.price_whole if _whole(value, self.places) else self.price

    def rate_for(self, rate: Decimal) -> Any:
        """The format of a VAT rate in percent (21 -> ``21%``, 5.5 -> ``5.5%``)."""
        return self.pct_whole if _whole(rate) else self.pct
