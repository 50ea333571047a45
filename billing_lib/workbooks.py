"""Invoice workbooks (one per customer) and the run-summary workbook, with xlsxwriter.

The invoice sheet prints on one A4 page wide: seller and buyer blocks, the invoice's details,
the lines per product group with subtotals, the VAT summary, the totals and the payment details.
Every subtotal, VAT amount and total is a formula over the cells above it, written together with
its value (the stored, exactly rounded figure), so Excel and LibreOffice show the same cents before
and after recalculating.

Usage sheets per vendor show the rated lines behind the invoice (``billing_lib.usage``): every line
with the invoice line it belongs to and its source file and row when the invoice has at most the
seller's ``usage_detail_max_lines`` rated lines (seller.yaml, default 1,000), else the lines
summarised (per invoice line, service, SKU, description, resource and unit: quantity, amount,
number of lines, first and last charge date) with exact sums that add up to the invoice lines. A
sheet of tens of thousands of rows helps nobody, and xlsxwriter writes about 5,000 cells a second
per core. Every invoice's rated lines, all of them, are in ``<workbook>.usage.parquet`` beside it,
streamed from one query for all invoices (``usage.write_usage_details``). The workbooks (each
with its PDF and UBL e-invoice, when the run asks for them) are written by up to
``BILLING_THREADS`` (default: every core) processes at once when there are many.

Text that comes from vendor files or parameters is written with ``write_string`` only, and the
workbook is opened with ``strings_to_formulas`` off as well: a resource named ``=HYPERLINK(...)``
stays text. Document properties are fixed (the 'created' date derives from the period), so a rerun
gives byte-identical files.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from billing_lib.customers import Customer
from billing_lib.invoices import Invoice, Invoicing, Seller, atomic_target
from billing_lib.money import ZERO, minor_unit
from billing_lib.periods import month_days
from billing_lib.publishing import writing
from billing_lib.usage import (
    DETAIL_COLUMNS,
    SUMMARY_COLUMNS,
    USAGE_DETAIL_SUFFIX,
    InvoiceUsage,
    VendorUsage,
    usage_lines,
    usage_rows,
    write_usage_details,
)

INVOICE_FOLDER = "invoices"
SUMMARY_WORKBOOK = "run_summary.xlsx"
#: Data rows per usage sheet; beyond it the vendor's lines continue on a second sheet (Excel's
#: limit is 1,048,576 rows).
MAX_DETAIL_ROWS = 1_000_000
#: Invoices from which the workbooks are written by several processes (below it, starting them
#: costs more than it saves).
PARALLEL_FROM = 40
_T = TypeVar("_T")
_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}


def fixed_created(invoice_or_period: Invoice | str) -> datetime:
    """The workbook's 'created' property: the last second of the period (fixed, so reruns give
    identical bytes)."""

    period = invoice_or_period if isinstance(invoice_or_period, str) else invoice_or_period.period
    last = month_days(period)[1]
    return datetime.combine(last, time(23, 59, 59))


def money_format(currency: str, places: int | None = None, optional: int = 0) -> str:
    """Number format with the currency code, e.g. ``"EUR" #,##0.00``; ``optional`` extra decimals
    shown only when present (unit prices)."""
    if places is None:
        places = -minor_unit(currency).as_tuple().exponent
    decimals = ("." + "0" * places + "#" * optional) if places or optional else ""
    body = f"#,##0{decimals}"
    return f'"{currency}" {body};"{currency}" -{body}'


def _num(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


def safe_name(text: str) -> str:
    """File-name-safe text (letters, digits, - and _)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "x"


def sheet_name(text: str, used: set[str]) -> str:
    """A unique sheet name of at most 31 characters without []:*?/\\."""
    base = re.sub(r"[\[\]:*?/\\]", " ", text).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


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
    # a full disk or a file-size limit names the file (the OSError carries it)
    with writing(target), usage_lines(con, billed, invoicing, customers):
        rows = usage_rows(con, billed, invoicing.seller.usage_detail_max_lines)
        jobs = [
            _Job(
                inv,
                invoicing.seller,
                invoicing.products.vendors,
                rows.get(inv.number),
                target,
                also,
            )
            for inv in invoices
        ]
        # the detail files are written here while the workbooks are written
        books, detail_files = _write_all(
            jobs,
            lambda: write_usage_details(
                con,
                billed,
                invoicing.seller.name,
                {inv.number: usage_detail_name(inv) for inv in billed},
                target,
            ),
        )
    details = dict(zip([inv.number for inv in billed], detail_files, strict=True))
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


