"""The invoice as data: parties, lines, VAT per rate and totals, all rounded, and the one place
their figures are derived from the lines (docs/rounding.md):

- VAT per rate = rate x (sum of the rounded lines of that rate), rounded half-up (``vat_per_rate``);
- net, VAT and gross totals are sums of rounded figures only (``invoice_totals``).

Building an invoice (``invoices._finish``) and checking one read back from a run folder
(``figure_problems``) both use these, so they cannot disagree. A credit note is an invoice with
every figure negated (``negated``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages

from billing_lib.money import ZERO, decimal_places, round_money
from billing_lib.postal_addresses import postal_lines
from billing_lib.printed_texts import clean_text


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
    #: State, province or territory (US, CA, AU), for UBL (BT-39, BT-54) and the printed address.
    state: str | None = None

    def printed_address(self) -> list[str]:
        """The address lines as printed: with the state where its country's post wants it
        (``postal_addresses.postal_lines``)."""
        return postal_lines(self.address, self.country, self.city, self.state, self.postal_code)


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
    #: for reading (2 places, whole where whole, 3 or 4 where that gives ``amount`` at the
    #: price; negative on a credit line) and the unit price (at most 4 places) only where
    #: display quantity x price gives ``amount`` (``line_figures.display_figures``).
    display_quantity: Decimal | None = None
    display_unit_price: Decimal | None = None
    #: The charge period (first and last day) the line pays for where it is not the invoice's
    #: supply period, named in ``description`` (``line_labels.period_sql``) and given as the
    #: e-invoice line's period (BG-26, ``ubl``); None for a line of the supply period.
    charge_start: date | None = None
    charge_end: date | None = None


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
class NationalVat:
    """The VAT of an invoice in another currency than the seller's national one, stated in the
    national currency as well (Art. 230 Directive 2006/112/EC; EN 16931 BT-6 and BT-111):
    ``amount`` = the invoice's VAT total x ``rate`` (``currency`` per unit of the invoice
    currency, exchange_rates.csv's rate of ``rate_date``, the supply period's last day), rounded
    half-up once to ``currency``'s minor unit (``national_vat_amount``). ``source`` is the rate's
    row's ``source`` (its origin, e.g. the ECB reference rate), named on the invoice: Art. 91(2)
    lets the rate be the latest selling rate or the ECB's, and the reader must know which; empty
    in invoices.json records written before it was kept."""

    currency: str
    rate: Decimal
    rate_date: date
    amount: Decimal
    source: str = ""


def national_vat_amount(vat_total: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The VAT total in the national ``currency``: ``vat_total`` x ``rate``, half-up to its minor
    unit (docs/rounding.md). The one derivation: building an invoice and checking one read back
    use it."""
    return round_money(vat_total * rate, currency)


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
    #: The VAT in the seller's national currency, for a VAT-bearing invoice in another currency.
    national_vat: NationalVat | None = None
    #: The issue date of the invoice ``refers_to`` names (a credit note's: EN 16931 BT-26).
    refers_to_date: date | None = None

    @property
    def credit_balance(self) -> bool:
        """The total is negative: nothing to pay, the amount is in the customer's favour."""
        return self.gross < 0

    @property
    def payable(self) -> bool:
        """The customer has an amount to pay: an invoice with a positive total, or a credit note
        that cancels a credit balance (its total positive: the credit the customer had is charged
        back). Only then does the document show a due date, payment terms and the seller's payment
        instructions (a credit note of charges, a credit balance or a zero total asks for nothing
        by any date)."""
        return self.gross > 0

    def buyer_address(self) -> list[str]:
        """The buyer's address as printed: its lines as given, then the country's English name
        when the buyer is abroad (another country than the seller's) and the last line does not
        already name it (in English, its own languages or the seller's: ``country_names``). A
        domestic address carries no country, as a letter's would not."""
        lines = self.buyer.printed_address()
        if not self.buyer.country or self.buyer.country == self.seller.country:
            return lines
        name = country_name(self.buyer.country) or self.buyer.country
        names = country_names(self.buyer.country, self.seller.country)
        if lines and names_in(lines[-1], (name, *names)):
            return lines  # "Belgium", "Boston, MA 02210, United States", "Deutschland"
        return [*lines, name]

    def subtotals(self) -> list[tuple[str, str, Decimal]]:
        """(product group, heading, sum of its rounded lines) in the order printed."""
        out: dict[str, tuple[str, Decimal]] = {}
        for line in self.lines:
            heading, total = out.get(line.product_group, (line.heading, ZERO))
            out[line.product_group] = (heading, total + line.amount)
        return [(g, h, t) for g, (h, t) in out.items()]


