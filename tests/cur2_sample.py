"""A small, realistic AWS CUR 2.0 (Data Exports) report with every line item type, written by hand.

AWS publishes no CUR 2.0 sample file, so the tests build one: one RI, one Savings Plan, an EDP
discount, credits, a refund and tax for one payer and two usage accounts in May 2024. Each row
carries the BilledCost and EffectiveCost a person computed from AWS's amortisation rules (the
comments say how), so a test compares the importer with these figures, not with itself.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

RI_ARN = (
    "arn:aws:ec2:eu-west-1:111122223333:reserved-instances/4b2f0c8e-5c1a-4e9b-9a77-1d3e5f6a7b8c"
)
SP_ARN = "arn:aws:savingsplans::111122223333:savingsplan/9f8e7d6c-5b4a-3f2e-1d0c-ba9876543210"
PRODUCTS = {
    "AmazonEC2": {"product_name": "Amazon Elastic Compute Cloud", "region": "eu-west-1"},
    "AmazonS3": {"product_name": "Amazon Simple Storage Service", "region": "eu-west-1"},
    "ComputeSavingsPlans": {"product_name": "Savings Plans for AWS Compute usage"},
    "AWSSupportBusiness": {"product_name": "AWS Support (Business)"},
}

# type, account, product, unblended cost, expected EffectiveCost, extra columns
ROWS: list[tuple[str, str, str, str, str, dict[str, str]]] = [
    # On-demand: 24 h x 0.0416
    (
        "Usage",
        "444455556666",
        "AmazonEC2",
        "0.9984",
        "0.9984",
        {
            "line_item_usage_amount": "24",
            "line_item_unblended_rate": "0.0416",
            "resource_tags": '{"user_cost_center": "cc-100", "user_project": "web"}',
        },
    ),
    # RI-covered hours cost 0 unblended; their amortised cost is reservation_effective_cost
    (
        "DiscountedUsage",
        "444455556666",
        "AmazonEC2",
        "0",
        "0.624",
        {
            "line_item_usage_amount": "24",
            "reservation_reservation_a_r_n": RI_ARN,
            "reservation_effective_cost": "0.624",
        },
    ),
    # RI monthly fee: only the unused part stays as effective cost (12.5 + 7.25)
    (
        "RIFee",
        "111122223333",
        "AmazonEC2",
        "150.00",
        "19.75",
        {
            "reservation_reservation_a_r_n": RI_ARN,
            "reservation_unused_amortized_upfront_fee_for_billing_period": "12.5",
            "reservation_unused_recurring_fee": "7.25",
        },
    ),
    # RI upfront payment: amortised into the DiscountedUsage lines, so 0 effective
    ("Fee", "111122223333", "AmazonEC2", "1000.00", "0", {"reservation_reservation_a_r_n": RI_ARN}),
    # A fee that is no commitment (support): effective = billed
    ("Fee", "111122223333", "AWSSupportBusiness", "100.00", "100.00", {}),
    # Savings-Plan-covered usage at on-demand price; effective at the plan's rate
    (
        "SavingsPlanCoveredUsage",
        "777788889999",
        "AmazonEC2",
        "1.536",
        "1.0752",
        {
            "line_item_usage_amount": "16",
            "savings_plan_savings_plan_a_r_n": SP_ARN,
            "savings_plan_savings_plan_effective_cost": "1.0752",
        },
    ),
    # ... cancelled on the bill by its negation line
    (
        "SavingsPlanNegation",
        "777788889999",
        "AmazonEC2",
        "-1.536",
        "0",
        {"savings_plan_savings_plan_a_r_n": SP_ARN},
    ),
    # Plan's monthly commitment 72.00, 60.50 used: 11.50 unused stays as effective cost
    (
        "SavingsPlanRecurringFee",
        "111122223333",
        "ComputeSavingsPlans",
        "72.00",
        "11.50",
        {
            "savings_plan_savings_plan_a_r_n": SP_ARN,
            "savings_plan_total_commitment_to_date": "72.00",
            "savings_plan_used_commitment": "60.50",
        },
    ),
    # Upfront part of the plan: amortised into covered usage, 0 effective
    (
        "SavingsPlanUpfrontFee",
        "111122223333",
        "ComputeSavingsPlans",
        "8760.00",
        "0",
        {"savings_plan_savings_plan_a_r_n": SP_ARN},
    ),
    ("EdpDiscount", "444455556666", "AmazonEC2", "-3.00", "-3.00", {}),
    ("BundledDiscount", "444455556666", "AmazonS3", "-0.25", "-0.25", {}),
    ("Credit", "444455556666", "AmazonEC2", "-50.00", "-50.00", {}),
    ("Refund", "777788889999", "AmazonEC2", "-20.00", "-20.00", {}),
    ("Tax", "111122223333", "AmazonEC2", "123.45", "123.45", {}),
    # S3 requests: AWS prints tiny amounts in scientific notation
    (
        "Usage",
        "777788889999",
        "AmazonS3",
        "1.81E-8",
        "1.81E-8",
        {"line_item_usage_amount": "0.0000362", "resource_tags": '{"user_cost_center": "cc-200"}'},
    ),
]

EXPECTED_CATEGORY = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "EdpDiscount": "Usage",
    "BundledDiscount": "Usage",
    "RIFee": "Purchase",
    "Fee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "Credit": "Credit",
    "Refund": "Credit",
    "Tax": "Tax",
}

COLUMNS = [
    "identity_line_item_id",
    "identity_time_interval",
    "bill_bill_type",
    "bill_billing_entity",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_product_code",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_currency_code",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "line_item_line_item_description",
    "line_item_legal_entity",
    "product",
    "product_product_family",
    "product_region_code",
    "product_servicecode",
    "product_sku",
    "pricing_unit",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "pricing_rate_code",
    "reservation_reservation_a_r_n",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "resource_tags",
    "cost_category",
]
DECIMAL_COLUMNS = [
    "line_item_usage_amount",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
]
NAMES = {"111122223333": "payer", "444455556666": "customer-a", "777788889999": "customer-b"}


def records(currency: str = "USD") -> list[dict[str, str]]:
    """The report's rows as CUR 2.0 CSV text values (empty string = no value)."""
    out = []
    for i, (kind, account, product, cost, _eff, extra) in enumerate(ROWS, start=1):
        day = 1 + i % 28
        row = {c: "" for c in COLUMNS}
        row.update(
            {
                "identity_line_item_id": f"li{i:04d}x{'abcdef'[i % 6]}q7",
                "identity_time_interval": "2024-05-01T00:00:00Z/2024-06-01T00:00:00Z",
                "bill_bill_type": "Anniversary",
                "bill_billing_entity": "AWS",
                "bill_billing_period_start_date": "2024-05-01T00:00:00Z",
                "bill_billing_period_end_date": "2024-06-01T00:00:00Z",
                "bill_invoice_id": "EUINIE24-123456",
                "bill_invoicing_entity": "Amazon Web Services EMEA SARL",
                "bill_payer_account_id": "111122223333",
                "bill_payer_account_name": "payer",
                "line_item_usage_account_id": account,
                "line_item_usage_account_name": NAMES[account],
                "line_item_line_item_type": kind,
                "line_item_usage_start_date": f"2024-05-{day:02d}T00:00:00Z",
                "line_item_usage_end_date": f"2024-05-{day + 1:02d}T00:00:00Z",
                "line_item_product_code": product,
                "line_item_currency_code": currency,
                "line_item_unblended_cost": cost,
                "line_item_line_item_description": f"{kind} line {i}",
                "line_item_legal_entity": "Amazon Web Services EMEA SARL",
                "product": json.dumps(PRODUCTS[product]),
                "product_servicecode": product,
                "pricing_unit": "Hrs" if product == "AmazonEC2" else "",
            }
        )
        row.update(extra)
        out.append(row)
    return out


