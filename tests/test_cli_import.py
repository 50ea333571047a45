"""`billing import FILE...`: recognises each file, prints its control totals (text or JSON) and the
unmapped accounts; a bad file exits non-zero with the error naming file, row and column."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.cli import main
from tests.console_scripts import BILLING
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


def test_rows_the_import_lists_are_printed_as_warnings(tmp_path, capsys):
    """A VMware row whose Billable Points are not its units x points per unit imports, and its
    warning is printed under its report's totals (and given in the JSON output)."""
    text = VMWARE.read_text(encoding="utf-8").replace(",42,2,84,", ",42,2,80,", 1)
    edited = tmp_path / VMWARE.name
    edited.write_text(text, encoding="utf-8")
    assert main(["import", str(edited), "--parameters", PARAMETERS]) == 0
    out = capsys.readouterr().out
    assert (
        "  warning: row 2, columns 'Billable Points', 'Units to be Reported', 'Points per Unit': "
        "Billable Points 80 are not Units to be Reported 42 x Points per Unit 2 = 84;" in out
    )
    assert main(["import", "--json", str(edited), "--parameters", PARAMETERS]) == 0
    [report] = json.loads(capsys.readouterr().out)["files"]
    assert [w[:6] for w in report["warnings"]] == ["row 2,"]


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


def test_a_parameters_file_given_for_the_parameters_folder_is_refused_naming_its_folder(capsys):
    """``--parameters parameters/customers.yaml`` was refused as "no such parameters folder", as
    if nothing were there: it is a file, and the folder holding it is named."""
    given = REPO / "parameters" / "customers.yaml"
    assert main(["import", str(VMWARE), "--parameters", str(given)]) == 2
    assert capsys.readouterr().err == (
        f"error: billing import, entry --parameters: {given}: a file, not a folder; expected the "
        f"parameters folder (holding customers.yaml, price_plans.yaml, accounts.csv): "
        f"{given.parent}?\n"
    )


