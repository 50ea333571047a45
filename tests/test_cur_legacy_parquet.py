"""A legacy CUR delivered as Parquet (the Athena integration) names its columns as CUR 2.0 does
(line_item_unblended_cost), so it is read as aws_cur2, but it has no product or resource_tags map:
product_product_name and one resource_tags_<key> column per tag instead. Its lines took the
service code as ServiceName (a price rule matching `service: Amazon Elastic Compute Cloud`
missed them) and lost every tag (an invoice grouped by tag put all under "no tag")."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from billing_lib.importers import import_reports
from billing_lib.store import open_store


def _legacy_parquet(path):
    start, end = datetime(2026, 10, 5), datetime(2026, 10, 6)
    table = pa.table(
        {
            "identity_line_item_id": ["li1", "li2", "li3"],
            "identity_time_interval": ["2026-10-05T00:00:00Z/2026-10-06T00:00:00Z"] * 3,
            "bill_billing_entity": ["AWS", "AWS", "AWS Marketplace"],
            "bill_payer_account_id": ["111122223333"] * 3,
            "line_item_usage_account_id": ["402719385610"] * 3,
            "line_item_line_item_type": ["Usage"] * 3,
            "line_item_usage_start_date": [start] * 3,
            "line_item_usage_end_date": [end] * 3,
            "line_item_product_code": ["AmazonEC2", "AmazonS3", "prod-abc123"],
            "line_item_usage_amount": [24.0, 10.0, 1.0],
            "line_item_unblended_cost": [2.76, 0.23, 5.0],
            "line_item_currency_code": ["USD"] * 3,
            "product_product_name": [
                "Amazon Elastic Compute Cloud",
                "Amazon Simple Storage Service",
                "Acme Firewall",
            ],
            "product_servicecode": ["AmazonEC2", "AmazonS3", None],
            "product_region": ["eu-central-1", "eu-central-1", None],
            "resource_tags_user_cost_center": ["bim", None, None],
            "resource_tags_user_project": ["revit", "archive", None],
        }
    )
    pq.write_table(table, path)
    return path


def test_a_legacy_cur_in_parquet_keeps_service_names_region_and_tags(tmp_path):
    path = _legacy_parquet(tmp_path / "cur-legacy-00001.snappy.parquet")
    con = open_store()
    [report] = import_reports(con, [path])
    assert report.format == "aws_cur2"
    got = con.execute(
        "SELECT ServiceName, PublisherName, RegionId, Tags FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [
        (
            "Amazon Elastic Compute Cloud",
            "AWS",
            "eu-central-1",
            '{"user_cost_center":"bim","user_project":"revit"}',
        ),
        ("Amazon Simple Storage Service", "AWS", "eu-central-1", '{"user_project":"archive"}'),
        ("Acme Firewall", "Acme Firewall", None, None),
    ]
