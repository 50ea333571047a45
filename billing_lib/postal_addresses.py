"""The state (province, territory) of an address in a country whose post wants it: the United
States, Canada and Australia.

A US customer's state reached the e-invoice only inside ``postal_code`` ("MA 02210"): the UBL
address has its own element for it (``cac:PostalAddress/cbc:CountrySubentity``, EN 16931 BT-39
and BT-54), and a ZIP code holding a state is no ZIP code. ``state`` of customers.yaml and
seller.yaml is checked against the country's codes, the postcode against the country's form, and
the printed address gets the locality line the country's post expects ("Boston, MA 02210",
"Toronto ON  M5V 2T6", "Sydney NSW 2000") where the address lines do not already name the state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pydantic import ValidationInfo

#: The codes of each country's states, provinces and territories (USPS, Canada Post, Australia
#: Post): what ``state`` holds.
SUBDIVISIONS: dict[str, frozenset[str]] = {
    "US": frozenset(
        [
            "AL",
            "AK",
            "AZ",
            "AR",
            "CA",
            "CO",
            "CT",
            "DE",
            "DC",
            "FL",
            "GA",
            "HI",
            "ID",
            "IL",
            "IN",
            "IA",
            "KS",
            "KY",
            "LA",
            "ME",
            "MD",
            "MA",
            "MI",
            "MN",
            "MS",
            "MO",
            "MT",
            "NE",
            "NV",
            "NH",
            "NJ",
            "NM",
            "NY",
            "NC",
            "ND",
            "OH",
            "OK",
            "OR",
            "PA",
            "RI",
            "SC",
            "SD",
            "TN",
            "TX",
            "UT",
            "VT",
            "VA",
            "WA",
            "WV",
            "WI",
            "WY",
            "AS",
            "GU",
            "MP",
            "PR",
            "VI",
            "UM",
            "AA",
            "AE",
            "AP",
        ]
    ),
    "CA": frozenset(["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"]),
    "AU": frozenset(["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"]),
}
#: The form of each of those countries' postcodes, and how it reads.
POSTAL_CODES: dict[str, tuple[re.Pattern[str], str]] = {
    "US": (re.compile(r"\d{5}(-\d{4})?"), "a ZIP code (02210 or 02210-1234)"),
    "CA": (re.compile(r"[A-Z]\d[A-Z] ?\d[A-Z]\d"), "a Canadian postal code (M5V 2T6)"),
    "AU": (re.compile(r"\d{4}"), "an Australian postcode of 4 digits (2000)"),
}
#: The locality line as each post writes it: city, state and postcode.
_LOCALITY = {
    "US": "{city}, {state} {postal_code}",
    "CA": "{city} {state}  {postal_code}",
    "AU": "{city} {state} {postal_code}",
}
_NAMES = {"US": "US state", "CA": "Canadian province or territory", "AU": "Australian state"}


def state_problem(country: str | None, state: str) -> str | None:
    """What is wrong with ``state`` for an address in ``country`` (after "expected"), or None."""
    codes = SUBDIVISIONS.get(country or "")
    if codes is None:
        return None  # another country's region: taken as written
    if state in codes:
        return None
    return f"the code of a {_NAMES[country or '']} ({', '.join(sorted(codes)[:6])}, ...)"


def postal_code_problem(country: str | None, postal_code: str) -> str | None:
    """What is wrong with ``postal_code`` for an address in ``country`` (after "expected"), or
    None; the state goes in ``state``, not in the postcode."""
    form = POSTAL_CODES.get(country or "")
    if form is None or form[0].fullmatch(postal_code):
        return None
    return f"{form[1]}; the state, province or territory goes in state"


def postal_lines(
    lines: Sequence[str],
    country: str,
    city: str | None,
    state: str | None,
    postal_code: str | None,
) -> list[str]:
    """The address ``lines`` as printed: as given, unless ``state`` is given for a country whose
    post wants it and no line names it (its code, in capitals: "Sa" in a street name is not
    South Australia); then the last line holding the city or the postcode is
    the locality line as that post writes it (``_LOCALITY``), or, without one, the locality line
    (or the state alone) is added."""
    out = [x for x in lines if x.strip()]
    pattern = _LOCALITY.get(country)
    if not state or pattern is None:
        return out
    if any(re.search(rf"(?<!\w){re.escape(state)}(?!\w)", x) for x in out):  # "Boston, MA"
        return out
    if not (city and postal_code):
        return [*out, state]
    locality = pattern.format(city=city, state=state, postal_code=postal_code)
    holding = [i for i, x in enumerate(out) if postal_code in x or city.casefold() in x.casefold()]
    if holding:
        out[holding[-1]] = locality
        return out
    return [*out, locality]


def checked_state(value: str | None, info: ValidationInfo) -> str | None:
    """``value`` if it is a state code of the entry's ``country`` (``state_problem``); ValueError
    otherwise (pydantic names the file and entry)."""
    return _checked(value, info, state_problem)


def checked_postal_code(value: str | None, info: ValidationInfo) -> str | None:
    """``value`` if it is in the form of the entry's ``country``'s postcodes
    (``postal_code_problem``); ValueError otherwise (pydantic names the file and entry)."""
    return _checked(value, info, postal_code_problem)


def _checked(
    value: str | None,
    info: ValidationInfo,
    problem_of: Callable[[str | None, str], str | None],
) -> str | None:
    if value is None or (info.context or {}).get("as_issued"):
        return value
    problem = problem_of(info.data.get("country"), value)
    if problem:
        raise ValueError(f"expected {problem}; got {value!r}")
    return value
