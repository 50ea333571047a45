"""The line scan behind spreadsheet row numbers (blank lines, physical lines, mixed line ends)
agrees with splitting the text line by line, whatever the chunks and however the file is stored."""

import gzip

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_lib.importers.reader import _scan_byte_chunks, _scan_lines, _scan_text_chunks

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
