"""The PDF and the UBL e-invoice (Peppol BIS Billing 3.0) of every invoice of the sample month:
written beside the workbook with the same figures, the PDF's text showing the number, every line
and the totals, every UBL document valid against the UBL 2.1 schema and the EN 16931 rules
(offline, tests/ubl_validation.py), and a wrong total failing validation by its rule."""

from __future__ import annotations

import base64
import csv
import itertools
import json
import shutil
import unicodedata
import zipfile
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from PIL import Image
from pypdf import PdfReader

from billing_lib import run
from billing_lib.documents import document_writer, write_documents
from billing_lib.errors import ParameterError
from billing_lib.invoice_files import invoice_from_record, invoice_record
from billing_lib.invoice_model import NationalVat, country_name, national_vat_note, negated
from billing_lib.invoice_pdf import amount_text, quantity_text, unit_price_text
from billing_lib.invoice_sheet import payment_lines
from billing_lib.invoices import Invoice, InvoiceLine, build_invoices, read_invoice_data
from billing_lib.numbering import open_register
from billing_lib.pdf_fonts import PLAIN, _drawable, missing_glyphs, right_to_left
from billing_lib.ubl import CAC, CBC, ubl_document, ubl_unavailable
from billing_lib.vat import VATEX_CODES, VatRule
from billing_lib.workbooks import write_credit_note_workbook, write_invoice_workbook
from tests import invoice_helpers as helpers
from tests.notebook_project import PERIOD, REPO
from tests.ubl_validation import (
    en16931_vatex_codes,
    fatal_rules,
    peppol_findings,
    rule_findings,
    schema_errors,
)

D = Decimal
NS = {"cac": CAC, "cbc": CBC}


@pytest.fixture(scope="module")
def folder(sample_outputs) -> Path:
    """The sample month's published run folder (the session's: read only)."""
    return sample_outputs / "2026-10"


@pytest.fixture(scope="module")
def issued(folder):
    """The seller block and the invoices (by number) the run stored."""
    return read_invoice_data(folder / "invoices.json")


def pdf_text(path: Path) -> str:
    """The PDF's text, runs of whitespace as one space (each drawn string is a line of its own)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def squeezed(text: str) -> str:
    """Text without whitespace: a description wrapped over two lines still matches."""
    return "".join(text.split())


def xml_of(folder: Path, inv: Invoice) -> etree._Element:
    return etree.parse(str(folder / "invoices" / f"{inv.number}_{inv.customer_id}.xml")).getroot()


def value(doc: etree._Element, path: str) -> str:
    [found] = doc.xpath(path, namespaces=NS)
    return found.text if isinstance(found, etree._Element) else str(found)


# -- the run folder -------------------------------------------------------------------------------


def test_every_invoice_has_its_workbook_pdf_and_ubl_listed_in_the_manifest(folder, issued):
    _, invoices = issued
    stems = {f"{n}_{i.customer_id}" for n, i in invoices.items()}
    files = {p.name for p in (folder / "invoices").iterdir()}
    assert len(stems) == 9
    assert files == {
        f"{s}{ext}" for s in stems for ext in (".xlsx", ".usage.parquet", ".pdf", ".xml")
    }
    listed = {o["file"] for o in json.loads((folder / "manifest.json").read_text())["outputs"]}
    assert {f"invoices/{f}" for f in files} <= listed


def test_the_ubl_totals_are_the_invoice_summary_s_to_the_cent(folder, issued):
    _, invoices = issued
    rows = list(csv.DictReader((folder / "invoice_summary.csv").open(encoding="utf-8")))
    assert len(rows) == len(invoices)
    for row in rows:
        doc = xml_of(folder, invoices[row["invoice_number"]])
        total = "cac:LegalMonetaryTotal/cbc:"
        assert value(doc, "cbc:ID") == row["invoice_number"]
        assert value(doc, "cbc:DocumentCurrencyCode") == row["currency"]
        assert value(doc, total + "TaxExclusiveAmount") == row["net_amount"]
        assert value(doc, total + "LineExtensionAmount") == row["net_amount"]
        assert value(doc, "cac:TaxTotal/cbc:TaxAmount") == row["vat_amount"]
        assert value(doc, total + "TaxInclusiveAmount") == row["gross_amount"]
        assert value(doc, total + "PayableAmount") == row["gross_amount"]


def test_the_ubl_lines_are_the_invoice_s_lines(folder, issued):
    _, invoices = issued
    for inv in invoices.values():
        doc = xml_of(folder, inv)
        lines = doc.findall(f"{{{CAC}}}InvoiceLine")
        assert [value(ln, "cac:Item/cbc:Name") for ln in lines] == [
            ln.description for ln in inv.lines
        ]
        assert [D(value(ln, "cbc:LineExtensionAmount")) for ln in lines] == [
            ln.amount for ln in inv.lines
        ]


def ubl_figures(doc: etree._Element) -> list[tuple[str, str, str, str]]:
    """(quantity, unit code, net price, net amount) of each line of a UBL document."""
    return [
        (q.text, q.get("unitCode"), value(ln, "cac:Price/cbc:PriceAmount"), amount)
        for ln in doc.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=NS)
        for q in ln.xpath("cbc:InvoicedQuantity | cbc:CreditedQuantity", namespaces=NS)
        for amount in [value(ln, "cbc:LineExtensionAmount")]
    ]


def test_the_ubl_lines_state_the_quantity_and_price_the_invoice_shows_in_a_unit_ubl_knows(
    folder, issued
):
    """A line showing its quantity and unit price in a unit with a UN/ECE Rec 20 code states
    them (seats, hours, days, gigabytes), its price never negative (BR-27); one with several
    prices, or a unit with no code (GB-Mo, a VMware Point), states 1 at its amount. Either
    way quantity x price rounds to the amount, as on the invoice (PEPPOL-EN16931-R120)."""
    _, invoices = issued
    seen = {}
    for inv in invoices.values():
        for line, figures in zip(inv.lines, ubl_figures(xml_of(folder, inv)), strict=True):
            seen[(inv.customer_id, line.description)] = figures
            quantity, _, price, amount = figures
            computed = (D(quantity) * D(price)).quantize(D("0.01"), ROUND_HALF_UP)
            assert computed == D(amount), (inv.number, line.description)
            assert D(price) >= 0
    assert seen[("C002", "Microsoft 365 E3 (no Teams)")] == ("85", "C62", "33.072", "2811.12")
    credit = ("C002", "Exchange Online (Plan 1) – credit (2026-10-04 to 2026-10-31)")
    assert seen[credit] == ("-5", "C62", "3.5404", "-17.70")
    assert seen[("C007", "Virtual Machines")] == ("744", "HUR", "0.1141", "84.89")
    assert seen[("C006", "IoT Hub")] == ("31", "DAY", "0.7028", "21.79")
    assert seen[("C006", "Onboarding IoT workload")] == ("5", "HUR", "95.00", "475.00")
    assert seen[("C008", "AWS Data Transfer")] == ("9367.78", "E34", "0.0981", "918.98")
    # several prices: no price to state; a unit without a code: not stated in another unit
    assert seen[("C001", "Amazon Elastic Compute Cloud")] == ("1", "C62", "793.43", "793.43")
    assert seen[("C004", "NSX Advanced")] == ("1", "C62", "336.30", "336.30")
    assert seen[("C004", "Service credit (SLA, incident 14 October)")] == (
        "-1",
        "C62",
        "200.00",
        "-200.00",
    )


def test_a_ubl_line_whose_price_does_not_give_its_amount_fails_peppol_s_rule(issued):
    """The check is sharp: a price that does not give the amount fails it. The e-invoice never
    states one: a line whose shown price is more than 0.02 off states 1 at its amount."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C002")
    k = next(k for k, ln in enumerate(inv.lines) if ln.description == "Microsoft Teams Enterprise")
    doc = etree.fromstring(ubl_document(inv, seller))
    line = doc.xpath("cac:InvoiceLine", namespaces=NS)[k]
    line.find(f"{{{CAC}}}Price/{{{CBC}}}PriceAmount").text = "5.31"
    assert [f for f in peppol_findings(etree.tostring(doc)) if "R120" in f] == [
        f"PEPPOL-EN16931-R120: line {k + 1}: 85 x 5.31 / 1 = 451.35, not its net amount 450.50"
    ]
    wrong = replace(inv.lines[k], display_unit_price=D("5.31"))
    data = ubl_document(replace(inv, lines=(*inv.lines[:k], wrong, *inv.lines[k + 1 :])), seller)
    assert peppol_findings(data) == []
    assert ubl_figures(etree.fromstring(data))[k] == ("1", "C62", "450.50", "450.50")


def test_every_ubl_document_passes_the_ubl_schema_and_the_en16931_rules(folder):
    docs = sorted((folder / "invoices").glob("*.xml"))
    assert len(docs) == 9
    for path in docs:
        data = path.read_bytes()
        assert schema_errors(data) == [], path.name
        assert rule_findings(data) == [], path.name
        assert peppol_findings(data) == [], path.name


def test_the_vat_category_follows_the_customer_s_rule(folder, issued):
    _, invoices = issued
    by_customer = {i.customer_id: i for i in invoices.values()}
    category = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/"
    nl = xml_of(folder, by_customer["C001"])
    assert (value(nl, category + "cbc:ID"), value(nl, category + "cbc:Percent")) == ("S", "21")
    assert nl.xpath(category + "cbc:TaxExemptionReasonCode", namespaces=NS) == []
    be = xml_of(folder, by_customer["C005"])
    assert [value(be, category + t) for t in ("cbc:ID", "cbc:TaxExemptionReasonCode")] == [
        "AE",
        "VATEX-EU-AE",
    ]
    assert "Art. 196" in value(be, category + "cbc:TaxExemptionReason")
    assert value(be, "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") == (
        "BE0456789133"
    )
    # services to a business outside the EU: not subject to EU VAT (O), as the mention says;
    # G (VATEX-EU-G, "export outside the EU") is the export of goods, Art. 146 Directive
    # 2006/112/EC, which the e-invoice claimed beside "Outside the scope of EU VAT"
    for customer in ("C007", "C008"):
        abroad = xml_of(folder, by_customer[customer])
        assert [value(abroad, category + t) for t in ("cbc:ID", "cbc:TaxExemptionReasonCode")] == [
            "O",
            "VATEX-EU-O",
        ]
        assert value(abroad, category + "cbc:TaxExemptionReason") == "Outside the scope of EU VAT"


def test_parties_payment_and_references_come_from_the_parameters(folder, issued):
    _, invoices = issued
    by_customer = {i.customer_id: i for i in invoices.values()}
    doc = xml_of(folder, by_customer["C005"])
    seller = "cac:AccountingSupplierParty/cac:Party/"
    buyer = "cac:AccountingCustomerParty/cac:Party/"
    assert value(doc, seller + "cbc:EndpointID") == "81234567"
    assert value(doc, seller + "cbc:EndpointID/@schemeID") == "0106"
    assert value(doc, seller + "cac:PartyLegalEntity/cbc:CompanyID") == "81234567"
    assert value(doc, seller + "cac:PartyTaxScheme/cbc:CompanyID") == "NL867890125B01"
    assert value(doc, seller + "cac:PostalAddress/cbc:PostalZone") == "3511 GB"
    assert value(doc, buyer + "cbc:EndpointID") == "0456789133"
    assert value(doc, buyer + "cbc:EndpointID/@schemeID") == "0208"
    assert value(doc, buyer + "cac:PartyLegalEntity/cbc:CompanyID/@schemeID") == "0208"
    assert value(doc, buyer + "cac:PostalAddress/cbc:CityName") == "Antwerpen"
    assert doc.xpath(buyer + "cac:PostalAddress/cbc:AdditionalStreetName", namespaces=NS) == []
    us = xml_of(folder, by_customer["C008"])  # 200 Seaport Boulevard, Suite 510, Boston, MA ...
    assert value(us, buyer + "cac:PostalAddress/cbc:AdditionalStreetName") == "Suite 510"
    assert value(doc, buyer + "cac:PostalAddress/cac:Country/cbc:IdentificationCode") == "BE"
    assert (
        value(doc, "cbc:BuyerReference")
        == value(doc, "cac:OrderReference/cbc:ID")
        == ("PO 4500123987")
    )
    inv = by_customer["C005"]
    assert value(doc, "cbc:DueDate") == inv.due_date.isoformat()
    assert value(doc, "cac:PaymentMeans/cbc:PaymentMeansCode") == "58"
    assert value(doc, "cac:PaymentMeans/cbc:PaymentID") == inv.number
    assert value(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == "NL91ABNA0417164300"
    # without a peppol_id, the customer's email is its electronic address: an EN 16931 invoice
    # sent by e-mail, not a Peppol one (Peppol's address schemes have no EM, PEPPOL-EN16931-CL008)
    bakery = xml_of(folder, by_customer["C003"])
    assert value(bakery, buyer + "cbc:EndpointID") == "info@goudenkorst.example"
    assert value(bakery, buyer + "cbc:EndpointID/@schemeID") == "EM"
    assert value(bakery, "cbc:CustomizationID") == "urn:cen.eu:en16931:2017"
    assert value(doc, "cbc:CustomizationID") == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    )
    # a USD invoice is paid by credit transfer, not SEPA
    assert value(xml_of(folder, by_customer["C008"]), "cac:PaymentMeans/cbc:PaymentMeansCode") == (
        "30"
    )


