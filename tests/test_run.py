"""A billing run: parameters checked before anything is touched, atomic publishing, finalised runs
immutable, and the whole sample month end to end."""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
import subprocess
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib import analysis, publishing, run, run_parameters
from billing_lib.errors import InputError, ParameterError, RunError
from tests.console_scripts import BILLING
from tests.notebook_project import REPO

CUR_HEADER = (
    "identity/LineItemId,bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,"
    "lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,lineItem/UnblendedCost,"
    "lineItem/CurrencyCode\n"
)
CUR_ROW = "id-1,999,111,Usage,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,AmazonEC2,1.25,USD\n"


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cur.csv").write_text(CUR_HEADER + CUR_ROW)
    params = tmp_path / "parameters"
    params.mkdir()
    return {"reports": reports, "parameters": params, "output": tmp_path / "outputs"}


def check(folders: dict[str, Path], **changes: object) -> run_parameters.RunParameters:
    args = {
        "period": "2026-10",
        "finalise": False,
        **{k: str(v) for k, v in folders.items()},
        **changes,
    }
    return run_parameters.check_parameters(**args)


def test_good_parameters_are_resolved_and_the_reports_recognised(folders):
    p = check(folders)
    assert p.period == "2026-10" and p.finalise is False
    assert p.reports_found == (("cur.csv", "AWS Cost and Usage Report (legacy)"),)
    assert p.issue_date.isoformat() == "2026-11-01"  # default: the day after the period
    assert p.run_folder == folders["output"] / "2026-10"
    assert not folders["output"].exists()  # checking writes nothing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            202610,
            "Pass it as a string: papermill -r period 2026-10",
        ),  # what `-p period 202610` gives
        ("2026-13", "expected a month as YYYY-MM"),
        ("Oct 2026", "expected a month as YYYY-MM"),
        ("9999-12", "expected a month as YYYY-MM from 1900-01 to 2999-12"),  # no day after it
        ("0000-01", "expected a month as YYYY-MM from 1900-01 to 2999-12"),  # no year 0
        (None, "expected text like '2026-10'"),
    ],
)
def test_a_bad_period_is_refused_naming_the_parameter(folders, value, expected):
    with pytest.raises(ParameterError, match="entry period") as err:
        check(folders, period=value)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("command", "value"),
    [
        (["finalise"], "202610"),
        (["register", "list"], "10-2026"),
        (["customers", "sync", "--reports", "r"], "2026/10"),
        (["import", "cur.csv"], "2026-10-01"),
    ],
)
def test_a_bad_period_of_another_command_names_its_option(tmp_path, capsys, command, value):
    """Not "billing_run parameters, entry period", which none of these commands has."""
    from billing_lib import cli

    args = [*command, "--period", value]
    if command[0] != "import":
        args += ["--output", str(tmp_path)]
    assert cli.main(args) == 2
    assert capsys.readouterr().err == (
        f"error: billing {' '.join(command[:2]) if command[0] != 'import' else 'import'}, entry "
        f"--period: expected a month as YYYY-MM from 1900-01 to 2999-12 (e.g. '2026-10'); got "
        f"{value!r}\n"
    )


def test_finalise_must_be_a_boolean(folders):
    with pytest.raises(ParameterError, match="entry finalise.*'yes'"):
        check(folders, finalise="yes")


def test_a_bad_issue_date_is_refused(folders):
    with pytest.raises(ParameterError, match="entry issue_date.*YYYY-MM-DD"):
        check(folders, issue_date="1/11/2026")


def test_an_issue_date_with_a_time_is_refused_naming_the_entry(folders):
    """papermill -y 'issue_date: 2026-11-01T10:00:00' gives a datetime: it ended in a TypeError
    comparing it with the period's last day."""
    with pytest.raises(ParameterError, match="entry issue_date: expected a date without a time"):
        check(folders, issue_date=datetime(2026, 11, 1, 10, 0))


@pytest.mark.parametrize("issued", ["2026-10-15", "2025-11-01"])
def test_an_issue_date_before_the_end_of_the_period_is_refused(folders, issued):
    with pytest.raises(ParameterError) as raised:
        check(folders, issue_date=issued)
    assert str(raised.value).endswith(
        f"entry issue_date: {issued} is before the end of 2026-10 (2026-10-31): the invoices "
        "would be dated before the usage they bill; give a date from 2026-10-31 on, or leave it "
        "empty for 2026-11-01"
    )
    assert check(folders, issue_date="2026-10-31").issue_date.isoformat() == "2026-10-31"


