"""The importer's fast paths for Parquet (a view instead of a copy, binary values checked without
re-parsing) report the same rows and problems as the general path."""

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store

COLUMNS = {
    "identity/LineItemId": "VARCHAR", "identity/TimeInterval": "VARCHAR", "lineItem/LineItemType": "VARCHAR",
    "lineItem/UsageAccountId": "VARCHAR", "lineItem/UnblendedCost": "DOUBLE", "lineItem/CurrencyCode": "VARCHAR",
    "lineItem/UsageStartDate": "TIMESTAMP", "lineItem/ProductCode": "VARCHAR",
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
    got = con.execute("SELECT x_SourceRow, x_VendorLineId, BilledCost FROM lines ORDER BY 1").fetchall()
    assert got == [
        (1, "id0@2026-10-01T00:00:00Z/2026-10-02T00:00:00Z", Decimal("0.1")),
        (2, "id1@2026-10-01T00:00:00Z/2026-10-02T00:00:00Z", Decimal("0.0000000181")),
        (3, "id2@2026-10-01T00:00:00Z/2026-10-02T00:00:00Z", Decimal("12345.678901")),
        (4, "id3@2026-10-01T00:00:00Z/2026-10-02T00:00:00Z", Decimal("-2.5")),
    ]
    assert report.currencies[0].cost_after == Decimal("12343.2789010181")
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name LIKE '\\_\\_%' ESCAPE '\\'").fetchone() == (0,)


@pytest.mark.parametrize("bad", ["nan", "inf", "-1e30"])
def test_an_unreadable_binary_amount_is_reported_with_its_row(tmp_path, bad):
    path = write_parquet(tmp_path / "cur.parquet", ["1.5", "2.5", bad])
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (3, "lineItem/UnblendedCost")
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_a_csv_after_a_parquet_in_one_batch(tmp_path):
    """``__raw`` is a view for the Parquet file and a table for the CSV: both stage in one batch."""
    parquet = write_parquet(tmp_path / "a.parquet", ["1.25"])
    csv = tmp_path / "b.csv"
    csv.write_text(",".join(COLUMNS) + "\nid9,2026-10-02T00:00:00Z/2026-10-03T00:00:00Z,Usage,123456789012,"
                   "2.5,USD,2026-10-02T00:00:00Z,AmazonS3\n")
    con = open_store()
    import_reports(con, [parquet, csv])
    assert con.execute("SELECT x_SourceRow, BilledCost FROM lines ORDER BY BilledCost").fetchall() == [
        (1, Decimal("1.25")), (2, Decimal("2.5"))]


def test_lines_go_in_once_and_a_failed_batch_leaves_the_store_as_it_was(tmp_path):
    """Each file's lines are appended to ``lines`` inside the batch's transaction and checked there:
    a later bad file rolls the whole batch back, and a later import numbers its rows afresh."""
    first = write_parquet(tmp_path / "a.parquet", ["1.25", "2.5"])
    con = open_store()
    import_reports(con, [first])
    good = tmp_path / "b.csv"
    good.write_text(",".join(COLUMNS) + "\nidB,2026-10-02T00:00:00Z/2026-10-03T00:00:00Z,Usage,123456789012,"
                    "4,USD,2026-10-02T00:00:00Z,AmazonS3\n")
    bad = write_parquet(tmp_path / "c.parquet", ["nan"])
    with pytest.raises(InputError):
        import_reports(con, [good, bad])
    assert con.execute("SELECT count(*), sum(BilledCost) FROM lines").fetchone() == (2, Decimal("3.75"))
    assert con.execute("SELECT count(*) FROM imports").fetchone() == (1,)
    import_reports(con, [good])
    assert con.execute("SELECT x_SourceFile, x_SourceRow FROM lines WHERE BilledCost = 4").fetchone() == (str(good), 2)
    again = write_parquet(tmp_path / "d.parquet", ["9"])  # same vendor line id as a.parquet's first line
    with pytest.raises(InputError, match="already imported"):
        import_reports(con, [again])
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (3,)
