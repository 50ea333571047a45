"""VMware usage as Usage Meter and Broadcom's portals report it: units without money, priced from
the reseller's contract in parameters/vendor_prices.yaml (tests/data/vmware-usage/README.md)."""

from __future__ import annotations

import csv
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError, ParameterError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "vmware-usage"
SAMPLE = (
    ROOT
    / "samples"
    / "2026-10"
    / "reports"
    / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
)
CUSTOMER_MONTHLY = DATA / "customer-monthly-usage-2026-10.tsv"
D = Decimal
#: what a line naming no Usage Meter bills the same of as a metered one (optional_key_parts)
SAME = "the same month, customer, product, unit and units"


@pytest.fixture(scope="module")
def prices():
    return load_vendor_prices(DATA)


def _per_customer(con) -> dict[str, Decimal]:
    return dict(
        con.execute("SELECT SubAccountId, sum(BilledCost) FROM lines GROUP BY 1").fetchall()
    )


def test_customer_monthly_usage_without_price_costs_what_the_priced_sample_does(prices):
    """The sample month's usage as Usage Meter exports it (tab-separated, no month column, no
    points, no price) costs, per customer, what the sample file with its price column does."""
    con = open_store()
    [report] = import_reports(con, [CUSTOMER_MONTHLY], vendor_prices=prices)
    assert report.format == "vmware_usage_meter_report"
    priced = open_store()
    import_reports(priced, [SAMPLE])
    assert _per_customer(con) == _per_customer(priced)
    assert report.currencies[0].currency == "EUR"
    assert report.currencies[0].cost_after == D("5574.096")  # as the sample month's file
    row = con.execute(
        "SELECT SubAccountId, SubAccountName, ChargePeriodStart, PricingQuantity, PricingUnit, "
        "ConsumedQuantity, ConsumedUnit, ListUnitPrice, BilledCost FROM lines "
        "WHERE SkuId = 'vSAN Enterprise'"
    ).fetchone()
    # 61.25 TiB x 38 points x 0.8640 EUR
    assert row == (
        "zorggroep-amstelland",
        "Customer-1c9e",
        row[2],
        D("2327.5"),
        "Point",
        D("61.25"),
        "TiB used",
        D("0.864"),
        D("2010.96"),
    )
    assert str(row[2]) == "2026-10-01 00:00:00"  # the month from the file name


def test_the_price_changes_by_month(prices, tmp_path):
    """The provider's Monthly Usage report (no customers) for November: Flex Core Standard at the
    November price, 0.9000 a point."""
    con = open_store()
    import_reports(con, [DATA / "monthly-usage-2026-11.csv"], vendor_prices=prices)
    got = dict(
        con.execute("SELECT SkuId, ListUnitPrice FROM lines WHERE SkuId LIKE 'Flex%'").fetchall()
    )
    assert got == {"Flex Core - Standard": D("0.9"), "Flex Core - Advanced": D("0.864")}
    assert {r[0] for r in con.execute("SELECT SubAccountId FROM lines").fetchall()} == {
        "usage-meter"
    }
    # 64 + 48 + 32 cores x 5 points x 0.9000
    assert con.execute(
        "SELECT BilledCost FROM lines WHERE SkuId = 'Flex Core - Standard'"
    ).fetchone() == (D("648.0"),)


def test_a_product_without_a_contract_price_names_product_and_period(prices, tmp_path):
    text = CUSTOMER_MONTHLY.read_text(encoding="utf-8").replace("NSX Advanced", "NSX Enterprise")
    report = tmp_path / "customer-monthly-usage-2026-10.tsv"
    report.write_text(text, encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [report], vendor_prices=prices)
    message = str(err.value)
    assert "NSX Enterprise in 2026-10" in message and "vendor_prices.yaml" in message
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (5, "Product", "NSX Enterprise")
    ]
    # before anything is written
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_without_vendor_prices_a_priceless_report_is_refused_naming_every_product(tmp_path):
    header, rows = None, []
    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = [h for h in reader.fieldnames or [] if h not in ("Price per Point", "Currency")]
        rows = list(reader)
    path = tmp_path / "no-price.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert "no contract prices were given (parameters/vendor_prices.yaml)" in str(err.value)
    assert {p.value for p in err.value.problems} == {r["Product"] for r in rows}
    assert "VMware Cloud Director in 2026-10" in str(err.value)


def test_a_report_with_points_needs_no_points_per_unit(tmp_path):
    """Billable Points in the file are taken as they are; only the price comes from the contract."""
    (tmp_path / "vendor_prices.yaml").write_text(
        "vmware:\n  prices:\n"
        "    - {product: vsan standard, per: point, price: '1', currency: EUR}\n"
    )
    path = tmp_path / "r.csv"
    path.write_text(
        "Month,Customer Label,Product,Unit of Measure,Units to be Reported,Billable Points\n"
        "2026-10,acme,vSAN  Standard,TiB used,2,48.5\n"
    )
    con = open_store()
    import_reports(con, [path], vendor_prices=load_vendor_prices(tmp_path))
    assert con.execute("SELECT PricingQuantity, BilledCost FROM lines").fetchone() == (
        D("48.5"),
        D("48.5"),
    )


def test_a_report_s_units_and_points_of_opposite_signs_are_refused_naming_both(tmp_path):
    """A Usage Meter report with Billable Points: a row whose units and points have opposite
    signs was a Usage line costing -48.50 (or a Credit costing +48.50), without a word."""
    (tmp_path / "vendor_prices.yaml").write_text(
        "vmware:\n  prices:\n"
        "    - {product: vsan standard, per: point, price: '1', currency: EUR}\n"
    )
    path = tmp_path / "r.csv"
    path.write_text(
        "Month,Customer Label,Product,Unit of Measure,Units to be Reported,Billable Points\n"
        "2026-10,acme,vSAN Standard,TiB used,2,-48.5\n"
        "2026-10,beta,vSAN Standard,TiB used,-1,-24\n"
        "2026-10,gamma,vSAN Standard,TiB used,-2,48.5\n"
    )
    with pytest.raises(InputError, match="rows that cannot be billed right") as err:
        import_reports(open_store(), [path], vendor_prices=load_vendor_prices(tmp_path))
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (2, "Billable Points", "-48.5"),
        (4, "Billable Points", "48.5"),
    ]
    assert err.value.problems[1].expected.startswith(
        "Billable Points of the sign of Units to be Reported (-2)"
    )


def test_a_report_s_zero_points_against_units_are_listed_as_a_warning(tmp_path):
    """A Usage Meter report with Billable Points: 0 points for 2 TiB used billed nothing, without
    a word. Listed among the import report's warnings (a bundle may count a product at 0 points),
    naming row and columns; the row is billed as its points say."""
    (tmp_path / "vendor_prices.yaml").write_text(
        "vmware:\n  prices:\n"
        "    - {product: vsan standard, per: point, price: '1', currency: EUR}\n"
    )
    path = tmp_path / "r.csv"
    path.write_text(
        "Month,Customer Label,Product,Unit of Measure,Units to be Reported,Billable Points\n"
        "2026-10,acme,vSAN Standard,TiB used,2,48\n"
        "2026-10,beta,vSAN Standard,TiB used,2,0\n"
        "2026-10,gamma,vSAN Standard,TiB used,0,0\n"
    )
    con = open_store()
    [report] = import_reports(con, [path], vendor_prices=load_vendor_prices(tmp_path))
    assert report.warnings == (
        "row 3, columns 'Billable Points', 'Units to be Reported': Billable Points 0 against "
        "Units to be Reported 2; billed as the report's 0 points (a bundle, a minimum or "
        "rounding, or a figure edited?)",
    )
    assert con.execute("SELECT sum(BilledCost) FROM lines").fetchone() == (D(48),)


