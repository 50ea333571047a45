"""The PDFs' font, DejaVu Sans (Latin, Greek and Cyrillic; shipped as a TTF inside the matplotlib
wheel, so nothing is read from the system), and the texts it cannot draw as they read: a script
it lacks (Chinese, Thai: ``missing_glyphs``) and a right-to-left script (Arabic, Hebrew:
``right_to_left``, which ``drawString`` prints left to right and unjoined), named among the
run's warnings instead of printed as boxes in silence."""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from billing_lib.invoices import Invoice, Seller
from billing_lib.printed_texts import printed

FONT, BOLD = "InvoiceSans", "InvoiceSans-Bold"


@cache
def registered_fonts() -> tuple[str, str]:
    """Register DejaVu Sans (regular and bold) from the matplotlib wheel, once per process."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:  # a dependency: always installed
        raise RuntimeError("matplotlib (the DejaVu Sans fonts of the PDFs) is not installed")
    folder = Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    return FONT, BOLD


@cache
def _drawable() -> frozenset[int]:
    """The code points both faces of the PDFs' font have a glyph for."""
    registered_fonts()
    regular, bold = (pdfmetrics.getFont(name) for name in (FONT, BOLD))
    # registered so by registered_fonts
    assert isinstance(regular, TTFont) and isinstance(bold, TTFont)
    return frozenset(regular.face.charToGlyph) & frozenset(bold.face.charToGlyph)


#: How ``_texts`` walks a value of a type (``_walk_of``): a dataclass's fields, a dict's values,
#: the items of a list or tuple, or nothing (a number, a date).
_WALKS: dict[type, tuple[str, tuple[str, ...]]] = {}


def _walk_of(cls: type) -> tuple[str, tuple[str, ...]]:
    """("fields", names), ("values", ()), ("items", ()) or ("", ()) for a value of ``cls``,
    asked once per type (``dataclasses.fields`` per value made the walk of 500 invoices take a
    second of the manifest's step)."""
    if cls not in _WALKS:
        if is_dataclass(cls):
            _WALKS[cls] = ("fields", tuple(f.name for f in fields(cls)))
        else:
            kind = "values" if issubclass(cls, dict) else ""
            _WALKS[cls] = (kind or ("items" if issubclass(cls, (list, tuple)) else ""), ())
    return _WALKS[cls]


def _texts(value: object, leave_out: str = "") -> list[str]:
    """Every string in ``value`` (dataclasses, dicts, lists and tuples walked through), but the
    field ``leave_out`` of the outermost dataclass, in the order met."""
    found: list[str] = []

    def walk(item: Any, leave_out: str = "") -> None:
        if isinstance(item, str):
            found.append(item)
            return
        kind, names = _walk_of(type(item))
        if kind == "fields":
            for name in names:
                if name != leave_out:
                    walk(getattr(item, name))
        elif kind:
            for each in item.values() if kind == "values" else item:
                walk(each)

    walk(value, leave_out)
    return found


#: Printable ASCII: DejaVu Sans draws it all, and none of it is right to left, so neither check
#: looks at it (nearly every text of an invoice is only that).
PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F))


def _characters(texts: Iterable[str]) -> dict[str, str]:
    """Each character of ``texts`` other than printable ASCII, with the first text holding it,
    in the order met: what both checks of a document look at, gathered in one walk."""
    found: dict[str, str] = {}
    for text in texts:
        if text.isascii() and text.isprintable():
            continue
        for ch in printed(text):  # as the PDF prints it (no noncharacter)
            if ch not in PLAIN and ch not in found:
                found[ch] = text
    return found


def pdf_printed(value: str) -> str:
    """``value`` as the PDF draws it: as every document prints it (``printed``), and each space
    the font has no glyph for (U+3000, the full-width space Japanese text is written with) a
    plain space: drawn, it was the font's empty box, and ``missing_glyphs`` passes over
    whitespace."""
    text = printed(value)
    if text.isascii():
        return text
    drawable = _drawable()
    return "".join(" " if ch.isspace() and ord(ch) not in drawable else ch for ch in text)


def _undrawable(chars: dict[str, str]) -> dict[str, str]:
    """Each character of ``chars`` (``_characters``) the font has no glyph for (whitespace
    aside), with the first text holding it."""
    drawable = _drawable()
    return {ch: text for ch, text in chars.items() if ord(ch) not in drawable and not ch.isspace()}


