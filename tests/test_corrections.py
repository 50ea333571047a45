"""Credit notes for finalised invoices (``billing credit-note``): the sample month's invoice
NW2026-000002 cancelled to the cent from what its finalised run stored, and every refusal
(not finalised, unknown, credited twice, a run folder changed since, a crash while writing)
leaving no folder and no number used."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import shutil
import sqlite3
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from pypdf import PdfReader

from billing_lib import cli, corrections, run
from billing_lib.corrections import issue_credit_note
from billing_lib.errors import RunError
from billing_lib.invoices import read_invoice_data
from billing_lib.numbering import open_register
from billing_lib.ubl import CAC, CBC
from tests.console_scripts import BEAN_CHECK
from tests.notebook_project import REPO
from tests.read_only import read_only
from tests.ubl_validation import peppol_findings, rule_findings, schema_errors
from tests.workbook_formulas import evaluate, label_cell

D = Decimal
PERIOD = "2026-10"
ORIGINAL = "NW2026-000002"
ISSUED = date(2026, 12, 3)
COLUMNS = ("net_amount", "vat_amount", "gross_amount", "cost_amount", "margin_amount")


@pytest.fixture
def outputs(finalised_sample_outputs, tmp_path) -> Path:
    """A private copy of the finalised sample run's outputs folder (register included)."""
    return Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def summary_row(path: Path, number: str) -> dict[str, str]:
    [row] = [
        r for r in csv.DictReader(path.open(encoding="utf-8")) if r["invoice_number"] == number
    ]
    return row


