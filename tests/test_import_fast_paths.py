"""The importer's fast paths for Parquet (a view instead of a copy, binary values checked without
re-parsing) report the same rows and problems as the general path."""

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store

COLUMNS = {
    "identity/LineItemId": "VARCHAR",
    "identity/TimeInterval": "VARCHAR",
    "lineItem/LineItemType": "VARCHAR",
    "lineItem/UsageAccountId": "VARCHAR",
    "lineItem/UnblendedCost": "DOUBLE",
    "lineItem/CurrencyCode": "VARCHAR",
    "lineItem/UsageStartDate": "TIMESTAMP",
    "lineItem/ProductCode": "VARCHAR",
}


def write_parquet(path: Path, costs: list[str]) -> Path:
    """A legacy CUR Parquet file with one Usage line per cost (DOUBLE, as AWS writes it)."""
    rows = ", ".join(
        f"('id{i}', '2026-10-01T00:00:00Z/2026-10-02T00:00:00Z', 'Usage', '123456789012', "
        f"CAST('{c}' AS DOUBLE), 'USD', TIMESTAMP '2026-10-01 0{i % 10}:00:00', 'AmazonEC2')"
        for i, c in enumerate(costs)
    )
    names = ", ".join(f'"{n}"' for n in COLUMNS)
    duckdb.sql(f"COPY (SELECT * FROM (VALUES {rows}) t({names})) TO '{path}' (FORMAT parquet)")
    return path


def test_parquet_rows_are_numbered_by_their_place_in_the_file(tmp_path):
    path = write_parquet(tmp_path / "cur.parquet", ["0.1", "1.81e-08", "12345.678901", "-2.5"])
    con = open_store()
    [report] = import_reports(con, [path])
    got = con.execute(
        "SELECT x_SourceRow, x_VendorLineId, BilledCost FROM lines ORDER BY 1"
    ).fetchall()
    assert got == [
        (1, "id0@2026-10-01T00:00:00Z/2026-10-02T00:00:00Z", Decimal("0.1")),
        (2, "id1@2026-10-01T00:00:00Z/2026-10-02T00:00:00Z", Decimal("0.0000000181")),
        (3, "id2@2026-10-01T00:00:00Z/2026-10-02T00:00:00Z", Decimal("12345.678901")),
        (4, "id3@2026-10-01T00:00:00Z/2026-10-02T00:00:00Z", Decimal("-2.5")),
    ]
    assert report.currencies[0].cost_after == Decimal("12343.2789010181")
    assert con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE '\\_\\_%' ESCAPE '\\'"
    ).fetchone() == (0,)


@pytest.mark.parametrize("bad", ["nan", "inf", "-1e30"])
def test_an_unreadable_binary_amount_is_reported_with_its_row(tmp_path, bad):
    path = write_parquet(tmp_path / "cur.parquet", ["1.5", "2.5", bad])
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (3, "lineItem/UnblendedCost")
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_a_nan_amount_is_reported_with_its_row_when_the_statistics_leave_it_out(tmp_path):
    """pyarrow (as most Parquet writers) leaves NaN out of a column's min/max: DuckDB then took
    every value for a small finite one and failed casting the NaN, unnamed (was a raw error)."""
    path = write_parquet(tmp_path / "duckdb.parquet", ["1.5", "2.5", "3.5"])
    table = pq.read_table(path)
    at = table.schema.get_field_index("lineItem/UnblendedCost")
    nan = table.set_column(at, "lineItem/UnblendedCost", pa.array([1.5, float("nan"), 2.5]))
    pq.write_table(nan, tmp_path / "pyarrow.parquet")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [tmp_path / "pyarrow.parquet"])
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.value) == (2, "lineItem/UnblendedCost", "nan")


