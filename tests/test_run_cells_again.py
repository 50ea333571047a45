"""A notebook's cells run again: an analyst steps through the run, changes a parameters file or
a report, and runs a cell again. What the steps after it produced is void until they run again
(``BillingRun._begin``): nothing of the earlier pass is shown, written or published beside the
new results, and the import imports afresh."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from billing_lib import run, workbooks
from billing_lib.errors import InputError, RunError
from tests.notebook_project import REPO

SAMPLE_REPORTS = REPO / "samples" / "2026-10" / "reports"
STEPS = ("import_reports", "map_customers", "rate", "build_invoices", "write_outputs")


@pytest.fixture
def params(tmp_path: Path) -> Path:
    folder = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", folder)
    return folder


def started(params: Path, output: Path) -> run.BillingRun:
    br = run.start("2026-10", str(SAMPLE_REPORTS), str(params), str(output))
    br.load_parameters()
    return br


def through(br: run.BillingRun, *steps: str) -> None:
    for step in steps:
        getattr(br, step)()


def without_customer(params: Path, customer: str) -> None:
    """``customer`` removed from customers.yaml and accounts.csv (no invoice any more)."""
    accounts = params / "accounts.csv"
    kept = [ln for ln in accounts.read_text().splitlines() if f",{customer}," not in ln]
    accounts.write_text("\n".join(kept) + "\n")
    listed = params / "customers.yaml"
    data = yaml.safe_load(listed.read_text())
    data["customers"] = [c for c in data["customers"] if c["id"] != customer]
    listed.write_text(yaml.safe_dump(data))


def test_a_step_run_again_voids_the_later_steps_and_their_staged_files(params, tmp_path):
    br = started(params, tmp_path / "out")
    through(br, *STEPS, "ledger_balance", "write_manifest")
    assert len(br.results.invoices) == 9 and br.review_findings() == []
    assert br.results.review is not None
    staging = br._staging()
    assert (staging / "invoices" / "NW2026-000009_C009.pdf").is_file()

    without_customer(params, "C003")
    br.load_parameters()
    # every later step is void: its results, its staged files, the manifest
    for name in ("control_totals", "unmapped", "rating", "invoice_totals", "files", "review"):
        assert getattr(br.results, name) is None, name
    assert not (staging / "invoices").exists() and not (staging / "manifest.json").exists()
    with pytest.raises(RunError, match=r"no manifest\.json; only a complete run is published"):
        br.publish()
    with pytest.raises(RunError, match=r"the step rate\(\) has not run yet, or an earlier step"):
        br.build_invoices()
    with pytest.raises(RunError, match=r"the step rate\(\) has not run yet"):
        br.summary(["customer"])

    through(br, *STEPS, "ledger_balance", "write_manifest")
    br.publish()
    published = sorted(p.name for p in (tmp_path / "out" / "2026-10" / "invoices").iterdir())
    numbers = [name.split("_")[0] for name in published if name.endswith(".pdf")]
    assert len(numbers) == len(set(numbers)) == 8  # each number once, C003's invoice gone
    assert not any("C003" in name for name in published)
    assert "NW2026-000003_C004.pdf" in published


def test_the_import_run_again_imports_the_reports_afresh(params, tmp_path):
    br = started(params, tmp_path / "out")
    first = br.import_reports()
    lines = br.con.execute("SELECT count(*) FROM lines").fetchall()
    again = br.import_reports()  # before: "this report was already imported (same content)"
    assert again.equals(first)
    assert br.con.execute("SELECT count(*) FROM lines").fetchall() == lines
    through(br, "map_customers", "rate", "build_invoices")
    assert len(br.results.invoices) == 9


def test_an_import_that_fails_when_run_again_leaves_nothing_of_the_first(params, tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    br = run.start("2026-10", str(reports), str(params), str(tmp_path / "out"))
    br.load_parameters()
    br.import_reports()
    vmware = reports / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
    rows = vmware.read_text().splitlines()
    vmware.write_text("\n".join([*rows, rows[1]]) + "\n")  # a row repeated: refused
    with pytest.raises(InputError, match="repeats row 2"):
        br.import_reports()
    assert br.results.control_totals is None
    assert br.con.execute("SELECT count(*) FROM lines").fetchall() == [(0,)]
    with pytest.raises(RunError, match=r"the step import_reports\(\) has not run yet"):
        br.map_customers()


def test_a_report_saved_again_after_the_parameters_were_checked_is_refused(params, tmp_path):
    """The parameters cell checks each report against the months billed before and records its
    sha256 for the manifest; a report saved over (or added) after it was imported unchecked, and
    the manifest hashed the files again at the end, listing bytes the invoices did not bill."""
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    br = run.start("2026-10", str(reports), str(params), str(tmp_path / "out"))
    br.load_parameters()
    vmware = reports / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
    checked = vmware.read_bytes()
    vmware.write_bytes(checked + b"\n")  # saved again, with an empty last line
    with pytest.raises(InputError, match=rf"{vmware}: changed since the run's parameters"):
        br.import_reports()
    assert br.con.execute("SELECT count(*) FROM lines").fetchall() == [(0,)]
    renamed = vmware.rename(reports / "vmware-2026-10.csv")  # renamed: not the file checked
    renamed.write_bytes(checked)
    with pytest.raises(InputError, match=r"vmware-2026-10.csv: not in the reports folder when"):
        br.import_reports()
    renamed.rename(vmware)
    through(br, "import_reports", "map_customers", "rate", "build_invoices")
    vmware.write_bytes(checked)  # the same bytes written again after the import: not a change
    through(br, "write_outputs", "ledger_balance", "write_manifest", "publish")
    manifest = json.loads((tmp_path / "out" / "2026-10" / "manifest.json").read_text())
    listed = {i["file"]: (i["sha256"], i["bytes"]) for i in manifest["inputs"]}
    assert listed[vmware.name] == (hashlib.sha256(checked).hexdigest(), len(checked))
    assert sorted(listed) == sorted(p.name for p in SAMPLE_REPORTS.iterdir())
    for report in SAMPLE_REPORTS.iterdir():
        data = report.read_bytes()
        assert listed[report.name] == (hashlib.sha256(data).hexdigest(), len(data))


def test_the_rating_run_again_after_the_mapping_rates_from_the_new_mapping(params, tmp_path):
    br = started(params, tmp_path / "out")
    through(br, "import_reports", "map_customers", "rate")
    earlier = br.results.rating.rated_file
    without_customer(params, "C003")
    br.load_parameters()
    assert not earlier.exists()  # the voided rating's file is gone with it
    through(br, "import_reports", "map_customers")
    with pytest.raises(RunError, match=r"the step rate\(\) has not run yet"):
        br.excluded()
    br.rate()
    customers = br.con.execute("SELECT DISTINCT customer_id FROM rated_lines").fetchall()
    assert ("C003",) not in customers and ("C004",) in customers


def test_a_manifest_refused_leaves_no_empty_run_to_publish(params, tmp_path):
    """write_manifest refused (a report added while the run read the folder) removes the staging
    folder with every file staged; the same cell run again once the folder is as read wrote the
    manifest into a new, empty staging folder, and publish swapped in a run folder of a manifest
    alone over the earlier run, its invoice numbers recorded. The steps whose files went must
    run again."""
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    out = tmp_path / "out"
    br = run.start("2026-10", str(reports), str(params), str(out))
    br.load_parameters()
    through(br, *STEPS, "ledger_balance")
    added = reports / "copy.csv"
    shutil.copy(reports / "vmware-usage-meter-customer-monthly-usage-2026-10.csv", added)
    with pytest.raises(RunError, match="added since the run read the folder"):
        br.write_manifest()
    added.unlink()
    with pytest.raises(RunError, match=r"the step build_invoices\(\) has not run yet"):
        br.write_outputs()
    for step in ("ledger_balance", "write_manifest"):
        with pytest.raises(RunError, match=r"the step write_outputs\(\) has not run yet"):
            getattr(br, step)()
    with pytest.raises(RunError, match=r"no manifest\.json; only a complete run is published"):
        br.publish()
    assert not (out / "2026-10").exists()
    through(br, "build_invoices", "write_outputs", "ledger_balance", "write_manifest", "publish")
    published = out / "2026-10"
    assert (published / "invoice_summary.csv").is_file()
    assert (published / "invoices" / "NW2026-000009_C009.pdf").is_file()


def test_write_outputs_interrupted_then_run_again_publishes_every_file(
    params, tmp_path, monkeypatch
):
    """write_outputs interrupted (Ctrl-C, the kernel's interrupt) removes the staging folder, with
    the invoice_summary.csv build_invoices staged; run again, it wrote the rest into a new
    staging folder and the run was published without invoice_summary.csv (what the margin
    notebook reads the invoices' nets from)."""
    out = tmp_path / "out"
    br = started(params, out)
    through(br, *STEPS[:-1])
    real = workbooks.write_workbooks

    def interrupted(*args, **kwargs):
        monkeypatch.setattr(workbooks, "write_workbooks", real)
        raise KeyboardInterrupt

    monkeypatch.setattr(workbooks, "write_workbooks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        br.write_outputs()
    with pytest.raises(RunError, match=r"the step build_invoices\(\) has not run yet"):
        br.write_outputs()
    through(br, "build_invoices", "write_outputs", "ledger_balance", "write_manifest", "publish")
    published = out / "2026-10"
    manifest = json.loads((published / "manifest.json").read_text())
    files = {o["file"] for o in manifest["outputs"]}
    assert "invoice_summary.csv" in files and (published / "invoice_summary.csv").is_file()
    assert [i["invoice_number"] for i in manifest["invoices"]] == [
        f"NW2026-{n:06d}" for n in range(1, 10)
    ]


def test_cells_run_again_after_the_publish_say_the_run_is_published(params, tmp_path):
    """The publish cell run again said "this run no longer holds the lock ...; start the run
    again" and voided the run's invoices, so the review cell below it said "the step
    build_invoices() has not run yet"; the manifest's cell run again failed with a
    FileNotFoundError of the staging folder published meanwhile. The publish cell run again now
    names the published run folder; any step run again is refused, naming it and how to bill
    the month again, and leaves the run's results (and the run folder) as they were."""
    out = tmp_path / "out"
    br = started(params, out)
    through(br, *STEPS, "ledger_balance", "write_manifest")
    first = br.publish()
    assert first.startswith("published 2026-10: ")
    manifest = (out / "2026-10" / "manifest.json").read_bytes()
    assert br.review().empty
    again = br.publish()
    assert again.startswith("2026-10 is published already by this run: ")
    assert again.endswith(str(out / "2026-10"))
    steps = ("load_parameters", *STEPS, "ledger_balance", "write_manifest")
    for step in steps:
        with pytest.raises(RunError, match=r"this run published 2026-10 already \(.*2026-10\); "):
            getattr(br, step)()
    with pytest.raises(RunError, match=r"run the notebook again from its first cell"):
        br.rate()
    assert br.review().empty  # the review cell below the publish still reads the run
    assert len(br.results.invoices) == 9
    assert br.summary(["customer"])["customer"].nunique() == 9
    assert (out / "2026-10" / "manifest.json").read_bytes() == manifest
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".staging")) == []


def test_a_parameters_cell_changed_after_the_run_started_is_named(params, tmp_path, monkeypatch):
    """The parameters cell changed and run (``period = "2026-11"``, another reports folder), the
    cell of ``billing.start`` not run again: the cells below went on billing the month and
    reports the run started with, as if the change had been made. A step run then names the
    parameter changed and the cell to run again; the parameters cell set back, the run goes on."""
    from billing_lib import notebook_parameters

    namespace: dict[str, object] = {"period": "2026-10", "reports": str(SAMPLE_REPORTS)}
    monkeypatch.setattr(notebook_parameters, "kernel_namespace", lambda: namespace)
    br = started(params, tmp_path / "out")
    through(br, "import_reports")
    namespace["period"] = "2026-11"
    for step in ("map_customers", "load_parameters"):
        with pytest.raises(
            RunError,
            match=r"the parameters cell changed since the run started \(period: '2026-10' -> "
            r"'2026-11'\); this run bills 2026-10 as started: run the cell of billing\.start "
            r"again \(the first code cell\), then the cells below it",
        ):
            getattr(br, step)()
    assert br.results.control_totals is not None  # nothing voided by the refusal
    namespace["period"] = "2026-10"
    through(br, "map_customers", "rate", "build_invoices", "write_outputs")
    namespace["reports"] = "samples/2026-11/reports"
    for step in ("write_manifest", "publish"):
        with pytest.raises(RunError, match=r"\(reports: '.*/reports' -> 'samples/2026-11/"):
            getattr(br, step)()
    assert not (tmp_path / "out" / "2026-10").exists()
