"""The cost a reissue moves (``moved_cost_entries``): the booked cost of the reissued invoice's
lines against its new invoice's, per product group and cost account, each booking's lines
grouped as the folder that booked them grouped its invoice, in the national currency at the
rate the month's purchase entry booked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from billing_lib.cost_entries import booked_groupings, purchase_entry, rated_costs
from billing_lib.fx import ExchangeRates
from billing_lib.invoices import CUSTOMER_SOURCE_FILE
from billing_lib.invoicing_parameters import Invoicing
from billing_lib.journal_entries import Entry, NationalRate, Posting, national_rate
from billing_lib.money import ZERO, round_money
from billing_lib.periods import month_days
from billing_lib.sql import ql
from billing_lib.store import scratch_connection


def moved_cost_entries(
    rated: Path,
    booked: list[Path],
    customer_id: str,
    period: str,
    invoicing: Invoicing,
    day: date,
    number: str,
    rates: ExchangeRates | None = None,
    booked_rates: dict[tuple[str, str], NationalRate] | None = None,
) -> list[Entry]:
    """The entries with which an invoice replacing a credited one (``number``, dated ``day``; its
    rated lines ``rated``) brings the books' cost of its vendor lines of ``period`` to what it
    invoices, one per vendor and vendor currency (journal ``PURCH``,
    ``COST-<number>-<vendor>-<currency>``); none when the books have it so already.

    The month's purchase entries booked each vendor line once: on a customer's invoice (the cost
    account of its product group, at its vendor cost, the rest of its BilledCost on the prepaid
    account) or billed to no customer (unmapped or excluded: the unbilled-cost account, at its
    BilledCost). ``booked`` are the rated lines that booked them, in order: the run's, then each
    invoice of the period reissued before this one (a line takes its latest booking). A line on
    none of them (an account unmapped at the run that a corrected accounts.csv maps now) moves
    from the unbilled-cost account (its BilledCost, rounded half-up once) to cost of sales; a
    line booked on one (the run's invoice replaced, or another customer's) whose product group or
    vendor cost is other now (a price plan's ``product_group`` or cost basis corrected) moves
    between cost accounts and the prepaid account. Cost of sales: per product group, the new
    invoice's cost (``rated_costs``: each invoice line rounded) less the same of the lines' latest
    bookings, each grouped into invoice lines as the folder that booked it grouped its customer's
    invoice (``booked_groupings``: grouped as customers.yaml has the customer now, a regrouped
    customer's cent stayed where the run booked it, off the invoices); the prepaid account: the
    change of BilledCost beyond vendor cost, rounded once; the cents left to the rounding
    account. So the books' cost of sales per account is the invoices', and the unbilled cost
    what no invoice bills, as the margin analysis reads them (``analysis.load_summary``,
    ``analysis.unbilled_cost``).

    In the national currency too at the rate the month's purchase entry of the vendor and
    currency booked that cost at (``booked_rates``, ``booked_rates.purchase_rates`` of the run's
    journal), not exchange_rates.csv's as it is now: moved at a rate edited since (0.9300 for
    0.9187), USD 9.91 left 7095 as EUR 9.22 where EUR 9.10 had been booked, and the account
    kept EUR -0.12 at a USD balance of 0. ``rates``' rate of ``period``'s last day
    (``national_rate``) only for a purchase entry the run stated without one (a journal written
    before the national columns)."""
    products = invoicing.products
    here = CUSTOMER_SOURCE_FILE
    _, last = month_days(period)
    national = invoicing.national_currency_on(last)
    with scratch_connection() as con:
        con.execute(
            f"CREATE TEMP VIEW new_lines AS SELECT * FROM read_parquet({ql(str(rated))}) "
            f"WHERE customer_id = {ql(customer_id)} AND period = {ql(period)} "
            "AND line_kind = 'vendor'"
        )
        union = " UNION ALL BY NAME ".join(
            f"SELECT *, {k} AS booked_in, {here} AS k_file FROM read_parquet({ql(str(p))}) r "
            f"WHERE line_kind = 'vendor' AND period = {ql(period)}"
            for k, p in enumerate(booked)
        )
        con.execute(
            f"CREATE TEMP VIEW booked AS {union}"
            if booked
            else "CREATE TEMP VIEW booked AS SELECT *, 0 AS booked_in, '' AS k_file FROM new_lines "
            "WHERE false"
        )
        con.execute(
            f"""CREATE TEMP VIEW keyed AS SELECT *, {here} AS k_file FROM new_lines r;
                CREATE TEMP VIEW latest AS SELECT k_file, source_row, max(booked_in) AS booked_in
                FROM booked WHERE (k_file, source_row) IN (SELECT (k_file, source_row) FROM keyed)
                GROUP BY ALL;
                CREATE TEMP VIEW old_lines AS
                SELECT b.* EXCLUDE (k_file) FROM booked b
                JOIN latest USING (k_file, source_row, booked_in);
                CREATE TEMP VIEW unbooked AS SELECT * FROM keyed
                WHERE (k_file, source_row) NOT IN (SELECT (k_file, source_row) FROM latest)"""
        )
        sums = con.execute(
            """SELECT vendor, vendor_currency, sum(unbilled), sum(beyond) FROM (
                 SELECT vendor, vendor_currency, 0 AS unbilled, billed_cost - vendor_cost AS beyond
                 FROM new_lines
                 UNION ALL SELECT vendor, vendor_currency, 0, vendor_cost - billed_cost
                 FROM old_lines
                 UNION ALL SELECT vendor, vendor_currency, billed_cost, 0 FROM unbooked)
               GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
        costs: dict[tuple[str, str, str], Decimal] = {}
        con.execute("CREATE OR REPLACE TEMP VIEW rated_lines AS SELECT * FROM new_lines")
        for v, c, group, rounded, _, _ in rated_costs(con, period, [customer_id], invoicing):
            costs[v, c, group] = costs.get((v, c, group), ZERO) + rounded
        # the booked cost: each booking's lines grouped as the run (or reissue) that booked them
        # grouped that customer's invoice
        for k, who in con.execute(
            "SELECT DISTINCT booked_in, customer_id FROM old_lines ORDER BY ALL"
        ).fetchall():
            con.execute(
                "CREATE OR REPLACE TEMP VIEW rated_lines AS SELECT * EXCLUDE (booked_in) "
                f"FROM old_lines WHERE booked_in = {int(k)}"
            )
            grouping = booked_groupings(booked[k], period).get(who)
            for v, c, group, rounded, _, _ in rated_costs(
                con, period, [who], invoicing, {who: grouping} if grouping else None
            ):
                costs[v, c, group] = costs.get((v, c, group), ZERO) - rounded
    entries = []
    for vendor, currency, unbilled, beyond in sums:
        name = products.vendors[vendor].name
        since = f"{period}: as invoiced on {number}"
        postings = [
            Posting(
                products.product_groups[group].cost_account,
                round_money(amount, currency),
                currency,
                f"Cost of sales {products.product_groups[group].heading} {since}",
            )
            for (v, c, group), amount in sorted(costs.items())
            if (v, c) == (vendor, currency)
        ]
        postings.append(
            Posting(
                products.prepaid_account,
                round_money(beyond, currency),
                currency,
                f"{name} billed minus cost of the month (commitments) {since}",
            )
        )
        postings.append(
            Posting(
                products.unbilled_cost_account,
                -round_money(unbilled, currency),
                currency,
                f"{name} not billed to customers {period}: billed since on {number}",
            )
        )
        postings.append(
            Posting(
                products.rounding_account,
                -sum((p.amount for p in postings), ZERO),
                currency,
                f"{name} rounding differences {since} (cost rounded per invoice line)",
            )
        )
        entries += purchase_entry(
            day,
            f"COST-{number}-{vendor}-{currency}",
            name,
            f"{name} cost of {period} as invoiced on {number} ({currency})",
            postings,
            (booked_rates or {}).get((vendor, currency))
            or national_rate(currency, national, last, rates),
            products.rounding_account,
        )
    return entries