def _write_job(index: int) -> list[Path]:
    """The workbook of job ``index``, then what its ``also`` writes."""
    job = _JOBS[index]
    path = job.folder / workbook_name(job.inv)
    with writing(path):  # a full disk or a file-size limit names the workbook
        written = [write_invoice_workbook(job.inv, job.seller, job.vendors, job.usage, path)]
    return written + (job.also(job.inv) if job.also else [])


def _writers() -> int:
    """Processes for the workbooks: ``BILLING_THREADS`` when set, else the cores available."""
    threads = os.environ.get("BILLING_THREADS", "").strip()
    if threads.isdigit() and int(threads) > 0:
        return int(threads)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _write_all(jobs: list[_Job], meanwhile: Callable[[], _T]) -> tuple[list[list[Path]], _T]:
    """The files of ``jobs`` (per job its paths, in the same order) and what ``meanwhile``
    returns, called in this process while the jobs are written: by forked processes that each
    write a share (xlsxwriter and reportlab are pure Python, one core each) when there are many,
    else here after it. The bytes do not depend on which process wrote a file."""
    global _JOBS
    processes = min(_writers(), len(jobs))
    _JOBS = jobs
    try:
        if processes < 2 or len(jobs) < PARALLEL_FROM or "fork" not in mp.get_all_start_methods():
            return [_write_job(i) for i in range(len(jobs))], meanwhile()
        with ProcessPoolExecutor(processes, mp_context=mp.get_context("fork")) as pool:
            # the workers fork at the first submit, before ``meanwhile`` starts DuckDB again
            futures = [pool.submit(_write_job, i) for i in range(len(jobs))]
            other = meanwhile()
            return [f.result() for f in futures], other
    finally:
        _JOBS = []


class _Formats:
    """The cell formats of one workbook."""

    def __init__(self, wb: xlsxwriter.Workbook, currency: str) -> None:
        def f(**props: Any) -> Any:
            return wb.add_format({"font_name": "Arial", "font_size": 9, "valign": "top", **props})

        self.text = f()
        self.wrap = f(text_wrap=True)
        self.bold = f(bold=True)
        self.small = f(font_size=8, font_color="#555555")
        self.seller = f(bold=True, font_size=14)
        self.title = f(bold=True, font_size=16, align="right")
        self.label = f(bold=True, align="right")
        self.meta = f(align="left")
        self.date = f(num_format="yyyy-mm-dd", align="left")
        self.head = f(bold=True, bottom=1, bg_color="#E8EEF4", text_wrap=True)
        self.head_num = f(bold=True, bottom=1, bg_color="#E8EEF4", align="right", text_wrap=True)
        self.section = f(bold=True, font_size=10, top=1)
        self.money = f(num_format=money_format(currency))
        self.money_bold = f(num_format=money_format(currency), bold=True, top=1)
        self.money_total = f(
            num_format=money_format(currency), bold=True, top=1, bottom=6, font_size=10
        )
        self.price = f(num_format=money_format(currency, optional=4))
        self.qty = f(num_format="#,##0.####")
        self.int = f(num_format="0")
        self.pct = f(num_format="0.##%", align="right")
        self.total_label = f(bold=True, font_size=10, align="right")
        self.sub_label = f(bold=True, align="right")
        self.mention = f(italic=True, bold=True, text_wrap=True)


def _cell(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col)


def _ranges(rows: list[int], col: int) -> str:
    """``F12:F15,F18`` for the rows given (contiguous runs become ranges)."""
    out, start, prev = [], None, None
    for r in sorted(rows):
        if start is None:
            start = prev = r
        elif r == prev + 1:
            prev = r
        else:
            out.append((start, prev))
            start = prev = r
    if start is not None:
        out.append((start, prev))
    return ",".join(_cell(a, col) if a == b else f"{_cell(a, col)}:{_cell(b, col)}" for a, b in out)