def test_a_price_per_point_without_points_per_unit_is_refused(tmp_path):
    (tmp_path / "vendor_prices.yaml").write_text(
        "vmware:\n  prices:\n    - {product: NSX Advanced, per: point, price: '1', currency: EUR}\n"
    )
    path = tmp_path / "r-2026-10.csv"
    path.write_text("Product,Unit of Measure,Units to be Reported\nNSX Advanced,Powered-on VM,3\n")
    with pytest.raises(InputError, match="points per unit of 'NSX Advanced' in 2026-10"):
        import_reports(open_store(), [path], vendor_prices=load_vendor_prices(tmp_path))


def test_a_report_naming_no_month_needs_the_period(prices, tmp_path):
    path = tmp_path / "usage.tsv"
    shutil.copy(CUSTOMER_MONTHLY, path)
    with pytest.raises(InputError, match="names no month") as err:
        import_reports(open_store(), [path], vendor_prices=prices)
    assert err.value.problems[0].row == 2
    con = open_store()
    import_reports(con, [path], vendor_prices=prices, period="2026-10")
    assert con.execute("SELECT DISTINCT ChargePeriodStart FROM lines").fetchall()[0][0].month == 10


@pytest.mark.parametrize("period", ["202610", "2026-13", "2026/10", "10-2026", "2026-10-01"])
def test_a_period_not_a_month_is_named_before_the_contract_prices_the_report(
    prices, tmp_path, period, capsys
):
    """The period is the month of a report naming none, and picks the contract's prices: a
    value that is no month was given to DuckDB as a date (a ConversionException traceback);
    now refused before anything is read, as for any other report."""
    from billing_lib import cli

    path = tmp_path / "usage.tsv"
    shutil.copy(CUSTOMER_MONTHLY, path)
    with pytest.raises(ParameterError, match="expected a month as text YYYY-MM") as err:
        import_reports(open_store(), [path], vendor_prices=prices, period=period)
    assert repr(period) in str(err.value)
    assert cli.main(["import", str(path), "--parameters", str(DATA), "--period", period]) == 2
    printed = capsys.readouterr().err
    assert printed.startswith("error: billing import, entry --period: expected a month as YYYY-MM")
    assert printed.endswith(f"got {period!r}\n")


def test_billing_api_raw_usage_priced_from_the_contract(prices):
    con = open_store()
    [report] = import_reports(
        con, [DATA / "billing-api-raw-usage-2026-10.csv"], vendor_prices=prices
    )
    assert report.format == "vmware_billing_usage"
    rows = con.execute(
        "SELECT SubAccountId, SubAccountName, SkuId, ChargePeriodStart, PricingQuantity, "
        "BilledCost, BillingCurrency, Tags FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert rows[0][:3] == (
        "3f9b2c1e-7a4d-4e8f-9b0a-1c2d3e4f5a6b",
        "Van Leeuwen Logistiek",
        "VCF-CLD-FDN-5",
    )
    assert str(rows[1][3]) == "2026-10-01 01:00:00"
    # 64 core-hours x 0.0118, 18.5 TiB-hours x 0.0302, 192 x 0.0118
    assert [r[5] for r in rows] == [D("0.7552"), D("0.7552"), D("0.5587"), D("2.2656")]
    assert {r[6] for r in rows} == {"EUR"}
    assert rows[0][7] == '{"tag":"tms"}' and rows[3][7] is None


def test_billing_api_rows_with_a_price_keep_it(prices):
    con = open_store()
    import_reports(con, [DATA / "billing-api-raw-usage-priced-2026-10.csv"], vendor_prices=prices)
    got = con.execute("SELECT ListUnitPrice, BilledCost FROM lines ORDER BY x_SourceRow").fetchall()
    assert got == [(D("0.0121"), D("0.7744")), (D("0.0118"), D("0.7552"))]


