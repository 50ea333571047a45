"""A report row whose product the contract (parameters/vendor_prices.yaml) prices on no day of
the row: refused naming file, row, product, the day or month, and the entries around the gap; never
billed at no price. Product names are compared alike on both sides, spaces aside."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

D = Decimal
HOURLY = "Product,SKU,Usage Hour,License Key,Quantity,Unit of Measurement\n"
MONTHLY = "Month,Customer Label,Product,Unit of Measure,Units to be Reported\n"


def _prices(folder: Path, text: str):
    (folder / "vendor_prices.yaml").write_text(text, encoding="utf-8")
    return load_vendor_prices(folder)


def test_a_gap_in_a_product_s_prices_within_the_month_names_each_day_row_and_entry(tmp_path):
    """The price ends 2026-10-10 and the next starts 2026-10-20: hours of 12 and 13 October have
    no price. They were named as 'VCF-CLD-FDN-5 in 2026-10' (a month the contract does price),
    by the first row only."""
    prices = _prices(
        tmp_path,
        "vmware:\n  prices:\n"
        "    - {product: VCF-CLD-FDN-5, per: unit, unit: Core, price: '1', currency: EUR,"
        " valid_from: 2026-01-01, valid_to: 2026-10-10}\n"
        "    - {product: VCF-CLD-FDN-5, per: unit, unit: Core, price: '2', currency: EUR,"
        " valid_from: 2026-10-20}\n",
    )
    report = tmp_path / "hourly-2026-10.csv"
    report.write_text(
        HOURLY + "VMware Cloud Foundation,VCF-CLD-FDN-5,2026-10-01 0:00:00,K,64,Core\n"
        "VMware Cloud Foundation,VCF-CLD-FDN-5,2026-10-12 5:00:00,K,72,Core\n"
        "VMware Cloud Foundation,VCF-CLD-FDN-5,2026-10-12 6:00:00,K,72,Core\n"
        "VMware Cloud Foundation,VCF-CLD-FDN-5,2026-10-13 5:00:00,K,72,Core\n"
        "VMware Cloud Foundation,VCF-CLD-FDN-5,2026-10-21 5:00:00,K,72,Core\n"
    )
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [report], vendor_prices=prices)
    message = str(err.value)
    assert "none for: VCF-CLD-FDN-5 on 2026-10-12, VCF-CLD-FDN-5 on 2026-10-13" in message
    assert "in 2026-10" not in message
    got = [(p.file, p.row, p.column, p.value) for p in err.value.problems]
    assert got == [
        (str(report), 3, "SKU", "VCF-CLD-FDN-5"),
        (str(report), 5, "SKU", "VCF-CLD-FDN-5"),
    ]
    first = err.value.problems[0].expected
    assert first.startswith("a contract price for 'VCF-CLD-FDN-5' on 2026-10-12 in ")
    assert "vmware.prices[0] ends 2026-10-10, vmware.prices[1] starts 2026-10-20" in first
    assert "(1 more row like it)" in first
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_a_month_between_two_entries_names_them_and_names_with_spaces_match_trimmed(tmp_path):
    """Entries named 'vSAN Standard ' and ' vSAN Standard' price the report's 'vSAN Standard '
    (spaces aside, on both sides); October, between the two price entries, is refused naming
    them."""
    prices = _prices(
        tmp_path,
        "vmware:\n  prices:\n"
        "    - {product: 'vSAN Standard ', per: point, price: '1', currency: EUR,"
        " valid_from: 2026-01-01, valid_to: 2026-09-30}\n"
        "    - {product: ' vSAN  Standard', per: point, price: '2', currency: EUR,"
        " valid_from: 2026-11-01}\n"
        "  points_per_unit:\n"
        "    - {product: ' vSAN Standard ', unit: TiB used, points: 24}\n",
    )
    billed = {}
    for month in ("2026-09", "2026-11"):
        report = tmp_path / f"r-{month}.csv"
        report.write_text(MONTHLY + f"{month},acme,vSAN Standard ,TiB used,2\n")
        con = open_store()
        import_reports(con, [report], vendor_prices=prices)
        billed[month] = con.execute("SELECT BilledCost FROM lines").fetchone()[0]
    assert billed == {"2026-09": D("48"), "2026-11": D("96")}
    report = tmp_path / "r-2026-10.csv"
    report.write_text(MONTHLY + "2026-10,acme,vSAN Standard ,TiB used,2\n")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [report], vendor_prices=prices)
    assert "none for: vSAN Standard in 2026-10" in str(err.value)
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.value) == (2, "Product", "vSAN Standard")
    assert "vmware.prices[0] ends 2026-09-30, vmware.prices[1] starts 2026-11-01" in (
        problem.expected
    )


def test_a_product_no_entry_names_says_so(tmp_path):
    prices = _prices(
        tmp_path,
        "vmware:\n  prices:\n"
        "    - {product: vSAN Standard, per: point, price: '1', currency: EUR}\n",
    )
    report = tmp_path / "r-2026-10.csv"
    report.write_text(MONTHLY + "2026-10,acme,NSX Advanced,Powered-on VM,2\n")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [report], vendor_prices=prices)
    [problem] = err.value.problems
    assert problem.expected.endswith("(vmware.prices): no entry of vmware.prices names it")


def test_a_row_with_a_blank_product_is_refused_naming_the_product_column(tmp_path):
    """A row with no product cannot be looked up in the contract: it was refused as a line with
    no BilledCost and no BillingCurrency, never naming the Product column it lacks."""
    prices = load_vendor_prices(Path(__file__).parent / "data" / "vmware-usage")
    report = tmp_path / "r-2026-10.csv"
    report.write_text(MONTHLY + "2026-10,acme,vSAN Standard,TiB used,2\n2026-10,acme,,TiB used,2\n")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [report], vendor_prices=prices)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(3, "Product", None)]
    assert "the cell is blank" in err.value.problems[0].expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_a_product_name_is_keyed_alike_in_the_contract_and_the_report(tmp_path):
    """The contract's names were case-folded in Python ('Straße' as 'strasse'), the report's
    lowered in DuckDB ('straße'): a product named the same in both was refused as one no entry
    names."""
    prices = _prices(
        tmp_path,
        "vmware:\n  prices:\n"
        "    - {product: 'Speicher Straße ', per: point, price: '1', currency: EUR}\n"
        "  points_per_unit:\n"
        "    - {product: SPEICHER STRAßE, unit: TiB used, points: 24}\n",
    )
    report = tmp_path / "r-2026-10.csv"
    report.write_text(MONTHLY + "2026-10,acme,Speicher  Straße,TiB used,2\n", encoding="utf-8")
    con = open_store()
    import_reports(con, [report], vendor_prices=prices)
    assert con.execute("SELECT BilledCost FROM lines").fetchone() == (D(48),)
