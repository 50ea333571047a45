"""What stops invoicing a month, each naming the file and the entry, collected so one run shows
them all (``invoicing_problems``): rated lines of a product group products.yaml does not know (and
where the group was set), a customer without address, VAT rule or the parties an e-invoice needs,
a national VAT without its exchange rate, a vendor products.yaml does not name; checked before a
number is planned or a file is written."""

from __future__ import annotations

from datetime import date

import duckdb

from billing_lib.customers import STUB_ADDRESS, Customer
from billing_lib.e_invoice_parties import buyer_problems
from billing_lib.entry_lines import where
from billing_lib.errors import ParameterError
from billing_lib.fx import ExchangeRates
from billing_lib.invoicing_parameters import (
    PRODUCTS_FILE,
    Invoicing,
)
from billing_lib.periods import month_days
from billing_lib.pricing import CUSTOM_FILE, PLANS_FILE
from billing_lib.store import relation_exists
from billing_lib.vat import CUSTOMERS_FILE


def invoicing_problems(
    con: duckdb.DuckDBPyConnection,
    period: str,
    customers: dict[str, Customer],
    invoicing: Invoicing,
    rates: ExchangeRates | None,
) -> list[str]:
    """Everything that stops invoicing ``period``, each naming the file and entry (collected, so
    one run shows them all)."""
    return [
        *_product_group_problems(con, period, invoicing),
        *_customer_problems(con, period, customers, invoicing, rates),
        *_vendor_problems(con, period, invoicing),
    ]


def _product_group_problems(
    con: duckdb.DuckDBPyConnection, period: str, invoicing: Invoicing
) -> list[str]:
    """Rated lines of a product group that products.yaml does not know, each naming where the
    group was set (``_group_sources``): a typo in a rule's or a custom line's product_group was
    named in products.yaml only."""
    groups = invoicing.products.product_groups
    return [
        f"{invoicing.folder / PRODUCTS_FILE}, product_groups: no entry {group!r} (heading, revenue "
        f"and cost account) for {count} rated lines, e.g. of customer {customer}; known: "
        f"{sorted(groups)}; {_group_sources(invoicing, group, sources)}"
        for group, count, customer, sources in con.execute(
            "SELECT product_group, count(*), min(customer_id), "
            "list(DISTINCT {'kind': line_kind, 'plan': plan_id, 'rule': rule_id, "
            "'own': product_group = vendor}) FROM rated_lines WHERE period = ? "
            "GROUP BY ALL ORDER BY 1 NULLS FIRST",
            [period],
        ).fetchall()
        if group not in groups
    ]


#: Most entries ``_group_sources`` names for one product group.
GROUP_SOURCES_SHOWN = 3


def _group_sources(invoicing: Invoicing, group: str | None, sources: list[dict]) -> str:
    """Where the rated lines got the product group ``group``: a rule's or a custom line's
    ``product_group``, or the vendor's own group (a vendor line whose rule sets none)."""
    plans, custom = invoicing.folder / PLANS_FILE, invoicing.folder / CUSTOM_FILE
    named = []
    for s in sorted(sources, key=lambda s: (str(s["plan"]), str(s["rule"]), str(s["kind"]))):
        rule = f"{plans}, plans[id={s['plan']}].rules[id={s['rule']}]"
        if s["kind"] == "vendor" and s["own"]:
            named.append(f"the vendor {group!r} ({rule} sets no product_group)")
        elif s["kind"] in ("vendor", "minimum", "percent_fee", "allowance", "seat_fee"):
            named.append(f"{rule}.product_group")
        else:
            named.append(f"{custom}, custom_lines[id={s['rule']}].product_group")
    unique = list(dict.fromkeys(named))
    more = len(unique) - GROUP_SOURCES_SHOWN
    return f"from {', '.join(unique[:GROUP_SOURCES_SHOWN])}" + (
        f" and {more} more" if more > 0 else ""
    )


def _customer_problems(
    con: duckdb.DuckDBPyConnection,
    period: str,
    customers: dict[str, Customer],
    invoicing: Invoicing,
    rates: ExchangeRates | None,
) -> list[str]:
    """Rated lines of customers that are unknown, unpriced, in another currency than the
    customer's invoices, or of a customer without name, address or VAT rule."""
    out: list[str] = []
    for customer_id, currencies, nulls in con.execute(
        "SELECT customer_id, list(DISTINCT currency ORDER BY currency), "
        "count(*) FILTER (WHERE amount IS NULL) "
        "FROM rated_lines WHERE period = ? GROUP BY ALL ORDER BY 1 NULLS FIRST",
        [period],
    ).fetchall():
        customer = customers.get(customer_id) if customer_id is not None else None
        if customer is None:  # (an entry is named only for a problem: it reads the file)
            out.append(
                f"{_named(invoicing, customer_id)}: rated lines for a customer that is not in "
                "customers.yaml"
            )
            continue
        if nulls:
            out.append(
                f"rated_lines of {customer_id}: {nulls} lines without an amount (rating left "
                "them unpriced)"
            )
        if currencies != [customer.invoice_currency]:
            out.append(
                f"{_named(invoicing, customer_id, '.invoice_currency')}: is "
                f"{customer.invoice_currency} but its rated lines are in {currencies}"
            )
        out += _party_problems(customer, invoicing)
        out += _national_vat_problems(customer, invoicing, rates, month_days(period)[1])
    return out


