"""What a vendor table must be before its lines are read, checked from its header and rows as
read: its format recognised from the header (``detect_format``), the required columns present,
no value DuckDB's CSV reader rejected, no value under a column without a name, no column
repeated, and no row that is no line (a total row, a row of empty cells); each named by file,
row and column."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
from xlsxwriter.utility import xl_col_to_name

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.renamed_columns import renamed_in_header
from billing_lib.importers.spec import (
    QUOTED_COLUMN,
    FormatSpec,
    all_specs,
    choice_text,
    choices,
    tag_columns_of,
)
from billing_lib.importers.values import (
    MAX_EXAMPLES_PER_COLUMN,
)
from billing_lib.sql import qi


def resolve_columns(names: Iterable[str], header: Iterable[str]) -> dict[str, str]:
    """Spec column name -> the file's own spelling, for the names the file has. An exact match
    wins; otherwise a unique case-insensitive one (Azure writes ``CostInBillingCurrency`` in one
    export and ``costInBillingCurrency`` in another)."""
    header = list(header)
    exact = set(header)
    folded: dict[str, list[str]] = {}
    for h in header:
        folded.setdefault(h.casefold(), []).append(h)
    found = {}
    for n in names:
        if n in exact:
            found[n] = n
        elif len(folded.get(n.casefold(), [])) == 1:
            found[n] = folded[n.casefold()][0]
    return found


def with_newer_names(
    spec: FormatSpec, header: Iterable[str], found: dict[str, str]
) -> dict[str, str]:
    """``found`` (``resolve_columns`` of the columns wanted) with each column of
    ``spec.newer_names`` it lacks read from the header's column of the newer name, where there is
    one: FOCUS 1.3 names ProviderName ServiceProviderName, and a file of it without ProviderName
    had every line of vendor 'unknown' (no customer; an AWS account id a spreadsheet rewrote
    unchecked). A file with both reads the format's own name."""
    out = dict(found)
    for column, newer in spec.newer_names.items():
        found_newer = resolve_columns([newer], header)
        if column not in out and newer in found_newer:
            out[column] = found_newer[newer]
    return out


def reads_invoice_ids(spec: FormatSpec, header: Iterable[str]) -> bool:
    """Whether a file of ``header`` has a column the format's InvoiceId comes from: a report
    without one (Data Exports lets a user leave ``bill_invoice_id`` out) says nothing about
    whether the vendor has invoiced its lines."""
    m = spec.column_map("InvoiceId")
    names = m.alternatives() or QUOTED_COLUMN.findall(m.sql or "")
    return bool(resolve_columns(names, header))


def _missing(entries: list, header: tuple[str, ...]) -> list[str]:
    """Signature or required entries none of whose alternatives the header has."""
    return [choice_text(e) for e in entries if not resolve_columns(choices(e), header)]


def detect_format(src: SourceFile) -> FormatSpec:
    """The format whose signature columns all stand in the header, or an error listing what each
    known format expects and what the file has."""
    for spec in all_specs():
        if not _missing(spec.signature, src.header):
            return spec
    lines = [f"{src.name}: not a known vendor report format."]
    for spec in all_specs():
        expects = [choice_text(e) for e in spec.signature]
        lines.append(
            f"  {spec.title} ({spec.name}) expects columns {expects}; "
            f"missing {_missing(spec.signature, src.header)}"
        )
    lines.append(
        f"  found columns: {list(src.header)[:40]}{' ...' if len(src.header) > 40 else ''}"
    )
    problems: dict[str, Problem] = {}
    nearest = min(len(_missing(spec.signature, src.header)) for spec in all_specs())
    for spec in all_specs():
        missing = _missing(spec.signature, src.header)
        if 2 * len(missing) >= len(spec.signature):
            continue  # a format whose signature the file mostly lacks: not the one meant
        lacks = _lacking(spec.signature, src.header)
        why = f"{spec.title} ({spec.name}) recognises the report by it"
        renamed = renamed_in_header(src, spec, lacks, _read(spec, src.header), why)
        for p in renamed:
            problems.setdefault(p.column or "", p)
        if not renamed and len(missing) == nearest:
            for p in _deleted(src, spec):
                problems.setdefault(p.column or "", p)
    raise InputError("\n".join(lines), list(problems.values()))


