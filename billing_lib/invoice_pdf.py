"""Invoice and credit-note PDFs (A4), with reportlab, from the ``Invoice`` objects.

The PDF shows what the invoice workbook's invoice sheet shows, in the same order: the seller's
details (``seller.yaml``, and its optional ``logo``), the buyer, the invoice's details, the lines
per product group with subtotals, the VAT summary, the totals, the VAT mention and the payment
details. Every figure is the ``Invoice``'s own (nothing is recomputed), so the PDF, the workbook,
the UBL e-invoice and the ledger show the same cents.

Text from vendor files and parameters is drawn as plain text with ``drawString`` (never through
reportlab's Paragraph markup), so ``<b>`` or ``&amp;`` in a resource name is printed as it is. The
font is DejaVu Sans (Latin, Greek and Cyrillic; shipped as a TTF inside the matplotlib wheel, so
nothing is read from the system), embedded as a subset; text in a script it lacks (Chinese,
Thai) is named among the run's warnings (``missing_glyphs``), not printed as boxes in silence,
and so is text in a right-to-left script (Arabic, Hebrew: ``right_to_left``), which
``drawString`` prints left to right and unjoined (``pdf_fonts``).
The document's dates and id are fixed (the period's last second for a run, the issue date for a
credit note), so a rerun writes the same bytes. reportlab writes an invoice in about 20 ms (fpdf2
took about 120 ms with the same font).
"""

from __future__ import annotations

import zlib
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics

from billing_lib.errors import ParameterError
from billing_lib.invoice_model import (
    amount_text,
    national_vat_note,
    refers_to_label,
    refers_to_text,
)
from billing_lib.invoice_sheet import payment_lines, registration_text, seller_address
from billing_lib.invoices import Invoice, InvoiceLine, Seller
from billing_lib.money import decimal_places
from billing_lib.pdf_fonts import BOLD, FONT, pdf_printed, registered_fonts
from billing_lib.pdf_pages import (
    BOTTOM,
    LEFT,
    PAGE_H,
    PAGE_W,
    RIGHT,
    TOP,
    WIDTH,
    NumberedCanvas,
    cut_text,
)
from billing_lib.run_files import atomic_target
from billing_lib.sheet_formats import fixed_created
from billing_lib.workbooks import workbook_name

#: Table columns: (header, width in mm, right-aligned).
COLUMNS = (
    ("Description", 74, False),
    ("Quantity", 22, True),
    ("Unit", 20, False),
    ("Unit price", 22, True),
    ("VAT", 14, True),
    ("Amount", 22, True),
)


PAD = 1.5 * mm


#: Height of a product group's heading and of its subtotal: a heading is kept on the page of the
#: group's first line, a subtotal on the page of its last.
HEADING_HEIGHT, SUBTOTAL_HEIGHT = 5.5 * mm, 8 * mm


#: Each further row of a heading wrapped over several (``_Document.heading_rows``).
HEADING_ROW = 4.2 * mm


#: Room for a total's amount right of its label ("Total EUR"), which ends 36 mm left of it.
TOTALS_WIDTH = 34 * mm


#: After a product group's heading repeated at the top of a page its lines continue on.
CONTINUED = " (continued)"


LOGO_BOX = (45 * mm, 18 * mm)


#: Room under the head of a page after the first (``_Document.continuation``), before its table.
CONTINUATION_GAP = 5.5 * mm


#: Compressed streams a process keeps: every PDF embeds the same subsets of the fonts (reportlab's
#: subset 0, the ASCII characters: about 35 KB each) and their character maps, which zlib
#: compressed anew for each PDF (a fifth of a PDF's CPU, benchmarks/README.md).
COMPRESSED_STREAMS = 16


@lru_cache(maxsize=COMPRESSED_STREAMS)
def _compressed(data: bytes) -> bytes:
    """``zlib.compress(data)`` as reportlab compresses a stream (the same level), remembered."""
    return zlib.compress(data)


