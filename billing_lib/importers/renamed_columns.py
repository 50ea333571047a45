"""A column the format reads, renamed in the header to a word like its own (``Qty`` for
``Quantity``, ``Amt`` for ``Cost``, ``Units`` for ``Unit``, a typo): refused naming both.

A column a format reads only where the file has it (an alternative, a fallback in a COALESCE, or
NULL) was simply not read under another name: licences counted by another quantity, lines
without a list price, an exchange rate taken as 1, all without a word. A column the file has but
no format reads is left alone unless its name is such a variant of a missing one: real exports
carry many columns of their own (``source_checks.check_respelled`` refuses the same name spelt
with other case, spaces or punctuation).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec, choices, tag_columns_of

#: Words of a column name: a run of capitals before a capitalised word (``PCTo``: PC, To), a
#: capitalised or lower-case word, a run of capitals, a number.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
#: Abbreviations and synonyms a spreadsheet user writes for a word of a vendor's column name
#: (``Amt``, ``Cost`` and ``Amount`` are one: a money column renamed to another of them).
_SAME_WORD = {
    "qty": "quantity",
    "amt": "amount",
    "cost": "amount",
    "no": "number",
    "nr": "number",
    "num": "number",
    "ccy": "currency",
    "cur": "currency",
    "curr": "currency",
    "desc": "description",
    "acct": "account",
    "exch": "exchange",
    "pct": "percentage",
    "percent": "percentage",
}
#: How alike two longer words must be (difflib's ratio) to be taken for a typo of one another.
_TYPO_RATIO = 0.8


def words(name: str) -> list[str]:
    """The words of a column name, in lower case, abbreviations written out (``_SAME_WORD``)."""
    return [_SAME_WORD.get(w.lower(), w.lower()) for w in _WORD.findall(name)]


def _word_like(a: str, b: str) -> bool:
    """Whether two words are one: equal; the shorter the beginning of the longer, of three
    letters or more (``desc``, ``exch``, ``unit`` of ``units``); the shorter of four letters at
    most, its first the longer's and no vowel after it, the longer's letters in order (``prc``
    of ``price``, ``pts`` of ``points``: not ``date`` of ``datacenter``); or, both of five
    letters or more and from the same first letter, a typo of one another (not ``blended`` of
    ``unblended``, nor ``category`` of ``subcategory``)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) >= 3 and long.startswith(short):
        return True
    if short[:1] != long[:1]:
        return False
    if 2 <= len(short) <= 4 and not set(short[1:]) & set("aeiou"):
        letters = iter(long)
        if all(ch in letters for ch in short):
            return True
    return len(short) >= 5 and SequenceMatcher(None, a, b).ratio() >= _TYPO_RATIO


def resembles(found: str, expected: str) -> bool:
    """Whether the header name ``found`` is ``expected`` renamed to a word like it: as many
    words, each like its counterpart (``Billable Qty`` and ``BillableQuantity``)."""
    f, e = words(found), words(expected)
    return bool(e) and len(f) == len(e) and all(map(_word_like, f, e))


def _satisfied(spec: FormatSpec, found: dict[str, str]) -> set[str]:
    """The columns the format reads that the file may lack because it has an alternative of
    them (``column: [A, B]``, a required entry ``A | B``)."""
    groups = [spec.column_map(t).alternatives() for t in spec.columns]
    groups += [choices(c) for c in (*spec.required, *spec.signature)]
    return {name for g in groups if any(n in found for n in g) for name in g}


def renamed_in_header(
    src: SourceFile, spec: FormatSpec, missing: list[str], read: set[str], why: str
) -> list[Problem]:
    """A Problem (row 1) for each column of the header not in ``read`` whose name ``resembles``
    one of ``missing``, the columns of ``spec`` the file lacks; ``why``: what became of the
    column under its other name, for the message."""
    read = read | set(tag_columns_of(spec, src.header)) | set(src.unnamed)
    currency = re.compile(spec.header_currency.header, re.I) if spec.header_currency else None
    problems = []
    for column in src.header:
        if column in read or (currency and currency.fullmatch(column)):
            continue
        like = [c for c in missing if resembles(column, c)]
        if like:
            problems.append(
                Problem(
                    src.name,
                    1 if src.kind == "csv" else None,
                    column,
                    column,
                    f"the column {like[0]!r} as the vendor names it (the file has no "
                    f"{like[0]!r}, and {column!r} is no column the format reads): {why}; "
                    "rename the column back, or export the report again",
                )
            )
    return problems


def check_renamed(src: SourceFile, spec: FormatSpec, wanted: list[str], found: dict) -> None:
    """Refuse a header column no mapping reads whose name ``resembles`` one the format reads
    and the file lacks. ``found``: the columns of ``wanted`` the header has, by the file's
    spelling (``resolve_columns``, the header currency's column with it)."""
    missing = [c for c in wanted if c not in found and c not in _satisfied(spec, found)]
    why = "under another name it is not read and its values are lost"
    problems = renamed_in_header(src, spec, missing, set(found.values()), why) if missing else []
    if problems:
        raise InputError(
            f"{src.name} ({spec.title}): the header names a column the format reads otherwise",
            problems,
        )
