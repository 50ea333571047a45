"""Write the bundled sample month (``samples/2026-10/reports/``) for the fictional reseller
Northwind Cloud B.V. (Utrecht, the Netherlands): one report per vendor, in each vendor's own layout.

    python samples/generate.py                  # rewrites samples/2026-10/reports
    python samples/generate.py --out /tmp/x     # writes /tmp/x/reports

Deterministic: every random choice comes from a ``random.Random`` seeded per file, amounts are
``Decimal``, no clock is read, and compressed or columnar files carry no timestamps, so every run
writes the same bytes (``tests/test_sample_month.py`` checks this against the committed files).
The vendor account ids are the ones in ``parameters/accounts.csv``; ``samples/README.md`` says
what each file holds and its control totals.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PERIOD = "2026-10"
MONTH_START = date(2026, 10, 1)
MONTH_END = date(2026, 11, 1)  # exclusive
DAYS = [MONTH_START + timedelta(days=i) for i in range((MONTH_END - MONTH_START).days)]
HERE = Path(__file__).resolve().parent
D = Decimal

# --------------------------------------------------------------------------------------------
# AWS: CUR 2.0 (Data Exports), Parquet, USD, one payer with nine usage accounts
# --------------------------------------------------------------------------------------------

AWS_FILE = "aws-cur2-northwind-2026-10-00001.snappy.parquet"
AWS_PAYER = ("111122223333", "northwind-cloud-payer")
#: usage account id -> (account name, customer it belongs to; see parameters/accounts.csv)
AWS_ACCOUNTS = {
    "402719385610": ("dijkstra-prod", "C001"),
    "518204736291": ("vll-prod", "C002"),
    "518204736307": ("vll-dev", "C002"),
    "630917254842": ("zorg-ehr", "C004"),
    "741852963014": ("rheinwerk-iot", "C006"),
    "852963741025": ("harborview-analytics", "C008"),
    "963741852036": ("lumen-renderfarm", "C009 until 15 Oct, C001 from 16 Oct"),
    "174285396047": ("northwind-lab", "C010"),
    "285396417058": ("poc-sandbox-ams", "none: deliberately unmapped"),
}
AWS_UNMAPPED = "285396417058"
AWS_MOVING = "963741852036"
SP_ARN = "arn:aws:savingsplans::518204736291:savingsplan/3c0f6a52-8d1e-4b7a-9c61-2f5e8d4a7b90"
RI_ARN = "arn:aws:rds:eu-central-1:630917254842:ri:zorg-ehr-db-2025"
#: The Compute Savings Plan: commitment per hour, the plan's rate for m6i.xlarge, instances covered
SP_COMMITMENT_PER_HOUR = D("0.600")
SP_RATE = D("0.1430")
SP_INSTANCES = 4
#: The RDS reserved instance (no upfront): recurring fee per hour
RI_RATE = D("0.1520")
#: Massachusetts sales tax AWS charges on Harborview's EC2 usage (its only Tax line)
US_SALES_TAX = D("0.0625")

AWS_COLUMNS = [
    "bill_bill_type",
    "bill_billing_entity",
    "bill_billing_period_end_date",
    "bill_billing_period_start_date",
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "cost_category",
    "identity_line_item_id",
    "identity_time_interval",
    "line_item_availability_zone",
    "line_item_currency_code",
    "line_item_legal_entity",
    "line_item_line_item_description",
    "line_item_line_item_type",
    "line_item_operation",
    "line_item_product_code",
    "line_item_resource_id",
    "line_item_unblended_cost",
    "line_item_unblended_rate",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_usage_amount",
    "line_item_usage_end_date",
    "line_item_usage_start_date",
    "line_item_usage_type",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "pricing_rate_code",
    "pricing_term",
    "pricing_unit",
    "product",
    "product_instance_type",
    "product_product_family",
    "product_region_code",
    "product_servicecode",
    "product_sku",
    "reservation_effective_cost",
    "reservation_reservation_a_r_n",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "resource_tags",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
]
AWS_AMOUNTS = {
    "line_item_unblended_cost",
    "line_item_unblended_rate",
    "line_item_usage_amount",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
}
AWS_TIMESTAMPS = {
    "bill_billing_period_end_date",
    "bill_billing_period_start_date",
    "line_item_usage_end_date",
    "line_item_usage_start_date",
}
AWS_MAPS = {"cost_category", "product", "resource_tags"}
SERVICE_NAMES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonRDS": "Amazon Relational Database Service",
    "AWSDataTransfer": "AWS Data Transfer",
    "ComputeSavingsPlans": "Savings Plans for AWS Compute usage",
    "AWSSupportBusiness": "AWS Support (Business)",
}
REGION = "eu-central-1"
PLACES = D("1e-10")


@dataclass(frozen=True)
class Ec2:
    """Instances running all month in one account: type, on-demand rate per hour (USD), count."""

    account: str
    instance_type: str
    rate: Decimal
    count: int
    tags: dict[str, str]


EC2_FLEET = [
    Ec2(
        "402719385610",
        "m6i.large",
        D("0.1150"),
        2,
        {"user_cost_center": "bim", "user_project": "revit-vdi"},
    ),
    Ec2(
        "518204736307",
        "t3.medium",
        D("0.0480"),
        3,
        {"user_cost_center": "it", "user_project": "tms-dev"},
    ),
    Ec2("630917254842", "c6i.large", D("0.0970"), 2, {"user_cost_center": "ehr"}),
    Ec2("741852963014", "t4g.medium", D("0.0384"), 4, {"user_project": "sensor-gateway"}),
    Ec2("852963741025", "r6i.xlarge", D("0.3040"), 2, {"user_cost_center": "analytics"}),
    Ec2("174285396047", "t3.small", D("0.0240"), 2, {"user_project": "lab"}),
    Ec2("285396417058", "t3.micro", D("0.0120"), 1, {}),
]
#: S3 standard storage per account: GB stored (flat over the month), USD per GB-month
S3_STORAGE = {
    "402719385610": D(1800),
    "518204736291": D(5200),
    "518204736307": D(350),
    "630917254842": D(2600),
    "741852963014": D(940),
    "852963741025": D(12500),
    "963741852036": D(7400),
    "174285396047": D(120),
    "285396417058": D(40),
}
S3_RATE = D("0.0245")
DATA_TRANSFER_RATE = D("0.0900")


def q(value: Decimal) -> Decimal:
    """An AWS amount as the report prints it: at most 10 decimals (CUR amounts are exact
    decimals)."""
    return value.quantize(PLACES, rounding=ROUND_HALF_UP).normalize()


def instance_id(account: str, n: int = 1) -> str:
    """An EC2 instance id as AWS writes it (``i-`` and 17 hexadecimal digits), made of the
    account's id: the same on every run, and none of the instances has a Name tag, so the
    invoices name them by their accounts (``line_labels.resource_name_sql``)."""
    return f"i-0{account}{n:04x}"


def _ts(day: date, days: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=days)


class AwsReport:
    """Collects CUR 2.0 rows: every value as AWS writes it (amounts Decimal, dates datetime, maps
    dict)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rows: list[dict[str, object]] = []

    def line_id(self) -> str:
        # AWS line item ids are 52 base-32 characters; they repeat for one line over days, so the
        # key of a line is id + time interval (the format's x_VendorLineId).
        alphabet = "abcdefghijklmnopqrstuvwxyz234567"
        return "".join(self.rng.choice(alphabet) for _ in range(52))

    def add(
        self,
        kind: str,
        account: str,
        product: str,
        cost: Decimal,
        start: datetime,
        end: datetime,
        description: str,
        **extra: object,
    ) -> None:
        row: dict[str, object] = {c: None for c in AWS_COLUMNS}
        row.update(
            {
                "bill_bill_type": "Anniversary",
                "bill_billing_entity": "AWS",
                "bill_billing_period_start_date": _ts(MONTH_START),
                "bill_billing_period_end_date": _ts(MONTH_END),
                "bill_invoice_id": "EUINNL26-2718281",
                "bill_invoicing_entity": "Amazon Web Services EMEA SARL",
                "bill_payer_account_id": AWS_PAYER[0],
                "bill_payer_account_name": AWS_PAYER[1],
                "cost_category": {},
                "identity_line_item_id": self.line_id(),
                "identity_time_interval": f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
                "line_item_currency_code": "USD",
                "line_item_legal_entity": "Amazon Web Services EMEA SARL",
                "line_item_line_item_description": description,
                "line_item_line_item_type": kind,
                "line_item_product_code": product,
                "line_item_unblended_cost": q(cost),
                "line_item_usage_account_id": account,
                "line_item_usage_account_name": AWS_ACCOUNTS[account][0],
                "line_item_usage_start_date": start,
                "line_item_usage_end_date": end,
                "product": {"product_name": SERVICE_NAMES[product], "region": REGION},
                "product_servicecode": product,
                "product_region_code": REGION,
                "resource_tags": {},
            }
        )
        for key, value in extra.items():
            row[key] = q(value) if isinstance(value, Decimal) else value
        self.rows.append(row)

    def usage(
        self,
        account: str,
        product: str,
        day: date,
        amount: Decimal,
        rate: Decimal,
        unit: str,
        usage_type: str,
        operation: str,
        description: str,
        resource: str | None = None,
        tags: dict[str, str] | None = None,
        **extra: object,
    ) -> Decimal:
        cost = q(amount * rate)
        self.add(
            "Usage",
            account,
            product,
            cost,
            _ts(day),
            _ts(day, 1),
            description,
            line_item_usage_amount=amount,
            line_item_unblended_rate=rate,
            pricing_unit=unit,
            line_item_usage_type=usage_type,
            line_item_operation=operation,
            line_item_resource_id=resource,
            pricing_public_on_demand_rate=rate,
            pricing_public_on_demand_cost=cost,
            pricing_term="OnDemand",
            resource_tags=tags or {},
            **extra,
        )
        return cost


