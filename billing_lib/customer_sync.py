"""``billing customers sync``: customers and vendor accounts from the provisioning platforms,
proposed as a reviewable diff of ``customers.yaml`` and ``accounts.csv``, never written without
``--apply``.

The accounts of a month are those in its vendor reports (AWS usage accounts, Microsoft tenants or
Azure subscriptions, VMware customer labels) and in the platforms' exports
(``billing_lib.platform_exports``). An account no mapping covers in the month is matched to a known
customer by, in this order:

1. tenant id: a Microsoft subscription whose Partner Center tenant is already mapped;
2. tag: an AWS account tag (``TAG_KEYS``) naming a customer id or a customer's exact name;
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

import csv
import difflib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from ruamel.yaml import YAML

from billing_lib.account_matching import (
    SUBSCRIPTION_TENANTS_SQL,
    TAG_KEYS,
    Account,
    Matcher,
    accounts_of_month,
)
from billing_lib.customers import (
    ACCOUNTS_SEEN_SQL,
    STUB_ADDRESS,
    AccountMapping,
    Customer,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.errors import RunError, write_fault
from billing_lib.importers import import_reports, manifest_files, report_files
from billing_lib.interrupts import held_off
from billing_lib.numbering import Register
from billing_lib.periods import month_days
from billing_lib.platform_exports import PLATFORM_FOLDER, PlatformExports, read_platform_folder
from billing_lib.run_files import REGISTER
from billing_lib.run_parameters import check_period
from billing_lib.store import open_store
from billing_lib.vendor_prices import load_vendor_prices

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
        return _csv_line(
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


def _csv_line(values: list[str]) -> str:
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
        damaged = _damaged(mappings, key)
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


# -- the files, edited in place ---------------------------------------------------------------


def accounts_text(original: str, proposal: Proposal) -> str:
    """accounts.csv with the closings' ``valid_to`` set on their rows and the new rows appended;
    every other line byte for byte as it was. Rows are counted as ``csv.DictReader`` counts them
    (header = 1, blank lines skipped) and a quoted note may span several lines, so the records
    are read by the csv module, not line by line: a note written over two lines closed the
    mapping on the row above the one the summary named."""
    closing = {c.row: c for c in proposal.closings}
    fixing = {f.row: f for f in proposal.fixes}
    out: list[str] = []
    header: list[str] | None = None
    row = 1
    for record, chunk in _records(original.splitlines(keepends=True)):
        if header is None:
            header = [h.lstrip("\ufeff") for h in record]
            out += chunk
            continue
        if not record:  # a blank line: no row
            out += chunk
            continue
        row += 1
        c, f = closing.get(row), fixing.get(row)
        if c is None and f is None:
            out += chunk
            continue
        values = dict(zip(header, record, strict=False))
        if c is not None:
            values["valid_to"] = c.valid_to.isoformat()
        if f is not None:
            values["account_id"] = f.account_id
        ending = chunk[-1][len(chunk[-1].rstrip("\r\n")) :] or "\n"
        out.append(_csv_line([values.get(h, "") or "" for h in header]) + ending)
    text = "".join(out)
    if proposal.rows:
        ending = "\r\n" if text.endswith("\r\n") else "\n"
        if text and not text.endswith("\n"):
            text += ending
        text += "".join(r.csv_line() + ending for r in proposal.rows)
    return text


def _records(lines: list[str]) -> Iterator[tuple[list[str], list[str]]]:
    """Each CSV record with the physical lines it was read from (a quoted value may hold line
    breaks); the csv reader takes lines one at a time, so the lines taken belong to the record."""
    taken: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            taken.append(line)
            yield line

    for record in csv.reader(feed()):
        yield record, taken[:]
        taken.clear()


def _yaml() -> YAML:
    """A YAML reader and writer that round-trips comments, flow style and order."""
    y = YAML()
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096
    return y


def customers_text(original: str, proposal: Proposal, country: str, currency: str) -> str:
    """customers.yaml with the stubs appended to ``customers`` (the rest unchanged, comments kept).
    A stub has no ``group``: no price plan applies until the analyst completes it."""
    if not proposal.stubs:
        return original
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    y = _yaml()
    data = y.load(original)
    seq = data["customers"]
    for stub in proposal.stubs:
        entry = CommentedMap()
        entry["id"] = stub.id
        entry["name"] = stub.name
        address = CommentedSeq([STUB_ADDRESS])
        address.fa.set_flow_style()
        entry["address"] = address
        entry["country"] = country
        entry["invoice_currency"] = currency
        seq.append(entry)
        seq.yaml_set_comment_before_after_key(
            len(seq) - 1,
            before=f"proposed by billing customers sync {proposal.period} from {stub.source}: "
            "complete address, country, VAT number, invoice currency and group",
            indent=2,
        )
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Changes:
    """The proposal as new file contents and the unified diff an analyst reviews."""

    accounts: str
    customers: str
    diff: str


def changes(parameters: Path, proposal: Proposal) -> Changes:
    parameters = Path(parameters)
    customers = load_customers(parameters)
    acc_path, cus_path = parameters / ACCOUNTS, parameters / CUSTOMERS
    acc_old = acc_path.read_text(encoding="utf-8")
    cus_old = cus_path.read_text(encoding="utf-8")
    currencies = [c.invoice_currency for c in customers.values()]
    countries = [c.country for c in customers.values()]
    currency = max(sorted(set(currencies)), key=currencies.count) if currencies else "EUR"
    country = max(sorted(set(countries)), key=countries.count) if countries else "NL"
    acc_new = accounts_text(acc_old, proposal)
    cus_new = customers_text(cus_old, proposal, country, currency)
    diff = "".join(
        list(
            difflib.unified_diff(
                cus_old.splitlines(True),
                cus_new.splitlines(True),
                f"a/{CUSTOMERS}",
                f"b/{CUSTOMERS}",
            )
        )
        + list(
            difflib.unified_diff(
                acc_old.splitlines(True), acc_new.splitlines(True), f"a/{ACCOUNTS}", f"b/{ACCOUNTS}"
            )
        )
    )
    return Changes(acc_new, cus_new, diff)


def check_loadable(parameters: Path, proposed: Changes) -> None:
    """Load the proposed files as a run would (in a temp copy): a proposal that would break the
    parameters is never written."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copyfile(Path(parameters) / CUSTOMERS, copy / CUSTOMERS)
        (copy / CUSTOMERS).write_text(proposed.customers, encoding="utf-8")
        (copy / ACCOUNTS).write_text(proposed.accounts, encoding="utf-8")
        load_account_mappings(copy, load_customers(copy))


