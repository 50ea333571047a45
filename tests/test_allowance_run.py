"""docs/pricing.md's Azure allowance (``kind: allowance``) billed end to end on the sample month:
its line on the invoice as data, the workbook, the PDF, the UBL e-invoice (a negative line, valid
under EN 16931 and Peppol), the journal (its product group's revenue account) and the summary;
credited by a credit note and reissued at a corrected amount; and the margin notebook's what-if
stating the invoice's net to the cent."""

from __future__ import annotations

import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml

from billing_lib import analysis, charts
from billing_lib.corrections import issue_credit_note
from billing_lib.reissue import reissue_invoice
from billing_lib.ubl import CAC, CBC
from tests.invoice_readback import (
    pdf_words,
    revenue_booked,
    sheet_row,
    summary_net,
    ubl_findings,
    ubl_line,
    what_if_net,
)
from tests.notebook_project import PERIOD
from tests.test_sample_month_rating import REPORTS, billed_with_recipe, invoice_of

TEXT = "Azure included (EUR 50.00 a month, used EUR 47.46)"


@pytest.fixture(scope="module")
def billed(tmp_path_factory) -> tuple[Path, Path]:
    """(outputs, parameters): the sample month billed and finalised with the recipe."""
    return billed_with_recipe(tmp_path_factory.mktemp("allowance"), "azure-allowance")


def _invoice(folder: Path, customer: str = "C006"):
    return invoice_of(folder, customer)


def test_the_allowance_is_stated_on_every_document_of_the_invoice(billed):
    outputs, _ = billed
    folder = outputs / PERIOD
    inv = _invoice(folder)
    [line] = [ln for ln in inv.lines if ln.description == TEXT]
    assert line.amount == line.unrounded_amount == D("-47.46")
    assert (line.product_group, line.cost) == ("microsoft", D(0))
    assert inv.net == sum((ln.amount for ln in inv.lines), D(0))
    stem = folder / "invoices" / f"{inv.number}_C006"

    assert -47.46 in sheet_row(stem, lambda v: v == TEXT)
    text = pdf_words(stem)
    assert TEXT in text and "-47.46" in text

    el = ubl_line(stem, lambda name: name == TEXT)
    assert el.findtext(f"{{{CBC}}}LineExtensionAmount") == "-47.46"
    assert el.findtext(f"{{{CBC}}}InvoicedQuantity") == "-1"
    assert el.findtext(f"{{{CAC}}}Price/{{{CBC}}}PriceAmount") == "47.46"
    assert ubl_findings(stem) == []

    # the journal: the Microsoft revenue (8020) of the invoice is its Microsoft lines less it
    microsoft = sum((ln.amount for ln in inv.lines if ln.product_group == "microsoft"), D(0))
    assert revenue_booked(folder, "8020", inv.number) == microsoft
    assert summary_net(folder, "C006") == inv.net


def test_a_credit_note_cancels_the_allowance_and_a_reissue_gives_the_corrected_one(
    billed, tmp_path
):
    outputs = Path(shutil.copytree(billed[0], tmp_path / "outputs"))
    original = _invoice(outputs / PERIOD)
    selection = analysis.load_summary(outputs, [PERIOD])
    by_service = charts.summarise(selection, ["customer", "service"])
    [given] = by_service.loc[by_service["service"] == "allowances", "revenue"].tolist()
    assert given == D("-47.46")  # the margin summary names it (not a service called NaN)
    what_if = analysis.repricer(outputs)(selection, "C006", None)
    assert what_if_net(what_if) == original.net

    credited = issue_credit_note(outputs, original.number, reason="Allowance is 30.00")
    [back] = [ln for ln in credited.note.lines if ln.description == TEXT]
    assert back.amount == D("47.46")

    params = Path(shutil.copytree(billed[1], tmp_path / "parameters"))
    plans = params / "price_plans.yaml"
    data = yaml.safe_load(plans.read_text(encoding="utf-8"))
    [smb] = [p for p in data["plans"] if p["id"] == "smb"]
    [rule] = [r for r in smb["rules"] if r["kind"] == "allowance"]
    rule["amount"] = "30.00"
    plans.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    done = reissue_invoice(outputs, original.number, params, REPORTS, reason="30.00")
    changed = {ln.description: ln.amount for ln in done.invoice.lines}
    was = {ln.description: ln.amount for ln in original.lines}
    assert {k: v for k, v in changed.items() if was.get(k) != v} == {
        "Azure included (EUR 30.00 a month, used EUR 47.46)": D("-30.00")
    }
    assert done.invoice.net == original.net + D("47.46") - D("30.00")
    selection = analysis.load_summary(outputs, [PERIOD])
    what_if = analysis.repricer(outputs)(selection, "C006", None)
    assert what_if_net(what_if) == done.invoice.net
