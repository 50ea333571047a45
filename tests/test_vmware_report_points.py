"""A Usage Meter report priced from the contract (vmware_usage_meter_report) that carries its own
Billable Points: the points are billed as the report gives them, and a row whose points are not
its units x the contract's points per unit is listed among the import report's warnings, naming
row, columns, the contract entry and which points were billed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

D = Decimal
HEADER = "Month,Customer Label,Product,Unit of Measure,Units to be Reported,Billable Points\n"


def _contract(folder: Path):
    (folder / "vendor_prices.yaml").write_text(
        "vmware:\n  prices:\n"
        "    - {product: vSAN Standard, per: point, price: '1', currency: EUR}\n"
        "    - {product: VCF-CLD-FDN-5, per: unit, unit: Core, price: '1', currency: EUR}\n"
        "  points_per_unit:\n"
        "    - {product: NSX Advanced, unit: Powered-on VM, points: 3}\n"
        "    - {product: vSAN Standard, unit: TiB used, points: 24}\n"
        "    - {product: VCF-CLD-FDN-5, unit: Core, points: 5}\n",
        encoding="utf-8",
    )
    return load_vendor_prices(folder)


def test_points_that_are_not_units_times_the_contract_s_points_per_unit_are_warned_of(tmp_path):
    """40 points for 2 TiB at 24 points a TiB (48) were billed at 40 without a word; 0 points
    against 2 TiB were warned of without the 48 the contract counts. Rows whose points agree,
    and a product priced per unit (its points bill nothing), are not listed."""
    prices = _contract(tmp_path)
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER + "2026-10,acme,vSAN Standard,TiB used,2,48\n"
        "2026-10,beta,vSAN Standard,TiB used,2,40\n"
        "2026-10,gamma,vSAN Standard,TiB used,2,0\n"
        "2026-10,delta,VCF-CLD-FDN-5,Core,2,7\n"
        "2026-10,eps,vSAN Standard,TiB used,0.5,12.000\n"
    )
    con = open_store()
    [report] = import_reports(con, [path], vendor_prices=prices)
    entry = f"{tmp_path / 'vendor_prices.yaml'} vmware.points_per_unit[1]"
    assert report.warnings == (
        "row 3, columns 'Billable Points', 'Units to be Reported': Billable Points 40 are not "
        f"Units to be Reported 2 x the contract's points per unit 24 ({entry}) = 48; billed as "
        "the report's 40 points, not the contract's 48 (a bundle, a minimum or rounding, or a "
        "figure edited?)",
        "row 4, columns 'Billable Points', 'Units to be Reported': Billable Points 0 against "
        f"Units to be Reported 2 (x the contract's points per unit 24 ({entry}) = 48); billed "
        "as the report's 0 points, not the contract's 48 (a bundle, a minimum or rounding, or "
        "a figure edited?)",
    )
    assert con.execute(
        "SELECT x_SourceRow, PricingQuantity, BilledCost FROM lines ORDER BY 1"
    ).fetchall() == [
        (2, D(48), D(48)),
        (3, D(40), D(40)),
        (4, D(0), D(0)),
        (5, D(2), D(2)),
        (6, D(12), D(12)),
    ]
