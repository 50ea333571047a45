"""The run summary's sheet "Not billed": the vendor cost billed to no customer, per vendor, reason,
account and report, each group rounded once to the journal's posting on the unbilled-cost account,
in the vendor's currency and in the national one as the journal converts it; and, below the
Customers sheet's totals, per currency the reconciliation of the invoices' margin with the margin
the journal books (``not_billed.NotBilled``)."""

from __future__ import annotations

from typing import Any

from billing_lib.invoices import Invoicing
from billing_lib.money import ZERO
from billing_lib.not_billed import Booked, BooksMargin, NotBilled, NotBilledLine
from billing_lib.sheet_formats import cell, cell_ranges, number, round_formula
from billing_lib.summary_formats import CURRENCY, MARGIN, SummaryFormats, header

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


def not_billed_sheet(
    ws: Any, data: NotBilled, invoicing: Invoicing, fmt: SummaryFormats
) -> dict[str, str]:
    """The lines of each journal posting on the unbilled-cost account, then the posting: the
    lines' cost rounded once (``ROUND(SUM(...))``), in the national currency at the entry's rate
    (the journal's figure; rounded per posting, not lines x rate); then a total per currency.
    The cells of those totals per currency (for the Customers sheet's reconciliation)."""
    header(ws, tuple(c.format(national=data.national) for c in NOT_BILLED_COLUMNS), fmt)
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


def _not_billed_line(ws: Any, r: int, ln: NotBilledLine, vendor: str, fmt: SummaryFormats) -> None:
    texts = (vendor, ln.booked_as, ln.reason, ln.customer, ln.account, ln.report)
    for col, text in enumerate(texts):
        ws.write_string(r, col, text)
    ws.write_number(r, 6, ln.lines)
    ws.write_string(r, _NB_CURRENCY, ln.currency)
    ws.write_number(r, _NB_COST, number(ln.cost), fmt.money(ln.currency))


def _booked_row(
    ws: Any, r: int, b: Booked, account: str, first: int, national: str, fmt: SummaryFormats
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


def reconciliation(
    ws: Any,
    row: int,
    margins: tuple[BooksMargin, ...],
    not_billed: dict[str, str],
    total_rows: dict[str, int],
    fmt: SummaryFormats,
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
            ws.write_string(r, CURRENCY, m.currency)
            formula = None
            if name == "invoices" and m.currency in total_rows:
                formula = f"={cell(total_rows[m.currency], MARGIN)}"
            elif name == "not_billed" and m.currency in not_billed:
                formula = f"=-'Not billed'!{not_billed[m.currency]}"
            if formula:
                ws.write_formula(r, MARGIN, formula, fmt.money(m.currency), number(value))
            else:
                ws.write_number(r, MARGIN, number(value), fmt.money(m.currency))
            r += 1
        text = f"Margin in the books ({m.currency} entries of the journal)"
        ws.write_string(r, 1, text, fmt.bold)
        ws.write_string(r, CURRENCY, m.currency, fmt.bold)
        ws.write_formula(
            r,
            MARGIN,
            round_formula(f"SUM({cell(first, MARGIN)}:{cell(r - 1, MARGIN)})", m.currency),
            fmt.money(m.currency, total=True),
            number(m.books),
        )
        r += 2