def test_the_pdf_is_embedded_in_the_ubl_document_as_written(folder, issued):
    _, invoices = issued
    inv = next(iter(invoices.values()))
    doc = xml_of(folder, inv)
    [obj] = doc.xpath(
        "cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject",
        namespaces=NS,
    )
    assert (obj.get("mimeCode"), obj.get("filename")) == (
        "application/pdf",
        f"{inv.number}_{inv.customer_id}.pdf",
    )
    pdf = folder / "invoices" / obj.get("filename")
    assert base64.b64decode(obj.text) == pdf.read_bytes()


# -- the PDF --------------------------------------------------------------------------------------


def test_the_pdf_shows_the_number_every_line_and_the_totals(folder, issued):
    seller, invoices = issued
    for inv in invoices.values():
        path = folder / "invoices" / f"{inv.number}_{inv.customer_id}.pdf"
        reader = PdfReader(path)
        box = reader.pages[0].mediabox
        assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (
            210,
            297,
        )
        text = pdf_text(path)
        flat = squeezed(text)
        assert inv.number in text and "INVOICE" in text
        assert squeezed(inv.buyer.name) in flat and seller.payment.iban[:4] in text
        for line in inv.lines:
            assert squeezed(line.description) in flat, line.description
            assert amount_text(line.amount, inv.currency) in text
            if line.display_quantity is not None:
                assert quantity_text(line.display_quantity) in text
            if line.display_unit_price is not None:
                assert unit_price_text(line.display_unit_price, inv.currency) in text
        for v in inv.vat:
            assert v.label in text
        for label, amount in (("Net", inv.net), ("VAT", inv.vat_total)):
            assert f"{label} {amount_text(amount, inv.currency)}" in text
        assert f"Total {inv.currency} {amount_text(inv.gross, inv.currency)}" in text
        assert f"Please pay {inv.currency} {amount_text(inv.gross, inv.currency)} by" in text
        assert f"Due date {inv.due_date.isoformat()}" in text
        assert seller.payment.instructions in text


def test_a_minimum_fee_s_line_prints_its_amounts_as_the_invoice_prints_amounts(folder, issued):
    """The sample's minimum-fee top-ups (C003, C005) read "(minimum 75.00 EUR, used 58.71)",
    the currency after the minimum and missing beside "used", while the rest of the invoice
    prints "EUR 3,127.29". They now print every amount as the invoice does, in the workbook, the
    PDF and the e-invoice alike (``money.money_grouped_sql``)."""
    _, invoices = issued
    got = {
        inv.customer_id: [ln.description for ln in inv.lines if " (minimum " in ln.description]
        for inv in invoices.values()
    }
    assert {c: texts for c, texts in got.items() if texts} == {
        "C003": ["Minimum monthly fee for cloud services (minimum EUR 75.00, used EUR 58.71)"],
        "C005": ["VMware Cloud Director minimum (minimum EUR 60.00, used EUR 59.40)"],
    }
    for inv in invoices.values():
        for text in got[inv.customer_id]:
            stem = folder / "invoices" / f"{inv.number}_{inv.customer_id}"
            assert squeezed(text) in squeezed(pdf_text(stem.with_suffix(".pdf")))
            sheet = openpyxl.load_workbook(stem.with_suffix(".xlsx"), read_only=True)["Invoice"]
            assert text in {c for row in sheet.iter_rows(values_only=True) for c in row}


def test_the_buyer_s_country_is_named_once_and_only_for_a_buyer_abroad(folder, issued):
    _, invoices = issued
    by_customer = {inv.customer_id: inv for inv in invoices.values()}
    texts = {
        c: pdf_text(folder / "invoices" / f"{i.number}_{c}.pdf") for c, i in by_customer.items()
    }
    assert all("Country:" not in t for t in texts.values())
    # domestic (NL, the seller's country): the address as a Dutch letter carries it
    assert by_customer["C001"].buyer_address() == ["Oudegracht 112", "3511 AV Utrecht"]
    assert "Netherlands" not in texts["C001"].replace("The Netherlands", "", 1)
    # abroad, the address already ending in the country: not repeated
    assert by_customer["C005"].buyer_address()[-1] == "Belgium"
    assert texts["C005"].count("Belgium") == 1
    assert by_customer["C008"].buyer_address()[-1] == "Boston, MA 02210, United States"
    # abroad, the address without it: the country's English name added as the last line
    bare = replace(
        by_customer["C006"],
        buyer=replace(by_customer["C006"].buyer, address=("Industriestraße 41", "47119 Duisburg")),
    )
    assert bare.buyer_address() == ["Industriestraße 41", "47119 Duisburg", "Germany"]


@pytest.mark.parametrize(
    "customer, written",
    [("C006", "Deutschland"), ("C006", "DUITSLAND"), ("C007", "Schweiz"), ("C005", "Belgique")],
)
def test_a_country_written_in_its_own_or_the_seller_s_language_is_not_named_again(
    issued, customer, written
):
    """An address copied from the customer's letterhead ends in "Deutschland" (or a Dutch
    reseller's "Duitsland"): the invoice added "Germany" below it, and the e-invoice gave
    "Deutschland" as an additional street name."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == customer)
    address = (*inv.buyer.address[:2], written)
    inv = replace(inv, buyer=replace(inv.buyer, address=address))
    assert inv.buyer_address() == list(address)
    doc = etree.fromstring(ubl_document(inv, seller))
    street = "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:AdditionalStreetName"
    assert doc.xpath(street, namespaces=NS) == []


@pytest.mark.parametrize(
    "customer, address, city, postal_code",
    [
        ("C006", ("Haus 3, 2. OG", "Berliner Straße 44", "10713 Berlin"), "Berlin", "10713"),
        ("C005", ("Diamond House", "Belgiëlei 12", "2018 Antwerpen"), "Antwerpen", "2018"),
        # a building or business park named after the place it is in
        (
            "C001",
            ("Heidelberglaan 8", "Utrecht Science Park, gebouw Koningsberger", "3584 CS Utrecht"),
            "Utrecht",
            "3584 CS",
        ),
        (
            "C009",
            ("Evert van de Beekstraat 1", "Schiphol Airport, The Base B", "1118 CL Schiphol"),
            "Schiphol",
            "1118 CL",
        ),
    ],
)
def test_a_street_named_after_the_city_or_country_stays_in_the_e_invoice_address(
    issued, customer, address, city, postal_code
):
    """The e-invoice left out every address line after the first that held the city's, the
    postcode's or the country's name anywhere, even inside a word: the buyer's street,
    "Berliner Straße 44" in Berlin or "Belgiëlei 12" (België), was missing from its address; so
    was a line naming the city among other words ("Utrecht Science Park, gebouw ..."): only a
    line with the postcode, or naming nothing but the place (city, state, country), is left
    out."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == customer)
    buyer = replace(inv.buyer, address=address, city=city, postal_code=postal_code)
    inv = replace(inv, buyer=buyer)
    data = ubl_document(inv, seller)
    doc = etree.fromstring(data)
    postal = "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/"
    assert value(doc, postal + "cbc:StreetName") == address[0]
    assert value(doc, postal + "cbc:AdditionalStreetName") == address[1]
    assert value(doc, postal + "cbc:CityName") == city
    assert doc.xpath(postal + "cac:AddressLine", namespaces=NS) == []  # the city's line left out
    assert schema_errors(data) == [] and fatal_rules(data) == []


def test_a_city_named_like_the_country_inside_a_word_still_gets_the_country_line(issued):
    """A city written "Brasilia" (without its accent) holds "Brasil", Brazil in Portuguese: the
    printed address ended with the city's line, without the country a letter from abroad needs."""
    _, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C008")
    buyer = replace(
        inv.buyer,
        address=("SAUS Quadra 1, Bloco M", "70070-010 Brasilia - DF"),
        country="BR",
        state=None,
        city="Brasilia",
        postal_code="70070-010",
    )
    assert replace(inv, buyer=buyer).buyer_address() == [*buyer.address, "Brazil"]
    # a line naming the country as a word of its own still counts
    named = replace(buyer, address=(*buyer.address[:1], "70070-010 Brasilia - DF, Brasil"))
    assert replace(inv, buyer=named).buyer_address() == list(named.address)


def credit_balance_invoice(inv: Invoice) -> Invoice:
    """``inv`` with every figure negated but still an invoice: a month whose credits exceed its
    charges."""
    credit = negated(inv, inv.number, inv.issue_date, None)
    return replace(credit, kind="invoice", refers_to=None, due_date=inv.due_date)


