"""Reading one vendor table into the line model inside DuckDB, with every check before it lands.

Steps for one file: recognise the format from the header, check required columns, load the referenced
columns as text, type them (collecting every unparsable value), map them to the line model, check the
model's rules, and compare control totals before and after. Only then are the lines added to the
``lines`` table; a failure leaves the store as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from billing_lib.errors import ControlTotalError, InputError, Problem
from billing_lib.importers.reader import SourceFile, duckdb_source
from billing_lib.importers.spec import FormatSpec, all_specs
from billing_lib.model import LINE_COLUMN_NAMES, LINE_COLUMN_TYPES, LINE_COLUMNS, violations_sql
from billing_lib.money import SQL_AMOUNT

_DUCKDB_LINE = re.compile(r"Line:\s*(\d+)")
MAX_EXAMPLES_PER_COLUMN = 20


@dataclass(frozen=True)
class CurrencyTotal:
    """Rows and cost of one currency in a vendor file, read raw and after normalisation."""

    currency: str
    rows_before: int
    rows_after: int
    cost_before: Decimal
    cost_after: Decimal

    @property
    def balanced(self) -> bool:
        return self.rows_before == self.rows_after and self.cost_before == self.cost_after


@dataclass(frozen=True)
class ImportReport:
    """Control totals of one imported vendor table."""

    file: str
    format: str
    format_title: str
    checksum: str
    rows: int
    currencies: tuple[CurrencyTotal, ...]
    lines_per_category: dict[str, int] = field(default_factory=dict)
    cost_per_category: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return all(c.balanced for c in self.currencies)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "format": self.format,
            "format_title": self.format_title,
            "checksum": self.checksum,
            "rows": self.rows,
            "balanced": self.balanced,
            "currencies": [
                {
                    "currency": c.currency,
                    "rows_before": c.rows_before,
                    "rows_after": c.rows_after,
                    "cost_before": str(c.cost_before),
                    "cost_after": str(c.cost_after),
                }
                for c in self.currencies
            ],
            "lines_per_category": self.lines_per_category,
            "cost_per_category": {
                cat: {cur: str(v) for cur, v in by_cur.items()}
                for cat, by_cur in self.cost_per_category.items()
            },
        }


def qi(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def ql(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def detect_format(src: SourceFile) -> FormatSpec:
    """The format whose signature columns all stand in the header, or an error listing what each
    known format expects and what the file has."""
    header = set(src.header)
    for spec in all_specs():
        if set(spec.signature) <= header:
            return spec
    lines = [f"{src.name}: not a known vendor report format."]
    for spec in all_specs():
        missing = [c for c in spec.signature if c not in header]
        lines.append(f"  {spec.title} ({spec.name}) expects columns {spec.signature}; missing {missing}")
    lines.append(f"  found columns: {list(src.header)[:40]}{' ...' if len(src.header) > 40 else ''}")
    raise InputError("\n".join(lines))


def _check_required(src: SourceFile, spec: FormatSpec, default_currency: str | None) -> None:
    header = set(src.header)
    missing = [c for c in spec.required if c not in header]
    if "BillingCurrency" in missing and default_currency and spec.name.startswith("focus"):
        missing.remove("BillingCurrency")
    if missing:
        hint = ""
        if "BillingCurrency" in missing:
            hint = " (or give the billing currency explicitly: --currency / default_currency)"
        raise InputError(
            f"{src.name} ({spec.title}): missing required column(s) {missing}{hint}.\n"
            f"  expected: {spec.required}\n  found: {list(src.header)}"
        )


def _typed_expr(name: str, kind: str | None, present: bool, raw_types: dict[str, str], spec: FormatSpec) -> str:
    col = qi(name)
    if not present:
        return {"decimal": f"NULL::{SQL_AMOUNT}", "timestamp": "NULL::TIMESTAMP", "date": "NULL::DATE"}.get(
            kind or "", "NULL::VARCHAR"
        )
    is_text = raw_types.get(name, "VARCHAR") == "VARCHAR"
    if kind == "decimal":
        return f"TRY_CAST({'trim(' + col + ')' if is_text else col} AS {SQL_AMOUNT})"
    if kind in ("timestamp", "date"):
        if is_text and spec.timestamp_formats:
            fmts = "[" + ", ".join(ql(f) for f in spec.timestamp_formats) + "]"
            expr = f"COALESCE(TRY_STRPTIME(trim({col}), {fmts}), TRY_CAST(trim({col}) AS TIMESTAMP))"
        else:
            expr = f"TRY_CAST({col} AS TIMESTAMP)"
        return expr if kind == "timestamp" else f"CAST({expr} AS DATE)"
    return col if is_text else f"CAST({col} AS VARCHAR)"


def _expected_text(kind: str, spec: FormatSpec) -> str:
    if kind == "decimal":
        return "a decimal number (e.g. 12.34 or 1.5E-8)"
    fmts = ", ".join(spec.timestamp_formats) or "ISO 8601"
    return f"a {'date' if kind == 'date' else 'date and time'} ({fmts})"


def _raise_duckdb(src: SourceFile, exc: Exception) -> None:
    msg = str(exc).splitlines()
    m = _DUCKDB_LINE.search(str(exc))
    row = int(m.group(1)) if m else None
    detail = " ".join(line.strip() for line in msg[:3])
    raise InputError(
        f"{src.name}: the file cannot be parsed as comma-separated UTF-8 text",
        [Problem(src.name, row, None, None, f"a well-formed CSV row ({detail})")],
    ) from exc


def stage_source(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    default_currency: str | None = None,
) -> ImportReport:
    """Read ``src`` into the temporary table ``__new`` in the line model, checked; return its
    control totals. Raises InputError or ControlTotalError; adds nothing to ``lines``."""
    _check_required(src, spec, default_currency)
    header = set(src.header)
    wanted = sorted(spec.referenced_columns())
    present = [c for c in wanted if c in header]
    source = duckdb_source(src, present, spec.null_values)
    select = ", ".join(qi(c) for c in present) or "1 AS __none"
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __raw AS SELECT {select} FROM {source}")
    except duckdb.Error as exc:
        _raise_duckdb(src, exc)
    raw_types = {r[0]: r[1] for r in con.execute("DESCRIBE __raw").fetchall()}

    typed = {c: _typed_expr(c, spec.types.get(c), c in header, raw_types, spec) for c in wanted}
    typed_cols = [f"rowid + {src.first_data_row} AS __row"] + [f"{e} AS {qi(c)}" for c, e in typed.items()]
    con.execute(f"CREATE OR REPLACE TEMP VIEW __typed AS SELECT {', '.join(typed_cols)} FROM __raw")

    _check_types(con, src, spec, {c: typed[c] for c in present if c in spec.types})
    _map_lines(con, src, spec, default_currency)
    _check_model(con, src, spec)
    return _control_totals(con, src, spec, default_currency)


def _check_types(con, src: SourceFile, spec: FormatSpec, typed: dict[str, str]) -> None:
    """Every value that is present but does not parse as its declared kind, with row and column."""
    if not typed:
        return
    counts = ", ".join(f"count_if({qi(c)} IS NOT NULL AND ({e}) IS NULL)" for c, e in typed.items())
    failing = con.execute(f"SELECT {counts} FROM __raw").fetchone()
    problems: list[Problem] = []
    for (c, e), n in zip(typed.items(), failing):
        if not n:
            continue
        rows = con.execute(
            f"SELECT rowid + {src.first_data_row} AS r, CAST({qi(c)} AS VARCHAR) FROM __raw "
            f"WHERE {qi(c)} IS NOT NULL AND ({e}) IS NULL ORDER BY r LIMIT {MAX_EXAMPLES_PER_COLUMN}"
        ).fetchall()
        problems += [Problem(src.name, row, c, val, _expected_text(spec.types[c], spec)) for row, val in rows]
    if problems:
        raise InputError(f"{src.name} ({spec.title}): values that cannot be read", problems)


def _mapping_sql(spec: FormatSpec, header: set[str], target: str, default_currency: str | None) -> str:
    m = spec.column_map(target)
    if m.value is not None:
        return ql(m.value)
    if m.sql is not None:
        return m.sql.replace("{default_currency}", ql(default_currency) if default_currency else "NULL")
    for alt in m.alternatives():
        if alt in header:
            return qi(alt)
    return "NULL"


def _map_lines(con, src: SourceFile, spec: FormatSpec, default_currency: str | None) -> None:
    header = set(src.header)
    exprs = []
    for col in LINE_COLUMNS:
        if col.name == "x_Format":
            expr = ql(spec.name)
        elif col.name == "x_SourceFile":
            expr = ql(src.name)
        elif col.name == "x_SourceRow":
            expr = "__row"
        else:
            expr = _mapping_sql(spec, header, col.name, default_currency)
        exprs.append(f"CAST({expr} AS {col.sql_type}) AS {qi(col.name)}")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __new AS SELECT {', '.join(exprs)} FROM __typed")
    except duckdb.Error as exc:
        raise InputError(f"{src.name} ({spec.title}): the mapping to the line model failed: {exc}") from exc


def _source_of(spec: FormatSpec, target: str, header: set[str]) -> str:
    m = spec.column_map(target)
    alts = [a for a in m.alternatives() if a in header]
    return f"{target} (from {alts[0]!r})" if alts else target


def _check_model(con, src: SourceFile, spec: FormatSpec) -> None:
    rows = con.execute(violations_sql("__new")).fetchall()
    if rows:
        header = set(src.header)
        problems = [Problem(src.name, r, _source_of(spec, c, header), v, e) for r, c, v, e in rows]
        raise InputError(f"{src.name} ({spec.title}): lines that break the line model", problems)
    if spec.single_currency:
        currencies = [r[0] for r in con.execute("SELECT DISTINCT BillingCurrency FROM __new ORDER BY 1").fetchall()]
        if len(currencies) > 1:
            first = con.execute(
                "SELECT x_SourceRow, BillingCurrency FROM __new WHERE BillingCurrency <> ? ORDER BY x_SourceRow LIMIT 1",
                [currencies[0]],
            ).fetchone()
            raise InputError(
                f"{src.name} ({spec.title}): one currency expected per file, found {currencies}",
                [Problem(src.name, first[0], _source_of(spec, "BillingCurrency", set(src.header)),
                         first[1], f"{currencies[0]} like the rest of the file")],
            )


def _control_totals(con, src: SourceFile, spec: FormatSpec, default_currency: str | None) -> ImportReport:
    cur_sql = spec.currency.replace("{default_currency}", ql(default_currency) if default_currency else "NULL")
    before = {
        r[0]: (r[1], r[2] or Decimal(0))
        for r in con.execute(
            f"SELECT {cur_sql} AS cur, count(*), sum(CAST({spec.cost} AS {SQL_AMOUNT})) FROM __typed GROUP BY 1"
        ).fetchall()
    }
    after = {
        r[0]: (r[1], r[2] or Decimal(0))
        for r in con.execute(
            "SELECT BillingCurrency, count(*), sum(BilledCost) FROM __new GROUP BY 1"
        ).fetchall()
    }
    totals = tuple(
        CurrencyTotal(cur, before.get(cur, (0, Decimal(0)))[0], after.get(cur, (0, Decimal(0)))[0],
                      before.get(cur, (0, Decimal(0)))[1], after.get(cur, (0, Decimal(0)))[1])
        for cur in sorted(set(before) | set(after), key=lambda c: c or "")
    )
    rows = sum(t.rows_after for t in totals)
    per_cat: dict[str, int] = {}
    cost_cat: dict[str, dict[str, Decimal]] = {}
    for cat, cur, n, cost in con.execute(
        "SELECT ChargeCategory, BillingCurrency, count(*), sum(BilledCost) FROM __new GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall():
        per_cat[cat] = per_cat.get(cat, 0) + n
        cost_cat.setdefault(cat, {})[cur] = cost
    report = ImportReport(src.name, spec.name, spec.title, src.checksum, rows, totals, per_cat, cost_cat)
    if not report.balanced:
        detail = "; ".join(
            f"{t.currency}: rows {t.rows_before} -> {t.rows_after}, cost {t.cost_before} -> {t.cost_after}"
            for t in totals if not t.balanced
        )
        raise ControlTotalError(f"{src.name} ({spec.title}): control totals differ after normalisation: {detail}")
    return report


def line_columns_sql() -> str:
    return ", ".join(qi(c) for c in LINE_COLUMN_NAMES)


def types_of(names: Iterable[str]) -> dict[str, str]:
    return {n: LINE_COLUMN_TYPES[n] for n in names}
