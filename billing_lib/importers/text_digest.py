"""A CSV report's text as one sha256, whatever its encoding and line ends: the same report saved
again as UTF-16 (Excel's "Unicode text"), as UTF-8 with a BOM, or with CRLF line ends (a
spreadsheet, a Windows tool) is another file, with another sha256, but the same text, and so the
same rows. ``billed_reports`` compares it with the reports earlier months billed.

The text is the report's decoded characters as UTF-8 without a BOM, every line ended by one LF
(a CRLF taken as LF, a last line without its line end given one). For the common file, UTF-8
without BOM in LF lines, that is its content as it is (``SourceFile.content``), so nothing is
hashed a second time: the line scan (reader) hands its buffers of whole lines to ``TextDigest``,
which starts hashing only at a first buffer that is not already the text (a BOM, a CRLF, UTF-16).
A file that differs only later (CRLF lines appended to LF ones, no line end after its last line)
is hashed in a pass of its own (``late``)."""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterable
from typing import Any

BOM = codecs.BOM_UTF8


class TextDigest:
    """The sha256 of the text of a CSV (module docstring), fed its decompressed content in order,
    in buffers of whole lines (``lines``) and the rest after its last line end (``end``): bytes
    of UTF-8, or text decoded from UTF-16."""

    def __init__(self) -> None:
        self._sha: Any = None  # a hashlib object, once the text differs from the bytes
        self._seen = False  # a buffer was given
        #: The text differs from the bytes from a later buffer on: the buffers before it were
        #: not hashed, so the digest is taken in a pass of its own (``text_sha256``).
        self.late = False

    def lines(self, data: bytes | str, crlf: bool | None = None) -> None:
        """One buffer of whole lines, the next after those given before; ``crlf``: whether it
        holds a CRLF, when the caller knows (the line scan counts them), else it is searched."""
        first, self._seen = not self._seen, True
        if self.late:
            return
        if isinstance(data, str):  # decoded UTF-16: always another text than the file's bytes
            if self._sha is None:
                self._sha = hashlib.sha256()
            self._sha.update(data.replace("\r\n", "\n").encode("utf-8"))
            return
        if crlf is None:
            crlf = b"\r\n" in data
        if self._sha is None:
            if first and (data.startswith(BOM) or crlf):
                self._sha = hashlib.sha256()
            elif crlf:
                self.late = True
                return
            else:
                return
        if first:
            data = data.removeprefix(BOM)
        self._sha.update(data.replace(b"\r\n", b"\n") if crlf else data)

    def end(self, rest: bytes | str) -> None:
        """The text after the last line end (empty when the file ends with one): given its line
        end. A UTF-8 file not hashed so far differs from its text by that line end (``late``)."""
        if not rest:
            return
        if isinstance(rest, str):
            self.lines(rest + "\n")
        elif self._sha is None:
            self.late = True
        else:
            self.lines(rest + b"\n")

    def hexdigest(self) -> str | None:
        """The text's sha256; None when it is the file's content as it is (nothing to hash) or
        when it is ``late``."""
        return None if self._sha is None or self.late else str(self._sha.hexdigest())


def text_sha256(chunks: Iterable[bytes]) -> str:
    """The sha256 of the text of a UTF-8 CSV whose decompressed content, with every CRLF made LF,
    is ``chunks`` (line_scan's ``one_lf``): its BOM left out, and a line end after its last line."""
    sha = hashlib.sha256()
    head: bytes | None = b""
    last = b"\n"
    for data in chunks:
        if head is not None:  # the first bytes, until they hold a BOM if there is one
            head += data
            if len(head) < len(BOM):
                continue
            data, head = head.removeprefix(BOM), None
        if data:
            sha.update(data)
            last = data[-1:]
    if head:  # a text shorter than a BOM
        sha.update(head.removeprefix(BOM))
        last = head.removeprefix(BOM)[-1:] or last
    if last != b"\n":
        sha.update(b"\n")
    return sha.hexdigest()
