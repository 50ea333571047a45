"""A run's journal read back, for corrections: an entry of the CSV journal by its id, the cost
entries of an invoice, a beancount ledger's postings and ``bean-check``'s problems."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from billing_lib.errors import RunError
from billing_lib.journal_entries import Entry, NationalRate, Posting
from billing_lib.journal_files import plain_text


def read_entry(journal: Path, entry_id: str) -> Entry:
    """The entry ``entry_id`` of a CSV journal that ``write_csv_journal`` wrote, exactly as
    written (debit positive, credit negative), with its national amounts; one of a journal
    written before those columns (``EARLIER_JOURNAL_COLUMNS``) reads as it did, without them.
    RunError when it is missing, spread over several dates or journals, or does not balance
    (in the national currency either)."""
    journal = Path(journal)
    with open(journal, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["entry_id"] == entry_id]
    if not rows:
        raise RunError(f"{journal}: no entry {entry_id}")
    heads = {(r["date"], r["journal"], r["customer_id"], r["invoice_number"]) for r in rows}
    if len(heads) != 1:
        raise RunError(
            f"{journal}: the rows of {entry_id} disagree on date, journal, customer or invoice: "
            f"{heads}"
        )
    postings, conversion, national = [], None, _national_rate_of(journal, entry_id, rows)
    for r in rows:
        amount = _amount(journal, entry_id, r, "debit", "credit")
        if national is not None and not (r["national_debit"] or r["national_credit"]):
            raise RunError(
                f"{journal}: a row of {entry_id} (account {r['account']}) has a rate but no "
                "national amount"
            )
        converted = (
            _amount(journal, entry_id, r, "national_debit", "national_credit")
            if national is not None
            else None
        )
        posting = Posting(
            r["account"],
            amount,
            r["currency"],
            plain_text(r["description"]),
            r["vat_code"] or None,
            converted,
        )
        if not amount and converted:  # the conversion's cents (``in_national``)
            conversion = posting
        else:
            postings.append(posting)
    day, name, customer, invoice = heads.pop()
    entry = Entry(
        date.fromisoformat(day),
        name,
        entry_id,
        "",
        "",
        tuple(postings),
        customer or None,
        invoice or None,
        national,
        conversion,
    )
    if any(entry.balance().values()) or entry.national_balance():
        raise RunError(
            f"{journal}: entry {entry_id} does not balance: {entry.balance()}, in the national "
            f"currency {entry.national_balance()}"
        )
    return entry


def _amount(journal: Path, entry_id: str, row: dict[str, str], debit: str, credit: str) -> Decimal:
    """The row's ``debit`` less its ``credit`` column; RunError when both are filled."""
    if row[debit] and row[credit]:
        raise RunError(
            f"{journal}: a row of {entry_id} (account {row['account']}) has both a {debit} and "
            f"a {credit}"
        )
    return Decimal(row[debit]) if row[debit] else -Decimal(row[credit] or "0")


def _national_rate_of(
    journal: Path, entry_id: str, rows: list[dict[str, str]]
) -> NationalRate | None:
    """The rate the rows of ``entry_id`` state the national currency at; None in a journal written
    before those columns (``EARLIER_JOURNAL_COLUMNS``) or for an entry written without them.
    RunError when its rows disagree."""
    found = {
        (r.get("national_currency") or "", r.get("exchange_rate") or "", r.get("rate_date") or "")
        for r in rows
    }
    if len(found) != 1:
        raise RunError(
            f"{journal}: the rows of {entry_id} disagree on the national currency, rate or date: "
            f"{sorted(found)}"
        )
    currency, rate, day = found.pop()
    if not (currency or rate or day):
        return None
    try:
        return NationalRate(currency, Decimal(rate), date.fromisoformat(day))
    except (ArithmeticError, ValueError):
        raise RunError(
            f"{journal}: entry {entry_id} has national currency {currency!r}, exchange_rate "
            f"{rate!r}, rate_date {day!r}; expected a currency, a number and a date"
        ) from None


def cost_entry_ids(journal: Path, number: str) -> list[str]:
    """The ids of the entries with which the invoice ``number`` (one replacing a credited
    invoice) moved cost (``moved_cost_entries``: ``COST-<number>-...``) in the CSV journal
    ``journal``, in the journal's order."""
    prefix = f"COST-{number}-"
    with open(journal, newline="", encoding="utf-8") as fh:
        ids = [r["entry_id"] for r in csv.DictReader(fh) if r["entry_id"].startswith(prefix)]
    return list(dict.fromkeys(ids))


def beancount_postings(ledger: Path, entry_id: str) -> list[tuple[str, Decimal, str]]:
    """(account, amount, currency) of each posting of the transaction with ``entry_id`` in a
    beancount ledger, read by beancount's own loader (RunError when the ledger has errors or holds
    the entry other than once)."""
    from beancount import loader  # heavy; only for corrections
    from beancount.core import data

    entries, errors, _ = loader.load_file(str(ledger))
    if errors:
        raise RunError(f"{ledger}: beancount finds {len(errors)} errors, e.g. {errors[0].message}")
    found = [
        e for e in entries if isinstance(e, data.Transaction) and e.meta.get("entry_id") == entry_id
    ]
    if len(found) != 1:
        raise RunError(
            f"{ledger}: expected one transaction with entry_id {entry_id}; found {len(found)}"
        )
    out = []
    for p in found[0].postings:
        if p.units is None or p.units.number is None:
            raise RunError(f"{ledger}: a posting of {entry_id} ({p.account}) has no amount")
        out.append((p.account, p.units.number, p.units.currency))
    return out


def beancount_problems(ledger: Path) -> list[str]:
    """What beancount's loader (the same checks as ``bean-check``) finds wrong in ``ledger``."""
    from beancount import loader

    _, errors, _ = loader.load_file(str(ledger))
    return [e.message for e in errors]
