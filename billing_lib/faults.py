"""Named points where a test stops a real run, to kill it there (``kill -9``) and check what the
next run makes of what it left.

Test-only: with ``BILLING_PAUSE_AT=<point>`` and ``BILLING_PAUSE_MARKER=<file>`` in the
environment, the process reaching ``<point>`` writes its pid into ``<file>`` and sleeps until it
is killed, or, with ``BILLING_PAUSE_RESUME=<file>``, until that file exists (two runs made to
overlap at a known step, or to ask for the lock at the same moment). Unset (always, outside
tests), ``pause_point`` does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

#: The points, in the order a run passes them (``tests/test_bad_inputs_numbering.py``).
POINTS = (
    "lock-asked",  # the parameters checked, the outputs folder about to be locked
    "lock-waiting",  # the outputs folder held by another run, this one asked to wait for it
    "locked",  # the outputs folder locked, leftovers of killed runs cleaned
    "numbers-planned",  # the invoices numbered (the register not changed)
    "writers-forked",  # a large month's workbooks handed to forked writer processes
    "publishing-begun",  # the plan recorded in the register, nothing moved yet
    "old-run-moved-aside",  # the earlier run folder renamed to .replaced-*, the new not in place
    "run-moved-in",  # the new run folder in place, its numbers not yet recorded
    "numbers-recorded",  # the numbers recorded, the earlier run folder not yet removed
    "credit-note-publishing-begun",  # a credit note's number recorded as planned, folder staged
    "credit-note-moved-in",  # the credit note's folder in place, its number not yet recorded
    "finalise-begun",  # billing finalise recorded in the register, the folder not yet marked
    "finalise-marker-staged",  # the marker's temporary file written, not yet moved in
    "finalise-marker-written",  # the folder's FINALISED marker written, the register not updated
    "register-rebuild-written",  # billing register rebuild's new register complete, not in place
    "customers-sync-written",  # customers sync --apply: both proposed files written beside
    "customers-sync-half-applied",  # customers sync --apply: one proposed file moved in
)
#: Also ``written:<file name>``: a file written by ``run_files.atomic_target`` (a run's
#: workbook, ``billing register list --csv``'s file, the customers sync's diff), complete in its
#: temporary file and not yet moved in.
WRITTEN = "written:"


def pause_point(name: str) -> None:
    """Stop here for good when a test asked for ``name`` (see the module docstring)."""
    if os.environ.get("BILLING_PAUSE_AT") != name:
        return
    marker = os.environ.get("BILLING_PAUSE_MARKER")
    if marker:
        tmp = Path(f"{marker}.tmp")
        tmp.write_text(str(os.getpid()), encoding="utf-8")
        tmp.replace(marker)
    resume = os.environ.get("BILLING_PAUSE_RESUME")
    while not (resume and Path(resume).exists()):
        time.sleep(0.1)
