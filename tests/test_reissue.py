"""The corrected invoice after a credit note (``billing reissue``): the sample month's invoice
NW2026-000002 credited, then billed anew with corrected parameters from the same reports, as a
new number of the series that refers to it; every refusal (not credited, replaced twice, other
reports, dated before the credit note, nothing to bill) leaving no folder and no number used;
the chain credit -> reissue -> credit -> reissue, and the register rebuilt from it."""

from __future__ import annotations

import csv
import dataclasses
import errno
import hashlib
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
from lxml import etree
from pypdf import PdfReader

from billing_lib import analysis, charts, cli, cost_entries, reissue_billing, review, run
from billing_lib.corrections import issue_credit_note
from billing_lib.errors import BillingError, InputError, RunError
from billing_lib.invoices import read_invoice_data
from billing_lib.money import money_text_sql, round_money
from billing_lib.numbering import NumberPlan, open_register
from billing_lib.rating import fees
from billing_lib.register_check import check_register_knows_folders
from billing_lib.register_rebuild import rebuild_register
from billing_lib.reissue import ReissuedInvoice, reissue_invoice, reissue_invoices
from billing_lib.review import previous_net
from billing_lib.run_state import load_settings
from billing_lib.ubl import CBC, NS_INVOICE
from billing_lib.widgets import MarginExplorer
from tests.console_scripts import BEAN_CHECK
from tests.folder_digest import digest
from tests.notebook_project import PERIOD, REPO
from tests.read_only import read_only
from tests.ubl_validation import peppol_findings, rule_findings, schema_errors
from tests.workbook_formulas import evaluate, label_cell

D = Decimal
ORIGINAL = "NW2026-000002"
CREDITED = date(2026, 12, 3)
REISSUED = date(2026, 12, 4)
REPORTS = REPO / "samples" / PERIOD / "reports"
NS = {"cbc": CBC, "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}


@pytest.fixture(scope="module")
def credited_month(finalised_sample_outputs, tmp_path_factory) -> Path:
    """The finalised sample run's outputs folder with NW2026-000002 credited (made once for the
    module; each test gets a copy, ``outputs``)."""
    out = Path(shutil.copytree(finalised_sample_outputs, tmp_path_factory.mktemp("c") / "o"))
    issue_credit_note(out, ORIGINAL, CREDITED, "Managed services billed at the old price")
    return out


@pytest.fixture
def outputs(credited_month, tmp_path) -> Path:
    """A private copy of ``credited_month``."""
    return Path(shutil.copytree(credited_month, tmp_path / "outputs"))


@pytest.fixture
def corrected(tmp_path) -> Path:
    """The sample parameters corrected: C002's managed services 350.00 a month (not 450.00),
    and its new street address."""
    return corrected_parameters(tmp_path)


def corrected_parameters(folder: Path) -> Path:
    """``folder/parameters``: the sample parameters corrected (``corrected``)."""
    params = Path(
        shutil.copytree(
            REPO / "parameters", folder / "parameters", ignore=shutil.ignore_patterns("local")
        )
    )
    lines = params / "custom_lines.yaml"
    text = lines.read_text(encoding="utf-8")
    old = 'description: Managed services,\n     unit_price: "450.00"'
    assert old in text
    lines.write_text(text.replace(old, old.replace("450.00", "350.00")), encoding="utf-8")
    customers = params / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    assert "[Havenweg 8, 3089 JR Rotterdam]" in text
    customers.write_text(text.replace("Havenweg 8,", "Havenweg 10,"), encoding="utf-8")
    return params


@dataclass(frozen=True)
class Reissued:
    """``credited_month`` with NW2026-000002 reissued from ``parameters`` (dated ``REISSUED``,
    no reason), made once for the tests that begin with that same reissue: each takes a
    ``copy`` (a folder copy costs milliseconds, a reissue about a second and a half of CPU)."""

    outputs: Path
    parameters: Path
    done: ReissuedInvoice

    def copy(self, to: Path) -> tuple[Path, ReissuedInvoice]:
        """A private copy of the outputs folder at ``to``, and the reissue's result with its
        folder and files in that copy."""
        out = Path(shutil.copytree(self.outputs, to))
        moved = dataclasses.replace(
            self.done,
            folder=out / self.done.folder.relative_to(self.outputs),
            files=tuple(out / f.relative_to(self.outputs) for f in self.done.files),
        )
        return out, moved


def _reissued(credited: Path, folder: Path, edit: Callable[[Path], None]) -> Iterator[Reissued]:
    """``Reissued`` in ``folder``, its corrected parameters changed by ``edit`` first; at the end
    the outputs folder and the parameters must be as they were (read only: tests copy them)."""
    params = corrected_parameters(folder)
    edit(params)
    out = Path(shutil.copytree(credited, folder / "outputs"))
    done = reissue_invoice(out, ORIGINAL, params, REPORTS, REISSUED)
    before = digest(out), digest(params)
    yield Reissued(out, params, done)
    assert (digest(out), digest(params)) == before, "a test changed a shared reissue: copy it"


@pytest.fixture(scope="module")
def reissued(credited_month, tmp_path_factory) -> Iterator[Reissued]:
    """NW2026-000002 reissued from the corrected parameters."""
    yield from _reissued(credited_month, tmp_path_factory.mktemp("r"), lambda params: None)


def _map_sandbox(params: Path) -> None:
    """accounts.csv corrected: AWS account poc-sandbox-ams (unmapped by the run) is C002's."""
    with open(params / "accounts.csv", "a", encoding="utf-8") as fh:
        fh.write("aws,285396417058,C002,,,poc-sandbox-ams\n")


@pytest.fixture(scope="module")
def reissued_with_sandbox(credited_month, tmp_path_factory) -> Iterator[Reissued]:
    """NW2026-000002 reissued from the corrected parameters with poc-sandbox-ams mapped to C002
    (``_map_sandbox``)."""
    yield from _reissued(credited_month, tmp_path_factory.mktemp("rs"), _map_sandbox)


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def register_rows(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "invoice_register.sqlite") as db:
        return db.execute(
            "SELECT invoice_number, kind, period, customer_id, refers_to, status, issue_date, note "
            "FROM numbers ORDER BY series, number"
        ).fetchall()


def assert_nothing_reissued(out: Path, before: list[tuple]) -> None:
    """The register as it was, and no invoice folder (nor staging) in corrections/."""
    assert register_rows(out) == before
    assert sorted(p.name for p in (out / "corrections").iterdir()) == ["NWC2026-000001"]


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).split())


# -- the corrected invoice -------------------------------------------------------------------------


