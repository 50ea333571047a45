"""Reading a CSV's decompressed content line by line without per-line Python: its blank lines
and physical lines (so that row numbers follow a spreadsheet where DuckDB skips blank lines),
whether its line ends mix CRLF and LF, and the sha256 of its content and of its text, in one pass.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, AnyStr, cast

import numpy as np
from isal import igzip

from billing_lib.importers.text_digest import TextDigest, text_sha256

_BLANK_TEXT = re.compile(r"(?m)^\r?$")
_LF, _CR = 10, 13


def _scan_lines(
    path: Path, encoding: str, content: Any = None, text: TextDigest | None = None
) -> tuple[tuple[int, ...], int, bool]:
    """Blank physical lines, the number of physical lines and whether line ends mix CRLF and LF,
    with no per-line Python, so that row numbers can follow a spreadsheet even when DuckDB skips
    blanks. ``content``: a hashlib object fed the decompressed bytes in the same pass; ``text``:
    fed its lines, for the sha256 of its text (text_digest)."""
    chunks = byte_chunks(path)
    if content is not None:
        chunks = _hashed(chunks, content)
    if encoding == "utf-16":
        return _scan_text_chunks(decoded_utf16(chunks), text)
    return _scan_byte_chunks(chunks, text)


def _hashed(chunks: Iterable[bytes], content: Any) -> Iterator[bytes]:
    for chunk in chunks:
        content.update(chunk)
        yield chunk


def _scan_byte_chunks(
    chunks: Iterable[bytes], text: TextDigest | None = None
) -> tuple[tuple[int, ...], int, bool]:
    """``_scan_lines`` of UTF-8 (or single-byte) text: each chunk's line ends found at once by
    numpy (a blank line is one of length 0, or a lone CR before its LF). About 2.5 times the
    speed of searching the chunk for two-byte sequences (benchmarks/README.md)."""
    blanks: list[int] = []
    lines_before = crlf = 0
    carry = b""
    for chunk in chunks:
        buf = carry + chunk if carry else chunk
        end = buf.rfind(b"\n") + 1
        complete, carry = buf[:end], buf[end:]
        if not end:
            continue
        data = np.frombuffer(complete, dtype=np.uint8)
        ends = np.flatnonzero(data == _LF)
        after_cr = data[ends - 1] == _CR  # the first LF at 0 looks at the last byte, an LF
        here = int(np.count_nonzero(after_cr))
        crlf += here
        if text is not None:
            text.lines(complete, here > 0)
        length = np.diff(ends, prepend=-1) - 1
        blank = np.flatnonzero((length == 0) | ((length == 1) & after_cr))
        blanks.extend((blank + lines_before + 1).tolist())
        lines_before += len(ends)
    if text is not None:
        text.end(carry)
    return tuple(blanks), lines_before + (1 if carry else 0), 0 < crlf < lines_before


def _scan_text_chunks(
    chunks: Iterable[str], text: TextDigest | None = None
) -> tuple[tuple[int, ...], int, bool]:
    """``_scan_lines`` of decoded text (UTF-16 files), one regex pass per chunk."""
    blanks: list[int] = []
    lines_before = crlf = 0
    carry = ""
    for chunk in chunks:
        buf = carry + chunk
        end = buf.rfind("\n") + 1
        complete, carry = buf[:end], buf[end:]
        if text is not None and complete:
            text.lines(complete)
        crlf += complete.count("\r\n")
        last, counted = 0, lines_before
        for m in _BLANK_TEXT.finditer(complete):
            if m.start() >= len(complete):
                break
            counted += complete.count("\n", last, m.start())
            last = m.start()
            blanks.append(counted + 1)
        lines_before += complete.count("\n")
    if text is not None:
        text.end(carry)
    return tuple(blanks), lines_before + (1 if carry else 0), 0 < crlf < lines_before


def byte_chunks(path: Path) -> Iterator[bytes]:
    """The decompressed content in 1 MiB pieces, as bytes (UTF-8: newlines are plain ASCII
    bytes there)."""
    with open_bytes(path) as fh:
        yield from iter(lambda: fh.read(1 << 20), b"")


def decoded_utf16(chunks: Iterable[bytes]) -> Iterator[str]:
    """The decompressed content of a UTF-16 file in 1 MiB pieces, decoded."""
    decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
    for chunk in chunks:
        yield decoder.decode(chunk)


def open_bytes(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed when it is gzip: by ISA-L (``isal``), the same bytes and
    errors as the standard library's gzip in about a quarter of its time (a CSV.gz is read to its
    end before it is imported, benchmarks/README.md)."""
    if is_gzip(path):
        return cast(io.BufferedIOBase, igzip.open(path, "rb"))
    return open(path, "rb")


def one_lf(chunks: Iterable[AnyStr], crlf: AnyStr, lf: AnyStr) -> Iterator[AnyStr]:
    """``chunks`` with every CRLF as LF; a CR ending a chunk waits for the next one (it may be the
    first half of a CRLF)."""
    carry = crlf[:0]
    for chunk in chunks:
        buf = carry + chunk
        cut = len(buf) - 1 if buf.endswith(crlf[:1]) else len(buf)
        fixed, carry = buf[:cut].replace(crlf, lf), buf[cut:]
        yield fixed
    yield carry


@lru_cache(maxsize=32)
def line_scan(
    path: Path, encoding: str, checksum: str
) -> tuple[tuple[int, ...], int, bool, str, str]:
    """``_scan_lines`` of a file, the sha256 of its decompressed content (``checksum``, the
    sha256 of its bytes, for a file that is not gzip) and that of its text (text_digest),
    remembered by path and checksum: a billing run looks at each report twice (its parameters
    check recognises the format, then the import reads it), and the scan decompresses the whole
    file, seconds per million lines of a CSV.gz. Both sha256 are taken in the same pass
    (billed_reports); the text's in a pass of its own only for a file whose text differs from its
    content after its first lines (CRLF lines appended, no line end after the last line)."""
    text = TextDigest()
    if is_gzip(path):
        hashed = hashlib.sha256()
        scan = _scan_lines(path, encoding, hashed, text)
        content = hashed.hexdigest()
    else:
        scan, content = _scan_lines(path, encoding, text=text), checksum
    if text.late:
        return (*scan, content, text_sha256(one_lf(byte_chunks(path), b"\r\n", b"\n")))
    return (*scan, content, text.hexdigest() or content)


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")