def test_an_issue_date_far_in_the_future_is_refused_as_a_typo(folders):
    """2027-11-01 typed for 2026-11-01: invoices, due dates and journal entries a year ahead,
    in another fiscal year, and nothing said."""
    from datetime import date

    from billing_lib.run_parameters import issued_too_far_ahead

    assert issued_too_far_ahead(date(2027, 11, 1), date(2026, 12, 1)) == (
        "2027-11-01 is 335 days after today (2026-12-01): invoices, due dates and journal "
        "entries would be dated in the future, most likely a typo of the year or month; give the "
        "date they are issued (at most 62 days ahead)"
    )
    # a run made before its month ends, dated the first of the next month, is fine
    assert issued_too_far_ahead(date(2027, 1, 1), date(2026, 12, 1)) is None
    assert issued_too_far_ahead(date(2027, 1, 31), date(2026, 12, 1)) is None
    with pytest.raises(ParameterError, match="entry issue_date: 2099-11-01 is .* days after today"):
        check(folders, issue_date="2099-11-01")


def test_a_month_in_the_future_is_refused_as_the_period_not_the_issue_date(folders):
    """``billing run --period 2027-05`` typed for 2026-05, no ``--issue-date``: the command started
    the notebook's kernel, which stopped in cell [3] on "entry issue_date: 2027-06-01 is 181
    days after today ... give the date they are issued", a date the analyst never gave. The
    period is named, before anything starts."""
    from datetime import date

    today = date.today()
    period = f"{today.year + 1}-{today.month:02d}"  # a year typed one too high
    with pytest.raises(ParameterError, match=f"entry period: {period} has not begun"):
        check(folders, period=period)
    argv = [BILLING, "run", "--quiet", "--period", period]
    for name, folder in folders.items():
        argv += [f"--{name}", str(folder)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.startswith(
        f"error: billing run, entry --period: {period} has not begun (today is "
        f"{today.isoformat()}): its invoices would be dated "
    ), result.stderr
    assert "a typo of the year or month? Give the month to bill" in result.stderr
    assert "issue_date" not in result.stderr and "cell" not in result.stderr
    assert not folders["output"].exists()  # no kernel started, nothing kept


def test_a_reports_folder_without_known_reports_is_refused(folders, tmp_path):
    with pytest.raises(InputError, match="no such reports folder"):
        check(folders, reports=tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a report")
    with pytest.raises(InputError, match="no vendor report in this folder") as caught:
        check(folders, reports=empty)
    assert "subfolder" not in str(caught.value)
    # the month's folder given for its reports/ subfolder: the message names the subfolder
    month = tmp_path / "2026-10"
    (month / "reports").mkdir(parents=True)
    (month / "reports" / "aws.csv.gz").write_bytes(b"")
    with pytest.raises(InputError, match="no vendor report in this folder") as caught:
        check(folders, reports=month)
    assert f"its subfolder(s) {month / 'reports'} hold reports: give that folder" in str(
        caught.value
    )
    (folders["reports"] / "other.csv").write_text("date,amount\n2026-10-01,3\n")
    with pytest.raises(InputError, match="other.csv: not a known vendor report format"):
        check(folders)


def test_reports_in_a_subfolder_of_the_reports_folder_are_refused_naming_it(folders):
    """AWS Data Exports lay a month out as <export>/data/BILLING_PERIOD=2026-10/*.parquet; that
    tree copied into the month's folder beside the Microsoft files was listed among the run's
    warnings as "a subfolder" and every AWS charge was on no invoice."""
    reports = folders["reports"]
    data = reports / "aws-export" / "data" / "BILLING_PERIOD=2026-10"
    data.mkdir(parents=True)
    (data / "aws-export-00001.snappy.parquet").write_bytes(b"PAR1")
    (reports / "aws-export" / "metadata").mkdir()
    (reports / "aws-export" / "metadata" / "manifest.json").write_text("{}")
    (reports / "archive").mkdir()  # a subfolder holding no report: listed only, as before
    (reports / "archive" / "notes.txt").write_text("September's notes")
    (reports / "platform").mkdir()  # the platforms' exports: read by the review and the sync
    (reports / "platform" / "subscriptions.csv").write_text("a,b\n")
    with pytest.raises(InputError) as caught:
        check(folders)
    message = str(caught.value)
    assert message.startswith(
        f"{reports / 'aws-export'}: a subfolder holding 1 vendor report file(s) "
        "(aws-export/data/BILLING_PERIOD=2026-10/aws-export-00001.snappy.parquet): a run reads "
        "the reports of the folder it is given, not of its subfolders, so their charges would "
        "be on no invoice"
    ), message
    assert [p.file for p in caught.value.problems] == [
        str(data / "aws-export-00001.snappy.parquet")
    ]
    shutil.rmtree(reports / "aws-export")
    assert check(folders).reports_found == (("cur.csv", "AWS Cost and Usage Report (legacy)"),)


def test_a_missing_parameters_folder_is_refused(folders, tmp_path):
    with pytest.raises(ParameterError, match="entry parameters.*no such parameters folder"):
        check(folders, parameters=tmp_path / "nope")


def test_a_relative_output_from_a_working_directory_of_no_project_is_refused(
    folders, tmp_path_factory, monkeypatch
):
    """papermill run from another working directory (a scheduler's) with the reports and
    parameters given absolute and ``output`` left "outputs": it was taken from the working
    directory, where a new outputs folder was made with an empty invoice register, and the month
    numbered from 1 again (as ``billing run`` without --output did). Refused naming ``output``;
    an outputs folder there already is used, as is one of the project folder."""
    elsewhere = tmp_path_factory.mktemp("scheduler")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(
        ParameterError,
        match=r"entry output: 'outputs' is relative, and the working directory .*scheduler\d* "
        r"is no project folder \(none upwards holds parameters/\) and has no outputs folder",
    ):
        check(folders, output="outputs")
    assert not (elsewhere / "outputs").exists()
    (elsewhere / "outputs").mkdir()
    assert check(folders, output="outputs").output == elsewhere / "outputs"
    monkeypatch.chdir(folders["parameters"].parent)  # a project folder: its outputs are made
    assert check(folders, output="outputs").output == folders["parameters"].parent / "outputs"


def test_a_folder_relative_to_the_notebook_s_folder_is_named_not_taken_elsewhere(
    folders, monkeypatch
):
    """In JupyterLab the kernel runs in notebooks/; a folder given relative to it
    (``output = "../outputs"``) was taken from the project folder, where it is another folder:
    a new outputs folder beside the project with an empty invoice register, the month numbered
    from 1 again; ``reports = "../reports"`` read "no such reports folder". Refused naming the
    parameter and the folder it means; a folder as given from the project folder stays."""
    project = folders["parameters"].parent
    notebooks = project / "notebooks"
    notebooks.mkdir()
    (project / "outputs").mkdir()
    monkeypatch.chdir(notebooks)
    for name, folder in (("output", "outputs"), ("reports", "reports")):
        with pytest.raises(
            ParameterError,
            match=rf"entry {name}: '\.\./{folder}': relative folders are taken from the "
            rf"project folder {project}, where it is {project.parent}/{folder}, which does not "
            rf"exist; the folder {project}/{folder} is '{folder}' from there",
        ):
            check(folders, **{name: f"../{folder}"})
    assert not (project.parent / "outputs").exists()
    assert check(folders, output="outputs").output == project / "outputs"
    assert check(folders, reports="reports").reports == project / "reports"


def test_a_folder_in_the_home_folder_is_read_from_there(folders, monkeypatch):
    """``reports = "~/vendor-reports/2026-10"`` in the parameters cell (no shell expands it
    there) was taken as a folder named "~" in the project folder: "no such reports folder"."""
    home = folders["parameters"].parent
    monkeypatch.setenv("HOME", str(home))
    checked = check(folders, reports="~/reports", parameters="~/parameters", output="~/outputs")
    assert (checked.reports, checked.parameters) == (folders["reports"], folders["parameters"])
    assert checked.output == folders["output"]


def test_a_parameters_file_given_for_the_parameters_folder_is_named_a_file(folders):
    """``parameters = "parameters/customers.yaml"`` read "no such parameters folder", of a path
    the analyst sees exists."""
    given = folders["parameters"] / "customers.yaml"
    given.write_text("customers: []\n")
    with pytest.raises(
        ParameterError,
        match=r"entry parameters: .*/customers\.yaml: a file, not a folder; expected the "
        r"parameters folder \(holding customers\.yaml, price_plans\.yaml, accounts\.csv\): "
        r".*/parameters\?$",
    ):
        check(folders, parameters=given)


def test_folders_given_into_one_another_are_refused_before_anything_is_written(folders):
    # the run's folder and register among the vendor's reports (read, or listed as not read, next
    # month) or the parameters: it went through before
    with pytest.raises(
        ParameterError,
        match=r"entry output: .*/reports: in the reports folder .*/reports: the run's invoices "
        r"and register would be mixed with the reports; give an outputs folder of its own",
    ):
        check(folders, output=folders["reports"])
    with pytest.raises(ParameterError, match=r"entry output: .*/parameters/out: in the parameters"):
        check(folders, output=folders["parameters"] / "out")
    (folders["parameters"] / "customers.yaml").write_text("customers: []\n")
    with pytest.raises(
        ParameterError,
        match=r"entry reports: .*/parameters: holds customers.yaml, a parameters folder's files, "
        r"not vendor reports \(the reports and parameters folders given the other way round\?\)",
    ):
        check(folders, reports=folders["parameters"], parameters=folders["reports"])
    assert [p.name for p in folders["reports"].iterdir()] == ["cur.csv"]  # nothing written
    assert not folders["output"].exists()


def test_reports_or_parameters_in_a_run_folder_of_the_outputs_folder_are_refused(folders):
    """A run replaces ``outputs/<period>/`` whole: the reports put in ``outputs/2026-10/`` and
    billed from there were deleted by publishing the run (its manifest naming a folder that is
    its own). Refused, as any run folder of the outputs folder (a run of that month replaces it
    in turn); a folder of the outputs folder that is no run's is not."""
    runs = folders["output"]
    for name, folder in (("reports", runs / "2026-10"), ("parameters", runs / "2026-09" / "p")):
        shutil.copytree(folders[name], folder)
        with pytest.raises(
            ParameterError,
            match=rf"entry {name}: .*/outputs/{folder.relative_to(runs)}: in the run folder "
            rf".*/outputs/{folder.relative_to(runs).parts[0]} of the outputs folder, which a "
            r"run of that month replaces whole",
        ):
            check(folders, **{name: folder})
    assert [p.name for p in (runs / "2026-10").iterdir()] == ["cur.csv"]
    shutil.copytree(folders["reports"], runs / "vendor-reports")
    assert check(folders, reports=runs / "vendor-reports").reports == runs / "vendor-reports"


def test_a_reports_file_given_for_the_folder_is_named(folders):
    with pytest.raises(InputError, match=r"cur.csv: a file, not a reports folder: give the folder"):
        check(folders, reports=folders["reports"] / "cur.csv")


def finished(folder: Path, finalised: bool = False) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"earlier": true}')
    (folder / "invoice.xlsx").write_bytes(b"earlier invoice")
    if finalised:
        (folder / publishing.FINALISED_MARKER).write_text("finalised 2026-11-02T08:00:00+00:00")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file but the lock file (its text names the last holder)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".billing.lock"
    }