def test_a_csv_after_a_parquet_in_one_batch(tmp_path):
    """``__raw`` is a view for the Parquet file and a table for the CSV: both stage in one batch."""
    parquet = write_parquet(tmp_path / "a.parquet", ["1.25"])
    csv = tmp_path / "b.csv"
    csv.write_text(
        ",".join(COLUMNS) + "\nid9,2026-10-02T00:00:00Z/2026-10-03T00:00:00Z,Usage,123456789012,"
        "2.5,USD,2026-10-02T00:00:00Z,AmazonS3\n"
    )
    con = open_store()
    import_reports(con, [parquet, csv])
    assert con.execute(
        "SELECT x_SourceRow, BilledCost FROM lines ORDER BY BilledCost"
    ).fetchall() == [(1, Decimal("1.25")), (2, Decimal("2.5"))]


def test_lines_go_in_once_and_a_failed_batch_leaves_the_store_as_it_was(tmp_path):
    """Each file's lines are appended to ``lines`` inside the batch's transaction and checked there:
    a later bad file rolls the whole batch back, and a later import numbers its rows afresh."""
    first = write_parquet(tmp_path / "a.parquet", ["1.25", "2.5"])
    con = open_store()
    import_reports(con, [first])
    good = tmp_path / "b.csv"
    good.write_text(
        ",".join(COLUMNS) + "\nidB,2026-10-02T00:00:00Z/2026-10-03T00:00:00Z,Usage,123456789012,"
        "4,USD,2026-10-02T00:00:00Z,AmazonS3\n"
    )
    bad = write_parquet(tmp_path / "c.parquet", ["nan"])
    with pytest.raises(InputError):
        import_reports(con, [good, bad])
    assert con.execute("SELECT count(*), sum(BilledCost) FROM lines").fetchone() == (
        2,
        Decimal("3.75"),
    )
    assert con.execute("SELECT count(*) FROM imports").fetchone() == (1,)
    import_reports(con, [good])
    assert con.execute(
        "SELECT x_SourceFile, x_SourceRow FROM lines WHERE BilledCost = 4"
    ).fetchone() == (str(good), 2)
    again = write_parquet(
        tmp_path / "d.parquet", ["9"]
    )  # same vendor line id as a.parquet's first line
    with pytest.raises(InputError, match="already imported"):
        import_reports(con, [again])
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (3,)


def test_binary_amounts_are_the_decimals_their_shortest_text_says(tmp_path):
    """DOUBLE amounts below 2048 skip the text when a direct cast provably gives the same DECIMAL;
    checked here against the text path on edge values and on many generated ones."""
    edge = [
        "0.1",
        "2.675",
        "1.81e-08",
        "0.1234567890125",
        "2047.999999999999",
        "2048.000000000001",
        "12345.678901",
        "1000000.1",
        "110511910.36",
        "6861678137.0",
        "-0.0",
        "1e-13",
        "5e-13",
        "-1234.5678901234567",
        "0.30000000000000004",
    ]
    path = write_parquet(tmp_path / "edge.parquet", edge)
    con = open_store()
    import_reports(con, [path])
    got = dict(con.execute("SELECT x_SourceRow, BilledCost FROM lines").fetchall())
    expected = (
        duckdb.connect()
        .execute(
            f"""SELECT file_row_number + 1,
                   TRY_CAST(CAST("lineItem/UnblendedCost" AS VARCHAR) AS DECIMAL(38,12))
            FROM read_parquet('{path}', file_row_number = true)"""
        )
        .fetchall()
    )
    assert got == dict(expected)
    assert got[2] == Decimal("2.675") and got[4] == Decimal("0.123456789013")
    many = (
        duckdb.connect()
        .execute(
            """SELECT count(*) FILTER (
                 WHERE (CASE WHEN abs(x) < 2048
                                  AND CAST(CAST(x AS DECIMAL(38,12)) AS DOUBLE) = x
                             THEN CAST(x AS DECIMAL(38,12))
                             ELSE TRY_CAST(CAST(x AS VARCHAR) AS DECIMAL(38,12)) END)
                       IS DISTINCT FROM TRY_CAST(CAST(x AS VARCHAR) AS DECIMAL(38,12)))
           FROM (SELECT CAST(round((CAST(hash(i) % 2000001 AS BIGINT) - 1000000)
                                   * pow(10, (i % 9) - 6) / 1000.0,
                                   CAST(i % 15 AS INTEGER)) AS DOUBLE) AS x
                 FROM range(200000) r(i))"""
        )
        .fetchone()
    )
    assert many == (0,)


