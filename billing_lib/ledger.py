"""The run's journal: balanced double entries equal to the invoices to the cent.

Two kinds of entry (docs/invoices-and-ledger.md has a worked example):

- **Sales** (journal ``SALES``, dated the invoice's issue date), one per invoice: accounts
  receivable debit = gross; revenue credit per product group = the sum of that group's rounded
  invoice lines (accounts from ``products.yaml``); VAT payable credit per VAT line (none for 0 %).
  The figures are the ``Invoice`` objects' own, so journal = invoices = workbooks. A negative
  invoice (credit balance) or a credit note has every side swapped.
- **Purchases** (journal ``PURCH``, dated the period's last day), one per vendor and vendor
  currency: the vendor payable credit = everything the vendor's report bills for the month
  (BilledCost of the rated, excluded and unmapped lines, so it matches the vendor's invoice);
  cost of sales debit per product group = the invoices' cost (each invoice line's vendor cost
  rounded half-up, then added: ``rated_costs``), in the vendor's currency (each entry balances
  in it; stated in the national currency beside it, below); vendor
  cost billed to no customer (internal use, vendor taxes, credits the reseller keeps, unmapped
  accounts) debit the unbilled-cost account, but for the VAT a vendor charges that is
  recoverable input VAT (its Tax lines, the vendor's ``input_vat_account``), debited there; what
  the vendor bills beyond the rated lines' cost
  (amortised commitments, when the plan prices EffectiveCost) the prepaid account, rounded once.
  The cents left between the payable and these (the invoices round cost per line, the vendor its
  bill once) go to the rounding account (``products.yaml`` ``rounding_account``), so the entry
  balances exactly and the prepaid account holds commitments only.

Every entry is also stated in the seller's national currency (the one the invoices state their
national VAT in, ``Invoicing.national_currency_on``): each posting converted at one rate per
entry (``NationalRate``: a sales entry at the invoice's own, ``Invoice.national_vat``, else at
exchange_rates.csv's of the supply period's last day; a purchase entry at exchange_rates.csv's of
the period's last day: the rates the Xero base-currency journal converts at) and rounded half-up,
the cents the roundings leave on a row of the rounding account, as the Xero journal books them
(``in_national``). So the VAT rows in the national currency are the invoice's national VAT, and
the entry balances in it too.

Writers: a generic CSV journal for accounting packages and the same entries as a beancount v3
ledger that ``bean-check`` verifies independently. Both are written to a temporary name and
moved into place.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from billing_lib.customers import Customer
from billing_lib.errors import ControlTotalError, ParameterError, RunError
from billing_lib.fx import ExchangeRates, missing_rate_error
from billing_lib.invoice_model import Invoice, VatLine, money_text
from billing_lib.invoices import CUSTOMER_SOURCE_FILE
from billing_lib.invoicing_parameters import Invoicing, beancount_name
from billing_lib.line_labels import key_columns, line_key_sql
from billing_lib.money import ZERO, round_money, shared_rounding_sql
from billing_lib.periods import month_days
from billing_lib.run_files import atomic_target, journal_name, ledger_name
from billing_lib.sql import ql
from billing_lib.store import relation_exists, scratch_connection
from billing_lib.whatif import TERMS_PARQUET

#: The beancount plugin that opens each account on its first posting (each ledger file declares
#: it; ``write_beancount_file`` says why).
AUTO_ACCOUNTS = "beancount.plugins.auto_accounts"
#: The CSV journal's columns as journals were written before the national-currency columns (an
#: earlier run folder's journal, which ``read_entry`` still reads).
EARLIER_JOURNAL_COLUMNS = (
    "date",
    "journal",
    "entry_id",
    "account",
    "description",
    "debit",
    "credit",
    "currency",
    "vat_code",
    "customer_id",
    "invoice_number",
)
#: Appended to them: each row in the seller's national currency (``in_national``), so an importer
#: that maps the earlier columns by position or name reads the file as before.
NATIONAL_COLUMNS = (
    "national_currency",
    "exchange_rate",
    "rate_date",
    "national_debit",
    "national_credit",
)
JOURNAL_COLUMNS = EARLIER_JOURNAL_COLUMNS + NATIONAL_COLUMNS


@dataclass(frozen=True)
class Posting:
    """One line of an entry: ``amount`` > 0 is a debit, < 0 a credit (in ``currency``)."""

    account: str
    amount: Decimal
    currency: str
    description: str
    vat_code: str | None = None
    #: The amount in the seller's national currency (the entry's ``national``), signed as
    #: ``amount``; None where it is not known (a journal written before it was).
    national: Decimal | None = None


@dataclass(frozen=True)
class NationalRate:
    """One unit of an entry's currency is worth ``rate`` units of the seller's national
    ``currency``: exchange_rates.csv's rate of ``day`` (1 for an entry in that currency)."""

    currency: str
    rate: Decimal
    day: date


