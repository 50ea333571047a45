"""AWS CUR 2.0: every line item type, in CSV, CSV.gz, Parquet and zip, against hand-computed
costs."""

import json
from collections import Counter
from decimal import Decimal

import pytest

from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests import cur2_sample as cur2


def _write(kind, tmp_path):
    if kind == "csv":
        return cur2.write_csv(tmp_path / "cur2-2024-05.csv")
    if kind == "csv.gz":
        return cur2.write_csv(tmp_path / "cur2-2024-05.csv.gz")
    if kind == "parquet":
        return cur2.write_parquet(tmp_path / "cur2-2024-05.snappy.parquet")
    return cur2.write_zip(tmp_path / "cur2-2024-05.zip", tmp_path)


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet", "zip"])
def test_every_line_item_type_gets_the_hand_computed_billed_and_effective_cost(kind, tmp_path):
    path = _write(kind, tmp_path)
    con = open_store()
    [report] = import_reports(con, [path])
    assert report.format == "aws_cur2"
    assert report.rows == len(cur2.ROWS) == 15
    got = {
        t: (b, e)
        for t, b, e in con.execute(
            "SELECT x_VendorChargeType, sum(BilledCost), sum(EffectiveCost) FROM lines GROUP BY 1"
        ).fetchall()
    }
    assert got == cur2.expected_by_type()
    # 1.81E-8 is kept exactly, also when Parquet stores it as a binary float
    tiny = con.execute(
        "SELECT BilledCost FROM lines WHERE x_VendorLineId LIKE 'li0015%'"
    ).fetchone()[0]
    assert tiny == Decimal("0.0000000181")
    categories = dict(
        con.execute(
            "SELECT x_VendorChargeType, any_value(ChargeCategory) FROM lines GROUP BY 1"
        ).fetchall()
    )
    assert categories == cur2.EXPECTED_CATEGORY
    assert report.lines_per_category == dict(
        Counter(cur2.EXPECTED_CATEGORY[r[0]] for r in cur2.ROWS)
    )
    [usd] = report.currencies
    assert usd.cost_before == usd.cost_after == sum(b for b, _ in cur2.expected_by_type().values())


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_mapping_of_accounts_tags_product_and_times(kind, tmp_path):
    path = _write(kind, tmp_path)
    first = 2 if kind == "csv" else 1  # spreadsheet row under a header, or Parquet record number
    con = open_store()
    import_reports(con, [path])
    row = con.execute(
        "SELECT SubAccountId, SubAccountName, BillingAccountId, ServiceName, RegionId, Tags, "
        "ChargePeriodStart, BillingPeriodEnd, x_VendorLineId, x_Vendor, ProviderName "
        "FROM lines WHERE x_SourceRow = ?",
        [first],
    ).fetchone()
    assert row[:5] == (
        "444455556666",
        "customer-a",
        "111122223333",
        "Amazon Elastic Compute Cloud",
        "eu-west-1",
    )
    assert json.loads(row[5]) == {"user_cost_center": "cc-100", "user_project": "web"}
    assert str(row[6]) == "2024-05-02 00:00:00" and str(row[7]) == "2024-06-01 00:00:00"
    assert row[8] == "li0001xbq7@2024-05-01T00:00:00Z/2024-06-01T00:00:00Z"
    assert row[9:] == ("aws", "AWS")
    # a line without tags has NULL Tags, not an empty object
    assert (
        con.execute("SELECT Tags FROM lines WHERE x_SourceRow = ?", [first + 1]).fetchone()[0]
        is None
    )


def test_parquet_rows_are_numbered_from_one(tmp_path):
    path = _write("parquet", tmp_path)
    con = open_store()
    import_reports(con, [path])
    rows = [r[0] for r in con.execute("SELECT x_SourceRow FROM lines ORDER BY 1").fetchall()]
    assert rows == list(range(1, 16))