def test_the_credited_invoice_is_billed_anew_with_the_corrected_parameters(outputs, corrected):
    run_folder = outputs / PERIOD
    before = snapshot(run_folder)
    done = reissue_invoice(
        outputs, ORIGINAL, corrected, REPORTS, REISSUED, "Managed services at 350.00 from October"
    )
    inv = done.invoice
    assert (inv.number, inv.kind, inv.period, inv.customer_id, inv.refers_to) == (
        "NW2026-000010",
        "invoice",
        PERIOD,
        "C002",
        ORIGINAL,
    )
    assert (done.replaces.number, done.credit_note) == (ORIGINAL, "NWC2026-000001")
    assert (inv.issue_date, inv.due_date) == (REISSUED, date(2027, 1, 3))
    assert inv.note == (
        f"This invoice replaces invoice NW2026-000002 of {done.replaces.issue_date.isoformat()}, "
        f"cancelled by credit note NWC2026-000001 of {CREDITED.isoformat()}. "
        "Reason: Managed services at 350.00 from October"
    )
    # the correction and nothing else: 100.00 less managed services, the rest as invoiced
    assert (done.replaces.net, done.replaces.gross) == (D("5701.29"), D("6898.56"))
    assert (inv.net, inv.vat_total, inv.gross) == (D("5601.29"), D("1176.27"), D("6777.56"))
    changed = {ln.description: ln.amount for ln in inv.lines}
    was = {ln.description: ln.amount for ln in done.replaces.lines}
    assert {k: (was[k], v) for k, v in changed.items() if was.get(k) != v} == {
        "Managed services": (D("450.00"), D("350.00"))
    }
    assert inv.buyer.address[0] == "Havenweg 10"
    assert done.moved_lines == ()  # the same vendor and custom lines as on the one replaced

    folder = outputs / "corrections" / "NW2026-000010"
    assert done.folder == folder
    assert (
        sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        == sorted(str(p.relative_to(folder)) for p in done.files)
        == [
            "invoice_summary.csv",
            "invoices.json",
            "invoices/NW2026-000010_C002.pdf",
            "invoices/NW2026-000010_C002.usage.parquet",
            "invoices/NW2026-000010_C002.xlsx",
            "invoices/NW2026-000010_C002.xml",
            "journal_NW2026-000010.csv",
            "ledger_NW2026-000010.beancount",
            "manifest.json",
            "minimum_fees.parquet",
            "quickbooks_journal_NW2026-000010.csv",
            "rated_lines.parquet",
            "what_if_terms.parquet",
            "xero_manual_journal_NW2026-000010_EUR.csv",
        ]
    )

    # the summary row, the invoice as data and the rated lines behind it
    [row] = csv.DictReader((folder / "invoice_summary.csv").open(encoding="utf-8"))
    assert (row["invoice_number"], row["net_amount"], row["gross_amount"]) == (
        "NW2026-000010",
        "5601.29",
        "6777.56",
    )
    assert read_invoice_data(folder / "invoices.json")[1] == {inv.number: inv}
    con = duckdb.connect()
    (rated,) = con.execute(
        "SELECT sum(amount) FROM read_parquet(?) WHERE customer_id = 'C002'",
        [str(folder / "rated_lines.parquet")],
    ).fetchone()
    con.close()
    assert rated == sum((ln.unrounded_amount for ln in inv.lines), D(0))

    # the sales entry: balanced, the gross receivable, the revenue per product group
    rows = list(csv.DictReader((folder / "journal_NW2026-000010.csv").open(encoding="utf-8")))
    assert sum(D(r["debit"] or 0) - D(r["credit"] or 0) for r in rows) == 0
    assert (rows[0]["account"], rows[0]["debit"], rows[0]["date"]) == (
        "1300",
        "6777.56",
        "2026-12-04",
    )
    assert {r["journal"] for r in rows} == {"SALES"}
    xero = list(
        csv.DictReader(
            (folder / "xero_manual_journal_NW2026-000010_EUR.csv").open(encoding="utf-8")
        )
    )
    assert [(x["*AccountCode"], D(x["*Amount"])) for x in xero] == [
        (r["account"], D(r["debit"] or 0) - D(r["credit"] or 0)) for r in rows
    ]
    quickbooks = folder / "quickbooks_journal_NW2026-000010.csv"
    assert [q["Journal No."] for q in csv.DictReader(quickbooks.open(encoding="utf-8"))] == [
        "NW2026-000010"
    ] * len(rows)
    bean = folder / "ledger_NW2026-000010.beancount"
    checked = subprocess.run([str(BEAN_CHECK), str(bean)], check=False, capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the workbook: the invoice sheet's formulas give the new total, and it says what it replaces
    path = folder / "invoices" / "NW2026-000010_C002.xlsx"
    wb, values = openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)
    ws, wsv = wb.worksheets[0], values.worksheets[0]
    texts = [c.value for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    assert inv.note in " ".join(texts) and "Havenweg 10" in texts  # the note on rows of its own
    details = {ws.cell(r, 4).value: ws.cell(r, 5).value for r in range(1, ws.max_row + 1)}
    assert (details["Invoice number"], details["Replaces invoice"]) == (
        "NW2026-000010",
        f"{ORIGINAL} of {done.replaces.issue_date.isoformat()}",
    )
    for ref, formula in (
        (c.coordinate, c.value) for r in ws.iter_rows() for c in r if c.data_type == "f"
    ):
        assert evaluate(ws, formula) == D(str(wsv[ref].value)), (ref, formula)
    assert D(str(wsv.cell(label_cell(ws, "Total").row, 6).value)) == D("6777.56")
    assert len(wb.sheetnames) > 1  # the usage sheets, as on a run's invoice

    # the PDF and the UBL invoice: valid, referring to the invoice replaced, the same total
    text = pdf_text(folder / "invoices" / "NW2026-000010_C002.pdf")
    assert "Invoice number NW2026-000010" in text and f"Replaces invoice {ORIGINAL}" in text
    assert f"Replaces invoice {ORIGINAL} of {done.replaces.issue_date.isoformat()}" in text
    assert (
        "replaces invoice NW2026-000002 of 2026-11-01, cancelled by credit note NWC2026-000001"
        in text
    )
    assert "Total EUR 6,777.56" in text
    data = (folder / "invoices" / "NW2026-000010_C002.xml").read_bytes()
    assert schema_errors(data) == [] and rule_findings(data) == [] and peppol_findings(data) == []
    doc = etree.fromstring(data)
    assert etree.QName(doc).namespace == NS_INVOICE
    assert doc.xpath("string(cbc:InvoiceTypeCode)", namespaces=NS) == "380"
    ref = "string(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)"
    assert doc.xpath(ref, namespaces=NS) == ORIGINAL
    # and its issue date (BT-26), as a credit note names the invoice it credits
    issued = "string(cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate)"
    assert doc.xpath(issued, namespaces=NS) == register_rows(outputs)[1][6] == "2026-11-01"
    assert doc.xpath("string(cac:LegalMonetaryTotal/cbc:PayableAmount)", namespaces=NS) == "6777.56"

    # the register: final at once, referring to the invoice replaced; the manifest says so
    assert register_rows(outputs)[9] == (
        "NW2026-000010",
        "invoice",
        PERIOD,
        "C002",
        ORIGINAL,
        "final",
        "2026-12-04",
        inv.note,
    )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["kind"], manifest["invoice"], manifest["corrects"]) == (
        "reissue",
        "NW2026-000010",
        ORIGINAL,
    )
    assert manifest["credit_note"] == "NWC2026-000001"
    assert manifest["parameters"] == {"reports": str(REPORTS), "parameters": str(corrected)}
    assert {c["file"] for c in manifest["inputs"]} == {p.name for p in REPORTS.iterdir()}
    # the finalised run folder is only read
    assert snapshot(run_folder) == before
    # the month as billed now: the credited invoice out, the one replacing it in
    assert previous_net(outputs, PERIOD)[("C002", "EUR")] == D("5601.29")
    # November billed afterwards, dated 1 December: its numbers follow a number dated 4 December
    november = NumberPlan("NW2026", "2026-11", "2026-12-01", {"C001": "NW2026-000011"})
    register = open_register(outputs / "invoice_register.sqlite").entries()
    [finding] = review.number_order(november, register)
    assert finding.lines == ("NW2026-000010 of 2026-10, dated 2026-12-04",)
    assert finding.finding.endswith("; dated 2026-12-04 or later (--issue-date) they are in order")
    later = NumberPlan("NW2026", "2026-11", "2026-12-04", {"C001": "NW2026-000011"})
    assert review.number_order(later, register) == []


OLD_MINIMUM_TEXT = "Minimum monthly fee for cloud services (minimum 75.00 EUR, used 58.71)"
NEW_MINIMUM_TEXT = "Minimum monthly fee for cloud services (minimum EUR 75.00, used EUR 58.71)"
_TOP_UP_COLUMNS = fees._top_up_columns


def _top_up_columns_before_grouping(texts: bool = True) -> str:
    """``rating.fees._top_up_columns`` as runs wrote it before the minimum's text printed its
    amounts as the invoice does ("minimum 75.00 EUR, used 58.71")."""
    new = _TOP_UP_COLUMNS(texts)
    if not texts:  # the what-if's sums: no text
        return new
    old = (
        f"' (minimum ' || {money_text_sql('minimum', 'currency')} || ' ' || currency "
        f"|| ', used ' || {money_text_sql('used', 'currency')} || ')' AS description"
    )
    start, end = new.index("' (minimum '"), new.index(" AS description") + len(" AS description")
    return new[:start] + old + new[end:]


def test_a_run_folder_with_the_old_minimum_text_credits_and_reissues(tmp_path, monkeypatch):
    """The minimum fee's text changed ("minimum 75.00 EUR, used 58.71" to "minimum EUR 75.00,
    used EUR 58.71"); nothing keys on it across runs. A run folder billed before credits its
    invoice with the text it was sent, and the reissue bills the new text: the same figures."""
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    out = tmp_path / "outputs"
    with monkeypatch.context() as m:
        m.setattr(fees, "_top_up_columns", _top_up_columns_before_grouping)
        run.run_all(PERIOD, REPORTS, params, out, finalise=True)
    _, invoices = read_invoice_data(out / PERIOD / "invoices.json")
    (sent,) = [i for i in invoices.values() if i.customer_id == "C003"]
    assert OLD_MINIMUM_TEXT in [ln.description for ln in sent.lines]
    credited = issue_credit_note(out, sent.number, CREDITED, "the minimum's text")
    assert [ln.description for ln in credited.note.lines] == [ln.description for ln in sent.lines]
    assert credited.note.net == -sent.net
    done = reissue_invoice(out, sent.number, params, REPORTS, REISSUED)
    texts = [ln.description for ln in done.invoice.lines]
    assert NEW_MINIMUM_TEXT in texts and OLD_MINIMUM_TEXT not in texts
    sent_texts = [ln.description for ln in sent.lines]
    assert texts == [NEW_MINIMUM_TEXT if t == OLD_MINIMUM_TEXT else t for t in sent_texts]
    assert [ln.amount for ln in done.invoice.lines] == [ln.amount for ln in sent.lines]
    assert (done.invoice.net, done.invoice.gross) == (sent.net, sent.gross)
    assert done.moved_lines == ()


