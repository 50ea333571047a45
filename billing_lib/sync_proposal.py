"""What ``billing customers sync`` proposes (``propose``): the accounts no mapping covers in the
month matched to known customers (tenant id, tag, e-mail domain, exact name), customer stubs for
the rest, accounts.csv rows to close and damaged ids to fix; the order and rules are
``customer_sync``'s."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from billing_lib.account_matching import (
    TAG_KEYS,
    Account,
    Matcher,
)
from billing_lib.customers import (
    AccountMapping,
    Customer,
)
from billing_lib.numbering import Register
from billing_lib.periods import month_days
from billing_lib.platform_exports import PlatformExports
from billing_lib.run_files import REGISTER

ACCOUNTS = "accounts.csv"


CUSTOMERS = "customers.yaml"


@dataclass(frozen=True)
class NewRow:
    vendor: str
    account_id: str
    customer_id: str
    valid_from: date | None
    note: str
    rule: str  # how the customer was found ("tag customer=C001"), or "new customer stub"
    valid_to: date | None = None

    def csv_line(self) -> str:
        return csv_line(
            [
                self.vendor,
                self.account_id,
                self.customer_id,
                self.valid_from.isoformat() if self.valid_from else "",
                self.valid_to.isoformat() if self.valid_to else "",
                self.note,
            ]
        )


@dataclass(frozen=True)
class Stub:
    id: str
    name: str
    source: str


@dataclass(frozen=True)
class Closing:
    row: int  # spreadsheet row in accounts.csv (header = 1)
    mapping: AccountMapping
    valid_to: date
    reason: str


@dataclass(frozen=True)
class Fix:
    """An accounts.csv row that holds a report's account with its id damaged (leading zeros
    dropped, another case): its ``account_id`` rewritten as the report writes it, instead of a
    new customer for an account the row means."""

    row: int  # spreadsheet row in accounts.csv (header = 1)
    mapping: AccountMapping
    account_id: str
    reason: str


@dataclass
class Proposal:
    period: str
    rows: list[NewRow] = field(default_factory=list)
    stubs: list[Stub] = field(default_factory=list)
    closings: list[Closing] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.rows or self.stubs or self.closings or self.fixes)

    def summary(self) -> list[str]:
        """What the command prints: counts, then each change with its reason."""
        matched = [r for r in self.rows if r.rule != "new customer stub"]
        out = [
            (
                f"customers sync {self.period}: {len(matched)} account(s) matched to known "
                f"customers, {len(self.stubs)} new customer stub(s) with "
                f"{len(self.rows) - len(matched)} account(s), {len(self.closings)} mapping(s) "
                "closed" + (f", {len(self.fixes)} accounts.csv id(s) fixed" if self.fixes else "")
            )
        ]
        out += [
            f"  fix   {ACCOUNTS} row {f.row} ({f.mapping.vendor} {f.mapping.account_id} -> "
            f"{f.mapping.customer_id}) account_id {f.account_id}: {f.reason}"
            for f in self.fixes
        ]
        out += [f"  add   {r.csv_line()}   [{r.rule}]" for r in matched]
        for s in self.stubs:
            out.append(f"  new customer {s.id} {s.name!r} ({s.source}): complete it in {CUSTOMERS}")
            out += [
                f"  add   {r.csv_line()}"
                for r in self.rows
                if r.customer_id == s.id and r.rule == "new customer stub"
            ]
        out += [
            f"  close {ACCOUNTS} row {c.row} ({c.mapping.vendor} {c.mapping.account_id} -> "
            f"{c.mapping.customer_id}) valid_to {c.valid_to}: {c.reason}"
            for c in self.closings
        ]
        return out


def csv_line(values: list[str]) -> str:
    """``values`` as one CSV line without its line ending, quoted as accounts.csv quotes."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