def journal(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def credit_notes(outputs: Path) -> list:
    return [
        e
        for e in open_register(outputs / "invoice_register.sqlite").entries()
        if e.kind == "credit_note"
    ]


def assert_nothing_issued(outputs: Path) -> None:
    """No credit note in the register, the series untouched, no folder (nor staging) written."""
    assert credit_notes(outputs) == []
    with sqlite3.connect(outputs / "invoice_register.sqlite") as db:
        assert db.execute("SELECT series FROM series WHERE series LIKE 'NWC%'").fetchall() == []
    assert not (outputs / "corrections").exists() or list((outputs / "corrections").iterdir()) == []


# -- the credit note -------------------------------------------------------------------------------


def test_the_credit_note_cancels_the_sample_invoice_to_the_cent(outputs):
    run_folder = outputs / PERIOD
    before = snapshot(run_folder)
    done = issue_credit_note(outputs, ORIGINAL, ISSUED, "Wrong price plan for Microsoft 365")
    note = done.note
    assert (note.number, note.kind, note.refers_to, note.customer_id) == (
        "NWC2026-000001",
        "credit_note",
        ORIGINAL,
        "C002",
    )
    assert done.folder == outputs / "corrections" / "NWC2026-000001"
    assert (
        sorted(p.name for p in done.folder.iterdir())
        == sorted(p.name for p in done.files)
        == [
            "NWC2026-000001_C002.pdf",
            "NWC2026-000001_C002.xlsx",
            "NWC2026-000001_C002.xml",
            "credit_note.json",
            "invoice_summary.csv",
            "journal_NWC2026-000001.csv",
            "ledger_NWC2026-000001.beancount",
            "manifest.json",
            "quickbooks_journal_NWC2026-000001.csv",
            "xero_manual_journal_NWC2026-000001_EUR.csv",
        ]
    )

    # totals: minus the original's, to the cent, as the finalised run's invoice_summary.csv has them
    original = summary_row(run_folder / "invoice_summary.csv", ORIGINAL)
    credited = summary_row(done.folder / "invoice_summary.csv", "NWC2026-000001")
    assert original["gross_amount"] == "6898.56"
    assert {c: D(credited[c]) for c in COLUMNS} == {c: -D(original[c]) for c in COLUMNS}
    assert (note.net, note.vat_total, note.gross) == (D("-5701.29"), D("-1197.27"), D("-6898.56"))
    assert [ln.amount for ln in note.lines] == [-ln.amount for ln in done.original.lines]

    # the journal: balanced, and the original's entry with debit and credit swapped
    rows = journal(done.folder / "journal_NWC2026-000001.csv")
    assert sum(D(r["debit"] or 0) - D(r["credit"] or 0) for r in rows) == 0
    orig_rows = [
        r for r in journal(run_folder / "journal_2026-10.csv") if r["entry_id"] == ORIGINAL
    ]
    assert [(r["account"], r["debit"], r["credit"], r["vat_code"]) for r in rows] == [
        (r["account"], r["credit"], r["debit"], r["vat_code"]) for r in orig_rows
    ]
    assert {
        (r["date"], r["journal"], r["entry_id"], r["customer_id"], r["invoice_number"])
        for r in rows
    } == {("2026-12-03", "SALES", "NWC2026-000001", "C002", "NWC2026-000001")}
    assert rows[0]["account"] == "1300" and rows[0]["credit"] == "6898.56"
    assert "corrects NW2026-000002" in rows[0]["description"]

    # bean-check accepts the beancount file
    bean = done.folder / "ledger_NWC2026-000001.beancount"
    checked = subprocess.run(
        [str(BEAN_CHECK), str(bean)], check=False, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (
        "Assets:1300-Accounts-receivable" in bean.read_text() and "-6898.56 EUR" in bean.read_text()
    )

    # the workbook: same layout, negative amounts, refers to the original, with the reason
    path = done.folder / "NWC2026-000001_C002.xlsx"
    wb, values = openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)
    assert wb.sheetnames == ["Credit note"]
    ws, wsv = wb["Credit note"], values["Credit note"]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "CREDIT NOTE" in texts and "Reason: Wrong price plan for Microsoft 365" in texts
    details = {ws.cell(r, 4).value: ws.cell(r, 5).value for r in range(1, ws.max_row + 1)}
    assert (
        details["Credit note number"] == "NWC2026-000001"
        and details["Corrects invoice"] == f"{ORIGINAL} of {note.refers_to_date.isoformat()}"
    )
    for ref, formula in (
        (c.coordinate, c.value) for row in ws.iter_rows() for c in row if c.data_type == "f"
    ):
        assert evaluate(ws, formula) == D(str(wsv[ref].value)), (ref, formula)
    assert D(str(wsv.cell(label_cell(ws, "Total").row, 6).value)) == D("-6898.56")

    # the PDF: the credit note's number, the invoice it corrects, the reason and the total
    text = " ".join(
        " ".join(
            p.extract_text() for p in PdfReader(done.folder / "NWC2026-000001_C002.pdf").pages
        ).split()
    )
    assert "CREDIT NOTE" in text and "Credit note number NWC2026-000001" in text
    assert f"Corrects invoice {ORIGINAL}" in text and "Reason: Wrong price plan" in text
    assert "Total EUR -6,898.56" in text

    # the UBL CreditNote: valid, refers to the invoice, the original's figures stated positive
    data = (done.folder / "NWC2026-000001_C002.xml").read_bytes()
    assert schema_errors(data) == [] and rule_findings(data) == [] and peppol_findings(data) == []
    doc = etree.fromstring(data)
    ns = {"cac": CAC, "cbc": CBC}
    assert etree.QName(doc).localname == "CreditNote"
    assert doc.xpath("string(cbc:CreditNoteTypeCode)", namespaces=ns) == "381"
    assert (
        doc.xpath("string(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)", namespaces=ns)
        == ORIGINAL
    )
    assert doc.xpath("string(cac:LegalMonetaryTotal/cbc:PayableAmount)", namespaces=ns) == (
        "6898.56"
    )
    assert doc.xpath("string(cac:TaxTotal/cbc:TaxAmount)", namespaces=ns) == "1197.27"
    assert [
        D(x) for x in doc.xpath("cac:CreditNoteLine/cbc:LineExtensionAmount/text()", namespaces=ns)
    ] == [ln.amount for ln in done.original.lines]

    # the register shows it, final, referring to the original
    [entry] = credit_notes(outputs)
    assert (entry.invoice_number, entry.status, entry.refers_to, entry.issue_date, entry.note) == (
        "NWC2026-000001",
        "final",
        ORIGINAL,
        "2026-12-03",
        "Wrong price plan for Microsoft 365",
    )
    # the note as data, and a manifest naming what it corrects
    assert read_invoice_data(done.folder / "credit_note.json")[1] == {note.number: note}
    manifest = json.loads((done.folder / "manifest.json").read_text())
    assert (manifest["credit_note"], manifest["corrects"], manifest["totals"]["gross_amount"]) == (
        "NWC2026-000001",
        ORIGINAL,
        "-6898.56",
    )
    # the finalised run folder is only read
    assert snapshot(run_folder) == before


def package_rows(path: Path, first: str, value: str) -> list[dict[str, str]]:
    return [r for r in csv.DictReader(path.open(encoding="utf-8")) if r[first] == value]


@pytest.mark.parametrize(("invoice", "currency"), [(ORIGINAL, "EUR"), ("NW2026-000008", "USD")])
def test_the_xero_and_quickbooks_files_reverse_the_run_s_own_rows(outputs, invoice, currency):
    """The accountant imports the credit note into Xero (a EUR organisation: the run converted
    the USD invoice at the period's rate) and QuickBooks Online as the run's own files: the same
    accounts, tax rates, names and converted amounts with the signs swapped, dated and numbered
    as the credit note."""
    run_folder = outputs / PERIOD
    done = issue_credit_note(outputs, invoice, ISSUED, "Wrong price plan")
    number, buyer = done.note.number, done.original.buyer.name
    narration = f"Invoice {invoice} period {PERIOD} – {buyer}"
    xero_then = package_rows(
        run_folder / "xero_manual_journal_2026-10_EUR.csv", "*Narration", narration
    )
    xero_now = list(
        csv.DictReader(
            (done.folder / f"xero_manual_journal_{number}_EUR.csv").open(encoding="utf-8")
        )
    )
    assert len(xero_now) == len(xero_then) > 1
    assert {r["*Narration"] for r in xero_now} == {
        f"Credit note {number} period {PERIOD} corrects {invoice} – {buyer}"
    }
    assert {r["*Date"] for r in xero_now} == {"03/12/2026"}
    assert [(r["*AccountCode"], r["*TaxRate"], D(r["*Amount"])) for r in xero_now] == [
        (r["*AccountCode"], r["*TaxRate"], -D(r["*Amount"])) for r in xero_then
    ]
    assert sum(D(r["*Amount"]) for r in xero_now) == 0
    receivable = xero_now[0]["Description"]
    assert receivable.startswith(f"Credit note {number} corrects {invoice} {buyer}")
    if currency == "USD":  # the amount in its own currency follows the sign, the rate stays
        assert receivable.endswith("(USD -2045.85 at 0.9187)")
        assert xero_then[0]["Description"].endswith("(USD 2045.85 at 0.9187)")
    qb_then = package_rows(run_folder / "quickbooks_journal_2026-10.csv", "Journal No.", invoice)
    qb_now = list(
        csv.DictReader((done.folder / f"quickbooks_journal_{number}.csv").open(encoding="utf-8"))
    )
    assert [
        (
            r["Journal No."],
            r["Journal Date"],
            r["Account Name"],
            r["Debits"],
            r["Credits"],
            r["Name"],
            r["Currency Code"],
        )
        for r in qb_now
    ] == [
        (number, "03/12/2026", r["Account Name"], r["Credits"], r["Debits"], r["Name"], currency)
        for r in qb_then
    ]
    manifest = json.loads((done.folder / "manifest.json").read_text())
    assert {o["file"] for o in manifest["outputs"]} >= {
        f"xero_manual_journal_{number}_EUR.csv",
        f"quickbooks_journal_{number}.csv",
    }


def test_a_run_s_package_file_changed_since_is_refused(outputs):
    path = outputs / PERIOD / "quickbooks_journal_2026-10.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("2045.85", "2045.86"), encoding="utf-8"
    )
    with pytest.raises(RunError, match="quickbooks_journal_2026-10.csv"):
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    assert_nothing_issued(outputs)


