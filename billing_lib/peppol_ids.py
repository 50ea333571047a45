"""Peppol electronic addresses checked as their schemes define them.

A customer's or the seller's ``peppol_id`` (``<EAS scheme>:<identifier>``) is where the e-invoice
is delivered: an identifier with a digit mistyped is an address no one has, and the access point
returns the invoice undelivered. For the schemes of the CEF EAS code list whose identifiers have
check digits or a fixed form, python-stdnum checks them; other schemes are taken as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stdnum import ean
from stdnum.be import vat as be_vat
from stdnum.de import vat as de_vat
from stdnum.dk import cvr
from stdnum.nl import btw
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr


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
    "0208": ("a Belgian enterprise number (KBO/BCE, 10 digits)", be_vat.is_valid),
    "9925": ("a Belgian VAT number", be_vat.is_valid),
    "9930": ("a German VAT number", de_vat.is_valid),
    "9944": ("a Dutch VAT number", btw.is_valid),
}


#: EAS scheme -> the compact form of a valid identifier, as Peppol addresses it and its rules ask
#: (PEPPOL-COMMON-R041, R043, R049: digits only): the check digits above accept the number as
#: people write it ("0456.789.133", "556036-0793", "DE 123 456 788"), which no directory knows.
COMPACT: dict[str, Callable[[str], str]] = {
    "0007": se_orgnr.compact,
    "0088": ean.compact,
    "0192": no_orgnr.compact,
    "0208": be_vat.compact,
    "9925": lambda v: "BE" + be_vat.compact(v),
    "9930": lambda v: "DE" + de_vat.compact(v),
    "9944": lambda v: "NL" + btw.compact(v),
}


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
    rule = SCHEMES.get(scheme)
    if rule is not None and not rule[1](identifier):
        raise ValueError(
            f"expected {rule[0]} after scheme {scheme} (its check digits or form do not match: "
            "the e-invoice would go to an address no one has)"
        )
    return f"{scheme}:{compact_identifier(scheme, identifier)}"
