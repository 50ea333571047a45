"""Excel's separator hint: a first line ``sep=,`` (``sep=;``, ``sep=`` and a tab) before a CSV's
header, which tools write for Excel. Excel splits the fields at that character and does not show
the line: the header is row 1, as in the report without it.

A report whose hint names the separator it has (a comma, or a tab for a tab-separated export) is
read from a copy without the line, so its header is recognised and its rows are numbered as Excel
shows them, the rows of the vendor's report. A hint of another separator (``sep=;``: Excel in a
locale of decimal commas, whose re-save writes semicolons) and a first line that begins like one
but is no hint (``sep=,,,,``: a spreadsheet that does not read the hint saved it as a row of
cells) are refused naming the file and row 1: neither is a report the import reads as it is.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from pathlib import Path

from billing_lib.errors import InputError, Problem

#: The hint as Excel reads it: ``sep=``, one character, the end of the line.
_HINT = re.compile(r"(?i)sep=([^\r\n])(\r\n|\n|\r|$)")
#: A first line that begins like the hint (also quoted, as a spreadsheet writes a cell).
_LIKE_HINT = re.compile(r'(?i)"?sep=')
#: The separators the import reads, as the messages name them.
_READ = {",": "commas", "\t": "tabs"}
_NAMES = {";": "semicolons", "|": "pipes"}


def _first_text(head: bytes) -> tuple[bytes, str]:
    """The byte-order mark ``head`` begins with (or b"") and the text of its first bytes."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")):
        if head.startswith(bom):
            return bom, head[len(bom) : len(bom) + 256].decode(codec, errors="replace")
    return b"", head[:256].decode("utf-8", errors="replace")


def hint_length(head: bytes, name: str) -> tuple[bytes, int, str] | None:
    """For the CSV ``name`` whose decompressed content begins with ``head``: its byte-order mark,
    the length in bytes of its hint line (the mark and the line end included) and the separator
    the hint names; None without one. InputError for a first line that begins like a hint and is
    none, and for a hint of a separator the import never reads (``sep=;``)."""
    bom, text = _first_text(head)
    if not _LIKE_HINT.match(text):
        return None
    line = re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]
    found = _HINT.match(text)
    if found is None:
        raise InputError(
            f"{name}: the first line is no header of column names, nor Excel's separator hint",
            [
                Problem(
                    name,
                    1,
                    None,
                    line,
                    "the vendor's header, or before it Excel's hint 'sep=,' alone on its line (a "
                    "spreadsheet that does not read the hint saved it as a row of cells?); delete "
                    "the line, or export the report again from the vendor",
                )
            ],
        )
    separator = found.group(1)
    if separator not in _READ:
        refuse_hint(name, separator, None)
    width = 2 if bom == codecs.BOM_UTF16_LE else 1
    return bom, len(bom) + width * len(found.group(0)), separator


def refuse_hint(name: str, hint: str, delimiter: str | None) -> None:
    """InputError naming row 1 of ``name``, whose hint names ``hint`` as its separator where
    the report's header is separated by ``delimiter`` (None: a separator the import never reads)."""
    what = _READ.get(hint) or _NAMES.get(hint) or repr(hint)
    has = f"; its header is separated by {_READ[delimiter]}" if delimiter in _READ else ""
    why = (
        "a spreadsheet re-saved the report with other separators (and perhaps decimal commas)"
        if delimiter is None
        else "the hint does not name the separator the header has"
    )
    raise InputError(
        f"{name}: the first line is Excel's separator hint, and it names {what}{has}",
        [
            Problem(
                name,
                1,
                None,
                f"sep={hint}",
                "the vendor's columns separated by commas (tabs for a tab-separated export), and "
                f"a hint, if any, naming them; not {what}: {why}; export the report again from "
                "the vendor",
            )
        ],
    )


def without_hint(chunks: Iterable[bytes], bom: bytes, skip: int, target: Path) -> Path:
    """Write the content ``chunks`` (decompressed) to ``target`` without its first ``skip``
    bytes, the hint line, and with its byte-order mark ``bom`` kept."""
    with open(target, "wb") as out:
        out.write(bom)
        for chunk in chunks:
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            out.write(chunk[skip:])
            skip = 0
    return target
