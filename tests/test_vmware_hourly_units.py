"""An hourly VMware report (the console's Hourly Usage Report, the Cloud Partner Navigator billing
API) counts one hour's usage a row: 64 cores in a row are 64 core-hours. A contract entry priced
per core (Broadcom's price per core a month) was charged for every hour, 744 times in October,
without a word: the entry must price, or count points for, a unit of an hour. Each report and
contract is built here."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

D = Decimal
HOURLY = (
    "Product,SKU,Usage Hour,License Key,Quantity,Unit of Measurement\n"
    "VMware Cloud Foundation,VCF-CLD-FDN-5,2026-10-01 0:00:00,K,64,Core\n"
    "VMware Cloud Foundation,VCF-CLD-FDN-5,2026-10-01 1:00:00,K,64,Core\n"
)
BILLING_API = (
    "Org Id,Org Name,Sku Name,Billable Usage Timestamp,Billable Qty\n"
    "org-1,Acme,VCF-CLD-FDN-5,2026-10-01 00:00:00,64\n"
)


def _prices(folder: Path, entry: str, points: str = ""):
    text = f"vmware:\n  prices:\n    - {entry}\n"
    if points:
        text += f"  points_per_unit:\n    - {points}\n"
    (folder / "vendor_prices.yaml").write_text(text, encoding="utf-8")
    return load_vendor_prices(folder)


def _import(tmp_path: Path, report: str, prices):
    path = tmp_path / "usage-2026-10.csv"
    path.write_text(report, encoding="utf-8")
    con = open_store()
    import_reports(con, [path], vendor_prices=prices, period="2026-10")
    return con, path


@pytest.mark.parametrize("report", [HOURLY, BILLING_API], ids=["hourly", "billing_api"])
@pytest.mark.parametrize("unit", ["Core", "core-month", None])
def test_a_price_per_core_is_refused_for_an_hourly_report(tmp_path, report, unit):
    written = f", unit: {unit}" if unit else ""
    prices = _prices(
        tmp_path, f"{{product: VCF-CLD-FDN-5, per: unit{written}, price: '8.50', currency: EUR}}"
    )
    with pytest.raises(InputError) as err:
        _import(tmp_path, report, prices)
    [problem] = err.value.problems
    column = "SKU" if report is HOURLY else "Sku Name"
    assert (problem.row, problem.column, problem.value) == (2, column, "VCF-CLD-FDN-5")
    per = f"per {unit!r}" if unit else "naming no unit"
    assert problem.expected.startswith(
        f"a price per unit of an hour for 'VCF-CLD-FDN-5' (unit: core-hour, say): "
        f"{prices.path} vmware.prices[0] gives one {per}, but each row of the report is one "
        "hour's usage, so it would be charged for every hour"
    )
    assert "no line" not in str(err.value)


def test_points_per_core_are_refused_for_an_hourly_report(tmp_path):
    prices = _prices(
        tmp_path,
        "{product: VCF-CLD-FDN-5, per: point, price: '0.86', currency: EUR}",
        "{product: VCF-CLD-FDN-5, unit: Core, points: 5}",
    )
    with pytest.raises(InputError) as err:
        _import(tmp_path, HOURLY, prices)
    [problem] = err.value.problems
    assert problem.expected.startswith(
        "points per unit of an hour for 'VCF-CLD-FDN-5' (unit: core-hour, say): "
        f"{prices.path} vmware.points_per_unit[0] gives them per 'Core'"
    )


@pytest.mark.parametrize("unit", ["core-hour", "Core Hours", "core/h"])
def test_a_price_per_core_hour_prices_each_hour(tmp_path, unit):
    prices = _prices(
        tmp_path,
        f"{{product: VCF-CLD-FDN-5, per: unit, unit: {unit}, price: '0.0118', currency: EUR}}",
    )
    con, _ = _import(tmp_path, HOURLY, prices)
    assert con.execute("SELECT sum(BilledCost) FROM lines").fetchone() == (D("1.5104"),)


def test_a_billing_api_row_with_its_own_price_needs_no_contract_unit(tmp_path):
    """The billing API's row printing its price is billed at it: the contract is not read."""
    prices = _prices(
        tmp_path, "{product: VCF-CLD-FDN-5, per: unit, unit: Core, price: '8.50', currency: EUR}"
    )
    report = BILLING_API.replace("Billable Qty\n", "Billable Qty,Price (EUR)\n").replace(
        ",64\n", ",64,0.0118\n"
    )
    con, _ = _import(tmp_path, report, prices)
    assert con.execute("SELECT sum(BilledCost) FROM lines").fetchone() == (D("0.7552"),)