def _next_ids(
    customers: dict[str, Customer], invoiced: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Fresh customer ids in the style of the existing ones (C010 -> C011, C0300 -> C0301),
    none of ``invoiced``: an id the invoice register holds numbers for, of a customer since
    removed from customers.yaml, would give a new company that customer's invoices and history."""
    pattern = re.compile(r"^([A-Za-z_-]*)(\d+)$")
    numbered = [m for m in (pattern.match(i) for i in customers) if m is not None]
    if numbered:
        prefix = max({m[1] for m in numbered}, key=lambda p: sum(m[1] == p for m in numbered))
        width = max(len(m[2]) for m in numbered if m[1] == prefix)
        n = max(int(m[2]) for m in numbered if m[1] == prefix)
    else:
        prefix, width, n = "C", 3, 0
    taken = customers.keys() | invoiced
    while True:
        n += 1
        if f"{prefix}{n:0{width}d}" not in taken:
            yield f"{prefix}{n:0{width}d}"


def invoiced_customer_ids(output: Path | None) -> frozenset[str]:
    """The customer ids the invoice register of the outputs folder ``output`` holds numbers for
    (invoices, credit notes, void numbers held for them); none without a register."""
    path = None if output is None else Path(output) / REGISTER
    if path is None or not path.is_file():
        return frozenset()
    return frozenset(e.customer_id for e in Register(path).entries() if e.customer_id)


def _mapped_in(mappings: list[AccountMapping], first: date, last: date) -> set[tuple[str, str]]:
    return {
        (m.vendor, m.account_id)
        for m in mappings
        if (m.valid_from or date.min) <= last and (m.valid_to or date.max) >= first
    }


def _free_span(
    mappings: list[AccountMapping], vendor: str, account: str, first: date, last: date
) -> tuple[date | None, date | None]:
    """The dates of a new row for an account no mapping covers in the month (first..last): from
    the day after its last mapping before the month ended (empty for none), to the day before its
    first mapping after the month starts (empty for none: an account mapped from a later month,
    a customer arriving, got an open row before, which overlapped that mapping and made the
    proposal unloadable)."""
    own = [m for m in mappings if (m.vendor, m.account_id) == (vendor, account)]
    ends = [m.valid_to for m in own if m.valid_to is not None and m.valid_to < first]
    starts = [m.valid_from for m in own if m.valid_from is not None and m.valid_from > last]
    return (
        max(ends) + timedelta(days=1) if ends else None,
        min(starts) - timedelta(days=1) if starts else None,
    )


def propose(
    period: str,
    customers: dict[str, Customer],
    mappings: list[AccountMapping],
    accounts: dict[tuple[str, str], Account],
    exports: PlatformExports | None,
    invoiced: frozenset[str] = frozenset(),
) -> Proposal:
    """The changes to customers.yaml and accounts.csv for ``period``; nothing is written. New
    customers get ids neither in ``customers`` nor ``invoiced`` (``invoiced_customer_ids``)."""
    first, last = month_days(period)
    proposal = Proposal(period)
    proposal.fixes, mappings = _fixes(mappings, accounts, first, last)
    matcher = Matcher(customers, mappings, exports, (first, last))
    mapped = _mapped_in(mappings, first, last)
    ids = _next_ids(customers, invoiced)
    stubs: dict[str, Stub] = {}
    for key in sorted(accounts):
        a = accounts[key]
        if key in mapped:
            continue
        note = a.name or a.account_id
        hit = matcher.match(a)
        if hit:
            customer, rule = hit
            since, until = _free_span(mappings, *key, first, last)
            proposal.rows.append(NewRow(a.vendor, a.account_id, customer, since, note, rule, until))
            continue
        tag = next((a.tags[k] for k in TAG_KEYS if a.tags.get(k)), None)
        domain = next((d for d in sorted(a.domains) if not d.endswith(".onmicrosoft.com")), None)
        group = (
            f"tag:{tag}" if tag else f"domain:{domain}" if domain else f"{a.vendor}:{a.account_id}"
        )
        if group not in stubs:
            source = (
                f"tag {tag}"
                if tag
                else f"e-mail domain {domain}"
                if domain
                else f"{a.vendor} account {a.account_id}"
            )
            stubs[group] = Stub(next(ids), tag or a.name or a.account_id, source)
        since, until = _free_span(mappings, *key, first, last)
        proposal.rows.append(
            NewRow(a.vendor, a.account_id, stubs[group].id, since, note, "new customer stub", until)
        )
    proposal.stubs = list(stubs.values())
    proposal.closings = _closings(mappings, exports, first, last)
    return proposal


def _fixes(
    mappings: list[AccountMapping],
    accounts: dict[tuple[str, str], Account],
    first: date,
    last: date,
) -> tuple[list[Fix], list[AccountMapping]]:
    """The rows holding an account of the month no mapping covers with its id damaged (as the
    run's unmapped report names them), and the mappings as they read once fixed: the account is
    then mapped by its row, and gets no new customer."""
    mapped = _mapped_in(mappings, first, last)
    fixed = list(mappings)
    fixes: list[Fix] = []
    for key in sorted(accounts):
        if key in mapped:
            continue
        damaged = damaged_ids(mappings, key)
        if damaged is None:
            continue
        rows, reason = damaged
        for i in rows:
            if fixed[i] is mappings[i]:  # a row is fixed for one account only
                fixed[i] = mappings[i].model_copy(update={"account_id": key[1]})
                fixes.append(Fix(_row(mappings, i), mappings[i], key[1], reason))
    return fixes, fixed


def _row(mappings: list[AccountMapping], i: int) -> int:
    """The accounts.csv row of ``mappings[i]`` (header = 1): the row it was read from; for
    mappings not read from the file, its position."""
    return mappings[i].row or i + 2


def _closings(
    mappings: list[AccountMapping], exports: PlatformExports | None, first: date, last: date
) -> list[Closing]:
    if exports is None:
        return []
    active_aws = {a.id for a in exports.aws_accounts if a.status == "ACTIVE"}
    status = {a.id: a.status for a in exports.aws_accounts}
    tenants = {c.tenant_id for c in exports.customers}
    subscriptions = {s.id.lower() for s in exports.subscriptions} | {
        s.entitlement_id.lower() for s in exports.subscriptions if s.entitlement_id
    }
    out = []
    for i, m in enumerate(mappings):
        row = _row(mappings, i)
        if m.valid_to is not None and m.valid_to < first:
            continue  # closed before the month
        if m.valid_to is not None and m.valid_to <= last:
            continue  # already closed within it
        if (m.valid_from or date.min) > last:
            continue
        if m.vendor == "aws" and exports.has_aws_accounts and m.account_id not in active_aws:
            why = (
                f"status {status[m.account_id]} in list-accounts"
                if m.account_id in status
                else "not in AWS Organizations list-accounts"
            )
            out.append(Closing(row, m, last, why))
        elif (
            m.vendor == "microsoft"
            and exports.has_customers
            and m.account_id.lower() not in tenants
            and m.account_id.lower() not in subscriptions
        ):
            out.append(Closing(row, m, last, "not in the Partner Center customer list"))
    return out


def damaged_ids(
    mappings: list[AccountMapping], key: tuple[str, str]
) -> tuple[list[int], str] | None:
    """The indexes in ``mappings`` of the rows that hold the account ``key`` with its id damaged,
    and what to fix; None if none."""
    return _zeros_dropped(mappings, key) or _other_case(mappings, key)


def _other_case(
    mappings: list[AccountMapping], key: tuple[str, str]
) -> tuple[list[int], str] | None:
    """The accounts.csv rows that hold the account ``key`` in another case or spacing (a VMware
    customer label ``Schelde-Data`` or ``Gouden  Korst`` for the report's ``schelde-data`` or
    ``gouden korst``: ids are compared exactly), as what to fix, instead of a new customer for an
    account a row means; None if none."""
    vendor, account = key
    found = [
        i
        for i, m in enumerate(mappings)
        if m.vendor == vendor
        and m.account_id != account
        and _loose(m.account_id) == _loose(account)
    ]
    if not found:
        return None
    rows = [mappings[i] for i in found]
    written = ", ".join(sorted({m.account_id for m in rows}))
    customers = ", ".join(sorted({m.customer_id for m in rows}))
    spaced = any(m.account_id.casefold() != account.casefold() for m in rows)
    return found, (
        f"accounts.csv maps {written} to {customers}: this account in another case"
        f"{' or spacing' if spaced else ''} (ids are compared exactly); write it as the report "
        f"does, {account}"
    )


def _loose(account_id: str) -> str:
    """An account id without its case and with its runs of spaces as one, to tell a row that
    means the id from one that names another account."""
    return " ".join(account_id.split()).casefold()


def _zeros_dropped(
    mappings: list[AccountMapping], key: tuple[str, str]
) -> tuple[list[int], str] | None:
    """The accounts.csv rows that hold the account ``key`` with its leading zeros dropped (a
    spreadsheet re-save: ``002719385610`` saved as ``2719385610``), as what to fix; None if
    none."""
    vendor, account = key
    short = account.lstrip("0")
    found = [
        i
        for i, m in enumerate(mappings)
        if m.vendor == vendor and m.account_id == short and short != account and short.isdigit()
    ]
    if not found:
        return None
    customers = ", ".join(sorted({mappings[i].customer_id for i in found}))
    return found, (
        f"accounts.csv maps {short} to {customers}: this account with its leading zeros dropped "
        f"(saved by a spreadsheet?); write it as {account}"
    )
