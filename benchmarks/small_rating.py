"""``rate_lines`` on the small months the property test generates, repeated: milliseconds per call
(wall and CPU, the best of ``--rounds`` per month), and with ``--statements`` each statement's.

On a month of a few dozen lines the cost of a rating is DuckDB planning its statements, not the
lines; the test suite rates about 145 such months (issue 13). The months are those of
``tests/test_rating_properties.py``'s strategy, drawn with a fixed seed, so two versions of the
code (``PYTHONPATH`` names the one imported) are measured on the same months.

    .venv/bin/python benchmarks/small_rating.py --rounds 3
    .venv/bin/python benchmarks/small_rating.py --rounds 1 --statements
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_rating_properties as properties  # noqa: E402 - the tests folder is on sys.path now
from rating_helpers import rated_store, write_parameters  # noqa: E402

import billing_lib  # noqa: E402
from billing_lib.rating import rate_lines  # noqa: E402


class _Timed:
    """A connection whose ``execute`` is timed per statement (first words), in CPU seconds."""

    def __init__(self, con: duckdb.DuckDBPyConnection, spent: dict[str, list[float]]) -> None:
        self._con = con
        self._spent = spent

    def execute(self, sql: str, *args: Any) -> Any:
        key = re.sub(r"\s+", " ", sql.strip())[:90]
        c0 = time.process_time()
        try:
            return self._con.execute(sql, *args)
        finally:
            entry = self._spent[key]
            entry[0] += 1
            entry[1] += time.process_time() - c0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def months(count: int, draw_seed: int) -> list[list[dict[str, Any]]]:
    """``count`` months of the property test's strategy, the same for the same seed."""
    drawn: list[list[dict[str, Any]]] = []

    @seed(draw_seed)
    @settings(max_examples=count, deadline=None, database=None)
    @given(rows=st.lists(properties.vendor_line(), min_size=0, max_size=40))
    def collect(rows: list[dict[str, Any]]) -> None:
        drawn.append(rows)

    collect()
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--statements", action="store_true", help="time each statement (CPU)")
    args = parser.parse_args()
    drawn = months(args.months, args.seed)
    params = write_parameters(Path(tempfile.mkdtemp(prefix="small-rating-")), properties.PLANS)
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    wall = [float("inf")] * len(drawn)
    cpu = [float("inf")] * len(drawn)
    for _ in range(args.rounds):
        for i, rows in enumerate(drawn):
            con, pricing, customers = rated_store(params, rows)
            use: Any = _Timed(con, spent) if args.statements else con
            t0, c0 = time.perf_counter(), time.process_time()
            rate_lines(use, pricing, customers, "2026-10")
            wall[i] = min(wall[i], time.perf_counter() - t0)
            cpu[i] = min(cpu[i], time.process_time() - c0)
            con.close()
    n = len(drawn)
    if args.statements:
        calls = n * args.rounds
        for key, (count, secs) in sorted(spent.items(), key=lambda kv: -kv[1][1])[:40]:
            print(f"{secs / calls * 1000:7.2f} ms {count / calls:5.1f}x  {key}")
        total = sum(s for _, s in spent.values())
        print(
            f"statements: {sum(c for c, _ in spent.values()) / calls:.0f} per rating, "
            f"{total / calls * 1000:.1f} ms CPU"
        )
    print(
        f"{Path(billing_lib.__file__).parent}: rate_lines {sum(wall) / n * 1000:.1f} ms "
        f"(CPU {sum(cpu) / n * 1000:.1f} ms) per call, the best of {args.rounds} on each of "
        f"{n} months ({sum(map(len, drawn))} lines)"
    )


if __name__ == "__main__":
    main()