def test_iso_z_timestamps_read_the_same_by_the_fast_way(tmp_path):
    """Text timestamps in the commonest form skip the offset regex; every value, valid or not,
    types as the general way (instant with offset or Z -> UTC; else the format's own forms) does."""
    import itertools

    from billing_lib.importers import values as typed
    from billing_lib.importers.spec import spec_named
    from billing_lib.sql import ql

    values = [
        "2026-10-01T00:00:00Z",
        "2026-10-01T24:00:00Z",
        "2026-10-01 10:00:00Z",
        "2026-10-01T10:00:00+02:00",
        "2026-10-01T10:00:00.123Z",
        "10/01/2026",
        "2026-10-01",
        "2026-10-01T10:00Z",
        " 2026-10-01T10:00:00Z ",
        "2026-10-01t10:00:00Z",
        "2026-10-01T10:00:00z",
        "2026-10-01T10:00:00",
        "x",
        "",
    ]
    values += [
        f"{y}-{m}-{d}T{h}:{mi}:{s}Z"
        for y, m, d, h, mi, s in itertools.product(
            ["2026", "2024", "0001"],
            ["01", "02", "13"],
            ["01", "29", "31", "32"],
            ["00", "23", "24"],
            ["00", "59", "60"],
            ["00", "60"],
        )
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    for name in ("aws_cur_legacy", "azure_cost_export", "focus"):
        spec = spec_named(name)
        naive = ", ".join(f"TRY_STRPTIME(trim(x), {ql(f)})" for f in spec.timestamp_formats)
        general = (
            f"CASE WHEN regexp_full_match(trim(x), {ql(typed._OFFSET_RE)}) "
            f"THEN timezone('UTC', TRY_CAST(trim(x) AS TIMESTAMPTZ)) "
            f"ELSE COALESCE({naive}, TRY_CAST(trim(x) AS TIMESTAMP)) END"
        )
        fast = typed.timestamp_from_text("x", spec)
        assert con.execute(
            f"SELECT list(x) FILTER (WHERE ({general}) IS DISTINCT FROM ({fast})) FROM t"
        ).fetchone() == (None,)
    # the fast way does read them: 24:00 is the next day (as ISO 8601 says), a bad day is no value
    assert con.execute(
        f"SELECT {typed.timestamp_from_text('x', spec_named('aws_cur_legacy'))} FROM t "
        "WHERE x IN ('2026-10-01T24:00:00Z', '2026-02-29T00:00:00Z') ORDER BY x"
    ).fetchall() == [(None,), (datetime(2026, 10, 2),)]


def test_lines_of_a_parquet_file_are_stored_in_its_order(tmp_path):
    """Ten row groups read on two threads: the lines are appended in the file's order (DuckDB's
    batch insert), and the optimizer setting the insert changes is back as it was after."""
    path = tmp_path / "cur.parquet"
    names = list(COLUMNS)
    duckdb.sql(
        f"""COPY (SELECT 'id' || i AS "{names[0]}",
                   '2026-10-01T00:00:00Z/2026-10-01T01:00:00Z' AS "{names[1]}",
                   CASE WHEN i % 7 = 0 THEN 'Tax' ELSE 'Usage' END AS "{names[2]}",
                   '123456789012' AS "{names[3]}", CAST(i % 100 AS DOUBLE) / 8 AS "{names[4]}",
                   'USD' AS "{names[5]}", TIMESTAMP '2026-10-01 00:00:00' AS "{names[6]}",
                   'AmazonEC2' AS "{names[7]}"
                 FROM range(20000) t(i))
            TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)"""
    )
    con = open_store(threads=2)
    import_reports(con, [path])
    assert con.execute(
        "SELECT count(*), count(*) FILTER (WHERE x_SourceRow <> rowid + 1) FROM lines"
    ).fetchone() == (20000, 0)
    assert con.execute("SELECT current_setting('disabled_optimizers')").fetchone() == ("",)