def write_invoice_workbook(
    inv: Invoice,
    seller: Seller,
    vendors: dict[str, Any],
    usage: InvoiceUsage | None,
    path: Path,
) -> Path:
    """The workbook of one invoice: the invoice sheet and a usage sheet per vendor of ``usage``
    (``usage.usage_rows``; ``vendors`` names them, products.yaml). Credit notes have none."""
    with atomic_target(path) as tmp:
        wb = _document(tmp, inv, fixed_created(inv))
        fmt = _Formats(wb, inv.currency)
        used: set[str] = set()
        _invoice_sheet(wb.add_worksheet(sheet_name(_kind(inv), used)), inv, seller, fmt)
        if inv.kind == "invoice" and usage is not None:
            _usage_sheets(wb, inv, vendors, usage, seller.usage_detail_max_lines, fmt, used)
        wb.close()
    return path


def write_credit_note_workbook(note: Invoice, seller: Seller, path: Path) -> Path:
    """The workbook of a credit note: the invoice sheet's layout with every amount negative,
    "Corrects invoice <number>" among the details and the reason under Payment. No usage sheets:
    the rated lines are those of the corrected invoice's workbook. ``seller`` is the seller block
    as the corrected invoice printed it; 'created' is the issue date (fixed, for identical bytes)."""
    with atomic_target(path) as tmp:
        wb = _document(tmp, note, datetime.combine(note.issue_date, time()))
        _invoice_sheet(
            wb.add_worksheet(sheet_name(_kind(note), set())),
            note,
            seller,
            _Formats(wb, note.currency),
        )
        wb.close()
    return path


def _kind(inv: Invoice) -> str:
    return "Credit note" if inv.kind == "credit_note" else "Invoice"


def _document(tmp: Path, inv: Invoice, created: datetime) -> xlsxwriter.Workbook:
    """A new workbook for ``inv`` with its fixed document properties."""
    wb = xlsxwriter.Workbook(str(tmp), {**_OPTIONS, "constant_memory": True})
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


