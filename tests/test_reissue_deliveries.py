"""``billing reissue`` of a month whose AWS report came with its delivery's manifest
(``<export>-Manifest.json`` beside the parts): the reissue bills the reports the finalised run
billed, so a manifest other than the one that run checked the delivery by (AWS refreshed the
month since: a manifest naming new parts, or the same names of a later delivery) is refused
naming it and what differs; a manifest removed since leaves the run's reports to bill, as the
run checked them. The reissued invoice's manifest records the delivery manifests it read."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from billing_lib import run, run_parameters
from billing_lib.corrections import issue_credit_note
from billing_lib.errors import RunError
from billing_lib.reissue import reissue_invoice
from tests.notebook_project import PERIOD, REPO
from tests.test_reissue import (
    CREDITED,
    ORIGINAL,
    REISSUED,
    REPORTS,
    assert_nothing_reissued,
    corrected_parameters,
    register_rows,
)

AWS = "aws-cur2-northwind-2026-10-00001.snappy.parquet"
MANIFEST = "aws-cur2-northwind-Manifest.json"
DATA = "s3://northwind-billing/exports/aws-cur2-northwind/data/BILLING_PERIOD=2026-10"


def _delivery_manifest(reports: Path, files: list[str], execution: str) -> str:
    """The Data Exports manifest of ``reports`` listing ``files`` (AWS's fields: executionId,
    billingPeriod, dataFiles as full S3 URIs); its sha256."""
    path = reports / MANIFEST
    path.write_text(
        json.dumps(
            {
                "executionId": execution,
                "billingPeriod": {"start": "20261001T000000.000Z"},
                "dataFiles": [f"{DATA}/{f}" for f in files],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def delivered(tmp_path_factory) -> tuple[Path, str]:
    """The sample month billed from its reports with the AWS delivery's manifest beside them
    (``reports/``), finalised, and NW2026-000002 credited (``outputs/``); the folder holding
    both, and the manifest's sha256 as the run recorded it. Tests copy the folder."""
    base = tmp_path_factory.mktemp("delivered")
    reports = Path(shutil.copytree(REPORTS, base / "reports"))
    checked = _delivery_manifest(reports, [AWS], "20261102T0508Z")
    params = Path(
        shutil.copytree(
            REPO / "parameters", base / "run-parameters", ignore=shutil.ignore_patterns("local")
        )
    )
    run.run_all(PERIOD, reports, params, base / "outputs", finalise=True)
    issue_credit_note(base / "outputs", ORIGINAL, CREDITED, "Managed services at the old price")
    recorded = json.loads((base / "outputs" / PERIOD / "manifest.json").read_text())
    assert recorded["delivery_manifests"] == [{"file": MANIFEST, "sha256": checked}]
    return base, checked


def _copy(delivered: tuple[Path, str], to: Path) -> tuple[Path, Path, Path]:
    """A private copy of ``delivered``: its reports, outputs and corrected parameters."""
    base = Path(shutil.copytree(delivered[0], to / "month"))
    return base / "reports", base / "outputs", corrected_parameters(to)


@pytest.mark.parametrize(
    "refreshed",
    [
        [AWS, AWS.replace("-00001.", "-00002.")],  # the month restated in two parts
        [AWS],  # restated in one, overwriting the same name (only the manifest synced)
    ],
    ids=["a new part", "the same names"],
)
def test_a_delivery_manifest_aws_refreshed_since_the_run_is_refused_naming_it(
    delivered, tmp_path, refreshed
):
    """AWS refreshed October after the run was finalised and a sync brought its new manifest
    beside the run's part. Naming a second part, the reissue was refused by the import, telling
    to download the delivery again (whose new parts the reissue refuses as not the run's); with
    the same names it was reissued in silence, checked against another delivery's manifest. Now
    refused naming the manifest, its sha256 then and now, the part the run did not read and the
    way out; nothing issued."""
    reports, outputs, params = _copy(delivered, tmp_path)
    now = _delivery_manifest(reports, refreshed, "20261204T0611Z")
    before = register_rows(outputs)
    with pytest.raises(RunError) as raised:
        reissue_invoice(outputs, ORIGINAL, params, reports, REISSUED)
    lines = str(raised.value).splitlines()
    assert lines[0].startswith(f"{reports}: not the reports {ORIGINAL} was billed from")
    problem = (
        f"  - {MANIFEST}: differs from the delivery manifest the run of {PERIOD} checked the "
        f"delivery by (sha256 {delivered[1][:16]}... then, {now[:16]}... now)"
    )
    if len(refreshed) > 1:
        problem += f"; it lists {refreshed[1]}, which that run did not read"
    assert problem in lines
    assert "move it out of the reports folder" in lines[-1]
    assert_nothing_reissued(outputs, before)


