"""The same usage given twice, once with and once without a column that tells a format's lines
apart (``FormatSpec.optional_key_parts``): VMware's Usage Meter column, which one export of a
month carries and another export of the same month (an appliance's own Customer Monthly Usage
report) does not; a Usage Meter report's Unit of Measure, the Cloud Partner Navigator billing
API's Subscription Id, its MSP usage report's Data Center.

The line ids and rows of the two exports differ by that column (a line without a meter is keyed
by its file), so neither the repeat checks nor the comparison of reports (duplicates,
line_content) found them and the month was billed twice. A line without the part may be the usage
of any line with it, and nothing in the files tells which: a line without it that bills the same
usage as a line with it (the format's ``same_usage``: month, customer, product and quantity; the
other parts agreeing where both lines have them) is refused, naming both files and rows, as the
other vendors' charges billed twice are. Lines with the same parts (two Usage Meters; two
appliances' own reports, both without a meter) are left to those checks: they are two sites'
usage where their other values agree.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.spec import FormatSpec, all_specs
from billing_lib.sql import qi

MAX_SHOWN = 20


def _clashes_sql(spec: FormatSpec) -> str:
    """SQL: the pairs of lines of ``spec``'s format that bill the same usage, whose key parts
    agree where both have them and one of which lacks a part the other has; the later line (by
    import order) first, with its file, row and parts, then the earlier one's. Compared by a
    hash of the usage values, then the values."""
    parts = spec.optional_key_parts
    assert parts is not None
    usage = [f"({sql}) AS u{i}" for i, sql in enumerate(parts.same_usage)]
    same = " AND ".join(f"a.u{i} IS NOT DISTINCT FROM b.u{i}" for i in range(len(usage)))
    values = ", ".join(f"u{i}" for i in range(len(usage)))
    cols = list(parts.columns)
    read = ", ".join(f"CAST({qi(c)} AS VARCHAR) AS p{i}" for i, c in enumerate(cols))
    agree = " AND ".join(
        f"(a.p{i} = b.p{i} OR a.p{i} IS NULL OR b.p{i} IS NULL)" for i in range(len(cols))
    )
    one_lacks = " OR ".join(f"((a.p{i} IS NULL) <> (b.p{i} IS NULL))" for i in range(len(cols)))
    mine = ", ".join(f"b.p{i}" for i in range(len(cols)))
    theirs = ", ".join(f"a.p{i}" for i in range(len(cols)))
    return f"""WITH l AS (
                 SELECT *, hash({values}) AS h FROM (
                   SELECT rowid AS id, x_SourceFile AS file, x_SourceRow AS row, {read},
                          {", ".join(usage)}
                   FROM lines WHERE x_Format = $1))
               SELECT b.file, b.row, [{mine}], a.file, a.row, [{theirs}]
               FROM l a JOIN l b ON a.h = b.h AND {same} AND a.id < b.id
               WHERE {agree} AND ({one_lacks})
               ORDER BY b.id, a.id"""


def _has_both_sql(spec: FormatSpec) -> str:
    """SQL: whether ``lines`` hold lines of ``spec``'s format both with and without one of its
    key parts (the common case, one layout, reads no more than that)."""
    cols = list(spec.optional_key_parts.columns) if spec.optional_key_parts else []
    return " OR ".join(
        f"(EXISTS (SELECT 1 FROM lines WHERE x_Format = $1 AND {qi(c)} IS NULL) "
        f"AND EXISTS (SELECT 1 FROM lines WHERE x_Format = $1 AND {qi(c)} IS NOT NULL))"
        for c in cols
    )


def check_optional_key_parts(con: duckdb.DuckDBPyConnection) -> None:
    """InputError when a line of a format with ``optional_key_parts`` lacks one and bills the
    same usage as a line that has it (module docstring), naming the files and rows of both,
    the later line's report first. Reads ``lines`` only where a format has lines both with and
    without a part."""
    imported = {r[0] for r in con.execute("SELECT DISTINCT format FROM imports").fetchall()}
    for spec in all_specs():
        if spec.optional_key_parts is None or spec.name not in imported:
            continue
        if not con.execute(f"SELECT {_has_both_sql(spec)}", [spec.name]).fetchall()[0][0]:
            continue
        found = con.execute(_clashes_sql(spec), [spec.name]).fetchall()
        if found:
            _refuse(spec, found)


Clash = tuple[str, int, list[str | None], str, int, list[str | None]]


def _lacking(mine: list[str | None], theirs: list[str | None]) -> int:
    """The index of the first key part one line of a clash has and the other lacks."""
    return next(
        i for i, (m, t) in enumerate(zip(mine, theirs, strict=True)) if (m is None) != (t is None)
    )


def _refuse(spec: FormatSpec, found: list[Clash]) -> None:
    parts = spec.optional_key_parts
    assert parts is not None
    sources = list(parts.columns.values())

    def at(file: str, row: int, values: list[str | None], i: int) -> str:
        shown = "" if values[i] is None else f" ({sources[i]} {values[i]})"
        return f"{file} row {row}{shown}"

    problems = []
    for file, row, mine, other, there, theirs in found[:MAX_SHOWN]:
        i = _lacking(mine, theirs)
        problems.append(
            Problem(
                file,
                row,
                sources[i],
                mine[i],
                f"a line not billing the same {parts.words} as {at(other, there, theirs, i)} "
                f"(one of the two names no {sources[i]})",
            )
        )
    file, row, mine, other, there, theirs = found[0]
    i = _lacking(mine, theirs)
    without = f"{file} row {row}" if mine[i] is None else f"{other} row {there}"
    more = f" ({len(found)} such lines in all)" if len(found) > 1 else ""
    raise InputError(
        f"{file}: row {row} bills the same {parts.words} as {at(other, there, theirs, i)}, and "
        f"one of the two names no {sources[i]} ({without}): it may be that usage exported again "
        f"without its {sources[i]} column, which would be billed twice{more}. {parts.way_out}",
        problems,
    )
