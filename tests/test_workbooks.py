"""Invoice workbooks reopened with openpyxl: A4 layout, formulas whose inputs add up to the stored
totals (evaluated here from the cell values), text that never becomes a formula, identical bytes
on a rerun, and the run summary."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest
from lxml import etree
from openpyxl.utils import get_column_letter

from billing_lib.errors import ParameterError
from billing_lib.invoice_sheet import column_widths
from billing_lib.invoices import build_invoices, load_invoicing, write_invoice_data
from billing_lib.numbering import open_register
from billing_lib.print_pages import fit_scale
from billing_lib.workbooks import write_workbooks
from tests.invoice_helpers import ISSUED, PARAMETERS, PERIOD, line, parameters_copy, setup
from tests.workbook_formulas import evaluate, formulas, label_cell, shown

D = Decimal
NASTY = ['=HYPERLINK("http://evil.example","click")', "@SUM(A1)", "+1+2", "-3-4", "=1+1"]


#: The sheets of an invoice of ROWS or big_rows(): the invoice, a usage sheet per vendor, the
#: seller's own lines.
SHEETS = ["Invoice", "Usage Amazon Web Services", "Usage Microsoft", "Other charges"]


def make(tmp_path, rows, params=PARAMETERS):
    """(connection, invoices, invoicing) of ``rows`` rated with the parameters ``params``."""
    con, customers, invoicing = setup(rows, params)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    return con, invoices, invoicing


ROWS = [
    line(
        "C003", "5.0025", service="Amazon EC2", subscription=NASTY[0], tags='{"Name": "@SUM(A1)"}'
    ),
    line("C003", "5.0025", service="Amazon EC2"),
    line("C003", "20.004", service="Amazon S3"),
    line("C003", "0.333", vendor="microsoft", service=NASTY[1], description=NASTY[2]),
    line("C003", "1", kind="fee", product_group="managed_services", description=NASTY[4]),
]


def test_the_invoice_sheet_prints_on_a4_and_its_formulas_give_the_stored_totals(tmp_path):
    con, [inv], invoicing = make(tmp_path, ROWS)
    [path, _, summary] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    assert path.name == "NW2026-000001_C003.xlsx" and summary.name == "run_summary.xlsx"
    wb = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    ws, wsv = wb["Invoice"], cached["Invoice"]
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"
    # one page wide by a print scale, not "fit to": Excel ignores manual page breaks under it
    assert not (ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage)
    assert ws.page_setup.scale == round(fit_scale(column_widths(inv)) * 100) <= 100
    assert ws.print_area

    written = formulas(ws)
    assert len(written) == 8  # 3 subtotals, VAT base and amount, net, VAT, total
    for ref, formula in written.items():
        assert evaluate(ws, formula) == D(str(wsv[ref].value)), (ref, formula)

    def total(label):
        c = label_cell(ws, label)
        return ws.cell(c.row, 6).value, D(str(wsv.cell(c.row, 6).value))

    # hand-checked: 10.01 + 20.00 + 0.33 + 1.00 = 31.34; VAT 21 % = 6.5814 -> 6.58; total 37.92
    net_formula, net = total("Net")
    assert net == D("31.34") == inv.net and re.fullmatch(
        r"=ROUND\(SUM\(F\d+,F\d+,F\d+\),2\)", net_formula
    )
    assert total("VAT")[1] == D("6.58") == inv.vat_total
    assert total("Total")[1] == D("37.92") == inv.gross
    amounts = [
        D(str(ws.cell(r, 6).value))
        for r in range(1, ws.max_row + 1)
        if isinstance(ws.cell(r, 6).value, float | int) and ws.cell(r, 5).value == 0.21
    ]
    assert amounts == [D("10.01"), D("20.00"), D("0.33"), D("1.00")]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "IBAN: NL91 ABNA 0417 1643 00" in texts and "VAT NL867890125B01" in texts
    assert "Please pay EUR 37.92 by 2026-11-15 (14 days) quoting NW2026-000001." in texts


def test_text_from_vendor_files_is_never_a_formula(tmp_path):
    con, invoices, invoicing = make(tmp_path, ROWS)
    [path, _, _] = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    wb = openpyxl.load_workbook(path)
    found = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value in NASTY or (isinstance(c.value, str) and "@SUM(A1)" in c.value):
                    found[c.value] = c.data_type
    assert set(NASTY) - {"-3-4"} <= set(found)  # every planted text is there...
    assert set(found.values()) == {"s"}  # ...as a string, never a formula ("f")


def test_usage_sheets_per_vendor_trace_every_rated_line(tmp_path):
    con, invoices, invoicing = make(tmp_path, ROWS)
    [path, _, _] = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == SHEETS
    ws = wb["Usage Amazon Web Services"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:O4"
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Invoice line", "Charge date", "Kind"] and "Amount (EUR)" in header
    assert header[-3:] == ["Source file", "Source row", "Vendor line id"]
    amount = header.index("Amount (EUR)") + 1
    assert '"EUR"' in ws.cell(2, amount).number_format
    per_line: dict[str, Decimal] = {}
    for r in range(2, ws.max_row + 1):
        per_line[ws.cell(r, 1).value] = per_line.get(ws.cell(r, 1).value, D(0)) + D(
            str(ws.cell(r, amount).value)
        )
    assert per_line == {
        "Amazon EC2": D("10.005"),
        "Amazon S3": D("20.004"),
    }  # the invoice lines, unrounded


def test_a_vendor_name_cut_after_an_apostrophe_still_names_a_sheet_excel_accepts(tmp_path):
    """ "Usage " and the first 25 characters of "Amazon Web Services EMEA's Marketplace" end with
    its apostrophe, which no sheet name may (Excel refuses it, xlsxwriter raised): the invoice's
    workbook was not written and the run stopped."""
    params = parameters_copy(tmp_path)
    products = params / "products.yaml"
    text = products.read_text(encoding="utf-8")
    products.write_text(
        text.replace(
            "name: Amazon Web Services,", 'name: "Amazon Web Services EMEA\'s Marketplace",', 1
        ),
        encoding="utf-8",
    )
    con, invoices, invoicing = make(tmp_path, ROWS, params)
    [path, _, _] = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    assert openpyxl.load_workbook(path).sheetnames[1] == "Usage Amazon Web Services EMEA"


def test_a_rerun_writes_identical_bytes(tmp_path):
    con, invoices, invoicing = make(tmp_path, ROWS)
    first = [p.read_bytes() for p in write_workbooks(con, invoices, invoicing, tmp_path / "a")]
    second = [p.read_bytes() for p in write_workbooks(con, invoices, invoicing, tmp_path / "b")]
    assert first == second
    assert sorted(p.name for p in (tmp_path / "a").rglob("*")) == [
        "NW2026-000001_C003.usage.parquet",
        "NW2026-000001_C003.xlsx",
        "invoices",
        "run_summary.xlsx",
    ]
    data = [
        write_invoice_data(invoices, invoicing.seller, tmp_path / d / "invoices.json").read_bytes()
        for d in "ab"
    ]
    assert data[0] == data[1]


def test_a_credit_balance_says_nothing_is_to_be_paid(tmp_path):
    rows = [
        line("C004", "100"),
        line(
            "C004",
            "-250",
            kind="credit",
            product_group="managed_services",
            description="Service credit",
        ),
    ]
    con, invoices, invoicing = make(tmp_path, rows)
    [path, _, _] = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(path)["Invoice"]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.startswith("Credit balance of EUR 181.50 in your favour") for t in texts)
    # nothing to pay: no due date, and not the seller's late-payment text
    assert invoicing.seller.payment.instructions
    assert "Due date" not in texts and invoicing.seller.payment.instructions not in texts
    assert "Issue date" in texts


def test_a_zero_total_says_nothing_is_to_be_paid(tmp_path):
    rows = [
        line("C003", "100"),
        line("C003", "-100", kind="credit", product_group="managed_services"),
    ]
    con, [inv], invoicing = make(tmp_path, rows)
    assert inv.gross == 0 and not inv.payable and not inv.credit_balance
    [path, _, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(path)["Invoice"]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "Nothing to pay: this invoice's charges and credits balance out." in texts
    assert "Due date" not in texts and not any("Please pay" in t for t in texts)


def test_the_run_summary_has_cost_revenue_margin_per_customer(tmp_path):
    rows = [
        line("C003", "100", cost="60"),
        line("C008", "50", currency="USD", cost="45"),
        line("C005", "10.005", vendor="microsoft", cost="10"),
    ]
    con, invoices, invoicing = make(tmp_path, rows)
    paths = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    cached = openpyxl.load_workbook(paths[-1], data_only=True)["Customers"]
    rows_read = [[c.value for c in row] for row in cached.iter_rows(min_row=2, max_row=4)]
    assert [(r[0], r[4], r[5], r[6], r[9], r[10]) for r in rows_read] == [
        ("C003", "NW2026-000001", "EUR", 100, 60, 40),
        ("C005", "NW2026-000002", "EUR", 10.01, 10, 0.01),
        ("C008", "NW2026-000003", "USD", 50, 45, 5),
    ]
    assert round(rows_read[0][11], 6) == 0.4
    totals = {
        r[5].value: [c.value for c in r]
        for r in cached.iter_rows(min_row=5)
        if r[0].value == "Total"
    }
    assert totals["EUR"][6] == 110.01 and totals["USD"][10] == 5


def test_a_loss_on_a_credit_balance_shows_no_margin_percent(tmp_path):
    """C009 net -662.14 (a goodwill credit of 2000 over its month) at a cost of 1183.93: margin
    -1846.07 showed 278.8 % (margin / revenue of two negatives). A margin % of a revenue of 0 or
    less is left empty, in the cached value and in the formula Excel recalculates."""
    rows = [
        line("C009", "1337.86", cost="1183.93"),
        line("C009", "-2000", kind="credit", product_group="managed_services"),
        line("C003", "100", cost="60"),
    ]
    con, invoices, invoicing = make(tmp_path, rows)
    summary = write_workbooks(con, invoices, invoicing, tmp_path / "out")[-1]
    cached = openpyxl.load_workbook(summary, data_only=True)
    customers = {r[0]: r for r in cached["Customers"].iter_rows(min_row=2, values_only=True)}
    assert customers["C009"][6] == -662.14 and customers["C009"][10] == -1846.07
    assert customers["C009"][11] in (None, "")
    assert round(customers["C003"][11], 6) == 0.4
    groups = {r[1]: r for r in cached["Product groups"].iter_rows(min_row=2, values_only=True)}
    assert groups["managed_services"][4] == -2000 and groups["managed_services"][7] in (None, "")
    sheet = openpyxl.load_workbook(summary)["Customers"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "C009")
    assert row[11].value.startswith("=IF(G") and "<=0" in row[11].value


# -- invoices above the seller's usage_detail_max_lines: summarised sheets and the detail file ----


def big_rows() -> list[dict]:
    """C003: 40 EC2 lines on two resources (1, 2 or 3 cents, some negative), 3 S3 lines with a
    planted formula, a Microsoft line and a fee; 45 rated lines in all."""
    rows = [
        line(
            "C003",
            ("0.01", "-0.02", "0.03")[i % 3] + "5",
            service="Amazon EC2",
            sku="BoxUsage",
            subscription=f"i-{i % 2}",
            unit_price=("0.01", "-0.02", "0.03")[i % 3] + "5",
            source_row=i + 2,
            charge_date=date(2026, 10, 1 + i % 28),
        )
        for i in range(40)
    ]
    rows += [
        line(
            "C003",
            "0.3333",
            service="Amazon S3",
            description="-3-4",
            subscription=NASTY[0],
            source_row=50 + i,
        )
        for i in range(3)
    ]
    rows += [
        line("C003", "7.5", vendor="microsoft", service="Azure VM"),
        line(
            "C003",
            "25",
            kind="fee",
            product_group="managed_services",
            description="Managed service fee",
        ),
    ]
    return rows


def with_limit(tmp_path, value: str):
    params = parameters_copy(tmp_path)
    with (params / "seller.yaml").open("a", encoding="utf-8") as fh:
        fh.write(f"usage_detail_max_lines: {value}\n")
    return params


def test_the_default_limit_keeps_every_line_in_the_workbook(tmp_path):
    con, invoices, invoicing = make(tmp_path, big_rows())
    assert invoicing.seller.usage_detail_max_lines == 1000
    paths = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    assert [p.name for p in paths] == [
        "NW2026-000001_C003.xlsx",
        "NW2026-000001_C003.usage.parquet",
        "run_summary.xlsx",
    ]
    ws = openpyxl.load_workbook(paths[0])["Usage Amazon Web Services"]
    assert ws.max_row == 44 and ws.freeze_panes == "A2"


def test_above_the_limit_the_usage_sheets_are_summarised_and_add_up_to_the_invoice_lines(tmp_path):
    con, [inv], invoicing = make(tmp_path, big_rows(), with_limit(tmp_path, "44"))
    assert (
        invoicing.seller.usage_detail_max_lines == 44
        and sum(ln.rated_lines for ln in inv.lines) == 45
    )
    [path, detail, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    assert detail == path.with_name("NW2026-000001_C003.usage.parquet")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == SHEETS
    ws = wb["Usage Amazon Web Services"]
    assert (
        "NW2026-000001_C003.usage.parquet" in ws["A1"].value and "43 rated lines" in ws["A1"].value
    )
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref.startswith("A2:")
    header = [c.value for c in ws[2]]
    assert header == [
        "Invoice line",
        "First charge date",
        "Last charge date",
        "Kind",
        "Service",
        "SKU",
        "Description",
        "Subscription / resource",
        "Quantity",
        "Unit",
        "Unit price (EUR)",
        "Amount (EUR)",
        "Rated lines",
    ]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=3)]
    # per invoice line, service, SKU, description, resource and unit: EC2 on two resources,
    # S3 on one
    assert [(r["Invoice line"], r["Subscription / resource"], r["Rated lines"]) for r in rows] == [
        ("Amazon EC2", "i-0", 20),
        ("Amazon EC2", "i-1", 20),
        ("Amazon S3", NASTY[0], 3),
    ]
    assert rows[0]["First charge date"].day == 1 and rows[0]["Last charge date"].day == 27
    assert (
        rows[0]["Unit price (EUR)"] is None and rows[2]["Unit price (EUR)"] == 0.3333
    )  # mixed / one price
    assert [c.data_type for c in ws[5]][7] == "s"  # the planted formula is text
    # every summary row's amount is the exact sum; per invoice line they give the invoice's lines
    per_line: dict[str, Decimal] = {}
    for r in rows:
        per_line[r["Invoice line"]] = per_line.get(r["Invoice line"], D(0)) + D(
            str(r["Amount (EUR)"])
        )
    printed = {ln.description: ln for ln in inv.lines}
    for label, amount in per_line.items():
        assert amount == printed[label].unrounded_amount
        assert amount.quantize(D("0.01"), rounding=ROUND_HALF_UP) == printed[label].amount
    assert [c.value for c in wb["Other charges"][3]][6] == "Managed service fee"


def test_a_summary_of_one_rated_line_says_line(tmp_path):
    """Above the limit, a sheet of one rated line read "Summary of 1 rated lines"."""
    con, [inv], invoicing = make(tmp_path, big_rows(), with_limit(tmp_path, "44"))
    [path, _, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    wb = openpyxl.load_workbook(path)
    assert wb["Other charges"]["A1"].value.startswith("Summary of 1 rated line: one row per")
    assert wb["Usage Amazon Web Services"]["A1"].value.startswith("Summary of 43 rated lines:")


def test_the_detail_file_holds_every_rated_line_exactly(tmp_path):
    rows = big_rows()
    con, [inv], invoicing = make(tmp_path, rows, with_limit(tmp_path, "0"))
    [_, detail, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(detail)]).fetchall()
    assert [(c[0], c[1]) for c in schema] == [
        ("vendor", "VARCHAR"),
        ("invoice_line", "VARCHAR"),
        ("charge_date", "DATE"),
        ("line_kind", "VARCHAR"),
        ("service", "VARCHAR"),
        ("sku", "VARCHAR"),
        ("description", "VARCHAR"),
        ("subscription", "VARCHAR"),
        ("tags", "VARCHAR"),
        ("quantity", "DECIMAL(38,12)"),
        ("unit", "VARCHAR"),
        ("unit_price", "DECIMAL(38,12)"),
        ("amount", "DECIMAL(38,12)"),
        ("currency", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("source_row", "BIGINT"),
        ("vendor_line_id", "VARCHAR"),
        ("subscription_name", "VARCHAR"),
        ("charge_end", "DATE"),
    ]
    read = con.execute("SELECT * FROM read_parquet(?)", [str(detail)]).fetchall()
    assert len(read) == len(rows) == con.execute("SELECT count(*) FROM rated_lines").fetchone()[0]
    assert (
        sum(r[12] for r in read)
        == con.execute("SELECT sum(amount) FROM rated_lines").fetchone()[0]
        == D("33.8399")
    )  # 0.34 + 0.9999 + 7.5 + 25, exact
    # in the usage sheets' order: per vendor (the seller's own lines last), by charge date and
    # source row
    assert [r[0] for r in read] == ["Amazon Web Services"] * 43 + [
        "Microsoft",
        "Northwind Cloud B.V.",
    ]
    assert read[0][2] == date(2026, 10, 1) and read[0][12] == D("0.015") and read[0][13] == "EUR"
    s3 = [r for r in read if r[4] == "Amazon S3"]
    assert {(r[7], r[6]) for r in s3} == {
        (NASTY[0], "-3-4")
    }  # text stays as it is: Parquet has no formulas
    again = write_workbooks(con, [inv], invoicing, tmp_path / "again")[1]
    assert again.read_bytes() == detail.read_bytes()  # a rerun gives the same bytes


def test_every_invoice_gets_its_detail_file_from_one_pass(tmp_path):
    rows = [
        *big_rows(),
        line("C005", "12.5", service="Amazon S3"),
        line("C008", "3", currency="USD"),
    ]
    con, invoices, invoicing = make(tmp_path, rows)
    paths = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    details = [p for p in paths if p.name.endswith(".usage.parquet")]
    assert [p.name for p in details] == [
        "NW2026-000001_C003.usage.parquet",
        "NW2026-000002_C005.usage.parquet",
        "NW2026-000003_C008.usage.parquet",
    ]
    per_file = [
        con.execute(
            "SELECT count(*), sum(amount), min(currency) FROM read_parquet(?)", [str(p)]
        ).fetchone()
        for p in details
    ]
    assert per_file == [(45, D("33.8399"), "EUR"), (1, D("12.5"), "EUR"), (1, D("3"), "USD")]
    assert not [p for p in (tmp_path / "out" / "invoices").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("value", ["-1", "1000001", "5000.5", '"5000"', "true", "many"])
def test_a_bad_usage_detail_limit_names_the_file_and_entry(tmp_path, value):
    params = with_limit(tmp_path, value)
    appended = len((params / "seller.yaml").read_text(encoding="utf-8").splitlines())
    with pytest.raises(
        ParameterError,
        match=rf"seller.yaml, line {appended}, entry usage_detail_max_lines: .*whole number of "
        r"rated lines from 0 to 1000000",
    ):
        load_invoicing(params)


def test_a_summary_longer_than_the_limit_counts_the_resources_instead(tmp_path):
    con, [inv], invoicing = make(tmp_path, big_rows(), with_limit(tmp_path, "2"))
    [path, _, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(path)["Usage Amazon Web Services"]
    assert "(resources counted)" in ws["A1"].value
    assert [(r[0].value, r[7].value, r[12].value) for r in ws.iter_rows(min_row=3)] == [
        ("Amazon EC2", "2 resources", 40),
        ("Amazon S3", NASTY[0], 3),
    ]


def test_workbooks_written_by_two_processes_are_the_bytes_one_writes(tmp_path, monkeypatch):
    from billing_lib import usage, workbooks

    rows = [
        *big_rows(),
        line("C005", "12.5", service="Amazon S3"),
        line("C008", "3", currency="USD"),
    ]
    con, invoices, invoicing = make(tmp_path, rows)
    monkeypatch.setenv("BILLING_THREADS", "1")
    alone = [p.read_bytes() for p in write_workbooks(con, invoices, invoicing, tmp_path / "one")]
    monkeypatch.setenv("BILLING_THREADS", "2")
    monkeypatch.setattr(workbooks, "PARALLEL_FROM", 2)
    forked = write_workbooks(con, invoices, invoicing, tmp_path / "two")
    assert [p.name for p in forked][:2] == [
        "NW2026-000001_C003.xlsx",
        "NW2026-000001_C003.usage.parquet",
    ]
    assert [p.read_bytes() for p in forked] == alone
    # each invoice a share of its own: labelled, sorted and handed to the writers one at a time
    monkeypatch.setattr(usage, "DETAIL_SORT_LINES", 1)
    shared = write_workbooks(con, invoices, invoicing, tmp_path / "three")
    assert [p.read_bytes() for p in shared] == alone


def test_the_garbage_collector_pauses_for_each_invoice_and_runs_after_it(tmp_path):
    import gc

    con, invoices, invoicing = make(tmp_path, [line("C003", "5"), line("C005", "7")])
    seen: list[bool] = []

    def also(inv):  # runs in the block that writes the invoice's files
        seen.append(gc.isenabled())
        return []

    write_workbooks(con, invoices, invoicing, tmp_path / "a", also=also)
    assert seen == [False, False] and gc.isenabled()
    gc.disable()  # a caller that paused it keeps it paused
    try:
        write_workbooks(con, invoices, invoicing, tmp_path / "b", also=also)
        assert not gc.isenabled()
    finally:
        gc.enable()
    first, second = (sorted((tmp_path / d).rglob("*.xlsx")) for d in "ab")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_detail_files_are_sorted_in_shares_of_at_most_so_many_lines():
    from billing_lib.usage import detail_shares

    assert detail_shares([3, 3, 3, 3], most=6) == [0, 2, 4]
    assert detail_shares([3, 3, 3, 3], most=7) == [0, 2, 4]
    assert detail_shares([10, 1, 1], most=5) == [0, 1, 3]  # a large invoice alone
    assert detail_shares([1, 10, 1], most=5) == [0, 1, 2, 3]
    assert detail_shares([], most=5) == [0, 0]
    assert detail_shares([5, 5], most=10) == [0, 2]


def test_the_writer_processes_get_several_shares_each(tmp_path):
    from billing_lib.usage import usage_shares

    rows = [*big_rows(), line("C005", "12.5"), line("C008", "3", currency="USD")]
    _, invoices, _ = make(tmp_path, rows)
    counts = {i.customer_id: sum(x.rated_lines for x in i.lines) for i in invoices}
    assert counts == {"C003": 45, "C005": 1, "C008": 1}
    one = usage_shares(invoices)
    assert [[i.customer_id for i in s] for s in one] == [["C003", "C005", "C008"]]
    # 47 lines in 4 parts: shares of at most 12 lines, the invoice of 45 alone
    four = usage_shares(invoices, 4)
    assert [[i.customer_id for i in s] for s in four] == [["C003"], ["C005", "C008"]]
    assert [len(s) for s in usage_shares(invoices, 47)] == [1, 1, 1]


def test_a_writer_process_spills_into_a_folder_of_its_own_outside_the_run(tmp_path, monkeypatch):
    import os

    import duckdb

    from billing_lib import workbooks

    rated = tmp_path / "rated.parquet"
    duckdb.sql(f"COPY (SELECT 'C001' AS customer_id) TO '{rated}' (FORMAT parquet)")
    shares = workbooks._Shares([], None, {}, tmp_path / "run" / "invoices", {}, rated)  # type: ignore[arg-type]
    shares.spill = tmp_path / "writers"
    monkeypatch.setattr(workbooks, "_SHARES", shares)
    monkeypatch.setattr(workbooks, "_STORE", None)
    con = workbooks._writer_store()
    [(spill,)] = con.execute("SELECT current_setting('temp_directory')").fetchall()
    assert spill == str(tmp_path / "writers" / f"writer-{os.getpid()}")
    assert con.execute("SELECT customer_id FROM rated_lines").fetchall() == [("C001",)]
    con.close()


def test_a_long_reference_is_on_rows_of_its_own_within_the_print_area(tmp_path):
    """Written in one cell, a long PO reference ran past column F, out of the printed page."""
    from dataclasses import replace

    from billing_lib.invoice_sheet import DETAIL_CHARACTERS

    con, [inv], invoicing = make(tmp_path, ROWS)
    reference = "PO-2026-0412 / Project Wolkenkrabber fase 2 / kostenplaats 4711-ICT-INFRA-CLOUD"
    inv = replace(inv, customer_reference=reference)
    [path, _, _] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(path)["Invoice"]
    [start] = [c.row for (c,) in ws.iter_rows(min_col=4, max_col=4) if c.value == "Your reference"]
    rows = [start]
    while ws.cell(rows[-1] + 1, 4).value is None and ws.cell(rows[-1] + 1, 5).value:
        rows.append(rows[-1] + 1)
    parts = [ws.cell(r, 5).value for r in rows]
    assert " ".join(parts) == reference and len(parts) == 4
    assert all(len(p) <= DETAIL_CHARACTERS for p in parts)
    assert ws.cell(rows[-1] + 1, 4).value == "Currency"


def test_whole_quantities_rates_and_prices_show_no_bare_decimal_point(tmp_path):
    """The format ``#,##0.####`` shows 744 Hrs as "744." in Excel and LibreOffice, and ``0.##%``
    the VAT rate 21 % as "21.%": every whole quantity and every rate of every invoice read so."""
    from xlsxwriter import Workbook

    from billing_lib.sheet_formats import InvoiceFormats

    rows = [*ROWS, line("C003", "12.5", service="Amazon S3", quantity="2.5")]
    con, invoices, invoicing = make(tmp_path, rows)
    [path, _, _] = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    wb = openpyxl.load_workbook(path)
    texts = {
        (ws.title, c.coordinate): shown(c.value, c.number_format)
        for ws in wb
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, int | float) and c.number_format != "General"
    }
    assert [(at, t) for at, t in texts.items() if re.search(r"\.(?!\d)", t)] == []
    rows = {c.value: c.row for (c,) in wb["Invoice"].iter_rows(max_col=1)}
    s3, ec2 = rows["Amazon S3"], rows["Amazon EC2"]
    assert [texts["Invoice", f"{col}{s3}"] for col in "BE"] == ["3.5", "21%"]
    assert [texts["Invoice", f"{col}{ec2}"] for col in "BDE"] == ["2", "EUR 5.0025", "21%"]
    fmt = InvoiceFormats(Workbook(str(tmp_path / "x.xlsx")), "JPY")
    for price, text in ((D(150), "JPY 150"), (D("0.0125"), "JPY 0.0125"), (D(-3), "JPY -3")):
        assert shown(float(price), fmt.price_for(price).num_format) == text
    assert shown(0.055, fmt.rate_for(D("5.5")).num_format) == "5.5%"


def test_a_usage_quantity_of_vendor_float_noise_shows_as_the_whole_number_it_is(tmp_path):
    """AWS states 350 GB-months of storage as 31 daily lines summing to 349.9999999986: the usage
    sheet (a row per line, or a summary row) showed "350.0" in the format of a fractional
    quantity (``#,##0.0###``, one decimal always shown), "5,200.0" for 5200.0000000009, where
    the invoice shows 350. A quantity whole at the 4 decimals a usage sheet shows gets the
    whole format."""
    rows = [
        line("C003", "8.6", service="Amazon S3", quantity="349.9999999986", unit="GB-Mo"),
        line("C003", "127.76", service="Amazon S3", quantity="5200.0000000009", unit="GB-Mo",
             source_row=3),
        line("C003", "1.5", service="Amazon EC2", quantity="2.25", source_row=4),
    ]  # fmt: skip
    con, invoices, invoicing = make(tmp_path, rows)
    [path, _, _] = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    ws = openpyxl.load_workbook(path)["Usage Amazon Web Services"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    column = header.index("Quantity") + 1
    texts = sorted(
        shown(c.value, c.number_format)
        for (c,) in ws.iter_rows(min_row=2, min_col=column, max_col=column)
        if c.value is not None
    )
    assert texts == ["2.25", "350", "5,200"]


def test_a_large_quantity_and_amount_fit_their_columns(tmp_path):
    """A column narrower than its number shows "########" in Excel: 4,512,345,678 requests in the
    quantity column (11 characters wide), EUR 12,345,678.90 in the amounts' (16)."""
    rows = [
        line("C003", "12345678.9", service="Amazon S3", quantity="4512345678"),
        line("C003", "10", service="Amazon EC2", quantity="0.25", unit_price="40"),
    ]
    con, invoices, invoicing = make(tmp_path, rows)
    [path, _, _] = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    for sheet, wide in (
        ("Invoice", [("B", "4,512,345,678"), ("F", "EUR 12,345,678.90")]),
        ("Usage Amazon Web Services", [("I", "4,512,345,678"), ("L", "EUR 12,345,678.90")]),
    ):
        ws = openpyxl.load_workbook(path)[sheet]
        cached = openpyxl.load_workbook(path, data_only=True)[sheet]
        texts = [
            (c.column_letter, shown(cached[c.coordinate].value, c.number_format))
            for row in ws.iter_rows()
            for c in row
            if isinstance(cached[c.coordinate].value, int | float) and c.number_format != "General"
        ]
        assert set(wide) <= set(texts), (sheet, texts)
        widths = {  # a run of columns of one width is one <col min max> element
            get_column_letter(i): d.width
            for d in ws.column_dimensions.values()
            for i in range(d.min, d.max + 1)
        }
        assert [(col, t) for col, t in texts if len(t) > widths[col]] == [], sheet


def _buyer_rows(con, inv, invoicing, name: str, street: str, out):
    """The invoice sheet of ``inv`` billed to ``name`` at ``street``, and its rows of the buyer
    (between "Bill to" and the lines' heading)."""
    from dataclasses import replace

    buyer = replace(inv.buyer, name=name, address=(street, *inv.buyer.address[1:]))
    [path, _, _] = write_workbooks(con, [replace(inv, buyer=buyer)], invoicing, out)
    ws = openpyxl.load_workbook(path)["Invoice"]
    column = [c.value for (c,) in ws.iter_rows(max_col=1)]
    start = column.index("Bill to") + 1
    return ws, [p for p in column[start : column.index("Description")] if p]


def test_a_long_buyer_name_and_address_line_are_on_rows_of_their_own(tmp_path):
    """Written in one cell, a buyer's name longer than columns A to C ran under the details'
    labels in column D, which cut it off: the printed invoice named the customer in part."""

    from billing_lib.invoice_sheet import BUYER_CHARACTERS

    con, [inv], invoicing = make(tmp_path, ROWS)
    name = (
        "Gemeenschappelijke Regeling Omgevingsdienst Noordzeekanaalgebied, "
        "afdeling Bedrijfsvoering en Informatievoorziening"
    )
    street = "Ceciliastraat 12, bedrijfsverzamelgebouw De Zeekant, ingang B, derde verdieping"
    _, parts = _buyer_rows(con, inv, invoicing, name, street, tmp_path / "out")
    assert name in " ".join(parts) and street in " ".join(parts)
    assert all(len(p) <= BUYER_CHARACTERS for p in parts), parts


def test_a_long_buyer_name_in_chinese_or_japanese_is_on_rows_that_fit_left_of_the_labels(
    tmp_path,
):
    """The buyer's lines were cut into rows of ``BUYER_CHARACTERS`` characters, which fit
    columns A to C in Latin letters; a Chinese or Japanese character prints about twice as wide
    (one em), so a 60-character name ran under the details' labels in column D and was cut
    off there. Each row now fits A to C as printed: a wide character an em of the sheet's 9 pt."""
    import unicodedata

    from reportlab.pdfbase import pdfmetrics

    from billing_lib.print_pages import column_points

    def printed_width(text: str) -> float:  # Arial 9 (metrically Helvetica), bold the wider
        wide = [ch for ch in text if unicodedata.east_asian_width(ch) in ("W", "F")]
        rest = "".join(ch for ch in text if ch not in wide)
        return 9 * len(wide) + pdfmetrics.stringWidth(rest, "Helvetica-Bold", 9)

    con, [inv], invoicing = make(tmp_path, ROWS)
    name = "東京クラウドコンピューティング株式会社" * 3  # 60 characters, no space
    street = "東京都渋谷区道玄坂一丁目二番三号 渋谷フクラスビル十七階 クラウド事業本部 経理部御中"
    ws, parts = _buyer_rows(con, inv, invoicing, name, street, tmp_path / "out")
    assert name in "".join(parts) and street in " ".join(parts)
    room = sum(column_points(ws.column_dimensions[c].width) for c in "ABC") - 4  # its padding
    assert [p for p in parts if printed_width(p) > room] == []


def test_chinese_seller_details_reference_and_payment_text_fit_the_invoice_sheet(tmp_path):
    """The seller's name (14 pt, left of the title), the customer's reference (columns E and F)
    and the payment block (A to F) were cut into rows of so many characters, which fit in Latin
    letters: in Chinese, each character about twice as wide, a row ran past the title, the
    print area's edge, and was cut off there. Each row now fits as printed."""
    import unicodedata
    from dataclasses import replace

    import yaml
    from reportlab.pdfbase import pdfmetrics

    from billing_lib.print_pages import column_points

    def printed_width(text: str, size: float, bold: bool) -> float:
        wide = [ch for ch in text if unicodedata.east_asian_width(ch) in ("W", "F")]
        rest = "".join(ch for ch in text if ch not in wide)
        font = "Helvetica-Bold" if bold else "Helvetica"
        return size * len(wide) + pdfmetrics.stringWidth(rest, font, size)

    params = parameters_copy(tmp_path)
    seller = yaml.safe_load((params / "seller.yaml").read_text(encoding="utf-8"))
    seller["name"] = "北京北风云计算服务有限公司上海分公司" * 3  # 54 characters
    seller["payment"]["instructions"] = "逾期付款将按照合同约定收取滞纳金请在付款时注明发票号码" * 3
    (params / "seller.yaml").write_text(yaml.safe_dump(seller, allow_unicode=True), "utf-8")
    con, [inv], invoicing = make(tmp_path, ROWS, params)
    reference = "采购订单编号二零二六年第四百一十二号云服务框架合同"
    [path, _, _] = write_workbooks(
        con, [replace(inv, customer_reference=reference)], invoicing, tmp_path / "out"
    )
    ws = openpyxl.load_workbook(path)["Invoice"]
    widths = [column_points(ws.column_dimensions[c].width) for c in "ABCDEF"]
    column = {c: "".join(str(x.value) for (x,) in ws[f"{c}1:{c}40"] if x.value) for c in "AE"}
    assert seller["name"] in column["A"] and reference in column["E"]  # whole, on rows of their own
    over = []
    for row in ws.iter_rows(max_col=6):
        for c in row:
            if c.data_type != "s" or c.alignment.wrap_text:
                continue
            end = 4 if c.row == 1 and c.column < 6 else 6  # the name left of the title in F
            room = sum(widths[c.column - 1 : end]) - 4
            if printed_width(c.value, c.font.sz, bool(c.font.b)) > room:
                over.append(c.value)
    assert over == []


def test_a_seller_name_beginning_with_a_digit_keeps_the_usage_sheets_footer_size(tmp_path):
    """Excel reads the digits after a footer's font-size code as the size: a seller "1&1 Cloud
    Services B.V." gave "&L&81&&1 Cloud ...", its name printed at 81 pt as "&1 Cloud ..."."""
    import zipfile

    params = parameters_copy(tmp_path)
    seller = params / "seller.yaml"
    text = seller.read_text(encoding="utf-8")
    assert "name: Northwind Cloud B.V.\n" in text
    seller.write_text(
        text.replace("name: Northwind Cloud B.V.\n", 'name: "1&1 Cloud B.V."\n'), encoding="utf-8"
    )
    con, invoices, invoicing = make(tmp_path, ROWS, params)
    [path, _, _] = write_workbooks(con, invoices, invoicing, tmp_path / "out")
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}oddFooter"
    with zipfile.ZipFile(path) as z:
        sheets = sorted(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        footers = [next(etree.fromstring(z.read(n)).iter(main)).text for n in sheets]
    assert len(footers) == len(SHEETS)
    assert all(f.startswith("&L&8 1&&1 Cloud B.V. - ") for f in footers), footers


@pytest.mark.parametrize(("limit", "header_row"), [("1000", 1), ("44", 2)])
def test_the_usage_sheets_print_on_a4_landscape_one_page_wide_with_their_header_on_each_page(
    tmp_path, limit, header_row
):
    """The usage sheets had no page setup: printed, their 15 columns ran over several pages
    side by side, on the printer's default paper, the header row only on the first page and no
    footer saying whose invoice a page belongs to. They print as the invoice sheet does: A4,
    landscape (they are wide), one page wide, the header row on every page, a footer with the
    invoice number, the sheet's name and the page."""
    con, [inv], invoicing = make(tmp_path, big_rows(), with_limit(tmp_path, limit))
    [path, *_] = write_workbooks(con, [inv], invoicing, tmp_path / "out")
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets[1:]:
        assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)
        assert ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == f"${header_row}:${header_row}", ws.title
        footer = ws.oddFooter
        assert inv.number in footer.left.text and "&A" in footer.left.text, ws.title
        assert footer.right.text == "Page &P of &N"


