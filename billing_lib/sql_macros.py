"""DuckDB temp macros given to a connection once: ``install_once``.

The importers' exact products (``importers.amounts``) and the rating's exact arithmetic
(``rating.exact``) are temp macros: they last as long as the connection, but not past a
transaction that made them and was rolled back. Creating a set of them costs a few milliseconds,
and so does asking a connection for a macro it lacks (DuckDB's error looks through every function
for a name to suggest): each costs more than some statements of a small month's import or rating,
and the test suite opens hundreds of connections (benchmarks/README.md, issue 13's nineteenth
pass). So a connection is asked only after it was given the macros, and a new one is given them
at once.
"""

from __future__ import annotations

import weakref

import duckdb

#: The probes of the macro sets each connection was given (forgotten with the connection).
_GIVEN: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, set[str]] = weakref.WeakKeyDictionary()


def install_once(con: duckdb.DuckDBPyConnection, macros: str, probe: str) -> None:
    """``macros`` (``CREATE OR REPLACE TEMP MACRO`` statements) on ``con`` unless it was given
    them and still has them: ``probe``, a statement using the last of them, answers on it. Call it
    outside a transaction where it may be rolled back (the macros made in it go with it, and a
    probe failing inside one aborts it)."""
    given = _GIVEN.setdefault(con, set())
    if probe in given and _answers(con, probe):
        return
    con.execute(macros)
    given.add(probe)


def _answers(con: duckdb.DuckDBPyConnection, probe: str) -> bool:
    """Whether ``probe`` runs on ``con`` (its result fetched: nothing left pending)."""
    try:
        con.execute(probe).fetchall()
    except duckdb.CatalogException:
        return False
    return True
