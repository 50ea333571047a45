"""Bad input: each case gives an error naming the file, row and column, and nothing is
half-imported."""

import codecs
import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests import cur2_sample as cur2


def _text(rows=None, delimiter=","):
    rows = cur2.records() if rows is None else rows
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cur2.COLUMNS, lineterminator="\n", delimiter=delimiter)
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _refused(tmp_path, name, rows):
    """The import's refusal of ``rows`` written as the CSV ``name`` (pytest's ExceptionInfo), and
    the store it left."""
    path = tmp_path / name
    path.write_text(_text(rows), encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    return err, con


def _lines(con):
    return con.execute("SELECT count(*), sum(BilledCost) FROM lines").fetchone()


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty; expected a header row"):
        import_reports(open_store(), [path])


@pytest.mark.parametrize(
    "first_line",
    [
        "<!DOCTYPE html><html><body>" + "x" * 200_000 + "</body></html>",  # a portal's page
        '"' + ",".join(cur2.COLUMNS) + "x" * 200_000,  # a quote that is never closed
    ],
    ids=["html-page", "unclosed-quote"],
)
def test_a_first_line_of_one_field_too_long_to_read_is_refused_naming_the_file(
    tmp_path, first_line
):
    """A first line holding more than the csv module's field limit (128 KiB) in one field (a
    portal's sign-in page on one line saved as the report, a header whose quote never closes)
    ended the import in a traceback (``_csv.Error: field larger than field limit``)."""
    path = tmp_path / "october.csv"
    path.write_text(first_line + "\n" + "a,b\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert str(err.value).startswith(f"{path}: the first row is no header of column names")
    (problem,) = err.value.problems
    assert (problem.file, problem.row) == (str(path), 1)
    assert "the vendor's column names" in problem.expected


def test_header_only_is_refused(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(cur2.COLUMNS) + "\n", encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError, match=r"header\.csv .*: no rows; a vendor report for a month"):
        import_reports(con, [path])
    assert _lines(con) == (0, None)


def test_semicolons(tmp_path):
    path = tmp_path / "resaved.csv"
    path.write_text(_text(delimiter=";"), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert "resaved.csv: the header is separated by semicolons, not commas" in str(err.value)
    assert err.value.problems[0].row == 1


def test_tabs_where_the_vendor_writes_commas(tmp_path):
    """Tab-separated text is read (VMware Usage Meter exports it), but only for the formats the
    vendor writes that way: an AWS CUR with tabs is a re-save."""
    path = tmp_path / "resaved.csv"
    path.write_text(_text(delimiter="\t"), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert "resaved.csv (AWS Cost and Usage Report 2.0" in str(err.value)
    assert "separated by tabs, not commas" in str(err.value)
    assert err.value.problems[0].row == 1


def test_utf8_bom_is_fine(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + _text().encode("utf-8"))
    [report] = import_reports(open_store(), [path])
    assert report.rows == 15


def test_latin1_bytes_name_the_row(tmp_path):
    rows = cur2.records()
    rows[2]["line_item_line_item_description"] = "Frais de réservation"
    path = tmp_path / "latin1.csv"
    path.write_bytes(_text(rows).encode("latin-1"))
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert "latin1.csv: not UTF-8 text" in str(err.value)
    assert err.value.problems[0].row == 4 and "re-export the report as UTF-8" in str(err.value)


@pytest.mark.parametrize(
    ("record", "padding"), [(2, 0), (14, 80_000)], ids=["in-the-first-mebibyte", "beyond-it"]
)
def test_a_byte_that_is_not_utf8_is_named_by_row_and_column(tmp_path, record, padding):
    """Excel's "CSV (Comma delimited)" writes the code page (Windows-1252): a customer's name with
    an accent is no UTF-8. The row alone was named (and a quoted value spanning lines made it
    the wrong row), never the column: it names the column the byte stands in now, in the first
    MiB the import looks at first and beyond it (DuckDB's reader)."""
    rows = cur2.records()
    for row in rows:
        row["resource_tags"] = '{"note": "a long, quoted\nvalue"}'
        row["line_item_resource_id"] = "r" * padding
    rows[record]["line_item_line_item_description"] = "Frais de réservation"
    path = tmp_path / "cp1252.csv"
    path.write_bytes(_text(rows).encode("cp1252"))
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert "cp1252.csv" in str(err.value)
    assert [(p.row, p.column) for p in err.value.problems] == [
        (record + 2, "line_item_line_item_description")
    ]
    assert "UTF-8" in err.value.problems[0].expected


def test_utf16_little_endian_with_bom_is_read(tmp_path):
    path = tmp_path / "unicode.csv"
    path.write_bytes(_text().encode("utf-16"))  # Python writes the BOM, little-endian here
    [report] = import_reports(open_store(), [path])
    assert report.rows == 15
    assert report.currencies[0].cost_after == sum(b for b, _ in cur2.expected_by_type().values())


def test_utf16_big_endian_is_refused(tmp_path):
    path = tmp_path / "be.csv"
    path.write_bytes(codecs.BOM_UTF16_BE + _text().encode("utf-16-be"))
    with pytest.raises(InputError, match="be.csv: UTF-16 big-endian text"):
        import_reports(open_store(), [path])


def test_missing_required_column_lists_expected_and_found(tmp_path):
    rows = cur2.records()
    cols = [c for c in cur2.COLUMNS if c != "line_item_currency_code"]
    path = tmp_path / "nocur.csv"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    msg = str(err.value)
    assert (
        "nocur.csv (AWS Cost and Usage Report 2.0 (Data Exports)): missing required column(s) "
        "['line_item_currency_code']" in msg
    )
    assert (
        "expected: ['line_item_line_item_type'," in msg
        and "found: ['identity_line_item_id'," in msg
    )


def test_unknown_format_lists_each_formats_signature(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Date,Amount,Customer\n2024-05-01,10,x\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    msg = str(err.value)
    assert "other.csv: not a known vendor report format" in msg
    assert (
        "aws_cur2" in msg
        and "focus" in msg
        and "found columns: ['Date', 'Amount', 'Customer']" in msg
    )


def test_every_unparsable_number_and_date_is_listed(tmp_path):
    rows = cur2.records()
    rows[0]["line_item_unblended_cost"] = "12,50"
    rows[6]["line_item_unblended_cost"] = "n/a"
    rows[9]["line_item_usage_start_date"] = "2024-13-01T00:00:00Z"
    err, _ = _refused(tmp_path, "bad-values.csv", rows)
    found = {(p.row, p.column, p.value) for p in err.value.problems}
    assert found == {
        (2, "line_item_unblended_cost", "12,50"),
        (8, "line_item_unblended_cost", "n/a"),
        (11, "line_item_usage_start_date", "2024-13-01T00:00:00Z"),
    }
    msg = str(err.value)
    assert (
        "bad-values.csv, row 8, column 'line_item_unblended_cost': found 'n/a'; expected a "
        "decimal number" in msg
    )


def test_a_date_beyond_the_years_of_a_billing_period_is_named(tmp_path):
    """A date DuckDB parses but no billing month holds (the year 29023, as a stray digit makes
    it; the year 1066): refused with its row and column, not a TypeError from Python, which
    cannot hold the year 29023. The value shown is the file's, under the file's column: a short
    date DuckDB reads as the year 5 ('05/01/24') was shown as found '0005-01-24 00:00:00', a
    text the user could not find in the file."""
    rows = cur2.records()
    rows[1]["line_item_usage_end_date"] = "29023-05-02T00:00:00Z"
    rows[4]["line_item_usage_start_date"] = "1066-10-14T00:00:00Z"
    rows[6]["line_item_usage_start_date"] = "05/01/24"
    err, con = _refused(tmp_path, "far-dates.csv", rows)
    found = {(p.row, p.column, p.value, p.expected) for p in err.value.problems}
    years = "a date in the years 1900 to 2999"
    assert found == {
        (
            3,
            "line_item_usage_end_date",
            "29023-05-02T00:00:00Z",
            f"{years} (read as 29023-05-02 00:00:00)",
        ),
        (
            6,
            "line_item_usage_start_date",
            "1066-10-14T00:00:00Z",
            f"{years} (read as 1066-10-14 00:00:00)",
        ),
        (8, "line_item_usage_start_date", "05/01/24", f"{years} (read as 0005-01-24 00:00:00)"),
    }
    assert _lines(con) == (0, None)


def test_ragged_rows_are_all_listed(tmp_path):
    lines = _text().splitlines()
    lines[3] += ",extra"
    lines[7] = lines[7].rsplit(",", 2)[0]
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert "ragged.csv: rows that are not well-formed CSV" in str(err.value)
    assert [p.row for p in err.value.problems] == [4, 8]
    assert "as many values as the header has columns" in str(err.value)


def test_same_report_twice_and_same_lines_under_another_name(tmp_path):
    first = cur2.write_csv(tmp_path / "may.csv")
    con = open_store()
    import_reports(con, [first])
    before = _lines(con)
    with pytest.raises(InputError, match="may.csv: this report was already imported as .*may.csv"):
        import_reports(con, [first])
    rows = cur2.records()
    rows[0]["line_item_unblended_cost"] = "0.9985"  # other bytes, same vendor line ids
    again = tmp_path / "may-resent.csv"
    again.write_text(_text(rows), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(con, [again])
    assert "may-resent.csv: the same report as " in str(err.value)
    assert "may.csv (its 15 vendor line ids were all already imported from it" in str(err.value)
    assert err.value.problems[0].row == 2
    assert (
        err.value.problems[0].column
        == "x_VendorLineId (identity_line_item_id + identity_time_interval)"
    )
    assert _lines(con) == before


def test_same_file_twice_in_one_batch(tmp_path):
    path = cur2.write_csv(tmp_path / "may.csv")
    con = open_store()
    with pytest.raises(InputError, match="same content as .*may.csv, given twice"):
        import_reports(con, [path, path])
    assert _lines(con) == (0, None)


def test_mixed_currencies_in_a_single_currency_report(tmp_path):
    rows = cur2.records()
    rows[4]["line_item_currency_code"] = "EUR"
    err, _ = _refused(tmp_path, "mixed.csv", rows)
    assert (
        "mixed.csv (AWS Cost and Usage Report 2.0 (Data Exports)): one currency expected per file, "
        "found ['EUR', 'USD']" in str(err.value)
    )
    [p] = err.value.problems
    assert (p.row, p.value) == (6, "EUR") and "line_item_currency_code" in p.column


@pytest.mark.parametrize("bad", ["number", "ragged", "duplicate", "empty"])
def test_nothing_half_imported_after_a_failure_in_a_batch(tmp_path, bad):
    con = open_store()
    import_reports(
        con,
        [
            cur2.write_csv(
                tmp_path / "april.csv",
                [
                    {**r, "identity_line_item_id": "apr" + r["identity_line_item_id"]}
                    for r in cur2.records()
                ],
            )
        ],
    )
    before = con.execute(
        "SELECT count(*), sum(BilledCost), (SELECT count(*) FROM imports) FROM lines"
    ).fetchone()
    good = cur2.write_csv(tmp_path / "may.csv")
    rows = [
        {**r, "identity_line_item_id": "jun" + r["identity_line_item_id"]} for r in cur2.records()
    ]
    broken = tmp_path / "june.csv"
    if bad == "number":
        rows[3]["line_item_unblended_cost"] = "abc"
        broken.write_text(_text(rows), encoding="utf-8")
    elif bad == "ragged":
        broken.write_text(_text(rows) + "x,y\n", encoding="utf-8")
    elif bad == "duplicate":
        broken = tmp_path / "april.csv"
    else:
        broken.write_bytes(b"")
    with pytest.raises(InputError):
        import_reports(con, [good, broken])
    after = con.execute(
        "SELECT count(*), sum(BilledCost), (SELECT count(*) FROM imports) FROM lines"
    ).fetchone()
    assert after == before
    assert (
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_\\_%' ESCAPE '\\'"
        ).fetchone()[0]
        == 0
    )


SAMPLE_REPORTS = Path(__file__).resolve().parents[1] / "samples" / "2026-10" / "reports"


def _trailing_comma(source: Path, target: Path, value_in_row: int | None = None) -> Path:
    """``source`` with a comma after every line, as a spreadsheet leaves an empty last column;
    with ``value_in_row`` (a spreadsheet row), that row holds ``x`` in it."""
    lines = source.read_text(encoding="utf-8-sig").splitlines()
    out = [f"{line},{'x' if n == value_in_row else ''}" for n, line in enumerate(lines, 1)]
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


@pytest.mark.parametrize(
    "name",
    [
        "ms-invoice-reconciliation-G052026103.csv",
        "ms-daily-rated-usage-G052026103.csv",
        "vmware-usage-meter-customer-monthly-usage-2026-10.csv",
    ],
)
def test_an_empty_column_without_a_name_is_ignored(tmp_path, name):
    source = SAMPLE_REPORTS / name
    [expected] = import_reports(open_store(), [source])
    [report] = import_reports(open_store(), [_trailing_comma(source, tmp_path / name)])
    assert (report.rows, report.currencies) == (expected.rows, expected.currencies)


def test_a_column_without_a_name_holding_values_is_refused_naming_its_place(tmp_path):
    source = SAMPLE_REPORTS / "ms-daily-rated-usage-G052026103.csv"
    columns = len(source.read_text(encoding="utf-8-sig").splitlines()[0].split(","))
    bad = _trailing_comma(source, tmp_path / "daily.csv", value_in_row=4)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [bad])
    assert str(err.value).startswith(
        f"{bad}: column {columns + 1} of the header (row 1) has no name, and row 4 holds a value "
        "in it"
    )
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.value) == (1, f"column {columns + 1}", "")


def test_a_parquet_column_without_a_name_is_ignored_when_empty_and_refused_with_values(tmp_path):
    table = pq.read_table(SAMPLE_REPORTS / "aws-cur2-northwind-2026-10-00001.snappy.parquet")
    empty, full = tmp_path / "empty.parquet", tmp_path / "full.parquet"
    pq.write_table(table.append_column("", pa.nulls(table.num_rows, pa.string())), empty)
    pq.write_table(table.append_column("", pa.array(["x"] * table.num_rows)), full)
    assert import_reports(open_store(), [empty])[0].rows == table.num_rows
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [full])
    position = table.num_columns + 1
    assert str(err.value).startswith(
        f"{full}: column {position} of the Parquet file has no name and holds values"
    )
    assert err.value.problems[0].column == f"column {position}"


def _with_row(source: Path, target: Path, values: dict[str, str]) -> Path:
    """``source`` with a last row holding only ``values`` (by column), as a spreadsheet user
    adds a totals row, or leaves a row of empty cells."""
    with open(source, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(target, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([*rows, {c: values.get(c, "") for c in rows[0]}])
    return target


@pytest.mark.parametrize(
    ("name", "values", "found", "identifying"),
    [
        (
            "ms-invoice-reconciliation-G052026103.csv",
            {"Subtotal": "21530.84", "Total": "21530.84", "Currency": "EUR"},
            "a row whose columns read hold only Subtotal '21530.84', Total '21530.84', "
            "Currency 'EUR'",
            "CustomerId, ChargeType, ChargeStartDate, ChargeEndDate, ProductId",
        ),
        (
            "ms-invoice-reconciliation-G052026103.csv",
            {},
            "a row whose columns read are all empty",
            "CustomerId, ChargeType, ChargeStartDate, ChargeEndDate, ProductId",
        ),
        (
            "ms-daily-rated-usage-G052026103.csv",
            {"BillingPreTaxTotal": "900.520261", "ProductName": "Total"},
            # ProductName is read: it names a row whose MeterCategory is empty
            "a row whose columns read hold only ProductName 'Total', BillingPreTaxTotal "
            "'900.520261'",
            "CustomerId, UsageDate",
        ),
    ],
    ids=["recon-totals", "recon-empty", "daily-totals"],
)
def test_a_totals_or_empty_row_is_refused_as_no_line_of_the_report(
    tmp_path, name, values, found, identifying
):
    """A totals row a spreadsheet user added under a report (or a row of empty cells it saved)
    was refused as a line with a bad value: 'BillingFrequency: expected Monthly, Annual or
    Triennial', 'ChargePeriodStart: expected a value', sending the user to look for a licence's
    billing cycle. It is named as what it is."""
    source = SAMPLE_REPORTS / name
    rows = len(source.read_text(encoding="utf-8-sig").splitlines())
    bad = _with_row(source, tmp_path / name, values)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [bad])
    assert str(err.value).startswith(f"{bad} (")
    assert f"): rows that are no line of the report: {identifying} empty, " in str(err.value)
    assert "a totals row, or a row a spreadsheet left" in str(err.value)
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.value) == (rows + 1, None, found)
    assert _lines(con) == (0, None)


def test_a_column_the_format_reads_named_twice_in_the_header_is_refused(tmp_path):
    """A spreadsheet edit that pastes a column in again (``...,line_item_unblended_cost``): the
    first was read and the other's values ignored in silence, whichever held the vendor's."""
    cost = cur2.COLUMNS.index("line_item_unblended_cost") + 1
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*cur2.COLUMNS, "Line_Item_Unblended_Cost", "line_item_unblended_cost"])
    for r in cur2.records():
        w.writerow([*(r.get(c, "") for c in cur2.COLUMNS), "1", "2"])
    path = tmp_path / "pasted.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    last = len(cur2.COLUMNS) + 2
    assert [(p.file, p.row, p.column) for p in err.value.problems] == [
        (str(path), 1, "line_item_unblended_cost")
    ] * 2
    assert "pasted.csv (AWS Cost and Usage Report 2.0" in str(err.value)
    assert "names a column it reads twice" in str(err.value)
    assert (cost, last) == (21, 44)
    assert [p.value for p in err.value.problems] == [
        "'line_item_unblended_cost' at column 21 (U) and 'Line_Item_Unblended_Cost' at column 43 "
        "(AQ)",
        "'line_item_unblended_cost' at column 21 (U) and 'line_item_unblended_cost' at column 44 "
        "(AR)",
    ]
    assert _lines(con) == (0, None)