def test_the_reports_folder_given_for_the_parameters_folder_is_refused(capsys):
    """``--parameters`` given the reports folder was taken as a parameters folder without
    accounts.csv: no account mapped, none listed as unmapped, exit 0. Refused naming it."""
    assert main(["import", str(VMWARE), "--parameters", str(REPORTS)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: billing import, entry --parameters: {REPORTS}: holds vendor "), (
        err
    )
    assert "no parameters file (customers.yaml, price_plans.yaml, accounts.csv)" in err


def test_a_spreadsheet_beside_the_parameters_is_no_report(tmp_path, capsys):
    """A workbook in the folder given for the parameters (a price list, a copy of the reports
    saved from Excel) stopped the import with "a spreadsheet workbook among the reports", naming
    no option: the check for a reports folder given there refused workbooks as a reports folder
    does. A reports folder holding one is still named as such; a folder of a workbook and no
    parameters file is refused for holding none of them."""
    reports = tmp_path / "reports"
    reports.mkdir()
    for report in (VMWARE, INVOICE):
        (reports / report.name).write_bytes(report.read_bytes())
    (reports / "october.xlsx").write_bytes(b"")
    assert main(["import", str(VMWARE), "--parameters", str(reports)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: billing import, entry --parameters: {reports}: holds vendor reports "
        f"({INVOICE.name}, {VMWARE.name}) and no parameters file (customers.yaml, "
        "price_plans.yaml, accounts.csv): is it the reports folder? Give the parameters folder\n"
    )
    prices = tmp_path / "prices"
    prices.mkdir()
    (prices / "prices.xlsx").write_bytes(b"")
    assert main(["import", str(VMWARE), "--parameters", str(prices)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: billing import, entry --parameters: {prices}: holds none of the parameters "
        "files billing import reads"
    ), err
    # beside the parameters files, the workbook changes nothing
    params = _parameters(tmp_path / "params", "customers.yaml", "accounts.csv")
    (params / "prices.xlsx").write_bytes(b"")
    assert main(["import", str(VMWARE), "--parameters", str(params)]) == 0
    assert "unmapped" not in capsys.readouterr().out


FOCUS_WITHOUT_CURRENCY = (
    REPO
    / "tests/data/vendor-samples/focus"
    / "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv"
)


@pytest.mark.parametrize("report", [VMWARE, FOCUS_WITHOUT_CURRENCY], ids=["own", "none"])
def test_a_currency_that_is_no_iso_code_is_refused_naming_the_option(report, capsys):
    """``--currency euro`` was ignored for a report stating its own currency, and blamed on a
    'BillingCurrency' column of rows 2, 4 and 6 of a FOCUS file that has none; refused naming the
    option, as ``billing run --currency euro`` is."""
    assert main(["import", str(report), "--parameters", PARAMETERS, "--currency", "euro"]) == 2
    err = capsys.readouterr().err
    assert "--currency: expected a three-letter ISO 4217 code like EUR" in err, err
    assert "'euro'" in err and "BillingCurrency'" not in err and "Traceback" not in err
    assert main(["import", str(FOCUS_WITHOUT_CURRENCY), "--currency", "eur"]) == 0


def test_a_usage_meter_export_with_no_vendor_prices_in_the_parameters_folder_names_it(
    tmp_path, capsys
):
    # a parameters folder that maps the accounts but holds no contract prices (an empty one is
    # refused before any report is read: the next tests)
    params = _parameters(tmp_path / "params", "customers.yaml", "accounts.csv")
    report = REPO / "tests" / "data" / "vmware-usage" / "customer-monthly-usage-2026-10.tsv"
    args = ["import", str(report), "--parameters", str(params), "--period", "2026-10"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"there is no {params / 'vendor_prices.yaml'}" in err
    assert "parameters/vendor_prices.yaml has none" not in err


INVOICE = REPORTS / "ms-invoice-reconciliation-G052026103.csv"
CONTRACT_PRICES = REPO / "tests" / "data" / "vmware-usage"


def _parameters(folder: Path, *names: str) -> Path:
    """``folder`` made, holding the sample parameters files ``names``."""
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes((REPO / "parameters" / name).read_bytes())
    return folder


def test_an_empty_parameters_folder_is_refused_naming_the_files_expected(tmp_path, capsys):
    """``--parameters`` given an empty folder (the wrong one, or one not filled yet) exited 0:
    the control totals printed, no account mapped and none listed as unmapped, so the analyst
    read "every account is mapped". Refused, naming the folder and the files the import reads."""
    empty = _parameters(tmp_path / "params")
    assert main(["import", str(INVOICE), "--parameters", str(empty)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith(
        f"error: billing import, entry --parameters: {empty}: holds none of the parameters files "
        "billing import reads: customers.yaml and accounts.csv (the vendor accounts' customers) "
        "or vendor_prices.yaml (the contract prices of VMware reports that carry none)"
    ), captured.err


@pytest.mark.parametrize(
    ("present", "missing"),
    [("customers.yaml", "accounts.csv"), ("accounts.csv", "customers.yaml")],
)
def test_a_parameters_folder_with_half_the_account_mapping_is_refused_naming_the_other(
    tmp_path, capsys, present, missing
):
    """customers.yaml without accounts.csv (or the other way round): no account was mapped and
    none listed, exit 0, as if the folder had mapped every one."""
    params = _parameters(tmp_path / "params", present)
    assert main(["import", str(INVOICE), "--parameters", str(params)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith(
        f"error: billing import, entry --parameters: {params}: has {present} but no {missing}; "
        f"expected both (the vendor accounts are mapped to customers by the two): put "
        f"{params / missing} beside it"
    ), captured.err


def test_the_default_parameters_folder_empty_is_refused_naming_it(tmp_path, monkeypatch, capsys):
    """Without ``--parameters`` the import reads ./parameters where there is one: empty, it is
    refused as a given folder is, naming the option left out."""
    _parameters(tmp_path / "parameters")
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(INVOICE)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: billing import, entry --parameters (left out: ./parameters): parameters: holds "
        "none of the parameters files billing import reads"
    ), err


def test_accounts_not_mapped_are_said_so(tmp_path, monkeypatch, capsys):
    """A folder of contract prices only (vendor_prices.yaml beside the reports it prices), or no
    parameters folder at all: the reports are checked and priced, and the output says that no
    account was mapped to a customer, and why, where it listed none as unmapped."""
    args = ["import", str(VMWARE), "--parameters", str(CONTRACT_PRICES)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        f"accounts not mapped to customers: {CONTRACT_PRICES} has no customers.yaml and no "
        "accounts.csv\n"
    ), out
    assert main([*args, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["accounts_not_mapped"] == (
        f"{CONTRACT_PRICES} has no customers.yaml and no accounts.csv"
    )
    assert got["unmapped_accounts"] == []
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(VMWARE)]) == 0
    assert capsys.readouterr().out.endswith(
        "accounts not mapped to customers: no --parameters given, and no ./parameters folder\n"
    )
    assert main(["import", str(VMWARE), "--parameters", PARAMETERS, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accounts_not_mapped"] is None


def _month_zip(path: Path, **members: bytes) -> Path:
    """A month's zip: the VMware report and ``members`` (name -> bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(VMWARE, VMWARE.name)
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _zipped(name: str, data: bytes) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as zf:
        zf.writestr(name, data)
    return packed.getvalue()


def test_a_zipped_cur_inside_the_month_s_zip_is_read(tmp_path, capsys):
    """The month's zip holding the AWS CUR zipped: the command printed the other members and
    exited 0, the CUR (USD 5877.42) not mentioned."""
    month = _month_zip(
        tmp_path / "october.zip", **{"aws/cur.zip": _zipped(CUR2.name, CUR2.read_bytes())}
    )
    assert main(["import", str(month), "--parameters", PARAMETERS]) == 0
    out = capsys.readouterr().out
    assert f"{month}!aws/cur.zip!{CUR2.name}\n  format: AWS Cost and Usage Report 2.0" in out
    assert "USD: 718 rows, cost 5877.4203000041 read" in out
    assert "not read" not in out


def test_members_of_a_zip_not_read_are_printed(tmp_path, capsys):
    month = _month_zip(tmp_path / "october.zip", **{"README.txt": b"notes"})
    assert main(["import", str(month), "--parameters", PARAMETERS]) == 0
    out = capsys.readouterr().out
    assert (
        "not read (files and members of the zips given that are no vendor reports):\n"
        f"  {month}!README.txt: not a vendor report (.txt; the import reads .csv, .csv.gz, .tsv, "
        ".parquet, .zip)\n"
    ) in out
    assert main(["import", "--json", str(month), "--parameters", PARAMETERS]) == 0
    [not_read] = json.loads(capsys.readouterr().out)["not_read"]
    assert not_read["file"] == f"{month}!README.txt"


@pytest.mark.parametrize("member", ["aws/cur-00001.csv.bz2", "azure/usage.7z", "aws/cur.tsv.gz"])
def test_a_member_that_looks_like_a_report_but_is_not_read_exits_non_zero(tmp_path, capsys, member):
    month = _month_zip(tmp_path / "october.zip", **{member: b"BZh91AY&SY", "README.txt": b"x"})
    assert main(["import", str(month), "--parameters", PARAMETERS]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{month}!{member}: looks like a vendor report but is not read" in captured.err
    assert "its charges would be on no invoice" in captured.err
    assert "README.txt" not in captured.err


@pytest.mark.parametrize("member", ["aws/cur-00001.csv.bz2", "azure/usage.7z", "aws/cur.tsv.gz"])
def test_billing_run_refuses_a_member_that_looks_like_a_report_as_billing_import_does(
    tmp_path, capsys, member
):
    """`billing run` listed such a member among its warnings only and billed the month without
    its charges; it now refuses it before reading anything, naming the zip and the member."""
    reports = tmp_path / "reports"
    reports.mkdir()
    _month_zip(reports / "october.zip", **{member: b"BZh91AY&SY", "README.txt": b"x"})
    out = tmp_path / "outputs"
    run = ["run", "--period", "2026-10", "--reports", str(reports), "--parameters", PARAMETERS]
    assert main([*run, "--output", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    shown = f"{reports / 'october.zip'}!{member}"
    assert f"{shown}: looks like a vendor report but is not read" in captured.err
    assert "its charges would be on no invoice" in captured.err
    assert "README.txt" not in captured.err
    assert not out.exists()


def test_billing_run_refuses_a_file_of_the_folder_that_looks_like_a_report(tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / VMWARE.name).write_bytes(VMWARE.read_bytes())
    (reports / "cur-00001.csv.bz2").write_bytes(b"BZh91AY&SY")
    (reports / "notes.txt").write_text("a file that is no report is listed, not refused")
    run = ["run", "--period", "2026-10", "--reports", str(reports), "--parameters", PARAMETERS]
    assert main([*run, "--output", str(tmp_path / "outputs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{reports / 'cur-00001.csv.bz2'}: looks like a vendor report but is not read" in err
    assert "notes.txt" not in err


def test_files_given_that_are_no_vendor_reports_are_listed_as_in_a_folder(tmp_path, capsys):
    """`billing import <folder>/*` over a month holding a JSON file and notes: a legacy CUR
    manifest (.json) was sniffed as a report and the command failed with 'unknown format ...
    found columns: ["{\\"reportKeys\\"...'; a subfolder failed it ('is a folder'). Files of an
    ending the import does not read and folders are listed as not read, as a run lists them in
    a folder (or a zip), and the reports are read. A delivery's manifest (`-Manifest.json`) is
    read as one: given without the data files it lists, it names them."""
    (tmp_path / VMWARE.name).write_bytes(VMWARE.read_bytes())
    manifest = tmp_path / "export-settings.json"
    manifest.write_text('{"format": "csv"}')
    (tmp_path / "notes.txt").write_text("a note")
    (tmp_path / "platform").mkdir()  # the platforms' exports (docs/monthly-close.md)
    files = sorted(str(p) for p in tmp_path.iterdir())
    assert main(["import", *files, "--parameters", PARAMETERS]) == 0
    out = capsys.readouterr().out
    assert "EUR: 14 rows, cost 5574.096 read" in out
    assert (
        f"  {manifest}: not a vendor report (.json; the import reads .csv, .csv.gz, .tsv, "
        ".parquet, .zip)\n"
    ) in out
    assert f"{tmp_path / 'notes.txt'}: not a vendor report (.txt;" in out
    assert f"{tmp_path / 'platform'}: a folder: the import reads files" in out
    # none of the files a report: an error naming them, not a success that imported nothing
    assert main(["import", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert f"{manifest}: not a vendor report (.json;" in err
    cur = tmp_path / "cur-Manifest.json"
    cur.write_text('{"reportKeys": ["cur/20261001-20261101/a1/cur-1.csv.gz"]}')
    assert main(["import", str(cur), str(tmp_path / VMWARE.name)]) == 2
    err = capsys.readouterr().err
    assert f"{cur}: 1 of the 1 data files it lists are not among the reports (cur-1.csv.gz)" in err
    cur.unlink()
    # one that looks like a report the import cannot open is refused, as in a zip or a folder
    packed = tmp_path / "cur-00001.csv.bz2"
    packed.write_bytes(b"BZh91AY&SY")
    assert main(["import", str(packed), str(tmp_path / VMWARE.name)]) == 2
    assert f"{packed}: looks like a vendor report but is not read" in capsys.readouterr().err


DAILY = REPORTS / "ms-daily-rated-usage-G052026103.csv"


def _saved_as_text(report: Path) -> bytes:
    """``report`` as Excel saves it as "Unicode Text (*.txt)": UTF-16 LE with a BOM, tabs, CRLF."""
    rows = report.read_text(encoding="utf-8").splitlines()
    text = "\r\n".join(
        "\t".join(next(csv.reader([row]))) for row in rows
    )  # the same values, separated by tabs
    return codecs.BOM_UTF16_LE + (text + "\r\n").encode("utf-16-le")


@pytest.mark.parametrize(
    "name, data",
    [
        ("ms-daily-rated-usage-G052026103.txt", _saved_as_text(DAILY)),  # Excel's Unicode Text
        ("ms-daily-rated-usage-G052026103.dat", DAILY.read_bytes()),  # the CSV under a .dat
    ],
)
def test_billing_run_refuses_a_report_saved_under_another_ending_by_its_header(
    tmp_path, capsys, name, data
):
    """A month's Partner Center daily usage saved from Excel as "Unicode Text" (a .txt) in the
    reports folder was listed among the run's warnings only ("not a vendor report (.txt; ...)"),
    and the month published with its EUR 900.52 of Azure usage on no invoice. A file the import
    does not read whose first line is a vendor report's header is refused, as a `cur.csv.bz2`
    is; a text file that is no report is still only listed."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / VMWARE.name).write_bytes(VMWARE.read_bytes())
    (reports / name).write_bytes(data)
    (reports / "notes.txt").write_text("a file that is no report is listed, not refused")
    run = ["run", "--period", "2026-10", "--reports", str(reports), "--parameters", PARAMETERS]
    assert main([*run, "--output", str(tmp_path / "outputs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{reports / name}: looks like a vendor report but is not read" in err
    assert "Microsoft Partner Center new-commerce daily rated usage" in err
    assert "its charges would be on no invoice" in err
    assert "notes.txt" not in err
    assert not (tmp_path / "outputs").exists()
    # billing import given it beside a report, and in a zip, likewise
    assert main(["import", str(reports / name), str(VMWARE), "--parameters", PARAMETERS]) == 2
    assert (
        f"{reports / name}: looks like a vendor report but is not read" in capsys.readouterr().err
    )
    month = _month_zip(tmp_path / "october.zip", **{f"azure/{name}": data, "README.txt": b"x"})
    assert main(["import", str(month), "--parameters", PARAMETERS]) == 2
    err = capsys.readouterr().err
    assert f"{month}!azure/{name}: looks like a vendor report but is not read" in err
    assert "README.txt" not in err


def test_output_piped_into_a_reader_that_stopped_ends_without_a_traceback():
    """``billing import ... | head -1``: once the reader has closed the pipe, the command ended
    in a BrokenPipeError traceback (or "Exception ignored ... BrokenPipeError" at its exit); it
    now ends quietly with 141 (128 + SIGPIPE), as a shell reports a command a closed pipe
    stopped. The pipe's reading end is closed before the command writes, so it always fails."""
    reports = sorted(str(p) for p in (REPO / "samples" / "2026-10" / "reports").iterdir())
    read, write = os.pipe()
    os.close(read)
    try:
        command = subprocess.run(
            [BILLING, "import", *reports],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write)
    assert "Traceback" not in command.stderr and "BrokenPipe" not in command.stderr
    assert command.returncode == 141, command.stderr


def test_output_into_a_full_disk_is_named_without_a_traceback():
    """``billing import ... > report.txt`` on a full disk (here /dev/full): the command ended in
    an ``OSError: [Errno 28] No space left on device`` traceback naming no file. Now one line
    naming the standard output and the fault, exit status 2."""
    reports = sorted(str(p) for p in REPORTS.iterdir())
    with open(os.devnull if not Path("/dev/full").exists() else "/dev/full", "w") as full:
        command = subprocess.run(
            [BILLING, "import", *reports], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert "Traceback" not in command.stderr, command.stderr
    assert command.stderr.startswith(
        "error: the standard output could not be written: the disk is full"
    ), command.stderr
    assert len(command.stderr.splitlines()) == 1, command.stderr
    assert command.returncode == 2


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_name_the_terminal_encoding_cannot_show_is_printed_escaped(tmp_path, encoding):
    """``billing import Zürich-€.csv`` with an ASCII or Latin-1 standard output
    (``PYTHONIOENCODING``, an old terminal, a scheduler's log): the report was cut off by a
    UnicodeEncodeError traceback. The character is shown escaped, the rest as it is."""
    report = tmp_path / "Zürich-€.csv"
    shutil.copyfile(REPORTS / "ms-daily-rated-usage-G052026103.csv", report)
    command = subprocess.run(
        [BILLING, "import", str(report)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": encoding},
        check=False,
    )
    err = command.stderr.decode(encoding)
    assert "Traceback" not in err and command.returncode == 0, err
    out = command.stdout.decode(encoding)
    assert "-\\u20ac.csv" in out and "248 lines" in out, out


def test_a_closed_standard_output_is_refused_before_anything_is_done(tmp_path):
    """``billing import ... >&-`` (a cron line's output closed): the command ran, its report went
    nowhere, and it ended in an ``AttributeError: 'NoneType' object has no attribute 'flush'``
    traceback. Refused before anything is read, saying where to send the report."""
    reports = sorted(str(p) for p in REPORTS.iterdir())
    command = subprocess.run(
        [BILLING, "import", *reports],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=lambda: os.close(1),
    )
    assert "Traceback" not in command.stderr, command.stderr
    assert command.stderr.startswith("error: the standard output is closed"), command.stderr
    assert len(command.stderr.splitlines()) == 1, command.stderr
    assert command.returncode == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--period", "26-10", "expected a month as YYYY-MM"),
        ("--issue-date", "2026-02-30", "expected YYYY-MM-DD or empty; got '2026-02-30'"),
        ("--issue-date", "2026-10-15", "2026-10-15 is before the end of 2026-10"),
        ("--currency", "EURO", "expected a three-letter ISO 4217 code"),
        # the reports folder given for the parameters: "customers.yaml: file not found" in cell 4
        ("--parameters", str(REPORTS), f"{REPORTS}: holds vendor reports ("),
    ],
)
def test_billing_run_names_the_option_given_wrong(tmp_path, capsys, option, value, expected):
    """`billing run --period 26-10` said "billing_run parameters, entry period": the notebook's
    parameter, not the option typed (`billing finalise --period 26-10` names its option). The
    command names its option; the notebook its parameter, as before."""
    given = {"--period": "2026-10", "--reports": str(REPORTS), "--parameters": PARAMETERS}
    given[option] = value
    argv = [a for pair in given.items() for a in pair]
    assert main(["run", *argv, "--output", str(tmp_path / "outputs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: billing run, entry {option}: {expected}"), err
    assert not (tmp_path / "outputs").exists()