def test_nothing_to_pay_shows_no_due_date_terms_or_late_payment_text(issued, tmp_path):
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C001")
    assert seller.payment.instructions and "Statutory" in seller.payment.instructions
    balance = credit_balance_invoice(inv)
    assert balance.credit_balance and not balance.payable
    [pdf, xml] = write_documents([balance], seller, tmp_path, None)
    text = pdf_text(pdf)
    assert "Credit balance of EUR 3,127.29 in your favour: nothing to pay" in text
    assert "Due date" not in text and inv.due_date.isoformat() not in text
    assert seller.payment.instructions not in text and "Please pay" not in text
    data = xml.read_bytes()
    doc = etree.fromstring(data)
    assert doc.xpath("cbc:DueDate | cac:PaymentTerms", namespaces=NS) == []
    assert value(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == seller.payment.iban
    assert value(doc, "cbc:Note") == "Credit balance in the customer's favour: nothing to pay."
    assert value(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "-3127.29"
    assert schema_errors(data) == [] and rule_findings(data) == []
    assert peppol_findings(data) == []


def test_a_credit_note_cancelling_a_credit_balance_charges_it_and_asks_for_payment(
    issued, tmp_path
):
    """The credit note of an invoice whose credits exceeded its charges is a charge to the
    customer: its PDF, workbook and e-invoice say so, with the amount to pay, the due date (its
    issue date plus the customer's payment terms) and the payment details, never that the amount
    is credited."""
    seller, invoices = issued
    balance = replace(
        credit_balance_invoice(next(i for i in invoices.values() if i.customer_id == "C001")),
        number="NW2026-000012",
    )
    issued_on = date(2026, 12, 3)
    note = negated(balance, "NWC2026-000002", issued_on, "Goodwill credit entered twice")
    assert note.gross == D("3127.29") and note.payable and not note.credit_balance
    assert note.due_date == issued_on + timedelta(days=note.payment_terms_days)
    due = note.due_date.isoformat()
    [pdf, xml] = write_documents([note], seller, tmp_path, None)
    workbook = write_credit_note_workbook(note, seller, tmp_path / "note.xlsx")
    cells = [
        c.value
        for row in openpyxl.load_workbook(workbook).worksheets[0].iter_rows()
        for c in row
        if c.value is not None
    ]
    charged = (
        f"This credit note cancels invoice NW2026-000012 of {balance.issue_date.isoformat()} and "
        "its credit balance of EUR 3,127.29 in your favour: EUR 3,127.29 is charged to your "
        "account."
    )
    pay = (
        f"Please pay EUR 3,127.29 by {due} ({note.payment_terms_days} days) quoting NWC2026-000002"
    )
    for text in (pdf_text(pdf), " ".join(str(c) for c in cells)):
        assert charged in text and pay in text
        assert "credited to your account" not in text
        assert seller.payment.instructions in text
    assert "Due date" in cells and note.due_date in [c.date() for c in cells if hasattr(c, "date")]
    data = xml.read_bytes()
    doc = etree.fromstring(data)
    assert value(doc, "cac:PaymentMeans/cbc:PaymentDueDate") == due
    assert value(doc, "cac:PaymentMeans/cbc:PaymentID") == "NWC2026-000002"
    assert value(doc, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == seller.payment.iban
    assert due in value(doc, "cac:PaymentTerms/cbc:Note")
    assert value(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "-3127.29"
    assert schema_errors(data) == [] and rule_findings(data) == []
    assert peppol_findings(data) == []
    # the credit note of an invoice with something to pay: credited, nothing asked, as before
    plain = negated(
        next(i for i in invoices.values() if i.customer_id == "C001"),
        "NWC2026-000003",
        issued_on,
        None,
    )
    assert not plain.payable and plain.due_date == issued_on
    [pdf] = [
        p for p in write_documents([plain], seller, tmp_path / "plain", None) if p.suffix == ".pdf"
    ]
    text = pdf_text(pdf)
    assert "EUR 3,127.29 is credited to your account" in text and "Please pay" not in text


def test_a_ubl_credit_note_s_lines_describe_the_amounts_it_states(issued):
    """A UBL CreditNote states the cancelled invoice's amounts with their own sign (UBL's
    convention), so each line's description (quantity x unit price) is the invoice's too: never
    "-60 Licenses x 3.922 EUR" beside 235.32."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C004")
    path = "cac:{0}Line/cbc:LineExtensionAmount | cac:{0}Line/cac:Item/cbc:Description"

    def lines(doc: etree._Element, kind: str) -> list[str]:
        return [e.text for e in doc.xpath(path.format(kind), namespaces=NS)]

    invoice = lines(etree.fromstring(ubl_document(inv, seller)), "Invoice")
    note = negated(inv, "NWC2026-000002", inv.issue_date, None)
    credit = lines(etree.fromstring(ubl_document(note, seller)), "CreditNote")
    assert credit == invoice
    assert ubl_figures(etree.fromstring(ubl_document(note, seller))) == ubl_figures(
        etree.fromstring(ubl_document(inv, seller))
    )
    assert "Managed services: -1 each x 200.00 EUR" in credit
    assert "Microsoft: 60 Licenses x 3.922 EUR" in credit


def test_a_credit_line_that_rounds_to_nothing_states_the_quantity_the_invoice_shows(tmp_path):
    """A credit of half a seat at a tiny price (-0.5 x 0.004 = -0.002) rounds to 0.00: the
    invoice, its workbook, its PDF and its e-invoice all show quantity -0.5 at 0.004 and amount
    0.00 (never "-0.00"), and so does a custom credit of 0.5 at -0.004. The e-invoice took the
    quantity's sign from the rounded amount, 0.00, and stated +0.5; its price stays positive
    (BR-27) and quantity x price within 0.02 of the amount (PEPPOL-EN16931-R120). A credit note
    of it states the invoice's figures (UBL's sign convention), its text too."""
    rows = [
        helpers.line("C001", "40.00", vendor="microsoft", service="Microsoft 365 E3",
             quantity="10", unit="Licenses", unit_price="4.00"),
        helpers.line("C001", "-0.002", vendor="microsoft", service="Exchange Online (Plan 1)",
             charge_category="Credit", quantity="-0.5", unit="Licenses", unit_price="0.004"),
        helpers.line("C001", "-0.002", kind="credit", product_group="managed_services",
             description="Goodwill credit", quantity="0.5", unit="each", unit_price="-0.004"),
    ]  # fmt: skip
    con, customers, invoicing = helpers.setup(rows)
    register = open_register(tmp_path / "register.sqlite")
    [inv] = build_invoices(con, customers, invoicing, helpers.PERIOD, register, helpers.ISSUED)
    seller = invoicing.seller
    tiny = [ln for ln in inv.lines if not ln.amount]
    assert [ln.description for ln in tiny] == [
        "Exchange Online (Plan 1) – credit",
        "Goodwill credit",
    ]
    for ln in tiny:
        assert (ln.display_quantity, ln.display_unit_price) == (D("-0.5"), D("0.004"))
        assert str(ln.amount) == "0.00"
    assert inv.net == D("40.00")

    note = negated(inv, "NWC2026-000002", inv.issue_date, None)
    written = {}
    for doc in (inv, note):
        data = ubl_document(doc, seller)
        assert schema_errors(data) == [] and rule_findings(data) == [], doc.kind
        assert peppol_findings(data) == [], doc.kind
        root = etree.fromstring(data)
        figures = ubl_figures(root)
        texts = [e.text for e in root.xpath("//cac:Item/cbc:Description", namespaces=NS)]
        written[doc.kind] = (figures, texts)
        for k, ln in enumerate(inv.lines):
            if ln in tiny:
                quantity, *rest = figures[k]
                assert (D(quantity), *rest) == (D("-0.5"), "C62", "0.004", "0.00"), doc.kind
    assert written["credit_note"] == written["invoice"]
    assert "Microsoft: -0.5 Licenses x 0.004 EUR" in written["credit_note"][1]

    [pdf, _] = write_documents([inv], seller, tmp_path / "docs", None)
    text = pdf_text(pdf)
    assert "-0.00" not in text and "-0.004" not in text
    # each drawn string is a line of the text: the figures come before the description
    assert "-0.5 Licenses 0.004 21 % 0.00 Exchange Online (Plan 1) – credit" in text
    assert "-0.5 each 0.004 21 % 0.00 Goodwill credit" in text
    books = {
        -1: write_invoice_workbook(inv, seller, {}, None, tmp_path / "invoice.xlsx"),
        1: write_credit_note_workbook(note, seller, tmp_path / "note.xlsx"),
    }
    for sign, book in books.items():  # a credit note shows the quantity with its sign changed
        cells = {
            row[0].value: [c.value for c in row[1:6]]
            for row in openpyxl.load_workbook(book).worksheets[0].iter_rows()
            if row[0].value in ("Exchange Online (Plan 1) – credit", "Goodwill credit")
        }
        assert len(cells) == 2
        for quantity, _, price, _, amount in cells.values():
            assert (quantity, price, amount) == (sign * 0.5, 0.004, 0), book.name
        # no cell holds -0 (openpyxl reads it as 0; a spreadsheet may show "-0.00")
        with zipfile.ZipFile(book) as xlsx:
            assert "<v>-0</v>" not in xlsx.read("xl/worksheets/sheet1.xml").decode(), book.name


def test_vendor_text_is_drawn_as_it_is_never_as_markup_and_in_any_script(issued, tmp_path):
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    odd = '<b>vm</b> &amp; =HYPERLINK("x") **bold** Łódź Αθήνα Москва'
    inv = replace(
        inv,
        lines=(replace(inv.lines[0], description=odd), *inv.lines[1:]),
        buyer=replace(inv.buyer, name="Żabka Polska sp. z o.o."),
    )
    [pdf, xml] = write_documents([inv], seller, tmp_path, None)
    text = pdf_text(pdf)
    assert odd in text and "Żabka Polska sp. z o.o." in text
    assert value(etree.parse(str(xml)).getroot(), "cac:InvoiceLine[1]/cac:Item/cbc:Name") == odd


def test_display_of_quantities_and_prices():
    assert quantity_text(D("349.9999999986")) == "350"
    assert quantity_text(D("5619.3548387094")) == "5,619.3548"
    assert quantity_text(D("0")) == "0"
    assert unit_price_text(D("450"), "EUR") == "450.00"
    assert unit_price_text(D("0.192178241667"), "EUR") == "0.1922"
    # in the currency's decimals, as the workbook shows it (JPY 12,345, KWD 0.500), not cents
    assert unit_price_text(D("12345"), "JPY") == "12,345"
    assert unit_price_text(D("0.6767"), "JPY") == "0.6767"
    assert unit_price_text(D("0.5"), "KWD") == "0.500"
    assert unit_price_text(D("0.24055"), "KWD") == "0.2406"
    assert amount_text(D("-0.00"), "EUR") == "0.00"
    assert amount_text(D("1234567.5"), "EUR") == "1,234,567.50"


def test_a_rewrite_gives_the_same_bytes(issued, tmp_path):
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    first = [p.read_bytes() for p in write_documents([inv], seller, tmp_path / "a", None)]
    second = [p.read_bytes() for p in write_documents([inv], seller, tmp_path / "b", None)]
    assert first == second
    assert b"/CreationDate (D:20261031235959+00'00')" in first[0]


def test_pdfs_written_one_after_another_are_the_bytes_each_gives_alone(issued, tmp_path):
    # the process keeps the streams it compressed (invoice_pdf._compressed): never one PDF's
    # content in another's, never other bytes than a PDF written first in a fresh process
    from billing_lib import invoice_pdf

    seller, invoices = issued
    first, second = list(invoices.values())[:2]
    alone = []
    for k, inv in enumerate((first, second)):
        invoice_pdf._compressed.cache_clear()
        alone.append(invoice_pdf.write_invoice_pdf(inv, seller, tmp_path / f"{k}.pdf").read_bytes())
    one_process = [
        invoice_pdf.write_invoice_pdf(inv, seller, tmp_path / f"{k}b.pdf").read_bytes()
        for k, inv in enumerate((first, second, first))
    ]
    assert one_process == [alone[0], alone[1], alone[0]] and alone[0] != alone[1]
    assert invoice_pdf._compressed.cache_info().hits >= 2  # the fonts' subsets, taken again


def test_the_seller_s_logo_is_drawn_and_a_missing_one_is_named(issued, tmp_path):
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    Image.new("RGB", (300, 100), (20, 60, 140)).save(tmp_path / "logo.png")
    [pdf, _] = write_documents(
        [inv], seller.model_copy(update={"logo": "logo.png"}), tmp_path, tmp_path
    )
    assert len(PdfReader(pdf).pages[0].images) == 1
    with pytest.raises(ParameterError, match=r"seller\.yaml.*logo.*nologo\.png"):
        write_documents([inv], seller.model_copy(update={"logo": "nologo.png"}), tmp_path, tmp_path)


def test_without_ubl_attach_pdf_the_ubl_document_carries_no_pdf(issued, tmp_path):
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    [_, xml] = write_documents(
        [inv], seller.model_copy(update={"ubl_attach_pdf": False}), tmp_path, None
    )
    doc = etree.parse(str(xml)).getroot()
    assert doc.findall(f"{{{CAC}}}AdditionalDocumentReference") == []
    assert fatal_rules(xml.read_bytes()) == []


# -- validation catches a wrong document
# ------------------------------------------------------------


def test_a_wrong_total_fails_validation_naming_the_rule(issued):
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    assert fatal_rules(ubl_document(inv, seller)) == []
    wrong = replace(inv, gross=inv.gross + D("0.01"))
    data = ubl_document(wrong, seller)
    assert schema_errors(data) == []  # well-formed UBL, but its figures do not add up
    rules = {f.rule for f in fatal_rules(data)}
    assert "BR-CO-15" in rules  # invoice total with VAT = total without VAT + VAT
    [finding] = [f for f in fatal_rules(data) if f.rule == "BR-CO-15"]
    assert "Invoice total amount with VAT" in finding.text


def test_a_line_that_does_not_add_up_to_the_net_fails_br_co_10(issued):
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    wrong = replace(
        inv, lines=(replace(inv.lines[0], amount=inv.lines[0].amount + 1), *inv.lines[1:])
    )
    assert "BR-CO-10" in {f.rule for f in fatal_rules(ubl_document(wrong, seller))}


def test_the_peppol_rules_written_out_catch_a_missing_address_and_reference(issued):
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C001")
    bare = replace(
        inv,
        customer_reference=None,
        buyer=replace(inv.buyer, peppol_id=None, email=None, registration=None, city=None),
    )
    found = peppol_findings(ubl_document(bare, seller.model_copy(update={"city": None})))
    assert [f.split(":")[0] for f in found] == [
        "PEPPOL-EN16931-R010",
        "NL-R-002",
        "NL-R-004",
    ]
    # the customer number stands in for a missing reference (R003 holds)
    assert fatal_rules(ubl_document(bare, seller)) == []
    # NL-R-003 and NL-R-005 judge a legal entity id where one is given (OpenPeppol's rules have
    # the CompanyID as their context): none passes them, one of another scheme fails them
    assert peppol_findings(ubl_document(bare, seller.model_copy(update={"city": "Utrecht"}))) == [
        "PEPPOL-EN16931-R010: the buyer's electronic address is required",
        "NL-R-004: the Dutch party's address has no CityName",
    ]
    doc = etree.fromstring(ubl_document(inv, seller))
    for el in doc.xpath("//cac:PartyLegalEntity/cbc:CompanyID", namespaces=NS):
        el.set("schemeID", "0060")
    assert [f.split(":")[0] for f in peppol_findings(etree.tostring(doc))] == [
        "NL-R-003",
        "NL-R-005",
    ]


def test_an_element_out_of_order_fails_the_schema(issued):
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    doc = etree.fromstring(ubl_document(inv, seller))
    doc.append(doc.find(f"{{{CBC}}}IssueDate"))  # moved to the end
    assert schema_errors(etree.tostring(doc)) != []


# -- VAT rules
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"rate": "0", "category": "S"}, "category S .* needs a rate above 0"),
        ({"rate": "21", "category": "AE", "mention": "x"}, "category AE needs rate 0"),
        ({"rate": "0", "category": "G"}, "category G needs a mention or an exemption_code"),
        ({"rate": "0", "category": "E", "exemption_code": "exempt"}, "VATEX"),
        # a code of the form, but not of the VATEX list: EN 16931 BR-CL-22 (fatal)
        (
            {"rate": "0", "category": "G", "mention": "x", "exemption_code": "VATEX-EU-RC"},
            "exemption_code VATEX-EU-RC is not a code of the VATEX list .*BR-CL-22",
        ),
        # export's code kept when the category became O: Peppol's PEPPOL-EN16931-P0104 (fatal)
        (
            {"rate": "0", "category": "O", "mention": "x", "exemption_code": "VATEX-EU-G"},
            "exemption_code VATEX-EU-G is the code of category G, not O: .*P0104",
        ),
        (
            {"rate": "0", "category": "G", "mention": "x", "exemption_code": "VATEX-EU-IC"},
            "exemption_code VATEX-EU-IC is the code of category K, not G: .*P0106",
        ),
        (
            {"rate": "0", "category": "E", "mention": "x", "exemption_code": "VATEX-EU-AE"},
            "exemption_code VATEX-EU-AE is the code of category AE, not E: .*P0107",
        ),
        # zero rated or standard rate: no exemption reason (BR-Z-10, BR-S-10); the code was
        # accepted and left out of every e-invoice in silence
        (
            {"rate": "0", "category": "Z", "exemption_code": "VATEX-EU-132-1I"},
            "exemption_code VATEX-EU-132-1I: category Z .* takes none.*BR-Z-10.* category E",
        ),
        (
            {"rate": "0", "exemption_code": "VATEX-EU-132-1I"},
            "exemption_code VATEX-EU-132-1I: category Z .* takes none",
        ),
        (
            {"rate": "21", "exemption_code": "VATEX-EU-132-1I"},
            "exemption_code VATEX-EU-132-1I: category S .* takes none.*BR-S-10",
        ),
    ],
)
def test_a_vat_rule_s_e_invoice_category_is_checked(rule, expected):
    base = {"vat_code": "X", "label": "X", "vat_account": "1500"}
    with pytest.raises(ValueError, match=expected):
        VatRule.model_validate({**base, **rule})
    assert VatRule.model_validate({**base, "rate": "0"}).ubl_category == "Z"
    assert VatRule.model_validate({**base, "rate": "9"}).ubl_category == "S"
    for category, code in [("E", "VATEX-EU-132-1I"), ("O", "VATEX-EU-O"), ("E", "VATEX-EU-J")]:
        exempt = {**base, "rate": "0", "mention": "x", "category": category}
        assert VatRule.model_validate({**exempt, "exemption_code": code}).exemption_code == code


def test_no_e_invoice_where_en16931_cannot_state_the_amounts(issued, tmp_path):
    """EN 16931 allows two decimals: a KWD or JOD invoice (fils, three decimals) gets its PDF
    only, and the reason; a JPY (no decimals) or EUR one gets both."""
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    for currency, suffixes in (
        ("KWD", [".pdf"]),
        ("JOD", [".pdf"]),
        ("JPY", [".pdf", ".xml"]),
        ("EUR", [".pdf", ".xml"]),
    ):
        other = replace(inv, currency=currency)
        written = document_writer(seller, tmp_path / currency, None)(other)
        assert [p.suffix for p in written] == suffixes
        assert (ubl_unavailable(other) is None) == (currency not in ("KWD", "JOD"))
    assert "EN 16931 allows amounts with at most 2 decimals and KWD has 3" in str(
        ubl_unavailable(replace(inv, currency="KWD"))
    )


def test_the_e_invoice_carries_vat_numbers_in_their_compact_form(issued, tmp_path):
    """A VAT number written with spaces and dots in the parameters is printed so, and given in the
    UBL without them (EN 16931: its country prefix, then the number)."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C005")
    inv = replace(inv, buyer=replace(inv.buyer, vat_number="be 0456.789.133"))
    seller = seller.model_copy(update={"vat_number": "NL 8678.90.125 B01"})
    [pdf, xml] = write_documents([inv], seller, tmp_path, None)
    doc = etree.parse(str(xml)).getroot()
    assert value(doc, "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") == (
        "BE0456789133"
    )
    assert value(doc, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") == (
        "NL867890125B01"
    )
    assert "VAT be 0456.789.133" in pdf_text(pdf) and "VAT NL 8678.90.125 B01" in pdf_text(pdf)
    assert not fatal_rules(etree.tostring(doc))


def test_characters_the_pdf_font_cannot_draw_are_named_not_printed_as_boxes(issued):
    """DejaVu Sans draws Latin, Greek and Cyrillic; a customer's name in Chinese or a product in
    Thai came out of the PDF as empty boxes with nothing said. Each such invoice is named, with the
    characters and where they are; the seller's own details once."""
    seller, invoices = issued
    assert missing_glyphs(invoices.values(), seller) == []  # the sample: Łódź-safe, nothing
    inv = next(i for i in invoices.values() if i.customer_id == "C003")
    odd = replace(
        inv,
        buyer=replace(inv.buyer, name="Bakkerij De Gouden Korst 東京支店"),
        lines=(replace(inv.lines[0], description="Cloud ไทย"), *inv.lines[1:]),
    )
    thai = seller.model_copy(update={"name": "Northwind Cloud B.V. (ไทย)"})
    assert missing_glyphs([odd, inv], thai) == [
        "seller.yaml: the PDF's font (DejaVu Sans: Latin, Greek, Cyrillic) has no glyph for ไ ท "
        "ย (in 'Northwind Cloud B.V. (ไทย)'): the PDF prints empty boxes for them; the workbook "
        "and the e-invoice hold the text",
        f"{inv.number} (C003): the PDF's font (DejaVu Sans: Latin, Greek, Cyrillic) has no glyph "
        "for 東 京 支 店 ไ ท ย (in 'Bakkerij De Gouden Korst 東京支店'): the PDF prints empty "
        "boxes for them; the workbook and the e-invoice hold the text",
    ]


def test_the_font_draws_every_printable_ascii_character_the_checks_skip():
    """The glyph and right-to-left checks skip printable ASCII (``invoice_pdf.PLAIN``): true only
    while the PDFs' font draws all of it and none of it is right to left."""
    assert {ord(ch) for ch in PLAIN} <= _drawable()
    assert not [ch for ch in PLAIN if unicodedata.bidirectional(ch) in ("R", "AL")]


def test_a_run_lists_the_invoices_whose_pdf_cannot_draw_a_character(tmp_path):
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    customers = params / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    customers.write_text(
        text.replace("name: Bakkerij De Gouden Korst", "name: Bakkerij De Gouden Korst 東京"),
        encoding="utf-8",
    )
    br = run.start(PERIOD, str(REPO / "samples" / PERIOD / "reports"), str(params), str(tmp_path))
    for step in ("load_parameters", "import_reports", "map_customers", "rate", "build_invoices"):
        getattr(br, step)()
    [warning] = [w for w in br.warnings()["warning"] if "no glyph" in w]
    assert warning.startswith(f"{br.results.numbering.numbers['C003']} (C003): the PDF's font")
    assert "no glyph for 東 京 (in 'Bakkerij De Gouden Korst 東京')" in warning


ARABIC_NAME = "Rheinwerk Maschinenbau GmbH — شركة الراين"


def test_right_to_left_text_the_pdf_prints_reversed_is_named(issued):
    """DejaVu Sans has Arabic and Hebrew letters, but reportlab's ``drawString`` draws them left
    to right and unjoined: a customer's legal name in Arabic was printed reversed, with nothing
    said (the docs promised a warning). Each such invoice is named with the script and the text;
    the seller's own details once."""
    seller, invoices = issued
    assert right_to_left(invoices.values(), seller) == []  # the sample: nothing
    inv = next(i for i in invoices.values() if i.customer_id == "C006")
    odd = replace(
        inv,
        buyer=replace(inv.buyer, name=ARABIC_NAME),
        lines=(replace(inv.lines[0], description="ייעוץ ענן"), *inv.lines[1:]),
    )
    hebrew = seller.model_copy(update={"name": "Northwind Cloud B.V. (נורתווינד)"})
    assert right_to_left([odd, inv], hebrew) == [
        "seller.yaml: the PDF prints Hebrew text left to right with its letters unjoined (in "
        "'Northwind Cloud B.V. (נורתווינד)'): a reader sees it reversed; the workbook and the "
        "e-invoice hold the text as written",
        f"{inv.number} (C006): the PDF prints Arabic and Hebrew text left to right with its "
        f"letters unjoined (in {ARABIC_NAME!r}): a reader sees it reversed; the workbook and the "
        "e-invoice hold the text as written",
    ]
    assert missing_glyphs([odd], hebrew) == []  # the font has the letters: not a glyph problem


def test_a_run_lists_the_invoices_whose_pdf_prints_right_to_left_text(tmp_path):
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    customers = params / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    customers.write_text(
        text.replace("name: Rheinwerk Maschinenbau GmbH", f'name: "{ARABIC_NAME}"'),
        encoding="utf-8",
    )
    br = run.start(PERIOD, str(REPO / "samples" / PERIOD / "reports"), str(params), str(tmp_path))
    for step in ("load_parameters", "import_reports", "map_customers", "rate", "build_invoices"):
        getattr(br, step)()
    [warning] = [w for w in br.warnings()["warning"] if "left to right" in w]
    assert warning.startswith(
        f"{br.results.numbering.numbers['C006']} (C006): the PDF prints Arabic text left to right"
    )
    assert f"(in {ARABIC_NAME!r})" in warning


def test_a_run_billed_before_vat_numbers_were_checked_is_still_read(folder, tmp_path):
    """A run folder's ``invoices.json`` holds the seller as it was when the run billed: read back to
    credit or reissue an invoice, its VAT number and e-mail address are not judged by today's
    checks (a run billed with one that fails them would otherwise never be credited)."""
    data = json.loads((folder / "invoices.json").read_text(encoding="utf-8"))
    data["seller"]["vat_number"] = "NL867890126B01"  # check digits wrong: refused in seller.yaml
    data["seller"]["email"] = "billing@northwind,example"  # refused in seller.yaml
    (tmp_path / "invoices.json").write_text(json.dumps(data), encoding="utf-8")
    seller, invoices = read_invoice_data(tmp_path / "invoices.json")
    assert (seller.vat_number, seller.email) == ("NL867890126B01", "billing@northwind,example")
    assert len(invoices) == len(data["invoices"])


def drawn_right_edges(path: Path) -> list[tuple[float, str]]:
    """The right edge (points) of each text the PDF draws, with the text: where it starts (its
    text matrix) plus its width in the invoice font at its size."""
    from reportlab.pdfbase import pdfmetrics

    from billing_lib.invoice_pdf import BOLD, FONT

    edges: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size):
        drawn = text.strip()  # pypdf ends each drawn string with a line break
        if drawn:
            face = BOLD if "Bold" in str((font or {}).get("/BaseFont", "")) else FONT
            x = tm[4] * cm[0] + cm[4]
            edges.append((x + pdfmetrics.stringWidth(drawn, face, size * tm[0]), drawn))

    for page in PdfReader(path).pages:
        page.extract_text(visitor_text=visit)
    return edges


def test_every_text_of_the_sample_pdfs_ends_within_the_right_margin(folder):
    for pdf in sorted((folder / "invoices").glob("*.pdf")):
        right_margin = float(PdfReader(pdf).pages[0].mediabox.width) - 18 * 72 / 25.4
        assert [t for edge, t in drawn_right_edges(pdf) if edge > right_margin + 0.5] == [], pdf


def test_a_long_reference_is_wrapped_within_the_page(issued, tmp_path):
    """A customer's PO reference longer than the details column ran off the page's right edge."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C001")
    reference = "PO-2026-0412 / Project Wolkenkrabber fase 2 / kostenplaats 4711-ICT-INFRA-CLOUD"
    [pdf, _] = write_documents([replace(inv, customer_reference=reference)], seller, tmp_path, None)
    page_width = PdfReader(pdf).pages[0].mediabox.width
    assert squeezed(reference) in squeezed(pdf_text(pdf))
    right_margin = float(page_width) - 18 * 72 / 25.4  # invoice_pdf.RIGHT: 18 mm
    assert [text for edge, text in drawn_right_edges(pdf) if edge > right_margin + 0.5] == []


def test_a_long_unit_is_printed_whole_on_rows_of_its_own(issued, tmp_path):
    """Only the unit's first line fitted its column: '10K Transactions (Write Operations)' was
    printed as '10K'."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C002")
    unit = "10K Transactions (Write Operations)"
    inv = replace(inv, lines=(replace(inv.lines[0], unit=unit), *inv.lines[1:]))
    [pdf, _] = write_documents([inv], seller, tmp_path, None)
    assert squeezed(unit) in squeezed(pdf_text(pdf))
    texts = [t for _, t in drawn_right_edges(pdf)]
    start, joined = texts.index("10K"), ""
    for part in texts[start:]:  # the unit's rows, drawn one after another
        joined += part.replace(" ", "")
        if len(joined) >= len(squeezed(unit)):
            break
    assert joined == squeezed(unit)