def test_a_column_the_format_does_not_read_may_repeat(tmp_path):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*cur2.COLUMNS, "my_note", "My_Note"])
    for r in cur2.records():
        w.writerow([*(r.get(c, "") for c in cur2.COLUMNS), "a", "b"])
    path = tmp_path / "notes.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    [report] = import_reports(open_store(), [path])
    assert report.rows == 15


def test_an_amount_with_digit_separators_is_refused_not_read_without_them(tmp_path):
    """DuckDB reads '_' between digits as a separator: '1_2.5' was billed as 12.5. No vendor
    writes one (nor a spreadsheet: '12,50' and '1,000' are refused as they always were)."""
    rows = cur2.records()
    rows[0]["line_item_unblended_cost"] = "1_2.5"
    rows[3]["line_item_unblended_cost"] = "1_000"
    rows[5]["line_item_unblended_cost"] = "0.5_0"
    err, con = _refused(tmp_path, "separators.csv", rows)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (2, "line_item_unblended_cost", "1_2.5"),
        (5, "line_item_unblended_cost", "1_000"),
        (7, "line_item_unblended_cost", "0.5_0"),
    ]
    assert (
        "separators.csv, row 2, column 'line_item_unblended_cost': found '1_2.5'; expected a "
        "decimal number without digit separators ('_')" in str(err.value)
    )
    assert _lines(con) == (0, None)


