"""Which known customer a vendor account belongs to (``billing customers sync``, the unmapped
report's suggestions): the accounts of a month from the vendor reports and the provisioning
platforms' exports, and the rules matching one to a customer, in order: tenant id, tag, domain,
exact name (the order and the rules: ``billing_lib.customer_sync``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from billing_lib.customers import AccountMapping, Customer
from billing_lib.platform_exports import PlatformExports

TAG_KEYS = ("customer", "customer_id", "customer-id", "CustomerId", "Customer", "billing:customer")


@dataclass
class Account:
    """One vendor account seen in the month's reports or the platforms' exports."""

    vendor: str
    account_id: str
    name: str = ""
    domains: set[str] = field(default_factory=set)
    tags: dict[str, str] = field(default_factory=dict)
    tenant: str | None = None  # the Partner Center tenant of a Microsoft subscription
    sources: list[str] = field(default_factory=list)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _email_domain(email: str | None) -> str | None:
    return email.rpartition("@")[2].lower() if email and "@" in email else None


DOMAIN = re.compile(r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)+)\b")


#: SQL of the Microsoft subscriptions of the store's lines with the tenant they are under (lines
#: keyed by the tenant that name their subscription, ``x_SubscriptionId``).
SUBSCRIPTION_TENANTS_SQL = """
SELECT DISTINCT x_SubscriptionId, SubAccountId FROM lines
WHERE x_Vendor = 'microsoft' AND x_SubscriptionId IS NOT NULL AND SubAccountId IS NOT NULL
  AND x_SubscriptionId <> SubAccountId
"""


def accounts_of_month(
    seen: Iterable[tuple[str, str, str | None]],
    exports: PlatformExports | None,
    tenants: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], Account]:
    """Accounts from the vendor reports (``seen``: vendor, account id, name) and the platforms'
    exports, by (vendor, account id). ``tenants``: Microsoft subscription -> the tenant the
    month's lines name it under (``SUBSCRIPTION_TENANTS_SQL``), beside the Partner Center
    export's: a subscription is matched by its tenant first, so that a row proposed for it
    (which maps the subscription's lines before its tenant's row) names the customer its
    tenant's row bills, never one a tag or name matched (the row would move the subscription's
    Partner Center lines away from the tenant's customer)."""
    found: dict[tuple[str, str], Account] = {}
    for vendor, account, name in seen:
        a = _account(found, vendor, account)
        a.name = a.name or (name or "")
        a.sources.append("vendor reports")
    subs = {k.lower(): v.lower() for k, v in (tenants or {}).items()}
    if exports is None:
        _add_tenants(found, subs)
        return found
    _add_partner_center(found, exports)
    _add_aws(found, exports)
    subs.update({s.id.lower(): s.tenant_id for s in exports.subscriptions})
    subs.update(
        {s.entitlement_id.lower(): s.tenant_id for s in exports.subscriptions if s.entitlement_id}
    )
    for (vendor, account), a in found.items():
        if vendor == "aws":
            a.tags = exports.aws_tags.get(account, {})
    _add_tenants(found, subs)
    return found


def _add_tenants(found: dict[tuple[str, str], Account], subs: Mapping[str, str]) -> None:
    """The tenant of each Microsoft subscription account in ``subs`` (subscription -> tenant)."""
    for (vendor, account), a in found.items():
        if vendor == "microsoft" and account.lower() in subs:
            a.tenant = subs[account.lower()]


def _account(found: dict[tuple[str, str], Account], vendor: str, account: str) -> Account:
    return found.setdefault((vendor, account), Account(vendor, account))


def _add_partner_center(found: dict[tuple[str, str], Account], exports: PlatformExports) -> None:
    """The Partner Center customers (tenants) with their names and domains."""
    for c in exports.customers:
        a = _account(found, "microsoft", c.tenant_id)
        a.name = c.company_name or a.name
        if c.domain:
            a.domains.add(c.domain)
        a.sources.append(c.source)


def _add_aws(found: dict[tuple[str, str], Account], exports: PlatformExports) -> None:
    """The ACTIVE AWS Organizations accounts with their names and e-mail domains."""
    for acc in exports.aws_accounts:
        if acc.status != "ACTIVE":
            continue
        a = _account(found, "aws", acc.id)
        a.name = acc.name or a.name
        domain = _email_domain(acc.email)
        if domain:
            a.domains.add(domain)
        a.sources.append(acc.source)


def _tenants(
    mappings: list[AccountMapping], month: tuple[date, date] | None
) -> list[AccountMapping]:
    """The Microsoft mappings, those of ``month`` only (first and last day) when given, in the
    order of their ``valid_from``: the one a tenant has at the month's end comes last."""
    tenants = [m for m in mappings if m.vendor == "microsoft"]
    if month is None:
        return tenants
    first, last = month
    return sorted(
        (
            m
            for m in tenants
            if (m.valid_from or date.min) <= last and (m.valid_to or date.max) >= first
        ),
        key=lambda m: m.valid_from or date.min,
    )


class Matcher:
    """Finds the known customer an account belongs to, and says by which rule."""

    def __init__(
        self,
        customers: dict[str, Customer],
        mappings: list[AccountMapping],
        exports: PlatformExports | None,
        month: tuple[date, date] | None = None,
    ) -> None:
        """``month``: the first and last day of the month matched for; a tenant is then the
        customer's its mapping gives in that month (at its end, for a tenant that moved in it),
        not whichever row of the tenant came last in accounts.csv (a customer that left)."""
        self.customers = customers
        #: Customer ids in any case: ids differ in more than case (``load_customers``), so a tag
        #: ``customer=c007`` names C007 (it got a new customer stub).
        self.by_id = {c.casefold(): c for c in customers}
        self.by_name: dict[str, list[str]] = {}
        for c in customers.values():
            self.by_name.setdefault(_norm(c.name), []).append(c.id)
        self.tenant_of: dict[str, str] = {
            m.account_id.lower(): m.customer_id for m in _tenants(mappings, month)
        }
        self.by_domain: dict[str, set[str]] = {}
        for c in customers.values():
            domain = _email_domain(c.email)
            if domain:
                self.by_domain.setdefault(domain, set()).add(c.id)
        for m in mappings:
            for d in DOMAIN.findall((m.note or "").lower()):
                if "." in d and not d.replace(".", "").isdigit():
                    self.by_domain.setdefault(d, set()).add(m.customer_id)
        if exports is not None:
            for pc in exports.customers:
                if pc.domain and pc.tenant_id in self.tenant_of:
                    self.by_domain.setdefault(pc.domain, set()).add(self.tenant_of[pc.tenant_id])

    def match(self, a: Account) -> tuple[str, str] | None:
        """(customer id, the rule that matched) or None."""
        if a.tenant and a.tenant in self.tenant_of:
            return self.tenant_of[a.tenant], f"tenant id {a.tenant}"
        for key in TAG_KEYS:
            value = a.tags.get(key)
            if not value:
                continue
            if value.casefold() in self.by_id:
                return self.by_id[value.casefold()], f"tag {key}={value}"
            named = self.by_name.get(_norm(value), [])
            if len(named) == 1:
                return named[0], f"tag {key}={value}"
        for d in sorted(a.domains):
            owners = self.by_domain.get(d, set())
            if len(owners) == 1:
                return next(iter(owners)), f"domain {d}"
        named = self.by_name.get(_norm(a.name), [])
        if a.name and len(named) == 1:
            return named[0], f"exact name {a.name!r}"
        return None
