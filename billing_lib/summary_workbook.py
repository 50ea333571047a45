"""The run's summary workbook (``run_summary.xlsx``), for the analyst: every invoiced customer with
cost, revenue, margin and margin % (empty for a revenue of 0 or less), totals per currency, and
revenue and cost per product group; and, given the run's ``not_billed.NotBilled``, the vendor cost
billed to no customer (sheet "Not billed": per vendor, reason, account and report, each group
rounded once to the journal's posting on the unbilled-cost account, in the vendor's currency and
in the national one as the journal converts it) and, below the Customers sheet's totals, per
currency the reconciliation of the invoices' margin with the margin the journal books.

Amounts show their currency's decimals (0 for JPY, 3 for KWD) and the margin formulas round to
them, so a recalculated margin is the margin the invoices and the journal state.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from billing_lib.invoices import Invoice, Invoicing
from billing_lib.money import ZERO
from billing_lib.not_billed import NotBilled
from billing_lib.not_billed_sheet import not_billed_sheet, reconciliation
from billing_lib.run_files import atomic_target
from billing_lib.sheet_formats import (
    WORKBOOK_OPTIONS,
    PrintedWorksheet,
    cell,
    fixed_created,
    number,
    round_formula,
)
from billing_lib.summary_formats import COST, CURRENCY, MARGIN, REVENUE, SummaryFormats, header

CUSTOMER_COLUMNS = (
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
#: The Customers sheet of a run without an invoice.
NO_INVOICE = "No invoice in this run: every vendor line is billed to no customer"
PRODUCT_GROUP_COLUMNS = (
    "Currency",
    "Product group",
    "Heading",
    "Revenue account",
    "Revenue",
    "Cost",
    "Margin",
    "Margin %",
)


def write_summary_workbook(
    invoices: list[Invoice],
    invoicing: Invoicing,
    path: Path,
    not_billed: NotBilled | None = None,
    period: str | None = None,
) -> Path:
    """The analyst's run summary of ``invoices`` (all of one period, ``period``) at ``path``;
    with ``not_billed`` (the run's) its sheet "Not billed" and the margin the books show. A
    run without an invoice (every vendor line unmapped or excluded) has its summary too: the
    cost it billed to nobody is booked all the same."""
    period = period or invoices[0].period
    with atomic_target(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        wb.set_properties(
            {
                "title": f"Billing run {period}",
                "author": invoicing.seller.name,
                "company": invoicing.seller.name,
                "created": fixed_created(period),
            }
        )
        fmt = SummaryFormats(wb)
        rows = sorted(invoices, key=lambda i: i.number)
        # every text as the invoices print it (``printed``): a vendor's account or report name
        # with U+FFFE in it read _xFFFE_ in the sheet "Not billed"
        printed = PrintedWorksheet
        customers = wb.add_worksheet("Customers", worksheet_class=printed)
        total_rows = _customers_sheet(customers, rows, fmt)
        groups = wb.add_worksheet("Product groups", worksheet_class=printed)
        _product_groups_sheet(groups, rows, invoicing, fmt)
        if not_billed is not None:
            ws = wb.add_worksheet("Not billed", worksheet_class=printed)
            totals = not_billed_sheet(ws, not_billed, invoicing, fmt)
            start = max(total_rows.values(), default=max(len(rows), 1)) + 2
            reconciliation(customers, start, not_billed.margins, totals, total_rows, fmt)
        wb.close()
    return path


def _customers_sheet(ws: Any, rows: list[Invoice], fmt: SummaryFormats) -> dict[str, int]:
    """A row per invoice, then a total row per currency; those rows by currency."""
    header(ws, CUSTOMER_COLUMNS, fmt)
    ws.set_column(0, 0, 10)
    ws.set_column(1, 1, 34)
    ws.set_column(2, 5, 12)
    ws.set_column(6, 11, 14)
    ws.freeze_panes(1, 0)
    for r, inv in enumerate(rows, start=1):
        texts = (
            inv.customer_id,
            inv.buyer.name,
            inv.buyer.country,
            inv.vat_rule,
            inv.number,
            inv.currency,
        )
        for col, text in enumerate(texts):
            ws.write_string(r, col, text)
        for col, value in zip(
            range(REVENUE, MARGIN), (inv.net, inv.vat_total, inv.gross, inv.cost), strict=True
        ):
            ws.write_number(r, col, number(value), fmt.money(inv.currency))
        margin = round_formula(f"{cell(r, REVENUE)}-{cell(r, COST)}", inv.currency)
        ws.write_formula(r, MARGIN, margin, fmt.money(inv.currency), number(inv.margin))
        _margin_percent(ws, r, REVENUE, MARGIN, inv.margin, inv.net, fmt)
    if not rows:
        ws.write_string(1, 0, NO_INVOICE)
    ws.autofilter(0, 0, len(rows), len(CUSTOMER_COLUMNS) - 1)
    totals = {}
    for r, currency in enumerate(sorted({i.currency for i in rows}), start=len(rows) + 2):
        _currency_total(ws, r, currency, [i for i in rows if i.currency == currency], rows, fmt)
        totals[currency] = r
    return totals


def _currency_total(
    ws: Any, row: int, currency: str, mine: list[Invoice], rows: list[Invoice], fmt: SummaryFormats
) -> None:
    """The total row of one currency: SUMIF over the invoice rows of that currency."""
    ws.write_string(row, 0, "Total", fmt.bold)
    ws.write_string(row, CURRENCY, currency, fmt.bold)
    sums = [
        sum((getattr(i, name) for i in mine), ZERO)
        for name in ("net", "vat_total", "gross", "cost", "margin")
    ]
    currencies = f"$F$2:$F${len(rows) + 1}"
    for col, value in zip(range(REVENUE, MARGIN + 1), sums, strict=True):
        column = xl_col_to_name(col)
        ws.write_formula(
            row,
            col,
            f'=SUMIF({currencies},"{currency}",{column}2:{column}{len(rows) + 1})',
            fmt.money(currency, total=True),
            number(value),
        )
    _margin_percent(ws, row, REVENUE, MARGIN, sums[4], sums[0], fmt)


def _product_groups_sheet(
    ws: Any, rows: list[Invoice], invoicing: Invoicing, fmt: SummaryFormats
) -> None:
    """Revenue, cost and margin per currency and product group, with the group's heading and
    revenue account (products.yaml)."""
    header(ws, PRODUCT_GROUP_COLUMNS, fmt)
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
        texts = (currency, group, groups[group].heading, groups[group].revenue_account)
        for col, text in enumerate(texts):
            ws.write_string(r, col, text)
        ws.write_number(r, 4, number(revenue), fmt.money(currency))
        ws.write_number(r, 5, number(cost), fmt.money(currency))
        margin = round_formula(f"{cell(r, 4)}-{cell(r, 5)}", currency)
        ws.write_formula(r, 6, margin, fmt.money(currency), number(revenue - cost))
        _margin_percent(ws, r, 4, 6, revenue - cost, revenue, fmt)
    ws.autofilter(0, 0, len(totals), len(PRODUCT_GROUP_COLUMNS) - 1)


def _margin_percent(
    ws: Any,
    row: int,
    revenue_col: int,
    margin_col: int,
    margin: Decimal,
    revenue: Decimal,
    fmt: SummaryFormats,
) -> None:
    """Margin / revenue in the column after the margin's; blank for a revenue of 0 or less (a
    credit balance: a loss over a negative revenue read as a margin of 278.8 %)."""
    revenue_cell, margin_cell = cell(row, revenue_col), cell(row, margin_col)
    ws.write_formula(
        row,
        margin_col + 1,
        f'=IF({revenue_cell}<=0,"",{margin_cell}/{revenue_cell})',
        fmt.pct,
        float(margin / revenue) if revenue > 0 else "",
    )
