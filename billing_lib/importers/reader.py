"""Opening vendor files: CSV, CSV.gz, zip and Parquet, with their header and encoding checked.

The checks here catch what a person would otherwise discover as garbage totals: an empty file, a
semicolon-separated re-save from a spreadsheet, a file in a legacy code page.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import count
from pathlib import Path
from typing import IO, cast

import pyarrow.parquet as pq
from isal import igzip_lib
from xlsxwriter.utility import xl_col_to_name

from billing_lib.errors import InputError, Problem
from billing_lib.importers.line_scan import (
    byte_chunks,
    decoded_utf16,
    line_scan,
    one_lf,
    open_bytes,
)
from billing_lib.importers.report_names import (
    MAX_ZIP_DEPTH,
    is_workbook,
    workbooks_error,
    zip_members,
)
from billing_lib.importers.separator_hint import hint_length, refuse_hint, without_hint
from billing_lib.run_files import sha256_of
from billing_lib.scratch import scratch_when_needed
from billing_lib.sql import ql

_HEADER_BYTES = 1 << 20
#: What reading a file to its end raises when it cannot be: unreadable, not gzip, cut short
#: (EOFError), or a damaged deflate stream (``zlib.error``, ISA-L's ``IsalError``).
#: (isal's stub declares ``IsalError`` an instance; it is the class the library raises.)
READ_ERRORS = (OSError, EOFError, zlib.error, cast(type[Exception], igzip_lib.IsalError))


@dataclass(frozen=True)
class SourceFile:
    """One readable table: its display name, path on disk, kind and header columns."""

    name: str
    path: Path
    kind: str  # "csv" or "parquet"
    header: tuple[str, ...]
    encoding: str  # for DuckDB's read_csv
    checksum: str  # sha256 of the bytes as the vendor delivered them
    #: Physical line numbers (1-based) of blank lines, which DuckDB skips but a spreadsheet shows.
    blank_lines: tuple[int, ...] = ()
    #: Physical lines in the (decompressed) text, for telling blank lines from multi-line records.
    physical_lines: int = 0
    #: The vendor's file when ``path`` is a copy with its line endings made one kind (see
    #: ``_one_line_ending``); ``path`` itself otherwise.
    original: Path | None = None
    #: Field separator: a comma, or a tab for tab-separated exports (VMware Usage Meter).
    delimiter: str = ","
    #: The header's columns that have no name in the file (a comma ending every line, as a
    #: spreadsheet leaves), under the names ``unnamed_column`` gives them: read only to check
    #: they hold nothing (engine).
    unnamed: tuple[str, ...] = ()
    #: sha256 of the content once decompressed: of a CSV.gz its CSV text, otherwise ``checksum``
    #: (the same report gzipped again, at another level or not at all, has the same content)
    content: str = ""
    #: sha256 of a CSV's text whatever its encoding and line ends (``text_digest``: the same
    #: report saved again as UTF-16, with a BOM or CRLF line ends); ``content`` for a file whose
    #: content is its text as it is (UTF-8 without BOM, LF lines) and for Parquet
    text: str = ""
    #: Header columns whose name repeats an earlier one's, ignoring case, as (1-based position of
    #: the first, of the repeat, the name as the file writes the repeat): read under
    #: ``_unique``'s names (Cost, Cost_2), so the engine can refuse a repeated column it reads.
    repeated: tuple[tuple[int, int, str], ...] = ()

    @property
    def file_name(self) -> str:
        """The file's own name, without the folders it was given from; a zip member's path in
        its zip (``october.zip!ams/x.tsv``: ``ams/x.tsv``, a folder per site), not the zip's."""
        return file_name_of(self.name)

    @property
    def first_data_row(self) -> int:
        """Row number of the first record: spreadsheet numbering for CSV (header is row 1)."""
        return 2 if self.kind == "csv" else 1


def file_name_of(name: str) -> str:
    """The own name of the file a ``SourceFile.name`` names (``SourceFile.file_name``)."""
    at = name.lower().rfind(".zip!")
    return name[at + 5 :] if at >= 0 else Path(name).name


