"""VAT numbers checked as the tax offices define them, and their compact form for the e-invoice.

A VAT number with a digit mistyped in ``customers.yaml`` or ``seller.yaml`` was printed on every
invoice and sent in the UBL e-invoice: a reverse-charge invoice (Art. 226(4) Directive
2006/112/EC) with the customer's VAT number wrong is not one, and the customer's accounts payable
sends it back. The numbers are checked offline with python-stdnum, which implements each
country's published format and check digits (EU member states, Northern Ireland's XI, Switzerland,
the United Kingdom, Norway and more); a number of a country it has no rules for is checked for its
two-letter prefix only. That prefix is what the e-invoice needs in any case (EN 16931 BR-CO-09).
VIES, the EU's online check of whether a number is registered, is not asked: runs work offline.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import ValidationInfo
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from billing_lib.countries import ISO_3166, code_meant

if TYPE_CHECKING:  # python-stdnum's protocol of a number's module, for types only
    from stdnum.util import NumberValidationModule

#: What a VAT number may hold besides its letters and digits: how people write them.
_SEPARATORS = re.compile(r"[\s.\-/]")
#: The prefix of Greece's VAT numbers, not its ISO code (GR); python-stdnum's EU rules take it.
_GREECE = "el"
#: The prefixes EN 16931 BR-CO-09 allows a VAT identifier (BT-31, BT-48): an ISO 3166-1 alpha-2
#: code, Greece's EL or Northern Ireland's XI. Two other letters ("UK", "EIN") passed as a
#: country python-stdnum has no rules for, and every e-invoice stating the number was refused.
VAT_PREFIXES = ISO_3166 | {"EL", "XI"}


def compact_vat_number(number: str) -> str:
    """``number`` without spaces, dots, dashes and slashes, in capitals: the form an e-invoice
    carries (``NL 8123.45.678 B01`` -> ``NL812345678B01``)."""
    return _SEPARATORS.sub("", number).upper()


def _rules(prefix: str) -> NumberValidationModule | None:
    """python-stdnum's module for VAT numbers with this two-letter prefix (lower case), if any."""
    if prefix in eu_vat.MEMBER_STATES or prefix == _GREECE:
        return eu_vat
    return get_cc_module(prefix, "vat")


def vat_number_problem(number: str) -> str | None:
    """What is wrong with ``number`` as a VAT number, or None: it starts with its country's two
    letters (EL for Greece, never GR) and, for a country python-stdnum knows, has that country's
    format and check digits.
    Outside the EU python-stdnum's rules are the country's own tax number, some written without
    the prefix (an Australian ABN): either form passes."""
    compact = compact_vat_number(number)
    prefix = compact[:2]
    wanted = (
        "a VAT number starting with its country's two letters (e.g. NL, BE, DE; EL for "
        "Greece), as the e-invoice needs it"
    )
    if not re.fullmatch(r"[A-Z]{2}", prefix):
        return wanted
    if prefix not in VAT_PREFIXES:  # "UK 123 4567 89": every e-invoice fails BR-CO-09
        meant = code_meant(prefix)
        return f"{wanted} (EN 16931 BR-CO-09): {prefix} is not one" + (
            f", {meant}" if meant else ""
        )
    if prefix == "GR":  # python-stdnum reads GR as Greek; VIES and the e-invoice know EL
        return (
            "a Greek VAT number with Greece's VAT prefix EL, not its country code GR (VIES and "
            f"the e-invoice know it as EL{compact[2:]})"
        )
    rules = _rules(prefix.lower())
    if rules is None:
        return None
    forms = [compact] if rules is eu_vat else [compact, compact[2:]]
    problems = [_problem(rules, form, prefix) for form in forms]
    return None if None in problems else problems[0]


def _problem(rules: NumberValidationModule, number: str, prefix: str) -> str | None:
    """Why python-stdnum's ``rules`` refuse ``number``, in words, or None."""
    try:
        rules.validate(number)
    except InvalidChecksum:
        return f"a valid {prefix} VAT number: its check digits do not match (a digit mistyped?)"
    except InvalidLength:
        return f"a valid {prefix} VAT number: it has the wrong number of characters for {prefix}"
    except InvalidFormat:
        return f"a valid {prefix} VAT number: it is not in the format of {prefix} VAT numbers"
    except InvalidComponent:
        return f"a valid {prefix} VAT number: a part of it is not one {prefix} issues"
    except ValidationError as exc:  # another of python-stdnum's reasons
        return f"a valid {prefix} VAT number: {exc}"
    return None


#: The pydantic validation context of a document read back as it was issued (``invoices.json``):
#: its VAT numbers are not judged again (a run billed before the check came must stay readable,
#: to be credited).
AS_ISSUED = {"as_issued": True}


def checked_vat_number(number: object, info: ValidationInfo) -> object:
    """``number`` as given (the invoice prints it so), if it is a valid VAT number; ValueError
    saying what is wrong otherwise (pydantic names the file and entry). A bare number (YAML reads
    ``123456789`` as one) lacks its country's letters; an empty one is left to the VAT rule, which
    says whether the customer needs one. Read ``AS_ISSUED``, taken as it is."""
    if isinstance(number, int) and not isinstance(number, bool):
        number = str(number)
    if not isinstance(number, str) or not number.strip() or (info.context or {}).get("as_issued"):
        return number
    problem = vat_number_problem(number)
    if problem:
        raise ValueError(f"expected {problem}")
    return number