def _invoice_sheet(ws: Any, inv: Invoice, seller: Seller, fmt: _Formats) -> None:
    """The printable invoice, written top to bottom (the workbook streams rows)."""
    ws.set_paper(9)  # A4
    ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.6, right=0.5, top=0.6, bottom=0.7)
    ws.center_horizontally()
    ws.hide_gridlines(2)
    ws.set_footer(f"&L&8{seller.name} - {inv.number}&R&8Page &P of &N")
    for col, width in enumerate((52, 11, 10, 14, 8, 16)):
        ws.set_column(col, col, width)
    kind = "CREDIT NOTE" if inv.kind == "credit_note" else "INVOICE"

    left: list[tuple[str, Any]] = [(seller.name, fmt.seller)]
    left += [(a, fmt.text) for a in seller.address]
    left.append((f"VAT {seller.vat_number}", fmt.text))
    if seller.chamber_of_commerce:
        left.append((f"Chamber of Commerce (KvK) {seller.chamber_of_commerce}", fmt.text))
    left += [(x, fmt.text) for x in (seller.email, seller.phone, seller.website) if x]
    row = 0
    for i, (text, f) in enumerate(left):
        ws.write_string(row + i, 0, text, f)
        if i == 0:
            ws.write_string(row, 5, kind, fmt.title)
    row += len(left) + 1

    buyer = [("Bill to", fmt.bold), (inv.buyer.name, fmt.bold)] + [
        (a, fmt.text) for a in inv.buyer.address
    ]
    if inv.buyer.country:
        buyer.append((f"Country: {inv.buyer.country}", fmt.text))
    if inv.show_buyer_vat_number and inv.buyer.vat_number:
        buyer.append((f"VAT {inv.buyer.vat_number}", fmt.text))
    meta: list[tuple[str, Any, Any]] = [
        (
            "Credit note number" if inv.kind == "credit_note" else "Invoice number",
            inv.number,
            fmt.meta,
        ),
        ("Issue date", inv.issue_date, fmt.date),
        ("Due date", inv.due_date, fmt.date),
        (
            "Supply period",
            f"{inv.supply_start.isoformat()} to {inv.supply_end.isoformat()}",
            fmt.meta,
        ),
        ("Customer number", inv.customer_id, fmt.meta),
    ]
    if inv.customer_reference:
        meta.append(("Your reference", inv.customer_reference, fmt.meta))
    if inv.refers_to:
        meta.append(("Corrects invoice", inv.refers_to, fmt.meta))
    meta.append(("Currency", inv.currency, fmt.meta))
    for i in range(max(len(buyer), len(meta))):
        if i < len(buyer):
            ws.write_string(row + i, 0, buyer[i][0], buyer[i][1])
        if i < len(meta):
            label, value, f = meta[i]
            ws.write_string(row + i, 3, label, fmt.label)
            if f is fmt.date:
                ws.write_datetime(row + i, 4, datetime.combine(value, time()), f)
            else:
                ws.write_string(row + i, 4, str(value), f)
    row += max(len(buyer), len(meta)) + 1

    headers = ("Description", "Quantity", "Unit", "Unit price", "VAT", f"Amount ({inv.currency})")
    for col, h in enumerate(headers):
        ws.write_string(row, col, h, fmt.head if col in (0, 2) else fmt.head_num)
    ws.repeat_rows(row)
    row += 1

    subtotal_cells: list[int] = []
    rows_by_rate: dict[Decimal, list[int]] = {}
    group = None
    section_rows: list[int] = []
    section_total = ZERO
    lines = list(inv.lines)
    for i, line in enumerate(lines):
        if line.product_group != group:
            group = line.product_group
            ws.write_string(row, 0, line.heading, fmt.section)
            for col in range(1, 6):
                ws.write_blank(row, col, None, fmt.section)
            row += 1
            section_rows, section_total = [], ZERO
        ws.write_string(row, 0, line.description, fmt.wrap)
        if line.display_quantity is not None:
            ws.write_number(row, 1, _num(line.display_quantity), fmt.qty)
        if line.unit:
            ws.write_string(row, 2, line.unit, fmt.text)
        if line.display_unit_price is not None:
            ws.write_number(row, 3, _num(line.display_unit_price), fmt.price)
        ws.write_number(row, 4, _num(line.vat_rate / 100), fmt.pct)
        ws.write_number(row, 5, _num(line.amount), fmt.money)
        section_rows.append(row)
        section_total += line.amount
        rows_by_rate.setdefault(line.vat_rate, []).append(row)
        row += 1
        if i + 1 == len(lines) or lines[i + 1].product_group != group:
            ws.write_string(row, 4, "Subtotal", fmt.sub_label)
            ws.write_formula(
                row,
                5,
                f"=ROUND(SUM({_ranges(section_rows, 5)}),2)",
                fmt.money_bold,
                _num(section_total),
            )
            subtotal_cells.append(row)
            row += 2

    ws.write_string(row, 0, "VAT summary", fmt.bold)
    row += 1
    for col, h in ((0, "VAT"), (3, "Taxable amount"), (4, "Rate"), (5, "VAT amount")):
        ws.write_string(row, col, h, fmt.head if col == 0 else fmt.head_num)
    for col in (1, 2):
        ws.write_blank(row, col, None, fmt.head)
    row += 1
    vat_cells = []
    for vat in inv.vat:
        ws.write_string(row, 0, f"{vat.label} ({vat.vat_code})", fmt.text)
        ws.write_formula(
            row,
            3,
            f"=ROUND(SUM({_ranges(rows_by_rate.get(vat.rate, []), 5)}),2)",
            fmt.money,
            _num(vat.base),
        )
        ws.write_number(row, 4, _num(vat.rate / 100), fmt.pct)
        ws.write_formula(
            row, 5, f"=ROUND({_cell(row, 3)}*{_cell(row, 4)},2)", fmt.money, _num(vat.amount)
        )
        vat_cells.append(row)
        row += 1
    row += 1

    net_row, vat_row, gross_row = row, row + 1, row + 2
    ws.write_string(net_row, 4, "Net", fmt.total_label)
    ws.write_formula(
        net_row, 5, f"=ROUND(SUM({_ranges(subtotal_cells, 5)}),2)", fmt.money_bold, _num(inv.net)
    )
    ws.write_string(vat_row, 4, "VAT", fmt.total_label)
    ws.write_formula(
        vat_row, 5, f"=ROUND(SUM({_ranges(vat_cells, 5)}),2)", fmt.money, _num(inv.vat_total)
    )
    ws.write_string(gross_row, 4, "Total", fmt.total_label)
    ws.write_formula(
        gross_row,
        5,
        f"=ROUND({_cell(net_row, 5)}+{_cell(vat_row, 5)},2)",
        fmt.money_total,
        _num(inv.gross),
    )
    row = gross_row + 2

    if inv.vat_mention:
        ws.set_row(row, 24)
        ws.write_string(row, 0, inv.vat_mention, fmt.mention)
        row += 1
    if inv.show_buyer_vat_number and inv.buyer.vat_number and inv.vat_mention:
        ws.write_string(
            row,
            0,
            f"Supplier VAT {inv.seller.vat_number}; customer VAT {inv.buyer.vat_number}",
            fmt.text,
        )
        row += 1
    row += 1
    ws.write_string(row, 0, "Payment", fmt.bold)
    row += 1
    text = payment_lines(inv, seller)
    for t in text:
        ws.write_string(row, 0, t, fmt.text)
        row += 1
    ws.print_area(0, 0, row, 5)


