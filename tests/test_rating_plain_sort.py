"""A small month's rated lines are sorted without codes (``rated_file.plain_query_sql``); a large
month's carry codes and key ids through the sort (``rated_file.rated_query_sql``): both write the
same file, byte for byte - every pricing, a minimum-fee top-up, custom lines, credits, taxes,
excluded and unmapped lines, NULL text."""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from rating_helpers import line, rated_store, write_parameters
from test_rating_properties import PLANS

from billing_lib.rating import rate_lines, rated_file

CUSTOM = """
custom_lines:
  - {id: c1-fee, customer: C1, kind: fee, description: Managed services, unit_price: "155.00",
     currency: EUR, valid_from: 2026-10-16, product_group: managed_services}
  - {id: c3-hours, customer: C3, kind: one_off, description: Onboarding, quantity: 5, unit: hour,
     unit_price: "95.00", currency: USD, date: 2026-10-08}
"""

ACCOUNTS = {"aws": ["111", "222", "333", "999"], "microsoft": ["tenant-1", "tenant-3"]}


def month(n: int) -> list[dict]:
    """``n`` lines of every rule of ``PLANS``, from two files, in no order (purchases at their
    billed cost)."""
    pick = random.Random(7).choice
    rows = []
    for i in range(n):
        vendor = pick(["aws", "aws", "microsoft", "vmware"])
        start = datetime(2026, 10, 1) + timedelta(hours=pick(range(30 * 24)))
        rows.append(
            line(
                x_Vendor=vendor,
                SubAccountId=pick(ACCOUNTS.get(vendor, ["v-1"])),
                ProviderName=vendor,
                ServiceName=pick(["S3", "EBS", "EC2", None]) if vendor == "aws" else "Seats",
                SkuId=pick(["SEAT", "X", None]) if vendor == "microsoft" else "X",
                ChargeCategory=pick(["Usage", "Usage", "Purchase", "Tax", "Credit"]),
                BillingCurrency=pick(["USD", "EUR"]),
                BilledCost=Decimal(pick(range(-50, 900))) / 7,
                EffectiveCost=Decimal(pick(range(900))) / 3,
                ListCost=Decimal(pick(range(1, 900))),
                PricingQuantity=Decimal(pick(range(1, 40))),
                Tags=pick(['{"team": "a"}', None]),
                ChargePeriodStart=start,
                ChargePeriodEnd=start + timedelta(hours=pick(range(1, 24 * 40))),
                x_SourceFile=pick(["b.csv", "a.csv"]),
                x_SourceRow=i + 2,
            )
        )
        if rows[-1]["ChargeCategory"] == "Purchase":
            # a one-time purchase naming no commitment costs what it bills: one whose
            # EffectiveCost is spread over usage is a commitment the rating refuses to bill twice
            # (``rating.amortised_purchases``)
            rows[-1]["EffectiveCost"] = rows[-1]["BilledCost"]
    return rows


def test_a_month_sorted_with_and_without_codes_gives_the_same_file(tmp_path, monkeypatch):
    params = write_parameters(tmp_path / "p", PLANS, custom=CUSTOM)
    rows = month(60)
    files = []
    for coded_lines in (rated_file.CODED_LINES, 0):  # 0: every month coded, as a large one
        monkeypatch.setattr(rated_file, "CODED_LINES", coded_lines)
        con, pricing, customers = rated_store(params, rows)
        target = tmp_path / f"{coded_lines}" / "rated_lines.parquet"
        rate_lines(con, pricing, customers, "2026-10", target)
        kinds = {k for (k,) in con.execute("SELECT DISTINCT line_kind FROM rated_lines").fetchall()}
        rules = {r for (r,) in con.execute("SELECT DISTINCT rule_id FROM rated_lines").fetchall()}
        con.close()
        files.append(target.read_bytes())
    assert kinds == {"vendor", "fee", "one_off", "minimum"}
    assert {"aws", "ms", "seat", "tier", "vol", "all"} <= rules, rules
    assert files[0] == files[1]