def test_partner_navigator_msp_usage_report(prices):
    con = open_store()
    [report] = import_reports(con, [DATA / "msp-usage-report-2026-10.csv"], vendor_prices=prices)
    assert report.format == "vmware_cpn_usage"
    got = con.execute(
        "SELECT SubAccountId, SkuId, ListUnitPrice, BilledCost, strftime(ChargePeriodStart, "
        "'%Y-%m') FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    # 35712 core-hours x 0.0118 EUR; 7254 TiB-hours x 0.0302 EUR (the report's Price has no
    # currency: shown as the list price, not booked)
    assert got == [
        ("schelde-data", "VCF-CLD-FDN-5", D("0.0125"), D("421.4016"), "2026-10"),
        ("schelde-data", "VSAN-ADD-ON-TIB", D("0.032"), D("219.0708"), "2026-10"),
    ]


@pytest.mark.parametrize(
    ("name", "column", "same"),
    [
        ("billing-api-raw-usage-2026-10.csv", "Subscription Id", "org, SKU, hour and quantity"),
        ("msp-usage-report-2026-10.csv", "Data Center", "month, customer, SKU and quantity"),
    ],
)
def test_a_partner_navigator_export_with_and_without_its_optional_id_column_is_refused(
    prices, tmp_path, name, column, same
):
    """A billing API export with and without its Subscription Id column (an MSP usage report
    with and without its Data Center): the column is part of each line's id, so the two exports
    of the month shared no line id and were both billed. A line without it that bills the same
    usage as a line with it is refused, naming both files and rows; one of other figures (the
    usage of another subscription or data center) imports."""
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    at = header.index(column)
    without = tmp_path / name.replace("-2026-10", f"-no-{at}-2026-10")
    with open(without, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(
            [[*r[:at], *r[at + 1 :]] for r in [header, *rows]]
        )
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [DATA / name, without], vendor_prices=prices)
    assert str(err.value).startswith(
        f"{without}: row 2 bills the same {same} as {DATA / name} row 2 "
    )
    assert f"names no {column}" in str(err.value)
    assert [(p.file, p.row, p.column) for p in err.value.problems][0] == (str(without), 2, column)
    assert len(err.value.problems) == len(rows)
    # the first row's usage other than the metered one's: only the others are refused
    quantity = header.index("Billable Qty" if column == "Subscription Id" else "Effective Usage")
    rows[0][quantity] = str(Decimal(rows[0][quantity]) + 1)
    with open(without, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(
            [[*r[:at], *r[at + 1 :]] for r in [header, *rows]]
        )
    with pytest.raises(InputError) as err:
        import_reports(con, [DATA / name, without], vendor_prices=prices)
    assert [p.row for p in err.value.problems] == list(range(3, len(rows) + 2))
    assert import_reports(con, [DATA / name, _first_row(without)], vendor_prices=prices)


def _first_row(path: Path) -> Path:
    """``path`` with its first row of data only, under another name of the same month."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = path.with_name(path.name.replace("-2026-10", "-first-2026-10"))
    first.write_text("".join(lines[:2]), encoding="utf-8")
    return first


# -- the parameters file ---------------------------------------------------------------------------


def test_vendor_prices_file_is_validated(tmp_path):
    def load(text: str):
        (tmp_path / "vendor_prices.yaml").write_text(text)
        return load_vendor_prices(tmp_path)

    assert load_vendor_prices(tmp_path).contracts == {}  # no file: no contract prices
    with pytest.raises(ParameterError, match=r"vmware.prices\[0\].per"):
        load("vmware:\n  prices:\n    - {product: X, per: core, price: '1', currency: EUR}\n")
    with pytest.raises(ParameterError, match=r"vmware.prices\[0\].currency"):
        load("vmware:\n  prices:\n    - {product: X, per: point, price: '1', currency: eur}\n")
    with pytest.raises(ParameterError, match=r"vmware.prices\[0\].price"):
        load("vmware:\n  prices:\n    - {product: X, per: point, price: '-1', currency: EUR}\n")
    with pytest.raises(ParameterError, match=r"vmware.prices\[1\].*overlaps prices\[0\]"):
        load(
            "vmware:\n  prices:\n"
            "    - {product: X, per: point, price: '1', currency: EUR, valid_to: 2026-10-31}\n"
            "    - {product: x, per: point, price: '2', currency: EUR, valid_from: 2026-10-01}\n"
        )
    with pytest.raises(ParameterError, match=r"vmware.points_per_unit\[0\].product"):
        load("vmware:\n  points_per_unit:\n    - {points: 3}\n")
    ok = load("vmware:\n  prices:\n    - {product: X, per: point, price: 0.0725, currency: EUR}\n")
    assert ok.contracts["vmware"].prices[0].price == D("0.0725")  # a YAML float, exactly


def test_a_billing_run_prices_a_usage_meter_export_from_its_parameters(tmp_path):
    """The run reads vendor_prices.yaml from its parameters folder and gives a Usage Meter export
    that names no month the run's period: the sample month's VMware cost, rated."""
    from billing_lib import run

    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE.parent, reports)
    (reports / SAMPLE.name).unlink()
    shutil.copy(CUSTOMER_MONTHLY, reports / "usage-meter-customers.tsv")
    params = tmp_path / "parameters"
    shutil.copytree(ROOT / "parameters", params, ignore=shutil.ignore_patterns("local"))
    shutil.copy(DATA / "vendor_prices.yaml", params / "vendor_prices.yaml")
    br = run.start("2026-10", str(reports), str(params), str(tmp_path / "out"))
    br.load_parameters()
    control = br.import_reports()
    assert "vmware_usage_meter_report" in set(control["format"])
    br.map_customers()
    br.rate()
    imported, rated, excluded = br.con.execute(
        "SELECT (SELECT sum(BilledCost) FROM customer_lines WHERE x_Vendor = 'vmware'), "
        "(SELECT sum(vendor_cost) FROM rated_lines WHERE vendor = 'vmware'), "
        "(SELECT sum(BilledCost) FROM excluded_lines WHERE x_Vendor = 'vmware')"
    ).fetchone()
    # the sample month's VMware cost; the provider's own management stack (C010) is not billed
    assert (imported, rated, excluded) == (D("5574.096"), D("5387.472"), D("186.624"))


def test_a_billing_run_lists_the_rows_its_import_warns_of(tmp_path):
    """Billable Points of 0 against 64 cores in the sample month's report: the run bills the row
    as the report says and lists it among its warnings, after the report's name."""
    from billing_lib import run

    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE.parent, reports)
    text = SAMPLE.read_text(encoding="utf-8").replace(",Core,64,5,320,", ",Core,64,5,0,", 1)
    (reports / SAMPLE.name).write_text(text, encoding="utf-8")
    br = run.start("2026-10", str(reports), str(ROOT / "parameters"), str(tmp_path / "out"))
    br.load_parameters()
    br.import_reports()
    br.map_customers()
    br.rate()
    assert [w for w in br.warnings()["warning"] if "Billable Points" in w] == [
        f"{SAMPLE.name}, row 3, columns 'Billable Points', 'Units to be Reported', 'Points per "
        "Unit': Billable Points 0 against Units to be Reported 64 (x Points per Unit 5 = 320); "
        "billed as the report's 0 points (a bundle, a minimum or rounding, or a figure edited?)"
    ]


SITES_HEADER = "Usage Meter\tCustomer Label\tProduct\tUnit of Measure\tUnits to be Reported"


def _sites(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([SITES_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_one_customer_at_two_usage_meters_is_two_lines(prices, tmp_path):
    """Two sites (two Usage Meters) report the same customer label and product: two lines of
    usage, in one report or in one report per site; the same meter twice is still a repeat."""
    both = _sites(
        tmp_path / "sites-2026-10.tsv",
        "um-ams-01\tvanleeuwen-logistiek\tFlex Core - Standard\tCore\t64",
        "um-rtm-02\tvanleeuwen-logistiek\tFlex Core - Standard\tCore\t32",
    )
    [report] = import_reports(open_store(), [both], vendor_prices=prices)
    assert report.rows == 2
    ams = _sites(
        tmp_path / "site-ams-2026-10.tsv",
        "um-ams-01\tvanleeuwen-logistiek\tFlex Core - Standard\tCore\t64",
    )
    rtm = _sites(
        tmp_path / "site-rtm-2026-10.tsv",
        "um-rtm-02\tvanleeuwen-logistiek\tFlex Core - Standard\tCore\t32",
    )
    assert [r.rows for r in import_reports(open_store(), [ams, rtm], vendor_prices=prices)] == [
        1,
        1,
    ]
    again = _sites(
        tmp_path / "again-2026-10.tsv",
        "um-ams-01\tvanleeuwen-logistiek\tFlex Core - Standard\tCore\t64",
        "um-ams-01\tvanleeuwen-logistiek\tFlex Core - Standard\tCore\t60",
    )
    with pytest.raises(InputError, match="row 3 repeats row 2 \\(same month \\+ Usage Meter"):
        import_reports(open_store(), [again], vendor_prices=prices)


NO_METER_HEADER = "Customer Label\tProduct\tUnit of Measure\tUnits to be Reported"


def _site_without_meter(path: Path, *rows: str) -> Path:
    """A Customer Monthly Usage report as each site's appliance exports it: no meter column."""
    path.write_text("\n".join([NO_METER_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_two_sites_reports_without_a_meter_column_are_two_sites(prices, tmp_path):
    """Each Usage Meter exports its own Customer Monthly Usage report, which has no meter column:
    two sites' reports of one customer and product bill different usage and both import, keyed
    by their files; a line equal at both sites (the same unit count) does not refuse them."""
    utr = _site_without_meter(
        tmp_path / "customer-monthly-usage-utr-2026-10.tsv",
        "zorggroep-amstelland\tVMware Cloud Director\tPowered-on VM\t118",
        "zorggroep-amstelland\tFlex Core - Standard\tCore\t64",
    )
    ams = _site_without_meter(
        tmp_path / "customer-monthly-usage-ams-2026-10.tsv",
        "zorggroep-amstelland\tVMware Cloud Director\tPowered-on VM\t59",
        "zorggroep-amstelland\tFlex Core - Standard\tCore\t64",
    )
    con = open_store()
    reports = import_reports(con, [ams, utr], vendor_prices=prices)
    assert [r.rows for r in reports] == [2, 2]
    got = con.execute(
        "SELECT x_SourceFile, ConsumedQuantity, x_VendorLineId FROM lines "
        "WHERE SkuId = 'VMware Cloud Director' ORDER BY 2"
    ).fetchall()
    assert [(Path(f).name, q) for f, q, _ in got] == [(ams.name, D("59")), (utr.name, D("118"))]
    assert got[0][2] == (
        "2026-10:file customer-monthly-usage-ams-2026-10.tsv:zorggroep-amstelland:"
        "VMware Cloud Director:Powered-on VM"
    )
    # a repeated row inside one site's report is still a repeat
    twice = _site_without_meter(
        tmp_path / "customer-monthly-usage-2026-10.tsv",
        "zorggroep-amstelland\tFlex Core - Standard\tCore\t64",
        "zorggroep-amstelland\tFlex Core - Standard\tCore\t60",
    )
    with pytest.raises(InputError, match="row 3 repeats row 2"):
        import_reports(open_store(), [twice], vendor_prices=prices)


def test_a_site_report_without_a_meter_column_given_again_is_refused(prices, tmp_path):
    """The same report given twice, as it is or copied under another name, re-encoded or
    comma-separated, is refused by what it bills, and the message says why it could not be
    another site's."""
    utr = _site_without_meter(
        tmp_path / "customer-monthly-usage-utr-2026-10.tsv",
        "zorggroep-amstelland\tVMware Cloud Director\tPowered-on VM\t118",
        "zorggroep-amstelland\tFlex Core - Standard\tCore\t64",
    )
    copy = tmp_path / "copy" / "customer-monthly-usage-ams-2026-10.tsv"
    copy.parent.mkdir()
    shutil.copy(utr, copy)
    with pytest.raises(InputError, match="same content as"):
        import_reports(open_store(), [utr, copy], vendor_prices=prices)
    as_csv = tmp_path / "customer-monthly-usage-2026-10.csv"
    as_csv.write_text(
        utr.read_text(encoding="utf-8").replace("\t", ",").replace("\n", "\r\n"),
        encoding="utf-16",
    )
    con = open_store()
    import_reports(con, [utr], vendor_prices=prices)
    with pytest.raises(InputError) as err:
        import_reports(con, [as_csv], vendor_prices=prices)
    message = str(err.value)
    assert message.startswith(f"{as_csv}: the same report as {utr}")
    assert "no Usage Meter column" in message and "its 2 lines bill the same charges" in message
    assert "vendor line ids were all already imported" not in message
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (2,)


def test_a_site_s_report_given_with_and_without_its_meter_column_is_refused(prices, tmp_path):
    """The month of two sites exported with the Usage Meter column, and one site's appliance
    report of it (no meter column): the appliance's lines were keyed by its file, the others by
    their meter, so both were billed. A line naming no meter that bills the month, customer,
    product, unit and units of a metered line may be that meter's usage again: refused, naming
    both files and rows. A Monthly Usage report (no customers, keyed by its meter) the same."""
    sites = _sites(
        tmp_path / "usage-meters-2026-10.tsv",
        "um-ams-01\tvanleeuwen-logistiek\tFlex Core - Standard\tCore\t64",
        "um-rtm-02\tvanleeuwen-logistiek\tFlex Core - Standard\tCore\t32",
        "um-rtm-02\tvanleeuwen-logistiek\tVMware Cloud Director\tPowered-on VM\t42",
    )
    rtm = _site_without_meter(
        tmp_path / "customer-monthly-usage-rtm-2026-10.tsv",
        "vanleeuwen-logistiek\tVMware Cloud Director\tPowered-on VM\t42",
        "vanleeuwen-logistiek\tFlex Core - Standard\tCore\t32",
    )
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [sites, rtm], vendor_prices=prices)
    message = str(err.value)
    assert message.startswith(f"{rtm}: row 2 bills {SAME} as {sites} row 4 ")
    assert "names no Usage Meter" in message
    assert [(p.file, p.row, p.column, p.value) for p in err.value.problems] == [
        (str(rtm), 2, "Usage Meter", None),
        (str(rtm), 3, "Usage Meter", None),
    ]
    assert f"{sites} row 3 (Usage Meter um-rtm-02)" in err.value.problems[1].expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    # the other site's report of other units imports beside the metered one of its site
    ams = _site_without_meter(
        tmp_path / "customer-monthly-usage-ams-2026-10.tsv",
        "vanleeuwen-logistiek\tFlex Core - Standard\tCore\t60",
    )
    assert [r.rows for r in import_reports(con, [sites, ams], vendor_prices=prices)] == [3, 1]
    # a Monthly Usage report, keyed by its meter where it names one, else by 'usage-meter'
    metered = tmp_path / "monthly-usage-meters-2026-10.csv"
    metered.write_text(
        "Usage Meter,Product,Unit of Measure,Units to be Reported\n"
        "um-ams-01,Flex Core - Standard,Core,64\n",
        encoding="utf-8",
    )
    bare = tmp_path / "monthly-usage-2026-10.csv"
    bare.write_text(
        "Product,Unit of Measure,Units to be Reported\nFlex Core - Standard,Core,64\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=f"^{bare}: row 2 bills {SAME} as {metered} row 2"):
        import_reports(open_store(), [metered, bare], vendor_prices=prices)


def test_two_site_reports_of_one_file_name_are_refused_naming_the_name(prices, tmp_path):
    """Without a meter column a line is keyed by its file's name: two different reports of one
    name (two sites' downloads in two folders) are refused, saying so, not called copies."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    name = "customer-monthly-usage-2026-10.tsv"
    a = _site_without_meter(first / name, "acme\tFlex Core - Standard\tCore\t64")
    b = _site_without_meter(second / name, "acme\tFlex Core - Standard\tCore\t32")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [a, b], vendor_prices=prices)
    message = str(err.value)
    assert "no Usage Meter column" in message and f"file name {name}" in message
    assert "copy" not in message


def test_a_priced_usage_meter_report_per_site_is_read(tmp_path):
    """The same customer label and product from two Usage Meters in two priced reports."""
    with open(SAMPLE, encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    meter = header.index("Usage Meter")
    other_site = [[*r[:meter], "um-rtm-02.northwind-cloud.example", *r[meter + 1 :]] for r in rows]
    second = tmp_path / "um-rtm-02-2026-10.csv"
    with open(second, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *other_site[:2]])
    assert [r.rows for r in import_reports(open_store(), [SAMPLE, second])] == [len(rows), 2]


# -- the month a report names only in its file name --------------------------------------------


@pytest.mark.parametrize(
    ("name", "period"),
    [
        ("customer-monthly-usage-2026-09.tsv", "2026-10"),  # September's copied into October
        ("customer-monthly-usage-2026-10.tsv", "2026-11"),  # October's billed as November
    ],
)
def test_a_usage_meter_export_of_another_month_by_its_file_name_is_refused(
    prices, tmp_path, name, period
):
    """A Usage Meter export names its month only in its file name: a run of another period does
    not make it that period's usage; the message names both months."""
    path = tmp_path / name
    shutil.copy(CUSTOMER_MONTHLY, path)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path], vendor_prices=prices, period=period)
    named = name[-11:-4]
    assert f"the file name says the usage is of {named}, the run is for {period}" in str(err.value)
    assert f"--period {named}" in str(err.value)
    assert [(p.row, p.value) for p in err.value.problems] == [(2, named)]
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    # with the month its name gives it imports, as without a period
    import_reports(con, [path], vendor_prices=prices, period=named)
    assert con.execute(
        "SELECT DISTINCT strftime(ChargePeriodStart, '%Y-%m') FROM lines"
    ).fetchall() == [(named,)]


def test_september_s_export_beside_october_s_is_refused_for_its_month_not_as_a_copy(
    prices, tmp_path
):
    """Both months' exports in October's folder: September's is refused as September's usage
    (before, it was read as October's and then refused as the same report as October's)."""
    october = CUSTOMER_MONTHLY.read_text(encoding="utf-8")
    (tmp_path / "customer-monthly-usage-2026-10.tsv").write_text(october, encoding="utf-8")
    september = october.replace("Powered-on VM\t42", "Powered-on VM\t40", 1)
    (tmp_path / "customer-monthly-usage-2026-09.tsv").write_text(september, encoding="utf-8")
    for order in (["2026-09", "2026-10"], ["2026-10", "2026-09"]):
        paths = [tmp_path / f"customer-monthly-usage-{m}.tsv" for m in order]
        with pytest.raises(InputError) as err:
            import_reports(open_store(), paths, vendor_prices=prices, period="2026-10")
        message = str(err.value)
        assert message.startswith(f"{paths[order.index('2026-09')]}: the file name says")
        assert "same" not in message.split("\n")[0]


def test_a_partner_navigator_usage_report_of_another_month_by_its_file_name_is_refused(
    prices, tmp_path
):
    path = tmp_path / "msp-usage-report-2026-09.csv"
    shutil.copy(DATA / "msp-usage-report-2026-10.csv", path)
    with pytest.raises(InputError, match="says the usage is of 2026-09, the run is for 2026-10"):
        import_reports(open_store(), [path], vendor_prices=prices, period="2026-10")


def test_a_zip_of_another_month_with_a_folder_per_site_is_refused_for_its_month(prices, tmp_path):
    """September's zip in October's folder, holding each site's Customer Monthly Usage report in
    a folder of its own (the layout this page advises for sites: "a zip member's path in the
    zip: a folder per site"; Usage Meter 3.6 saves a report "as a ZIP file" on request). The
    month was looked for in the member's own name only, so the zip's 2026-09 was passed over
    and September's usage was billed as October's (5,574.096 EUR); the same zip without the
    folder was refused. The month of the innermost name giving one counts: the member's, its
    folders', then the zip's."""
    zipped = tmp_path / "customer-monthly-usage-2026-09.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(CUSTOMER_MONTHLY, "ams/customer-monthly-usage.tsv")
    con = open_store()
    with pytest.raises(InputError, match="says the usage is of 2026-09, the run is for 2026-10"):
        import_reports(con, [zipped], vendor_prices=prices, period="2026-10")
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    # a folder of the zip naming the month counts before the zip's own name
    yearly = tmp_path / "usage-meter-2026.zip"
    with zipfile.ZipFile(yearly, "w") as zf:
        zf.write(CUSTOMER_MONTHLY, "2026-09/ams/customer-monthly-usage.tsv")
    with pytest.raises(InputError, match="says the usage is of 2026-09"):
        import_reports(open_store(), [yearly], vendor_prices=prices, period="2026-10")
    # October's zip is October's, and the folders the zip was given from do not count
    given_from = tmp_path / "2026-09"
    given_from.mkdir()
    october = given_from / "customer-monthly-usage-2026-10.zip"
    with zipfile.ZipFile(october, "w") as zf:
        zf.write(CUSTOMER_MONTHLY, "ams/customer-monthly-usage.tsv")
    [report] = import_reports(open_store(), [october], vendor_prices=prices, period="2026-10")
    assert report.currencies[0].cost_after == D("5574.096")


def test_a_report_naming_its_month_in_its_rows_is_not_judged_by_its_file_name(prices, tmp_path):
    """A Month column in the rows is the report's month; a file name of another month (a
    download date, say) does not refuse it."""
    path = tmp_path / "usage-downloaded-2026-11.csv"
    path.write_text(
        "Month,Customer Label,Product,Unit of Measure,Units to be Reported\n"
        "2026-10,acme,Flex Core - Standard,Core,2\n"
    )
    con = open_store()
    import_reports(con, [path], vendor_prices=prices, period="2026-10")
    assert con.execute("SELECT BilledCost FROM lines").fetchone() == (D("8.64"),)


# -- the unit of the report's units ----------------------------------------------------------------


def _customer_monthly(tmp_path: Path, old: str, new: str) -> Path:
    text = CUSTOMER_MONTHLY.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / CUSTOMER_MONTHLY.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_row_in_another_unit_than_the_contract_counts_is_refused(prices, tmp_path):
    """vSAN Standard's 9.75 TiB reported as 9,984 GB used: counted as TiB at 24 points each it
    cost 212,400 EUR instead of 5,574. Refused naming file, row, column and the entry's unit."""
    path = _customer_monthly(
        tmp_path,
        "schelde-data\tCustomer-b204\tvSAN Standard\tTiB used\t9.75",
        "schelde-data\tCustomer-b204\tvSAN Standard\tGB used\t9984",
    )
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path], vendor_prices=prices)
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.value) == (13, "Unit of Measure", "GB used")
    assert "'TiB used', the unit whose points" in problem.expected
    assert "vmware.points_per_unit[3]" in problem.expected and "'vSAN Standard'" in problem.expected
    assert "vendor_prices.yaml" in str(err.value)
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_a_unit_is_compared_without_case_and_spaces(prices, tmp_path):
    path = _customer_monthly(tmp_path, "Core\t64", "core \t64")
    con = open_store()
    [report] = import_reports(con, [path], vendor_prices=prices)
    assert report.currencies[0].cost_after == D("5574.096")


def test_a_contract_entry_naming_no_unit_is_refused_for_a_report_naming_its_units(tmp_path):
    """An entry converting a report's units names the unit it converts: without it, a report in
    another unit could not be told. Refused with the unit to add."""
    text = (DATA / "vendor_prices.yaml").read_text(encoding="utf-8")
    (tmp_path / "vendor_prices.yaml").write_text(
        text.replace("unit: TiB used, ", ""), encoding="utf-8"
    )
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [CUSTOMER_MONTHLY], vendor_prices=load_vendor_prices(tmp_path))
    got = [(p.row, p.value) for p in err.value.problems]
    assert got == [(4, "TiB used"), (8, "TiB used")]  # vSAN Standard's rows 4 and 13, Enterprise's
    assert "(1 more row like it)" in err.value.problems[0].expected
    assert "add `unit: TiB used` to that entry" in err.value.problems[0].expected
    assert "vmware.points_per_unit[3]" in err.value.problems[0].expected


def test_a_price_per_unit_is_for_the_unit_it_names(prices, tmp_path):
    """NSX Advanced priced per powered-on VM: the report's rows in that unit are priced per unit
    and carry it as their PricingUnit (a tier of points does not count them); a price per unit
    naming another unit refuses them."""
    contract = (DATA / "vendor_prices.yaml").read_text(encoding="utf-8")
    per_vm = contract.replace(
        '{product: NSX Advanced, per: point, price: "0.8640"',
        '{product: NSX Advanced, per: unit, unit: powered-on vm, price: "2.5920"',
    )
    (tmp_path / "vendor_prices.yaml").write_text(per_vm, encoding="utf-8")
    con = open_store()
    import_reports(con, [CUSTOMER_MONTHLY], vendor_prices=load_vendor_prices(tmp_path))
    assert con.execute(
        "SELECT PricingQuantity, PricingUnit, BilledCost FROM lines WHERE SkuId = 'NSX Advanced' "
        "ORDER BY x_SourceRow"
    ).fetchall() == [
        (D(42), "Powered-on VM", D("108.864")),
        (D(118), "Powered-on VM", D("305.856")),
    ]
    per_host = per_vm.replace("unit: powered-on vm", "unit: Host")
    (tmp_path / "vendor_prices.yaml").write_text(per_host, encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [CUSTOMER_MONTHLY], vendor_prices=load_vendor_prices(tmp_path))
    assert [p.row for p in err.value.problems] == [5]
    assert "(1 more row like it)" in err.value.problems[0].expected  # row 9
    assert "'Host', the unit whose price" in err.value.problems[0].expected


def test_contract_lines_priced_per_unit_carry_the_unit_of_the_entry(prices):
    """Cloud Partner Navigator reports name no unit: a line priced per unit carries the unit its
    contract entry names (core-hours are no points to a tier)."""
    con = open_store()
    import_reports(con, [DATA / "msp-usage-report-2026-10.csv"], vendor_prices=prices)
    import_reports(con, [DATA / "billing-api-raw-usage-2026-10.csv"], vendor_prices=prices)
    got = con.execute(
        "SELECT DISTINCT x_Format, SkuId, PricingUnit FROM lines ORDER BY ALL"
    ).fetchall()
    assert got == [
        ("vmware_billing_usage", "VCF-CLD-FDN-5", "core-hour"),
        ("vmware_billing_usage", "VSAN-ADD-ON-TIB", "TiB-hour"),
        ("vmware_cpn_usage", "VCF-CLD-FDN-5", "core-hour"),
        ("vmware_cpn_usage", "VSAN-ADD-ON-TIB", "TiB-hour"),
    ]


def test_a_unit_on_a_price_per_point_is_refused(tmp_path):
    (tmp_path / "vendor_prices.yaml").write_text(
        "vmware:\n  prices:\n"
        "    - {product: X, per: point, unit: Core, price: '1', currency: EUR}\n"
    )
    with pytest.raises(ParameterError, match=r"vmware.prices\[0\].*points_per_unit"):
        load_vendor_prices(tmp_path)


# -- the currency a billing API price column names -------------------------------------------------


def _priced_in(tmp_path: Path, header: str) -> Path:
    text = (DATA / "billing-api-raw-usage-priced-2026-10.csv").read_text(encoding="utf-8")
    path = tmp_path / "bapi-2026-10.csv"
    path.write_text(text.replace('"Price (EUR)"', header, 1), encoding="utf-8")
    return path


def test_a_billing_api_price_in_any_currency_is_read_in_it(prices, tmp_path):
    """The file's own price in Danish kroner is the cost of its row, in DKK (before, a currency
    the format did not list was dropped and the row priced from the EUR contract); the row
    without a price is priced from the contract."""
    con = open_store()
    [report] = import_reports(con, [_priced_in(tmp_path, '"Price (DKK)"')], vendor_prices=prices)
    got = con.execute(
        "SELECT ListUnitPrice, BilledCost, BillingCurrency FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [(D("0.0121"), D("0.7744"), "DKK"), (D("0.0118"), D("0.7552"), "EUR")]
    assert {c.currency: c.cost_after for c in report.currencies} == {
        "DKK": D("0.7744"),
        "EUR": D("0.7552"),
    }


@pytest.mark.parametrize("header", ['"Price (Euro)"', '"Price (XYZ)"'])
def test_a_billing_api_price_column_naming_no_currency_code_is_refused(prices, tmp_path, header):
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [_priced_in(tmp_path, header)], vendor_prices=prices)
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (1, header.strip('"'))
    assert "ISO 4217" in problem.expected


def test_billing_api_prices_in_two_currency_columns_are_refused(prices, tmp_path):
    with open(DATA / "billing-api-raw-usage-priced-2026-10.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    at = rows[0].index("Price (EUR)") + 1
    path = tmp_path / "bapi-2026-10.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(
            r[:at] + [("Price (USD)" if n == 0 else "")] + r[at:] for n, r in enumerate(rows)
        )
    with pytest.raises(InputError, match=r"prices in 2 currencies.*Price \(EUR\), Price \(USD\)"):
        import_reports(open_store(), [path], vendor_prices=prices)


def test_a_billing_api_price_column_without_a_currency_is_not_read(prices, tmp_path):
    """``Price ()`` names no currency: every row is priced from the contract, as before."""
    con = open_store()
    import_reports(con, [_priced_in(tmp_path, '"Price ()"')], vendor_prices=prices)
    assert con.execute("SELECT sum(BilledCost), min(BillingCurrency) FROM lines").fetchone() == (
        D("1.5104"),
        "EUR",
    )


# -- a contract in more than one currency ----------------------------------------------------------


def test_a_product_the_contract_prices_in_another_currency_is_costed_in_it(tmp_path):
    """NSX Advanced priced in USD beside EUR prices: its lines cost USD (the run converts them
    like any USD cost), not 'one currency expected per file' blamed on the report's column."""
    contract = (DATA / "vendor_prices.yaml").read_text(encoding="utf-8")
    nsx = '{product: NSX Advanced, per: point, price: "0.8640", currency: EUR'
    assert nsx in contract
    (tmp_path / "vendor_prices.yaml").write_text(
        contract.replace(nsx, nsx.replace("EUR", "USD")), encoding="utf-8"
    )
    con = open_store()
    [got] = import_reports(con, [CUSTOMER_MONTHLY], vendor_prices=load_vendor_prices(tmp_path))
    assert all(c.balanced for c in got.currencies)
    # (42 + 118) VMs x 3 points x 0.8640
    assert {c.currency: c.cost_after for c in got.currencies} == {
        "EUR": D("5574.096") - D("414.72"),
        "USD": D("414.72"),
    }
    assert con.execute(
        "SELECT DISTINCT BillingCurrency FROM lines WHERE SkuId = 'NSX Advanced'"
    ).fetchall() == [("USD",)]


def test_a_parameters_folder_without_vendor_prices_is_named_with_the_file_it_lacks(tmp_path):
    """A run's parameters folder without vendor_prices.yaml: the message names that folder's file
    and says it does not exist (it named parameters/vendor_prices.yaml, whatever the folder)."""
    with pytest.raises(InputError) as err:
        import_reports(
            open_store(),
            [CUSTOMER_MONTHLY],
            vendor_prices=load_vendor_prices(tmp_path),
            period="2026-10",
        )
    message = str(err.value)
    assert f"there is no {tmp_path / 'vendor_prices.yaml'} (no such file)" in message
    assert "VMware Cloud Director in 2026-10" in message
    assert f"a contract price for 'VMware Cloud Director' in 2026-10 in {tmp_path}" in message


def test_contract_points_and_cost_are_exact_beyond_10_to_the_14(prices, tmp_path):
    """Units x points per unit x price per point computed exactly where a product passes 10^14
    (DuckDB's own product of two 12-place amounts stops there)."""
    path = tmp_path / "customer-monthly-usage-2026-10.tsv"
    path.write_text(
        "Customer Label\tProduct\tUnit of Measure\tUnits to be Reported\n"
        "acme\tvSAN Enterprise\tTiB used\t100000000000000.25\n",
        encoding="utf-8",
    )
    con = open_store()
    import_reports(con, [path], vendor_prices=prices)
    points = D("100000000000000.25") * 38
    assert con.execute("SELECT PricingQuantity, BilledCost FROM lines").fetchone() == (
        points,
        points * D("0.8640"),
    )


def test_two_sites_reports_of_one_name_in_a_zip_s_folders_are_two_sites(prices, tmp_path):
    """A zip with a folder per site, each holding the site's report under the same name: the
    member's path in the zip tells the sites apart."""
    import zipfile

    name = "customer-monthly-usage-2026-10.tsv"
    archive = tmp_path / "october.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for site, cores in (("ams", 64), ("utr", 32)):
            zf.writestr(
                f"{site}/{name}", f"{NO_METER_HEADER}\nacme\tFlex Core - Standard\tCore\t{cores}\n"
            )
    con = open_store()
    assert [r.rows for r in import_reports(con, [archive], vendor_prices=prices)] == [1, 1]
    assert con.execute("SELECT x_VendorLineId FROM lines ORDER BY 1").fetchall() == [
        ("2026-10:file ams/customer-monthly-usage-2026-10.tsv:acme:Flex Core - Standard:Core",),
        ("2026-10:file utr/customer-monthly-usage-2026-10.tsv:acme:Flex Core - Standard:Core",),
    ]


@pytest.mark.parametrize(
    ("source", "empty", "column", "product", "row"),
    [
        (CUSTOMER_MONTHLY, ("\t42\n", "\t\n"), "Units to be Reported", "VMware Cloud Director", 2),
        (
            DATA / "billing-api-raw-usage-2026-10.csv",
            ('"0","64","VMware', '"0","","VMware'),
            "Billable Qty",
            "VCF-CLD-FDN-5",
            2,
        ),
        (
            DATA / "msp-usage-report-2026-10.csv",
            (",35712,35712", ",35712,"),
            "Effective Usage",
            "VCF-CLD-FDN-5",
            2,
        ),
    ],
    ids=["usage-meter", "billing-api", "partner-navigator"],
)
def test_a_row_without_units_is_refused_naming_its_units_not_the_contract(
    prices, tmp_path, source, empty, column, product, row
):
    """A row whose units are empty has no cost to compute: it was refused as a product
    "vendor_prices.yaml has none for", sending the user to a contract that does price it."""
    text = source.read_text(encoding="utf-8").replace(*empty, 1)
    report = tmp_path / source.name
    report.write_text(text, encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [report], vendor_prices=prices)
    message = str(err.value)
    assert message.startswith(f"{report}: rows without units ({column}): ")
    assert "has none for" not in message
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(row, column, None)]
    assert err.value.problems[0].expected.startswith(f"the units of {product!r} in 2026-10")
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_a_billing_api_sku_without_a_contract_price_is_named_in_its_own_column(prices, tmp_path):
    """The billing API names the product in Sku Name; the problem named a 'Product' column the
    file does not have."""
    source = DATA / "billing-api-raw-usage-2026-10.csv"
    report = tmp_path / source.name
    report.write_text(source.read_text(encoding="utf-8").replace('"VCF-CLD-FDN-5"', '"VCF-X"'))
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [report], vendor_prices=prices)
    assert "has none for: VCF-X in 2026-10" in str(err.value)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(2, "Sku Name", "VCF-X")]


