"""A delivery's manifest, read beside its data files: what makes the one-delivery check exact.

AWS writes a manifest with each delivery of an export: Data Exports (CUR 2.0, FOCUS)
``metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``, whose ``dataFiles`` are "the full S3
URIs of the export data files" ("We recommend identifying which files to ingest by
programmatically reading this list", the Data Exports manifest file reference); a legacy CUR
``<report>-Manifest.json`` at the top of the report's month and in each assembly folder, whose
``reportKeys`` are the S3 keys of the assembly's files (with ``assemblyId``, ``billingPeriod``).
Without it, only the part numbers of the files given tell one delivery from another
(``deliveries``, ``export_parts.delivery_part``), and ``-00001`` given alone of three parts
imports as a whole month. A manifest among the reports (a ``-Manifest.json`` file given, or a
zip member so named) is never read as a report; the import is refused when a data file it lists
is not among the reports, and when a data file of its export (the same name but for the part
number) and billing month is that it does not list: a part of an older delivery. A manifest
that cannot be read (no JSON, no list of data files, a zip member damaged or encrypted) is
refused, naming it: never skipped, which would leave its delivery unchecked. Neither kind of
AWS manifest states row counts or totals, so there are none to check.

Azure Cost Management partitions an export run (``part_0_0001.csv``, ``part_1_0001.csv`` ...) and
writes the run's ``manifest.json`` beside its parts, in ``<export>/<YYYYMMDD-YYYYMMDD>/<run
id>/``: its ``blobs`` name each part (``blobName``, its path in the storage container), as the
FinOps toolkit's hubs read them. A part it lists that is not given is refused, as above; a file
it does not list is not (the parts' names carry no export name: another scope's export run given
beside it has parts of the same names). Each blob's ``dataRowCount`` (the part's data rows, the
header not counted) is compared with the rows the import read from the part: a part cut short at
a line boundary (a download broken off) parses as a whole file, and is refused naming the part,
the manifest's count and the rows read. Blank lines are no rows of either count. The manifest's
``byteCount`` is not compared: a part unpacked from its gzip, or saved again with other line
ends, has other bytes but the same rows.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.export_parts import delivery_part
from billing_lib.importers.report_names import (
    MANIFEST_SUFFIX,
    MAX_ZIP_DEPTH,
    is_manifest,
    left_by_a_program,
)
from billing_lib.sql import ql

#: The month in a manifest's keys: Data Exports' partition, a legacy CUR's month folder.
_PARTITION = re.compile(r"BILLING_PERIOD=(\d{4})-(\d{2})")
_MONTH_FOLDER = re.compile(r"(?:^|/)(\d{4})(\d{2})01-\d{8}/")
#: The month of a line's billing period, else of its charge (as ``deliveries``).
_MONTH = "strftime(COALESCE(BillingPeriodStart, ChargePeriodStart), '%Y-%m')"


@dataclass(frozen=True)
class Manifest:
    """A delivery's manifest: ``name`` as shown (a path, or ``archive.zip!member``), the data
    files it lists (``files``, as written), the names of the exports they belong to
    (``exports``: file names without part number and ending, lower case) and the billing month
    (``YYYY-MM``; None when it names none); ``sha256``: of its bytes as read, which a run
    records (``run_manifest``) and compares with the manifest it checked at its start."""

    name: str
    files: tuple[str, ...]
    exports: frozenset[str]
    month: str | None
    sha256: str = ""
    #: the data rows of each of ``files`` (an Azure blob's ``dataRowCount``), None where the
    #: manifest states none (AWS's never do)
    rows: tuple[int | None, ...] = ()


def read_manifest(name: str, data: bytes) -> Manifest:
    """The manifest ``name`` of the bytes ``data``; InputError when it is no JSON object listing
    data files (``dataFiles`` or ``reportKeys``): its delivery could not be checked."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        doc, why = None, f"not JSON ({exc})"
    else:
        why = (
            "no list of data files (dataFiles, a legacy CUR's reportKeys, or an Azure export's "
            "blobs)"
        )
    listed = _listed(doc) if isinstance(doc, dict) else None
    if listed is None:
        raise InputError(
            f"{name}: not a delivery manifest AWS or Azure Cost Management writes: {why}. It is "
            "read to check that every data file of the delivery is given; download it again "
            "with the delivery, or move it out of the reports"
        )
    files, blobs = listed
    own = PurePosixPath(name.rsplit("!", 1)[-1]).name.lower()
    # An Azure run's parts are named part_<n>_<m> whatever their export: a file of another
    # export (another scope's run beside it) could not be told from another run of its own.
    exports: set[str] = set()
    if own.endswith(MANIFEST_SUFFIX):
        exports = {_export(f) for f in files} | {own[: -len(MANIFEST_SUFFIX)]}
    month = _month(doc, [name, *files])
    sha256 = hashlib.sha256(data).hexdigest()
    return Manifest(name, files, frozenset(exports), month, sha256, _row_counts(name, files, blobs))


