"""Vendor reports that a published run of another period already billed, refused before a run
reads anything: last month's report left in (or copied into) this month's reports folder passes
the per-file period check whenever its charge cycles reach into this month (a licence renewal
from 12 October to 11 November), and would bill every line of it a second time.

Compared by sha256 with the reports each run folder's ``manifest.json`` lists (``inputs``: the
files of the reports folder, a zip as a whole): the run's parameters check hashes every report
already (``SourceFile.checksum``), so this costs one read of each earlier run's manifest, and the
sha256 of each zip as a whole (its members are hashed already). A report re-compressed or
re-encoded since is another file by its bytes and is not caught here."""

from __future__ import annotations

from pathlib import Path

from billing_lib.errors import InputError
from billing_lib.periods import run_periods
from billing_lib.run_files import FINALISED_MARKER, MANIFEST, read_manifest


def billed_reports(output: Path, period: str) -> dict[str, tuple[str, str]]:
    """sha256 -> (period, file as its manifest lists it) of every report the published runs in
    ``output`` read, but the run of ``period`` (billed again, it may read its reports again)."""
    billed: dict[str, tuple[str, str]] = {}
    for month in run_periods(output, MANIFEST):
        if month == period:
            continue
        for listed in read_manifest(Path(output) / month).get("inputs") or []:
            if isinstance(listed, dict) and listed.get("sha256"):
                billed.setdefault(str(listed["sha256"]), (month, str(listed.get("file"))))
    return billed


def check_not_billed_before(
    output: Path, period: str, reports: Path, found: list[tuple[str, str]]
) -> None:
    """InputError naming each of ``found`` ((file as shown, sha256): the reports of ``reports``,
    a zip both as a whole and per member) that a published run of another period in ``output``
    read, with that period and its run folder: billing it in ``period`` bills its lines twice."""
    billed = billed_reports(output, period)
    problems, named = [], set()
    for name, digest in found:
        if digest not in billed or name.split("!", 1)[0] in named:
            continue
        named.add(name)
        month, earlier = billed[digest]
        folder = Path(output) / month
        final = "finalised" if (folder / FINALISED_MARKER).is_file() else "not finalised"
        problems.append(
            f"{name}: billed in {month} by the run in {folder} ({final}): the same file, by "
            f"sha256, as the report {earlier} its {MANIFEST} lists"
        )
    if not problems:
        return
    months = {billed[d][0] for n, d in found if n in named}
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
