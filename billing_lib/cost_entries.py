"""The purchase entries (journal ``PURCH``): per vendor and vendor currency, the vendor payable
(one posting per vendor invoice, ``vendor_bills``) against the invoices' cost of sales per
product group (``rated_costs``: each invoice line's vendor cost rounded as the invoice rounds
it), the unbilled cost, recoverable input VAT, the prepaid part and the rounding cents
(ledger's docstring has the whole rule)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from billing_lib.customers import Customer
from billing_lib.fx import ExchangeRates
from billing_lib.input_vat import InputVat
from billing_lib.invoicing_parameters import Invoicing
from billing_lib.journal_entries import Entry, NationalRate, Posting, in_national, national_rate
from billing_lib.line_labels import key_columns, line_key_sql
from billing_lib.money import ZERO, round_money, shared_rounding_sql
from billing_lib.periods import month_days
from billing_lib.store import relation_exists, scratch_connection
from billing_lib.vendor_bills import (
    VendorBill,
    bill_sql,
    bills_of,
    has_bills,
    invoiced_formats,
    vendor_bills,
)
from billing_lib.whatif import TERMS_PARQUET


def _groupings(
    invoicing: Invoicing,
    customer_ids: list[str],
    stored: dict[str, tuple[str, ...]] | None = None,
) -> dict[tuple[str, ...], list[str]]:
    """The customers ``customer_ids`` per line_grouping: as ``stored`` (the groupings a run
    folder recorded, ``booked_groupings``) gives it, else customers.yaml's (as the invoices
    group their lines; the default grouping for a customer the parameters do not hold)."""
    default = tuple(Customer.model_fields["line_grouping"].get_default(call_default_factory=True))
    out: dict[tuple[str, ...], list[str]] = {}
    for cid in customer_ids:
        customer = invoicing.customers.get(cid)
        grouping = (stored or {}).get(cid) or (
            tuple(customer.line_grouping) if customer else default
        )
        out.setdefault(tuple(grouping), []).append(cid)
    return out


def booked_groupings(rated: Path, period: str) -> dict[str, tuple[str, ...]]:
    """Each customer's line_grouping of ``period`` as the run (or reissued invoice) whose rated
    lines are ``rated`` grouped its invoices (``what_if_terms.parquet`` beside them, which the
    margin analysis groups each folder by); empty for a folder written before it was kept."""
    path = Path(rated).parent / TERMS_PARQUET
    if not path.is_file():
        return {}
    with scratch_connection() as con:
        rows = con.execute(
            "SELECT customer_id, line_grouping FROM read_parquet(?) "
            "WHERE period = ? AND line_grouping IS NOT NULL",
            [str(path), period],
        ).fetchall()
    return {str(c): tuple(g) for c, g in rows}


def rated_costs(
    con: duckdb.DuckDBPyConnection,
    period: str,
    customer_ids: list[str],
    invoicing: Invoicing,
    stored: dict[str, tuple[str, ...]] | None = None,
) -> list[tuple[str, str, str, Decimal, Decimal, Decimal]]:
    """Per vendor, vendor currency and product group of ``period``'s vendor lines of
    ``customer_ids``: the cost of sales as the invoices round it (the vendor cost of each invoice
    line rounded half-up to the vendor currency's minor unit, then added: the invoices' cost to
    the cent where the invoice is in the vendor's currency), the exact vendor cost and the exact
    BilledCost. Invoice lines as customers.yaml groups them, or as ``stored`` gives a customer's
    grouping (a run folder's, ``booked_groupings``).

    An invoice line of several vendors (a grouping without ``vendor``, a product group they
    share) is rounded once, as the invoice rounds it, and shared among them: each vendor its own
    part rounded, the cent that leaves to the vendor of the largest part
    (``money.shared_rounding_sql``, the margin analysis's rule too). Rounded per vendor, the
    line's cost 1.004 + 1.004 was booked 2.00 against the invoice's 2.01."""
    groupings = _groupings(invoicing, customer_ids, stored)
    keyed = key_columns(groupings)
    # a vendor line's key never reads its description (a fee's would): none, unless grouped by it
    columns = ", ".join(keyed + ([] if "description" in keyed else ["NULL AS description"]))
    credit = "(line_kind = 'vendor' AND COALESCE(charge_category, '') = 'Credit')"
    share = shared_rounding_sql("vendor_cost", "vendor_currency", "line", "vendor")
    return con.execute(
        f"""WITH grouped AS (
              SELECT customer_id, vendor, vendor_currency, product_group, {credit} AS line_credit,
                     {columns}, sum(vendor_cost) AS vendor_cost, sum(billed_cost) AS billed_cost
              FROM rated_lines
              WHERE period = ? AND line_kind = 'vendor' AND list_contains(?, customer_id)
              GROUP BY ALL),
            parts AS (
              SELECT customer_id, vendor, vendor_currency, product_group, line_credit, line_key,
                     sum(vendor_cost) AS vendor_cost, sum(billed_cost) AS billed_cost
              FROM (SELECT *, {line_key_sql(groupings)} AS line_key FROM grouped)
              GROUP BY customer_id, vendor, vendor_currency, product_group, line_credit,
                       line_key),
            shared AS (
              SELECT *, {share} AS cost_of_sales
              FROM parts
              WINDOW line AS (PARTITION BY customer_id, vendor_currency, product_group,
                                           line_credit, line_key))
           SELECT vendor, vendor_currency, product_group, sum(cost_of_sales), sum(vendor_cost),
                  sum(billed_cost)
           FROM shared GROUP BY ALL ORDER BY ALL""",
        [period, customer_ids],
    ).fetchall()


def purchase_entries(
    con: duckdb.DuckDBPyConnection,
    period: str,
    customer_ids: list[str],
    invoicing: Invoicing,
    rates: ExchangeRates | None = None,
) -> list[Entry]:
    """One entry per vendor and vendor currency for the month (see the module docstring), in the
    national currency too at ``rates``' rate of the period's last day (``national_rate``)."""
    products = invoicing.products
    _, last = month_days(period)
    national = invoicing.national_currency_on(last)
    rated = rated_costs(con, period, customer_ids, invoicing)
    other = unbilled_lines(con, invoicing)
    found = vendor_bills(con)
    keys = sorted({(v, c) for v, c, *_ in rated} | {(v, c) for v, c, *_ in other})
    entries = []
    for vendor, currency in keys:
        vendor_name = products.vendors[vendor].name
        mine = [r for r in rated if (r[0], r[1]) == (vendor, currency)]
        billed = sum((r[5] for r in mine), ZERO)
        billed += sum((r[-1] for r in other if (r[0], r[1]) == (vendor, currency)), ZERO)
        postings = [
            Posting(
                products.product_groups[group].cost_account,
                round_money(rounded, currency),  # already rounded: its exponent only
                currency,
                f"Cost of sales {products.product_groups[group].heading} {period}",
            )
            for _, _, group, rounded, _, _ in mine
        ]
        postings += [
            Posting(
                products.unbilled_cost_account,
                round_money(cost, currency),
                currency,
                f"{vendor_name} {what} {period}",
            )
            for v, c, what, input_vat, _, _, cost in other
            if (v, c) == (vendor, currency) and not input_vat
        ]
        postings += input_vat_postings(other, vendor, currency, invoicing, period)
        # what the vendor bills for the month's lines beyond their cost: amortised commitments
        commitments = sum((r[5] - r[4] for r in mine), ZERO)
        postings.append(
            Posting(
                products.prepaid_account,
                round_money(commitments, currency),
                currency,
                f"{vendor_name} billed minus cost of the month (commitments) {period}",
            )
        )
        # the vendor's invoices, each rounded once as the vendor rounds it (vendor_bills)
        bills = bills_of(found, vendor, currency, billed, period)
        payable = sum((b.payable for b in bills), ZERO)
        postings.append(
            Posting(
                products.rounding_account,
                payable - sum((p.amount for p in postings), ZERO),
                currency,
                f"{vendor_name} rounding differences {period} (cost rounded per invoice line)",
            )
        )
        account = products.vendors[vendor].payable_account
        postings += [
            Posting(account, -b.payable, currency, b.text(vendor_name, period)) for b in bills
        ]
        entries += purchase_entry(
            last,
            f"COST-{period}-{vendor}-{currency}",
            vendor_name,
            f"{vendor_name} vendor report {period} ({currency})",
            postings,
            national_rate(currency, national, last, rates),
            products.rounding_account,
        )
    return entries


def input_vat_postings(
    other: list[tuple[str, str, str, bool, str | None, str | None, Decimal]],
    vendor: str,
    currency: str,
    invoicing: Invoicing,
    period: str,
) -> list[Posting]:
    """The recoverable VAT ``vendor`` charges in ``currency`` among ``other``
    (``unbilled_lines``): one posting per vendor bill, rounded once as the bill states it
    (rounded once over the month, two invoices' 1.004 each were deducted as 2.01 against the
    invoices' 1.00 + 1.00)."""
    bills: dict[tuple[str | None, str | None], Decimal] = {}
    for v, c, _, vat, account, invoice, billed in other:
        if (v, c) == (vendor, currency) and vat:
            bills[account, invoice] = bills.get((account, invoice), ZERO) + billed
    meta = invoicing.products.vendors[vendor]
    return [
        Posting(
            str(meta.input_vat_account),
            round_money(billed, currency),
            currency,
            VendorBill(currency, account, invoice, billed).vat_text(meta.name, period),
            meta.input_vat_code,
        )
        for (account, invoice), billed in sorted(bills.items(), key=lambda b: _bill_order(b[0]))
    ]


def _bill_order(key: tuple[str | None, str | None]) -> tuple[str, str, str, str]:
    """Bills in billing account and invoice order, those without either last (as SQL sorts)."""
    account, invoice = key
    return (
        "1" if account is None else "0",
        account or "",
        "1" if invoice is None else "0",
        invoice or "",
    )


def purchase_entry(
    day: date,
    reference: str,
    vendor_name: str,
    narration: str,
    postings: list[Posting],
    rate: NationalRate | None,
    rounding_account: str,
) -> list[Entry]:
    """The ``PURCH`` entry of ``postings`` but those of 0 (none when every one is 0): a
    vendor's cost of a month, or what a reissue moves of it; in the national currency at
    ``rate`` (``in_national``)."""
    kept = tuple(p for p in postings if p.amount)
    if not kept:
        return []
    entry = Entry(day, "PURCH", reference, vendor_name, narration, kept)
    return [in_national(entry, rate, rounding_account)]


def unbilled_lines(
    con: duckdb.DuckDBPyConnection, invoicing: Invoicing
) -> list[tuple[str, str, str, bool, str | None, str | None, Decimal]]:
    """The vendor lines of the run that no invoice bills (``excluded_lines``, ``unmapped_lines``)
    per vendor, vendor currency and what they are (not billed to customers, vendor tax,
    unmapped accounts): whether they are the vendor's recoverable input VAT (its Tax lines, the
    vendor with an ``input_vat_account`` in products.yaml, of an issuer it lists in
    ``input_vat_issuers`` if it lists any: ``InputVat``; booked there, not as cost), the
    vendor bill that charges such VAT (billing account and invoice id, ``vendor_bills``; None
    for other lines, and for tables without those columns) and their BilledCost, exact."""
    recoverable = InputVat.of(invoicing)
    out: list[tuple[str, str, str, bool, str | None, str | None, Decimal]] = []
    for table, what, vat in (
        (
            "excluded_lines",
            "CASE WHEN reason = 'vendor tax' THEN 'vendor tax' ELSE 'not billed to customers' END",
            "reason = 'vendor tax'",
        ),
        ("unmapped_lines", "'unmapped accounts'", "COALESCE(ChargeCategory = 'Tax', false)"),
    ):
        if not relation_exists(con, table):
            continue
        billed = has_bills(con, table)
        account, invoice = bill_sql("$1") if billed else ("NULL", "NULL")
        params: list[object] = [invoiced_formats()] if billed else []
        out += con.execute(
            f"""SELECT x_Vendor, BillingCurrency, what, input_vat,
                       CASE WHEN input_vat THEN bill_account END,
                       CASE WHEN input_vat THEN bill_invoice END, sum(BilledCost)
                FROM (SELECT x_Vendor, BillingCurrency, BilledCost, {what} AS what,
                             {vat} AND {recoverable.sql(len(params) + 1)} AS input_vat,
                             {account} AS bill_account, {invoice} AS bill_invoice
                      FROM {table})
                GROUP BY ALL ORDER BY ALL""",
            [*params, *recoverable.params()],
        ).fetchall()
    return out
