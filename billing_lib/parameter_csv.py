"""Reading the CSV files in ``parameters/`` (accounts.csv, fx_rates.csv): UTF-8 rows with their
spreadsheet row numbers, every column known and named once, no value beyond the header's columns,
and a header saved with semicolons or tabs refused rather than guessed."""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from billing_lib.errors import ParameterError
from billing_lib.parameter_cells import check_no_tab
from billing_lib.parameter_paths import check_not_a_folder
from billing_lib.run_files import NotUtf8Error, utf8_text


def csv_rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str | None]]]:
    """The rows of a parameters CSV file (UTF-8, with or without BOM) with their spreadsheet row
    number (header = 1), values stripped and empty ones None; a ParameterError naming the file
    when a ``required`` column is missing (``optional``: the other columns it may have)."""
    check_not_a_folder(path)
    try:
        text = utf8_text(path)
    except NotUtf8Error as exc:
        raise ParameterError(
            path,
            f"row {exc.line}",
            f"expected UTF-8 text; found the byte 0x{exc.byte:02x} (save the file as CSV UTF-8)",
        ) from None
    if not text.strip():  # a spreadsheet's export gone wrong: "found None" named no header
        raise ParameterError(
            path,
            "row 1",
            "the file is empty; expected a header row naming its columns, "
            f"{','.join((*required, *optional))} (the example in the project's parameters/ "
            "folder shows them), then a row per entry",
        )
    records = _numbered_records(text)
    header_row, fieldnames = next(records, (1, []))
    missing = [c for c in required if c not in fieldnames]
    separator = _other_separator(fieldnames)
    if missing and separator:
        raise ParameterError(
            path,
            f"row {header_row}",
            f"expected comma-separated columns {', '.join(required)}; the header is separated by "
            f"{separator} (a spreadsheet saves CSV so in some languages): save it as CSV with "
            "commas, or edit it in a text editor",
        )
    if missing:
        also = f" (+ {', '.join(optional)})" if optional else ""
        raise ParameterError(
            path,
            None,
            f"expected the columns {', '.join(required)}{also}; missing {missing}; "
            f"found {fieldnames}",
        )
    header = [h for h in fieldnames if h]
    _check_known_columns(path, header, (*required, *optional))
    for n, record in records:
        raw = _as_dict(fieldnames, record)
        _check_no_extra_cells(path, n, header, raw)
        check_no_tab(path, n, raw)
        yield n, {k: (v.strip() if v and v.strip() else None) for k, v in raw.items() if k}


def _numbered_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """The records of ``text`` with their spreadsheet row, but blank lines and comment lines
    (``is_comment``): a blank line is a row (an
    empty one in a spreadsheet, a line in a text editor), a value spanning lines within quotes
    is one. ``csv.DictReader`` skips blank lines uncounted, so every row below one was named one
    row too low."""
    for n, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if record and not is_comment(record):
            yield n, record


def is_comment(record: list[str]) -> bool:
    """Whether a CSV record is a comment line, its first cell starting with ``#`` (a heading
    typed by hand, a row put out of use): skipped, but still a row. It stopped the run with an
    empty ``account_id`` the analyst never meant to fill."""
    return bool(record) and record[0].lstrip().startswith("#")


def _as_dict(fieldnames: list[str], record: list[str]) -> dict[str | None, Any]:
    """``record`` by column as ``csv.DictReader`` gives it: cells beyond the header under None,
    cells missing at the end None."""
    raw: dict[str | None, Any] = dict(zip(fieldnames, record, strict=False))
    for name in fieldnames[len(record) :]:
        raw.setdefault(name, None)
    if len(record) > len(fieldnames):
        raw[None] = record[len(fieldnames) :]
    return raw


def _check_known_columns(path: Path, header: list[str], known: tuple[str, ...]) -> None:
    """ParameterError for a header cell that is no column the file has, or one given twice: its
    values were not read (or the last one only) without a word, so an account's end under
    ``valid_until`` left its mapping open and its usage after the end billed to the customer it
    had left."""
    seen: set[str] = set()
    for name in header:
        if name in seen:
            what = f"{name!r} is given twice"
        elif name not in known:
            close = [k for k in known if _column_key(k) == _column_key(name)]
            close = close or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            what = f"{name!r} is not one the run reads" + (
                f" (did you mean {close[0]!r}?)" if close else ""
            )
        else:
            seen.add(name)
            continue
        raise ParameterError(
            path,
            "row 1",
            f"the column {what}; expected the columns {', '.join(known)}, each once (a "
            "column of another name is not read: rename it, or put what it holds into a "
            "column the file has)",
        )


def _column_key(name: str) -> str:
    """A column name as a person may write it (``Valid To``, ``valid-to``) compared."""
    return "_".join(name.replace("-", " ").split()).lower()


def _check_no_extra_cells(
    path: Path, row: int, header: list[str], raw: dict[str | None, Any]
) -> None:
    """ParameterError for a row holding a value in a cell the header names no column for (more
    cells than the header, or under a header cell left empty): it would be dropped without a
    word, and it is most often a value holding an unquoted comma (``1,0850`` for a rate, a
    ``source`` or ``note`` with a comma) whose other part landed in the wrong column. Empty extra
    cells (the trailing commas a spreadsheet writes) are fine."""
    extra = [
        v.strip()
        for k, value in raw.items()
        if not k
        for v in (value if isinstance(value, list) else [value])
        if v and v.strip()
    ]
    if extra:
        raise ParameterError(
            path,
            f"row {row}",
            f"expected at most {len(header)} values, one per column ({', '.join(header)}); "
            f"found more, {', '.join(repr(v) for v in extra)} beyond them. A value holding a "
            'comma must be in double quotes ("ECB, inverted"), and a decimal number written '
            "with a point (1.0850)",
        )


def _other_separator(header: Sequence[str]) -> str | None:
    """The separator, in words, of a header that read as comma-separated is one field holding
    semicolons or tabs (Excel in a language whose decimal mark is a comma saves CSV with
    semicolons); None otherwise. Refused with that reason rather than guessed, since such a
    file's numbers then have decimal commas too."""
    if len(header) != 1:
        return None
    for mark, name in ((";", "semicolons"), ("\t", "tabs")):
        if mark in header[0]:
            return name
    return None
