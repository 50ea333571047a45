"""``billing customers sync``: customers and vendor accounts from the provisioning platforms,
proposed as a reviewable diff of ``customers.yaml`` and ``accounts.csv``, never written without
``--apply``.

The accounts of a month are those in its vendor reports (AWS usage accounts, Microsoft tenants or
Azure subscriptions, VMware customer labels) and in the platforms' exports
(``billing_lib.platform_exports``). An account no mapping covers in the month is matched to a known
customer by, in this order:

1. tenant id: a Microsoft subscription whose Partner Center tenant is already mapped;
2. tag: an AWS account tag (``TAG_KEYS``) naming a customer id (in any case) or a customer's
   exact name;
3. domain: the AWS account's e-mail domain or the Partner Center domain equals a customer's e-mail
   domain or a domain named in the notes of its accounts.csv rows;
4. exact name: the account's name equals a customer's name (case and spaces ignored).

Accounts nothing matches get a customer stub (one per tag value, else per e-mail domain, else per
account) that the analyst completes: without a ``group`` no price plan applies, so the run refuses
to bill it until it is filled in. An AWS account no longer ACTIVE in ``list-accounts`` and a
Microsoft tenant missing from the Partner Center customer list get their open mapping closed at the
end of the month. Files are edited in place, keeping their comments and order: accounts.csv rows are
appended or get a ``valid_to``; customers.yaml is round-tripped by ruamel.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from billing_lib.account_matching import (
    SUBSCRIPTION_TENANTS_SQL,
    accounts_of_month,
)
from billing_lib.customer_files import Changes, changes
from billing_lib.customers import (
    ACCOUNTS_FILE,
    ACCOUNTS_SEEN_SQL,
    CUSTOMERS_FILE,
    AccountMapping,
    Customer,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.importers import import_reports, manifest_files, report_files
from billing_lib.parameter_paths import check_files_present, check_parameters_folder
from billing_lib.platform_exports import PLATFORM_FOLDER, PlatformExports, read_platform_folder
from billing_lib.run_parameters import check_period
from billing_lib.store import open_store
from billing_lib.sync_proposal import Proposal, damaged_ids, invoiced_customer_ids, propose
from billing_lib.vendor_prices import VENDOR_PRICES_FILE, load_vendor_prices


def read_exports(reports: Path, platform: Path | None) -> PlatformExports | None:
    """The platforms' exports: ``platform`` if given, else ``<reports>/platform/`` if it exists."""
    folder = Path(platform) if platform else Path(reports) / PLATFORM_FOLDER
    if platform is None and not folder.is_dir():
        return None
    return read_platform_folder(folder)


def sync(
    period: str,
    reports: Path,
    parameters: Path,
    platform: Path | None = None,
    output: Path | None = None,
) -> tuple[Proposal, Changes]:
    """Import the month's vendor reports (for the accounts they bill; with the AWS deliveries'
    manifests among them, checked as by a run), read the platforms' exports
    and propose; nothing is written. ``output``: the outputs folder, whose invoice register's
    customer ids no new customer is given."""
    period = check_period(period, "billing customers sync", "--period")
    check_parameters_folder(parameters, "billing customers sync", "--parameters")
    check_files_present(
        parameters,
        (CUSTOMERS_FILE, ACCOUNTS_FILE, VENDOR_PRICES_FILE),
        (CUSTOMERS_FILE, ACCOUNTS_FILE),
        "billing customers sync",
    )
    customers = load_customers(parameters)
    mappings = load_account_mappings(parameters, customers)
    exports = read_exports(reports, platform)
    con = open_store()
    try:
        import_reports(
            con,
            # with the deliveries' manifests, as a run: each delivery checked whole, the
            # manifests never read as reports
            [*report_files(reports), *manifest_files(reports)],
            vendor_prices=load_vendor_prices(parameters),
            period=period,
        )
        register_account_map(con, mappings)
        seen = con.execute(ACCOUNTS_SEEN_SQL).fetchall()
        tenants = dict(con.execute(SUBSCRIPTION_TENANTS_SQL).fetchall())
    finally:
        con.close()
    proposal = propose(
        period,
        customers,
        mappings,
        accounts_of_month(seen, exports, tenants),
        exports,
        invoiced_customer_ids(output),
    )
    return proposal, changes(parameters, proposal)


def unmapped_suggestions(
    unmapped: list[tuple[str, str, str | None]],
    period: str,
    customers: dict[str, Customer],
    mappings: list[AccountMapping],
    exports: PlatformExports | None,
    invoiced: frozenset[str] = frozenset(),
    tenants: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], tuple[str, str]]:
    """For the run's unmapped report: per (vendor, account) the exact accounts.csv line to add and
    the customer it would match (with the rule), or that it needs a new customer. ``tenants``:
    Microsoft subscription -> its tenant in the month's lines (``accounts_of_month``)."""
    accounts = accounts_of_month(unmapped, exports, tenants)
    wanted = {(v, a) for v, a, _ in unmapped}
    accounts = {k: v for k, v in accounts.items() if k in wanted}
    proposal = propose(period, customers, mappings, accounts, exports, invoiced)
    out = {}
    for r in proposal.rows:
        if r.rule == "new customer stub":
            matched = f"no known customer: new customer {r.customer_id} (billing customers sync)"
        else:
            matched = f"{r.customer_id} {customers[r.customer_id].name} by {r.rule}"
        out[(r.vendor, r.account_id)] = (r.csv_line(), matched)
    for key in sorted(wanted - out.keys()):  # mapped on other days of the month: no new line
        out[key] = ("", _mapped_on_other_days(mappings, key))
    for key in wanted:  # before any proposal: the row is there, its id damaged
        damaged = damaged_ids(mappings, key)
        if damaged is not None:
            out[key] = ("", damaged[1])
    return out


def _mapped_on_other_days(mappings: list[AccountMapping], key: tuple[str, str]) -> str:
    """What to do about an account whose accounts.csv lines leave some days of the month
    without a customer (a mapping ended, or starts later): its spans, to widen or complete."""
    spans = "; ".join(
        f"{m.customer_id} from {m.valid_from or 'the start'} to {m.valid_to or 'the end'}"
        for m in mappings
        if (m.vendor, m.account_id) == key
    )
    return (
        f"accounts.csv maps it on other days only ({spans}): widen those dates or add a line "
        "for the days without a customer"
    )


def add_suggestions(
    unmapped: pd.DataFrame,
    period: str,
    customers: dict[str, Customer],
    mappings: list[AccountMapping],
    reports: Path,
    output: Path | None = None,
    tenants: Mapping[str, str] | None = None,
) -> None:
    """Add to the run's unmapped report (columns vendor, account_id, account_name) the exact
    accounts.csv line to add per account and the customer it would match, from the lines and any
    platform exports in ``<reports>/platform/``. ``tenants``: Microsoft subscription -> its tenant
    in the month's lines (``accounts_of_month``)."""
    # an account no report names has no name: NaN in pandas' string columns, None here
    names = [n if isinstance(n, str) else None for n in unmapped["account_name"]]
    keys = list(zip(unmapped["vendor"], unmapped["account_id"], names, strict=True))
    found = unmapped_suggestions(
        sorted(set(keys), key=lambda k: (k[0], k[1], k[2] or "")),
        period,
        customers,
        mappings,
        read_exports(reports, None),
        invoiced_customer_ids(output),
        tenants,
    )
    unmapped["add_to_accounts_csv"] = [found[(v, a)][0] for v, a, _ in keys]
    unmapped["would_match"] = [found[(v, a)][1] for v, a, _ in keys]
