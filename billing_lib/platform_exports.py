"""The provisioning platforms' exports, in their documented shapes: who the reseller's customers and
accounts are, as Microsoft Partner Center and AWS Organizations know them.

- Partner Center customers: the REST response of ``GET /v1/customers`` (``items`` with ``id``,
  ``companyProfile.tenantId``, ``companyProfile.domain``, ``companyProfile.companyName``), or the
  portal's CSV export of the customer list (columns ``Microsoft ID`` or ``Customer ID`` or
  ``Tenant ID``; ``Company name`` or ``Customer name``; ``Primary domain name`` or ``Domain``).
- Partner Center subscriptions: the response of ``GET /v1/customers/{tenant}/subscriptions``
  (``items`` with ``id``, ``offerId``, ``offerName``, ``friendlyName``, ``quantity``, ``unitType``,
  ``status``, ``billingCycle``, ``termDuration``, ``commitmentEndDate``); the customer is the tenant
  in ``links.self.uri`` (``customers/{tenant}/subscriptions/{id}``) or in the file name
  (``...subscriptions-<tenant>.json``).
- AWS Organizations: ``aws organizations list-accounts`` (``Accounts`` with ``Id``, ``Name``,
  ``Email``, ``Status``, ``JoinedTimestamp``) and ``aws organizations list-tags-for-resource
  --resource-id <account>`` (``Tags`` with ``Key`` and ``Value``; the output does not name the
  account, so its file name must end in ``-<12-digit account id>.json``).

Each file is recognised by its content (``read_platform_folder``); a file of none of these shapes
is an error naming it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from billing_lib.errors import InputError, Problem
from billing_lib.run_files import NotUtf8Error, utf8_text

#: Where a billing run finds the provisioning platforms' exports of its month (not read as reports).
PLATFORM_FOLDER = "platform"

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
AWS_ACCOUNT = re.compile(r"(\d{12})")
#: Column names of the Partner Center portal's customer-list CSV export, first found wins.
CSV_TENANT = ("Microsoft ID", "Customer ID", "Tenant ID", "CustomerId", "TenantId")
CSV_NAME = ("Company name", "Customer name", "CompanyName", "Name")
CSV_DOMAIN = ("Primary domain name", "Domain", "Domain name", "PrimaryDomainName")


@dataclass(frozen=True)
class PartnerCenterCustomer:
    tenant_id: str  # lower case, the key of Microsoft accounts in accounts.csv
    company_name: str
    domain: str | None
    source: str


@dataclass(frozen=True)
class PartnerCenterSubscription:
    id: str
    tenant_id: str
    offer_id: str
    offer_name: str
    friendly_name: str
    quantity: Decimal
    unit_type: str
    status: str  # active, suspended, deleted, expired, pending, ... (lower case)
    billing_cycle: str  # monthly, annual, triennial, none, ... (lower case)
    term_duration: str
    commitment_end_date: str
    source: str
    entitlement_id: str = ""  # the Azure subscription id of an Azure plan entitlement


@dataclass(frozen=True)
class AwsAccount:
    id: str
    name: str
    email: str | None
    status: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE
    joined: str | None
    source: str


@dataclass
class PlatformExports:
    """Everything read from one folder of platform exports."""

    customers: list[PartnerCenterCustomer] = field(default_factory=list)
    subscriptions: list[PartnerCenterSubscription] = field(default_factory=list)
    aws_accounts: list[AwsAccount] = field(default_factory=list)
    #: account id -> {tag key: value}
    aws_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    #: which exports were given: a missing account is "left" only when its platform's list was read
    has_customers: bool = False
    has_aws_accounts: bool = False


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON export: {exc}") from None


def _items(data: object) -> list | None:
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return data["items"]
    if isinstance(data, list):
        return data
    return None


def _objects(path: Path, where: str, items: list) -> list[dict]:
    """``items`` when each is a JSON object; else the problem naming the first that is not."""
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise _problem(path, f"{where}[{n}]", f"a JSON object; got {json.dumps(item)[:60]}")
    return items


def _member(value: object, *keys: str) -> object:
    """``value[keys[0]][keys[1]]...``, or None where a level is missing or no JSON object."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _problem(path: Path, where: str, what: str) -> InputError:
    return InputError(
        f"{path}: not a platform export as documented",
        [Problem(str(path), None, where, None, what)],
    )


def _pc_customers(path: Path, items: list) -> list[PartnerCenterCustomer]:
    out = []
    for n, item in enumerate(items):
        tenant = _text(_member(item, "companyProfile", "tenantId") or item.get("id")).lower()
        if not GUID.fullmatch(tenant):
            raise _problem(
                path, f"items[{n}].companyProfile.tenantId", f"a tenant GUID; got {tenant!r}"
            )
        out.append(
            PartnerCenterCustomer(
                tenant,
                _text(_member(item, "companyProfile", "companyName")),
                _text(_member(item, "companyProfile", "domain")).lower() or None,
                f"{path.name} items[{n}]",
            )
        )
    return out


def _quantity(path: Path, where: str, value: object) -> Decimal:
    try:
        return Decimal(_text(value) or "0")
    except InvalidOperation:
        raise _problem(path, where, f"a number; got {value!r}") from None