def names_in(text: str, names: tuple[str | None, ...] | list[str | None]) -> bool:
    """Whether ``text`` holds one of ``names`` as a word of its own, in any case ("10713 Berlin",
    "Boston, MA 02210, United States"), not inside a longer word: "Berliner Straße 44" does not
    name the city Berlin, "Belgiëlei 12" not the country België, "Brasilia" not Brasil."""
    return any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text, re.IGNORECASE) for n in names if n)


def country_name(code: str) -> str | None:
    """The English name of the ISO 3166 country ``code`` (babel's CLDR data), None if unknown."""
    return Locale("en").territories.get(code)


@cache
def country_names(code: str, seller_country: str | None = None) -> tuple[str, ...]:
    """The names an address may give the country ``code`` in (babel's CLDR data): English, its
    own official languages' ("Deutschland"; "Schweiz", "Suisse", "Svizzera") and the seller's
    country's ("Duitsland", as a Dutch reseller writes it)."""
    languages = ["en", *get_official_languages(code, de_facto=True)]
    if seller_country:
        languages += get_official_languages(seller_country, de_facto=True)
    names = []
    for language in dict.fromkeys(languages):
        try:
            name = Locale.parse(language).territories.get(code)
        except (ValueError, UnknownLocaleError):  # a language CLDR has no locale data for
            continue
        if name and name not in names:
            names.append(name)
    return tuple(names)


def national_vat_note(inv: Invoice) -> str | None:
    """What the invoice says of its VAT in the national currency (``Invoice.national_vat``), as
    the workbook and the PDF print it: the amount, how it was converted and why; None without.
    The amounts read as the document's others do ("EUR 1,197.14", beside the "VAT in EUR"
    total 1,197.14): they read "EUR 1197.14 (USD 1303.08 ...)" under it."""
    n = inv.national_vat
    if n is None:
        return None
    source = f": {n.source}" if n.source else ""
    return (
        f"VAT in {n.currency}: {n.currency} {amount_text(n.amount, n.currency)} ({inv.currency} "
        f"{amount_text(inv.vat_total, inv.currency)} at {n.rate} {n.currency} per {inv.currency}, "
        f"the exchange rate of {n.rate_date.isoformat()}{source}; Art. 230 Directive 2006/112/EC)"
    )


def amount_text(value: Decimal, currency: str) -> str:
    """``1,234.50``: a rounded amount with thousands separators and ``currency``'s decimals, as
    the PDF's and the workbook's amounts and payment lines show it (``-0.00`` never; in SQL:
    ``money.money_grouped_sql``)."""
    return f"{value if value else abs(value):,.{decimal_places(currency)}f}"


def money_text(value: Decimal) -> str:
    """Fixed-point text of a rounded amount (no exponent, ``-0.00`` never)."""
    return f"{value:f}" if value else f"{abs(value):f}"


def vat_per_rate(
    lines: tuple[InvoiceLine, ...] | list[InvoiceLine], currency: str
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, base, VAT) of each VAT rate of ``lines``, highest rate first: the base is the sum
    of that rate's rounded lines, the VAT is rate x base rounded half-up to ``currency``'s minor
    unit. The one derivation of VAT: building an invoice and checking one read back use it."""
    bases: dict[Decimal, Decimal] = {}
    for line in lines:
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + line.amount
    return [
        (rate, base, round_money(base * rate / 100, currency))
        for rate, base in sorted(bases.items(), reverse=True)
    ]


@dataclass(frozen=True)
class Totals:
    """The totals of an invoice, by addition of rounded figures only (the ``Invoice`` fields of
    these names)."""

    net: Decimal
    vat_total: Decimal
    gross: Decimal
    cost: Decimal
    margin: Decimal


#: The totals (``Totals`` fields) with the word ``figure_problems`` names them by.
_TOTAL_LABELS = {
    "net": "net",
    "vat_total": "VAT",
    "gross": "gross",
    "cost": "cost",
    "margin": "margin",
}


def invoice_totals(
    lines: tuple[InvoiceLine, ...] | list[InvoiceLine], vat: tuple[VatLine, ...]
) -> Totals:
    """The totals of an invoice with ``lines`` and ``vat``: net = sum of the lines, VAT = sum of
    the VAT lines, gross = net + VAT, cost = sum of the lines' costs, margin = net - cost."""
    net = sum((ln.amount for ln in lines), ZERO)
    vat_total = sum((v.amount for v in vat), ZERO)
    cost = sum((ln.cost for ln in lines), ZERO)
    return Totals(net, vat_total, net + vat_total, cost, net - cost)


