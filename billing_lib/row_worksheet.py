"""A worksheet that takes whole rows of values and writes its cells' XML the short way: the usage
sheets' thousands of cells per invoice workbook were about two thirds of the workbook's CPU
(xlsxwriter's per-cell path: a decorator, a bounds check, an attribute list and two escapes per
cell; benchmarks/README.md, issue 13's fifth pass).

The bytes are xlsxwriter's own: ``write_values`` stores the same cells (``CellNumberTuple``,
``CellStringTuple`` with the shared string's index, taken in the same order) and the same
dimensions as ``write_number`` and ``write_string`` would; ``_write_rows`` and
``_calculate_spans`` write what xlsxwriter writes for those cells, and leave every other kind of
cell (formulas, blanks, dates) to xlsxwriter, and a sheet with comments too. xlsxwriter is
pinned (pyproject.toml): its internals used here (``table``, ``str_table``, ``_check_dimensions``,
``row_info``, ``col_info``, the cell tuples) are those of that version, and
tests/test_row_worksheet.py compares this worksheet's files with the stock worksheet's byte for
byte.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import CellNumberTuple, CellStringTuple, Worksheet

#: One column of ``write_values``: its index, True for text (else a number), the function making
#: the cell's number (or text: ``str``) of a value and the cell's format.
Column = tuple[int, bool, Callable[[Any], Any], Format | None]

#: Strings up to this length cannot exceed Excel's 32,767 UTF-16 units (xlsxwriter checks longer
#: ones, and truncates: those go its way).
_SHORT_STRING = 32_767 // 2


class RowWorksheet(Worksheet):
    """A worksheet (``Workbook.add_worksheet(name, worksheet_class=RowWorksheet)``) with
    ``write_values``, writing its number and string cells' XML without xlsxwriter's general
    per-cell path. In-memory workbooks only (``constant_memory`` takes xlsxwriter's way)."""

    def __init__(self) -> None:
        super().__init__()
        #: Column letters by index (``xl_col_to_name``), made once per column.
        self._names: dict[int, str] = {}

    def write_values(self, row: int, columns: Sequence[Column], values: Sequence[Any]) -> None:
        """One row: ``values[k]`` into ``columns[k]`` (a string cell, or the number
        ``convert(value)``, with the column's format); nothing where a value is None. The same
        cells, shared strings and dimensions as ``write_string`` / ``write_number`` cell by
        cell."""
        if self.constant_memory or not 0 <= row < self.xls_rowmax:
            self._write_each(row, columns, values)
            return
        cells = self.table[row]
        strings = self.str_table
        new = tuple.__new__  # the cell tuples without their constructors' Python frame
        first = last = -1
        for (col, text, convert, cell_format), value in zip(columns, values, strict=True):
            if value is None:
                continue
            if not text:
                cells[col] = new(CellNumberTuple, (convert(value), cell_format))
            elif value.__class__ is str and len(value) <= _SHORT_STRING:
                index = strings._get_shared_string_index(value)
                cells[col] = new(CellStringTuple, (index, cell_format))
            else:  # xlsxwriter's way (it truncates a long string, and stores its dimensions)
                self._write_string(row, col, convert(value), cell_format)
            if first < 0:
                first = col
            last = col
        if first >= 0:
            self._check_dimensions(row, first)
            self._check_dimensions(row, last)

    def _write_each(self, row: int, columns: Sequence[Column], values: Sequence[Any]) -> None:
        """``write_values`` cell by cell, the stock way."""
        for (col, text, convert, cell_format), value in zip(columns, values, strict=True):
            if value is None:
                continue
            if text:
                self._write_string(row, col, convert(value), cell_format)
            else:
                self._write_number(row, col, convert(value), cell_format)

    def _write_rows(self) -> None:
        """The sheet's rows, as xlsxwriter writes them (a sheet with comments its own way), each
        row's cells at once (``_write_cells``)."""
        if self.comments:
            super()._write_rows()
            return
        self._calculate_spans()
        table, rows, spans = self.table, self.row_info, self.row_spans
        for row in range(self.dim_rowmin, self.dim_rowmax + 1):
            cells = table.get(row)
            if cells:
                self._write_row(row, spans.get(row // 16), rows.get(row))
                self._write_cells(row, cells)
                self._xml_end_tag("row")
            elif row in rows:
                self._write_empty_row(row, spans.get(row // 16), rows[row])

    def _write_cells(self, row: int, cells: dict[int, Any]) -> None:
        """A row's cells, by column: numbers and shared strings as xlsxwriter writes them (their
        references and format indexes need no escaping), in one write; any other cell
        xlsxwriter's way."""
        names, shown = self._names, row + 1
        parts: list[str] = []
        for col in sorted(cells):
            cell = cells[col]
            kind = cell.__class__
            if kind is not CellNumberTuple and kind is not CellStringTuple:
                self.fh.write("".join(parts))
                parts = []
                super()._write_cell(row, col, cell)
                continue
            name = names.get(col)
            if name is None:
                name = names[col] = xl_col_to_name(col)
            cell_format = cell.format
            style = (
                f' s="{cell_format._get_xf_index()}"'
                if cell_format
                else self._inherited_style(row, col)
            )
            if kind is CellNumberTuple:
                parts.append(f'<c r="{name}{shown}"{style}><v>{cell.number:.16G}</v></c>')
            else:
                parts.append(f'<c r="{name}{shown}"{style} t="s"><v>{cell.string}</v></c>')
        self.fh.write("".join(parts))

    def _inherited_style(self, row: int, col: int) -> str:
        """The ``s`` attribute of a cell without a format: its row's format's index, else its
        column's, else none (xlsxwriter's order)."""
        info = self.row_info.get(row)
        if info is not None and info.row_format:
            return f' s="{info.row_format._get_xf_index()}"'
        column = self.col_info.get(col)
        if column is not None and column.column_format is not None:
            return f' s="{column.column_format._get_xf_index()}"'
        return ""

    def _calculate_spans(self) -> None:
        """The ``spans`` of each block of 16 rows (the first to the last column with a cell in
        them), as xlsxwriter computes it, from each row's columns at once."""
        if self.comments:
            super()._calculate_spans()
            return
        low, high = self.dim_rowmin, self.dim_rowmax
        bounds: dict[int, tuple[int, int]] = {}
        for row, cells in self.table.items():
            if cells and low <= row <= high:
                block = row // 16
                first, last = min(cells), max(cells)
                if block in bounds:
                    first, last = min(first, bounds[block][0]), max(last, bounds[block][1])
                bounds[block] = (first, last)
        self.row_spans = {block: f"{a + 1}:{b + 1}" for block, (a, b) in sorted(bounds.items())}