def aws_rows(rng: random.Random) -> list[dict[str, object]]:
    """The month's CUR 2.0 rows: daily usage per account, the Savings Plan and RI lines, a credit,
    a refund and a tax line."""
    r = AwsReport(rng)
    ec2_cost_harborview = D(0)
    for day in DAYS:
        for fleet in EC2_FLEET:
            hours = D(24 * fleet.count)
            cost = r.usage(
                fleet.account,
                "AmazonEC2",
                day,
                hours,
                fleet.rate,
                "Hrs",
                f"EUC1-BoxUsage:{fleet.instance_type}",
                "RunInstances",
                f"${fleet.rate} per On Demand Linux {fleet.instance_type} Instance Hour",
                resource=instance_id(fleet.account),
                tags=fleet.tags,
                product_instance_type=fleet.instance_type,
                product_product_family="Compute Instance",
                line_item_availability_zone="eu-central-1a",
            )
            if fleet.account == "852963741025":
                ec2_cost_harborview += cost
        # Lumen's render farm: GPU instances for the hours render jobs ran that day
        gpu_hours = D(rng.randrange(6, 49))
        r.usage(
            AWS_MOVING,
            "AmazonEC2",
            day,
            gpu_hours,
            D("1.2120"),
            "Hrs",
            "EUC1-BoxUsage:g5.xlarge",
            "RunInstances",
            "$1.212 per On Demand Linux g5.xlarge Instance Hour",
            resource=instance_id(AWS_MOVING, 5),
            tags={"user_project": "renderfarm"},
            product_instance_type="g5.xlarge",
            product_product_family="Compute Instance",
            line_item_availability_zone="eu-central-1b",
        )
        # Van Leeuwen's production fleet, covered by the Compute Savings Plan: the covered usage
        # shows
        # the on-demand cost and its negation cancels it on the bill (AWS's documented pair).
        hours = D(24 * SP_INSTANCES)
        od_rate = D("0.2300")
        od_cost = hours * od_rate
        r.add(
            "SavingsPlanCoveredUsage",
            "518204736291",
            "AmazonEC2",
            od_cost,
            _ts(day),
            _ts(day, 1),
            "Compute Savings Plans covered usage: m6i.xlarge",
            line_item_usage_amount=hours,
            line_item_unblended_rate=od_rate,
            pricing_unit="Hrs",
            line_item_usage_type="EUC1-BoxUsage:m6i.xlarge",
            line_item_operation="RunInstances",
            line_item_resource_id=instance_id("518204736291"),
            pricing_public_on_demand_rate=od_rate,
            pricing_public_on_demand_cost=od_cost,
            pricing_term="OnDemand",
            product_instance_type="m6i.xlarge",
            product_product_family="Compute Instance",
            savings_plan_savings_plan_a_r_n=SP_ARN,
            savings_plan_savings_plan_effective_cost=hours * SP_RATE,
            resource_tags={"user_cost_center": "logistics", "user_project": "tms-prod"},
        )
        r.add(
            "SavingsPlanNegation",
            "518204736291",
            "AmazonEC2",
            -od_cost,
            _ts(day),
            _ts(day, 1),
            f"SavingsPlanNegation used by AccountId : 518204736291 and UsageSku : {SP_ARN[-8:]}",
            line_item_usage_amount=hours,
            line_item_unblended_rate=-od_rate,
            pricing_unit="Hrs",
            line_item_usage_type="EUC1-BoxUsage:m6i.xlarge",
            line_item_operation="RunInstances",
            line_item_resource_id=instance_id("518204736291"),
            savings_plan_savings_plan_a_r_n=SP_ARN,
        )
        # Zorggroep's database on a reserved instance: 0 unblended, amortised in
        # reservation_effective_cost
        r.add(
            "DiscountedUsage",
            "630917254842",
            "AmazonRDS",
            D(0),
            _ts(day),
            _ts(day, 1),
            "USD 0.0 hourly fee per PostgreSQL, db.m6g.large instance",
            line_item_usage_amount=D(24),
            line_item_unblended_rate=D(0),
            pricing_unit="Hrs",
            line_item_usage_type="EUC1-InstanceUsage:db.m6g.large",
            line_item_operation="CreateDBInstance:0014",
            line_item_resource_id="arn:aws:rds:eu-central-1:630917254842:db:ehr",
            pricing_public_on_demand_rate=D("0.2070"),
            pricing_public_on_demand_cost=D(24) * D("0.2070"),
            pricing_term="Reserved",
            product_instance_type="db.m6g.large",
            product_product_family="Database Instance",
            reservation_reservation_a_r_n=RI_ARN,
            reservation_effective_cost=D(24) * RI_RATE,
            resource_tags={"user_cost_center": "ehr"},
        )
        for account, gb in S3_STORAGE.items():
            gb_month = q(gb / D(31))
            r.usage(
                account,
                "AmazonS3",
                day,
                gb_month,
                S3_RATE,
                "GB-Mo",
                "EUC1-TimedStorage-ByteHrs",
                "StandardStorage",
                "$0.0245 per GB - first 50 TB / month of storage used",
                resource=f"{AWS_ACCOUNTS[account][0]}-data",
                product_product_family="Storage",
            )
        for account in ("852963741025", "402719385610", "963741852036"):
            gb_out = D(rng.randrange(2000, 60000)) / D(100)
            r.usage(
                account,
                "AWSDataTransfer",
                day,
                gb_out,
                DATA_TRANSFER_RATE,
                "GB",
                "EUC1-DataTransfer-Out-Bytes",
                "",
                "$0.09 per GB - first 10 TB / month data transfer out",
                product_product_family="Data Transfer",
            )
    month = (_ts(MONTH_START), _ts(MONTH_END))
    hours_in_month = D(24 * len(DAYS))
    commitment = SP_COMMITMENT_PER_HOUR * hours_in_month
    used = SP_RATE * SP_INSTANCES * hours_in_month
    r.add(
        "SavingsPlanRecurringFee",
        "518204736291",
        "ComputeSavingsPlans",
        commitment,
        *month,
        "1 year No Upfront Compute Savings Plan, 0.600 USD per hour commitment",
        line_item_usage_amount=hours_in_month,
        pricing_unit="Hrs",
        savings_plan_savings_plan_a_r_n=SP_ARN,
        savings_plan_total_commitment_to_date=commitment,
        savings_plan_used_commitment=used,
    )
    r.add(
        "RIFee",
        "630917254842",
        "AmazonRDS",
        RI_RATE * hours_in_month,
        *month,
        "USD 0.152 hourly fee per PostgreSQL, db.m6g.large instance (reserved)",
        line_item_usage_amount=hours_in_month,
        line_item_unblended_rate=RI_RATE,
        pricing_unit="Hrs",
        reservation_reservation_a_r_n=RI_ARN,
        reservation_unused_amortized_upfront_fee_for_billing_period=D(0),
        reservation_unused_recurring_fee=D(0),
    )
    r.add(
        "Credit",
        "402719385610",
        "AmazonEC2",
        D("-25.00"),
        *month,
        "AWS Activate promotional credit",
    )
    r.add(
        "Refund",
        "741852963014",
        "AmazonEC2",
        D("-12.40"),
        _ts(date(2026, 10, 9)),
        _ts(date(2026, 10, 10)),
        "Refund: instance hours billed twice on 2026-09-30 (case 17293846501)",
    )
    tax = (ec2_cost_harborview * US_SALES_TAX).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    r.add(
        "Tax",
        "852963741025",
        "AmazonEC2",
        tax,
        *month,
        "Tax for product code AmazonEC2",
        bill_invoicing_entity="Amazon Web Services, Inc.",
        line_item_legal_entity="Amazon Web Services, Inc.",
    )
    return r.rows


