"""Invoicing parameters: the seller (``parameters/seller.yaml``) and the products, vendors and
chart of accounts (``parameters/products.yaml``), checked against each other when loaded.

Loaded once per run (``load_invoicing``); building invoices, the ledger and the documents read
them from the ``Invoicing`` they are given, never from the files.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError

from billing_lib.countries import checked_country
from billing_lib.customers import PEPPOL_ID, Customer
from billing_lib.e_invoice_parties import seller_problems
from billing_lib.email_addresses import checked_email
from billing_lib.errors import ParameterError
from billing_lib.fx import FX_PLAUSIBILITY_FACTOR
from billing_lib.parameter_files import Strict, pydantic_problem, read_yaml
from billing_lib.peppol_ids import checked_peppol_id, checked_registration
from billing_lib.postal_addresses import checked_postal_code, checked_state
from billing_lib.printed_texts import PrintedText
from billing_lib.vat import VatRules, load_vat_rules
from billing_lib.vat_numbers import checked_vat_number, compact_vat_number
from billing_lib.vat_places import VAT_PREFIX, vat_territory

SELLER_FILE = "seller.yaml"
PRODUCTS_FILE = "products.yaml"
#: Default and largest ``usage_detail_max_lines`` (seller.yaml): a workbook lists the rated lines of
#: invoices up to this size one by one (cell by cell, with xlsxwriter, about 0.2 ms a line); the
#: limit keeps each vendor's lines on one sheet (Excel's limit is 1,048,576 rows).
USAGE_DETAIL_MAX_LINES = 1_000
USAGE_DETAIL_LIMIT = 1_000_000
#: The default ``rounding_account`` of products.yaml (docs/invoices-and-ledger.md, "The ledger").
ROUNDING_ACCOUNT = "7099"


class Payment(Strict):
    account_holder: PrintedText
    iban: str
    bic: str = Field(pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
    bank: PrintedText | None = None
    instructions: PrintedText | None = None

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        """ISO 13616 check digits and the country's IBAN length and form (python-stdnum), so a
        typo never reaches an invoice."""
        try:
            return str(stdnum_iban.validate(value))
        except InvalidChecksum:
            raise ValueError("the IBAN's check digits are wrong") from None
        except StdnumError:
            raise ValueError(
                "expected an IBAN such as NL91ABNA0417164300 (its length or form is not one of "
                "its country's IBANs)"
            ) from None


class Seller(Strict):
    """The reseller as its invoices show it (``parameters/seller.yaml``)."""

    name: PrintedText
    address: list[PrintedText] = Field(min_length=1)
    country: Annotated[str, AfterValidator(checked_country)] = Field(pattern=r"^[A-Z]{2}$")
    vat_number: Annotated[str, BeforeValidator(checked_vat_number)] = Field(min_length=4)
    chamber_of_commerce: Annotated[PrintedText | None, AfterValidator(checked_registration)] = None
    email: Annotated[str | None, BeforeValidator(checked_email)] = None
    phone: PrintedText | None = None
    website: PrintedText | None = None
    #: Postcode and city as in ``address``, for the e-invoice's structured address, and the
    #: state (province, territory: US, CA, AU) for it and the printed address.
    postal_code: Annotated[PrintedText | None, AfterValidator(checked_postal_code)] = None
    city: PrintedText | None = None
    state: Annotated[PrintedText | None, AfterValidator(checked_state)] = None
    #: Peppol electronic address '<EAS scheme>:<id>' (e.g. 0106:81234567, the KvK number).
    peppol_id: Annotated[str | None, AfterValidator(checked_peppol_id)] = Field(
        None, pattern=PEPPOL_ID
    )
    #: A logo (PNG or JPEG) for the invoice PDFs, relative to the parameters folder.
    logo: str | None = None
    #: Embed each invoice's PDF in its UBL e-invoice (AdditionalDocumentReference).
    ubl_attach_pdf: bool = True
    invoice_series: str = Field(pattern=r"^[A-Z]{1,8}$")
    credit_note_series: str = Field(pattern=r"^[A-Z]{1,8}$")
    payment: Payment
    #: Invoices with up to this many rated lines list each of them in the workbook's usage sheets;
    #: larger ones get summarised usage sheets (every invoice's lines are in
    #: ``<workbook>.usage.parquet`` beside it).
    usage_detail_max_lines: int = USAGE_DETAIL_MAX_LINES
    #: Also write every invoice's rated lines as ``<workbook>.usage.csv`` (UTF-8 with BOM, comma,
    #: decimal point) for customers who open them in a spreadsheet; a run setting, not part of
    #: the seller block of ``invoices.json``.
    usage_detail_csv: bool = Field(False, exclude=True)
    #: Neighbouring exchange rates of one pair may differ by at most this factor (billing_lib.fx);
    #: a run setting, not part of the seller block of ``invoices.json``.
    fx_plausibility_factor: Decimal = Field(FX_PLAUSIBILITY_FACTOR, gt=1, le=1000, exclude=True)

    @field_validator("usage_detail_max_lines", mode="before")
    @classmethod
    def _detail_lines(cls, value: object) -> object:
        if type(value) is not int or not 0 <= value <= USAGE_DETAIL_LIMIT:
            raise ValueError(
                f"expected a whole number of rated lines from 0 to {USAGE_DETAIL_LIMIT} (invoices "
                "with more get summarised usage sheets; every line is in <workbook>.usage.parquet)"
            )
        return value

    @field_validator("vat_number")
    @classmethod
    def _of_the_seller_s_country(cls, value: str, info: ValidationInfo) -> str:
        """The seller's VAT number is of its country (EL for GR, XI allowed in GB): the VAT
        rules follow from the country, and a Dutch seller with a German number charged Dutch
        VAT under it. Read ``AS_ISSUED`` (invoices.json), taken as it is."""
        country = info.data.get("country")
        if not country or (info.context or {}).get("as_issued"):
            return value
        territory = vat_territory(country)
        prefix = VAT_PREFIX.get(territory, territory)
        number = compact_vat_number(value)
        if number.startswith(prefix) or (territory == "GB" and number.startswith("XI")):
            return value
        raise ValueError(
            f"expected the seller's VAT number of {country} ({prefix}...), its country: the VAT "
            "rules follow from the seller's country"
        )

    @model_validator(mode="after")
    def _series(self) -> Seller:
        if self.invoice_series == self.credit_note_series:
            raise ValueError("credit notes need their own series (credit_note_series)")
        return self


class Account(Strict):
    name: str = Field(min_length=1)
    type: Literal["asset", "liability", "income", "expense"]


_ROOTS = {"asset": "Assets", "liability": "Liabilities", "income": "Income", "expense": "Expenses"}


def beancount_name(code: str, account: Account) -> str:
    """The beancount account of ``code``: ``1300`` -> ``Assets:1300-Accounts-receivable`` (root
    from the account's type). A beancount account's part starts with a capital letter or a
    digit, so a code such as ``rev-aws`` reads ``Income:Revaws-Revenue-AWS``: written as it is,
    beancount refused the whole ledger, and a credit note of the month with it. Only the code's
    letters and digits are kept, so ``4000-1`` and ``4000.1`` of one name would be one account:
    ``load_invoicing`` refuses such a chart. Letters are any script's (beancount takes them in
    an account name): "Umsatzerlöse" kept the ASCII ones only, ``Umsatzerl-se``, and a name in
    Cyrillic none; a name is composed first (NFC), so an e and its accent are one letter."""
    words = re.findall(r"[^\W_]+", unicodedata.normalize("NFC", account.name))
    letters = re.sub(r"[\W_]", "", unicodedata.normalize("NFC", code))
    part = f"{letters}-{'-'.join(words)}"
    part = part[:1].upper() + part[1:]
    return f"{_ROOTS[account.type]}:{part if part[:1].isalnum() else 'Account' + part}"


def _codes_sharing(
    accounts: dict[str, Account], key: Callable[[str, Account], str]
) -> tuple[str, str, str] | None:
    """The first two codes of ``accounts`` (in the file's order) whose ``key`` is one, and that
    key; None when every code has its own."""
    seen: dict[str, str] = {}
    for code, account in accounts.items():
        value = key(code, account)
        if value in seen:
            return seen[value], code, value
        seen[value] = code
    return None


def _merged_accounts(accounts: dict[str, Account], path: Path) -> None:
    """A ParameterError for two codes of ``accounts`` with one beancount name (``4000-1`` and
    ``4000.1``, both "Revenue"): the ledger would merge two accounts, and bean-check cannot tell."""
    shared = _codes_sharing(accounts, beancount_name)
    if shared:
        first, code, name = shared
        raise ParameterError(
            path,
            f"accounts.{code}",
            f"account codes {first!r} and {code!r} share the beancount account "
            f"name {name} (it keeps a code's and a name's letters and digits only), so the "
            "ledger would book both on one account; give them codes or names that differ in "
            "their letters or digits",
        )


def _quickbooks_merged(accounts: dict[str, Account], path: Path) -> None:
    """A ParameterError for two codes of ``accounts`` with one name (``8020`` and ``8021`` both
    "Revenue Microsoft"): the QuickBooks Online journal (always written, beside Xero's) names an
    account by its name alone, so QuickBooks would book both on one account. Names are compared
    ignoring case and repeated spaces, as an accountant reads them and as QuickBooks may match
    them; the codes alone (Xero, beancount) would keep them apart, so nothing else notices."""
    shared = _codes_sharing(accounts, lambda _, account: " ".join(account.name.split()).casefold())
    if shared:
        first, code, _ = shared
        raise ParameterError(
            path,
            f"accounts.{code}",
            f"account codes {first!r} and {code!r} share the name "
            f"{accounts[first].name!r}: the QuickBooks Online journal names an account by "
            "its name only, so QuickBooks would book both on one account; give each code "
            "the name of its own account in QuickBooks",
        )


#: QuickBooks Online's longest name of an account, customer or vendor (Intuit help, "Which
#: contact fields are imported?": "A name cannot exceed 100 characters"; an account's name
#: likewise, each account of a sub-account's path).
QUICKBOOKS_MAX_NAME = 100
#: What QuickBooks' name of a receivable or payable account in an entry in another currency
#: adds to it (``quickbooks_journal.quickbooks_account``: "<name> - USD").
QUICKBOOKS_CURRENCY_SUFFIX = len(" - USD")
#: The characters QuickBooks Online refuses in the name of a customer, vendor or account, and
#: how a message names them; a colon besides, which it reads as the path of a sub-customer or
#: sub-account ("ACME:Germany", "Revenue:AWS").
QUICKBOOKS_REFUSED = {
    '"': "a double quote",
    "\t": "a tab",
    **dict.fromkeys("\n\r\v\f\x85\u2028\u2029", "a line break"),
}


def _quickbooks_account_names(products: Products, path: Path) -> None:
    """A ParameterError for an account whose name the QuickBooks Online journal (always
    written, beside Xero's) would give as no account QuickBooks has or can have. The file
    gives products.yaml's name as it is, and QuickBooks reads a colon in it as the path of a
    sub-account ("Revenue:Revenue AWS", its FullyQualifiedName): a colon is the way to name
    a sub-account, but the path's accounts must each be a name (none empty, no space beside
    a colon: "Revenue: AWS" is a sub-account " AWS" of "Revenue "), without a double quote,
    tab or line break (``QUICKBOOKS_REFUSED``), and of at most ``QUICKBOOKS_MAX_NAME``
    characters; the last of the receivable account's and the vendors' payable accounts', which
    an entry in another currency names "<name> - <currency>", of at most that less
    ``QUICKBOOKS_CURRENCY_SUFFIX``. The chart is refused when loaded rather than the file when
    imported."""
    per_currency = {products.receivable_account} | {
        v.payable_account for v in products.vendors.values()
    }
    for code, account in products.accounts.items():
        problem = _quickbooks_account_problem(
            account.name, code in per_currency, code == products.receivable_account
        )
        if problem:
            raise ParameterError(path, f"accounts.{code}", problem)


def _quickbooks_account_problem(name: str, per_currency: bool, receivable: bool) -> str | None:
    """What is wrong with the account name ``name`` in the QuickBooks Online journal
    (``_quickbooks_account_names``), None when nothing."""
    which = "receivable" if receivable else "payable"
    refused = next((c for c in name if c in QUICKBOOKS_REFUSED), None)
    if refused is not None:
        return (
            f"the account name {name!r} has {QUICKBOOKS_REFUSED[refused]}, which QuickBooks "
            "Online refuses in an account's name, and the QuickBooks journal names the account "
            "by its name: give it the name it has in QuickBooks"
        )
    parts = name.split(":")
    path = (
        "; a colon in an account name is QuickBooks' sub-account path, "
        "'Revenue:Revenue AWS' the sub-account 'Revenue AWS' of 'Revenue'"
    )
    for n, part in enumerate(parts):
        if not part.strip():
            where = (
                "before a colon"
                if n == 0
                else "after a colon"
                if n == len(parts) - 1
                else "between two colons"
            )
            return (
                f"the account name {name!r} has an empty account {where}, which the QuickBooks "
                f"journal would give as no account QuickBooks has{path}: give each account of "
                "the path its name"
            )
        if len(parts) > 1 and part != part.strip():
            return (
                f"the account name {name!r} has a space beside a colon, and the QuickBooks "
                f"journal would name an account {part!r}{path} (no space beside the colon): "
                "give the path as QuickBooks names it, or a name without a colon"
            )
        last = n == len(parts) - 1
        limit = QUICKBOOKS_MAX_NAME - (QUICKBOOKS_CURRENCY_SUFFIX if per_currency and last else 0)
        if len(part) > limit:
            what = (
                f"the account name is {len(part)} characters"
                if len(parts) == 1
                else f"account {n + 1} of the path {name!r} is {len(part)} characters"
            )
            why = (
                f", as the {which} account is named '<name> - <currency>' in an entry in "
                "another currency"
                if per_currency and last
                else ""
            )
            return (
                f"{what}; the QuickBooks Online journal names the account by its name, which "
                f"QuickBooks keeps to at most {QUICKBOOKS_MAX_NAME} characters{why}: give it a "
                f"name of at most {limit} characters, the one it has in QuickBooks"
            )
    return None


def _not_subject_needs_registration(seller: Seller, vat: VatRules, path: Path) -> None:
    """A ParameterError for a VAT rule not subject to VAT (category O) beside a seller without
    ``chamber_of_commerce``: such an e-invoice leaves out the seller's VAT identifier (EN 16931
    BR-O-02), so its legal registration is what identifies the seller (BR-CO-26), and every
    e-invoice of the rule would be refused without it."""
    outside = [name for name, rule in vat.rules.items() if rule.ubl_category == "O"]
    if outside and not seller.chamber_of_commerce:
        raise ParameterError(
            path,
            "chamber_of_commerce",
            f"vat_rules.yaml rules.{outside[0]} is not subject to VAT (category O), whose "
            "e-invoice may not give the seller's VAT number (EN 16931 BR-O-02) and so names the "
            "seller by its legal registration (BR-CO-26); give the chamber_of_commerce number",
        )


class ProductGroup(Strict):
    heading: PrintedText
    revenue_account: str
    cost_account: str
    order: int = 100


class VendorAccounts(Strict):
    name: PrintedText
    payable_account: str
    #: Where the VAT the vendor charges on the reseller's purchase (its ChargeCategory Tax lines,
    #: never billed to customers) is booked when it is recoverable input VAT (an asset, or the
    #: VAT account a package keeps for both sides); None: a tax the reseller cannot recover (a
    #: US sales tax), booked as cost on ``unbilled_cost_account``.
    input_vat_account: str | None = None
    #: The companies (``InvoiceIssuerName``, exactly as the vendor's report names them: AWS's
    #: ``bill/InvoicingEntity``) whose Tax lines are that recoverable VAT; the Tax lines of
    #: any other issuer (or of none) are cost on ``unbilled_cost_account``, as a vendor's
    #: without ``input_vat_account``. None: every issuer's. AWS invoices from "Amazon Web
    #: Services EMEA SARL" (EU VAT: recoverable) and "Amazon Web Services, Inc." (US sales tax:
    #: not), which one account per vendor booked as one.
    input_vat_issuers: list[Annotated[str, Field(min_length=1)]] | None = Field(
        default=None, min_length=1
    )
    #: The VAT code the journal carries on that input VAT posting (the VAT return is filed from
    #: the CSV journal's vat_code column; map it to the package's code for deductible VAT).
    input_vat_code: str = Field(default="INPUT-VAT", min_length=1)

    @field_validator("input_vat_issuers")
    @classmethod
    def _issuers_need_account(cls, issuers: list[str] | None, info: ValidationInfo) -> object:
        """Issuers of recoverable VAT need the account it is booked on."""
        if issuers is not None and info.data.get("input_vat_account") is None:
            raise ValueError(
                "the issuers whose tax is recoverable input VAT need the account it is booked "
                "on: give input_vat_account too, or leave input_vat_issuers out"
            )
        return issuers


class Products(Strict):
    """Product groups (invoice heading, revenue and cost account), vendors (payable account) and
    the chart of accounts (``parameters/products.yaml``)."""

    accounts: dict[str, Account]
    receivable_account: str
    prepaid_account: str
    unbilled_cost_account: str
    #: Where a purchase entry books the cents between the vendor's bill and the cost of sales the
    #: invoices carry (rounded per invoice line): ``ROUNDING_ACCOUNT``, added to ``accounts`` as
    #: "Rounding differences" (an expense) when the chart has no such account, if not given.
    rounding_account: str = ROUNDING_ACCOUNT
    vendors: dict[str, VendorAccounts]
    product_groups: dict[str, ProductGroup]

    @model_validator(mode="before")
    @classmethod
    def _rounding(cls, data: object) -> object:
        """Without ``rounding_account``, the default one, opened in the chart if it is not."""
        if not isinstance(data, dict) or "rounding_account" in data:
            return data
        accounts = data.get("accounts")
        if isinstance(accounts, dict) and ROUNDING_ACCOUNT not in accounts:
            default = {"name": "Rounding differences", "type": "expense"}
            return {**data, "accounts": {**accounts, ROUNDING_ACCOUNT: default}}
        return data


@dataclass(frozen=True)
class Invoicing:
    """Everything invoicing reads from ``parameters/`` besides the customers."""

    seller: Seller
    vat: VatRules
    products: Products
    folder: Path
    customers: dict[str, Customer] = field(default_factory=dict)

    def account(self, code: str) -> Account:
        return self.products.accounts[code]

    @property
    def national_currency(self) -> str:
        """The currency the seller declares VAT in today (``national_currency_on``)."""
        return self.national_currency_on(date.today())

    def national_currency_on(self, day: date) -> str:
        """The currency the seller declares VAT in on ``day`` (a supply period's last day):
        vat_rules.yaml ``national_currency``, else its country's then (``territory_currency``;
        checked by ``load_invoicing``)."""
        return self.vat.national_currency or territory_currency(self.seller.country, day) or ""


#: Changeovers to the euro after the CLDR data babel ships: babel 2.18 still names the lev for
#: Bulgaria, which adopted the euro on 2026-01-01 (Council of the EU, 8 July 2025).
_EURO_SINCE = {"BG": date(2026, 1, 1)}


def territory_currency(country: str, day: date | None = None) -> str | None:
    """The currency in use in ``country`` (ISO 3166 alpha-2; CLDR, through babel, and
    ``_EURO_SINCE``) on ``day`` (None: today), None when CLDR names none. Of two in use that
    day (the old one's last weeks of circulation: Croatia's kuna to 2023-01-14) the one that
    stays."""
    from babel.numbers import get_territory_currencies

    day = day or date.today()
    since = _EURO_SINCE.get(country)
    if since is not None and day >= since:
        return "EUR"
    found = get_territory_currencies(country, start_date=day, include_details=True)
    staying = [f for f in found if f["to"] is None] or found
    return str(staying[0]["currency"]) if staying else None


_M = TypeVar("_M", bound=BaseModel)


def _model(cls: type[_M], path: Path) -> _M:
    data = read_yaml(path)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problem(path, exc, data, cls) from exc


def load_invoicing(parameters: Path, customers: dict[str, Customer] | None = None) -> Invoicing:
    """Seller, VAT rules and products from ``parameters/``, with every account they name checked
    against the chart of accounts. ``customers`` are kept for the writers (usage sheets); they are
    checked against the VAT rules when they are invoiced (``build_invoices``), so a customer with
    no lines this month does not stop the run."""
    folder = Path(parameters)
    seller = _model(Seller, folder / SELLER_FILE)
    e_invoice = seller_problems(seller)  # Peppol rules every invoice's UBL would fail
    if e_invoice:
        others = "".join(f"\n  - entry {key}: {why}" for key, why in e_invoice[1:])
        raise ParameterError(folder / SELLER_FILE, e_invoice[0][0], e_invoice[0][1] + others)
    vat = load_vat_rules(folder)
    _not_subject_needs_registration(seller, vat, folder / SELLER_FILE)
    products = _model(Products, folder / PRODUCTS_FILE)
    path = folder / PRODUCTS_FILE
    known = products.accounts
    _merged_accounts(known, path)
    _quickbooks_merged(known, path)
    _quickbooks_account_names(products, path)

    def need(code: str, entry: str, kinds: tuple[str, ...], file: Path = path) -> None:
        if code not in known:
            raise ParameterError(file, entry, f"account {code!r} is not in products.yaml accounts")
        if known[code].type not in kinds:
            raise ParameterError(
                file,
                entry,
                f"account {code!r} is {known[code].type}; expected {' or '.join(kinds)}",
            )

    need(products.receivable_account, "receivable_account", ("asset",))
    need(products.prepaid_account, "prepaid_account", ("asset", "liability"))
    need(products.unbilled_cost_account, "unbilled_cost_account", ("expense",))
    need(products.rounding_account, "rounding_account", ("expense", "income"))
    for key, group in products.product_groups.items():
        need(group.revenue_account, f"product_groups.{key}.revenue_account", ("income",))
        need(group.cost_account, f"product_groups.{key}.cost_account", ("expense",))
    for key, vendor in products.vendors.items():
        need(vendor.payable_account, f"vendors.{key}.payable_account", ("liability",))
        if vendor.input_vat_account is not None:
            need(
                vendor.input_vat_account,
                f"vendors.{key}.input_vat_account",
                ("asset", "liability"),
            )
    for key, rule in vat.rules.items():
        need(
            rule.vat_account, f"rules.{key}.vat_account", ("liability",), folder / "vat_rules.yaml"
        )
    if not vat.national_currency and not territory_currency(seller.country):
        raise ParameterError(
            folder / "vat_rules.yaml",
            "national_currency",
            f"no currency is known for the seller's country {seller.country!r} (seller.yaml); "
            "give the currency VAT is declared in, e.g. 'national_currency: EUR'",
        )
    return Invoicing(seller, vat, products, folder, dict(customers or {}))