@pytest.mark.parametrize(
    ("value", "places", "shown", "whole"),
    [
        ("349.9999999986", 0, 4, True),  # rounds up to 350.0000 through every nine
        ("349.99994", 0, 4, False),  # the fifth decimal rounds down: 349.9999
        ("349.99984", 0, 4, False),  # 349.9998
        ("350.00004", 0, 4, True),  # 350.0000
        ("350.00005", 0, 4, False),  # half-up: 350.0001
        ("-349.99995", 0, 4, True),  # away from zero: -350.0000
        ("12.3400001", 2, 6, True),  # a price of 2 places at 6 shown: 12.340000
        ("12.3450001", 2, 6, False),
        ("12.3499996", 2, 6, True),  # 12.350000
        ("1.5", 0, 4, False),
        ("2.000000000000", 0, 4, True),
    ],
)
def test_a_value_is_whole_where_its_format_s_decimals_round_it_so(value, places, shown, whole):
    """Whether a usage sheet's quantity or price gets the format without decimals, told by its
    digits: the same as rounding it half-up to the decimals its fractional format shows and
    looking at those beyond ``places`` (carries through nines, ties away from zero)."""
    from billing_lib.usage_sheets import _shown_whole

    exact = Decimal(value)
    at_shown = exact.quantize(Decimal(1).scaleb(-shown), rounding=ROUND_HALF_UP)
    rounded = at_shown.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    assert (len(value.partition(".")[2].rstrip("0")) <= places or at_shown == rounded) is whole
    assert _shown_whole(exact, places, shown) is whole
