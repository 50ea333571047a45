"""An AWS resource is named as its owner named it, by its ``Name`` tag, on the invoice line and in
the usage sheets (its id beside the name there); the machine-readable detail file keeps its id."""

from __future__ import annotations

import duckdb
import openpyxl
import pytest

from billing_lib.importers import import_reports
from billing_lib.line_labels import resource_label_sql, resource_name_sql
from billing_lib.store import open_store
from billing_lib.workbooks import write_workbooks
from tests import rating_helpers
from tests.invoice_helpers import line
from tests.test_workbooks import make, with_limit

INSTANCE = "i-0abc1234def567890"


@pytest.mark.parametrize(
    ("resource_id", "resource_name", "tags", "name"),
    [
        # CUR 2.0 resource_tags, and a legacy CUR's resourceTags/user:Name read under its key
        (INSTANCE, INSTANCE, '{"user_name":"web-prod-01"}', "web-prod-01"),
        # a FOCUS export's Tags, as AWS writes them
        (INSTANCE, None, '{"user:Name": "web-prod-01", "user:Team": "ops"}', "web-prod-01"),
        ("arn:aws:rds:eu-central-1:1:db:x7", None, '{"user_name":"ehr-db"}', "ehr-db"),
        # a name the vendor gives the resource is its name (an Azure resource's)
        ("/subscriptions/s/vm-1", "vm-1", '{"user_name":"other"}', "vm-1"),
        # without a Name tag, or a blank one: an id AWS made is no name, the account's name
        # stands in (the invoice line read "Amazon Elastic Compute Cloud – i-0abc1234def567890")
        (INSTANCE, INSTANCE, '{"user_project":"lab"}', "acct"),
        (INSTANCE, INSTANCE, '{"user_name":"  "}', "acct"),
        (INSTANCE, INSTANCE, None, "acct"),
        (INSTANCE, None, None, "acct"),
        ("vol-0123abcd", "vol-0123abcd", None, "acct"),  # an id of the older, 8-digit form
        ("arn:aws:ec2:eu-central-1:1:natgateway/nat-0abc1234def567890", None, None, "acct"),
        # a name its owner chose is a name: a bucket, an RDS instance, one that reads like an id
        ("vll-prod-data", "vll-prod-data", None, "vll-prod-data"),
        ("arn:aws:rds:eu-central-1:1:db:ehr", None, None, "ehr"),
        ("i-love-lamp-0123abcd", "i-love-lamp-0123abcd", None, "i-love-lamp-0123abcd"),
        # an id the vendor gives a name of its own is named so
        (INSTANCE, "web-prod-02", None, "web-prod-02"),
        # a line without a resource is the account's
        (None, None, '{"user_name":"web-prod-01"}', "acct"),
    ],
)
def test_a_resource_without_a_name_of_its_own_is_named_by_its_name_tag_else_its_account(
    resource_id, resource_name, tags, name
):
    row = (
        "(SELECT CAST(? AS VARCHAR) AS i, CAST(? AS VARCHAR) AS n, CAST(? AS VARCHAR) AS a, "
        "CAST(? AS VARCHAR) AS t)"
    )
    sql = f"SELECT {resource_name_sql('i', 'n', 'a', 't')} FROM {row}"
    got = duckdb.connect().execute(sql, [resource_id, resource_name, "acct", tags]).fetchall()
    assert got == [(name,)]


#: An Application Load Balancer as a CUR names it: its name, then the id AWS gave it.
ALB = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-shop-alb/"
    "50dc6c495c0c9188"
)
ELB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"