def test_a_finalised_run_is_refused_before_anything_is_read_and_stays_untouched(folders):
    earlier = finished(folders["output"] / "2026-10", finalised=True)
    before = snapshot(folders["output"])
    with pytest.raises(RunError, match="the run for 2026-10 is finalised"):
        check(folders)
    staging = run.new_staging(folders["output"], "2026-10")
    (staging / "manifest.json").write_text("{}")
    with pytest.raises(RunError, match="finalised"):
        run.publish(staging, folders["output"], "2026-10")
    run.discard(staging)
    assert snapshot(folders["output"]) == before
    assert sorted(p.name for p in folders["output"].iterdir()) == [".billing.lock", earlier.name]


def test_a_finalised_marker_with_damaged_text_still_refuses_the_rerun(folders):
    earlier = finished(folders["output"] / "2026-10", finalised=True)
    (earlier / publishing.FINALISED_MARKER).write_bytes(b"finalised \x89\xff 2026-11-02")
    with pytest.raises(RunError, match="the run for 2026-10 is finalised .finalised \ufffd\ufffd"):
        check(folders)


def test_a_finalised_month_whose_marker_was_deleted_is_refused_before_anything_is_read(
    finalised_sample_outputs, tmp_path
):
    """The ``FINALISED`` marker of a finalised month deleted by hand (a clean-up, a copy that
    left it out): the rerun read, imported and rated the whole month and was refused only at
    numbering, by the register ("finalised; they cannot be numbered again"), with nothing said
    of the marker. It is refused in the parameters step, naming the marker and the way out
    (``billing finalise`` writes it again, the run's files checked); then the marker refuses it
    as before."""
    from billing_lib import cli

    outputs = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    marker = outputs / "2026-10" / publishing.FINALISED_MARKER
    marker.unlink()
    reports, parameters = REPO / "samples" / "2026-10" / "reports", REPO / "parameters"
    with pytest.raises(RunError) as refused:
        run_parameters.check_parameters("2026-10", reports, parameters, outputs)
    text = str(refused.value)
    assert f"{outputs / 'invoice_register.sqlite'} has 2026-10 as finalised" in text, text
    assert f"no {publishing.FINALISED_MARKER} marker" in text, text
    assert f"billing finalise --period 2026-10 --output {outputs}" in text, text
    assert not marker.exists()
    assert cli.main(["finalise", "--period", "2026-10", "--output", str(outputs)]) == 0
    assert marker.is_file()
    with pytest.raises(RunError, match="the run for 2026-10 is finalised"):
        run_parameters.check_parameters("2026-10", reports, parameters, outputs)


