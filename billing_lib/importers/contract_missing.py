"""Report rows the reseller's contract (``parameters/vendor_prices.yaml``) gives no price for.

Such a row is never billed at no price: the file is refused before anything is written, naming
each row (file, row, the product column), the product and when. When no entry of the product
covers any day of the row's month, the month is named (``NSX Enterprise in 2026-10``); when
entries cover part of it, a gap between them, the day (``VCF-CLD-FDN-5 on 2026-10-12``), with the
entries either side of the gap (``vmware.prices[0] ends 2026-10-10, vmware.prices[1] starts
2026-10-20``) so the analyst sees which entry to extend. Rows without units or without a product
are the report's fault and named by their own column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NoReturn

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import QUOTED_COLUMN, ContractPriceSpec
from billing_lib.vendor_prices import POINTS_TABLE, PRICES_TABLE

#: A product's name as the contract's entries are keyed (``vendor_prices._Dated.key``).
PRODUCT_KEY = "lower(trim(regexp_replace(__contract_product, '\\s+', ' ', 'g')))"
#: Groups of rows (product and day) listed at most.
SHOWN_GROUPS = 200


def _column(sql: str, default: str) -> str:
    """The source column ``sql`` (a format's contract SQL) reads first, for a message."""
    found = QUOTED_COLUMN.findall(sql)
    return found[0] if found else default


def _rows(n: int) -> str:
    return "row" if n == 1 else "rows"


@dataclass
class _Missing:
    """Rows of one product lacking one thing (``what``: price or points) on one day, or in one
    month when the contract prices the product on none of its days."""

    product: str
    key: str
    when: str
    what: str
    row: int
    count: int
    around: str


def check_priced(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    cp: ContractPriceSpec,
    where: str,
    lacking: str,
) -> None:
    """Refuse the lines of ``__typed`` that need a price and get no cost: rows without units or
    without a product (named by that column), and products the contract (``where``; ``lacking``
    says why it gives none) gives no price, or no points per unit, for on the row's day."""
    _check_units_given(con, src, cp, where)
    _check_product_given(con, src, cp, where)
    found = con.execute(
        f"""SELECT __contract_product, {PRODUCT_KEY}, __contract_month,
                  COALESCE(CAST(({cp.month}) AS DATE), __contract_month),
                  CASE WHEN __contract_price IS NULL THEN 'price' ELSE 'points' END,
                  min(__row), count(*)
           FROM __typed
           WHERE __contract_needed AND (__contract_price IS NULL OR __contract_cost IS NULL)
           GROUP BY ALL ORDER BY 6"""
    ).fetchall()
    if not found:
        return
    merged: dict[tuple[str, str, str], _Missing] = {}
    for product, key, month, day, what, row, count in found:
        when, around = _when(con, cp.vendor, key, what, month, day)
        had = merged.get((product, when, what))
        if had:
            had.count += count
        else:
            merged[(product, when, what)] = _Missing(product, key, when, what, row, count, around)
    missing = sorted(merged.values(), key=lambda m: m.row)
    column = _column(cp.product, "Product")
    problems = [
        Problem(
            src.name,
            m.row,
            column,
            m.product,
            _expected(m, where, cp.vendor)
            + (f" ({m.count - 1} more {_rows(m.count - 1)} like it)" if m.count > 1 else ""),
        )
        for m in missing[:SHOWN_GROUPS]
    ]
    listed = ", ".join(f"{m.product} {m.when}" for m in missing[:10])
    raise InputError(
        f"{src.name}: the report carries no price and {lacking} for: {listed}", problems
    )


def _expected(m: _Missing, where: str, vendor: str) -> str:
    if m.what == "price":
        return (
            f"a contract price for {m.product!r} {m.when} in {where} ({vendor}.prices): {m.around}"
        )
    return (
        f"the points per unit of {m.product!r} {m.when} in {where} ({vendor}.points_per_unit), "
        f"the price being per point: {m.around}"
    )


def _when(
    con: duckdb.DuckDBPyConnection, vendor: str, key: str, what: str, month: date, day: date
) -> tuple[str, str]:
    """``in YYYY-MM`` when no entry of the product covers a day of ``month``, else ``on`` the
    ``day``; and the entries around the gap (or that none names the product)."""
    table, field = (
        (PRICES_TABLE, "prices") if what == "price" else (POINTS_TABLE, "points_per_unit")
    )
    entries: list[tuple[str, date, date]] = con.execute(
        f"SELECT entry, valid_from, valid_to FROM {table} WHERE vendor = ? AND product = ? "
        "ORDER BY valid_from",
        [vendor, key],
    ).fetchall()
    if not entries:
        return f"in {month:%Y-%m}", f"no entry of {vendor}.{field} names it"
    end = con.execute("SELECT CAST(? AS DATE) + INTERVAL 1 MONTH - INTERVAL 1 DAY", [month])
    last = end.fetchall()[0][0].date()
    whole = not any(f <= last and t >= month for _, f, t in entries)
    start, stop = (month, last) if whole else (day, day)
    before = [(t, e) for e, _, t in entries if t < start]
    after = [(f, e) for e, f, _ in entries if f > stop]
    around = [f"{max(before)[1]} ends {max(before)[0]}"] if before else []
    around += [f"{min(after)[1]} starts {min(after)[0]}"] if after else []
    return (f"in {month:%Y-%m}" if whole else f"on {day}"), ", ".join(around)


def _check_units_given(
    con: duckdb.DuckDBPyConnection, src: SourceFile, cp: ContractPriceSpec, where: str
) -> None:
    """Rows with a price and no units (nor points) to multiply it by: the file's fault."""
    rows = con.execute(
        f"""SELECT __row, __contract_product, strftime(__contract_month, '%Y-%m')
           FROM __typed
           WHERE __contract_needed AND __contract_product IS NOT NULL
             AND __contract_price IS NOT NULL AND __contract_cost IS NULL
             AND ({cp.units}) IS NULL
             AND (__contract_per = 'unit' OR __contract_points IS NULL)
           ORDER BY __row LIMIT 20"""
    ).fetchall()
    if not rows:
        return
    _refuse_rows(
        src,
        "units",
        _column(cp.units, "units"),
        f"a line's cost is its units (or points) x the contract price in {where}, and these rows "
        "give none, so they cannot be costed",
        [
            (row, None, f"the units of {product!r} in {month} (a number; the row gives none)")
            for row, product, month in rows
        ],
    )


def _check_product_given(
    con: duckdb.DuckDBPyConnection, src: SourceFile, cp: ContractPriceSpec, where: str
) -> None:
    """Rows needing a price whose product cell is blank: the price is looked up by product."""
    rows = con.execute(
        """SELECT __row, __contract_product FROM __typed
           WHERE __contract_needed AND coalesce(trim(__contract_product), '') = ''
           ORDER BY __row LIMIT 20"""
    ).fetchall()
    if not rows:
        return
    _refuse_rows(
        src,
        "a product",
        _column(cp.product, "Product"),
        f"the contract price in {where} is looked up by product, so these rows cannot be costed",
        [
            (row, product, "the product the usage is of (the cell is blank)")
            for row, product in rows
        ],
    )


def _refuse_rows(
    src: SourceFile,
    lacking: str,
    column: str,
    why: str,
    rows: list[tuple[int, str | None, str]],
) -> NoReturn:
    """InputError for the rows of ``src`` that lack ``lacking`` (named by their ``column``):
    ``why`` they cannot be costed, and per row (row, the cell's value, what was expected). The
    report's fault, not the contract's: the way out is the vendor's export."""
    raise InputError(
        f"{src.name}: rows without {lacking} ({column}): {why}. Export the report again as the "
        "vendor writes it",
        [Problem(src.name, row, column, value, expected) for row, value, expected in rows],
    )
