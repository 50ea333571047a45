"""The line model's rules on a file's mapped lines, before they count: amounts within
DECIMAL(38,12), mandatory values and allowed categories (``model.violations_sql``), tags as JSON
objects, one currency per file where the format promises it; every violation with its row and the
vendor column it came from."""

from __future__ import annotations

import re
from decimal import Decimal

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.amounts import AMOUNT_MUL, AMOUNT_MUL_DOUBLE
from billing_lib.importers.line_facts import BAD_TAGS_SQL, LineFacts
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import QUOTED_COLUMN, FormatSpec, mapping_sql, source_of
from billing_lib.importers.values import MAX_EXAMPLES_PER_COLUMN
from billing_lib.model import LINE_COLUMNS, violations_sql
from billing_lib.money import SQL_AMOUNT
from billing_lib.sql import qi

_DECIMAL_TYPE = re.compile(r"DECIMAL\s*\([^)]*\)", re.IGNORECASE)


#: Values this large (10^13) are no vendor's bill; a file holding one is checked for amounts that
#: would overflow DECIMAL(38,12) once computed or summed, before DuckDB fails on them mid-way
#: (which aborts the import's transaction, leaving no way to name the row).
OVERFLOW_RISK = 1e13


def check_overflow(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    present: set[str],
    default_sql: str,
) -> None:
    """Refuse rows whose computed amount (e.g. VMware points x price per point) is out of range
    (no value when computed exactly, a number in binary floating point), and a file whose cost
    total is."""
    decimals = [c for c, k in spec.types.items() if k == "decimal" and c in present]
    as_double = ", ".join(f"CAST({qi(c)} AS DOUBLE) AS {qi(c)}" for c in decimals)
    problems: list[Problem] = []
    for col in LINE_COLUMNS:
        if col.sql_type != SQL_AMOUNT or col.name not in spec.columns:
            continue
        expr = mapping_sql(spec, present, col.name, default_sql)
        # its size in binary floating point: no DECIMAL holds it (products are exact to 10^26)
        in_double = _DECIMAL_TYPE.sub("DOUBLE", expr).replace(
            f"{AMOUNT_MUL}(", f"{AMOUNT_MUL_DOUBLE}("
        )
        operands = [c for c in dict.fromkeys(QUOTED_COLUMN.findall(expr)) if c in decimals]
        exact = ", ".join([f"CAST(t.{qi(c)} AS VARCHAR)" for c in operands] or ["NULL"])
        rows = con.execute(
            f"""SELECT d.__row, d.v, [{exact}] FROM
                  (SELECT __row, TRY(CAST({in_double} AS DOUBLE)) AS v
                   FROM (SELECT * REPLACE ({as_double}) FROM __typed)) d
                JOIN (SELECT * FROM __typed WHERE TRY(CAST({expr} AS {SQL_AMOUNT})) IS NULL) t
                  USING (__row)
                WHERE d.v IS NOT NULL ORDER BY d.__row"""
        ).fetchmany(MAX_EXAMPLES_PER_COLUMN)
        problems += [
            Problem(
                src.name,
                row,
                source_of(spec, col.name, present),
                _computed(size, dict(zip(operands, values, strict=False))),
                "an amount within DECIMAL(38,12), less than 10^26 in size: it is out of range",
            )
            for row, size, values in rows
        ]
    if problems:
        raise InputError(
            f"{src.name} ({spec.title}): amounts computed from the file are out of range of "
            "DECIMAL(38,12) (10^26 or more in size)",
            problems,
        )
    cost = _DECIMAL_TYPE.sub("DOUBLE", spec.cost)
    total = con.execute(
        f"SELECT sum(TRY(CAST({cost} AS DOUBLE))) FROM (SELECT * REPLACE ({as_double}) FROM "
        f"__typed)"
    ).fetchall()[0][0]
    if total is not None and abs(total) >= 1e26:
        largest = con.execute(
            f"SELECT __row, CAST(TRY(CAST({cost} AS DOUBLE)) AS VARCHAR) FROM "
            f"(SELECT * REPLACE ({as_double}) FROM __typed) "
            f"ORDER BY abs(TRY(CAST({cost} AS DOUBLE))) DESC NULLS LAST, __row"
        ).fetchmany(3)
        column = source_of(spec, "BilledCost", present)
        raise InputError(
            f"{src.name} ({spec.title}): the total of {column} is out of range of DECIMAL(38,12) "
            "(10^26 or more in size); the largest amounts:",
            [
                Problem(src.name, row, column, value, "amounts whose total is within range")
                for row, value in largest
            ],
        )


def _computed(size: float, operands: dict[str, str | None]) -> str:
    """A computed amount too large for DECIMAL(38,12) as a message shows it: its size (binary
    floating point, so only three digits) and the exact amounts of the row it is computed from."""
    given = [
        f"{name} {format(Decimal(value).normalize(), 'f')}"
        for name, value in operands.items()
        if value is not None
    ]
    return f"about {size:.3g}" + (f" ({', '.join(given)})" if given else "")


def check_model(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    present: set[str],
    facts: LineFacts,
) -> None:
    """The line model's rules (model.violations_sql), Tags as JSON objects, and one currency per
    file where the format promises it; every violation with its row. ``facts`` (line_facts):
    the lines are read only when they break a rule or mix currencies."""
    if facts.broken:
        rows = con.execute(violations_sql("__new")).fetchall()
        rows += con.execute(
            f"SELECT x_SourceRow, 'Tags', Tags, 'a JSON object of tags' FROM __new "
            f"WHERE {BAD_TAGS_SQL} ORDER BY 1 LIMIT 50"
        ).fetchall()
        if rows:
            problems = [
                Problem(src.name, r, source_of(spec, c, present), v, e) for r, c, v, e in rows
            ]
            raise InputError(
                f"{src.name} ({spec.title}): lines that break the line model", problems
            )
    if spec.single_currency:
        # the currencies of __facts in SQL's order (NULL last), from the rows line_facts read
        found: set[str | None] = {g.currency for g in facts.groups}
        currencies = sorted(found, key=lambda c: (c is None, c or ""))
        if len(currencies) > 1:
            majority = con.execute(
                "SELECT BillingCurrency FROM __new GROUP BY 1 ORDER BY count(*) DESC, "
                "min(x_SourceRow) LIMIT 1"
            ).fetchall()[0][0]
            odd = con.execute(
                "SELECT x_SourceRow, BillingCurrency FROM __new WHERE BillingCurrency <> ? "
                "ORDER BY x_SourceRow LIMIT 20",
                [majority],
            ).fetchall()
            raise InputError(
                f"{src.name} ({spec.title}): one currency expected per file, found {currencies}",
                [
                    Problem(
                        src.name,
                        row,
                        source_of(spec, "BillingCurrency", present),
                        cur,
                        f"{majority} like the rest of the file",
                    )
                    for row, cur in odd
                ],
            )
