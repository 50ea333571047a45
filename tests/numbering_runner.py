"""``billing run`` without papermill, for tests/test_bad_inputs_numbering.py: the notebook's steps
in one process (``run.run_all``: the lock, the numbering and the publishing are the same code),
with the command's exit status, messages and "cleaned up" lines. A real process the tests start,
pause at a named point and kill; papermill's kernel would only add seconds.

    python -m tests.numbering_runner PERIOD REPORTS PARAMETERS OUTPUT [--finalise] [--wait S]
        [--writer-processes N]

``--writer-processes N``: the workbooks written by N forked processes however few the invoices
(``workbooks.PARALLEL_FROM``, 40, is more than a test month has).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from billing_lib import run, workbooks
from billing_lib.errors import BillingError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    for name in ("period", "reports", "parameters", "output"):
        parser.add_argument(name)
    parser.add_argument("--finalise", action="store_true")
    parser.add_argument("--wait", type=float, default=0)
    parser.add_argument("--writer-processes", type=int, default=0)
    args = parser.parse_args(argv)
    if args.writer_processes:
        os.environ["BILLING_THREADS"] = str(args.writer_processes)
        workbooks.PARALLEL_FROM = 1
    try:
        br = run.start(
            args.period, args.reports, args.parameters, args.output, args.finalise, wait=args.wait
        )
        try:
            for line in br.cleaned:
                print(f"cleaned up: {line}")
            br.load_parameters()
            br.import_reports()
            br.map_customers()
            br.rate()
            br.build_invoices()
            br.write_outputs()
            br.ledger_balance()
            br.write_manifest()
            print(br.publish())
        finally:
            if br.lock is not None:
                br.lock.release()
    except BillingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    manifest = json.loads((br.params.run_folder / "manifest.json").read_text(encoding="utf-8"))
    print(" ".join(i["invoice_number"] for i in manifest["invoices"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
