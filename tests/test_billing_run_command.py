"""`billing run` end to end: the notebook executed by papermill on the sample month, published with
its HTML report (charts included) and a manifest; a failing run publishes nothing and leaves the
earlier run as it was. Runs the installed command in a temp copy of the project.

Two runs of the command: the sample month after a finalised September in which one customer's
month was a tenth of October's, the jump confirmed with ``--confirm-jump`` (the run every test
reads), and the same run without the confirmation, refused in its notebook. The review's
figures themselves are checked in-process (tests/test_review.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.console_scripts import BILLING
from tests.notebook_project import copy_project

pytestmark = pytest.mark.slow  # papermill runs the notebook in a kernel, twice: about 15 s

RUN = ["run", "--period", "2026-10", "--reports", "samples/2026-10/reports",
       "--parameters", "parameters", "--output", "outputs", "--quiet"]  # fmt: skip

#: The previous month, finalised: every customer's net as in October but C001's, 100.00 against
#: 2584.54 (x25.8, above review.yaml's jump_factor 10); the others stay within net_change_percent.
SEPTEMBER = (
    "customer_id,invoice_number,currency,net_amount,vat_amount,gross_amount,cost_amount,"
    "margin_amount\n"
    "C001,NW2026-000001,EUR,100.00,21.00,121.00,80.00,20.00\n"
    "C002,NW2026-000002,EUR,5701.29,0,0,0,0\n"
    "C003,NW2026-000003,EUR,75.00,0,0,0,0\n"
    "C004,NW2026-000004,EUR,14078.36,0,0,0,0\n"
    "C005,NW2026-000005,EUR,9740.82,0,0,0,0\n"
    "C006,NW2026-000006,EUR,968.10,0,0,0,0\n"
    "C007,NW2026-000007,EUR,138.35,0,0,0,0\n"
    "C008,NW2026-000008,USD,2045.85,0,0,0,0\n"
    "C009,NW2026-000009,EUR,1337.86,0,0,0,0\n"
)


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
    """The sample month billed by ``billing run --confirm-jump C001`` after a finalised 2026-09."""
    project = copy_project(tmp_path_factory.mktemp("billing-run") / "project")
    previous = project / "outputs" / "2026-09"
    previous.mkdir(parents=True)
    (previous / "FINALISED").write_text("")
    (previous / "invoice_summary.csv").write_text(SEPTEMBER)
    result = billing(project, *RUN, "--confirm-jump", "C001")
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
    assert "[rule matched nothing]" not in out  # the catch-alls matched nothing, as they should
    # the confirmed jump of C001 (two findings)
    assert "needs a human look (2; information only, the invoices stay as rated):" in out
    assert "9 invoices" in out and "NW2026-000001 C001 Dijkstra Architecten B.V. EUR" in out
    assert "EUR debit 67822.97 = credit 67822.97" in out
    assert f"published in {project / 'outputs' / '2026-10'}" in out
    # the command that finalises this run, and no rerun of it, once it is reviewed
    run_id = json.loads((project / "outputs" / "2026-10" / "manifest.json").read_text())["run_id"]
    assert (
        f"once reviewed, finalise this run as it is: billing finalise --period 2026-10 "
        f"--output outputs --run {run_id}" in out
    )
    # nothing on stderr: not ipykernel's "running over TCP without encryption" warning either
    assert result.stderr == ""


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


def test_the_confirmed_jump_is_billed_printed_and_kept_in_the_manifest(published):
    project, result = published
    jump = "C001: EUR 2584.54 against 100.00 in 2026-09 (x25.8)"
    assert f"[confirmed jump] {jump}" in result.stdout
    assert "[net moved] C001: net EUR 2584.54 against 100.00 in 2026-09 (+2485%)" in result.stdout
    manifest = json.loads((project / "outputs" / "2026-10" / "manifest.json").read_text())
    assert manifest["confirmed_jumps"] == [jump]


def test_a_run_failing_in_its_notebook_publishes_nothing_and_keeps_the_earlier_run(published):
    """The same month without ``--confirm-jump``: refused in the notebook (before invoice numbers
    are taken), exit status 2, the earlier run folder byte for byte as it was."""
    project, _ = published
    folder = project / "outputs" / "2026-10"
    register = project / "outputs" / "invoice_register.sqlite"
    before, numbers = tree(folder), register.read_bytes()
    refused = billing(project, *RUN)
    assert refused.returncode == 2
    assert "C001: EUR 2584.54 against 100.00 in 2026-09 (x25.8)" in refused.stderr
    assert "--confirm-jump C001" in refused.stderr and "nothing was published" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert tree(folder) == before and register.read_bytes() == numbers
    assert sorted(p.name for p in (project / "outputs").iterdir() if p.is_dir()) == [
        "2026-09",
        "2026-10",
    ]


def test_a_run_published_after_failed_ones_leaves_no_notebook_of_theirs(published, tmp_path):
    """A failed run keeps its executed notebook as ``outputs/.failed-<period>.ipynb``: copied in
    place, a run killed while copying it left half a notebook under that name, and once the
    month was billed the failure's notebook stayed beside the new run folder for good. It is
    written in one rename (killed before it, the temporary file is removed by the next run) and
    removed when a run of the month is published."""
    project, _ = published
    outputs = project / "outputs"
    failed = outputs / ".failed-2026-10.ipynb"
    if not failed.exists():  # kept by the failing run of the test before
        assert billing(project, *RUN).returncode == 2
    kept = failed.read_bytes()
    marker = tmp_path / "paused"
    env = {**os.environ, "BILLING_PAUSE_AT": f"written:{failed.name}"}
    env["BILLING_PAUSE_MARKER"] = str(marker)
    proc = subprocess.Popen([BILLING, *RUN], cwd=project, env=env, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the refused run did not reach the copy of its notebook"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    [left] = outputs.glob(f".{failed.name}.*.tmp")
    [staging] = outputs.glob(".staging-2026-10-*")  # killed before it removed its staging folder
    assert failed.read_bytes() == kept  # the earlier one, whole
    result = billing(project, *RUN, "--confirm-jump", "C001")
    assert result.returncode == 0, result.stderr[-3000:]
    cleaned = [ln for ln in result.stdout.splitlines() if ln.startswith("cleaned up")]
    assert cleaned == [
        f"cleaned up: removed {staging.name}: the unfinished files of a run that was killed",
        f"cleaned up: removed {left.name}: the unfinished {failed.name} of a command that was "
        "killed",
        f"cleaned up: removed {failed.name}: the notebook of an earlier failed run of 2026-10, "
        "published since",
    ]
    assert sorted(p.name for p in outputs.iterdir() if p.name.startswith(".")) == [".billing.lock"]