def test_a_customer_s_usage_meter_month_and_billing_api_month_are_refused_as_one_usage(prices):
    """The Usage Meter report keys a customer by its label, the Cloud Partner Navigator billing
    API by its Org Id: no account of the two ever matched, so Van Leeuwen's October given as both
    was billed twice (841.536 EUR of Usage Meter points and 2.0691 EUR of core- and TiB-hours on
    one invoice). accounts.csv maps both to C002: refused naming both files; mapped to two
    customers, both import."""
    from billing_lib.customers import AccountMapping

    label = AccountMapping(vendor="vmware", account_id="vanleeuwen-logistiek", customer_id="C002")
    org = "3f9b2c1e-7a4d-4e8f-9b0a-1c2d3e4f5a6b"
    billing_api = DATA / "billing-api-raw-usage-2026-10.csv"
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(
            con,
            [CUSTOMER_MONTHLY, billing_api],
            vendor_prices=prices,
            accounts=[label, AccountMapping(vendor="vmware", account_id=org, customer_id="C002")],
        )
    message = str(err.value)
    assert message.startswith(f"{billing_api}: the Usage of vmware customer C002 in 2026-10 ")
    assert str(CUSTOMER_MONTHLY) in message and "billed twice" in message
    assert [(p.file, p.row, p.value) for p in err.value.problems] == [(str(billing_api), 2, org)]
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    other = AccountMapping(vendor="vmware", account_id=org, customer_id="C009")
    reports = import_reports(
        con, [CUSTOMER_MONTHLY, billing_api], vendor_prices=prices, accounts=[label, other]
    )
    assert [r.rows for r in reports] == [14, 4]