def test_vendor_lines_an_edited_accounts_csv_moved_away_are_listed(
    finalised_sample_outputs, outputs, corrected, capsys
):
    """accounts.csv edited by mistake: C002's AWS account vll-dev given to C001. The invoice
    replacing NW2026-000002 (``billing reissue`` on the command line) bills less, and the lines
    it no longer bills are printed and recorded. The margin analysis keeps their cost (the run
    booked it; C001's invoice that stands does not bill them) under C002 at revenue 0: it had
    dropped out, the month's cost 115.71 USD (in EUR) short and its margin overstated by it."""
    accounts = corrected / "accounts.csv"
    text = accounts.read_text(encoding="utf-8")
    assert "aws,518204736307,C002," in text
    accounts.write_text(text.replace("aws,518204736307,C002,", "aws,518204736307,C001,"))
    argv = ["reissue", "--output", str(outputs), "--invoice", ORIGINAL]
    code = cli.main([*argv, "--parameters", str(corrected), "--issue-date", "2026-12-04"])
    printed = capsys.readouterr().out
    assert code == 0
    assert (
        "invoice NW2026-000010 issued on 2026-12-04 for C002 Van Leeuwen Logistiek B.V., period "
        "2026-10: replaces invoice NW2026-000002 (cancelled by credit note NWC2026-000001)"
    ) in printed
    assert f"billed from {REPORTS} with the parameters in {corrected}" in printed
    folder = outputs / "corrections" / "NW2026-000010"
    [new] = read_invoice_data(folder / "invoices.json")[1].values()
    assert (
        f"EUR net {new.net} + VAT {new.vat_total} = {new.gross} (the invoice replaced: EUR "
        "5701.29 + 1197.27 = 6898.56)"
    ) in printed
    assert new.net < D("5701.29")
    assert "invoices/NW2026-000010_C002.pdf" in printed
    con = duckdb.connect()
    sql = (
        "SELECT count(*), sum(vendor_cost) FROM read_parquet(?) "
        "WHERE customer_id = 'C002' AND vendor = 'aws'"
    )
    then = con.execute(sql, [str(outputs / PERIOD / "rated_lines.parquet")]).fetchone()
    now = con.execute(sql, [str(folder / "rated_lines.parquet")]).fetchone()
    con.close()
    assert then[0] > now[0] > 0
    moved = (
        f"aws: {then[0] - now[0]} vendor lines, cost USD {round_money(then[1] - now[1], 'USD')}, "
        "billed on NW2026-000002 and not now"
    )
    assert (
        "  lines not as on NW2026-000002 (check accounts.csv and custom_lines.yaml if not "
        f"meant):\n    {moved}\n"
    ) in printed
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vendor_lines_moved"] == [moved]
    run = analysis.load_summary(finalised_sample_outputs, [PERIOD])
    now = analysis.load_summary(outputs, [PERIOD])
    for column in ("cost", "lines"):
        assert now.groupby("currency")[column].sum().equals(run.groupby("currency")[column].sum())
    c002 = now[now["customer_id"] == "C002"]
    assert c002["cost"].sum() == run.loc[run["customer_id"] == "C002", "cost"].sum()
    assert c002["amount"].sum() == new.net  # the new invoice's, to the cent
    aws = c002[c002["vendor"] == "aws"]
    assert aws["lines"].sum() == then[0] and aws["cost"].sum() > 0


def test_lines_moved_to_an_invoice_reissued_from_one_credited_count_once(
    finalised_sample_outputs, outputs, corrected
):
    """NW2026-000002 (C002) credited and not reissued; NW2026-000001 (C001) credited too and
    reissued with C002's AWS account vll-dev given to C001 (no invoice that stands bills those
    lines, so nothing refuses it). Their cost is on C001's new invoice and no longer also kept
    under C002 at revenue 0: the margin analysis counted it twice."""
    issue_credit_note(outputs, "NW2026-000001", CREDITED, "vll-dev is Dijkstra's")
    accounts = corrected / "accounts.csv"
    text = accounts.read_text(encoding="utf-8")
    accounts.write_text(text.replace("aws,518204736307,C002,", "aws,518204736307,C001,"))
    done = reissue_invoice(outputs, "NW2026-000001", corrected, REPORTS, REISSUED)
    assert done.invoice.customer_id == "C001" and done.invoice.net > done.replaces.net
    run = analysis.load_summary(finalised_sample_outputs, [PERIOD])
    now = analysis.load_summary(outputs, [PERIOD])
    for column in ("cost", "lines"):
        assert now.groupby("currency")[column].sum().equals(run.groupby("currency")[column].sum())
    c002 = now[now["customer_id"] == "C002"]
    assert set(c002["amount"]) == {D(0)}
    moved = run[(run["customer_id"] == "C002") & (run["vendor"] == "aws")]["cost"].sum()
    kept = c002[c002["vendor"] == "aws"]["cost"].sum()
    assert 0 < kept < moved
    # the run booked their cost on 7010 (on C002's invoice), where C001's new invoice has it
    journal = done.folder / f"journal_{done.invoice.number}.csv"
    assert {r["journal"] for r in _journal_rows(journal, "USD")} <= {"SALES"}


def test_an_unmapped_account_a_reissue_bills_is_no_longer_listed_as_billed_to_nobody(
    reissued_with_sandbox, tmp_path
):
    """The run left AWS account poc-sandbox-ams unmapped (62 lines, USD 9.91 billed to nobody);
    accounts.csv corrected, NW2026-000002's replacement bills them to C002. The margin summary
    counts their cost on C002, and the notebook's "vendor cost billed to no customer" still
    listed it: counted twice. The run's row stays (its ledger booked it so), followed by the
    reissue's, negative, so the list adds up to what is still billed to no one."""
    # accounts.csv corrected (_map_sandbox), NW2026-000002 reissued: the module's shared reissue
    outputs, done = reissued_with_sandbox.copy(tmp_path / "outputs")
    assert done.moved_lines == (
        "aws: 62 vendor lines, cost USD 9.91, billed now and not on NW2026-000002",
    )
    unbilled = analysis.unbilled_cost(outputs, [PERIOD])
    unmapped = unbilled[unbilled["vendor_currency"] == "USD"].set_index("reason")
    assert unmapped.loc["unmapped account", ["lines", "cost"]].tolist() == [62, D("9.9079999992")]
    since = "billed since on NW2026-000010 (billing reissue), billed to nobody by the run"
    assert unmapped.loc[since, ["customer_id", "vendor", "lines", "cost"]].tolist() == [
        "C002",
        "aws",
        -62,
        D("-9.9079999992"),
    ]


def _journal_rows(path: Path, currency: str, accounts: set[str] | None = None) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            r
            for r in csv.DictReader(fh)
            if r["currency"] == currency and (accounts is None or r["account"] in accounts)
        ]


def _booked(rows: list[dict]) -> Decimal:
    return sum((D(r["debit"] or 0) - D(r["credit"] or 0) for r in rows), D(0))


