"""The UN/ECE Recommendation 20 code of an invoice line's unit, for the UBL e-invoice's quantity.

EN 16931 asks every invoiced quantity's unit as a Rec 20 (or Rec 21) code (BT-130, BR-CL-23).
The vendors' reports name their units in their own words ("Licenses", "Hrs", "GB-Mo", "Point"),
and the custom lines in the reseller's ("each", "hour", "month"). Only the units that mean one
Rec 20 unit get its code here; the others (a gigabyte-month, a VMware point, a pack of ten hours)
have none, and their e-invoice line states quantity 1 at the line's amount instead (``ubl``).
"""

from __future__ import annotations

#: Unit words (lower case, spaces and a trailing "s" or "(s)" as the invoice shows them aside)
#: and their Rec 20 code: a count of things (one licence, seat, user, item: C62 "one"), a unit
#: of time (HUR hour, DAY, WEE week, MON month, ANN year, MIN minute, SEC second), a size of
#: data (4L megabyte, E34 gigabyte, E35 terabyte).
REC20_CODES: dict[str, str] = {
    **dict.fromkeys(
        ("license", "licence", "seat", "user", "each", "unit", "item", "piece", "pc"),
        "C62",
    ),
    **dict.fromkeys(("hour", "hr", "h"), "HUR"),
    "day": "DAY",
    **dict.fromkeys(("week", "wk"), "WEE"),
    **dict.fromkeys(("month", "mo", "mon"), "MON"),
    **dict.fromkeys(("year", "yr"), "ANN"),
    **dict.fromkeys(("minute", "min"), "MIN"),
    **dict.fromkeys(("second", "sec"), "SEC"),
    "mb": "4L",
    "gb": "E34",
    "tb": "E35",
}


def rec20_code(unit: str | None) -> str | None:
    """The Rec 20 code of ``unit`` as an invoice line shows it (``line_figures.display_unit``),
    or None where it names no single Rec 20 unit: "Licenses" -> C62, "Hrs" -> HUR, "GB" ->
    E34, "GB-Mo", "Point", "10 Hours" -> None."""
    if not unit:
        return None
    word = "".join(unit.split()).lower().removesuffix("(s)")
    code = REC20_CODES.get(word)
    if code is None and word.endswith("s"):
        code = REC20_CODES.get(word[:-1])
    return code
