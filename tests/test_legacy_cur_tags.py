"""Every resource-tag column of a legacy CUR is read into the line's tags, keyed as the CUR 2.0
names them, so a ``tag:`` line grouping reads both formats alike (E7)."""

from __future__ import annotations

import duckdb
import pytest

from billing_lib.importers import import_reports
from billing_lib.importers.spec import cur2_tag_key
from billing_lib.store import open_store
from tests.test_aws_commitments import CUR

LEGACY = (
    "identity/LineItemId,lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,"
    "lineItem/ProductCode,lineItem/UnblendedCost,lineItem/CurrencyCode,"
    "resourceTags/user:CostCenter,resourceTags/user:cost_center,resourceTags/aws:createdBy,"
    "resourceTags/user:Project\n"
    "li1,402719385610,Usage,2026-10-05T00:00:00Z,AmazonEC2,1.5,USD,bim,,AROA1:alice,revit\n"
    "li2,402719385610,Usage,2026-10-05T00:00:00Z,AmazonEC2,1.5,USD,,finance,,\n"
    "li3,402719385610,Usage,2026-10-05T00:00:00Z,AmazonEC2,1.5,USD,,,,\n"
)


@pytest.mark.parametrize(
    ("legacy", "cur2"),
    [
        ("user:CostCenter", "user_cost_center"),
        ("user:cost_center", "user_cost_center"),
        ("aws:createdBy", "aws_created_by"),
        ("user:Project", "user_project"),
        ("user:cost-center 2", "user_cost_center_2"),
    ],
)
def test_a_legacy_tag_is_keyed_as_the_cur_2_names_it(legacy, cur2):
    assert cur2_tag_key(legacy) == cur2


def test_every_resource_tag_column_is_read_not_two_of_them(tmp_path):
    path = tmp_path / "cur-00001.csv"
    path.write_text(LEGACY)
    con = open_store()
    import_reports(con, [path])
    assert con.execute("SELECT Tags FROM lines ORDER BY x_SourceRow").fetchall() == [
        ('{"aws_created_by":"AROA1:alice","user_cost_center":"bim","user_project":"revit"}',),
        ('{"user_cost_center":"finance"}',),  # the other spelling of the same key
        (None,),
    ]


def test_the_sample_month_as_a_legacy_cur_has_the_cur_2_s_tags(tmp_path):
    """The sample CUR 2.0 written as a legacy CUR (its tags user_cost_center and user_project as
    resourceTags/user:CostCenter and resourceTags/user:Project): every line has the same tags."""
    legacy = tmp_path / "northwind-cur-00001.csv"
    duckdb.execute(
        f"""COPY (SELECT identity_line_item_id AS "identity/LineItemId",
                         identity_time_interval AS "identity/TimeInterval",
                         line_item_usage_account_id AS "lineItem/UsageAccountId",
                         line_item_line_item_type AS "lineItem/LineItemType",
                         strftime(line_item_usage_start_date AT TIME ZONE 'UTC',
                                  '%Y-%m-%dT%H:%M:%SZ') AS "lineItem/UsageStartDate",
                         line_item_product_code AS "lineItem/ProductCode",
                         CAST(line_item_unblended_cost AS VARCHAR) AS "lineItem/UnblendedCost",
                         line_item_currency_code AS "lineItem/CurrencyCode",
                         resource_tags['user_cost_center'] AS "resourceTags/user:CostCenter",
                         resource_tags['user_project'] AS "resourceTags/user:Project"
                  FROM '{CUR}') TO '{legacy}' (HEADER)"""
    )
    tags = {}
    for path in (CUR, legacy):
        con = open_store()
        import_reports(con, [path])
        tags[path.name] = con.execute(
            "SELECT x_VendorLineId, Tags FROM lines ORDER BY 1"
        ).fetchall()
    assert tags[CUR.name] == tags[legacy.name]
    assert sum(1 for _, t in tags[CUR.name] if t) == 279


def test_two_tag_columns_differing_only_in_case_are_both_read(tmp_path):
    """AWS tag keys are case-sensitive: a legacy CUR whose resources are tagged both ``Name``
    and ``name`` has the columns resourceTags/user:Name and resourceTags/user:name. Its import
    stopped with DuckDB's "Duplicate named argument" as a file that "cannot be parsed as
    comma-separated UTF-8 text"; both are one CUR 2.0 key, user_name."""
    path = tmp_path / "cur-00001.csv"
    path.write_text(
        "identity/LineItemId,lineItem/UsageAccountId,lineItem/LineItemType,"
        "lineItem/UsageStartDate,lineItem/ProductCode,lineItem/UnblendedCost,"
        "lineItem/CurrencyCode,resourceTags/user:Name,resourceTags/user:name\n"
        "li1,402719385610,Usage,2026-10-05T00:00:00Z,AmazonEC2,1.5,USD,web,\n"
        "li2,402719385610,Usage,2026-10-05T00:00:00Z,AmazonEC2,2.5,USD,,db\n"
    )
    con = open_store()
    [report] = import_reports(con, [path])
    assert report.currencies[0].cost_after == 4
    assert con.execute("SELECT Tags FROM lines ORDER BY x_SourceRow").fetchall() == [
        ('{"user_name":"web"}',),
        ('{"user_name":"db"}',),
    ]