def test_a_reason_typed_over_several_lines_reads_the_same_in_every_document(outputs):
    """A reason pasted with a line break and a tab (``--reason $'Wrong price\\n\\tplan'``) was
    printed as it came: the PDF drew boxes for the tab and the line break, the e-invoice's note
    held them, the workbook showed spaces. It reads as one line in every document, the register
    and credit_note.json, as the texts of the parameters do."""
    done = issue_credit_note(outputs, ORIGINAL, ISSUED, " Wrong price\n\tplan\x0cfor  M365 \r\n")
    reason = "Wrong price plan for M365"
    assert done.note.note == reason
    folder = done.folder
    pdf = " ".join(
        page.extract_text() for page in PdfReader(folder / "NWC2026-000001_C002.pdf").pages
    )
    assert f"Reason: {reason}\n" in pdf
    xml = etree.parse(str(folder / "NWC2026-000001_C002.xml"))
    [note] = xml.xpath("/*/cbc:Note/text()", namespaces={"cbc": CBC})
    assert note.endswith(f"Reason: {reason}")
    sheet = openpyxl.load_workbook(folder / "NWC2026-000001_C002.xlsx").active
    assert f"Reason: {reason}" in [c.value for row in sheet.iter_rows() for c in row]
    [record] = json.loads((folder / "credit_note.json").read_text(encoding="utf-8"))["invoices"]
    assert record["note"] == reason
    with sqlite3.connect(outputs / "invoice_register.sqlite") as db:
        assert db.execute(
            "SELECT note FROM numbers WHERE invoice_number = 'NWC2026-000001'"
        ).fetchall() == [(reason,)]


def test_the_command_says_when_the_credit_note_s_pdf_cannot_draw_its_reason(outputs, capsys):
    """A reason in Japanese (or Thai) is printed as empty boxes in the credit note's PDF, whose
    font has no glyphs for it; a run lists such an invoice among its warnings, the command said
    nothing. It says so, as the run does, and which documents hold the text."""
    argv = ["credit-note", "--output", str(outputs), "--invoice", ORIGINAL]
    code = cli.main([*argv, "--issue-date", "2026-12-03", "--reason", "請求額の誤り"])
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "  warning: NWC2026-000001 (C002): the PDF's font (DejaVu Sans: Latin, Greek, Cyrillic) "
        "has no glyph for 請 求 額 の 誤 り (in '請求額の誤り'): the PDF prints empty boxes for "
        "them; the workbook and the e-invoice hold the text\n"
    ) in out, out


def test_the_next_credit_note_takes_the_next_number_of_its_issue_year(outputs):
    assert issue_credit_note(outputs, ORIGINAL, ISSUED).note.number == "NWC2026-000001"
    third = issue_credit_note(outputs, "NW2026-000003", date(2027, 1, 4), "duplicate").note
    fourth = issue_credit_note(outputs, "NW2026-000004", date(2027, 1, 5)).note
    assert (third.number, fourth.number) == ("NWC2027-000001", "NWC2027-000002")
    assert fourth.note is None and third.vat_total == D("-15.75")


