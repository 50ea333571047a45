"""How a spreadsheet rewrites the ids it reads as numbers when a CSV is opened and saved in it.

Excel and LibreOffice read ``402719385610`` as a number and save it in scientific notation
(``4.02719E+11``, Excel's General format beyond 11 digits), and ``0002`` as ``2``. An id so
rewritten no longer names what it named: a vendor report's lines would map to no customer or match
other price rules (``importers/spreadsheet_damage.py``), an ``accounts.csv`` row would map nothing.
"""

from __future__ import annotations

import re

#: A number in scientific notation as a spreadsheet writes it. No vendor id has the exponent's "+".
SCIENTIFIC = r"-?[0-9](\.[0-9]+)?[Ee]\+[0-9]+"


def in_scientific_notation(text: str) -> bool:
    """Whether ``text`` is a long number as a spreadsheet writes it (``4.02719E+11``)."""
    return re.fullmatch(SCIENTIFIC, text.strip()) is not None