def cut_off_cells(book: Path) -> list[str]:
    """The invoice sheet's texts cut off where printed: a left-aligned string cell, not wrapped,
    wider (in the sheet's Arial 9, metrically Helvetica; bold where bold) than its column and the
    empty cells to its right."""
    from reportlab.pdfbase import pdfmetrics

    from billing_lib.print_pages import column_points

    ws = openpyxl.load_workbook(book).worksheets[0]
    widths = [column_points(ws.column_dimensions[c].width) for c in "ABCDEF"]
    out = []
    for row in ws.iter_rows(max_col=6):
        for c in row:
            if c.data_type != "s" or c.alignment.wrap_text or c.alignment.horizontal == "right":
                continue
            end = next((x.column - 1 for x in row[c.column :] if x.value is not None), 6)
            room = sum(widths[c.column - 1 : end]) - 4  # the cell's padding
            font = "Helvetica-Bold" if c.font.b else "Helvetica"
            if pdfmetrics.stringWidth(c.value, font, c.font.sz or 9) > room:
                out.append(c.value)
    return out


@pytest.mark.parametrize("unit", ["ReadCapacityUnit-Hrs", "10K Transactions (Write Operations)"])
def test_a_long_unit_is_printed_whole_in_the_workbook(issued, tmp_path, unit):
    """The workbook's unit column (C) holds about ten characters: a longer unit (AWS DynamoDB's
    "ReadCapacityUnit-Hrs", an Azure meter's "10K Transactions (Write Operations)") was cut off
    by the unit price beside it ("ReadCapaci"), where the PDF prints it whole on rows of its
    own. It wraps in its cell, its row as tall as its lines, as the PDF's."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C002")
    first = next(ln for ln in inv.lines if ln.display_unit_price is not None)
    lines = tuple(replace(ln, unit=unit) if ln is first else ln for ln in inv.lines)
    note = replace(inv, lines=lines, kind="credit_note", refers_to="NW1")
    book = write_credit_note_workbook(note, seller, tmp_path / "long-unit.xlsx")
    ws = openpyxl.load_workbook(book).worksheets[0]
    [row] = [r for r in ws.iter_rows(max_col=6) if r[2].value == unit]
    assert row[3].value is not None  # the unit price beside it
    assert cut_off_cells(book) == []
    assert row[2].alignment.wrap_text
    # the sample's units fit their column: written as they were
    sample = write_credit_note_workbook(
        replace(inv, kind="credit_note", refers_to="NW1"), seller, tmp_path / "sample.xlsx"
    )
    units = [
        r[2]
        for r in openpyxl.load_workbook(sample).worksheets[0].iter_rows(max_col=6)
        if r[2].value
    ]
    assert cut_off_cells(sample) == [] and not any(c.alignment.wrap_text for c in units[1:])


def _in_category(inv: Invoice, category: str, exemption: str) -> tuple[Invoice, Invoice]:
    """``inv`` with every VAT line in ``category`` (exempt by ``exemption``), and its credit
    note: the two documents an e-invoice rule of that category is checked on."""
    changed = replace(
        inv, vat=tuple(replace(v, category=category, exemption_code=exemption) for v in inv.vat)
    )
    return changed, negated(changed, "NWC2026-000001", inv.issue_date, "test")


def test_an_intra_eu_supply_names_the_country_delivered_to(issued):
    """Category K (intra-EU supply, a rule vat_rules.yaml allows) failed EN 16931 BR-IC-12 on every
    e-invoice: it needs the deliver-to country (BT-80), which the document did not give. It is the
    buyer's country (the supply goes to the customer in another member state); other categories
    give no delivery."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C006")
    for document in _in_category(inv, "K", "VATEX-EU-IC"):
        data = ubl_document(document, seller)
        assert schema_errors(data) == []
        assert fatal_rules(data) == [], document.kind
        doc = etree.fromstring(data)
        country = "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode"
        assert value(doc, country) == "DE"
    assert etree.fromstring(ubl_document(inv, seller)).xpath("cac:Delivery", namespaces=NS) == []


