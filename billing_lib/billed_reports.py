"""Vendor reports that a published run of another period already billed, refused before a run
reads anything: last month's report left in (or copied into) this month's reports folder passes
the per-file period check whenever its charge cycles reach into this month (a licence renewal
from 12 October to 11 November), and would bill every line of it a second time.

Compared by sha256 with the reports each run folder's ``manifest.json`` lists (``inputs``: the
files of the reports folder, a zip as a whole): the run's parameters check hashes every report
already (``SourceFile.checksum``), so this costs one read of each earlier run's manifest, and the
sha256 of each zip as a whole (its members are hashed already). And by content once
decompressed (``input_contents``, ``SourceFile.content``, taken in the pass that decompresses a
CSV.gz to scan its lines anyway): a report gzipped again since, at another level, or unpacked,
is the same report. And by its text (``input_texts``, ``SourceFile.text``, importers.text_digest,
taken in the same pass): a CSV saved again as UTF-16, as UTF-8 with a BOM or with CRLF line ends
(a spreadsheet, a Windows tool) holds the same rows. The text of a file that is UTF-8 without a
BOM in LF lines is its content, so a run whose manifest lists no ``input_texts`` (before they
were recorded) still catches the re-encoded copies of such a report. A copy whose values were
rewritten (a spreadsheet's dates and numbers) is caught only when both are imported together,
by its lines (importers.line_content). A report downloaded again (other names, other bytes) is
caught by the vendor invoice ids of its lines (``vendor_invoices``, listed in each manifest:
``check_invoices_not_billed``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa

from billing_lib.errors import InputError, Problem
from billing_lib.periods import run_periods
from billing_lib.run_files import FINALISED_MARKER, MANIFEST, read_manifest

#: What a report's sha256 is of: its file (``FILE``), its content once decompressed (a
#: CSV.gz's CSV), or its text whatever its encoding and line ends (importers.text_digest).
FILE, CONTENT, TEXT = "file", "content", "text"
#: The manifest's list of each kind of sha256.
MANIFEST_KEYS = {FILE: "inputs", CONTENT: "input_contents", TEXT: "input_texts"}
#: How the report is the same as the billed one, by the kinds of the two sha256 that match.
SAME = {
    FILE: "the same file, by sha256,",
    CONTENT: "the same content once decompressed (the file gzipped again, or unpacked), by sha256,",
    TEXT: (
        "the same text once decoded (the report saved again as UTF-16, as UTF-8 with a BOM or "
        "with CRLF line ends), by sha256,"
    ),
}


class Digest(NamedTuple):
    """A report's sha256 as the run found it, of its file, content or text (``kind``)."""

    name: str
    sha256: str
    kind: str = FILE


class Billed(NamedTuple):
    """A report an earlier run read: its period, its name in that run's manifest, and what the
    sha256 is of (``Digest.kind``)."""

    period: str
    file: str
    kind: str


def billed_reports(output: Path, period: str) -> dict[str, Billed]:
    """sha256 -> the report of every report the published runs in ``output`` read (its file's
    sha256, that of its content once decompressed and that of its text), but the run of
    ``period`` (billed again, it may read its reports again)."""
    billed: dict[str, Billed] = {}
    for month in run_periods(output, MANIFEST):
        if month == period:
            continue
        manifest = read_manifest(Path(output) / month)
        for kind, key in MANIFEST_KEYS.items():
            for listed in manifest.get(key) or []:
                if isinstance(listed, dict) and listed.get("sha256"):
                    billed.setdefault(
                        str(listed["sha256"]), Billed(month, str(listed.get("file")), kind)
                    )
    return billed