def test_the_command_line_issues_it_and_prints_where(outputs, capsys):
    code = cli.main(
        [
            "credit-note",
            "--output",
            str(outputs),
            "--invoice",
            ORIGINAL,
            "--issue-date",
            "2026-12-03",
            "--reason",
            "Wrong price plan",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "credit note NWC2026-000001 issued on 2026-12-03 for C002" in out
        and "corrects invoice NW2026-000002" in out
    )
    assert (
        "EUR net -5701.29 + VAT -1197.27 = -6898.56" in out and str(outputs / "corrections") in out
    )
    code = cli.main(["credit-note", "--output", str(outputs), "--invoice", ORIGINAL])
    assert (
        code == 2 and "already corrected by credit note NWC2026-000001" in capsys.readouterr().err
    )
    code = cli.main(
        [
            "credit-note",
            "--output",
            str(outputs),
            "--invoice",
            "NW2026-000003",
            "--issue-date",
            "3 Dec",
        ]
    )
    assert code == 2 and "--issue-date: expected a date YYYY-MM-DD" in capsys.readouterr().err


# -- refusals: nothing written, no number used
# ------------------------------------------------------------


def test_an_invoice_of_a_run_not_finalised_is_refused(sample_outputs, tmp_path):
    outputs = Path(shutil.copytree(sample_outputs, tmp_path / "outputs"))
    with pytest.raises(
        RunError,
        match=r"NW2026-000002 belongs to the run of 2026-10, which is not finalised: "
        r"correct it by running 2026-10 again",
    ):
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    assert_nothing_issued(outputs)


def test_an_invoice_of_a_run_not_finalised_names_billing_finalise_as_the_way_out(
    sample_outputs, tmp_path, capsys
):
    """The way out of a month not final is to finalise the run reviewed, as it is (``billing
    finalise``): the refusals said "finalise that run first (--finalise)", the option of
    ``billing run``, which bills the month again and finalises whatever changed since the
    review."""
    outputs = Path(shutil.copytree(sample_outputs, tmp_path / "outputs"))
    way_out = f"billing finalise --period {PERIOD} --output {outputs}"
    for command in (["credit-note"], ["reissue"]):
        code = cli.main([*command, "--output", str(outputs), "--invoice", ORIGINAL])
        err = capsys.readouterr().err
        assert code == 2 and way_out in err, err
        assert "--finalise" not in err, err
    register = open_register(outputs / "invoice_register.sqlite")
    with pytest.raises(RunError) as refused:
        register.credit_note_number("NWC2026", ORIGINAL)
    assert way_out in str(refused.value) and "--finalise" not in str(refused.value)
    assert_nothing_issued(outputs)


def test_an_invoice_number_typed_without_its_zeros_is_named_as_meant(outputs):
    """``--invoice NW2026-2`` (the number as said aloud, its zeros left out): "unknown: the
    register has no such number", where the case of a number typed in lower case was named
    as meant."""
    for typed in ("NW2026-2", "nw2026-02", " NW2026-000002"):
        with pytest.raises(RunError, match=r"unknown: .*\(did you mean NW2026-000002\?\)"):
            issue_credit_note(outputs, typed, ISSUED)
    with pytest.raises(RunError) as refused:
        issue_credit_note(outputs, "NW2026-42", ISSUED)
    assert "did you mean" not in str(refused.value)
    assert_nothing_issued(outputs)


def test_an_unknown_invoice_is_refused(outputs):
    with pytest.raises(RunError, match="NW2026-000042: unknown: the register has no such number"):
        issue_credit_note(outputs, "NW2026-000042", ISSUED)
    with pytest.raises(RunError, match="no invoice register here"):
        issue_credit_note(outputs / PERIOD, ORIGINAL, ISSUED)
    assert_nothing_issued(outputs)


def test_a_second_credit_note_for_the_same_invoice_is_refused(outputs):
    first = issue_credit_note(outputs, ORIGINAL, ISSUED)
    before = snapshot(outputs / "corrections")
    with pytest.raises(
        RunError, match="NW2026-000002 is already corrected by credit note NWC2026-000001"
    ):
        issue_credit_note(outputs, ORIGINAL, date(2026, 12, 4), "again")
    with pytest.raises(RunError, match="NWC2026-000001: a credit note, not an invoice"):
        issue_credit_note(outputs, first.note.number, ISSUED)
    assert [e.invoice_number for e in credit_notes(outputs)] == ["NWC2026-000001"]
    assert snapshot(outputs / "corrections") == before


def test_a_second_credit_note_names_the_way_out_reissue_or_the_replacement(outputs):
    """The refusal of a second credit note said only "an invoice is credited in full only
    once": what is owed is billed by ``billing reissue``, and once it is reissued, a correction
    is a credit note of the invoice that replaced it."""
    issue_credit_note(outputs, ORIGINAL, ISSUED)
    with pytest.raises(RunError) as refused:
        issue_credit_note(outputs, ORIGINAL, ISSUED, "again")
    assert f"billing reissue --output {outputs} --invoice {ORIGINAL}" in str(refused.value)
    register = open_register(outputs / "invoice_register.sqlite")
    register.begin_publishing("t", "corrections/NW2026-000010", _reissue_plan())
    register.commit_publishing("t")  # as billing reissue records its invoice
    with pytest.raises(RunError) as refused:
        issue_credit_note(outputs, ORIGINAL, ISSUED, "again")
    text = str(refused.value)
    assert "it is replaced by invoice NW2026-000010" in text, text
    assert f"billing credit-note --output {outputs} --invoice NW2026-000010" in text, text


def _reissue_plan() -> dict:
    return {
        "kind": "reissue",
        "series": "NW2026",
        "number": "NW2026-000010",
        "refers_to": ORIGINAL,
        "issue_date": "2026-12-04",
        "note": None,
    }


def test_a_date_before_the_invoice_is_refused(outputs):
    with pytest.raises(
        RunError, match="issued on 2026-11-01; a credit note cannot be dated 2026-10-31"
    ):
        issue_credit_note(outputs, ORIGINAL, date(2026, 10, 31))
    assert_nothing_issued(outputs)


def test_a_credit_note_dated_before_the_last_of_its_series_is_refused(outputs):
    """A series' numbers follow their dates: a credit note backdated before the one numbered
    ahead of it (NWC2026-000001 of 2026-12-03) was numbered NWC2026-000002 with the earlier date
    in silence."""
    issue_credit_note(outputs, ORIGINAL, ISSUED)
    before = snapshot(outputs / "corrections")
    with pytest.raises(
        RunError,
        match=r"numbered in NWC2026 after NWC2026-000001, which is dated 2026-12-03; it cannot be "
        r"dated 2026-11-15 \(before it\)",
    ):
        issue_credit_note(outputs, "NW2026-000003", date(2026, 11, 15))
    assert snapshot(outputs / "corrections") == before
    assert [e.invoice_number for e in credit_notes(outputs)] == ["NWC2026-000001"]
    same_day = issue_credit_note(outputs, "NW2026-000003", ISSUED).note
    assert same_day.number == "NWC2026-000002"


@pytest.mark.parametrize("where", ["journal", "before rename"])
def test_a_crash_while_writing_leaves_no_folder_and_no_number(outputs, monkeypatch, where):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt(f"the process dies: {where}")

    if where == "journal":  # half the files written
        monkeypatch.setattr(corrections, "write_csv_journal", crash)
        with pytest.raises(KeyboardInterrupt):
            issue_credit_note(outputs, ORIGINAL, ISSUED)
    else:  # every file written, the folder not yet renamed into place
        with pytest.raises(KeyboardInterrupt):
            issue_credit_note(outputs, ORIGINAL, ISSUED, before_publish=crash)
    monkeypatch.undo()
    assert_nothing_issued(outputs)
    # the number was not used: the retry gets the first of the series
    assert issue_credit_note(outputs, ORIGINAL, ISSUED).note.number == "NWC2026-000001"


def test_a_batch_failing_after_its_first_credit_note_says_which_were_issued(
    outputs, monkeypatch, capsys
):
    """``billing credit-note --invoice A --invoice B`` whose second credit note cannot be written
    (the disk full by then): the first is issued, and the command said only "Nothing was issued;
    no credit note or invoice number was used", so the analyst gave both again and was refused
    for A as credited already, or believed A was not. It names what was issued and what to give
    again."""
    write = corrections.write_csv_journal
    calls = []

    def full_after_the_first(*args, **kwargs):
        calls.append(args)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(args[-1]))
        return write(*args, **kwargs)

    monkeypatch.setattr(corrections, "write_csv_journal", full_after_the_first)
    command = ["credit-note", "--output", str(outputs), "--invoice", ORIGINAL]
    code = cli.main([*command, "--invoice", "NW2026-000003", "--issue-date", "2026-12-03"])
    err = capsys.readouterr().err
    assert code == 2
    assert [e.invoice_number for e in credit_notes(outputs)] == ["NWC2026-000001"]
    assert "no room" in err or "No space" in err, err
    assert "Nothing was issued" not in err, err
    assert (
        f"credit note NWC2026-000001 was issued for invoice {ORIGINAL} in "
        f"{outputs / 'corrections' / 'NWC2026-000001'} before this failure" in err
    ), err
    assert "not for NW2026-000003: give it again (billing credit-note --invoice NW2026-000003" in (
        err
    ), err
    monkeypatch.undo()
    again = issue_credit_note(outputs, "NW2026-000003", ISSUED)
    assert again.note.number == "NWC2026-000002"  # no number lost