def test_an_amount_or_quantity_that_is_infinity_or_nan_is_named_as_no_number(tmp_path):
    """'Infinity', 'inf', '-Infinity' and 'NaN' are no amounts: they were refused as "out of
    range" (a size of 10^26 or more), as if the figure were merely too large, instead of saying
    a number such as 12.34 was expected."""
    rows = cur2.records()
    rows[0]["line_item_unblended_cost"] = "Infinity"
    rows[1]["line_item_usage_amount"] = "inf"
    rows[2]["line_item_unblended_cost"] = "-Infinity"
    rows[3]["line_item_usage_amount"] = "NaN"
    err, con = _refused(tmp_path, "not-numbers.csv", rows)
    assert sorted((p.row, p.column, p.value) for p in err.value.problems) == [
        (2, "line_item_unblended_cost", "Infinity"),
        (3, "line_item_usage_amount", "inf"),
        (4, "line_item_unblended_cost", "-Infinity"),
        (5, "line_item_usage_amount", "NaN"),
    ]
    for p in err.value.problems:
        assert p.expected == "a decimal number (e.g. 12.34 or 1.5E-8), not Infinity or NaN", p
    assert "out of range" not in str(err.value)
    assert (
        "not-numbers.csv, row 2, column 'line_item_unblended_cost': found 'Infinity'; expected a "
        "decimal number (e.g. 12.34 or 1.5E-8), not Infinity or NaN" in str(err.value)
    )
    assert _lines(con) == (0, None)


