"""The reseller's customers and which vendor accounts belong to whom (``parameters/``).

``customers.yaml`` holds who a customer is and how it is invoiced; ``accounts.csv`` maps vendor
account ids (AWS usage account, Microsoft customer tenant, VMware customer label, FOCUS
SubAccountId) to customer ids, with validity dates so an account can move between customers.
Lines whose account maps to no customer are kept and reported as unmapped, never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import duckdb
import pyarrow as pa
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from billing_lib.countries import checked_country
from billing_lib.email_addresses import checked_email
from billing_lib.errors import ParameterError
from billing_lib.line_labels import check_grouping
from billing_lib.model import checked_vendor, line_vendor
from billing_lib.parameter_csv import csv_rows
from billing_lib.parameter_files import read_yaml, validate
from billing_lib.peppol_ids import checked_peppol_id, checked_registration
from billing_lib.periods import first_common_day
from billing_lib.postal_addresses import checked_postal_code, checked_state
from billing_lib.printed_texts import PrintedText
from billing_lib.spreadsheet_numbers import in_scientific_notation
from billing_lib.store import drop_relation
from billing_lib.vat_numbers import checked_vat_number

#: The customers and the vendor accounts that belong to them, in the parameters folder.
CUSTOMERS_FILE, ACCOUNTS_FILE = "customers.yaml", "accounts.csv"

#: The VAT rules every vat_rules.yaml defines; a customer may name another rule of its own
#: (a domestic reverse charge, ``vat.VatRule.domestic_reverse_charge``), checked when billed.
STANDARD_VAT_RULES = ("domestic", "eu_reverse_charge", "export")
#: A Peppol electronic address: the CEF EAS scheme (4 digits, e.g. 0106 Dutch KvK, 0208 Belgian
#: KBO, 9944 Dutch VAT) and the identifier, e.g. ``0106:12345678``.
PEPPOL_ID = r"^\d{4}:[^\s:]{1,100}$"


#: Longest customer id (UTF-8 bytes): it is part of file names (``NW2026-000001_<id>.xlsx`` and
#: its ``.usage.csv.gz``), which most file systems cap at 255 bytes.
MAX_CUSTOMER_ID_BYTES = 100
#: The address line ``billing customers sync`` gives a customer it proposes (a stub): loadable,
#: so the analyst can complete it, but never printed on an invoice (``invoices``).
STUB_ADDRESS = "(address to be completed)"
#: First characters a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@")
#: Characters that are not allowed in a file name on Windows or POSIX, or separate folders.
PATH_CHARACTERS = set('/\\:*?"<>|')


def check_customer_id(value: str) -> str:
    """A customer id is a key: it names the invoice files and ledger accounts, so it is refused
    when it could be a formula, a path or a file name too long for the file system."""
    problems = []
    if not value or value != value.strip():
        problems.append("an id without spaces at its start or end")
    elif value.startswith(FORMULA_STARTS):
        problems.append("an id that does not start with =, +, - or @ (spreadsheets read a formula)")
    bad = sorted({ch for ch in value if ch in PATH_CHARACTERS or ord(ch) < 32 or ord(ch) == 127})
    if bad or value in (".", ".."):
        shown = ", ".join(repr(ch) for ch in bad) or repr(value)
        problems.append(f"an id without path characters (it names files; found {shown})")
    if len(value.encode("utf-8")) > MAX_CUSTOMER_ID_BYTES:
        problems.append(
            f"an id of at most {MAX_CUSTOMER_ID_BYTES} bytes (it is part of file names; "
            f"this one has {len(value.encode('utf-8'))})"
        )
    if problems:
        raise ValueError(
            "expected " + "; and ".join(problems) + ", e.g. C001 (letters, digits, '-', '_', '.')"
        )
    return value


class Customer(BaseModel):
    """A customer as the invoice shows it."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, AfterValidator(check_customer_id)]
    name: PrintedText
    address: list[PrintedText] = Field(min_length=1, description="Street, postcode and city lines")
    country: Annotated[str, AfterValidator(checked_country)] = Field(
        pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2"
    )
    vat_number: Annotated[str | None, BeforeValidator(checked_vat_number)] = None
    invoice_currency: str = Field(pattern=r"^[A-Z]{3}$")
    payment_terms_days: int = Field(30, ge=0, le=365)
    reference: PrintedText | None = Field(
        None, description="Customer's PO number or reference on the invoice"
    )
    email: Annotated[str | None, BeforeValidator(checked_email)] = None
    postal_code: Annotated[PrintedText | None, AfterValidator(checked_postal_code)] = Field(
        None, description="Postcode as in the address, for the e-invoice's structured address"
    )
    city: PrintedText | None = Field(None, description="City as in the address, for the e-invoice")
    state: Annotated[PrintedText | None, AfterValidator(checked_state)] = Field(
        None,
        description="State, province or territory code (US, CA, AU: MA, ON, NSW), for the "
        "e-invoice and the printed address",
    )
    chamber_of_commerce: Annotated[PrintedText | None, AfterValidator(checked_registration)] = (
        Field(
            None,
            description="Company register number (KvK, KBO, CVR), the e-invoice's legal "
            "registration",
        )
    )
    peppol_id: Annotated[str | None, AfterValidator(checked_peppol_id)] = Field(
        None,
        pattern=PEPPOL_ID,
        description="Electronic address '<EAS scheme>:<id>', e.g. 0106:12345678 (KvK number)",
    )
    group: str | None = Field(
        None, description="Customer group that price plans can be assigned to"
    )
    vat_rule: str | None = Field(
        None,
        min_length=1,
        description="Overrides the rule derived from the country: a rule of vat_rules.yaml",
    )
    line_grouping: list[str] = Field(
        default_factory=lambda: ["vendor", "service"],
        description="How invoice lines are grouped: vendor, service, subscription, sku, tag:<key>",
    )


class CustomersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: list[Customer]


class AccountMapping(BaseModel):
    """One vendor account belonging to one customer over a span of dates (inclusive)."""

    vendor: str
    account_id: str
    customer_id: str
    valid_from: date | None = None
    valid_to: date | None = None
    note: str | None = None
    #: Its row in accounts.csv (header = 1) where read from it: what ``billing customers sync``
    #: edits. Not the position in the list: a row a spreadsheet saves empty (``,,,,,``) is no
    #: mapping but is a row.
    row: int | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _as_the_lines_name_them(self) -> AccountMapping:
        """The vendor as every format names it (``x_Vendor``): in lower case, so that ``AWS`` maps
        AWS lines, and by the names the FOCUS importer reads as one vendor (``VENDOR_NAMES``), so
        that ``azure`` maps Azure subscriptions (their lines are ``microsoft``) instead of leaving
        them unmapped. Microsoft tenant and subscription ids are GUIDs, the same whatever their
        case; every Microsoft format keys its lines in lower case, without the braces the
        registry and PowerShell write around a GUID (``{AB12...}`` mapped no line). An AWS account
        id as the AWS console shows it, ``4027-1938-5610``, is the id ``402719385610`` of the
        reports."""
        self.vendor = line_vendor(self.vendor)
        if self.vendor == "microsoft":
            self.account_id = self.account_id.lower()
            if re.fullmatch(r"\{\s*[0-9a-f-]{36}\s*\}", self.account_id):
                self.account_id = self.account_id[1:-1].strip()
        if self.vendor == "aws" and re.fullmatch(r"\d{4}([- ]?)\d{4}\1\d{4}", self.account_id):
            self.account_id = re.sub(r"[- ]", "", self.account_id)
        return self

    @field_validator("vendor")
    @classmethod
    def _vendor_not_misspelt(cls, value: str) -> str:
        """The vendor is checked for a misspelling (``model.checked_vendor``) where the file
        names it, the column of the message."""
        checked_vendor(value)
        return value

    @field_validator("account_id")
    @classmethod
    def _not_rewritten_by_a_spreadsheet(cls, value: str) -> str:
        """An account id saved by a spreadsheet in scientific notation maps nothing: its lines
        would be left unmapped, its customer's invoice short; so does one with the apostrophe a
        spreadsheet's user types to keep a number as text (``'402719385610``)."""
        if value.startswith("'"):
            raise ValueError(
                "expected the account id without the apostrophe a spreadsheet uses to keep a "
                f"number as text (write {value[1:]}): the row would map no line"
            )
        if in_scientific_notation(value):
            raise ValueError(
                "expected the account id as the vendor writes it (e.g. 402719385610), not a long "
                "number as a spreadsheet writes it: accounts.csv was saved by a spreadsheet; write "
                "the id in full (a text editor, or the column formatted as text)"
            )
        return value