def _deleted(src: SourceFile, spec: FormatSpec) -> list[Problem]:
    """A Problem (row 1) for each signature column of ``spec`` the header lacks under any name:
    of the format the file is nearest to, the column to look for (an Azure export whose
    costInBillingCurrency was deleted was named among every format's columns, by no row)."""
    return [
        Problem(
            src.name,
            1 if src.kind == "csv" else None,
            choice_text(entry),
            None,
            f"the column {' or '.join(choices(entry))}, by which {spec.title} ({spec.name}) "
            "recognises the report: deleted, or renamed? Export the report again",
        )
        for entry in spec.signature
        if not resolve_columns(choices(entry), src.header)
    ]


def _lacking(entries: list, header: tuple[str, ...]) -> list[str]:
    """The names of the signature or required entries none of whose alternatives the header
    has."""
    return [n for e in entries if not resolve_columns(choices(e), header) for n in choices(e)]


def _read(spec: FormatSpec, header: tuple[str, ...]) -> set[str]:
    """The columns of ``header`` the format reads, by the file's spelling."""
    found = resolve_columns(spec.referenced_columns(), header)
    return set(with_newer_names(spec, header, found).values())


def check_required(src: SourceFile, spec: FormatSpec, default_currency: str | None) -> None:
    if src.kind == "csv" and src.delimiter not in spec.delimiters:
        raise InputError(
            f"{src.name} ({spec.title}): the columns are separated by tabs, not commas",
            [
                Problem(
                    src.name, 1, None, None, "comma-separated columns as the vendor exports them"
                )
            ],
        )
    missing = _missing(spec.required, src.header)
    stand_in = spec.default_currency_column
    if stand_in in missing and default_currency:
        missing.remove(stand_in)
    if missing:
        hint = ""
        if stand_in in missing:
            hint = (
                " (FOCUS requires it: export the data with it, or give the billing currency of "
                "the files without it: `billing run --currency EUR`, `billing import --currency "
                "EUR`, notebook parameter currency)"
            )
        lacks = [n for n in _lacking(spec.required, src.header) if n != stand_in or hint]
        why = "the format requires it"
        raise InputError(
            f"{src.name} ({spec.title}): missing required column(s) {missing}{hint}.\n"
            f"  expected: {[choice_text(e) for e in spec.required]}\n  found: {list(src.header)}",
            renamed_in_header(src, spec, lacks, _read(spec, src.header), why),
        )


def check_older_names(src: SourceFile, spec: FormatSpec) -> None:
    """Refuse a file without a column of the format that has the name an older layout gives it
    beside a column that layout never has (``FormatSpec.older_names``): an MCA export with a
    Cost column and no costInBillingCurrency was costed by that column, in whatever currency it
    held. Named by row 1 and the column missing; the older layout itself is read."""
    problems = []
    for column, older in spec.older_names.items():
        found = resolve_columns([column, older.name, *older.newer_columns], src.header)
        newer = [found[c] for c in older.newer_columns if c in found]
        if column in found or older.name not in found or not newer:
            continue
        problems.append(
            Problem(
                src.name,
                1 if src.kind == "csv" else None,
                column,
                None,
                f"{older.what}, the column {column} of a layout with {', '.join(newer)}; "
                f"{older.name} is its name only in {older.older_layout}, which has none of "
                f"those columns: {column} renamed or deleted? {found[older.name]} is not read in "
                "its place; export the report again",
            )
        )
    if problems:
        missing = ", ".join(p.column or "" for p in problems)
        raise InputError(
            f"{src.name} ({spec.title}): missing column(s) {missing}, the file's own "
            "layout's; a column of an older layout's name is not read in place of one",
            problems,
        )


_REJECT_EXPECTED = {
    "TOO MANY COLUMNS": "as many values as the header has columns",
    "MISSING COLUMNS": "as many values as the header has columns",
    "UNQUOTED VALUE": "a value in matching double quotes",
    "INVALID ENCODING": "UTF-8 text (re-export the report as UTF-8)",
    "LINE SIZE OVER MAXIMUM": "a line shorter than DuckDB's maximum line size",
}