def test_a_date_of_words_duckdb_reads_is_refused(tmp_path):
    """DuckDB reads 'epoch' and 'infinity' as dates (its strptime as 1900-01-01, within the years
    of a billing period): a line was charged on 1 January 1900."""
    rows = cur2.records()
    rows[0]["line_item_usage_start_date"] = "epoch"
    rows[2]["line_item_usage_end_date"] = "infinity"
    rows[4]["bill_billing_period_start_date"] = "-Infinity"
    err, con = _refused(tmp_path, "words.csv", rows)
    assert sorted((p.row, p.column, p.value) for p in err.value.problems) == [
        (2, "line_item_usage_start_date", "epoch"),
        (4, "line_item_usage_end_date", "infinity"),
        (6, "bill_billing_period_start_date", "-Infinity"),
    ]
    assert (
        "words.csv, row 2, column 'line_item_usage_start_date': found 'epoch'; expected a valid "
        "date and time" in str(err.value)
    )
    assert _lines(con) == (0, None)


def test_a_format_whose_dates_begin_with_a_word_is_refused_when_loaded():
    """The importer reads a date that does not begin with a digit as unreadable (above): a
    format declaring one ('Oct 01 2026') could never be read, so it is refused when loaded."""
    from pydantic import ValidationError

    from billing_lib.importers.spec import FormatSpec, spec_named

    data = spec_named("focus").model_dump(exclude_unset=True)
    FormatSpec.model_validate(data)
    with pytest.raises(ValidationError, match=r"timestamp_formats must begin with a number"):
        FormatSpec.model_validate({**data, "timestamp_formats": ["%m/%d/%Y", "%b %d %Y"]})


