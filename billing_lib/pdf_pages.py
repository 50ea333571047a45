"""What every page of an invoice PDF has: its A4 geometry and its footer, the seller's name and
the document's number beside "Page n of N" (``NumberedCanvas``), drawn when the PDF is saved and
the number of pages is known."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from billing_lib.pdf_fonts import FONT, pdf_printed, registered_fonts

PAGE_W, PAGE_H = 210 * mm, 297 * mm


LEFT, RIGHT, TOP, BOTTOM = 18 * mm, 18 * mm, 16 * mm, 20 * mm


WIDTH = PAGE_W - LEFT - RIGHT


#: Room kept between the footer's text and its page number.
FOOTER_GAP = 6 * mm


def cut_text(text: str, width: float, size: float, font: str = FONT) -> str:
    """``text``, cut short with an ellipsis where it would be wider than ``width`` (points, at
    ``size`` in ``font``)."""
    registered_fonts()
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    cut = text
    while cut and pdfmetrics.stringWidth(cut.rstrip(" ,;-") + "…", font, size) > width:
        cut = cut[:-1]
    return cut.rstrip(" ,;-") + "…"


def footer_text(name: str, document: str, width: float, size: float = 7) -> str:
    """``Northwind B.V. - Invoice NW2026-000001``, the seller's name cut short with an ellipsis
    where the whole would be wider than ``width`` (points, at ``size``): a name of more than about
    120 characters ran under the footer's "Page 1 of 1". The document's number is kept whole;
    the name is printed whole at the top of the first page."""
    registered_fonts()
    tail = f" - {document}"
    return cut_text(name, width - pdfmetrics.stringWidth(tail, FONT, size), size) + tail


class NumberedCanvas(canvas.Canvas):
    """A canvas that prints "Page n of N" in every footer (the pages are kept until saved)."""

    def __init__(self, *args: Any, footer: tuple[str, str] = ("", ""), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []
        self._footer = (pdf_printed(footer[0]), pdf_printed(footer[1]))

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # reportlab's own, not in its stubs

    def save(self) -> None:
        total = len(self._pages)
        pages = pdfmetrics.stringWidth(f"Page {total} of {total}", FONT, 7)
        footer = footer_text(*self._footer, WIDTH - pages - FOOTER_GAP)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(FONT, 7)
            self.setFillGray(0.35)
            self.drawString(LEFT, BOTTOM - 9 * mm, footer)
            self.drawRightString(
                PAGE_W - RIGHT,
                BOTTOM - 9 * mm,
                f"Page {self._pageNumber} of {total}",  # type: ignore[attr-defined]
            )
            super().showPage()
        super().save()
