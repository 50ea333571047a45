"""Texts of the workbook's invoice sheet printed whole: a VAT rule's label of any length."""

from __future__ import annotations

from dataclasses import replace

import openpyxl
from reportlab.pdfbase import pdfmetrics

from billing_lib.invoices import build_invoices
from billing_lib.numbering import open_register
from billing_lib.print_pages import CELL_PADDING, WRAPPED_LINE, column_points
from billing_lib.workbooks import write_credit_note_workbook, write_invoice_workbook
from tests.invoice_helpers import ISSUED, PERIOD, line, setup

#: A VAT label as a German reseller words reverse charge in full: wider than columns A to C.
LONG_LABEL = (
    "Steuerschuldnerschaft des Leistungsempfängers gemäß § 13b UStG (Reverse Charge, Art. 196 "
    "MwStSystRL) – innergemeinschaftliche sonstige Leistung"
)


def test_a_long_vat_label_wraps_whole_left_of_the_taxable_amount(tmp_path):
    """The VAT summary wrote a rule's label (vat_rules.yaml) as one cell in column A, running
    over B and C: a label wider than them was cut off at column D, which holds the taxable
    amount (the PDF wraps it: ``invoice_pdf._Document.vat_label``). It wraps in A to C merged,
    its row as tall as its lines, in an invoice and in a credit note."""
    con, customers, invoicing = setup([line("C003", "100.00")])
    [inv] = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    inv = replace(inv, vat=tuple(replace(v, label=LONG_LABEL) for v in inv.vat))
    books = [
        write_invoice_workbook(inv, invoicing.seller, {}, None, tmp_path / "invoice.xlsx"),
        write_credit_note_workbook(
            replace(inv, kind="credit_note", refers_to="NW1"), invoicing.seller, tmp_path / "n.xlsx"
        ),
    ]
    for book in books:
        ws = openpyxl.load_workbook(book).worksheets[0]
        [cell] = [c for row in ws.iter_rows() for c in row if c.value == LONG_LABEL]
        assert cell.column == 1 and cell.alignment.wrap_text, book.name
        assert f"A{cell.row}:C{cell.row}" in {str(r) for r in ws.merged_cells.ranges}, book.name
        assert ws.cell(cell.row, 4).value is not None  # the taxable amount beside it
        room = sum(column_points(ws.column_dimensions[c].width) for c in "ABC") - CELL_PADDING
        lines = -(-pdfmetrics.stringWidth(LONG_LABEL, "Helvetica", 9) // room)
        assert lines >= 2 and ws.row_dimensions[cell.row].height >= lines * WRAPPED_LINE