def test_a_reissue_moves_the_cost_the_run_billed_to_nobody_to_cost_of_sales(
    reissued_with_sandbox, tmp_path
):
    """The run left AWS account poc-sandbox-ams unmapped: its purchase entry booked the 62 lines'
    USD 9.91 on 7095 "Vendor cost not billed to customers". accounts.csv corrected, the invoice
    replacing NW2026-000002 bills them to C002 and the margin analysis counts their cost on C002,
    but the books kept it on 7095: cost of sales short by it, the unbilled cost overstated. The
    reissue's journal now moves it (PURCH, dated the issue date): 7095 credited, the product
    group's cost account debited with the cost the new invoice carries for them, so that the
    books' cost of sales is the invoices' and 7095 what the analysis still lists billed to no
    one. Credited and reissued again, the cost is not moved a second time."""
    # accounts.csv corrected (_map_sandbox), NW2026-000002 reissued: the module's shared reissue
    outputs, done = reissued_with_sandbox.copy(tmp_path / "outputs")
    corrected = reissued_with_sandbox.parameters  # read only
    journal = done.folder / f"journal_{done.invoice.number}.csv"
    run_journal = outputs / PERIOD / f"journal_{PERIOD}.csv"
    moved = [r for r in _journal_rows(journal, "USD") if r["journal"] == "PURCH"]
    assert {(r["date"], r["entry_id"]) for r in moved} == {
        ("2026-12-04", "COST-NW2026-000010-aws-USD")
    }
    assert _booked(moved) == 0
    assert _booked([r for r in moved if r["account"] == "7095"]) == D("-9.91")
    # cost of sales: what the new invoice's lines cost less what the run booked for C002's
    invoicing = load_settings(corrected).invoicing
    con = duckdb.connect()

    def cost(path: Path) -> Decimal:
        con.execute(f"CREATE OR REPLACE VIEW rated_lines AS SELECT * FROM read_parquet('{path}')")
        rows = cost_entries.rated_costs(con, PERIOD, ["C002"], invoicing)
        return sum((r[3] for r in rows if r[1] == "USD"), D(0))

    more = cost(done.folder / "rated_lines.parquet") - cost(
        outputs / PERIOD / "rated_lines.parquet"
    )
    con.close()
    assert more > 0
    assert _booked([r for r in moved if r["account"] == "7010"]) == more
    # the books' unbilled cost (USD) is what the analysis lists, each posting rounded
    unbilled = analysis.unbilled_cost(outputs, [PERIOD])
    listed = unbilled[unbilled["vendor_currency"] == "USD"]["cost"]
    books = _booked(_journal_rows(run_journal, "USD", {"7095"})) + _booked(
        _journal_rows(journal, "USD", {"7095"})
    )
    assert abs(books - sum(listed, D(0))) < D("0.01")
    assert books == _booked(_journal_rows(run_journal, "USD", {"7095"})) - D("9.91")
    ledger_file = done.folder / f"ledger_{done.invoice.number}.beancount"
    assert subprocess.run([BEAN_CHECK, str(ledger_file)], capture_output=True).returncode == 0
    assert "COST-NW2026-000010-aws-USD" in ledger_file.read_text(encoding="utf-8")
    # the packages' files book it too (QuickBooks shortens the id to 21 characters)
    quickbooks = (done.folder / f"quickbooks_journal_{done.invoice.number}.csv").read_text()
    assert "Vendor cost not billed to customers" in quickbooks
    # the reissued invoice credited: the credit note reverses its sale and its cost moved, so
    # the books are as the run booked them, as the analysis reads the month again
    note = issue_credit_note(outputs, done.invoice.number, REISSUED, "again")
    credit = note.folder / f"journal_{note.note.number}.csv"
    back = [r for r in _journal_rows(credit, "USD") if r["journal"] == "PURCH"]
    assert {r["entry_id"] for r in back} == {"COST-NWC2026-000002-aws-USD"}
    assert {r["account"]: _booked([r]) for r in back} == {
        r["account"]: -_booked([r]) for r in moved
    }
    unbilled = analysis.unbilled_cost(outputs, [PERIOD])
    listed = sum(unbilled[unbilled["vendor_currency"] == "USD"]["cost"], D(0))
    books = sum(
        (_booked(_journal_rows(f, "USD", {"7095"})) for f in (run_journal, journal, credit)), D(0)
    )
    assert abs(books - listed) < D("0.01")
    bean = note.folder / f"ledger_{note.note.number}.beancount"
    assert "COST-NWC2026-000002-aws-USD" in bean.read_text(encoding="utf-8")
    xero = (note.folder / f"xero_manual_journal_{note.note.number}_EUR.csv").read_text()
    assert "reverses COST-NW2026-000010-aws-USD" in xero
    assert "(USD 9.91 at 0.9187)" in xero and "(USD -9.91 at 0.9187)" in xero
    quickbooks = (note.folder / f"quickbooks_journal_{note.note.number}.csv").read_text()
    assert "Vendor cost not billed to customers" in quickbooks
    # and reissued again: moved again, once in all
    again = reissue_invoice(outputs, done.invoice.number, corrected, REPORTS, REISSUED)
    second = again.folder / f"journal_{again.invoice.number}.csv"
    assert _booked(_journal_rows(second, "USD", {"7095"})) == D("-9.91")
    assert sum(
        (_booked(_journal_rows(f, "USD", {"7095"})) for f in (journal, credit, second)), D(0)
    ) == D("-9.91")


def test_a_reissue_moves_the_cost_of_lines_whose_product_group_it_corrects(outputs, corrected):
    """The enterprise plan's Azure rule corrected to its own product group (Microsoft Azure,
    revenue 8030, cost 7030; it billed them under Microsoft, 8020 and 7020): the new invoice
    books C002's Azure revenue on 8030, but their cost stayed on 7020 where the run booked it,
    so the books' gross margin per product group was not the invoices'. The reissue's journal
    moves the cost of those lines (the new invoice's cost of them, rounded per invoice line)
    from 7020 to 7030; nothing to or from 7095, whose lines are as the run booked them."""
    plans = corrected / "price_plans.yaml"
    text = plans.read_text(encoding="utf-8")
    old = "{id: azure, kind: markup, percent: 7, match: {vendor: microsoft, publisher: Microsoft}}"
    assert old in text
    plans.write_text(
        text.replace(old, old.replace("percent: 7,", "percent: 7, product_group: azure,")),
        encoding="utf-8",
    )
    done = reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    assert "Microsoft Azure" in {ln.heading for ln in done.invoice.lines}
    azure = sum((ln.cost for ln in done.invoice.lines if ln.product_group == "azure"), D(0))
    assert azure > 0
    journal = done.folder / f"journal_{done.invoice.number}.csv"
    moved = [r for r in _journal_rows(journal, "EUR") if r["journal"] == "PURCH"]
    assert {r["entry_id"] for r in moved} == {"COST-NW2026-000010-microsoft-EUR"}
    assert {r["account"]: _booked([r]) for r in moved} == {"7030": azure, "7020": -azure}
    assert _journal_rows(journal, "USD") == []  # AWS: as the run booked it


@pytest.mark.slow  # three billings of the month (a module scheduled early)
def test_a_reissued_invoice_is_credited_and_reissued_again_and_the_register_rebuilt(
    outputs, reissued, tmp_path
):
    def left() -> list[tuple[str, str]]:
        """Next month's review: October's invoices credited and not replaced."""
        entries = open_register(outputs / "invoice_register.sqlite").entries()
        return [(f.subject, f.finding) for f in review.credited_not_replaced(PERIOD, entries)]

    assert left() == [
        (
            "C002",
            "NW2026-000002 of 2026-10 was cancelled by credit note NWC2026-000001 on 2026-12-03 "
            "and no invoice replaces it: 2026-10 bills C002 nothing for it. If something is owed: "
            "billing reissue --invoice NW2026-000002",
        )
    ]
    # NW2026-000002 reissued (the module's shared reissue): ``outputs`` is now a copy of it
    outputs, first = reissued.copy(tmp_path / "reissued")
    corrected = reissued.parameters  # read only
    assert left() == []
    note = issue_credit_note(outputs, first.invoice.number, date(2026, 12, 5), "VAT number")
    assert [subject for subject, _ in left()] == ["C002"]
    assert (note.note.number, note.note.refers_to, note.note.gross) == (
        "NWC2026-000002",
        "NW2026-000010",
        D("-6777.56"),
    )
    second = reissue_invoice(outputs, "NW2026-000010", corrected, REPORTS, date(2026, 12, 5))
    assert (second.invoice.number, second.credit_note, second.invoice.gross) == (
        "NW2026-000011",
        "NWC2026-000002",
        D("6777.56"),
    )
    assert previous_net(outputs, PERIOD)[("C002", "EUR")] == D("5601.29")
    assert left() == []
    check_register_knows_folders(outputs)
    said = register_rows(outputs)
    (outputs / "invoice_register.sqlite").unlink()
    with pytest.raises(RunError, match="corrections/NW2026-000011/: invoice NW2026-000011"):
        check_register_knows_folders(outputs)
    done = rebuild_register(outputs)
    assert done[0].endswith(
        "from 1 run folders, 2 credit notes and 2 reissued invoices (finalised: 2026-10)"
    )
    assert register_rows(outputs) == said
    with pytest.raises(RunError, match="already replaced by invoice NW2026-000011"):
        reissue_invoice(outputs, "NW2026-000010", corrected, REPORTS, date(2026, 12, 6))


# -- refused, with nothing issued ------------------------------------------------------------------


def test_an_invoice_without_a_credit_note_is_refused(outputs, corrected):
    before = register_rows(outputs)
    with pytest.raises(RunError, match="NW2026-000003 has no credit note.*billing credit-note"):
        reissue_invoice(outputs, "NW2026-000003", corrected, REPORTS, REISSUED)
    assert_nothing_reissued(outputs, before)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("NW2026-000099", "unknown: the register has no such number"),
        ("NWC2026-000001", "a credit note, not an invoice"),
    ],
)
def test_a_number_that_is_no_invoice_is_refused(outputs, corrected, number, message):
    before = register_rows(outputs)
    with pytest.raises(RunError, match=message):
        reissue_invoice(outputs, number, corrected, REPORTS, REISSUED)
    assert_nothing_reissued(outputs, before)


def test_other_reports_than_the_run_read_are_refused_naming_each(outputs, corrected, tmp_path):
    reports = Path(shutil.copytree(REPORTS, tmp_path / "reports"))
    vmware = next(reports.glob("vmware-*.csv"))
    vmware.write_bytes(vmware.read_bytes() + b"\n")
    (reports / "ms-invoice-reconciliation-G052026103.csv").unlink()
    before = register_rows(outputs)
    with pytest.raises(RunError) as raised:
        reissue_invoice(outputs, ORIGINAL, corrected, reports, REISSUED)
    message = str(raised.value)
    assert f"{reports}: not the reports NW2026-000002 was billed from" in message
    assert "ms-invoice-reconciliation-G052026103.csv: missing" in message
    assert f"{vmware.name}: differs from the file that run read" in message
    # a vendor's corrected report: the way to bill it is named (it was "nothing was issued" alone)
    assert message.endswith(
        "\nA report the vendor corrected after the month was finalised is not billed by a "
        "reissue (it changes other customers' months too): put back the file the run read, and "
        "bill the difference in a later month as custom lines (one-offs or credits in "
        "custom_lines.yaml)"
    ), message
    assert_nothing_reissued(outputs, before)