def test_a_corrections_folder_that_cannot_be_written_is_named_by_the_command(outputs, capsys):
    """``corrections/`` read-only (made by another user, a permission set by hand; a full disk
    alike): ``billing credit-note`` ended in a PermissionError's traceback, exit status 1. It
    names the folder the credit note would be in and the way out; no number is used."""
    (outputs / "corrections").mkdir()
    command = ["credit-note", "--output", str(outputs), "--invoice", ORIGINAL]
    with read_only(outputs / "corrections"):
        assert cli.main([*command, "--issue-date", ISSUED.isoformat()]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {outputs / 'corrections' / 'NWC2026-000001'}: the folder cannot be written "
        "(read-only or no permission)"
    ), err
    assert "Nothing was issued; no credit note or invoice number was used" in err
    assert "make it writable for this user" in err
    assert_nothing_issued(outputs)
    assert issue_credit_note(outputs, ORIGINAL, ISSUED).note.number == "NWC2026-000001"


def test_a_finalised_run_folder_that_is_gone_is_refused(outputs):
    shutil.move(outputs / PERIOD, outputs.parent / "moved")
    with pytest.raises(
        RunError, match=r"2026-10: no such folder, although the register has NW2026-000002 as final"
    ):
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    assert_nothing_issued(outputs)


