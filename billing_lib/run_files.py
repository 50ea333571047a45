"""The files of a run folder: their names, and the two helpers every writer and checker of them
uses (``atomic_target`` to write one, ``sha256_of`` to fingerprint one for the manifest).

One place for these, below every stage, so that the run that writes a folder, the correction
that reads it back, the recovery that cleans up after a killed run and the analysis that reads
several runs all name the same files, and no writer has to import a stage above it for a helper.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from billing_lib.errors import RunError
from billing_lib.faults import WRITTEN, pause_point

#: The rated lines of the run's period (analysis reads them across runs; corrections check the
#: invoice's lines against them).
RATED_PARQUET = "rated_lines.parquet"
#: One row per invoice with the figures as printed (``invoice_files.write_invoice_summary``).
SUMMARY_CSV = "invoice_summary.csv"
#: The invoices of a run as data (``invoice_files.write_invoice_data``), so a correction rebuilds
#: them exactly.
INVOICE_DATA = "invoices.json"
#: The credit note as data, in ``corrections/<number>/``.
CREDIT_NOTE_DATA = "credit_note.json"
#: What a run or credit note records about itself: its inputs, outputs (with ``sha256_of``),
#: packages, numbering.
MANIFEST = "manifest.json"
#: The marker of a finalised run folder (never replaced).
FINALISED_MARKER = "FINALISED"
#: The invoice-number register beside the run folders (``numbering``).
REGISTER = "invoice_register.sqlite"
#: The folder of the credit notes and reissued invoices, beside the run folders.
CORRECTIONS = "corrections"


@contextmanager
def named_if_damaged(files: list[Path]) -> Iterator[None]:
    """A DuckDB error reading the run folders' Parquet ``files`` becomes a RunError naming the
    file that cannot be read (its footer or pages damaged, or cut short by a copy) and the way
    out; an error none of the files explains is passed on as it is. Each file is read through in
    batches only once reading them together failed."""
    # imported here: this module is below every stage, and most of them never read Parquet
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        yield
    except duckdb.Error as exc:
        for path in files:
            try:
                for _ in pq.ParquetFile(path).iter_batches():
                    pass
            except (OSError, pa.ArrowException) as damaged:
                run = Path(path).parent
                raise RunError(
                    f"{path}: the run's file cannot be read (damaged or cut short: "
                    f"{str(damaged).splitlines()[0]}); restore the run folder {run} from a "
                    f"backup, or bill {run.name} again if it is not finalised"
                ) from exc
        raise


def journal_name(name: str) -> str:
    """The CSV journal of a run (``name`` = its period) or a credit note (its number)."""
    return f"journal_{name}.csv"


def ledger_name(name: str) -> str:
    """The beancount ledger of a run (``name`` = its period) or a credit note (its number)."""
    return f"ledger_{name}.beancount"


def sha256_of(path: Path) -> str:
    """The sha256 of the file ``path`` as hex text, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256s_of(paths: list[Path]) -> list[str]:
    """The sha256 of each of ``paths`` (in their order), hashed on as many threads as there are
    cores (hashlib works without the GIL): a large month's reports and outputs are a few GB, a
    few seconds on one core."""
    workers = max(1, min(len(paths), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(sha256_of, paths))


def read_manifest(folder: Path) -> dict:
    """The ``manifest.json`` of the run (or credit note) folder ``folder``; RunError naming it
    when it cannot be read or is no JSON object."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot read the run's manifest: {exc}") from exc
    if not isinstance(manifest, dict):
        raise RunError(f"{path}: not a run's manifest (a JSON object)")
    return manifest


def corrections_of(output: Path, period: str) -> list[tuple[Path, dict]]:
    """(folder, manifest) of each published credit note and reissued invoice of ``period`` in
    ``output/corrections/``, in number order."""
    folder = Path(output) / CORRECTIONS
    found = []
    for path in sorted(folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []:
        if path.parent.name.startswith("."):  # a staging folder
            continue
        manifest = read_manifest(path.parent)
        if manifest.get("period") == period:
            found.append((path.parent, manifest))
    return found


def billed_now(output: Path, period: str) -> tuple[list[str], list[Path]]:
    """What the month ``period`` bills now, corrections included: the customers whose invoice of
    the run a credit note cancelled (their run lines billed no longer), and the rated lines of
    the invoices that replaced one (``billing reissue``) and are not cancelled in turn."""
    corrections = corrections_of(output, period)
    credited = {m.get("corrects") for _, m in corrections if m.get("kind") != "reissue"}
    invoices = read_manifest(Path(output) / period).get("invoices", []) if credited else []
    dropped = sorted({i["customer_id"] for i in invoices if i.get("invoice_number") in credited})
    replacing = [
        folder / RATED_PARQUET
        for folder, m in corrections
        if m.get("kind") == "reissue" and m.get("invoice") not in credited
    ]
    return dropped, replacing


def credited_invoices(output: Path, period: str) -> dict[str, tuple[str, str, Path]]:
    """Per customer, its invoice of ``period`` (the run's or a reissued one) that a credit note
    cancelled and no invoice replaces: (invoice number, credit note number, the rated lines'
    file the invoice was billed from)."""
    corrections = corrections_of(output, period)
    reissued = {m.get("invoice"): f for f, m in corrections if m.get("kind") == "reissue"}
    replaced = {m.get("corrects") for _, m in corrections if m.get("kind") == "reissue"}
    found: dict[str, tuple[str, str, Path]] = {}
    for _, m in corrections:
        number = str(m.get("corrects"))
        if m.get("kind") == "reissue" or number in replaced or not m.get("customer_id"):
            continue
        folder = reissued.get(number, Path(output) / period)
        found[str(m["customer_id"])] = (number, str(m.get("credit_note")), folder / RATED_PARQUET)
    return found


def outputs_problems(folder: Path, manifest: dict, files: list[Path] | None = None) -> list[str]:
    """What differs between the run folder ``folder`` and the outputs its ``manifest`` recorded
    with their sha256: of ``files`` (None: every output it lists), each missing, unlisted or
    changed file."""
    outputs = manifest.get("outputs")
    recorded = {
        o.get("file"): o.get("sha256")
        for o in (outputs if isinstance(outputs, list) else [])
        if isinstance(o, dict)
    }
    if files is None:
        files = [folder / name for name in sorted(str(n) for n in recorded if n)]
    names = {path: str(path.relative_to(folder)) for path in files}
    listed = [p for p, name in names.items() if p.is_file() and recorded.get(name)]
    digests = dict(zip(listed, sha256s_of(listed), strict=True))
    problems = []
    for path, name in names.items():
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif not recorded.get(name):
            problems.append(f"{name}: not among the outputs of {MANIFEST}")
        elif digests[path] != recorded[name]:
            problems.append(f"{name}: changed since the run (its sha256 differs from {MANIFEST})")
    return problems


def link_or_copy(source: Path, target: Path) -> Path:
    """``target`` with the bytes of ``source``: a hard link where both are on one file system (a
    large file is not written twice), else a copy. An existing ``target`` is replaced, never
    written into (it may be a link to another file)."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


#: A temporary file of ``atomic_target``: ``.<name>.<12 hex digits>.tmp``, the first six the id
#: of the process writing it (Linux's process ids fit), the last six random.
TEMPORARY = re.compile(r"^\.(.+)\.([0-9a-f]{12})\.tmp$")


@contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it (``os.replace``) only when the block
    finishes; on an error the temporary file is removed and ``target`` is untouched. Killed
    (``kill -9``) before the rename, the temporary file stays: its name says which process
    wrote it (``TEMPORARY``), so the next command tells it from a live one's
    (``remove_temporaries``). ``written:<name>`` in ``billing_lib.faults`` stops there."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its 0600 mode would stay on the published file.
    writer = f"{os.getpid() & 0xFFFFFF:06x}"
    tmp = target.with_name(f".{target.name}.{writer}{secrets.token_hex(3)}.tmp")
    try:
        yield tmp
        pause_point(f"{WRITTEN}{target.name}")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _writer_may_run(pid: int) -> bool:
    """Whether a process of id ``pid`` runs on this host (this one included: a temporary file
    of its own it may be writing), so a temporary file it named may be in the writing."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True


def remove_temporaries(folder: Path, shown_from: Path, of: str | None = None) -> list[str]:
    """Remove the temporary files ``atomic_target`` left in ``folder`` (of the file named ``of``
    only, when given) whose writer is gone: killed before it moved the file in, so no command
    ever reads them. One whose writer's process id is running is named instead (it may be
    writing it now), as is one that cannot be removed. What was done, one line each, the files
    named relative to ``shown_from``."""
    done = []
    for left in sorted(Path(folder).iterdir()) if Path(folder).is_dir() else []:
        match = TEMPORARY.match(left.name)
        if not match or (of is not None and match.group(1) != of) or not left.is_file():
            continue
        name, pid = left.relative_to(shown_from), int(match.group(2)[:6], 16)
        what = f"the unfinished {match.group(1)} of a command that was killed"
        if _writer_may_run(pid):
            done.append(
                f"left {name}: the unfinished {match.group(1)} of process {pid}, which is "
                "running (it may be writing it now); remove it by hand once no billing command "
                "runs"
            )
            continue
        try:
            left.unlink(missing_ok=True)
        except OSError as exc:
            done.append(f"{name} cannot be removed ({exc.strerror}): {what}; remove it by hand")
            continue
        done.append(f"removed {name}: {what}")
    return done


def marker_text(marker: Path) -> str:
    """What a FINALISED marker says ("finalised <time>"), whatever became of its bytes: the file's
    presence is what counts, its text is only shown (undecodable bytes as U+FFFD)."""
    return marker.read_bytes().decode("utf-8", errors="replace").strip()


class NotUtf8Error(ValueError):
    """A text file holding a byte that is no UTF-8: its 1-based line and the byte."""

    def __init__(self, path: Path, line: int, byte: int) -> None:
        super().__init__(f"{path}: line {line}: the byte 0x{byte:02x} is no UTF-8")
        self.line, self.byte = line, byte


def utf8_text(path: Path) -> str:
    """A small text file's content (UTF-8, a BOM dropped), or NotUtf8Error with the line of the
    first byte that is no UTF-8 (a spreadsheet's save in its own code page: "Zürich" in latin-1)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotUtf8Error(path, data[: exc.start].count(b"\n") + 1, data[exc.start]) from None
