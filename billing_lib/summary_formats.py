"""The summary workbook's cell formats and the Customers sheet's columns, shared by its sheets
(``summary_workbook``) and its Not billed sheet and margin reconciliation (``not_billed_sheet``)."""

from __future__ import annotations

from typing import Any

import xlsxwriter

from billing_lib.money import decimal_places
from billing_lib.sheet_formats import amount_digits

#: The Customers sheet's columns: currency, the first amount (revenue), cost, margin.
CURRENCY, REVENUE, COST, MARGIN = 5, 6, 9, 10


class SummaryFormats:
    """The summary's cell formats; amounts per number of decimals, made when first needed."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self._wb = wb
        self._amounts: dict[tuple[int, bool], Any] = {}
        self.head = wb.add_format(
            {"bold": True, "bottom": 1, "bg_color": "#E8EEF4", "text_wrap": True}
        )
        self.pct = wb.add_format({"num_format": "0.0%"})
        self.bold = wb.add_format({"bold": True, "top": 1})
        self.rate = wb.add_format({"num_format": "0.0000######"})

    def money(self, currency: str, total: bool = False) -> Any:
        """``#,##0.00;-#,##0.00`` with the currency's decimals; bold with a top border for a
        total."""
        key = (decimal_places(currency), total)
        if key not in self._amounts:
            digits = amount_digits(key[0])
            props: dict[str, Any] = {"num_format": f"{digits};-{digits}"}
            if total:
                props.update(bold=True, top=1)
            self._amounts[key] = self._wb.add_format(props)
        return self._amounts[key]


def header(ws: Any, columns: tuple[str, ...], fmt: SummaryFormats) -> None:
    """The sheet's first row: ``columns`` in the header format."""
    for col, h in enumerate(columns):
        ws.write_string(0, col, h, fmt.head)
