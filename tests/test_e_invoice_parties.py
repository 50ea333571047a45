"""No e-invoice an access point refuses is written: a seller or customer without an electronic
address (PEPPOL-EN16931-R020 / R010), a Dutch or Italian seller without postcode and city (NL-R-002,
IT-R-003, IT-R-004), a Dutch customer of a Dutch seller without them (NL-R-004), a Danish seller
without its CVR number (DK-R-002) is refused naming the entry (F9)."""

from __future__ import annotations

import json

import pytest
import yaml

from billing_lib.customers import load_customers
from billing_lib.e_invoice_parties import buyer_problems, seller_problems
from billing_lib.errors import ParameterError
from billing_lib.invoice_files import read_invoice_data
from billing_lib.invoices import build_invoices, load_invoicing
from billing_lib.numbering import open_register
from billing_lib.ubl import ubl_document
from tests.invoice_helpers import ISSUED, PARAMETERS, PERIOD, line, parameters_copy, setup
from tests.ubl_validation import peppol_findings


def edited(tmp_path, file: str, change) -> object:
    params = parameters_copy(tmp_path)
    path = params / file
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return params


def customer(data, cid):
    return next(c for c in data["customers"] if c["id"] == cid)


def bill(tmp_path, params, rows):
    con, customers, invoicing = setup(rows, params)
    register = open_register(tmp_path / "register.sqlite")
    return build_invoices(con, customers, invoicing, PERIOD, register, ISSUED), register


def test_a_seller_without_electronic_address_is_refused_when_seller_yaml_is_read(tmp_path):
    def bare(seller):
        del seller["email"], seller["peppol_id"]

    params = edited(tmp_path, "seller.yaml", bare)
    with pytest.raises(
        ParameterError,
        match=r"seller.yaml, entry peppol_id: every e-invoice needs the seller's electronic "
        r"address \(Peppol rule PEPPOL-EN16931-R020",
    ):
        load_invoicing(params)


def test_a_dutch_seller_without_postcode_and_city_is_refused_naming_both(tmp_path):
    def bare(seller):
        del seller["postal_code"], seller["city"]

    params = edited(tmp_path, "seller.yaml", bare)
    with pytest.raises(ParameterError) as caught:
        load_invoicing(params)
    message = str(caught.value)
    assert "seller.yaml, entry postal_code: a Dutch seller's e-invoices need its postal code" in (
        message
    )
    assert "NL-R-002" in message and "\n  - entry city: a Dutch seller's e-invoices" in message


def test_only_the_dutch_and_italian_rules_ask_a_seller_s_postcode_and_city():
    seller = load_invoicing(PARAMETERS).seller
    assert seller_problems(seller) == []
    belgian = seller.model_copy(update={"country": "BE", "postal_code": None, "city": None})
    assert seller_problems(belgian) == []
    dutch = seller.model_copy(update={"city": " "})
    assert [key for key, _ in seller_problems(dutch)] == ["city"]
    italian = seller.model_copy(update={"country": "IT", "city": None})
    assert [key for key, _ in seller_problems(italian)] == ["city"]


def test_a_customer_without_electronic_address_is_not_invoiced(tmp_path):
    # C003 has no peppol_id: its email was the e-invoice's only EndpointID
    params = edited(tmp_path, "customers.yaml", lambda d: customer(d, "C003").pop("email"))
    with pytest.raises(
        ParameterError,
        match=r"customers.yaml, entry customers\[id=C003\]\.email: the e-invoice needs the "
        r"customer's electronic address \(Peppol rule PEPPOL-EN16931-R010",
    ):
        bill(tmp_path, params, [line("C003", "10"), line("C001", "5")])
    assert open_register(tmp_path / "register.sqlite").entries() == []


def test_a_dutch_customer_without_postcode_and_city_is_not_invoiced_naming_both(tmp_path):
    def bare(data):
        c009 = customer(data, "C009")
        del c009["postal_code"], c009["city"]

    params = edited(tmp_path, "customers.yaml", bare)
    with pytest.raises(ParameterError) as caught:
        bill(tmp_path, params, [line("C009", "10")])
    message = str(caught.value)
    for key, words in (("postal_code", "postal code"), ("city", "city")):
        assert (
            f"customers.yaml, entry customers[id=C009].{key}: the e-invoice to a Dutch customer "
            f"from a Dutch seller needs its {words}, as in the address (Peppol rule NL-R-004"
        ) in message


