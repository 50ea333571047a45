"""The same usage given in two report formats: a vendor's usage of one account and month comes
from one kind of report, or it is billed twice.

A vendor details the same usage in several layouts that share no line id: Microsoft's invoice
reconciliation file lists the Azure plan's billed usage per meter, the daily rated usage file the
same charges per day and resource, and an Azure cost export (partner) the same again; AWS writes
a CUR 2.0, a legacy CUR and a FOCUS export of one payer; VMware's Usage Meter exports one month
with its price (``vmware_usage_meter``) or without (``vmware_usage_meter_report``), and Cloud
Partner Navigator the same usage again, keyed by the Org Id where Usage Meter names the customer
label (compared by the customer ``accounts.csv`` maps both to). Rows of two
layouts cannot be matched one to one, so the import refuses the month's Usage lines of one vendor
account, or of one Azure subscription, coming from more than one format, naming both files
(Microsoft keys the same usage by the customer's tenant in one layout and by the subscription in
another: Partner Center's files against FOCUS). The invoice file's Azure plan rows name no Azure
subscription at all: they are compared with a FOCUS or EA/MCA export's by the customer
``accounts.csv`` maps the tenant and the subscription to. Purchases (licences in the invoice
file beside Azure usage in the daily file), credits, taxes and adjustments are not compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import duckdb

from billing_lib.customers import customer_joins_sql, customer_sql, mapped_on_day_sql
from billing_lib.errors import InputError, Problem
from billing_lib.importers.purchase_sources import INVOICE_FILE, vendor_accounts
from billing_lib.importers.spec import spec_named
from billing_lib.sql import ql

if TYPE_CHECKING:  # the parameters' model, imported by the run that passes them
    from billing_lib.customers import AccountMapping

#: What a vendor's usage may come from, for the way out of the message.
ONE_SOURCE = {
    "microsoft": (
        "the daily rated usage file, the invoice reconciliation file's usage-based (Azure plan) "
        "rows, an Azure cost export or a FOCUS export. To bill Azure from the daily file beside "
        "the invoice file's licences, delete the invoice file's usage-based rows (those with a "
        "MeterDescription) in a text editor (a spreadsheet rewrites its ids); or leave the daily "
        "file out: the invoice file's rows bill the same usage per meter"
    ),
    "aws": "the CUR 2.0, the legacy CUR or the FOCUS export of the payer, not two of them",
    "vmware": (
        "the Usage Meter report with its price (vmware_usage_meter) or the one priced from "
        "vendor_prices.yaml (vmware_usage_meter_report), or the Cloud Partner Navigator or "
        "billing usage export, or the Cloud Services Console's Hourly Usage Report, not two of "
        "them"
    ),
}


def _vendor_formats(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Vendor -> the formats of the store's reports that may hold its lines, for the vendors with
    more than one. A format's vendor is its fixed ``x_Vendor``; a format computing it (FOCUS:
    from ProviderName) is asked for the vendors of its lines, which reads only its own row groups
    (DuckDB skips the others by their min/max of ``x_Format``)."""
    formats = [r[0] for r in con.execute("SELECT DISTINCT format FROM imports").fetchall()]
    if len(formats) < 2:
        return {}
    by_vendor: dict[str, list[str]] = {}
    for name in sorted(formats):
        fixed = spec_named(name).column_map("x_Vendor").value
        vendors = (
            [fixed]
            if fixed is not None
            else [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT x_Vendor FROM lines WHERE x_Format = ?", [name]
                ).fetchall()
            ]
        )
        for vendor in vendors:
            by_vendor.setdefault(vendor, []).append(name)
    return {v: f for v, f in by_vendor.items() if len(f) > 1}


#: SQL of a line's Azure subscription (lower case), where its layout carries one: the
#: ``/subscriptions/<id>`` a ResourceId starts with (the daily rated usage file's ResourceURI, under
#: its EntitlementId; an Azure cost export's ResourceId), else the one a FOCUS export's SubAccountId
#: is; NULL otherwise.
SUBSCRIPTION_SQL = """CASE
    WHEN ResourceId ILIKE '/subscriptions/%' THEN lower(split_part(ResourceId, '/', 3))
    WHEN SubAccountId ILIKE '/subscriptions/%' THEN lower(split_part(SubAccountId, '/', 3))
  END"""
