"""How long the invoice PDFs and UBL e-invoices take: N synthetic invoices written one by one.

The invoices are the sample month's (billed into a temporary folder), cycled to N with their own
numbers and customer ids, each with its lines repeated ``--repeat`` times (VAT and totals
recomputed by the invoicing rules, so every invoice is consistent). Prints the seconds for the
PDFs, for the UBL documents (with the PDF embedded), wall and CPU (the CPU time does not depend on
what else the machine runs), and the bytes written.

    .venv/bin/python benchmarks/documents_benchmark.py --invoices 500 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from billing_lib import run
from billing_lib.customers import load_customers
from billing_lib.invoice_pdf import pdf_name, write_invoice_pdf
from billing_lib.invoices import _finish, load_invoicing, read_invoice_data
from billing_lib.ubl import ubl_name, write_ubl

REPO = Path(__file__).resolve().parents[1]


def synthetic(count: int, repeat: int, work: Path) -> tuple[list, object]:
    """``count`` consistent invoices made from the sample month's, and the seller block."""
    folder = run.run_all(
        "2026-10", REPO / "samples" / "2026-10" / "reports", REPO / "parameters", work / "out"
    )
    seller, issued = read_invoice_data(folder / "invoices.json")
    invoicing = load_invoicing(REPO / "parameters", load_customers(REPO / "parameters"))
    base = list(issued.values())
    out = []
    for i in range(count):
        inv = base[i % len(base)]
        lines = tuple(ln for _ in range(repeat) for ln in inv.lines)
        out.append(
            _finish(
                replace(inv, number=f"NW2026-{i + 1:06d}", customer_id=f"B{i:04d}", lines=lines),
                invoicing,
            )
        )
    return out, seller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="copies of each invoice's lines")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        invoices, seller = synthetic(args.invoices, args.repeat, work)
        target = work / "documents"
        pdf_s, ubl_s, pdfs = [], [], []
        t_all, cpu_all = time.perf_counter(), time.process_time()
        for inv in invoices:
            t0 = time.perf_counter()
            pdf = write_invoice_pdf(inv, seller, target / pdf_name(inv))
            t1 = time.perf_counter()
            write_ubl(inv, seller, target / ubl_name(inv), pdf)
            t2 = time.perf_counter()
            pdf_s.append(t1 - t0)
            ubl_s.append(t2 - t1)
            pdfs.append(pdf)
        total, cpu = time.perf_counter() - t_all, time.process_time() - cpu_all
        lines = [len(i.lines) for i in invoices]
        size = {s: sum(p.stat().st_size for p in target.glob(f"*{s}")) for s in (".pdf", ".xml")}
        print(
            f"{len(invoices)} invoices, {min(lines)}-{max(lines)} lines each ({sum(lines)} "
            f"lines): PDF {sum(pdf_s):.1f} s ({statistics.median(pdf_s) * 1000:.0f} ms median), "
            f"UBL {sum(ubl_s):.1f} s ({statistics.median(ubl_s) * 1000:.1f} ms median), together "
            f"{total:.1f} s wall, {cpu:.1f} s CPU ({cpu / len(invoices) * 1000:.0f} ms CPU "
            "an invoice); "
            f"PDF {size['.pdf'] / 1e6:.1f} MB, UBL {size['.xml'] / 1e6:.1f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