def payment_lines(inv: Invoice, seller: Seller) -> list[str]:
    """The payment block of an invoice or credit note, as the workbook and the PDF print it: what
    to pay by when quoting which reference (or the credit), then the bank details."""
    pay = seller.payment
    amount = f"{inv.currency} {abs(inv.gross):,.{-minor_unit(inv.currency).as_tuple().exponent}f}"
    if inv.kind == "credit_note":
        text = [
            f"This credit note cancels invoice {inv.refers_to}. {amount} is credited to your account."
        ]
        if inv.note:
            text.append(f"Reason: {inv.note}")
    elif inv.credit_balance:
        text = [
            (
                f"Credit balance of {amount} in your favour: nothing to pay. It is refunded to "
                "your account or set off against your next invoice."
            )
        ]
    else:
        text = [
            (
                f"Please pay {amount} by {inv.due_date.isoformat()} "
                f"({inv.payment_terms_days} days) quoting {inv.number}."
            )
        ]
    text += [
        f"Account holder: {pay.account_holder}",
        f"IBAN: {' '.join(pay.iban[i : i + 4] for i in range(0, len(pay.iban), 4))}",
        f"BIC: {pay.bic}",
    ]
    if pay.bank:
        text.append(f"Bank: {pay.bank}")
    if pay.instructions:
        text.append(pay.instructions)
    return text


def _usage_sheets(
    wb: xlsxwriter.Workbook,
    inv: Invoice,
    vendors: dict[str, Any],
    usage: InvoiceUsage,
    max_rows: int,
    fmt: _Formats,
    used: set[str],
) -> None:
    """The rated lines behind the invoice, one sheet per vendor (custom lines on 'Other charges'):
    every line, or the lines summarised per ``USAGE_GROUP``."""
    for vendor in usage.vendors:
        known = vendors.get(vendor.vendor)
        title = (
            "Other charges"
            if vendor.vendor == "reseller"
            else f"Usage {known.name if known else vendor.vendor}"
        )
        if usage.summarised:
            _summary_sheet(wb, vendor, inv.currency, title, usage_detail_name(inv), fmt, used)
        else:
            _detail_sheets(wb, vendor.rows, inv.currency, title, fmt, used)


def _usage_header(
    ws: Any, row: int, columns: tuple[tuple[str, str, str], ...], currency: str, fmt: _Formats
) -> None:
    """Column widths and the header row of a usage sheet (amounts' headers name the currency)."""
    widths = {"text": 22, "date": 11, "quantity": 12, "price": 14, "int": 9}
    for col, (header, _, kind) in enumerate(columns):
        width = 40 if header in ("Invoice line", "Description") else widths[kind]
        ws.set_column(col, col, width)
        shown = f"{header} ({currency})" if header in ("Unit price", "Amount") else header
        ws.write_string(row, col, shown, fmt.head if kind in ("text", "date") else fmt.head_num)


