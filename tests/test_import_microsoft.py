"""Microsoft Partner Center new-commerce files: the sample month's invoice reconciliation and daily
rated usage import with their own totals, and the figures a person worked out from Microsoft's
documented formulas (proration by days, ROUNDDOWN to cents per licence, credits negative, partner
earned credit, USD pricing billed in EUR)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from tests.sample_totals import own_totals, report_totals

REPORTS = Path(__file__).resolve().parents[1] / "samples" / "2026-10" / "reports"
INVOICE = REPORTS / "ms-invoice-reconciliation-G052026103.csv"
USAGE = REPORTS / "ms-daily-rated-usage-G052026103.csv"
D = Decimal
CREDIT_TYPES = {"removeQuantity", "cancelImmediate"}


def _import(path: Path) -> tuple[duckdb.DuckDBPyConnection, object]:
    con = duckdb.connect()
    (report,) = import_reports(con, [path])
    return con, report


def _line(con, **where: str) -> dict:
    cond = " AND ".join(f'"{k}" = ?' for k in where)
    cur = con.execute(f"SELECT * FROM lines WHERE {cond}", list(where.values()))
    rows = cur.fetchall()
    assert len(rows) == 1, f"{len(rows)} lines match {where}"
    return dict(zip([d[0] for d in cur.description], rows[0], strict=True))


# -- invoice reconciliation ------------------------------------------------------------------


def test_invoice_reconciliation_totals_equal_the_files_own_sums():
    _, report = _import(INVOICE)
    assert report.format == "ms_invoice_reconciliation"
    own = own_totals(
        INVOICE,
        "Subtotal",
        lambda r: r["Currency"],
        lambda r: "Credit" if r["ChargeType"] in CREDIT_TYPES else "Purchase",
    )
    assert report_totals(report) == own
    # by hand from the licence events (samples/README.md): 19 lines, EUR 21,530.84 of which
    # EUR -184.10 credits (a 5-seat reduction and a cancellation within 7 days)
    assert report.rows == 19
    assert report.currencies[0].currency == "EUR"
    assert report.currencies[0].cost_after == D("21530.84")
    assert report.cost_per_category["Credit"]["EUR"] == D("-184.10")


def test_invoice_total_is_subtotal_plus_tax_and_tax_is_not_a_cost():
    """TaxTotal is Microsoft's VAT on the partner's purchase (reverse-charged: 0); BilledCost is
    Subtotal, so the imported cost is the file's pre-tax total."""
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert all(D(r["Total"]) == D(r["Subtotal"]) + D(r["TaxTotal"]) for r in rows)
    con, _ = _import(INVOICE)
    billed = con.execute("SELECT sum(BilledCost) FROM lines").fetchone()[0]
    assert billed == sum(D(r["Subtotal"]) for r in rows)


def test_prorated_seat_increase_is_rounded_down_per_licence():
    """3 Business Premium seats added on 20 Oct in the cycle 12 Oct - 11 Nov: 23 of 31 days of
    EUR 20.60 is 15.2838..., rounded down to 15.28, x 3 = 45.84."""
    con, _ = _import(INVOICE)
    line = _line(con, x_VendorChargeType="addQuantity")
    assert line["BilledCost"] == D("45.84")
    assert line["ChargeCategory"] == "Purchase" and line["ChargeFrequency"] == "Recurring"
    assert str(line["ChargePeriodStart"]) == "2026-10-20 00:00:00"
    assert str(line["ChargePeriodEnd"]) == "2026-11-12 00:00:00"  # ChargeEndDate 11/11 inclusive
    assert line["SubAccountId"] == "de6799dd-16e2-4542-8982-fcd5407b50a3"
    assert line["ResourceId"] == "3f5a1c2e-6b1d-4f0e-9a27-5c8e1d2b7a01"
    assert line["SkuId"] == "CFQ7TTC0LCHC:0002"
    assert line["PricingQuantity"] == 3 and line["PricingUnit"] == "Licenses"
    assert line["ListUnitPrice"] == D("20.60")
    # list price prorated: 20.60 x 3 x 23/31 (the ratio to 12 places, 0.741935483870)
    assert line["ListCost"] == D("45.851612903166")


def test_seat_reduction_and_cancellation_are_negative_credits():
    con, _ = _import(INVOICE)
    removed = _line(con, x_VendorChargeType="removeQuantity")
    # 5 Exchange Online seats removed on 4 Oct from the cycle 1-31 Oct: 28/31 x 3.70 = 3.3419... ->
    # 3.34 x 5
    assert removed["BilledCost"] == D("-16.70")
    assert removed["ChargeCategory"] == "Credit"
    assert removed["ListCost"] < 0
    cancelled = _line(con, x_VendorChargeType="cancelImmediate")
    # 9 Business Premium cancelled on 5 Oct, bought 2 Oct (cycle 2 Oct - 1 Nov): 28 of 31 days back
    assert cancelled["BilledCost"] == D("-167.40")
    assert cancelled["ChargeCategory"] == "Credit"
    bought = con.execute(
        "SELECT BilledCost FROM lines WHERE x_VendorChargeType = 'new' AND SubAccountName = "
        "'Alpenblick Treuhand AG'"
    ).fetchone()[0]
    assert bought + cancelled["BilledCost"] == D("18.00")  # 3 days of 9 seats kept


