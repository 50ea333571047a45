"""The margin analysis's figures as the invoices state them: each invoice line's revenue and cost
rounded once, in its currency, half-up (docs/rounding.md), then shared among the vendors and
services it holds (``money.shared_rounding_sql``, the rule of the ledger's cost of sales).

A summary of rated lines summed unrounded and rounded once when shown differs from the invoices
by up to half a cent per invoice line (C002's sample month: 5701.30 shown, 5701.29 invoiced), and
a margin of two sums rounded apart is not always the shown revenue less the shown cost. Here
every row is in the minor unit, so any total of rows is: per customer and month the invoices'
net and cost, per vendor and product group the journal's cost of sales (where the vendor bills
in the invoice's currency), and every margin revenue less cost exactly.

An invoice line is the rated lines of one set of invoices (a run's, a reissued one's), customer,
product group, ``line_key`` and ``line_credit`` (``line_labels``), keyed by the customer's
``line_grouping`` as the run stored it (``whatif.TERMS_PARQUET``). DuckDB does it all: one
grouped pass over the rated lines, then windows over their parts (a few per invoice line).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from billing_lib.charts import service_sql
from billing_lib.customers import Customer
from billing_lib.line_labels import line_key_sql
from billing_lib.money import shared_rounding_sql
from billing_lib.rating import DEC
from billing_lib.sql import ql
from billing_lib.whatif import LINE_CREDIT

#: The summary's grain (``analysis.SUMMARY_KEYS``).
KEYS = ("period", "customer_id", "currency", "vendor", "product_group", "service")
#: The keys of one invoice line (a set of invoices' one customer: its currency is the invoice's).
LINE = (
    "_invoices",
    "period",
    "customer_id",
    "currency",
    "product_group",
    "line_credit",
    "line_key",
)
#: The grouping the invoices use for a customer without one (``customers.Customer``'s default).
DEFAULT_GROUPING = tuple(
    Customer.model_fields["line_grouping"].get_default(call_default_factory=True)
)


@dataclass(frozen=True)
class Invoiced:
    """Rated lines billed on one set of invoices: ``sql`` (a query of rated_lines columns),
    ``name`` telling its invoices apart from the month's others (a reissued invoice's lines are
    never one line with the run's), and each customer's ``line_grouping`` as the run that
    invoiced them stored it (``default`` for a customer it has none of)."""

    sql: str
    name: str
    groupings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default: tuple[str, ...] = DEFAULT_GROUPING


def _needs(grouping: tuple[str, ...], column: str) -> bool:
    """Whether ``line_labels``' key of ``grouping`` reads ``column`` of a vendor line."""
    if column == "tags":
        return any(k.startswith("tag:") for k in grouping)
    if column == "description":
        return not grouping
    return column in grouping


def summary_sql(parts: list[Invoiced]) -> str:
    """SQL of the revenue (``amount``) and ``cost`` per ``KEYS`` of the rated lines of ``parts``,
    each invoice line's as its invoice rounds it and shared among the line's vendors, then each
    vendor's share among its services (the cent the parts' rounding leaves to the largest part),
    and the rated lines counted (``lines``). A rated line's key columns that its customer's
    grouping does not read are left out of the first grouping (a description per AWS line would
    make it nearly one row per line)."""
    groupings = list(dict.fromkeys(g for p in parts for g in [p.default, *p.groupings.values()]))
    ids = {g: f"g{n}" for n, g in enumerate(groupings)}
    selects = []
    for part in parts:
        by_id: dict[str, list[str]] = {}
        for customer, grouping in sorted(part.groupings.items()):
            by_id.setdefault(ids[grouping], []).append(customer)
        cases = " ".join(
            f"WHEN customer_id IN ({', '.join(ql(c) for c in customers)}) THEN {ql(gid)}"
            for gid, customers in by_id.items()
        )
        default = ql(ids[part.default])
        which = f"CASE {cases} ELSE {default} END" if cases else default
        selects.append(
            f"SELECT {ql(part.name)} AS _invoices, {which} AS _grouping, * FROM {part.sql}"
        )
    masks = []
    for column in ("subscription", "sku", "provider", "publisher", "tags", "description"):
        needed = [ql(ids[g]) for g in groupings if _needs(g, column)]
        when = f"_grouping IN ({', '.join(needed)})" if needed else "false"
        if column == "description":  # a fee's, a credit's key: its description
            when = f"line_kind <> 'vendor' OR {when}"
        masks.append(f"CASE WHEN {when} THEN {column} END AS {column}")
    key = line_key_sql({g: [ids[g]] for g in groupings}, column="_grouping")
    line = ", ".join(LINE)
    amount = shared_rounding_sql("amount", "currency", "line", "vendor")
    cost = shared_rounding_sql("cost", "currency", "line", "vendor")
    amount_share = shared_rounding_sql("amount", "currency", "part", "service", "vendor_amount")
    cost_share = shared_rounding_sql("cost", "currency", "part", "service", "vendor_cost")
    on = " AND ".join(f"p.{k} IS NOT DISTINCT FROM v.{k}" for k in (*LINE, "vendor"))
    keys = ", ".join(KEYS)
    return f"""
        WITH billed AS ({" UNION ALL BY NAME ".join(selects)}),
        grouped AS (
          SELECT _invoices, _grouping, period, customer_id, currency, vendor, product_group,
                 line_kind, service, {LINE_CREDIT} AS line_credit, {", ".join(masks)},
                 sum(amount) AS amount, sum(cost) AS cost, count(*) AS lines
          FROM billed GROUP BY ALL),
        parts AS (
          SELECT _invoices, period, customer_id, currency, product_group, line_credit,
                 {key} AS line_key, vendor, {service_sql()} AS service,
                 sum(amount) AS amount, sum(cost) AS cost, sum(lines) AS lines
          FROM grouped GROUP BY ALL),
        vendors AS (
          SELECT {line}, vendor, {amount} AS vendor_amount, {cost} AS vendor_cost
          FROM (SELECT {line}, vendor, sum(amount) AS amount, sum(cost) AS cost
                FROM parts GROUP BY ALL)
          WINDOW line AS (PARTITION BY {line})),
        shared AS (
          SELECT *, {amount_share} AS amount_share, {cost_share} AS cost_share
          FROM (SELECT p.*, v.vendor_amount, v.vendor_cost FROM parts p JOIN vendors v ON {on})
          WINDOW part AS (PARTITION BY {line}, vendor))
        SELECT {keys}, CAST(sum(cost_share) AS {DEC}) AS cost,
               CAST(sum(amount_share) AS {DEC}) AS amount, CAST(sum(lines) AS BIGINT) AS lines
        FROM shared GROUP BY {keys} ORDER BY {keys}"""
