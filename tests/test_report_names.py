"""billing_lib.importers.report_names: a reports folder's lock files and macOS metadata are skipped
(a zip made by macOS imports), a spreadsheet workbook is refused rather than left off the
invoices, and everything else that is not read is named among the run's warnings."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from billing_lib import run
from billing_lib.errors import InputError
from billing_lib.importers import files_not_read, import_reports, report_files
from billing_lib.store import open_store

REPO = Path(__file__).resolve().parents[1]
SAMPLE_REPORTS = REPO / "samples" / "2026-10" / "reports"
RECONCILIATION = "ms-invoice-reconciliation-G052026103.csv"
#: The first bytes of an AppleDouble file, as macOS writes them beside a copied file.
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02"


def test_files_left_by_programs_are_skipped_and_the_reports_kept_in_name_order(tmp_path):
    (tmp_path / "b.csv").write_text("x\n")
    (tmp_path / "a.parquet").write_bytes(b"")
    (tmp_path / "~$b.csv").write_bytes(b"\x05analyst")
    (tmp_path / "~$notes.xlsx").write_bytes(b"\x05analyst")
    (tmp_path / "._b.csv").write_bytes(APPLE_DOUBLE)
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "Thumbs.db").write_bytes(b"\xd0\xcf")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / ".git").mkdir()  # a reports folder kept in git
    (tmp_path / ".gitignore").write_text("*.tmp\n")
    assert report_files(tmp_path) == [tmp_path / "a.parquet", tmp_path / "b.csv"]
    assert files_not_read(tmp_path) == []


def test_what_else_is_not_read_is_named_with_its_reason(tmp_path):
    (tmp_path / "aws.csv").write_text("x\n")
    (tmp_path / "vendor-invoice.pdf").write_bytes(b"%PDF-1.7")
    (tmp_path / "README").write_text("notes")
    (tmp_path / "september").mkdir()
    (tmp_path / "platform").mkdir()  # the platforms' exports: read by the review and the sync
    with zipfile.ZipFile(tmp_path / "ms.zip", "w") as zf:
        zf.writestr("usage.csv", "x\n")
        zf.writestr("summary.json", "{}")
        zf.writestr("__MACOSX/._usage.csv", APPLE_DOUBLE)
    assert files_not_read(tmp_path) == [
        (
            "README",
            "not a vendor report (no ending; the import reads .csv, .csv.gz, .tsv, .parquet, .zip)",
        ),
        (
            "ms.zip!summary.json",
            "not a vendor report (.json; the import reads .csv, .csv.gz, .tsv, .parquet, .zip)",
        ),
        ("september", "a subfolder: the reports are read from the folder itself"),
        (
            "vendor-invoice.pdf",
            "not a vendor report (.pdf; the import reads .csv, .csv.gz, .tsv, .parquet, .zip)",
        ),
    ]


def test_the_members_of_a_zip_in_a_zip_not_read_are_named(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("cur.csv", "x\n")
        zf.writestr("notes.json", "{}")  # (manifest.json is an Azure export's manifest)
    with zipfile.ZipFile(tmp_path / "october.zip", "w") as zf:
        zf.writestr("aws/cur.zip", inner.getvalue())
    assert files_not_read(tmp_path) == [
        (
            "october.zip!aws/cur.zip!notes.json",
            "not a vendor report (.json; the import reads .csv, .csv.gz, .tsv, .parquet, .zip)",
        )
    ]


@pytest.mark.parametrize("suffix", [".xlsx", ".XLS", ".ods"])
def test_a_spreadsheet_workbook_among_the_reports_is_refused(tmp_path, suffix):
    shutil.copy(SAMPLE_REPORTS / RECONCILIATION, tmp_path)
    (tmp_path / f"aws-october{suffix}").write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError) as raised:
        report_files(tmp_path)
    err = raised.value
    assert str(err).startswith(
        f"{tmp_path / f'aws-october{suffix}'}: a spreadsheet workbook among the reports; its "
        "charges would be on no invoice"
    )
    assert [p.file for p in err.problems] == [str(tmp_path / f"aws-october{suffix}")]
    assert "save the sheet as CSV UTF-8" in err.problems[0].expected


def test_a_zip_made_by_macos_imports_as_its_report_alone(tmp_path):
    archive = tmp_path / "ms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(SAMPLE_REPORTS / RECONCILIATION, RECONCILIATION)
        zf.writestr(f"__MACOSX/._{RECONCILIATION}", APPLE_DOUBLE)
    con = open_store()
    try:
        (imported,) = import_reports(con, report_files(tmp_path))
        assert imported.file == f"{archive}!{RECONCILIATION}"
        assert imported.rows == 19
    finally:
        con.close()


def test_a_workbook_inside_a_zip_is_refused(tmp_path):
    archive = tmp_path / "ms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(SAMPLE_REPORTS / RECONCILIATION, RECONCILIATION)
        zf.writestr("usage.xlsx", b"PK\x03\x04")
    con = open_store()
    try:
        with pytest.raises(InputError, match=r"ms\.zip!usage\.xlsx: a spreadsheet workbook"):
            import_reports(con, report_files(tmp_path))
        assert con.execute("SELECT count(*) FROM lines").fetchall() == [(0,)]
    finally:
        con.close()


def test_a_run_lists_what_its_reports_folder_holds_besides_reports(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    (reports / "aws-invoice-EUINNL26-0042.pdf").write_bytes(b"%PDF-1.7")
    (reports / f"~${RECONCILIATION}").write_bytes(b"\x05analyst")
    br = run.start("2026-10", str(reports), str(REPO / "parameters"), str(tmp_path / "out"))
    br.load_parameters()
    br.import_reports()
    br.map_customers()
    br.rate()
    listed = list(br.warnings()["warning"])
    assert listed[0] == (
        "reports folder: aws-invoice-EUINNL26-0042.pdf not read: not a vendor report (.pdf; the "
        "import reads .csv, .csv.gz, .tsv, .parquet, .zip)"
    )
    assert not any(RECONCILIATION in w for w in listed)


def test_a_file_not_read_whose_first_line_is_one_long_field_is_listed(tmp_path):
    """A file not read whose first line holds more than the csv module's field limit (128 KiB)
    between two separators (a minified JSON of a partner API, the sheet XML of a workbook renamed
    .zip) ended the run's and ``billing import``'s listing of what is not read in a traceback
    (``_csv.Error: field larger than field limit``)."""
    minified = '{"items": [' + ", ".join(['{"id": "' + "x" * 60 + '"}'] * 4000) + "]}"
    (tmp_path / "partner-center-invoice.json").write_text(minified, encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "october.zip", "w") as zf:
        zf.writestr("api/invoice.json", minified)
        zf.write(SAMPLE_REPORTS / RECONCILIATION, RECONCILIATION)
    assert files_not_read(tmp_path) == [
        (
            "october.zip!api/invoice.json",
            "not a vendor report (.json; the import reads .csv, .csv.gz, .tsv, .parquet, .zip)",
        ),
        (
            "partner-center-invoice.json",
            "not a vendor report (.json; the import reads .csv, .csv.gz, .tsv, .parquet, .zip)",
        ),
    ]


def _workbook(path: Path) -> Path:
    """A real workbook (Office Open XML) at ``path`` holding the reconciliation's rows, as Excel
    saves a report opened in it."""
    import csv

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    with open(SAMPLE_REPORTS / RECONCILIATION, encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("name", ["october.xlsx", "october.csv", "october.zip", "october.CSV"])
def test_a_workbook_given_to_the_import_is_refused_as_a_workbook_whatever_its_name(tmp_path, name):
    """A workbook given by its name (``billing import october.xlsx``), or saved under a report's
    ending, was refused as "a zip archive ... give it its own ending (.zip)": renamed so, it was
    then read as a zip of no report (and ``billing import`` ended in a traceback). It is refused
    as the workbook it is, with the way out: save the sheet as CSV UTF-8."""
    path = _workbook(tmp_path / name)
    con = open_store()
    try:
        with pytest.raises(InputError) as raised:
            import_reports(con, [path])
        assert str(raised.value).startswith(f"{path}: a spreadsheet workbook"), raised.value
        assert "save the sheet as CSV UTF-8" in raised.value.problems[0].expected
        assert con.execute("SELECT count(*) FROM lines").fetchall() == [(0,)]
    finally:
        con.close()


def test_an_excel_97_workbook_under_a_csv_name_is_refused_as_a_workbook(tmp_path):
    """An ``.xls`` (an OLE2 compound file) saved as ``.csv`` was refused as "NUL bytes: UTF-16
    text without a byte-order mark"."""
    path = tmp_path / "october.csv"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(InputError, match=r"october\.csv: a spreadsheet workbook"):
        import_reports(open_store(), [path])
