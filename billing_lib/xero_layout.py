"""The layout of Xero's manual-journal import file (Accounting > Manual Journals > Import;
help.xero.com "Add or post multiple manual journals"): its columns, at most 300 lines a file, the
narration that makes an entry's rows one journal, the journals packed into files without
splitting one, and the files of a currency named ``EUR``, ``EUR_2``... The run's files
(``accounting_exports.xero_files``) and a credit note's reversal of them (``xero_reversal``)
both follow it."""

from __future__ import annotations

from billing_lib.journal_entries import Entry

XERO_COLUMNS = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)
XERO_MAX_LINES = 300


def journal_narration(entry: Entry) -> str:
    """One narration per entry (Xero makes one journal of the rows sharing narration and date)."""
    text = (
        entry.narration
        if entry.entry_id in entry.narration
        else f"{entry.entry_id} {entry.narration}"
    )
    return f"{text} – {entry.payee}" if entry.payee and entry.payee not in text else text


def pack_journal(files: list[list[list[str]]], journal: list[list[str]]) -> None:
    """``journal``'s rows added to the last of ``files``, or to a new one where they would take
    it past ``XERO_MAX_LINES``: a journal is never split between two files."""
    if files[-1] and len(files[-1]) + len(journal) > XERO_MAX_LINES:
        files.append([])
    files[-1].extend(journal)


def files_by_suffix(files: dict[str, list[list[list[str]]]]) -> dict[str, list[list[str]]]:
    """The files of each currency by suffix: ``EUR``, then ``EUR_2``, ``EUR_3``..."""
    return {
        currency if i == 1 else f"{currency}_{i}": rows
        for currency, parts in files.items()
        for i, rows in enumerate(parts, start=1)
    }