def test_a_report_billed_in_another_period_is_refused_but_not_by_the_period_s_own_rerun(folders):
    """The same file in the run folder of the period billed again is its rerun, not a repeat; in
    a run folder of another month, not finalised, the way out names billing that month again."""
    digest = hashlib.sha256((folders["reports"] / "cur.csv").read_bytes()).hexdigest()
    for month in ("2026-09", "2026-10"):
        folder = folders["output"] / month
        folder.mkdir(parents=True)
        inputs = [{"file": f"cur-{month}.csv", "sha256": digest, "bytes": 1}]
        (folder / "manifest.json").write_text(json.dumps({"inputs": inputs}))
    with pytest.raises(InputError) as err:
        check(folders)
    assert str(err.value).endswith(
        "if one is 2026-10's own and the run of 2026-09 read it by mistake, bill that month "
        "again with its own reports first:\n"
        f"  - cur.csv: billed in 2026-09 by the run in {folders['output'] / '2026-09'} (not "
        "finalised): the same file, by sha256, as the report cur-2026-09.csv its manifest.json "
        "lists"
    )
    shutil.rmtree(folders["output"] / "2026-09")
    assert check(folders).reports_found  # billed in 2026-10 only: this run is its rerun


def test_publishing_swaps_the_whole_folder_and_leaves_nothing_behind(folders):
    out = folders["output"]
    finished(out / "2026-10")
    staging = run.new_staging(out, "2026-10")
    assert staging.parent == out and staging.name.startswith(".staging-2026-10-")
    (staging / "manifest.json").write_text('{"new": true}')
    published = run.publish(staging, out, "2026-10")
    assert published == out / "2026-10"
    assert snapshot(published) == {
        "manifest.json": b'{"new": true}'
    }  # nothing of the earlier run mixed in
    assert sorted(p.name for p in out.iterdir()) == [".billing.lock", "2026-10"]


