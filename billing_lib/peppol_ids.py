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


def checked_peppol_id(value: str | None) -> str | None:
    """``value`` if its identifier is valid for its scheme (or its scheme has no rule here);
    ValueError saying what the scheme expects otherwise (pydantic names the file and entry)."""
    if value is None:
        return value
    scheme, _, identifier = value.partition(":")
    rule = SCHEMES.get(scheme)
    if rule is not None and not rule[1](identifier):
        raise ValueError(
            f"expected {rule[0]} after scheme {scheme} (its check digits or form do not match: "
            "the e-invoice would go to an address no one has)"
        )
    return value
