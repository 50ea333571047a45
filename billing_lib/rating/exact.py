"""Exact division of DECIMAL amounts in DuckDB SQL: ``_xdiv(n, d)``.

DuckDB divides DECIMAL by DECIMAL as DOUBLE, so the rating divides through its own macros: the
quotient rounded to 12 places, half away from zero (= half-up for money), NULL when ``d`` is 0
(after rounding to 12 places). Both operands are taken as DECIMAL(38,12); ``n`` must stay below
8.5e13 (the limit of the 128-bit long division).

Two ways to the same result, because a 128-bit division per line dominated the rating of millions
of lines:

- ``_xdiv_long``: long division in HUGEINT; exact for every operand within the limit;
- the quick way of ``_xdiv``: the DOUBLE quotient, rounded to 12 places, is taken only when an exact
  check proves it is the half-up result: ``2 |n - q d| < |d| 1e-12`` (DECIMAL(38,24) arithmetic, no
  rounding) means ``q`` is the one 12-place number nearest to ``n / d`` and ``n / d`` is no tie.
  Every other case (ties, a DOUBLE off by a unit, operands of 1e13 and above, quotients of 1e9 and
  above) takes ``_xdiv_long``, written once in ``_xdiv12`` (the operand and quotient limits in
  a CASE inside the check's condition, so the check never runs on them): a macro is inlined
  where it is used, every time with its arguments, and each copy is planned.

Products the same way: ``_xmul(a, b)`` is ``CAST(a * b AS DECIMAL(38,12))`` (the exact product at
24 places rounded half away from zero), whose 128-bit rescaling was most of the rating's per-line
arithmetic (one such product over three million lines: 2.2 CPU-s; this way 0.2).
The DOUBLE product rounded to 12 places is taken when the exact check ``2 |a b - q| < 1e-12``
(DECIMAL(38,24), no rounding) proves it is that result; else the exact cast. Both operands are
taken as DECIMAL(38,12) (every operand the rating multiplies has at most 12 places).
"""

from __future__ import annotations

import duckdb

from billing_lib.money import SQL_AMOUNT
from billing_lib.sql_macros import install_once

DEC = SQL_AMOUNT
#: Operands and quotients of at least these take the long division (the quick check's products
#: stay within DECIMAL(38,24) below them).
QUICK_OPERAND_LIMIT = "1e13"
QUICK_QUOTIENT_LIMIT = "1e9"

SQL_MACROS = f"""
CREATE OR REPLACE TEMP MACRO _scaled(x) AS CAST(CAST(x AS {DEC}) * 1000000000000 AS HUGEINT);
CREATE OR REPLACE TEMP MACRO _xdiv_long(n, d) AS CASE WHEN _scaled(d) = 0 THEN NULL ELSE
  CAST(CAST(sign(_scaled(n)) * sign(_scaled(d))
            * ((abs(_scaled(n)) * 2000000000000 + abs(_scaled(d))) // (2 * abs(_scaled(d))))
       AS DECIMAL(38,0)) * CAST(0.000000000001 AS DECIMAL(13,12)) AS {DEC}) END;
CREATE OR REPLACE TEMP MACRO _xdiv_guess(n, d) AS
  CAST(CAST(n AS DOUBLE) / CAST(d AS DOUBLE) AS {DEC});
CREATE OR REPLACE TEMP MACRO _xdiv_holds(n, d, q) AS
  2 * abs(n - q * d) < abs(d) * CAST(0.000000000001 AS DECIMAL(13,12));
CREATE OR REPLACE TEMP MACRO _xdiv12(n, d) AS CASE
  WHEN d = 0 THEN NULL
  WHEN CASE WHEN abs(CAST(n AS DOUBLE)) >= {QUICK_OPERAND_LIMIT}
              OR abs(CAST(d AS DOUBLE)) >= {QUICK_OPERAND_LIMIT}
              OR abs(CAST(n AS DOUBLE) / CAST(d AS DOUBLE)) >= {QUICK_QUOTIENT_LIMIT} THEN false
            ELSE _xdiv_holds(n, d, _xdiv_guess(n, d)) END THEN _xdiv_guess(n, d)
  ELSE _xdiv_long(n, d) END;
CREATE OR REPLACE TEMP MACRO _xdiv(n, d) AS _xdiv12(CAST(n AS {DEC}), CAST(d AS {DEC}));
CREATE OR REPLACE TEMP MACRO _xmul_guess(a, b) AS
  CAST(CAST(a AS DOUBLE) * CAST(b AS DOUBLE) AS {DEC});
CREATE OR REPLACE TEMP MACRO _xmul12(a, b) AS CASE
  WHEN 2 * abs(a * b - _xmul_guess(a, b)) < CAST(0.000000000001 AS DECIMAL(13,12))
    THEN _xmul_guess(a, b)
  ELSE CAST(a * b AS {DEC}) END;
CREATE OR REPLACE TEMP MACRO _xmul(a, b) AS _xmul12(CAST(a AS {DEC}), CAST(b AS {DEC}));
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """``SQL_MACROS`` on ``con`` once: its temp macros last as long as the connection, and
    creating them took longer than some statements of a small month's rating (each rating and
    each what-if of a session installed them again). Made inside a transaction that was rolled
    back, they are gone: a connection given them before is asked for ``_xmul`` (the last one
    made, half a millisecond) and gets them again if it has none (``sql_macros.install_once``)."""
    install_once(con, SQL_MACROS, "SELECT _xmul(1, 1)")