def _listed(doc: dict) -> tuple[tuple[str, ...], list[dict]] | None:
    """The data files a manifest lists: AWS's ``dataFiles`` or ``reportKeys`` (texts), an Azure
    export run's ``blobs`` (objects naming each by ``blobName``); with the blobs (none for AWS).
    None when it lists none so."""
    listed = doc.get("dataFiles", doc.get("reportKeys"))
    if isinstance(listed, list) and all(isinstance(f, str) for f in listed):
        return tuple(listed), []
    blobs = doc.get("blobs")
    if isinstance(blobs, list) and all(
        isinstance(b, dict) and isinstance(b.get("blobName"), str) for b in blobs
    ):
        return tuple(b["blobName"] for b in blobs), blobs
    return None


def _row_counts(name: str, files: tuple[str, ...], blobs: list[dict]) -> tuple[int | None, ...]:
    """The data rows the manifest ``name`` states for each of its ``files``: an Azure blob's
    ``dataRowCount`` (rows without the header), None where it has none (an AWS manifest: no
    ``blobs``). InputError when one is no whole number of rows: the part could not be checked."""
    if not blobs:
        return tuple(None for _ in files)
    counts: list[int | None] = []
    for n, blob in enumerate(blobs):
        count = blob.get("dataRowCount")
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 0
        ):
            raise InputError(
                f"{name}: blobs[{n}].dataRowCount of {blob['blobName']} is {count!r}, not a number "
                "of rows; expected the manifest Cost Management wrote with the export run "
                "(download it again with the run's parts)",
                [Problem(name, None, f"blobs[{n}].dataRowCount", repr(count), "a whole number")],
            )
        counts.append(count)
    return tuple(counts)


def _export(key: str) -> str:
    """The export (or legacy report) name of the data file ``key``: its file name without part
    number and ending, lower case."""
    return delivery_part(PurePosixPath(key).name).export[2]


def _month(doc: dict, keys: list[str]) -> str | None:
    """The billing month a manifest is of: its ``billingPeriod.start`` (``20231101T000000.000Z``
    or ISO) or an Azure run's ``runInfo.startDate``, else the partition or month folder in its
    own name or its keys."""
    start = next(
        (
            doc[k].get(field)
            for k, field in (("billingPeriod", "start"), ("runInfo", "startDate"))
            if isinstance(doc.get(k), dict)
        ),
        None,
    )
    if isinstance(start, str) and (m := re.match(r"(\d{4})-?(\d{2})", start)):
        return f"{m.group(1)}-{m.group(2)}"
    for key in keys:
        if m := _PARTITION.search(key) or _MONTH_FOLDER.search(key):
            return f"{m.group(1)}-{m.group(2)}"
    return None


#: What reading a zip member can raise: damaged data (a wrong CRC, a broken deflate stream, cut
#: short), a member encrypted (RuntimeError) or compressed by a method zipfile has not.
_MEMBER_ERRORS = (
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    RuntimeError,
    NotImplementedError,
)
#: What a manifest that cannot be read is refused with: what was expected.
_EXPECTED = (
    "the manifest the vendor wrote with the delivery, readable, to check that every data file "
    "of the delivery is given; download it again with the delivery, or move it out of the reports "
    "to bill the files given as they are"
)


def manifests_of(path: Path) -> list[Manifest]:
    """The manifests of a path given to the import: itself when it is one, or the manifests
    among the members of a zip (and of a zip in it, as the import reads them). InputError naming
    the file, or the zip and member, when a manifest cannot be read: never skipped, since its
    delivery would go unchecked. A zip that cannot be opened gives none (the import names it)."""
    path = Path(path)
    if is_manifest(path.name):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"{path}: the delivery's manifest cannot be read ({exc}); expected {_EXPECTED}"
            ) from exc
        return [read_manifest(str(path), data)]
    if not path.name.lower().endswith(".zip"):
        return []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return []  # the import names a zip it cannot open
    with zf:
        return _zip_manifests(zf, str(path), 1)


def _zip_manifests(zf: zipfile.ZipFile, shown: str, depth: int) -> list[Manifest]:
    found: list[Manifest] = []
    for member in (m for m in zf.namelist() if not m.endswith("/") and not left_by_a_program(m)):
        if is_manifest(member):
            found.append(read_manifest(f"{shown}!{member}", _manifest_bytes(zf, shown, member)))
        elif member.lower().endswith(".zip") and depth < MAX_ZIP_DEPTH:
            try:  # a manifest in it that cannot be read is an InputError, not caught here
                with zf.open(member) as fh, zipfile.ZipFile(fh) as inner:
                    found += _zip_manifests(inner, f"{shown}!{member}", depth + 1)
            except _MEMBER_ERRORS:
                continue  # the import names a zip in the zip it cannot open
    return found


def _manifest_bytes(zf: zipfile.ZipFile, shown: str, member: str) -> bytes:
    """The bytes of the manifest ``member`` of the zip ``zf`` (shown as ``shown``); InputError
    naming the zip and member when they cannot be read (``_MEMBER_ERRORS``)."""
    try:
        return zf.read(member)
    except _MEMBER_ERRORS as exc:
        raise InputError(
            f"{shown}!{member}: the delivery's manifest cannot be read from {shown} ({exc}); "
            f"expected {_EXPECTED}",
            [Problem(f"{shown}!{member}", None, None, None, "a readable delivery manifest")],
        ) from exc


