"""An invoice line names the charge period it pays for when that is not the invoice's supply
period (a licence cycle of 26 October - 25 November, a seat credited from the 4th, a year paid up
front): in its text on every document, and in the UBL as the line's InvoicePeriod (BG-26) where
the rules allow it. Hourly and daily usage makes up the month and names none."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
from lxml import etree
from pypdf import PdfReader

from billing_lib import analysis
from billing_lib.invoice_files import invoice_from_record, invoice_record
from billing_lib.invoice_model import negated
from billing_lib.invoices import draft_invoices, read_invoice_data
from billing_lib.rating import rated_frame
from billing_lib.ubl import CAC, CBC, ubl_document
from tests.invoice_helpers import ISSUED, PERIOD, line, setup
from tests.ubl_validation import fatal_rules, peppol_findings, schema_errors

D = Decimal
OCT = date(2026, 10, 1)


def licence(customer: str, amount: str, start: date, end: date | None, **more: object) -> dict:
    """A Microsoft licence line charged from ``start`` to ``end`` (inclusive; None: a line of
    one day, as hourly and daily usage is rated)."""
    return line(
        customer,
        amount,
        vendor="microsoft",
        service="Microsoft 365 Business Premium",
        charge_date=start,
        charge_end=end,
        charge_category=more.pop("charge_category", "Purchase"),
        unit="Licenses",
        **more,
    )


def drafted(rows: list[dict]) -> dict[str, list]:
    """Per customer: (text, amount, charge_start, charge_end) of its draft invoice's lines."""
    con, customers, invoicing = setup(rows)
    return {
        inv.customer_id: [
            (ln.description, ln.amount, ln.charge_start, ln.charge_end) for ln in inv.lines
        ]
        for inv in draft_invoices(con, customers, invoicing, PERIOD, ISSUED)
    }


def test_a_licence_cycle_past_the_month_names_its_period():
    got = drafted([licence("C001", "33.30", date(2026, 10, 26), date(2026, 11, 25))])
    assert got["C001"] == [
        (
            "Microsoft 365 Business Premium (2026-10-26 to 2026-11-25)",
            D("33.30"),
            date(2026, 10, 26),
            date(2026, 11, 25),
        )
    ]


def test_lines_of_different_cycles_stay_one_line_naming_the_span_from_first_start_to_last_end():
    # a cycle charge and seats added later in the cycle: every rated line lies within the span
    got = drafted(
        [
            licence("C001", "247.20", date(2026, 10, 12), date(2026, 11, 11), source_row=2),
            licence("C001", "45.84", date(2026, 10, 20), date(2026, 11, 11), source_row=3),
        ]
    )
    assert got["C001"] == [
        (
            "Microsoft 365 Business Premium (2026-10-12 to 2026-11-11)",
            D("293.04"),
            date(2026, 10, 12),
            date(2026, 11, 11),
        )
    ]


def test_a_credit_line_names_its_own_period_beside_the_charge_of_the_month():
    got = drafted(
        [
            licence("C001", "148.00", OCT, date(2026, 10, 31), source_row=2),
            licence(
                "C001",
                "-16.70",
                date(2026, 10, 4),
                date(2026, 10, 31),
                charge_category="Credit",
                source_row=3,
            ),
        ]
    )
    assert got["C001"] == [
        ("Microsoft 365 Business Premium", D("148.00"), None, None),
        (
            "Microsoft 365 Business Premium – credit (2026-10-04 to 2026-10-31)",
            D("-16.70"),
            date(2026, 10, 4),
            date(2026, 10, 31),
        ),
    ]


def test_daily_usage_makes_up_the_month_and_names_no_period():
    # usage on a few days only: each line is of one day (no charge_end); it states nothing
    days = [line("C001", "1.50", charge_date=date(2026, 10, d), source_row=d) for d in (5, 9, 20)]
    assert drafted(days)["C001"] == [("Amazon EC2", D("4.50"), None, None)]


def test_usage_beside_a_cycle_past_the_month_names_the_span_of_both():
    # never a text false for one of the lines: the usage is in October, the cycle into November
    rows = [
        licence("C001", "10", date(2026, 10, 7), None, source_row=2),
        licence("C001", "33.30", date(2026, 10, 26), date(2026, 11, 25), source_row=3),
    ]
    assert drafted(rows)["C001"] == [
        (
            "Microsoft 365 Business Premium (2026-10-01 to 2026-11-25)",
            D("43.30"),
            OCT,
            date(2026, 11, 25),
        )
    ]