def blank_records(src: SourceFile) -> tuple[int, ...]:
    """Spreadsheet rows of blank records, read record by record with the csv module. Only used
    for the rare file that has both blank lines and quoted values spanning lines."""
    rows = []
    with open_bytes(src.path) as fh:
        text = io.TextIOWrapper(
            cast(IO[bytes], fh),  # a gzip or plain binary file
            encoding="utf-8-sig" if src.encoding == "utf-8" else src.encoding,
            newline="",
        )
        for number, record in enumerate(csv.reader(text, delimiter=src.delimiter), start=1):
            if not record:
                rows.append(number)
    return tuple(rows)


def unnamed_column(position: int) -> str:
    """The name a header column without one is read under (``position``: 1-based), which no
    vendor column has and which SQL can quote."""
    return f"(unnamed column {position})"


def _csv_header(
    path: Path, name: str
) -> tuple[tuple[str, ...], str, str, tuple[tuple[int, int, str], ...]]:
    """Header columns, encoding, field separator (comma, or tab for a tab-separated export) and
    repeated columns (``SourceFile.repeated``) of a CSV, or an InputError saying what is wrong
    with it. A column without a name gets ``unnamed_column``'s."""
    try:
        with open_bytes(path) as fh:
            head = fh.read(_HEADER_BYTES)
    except READ_ERRORS as exc:
        raise InputError(
            f"{name}: cannot be read as {'gzip' if name.endswith('.gz') else 'a file'}: {exc}"
        ) from exc
    if not head.strip():
        raise InputError(
            f"{name}: the file is empty; expected a header row with the vendor's column names"
        )
    _check_not_binary(head, name)
    text, encoding = _decode_head(head, name)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    header = _header_fields(first_line, ",", name)
    delimiter = ","
    if sum(1 for h in header if h.strip()) <= 1 and "\t" in first_line:
        # tab-separated text (VMware Usage Meter's export): unambiguous, read as it is
        header, delimiter = _header_fields(first_line, "\t", name), "\t"
    header = [h.strip().lstrip("\ufeff") for h in header]
    if sum(1 for h in header if h) <= 1:  # a trailing separator adds a column without a name
        for delim, label in ((";", "semicolons"), ("|", "pipes")):
            if delim in first_line:
                raise InputError(
                    f"{name}: the header is separated by {label}, not commas",
                    [
                        Problem(
                            name,
                            1,
                            None,
                            first_line[:120],
                            "comma-separated columns as the vendor exports them (a spreadsheet "
                            "re-save may have changed the delimiter)",
                        )
                    ],
                )
    if not any(header):
        raise InputError(f"{name}: the first row is blank; expected the vendor's column names")
    named = [h or unnamed_column(i) for i, h in enumerate(header, 1)]
    return tuple(_unique(named)), encoding, delimiter, _repeats(named)


def _header_fields(first_line: str, delimiter: str, name: str) -> list[str]:
    """The column names of the first line of the CSV ``name``, split at ``delimiter``, or an
    InputError naming row 1 when one is longer than the csv module reads (128 KiB): a portal's
    page on one line saved as the report, a header whose quote never closes. Its error was a
    traceback."""
    try:
        return next(csv.reader([first_line], delimiter=delimiter), [])
    except csv.Error as exc:
        raise InputError(
            f"{name}: the first row is no header of column names ({exc}: "
            f"{len(first_line):,} characters, a quote never closed or no CSV text)",
            [
                Problem(
                    name,
                    1,
                    None,
                    first_line[:120],
                    "the vendor's column names, separated by commas; download the report again",
                )
            ],
        ) from exc


#: The first bytes of the containers the import reads by their name, and the ending that name
#: needs: an AWS ``-00001.csv.gz`` saved without its ``.gz`` was refused as UTF-16 text.
_CONTAINERS = (
    (b"\x1f\x8b", "gzip-compressed", ".csv.gz"),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"PK\x03\x04", "a zip archive", ".zip"),
)


def _check_not_binary(head: bytes, name: str) -> None:
    """InputError when the first bytes of the text file ``name`` are those of a container the
    import reads under another ending (``_CONTAINERS``), naming what it is and the ending; or of
    a tar archive (``tar czf``), which it does not open (refused as UTF-16 text before: the NUL
    bytes of its header)."""
    if head[257:262] == b"ustar":
        raise InputError(
            f"{name}: a tar archive (its bytes say so), which the import does not open; unpack "
            "it and give the reports it holds, or a zip of them",
            [Problem(name, None, None, None, "a report as CSV, CSV.gz, zip or Parquet")],
        )
    for magic, what, ending in _CONTAINERS:
        if head.startswith(magic):
            raise InputError(
                f"{name}: {what} (its first bytes say so), under a name the import reads as "
                f"CSV text; give it its own ending ({ending}), as the vendor delivered it",
                [Problem(name, None, None, None, f"a file named *{ending}")],
            )


