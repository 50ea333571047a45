"""The journal: balanced per currency, accepted by the independent checker bean-check (and
rejected when unbalanced), ledger = invoices = rated lines rounded per invoice line; a failed
run writes nothing and leaves an earlier run's files and numbers untouched."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import ParameterError
from billing_lib.invoices import build_invoices, write_invoice_data, write_invoice_summary
from billing_lib.journal_entries import Entry, NationalRate, Posting
from billing_lib.journal_files import write_beancount_file
from billing_lib.journal_readback import beancount_problems
from billing_lib.ledger import build_entries, write_ledger
from billing_lib.moved_cost import moved_cost_entries
from billing_lib.numbering import open_register
from billing_lib.workbooks import write_workbooks
from tests.console_scripts import BEAN_CHECK
from tests.invoice_helpers import (
    ISSUED,
    PERIOD,
    input_vat_parameters,
    line,
    parameters_copy,
    setup,
)

D = Decimal

ROWS = [
    line("C003", "5.0025", service="EC2", cost="4"),
    line("C003", "5.0025", service="EC2", cost="4"),
    line("C003", "20.004", service="S3", cost="15.555"),
    line("C003", "0.333", vendor="microsoft", service="M365", cost="0.3"),
    line("C005", "99.995", vendor="microsoft", service="M365", cost="80"),
    line("C008", "50", currency="USD", cost="41.004", vendor_cost="41.004", billed_cost="41.004"),
    line(
        "C004", "10", service="RDS", cost="9", vendor_cost="9", billed_cost="12.5"
    ),  # amortised RI
    line("C004", "-40", kind="credit", product_group="managed_services", description="SLA credit"),
]


def run(tmp_path, rows=ROWS):
    con, customers, invoicing = setup(rows)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    return con, invoices, invoicing


def read_journal(path):
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_the_journal_balances_per_currency_and_equals_the_invoices(tmp_path):
    con, invoices, invoicing = run(tmp_path)
    csv_path, bean = write_ledger(con, invoices, invoicing, tmp_path / "out")
    assert (csv_path.name, bean.name) == ("journal_2026-10.csv", "ledger_2026-10.beancount")
    rows = read_journal(csv_path)
    assert list(rows[0]) == [
        "date",
        "journal",
        "entry_id",
        "account",
        "description",
        "debit",
        "credit",
        "currency",
        "vat_code",
        "customer_id",
        "invoice_number",
        # appended: the row in the national currency (tests/test_journal_national.py)
        "national_currency",
        "exchange_rate",
        "rate_date",
        "national_debit",
        "national_credit",
    ]
    balance: dict[str, Decimal] = {}
    for r in rows:
        assert bool(r["debit"]) != bool(r["credit"]) and not r["debit"].startswith("-")
        balance[r["currency"]] = (
            balance.get(r["currency"], D(0)) + D(r["debit"] or 0) - D(r["credit"] or 0)
        )
    assert balance == {"EUR": 0, "USD": 0}
    for inv in invoices:  # receivable = gross, revenue = net, VAT = VAT, per invoice
        mine = [r for r in rows if r["invoice_number"] == inv.number]
        receivable = sum(
            D(r["debit"] or 0) - D(r["credit"] or 0) for r in mine if r["account"] == "1300"
        )
        revenue = sum(
            D(r["credit"] or 0) - D(r["debit"] or 0) for r in mine if r["account"].startswith("8")
        )
        vat = sum(D(r["credit"] or 0) - D(r["debit"] or 0) for r in mine if r["account"] == "1500")
        assert (receivable, revenue, vat) == (inv.gross, inv.net, inv.vat_total)
    # hand-checked C003: 10.01 + 20.00 + 0.33 = 30.34, VAT 6.37: AWS revenue 30.01, Microsoft 0.33
    c003 = [
        (r["account"], r["debit"], r["credit"], r["vat_code"])
        for r in rows
        if r["customer_id"] == "C003"
    ]
    assert c003 == [
        ("1300", "36.71", "", ""),
        ("8010", "", "30.01", "NL-21"),
        ("8020", "", "0.33", "NL-21"),
        ("1500", "", "6.37", "NL-21"),
    ]
    # C004 has a negative invoice: 10.00 - 40.00 = -30.00, VAT -6.30: receivable on the credit side
    c004 = [(r["account"], r["debit"], r["credit"]) for r in rows if r["customer_id"] == "C004"]
    assert c004 == [
        ("1300", "", "36.30"),
        ("8010", "", "10.00"),
        ("8100", "40.00", ""),
        ("1500", "6.30", ""),
    ]


def test_ledger_equals_the_rated_lines_rounded_per_invoice_line(tmp_path):
    con, invoices, invoicing = run(tmp_path)
    # independently: DuckDB sums each (customer, product group, service) group and rounds it
    expected = dict(
        con.execute("""
        SELECT customer_id, sum(ROUND(s, 2)) FROM (
          SELECT customer_id, product_group, COALESCE(service, description) AS g, sum(amount) AS s
          FROM rated_lines WHERE customer_id <> 'C002' GROUP BY ALL) GROUP BY ALL""").fetchall()
    )
    entries = build_entries(con, invoices, invoicing)
    revenue = {
        e.customer_id: -sum(p.amount for p in e.postings if p.account.startswith("8"))
        for e in entries
        if e.journal == "SALES"
    }
    assert revenue == expected == {i.customer_id: i.net for i in invoices}


def test_vendor_cost_is_booked_in_the_vendors_currency_against_the_payable(tmp_path):
    con, invoices, invoicing = run(tmp_path)
    rows = [
        r
        for r in read_journal(write_ledger(con, invoices, invoicing, tmp_path / "o")[0])
        if r["journal"] == "PURCH"
    ]
    aws_usd = [
        (r["account"], r["debit"], r["credit"])
        for r in rows
        if r["entry_id"] == "COST-2026-10-aws-USD"
    ]
    assert aws_usd == [("7010", "41.00", ""), ("1610", "", "41.00")]
    aws_eur = [
        (r["account"], r["debit"], r["credit"])
        for r in rows
        if r["entry_id"] == "COST-2026-10-aws-EUR"
    ]
    # cost 4 + 4 + 15.555 + 9 = 32.555 -> 32.56; billed 4 + 4 + 15.555 + 12.5 = 36.055 -> 36.06;
    # the RI's billed-but-not-yet-expensed 3.50 goes to prepaid commitments
    assert aws_eur == [("7010", "32.56", ""), ("1450", "3.50", ""), ("1610", "", "36.06")]


def test_bean_check_accepts_the_ledger_and_rejects_an_unbalanced_one(tmp_path):
    con, invoices, invoicing = run(tmp_path)
    _, bean = write_ledger(con, invoices, invoicing, tmp_path / "out")
    ok = subprocess.run([str(BEAN_CHECK), str(bean)], check=False, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    text = bean.read_text()
    assert "36.71 EUR" in text
    broken = tmp_path / "broken.beancount"
    broken.write_text(text.replace("36.71 EUR", "36.72 EUR", 1))
    bad = subprocess.run(
        [str(BEAN_CHECK), str(broken)], check=False, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "does not balance" in (bad.stdout + bad.stderr)


def test_a_ledger_s_operating_currency_is_the_national_currency_its_entries_are_stated_in(
    tmp_path,
):
    """A ledger file's ``operating_currency`` (what Fava and bean-query report in when the file
    is opened on its own) is the seller's national currency, the one the CSV journal states
    every entry in. It was the first of its currencies by name: the credit note of the USD
    invoice NW2026-000008 gave "USD", and a Swedish seller's month of SEK and EUR invoices
    "EUR"."""
    usd = Entry(
        date(2026, 12, 3),
        "SALES",
        "NWC2026-000001",
        "Harborview Analytics Inc.",
        "Credit note NWC2026-000001 period 2026-10 corrects NW2026-000008",
        (
            Posting("1300", D("-2045.85"), "USD", "Credit note", None, D("-1879.52")),
            Posting("8010", D("2045.85"), "USD", "AWS", "EXPORT", D("1879.52")),
        ),
        "C008",
        "NWC2026-000001",
        NationalRate("EUR", D("0.9187"), date(2026, 10, 31)),
    )
    accounts = {"1300": "Assets:1300-Accounts-receivable", "8010": "Income:8010-Revenue-AWS"}
    ledger = write_beancount_file([usd], "Northwind", accounts, tmp_path / "l.beancount", "x")
    assert 'option "operating_currency" "EUR"' in ledger.read_text()
    assert beancount_problems(ledger) == []
    # without national amounts (a journal written before them): its first currency, as before
    plain = replace(usd, national=None)
    ledger = write_beancount_file([plain], "Northwind", accounts, tmp_path / "p.beancount", "x")
    assert 'option "operating_currency" "USD"' in ledger.read_text()


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_failed_run_writes_nothing_and_keeps_the_earlier_run(tmp_path):
    out = tmp_path / "outputs" / PERIOD
    con, customers, invoicing = setup(ROWS)
    register = open_register(tmp_path / "outputs" / "invoice_register.sqlite")
    invoices = build_invoices(con, customers, invoicing, PERIOD, register, ISSUED)
    write_invoice_summary(invoices, out / "invoice_summary.csv")
    write_workbooks(con, invoices, invoicing, out)
    write_invoice_data(invoices, invoicing.seller, out / "invoices.json")
    write_ledger(con, invoices, invoicing, out)
    before, numbers = snapshot(out), register.entries()
    # summary csv, 4 invoices and their usage files, run summary, invoices.json, journal, beancount
    assert len(before) == 13

    customers["C005"] = customers["C005"].model_copy(update={"address": []})
    with pytest.raises(ParameterError, match=r"C005\]\.address"):
        build_invoices(con, customers, invoicing, PERIOD, register, ISSUED)
    assert snapshot(out) == before and register.entries() == numbers


# -- the sample month end to end ---------------------------------------------------------------


def test_the_sample_month_ledger_equals_its_invoices_and_rated_lines(sample_outputs):
    import duckdb

    folder = sample_outputs / "2026-10"
    bean = folder / "ledger_2026-10.beancount"
    checked = subprocess.run(
        [str(BEAN_CHECK), str(bean)], check=False, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    summary = {r["customer_id"]: r for r in csv.DictReader((folder / "invoice_summary.csv").open())}
    journal = read_journal(folder / "journal_2026-10.csv")
    for cid, s in summary.items():
        mine = [r for r in journal if r["customer_id"] == cid]
        assert sum(
            D(r["debit"] or 0) - D(r["credit"] or 0) for r in mine if r["account"] == "1300"
        ) == D(s["gross_amount"])
        assert sum(
            D(r["credit"] or 0) - D(r["debit"] or 0) for r in mine if r["account"][0] == "8"
        ) == D(s["net_amount"])
    # independently from the rated lines: customers grouped by vendor and service (all but C002)
    con = duckdb.connect()
    expected = dict(
        con.execute(
            """
        SELECT customer_id, CAST(sum(ROUND(s, 2)) AS VARCHAR) FROM (
          SELECT customer_id, product_group,
                 CASE WHEN line_kind = 'vendor' THEN COALESCE(service, description)
                      ELSE description END AS g,
                 sum(amount) AS s
          FROM read_parquet(?) WHERE customer_id <> 'C002' GROUP BY ALL) GROUP BY ALL""",
            [str(folder / "rated_lines.parquet")],
        ).fetchall()
    )
    assert expected == {cid: s["net_amount"] for cid, s in summary.items() if cid != "C002"}
    assert len(list((folder / "invoices").glob("*.xlsx"))) == len(summary) == 9
    # cost of sales of the vendors billing in the invoices' currency (EUR) is the invoices' cost
    # per product group to the cent (VMware: 5387.49, not 5387.47 rounded once), and the cent
    # against VMware's bill (5574.10) is a rounding difference, not a commitment
    invoiced: dict[str, Decimal] = {}
    for inv in json.loads((folder / "invoices.json").read_text())["invoices"]:
        for ln in inv["lines"]:
            invoiced[ln["heading"]] = invoiced.get(ln["heading"], D(0)) + D(ln["cost"])
    booked: dict[str, Decimal] = {}
    for r in journal:
        if r["entry_id"] in ("COST-2026-10-vmware-EUR", "COST-2026-10-microsoft-EUR") and r[
            "description"
        ].startswith("Cost of sales "):
            heading = r["description"].removeprefix("Cost of sales ").removesuffix(" 2026-10")
            booked[heading] = booked.get(heading, D(0)) + D(r["debit"] or 0) - D(r["credit"] or 0)
    assert booked == {h: invoiced[h] for h in booked} and booked["VMware Cloud"] == D("5387.49")
    vmware = {r["account"]: r for r in journal if r["entry_id"] == "COST-2026-10-vmware-EUR"}
    assert sorted(vmware) == ["1630", "7040", "7095", "7099"]
    assert (vmware["7099"]["credit"], vmware["1630"]["credit"]) == ("0.01", "5574.10")


#: A main file checking a year's ledgers together, as docs/invoices-and-ledger.md shows it.
MAIN = """option "title" "Northwind Cloud Services B.V. 2026"
option "operating_currency" "EUR"
plugin "beancount.plugins.auto_accounts"
include "2026-10/ledger_2026-10.beancount"
include "2026-11/ledger_2026-11.beancount"
include "corrections/*/ledger_*.beancount"
"""


def test_the_ledgers_of_two_months_and_a_correction_load_together(tmp_path):
    """October (finalised, one invoice credited and reissued) and November, each with the
    sample parameters and a tiny AWS report: every ledger file passes beancount's loader on its
    own, and a main file including them all loads without an error (no account opened twice, no
    commodity declared twice) and holds every transaction of every file."""
    from beancount import loader
    from beancount.core import data

    from billing_lib.corrections import issue_credit_note
    from billing_lib.reissue import reissue_invoice
    from tests import numbering_runner
    from tests.notebook_project import REPO

    params = shutil.copytree(
        REPO / "parameters", tmp_path / "parameters", ignore=shutil.ignore_patterns("local")
    )
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-12-31,test rate\n")
    header = (
        "identity/LineItemId,bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,"
        "lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
        "lineItem/UnblendedCost,lineItem/CurrencyCode\n"
    )
    out = tmp_path / "outputs"
    for period, finalise in (("2026-10", ["--finalise"]), ("2026-11", [])):
        reports = tmp_path / "reports" / period
        reports.mkdir(parents=True)
        (reports / "cur.csv").write_text(
            header + f"{period}-1,999999999999,402719385610,Usage,{period}-02T00:00:00Z,"
            f"{period}-02T01:00:00Z,AmazonEC2,10.25,USD\n"
        )
        argv = [period, str(reports), str(params), str(out), *finalise]
        assert numbering_runner.main(argv) == 0
        if period == "2026-10":
            issue_credit_note(out, "NW2026-000002", date(2026, 12, 3), "Wrong price")
            reissue_invoice(out, "NW2026-000002", params, reports, date(2026, 12, 4))
    files = sorted(out.glob("**/ledger_*.beancount"))
    assert [f.relative_to(out).as_posix() for f in files] == [
        "2026-10/ledger_2026-10.beancount",
        "2026-11/ledger_2026-11.beancount",
        "corrections/NW2026-000010/ledger_NW2026-000010.beancount",
        "corrections/NWC2026-000001/ledger_NWC2026-000001.beancount",
    ]
    each = 0
    for ledger in files:
        entries, errors, _ = loader.load_file(str(ledger))
        assert errors == [], (ledger, [e.message for e in errors])
        each += sum(isinstance(e, data.Transaction) for e in entries)
    main = out / "main.beancount"
    main.write_text(MAIN, encoding="utf-8")
    entries, errors, options = loader.load_file(str(main))
    assert [e.message for e in errors] == []
    assert sum(isinstance(e, data.Transaction) for e in entries) == each > 0
    assert options["operating_currency"] == ["EUR"]


def test_cost_of_sales_is_the_invoices_cost_and_the_rounding_cents_go_to_their_own_account(
    tmp_path,
):
    """The journal booked cost of sales rounded once per vendor and product group (VMware 5387.47
    in the sample month) while the invoices carry it rounded per invoice line (5387.49), and the
    cent left against the vendor's bill went to 1450 Prepaid vendor commitments, which no
    commitment explains. Cost of sales is now the invoices' cost to the cent (per product group,
    the sum of the invoice lines' rounded cost), the cents against the bill go to the rounding
    account (products.yaml ``rounding_account``), and 1450 keeps the commitments only."""
    rows = [
        # C003 (grouped by service): two invoice lines, 1.00 + 1.00 on the invoice; 2.008 exact
        line("C003", "2", vendor="vmware", service="vCPU", cost="1.004"),
        line("C003", "2", vendor="vmware", service="RAM", cost="1.004"),
        # C002 (grouped by subscription): one invoice line of both, 2.008 -> 2.01
        line("C002", "2", vendor="vmware", service="vCPU", cost="1.004"),
        line("C002", "2", vendor="vmware", service="RAM", cost="1.004"),
        # C004: 2.333 -> 2.33; an AWS reserved instance billed 12.50 at 9.00 of cost
        line("C004", "3", vendor="vmware", service="vCPU", cost="2.333"),
        line("C004", "10", service="RDS", cost="9", vendor_cost="9", billed_cost="12.5"),
    ]
    con, customers, invoicing = setup(rows)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    # the vendor bills 0.006 more, for a line billed to no customer
    con.execute(
        "CREATE TABLE excluded_lines AS SELECT 'vmware' AS x_Vendor, 'EUR' AS BillingCurrency, "
        "'internal' AS reason, CAST(0.006 AS DECIMAL(38,12)) AS BilledCost"
    )
    invoice_cost = sum(
        (ln.cost for inv in invoices for ln in inv.lines if ln.product_group == "vmware"), D(0)
    )
    assert invoice_cost == D("1.00") + D("1.00") + D("2.01") + D("2.33") == D("6.34")
    journal = read_journal(write_ledger(con, invoices, invoicing, tmp_path / "o")[0])
    vmware = [
        (r["account"], r["debit"], r["credit"])
        for r in journal
        if r["entry_id"] == "COST-2026-10-vmware-EUR"
    ]
    # billed 6.349 + 0.006 = 6.355 -> 6.36; cost of sales 6.34 (was 6.349 -> 6.35); not billed
    # 0.01; the cent left is a rounding difference, not a commitment
    assert invoicing.products.rounding_account == "7099"
    assert vmware == [
        ("7040", "6.34", ""),
        ("7095", "0.01", ""),
        ("7099", "0.01", ""),
        ("1630", "", "6.36"),
    ]
    aws = [
        (r["account"], r["debit"], r["credit"])
        for r in journal
        if r["entry_id"] == "COST-2026-10-aws-EUR"
    ]
    assert aws == [("7010", "9.00", ""), ("1450", "3.50", ""), ("1610", "", "12.50")]
    # the rounding account is the parameters' own, and beancount names it from the chart
    bean = (tmp_path / "o" / "ledger_2026-10.beancount").read_text()
    assert "Expenses:7099-Rounding-differences" in bean
    # and the accounting packages' files book it as the journal does
    from billing_lib.accounting_exports import journal_number, quickbooks_rows, xero_files

    entries = build_entries(con, invoices, invoicing)
    qb = [
        r
        for r in quickbooks_rows(entries, invoicing, "%d/%m/%Y", PERIOD)
        if r[0] == journal_number("COST-2026-10-vmware-EUR")
    ]
    assert [(r[2], r[4], r[5]) for r in qb] == [
        ("Cost of sales VMware", "6.34", ""),
        ("Vendor cost not billed to customers", "0.01", ""),
        ("Rounding differences", "0.01", ""),
        ("Payable VMware", "", "6.36"),
    ]
    xero = [
        (r[3], r[5])
        for r in xero_files(entries, "No VAT")["EUR"]
        if "COST-2026-10-vmware-EUR" in r[0]
    ]
    assert xero == [("7040", "6.34"), ("7095", "0.01"), ("7099", "0.01"), ("1630", "-6.36")]


def test_the_rounding_account_defaults_to_7099_and_must_be_in_the_chart(tmp_path):
    """products.yaml without ``rounding_account`` books the rounding cents to 7099 "Rounding
    differences" (opened in the chart when it has no 7099); a ``rounding_account`` the chart does
    not hold is refused naming the entry."""
    import yaml

    from billing_lib.invoices import load_invoicing
    from tests.invoice_helpers import parameters_copy

    params = parameters_copy(tmp_path)
    products = yaml.safe_load((params / "products.yaml").read_text())
    del products["rounding_account"], products["accounts"]["7099"]
    (params / "products.yaml").write_text(yaml.safe_dump(products))
    invoicing = load_invoicing(params)
    assert invoicing.products.rounding_account == "7099"
    assert invoicing.account("7099").name == "Rounding differences"
    products["rounding_account"] = "7098"
    (params / "products.yaml").write_text(yaml.safe_dump(products))
    with pytest.raises(ParameterError, match=r"rounding_account.*'7098' is not in"):
        load_invoicing(params)


def test_account_codes_that_start_with_a_small_letter_or_a_sign_give_a_ledger_beancount_loads(
    tmp_path,
):
    """A chart whose codes are the accounting package's own ("rev-aws", "debtors", "-vat"): the
    beancount ledger named them ``Income:rev-aws-...``-like (``Income:revaws-Revenue-AWS``), an
    account beancount refuses, so bean-check failed on the month's ledger and no credit note of
    the month could be issued. Each part now starts with a capital letter or a digit, and the CSV
    journal keeps the codes as they are."""
    from beancount import loader

    from billing_lib.journal_files import beancount_account
    from tests.invoice_helpers import parameters_copy

    params = parameters_copy(tmp_path)
    products = params / "products.yaml"
    text = products.read_text(encoding="utf-8")
    for old, new in (("8010", "rev-aws"), ("1300", "debtors"), ("1500", "-vat")):
        assert f'"{old}"' in text
        text = text.replace(f'"{old}"', f'"{new}"')
    products.write_text(text, encoding="utf-8")
    vat_rules = params / "vat_rules.yaml"
    vat_rules.write_text(
        vat_rules.read_text(encoding="utf-8").replace('"1500"', '"-vat"'), encoding="utf-8"
    )
    con, customers, invoicing = setup(ROWS, params)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    csv_path, bean = write_ledger(con, invoices, invoicing, tmp_path / "out")
    _, errors, _ = loader.load_file(str(bean))
    assert [e.message for e in errors] == []
    assert beancount_account("rev-aws", invoicing) == "Income:Revaws-Revenue-AWS"
    assert beancount_account("debtors", invoicing) == "Assets:Debtors-Accounts-receivable"
    assert beancount_account("-vat", invoicing) == "Liabilities:Vat-VAT-payable"
    assert beancount_account("7099", invoicing) == "Expenses:7099-Rounding-differences"
    assert {"rev-aws", "debtors", "-vat"} <= {r["account"] for r in read_journal(csv_path)}


def test_a_chart_in_another_language_keeps_its_letters_in_the_ledger_beancount_loads(tmp_path):
    """A French or German chart ("Créances clients", "Umsatzerlöse AWS", "Рахунки"): the
    ledger kept the ASCII letters of a name only, ``Assets:1300-Cr-ances-clients``,
    ``Income:8010-Umsatzerl-se-AWS`` and ``Liabilities:1500-`` (the name gone), although
    beancount takes any letter in an account name. The names keep their letters (a name
    written in decomposed form, e + U+0301, composed first); an ASCII name reads as before."""
    from beancount import loader
    from beancount.core import data

    from billing_lib.journal_files import beancount_account
    from tests.invoice_helpers import parameters_copy

    params = parameters_copy(tmp_path)
    products = params / "products.yaml"
    text = products.read_text(encoding="utf-8")
    for old, new in (
        ("Accounts receivable", "Cre\u0301ances clients"),
        ("Revenue AWS", "Umsatzerlöse AWS"),
        ("VAT payable", "Рахунки ПДВ"),
    ):
        assert f"name: {old}," in text
        text = text.replace(f"name: {old},", f"name: {new},", 1)
    products.write_text(text, encoding="utf-8")
    con, customers, invoicing = setup(ROWS, params)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    _, bean = write_ledger(con, invoices, invoicing, tmp_path / "out")
    entries, errors, _ = loader.load_file(str(bean))
    assert [e.message for e in errors] == []
    assert beancount_account("1300", invoicing) == "Assets:1300-Créances-clients"
    assert beancount_account("8010", invoicing) == "Income:8010-Umsatzerlöse-AWS"
    assert beancount_account("1500", invoicing) == "Liabilities:1500-Рахунки-ПДВ"
    assert beancount_account("7099", invoicing) == "Expenses:7099-Rounding-differences"
    opened = {e.account for e in entries if isinstance(e, data.Open)}
    assert {"Assets:1300-Créances-clients", "Income:8010-Umsatzerlöse-AWS"} <= opened


@pytest.mark.parametrize("other", ["4000.1", "4000 1", "40001"])
def test_two_codes_that_differ_in_punctuation_only_are_refused_at_load(tmp_path, other):
    """``4000-1`` and ``4000.1`` (or ``4000 1``) of one name were both
    ``Income:40001-Revenue`` in the beancount ledger: the AWS and Microsoft revenue booked on
    one account, and bean-check content. The chart is refused when loaded, naming the file, both
    codes and the name they share; codes of other names stay apart."""
    from billing_lib.invoicing_parameters import load_invoicing
    from billing_lib.journal_files import beancount_account
    from tests.invoice_helpers import parameters_copy

    params = parameters_copy(tmp_path)
    products = params / "products.yaml"
    original = products.read_text(encoding="utf-8")
    text = original.replace(
        '"8010": {name: Revenue AWS, type: income}',
        f'"4000-1": {{name: Revenue, type: income}}\n  "{other}": {{name: Revenue, type: income}}',
    )
    text = text.replace('revenue_account: "8010"', 'revenue_account: "4000-1"')
    text = text.replace('revenue_account: "8020"', f'revenue_account: "{other}"')
    assert text.count('"4000-1"') == 2
    products.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as refused:
        load_invoicing(params)
    assert str(refused.value).startswith(
        f"{products}, line 28, entry accounts.{other}: account codes "  # below 4000-1, 8010's line
    )
    assert f"'4000-1' and '{other}' share the beancount account name Income:40001-Revenue" in str(
        refused.value
    )
    # the same codes with names of their own: two accounts, as before
    products.write_text(text.replace("{name: Revenue,", "{name: Revenue A,", 1), encoding="utf-8")
    invoicing = load_invoicing(params)
    assert beancount_account("4000-1", invoicing) == "Income:40001-Revenue-A"
    assert beancount_account(other, invoicing) == "Income:40001-Revenue"


def test_a_month_that_invoices_no_customer_still_books_the_vendors_bill(tmp_path):
    """Every line of the month unmapped or excluded (a first month before accounts.csv is
    filled in, or the reseller's own use only): the run wrote ``journal_empty.csv`` with no entry,
    so the vendor's bill was booked nowhere. The run's period names the files and its purchase
    entry books the bill: not billed and unmapped on 7095, the vendor's payable credited."""
    con, _, invoicing = setup(ROWS)
    con.execute(
        "CREATE TABLE unmapped_lines AS SELECT 'aws' AS x_Vendor, 'USD' AS BillingCurrency, "
        "'Usage' AS ChargeCategory, CAST(12.34 AS DECIMAL(38,12)) AS BilledCost"
    )
    con.execute(
        "CREATE TABLE excluded_lines AS SELECT 'aws' AS x_Vendor, 'USD' AS BillingCurrency, "
        "'internal' AS reason, CAST(5.554 AS DECIMAL(38,12)) AS BilledCost"
    )
    csv_path, bean = write_ledger(con, [], invoicing, tmp_path / "out", period=PERIOD)
    assert (csv_path.name, bean.name) == ("journal_2026-10.csv", "ledger_2026-10.beancount")
    assert [
        (r["entry_id"], r["account"], r["debit"], r["credit"], r["currency"])
        for r in read_journal(csv_path)
    ] == [
        ("COST-2026-10-aws-USD", "7095", "5.55", "", "USD"),
        ("COST-2026-10-aws-USD", "7095", "12.34", "", "USD"),
        ("COST-2026-10-aws-USD", "1610", "", "17.89", "USD"),
    ]


def test_a_vendor_s_recoverable_vat_is_booked_as_input_vat_not_as_cost(tmp_path):
    """The VAT a vendor charges the reseller on its own purchase (ChargeCategory Tax: excluded as
    "vendor tax", or a line of an unmapped account) was debited to 7095 "Vendor cost not billed
    to customers", an expense, though it is recoverable input VAT. With the vendor's
    ``input_vat_account`` in products.yaml it is debited there (one posting per bill, rounded
    once), never on revenue; without it (a US sales tax the reseller cannot recover) it stays a
    cost on 7095."""
    con, _, invoicing = setup(ROWS, input_vat_parameters(tmp_path))
    con.execute(
        """CREATE TABLE excluded_lines AS SELECT * FROM (VALUES
             ('aws', 'USD', 'vendor tax', 'Tax', CAST(2.104 AS DECIMAL(38,12))),
             ('aws', 'USD', 'internal', 'Usage', CAST(5.554 AS DECIMAL(38,12))),
             ('microsoft', 'EUR', 'vendor tax', 'Tax', CAST(4.20 AS DECIMAL(38,12))))
           t(x_Vendor, BillingCurrency, reason, ChargeCategory, BilledCost)"""
    )
    con.execute(
        """CREATE TABLE unmapped_lines AS SELECT * FROM (VALUES
             ('aws', 'USD', 'Usage', CAST(12.34 AS DECIMAL(38,12))),
             ('aws', 'USD', 'Tax', CAST(1.003 AS DECIMAL(38,12))))
           t(x_Vendor, BillingCurrency, ChargeCategory, BilledCost)"""
    )
    csv_path, _ = write_ledger(con, [], invoicing, tmp_path / "out", period=PERIOD)
    booked = [
        (r["entry_id"], r["account"], r["debit"], r["credit"]) for r in read_journal(csv_path)
    ]
    assert booked == [
        ("COST-2026-10-aws-USD", "7095", "5.55", ""),  # not billed to customers
        ("COST-2026-10-aws-USD", "7095", "12.34", ""),  # unmapped accounts, their VAT apart
        ("COST-2026-10-aws-USD", "1510", "3.11", ""),  # 2.104 + 1.003, rounded once
        ("COST-2026-10-aws-USD", "1610", "", "21.00"),  # 5.554 + 12.34 + 3.107 = 21.001
        ("COST-2026-10-microsoft-EUR", "7095", "4.20", ""),  # Microsoft's tax: no input VAT
        ("COST-2026-10-microsoft-EUR", "1620", "", "4.20"),
    ]
    described = {r["account"]: r["description"] for r in read_journal(csv_path)}
    assert described["1510"] == "Amazon Web Services input VAT charged on its bill 2026-10"
    # the VAT return is filed from the vat_code column (docs/invoices-and-ledger.md): the input
    # VAT carries the vendor's input_vat_code (default INPUT-VAT), the cost none
    codes = {(r["account"], r["vat_code"]) for r in read_journal(csv_path)}
    assert codes == {("7095", ""), ("1510", "INPUT-VAT"), ("1610", ""), ("1620", "")}


def test_a_vendor_s_tax_is_input_vat_only_from_the_issuers_that_charge_recoverable_vat(tmp_path):
    """AWS invoices a European reseller from two companies: AWS EMEA SARL charges EU VAT (input
    VAT the reseller recovers) and Amazon Web Services, Inc. US sales tax on a US account (a
    cost). The vendor's one ``input_vat_account`` booked both on 1510, the sales tax as if it
    were recoverable. With ``input_vat_issuers`` only the Tax lines of the issuers listed
    (InvoiceIssuerName, exactly as the report names it) are input VAT on 1510; the others are
    cost on 7095, as the tax of a vendor without ``input_vat_account``. Without the setting
    every issuer's tax is input VAT, as before."""
    emea, inc = "Amazon Web Services EMEA SARL", "Amazon Web Services, Inc."

    def booked(params: Path) -> list[tuple[str, str, str, str, str]]:
        con, _, invoicing = setup(ROWS, params)
        con.execute(
            f"""CREATE TABLE excluded_lines AS SELECT * FROM (VALUES
                 ('aws', 'USD', 'vendor tax', 'Tax', '{emea}', CAST(2.104 AS DECIMAL(38,12))),
                 ('aws', 'USD', 'vendor tax', 'Tax', '{inc}', CAST(1.50 AS DECIMAL(38,12))),
                 ('aws', 'USD', 'vendor tax', 'Tax', NULL, CAST(0.25 AS DECIMAL(38,12))))
               t(x_Vendor, BillingCurrency, reason, ChargeCategory, InvoiceIssuerName,
                 BilledCost)"""
        )
        con.execute(
            f"""CREATE TABLE unmapped_lines AS SELECT * FROM (VALUES
                 ('aws', 'USD', 'Tax', '{emea}', CAST(1.003 AS DECIMAL(38,12))),
                 ('aws', 'USD', 'Tax', '{inc}', CAST(0.40 AS DECIMAL(38,12))))
               t(x_Vendor, BillingCurrency, ChargeCategory, InvoiceIssuerName, BilledCost)"""
        )
        csv_path, _ = write_ledger(con, [], invoicing, params.parent / "out", period=PERIOD)
        return [
            (r["account"], r["description"], r["debit"], r["credit"], r["vat_code"])
            for r in read_journal(csv_path)
        ]

    vat = "Amazon Web Services input VAT charged on its bill 2026-10"
    payable = ("1610", "Amazon Web Services report 2026-10", "", "5.26", "")  # 5.257
    assert booked(input_vat_parameters(tmp_path / "every")) == [
        ("1510", vat, "5.26", "", "INPUT-VAT"),
        payable,
    ]
    params = input_vat_parameters(tmp_path / "issuers")
    products = params / "products.yaml"
    old = 'input_vat_account: "1510"}'
    products.write_text(
        products.read_text(encoding="utf-8").replace(
            old, old[:-1] + f', input_vat_issuers: ["{emea}"]}}'
        ),
        encoding="utf-8",
    )
    assert booked(params) == [
        # the US sales tax (1.50) and a tax line naming no issuer (0.25): cost
        ("7095", "Amazon Web Services vendor tax 2026-10", "1.75", "", ""),
        ("7095", "Amazon Web Services unmapped accounts 2026-10", "0.40", "", ""),
        ("1510", vat, "3.11", "", "INPUT-VAT"),  # the EU VAT: 2.104 + 1.003, rounded once
        payable,
    ]
    # issuers without the account their VAT is booked on: refused, naming the entry
    text = products.read_text(encoding="utf-8")
    products.write_text(text.replace(' input_vat_account: "1510",', "", 1), encoding="utf-8")
    with pytest.raises(ParameterError, match=r"entry vendors\.aws\.input_vat_issuers: .*give "):
        setup(ROWS, params)


def test_a_reissue_s_cost_entries_move_what_it_bills_from_where_it_was_booked(tmp_path):
    """``moved_cost_entries`` of an invoice replacing a credited one: a line the run billed to
    no one (on no booked rated lines) moves from 7095 to its group's cost account at its
    BilledCost (9.00 of cost, 12.50 billed: 3.50 on 1450); a line the run booked in group aws
    and now in group azure moves from 7010 to 7030; a line as booked moves nothing."""
    con, _, invoicing = setup(
        [
            line("C002", "20", service="EC2", cost="15.555", source_row=2),
            line("C002", "10", service="S3", cost="8", source_row=3),
            line(
                "C002",
                "11",
                service="RDS",
                cost="9",
                vendor_cost="9",
                billed_cost="12.5",
                source_row=4,
            ),
        ]
    )
    new = tmp_path / "new.parquet"
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN service = 'S3' THEN 'azure' ELSE product_group END "
        f"AS product_group) FROM rated_lines) TO '{new}' (FORMAT parquet)"
    )
    run = tmp_path / "run.parquet"  # the run: EC2 and S3 of C003 (S3 in aws), RDS unmapped
    con.execute(
        f"COPY (SELECT * FROM rated_lines WHERE service <> 'RDS') TO '{run}' (FORMAT parquet)"
    )
    con.close()
    [entry] = moved_cost_entries(
        new, [run], "C002", PERIOD, invoicing, date(2026, 12, 4), "NW2026-000010"
    )
    assert (entry.journal, entry.entry_id, entry.date) == (
        "PURCH",
        "COST-NW2026-000010-aws-EUR",
        date(2026, 12, 4),
    )
    assert {p.account: p.amount for p in entry.postings} == {
        "7010": D("9.00") - D("8.00"),  # RDS in, S3 out
        "7030": D("8.00"),
        "1450": D("3.50"),
        "7095": D("-12.50"),
    }
    assert not any(entry.balance().values())
    # booked as it is billed: nothing to move
    assert moved_cost_entries(new, [new], "C002", PERIOD, invoicing, ISSUED, "NW2026-000010") == []


