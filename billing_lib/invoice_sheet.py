"""The printable invoice sheet of an invoice or credit note workbook, on one A4 page wide.

Written top to bottom, as the workbook streams rows: the parties (seller, buyer and the invoice's
details), the lines per product group with subtotals, the VAT summary, the totals and the payment
details. Every subtotal, VAT amount and total is a formula over the cells above it rounded to the
currency's minor unit, written together with its value (the stored, exactly rounded figure), so
Excel and LibreOffice show the same amounts before and after recalculating.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from itertools import groupby
from typing import Any

from billing_lib.invoice_model import (
    national_vat_note,
    payment_terms_text,
    refers_to_label,
    refers_to_text,
)
from billing_lib.invoices import Invoice, InvoiceLine, Seller
from billing_lib.money import ZERO, decimal_places
from billing_lib.postal_addresses import postal_lines
from billing_lib.print_pages import (
    MARGINS,
    ROW,
    WRAPPED_LINE,
    column_points,
    fit_scale,
    fitted_parts,
    fitted_rows,
    page_breaks,
    page_height,
    wide,
    wrapped_height,
    wrapped_lines,
)
from billing_lib.sheet_formats import InvoiceFormats, cell, cell_ranges, number, round_formula

#: Widths of the invoice sheet's columns: description, quantity, unit, unit price, VAT, amount.
COLUMN_WIDTHS = (52, 11, 10, 14, 8, 16)
UNIT = 2  # the units' column (C)
AMOUNT = 5  # the amounts' column (F)
#: Characters of a detail's value that fit its columns (E and F) within the print area.
DETAIL_CHARACTERS = sum(COLUMN_WIDTHS[4:]) - 2
#: Characters of a buyer's line that fit columns A to C, left of the details' labels in D.
BUYER_CHARACTERS = sum(COLUMN_WIDTHS[:3]) - 2
#: Characters of the seller's name (bold, 14 pt) that fit left of the title (columns A to D).
SELLER_CHARACTERS = 50
#: Characters of a line's description (Arial 9) that column A holds on one row of its wrapped text.
DESCRIPTION_CHARACTERS = 60
#: Characters of a text written from column A that fit the print area (columns A to F) in the
#: sheet's Arial 9: the payment block, the VAT mention, the VAT in the national currency.
TEXT_CHARACTERS = 100
#: Characters of the seller's name that the footer (8 pt) holds left of "Page n of N".
FOOTER_CHARACTERS = 80
#: A product group heading's font size (bold), and the height (points) of each of its lines
#: wrapped (Excel gives a row of Arial 10 12.75 points).
HEADING_SIZE, HEADING_LINE = 10, 13.0


def write_invoice_sheet(ws: Any, inv: Invoice, seller: Seller, fmt: InvoiceFormats) -> None:
    """The printable invoice (or credit note) on ``ws``; ``seller`` is the seller block as
    printed (a credit note prints the corrected invoice's)."""
    widths = column_widths(inv)
    _page_setup(ws, inv, seller, widths)
    row = _parties(ws, inv, seller, fmt, widths)
    row, cells = _lines(ws, row, inv, fmt, widths)
    summary = row
    # the seller's name in 14 pt, beside the title in 16 pt
    cells.tall |= dict.fromkeys(range(len(_seller_name(seller.name))), 18.75) | {0: 21.0}
    row, vat_rows = _vat_summary(ws, row, inv, cells, fmt, widths)
    row = _totals(ws, row, inv, cells.subtotal_rows, vat_rows, fmt)
    cells.kept.update(range(summary + 1, row - 1))  # the VAT summary and totals on one page
    cells.spacers.add(row - 1)  # the blank row after them
    row = _payment(ws, row, inv, seller, fmt, cells)
    ws.print_area(0, 0, row, AMOUNT)
    heights = [cells.tall.get(r, ROW) for r in range(row + 1)]
    breaks = page_breaks(heights, cells.kept, page_height(widths), spacers=cells.spacers)
    ws.set_h_pagebreaks(breaks)


def column_widths(inv: Invoice) -> tuple[int, ...]:
    """``COLUMN_WIDTHS``, a number column widened where one of its figures would not fit (Excel
    shows "########" for a number wider than its column): 4,512,345,678 requests in the quantity
    column, EUR 12,345,678.90 in the amounts'. In characters, with one to spare."""
    places = decimal_places(inv.currency)

    def money(value: Decimal, currency: str = inv.currency, decimals: int = places) -> int:
        return len(f"{currency} {value:,.{decimals}f}") + 1

    def plain(value: Decimal) -> int:
        return len(f"{value.normalize():,f}") + 1

    quantities = [plain(ln.display_quantity) for ln in inv.lines if ln.display_quantity]
    prices = [
        money(p, decimals=max(places, -int(p.normalize().as_tuple().exponent)))
        for p in (ln.display_unit_price for ln in inv.lines)
        if p is not None
    ]
    amounts = [ln.amount for ln in inv.lines] + [t for _, _, t in inv.subtotals()]
    amounts += [v.amount for v in inv.vat] + [inv.net, inv.vat_total, inv.gross]
    national = (
        [money(inv.national_vat.amount, inv.national_vat.currency, 2)] if inv.national_vat else []
    )
    needed = {
        1: quantities,
        3: prices + [money(v.base) for v in inv.vat],
        AMOUNT: [money(a) for a in amounts] + national,
    }
    return tuple(max([w, *needed.get(col, [])]) for col, w in enumerate(COLUMN_WIDTHS))


def _page_setup(ws: Any, inv: Invoice, seller: Seller, widths: tuple[int, ...]) -> None:
    """A4 portrait, one page wide, no gridlines, the number and page in the footer."""
    ws.set_paper(9)  # A4
    ws.set_portrait()
    # one page wide by a scale of its own, not ``fit_to_pages``: Excel ignores a sheet's manual
    # page breaks (``print_pages.page_breaks``) when it fits the sheet to pages
    ws.set_print_scale(round(fit_scale(widths) * 100))
    ws.set_margins(**MARGINS)
    ws.center_horizontally()
    ws.hide_gridlines(2)
    ws.set_footer(f"&L{footer_text(footer_name(seller.name))} - {inv.number}&R&8Page &P of &N")
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)