@cache
def _reuse_compressed_streams() -> None:
    """reportlab's stream compression (``pdfdoc.PDFZCompress``, the one object every PDF's
    streams use) takes the last few results from ``_compressed``, once per process: zlib gives
    the same bytes for the same bytes, so every PDF is what it was without it."""
    plain = pdfdoc.PDFZCompress.encode

    def encode(text: bytes | str) -> bytes:
        return _compressed(text) if isinstance(text, bytes) else plain(text)

    vars(pdfdoc.PDFZCompress)["encode"] = encode  # this object's own, over its class's method


def pdf_name(inv: Invoice) -> str:
    """``NW2026-000001_C003.pdf``: beside the workbook, with the same stem."""
    return Path(workbook_name(inv)).with_suffix(".pdf").name


def quantity_text(value: Decimal) -> str:
    """A shown quantity (``InvoiceLine.display_quantity``) with thousands separators; at most 4
    decimals (half-up), trailing zeros dropped."""
    q = value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
    return f"{q:,f}" if q else "0"


def unit_price_text(value: Decimal, currency: str) -> str:
    """A shown unit price (``InvoiceLine.display_unit_price``) in ``currency``: its decimals, up
    to 4 where the price has more (half-up), as the workbook shows it: EUR 5.30 and 0.1922,
    JPY 12,345 (a yen has no sen), KWD 0.500."""
    places = decimal_places(currency)
    q = value.quantize(Decimal(1).scaleb(-max(places, 4)), rounding=ROUND_HALF_UP)
    text = f"{q:,f}"
    while "." in text and text.endswith("0") and len(text.split(".")[1]) > places:
        text = text[:-1]
    return text.removesuffix(".")


def fitted_size(text: str, width: float, size: float = 8.5, bold: bool = False) -> float:
    """``size``, or the smaller font size at which ``text`` fits ``width`` (points): a figure
    wider than its column (a quantity of 123,456,789,012.35 requests) is drawn smaller rather
    than over the next column's text."""
    registered_fonts()
    drawn = pdfmetrics.stringWidth(text, BOLD if bold else FONT, size)
    return size if drawn <= width else size * width / drawn


def rate_text(rate: Decimal) -> str:
    """``21 %``, ``0 %``, ``5.5 %``."""
    return f"{rate.normalize():f} %" if rate else "0 %"


def line_detail(line: InvoiceLine, currency: str) -> str | None:
    """``85 Licenses x 33.072 EUR``: the shown quantity (and unit price where the invoice shows
    one) of a line as text, or None where the line shows no quantity."""
    if line.display_quantity is None:
        return None
    text = quantity_text(line.display_quantity) + (f" {line.unit}" if line.unit else "")
    if line.display_unit_price is not None:
        text += f" x {unit_price_text(line.display_unit_price, currency)} {currency}"
    return text


def logo_path(seller: Seller, parameters: Path | None) -> Path | None:
    """The seller's logo file (``logo`` in seller.yaml, relative to the parameters folder), or
    None when it gives none. ParameterError when it names a file that is not there."""
    if not seller.logo:
        return None
    path = Path(parameters or ".") / seller.logo
    if not path.is_file() or path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ParameterError(
            Path(parameters or ".") / "seller.yaml",
            "logo",
            f"expected a PNG or JPEG file relative to the parameters folder; {path} is not one",
        )
    return path


def write_invoice_pdf(inv: Invoice, seller: Seller, path: Path, logo: Path | None = None) -> Path:
    """The PDF of ``inv`` (invoice or credit note) at ``path``; ``seller`` is the seller block
    the invoice prints (for a credit note: as the corrected invoice printed it)."""
    created = (
        datetime.combine(inv.issue_date, time())
        if inv.kind == "credit_note"
        else fixed_created(inv)
    )
    with atomic_target(Path(path)) as tmp:
        doc = _Document(str(tmp), inv, seller, created)
        doc.draw(logo)
        doc.canvas.save()
    return Path(path)