def _detail_sheets(
    wb: xlsxwriter.Workbook,
    rows: list[tuple],
    currency: str,
    title: str,
    fmt: _Formats,
    used: set[str],
) -> None:
    """Every rated line of one vendor; beyond MAX_DETAIL_ROWS the lines continue on another
    sheet."""
    for start in range(0, len(rows), MAX_DETAIL_ROWS):
        chunk = rows[start : start + MAX_DETAIL_ROWS]
        ws = wb.add_worksheet(sheet_name(title, used))
        ws.freeze_panes(1, 0)
        _usage_header(ws, 0, DETAIL_COLUMNS, currency, fmt)
        write = _row_writer(ws, DETAIL_COLUMNS, fmt)
        for row, values in enumerate(chunk, start=1):
            write(row, values)
        ws.autofilter(0, 0, len(chunk), len(DETAIL_COLUMNS) - 1)


#: Excel's day 0 (day 1 is 1900-01-01), and the first day after the 29 February 1900 its calendar counts.
_EXCEL_DAY_ZERO, _EXCEL_LEAP_BUG = date(1899, 12, 31), date(1900, 3, 1)


def _row_writer(
    ws: Any, columns: tuple[tuple[str, str, str], ...], fmt: _Formats
) -> Callable[[int, Sequence[Any]], None]:
    """A function writing one row of ``_selected(columns)`` values into ``ws``: text with
    ``write_string`` only, numbers with their format, dates as the day number Excel stores
    (what ``write_datetime`` writes, cached per day). Blank where the value is NULL."""
    days: dict[date, float] = {}

    def day(value: date) -> float:
        if value not in days:
            days[value] = float((value - _EXCEL_DAY_ZERO).days + (value >= _EXCEL_LEAP_BUG))
        return days[value]

    number = {"quantity": fmt.qty, "price": fmt.price, "int": fmt.int}
    cells = [
        (col, ws.write_string, str, None)
        if kind == "text"
        else (col, ws.write_number, day, fmt.date)
        if kind == "date"
        else (col, ws.write_number, float, number[kind])
        for col, (_, _, kind) in enumerate(columns)
    ]

    def write(row: int, values: Sequence[Any]) -> None:
        for (col, method, convert, cell_format), value in zip(cells, values, strict=True):
            if value is not None:
                method(row, col, convert(value), cell_format)

    return write


def _summary_sheet(
    wb: xlsxwriter.Workbook,
    vendor: VendorUsage,
    currency: str,
    title: str,
    detail_name: str,
    fmt: _Formats,
    used: set[str],
) -> None:
    """One vendor's rated lines summarised per ``USAGE_GROUP`` (or without the resource, counting
    the resources, where that would give more than ``usage_detail_max_lines`` rows). A note above
    the header names the file with every line."""
    rows = vendor.rows
    columns = SUMMARY_COLUMNS
    per = "(resources counted)" if vendor.resources_counted else "subscription/resource"
    lines = sum(r[-1] for r in rows)
    ws = wb.add_worksheet(sheet_name(title, used))
    ws.write_string(
        0,
        0,
        (
            f"Summary of {lines:,} rated lines: one row per invoice line, service, SKU, description, "
            f"{per} and unit. Every line, with its charge date, resource, tags and source row, is in "
            f"{detail_name} beside this workbook."
        ),
        fmt.bold,
    )
    _usage_header(ws, 1, columns, currency, fmt)
    ws.freeze_panes(2, 0)
    write = _row_writer(ws, columns, fmt)
    for row, values in enumerate(rows, start=2):
        write(row, values)
    ws.autofilter(1, 0, len(rows) + 1, len(columns) - 1)