def test_a_utc_offset_no_place_has_is_refused(tmp_path):
    """DuckDB reads any two-digit offset: '+99:00' moved a charge four days back. Offsets run
    from -12:00 to +14:00; one beyond (or minutes past 59) is no vendor's."""
    rows = cur2.records()
    rows[0]["line_item_usage_start_date"] = "2024-05-01T00:00:00+99:00"
    rows[2]["line_item_usage_end_date"] = "2024-05-04T00:00:00-00:60"
    rows[4]["line_item_usage_start_date"] = "2024-05-01T10:00:00+14:00"  # Kiribati: read
    err, _ = _refused(tmp_path, "offsets.csv", rows)
    assert sorted((p.row, p.column, p.value) for p in err.value.problems) == [
        (2, "line_item_usage_start_date", "2024-05-01T00:00:00+99:00"),
        (4, "line_item_usage_end_date", "2024-05-04T00:00:00-00:60"),
    ]
    assert "expected a valid date and time" in str(err.value)


def test_a_time_followed_by_a_zone_name_or_other_word_is_refused_not_read_as_utc(tmp_path):
    """DuckDB's TIMESTAMP cast drops any word after the time: '00:00:00 Europe/Amsterdam' (22:00
    UTC the day before), 'UTC+2', a 12-hour clock's 'PM' after an ISO date, or 'garbage' were
    all read as that wall clock in UTC, moving a charge by hours (across a month's end) in
    silence. A zone is written as an offset or Z; only the names of UTC itself are read."""
    rows = cur2.records()
    rows[0]["line_item_usage_start_date"] = "2024-05-01T00:00:00 Europe/Amsterdam"
    rows[1]["line_item_usage_start_date"] = "2024-05-01 00:00:00 UTC+2"
    rows[2]["line_item_usage_end_date"] = "2024-05-04 01:00:00 PM"
    rows[3]["line_item_usage_end_date"] = "2024-05-06 00:00:00 garbage"
    rows[4]["line_item_usage_start_date"] = "2024-05-01 10:00:00 UTC"  # BigQuery's text: read
    err, con = _refused(tmp_path, "zones.csv", rows)
    assert sorted((p.row, p.column, p.value) for p in err.value.problems) == [
        (2, "line_item_usage_start_date", "2024-05-01T00:00:00 Europe/Amsterdam"),
        (3, "line_item_usage_start_date", "2024-05-01 00:00:00 UTC+2"),
        (4, "line_item_usage_end_date", "2024-05-04 01:00:00 PM"),
        (5, "line_item_usage_end_date", "2024-05-06 00:00:00 garbage"),
    ]
    assert "a time zone as an offset (+02:00) or Z (a zone's name or other word" in str(err.value)
    assert _lines(con) == (0, None)