def test_usage_of_a_day_after_the_month_is_named_too():
    # an export ending on the 1st inclusive: the line says it bills a day of November
    rows = [
        line("C001", "2", charge_date=date(2026, 10, 31), source_row=2),
        line("C001", "1", charge_date=date(2026, 11, 1), source_row=3),
    ]
    assert drafted(rows)["C001"] == [
        ("Amazon EC2 (2026-10-01 to 2026-11-01)", D("3.00"), OCT, date(2026, 11, 1))
    ]


def test_custom_lines_keep_their_own_text():
    rows = [
        line(
            "C001",
            "80",
            kind="fee",
            description="Cloud management",
            charge_date=date(2026, 10, 16),
            charge_end=date(2026, 11, 15),
        )
    ]
    assert drafted(rows)["C001"] == [("Cloud management", D("80.00"), None, None)]


def test_invoices_json_keeps_the_period_and_reads_a_line_without_one_as_before():
    inv = draft_invoices(
        *setup([licence("C001", "33.30", date(2026, 10, 26), date(2026, 11, 25))]), PERIOD, ISSUED
    )[0]
    record = invoice_record(inv)
    [ln] = record["lines"]
    assert (ln["charge_start"], ln["charge_end"]) == ("2026-10-26", "2026-11-25")
    assert invoice_from_record(record) == inv
    plain = draft_invoices(*setup([line("C001", "5")]), PERIOD, ISSUED)[0]
    # a line without a period is written as before (no keys), and so read
    assert "charge_start" not in invoice_record(plain)["lines"][0]
    assert invoice_from_record(invoice_record(plain)) == plain


def test_the_notebooks_table_shows_the_invoice_s_text():
    con, customers, invoicing = setup(
        [licence("C001", "33.30", date(2026, 10, 26), date(2026, 11, 25))]
    )
    table = rated_frame(con, customers)
    assert list(table["invoice_line_group"]) == [
        "Microsoft 365 Business Premium (2026-10-26 to 2026-11-25)"
    ]


# -- the sample month ---------------------------------------------------------------------------

#: The lines of the sample month whose charge period is not October, as the invoices read now.
SAMPLE_TEXTS = {
    ("C001", "Microsoft 365 Business Premium (2026-10-12 to 2026-11-11)", D("312.97")),
    ("C002", "Exchange Online (Plan 1) – credit (2026-10-04 to 2026-10-31)", D("-17.70")),
    ("C003", "Microsoft 365 Business Basic (2026-10-18 to 2026-11-17)", D("34.61")),
    ("C003", "Microsoft 365 Business Standard (2026-10-07 to 2026-11-06)", D("24.10")),
    ("C005", "Microsoft 365 Business Premium (2026-10-15 to 2027-10-14)", D("9171.12")),
    ("C006", "Microsoft 365 Business Standard (2026-10-05 to 2026-11-04)", D("216.92")),
    ("C006", "Microsoft Teams Premium (2026-10-22 to 2026-11-21)", D("96.82")),
    ("C007", "Exchange Online (Plan 1) (2026-10-26 to 2026-11-25)", D("34.30")),
    ("C007", "Microsoft 365 Business Premium (2026-10-02 to 2026-11-01)", D("198.00")),
    ("C007", "Microsoft 365 Business Premium – credit (2026-10-05 to 2026-11-01)", D("-178.84")),
    ("C009", "Microsoft 365 Business Premium (2026-10-09 to 2026-11-08)", D("308.00")),
}


@pytest.fixture(scope="module")
def folder(sample_outputs) -> Path:
    return sample_outputs / PERIOD


@pytest.fixture(scope="module")
def invoices(folder):
    return {i.customer_id: i for i in read_invoice_data(folder / "invoices.json")[1].values()}


def test_the_sample_month_names_the_periods_of_its_licences_and_credits_only(invoices):
    named = {
        (cid, ln.description, ln.amount)
        for cid, inv in invoices.items()
        for ln in inv.lines
        if ln.charge_start is not None
    }
    assert named == SAMPLE_TEXTS
    texts = {(cid, ln.description) for cid, inv in invoices.items() for ln in inv.lines}
    # the licences of the month, the AWS usage of 1-15 October and the VMware month: no period
    assert {
        ("C002", "Exchange Online (Plan 1)"),
        ("C004", "Exchange Online (Plan 1)"),
        ("C009", "Amazon Elastic Compute Cloud"),
        ("C005", "vSAN Standard"),
        ("C002", "Savings Plans for AWS Compute usage – vll-prod"),
    } <= texts