def test_a_contract_price_changing_mid_month_prices_each_hour_of_the_billing_api_by_its_day(
    tmp_path,
):
    """VCF-CLD-FDN-5 at 0.0118 EUR a core-hour until 15 October and 0.0200 from 16 October: the
    billing API's hour of 20 October cost 64 x 0.0200 = 1.28 EUR, not 0.7552 at the price of 1
    October (the reseller pays the new price and billed the old one); the hour of 1 October keeps
    0.0118. A monthly report still takes the price of its month's first day."""
    contract = (DATA / "vendor_prices.yaml").read_text(encoding="utf-8")
    old = '{product: VCF-CLD-FDN-5, per: unit, unit: core-hour, price: "0.0118", currency: EUR, '
    assert old + "valid_from: 2026-01-01}" in contract
    (tmp_path / "vendor_prices.yaml").write_text(
        contract.replace(
            old + "valid_from: 2026-01-01}",
            old + "valid_from: 2026-01-01, valid_to: 2026-10-15}\n"
            '    - {product: VCF-CLD-FDN-5, per: unit, unit: core-hour, price: "0.0200", '
            "currency: EUR, valid_from: 2026-10-16}",
        ),
        encoding="utf-8",
    )
    source = DATA / "billing-api-raw-usage-2026-10.csv"
    report = tmp_path / source.name
    report.write_text(
        source.read_text(encoding="utf-8").replace("2026-10-01 01:00:00", "2026-10-20 01:00:00")
    )
    con = open_store()
    import_reports(con, [report], vendor_prices=load_vendor_prices(tmp_path))
    got = con.execute(
        "SELECT strftime(ChargePeriodStart, '%Y-%m-%d %H'), SkuId, ListUnitPrice, BilledCost "
        "FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [
        ("2026-10-01 00", "VCF-CLD-FDN-5", D("0.0118"), D("0.7552")),
        ("2026-10-20 01", "VCF-CLD-FDN-5", D("0.02"), D("1.28")),
        ("2026-10-01 00", "VSAN-ADD-ON-TIB", D("0.0302"), D("0.5587")),
        ("2026-10-01 00", "VCF-CLD-FDN-5", D("0.0118"), D("2.2656")),
    ]