def footer_text(text: str, size: int = 8) -> str:
    """``text`` in a footer at ``size`` points: its font size's code, and a space after it where
    ``text`` begins with a digit, since Excel reads the digits that follow the code as the size
    (a seller "1&1 Cloud" printed "&1 Cloud" at 81 pt)."""
    return f"&{size}{' ' if text[:1].isdigit() else ''}{text}"


def footer_name(name: str) -> str:
    """The seller's name as the footer's text: cut short with an ellipsis after
    ``FOOTER_CHARACTERS`` (a longer one ran under "Page 1 of 1", and a footer of more than 255
    characters is dropped by Excel), each ``&`` doubled (Excel reads ``&T`` in "AT&T" as the time
    of printing, and drops the ``&`` of "Jansen & Zn.")."""
    if footer_columns(name) > FOOTER_CHARACTERS:
        cut = textwrap.shorten(name, FOOTER_CHARACTERS, placeholder="…")
        if cut == "…" or footer_columns(cut) > FOOTER_CHARACTERS:  # one long word; wide ones
            cut = name[: FOOTER_CHARACTERS - 1]
            while footer_columns(cut) >= FOOTER_CHARACTERS:
                cut = cut[:-1]
            cut += "…"
        name = cut
    return name.replace("&", "&&")


def footer_columns(text: str) -> int:
    """The Latin letters' width ``text`` prints in: a Chinese or Japanese character counts as
    two (``print_pages.wide``), as wide as it prints."""
    return len(text) + sum(map(wide, text))


# -- parties -------------------------------------------------------------------------------------


