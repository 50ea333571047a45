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

import gc
import multiprocessing as mp
import os
import re
import threading
import time as time_module
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import xlsxwriter

from billing_lib import store_limits
from billing_lib.customers import Customer
from billing_lib.faults import pause_point
from billing_lib.fx import ExchangeRates
from billing_lib.invoice_sheet import write_invoice_sheet
from billing_lib.invoices import Invoice, Invoicing, Seller
from billing_lib.not_billed import not_billed
from billing_lib.publishing import writing
from billing_lib.run_files import atomic_target
from billing_lib.scratch import scratch_folder
from billing_lib.sheet_formats import (
    WORKBOOK_OPTIONS,
    InvoiceFormats,
    PrintedWorksheet,
    fixed_created,
    sheet_name,
)
from billing_lib.sql import ql
from billing_lib.summary_workbook import write_summary_workbook
from billing_lib.usage import (
    USAGE_DETAIL_SUFFIX,
    InvoiceUsage,
    csv_detail_path,
    share_usage,
    usage_shares,
)
from billing_lib.usage_sheets import write_usage_sheets

INVOICE_FOLDER = "invoices"
SUMMARY_WORKBOOK = "run_summary.xlsx"
#: Invoices from which the workbooks are written by several processes (below it, starting them
#: costs more than it saves).
PARALLEL_FROM = 40
#: Seconds between a writer process's looks at whether the run's process still lives.
WRITER_PARENT_POLL = 0.5
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
    rated: Path | None = None,
    summary: bool = True,
    rates: ExchangeRates | None = None,
    period: str | None = None,
) -> list[Path]:
    """One workbook per invoice in ``folder/invoices/``, each with its usage detail file beside
    it, and the run summary in ``folder``; the paths written (per invoice its workbook, its
    detail file and what ``also`` wrote; the summary last). ``customers`` (for the usage sheets'
    invoice-line column) defaults to those ``load_invoicing`` was given. ``also`` writes more
    files of one invoice (the run: its PDF and UBL e-invoice, ``documents.document_writer``) in
    the same process as its workbook, so they are written on every core too. ``rated``: the
    rated lines as Parquet (the run's rated_lines.parquet, by customer) for the writer
    processes, which read their shares from it; without it they get a copy of ``rated_lines``.
    (The run keeps the same invoices as data beside them, ``invoices.write_invoice_data``, for
    ``billing credit-note``.) ``summary``: False for a reissued invoice, whose folder holds no
    run's summary; ``rates``: the run's exchange rates, at which the summary's vendor cost billed
    to no customer is stated in the national currency as the journal states it
    (``not_billed``); ``period``: the run's, so a run without an invoice (every vendor line
    unmapped or excluded) writes its summary too, listing the cost it billed to nobody."""
    customers = customers if customers is not None else invoicing.customers
    folder = Path(folder)
    target = folder / INVOICE_FOLDER
    billed = [inv for inv in invoices if inv.kind == "invoice"]
    detail_names = {inv.number: usage_detail_name(inv) for inv in billed}
    jobs = [
        _Job(inv, invoicing.seller, invoicing.products.vendors, target, also) for inv in invoices
    ]
    shares = _Shares(billed, invoicing, customers, target, detail_names, rated)
    # a full disk or a file-size limit names the file (the OSError carries it)
    with writing(target):
        books = _write_all(con, jobs, shares)
    details = {number: target / name for number, name in detail_names.items()}
    written: list[Path] = []
    for inv, paths in zip(invoices, books, strict=True):
        written.append(paths[0])
        if inv.number in details:
            written.append(details[inv.number])
            if invoicing.seller.usage_detail_csv:
                written.append(csv_detail_path(details[inv.number]))
        written += paths[1:]
    if summary and (invoices or period):
        unbilled = not_billed(con, invoices, invoicing, rates, period)
        with writing(folder / SUMMARY_WORKBOOK):
            written.append(
                write_summary_workbook(
                    invoices, invoicing, folder / SUMMARY_WORKBOOK, unbilled, period
                )
            )
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
    folder: Path
    also: Callable[[Invoice], list[Path]] | None = None


