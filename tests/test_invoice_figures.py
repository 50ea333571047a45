"""Each figure of an invoice has one derivation, and its users agree: VAT per rate (building an
invoice and checking one read back), the summary row (the run's invoice_summary.csv and the
correction's check of it) and the journal's wording (the ledger and the correction's check)."""

from __future__ import annotations

import csv
from dataclasses import replace
from decimal import Decimal

from billing_lib.invoice_files import SUMMARY_COLUMNS, summary_row, write_invoice_summary
from billing_lib.invoice_model import InvoiceLine, figure_problems, vat_per_rate
from billing_lib.invoices import build_invoices
from billing_lib.journal_readback import read_entry
from billing_lib.ledger import sales_entry, sales_lines, write_ledger
from billing_lib.numbering import open_register
from billing_lib.original_invoice import _entry_problems, _summary_problems
from tests.invoice_helpers import ISSUED, PERIOD, line, setup

D = Decimal

ROWS = [
    line("C003", "5.0025", service="EC2"),
    line("C003", "5.0025", service="EC2"),
    line("C003", "0.333", vendor="microsoft", service="M365"),
    line("C005", "99.995", vendor="microsoft", service="M365"),
    line("C008", "50", currency="USD", vendor_cost="41.004", billed_cost="41.004"),
    line("C004", "10", service="RDS"),
    line("C004", "-40", kind="credit", product_group="managed_services", description="SLA credit"),
]


def built(tmp_path):
    con, customers, invoicing = setup(ROWS)
    register = open_register(tmp_path / "register.sqlite")
    return con, build_invoices(con, customers, invoicing, PERIOD, register, ISSUED), invoicing


def invoice_line(amount: str, rate: str) -> InvoiceLine:
    return InvoiceLine("aws", "AWS", "x", D(amount), D(0), D(amount), D(rate), 1)


def test_vat_per_rate_sums_the_rounded_lines_and_rounds_half_up_highest_rate_first():
    lines = [invoice_line("0.25", "9"), invoice_line("10.00", "21"), invoice_line("0.25", "9")]
    # 9 % of 0.50 = 0.045 -> 0.05 (half-even would give 0.04); 21 % of 10.00 = 2.10
    assert vat_per_rate(lines, "EUR") == [
        (D(21), D("10.00"), D("2.10")),
        (D(9), D("0.50"), D("0.05")),
    ]
    assert vat_per_rate([invoice_line("-0.50", "9")], "EUR") == [(D(9), D("-0.50"), D("-0.05"))]
    assert vat_per_rate([], "EUR") == []


def test_building_and_checking_an_invoice_derive_the_same_vat(tmp_path):
    _, invoices, _ = built(tmp_path)
    assert {i.customer_id for i in invoices} == {"C003", "C004", "C005", "C008"}
    for inv in invoices:
        assert [(v.rate, v.base, v.amount) for v in inv.vat] == vat_per_rate(
            inv.lines, inv.currency
        )
        assert figure_problems(inv) == []
    domestic = next(i for i in invoices if i.customer_id == "C003")
    one_cent_more = replace(domestic.vat[0], amount=domestic.vat[0].amount + D("0.01"))
    assert figure_problems(replace(domestic, vat=(one_cent_more,))) == [
        "VAT 21 %: base 10.34, VAT 2.18; the lines give base 10.34, VAT 2.17",
        "VAT 2.17; the lines give 2.18",
        "gross 12.51; the lines give 12.52",
    ]


def test_the_summary_row_written_is_the_row_a_correction_checks(tmp_path):
    _, invoices, _ = built(tmp_path)
    path = write_invoice_summary(invoices, tmp_path / "invoice_summary.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    ordered = sorted(invoices, key=lambda i: i.number)
    assert rows == [list(SUMMARY_COLUMNS)] + [list(summary_row(i).values()) for i in ordered]
    assert summary_row(ordered[0]) == {
        "customer_id": "C003",
        "invoice_number": ordered[0].number,
        "currency": "EUR",
        "net_amount": "10.34",
        "vat_amount": "2.17",
        "gross_amount": "12.51",
        "cost_amount": "8.27",
        "margin_amount": "2.07",
    }
    assert all(_summary_problems(path, i) == [] for i in invoices)
    changed = replace(ordered[0], gross=ordered[0].gross + D("0.01"))
    assert _summary_problems(path, changed) == [
        f"{path}: gross_amount 12.52 (rebuilt) vs 12.51 (invoice_summary.csv)"
    ]


def test_the_journal_a_run_writes_is_worded_as_a_correction_checks_it(tmp_path):
    con, invoices, invoicing = built(tmp_path)
    journal, _ = write_ledger(con, invoices, invoicing, tmp_path / "out")
    for inv in invoices:
        words = [(s.description, s.amount) for s in sales_lines(inv)]
        entry = sales_entry(inv, invoicing)
        assert [(p.description, p.amount) for p in entry.postings] == words
        assert _entry_problems(journal, read_entry(journal, inv.number), inv) == []
    credit_balance = next(i for i in invoices if i.customer_id == "C004")
    assert [(s.description, s.amount) for s in sales_lines(credit_balance)[1:]] == [
        ("Amazon Web Services 2026-10", D("-10.00")),
        ("Managed services 2026-10", D("40.00")),
        ("VAT 21 % on -30.00", D("6.30")),
    ]
    renamed = replace(
        credit_balance,
        lines=tuple(replace(ln, heading="AWS") for ln in credit_balance.lines),
    )
    entry = read_entry(journal, credit_balance.number)
    [problem] = _entry_problems(journal, entry, renamed)
    assert "AWS 2026-10 -10.00 EUR" in problem
