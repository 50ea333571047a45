"""The line scan behind spreadsheet row numbers (blank lines, physical lines, mixed line ends)
agrees with splitting the text line by line, whatever the chunks and however the file is stored;
the sha256 of the text it takes in the same pass (importers/text_digest.py) is that of the text
decoded, without BOM, in LF lines, whatever the encoding, line ends and chunks."""

import codecs
import gzip
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_lib.importers.line_scan import (
    _scan_byte_chunks,
    _scan_lines,
    _scan_text_chunks,
    one_lf,
)
from billing_lib.importers.reader import open_sources
from billing_lib.importers.text_digest import TextDigest, text_sha256

PIECES = [b"a", b",", b'"', b"\n", b"\r", b"\r\n", "é".encode()]


def by_lines(text: bytes) -> tuple[tuple[int, ...], int, bool]:
    """What the scan must find, one line at a time: blank lines (empty, or a lone CR before the
    LF) by 1-based number, physical lines (a last line without LF counts), and whether some but
    not all LFs end a CRLF."""
    *ended, last = text.split(b"\n")
    blanks = tuple(n for n, line in enumerate(ended, start=1) if line in (b"", b"\r"))
    crlf = sum(line.endswith(b"\r") for line in ended)
    return blanks, len(ended) + (1 if last else 0), 0 < crlf < len(ended)


def chunked(text, sizes: list[int]) -> list:
    chunks, at = [], 0
    for size in sizes:
        chunks.append(text[at : at + size])
        at += size
    return [*chunks, text[at:]]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=60),
    sizes=st.lists(st.integers(0, 9), max_size=12),
)
def test_the_scan_of_any_chunks_finds_what_splitting_into_lines_finds(pieces, sizes):
    text = b"".join(pieces)
    assert _scan_byte_chunks(chunked(text, sizes)) == by_lines(text)
    decoded = text.decode("utf-8")  # a UTF-16 file's scan: the same text, decoded
    assert _scan_text_chunks(chunked(decoded, sizes)) == by_lines(text)


def test_a_gzipped_file_scans_like_its_text(tmp_path):
    text = b"a,b\r\n1,2\r\n\r\n3,4\n\n" * 40_000 + b"5,6"  # 5.2 MB: several chunks
    plain, packed = tmp_path / "r.csv", tmp_path / "r.csv.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text, mtime=0))
    expected = by_lines(text)
    assert expected[1] == 200_001 and expected[2] is True and len(expected[0]) == 80_000
    assert _scan_lines(plain, "utf-8") == _scan_lines(packed, "utf-8") == expected


def the_text(data: bytes) -> str:
    """What the text's sha256 must be of: UTF-8 without BOM, CRLF as LF, a last line ended."""
    text = data.removeprefix(codecs.BOM_UTF8).replace(b"\r\n", b"\n")
    return hashlib.sha256(text if text.endswith(b"\n") or not text else text + b"\n").hexdigest()


def digest_of(data: bytes, chunks: list, utf16: bool = False) -> str:
    """The text's sha256 as a scan of ``chunks`` (``data``, or ``data`` decoded from UTF-16)
    takes it: in the scan's pass, else a pass of its own, else the bytes' own sha256."""
    text = TextDigest()
    (_scan_text_chunks if utf16 else _scan_byte_chunks)(chunks, text)
    if text.late:
        return text_sha256(one_lf(chunks, b"\r\n", b"\n"))
    return text.hexdigest() or hashlib.sha256(data).hexdigest()


@settings(max_examples=300, deadline=None)
@given(
    bom=st.booleans(),
    pieces=st.lists(
        st.sampled_from([b"a", b",", b"\n", b"\r\n", "é".encode()]), min_size=1, max_size=60
    ),
    sizes=st.lists(st.integers(0, 9), max_size=12),
)
def test_the_text_s_sha256_is_that_of_the_text_whatever_the_encoding_and_line_ends(
    bom, pieces, sizes
):
    data = (codecs.BOM_UTF8 if bom else b"") + b"".join(pieces)
    assert digest_of(data, chunked(data, sizes)) == the_text(data)
    decoded = data.decode("utf-8-sig")  # the same text saved as UTF-16 (its decoder drops the BOM)
    assert digest_of(data, chunked(decoded, sizes), utf16=True) == the_text(data)


def test_a_report_saved_again_has_the_text_of_the_original(tmp_path):
    """UTF-16, a BOM, CRLF line ends, no line end after the last line, gzipped or not: the same
    text's sha256, that of the original's bytes; nothing hashed twice for the original."""
    text = "a,b\n1,é\n" * 300_000  # 3 MB: several chunks
    original = text.encode()
    saved = {
        "utf16.csv": text.encode("utf-16"),
        "bom.csv": codecs.BOM_UTF8 + original,
        "crlf.csv.gz": gzip.compress(text.replace("\n", "\r\n").encode(), mtime=0),
        "crlf-at-the-end.csv": original + b"c,d\r\n",
        "no-last-line-end.csv": original.removesuffix(b"\n"),
    }
    for name, data in {"original.csv": original, **saved}.items():
        (tmp_path / name).write_bytes(data)
        with open_sources(tmp_path / name) as (src,):
            if name == "crlf-at-the-end.csv":
                assert src.text == hashlib.sha256(original + b"c,d\n").hexdigest()
            else:
                assert src.text == hashlib.sha256(original).hexdigest(), name
            assert (src.text == src.content) is (name == "original.csv")
