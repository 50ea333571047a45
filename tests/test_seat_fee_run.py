"""docs/pricing.md's support per licence seat (``kind: seat_fee``) billed end to end on the sample
month: C001's line on the invoice as data, the workbook, the PDF, the UBL e-invoice (quantity
14.226 seats at 2.00, valid under EN 16931 and Peppol), the journal (the support revenue
account) and the summary; credited by a credit note and reissued at a corrected price; and the
margin notebook's what-if, which keeps the line (a markup changes no seat), stating the
invoice's net to the cent."""

from __future__ import annotations

import csv
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

#: C001's 12 seats for 12 Oct - 12 Nov and 3 added for 20 Oct - 12 Nov: 12 + 3 x 23/31 seat-months.
SEAT_MONTHS = 12 + D("2.225806451613")
TEXT = "Support per seat (14.226 seats, EUR 2.00 a seat)"


@pytest.fixture(scope="module")
def billed(tmp_path_factory) -> tuple[Path, Path]:
    """(outputs, parameters): the sample month billed and finalised with the recipe."""
    return billed_with_recipe(tmp_path_factory.mktemp("seat-fee"), "seat-support")


def test_the_seat_fee_is_stated_on_every_document_of_the_invoice(billed):
    outputs, _ = billed
    folder = outputs / PERIOD
    inv = invoice_of(folder, "C001")
    [line] = [ln for ln in inv.lines if ln.description == TEXT]
    assert line.amount == line.unrounded_amount == D("28.45")
    assert (line.quantity, line.unit, line.unit_price) == (SEAT_MONTHS, "seat", D(2))
    assert (line.display_quantity, line.display_unit_price) == (D("14.226"), D("2.00"))
    assert (line.product_group, line.heading, line.cost) == ("support", "Support", D(0))
    assert inv.net == sum((ln.amount for ln in inv.lines), D(0))
    stem = folder / "invoices" / f"{inv.number}_C001"

    assert {28.45, 14.226, 2} <= set(sheet_row(stem, lambda v: v == TEXT))
    text = pdf_words(stem)
    assert TEXT in text and "28.45" in text and "14.226" in text

    el = ubl_line(stem, lambda name: name == TEXT)
    assert el.findtext(f"{{{CBC}}}LineExtensionAmount") == "28.45"
    [quantity] = el.iter(f"{{{CBC}}}InvoicedQuantity")
    assert (quantity.text, quantity.get("unitCode")) == ("14.226", "C62")
    assert el.findtext(f"{{{CAC}}}Price/{{{CBC}}}PriceAmount") == "2.00"
    assert ubl_findings(stem) == []

    # the journal: the support revenue (8120) of the invoice is the seat fee alone
    assert revenue_booked(folder, "8120", inv.number) == D("28.45")
    assert summary_net(folder, "C001") == inv.net


def test_a_credit_note_cancels_the_seat_fee_and_a_reissue_bills_the_corrected_price(
    billed, tmp_path
):
    outputs = Path(shutil.copytree(billed[0], tmp_path / "outputs"))
    original = invoice_of(outputs / PERIOD, "C001")
    selection = analysis.load_summary(outputs, [PERIOD])
    by_service = charts.summarise(selection, ["customer", "service"])
    seat_fees = by_service.loc[by_service["service"] == "seat fees"]
    [c001] = seat_fees.loc[seat_fees["customer"].str.startswith("C001 "), "revenue"].tolist()
    assert c001 == D("28.45")  # the margin summary names it (not a service called NaN)
    assert sum(seat_fees["revenue"], D(0)) == D("148.19")  # every small-business customer's
    what_if = analysis.repricer(outputs)(selection, "C001", None)
    assert what_if_net(what_if) == original.net
    # a markup changes no seat: the what-if at 50 % keeps the line the run billed
    dearer = analysis.repricer(outputs)(selection, "C001", D(50))
    [kept] = dearer.loc[dearer["line_kind"] == "seat_fee"].itertuples()
    assert (kept.description, kept.quantity, kept.amount) == (TEXT, SEAT_MONTHS, D("28.45"))

    credited = issue_credit_note(outputs, original.number, reason="Support is 2.50 a seat")
    [back] = [ln for ln in credited.note.lines if ln.description == TEXT]
    assert back.amount == D("-28.45")
    journal = credited.folder / f"journal_{credited.note.number}.csv"
    rows = [r for r in csv.DictReader(journal.open(encoding="utf-8")) if r["account"] == "8120"]
    assert sum((D(r["debit"] or 0) - D(r["credit"] or 0) for r in rows), D(0)) == D("28.45")

    params = Path(shutil.copytree(billed[1], tmp_path / "parameters"))
    plans = params / "price_plans.yaml"
    data = yaml.safe_load(plans.read_text(encoding="utf-8"))
    [smb] = [p for p in data["plans"] if p["id"] == "smb"]
    [rule] = [r for r in smb["rules"] if r["kind"] == "seat_fee"]
    rule["unit_price"] = "2.50"
    plans.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    done = reissue_invoice(outputs, original.number, params, REPORTS, reason="2.50 a seat")
    assert done.moved_lines == ()
    changed = {ln.description: ln.amount for ln in done.invoice.lines}
    was = {ln.description: ln.amount for ln in original.lines}
    # 2.50 x 14.225806451613 = 35.5645...: 35.56; 14.226 x 2.50 = 35.565 would print 35.57
    assert {k: v for k, v in changed.items() if was.get(k) != v} == {
        "Support per seat (14.2258 seats, EUR 2.50 a seat)": D("35.56")
    }
    assert done.invoice.net == original.net - D("28.45") + D("35.56")
    selection = analysis.load_summary(outputs, [PERIOD])
    what_if = analysis.repricer(outputs)(selection, "C001", None)
    assert what_if_net(what_if) == done.invoice.net