@pytest.mark.parametrize(
    ("resource_id", "resource_name", "name"),
    [
        (ALB, None, "my-shop-alb"),
        (ALB, ALB, "my-shop-alb"),  # a FOCUS export's ResourceName, the ARN again
        (ALB + "/", None, "my-shop-alb"),
        (f"{ELB}loadbalancer/net/my-shop-nlb/a1b2c3d4e5f60718", None, "my-shop-nlb"),
        (f"{ELB}loadbalancer/gwy/inspection-gwlb/0f1e2d3c4b5a6978", None, "inspection-gwlb"),
        (f"{ELB}targetgroup/shop-web-tg/73e2d6bc24d8a067", None, "shop-web-tg"),
        (
            "arn:aws-cn:elasticloadbalancing:cn-north-1:1:targetgroup/cn-tg/73e2d6bc24d8a067",
            None,
            "cn-tg",
        ),
        # a listener and a listener rule are named after their load balancer
        (f"{ELB}listener/app/my-shop-alb/50dc6c495c0c9188/f2f7dc8efc522ab2", None, "my-shop-alb"),
        (f"{ELB}listener/net/my-shop-nlb/a1b2c3d4e5f60718/0123456789abcdef/", None, "my-shop-nlb"),
        (
            f"{ELB}listener-rule/app/my-shop-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/"
            "9683b2d02a6cabee",
            None,
            "my-shop-alb",
        ),
        # an id too few or too many is not a listener's ARN: its last segment, as any ARN
        (f"{ELB}listener/app/my-shop-alb/50dc6c495c0c9188", None, "50dc6c495c0c9188"),
        (
            f"{ELB}listener/app/my-shop-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
            None,
            "9683b2d02a6cabee",
        ),
        (f"{ELB}loadbalancer/app/a/50dc6c495c0c9188/f2f7dc8efc522ab2", None, "f2f7dc8efc522ab2"),
        # a Classic Load Balancer's ARN ends in its name
        (f"{ELB}loadbalancer/shop-classic", None, "shop-classic"),
        # a name the vendor gives, a Name tag's is the name still
        (ALB, "shop-frontend", "shop-frontend"),
        # the last segment is the name, not an id: kept (no other ARN changes)
        (f"{ELB}targetgroup/shop-web-tg/blue", None, "blue"),
        ("arn:aws:ecs:eu-west-1:1:service/prod-cluster/web", None, "web"),
        ("arn:aws:ec2:eu-west-1:1:res/app/x/50dc6c495c0c9188", None, "50dc6c495c0c9188"),
    ],
)
def test_a_load_balancer_is_named_by_its_name_not_the_id_after_it(resource_id, resource_name, name):
    """An Elastic Load Balancing ARN ends in ``loadbalancer/app/<name>/<id>`` (``net``, ``gwy``)
    or ``targetgroup/<name>/<id>``: the invoice line read "Elastic Load Balancing –
    50dc6c495c0c9188", the id AWS generated, for the load balancer its owner named
    my-shop-alb."""
    row = "(SELECT CAST(? AS VARCHAR) AS i, CAST(? AS VARCHAR) AS n, CAST(? AS VARCHAR) AS a)"
    sql = f"SELECT {resource_name_sql('i', 'n', 'a')} FROM {row}"
    got = duckdb.connect().execute(sql, [resource_id, resource_name, "acct"]).fetchall()
    assert got == [(name,)]


def test_a_load_balancer_s_invoice_line_reads_its_name(tmp_path):
    """A rated line of an Application Load Balancer is named as its owner named it; the usage
    sheet shows the ARN, which holds the name (``resource_label_sql``)."""
    plans = rating_helpers.group_plan("{id: all, kind: pass_through}")
    rows = [
        rating_helpers.line(
            ServiceName="Elastic Load Balancing", ResourceId=ALB, ResourceName=None, Tags=None
        )
    ]
    con, _ = rating_helpers.rated_month(
        tmp_path, plans, rows, rating_helpers.CUSTOMERS, rating_helpers.ACCOUNTS
    )
    label = resource_label_sql("subscription", "subscription_name")
    got = con.execute(f"SELECT subscription_name, {label} FROM rated_lines").fetchall()
    assert got == [("my-shop-alb", ALB)]


@pytest.mark.parametrize(
    ("resource", "name", "label"),
    [
        (INSTANCE, "web-prod-01", f"web-prod-01 ({INSTANCE})"),
        ("402719385610", "dijkstra-prod", "dijkstra-prod (402719385610)"),
        (INSTANCE, INSTANCE, INSTANCE),  # no name but the id
        ("arn:aws:s3:::dijkstra-data", "dijkstra-data", "arn:aws:s3:::dijkstra-data"),
        (INSTANCE, None, INSTANCE),
        (None, "acct", None),
    ],
)
def test_a_usage_sheet_shows_a_resource_s_name_beside_its_id(resource, name, label):
    row = "(SELECT CAST(? AS VARCHAR) AS r, CAST(? AS VARCHAR) AS n)"
    sql = f"SELECT {resource_label_sql('r', 'n')} FROM {row}"
    assert duckdb.connect().execute(sql, [resource, name]).fetchall() == [(label,)]


LEGACY = (
    "identity/LineItemId,lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,"
    "lineItem/ProductCode,lineItem/ResourceId,lineItem/UnblendedCost,lineItem/CurrencyCode,"
    "resourceTags/user:Name,resourceTags/user:Project\n"
    f"li1,402719385610,Usage,2026-10-05T00:00:00Z,AmazonEC2,{INSTANCE},1.5,USD,web-prod-01,bim\n"
    "li2,402719385610,Usage,2026-10-05T00:00:00Z,AmazonEC2,i-0other,1.5,USD,,bim\n"
)