def _repeats(names: list[str]) -> tuple[tuple[int, int, str], ...]:
    """(position of the first, position of the repeat, the repeat's name) of each column whose
    name repeats an earlier one's ignoring case (positions 1-based)."""
    first: dict[str, int] = {}
    out = []
    for position, n in enumerate(names, 1):
        at = first.setdefault(n.casefold(), position)
        if at != position:
            out.append((at, position, n))
    return tuple(out)


def _decode_head(head: bytes, name: str) -> tuple[str, str]:
    """The text of a CSV's first bytes and its encoding (UTF-8, or UTF-16 LE with BOM), or an
    InputError naming the row where it is not text the importer reads."""
    if head.startswith(codecs.BOM_UTF16_BE):
        raise InputError(
            f"{name}: UTF-16 big-endian text, which the importer does not read",
            [
                Problem(
                    name,
                    1,
                    None,
                    None,
                    "UTF-8 (with or without BOM) or UTF-16 little-endian with "
                    "BOM (Excel's 'Unicode text'); re-export the report as UTF-8 CSV",
                )
            ],
        )
    if head.startswith(codecs.BOM_UTF16_LE):
        return head.decode("utf-16", errors="replace"), "utf-16"
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise InputError(
            f"{name}: contains NUL bytes: UTF-16 text without a byte-order mark, or not a text "
            f"file",
            [Problem(name, line, None, None, "UTF-8 CSV text as the vendor exports it")],
        )
    try:
        return head.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the end of the sample is fine.
        if exc.start < len(head) - 4:
            row, column = _row_and_column_at_end(head[: exc.start].decode("utf-8-sig"))
            raise InputError(
                f"{name}: not UTF-8 text",
                [
                    Problem(
                        name,
                        row,
                        column,
                        repr(head[exc.start : exc.start + 4]),
                        "UTF-8 text (with or without BOM); re-export the report as UTF-8",
                    )
                ],
            ) from exc
        return head[: exc.start].decode("utf-8-sig"), "utf-8"


def _row_and_column_at_end(text: str) -> tuple[int, str | None]:
    """The spreadsheet row (header = 1, blank lines counted) and the column in which the CSV
    ``text`` ends: where the byte after it stands (a byte that is not UTF-8, as Excel's
    Windows-1252 "CSV (Comma delimited)" writes an accent). Read as CSV, so a quoted value
    spanning lines is one row (counting line breaks named a later row); the column by its
    header name, or by its place in the header row itself. Commas, or tabs for a header of tabs
    alone (VMware Usage Meter); no column where the text is no CSV the csv module reads."""
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return text.count("\n") + 1, None
    if not records or text.endswith(("\n", "\r")):
        records.append([""])  # the byte begins a record of its own
    row, place = len(records), max(len(records[-1]), 1)
    header = [h.strip().lstrip("\ufeff") for h in records[0]]
    if row > 1 and place <= len(header) and header[place - 1]:
        return row, header[place - 1]
    return row, f"column {place} ({xl_col_to_name(place - 1)})"


def _unique(names: list[str]) -> list[str]:
    """Column names made unique the way a spreadsheet user would read them: a repeated name gets
    a suffix (Cost, Cost_2), so that every column can still be addressed. Repeated ignoring case:
    DuckDB's names are, and a legacy CUR has resourceTags/user:Name beside resourceTags/user:name
    (AWS tag keys are case-sensitive; ``spec.tags_sql`` reads the second as the same key)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        key = n.casefold()
        seen[key] = seen.get(key, 0) + 1
        out.append(n if seen[key] == 1 else f"{n}_{seen[key]}")
    return out


def _one_line_ending(src: SourceFile, folder: Path) -> SourceFile:
    """``src`` read from a copy in ``folder`` whose CRLF line ends are LF, for a file that mixes
    both (a report whose last lines were appended by another tool): Python's csv module reads such
    a file, DuckDB's strict CSV reader does not. Values spanning lines keep their line breaks, as
    LF. Row numbers and the checksum stay those of the vendor's file."""
    target = folder / f"{len(list(folder.iterdir())):04d}-lf.csv"
    with open(target, "wb") as out:
        if src.encoding == "utf-16":
            encoder = codecs.getincrementalencoder("utf-16")()
            for text in one_lf(decoded_utf16(byte_chunks(src.path)), "\r\n", "\n"):
                out.write(encoder.encode(text))
            out.write(encoder.encode("", final=True))
        else:
            for data in one_lf(byte_chunks(src.path), b"\r\n", b"\n"):
                out.write(data)
    return replace(src, path=target, original=src.path)


