"""The unit of a report's units against the unit the reseller's contract prices them in.

A price per unit, or points per unit, holds for one unit: 9,984 ``GB used`` counted as TiB at 24
points each cost 212,400 EUR instead of 5,574. Where a report names the unit of its units (Usage
Meter's ``Unit of Measure``, the format's ``contract_price.unit``), each row whose units the
contract converts (a price per unit, or points per unit where the report gives no points) must
be in the unit the entry names (``unit`` in ``vendor_prices.yaml``; case and spaces aside); an
entry naming none is refused with the units found, so that it is named once. Checked per file,
on the rows of ``__typed`` (``contract.attach_contract_prices``), before anything is written.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import QUOTED_COLUMN, ContractPriceSpec

#: Rows of a refused report listed at most.
SHOWN_ROWS = 200


def _same(sql: str) -> str:
    """``sql`` (a unit) as compared: lower case, spaces trimmed and collapsed."""
    return f"lower(trim(regexp_replace(CAST({sql} AS VARCHAR), '\\s+', ' ', 'g')))"


def check_units(
    con: duckdb.DuckDBPyConnection, src: SourceFile, cp: ContractPriceSpec, where: str
) -> None:
    """InputError naming each row (file, row, the unit column) whose units the contract converts
    in another unit than its entry names, or by an entry naming none; ``where``: the contract's
    file. Nothing when the format names no unit. An hourly report's rows (``cp.hourly``) must be
    priced per unit of an hour (``check_hourly``)."""
    if cp.hourly:
        check_hourly(con, src, cp, where)
    if cp.unit is None:
        return
    converted = "__contract_per = 'unit'" + (f" OR ({cp.points}) IS NULL" if cp.points else "")
    rows = con.execute(
        f"""SELECT min(__row), __contract_product, trim(CAST({cp.unit} AS VARCHAR)) AS found,
                   __contract_unit, __contract_unit_entry, __contract_per, count(*)
            FROM __typed
            WHERE __contract_needed AND __contract_cost IS NOT NULL AND ({converted})
              AND (__contract_unit IS NULL
                   OR {_same(cp.unit)} IS DISTINCT FROM {_same("__contract_unit")})
            GROUP BY ALL ORDER BY 1 LIMIT {SHOWN_ROWS}"""
    ).fetchall()
    if not rows:
        return
    column = (QUOTED_COLUMN.findall(cp.unit) or [None])[0]
    problems = [
        Problem(
            src.name,
            row,
            column,
            found,
            _expected(where, entry, product, unit, per, found)
            + (f" ({count - 1} more {_rows(count - 1)} like it)" if count > 1 else ""),
        )
        for row, product, found, unit, entry, per, count in rows
    ]
    raise InputError(
        f"{src.name}: units the contract in {where} does not price in their unit (a price or "
        "points per unit hold for the unit their entry names, `unit:`)",
        problems,
    )


def _expected(
    where: str, entry: str, product: str, unit: str | None, per: str, found: str | None
) -> str:
    """What a row of ``product`` should give as its unit, by the contract ``entry``."""
    what = "price" if per == "unit" else "points"
    if unit is None:
        return (
            f"a unit named by {where} {entry} (the unit whose {what} it gives for {product!r}): "
            f"add `unit: {found}` to that entry if that is its unit"
        )
    return f"{unit!r}, the unit whose {what} {where} {entry} gives for {product!r}"


def _rows(n: int) -> str:
    return "row" if n == 1 else "rows"


#: A unit of an hour as a contract entry names it: core-hour, TiB-hour, Core Hours, core/h.
_HOUR_UNIT = r"(^|[^a-z])(hours?|hrs?|h)$"


def check_hourly(
    con: duckdb.DuckDBPyConnection, src: SourceFile, cp: ContractPriceSpec, where: str
) -> None:
    """InputError naming each product (file, first row, the product column) of an hourly report
    whose contract entry prices, or counts points for, a unit that is no unit of an hour: a row
    is one hour, so a price per core (Broadcom's per core and month) was charged for every
    hour of the month, 744 times in October, without a word."""
    rows = con.execute(
        f"""SELECT min(__row), __contract_product, __contract_unit, __contract_unit_entry,
                   __contract_per, count(*)
            FROM __typed
            WHERE __contract_needed AND __contract_cost IS NOT NULL
              AND NOT COALESCE(regexp_matches({_same("__contract_unit")}, '{_HOUR_UNIT}'), false)
            GROUP BY ALL ORDER BY 1 LIMIT {SHOWN_ROWS}"""
    ).fetchall()
    if not rows:
        return
    column = (QUOTED_COLUMN.findall(cp.product) or [None])[0]
    problems = [
        Problem(
            src.name,
            row,
            column,
            product,
            _hourly_expected(where, entry, product, unit, per)
            + (f" ({count - 1} more {_rows(count - 1)} like it)" if count > 1 else ""),
        )
        for row, product, unit, entry, per, count in rows
    ]
    raise InputError(
        f"{src.name}: each row of the report is one hour's usage, but the contract in {where} "
        "prices these products per unit that is no hour: it would be charged for every hour",
        problems,
    )


def _hourly_expected(where: str, entry: str, product: str, unit: str | None, per: str) -> str:
    """What the contract ``entry`` for ``product`` of an hourly report should give."""
    if per == "unit":
        what, gives = "a price", f"gives one {f'per {unit!r}' if unit else 'naming no unit'}"
    else:
        what, gives = "points", f"gives them {f'per {unit!r}' if unit else 'naming no unit'}"
    return (
        f"{what} per unit of an hour for {product!r} (unit: core-hour, say): {where} {entry} "
        f"{gives}, but each row of the report is one hour's usage, so it would be charged for "
        "every hour; give the entry the price of an hour and its unit of an hour"
    )
