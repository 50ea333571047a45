"""Country codes checked against ISO 3166-1 alpha-2, with babel's CLDR data (already used for
country names and currency formats).

A customer's ``country`` decides its VAT rule (``vat.VatRules.place_of``: in ``eu_countries``
or not) and goes into the e-invoice, which takes ISO 3166-1 codes only (EN 16931 BR-CL-14). A
code that merely looks like one is not harmless: Greece's VAT prefix ``EL`` is not in
``eu_countries`` (which has ``GR``), so a Greek business was invoiced as an export outside the
scope of EU VAT instead of under the reverse charge; ``UK`` and ``ZZ`` were printed as given.
"""

from __future__ import annotations

from babel import Locale
from babel.core import get_global
from pydantic import ValidationInfo

#: CLDR regions with a two-letter code that ISO 3166-1 assigns to no country: its exceptionally
#: reserved codes (AC Ascension, CP Clipperton, DG Diego Garcia, EA Ceuta and Melilla, EU, EZ
#: eurozone, IC Canary Islands, TA Tristan da Cunha, UN) and CLDR's own codes from the ranges
#: ISO leaves to users (CQ Sark, QO Outlying Oceania, XA/XB pseudo-locales, XK Kosovo, ZZ
#: unknown). tests/test_countries.py checks the rest against EN 16931's code list (BR-CL-14).
NOT_ISO_3166 = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)
#: The ISO 3166-1 alpha-2 country codes (249).
ISO_3166 = frozenset(
    code
    for code in map(str, Locale("en").territories)
    if len(code) == 2 and code.isalpha() and code not in NOT_ISO_3166
)
#: Codes that are someone's idea of a country code but not ISO's: VAT number prefixes.
_VAT_PREFIXES = {
    "EL": ("Greece's VAT prefix", "GR"),
    "XI": ("Northern Ireland's VAT prefix", "GB"),
}
#: ISO 3166's reserved codes of parts of Spain outside the EU's VAT territory: an address there
#: is ES, and its postcode decides the VAT rule (``vat_places.outside_vat_territory``).
_SPANISH_PARTS = {
    "IC": "the Canary Islands' code (reserved, not assigned), their country code is ES with "
    "their postcode (35, 38), by which they are outside the EU's VAT territory",
    "EA": "Ceuta and Melilla's code (reserved, not assigned), their country code is ES with "
    "their postcode (51, 52), by which they are outside the EU's VAT territory",
}


def code_meant(value: str) -> str | None:
    """``the code of United Kingdom is GB`` for an old or informal code CLDR maps to one ISO 3166
    code (UK), else None."""
    meant = get_global("territory_aliases").get(value, [])
    if len(meant) == 1 and meant[0] in ISO_3166:
        return f"the code of {Locale('en').territories[meant[0]]} is {meant[0]}"
    return None


def country_problem(value: str) -> str | None:
    """What is wrong with ``value`` as an ISO 3166-1 alpha-2 code, naming the code meant where
    it is a VAT prefix (EL -> GR) or an old or informal code CLDR maps to one (UK -> GB); None
    if it is one."""
    if value in ISO_3166:
        return None
    hint = f", e.g. NL, DE, GB; {value} is not one"
    if value in _VAT_PREFIXES:
        what, code = _VAT_PREFIXES[value]
        hint = f": {value} is {what}, its country code is {code}"
    elif value in _SPANISH_PARTS:
        hint = f": {value} is {_SPANISH_PARTS[value]}"
    else:
        meant = code_meant(value)
        if meant:
            hint = f": {value} is not one, {meant}"
    return (
        f"expected an ISO 3166-1 country code{hint} (the country decides the VAT rule and goes "
        "into the e-invoice)"
    )


def checked_country(value: str, info: ValidationInfo) -> str:
    """``value`` if it is an ISO 3166-1 alpha-2 code, else ValueError (``country_problem``;
    pydantic names the file and entry). Read ``AS_ISSUED`` (``invoices.json``: a run billed
    before the check must stay creditable), taken as it is."""
    problem = None if (info.context or {}).get("as_issued") else country_problem(value)
    if problem:
        raise ValueError(problem)
    return value