def check_not_billed_before(output: Path, period: str, reports: Path, found: list[Digest]) -> None:
    """InputError naming each of ``found`` (the reports of ``reports``, a zip both as a whole and
    per member, a CSV.gz also by its content, a CSV also by its text) that a published run of
    another period in
    ``output`` read, with that period and its run folder: billing it in ``period`` bills its
    lines twice."""
    billed = billed_reports(output, period)
    problems, named = [], set()
    for name, digest, kind in found:
        if digest not in billed or name.split("!", 1)[0] in named:
            continue
        named.add(name)
        earlier = billed[digest]
        folder = Path(output) / earlier.period
        final = "finalised" if (folder / FINALISED_MARKER).is_file() else "not finalised"
        kinds = {kind, earlier.kind}
        same = SAME[next(k for k in (TEXT, CONTENT, FILE) if k in kinds)]
        problems.append(
            f"{name}: billed in {earlier.period} by the run in {folder} ({final}): {same} as "
            f"the report {earlier.file} its {MANIFEST} lists"
        )
    if not problems:
        return
    months = {billed[d.sha256].period for d in found if d.name in named and d.sha256 in billed}
    again = sorted(months - set(run_periods(output, FINALISED_MARKER)))
    raise InputError(
        f"{reports}: holds reports a run of another period already billed; billing them in "
        f"{period} would bill their lines a second time. Nothing was billed or written. Take them "
        f"out of the reports folder (the vendor's report for {period} is another file)"
        + (
            f"; if one is {period}'s own and the run of {', '.join(again)} read it by mistake, "
            "bill that month again with its own reports first"
            if again
            else ""
        )
        + ":\n  - "
        + "\n  - ".join(problems)
    )


#: The vendor invoices of a run's lines: per vendor and vendor invoice id (the report's
#: InvoiceNumber, bill_invoice_id, InvoiceId), the files holding it, and the first and last day
#: its lines there are charged (ChargePeriodStart).
VENDOR_INVOICES_SQL = """
    SELECT x_Vendor, InvoiceId, x_SourceFile,
           min(CAST(ChargePeriodStart AS DATE)), max(CAST(ChargePeriodStart AS DATE))
    FROM lines WHERE coalesce(InvoiceId, '') <> ''
    GROUP BY ALL ORDER BY 1, 2, 3"""

#: The run's lines of the vendor invoices ``__billed_invoices`` lists (vendor, invoice, month,
#: files, first, last: an earlier run's), per vendor invoice, file and earlier run: those charged
#: on a day from ``first`` to ``last``, or any day where the earlier manifest gives none.
BILLED_AGAIN_SQL = """
    SELECT l.x_Vendor, l.InvoiceId, l.x_SourceFile, count(*), min(l.x_SourceRow),
           min(CAST(l.ChargePeriodStart AS DATE)), max(CAST(l.ChargePeriodStart AS DATE)),
           b.month, b.files, b.first, b.last
    FROM lines l JOIN __billed_invoices b
      ON l.x_Vendor = b.vendor AND l.InvoiceId = b.invoice
     AND (b.first IS NULL OR l.ChargePeriodStart IS NULL
          OR CAST(l.ChargePeriodStart AS DATE) BETWEEN b.first AND b.last)
    GROUP BY ALL ORDER BY l.x_SourceFile, l.x_Vendor, l.InvoiceId, b.month"""


def report_name(file: str, reports: Path) -> str:
    """``file`` (a line's x_SourceFile) as the manifest names reports: within ``reports``."""
    try:
        return Path(file).relative_to(reports).as_posix()
    except ValueError:
        return file


def vendor_invoices(con: duckdb.DuckDBPyConnection, reports: Path) -> list[dict]:
    """The vendor invoices the run's lines are billed on (``manifest.json`` ``vendor_invoices``,
    with the reports holding each, named within ``reports``, and the first and last day its
    lines are charged: ``charged``), so a later month can tell a report of an invoice billed
    already (``check_invoices_not_billed``) once its bytes differ. A vendor invoice need not be
    one calendar month's (an MCA billing period from the 5th to the 4th): the days tell which of
    its lines the run billed."""
    found: dict[tuple[str, str], dict] = {}
    for vendor, invoice, file, first, last in con.execute(VENDOR_INVOICES_SQL).fetchall():
        entry = found.setdefault(
            (vendor, invoice), {"vendor": vendor, "invoice": invoice, "files": []}
        )
        entry["files"].append(report_name(file, Path(reports)))
        if first is not None:
            was = entry.get("charged") or [first.isoformat(), last.isoformat()]
            entry["charged"] = [min(was[0], first.isoformat()), max(was[1], last.isoformat())]
    return list(found.values())


