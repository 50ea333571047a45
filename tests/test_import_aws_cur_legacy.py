"""The real AWS legacy CUR sample imports with control totals equal to the file's own sums."""

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests.sample_totals import SAMPLES

CUR = SAMPLES / "aws-cur" / "cur-legacy-anonymous-2023-11.csv"


def own_sums(path: Path) -> tuple[int, Decimal, Counter]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    total = sum((Decimal(r["lineItem/UnblendedCost"] or "0") for r in rows), Decimal(0))
    return len(rows), total, Counter(r["lineItem/LineItemType"] for r in rows)


def test_legacy_cur_totals_match_the_files_own_sums():
    rows, total, types = own_sums(CUR)
    con = open_store()
    [report] = import_reports(con, [CUR])
    assert report.format == "aws_cur_legacy"
    assert report.rows == rows == 1281
    [usd] = report.currencies
    assert usd.currency == "USD"
    assert usd.cost_before == usd.cost_after == total
    assert report.lines_per_category == {"Usage": types["Usage"], "Tax": types["Tax"]}
    n, billed = con.execute("SELECT count(*), sum(BilledCost) FROM lines").fetchone()
    assert (n, billed) == (rows, total)


def test_every_line_leads_back_to_its_vendor_row():
    con = open_store()
    import_reports(con, [CUR])
    with open(CUR, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    got = con.execute(
        "SELECT x_SourceRow, x_VendorLineId, BilledCost FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert [r[0] for r in got] == list(range(2, len(rows) + 2))
    for source_row, line_id, cost in got[::97]:
        vendor = rows[source_row - 2]
        assert line_id == f"{vendor['identity/LineItemId']}@{vendor['identity/TimeInterval']}"
        assert cost == Decimal(vendor["lineItem/UnblendedCost"])


def test_reserved_instance_upfront_fee_is_amortised_not_counted_twice(tmp_path):
    """As AWS documents (and the FOCUS converter does): an RI's upfront payment is a Fee line with
    the reservation ARN; it is billed (BilledCost) but its EffectiveCost is 0, because the
    DiscountedUsage lines carry it amortised. A Fee without a reservation (e.g. support) keeps
    it."""
    with open(CUR, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        template = next(r for r in reader if r["lineItem/LineItemType"] == "Usage")
        header = [*reader.fieldnames, "reservation/ReservationARN"]
    arn = "arn:aws:ec2:eu-west-1:111122223333:reserved-instances/ri-1"
    rows = []
    for n, (kind, cost, effective, ri) in enumerate(
        [("Fee", "1000", "", arn), ("Fee", "29", "", ""), ("DiscountedUsage", "0", "1.37", arn)]
    ):
        row = dict(
            template,
            **{
                "lineItem/LineItemType": kind,
                "lineItem/UnblendedCost": cost,
                "reservation/EffectiveCost": effective,
                "reservation/ReservationARN": ri,
                "identity/LineItemId": f"ri-test-{n}",
            },
        )
        rows.append(row)
    path = tmp_path / "cur-with-ri.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows(rows)
    con = open_store()
    import_reports(con, [path])
    got = con.execute(
        "SELECT x_VendorChargeType, BilledCost, EffectiveCost FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [
        ("Fee", Decimal(1000), Decimal(0)),
        ("Fee", Decimal(29), Decimal(29)),
        ("DiscountedUsage", Decimal(0), Decimal("1.37")),
    ]
