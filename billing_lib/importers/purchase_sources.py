"""The same Microsoft purchase given in two reports: a partner's invoice reconciliation file and an
Azure cost export both bill the reservations, savings plans and marketplace products a customer
buys through Partner Center, so a month given as both would bill each purchase twice.

``usage_sources`` compares only Usage lines: a partner may bill Azure usage from a cost export
beside the invoice file's licences (whose purchases the cost export does not hold), so Purchase
lines of these formats are not refused as a whole. Purchases found in both are refused instead,
one by one: the same reservation or savings plan order (``CommitmentDiscountId``: the invoice
file's ReservationOrderId, the export's productOrderId or benefitId) in one charge month, or,
where one of the two lines has no order id (a marketplace product), the same customer, charge
month, product (its id or name) and amount. The invoice file names the customer by its tenant,
and so does the partner's (MPA) export; an EA/MCA export and Cost Management's FOCUS export name
the Azure subscription instead, so there the customer is the same when the invoice file's
SubscriptionId is that subscription, or when ``accounts.csv`` maps the invoice file's line and
the export's subscription to one customer, each taken as the run maps it (the line's
subscription's row before its tenant's, on its mapping day: ``customers.customer_joins_sql``).
Two purchases of different orders, products, amounts or customers are both billed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from billing_lib.customers import account_map_table, customer_joins_sql, customer_sql
from billing_lib.errors import InputError, Problem
from billing_lib.importers.spec import spec_named
from billing_lib.sql import ql

if TYPE_CHECKING:  # the parameters' model, imported by the run that passes them
    from billing_lib.customers import AccountMapping

#: The Partner Center invoice reconciliation format.
INVOICE_FILE = "ms_invoice_reconciliation"
#: The Azure cost exports that list a Partner Center customer's purchases again: the partner's
#: (MPA) export, the EA/MCA export and Cost Management's FOCUS export (Microsoft lines).
COST_EXPORTS = ("azure_cost_export_partner", "azure_cost_export", "focus")
#: A commitment's order, lower case: the id after ``reservationOrders/`` or ``savingsPlanOrders/``
#: in a resource id (FOCUS and benefitId give the benefit's full id), else the id itself.
ORDER_SQL = (
    "lower(COALESCE(NULLIF(regexp_extract(CommitmentDiscountId, '(?i)orders/([^/]+)', 1), ''), "
    "NULLIF(trim(CommitmentDiscountId), '')))"
)
#: A product's ids and names, lower case, for the match without an order id: the invoice file
#: names the product in ServiceName (ProductName) and the SKU in ChargeDescription, a cost export
#: the other way round, and both give the product id first in SkuId.
PRODUCT_SQL = (
    "[lower(trim(split_part(SkuId, ':', 1))), lower(trim(ServiceName)), "
    "lower(trim(ChargeDescription))]"
)
#: How the two lines of a purchase without an order id were found to be one customer's, for the
#: message (``_matched`` in the query).
SAME_CUSTOMER = {
    "tenant": "its tenant",
    "subscription": "the invoice file's SubscriptionId is the export's subscription",
    "customer": "accounts.csv maps {key} and the export's subscription to {customer}",
}
#: The way out of the refusal.
ONE_SOURCE = (
    "bill Azure from the invoice file alone (its usage-based rows and purchases), leaving the cost "
    "export out; or keep the export for Azure and delete its rows of chargeType Purchase, or the "
    "invoice file's rows of these purchases (for a reservation or savings plan, those with this "
    "ReservationOrderId), in a text editor (a spreadsheet rewrites their ids)"
)


def vendor_accounts(accounts: Sequence[AccountMapping] | None, vendor: str) -> pa.Table:
    """``vendor``'s rows of ``accounts`` (accounts.csv) as a table of ``account_map``'s columns,
    for a query to take a line's customer as the run does (``customers.customer_joins_sql``: the
    subscription's row before the tenant's, on the line's mapping day). Not ``account_map``
    itself: ``billing import`` checks reports without a run's store."""
    return account_map_table(m for m in accounts or () if m.vendor == vendor)