#: The column ``SUBSCRIPTION_SQL`` took a line's subscription from.
SUBSCRIPTION_COLUMN_SQL = (
    "CASE WHEN ResourceId ILIKE '/subscriptions/%' THEN 'ResourceId' ELSE 'SubAccountId' END"
)


#: The formats keying Microsoft usage by the Azure subscription alone, with no tenant: Cost
#: Management's FOCUS export and the EA/MCA cost export.
BY_SUBSCRIPTION = ("focus", "azure_cost_export")


def check_usage_from_one_format(
    con: duckdb.DuckDBPyConnection, accounts: Sequence[AccountMapping] | None = None
) -> None:
    """Refuse the store's lines when the Usage of one vendor account (``x_Vendor`` +
    ``SubAccountId``) or of one Azure subscription (``SUBSCRIPTION_SQL``) in one charge month
    comes from more than one report format, naming the account or subscription, the month and
    the first file of each format. The subscription because Microsoft's layouts key the same
    usage by the customer's tenant (Partner Center files, the partner's cost export) or by the
    subscription (FOCUS, the EA/MCA cost export): compared by account alone, an Azure month given
    as a FOCUS export and as the daily file is billed twice. Runs once the reports of an import
    are in ``lines``; reads nothing when no two formats of one vendor were imported (the common
    case), and otherwise only the lines of those formats, summed per account or subscription,
    month and format in one scan (grouping sets). ``accounts`` (accounts.csv's mappings) tell
    the customer of the invoice file's Azure plan rows, which name no subscription, and of a
    FOCUS or EA/MCA export's subscriptions, which name no tenant (``_check_customer_usage``)."""
    shared = _vendor_formats(con)
    if not shared:
        return
    where = " OR ".join(
        f"(x_Vendor = {ql(v)} AND x_Format IN ({', '.join(ql(f) for f in fs)}))"
        for v, fs in sorted(shared.items())
    )
    found = con.execute(
        f"""WITH u AS (
              SELECT x_Vendor AS vendor, SubAccountId AS account,
                     {SUBSCRIPTION_SQL} AS subscription,
                     strftime(ChargePeriodStart, '%Y-%m') AS month, x_Format AS format,
                     any_value(SubAccountName) AS name, min(rowid) AS first, count(*) AS n,
                     arg_min(x_SourceFile, rowid) AS file, arg_min(x_SourceRow, rowid) AS row,
                     arg_min({SUBSCRIPTION_COLUMN_SQL}, rowid) AS source_column,
                     grouping(account) = 1 AS by_subscription
              FROM lines WHERE ChargeCategory = 'Usage' AND ({where})
              GROUP BY GROUPING SETS ((vendor, account, month, format),
                                      (vendor, subscription, month, format))),
            k AS (
              SELECT *, CASE WHEN by_subscription THEN subscription ELSE account END AS key
              FROM u)
            SELECT by_subscription, vendor, key, max(name), month,
                   list((format, file, row, n, source_column) ORDER BY first)
            FROM k WHERE key IS NOT NULL
            GROUP BY by_subscription, vendor, key, month HAVING count(*) > 1
            ORDER BY by_subscription, min(first), vendor, key, month"""
    ).fetchall()
    if not found:
        if INVOICE_FILE in shared.get("microsoft", ()):
            _check_customer_usage(con, accounts)
        if "vmware" in shared:
            _check_vmware_customer_usage(con, accounts, shared["vmware"])
        return
    # an account's clash says it all; a subscription's only where no account clashes
    by_subscription = found[0][0]
    clashes = [c[1:] for c in found if c[0] == by_subscription]
    what = "Azure subscription" if by_subscription else "account"
    problems = [
        Problem(
            file,
            row,
            column if by_subscription else "SubAccountId",
            key,
            f"the Usage of {vendor} {what} {key} in {month} from one report format "
            f"(it is in {sources[0][1]} too, as {spec_named(sources[0][0]).title})",
        )
        for vendor, key, _, month, sources in clashes
        for _, file, row, _, column in sources[1:]
    ]
    vendor, key, name, month, sources = clashes[0]
    named = f" ({name})" if name and name != key else ""
    given = " and ".join(
        f"{file} ({spec_named(fmt).title}, {n} Usage lines)" for fmt, file, _, n, _ in sources
    )
    more = f" ({len(clashes)} {what}s and months in all)" if len(clashes) > 1 else ""
    keyed = (
        " (one layout keys it by the customer's tenant, the other by the subscription)"
        if by_subscription
        else ""
    )
    raise InputError(
        f"{sources[-1][1]}: the Usage of {vendor} {what} {key}{named} in {month} comes from "
        f"more than one report format: {given}{more}. They detail the same usage in layouts that "
        f"share no line id{keyed}, so it would be billed twice. Give one source of it: "
        f"{ONE_SOURCE.get(vendor, 'one report format')}",
        problems,
    )


