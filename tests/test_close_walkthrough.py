"""The month-end close of 300 customers, walked through (benchmarks/close_walkthrough.py): the new
accounts in October's vendor files are proposed by ``billing customers sync`` by tag, exact name and
tenant id, the account that left is closed, and the review lists exactly the planted oddities (a
price jump, a negative-margin line, a new SKU, a seat mismatch) and nothing else."""

import close_walkthrough  # benchmarks/ (pyproject's pythonpath)
import pytest

from billing_lib.customers import load_account_mappings, load_customers


@pytest.mark.slow  # a 300-customer month generated and billed
def test_the_review_of_a_300_customer_month_lists_exactly_the_planted_oddities(tmp_path):
    walk = close_walkthrough.walk_through(tmp_path)
    p = walk.planted
    assert walk.invoices == 300
    assert walk.sync_summary[0] == (
        "customers sync 2026-10: 3 account(s) matched to known customers, 0 new customer stub(s) "
        "with 0 account(s), 1 mapping(s) closed"
    )
    assert [line.split("   [")[1] for line in walk.sync_summary[1:4]] == [
        f"tag customer={p['tag']}]",
        f"exact name 'Benchmark Customer {p['exact name'][1:]}']",
        f"tenant id {close_walkthrough.tenant(p['tenant'])}]",
    ]
    assert walk.sync_summary[4].endswith("valid_to 2026-10-31: status SUSPENDED in list-accounts")
    params = tmp_path / "parameters"
    mapped = {
        (m.account_id, m.customer_id, m.valid_to)
        for m in load_account_mappings(params, load_customers(params))
    }
    assert {("299000000001", p["tag"], None), ("299000000002", p["exact name"], None)} <= mapped
    # and the generated month's two invoices with a negative total (savings-plan negations larger
    # than the usage they cover, at a markup): a loss on a credit balance, which the margin check
    # did not look at before
    assert [(f.check, f.subject) for f in walk.findings] == [
        ("net moved", p["price jump"]),
        ("negative margin", p["negative margin"]),
        ("low margin", "C0244"),
        ("low margin", "C0279"),
        ("new product", p["new product"]),
        ("seats", p["seats"]),
    ]
    assert all("a credit balance" in f.finding for f in walk.findings[2:4])
    jump, margin, _, _, product, seats = walk.findings
    assert jump.finding.endswith("(+100%)")
    assert margin.finding == (
        "1 line(s) priced below cost by standard/e3-seat: margin EUR -30.00"
    )  # 10 seats of Office 365 E3 sold at 33.00, bought at 36.00 from October
    assert margin.lines == ("ms_invoice_reconciliation_2026-10.csv row 3",)
    assert product.finding.endswith("priced only by the catch-all rule standard/other")
    assert len(product.lines) == 1 and product.lines[0].startswith("vmware_usage_meter_2026-10.csv")
    assert seats.finding.endswith(
        "25 licences billed, 20 seats in Partner Center (active): over-billed"
    )
