"""A product group's heading as the customer reads it: whole in the workbook's invoice sheet however
long."""

from __future__ import annotations

from dataclasses import replace

import openpyxl
from reportlab.pdfbase import pdfmetrics

from billing_lib.invoice_sheet import HEADING_LINE
from billing_lib.invoices import Invoice
from billing_lib.numbering import open_register
from billing_lib.print_pages import CELL_PADDING, column_points
from billing_lib.workbooks import write_credit_note_workbook, write_invoice_workbook
from tests.invoice_helpers import ISSUED, PERIOD, line, setup

#: A heading of 160 characters: the sheet's columns A to F hold about 115 of its bold Arial 10.
LONG_HEADING = (
    "Microsoft 365 and Dynamics 365 licences bought under the Cloud Solution Provider programme, "
    "new commerce, billed monthly in arrears per seat and per day"
)


def _invoice(tmp_path, lines: int = 2) -> tuple[Invoice, object]:
    """(a C003 invoice of ``lines`` AWS lines, its seller block)."""
    from billing_lib.invoices import build_invoices

    rows = [line("C003", "1.00", service=f"Amazon EC2 {k:03}") for k in range(lines)]
    con, customers, invoicing = setup(rows)
    [inv] = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    return inv, invoicing.seller


def _heading_cell(ws, heading: str):
    [cell] = [c for row in ws.iter_rows() for c in row if c.value == heading]
    return cell


def test_a_long_group_heading_wraps_whole_within_the_workbook_s_page(tmp_path):
    """A product group's heading was one cell of bold Arial 10 running over the empty cells to
    its right: beyond about 115 characters the print area's right edge cut it off. It wraps in
    columns A to F merged, its row as tall as its lines, in an invoice and in a credit note."""
    inv, seller = _invoice(tmp_path)
    long = replace(inv, lines=tuple(replace(ln, heading=LONG_HEADING) for ln in inv.lines))
    note = replace(long, kind="credit_note", refers_to="NW1")
    books = [
        write_invoice_workbook(long, seller, {}, None, tmp_path / "invoice.xlsx"),
        write_credit_note_workbook(note, seller, tmp_path / "note.xlsx"),
    ]
    for book in books:
        ws = openpyxl.load_workbook(book).worksheets[0]
        cell = _heading_cell(ws, LONG_HEADING)
        assert cell.value == LONG_HEADING and cell.alignment.wrap_text, book.name
        assert f"A{cell.row}:F{cell.row}" in {str(r) for r in ws.merged_cells.ranges}, book.name
        room = sum(column_points(ws.column_dimensions[c].width) for c in "ABCDEF")
        drawn = pdfmetrics.stringWidth(LONG_HEADING, "Helvetica-Bold", 10)
        lines = -(-drawn // (room - CELL_PADDING))  # at least, wrapped at words
        assert lines >= 2
        assert ws.row_dimensions[cell.row].height >= lines * HEADING_LINE, book.name


def test_a_short_group_heading_stays_one_row_of_its_own(tmp_path):
    """A heading that fits the print area is written as it was: column A, not wrapped, the
    row's height Excel's own."""
    inv, seller = _invoice(tmp_path)
    ws = openpyxl.load_workbook(
        write_invoice_workbook(inv, seller, {}, None, tmp_path / "invoice.xlsx")
    ).worksheets[0]
    cell = _heading_cell(ws, inv.lines[0].heading)
    assert not cell.alignment.wrap_text and not ws.merged_cells.ranges
    assert ws.row_dimensions[cell.row].height is None