def test_services_outside_the_scope_of_vat_give_an_e_invoice_en16931_accepts(issued):
    """Category O ("not subject to VAT", VATEX-EU-O: services to a business outside the EU, the
    sample's "Outside the scope of EU VAT", its rule ``export``) failed EN 16931 on every
    e-invoice: BR-O-02 wants no VAT identifier of the seller or the buyer, BR-O-05 no VAT rate on a
    line (BR-48 none in the breakdown either). The seller is identified by its legal registration
    (BT-30, BR-CO-26); the PDF still prints both VAT numbers."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C007")
    for document in _in_category(inv, "O", "VATEX-EU-O"):
        data = ubl_document(document, seller)
        assert schema_errors(data) == []
        assert fatal_rules(data) == [], document.kind
        assert peppol_findings(data) == []
        doc = etree.fromstring(data)
        assert doc.xpath("//cac:PartyTaxScheme", namespaces=NS) == []
        assert doc.xpath("//cac:TaxCategory/cbc:Percent", namespaces=NS) == []
        assert doc.xpath("//cac:ClassifiedTaxCategory/cbc:Percent", namespaces=NS) == []
        category = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/"
        assert value(doc, category + "cbc:TaxExemptionReasonCode") == "VATEX-EU-O"
    # category G (an export of goods): both VAT numbers and the rates stay
    [exported, _] = _in_category(inv, "G", "VATEX-EU-G")
    doc = etree.fromstring(ubl_document(exported, seller))
    assert len(doc.xpath("//cac:PartyTaxScheme", namespaces=NS)) == 2
    assert doc.xpath("//cac:ClassifiedTaxCategory/cbc:Percent", namespaces=NS) != []


def test_the_vatex_codes_a_rule_may_give_are_those_en16931_accepts():
    assert en16931_vatex_codes() == VATEX_CODES


def test_an_exemption_code_of_another_category_fails_peppol_s_rule(issued):
    """Export's VATEX-EU-G kept under category O passes EN 16931 (the code is in the VATEX list)
    but Peppol refuses it (PEPPOL-EN16931-P0104, fatal): vat_rules.yaml refuses that rule when
    loaded (``test_a_vat_rule_s_e_invoice_category_is_checked``)."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C005")  # addressed over Peppol
    [changed, _] = _in_category(inv, "O", "VATEX-EU-G")
    data = ubl_document(changed, seller)
    assert fatal_rules(data) == []
    assert peppol_findings(data) == [
        "PEPPOL-EN16931-P0104: tax category G is the one of VATEX-EU-G, not O"
    ]


def test_a_rule_not_subject_to_vat_needs_the_seller_s_legal_registration(tmp_path):
    """Without its VAT identifier (BR-O-02) an e-invoice of category O identifies the seller by
    its legal registration (BR-CO-26): a seller.yaml without ``chamber_of_commerce`` beside such a
    rule is refused when the parameters are loaded, not on every e-invoice of the month."""
    import yaml

    from billing_lib.invoicing_parameters import load_invoicing
    from tests.invoice_helpers import parameters_copy

    params = parameters_copy(tmp_path)
    rules = yaml.safe_load((params / "vat_rules.yaml").read_text(encoding="utf-8"))
    rules["rules"]["export"].update(category="O", exemption_code="VATEX-EU-O")
    (params / "vat_rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    assert load_invoicing(params).vat.rules["export"].ubl_category == "O"
    seller = params / "seller.yaml"
    text = seller.read_text(encoding="utf-8")
    seller.write_text(text.replace('chamber_of_commerce: "81234567"', ""), encoding="utf-8")
    with pytest.raises(ParameterError) as refused:
        load_invoicing(params)
    message = str(refused.value)
    assert message.startswith(f"{seller}, entry chamber_of_commerce: ")
    assert "rules.export" in message and "BR-CO-26" in message


def test_a_large_quantity_stays_in_its_column(issued, tmp_path):
    """A billion requests (S3, Lambda, DynamoDB) printed "123,456,789,012.35" 30 mm wide in the
    22 mm quantity column, over the line's description."""
    from reportlab.pdfbase import pdfmetrics

    from billing_lib.invoice_pdf import COLUMNS, FONT, LEFT, PAD

    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C002")
    big = replace(
        inv.lines[0],
        description="Amazon DynamoDB – read request units of the order history table",
        display_quantity=D("123456789012.35"),
        unit="ReadRequestUnits",
        display_unit_price=D("1234567.8912"),
    )
    inv = replace(inv, lines=(big, *inv.lines[1:]))
    [pdf, _] = write_documents([inv], seller, tmp_path, None)
    starts, x = {}, LEFT
    for head, width, _ in COLUMNS:
        starts[head], x = (x, x + width * 72 / 25.4), x + width * 72 / 25.4
    drawn = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            left, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
            width = pdfmetrics.stringWidth(text.strip(), FONT, size * tm[0])
            drawn.append((text.strip(), y, left, left + width))

    PdfReader(pdf).pages[0].extract_text(visitor_text=visit)
    [y] = [y for text, y, _, _ in drawn if text.startswith("Amazon DynamoDB")]
    row = {text: (a, b) for text, at, a, b in drawn if at == y}
    for head, text in (("Quantity", "123,456,789,012.35"), ("Unit price", "1,234,567.8912")):
        left, right = starts[head]
        assert left + PAD / 2 <= row[text][0] and row[text][1] <= right, (head, row[text])


def test_a_total_of_ten_digits_is_drawn_clear_of_its_label(issued, tmp_path):
    """An invoice in rupiah (IDR, two decimals: EUR 100,000 is about IDR 1.8 billion) printed its
    total "1,802,458,013.57" in 10.5 pt bold over the label "Total IDR" beside it; the lines'
    figures and the subtotals were drawn smaller to fit, the totals were not."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C008")
    lines = tuple(
        replace(ln, amount=amount, unrounded_amount=amount, display_unit_price=None)
        for ln, amount in zip(inv.lines[:2], (D("1234567890.12"), D("567890123.45")), strict=True)
    )
    net = sum((ln.amount for ln in lines), D(0))
    vat = tuple(replace(v, base=net) for v in inv.vat)
    inv = replace(inv, currency="IDR", lines=lines, vat=vat, net=net, gross=net)
    [pdf, _] = write_documents([inv], seller, tmp_path, None)
    boxes = drawn_boxes(pdf)
    for label in ("Net", "Total IDR"):
        [(_, label_end, y, _)] = [b for b in boxes if b[3] == label]
        [(amount_start, *_)] = [b for b in boxes if b[2] == y and b[3] == "1,802,458,013.57"]
        assert label_end < amount_start, (label, label_end, amount_start)


def test_a_belgian_enterprise_number_as_belgians_write_it_is_compact_in_the_e_invoice(issued):
    """The legal registration 0456.789.133 went into the e-invoice as written, with scheme 0208:
    PEPPOL-COMMON-R043 (fatal) asks ten digits."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C005")
    inv = replace(inv, buyer=replace(inv.buyer, registration="0456.789.133"))
    data = ubl_document(inv, seller)
    legal = "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"
    assert value(etree.fromstring(data), legal) == "0456789133"
    assert peppol_findings(data) == []
    written = replace(inv, buyer=replace(inv.buyer, peppol_id="0208:0456.789.133"))
    assert [f.split(":")[0] for f in peppol_findings(ubl_document(written, seller))] == [
        "PEPPOL-COMMON-R043"  # what the check finds in a document holding it as written
    ]


def test_a_danish_cvr_number_as_danes_write_it_is_in_the_form_peppol_asks(issued):
    """A CVR number (scheme 0184) written "DK 13 58 56 28" or "dk13585628" passed its check digits
    and went into the e-invoice as written: PEPPOL-COMMON-R042 (fatal) asks 8 digits, or DK and 8
    digits, as electronic address and as legal registration alike."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C005")
    buyer = replace(inv.buyer, country="DK", registration="dk 13 58 56 28")
    data = ubl_document(replace(inv, buyer=buyer), seller)
    assert peppol_findings(data) == []
    doc = etree.fromstring(data)
    legal = "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"
    assert (value(doc, legal), doc.xpath(f"string({legal}/@schemeID)", namespaces=NS)) == (
        "DK13585628",
        "0184",
    )
    written = replace(inv, buyer=replace(buyer, peppol_id="0184:dk13585628"))
    assert [f.split(":")[0] for f in peppol_findings(ubl_document(written, seller))] == [
        "PEPPOL-COMMON-R042"  # what the check finds in a document holding it as written
    ]


@pytest.mark.parametrize(
    ("days", "terms", "ubl_terms"),
    [
        (0, "(due on receipt)", "Due on receipt, by 2026-11-01"),
        (1, "(1 day)", "Payment within 1 day, by 2026-11-02"),
        (14, "(14 days)", "Payment within 14 days, by 2026-11-15"),
    ],
)
def test_payment_terms_read_as_a_person_writes_them(issued, days, terms, ubl_terms):
    """A customer with payment_terms_days 0 (due on receipt) read "by 2026-11-01 (0 days)" on its
    invoice and "Payment within 0 days" in its e-invoice; one with 1 day read "(1 days)". So did
    a credit note charging back a credit balance."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C003")
    inv = replace(inv, payment_terms_days=days, due_date=inv.issue_date + timedelta(days=days))
    due = inv.due_date.isoformat()
    assert f"Please pay EUR 90.75 by {due} {terms} quoting {inv.number}." in payment_lines(
        inv, seller
    )
    assert value(etree.fromstring(ubl_document(inv, seller)), "cac:PaymentTerms/cbc:Note") == (
        ubl_terms
    )
    note = negated(credit_balance_invoice(inv), "NWC2026-000002", inv.issue_date, None)
    assert f"by {due} {terms} quoting NWC2026-000002" in " ".join(payment_lines(note, seller))


