"""Texts the invoice documents print: a blank one or one with a control character is refused
where the parameters are loaded, naming the file and the entry (billing_lib/printed_texts.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.invoices import load_invoicing, read_invoice_data
from billing_lib.pricing import load_pricing
from billing_lib.printed_texts import clean_text, clean_text_sql
from tests.invoice_helpers import parameters_copy

BLANK = "expected a text that is not blank (the invoice and the e-invoice print it)"
CONTROL = (
    "expected a text on one line without control characters (tab, newline: the PDF prints them "
    "as boxes, the workbook and the e-invoice otherwise); found {!r}"
)
NONCHARACTER = (
    "expected a text without Unicode noncharacters (U+FFFE, U+FFFF: the e-invoice cannot hold "
    "them, the PDF prints them as boxes); found U+{}"
)
ONE_OFF = (
    "  - {{id: {id}, customer: C003, kind: one_off, description: {text}, quantity: '1', "
    "unit: each, unit_price: '30.00', currency: EUR, date: 2026-10-03}}\n"
)


def _load(params: Path) -> None:
    customers = load_customers(params)
    load_invoicing(params, customers)
    load_pricing(params, customers)


def _edit(params: Path, name: str, old: str | None, new: str) -> None:
    path = params / name
    text = path.read_text(encoding="utf-8")
    if old is None:
        text += new
    else:
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "old", "new", "entry", "place", "problem"),
    [
        # a blank line text: the UBL's <cbc:Name>   </cbc:Name> fails EN 16931 BR-25
        ("custom_lines.yaml", None, ONE_OFF.format(id="h3", text='"   "'),
         "custom_lines[id=h3].description", "line 16, column 45", BLANK + "; got '   '"),
        # a newline and a tab: boxes in the PDF, dropped in the UBL, escaped in the workbook
        ("custom_lines.yaml", None, ONE_OFF.format(id="h2", text='"First line\\nSecond\\tline"'),
         "custom_lines[id=h2].description", "line 16, column 45",
         CONTROL.format("\n") + "; got 'First line\\nSecond\\tline'"),
        ("custom_lines.yaml", "quantity: 5, unit: hour", 'quantity: 5, unit: "hour\\f"',
         "custom_lines[id=c006-onboarding].unit", "line 13, column 19",
         CONTROL.format("\f") + "; got 'hour\\x0c'"),
        # an empty <cbc:CityName> (PEPPOL-EN16931-R008, NL-R-004)
        ("customers.yaml", 'city: "Rotterdam"', 'city: " "', "customers[id=C002].city", "line 35",
         BLANK + "; got ' '"),
        ("customers.yaml", "name: Dijkstra Architecten B.V.", 'name: "Dijkstra\\tArchitecten"',
         "customers[id=C001].name", "line 16",
         CONTROL.format("\t") + "; got 'Dijkstra\\tArchitecten'"),
        ("customers.yaml", "address: [Havenweg 8,", 'address: ["Havenweg\\r\\n8",',
         "customers[id=C002].address[0]", "line 33, column 15",
         CONTROL.format("\r") + "; got 'Havenweg\\r\\n8'"),
        ("customers.yaml", 'postal_code: "3089 JR"', 'postal_code: ""',
         "customers[id=C002].postal_code", "line 34", BLANK + "; got ''"),
        ("seller.yaml", "city: Utrecht", 'city: "  "', "city", "line 13", BLANK + "; got '  '"),
        ("seller.yaml", "name: Northwind Cloud B.V.", 'name: "Northwind\\u2028Cloud"', "name",
         "line 4",
         CONTROL.format("\u2028") + "; got 'Northwind\\u2028Cloud'"),
        ("seller.yaml", "bank: ABN AMRO Bank N.V.", 'bank: "ABN\\aAMRO"', "payment.bank",
         "line 24",
         CONTROL.format("\a") + "; got 'ABN\\x07AMRO'"),
        # a noncharacter: dropped from the e-invoice only, a box in the PDF, _xFFFE_ in the workbook
        ("customers.yaml", "name: Dijkstra Architecten B.V.", 'name: "Dijk\\uFFFEstra"',
         "customers[id=C001].name", "line 16",
         NONCHARACTER.format("FFFE") + "; got 'Dijk\\ufffestra'"),
        ("products.yaml", "{heading: Support,", '{heading: "Support\\uFDD0",',
         "product_groups.support.heading", "line 76, column 13",
         NONCHARACTER.format("FDD0") + "; got 'Support\\ufdd0'"),
        ("products.yaml", "{heading: Support,", '{heading: " ",',
         "product_groups.support.heading", "line 76, column 13", BLANK + "; got ' '"),
        ("products.yaml", "{name: VMware,", '{name: "VM\\x01ware",', "vendors.vmware.name",
         "line 61, column 12",
         CONTROL.format("\x01") + "; got 'VM\\x01ware'"),
        ("vat_rules.yaml", 'label: "VAT 21 %"', 'label: "VAT\\t21 %"', "rules.domestic.label",
         "line 22",
         CONTROL.format("\t") + "; got 'VAT\\t21 %'"),
        ("price_plans.yaml", "description: AWS refund passed on", 'description: "  "',
         "plans[id=smb].rules[id=aws-refunds].description", "line 29, column 10",
         BLANK + "; got '  '"),
    ],
)  # fmt: skip
def test_a_blank_text_or_one_with_control_characters_is_refused_naming_the_entry(
    tmp_path, name, old, new, entry, place, problem
):
    params = parameters_copy(tmp_path)
    # ``place`` is the line of ``old`` in the file (and a column there): found in the file, so
    # a comment added above it moves the line named, not the test's expectation
    if old is not None:
        lines = (params / name).read_text(encoding="utf-8").splitlines()
        at = next(n for n, text in enumerate(lines, 1) if old in text)
        place = re.sub(r"^line \d+", f"line {at}", place)
    _edit(params, name, old, new)
    with pytest.raises(ParameterError) as raised:
        _load(params)
    assert str(raised.value) == f"{params / name}, {place}, entry {entry}: {problem}"


def test_the_sample_parameters_texts_are_all_printable(tmp_path):
    _load(parameters_copy(tmp_path))  # nothing refused


def test_a_run_read_back_keeps_the_seller_s_texts_as_issued(sample_outputs, tmp_path):
    """``invoices.json`` holds the seller as it was printed: a run billed before the check came
    stays readable, to be credited."""
    data = json.loads((sample_outputs / "2026-10" / "invoices.json").read_text(encoding="utf-8"))
    data["seller"]["city"] = " "
    (tmp_path / "invoices.json").write_text(json.dumps(data), encoding="utf-8")
    seller, _ = read_invoice_data(tmp_path / "invoices.json")
    assert seller.city == " "


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("  Amazon\tSimple Storage\nService  ", "Amazon Simple Storage Service"),
        ("Data\r\n\x0ctransfer\x01\x7f\x85out\u2028", "Data transfer out"),
        ("Amazon  EC2", "Amazon EC2"),
        ("10\u00a0GB", "10\u00a0GB"),  # a no-break space is a character the font draws
        # noncharacters: no document can carry them (XML has no U+FFFE), so none prints them
        ("Amazon\ufffe S3\uffff \ufdd0backup\U0010ffff", "Amazon S3 backup"),
        ("\ufffe\U0001ffff", None),
        (" \t\n ", None),
        ("", None),
        (None, None),
    ],
)
def test_a_vendor_text_is_printed_on_one_line_or_not_at_all(text, printed):
    """The line texts are made in SQL, the units in Python: the two normalise alike."""
    con = duckdb.connect()
    assert con.execute(f"SELECT {clean_text_sql('?')}", [text]).fetchone() == (printed,)
    assert clean_text(text) == printed