def _parties(
    ws: Any, inv: Invoice, seller: Seller, fmt: InvoiceFormats, widths: tuple[int, ...]
) -> int:
    """The seller block with the document's title, then the buyer beside the invoice's details
    (``widths``: the sheet's columns); the next free row."""
    seller_lines = _seller_lines(seller, fmt)
    for i, (text, f) in enumerate(seller_lines):
        ws.write_string(i, 0, text, f)
        if i == 0:
            title = "CREDIT NOTE" if inv.kind == "credit_note" else "INVOICE"
            ws.write_string(0, AMOUNT, title, fmt.title)
    row = len(seller_lines) + 1
    buyer = _buyer_lines(inv, fmt, sum(column_points(w) for w in widths[:3]))
    details = _details(inv, fmt)
    # row by row, top to bottom (the order a streaming workbook needs)
    for i in range(max(len(buyer), len(details))):
        if i < len(buyer):
            ws.write_string(row + i, 0, *buyer[i])
        if i < len(details):
            _detail(ws, row + i, *details[i], fmt)
    return row + max(len(buyer), len(details)) + 1


def _detail(ws: Any, row: int, label: str, value: Any, f: Any, fmt: InvoiceFormats) -> None:
    if label:  # none on a long value's further rows
        ws.write_string(row, 3, label, fmt.label)
    if f is fmt.date:
        ws.write_datetime(row, 4, datetime.combine(value, time()), f)
    else:
        ws.write_string(row, 4, str(value), f)


def _seller_lines(seller: Seller, fmt: InvoiceFormats) -> list[tuple[str, Any]]:
    """The seller block; a long name on rows of its own (it ran into the title's cell)."""
    lines: list[tuple[str, Any]] = [(part, fmt.seller) for part in _seller_name(seller.name)]
    lines += [(a, fmt.text) for a in seller_address(seller)]
    lines.append((f"VAT {seller.vat_number}", fmt.text))
    if seller.chamber_of_commerce:
        lines.append((registration_text(seller), fmt.text))
    lines += [(x, fmt.text) for x in (seller.email, seller.phone, seller.website) if x]
    return lines


#: What the seller's ``chamber_of_commerce`` is called in its country (a Danish seller's CVR
#: number was printed as "Chamber of Commerce (KvK)"); elsewhere ``REGISTRATION``.
REGISTRATION_LABELS = {
    "NL": "Chamber of Commerce (KvK)",
    "BE": "Enterprise number (KBO/BCE)",
    "DK": "CVR no.",
    "DE": "Commercial register",
    "AT": "Commercial register (Firmenbuch)",
    "SE": "Org. no.",
    "FI": "Business ID (Y-tunnus)",
    "NO": "Org. no.",
    "GB": "Company no.",
}
REGISTRATION = "Company registration no."


def _seller_name(name: str) -> list[str]:
    """The seller's name on rows of ``SELLER_CHARACTERS`` at most, each no wider as printed (14 pt
    bold) than columns A to D (a Chinese name, its characters twice as wide: ``fitted_parts``)."""
    room = sum(column_points(w) for w in COLUMN_WIDTHS[:4])
    parts = textwrap.wrap(name, SELLER_CHARACTERS, break_on_hyphens=False) or [name]
    return [row for part in parts for row in fitted_parts(part, room, 14, bold=True)]


def registration_text(seller: Seller) -> str:
    """The seller's register number with its name in the seller's country: ``CVR no. 13585628``."""
    label = REGISTRATION_LABELS.get(seller.country, REGISTRATION)
    return f"{label} {seller.chamber_of_commerce}"


def seller_address(seller: Seller) -> list[str]:
    """The seller's address lines as printed (with its state where its country's post wants it:
    ``postal_addresses.postal_lines``)."""
    return postal_lines(
        seller.address, seller.country, seller.city, seller.state, seller.postal_code
    )


def _buyer_lines(inv: Invoice, fmt: InvoiceFormats, points: float) -> list[tuple[str, Any]]:
    """ "Bill to", the buyer's name, address and VAT number; a line longer than columns A to C
    (``points`` wide) on rows of its own (the details' labels in column D would cut it off): at
    most ``BUYER_CHARACTERS`` characters a row, and no wider than the columns as printed (a
    Chinese or Japanese name, its characters twice as wide as Latin letters: ``fitted_parts``;
    measured in bold, the name's)."""
    lines = [(inv.buyer.name, fmt.bold)] + [(a, fmt.text) for a in inv.buyer_address()]
    if inv.show_buyer_vat_number and inv.buyer.vat_number:
        lines.append((f"VAT {inv.buyer.vat_number}", fmt.text))
    return [("Bill to", fmt.bold)] + [
        (row, f)
        for text, f in lines
        for part in textwrap.wrap(text, BUYER_CHARACTERS, break_on_hyphens=False) or [text]
        for row in fitted_parts(part, points, bold=True)
    ]


