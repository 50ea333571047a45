"""Texts the invoice documents print, checked once where they enter the run.

A text from the parameters (a customer's name, street, city; a custom line's description; a
product group's heading) is refused when it is loaded if it is blank or holds a control character
(a tab, a newline, a form feed): a blank line text made an e-invoice that fails EN 16931 (BR-25,
``<cbc:Name>   </cbc:Name>``) and an empty ``<cbc:CityName>`` (PEPPOL-EN16931-R008); a newline or
a tab printed as a box in the PDF, a form feed was dropped from the UBL and escaped (``_x000C_``)
in the workbook, so the documents stated different texts. The analyst can fix a parameter; a
vendor's text (a service name, a line's description, a unit) cannot be, so the text of an invoice
line made of it is normalised once where the line is made (``clean_text_sql``, ``clean_text``),
the same for every document.

A Unicode noncharacter (U+FFFE, U+FFFF, U+FDD0 ...) or a lone surrogate is no character at all:
XML cannot carry U+FFFE, U+FFFF or a surrogate, so the e-invoice dropped them while the PDF drew
a box and the workbook wrote ``_xFFFE_``. A parameters text holding one is refused; a vendor's
text or a reason loses them (``clean_text``); and each document writer passes every text it
prints through ``printed`` as a last guard (an invoice issued before, read back to be credited),
so the PDF, the workbook and the e-invoice print one text.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

#: Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: none is drawn
#: by the PDF's font, an XML 1.0 document cannot hold most of them, a spreadsheet escapes them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: A run of whitespace and control characters, in RE2 (DuckDB) and in Python: it reads as one
#: space (RE2's ``\s`` is ASCII whitespace, so Python's is spelt out).
_SPACES_RE2 = r"[\s\p{Cc}\x{2028}\x{2029}]+"
_SPACES = re.compile("[ \t\n\v\f\r\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: The Unicode noncharacters (U+FDD0 to U+FDEF, the last two code points of each of the 17
#: planes: U+FFFE, U+FFFF, U+1FFFE ...) and the surrogates (no character alone): no document
#: carries them (XML 1.0 has no U+FFFE, U+FFFF nor surrogates); in Python and in RE2 (DuckDB's
#: strings are UTF-8: no surrogate can be in one).
_PLANE_ENDS = [(p << 16) | end for p in range(17) for end in (0xFFFE, 0xFFFF)]
_NONCHARACTERS = re.compile(
    "[\ufdd0-\ufdef\ud800-\udfff" + "".join(chr(c) for c in _PLANE_ENDS) + "]"
)
_NONCHARACTERS_RE2 = "[\\x{FDD0}-\\x{FDEF}" + "".join(f"\\x{{{c:X}}}" for c in _PLANE_ENDS) + "]"
#: What ``printed`` drops (``NONCHARACTERS_RE2``) and what it makes a space (``CONTROL_RE2``: the
#: characters of ``_CONTROL``), in RE2: for a column of texts at once (``printed_columns``).
NONCHARACTERS_RE2 = _NONCHARACTERS_RE2
CONTROL_RE2 = r"[\x00-\x1f\x7f-\x{9f}\x{2028}\x{2029}]"


def text_problem(value: str) -> str | None:
    """What makes ``value`` unfit to print on an invoice (after "expected"), or None."""
    if not value.strip():
        return "a text that is not blank (the invoice and the e-invoice print it)"
    odd = _NONCHARACTERS.search(value)
    if odd:
        return (
            "a text without Unicode noncharacters (U+FFFE, U+FFFF: the e-invoice cannot hold "
            f"them, the PDF prints them as boxes); found U+{ord(odd.group()):04X}"
        )
    found = _CONTROL.search(value)
    if found:
        return (
            "a text on one line without control characters (tab, newline: the PDF prints them "
            f"as boxes, the workbook and the e-invoice otherwise); found {found.group()!r}"
        )
    return None


def checked_text(value: object, info: ValidationInfo) -> object:
    """``value`` as given, if it is a printable text (``text_problem``); ValueError saying what is
    wrong otherwise (pydantic names the file and entry). Read with ``AS_ISSUED``
    (``invoices.json``), taken as it is: a document issued before the check stays readable."""
    if not isinstance(value, str) or (info.context or {}).get("as_issued"):
        return value
    problem = text_problem(value)
    if problem:
        raise ValueError(f"expected {problem}")
    return value


#: A parameters text an invoice document prints (``checked_text``).
PrintedText = Annotated[str, AfterValidator(checked_text)]


def printed(value: str) -> str:
    """``value`` as every invoice document prints it: the noncharacters dropped, each control
    character a space. The PDF, the workbook's invoice sheet and the e-invoice pass each text
    through it, so none prints a text the others do not (clean texts pass unchanged)."""
    if value.isascii() and value.isprintable():  # nearly every text: nothing to look for
        return value
    return _CONTROL.sub(" ", _NONCHARACTERS.sub("", value))


def clean_text(value: str | None) -> str | None:
    """``value`` as an invoice line prints it (``clean_text_sql``, in Python): the noncharacters
    dropped, each run of whitespace and control characters one space, none at the ends; None
    when nothing is left."""
    if value is None:
        return None
    return _SPACES.sub(" ", _NONCHARACTERS.sub("", value)).strip(" ") or None


def clean_text_sql(value: str) -> str:
    """SQL of the text ``value`` (a VARCHAR expression) as an invoice line prints it: each run of
    whitespace and control characters one space, none at the ends, the noncharacters dropped;
    NULL when nothing is left (so the text falls back to the next name, never an empty
    element)."""
    dropped = f"regexp_replace({value}, '{_NONCHARACTERS_RE2}', '', 'g')"
    return f"NULLIF(trim(regexp_replace({dropped}, '{_SPACES_RE2}', ' ', 'g')), '')"