def write_csv(path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    rows = records() if rows is None else rows
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path.write_bytes(data)
    return path


def write_parquet(path: Path) -> Path:
    """The same report as AWS writes Parquet: amounts as float64, timestamps, maps for
    tags/product."""
    rows = records()

    def ts(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    arrays = {}
    for c in COLUMNS:
        vals = [r[c] or None for r in rows]
        if c in DECIMAL_COLUMNS:
            arrays[c] = pa.array([float(v) if v else None for v in vals], pa.float64())
        elif c.endswith("_date"):
            arrays[c] = pa.array([ts(v) if v else None for v in vals], pa.timestamp("ms", tz="UTC"))
        elif c in ("resource_tags", "product", "cost_category"):
            arrays[c] = pa.array(
                [list(json.loads(v).items()) if v else [] for v in vals],
                pa.map_(pa.string(), pa.string()),
            )
        else:
            arrays[c] = pa.array(vals, pa.string())
    pq.write_table(pa.table(arrays), path)
    return path


def write_zip(path: Path, tmp: Path) -> Path:
    """A zip holding the report as CSV (the way a report is mailed or downloaded)."""
    inner = write_csv(tmp / "cur2-2024-05-00001.csv")
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(inner, "cur2/2024-05/cur2-2024-05-00001.csv")
    return path


def expected_by_type() -> dict[str, tuple[Decimal, Decimal]]:
    """Line item type -> (sum of BilledCost, sum of EffectiveCost), from the hand-written
    figures."""
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for kind, _acc, _prod, cost, eff, _extra in ROWS:
        b, e = out.get(kind, (Decimal(0), Decimal(0)))
        out[kind] = (b + Decimal(cost), e + Decimal(eff))
    return out