def _details(inv: Invoice, fmt: InvoiceFormats) -> list[tuple[str, Any, Any]]:
    """(label, value, format) of the invoice's details: number, dates, period, references."""
    number_label = "Credit note number" if inv.kind == "credit_note" else "Invoice number"
    supply = f"{inv.supply_start.isoformat()} to {inv.supply_end.isoformat()}"
    details: list[tuple[str, Any, Any]] = [
        (number_label, inv.number, fmt.meta),
        ("Issue date", inv.issue_date, fmt.date),
        *([("Due date", inv.due_date, fmt.date)] if inv.payable else []),  # else none to pay
        ("Supply period", supply, fmt.meta),
        ("Customer number", inv.customer_id, fmt.meta),
    ]
    if inv.customer_reference:  # a long PO reference on rows of its own, within the print area
        reference, room = inv.customer_reference, sum(map(column_points, COLUMN_WIDTHS[4:]))
        parts = textwrap.wrap(reference, DETAIL_CHARACTERS, break_on_hyphens=False) or [reference]
        lines = [row for part in parts for row in fitted_parts(part, room)]
        details.append(("Your reference", lines[0], fmt.meta))
        details += [("", more, fmt.meta) for more in lines[1:]]
    if inv.refers_to:
        details.append((refers_to_label(inv), refers_to_text(inv), fmt.meta))
    details.append(("Currency", inv.currency, fmt.meta))
    return details


# -- lines -----------------------------------------------------------------------------------------


@dataclass
class _LineCells:
    """Where the lines went: the subtotals' rows, and the lines' rows per VAT rate."""

    subtotal_rows: list[int] = field(default_factory=list)
    rows_by_rate: dict[Decimal, list[int]] = field(default_factory=dict)
    #: Printed heights (points) of the rows taller than ``print_pages.ROW``, the rows a page may
    #: not begin with, and the blank rows that end a page rather than begin one
    #: (``print_pages.page_breaks``).
    tall: dict[int, float] = field(default_factory=dict)
    kept: set[int] = field(default_factory=set)
    spacers: set[int] = field(default_factory=set)


def _lines(
    ws: Any, row: int, inv: Invoice, fmt: InvoiceFormats, widths: tuple[int, ...]
) -> tuple[int, _LineCells]:
    """The lines' header, then each product group's section (``widths``: the sheet's columns);
    the next free row and where the lines went."""
    headers = ("Description", "Quantity", "Unit", "Unit price", "VAT", f"Amount ({inv.currency})")
    for col, h in enumerate(headers):
        ws.write_string(row, col, h, fmt.head if col in (0, 2) else fmt.head_num)
    ws.repeat_rows(row)
    row += 1
    cells = _LineCells()
    for _, group in groupby(inv.lines, key=lambda line: line.product_group):
        lines = list(group)
        _heading(ws, row, lines[0].heading, fmt, widths, cells)
        row = _section(ws, row, lines, cells, inv.currency, fmt)
    return row, cells


def _heading(
    ws: Any, row: int, heading: str, fmt: InvoiceFormats, widths: tuple[int, ...], cells: _LineCells
) -> None:
    """A product group's heading across columns A to F: one wider than the print area (a
    reseller's "Microsoft 365 and Dynamics 365 licences bought under the Cloud Solution Provider
    programme, new commerce, billed monthly ...") was cut off at its right edge; it wraps in the
    cells merged, its row as tall as its lines (a spreadsheet fits no merged cell's height)."""
    room = sum(column_points(w) for w in widths)
    rows = wrapped_lines(heading, room, HEADING_SIZE, bold=True)
    if rows == 1:
        ws.write_string(row, 0, heading, fmt.section)
        for col in range(1, AMOUNT + 1):
            ws.write_blank(row, col, None, fmt.section)
        return
    height = max(ROW, rows * HEADING_LINE + 2)
    ws.set_row(row, height)
    ws.merge_range(row, 0, row, AMOUNT, "", fmt.section_wrap)
    ws.write_string(row, 0, heading, fmt.section_wrap)
    cells.tall[row] = height