def apply(parameters: Path, proposed: Changes, reviewed: Path) -> None:
    """Write the proposal when it is the one reviewed in ``reviewed`` (the diff file written by the
    run without ``--apply``); each file replaced atomically."""
    reviewed = Path(reviewed)
    if not reviewed.is_file():
        raise RunError(
            f"{reviewed}: no reviewed proposal; run `billing customers sync` without --apply, "
            "review the diff, then apply"
        )
    if reviewed.read_bytes() != proposed.diff.encode("utf-8"):  # bytes: an edit may be no UTF-8
        raise RunError(
            f"{reviewed}: the proposal changed since it was written (new exports or parameters); "
            "run without --apply and review it again"
        )
    check_loadable(parameters, proposed)
    # Ctrl-C between the two files left customers.yaml applied and accounts.csv not
    with held_off(f"{reviewed} was applied to {parameters}"):
        _replace_both(
            Path(parameters), {CUSTOMERS: proposed.customers, ACCOUNTS: proposed.accounts}
        )


def _replace_both(parameters: Path, texts: dict[str, str]) -> None:
    """Replace the files of ``parameters`` named in ``texts`` (name -> new text) with their new
    text, both or neither: each is written beside its file first, and a file that cannot be
    replaced puts back the one replaced before it. RunError naming the file when the folder or a
    file cannot be written (read-only, full): half a proposal applied, accounts mapped to a
    customer stub not written, or the stub without its accounts, bills wrong."""
    olds = {n: (parameters / n).read_text(encoding="utf-8") for n in texts}
    changed = {n: t for n, t in texts.items() if olds[n] != t}
    tmps = {n: parameters / f".{n}.sync" for n in changed}
    done: list[str] = []
    name = ""
    try:
        for name, text in changed.items():
            tmps[name].write_text(text, encoding="utf-8")
        for name in changed:
            os.replace(tmps[name], parameters / name)
            done.append(name)
    except OSError as exc:
        for back in done:  # the folder took the new file: it takes the old one back
            tmps[back].write_text(olds[back], encoding="utf-8")
            os.replace(tmps[back], parameters / back)
        fault = write_fault(exc)
        if fault is None:
            raise
        raise RunError(
            f"{parameters / name}: {fault[0]} ({exc.strerror or exc}). Nothing was applied; "
            f"{CUSTOMERS} and {ACCOUNTS} are as they were. Way out: make the parameters folder "
            "and its files writable for this user (or free space), then apply again"
        ) from None
    finally:
        for tmp in tmps.values():
            if tmp.exists():
                tmp.unlink()


# -- entry points -----------------------------------------------------------------------------


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
        damaged = _damaged(mappings, key)
        if damaged is not None:
            out[key] = ("", damaged[1])
    return out


def _damaged(mappings: list[AccountMapping], key: tuple[str, str]) -> tuple[list[int], str] | None:
    """The indexes in ``mappings`` of the rows that hold the account ``key`` with its id damaged,
    and what to fix; None if none."""
    return _zeros_dropped(mappings, key) or _other_case(mappings, key)


def _other_case(
    mappings: list[AccountMapping], key: tuple[str, str]
) -> tuple[list[int], str] | None:
    """The accounts.csv rows that hold the account ``key`` in another case (a VMware customer
    label ``Schelde-Data`` for the report's ``schelde-data``: ids are compared exactly), as what
    to fix, instead of a new customer for an account a row means; None if none."""
    vendor, account = key
    found = [
        i
        for i, m in enumerate(mappings)
        if m.vendor == vendor
        and m.account_id != account
        and m.account_id.casefold() == account.casefold()
    ]
    if not found:
        return None
    rows = [mappings[i] for i in found]
    written = ", ".join(sorted({m.account_id for m in rows}))
    customers = ", ".join(sorted({m.customer_id for m in rows}))
    return found, (
        f"accounts.csv maps {written} to {customers}: this account in another case (ids are "
        f"compared exactly); write it as the report does, {account}"
    )


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
