"""Where the printed invoice sheet's pages break: manual page breaks that keep a product group's
heading with its first line and a subtotal with the line above it, as the PDF does.

Excel and LibreOffice break a sheet's pages where a page is full, whatever the rows hold: a
group's heading could end a page with its lines on the next one. A sheet can only say where
pages break (``set_h_pagebreaks``), not which rows stay together, so the breaks are placed here,
from the rows' heights as printed: A4 with the sheet's margins, scaled to fit one page wide
(``fit_scale``), a page filled to ``FILL`` of its height at most, so that the row heights
estimated here (a wrapped description, Excel's own row heights) leave the spreadsheet no cause
for a break of its own before ours.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Sequence

from reportlab.pdfbase import pdfmetrics

#: A4 in points, and the invoice sheet's margins (inches, as ``set_margins`` takes them).
A4_WIDTH, A4_HEIGHT = 595.28, 841.89
MARGINS = {"left": 0.6, "right": 0.5, "top": 0.6, "bottom": 0.7}
#: A row's height (points) as Excel gives it without a height of its own (Calibri 11, the
#: workbook's default font), and a wrapped line's in the sheet's Arial 9.
ROW, WRAPPED_LINE = 15.0, 12.0
#: A cell's padding (points) left and right of its text.
CELL_PADDING = 4.0
#: The share of a page the breaks fill at most: the heights here are estimates.
FILL = 0.9


def column_points(width: float) -> float:
    """A column of ``width`` characters in points (Excel: 7 pixels a character of Calibri 11 and
    5 of padding, 0.75 point a pixel)."""
    return (math.floor(width * 7 + 0.5) + 5) * 0.75


def fit_scale(widths: Sequence[float]) -> float:
    """The scale (at most 1) at which columns of ``widths`` (characters) print one A4 page wide:
    a whole percent, as Excel takes it. The invoice sheet prints at this scale rather than
    "fit to one page wide", under which Excel ignores manual page breaks."""
    printable = A4_WIDTH - (MARGINS["left"] + MARGINS["right"]) * 72
    return min(100, math.floor(100 * printable / sum(map(column_points, widths)))) / 100


def page_height(widths: Sequence[float]) -> float:
    """The rows' height (points, unscaled) the breaks put on one A4 page at most."""
    printable = A4_HEIGHT - (MARGINS["top"] + MARGINS["bottom"]) * 72
    return FILL * printable / fit_scale(widths)


def wide(ch: str) -> bool:
    """A Chinese, Japanese or Korean character (East Asian width W or F): an em wide."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def text_points(text: str, size: float = 9, bold: bool = False) -> float:
    """The printed width (points) of ``text`` in the sheet's Arial at ``size`` (metrically
    Helvetica, whose metrics reportlab ships). A Chinese, Japanese or Korean character (East
    Asian width W or F) is an em wide, as the font a spreadsheet draws it in prints it:
    Helvetica has none, and reportlab gave it about three quarters of that."""
    font = "Helvetica-Bold" if bold else "Helvetica"
    if text.isascii():
        return pdfmetrics.stringWidth(text, font, size)
    ems = sum(map(wide, text))
    if not ems:
        return pdfmetrics.stringWidth(text, font, size)
    rest = "".join(ch for ch in text if not wide(ch))
    return ems * size + pdfmetrics.stringWidth(rest, font, size)


def fitted_parts(text: str, points: float, size: float = 9, bold: bool = False) -> list[str]:
    """``text`` on rows no wider than a cell ``points`` wide (its padding left out) in the
    sheet's Arial at ``size`` (``text_points``): broken at spaces, a word wider than a row
    inside it. A row cut by its number of characters fits in Latin letters, not in Chinese or
    Japanese ones, each about twice as wide."""
    room = points - CELL_PADDING
    if text_points(text, size, bold) <= room:
        return [text]
    rows: list[str] = []
    row = ""
    for word in text.split(" "):
        candidate = f"{row} {word}" if row else word
        if text_points(candidate, size, bold) <= room:
            row = candidate
            continue
        if row:
            rows.append(row)
        row = ""
        for ch in word:
            if row and text_points(row + ch, size, bold) > room:
                rows.append(row)
                row = ""
            row += ch
    rows.append(row)
    return rows


def fitted_rows(text: str, width: float) -> int:
    """The rows a wrapped cell of ``text`` takes in a column of ``width`` characters (its
    padding left out): one where it fits."""
    return max(1, math.ceil(text_points(text) / (column_points(width) - CELL_PADDING)))


def wrapped_lines(text: str, points: float, size: float = 9, bold: bool = False) -> int:
    """The lines ``text`` takes when wrapped at spaces (a word wider than the line broken
    inside it) in a cell ``points`` wide (its padding left out), in the sheet's Arial at
    ``size``: as a spreadsheet wraps a cell's text, by the printed widths of its words."""
    room = points - CELL_PADDING
    lines, used = 1, 0.0
    for k, word in enumerate(text.split(" ")):
        drawn = text_points(word if not k else " " + word, size, bold)
        if used and used + drawn > room:
            lines, used = lines + 1, 0.0
            drawn = text_points(word, size, bold)
        while drawn > room:  # one word wider than the cell
            lines, drawn = lines + 1, drawn - room
        used += drawn
    return lines


def wrapped_height(text: str, characters: int) -> float:
    """The height of a row whose wrapped cell holds ``text`` in a column of about ``characters``
    characters of the sheet's Arial 9 (Excel fits a wrapped row's height to its lines); a
    Chinese, Japanese or Korean character (East Asian width W or F) counts as two, as wide as it
    prints."""
    ems = 0 if text.isascii() else sum(map(wide, text))
    lines = max(1, math.ceil((len(text) + ems) / characters))
    return max(ROW, lines * WRAPPED_LINE)


def page_breaks(
    heights: Sequence[float],
    kept: set[int],
    page: float,
    repeated: float = ROW,
    spacers: Collection[int] = (),
) -> list[int]:
    """The rows (0-based) a new page begins with, for rows of ``heights`` (points) on pages of
    ``page`` points; each page after the first also prints the repeated header row
    (``repeated``). A page does not begin with a row of ``kept`` (a group's first line: its
    heading would end the page above; a subtotal; a wrapped text's second row): the break comes
    before the nearest row above it that may begin a page. Nor with a row of ``spacers`` (the
    blank row after a subtotal or before the payment block: a page began with an empty row): a
    blank row that does not fit ends the page all the same, in the room ``FILL`` leaves (it
    prints nothing). Rows kept together over more than a page break where the page is full."""
    breaks: list[int] = []
    start, used, r = 0, 0.0, 0
    while r < len(heights):
        if used + heights[r] <= page or r == start or r in spacers:
            used += heights[r]
            r += 1
            continue
        b = next((x for x in range(r, start, -1) if x not in kept and x not in spacers), r)
        breaks.append(b)
        start, used, r = b, repeated, b
    return breaks
