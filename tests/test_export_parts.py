"""Part files of one export (importers/export_parts.py): a FOCUS export the provider cut into parts
imports as the same data in one file does, even where the cut separates two identical rows, while
two different exports that overlap are still refused."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.importers.export_parts import export_part
from billing_lib.store import open_store
from tests.notebook_project import REPO

VENDOR = REPO / "tests" / "data" / "vendor-samples"
#: The FOCUS specification's example: a commitment purchase (row 2) and two virtual machines
#: billed in two identical rows (rows 3 and 4 once its blank lines are left out).
FLEX = (
    VENDOR
    / "focus"
    / "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv"
)
AZURE = VENDOR / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
OVERLAP = "The reports overlap"


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, [r for r in rows if r]


def _text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _split(source: Path, folder: Path, names: tuple[str, str], cut: int = 2) -> list[Path]:
    """``source`` cut as a provider cuts a large export: its first ``cut`` rows in the first
    part, the rest in the second, each with the header."""
    header, rows = _rows(source)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for name, chunk in zip(names, (rows[:cut], rows[cut:]), strict=True):
        path = folder / name
        path.write_text(_text(header, chunk), encoding="utf-8")
        parts.append(path)
    return parts


def _imported(paths: list[Path]) -> tuple[int, str]:
    con = open_store()
    import_reports(con, paths, default_currency="USD")
    lines, cost = con.execute("SELECT count(*), sum(BilledCost) FROM lines").fetchone()
    return lines, f"{cost:.2f}"


def _refused(paths: list[Path]) -> str:
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, paths, default_currency="USD")
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    return str(err.value)


@pytest.mark.parametrize(
    "names",
    [
        ("focus-part-00001.csv", "focus-part-00002.csv"),
        ("part_0_0001.csv", "part_0_0002.csv"),
        ("part_0_0001.csv", "part_1_0001.csv"),
        ("focus-2023-01-00001.csv", "focus-2023-01-00002.csv"),
        ("focus-000000000000.csv", "focus-000000000001.csv"),
    ],
    ids=["part-numbers", "azure-sequence", "azure-partitions", "aws-data-exports", "bigquery"],
)
def test_a_focus_export_in_parts_imports_where_the_cut_separates_identical_rows(tmp_path, names):
    """Google Cloud's FOCUS data is a BigQuery table: exported to files with a wildcard
    (``gs://bucket/focus-*.csv``), BigQuery writes ``focus-000000000000.csv``,
    ``-000000000001`` ... (12 digits from 0). Such parts were compared as two reports, and the
    identical row the cut put into the second refused as a charge billed twice."""
    # the whole file: 3 lines, USD 2.00; the cut puts one of the two identical VM rows in each part
    assert _imported([FLEX]) == (3, "2.00")
    assert _imported(_split(FLEX, tmp_path, names)) == (3, "2.00")


def test_the_parts_of_a_zip_s_folder_are_one_export(tmp_path):
    parts = _split(FLEX, tmp_path / "x", ("part_0_0001.csv", "part_0_0002.csv"))
    archive = tmp_path / "focus-2023-01.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in parts:
            zf.write(p, f"20230101-20230131/4a3b2c1d/{p.name}")
    assert _imported([archive]) == (3, "2.00")


@pytest.mark.parametrize(
    "first, second",
    [
        ("a/focus-part-00001.csv", "b/focus-part-00002.csv"),
        ("focus-mtd-part-00001.csv", "focus-final-part-00002.csv"),
        ("focus-part-1.csv", "focus-part-00002.csv"),
        ("focus-part-00001.csv", "focus-part-00002.csv.gz"),
        ("focus-1.csv", "focus-2.csv"),
        ("part_0_0001.csv", "part_0_0001 (1).csv"),
    ],
    ids=[
        "two-folders",
        "two-names",
        "other-numbering",
        "other-ending",
        "no-part-number",
        "a-second-download",
    ],
)
def test_files_that_are_not_parts_of_one_export_are_still_compared(tmp_path, first, second):
    header, rows = _rows(FLEX)
    for name, chunk in ((first, rows[:2]), (second, rows[2:])):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = _text(header, chunk).encode()
        if name.endswith(".gz"):
            text = gzip.compress(text, mtime=0)
        path.write_bytes(text)
    message = _refused([tmp_path / first, tmp_path / second])
    assert f"{tmp_path / second} (FOCUS" in message and OVERLAP in message


def test_parts_with_other_columns_are_two_exports(tmp_path):
    first, second = _split(FLEX, tmp_path, ("focus-part-00001.csv", "focus-part-00002.csv"))
    header, rows = _rows(second)
    second.write_text(_text([*header, "x_Note"], [[*r, "again"] for r in rows]), encoding="utf-8")
    assert OVERLAP in _refused([first, second])


def test_two_month_to_date_exports_in_parts_overlap_and_are_refused(tmp_path):
    # the export of the 10th in two parts, then the export of the 20th cut elsewhere (its first
    # part repeats a row of the first one's) named by the same scheme in another folder
    day10 = _split(FLEX, tmp_path / "10", ("focus-00001.csv", "focus-00002.csv"))
    day20 = _split(FLEX, tmp_path / "20", ("focus-00001.csv", "focus-00002.csv"), cut=1)
    message = _refused([*day10, *day20])
    assert message.startswith(f"{day20[0]} (FOCUS") and OVERLAP in message


def test_an_identical_row_in_two_parts_of_an_export_that_refuses_identical_rows_is_refused(
    tmp_path,
):
    # an Azure cost export's identical rows are the same cost twice, inside one file or across
    # its parts: the parts are not read as one report there
    header, rows = _rows(AZURE)
    first, second = tmp_path / "part_0_0001.csv", tmp_path / "part_0_0002.csv"
    first.write_text(_text(header, rows[:3]), encoding="utf-8")
    second.write_text(_text(header, [rows[2], *rows[3:]]), encoding="utf-8")
    message = _refused([first, second])
    assert f"{second} (" in message and f"row 2 bills the same charge as {first} row 4" in message


@pytest.mark.parametrize(
    "name, shared, number",
    [
        (
            "exports/focus-part-00002.csv",
            ("", "exports", "focus-", "numbered part: 99999"),
            "00002",
        ),
        (
            "c/part_1_0003.snappy.parquet",
            ("", "c", "", "Azure Cost Management partitioned export: 9_9999"),
            "1_0003",
        ),
        (
            "m.zip!d/aws-focus-00001.csv.gz",
            ("m.zip", "d", "aws-focus", "AWS Data Exports file: 99999"),
            "00001",
        ),
        (
            "gcs/focus-000000000012.csv.gz",
            ("", "gcs", "focus", "BigQuery export file: 999999999999"),
            "000000000012",
        ),
    ],
)
def test_a_part_s_export_and_number_come_from_its_name(name, shared, number):
    part = export_part(name)
    assert part is not None and part.export[:4] == shared and part.number == number


@pytest.mark.parametrize(
    "name",
    [
        "focus-2026-10-20.csv",
        "focus-20261020.csv",
        "focus-402719385610.csv",
        "department5.csv",
        "part_0_0001 (1).csv",
        "x.pdf",
    ],
)
def test_a_name_without_a_part_number_is_no_part(name):
    assert export_part(name) is None
