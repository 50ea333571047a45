"""A VAT-bearing invoice in another currency than the seller's national one states its VAT in the
national currency too (Art. 230 Directive 2006/112/EC): C009, a Dutch customer (21 % VAT),
invoiced in GBP. Its NW invoice said "VAT 21 % 225.00" in GBP only: the PDF, the workbook and the
UBL e-invoice never mentioned EUR, which only the Xero journal held (258.91 at 1.1507). Now the
invoice carries the VAT in EUR at the rate the Xero journal converts the month at (the period's
last day), rounded half-up once, and every document states it: the UBL as EN 16931 does (BT-6
TaxCurrencyCode, BT-111 a second TaxTotal with only its TaxAmount, BR-53), validated by the
project's EN 16931 schematron helpers."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import duckdb
import openpyxl
import pytest
import yaml
from lxml import etree
from pypdf import PdfReader

from billing_lib.accounting_exports import Conversion
from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.fx import load_exchange_rates
from billing_lib.invoice_model import NationalVat, figure_problems, national_vat_note, negated
from billing_lib.invoice_pdf import pdf_name, write_invoice_pdf
from billing_lib.invoices import (
    _national_vat,
    build_invoices,
    load_invoicing,
    read_invoice_data,
    write_invoice_data,
)
from billing_lib.invoicing_parameters import territory_currency
from billing_lib.ledger import build_entries
from billing_lib.numbering import open_register
from billing_lib.ubl import CAC, CBC, ubl_document
from billing_lib.workbooks import workbook_name, write_credit_note_workbook, write_workbooks
from tests.invoice_helpers import ISSUED, PERIOD, line, parameters_copy, rated_table
from tests.ubl_validation import fatal_rules, schema_errors
from tests.workbook_formulas import evaluate, formulas

D = Decimal
NS = {"cac": CAC, "cbc": CBC}
RATES = "GBP,EUR,1.1507,2026-10-01,2026-10-31,test rate\n"
#: C009's month in GBP: 795.73 + 275.68 = 1071.41, VAT 21 % 225.00 (224.9961, half-up).
ROWS = [
    line("C009", "795.73", service="Amazon EC2", currency="GBP"),
    line("C009", "275.68", vendor="microsoft", service="M365", currency="GBP"),
    line("C003", "100", service="Amazon EC2"),  # a Dutch customer in EUR: its VAT is in EUR
]


def parameters(tmp_path, rates: str = RATES, in_gbp: tuple[str, ...] = ("C009",)):
    """The sample parameters with the customers ``in_gbp`` invoiced in GBP and ``rates``
    added."""
    params = parameters_copy(tmp_path)
    path = params / "customers.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for c in data["customers"]:
        if c["id"] in in_gbp:
            c["invoice_currency"] = "GBP"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write(rates)
    return params


def invoiced(tmp_path, rows=ROWS, **kwargs):
    """(connection, invoicing, rates, invoices by customer) of ``rows`` billed with
    ``parameters(tmp_path, **kwargs)``."""
    return invoiced_with(tmp_path, parameters(tmp_path, **kwargs), rows)


def invoiced_with(tmp_path, params, rows):
    """(connection, invoicing, rates, invoices by customer) of ``rows`` billed with the
    parameters folder ``params``."""
    con = duckdb.connect()
    rated_table(con, rows)
    customers = load_customers(params)
    invoicing = load_invoicing(params, customers)
    rates = load_exchange_rates(params)
    built = build_invoices(
        con,
        customers,
        invoicing,
        PERIOD,
        open_register(tmp_path / "reg.sqlite"),
        ISSUED,
        rates=rates,
    )
    return con, invoicing, rates, {i.customer_id: i for i in built}


def test_the_invoice_carries_its_vat_in_the_national_currency_half_up_once(tmp_path):
    _, invoicing, _, invoices = invoiced(tmp_path)
    gbp = invoices["C009"]
    assert (gbp.currency, gbp.net, gbp.vat_total, gbp.gross) == (
        "GBP",
        D("1071.41"),
        D("225.00"),
        D("1296.41"),
    )
    # 225.00 x 1.1507 = 258.9075 -> 258.91 (the national currency from vat_rules.yaml)
    assert invoicing.national_currency == "EUR"
    assert gbp.national_vat == NationalVat(
        "EUR", D("1.1507"), gbp.supply_end, D("258.91"), "test rate"
    )
    assert invoices["C003"].national_vat is None  # in EUR already
    assert figure_problems(gbp) == []
    # read back from invoices.json exactly; a changed EUR figure is found
    path = write_invoice_data(list(invoices.values()), invoicing.seller, tmp_path / "i.json")
    _, read = read_invoice_data(path)
    assert read[gbp.number] == gbp and read[invoices["C003"].number] == invoices["C003"]
    records = {r["customer_id"]: r for r in json.loads(path.read_text())["invoices"]}
    assert "national_vat" not in records["C003"]  # the records of EUR invoices are as before
    assert records["C009"]["national_vat"]["amount"] == "258.91"
    wrong = replace(gbp, national_vat=replace(gbp.national_vat, amount=D("258.90")))
    assert figure_problems(wrong) == ["VAT in EUR 258.90; 225.00 at 1.1507 gives 258.91"]


def test_the_converted_vat_rounds_half_up_not_half_even(tmp_path):
    """VAT 0.03 GBP (net 0.14 x 21 % = 0.0294) at 1.5 is 0.045 EUR exactly: half-up gives 0.05
    (Decimal's default, half-even, would give 0.04)."""
    rows = [line("C009", "0.14", currency="GBP")]
    rates = "GBP,EUR,1.5,2026-10-01,2026-10-31,test rate\n"
    _, _, _, invoices = invoiced(tmp_path, rows=rows, rates=rates)
    assert invoices["C009"].vat_total == D("0.03")
    assert invoices["C009"].national_vat.amount == D("0.05")


def test_no_national_vat_without_vat_and_a_missing_rate_is_named_before_any_number(tmp_path):
    # a Belgian customer (reverse charge, 0 %) in GBP: no VAT to state in EUR, no rate needed
    rows = [line("C005", "10", currency="GBP")]
    _, _, _, invoices = invoiced(tmp_path / "a", rows=rows, rates="", in_gbp=("C005",))
    assert invoices["C005"].vat_total == 0 and invoices["C005"].national_vat is None
    # C009 in GBP without a GBP->EUR rate: refused before numbers are planned, naming the
    # customer and the rate it needs
    with pytest.raises(ParameterError) as err:
        invoiced(tmp_path / "b", rates="")
    text = str(err.value)
    assert "nothing was written" in text and "customers[id=C009]" in text and "Art. 230" in text
    assert "no exchange rate from GBP to EUR valid on 2026-10-31" in text


def test_the_national_currency_defaults_to_the_seller_country_s(tmp_path):
    params = parameters_copy(tmp_path)
    path = params / "vat_rules.yaml"
    rules = yaml.safe_load(path.read_text())
    del rules["national_currency"]
    path.write_text(yaml.safe_dump(rules))
    assert load_invoicing(params).national_currency == "EUR"  # seller.yaml: country NL
    rules["national_currency"] = "euro"
    path.write_text(yaml.safe_dump(rules))
    with pytest.raises(ParameterError, match="national_currency"):
        load_invoicing(params)


def test_a_bulgarian_seller_declares_vat_in_euro_from_2026(tmp_path):
    """Bulgaria adopted the euro on 2026-01-01 (Council of the EU, 8 July 2025; 1.95583 lev);
    babel's CLDR data still named the lev, so a Bulgarian seller without national_currency had
    every EUR invoice of 2026 state its VAT in BGN too, and the run refused it without a
    EUR->BGN rate. The national currency is the one in use on the supply period's last day."""
    assert territory_currency("BG", date(2025, 12, 31)) == "BGN"
    assert territory_currency("BG", date(2026, 1, 1)) == "EUR"
    assert territory_currency("HR", date(2022, 12, 31)) == "HRK"  # CLDR's own changeover
    assert territory_currency("HR", date(2023, 1, 1)) == "EUR"
    assert territory_currency("NL", date(2026, 10, 31)) == "EUR"
    _, invoicing, rates, invoices = invoiced(tmp_path)
    bulgarian = replace(
        invoicing,
        seller=invoicing.seller.model_copy(update={"country": "BG"}),
        vat=invoicing.vat.model_copy(update={"national_currency": None}),
    )
    assert bulgarian.national_currency_on(date(2026, 10, 31)) == "EUR"
    assert bulgarian.national_currency_on(date(2025, 12, 31)) == "BGN"
    eur = invoices["C003"]  # a Dutch customer's EUR invoice of 2026-10, 21 % VAT
    assert eur.currency == "EUR" and eur.vat_total > 0
    assert _national_vat(eur, bulgarian, rates) is None


def value(doc, path: str) -> list[tuple[str, str | None]]:
    return [(e.text, e.get("currencyID")) for e in doc.xpath(path, namespaces=NS)]


def test_the_e_invoice_states_bt6_and_bt111_and_passes_en16931(tmp_path):
    _, invoicing, _, invoices = invoiced(tmp_path)
    gbp = invoices["C009"]
    # a CreditNote states its amounts positive, as the cancelled invoice's
    for inv in (gbp, negated(gbp, "NWC2026-000001", ISSUED, "Wrong price")):
        xml = ubl_document(inv, invoicing.seller)
        doc = etree.fromstring(xml)
        assert value(doc, "cbc:DocumentCurrencyCode") == [("GBP", None)]
        assert value(doc, "cbc:TaxCurrencyCode") == [("EUR", None)]
        totals = doc.xpath("cac:TaxTotal", namespaces=NS)
        assert len(totals) == 2
        assert value(totals[0], "cbc:TaxAmount") == [("225.00", "GBP")]
        # the second TaxTotal: the VAT in EUR, nothing else (no subtotals)
        assert [etree.QName(e).localname for e in totals[1]] == ["TaxAmount"]
        assert value(totals[1], "cbc:TaxAmount") == [("258.91", "EUR")]
        assert schema_errors(xml) == []
        assert fatal_rules(xml) == []
    # the validator does check it: BT-6 without BT-111 fails BR-53
    xml = ubl_document(gbp, invoicing.seller)
    doc = etree.fromstring(xml)
    doc.remove(doc.xpath("cac:TaxTotal", namespaces=NS)[1])
    assert "BR-53" in {f.rule for f in fatal_rules(etree.tostring(doc))}
    # an invoice in EUR has neither
    eur = etree.fromstring(ubl_document(invoices["C003"], invoicing.seller))
    assert (
        value(eur, "cbc:TaxCurrencyCode") == []
        and len(eur.xpath("cac:TaxTotal", namespaces=NS)) == 1
    )


def test_the_pdf_and_the_workbook_state_the_vat_in_eur(tmp_path):
    con, invoicing, _, invoices = invoiced(tmp_path)
    gbp = invoices["C009"]
    note = (
        "VAT in EUR: EUR 258.91 (GBP 225.00 at 1.1507 EUR per GBP, the exchange rate of "
        "2026-10-31: test rate; Art. 230 Directive 2006/112/EC)"
    )
    pdf = write_invoice_pdf(gbp, invoicing.seller, tmp_path / pdf_name(gbp))
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert re.search(r"VAT in EUR 258\.91", text)
    assert note in text
    eur_pdf = write_invoice_pdf(invoices["C003"], invoicing.seller, tmp_path / "c003.pdf")
    assert "VAT in EUR" not in " ".join(p.extract_text() for p in PdfReader(eur_pdf).pages)

    write_workbooks(con, list(invoices.values()), invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(tmp_path / "out" / "invoices" / workbook_name(gbp)).worksheets[0]
    label = [c for row in ws.iter_rows() for c in row if c.value == "VAT in EUR"]
    assert len(label) == 1
    amount = ws.cell(label[0].row, 6)
    # =ROUND(<the VAT cell>*<the rate cell>,2), stored with its value; recomputed it is the same
    assert re.fullmatch(r"=ROUND\(F\d+\*D\d+,2\)", amount.value)
    assert evaluate(ws, amount.value) == D("258.91")
    assert ws.cell(label[0].row, 4).value == 1.1507
    # on rows of its own within the printed page
    assert " ".join(ws.cell(label[0].row + r, 1).value for r in (1, 2)) == note
    wb = openpyxl.load_workbook(tmp_path / "out" / "invoices" / workbook_name(gbp), data_only=True)
    assert wb.worksheets[0].cell(label[0].row, 6).value == 258.91
    for ref, formula in formulas(ws).items():  # every formula still gives its stored value
        stored = wb.worksheets[0][ref].value
        assert evaluate(ws, formula) == D(str(stored)), ref
    # the credit note's workbook states it negated
    credit = negated(gbp, "NWC2026-000001", ISSUED, "Wrong price")
    path = write_credit_note_workbook(credit, invoicing.seller, tmp_path / "credit.xlsx")
    cs = openpyxl.load_workbook(path).worksheets[0]
    [cell] = [c for row in cs.iter_rows() for c in row if c.value == "VAT in EUR"]
    assert evaluate(cs, cs.cell(cell.row, 6).value) == D("-258.91")


def test_the_vat_in_eur_note_writes_its_amounts_as_the_totals_above_it(tmp_path):
    """The note under the totals read "VAT in EUR: EUR 2416.47 (GBP 2100.00 at ...)" right
    under "VAT 2,100.00" and "VAT in EUR 2,416.47": the one place of the PDF and the workbook
    whose amounts had no thousands separators."""
    rows = [line("C009", "10000", currency="GBP")]
    con, invoicing, _, invoices = invoiced(tmp_path, rows=rows)
    gbp = invoices["C009"]
    assert (gbp.vat_total, gbp.national_vat.amount) == (D("2100.00"), D("2416.47"))
    note = (
        "VAT in EUR: EUR 2,416.47 (GBP 2,100.00 at 1.1507 EUR per GBP, the exchange rate of "
        "2026-10-31: test rate; Art. 230 Directive 2006/112/EC)"
    )
    pdf = write_invoice_pdf(gbp, invoicing.seller, tmp_path / pdf_name(gbp))
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "VAT in EUR 2,416.47" in text and note in text
    write_workbooks(con, [gbp], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(tmp_path / "out" / "invoices" / workbook_name(gbp)).worksheets[0]
    assert note in " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    credit = negated(gbp, "NWC2026-000001", ISSUED, "Wrong price")
    assert national_vat_note(credit).startswith("VAT in EUR: EUR -2,416.47 (GBP -2,100.00 at")


def test_the_xero_journal_books_the_same_eur_vat(tmp_path):
    """The Xero manual journal (base currency EUR) converts the GBP invoice's VAT line at the same
    rate of the same day: it is the VAT the invoice states in EUR, to the cent."""
    con, invoicing, rates, invoices = invoiced(tmp_path)
    gbp = invoices["C009"]
    [sales] = [e for e in build_entries(con, [gbp], invoicing) if e.invoice_number == gbp.number]
    converted = Conversion("EUR", gbp.supply_end, rates, "7099").entry(sales)
    vat = [p for p in converted.postings if p.account == "1500"]
    assert [(p.amount, p.currency) for p in vat] == [(-gbp.national_vat.amount, "EUR")]


def test_the_invoice_names_the_source_of_the_rate_its_vat_is_converted_at(tmp_path):
    """exchange_rates.csv asks where each rate comes from (its ``source`` column, required), yet
    the invoice said only "the exchange rate of 2026-10-31": the customer's or the tax
    inspector's question "which rate?" (Art. 91(2) Directive 2006/112/EC: the latest selling rate
    or the ECB's) had no answer on it. The PDF and the workbook now name the row's source, and
    invoices.json keeps it (a record written before has none, and reads as it was)."""
    rates = "GBP,EUR,1.1507,2026-10-01,2026-10-31,ECB euro reference rate 2026-10-30\n"
    con, invoicing, _, invoices = invoiced(tmp_path, rates=rates)
    gbp = invoices["C009"]
    assert gbp.national_vat.source == "ECB euro reference rate 2026-10-30"
    note = (
        "VAT in EUR: EUR 258.91 (GBP 225.00 at 1.1507 EUR per GBP, the exchange rate of "
        "2026-10-31: ECB euro reference rate 2026-10-30; Art. 230 Directive 2006/112/EC)"
    )
    pdf = write_invoice_pdf(gbp, invoicing.seller, tmp_path / pdf_name(gbp))
    assert note in " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    write_workbooks(con, [gbp], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(tmp_path / "out" / "invoices" / workbook_name(gbp)).worksheets[0]
    assert note in " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    credit = negated(gbp, "NWC2026-000001", ISSUED, "Wrong price")
    assert credit.national_vat.source == gbp.national_vat.source
    path = write_invoice_data([gbp], invoicing.seller, tmp_path / "i.json")
    assert read_invoice_data(path)[1][gbp.number] == gbp
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["invoices"][0]["national_vat"]["source"]  # as a run before it was kept
    path.write_text(json.dumps(data), encoding="utf-8")
    old = read_invoice_data(path)[1][gbp.number]
    assert old.national_vat == replace(gbp.national_vat, source="")
