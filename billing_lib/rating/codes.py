"""Repeated long text of the rated lines carried through the rated COPY's sort as INTEGER codes.

The sort of the rated lines (``rated_file``) runs beyond DuckDB's memory limit at millions of
lines, and its cost is the bytes each row carries (benchmarks/README.md). A line's service, SKU,
tag set, description and vendor file name are long text that repeats: a few thousand values at
most, on millions of lines. Before the sort each is replaced by its code, after it each code is
read back from a list (``getvariable``), so the file gets the same rows in the same order:

- a code is the value's rank among the column's values (``CODED_SQL``), so codes sort as the
  values do (``source_file`` is a sort key) and NULL stays NULL (last, as the text sorts);
- the values come from one scan of the few ``customer_lines`` columns a vendor line takes them
  from (``SOURCES``, as ``price.priced_sql`` does), the rules' descriptions and the custom lines
  and top-ups (``rating_custom_lines``): every value the rated lines can hold has a code. The
  scan reads the table ``lines`` that the view ``customer_lines`` adds the customer to
  (``customers.assign_customers``): the same rows, without the view's join to the accounts (a
  third of the scan's CPU time at three million lines).

The columns a vendor line takes from its key (vendor, category, currencies, exchange rate, plan,
rule, product group; period and kind are the same on every vendor line) go through the sort as
the one INTEGER ``key_id`` instead (``KEYED``): each is NULL in the sorted rows of a vendor line
and taken by key after the sort, where the rows are written (``rated_file``). The
custom lines and top-ups, which have no key, keep their own values.
"""

from __future__ import annotations

import duckdb

from billing_lib.rating.tables import RATED_COLUMNS
from billing_lib.sql import ql

#: Coded rated_lines column -> the customer_lines columns its value on a vendor line is one of
#: (``price.priced_sql``; a description is the rule's, else the first of these that is set).
SOURCES: dict[str, tuple[str, ...]] = {
    "service": ("ServiceName",),
    "sku": ("SkuId",),
    "tags": ("Tags",),
    "description": ("ChargeDescription", "ServiceName", "SkuId", "ChargeCategory"),
    "source_file": ("x_SourceFile",),
}
#: Coded column -> the rating_keys column that also gives it its value.
KEY_SOURCES = {"description": "rule_description"}

#: Rated_lines column -> its value on a vendor line of key ``k`` (a ``rating_keys`` row;
#: ``price.costed_sql`` takes the same from the line, which its key's join makes equal);
#: ``{period}`` the rating's period.
KEYED: dict[str, str] = {
    "period": "CAST({period} AS VARCHAR)",
    "line_kind": "'vendor'",
    "vendor": "k.vendor",
    "charge_category": "k.charge_category",
    "product_group": "COALESCE(k.rule_product_group, k.vendor)",
    "vendor_currency": "k.vendor_currency",
    "fx_rate": "k.fx_rate",
    "currency": "k.currency",
    "plan_id": "k.plan_id",
    "rule_id": "k.rule_id",
}

#: The distinct values of every source column, one list each, in one scan of the lines.
LINE_VALUES_SQL = "CREATE OR REPLACE TEMP TABLE rating_line_values AS SELECT {lists} FROM {lines}"

#: The codes of one column (``{column}``) from its values in ``{values}``: 1, 2, ... by value.
CODED_SQL = """
    CREATE OR REPLACE TEMP TABLE rating_code_{column} AS
    SELECT v, CAST(row_number() OVER (ORDER BY v) AS INTEGER) AS code
    FROM (SELECT DISTINCT v FROM ({values}) WHERE v IS NOT NULL)"""


def code_name(column: str) -> str:
    """The table (value, code) and the variable (the values in code order) of ``column``."""
    return f"rating_code_{column}"


def create_codes(con: duckdb.DuckDBPyConnection, lines: str, keys: str, custom: str) -> None:
    """The codes of every coded column (``SOURCES``) from the vendor lines ``lines``, the keys
    ``keys`` (rating_keys rows) and the custom lines and top-ups ``custom``; each column's values
    in code order also in the variable of its ``code_name``."""
    sources = sorted({s for cols in SOURCES.values() for s in cols})
    lists = ", ".join(f"list(DISTINCT {s}) AS {s}" for s in sources)
    con.execute(LINE_VALUES_SQL.format(lists=lists, lines=lines))
    for column, line_columns in SOURCES.items():
        values = [f"SELECT unnest({s}) AS v FROM rating_line_values" for s in line_columns]
        values.append(f"SELECT {column} FROM {custom}")
        if column in KEY_SOURCES:
            values.append(f"SELECT {KEY_SOURCES[column]} FROM {keys}")
        con.execute(CODED_SQL.format(column=column, values=" UNION ALL ".join(values)))
        name = code_name(column)
        con.execute(f"SET VARIABLE {name} = (SELECT list(v ORDER BY code) FROM {name})")
    con.execute("DROP TABLE rating_line_values")


def key_values_sql(keys: str, period: str) -> str:
    """For each position 1, 2, ... up to the largest ``key_id`` of ``keys`` (``rating_keys``
    rows), the ``KEYED`` columns' values of the key of that id (NULL for a key of another
    action), in that order, each of its contract type (``RATED_COLUMNS``, as the rated query
    casts it): what ``rated_file`` reads a vendor line's keyed columns from."""
    values = ", ".join(
        f"CAST({sql.format(period=ql(period))} AS {RATED_COLUMNS[c]}) AS {c}"
        for c, sql in KEYED.items()
    )
    return f"""
        SELECT r.key_id, {", ".join(f"v.{c}" for c in KEYED)}
        FROM range(1, (SELECT COALESCE(max(key_id), 0) + 1 FROM {keys})) r(key_id)
        LEFT JOIN (SELECT key_id, {values} FROM {keys} k) v USING (key_id)
        ORDER BY r.key_id"""


def encoded_sql(rows: str, keyed: bool = False) -> str:
    """The rows of the query ``rows`` with each coded column replaced by its code
    (``code_or_error_sql``); with ``keyed`` (``rows`` have a ``key_id``, NULL on a line without
    key) each ``KEYED`` column NULL on a line with a key."""
    codes = [code_or_error_sql(c) for c in SOURCES]
    if keyed:
        codes += [f"CASE WHEN u.key_id IS NULL THEN u.{c} END AS {c}" for c in KEYED]
    joins = " ".join(f"LEFT JOIN {code_name(c)} ON {code_name(c)}.v = u.{c}" for c in SOURCES)
    return f"SELECT u.* REPLACE ({', '.join(codes)}) FROM ({rows}) u {joins}"


def code_or_error_sql(column: str) -> str:
    """SQL of the code of ``column`` of a row ``u`` joined to its codes: a value without a code
    (one a source the codes were made from does not hold, e.g. after a change of
    ``price.priced_sql`` that ``SOURCES`` misses) stops the COPY instead of reaching the file as
    NULL: no line's text is lost in silence."""
    table = code_name(column)
    return (
        f"CASE WHEN u.{column} IS NOT NULL AND {table}.code IS NULL "
        f"THEN error('rating.codes: no code for the {column} ' || u.{column}) "
        f"ELSE {table}.code END AS {column}"
    )


def decoded_sql(column: str) -> str:
    """SQL of the value of ``column`` of an ``encoded_sql`` row (its own SQL if not coded)."""
    if column not in SOURCES:
        return column
    return f"getvariable('{code_name(column)}')[{column}]"
