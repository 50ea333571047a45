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
from billing_lib.money import ZERO, decimal_places
from billing_lib.not_billed import Booked, BooksMargin, NotBilled, NotBilledLine
from billing_lib.run_files import atomic_target
from billing_lib.sheet_formats import (
    WORKBOOK_OPTIONS,
    amount_digits,
    cell,
    cell_ranges,
    fixed_created,
    number,
    round_formula,
)

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
NOT_BILLED_COLUMNS = (
    "Vendor",
    "Booked as",
    "Reason",
    "Customer",
    "Vendor account",
    "Report",
    "Lines",
    "Currency",
    "Cost",
    "Rate",
    "Cost in {national}",
)
#: The Not billed sheet's columns: currency, cost, rate, cost in the national currency.
_NB_CURRENCY, _NB_COST, _NB_RATE, _NB_NATIONAL = 7, 8, 9, 10
#: The Customers sheet's columns: currency, the first amount (revenue), cost, margin.
_CURRENCY, _REVENUE, _COST, _MARGIN = 5, 6, 9, 10


class _Formats:
    """The summary's cell formats; amounts per number of decimals, made when first needed."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self._wb = wb
        self._amounts: dict[tuple[int, bool], Any] = {}
        self.head = wb.add_format(
            {"bold": True, "bottom": 1, "bg_color": "#E8EEF4", "text_wrap": True}
        )
        self.pct = wb.add_format({"num_format": "0.0%"})
        self.bold = wb.add_format({"bold": True, "top": 1})
        self.rate = wb.add_format({"num_format": "0.0000######"})

    def money(self, currency: str, total: bool = False) -> Any:
        """``#,##0.00;-#,##0.00`` with the currency's decimals; bold with a top border for a
        total."""
        key = (decimal_places(currency), total)
        if key not in self._amounts:
            digits = amount_digits(key[0])
            props: dict[str, Any] = {"num_format": f"{digits};-{digits}"}
            if total:
                props.update(bold=True, top=1)
            self._amounts[key] = self._wb.add_format(props)
        return self._amounts[key]


def write_summary_workbook(
    invoices: list[Invoice], invoicing: Invoicing, path: Path, not_billed: NotBilled | None = None
) -> Path:
    """The analyst's run summary of ``invoices`` (at least one, all of one period) at ``path``;
    with ``not_billed`` (the run's) its sheet "Not billed" and the margin the books show."""
    period = invoices[0].period
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
        fmt = _Formats(wb)
        rows = sorted(invoices, key=lambda i: i.number)
        customers = wb.add_worksheet("Customers")
        total_rows = _customers_sheet(customers, rows, fmt)
        _product_groups_sheet(wb.add_worksheet("Product groups"), rows, invoicing, fmt)
        if not_billed is not None:
            ws = wb.add_worksheet("Not billed")
            totals = _not_billed_sheet(ws, not_billed, invoicing, fmt)
            start = max(total_rows.values(), default=len(rows)) + 2
            _reconciliation(customers, start, not_billed.margins, totals, total_rows, fmt)
        wb.close()
    return path


def _customers_sheet(ws: Any, rows: list[Invoice], fmt: _Formats) -> dict[str, int]:
    """A row per invoice, then a total row per currency; those rows by currency."""
    _header(ws, CUSTOMER_COLUMNS, fmt)
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
            range(_REVENUE, _MARGIN), (inv.net, inv.vat_total, inv.gross, inv.cost), strict=True
        ):
            ws.write_number(r, col, number(value), fmt.money(inv.currency))
        margin = round_formula(f"{cell(r, _REVENUE)}-{cell(r, _COST)}", inv.currency)
        ws.write_formula(r, _MARGIN, margin, fmt.money(inv.currency), number(inv.margin))
        _margin_percent(ws, r, _REVENUE, _MARGIN, inv.margin, inv.net, fmt)
    ws.autofilter(0, 0, len(rows), len(CUSTOMER_COLUMNS) - 1)
    totals = {}
    for r, currency in enumerate(sorted({i.currency for i in rows}), start=len(rows) + 2):
        _currency_total(ws, r, currency, [i for i in rows if i.currency == currency], rows, fmt)
        totals[currency] = r
    return totals


