"""Peppol electronic addresses checked as their schemes define them.

A customer's or the seller's ``peppol_id`` (``<EAS scheme>:<identifier>``) is where the e-invoice
is delivered: an identifier with a digit mistyped is an address no one has, and the access point
returns the invoice undelivered; a scheme not in the EAS code list, an address no access point
takes (``EAS_SCHEMES``). For the schemes of the CEF EAS code list whose identifiers have
check digits or a fixed form, python-stdnum checks them; other schemes are taken as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import ValidationInfo
from stdnum import ean
from stdnum.be import vat as be_vat
from stdnum.de import vat as de_vat
from stdnum.dk import cvr
from stdnum.is_ import kennitala
from stdnum.nl import btw
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

#: The four-digit schemes of the CEF Electronic Address Scheme code list as the CEN EN 16931
#: validation artefacts 1.3.16 give it (BR-CL-25), which Peppol delivers to
#: (PEPPOL-EN16931-CL008; the list's letter codes, e-mail ``EM`` among them, are no Peppol
#: addresses). ``tests/test_customers.py`` compares it with the artefacts the tests validate by.
_EAS_CODES = (
    "0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0147 0151 0154 0158 0170 0177 "
    "0183 0184 0188 0190 0191 0192 0193 0194 0195 0196 0198 0199 0200 0201 0202 0203 0204 0205 "
    "0208 0209 0210 0211 0212 0213 0215 0216 0217 0218 0219 0220 0221 0225 0230 0235 0240 0242 "
    "0244 0245 0246 0248 9910 9913 9914 9915 9918 9919 9920 9922 9923 9924 9925 9926 9927 9928 "
    "9929 9930 9931 9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 9942 9943 9944 9945 9946 "
    "9947 9948 9949 9950 9951 9952 9953 9957 9959 "
)
EAS_SCHEMES = frozenset(_EAS_CODES.split())


def _pattern(regex: str) -> Callable[[str], bool]:
    return lambda value: re.fullmatch(regex, value) is not None


#: EAS scheme -> (what the identifier is, its check). From the CEF EAS code list.
SCHEMES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "0007": ("a Swedish organisation number", se_orgnr.is_valid),
    "0088": (
        "a GLN (13 digits with their check digit)",
        lambda v: ean.is_valid(v) and len(v) == 13,
    ),
    "0106": ("a Dutch Chamber of Commerce (KvK) number of 8 digits", _pattern(r"\d{8}")),
    "0184": ("a Danish CVR number", cvr.is_valid),
    "0190": ("a Dutch OIN of 20 digits", _pattern(r"\d{20}")),
    "0192": ("a Norwegian organisation number", no_orgnr.is_valid),
    "0196": ("an Icelandic kennitala (10 digits)", kennitala.is_valid),
    "0208": ("a Belgian enterprise number (KBO/BCE, 10 digits)", be_vat.is_valid),
    "9925": ("a Belgian VAT number", be_vat.is_valid),
    "9930": ("a German VAT number", de_vat.is_valid),
    "9944": ("a Dutch VAT number", btw.is_valid),
}


def _cvr(value: str) -> str:
    """A CVR number in a form PEPPOL-COMMON-R042 accepts: its 8 digits, after ``DK`` where it was
    written with it (``DK 13 58 56 28`` -> ``DK13585628``): a participant registered with the
    prefix is addressed with it."""
    prefix = "DK" if value.strip().upper().startswith("DK") else ""
    return prefix + cvr.compact(value)


#: EAS scheme -> the compact form of a valid identifier, as Peppol addresses it and its rules ask
#: (PEPPOL-COMMON-R041, R042, R043, R049: digits only, a CVR number's with or without DK): the
#: check digits above accept the number as people write it ("0456.789.133", "556036-0793",
#: "DE 123 456 788", "13 58 56 28"), which no directory knows.
COMPACT: dict[str, Callable[[str], str]] = {
    "0007": se_orgnr.compact,
    "0088": ean.compact,
    "0184": _cvr,
    "0192": no_orgnr.compact,
    "0196": kennitala.compact,
    "0208": be_vat.compact,
    "9925": lambda v: "BE" + be_vat.compact(v),
    "9930": lambda v: "DE" + de_vat.compact(v),
    "9944": lambda v: "NL" + btw.compact(v),
}


#: ISO 6523 ICD of a company register number, by country: the scheme of the e-invoice's legal
#: registration (``PartyLegalEntity/CompanyID``) of a party in that country.
#: Iceland's is required: Peppol's IS-R-002 and IS-R-004 refuse a kennitala without it.
REGISTER_SCHEMES = {
    "NL": "0106",
    "BE": "0208",
    "DK": "0184",
    "FI": "0212",
    "SE": "0007",
    "IS": "0196",
}


def registration_problem(country: str | None, registration: str) -> str | None:
    """What is wrong with ``registration`` (``chamber_of_commerce``) as the register number of a
    company in ``country``, whose e-invoice states it with its scheme (``REGISTER_SCHEMES``; spaces
    aside, as the e-invoice drops them); None where it is valid or its scheme has no rule here. A
    number that fails its scheme's form or check digits makes an e-invoice Peppol refuses
    (PEPPOL-COMMON-R042 for a Danish CVR number, R043, R049)."""
    scheme = REGISTER_SCHEMES.get(country or "")
    rule = SCHEMES.get(scheme or "")
    if scheme is None or rule is None or rule[1](registration.replace(" ", "")):
        return None
    return (
        f"expected {rule[0]} (the e-invoice states it as the legal registration of a company in "
        f"{country}, scheme {scheme}); got {registration!r}"
    )


def checked_registration(value: str | None, info: ValidationInfo) -> str | None:
    """``value`` (a ``chamber_of_commerce``) as given, if it is a valid register number of the
    entry's ``country`` (``registration_problem``); ValueError saying what is expected otherwise
    (pydantic names the file and entry). Read ``AS_ISSUED`` (``invoices.json``), taken as it is."""
    if value is None or (info.context or {}).get("as_issued"):
        return value
    problem = registration_problem(info.data.get("country"), value)
    if problem:
        raise ValueError(problem)
    return value


def compact_identifier(scheme: str, identifier: str) -> str:
    """``identifier`` in the compact form its ICD or EAS ``scheme`` has (``COMPACT``), when it is
    valid for the scheme (``SCHEMES``); else as written."""
    rule, compact = SCHEMES.get(scheme), COMPACT.get(scheme)
    if rule is None or compact is None or not rule[1](identifier):
        return identifier
    return compact(identifier)


def checked_peppol_id(value: str | None) -> str | None:
    """``value`` in its compact form (``compact_identifier``: ``0208:0456789133`` for
    ``0208:0456.789.133``) if its identifier is valid for its scheme (or its scheme has no rule
    here, as written); ValueError saying what the scheme expects otherwise (pydantic names the
    file and entry)."""
    if value is None:
        return value
    scheme, _, identifier = value.partition(":")
    if scheme not in EAS_SCHEMES:
        raise ValueError(
            f"scheme {scheme} is not in Peppol's electronic address scheme list (the CEF EAS "
            "code list: 0106 for a Dutch KvK number, 0208 for a Belgian enterprise number, "
            "9930 for a German VAT number, ...); every access point refuses the e-invoice"
        )
    rule = SCHEMES.get(scheme)
    if rule is not None and not rule[1](identifier):
        raise ValueError(
            f"expected {rule[0]} after scheme {scheme} (its check digits or form do not match: "
            "the e-invoice would go to an address no one has)"
        )
    return f"{scheme}:{compact_identifier(scheme, identifier)}"
