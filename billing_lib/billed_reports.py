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

from pathlib import Path
from typing import NamedTuple

import duckdb

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
#: InvoiceNumber, bill_invoice_id, InvoiceId), the files holding it and its first row there.
VENDOR_INVOICES_SQL = """
    SELECT x_Vendor, InvoiceId, x_SourceFile, count(*), min(x_SourceRow)
    FROM lines WHERE coalesce(InvoiceId, '') <> ''
    GROUP BY ALL ORDER BY 1, 2, 3"""


def report_name(file: str, reports: Path) -> str:
    """``file`` (a line's x_SourceFile) as the manifest names reports: within ``reports``."""
    try:
        return Path(file).relative_to(reports).as_posix()
    except ValueError:
        return file


def vendor_invoices(con: duckdb.DuckDBPyConnection, reports: Path) -> list[dict]:
    """The vendor invoices the run's lines are billed on (``manifest.json`` ``vendor_invoices``,
    with the reports holding each, named within ``reports``), so a later month can tell a report
    of an invoice billed already (``check_invoices_not_billed``) once its bytes differ: a vendor
    invoice is one month's."""
    found: dict[tuple[str, str], list[str]] = {}
    for vendor, invoice, file, _, _ in con.execute(VENDOR_INVOICES_SQL).fetchall():
        found.setdefault((vendor, invoice), []).append(report_name(file, Path(reports)))
    return [{"vendor": v, "invoice": i, "files": f} for (v, i), f in found.items()]


def check_invoices_not_billed(
    con: duckdb.DuckDBPyConnection, output: Path, period: str, reports: Path
) -> None:
    """InputError naming each report whose lines carry a vendor invoice id (Partner Center's
    InvoiceNumber, AWS's bill_invoice_id) that a published run of another period billed, with
    that period and run folder. A vendor's invoice is one month's, and its late changes come on a
    later invoice of their own. The sha256 comparison (``check_not_billed_before``) misses the
    report downloaded again: Partner Center writes the customer's current name into each
    download, so October's reconciliation downloaded in November after a customer's rename has
    other bytes, and its licence cycles (5 October to 4 November) are charged in November, so it
    passes the period check and was billed a second time."""
    billed: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for month in run_periods(output, MANIFEST):
        if month == period:
            continue
        for listed in read_manifest(Path(output) / month).get("vendor_invoices") or []:
            if isinstance(listed, dict) and listed.get("invoice"):
                key = (str(listed.get("vendor")), str(listed["invoice"]))
                billed.setdefault(key, (month, [str(f) for f in listed.get("files") or []]))
    if not billed:
        return
    problems, months = [], set()
    for vendor, invoice, file, n, row in con.execute(VENDOR_INVOICES_SQL).fetchall():
        if (vendor, invoice) not in billed:
            continue
        month, files = billed[(vendor, invoice)]
        months.add(month)
        folder = Path(output) / month
        final = "finalised" if (folder / FINALISED_MARKER).is_file() else "not finalised"
        problems.append(
            Problem(
                report_name(file, Path(reports)),
                row,
                "InvoiceId",
                f"{n} line(s) of {vendor} invoice {invoice}, billed in {month} by the run in "
                f"{folder} ({final}) from {', '.join(files) or 'its reports'}",
                f"an invoice of {period}",
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