def check_purchases_from_one_source(
    con: duckdb.DuckDBPyConnection, accounts: Sequence[AccountMapping] | None = None
) -> None:
    """Refuse the store's lines when a Microsoft Purchase line of an invoice reconciliation file
    and one of an Azure cost export bill the same purchase (module docstring), naming both files
    and rows, the purchase and the way out. ``accounts``: accounts.csv's mappings, which tell
    the customer of an export's subscription (none: only the same tenant, or the invoice file's
    SubscriptionId, tells it). Reads nothing unless both kinds of report were imported, and then
    only their Microsoft Purchase lines."""
    formats = {r[0] for r in con.execute("SELECT DISTINCT format FROM imports").fetchall()}
    exports = [f for f in COST_EXPORTS if f in formats]
    if INVOICE_FILE not in formats or not exports:
        return
    con.register("__purchase_accounts", vendor_accounts(accounts, "microsoft"))
    try:
        both = con.execute(
            f"""WITH p AS (
              SELECT l.rowid AS id, x_Format AS format, x_SourceFile AS file, x_SourceRow AS row,
                     SubAccountId AS account, SubAccountName AS name,
                     lower(trim(ResourceId)) AS subscription,
                     strftime(ChargePeriodStart, '%Y-%m') AS month, {ORDER_SQL} AS ord,
                     {PRODUCT_SQL} AS products, BilledCost AS cost, BillingCurrency AS currency,
                     COALESCE(ChargeDescription, ServiceName, SkuId) AS what,
                     {customer_sql()} AS customer,
                     CASE WHEN s.customer_id IS NOT NULL THEN l.x_SubscriptionId END AS mapped_by
              FROM lines l {customer_joins_sql("__purchase_accounts")}
              WHERE x_Format IN ({", ".join(ql(f) for f in [INVOICE_FILE, *exports])})
                AND x_Vendor = 'microsoft' AND ChargeCategory = 'Purchase'),
            pairs AS (
              SELECT e.id, i.id AS invoice_id, e.file, e.row, e.format, i.file AS invoice,
                     i.row AS invoice_row, i.account, i.name, i.month, i.what, i.currency, i.cost,
                     CASE WHEN i.ord = e.ord THEN i.ord END AS ord,
                     CASE WHEN i.ord = e.ord THEN NULL
                          WHEN i.account = e.account THEN 'tenant'
                          WHEN i.subscription = e.account THEN 'subscription'
                          ELSE 'customer' END AS matched,
                     i.customer, i.mapped_by
              FROM p i JOIN p e
                ON i.format = {ql(INVOICE_FILE)} AND e.format <> {ql(INVOICE_FILE)}
               AND i.month = e.month
               AND CASE WHEN i.ord IS NOT NULL AND e.ord IS NOT NULL THEN i.ord = e.ord
                        ELSE i.cost = e.cost AND i.currency = e.currency
                             AND list_has_any(i.products, e.products)
                             AND (i.account = e.account OR i.subscription = e.account
                                  OR i.customer = e.customer)
                   END)
            SELECT file, row, format, invoice, invoice_row, account, name, month, what,
                   currency, cost, ord, matched, customer, mapped_by
            FROM pairs
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY invoice_id) = 1
            ORDER BY id"""
        ).fetchall()
    finally:
        con.unregister("__purchase_accounts")
    if not both:
        return
    problems = [
        Problem(
            file,
            row,
            "CommitmentDiscountId" if order else "BilledCost",
            order or f"{cost.normalize():f}",
            f"a purchase not billed in {invoice} too (it is its row {invoice_row})",
        )
        for file, row, _, invoice, invoice_row, _, _, _, _, _, cost, order, *_ in both
    ]
    (file, row, fmt, invoice, invoice_row, account, name, month, what, currency, cost, order) = (
        both[0][:12]
    )
    how, customer, mapped_by = both[0][12:]
    key = f"the invoice file's subscription {mapped_by}" if mapped_by else "the tenant"
    same = SAME_CUSTOMER[how].format(customer=customer, key=key) if how else ""
    named = f" ({name})" if name and name != account else ""
    matched = (
        f"reservation or savings plan order {order}"
        if order
        else f"the same customer ({same}), product and amount; no order id in one of them"
    )
    more = f" ({len(both)} purchases in all)" if len(both) > 1 else ""
    raise InputError(
        f"{file}: the purchase {what!r} of microsoft account {account}{named} in {month} "
        f"({currency} {cost.normalize():f}, {matched}) comes from both {invoice} row {invoice_row} "
        f"({spec_named(INVOICE_FILE).title}) and {file} row {row} ({spec_named(fmt).title})"
        f"{more}. Both bill it, so it would be billed twice. Give each purchase once: "
        f"{ONE_SOURCE}",
        problems,
    )
