"""billing_lib.sql: text and names reach DuckDB as they are, quotes included."""

from __future__ import annotations

from datetime import date

import duckdb

from billing_lib.sql import qi, ql, timestamp_literal


def test_a_literal_with_quotes_reads_back_as_the_text():
    text = "O'Brien's ''x''"
    con = duckdb.connect()
    assert con.execute(f"SELECT {ql(text)}").fetchone()[0] == text


def test_a_name_with_double_quotes_is_one_column():
    name = 'Cost "net"'
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({qi(name)} INTEGER)")
    assert [r[0] for r in con.execute("DESCRIBE t").fetchall()] == [name]


def test_a_path_with_a_quote_is_written_and_read(tmp_path):
    target = tmp_path / "it's here.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 42 AS answer) TO {ql(target)} (FORMAT parquet)")
    assert con.execute(f"SELECT answer FROM read_parquet({ql(target)})").fetchone()[0] == 42


def test_a_timestamp_literal_is_midnight_of_the_day():
    con = duckdb.connect()
    value = con.execute(f"SELECT {timestamp_literal(date(2026, 10, 1))}").fetchone()[0]
    assert value.isoformat() == "2026-10-01T00:00:00"
