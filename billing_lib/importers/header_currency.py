"""A column whose header names the currency of its values (the Cloud Partner Navigator billing
API's ``Price (EUR)``, ``Price (DKK)``): the format reads it by one name whatever the code, and
the code as a column of its own (``header_currency`` in the format's YAML).

A format listing a column per currency silently dropped a file's price in any other currency
(``Price (DKK)``: priced from the contract instead). Here any ISO 4217 code is read; a header of
the pattern naming something else (``Price (Euro)``) is refused naming the column, and so are two
such columns with codes in one file. Empty parentheses (``Price ()``) name no currency: the
column is not read, as the vendor documents it for rows priced elsewhere.
"""

from __future__ import annotations

import re

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec
from billing_lib.money import is_iso_4217
from billing_lib.sql import ql


def header_currency(src: SourceFile, spec: FormatSpec) -> tuple[dict[str, str], dict[str, str]]:
    """(the format's column name -> the file's header, the currency column's name -> its SQL
    literal) for a file with a header of ``spec.header_currency``'s pattern; both empty when the
    format has none or the file no such column with a code. InputError naming the column for a
    code that is no ISO 4217 code, or two columns with codes."""
    hc = spec.header_currency
    if hc is None:
        return {}, {}
    pattern = re.compile(hc.header, re.IGNORECASE)
    found: list[tuple[str, str]] = []
    for name in src.header:
        m = pattern.fullmatch(name)
        if m is None or not m.group(1).strip():
            continue
        code = m.group(1).strip().upper()
        if not is_iso_4217(code):
            raise InputError(
                f"{src.name} ({spec.title}): column {name!r} names no currency its prices are "
                "in, so they cannot be read",
                [Problem(src.name, 1, name, m.group(1), "an ISO 4217 currency code, e.g. EUR")],
            )
        found.append((name, code))
    if len(found) > 1:
        raise InputError(
            f"{src.name} ({spec.title}): prices in {len(found)} currencies, one column each "
            f"({', '.join(n for n, _ in found)}); the report gives one price column, in the "
            "currency of the account: export it again",
            [Problem(src.name, 1, n, None, "one price column") for n, _ in found[1:]],
        )
    if not found:
        return {}, {}
    name, code = found[0]
    return {hc.column: name}, {hc.currency: ql(code)}
