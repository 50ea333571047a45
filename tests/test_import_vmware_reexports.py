"""A VMware usage report re-exported by hand: a spreadsheet's number formats (thousands
separators, decimal commas) and two exports pasted into one file (the header row again between
them). Refused naming file, row and column, and saying what the value is and what was expected,
not only that it is no number. Each report is built here; the contract is
tests/data/vmware-usage's."""

from __future__ import annotations

from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

DATA = Path(__file__).resolve().parent / "data" / "vmware-usage"
HEADER = "Usage Meter\tCustomer Label\tProduct\tUnit of Measure\tUnits to be Reported"


@pytest.fixture(scope="module")
def prices():
    return load_vendor_prices(DATA)


def _refused(path: Path, prices) -> InputError:
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path], vendor_prices=prices, period="2026-10")
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    return err.value


@pytest.mark.parametrize("units", ["1,234.5", "1.234,5", "18,5", "1,024"])
def test_units_in_a_spreadsheet_s_number_format_are_named_as_such(prices, tmp_path, units):
    path = tmp_path / "usage-meter-2026-10.tsv"
    path.write_text(f"{HEADER}\num-ams\tacme\tFlex Core - Standard\tCore\t{units}\n")
    err = _refused(path, prices)
    [problem] = err.problems
    assert (problem.row, problem.column, problem.value) == (2, "Units to be Reported", units)
    assert problem.expected == (
        "a decimal number with a point before its decimals and no thousands separators (e.g. "
        "1234.5): a number in a spreadsheet's format (a decimal comma or digit grouping), the "
        "report saved again? Export it again as the vendor writes it"
    )


def test_the_header_row_again_inside_the_report_is_named_as_such(prices, tmp_path):
    """Two sites' Customer Monthly Usage reports pasted into one file: the second's header is row
    3, named as the header again, not only as no number."""
    path = tmp_path / "usage-meter-2026-10.tsv"
    path.write_text(
        f"{HEADER}\num-ams\tacme\tFlex Core - Standard\tCore\t12\n"
        f"{HEADER}\num-rtm\tacme\tvSAN Standard\tTiB used\t2\n"
    )
    err = _refused(path, prices)
    [problem] = err.problems
    assert (problem.row, problem.column, problem.value) == (
        3,
        "Units to be Reported",
        "Units to be Reported",
    )
    assert problem.expected == (
        "a decimal number (e.g. 12.34 or 1.5E-8), not the column's name: the row repeats the "
        "header (reports pasted into one file?); delete it, or give each report as its own file"
    )


def test_an_hourly_report_s_header_again_names_its_hour_column_too(prices, tmp_path):
    """The console's Hourly Usage Report of two downloads pasted together: the hour's column as
    well as the quantity's."""
    header = "Product,SKU,Usage Hour,License Key,Quantity,Unit of Measurement"
    row = "VMware Cloud Foundation,VCF-CLD-FDN-5,2026-10-01 00:00:00,KEY-1,64,Core"
    path = tmp_path / "hourly-usage-2026-10.csv"
    path.write_text(f"{header}\n{row}\n{header}\n{row.replace('00:00:00', '01:00:00')}\n")
    err = _refused(path, prices)
    assert sorted((p.row, p.column) for p in err.problems) == [(3, "Quantity"), (3, "Usage Hour")]
    assert all(
        "not the column's name: the row repeats the header" in p.expected for p in err.problems
    )
