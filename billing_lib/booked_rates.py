"""The exchange rates a finalised month was booked at, read back from what its run wrote, and the
rates a reissue would convert its invoice at otherwise.

A reissue rates the month again with exchange_rates.csv as it is now. The month's rows are facts
every document of the month already states: the invoices' prices of vendor lines in another
currency and their VAT in the national currency, the journal's national amounts, the Xero
file. So:

- cost the month's purchase entries booked and a reissue moves (``moved_cost.moved_cost_entries``)
  is stated in the national currency at the rate it was booked at (``purchase_rates``, from the
  run's journal), whatever the file says now: the accounts it leaves balance in both currencies;
- a rate row edited since the run that converts the new invoice otherwise (a vendor line's price,
  the invoice's national amounts) is refused (``rate_changes``, ``reissue``), naming the file,
  row and both rates, unless the reissue is confirmed as that correction
  (``--confirm-rate-change``), which the command's output and the new manifest then state.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from billing_lib.errors import ParameterError
from billing_lib.fx import ExchangeRates, span_text
from billing_lib.invoices import CUSTOMER_SOURCE_FILE
from billing_lib.journal_entries import NationalRate
from billing_lib.journal_readback import read_entry
from billing_lib.store import scratch_connection

#: The option that lets a reissue convert at a rate edited since the run.
CONFIRM_OPTION = "--confirm-rate-change"


def purchase_rates(journal: Path, period: str) -> dict[tuple[str, str], NationalRate]:
    """Per (vendor, vendor currency) the national rate the month's purchase entry
    ``COST-<period>-<vendor>-<currency>`` was booked at in the run's CSV journal ``journal``;
    none for an entry of a journal written before the national columns (the accounting package
    converted it at its own rate)."""
    prefix = f"COST-{period}-"
    with open(journal, newline="", encoding="utf-8") as fh:
        ids = {
            r["entry_id"]: r["currency"]
            for r in csv.DictReader(fh)
            if r["journal"] == "PURCH" and r["entry_id"].startswith(prefix)
        }
    out: dict[tuple[str, str], NationalRate] = {}
    for entry_id, currency in ids.items():
        rate = read_entry(journal, entry_id).national
        if rate is not None and entry_id.endswith(f"-{currency}"):
            out[entry_id[len(prefix) : -len(currency) - 1], currency] = rate
    return out


def rate_changes(
    then: Path,
    now: Path,
    key: tuple[str, str],
    entries: tuple[NationalRate | None, NationalRate | None],
    currency: str,
    rates: ExchangeRates,
) -> list[str]:
    """What an exchange_rates.csv row edited since the run changes on the invoice of ``key``
    (customer, period): its vendor lines (by report name and row) converted into the invoice
    currency at another rate in the rated lines ``now`` than in ``then`` (the same currencies
    on both sides), and its sales entry stated in the national currency at another rate
    (``entries``: then, now) for an invoice in ``currency`` on both sides. One text per pair and
    rate: the file's row now, its dates and both rates."""
    lines = (
        "SELECT vendor_currency, currency, fx_rate, charge_date, source_row, "
        f"{CUSTOMER_SOURCE_FILE} AS source_file FROM read_parquet(?) r "
        "WHERE customer_id = ? AND period = ? AND line_kind = 'vendor'"
    )
    with scratch_connection() as con:
        moved = con.execute(
            f"WITH t AS ({lines}), n AS ({lines}) "
            "SELECT t.vendor_currency, t.currency, t.fx_rate, n.fx_rate, min(n.charge_date), "
            "count(*) FROM t JOIN n USING (source_file, source_row) "
            "WHERE t.vendor_currency = n.vendor_currency AND t.currency = n.currency "
            "AND t.fx_rate IS DISTINCT FROM n.fx_rate GROUP BY ALL ORDER BY ALL",
            [str(then), *key, str(now), *key],
        ).fetchall()
    found: list[str] = []
    for source, target, old, new, day, count in moved:
        found.append(
            _changed(rates, source, target, day, old, new, f"{count} vendor lines converted at it")
        )
    was, is_now = entries
    if (
        was is not None
        and is_now is not None
        and was.currency == is_now.currency != currency
        and was.rate != is_now.rate
    ):
        what = f"the invoice's amounts in {was.currency} converted at it"
        found.append(
            _changed(rates, currency, was.currency, is_now.day, was.rate, is_now.rate, what)
        )
    return list(dict.fromkeys(found))


def _changed(
    rates: ExchangeRates,
    source: str,
    target: str,
    day: date,
    old: Decimal,
    new: Decimal,
    what: str,
) -> str:
    """One rate change as text: the file's row of ``day`` now, its dates, the rate then and now
    (written to the row's places: the rated lines keep 12)."""
    places = 4
    try:
        row = rates.row(source, target, day)
        where = f"row {row.row} ({span_text(row)})"
        places = max(places, -int(row.rate.as_tuple().exponent))
    except ParameterError:
        where = f"no row for {day.isoformat()}"
    return (
        f"{rates.path.name} {where}: {source}->{target} {_rate(old, places)} when the run billed "
        f"the month, {_rate(new, places)} now ({what})"
    )


def _rate(value: Decimal, places: int) -> str:
    """``value`` to ``places`` decimals when that is exact, else as it is without trailing 0s."""
    exact = Decimal(value).quantize(Decimal(1).scaleb(-places))
    return str(exact) if exact == value else str(Decimal(value).normalize())