@dataclass(frozen=True)
class Entry:
    """One balanced journal entry, in its own currency and, with ``national``, in the seller's
    national currency too (each posting's ``national``, and ``conversion``: the cents the
    conversion's roundings leave, 0 in the entry's currency, on the rounding account)."""

    date: date
    journal: str
    entry_id: str
    payee: str
    narration: str
    postings: tuple[Posting, ...]
    customer_id: str | None = None
    invoice_number: str | None = None
    national: NationalRate | None = None
    conversion: Posting | None = None

    def balance(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for p in self.postings:
            out[p.currency] = out.get(p.currency, ZERO) + p.amount
        return out

    def national_balance(self) -> Decimal:
        """Debits less credits in the national currency (0: balanced; 0 without ``national``)."""
        rows = (*self.postings, *([self.conversion] if self.conversion else []))
        return sum((p.national or ZERO for p in rows), ZERO)


def national_rate(
    currency: str, national: str, day: date, rates: ExchangeRates | None
) -> NationalRate | None:
    """The rate an entry in ``currency`` is stated in the ``national`` currency at: 1 in that
    currency, else exchange_rates.csv's rate of ``day`` (None without ``rates``: an entry built
    outside a run, whose journal then leaves the national columns empty). A ParameterError
    naming the pair and the day when exchange_rates.csv has none."""
    if currency == national:
        return NationalRate(national, Decimal(1), day)
    if rates is None:
        return None
    try:
        return NationalRate(national, rates.rate(currency, national, day), day)
    except ParameterError:
        raise missing_rate_error(
            rates.path,
            currency,
            national,
            day,
            f" (the journal states every entry in the national currency {national} too, at "
            "the rate of its period's last day)",
        ) from None


def in_national(
    entry: Entry,
    rate: NationalRate | None,
    rounding_account: str,
    vat: tuple[str, Decimal] | None = None,
) -> Entry:
    """``entry`` stated in the national currency at ``rate`` (as it is without one): each
    posting's amount x rate rounded half-up once, and the cents those roundings leave on a
    posting of the rounding account of 0 in the entry's currency (``Entry.conversion``),
    described and placed as the Xero base-currency journal books them
    (``accounting_exports.Conversion.entry``): every other row is its own amount converted and
    the entry balances. ``vat``: (VAT account, the invoice's national VAT signed as its VAT
    postings) that those postings are made to add up to, on the largest (an invoice has one
    VAT line, whose conversion it is already)."""
    if rate is None or not entry.postings:
        return entry
    postings = [
        replace(
            p,
            national=(
                p.amount
                if p.currency == rate.currency
                else round_money(p.amount * rate.rate, rate.currency)
            ),
        )
        for p in entry.postings
    ]
    if vat is not None:
        account, total = vat
        mine = [i for i, p in enumerate(postings) if p.account == account]
        off = total - sum((postings[i].national or ZERO for i in mine), ZERO)
        if mine and off:
            i = max(mine, key=lambda i: abs(postings[i].amount))
            postings[i] = replace(postings[i], national=(postings[i].national or ZERO) + off)
    rest = sum((p.national or ZERO for p in postings), ZERO)
    conversion = (
        Posting(
            rounding_account,
            round_money(ZERO, postings[0].currency),
            postings[0].currency,
            f"Rounding differences converting to {rate.currency} on {rate.day.isoformat()}",
            national=-rest,
        )
        if rest
        else None
    )
    return replace(entry, postings=tuple(postings), national=rate, conversion=conversion)


@dataclass(frozen=True)
class SalesLine:
    """A posting of an invoice's sales entry with its wording, before its account is chosen:
    the receivable (neither group nor VAT line), a product group's revenue, or a VAT line."""

    description: str
    amount: Decimal
    product_group: str | None = None
    vat: VatLine | None = None


def sales_lines(inv: Invoice) -> list[SalesLine]:
    """The postings of ``inv``'s sales entry in order, worded as the journal shows them: the
    receivable debit (= gross), a credit per product group (= its subtotal) and per VAT line
    (none for 0 VAT). ``sales_entry`` books them; a correction checks a run's journal with them."""
    kind = "Credit note" if inv.kind == "credit_note" else "Invoice"
    out = [SalesLine(f"{kind} {inv.number} {inv.buyer.name}", inv.gross)]
    out += [
        SalesLine(f"{heading} {inv.period}", -total, product_group=group)
        for group, heading, total in inv.subtotals()
        if total
    ]
    out += [
        SalesLine(f"{vat.label} on {money_text(vat.base)}", -vat.amount, vat=vat)
        for vat in inv.vat
        if vat.amount
    ]
    return out


def sales_entry(inv: Invoice, invoicing: Invoicing, rates: ExchangeRates | None = None) -> Entry:
    """The entry of one invoice or credit note, from its rounded figures only (``sales_lines``),
    in the national currency too (``in_national``) at the rate the invoice states its national VAT
    at (``Invoice.national_vat``; its VAT rows are that VAT), else at exchange_rates.csv's
    ``rates`` of its supply period's last day (a 0 % invoice in USD)."""
    products = invoicing.products
    rule = invoicing.vat.rules[inv.vat_rule].on(inv.supply_end)
    postings = []
    for line in sales_lines(inv):
        if line.product_group is not None:
            account = products.product_groups[line.product_group].revenue_account
            vat_code: str | None = rule.vat_code
        elif line.vat is not None:
            account, vat_code = rule.vat_account, line.vat.vat_code
        else:
            account, vat_code = products.receivable_account, None
        postings.append(Posting(account, line.amount, inv.currency, line.description, vat_code))
    entry = Entry(
        inv.issue_date,
        "SALES",
        inv.number,
        inv.buyer.name,
        sales_narration(inv),
        tuple(p for p in postings if p.amount or p.account == products.receivable_account),
        inv.customer_id,
        inv.number,
    )
    stated = inv.national_vat
    if stated is None:
        national = invoicing.national_currency_on(inv.supply_end)
        return in_national(
            entry,
            national_rate(inv.currency, national, inv.supply_end, rates),
            products.rounding_account,
        )
    return in_national(
        entry,
        NationalRate(stated.currency, stated.rate, stated.rate_date),
        products.rounding_account,
        (rule.vat_account, -stated.amount),
    )


def sales_narration(inv: Invoice) -> str:
    """The narration of ``inv``'s sales entry (the CSV journal does not keep it; the packages'
    files do: a credit note finds the invoice's rows in them by it)."""
    kind = "Credit note" if inv.kind == "credit_note" else "Invoice"
    return f"{kind} {inv.number} period {inv.period}" + (
        f" corrects {inv.refers_to}" if inv.refers_to else ""
    )


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
    keys = sorted({(v, c) for v, c, *_ in rated} | {(v, c) for v, c, *_ in other})
    entries = []
    for vendor, currency in keys:
        vendor_name = products.vendors[vendor].name
        mine = [r for r in rated if (r[0], r[1]) == (vendor, currency)]
        billed = sum((r[5] for r in mine), ZERO)
        billed += sum((b for v, c, _, _, b in other if (v, c) == (vendor, currency)), ZERO)
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
            for v, c, what, input_vat, cost in other
            if (v, c) == (vendor, currency) and not input_vat
        ]
        # the vendor's recoverable VAT on its bill: one posting, rounded once
        input_vat = [b for v, c, _, vat, b in other if (v, c) == (vendor, currency) and vat]
        if input_vat:
            postings.append(
                Posting(
                    str(products.vendors[vendor].input_vat_account),
                    round_money(sum(input_vat, ZERO), currency),
                    currency,
                    f"{vendor_name} input VAT charged on its bill {period}",
                    products.vendors[vendor].input_vat_code,
                )
            )
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
        payable = round_money(billed, currency)
        postings.append(
            Posting(
                products.rounding_account,
                payable - sum((p.amount for p in postings), ZERO),
                currency,
                f"{vendor_name} rounding differences {period} (cost rounded per invoice line)",
            )
        )
        postings.append(
            Posting(
                products.vendors[vendor].payable_account,
                -payable,
                currency,
                f"{vendor_name} report {period}",
            )
        )
        entries += _purchase_entry(
            last,
            f"COST-{period}-{vendor}-{currency}",
            vendor_name,
            f"{vendor_name} vendor report {period} ({currency})",
            postings,
            national_rate(currency, national, last, rates),
            products.rounding_account,
        )
    return entries