def write_aws_parquet(path: Path, rows: list[dict[str, object]]) -> None:
    """As AWS writes CUR 2.0 Parquet: amounts as float64 (each is the decimal the report means,
    at most 15 significant digits so the float's shortest text is exactly it), timestamps in UTC,
    the map columns as MAP<string,string>."""
    arrays = {}
    for c in AWS_COLUMNS:
        values = [row[c] for row in rows]
        if c in AWS_AMOUNTS:
            floats = []
            for v in values:
                if v is not None and D(repr(float(v))) != v:
                    raise ValueError(f"{c}: {v} does not survive float64")
                floats.append(None if v is None else float(v))
            arrays[c] = pa.array(floats, pa.float64())
        elif c in AWS_TIMESTAMPS:
            arrays[c] = pa.array(values, pa.timestamp("ms", tz="UTC"))
        elif c in AWS_MAPS:
            arrays[c] = pa.array(
                [sorted(v.items()) for v in values], pa.map_(pa.string(), pa.string())
            )
        else:
            arrays[c] = pa.array(values, pa.string())
    pq.write_table(pa.table(arrays), path, compression="snappy")


# --------------------------------------------------------------------------------------------
# Microsoft Partner Center (new commerce): invoice reconciliation and daily rated usage, EUR
# --------------------------------------------------------------------------------------------