def test_a_report_changed_while_the_reissue_reads_it_is_refused(
    outputs, corrected, tmp_path, monkeypatch
):
    """The reports checked against the finalised run's, then a report written into the folder
    (a sync) before the reissue imported them: the invoice billed other bytes than the run read,
    and its manifest recorded those of the folder when it was written. Compared again with what
    the import read, it is refused naming the file; no folder is written, no number taken."""
    reports = Path(shutil.copytree(REPORTS, tmp_path / "reports"))
    vmware = next(reports.glob("vmware-*.csv"))
    importing = run.BillingRun.import_reports

    def written_meanwhile(br: run.BillingRun):  # checked already, not imported yet
        vmware.write_bytes(vmware.read_bytes() + b"\n")
        return importing(br)

    monkeypatch.setattr(run.BillingRun, "import_reports", written_meanwhile)
    before = register_rows(outputs)
    with pytest.raises(InputError) as raised:
        reissue_invoice(outputs, ORIGINAL, corrected, reports, REISSUED)
    message = str(raised.value)
    assert message.startswith(f"{vmware}: changed since the run's parameters were checked"), message
    assert_nothing_reissued(outputs, before)


def test_the_credited_invoice_s_files_lost_or_changed_since_are_refused(outputs, corrected):
    """The run's rated lines (what the new invoice's lines are compared with) lost, or its
    invoices changed: named, nothing issued (a DuckDB traceback before)."""
    before = register_rows(outputs)
    rated = outputs / PERIOD / "rated_lines.parquet"
    rated.rename(rated.with_suffix(".bak"))
    with pytest.raises(RunError, match=r"rated_lines.parquet: missing"):
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    rated.with_suffix(".bak").rename(rated)
    data = outputs / PERIOD / "invoices.json"
    data.write_text(data.read_text(encoding="utf-8").replace("6898.56", "6898.57"))
    with pytest.raises(RunError) as raised:
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    assert str(raised.value).startswith(
        f"{outputs / PERIOD}: not as it was published, so NW2026-000002 cannot be replaced"
    )
    assert "invoices.json: changed since the run" in str(raised.value)
    assert_nothing_reissued(outputs, before)


def test_a_date_before_the_credit_note_is_refused(outputs, corrected):
    before = register_rows(outputs)
    with pytest.raises(RunError, match="cancelled by credit note NWC2026-000001 on 2026-12-03"):
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, date(2026, 12, 2))
    assert_nothing_reissued(outputs, before)


def test_the_run_s_parameters_folder_gone_is_refused_naming_it(outputs):
    """The sample run was billed with a copy of the parameters, removed since (conftest)."""
    before = register_rows(outputs)
    with pytest.raises(BillingError, match="no such parameters folder"):
        reissue_invoice(outputs, ORIGINAL, None, REPORTS, REISSUED)
    assert_nothing_reissued(outputs, before)


@pytest.mark.parametrize("given", ["missing", "reports"])
def test_a_parameters_folder_given_wrong_is_named_by_the_reissue_option(
    outputs, tmp_path, capsys, given
):
    """``billing reissue --parameters`` given a folder that does not exist named the notebook's
    parameter ("billing_run parameters, entry parameters"), and given the reports folder said
    only "customers.yaml: file not found". Both name the option; nothing is reissued."""
    folder = tmp_path / "nothere" if given == "missing" else REPORTS
    before = register_rows(outputs)
    argv = ["reissue", "--output", str(outputs), "--invoice", ORIGINAL, "--parameters"]
    assert cli.main([*argv, str(folder), "--issue-date", "2026-12-04"]) == 2
    err = capsys.readouterr().err
    expected = "no such parameters folder" if given == "missing" else "holds vendor reports ("
    assert err.startswith(f"error: billing reissue, entry --parameters: {folder}: {expected}"), err
    assert_nothing_reissued(outputs, before)


def test_an_issue_date_a_year_ahead_is_named_by_the_reissue_option(outputs, capsys):
    """``billing reissue --issue-date 2027-12-04`` (the year mistyped) was refused as "billing_run
    parameters, entry issue_date", the notebook's parameter; the option is named."""
    before = register_rows(outputs)
    argv = ["reissue", "--output", str(outputs), "--invoice", ORIGINAL, "--issue-date"]
    ahead = (date.today() + timedelta(days=365)).isoformat()
    assert cli.main([*argv, ahead]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: billing reissue, entry --issue-date: {ahead} is 365 days"), err
    assert_nothing_reissued(outputs, before)


def _without_c002(parameters: Path) -> None:
    """C002 taken out of ``parameters`` (customers.yaml, accounts.csv, its fee)."""
    customers = parameters / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    start = text.index("  - id: C002")
    customers.write_text(text[:start] + text[text.index("  - id: C003") :], encoding="utf-8")
    accounts = parameters / "accounts.csv"
    kept = [ln for ln in accounts.read_text().splitlines(keepends=True) if ",C002," not in ln]
    accounts.write_text("".join(kept))
    lines = parameters / "custom_lines.yaml"
    text = lines.read_text(encoding="utf-8")
    start = text.index("  - {id: c002-managed-services")
    lines.write_text(text[:start] + text[text.index("  - {id: c008-support") :])


def test_a_crash_while_writing_leaves_no_folder_and_no_number(outputs, corrected):
    before = register_rows(outputs)

    def crash(staging: Path) -> None:
        assert (staging / "invoices.json").is_file()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED, before_publish=crash)
    assert_nothing_reissued(outputs, before)
    # the number is free: the next reissue gets it (the register, not changed, says so)
    register = open_register(outputs / "invoice_register.sqlite")
    assert register.reissue_number("NW2026", ORIGINAL) == ("NW2026-000010", "NWC2026-000001")
    assert register.replacements_of(ORIGINAL) == []


def test_a_corrections_folder_that_cannot_be_written_is_named_by_the_command(
    outputs, corrected, capsys
):
    """``corrections/`` read-only (a full disk alike): ``billing reissue`` ended in a
    PermissionError's traceback, exit status 1. It names the folder the invoice would be in and
    the way out; no number is used."""
    before = register_rows(outputs)
    command = [
        "reissue",
        *("--output", str(outputs), "--invoice", ORIGINAL, "--issue-date", REISSUED.isoformat()),
        *("--parameters", str(corrected), "--reports", str(REPORTS)),
    ]
    capsys.readouterr()
    with read_only(outputs / "corrections"):
        assert cli.main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {outputs / 'corrections' / 'NW2026-000010'}: the folder cannot be written "
        "(read-only or no permission)"
    ), err
    assert "Nothing was issued; no credit note or invoice number was used" in err
    assert_nothing_reissued(outputs, before)


def test_the_margin_analysis_and_the_review_read_the_month_as_billed_now(
    finalised_sample_outputs, outputs, corrected
):
    """Credited, C002's lines of the run earn nothing in the margin summary, and next month's
    review ("custom line not billed") finds its fee billed in no month; reissued with a
    goodwill credit added for October, the new invoice's lines are in the summary (the what-if
    re-prices those) and the fee and the credit are billed; the customer is named as the new
    invoice names it (its name corrected with the reissue: it was the credited invoice's)."""
    customers = corrected / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    customers.write_text(text.replace("Van Leeuwen Logistiek B.V.", "Van Leeuwen Logistics B.V."))
    lines = corrected / "custom_lines.yaml"
    lines.write_text(
        lines.read_text(encoding="utf-8")
        + "  - {id: c002-goodwill, customer: C002, kind: credit, description: Goodwill,\n"
        '     unit_price: "25.00", currency: EUR, date: 2026-10-20}\n',
        encoding="utf-8",
    )
    custom = load_settings(corrected).pricing.custom_lines
    con = duckdb.connect()

    def not_billed() -> list[str]:
        return [
            f.subject
            for f in review.custom_lines_not_billed(
                con, custom, outputs, "2026-11", "rated_lines.parquet"
            )
        ]

    sums = {
        "amount": lambda s: s.loc[s["customer_id"] == "C002", "amount"].sum(),
        "lines": lambda s: s.loc[s["customer_id"] == "C002", "lines"].sum(),
    }
    run = analysis.load_summary(finalised_sample_outputs, [PERIOD])
    assert sums["amount"](run) == D("5701.29")  # the invoice's net (docs/rounding.md)
    credited = analysis.load_summary(outputs, [PERIOD])
    assert sums["amount"](credited) == 0  # its cost stays (test_a_credited_invoice_not_reiss...)
    assert not_billed() == ["c002-managed-services (C002)", "c002-goodwill (C002)"]
    gone = analysis.revenue_against_invoices(outputs, credited).set_index("customer_id")
    assert (gone.loc["C002", "revenue"], gone.loc["C002", "invoiced"]) == (0, 0)  # credited

    done = reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    assert {ln.description: ln.amount for ln in done.invoice.lines}["Goodwill"] == D("-25.00")
    assert not_billed() == []
    con.close()
    billed = analysis.load_summary(outputs, [PERIOD])
    assert sums["amount"](billed) == done.invoice.net
    assert sums["amount"](billed) == sums["amount"](run) - 100 - 25
    assert sums["lines"](billed) == sums["lines"](run) + 1  # the goodwill credit's line
    now = analysis.revenue_against_invoices(outputs, billed).set_index("customer_id")
    assert now.loc["C002", "invoiced"] == done.invoice.net  # the reissued invoice's
    assert done.invoice.buyer.name == "Van Leeuwen Logistics B.V."
    assert set(billed.loc[billed["customer_id"] == "C002", "customer_name"]) == {
        done.invoice.buyer.name
    }
    assert now.loc["C002", "customer_name"] == done.invoice.buyer.name
    assert now.loc["C002", "difference"] == 0
    repriced = analysis.repricer(outputs)(billed, "C002", D(10))
    fee = repriced[repriced["line_kind"] == "fee"]
    assert list(fee["amount"]) == [D("350")]