def _purchase_entry(
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
) -> list[tuple[str, str, str, bool, Decimal]]:
    """The vendor lines of the run that no invoice bills (``excluded_lines``, ``unmapped_lines``)
    per vendor, vendor currency and what they are (not billed to customers, vendor tax,
    unmapped accounts): whether they are the vendor's recoverable input VAT (its Tax lines, the
    vendor with an ``input_vat_account`` in products.yaml: booked there, not as cost) and their
    BilledCost, exact."""
    recoverable = sorted(k for k, v in invoicing.products.vendors.items() if v.input_vat_account)
    out: list[tuple[str, str, str, bool, Decimal]] = []
    if relation_exists(con, "excluded_lines"):
        out += con.execute(
            """SELECT x_Vendor, BillingCurrency, CASE WHEN reason = 'vendor tax' THEN 'vendor tax'
                      ELSE 'not billed to customers' END AS what,
                      reason = 'vendor tax' AND list_contains(?, x_Vendor), sum(BilledCost)
               FROM excluded_lines GROUP BY ALL ORDER BY ALL""",
            [recoverable],
        ).fetchall()
    if relation_exists(con, "unmapped_lines"):
        out += con.execute(
            """SELECT x_Vendor, BillingCurrency, 'unmapped accounts',
                      COALESCE(ChargeCategory = 'Tax', false) AND list_contains(?, x_Vendor),
                      sum(BilledCost)
               FROM unmapped_lines GROUP BY ALL ORDER BY ALL""",
            [recoverable],
        ).fetchall()
    return out


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
        entries += _purchase_entry(
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


def build_entries(
    con: duckdb.DuckDBPyConnection,
    invoices: list[Invoice],
    invoicing: Invoicing,
    period: str | None = None,
    rates: ExchangeRates | None = None,
) -> list[Entry]:
    """Every entry of the run: sales per invoice (in number order), then purchases per vendor of
    each invoiced period and of the run's ``period``: a month that invoices no customer (every
    line unmapped or excluded) still books the vendors' bills. Each in the national currency too,
    converted at ``rates`` where it is in another (without them, where an invoice does not give
    its rate, not: the journal's national columns are left empty)."""
    entries = [
        sales_entry(inv, invoicing, rates) for inv in sorted(invoices, key=lambda i: i.number)
    ]
    invoiced = [i for i in invoices if i.kind == "invoice"]
    for month in sorted({i.period for i in invoiced} | ({period} if period else set())):
        ids = sorted({i.customer_id for i in invoiced if i.period == month})
        entries += purchase_entries(con, month, ids, invoicing, rates)
    for e in entries:
        if any(e.balance().values()) or e.national_balance():
            raise ControlTotalError(
                f"journal entry {e.entry_id} does not balance: {e.balance()}, in the national "
                f"currency {e.national_balance()}"
            )
    return entries


def write_ledger(
    con: duckdb.DuckDBPyConnection,
    invoices: list[Invoice],
    invoicing: Invoicing,
    folder: Path,
    more: Callable[[list[Entry], str], list[Path]] | None = None,
    period: str | None = None,
    rates: ExchangeRates | None = None,
) -> list[Path]:
    """``journal_<period>.csv`` and ``ledger_<period>.beancount`` in ``folder``, and whatever
    ``more(entries, period name)`` writes of the same entries (the accounting packages' files,
    billing_lib.accounting_exports); the paths. ``period``: the run's month, named and its
    purchases booked even when no customer is invoiced (``build_entries``); ``rates``: the
    run's exchange rates, at which entries in other currencies are stated in the national one."""
    entries = build_entries(con, invoices, invoicing, period, rates)
    periods = sorted({i.period for i in invoices} | ({period} if period else set())) or ["empty"]
    name = periods[0] if len(periods) == 1 else f"{periods[0]}_{periods[-1]}"
    written = [
        write_csv_journal(entries, invoicing, Path(folder) / journal_name(name)),
        write_beancount(entries, invoicing, Path(folder) / ledger_name(name)),
    ]
    return written + (more(entries, name) if more else [])


def write_csv_journal(entries: list[Entry], invoicing: Invoicing | None, path: Path) -> Path:
    """One row per posting: debit or credit (never both, never negative), account code, VAT code,
    customer and invoice number, so an accounting package can import it line by line; then
    (``NATIONAL_COLUMNS``, appended so the earlier columns stay where they were) the national
    currency, the entry's rate and its date, and the row's debit or credit in that currency,
    and after an entry's rows the row of its conversion's cents (``in_national``). An entry
    without ``national`` (one read from a journal written before) leaves them empty."""
    with atomic_target(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(JOURNAL_COLUMNS)
        for e in entries:
            for p in (*e.postings, *([e.conversion] if e.conversion else [])):
                debit, credit = _sides(p.amount, p.amount)
                writer.writerow(
                    [
                        e.date.isoformat(),
                        e.journal,
                        e.entry_id,
                        p.account,
                        csv_text(p.description),
                        debit,
                        credit,
                        p.currency,
                        p.vat_code or "",
                        e.customer_id or "",
                        e.invoice_number or "",
                        *_national_cells(e.national, p),
                    ]
                )
    return path


def _sides(amount: Decimal, side: Decimal) -> tuple[str, str]:
    """(debit, credit) of ``amount``: one filled, never negative; 0 as a debit of 0.00, or (a
    converted amount that rounds to 0) on the side of ``side``, its row's own amount."""
    if amount > 0 or (not amount and side >= 0):
        return money_text(amount if amount else abs(amount)), ""
    return "", money_text(-amount)


def _national_cells(rate: NationalRate | None, p: Posting) -> list[str]:
    """The cells of ``NATIONAL_COLUMNS`` of ``p`` (empty without a rate or national amount)."""
    if rate is None or p.national is None:
        return [""] * len(NATIONAL_COLUMNS)
    debit, credit = _sides(p.national, p.amount)
    return [rate.currency, str(rate.rate), rate.day.isoformat(), debit, credit]


#: First characters a spreadsheet opening the CSV reads as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """Text for a CSV cell: an apostrophe before text a spreadsheet would read as a formula (a
    description from a vendor file or the parameters), as the workbooks' usage CSV does."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _plain(text: str) -> str:
    """``csv_text`` undone when a journal is read back."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def beancount_account(code: str, invoicing: Invoicing) -> str:
    """``1300`` -> ``Assets:1300-Accounts-receivable`` (``beancount_name``; ``load_invoicing``
    refuses two codes of one name)."""
    return beancount_name(code, invoicing.account(code))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def write_beancount(entries: list[Entry], invoicing: Invoicing, path: Path) -> Path:
    """The entries as a beancount v3 ledger (``write_beancount_file``), amounts exact to the
    cent."""
    codes = {p.account for e in entries for p in e.postings}
    return write_beancount_file(
        entries,
        invoicing.seller.name,
        {c: beancount_account(c, invoicing) for c in codes},
        path,
        "journal of a billing run",
    )


def write_beancount_file(
    entries: list[Entry], title: str, accounts: dict[str, str], path: Path, what: str
) -> Path:
    """The entries as a beancount v3 ledger titled ``title``, each account code named by
    ``accounts`` (code -> beancount account), ``what`` in the first comment line.

    Its accounts are opened by beancount's ``auto_accounts`` plugin (on their first posting), not
    by ``open`` directives, and no ``commodity`` is declared: a year's ledgers (every month's and
    every correction's) are checked and queried together by a main file that includes them, and
    beancount refuses an account opened twice, a commodity declared twice or a file included
    twice, so nothing the files share may be declared in them. Each file still passes
    ``bean-check`` on its own; a main file declares the plugin (or opens the accounts) itself,
    since beancount reads the options and plugins of the top file only
    (docs/invoices-and-ledger.md)."""
    lines = [
        f"; {title}: {what}, written by billing_lib.ledger",
        f"option {_q('title')} {_q(title)}",
    ]
    lines += [f"option {_q('operating_currency')} {_q(c)}" for c in _operating(entries)]
    lines.append(f"plugin {_q(AUTO_ACCOUNTS)}")
    for e in entries:
        lines.append("")
        lines.append(f"{e.date.isoformat()} * {_q(e.payee)} {_q(e.narration)}")
        lines.append(f"  journal: {_q(e.journal)}")
        lines.append(f"  entry_id: {_q(e.entry_id)}")
        if e.customer_id:
            lines.append(f"  customer_id: {_q(e.customer_id)}")
        if e.invoice_number:
            lines.append(f"  invoice_number: {_q(e.invoice_number)}")
        for p in e.postings:
            lines.append(f"  {accounts[p.account]:<48} {money_text(p.amount):>14} {p.currency}")
            lines.append(f"    description: {_q(p.description)}")
            if p.vat_code:
                lines.append(f"    vat_code: {_q(p.vat_code)}")
    with atomic_target(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _operating(entries: list[Entry]) -> list[str]:
    """The ledger's operating currency: the seller's national currency its entries are stated
    in (``Entry.national``, the books' currency), else the first of its currencies by name (a
    journal written before the national amounts). By name alone, a credit note of a USD invoice
    reported in USD and a Swedish seller's month of SEK and EUR in EUR."""
    national = sorted({e.national.currency for e in entries if e.national is not None})
    return national[:1] or sorted({p.currency for e in entries for p in e.postings})[:1]


# -- reading a run's journal back, for corrections ----------------------------------------------


def read_entry(journal: Path, entry_id: str) -> Entry:
    """The entry ``entry_id`` of a CSV journal that ``write_csv_journal`` wrote, exactly as
    written (debit positive, credit negative), with its national amounts; one of a journal
    written before those columns (``EARLIER_JOURNAL_COLUMNS``) reads as it did, without them.
    RunError when it is missing, spread over several dates or journals, or does not balance
    (in the national currency either)."""
    journal = Path(journal)
    with open(journal, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["entry_id"] == entry_id]
    if not rows:
        raise RunError(f"{journal}: no entry {entry_id}")
    heads = {(r["date"], r["journal"], r["customer_id"], r["invoice_number"]) for r in rows}
    if len(heads) != 1:
        raise RunError(
            f"{journal}: the rows of {entry_id} disagree on date, journal, customer or invoice: "
            f"{heads}"
        )
    postings, conversion, national = [], None, _national_rate_of(journal, entry_id, rows)
    for r in rows:
        amount = _amount(journal, entry_id, r, "debit", "credit")
        if national is not None and not (r["national_debit"] or r["national_credit"]):
            raise RunError(
                f"{journal}: a row of {entry_id} (account {r['account']}) has a rate but no "
                "national amount"
            )
        converted = (
            _amount(journal, entry_id, r, "national_debit", "national_credit")
            if national is not None
            else None
        )
        posting = Posting(
            r["account"],
            amount,
            r["currency"],
            _plain(r["description"]),
            r["vat_code"] or None,
            converted,
        )
        if not amount and converted:  # the conversion's cents (``in_national``)
            conversion = posting
        else:
            postings.append(posting)
    day, name, customer, invoice = heads.pop()
    entry = Entry(
        date.fromisoformat(day),
        name,
        entry_id,
        "",
        "",
        tuple(postings),
        customer or None,
        invoice or None,
        national,
        conversion,
    )
    if any(entry.balance().values()) or entry.national_balance():
        raise RunError(
            f"{journal}: entry {entry_id} does not balance: {entry.balance()}, in the national "
            f"currency {entry.national_balance()}"
        )
    return entry


def _amount(journal: Path, entry_id: str, row: dict[str, str], debit: str, credit: str) -> Decimal:
    """The row's ``debit`` less its ``credit`` column; RunError when both are filled."""
    if row[debit] and row[credit]:
        raise RunError(
            f"{journal}: a row of {entry_id} (account {row['account']}) has both a {debit} and "
            f"a {credit}"
        )
    return Decimal(row[debit]) if row[debit] else -Decimal(row[credit] or "0")


def _national_rate_of(
    journal: Path, entry_id: str, rows: list[dict[str, str]]
) -> NationalRate | None:
    """The rate the rows of ``entry_id`` state the national currency at; None in a journal written
    before those columns (``EARLIER_JOURNAL_COLUMNS``) or for an entry written without them.
    RunError when its rows disagree."""
    found = {
        (r.get("national_currency") or "", r.get("exchange_rate") or "", r.get("rate_date") or "")
        for r in rows
    }
    if len(found) != 1:
        raise RunError(
            f"{journal}: the rows of {entry_id} disagree on the national currency, rate or date: "
            f"{sorted(found)}"
        )
    currency, rate, day = found.pop()
    if not (currency or rate or day):
        return None
    try:
        return NationalRate(currency, Decimal(rate), date.fromisoformat(day))
    except (ArithmeticError, ValueError):
        raise RunError(
            f"{journal}: entry {entry_id} has national currency {currency!r}, exchange_rate "
            f"{rate!r}, rate_date {day!r}; expected a currency, a number and a date"
        ) from None


def cost_entry_ids(journal: Path, number: str) -> list[str]:
    """The ids of the entries with which the invoice ``number`` (one replacing a credited
    invoice) moved cost (``moved_cost_entries``: ``COST-<number>-...``) in the CSV journal
    ``journal``, in the journal's order."""
    prefix = f"COST-{number}-"
    with open(journal, newline="", encoding="utf-8") as fh:
        ids = [r["entry_id"] for r in csv.DictReader(fh) if r["entry_id"].startswith(prefix)]
    return list(dict.fromkeys(ids))


def beancount_postings(ledger: Path, entry_id: str) -> list[tuple[str, Decimal, str]]:
    """(account, amount, currency) of each posting of the transaction with ``entry_id`` in a
    beancount ledger, read by beancount's own loader (RunError when the ledger has errors or holds
    the entry other than once)."""
    from beancount import loader  # heavy; only for corrections
    from beancount.core import data

    entries, errors, _ = loader.load_file(str(ledger))
    if errors:
        raise RunError(f"{ledger}: beancount finds {len(errors)} errors, e.g. {errors[0].message}")
    found = [
        e for e in entries if isinstance(e, data.Transaction) and e.meta.get("entry_id") == entry_id
    ]
    if len(found) != 1:
        raise RunError(
            f"{ledger}: expected one transaction with entry_id {entry_id}; found {len(found)}"
        )
    out = []
    for p in found[0].postings:
        if p.units is None or p.units.number is None:
            raise RunError(f"{ledger}: a posting of {entry_id} ({p.account}) has no amount")
        out.append((p.account, p.units.number, p.units.currency))
    return out


def beancount_problems(ledger: Path) -> list[str]:
    """What beancount's loader (the same checks as ``bean-check``) finds wrong in ``ledger``."""
    from beancount import loader

    _, errors, _ = loader.load_file(str(ledger))
    return [e.message for e in errors]


def reversing_entry(
    original: Entry,
    entry_id: str,
    day: date,
    payee: str,
    narration: str,
    receivable_description: str,
) -> Entry:
    """The entry that cancels ``original``: the same accounts, currencies and VAT codes with every
    amount negated (so debits become credits to the cent), its national amounts too (at the
    original's rate, so the national VAT is cancelled exactly), dated ``day``. The first posting
    (the receivable of a sales entry) gets ``receivable_description``; the others keep theirs."""
    postings = tuple(
        replace(_negated(p), description=receivable_description if i == 0 else p.description)
        for i, p in enumerate(original.postings)
    )
    return Entry(
        day,
        original.journal,
        entry_id,
        payee,
        narration,
        postings,
        original.customer_id,
        entry_id,
        original.national,
        _negated(original.conversion) if original.conversion else None,
    )


def _negated(p: Posting) -> Posting:
    """``p`` with its amount and its national amount negated (at the original's rate)."""
    return replace(p, amount=-p.amount, national=None if p.national is None else -p.national)
