"""``BILLING_MEMORY_LIMIT`` and ``BILLING_THREADS``, the environment's bounds of the run's DuckDB
store and of the workbook writers, read and checked once for every place that uses them.

Unchecked, junk there (``lots``, ``0``) ended ``billing import`` in a DuckDB or ``int()``
traceback and ``billing run`` in "stopped in cell [3]" naming neither variable; 0 threads was
taken as unset and 99999 started that many threads. Refused instead, before anything is read,
naming the variable, its value and what is expected."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from typing import NoReturn

from billing_lib.errors import RunError

MEMORY_VARIABLE = "BILLING_MEMORY_LIMIT"
THREADS_VARIABLE = "BILLING_THREADS"

#: The least memory limit taken: below it DuckDB cannot even create the run's tables ("Out of
#: Memory Error" in the notebook's third cell at 10KB).
MIN_MEMORY_BYTES = 64 * 1000**2
#: The most threads (and workbook-writing processes) taken: each is started whether or not the
#: machine has a core for it, and 99999 kept the command starting threads for minutes.
MAX_THREADS = 1024

#: Bytes per unit, as DuckDB's ``memory_limit`` reads them (KB 1000, KiB 1024).
_UNITS = {
    "b": 1,
    **{f"{p}b": 1000 ** (i + 1) for i, p in enumerate("kmgt")},
    **{f"{p}ib": 1024 ** (i + 1) for i, p in enumerate("kmgt")},
}
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+|%)", re.IGNORECASE)


def store_limits() -> tuple[str | None, int | None]:
    """The memory limit (as written, e.g. ``4GB``, ``80%``) and the threads the environment
    sets for DuckDB, None for each left unset or empty. Raises ``RunError`` for a value DuckDB
    would refuse, or that leaves it nothing to work with."""
    return memory_limit(), threads()


def memory_limit() -> str | None:
    """``BILLING_MEMORY_LIMIT``: a number with a unit DuckDB reads (B, KB, MB, GB, TB, KiB ...
    TiB) of at least 64MB, or a percentage of the RAM from 1% to 100%."""
    given = os.environ.get(MEMORY_VARIABLE, "").strip()
    if not given:
        return None
    found = _MEMORY.fullmatch(given)
    unit = found.group(2).lower() if found else ""
    if not found or (unit != "%" and unit not in _UNITS):
        _refuse(
            MEMORY_VARIABLE,
            given,
            "expected an amount of memory such as 4GB, 1500MB or 2GiB (KB, MB, GB, TB or KiB, "
            "MiB, GiB, TiB), or a share of the RAM such as 50%; or leave it unset (DuckDB's "
            "80 % of the RAM)",
        )
    amount = Decimal(found.group(1))
    if unit == "%" and not 1 <= amount <= 100:
        _refuse(MEMORY_VARIABLE, given, "expected a share of the RAM from 1% to 100%")
    if unit != "%" and amount * _UNITS[unit] < MIN_MEMORY_BYTES:
        _refuse(
            MEMORY_VARIABLE,
            given,
            "too little for DuckDB to hold the run's tables; expected at least 64MB (e.g. 4GB)",
        )
    return given


def threads() -> int | None:
    """``BILLING_THREADS``: a whole number from 1 to ``MAX_THREADS``."""
    given = os.environ.get(THREADS_VARIABLE, "").strip()
    if not given:
        return None
    if not (given.isascii() and given.isdigit()) or not 1 <= int(given) <= MAX_THREADS:
        _refuse(
            THREADS_VARIABLE,
            given,
            f"expected a whole number of threads from 1 to {MAX_THREADS} (e.g. 2); or leave it "
            "unset (every core)",
        )
    return int(given)


def _refuse(variable: str, given: str, expected: str) -> NoReturn:
    raise RunError(f"environment variable {variable}: {given!r}: {expected}")