def test_a_custom_line_of_a_credited_invoice_is_named_with_it_not_as_entered_too_late(outputs):
    """NW2026-000002 credited and not reissued: its managed-services fee of October is billed in
    no month now. The review said "entered after that month was billed ... Bill it in 2026-11",
    though it was billed and its invoice cancelled; billed in November as told, the reissue the
    "credited, not replaced" finding asks for billed it in October again, twice in all. It
    names the invoice and the credit note now, and the reissue as the way to bill it."""
    custom = load_settings(REPO / "parameters").pricing.custom_lines
    with duckdb.connect() as con:
        found = review.custom_lines_not_billed(
            con, custom, outputs, "2026-11", "rated_lines.parquet"
        )
    assert [(f.subject, f.finding) for f in found] == [
        (
            "c002-managed-services (C002)",
            "fee of EUR 450.00 in 2026-10 was on invoice NW2026-000002, which credit note "
            "NWC2026-000001 cancelled, and no invoice replaces it: it is billed in no month. If "
            "it is owed, billing reissue --invoice NW2026-000002 bills it in its month (correct "
            "or remove it in custom_lines.yaml first if not); billed in 2026-11 instead, the "
            "reissue would bill it a second time",
        )
    ]


def _november_billing(outputs: Path, rule: str, text: str) -> None:
    """A published run of 2026-11 in ``outputs`` whose rated lines (every column of October's)
    bill C002 the one-off ``rule``: 2 hour x 120.00 described ``text`` (as an accountant copies
    a one-off of a credited October invoice into November)."""
    folder = outputs / "2026-11"
    folder.mkdir()
    (folder / "manifest.json").write_text(
        json.dumps({"period": "2026-11", "run_id": "0123456789abcdef", "invoices": []}),
        encoding="utf-8",
    )
    october = str(outputs / PERIOD / "rated_lines.parquet")
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * FROM read_parquet(?) WHERE false UNION ALL BY NAME "
            "SELECT 'C002' AS customer_id, 'one_off' AS line_kind, ? AS rule_id, "
            "? AS description, CAST(2 AS DECIMAL(38, 12)) AS quantity, "
            "CAST(240 AS DECIMAL(38, 12)) AS amount, 'EUR' AS currency, "
            "DATE '2026-11-05' AS charge_date, "
            "'2026-11' AS period) TO '"
            + str(folder / "rated_lines.parquet")
            + "' (FORMAT parquet)",
            [october, rule, text],
        )


def test_a_one_off_a_later_month_billed_after_the_credit_note_is_not_reissued_twice(
    outputs, corrected
):
    """NW2026-000002 credited, and its workshop of October (a one-off) billed in November's run
    under a new id, as the review told before (the invoice credited, not replaced): the reissue
    of October billed the workshop again, twice in all, and said "the same vendor lines and
    custom lines". Refused now, naming both, with nothing issued."""
    lines = corrected / "custom_lines.yaml"
    lines.write_text(
        lines.read_text(encoding="utf-8")
        + "  - {id: c002-workshop, customer: C002, kind: one_off,\n"
        "     description: Migration workshop,\n"
        '     quantity: 2, unit: hour, unit_price: "120.00", currency: EUR, date: 2026-10-20}\n',
        encoding="utf-8",
    )
    _november_billing(outputs, "c002-workshop-nov", "Migration  workshop")
    before = register_rows(outputs)
    with pytest.raises(RunError) as raised:
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    assert str(raised.value) == (
        "2026-10: the new invoices would bill one-offs or credits that a later month bills "
        "already, so nothing was issued:\n"
        "  - one-off c002-workshop of C002 ('Migration workshop', EUR 240.00) is billed by the "
        f"run of 2026-11 ({outputs / '2026-11'}) as c002-workshop-nov\n"
        "If it is the same charge, remove the 2026-10 entry from custom_lines.yaml and reissue; "
        "if it is a second charge, make the descriptions tell them apart"
    )
    assert_nothing_reissued(outputs, before)


def test_a_credited_invoice_not_reissued_keeps_its_cost_without_revenue(
    finalised_sample_outputs, credited_month
):
    """Credited and not (yet) reissued, C002's October earns nothing, but its vendor lines were
    bought: the finalised run's purchase entry booked their cost and the credit note reverses
    only the sale. The margin summary keeps that cost at revenue 0 (a loss of the month), not a
    customer gone with its cost; the other customers are as the run billed them."""
    run = analysis.load_summary(finalised_sample_outputs, [PERIOD])
    credited = analysis.load_summary(credited_month, [PERIOD])
    mine, theirs = (credited["customer_id"] == "C002"), (run["customer_id"] == "C002")
    assert credited.loc[mine, "cost"].sum() == run.loc[theirs, "cost"].sum() > 0
    assert set(credited.loc[mine, "amount"]) == {D(0)}
    assert credited.loc[mine, "lines"].sum() == run.loc[theirs, "lines"].sum()
    others = credited[~mine].drop(columns="customer_name").reset_index(drop=True)
    assert others.equals(run[~theirs].drop(columns="customer_name").reset_index(drop=True))
    loss = charts.summarise(credited, ["customer"]).set_index("customer")
    c002 = loss.loc["C002 Van Leeuwen Logistiek B.V."]
    assert (c002["revenue"], c002["margin"]) == (0, -c002["cost"])
    assert pd.isna(c002["margin_pct"])
    against = analysis.revenue_against_invoices(credited_month, credited).set_index("customer_id")
    assert (against.loc["C002", "revenue"], against.loc["C002", "invoiced"]) == (0, 0)


def test_the_what_if_invents_no_minimum_fee_for_a_credited_invoice(credited_month):
    """C002's October invoice cancelled and not reissued bills nothing now: the what-if's
    "now" (and its re-pricing) of that month is nothing too, not the whole VMware Cloud
    Director minimum topped up from no line (the run's minimum fees of a customer whose
    invoice a credit note cancelled are not in force for that month)."""
    chosen = pd.DataFrame({"period": [PERIOD], "customer_id": ["C002"]})
    reprice = analysis.repricer(credited_month)
    for markup in (None, D(10)):
        repriced = reprice(chosen, "C002", markup)
        assert repriced.empty, repriced[["line_kind", "description", "amount"]]


def test_the_explorer_names_the_credit_note_of_a_month_with_nothing_to_reprice(credited_month):
    """Choosing C002, whose October invoice a credit note cancelled and none replaced, the
    what-if said "no lines selected" (its summary rows, at revenue 0, are selected): it names
    the invoice and the credit note instead."""
    summary = analysis.load_summary(credited_month, [PERIOD])
    explorer = MarginExplorer(summary, analysis.repricer(credited_month), D(10))
    explorer.what_if_customer.value = "C002"
    assert explorer.comparison.empty and explorer.what_if_area.outputs == ()
    assert explorer.what_if_text.value == (
        "C002 in 2026-10: invoice NW2026-000002 was cancelled by credit note NWC2026-000001 and "
        "not reissued, so nothing of that month is billed now to re-price (its vendor cost "
        "stays in the summary, at revenue 0)"
    )
    assert analysis.credited_not_replaced(credited_month, PERIOD, "C001") is None


def test_the_what_if_tops_up_the_minimum_fees_the_reissued_invoice_was_billed_with(
    outputs, corrected
):
    """Reissued with its own VMware Cloud Director minimum of 1000.00 (the plan's 60.00 before),
    C002's month as billed now is topped up to 1000.00; the margin notebook's what-if re-prices
    it with that minimum, not the one of the run its invoice was credited from."""
    plans = corrected / "price_plans.yaml"
    text = plans.read_text(encoding="utf-8")
    old = "      - {id: other, kind: pass_through}\n"
    assert text.count(old) == 1
    plans.write_text(
        text.replace(
            old,
            '      - {id: c002-vcd-minimum, kind: minimum_fee, amount: "1000.00", currency: EUR,\n'
            "         match: {customer: C002, vendor: vmware, service: VMware Cloud Director}}\n"
            + old,
        ),
        encoding="utf-8",
    )
    done = reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    billed = {ln.description: ln.amount for ln in done.invoice.lines}
    assert any("minimum EUR 1,000.00" in text for text in billed), billed
    summary = analysis.load_summary(outputs, [PERIOD])
    repriced = analysis.repricer(outputs)(summary, "C002", D(0))
    top_ups = repriced[repriced["line_kind"] == "minimum"]
    assert list(top_ups["rule_id"]) == ["c002-vcd-minimum"]
    assert "minimum EUR 1,000.00" in top_ups["description"].iloc[0]


# -- several invoices of a month at once -----------------------------------------------------------