def test_a_customer_abroad_without_postcode_and_city_gets_an_e_invoice_peppol_accepts(tmp_path):
    """NL-R-004 is for Dutch buyers only; a customer with a peppol_id needs no email."""

    def bare(data):
        c006 = customer(data, "C006")
        del c006["postal_code"], c006["city"], c006["email"]

    params = edited(tmp_path, "customers.yaml", bare)
    [inv], _ = bill(tmp_path, params, [line("C006", "10")])
    seller = load_invoicing(params).seller
    assert peppol_findings(ubl_document(inv, seller)) == []
    customers = load_customers(params)
    assert buyer_problems(customers["C006"], "C006", "NL") == []


def test_a_run_billed_before_the_check_still_reads_its_seller(sample_outputs, tmp_path):
    data = json.loads((sample_outputs / PERIOD / "invoices.json").read_text())
    for key in ("postal_code", "city", "email", "peppol_id"):
        data["seller"][key] = None
    path = tmp_path / "invoices.json"
    path.write_text(json.dumps(data))
    seller, _ = read_invoice_data(path)
    assert seller.city is None and seller.peppol_id is None


def _in_copenhagen(seller):
    seller.update(
        country="DK",
        address=["Kongens Nytorv 1", "1050 København K"],
        postal_code="1050",
        city="København K",
        vat_number="DK13585628",
        peppol_id="0184:DK13585628",
    )
    seller["payment"].update(iban="DK5000400440116243", bic="DABADKKK")
    del seller["chamber_of_commerce"]


def test_a_danish_seller_without_its_cvr_number_is_refused_when_seller_yaml_is_read(tmp_path):
    """Peppol's Danish rules refuse every e-invoice of a Danish seller without its legal entity
    id, the CVR number (DK-R-002, fatal); ``chamber_of_commerce`` was optional for any seller."""
    params = edited(tmp_path, "seller.yaml", _in_copenhagen)
    with pytest.raises(
        ParameterError,
        match=r"seller.yaml, entry chamber_of_commerce: a Danish seller's e-invoices need its CVR "
        r"number \(Peppol rule DK-R-002",
    ):
        load_invoicing(params)
    seller = load_invoicing(PARAMETERS).seller
    danish = seller.model_copy(update={"country": "DK", "chamber_of_commerce": "13585628"})
    assert seller_problems(danish) == []


def test_an_italian_seller_without_postcode_and_city_is_refused_naming_both(tmp_path):
    """Peppol's Italian rules refuse every e-invoice of a seller in Italy whose address lacks its
    city or postcode (IT-R-003, IT-R-004, fatal), as the Dutch rule does a Dutch seller's."""

    def in_milan(seller):
        seller.update(
            country="IT", address=["Via Roma 1", "20121 Milano"], vat_number="IT00743110157"
        )
        seller["payment"].update(iban="IT60X0542811101000000123456", bic="BPMOIT22")
        del (
            seller["postal_code"],
            seller["city"],
            seller["peppol_id"],
            seller["chamber_of_commerce"],
        )

    params = edited(tmp_path, "seller.yaml", in_milan)
    with pytest.raises(ParameterError) as caught:
        load_invoicing(params)
    message = str(caught.value)
    assert "seller.yaml, entry postal_code: an Italian seller's e-invoices need its postal " in (
        message
    )
    assert "IT-R-002 to IT-R-004" in message
    assert "\n  - entry city: an Italian seller's e-invoices" in message


def test_an_icelandic_seller_or_customer_without_kennitala_and_postcode_is_refused():
    """Peppol's Icelandic rules refuse every e-invoice of a seller in Iceland without its
    kennitala (IS-R-002) or its postcode (IS-R-003), and one to an Icelandic customer without
    them (IS-R-004, IS-R-005)."""
    seller = load_invoicing(PARAMETERS).seller
    icelandic = seller.model_copy(
        update={"country": "IS", "chamber_of_commerce": None, "postal_code": None}
    )
    problems = dict(seller_problems(icelandic))
    assert list(problems) == ["chamber_of_commerce", "postal_code"]
    assert "kennitala (Peppol rule IS-R-002" in problems["chamber_of_commerce"]
    assert "IS-R-003" in problems["postal_code"]
    c001 = load_customers(PARAMETERS)["C001"]
    buyer = c001.model_copy(
        update={"country": "IS", "chamber_of_commerce": None, "postal_code": None}
    )
    found = buyer_problems(buyer, "C001", "IS")
    assert [p.split(":")[0] for p in found] == ["C001.chamber_of_commerce", "C001.postal_code"]
    assert "IS-R-004" in found[0] and "IS-R-005" in found[1]
    assert buyer_problems(buyer, "C001", "NL") == []
