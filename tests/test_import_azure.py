"""The real Azure EA actual-cost sample: BOM, MM/DD/YYYY dates, tag text, reservation lines."""

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests.sample_totals import SAMPLES, expected, own_totals, report_totals

EA = SAMPLES / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
MPA = (
    Path(__file__).resolve().parent / "data" / "azure-cost-details" / "mpa-actual-cost-2026-10.csv"
)


def test_ea_sample_imports_with_its_own_totals():
    con = open_store()
    [report] = import_reports(con, [EA])
    assert report.format == "azure_cost_export"
    own = own_totals(EA, "Cost", lambda r: r["BillingCurrency"], lambda r: r["ChargeType"])
    assert report_totals(report) == own == expected(EA.stem)
    n, billed = con.execute("SELECT count(*), sum(BilledCost) FROM lines").fetchone()
    assert n == 11 and format(billed, "f") == own["cost_per_currency"]["USD"]


def test_ea_mapping_subscription_dates_tags():
    con = open_store()
    import_reports(con, [EA])
    rows = con.execute(
        "SELECT x_SourceRow, SubAccountId, x_Vendor, ChargeCategory, ChargeFrequency, "
        "ChargePeriodStart, ChargePeriodEnd, BillingPeriodEnd, Tags, BilledCost, EffectiveCost "
        "FROM lines ORDER BY 1"
    ).fetchall()
    first = rows[0]  # the reservation purchase
    assert first[:5] == (
        2,
        "1caaa5a3-2b66-438e-8ab4-bce37d518c5d",
        "microsoft",
        "Purchase",
        "Recurring",
    )
    assert (str(first[5]), str(first[6]), str(first[7])) == (
        "2023-09-21 00:00:00",
        "2023-09-22 00:00:00",
        "2023-10-01 00:00:00",
    )
    assert json.loads(rows[1][8]) == {
        "CostCenter": "1234",
        "env": "prod",
        "org": "trey",
        "application": "databricks",
        "databricks-environment": "true",
    }
    assert rows[3][8] is None  # no tags
    assert all(r[9] == r[10] for r in rows)  # actual cost: effective = billed
    assert {r[3] for r in rows[1:]} == {"Usage"}


def test_mca_layout_with_lower_case_columns(tmp_path):
    path = tmp_path / "mca-actual.csv"
    path.write_text(
        "invoiceId,billingAccountId,billingProfileId,billingPeriodStartDate,billingPeriodEndDate,date,"
        "SubscriptionId,subscriptionName,meterCategory,meterId,ProductName,chargeType,frequency,quantity,"
        "unitOfMeasure,effectivePrice,unitPrice,PayGPrice,billingCurrency,costInBillingCurrency,"
        "paygCostInBillingCurrency,pricingModel,tags,publisherName\n"
        "G123,ba1,bp1,2024-05-01,2024-05-31,2024-05-03,"
        "AAAA-1111,Prod,Virtual Machines,m1,D2s v3,Usage,"
        'UsageBased,24,1 Hour,0.09,0.1,0.1,EUR,2.16,2.4,OnDemand,"{""env"":""prod""}",Microsoft\n'
        "G123,ba1,bp1,2024-05-01,2024-05-31,2024-05-03,"
        "AAAA-1111,Prod,Virtual Machines,m1,Refund,Refund,"
        "OneTime,1,1 Hour,,,,EUR,-5.5,,OnDemand,,Microsoft\n",
        encoding="utf-8",
    )
    con = open_store()
    [report] = import_reports(con, [path])
    assert report.format == "azure_cost_export"
    assert report_totals(report)["cost_per_currency"] == {"EUR": "-3.340000000000"}
    rows = con.execute(
        "SELECT SubAccountId, ChargeCategory, ListCost, ContractedCost, Tags, InvoiceId "
        "FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert rows[0] == (
        "aaaa-1111",
        "Usage",
        Decimal("2.4"),
        Decimal("2.4"),
        '{"env":"prod"}',
        "G123",
    )
    assert rows[1][1] == "Credit"