# -- the Cloud Services Console's Hourly Usage Report ----------------------------------------------

HOURLY = DATA / "hourly-usage-report-2026-10.csv"
KEY = "4J0QH-8A2DL-M8Y9C-0U1K2-3PQ4R"


def test_the_console_s_hourly_usage_report_is_priced_from_the_contract_per_hour(prices):
    """VMware Cloud Services Console, "Hourly Usage Report" (GUID-288D3AA8-9C8B-479A-8C03-
    EE3D60089C75): Product, SKU, Usage Hour (the start of the collection hour, '2024-06-17
    5:00:00'), License Key, Quantity, Unit of Measurement; usage per license key and hour, no
    customer and no price. It was refused as 'not a known vendor report format', so a VCF
    provider's hours could not be billed at all. Each row is one hour of its key's SKU at the
    contract's price per unit on that day: 64 cores x 0.0118 EUR a core-hour = 0.7552."""
    con = open_store()
    [report] = import_reports(con, [HOURLY], vendor_prices=prices)
    assert report.format == "vmware_hourly_usage"
    rows = con.execute(
        "SELECT SubAccountId, SkuId, ServiceName, strftime(ChargePeriodStart, '%Y-%m-%d %H:%M'), "
        "strftime(ChargePeriodEnd, '%H:%M'), strftime(BillingPeriodStart, '%Y-%m-%d'), "
        "ConsumedQuantity, ConsumedUnit, PricingQuantity, PricingUnit, ListUnitPrice, BilledCost, "
        "BillingCurrency FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert rows[0] == (
        KEY,
        "VCF-CLD-FDN-5",
        "VMware Cloud Foundation",
        "2026-10-01 00:00",
        "01:00",
        "2026-10-01",
        D("64"),
        "Core",
        D("64"),
        "core-hour",
        D("0.0118"),
        D("0.7552"),
        "EUR",
    )
    assert [(r[0], r[3], r[11]) for r in rows[1:]] == [
        (KEY, "2026-10-01 01:00", D("0.7552")),
        (KEY, "2026-10-17 05:00", D("0.8496")),
        ("1M2NA-0B8TK-Q8Z4D-2V6L0-9HX7S", "2026-10-01 00:00", D("2.2656")),
    ]
    assert report.currencies[0].cost_after == D("4.6256")