def _check_customer_usage(
    con: duckdb.DuckDBPyConnection, accounts: Sequence[AccountMapping] | None
) -> None:
    """Refuse the invoice file's Azure plan Usage of a customer and month beside a FOCUS or
    EA/MCA export's Usage of that customer and month: the invoice file keys its rows by the
    customer's tenant and names no Azure subscription, the exports key theirs by the
    subscription and name no tenant, so no account or subscription of the two ever matched and
    the month's Azure usage was billed from both. The customer is the one ``accounts`` map the
    line to as the run does (``customers.customer_joins_sql``: the row of the subscription it
    names, the invoice file's Azure plan, before its tenant's or its own account's, on its
    mapping day), else the row of the bare Azure subscription a FOCUS export's SubAccountId
    names; without accounts.csv nothing tells it. The tenant's row alone missed the same usage
    billed twice to the customer an Azure plan's row gives it to, and refused two customers'."""
    if not any(m.vendor == "microsoft" for m in accounts or ()):
        return
    formats = (INVOICE_FILE, *BY_SUBSCRIPTION)
    con.register("__usage_accounts", vendor_accounts(accounts, "microsoft"))
    try:
        found = con.execute(
            f"""WITH u AS (
                  SELECT l.rowid AS id, x_Format AS format, x_SourceFile AS file,
                         x_SourceRow AS row, SubAccountId AS account,
                         {SUBSCRIPTION_SQL} AS subscription,
                         strftime(ChargePeriodStart, '%Y-%m') AS month,
                         COALESCE({customer_sql()}, b.customer_id) AS customer
                  FROM lines l {customer_joins_sql("__usage_accounts")}
                  LEFT JOIN __usage_accounts b
                    ON b.vendor = l.x_Vendor AND b.account_id = {SUBSCRIPTION_SQL}
                   AND {mapped_on_day_sql("b")}
                  WHERE x_Vendor = 'microsoft' AND ChargeCategory = 'Usage'
                    AND x_Format IN ({", ".join(ql(f) for f in formats)})
                    AND COALESCE({customer_sql()}, b.customer_id) IS NOT NULL),
                f AS (
                  SELECT customer, month, format, min(id) AS first, count(*) AS n,
                         arg_min(file, id) AS file, arg_min(row, id) AS row,
                         arg_min(account, id) AS account,
                         arg_min(COALESCE(subscription, account), id) AS subscription
                  FROM u GROUP BY customer, month, format)
                SELECT customer, month,
                       list((format, file, row, n, account, subscription) ORDER BY first)
                FROM f GROUP BY customer, month
                HAVING bool_or(format = {ql(INVOICE_FILE)})
                   AND bool_or(format <> {ql(INVOICE_FILE)})
                ORDER BY min(first), customer, month"""
        ).fetchall()
    finally:
        con.unregister("__usage_accounts")
    if not found:
        return

    def keyed(fmt: str, account: str, subscription: str) -> str:
        return f"tenant {account}" if fmt == INVOICE_FILE else f"Azure subscription {subscription}"

    problems = [
        Problem(
            file,
            row,
            "SubAccountId",
            account,
            f"the Usage of microsoft customer {customer} in {month} from one report format "
            f"(it is in {sources[0][1]} too, as {spec_named(sources[0][0]).title}, "
            f"{keyed(sources[0][0], sources[0][4], sources[0][5])})",
        )
        for customer, month, sources in found
        for _, file, row, _, account, _ in sources[1:]
    ]
    customer, month, sources = found[0]
    given = " and ".join(
        f"{file} ({spec_named(fmt).title}, {n} Usage lines of {keyed(fmt, account, sub)})"
        for fmt, file, _, n, account, sub in sources
    )
    more = f" ({len(found)} customers and months in all)" if len(found) > 1 else ""
    raise InputError(
        f"{sources[-1][1]}: the Usage of microsoft customer {customer} in {month} comes from "
        f"more than one report format: {given}{more}. accounts.csv maps both to {customer}: the "
        "invoice file's Azure plan rows name the customer's tenant and no Azure subscription, the "
        "export names the subscription and no tenant, so they detail the same usage in layouts "
        "that share no line id and it would be billed twice. Give one source of it: "
        f"{ONE_SOURCE['microsoft']}",
        problems,
    )


