"""Invoice workbooks (one per customer) and the run-summary workbook, with xlsxwriter: the entry
points, and the pool of processes that writes them.

An invoice workbook holds the printable invoice sheet (``invoice_sheet``) and a usage sheet per
vendor (``usage_sheets``) with the rated lines behind the invoice (``billing_lib.usage``); every
invoice's rated lines, all of them, are in ``<workbook>.usage.parquet`` beside it. The invoices are
read share by share (``usage.invoice_usage``): a share's workbooks (each with its PDF and UBL
e-invoice, when the run asks for them) are written by up to ``BILLING_THREADS`` (default: every
core) processes while this one writes the share's detail files and reads the next share. The
run's summary workbook is ``summary_workbook``.

Text that comes from vendor files or parameters is written with ``write_string`` only, and the
workbook is opened with ``strings_to_formulas`` off as well: a resource named ``=HYPERLINK(...)``
stays text. Document properties are fixed (the 'created' date derives from the period), so a rerun
gives byte-identical files.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import xlsxwriter

from billing_lib.customers import Customer
from billing_lib.invoice_sheet import write_invoice_sheet
from billing_lib.invoices import Invoice, Invoicing, Seller
from billing_lib.publishing import writing
from billing_lib.run_files import atomic_target
from billing_lib.sheet_formats import WORKBOOK_OPTIONS, InvoiceFormats, fixed_created, sheet_name
from billing_lib.summary_workbook import write_summary_workbook
from billing_lib.usage import USAGE_DETAIL_SUFFIX, InvoiceUsage, invoice_usage
from billing_lib.usage_sheets import write_usage_sheets

INVOICE_FOLDER = "invoices"
SUMMARY_WORKBOOK = "run_summary.xlsx"
#: Invoices from which the workbooks are written by several processes (below it, starting them
#: costs more than it saves).
PARALLEL_FROM = 40
_T = TypeVar("_T")


def safe_name(text: str) -> str:
    """File-name-safe text (letters, digits, - and _)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "x"


def write_workbooks(
    con: duckdb.DuckDBPyConnection,
    invoices: list[Invoice],
    invoicing: Invoicing,
    folder: Path,
    customers: dict[str, Customer] | None = None,
    also: Callable[[Invoice], list[Path]] | None = None,
) -> list[Path]:
    """One workbook per invoice in ``folder/invoices/``, each with its usage detail file beside
    it, and the run summary in ``folder``; the paths written (per invoice its workbook, its
    detail file and what ``also`` wrote; the summary last). ``customers`` (for the usage sheets'
    invoice-line column) defaults to those ``load_invoicing`` was given. ``also`` writes more
    files of one invoice (the run: its PDF and UBL e-invoice, ``documents.document_writer``) in
    the same process as its workbook, so they are written on every core too. (The run keeps the
    same invoices as data beside them, ``invoices.write_invoice_data``, for ``billing
    credit-note``.)"""
    customers = customers if customers is not None else invoicing.customers
    folder = Path(folder)
    target = folder / INVOICE_FOLDER
    billed = [inv for inv in invoices if inv.kind == "invoice"]
    detail_names = {inv.number: usage_detail_name(inv) for inv in billed}
    jobs = [
        _Job(inv, invoicing.seller, invoicing.products.vendors, None, target, also)
        for inv in invoices
    ]
    # a full disk or a file-size limit names the file (the OSError carries it)
    with writing(target):
        books = _write_all(
            jobs, invoice_usage(con, billed, invoicing, customers, detail_names, target)
        )
    details = {number: target / name for number, name in detail_names.items()}
    written: list[Path] = []
    for inv, paths in zip(invoices, books, strict=True):
        written.append(paths[0])
        if inv.number in details:
            written.append(details[inv.number])
        written += paths[1:]
    if invoices:
        with writing(folder / SUMMARY_WORKBOOK):
            written.append(write_summary_workbook(invoices, invoicing, folder / SUMMARY_WORKBOOK))
    return written


def workbook_name(inv: Invoice) -> str:
    """``NW2026-000001_C003.xlsx``: the file name of an invoice's (or credit note's) workbook."""
    return f"{safe_name(inv.number)}_{safe_name(inv.customer_id)}.xlsx"


def usage_detail_name(inv: Invoice) -> str:
    """``NW2026-000001_C003.usage.parquet``: every rated line behind the invoice."""
    return Path(workbook_name(inv)).stem + USAGE_DETAIL_SUFFIX


@dataclass
class _Job:
    """One invoice workbook to write: everything it shows, no database connection (so another
    process can write it)."""

    inv: Invoice
    seller: Seller
    vendors: dict[str, Any]
    usage: InvoiceUsage | None
    folder: Path
    also: Callable[[Invoice], list[Path]] | None = None


#: The jobs of the current ``_write_all`` call, for the forked writer processes (set before they
#: start, so they inherit it instead of receiving it pickled).
_JOBS: list[_Job] = []


