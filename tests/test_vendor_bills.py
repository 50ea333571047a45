"""The vendor's payable is its bills: one posting per vendor invoice (AWS: per payer account
and invoice id; Microsoft: per invoice number), each rounded once as the vendor rounds its
invoice, so the accountant matches the payable to the invoices to the cent; the journal's files
(CSV, beancount, Xero, QuickBooks) all carry them."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.cost_entries import purchase_entries
from billing_lib.errors import ControlTotalError
from billing_lib.money import round_money
from tests import numbering_runner
from tests.invoice_helpers import input_vat_parameters, line, setup
from tests.notebook_project import REPO

D = Decimal
PERIOD = "2026-10"
CUR_HEADER = (
    "identity/LineItemId,bill/PayerAccountId,bill/InvoiceId,lineItem/UsageAccountId,"
    "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
    "lineItem/UnblendedCost,lineItem/CurrencyCode\n"
)


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _run(tmp_path: Path, rows: list[str]) -> Path:
    """October billed from a legacy CUR of ``rows`` with the project's parameters: the run
    folder."""
    params = shutil.copytree(
        REPO / "parameters", tmp_path / "parameters", ignore=shutil.ignore_patterns("local")
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cur.csv").write_text(CUR_HEADER + "".join(rows), encoding="utf-8")
    out = tmp_path / "outputs"
    assert numbering_runner.main([PERIOD, str(reports), str(params), str(out)]) == 0
    return out / PERIOD


def _usage(n: int, payer: str, invoice: str, account: str, cost: str) -> str:
    return (
        f"{n},{payer},{invoice},{account},Usage,2026-10-02T00:00:00Z,2026-10-02T01:00:00Z,"
        f"AmazonEC2,{cost},USD\n"
    )


def test_the_payable_of_two_aws_payers_is_their_two_invoices_each_rounded_once(tmp_path):
    """Two payer accounts (two AWS organisations the reseller buys through), each invoiced
    10.004 unrounded: AWS invoices 10.00 and 10.00, 20.00 in all. The payable was booked
    round(20.008) = 20.01 on one line, a cent the accountant could match to no invoice. Now one
    payable posting per invoice, each rounded once, naming the invoice and the payer; the
    entry still balances (the invoices' cost of sales 10.00 + 10.00, no rounding cent)."""
    folder = _run(
        tmp_path,
        [
            _usage(1, "111111111111", "EUINNL26-1001", "402719385610", "10.004"),  # C001
            _usage(2, "222222222222", "EUINNL26-2002", "518204736291", "10.004"),  # C002
        ],
    )
    journal = [r for r in _read(folder / f"journal_{PERIOD}.csv") if r["journal"] == "PURCH"]
    assert {r["entry_id"] for r in journal} == {"COST-2026-10-aws-USD"}
    payable = [
        (r["description"], r["debit"], r["credit"]) for r in journal if r["account"] == "1610"
    ]
    assert payable == [
        (
            "Amazon Web Services invoice EUINNL26-1001 (billing account 111111111111) 2026-10",
            "",
            "10.00",
        ),
        (
            "Amazon Web Services invoice EUINNL26-2002 (billing account 222222222222) 2026-10",
            "",
            "10.00",
        ),
    ]
    signed = [D(r["debit"] or 0) - D(r["credit"] or 0) for r in journal]
    assert sum(signed) == 0
    # the invoices' cost of sales, and no rounding cent (the 0.00 row is the conversion's)
    debits = [(r["account"], r["debit"]) for r in journal if D(r["debit"] or 0)]
    assert debits == [("7010", "20.00")]
    # the packages' files book the same two bills, and each journal balances
    quickbooks = [
        r
        for r in _read(folder / f"quickbooks_journal_{PERIOD}.csv")
        if r["Journal No."] == "COST-2026-10-aws-USD"
    ]
    assert [
        (r["Credits"], r["Name"]) for r in quickbooks if r["Account Name"].startswith("Payable")
    ] == [
        ("10.00", "Amazon Web Services - USD"),
        ("10.00", "Amazon Web Services - USD"),
    ]
    assert sum(D(r["Debits"] or 0) - D(r["Credits"] or 0) for r in quickbooks) == 0
    # and in EUR as QuickBooks converts each row: the journal's conversion cent on its rows of
    # the rounding account, so the entry balances there too
    converted = [
        round_money((D(r["Debits"] or 0) - D(r["Credits"] or 0)) * D(r["Exchange Rate"]))
        for r in quickbooks
    ]
    assert sum(converted) == 0
    xero = [
        r
        for r in _read(folder / f"xero_manual_journal_{PERIOD}_EUR.csv")
        if r["*Narration"].startswith("COST-2026-10-aws-USD")
    ]
    assert len([r for r in xero if r["*AccountCode"] == "1610"]) == 2
    assert sum(D(r["*Amount"]) for r in xero) == 0
    ledger = (folder / f"ledger_{PERIOD}.beancount").read_text(encoding="utf-8")
    assert ledger.count("-10.00 USD") == 2


def _lines(con, rows: list[tuple[str, str, str, str | None, str | None, str]]) -> None:
    """The store's ``lines`` (the columns the bills read) of (vendor, currency, format, billing
    account, invoice id, BilledCost)."""
    con.execute(
        "CREATE TABLE lines (x_Vendor VARCHAR, BillingCurrency VARCHAR, x_Format VARCHAR, "
        "BillingAccountId VARCHAR, InvoiceId VARCHAR, BilledCost DECIMAL(38,12))"
    )
    con.executemany("INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?)", rows)


def _payables(con, invoicing) -> list[tuple[str, str, Decimal]]:
    return [
        (e.entry_id, p.description, p.amount)
        for e in purchase_entries(con, PERIOD, ["C003"], invoicing)
        for p in e.postings
        if p.account in {"1610", "1630"}
    ]


def test_a_bill_without_an_invoice_id_is_its_billing_account_s_and_vmware_s_month_is_one():
    """An AWS month not yet invoiced (``bill/InvoiceId`` empty) is billed per payer account;
    VMware's usage report names a usage meter, no invoiced account, as its BillingAccountId:
    its month is one bill, two meters' 1.004 each rounded together to 2.01."""
    con, _, invoicing = setup(
        [
            line("C003", "9", service="EC2", cost="1.004"),
            line("C003", "9", service="S3", cost="1.004"),
            line("C003", "9", vendor="vmware", service="vCPU", cost="2.008"),
        ]
    )
    _lines(
        con,
        [
            ("aws", "EUR", "aws_cur_legacy", "111111111111", None, "1.004"),
            ("aws", "EUR", "aws_cur_legacy", "222222222222", None, "1.004"),
            ("vmware", "EUR", "vmware_usage_meter", "um-01.example", None, "1.004"),
            ("vmware", "EUR", "vmware_usage_meter", "um-02.example", None, "1.004"),
        ],
    )
    assert _payables(con, invoicing) == [
        (
            "COST-2026-10-aws-EUR",
            "Amazon Web Services billing account 111111111111 2026-10 (no invoice id)",
            D("-1.00"),
        ),
        (
            "COST-2026-10-aws-EUR",
            "Amazon Web Services billing account 222222222222 2026-10 (no invoice id)",
            D("-1.00"),
        ),
        ("COST-2026-10-vmware-EUR", "VMware report 2026-10", D("-2.01")),
    ]


def test_imported_lines_that_do_not_add_up_to_the_booked_ones_stop_the_journal():
    """The bills are read from the imported lines, the cost from the rated, excluded and
    unmapped ones; lines that differ (money lost between them) would book a payable that is not
    the vendor's bill: refused, naming the vendor, currency and both sums."""
    con, _, invoicing = setup([line("C003", "9", service="EC2", cost="1.004")])
    _lines(con, [("aws", "EUR", "aws_cur_legacy", "111111111111", "EU-1", "2.004")])
    with pytest.raises(ControlTotalError, match=r"aws EUR 2026-10: the imported lines bill 2\.004"):
        purchase_entries(con, PERIOD, ["C003"], invoicing)


def test_recoverable_input_vat_is_booked_per_vendor_invoice_each_rounded_once(tmp_path):
    """The VAT a vendor charges on two invoices (two payer accounts, 1.004 each: 1.00 on each
    invoice) was booked as input VAT rounded once over the month, 2.01: the VAT return deducted
    a cent no invoice states. Booked per invoice, as its payable is: 1.00 + 1.00, each posting
    naming its invoice."""
    con, _, invoicing = setup(
        [line("C003", "9", service="EC2", cost="5")], input_vat_parameters(tmp_path)
    )
    columns = "x_Vendor, BillingCurrency, x_Format, BillingAccountId, InvoiceId"
    con.execute(
        f"""CREATE TABLE excluded_lines AS SELECT * FROM (VALUES
             ('aws', 'EUR', 'aws_cur_legacy', '111111111111', 'EU-1', 'vendor tax', 'Tax',
              CAST(1.004 AS DECIMAL(38,12))),
             ('aws', 'EUR', 'aws_cur_legacy', '222222222222', 'EU-2', 'vendor tax', 'Tax',
              CAST(1.004 AS DECIMAL(38,12))))
           t({columns}, reason, ChargeCategory, BilledCost)"""
    )
    _lines(
        con,
        [
            ("aws", "EUR", "aws_cur_legacy", "111111111111", "EU-1", "6.004"),
            ("aws", "EUR", "aws_cur_legacy", "222222222222", "EU-2", "1.004"),
        ],
    )
    [entry] = purchase_entries(con, PERIOD, ["C003"], invoicing)
    booked = [(p.account, p.amount, p.description) for p in entry.postings]
    assert booked == [
        ("7010", D("5.00"), "Cost of sales Amazon Web Services 2026-10"),
        (
            "1510",
            D("1.00"),
            "Amazon Web Services input VAT charged on its invoice EU-1 (billing account "
            "111111111111) 2026-10",
        ),
        (
            "1510",
            D("1.00"),
            "Amazon Web Services input VAT charged on its invoice EU-2 (billing account "
            "222222222222) 2026-10",
        ),
        (
            "1610",
            D("-6.00"),
            "Amazon Web Services invoice EU-1 (billing account 111111111111) 2026-10",
        ),
        (
            "1610",
            D("-1.00"),
            "Amazon Web Services invoice EU-2 (billing account 222222222222) 2026-10",
        ),
    ]
