"""AWS Marketplace lines in a CUR: billed through AWS, sold by a third party, the seller of
record (``line_item_legal_entity``), which a reseller may not be allowed to resell. A rule by
``publisher`` names that seller, as AWS's FOCUS export and the FinOps Foundation's converter give
it (PublisherName), so one rule takes the seller's lines from either export."""

from __future__ import annotations

import csv
from decimal import Decimal

from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.importers import import_reports
from billing_lib.pricing import load_pricing
from billing_lib.rating import rate_lines
from billing_lib.store import open_store
from tests import cur2_sample as cur2
from tests.rating_helpers import write_parameters

SELLER, PRODUCT = "Acme Security Inc.", "Acme Firewall Pro (Pay-as-you-go)"
PLANS = f"""
plans:
  - id: aws
    name: AWS at cost plus 10 %, Acme's Marketplace products not resold
    rules:
      - {{id: aws-all, kind: markup, percent: 10, match: {{vendor: aws}}}}
      - {{id: acme, kind: exclude, reason: "sold by {SELLER}, not resold",
         match: {{vendor: aws, publisher: "{SELLER}"}}}}
assignments:
  - {{plan: aws, group: enterprise}}
"""


def _cur2(path):
    base = cur2.records()[0]
    rows = [
        base | {"identity_line_item_id": "li-ec2", "line_item_unblended_cost": "10.00"},
        base
        | {
            "identity_line_item_id": "li-acme",
            "bill_billing_entity": "AWS Marketplace",
            "line_item_legal_entity": SELLER,
            "line_item_product_code": "prod-4x7abc",
            "product": f'{{"product_name": "{PRODUCT}"}}',
            "product_servicecode": "",
            "line_item_unblended_cost": "40.00",
        },
    ]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=cur2.COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _focus(path):
    header = (
        "BillingAccountId,SubAccountId,ProviderName,PublisherName,ServiceName,ChargeCategory,"
        "ChargePeriodStart,ChargePeriodEnd,BilledCost,BillingCurrency"
    )
    row = (
        "111122223333,444455556666,AWS,{},{},Usage,2024-05-02T00:00:00Z,2024-05-03T00:00:00Z,{},USD"
    )
    path.write_text(
        f"{header}\n{row.format('AWS', 'Amazon Elastic Compute Cloud', '10.00')}\n"
        f"{row.format(SELLER, PRODUCT, '40.00')}\n"
    )
    return path


def _rated(tmp_path, report):
    params = write_parameters(
        tmp_path / "parameters",
        PLANS,
        accounts="vendor,account_id,customer_id,valid_from,valid_to,note\naws,444455556666,C3,,,\n",
    )
    con = open_store()
    import_reports(con, [report])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    rate_lines(con, load_pricing(params, customers), customers, "2024-05")
    [(billed,)] = con.execute(
        "SELECT sum(amount) FROM rated_lines WHERE line_kind = 'vendor'"
    ).fetchall()
    excluded = con.execute(
        "SELECT rule_id, sum(BilledCost) FROM excluded_lines GROUP BY 1"
    ).fetchall()
    return con, billed, excluded


def test_a_marketplace_line_s_publisher_is_its_seller_of_record_in_the_cur_and_in_focus(tmp_path):
    """The CUR's Marketplace line had its product's name as PublisherName: a rule naming the
    seller (as the line in AWS's FOCUS export names it) matched nothing in the CUR, and the
    product was resold at cost plus 10 % (USD 44.00) with nothing said."""
    con, billed, excluded = _rated(tmp_path / "cur", _cur2(tmp_path / "cur2-2024-05.csv"))
    assert con.execute(
        "SELECT PublisherName, ServiceName FROM lines ORDER BY x_SourceRow"
    ).fetchall() == [("AWS", "Amazon Elastic Compute Cloud"), (SELLER, PRODUCT)]
    assert billed == Decimal("11.00")
    assert [(rule, Decimal(cost)) for rule, cost in excluded] == [("acme", Decimal("40.00"))]
    _, billed_focus, excluded_focus = _rated(tmp_path / "focus", _focus(tmp_path / "focus.csv"))
    assert (billed_focus, excluded_focus) == (billed, excluded)


def test_the_legacy_cur_names_the_seller_of_record_too(tmp_path):
    path = tmp_path / "cur-2024-05-1.csv"
    path.write_text(
        "identity/LineItemId,lineItem/UsageAccountId,lineItem/LineItemType,"
        "lineItem/UsageStartDate,lineItem/ProductCode,lineItem/UnblendedCost,"
        "lineItem/CurrencyCode,bill/BillingEntity,lineItem/LegalEntity,product/ProductName\n"
        "li-1,444455556666,Usage,2024-05-02T00:00:00Z,AmazonEC2,10.00,USD,AWS,"
        "Amazon Web Services EMEA SARL,Amazon Elastic Compute Cloud\n"
        f"li-2,444455556666,Usage,2024-05-02T00:00:00Z,prod-4x7abc,40.00,USD,AWS Marketplace,"
        f'{SELLER},"{PRODUCT}"\n'
    )
    _, billed, excluded = _rated(tmp_path, path)
    assert (billed, [(rule, Decimal(cost)) for rule, cost in excluded]) == (
        Decimal("11.00"),
        [("acme", Decimal("40.00"))],
    )