class _Document:
    """One PDF, drawn top to bottom with a cursor ``y`` (points from the bottom of the page)."""

    def __init__(self, target: str, inv: Invoice, seller: Seller, created: datetime) -> None:
        registered_fonts()
        _reuse_compressed_streams()
        self.inv, self.seller = inv, seller
        kind = "Credit note" if inv.kind == "credit_note" else "Invoice"
        self.canvas = NumberedCanvas(
            target,
            pagesize=(PAGE_W, PAGE_H),
            invariant=1,
            pageCompression=1,
            footer=(seller.name, f"{kind} {inv.number}"),
        )
        stamp = created.strftime("D:%Y%m%d%H%M%S+00'00'")
        self.canvas.setDateFormatter(lambda *_: stamp)
        self.canvas.setTitle(f"{kind} {inv.number}")
        self.canvas.setAuthor(seller.name)
        self.canvas.setSubject(f"{seller.name}, period {inv.period}, customer {inv.customer_id}")
        self.canvas.setCreator("billing-lib")
        self.y = PAGE_H - TOP

    # -- primitives -------------------------------------------------------------------------

    def text(
        self, x: float, s: str, size: float = 8.5, bold: bool = False, right: bool = False
    ) -> None:
        self.canvas.setFont(BOLD if bold else FONT, size)
        self.canvas.setFillGray(0)
        s = pdf_printed(s)  # as the workbook and the e-invoice print it, a space as a space
        if right:
            self.canvas.drawRightString(x, self.y, s)
        else:
            self.canvas.drawString(x, self.y, s)

    def room(self, height: float, header: bool = False) -> bool:
        """A new page when less than ``height`` is left (the table header repeated if asked);
        whether one was begun."""
        if self.y - height >= BOTTOM:
            return False
        self.canvas.showPage()
        self.y = PAGE_H - TOP
        self.continuation()
        if header:
            self.table_header()
        return True

    def continuation(self) -> None:
        """The head of a page after the first: the seller, the document's number (continued), the
        customer and the issue date, ruled off. A page of totals alone said only in its footer
        whose invoice it continued."""
        inv, half = self.inv, WIDTH / 2 - 3 * mm
        kind = "Credit note" if inv.kind == "credit_note" else "Invoice"
        rows = (
            (self.seller.name, f"{kind} {inv.number}{CONTINUED}", True),
            (
                f"{inv.buyer.name}, customer {inv.customer_id}",
                f"Issue date {inv.issue_date}",
                False,
            ),
        )
        for left, right, bold in rows:
            shown = cut_text(pdf_printed(left), half, 8.5, BOLD if bold else FONT)
            self.text(LEFT, shown, bold=bold)
            self.text(PAGE_W - RIGHT, right, bold=bold, right=True)
            self.y -= 4 * mm
        self.y += 1.5 * mm
        self.rule(0.3)
        self.y -= CONTINUATION_GAP

    def wrapped(self, s: str, width: float, size: float = 8.5, bold: bool = False) -> list[str]:
        """``s`` broken into lines no wider than ``width`` (at spaces, else inside a word)."""
        font = BOLD if bold else FONT
        out: list[str] = []
        line = ""
        for word in pdf_printed(s).split(" "):
            candidate = f"{line} {word}" if line else word
            if pdfmetrics.stringWidth(candidate, font, size) <= width:
                line = candidate
                continue
            if line:
                out.append(line)
            line = ""
            for ch in word:
                if pdfmetrics.stringWidth(line + ch, font, size) > width and line:
                    out.append(line)
                    line = ""
                line += ch
        out.append(line)
        return out

    def rule(self, weight: float = 0.4) -> None:
        self.canvas.setLineWidth(weight)
        self.canvas.line(LEFT, self.y, PAGE_W - RIGHT, self.y)

    # -- the sections -----------------------------------------------------------------------

    def draw(self, logo: Path | None) -> None:
        self.header(logo)
        self.parties()
        self.table_header()
        self.lines()
        self.vat_and_totals()
        self.payment()
        self.canvas.showPage()

    def header(self, logo: Path | None) -> None:
        s, inv = self.seller, self.inv
        top = self.y
        if logo is not None:
            w, h = LOGO_BOX
            self.canvas.drawImage(
                str(logo),
                PAGE_W - RIGHT - w,
                top - h + 8,
                w,
                h,
                preserveAspectRatio=True,
                anchor="ne",
                mask="auto",
            )
        title = "CREDIT NOTE" if inv.kind == "credit_note" else "INVOICE"
        # the name on as many lines as it takes, clear of the title (or the logo above it)
        beside = LOGO_BOX[0] if logo is not None else pdfmetrics.stringWidth(title, BOLD, 15)
        for part in self.wrapped(s.name, WIDTH - beside - 6 * mm, 13, bold=True):
            self.text(LEFT, part, 13, bold=True)
            self.y -= 5.5 * mm
        name_end = self.y + 5.5 * mm
        title_y = top - (LOGO_BOX[1] + 2 * mm if logo is not None else 0)
        self.y = title_y
        self.text(PAGE_W - RIGHT, title, 15, bold=True, right=True)
        self.y = name_end - 6 * mm
        details = seller_address(s) + [f"VAT {s.vat_number}"]
        if s.chamber_of_commerce:
            details.append(registration_text(s))
        details += [x for x in (s.email, s.phone, s.website) if x]
        # beside the logo, wrapped clear of it as the name is (a long address line ran under it)
        room = WIDTH - LOGO_BOX[0] - 6 * mm if logo is not None else WIDTH
        for part in (p for d in details for p in self.wrapped(d, room)):
            self.text(LEFT, part)
            self.y -= 4 * mm
        self.y = min(self.y, title_y - 6 * mm) - 4 * mm

    def parties(self) -> None:
        inv = self.inv
        buyer = [inv.buyer.name, *inv.buyer_address()]
        if inv.show_buyer_vat_number and inv.buyer.vat_number:
            buyer.append(f"VAT {inv.buyer.vat_number}")
        meta = [
            ("Credit note number" if inv.kind == "credit_note" else "Invoice number", inv.number),
            ("Issue date", inv.issue_date.isoformat()),
            *([("Due date", inv.due_date.isoformat())] if inv.payable else []),
            ("Supply period", f"{inv.supply_start.isoformat()} to {inv.supply_end.isoformat()}"),
            ("Customer number", inv.customer_id),
        ]
        if inv.customer_reference:
            meta.append(("Your reference", inv.customer_reference))
        if inv.refers_to:
            meta.append((refers_to_label(inv), refers_to_text(inv)))
        meta.append(("Currency", inv.currency))
        self.text(LEFT, "Bill to", bold=True)
        self.y -= 4.5 * mm
        start = self.y
        for i, b in enumerate(buyer):
            for part in self.wrapped(b, 88 * mm, bold=i == 0):
                self.text(LEFT, part, bold=i == 0)
                self.y -= 4 * mm
        left_end = self.y
        self.y = start + 4.5 * mm
        for label, value in meta:
            self.text(LEFT + 125 * mm, label, bold=True, right=True)
            for part in self.wrapped(value, WIDTH - 128 * mm):  # a long PO reference
                self.text(LEFT + 128 * mm, part)
                self.y -= 4 * mm
        self.y = min(left_end, self.y) - 5 * mm

    def table_header(self) -> None:
        self.canvas.setFillColorRGB(0.91, 0.93, 0.96)
        self.canvas.rect(LEFT, self.y - 1.8 * mm, WIDTH, 5.5 * mm, stroke=0, fill=1)
        x = LEFT
        for head, width, right in COLUMNS:
            self.text(x + width * mm - PAD if right else x + PAD, head, 8, bold=True, right=right)
            x += width * mm
        self.y -= 7 * mm

    def lines(self) -> None:
        inv = self.inv
        group = None
        total = Decimal(0)
        lines = list(inv.lines)
        for i, line in enumerate(lines):
            parts = self.wrapped(line.description, COLUMNS[0][1] * mm - 2 * PAD)
            unit_parts = self.wrapped(line.unit, COLUMNS[2][1] * mm - 2 * PAD) if line.unit else []
            rows = max(len(parts), len(unit_parts))  # a long unit (10K Transactions) wraps too
            height = rows * 3.8 * mm + 2 * mm
            if i + 1 == len(lines) or lines[i + 1].product_group != line.product_group:
                height += SUBTOTAL_HEIGHT  # the group's last line: with its subtotal
            if line.product_group != group:
                group, total = line.product_group, Decimal(0)
                self.heading(line.heading, height)
            if self.room(height, header=True):  # the group's lines run onto a new page
                self.heading_rows(f"{line.heading}{CONTINUED}")
            self.figures(line, unit_parts)
            top = self.y
            for part in parts:
                self.text(LEFT + PAD, part)
                self.y -= 3.8 * mm
            self.y = top - rows * 3.8 * mm - 0.8 * mm
            total += line.amount
            if i + 1 == len(lines) or lines[i + 1].product_group != group:
                self.subtotal(total)

    def figures(self, line: InvoiceLine, unit_parts: list[str]) -> None:
        """A line's quantity, unit (on as many rows as ``unit_parts``), unit price, VAT rate and
        amount, each in its column."""
        x = LEFT + COLUMNS[0][1] * mm
        cells = [
            quantity_text(line.display_quantity) if line.display_quantity is not None else "",
            line.unit or "",
            unit_price_text(line.display_unit_price, self.inv.currency)
            if line.display_unit_price is not None
            else "",
            rate_text(line.vat_rate),
            amount_text(line.amount, self.inv.currency),
        ]
        for (_, width, right), value in zip(COLUMNS[1:], cells, strict=True):
            if value and right:  # a billion requests in a smaller size, within its column
                size = fitted_size(value, width * mm - 2 * PAD)
                self.text(x + width * mm - PAD, value, size, right=True)
            elif value:  # the unit, on as many rows as it takes
                top = self.y
                for part in unit_parts:
                    self.text(x + PAD, part)
                    self.y -= 3.8 * mm
                self.y = top
            x += width * mm

    def subtotal(self, total: Decimal) -> None:
        """A product group's subtotal under its last line, ruled off above."""
        self.y += 1.5 * mm  # room kept with the line above
        self.canvas.setLineWidth(0.3)
        self.canvas.line(PAGE_W - RIGHT - 40 * mm, self.y, PAGE_W - RIGHT, self.y)
        self.y -= 3.5 * mm
        self.text(PAGE_W - RIGHT - 24 * mm, "Subtotal", bold=True, right=True)
        subtotal = amount_text(total, self.inv.currency)
        size = fitted_size(subtotal, 24 * mm - 3 * PAD, bold=True)  # beside its label
        self.text(PAGE_W - RIGHT - PAD, subtotal, size, bold=True, right=True)
        self.y -= 6 * mm

    def heading(self, heading: str, first_line: float) -> None:
        """A product group's heading (products.yaml), on the page of its first line (of height
        ``first_line``) and on as many rows as it takes within the table: a long one
        ("Microsoft 365 and Dynamics 365 licences bought under the Cloud Solution Provider
        programme, new commerce") ran past the right margin, off the page."""
        parts = self.wrapped(heading, WIDTH - 2 * PAD, 9, bold=True)
        self.room(HEADING_HEIGHT + (len(parts) - 1) * HEADING_ROW + first_line, header=True)
        self.heading_rows(heading)

    def heading_rows(self, heading: str) -> None:
        """``heading`` drawn where the cursor is, on as many rows as it takes within the table."""
        parts = self.wrapped(heading, WIDTH - 2 * PAD, 9, bold=True)
        self.y -= 1 * mm
        for k, part in enumerate(parts):
            self.y -= HEADING_ROW if k else 0
            self.text(LEFT + PAD, part, 9, bold=True)
        self.y -= HEADING_HEIGHT - 1 * mm

    def vat_and_totals(self) -> None:
        inv = self.inv
        national = inv.national_vat
        end = PAGE_W - RIGHT - PAD
        labels = [self.vat_label(v.label, amount_text(v.base, inv.currency)) for v in inv.vat]
        extra = sum(len(parts) - 1 for parts in labels)
        note = self.wrapped(national_vat_note(inv) or "", WIDTH, size=8) if national else []
        mention = self.mention_rows()
        # the VAT summary, the totals, the note and the mention on one page (as drawn below; at
        # least the room kept before): the mention could open the next page alone, away from
        # the VAT it explains
        totals_rows = 4 if national else 3
        block = 16 + 4.5 * len(inv.vat) + 4 * extra + 5 * totals_rows
        block += 4 * (len(note) + len(mention)) + 3
        self.room(max((len(inv.vat) + extra + (12 if national else 9)) * 5 * mm, block * mm))
        self.y -= 2 * mm
        self.text(LEFT, "VAT summary", 9, bold=True)
        self.y -= 5 * mm
        self.canvas.setFillColorRGB(0.91, 0.93, 0.96)
        self.canvas.rect(LEFT, self.y - 1.8 * mm, WIDTH, 5.5 * mm, stroke=0, fill=1)
        self.text(LEFT + PAD, "VAT", 8, bold=True)
        self.text(end - 58 * mm, "Taxable amount", 8, bold=True, right=True)
        self.text(end - 36 * mm, "Rate", 8, bold=True, right=True)
        self.text(end, "VAT amount", 8, bold=True, right=True)
        self.y -= 6 * mm
        for v, (first, *more) in zip(inv.vat, labels, strict=True):
            self.text(LEFT + PAD, first)  # the journal's VAT code is the seller's own
            self.text(end - 58 * mm, amount_text(v.base, inv.currency), right=True)
            self.text(end - 36 * mm, rate_text(v.rate), right=True)
            self.text(end, amount_text(v.amount, inv.currency), right=True)
            for part in more:  # a long label on rows of its own, left of the amounts
                self.y -= 4 * mm
                self.text(LEFT + PAD, part)
            self.y -= 4.5 * mm
        self.y -= 3 * mm
        totals = [
            ("Net", amount_text(inv.net, inv.currency), 9),
            ("VAT", amount_text(inv.vat_total, inv.currency), 9),
            (f"Total {inv.currency}", amount_text(inv.gross, inv.currency), 10.5),
        ]
        if national is not None:  # Art. 230: the VAT in the seller's national currency too
            totals.append(
                (f"VAT in {national.currency}", amount_text(national.amount, national.currency), 9)
            )
        for label, value, size in totals:
            self.text(end - 36 * mm, label, size, bold=True, right=True)
            # IDR 1,802,458,013.57 in a smaller size, clear of its label
            self.text(end, value, fitted_size(value, TOTALS_WIDTH, size, bold=True), True, True)
            self.y -= 5 * mm
        for part in note:
            self.room(4 * mm)
            self.text(LEFT, part, 8)
            self.y -= 4 * mm
        self.y -= 2 * mm
        # the mention and the VAT numbers under it on one page (a page ended between them)
        self.room(len(mention) * 4 * mm + mm)
        for part in mention:
            self.text(LEFT, part, bold=True)
            self.y -= 4 * mm
        self.y -= 3 * mm

    def mention_rows(self) -> list[str]:
        """The VAT mention and, under it, the VAT numbers it needs, as printed rows."""
        inv = self.inv
        mention = []
        if inv.vat_mention:
            mention.append(inv.vat_mention)
            if inv.show_buyer_vat_number and inv.buyer.vat_number:
                mention.append(
                    f"Supplier VAT {inv.seller.vat_number}; customer VAT {inv.buyer.vat_number}"
                )
        return [part for m in mention for part in self.wrapped(m, WIDTH, bold=True)]

    def vat_label(self, label: str, taxable: str) -> list[str]:
        """A VAT line's label (vat_rules.yaml) on as many rows as it takes left of its taxable
        amount ``taxable``: a label of some length, a German "Steuerschuldnerschaft des
        Leistungsempfängers (Reverse Charge)", ran under the amount."""
        room = WIDTH - 58 * mm - pdfmetrics.stringWidth(taxable, FONT, 8.5) - 2 * PAD - 3 * mm
        return self.wrapped(label, room)

    def payment(self) -> None:
        parts = [p for t in payment_lines(self.inv, self.seller) for p in self.wrapped(t, WIDTH)]
        self.room(len(parts) * 4 * mm + 6 * mm)  # the block on one page
        self.text(LEFT, "Payment", 9, bold=True)
        self.y -= 5 * mm
        for part in parts:
            self.text(LEFT, part)
            self.y -= 4 * mm