def test_an_hourly_usage_row_with_its_license_key_hidden_is_refused(prices, tmp_path):
    """The console hides a license key behind # when Usage Meter lacks the permission to read it
    on the vCenter Server (same page: "assign the proper permissions"). Every such row would be
    one account '#####...' whatever customer's key it is: refused naming row and column."""
    report = tmp_path / HOURLY.name
    report.write_text(
        HOURLY.read_text(encoding="utf-8").replace(KEY, "#####-#####-#####-#####-#####", 1)
    )
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [report], vendor_prices=prices)
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (2, "License Key")
    assert "permission" in problem.expected


def test_a_customer_s_usage_meter_month_and_hourly_usage_month_are_refused_as_one_usage(prices):
    """The Customer Monthly Usage report and the console's Hourly Usage Report of the same meter
    are the same usage (the console builds its report from the data the registered Usage Meter
    sends): a customer whose label and license key accounts.csv maps to one customer is refused
    naming both files, rather than billed twice."""
    from billing_lib.customers import AccountMapping

    accounts = [
        AccountMapping(vendor="vmware", account_id="vanleeuwen-logistiek", customer_id="C002"),
        AccountMapping(vendor="vmware", account_id=KEY, customer_id="C002"),
    ]
    with pytest.raises(InputError) as err:
        import_reports(
            open_store(), [CUSTOMER_MONTHLY, HOURLY], vendor_prices=prices, accounts=accounts
        )
    assert str(err.value).startswith(f"{HOURLY}: the Usage of vmware customer C002 in 2026-10 ")