def test_a_reissue_grouped_otherwise_moves_the_cost_its_new_lines_round_to(tmp_path):
    """The run grouped C002's lines by subscription and booked their cost so: two EC2 lines of
    1.004, one per subscription, 1.00 + 1.00 = 2.00 on 7010. Its customers.yaml grouping is
    by service now, and the reissued invoice carries one line of 2.008, cost 2.01. The cost
    moves compared the new invoice's 2.01 with the booked lines grouped as the customer is
    grouped now (2.01 too) and moved nothing: the books kept 2.00 where the invoices (and the
    margin analysis, which groups each folder by its own ``what_if_terms.parquet``) have 2.01.
    The booked lines are grouped as the run that booked them grouped them."""
    con, customers, invoicing = setup(
        [
            line("C002", "2", service="EC2", cost="1.004", subscription="a", source_row=2),
            line("C002", "2", service="EC2", cost="1.004", subscription="b", source_row=3),
        ]
    )
    by_service = customers["C002"].model_copy(update={"line_grouping": ["vendor", "service"]})
    invoicing = replace(invoicing, customers={**invoicing.customers, "C002": by_service})
    new = tmp_path / "new.parquet"
    con.execute(f"COPY rated_lines TO '{new}' (FORMAT parquet)")
    run = tmp_path / "2026-10"
    run.mkdir()
    con.execute(f"COPY rated_lines TO '{run / 'rated_lines.parquet'}' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT '{PERIOD}' AS period, 'C002' AS customer_id, "
        "['vendor', 'subscription'] AS line_grouping) "
        f"TO '{run / 'what_if_terms.parquet'}' (FORMAT parquet)"
    )
    con.close()
    [entry] = moved_cost_entries(
        new, [run / "rated_lines.parquet"], "C002", PERIOD, invoicing, ISSUED, "NW2026-000010"
    )
    assert {p.account: p.amount for p in entry.postings} == {
        "7010": D("0.01"),
        "7099": D("-0.01"),
    }
    # a run folder without the groupings (older than what_if_terms.parquet): as grouped now
    (run / "what_if_terms.parquet").unlink()
    assert (
        moved_cost_entries(
            new, [run / "rated_lines.parquet"], "C002", PERIOD, invoicing, ISSUED, "NW2026-000010"
        )
        == []
    )