def _with_times(src, dest, date_columns, suffix):
    """``src`` with ``suffix`` (a time) after each value of ``date_columns``."""
    import csv

    with open(src, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    at = [rows[0].index(c) for c in date_columns]
    for row in rows[1:]:
        for i in at:
            row[i] += suffix
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return dest


def _dated_lines(path):
    con = open_store()
    import_reports(con, [path])
    return con.execute(
        "SELECT x_SourceRow, ChargePeriodStart, ChargePeriodEnd, BillingPeriodStart, "
        "BillingPeriodEnd, BilledCost FROM lines ORDER BY 1"
    ).fetchall()


@pytest.mark.parametrize(
    "suffix", [" 00:00:00", " 12:00:00 AM", " 11:59:59 PM", " 0:00", " 12:00 AM", " 23:59"]
)
def test_a_time_after_the_us_date_is_dropped(tmp_path, suffix):
    """Cost-details exports (EA/MCA and partner) whose dates carry a time, as the legacy usage
    downloads and many tools write them: the day is kept, the time dropped, as documented. Excel
    (US locale) saves such a file again with the time in hours and minutes (09/30/2023 0:00, or
    12:00 AM): refused as no date before."""
    ea = _with_times(
        EA, tmp_path / "ea.csv", ["Date", "BillingPeriodStartDate", "BillingPeriodEndDate"], suffix
    )
    assert _dated_lines(ea) == _dated_lines(EA)
    dates = ["date", "billingPeriodStartDate", "billingPeriodEndDate"]
    mpa = _with_times(MPA, tmp_path / "mpa.csv", dates, suffix)
    assert _dated_lines(mpa) == _dated_lines(MPA)


MCA = MPA.parent / "mca-actual-cost-2026-10.csv"


def _iso_dates_saved_day_first(src: Path, dest: Path, column: str, rows: int) -> Path:
    """``src``'s first ``rows`` rows with the ISO dates of ``column`` as a spreadsheet in a
    day-first locale (UK, NL) saves them again: 2026-10-01 becomes 01/10/2026. Its MM/DD/YYYY
    billing period dates stay as they are (10/31/2026 is no date there; 10/01/2026 reads 10
    January and is written back the same)."""
    with open(src, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))[: rows + 1]
    at = table[0].index(column)
    for row in table[1:]:
        if "-" in row[at]:
            year, month, day = row[at].split("-")
        else:  # a partner export's month first date, as an ISO export of it would be saved
            month, day, year = row[at].split("/")
        row[at] = f"{day}/{month}/{year}"
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(table)
    return dest


def test_a_date_saved_day_first_by_a_spreadsheet_is_refused_not_read_as_another_month(tmp_path):
    """The MCA export writes `date` as ISO (2026-10-01), its billing period month first
    (10/01/2026, 10/31/2026). Saved again by Excel in a UK or Dutch locale, 1, 3 and 9 October
    become 01/10/2026, 03/10/2026 and 09/10/2026, read month first as 10 January, 10 March and
    10 September: each line charged outside its own billing period, without a word (the run
    then billed them as other months' charges, or found no line of October)."""
    path = _iso_dates_saved_day_first(MCA, tmp_path / "mca.csv", "date", 3)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (2, "Date", "01/10/2026"),
        (3, "Date", "03/10/2026"),
        (4, "Date", "09/10/2026"),
    ]
    assert "2026-10-01 to 2026-10-31" in err.value.problems[0].expected
    assert "read day first it is 2026-10-01" in err.value.problems[0].expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    # the partner layout alike (2 October read as 10 February); 10/10 reads the same either way
    path = _iso_dates_saved_day_first(MPA, tmp_path / "mpa.csv", "date", 4)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (2, "date", "01/10/2026"),
        (3, "date", "01/10/2026"),
        (4, "date", "02/10/2026"),
        (5, "date", "02/10/2026"),
    ]
    # a late charge of 10 September on October's bill, in a file of October's days (20 October
    # read month first inside its period): read as written
    with open(MPA, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    table[1][table[0].index("date")] = "09/10/2026"
    with open(tmp_path / "late.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(table)
    [report] = import_reports(con := open_store(), [tmp_path / "late.csv"])
    assert con.execute("SELECT ChargePeriodStart FROM lines WHERE x_SourceRow = 2").fetchone()[
        0
    ].date() == date(2026, 9, 10)