def test_two_hourly_usage_downloads_of_the_same_hours_are_refused(prices, tmp_path):
    """A line of the Hourly Usage Report is its license key, SKU and hour, whatever file it
    comes from: a download of the first half of October beside the whole month's (their other
    hours differ, so their content is not the same) bills 1 October 00:00 once, refused naming
    the row and the file that billed it, instead of billing the overlapping hours twice."""
    half = tmp_path / "hourly-usage-report-2026-10-first-half.csv"
    lines = HOURLY.read_text(encoding="utf-8").splitlines(keepends=True)
    half.write_text("".join(lines[:2]), encoding="utf-8")
    with pytest.raises(InputError, match="already imported from another file") as err:
        import_reports(open_store(), [HOURLY, half], vendor_prices=prices)
    assert [(p.file, p.row) for p in err.value.problems] == [(str(half), 2)]


@pytest.mark.parametrize(
    ("entry", "typed", "expected"),
    [  # read as the Unix time of 2025-10-16, the price in force from then
        ("prices", "valid_from: 1760572800", "not a number; got 1760572800"),
        ("prices", "valid_from: '1760572800'", "not a number; got '1760572800'"),
        ("points_per_unit", "valid_to: 20261031", "not a number; got 20261031"),
        ("prices", "valid_to: 2026-10-31 23:59:59", "whole day (valid_to included), without"),
    ],
)
def test_a_contract_date_that_is_no_day_is_refused_naming_the_entry(
    tmp_path, entry, typed, expected
):
    """A date of vendor_prices.yaml is a day YYYY-MM-DD, as in price_plans.yaml: a number was
    read as seconds since 1970 (``valid_from: 1760572800`` priced from 16 October 2025 without
    a word), and a time of day was refused in pydantic's words."""
    body = {
        "prices": "{product: X, per: point, price: '1', currency: EUR, %s}",
        "points_per_unit": "{product: X, points: 3, %s}",
    }[entry]
    (tmp_path / "vendor_prices.yaml").write_text(f"vmware:\n  {entry}:\n    - {body % typed}\n")
    with pytest.raises(ParameterError) as err:
        load_vendor_prices(tmp_path)
    text = str(err.value)
    field = typed.split(":")[0]
    assert "vendor_prices.yaml" in text and f"vmware.{entry}[0].{field}" in text, text
    assert "expected a date YYYY-MM-DD" in text and expected in text, text


COMMENTED_PRICES = """\
# The reseller's VMware contract: comments and blank lines before the entries.

vmware:
  prices:
    # VCF, changed in October
    - {product: X, per: point, price: '1', currency: EUR, valid_to: 2026-10-31}

    - product: x
      per: point
      price: '2'
      currency: EUR
      valid_from: 2026-11-01
"""


@pytest.mark.parametrize(
    ("old", "new", "place", "entry"),
    [
        # from October: overlaps the first price
        ("valid_from: 2026-11-01", "valid_from: 2026-10-01", "line 8", "vmware.prices[1]"),
        ("currency: EUR, valid_to", "currency: eur, valid_to", "line 6, column 44",
         "vmware.prices[0].currency"),
        ("      price: '2'", "      price: '-2'", "line 10", "vmware.prices[1].price"),
    ],
)  # fmt: skip
def test_an_error_of_vendor_prices_yaml_names_the_line(tmp_path, old, new, place, entry):
    """The overlap check named ``vmware.prices[1]``: which of a contract's hundred prices the
    analyst counted by hand. The line is named with it."""
    assert old in COMMENTED_PRICES
    path = tmp_path / "vendor_prices.yaml"
    path.write_text(COMMENTED_PRICES.replace(old, new))
    with pytest.raises(ParameterError) as raised:
        load_vendor_prices(tmp_path)
    assert str(raised.value).startswith(f"{path}, {place}, entry {entry}: "), raised.value
