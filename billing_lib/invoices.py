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
file is written.

A month whose credits exceed its charges gives an invoice with a negative total (a credit balance
in the customer's favour). It stays an invoice of that period in the invoice series: it is not a
correction of an earlier invoice, which is what credit notes (``credit_note``) are for.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from billing_lib.customers import PEPPOL_ID, Customer
from billing_lib.errors import ControlTotalError, ParameterError, RunError
from billing_lib.fx import FX_PLAUSIBILITY_FACTOR
from billing_lib.line_labels import check_grouping, display_figures, labelled_sql
from billing_lib.money import ZERO, round_money
from billing_lib.numbering import Register
from billing_lib.parameter_files import pydantic_problem, read_yaml
from billing_lib.periods import month_days
from billing_lib.vat import CUSTOMERS_FILE, VatRules, load_vat_rules

SELLER_FILE = "seller.yaml"
PRODUCTS_FILE = "products.yaml"
#: The invoices of a run as data (``write_invoice_data``), so a correction rebuilds them exactly.
INVOICE_DATA = "invoices.json"
INVOICE_DATA_FORMAT = "billing_lib.invoices/1"
#: Default and largest ``usage_detail_max_lines`` (seller.yaml): a workbook lists the rated lines of
#: invoices up to this size one by one (cell by cell, with xlsxwriter, about 0.2 ms a line); the
#: limit keeps each vendor's lines on one sheet (Excel's limit is 1,048,576 rows).
USAGE_DETAIL_MAX_LINES = 1_000
USAGE_DETAIL_LIMIT = 1_000_000
SUMMARY_COLUMNS = (
    "customer_id",
    "invoice_number",
    "currency",
    "net_amount",
    "vat_amount",
    "gross_amount",
    "cost_amount",
    "margin_amount",
)


# -- parameters: seller.yaml and products.yaml ---------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Payment(_Strict):
    account_holder: str = Field(min_length=1)
    iban: str
    bic: str = Field(pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
    bank: str | None = None
    instructions: str | None = None

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        """ISO 13616 check digits (mod 97 = 1), so a typo never reaches an invoice."""
        iban = value.replace(" ", "").upper()
        if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
            raise ValueError("expected an IBAN such as NL91ABNA0417164300")
        digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
        if int(digits) % 97 != 1:
            raise ValueError("the IBAN's check digits are wrong")
        return iban


class Seller(_Strict):
    """The reseller as its invoices show it (``parameters/seller.yaml``)."""

    name: str = Field(min_length=1)
    address: list[str] = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    vat_number: str = Field(min_length=4)
    chamber_of_commerce: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    #: Postcode and city as in ``address``, for the e-invoice's structured address.
    postal_code: str | None = None
    city: str | None = None
    #: Peppol electronic address '<EAS scheme>:<id>' (e.g. 0106:81234567, the KvK number).
    peppol_id: str | None = Field(None, pattern=PEPPOL_ID)
    #: A logo (PNG or JPEG) for the invoice PDFs, relative to the parameters folder.
    logo: str | None = None
    #: Embed each invoice's PDF in its UBL e-invoice (AdditionalDocumentReference).
    ubl_attach_pdf: bool = True
    invoice_series: str = Field(pattern=r"^[A-Z]{1,8}$")
    credit_note_series: str = Field(pattern=r"^[A-Z]{1,8}$")
    payment: Payment
    #: Invoices with up to this many rated lines list each of them in the workbook's usage sheets;
    #: larger ones get summarised usage sheets (every invoice's lines are in
    #: ``<workbook>.usage.parquet`` beside it).
    usage_detail_max_lines: int = USAGE_DETAIL_MAX_LINES
    #: Neighbouring exchange rates of one pair may differ by at most this factor (billing_lib.fx);
    #: a run setting, not part of the seller block of ``invoices.json``.
    fx_plausibility_factor: Decimal = Field(FX_PLAUSIBILITY_FACTOR, gt=1, le=1000, exclude=True)

    @field_validator("usage_detail_max_lines", mode="before")
    @classmethod
    def _detail_lines(cls, value: object) -> object:
        if type(value) is not int or not 0 <= value <= USAGE_DETAIL_LIMIT:
            raise ValueError(
                f"expected a whole number of rated lines from 0 to {USAGE_DETAIL_LIMIT} (invoices with "
                "more get summarised usage sheets; every line is in <workbook>.usage.parquet)"
            )
        return value

    @model_validator(mode="after")
    def _series(self) -> Seller:
        if self.invoice_series == self.credit_note_series:
            raise ValueError("credit notes need their own series (credit_note_series)")
        return self


class Account(_Strict):
    name: str = Field(min_length=1)
    type: Literal["asset", "liability", "income", "expense"]


class ProductGroup(_Strict):
    heading: str = Field(min_length=1)
    revenue_account: str
    cost_account: str
    order: int = 100


class VendorAccounts(_Strict):
    name: str = Field(min_length=1)
    payable_account: str


class Products(_Strict):
    """Product groups (invoice heading, revenue and cost account), vendors (payable account) and
    the chart of accounts (``parameters/products.yaml``)."""

    accounts: dict[str, Account]
    receivable_account: str
    prepaid_account: str
    unbilled_cost_account: str
    vendors: dict[str, VendorAccounts]
    product_groups: dict[str, ProductGroup]


@dataclass(frozen=True)
class Invoicing:
    """Everything invoicing reads from ``parameters/`` besides the customers."""

    seller: Seller
    vat: VatRules
    products: Products
    folder: Path
    customers: dict[str, Customer] = field(default_factory=dict)

    def account(self, code: str) -> Account:
        return self.products.accounts[code]


_M = TypeVar("_M", bound=BaseModel)


def _model(cls: type[_M], path: Path) -> _M:
    data = read_yaml(path)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problem(path, exc, data, cls) from exc


def load_invoicing(parameters: Path, customers: dict[str, Customer] | None = None) -> Invoicing:
    """Seller, VAT rules and products from ``parameters/``, with every account they name checked
    against the chart of accounts. ``customers`` are kept for the writers (usage sheets); they are
    checked against the VAT rules when they are invoiced (``build_invoices``), so a customer with
    no lines this month does not stop the run."""
    folder = Path(parameters)
    seller = _model(Seller, folder / SELLER_FILE)
    vat = load_vat_rules(folder)
    products = _model(Products, folder / PRODUCTS_FILE)
    path = folder / PRODUCTS_FILE
    known = products.accounts

    def need(code: str, entry: str, kinds: tuple[str, ...], file: Path = path) -> None:
        if code not in known:
            raise ParameterError(file, entry, f"account {code!r} is not in products.yaml accounts")
        if known[code].type not in kinds:
            raise ParameterError(
                file,
                entry,
                f"account {code!r} is {known[code].type}; expected {' or '.join(kinds)}",
            )

    need(products.receivable_account, "receivable_account", ("asset",))
    need(products.prepaid_account, "prepaid_account", ("asset", "liability"))
    need(products.unbilled_cost_account, "unbilled_cost_account", ("expense",))
    for key, group in products.product_groups.items():
        need(group.revenue_account, f"product_groups.{key}.revenue_account", ("income",))
        need(group.cost_account, f"product_groups.{key}.cost_account", ("expense",))
    for key, vendor in products.vendors.items():
        need(vendor.payable_account, f"vendors.{key}.payable_account", ("liability",))
    for key, rule in vat.rules.items():
        need(
            rule.vat_account, f"rules.{key}.vat_account", ("liability",), folder / "vat_rules.yaml"
        )
    return Invoicing(seller, vat, products, folder, dict(customers or {}))


# -- the invoice as data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """Seller or buyer as printed on the invoice."""

    name: str
    address: tuple[str, ...]
    country: str
    vat_number: str | None
    email: str | None = None
    postal_code: str | None = None
    city: str | None = None
    #: Company register number (Chamber of Commerce) and Peppol electronic address, for UBL.
    registration: str | None = None
    peppol_id: str | None = None


@dataclass(frozen=True)
class InvoiceLine:
    """One printed line: the rated lines of one group, summed exactly and rounded half-up.
    ``quantity``/``unit``/``unit_price`` are given only when every rated line of the group has
    the same unit (and, for the price, the same unit price)."""

    product_group: str
    heading: str
    description: str
    amount: Decimal
    cost: Decimal
    unrounded_amount: Decimal
    vat_rate: Decimal
    rated_lines: int
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    #: What the invoice shows (workbook, PDF, UBL, invoices.json readers): the quantity rounded
    #: for reading (2 places, whole where whole; negative on a credit line) and the unit price
    #: (at most 4 places) only where display quantity x price gives ``amount``.
    display_quantity: Decimal | None = None
    display_unit_price: Decimal | None = None


@dataclass(frozen=True)
class VatLine:
    """VAT of one rate: ``amount`` = rate x ``base`` (the sum of the rounded lines), half-up.
    ``category`` and ``exemption_code`` are the e-invoice's (vat_rules.yaml), ``mention`` the
    invoice's legal mention is the exemption reason's text."""

    rate: Decimal
    label: str
    vat_code: str
    base: Decimal
    amount: Decimal
    category: str = "S"
    exemption_code: str | None = None


@dataclass(frozen=True)
class Invoice:
    """One invoice (or credit note) with its figures in the invoice currency, all rounded."""

    number: str
    kind: Literal["invoice", "credit_note"]
    period: str
    issue_date: date
    due_date: date
    supply_start: date
    supply_end: date
    currency: str
    customer_id: str
    buyer: Party
    seller: Party
    customer_reference: str | None
    vat_rule: str
    vat_mention: str | None
    show_buyer_vat_number: bool
    lines: tuple[InvoiceLine, ...]
    vat: tuple[VatLine, ...]
    net: Decimal
    vat_total: Decimal
    gross: Decimal
    cost: Decimal
    margin: Decimal
    payment_terms_days: int
    refers_to: str | None = None
    note: str | None = None

    @property
    def credit_balance(self) -> bool:
        """The total is negative: nothing to pay, the amount is in the customer's favour."""
        return self.gross < 0

    def subtotals(self) -> list[tuple[str, str, Decimal]]:
        """(product group, heading, sum of its rounded lines) in the order printed."""
        out: dict[str, tuple[str, Decimal]] = {}
        for line in self.lines:
            heading, total = out.get(line.product_group, (line.heading, ZERO))
            out[line.product_group] = (heading, total + line.amount)
        return [(g, h, t) for g, (h, t) in out.items()]


# -- building ----------------------------------------------------------------------------------


#: SQL of a rated line's source file as the customer's workbook shows it: the folders before the
#: file name removed (``/srv/reports/x.zip!dir/y.csv`` -> ``x.zip!dir/y.csv``).
CUSTOMER_SOURCE_FILE = r"regexp_replace(r.source_file, '^[^!]*[/\\]', '')"


def labelled_lines(
    customers: dict[str, Customer], invoicing: Invoicing, period: str, ids: list[str]
) -> tuple[str, list[object]]:
    """SQL (and its parameters) of ``period``'s rated lines of customers ``ids`` with the columns
    ``invoice_line`` (the text of the invoice line each rated line is summed into), ``line_key``
    and ``line_credit`` (which invoice line: billing_lib.line_labels) and ``vendor_name``. The
    invoices group by them and the workbooks' usage sheets show the text, so both always agree.
    ``source_file`` is the vendor file's name without the reseller's folders
    (``CUSTOMER_SOURCE_FILE``): the customer sees which report a line came from, not where the
    reseller keeps it."""
    by_grouping: dict[tuple[str, ...], list[str]] = {}
    for cid in ids:
        check_grouping(customers[cid].line_grouping, cid)
        by_grouping.setdefault(tuple(customers[cid].line_grouping), []).append(cid)
    month_days(period)
    names = {v: n.name for v, n in invoicing.products.vendors.items()}
    source = (
        f"(SELECT * REPLACE ({CUSTOMER_SOURCE_FILE} AS source_file) FROM rated_lines r "
        f"WHERE period = '{period}')"
    )
    return labelled_sql(source, by_grouping, None, names), []


def _problems(
    con: duckdb.DuckDBPyConnection,
    period: str,
    customers: dict[str, Customer],
    invoicing: Invoicing,
) -> list[str]:
    """Everything that stops invoicing ``period``, each naming the file and entry (collected, so
    one run shows them all)."""
    out: list[str] = []
    groups = invoicing.products.product_groups
    for group, count, customer in con.execute(
        "SELECT product_group, count(*), min(customer_id) FROM rated_lines WHERE period = ? "
        "GROUP BY ALL ORDER BY 1 NULLS FIRST",
        [period],
    ).fetchall():
        if group not in groups:
            out.append(
                f"{invoicing.folder / PRODUCTS_FILE}, product_groups: no entry {group!r} (heading, revenue and "
                f"cost account) for {count} rated lines, e.g. of customer {customer}; known: {sorted(groups)}"
            )
    for customer_id, currencies, nulls in con.execute(
        "SELECT customer_id, list(DISTINCT currency ORDER BY currency), count(*) FILTER (WHERE amount IS NULL) "
        "FROM rated_lines WHERE period = ? GROUP BY ALL ORDER BY 1 NULLS FIRST",
        [period],
    ).fetchall():
        customer = customers.get(customer_id) if customer_id is not None else None
        entry = f"{CUSTOMERS_FILE}, customers[id={customer_id}]"
        if customer is None:
            out.append(f"{entry}: rated lines for a customer that is not in customers.yaml")
            continue
        if nulls:
            out.append(
                f"rated_lines of {customer_id}: {nulls} lines without an amount (rating left them unpriced)"
            )
        if currencies != [customer.invoice_currency]:
            out.append(
                f"{entry}.invoice_currency: is {customer.invoice_currency} but its rated lines are in {currencies}"
            )
        if not customer.name.strip():
            out.append(f"{entry}.name: an invoice needs the customer's name")
        if not [a for a in customer.address if a.strip()]:
            out.append(f"{entry}.address: an invoice needs the customer's address")
        try:
            invoicing.vat.rule_for(customer, invoicing.seller.country)
        except ParameterError as exc:
            out.append(str(exc))
    for vendor, count in con.execute(
        "SELECT vendor, count(*) FROM rated_lines WHERE period = ? AND line_kind = 'vendor' "
        "AND (vendor_cost <> 0 OR billed_cost <> 0) GROUP BY ALL ORDER BY 1",
        [period],
    ).fetchall():
        if vendor not in invoicing.products.vendors:
            out.append(
                f"{invoicing.folder / PRODUCTS_FILE}, vendors: no entry {vendor!r} (payable account) for "
                f"{count} rated lines with a vendor cost"
            )
    return out


def invoice_series(invoicing: Invoicing, period: str) -> str:
    """The invoice series of ``period``: the seller's prefix and the period's year (``NW2026``)."""
    return f"{invoicing.seller.invoice_series}{period[:4]}"


def build_invoices(
    con: duckdb.DuckDBPyConnection,
    customers: dict[str, Customer],
    invoicing: Invoicing,
    period: str,
    register: Register,
    issue_date: date,
) -> list[Invoice]:
    """One invoice per customer with rated lines in ``period`` (every vendor on one invoice), in
    customer id order. Checks everything first, then plans the invoice numbers from the register
    (a rerun of an unfinalised period keeps its numbers; the register records them only when the
    run is published), then builds the invoices."""
    first, last = month_days(period)
    problems = _problems(con, period, customers, invoicing)
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
    sql, params = labelled_lines(customers, invoicing, period, ids)
    rows = con.execute(
        f"""
        SELECT customer_id, product_group, invoice_line, sum(amount), sum(cost), count(*),
               count(DISTINCT unit), any_value(unit), sum(quantity), count(DISTINCT unit_price),
               any_value(unit_price), bool_and(unit IS NOT NULL), line_credit
        FROM ({sql}) GROUP BY customer_id, product_group, line_key, line_credit, invoice_line
        ORDER BY customer_id, product_group, invoice_line, line_key""",
        params,
    ).fetchall()

    numbers = register.plan(invoice_series(invoicing, period), period, ids, issue_date).numbers
    seller = invoicing.seller
    seller_party = Party(
        seller.name,
        tuple(seller.address),
        seller.country,
        seller.vat_number,
        seller.email,
        seller.postal_code,
        seller.city,
        seller.chamber_of_commerce,
        seller.peppol_id,
    )
    groups = invoicing.products.product_groups
    lines_of: dict[str, list[tuple]] = {}
    for row in rows:
        lines_of.setdefault(row[0], []).append(row)
    out = []
    for cid in ids:
        customer = customers[cid]
        rule = invoicing.vat.rule_for(customer, seller.country)
        currency = customer.invoice_currency
        lines = []
        for (
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
        ) in lines_of[cid]:
            one_unit = units == 1 and all_units
            rounded = round_money(amount, currency)
            # The unit price is printed only where quantity x price gives the printed amount.
            priced = (
                one_unit and prices == 1 and round_money(quantity * unit_price, currency) == rounded
            )
            shown_quantity, shown_price = display_figures(
                quantity if one_unit else None,
                unit_price if one_unit and prices == 1 else None,
                rounded,
                currency,
                credit,
            )
            lines.append(
                InvoiceLine(
                    product_group=group,
                    heading=groups[group].heading,
                    description=label,
                    amount=rounded,
                    cost=round_money(cost or ZERO, currency),
                    unrounded_amount=amount,
                    vat_rate=rule.rate,
                    rated_lines=count,
                    quantity=quantity if one_unit else None,
                    unit=unit if one_unit else None,
                    unit_price=unit_price if priced else None,
                    display_quantity=shown_quantity,
                    display_unit_price=shown_price,
                )
            )
        lines.sort(
            key=lambda ln: (groups[ln.product_group].order, ln.product_group, ln.description)
        )
        out.append(
            _finish(
                Invoice(
                    number=numbers[cid],
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
                    ),
                    seller=seller_party,
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
            )
        )
    return out


def _finish(invoice: Invoice, invoicing: Invoicing) -> Invoice:
    """The VAT per rate and the totals of ``invoice``'s (rounded) lines, by addition only."""
    rule = invoicing.vat.rules[invoice.vat_rule]
    bases: dict[Decimal, Decimal] = {}
    for line in invoice.lines:
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + line.amount
    vat = tuple(
        VatLine(
            rate,
            rule.label,
            rule.vat_code,
            base,
            round_money(base * rate / 100, invoice.currency),
            rule.ubl_category,
            rule.exemption_code,
        )
        for rate, base in sorted(bases.items(), reverse=True)
    )
    net = sum((ln.amount for ln in invoice.lines), ZERO)
    vat_total = sum((v.amount for v in vat), ZERO)
    cost = sum((ln.cost for ln in invoice.lines), ZERO)
    if net != sum((v.base for v in vat), ZERO):
        raise ControlTotalError(f"invoice {invoice.number}: net {net} differs from the VAT bases")
    return replace(
        invoice,
        vat=vat,
        net=net,
        vat_total=vat_total,
        gross=net + vat_total,
        cost=cost,
        margin=net - cost,
    )


def credit_note(
    original: Invoice,
    register: Register,
    invoicing: Invoicing,
    period: str,
    issue_date: date,
    reason: str,
) -> Invoice:
    """A credit note cancelling the finalised invoice ``original`` in full (every line, VAT and
    total negated, so the cents match the original exactly), numbered in the credit-note series
    of ``period``'s year; a corrected invoice is then issued in the normal way."""
    series = f"{invoicing.seller.credit_note_series}{period[:4]}"
    number = register.credit_note(series, period, original.number, issue_date)
    return negated(original, number, issue_date, reason)


def negated(original: Invoice, number: str, issue_date: date, reason: str | None) -> Invoice:
    """The credit note ``number`` cancelling ``original`` in full: every line, VAT line and total
    negated (no rounding happens, so the cents are exactly the original's with the sign
    changed), dated ``issue_date`` (due the same day), referring to the original's number, with
    ``reason`` as its note. Supply period, parties and VAT treatment stay the original's."""
    lines = tuple(
        replace(
            ln,
            amount=-ln.amount,
            cost=-ln.cost,
            unrounded_amount=-ln.unrounded_amount,
            quantity=-ln.quantity if ln.quantity is not None else None,
            display_quantity=-ln.display_quantity if ln.display_quantity is not None else None,
        )
        for ln in original.lines
    )
    vat = tuple(replace(v, base=-v.base, amount=-v.amount) for v in original.vat)
    return replace(
        original,
        number=number,
        kind="credit_note",
        refers_to=original.number,
        issue_date=issue_date,
        due_date=issue_date,
        lines=lines,
        vat=vat,
        net=-original.net,
        vat_total=-original.vat_total,
        gross=-original.gross,
        cost=-original.cost,
        margin=-original.margin,
        note=reason,
    )


def figure_problems(invoice: Invoice) -> list[str]:
    """Where ``invoice``'s stored figures are not what its own lines give by the rounding rules
    (VAT per rate = rate x the sum of that rate's rounded lines, half-up; totals by addition);
    empty when every cent agrees. Used on invoices read back from a run folder."""
    out = []
    cur = invoice.currency
    for ln in invoice.lines:
        if round_money(ln.unrounded_amount, cur) != ln.amount:
            out.append(
                f"line {ln.description!r}: {money_text(ln.amount)} is not {ln.unrounded_amount} rounded"
            )
    bases: dict[Decimal, Decimal] = {}
    for ln in invoice.lines:
        bases[ln.vat_rate] = bases.get(ln.vat_rate, ZERO) + ln.amount
    stored = {v.rate: v for v in invoice.vat}
    if set(stored) != set(bases):
        out.append(f"VAT rates {sorted(stored)} but the lines have {sorted(bases)}")
    for rate, base in bases.items():
        v = stored.get(rate)
        if v is not None and (v.base, v.amount) != (base, round_money(base * rate / 100, cur)):
            out.append(
                f"VAT {rate} %: base {money_text(v.base)}, VAT {money_text(v.amount)}; the lines give base "
                f"{money_text(base)}, VAT {money_text(round_money(base * rate / 100, cur))}"
            )
    net = sum((ln.amount for ln in invoice.lines), ZERO)
    vat_total = sum((v.amount for v in invoice.vat), ZERO)
    cost = sum((ln.cost for ln in invoice.lines), ZERO)
    for name, have, want in (
        ("net", invoice.net, net),
        ("VAT", invoice.vat_total, vat_total),
        ("gross", invoice.gross, net + vat_total),
        ("cost", invoice.cost, cost),
        ("margin", invoice.margin, net - cost),
    ):
        if have != want:
            out.append(f"{name} {money_text(have)}; the lines give {money_text(want)}")
    return out


# -- writing -----------------------------------------------------------------------------------


@contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it (``os.replace``) only when the block
    finishes; on an error the temporary file is removed and ``target`` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its 0600 mode would stay on the published file.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def money_text(value: Decimal) -> str:
    """Fixed-point text of a rounded amount (no exponent, ``-0.00`` never)."""
    return f"{value:f}" if value else f"{abs(value):f}"


def write_invoice_summary(invoices: list[Invoice], path: Path) -> Path:
    """``invoice_summary.csv``: one row per invoice with the figures as printed on it."""
    path = Path(path)
    with atomic_target(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(SUMMARY_COLUMNS)
        for inv in sorted(invoices, key=lambda i: i.number):
            writer.writerow(
                [
                    inv.customer_id,
                    inv.number,
                    inv.currency,
                    money_text(inv.net),
                    money_text(inv.vat_total),
                    money_text(inv.gross),
                    money_text(inv.cost),
                    money_text(inv.margin),
                ]
            )
    return path


# -- invoices as data: written with the run, read back for corrections ----------------------------


def _plain(value: Any) -> Any:
    """JSON-ready: Decimal as fixed-point text (exact, no exponent), dates ISO."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def invoice_record(invoice: Invoice) -> dict[str, Any]:
    """``invoice`` as plain JSON data (amounts as exact decimal text)."""
    return _plain(asdict(invoice))


def invoice_from_record(data: dict[str, Any]) -> Invoice:
    """The ``Invoice`` that ``invoice_record`` wrote, exactly (every Decimal with its digits)."""

    def dec(v: str | None) -> Decimal | None:
        return None if v is None else Decimal(v)

    def party(d: dict[str, Any]) -> Party:
        return Party(
            d["name"],
            tuple(d["address"]),
            d["country"],
            d["vat_number"],
            d.get("email"),
            d.get("postal_code"),
            d.get("city"),
            d.get("registration"),
            d.get("peppol_id"),
        )

    def line(ln: dict[str, Any]) -> InvoiceLine:
        read = InvoiceLine(
            product_group=ln["product_group"],
            heading=ln["heading"],
            description=ln["description"],
            amount=Decimal(ln["amount"]),
            cost=Decimal(ln["cost"]),
            unrounded_amount=Decimal(ln["unrounded_amount"]),
            vat_rate=Decimal(ln["vat_rate"]),
            rated_lines=int(ln["rated_lines"]),
            quantity=dec(ln["quantity"]),
            unit=ln["unit"],
            unit_price=dec(ln["unit_price"]),
            display_quantity=dec(ln.get("display_quantity")),
            display_unit_price=dec(ln.get("display_unit_price")),
        )
        if "display_quantity" in ln:
            return read
        # written before lines carried their shown figures: the same rule gives them
        shown = display_figures(
            read.quantity, read.unit_price, read.amount, data["currency"], read.amount < 0
        )
        return replace(read, display_quantity=shown[0], display_unit_price=shown[1])

    lines = tuple(line(ln) for ln in data["lines"])
    vat = tuple(
        VatLine(
            Decimal(v["rate"]),
            v["label"],
            v["vat_code"],
            Decimal(v["base"]),
            Decimal(v["amount"]),
            v.get("category") or _OLD_CATEGORIES.get(data["vat_rule"], "S"),
            v.get("exemption_code"),
        )
        for v in data["vat"]
    )
    day = date.fromisoformat
    return Invoice(
        number=data["number"],
        kind=data["kind"],
        period=data["period"],
        issue_date=day(data["issue_date"]),
        due_date=day(data["due_date"]),
        supply_start=day(data["supply_start"]),
        supply_end=day(data["supply_end"]),
        currency=data["currency"],
        customer_id=data["customer_id"],
        buyer=party(data["buyer"]),
        seller=party(data["seller"]),
        customer_reference=data["customer_reference"],
        vat_rule=data["vat_rule"],
        vat_mention=data["vat_mention"],
        show_buyer_vat_number=bool(data["show_buyer_vat_number"]),
        lines=lines,
        vat=vat,
        net=Decimal(data["net"]),
        vat_total=Decimal(data["vat_total"]),
        gross=Decimal(data["gross"]),
        cost=Decimal(data["cost"]),
        margin=Decimal(data["margin"]),
        payment_terms_days=int(data["payment_terms_days"]),
        refers_to=data.get("refers_to"),
        note=data.get("note"),
    )


#: The VAT category of runs written before invoices.json carried it (the sample rules' names).
_OLD_CATEGORIES = {"domestic": "S", "eu_reverse_charge": "AE", "export": "G"}


def write_invoice_data(invoices: list[Invoice], seller: Seller, path: Path) -> Path:
    """``invoices.json``: every invoice in full (lines, VAT, totals, parties) and the seller block
    as printed, in number order. A credit note for one of them is rebuilt from this file, not from
    the parameters of the day, which may have changed since."""
    data = {
        "format": INVOICE_DATA_FORMAT,
        "seller": seller.model_dump(mode="json"),
        "invoices": [invoice_record(i) for i in sorted(invoices, key=lambda i: i.number)],
    }
    with atomic_target(Path(path)) as tmp:
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)


def read_invoice_data(path: Path) -> tuple[Seller, dict[str, Invoice]]:
    """The seller and the invoices (by number) of an ``invoices.json``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != INVOICE_DATA_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {INVOICE_DATA_FORMAT!r}")
        seller = Seller.model_validate(data["seller"])
        invoices = {i["number"]: invoice_from_record(i) for i in data["invoices"]}
    except (OSError, ValueError, KeyError, TypeError, ArithmeticError, ValidationError) as exc:
        raise RunError(f"{path}: cannot read the run's invoices: {exc}") from exc
    return seller, invoices
