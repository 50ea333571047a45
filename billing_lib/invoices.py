"""Invoices: one per customer per period, combining every vendor, from ``rated_lines``.

Rounding (docs/rounding.md), exactly so and nowhere else:

1. rated lines are unrounded ``DECIMAL(38,12)``;
2. an invoice line is the exact sum of the rated lines of one group (the customer's
   ``line_grouping`` within one product group), rounded half-up to cents (``round_money``);
3. VAT per rate = rate x (sum of the rounded lines of that rate), rounded half-up;
4. net, VAT and gross totals are sums of rounded figures only.

The same ``Invoice`` objects feed the workbooks, the ledger and ``invoice_summary.csv``, so all
three show the same cents. Everything a user can get wrong (a customer without address, a product
group without ledger accounts, an unknown VAT rule) is checked before a number is planned or a
file is written (``invoice_problems``).

A month whose credits exceed its charges gives an invoice with a negative total (a credit balance
in the customer's favour). It stays an invoice of that period in the invoice series: it is not a
correction of an earlier invoice, which is what credit notes (``credit_note``) are for.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import duckdb

from billing_lib.customers import Customer
from billing_lib.errors import ControlTotalError, ParameterError, RunError
from billing_lib.fx import ExchangeRates
from billing_lib.invoice_files import (
    INVOICE_DATA_FORMAT,
    SUMMARY_COLUMNS,
    invoice_from_record,
    invoice_record,
    read_invoice_data,
    summary_row,
    write_invoice_data,
    write_invoice_summary,
)
from billing_lib.invoice_model import (
    Invoice,
    InvoiceLine,
    NationalVat,
    Party,
    VatLine,
    figure_problems,
    invoice_totals,
    money_text,
    national_vat_amount,
    negated,
    vat_per_rate,
)
from billing_lib.invoice_problems import invoicing_problems
from billing_lib.invoicing_parameters import (
    PRODUCTS_FILE,
    SELLER_FILE,
    USAGE_DETAIL_LIMIT,
    USAGE_DETAIL_MAX_LINES,
    Account,
    Invoicing,
    Payment,
    ProductGroup,
    Products,
    Seller,
    VendorAccounts,
    load_invoicing,
)
from billing_lib.line_figures import display_figures, display_unit
from billing_lib.line_labels import (
    check_grouping,
    keyed_sql,
    line_texts_sql,
    summed_lines_sql,
)
from billing_lib.money import ZERO, round_money
from billing_lib.numbering import Register
from billing_lib.periods import month_days
from billing_lib.run_files import INVOICE_DATA, atomic_target
from billing_lib.sql import ql

#: Names callers import from ``billing_lib.invoices``; they live in ``invoicing_parameters``
#: (seller.yaml, products.yaml), ``invoice_model`` (the invoice as data and its figures),
#: ``invoice_files`` (invoice_summary.csv, invoices.json) and ``run_files``.
__all__ = [
    "CUSTOMER_SOURCE_FILE",
    "INVOICE_DATA",
    "INVOICE_DATA_FORMAT",
    "PRODUCTS_FILE",
    "SELLER_FILE",
    "SUMMARY_COLUMNS",
    "USAGE_DETAIL_LIMIT",
    "USAGE_DETAIL_MAX_LINES",
    "Account",
    "Invoice",
    "InvoiceLine",
    "Invoicing",
    "NationalVat",
    "Party",
    "Payment",
    "ProductGroup",
    "Products",
    "Seller",
    "VatLine",
    "VendorAccounts",
    "atomic_target",
    "build_invoices",
    "credit_note",
    "draft_invoices",
    "figure_problems",
    "invoice_from_record",
    "invoice_record",
    "invoice_series",
    "labelled_lines",
    "load_invoicing",
    "money_text",
    "negated",
    "numbered",
    "read_invoice_data",
    "summary_row",
    "write_invoice_data",
    "write_invoice_summary",
]


#: SQL of a rated line's source file as the customer's workbook shows it: the folders before the
#: file name removed (``/srv/reports/x.zip!dir/y.csv`` -> ``x.zip!dir/y.csv``).
CUSTOMER_SOURCE_FILE = r"regexp_replace(r.source_file, '^[^!]*[/\\]', '')"


def labelled_lines(
    customers: dict[str, Customer], invoicing: Invoicing, period: str, ids: list[str]
) -> tuple[str, str]:
    """SQL of ``period``'s rated lines of customers ``ids`` with ``line_key`` and
    ``line_credit`` (which invoice line: billing_lib.line_labels) and ``vendor_name``; and SQL of
    one row per invoice line of them with ``invoice_line``, its text. Joined on (customer_id,
    product_group, line_key, line_credit), each rated line gets the text of the invoice line it
    is summed into: the invoices group by the same keys and the workbooks' usage sheets show the
    text, so both always agree. ``source_file`` is the vendor file's name without the
    reseller's folders (``CUSTOMER_SOURCE_FILE``): the customer sees which report a line came
    from, not where the reseller keeps it."""
    source, by_grouping, names = _label_inputs(customers, invoicing, period, ids)
    keyed = keyed_sql(_rated_source(period, ids, each_file_once=True), by_grouping, names)
    return keyed, line_texts_sql(source, by_grouping, names)


def _label_inputs(
    customers: dict[str, Customer], invoicing: Invoicing, period: str, ids: list[str]
) -> tuple[str, dict[tuple[str, ...], list[str]], dict[str, str]]:
    """What ``line_labels`` labels the lines of customers ``ids`` in ``period`` with: the rated
    lines (a parenthesised query), the customers per line_grouping and the vendors' names."""
    by_grouping: dict[tuple[str, ...], list[str]] = {}
    for cid in ids:
        check_grouping(customers[cid].line_grouping, cid)
        by_grouping.setdefault(tuple(customers[cid].line_grouping), []).append(cid)
    month_days(period)
    names = {v: n.name for v, n in invoicing.products.vendors.items()}
    return _rated_source(period, ids), by_grouping, names