@dataclass
class _Shares:
    """The invoices whose usage the writers read share by share (``usage.usage_shares``), and
    where their detail files go."""

    billed: list[Invoice]
    invoicing: Invoicing
    customers: dict[str, Customer]
    folder: Path
    detail_names: dict[str, str]
    rated: Path | None
    shares: list[list[Invoice]] = field(default_factory=list)
    #: The index in ``_JOBS`` of each invoice number.
    job: dict[str, int] = field(default_factory=dict)
    #: A temporary folder of the writer processes (their DuckDB's spill folders, the Parquet
    #: copy of ``rated_lines`` when none is given), removed after them.
    spill: Path | None = None

    def write(self, con: duckdb.DuckDBPyConnection, k: int) -> dict[str, InvoiceUsage]:
        """Share ``k``'s detail files; its invoices' usage sheets' rows per invoice number."""
        share = self.shares[k]
        targets = [self.folder / self.detail_names[i.number] for i in share]
        return share_usage(con, share, self.invoicing, self.customers, targets)


#: The jobs and shares of the current ``_write_all`` call, for the forked writer processes (set
#: before they start, so they inherit them instead of receiving them pickled).
_JOBS: list[_Job] = []
_SHARES: _Shares | None = None
#: A writer process's own DuckDB over the rated lines' Parquet (made at its first share).
_STORE: duckdb.DuckDBPyConnection | None = None
#: DuckDB memory of one writer process: one share's lines, labelled and sorted (spills beyond).
WRITER_MEMORY = "512MB"


def _write_job(index: int, usage: InvoiceUsage | None = None) -> list[Path]:
    """The workbook of job ``index`` (with ``usage`` as its usage sheets' rows; none for a credit
    note), then what its ``also`` writes."""
    job = _JOBS[index]
    path = job.folder / workbook_name(job.inv)
    with _collected_after():
        with writing(path):  # a full disk or a file-size limit names the workbook
            written = [write_invoice_workbook(job.inv, job.seller, job.vendors, usage, path)]
        return written + (job.also(job.inv) if job.also else [])