def _currency_total(
    ws: Any, row: int, currency: str, mine: list[Invoice], rows: list[Invoice], fmt: _Formats
) -> None:
    """The total row of one currency: SUMIF over the invoice rows of that currency."""
    ws.write_string(row, 0, "Total", fmt.bold)
    ws.write_string(row, _CURRENCY, currency, fmt.bold)
    sums = [
        sum((getattr(i, name) for i in mine), ZERO)
        for name in ("net", "vat_total", "gross", "cost", "margin")
    ]
    currencies = f"$F$2:$F${len(rows) + 1}"
    for col, value in zip(range(_REVENUE, _MARGIN + 1), sums, strict=True):
        column = xl_col_to_name(col)
        ws.write_formula(
            row,
            col,
            f'=SUMIF({currencies},"{currency}",{column}2:{column}{len(rows) + 1})',
            fmt.money(currency, total=True),
            number(value),
        )
    _margin_percent(ws, row, _REVENUE, _MARGIN, sums[4], sums[0], fmt)


def _product_groups_sheet(
    ws: Any, rows: list[Invoice], invoicing: Invoicing, fmt: _Formats
) -> None:
    """Revenue, cost and margin per currency and product group, with the group's heading and
    revenue account (products.yaml)."""
    _header(ws, PRODUCT_GROUP_COLUMNS, fmt)
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


def _header(ws: Any, columns: tuple[str, ...], fmt: _Formats) -> None:
    for col, h in enumerate(columns):
        ws.write_string(0, col, h, fmt.head)


