"""Control totals of one imported vendor table: rows and cost per currency as read and after
normalisation (which must be equal), and lines and cost per charge category."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from billing_lib.errors import ControlTotalError
from billing_lib.importers.line_facts import LineFacts
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec
from billing_lib.money import SQL_AMOUNT


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
    #: rows imported as the file says that the analyst should look at (``row N, columns ...:``
    #: what is wrong; importers/row_warnings.py)
    warnings: tuple[str, ...] = ()

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
                    "cost_before": format(c.cost_before, "f"),
                    "cost_after": format(c.cost_after, "f"),
                }
                for c in self.currencies
            ],
            "lines_per_category": self.lines_per_category,
            "cost_per_category": {
                cat: {cur: format(v, "f") for cur, v in by_cur.items()}
                for cat, by_cur in self.cost_per_category.items()
            },
            "warnings": list(self.warnings),
        }


def control_totals(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    default_sql: str,
    facts: LineFacts,
    rows_from: str = "__typed",
) -> ImportReport:
    """Rows and cost per currency as read (``rows_from``: ``__typed`` or a relation of the same
    rows with the columns the cost and currency read) against after normalisation, and lines and
    cost per charge category (both from ``facts.groups``, line_facts' sums of ``__new``); a
    ControlTotalError when they differ."""
    cur_sql = spec.currency.replace("{default_currency}", default_sql)
    before = {
        r[0]: (r[1], r[2] or Decimal(0))
        for r in con.execute(
            f"SELECT {cur_sql} AS cur, count(*), sum(CAST({spec.cost} AS {SQL_AMOUNT})) FROM "
            f"{rows_from} GROUP BY 1"
        ).fetchall()
    }
    after = {g.currency: (g.currency_lines, g.currency_cost or Decimal(0)) for g in facts.groups}
    totals = tuple(
        CurrencyTotal(
            cur,
            before.get(cur, (0, Decimal(0)))[0],
            after.get(cur, (0, Decimal(0)))[0],
            before.get(cur, (0, Decimal(0)))[1],
            after.get(cur, (0, Decimal(0)))[1],
        )
        for cur in sorted(set(before) | set(after), key=lambda c: c or "")
    )
    rows = sum(t.rows_after for t in totals)
    per_cat: dict[str, int] = {}
    cost_cat: dict[str, dict[str, Decimal]] = {}
    for g in facts.groups:
        per_cat[g.category] = per_cat.get(g.category, 0) + g.lines
        cost_cat.setdefault(g.category, {})[g.currency] = g.cost
    report = ImportReport(
        src.name, spec.name, spec.title, src.checksum, rows, totals, per_cat, cost_cat
    )
    if not report.balanced:
        detail = "; ".join(
            f"{t.currency}: rows {t.rows_before} -> {t.rows_after}, cost {t.cost_before} -> "
            f"{t.cost_after}"
            for t in totals
            if not t.balanced
        )
        raise ControlTotalError(
            f"{src.name} ({spec.title}): control totals differ after normalisation: {detail}"
        )
    return report
