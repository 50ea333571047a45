"""Billing periods: a month written ``YYYY-MM``. One pattern and one reading of it, shared by the
run's parameters, the rating, the invoices and the ledger."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from billing_lib.errors import ParameterError

#: A month from 1900-01 to 2999-12 (a year 0000 or a month after 9999-11 has no last day in
#: Python's dates).
PERIOD_PATTERN = re.compile(r"^(19\d\d|2\d\d\d)-(0[1-9]|1[0-2])$")


def month_days(period: object, source: str = "run parameters") -> tuple[date, date]:
    """First and last day of ``period`` (``YYYY-MM`` text); a ParameterError naming ``source``
    and the parameter ``period`` otherwise."""
    m = PERIOD_PATTERN.match(period) if isinstance(period, str) else None
    if not m:
        raise ParameterError(
            source, "period", f"expected a month as text YYYY-MM (1900-2999); got {period!r}"
        )
    first = date(int(m[1]), int(m[2]), 1)
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def months_from(first: str, end: str) -> list[str]:
    """The months from ``first`` up to, not including, ``end`` (``YYYY-MM``), in order."""
    months, (year, month) = [], (int(first[:4]), int(first[5:7]))
    while f"{year:04d}-{month:02d}" < end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = year + (month == 12), month % 12 + 1
    return months


def first_common_day(
    a_from: date | None, a_to: date | None, b_from: date | None, b_to: date | None
) -> date | None:
    """The first day two date spans share (both ends inclusive, None: open), None when they share
    none: the one overlap rule of effective-dated parameters rows."""
    first = max(a_from or date.min, b_from or date.min)
    return first if first <= min(a_to or date.max, b_to or date.max) else None


def days_text(first: date | None, last: date | None) -> str:
    """A span of days (both ends inclusive; None, ``date.min`` or ``date.max``: open) as a message
    shows it: "2026-01-01 to 2026-05-31", "from 2026-10-01", "until 2025-12-31", "always"."""
    lo = first if first and first > date(1, 1, 1) else None
    hi = last if last and last < date(9999, 12, 31) else None
    if lo and hi:
        return f"{lo.isoformat()} to {hi.isoformat()}"
    if lo:
        return f"from {lo.isoformat()}"
    return f"until {hi.isoformat()}" if hi else "always"


def run_periods(output: Path, marker: str) -> list[str]:
    """The periods of ``output``'s run folders (named ``YYYY-MM``) holding the file ``marker``
    (``manifest.json``: published; ``FINALISED``: finalised), oldest first."""
    output = Path(output)
    if not output.is_dir():
        return []
    return sorted(
        p.name
        for p in output.iterdir()
        if p.is_dir() and PERIOD_PATTERN.match(p.name) and (p / marker).is_file()
    )