def _rated_source(period: str, ids: list[str], each_file_once: bool = False) -> str:
    """The rated lines of customers ``ids`` in ``period`` (a parenthesised query), their
    ``source_file`` as the customer sees it (``CUSTOMER_SOURCE_FILE``). ``each_file_once``: that
    name made once per file and joined to the lines, for a query that reads every line's
    ``source_file`` (the regular expression on every line took as long as reading the share's
    lines: benchmarks/README.md, issue 13's sixth pass)."""
    # the range lets DuckDB skip the row groups of other customers (rated_lines is stored by
    # customer): the workbooks label their invoices' lines share by share
    within = f" AND customer_id BETWEEN {ql(min(ids))} AND {ql(max(ids))}" if ids else ""
    where = f"period = {ql(period)}{within}"
    if not each_file_once:
        return (
            f"(SELECT * REPLACE ({CUSTOMER_SOURCE_FILE} AS source_file) FROM rated_lines r "
            f"WHERE {where})"
        )
    files = (
        f"(SELECT source_file, {CUSTOMER_SOURCE_FILE} AS shown "
        f"FROM (SELECT DISTINCT source_file FROM rated_lines WHERE {where}) r)"
    )
    return (
        f"(SELECT r.* REPLACE (f.shown AS source_file) FROM rated_lines r "
        f"LEFT JOIN {files} f USING (source_file) WHERE {where})"
    )


def invoice_series(invoicing: Invoicing, period: str) -> str:
    """The invoice series of ``period``: the seller's prefix and the period's year (``NW2026``)."""
    return f"{invoicing.seller.invoice_series}{period[:4]}"


#: What ``build_invoices`` sums per invoice line (``line_labels.summed_lines_sql``).
#: (The unit and the unit price are used where the line has one of each: ``min`` is that one.)
#: Units and prices are those of the rated lines with a quantity: a line without one (a fee,
#: a negation) adds to the amount only, and then no unit price gives the amount.
_LINE_SUMS = """sum(amount) AS s_amount, sum(cost) AS s_cost, count(*) AS n_lines,
    count(DISTINCT unit) FILTER (WHERE quantity <> 0) AS n_units,
    min(unit) FILTER (WHERE quantity <> 0) AS one_unit, sum(quantity) AS s_quantity,
    count(DISTINCT unit_price) FILTER (WHERE quantity <> 0) AS n_prices,
    min(unit_price) FILTER (WHERE quantity <> 0) AS one_price,
    COALESCE(bool_and(unit IS NOT NULL) FILTER (WHERE quantity <> 0), false) AS all_units"""


#: One row per invoice line, in this column order.
_LINE_SQL = """
    SELECT customer_id, product_group, invoice_line, s_amount, s_cost, n_lines, n_units, one_unit,
           s_quantity, n_prices, one_price, all_units, line_credit, line_start, line_end
    FROM ({sql}) ORDER BY customer_id, product_group, invoice_line, line_key"""


def build_invoices(
    con: duckdb.DuckDBPyConnection,
    customers: dict[str, Customer],
    invoicing: Invoicing,
    period: str,
    register: Register | None,
    issue_date: date,
    numbers: dict[str, str] | None = None,
    rates: ExchangeRates | None = None,
) -> list[Invoice]:
    """One invoice per customer with rated lines in ``period`` (every vendor on one invoice), in
    customer id order: ``draft_invoices``, then the numbers planned from the register (a rerun
    of an unfinalised period keeps its numbers; the register records them only when the run is
    published) and given (``numbered``). ``numbers`` (customer id -> number) instead of the
    register: the number ``billing reissue`` took for its one customer."""
    drafts = draft_invoices(con, customers, invoicing, period, issue_date, rates)
    if not drafts:
        return []
    if numbers is None:
        if register is None:
            raise TypeError("build_invoices needs the register or the numbers")
        ids = [d.customer_id for d in drafts]
        numbers = register.plan(invoice_series(invoicing, period), period, ids, issue_date).numbers
    return numbered(drafts, numbers)


