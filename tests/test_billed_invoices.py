"""A report of a vendor invoice an earlier month billed, downloaded again with other bytes: refused
by its vendor invoice id (billing_lib.billed_reports.check_invoices_not_billed). Partner Center
writes the customer's current name into each download, so October's invoice reconciliation
downloaded in November after a customer's rename is not the file October's manifest lists; its
licence cycles (5 October to 4 November, a subscription's anniversary) are charged in November,
so the period check let it through (it now refuses a report whose lines mostly begin before the
month, too), and November billed October's licences a second time."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from billing_lib import run
from billing_lib.billed_reports import check_invoices_not_billed, vendor_invoices
from billing_lib.errors import InputError
from billing_lib.importers import import_reports, report_files
from billing_lib.store import open_store
from tests.notebook_project import REPO

SAMPLE = REPO / "samples" / "2026-10" / "reports"
RECON = "ms-invoice-reconciliation-G052026103.csv"
VMWARE = "vmware-usage-meter-customer-monthly-usage-2026-{}.csv"


def _recon(target: Path, rename: str = "") -> None:
    """The sample's reconciliation with its cycles from the 5th (anniversaries), ``rename``
    giving Dijkstra's name as a later download writes it."""
    with open(SAMPLE / RECON, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["ChargeStartDate"] = r["ChargeStartDate"].replace("10/1/2026", "10/5/2026")
        r["ChargeEndDate"] = r["ChargeEndDate"].replace("10/31/2026", "11/4/2026")
        if rename:
            r["CustomerName"] = r["CustomerName"].replace("Dijkstra Architecten B.V.", rename)
    target.parent.mkdir(exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_vendor_invoice_billed_last_month_downloaded_again_is_refused(tmp_path):
    params = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-11-30,ECB 2026-10-31\n")
    october, november, out = tmp_path / "r10", tmp_path / "r11", tmp_path / "out"
    _recon(october / RECON)
    run.run_all("2026-10", october, params, out, finalise=True)
    manifest = json.loads((out / "2026-10" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vendor_invoices"] == [
        {
            "vendor": "microsoft",
            "invoice": "G052026103",
            "files": [RECON],
            "charged": ["2026-10-02", "2026-10-26"],
        }
    ]
    _recon(november / RECON, rename="Dijkstra & Partners Architecten B.V.")
    vmware = (SAMPLE / VMWARE.format("10")).read_text(encoding="utf-8")
    (november / VMWARE.format("11")).write_text(vmware.replace("2026-10", "2026-11"))
    with pytest.raises(InputError) as err:
        run.run_all("2026-11", november, params, out, confirm_jumps="C001,C002,C004,C005")
    # its lines all begin in October: refused by the period check first (importers.checks)
    assert str(err.value).startswith(
        f"{november / RECON} (Microsoft Partner Center new-commerce invoice reconciliation): 19 "
        "of its 19 lines, with 100.0% of its charges (EUR 21714.94 of 21714.94), begin before "
        "the run's period 2026-11"
    )
    assert not (out / "2026-11").exists()
    # and by its vendor invoice id, whatever the period check makes of its lines
    con = open_store()
    import_reports(con, [november / RECON])
    with pytest.raises(InputError) as err:
        check_invoices_not_billed(con, out, "2026-11", november)
    text = str(err.value)
    assert text.startswith(
        "the reports of 2026-11 hold lines of vendor invoices a run of another period (2026-10) "
        "billed already; billing them in 2026-11 would bill them a second time."
    )
    assert (
        f"  - {RECON}, row 2, column 'InvoiceId': found '19 line(s) of microsoft invoice "
        "G052026103 charged 2026-10-02 to 2026-10-26, billed in 2026-10 (its lines charged "
        f"2026-10-02 to 2026-10-26) by the run in {out / '2026-10'} (finalised) from {RECON}'; "
        "expected an invoice of 2026-11, or days of the invoice no other run billed"
    ) in text.splitlines()
    assert not (out / "2026-11").exists()


def _mca(target: Path, days: list[tuple[str, str]]) -> Path:
    """The MCA actual-cost export's usage row, once per (day, invoiceId) of ``days``: a
    pay-as-you-go billing profile whose billing period runs from the 5th to the 4th (its sign-up
    day), exported per calendar month as Cost Management does."""
    source = REPO / "tests" / "data" / "azure-cost-details" / "mca-actual-cost-2026-10.csv"
    with open(source, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    usage = next(r for r in rows if r["chargeType"] == "Usage")
    target.parent.mkdir(exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(usage))
        writer.writeheader()
        for day, invoice in days:
            start = "09/05/2026" if invoice == "E0500SEP" else "10/05/2026"
            end = "10/04/2026" if invoice == "E0500SEP" else "11/04/2026"
            writer.writerow(
                usage
                | {"invoiceId": invoice, "date": day, "billingPeriodStartDate": start}
                | {"billingPeriodEndDate": end}
            )
    return target


def _published(out: Path, period: str, reports: Path) -> None:
    """A published run of ``period`` as its manifest records the vendor invoices it billed."""
    con = open_store()
    import_reports(con, report_files(reports))
    (out / period).mkdir(parents=True)
    manifest = {"vendor_invoices": vendor_invoices(con, reports)}
    (out / period / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_vendor_invoice_whose_billing_period_spans_two_months_is_billed_in_each(tmp_path):
    """A vendor invoice is not one calendar month's: an MCA billing profile billed from the 5th to
    the 4th puts 1-4 October on September's invoice E0500SEP. September's run billed that
    invoice's days of September; October's export holds its days of October, which no run billed,
    and was refused whole as 'vendor invoices a run of another period billed already'."""
    out = tmp_path / "out"
    september = [(f"2026-09-{d:02d}", "E0500SEP") for d in (5, 30)]
    _mca(tmp_path / "r09" / "mca-2026-09.csv", [("2026-09-01", "E0500AUG"), *september])
    _published(out, "2026-09", tmp_path / "r09")
    october = tmp_path / "r10"
    days = [("2026-10-01", "E0500SEP"), ("2026-10-04", "E0500SEP"), ("2026-10-05", "E0500OCT")]
    _mca(october / "mca-2026-10.csv", days)
    con = open_store()
    import_reports(con, report_files(october), period="2026-10")
    check_invoices_not_billed(con, out, "2026-10", october)  # read: other days of E0500SEP
    # September's days of the invoice again (the export of September given in October) refused
    _mca(october / "mca-2026-10.csv", [("2026-10-05", "E0500OCT"), ("2026-09-30", "E0500SEP")])
    con = open_store()
    import_reports(con, report_files(october))
    with pytest.raises(InputError) as err:
        check_invoices_not_billed(con, out, "2026-10", october)
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == ("mca-2026-10.csv", 3, "InvoiceId")
    assert problem.value == (
        f"1 line(s) of microsoft invoice E0500SEP charged 2026-09-30 to 2026-09-30, billed in "
        f"2026-09 (its lines charged 2026-09-05 to 2026-09-30) by the run in {out / '2026-09'} "
        "(not finalised) from mca-2026-09.csv"
    )
    # the manifest records the days each vendor invoice's lines are charged
    manifest = json.loads((out / "2026-09" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["vendor_invoices"][1] == {
        "vendor": "microsoft",
        "invoice": "E0500SEP",
        "files": ["mca-2026-09.csv"],
        "charged": ["2026-09-05", "2026-09-30"],
    }
    # a run published before the days were recorded billed every day of its invoices
    del manifest["vendor_invoices"][1]["charged"]
    (out / "2026-09" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    _mca(october / "mca-2026-10.csv", days)
    con = open_store()
    import_reports(con, report_files(october), period="2026-10")
    with pytest.raises(InputError) as err:
        check_invoices_not_billed(con, out, "2026-10", october)
    assert [p.row for p in err.value.problems] == [2]
    assert "charged 2026-10-01 to 2026-10-04, billed in 2026-09 by" in err.value.problems[0].value