def _first_text(found: dict[str, str]) -> str:
    """The first text a warning quotes, cut to 60 characters."""
    example = next(iter(found.values()))
    return example if len(example) <= 60 else example[:57] + "..."


def _glyphs_warning(what: str, missing: dict[str, str]) -> str:
    chars = list(missing)
    shown = " ".join(chars[:12]) + (f" and {len(chars) - 12} more" if len(chars) > 12 else "")
    example = _first_text(missing)
    return (
        f"{what}: the PDF's font (DejaVu Sans: Latin, Greek, Cyrillic) has no glyph for {shown} "
        f"(in {example!r}): the PDF prints empty boxes for them; the workbook and the e-invoice "
        "hold the text"
    )


def _right_to_left(chars: dict[str, str]) -> dict[str, str]:
    """Each letter of a right-to-left script (bidirectional class R or AL: Hebrew, Arabic,
    Syriac, Thaana) of ``chars`` (``_characters``) the font draws, with the first text holding
    it."""
    drawable = _drawable()
    return {
        ch: text
        for ch, text in chars.items()
        if unicodedata.bidirectional(ch) in ("R", "AL")
        and unicodedata.category(ch).startswith("L")
        and ord(ch) in drawable  # else missing_glyphs names it
    }


def _right_to_left_warning(what: str, found: dict[str, str]) -> str:
    scripts = sorted({unicodedata.name(ch, "right-to-left").split()[0].title() for ch in found})
    example = _first_text(found)
    return (
        f"{what}: the PDF prints {' and '.join(scripts)} text left to right with its letters "
        f"unjoined (in {example!r}): a reader sees it reversed; the workbook and the e-invoice "
        "hold the text as written"
    )


def right_to_left(invoices: Iterable[Invoice], seller: Seller) -> list[str]:
    """A warning per invoice whose PDF prints text of a right-to-left script (a customer's name
    in Arabic, a line in Hebrew), and one for the seller's own details: reportlab's
    ``drawString`` neither reorders such text nor joins Arabic letters, and DejaVu Sans has
    glyphs for them, so ``missing_glyphs`` says nothing. (Shaping it takes a bidi and an Arabic
    shaping library the project does not carry; docs/invoices-and-ledger.md.)"""
    return font_warnings(invoices, seller)[1]


def missing_glyphs(invoices: Iterable[Invoice], seller: Seller) -> list[str]:
    """A warning per invoice whose PDF would print a character as an empty box (a customer's
    name in Chinese, a vendor's product in Thai), and one for the seller's own details: the PDF
    is drawn in DejaVu Sans, which has no glyphs for those scripts, and nothing else says so."""
    return font_warnings(invoices, seller)[0]


def font_warnings(invoices: Iterable[Invoice], seller: Seller) -> tuple[list[str], list[str]]:
    """(``missing_glyphs``, ``right_to_left``) from one walk of the seller's details and of each
    invoice (its seller left out: said once)."""
    missing, reversed_ = [], []
    documents = [("seller.yaml", _texts(seller.model_dump(exclude={"logo"})))]
    documents += [(f"{inv.number} ({inv.customer_id})", _texts(inv, "seller")) for inv in invoices]
    for what, texts in documents:
        chars = _characters(texts)
        if hit := _undrawable(chars):
            missing.append(_glyphs_warning(what, hit))
        if hit := _right_to_left(chars):
            reversed_.append(_right_to_left_warning(what, hit))
    return missing, reversed_


def document_font_warnings(inv: Invoice) -> list[str]:
    """``missing_glyphs`` and ``right_to_left`` of one document's own texts, its seller's
    details left out (the run names those): what ``billing credit-note`` and ``billing reissue``
    print of the PDF they write, as a run lists its invoices' (a reason in Japanese printed as
    empty boxes on a credit note, and nothing said so)."""
    chars = _characters(_texts(inv, "seller"))
    what = f"{inv.number} ({inv.customer_id})"
    out = []
    if hit := _undrawable(chars):
        out.append(_glyphs_warning(what, hit))
    if hit := _right_to_left(chars):
        out.append(_right_to_left_warning(what, hit))
    return out
