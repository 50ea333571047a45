"""docs/pricing.md's management fee (``kind: percent_fee``) billed end to end on the sample month:
its line on the invoice as data, the workbook, the PDF, the UBL e-invoice, the journal (its
product group's revenue account) and the summary; credited by a credit note and reissued at a
corrected percent; and the margin notebook's what-if stating the invoice's net to the cent."""

from __future__ import annotations

import csv
import shutil
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml

from billing_lib import analysis, charts
from billing_lib.corrections import issue_credit_note
from billing_lib.reissue import reissue_invoice
from billing_lib.ubl import CBC
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

FEE = "Cloud management fee 10 % of EUR "
#: C006's vendor lines as its invoice prints them (AWS with its refund, Microsoft 365, Azure):
#: what the fee is 10 % of.
BASE = D("493.10")


@pytest.fixture(scope="module")
def billed(tmp_path_factory) -> tuple[Path, Path]:
    """(outputs, parameters): the sample month billed and finalised with the recipe's fee."""
    return billed_with_recipe(tmp_path_factory.mktemp("percent-fee"), "management-fee")


def _invoice(folder: Path, customer: str = "C006"):
    return invoice_of(folder, customer)


def _cents(x: D) -> D:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def test_the_fee_is_stated_on_every_document_of_the_invoice(billed):
    outputs, _ = billed
    folder = outputs / PERIOD
    inv = _invoice(folder)
    [fee] = [ln for ln in inv.lines if ln.description.startswith(FEE)]
    vendor = [ln for ln in inv.lines if ln.product_group in ("aws", "microsoft", "azure")]
    printed = sum((ln.amount for ln in vendor), D(0))
    assert fee.description == f"{FEE}{printed}" and printed == BASE
    assert fee.amount == fee.unrounded_amount == _cents(BASE / 10) == D("49.31")
    assert (fee.product_group, fee.heading, fee.cost) == (
        "managed_services",
        "Managed services",
        D(0),
    )
    assert inv.net == sum((ln.amount for ln in inv.lines), D(0))
    stem = folder / "invoices" / f"{inv.number}_C006"

    # the workbook's invoice sheet and the PDF print the line and its amount
    assert 49.31 in sheet_row(stem, lambda v: v == fee.description)
    text = pdf_words(stem)
    assert f"{fee.description} " in text and "49.31" in text

    # the UBL invoice line
    line = ubl_line(stem, lambda name: name == fee.description)
    assert line.findtext(f"{{{CBC}}}LineExtensionAmount") == "49.31"
    assert ubl_findings(stem) == []

    # the journal: its revenue on the managed services account (C006 has no other line there)
    assert revenue_booked(folder, "8100", inv.number) == D("49.31")
    assert summary_net(folder, "C006") == inv.net


def test_a_credit_note_cancels_the_fee_and_a_reissue_bills_the_corrected_percent(billed, tmp_path):
    outputs = Path(shutil.copytree(billed[0], tmp_path / "outputs"))
    original = _invoice(outputs / PERIOD)
    selection = analysis.load_summary(outputs, [PERIOD])
    by_service = charts.summarise(selection, ["customer", "service"])
    [fee] = by_service.loc[by_service["service"] == "percent fees", "revenue"].tolist()
    assert fee == D("49.31")  # the margin summary names it (not a service called NaN)
    what_if = analysis.repricer(outputs)(selection, "C006", None)
    assert what_if_net(what_if) == original.net  # the run's figures, the fee recomputed

    credited = issue_credit_note(outputs, original.number, reason="Management fee is 12 %")
    [back] = [ln for ln in credited.note.lines if ln.description.startswith(FEE)]
    assert back.amount == D("-49.31")
    journal = credited.folder / f"journal_{credited.note.number}.csv"
    rows = [r for r in csv.DictReader(journal.open(encoding="utf-8")) if r["account"] == "8100"]
    assert sum((D(r["debit"] or 0) - D(r["credit"] or 0) for r in rows), D(0)) == D("49.31")

    params = Path(shutil.copytree(billed[1], tmp_path / "parameters"))
    plans = params / "price_plans.yaml"
    data = yaml.safe_load(plans.read_text(encoding="utf-8"))
    [smb] = [p for p in data["plans"] if p["id"] == "smb"]
    [rule] = [r for r in smb["rules"] if r["kind"] == "percent_fee"]
    rule["percent"] = 12
    plans.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    done = reissue_invoice(outputs, original.number, params, REPORTS, reason="12 %")
    assert done.moved_lines == ()
    changed = {ln.description: ln.amount for ln in done.invoice.lines}
    was = {ln.description: ln.amount for ln in original.lines}
    assert {k: v for k, v in changed.items() if was.get(k) != v} == {
        f"Cloud management fee 12 % of EUR {BASE}": D("59.17")
    }
    assert done.invoice.net == original.net - D("49.31") + D("59.17")
    # the month as billed now: the reissue's fees, recomputed by the what-if at its net
    selection = analysis.load_summary(outputs, [PERIOD])
    what_if = analysis.repricer(outputs)(selection, "C006", None)
    assert what_if_net(what_if) == done.invoice.net
    cheaper = analysis.repricer(outputs)(selection, "C006", D(0))
    [fee] = cheaper.loc[cheaper["line_kind"] == "percent_fee", "amount"].tolist()
    at_cost = cheaper.loc[cheaper["line_kind"] == "vendor"]  # 12 % of the lines at cost
    assert D("0") < fee < D("59.17") and fee == _cents(what_if_net(at_cost) * D("0.12"))