def _charged(listed: dict) -> tuple[date, date] | tuple[None, None]:
    """The first and last day a manifest's ``vendor_invoices`` entry says its lines are charged;
    none where it says nothing readable (a run before they were recorded): all its days."""
    days = listed.get("charged")
    if isinstance(days, list) and len(days) == 2:
        try:
            return date.fromisoformat(str(days[0])), date.fromisoformat(str(days[1]))
        except ValueError:
            pass
    return None, None


def check_invoices_not_billed(
    con: duckdb.DuckDBPyConnection, output: Path, period: str, reports: Path
) -> None:
    """InputError naming each report whose lines carry a vendor invoice id (Partner Center's
    InvoiceNumber, AWS's bill_invoice_id) that a published run of another period billed, on the
    days that run billed of it (its manifest's ``charged``; every day for a manifest without),
    with that period and run folder. The sha256 comparison (``check_not_billed_before``) misses
    the report downloaded again: Partner Center writes the customer's current name into each
    download, so October's reconciliation downloaded in November after a customer's rename has
    other bytes, and its licence cycles (5 October to 4 November) are charged in November, so it
    passes the period check and was billed a second time. The days because a vendor invoice need
    not be one calendar month's: an MCA billing profile billed from the 5th to the 4th puts 1-4
    October on September's invoice, and October's export of those days was refused whole."""
    billed: list[tuple[str, str, str, str, date | None, date | None]] = []
    for month in run_periods(output, MANIFEST):
        if month == period:
            continue
        for listed in read_manifest(Path(output) / month).get("vendor_invoices") or []:
            if isinstance(listed, dict) and listed.get("invoice"):
                files = ", ".join(str(f) for f in listed.get("files") or []) or "its reports"
                first, last = _charged(listed)
                key = (str(listed.get("vendor")), str(listed["invoice"]))
                billed.append((*key, month, files, first, last))
    if not billed:
        return
    table = pa.table(
        {
            name: pa.array([b[n] for b in billed], kind)
            for n, (name, kind) in enumerate(
                [
                    ("vendor", pa.string()),
                    ("invoice", pa.string()),
                    ("month", pa.string()),
                    ("files", pa.string()),
                    ("first", pa.date32()),
                    ("last", pa.date32()),
                ]
            )
        }
    )
    con.register("__billed_invoices", table)
    try:
        found = con.execute(BILLED_AGAIN_SQL).fetchall()
    finally:
        con.unregister("__billed_invoices")
    problems, months, named = [], set(), set()
    for vendor, invoice, file, n, row, lo, hi, month, files, first, last in found:
        if (vendor, invoice, file) in named:
            continue  # named with the first run that billed those days
        named.add((vendor, invoice, file))
        months.add(month)
        folder = Path(output) / month
        final = "finalised" if (folder / FINALISED_MARKER).is_file() else "not finalised"
        days = f" charged {lo} to {hi}" if lo is not None else ""
        then = f" (its lines charged {first} to {last})" if first is not None else ""
        problems.append(
            Problem(
                report_name(file, Path(reports)),
                row,
                "InvoiceId",
                f"{n} line(s) of {vendor} invoice {invoice}{days}, billed in {month}{then} by "
                f"the run in {folder} ({final}) from {files}",
                f"an invoice of {period}, or days of the invoice no other run billed",
            )
        )
    if problems:
        raise InputError(
            f"the reports of {period} hold lines of vendor invoices a run of another period "
            f"({', '.join(sorted(months))}) billed already; billing them in {period} would bill "
            "them a second time. Nothing was billed or written. Take those reports out of the "
            f"reports folder (the vendor's report for {period} is of its own invoice; a late "
            "correction of a billed month comes on a later invoice, or is entered in "
            "custom_lines.yaml)",
            problems,
        )
