"""The billing run's stages up to ``write_outputs`` with the seconds and CPU seconds of each.

``run_benchmark.py`` gives the whole run's CPU seconds only; on a machine shared with other
developers the wall time of one stage says little, its CPU seconds (which include DuckDB's
threads and the forked writer processes) more. This runs ``BillingRun`` step by step on the
benchmark's store settings (in memory, ``memory_limit`` 1200MB, 2 threads, spilling to a
temporary folder), without the invoice files (as ``--workbooks skip``), prints one JSON line and
keeps the run's ``rated_lines.parquet``, so that two versions of the code can be run in turn
(``PYTHONPATH`` names the one imported) and their files compared. The month must exist
(``generate_month.py``).

    .venv/bin/python benchmarks/stage_cpu.py --size 3M --keep /tmp/new-3M.parquet
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import generate_month  # a sibling script: this folder is on sys.path when it runs

PERIOD = "2026-10"


def cpu_seconds() -> float:
    """User and system CPU seconds of this process (its threads) and its ended children."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1M", help="a generated month: 1M, 3M, 10M")
    parser.add_argument("--memory-limit", default="1200MB")
    parser.add_argument("--keep", type=Path, help="where to keep the run's rated_lines.parquet")
    args = parser.parse_args()
    os.environ["BILLING_MEMORY_LIMIT"] = args.memory_limit
    os.environ["BILLING_THREADS"] = "2"
    import billing_lib
    from billing_lib import run as billing
    from billing_lib import workbooks

    workbooks.write_workbooks = lambda *a, **k: []  # the invoice files left out
    data = generate_month.DATA / args.size
    with tempfile.TemporaryDirectory(prefix="stage-cpu-") as work:
        params = billing.check_parameters(
            PERIOD, data / "reports-parquet", data / "parameters", Path(work) / "outputs"
        )
        br = billing.BillingRun(params)
        br.con.execute(f"SET temp_directory = '{Path(work) / 'spill'}'")
        out: dict = {"size": args.size, "code": str(Path(billing_lib.__file__).parent)}
        out["load"] = round(os.getloadavg()[0], 1)
        steps = [
            ("parameters", br.load_parameters),
            ("import", br.import_reports),
            ("mapping", br.map_customers),
            ("rating", br.rate),
            ("invoices", br.build_invoices),
            ("outputs", br.write_outputs),
        ]
        for name, step in steps:
            t, c = time.perf_counter(), cpu_seconds()
            step()
            out[name] = {"s": round(time.perf_counter() - t, 2), "cpu": round(cpu_seconds() - c, 2)}
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        out["load_end"] = round(os.getloadavg()[0], 1)
        if args.keep and br.staging is not None:
            shutil.move(str(br.staging / "rated_lines.parquet"), args.keep)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