@contextmanager
def _collected_after() -> Iterator[None]:
    """Python's cyclic garbage collector paused while the block writes one invoice's files, then
    run once over the objects made since (its young generations). An xlsxwriter workbook is a
    cycle of thousands of objects, its cells among them: the collections that writing them set
    off, some scanning every long-lived object of the process too, were about a quarter of a
    workbook's CPU (benchmarks/README.md, issue 13's fifth pass). Left alone when paused
    already."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


def _writer_started() -> None:
    """A writer process's start: the objects it inherits from the run's process are never
    scanned by its garbage collector (``gc.freeze``; they are the parent's, and the collector
    touching them would also copy their memory pages), and it ends when the run's process does
    (``_end_with``)."""
    gc.freeze()
    threading.Thread(target=_end_with, args=(os.getppid(),), daemon=True).start()


def _end_with(parent: int) -> None:
    """End this writer once ``parent`` (the run's process) is gone: a run killed with ``kill -9``
    left its idle writers waiting for work for good, each holding its DuckDB's memory."""
    while os.getppid() == parent:
        time_module.sleep(WRITER_PARENT_POLL)
    os._exit(1)


def _write_share(k: int, con: duckdb.DuckDBPyConnection | None = None) -> dict[int, list[Path]]:
    """Share ``k``: its detail files, then its invoices' workbooks (and what ``also`` writes),
    per job index. ``con``: the run's store; a writer process reads the Parquet
    (``_writer_store``)."""
    assert _SHARES is not None
    usage = _SHARES.write(con if con is not None else _writer_store(), k)
    return {_SHARES.job[n]: _write_job(_SHARES.job[n], rows) for n, rows in usage.items()}


def _writer_store() -> duckdb.DuckDBPyConnection:
    """This writer process's DuckDB (one thread, ``WRITER_MEMORY``), ``rated_lines`` a view of
    the rated lines' Parquet; the parent's connection is never used after the fork."""
    global _STORE
    if _STORE is None:
        assert _SHARES is not None and _SHARES.rated is not None and _SHARES.spill is not None
        con = duckdb.connect()
        con.execute(f"SET threads = 1; SET memory_limit = {ql(WRITER_MEMORY)}")
        con.execute("SET preserve_insertion_order = true")
        # a folder of its own: two DuckDBs would write the same temporary file names
        con.execute(f"SET temp_directory = {ql(str(_SHARES.spill / f'writer-{os.getpid()}'))}")
        con.execute(
            f"CREATE VIEW rated_lines AS SELECT * FROM read_parquet({ql(str(_SHARES.rated))})"
        )
        _STORE = con
    return _STORE


def _writers() -> int:
    """Processes for the workbooks: ``BILLING_THREADS`` when set, else the cores available."""
    threads = store_limits.threads()
    if threads:
        return threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _write_all(
    con: duckdb.DuckDBPyConnection, jobs: list[_Job], shares: _Shares
) -> list[list[Path]]:
    """The files of ``jobs`` (per job its paths, in the same order), the usage of ``shares``'
    invoices read share by share. With many jobs, forked processes (xlsxwriter and reportlab are
    pure Python, one core each) each take whole shares: the share's lines from the rated
    Parquet in a DuckDB of their own, its detail files, its workbooks; this process only hands
    out the shares (and copies ``rated_lines`` to Parquet first when ``shares.rated`` is None).
    Else all here with ``con``. The bytes do not depend on which process wrote a file."""
    global _JOBS, _SHARES
    processes = min(_writers(), len(jobs))
    parallel = (
        processes >= 2 and len(jobs) >= PARALLEL_FROM and "fork" in mp.get_all_start_methods()
    )
    shares.shares = usage_shares(shares.billed, 8 * processes if parallel else 1)
    shares.job = {job.inv.number: k for k, job in enumerate(jobs)}
    notes = [k for k, job in enumerate(jobs) if job.inv.kind != "invoice"]  # no usage sheets
    _JOBS, _SHARES = jobs, shares
    written: dict[int, list[Path]] = {}
    try:
        if not parallel:
            for k in range(len(shares.shares)):
                written.update(_write_share(k, con))
            written.update({k: _write_job(k) for k in notes})
            return [written[k] for k in range(len(jobs))]
        with (
            _writers_folder(con, shares),
            ProcessPoolExecutor(
                processes, mp_context=mp.get_context("fork"), initializer=_writer_started
            ) as pool,
        ):
            # the workers fork at the first submit, between two of DuckDB's queries
            futures = [pool.submit(_write_share, k) for k in range(len(shares.shares))]
            others = {k: pool.submit(_write_job, k) for k in notes}
            pause_point("writers-forked")
            for future in futures:
                written.update(future.result())
            written.update({k: f.result() for k, f in others.items()})
            return [written[k] for k in range(len(jobs))]
    finally:
        _JOBS, _SHARES = [], None


@contextmanager
def _writers_folder(con: duckdb.DuckDBPyConnection, shares: _Shares) -> Iterator[None]:
    """``shares.spill`` while the block runs, with a Parquet copy of ``rated_lines`` in it when
    ``shares.rated`` is None."""
    given = shares.rated
    with scratch_folder("writers") as tmp:
        shares.spill = tmp
        if given is None:
            shares.rated = shares.spill / "rated_lines.parquet"
            con.execute(f"COPY rated_lines TO {ql(str(shares.rated))} (FORMAT parquet)")
        try:
            yield
        finally:
            shares.rated, shares.spill = given, None


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
        fmt = InvoiceFormats(wb, inv.currency, _national(inv))
        used: set[str] = set()
        sheet = wb.add_worksheet(sheet_name(_kind(inv), used), worksheet_class=PrintedWorksheet)
        write_invoice_sheet(sheet, inv, seller, fmt)
        if inv.kind == "invoice" and usage is not None:
            detail = path.with_name(path.stem + USAGE_DETAIL_SUFFIX)
            detail_name = csv_detail_path(detail).name if seller.usage_detail_csv else detail.name
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
            wb.add_worksheet(sheet_name(_kind(note), set()), worksheet_class=PrintedWorksheet),
            note,
            seller,
            InvoiceFormats(wb, note.currency, _national(note)),
        )
        wb.close()
    return path


def _national(inv: Invoice) -> str | None:
    """The currency ``inv`` also states its VAT in (``Invoice.national_vat``), if any."""
    return inv.national_vat.currency if inv.national_vat else None


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
