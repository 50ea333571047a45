"""Errors a user can cause, each naming where the problem is and what was expected.

Problems found while reading a file are collected (like beancount's error records) and raised
together, so one run shows every bad row and column instead of stopping at the first.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass
from pathlib import Path

from billing_lib.entry_lines import Place, place_text, places

MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is and what was expected there."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    #: the line of a YAML parameters file the entry (``column``) is written on, where known
    line: int | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        found = "" if self.value is None else f": found {self.value!r}"
        return f"{', '.join(where)}{found}; expected {self.expected}"


class BillingError(Exception):
    """Base of every error the workbench raises on purpose."""


class InputError(BillingError):
    """A vendor report cannot be imported as it is."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        lines = [message]
        for problem in self.problems[:MAX_PROBLEMS_SHOWN]:
            lines.append(f"  - {problem}")
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more")
        super().__init__("\n".join(lines))


class ParameterError(BillingError):
    """A parameters file is missing, malformed or inconsistent."""

    def __init__(
        self,
        file: str | Path,
        entry: str | None,
        message: str,
        problems: list[Problem] | None = None,
    ) -> None:
        self.file = str(file)
        self.entry = entry
        #: what was expected, without the file and entry (``cli_runs`` names an option instead)
        self.message = message
        #: every problem found, when the file was validated as a whole (parameter_files)
        self.problems = list(problems or [])
        found = places(file, entry)
        #: where ``entry`` is written in its YAML file (``entry_lines``): the line (the first of
        #: several) and, on a line of several entries, the column; None where not known
        self.line, self.column = _line_and_column(entry, found)
        shown = place_text(found)
        where = self.file + (f", {shown}" if shown else "") + (f", entry {entry}" if entry else "")
        super().__init__(f"{where}: {message}")


_LINE_ENTRY = re.compile(r"line (\d+)(?:, column (\d+))?")


def _line_and_column(entry: str | None, found: list[Place]) -> tuple[int | None, int | None]:
    """The line and column of an entry found in its file, or of an entry that is a line
    already (``line 12, column 3``: YAML's own errors)."""
    if found:
        return found[0].line, found[0].column if len(found) == 1 and found[0].in_flow else None
    named = _LINE_ENTRY.fullmatch(entry or "")
    if named is None:
        return None, None
    return int(named[1]), int(named[2]) if named[2] else None


class ControlTotalError(BillingError):
    """Totals before and after a step differ: money would be lost or invented."""


class RunError(BillingError):
    """A billing run cannot start or be published as asked (e.g. its period is already
    finalised)."""


#: A failed write: errno values and the words DuckDB and the OS give for them, what it means, and
#: the way out for an output file and for a file of the temporary directory (the run's store,
#: its rated lines until published: ``TMPDIR``).
WRITE_FAULTS = (
    (
        (errno.ENOSPC, errno.EDQUOT),
        ("No space left", "Disk quota exceeded", "disk is full"),
        "the disk is full",
        "free space on that file system, or give the run another output folder (--output)",
        "free space on that file system, or set TMPDIR to a folder on one with room (a month of"
        " ten million lines needs about 3 GB there)",
    ),
    (
        (errno.EFBIG,),
        ("File too large",),
        "the file is larger than this process may write (a file-size limit: see `ulimit -f`)",
        "raise the limit for the user or service running the billing, or give the run another"
        " output folder (--output)",
        "raise the limit for the user or service running the billing",
    ),
    (
        (errno.EROFS, errno.EACCES, errno.EPERM),
        ("Read-only file system", "Permission denied", "readonly", "read-only"),
        "the folder cannot be written (read-only or no permission)",
        "make it writable for this user, or give the run another output folder (--output)",
        "make it writable for this user, or set TMPDIR to a folder that is",
    ),
)


def write_fault(exc: BaseException) -> tuple[str, str, str] | None:
    """(what, way out for an output file, way out for a temporary file) when ``exc`` is a write
    that failed for lack of room or permission (by its errno or DuckDB's words), else None."""
    text = str(exc)
    number = getattr(exc, "errno", None)
    for numbers, words, what, output_way, temporary_way in WRITE_FAULTS:
        if number in numbers or any(w in text for w in words):
            return what, output_way, temporary_way
    return None


def duckdb_file(text: str) -> str | None:
    """The file a DuckDB error names: ``Could not write file "<path>": ...``, in DuckDB 2 inside a
    JSON text (the quotes escaped)."""
    named = re.search(r'file \\?"(.+?)\\?"', text)
    return named.group(1) if named else None
