"""The same usage given twice, once with and once without a column that tells a format's lines
apart (``FormatSpec.optional_key_part``): VMware's Usage Meter column, which one export of a
month carries and another export of the same month (an appliance's own Customer Monthly Usage
report) does not.

The line ids and rows of the two exports differ by that column (a line without a meter is keyed
by its file), so neither the repeat checks nor the comparison of reports (duplicates,
line_content) found them and the month was billed twice. A line without the part may be the usage
of any line with it, and nothing in the files tells which: a line without it that bills the same
usage as a line with it (the format's ``same_usage``: month, customer, product, unit and
quantity) is refused, naming both files and rows, as the other vendors' charges billed twice
are. Lines that both have the part (two Usage Meters) or both lack it (two appliances' own
reports) are left to those checks: they are two sites' usage where their other values agree.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.spec import FormatSpec, all_specs
from billing_lib.sql import qi

MAX_SHOWN = 20


def _clashes_sql(spec: FormatSpec) -> str:
    """SQL: the pairs of lines of ``spec``'s format, one with its key part and one without, that
    bill the same usage; the later line (by import order) first, with its file, row and part,
    then the earlier one's. Compared by a hash of the usage values, then the values."""
    part = spec.optional_key_part
    assert part is not None
    usage = [f"({sql}) AS u{i}" for i, sql in enumerate(part.same_usage)]
    same = " AND ".join(f"a.u{i} IS NOT DISTINCT FROM b.u{i}" for i in range(len(usage)))
    values = ", ".join(f"u{i}" for i in range(len(usage)))
    return f"""WITH l AS (
                 SELECT *, hash({values}) AS h FROM (
                   SELECT rowid AS id, x_SourceFile AS file, x_SourceRow AS row,
                          CAST({qi(part.column)} AS VARCHAR) AS part, {", ".join(usage)}
                   FROM lines WHERE x_Format = $1))
               SELECT b.file, b.row, b.part, a.file, a.row, a.part
               FROM l a JOIN l b ON a.h = b.h AND {same} AND a.id < b.id
               WHERE (a.part IS NULL) <> (b.part IS NULL)
               ORDER BY b.id, a.id"""


def _has_both_sql(spec: FormatSpec) -> str:
    """SQL: whether ``lines`` hold lines of ``spec``'s format both with and without its key part
    (the common case, one layout, reads no more than that)."""
    col = qi(spec.optional_key_part.column if spec.optional_key_part else "")
    return (
        f"SELECT EXISTS (SELECT 1 FROM lines WHERE x_Format = $1 AND {col} IS NULL) "
        f"AND EXISTS (SELECT 1 FROM lines WHERE x_Format = $1 AND {col} IS NOT NULL)"
    )


def check_optional_key_parts(con: duckdb.DuckDBPyConnection) -> None:
    """InputError when a line of a format with an ``optional_key_part`` lacks it and bills the
    same usage as a line that has it (module docstring), naming the files and rows of both,
    the later line's report first. Reads ``lines`` only where a format has lines both with and
    without the part."""
    for spec in all_specs():
        if spec.optional_key_part is None:
            continue
        if not con.execute(_has_both_sql(spec), [spec.name]).fetchall()[0][0]:
            continue
        found = con.execute(_clashes_sql(spec), [spec.name]).fetchall()
        if found:
            _refuse(spec, found)


def _at(file: str, row: int, part: str | None, source: str) -> str:
    return f"{file} row {row}" + (f" ({source} {part})" if part is not None else "")


def _refuse(
    spec: FormatSpec, found: list[tuple[str, int, str | None, str, int, str | None]]
) -> None:
    part = spec.optional_key_part
    assert part is not None
    problems = [
        Problem(
            file,
            row,
            part.source,
            mine,
            f"a line not billing the same {part.words} as "
            f"{_at(other, at, theirs, part.source)} (one of the two names no {part.source})",
        )
        for file, row, mine, other, at, theirs in found[:MAX_SHOWN]
    ]
    file, row, mine, other, at, theirs = found[0]
    without = f"{file} row {row}" if mine is None else f"{other} row {at}"
    more = f" ({len(found)} such lines in all)" if len(found) > 1 else ""
    raise InputError(
        f"{file}: row {row} bills the same {part.words} as "
        f"{_at(other, at, theirs, part.source)}, and one of the two names no {part.source} "
        f"({without}): it may be that usage exported again without its {part.source} column, "
        f"which would be billed twice{more}. {part.way_out}",
        problems,
    )