def negated(original: Invoice, number: str, issue_date: date, reason: str | None) -> Invoice:
    """The credit note ``number`` cancelling ``original`` in full: every line, VAT line and total
    negated (no rounding happens, so the cents are exactly the original's with the sign
    changed), dated ``issue_date``, referring to the original's number, with ``reason`` as its
    note, on one line as every document prints it (``clean_text``, whatever path it came by: a
    reason pasted with a line break or a U+FFFE printed differently in each). Supply period,
    parties, VAT treatment and payment terms stay the original's. Due the issue date, unless it
    cancels a credit balance: then the customer pays it back, due after the original's payment
    terms."""
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
    national = original.national_vat
    return replace(
        original,
        number=number,
        kind="credit_note",
        refers_to=original.number,
        refers_to_date=original.issue_date,
        issue_date=issue_date,
        due_date=(
            issue_date + timedelta(days=original.payment_terms_days)
            if original.gross < 0
            else issue_date
        ),
        lines=lines,
        vat=vat,
        net=-original.net,
        vat_total=-original.vat_total,
        gross=-original.gross,
        cost=-original.cost,
        margin=-original.margin,
        note=clean_text(reason),
        # at the original's rate: the credit note cancels the VAT the invoice stated
        national_vat=replace(national, amount=-national.amount) if national else None,
    )


def figure_problems(invoice: Invoice) -> list[str]:
    """Where ``invoice``'s stored figures are not what its own lines give by the rounding rules
    (``vat_per_rate``, ``invoice_totals``); empty when every cent agrees. Used on invoices read
    back from a run folder."""
    cur = invoice.currency
    out = [
        f"line {ln.description!r}: {money_text(ln.amount)} is not {ln.unrounded_amount} rounded"
        for ln in invoice.lines
        if round_money(ln.unrounded_amount, cur) != ln.amount
    ]
    derived = {rate: (base, amount) for rate, base, amount in vat_per_rate(invoice.lines, cur)}
    stored = {v.rate: v for v in invoice.vat}
    if set(stored) != set(derived):
        out.append(f"VAT rates {sorted(stored)} but the lines have {sorted(derived)}")
    for rate, (base, amount) in derived.items():
        v = stored.get(rate)
        if v is not None and (v.base, v.amount) != (base, amount):
            out.append(
                f"VAT {rate} %: base {money_text(v.base)}, VAT {money_text(v.amount)}; the lines "
                f"give base {money_text(base)}, VAT {money_text(amount)}"
            )
    want = invoice_totals(invoice.lines, invoice.vat)
    for name, label in _TOTAL_LABELS.items():
        have, given = getattr(invoice, name), getattr(want, name)
        if have != given:
            out.append(f"{label} {money_text(have)}; the lines give {money_text(given)}")
    national = invoice.national_vat
    if national is not None:
        given = national_vat_amount(invoice.vat_total, national.rate, national.currency)
        if national.amount != given:
            out.append(
                f"VAT in {national.currency} {money_text(national.amount)}; "
                f"{money_text(invoice.vat_total)} at {national.rate} gives {money_text(given)}"
            )
    return out


def payment_terms_text(days: int) -> str:
    """The payment terms as the documents word them: ``due on receipt`` for 0 days (a customer
    read "(0 days)"), ``1 day``, ``30 days``."""
    if days == 0:
        return "due on receipt"
    return f"{days} day" if days == 1 else f"{days} days"


def refers_to_label(inv: Invoice) -> str:
    """How the documents label ``inv.refers_to``: the invoice a credit note cancels ("Corrects
    invoice"), or the credited invoice that an invoice replaces (``billing reissue``)."""
    return "Corrects invoice" if inv.kind == "credit_note" else "Replaces invoice"


def refers_to_text(inv: Invoice) -> str:
    """The invoice ``inv.refers_to`` names, as every document prints it: its number and issue
    date ("NW2026-000002 of 2026-11-01"), as the e-invoice gives both (BT-25, BT-26): numbers
    repeat across years and series, and the customer's books find an invoice by both. The number
    alone for a record written before the date was kept."""
    number = inv.refers_to or ""
    if inv.refers_to_date is None:
        return number
    return f"{number} of {inv.refers_to_date.isoformat()}"
