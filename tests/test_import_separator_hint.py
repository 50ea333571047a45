"""Excel's separator hint, a first line ``sep=,`` before the header that tools write for Excel:
a report with the hint of the separator it has is read without that line, its rows numbered as
Excel shows them (the hint hidden, the header row 1: the rows of the report without it); a hint
of another separator, or a first line that is a hint no more, is refused naming file and row 1."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests import cur2_sample as cur2

CUSTOMER_MONTHLY = (
    Path(__file__).resolve().parent / "data" / "vmware-usage" / "customer-monthly-usage-2026-10.tsv"
)


def _cur2_text(rows: list[dict[str, str]] | None = None, end: str = "\n") -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cur2.COLUMNS, lineterminator=end)
    w.writeheader()
    w.writerows(cur2.records() if rows is None else rows)
    return buf.getvalue()


def _lines(con) -> list[tuple]:
    return con.execute("SELECT * EXCLUDE (x_SourceFile) FROM lines ORDER BY ALL").fetchall()


def _imported(path: Path, **options) -> tuple[list[tuple], list[tuple]]:
    con = open_store()
    [report] = import_reports(con, [path], **options)
    totals = [(c.currency, c.cost_before, c.cost_after, c.balanced) for c in report.currencies]
    return _lines(con), totals


@pytest.mark.parametrize(
    ("bom", "end"),
    [(b"", "\n"), (b"", "\r\n"), (codecs.BOM_UTF8, "\r\n")],
    ids=["lf", "crlf", "bom"],
)
def test_a_report_with_the_hint_of_its_commas_imports_as_without_it(tmp_path, bom, end):
    plain = tmp_path / "plain" / "cur2.csv"
    plain.parent.mkdir()
    plain.write_bytes(bom + _cur2_text(end=end).encode("utf-8"))
    hinted = tmp_path / "cur2.csv"
    hinted.write_bytes(bom + f"sep=,{end}".encode() + _cur2_text(end=end).encode("utf-8"))
    assert _imported(hinted) == _imported(plain)


def test_a_gzipped_report_with_the_hint_imports(tmp_path):
    hinted = tmp_path / "cur2.csv.gz"
    hinted.write_bytes(gzip.compress(("sep=,\n" + _cur2_text()).encode("utf-8")))
    plain = tmp_path / "cur2.csv"
    plain.write_text(_cur2_text(), encoding="utf-8")
    assert _imported(hinted) == _imported(plain)


def test_a_tab_separated_report_with_the_hint_of_its_tabs_imports(tmp_path):
    from billing_lib.vendor_prices import load_vendor_prices

    prices = load_vendor_prices(CUSTOMER_MONTHLY.parent)
    hinted = tmp_path / CUSTOMER_MONTHLY.name
    hinted.write_bytes(b"sep=\t\r\n" + CUSTOMER_MONTHLY.read_bytes())
    assert _imported(hinted, vendor_prices=prices) == _imported(
        CUSTOMER_MONTHLY, vendor_prices=prices
    )


def test_rows_in_errors_are_numbered_as_excel_shows_the_file(tmp_path):
    """Excel hides the hint: the header is row 1, the first line row 2, as in the report without
    the hint (a blank line counted as the row it is)."""
    rows = cur2.records()
    rows[4]["line_item_unblended_cost"] = "n/a"
    text = _cur2_text(rows)
    lines = text.splitlines(keepends=True)
    hinted = tmp_path / "cur2.csv"
    hinted.write_text("sep=,\n" + lines[0] + "\n" + "".join(lines[1:]), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [hinted])
    assert [(p.file, p.row, p.column, p.value) for p in err.value.problems] == [
        (str(hinted), 7, "line_item_unblended_cost", "n/a")
    ]


@pytest.mark.parametrize(
    ("first_line", "what"),
    [
        ("sep=;", "semicolons"),  # Excel in a locale with decimal commas
        ("sep=|", "pipes"),
        ("sep=\t", "tabs"),  # a hint of tabs before a header of commas
    ],
    ids=["semicolons", "pipes", "tabs-before-commas"],
)
def test_a_hint_of_another_separator_than_the_report_s_is_refused_naming_row_1(
    tmp_path, first_line, what
):
    hinted = tmp_path / "cur2.csv"
    hinted.write_text(first_line + "\n" + _cur2_text(), encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [hinted])
    assert str(err.value).startswith(f"{hinted}: the first line is Excel's separator hint")
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(hinted),
        1,
        None,
        first_line,
    )
    assert what in problem.expected and "commas" in problem.expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


@pytest.mark.parametrize("first_line", ["sep=,,,,", "SEP=,x", '"sep=,"'])
def test_a_first_line_that_is_a_hint_no_more_is_refused_naming_row_1(tmp_path, first_line):
    """A hint a spreadsheet that does not read it saved as a row of cells (``sep=,,,,``), or
    another text beginning so: no header, and no hint to skip."""
    hinted = tmp_path / "cur2.csv"
    hinted.write_text(first_line + "\n" + _cur2_text(), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [hinted])
    assert str(err.value).startswith(f"{hinted}: the first line is no header")
    [problem] = err.value.problems
    assert (problem.row, problem.value) == (1, first_line)
    assert "sep=," in problem.expected


def test_the_report_with_the_hint_beside_itself_without_is_refused_as_one_report(tmp_path):
    plain = tmp_path / "cur2.csv"
    plain.write_text(_cur2_text(), encoding="utf-8")
    hinted = tmp_path / "cur2-resaved.csv"
    hinted.write_text("sep=,\n" + _cur2_text(), encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError, match="same"):
        import_reports(con, [plain, hinted])
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
