"""Exact products of two amounts in the importers' SQL: ``_amount_mul(a, b)``.

DuckDB multiplies DECIMAL(38,12) by DECIMAL(38,12) as DECIMAL(38,24): 24 places leave 14 digits
before the point, so a product of 10^14 or more (a unit price x a large quantity, points x a price
per point) overflowed although DECIMAL(38,12), the line model's amounts, holds 10^26. The product
is therefore taken in three parts that each stay within 38 digits: ``a`` x the whole part of
``b`` and the whole part of ``a`` x the fraction of ``b``, both at 12 places and exact, and the two
fractions' product (below 1), rounded to 12 places half away from zero. The parts have the sign
of the product (whole parts and fractions are truncated towards zero), so their sum is the exact
product rounded once, half away from zero, as ``CAST(a * b AS DECIMAL(38,12))`` rounds where it
does not overflow. A product of 10^26 or more does not fit: an error, or NULL under ``TRY``.

Products below 10^13 in size (every vendor's bill), by the DOUBLE estimate, take DuckDB's own
product, the same value in one multiplication.

A DuckDB macro is text put in place of its call: each parameter is copied wherever the body names
it, six or seven times here. A format's mapping nests products (a unit price x an exchange rate x
a quantity x a proration factor), and three nested calls copied the innermost arguments some three
hundred times: binding and optimising the Microsoft invoice file's insert took 70-110 ms for 19
lines (benchmarks/README.md, issue 13's nineteenth pass). ``_amount_mul`` therefore hands its two
arguments to the product as the one element of a list, so each is written, and evaluated, once.
"""

from __future__ import annotations

import duckdb

from billing_lib.azure_regions import AZURE_REGION_MACRO
from billing_lib.money import SQL_AMOUNT
from billing_lib.sql_macros import install_once

DEC = SQL_AMOUNT
#: The name of the macro, and of its DOUBLE twin, the size of a product too large for any
#: DECIMAL (``line_checks.check_overflow`` shows it).
AMOUNT_MUL = "_amount_mul"
AMOUNT_MUL_DOUBLE = "_amount_mul_double"
#: An amount's exact text without the 12 places' trailing zeros (84, 18.5), for messages.
NUMBER_TEXT = "_number_text"

AMOUNT_MACROS = f"""
CREATE OR REPLACE TEMP MACRO _amount_mul_wide(a, b) AS
  CAST(a * CAST(trunc(b) AS DECIMAL(38,0)) AS {DEC})
  + CAST(CAST(trunc(a) AS DECIMAL(38,0)) * (b - trunc(b)) AS {DEC})
  + CAST((a - trunc(a)) * (b - trunc(b)) AS {DEC});
CREATE OR REPLACE TEMP MACRO _amount_mul12(a, b) AS CASE
  WHEN abs(CAST(a AS DOUBLE) * CAST(b AS DOUBLE)) < 1e13 THEN CAST(a * b AS {DEC})
  ELSE _amount_mul_wide(a, b) END;
CREATE OR REPLACE TEMP MACRO {AMOUNT_MUL}(a, b) AS
  list_transform([{{'a': CAST(a AS {DEC}), 'b': CAST(b AS {DEC})}}],
                 lambda p: _amount_mul12(p.a, p.b))[1];
CREATE OR REPLACE TEMP MACRO {AMOUNT_MUL_DOUBLE}(a, b) AS CAST(a AS DOUBLE) * CAST(b AS DOUBLE);
CREATE OR REPLACE TEMP MACRO {NUMBER_TEXT}(a) AS
  regexp_replace(regexp_replace(CAST(a AS VARCHAR), '(\\.[0-9]*?)0+$', '\\1'), '\\.$', '');
"""
#: Every macro the formats' mappings call.
IMPORT_MACROS = AMOUNT_MACROS + AZURE_REGION_MACRO


def install_amount_macros(con: duckdb.DuckDBPyConnection) -> None:
    """``AMOUNT_MACROS`` and the Azure region macro the Microsoft formats' mappings call
    (``azure_regions.AZURE_REGION_MACRO``) on ``con`` unless it has them, in one statement and
    one probe; call it outside a transaction (``import_reports`` does, before it begins its own):
    temp macros made inside one that is rolled back (a refused report) are gone
    (``sql_macros.install_once``)."""
    install_once(
        con,
        IMPORT_MACROS,
        f"SELECT {AMOUNT_MUL_DOUBLE}(1, 1), {NUMBER_TEXT}(1), _azure_region('x')",
    )