def load_customers(parameters: Path) -> dict[str, Customer]:
    """Customers by id from ``parameters/customers.yaml``; ids must be unique, whatever their
    case: with ``C001`` and ``c001`` both customers, an accounts.csv row or a custom line whose
    id was typed in the wrong case billed the other customer without a word."""
    path = Path(parameters) / CUSTOMERS_FILE
    data = read_yaml(path)
    parsed = validate(CustomersFile, path, data)
    out: dict[str, Customer] = {}
    folded: dict[str, str] = {}
    for c in parsed.customers:
        if c.id in out:
            raise ParameterError(path, f"customers[id={c.id}]", "the id is used twice")
        other = folded.setdefault(c.id.casefold(), c.id)
        if other != c.id:
            raise ParameterError(
                path,
                f"customers[id={c.id}]",
                f"the id differs from the id {other!r} only in case; expected ids that differ "
                "in more than case (accounts.csv and custom_lines.yaml written in the wrong "
                "case would bill the other customer)",
            )
        check_grouping(c.line_grouping, c.id, path)  # at load, not after the rating
        if c.vat_rule == "eu_reverse_charge" and not (c.vat_number or "").strip():
            raise ParameterError(
                path,
                f"customers[id={c.id}].vat_number",
                "the reverse charge (vat_rule eu_reverse_charge) needs the customer's VAT "
                "number, printed on the invoice (Art. 226(4) Directive 2006/112/EC)",
            )
        out[c.id] = c
    return out


def load_account_mappings(parameters: Path, customers: dict[str, Customer]) -> list[AccountMapping]:
    """Rows of ``parameters/accounts.csv``; an unknown customer or overlapping dates for one account
    is an error naming the row."""
    path = Path(parameters) / ACCOUNTS_FILE
    if not path.exists():
        raise ParameterError(path, None, "file not found")
    rows: list[AccountMapping] = []
    same_account: dict[tuple[str, str], list[tuple[int, AccountMapping]]] = {}
    columns = ("vendor", "account_id", "customer_id")
    for n, clean in csv_rows(path, columns, ("valid_from", "valid_to", "note")):
        if not any(clean.values()):
            continue  # a row a spreadsheet saves as ,,,,, (as exchange_rates.csv's)
        m = validate(AccountMapping, path, clean, row=n)
        m.row = n
        if m.customer_id not in customers:
            _refuse_customer(path, n, m.customer_id, customers)
        _check_account_id(path, n, m)
        if m.valid_from and m.valid_to and m.valid_to < m.valid_from:
            raise ParameterError(path, f"row {n}", "valid_to is before valid_from")
        # Only the account's own earlier rows can overlap: a dict keeps this linear for the
        # thousands of accounts of a large reseller.
        for k, other in same_account.get((m.vendor, m.account_id), []):
            if (other.customer_id, other.valid_from, other.valid_to) == (
                m.customer_id,
                m.valid_from,
                m.valid_to,
            ):
                raise ParameterError(
                    path,
                    f"row {n}",
                    f"the row repeats row {k} ({m.vendor}/{m.account_id} to {m.customer_id}, the "
                    "same dates); remove one of them",
                )
            _check_not_touching(path, n, k, other, m)
            if _overlap(other, m):
                raise ParameterError(
                    path,
                    f"row {n}",
                    f"account {m.vendor}/{m.account_id} is already mapped for these dates in "
                    f"row {k}",
                )
        same_account.setdefault((m.vendor, m.account_id), []).append((n, m))
        rows.append(m)
    return rows


def _refuse_customer(
    path: Path, row: int, customer_id: str, customers: dict[str, Customer]
) -> NoReturn:
    """ParameterError for a customer id customers.yaml lacks: the one meant when it differs only
    in case (ids differ in more than case, ``load_customers``), else the known ids."""
    meant = [c for c in customers if c.casefold() == customer_id.casefold()]
    known = (
        f"customer ids are compared exactly: did you mean {meant[0]!r}?"
        if meant
        else f"known: {sorted(customers)}"
    )
    raise ParameterError(
        path, f"row {row}, column customer_id", f"unknown customer {customer_id!r}; {known}"
    )


#: A domain name (``contoso.onmicrosoft.com``), lower case: no Microsoft id is one.
DOMAIN_NAME = r"[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}"


def _check_account_id(path: Path, row: int, m: AccountMapping) -> None:
    """ParameterError for an account id of ``row`` that would map no line: an AWS id not digits
    only, an id holding a quote or an invisible character."""
    if m.vendor == "aws" and not (m.account_id.isascii() and m.account_id.isdigit()):
        _refuse_aws_id(path, row, m.account_id)
    if m.vendor == "microsoft" and re.fullmatch(DOMAIN_NAME, m.account_id):
        raise ParameterError(
            path,
            f"row {row}, column account_id",
            f"expected the customer's tenant id (a GUID), not its domain {m.account_id!r}: every "
            "Microsoft report keys a customer's lines by its tenant id, so the row would map no "
            "line. The Partner Center customer list (or `billing customers sync`) gives the "
            "tenant id; keep the domain in the note",
        )
    odd = _odd_characters(m.account_id)
    if odd:
        raise ParameterError(
            path,
            f"row {row}, column account_id",
            f"expected the account id as the vendor's report writes it; found "
            f"{', '.join(repr(ch) for ch in odd)} in it ({m.account_id!r}: a quote, or a "
            "non-breaking, zero-width or other invisible character pasted with it), so the "
            "row would map no line: type the id again",
        )


