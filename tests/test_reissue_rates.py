"""A reissue after the month's exchange rate was edited: exchange_rates.csv's USD->EUR row of
16-31 October changed from 0.9187 (the rate the finalised run booked) to 0.9300 between the
credit note and ``billing reissue``.

The reissue went through at the new rate in silence, and moved the cost of the AWS account the
run left unmapped (poc-sandbox-ams, USD 9.91, mapped to C002 since) from 7095 to cost of sales at
0.9300 (EUR 9.22) while the month's purchase entry had booked it at 0.9187 (EUR 9.10): 7095 was
left at EUR -0.12 with its USD balance 0. Now a cost move is converted at the rate its cost was
booked at, and a rate that would convert the new invoice otherwise than the run is refused,
naming the row and both rates, unless confirmed as a correction."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib import cli
from billing_lib.corrections import issue_credit_note
from billing_lib.errors import RunError
from billing_lib.invoices import read_invoice_data
from billing_lib.reissue import reissue_invoice, reissue_invoices
from tests.notebook_project import PERIOD
from tests.test_reissue import (
    CREDITED,
    ORIGINAL,
    REISSUED,
    REPORTS,
    _booked,
    _journal_rows,
    _map_sandbox,
    corrected_parameters,
    register_rows,
)

D = Decimal
BOOKED = "USD,EUR,0.9187,2026-10-16,2026-10-31,"
EDITED = "USD,EUR,0.9300,2026-10-16,2026-10-31,"
#: C008 Harborview Analytics Inc., invoiced in USD
USD_INVOICE = "NW2026-000008"


@pytest.fixture(scope="module")
def credited_month(finalised_sample_outputs, tmp_path_factory) -> Path:
    """The finalised sample run's outputs with NW2026-000002 credited (copied by each test)."""
    out = Path(shutil.copytree(finalised_sample_outputs, tmp_path_factory.mktemp("c") / "o"))
    issue_credit_note(out, ORIGINAL, CREDITED, "Managed services billed at the old price")
    return out


@pytest.fixture
def outputs(credited_month, tmp_path) -> Path:
    return Path(shutil.copytree(credited_month, tmp_path / "outputs"))


def set_rate(params: Path, old: str, new: str) -> None:
    """exchange_rates.csv's row ``old`` (its first five columns) changed to ``new``."""
    path = params / "exchange_rates.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def edited(tmp_path) -> Path:
    """The corrected parameters with poc-sandbox-ams mapped to C002 and October's second USD->EUR
    rate changed from 0.9187 to 0.9300."""
    params = corrected_parameters(tmp_path)
    _map_sandbox(params)
    set_rate(params, BOOKED, EDITED)
    return params


def national(rows: list[dict]) -> Decimal:
    return sum((D(r["national_debit"] or 0) - D(r["national_credit"] or 0) for r in rows), D(0))


def test_an_edited_rate_of_the_month_is_refused_naming_the_row_and_both_rates(outputs, edited):
    """C002's EUR invoice prices its AWS lines at the rate (revenue), C008's USD invoice states
    its amounts in EUR at it (the journal's national columns): both are named, nothing issued."""
    issue_credit_note(outputs, USD_INVOICE, CREDITED, "to be reissued with C002's")
    before = register_rows(outputs)
    with pytest.raises(RunError) as err:
        reissue_invoices(outputs, [ORIGINAL, USD_INVOICE], edited, REPORTS, REISSUED)
    row = "exchange_rates.csv row 3 (2026-10-16 to 2026-10-31): USD->EUR 0.9187 when the run"
    assert str(err.value) == (
        f"{edited / 'exchange_rates.csv'}: an exchange rate of 2026-10 was changed since the "
        "finalised run, and the new invoice would be converted at it, so nothing was issued:\n"
        f"  - NW2026-000002: {row} billed the month, 0.9300 now (80 vendor lines converted at it)\n"
        f"  - {USD_INVOICE}: {row} billed the month, 0.9300 now (the invoice's amounts in "
        "EUR converted at it)\n"
        "The month's other invoices, its purchase entries and its Xero file keep the rate the run "
        "read. Restore the row as the run read it and reissue; or, if that rate was wrong and "
        "this invoice is to be converted at the corrected one, reissue with "
        "--confirm-rate-change (the new invoice's manifest records it)"
    )
    assert register_rows(outputs) == before
    assert sorted(p.name for p in (outputs / "corrections").iterdir()) == [
        "NWC2026-000001",
        "NWC2026-000002",
    ]
    # a rate of another pair or month edited, or a row added for November: no change here
    set_rate(edited, EDITED, BOOKED)
    with open(edited / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9400,2026-11-01,2026-11-30,ECB euro reference rate 2026-10-30\n")
    done = reissue_invoice(outputs, ORIGINAL, edited, REPORTS, REISSUED)
    assert done.rate_changes == ()


def test_a_confirmed_rate_correction_moves_cost_at_the_rate_it_was_booked_at(
    outputs, edited, capsys
):
    argv = ["reissue", "--output", str(outputs), "--invoice", ORIGINAL, "--parameters"]
    code = cli.main([*argv, str(edited), "--issue-date", "2026-12-04", "--confirm-rate-change"])
    printed = capsys.readouterr().out
    assert code == 0, capsys.readouterr().err
    assert "exchange rate changed since the run" in printed
    assert "USD->EUR" in printed and "0.9187" in printed and "0.9300" in printed
    folder = outputs / "corrections" / "NW2026-000010"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    [note] = manifest["exchange_rates_changed"]
    assert "row 3" in note and "0.9187" in note and "0.9300" in note
    # the new invoice is converted at the corrected rate (its sale: the rate of the 31st)
    journal = folder / "journal_NW2026-000010.csv"
    sale = [r for r in _journal_rows(journal, "EUR") if r["journal"] == "SALES"]
    assert sale
    [new] = read_invoice_data(folder / "invoices.json")[1].values()
    # the cost moved from 7095 at the rate the month's purchase entry booked it at
    moved = [r for r in _journal_rows(journal, "USD") if r["journal"] == "PURCH"]
    assert {(r["exchange_rate"], r["rate_date"]) for r in moved} == {("0.9187", "2026-10-31")}
    out_of_7095 = [r for r in moved if r["account"] == "7095"]
    assert _booked(out_of_7095) == D("-9.91")
    assert national(out_of_7095) == D("-9.10")
    run_journal = outputs / PERIOD / f"journal_{PERIOD}.csv"
    unmapped = [
        r
        for r in _journal_rows(run_journal, "USD", {"7095"})
        if "unmapped accounts" in r["description"]
    ]
    assert (_booked(unmapped), national(unmapped)) == (D("9.91"), D("9.10"))
    assert national(moved) == 0
    # so does the Xero file (EUR base currency)
    xero = (folder / "xero_manual_journal_NW2026-000010_EUR.csv").read_text(encoding="utf-8")
    assert "(USD -9.91 at 0.9187)" in xero
    assert new.currency == "EUR"
    # credited, the rate file still at 0.9300: the credit note reverses the cost move at the
    # rate it was booked at (0.9187), whatever the file says now
    note = issue_credit_note(outputs, "NW2026-000010", REISSUED, "again")
    credit = note.folder / f"journal_{note.note.number}.csv"
    back = [r for r in _journal_rows(credit, "USD") if r["journal"] == "PURCH"]
    assert {(r["exchange_rate"], r["rate_date"]) for r in back} == {("0.9187", "2026-10-31")}
    assert national([r for r in back if r["account"] == "7095"]) == D("9.10")