def test_a_legacy_cur_s_name_tag_names_its_resource(tmp_path):
    """The tag as the importer keeps it (``resourceTags/user:Name`` as ``user_name``) is the one
    the rating reads."""
    path = tmp_path / "cur-00001.csv"
    path.write_text(LEGACY)
    con = open_store()
    import_reports(con, [path])
    name = resource_name_sql("ResourceId", "ResourceName", "SubAccountName", "Tags")
    got = con.execute(f"SELECT ResourceId, {name} FROM lines ORDER BY x_SourceRow").fetchall()
    assert got == [(INSTANCE, "web-prod-01"), ("i-0other", "i-0other")]


def test_a_rated_line_is_named_by_its_resource_s_name_tag(tmp_path):
    plans = rating_helpers.group_plan("{id: all, kind: pass_through}")
    rows = [
        rating_helpers.line(
            ResourceId=INSTANCE, ResourceName=INSTANCE, Tags='{"user_name":"web-prod-01"}'
        ),
        rating_helpers.line(ResourceId="i-0other", ResourceName="i-0other"),
        # an instance without a Name tag: its account's name, not its id
        rating_helpers.line(
            ResourceId="i-0123456789abcdef0",
            ResourceName="i-0123456789abcdef0",
            SubAccountName="vll-prod",
            Tags='{"user_project":"tms-prod"}',
        ),
    ]
    con, _ = rating_helpers.rated_month(
        tmp_path, plans, rows, rating_helpers.CUSTOMERS, rating_helpers.ACCOUNTS
    )
    got = con.execute(
        "SELECT subscription, subscription_name FROM rated_lines ORDER BY subscription"
    ).fetchall()
    assert got == [
        ("i-0123456789abcdef0", "vll-prod"),
        (INSTANCE, "web-prod-01"),
        ("i-0other", "i-0other"),
    ]


def _named_rows(count: int = 1) -> list[dict]:
    """C003's EC2 lines of one named instance (``count`` of them) and one S3 bucket by ARN."""
    rows = [
        line(
            "C003",
            "1.25",
            subscription=INSTANCE,
            subscription_name="web-prod-01",
            source_row=2 + k,
        )
        for k in range(count)
    ]
    return [
        *rows,
        line(
            "C003",
            "2.50",
            service="Amazon S3",
            subscription="arn:aws:s3:::dijkstra-data",
            subscription_name="dijkstra-data",
            source_row=99,
        ),
    ]


def _resources(ws, header_row: int) -> list[str]:
    header = [c.value for c in ws[header_row]]
    col = header.index("Subscription / resource")
    return [r[col].value for r in ws.iter_rows(min_row=header_row + 1)]


def test_the_usage_sheet_names_the_resource_and_the_detail_file_keeps_its_id(tmp_path):
    """A usage sheet's "Subscription / resource" read "i-0abc1234def567890" for an instance its
    owner named "web-prod-01": it reads "web-prod-01 (i-0abc1234def567890)". The detail file
    for the customer's tools keeps the id in ``subscription`` and the name in
    ``subscription_name``."""
    con, [inv], invoicing = make(tmp_path, _named_rows())
    [book, detail, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(book)["Usage Amazon Web Services"]
    assert _resources(ws, 1) == [f"web-prod-01 ({INSTANCE})", "arn:aws:s3:::dijkstra-data"]
    got = duckdb.execute(
        "SELECT subscription, subscription_name FROM read_parquet(?) ORDER BY source_row",
        [str(detail)],
    ).fetchall()
    assert got == [(INSTANCE, "web-prod-01"), ("arn:aws:s3:::dijkstra-data", "dijkstra-data")]


def test_a_summarised_usage_sheet_names_the_resource_too(tmp_path):
    con, [inv], invoicing = make(tmp_path, _named_rows(3), with_limit(tmp_path, "2"))
    [book, _, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(book)["Usage Amazon Web Services"]
    assert _resources(ws, 2) == [f"web-prod-01 ({INSTANCE})", "arn:aws:s3:::dijkstra-data"]


def test_the_usage_sheet_s_resource_column_is_as_wide_as_its_labels_up_to_a_limit(tmp_path):
    """The column was 22 characters wide whatever it held: "web-prod-01 (i-0abc1234def567890)"
    showed as "web-prod-01 (i-0abc123" beside a filled Tags column. It is as wide as its
    longest label, up to ``RESOURCE_WIDTH``."""
    from openpyxl.utils import get_column_letter

    from billing_lib.usage_sheets import RESOURCE_HEADER, RESOURCE_WIDTH

    con, [inv], invoicing = make(tmp_path, _named_rows())
    [book, _, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(book)["Usage Amazon Web Services"]
    header = [c.value for c in ws[1]]
    letter = get_column_letter(header.index(RESOURCE_HEADER) + 1)
    width = next(
        d.width
        for d in ws.column_dimensions.values()
        if d.min <= header.index(RESOURCE_HEADER) + 1 <= d.max
    )
    longest = max(len(r) for r in _resources(ws, 1))
    assert longest <= width <= RESOURCE_WIDTH, (letter, width, longest)
