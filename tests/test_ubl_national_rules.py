"""The e-invoice of a seller in another country than the sample's Netherlands, against the national
rules of Peppol BIS Billing 3.0 that country's sellers are held to (DK-R-*, IS-R-*), as
``tests/ubl_validation.py`` writes them out."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from billing_lib.invoice_model import Invoice, Party
from billing_lib.invoices import read_invoice_data, seller_party
from billing_lib.invoicing_parameters import Seller
from billing_lib.ubl import CAC, CBC, ubl_document
from tests.ubl_validation import fatal_rules, peppol_findings, schema_errors

NS = {"cac": CAC, "cbc": CBC}


@pytest.fixture(scope="module")
def issued(sample_outputs):
    """The seller block and the invoices (by number) of the sample month's run."""
    return read_invoice_data(sample_outputs / "2026-10" / "invoices.json")


def danish_seller(seller: Seller, **changes: object) -> Seller:
    """The sample's seller moved to Copenhagen: Danish VAT, CVR number, Peppol id and bank."""
    data = seller.model_dump()
    data.update(
        country="DK",
        address=["Kongens Nytorv 1", "1050 København K"],
        postal_code="1050",
        city="København K",
        vat_number="DK13585628",
        chamber_of_commerce="13585628",
        peppol_id="0184:DK13585628",
    )
    data["payment"].update(iban="DK5000400440116243", bic="DABADKKK")
    data.update(changes)
    return Seller.model_validate(data)


def invoiced_by(inv: Invoice, seller: Seller, currency: str, buyer: Party) -> Invoice:
    """``inv`` as ``seller`` issues it to ``buyer`` in ``currency`` (no VAT in a second currency:
    the seller's own)."""
    return replace(
        inv, seller=seller_party(seller), buyer=buyer, currency=currency, national_vat=None
    )


def danish_buyer(inv: Invoice) -> Party:
    return replace(
        inv.buyer,
        address=("Banegårdspladsen 1",),
        country="DK",
        vat_number="DK88146328",
        postal_code="8000",
        city="Aarhus C",
        registration="88146328",
        peppol_id="0184:DK88146328",
    )


def test_a_danish_seller_s_invoice_to_a_danish_customer_passes_the_danish_rules(issued):
    """A Danish reseller's e-invoice to a Danish customer in kroner failed two fatal rules of
    Peppol's Danish set: DK-R-005 (its payment means code 30, credit transfer, is not among the
    codes a Danish seller may give a Danish buyer: an IBAN with its BIC is 31) and DK-R-013 (the
    buyer's identifier, the customer number, has no scheme; between Danish parties every party
    identifier needs one, and a customer number has none: it is left out there, the buyer
    reference and the embedded PDF remain)."""
    base, invoices = issued
    seller = danish_seller(base)
    inv = next(i for i in invoices.values() if i.customer_id == "C001")
    for currency, code in (("DKK", "31"), ("EUR", "58")):
        document = invoiced_by(inv, seller, currency, danish_buyer(inv))
        data = ubl_document(document, seller)
        assert schema_errors(data) == []
        assert fatal_rules(data) == []
        assert peppol_findings(data) == [], currency
        doc = etree.fromstring(data)
        assert doc.xpath("string(cac:PaymentMeans/cbc:PaymentMeansCode)", namespaces=NS) == code
        assert doc.xpath("//cac:PartyIdentification", namespaces=NS) == []
        assert doc.xpath("string(cbc:BuyerReference)", namespaces=NS) == inv.customer_reference
    # a customer abroad keeps its customer number as buyer identifier, and credit transfer
    abroad = invoiced_by(inv, seller, "DKK", inv.buyer)
    doc = etree.fromstring(ubl_document(abroad, seller))
    assert doc.xpath("string(//cac:PartyIdentification/cbc:ID)", namespaces=NS) == "C001"
    assert doc.xpath("string(cac:PaymentMeans/cbc:PaymentMeansCode)", namespaces=NS) == "30"


def test_the_danish_rules_written_out_catch_a_seller_without_its_cvr_number(issued):
    """seller.yaml refuses such a seller (tests/test_e_invoice_parties.py); its e-invoice fails
    DK-R-002, as the rules written out for the tests read it."""
    base, invoices = issued
    seller = danish_seller(base, chamber_of_commerce=None)
    inv = next(i for i in invoices.values() if i.customer_id == "C001")
    data = ubl_document(invoiced_by(inv, seller, "DKK", danish_buyer(inv)), seller)
    assert peppol_findings(data) == [
        "DK-R-002: a Danish seller gives its legal entity id (CVR number)"
    ]


def test_an_icelandic_seller_s_invoice_to_an_icelandic_customer_passes_the_icelandic_rules(
    issued,
):
    """Peppol's Icelandic rules refused every e-invoice of a seller in Iceland: its legal id, the
    kennitala, had no scheme (IS-R-002 asks 0196; the register schemes knew NL, BE, DK, FI and
    SE only), and so had an Icelandic customer's (IS-R-004)."""
    base, invoices = issued
    data = base.model_dump()
    data.update(
        country="IS",
        address=["Laugavegur 1", "101 Reykjavík"],
        postal_code="101",
        city="Reykjavík",
        vat_number="IS00621",
        chamber_of_commerce="450401-3150",
        peppol_id=None,
    )
    data["payment"].update(iban="IS140159260076545510730339", bic="NBIIISRE")
    seller = Seller.model_validate(data)
    inv = next(i for i in invoices.values() if i.customer_id == "C001")
    buyer = replace(
        inv.buyer,
        address=("Hafnarstræti 5",),
        country="IS",
        vat_number=None,
        postal_code="600",
        city="Akureyri",
        registration="5902697199",
        peppol_id=None,
    )
    document = ubl_document(invoiced_by(inv, seller, "ISK", buyer), seller)
    assert fatal_rules(document) == []
    assert peppol_findings(document) == []
    doc = etree.fromstring(document)
    legal = "//cac:PartyLegalEntity/cbc:CompanyID"
    assert [(el.text, el.get("schemeID")) for el in doc.xpath(legal, namespaces=NS)] == [
        ("4504013150", "0196"),
        ("5902697199", "0196"),
    ]
