"""Contract prices for reports that carry usage but no money (VMware Usage Meter, Broadcom portals).

A format that declares ``contract_price`` gets more columns in the engine's ``__typed`` view,
looked up in the reseller's ``parameters/vendor_prices.yaml`` (``billing_lib.vendor_prices``) by
product and day (the day of the format's ``month`` where a row gives one: a billing API hour's own
day, so a price changed mid-month prices each hour by its day; else the first of the month):
``__contract_points`` (points of the line: the file's own, else units x points
per unit), ``__contract_ppu`` and ``__contract_ppu_entry`` (the contract's points per unit and
the entry giving them, ``vmware.points_per_unit[3]``, for warnings), ``__contract_price``,
``__contract_currency`` and ``__contract_cost`` (points x price per point, or units x price per
unit; exact, unrounded), and ``__contract_unit`` (the unit the entry
converting the report's units names: the price's per unit, else the points'). The format's SQL
uses them like source columns. Lines that need a price (the format's ``needed``) and have none
stop the import (``contract_missing``), and so do units in another unit than the
contract's (``contract_units``), before anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.amounts import AMOUNT_MUL
from billing_lib.importers.contract_missing import PRODUCT_KEY, check_priced
from billing_lib.importers.contract_units import check_units
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec
from billing_lib.sql import ql
from billing_lib.vendor_prices import (
    POINTS_TABLE,
    PRICES_TABLE,
    VENDOR_PRICES_FILE,
    VendorPrices,
    register_vendor_prices,
)

#: Where the prices came from, for the message of a missing one.
SOURCE_TABLE = "_vendor_prices_source"
_YEAR_MONTH = re.compile(r"(?<!\d)((19|20)\d\d-(0[1-9]|1[0-2]))(?![\d])")


def use_vendor_prices(con: duckdb.DuckDBPyConnection, prices: VendorPrices | None) -> None:
    """Make ``prices`` the contract prices of the imports on ``con`` (none: empty tables)."""
    prices = prices or VendorPrices.none()
    register_vendor_prices(con, prices)
    where = str(prices.path) if prices.path else f"parameters/{VENDOR_PRICES_FILE}"
    if prices.path is None:
        lacking = f"no contract prices were given ({where})"
    elif not prices.exists:
        folder = prices.path.parent
        lacking = f"there is no {where} (no such file" + (
            ")" if folder.is_dir() else f"; no such folder {folder})"
        )
    else:
        lacking = f"{where} has none"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SOURCE_TABLE} AS SELECT {ql(where)} AS path, "
        f"{ql(lacking)} AS lacking"
    )


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [PRICES_TABLE]
    ).fetchall()[0][0]
    if not exists:
        use_vendor_prices(con, None)


def _month_in_name(src: SourceFile) -> str | None:
    """The one ``YYYY-MM`` of the innermost name that gives one (Usage Meter exports are named by
    month), else None: a file's own name; a zip member's own name, then its folders in the zip,
    then the zip's name (``customer-monthly-usage-2026-09.zip!ams/usage.tsv`` is September's).
    The folders the file or zip was given from are not read (``reports/2026-10/``)."""
    outer, *inner = src.name.split("!")
    names = [Path(outer).name] + [part for member in inner for part in member.split("/")]
    for name in reversed(names):
        found = {m[0] for m in _YEAR_MONTH.findall(name)}
        if found:
            return found.pop() if len(found) == 1 else None
    return None


def _month_of_file(src: SourceFile, period: str | None) -> str | None:
    """The month of a report that names none in its rows: the ``YYYY-MM`` in the file name, else
    the import's period, else None. A file name naming another month than the period is the
    other month's report, refused by ``_check_month_of_file``."""
    return _month_in_name(src) or period


def _check_month_of_file(
    con: duckdb.DuckDBPyConnection, src: SourceFile, own_month: str, period: str | None
) -> None:
    """Refuse a report whose rows take their month from the file name (``own_month``: the rows'
    own month, SQL over ``__typed``) when the name's month is not the import's period: a
    ``...-2026-09.tsv`` in October's folder is September's usage, never October's. Rows are read
    only when the two months differ."""
    named = _month_in_name(src)
    if not period or not named or named == period:
        return
    first = con.execute(f"SELECT min(__row) FROM __typed WHERE ({own_month}) IS NULL")
    row = first.fetchall()[0][0]
    if row is None:
        return  # every row names its month: check_in_period compares those with the period
    raise InputError(
        f"{src.name}: the file name says the usage is of {named}, the run is for {period}; the "
        f"report names no month in its rows, so it is {named}'s usage. Bill it with --period "
        f"{named}, or remove it from the reports folder; if it really is {period}'s usage, "
        f"export it again (or rename it) with {period} in its name",
        [
            Problem(
                src.name,
                row,
                None,
                named,
                f"usage of the run's period {period} (the file name's month)",
            )
        ],
    )