def check_rejects(con: duckdb.DuckDBPyConnection, src: SourceFile, table: str) -> None:
    """Every malformed CSV row DuckDB set aside (ragged rows, bad quotes, bad bytes), with its
    line and, where DuckDB knows it, the column."""
    rows = con.execute(
        f"SELECT line, arg_min(column_name, column_idx), arg_min(error_type, column_idx), "
        f"any_value(csv_line), arg_min(error_message, column_idx), min(column_idx) FROM {table} "
        f"GROUP BY line ORDER BY line LIMIT 200"
    ).fetchall()
    if not rows:
        return
    problems = [
        Problem(
            src.name,
            int(line),
            _reject_column(etype, col, position),
            # DuckDB's text of a row after blank lines begins with them
            (text or "").lstrip("\r\n")[:120],
            f"{_REJECT_EXPECTED.get(etype, etype.lower())} ({message.strip()})",
        )
        for line, col, etype, text, message, position in rows
    ]
    raise InputError(f"{src.name}: rows that are not well-formed CSV", problems)


def _reject_column(etype: str, column: str | None, position: int | None) -> str | None:
    """The column a malformed row is named by: DuckDB's, or for a row with more values than
    the header has columns the place of the first value beyond them (number and letter)."""
    if etype == "TOO MANY COLUMNS" and position:
        return f"column {position} ({xl_col_to_name(position - 1)}), beyond the header's last"
    # a byte that is not UTF-8 is named by its column too: where the accent Excel's code page
    # wrote stands (DuckDB names it right, in quoted values as well)
    return None if etype == "TOO MANY COLUMNS" else column


def csv_unnamed(src: SourceFile) -> tuple[str, ...]:
    """The columns of a CSV's header without a name (none for Parquet: reader checks them)."""
    return src.unnamed if src.kind == "csv" else ()


def check_unnamed(con: duckdb.DuckDBPyConnection, src: SourceFile) -> None:
    """Refuse a CSV whose header has a column without a name holding a value: no format reads it,
    so the value would be lost in silence. Columns without a name that hold nothing (a comma
    ending every line, as a spreadsheet leaves) are ignored. (A Parquet file's are checked when it
    is opened: reader.)"""
    unnamed = csv_unnamed(src)
    if not unnamed:
        return
    found = con.execute(
        f"SELECT __row, [{', '.join(qi(u) for u in unnamed)}] FROM __numbered "
        f"WHERE {' OR '.join(f'{qi(u)} IS NOT NULL' for u in unnamed)} "
        "ORDER BY __row LIMIT 1"
    ).fetchall()
    if not found:
        return
    row, values = found[0]
    name, value = next((u, v) for u, v in zip(unnamed, values, strict=True) if v is not None)
    position = src.header.index(name) + 1
    raise InputError(
        f"{src.name}: column {position} of the header (row 1) has no name, and row {row} holds "
        f"a value in it ({value!r}); a column without a name is not read, so its values would be "
        "lost. Give the column its name in the header, or delete it if the vendor's report has "
        "no such column",
        [
            Problem(
                src.name,
                1,
                f"column {position}",
                "",
                f"a column name, for a column that holds values (row {row}: {value!r})",
            )
        ],
    )


def check_repeated(src: SourceFile, spec: FormatSpec, read: set[str]) -> None:
    """Refuse a header that names a column the format reads twice (``BilledCost,...,BilledCost``,
    or ignoring case): only the first would be read, and the values of the other ignored in
    silence, whichever of the two holds the vendor's. A vendor writes each column once; a
    spreadsheet edit (a column pasted or copied in) does not. Two spellings of one tag key
    (a legacy CUR's ``resourceTags/user:Name`` and ``user:name``) are the vendor's: tag keys are
    case-sensitive, and ``spec.tags_sql`` reads both."""
    tags = set(tag_columns_of(spec, src.header))
    problems = []
    for first, position, name in src.repeated:
        column = src.header[first - 1]
        if column not in read and src.header[position - 1] not in read:
            continue
        if column in tags and name != column:
            continue
        csv = src.kind == "csv"  # a Parquet file has no header row, nor column letters
        places = [
            f"column {n}" + (f" ({xl_col_to_name(n - 1)})" if csv else "")
            for n in (first, position)
        ]
        problems.append(
            Problem(
                src.name,
                1 if csv else None,
                column,
                f"{column!r} at {places[0]} and {name!r} at {places[1]}",
                "each column once, as the vendor exports it: delete the repeated column, or "
                "export the report again",
            )
        )
    if problems:
        header = "the header (row 1)" if src.kind == "csv" else "the Parquet file"
        raise InputError(
            f"{src.name} ({spec.title}): {header} names a column it reads twice; only the first "
            "would be read and the other's values ignored",
            problems,
        )


