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


def test_a_monthly_cycle_from_the_31st_is_read_to_the_day_after_the_month_s_end(tmp_path):
    """Partner Center ends a monthly cycle from the 31st the day before the same day next month,
    clamped to that month's end: 1/31/2027 - 2/28/2027. It is read as the cycle it is
    (ChargePeriodEnd 1 March, its list cost the whole cycle's, no day more), which a seat price
    counts as one month (docs/pricing.md, ``fixed_price``)."""

    def cycle_from_the_31st(number: int, record: dict) -> None:
        if number == 2:  # the cycleCharge of 12 Business Premium seats
            record.update(ChargeStartDate="1/31/2027", ChargeEndDate="2/28/2027")

    con, _ = _import(_rewritten(INVOICE, tmp_path / "cycle.csv", cycle_from_the_31st))
    line = _line(con, x_SourceRow=2)
    assert str(line["ChargePeriodStart"]) == "2027-01-31 00:00:00"
    assert str(line["ChargePeriodEnd"]) == "2027-03-01 00:00:00"
    assert line["PricingQuantity"] == 12 and line["ListCost"] == 12 * D("20.60")


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


def _seat_change(tmp_path: Path, charge_type: str, old: int, new: int) -> Path:
    """The sample's Business Premium cycle (12 Oct - 11 Nov) changed on 20 Oct from ``old`` to
    ``new`` seats as Microsoft documents addQuantity and removeQuantity ("used in both the refund
    of the original purchase and the new quantity after an increase"/"a decrease"): two rows of
    one order (OrderId and AlternateId, its alternate id), the ``old`` seats given back for the 23
    days left and the ``new`` charged for them, at 15.28 a seat."""
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    added = next(r for r in rows if r["ChargeType"] == "addQuantity")
    common = dict(added, ChargeType=charge_type, EffectiveUnitPrice="15.28")
    refund, charge = (
        dict(common, Quantity=str(q), BillableQuantity=str(q), Subtotal=str(q * D("15.28")))
        for q in (-old, new)
    )
    for row in (refund, charge):
        row["Total"] = row["Subtotal"]
    path = tmp_path / "change.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\n")
        w.writeheader()
        w.writerows([refund, charge])
    return path