def test_a_delivery_manifest_the_run_did_not_check_is_refused(finalised_sample_outputs, tmp_path):
    """The sample month was billed without a manifest; one synced since (a refreshed month's) is
    not what the run checked the delivery by."""
    outputs = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    issue_credit_note(outputs, ORIGINAL, CREDITED, "Managed services at the old price")
    reports = Path(shutil.copytree(REPORTS, tmp_path / "reports"))
    _delivery_manifest(reports, [AWS], "20261204T0611Z")
    before = register_rows(outputs)
    with pytest.raises(RunError) as raised:
        reissue_invoice(outputs, ORIGINAL, corrected_parameters(tmp_path), reports, REISSUED)
    assert (
        f"  - {MANIFEST}: a delivery manifest the run of {PERIOD} did not check the delivery by"
        in str(raised.value).splitlines()
    )
    assert_nothing_reissued(outputs, before)


def test_a_delivery_manifest_removed_since_the_run_leaves_the_run_s_reports_to_bill(
    delivered, tmp_path
):
    """The reports are the run's by sha256, whose delivery the run checked: the manifest moved
    out (as the refusal above says) or lost, the same vendor lines are billed. Each reissued
    invoice's manifest records the delivery manifests its import read."""
    reports, outputs, params = _copy(delivered, tmp_path)
    kept = reports.parent / MANIFEST
    (reports / MANIFEST).rename(kept)
    done = reissue_invoice(outputs, ORIGINAL, params, reports, REISSUED)
    assert done.moved_lines == ()
    recorded = json.loads((done.folder / "manifest.json").read_text())
    assert recorded["delivery_manifests"] == []
    assert AWS in [i["file"] for i in recorded["inputs"]]
    # credited and reissued again with the manifest the run checked put back: recorded
    kept.rename(reports / MANIFEST)
    issue_credit_note(outputs, done.invoice.number, date(2026, 12, 7), "Its reference")
    again = reissue_invoice(outputs, done.invoice.number, params, reports, date(2026, 12, 8))
    recorded = json.loads((again.folder / "manifest.json").read_text())
    assert recorded["delivery_manifests"] == [{"file": MANIFEST, "sha256": delivered[1]}]


def test_a_delivery_manifest_changed_while_the_reissue_starts_is_refused(
    delivered, tmp_path, monkeypatch
):
    """The reports compared with the run's, then the manifest synced before the reissue's
    import checked the folder: compared again as the import read it, refused."""
    reports, outputs, params = _copy(delivered, tmp_path)
    checking = run_parameters.check_parameters

    def synced_meanwhile(*args, **kwargs):  # compared already, not checked by the import yet
        _delivery_manifest(reports, [AWS], "20261204T0611Z")
        return checking(*args, **kwargs)

    monkeypatch.setattr(run_parameters, "check_parameters", synced_meanwhile)
    before = register_rows(outputs)
    with pytest.raises(RunError, match=rf"  - {MANIFEST}: differs from the delivery manifest"):
        reissue_invoice(outputs, ORIGINAL, params, reports, REISSUED)
    assert_nothing_reissued(outputs, before)