def test_annual_renewal_and_price_adjustment():
    con, _ = _import(INVOICE)
    renewal = _line(con, x_VendorChargeType="renew", SubAccountName="Schelde Data Services NV")
    assert renewal["BilledCost"] == D("8652.00")  # 35 x 247.20, the year billed in advance
    assert str(renewal["ChargePeriodEnd"]) == "2027-10-15 00:00:00"
    assert renewal["ListCost"] == D("8652.00")  # the whole (annual) cycle
    # Zorggroep's E3: 10% promotion, so BilledCost (240 x 28.08) is below ListCost (240 x 31.20)
    e3 = _line(con, SubAccountName="Zorggroep Amstelland", SkuId="CFQ7TTC0MM8R:0002")
    assert e3["BilledCost"] == D("6739.20") and e3["ListCost"] == D("7488.00")


def test_a_credit_printed_as_positive_is_still_a_credit_by_its_type(tmp_path):
    """Whatever the sign, a removeQuantity line is a Credit; its amount is taken as printed."""
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, [r for r in reader if r["ChargeType"] == "removeQuantity"]
    path = tmp_path / "one.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    _, report = _import(path)
    assert report.lines_per_category == {"Credit": 1}


def test_a_file_without_subtotal_names_the_missing_column(tmp_path):
    text = INVOICE.read_text(encoding="utf-8").replace(",Subtotal,", ",SubTotalEUR,", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="not a known vendor report format") as err:
        import_reports(duckdb.connect(), [bad])
    assert "ms_invoice_reconciliation" in str(err.value) and "Subtotal" in str(err.value)


def test_a_day_first_date_is_refused_with_row_and_column(tmp_path):
    lines = INVOICE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",10/20/2026,11/11/2026,", ",20.10.2026,11/11/2026,")
    bad = tmp_path / "dates.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    problems = [(p.row, p.column) for p in err.value.problems]
    assert (3, "ChargeStartDate") in problems


def test_an_empty_charge_end_date_is_refused_with_row_and_column(tmp_path):
    """Row 3 adds 3 seats on 20 Oct to a cycle ending 11 Nov (23 of 31 days). With its
    ChargeEndDate emptied the line had no end: its list cost was the whole cycle's (61.80, not
    45.85), a seat price billed a whole month and an annual renewal one month of twelve, in
    silence. Microsoft prints the cycle's end on every billed line."""
    lines = INVOICE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",10/20/2026,11/11/2026,", ",10/20/2026,,")
    bad = tmp_path / "no-end.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(3, "ChargeEndDate", None)]
    assert "the last day of the charge cycle" in str(err.value)


# -- daily rated usage -----------------------------------------------------------------------


def test_daily_rated_usage_totals_equal_the_files_own_sums():
    con, report = _import(USAGE)
    assert report.format == "ms_daily_rated_usage"
    own = own_totals(USAGE, "BillingPreTaxTotal", lambda r: r["BillingCurrency"], lambda r: "Usage")
    assert report_totals(report) == own
    # per customer tenant, as the csv module sums them
    with open(USAGE, newline="", encoding="utf-8") as fh:
        per_tenant: dict[str, Decimal] = {}
        for r in csv.DictReader(fh):
            per_tenant[r["CustomerId"]] = per_tenant.get(r["CustomerId"], D(0)) + D(
                r["BillingPreTaxTotal"]
            )
    got = dict(con.execute("SELECT SubAccountId, sum(BilledCost) FROM lines GROUP BY 1").fetchall())
    assert got == per_tenant


def test_partner_earned_credit_and_currency_conversion_by_hand():
    con, _ = _import(USAGE)
    vm = con.execute(
        "SELECT * FROM lines WHERE ResourceName = 'vm-tms-app01' AND ChargePeriodStart = "
        "'2026-10-01'"
    ).fetchall()
    cols = [d[0] for d in con.description]
    line = dict(zip(cols, vm[0], strict=True))
    # D4s v5, 24 h at USD 0.23 less 15% PEC = 0.1955/h -> USD 4.692 -> x 0.9187 = EUR 4.3105404 (6
    # places)
    assert line["BilledCost"] == D("4.310540")
    assert line["ListUnitPrice"] == D("0.211301")  # 0.23 x 0.9187
    assert line["ListCost"] == D("5.071224")  # 24 x 0.23 x 0.9187, before PEC
    assert line["ContractedCost"] == D("4.3105404")  # 24 x 0.1955 x 0.9187, unrounded
    assert line["ServiceName"] == "Virtual Machines" and line["ChargeCategory"] == "Usage"
    assert line["ResourceId"].endswith("/virtualMachines/vm-tms-app01")
    assert line["Tags"] == '{"CostCenter":"logistics","env":"prod"}'
    assert str(line["ChargePeriodEnd"]) == "2026-10-02 00:00:00"
    assert str(line["BillingPeriodEnd"]) == "2026-11-01 00:00:00"
    # Alpenblick's subscription earns no PEC: billed = list, 24 h x 0.115 x 0.9187 = 2.535612
    no_pec = con.execute(
        "SELECT BilledCost, ListCost FROM lines WHERE ResourceName = 'vm-files01' "
        "AND ChargePeriodStart = '2026-10-31'"
    ).fetchone()
    assert no_pec == (D("2.535612"), D("2.535612"))


