"""Currencies without cents and with three decimals billed end to end: the sample month with two
more Dutch customers (21 % VAT), one invoiced in yen (JPY, no decimals) and one in Kuwaiti dinar
(KWD, three). Every amount has the currency's decimals; the workbooks' formulas, recalculated,
give the stored amounts (not fractions of a yen); the workbook, invoices.json, the journal, the
beancount ledger, invoice_summary.csv, the PDF and the UBL e-invoice state the same amounts."""

from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
import yaml
from beancount import loader
from beancount.core import data
from lxml import etree
from pypdf import PdfReader

from billing_lib import run
from billing_lib.invoices import read_invoice_data
from billing_lib.money import decimal_places, round_money, round_money_sql
from billing_lib.ubl import CAC, CBC, ubl_document
from tests.invoice_helpers import PARAMETERS, PERIOD, REPO
from tests.ubl_validation import peppol_findings, rule_findings
from tests.workbook_formulas import evaluate, formulas, label_cell

D = Decimal
SAMPLE = REPO / "samples" / PERIOD / "reports"
#: The currencies billed here and their decimals (ISO 4217 minor units).
PLACES = {"JPY": 0, "KWD": 3}
NS = {"cac": CAC, "cbc": CBC}


def dutch_customer(id_: str, name: str, address: tuple[str, str, str], vat: str, currency: str):
    """A customer in the Netherlands (domestic 21 % VAT) invoiced in ``currency``; ``address``:
    street, postal code, city."""
    street, postal_code, city = address
    return {
        "id": id_,
        "name": name,
        "address": [street, f"{postal_code} {city}"],
        "postal_code": postal_code,
        "city": city,
        "country": "NL",
        "vat_number": vat,
        "invoice_currency": currency,
        "payment_terms_days": 30,
        "email": f"finance@{id_.lower()}.example",
        "group": "enterprise",
    }


ROTTERDAM = ("Stationsplein 45", "3013 AK", "Rotterdam")
AMSTERDAM = ("Zuidplein 126", "1077 XV", "Amsterdam")
CUSTOMERS = [
    dutch_customer("C011", "Kaizen Robotics Europe B.V.", ROTTERDAM, "NL834567891B01", "JPY"),
    dutch_customer("C012", "Gulf Data Benelux B.V.", AMSTERDAM, "NL845678905B01", "KWD"),
]

#: The sample's accounts moved to the new customers: C007's Microsoft tenant and the unmapped
#: AWS sandbox (USD and EUR lines) to C011, C006's AWS account and tenant to C012.
ACCOUNTS = {
    "microsoft,fe83a528-2229-4f24-b795-a5b44c878ac3,C007": "C011",
    "aws,741852963014,C006": "C012",
    "microsoft,cabede65-d7f6-45ec-8b17-371710f8eaae,C006": "C012",
}
RATES = """USD,JPY,151.37,2026-10-01,2026-10-15,test rate
USD,JPY,152.04,2026-10-16,2026-10-31,test rate
EUR,JPY,164.83,2026-10-01,2026-10-31,test rate
USD,KWD,0.3068,2026-10-01,2026-10-31,test rate
EUR,KWD,0.3331,2026-10-01,2026-10-31,test rate
JPY,EUR,0.006067,2026-10-01,2026-10-31,test rate (the Xero journal in EUR)
KWD,EUR,3.0021,2026-10-01,2026-10-31,test rate (the Xero journal in EUR)
"""
PLAN = {
    "id": "minor-units",
    "name": "Markups only, for the JPY and KWD customers",
    "valid_from": "2026-01-01",
    "rules": [
        {"id": "aws", "kind": "markup", "percent": 13, "match": {"vendor": "aws"}},
        {"id": "other", "kind": "markup", "percent": 11},
    ],
}
CUSTOM_LINES = [
    {
        "id": "c011-onboarding",
        "customer": "C011",
        "kind": "one_off",
        "description": "Robot fleet onboarding",
        "quantity": 3,
        "unit": "hour",
        "unit_price": "12345",
        "currency": "JPY",
        "date": "2026-10-08",
        "product_group": "professional_services",
    },
    {
        "id": "c012-managed",
        "customer": "C012",
        "kind": "fee",
        "description": "Managed services",
        "unit_price": "41.275",
        "currency": "KWD",
        "valid_from": "2026-10-10",
        "product_group": "managed_services",
    },
]