def _describe(path: Path, name: str, scratch: Callable[[], Path]) -> SourceFile:
    _refuse_workbook(path, name)
    lower = path.name.lower()
    if lower.endswith(".parquet"):
        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise InputError(f"{name}: not a readable Parquet file: {exc}") from exc
        unnamed = tuple(n for n in schema.names if not n.strip())
        if unnamed:
            _check_parquet_unnamed(path, name, schema.names)
        checksum = sha256_of(path)
        return SourceFile(
            name,
            path,
            "parquet",
            tuple(schema.names),
            "utf-8",
            checksum,
            unnamed=unnamed,
            content=checksum,
            text=checksum,
            repeated=_repeats(list(schema.names)),
        )
    hinted = _without_hint(path, name, scratch)
    if hinted is not None:
        return hinted
    header, encoding, delimiter, repeated = _csv_header(path, name)
    checksum = sha256_of(path)
    try:
        blanks, physical, mixed, content, text = line_scan(path, encoding, checksum)
    except READ_ERRORS as exc:
        raise InputError(f"{name}: cannot be read to the end: {exc}") from exc
    unnamed = tuple(h for i, h in enumerate(header, 1) if h == unnamed_column(i))
    src = SourceFile(
        name,
        path,
        "csv",
        header,
        encoding,
        checksum,
        blanks,
        physical,
        delimiter=delimiter,
        unnamed=unnamed,
        content=content,
        text=text,
        repeated=repeated,
    )
    if mixed:
        return _one_line_ending(src, scratch())
    return src


def _without_hint(path: Path, name: str, scratch: Callable[[], Path]) -> SourceFile | None:
    """The CSV ``path`` (shown as ``name``) read from a copy without its first line, Excel's
    separator hint naming the separator its header has (``separator_hint``), its checksum that of
    the file given; None for a CSV without the hint (or unreadable: ``_csv_header`` says why)."""
    try:
        with open_bytes(path) as fh:
            head = fh.read(1024)
    except READ_ERRORS:
        return None
    found = hint_length(head, name)
    if found is None:
        return None
    bom, skip, hint = found
    folder = scratch()
    copy = without_hint(
        byte_chunks(path), bom, skip, folder / f"{len(list(folder.iterdir())):04d}-nohint.csv"
    )
    src = _describe(copy, name, scratch)
    if src.delimiter != hint:
        refuse_hint(name, hint, src.delimiter)
    return replace(src, checksum=sha256_of(path), original=path)


def _refuse_workbook(path: Path, name: str) -> None:
    """InputError when the file ``path`` (shown as ``name``) is a spreadsheet workbook by its
    name or bytes (``report_names.is_workbook``): given to the import by name or saved under a
    report's ending, it is refused as the workbook it is, as in a reports folder."""
    if is_workbook(path):
        raise workbooks_error([name])


def _check_parquet_unnamed(path: Path, name: str, names: list[str]) -> None:
    """Refuse a Parquet file a column without a name of which holds a value (no format reads it:
    the value would be lost); one that holds nothing is ignored. Reads only those columns."""
    for position, column in enumerate(names, 1):
        if column.strip():
            continue
        try:
            values = pq.read_table(path, columns=[column]).column(0)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise InputError(f"{name}: not a readable Parquet file: {exc}") from exc
        if values.null_count < len(values):
            raise InputError(
                f"{name}: column {position} of the Parquet file has no name and holds values; "
                "a column without a name is not read, so its values would be lost. Export the "
                "report again with the vendor's column names",
                [Problem(name, None, f"column {position}", "", "a column name")],
            )


