"""The usage sheets of an invoice workbook: the rated lines behind the invoice, one sheet per
vendor (the seller's own lines on 'Other charges').

The rows come from ``billing_lib.usage`` (``usage_rows``): every rated line with the invoice line
it belongs to and its source file and row when the invoice has at most the seller's
``usage_detail_max_lines`` rated lines (seller.yaml, default 1,000), else the lines summarised (per
invoice line, service, SKU, description, resource and unit: quantity, amount, number of lines,
first and last charge date) with exact sums that add up to the invoice lines. A sheet of tens of
thousands of rows helps nobody, and xlsxwriter writes about 5,000 cells a second per core; every
line is in the ``<workbook>.usage.parquet`` file beside the workbook. Text is written with
``write_string`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import xlsxwriter

from billing_lib.invoice_sheet import footer_name, footer_text
from billing_lib.invoices import Invoice
from billing_lib.row_worksheet import Column, RowWorksheet
from billing_lib.sheet_formats import InvoiceFormats, sheet_name
from billing_lib.usage import DETAIL_COLUMNS, InvoiceUsage, VendorUsage
from billing_lib.usage_summaries import SUMMARY_COLUMNS

#: Data rows per usage sheet; beyond it the vendor's lines continue on a second sheet (Excel's
#: limit is 1,048,576 rows).
MAX_DETAIL_ROWS = 1_000_000


def write_usage_sheets(
    wb: xlsxwriter.Workbook,
    inv: Invoice,
    vendors: dict[str, Any],
    usage: InvoiceUsage,
    detail_name: str,
    fmt: InvoiceFormats,
    used: set[str],
) -> None:
    """The rated lines behind the invoice, one sheet per vendor (custom lines on 'Other charges'):
    every line, or the lines summarised per ``USAGE_GROUP`` with a note naming ``detail_name``,
    the file with every line. ``vendors`` names the vendors (products.yaml); ``used`` holds the
    workbook's sheet names so far."""
    for vendor in usage.vendors:
        known = vendors.get(vendor.vendor)
        title = (
            "Other charges"
            if vendor.vendor == "reseller"
            else f"Usage {known.name if known else vendor.vendor}"
        )
        if usage.summarised:
            ws = _summary_sheet(wb, vendor, inv.currency, title, detail_name, fmt, used)
            _print_setup(ws, 1, inv)
        else:
            for ws in _detail_sheets(wb, vendor.rows, inv.currency, title, fmt, used):
                _print_setup(ws, 0, inv)