def test_a_parquet_file_with_a_column_the_format_reads_twice_is_refused(tmp_path):
    """A tool can write two columns of one name to Parquet (pandas after a concat): DuckDB read
    the first and ignored the other in silence."""
    table = pq.read_table(SAMPLE_REPORTS / "aws-cur2-northwind-2026-10-00001.snappy.parquet")
    cost = table.schema.get_field_index("line_item_unblended_cost")
    doubled = table.append_column(
        "line_item_unblended_cost", pa.array(["0"] * table.num_rows, pa.string())
    )
    path = tmp_path / "doubled.parquet"
    pq.write_table(doubled, path)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (
            None,
            "line_item_unblended_cost",
            f"'line_item_unblended_cost' at column {cost + 1} and 'line_item_unblended_cost' at "
            f"column {table.num_columns + 1}",
        )
    ]
    assert "doubled.parquet (AWS Cost and Usage Report 2.0" in str(err.value)


def test_a_row_with_more_values_than_the_header_names_the_first_column_beyond_it(tmp_path):
    """A value beyond the header's last column was reported with its row only, and the text
    found began with the blank line before it."""
    lines = _text().splitlines()
    width = len(cur2.COLUMNS)
    lines[3] += ",stray"
    lines.insert(5, "")  # a blank line: row 6, the short row after it row 7
    lines[6] = lines[6].rsplit(",", 1)[0]
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert [(p.row, p.column) for p in err.value.problems] == [
        (4, f"column {width + 1} (AQ), beyond the header's last"),
        (7, cur2.COLUMNS[-1]),
    ]
    assert width + 1 == 43
    assert err.value.problems[1].value.startswith("li")


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_rows_are_numbered_as_a_spreadsheet_shows_them_whatever_the_line_ends(tmp_path, end):
    """A file whose lines end in a CR alone (Excel for Mac's "CSV (Macintosh)") with a blank
    line in it: DuckDB skips the blank line, and the line scan, which counts LF, found none, so
    every row after it was named one too early (a bad value in row 8 was 'row 7')."""
    rows = cur2.records()
    rows[5]["line_item_unblended_cost"] = "n/a"  # row 7, row 8 after the blank line
    lines = _text(rows).splitlines()
    lines.insert(3, "")  # row 4
    path = tmp_path / "mac.csv"
    path.write_bytes((end.join(lines) + end).encode("utf-8"))
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (8, "line_item_unblended_cost", "n/a")
    ]


