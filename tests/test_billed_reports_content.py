"""A report an earlier month billed, gzipped again since (at another level, or unpacked): the same
report by its content once decompressed, refused like the same file (billing_lib.billed_reports).
One import given a report plain and gzipped refuses it by its lines
(tests/test_bad_inputs_import.py)."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from billing_lib import run, run_parameters
from billing_lib.errors import InputError
from tests.notebook_project import REPO

SAMPLE = REPO / "samples" / "2026-10" / "reports"
RECON = "ms-invoice-reconciliation-G052026103.csv"


def _gzip(source: Path, target: Path, level: int) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes(), compresslevel=level, mtime=0))
    return target


def _november(tmp_path: Path, recon: str, level: int | None) -> Path:
    """November's reports folder holding October's reconciliation file, plain (``level`` None) or
    gzipped at ``level``."""
    november = tmp_path / f"reports-{recon}-{level}"
    november.mkdir()
    if level is None:
        shutil.copy(SAMPLE / RECON, november / recon)
    else:
        _gzip(SAMPLE / RECON, november / recon, level)
    return november


def _refused(november: Path, out: Path) -> str:
    with pytest.raises(InputError, match="already billed; billing them in 2026-11") as err:
        run_parameters.check_parameters("2026-11", november, REPO / "parameters", out)
    return str(err.value)


def test_a_report_billed_plain_is_refused_gzipped(finalised_sample_outputs, tmp_path):
    """October billed the reconciliation file as CSV (its manifest lists the file's sha256, which
    is its content's); November's folder holds it gzipped."""
    out = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    text = _refused(_november(tmp_path, RECON + ".gz", 6), out)
    assert (
        f"  - {RECON}.gz: billed in 2026-10 by the run in {out / '2026-10'} (finalised): the same "
        "content once decompressed (the file gzipped again, or unpacked), by sha256, as the "
        f"report {RECON} its manifest.json lists"
    ) in text.splitlines()


def test_a_report_billed_gzipped_is_refused_unpacked_or_gzipped_again(tmp_path):
    """October billed the reconciliation file gzipped at level 9: its manifest lists the content's
    sha256 too. November's folder holds it unpacked, or gzipped at level 1."""
    october = tmp_path / "reports-2026-10"
    shutil.copytree(SAMPLE, october)
    (october / RECON).unlink()
    _gzip(SAMPLE / RECON, october / (RECON + ".gz"), 9)
    out = tmp_path / "outputs"
    folder = run.run_all("2026-10", october, REPO / "parameters", out)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    content = hashlib.sha256((SAMPLE / RECON).read_bytes()).hexdigest()
    assert {"file": RECON + ".gz", "sha256": content} in manifest["input_contents"]
    for recon, level in ((RECON, None), (RECON + ".gz", 1)):
        text = _refused(_november(tmp_path, recon, level), out)
        assert f"  - {recon}: billed in 2026-10 by the run in {out / '2026-10'} (not " in text
        assert "the same content once decompressed (the file gzipped again, or unpacked)" in text
        assert f"as the report {RECON}.gz its manifest.json lists" in text


#: October's reconciliation file saved again: as UTF-16 (Excel's "Unicode text"), as UTF-8 with a
#: BOM, with CRLF line ends (a spreadsheet's "CSV UTF-8"), and gzipped after that.
SAVED_AGAIN = {
    "utf-16": lambda text: text.encode("utf-16"),
    "bom": lambda text: codecs.BOM_UTF8 + text.encode(),
    "crlf": lambda text: text.replace("\n", "\r\n").encode(),
    "bom-crlf-gzipped": lambda text: gzip.compress(
        codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode(), mtime=0
    ),
}


@pytest.mark.parametrize("saved", SAVED_AGAIN)
def test_a_report_billed_is_refused_saved_again_in_another_encoding_or_line_ends(
    finalised_sample_outputs, tmp_path, saved
):
    """Another file, with another sha256, but the same text and so the same rows: November
    billed October's reconciliation charges a second time. October's manifest lists no text
    for the file (its text is its content as it is), as a run before texts were recorded."""
    out = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    november = tmp_path / "reports-2026-11"
    november.mkdir()
    name = RECON + (".gz" if saved.endswith("gzipped") else "")
    (november / name).write_bytes(SAVED_AGAIN[saved]((SAMPLE / RECON).read_text("utf-8")))
    text = _refused(november, out)
    assert (
        f"  - {name}: billed in 2026-10 by the run in {out / '2026-10'} (finalised): the same "
        "text once decoded (the report saved again as UTF-16, as UTF-8 with a BOM or with CRLF "
        f"line ends), by sha256, as the report {RECON} its manifest.json lists"
    ) in text.splitlines()


def test_a_report_billed_as_utf16_is_refused_as_the_vendor_s_utf8(tmp_path):
    """October billed its reconciliation file saved as UTF-16: its manifest lists the file's
    text. November's folder holds the vendor's UTF-8 file, and a copy with CRLF line ends."""
    october = tmp_path / "reports-2026-10"
    shutil.copytree(SAMPLE, october)
    (october / RECON).write_bytes((SAMPLE / RECON).read_text("utf-8").encode("utf-16"))
    out = tmp_path / "outputs"
    folder = run.run_all("2026-10", october, REPO / "parameters", out)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    text = hashlib.sha256((SAMPLE / RECON).read_bytes()).hexdigest()
    assert manifest["input_texts"] == [{"file": RECON, "sha256": text}]
    for saved in (None, "crlf"):
        november = tmp_path / f"reports-2026-11-{saved}"
        november.mkdir()
        data = (SAMPLE / RECON).read_text("utf-8")
        (november / RECON).write_bytes(SAVED_AGAIN[saved](data) if saved else data.encode())
        refused = _refused(november, out)
        assert f"  - {RECON}: billed in 2026-10 by the run in {out / '2026-10'} (not " in refused
        assert "the same text once decoded (the report saved again as UTF-16" in refused
