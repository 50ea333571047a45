"""Publishing a run folder atomically, and what a run records about itself.

Every file of a run is written into a hidden staging folder next to ``<output>/<period>/``; publishing
swaps it in with two renames on one file system, so readers see either the earlier run or the whole
new one. A folder holding the ``FINALISED`` marker is never replaced.
"""

from __future__ import annotations

import json
import platform
import secrets
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import import_module, metadata
from pathlib import Path
from typing import Any

import pandas as pd

from billing_lib.errors import RunError
from billing_lib.importers.reader import sha256_of

FINALISED_MARKER = "FINALISED"
MANIFEST = "manifest.json"
REGISTER = "invoice_register.sqlite"
#: Packages whose versions the manifest records (what can change a figure or a file).
RECORDED_PACKAGES = (
    "billing-lib",
    "duckdb",
    "pandas",
    "pyarrow",
    "pydantic",
    "pyyaml",
    "xlsxwriter",
    "babel",
    "papermill",
    "nbconvert",
    "plotly",
    "ipywidgets",
    "beancount",
    "reportlab",
    "lxml",
    "matplotlib",
)


def check_not_finalised(output: Path, period: str) -> None:
    """RunError when ``output/period`` holds a finalised run: it is immutable; a correction is a
    credit note in a later run."""
    marker = Path(output) / period / FINALISED_MARKER
    if marker.exists():
        raise RunError(
            f"{marker.parent}: the run for {period} is finalised ({marker.read_text().strip()}); "
            "it cannot be run again. Corrections go on a credit note in a later period."
        )


def checksums(files: list[Path], base: Path) -> list[dict[str, Any]]:
    return [
        {"file": str(p.relative_to(base)), "sha256": sha256_of(p), "bytes": p.stat().st_size}
        for p in sorted(files)
    ]


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a run's figures and files."""
    out = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars from pandas
        return value.item()
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [jsonable(dict(zip(df.columns, row))) for row in df.itertuples(index=False)]


def new_staging(output: Path, period: str) -> Path:
    """A fresh hidden folder next to ``output/period`` (same file system, so publishing is a rename)."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    staging = output / f".staging-{period}-{secrets.token_hex(4)}"
    staging.mkdir()
    return staging


def publish(staging: Path, output: Path, period: str) -> Path:
    """Swap ``staging`` in as ``output/period``. An earlier, unfinalised run is moved aside first and
    removed only after the new folder is in place; if the swap fails it is put back. A finalised
    earlier run is never replaced (checked again here: another run may have finished meanwhile)."""
    output, staging = Path(output), Path(staging)
    target = output / period
    check_not_finalised(output, period)
    if not (staging / MANIFEST).is_file():
        raise RunError(f"{staging}: no {MANIFEST}; only a complete run is published")
    manifest = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("finalised") is True:
        finalise_register(manifest)
        (staging / FINALISED_MARKER).write_text(
            f"finalised {datetime.now(UTC).replace(microsecond=0).isoformat()}\n", encoding="utf-8"
        )
    old: Path | None = None
    if target.exists():
        old = output / f".replaced-{period}-{secrets.token_hex(4)}"
        target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def discard(staging: Path | None) -> None:
    """Remove a staging folder of a failed run (nothing of it was published)."""
    if staging is not None and Path(staging).exists():
        shutil.rmtree(staging, ignore_errors=True)


def finalise_register(manifest: dict) -> None:
    """Make the period's invoice numbers immutable in the register."""
    path = Path(manifest["parameters"]["output"]) / REGISTER
    import_module("billing_lib.numbering").open_register(path).finalise(manifest["period"])
