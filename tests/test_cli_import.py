"""`billing import FILE...`: recognises each file, prints its control totals (text or JSON) and the
unmapped accounts; a bad file exits non-zero with the error naming file, row and column."""

from __future__ import annotations

import json
from decimal import Decimal

from billing_lib.cli import main
from tests.notebook_project import REPO

REPORTS = REPO / "samples" / "2026-10" / "reports"
VMWARE = REPORTS / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
CUR2 = REPORTS / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
PARAMETERS = str(REPO / "parameters")


def test_text_output_has_format_rows_cost_per_currency_and_category(capsys):
    assert main(["import", str(VMWARE), "--parameters", PARAMETERS]) == 0
    out = capsys.readouterr().out
    assert (
        "format: VMware Cloud Provider Program usage meter monthly usage (vmware_usage_meter)"
        in out
    )
    assert "EUR: 14 rows, cost 5574.096 read; 14 lines, cost 5574.096 normalised [ok]" in out
    assert "Usage: 14 lines (EUR 5574.096)" in out
    assert "unmapped" not in out  # every VMware label of the sample month is mapped


def test_json_output_and_the_unmapped_account(capsys):
    assert main(["import", "--json", str(CUR2), str(VMWARE), "--parameters", PARAMETERS]) == 0
    out = json.loads(capsys.readouterr().out)
    [aws, vmware] = out["files"]
    assert (aws["format"], aws["rows"], aws["balanced"]) == ("aws_cur2", 718, True)
    assert (
        Decimal(aws["currencies"][0]["cost_before"])
        == Decimal(aws["currencies"][0]["cost_after"])
        == Decimal("5877.4203000041")
    )
    assert aws["lines_per_category"] == {"Credit": 2, "Purchase": 2, "Tax": 1, "Usage": 713}
    assert vmware["format"] == "vmware_usage_meter"
    [unmapped] = out["unmapped_accounts"]
    assert (unmapped["vendor"], unmapped["account_id"], unmapped["lines"]) == (
        "aws",
        "285396417058",
        62,
    )


def test_a_bad_file_exits_non_zero_naming_file_row_and_column(tmp_path, capsys):
    bad = tmp_path / "vmware.csv"
    lines = VMWARE.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("Billable Points")] = "12,5".replace(",", ";")  # not a number
    bad.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n", encoding="utf-8")
    assert main(["import", str(bad), "--parameters", PARAMETERS]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        str(bad) in captured.err and "row 2" in captured.err and "Billable Points" in captured.err
    )


def test_an_unknown_file_lists_the_expected_and_found_columns(tmp_path, capsys):
    odd = tmp_path / "odd.csv"
    odd.write_text("Foo,Bar\n1,2\n", encoding="utf-8")
    assert main(["import", str(odd)]) == 2
    err = capsys.readouterr().err
    assert str(odd) in err and "Foo" in err and "vmware_usage_meter" in err


def test_a_usage_meter_export_priced_from_the_parameters_folder(tmp_path, capsys):
    """A tab-separated Usage Meter report without prices: the contract prices come from the
    --parameters folder's vendor_prices.yaml, the month from --period."""
    data = REPO / "tests" / "data" / "vmware-usage"
    report = tmp_path / "usage.tsv"
    report.write_bytes((data / "customer-monthly-usage-2026-10.tsv").read_bytes())
    args = ["import", str(report), "--parameters", str(data)]
    assert main(args) == 2
    assert "names no month" in capsys.readouterr().err
    assert main([*args, "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "(vmware_usage_meter_report)" in out
    assert "EUR: 14 rows, cost 5574.096 read; 14 lines, cost 5574.096 normalised [ok]" in out


def test_a_parameters_folder_that_does_not_exist_is_refused(tmp_path, capsys):
    """``--parameters nothere`` was ignored: no contract prices (blamed on
    parameters/vendor_prices.yaml) and no unmapped accounts listed. Refused naming it."""
    missing = tmp_path / "nothere"
    assert main(["import", str(VMWARE), "--parameters", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: no such parameters folder" in err and "Traceback" not in err


def test_a_usage_meter_export_with_no_vendor_prices_in_the_parameters_folder_names_it(
    tmp_path, capsys
):
    params = tmp_path / "params"
    params.mkdir()
    report = REPO / "tests" / "data" / "vmware-usage" / "customer-monthly-usage-2026-10.tsv"
    args = ["import", str(report), "--parameters", str(params), "--period", "2026-10"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"there is no {params / 'vendor_prices.yaml'}" in err
    assert "parameters/vendor_prices.yaml has none" not in err