def _national_vat_problems(
    customer: Customer, invoicing: Invoicing, rates: ExchangeRates | None, day: date
) -> list[str]:
    """A VAT-bearing invoice in another currency than the national one without the exchange
    rate its VAT is stated in the national currency at (``_national_vat``)."""
    national = invoicing.national_currency_on(day)
    try:
        rule = invoicing.vat.rule_for(customer, invoicing.seller.country, day=day)
    except ParameterError:
        return []  # named by _party_problems
    if rule.rate <= 0 or customer.invoice_currency == national:
        return []
    why = "; no exchange rates were given"
    if rates is not None:
        try:
            rates.rate(customer.invoice_currency, national, day)
            return []
        except ParameterError as exc:
            why = f": {exc}"
    return [  # (the customer's entry named only now: naming it reads the file)
        f"{_named(invoicing, customer.id)}: an invoice in {customer.invoice_currency} with "
        f"{rule.label} states its VAT in {national} too (Art. 230 Directive 2006/112/EC), at the "
        f"rate of {day.isoformat()}{why}"
    ]


def _named(invoicing: Invoicing, customer_id: object, key: str = "") -> str:
    """``<parameters>/customers.yaml, line 17, entry customers[id=C001].address``: an entry of
    the customers.yaml the run read (the parameters folder's), named as its ParameterErrors name
    one, with its line where the file holds it (``entry_lines``)."""
    path = invoicing.folder / CUSTOMERS_FILE
    return f"{path}, {where(path, f'customers[id={customer_id}]{key}')}"


def _party_problems(customer: Customer, invoicing: Invoicing) -> list[str]:
    """What an invoice to ``customer`` lacks: a name, an address, a VAT rule that applies, what
    the Peppol rules want of its e-invoice (``e_invoice_parties``)."""
    out = []
    if not customer.name.strip():
        out.append(
            f"{_named(invoicing, customer.id, '.name')}: an invoice needs the customer's name"
        )
    if not [a for a in customer.address if a.strip()]:
        out.append(
            f"{_named(invoicing, customer.id, '.address')}: an invoice needs the customer's address"
        )
    elif STUB_ADDRESS in customer.address:
        out.append(
            f"{_named(invoicing, customer.id, '.address')}: still {STUB_ADDRESS!r}, as billing "
            "customers sync proposed the customer; complete its address, country, VAT number, "
            "invoice currency and group before it is invoiced"
        )
    path = invoicing.folder / CUSTOMERS_FILE
    try:  # the file read, not a bare customers.yaml: its ParameterError names the line
        invoicing.vat.rule_for(customer, invoicing.seller.country, source=str(path))
    except ParameterError as exc:
        out.append(str(exc))
    # the UBL's Peppol rules: keys left out, so without a line
    out += buyer_problems(
        customer, f"{path}, entry customers[id={customer.id}]", invoicing.seller.country
    )
    return out


def _vendor_problems(
    con: duckdb.DuckDBPyConnection, period: str, invoicing: Invoicing
) -> list[str]:
    """Vendor costs of a vendor that products.yaml gives no payable account: of rated lines, and
    of lines not billed to a customer (excluded, unmapped), which the ledger books as the
    vendor's bill all the same (``cost_entries.purchase_entries``)."""
    counts = [
        (vendor, "rated lines with a vendor cost", count)
        for vendor, count in con.execute(
            "SELECT vendor, count(*) FROM rated_lines WHERE period = ? AND line_kind = 'vendor' "
            "AND (vendor_cost <> 0 OR billed_cost <> 0) GROUP BY ALL ORDER BY 1",
            [period],
        ).fetchall()
    ]
    for table, what in (("excluded_lines", "excluded"), ("unmapped_lines", "unmapped")):
        if relation_exists(con, table):
            counts += [
                (vendor, f"{what} lines with a vendor cost (booked as not billed)", count)
                for vendor, count in con.execute(
                    f"SELECT x_Vendor, count(*) FROM {table} WHERE BilledCost <> 0 "
                    "GROUP BY ALL ORDER BY 1"
                ).fetchall()
            ]
    return [
        f"{invoicing.folder / PRODUCTS_FILE}, vendors: no entry {vendor!r} (payable account) for "
        f"{count} {what}"
        for vendor, what, count in counts
        if vendor not in invoicing.products.vendors
    ]