def drawn_boxes(path: Path) -> list[tuple[float, float, float, str]]:
    """(left, right, baseline, text) of each text the PDF's first page draws (points)."""
    from reportlab.pdfbase import pdfmetrics

    from billing_lib.invoice_pdf import BOLD, FONT

    boxes: list[tuple[float, float, float, str]] = []

    def visit(text, cm, tm, font, size):
        drawn = text.strip()
        if drawn:
            face = BOLD if "Bold" in str((font or {}).get("/BaseFont", "")) else FONT
            x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
            boxes.append((x, x + pdfmetrics.stringWidth(drawn, face, size * tm[0]), y, drawn))

    PdfReader(path).pages[0].extract_text(visitor_text=visit)
    return boxes


LONG_SELLER = "Northwind Cloud Infrastructure and Managed Services Europe B.V. (Utrecht)"


@pytest.mark.parametrize("kind", ["invoice", "credit_note"])
def test_a_long_seller_name_is_wrapped_clear_of_the_title_and_the_page_number(
    issued, tmp_path, kind
):
    """A seller name of more than about 50 characters ran under the PDF's INVOICE title, the
    footer's name under "Page 1 of 1", and the workbook's name was cut off by its title cell."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C003")
    seller = seller.model_copy(update={"name": LONG_SELLER})
    if kind == "credit_note":
        inv = negated(inv, "NWC2026-000002", inv.issue_date, None)
    [pdf, _] = write_documents([inv], seller, tmp_path, None)
    boxes = drawn_boxes(pdf)
    title = "CREDIT NOTE" if kind == "credit_note" else "INVOICE"
    page = next(b for b in boxes if b[3] == "Page 1 of 1")
    [head] = [b for b in boxes if b[3] == title]
    for fixed in (head, page):
        near = [b for b in boxes if b is not fixed and abs(b[2] - fixed[2]) < 12]
        assert [b[3] for b in near if b[0] < fixed[1] and fixed[0] < b[1]] == [], fixed[3]
    assert squeezed(LONG_SELLER) in squeezed(pdf_text(pdf))
    book = tmp_path / "invoice.xlsx"
    write_credit_note_workbook(replace(inv, kind="credit_note", refers_to="NW1"), seller, book)
    ws = openpyxl.load_workbook(book).worksheets[0]
    name = [ws.cell(r, 1).value for r in (1, 2)]
    assert " ".join(name) == LONG_SELLER and all(len(part) <= 50 for part in name)
    assert ws["F1"].value == "CREDIT NOTE" and ws["A2"].font.b


def page_texts(path: Path) -> list[list[str]]:
    """Each page's texts, top to bottom (the footer left out)."""
    pages = []
    for page in PdfReader(path).pages:
        drawn: list[tuple[float, float, str]] = []

        def visit(text, cm, tm, font, size, drawn=drawn):
            if text.strip():
                drawn.append((-(tm[5] * cm[3] + cm[5]), tm[4] * cm[0] + cm[4], text.strip()))

        page.extract_text(visitor_text=visit)
        footer = max(y for y, _, _ in drawn)  # the lowest baseline
        pages.append([t for y, _, t in sorted(drawn) if y < footer])
    return pages


def _two_groups(inv: Invoice, filler: int, tall: int) -> tuple[InvoiceLine, ...]:
    """``filler`` lines of group A, then group B's two lines, the first a description ``tall``
    times the length of a line (wrapped on several rows)."""
    a = replace(inv.lines[0], product_group="a", heading="Group A heading", description="EC2 hours")
    b = replace(
        a,
        product_group="b",
        heading="Group B heading",
        description="Amazon Elastic Compute Cloud running Linux on demand " * tall + "end",
    )
    return (*[a] * filler, b, replace(b, description="last of B"))


def test_a_group_heading_stays_with_its_first_line_and_a_subtotal_with_its_last(issued, tmp_path):
    """A product group's heading was printed alone at the foot of a page when its first line was
    taller than the room kept for it (a long description on several rows), and a subtotal could
    open a page alone, away from the lines it adds up."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C002")
    seen = 0
    for k in range(28, 40):  # the filler moves the second group over the foot of page 1
        lines = _two_groups(inv, k, 5)
        [pdf, _] = write_documents([replace(inv, lines=lines)], seller, tmp_path / str(k), None)
        pages = page_texts(pdf)
        for texts in pages[:-1]:
            assert texts[-1] not in ("Group A heading", "Group B heading"), (k, texts[-3:])
        for texts in pages[1:]:
            body = texts[texts.index("Amount") + 1 :] if "Amount" in texts else texts
            assert body[0] != "Subtotal", (k, body[:3])
        seen += len(pages) > 1
    assert seen  # the layouts tried do break pages


def test_a_us_state_is_the_e_invoice_s_country_subentity_not_part_of_the_zip_code(folder, issued):
    """The state of a US customer reached the e-invoice only inside its postal code ("MA 02210"):
    UBL has cac:PostalAddress/cbc:CountrySubentity (BT-54) for it."""
    _, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C008")
    address = "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/"
    doc = xml_of(folder, inv)
    assert (
        value(doc, address + "cbc:PostalZone"),
        value(doc, address + "cbc:CountrySubentity"),
    ) == (
        "02210",
        "MA",
    )
    assert fatal_rules(etree.tostring(doc)) == []


@pytest.mark.parametrize(
    ("country", "lines", "city", "state", "postal_code", "printed"),
    [
        ("US", ("200 Seaport Blvd", "Boston 02210"), "Boston", "MA", "02210", "Boston, MA 02210"),
        (
            "CA",
            ("1 King St W", "Toronto M5H 1A1"),
            "Toronto",
            "ON",
            "M5H 1A1",
            "Toronto ON  M5H 1A1",
        ),
        ("AU", ("1 Martin Place",), "Sydney", "NSW", "2000", "Sydney NSW 2000"),
        (
            "US",
            ("200 Seaport Blvd", "Boston, MA 02210"),
            "Boston",
            "MA",
            "02210",
            "Boston, MA 02210",
        ),
    ],
)
def test_the_printed_address_carries_the_state_as_the_country_s_post_writes_it(
    issued, tmp_path, country, lines, city, state, postal_code, printed
):
    """A customer's state given as ``state`` (not in the address lines) was printed nowhere; the
    PDF and the workbook print the locality line as the country's post writes it, once."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C008")
    buyer = replace(
        inv.buyer, country=country, address=lines, city=city, state=state, postal_code=postal_code
    )
    inv = replace(inv, buyer=buyer)
    assert inv.buyer_address()[-2:] == [printed, country_name(country)]
    [pdf, _] = write_documents([inv], seller, tmp_path, None)
    assert pdf_text(pdf).count(" ".join(printed.split())) == 1  # its whitespace squeezed
    book = tmp_path / "note.xlsx"
    write_credit_note_workbook(replace(inv, kind="credit_note", refers_to="NW1"), seller, book)
    cells = [c.value for row in openpyxl.load_workbook(book).worksheets[0].iter_rows() for c in row]
    assert cells.count(printed) == 1


def test_the_seller_s_register_number_is_named_as_its_country_names_it(issued, tmp_path):
    """A Danish or a German reseller's register number was printed "Chamber of Commerce (KvK)",
    the Dutch register's name, on every PDF and workbook."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C003")
    dutch = pdf_text(write_documents([inv], seller, tmp_path / "nl", None)[0])
    assert "Chamber of Commerce (KvK) 81234567" in dutch
    for country, registration, printed in (
        ("DK", "13585628", "CVR no. 13585628"),
        ("DE", "HRB 12345 Amtsgericht Köln", "Commercial register HRB 12345 Amtsgericht Köln"),
        ("FR", "RCS Paris 732 829 320", "Company registration no. RCS Paris 732 829 320"),
    ):
        abroad = seller.model_copy(update={"country": country, "chamber_of_commerce": registration})
        [pdf, _] = write_documents([inv], abroad, tmp_path / country, None)
        assert printed in pdf_text(pdf) and "KvK" not in pdf_text(pdf)
        book = tmp_path / country / "note.xlsx"
        write_credit_note_workbook(replace(inv, kind="credit_note", refers_to="NW1"), abroad, book)
        cells = [
            c.value for row in openpyxl.load_workbook(book).worksheets[0].iter_rows() for c in row
        ]
        assert printed in cells


def test_a_credit_note_names_the_credited_invoice_by_number_and_issue_date(issued):
    """The UBL credit note referred to the credited invoice by its number only (BT-25): its issue
    date (BT-26) is what lets the customer's books find it when numbers repeat across years or
    series. Kept in credit_note.json's record, so a rewritten document says the same."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C005")
    note = negated(inv, "NWC2026-000001", inv.issue_date + timedelta(days=19), "Wrong plan")
    assert invoice_from_record(json.loads(json.dumps(invoice_record(note)))) == note
    data = ubl_document(note, seller)
    ref = "cac:BillingReference/cac:InvoiceDocumentReference/"
    doc = etree.fromstring(data)
    assert (value(doc, ref + "cbc:ID"), value(doc, ref + "cbc:IssueDate")) == (
        inv.number,
        inv.issue_date.isoformat(),
    )
    assert schema_errors(data) == [] and fatal_rules(data) == [] and peppol_findings(data) == []
    assert "refers_to_date" not in invoice_record(inv)  # an invoice's record is as before


def test_the_customer_s_documents_state_the_vat_rate_and_mention_not_the_journal_s_vat_code(
    folder, issued, tmp_path
):
    """The VAT summary of the workbook and the PDF printed the seller's internal journal VAT code
    beside the rate ("VAT 21 % (NL-21)", "VAT reverse charged (EU-RC)"): a code of the seller's
    accounting package, meaning nothing to the customer. They state the rule's label, the rate
    and, where the rule has one, its legal mention; the code stays in the journal."""
    seller, invoices = issued
    for customer in ("C001", "C005", "C008"):  # domestic, reverse charge, export
        inv = next(i for i in invoices.values() if i.customer_id == customer)
        [code] = {v.vat_code for v in inv.vat}
        text = pdf_text(folder / "invoices" / f"{inv.number}_{customer}.pdf")
        book = tmp_path / f"{customer}.xlsx"
        write_credit_note_workbook(replace(inv, kind="invoice"), seller, book)
        cells = [
            str(c.value)
            for row in openpyxl.load_workbook(book).worksheets[0].iter_rows()
            for c in row
            if c.value is not None
        ]
        xml = (folder / "invoices" / f"{inv.number}_{customer}.xml").read_text()
        assert code not in text and not any(code in c for c in cells) and code not in xml
        for v in inv.vat:
            assert v.label in text and v.label in cells, (customer, v.label)
        if inv.vat_mention:
            assert squeezed(inv.vat_mention) in squeezed(text)
            assert squeezed(inv.vat_mention) in squeezed(" ".join(cells))


GERMAN_LABEL = "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)"


def test_a_long_vat_label_is_printed_clear_of_the_taxable_amount(issued, tmp_path):
    """The PDF's VAT summary drew the rule's label on one line from the left edge: a label of
    some length, the wording a German invoice gives reverse charge (§ 14a UStG), ran under the
    taxable amount beside it (EUR 9,740.82 printed over "Charge)"). It wraps left of the
    amount, as the workbook's label runs over the empty cells up to it."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C005")  # reverse charge
    inv = replace(inv, vat=tuple(replace(v, label=GERMAN_LABEL) for v in inv.vat))
    note = negated(inv, "NWC2026-000002", date(2026, 12, 3), None)
    for k, doc in enumerate((inv, note)):
        [pdf, _] = write_documents([doc], seller, tmp_path / str(k), None)
        boxes = drawn_boxes(pdf)
        taxable = amount_text(doc.vat[0].base, doc.currency)
        [label] = [b for b in boxes if GERMAN_LABEL.startswith(b[3])]  # its first row
        [amount] = [b for b in boxes if b[3] == taxable and abs(b[2] - label[2]) < 1]
        beside = [b for b in boxes if abs(b[2] - amount[2]) < 8 and b is not amount]
        assert [b[3] for b in beside if b[0] < amount[1] and amount[0] < b[1]] == [], doc.kind
        rows = [b for b in boxes if b[0] == label[0] and label[2] - 12 < b[2] <= label[2]]
        assert " ".join(b[3] for b in sorted(rows, key=lambda b: -b[2])) == GERMAN_LABEL
        book = write_credit_note_workbook(doc, seller, tmp_path / f"{k}.xlsx")
        assert cut_off_cells(book) == []


def sheet_details(book: Path) -> dict[str, str]:
    """The invoice sheet's details (label in column D, value in E)."""
    ws = openpyxl.load_workbook(book).worksheets[0]
    return {ws.cell(r, 4).value: ws.cell(r, 5).value for r in range(1, ws.max_row + 1)}


