"""The same Microsoft purchase given in two reports (importers/purchase_sources.py): a reservation,
savings plan or marketplace product in both the invoice reconciliation file and an Azure cost
export is refused naming both files and rows; different purchases of one customer are both read."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from billing_lib import run
from billing_lib.cli import main
from billing_lib.customers import AccountMapping
from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests.notebook_project import REPO

RECON = REPO / "samples" / "2026-10" / "reports" / "ms-invoice-reconciliation-G052026103.csv"
#: The partner's actual-cost export: Van Leeuwen's reservation (order 2f6b8c1d..., EUR 63.48 a
#: month, row 5), Schelde's savings plan (order 9e8d7c6b..., EUR 671.60, row 6) and Schelde's
#: marketplace SaaS (no order id, EUR 110.40, row 7), beside both customers' licences in RECON.
MPA = REPO / "tests" / "data" / "azure-cost-details" / "mpa-actual-cost-2026-10.csv"
VAN_LEEUWEN = "88825278-08a8-4728-94af-fd0e00ff815f"
SCHELDE = "39bd560b-19de-415f-918b-0c2b21a46df9"
RESERVATION = "2f6b8c1d-4e3a-4b5c-9d7e-8f0a1b2c3d4e"
SAVINGS_PLAN = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b"


def _recon_with(path: Path, **purchase: str) -> Path:
    """The sample invoice reconciliation file plus one Azure purchase row of ``purchase``'s
    values, as Partner Center lists a reservation bought for a customer (row 21)."""
    with open(RECON, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    added = {
        **rows[0],
        "CustomerId": VAN_LEEUWEN,
        "CustomerName": "Van Leeuwen Logistiek B.V.",
        "OrderId": "RIorder0000000000000000000000001",
        "OrderDate": "10/2/2026",
        "ProductId": "DZH318Z0BQ4N",
        "SkuId": "00BD",
        "AvailabilityId": "DZH318Z0CQ1K",
        "SkuName": "Reserved VM Instance, Standard_D4s_v5, EU West, 1 Year",
        "ProductName": "Virtual Machines Dsv5 Series",
        "ChargeType": "new",
        "UnitPrice": "69.00",
        "Quantity": "1",
        "BillableQuantity": "1",
        "Subtotal": "63.48",
        "Total": "63.48",
        "EffectiveUnitPrice": "69.00",
        "PublisherName": "Microsoft",
        "SubscriptionDescription": "Reserved VM Instance",
        "SubscriptionId": "5c0a8e52-31d4-4f6b-9a0e-7d2c3b1a9f01",
        "ChargeStartDate": "10/2/2026",
        "ChargeEndDate": "11/1/2026",
        "TermAndBillingCycle": "1 Year - Monthly Billing",
        "AlternateId": "ri0000000001",
        "BillingFrequency": "Monthly",
        "PricingCurrency": "USD",
        "PCToBCExchangeRate": "0.92",
        "MeterDescription": "",
        "ReservationOrderId": RESERVATION,
        "ProductCategory": "Azure",
        **purchase,
    }
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([*rows, added])
    return path


def _refused(*paths: Path) -> InputError:
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, list(paths))
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    return err.value


def test_the_invoice_file_and_a_cost_export_of_different_purchases_are_both_read():
    # both customers' licences in the invoice file, their Azure purchases in the export
    reports = import_reports(open_store(), [RECON, MPA])
    assert [r.rows for r in reports] == [19, 9]


@pytest.mark.parametrize(
    "order",
    [
        RESERVATION,
        RESERVATION.upper(),
        f"/providers/Microsoft.Capacity/reservationOrders/{RESERVATION}",
    ],
    ids=["order-id", "upper-case", "resource-id"],
)
def test_a_reservation_in_the_invoice_file_and_a_cost_export_is_refused(tmp_path, order):
    recon = _recon_with(tmp_path / RECON.name, ReservationOrderId=order)
    err = _refused(recon, MPA)
    message = str(err)
    assert message.startswith(
        f"{MPA}: the purchase 'Reserved VM Instance, Standard_D4s_v5, EU West, 1 Year' of "
        f"microsoft account {VAN_LEEUWEN} (Van Leeuwen Logistiek B.V.) in 2026-10 (EUR 63.48, "
        f"reservation or savings plan order {RESERVATION}) comes from both {recon} row 21 "
    )
    assert f"and {MPA} row 5 " in message and "billed twice" in message
    assert "ReservationOrderId" in message  # the way out names the rows to delete
    assert [(p.file, p.row, p.column, p.value) for p in err.problems] == [
        (str(MPA), 5, "CommitmentDiscountId", RESERVATION)
    ]


def test_a_savings_plan_and_a_marketplace_product_in_both_are_refused_together(tmp_path):
    saas = {
        "CustomerId": SCHELDE,
        "CustomerName": "Schelde Data Services NV",
        "ProductId": "acme.backup-saas",
        "SkuName": "Business plan",
        "ProductName": "Acme Backup for Azure - Business plan",
        "Subtotal": "110.40",
        "Total": "110.40",
        "ChargeStartDate": "10/5/2026",
        "ReservationOrderId": "",
        "AlternateId": "saas00000001",
    }
    recon = _recon_with(tmp_path / "a.csv", CustomerId=SCHELDE, ReservationOrderId=SAVINGS_PLAN)
    both = _recon_with(tmp_path / RECON.name, **saas)
    with open(recon, encoding="utf-8", newline="") as fh:
        savings_plan = list(csv.reader(fh))[-1]
    with open(both, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(savings_plan)
    err = _refused(both, MPA)
    assert "(2 purchases in all)" in str(err)
    assert [(p.row, p.column, p.value) for p in err.problems] == [
        (6, "CommitmentDiscountId", SAVINGS_PLAN),
        (7, "BilledCost", "110.4"),
    ]


@pytest.mark.parametrize(
    "purchase",
    [
        {"ReservationOrderId": "11111111-2222-4333-8444-555555555555"},
        {"ReservationOrderId": "", "Subtotal": "64.00", "Total": "64.00"},
        {"ReservationOrderId": "", "CustomerId": SCHELDE},
        {"ChargeStartDate": "9/2/2026", "ChargeEndDate": "10/1/2026"},
    ],
    ids=["another-order", "another-amount", "another-customer", "another-month"],
)
def test_a_different_purchase_of_the_customer_is_read(tmp_path, purchase):
    recon = _recon_with(tmp_path / RECON.name, **purchase)
    assert [r.rows for r in import_reports(open_store(), [recon, MPA])] == [20, 9]


#: The EA/MCA export (customer-led Microsoft Customer Agreement): Northwind's marketplace SaaS
#: (no order id, EUR 110.40, row 3) in its subscription c3f0a9b8-..., which names no tenant.
MCA = REPO / "tests" / "data" / "azure-cost-details" / "mca-actual-cost-2026-10.csv"
NORTHWIND = "8de64811-73ed-4e1e-913d-a807f586205a"
NORTHWIND_SUBSCRIPTION = "c3f0a9b8-7d6e-4c5b-a4f3-e2d1c0b9a8f7"
#: The same SaaS as the invoice file lists it for Northwind's tenant (row 21): SubscriptionId is
#: the Partner Center subscription of the purchase, not the Azure subscription, unless given.
NORTHWIND_SAAS = {
    "CustomerId": NORTHWIND,
    "CustomerName": "Northwind Cloud B.V.",
    "ProductId": "acme.backup-saas",
    "SkuId": "0001",
    "SkuName": "Business plan",
    "ProductName": "Acme Backup for Azure - Business plan",
    "PublisherName": "Acme Backup Ltd",
    "Subtotal": "110.40",
    "Total": "110.40",
    "ChargeStartDate": "10/3/2026",
    "ReservationOrderId": "",
    "AlternateId": "saas00000002",
    "SubscriptionId": "0c9d2e41-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
}


def _mapped(*pairs: tuple[str, str]) -> list[AccountMapping]:
    return [AccountMapping(vendor="microsoft", account_id=a, customer_id=c) for a, c in pairs]


def _refused_with(paths: list[Path], accounts: list[AccountMapping] | None) -> InputError:
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, paths, accounts=accounts)
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    return err.value


def test_a_marketplace_product_in_the_invoice_file_and_an_mca_export_is_refused_by_customer(
    tmp_path,
):
    """The EA/MCA export names the Azure subscription, not the tenant: the same SaaS in both was
    billed twice. accounts.csv maps the tenant and the subscription to one customer."""
    recon = _recon_with(tmp_path / RECON.name, **NORTHWIND_SAAS)
    accounts = _mapped((NORTHWIND, "C010"), (NORTHWIND_SUBSCRIPTION, "C010"))
    err = _refused_with([recon, MCA], accounts)
    message = str(err)
    assert message.startswith(
        f"{MCA}: the purchase 'Business plan' of microsoft account {NORTHWIND} (Northwind Cloud "
        "B.V.) in 2026-10 (EUR 110.4, the same customer (accounts.csv maps the tenant and the "
        "export's subscription to C010), product and amount; no order id in one of them) comes "
        f"from both {recon} row 21 "
    )
    assert f"and {MCA} row 3 " in message and "billed twice" in message
    assert [(p.file, p.row, p.column, p.value) for p in err.problems] == [
        (str(MCA), 3, "BilledCost", "110.4")
    ]


def test_a_marketplace_product_is_matched_by_the_invoice_file_s_azure_subscription(tmp_path):
    # no accounts.csv (billing import without parameters): the invoice file's SubscriptionId
    saas = {**NORTHWIND_SAAS, "SubscriptionId": NORTHWIND_SUBSCRIPTION.upper()}
    recon = _recon_with(tmp_path / RECON.name, **saas)
    err = _refused_with([recon, MCA], None)
    assert "the same customer (the invoice file's SubscriptionId is the export's subscription)" in (
        str(err)
    )


@pytest.mark.parametrize(
    "accounts",
    [
        [(NORTHWIND, "C010"), (NORTHWIND_SUBSCRIPTION, "C001")],
        [(NORTHWIND, "C010")],
        [],
    ],
    ids=["another-customer-s-subscription", "subscription-not-mapped", "no-accounts"],
)
def test_a_marketplace_product_of_another_customer_in_an_mca_export_is_read(tmp_path, accounts):
    recon = _recon_with(tmp_path / RECON.name, **NORTHWIND_SAAS)
    reports = import_reports(open_store(), [recon, MCA], accounts=_mapped(*accounts))
    assert [r.rows for r in reports] == [20, 4]


def test_billing_import_matches_by_the_parameters_accounts(tmp_path, capsys):
    parameters = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    with open(parameters / "accounts.csv", "a", encoding="utf-8") as fh:
        fh.write(f"microsoft,{NORTHWIND_SUBSCRIPTION},C010,,,northwind-internal (Azure)\n")
    recon = _recon_with(tmp_path / RECON.name, **NORTHWIND_SAAS)
    assert main(["import", str(recon), str(MCA), "--parameters", str(parameters)]) == 2
    err = capsys.readouterr().err
    assert "accounts.csv maps the tenant and the export's subscription to C010" in err


def test_a_run_matches_by_the_parameters_accounts(tmp_path):
    parameters = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    with open(parameters / "accounts.csv", "a", encoding="utf-8") as fh:
        fh.write(f"microsoft,{NORTHWIND_SUBSCRIPTION},C010,,,northwind-internal (Azure)\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    _recon_with(reports / RECON.name, **NORTHWIND_SAAS)
    shutil.copy(MCA, reports / MCA.name)
    br = run.start("2026-10", str(reports), str(parameters), str(tmp_path / "outputs"))
    br.load_parameters()
    with pytest.raises(InputError, match="export's subscription to C010"):
        br.import_reports()


def test_a_reservation_in_the_invoice_file_and_amortized_in_a_cost_export_is_refused(tmp_path):
    """The invoice file bills Van Leeuwen's reservation as bought (EUR 63.48); the partner's
    amortized-cost export bills it again spread over the usage it covers and its unused hours
    (EUR 2.30). No purchase and no usage is in both, so both were read: the reservation billed
    twice (importers/commitment_views.py)."""
    amortized = REPO / "tests" / "data" / "azure-cost-details" / "mpa-amortized-cost-2026-10.csv"
    recon = _recon_with(tmp_path / "recon.csv")
    err = _refused(recon, amortized)
    assert f"order {RESERVATION}" in str(err) and "amortized" in str(err)
    assert [(p.file, p.row) for p in err.problems] == [(str(recon), 21)]


#: The invoice file's Partner Center subscription of Northwind's SaaS (``NORTHWIND_SAAS``).
SAAS_SUBSCRIPTION = NORTHWIND_SAAS["SubscriptionId"]


def test_a_purchase_whose_subscription_row_maps_it_apart_from_its_tenant_is_refused(tmp_path):
    """The tenant is C001's, the SaaS subscription's own accounts.csv row gives it to C010, as
    the export's subscription: both lines are billed to C010, so the SaaS was billed twice to
    it. The customer was taken from the tenant's row alone (C001): the two never met."""
    recon = _recon_with(tmp_path / RECON.name, **NORTHWIND_SAAS)
    accounts = _mapped(
        (NORTHWIND, "C001"), (SAAS_SUBSCRIPTION, "C010"), (NORTHWIND_SUBSCRIPTION, "C010")
    )
    err = _refused_with([recon, MCA], accounts)
    assert (
        f"the same customer (accounts.csv maps the invoice file's subscription {SAAS_SUBSCRIPTION} "
        "and the export's subscription to C010)" in str(err)
    )
    assert [(p.file, p.row) for p in err.problems] == [(str(MCA), 3)]


def test_a_purchase_whose_subscription_row_maps_it_to_another_customer_is_read(tmp_path):
    """The tenant's row and the export's subscription are C010's, the SaaS subscription's own
    row gives it to C001: the invoice bills it to C001, the export's line to C010, two
    customers' purchases, as for a tenant of another customer. It was refused as C010's."""
    recon = _recon_with(tmp_path / RECON.name, **NORTHWIND_SAAS)
    accounts = _mapped(
        (NORTHWIND, "C010"), (SAAS_SUBSCRIPTION, "C001"), (NORTHWIND_SUBSCRIPTION, "C010")
    )
    reports = import_reports(open_store(), [recon, MCA], accounts=accounts)
    assert [r.rows for r in reports] == [20, 4]