def _spelling(name: str) -> str:
    """A column name without case, spaces and punctuation: ``Subscription Id`` is
    ``SubscriptionId``."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def check_respelled(src: SourceFile, spec: FormatSpec, wanted: list[str], found: dict) -> None:
    """Refuse a header that spells a column the format reads otherwise (``Subscription Id``,
    ``Unit_Price``: a header tidied in a spreadsheet): the column was not read and its values
    lost without a word (lines without their subscription, list price or tags). ``found``: the
    columns of ``wanted`` the header has (``resolve_columns``)."""
    spelled = {_spelling(h): h for h in src.header if h not in found.values()}
    problems = [
        Problem(
            src.name,
            1 if src.kind == "csv" else None,
            spelled[_spelling(c)],
            spelled[_spelling(c)],
            f"the column {c!r} as the vendor names it: under another spelling it is not read "
            "and its values are lost; rename the column back, or export the report again",
        )
        for c in wanted
        if c not in found and _spelling(c) in spelled
    ]
    if problems:
        raise InputError(
            f"{src.name} ({spec.title}): the header spells a column the format reads otherwise",
            problems,
        )


def identifying_columns(spec: FormatSpec, present: list[str]) -> list[str]:
    """The required columns of ``spec`` that every line of the vendor's report fills and a totals
    row does not: those present in the file that are neither amounts (decimal) nor the currency."""
    currency = set(QUOTED_COLUMN.findall(spec.currency))
    return [
        c
        for entry in spec.required
        for c in choices(entry)
        if c in present and spec.types.get(c) != "decimal" and c not in currency
    ]


def check_no_line_rows(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec, present: list[str]
) -> None:
    """Refuse a CSV's rows that are no line of the report: every required column that names the
    line (``identifying_columns``) empty, as in a totals row a spreadsheet user added under the
    report or a row of empty cells a spreadsheet saved (a VMware report's own total row is set
    aside before: ``total_rows``). Each line the vendor writes fills them; checked per line,
    such a row was refused for the first rule it broke ("BillingFrequency: expected Monthly,
    Annual or Triennial"), which sent the user looking for a licence's billing cycle.
    Parquet is written by tools, not spreadsheets: not read again for this."""
    columns = identifying_columns(spec, present)
    if src.kind != "csv" or not columns:
        return
    empty = " AND ".join(f"{qi(c)} IS NULL" for c in columns)
    order = {h.casefold(): n for n, h in reversed(list(enumerate(src.header)))}
    shown = sorted(
        (c for c in present if c not in columns), key=lambda c: order.get(c.casefold(), 1 << 30)
    )
    found = con.execute(
        f"SELECT __row, [{', '.join(f'CAST({qi(c)} AS VARCHAR)' for c in shown) or 'NULL'}] "
        f"FROM __numbered WHERE {empty} ORDER BY __row LIMIT {MAX_EXAMPLES_PER_COLUMN}"
    ).fetchall()
    if not found:
        return

    def held(values: list[str | None]) -> str:
        filled = [f"{c} {v!r}" for c, v in zip(shown, values or [], strict=False) if v]
        if filled:
            return f"a row whose columns read hold only {', '.join(filled)}"
        return "a row whose columns read are all empty"

    names = ", ".join(columns)
    raise InputError(
        f"{src.name} ({spec.title}): rows that are no line of the report: {names} empty, which "
        "every line the vendor writes fills (a totals row, or a row a spreadsheet left under the "
        "report?). Delete those rows, or export the report again as the vendor writes it",
        [
            Problem(src.name, row, None, held(values), f"a line of the report, with {names}")
            for row, values in found
        ],
    )