@pytest.mark.slow  # three billings of the month (a module scheduled early)
def test_several_invoices_of_a_month_are_reissued_from_one_rating(outputs, corrected, monkeypatch):
    from billing_lib import run

    issue_credit_note(outputs, "NW2026-000003", CREDITED, "Wrong plan")
    rated = []
    rate = run.BillingRun.rate
    monkeypatch.setattr(run.BillingRun, "rate", lambda br: rated.append(1) or rate(br))
    done = reissue_invoices(
        outputs, [ORIGINAL, "NW2026-000003"], corrected, REPORTS, REISSUED, "Plan corrected"
    )
    assert len(rated) == 1  # the month imported and rated once for both
    assert [(d.invoice.number, d.replaces.number, d.credit_note) for d in done] == [
        ("NW2026-000010", ORIGINAL, "NWC2026-000001"),
        ("NW2026-000011", "NW2026-000003", "NWC2026-000002"),
    ]
    assert [d.invoice.customer_id for d in done] == ["C002", "C003"]
    assert done[1].invoice.gross == done[1].replaces.gross  # C003's parameters did not change
    for d in done:
        assert (d.folder / "invoices.json").is_file() and d.moved_lines == ()
        assert read_invoice_data(d.folder / "invoices.json")[1] == {d.invoice.number: d.invoice}
    check_register_knows_folders(outputs)
    assert [r[0] for r in register_rows(outputs) if r[4]] == [
        "NW2026-000010",
        "NW2026-000011",
        "NWC2026-000001",
        "NWC2026-000002",
    ]


def test_a_batch_is_checked_whole_before_any_invoice_is_issued(outputs, corrected):
    before = register_rows(outputs)
    with pytest.raises(RunError, match="NW2026-000004 has no credit note"):
        reissue_invoices(outputs, [ORIGINAL, "NW2026-000004"], corrected, REPORTS, REISSUED)
    assert_nothing_reissued(outputs, before)
    with pytest.raises(RunError, match="give each invoice to replace once"):
        reissue_invoices(outputs, [ORIGINAL, ORIGINAL], corrected, REPORTS, REISSUED)
    assert_nothing_reissued(outputs, before)
    # C003 would bill; C002, taken out of the parameters, has nothing: neither is issued
    issue_credit_note(outputs, "NW2026-000003", CREDITED, "Wrong plan")
    before = register_rows(outputs)
    _without_c002(corrected)
    with pytest.raises(RunError, match="C002 has no rated lines in 2026-10"):
        reissue_invoices(outputs, ["NW2026-000003", ORIGINAL], corrected, REPORTS, REISSUED)
    assert register_rows(outputs) == before
    assert sorted(p.name for p in (outputs / "corrections").iterdir()) == [
        "NWC2026-000001",
        "NWC2026-000002",
    ]


def test_a_reason_typed_over_several_lines_reads_as_one_line_in_every_document(outputs, corrected):
    """``--reason`` pasted with a line break and a tab went onto the new invoice as it came: the
    PDF drew boxes for them, the e-invoice's note held them. It reads as one line everywhere."""
    done = reissue_invoice(
        outputs, ORIGINAL, corrected, REPORTS, REISSUED, "Managed services\n\tat 350.00\r\n"
    )
    reason = "Reason: Managed services at 350.00"
    [pdf] = [f for f in done.files if f.suffix == ".pdf"]
    assert f"{reason}\n" in " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    [xml] = [f for f in done.files if f.suffix == ".xml"]
    [note] = etree.parse(str(xml)).xpath("/*/cbc:Note/text()", namespaces={"cbc": CBC})
    assert note.endswith(reason)
    [row] = [r for r in register_rows(outputs) if r[0] == done.invoice.number]
    assert row[-1].endswith(reason), row


def test_the_command_says_when_the_new_invoice_s_pdf_cannot_draw_a_character(
    outputs, corrected, capsys
):
    """C002 renamed with its name in Chinese beside it since the run: the new invoice's PDF
    prints empty boxes for it, which a run lists among its warnings and the command did not."""
    customers = corrected / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    customers.write_text(
        text.replace("name: Van Leeuwen Logistiek B.V.", "name: Van Leeuwen Logistiek B.V. 物流"),
        encoding="utf-8",
    )
    argv = ["reissue", "--output", str(outputs), "--invoice", ORIGINAL]
    code = cli.main([*argv, "--parameters", str(corrected), "--issue-date", "2026-12-04"])
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "  warning: NW2026-000010 (C002): the PDF's font (DejaVu Sans: Latin, Greek, Cyrillic) "
        "has no glyph for 物 流 (in 'Van Leeuwen Logistiek B.V. 物流')"
    ) in out, out


def test_the_buyer_s_name_and_vat_number_changed_since_the_invoice_are_listed(
    outputs, corrected, capsys
):
    """customers.yaml edited since NW2026-000002: C002's name and VAT number (a correction, or a
    careless edit: another company's number pasted in). The new invoice carries them, as it
    should, but the command said nothing of it, where it lists the vendor and custom lines an
    edit of accounts.csv or custom_lines.yaml moved; a wrong VAT number went out unseen. The
    buyer's fields not as on the invoice replaced are printed and recorded in the manifest."""
    customers = corrected / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    assert "name: Van Leeuwen Logistiek B.V." in text and "NL823456730B01" in text
    customers.write_text(
        text.replace(
            "name: Van Leeuwen Logistiek B.V.", "name: Van Leeuwen Logistics B.V."
        ).replace("NL823456730B01", "NL823456717B01"),
        encoding="utf-8",
    )
    argv = ["reissue", "--output", str(outputs), "--invoice", ORIGINAL]
    code = cli.main([*argv, "--parameters", str(corrected), "--issue-date", "2026-12-04"])
    printed = capsys.readouterr().out
    assert code == 0
    changed = [
        "name: 'Van Leeuwen Logistiek B.V.' -> 'Van Leeuwen Logistics B.V.'",
        "address: 'Havenweg 8, 3089 JR Rotterdam' -> 'Havenweg 10, 3089 JR Rotterdam'",
        "vat_number: 'NL823456730B01' -> 'NL823456717B01'",
    ]
    assert (
        "  the buyer not as on NW2026-000002 (check customers.yaml if not meant):\n"
        + "".join(f"    {c}\n" for c in changed)
    ) in printed, printed
    folder = outputs / "corrections" / "NW2026-000010"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["buyer_changed"] == changed
    [new] = read_invoice_data(folder / "invoices.json")[1].values()
    assert (new.buyer.name, new.buyer.vat_number) == (
        "Van Leeuwen Logistics B.V.",
        "NL823456717B01",
    )


def test_a_customer_taken_out_of_customers_yaml_is_named_as_what_to_restore(outputs, corrected):
    """C002 taken out of the parameters since its invoice (its customers.yaml entry, accounts
    and fee): the refusal said "Check accounts.csv and the price plans", not the customers.yaml
    entry that is missing."""
    before = register_rows(outputs)
    _without_c002(corrected)
    with pytest.raises(RunError) as refused:
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    text = str(refused.value)
    assert text.startswith("C002 has no rated lines in 2026-10"), text
    assert f"C002 is not in {corrected / 'customers.yaml'}" in text, text
    assert "restore its entry" in text, text
    assert_nothing_reissued(outputs, before)


