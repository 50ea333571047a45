"""`billing run` end to end: the notebook executed by papermill on the sample month, published with
its HTML report (charts included) and a manifest; a failing run publishes nothing and leaves the
earlier run as it was. Runs the installed command in a temp copy of the project."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.console_scripts import BILLING
from tests.notebook_project import copy_project

pytestmark = pytest.mark.slow  # papermill runs the notebook in a kernel, four times: about 40 s


def billing(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BILLING, *args], cwd=project, capture_output=True, text=True, timeout=600, check=False
    )


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("billing-run") / "project")
    result = billing(
        project,
        "run",
        "--period",
        "2026-10",
        "--reports",
        "samples/2026-10/reports",
        "--parameters",
        "parameters",
        "--output",
        "outputs",
        "--quiet",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return project, result


def test_the_run_prints_its_control_totals_invoices_and_ledger_balance(published):
    project, result = published
    out = result.stdout
    assert "control totals per vendor report" in out
    assert (
        "ms-invoice-reconciliation-G052026103.csv [ms_invoice_reconciliation] EUR: 19 rows" in out
    )
    assert "285396417058" in out  # the sample month's unmapped account
    assert "add to accounts.csv: aws,285396417058,C011,,,poc-sandbox-ams" in out
    assert out.count("[rule matched nothing]") == 3
    assert "needs a human look (3; information only, the invoices stay as rated):" in out
    assert "9 invoices" in out and "NW2026-000001 C001 Dijkstra Architecten B.V. EUR" in out
    assert "EUR debit 67824.17 = credit 67824.17" in out
    assert f"published in {project / 'outputs' / '2026-10'}" in out


def test_the_run_folder_holds_the_executed_notebook_its_html_and_the_manifest(published):
    project, _ = published
    folder = project / "outputs" / "2026-10"
    names = set(tree(folder))
    assert {
        "billing_run.ipynb",
        "billing_run.html",
        "manifest.json",
        "invoice_summary.csv",
        "journal_2026-10.csv",
        "ledger_2026-10.beancount",
        "run_summary.xlsx",
        "rated_lines.parquet",
        "xero_manual_journal_2026-10_EUR.csv",
        "xero_manual_journal_2026-10_USD.csv",
        "quickbooks_journal_2026-10.csv",
        "minimum_fees.parquet",
    } <= names
    for ext in (".xlsx", ".usage.parquet", ".pdf", ".xml"):  # workbook, lines, PDF, UBL per invoice
        assert len([n for n in names if n.startswith("invoices/") and n.endswith(ext)]) == 9
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {o["file"] for o in manifest["outputs"]}
    assert {"xero_manual_journal_2026-10_EUR.csv", "quickbooks_journal_2026-10.csv"} <= listed
    assert manifest["invoices"][0]["customer_name"] == "Dijkstra Architecten B.V."
    assert {r["file"] for r in manifest["report"]} == {"billing_run.ipynb", "billing_run.html"}
    html = (folder / "billing_run.html").read_text(encoding="utf-8")
    assert html.count("Plotly.newPlot") == 3  # cost vs revenue, margin by vendor, by product
    assert html.count("plotly.js v") == 1  # the bundled plotly.js, embedded once: opens offline
    assert "Traceback" not in html
    # nothing hidden left but the lock file (the lock itself died with the command)
    assert [p.name for p in (project / "outputs").iterdir() if p.name.startswith(".")] == [
        ".billing.lock"
    ]


def test_a_failing_run_publishes_nothing_and_keeps_the_earlier_run(published):
    project, _ = published
    folder = project / "outputs" / "2026-10"
    before = tree(folder)
    shutil.copytree(project / "parameters", project / "bad-parameters", dirs_exist_ok=True)
    rates = project / "bad-parameters" / "exchange_rates.csv"
    rates.write_text(rates.read_text().splitlines()[0] + "\n")  # no USD rate: rating must stop
    result = billing(
        project,
        "run",
        "--period",
        "2026-10",
        "--reports",
        "samples/2026-10/reports",
        "--parameters",
        "bad-parameters",
        "--output",
        "outputs",
        "--quiet",
    )
    assert result.returncode != 0
    assert "exchange_rates.csv" in result.stderr and "nothing was published" in result.stderr
    assert tree(folder) == before
    assert not [p.name for p in (project / "outputs").iterdir() if p.name.startswith(".staging")]


def test_a_month_ten_times_the_previous_finalised_one_is_billed_only_when_confirmed(published):
    project, _ = published
    previous = project / "outputs-jump" / "2026-09"
    previous.mkdir(parents=True)
    (previous / "FINALISED").write_text("")
    (previous / "invoice_summary.csv").write_text(
        "customer_id,invoice_number,currency,net_amount,vat_amount,gross_amount,cost_amount,"
        "margin_amount\nC001,NW2026-000001,EUR,100.00,21.00,121.00,80.00,20.00\n"
    )
    args = ["run", "--period", "2026-10", "--reports", "samples/2026-10/reports",
            "--output", "outputs-jump", "--quiet"]  # fmt: skip
    refused = billing(project, *args)
    assert refused.returncode == 2
    assert "C001: EUR 2584.54 against 100.00 in 2026-09 (x25.8)" in refused.stderr
    assert "--confirm-jump C001" in refused.stderr and "nothing was published" in refused.stderr
    assert sorted(p.name for p in (project / "outputs-jump").iterdir() if p.is_dir()) == ["2026-09"]
    confirmed = billing(project, *args, "--confirm-jump", "C001")
    assert confirmed.returncode == 0, confirmed.stderr[-3000:]
    assert (
        "[confirmed jump] C001: EUR 2584.54 against 100.00 in 2026-09 (x25.8)" in confirmed.stdout
    )
    assert (
        "[net moved] C001: net EUR 2584.54 against 100.00 in 2026-09 (+2485%)" in confirmed.stdout
    )
    manifest = json.loads((project / "outputs-jump" / "2026-10" / "manifest.json").read_text())
    assert manifest["confirmed_jumps"] == ["C001: EUR 2584.54 against 100.00 in 2026-09 (x25.8)"]
