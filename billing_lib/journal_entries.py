"""A journal entry and its postings, and how an entry is stated in the seller's national currency
(``NationalRate``, ``in_national``: one rate per entry, each posting rounded half-up, the cents
left on the rounding account); the reversal of an entry (a credit note's)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from billing_lib.errors import ParameterError
from billing_lib.fx import ExchangeRates, missing_rate_error
from billing_lib.money import ZERO, round_money


@dataclass(frozen=True)
class Posting:
    """One line of an entry: ``amount`` > 0 is a debit, < 0 a credit (in ``currency``)."""

    account: str
    amount: Decimal
    currency: str
    description: str
    vat_code: str | None = None
    #: The amount in the seller's national currency (the entry's ``national``), signed as
    #: ``amount``; None where it is not known (a journal written before it was).
    national: Decimal | None = None


@dataclass(frozen=True)
class NationalRate:
    """One unit of an entry's currency is worth ``rate`` units of the seller's national
    ``currency``: exchange_rates.csv's rate of ``day`` (1 for an entry in that currency)."""

    currency: str
    rate: Decimal
    day: date


@dataclass(frozen=True)
class Entry:
    """One balanced journal entry, in its own currency and, with ``national``, in the seller's
    national currency too (each posting's ``national``, and ``conversion``: the cents the
    conversion's roundings leave, 0 in the entry's currency, on the rounding account)."""

    date: date
    journal: str
    entry_id: str
    payee: str
    narration: str
    postings: tuple[Posting, ...]
    customer_id: str | None = None
    invoice_number: str | None = None
    national: NationalRate | None = None
    conversion: Posting | None = None

    def balance(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for p in self.postings:
            out[p.currency] = out.get(p.currency, ZERO) + p.amount
        return out

    def national_balance(self) -> Decimal:
        """Debits less credits in the national currency (0: balanced; 0 without ``national``)."""
        rows = (*self.postings, *([self.conversion] if self.conversion else []))
        return sum((p.national or ZERO for p in rows), ZERO)


def national_rate(
    currency: str, national: str, day: date, rates: ExchangeRates | None
) -> NationalRate | None:
    """The rate an entry in ``currency`` is stated in the ``national`` currency at: 1 in that
    currency, else exchange_rates.csv's rate of ``day`` (None without ``rates``: an entry built
    outside a run, whose journal then leaves the national columns empty). A ParameterError
    naming the pair and the day when exchange_rates.csv has none."""
    if currency == national:
        return NationalRate(national, Decimal(1), day)
    if rates is None:
        return None
    try:
        return NationalRate(national, rates.rate(currency, national, day), day)
    except ParameterError:
        raise missing_rate_error(
            rates.path,
            currency,
            national,
            day,
            f" (the journal states every entry in the national currency {national} too, at "
            "the rate of its period's last day)",
        ) from None


def in_national(
    entry: Entry,
    rate: NationalRate | None,
    rounding_account: str,
    vat: tuple[str, Decimal] | None = None,
) -> Entry:
    """``entry`` stated in the national currency at ``rate`` (as it is without one): each
    posting's amount x rate rounded half-up once, and the cents those roundings leave on a
    posting of the rounding account of 0 in the entry's currency (``Entry.conversion``),
    described and placed as the Xero base-currency journal books them
    (``accounting_exports.Conversion.entry``): every other row is its own amount converted and
    the entry balances. ``vat``: (VAT account, the invoice's national VAT signed as its VAT
    postings) that those postings are made to add up to, on the largest (an invoice has one
    VAT line, whose conversion it is already)."""
    if rate is None or not entry.postings:
        return entry
    postings = [
        replace(
            p,
            national=(
                p.amount
                if p.currency == rate.currency
                else round_money(p.amount * rate.rate, rate.currency)
            ),
        )
        for p in entry.postings
    ]
    if vat is not None:
        account, total = vat
        mine = [i for i, p in enumerate(postings) if p.account == account]
        off = total - sum((postings[i].national or ZERO for i in mine), ZERO)
        if mine and off:
            i = max(mine, key=lambda i: abs(postings[i].amount))
            postings[i] = replace(postings[i], national=(postings[i].national or ZERO) + off)
    rest = sum((p.national or ZERO for p in postings), ZERO)
    conversion = (
        Posting(
            rounding_account,
            round_money(ZERO, postings[0].currency),
            postings[0].currency,
            f"Rounding differences converting to {rate.currency} on {rate.day.isoformat()}",
            national=-rest,
        )
        if rest
        else None
    )
    return replace(entry, postings=tuple(postings), national=rate, conversion=conversion)


def reversing_entry(
    original: Entry,
    entry_id: str,
    day: date,
    payee: str,
    narration: str,
    receivable_description: str,
) -> Entry:
    """The entry that cancels ``original``: the same accounts, currencies and VAT codes with every
    amount negated (so debits become credits to the cent), its national amounts too (at the
    original's rate, so the national VAT is cancelled exactly), dated ``day``. The first posting
    (the receivable of a sales entry) gets ``receivable_description``; the others keep theirs."""
    postings = tuple(
        replace(_negated(p), description=receivable_description if i == 0 else p.description)
        for i, p in enumerate(original.postings)
    )
    return Entry(
        day,
        original.journal,
        entry_id,
        payee,
        narration,
        postings,
        original.customer_id,
        entry_id,
        original.national,
        _negated(original.conversion) if original.conversion else None,
    )


def _negated(p: Posting) -> Posting:
    """``p`` with its amount and its national amount negated (at the original's rate)."""
    return replace(p, amount=-p.amount, national=None if p.national is None else -p.national)