def test_a_file_whose_lines_end_in_a_cr_alone_is_read_row_by_row(tmp_path):
    """The same file without a blank line: read, each line at its row (the row numbers' check
    of such a file found no blank line and failed on an empty list of them)."""
    path = tmp_path / "mac.csv"
    path.write_bytes(_text().replace("\n", "\r").encode("utf-8"))
    con = open_store()
    import_reports(con, [path])
    rows = [r[0] for r in con.execute("SELECT x_SourceRow FROM lines ORDER BY 1").fetchall()]
    assert rows == list(range(2, 2 + len(cur2.records())))


#: The rows of a worksheet in Excel (2007 and later) and LibreOffice: a CSV opened in one keeps
#: only its first 1,048,576 rows, and saving it writes those.
SHEET_ROWS = 1_048_576


def _focus_rows(path: Path, rows: int) -> Path:
    """A FOCUS export of ``rows`` rows (header included) of one identical charge of 1.00 EUR
    (FOCUS lets a file repeat a row)."""
    line = b"1.00,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,EUR\r\n"
    path.write_bytes(
        b"BilledCost,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,BillingCurrency\r\n"
        + line * (rows - 1)
    )
    return path


@pytest.mark.slow  # a file of a million rows
def test_a_report_cut_at_a_spreadsheet_s_last_row_is_refused_naming_it(tmp_path):
    """A large export opened in Excel (or LibreOffice) loses every row after the sheet's last,
    1,048,576, and saving it wrote the rest: the lines after it were on no invoice, without a
    word. A text report that ends exactly at that row is refused naming the row."""
    path = _focus_rows(tmp_path / "focus-2026-10.csv", SHEET_ROWS)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    assert [(p.file, p.row) for p in err.value.problems] == [(str(path), SHEET_ROWS)]
    assert "1,048,576" in str(err.value) and "spreadsheet" in str(err.value)
    assert _lines(con) == (0, None)


@pytest.mark.slow  # a file of a million rows
def test_a_report_of_more_rows_than_a_spreadsheet_holds_is_read(tmp_path):
    path = _focus_rows(tmp_path / "focus-2026-10.csv", SHEET_ROWS + 1)
    con = open_store()
    [report] = import_reports(con, [path])
    assert report.rows == SHEET_ROWS
    assert _lines(con) == (SHEET_ROWS, SHEET_ROWS)
