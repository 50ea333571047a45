"""run_summary.xlsx's vendor cost billed to no customer (sheet "Not billed") and the Customers
sheet's reconciliation of the invoices' margin with the margin the journal books, read from the
sample month's real run and checked against the journal that run wrote."""

from __future__ import annotations

import csv
from decimal import Decimal as D
from pathlib import Path

import openpyxl

from billing_lib.invoicing_parameters import load_invoicing
from billing_lib.not_billed import EXCLUDED, Booked, BooksMargin, NotBilled, NotBilledLine
from billing_lib.summary_workbook import write_summary_workbook
from tests.invoice_helpers import line
from tests.notebook_project import PERIOD, REPO
from tests.test_workbooks import make
from tests.workbook_formulas import evaluate


def _journal(outputs) -> list[dict[str, str]]:
    with open(outputs / PERIOD / f"journal_{PERIOD}.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _signed(row: dict[str, str], national: bool = False) -> D:
    debit, credit = ("national_debit", "national_credit") if national else ("debit", "credit")
    return D(row[debit] or 0) - D(row[credit] or 0)


def _cents(value) -> D:
    return D(str(value)).quantize(D("0.01"))


def test_the_not_billed_sheet_lists_per_account_and_reason_what_7095_books(sample_outputs):
    """The unmapped AWS account (USD 9.91), Northwind's own lab (excluded by a rule), kept
    credits and the AWS vendor tax: each row names vendor, report, account and reason; each
    subtotal is one journal posting on 7095, in the vendor's currency and in EUR as the journal
    converts it (USD at 0.9187)."""
    wb = openpyxl.load_workbook(sample_outputs / PERIOD / "run_summary.xlsx", data_only=True)
    assert wb.sheetnames == ["Customers", "Product groups", "Not billed"]
    ws = wb["Not billed"]
    head = [c.value for c in ws[1]]
    assert head == [
        "Vendor",
        "Booked as",
        "Reason",
        "Customer",
        "Vendor account",
        "Report",
        "Lines",
        "Currency",
        "Cost",
        "Rate",
        "Cost in EUR",
    ]
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    [unmapped] = [r for r in rows if r["Reason"] and r["Reason"].startswith("unmapped account")]
    assert (unmapped["Vendor"], unmapped["Vendor account"], unmapped["Report"]) == (
        "Amazon Web Services",
        "285396417058 (poc-sandbox-ams)",
        "aws-cur2-northwind-2026-10-00001.snappy.parquet",
    )
    assert (unmapped["Lines"], unmapped["Currency"], _cents(unmapped["Cost"])) == (
        62,
        "USD",
        D("9.91"),
    )
    reasons = {r["Reason"] for r in rows if r["Reason"]}
    assert "vendor tax" in reasons
    assert any(r.startswith("excluded by rule internal:") for r in reasons)
    internal = [r for r in rows if (r["Reason"] or "").startswith("excluded by rule internal")]
    assert {r["Customer"] for r in internal} == {
        "C010 Northwind Cloud B.V. (internal lab and test accounts)"
    }
    assert not any("/" in (r["Report"] or "") for r in rows)  # the file's name, not its path

    booked = [r for r in rows if r["Vendor"] and r["Vendor"].startswith("Booked on 7095")]
    journal = [r for r in _journal(sample_outputs) if r["account"] == "7095"]
    assert [
        (r["Booked as"], r["Currency"], _cents(r["Cost"]), _cents(r["Cost in EUR"])) for r in booked
    ] == [(j["description"], j["currency"], _signed(j), _signed(j, national=True)) for j in journal]
    totals = {
        r["Currency"]: (_cents(r["Cost"]), _cents(r["Cost in EUR"]))
        for r in rows
        if r["Vendor"] == "Total"
    }
    assert totals == {
        c: (
            sum((_signed(j) for j in journal if j["currency"] == c), D(0)),
            sum((_signed(j, True) for j in journal if j["currency"] == c), D(0)),
        )
        for c in ("EUR", "USD")
    }
    assert totals["USD"] == (D("51.83"), D("47.61"))
    # every detail row's cost adds up to its subtotal, rounded once as the journal rounds it
    formulas = openpyxl.load_workbook(sample_outputs / PERIOD / "run_summary.xlsx")["Not billed"]
    for r, row in enumerate(ws.iter_rows(min_row=2), start=2):
        if row[0].value and str(row[0].value).startswith("Booked on"):
            assert formulas.cell(r, 9).value.startswith("=ROUND(SUM(I")
            assert evaluate(formulas, formulas.cell(r, 9).value) == _cents(row[8].value)


def test_the_customers_sheet_reconciles_the_invoices_margin_with_the_books(sample_outputs):
    """Per currency: the margin on the invoices, the cost booked in another currency than
    invoiced (AWS bills in USD what EUR invoices carry), less the vendor cost billed to no one
    (7095) and the vendors' rounding differences (7099), is the margin the journal's entries in
    that currency book: revenue less cost of sales, 7095 and 7099, to the cent."""
    invoicing = load_invoicing(REPO / "parameters")
    products = invoicing.products
    revenue = {g.revenue_account for g in products.product_groups.values()}
    cost = {g.cost_account for g in products.product_groups.values()}
    journal = _journal(sample_outputs)
    books: dict[str, D] = {}
    for j in journal:
        if j["account"] in revenue | cost | {products.unbilled_cost_account, "7099"}:
            books[j["currency"]] = books.get(j["currency"], D(0)) - _signed(j)
    path = sample_outputs / PERIOD / "run_summary.xlsx"
    ws = openpyxl.load_workbook(path, data_only=True)["Customers"]
    sheet = openpyxl.load_workbook(path)["Customers"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    margins = {r[5]: _cents(r[10]) for r in rows if r[0] == "Total"}
    assert margins == {"EUR": D("3434.45"), "USD": D("444.15")}
    found: dict[str, dict[str, D]] = {}
    at: dict[str, list[int]] = {}
    for r, row in enumerate(rows, start=2):
        if row[1] and row[5] in margins and row[0] != "Total" and row[4] is None:
            found.setdefault(row[5], {})[row[1]] = _cents(row[10])
            at.setdefault(row[5], []).append(r)
    for currency, numbers in at.items():
        # the invoices' margin is the total row's; the books' margin adds up the rows above it
        total = next(r for r, row in enumerate(rows, start=2) if row[:6:5] == ["Total", currency])
        assert sheet.cell(numbers[0], 11).value == f"=K{total}"
        assert sheet.cell(numbers[-1], 11).value == f"=ROUND(SUM(K{numbers[0]}:K{numbers[-2]}),2)"
    for currency, lines in found.items():
        [first, *_, last] = lines
        assert lines[first] == margins[currency], currency
        assert last.startswith("Margin in the books") and lines[last] == books[currency]
        assert sum(list(lines.values())[:-1], D(0)) == lines[last], currency
        [not_billed] = [v for k, v in lines.items() if "billed to no customer" in k]
        assert -not_billed == sum(
            (_signed(j) for j in journal if j["account"] == "7095" and j["currency"] == currency),
            D(0),
        )
    assert set(found) == {"EUR", "USD"}
    assert books == {"EUR": D("6618.86"), "USD": D("-3831.57")}


def test_the_summary_workbook_prints_a_vendor_s_texts_as_the_invoices_do(tmp_path):
    """A vendor's account name or report name with a noncharacter (U+FFFE) or a control character
    in it was written into the sheet "Not billed" as it came: Excel showed ``_xFFFE_`` and
    ``_x000B_`` where the invoices and the usage sheets drop them (``printed``). Every sheet of
    the run summary prints them so."""
    _, [inv], invoicing = make(tmp_path, [line("C003", "5.0025", service="Amazon EC2")])
    odd = NotBilledLine(
        "aws",
        "USD",
        EXCLUDED,
        "lab\x0baccount",
        "",
        "285396417058 (poc\ufffe-sandbox\U0001fffe)",
        "cur\x85part-1.csv",
        2,
        D("9.91"),
    )
    booked = Booked("aws", "USD", EXCLUDED, "AWS\ufffe not billed", D("9.91"), None, None)
    margin = BooksMargin("EUR", inv.margin, D(0), D(0), D(0), D(0))
    data = NotBilled("EUR", (odd,), (booked,), (margin,))
    path = write_summary_workbook([inv], invoicing, tmp_path / "run_summary.xlsx", data)
    ws = openpyxl.load_workbook(path)["Not billed"]
    assert [c.value for c in ws[2]][2:6] == [
        "lab account",
        "",
        "285396417058 (poc-sandbox)",
        "cur part-1.csv",
    ]
    assert ws.cell(3, 2).value == "AWS not billed"


def _no_fees(params) -> None:
    """The sample parameters without custom lines and minimum fees: a month of unmapped vendor
    lines alone bills nobody."""
    (params / "custom_lines.yaml").write_text("custom_lines: []\n", encoding="utf-8")
    plans = params / "price_plans.yaml"
    text = plans.read_text(encoding="utf-8")
    for rule in ("smb-minimum", "vcd-minimum"):
        start = text.index(f"      - {{id: {rule}, kind: minimum_fee")
        end = text.index("}\n", start) + 2
        text = text[:start] + text[end:]
    plans.write_text(text, encoding="utf-8")


def unmapped_month(tmp_path) -> Path:
    """``tmp_path/outputs``: the sample month billed from one AWS line of the unmapped account
    (USD 7.77) without fees (``_no_fees``): a run without an invoice."""
    import shutil

    from billing_lib import run

    params = shutil.copytree(
        REPO / "parameters", tmp_path / "parameters", ignore=shutil.ignore_patterns("local")
    )
    _no_fees(params)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "focus-2026-10.csv").write_text(
        "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargePeriodStart,"
        "ChargePeriodEnd,ServiceName,BilledCost,EffectiveCost,BillingCurrency\n"
        "111122223333,285396417058,AWS,Usage,2026-10-02T00:00:00Z,2026-10-02T23:00:00Z,"
        "Amazon Elastic Compute Cloud,7.77,7.77,USD\n",
        encoding="utf-8",
    )
    run.run_all(PERIOD, reports, params, tmp_path / "outputs")
    return tmp_path / "outputs"


def test_a_month_without_an_invoice_has_a_summary_listing_the_cost_billed_to_nobody(tmp_path):
    """Every vendor line of the month on an unmapped account (a new customer's first month, not
    yet in accounts.csv): the run wrote no run_summary.xlsx at all, so the vendor cost the
    journal books on 7095 (USD 7.77) was in none of the analyst's sheets. The summary is
    written: no invoice on the Customers sheet, the cost on the sheet Not billed, as booked."""
    unmapped_month(tmp_path)
    path = tmp_path / "outputs" / PERIOD / "run_summary.xlsx"
    assert path.is_file()
    wb = openpyxl.load_workbook(path, data_only=True)
    customers = [
        [c for c in r if c is not None] for r in wb["Customers"].iter_rows(values_only=True)
    ]
    assert customers[1] == ["No invoice in this run: every vendor line is billed to no customer"]
    ws = wb["Not billed"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    assert [(r["Vendor account"], r["Lines"], r["Cost"]) for r in rows[:1]] == [
        ("285396417058", 1, 7.77)
    ]
    journal = _journal(tmp_path / "outputs")
    [booked] = [j for j in journal if j["account"] == "7095"]
    assert (rows[1]["Booked as"], _cents(rows[1]["Cost"]), _cents(rows[1]["Cost in EUR"])) == (
        booked["description"],
        _signed(booked),
        _signed(booked, national=True),
    )