def test_the_workbook_pdf_and_usage_sheets_print_the_same_text(folder, invoices):
    for cid, text, _ in sorted(SAMPLE_TEXTS):
        inv = invoices[cid]
        base = folder / "invoices" / f"{inv.number}_{cid}"
        book = openpyxl.load_workbook(f"{base}.xlsx")
        cells = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row}
        assert text in cells, (cid, text)
        pdf = " ".join(p.extract_text() for p in PdfReader(f"{base}.pdf").pages)
        assert "".join(text.split()) in "".join(pdf.split()), (cid, text)


def _ubl_lines(folder: Path, inv) -> dict[str, tuple[str, str] | None]:
    doc = etree.parse(str(folder / "invoices" / f"{inv.number}_{inv.customer_id}.xml"))
    out = {}
    for el in doc.getroot().iter(f"{{{CAC}}}InvoiceLine"):
        name = el.findtext(f"{{{CAC}}}Item/{{{CBC}}}Name")
        period = el.find(f"{{{CAC}}}InvoicePeriod")
        out[name] = (
            None
            if period is None
            else (period.findtext(f"{{{CBC}}}StartDate"), period.findtext(f"{{{CBC}}}EndDate"))
        )
    return out


def test_the_ubl_gives_a_line_its_period_where_the_rules_allow_it(folder, invoices):
    # C002 (Peppol): the credit of 4-31 October lies within the invoice period
    assert _ubl_lines(folder, invoices["C002"])[
        "Exchange Online (Plan 1) – credit (2026-10-04 to 2026-10-31)"
    ] == ("2026-10-04", "2026-10-31")
    # C007 (EN 16931, by e-mail): a cycle into November is stated as it is
    assert _ubl_lines(folder, invoices["C007"])[
        "Exchange Online (Plan 1) (2026-10-26 to 2026-11-25)"
    ] == ("2026-10-26", "2026-11-25")
    # C001 (Peppol): PEPPOL-EN16931-R110/R111 want a line period within the invoice's; the
    # text names it
    assert (
        _ubl_lines(folder, invoices["C001"])[
            "Microsoft 365 Business Premium (2026-10-12 to 2026-11-11)"
        ]
        is None
    )
    for inv in invoices.values():
        xml = (folder / "invoices" / f"{inv.number}_{inv.customer_id}.xml").read_bytes()
        assert schema_errors(xml) == [] and fatal_rules(xml) == [] and peppol_findings(xml) == []


def test_the_notebooks_what_if_reads_a_run_written_before_lines_had_a_charge_end(
    folder, invoices, tmp_path
):
    # a run folder's rated_lines.parquet of before: no charge_end column; read as before
    out = tmp_path / "outputs"
    shutil.copytree(folder, out / PERIOD, copy_function=shutil.copyfile)
    (out / PERIOD).chmod(0o755)
    rated = out / PERIOD / "rated_lines.parquet"
    old = tmp_path / "old.parquet"
    duckdb.sql(f"COPY (SELECT * EXCLUDE (charge_end) FROM '{rated}') TO '{old}' (FORMAT parquet)")
    shutil.copyfile(old, rated)
    selection = duckdb.sql(
        f"SELECT DISTINCT vendor, period FROM '{rated}' WHERE line_kind = 'vendor'"
    ).df()
    repriced = analysis.repricer(out)(selection, "C007", None)
    assert sum(repriced["amount"]) == sum(ln.unrounded_amount for ln in invoices["C007"].lines)


def test_a_credit_note_keeps_the_lines_texts_and_periods(folder):
    # rebuilt from invoices.json, as `billing credit-note` does: the same texts, and the
    # CreditNoteLine its period where the invoice line had one
    seller, issued = read_invoice_data(folder / "invoices.json")
    inv = next(i for i in issued.values() if i.customer_id == "C002")
    note = negated(inv, "CN2026-000001", date(2026, 12, 3), "Wrong price")
    assert [ln.description for ln in note.lines] == [ln.description for ln in inv.lines]
    xml = ubl_document(note, seller)
    doc = etree.fromstring(xml)
    periods = {
        el.findtext(f"{{{CAC}}}Item/{{{CBC}}}Name"): el.findtext(
            f"{{{CAC}}}InvoicePeriod/{{{CBC}}}StartDate"
        )
        for el in doc.iter(f"{{{CAC}}}CreditNoteLine")
    }
    assert periods["Exchange Online (Plan 1) – credit (2026-10-04 to 2026-10-31)"] == "2026-10-04"
    assert periods["Exchange Online (Plan 1)"] is None
    assert schema_errors(xml) == [] and fatal_rules(xml) == [] and peppol_findings(xml) == []