def _parts(name: str) -> list[str]:
    """The path of a report inside its container, as folder and file names: a zip member's path;
    a file's name alone (the folder it was copied to is no S3 key)."""
    inner = name.rsplit("!", 1)[-1] if "!" in name else Path(name).name
    return [p for p in inner.replace("\\", "/").split("/") if p]


def _tail(a: list[str], b: list[str]) -> int:
    """How many trailing folder and file names ``a`` and ``b`` share."""
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def check_manifests(
    con: duckdb.DuckDBPyConnection, manifests: list[Manifest], reports: Mapping[str, int]
) -> None:
    """InputError when a data file a manifest lists is not among ``reports`` (the names of the
    reports imported, with the data rows read from each), when it is but with other rows than
    the manifest counts for it (``Manifest.rows``), or when a report of a manifest's export and
    month is not among its files (module docstring). A listed file is the report sharing the
    most trailing folder and file names with it (one at least: its file name), so that of two
    executions' folders in one zip the one the manifest names is taken; and no other manifest's
    file shares more with it, so that of two Azure export runs in one zip (parts named alike,
    part_0_0001.csv) a run's missing part is not taken for the other run's. Reads ``lines`` only
    for reports a manifest does not list whose name is of its export, one grouped query, to tell
    their billing month."""
    keys = {k: k.split("://", 1)[-1].split("/") for m in manifests for k in m.files}
    claimed = {r: max((_tail(p, _parts(r)) for p in keys.values()), default=0) for r in reports}
    for manifest in manifests:
        listed: set[str] = set()
        missing: list[str] = []
        counts = manifest.rows or (None,) * len(manifest.files)
        for key, count in zip(manifest.files, counts, strict=True):
            parts = keys[key]
            scores = {r: s for r in reports if (s := _tail(parts, _parts(r))) == claimed[r]}
            best = max(scores.values(), default=0)
            if best == 0:
                missing.append(key)
            found = {r for r, s in scores.items() if s == best and best}
            if count is not None:
                _check_rows(manifest, key, count, {r: reports[r] for r in found})
            listed |= found
        if missing:
            shown = ", ".join(PurePosixPath(k).name for k in missing)
            raise InputError(
                f"{manifest.name}: {len(missing)} of the {len(manifest.files)} data files it "
                f"lists are not among the reports ({shown}): "
                "the delivery's charges in them would be on no invoice. Give every data file "
                "the manifest lists (download the delivery again), or leave its manifest out "
                "to bill the files given as they are",
                [Problem(k, None, None, None, "among the reports") for k in missing],
            )
        _refuse_not_listed(con, manifest, [r for r in reports if r not in listed])


def _check_rows(manifest: Manifest, key: str, count: int, found: Mapping[str, int]) -> None:
    """InputError naming the first of ``found`` (the reports taken for the manifest's data file
    ``key``, with the data rows read) whose rows are not the ``count`` the manifest states."""
    for report, rows in found.items():
        if rows == count:
            continue
        why = (
            "cut short (a download broken off at a line): the charges of the rows lost would be "
            "on no invoice"
            if rows < count
            else "rows added to it since: charges the export did not write would be billed"
        )
        raise InputError(
            f"{report}: {rows} data rows read, but its manifest {manifest.name} counts {count} "
            f"for it (dataRowCount of {key}, the header not counted): not the part the export "
            f"wrote, {why}. Download the part again with its manifest",
            [
                Problem(
                    report,
                    None,
                    None,
                    f"{rows} data rows",
                    f"{count} data rows (dataRowCount of {key})",
                )
            ],
        )


def _refuse_not_listed(
    con: duckdb.DuckDBPyConnection, manifest: Manifest, others: list[str]
) -> None:
    """InputError naming the first of ``others`` (reports the manifest does not list) that is a
    data file of the manifest's export and month: another delivery's file."""
    candidates = [r for r in others if _export(_parts(r)[-1]) in manifest.exports]
    if not candidates:
        return
    months: dict[str, list[str]] = {}
    if manifest.month is not None:
        names = ", ".join(ql(r) for r in candidates)
        months = dict(
            con.execute(
                f"SELECT x_SourceFile, list(DISTINCT {_MONTH}) FROM lines "
                f"WHERE x_SourceFile IN ({names}) GROUP BY ALL"
            ).fetchall()
        )
    stale = [r for r in candidates if manifest.month is None or manifest.month in months.get(r, [])]
    if not stale:
        return
    export = _export(_parts(stale[0])[-1])
    month = manifest.month or "its month"
    raise InputError(
        f"{stale[0]}: a data file of {export} for {month} that its manifest {manifest.name} "
        f"does not list ({len(manifest.files)} files): a file of another delivery of the "
        "month (an older one, left beside the latest), whose charges the latest restates. "
        "Give only the files the manifest lists"
        + (f" ({len(stale)} files it does not list)" if len(stale) > 1 else ""),
        [Problem(r, None, None, None, f"listed by {manifest.name}") for r in stale],
    )