MS_INVOICE_FILE = "ms-invoice-reconciliation-G052026103.csv"
MS_USAGE_FILE = "ms-daily-rated-usage-G052026103.csv"
MS_PARTNER = ("06e7e8c4-907e-4ab2-8fce-417259f6115a", "Northwind Cloud B.V.", "6543210")
MS_INVOICE = "G052026103"
#: customer id -> (tenant id, name at Microsoft, domain, country); see parameters/accounts.csv
MS_TENANTS = {
    "C001": (
        "de6799dd-16e2-4542-8982-fcd5407b50a3",
        "Dijkstra Architecten B.V.",
        "dijkstraarchitecten.onmicrosoft.com",
        "NL",
    ),
    "C002": (
        "88825278-08a8-4728-94af-fd0e00ff815f",
        "Van Leeuwen Logistiek B.V.",
        "vanleeuwenlogistiek.onmicrosoft.com",
        "NL",
    ),
    "C003": (
        "c348c81a-4cf5-4dfc-8faa-7047974d0238",
        "Bakkerij De Gouden Korst",
        "goudenkorst.onmicrosoft.com",
        "NL",
    ),
    "C004": (
        "570032ed-7e4a-4bb0-9409-2afd36814937",
        "Zorggroep Amstelland",
        "zorggroepamstelland.onmicrosoft.com",
        "NL",
    ),
    "C005": (
        "39bd560b-19de-415f-918b-0c2b21a46df9",
        "Schelde Data Services NV",
        "scheldedata.onmicrosoft.com",
        "BE",
    ),
    "C006": (
        "cabede65-d7f6-45ec-8b17-371710f8eaae",
        "Rheinwerk Maschinenbau GmbH",
        "rheinwerkmb.onmicrosoft.com",
        "DE",
    ),
    "C007": (
        "fe83a528-2229-4f24-b795-a5b44c878ac3",
        "Alpenblick Treuhand AG",
        "alpenblicktreuhand.onmicrosoft.com",
        "CH",
    ),
    "C009": (
        "1698cf33-0128-4959-96da-9afd661e26c4",
        "Lumen Media B.V.",
        "lumenmedia.onmicrosoft.com",
        "NL",
    ),
    "C010": (
        "8de64811-73ed-4e1e-913d-a807f586205a",
        "Northwind Cloud B.V.",
        "northwindcloud.onmicrosoft.com",
        "NL",
    ),
}


@dataclass(frozen=True)
class Licence:
    """A new-commerce licence product: ids as in the price list, EUR partner price per licence for
    one billing cycle (a month, or a year for annual billing)."""

    product_id: str
    sku_id: str
    availability_id: str
    product_name: str
    sku_name: str
    monthly: Decimal
    annual: Decimal


LICENCES = {
    "bp": Licence(
        "CFQ7TTC0LCHC",
        "0002",
        "CFQ7TTC0K1MH",
        "Microsoft 365 Business Premium",
        "Microsoft 365 Business Premium",
        D("20.60"),
        D("247.20"),
    ),
    "bs": Licence(
        "CFQ7TTC0LDPB",
        "0001",
        "CFQ7TTC0K5BF",
        "Microsoft 365 Business Standard",
        "Microsoft 365 Business Standard",
        D("11.70"),
        D("140.40"),
    ),
    "bb": Licence(
        "CFQ7TTC0LH18",
        "0001",
        "CFQ7TTC0K2BD",
        "Microsoft 365 Business Basic",
        "Microsoft 365 Business Basic",
        D("5.60"),
        D("67.20"),
    ),
    "e3": Licence(
        "CFQ7TTC0MM8R",
        "0002",
        "CFQ7TTC0NZ3F",
        "Microsoft 365 E3 (no Teams)",
        "Microsoft 365 E3 (no Teams)",
        D("31.20"),
        D("374.40"),
    ),
    "teams": Licence(
        "CFQ7TTC0MM8S",
        "0001",
        "CFQ7TTC0NZ4H",
        "Microsoft Teams Enterprise",
        "Microsoft Teams Enterprise",
        D("5.00"),
        D("60.00"),
    ),
    "exo": Licence(
        "CFQ7TTC0LH16",
        "0001",
        "CFQ7TTC0K3C9",
        "Exchange Online (Plan 1)",
        "Exchange Online (Plan 1)",
        D("3.70"),
        D("44.40"),
    ),
    "teamsprem": Licence(
        "CFQ7TTC0RM8K",
        "0001",
        "CFQ7TTC0RJ5Q",
        "Microsoft Teams Premium",
        "Microsoft Teams Premium",
        D("9.40"),
        D("112.80"),
    ),
}


def _md(day: date) -> str:
    """A date as Partner Center's CSV files print it: M/D/YYYY, no leading zeros."""
    return f"{day.month}/{day.day}/{day.year}"


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    return date(day.year + y, m + 1, day.day)


