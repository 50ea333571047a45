"""What reading Azure's locations as region names costs per line: a column of 10 million
locations read as the Microsoft formats read it before (``COALESCE`` of two columns) and through
``_azure_region`` (billing_lib/azure_regions.py), for the cost details' own spelling
(``westeurope``) and for legacy names (``EU West``); best of three each.

    .venv/bin/python benchmarks/azure_region_cost.py --lines 10000000
"""

from __future__ import annotations

import argparse
import time

import duckdb

from billing_lib.azure_regions import AZURE_REGION_MACRO

SPELLINGS = {
    "own spelling": "['westeurope', 'northeurope', 'germanywestcentral']",
    "legacy names": "['EU West', 'EU North', 'DE West Central']",
}
READS = {"before": "COALESCE(a, b)", "after": "_azure_region(COALESCE(a, b))"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(args.threads)}")
    con.execute(AZURE_REGION_MACRO)
    for kind, values in SPELLINGS.items():
        con.execute(
            f"CREATE OR REPLACE TABLE t AS SELECT {values}[1 + i % 3] AS a, NULL::VARCHAR AS b, i "
            f"FROM range({int(args.lines)}) r(i)"
        )
        for how, read in READS.items():
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                con.execute(f"CREATE OR REPLACE TEMP TABLE o AS SELECT {read} AS r, i FROM t")
                best = min(best, time.perf_counter() - t0)
            [regions] = con.execute("SELECT list(DISTINCT r ORDER BY r) FROM o").fetchone()
            print(f"{kind:13} {how:6} {best:6.2f} s  {regions}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