def test_daily_rated_usage_is_not_mistaken_for_another_format():
    from billing_lib.importers.engine import detect_format
    from billing_lib.importers.reader import open_sources

    for path, name in ((USAGE, "ms_daily_rated_usage"), (INVOICE, "ms_invoice_reconciliation")):
        with open_sources(path) as (src,):
            assert detect_format(src).name == name


def test_metered_rows_and_spelled_out_charge_types(tmp_path):
    """An Azure plan row in the invoice file (a MeterDescription, no reservation) is Usage; a
    charge type written with a space is recognised like Microsoft's camel case."""
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    meter = dict(
        rows[0],
        ChargeType="new",
        MeterDescription="Virtual Machines - D2s v5",
        BillingFrequency="",
        Subtotal="12.34",
        Total="12.34",
        UnitType="1 Hour",
    )
    cancel = dict(
        next(r for r in rows if r["ChargeType"] == "cancelImmediate"), ChargeType="Cancel Immediate"
    )
    path = tmp_path / "mixed.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\n")
        w.writeheader()
        w.writerows([meter, cancel])
    con, _ = _import(path)
    got = con.execute(
        "SELECT x_VendorChargeType, ChargeCategory, ChargeFrequency FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [("new", "Usage", "Usage-Based"), ("Cancel Immediate", "Credit", "Recurring")]


def _azure_plan_rows(rows: list[dict]) -> list[dict]:
    """Two rows of one Azure plan SKU on one subscription, one per meter, as Microsoft Learn's
    example describes the invoice file's Azure plan usage (Tables - LRS: data stored, writes)."""
    plan = dict(
        rows[0],
        OrderId="aZp1an0rder0000000000000000000001",
        ProductId="DZH318Z0BNZ5",
        SkuId="006G",
        AvailabilityId="DZH318Z08B80",
        SkuName="Tables - LRS",
        ProductName="Tables",
        ChargeType="new",
        SubscriptionDescription="Azure plan",
        SubscriptionId="4a1e2b3c-0003-4d5e-8f6a-7b8c9d0e1f31",
        AlternateId="6dc5c039750a",
        ChargeStartDate="10/1/2026",
        ChargeEndDate="10/31/2026",
        BillingFrequency="",
        TermAndBillingCycle="",
        UnitType="",
        ReservationOrderId="",
        TaxTotal="0",
    )
    meters = [
        ("Tables - LRS Data Stored", "120", "0.045", "4.96"),
        ("Tables - LRS Batch Write Operations", "35", "0.00036", "0.01"),
    ]
    return [
        dict(
            plan,
            MeterDescription=m,
            Quantity=q,
            BillableQuantity=q,
            UnitPrice=p,
            EffectiveUnitPrice=p,
            Subtotal=s,
            Total=s,
        )
        for m, q, p, s in meters
    ]


def _invoice_with(tmp_path: Path, extra: list[dict]) -> Path:
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    path = tmp_path / INVOICE.name
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows + extra)
    return path


def test_two_meters_of_one_azure_plan_sku_are_two_lines(tmp_path):
    """An Azure SKU is billed through several meters: rows that differ only in their meter are
    two charges, not a repeated row."""
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    plan = _azure_plan_rows(rows)
    con, report = _import(_invoice_with(tmp_path, plan))
    got = con.execute(
        "SELECT ChargeCategory, PricingQuantity, BilledCost, x_VendorLineId FROM lines "
        "WHERE SkuId = 'DZH318Z0BNZ5:006G' ORDER BY x_SourceRow"
    ).fetchall()
    assert [g[:3] for g in got] == [("Usage", D("120"), D("4.96")), ("Usage", D("35"), D("0.01"))]
    assert got[0][3].endswith(":Tables - LRS Data Stored")
    assert report.rows == len(rows) + 2
    # a licence row's line id is what it was: no meter, nothing added
    lic = rows[0]
    assert _line(con, x_SourceRow=2)["x_VendorLineId"] == (
        f"{lic['InvoiceNumber']}:{lic['OrderId']}:{lic['AlternateId']}:{lic['SubscriptionId']}:"
        f"{lic['ProductId']}:{lic['SkuId']}:{lic['ChargeType']}:2026-10-12"
    )


def test_the_same_meter_twice_is_still_a_repeated_row(tmp_path):
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    plan = _azure_plan_rows(rows)
    path = _invoice_with(tmp_path, [*plan, dict(plan[1])])
    with pytest.raises(InputError, match="repeats row") as err:
        import_reports(duckdb.connect(), [path])
    assert "MeterDescription" in str(err.value)
    assert [p.row for p in err.value.problems] == [len(rows) + 4]