def test_every_document_names_the_invoice_credited_or_replaced_by_number_and_date(issued, tmp_path):
    """The PDF and the workbook named the invoice a credit note corrects (and the one a reissued
    invoice replaces) by its number only, where the e-invoice gives its issue date too (BT-26):
    numbers repeat across years and series, and the customer's books find an invoice by both.
    Every document now says "invoice <number> of <date>"."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C005")
    of = f"{inv.number} of {inv.issue_date.isoformat()}"
    note = negated(inv, "NWC2026-000001", inv.issue_date + timedelta(days=19), "Wrong plan")
    [pdf, xml] = write_documents([note], seller, tmp_path, None)
    text = pdf_text(pdf)
    assert f"Corrects invoice {of}" in text, text
    assert f"This credit note cancels invoice {of}." in text
    book = write_credit_note_workbook(note, seller, tmp_path / "note.xlsx")
    assert sheet_details(book)["Corrects invoice"] == of
    assert value(etree.parse(str(xml)).getroot(), "cbc:Note").startswith(f"Cancels invoice {of}.")
    # an invoice replacing a credited one (billing reissue)
    new = replace(inv, number="NW2026-000010", refers_to=inv.number, refers_to_date=inv.issue_date)
    [pdf, _] = write_documents([new], seller, tmp_path / "new", None)
    assert f"Replaces invoice {of}" in pdf_text(pdf)
    book = write_credit_note_workbook(new, seller, tmp_path / "new.xlsx")
    assert sheet_details(book)["Replaces invoice"] == of
    # a record written before the date was kept: the number alone, as before
    [pdf, _] = write_documents([replace(note, refers_to_date=None)], seller, tmp_path / "o", None)
    assert f"Corrects invoice {inv.number} Currency" in pdf_text(pdf)


VERY_LONG_SELLER = (
    "Northwind Cloud Infrastructure, Managed Hosting and Software Licensing Services Europe "
    "B.V. (trading as Northwind Cloud Benelux, Utrecht branch)"
)


@pytest.mark.parametrize("kind", ["invoice", "credit_note"])
def test_a_very_long_seller_name_in_the_footer_stays_clear_of_the_page_number(
    issued, tmp_path, kind
):
    """A seller name of more than about 120 characters ran under "Page 1 of 1" in the PDF's
    footer: the footer's name is cut short (with an ellipsis) left of the page number, and the
    document's number stays in it."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C003")
    seller = seller.model_copy(update={"name": VERY_LONG_SELLER})
    if kind == "credit_note":
        inv = negated(inv, "NWC2026-000002", inv.issue_date, None)
    [pdf, _] = write_documents([inv], seller, tmp_path, None)
    boxes = drawn_boxes(pdf)
    page = next(b for b in boxes if b[3] == "Page 1 of 1")
    [footer] = [b for b in boxes if b is not page and abs(b[2] - page[2]) < 1]
    assert footer[1] < page[0] - 5, (footer, page)  # clear of "Page 1 of 1", with a gap
    assert footer[3].endswith(inv.number) and footer[3].startswith("Northwind Cloud")
    assert "…" in footer[3]
    assert squeezed(VERY_LONG_SELLER) in squeezed(pdf_text(pdf))  # whole at the top


def raw_footer(book: Path) -> str:
    """The invoice sheet's footer as the file stores it (Excel's codes: &L, &P, && ...)."""
    import zipfile

    with zipfile.ZipFile(book) as z:
        xml = etree.fromstring(z.read("xl/worksheets/sheet1.xml"))
    [footer] = xml.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}oddFooter")
    return footer.text or ""


