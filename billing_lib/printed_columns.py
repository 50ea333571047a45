"""Columns of vendor texts as the invoice documents print them (``printed_texts.printed``), a
column at a time: for the usage sheets, which write up to a million rows of them.

A usage sheet wrote a vendor's text as the vendor gave it: a noncharacter that the invoice sheet,
the PDF and the e-invoice drop read ``_xFFFE_`` in it, a vertical tab ``_x000B_``. Nearly every
text is clean, so a column's UTF-8 bytes are first searched for such a character by numpy, all at
once; only the texts that hold one go through the regular expressions (pyarrow's RE2). The usage
sheets' 8 text columns of a share of 250,000 lines take 0.02 s so; RE2 over every text took
0.6 s, ``printed`` called per cell 1.7 s, beside the 1.3 s of reading the share's usage rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from billing_lib.printed_texts import CONTROL_RE2, NONCHARACTERS_RE2

#: The bytes that begin, in UTF-8, a character ``printed`` drops or makes a space: a C0 control
#: or DEL; 0xC2 (U+0080 to U+00BF: the C1 controls); 0xE2 (U+2000 to U+2FFF: the line and
#: paragraph separators); 0xEF (U+F000 to U+FFFF: U+FDD0 to U+FDEF, U+FFFE, U+FFFF); 0xF0 to
#: 0xF4 (the other planes, whose last two code points are noncharacters). Other texts (ASCII,
#: accented letters) hold none of them.
_LEADS = np.zeros(256, dtype=bool)
_LEADS[[*range(0x20), 0x7F, 0xC2, 0xE2, 0xEF, *range(0xF0, 0x100)]] = True


def printed_column(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """``values`` (of type string or large_string, as DuckDB gives) with each text as
    ``printed`` gives it: the noncharacters dropped, each control character a space; NULL stays
    NULL. ``values`` itself when no text changes."""
    chunks = [(chunk, _texts_with_leads(chunk)) for chunk in values.chunks]
    if not any(len(suspects) for _, suspects in chunks):
        return values
    return pa.chunked_array([_printed_chunk(c, suspects) for c, suspects in chunks], values.type)


def _printed_chunk(chunk: pa.Array, suspects: np.ndarray) -> pa.Array:
    """One chunk of ``printed_column``, its texts ``suspects`` (``_texts_with_leads``) matched
    by the regular expressions."""
    if not len(suspects):
        return chunk
    taken = chunk.take(pa.array(suspects))
    dropped = pc.replace_substring_regex(taken, NONCHARACTERS_RE2, "")
    fixed = pc.replace_substring_regex(dropped, CONTROL_RE2, " ")
    mask = np.zeros(len(chunk), dtype=bool)
    mask[suspects] = True
    return pc.replace_with_mask(chunk, pa.array(mask), fixed)


def _texts_with_leads(chunk: pa.Array) -> np.ndarray:
    """Indexes of the texts of ``chunk`` holding a character ``printed`` changes, ascending (a
    null slot's unused bytes may add one: it stays NULL)."""
    none = np.empty(0, dtype=np.int64)
    _, offsets_buffer, data = chunk.buffers()
    if not len(chunk) or chunk.null_count == len(chunk) or offsets_buffer is None or data is None:
        return none
    wide = pa.types.is_large_string(chunk.type)
    offsets = np.frombuffer(memoryview(offsets_buffer), dtype=np.int64 if wide else np.int32)
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    if offsets[-1] == offsets[0]:
        return none
    text = np.frombuffer(memoryview(data), dtype=np.uint8)[offsets[0] : offsets[-1]]
    # the bytes that are no printable ASCII (a comparison numpy vectorises), then of those the
    # lead bytes (looking every byte up in ``_LEADS`` took three times as long), then those
    # that begin an odd character (an en dash or a euro sign begins with 0xE2 too)
    other = np.flatnonzero(text - np.uint8(0x20) >= np.uint8(0x7F - 0x20))
    leads = other[_LEADS[text[other]]]
    found = leads[_odd(text, leads)]
    if not len(found):
        return found
    # the text each byte is in: the last whose first byte is at or before it
    return np.unique(np.searchsorted(offsets[1:] - offsets[0], found, side="right"))


def _odd(text: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Which of the bytes ``text[leads]`` (``_LEADS``) begin a character ``printed`` changes, by
    its UTF-8 bytes: a C0 control or DEL; a C1 control (C2 80 to C2 9F); U+2028 or U+2029 (E2 80
    A8, E2 80 A9); U+FDD0 to U+FDEF (EF B7 90 to EF B7 AF); U+FFFE, U+FFFF (EF BF BE, EF BF BF);
    the last two code points of a plane (F0 to F4, then a byte ending in 1111, BF, BE or BF). A
    character is whole in a text, so its bytes are there (the index is capped only to stay in
    ``text``)."""
    last = len(text) - 1
    b0, b1, b2, b3 = (text[np.minimum(leads + k, last)] for k in range(4))
    return (
        (b0 < 0x20)
        | (b0 == 0x7F)
        | ((b0 == 0xC2) & (b1 < 0xA0))
        | ((b0 == 0xE2) & (b1 == 0x80) & ((b2 == 0xA8) | (b2 == 0xA9)))
        | ((b0 == 0xEF) & (b1 == 0xB7) & (b2 >= 0x90) & (b2 <= 0xAF))
        | ((b0 == 0xEF) & (b1 == 0xBF) & (b2 >= 0xBE))
        | ((b0 >= 0xF0) & ((b1 & 0x0F) == 0x0F) & (b2 == 0xBF) & (b3 >= 0xBE))
    )