def _margin_percent(
    ws: Any,
    row: int,
    revenue_col: int,
    margin_col: int,
    margin: Decimal,
    revenue: Decimal,
    fmt: _Formats,
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


def _not_billed_sheet(
    ws: Any, data: NotBilled, invoicing: Invoicing, fmt: _Formats
) -> dict[str, str]:
    """The lines of each journal posting on the unbilled-cost account, then the posting: the
    lines' cost rounded once (``ROUND(SUM(...))``), in the national currency at the entry's rate
    (the journal's figure; rounded per posting, not lines x rate); then a total per currency.
    The cells of those totals per currency (for the Customers sheet's reconciliation)."""
    _header(ws, tuple(c.format(national=data.national) for c in NOT_BILLED_COLUMNS), fmt)
    for first, last, width in ((0, 1, 22), (2, 2, 44), (3, 3, 30), (4, 5, 30), (6, 7, 9)):
        ws.set_column(first, last, width)
    ws.set_column(_NB_COST, _NB_NATIONAL, 14)
    ws.freeze_panes(1, 0)
    account = invoicing.products.unbilled_cost_account
    vendors = invoicing.products.vendors
    r, subtotals = 1, dict[str, list[int]]()
    for b in data.booked:
        mine = [
            ln
            for ln in data.lines
            if (ln.vendor, ln.currency, ln.booked_as) == (b.vendor, b.currency, b.booked_as)
        ]
        for ln in mine:
            _not_billed_line(ws, r, ln, vendors[ln.vendor].name, fmt)
            r += 1
        subtotals.setdefault(b.currency, []).append(r)
        _booked_row(ws, r, b, account, r - len(mine), data.national, fmt)
        r += 2
    totals = {}
    for currency, at in sorted(subtotals.items()):
        ws.write_string(r, 0, "Total", fmt.bold)
        ws.write_string(r, _NB_CURRENCY, currency, fmt.bold)
        for col, unit in ((_NB_COST, currency), (_NB_NATIONAL, data.national)):
            values = [b.amount if col == _NB_COST else b.national for b in data.booked]
            shown = [v for b, v in zip(data.booked, values, strict=True) if b.currency == currency]
            if any(v is None for v in shown):
                continue
            ws.write_formula(
                r,
                col,
                f"=SUM({cell_ranges(at, col)})",
                fmt.money(unit, total=True),
                number(sum((v or ZERO for v in shown), ZERO)),
            )
        totals[currency] = cell(r, _NB_COST)
        r += 1
    nationals = [b.national for b in data.booked]
    if len(subtotals) > 1 and None not in nationals:
        ws.write_string(r, 0, f"Total in {data.national}", fmt.bold)
        at = [row for rows in subtotals.values() for row in rows]
        ws.write_formula(
            r,
            _NB_NATIONAL,
            f"=SUM({cell_ranges(at, _NB_NATIONAL)})",
            fmt.money(data.national, total=True),
            number(sum((n or ZERO for n in nationals), ZERO)),
        )
    return totals


def _not_billed_line(ws: Any, r: int, ln: NotBilledLine, vendor: str, fmt: _Formats) -> None:
    texts = (vendor, ln.booked_as, ln.reason, ln.customer, ln.account, ln.report)
    for col, text in enumerate(texts):
        ws.write_string(r, col, text)
    ws.write_number(r, 6, ln.lines)
    ws.write_string(r, _NB_CURRENCY, ln.currency)
    ws.write_number(r, _NB_COST, number(ln.cost), fmt.money(ln.currency))


def _booked_row(
    ws: Any, r: int, b: Booked, account: str, first: int, national: str, fmt: _Formats
) -> None:
    """The journal's posting: the lines above it rounded once, and in the national currency."""
    ws.write_string(r, 0, f"Booked on {account}", fmt.bold)
    ws.write_string(r, 1, b.description, fmt.bold)
    ws.write_string(r, _NB_CURRENCY, b.currency, fmt.bold)
    above = f"{cell(first, _NB_COST)}:{cell(r - 1, _NB_COST)}" if first < r else "0"
    ws.write_formula(
        r,
        _NB_COST,
        round_formula(f"SUM({above})", b.currency),
        fmt.money(b.currency, total=True),
        number(b.amount),
    )
    if b.rate is not None and b.national is not None:
        ws.write_number(r, _NB_RATE, number(b.rate), fmt.rate)
        ws.write_number(r, _NB_NATIONAL, number(b.national), fmt.money(national, total=True))


#: The reconciliation's rows: text and the ``BooksMargin`` field, sign (cost less margin).
_RECONCILIATION = (
    ("Margin on the invoices", "invoices", 1),
    (
        "Cost on these invoices bought in another currency (booked in the vendor's)",
        "bought_elsewhere",
        1,
    ),
    ("Cost bought in {c} for invoices in another currency", "bought_here", -1),
    ("Vendor cost billed to no customer (sheet Not billed)", "not_billed", -1),
    ("Rounding differences on the vendors' bills", "rounding", -1),
)


def _reconciliation(
    ws: Any,
    row: int,
    margins: tuple[BooksMargin, ...],
    not_billed: dict[str, str],
    total_rows: dict[str, int],
    fmt: _Formats,
) -> None:
    """Per currency, below the totals: the margin on the invoices (the total row's), the cost
    the journal books in another currency than invoiced, less the cost billed to no customer
    (the Not billed sheet's total) and the vendors' rounding differences, = the margin the
    journal's entries in that currency book (revenue less cost of sales, unbilled cost and
    rounding differences). Rows of 0 are left out, but the invoices' margin and the books'."""
    ws.write_string(row, 1, "Margin on the invoices and in the books (journal)", fmt.bold)
    r = row + 1
    for m in margins:
        first = r
        for text, name, sign in _RECONCILIATION:
            value = sign * getattr(m, name)
            if not value and name != "invoices":
                continue
            ws.write_string(r, 1, text.format(c=m.currency))
            ws.write_string(r, _CURRENCY, m.currency)
            formula = None
            if name == "invoices" and m.currency in total_rows:
                formula = f"={cell(total_rows[m.currency], _MARGIN)}"
            elif name == "not_billed" and m.currency in not_billed:
                formula = f"=-'Not billed'!{not_billed[m.currency]}"
            if formula:
                ws.write_formula(r, _MARGIN, formula, fmt.money(m.currency), number(value))
            else:
                ws.write_number(r, _MARGIN, number(value), fmt.money(m.currency))
            r += 1
        text = f"Margin in the books ({m.currency} entries of the journal)"
        ws.write_string(r, 1, text, fmt.bold)
        ws.write_string(r, _CURRENCY, m.currency, fmt.bold)
        ws.write_formula(
            r,
            _MARGIN,
            round_formula(f"SUM({cell(first, _MARGIN)}:{cell(r - 1, _MARGIN)})", m.currency),
            fmt.money(m.currency, total=True),
            number(m.books),
        )
        r += 2