def _odd_characters(value: str) -> list[str]:
    """The characters of an account id that no vendor writes in one: quotes, and spaces other
    than the plain one and invisible characters (``unicodedata`` categories Zs, Cf, Cc, Zl,
    Zp), each once."""
    return sorted(
        {
            ch
            for ch in value
            if ch == '"'
            or unicodedata.category(ch) in ("Cf", "Cc", "Zl", "Zp")
            or (unicodedata.category(ch) == "Zs" and ch != " ")
        }
    )


def _refuse_aws_id(path: Path, row: int, account_id: str) -> NoReturn:
    """ParameterError for an AWS account id that is not digits only: quotes, a space of any kind
    (a non-breaking or zero-width one pasted from a web page) or a spreadsheet's number
    (``402719385610.0``, ``4.02719E11``) map no line, so its lines went unmapped and ``billing
    customers sync`` proposed a new customer for an account the row means."""
    raise ParameterError(
        path,
        f"row {row}, column account_id",
        f"expected the AWS account id in digits only, as the reports write it (e.g. "
        f"402719385610; the console's 4027-1938-5610 is read too); found {account_id!r}, which "
        "would map no line: remove the quotes, spaces or decimals",
    )


def _check_not_touching(
    path: Path, row: int, earlier: int, other: AccountMapping, m: AccountMapping
) -> None:
    """ParameterError for a move written with an exclusive end (one row's ``valid_to`` the other
    row's ``valid_from``, in either order): both rows map that day. Said so, with the dates to
    write, since "already mapped for these dates" left the analyst to find out that ``valid_to``
    is inclusive. ``m``: the mapping of ``row``; ``other``: that of the ``earlier`` row."""
    if other.valid_to is not None and other.valid_to == m.valid_from:
        day, column, ends, starts = other.valid_to, "valid_from", f"row {earlier}", "this row"
    elif m.valid_to is not None and m.valid_to == other.valid_from:
        day, column, ends, starts = m.valid_to, "valid_to", "this row", f"row {earlier}"
    else:
        return
    raise ParameterError(
        path,
        f"row {row}, column {column}",
        f"account {m.vendor}/{m.account_id} is already mapped for these dates in row "
        f"{earlier} (to {other.customer_id}), both on {day}: valid_from and valid_to are "
        f"inclusive, each day billed once; end {ends} on {day - timedelta(days=1)} "
        f"(valid_to, its last day) or start {starts} on {day + timedelta(days=1)}",
    )


def _overlap(a: AccountMapping, b: AccountMapping) -> bool:
    return first_common_day(a.valid_from, a.valid_to, b.valid_from, b.valid_to) is not None


def account_map_table(mappings: Iterable[AccountMapping]) -> pa.Table:
    """The mappings as a table of ``account_map``'s columns, ``row`` their accounts.csv row (for
    the review to name it). One Arrow table, not one INSERT per mapping (executemany takes
    seconds for thousands)."""
    rows = list(mappings)
    return pa.table(
        {
            "vendor": pa.array([m.vendor for m in rows], pa.string()),
            "account_id": pa.array([m.account_id for m in rows], pa.string()),
            "customer_id": pa.array([m.customer_id for m in rows], pa.string()),
            "valid_from": pa.array([m.valid_from for m in rows], pa.date32()),
            "valid_to": pa.array([m.valid_to for m in rows], pa.date32()),
            "row": pa.array([m.row for m in rows], pa.int64()),
        }
    )


def register_account_map(con: duckdb.DuckDBPyConnection, mappings: list[AccountMapping]) -> None:
    """Put the mappings into the table ``account_map`` (``account_map_table``'s columns)."""
    con.execute(
        "CREATE OR REPLACE TABLE account_map (vendor VARCHAR, account_id VARCHAR, "
        'customer_id VARCHAR, valid_from DATE, valid_to DATE, "row" BIGINT)'
    )
    if mappings:
        con.register("__account_map_rows", account_map_table(mappings))
        try:
            con.execute("INSERT INTO account_map SELECT * FROM __account_map_rows")
        finally:
            con.unregister("__account_map_rows")


#: SQL of the day a line of ``lines l`` is mapped on (its pricing date, the charge date for a line
#: stored without one), and whether the mapping ``m`` holds on it.
MAPPING_DAY = "COALESCE(l.x_PricingDate, CAST(l.ChargePeriodStart AS DATE))"