@pytest.mark.parametrize(
    ("name", "left"),
    [
        ("Jansen & Zn. AT&T Cloud B.V.", "Jansen && Zn. AT&&T Cloud B.V."),
        # Excel reads the digits after the font size's code as the size: "&81&&1 ..." printed
        # "&1 Cloud Services B.V." at 81 pt; a space parts them
        ("1&1 Cloud Services B.V.", " 1&&1 Cloud Services B.V."),
        (
            VERY_LONG_SELLER,
            "Northwind Cloud Infrastructure, Managed Hosting and Software Licensing Services…",
        ),
        # a Chinese character is as wide as two Latin letters: 54 of them ran under the page
        # number as 108 letters would; cut at the width of 80 letters
        (
            "北京北风云计算服务有限公司上海分公司" * 3,
            ("北京北风云计算服务有限公司上海分公司" * 3)[:39] + "…",
        ),
    ],
)
def test_the_workbook_footer_prints_the_seller_s_name_as_written_clear_of_the_page_number(
    issued, tmp_path, name, left
):
    """The workbook's footer took the seller's name as Excel codes: "AT&T" printed the time of
    printing after "AT" and "Jansen & Zn." lost its ampersand (a literal & is && in a footer);
    a name of more than about 120 characters ran under "Page 1 of 1" (over 255 characters in
    all Excel drops the footer). The name is cut short where long, as in the PDF."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C003")
    book = tmp_path / "note.xlsx"
    seller = seller.model_copy(update={"name": name})
    write_credit_note_workbook(replace(inv, kind="credit_note", refers_to="NW1"), seller, book)
    assert raw_footer(book) == f"&L&8{left} - {inv.number}&R&8Page &P of &N"


def test_the_workbook_s_pages_keep_a_group_heading_with_its_first_line(issued, tmp_path):
    """The printed workbook broke its pages wherever a page was full (Excel's automatic breaks):
    a product group's heading could end a page, its lines on the next, where the PDF keeps them
    together. Its pages now break before the heading (and never between a group's last line and
    its subtotal), each page holding no more rows than an A4 page prints at the sheet's scale."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C002")
    headings = {"Group A heading", "Group B heading", "VAT summary", "Payment"}
    for k in (*range(26, 34), 110):  # the filler moves group B over the foot of page 1
        lines = _two_groups(inv, k, 3)
        note = replace(inv, lines=lines, kind="credit_note", refers_to="NW1")
        book = tmp_path / f"{k}.xlsx"
        write_credit_note_workbook(note, seller, book)
        ws = openpyxl.load_workbook(book).worksheets[0]
        starts = [b.id for b in ws.row_breaks.brk]  # 0-based: the row each new page begins with
        assert starts, k  # a long invoice's pages are broken where the sheet says
        widths = [ws.column_dimensions[c].width for c in "ABCDEF"]
        scale = min(1, (595.28 - 1.1 * 72) / sum((int(w * 7 + 0.5) + 5) * 0.75 for w in widths))
        rows_per_page = (841.89 - 1.3 * 72) / int(scale * 100) * 100 / 15
        bounds = [0, *starts, ws.max_row]
        for first, end in itertools.pairwise(bounds):
            texts = [
                (ws.cell(r, 1).value, ws.cell(r, 5).value)
                for r in range(first + 1, end + 1)
                if ws.cell(r, 1).value or ws.cell(r, 5).value
            ]
            assert end - first + (first > 0) <= rows_per_page, (k, first, end)
            if end < ws.max_row:
                assert texts[-1][0] not in headings, (k, texts[-2:])
            assert texts[0][1] != "Subtotal", (k, texts[:2])


def overflowing_texts(book: Path) -> list[str]:
    """The invoice sheet's texts that run past its print area's right edge (column F) when
    printed: each string in the sheet's Arial 9 (metrically Helvetica; bold, the wider, for all)
    from its cell's left edge, against the columns' width in points."""
    from reportlab.pdfbase import pdfmetrics

    from billing_lib.print_pages import column_points

    ws = openpyxl.load_workbook(book).worksheets[0]
    widths = [column_points(ws.column_dimensions[c].width) for c in "ABCDEF"]
    out = []
    for row in ws.iter_rows(max_col=6):
        for c in row:
            if c.data_type == "s" and not c.alignment.wrap_text and c.font.sz == 9:
                room = sum(widths[c.column - 1 :]) - 4  # the cell's padding
                if pdfmetrics.stringWidth(c.value, "Helvetica-Bold", 9) > room:
                    out.append(c.value)
    return out


def test_the_workbook_s_long_texts_are_printed_whole_within_the_page(issued, tmp_path):
    """The payment block, the VAT mention and the VAT in the national currency were written as
    one cell each, running to the right over the empty cells: a text longer than the page's
    width (a credit note charging back a credit balance: "... unless that credit balance was not
    yet refunded to you ...", 200 characters; the Art. 230 note of an invoice in GBP) was cut off
    at the print area's edge. They continue on rows of their own, as the PDF wraps them."""
    seller, invoices = issued
    c001 = next(i for i in invoices.values() if i.customer_id == "C001")
    balance = replace(credit_balance_invoice(c001), number="NW2026-000012")
    note = negated(balance, "NWC2026-000002", date(2026, 12, 3), "Goodwill credit entered twice")
    c006 = next(i for i in invoices.values() if i.customer_id == "C006")
    mention = (
        "Reverse charge: VAT to be accounted for by the recipient, Art. 196 Directive "
        "2006/112/EC (Steuerschuldnerschaft des Leistungsempfängers, § 13b UStG)"
    )
    abroad = replace(c006, vat_mention=mention)
    national = replace(
        c001,
        currency="GBP",
        national_vat=NationalVat(
            "EUR",
            D("1.1507"),
            date(2026, 10, 31),
            D("626.49"),
            "ECB euro "
            "foreign exchange reference rate of 2026-10-30, published by the European Central Bank",
        ),
    )
    for k, doc in enumerate((note, abroad, national)):
        book = write_credit_note_workbook(doc, seller, tmp_path / f"{k}.xlsx")
        assert overflowing_texts(book) == [], doc.number
        cells = " ".join(
            str(c.value)
            for row in openpyxl.load_workbook(book).worksheets[0].iter_rows()
            for c in row
            if c.value is not None
        )
        texts = payment_lines(doc, seller) + [doc.vat_mention or "", national_vat_note(doc) or ""]
        assert all(t in cells for t in texts), doc.number  # whole, on as many rows as it takes


def test_a_workbook_page_begins_with_neither_a_blank_row_nor_a_mention_s_second_row(
    issued, tmp_path
):
    """The workbook's page breaks (print_pages.page_breaks) kept a group's heading with its
    first line and a subtotal with its last, but a page could begin with the blank row after a
    subtotal (or before the payment block), or with the second row of a VAT mention wrapped over
    two rows, its first row ending the page above. Neither begins a page now: the blank row ends
    the page above, the mention's rows (and the VAT numbers under it) stay together."""
    seller, invoices = issued
    c006 = next(i for i in invoices.values() if i.customer_id == "C006")
    mention = (
        "Reverse charge: VAT to be accounted for by the recipient, Art. 196 Directive "
        "2006/112/EC (Steuerschuldnerschaft des Leistungsempfängers, § 13b UStG)"
    )
    one = c006.lines[0]
    blank_starts, mention_starts = [], []
    # single-line groups (heading, line, subtotal, blank) move the page's foot over every kind of
    # row; one group of n lines moves the summary, the mention and the payment block over it
    for k in [*range(40, 48), *range(112, 132)]:
        lines = tuple(
            replace(one, product_group=f"g{g:02}", heading=f"Group {g}", description=f"Line {g}")
            if k < 100
            else replace(one, description=f"Line {g}")
            for g in range(k % 100)
        )
        doc = replace(c006, lines=lines, vat_mention=mention, kind="credit_note", refers_to="NW1")
        book = write_credit_note_workbook(doc, seller, tmp_path / f"{k}.xlsx")
        ws = openpyxl.load_workbook(book).worksheets[0]
        rows = {r: [c.value for c in ws[r][:6] if c.value is not None] for r in range(1, 400)}
        [second] = [r + 1 for r, v in rows.items() if v and str(v[0]).startswith("Reverse")]
        assert rows[second] and "13b UStG" in str(rows[second][0])  # wrapped onto a second row
        for b in ws.row_breaks.brk:  # b.id: the row (0-based) a page begins with
            if not rows[b.id + 1]:
                blank_starts.append((k, b.id))
            if b.id + 1 in (second, second + 1):  # the mention's second row, the VAT numbers
                mention_starts.append((k, b.id))
    assert blank_starts == [] and mention_starts == [], (blank_starts, mention_starts)


def test_the_pdf_keeps_the_vat_mention_and_the_vat_numbers_on_one_page(issued, tmp_path):
    """The PDF made room for each printed row of the VAT mention on its own: a page could end
    inside a reverse-charge mention wrapped over rows, or between it and "Supplier VAT ...;
    customer VAT ..." (the customer's VAT number the mention needs, Art. 226(4)). The mention
    and the VAT numbers are drawn on one page."""
    seller, invoices = issued
    c006 = next(i for i in invoices.values() if i.customer_id == "C006")
    mention = (
        "Reverse charge: VAT to be accounted for by the recipient, Art. 196 Directive "
        "2006/112/EC (Steuerschuldnerschaft des Leistungsempfängers, § 13b UStG), the buyer "
        "declares and pays the VAT in Germany"
    )
    one = c006.lines[0]
    split = []
    for n in range(20, 27):  # the lines move the mention over the foot of page 1
        lines = tuple(replace(one, description=f"Line {g}") for g in range(n))
        doc = replace(c006, lines=lines, vat_mention=mention)
        [pdf, _] = write_documents([doc], seller, tmp_path / str(n), None)
        pages = page_texts(pdf)
        [start] = [i for i, p in enumerate(pages) if any(t.startswith("Reverse") for t in p)]
        if not any(t.startswith("Supplier VAT") for t in pages[start]):
            split.append(n)
    assert split == []


def test_a_custom_credit_reads_as_a_vendor_credit_does_a_negative_quantity_at_its_price(
    folder, issued, tmp_path
):
    """A custom line of kind credit (custom_lines.yaml: C004's SLA credit of 200.00) printed
    "1 each x -200.00" on the PDF and the workbook, while its e-invoice line stated -1 at 200.00
    (BR-27: no negative price) under the description "1 each x -200.00 EUR", and a vendor credit
    reads "-5 Licenses x 3.34". Its credit note then printed "-1 each x -200.00 = 200.00". Every
    document now states -1 x 200.00 = -200.00 (the credit note 1 x 200.00 = 200.00)."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C004")
    [sla] = [ln for ln in inv.lines if ln.description.startswith("Service credit")]
    assert (sla.display_quantity, sla.unit, sla.display_unit_price, sla.amount) == (
        D(-1),
        "each",
        D("200.00"),
        D("-200.00"),
    )
    text = pdf_text(folder / "invoices" / f"{inv.number}_{inv.customer_id}.pdf")
    assert "-1 each 200.00 21 % -200.00 Service credit (SLA, incident 14 October)" in text
    ws = openpyxl.load_workbook(folder / "invoices" / f"{inv.number}_{inv.customer_id}.xlsx")[
        "Invoice"
    ]
    [row] = [r for r in ws.iter_rows(values_only=True) if r[0] == sla.description]
    assert row[1:4] + row[5:] == (-1, "each", 200, -200)
    doc = xml_of(folder, inv)
    assert "Managed services: -1 each x 200.00 EUR" in [
        e.text for e in doc.xpath("//cac:Item/cbc:Description", namespaces=NS)
    ]
    note = negated(inv, "NWC2026-000002", inv.issue_date, None)
    document_writer(seller, tmp_path, None)(note)
    path = tmp_path / f"{note.number}_{note.customer_id}.pdf"
    assert "1 each 200.00 21 % 200.00 Service credit (SLA, incident 14 October)" in pdf_text(path)


def test_a_long_product_group_heading_is_wrapped_within_the_page(issued, tmp_path):
    """A product group's heading (products.yaml) was drawn on one line whatever its length: a
    reseller's "Microsoft 365 and Dynamics 365 licences bought under the Cloud Solution Provider
    programme, new commerce" ran past the right margin and off the page. It wraps, clear of the
    group's first line, and still stays on the page of that line."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C002")
    heading = (
        "Microsoft 365 and Dynamics 365 licences bought under the Cloud Solution Provider "
        "programme, new commerce"
    )
    lines = tuple(
        replace(ln, heading=heading) if ln.product_group == "microsoft" else ln for ln in inv.lines
    )
    [pdf, _] = write_documents([replace(inv, lines=lines)], seller, tmp_path, None)
    right_margin = float(PdfReader(pdf).pages[0].mediabox.width) - 18 * 72 / 25.4
    assert [t for edge, t in drawn_right_edges(pdf) if edge > right_margin + 0.5] == []
    assert squeezed(heading) in squeezed(pdf_text(pdf))
    boxes = [b for page in page_texts(pdf) for b in page]
    first = next(i for i, t in enumerate(boxes) if t.startswith("Microsoft 365 and"))
    assert boxes[first + 1] != "Exchange Online (Plan 1)"  # the heading's second row first
    tops = drawn_boxes(pdf)
    parts = [b for b in tops if heading.startswith(b[3]) or b[3] in heading]
    following = [b for b in tops if b[3] == "Exchange Online (Plan 1)"]
    assert len(parts) == 2 and following
    assert min(p[2] for p in parts) - following[0][2] >= 8  # a row apart (points)


def test_a_long_seller_detail_is_wrapped_clear_of_the_logo(issued, tmp_path):
    """The seller's name was wrapped clear of the logo (top right), but not the address, VAT,
    register and contact lines under it, which begin beside the logo: an address line of some
    length ("Catharijnesingel 30, Gebouw De Inktpot, vierde verdieping, kamer 4.12 (ingang
    achterzijde)") was drawn under the logo. They wrap as the name does."""
    seller, invoices = issued
    inv = next(i for i in invoices.values() if i.customer_id == "C003")
    Image.new("RGB", (300, 100), (20, 60, 140)).save(tmp_path / "logo.png")
    street = (
        "Catharijnesingel 30, Gebouw De Inktpot, vierde verdieping, kamer 4.12 (ingang achterzijde)"
    )
    seller = seller.model_copy(
        update={"logo": "logo.png", "address": [street, "3511 GB Utrecht", "The Netherlands"]}
    )
    [pdf, _] = write_documents([inv], seller, tmp_path, tmp_path)
    logo_left = (210 - 18 - 45) * 72 / 25.4
    logo_bottom = (297 - 16 - 18) * 72 / 25.4
    under_logo = [b[3] for b in drawn_boxes(pdf) if b[2] > logo_bottom and b[1] > logo_left]
    assert under_logo == []
    assert squeezed(street) in squeezed(pdf_text(pdf))


def test_a_reissued_invoice_s_files_are_dated_its_issue_date_not_the_month_s_end(issued, tmp_path):
    """The PDF's and the workbook's creation date is fixed (identical bytes on a rerun): the last
    second of the period for a run's invoice, the issue date for a credit note. An invoice
    ``billing reissue`` issues weeks later took the period's end too: NW2026-000010, issued
    2026-12-04 to replace NW2026-000002 of 2026-11-01 (cancelled by a credit note of 2026-12-03),
    said it was created on 2026-10-31, before the invoice it replaces. It is dated its issue
    date, as a credit note is; a run's invoices keep the period's end."""
    from billing_lib.workbooks import write_invoice_workbook

    seller, invoices = issued
    original = next(i for i in invoices.values() if i.customer_id == "C002")
    reissued = replace(
        original,
        number="NW2026-000010",
        issue_date=date(2026, 12, 4),
        due_date=date(2027, 1, 3),
        refers_to=original.number,
        refers_to_date=original.issue_date,
        note="This invoice replaces invoice NW2026-000002 of 2026-11-01.",
    )
    for inv, created in ((reissued, "20261204000000"), (original, "20261031235959")):
        [pdf, _] = write_documents([inv], seller, tmp_path / inv.number, None)
        assert PdfReader(pdf).metadata["/CreationDate"].startswith(f"D:{created}")
        book = write_invoice_workbook(inv, seller, {}, None, tmp_path / inv.number / "x.xlsx")
        stamp = openpyxl.load_workbook(book).properties.created.strftime("%Y%m%d%H%M%S")
        assert stamp == created, inv.number


def test_an_ideographic_space_is_printed_in_the_pdf_as_a_space_not_a_box(issued, tmp_path):
    """A full-width space (U+3000), as Japanese systems write one between words, in a Latin
    name ("Tokyo\u3000Cloud K.K.", copied from the customer's own records) or a product: DejaVu
    Sans has no glyph for it, so the PDF drew its empty box, and the glyph check, which passes
    over whitespace, said nothing. The PDF prints it as a space (the workbook and the e-invoice
    keep the text as written)."""
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    inv = replace(
        inv,
        lines=(replace(inv.lines[0], description="Backup\u3000vault"), *inv.lines[1:]),
        buyer=replace(inv.buyer, name="Tokyo\u3000Cloud K.K."),
    )
    assert missing_glyphs([inv], seller) == []  # nothing else says so
    [pdf, _] = write_documents([inv], seller, tmp_path, None)
    text = PdfReader(pdf).pages[0].extract_text()  # a box is extracted as U+0000
    assert "\x00" not in text and "\u3000" not in text
    assert "Tokyo Cloud K.K." in text and "Backup vault" in text


def test_a_noncharacter_is_left_out_of_the_pdf_the_workbook_and_the_e_invoice_alike(
    issued, tmp_path
):
    """A text holding a Unicode noncharacter (U+FFFE, U+FFFF, U+FDD0, U+1FFFE) was dropped from
    the e-invoice only (XML cannot hold U+FFFE): the PDF drew a box and the workbook wrote
    ``_xFFFE_``, so the documents of one invoice printed different texts."""
    seller, invoices = issued
    inv = next(iter(invoices.values()))
    name, product = "Acme\ufffe Holding\uffff B.V.", "Zeta\ufdd0 backup\U0001fffe"
    inv = replace(
        inv,
        lines=(replace(inv.lines[0], description=product), *inv.lines[1:]),
        buyer=replace(inv.buyer, name=name),
    )
    [pdf, xml] = write_documents([inv], seller, tmp_path, None)
    book = write_invoice_workbook(inv, seller, {}, None, tmp_path / "invoice.xlsx")
    ws = openpyxl.load_workbook(book).worksheets[0]
    cells = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    doc = etree.parse(str(xml)).getroot()
    pdf_lines = [t.strip() for t in PdfReader(pdf).pages[0].extract_text().splitlines()]
    printed = {
        "pdf": [t for t in pdf_lines if t.startswith(("Acme", "Zeta"))],
        "workbook": [t for t in cells if t.startswith(("Acme", "Zeta"))],
        "e-invoice": [
            value(doc, "cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name"),
            value(doc, "cac:InvoiceLine[1]/cac:Item/cbc:Name"),
        ],
    }
    assert printed == dict.fromkeys(printed, ["Acme Holding B.V.", "Zeta backup"])
    assert not missing_glyphs([inv], seller)  # nothing left that the PDF prints as a box


def test_a_page_after_the_first_names_the_invoice_and_keeps_the_totals_block_whole(
    issued, tmp_path
):
    """The sample's NW2026-000002 printed its VAT summary and totals alone on page 2 under nothing
    but the footer: a page taken from the PDF did not say whose invoice it continued. Each page
    after the first begins with the seller, the document's number (continued), the customer and
    the issue date; every page is numbered "Page n of N"; the VAT summary, the totals and the VAT
    mention are drawn on one page (the mention could open the next page alone)."""
    seller, invoices = issued
    c006 = next(i for i in invoices.values() if i.customer_id == "C006")
    mention = "Reverse charge: VAT to be accounted for by the recipient, Art. 196 " * 4
    one = c006.lines[0]
    alone = 0
    for n in range(18, 32):  # the lines move the totals block over the foot of page 1
        lines = tuple(replace(one, description=f"Line {g}") for g in range(n))
        doc = replace(c006, lines=lines, vat_mention=mention)
        [pdf, _] = write_documents([doc], seller, tmp_path / str(n), None)
        pages = page_texts(pdf)
        for texts in pages[1:]:
            assert texts[:4] == [
                seller.name,
                f"Invoice {doc.number} (continued)",
                f"{doc.buyer.name}, customer {doc.customer_id}",
                f"Issue date {doc.issue_date.isoformat()}",
            ], (n, texts[:4])
        footers = [p.extract_text().rstrip().split("\n")[-1] for p in PdfReader(pdf).pages]
        assert footers == [f"Page {k} of {len(pages)}" for k in range(1, len(pages) + 1)], n
        [start] = [k for k, p in enumerate(pages) if "VAT summary" in p]
        block = pages[start]
        assert {"Net", "VAT", "Total EUR"} <= set(block), (n, block)
        assert any(t.startswith("Reverse charge") for t in block), (n, block)
        alone += (
            start > 0 and "Line 0" not in block and not any(t.startswith("Line ") for t in block)
        )
    assert alone  # some layout puts the totals block on a page of its own