def _check_vmware_customer_usage(
    con: duckdb.DuckDBPyConnection,
    accounts: Sequence[AccountMapping] | None,
    formats: Sequence[str],
) -> None:
    """Refuse a VMware customer's Usage of one month coming from more than one report format
    under different accounts: Usage Meter's reports key a customer by its label, Cloud Partner
    Navigator's billing API by its Org Id, so no account of the two ever matched and a month
    given as both was billed twice. The customer is the one ``accounts`` map each line to as the
    run does (``customers.customer_joins_sql``); without accounts.csv nothing tells it."""
    if not any(m.vendor == "vmware" for m in accounts or ()):
        return
    con.register("__usage_accounts", vendor_accounts(accounts, "vmware"))
    try:
        found = con.execute(
            f"""WITH u AS (
                  SELECT l.rowid AS id, x_Format AS format, x_SourceFile AS file,
                         x_SourceRow AS row, SubAccountId AS account,
                         strftime(ChargePeriodStart, '%Y-%m') AS month,
                         {customer_sql()} AS customer,
                         list_value(min(l.rowid) OVER (PARTITION BY x_SourceFile), x_SourceRow)
                           AS place
                  FROM lines l {customer_joins_sql("__usage_accounts")}
                  WHERE x_Vendor = 'vmware' AND ChargeCategory = 'Usage'
                    AND x_Format IN ({", ".join(ql(f) for f in formats)})
                    AND {customer_sql()} IS NOT NULL),
                f AS (
                  SELECT customer, month, format, min(id) AS first, count(*) AS n,
                         arg_min(file, place) AS file, arg_min(row, place) AS row,
                         arg_min(account, place) AS account
                  FROM u GROUP BY customer, month, format)
                SELECT customer, month, list((format, file, row, n, account) ORDER BY first)
                FROM f GROUP BY customer, month HAVING count(*) > 1
                ORDER BY min(first), customer, month"""
        ).fetchall()
    finally:
        con.unregister("__usage_accounts")
    if not found:
        return
    problems = [
        Problem(
            file,
            row,
            "SubAccountId",
            account,
            f"the Usage of vmware customer {customer} in {month} from one report format (it is "
            f"in {sources[0][1]} too, as {spec_named(sources[0][0]).title}, account "
            f"{sources[0][4]})",
        )
        for customer, month, sources in found
        for _, file, row, _, account in sources[1:]
    ]
    customer, month, sources = found[0]
    given = " and ".join(
        f"{file} ({spec_named(fmt).title}, {n} Usage lines of account {account})"
        for fmt, file, _, n, account in sources
    )
    more = f" ({len(found)} customers and months in all)" if len(found) > 1 else ""
    raise InputError(
        f"{sources[-1][1]}: the Usage of vmware customer {customer} in {month} comes from more "
        f"than one report format: {given}{more}. accounts.csv maps both accounts to {customer}: "
        "Usage Meter names the customer by its label, Cloud Partner Navigator by its Org Id, so "
        "they detail the same usage in layouts that share no line id and it would be billed "
        f"twice. Give one source of it: {ONE_SOURCE['vmware']}",
        problems,
    )
