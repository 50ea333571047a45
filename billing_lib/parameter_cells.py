"""What a cell of a parameters CSV file (accounts.csv, exchange_rates.csv) may not hold: a tab
between two values. A tab typed for a comma in a text editor joins two cells into one and moves
the cells after it one column to the left; the file was then refused for what they held there
(``customer_id: expected a value``), not for the tab. A tab before or after a value is stripped
with the spaces, as it always was."""

from __future__ import annotations

from pathlib import Path

from billing_lib.errors import ParameterError

TAB = "\t"


def check_no_tab(path: Path, row: int, cells: dict[str | None, object]) -> None:
    """ParameterError naming the row and column of the first cell holding a tab between
    values."""
    for column, value in cells.items():
        if column and isinstance(value, str) and TAB in value.strip():
            raise ParameterError(
                path,
                f"row {row}, column {column}",
                f"found {value!r}, which holds a tab; expected one value per column, separated by "
                "commas: a tab separates nothing in this file (replace it with a comma, or "
                "with a space within a text)",
            )