def _write_job(index: int, usage: InvoiceUsage | None = None) -> list[Path]:
    """The workbook of job ``index`` (with ``usage``, when given, as its usage sheets' rows),
    then what its ``also`` writes."""
    job = _JOBS[index]
    usage = usage if usage is not None else job.usage
    path = job.folder / workbook_name(job.inv)
    with writing(path):  # a full disk or a file-size limit names the workbook
        written = [write_invoice_workbook(job.inv, job.seller, job.vendors, usage, path)]
    return written + (job.also(job.inv) if job.also else [])


def _writers() -> int:
    """Processes for the workbooks: ``BILLING_THREADS`` when set, else the cores available."""
    threads = os.environ.get("BILLING_THREADS", "").strip()
    if threads.isdigit() and int(threads) > 0:
        return int(threads)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _write_all(jobs: list[_Job], usage: Iterator[dict[str, InvoiceUsage]]) -> list[list[Path]]:
    """The files of ``jobs`` (per job its paths, in the same order). ``usage`` yields, share by
    share, the usage of invoices whose workbooks can be written (``usage.invoice_usage``, which
    writes the share's detail files in this process when it is resumed). With many jobs they are
    written by forked processes (xlsxwriter and reportlab are pure Python, one core each) as
    each share is ready, else here after every share. The bytes do not depend on which process
    wrote a file."""
    global _JOBS
    processes = min(_writers(), len(jobs))
    index = {job.inv.number: k for k, job in enumerate(jobs)}
    _JOBS = jobs
    try:
        if processes < 2 or len(jobs) < PARALLEL_FROM or "fork" not in mp.get_all_start_methods():
            for ready in usage:
                for number, rows in ready.items():
                    jobs[index[number]].usage = rows
            return [_write_job(i) for i in range(len(jobs))]
        with ProcessPoolExecutor(processes, mp_context=mp.get_context("fork")) as pool:
            # the workers fork at the first submit, between two of DuckDB's queries; a share's
            # rows go to them pickled
            futures: dict[int, Future[list[Path]]] = {}
            for ready in usage:
                for number, rows in ready.items():
                    futures[index[number]] = pool.submit(_write_job, index[number], rows)
            for k in range(len(jobs)):  # credit notes: no usage sheets
                if k not in futures:
                    futures[k] = pool.submit(_write_job, k)
            return [futures[k].result() for k in range(len(jobs))]
    finally:
        _JOBS = []


def write_invoice_workbook(
    inv: Invoice,
    seller: Seller,
    vendors: dict[str, Any],
    usage: InvoiceUsage | None,
    path: Path,
) -> Path:
    """The workbook of one invoice: the invoice sheet and a usage sheet per vendor of ``usage``
    (``usage.usage_rows``; ``vendors`` names them, products.yaml), whose summaries name the detail
    file beside ``path`` (``usage_detail_name``). Credit notes have none."""
    with atomic_target(path) as tmp:
        wb = _document(tmp, inv, fixed_created(inv))
        fmt = InvoiceFormats(wb, inv.currency)
        used: set[str] = set()
        write_invoice_sheet(wb.add_worksheet(sheet_name(_kind(inv), used)), inv, seller, fmt)
        if inv.kind == "invoice" and usage is not None:
            detail_name = path.stem + USAGE_DETAIL_SUFFIX
            write_usage_sheets(wb, inv, vendors, usage, detail_name, fmt, used)
        wb.close()
    return path


def write_credit_note_workbook(note: Invoice, seller: Seller, path: Path) -> Path:
    """The workbook of a credit note: the invoice sheet's layout with every amount negative,
    "Corrects invoice <number>" among the details and the reason under Payment. No usage sheets:
    the rated lines are those of the corrected invoice's workbook. ``seller`` is the seller block
    as the corrected invoice printed it; 'created' is the issue date (fixed, for identical
    bytes)."""
    with atomic_target(path) as tmp:
        wb = _document(tmp, note, datetime.combine(note.issue_date, time()))
        write_invoice_sheet(
            wb.add_worksheet(sheet_name(_kind(note), set())),
            note,
            seller,
            InvoiceFormats(wb, note.currency),
        )
        wb.close()
    return path


def _kind(inv: Invoice) -> str:
    return "Credit note" if inv.kind == "credit_note" else "Invoice"


def _document(tmp: Path, inv: Invoice, created: datetime) -> xlsxwriter.Workbook:
    """A new workbook for ``inv`` with its fixed document properties."""
    # in memory: no temporary file per sheet and XML part (a few hundred KB a workbook; about a
    # fifth less CPU than constant_memory's streaming, benchmarks/README.md)
    wb = xlsxwriter.Workbook(str(tmp), {**WORKBOOK_OPTIONS, "in_memory": True})
    wb.set_properties(
        {
            "title": f"{_kind(inv)} {inv.number}",
            "subject": f"{inv.seller.name}, period {inv.period}",
            "author": inv.seller.name,
            "company": inv.seller.name,
            "created": created,
            "comments": f"customer {inv.customer_id}",
        }
    )
    return wb