def mapped_on_day_sql(m: str, day: str = MAPPING_DAY) -> str:
    """SQL: the mapping ``m`` (a row of ``account_map``) holds on ``day`` (by default the day the
    line ``l`` is mapped on)."""
    return (
        f"{day} BETWEEN COALESCE({m}.valid_from, DATE '0001-01-01') "
        f"AND COALESCE({m}.valid_to, DATE '9999-12-31')"
    )


def customer_joins_sql(
    table: str = "account_map", day: str = MAPPING_DAY, s: str = "s", m: str = "m"
) -> str:
    """SQL: the LEFT JOINs of ``table`` (``account_map``'s columns) that tell the customer of the
    line ``l`` on ``day``: ``s`` the row of its subscription (``x_SubscriptionId``), ``m`` the row
    of its account (``SubAccountId``); the customer is ``customer_sql(s, m)``. The one rule every
    query deciding a line's customer uses (``assign_customers``, the review's account moves, the
    checks of the same usage or purchase in two reports), so that none of them maps a line by its
    tenant where the invoice bills it by its subscription. Hash joins on plain columns against
    the small mapping table, in one scan of the lines."""
    return (
        f"LEFT JOIN {table} {s} ON {s}.vendor = l.x_Vendor "
        f"AND {s}.account_id = l.x_SubscriptionId AND {mapped_on_day_sql(s, day)} "
        f"LEFT JOIN {table} {m} ON {m}.vendor = l.x_Vendor "
        f"AND {m}.account_id = l.SubAccountId AND {mapped_on_day_sql(m, day)}"
    )


def customer_sql(s: str = "s", m: str = "m") -> str:
    """SQL: the line's customer from ``customer_joins_sql``'s rows: its subscription's row before
    its account's; NULL when neither maps it."""
    return f"COALESCE({s}.customer_id, {m}.customer_id)"


def assign_customers(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``customer_lines``: every line of ``lines`` with ``x_CustomerId`` (NULL when its
    account maps to no customer on the line's pricing date). Row count equals ``lines`` by
    construction: mappings never overlap, so each join matches at most one mapping per line.

    A line is mapped by its most specific key accounts.csv has on that day: its subscription
    (``x_SubscriptionId``: the licence or Azure subscription of a line keyed by the customer's
    tenant) before its account (``SubAccountId``). A tenant shared by customers (a subsidiary
    billed apart) has a row per subscription billed to another customer; the tenant's row maps
    the rest. The subscription's row was ignored and its lines billed to the tenant's customer.

    The pricing date (``x_PricingDate``; the charge date for a line stored without one) is the
    charge date but for a Partner Center licence credit, whose is the first day of the cycle it
    gives back: the credit belongs to the customer that cycle's charge was billed to, also when
    the tenant moved to another customer since (docs/pricing.md, "The plan").

    A view, not a table: the join with a few thousand mappings costs far less than a copy of
    every line (seconds per million lines), and the rating reads it only a few times. Both joins
    are hash joins on plain columns against the small mapping table, in the one scan of
    ``lines``; a line without a subscription probes nothing in the first."""
    drop_relation(con, "customer_lines")
    con.execute(
        f"""CREATE VIEW customer_lines AS
           SELECT l.*, {customer_sql()} AS x_CustomerId
           FROM lines l {customer_joins_sql()}"""
    )


#: The accounts of the store's lines that a subscription's row does not map on every line's day
#: (vendor, account id, name): those a row of the account's own may be proposed for (``billing
#: customers sync``). A tenant whose every line its subscriptions' rows map needs no row.
ACCOUNTS_SEEN_SQL = f"""
SELECT l.x_Vendor, l.SubAccountId, any_value(l.SubAccountName) FROM lines l
LEFT JOIN account_map s
  ON s.vendor = l.x_Vendor AND s.account_id = l.x_SubscriptionId AND {mapped_on_day_sql("s")}
WHERE l.SubAccountId IS NOT NULL AND s.customer_id IS NULL
GROUP BY 1, 2 ORDER BY 1, 2
"""

UNMAPPED_SQL = """
SELECT x_Vendor AS vendor, SubAccountId AS account_id, any_value(SubAccountName) AS account_name,
       BillingCurrency AS currency, count(*) AS lines, sum(BilledCost) AS cost,
       string_agg(DISTINCT x_SourceFile, ', ') AS files
FROM customer_lines WHERE x_CustomerId IS NULL
GROUP BY ALL ORDER BY vendor, account_id, currency
"""