def test_a_run_folder_changed_since_it_was_finalised_is_refused(outputs):
    summary = outputs / PERIOD / "invoice_summary.csv"
    summary.write_text(summary.read_text().replace("6898.56", "6898.57"))
    with pytest.raises(RunError, match=r"invoice_summary.csv: changed since the run"):
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    assert_nothing_issued(outputs)


@pytest.mark.parametrize("damage", ["missing", "emptied", "byte changed"])
def test_rated_lines_lost_or_changed_since_the_run_are_refused(outputs, damage):
    """The rebuilt invoice is checked against the run's rated lines: a lost or damaged
    rated_lines.parquet is named (DuckDB's read error came up as a traceback before, and a changed
    byte could pass unnoticed)."""
    rated = outputs / PERIOD / "rated_lines.parquet"
    data = rated.read_bytes()
    if damage == "missing":
        rated.unlink()
    elif damage == "emptied":
        rated.write_bytes(b"")
    else:
        rated.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    said = "missing" if damage == "missing" else "changed since the run"
    with pytest.raises(RunError, match=rf"rated_lines.parquet: {said}"):
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    assert_nothing_issued(outputs)


def test_the_register_is_rebuilt_from_a_run_whose_finalised_marker_text_is_damaged(outputs):
    """The marker's presence makes the run final; its time is only the register's note
    (a UnicodeDecodeError stopped `billing register rebuild` before)."""
    (outputs / PERIOD / "FINALISED").write_bytes(b"finalised \x89\xff")
    (outputs / "invoice_register.sqlite").unlink()
    assert cli.main(["register", "rebuild", "--output", str(outputs)]) == 0
    issued = issue_credit_note(outputs, ORIGINAL, ISSUED)
    assert issued.note.number == "NWC2026-000001"


