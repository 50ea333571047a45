"""A VMware usage report of another month than the run's: refused naming the file's own column
the month is read from (Usage Meter's Month, the billing API's Billable Usage Timestamp), not
the line model's BillingPeriodStart or ChargePeriodStart, which no report has. Each report is
built here; the contract is tests/data/vmware-usage's."""

from __future__ import annotations

from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

DATA = Path(__file__).resolve().parent / "data" / "vmware-usage"
HEADER = "Month,Usage Meter,Customer Label,Product,Unit of Measure,Units to be Reported"


@pytest.fixture(scope="module")
def prices():
    return load_vendor_prices(DATA)


def _refused(path: Path, prices, period: str = "2026-10") -> InputError:
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path], vendor_prices=prices, period=period)
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    return err.value


def test_a_usage_meter_row_of_the_month_before_names_the_month_column(prices, tmp_path):
    """September's row pasted above October's: row 2, the Month column."""
    path = tmp_path / "usage-meter.csv"
    path.write_text(
        f"{HEADER}\n"
        "2026-09,um-ams,acme,Flex Core - Standard,Core,10\n"
        "2026-10,um-ams,acme,Flex Core - Standard,Core,12\n"
    )
    err = _refused(path, prices)
    assert [(p.row, p.column) for p in err.problems] == [(2, "BillingPeriodStart (from 'Month')")]


def test_a_usage_meter_report_of_another_month_names_the_month_column(prices, tmp_path):
    """A report of September alone in October's run: each row, by its Month column."""
    path = tmp_path / "usage-meter.csv"
    path.write_text(
        f"{HEADER}\n"
        "2026-09,um-ams,acme,Flex Core - Standard,Core,10\n"
        "2026-09,um-rtm,acme,vSAN Standard,TiB used,2\n"
    )
    err = _refused(path, prices)
    assert "no line is charged in the run's period 2026-10" in str(err)
    assert [(p.row, p.column) for p in err.problems] == [
        (2, "ChargePeriodStart (from 'Month')"),
        (3, "ChargePeriodStart (from 'Month')"),
    ]


def test_a_billing_api_hour_of_the_month_before_names_its_timestamp_column(prices, tmp_path):
    """The billing API's month is its hour's: a September hour in October's download."""
    path = tmp_path / "billing-api.csv"
    path.write_text(
        "Org Id,Org Name,Sku Name,Billable Usage Timestamp,Billable Qty\n"
        "org-1,Acme,VCF-CLD-FDN-5,2026-09-30 23:00:00,64\n"
        "org-1,Acme,VCF-CLD-FDN-5,2026-10-01 00:00:00,64\n"
    )
    err = _refused(path, prices)
    assert [(p.row, p.column) for p in err.problems] == [
        (2, "BillingPeriodStart (from 'Billable Usage Timestamp')")
    ]
