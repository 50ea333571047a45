"""What the Peppol BIS Billing 3.0 e-invoice needs of its seller and buyer, checked before an
invoice is built, so that no UBL is written that an access point refuses.

Every invoice gets a UBL e-invoice (``ubl.py``) from the optional ``email``, ``peppol_id``,
``postal_code`` and ``city`` of seller.yaml and customers.yaml. Left out, the document was
written all the same and failed fatal rules of Peppol's schematron:

- PEPPOL-EN16931-R020 / R010: the seller's and the buyer's electronic address (``EndpointID``:
  ``peppol_id``, else ``email``) must be given, whatever the countries;
- NL-R-002: a Dutch seller's address has street, city and postcode (IT-R-002 to IT-R-004: an
  Italian seller's too);
- NL-R-004: so has the buyer's, when seller and buyer are both in the Netherlands;
- DK-R-002: a Danish seller gives its legal entity id, the CVR number (``chamber_of_commerce``);
- IS-R-002, IS-R-003: an Icelandic seller its kennitala (``chamber_of_commerce``) and postcode,
  IS-R-004, IS-R-005: so does an Icelandic customer of an Icelandic seller.

(NL-R-003 and NL-R-005 judge a legal registration number only where one is given:
``chamber_of_commerce`` stays optional, but for Danish and Icelandic parties.) The seller's are
checked when seller.yaml is loaded (they concern every invoice), a customer's when it is
invoiced, with the other problems that stop invoicing (``invoice_problems._party_problems``), so
that a customer without lines does not stop a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # invoicing_parameters loads seller.yaml with these checks
    from billing_lib.customers import Customer
    from billing_lib.invoicing_parameters import Seller

#: The country whose national Peppol rules (NL-R-002, NL-R-004) need the structured address.
_NL = "NL"
#: The countries whose national Peppol rules need the seller's street, city and postcode: who
#: the seller is, and the rules.
_SELLER_ADDRESS_RULES = {
    _NL: ("a Dutch", "rule NL-R-002"),
    "IT": ("an Italian", "rules IT-R-002 to IT-R-004"),
}
#: The country whose national Peppol rules need the seller's legal entity id (DK-R-002).
_DK = "DK"
#: How a message on a missing item ends.
_REFUSED = "an access point refuses the invoice without it)"

#: Iceland's rules: a seller's (and, between Icelandic parties, the buyer's) kennitala and
#: postcode (the street is the address's first line), each with what it is and the rule.
_IS = "IS"
_IS_SELLER = (
    ("chamber_of_commerce", "kennitala (Peppol rule IS-R-002: " + _REFUSED),
    ("postal_code", "postal code, as in the address (Peppol rule IS-R-003: " + _REFUSED),
)
_IS_BUYER = (
    ("chamber_of_commerce", "kennitala (Peppol rule IS-R-004: " + _REFUSED),
    ("postal_code", "postal code, as in the address (Peppol rule IS-R-005: " + _REFUSED),
)


def _given(party: object, key: str) -> bool:
    return bool((getattr(party, key) or "").strip())


def _address_missing(postal_code: str | None, city: str | None) -> list[str]:
    pairs = (("postal_code", postal_code), ("city", city))
    return [key for key, value in pairs if not (value or "").strip()]


def seller_problems(seller: Seller) -> list[tuple[str, str]]:
    """(key of seller.yaml, what is wrong) for each rule every e-invoice of the seller would
    fail."""
    out = []
    if not seller.peppol_id and not seller.email:
        out.append(
            (
                "peppol_id",
                "every e-invoice needs the seller's electronic address (Peppol rule "
                "PEPPOL-EN16931-R020: an access point refuses the invoice without it); give "
                "peppol_id (e.g. 0106:<KvK number>) or email",
            )
        )
    if seller.country == _DK and not (seller.chamber_of_commerce or "").strip():
        cvr = seller.vat_number.replace(" ", "").upper().removeprefix("DK")
        out.append(
            (
                "chamber_of_commerce",
                "a Danish seller's e-invoices need its CVR number (Peppol rule DK-R-002: an "
                f'access point refuses the invoice without it); give it, e.g. "{cvr}", the '
                "digits of the VAT number",
            )
        )
    if seller.country == _IS:
        out += [
            (key, f"an Icelandic seller's e-invoices need its {why}")
            for key, why in _IS_SELLER
            if not _given(seller, key)
        ]
    if seller.country in _SELLER_ADDRESS_RULES:
        who, rule = _SELLER_ADDRESS_RULES[seller.country]
        for key in _address_missing(seller.postal_code, seller.city):
            out.append(
                (
                    key,
                    f"{who} seller's e-invoices need its {key.replace('_', ' ')}, as in the "
                    f"address (Peppol {rule}: street, city and postcode; an access point "
                    "refuses the invoice without them)",
                )
            )
    return out


def buyer_problems(customer: Customer, entry: str, seller_country: str) -> list[str]:
    """``entry.key: what is wrong`` for each rule an e-invoice to ``customer`` would fail
    (``entry``: ``<parameters>/customers.yaml, entry customers[id=...]``)."""
    out = []
    if not customer.peppol_id and not customer.email:
        out.append(
            f"{entry}.email: the e-invoice needs the customer's electronic address (Peppol rule "
            "PEPPOL-EN16931-R010: an access point refuses the invoice without it); give its "
            "peppol_id, or the email address its invoices go to"
        )
    if seller_country == customer.country == _IS:
        out += [
            f"{entry}.{key}: the e-invoice to an Icelandic customer from an Icelandic seller "
            f"needs its {why}"
            for key, why in _IS_BUYER
            if not _given(customer, key)
        ]
    if seller_country == _NL and customer.country == _NL:
        for key in _address_missing(customer.postal_code, customer.city):
            out.append(
                f"{entry}.{key}: the e-invoice to a Dutch customer from a Dutch seller needs its "
                f"{key.replace('_', ' ')}, as in the address (Peppol rule NL-R-004: street, city "
                "and postcode; an access point refuses the invoice without them)"
            )
    return out