def draft_invoices(
    con: duckdb.DuckDBPyConnection,
    customers: dict[str, Customer],
    invoicing: Invoicing,
    period: str,
    issue_date: date,
    rates: ExchangeRates | None = None,
) -> list[Invoice]:
    """The invoices of ``period`` as ``build_invoices`` gives them but unnumbered (number ""),
    every figure final: what a run checks before it plans a number (the month-on-month jump
    compares these nets, ``review.month_jumps``). Checks everything first (ParameterError listing
    each problem). ``rates`` (exchange_rates.csv) give a VAT-bearing invoice in another currency
    than the national one its VAT in the national currency (``_national_vat``); without them
    such an invoice is refused."""
    problems = invoicing_problems(con, period, customers, invoicing, rates)
    if problems:
        raise ParameterError(
            invoicing.folder,
            None,
            f"cannot invoice {period}; nothing was written:\n  - " + "\n  - ".join(problems),
        )
    ids = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT customer_id FROM rated_lines WHERE period = ? ORDER BY 1", [period]
        ).fetchall()
    ]
    if not ids:
        return []
    summed = summed_lines_sql(*_label_inputs(customers, invoicing, period, ids), _LINE_SUMS)
    rows = con.execute(_LINE_SQL.format(sql=summed)).fetchall()
    lines_of: dict[str, list[tuple]] = {}
    for row in rows:
        lines_of.setdefault(row[0], []).append(row)
    return [
        _invoice(cid, customers[cid], "", lines_of[cid], invoicing, period, issue_date, rates)
        for cid in ids
    ]


def numbered(drafts: list[Invoice], numbers: dict[str, str]) -> list[Invoice]:
    """``drafts`` (``draft_invoices``) with their numbers (customer id -> number); RunError
    unless ``numbers`` holds exactly their customers. The figures are not computed again."""
    ids = [d.customer_id for d in drafts]
    if sorted(numbers) != ids:
        raise RunError(f"numbers for {sorted(numbers)}; the rated lines are of {ids}")
    return [replace(d, number=numbers[d.customer_id]) for d in drafts]


def _invoice(
    cid: str,
    customer: Customer,
    number: str,
    rows: list[tuple],
    invoicing: Invoicing,
    period: str,
    issue_date: date,
    rates: ExchangeRates | None = None,
) -> Invoice:
    """The invoice ``number`` of ``customer`` (id ``cid``) for ``period`` from its summed
    line ``rows``."""
    first, last = month_days(period)
    seller = invoicing.seller
    # the rate in force at the end of the supply period, whenever the month is billed
    rule = invoicing.vat.rule_for(customer, seller.country, day=last)
    groups = invoicing.products.product_groups
    currency = customer.invoice_currency
    lines = sorted(
        (_invoice_line(row, invoicing, currency, rule.rate) for row in rows),
        key=lambda ln: (groups[ln.product_group].order, ln.product_group, ln.description),
    )
    return _finish(
        Invoice(
            number=number,
            kind="invoice",
            period=period,
            issue_date=issue_date,
            due_date=issue_date + timedelta(days=customer.payment_terms_days),
            supply_start=first,
            supply_end=last,
            currency=currency,
            customer_id=cid,
            buyer=Party(
                customer.name,
                tuple(a for a in customer.address if a.strip()),
                customer.country,
                customer.vat_number,
                customer.email,
                customer.postal_code,
                customer.city,
                customer.chamber_of_commerce,
                customer.peppol_id,
                customer.state,
            ),
            seller=seller_party(seller),
            customer_reference=customer.reference,
            vat_rule=rule.name,
            vat_mention=rule.mention,
            show_buyer_vat_number=rule.show_buyer_vat_number,
            lines=tuple(lines),
            vat=(),
            net=ZERO,
            vat_total=ZERO,
            gross=ZERO,
            cost=ZERO,
            margin=ZERO,
            payment_terms_days=customer.payment_terms_days,
        ),
        invoicing,
        rates,
    )


def seller_party(seller: Seller) -> Party:
    """The seller of ``seller.yaml`` as its invoices name it (every document prints this)."""
    return Party(
        seller.name,
        tuple(seller.address),
        seller.country,
        seller.vat_number,
        seller.email,
        seller.postal_code,
        seller.city,
        seller.chamber_of_commerce,
        seller.peppol_id,
        seller.state,
    )