@contextmanager
def open_sources(path: Path) -> Iterator[list[SourceFile]]:
    """The tables inside ``path``: itself, or each CSV/Parquet member of a zip (extracted to a
    temporary folder, made only for a zip or a CSV with mixed line endings, removed afterwards)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected a report file")
    if path.stat().st_size == 0:
        raise InputError(
            f"{path}: the file is empty; expected a header row with the vendor's column names"
        )
    with scratch_when_needed("src") as scratch:
        yield _sources(path, scratch)


def _sources(path: Path, scratch: Callable[[], Path]) -> list[SourceFile]:
    """The tables of ``open_sources``; zip members and line-ending copies go into the folder
    ``scratch()``."""
    if not path.name.lower().endswith(".zip"):
        return [_describe(path, str(path), scratch)]
    members_dir = scratch() / "zip"
    members_dir.mkdir()
    return _zip_sources(path, str(path), members_dir, scratch, count())


def _zip_sources(
    path: Path,
    name: str,
    members_dir: Path,
    scratch: Callable[[], Path],
    numbers: Iterator[int],
    depth: int = 0,
) -> list[SourceFile]:
    """The tables of the zip ``path`` (shown as ``name``), its members extracted into
    ``members_dir``; a zip among them (a zipped CUR in the month's zip) is read the same way, as
    ``name!member!inner``, down to ``MAX_ZIP_DEPTH`` zips in zips."""
    _refuse_workbook(path, name)
    try:
        with zipfile.ZipFile(path) as zf:
            members = zip_members(zf, Path(name))
            if not members:
                raise InputError(
                    f"{name}: the zip holds no .csv, .csv.gz, .tsv, .parquet or .zip file"
                )
            sources = []
            for member in members:
                shown = f"{name}!{member}"
                target = members_dir / f"{next(numbers):04d}-{Path(member).name}"
                target.write_bytes(_member_bytes(zf, member, shown))
                if not member.lower().endswith(".zip"):
                    sources.append(_describe(target, shown, scratch))
                elif depth + 1 >= MAX_ZIP_DEPTH:
                    raise InputError(
                        f"{shown}: a zip in a zip in a zip; unzip the outer zips and give the "
                        "reports or the zip holding them"
                    )
                else:
                    sources += _zip_sources(target, shown, members_dir, scratch, numbers, depth + 1)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{name}: not a readable zip archive: {exc}") from exc
    return sources


def _member_bytes(zf: zipfile.ZipFile, member: str, name: str) -> bytes:
    """The decompressed bytes of ``member``, or an InputError naming it when its data is damaged
    (a wrong CRC, a broken deflate stream, cut short)."""
    try:
        return zf.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InputError(f"{name}: cannot be read from the zip archive: {exc}") from exc


def duckdb_source(
    src: SourceFile, null_values: list[str], rejects: str | None = None, row_numbers: bool = False
) -> str:
    """A DuckDB table function reading ``src`` as text (CSV) or as stored (Parquet).

    CSV: every column as VARCHAR (typing is the engine's job, so one bad value is reported, not
    guessed at), the file's separator (comma or tab), double quotes, the format's null markers, no
    sniffing. With ``rejects``, malformed rows (ragged, bad quotes, bad bytes) are set aside in that
    table, all of them, to be reported together instead of stopping at the first. Parquet with
    ``row_numbers``: plus ``file_row_number``, each record's 0-based place in the file."""
    path = ql(src.path)
    if src.kind == "parquet":
        return (
            f"read_parquet({path}, file_row_number = true)"
            if row_numbers
            else f"read_parquet({path})"
        )
    nulls = ", ".join(ql(v) for v in null_values)
    cols = ", ".join(f"{ql(c)}: 'VARCHAR'" for c in src.header)
    extra = (
        f", store_rejects=true, rejects_table={ql(rejects)}, rejects_scan={ql(rejects + '_scan')}"
        if rejects
        else ""
    )
    return (
        f"read_csv({path}, header=true, all_varchar=true, delim={ql(src.delimiter)}, "
        f"quote='\"', escape='\"', nullstr=[{nulls}], encoding={ql(src.encoding)}, "
        f"strict_mode=true, auto_detect=false, columns={{{cols}}}{extra})"
    )
