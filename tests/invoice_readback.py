"""One published invoice's files read back as its customer and the accountant see them: the row of
the workbook's invoice sheet holding a line, the PDF's words, the UBL e-invoice's line (and the
document's findings under the schema, EN 16931 and Peppol), the revenue the journal books on an
account for the invoice, the net the run's invoice_summary.csv states, and the net the what-if
states. Shared by the tests
that follow one line of an offering (a fee, an allowance, a price list) to every document."""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
from lxml import etree
from pypdf import PdfReader

from billing_lib.ubl import CAC, CBC
from billing_lib.whatif import totals_sql
from tests.notebook_project import PERIOD
from tests.ubl_validation import peppol_findings, rule_findings, schema_errors


def sheet_row(stem: Path, holds: Callable[[Any], bool]) -> list[Any]:
    """The one row of the invoice workbook's first sheet (``stem``.xlsx) with a cell that
    ``holds``, as its cells' values."""
    sheet = openpyxl.load_workbook(stem.with_suffix(".xlsx"), data_only=True).worksheets[0]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    [row] = [r for r in rows if any(holds(v) for v in r)]
    return row


def pdf_words(stem: Path) -> str:
    """The text of the invoice PDF (``stem``.pdf), its words separated by single spaces."""
    pages = PdfReader(stem.with_suffix(".pdf")).pages
    return " ".join(" ".join(p.extract_text() for p in pages).split())


def ubl_line(stem: Path, named: Callable[[str], bool]) -> etree._Element:
    """The one InvoiceLine of the UBL e-invoice (``stem``.xml) whose item's name is ``named``."""
    xml = etree.parse(str(stem.with_suffix(".xml")))
    [el] = [
        e
        for e in xml.iter(f"{{{CAC}}}InvoiceLine")
        if named(e.findtext(f"{{{CAC}}}Item/{{{CBC}}}Name", ""))
    ]
    return el


def ubl_findings(stem: Path) -> list[Any]:
    """What the UBL schema, the CEN EN 16931 rules and Peppol's find in ``stem``.xml (none for a
    valid e-invoice)."""
    data = stem.with_suffix(".xml").read_bytes()
    return [*schema_errors(data), *rule_findings(data), *peppol_findings(data)]


def revenue_booked(folder: Path, account: str, number: str) -> Decimal:
    """Credit less debit of the journal's rows on ``account`` of invoice ``number``, in the run
    folder ``folder`` of the month."""
    path = folder / f"journal_{PERIOD}.csv"
    rows = [r for r in csv.DictReader(path.open(encoding="utf-8")) if r["account"] == account]
    return sum(
        (Decimal(r["credit"] or 0) - Decimal(r["debit"] or 0) for r in rows if number in str(r)),
        Decimal(0),
    )


def summary_net(folder: Path, customer: str) -> Decimal:
    """The net invoice_summary.csv of the run folder ``folder`` states for ``customer``."""
    path = folder / "invoice_summary.csv"
    [row] = [r for r in csv.DictReader(path.open(encoding="utf-8")) if r["customer_id"] == customer]
    return Decimal(row["net_amount"])


def what_if_net(lines: Any) -> Decimal:
    """The net the margin notebook's what-if states for its re-priced ``lines`` (a frame): each
    invoice line rounded as the invoice rounds it (``whatif.totals_sql``)."""
    con = duckdb.connect()
    con.register("lines", lines)
    [net] = [r[0] for r in con.execute(f"SELECT invoiced FROM ({totals_sql('lines')})").fetchall()]
    con.close()
    return Decimal(net)