def attach_contract_prices(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    spec: FormatSpec,
    typed_select: str,
    period: str | None = None,
    typed_from: str = "__numbered",
) -> None:
    """Recreate ``__typed`` (``typed_select`` over ``typed_from``: ``__numbered`` or its
    ``values.typing_source``) with the contract columns, and
    refuse the file when a line has no month or needs a price that the contract does not give."""
    cp = spec.contract_price
    assert cp is not None
    _ensure_tables(con)
    fallback = _month_of_file(src, period)
    own_month = f"CAST(date_trunc('month', CAST(({cp.month}) AS TIMESTAMP)) AS DATE)"
    month = own_month
    if fallback:
        month = f"COALESCE({month}, DATE {ql(fallback + '-01')})"
    key = PRODUCT_KEY
    by_points = f"{AMOUNT_MUL}({cp.units}, __contract_ppu)"
    points = f"COALESCE({cp.points}, {by_points})" if cp.points else by_points
    # the price tables' columns renamed, so that no source column (Price, points) can clash
    prices = (
        f"(SELECT vendor AS __pv, product AS __pp, per AS __contract_per, price AS "
        f"__contract_price, "
        f"currency AS __contract_currency, unit AS __pu, entry AS __pe, valid_from AS __pf, "
        f"valid_to AS __pt FROM {PRICES_TABLE})"
    )
    ppu = (
        f"(SELECT vendor AS __uv, product AS __up, points AS __contract_ppu, unit AS __uu, "
        f"entry AS __ue, valid_from AS __uf, valid_to AS __ut FROM {POINTS_TABLE})"
    )
    # the unit of the report's units by the contract: the price's (per unit), else the points'
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW __typed AS
        SELECT * EXCLUDE (__pv, __pp, __pf, __pt, __uv, __up, __uf, __ut,
                          __contract_key, __contract_day, __pu, __pe, __uu, __ue),
               __ue AS __contract_ppu_entry,
               CASE __contract_per
                 WHEN 'point' THEN {AMOUNT_MUL}(__contract_points, __contract_price)
                 WHEN 'unit' THEN {AMOUNT_MUL}({cp.units}, __contract_price) END
                 AS __contract_cost,
               CASE __contract_per WHEN 'unit' THEN __pu ELSE __uu END AS __contract_unit,
               CASE __contract_per WHEN 'unit' THEN __pe ELSE __ue END AS __contract_unit_entry
        FROM (
          SELECT *, {points} AS __contract_points
          FROM (SELECT *, {key} AS __contract_key
                FROM (SELECT *, CAST({cp.product} AS VARCHAR) AS __contract_product,
                             {month} AS __contract_month, COALESCE(({cp.needed}), false) AS
                             __contract_needed, COALESCE(CAST(({cp.month}) AS DATE), {month})
                             AS __contract_day
                      FROM (SELECT {typed_select} FROM {typed_from}))) t
          LEFT JOIN {prices} p ON __pv = {ql(cp.vendor)} AND __pp = __contract_key
            AND __contract_day BETWEEN __pf AND __pt
          LEFT JOIN {ppu} u ON __uv = {ql(cp.vendor)} AND __up = __contract_key
            AND __contract_day BETWEEN __uf AND __ut)
    """)
    _check_month_of_file(con, src, own_month, period)
    no_month = con.execute(
        "SELECT min(__row) FROM __typed WHERE __contract_needed AND __contract_month IS NULL"
    ).fetchall()[0][0]
    if no_month is not None:
        raise InputError(
            f"{src.name}: the report names no month (no Month column, no YYYY-MM in the file "
            "name); give the period it is for (billing import --period YYYY-MM)",
            [Problem(src.name, no_month, "Month", None, "the month the usage is for")],
        )
    lacking = con.execute(f"SELECT lacking FROM {SOURCE_TABLE}").fetchall()[0][0]
    check_priced(con, src, cp, _prices_path(con), lacking)
    check_units(con, src, cp, _prices_path(con))


def _prices_path(con: duckdb.DuckDBPyConnection) -> str:
    """Where the contract prices of the imports on ``con`` came from (``use_vendor_prices``)."""
    return str(con.execute(f"SELECT path FROM {SOURCE_TABLE}").fetchall()[0][0])
