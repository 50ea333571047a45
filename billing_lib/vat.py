"""VAT rules as data (``parameters/vat_rules.yaml``) and the choice of rule per customer.

Cloud and software services to a business are taxed where the customer is established (Art. 44
Directive 2006/112/EC), so the rule follows from the customer's country against the seller's:
the same country is ``domestic`` (Dutch VAT), another EU member state is ``eu_reverse_charge``
(0 %, the customer accounts for the VAT, both VAT numbers on the invoice, Art. 196 and 226(4)),
anywhere else, including a part of a member state outside the EU's VAT territory (the Canary
Islands, Livigno, by the postcode: Art. 6), is ``export`` (0 %, outside the scope of EU VAT). A
customer's ``vat_rule`` in customers.yaml overrides the derived rule; where the postcode cannot
tell (none given, or one shared with places inside the territory) it is asked for. Sales to EU
consumers (OSS) are not supported and are reported as an error rather than invoiced without VAT.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from billing_lib.countries import checked_country
from billing_lib.customers import STANDARD_VAT_RULES, Customer
from billing_lib.errors import ParameterError
from billing_lib.parameter_files import Day, pydantic_problem, read_yaml
from billing_lib.printed_texts import PrintedText
from billing_lib.vat_numbers import compact_vat_number
from billing_lib.vat_places import (
    VAT_PREFIX,
    customer_postcode,
    foreign_number_problem,
    outside_vat_territory,
    shared_postcode,
    territory_problem,
    vat_territory,
)

VAT_FILE = "vat_rules.yaml"
CUSTOMERS_FILE = "customers.yaml"
#: VAT categories that carry no VAT and need an exemption reason (code or text) on an e-invoice.
EXEMPT = ("E", "AE", "K", "G", "O")
#: VAT categories whose customer accounts for the VAT (reverse charge, intra-EU supply): the
#: invoice must carry a mention and the customer's VAT number (``VatRule._buyer_accounts``).
BUYER_ACCOUNTS = ("AE", "K")
#: VAT categories of a supply to a customer outside the EU: not subject to EU VAT (O: services,
#: supplied where the customer is, Art. 44), an export (G: goods, Art. 146).
OUTSIDE_THE_EU = ("O", "G")
#: The VATEX exemption reason codes (CEF VATEX code list, as EN 16931 BR-CL-22 takes them in
#: CEN/TC 434's validation artefacts 1.3.16): a code of the form but not of the list (a typo,
#: "VATEX-EU-RC") made every e-invoice of the rule fail BR-CL-22.
_VATEX_LIST = """
    VATEX-EU-79-C VATEX-EU-132 VATEX-EU-132-1A VATEX-EU-132-1B VATEX-EU-132-1C VATEX-EU-132-1D
    VATEX-EU-132-1E VATEX-EU-132-1F VATEX-EU-132-1G VATEX-EU-132-1H VATEX-EU-132-1I
    VATEX-EU-132-1J VATEX-EU-132-1K VATEX-EU-132-1L VATEX-EU-132-1M VATEX-EU-132-1N
    VATEX-EU-132-1O VATEX-EU-132-1P VATEX-EU-132-1Q VATEX-EU-135-1 VATEX-EU-143 VATEX-EU-143-1A
    VATEX-EU-143-1B VATEX-EU-143-1C VATEX-EU-143-1D VATEX-EU-143-1E VATEX-EU-143-1F
    VATEX-EU-143-1FA VATEX-EU-143-1G VATEX-EU-143-1H VATEX-EU-143-1I VATEX-EU-143-1J
    VATEX-EU-143-1K VATEX-EU-143-1L VATEX-EU-144 VATEX-EU-146-1E VATEX-EU-148 VATEX-EU-148-A
    VATEX-EU-148-B VATEX-EU-148-C VATEX-EU-148-D VATEX-EU-148-E VATEX-EU-148-F VATEX-EU-148-G
    VATEX-EU-151 VATEX-EU-151-1A VATEX-EU-151-1AA VATEX-EU-151-1B VATEX-EU-151-1C
    VATEX-EU-151-1D VATEX-EU-151-1E VATEX-EU-153 VATEX-EU-159 VATEX-EU-309 VATEX-EU-AE
    VATEX-EU-D VATEX-EU-F VATEX-EU-G VATEX-EU-I VATEX-EU-IC VATEX-EU-J VATEX-EU-O
    VATEX-FR-FRANCHISE VATEX-FR-CNWVAT VATEX-FR-AE VATEX-FR-CGI261-1 VATEX-FR-CGI261-2
    VATEX-FR-CGI261-3 VATEX-FR-CGI261-4 VATEX-FR-CGI261-5 VATEX-FR-CGI261-7 VATEX-FR-CGI261-8
    VATEX-FR-CGI261A VATEX-FR-CGI261B VATEX-FR-CGI261C-1 VATEX-FR-CGI261C-2 VATEX-FR-CGI261C-3
    VATEX-FR-CGI261D-1 VATEX-FR-CGI261D-1BIS VATEX-FR-CGI261D-2 VATEX-FR-CGI261D-3
    VATEX-FR-CGI261D-4 VATEX-FR-CGI261E-1 VATEX-FR-CGI261E-2 VATEX-FR-CGI277A VATEX-FR-CGI275
    VATEX-FR-298SEXDECIESA VATEX-FR-CGI295"""
VATEX_CODES = frozenset(_VATEX_LIST.split())
#: The codes only one VAT category may give, with the Peppol BIS Billing 3.0 rule that says so
#: (PEPPOL-EN16931-P0104 to P0111, fatal): a rule whose category changed and whose code did not
#: (export's VATEX-EU-G under O) made every Peppol e-invoice of it refused by the access point.
VATEX_CATEGORY = {
    "VATEX-EU-G": ("G", "P0104"),
    "VATEX-EU-O": ("O", "P0105"),
    "VATEX-EU-IC": ("K", "P0106"),
    "VATEX-EU-AE": ("AE", "P0107"),
    "VATEX-EU-D": ("E", "P0108"),
    "VATEX-EU-F": ("E", "P0109"),
    "VATEX-EU-I": ("E", "P0110"),
    "VATEX-EU-J": ("E", "P0111"),
}


def _exact_rate(value: object) -> object:
    if isinstance(value, float):
        raise ValueError('write the rate as text ("21"), a float is not exact')  # noqa: TRY004 (pydantic wants ValueError)
    return value


class RateChange(BaseModel):
    """A rule's rate from ``valid_from`` on (a member state changing its rate on 1 January),
    with the label and journal VAT code that go with it (left out: the rule's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    valid_from: Day
    rate: Annotated[Decimal, BeforeValidator(_exact_rate)] = Field(ge=0, le=100)
    label: PrintedText | None = None
    vat_code: str | None = Field(None, min_length=1)


class VatRule(BaseModel):
    """One way of charging VAT: the rate in percent, the code the journal carries, the legal
    mention printed on the invoice and whether the buyer's VAT number is required / shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = ""
    rate: Decimal = Field(ge=0, le=100, description="Percent, e.g. 21")
    vat_code: str = Field(min_length=1)
    label: PrintedText
    vat_account: str = Field(min_length=1, description="Key into products.yaml accounts")
    mention: PrintedText | None = None
    show_buyer_vat_number: bool = True
    requires_buyer_vat_number: bool = False
    #: The e-invoice's VAT category (UNCL 5305, EN 16931 BT-118): S standard rate, Z zero rated,
    #: E exempt, AE reverse charge, K intra-EU supply, G export outside the EU, O outside the scope.
    #: Left out: S when the rate is above 0, else Z.
    category: Literal["S", "Z", "E", "AE", "K", "G", "O"] | None = None
    #: The VATEX exemption reason code the e-invoice gives with the mention (e.g. VATEX-EU-AE);
    #: EN 16931 wants a code or a text for E, AE, K, G and O.
    exemption_code: str | None = Field(None, pattern=r"^VATEX-[A-Z0-9-]+$")
    #: The rate (label, VAT code) from a date on, in date order: ``rate`` is the one before the
    #: first. A month is invoiced at the rate in force on its supply period's last day
    #: (``on``), whenever it is billed: the rate was one per rule, so December billed in
    #: January after the file was changed for January took January's rate.
    rate_changes: tuple[RateChange, ...] = ()
    #: A reverse charge of the seller's own country for specific supplies (Art. 199, 199a
    #: Directive 2006/112/EC; not cloud services unless its law says so): category AE, for a
    #: customer in the seller's country that names it as its ``vat_rule``, never derived.
    domestic_reverse_charge: bool = False

    @field_validator("rate", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        return _exact_rate(value)

    @model_validator(mode="after")
    def _category(self) -> VatRule:
        days = [c.valid_from for c in self.rate_changes]
        if days != sorted(set(days)):
            raise ValueError(
                "rate_changes must be in date order, one per valid_from; got "
                + ", ".join(d.isoformat() for d in days)
            )
        self._mid_month_problem()
        for rate, where in [
            (self.rate, ""),
            *((c.rate, f" (rate_changes from {c.valid_from})") for c in self.rate_changes),
        ]:
            self._rate_problem(rate, where)
        for rate, label, where in [
            (self.rate, self.label, ""),
            *(
                (c.rate, c.label or self.label, f" (rate_changes from {c.valid_from})")
                for c in self.rate_changes
            ),
        ]:
            self._label_problem(rate, label, where)
        self._exemption_problem()
        if self.domestic_reverse_charge and self.ubl_category != "AE":
            raise ValueError(
                f"domestic_reverse_charge needs category AE (reverse charge), not "
                f"{self.ubl_category}"
            )
        if self.ubl_category in EXEMPT and not (self.exemption_code or self.mention):
            raise ValueError(
                f"category {self.ubl_category} needs a mention or an exemption_code (EN 16931 "
                "wants the reason on the e-invoice)"
            )
        if self.ubl_category in BUYER_ACCOUNTS:
            self._buyer_accounts()
        elif self.ubl_category in EXEMPT and not self.mention:
            # the VATEX code alone: the PDF and the workbook said "VAT 0 %" and nowhere why
            raise ValueError(
                f"category {self.ubl_category} needs a mention, printed on every invoice (e.g. "
                "'Outside the scope of EU VAT', 'Exempt from VAT, Art. 135 Directive "
                "2006/112/EC'): an invoice without VAT must say why, Art. 226(11) Directive "
                "2006/112/EC; the exemption_code is in the e-invoice only"
            )
        return self

    def _mid_month_problem(self) -> None:
        """A rate change within a month: the month is invoiced at the rate of its last day
        (``on``), so its days before the change were taxed at the new rate without a word. The
        analyst chooses the month's rate (the change on its first day or the next month's) and
        corrects it by hand."""
        before = self.rate
        for change in self.rate_changes:
            day = change.valid_from
            if day.day != 1:
                month = f"{calendar.month_name[day.month]} {day.year}"
                days = "1" if day.day == 2 else f"1 to {day.day - 1}"
                first = day.replace(day=1)
                following = (first + timedelta(days=31)).replace(day=1)
                raise ValueError(
                    f"rate_changes from {day.isoformat()}: expected the first day of a month: a "
                    "month is invoiced at one rate, the one in force on its last day, so "
                    f"{days} {month} would be taxed at {change.rate.normalize():f} % in silence; "
                    f"give {first.isoformat()} (the month at {change.rate.normalize():f} %) or "
                    f"{following.isoformat()} (at {before.normalize():f} %) and correct the "
                    "month by hand"
                )
            before = change.rate

    def _rate_problem(self, rate: Decimal, where: str) -> None:
        """A rate the rule's category cannot have, or one written as a fraction."""
        if self.ubl_category == "S" and rate <= 0:
            raise ValueError(f"category S (standard rate) needs a rate above 0{where}")
        if 0 < rate < 1:  # 21 % written as a fraction invoiced a hundredth of the VAT
            meant = f"{(rate * 100).normalize():f}"
            raise ValueError(
                f"a VAT rate of {rate} % is no VAT rate (none is below 1 %){where}; the rate is "
                f"in percent: write {meant} for {meant} %"
            )
        if self.ubl_category != "S" and rate != 0:
            raise ValueError(f"category {self.ubl_category} needs rate 0 (only S carries VAT)")

    def _exemption_problem(self) -> None:
        """An ``exemption_code`` the e-invoice's rules refuse: not in the VATEX list (EN 16931
        BR-CL-22), the code of another category (Peppol PEPPOL-EN16931-P0104 to P0111), or one
        of a category without exemption reasons (S, Z: BR-S-10, BR-Z-10)."""
        code, category = self.exemption_code, self.ubl_category
        if code is None:
            return
        if category in ("S", "Z"):  # the e-invoice cannot state it: it was left out in silence
            meant = "standard rate" if category == "S" else "zero rated"
            raise ValueError(
                f"exemption_code {code}: category {category} ({meant}) takes none, its e-invoice "
                f"states no exemption reason (EN 16931 BR-{category}-10); for a supply exempt "
                "from VAT give category E with the code"
            )
        if code not in VATEX_CODES:
            raise ValueError(
                f"exemption_code {code} is not a code of the VATEX list (e.g. VATEX-EU-AE, "
                "VATEX-EU-G, VATEX-EU-O, VATEX-EU-IC, VATEX-EU-132-1I): its e-invoices would fail "
                "EN 16931 BR-CL-22"
            )
        owner, rule = VATEX_CATEGORY.get(code, (category, ""))
        if owner != category:
            raise ValueError(
                f"exemption_code {code} is the code of category {owner}, not {category}: Peppol "
                f"refuses its e-invoices (PEPPOL-EN16931-{rule}); give category {owner} or the "
                f"code of category {category}"
            )

    @staticmethod
    def _label_problem(rate: Decimal, label: str, where: str) -> None:
        """A label stating another rate than the one it is printed beside: the VAT summary of
        the workbook and the PDF prints the label, then the rate (a rate change without a label
        of its own kept the rule's: "VAT 21 %" beside 22 %). A label stating no rate fits any."""
        for stated in re.findall(r"(\d+(?:[.,]\d+)?)\s*%", label):
            if Decimal(stated.replace(",", ".")) != rate:
                raise ValueError(
                    f"label {label!r} states {stated} % but the rate is {rate.normalize():f} %"
                    f"{where}: give the label of that rate (the invoice prints it beside the rate)"
                )

    def on(self, day: date) -> VatRule:
        """The rule as in force on ``day``: the rate, label and VAT code of the last
        ``rate_changes`` entry from on or before it, else its own."""
        change = next((c for c in reversed(self.rate_changes) if c.valid_from <= day), None)
        if change is None:
            return self
        return self.model_copy(
            update={
                "rate": change.rate,
                "label": change.label or self.label,
                "vat_code": change.vat_code or self.vat_code,
            }
        )

    def _buyer_accounts(self) -> None:
        """A reverse charge (AE) or an intra-EU supply (K): the printed invoice must say so in
        words (Art. 226(11a) Directive 2006/112/EC; the VATEX code is in the e-invoice only) and
        give the customer's VAT number (Art. 226(4); EN 16931 BR-AE-02, BR-IC-02). Without a
        ``mention`` the PDF and the workbook printed neither the mention nor the line with both
        VAT numbers; with ``show_buyer_vat_number: false`` not the customer's number at all."""
        category = self.ubl_category
        if not self.mention:
            raise ValueError(
                f"category {category} needs a mention, printed on every invoice (e.g. 'Reverse "
                "charge: VAT to be accounted for by the recipient, Art. 196 Directive "
                "2006/112/EC'): an invoice whose customer accounts for the VAT must say so, Art. "
                "226(11a) Directive 2006/112/EC; the exemption_code is in the e-invoice only"
            )
        if not (self.show_buyer_vat_number and self.requires_buyer_vat_number):
            raise ValueError(
                f"category {category} needs show_buyer_vat_number and requires_buyer_vat_number "
                "true: the invoice must give the customer's VAT number, Art. 226(4) Directive "
                "2006/112/EC (the e-invoice's BT-48, EN 16931 BR-AE-02 and BR-IC-02)"
            )

    @property
    def ubl_category(self) -> str:
        """The e-invoice's VAT category: ``category``, or S above 0 % and Z at 0 %."""
        return self.category or ("S" if self.rate > 0 else "Z")

    @property
    def fraction(self) -> Decimal:
        """The rate as a fraction (21 -> 0.21)."""
        return self.rate / 100