def test_an_incomplete_staging_folder_is_never_published(folders):
    out = folders["output"]
    earlier = finished(out / "2026-10")
    before = snapshot(earlier)
    staging = run.new_staging(out, "2026-10")
    (staging / "invoice.xlsx").write_bytes(b"half written")
    with pytest.raises(RunError, match="no manifest.json"):
        run.publish(staging, out, "2026-10")
    assert snapshot(earlier) == before


def test_finished_runs_are_the_published_period_folders(folders):
    out = folders["output"]
    finished(out / "2026-09")
    finished(out / "2026-10")
    (out / ".staging-2026-11-abcd1234").mkdir()
    (out / "scratch").mkdir()
    assert analysis.finished_runs(out) == ["2026-09", "2026-10"]
    with pytest.raises(RunError, match="no finished run for \\['2026-08'\\]"):
        analysis.load_summary(out, ["2026-08"])


def test_relative_paths_resolve_against_the_project_folder(tmp_path, monkeypatch):
    (tmp_path / "parameters").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # where JupyterLab and nbval start the kernel
    assert run_parameters.project_dir() == tmp_path
    monkeypatch.chdir(tmp_path)  # where papermill and `billing run` start it
    assert run_parameters.project_dir() == tmp_path
    assert json.dumps(publishing.package_versions())  # recorded in every manifest


# -- the sample month end to end ---------------------------------------------------------------

SAMPLE = REPO / "samples" / "2026-10" / "reports"


def test_the_sample_month_gives_a_complete_run_folder(sample_outputs):
    folder = sample_outputs / "2026-10"
    names = {p.name for p in folder.iterdir()}
    assert {"manifest.json", "invoice_summary.csv", "rated_lines.parquet"} <= names
    assert any(n.endswith(".xlsx") for n in names) and any("journal" in n for n in names)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {i["file"] for i in manifest["inputs"]} == {
        p.name for p in SAMPLE.iterdir() if p.is_file()
    }
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"] + manifest["parameter_files"])
    assert all(c["balanced"] for c in manifest["control_totals"])
    assert all(b["difference"] == "0.00" for b in manifest["ledger_balance"])
    assert manifest["counts"]["invoices"] == len(manifest["invoices"]) > 0
    # nothing hidden left but the lock file (the lock itself died with the run)
    assert [p.name for p in sample_outputs.iterdir() if p.name.startswith(".")] == [".billing.lock"]


def test_a_failed_run_leaves_the_earlier_run_untouched(sample_outputs, tmp_path):
    out = Path(shutil.copytree(sample_outputs, tmp_path / "outputs"))
    folder = out / "2026-10"
    before = snapshot(folder)
    broken = tmp_path / "broken-parameters"
    shutil.copytree(REPO / "parameters", broken)
    (broken / "customers.yaml").write_text("customers:\n  - id: C1\n    name: only a name\n")
    with pytest.raises(ParameterError, match="customers.yaml"):
        run.run_all("2026-10", SAMPLE, broken, out)
    assert snapshot(folder) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


def test_a_finalised_sample_run_refuses_to_be_run_again(finalised_sample_outputs, tmp_path):
    out = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    folder = out / "2026-10"
    assert (folder / publishing.FINALISED_MARKER).is_file()
    before = snapshot(folder)
    with pytest.raises(RunError, match="finalised"):
        run.run_all("2026-10", SAMPLE, REPO / "parameters", out)
    assert snapshot(folder) == before


