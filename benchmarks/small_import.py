"""The import of the sample month's four small reports, repeated: milliseconds per call of
``open_store`` and ``import_reports``, and with ``--statements`` the statements it runs.

On tiny files the cost of an import is DuckDB planning each statement, not the data; the test suite
imports the sample month about 250 times (issue 13), so this per-call figure is what the suite pays.

    .venv/bin/python benchmarks/small_import.py --repeat 20 --statements
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from billing_lib.importers import import_reports, report_files
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

ROOT = Path(__file__).resolve().parent.parent
MONTH = ROOT / "samples" / "2026-10"


class _Counting:
    """A connection whose ``execute`` and ``executemany`` are timed per statement (first words)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, spent: dict[str, list[float]]) -> None:
        self._con = con
        self._spent = spent

    def _timed(self, method: str, sql: str, *args: Any) -> Any:
        key = re.sub(r"\s+", " ", sql.strip())[:90]
        t0 = time.perf_counter()
        try:
            result = getattr(self._con, method)(sql, *args)
            if method == "execute":
                return self
            return result
        finally:
            entry = self._spent[key]
            entry[0] += 1
            entry[1] += time.perf_counter() - t0

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed("execute", sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed("executemany", sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--statements", action="store_true", help="time each statement")
    args = parser.parse_args()
    files = report_files(MONTH / "reports")
    prices = load_vendor_prices(ROOT / "parameters")
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    opened = imported = opened_cpu = imported_cpu = 0.0
    import_reports(open_store(), files, vendor_prices=prices, period="2026-10")  # warm caches
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        con = open_store()
        t1, c1 = time.perf_counter(), time.process_time()
        use: Any = _Counting(con, spent) if args.statements else con
        import_reports(use, files, vendor_prices=prices, period="2026-10")
        t2, c2 = time.perf_counter(), time.process_time()
        con.close()
        opened += t1 - t0
        imported += t2 - t1
        opened_cpu += c1 - c0
        imported_cpu += c2 - c1
    n = args.repeat
    if args.statements:
        rows = sorted(spent.items(), key=lambda kv: -kv[1][1])
        for key, (count, secs) in rows[:40]:
            print(f"{secs / n * 1000:7.2f} ms {count / n:5.1f}x  {key}")
        total = sum(s for _, s in spent.values())
        calls = sum(c for c, _ in spent.values())
        print(f"statements: {calls / n:.0f} per import, {total / n * 1000:.1f} ms")
    print(
        f"per call: open_store {opened / n * 1000:.1f} ms (CPU {opened_cpu / n * 1000:.1f} ms), "
        f"import_reports of {len(files)} files {imported / n * 1000:.1f} ms "
        f"(CPU {imported_cpu / n * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
