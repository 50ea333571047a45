"""``RowWorksheet`` writes the bytes xlsxwriter's stock worksheet writes for the same cells: the
usage sheets' fast path must never change a workbook (tests/test_workbooks.py checks the
workbooks; this checks the worksheet against xlsxwriter itself, value by kind of value)."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
import xlsxwriter

from billing_lib.row_worksheet import RowWorksheet
from billing_lib.sheet_formats import WORKBOOK_OPTIONS

TEXTS = [
    "a & b < c > d \"e\" 'f'",
    "  leading and trailing  ",
    "control \x01\x1f characters and _x0041_",
    '=HYPERLINK("http://evil.example","click")',
    "Ünïcödé ✓ 😀",
    "",
    "line\nbreak",
    "x" * 20_000,  # beyond half of Excel's limit: xlsxwriter checks it (and keeps it)
    "y" * 40_000,  # beyond the limit: xlsxwriter truncates it
]
NUMBERS = [0.1 + 0.2, -1e-20, 1e20, 123456789.123456789, -0.0, 42.0, 1 / 3]


def _rows() -> list[tuple]:
    """Rows of (text, day, number, text, number) with NULLs, repeated strings and sparse columns,
    over more than two blocks of 16 rows."""
    rows = []
    for k in range(40):
        rows.append(
            (
                TEXTS[k % len(TEXTS)] if k % 7 else None,
                date(2026, 10, 1 + k % 31),
                NUMBERS[k % len(NUMBERS)],
                None if k % 5 == 0 else TEXTS[(k * 3) % len(TEXTS)],
                str(k) if k % 3 else None,
            )
        )
    return rows


def _write(path: Path, fast: bool) -> Path:
    """A workbook with a formatted header, 40 rows written by ``write_values`` (``fast``) or by
    ``write_string``/``write_number`` cell by cell, a row and a column format, a formula and a
    blank among them, and a second sheet with a comment."""
    wb = xlsxwriter.Workbook(str(path), {**WORKBOOK_OPTIONS, "in_memory": True})
    wb.set_properties({"created": datetime(2026, 10, 31, 23, 59, 59)})
    bold = wb.add_format({"bold": True})
    num = wb.add_format({"num_format": "#,##0.####"})
    day_format = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("Usage", worksheet_class=RowWorksheet if fast else None)
    ws.set_column(0, 0, 30)
    ws.set_column(4, 4, 12, bold)  # a column format: the cells without one take it
    ws.set_row(5, None, num)  # a row format: the cells without one take it
    ws.set_row(43, 30)  # a row without cells, only a height
    for col, head in enumerate(["Text", "Day", "Amount", "More", "Count"]):
        ws.write_string(0, col + 1, head, bold)

    def day(value: date) -> float:
        return float((value - date(1899, 12, 31)).days + 1)

    columns = [
        (1, True, str, None),
        (2, False, day, day_format),
        (3, False, float, num),
        (4, True, str, None),
        (6, False, float, None),
    ]
    for row, values in enumerate(_rows(), start=1):
        if fast:
            assert isinstance(ws, RowWorksheet)
            ws.write_values(row, columns, values)
            continue
        for (col, text, convert, cell_format), value in zip(columns, values, strict=True):
            if value is not None and text:
                ws.write_string(row, col, convert(value), cell_format)
            elif value is not None:
                ws.write_number(row, col, convert(value), cell_format)
    ws.write_formula(41, 3, "=SUM(D2:D41)", num, 12.5)
    ws.write_blank(42, 1, None, bold)
    ws.autofilter(0, 1, 40, 6)
    ws.freeze_panes(1, 0)
    other = wb.add_worksheet("Notes", worksheet_class=RowWorksheet if fast else None)
    other.write_comment(3, 2, "a comment")
    if isinstance(other, RowWorksheet):
        other.write_values(3, [(1, True, str, None), (5, False, float, num)], ["x", "7"])
    else:
        other.write_string(3, 1, "x")
        other.write_number(3, 5, 7.0, num)
    wb.close()
    return path


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_write_values_gives_the_bytes_of_writing_cell_by_cell(tmp_path):
    stock = _write(tmp_path / "stock.xlsx", fast=False)
    fast = _write(tmp_path / "fast.xlsx", fast=True)
    assert _parts(fast) == _parts(stock)  # first part by part, for a readable difference
    assert fast.read_bytes() == stock.read_bytes()
    sheet = _parts(fast)["xl/worksheets/sheet1.xml"].decode()
    # the test writes what it means to: spans over three blocks of rows, the row's and the
    # column's formats taken by cells without their own
    assert 'spans="2:7"' in sheet and '<row r="6" spans="2:7" s="' in sheet


def test_a_row_beyond_the_sheet_is_left_out_as_xlsxwriter_does(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"in_memory": True})
    ws = wb.add_worksheet(worksheet_class=RowWorksheet)
    assert isinstance(ws, RowWorksheet)
    ws.write_values(1_048_576, [(0, True, str, None)], ["lost"])
    ws.write_values(3, [(0, True, str, None), (1, False, float, None)], [None, None])
    assert ws.dim_rowmax is None and not ws.table[3]
    wb.close()


@pytest.mark.parametrize("value", ["1.5", "-0.000000000001", "12345678901234567890.123456789012"])
def test_numbers_are_the_doubles_of_their_decimal_text(tmp_path, value):
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"in_memory": True})
    ws = wb.add_worksheet(worksheet_class=RowWorksheet)
    assert isinstance(ws, RowWorksheet)
    ws.write_values(0, [(0, False, float, None)], [value])
    assert ws.table[0][0].number == float(value)
    wb.close()
