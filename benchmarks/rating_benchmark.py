"""The rating of a generated month alone, with the seconds and CPU seconds of each of its steps.

``run_benchmark.py`` times the rating as one stage of the whole run; this imports the month and
maps its customers once (not timed), then times the rating's parts (keys, the unsorted pass split
by shares of customers, the shares sorted and appended to rated_lines.parquet, excluded and
unmapped lines, the checks) on the same store settings (in memory, DuckDB ``memory_limit``
1200MB, 2 threads, spilling to a temporary folder), so that a change to ``billing_lib/rating``
can be compared under a shared machine's load by its CPU seconds (which include DuckDB's
threads). The month must exist (``generate_month.py``).

    .venv/bin/python benchmarks/rating_benchmark.py --size 3M
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
from billing_lib.customers import assign_customers, register_account_map
from billing_lib.rating import checks, keys, price, rate, rated_file
from billing_lib.run_state import load_settings
from billing_lib.store import open_store

HERE = Path(__file__).resolve().parent
#: (module holding the function, its name, module calling it): each is timed where it is called.
STEPS = [
    (keys, "resolve_keys", rate),
    (rated_file, "write_rated", rate),
    (rated_file, "split_by_share", rated_file),
    (rated_file.RatedWriter, "append", rated_file.RatedWriter),
    (rated_file, "sort_share", rated_file),
    (price, "create_excluded_unmapped", rate),
    (checks, "conservation", rate),
    (checks, "line_counts", rate),
    (checks, "warnings", rate),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="3M")
    parser.add_argument("--memory-limit", default="1200MB")
    args = parser.parse_args()
    data = HERE / "data" / args.size
    con = open_store(memory_limit=args.memory_limit, threads=2)
    work = Path(tempfile.mkdtemp(prefix="rating-benchmark-"))
    con.execute(f"SET temp_directory = '{work / 'spill'}'")
    settings = load_settings(data / "parameters")
    importers.import_reports(
        con,
        importers.report_files(data / "reports-parquet"),
        vendor_prices=settings.vendor_prices,
        period="2026-10",
    )
    register_account_map(con, settings.account_mappings)
    assign_customers(con)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds: dict[str, list[float]] = {}
    for owner, name, caller in STEPS:
        setattr(caller, name, _timed(getattr(owner, name), name, seconds))
    t0, c0 = time.perf_counter(), time.process_time()
    report = rate.rate_lines(
        con, settings.pricing, settings.customers, "2026-10", work / "rated_lines.parquet"
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    for name, (w, c) in seconds.items():
        print(f"  {name:26s} {w:7.2f} s   CPU {c:7.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = (work / "rated_lines.parquet").stat().st_size / 1e6
    print(
        f"rating {args.size}: {wall:.2f} s, CPU {cpu:.2f} s, "
        f"{report.counts.get('rated_vendor', 0):,} rated vendor lines, "
        f"rated_lines.parquet {size:.0f} MB, peak {peak:.0f} MB "
        f"(after the import {before:.0f} MB), "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
