"""A credit note's reversal of the run's Xero manual journals, read back from the run's own
files: each of the original entry's rows (found by its narration, and an entry the run split
into journals of parts, ``accounting_exports._xero_parts``, part by part) with the credit
note's narration and date, its amount negated (a converted line's amount in its own currency
too), a line carried between parts named after the reversal, packed into files of at most
``XERO_MAX_LINES`` lines as the run's were (``xero_layout``). Pure: ``write_reversed_packages``
(``accounting_exports``) reads the run's files and writes what this gives."""

from __future__ import annotations

import re
from decimal import Decimal

from billing_lib.invoice_model import money_text
from billing_lib.journal_entries import Entry
from billing_lib.journal_files import csv_text, reworded
from billing_lib.xero_layout import files_by_suffix, journal_narration, pack_journal

#: The end of the narration of a journal of an entry's parts (``accounting_exports._xero_parts``).
_PART = re.compile(r" \(part (\d+) of \d+\)$")


def xero_part(narration: str, entry: Entry) -> int | None:
    """Where a Xero row of narration ``narration`` is ``entry``'s: 0 in its one journal, n in
    its journal "(part n of m)"; None where it is another entry's. An entry without a narration
    of its own (a reissue's cost move) is found by its id starting the row's narration."""
    part = _PART.search(narration)
    own = narration[: part.start()] if part else narration
    if own == csv_text(journal_narration(entry)) or (
        not entry.narration and own.startswith(f"{entry.entry_id} ")
    ):
        return int(part.group(1)) if part else 0
    return None


def xero_reversed(row: list[str], was: Entry, now: Entry, date_format: str) -> list[str]:
    """A Xero row of ``was`` as ``now`` (its reversal) books it: narration (and part) and date
    of ``now``, the amount negated, a converted line's amount in its own currency too, a line
    carried between parts named after ``now``. The receivable's wording is ``reworded`` on
    the entry's first row by the caller."""
    part = _PART.search(row[0])
    carried = f"{was.entry_id} carried "
    description = row[2]
    if description.startswith(carried):
        description = f"{now.entry_id} carried {description[len(carried) :]}"
    return [
        csv_text(journal_narration(now)) + (part.group(0) if part else ""),
        now.date.strftime(date_format),
        _converted_negated(description),
        *row[3:5],
        money_text(-Decimal(row[5])),
        *row[6:],
    ]


def xero_reversed_files(
    found: dict[str, list[list[tuple[int, list[str]]]]],
    pairs: list[tuple[Entry, Entry]],
) -> dict[str, list[list[str]]]:
    """The reversed Xero rows ``found`` (per currency, per pair of ``pairs``, with their part
    numbers) as the rows of files by suffix (``EUR``, ``EUR_2`` past 300 lines; the caller
    names them after the reversal): each pair's parts in order, each part a journal of its own
    as the run wrote it, never split between files; the first row of each pair worded as its
    reversal's receivable."""
    files: dict[str, list[list[list[str]]]] = {}
    for currency, per_pair in found.items():
        for (was, now), rows in zip(pairs, per_pair, strict=True):
            ordered = [r for _, r in sorted(rows, key=lambda pr: pr[0])]
            if not ordered:
                continue
            receivable = (was.postings[0].description, now.postings[0].description)
            ordered[0][2] = reworded(ordered[0][2], receivable)
            journals: dict[str, list[list[str]]] = {}
            for r in ordered:
                journals.setdefault(r[0], []).append(r)
            for journal in journals.values():
                pack_journal(files.setdefault(currency, [[]]), journal)
    return files_by_suffix(files)


#: The end of a line ``Conversion.entry`` converted: `` (USD 2045.85 at 0.9187)``.
_CONVERTED = re.compile(r" \(([A-Z]{3}) (-?\d+(?:\.\d+)?) at (\d+(?:\.\d+)?)\)$")


def _converted_negated(text: str) -> str:
    """A converted line's description with the amount in its own currency negated, as the
    reversed line's converted amount is."""
    found = _CONVERTED.search(text)
    if found is None:
        return text
    currency, amount, rate = found.groups()
    return f"{text[: found.start()]} ({currency} {money_text(-Decimal(amount))} at {rate})"