def test_a_rebuild_from_no_run_folder_is_refused_and_writes_nothing(outputs, tmp_path, capsys):
    """``billing register rebuild --output`` given the reports folder wrote an empty register
    there ("rebuilt ... from 0 run folders", exit 0); given an outputs folder whose run folders
    are gone, it would have replaced the register holding the issued numbers by an empty one,
    and the next run would have begun the series again at 000001."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "ms-invoice-reconciliation-G052026103.csv").write_text("PartnerId\n")
    before = sorted(p.name for p in reports.iterdir())
    assert cli.main(["register", "rebuild", "--output", str(reports)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {reports}: no run folder (YYYY-MM/ with manifest.json) and no credit note or "
        "reissued invoice (corrections/) to rebuild the invoice register from; nothing was "
        "written. It holds vendor reports (ms-invoice-reconciliation-G052026103.csv): is it the "
        "reports folder? Give the outputs folder of the runs (--output)"
    )
    assert sorted(p.name for p in reports.iterdir()) == before  # no register, no lock file
    shutil.rmtree(outputs / PERIOD)
    register = (outputs / "invoice_register.sqlite").read_bytes()
    assert cli.main(["register", "rebuild", "--output", str(outputs)]) == 2
    assert "a register there is left as it is" in capsys.readouterr().err
    assert (outputs / "invoice_register.sqlite").read_bytes() == register


def test_a_rebuild_given_the_parameters_folder_names_it_as_such(tmp_path, capsys):
    """``billing register rebuild --output parameters`` said "It holds vendor reports
    (accounts.csv, exchange_rates.csv): is it the reports folder?": its CSV files were taken for
    reports. It is named as the parameters folder; nothing is written."""
    parameters = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    before = sorted(p.name for p in parameters.iterdir())
    assert cli.main(["register", "rebuild", "--output", str(parameters)]) == 2
    err = capsys.readouterr().err
    expected = (
        "It holds parameters files (customers.yaml, price_plans.yaml, accounts.csv): is it the "
        "parameters folder? Give the outputs folder of the runs (--output)"
    )
    assert expected in err, err
    assert "vendor reports" not in err
    assert sorted(p.name for p in parameters.iterdir()) == before


@pytest.mark.parametrize("with_report", [False, True], ids=["workbook-alone", "beside-a-report"])
def test_a_rebuild_given_a_folder_of_a_spreadsheet_does_not_call_it_vendor_reports(
    tmp_path, capsys, with_report
):
    """``billing register rebuild --output`` given a folder holding a spreadsheet workbook (a
    price list, an export kept beside the outputs) said "It holds vendor reports (a spreadsheet
    workbook): is it the reports folder?": the workbook was taken for a report. A workbook is
    no report (``report_names.reports_among``, as a run's parameters check has it): the reports
    beside it are named, or, with none, the hint for a folder holding no run folder."""
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "price-list.xlsx").write_bytes(b"PK\x03\x04")
    if with_report:
        (folder / "ms-invoice-reconciliation-G052026103.csv").write_text("PartnerId\n")
    before = sorted(p.name for p in folder.iterdir())
    assert cli.main(["register", "rebuild", "--output", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "spreadsheet" not in err and "price-list.xlsx" not in err, err
    if with_report:
        assert err.rstrip().endswith(
            "It holds vendor reports (ms-invoice-reconciliation-G052026103.csv): is it the "
            "reports folder? Give the outputs folder of the runs (--output)"
        ), err
    else:
        assert "vendor reports" not in err
        assert err.rstrip().endswith(
            "; a register there is left as it is. Give the outputs folder of the runs "
            "(--output), or restore its run folders from a backup first; a new outputs folder "
            "needs no rebuild (the first run creates its register)"
        ), err
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_rebuild_keeps_what_the_earlier_register_issued_and_no_folder_holds(
    outputs, tmp_path, capsys
):
    """A credit note's folder moved away (an outputs folder partly deleted or archived), then
    ``billing register rebuild``: the rebuilt register lowered the series to what the folders
    hold, and the next correction issued NWC2026-000001 a second time. The rebuild reads the
    earlier register first and refuses to drop a number it issued (or a month it finalised)
    that no folder holds; moved aside on purpose, the register is rebuilt as before."""
    issue_credit_note(outputs, ORIGINAL, ISSUED)
    register = outputs / "invoice_register.sqlite"
    shutil.move(outputs / "corrections" / "NWC2026-000001", tmp_path / "archived")
    (outputs / PERIOD / "FINALISED").rename(tmp_path / "FINALISED")
    before = snapshot(outputs)
    capsys.readouterr()
    assert cli.main(["register", "rebuild", "--output", str(outputs)]) == 2
    err = capsys.readouterr().err
    assert f"error: {register}: cannot rebuild the register from the run folders" in err
    assert (
        "NWC2026-000001 (credit note of C002, 2026-10, issued 2026-12-03) is final in the "
        "register and in no folder"
    ) in err
    assert "2026-10 is finalised in the register; its folder 2026-10/ is not" in err
    assert "restore those folders from a backup" in err
    assert snapshot(outputs) == before
    # the register kept, the next correction is refused too: nothing is issued twice
    (tmp_path / "FINALISED").rename(outputs / PERIOD / "FINALISED")
    with pytest.raises(RunError, match="NW2026-000002 is already corrected by credit note"):
        issue_credit_note(outputs, ORIGINAL, ISSUED)

    shutil.move(tmp_path / "archived", outputs / "corrections" / "NWC2026-000001")
    said = sorted((e.invoice_number, e.status) for e in open_register(register).entries())
    assert cli.main(["register", "rebuild", "--output", str(outputs)]) == 0
    assert sorted((e.invoice_number, e.status) for e in open_register(register).entries()) == said

    # a register known to be wrong is moved aside on purpose: the rebuild reads the folders only
    shutil.rmtree(outputs / "corrections" / "NWC2026-000001")
    register.rename(tmp_path / "wrong.sqlite")
    assert cli.main(["register", "rebuild", "--output", str(outputs)]) == 0
    assert credit_notes(outputs) == []


def test_a_manifest_without_a_files_checksum_is_refused_naming_the_file(outputs):
    manifest = outputs / PERIOD / "manifest.json"
    data = json.loads(manifest.read_text())
    [entry] = [o for o in data["outputs"] if o["file"] == "invoice_summary.csv"]
    del entry["sha256"]
    manifest.write_text(json.dumps(data))
    with pytest.raises(RunError, match="invoice_summary.csv: not among the outputs of manifest"):
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    manifest.write_text("[]")
    with pytest.raises(RunError, match="manifest.json: not a run's manifest"):
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    assert_nothing_issued(outputs)


def test_a_register_holding_text_that_is_no_utf8_is_named_with_the_way_out(outputs):
    with sqlite3.connect(outputs / "invoice_register.sqlite") as db:
        db.execute("UPDATE numbers SET customer_id = CAST(X'89FF' AS TEXT) WHERE rowid = 2")
    with pytest.raises(RunError, match="not a readable invoice register.*billing register rebuild"):
        issue_credit_note(outputs, ORIGINAL, ISSUED)


def test_a_rebuild_that_differs_from_the_issued_figures_is_refused_with_the_figures(outputs):
    # the run's invoices.json says another VAT amount (and the manifest agrees with the file), as a
    # change in the rules would give: the credit note must carry the invoice's own figures
    folder = outputs / PERIOD
    data = json.loads((folder / "invoices.json").read_text())
    [inv] = [i for i in data["invoices"] if i["number"] == ORIGINAL]
    inv["vat"][0]["amount"], inv["vat_total"], inv["gross"] = "1197.28", "1197.28", "6898.57"
    (folder / "invoices.json").write_text(json.dumps(data))
    manifest = json.loads((folder / "manifest.json").read_text())
    for o in manifest["outputs"]:
        if o["file"] == "invoices.json":
            o["sha256"] = hashlib.sha256((folder / "invoices.json").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunError) as exc:
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    message = str(exc.value)
    assert "is not the one issued; no credit note was issued" in message
    assert (
        "VAT 21 %: base 5701.29, VAT 1197.28; the lines give base 5701.29, VAT 1197.27" in message
    )
    assert (
        "vat_amount 1197.28 (rebuilt) vs 1197.27 (invoice_summary.csv); "
        "gross_amount 6898.57 (rebuilt) vs 6898.56 (invoice_summary.csv)"
    ) in message
    assert_nothing_issued(outputs)


def test_a_credit_note_dated_years_ahead_is_refused(outputs):
    with pytest.raises(
        RunError, match="a credit note for NW2026-000002: 2099-12-03 is .* days after"
    ):
        issue_credit_note(outputs, ORIGINAL, date(2099, 12, 3))
    assert_nothing_issued(outputs)


def test_several_invoices_are_credited_at_once_or_none_is(outputs):
    from billing_lib.corrections import issue_credit_notes

    with pytest.raises(RunError, match="NW2026-000099: unknown"):
        issue_credit_notes(outputs, [ORIGINAL, "NW2026-000099"], ISSUED, "Wrong plan")
    assert_nothing_issued(outputs)
    done = issue_credit_notes(outputs, [ORIGINAL, "NW2026-000003"], ISSUED, "Wrong plan")
    assert [(d.note.number, d.original.number, d.note.gross) for d in done] == [
        ("NWC2026-000001", ORIGINAL, D("-6898.56")),
        ("NWC2026-000002", "NW2026-000003", -done[1].original.gross),
    ]
    assert [e.refers_to for e in credit_notes(outputs)] == [ORIGINAL, "NW2026-000003"]


@pytest.mark.parametrize("damage", ["lost", "cut short"])
def test_a_run_folder_whose_manifest_is_lost_is_rebuilt_by_its_invoices_and_named(
    outputs, damage, capsys
):
    """The register and the finalised October run's ``manifest.json`` lost: the rebuild skipped
    the folder ("rebuilt ... from 0 run folders", exit 0) and every command skipped it when
    checking the register, so the next run numbered its invoices NW2026-000001 to 000009 a
    second time. The rebuild reads the folder's invoices.json (as it did for a manifest cut
    short); every other command names the manifest, with nothing changed."""
    from billing_lib.recovery import open_output

    manifest = outputs / PERIOD / "manifest.json"
    if damage == "lost":
        manifest.unlink()
    else:
        manifest.write_bytes(manifest.read_bytes()[:200])
    register = outputs / "invoice_register.sqlite"
    issued = sorted((e.invoice_number, e.status) for e in open_register(register).entries())
    register.unlink()
    capsys.readouterr()
    assert cli.main(["register", "rebuild", "--output", str(outputs)]) == 0
    assert "from 1 run folders and 0 credit notes (finalised: 2026-10)" in capsys.readouterr().out
    assert sorted((e.invoice_number, e.status) for e in open_register(register).entries()) == (
        issued
    )
    register.unlink()
    before = snapshot(outputs)
    said = "missing" if damage == "lost" else r"cannot be read \(damaged"
    with pytest.raises(RunError, match=rf"manifest.json: {said}.*, though {PERIOD}/ holds a run"):
        open_output(outputs, "billing run")
    assert snapshot(outputs) == before


def test_a_run_folder_with_neither_manifest_nor_invoices_is_not_rebuilt_without_them(
    outputs, capsys
):
    """Its manifest cut short and its invoices.json lost: which numbers it issued is unknown, so
    the rebuild refuses rather than restart the series."""
    manifest = outputs / PERIOD / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:200])
    (outputs / PERIOD / "invoices.json").unlink()
    (outputs / "invoice_register.sqlite").unlink()
    assert cli.main(["register", "rebuild", "--output", str(outputs)]) == 2
    assert "holds no invoices.json, so which invoice numbers" in capsys.readouterr().err
    assert not (outputs / "invoice_register.sqlite").exists()


@pytest.mark.parametrize("given", ["2026-10", "2026-10/invoices", "corrections"])
def test_a_run_folder_given_for_the_outputs_folder_is_refused(outputs, given):
    """``--output outputs/2026-10`` (the month's folder for the outputs folder): the next month's
    run created a register inside the finalised October folder, numbered its invoices
    NW2026-000001 to 000009 a second time and published itself there. Every command refuses a
    run folder, a folder in one, or the corrections folder, naming it, with nothing written."""
    from billing_lib.recovery import open_output

    if given == "corrections":
        issue_credit_note(outputs, ORIGINAL, ISSUED)
    before = snapshot(outputs)
    folder = outputs / given
    with pytest.raises(RunError, match=r"is not an outputs folder: it is .* of the outputs folder"):
        open_output(folder, "billing run")
    reports = REPO / "samples" / PERIOD / "reports"
    with pytest.raises(RunError, match=rf"{folder}: is not an outputs folder"):
        run.run_all("2026-11", reports, REPO / "parameters", folder)
    assert snapshot(outputs) == before