def _pc_subscriptions(path: Path, items: list) -> list[PartnerCenterSubscription]:
    named = GUID.search(path.name)
    out = []
    for n, item in enumerate(_objects(path, "items", items)):
        uri = _text(_member(item, "links", "self", "uri"))
        found = re.search(r"customers/(" + GUID.pattern + ")/subscriptions", uri)
        tenant = (found.group(1) if found else named.group(0) if named else "").lower()
        if not tenant:
            raise _problem(
                path,
                f"items[{n}].links.self.uri",
                "the customer's tenant in links.self.uri or in the file name "
                "(partner-center-subscriptions-<tenant>.json)",
            )
        sub_id = _text(item.get("id"))
        if not sub_id:
            raise _problem(path, f"items[{n}].id", "the subscription id")
        out.append(
            PartnerCenterSubscription(
                sub_id,
                tenant,
                _text(item.get("offerId")),
                _text(item.get("offerName")),
                _text(item.get("friendlyName")),
                _quantity(path, f"items[{n}].quantity", item.get("quantity")),
                _text(item.get("unitType")) or "Licenses",
                _text(item.get("status")).lower(),
                _text(item.get("billingCycle")).lower(),
                _text(item.get("termDuration")),
                _text(item.get("commitmentEndDate")),
                f"{path.name} items[{n}]",
                _text(item.get("entitlementId")),
            )
        )
    return out


def _aws_accounts(path: Path, accounts: list) -> list[AwsAccount]:
    out = []
    for n, a in enumerate(_objects(path, "Accounts", accounts)):
        account = _text(a.get("Id"))
        if not re.fullmatch(r"\d{12}", account):
            raise _problem(path, f"Accounts[{n}].Id", f"a 12-digit account id; got {account!r}")
        out.append(
            AwsAccount(
                account,
                _text(a.get("Name")),
                _text(a.get("Email")).lower() or None,
                _text(a.get("Status")).upper() or "ACTIVE",
                _text(a.get("JoinedTimestamp")) or None,
                f"{path.name} Accounts[{n}]",
            )
        )
    return out


def _pc_customers_csv(path: Path) -> list[PartnerCenterCustomer] | None:
    try:
        text = utf8_text(path)
    except NotUtf8Error as exc:
        raise InputError(
            f"{path}: expected UTF-8 text",
            [Problem(str(path), exc.line, None, None, "UTF-8 text")],
        ) from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        tenant_col = next((c for c in CSV_TENANT if c in header), None)
        name_col = next((c for c in CSV_NAME if c in header), None)
        if tenant_col is None or name_col is None:
            return None
        domain_col = next((c for c in CSV_DOMAIN if c in header), None)
        out = []
        for n, row in enumerate(reader, start=2):
            tenant = _text(row.get(tenant_col)).lower()
            if not GUID.fullmatch(tenant):
                raise InputError(
                    f"{path}: not a Partner Center customer export",
                    [Problem(str(path), n, tenant_col, tenant, "a tenant GUID")],
                )
            out.append(
                PartnerCenterCustomer(
                    tenant,
                    _text(row.get(name_col)),
                    _text(row.get(domain_col)).lower() or None if domain_col else None,
                    f"{path.name} row {n}",
                )
            )
        return out


def read_platform_folder(folder: Path) -> PlatformExports:
    """Every export in ``folder`` (``.json`` and ``.csv`` files), recognised by content."""
    found = PlatformExports()
    folder = Path(folder)
    if folder.is_file():  # one export given for their folder
        raise InputError(
            f"{folder}: a file, not a folder; expected the folder of the platforms' exports "
            f"(e.g. {folder.parent})"
        )
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of platform exports")
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        suffix = path.suffix.lower()
        if suffix == ".csv":
            rows = _pc_customers_csv(path)
            if rows is None:
                raise InputError(
                    f"{path}: not a Partner Center customer export; expected columns "
                    f"{' or '.join(CSV_TENANT[:3])} and {' or '.join(CSV_NAME[:2])}"
                )
            found.customers += rows
            found.has_customers = True
        elif suffix == ".json":
            _add_json(found, path)
        else:
            continue
        found.files.append(path.name)
    return found


def _add_json(found: PlatformExports, path: Path) -> None:
    """One JSON export, recognised by its content: AWS list-accounts or list-tags-for-resource,
    Partner Center customers or subscriptions."""
    data = _json(path)
    items = _items(data)
    if isinstance(data, dict) and isinstance(data.get("Accounts"), list):
        found.aws_accounts += _aws_accounts(path, data["Accounts"])
        found.has_aws_accounts = True
    elif isinstance(data, dict) and isinstance(data.get("Tags"), list):
        _add_tags(found, path, data["Tags"])
    elif (
        items is not None
        and all(isinstance(i, dict) for i in items)
        and (not items or "companyProfile" in items[0])
        and not (items and "offerId" in items[0])
    ):
        found.customers += _pc_customers(path, items)
        found.has_customers = True
    elif items is not None and items and "offerId" in items[0]:
        found.subscriptions += _pc_subscriptions(path, items)
    else:
        raise InputError(
            f"{path}: not a platform export this workbench reads; expected Partner Center "
            "customers (items with companyProfile) or subscriptions (items with offerId), "
            "AWS Organizations list-accounts (Accounts) or list-tags-for-resource (Tags)"
        )


def _add_tags(found: PlatformExports, path: Path, tags_given: list) -> None:
    """AWS list-tags-for-resource output: the account is named by the file (its last 12 digits)."""
    account = AWS_ACCOUNT.findall(path.stem)
    if not account:
        raise InputError(
            f"{path}: list-tags-for-resource output does not name its account; "
            "expected the 12-digit account id at the end of the file name "
            "(aws-tags-123456789012.json)"
        )
    tags = found.aws_tags.setdefault(account[-1], {})
    for t in _objects(path, "Tags", tags_given):
        tags[_text(t.get("Key"))] = _text(t.get("Value"))