def _section(
    ws: Any,
    row: int,
    lines: list[InvoiceLine],
    cells: _LineCells,
    currency: str,
    fmt: InvoiceFormats,
) -> int:
    """One product group's lines (under its heading, on ``row``) and their subtotal; the next
    free row."""
    rows = list(range(row + 1, row + 1 + len(lines)))
    for r, line in zip(rows, lines, strict=True):
        unit_rows = fitted_rows(line.unit, COLUMN_WIDTHS[UNIT]) if line.unit else 1
        _line(ws, r, line, fmt, wrap_unit=unit_rows > 1)
        cells.rows_by_rate.setdefault(line.vat_rate, []).append(r)
        cells.tall[r] = max(
            wrapped_height(line.description, DESCRIPTION_CHARACTERS),
            unit_rows * WRAPPED_LINE,
        )
    row = rows[-1] + 1
    cells.kept.update((rows[0], row))  # the heading with the first line, the subtotal with the last
    ws.write_string(row, 4, "Subtotal", fmt.sub_label)
    subtotal = sum((line.amount for line in lines), ZERO)
    _rounded(
        ws, row, AMOUNT, f"SUM({cell_ranges(rows, AMOUNT)})", currency, fmt.money_bold, subtotal
    )
    cells.subtotal_rows.append(row)
    cells.spacers.add(row + 1)  # the blank row after the subtotal
    return row + 2


def _line(
    ws: Any, row: int, line: InvoiceLine, fmt: InvoiceFormats, wrap_unit: bool = False
) -> None:
    """One invoice line: quantity, unit and unit price only where the line has them; a unit
    wider than its column (AWS's "ReadCapacityUnit-Hrs") wrapped in it, as the PDF prints it
    on rows of its own: the unit price beside it cut it off."""
    ws.write_string(row, 0, line.description, fmt.wrap)
    if line.display_quantity is not None:
        quantity = line.display_quantity
        ws.write_number(row, 1, number(quantity), fmt.quantity_for(quantity))
    if line.unit:
        ws.write_string(row, UNIT, line.unit, fmt.wrap if wrap_unit else fmt.text)
    if line.display_unit_price is not None:
        price = line.display_unit_price
        ws.write_number(row, 3, number(price), fmt.price_for(price))
    ws.write_number(row, 4, number(line.vat_rate / 100), fmt.rate_for(line.vat_rate))
    ws.write_number(row, AMOUNT, number(line.amount), fmt.money)


def _rounded(
    ws: Any, row: int, col: int, expression: str, currency: str, f: Any, value: Decimal
) -> None:
    """``=ROUND(<expression>,<the currency's decimals>)`` with ``value``, the stored figure, as
    its result."""
    ws.write_formula(row, col, round_formula(expression, currency), f, number(value))


# -- VAT summary and totals ----------------------------------------------------------------------


def _vat_summary(
    ws: Any,
    row: int,
    inv: Invoice,
    cells: _LineCells,
    fmt: InvoiceFormats,
    widths: tuple[int, ...],
) -> tuple[int, list[int]]:
    """Per VAT rate the taxable amount (the sum of its lines, ``cells.rows_by_rate``) and the VAT
    on it; the next free row and the VAT amounts' rows."""
    ws.write_string(row, 0, "VAT summary", fmt.bold)
    row += 1
    for col, h in ((0, "VAT"), (3, "Taxable amount"), (4, "Rate"), (AMOUNT, "VAT amount")):
        ws.write_string(row, col, h, fmt.head if col == 0 else fmt.head_num)
    for col in (1, 2):
        ws.write_blank(row, col, None, fmt.head)
    row += 1
    vat_rows = []
    for vat in inv.vat:
        _vat_label(ws, row, vat.label, fmt, widths, cells)
        lines = cell_ranges(cells.rows_by_rate.get(vat.rate, []), AMOUNT)
        _rounded(ws, row, 3, f"SUM({lines})", inv.currency, fmt.money, vat.base)
        ws.write_number(row, 4, number(vat.rate / 100), fmt.rate_for(vat.rate))
        base_times_rate = f"{cell(row, 3)}*{cell(row, 4)}"
        _rounded(ws, row, AMOUNT, base_times_rate, inv.currency, fmt.money, vat.amount)
        vat_rows.append(row)
        row += 1
    return row + 1, vat_rows