def write_summary_workbook(invoices: list[Invoice], invoicing: Invoicing, path: Path) -> Path:
    """The analyst's run summary: every invoiced customer with cost, revenue, margin and margin %,
    totals per currency, and revenue and cost per product group."""
    period = invoices[0].period
    with atomic_target(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), _OPTIONS)
        wb.set_properties(
            {
                "title": f"Billing run {period}",
                "author": invoicing.seller.name,
                "company": invoicing.seller.name,
                "created": fixed_created(period),
            }
        )
        head = wb.add_format({"bold": True, "bottom": 1, "bg_color": "#E8EEF4", "text_wrap": True})
        money = wb.add_format({"num_format": "#,##0.00;-#,##0.00"})
        bold_money = wb.add_format({"num_format": "#,##0.00;-#,##0.00", "bold": True, "top": 1})
        pct = wb.add_format({"num_format": "0.0%"})
        bold = wb.add_format({"bold": True, "top": 1})

        ws = wb.add_worksheet("Customers")
        headers = (
            "Customer",
            "Name",
            "Country",
            "VAT rule",
            "Invoice",
            "Currency",
            "Revenue (net)",
            "VAT",
            "Gross",
            "Cost",
            "Margin",
            "Margin %",
        )
        for col, h in enumerate(headers):
            ws.write_string(0, col, h, head)
        ws.set_column(0, 0, 10)
        ws.set_column(1, 1, 34)
        ws.set_column(2, 5, 12)
        ws.set_column(6, 11, 14)
        ws.freeze_panes(1, 0)
        rows = sorted(invoices, key=lambda i: i.number)
        for r, inv in enumerate(rows, start=1):
            for col, text in enumerate(
                (
                    inv.customer_id,
                    inv.buyer.name,
                    inv.buyer.country,
                    inv.vat_rule,
                    inv.number,
                    inv.currency,
                )
            ):
                ws.write_string(r, col, text)
            for col, value in zip(
                range(6, 11), (inv.net, inv.vat_total, inv.gross, inv.cost), strict=False
            ):
                ws.write_number(r, col, float(value), money)
            ws.write_formula(
                r, 10, f"=ROUND({_cell(r, 6)}-{_cell(r, 9)},2)", money, float(inv.margin)
            )
            ws.write_formula(
                r,
                11,
                f'=IF({_cell(r, 6)}=0,"",{_cell(r, 10)}/{_cell(r, 6)})',
                pct,
                float(inv.margin / inv.net) if inv.net else "",
            )
        last = len(rows)
        ws.autofilter(0, 0, last, len(headers) - 1)
        r = last + 2
        for currency in sorted({i.currency for i in rows}):
            mine = [i for i in rows if i.currency == currency]
            ws.write_string(r, 0, "Total", bold)
            ws.write_string(r, 5, currency, bold)
            sums = (
                sum((i.net for i in mine), ZERO),
                sum((i.vat_total for i in mine), ZERO),
                sum((i.gross for i in mine), ZERO),
                sum((i.cost for i in mine), ZERO),
                sum((i.margin for i in mine), ZERO),
            )
            for col, value in zip(range(6, 11), sums, strict=True):
                column = _cell(1, col)[:-1]
                ws.write_formula(
                    r,
                    col,
                    f'=SUMIF($F$2:$F${last + 1},"{currency}",{column}2:{column}{last + 1})',
                    bold_money,
                    float(value),
                )
            ws.write_formula(
                r,
                11,
                f'=IF({_cell(r, 6)}=0,"",{_cell(r, 10)}/{_cell(r, 6)})',
                pct,
                float(sums[4] / sums[0]) if sums[0] else "",
            )
            r += 1

        ws = wb.add_worksheet("Product groups")
        for col, h in enumerate(
            (
                "Currency",
                "Product group",
                "Heading",
                "Revenue account",
                "Revenue",
                "Cost",
                "Margin",
                "Margin %",
            )
        ):
            ws.write_string(0, col, h, head)
        ws.set_column(0, 3, 16)
        ws.set_column(4, 7, 14)
        ws.freeze_panes(1, 0)
        totals: dict[tuple[str, str], list[Decimal]] = {}
        for inv in rows:
            for line in inv.lines:
                t = totals.setdefault((inv.currency, line.product_group), [ZERO, ZERO])
                t[0] += line.amount
                t[1] += line.cost
        groups = invoicing.products.product_groups
        for r, ((currency, group), (revenue, cost)) in enumerate(sorted(totals.items()), start=1):
            for col, text in enumerate(
                (currency, group, groups[group].heading, groups[group].revenue_account)
            ):
                ws.write_string(r, col, text)
            ws.write_number(r, 4, float(revenue), money)
            ws.write_number(r, 5, float(cost), money)
            ws.write_formula(
                r, 6, f"=ROUND({_cell(r, 4)}-{_cell(r, 5)},2)", money, float(revenue - cost)
            )
            ws.write_formula(
                r,
                7,
                f'=IF({_cell(r, 4)}=0,"",{_cell(r, 6)}/{_cell(r, 4)})',
                pct,
                float((revenue - cost) / revenue) if revenue else "",
            )
        ws.autofilter(0, 0, len(totals), 7)
        wb.close()
    return path