def _print_setup(ws: Any, header_row: int, inv: Invoice) -> None:
    """A4 landscape (the sheets are wide), one page wide, the header row on every page and a
    footer naming the invoice, the sheet and the page: without a page setup a printed usage sheet
    ran over several pages side by side, its header on the first page only."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.repeat_rows(header_row)
    name = footer_text(footer_name(inv.seller.name))
    ws.set_footer(f"&L{name} - {inv.number} - &A&R&8Page &P of &N")


#: The usage sheets' column of a line's resource, and the most it is widened to for its labels
#: (a resource's name with its id beside it: ``line_labels.resource_label_sql``); an ARN or an
#: Azure resource path longer than that is cut on screen by the column after it.
RESOURCE_HEADER = "Subscription / resource"
RESOURCE_WIDTH = 60


def _usage_header(
    ws: Any,
    row: int,
    columns: tuple[tuple[str, str, str], ...],
    currency: str,
    fmt: InvoiceFormats,
    rows: Sequence[Sequence[Any]] = (),
) -> None:
    """Column widths and the header row of a usage sheet (amounts' headers name the currency).
    A quantity, price or amount column is widened where a figure of ``rows`` would not fit
    (Excel shows "########"): 4,512,345,678 requests."""
    widths = {"text": 22, "date": 11, "quantity": 12, "price": 14, "int": 9}
    for col, (header, _, kind) in enumerate(columns):
        width = 40 if header in ("Invoice line", "Description") else widths[kind]
        if header == RESOURCE_HEADER:  # "web-prod-01 (i-0abc1234def567890)": up to a limit
            width = min(RESOURCE_WIDTH, max([width, *(len(r[col] or "") for r in rows)]))
        if kind in ("quantity", "price"):
            code, places = (len(currency) + 1, fmt.places) if kind == "price" else (0, 0)
            width = max([width, *(code + _shown_length(r[col], places) for r in rows)])
        ws.set_column(col, col, width)
        shown = f"{header} ({currency})" if header in ("Unit price", "Amount") else header
        ws.write_string(row, col, shown, fmt.head if kind in ("text", "date") else fmt.head_num)


def _shown_length(value: Any, places: int = 0) -> int:
    """Characters of an exact decimal text (``4512345678.000000000000``) as a usage sheet shows
    it: thousands separators, at least ``places`` and at most 4 decimals (a width unit is wider
    than a character of the sheets' 9-point Arial)."""
    if value is None:
        return 0
    whole, _, decimals = str(value).lstrip("-").partition(".")
    shown = max(min(len(decimals.rstrip("0")), 4), places)
    sign = str(value).startswith("-")
    return sign + len(whole) + (len(whole) - 1) // 3 + (shown + 1 if shown else 0)


def _detail_sheets(
    wb: xlsxwriter.Workbook,
    rows: list[tuple],
    currency: str,
    title: str,
    fmt: InvoiceFormats,
    used: set[str],
) -> list[RowWorksheet]:
    """Every rated line of one vendor, on the sheets returned; beyond MAX_DETAIL_ROWS the lines
    continue on another sheet."""
    sheets = []
    for start in range(0, len(rows), MAX_DETAIL_ROWS):
        chunk = rows[start : start + MAX_DETAIL_ROWS]
        ws = wb.add_worksheet(sheet_name(title, used), worksheet_class=RowWorksheet)
        ws.freeze_panes(1, 0)
        _usage_header(ws, 0, DETAIL_COLUMNS, currency, fmt, chunk)
        write = _row_writer(ws, DETAIL_COLUMNS, fmt)
        for row, values in enumerate(chunk, start=1):
            write(row, values)
        ws.autofilter(0, 0, len(chunk), len(DETAIL_COLUMNS) - 1)
        sheets.append(ws)
    return sheets


#: Excel's day 0 (day 1 is 1900-01-01), and the first day after the 29 February 1900 its
#: calendar counts.
_EXCEL_DAY_ZERO, _EXCEL_LEAP_BUG = date(1899, 12, 31), date(1900, 3, 1)


def _row_writer(
    ws: RowWorksheet, columns: tuple[tuple[str, str, str], ...], fmt: InvoiceFormats
) -> Callable[[int, Sequence[Any]], None]:
    """A function writing one row of ``_selected(columns)`` values into ``ws``: text as strings
    only, numbers with their format, dates as the day number Excel stores (what
    ``write_datetime`` writes, cached per day). Blank where the value is NULL."""
    days: dict[date, float] = {}

    def day(value: date) -> float:
        if value not in days:
            days[value] = float((value - _EXCEL_DAY_ZERO).days + (value >= _EXCEL_LEAP_BUG))
        return days[value]

    number = {"quantity": fmt.qty, "price": fmt.price, "int": fmt.int}
    cells: list[Column] = [
        (col, True, str, None)
        if kind == "text"
        else (col, False, day, fmt.date)
        if kind == "date"
        else (col, False, float, number[kind])
        for col, (_, _, kind) in enumerate(columns)
    ]
    # a whole quantity, or an amount or price with no more than the currency's decimals, in a
    # format without optional decimals: else Excel shows "744." (the exact decimal text decides);
    # so is one that is so at the decimals its format shows (``_shown_whole``)
    price_shown = fmt.places + QUANTITY_SHOWN if fmt.places else QUANTITY_SHOWN
    whole = {
        "quantity": (fmt.qty_whole, 0, QUANTITY_SHOWN),
        "price": (fmt.price_whole, fmt.places, price_shown),
    }
    exact = [(col, *whole[kind]) for col, (_, _, kind) in enumerate(columns) if kind in whole]

    def write(row: int, values: Sequence[Any]) -> None:
        row_cells = cells
        for col, whole_format, places, shown in exact:
            value = values[col]
            if value is not None and _shown_whole(value, places, shown):
                if row_cells is cells:
                    row_cells = list(cells)
                row_cells[col] = (col, False, float, whole_format)
        ws.write_values(row, row_cells, values)

    return write


#: The decimals a usage sheet's fractional quantity shows (``#,##0.0###``); a price shows as many
#: more than its currency's.
QUANTITY_SHOWN = 4


def _shown_whole(value: Any, places: int, shown: int) -> bool:
    """Whether ``value`` has no more than ``places`` decimals, or has none more once rounded
    half-up to the ``shown`` decimals its fractional format shows: a vendor's 31 daily storage
    lines sum to 349.9999999986 GB-months, which ``#,##0.0###`` showed as "350.0" (one decimal is
    always shown), the invoice as 350."""
    decimals = str(value).partition(".")[2]
    if len(decimals.rstrip("0")) <= places:
        return True
    if len(decimals) <= shown or "E" in decimals:
        return False
    # rounded half-up at ``shown``, the decimals from ``places`` on are zeros: they are zeros
    # and the next digit rounds down, or nines the next digit carries over (by the digits: a
    # Decimal's quantize cost 2.5 us a cell, a tenth of a million-line month's usage sheets)
    between = decimals[places:shown]
    return between.count("0" if decimals[shown] < "5" else "9") == len(between)


def _summary_sheet(
    wb: xlsxwriter.Workbook,
    vendor: VendorUsage,
    currency: str,
    title: str,
    detail_name: str,
    fmt: InvoiceFormats,
    used: set[str],
) -> RowWorksheet:
    """One vendor's rated lines summarised per ``USAGE_GROUP`` (or without the resource, counting
    the resources, where that would give more than ``usage_detail_max_lines`` rows). A note above
    the header names the file with every line."""
    rows = vendor.rows
    columns = SUMMARY_COLUMNS
    per = "(resources counted)" if vendor.resources_counted else "subscription/resource"
    lines = sum(r[-1] for r in rows)
    ws = wb.add_worksheet(sheet_name(title, used), worksheet_class=RowWorksheet)
    ws.write_string(
        0,
        0,
        (
            f"Summary of {lines:,} rated line{'' if lines == 1 else 's'}: one row per invoice "
            "line, service, SKU, "
            f"description, {per} and unit. Every line, with its charge date, resource, tags and "
            f"source row, is in {detail_name} beside this workbook."
        ),
        fmt.bold,
    )
    _usage_header(ws, 1, columns, currency, fmt, rows)
    ws.freeze_panes(2, 0)
    write = _row_writer(ws, columns, fmt)
    for row, values in enumerate(rows, start=2):
        write(row, values)
    ws.autofilter(1, 0, len(rows) + 1, len(columns) - 1)
    return ws
