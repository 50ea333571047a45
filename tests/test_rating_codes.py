"""The rated lines' long repeated text as INTEGER codes through the rated COPY's sort
(``rating.codes``): codes rank as the values sort, every value a rated line can take has one, and
rows encoded, sorted and decoded are the rows sorted."""

import duckdb
import pytest

from billing_lib.rating.codes import create_codes, decoded_sql, encoded_sql

LINES = """
    CREATE TABLE l AS SELECT * FROM (VALUES
      ('S3', 'sku-b', NULL, 'GB out', 'z.csv', 'Usage'),
      ('EC2', 'sku-a', '{"a":"1"}', NULL, 'b.csv', 'Usage'),
      ('EC2', NULL, '{"a":"1"}', NULL, 'b.csv', 'Credit'))
    t(ServiceName, SkuId, Tags, ChargeDescription, x_SourceFile, ChargeCategory)"""
KEYS = "CREATE TABLE k AS SELECT * FROM (VALUES ('By the rule'), (NULL)) t(rule_description)"
CUSTOM = """
    CREATE TABLE c AS SELECT * FROM (VALUES ('Support', NULL, NULL, 'Monthly support', NULL))
    t(service, sku, tags, description, source_file)"""


@pytest.fixture
def coded():
    con = duckdb.connect()
    for sql in (LINES, KEYS, CUSTOM):
        con.execute(sql)
    create_codes(con, "l", "k", "c")
    yield con
    con.close()


def codes(con, column: str) -> list[tuple]:
    return con.execute(f"SELECT v, code FROM rating_code_{column} ORDER BY code").fetchall()


def test_codes_rank_every_value_of_the_lines_rules_and_custom_lines_as_they_sort(coded):
    assert codes(coded, "service") == [("EC2", 1), ("S3", 2), ("Support", 3)]
    assert codes(coded, "sku") == [("sku-a", 1), ("sku-b", 2)]  # NULL has no code
    assert codes(coded, "tags") == [('{"a":"1"}', 1)]
    assert codes(coded, "source_file") == [("b.csv", 1), ("z.csv", 2)]
    # a description is the rule's, else the first of the line's text that is set
    assert [v for v, _ in codes(coded, "description")] == [
        "By the rule",
        "Credit",
        "EC2",
        "GB out",
        "Monthly support",
        "S3",
        "Usage",
        "sku-a",
        "sku-b",
    ]
    got = coded.execute("SELECT getvariable('rating_code_service')").fetchall()
    assert got == [(["EC2", "S3", "Support"],)]


def test_rows_encoded_sorted_and_decoded_are_the_rows_sorted(coded):
    rows = """SELECT * FROM (VALUES
        ('z.csv', 1, 'S3', 'sku-b', NULL, 'GB out'),
        ('b.csv', 2, 'EC2', 'sku-a', '{"a":"1"}', 'By the rule'),
        (NULL, 3, 'Support', NULL, NULL, 'Monthly support'),
        ('b.csv', 1, NULL, NULL, NULL, 'Usage'))
        t(source_file, source_row, service, sku, tags, description)"""
    columns = ("source_file", "source_row", "service", "sku", "tags", "description")
    decoded = ", ".join(f"{decoded_sql(c)} AS {c}" for c in columns)
    got = coded.execute(
        f"SELECT {decoded} FROM (SELECT * FROM ({encoded_sql(rows)}) "
        "ORDER BY source_file, source_row)"
    ).fetchall()
    plain = f"SELECT * FROM ({rows}) ORDER BY source_file, source_row"
    assert got == coded.execute(plain).fetchall()
    assert got[0] == ("b.csv", 1, None, None, None, "Usage")
    assert got[-1] == (None, 3, "Support", None, None, "Monthly support")


def test_a_column_not_coded_is_its_own_sql():
    assert decoded_sql("subscription") == "subscription"
    assert decoded_sql("tags") == "getvariable('rating_code_tags')[tags]"


def test_a_value_without_a_code_stops_the_query_instead_of_becoming_null(coded):
    """A rated line's text the codes were not made from (a source ``SOURCES`` misses) is an
    error, not a NULL in the rated file."""
    rows = """SELECT * FROM (VALUES ('b.csv', 'EC2', NULL, NULL, 'Reserved hours'))
        t(source_file, service, sku, tags, description)"""
    with pytest.raises(duckdb.Error, match="no code for the description Reserved hours"):
        coded.execute(f"SELECT * FROM ({encoded_sql(rows)})").fetchall()
