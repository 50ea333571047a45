"""The import of a generated month alone, with the seconds and CPU seconds of each of its steps.

``run_benchmark.py`` times the import as one stage of the whole run; this times its parts
(mapping, type check, model rules, control totals, repeated rows, ...) on the same store settings
(in memory, DuckDB ``memory_limit`` 1200MB, 2 threads, spilling to a temporary folder), so that
a change to ``billing_lib/importers`` can be compared under a shared machine's load by its CPU
seconds (which include DuckDB's threads). The month must exist (``generate_month.py``).

    .venv/bin/python benchmarks/import_benchmark.py --size 3M --input parquet
    .venv/bin/python benchmarks/import_benchmark.py --size 10M --checks-only

``--checks-only`` measures what the import would cost if it left the lines in the report: each
file's mapped lines are a view over the report (``__new`` over ``__typed``) instead of rows
appended to ``lines``, so every check reads the report again and nothing is stored. It is a
floor for a design that prices the lines where they are (benchmarks/README.md, issue 13's
twelfth pass), not an import: ``lines`` stays empty.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import billing_lib.importers as importers
from billing_lib.importers import duplicates, engine, line_content, line_facts, values
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

HERE = Path(__file__).resolve().parent
#: (module holding the function, its name, module calling it): each is timed where it is called.
STEPS = [
    (values, "check_types", engine),
    (engine, "_map_lines", engine),
    (line_facts, "line_facts", engine),
    (engine, "check_model", engine),
    (engine, "control_totals", engine),
    (duplicates, "check_repeated_rows", importers),
    (line_content, "remember_rows", importers),
    (line_content, "content_key", importers),
    (duplicates, "check_not_imported", importers),
    (line_content, "check_rows_not_imported", importers),
    (importers, "check_in_period", importers),
    (importers, "check_signs", importers),
]


def _timed(
    fn: Callable[..., Any], name: str, seconds: dict[str, list[float]]
) -> Callable[..., Any]:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = seconds.setdefault(name, [0.0, 0.0])
            spent[0] += time.perf_counter() - t0
            spent[1] += time.process_time() - c0

    return timed


def _lines_left_in_report(con: Any, exprs: list[str], into: str | None, start: Any = None) -> None:
    """``engine._insert_lines`` for ``--checks-only``: ``__new`` the mapped lines as a view over
    the report, nothing appended."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW __new AS SELECT {', '.join(exprs)} FROM __typed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="3M")
    parser.add_argument("--input", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--memory-limit", default="1200MB")
    parser.add_argument("--checks-only", action="store_true", help="the lines left in the report")
    args = parser.parse_args()
    if args.checks_only:
        engine._insert_lines = _lines_left_in_report
    data = HERE / "data" / args.size
    seconds: dict[str, list[float]] = {}
    for owner, name, caller in STEPS:
        setattr(caller, name, _timed(getattr(owner, name), name, seconds))
    con = open_store(memory_limit=args.memory_limit, threads=2)
    spill = tempfile.mkdtemp(prefix="import-benchmark-")
    con.execute(f"SET temp_directory = '{spill}'")
    files = importers.report_files(data / f"reports-{args.input}")
    prices = load_vendor_prices(data / "parameters")
    t0, c0 = time.perf_counter(), time.process_time()
    reports = importers.import_reports(con, files, vendor_prices=prices, period="2026-10")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    for name, (w, c) in seconds.items():
        print(f"  {name:22s} {w:7.2f} s   CPU {c:7.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"import {args.size} {args.input}: {wall:.2f} s, CPU {cpu:.2f} s, "
        f"{sum(r.rows for r in reports):,} lines, peak {peak:.0f} MB, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