def test_an_invoice_line_of_two_vendors_books_the_cost_the_invoice_carries(tmp_path):
    """A customer grouped by a tag, and a product group two vendors share (a rule's
    ``product_group: services`` for a VMware and a Microsoft line): one invoice line "R&D" of
    both, its cost 1.004 + 1.004 = 2.008 -> 2.01 on the invoice. The purchase entries rounded
    each vendor's part of the line on its own (1.00 + 1.00), so cost of sales 7090 was 2.00 and
    the books' margin a cent above the invoice's. The line's rounded cost is now shared among
    its vendors (the rounding's cent on the vendor of the larger part), and the vendor's bill
    (1.004 -> 1.00) leaves that cent on the rounding account."""
    params = parameters_copy(tmp_path)
    customers = params / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    start, end = text.index("  - id: C003"), text.index("  - id: C004")
    block = text[start:end].rstrip("\n") + "\n    line_grouping: [tag:CostCenter]\n\n"
    customers.write_text(text[:start] + block + text[end:], encoding="utf-8")
    tags = '{"CostCenter": "R&D"}'
    rows = [
        line("C003", "2", vendor="vmware", product_group="services", cost="1.004", tags=tags),
        line("C003", "2", vendor="microsoft", product_group="services", cost="1.0041", tags=tags),
    ]
    con, customers_, invoicing = setup(rows, params)
    [inv] = build_invoices(
        con, customers_, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    assert [(ln.description, ln.cost) for ln in inv.lines] == [("R&D", D("2.01"))]
    entries = build_entries(con, [inv], invoicing)
    booked = {
        e.entry_id: {p.account: p.amount for p in e.postings}
        for e in entries
        if e.journal == "PURCH"
    }
    assert sum(b.get("7090", D(0)) for b in booked.values()) == inv.cost
    assert booked == {
        "COST-2026-10-microsoft-EUR": {"7090": D("1.01"), "7099": D("-0.01"), "1620": D("-1.00")},
        "COST-2026-10-vmware-EUR": {"7090": D("1.00"), "1630": D("-1.00")},
    }
