"""Checks of the exchange rates: rates older than the month, national-currency rates of the
invoices' VAT, and rates that moved more than the threshold or read as entered inverted."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from billing_lib.fx import ExchangeRate, ExchangeRates, neighbours_in, span_text
from billing_lib.invoice_model import Invoice
from billing_lib.periods import month_days
from billing_lib.review.findings import Finding, file_name


def stale_rates(con: duckdb.DuckDBPyConnection, period: str) -> list[Finding]:
    """Exchange rates that priced lines of ``period`` but were set before it (valid from an earlier
    month, or from no date): nobody gave a rate for this month. A line's rate is that of its
    pricing date (``x_PricingDate``): its charge date, but for a licence credit the first day of
    the cycle it gives back (docs/pricing.md, item 4), whose rate is listed with the credits'
    lines, to be checked as the rate of that day rather than replaced by the month's. A late
    line charged before the month (usage of 30 September in October's report) is converted at
    the rate of its own day, as it should be: not listed (the rating warns of such lines)."""
    first, _ = month_days(period)
    rows = con.execute(
        """WITH credits AS (
              SELECT x_SourceFile AS file, x_SourceRow AS row, x_PricingDate AS day
              FROM customer_lines WHERE x_PricingDate < CAST(ChargePeriodStart AS DATE)),
            priced AS (
              SELECT r.vendor_currency, r.currency, r.source_file, r.source_row, c.day AS cycle,
                     COALESCE(c.day, r.charge_date) AS day
              FROM rated_lines r
              LEFT JOIN credits c ON c.file = r.source_file AND c.row = r.source_row
              WHERE r.line_kind = 'vendor' AND r.vendor_currency <> r.currency
                -- a late line of an earlier day has that day's rate, no old one of the month
                AND (c.day IS NOT NULL OR r.charge_date >= $1))
           SELECT f.from_currency, f.to_currency, f.rate, f.valid_from, f.source, count(*),
                  count(p.cycle), min(p.cycle),
                  list(p.source_file ORDER BY p.source_file, p.source_row)
                    FILTER (WHERE p.cycle IS NOT NULL),
                  list(p.source_row ORDER BY p.source_file, p.source_row)
                    FILTER (WHERE p.cycle IS NOT NULL)
            FROM priced p JOIN _fx_rates f
              ON f.from_currency = p.vendor_currency AND f.to_currency = p.currency
             AND p.day BETWEEN f.valid_from AND f.valid_to
            WHERE f.valid_from < $1
            GROUP BY f.from_currency, f.to_currency, f.rate, f.valid_from, f.source
            ORDER BY 1, 2, 4""",
        [first],
    ).fetchall()
    out = []
    for a, b, rate, since, source, n, credits, cycle, files, numbers in rows:
        text = (
            f"rate {Decimal(rate).normalize():f} valid from "
            f"{'no date' if since.year == 1 else since.isoformat()} ({source}) priced {n} line(s) "
            f"of {period}"
        )
        if credits:
            text += (
                (": " if credits == n else f", {credits} of them ")
                + "licence credit(s) priced as of the start of the cycle they give back (from "
                f"{cycle.isoformat()}), as that cycle's charge was; check it is the rate of "
                "that day"
            )
        lines = tuple(
            f"{file_name(f)} row {r}" for f, r in zip(files or [], numbers or [], strict=True)
        )
        out.append(Finding("old exchange rate", f"{a}->{b}", text, lines))
    return out


def stale_national_rates(
    invoices: list[Invoice], rates: ExchangeRates | None, period: str
) -> list[Finding]:
    """Exchange rates that stated the VAT of invoices of ``period`` in the seller's national
    currency (``Invoice.national_vat``, Art. 230: GBP->EUR for a GBP invoice of a EUR seller) but
    were set before the month. ``stale_rates`` does not see them: such a rate converts no vendor
    line, only the VAT printed in the national currency, which is declared at it."""
    if rates is None:
        return []
    first, _ = month_days(period)
    used: dict[ExchangeRate, list[str]] = {}
    for inv in invoices:
        national = inv.national_vat
        if national is None:
            continue
        row = rates.row(inv.currency, national.currency, national.rate_date)
        if row.valid_from is None or row.valid_from < first:
            used.setdefault(row, []).append(inv.number)
    return [
        Finding(
            "old exchange rate",
            f"{r.from_currency}->{r.to_currency}",
            f"rate {r.rate.normalize():f} valid from "
            f"{r.valid_from.isoformat() if r.valid_from else 'no date'} ({r.source}) states the "
            f"VAT of {len(numbers)} invoice(s) of {period} in {r.to_currency}, the seller's "
            "national currency",
            tuple(f"invoice {n}" for n in numbers),
        )
        for r, numbers in sorted(
            used.items(), key=lambda x: (x[0].from_currency, x[0].to_currency, x[0].row)
        )
    ]


#: How close to 1 a rate times the rate before it is for the review to ask whether it was
#: entered the wrong way round (EUR->USD typed for USD->EUR).
INVERTED_WITHIN = Decimal("0.02")


def rate_moves(rates: ExchangeRates | None, period: str, percent: Decimal) -> list[Finding]:
    """Exchange rates in force in ``period`` that moved more than ``percent`` % from the rate of
    the pair before them (or to the one after): a move the plausibility check at loading lets
    through (``fx_plausibility_factor``, 1.5) but that changes every converted line. A rate
    entered the wrong way round for a pair near parity is the case in point: EUR->USD 1.0885
    typed for USD->EUR 0.9187 bills 18 % more, and 1/x is within 1.5 of x."""
    if rates is None:
        return []
    first, last = month_days(period)
    out = []
    for a, b in neighbours_in(rates, first, last):
        move = (b.rate / a.rate - 1) * 100
        if abs(move) <= percent:
            continue
        text = (
            f"{b.rate} (row {b.row}, {span_text(b)}) is {abs(move):.1f} % "
            f"{'above' if move > 0 else 'below'} {a.rate} (row {a.row}, {span_text(a)})"
        )
        if abs(a.rate * b.rate - 1) <= INVERTED_WITHIN:
            text += (
                f"; it is about 1/{a.rate}: the {a.to_currency}->{a.from_currency} rate, "
                "entered the wrong way round?"
            )
        out.append(Finding("exchange rate moved", f"{a.from_currency}->{a.to_currency}", text))
    return out