class VatRules(BaseModel):
    """The VAT rules by name and the EU member states (ISO 3166 alpha-2)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    eu_countries: frozenset[Annotated[str, AfterValidator(checked_country)]]
    rules: dict[str, VatRule]
    #: The currency the seller's VAT is declared in (ISO 4217). A VAT-bearing invoice in another
    #: currency states its VAT in this one as well (Art. 230 Directive 2006/112/EC). Left out:
    #: the currency of the seller's country (seller.yaml ``country``; CLDR, through babel).
    national_currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")

    def rule_for(
        self,
        customer: Customer,
        seller_country: str,
        source: str = CUSTOMERS_FILE,
        day: date | None = None,
    ) -> VatRule:
        """The rule of ``customer``: its own ``vat_rule`` or the one its country implies, as in
        force on ``day`` (its rate changes, ``VatRule.on``; None: its own rate). A rule the
        file does not define, or a customer lacking what the rule needs, is a ParameterError."""
        entry = f"customers[id={customer.id}]"
        unknown = territory_problem(customer)
        if unknown:
            raise ParameterError(source, f"{entry}.{unknown[0]}", unknown[1])
        postcode = customer_postcode(customer)
        _, implied = self.place_of(customer.country, seller_country, postcode)
        name = customer.vat_rule or implied
        if not customer.vat_rule and implied == "eu_reverse_charge" and not customer.vat_number:
            raise ParameterError(
                source,
                entry,
                f"an EU customer in {customer.country} without a VAT number "
                "would be a sale to a consumer (OSS), which is not supported; give its "
                "vat_number for the reverse charge",
            )
        rule = self._named(name, customer, seller_country, source)
        wrong = self._buyer_number_problem(rule, customer)
        if not wrong and not rule.requires_buyer_vat_number:  # that rule's check says more
            foreign = foreign_number_problem(customer)
            wrong = ("vat_number", foreign) if foreign else None
        if wrong:
            raise ParameterError(source, f"{entry}.{wrong[0]}", wrong[1])
        problem = self.place_of_supply_problem(rule, customer, seller_country)
        if problem:
            raise ParameterError(source, f"{entry}.vat_rule", problem)
        return rule if day is None else rule.on(day)

    def _named(self, name: str, customer: Customer, seller_country: str, source: str) -> VatRule:
        """The rule ``name`` of ``customer``: one vat_rules.yaml lacks is named in the file at
        fault (a customer's own rule mistyped in customers.yaml, a standard one in vat_rules);
        a domestic reverse charge only where the customer names it."""
        rule = self.rules.get(name)
        if rule is None and name not in STANDARD_VAT_RULES:  # a customer's own, mistyped?
            raise ParameterError(
                source,
                f"customers[id={customer.id}].vat_rule",
                f"unknown VAT rule {name!r}; {VAT_FILE} defines: {sorted(self.rules)}",
            )
        if rule is None:
            raise ParameterError(
                VAT_FILE,
                f"rules.{name}",
                f"unknown VAT rule {name!r} of customer {customer.id}; defined: "
                f"{sorted(self.rules)}",
            )
        if rule.domestic_reverse_charge and customer.vat_rule != name:
            raise ParameterError(
                VAT_FILE,
                f"rules.{name}",
                "a domestic reverse charge is for the customers that name it as their "
                f"vat_rule, not the rule of every customer in {seller_country}",
            )
        return rule

    @staticmethod
    def _buyer_number_problem(rule: VatRule, customer: Customer) -> tuple[str, str] | None:
        """The field and what is wrong with the customer's VAT number for ``rule``: none where
        the rule needs one, one of another country, or Northern Ireland's XI (for goods only)
        under a reverse charge; else None."""
        name, number = rule.name, compact_vat_number(customer.vat_number or "")
        if rule.ubl_category in BUYER_ACCOUNTS and number.startswith("XI"):
            return "vat_rule", (
                f"VAT rule {name!r} is the reverse charge of a business in another EU member "
                f"state, but the XI VAT number {number} is Northern Ireland's for goods (Windsor "
                "Framework): cloud services to a business there are supplied in the United "
                "Kingdom, its rule is export"
            )
        if not rule.requires_buyer_vat_number:
            return None
        if not number:
            return "vat_number", f"VAT rule {name!r} needs the customer's VAT number on the invoice"
        territory = vat_territory(customer.country)
        prefix = VAT_PREFIX.get(territory, territory)
        if not number.startswith(prefix):
            return "vat_number", (
                f"expected a VAT number starting with {prefix} for country {customer.country}; "
                f"got {customer.vat_number!r}"
            )
        return None

    def place_of(
        self, country: str, seller_country: str, postal_code: str | None = None
    ) -> tuple[str, str]:
        """Where a customer in ``country`` is seen from the seller (its own country, another EU
        member state, outside the EU) and the VAT rule that place gives; a country in a member
        state's VAT territory (``vat_territory``: Monaco, France's) counts as that state, an
        address in a part of one outside it (``outside_vat_territory``: the Canary Islands) as
        outside the EU."""
        excluded = outside_vat_territory(country, postal_code)
        if excluded:
            return (
                f"outside the EU's VAT territory ({excluded}, Art. 6 Directive 2006/112/EC)",
                "export",
            )
        territory = vat_territory(country)
        if territory == seller_country:
            return "the seller's own country", "domestic"
        if territory in self.eu_countries:
            return "another EU member state", "eu_reverse_charge"
        return "outside the EU", "export"

    def place_of_supply_problem(
        self, rule: VatRule, customer: Customer, seller_country: str
    ) -> str | None:
        """Why ``rule`` cannot be the VAT of ``customer``'s cloud services, or None. They are
        supplied where the business customer is established (Art. 44 Directive 2006/112/EC): the
        seller's VAT (category S) for a customer in its own country, or one registered there
        (a fixed establishment, shown by a VAT number of that country); reverse charge (AE,
        Art. 196) for one in another member state; outside the scope (O, or G as an export)
        beyond the EU. A ``vat_rule`` in customers.yaml that contradicts the customer's country
        would charge VAT that is not owed, or leave out VAT that is (other categories are not
        checked)."""
        country, eu = customer.country, self.eu_countries
        postcode = customer_postcode(customer)
        if shared_postcode(country, postcode):
            return None  # inside or outside the VAT territory: the customer's vat_rule says
        territory = vat_territory(country)
        if outside_vat_territory(country, postcode):
            territory = ""  # in no member state's VAT territory
        prefix = VAT_PREFIX.get(seller_country, seller_country)
        number = compact_vat_number(customer.vat_number or "")
        where, implied = self.place_of(country, seller_country, postcode)
        category = rule.ubl_category
        if category == "S" and territory != seller_country and not number.startswith(prefix):
            return (
                f"VAT rule {rule.name!r} charges {rule.rate} % {seller_country} VAT, but the "
                f"customer is established in {country} ({where}): cloud services to a business "
                "are supplied where it is established (Art. 44 Directive 2006/112/EC), so its rule "
                f"is {implied}; a customer registered for VAT in {seller_country} (a fixed "
                f"establishment there) gives that VAT number ({prefix}...)"
            )
        if rule.domestic_reverse_charge:
            if territory == seller_country:
                return None
            return (
                f"VAT rule {rule.name!r} is a domestic reverse charge of {seller_country} (Art. "
                f"199, 199a Directive 2006/112/EC), but the customer is in {country} ({where}): "
                f"its rule is {implied}"
            )
        if category == "AE" and (territory == seller_country or territory not in eu):
            return (
                f"VAT rule {rule.name!r} is the reverse charge (Art. 196 Directive 2006/112/EC) "
                "of a business customer in another EU member state, but the customer is in "
                f"{country} ({where}): its rule is {implied}"
            )
        if category in OUTSIDE_THE_EU and territory in eu:
            return (
                f"VAT rule {rule.name!r} is for a customer outside the EU, but the customer is in "
                f"{country} ({where}): its rule is {implied}"
            )
        return None


def load_vat_rules(parameters: Path) -> VatRules:
    """``parameters/vat_rules.yaml``, validated; each rule knows its own name."""
    path = Path(parameters) / VAT_FILE
    data = read_yaml(path)
    try:
        parsed = VatRules.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problem(path, exc, data, VatRules) from exc
    return parsed.model_copy(
        update={"rules": {k: r.model_copy(update={"name": k}) for k, r in parsed.rules.items()}}
    )