def _guid(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _rounddown(value: Decimal, places: str = "0.01") -> Decimal:
    """Excel's ROUNDDOWN: towards zero, the rounding Microsoft documents for Subtotal."""
    return value.quantize(D(places), rounding=ROUND_DOWN)


MS_INVOICE_COLUMNS = [
    "PartnerId",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "InvoiceNumber",
    "MpnId",
    "ResellerMpnId",
    "OrderId",
    "OrderDate",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "Subtotal",
    "TaxTotal",
    "Total",
    "Currency",
    "PriceAdjustmentDescription",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "TermAndBillingCycle",
    "EffectiveUnitPrice",
    "UnitType",
    "AlternateId",
    "BillableQuantity",
    "BillingFrequency",
    "PricingCurrency",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "MeterDescription",
    "ReservationOrderId",
    "CreditReasonCode",
    "SubscriptionStartDate",
    "SubscriptionEndDate",
    "ReferenceId",
    "ProductQualifiers",
    "PromotionId",
    "ProductCategory",
]
#: Licence charge types that give money back: Microsoft prints their amounts negative
MS_CREDIT_TYPES = {"removeQuantity", "cancelImmediate"}


@dataclass(frozen=True)
class LicenceEvent:
    """One billing event of a licence subscription in October 2026.

    ``start``..``end`` is the charged period (both inclusive, as Partner Center prints them);
    ``cycle_start``..``cycle_end`` the subscription's charge cycle it is a part of. The unit price
    is prorated by days: the part of the cycle charged."""

    customer: str
    licence: str
    charge_type: str
    quantity: int
    start: date
    end: date
    cycle_start: date
    cycle_end: date
    subscription: str
    term: str  # "P1M" or "P1Y"
    annual_billing: bool = False
    subscription_start: date | None = None
    discount: Decimal = Decimal(0)  # price adjustment (promotion), fraction of the unit price
    promotion: str = ""


def _licence_events() -> list[LicenceEvent]:
    """October's licence events: monthly cycle charges, new purchases, a renewal with annual
    billing, a prorated seat increase, a seat decrease and a cancellation within the 7-day window
    (both credits), a converted trial and a promotion price adjustment."""
    ev: list[LicenceEvent] = []

    def cycle(
        customer: str,
        lic: str,
        qty: int,
        anchor: int,
        sub: str,
        since: date,
        term: str = "P1Y",
        **kw: object,
    ) -> None:
        start = date(2026, 10, anchor)
        ev.append(
            LicenceEvent(
                customer,
                lic,
                "cycleCharge",
                qty,
                start,
                _add_months(start, 1) - timedelta(days=1),
                start,
                _add_months(start, 1) - timedelta(days=1),
                sub,
                term,
                subscription_start=since,
                **kw,
            )
        )

    # C001 Dijkstra: 12 Business Premium seats, cycle from the 12th; 3 more seats from 20 October,
    # charged for the 23 of the cycle's 31 days
    cycle("C001", "bp", 12, 12, "3f5a1c2e-6b1d-4f0e-9a27-5c8e1d2b7a01", date(2025, 3, 12))
    ev.append(
        LicenceEvent(
            "C001",
            "bp",
            "addQuantity",
            3,
            date(2026, 10, 20),
            date(2026, 11, 11),
            date(2026, 10, 12),
            date(2026, 11, 11),
            "3f5a1c2e-6b1d-4f0e-9a27-5c8e1d2b7a01",
            "P1Y",
            subscription_start=date(2025, 3, 12),
        )
    )
    # C002 Van Leeuwen: E3 (no Teams) and Teams Enterprise for 85 users; Exchange Online P1 for the
    # warehouse renewed on 1 October for 40 seats, reduced by 5 on 4 October (within 7 days: credit)
    cycle("C002", "e3", 85, 1, "7c2d9e4b-1a3f-4c6d-8e5b-2f9a0c7d3e12", date(2024, 7, 1))
    cycle("C002", "teams", 85, 1, "7c2d9e4b-1a3f-4c6d-8e5b-2f9a0c7d3e13", date(2024, 7, 1))
    ev.append(
        LicenceEvent(
            "C002",
            "exo",
            "renew",
            40,
            date(2026, 10, 1),
            date(2026, 10, 31),
            date(2026, 10, 1),
            date(2026, 10, 31),
            "7c2d9e4b-1a3f-4c6d-8e5b-2f9a0c7d3e14",
            "P1Y",
            subscription_start=date(2026, 10, 1),
        )
    )
    ev.append(
        LicenceEvent(
            "C002",
            "exo",
            "removeQuantity",
            5,
            date(2026, 10, 4),
            date(2026, 10, 31),
            date(2026, 10, 1),
            date(2026, 10, 31),
            "7c2d9e4b-1a3f-4c6d-8e5b-2f9a0c7d3e14",
            "P1Y",
            subscription_start=date(2026, 10, 1),
        )
    )
    # C003 Bakkerij: Business Basic month-to-month; 2 Business Standard bought on 7 October
    cycle(
        "C003", "bb", 6, 18, "a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a03", date(2025, 1, 18), term="P1M"
    )
    ev.append(
        LicenceEvent(
            "C003",
            "bs",
            "new",
            2,
            date(2026, 10, 7),
            date(2026, 11, 6),
            date(2026, 10, 7),
            date(2026, 11, 6),
            "a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a04",
            "P1M",
            subscription_start=date(2026, 10, 7),
        )
    )
    # C004 Zorggroep: 240 E3 (no Teams) with a 10% promotion, Teams and Exchange Online kiosk
    # mailboxes
    cycle(
        "C004",
        "e3",
        240,
        1,
        "5e6f7a8b-0004-4c1d-9e2f-3a4b5c6d7e41",
        date(2025, 1, 1),
        discount=D("0.10"),
        promotion="39NFJQT1Q5KV",
    )
    cycle("C004", "teams", 240, 1, "5e6f7a8b-0004-4c1d-9e2f-3a4b5c6d7e42", date(2025, 1, 1))
    cycle("C004", "exo", 60, 1, "5e6f7a8b-0004-4c1d-9e2f-3a4b5c6d7e43", date(2025, 1, 1))
    # C005 Schelde: Business Premium renewed on 15 October for a year, billed annually in advance
    ev.append(
        LicenceEvent(
            "C005",
            "bp",
            "renew",
            35,
            date(2026, 10, 15),
            date(2027, 10, 14),
            date(2026, 10, 15),
            date(2027, 10, 14),
            "2b3c4d5e-0005-4f6a-8b7c-9d0e1f2a3b51",
            "P1Y",
            annual_billing=True,
            subscription_start=date(2026, 10, 15),
        )
    )
    # C006 Rheinwerk: Business Standard; a Teams Premium trial converted to paid on 22 October
    cycle("C006", "bs", 18, 5, "8d9e0f1a-0006-4b2c-9d3e-4f5a6b7c8d61", date(2024, 11, 5))
    ev.append(
        LicenceEvent(
            "C006",
            "teamsprem",
            "convertTrial",
            10,
            date(2026, 10, 22),
            date(2026, 11, 21),
            date(2026, 10, 22),
            date(2026, 11, 21),
            "8d9e0f1a-0006-4b2c-9d3e-4f5a6b7c8d62",
            "P1M",
            subscription_start=date(2026, 10, 22),
        )
    )
    # C007 Alpenblick: Business Premium bought on 2 October and cancelled on 5 October (within the
    # 7-day window: the unused days are credited); Exchange Online cycle from the 26th
    ev.append(
        LicenceEvent(
            "C007",
            "bp",
            "new",
            9,
            date(2026, 10, 2),
            date(2026, 11, 1),
            date(2026, 10, 2),
            date(2026, 11, 1),
            "c7d8e9f0-0007-4a1b-8c2d-3e4f5a6b7c71",
            "P1M",
            subscription_start=date(2026, 10, 2),
        )
    )
    ev.append(
        LicenceEvent(
            "C007",
            "bp",
            "cancelImmediate",
            9,
            date(2026, 10, 5),
            date(2026, 11, 1),
            date(2026, 10, 2),
            date(2026, 11, 1),
            "c7d8e9f0-0007-4a1b-8c2d-3e4f5a6b7c71",
            "P1M",
            subscription_start=date(2026, 10, 2),
        )
    )
    cycle("C007", "exo", 9, 26, "c7d8e9f0-0007-4a1b-8c2d-3e4f5a6b7c72", date(2023, 5, 26))
    # C009 Lumen: Business Premium; C010 Northwind's own staff (internal)
    cycle("C009", "bp", 14, 9, "e9f0a1b2-0009-4c3d-8e4f-5a6b7c8d9e91", date(2024, 2, 9))
    cycle("C010", "bp", 25, 1, "f0a1b2c3-0010-4d4e-9f5a-6b7c8d9e0fa1", date(2023, 1, 1))
    return ev


def ms_invoice_rows(rng: random.Random) -> list[dict[str, str]]:
    """The invoice reconciliation rows of the licence events, with Microsoft's documented amounts:
    EffectiveUnitPrice = unit price after price adjustments, prorated by days of the charge cycle;
    Subtotal = ROUNDDOWN(EffectiveUnitPrice x PCToBCExchangeRate, 2) x BillableQuantity (licence
    lines); credits negative. Licences are priced in EUR, so PCToBCExchangeRate is 1."""
    rows = []
    for e in _licence_events():
        lic = LICENCES[e.licence]
        tenant, name, domain, country = MS_TENANTS[e.customer]
        unit_price = lic.annual if e.annual_billing else lic.monthly
        cycle_days = (e.cycle_end - e.cycle_start).days + 1
        days = (e.end - e.start).days + 1
        effective = unit_price * (1 - e.discount) * D(days) / D(cycle_days)
        effective = effective.quantize(D("0.000001"), rounding=ROUND_HALF_UP)
        sign = -1 if e.charge_type in MS_CREDIT_TYPES else 1
        subtotal = _rounddown(effective * sign) * e.quantity
        term_text = {"P1M": "1 Month", "P1Y": "1 Year"}[e.term]
        frequency = "Annual" if e.annual_billing else "Monthly"
        sub_end = _add_months(e.subscription_start or e.cycle_start, 1 if e.term == "P1M" else 12)
        while sub_end <= e.start:
            sub_end = _add_months(sub_end, 1 if e.term == "P1M" else 12)
        rows.append(
            {
                "PartnerId": MS_PARTNER[0],
                "CustomerId": tenant,
                "CustomerName": name,
                "CustomerDomainName": domain,
                "CustomerCountry": country,
                "InvoiceNumber": MS_INVOICE,
                "MpnId": MS_PARTNER[2],
                "ResellerMpnId": "",
                "OrderId": "".join(
                    rng.choice("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
                    for _ in range(32)
                ),
                "OrderDate": _md(e.start),
                "ProductId": lic.product_id,
                "SkuId": lic.sku_id,
                "AvailabilityId": lic.availability_id,
                "SkuName": lic.sku_name,
                "ProductName": lic.product_name,
                "ChargeType": e.charge_type,
                "UnitPrice": f"{unit_price}",
                "Quantity": str(e.quantity),
                "Subtotal": f"{subtotal}",
                "TaxTotal": "0",
                "Total": f"{subtotal}",
                "Currency": "EUR",
                "PriceAdjustmentDescription": (
                    f'["{e.discount * 100:.1f}% promotion {e.promotion}"]' if e.discount else ""
                ),
                "PublisherName": "Microsoft Corporation",
                "PublisherId": "",
                "SubscriptionDescription": lic.product_name,
                "SubscriptionId": e.subscription,
                "ChargeStartDate": _md(e.start),
                "ChargeEndDate": _md(e.end),
                "TermAndBillingCycle": f"{term_text} - {frequency} Billing",
                "EffectiveUnitPrice": f"{(effective * sign).normalize():f}",
                "UnitType": "Licenses",
                "AlternateId": _guid(rng).replace("-", "")[:12],
                "BillableQuantity": str(e.quantity),
                "BillingFrequency": frequency,
                "PricingCurrency": "EUR",
                "PCToBCExchangeRate": "1",
                "PCToBCExchangeRateDate": _md(date(2026, 10, 1)),
                "MeterDescription": "",
                "ReservationOrderId": "",
                "CreditReasonCode": "",
                "SubscriptionStartDate": _md(e.subscription_start or e.cycle_start),
                "SubscriptionEndDate": _md(sub_end - timedelta(days=1)),
                "ReferenceId": "",
                "ProductQualifiers": "",
                "PromotionId": e.promotion,
                "ProductCategory": "OnlineServicesNCE",
            }
        )
    return rows


MS_USAGE_COLUMNS = [
    "PartnerId",
    "PartnerName",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "MpnId",
    "Tier2MpnId",
    "InvoiceNumber",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "UsageDate",
    "MeterType",
    "MeterCategory",
    "MeterId",
    "MeterSubCategory",
    "MeterName",
    "MeterRegion",
    "Unit",
    "ResourceLocation",
    "ConsumedService",
    "ResourceGroup",
    "ResourceURI",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "UnitType",
    "BillingPreTaxTotal",
    "BillingCurrency",
    "PricingPreTaxTotal",
    "PricingCurrency",
    "ServiceInfo1",
    "ServiceInfo2",
    "Tags",
    "AdditionalInfo",
    "EffectiveUnitPrice",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "EntitlementId",
    "EntitlementDescription",
    "PartnerEarnedCreditPercentage",
    "CreditPercentage",
    "CreditType",
    "BenefitOrderId",
    "BenefitId",
    "BenefitType",
]
#: Azure is priced in USD and billed in the partner's currency at Microsoft's monthly rate
MS_USD_EUR = D("0.9187")
PEC = D(15)


@dataclass(frozen=True)
class AzureMeter:
    """An Azure meter a customer uses every day: USD price per unit, daily quantity range."""

    customer: str
    azure_subscription: str  # the Azure subscription (EntitlementId)
    resource_group: str
    resource: str
    provider: str
    category: str
    subcategory: str
    meter: str
    meter_id: str
    unit: str
    usd: Decimal
    low: Decimal
    high: Decimal
    tags: str
    pec: bool = True


AZURE_PLANS = {  # customer -> Azure plan subscription id in Partner Center
    "C002": "4a1e2b3c-0002-4d5e-8f6a-7b8c9d0e1f21",
    "C004": "4a1e2b3c-0004-4d5e-8f6a-7b8c9d0e1f41",
    "C006": "4a1e2b3c-0006-4d5e-8f6a-7b8c9d0e1f61",
    "C007": "4a1e2b3c-0007-4d5e-8f6a-7b8c9d0e1f71",
}
AZURE_METERS = [
    AzureMeter(
        "C002",
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c02",
        "rg-tms-prod",
        "vm-tms-app01",
        "Microsoft.Compute/virtualMachines",
        "Virtual Machines",
        "Dsv5 Series",
        "D4s v5",
        "e4f8c3b2-6a1d-4c7e-9b5f-0a2d8e6c4b01",
        "1 Hour",
        D("0.2300"),
        D(24),
        D(24),
        '{"CostCenter":"logistics","env":"prod"}',
    ),
    AzureMeter(
        "C002",
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c02",
        "rg-tms-prod",
        "sttmsprod",
        "Microsoft.Storage/storageAccounts",
        "Storage",
        "Tiered Block Blob",
        "Hot LRS Data Stored",
        "a2c4e6f8-1b3d-4f5a-8c7e-9d0b2a4c6e02",
        "1 GB/Month",
        D("0.0208"),
        D("48.4"),
        D("52.9"),
        '{"CostCenter":"logistics","env":"prod"}',
    ),
    AzureMeter(
        "C004",
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04",
        "rg-ehr-db",
        "sql-ehr-reporting",
        "Microsoft.Sql/servers",
        "SQL Database",
        "General Purpose - Compute Gen5",
        "vCore",
        "b3d5f7a9-2c4e-4a6b-9d8f-0e1c3b5d7f04",
        "1 Hour",
        D("0.2530"),
        D(96),
        D(96),
        '{"CostCenter":"ehr","env":"prod"}',
    ),
    AzureMeter(
        "C004",
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04",
        "rg-ehr-db",
        "sql-ehr-reporting",
        "Microsoft.Sql/servers",
        "SQL Database",
        "General Purpose - Storage",
        "Data Stored",
        "c4e6a8b0-3d5f-4b7c-8e9a-1f2d4c6e8a04",
        "1 GB/Month",
        D("0.1150"),
        D("8.06"),
        D("8.07"),
        '{"CostCenter":"ehr","env":"prod"}',
    ),
    AzureMeter(
        "C004",
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04",
        "rg-ehr-web",
        "vm-ehr-portal",
        "Microsoft.Compute/virtualMachines",
        "Virtual Machines",
        "Bsv2 Series",
        "B2s v2",
        "d5f7b9c1-4e6a-4c8d-9f0b-2a3e5d7f9b04",
        "1 Hour",
        D("0.0944"),
        D(24),
        D(24),
        '{"CostCenter":"portal","env":"prod"}',
    ),
    AzureMeter(
        "C006",
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c06",
        "rg-iot-hub",
        "iothub-rheinwerk",
        "Microsoft.Devices/IotHubs",
        "IoT Hub",
        "Standard",
        "S1 Unit",
        "e6a8c0d2-5f7b-4d9e-8a1c-3b4f6e8a0c06",
        "1/Day",
        D("0.8333"),
        D(1),
        D(1),
        '{"project":"sensors"}',
    ),
    AzureMeter(
        "C006",
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c06",
        "rg-iot-hub",
        "vm-edge-gw",
        "Microsoft.Compute/virtualMachines",
        "Bandwidth",
        "",
        "Standard Data Transfer Out",
        "f7b9d1e3-6a8c-4e0f-9b2d-4c5a7f9b1d06",
        "1 GB",
        D("0.0870"),
        D("3.5"),
        D("19.0"),
        '{"project":"sensors"}',
    ),
    # Alpenblick's subscription lost partner admin access in September: no partner earned credit
    AzureMeter(
        "C007",
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c07",
        "rg-fileserver",
        "vm-files01",
        "Microsoft.Compute/virtualMachines",
        "Virtual Machines",
        "Dsv5 Series",
        "D2s v5",
        "a8c0e2f4-7b9d-4f1a-8c3e-5d6b8a0c2e07",
        "1 Hour",
        D("0.1150"),
        D(24),
        D(24),
        "",
        pec=False,
    ),
]


def ms_usage_rows(rng: random.Random) -> list[dict[str, str]]:
    """Daily rated usage of the Azure plan customers: one row per meter, resource and day.
    EffectiveUnitPrice = UnitPrice x (1 - PEC%) in USD; PricingPreTaxTotal = EffectiveUnitPrice x
    Quantity (USD); BillingPreTaxTotal = PricingPreTaxTotal x PCToBCExchangeRate (EUR); both as
    Microsoft prints them, to 6 decimals."""
    rows = []
    for day in DAYS:
        for m in AZURE_METERS:
            tenant, name, domain, country = MS_TENANTS[m.customer]
            if m.low == m.high:
                qty = m.low
            else:
                span = int((m.high - m.low) * 100)
                qty = m.low + D(rng.randrange(span + 1)) / D(100)
            if m.unit == "1 GB/Month":
                qty = (qty / D(31)).quantize(D("0.000001"), rounding=ROUND_HALF_UP)
            pec = PEC if m.pec else D(0)
            effective = (m.usd * (1 - pec / 100)).quantize(D("0.000001"), rounding=ROUND_HALF_UP)
            pricing_total = (effective * qty).quantize(D("0.000001"), rounding=ROUND_HALF_UP)
            billing_total = (pricing_total * MS_USD_EUR).quantize(
                D("0.000001"), rounding=ROUND_HALF_UP
            )
            uri = (
                f"/subscriptions/{m.azure_subscription}/resourceGroups/{m.resource_group}"
                f"/providers/{m.provider}/{m.resource}"
            )
            rows.append(
                {
                    "PartnerId": MS_PARTNER[0],
                    "PartnerName": MS_PARTNER[1],
                    "CustomerId": tenant,
                    "CustomerName": name,
                    "CustomerDomainName": domain,
                    "CustomerCountry": country,
                    "MpnId": MS_PARTNER[2],
                    "Tier2MpnId": "",
                    "InvoiceNumber": MS_INVOICE,
                    "ProductId": "DZH318Z0BPS6",
                    "SkuId": "0001",
                    "AvailabilityId": "DZH318Z0BPS6",
                    "SkuName": f"{m.meter}",
                    "ProductName": m.category,
                    "PublisherName": "Microsoft",
                    "PublisherId": "",
                    "SubscriptionDescription": "Azure plan",
                    "SubscriptionId": AZURE_PLANS[m.customer],
                    "ChargeStartDate": _md(MONTH_START),
                    "ChargeEndDate": _md(MONTH_END - timedelta(days=1)),
                    "UsageDate": _md(day),
                    "MeterType": "1 Compute Hour" if m.unit == "1 Hour" else m.unit,
                    "MeterCategory": m.category,
                    "MeterId": m.meter_id,
                    "MeterSubCategory": m.subcategory,
                    "MeterName": m.meter,
                    "MeterRegion": "EU West",
                    "Unit": m.unit,
                    "ResourceLocation": "westeurope",
                    "ConsumedService": m.provider.split("/")[0],
                    "ResourceGroup": m.resource_group,
                    "ResourceURI": uri,
                    "ChargeType": "new",
                    "UnitPrice": f"{m.usd}",
                    "Quantity": f"{qty.normalize():f}",
                    "UnitType": m.unit,
                    "BillingPreTaxTotal": f"{billing_total}",
                    "BillingCurrency": "EUR",
                    "PricingPreTaxTotal": f"{pricing_total}",
                    "PricingCurrency": "USD",
                    "ServiceInfo1": "",
                    "ServiceInfo2": "",
                    "Tags": m.tags,
                    "AdditionalInfo": "",
                    "EffectiveUnitPrice": f"{effective}",
                    "PCToBCExchangeRate": f"{MS_USD_EUR}",
                    "PCToBCExchangeRateDate": _md(MONTH_START),
                    "EntitlementId": m.azure_subscription,
                    "EntitlementDescription": f"Azure subscription {name}",
                    "PartnerEarnedCreditPercentage": f"{pec.normalize():f}",
                    "CreditPercentage": "0",
                    "CreditType": "Credit Not Applied",
                    "BenefitOrderId": "",
                    "BenefitId": "",
                    "BenefitType": "",
                }
            )
    return rows


# --------------------------------------------------------------------------------------------
# VMware Cloud Provider Program: Usage Meter monthly usage per customer label, in points, EUR
# --------------------------------------------------------------------------------------------

VMWARE_FILE = "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
VMWARE_COLUMNS = [
    "Month",
    "Usage Meter",
    "Customer Label",
    "Customer Country",
    "Product",
    "Unit of Measure",
    "Units to be Reported",
    "Points per Unit",
    "Billable Points",
    "Price per Point",
    "Currency",
]
#: the price per point in Northwind's VCPP rental contract with its aggregator (EUR)
VMWARE_PRICE_PER_POINT = D("0.8640")
#: customer label -> [(product, billing unit, billable units, points per unit)]
VMWARE_USAGE = {
    "vanleeuwen-logistiek": [
        ("VMware Cloud Director", "Powered-on VM", D(42), D(2)),
        ("Flex Core - Standard", "Core", D(64), D(5)),
        ("vSAN Standard", "TiB used", D("18.5"), D(24)),
        ("NSX Advanced", "Powered-on VM", D(42), D(3)),
    ],
    "zorggroep-amstelland": [
        ("VMware Cloud Director", "Powered-on VM", D(118), D(2)),
        ("Flex Core - Advanced", "Core", D(192), D(7)),
        ("vSAN Enterprise", "TiB used", D("61.25"), D(38)),
        ("NSX Advanced", "Powered-on VM", D(118), D(3)),
        ("Aria Operations Enterprise", "Powered-on VM", D(118), D(4)),
    ],
    "schelde-data": [
        ("VMware Cloud Director", "Powered-on VM", D(27), D(2)),
        ("Flex Core - Standard", "Core", D(48), D(5)),
        ("vSAN Standard", "TiB used", D("9.75"), D(24)),
    ],
    "northwind-mgmt": [
        ("Flex Core - Standard", "Core", D(32), D(5)),
        ("Aria Operations Enterprise", "Powered-on VM", D(14), D(4)),
    ],
}


def vmware_rows() -> list[dict[str, str]]:
    """The usage meter's monthly usage per customer label and product, with the contract's price
    per point: the report's billable points x price per point is the line's cost."""
    rows = []
    for label, products in VMWARE_USAGE.items():
        country = {"schelde-data": "BE"}.get(label, "NL")
        for product, unit, units, per_unit in products:
            rows.append(
                {
                    "Month": PERIOD,
                    "Usage Meter": "um-utr-01.northwind-cloud.example",
                    "Customer Label": label,
                    "Customer Country": country,
                    "Product": product,
                    "Unit of Measure": unit,
                    "Units to be Reported": f"{units}",
                    "Points per Unit": f"{per_unit}",
                    "Billable Points": f"{(units * per_unit).normalize():f}",
                    "Price per Point": f"{VMWARE_PRICE_PER_POINT}",
                    "Currency": "EUR",
                }
            )
    return rows


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, str]]) -> None:
    """UTF-8 CSV, comma-separated, every column of the vendor's layout in its order, LF line
    ends."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    path.write_bytes(buf.getvalue().encode("utf-8"))


def generate(out: Path) -> list[Path]:
    """Write the month's reports into ``out/reports``; the files written, in name order."""
    reports = out / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    write_aws_parquet(reports / AWS_FILE, aws_rows(random.Random(20261001)))
    write_csv(
        reports / MS_INVOICE_FILE, MS_INVOICE_COLUMNS, ms_invoice_rows(random.Random(20261002))
    )
    write_csv(reports / MS_USAGE_FILE, MS_USAGE_COLUMNS, ms_usage_rows(random.Random(20261003)))
    write_csv(reports / VMWARE_FILE, VMWARE_COLUMNS, vmware_rows())
    return sorted(p for p in reports.iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / PERIOD,
        help="folder to write reports/ into (default: samples/2026-10)",
    )
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