def test_a_batch_failing_after_its_first_invoice_says_which_were_issued(
    outputs, corrected, monkeypatch, capsys
):
    """``billing reissue --invoice A --invoice B`` whose second invoice cannot be written (the
    disk full by then): the first stands, issued and recorded, and the command said only
    "Nothing was issued; no credit note or invoice number was used". It names what was issued
    and what to give again."""
    issue_credit_note(outputs, "NW2026-000003", CREDITED, "Wrong plan")
    write = reissue_billing.write_csv_journal
    calls = []

    def full_after_the_first(*args, **kwargs):
        calls.append(args)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(args[-1]))
        return write(*args, **kwargs)

    monkeypatch.setattr(reissue_billing, "write_csv_journal", full_after_the_first)
    given = ["--invoice", ORIGINAL, "--invoice", "NW2026-000003"]
    code = cli.main(
        ["reissue", "--output", str(outputs), *given, "--parameters", str(corrected)]
        + ["--reports", str(REPORTS), "--issue-date", REISSUED.isoformat()]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Nothing was issued" not in err, err
    assert (
        f"invoice NW2026-000010 was issued replacing invoice {ORIGINAL} in "
        f"{outputs / 'corrections' / 'NW2026-000010'} before this failure" in err
    ), err
    assert "not for NW2026-000003: give it again (billing reissue --invoice NW2026-000003" in (
        err
    ), err
    monkeypatch.undo()
    again = reissue_invoice(outputs, "NW2026-000003", corrected, REPORTS, REISSUED)
    assert again.invoice.number == "NW2026-000011"  # no number lost


@pytest.mark.slow  # three billings of the month (a module scheduled early)
def test_a_line_an_edit_moved_here_from_an_invoice_that_stands_is_refused(outputs, corrected):
    """accounts.csv gives C001's AWS account to C002: C002's new invoice would bill lines that
    NW2026-000001 (C001, not credited) bills too. Refused; with NW2026-000001 credited and both
    reissued at once, each line is billed once."""
    accounts = corrected / "accounts.csv"
    text = accounts.read_text(encoding="utf-8")
    assert "aws,402719385610,C001," in text
    accounts.write_text(text.replace("aws,402719385610,C001,", "aws,402719385610,C002,"))
    before = register_rows(outputs)
    with pytest.raises(RunError) as raised:
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    message = str(raised.value)
    assert "vendor lines of C002's new invoice are on NW2026-000001 (C001), which stands" in message
    assert "credit NW2026-000001 too and reissue them in the same command" in message
    assert_nothing_reissued(outputs, before)
    issue_credit_note(outputs, "NW2026-000001", CREDITED, "AWS account is C002's")
    c002, c001 = reissue_invoices(
        outputs, [ORIGINAL, "NW2026-000001"], corrected, REPORTS, REISSUED
    )
    con = duckdb.connect()
    sql = "SELECT count(*) FROM read_parquet(?) WHERE customer_id = ? AND vendor = 'aws'"
    (then,) = con.execute(sql, [str(outputs / PERIOD / "rated_lines.parquet"), "C001"]).fetchone()
    (now,) = con.execute(sql, [str(c001.folder / "rated_lines.parquet"), "C001"]).fetchone()
    con.close()
    assert then > now
    assert c001.moved_lines[0].startswith(f"aws: {then - now} vendor lines")
    assert c001.moved_lines[0].endswith("billed on NW2026-000001 and not now")
    assert any(t.endswith("billed now and not on NW2026-000002") for t in c002.moved_lines)


@pytest.mark.slow  # three billings of the month (a module scheduled early)
def test_a_custom_line_an_edit_moved_here_from_an_invoice_that_stands_is_refused(
    outputs, corrected
):
    """custom_lines.yaml gives C001's fee c001-management to C002: C002's new invoice would bill
    the fee that NW2026-000001 (C001, not credited) bills too. Refused; with NW2026-000001
    credited and both reissued at once, the fee is billed once, and each reissue lists it."""
    lines = corrected / "custom_lines.yaml"
    text = lines.read_text(encoding="utf-8")
    assert "{id: c001-management, customer: C001," in text
    lines.write_text(
        text.replace(
            "{id: c001-management, customer: C001,", "{id: c001-management, customer: C002,"
        )
    )
    before = register_rows(outputs)
    with pytest.raises(RunError) as raised:
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    message = str(raised.value)
    assert (
        "custom line c001-management of C002's new invoice is on NW2026-000001 (C001), which stands"
    ) in message
    assert "credit NW2026-000001 too and reissue them in the same command" in message
    assert "custom_lines.yaml" in message
    assert_nothing_reissued(outputs, before)
    issue_credit_note(outputs, "NW2026-000001", CREDITED, "Management fee is C002's")
    c002, c001 = reissue_invoices(
        outputs, [ORIGINAL, "NW2026-000001"], corrected, REPORTS, REISSUED
    )
    fee = "Cloud management (render farm) (2026-10-16 to 2026-10-31: 16 of 31 days)"
    assert fee in [ln.description for ln in c002.invoice.lines]
    assert fee not in [ln.description for ln in c001.invoice.lines]
    assert c001.moved_lines == (
        f"custom line c001-management ({fee}): EUR 80.00, billed on NW2026-000001 and not now",
    )
    assert (
        f"custom line c001-management ({fee}): EUR 80.00, billed now and not on NW2026-000002"
    ) in c002.moved_lines


def _summary_row(folder: Path, customer: str) -> dict[str, str]:
    with (folder / "invoice_summary.csv").open(encoding="utf-8") as fh:
        return next(r for r in csv.DictReader(fh) if r["customer_id"] == customer)


@pytest.mark.slow  # a month billed with VMware usage priced from the contract, and two ratings
def test_a_reissue_refuses_a_vendor_cost_other_than_the_run_booked(tmp_path):
    """The month's VMware usage priced from vendor_prices.yaml: a reissue after October's Flex
    Core price was changed would bill C002's cost and margin at today's contract price (cost
    5022.23 for 4818.71) while the run's journal booked October's. Refused naming the file and
    the lines; a price change from November on leaves October's cost as booked."""
    from billing_lib import run

    data = REPO / "tests" / "data" / "vmware-usage"
    reports = Path(shutil.copytree(REPORTS, tmp_path / "reports"))
    (reports / "vmware-usage-meter-customer-monthly-usage-2026-10.csv").unlink()
    shutil.copy(data / "customer-monthly-usage-2026-10.tsv", reports)
    params = Path(
        shutil.copytree(
            REPO / "parameters", tmp_path / "parameters", ignore=shutil.ignore_patterns("local")
        )
    )
    contract = (data / "vendor_prices.yaml").read_text(encoding="utf-8")
    prices = params / "vendor_prices.yaml"
    prices.write_text(contract, encoding="utf-8")
    out = tmp_path / "outputs"
    run.run_all(PERIOD, reports, params, out, finalise=True)
    issue_credit_note(out, ORIGINAL, CREDITED, "Reissued with its purchase order")
    before = register_rows(out)
    october = 'price: "0.8640", currency: EUR, valid_from: 2026-01-01, valid_to: 2026-10-31'
    assert october in contract
    prices.write_text(contract.replace(october, october.replace("0.8640", "1.5000")), "utf-8")
    with pytest.raises(RunError) as err:
        reissue_invoice(out, ORIGINAL, params, reports, REISSUED)
    message = str(err.value)
    assert message.startswith(f"{prices}: the vendor cost of {ORIGINAL}'s lines differs")
    # 64 cores x 5 points x 0.8640 then, x 1.5000 now
    assert "vmware: 1 vendor line costs EUR 276.48 on NW2026-000002 and EUR 480.00 now" in message
    assert "sha256" in message and "nothing was issued" in message
    assert register_rows(out) == before
    assert sorted(p.name for p in (out / "corrections").iterdir()) == ["NWC2026-000001"]
    # a new price from November on: October's cost is the run's
    november = 'price: "0.9000", currency: EUR, valid_from: 2026-11-01'
    prices.write_text(contract.replace(november, november.replace("0.9000", "1.5000")), "utf-8")
    done = reissue_invoice(out, ORIGINAL, params, reports, REISSUED)
    then = _summary_row(out / PERIOD, "C002")
    now = _summary_row(done.folder, "C002")
    assert now["cost_amount"] == then["cost_amount"]
    assert (now["net_amount"], now["margin_amount"]) == (then["net_amount"], then["margin_amount"])


def test_a_reissue_dated_before_the_last_number_of_its_series_is_refused(outputs, corrected):
    """The invoice replacing NW2026-000002 is numbered after NW2026-000010, which replaced
    NW2026-000004 on 2026-12-10: dated 2026-12-04 it would break the series' date order (a
    backdated reissue passed in silence)."""
    issue_credit_note(outputs, "NW2026-000004", CREDITED, "also wrong")
    [later] = reissue_invoices(outputs, ["NW2026-000004"], corrected, REPORTS, date(2026, 12, 10))
    assert later.invoice.number == "NW2026-000010"
    before, files = register_rows(outputs), snapshot(outputs / "corrections")
    with pytest.raises(
        RunError,
        match=r"replacing NW2026-000002 would be numbered in NW2026 after NW2026-000010, which is "
        r"dated 2026-12-10; it cannot be dated 2026-12-04",
    ):
        reissue_invoice(outputs, ORIGINAL, corrected, REPORTS, REISSUED)
    assert register_rows(outputs) == before
    assert snapshot(outputs / "corrections") == files


def test_a_reissued_invoice_whose_manifest_is_damaged_or_lost_is_named_and_rebuilt_as_an_invoice(
    reissued, tmp_path
):
    # its manifest.json cut short by a copy: every command said "credit note None (corrects
    # None) is not in the register" and sent the user to a rebuild, which refused the folder
    # as a credit note without its credit_note.json
    outputs, done = reissued.copy(tmp_path / "outputs")  # NW2026-000002 reissued
    number = done.invoice.number
    manifest = outputs / "corrections" / number / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:100])
    with pytest.raises(RunError) as err:
        check_register_knows_folders(outputs)
    assert str(err.value) == (
        f"{manifest}: cannot be read (damaged, or cut short by a copy), so whether the register "
        f"knows the number corrections/{number}/ holds cannot be checked; nothing was changed. "
        "Restore the file from a backup"
    )
    before = register_rows(outputs)
    (outputs / "invoice_register.sqlite").unlink()
    rebuilt = rebuild_register(outputs)
    assert rebuilt[0].endswith("1 credit notes and 1 reissued invoices (finalised: 2026-10)")
    assert register_rows(outputs) == before
    # lost, not damaged: the folder was skipped by every command and by the rebuild, which
    # dropped the number, and the next month's run issued it a second time
    manifest.unlink()
    with pytest.raises(RunError, match=r"manifest.json: missing \(deleted, or left out of a copy"):
        check_register_knows_folders(outputs)
    (outputs / "invoice_register.sqlite").unlink()
    rebuilt = rebuild_register(outputs)
    assert rebuilt[0].endswith("1 credit notes and 1 reissued invoices (finalised: 2026-10)")
    assert register_rows(outputs) == before
