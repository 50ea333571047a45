"""The usage sheets print a vendor's texts as the invoice sheet, the PDF and the e-invoice print
them (``printed_texts.printed``); the detail files beside the workbook keep them as the vendor
wrote them."""

from __future__ import annotations

import zipfile

import openpyxl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_lib.printed_columns import printed_column
from billing_lib.printed_texts import printed
from billing_lib.workbooks import write_workbooks
from tests.invoice_helpers import line
from tests.test_workbooks import make, with_limit

#: A vendor's texts with a noncharacter (U+FFFE, U+FFFF, U+FDD0, U+1FFFE) or a control character
#: in them, as a line's service, SKU, description, resource, tags and unit.
ODD = {
    "service": "Amazon\ufffe EC2",
    "sku": "Box\x0bUsage",
    "description": "Zeta\ufdd0 backup\tnightly",
    "subscription": "arn:aws:s3:::zeta\U0001fffe-data",
    "subscription_name": "zeta\uffff data",
    "tags": '{"Name": "web\ufffe-01\u2028"}',
    "unit": "GB\x85-Mo",
}


def _odd_rows() -> list[dict]:
    return [line("C003", "1.25", **ODD, source_row=2 + k) for k in range(3)]


@pytest.mark.parametrize("limit", ["1000", "2"], ids=["every line", "summarised"])
def test_a_usage_sheet_prints_a_vendor_s_text_as_the_invoice_does(tmp_path, limit):
    """A noncharacter in a vendor's text was dropped by the invoice sheet, the PDF and the
    e-invoice (``printed``) but written into the usage sheets, where it read ``_xFFFE_``; a
    vertical tab or a NEL was escaped (``_x000B_``) too. Each text of a usage sheet, every line
    or summarised, is printed as the invoice prints it."""
    con, [inv], invoicing = make(tmp_path, _odd_rows(), with_limit(tmp_path, limit))
    [path, detail, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    with zipfile.ZipFile(path) as book:
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
    assert "_x" not in strings  # nothing escaped
    ws = openpyxl.load_workbook(path)["Usage Amazon Web Services"]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    expected = {printed(ODD[c]) for c in ("service", "sku", "description", "unit")}
    assert expected == {"Amazon EC2", "Box Usage", "Zeta backup nightly", "GB -Mo"}
    assert expected <= texts
    resource = "zeta data (arn:aws:s3:::zeta-data)"
    assert resource in texts
    if limit == "1000":  # the tags are on the sheet of every line
        assert '{"Name": "web-01 "}' in texts
    # the detail file is the vendor's data, for the customer's tools: kept as the vendor wrote it
    got = con.execute(
        "SELECT DISTINCT service, sku, description, subscription, subscription_name, tags, unit "
        "FROM read_parquet(?)",
        [str(detail)],
    ).fetchall()
    assert got == [tuple(ODD.values())]


#: Characters ``printed`` changes, and some it keeps that share their first UTF-8 byte with one
#: (an en dash, a euro sign, an ellipsis, U+FDF0, U+FFFD, an emoji, U+10FFFD).
CHANGED = "\x00\t\x0b\x1f\x7f\x80\x85\x9f\u2028\u2029\ufdd0\ufdef\ufffe\uffff\U0001fffe\U0010ffff"
KEPT = "a Zü\xa0\xa0\u2013\u20ac\u2026\u2027\u202a\ufdf0\ufffd\U0001f600\U0001fffd\U0010fffd"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(st.sampled_from(CHANGED + KEPT))), max_size=12),
    st.integers(0, 3),
    st.integers(1, 4),
)
def test_a_column_of_texts_is_printed_as_each_text_is(texts, skip, parts):
    """``printed_column`` (numpy finding the texts to change, RE2 changing them) gives each text
    as ``printed`` does, in a sliced column of several chunks, with its NULLs."""
    size = -(-len(texts) // parts) or 1
    chunks = [pa.array(texts[k : k + size], pa.string()) for k in range(0, len(texts), size)]
    column = pa.chunked_array([c.slice(min(skip, len(c))) for c in chunks], pa.string())
    kept = column.to_pylist()
    assert printed_column(column).to_pylist() == [t if t is None else printed(t) for t in kept]


def test_a_clean_column_is_left_as_it_is():
    column = pa.chunked_array([["Amazon EC2 – web-prod-01", None, "€ 5 … Zürich"]])
    assert printed_column(column) is column