def test_a_report_a_run_of_another_period_billed_is_refused_naming_that_run(
    finalised_sample_outputs, tmp_path
):
    """October's Partner Center reconciliation left in November's reports folder: its licence
    cycles reach into November, so the per-file period check lets it through, and every line of
    it (C005's annual renewal among them) would be billed a second time. Refused by sha256 against
    the reports October's manifest lists, a zip's member too, before anything is read or
    written; November's own report is not named."""
    out = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    november = tmp_path / "reports-2026-11"
    november.mkdir()
    (november / "cur.csv").write_text(CUR_HEADER + CUR_ROW.replace("2026-10-01", "2026-11-01"))
    shutil.copy(SAMPLE / "ms-invoice-reconciliation-G052026103.csv", november)
    with zipfile.ZipFile(november / "vmware.zip", "w") as zf:
        zf.write(SAMPLE / "vmware-usage-meter-customer-monthly-usage-2026-10.csv", "usage.csv")
    before = snapshot(out)
    with pytest.raises(InputError, match="already billed; billing them in 2026-11") as err:
        run.run_all("2026-11", november, REPO / "parameters", out)
    text = str(err.value)
    named = [line for line in text.splitlines() if line.startswith("  - ")]
    assert named == [
        f"  - ms-invoice-reconciliation-G052026103.csv: billed in 2026-10 by the run in "
        f"{out / '2026-10'} (finalised): the same file, by sha256, as the report "
        "ms-invoice-reconciliation-G052026103.csv its manifest.json lists",
        f"  - vmware.zip!usage.csv: billed in 2026-10 by the run in {out / '2026-10'} "
        "(finalised): the same file, by sha256, as the report "
        "vmware-usage-meter-customer-monthly-usage-2026-10.csv its manifest.json lists",
    ]
    assert "bill that month again" not in text  # October is finalised: no rerun to offer
    assert snapshot(out) == before  # no 2026-11 folder, the register as it was


#: AWS accounts of parameters/accounts.csv (C001, C002)
MAPPED = ("402719385610", "518204736291")


def _cur(
    cost: str, account: str = MAPPED[0], line: str = "id-1", payer: str = "999999999999"
) -> str:
    """A legacy CUR of one line; reports of one month beside each other are of payers of their
    own (two of one payer's month are two deliveries, refused: importers/deliveries.py)."""
    return CUR_HEADER + CUR_ROW.replace("id-1,999,111", f"{line},{payer},{account}").replace(
        "1.25", cost
    )


