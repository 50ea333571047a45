"""A product group's heading as the customer reads it: whole in the workbook's invoice sheet however
long, and repeated at the top of a PDF page its group's lines run onto."""

from __future__ import annotations

from dataclasses import replace

import openpyxl
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from billing_lib.documents import write_documents
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


def page_texts(path) -> list[list[str]]:
    """Each page's drawn texts, top to bottom, left to right (the footer left out)."""
    pages = []
    for page in PdfReader(path).pages:
        drawn: list[tuple[float, float, str]] = []

        def visit(text, cm, tm, font, size, drawn=drawn):
            if text.strip():
                drawn.append((-(tm[5] * cm[3] + cm[5]), tm[4] * cm[0] + cm[4], text.strip()))

        page.extract_text(visitor_text=visit)
        footer = max(y for y, _, _ in drawn)  # the lowest baseline
        pages.append([t for y, _, t in sorted(drawn) if y < footer])
    return pages


def test_a_group_running_onto_a_new_pdf_page_repeats_its_heading_continued(tmp_path):
    """A product group's lines that ran onto a new page began it bare, under the table's column
    header only: the customer could not tell which group the lines belonged to. The page now
    begins with the column header, then the heading with " (continued)"; a page that begins with
    a group's heading (its first line) prints it once, as it is."""
    inv, seller = _invoice(tmp_path, lines=90)
    [pdf, _] = write_documents([inv], seller, tmp_path, None)
    pages = page_texts(pdf)
    heading = inv.lines[0].heading
    continued = [texts for texts in pages[1:] if any(t.startswith("Amazon EC2") for t in texts)]
    assert pages[0].count(heading) == 1 and continued
    for texts in continued:
        body = texts[texts.index("Amount") + 1 :]
        assert body[0] == f"{heading} (continued)", body[:2]
        assert texts.count(f"{heading} (continued)") == 1