@pytest.mark.parametrize(
    ("charge_type", "old", "new"), [("addQuantity", 12, 15), ("removeQuantity", 15, 10)]
)
def test_a_seat_change_printed_as_refund_and_new_quantity_is_two_lines(
    tmp_path, charge_type, old, new
):
    """The refund of the old seats and the charge of the new are one order's rows of one
    subscription, SKU, charge type and day: the line id did not tell them apart, and the file
    was refused as one charge given twice. They are two lines, the refund negative."""
    con, report = _import(_seat_change(tmp_path, charge_type, old, new))
    assert report.rows == 2
    got = con.execute(
        "SELECT BilledCost, PricingQuantity FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [(-old * D("15.28"), D(-old)), (new * D("15.28"), D(new))]


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


def _rewritten(source: Path, target: Path, edit) -> Path:
    """``source`` written to ``target`` with ``edit(row_number, row)`` applied to each record
    (a dict; spreadsheet rows, the first record is row 2), ``None`` to drop a column."""
    with open(source, newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    for number, record in enumerate(records, start=2):
        edit(number, record)
    columns = [c for c in records[0] if records[0][c] is not None]
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    return target


def _no_rate_on_row(row: int, rate: str = "PCToBCExchangeRate", **values: str):
    def edit(number: int, record: dict) -> None:
        if number == row:
            record.update(values, **{rate: ""})

    return edit


def _without_rate(number: int, record: dict) -> None:
    record["PCToBCExchangeRate"] = None


def _without_rate_nor_pricing_currency(number: int, record: dict) -> None:
    """The rate column deleted, and PricingCurrency with it: only the row's pre-tax total in the
    pricing currency, unlike its total in the billing currency, tells the two apart."""
    record["PCToBCExchangeRate"] = record["PricingCurrency"] = None


#: Row 3 of the invoice file priced in USD, its rate empty.
_INVOICE_USD_NO_RATE = _no_rate_on_row(3, PricingCurrency="USD")

AZURE_EXPORTS = Path(__file__).resolve().parent / "data" / "azure-cost-details"
AZURE_RATE = "exchangeRatePricingToBilling"


def _without_rate_and_pricing_currency(number: int, record: dict) -> None:
    """The rate column deleted, and pricingCurrency with it: only the row's cost in the pricing
    currency, unlike its cost in the billing currency, tells the two currencies apart."""
    record[AZURE_RATE] = record["pricingCurrency"] = None


@pytest.mark.parametrize(
    ("source", "edit", "rows", "column"),
    [
        (USAGE, _no_rate_on_row(2), [2], "PCToBCExchangeRate"),
        (USAGE, _without_rate, list(range(2, 22)), "PCToBCExchangeRate"),
        (USAGE, _without_rate_nor_pricing_currency, list(range(2, 22)), "PCToBCExchangeRate"),
        (INVOICE, _INVOICE_USD_NO_RATE, [3], "PCToBCExchangeRate"),
        (INVOICE, _without_rate_nor_pricing_currency, list(range(2, 21)), "PCToBCExchangeRate"),
        (
            INVOICE,
            _no_rate_on_row(3, PricingCurrency=""),
            [3],
            "PCToBCExchangeRate",
        ),
        (
            AZURE_EXPORTS / "mpa-actual-cost-2026-10.csv",
            _no_rate_on_row(3, AZURE_RATE),
            [3],
            AZURE_RATE,
        ),
        (
            AZURE_EXPORTS / "mca-actual-cost-2026-10.csv",
            _no_rate_on_row(2, AZURE_RATE),
            [2],
            AZURE_RATE,
        ),
        (
            AZURE_EXPORTS / "mpa-actual-cost-2026-10.csv",
            _without_rate_and_pricing_currency,
            [2, 3, 5, 6, 7, 8, 9, 10],
            AZURE_RATE,
        ),
        (
            AZURE_EXPORTS / "mca-actual-cost-2026-10.csv",
            _without_rate_and_pricing_currency,
            [2, 3, 4],
            AZURE_RATE,
        ),
    ],
    ids=[
        "daily-empty-rate",
        "daily-column-deleted",
        "daily-no-pricing-currency",
        "invoice-usd-priced-empty-rate",
        "invoice-no-pricing-currency",
        "invoice-empty-rate-and-pricing-currency",
        "partner-cost-export",
        "mca-cost-export",
        "partner-cost-export-no-pricing-currency",
        "mca-cost-export-no-pricing-currency",
    ],
)
def test_a_row_priced_in_another_currency_without_its_exchange_rate_is_refused(
    tmp_path, source, edit, rows, column
):
    """A row priced in USD (PricingCurrency) and billed in EUR whose exchange rate from the one
    to the other is empty, or a file whose rate column was deleted, had its unit prices converted
    at 1: ListUnitPrice and ListCost were the USD figures labelled EUR (ListCost 5.52 for
    5.071224 on row 2 of the daily file), and a list_price rule billed them so, in silence."""
    bad = _rewritten(source, tmp_path / "no-rate.csv", edit)
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    assert [p.row for p in err.value.problems] == rows
    assert {p.column for p in err.value.problems} == {column}
    text = "the exchange rate from the pricing currency USD to the billing currency EUR"
    if edit in (_without_rate_and_pricing_currency, _without_rate_nor_pricing_currency):
        # the column deleted, not one row's cell emptied: named so (as the format names it)
        named = "pricingCurrency" if source.name.startswith("mpa") else "PricingCurrency"
        text = f"the exchange rate from the pricing currency (the file has no {named} column, "
    if source == INVOICE and edit is not _INVOICE_USD_NO_RATE:
        # no per-row total in the pricing currency (licences are prorated): the row's own
        # PricingCurrency, which Partner Center prints on every line, is what tells
        text = "the exchange rate from the pricing currency (the row names none: PricingCurrency"
    assert text in str(err.value)


def test_an_invoice_row_with_no_price_to_convert_needs_neither_rate_nor_pricing_currency(tmp_path):
    """Both columns deleted: only the rows with a UnitPrice to convert are refused (row 3); a row
    whose UnitPrice is 0 (a free trial) converts nothing, and its Subtotal is the billing
    currency's already."""

    def edit(number: int, record: dict) -> None:
        _without_rate_nor_pricing_currency(number, record)
        if number != 3:
            record["UnitPrice"] = "0"

    bad = _rewritten(INVOICE, tmp_path / "free.csv", edit)
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    assert [(p.row, p.column) for p in err.value.problems] == [(3, "PCToBCExchangeRate")]
    assert "UnitPrice 20.6 may be in another currency than EUR" in str(err.value)


def test_a_row_priced_in_its_billing_currency_needs_no_exchange_rate(tmp_path):
    """The invoice file's licences are priced in EUR and billed in EUR: an empty rate is 1."""
    ok = _rewritten(INVOICE, tmp_path / "no-rate.csv", _no_rate_on_row(3))
    con, report = _import(ok)
    assert report.currencies[0].cost_after == D("21530.84")
    assert con.execute("SELECT ListUnitPrice FROM lines WHERE x_SourceRow = 3").fetchone() == (
        D("20.60"),
    )


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
    from billing_lib.importers.reader import open_sources
    from billing_lib.importers.source_checks import detect_format

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


# -- a tenant shared by customers: a subscription's accounts.csv row wins over its tenant's ------

MPA = (
    Path(__file__).resolve().parent / "data" / "azure-cost-details" / "mpa-actual-cost-2026-10.csv"
)
PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"


def _customer_lines(tmp_path: Path, paths: list[Path], rows: str) -> duckdb.DuckDBPyConnection:
    """The reports imported and their lines mapped by the sample's accounts.csv plus ``rows``."""
    from billing_lib.customers import (
        assign_customers,
        load_account_mappings,
        load_customers,
        register_account_map,
    )
    from billing_lib.store import open_store

    params = tmp_path / "parameters"
    params.mkdir()
    for name in ("customers.yaml", "accounts.csv"):
        (params / name).write_bytes((PARAMETERS / name).read_bytes())
    with (params / "accounts.csv").open("a", encoding="utf-8") as out:
        out.write(rows)
    con = open_store()
    import_reports(con, paths)
    register_account_map(con, load_account_mappings(params, load_customers(params)))
    assign_customers(con)
    return con


def _by_customer(con, where: str = "true") -> dict:
    return {
        customer: (n, cost)
        for customer, n, cost in con.execute(
            f"SELECT x_CustomerId, count(*), sum(BilledCost) FROM customer_lines WHERE {where} "
            "GROUP BY 1"
        ).fetchall()
    }


def _file_rows(path: Path, keep) -> tuple[int, D]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if keep(r)]
    cost = "BillingPreTaxTotal" if "BillingPreTaxTotal" in rows[0] else "costInBillingCurrency"
    return len(rows), sum((D(r.get(cost) or r.get("Subtotal")) for r in rows), D(0))


def test_an_azure_subscription_row_wins_over_its_tenants_in_the_daily_file(tmp_path):
    """Zorggroep Amstelland's tenant (C004) with one Azure subscription billed to Van Leeuwen
    (C002) from 16 October: that subscription's days from the 16th go to C002, its earlier days
    and the tenant's other lines stay with C004. The row was ignored: all 93 lines (EUR 643.53)
    went to C004."""
    sub = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04"
    con = _customer_lines(tmp_path, [USAGE], f"microsoft,{sub},C002,2026-10-16,,shared tenant\n")
    moved = _file_rows(
        USAGE, lambda r: r["EntitlementId"] == sub and int(r["UsageDate"].split("/")[1]) >= 16
    )
    stayed = _file_rows(
        USAGE, lambda r: r["EntitlementId"] == sub and int(r["UsageDate"].split("/")[1]) < 16
    )
    assert moved[0] == 48 and stayed[0] == 45  # 3 meters a day, 16 and 15 days
    tenant_c004 = "SubAccountId = '570032ed-7e4a-4bb0-9409-2afd36814937'"
    assert _by_customer(con, tenant_c004) == {"C002": moved, "C004": stayed}
    # control totals: every line once, to the file's own sum
    everything = _by_customer(con)
    assert None not in everything
    assert sum(n for n, _ in everything.values()) == 248
    assert sum(c for _, c in everything.values()) == D("900.520261")


def test_a_whole_subscription_row_moves_all_its_usage(tmp_path):
    sub = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04"
    con = _customer_lines(tmp_path, [USAGE], f"microsoft,{sub.upper()},C002,,,\n")
    got = _by_customer(con, f"x_SubscriptionId = '{sub}'")
    assert got == {"C002": (93, D("643.526990"))}


def test_a_licence_subscription_row_splits_a_tenants_licences(tmp_path):
    """A Microsoft 365 tenant whose Teams licences belong to another company of the group: the
    licence subscription's row maps that subscription's invoice lines, the tenant's row the
    tenant's other licences."""
    teams = "5e6f7a8b-0004-4c1d-9e2f-3a4b5c6d7e42"
    con = _customer_lines(tmp_path, [INVOICE], f"microsoft,{teams},C002,,,Teams of the group\n")
    tenant_c004 = "SubAccountId = '570032ed-7e4a-4bb0-9409-2afd36814937'"
    assert _by_customer(con, tenant_c004) == {
        "C002": (1, D("1200.00")),
        "C004": (2, D("6739.20") + D("222.00")),
    }
    total = _by_customer(con)
    assert sum(c for _, c in total.values()) == D("21530.84")


@pytest.mark.parametrize(("since", "customer"), [("2026-10-02", "C006"), ("2026-10-03", "C007")])
def test_a_licence_subscription_row_maps_a_credit_on_its_pricing_date(tmp_path, since, customer):
    """A subscription bought on 2 October and cancelled on the 5th: the cancellation gives back
    the charge of the cycle begun on the 2nd and is mapped on that day (its pricing date), as by
    a tenant's row. A subscription row from the 3rd leaves both with the tenant's customer (C007):
    the credit goes where the charge went, not to the customer of its own date."""
    sub = "c7d8e9f0-0007-4a1b-8c2d-3e4f5a6b7c71"
    con = _customer_lines(tmp_path, [INVOICE], f"microsoft,{sub},C006,{since},,\n")
    got = con.execute(
        "SELECT x_VendorChargeType, x_CustomerId, BilledCost FROM customer_lines "
        f"WHERE x_SubscriptionId = '{sub}' ORDER BY 1"
    ).fetchall()
    assert got == [
        ("cancelImmediate", customer, D("-167.40")),
        ("new", customer, D("185.40")),
    ]


def test_an_azure_subscription_row_wins_over_its_tenants_in_the_partner_cost_export(tmp_path):
    """The partner's (MPA) cost export keys its lines by the tenant; the row of one of its
    subscriptions maps that subscription's usage and purchases."""
    sub = "a7e19c3d-5b2f-4e08-8c6d-1f3e5a7b9c02"
    con = _customer_lines(tmp_path, [MPA], f"microsoft,{sub},C001,,,\n")
    moved = _file_rows(MPA, lambda r: r["SubscriptionId"].lower() == sub)
    got = _by_customer(con)
    assert got["C001"] == moved
    assert moved[0] == 4
    assert set(got) == {"C001", "C002"}
    assert sum(c for _, c in got.values()) == _file_rows(MPA, lambda r: True)[1]


def test_a_row_without_a_product_name_is_refused_with_row_and_column(tmp_path):
    """Rows 3 and 4 with SkuName and ProductName emptied (row 4: cells of spaces). Their
    invoice lines read "CFQ7TTC0LCHC:0002", the SKU id, where a customer reads the product's name
    (and a name of spaces, a line of no text). Microsoft prints both names on every line."""

    def edit(number: int, row: dict) -> None:
        if number in (3, 4):
            blank = "" if number == 3 else "   "
            row["SkuName"] = row["ProductName"] = blank

    bad = _rewritten(INVOICE, tmp_path / "no-names.csv", edit)
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    assert [(p.row, p.column) for p in err.value.problems] == [
        (3, "ProductName"),
        (4, "ProductName"),
    ]
    assert "the product's name" in str(err.value)


def test_a_name_of_spaces_gives_way_to_the_other_name(tmp_path):
    """Row 2's SkuName of spaces and row 3's ProductName of spaces: each line is named by its
    other name, not by blanks (an invoice line of no text)."""

    def edit(number: int, row: dict) -> None:
        if number == 2:
            row["SkuName"] = "  "
        if number == 3:
            row["ProductName"] = "  "

    con, _ = _import(_rewritten(INVOICE, tmp_path / "spaces.csv", edit))
    names = con.execute(
        "SELECT x_SourceRow, ChargeDescription, ServiceName FROM lines "
        "WHERE x_SourceRow IN (2, 3) ORDER BY x_SourceRow"
    ).fetchall()
    assert names == [
        (2, "Microsoft 365 Business Premium", "Microsoft 365 Business Premium"),
        (3, "Microsoft 365 Business Premium", "Microsoft 365 Business Premium"),
    ]


def test_a_licence_quantity_that_is_not_whole_is_refused_with_row_and_column(tmp_path):
    """Row 3 adds 3 seats on 20 Oct for 23 of 31 days; with its Quantity and BillableQuantity
    both the prorated 2.225806, the list cost was prorated by the days a second time (34.02, not
    45.85) and a seat price billed 2.225806 seats for 23 days. Microsoft counts licences in whole
    seats (a file prorating BillableQuantity keeps Quantity whole); usage rows keep decimals."""

    def edit(number: int, row: dict) -> None:
        if number == 3:
            row["Quantity"] = row["BillableQuantity"] = "2.225806"

    bad = _rewritten(INVOICE, tmp_path / "part-seats.csv", edit)
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(3, "Quantity", "2.225806")]
    assert "whole number of licences" in str(err.value)


def test_a_daily_usage_row_without_a_meter_category_is_named_by_its_product(tmp_path):
    """Row 2 (a D4s v5 virtual machine) with MeterCategory empty, row 3 with only spaces: their
    invoice line read "Microsoft – vm-tms-app01", the vendor for the product, though the row
    names it in ProductName (Virtual Machines)."""

    def edit(number: int, row: dict) -> None:
        if number in (2, 3):
            row["MeterCategory"] = "" if number == 2 else "  "

    con, _ = _import(_rewritten(USAGE, tmp_path / "no-category.csv", edit))
    names = con.execute(
        "SELECT x_SourceRow, ServiceName FROM lines WHERE x_SourceRow IN (2, 3) ORDER BY 1"
    ).fetchall()
    with open(USAGE, newline="", encoding="utf-8") as fh:
        products = [r["ProductName"] for r in csv.DictReader(fh)][:2]
    assert names == [(2, products[0]), (3, products[1])]
    assert products[0] == "Virtual Machines"
