"""Where a customer is for VAT: the state whose VAT territory its country is in (Monaco,
France's; the Isle of Man, the United Kingdom's), the parts of member states outside the EU's VAT
territory by their postcodes (the Canary Islands, Livigno: Art. 6 Directive 2006/112/EC), and
whether its VAT number is of its own country. ``vat.VatRules`` derives the rule from these.
"""

from __future__ import annotations

import re

from billing_lib.customers import Customer
from billing_lib.vat_numbers import compact_vat_number

#: VAT number prefixes that differ from the ISO country code (Greece uses EL).
VAT_PREFIX = {"GR": "EL"}
#: Countries within another state's VAT territory (Art. 7(1) Directive 2006/112/EC): Monaco is
#: France's for VAT, its businesses have FR VAT numbers; the Isle of Man is the United Kingdom's
#: (GB VAT numbers), which Jersey and Guernsey are not.
_VAT_TERRITORY = {"MC": "FR", "IM": "GB"}


#: Places with an ISO code of their own, outside the EU's VAT territory, whose businesses have
#: their member state's VAT numbers: the Åland Islands (FI), the French overseas departments (FR).
_NUMBER_COUNTRY = {"AX": "FI", **dict.fromkeys(("RE", "GP", "MQ", "GF", "YT"), "FR")}


#: Parts of member states outside the EU's VAT territory (Art. 6 Directive 2006/112/EC), by the
#: postcode prefixes of their addresses: an address there has its member state's country code
#: (ISO 3166 has none for the Canary Islands; EN 16931 takes ES), so the country alone made a
#: business in Las Palmas a reverse charge (Art. 196) and refused ``export`` for it.
_OUTSIDE_VAT_TERRITORY: dict[str, tuple[tuple[str, str], ...]] = {
    "DE": (("27498", "Heligoland"), ("78266", "Büsingen am Hochrhein")),
    "ES": (
        ("35", "the Canary Islands"),
        ("38", "the Canary Islands"),
        ("51", "Ceuta"),
        ("52", "Melilla"),
    ),
    "FI": (("22", "the Åland Islands"),),
    # the outermost regions and overseas collectivities (Art. 6(1)(c); 980xx is Monaco's)
    "FR": tuple(
        (code, "a French overseas territory")
        for code in (*map(str, range(971, 979)), "984", "986", "987", "988")
    ),
    "GR": (("63086", "Mount Athos"), ("63087", "Mount Athos")),
    "IT": (("23041", "Livigno"), ("22061", "Campione d'Italia")),
}
#: Postcodes a part outside the EU's VAT territory shares with places inside it (the old ones of
#: Livigno and Campione d'Italia): the postcode cannot tell, the customer's ``vat_rule`` must.
_SHARED_POSTCODES: dict[str, tuple[tuple[str, str], ...]] = {
    "IT": (("23030", "Livigno"), ("22060", "Campione d'Italia")),
}
#: A postcode in an address line where ``postal_code`` is left out: five digits, Greece's
#: written 3 + 2 ("630 86"), not part of a longer number or a code with letters.
_POSTCODE_IN_LINE = re.compile(r"(?<![\w-])(\d{3} ?\d{2})(?![\w-])")


def vat_territory(country: str) -> str:
    """The member state whose VAT territory ``country`` is in (``MC`` -> ``FR``), else itself."""
    return _VAT_TERRITORY.get(country, country)


def outside_vat_territory(country: str, postal_code: str | None) -> str | None:
    """The part of ``country`` outside the EU's VAT territory that ``postal_code`` is in
    (``ES``, ``35002`` -> the Canary Islands; Art. 6 Directive 2006/112/EC), else None."""
    code = re.sub(r"\s", "", postal_code or "")
    return next(
        (
            name
            for prefix, name in _OUTSIDE_VAT_TERRITORY.get(country, ())
            if code.startswith(prefix)
        ),
        None,
    )


def customer_postcode(customer: Customer) -> str | None:
    """The customer's ``postal_code``, else the first postcode an address line holds
    (``35002 Las Palmas``), else None: what tells a part outside the VAT territory."""
    if customer.postal_code:
        return customer.postal_code
    for line in customer.address:
        found = _POSTCODE_IN_LINE.search(line)
        if found:
            return found.group(1)
    return None


def shared_postcode(country: str, postal_code: str | None) -> str | None:
    """The place outside the VAT territory whose postcode ``postal_code`` shares with places
    inside it (``IT``, ``23030`` -> Livigno), else None."""
    code = re.sub(r"\s", "", postal_code or "")
    return next((name for pc, name in _SHARED_POSTCODES.get(country, ()) if code == pc), None)


def territory_problem(customer: Customer) -> tuple[str, str] | None:
    """The field and the words asking for what the place of a customer with no ``vat_rule`` of
    its own needs, in a country part of which is outside the EU's VAT territory: a postcode (none
    in ``postal_code`` or the address: a business in Las Palmas was a reverse charge in silence),
    or the ``vat_rule`` (a postcode shared with places inside it); else None."""
    country = customer.country
    if customer.vat_rule or country not in _OUTSIDE_VAT_TERRITORY:
        return None
    postcode = customer_postcode(customer)
    if not customer.postal_code:
        found = [m.group(1) for line in customer.address for m in _POSTCODE_IN_LINE.finditer(line)]
        places = {outside_vat_territory(country, code) for code in found}
        if len(places) > 1:
            outside = next(p for p in places if p)
            return "postal_code", (
                "expected the customer's postcode in postal_code: the address holds "
                f"{' and '.join(dict.fromkeys(found))}, one outside the EU's VAT territory "
                f"({outside}), one not"
            )
    if postcode is None:
        parts = ", ".join(
            f"{name} {', '.join(p for p, n in _OUTSIDE_VAT_TERRITORY[country] if n == name)}"
            for name in dict.fromkeys(n for _, n in _OUTSIDE_VAT_TERRITORY[country])
        )
        return "postal_code", (
            "expected the customer's postcode (in postal_code or an address line): parts of "
            f"{country} are outside the EU's VAT territory ({parts}; Art. 6 Directive "
            "2006/112/EC), where the rule is export; or give the customer's vat_rule"
        )
    shared = shared_postcode(country, postcode)
    if shared:
        return "vat_rule", (
            f"expected the customer's vat_rule: postcode {postcode} is {shared}'s, outside the "
            "EU's VAT territory (Art. 6 Directive 2006/112/EC), and other places' within it; "
            f"give export for a customer in {shared}, else the rule of {country}"
        )
    return None


def foreign_number_problem(customer: Customer) -> str | None:
    """Why a customer with no ``vat_rule`` of its own cannot be given the rule of its country:
    its VAT number is another country's (a Swiss customer's DE number: an establishment in
    Germany, under the reverse charge, Art. 44), or None. Its own country's prefix is taken: EL
    for GR, that of the state whose VAT territory it is in (FR for MC, GB for IM), XI in GB, the
    member state's for a part with a code of its own (FI for AX, ``_NUMBER_COUNTRY``)."""
    number = compact_vat_number(customer.vat_number or "")
    if customer.vat_rule or not number:
        return None
    territory = _NUMBER_COUNTRY.get(customer.country, vat_territory(customer.country))
    prefix = VAT_PREFIX.get(territory, territory)
    if number.startswith(prefix) or (territory == "GB" and number.startswith("XI")):
        return None
    other = number[:2]
    return (
        f"expected a VAT number of {customer.country} ({prefix}...), the customer's country: "
        f"{number} is one of {other}, where the customer may be established (its VAT rule "
        "would be another); give the customer's vat_rule"
    )
