"""The same usage given in two report formats (importers/usage_sources.py): a vendor's Usage of one
account and month from more than one layout is refused naming both files, and the combinations
that bill different charges (licences in the invoice file beside Azure usage in the daily file)
are read."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices
from tests.notebook_project import REPO

REPORTS = REPO / "samples" / "2026-10" / "reports"
CUR2 = REPORTS / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
DAILY = REPORTS / "ms-daily-rated-usage-G052026103.csv"
RECON = REPORTS / "ms-invoice-reconciliation-G052026103.csv"
VMWARE = REPORTS / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
MPA = REPO / "tests" / "data" / "azure-cost-details" / "mpa-actual-cost-2026-10.csv"
VMWARE_DATA = REPO / "tests" / "data" / "vmware-usage"
#: Van Leeuwen Logistiek's tenant: Azure usage in the daily file, no licence in the invoice file.
TENANT = "88825278-08a8-4728-94af-fd0e00ff815f"
#: Dijkstra Architecten's tenant: licences in the invoice file, no usage in the daily file.
LICENCES_ONLY = "de6799dd-16e2-4542-8982-fcd5407b50a3"


def _recon_with_azure_usage(path: Path, tenant: str, plan: str | None = None) -> Path:
    """The sample invoice reconciliation file plus two Azure plan (usage-based) rows of
    ``tenant``, as a real invoice lists them beside the licences; ``plan``: their SubscriptionId
    (the Azure plan's), else the first row's."""
    with open(RECON, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    usage = {
        "CustomerId": tenant,
        "OrderId": "",
        "ProductId": "DZH318Z0BPS6",
        "SkuId": "0001",
        "AvailabilityId": "DZH318Z0BPS6",
        "ProductName": "Azure plan",
        "ChargeType": "new",
        "UnitPrice": "0.2300",
        "Quantity": "1",
        "BillableQuantity": "1",
        "TaxTotal": "0",
        "SubscriptionDescription": "Azure plan",
        "ChargeStartDate": "10/1/2026",
        "ChargeEndDate": "10/31/2026",
        "TermAndBillingCycle": "",
        "BillingFrequency": "",
        "UnitType": "1 Hour",
        "PricingCurrency": "USD",
        "PCToBCExchangeRate": "0.9187",
    } | ({"SubscriptionId": plan} if plan else {})
    added = [
        {**rows[0], **usage, "SkuName": sku, "Subtotal": cost, "Total": cost}
        | {"EffectiveUnitPrice": "0.1955", "AlternateId": alt, "MeterDescription": meter}
        for sku, cost, alt, meter in [
            ("D4s v5", "133.62", "az0000000000", "Virtual Machines - D4s v5"),
            ("Hot LRS Data Stored", "0.82", "az0000000001", "Storage - Hot LRS Data Stored"),
        ]
    ]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([*rows, *added])
    return path


def _aws_focus(path: Path, account: str) -> Path:
    """An AWS FOCUS export of two October days of ``account`` (payer 111122223333)."""
    header = (
        "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargePeriodStart,"
        "ChargePeriodEnd,ServiceName,BilledCost,BillingCurrency"
    )
    rows = [
        f"111122223333,{account},AWS,Usage,2026-10-0{d}T00:00:00Z,2026-10-0{d + 1}T00:00:00Z,"
        "Amazon Elastic Compute Cloud,12.5,USD"
        for d in (1, 2)
    ]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _refused(*paths: Path, **kwargs) -> InputError:
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, list(paths), **kwargs)
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)  # all or nothing
    return err.value


def test_azure_usage_in_the_invoice_file_and_the_daily_file_is_refused(tmp_path):
    recon = _recon_with_azure_usage(tmp_path / RECON.name, TENANT)
    err = _refused(recon, DAILY, period="2026-10")
    assert str(err).startswith(
        f"{DAILY}: the Usage of microsoft account {TENANT} (Van Leeuwen Logistiek B.V.) in 2026-10 "
        f"comes from more than one report format: {recon} (Microsoft Partner Center new-commerce "
        f"invoice reconciliation, 2 Usage lines) and {DAILY} (Microsoft Partner Center "
        "new-commerce daily rated usage, 62 Usage lines)"
    )
    assert "would be billed twice" in str(err) and "Give one source of it" in str(err)
    [problem] = err.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(DAILY),
        2,
        "SubAccountId",
        TENANT,
    )


def test_an_azure_cost_export_and_the_daily_file_of_the_same_tenant_are_refused():
    err = _refused(MPA, DAILY)
    assert f"the Usage of microsoft account {TENANT} " in str(err)
    assert f"{MPA} (Azure Cost Management cost details export" in str(err)


def test_one_usage_meter_month_in_both_vmware_layouts_is_refused():
    prices = load_vendor_prices(VMWARE_DATA)
    report = VMWARE_DATA / "customer-monthly-usage-2026-10.tsv"
    err = _refused(VMWARE, report, vendor_prices=prices, period="2026-10")
    assert "the Usage of vmware account vanleeuwen-logistiek in 2026-10" in str(err)
    assert "(4 accounts and months in all)" in str(err)
    assert {p.value for p in err.problems} == {
        "vanleeuwen-logistiek",
        "zorggroep-amstelland",
        "schelde-data",
        "northwind-mgmt",
    }


@pytest.mark.parametrize("focus_first", [False, True], ids=["cur-first", "focus-first"])
def test_an_aws_cur_and_a_focus_export_of_the_same_account_are_refused(tmp_path, focus_first):
    focus = _aws_focus(tmp_path / "aws-focus-2026-10.csv", "402719385610")
    err = _refused(*([focus, CUR2] if focus_first else [CUR2, focus]))
    assert "the Usage of aws account 402719385610" in str(err) and " in 2026-10 " in str(err)
    assert "(FOCUS 1.0-1.2 cost and usage export, 2 Usage lines)" in str(err)


def test_reports_of_one_vendor_billing_different_charges_or_accounts_are_read(tmp_path):
    # licences (Purchase) in the invoice file beside Azure usage in the daily file: the sample
    # month; Azure usage in the invoice file of a tenant the daily file has no usage of; a FOCUS
    # export of an AWS account the CUR does not bill
    recon = _recon_with_azure_usage(tmp_path / RECON.name, LICENCES_ONLY)
    focus = _aws_focus(tmp_path / "aws-focus-2026-10.csv", "999999999999")
    reports = import_reports(open_store(), [recon, DAILY, CUR2, focus], period="2026-10")
    assert [r.rows for r in reports] == [21, 248, 718, 2]


def _azure_focus_of_daily(path: Path, subscription=lambda s: s) -> Path:
    """The daily file's Azure usage as Cost Management's FOCUS export writes it: keyed by the
    subscription (``/subscriptions/<EntitlementId>``), not the customer's tenant; ``subscription``
    spells the id (Azure writes it in either case)."""
    with open(DAILY, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        month, day, year = (int(v) for v in r["UsageDate"].split("/"))
        sub = subscription(r["EntitlementId"])
        out.append(
            {
                "BillingAccountId": "/providers/Microsoft.Billing/billingAccounts/06e7e8c4",
                "SubAccountId": f"/subscriptions/{sub}",
                "SubAccountName": r["EntitlementDescription"],
                "ProviderName": "Microsoft",
                "ChargeCategory": "Usage",
                "ChargePeriodStart": f"{year}-{month:02d}-{day:02d}T00:00:00Z",
                "ServiceName": r["MeterCategory"],
                "SkuId": r["ProductId"],
                "SkuPriceId": r["MeterId"],
                "ResourceId": r["ResourceURI"].replace(r["EntitlementId"], sub),
                "PricingQuantity": r["Quantity"],
                "BilledCost": r["BillingPreTaxTotal"],
                "BillingCurrency": "EUR",
            }
        )
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(out[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    return path


#: Van Leeuwen Logistiek's Azure subscription (the daily file's EntitlementId, under ResourceURI).
SUBSCRIPTION = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c02"


@pytest.mark.parametrize("spelling", [str.lower, str.upper], ids=["lower-case", "upper-case"])
@pytest.mark.parametrize("focus_first", [False, True], ids=["daily-first", "focus-first"])
def test_azure_usage_as_a_focus_export_and_as_the_daily_file_is_refused(
    tmp_path, spelling, focus_first
):
    """Partner Center keys the usage by the customer's tenant, FOCUS by the subscription: both
    were billed, every Azure charge twice."""
    focus = _azure_focus_of_daily(tmp_path / "azure-focus-2026-10.csv", spelling)
    first, second = (focus, DAILY) if focus_first else (DAILY, focus)
    err = _refused(first, second, period="2026-10")
    assert str(err).startswith(
        f"{second}: the Usage of microsoft Azure subscription {SUBSCRIPTION} ("
    )
    assert f"in 2026-10 comes from more than one report format: {first} (" in str(err)
    assert "(4 Azure subscriptions and months in all)" in str(err)
    assert "by the customer's tenant, the other by the subscription" in str(err)
    assert "would be billed twice" in str(err)
    problem = next(p for p in err.problems if p.value == SUBSCRIPTION)
    assert (problem.file, problem.row, problem.column) == (str(second), 2, "ResourceId")


def test_a_focus_export_of_other_azure_subscriptions_beside_the_daily_file_is_read(tmp_path):
    focus = _azure_focus_of_daily(tmp_path / "azure-focus-2026-10.csv", lambda s: s[:-2] + "99")
    reports = import_reports(open_store(), [DAILY, focus], period="2026-10")
    assert [r.rows for r in reports] == [248, 248]


def _mapping(account: str, customer: str = "C002"):
    from billing_lib.customers import AccountMapping

    return AccountMapping(vendor="microsoft", account_id=account, customer_id=customer)


@pytest.mark.parametrize("focus_first", [False, True], ids=["invoice-first", "focus-first"])
def test_azure_usage_in_the_invoice_file_and_a_focus_export_of_one_customer_is_refused(
    tmp_path, focus_first
):
    """The invoice file keys its Azure plan rows by the customer's tenant and names no Azure
    subscription; FOCUS keys the same usage by the subscription. Compared by tenant only, the two
    never met: Van Leeuwen's October Azure usage was billed from both, every charge twice. The
    customer is what accounts.csv maps the tenant and the subscription to."""
    recon = _recon_with_azure_usage(tmp_path / RECON.name, TENANT)
    focus = _azure_focus_of_daily(tmp_path / "azure-focus-2026-10.csv")
    accounts = [_mapping(TENANT), _mapping(SUBSCRIPTION)]
    first, second = (focus, recon) if focus_first else (recon, focus)
    err = _refused(first, second, period="2026-10", accounts=accounts)
    text = str(err)
    assert text.startswith(
        f"{second}: the Usage of microsoft customer C002 in 2026-10 comes from more than one "
        f"report format: {first} ("
    )
    assert f"tenant {TENANT}" in text and f"Azure subscription {SUBSCRIPTION}" in text
    assert "accounts.csv maps both to C002" in text and "would be billed twice" in text
    [problem] = err.problems
    if focus_first:
        assert (problem.file, problem.column, problem.value) == (str(recon), "SubAccountId", TENANT)
    else:
        assert (problem.file, problem.column, problem.value) == (
            str(focus),
            "SubAccountId",
            f"/subscriptions/{SUBSCRIPTION}",
        )


def test_azure_usage_in_the_invoice_file_and_a_focus_export_of_two_customers_is_read(tmp_path):
    """Another customer's subscription in the FOCUS export, or no accounts.csv to tell: read."""
    recon = _recon_with_azure_usage(tmp_path / RECON.name, TENANT)
    focus = _azure_focus_of_daily(tmp_path / "azure-focus-2026-10.csv")
    other = [_mapping(TENANT), _mapping(SUBSCRIPTION, "C004")]
    for accounts in (other, None):
        reports = import_reports(open_store(), [recon, focus], period="2026-10", accounts=accounts)
        assert [r.rows for r in reports] == [21, 248]


#: The Azure plan subscription of Van Leeuwen's tenant, the invoice file's Azure plan rows' key.
AZURE_PLAN = "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a"


def test_the_same_azure_usage_of_a_plan_mapped_apart_from_its_tenant_is_refused(tmp_path):
    """The tenant is C004's; the Azure plan's own accounts.csv row and the FOCUS export's
    subscription are C002's: the invoice bills both to C002, the same usage twice. The invoice
    file's rows were taken as the tenant's customer's (C004), so the two never met."""
    recon = _recon_with_azure_usage(tmp_path / RECON.name, TENANT, AZURE_PLAN)
    focus = _azure_focus_of_daily(tmp_path / "azure-focus-2026-10.csv")
    accounts = [_mapping(TENANT, "C004"), _mapping(AZURE_PLAN), _mapping(SUBSCRIPTION)]
    err = _refused(recon, focus, period="2026-10", accounts=accounts)
    assert str(err).startswith(
        f"{focus}: the Usage of microsoft customer C002 in 2026-10 comes from more than one "
        f"report format: {recon} ("
    )
    assert "accounts.csv maps both to C002" in str(err)


def test_azure_usage_of_a_plan_mapped_to_another_customer_than_its_tenant_is_read(tmp_path):
    """The tenant and the FOCUS export's subscription are C002's, the Azure plan's own row gives
    it to C004: the invoice bills the two to two customers, as for another customer's
    subscription. It was refused as C002's."""
    recon = _recon_with_azure_usage(tmp_path / RECON.name, TENANT, AZURE_PLAN)
    focus = _azure_focus_of_daily(tmp_path / "azure-focus-2026-10.csv")
    accounts = [_mapping(TENANT), _mapping(AZURE_PLAN, "C004"), _mapping(SUBSCRIPTION)]
    reports = import_reports(open_store(), [recon, focus], period="2026-10", accounts=accounts)
    assert [r.rows for r in reports] == [21, 248]