def _vat_label(
    ws: Any, row: int, label: str, fmt: InvoiceFormats, widths: tuple[int, ...], cells: _LineCells
) -> None:
    """A VAT rate's label (vat_rules.yaml; not the journal's VAT code: the seller's words) left
    of its taxable amount in D: one wider than columns A to C (a German reseller's reverse-charge
    wording in full) was cut off at D; it wraps in them merged, its row as tall as its lines, as
    the PDF wraps it (``invoice_pdf._Document.vat_label``)."""
    rows = wrapped_lines(label, sum(column_points(w) for w in widths[:3]))
    if rows == 1:
        ws.write_string(row, 0, label, fmt.text)
        return
    height = max(ROW, rows * WRAPPED_LINE + 3)
    ws.set_row(row, height)
    ws.merge_range(row, 0, row, 2, "", fmt.wrap)
    ws.write_string(row, 0, label, fmt.wrap)
    cells.tall[row] = height


def _totals(
    ws: Any,
    row: int,
    inv: Invoice,
    subtotal_rows: list[int],
    vat_rows: list[int],
    fmt: InvoiceFormats,
) -> int:
    """Net (the subtotals), VAT (the VAT amounts) and the total; the next free row."""
    net_row, vat_row, gross_row = row, row + 1, row + 2
    subtotals, vats = cell_ranges(subtotal_rows, AMOUNT), cell_ranges(vat_rows, AMOUNT)
    net_plus_vat = f"{cell(net_row, AMOUNT)}+{cell(vat_row, AMOUNT)}"
    for r, label, expression, f, value in (
        (net_row, "Net", f"SUM({subtotals})", fmt.money_bold, inv.net),
        (vat_row, "VAT", f"SUM({vats})", fmt.money, inv.vat_total),
        (gross_row, "Total", net_plus_vat, fmt.money_total, inv.gross),
    ):
        ws.write_string(r, 4, label, fmt.total_label)
        _rounded(ws, r, AMOUNT, expression, inv.currency, f, value)
    national = inv.national_vat
    if national is None:
        return gross_row + 2
    # Art. 230: the VAT in the seller's national currency, the VAT above x the exchange rate
    row = gross_row + 1
    ws.write_number(row, 3, number(national.rate), fmt.rate)
    ws.write_string(row, 4, f"VAT in {national.currency}", fmt.sub_label)
    vat_times_rate = f"{cell(vat_row, AMOUNT)}*{cell(row, 3)}"
    _rounded(
        ws, row, AMOUNT, vat_times_rate, national.currency, fmt.national_money, national.amount
    )
    return _text_rows(ws, row + 1, national_vat_note(inv) or "", fmt.text) + 1


# -- payment -------------------------------------------------------------------------------------


def _payment(
    ws: Any, row: int, inv: Invoice, seller: Seller, fmt: InvoiceFormats, cells: _LineCells
) -> int:
    """The VAT mention (reverse charge, export) and the payment block (on one page: ``cells``
    keeps its rows with its heading); the last row written."""
    mention = row
    if inv.vat_mention:
        row = _text_rows(ws, row, inv.vat_mention, fmt.mention)
    if inv.show_buyer_vat_number and inv.buyer.vat_number and inv.vat_mention:
        supplier = f"Supplier VAT {inv.seller.vat_number}; customer VAT {inv.buyer.vat_number}"
        row = _text_rows(ws, row, supplier, fmt.text)
    cells.kept.update(range(mention + 1, row))  # its rows and the VAT numbers under it together
    cells.spacers.add(row)  # the blank row before the payment block
    row += 1
    ws.write_string(row, 0, "Payment", fmt.bold)
    start = row + 1
    for text in payment_lines(inv, seller):
        row = _text_rows(ws, row + 1, text, fmt.text) - 1
    cells.kept.update(range(start, row + 1))
    return row