def minor_unit_parameters(target: Path) -> Path:
    """The sample month's parameters with C011 (JPY) and C012 (KWD), their accounts, exchange
    rates, a plan of markups and a custom line each."""
    shutil.copytree(PARAMETERS, target, ignore=shutil.ignore_patterns("local"))
    customers = yaml.safe_load((target / "customers.yaml").read_text(encoding="utf-8"))
    customers["customers"] += CUSTOMERS
    (target / "customers.yaml").write_text(yaml.safe_dump(customers), encoding="utf-8")
    accounts = (target / "accounts.csv").read_text(encoding="utf-8")
    for row, customer in ACCOUNTS.items():
        assert row in accounts
        accounts = accounts.replace(row, row.rsplit(",", 1)[0] + "," + customer)
    accounts += "aws,285396417058,C011,,,poc-sandbox-ams\n"
    (target / "accounts.csv").write_text(accounts, encoding="utf-8")
    rates = target / "exchange_rates.csv"
    rates.write_text(rates.read_text(encoding="utf-8") + RATES, encoding="utf-8")
    plans = yaml.safe_load((target / "price_plans.yaml").read_text(encoding="utf-8"))
    plans["plans"].append(PLAN)
    plans["assignments"] += [
        {"plan": PLAN["id"], "customer": c, "valid_from": "2026-01-01"} for c in ("C011", "C012")
    ]
    (target / "price_plans.yaml").write_text(yaml.safe_dump(plans), encoding="utf-8")
    custom = yaml.safe_load((target / "custom_lines.yaml").read_text(encoding="utf-8"))
    custom["custom_lines"] += CUSTOM_LINES
    (target / "custom_lines.yaml").write_text(yaml.safe_dump(custom), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def billed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """(run folder, the JPY and the KWD invoice as invoices.json holds them)."""
    base = tmp_path_factory.mktemp("minor-units")
    parameters = minor_unit_parameters(base / "parameters")
    folder = run.run_all(PERIOD, SAMPLE, parameters, base / "outputs")
    invoices = json.loads((folder / "invoices.json").read_text(encoding="utf-8"))["invoices"]
    return folder, {i["currency"]: i for i in invoices if i["currency"] in PLACES}


def places(text: str) -> int:
    """Decimals written in ``text`` ("13125" 0, "42.412" 3)."""
    return -D(text).as_tuple().exponent


def amounts(inv: dict) -> list[str]:
    """Every amount of an invoice in invoices.json: totals, lines, VAT per rate."""
    totals = [inv[k] for k in ("net", "vat_total", "gross", "cost", "margin")]
    lines = [ln[k] for ln in inv["lines"] for k in ("amount", "cost")]
    return totals + lines + [v[k] for v in inv["vat"] for k in ("base", "amount")]


def test_every_amount_has_the_currencys_decimals_and_vat_is_rounded_to_them(billed):
    _, invoices = billed
    assert set(invoices) == {"JPY", "KWD"}
    for currency, inv in invoices.items():
        assert {places(a) for a in amounts(inv)} == {PLACES[currency]}, currency
    # hand-checked: 21 % of 62501 yen is 13125.21 -> 13125; of 201.960 dinar 42.4116 -> 42.412
    # (C011's 9 Business Premium seats cancelled are credited at cost + 11 % as they were charged:
    # 167.40 x 0.11 EUR x 164.83 = 3035 yen less than at cost, 65536 before)
    jpy, kwd = invoices["JPY"], invoices["KWD"]
    assert (jpy["net"], jpy["vat_total"], jpy["gross"]) == ("62501", "13125", "75626")
    assert (kwd["net"], kwd["vat_total"], kwd["gross"]) == ("201.960", "42.412", "244.372")


def workbook(folder: Path, inv: dict) -> Path:
    return folder / "invoices" / f"{inv['number']}_{inv['customer_id']}.xlsx"


def amount_format(currency: str, code: bool = True) -> str:
    """An amount's number format: ``"JPY" #,##0;"JPY" -#,##0`` (``#,##0.000;-#,##0.000`` for
    KWD without the code)."""
    digits = "#,##0" + ("." + "0" * PLACES[currency] if PLACES[currency] else "")
    shown = f'"{currency}" ' if code else ""
    return f"{shown}{digits};{shown}-{digits}"


def test_the_invoice_sheets_formulas_recalculate_to_the_stored_amounts(billed):
    folder, invoices = billed
    for currency, inv in invoices.items():
        path = workbook(folder, inv)
        ws = openpyxl.load_workbook(path)["Invoice"]
        cached = openpyxl.load_workbook(path, data_only=True)["Invoice"]
        written = formulas(ws)
        # the VAT amount (base x rate) is the formula that would leave a fraction of a yen
        assert [f for f in written.values() if re.fullmatch(r"=ROUND\(D\d+\*E\d+,\d\)", f)]
        # the VAT in EUR (Art. 230: a Dutch invoice in another currency) rounds to cents
        eur = label_cell(ws, "VAT in EUR").offset(column=1).coordinate
        assert D(str(cached[eur].value)) == D(inv["national_vat"]["amount"])
        assert ws[eur].number_format == '"EUR" #,##0.00;"EUR" -#,##0.00'
        for ref, formula in written.items():
            places = 2 if ref == eur else PLACES[currency]
            assert formula.endswith(f",{places})"), (currency, ref, formula)
            assert evaluate(ws, formula) == D(str(cached[ref].value)), (currency, ref, formula)
            if ref != eur:
                assert ws[ref].number_format == amount_format(currency), (currency, ref)
        for label, key in (("Net", "net"), ("VAT", "vat_total"), ("Total", "gross")):
            assert D(str(cached.cell(label_cell(ws, label).row, 6).value)) == D(inv[key])


def test_the_run_summary_rounds_and_shows_each_currency_in_its_decimals(billed):
    folder, invoices = billed
    ws = openpyxl.load_workbook(folder / "run_summary.xlsx")["Customers"]
    cached = openpyxl.load_workbook(folder / "run_summary.xlsx", data_only=True)["Customers"]
    columns = {"G": "net", "H": "vat_total", "I": "gross", "J": "cost", "K": "margin"}
    for currency, inv in invoices.items():
        [row] = [c.row for (c,) in ws.iter_rows(min_col=5, max_col=5) if c.value == inv["number"]]
        [total] = [
            r[0].row for r in ws.iter_rows() if r[0].value == "Total" and r[5].value == currency
        ]
        assert ws[f"K{row}"].value == f"=ROUND(G{row}-J{row},{PLACES[currency]})"
        assert evaluate(ws, ws[f"K{row}"].value) == D(inv["margin"])
        for col, key in columns.items():
            for r in (row, total):  # one invoice in the currency: its total is the invoice's
                assert D(str(cached[f"{col}{r}"].value)) == D(inv[key]), (currency, col, r)
                assert ws[f"{col}{r}"].number_format == amount_format(currency, code=False)


def sales_entry(folder: Path, number: str) -> dict[str, str]:
    """The journal's sales entry of an invoice: debit (+) or credit (-) text per account."""
    with (folder / "journal_2026-10.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["journal"] == "SALES"]
    return {r["account"]: r["debit"] or f"-{r['credit']}" for r in rows if r["entry_id"] == number}


def ledger_entry(folder: Path, number: str) -> dict[str, tuple[Decimal, str]]:
    """The beancount ledger's entry of an invoice (checked by beancount): amount and currency per
    account number."""
    entries, errors, _ = loader.load_file(str(folder / "ledger_2026-10.beancount"))
    assert not errors
    [txn] = [
        e
        for e in entries
        if isinstance(e, data.Transaction)
        and e.meta.get("entry_id") == number
        and e.meta.get("journal") == "SALES"
    ]
    return {
        re.search(r":(\d+)-", p.account)[1]: (p.units.number, p.units.currency)
        for p in txn.postings
    }


def test_journal_ledger_and_invoice_summary_state_the_invoice_to_the_minor_unit(billed):
    folder, invoices = billed
    with (folder / "invoice_summary.csv").open(encoding="utf-8") as fh:
        summary = {r["invoice_number"]: r for r in csv.DictReader(fh)}
    for currency, inv in invoices.items():
        per_group: dict[str, Decimal] = {}
        for ln in inv["lines"]:
            per_group[ln["heading"]] = per_group.get(ln["heading"], D(0)) + D(ln["amount"])
        journal = sales_entry(folder, inv["number"])
        # the row of the conversion's cents to EUR (docs/invoices-and-ledger.md, "Importing the
        # CSV journal"), if the roundings leave any: 0 in the invoice's currency, in its places
        conversion = journal.pop("7099", None)
        assert conversion is None or (D(conversion), places(conversion)) == (0, PLACES[currency])
        # receivable = gross, VAT payable = VAT, one revenue account per product group
        assert journal.pop("1300") == inv["gross"] and journal.pop("1500") == f"-{inv['vat_total']}"
        assert sorted(D(v) for v in journal.values()) == sorted(-v for v in per_group.values())
        assert {places(v) for v in journal.values()} == {PLACES[currency]}
        ledger = ledger_entry(folder, inv["number"])
        assert ledger.pop("1300") == (D(inv["gross"]), currency)
        assert ledger.pop("1500") == (-D(inv["vat_total"]), currency)
        assert {k: str(v) for k, (v, _) in ledger.items()} == journal
        row = summary[inv["number"]]
        assert (row["currency"], row["net_amount"], row["vat_amount"], row["gross_amount"]) == (
            currency,
            inv["net"],
            inv["vat_total"],
            inv["gross"],
        )
        assert (row["cost_amount"], row["margin_amount"]) == (inv["cost"], inv["margin"])


def test_the_xero_journal_in_euro_converts_each_currency_to_cents_and_balances(billed):
    folder, invoices = billed
    with (folder / "xero_manual_journal_2026-10_EUR.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for currency, rate in (("JPY", "0.006067"), ("KWD", "3.0021")):
        inv = invoices[currency]
        mine = [r for r in rows if inv["number"] in r["*Narration"]]
        assert sum(D(r["*Amount"]) for r in mine) == 0
        assert {places(r["*Amount"]) for r in mine} == {2}
        [receivable] = [r for r in mine if r["*AccountCode"] == "1300"]
        assert f"({currency} {inv['gross']} at {rate})" in receivable["Description"]
        # each line rounded, the rounding on the receivable: within a cent a line
        gross = D(inv["gross"]) * D(rate)
        assert abs(D(receivable["*Amount"]) - gross) <= D("0.01") * len(mine)


def test_the_pdf_and_the_e_invoice_state_the_same_amounts(billed):
    folder, invoices = billed
    for currency, inv in invoices.items():
        pdf = workbook(folder, inv).with_suffix(".pdf")
        text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
        gross = f"{D(inv['gross']):,.{PLACES[currency]}f}"
        assert f"Please pay {currency} {gross} by" in text
        assert f"Total {currency}\n{gross}" in text
        if currency == "JPY":  # the yen has no sen: its price as the workbook's JPY 12,345
            assert "3\nhour\n12,345\n21 %" in text
        if PLACES[currency] > 2:  # EN 16931 allows two decimals: no e-invoice, the run warns
            assert not pdf.with_suffix(".xml").exists()
            continue
        xml = etree.parse(str(pdf.with_suffix(".xml")))
        for tag, key in (("PayableAmount", "gross"), ("TaxExclusiveAmount", "net")):
            [el] = xml.iter(f"{{{CBC}}}{tag}")
            assert (el.text, el.get("currencyID")) == (inv[key], currency)


def test_the_manifest_records_each_invoice_and_the_ledger_in_its_decimals(billed):
    folder, invoices = billed
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    recorded = {r["invoice_number"]: r for r in manifest["invoices"]}
    balance = {r["currency"]: r for r in manifest["ledger_balance"]}
    for currency, inv in invoices.items():
        row = recorded[inv["number"]]
        assert (row["net"], row["vat"], row["gross"]) == (
            inv["net"],
            inv["vat_total"],
            inv["gross"],
        )
        assert places(balance[currency]["invoiced_gross"]) == PLACES[currency]
        assert D(balance[currency]["difference"]) == 0
    # the KWD invoice has no e-invoice, and the run says why
    [warning] = [w for w in manifest["warnings"] if "no UBL e-invoice" in w]
    assert invoices["KWD"]["number"] in warning and "KWD has 3" in warning


def test_the_notebook_s_tables_show_each_currency_in_its_decimals(billed):
    """The billing notebook's invoice table (``invoice_summary.csv`` read back, as
    ``BillingRun.build_invoices`` returns it, through ``display_money``) showed every amount in
    cents: the KWD invoice's net 42.412 as 42.41, not what the invoice states."""
    from billing_lib.display import display_money
    from billing_lib.run_readback import read_invoice_summary

    folder, invoices = billed
    shown = display_money(read_invoice_summary(folder / "invoice_summary.csv"))
    for currency, inv in invoices.items():
        [row] = shown[shown["currency"] == currency].to_dict("records")
        for column, key in (("net", "net"), ("vat", "vat_total"), ("gross", "gross")):
            assert row[column] == inv[key], (currency, column)
            assert places(row[column]) == PLACES[currency]
    eur = shown[shown["currency"] == "EUR"].iloc[0]
    assert places(eur["net"]) == 2


#: Every ISO 4217 currency whose minor unit is not 2 (the ISO 4217 list of 2018-08-29, table A.1:
#: 0 for the yen, the won, the CFA and CFP francs, the dong...; 3 for the dinars and the Omani
#: rial; 4 for the Chilean and Uruguayan units of account).
ISO_4217_NOT_TWO = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"], 0),
    **dict.fromkeys(["RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


@pytest.mark.parametrize(("currency", "minor"), sorted(ISO_4217_NOT_TWO.items()))
def test_every_currency_rounds_to_its_iso_4217_minor_unit(currency: str, minor: int):
    """The table of minor units held 8 of the 26 ISO 4217 currencies without two decimals: a
    Jordanian customer's line of JOD 41.2745 was invoiced as 41.27 (its third decimal gone from
    every document) and got an EN 16931 e-invoice in two decimals; a line of VND 1234567.5 (the
    dong has no minor unit) was invoiced as 1234567.50. Python's rounding and the rating's SQL
    (the minimum-fee top-up) agree."""
    assert decimal_places(currency) == minor
    amount = D("1234567.12345")
    want = amount.quantize(D(1).scaleb(-minor), rounding=ROUND_HALF_UP)
    assert round_money(amount, currency) == want
    sql = round_money_sql(f"CAST('{amount}' AS DECIMAL(38,12))", f"'{currency}'")
    [(rounded,)] = duckdb.sql(f"SELECT {sql}").fetchall()
    assert rounded == want


def test_a_yen_e_invoice_over_peppol_states_lines_whose_quantity_x_price_is_their_amount(billed):
    """Peppol (PEPPOL-EN16931-R120) wants each line's quantity x net price within 0.02 of its
    amount. A yen line shows its unit price where quantity x price rounds to the yen amount, up
    to half a yen away: 9 Licenses x 676.9568 = 6092.6112 beside 6093, so the JPY e-invoice of a
    customer reached over Peppol was refused."""
    folder, invoices = billed
    seller, stored = read_invoice_data(folder / "invoices.json")
    inv = stored[invoices["JPY"]["number"]]
    over_peppol = replace(
        inv, buyer=replace(inv.buyer, peppol_id="0106:83456789", registration="83456789")
    )
    xml = ubl_document(over_peppol, seller)
    assert peppol_findings(xml) == []
    assert [f for f in rule_findings(xml) if f.flag == "fatal"] == []
    # the lines that do multiply out keep their quantity and price
    doc = etree.fromstring(xml)
    hours = doc.xpath("//cac:InvoiceLine[cbc:InvoicedQuantity/@unitCode='HUR']", namespaces=NS)
    assert [(h.findtext(f"{{{CBC}}}InvoicedQuantity"), price(h)) for h in hours] == [("3", "12345")]


def price(line: etree._Element) -> str:
    """The net price (BT-146) of a UBL invoice line."""
    return line.findtext(f"{{{CAC}}}Price/{{{CBC}}}PriceAmount")