@pytest.mark.parametrize("touched_only", [False, True])
def test_a_report_changed_while_the_run_read_it_is_refused_before_it_is_published(
    tmp_path, touched_only
):
    """A sync or download writing into the reports folder while the run reads it (AWS updates a
    month's CUR several times a day): the invoices bill the report as it was imported, and the
    manifest recorded the sha256 of the file as it was when the manifest was written, so the
    run folder said it billed bytes it never read (``billing reissue`` then took the new report
    for the one the month billed; a report added meanwhile was listed as billed, so the next
    month refused it as billed already). The run refuses before anything is published, naming
    each file changed, added or removed; a report only touched (the same bytes) passes."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cur.csv").write_text(_cur("10.25"))
    (reports / "cur-b.csv").write_text(_cur("3.50", MAPPED[1], "id-2", "999999999992"))
    with zipfile.ZipFile(reports / "cur-z.zip", "w") as zf:
        zf.writestr("cur-z.csv", _cur("2.75", MAPPED[1], "id-3", "999999999993"))
    out = tmp_path / "outputs"
    br = run.start("2026-10", reports, REPO / "parameters", out)
    try:
        br.load_parameters()
        br.import_reports()
        if touched_only:  # the same bytes written again
            (reports / "cur.csv").write_text((reports / "cur.csv").read_text())
        else:
            (reports / "cur.csv").write_text(_cur("99.25"))  # the vendor's newer version
            (reports / "cur-c.csv").write_text(_cur("1.00", MAPPED[1], "id-4", "999999999994"))
            (reports / "cur-b.csv").unlink()
            zipped = hashlib.sha256((reports / "cur-z.zip").read_bytes()).hexdigest()
            with zipfile.ZipFile(reports / "cur-z.zip", "w") as zf:
                zf.writestr("cur-z.csv", _cur("7.75", MAPPED[1], "id-3", "999999999993"))
            rezipped = hashlib.sha256((reports / "cur-z.zip").read_bytes()).hexdigest()
        for step in ("map_customers", "rate", "build_invoices", "write_outputs", "ledger_balance"):
            getattr(br, step)()
        if touched_only:
            br.write_manifest()
            assert br.publish().startswith("published 2026-10")
            return
        with pytest.raises(RunError) as err:
            br.write_manifest()
    finally:
        if br.lock is not None:
            br.lock.release()
    assert str(err.value).splitlines() == [
        f"{reports}: the reports folder changed while the run read it, so the invoices bill the "
        "reports as they were read, not what the folder holds now:",
        "  - cur-b.csv: removed since the run read it",
        "  - cur-c.csv: added since the run read the folder; not billed",
        f"  - cur-z.zip: changed since the run read it (sha256 {zipped[:16]}... then, "
        f"{rezipped[:16]}... now)",
        f"  - cur.csv: changed since the run read it (sha256 {_sha(_cur('10.25'))[:16]}... then, "
        f"{_sha(_cur('99.25'))[:16]}... now)",
        "Nothing was published and no invoice number was used. Run again once the folder is "
        "complete (a sync or a download still under way?)",
    ]
    assert not (out / "2026-10").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


@pytest.mark.parametrize("removed", ["a report", "a zip's member"])
def test_a_report_removed_between_the_run_s_start_and_its_import_is_refused(tmp_path, removed):
    """A report removed from the reports folder after the run's parameters were checked (they
    list the reports and their sha256) and before the import: the import read the others only,
    yet the manifest's ``inputs`` listed it as billed (the run folder said it billed a report it
    never read, the next month refused that report as billed already, and ``billing reissue``
    compared against it). The import refuses, naming it, as a report changed or added at that
    point; nothing is imported, and a run started again bills what the folder holds."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cur.csv").write_text(_cur("10.25"))
    (reports / "cur-b.csv").write_text(_cur("3.50", MAPPED[1], "id-2", "999999999992"))
    with zipfile.ZipFile(reports / "cur-z.zip", "w") as zf:
        zf.writestr("z1.csv", _cur("2.75", MAPPED[1], "id-3", "999999999993"))
        zf.writestr("z2.csv", _cur("1.75", MAPPED[1], "id-4", "999999999994"))
    out = tmp_path / "outputs"
    br = run.start("2026-10", reports, REPO / "parameters", out)
    try:
        br.load_parameters()
        if removed == "a report":
            (reports / "cur-b.csv").unlink()
            gone = reports / "cur-b.csv"
        else:
            with zipfile.ZipFile(reports / "cur-z.zip", "w") as zf:
                zf.writestr("z1.csv", _cur("2.75", MAPPED[1], "id-3", "999999999993"))
            gone = f"{reports / 'cur-z.zip'}!z2.csv"
        with pytest.raises(InputError) as err:
            br.import_reports()
        assert str(err.value).startswith(
            f"{gone}: removed since the run started (its parameters were checked with it); "
            "nothing was imported: start again"
        ), str(err.value)
        assert br.imports == []
    finally:
        if br.lock is not None:
            br.lock.release()
    assert not (out / "2026-10").exists()
    published = run.run_all("2026-10", reports, REPO / "parameters", out)
    recorded = json.loads((published / "manifest.json").read_text())
    billed = [c["file"] for c in recorded["input_contents"]]
    assert billed == (
        ["cur-z.zip!z1.csv", "cur-z.zip!z2.csv", "cur.csv"]
        if removed == "a report"
        else ["cur-b.csv", "cur-z.zip!z1.csv", "cur.csv"]
    )
    assert [i["file"] for i in recorded["inputs"]] == sorted({b.split("!")[0] for b in billed})


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_rerun_from_a_store_in_a_database_file_writes_the_same_files_byte_for_byte(
    sample_outputs, tmp_path, monkeypatch
):
    """Reproducible runs: the same inputs give the same rated_lines.parquet, invoice summary,
    journals, workbooks, PDFs and e-invoices (the manifest's checksums then prove a rerun changed
    nothing), whether the month is stored in memory (the first run) or, as a month beyond
    DuckDB's memory limit is, in a database file (``store.open_run_store``; this rerun)."""
    from billing_lib import store

    opened: list[str] = []

    def recorded(database=":memory:", **limits):
        opened.append(str(database))
        return open_store(database, **limits)

    open_store = store.open_store
    monkeypatch.setattr(store, "open_store", recorded)
    # the sample month's 0.3 MB of reports as if each byte took a MB in memory
    monkeypatch.setattr(store, "STORE_BYTES_PER_REPORT_BYTE", 10**6)
    second = run.run_all("2026-10", SAMPLE, REPO / "parameters", tmp_path / "b")
    assert opened[-1].endswith(store.STORE_FILE)
    gc.collect()
    assert not Path(opened[-1]).parent.exists()  # the folder went with the run's connection
    first = sample_outputs / "2026-10"
    names = sorted(
        str(p.relative_to(first))
        for p in first.rglob("*")
        if p.is_file() and p.name != "manifest.json"  # its run id and times
    )
    assert {"rated_lines.parquet", "invoice_summary.csv", "journal_2026-10.csv"} <= set(names)
    assert {"invoices.json", "invoices/NW2026-000001_C001.pdf"} <= set(names)
    assert {n: (first / n).read_bytes() for n in names} == {
        n: (second / n).read_bytes() for n in names
    }