def _text_rows(ws: Any, row: int, text: str, f: Any) -> int:
    """``text`` from column A, on rows of ``TEXT_CHARACTERS`` at most and no wider as printed
    than columns A to F (a longer text ran over the print area's right edge and was cut off
    there; so did a Chinese one of fewer characters); the next free row."""
    room = sum(column_points(w) for w in COLUMN_WIDTHS)
    wrapped = textwrap.wrap(text, TEXT_CHARACTERS, break_on_hyphens=False) or [text]
    parts = [row for part in wrapped for row in fitted_parts(part, room)]
    for i, part in enumerate(parts):
        ws.write_string(row + i, 0, part, f)
    return row + len(parts)


def payment_lines(inv: Invoice, seller: Seller) -> list[str]:
    """The payment block of an invoice or credit note, as the workbook and the PDF print it: what
    to pay by when quoting which reference (or the credit), then the bank details."""
    amount = f"{inv.currency} {abs(inv.gross):,.{decimal_places(inv.currency)}f}"
    if inv.kind == "credit_note":
        text = _credit_note_lines(inv, amount)
    elif inv.credit_balance:
        text = [
            (
                f"Credit balance of {amount} in your favour: nothing to pay. It is refunded to "
                "your account or set off against your next invoice."
            )
        ]
    elif not inv.payable:
        text = ["Nothing to pay: this invoice's charges and credits balance out."]
    else:
        text = [
            (
                f"Please pay {amount} by {inv.due_date.isoformat()} "
                f"({payment_terms_text(inv.payment_terms_days)}) quoting {inv.number}."
            )
        ]
    if inv.kind == "invoice" and inv.note:  # an invoice that replaces a credited one
        text.insert(0, inv.note)
    return text + _bank_lines(seller, inv.payable)


def _credit_note_lines(inv: Invoice, amount: str) -> list[str]:
    """What a credit note does to the customer's account: the invoice's charges credited; or,
    when it cancels a credit balance (its total positive), that balance charged back, to pay by
    the due date (unless it was neither refunded nor set off yet); then the reason."""
    credited = refers_to_text(inv)  # by number and issue date
    if inv.gross > 0:
        text = [
            (
                f"This credit note cancels invoice {credited} and its credit balance of "
                f"{amount} in your favour: {amount} is charged to your account."
            ),
            (
                f"Please pay {amount} by {inv.due_date.isoformat()} "
                f"({payment_terms_text(inv.payment_terms_days)}) quoting {inv.number}, unless "
                "that credit balance was not yet refunded to you or set off against an invoice: "
                "then it is cancelled and nothing is to be paid."
            ),
        ]
    elif inv.gross < 0:
        cancels = f"This credit note cancels invoice {credited}."
        text = [f"{cancels} {amount} is credited to your account."]
    else:
        text = [
            f"This credit note cancels invoice {credited}, whose charges and credits balanced "
            "out: nothing is credited or charged."
        ]
    if inv.note:
        text.append(f"Reason: {inv.note}")
    return text


def _bank_lines(seller: Seller, payable: bool) -> list[str]:
    """Account holder, IBAN in groups of four, BIC, and the bank when given; the seller's
    payment instructions (late-payment interest, say) only when there is something to pay."""
    pay = seller.payment
    text = [
        f"Account holder: {pay.account_holder}",
        f"IBAN: {' '.join(pay.iban[i : i + 4] for i in range(0, len(pay.iban), 4))}",
        f"BIC: {pay.bic}",
    ]
    if pay.bank:
        text.append(f"Bank: {pay.bank}")
    if pay.instructions and payable:
        text.append(pay.instructions)
    return text
