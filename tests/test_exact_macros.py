"""``install_macros`` and ``install_amount_macros``: the exact-arithmetic macros given to a
connection once, and to each."""

from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from billing_lib.importers.amounts import install_amount_macros
from billing_lib.rating import install_macros


def third(con: duckdb.DuckDBPyConnection) -> Decimal:
    return con.execute("SELECT _xdiv(1, 3)").fetchall()[0][0]


def test_install_macros_gives_a_connection_the_macros_once():
    con = duckdb.connect()
    install_macros(con)
    assert third(con) == Decimal("0.333333333333")
    con.execute("DROP MACRO _xdiv")
    install_macros(con)  # not created again: they last as long as the connection
    with pytest.raises(duckdb.CatalogException):
        third(con)


def test_macros_made_in_a_transaction_rolled_back_are_made_again():
    con = duckdb.connect()
    con.execute("BEGIN")
    install_macros(con)
    con.execute("ROLLBACK")  # takes the macros made in it along
    install_macros(con)
    assert third(con) == Decimal("0.333333333333")


def test_install_macros_gives_every_new_connection_its_own():
    first, second = duckdb.connect(), duckdb.connect()
    install_macros(first)
    with pytest.raises(duckdb.CatalogException):
        third(second)
    install_macros(second)
    assert third(second) == Decimal("0.333333333333")


def test_a_connection_given_the_macros_again_runs_its_next_statements():
    """Asking a connection for its macros leaves no unfinished result behind (DuckDB refuses to
    register a table on a connection while a result is pending: the rating's next step)."""
    con = duckdb.connect()
    install_macros(con)
    install_macros(con)
    con.register("rows", pa.table({"n": [1, 2]}))
    assert con.execute("SELECT sum(_xmul(n, 2)) FROM rows").fetchall() == [(Decimal(6),)]


def test_the_importers_macros_are_given_once_beside_the_ratings():
    """Both sets of macros are recorded per connection on their own: giving one does not count
    as giving the other, and a rolled-back transaction's are made again."""
    con = duckdb.connect()
    install_macros(con)
    con.execute("BEGIN")
    install_amount_macros(con)
    con.execute("ROLLBACK")  # the importers' macros go, the rating's made before stay
    install_amount_macros(con)
    assert con.execute("SELECT _amount_mul(2.5, 4), _xdiv(1, 4)").fetchall() == [
        (Decimal("10"), Decimal("0.25"))
    ]