def _delivery_manifest(path, files: list[str], execution: str = "20261102T0508Z") -> str:
    """A Data Exports manifest of the reports ``files``; its sha256."""
    path.write_text(
        json.dumps(
            {"executionId": execution, "dataFiles": [f"s3://b/cur/data/{f}" for f in files]}
        ),
        encoding="utf-8",
    )
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("when", ["before the import", "after the import"])
def test_a_delivery_manifest_the_run_used_is_recorded_and_one_changed_meanwhile_is_refused(
    tmp_path, when
):
    """The run folder's manifest.json lists the delivery manifests the import checked the
    deliveries with (``delivery_manifests``, not among the reports billed: ``inputs``); one
    changed between the run's start and its import, or after the import, is refused as a
    report is (the run would record a check it never made)."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cur.csv").write_text(_cur("10.25"))
    manifest = reports / "cur-Manifest.json"
    checked = _delivery_manifest(manifest, ["cur.csv"])
    out = tmp_path / "outputs"
    br = run.start("2026-10", reports, REPO / "parameters", out)
    try:
        br.load_parameters()
        if when == "before the import":
            newer = _delivery_manifest(manifest, ["cur.csv"], "20261103T0508Z")
            with pytest.raises(InputError, match=rf"{manifest}: changed since the run's param"):
                br.import_reports()
            _delivery_manifest(manifest, ["cur.csv"])  # as checked: the run goes on
        br.import_reports()
        for step in ("map_customers", "rate", "build_invoices", "write_outputs", "ledger_balance"):
            getattr(br, step)()
        if when == "after the import":
            newer = _delivery_manifest(manifest, ["cur.csv"], "20261103T0508Z")
            with pytest.raises(RunError) as err:
                br.write_manifest()
            assert (
                f"  - cur-Manifest.json: a delivery manifest changed since the run read it "
                f"(sha256 {checked[:16]}... then, {newer[:16]}... now)"
            ) in str(err.value).splitlines()
            _delivery_manifest(manifest, ["cur.csv"])  # as read: the run goes on
            for step in ("build_invoices", "write_outputs", "ledger_balance"):
                getattr(br, step)()
        br.write_manifest()
        assert br.publish().startswith("published 2026-10")
    finally:
        if br.lock is not None:
            br.lock.release()
    recorded = json.loads((out / "2026-10" / "manifest.json").read_text())
    assert recorded["delivery_manifests"] == [{"file": "cur-Manifest.json", "sha256": checked}]
    assert [i["file"] for i in recorded["inputs"]] == ["cur.csv"]


def test_the_run_s_insight_charts_state_the_invoices_figures(tmp_path):
    """The billing-run notebook's charts (``BillingRun.summary``) summed the rated lines
    unrounded: C002's point read revenue 5701.30 and margin 882.59 under the invoice table
    stating 5701.29 and 882.58 (C004's cost 13189.92 against 13189.94, C008's USD 2045.86
    against 2045.85), and VMware's cost 5387.47 against the 5387.49 its journal entry books as
    cost of sales. Each invoice line is rounded once and shared, as the margin notebook does."""
    br = run.start(
        "2026-10",
        REPO / "samples" / "2026-10" / "reports",
        REPO / "parameters",
        tmp_path / "outputs",
    )
    try:
        for step in ("load_parameters", "import_reports", "map_customers", "rate"):
            getattr(br, step)()
        invoices = br.build_invoices().set_index("customer_id")
        by_customer = br.summary(["customer"])
        by_vendor = br.summary(["vendor"]).set_index(["vendor", "currency"])
    finally:
        if br.lock is not None:
            br.lock.release()
    shown = by_customer.assign(customer=by_customer["customer"].str.split().str[0])
    shown = shown.set_index("customer")
    assert sorted(shown.index) == sorted(invoices.index)
    for customer, inv in invoices.iterrows():
        row = shown.loc[customer]
        assert (row["currency"], row["revenue"], row["cost"], row["margin"]) == (
            inv["currency"],
            inv["net"],
            inv["cost"],
            inv["margin"],
        ), customer
    assert shown.loc["C002", "revenue"] == Decimal("5701.29")
    assert by_vendor.loc[("vmware", "EUR"), "cost"] == Decimal("5387.49")  # the journal's
    assert by_vendor["lines"].sum() == 877  # every rated line counted once