def _invoice_line(
    row: tuple, invoicing: Invoicing, currency: str, vat_rate: Decimal
) -> InvoiceLine:
    """One invoice line from its row of ``_LINE_SQL``: the amount rounded half-up; quantity and
    unit only where every rated line has the same unit, the unit price only where quantity x
    price gives the printed amount; the charge period its text names, if any."""
    (
        _,
        group,
        label,
        amount,
        cost,
        count,
        units,
        unit,
        quantity,
        prices,
        unit_price,
        all_units,
        credit,
        start,
        end,
    ) = row
    one_unit = units == 1 and all_units
    one_price = one_unit and prices == 1
    rounded = round_money(amount, currency)
    priced = one_price and round_money(quantity * unit_price, currency) == rounded
    shown_quantity, shown_price = display_figures(
        quantity if one_unit else None,
        unit_price if one_price else None,
        rounded,
        currency,
        credit,
        exact=amount,
    )
    return InvoiceLine(
        product_group=group,
        heading=invoicing.products.product_groups[group].heading,
        description=label,
        amount=rounded,
        cost=round_money(cost or ZERO, currency),
        unrounded_amount=amount,
        vat_rate=vat_rate,
        rated_lines=count,
        quantity=quantity if one_unit else None,
        unit=display_unit(unit) if one_unit else None,
        unit_price=unit_price if priced else None,
        display_quantity=shown_quantity,
        display_unit_price=shown_price,
        charge_start=start,
        charge_end=end,
    )


def _finish(invoice: Invoice, invoicing: Invoicing, rates: ExchangeRates | None = None) -> Invoice:
    """The VAT per rate (``vat_per_rate``) and the totals (``invoice_totals``) of ``invoice``'s
    rounded lines, with the VAT rule's label and codes on each VAT line, and the VAT in the
    national currency where it is needed (``_national_vat``)."""
    rule = invoicing.vat.rules[invoice.vat_rule].on(invoice.supply_end)
    vat = tuple(
        VatLine(
            rate, rule.label, rule.vat_code, base, amount, rule.ubl_category, rule.exemption_code
        )
        for rate, base, amount in vat_per_rate(invoice.lines, invoice.currency)
    )
    totals = invoice_totals(invoice.lines, vat)
    if totals.net != sum((v.base for v in vat), ZERO):
        raise ControlTotalError(f"{_called(invoice)}: net {totals.net} differs from the VAT bases")
    finished = replace(
        invoice,
        vat=vat,
        net=totals.net,
        vat_total=totals.vat_total,
        gross=totals.gross,
        cost=totals.cost,
        margin=totals.margin,
    )
    return replace(finished, national_vat=_national_vat(finished, invoicing, rates))


def _called(invoice: Invoice) -> str:
    """How a message names ``invoice``: by its number, a draft (not numbered yet) by customer."""
    if invoice.number:
        return f"invoice {invoice.number}"
    return f"the invoice of {invoice.customer_id}"


def _national_vat(
    invoice: Invoice, invoicing: Invoicing, rates: ExchangeRates | None
) -> NationalVat | None:
    """The VAT of a VAT-bearing ``invoice`` in another currency than the national one
    (``Invoicing.national_currency``), in the national currency: the VAT total at
    exchange_rates.csv's rate of the supply period's last day (the rate the Xero journal converts
    the month at), rounded half-up once (``national_vat_amount``). None when the invoice is in the
    national currency or carries no VAT rate above 0. RunError without ``rates`` (the caller's
    checks, ``_national_vat_problems``, name that first)."""
    national = invoicing.national_currency_on(invoice.supply_end)
    if invoice.currency == national or not any(v.rate > 0 for v in invoice.vat):
        return None
    if rates is None:
        raise RunError(
            f"{_called(invoice)}: its VAT must be stated in {national} too, and no "
            "exchange rates were given"
        )
    day = invoice.supply_end
    row = rates.row(invoice.currency, national, day)
    amount = national_vat_amount(invoice.vat_total, row.rate, national)
    return NationalVat(national, row.rate, day, amount, row.source)


def credit_note(
    original: Invoice,
    register: Register,
    invoicing: Invoicing,
    period: str,
    issue_date: date,
    reason: str | None,
) -> Invoice:
    """A credit note cancelling the finalised invoice ``original`` in full (every line, VAT and
    total negated, so the cents match the original exactly), issued in the run of ``period``
    and numbered in the credit-note series of its issue year, as ``billing credit-note``
    numbers it (``period``'s year put a credit note of 5 January 2027 issued in December's run
    in the 2026 series); a corrected invoice is then issued in the normal way. ``reason`` is
    printed on one line, None when blank (``invoice_model.negated``), as the command prints
    its ``--reason``."""
    series = f"{invoicing.seller.credit_note_series}{issue_date.year}"
    number = register.credit_note(series, period, original.number, issue_date)
    return negated(original, number, issue_date, reason)
