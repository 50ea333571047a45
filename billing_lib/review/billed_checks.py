"""What was not billed or billed twice: custom lines not billed, one-off lines repeated from an
earlier month, months before this one not billed or not finalised."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from billing_lib.money import round_money
from billing_lib.periods import month_days, months_from, run_periods
from billing_lib.pricing import CustomLine
from billing_lib.publishing import FINALISED_MARKER
from billing_lib.rating.custom import billed_in
from billing_lib.review.findings import Finding
from billing_lib.run_files import (
    MANIFEST,
    billed_now,
    credited_invoices,
    named_if_damaged,
)


def custom_lines_not_billed(
    con: duckdb.DuckDBPyConnection,
    custom_lines: tuple[CustomLine, ...],
    output: Path,
    period: str,
    rated_file: str,
) -> list[Finding]:
    """Custom lines (``custom_lines.yaml``) that would have been billed in an earlier month whose
    published run does not hold them: a one-off or credit dated in a month billed before it was
    entered, a fee whose ``valid_from`` reaches back into such a month. This run bills only its
    own month, so without a word that money is never billed (or the credit never given)."""
    earlier = {
        p: output / p / rated_file
        for p in run_periods(output, MANIFEST)
        if p < period and (output / p / rated_file).is_file()
    }
    owed = []
    for c in custom_lines:
        for month in earlier:
            first, last = month_days(month)
            billed = billed_in(c, first, last)
            if billed is not None and billed[0]:
                owed.append((c, month, billed[0]))
    if not owed:
        return []
    # each month as billed now: a credited customer's run lines out, its reissued invoice's in;
    # per file its month and the customers whose lines in it no longer count
    counted: dict[str, tuple[str, list[str]]] = {}
    for month in sorted({m for _, m, _ in owed}):
        dropped, replacing = billed_now(output, month)
        counted[str(earlier[month])] = (month, dropped)
        counted |= {str(f): (month, []) for f in replacing}
    with named_if_damaged([Path(f) for f in counted]):
        found = con.execute(
            """SELECT DISTINCT filename, customer_id, rule_id FROM read_parquet(?, filename = true)
               WHERE line_kind IN ('fee', 'one_off', 'credit')""",
            [list(counted)],
        ).fetchall()
    held = {
        (counted[name][0], rule)
        for name, customer, rule in found
        if customer not in counted[name][1]
    }
    cancelled = _on_cancelled_invoices(con, output, sorted({m for _, m, _ in owed}))
    finalised = set(run_periods(output, FINALISED_MARKER))
    out = []
    for c, month, amount in owed:
        if (month, c.id) in held:
            continue
        charge = f"{c.kind} of {c.currency} {amount:.2f} in {month}"
        on = cancelled.get((month, c.customer, c.id))
        if on is not None:  # billed, and its invoice cancelled: a reissue bills it again
            text = (
                f"{charge} was on invoice {on[0]}, which credit note {on[1]} cancelled, and no "
                f"invoice replaces it: it is billed in no month. If it is owed, billing reissue "
                f"--invoice {on[0]} bills it in its month (correct or remove it in "
                f"custom_lines.yaml first if not); billed in {period} instead, the reissue "
                "would bill it a second time"
            )
        else:
            text = (
                f"{charge}, whose run "
                f"({'finalised' if month in finalised else 'published, not finalised'}) does not "
                f"hold it: entered after that month was billed, it is billed in no month. Bill it "
                f"in {period}: a one-off or credit dated in {period}"
                + (", with the fee's missed days as a one-off" if c.kind == "fee" else "")
            )
        out.append(Finding("custom line not billed", f"{c.id} ({c.customer})", text))
    return out


def _on_cancelled_invoices(
    con: duckdb.DuckDBPyConnection, output: Path, months: list[str]
) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(month, customer, custom line id) -> (invoice, credit note) of the custom lines that an
    invoice of ``months`` billed before a credit note cancelled it, with no invoice replacing it
    (``run_files.credited_invoices``)."""
    credited = {
        (month, str(rated), customer): (number, note)
        for month in months
        for customer, (number, note, rated) in credited_invoices(output, month).items()
    }
    files = sorted({name for _, name, _ in credited})
    if not files:
        return {}
    with named_if_damaged([Path(f) for f in files]):
        rows = con.execute(
            """SELECT DISTINCT filename, customer_id, rule_id FROM read_parquet(?, filename = true)
               WHERE line_kind IN ('fee', 'one_off', 'credit')""",
            [files],
        ).fetchall()
    return {
        (month, customer, rule): credited[(month, name, customer)]
        for month, name, customer in credited
        for f, cust, rule in rows
        if f == name and cust == customer
    }


def _text_key(text: str) -> str:
    """A description as compared: its case and spaces aside (as for two fees, docs/pricing.md)."""
    return " ".join(text.split()).casefold()


def _charge(c: CustomLine) -> str:
    """``2 hour x 95.00 = EUR 190.00``: a one-off's or credit's amount as entered."""
    amount = round_money(c.quantity * c.unit_price, c.currency)
    return f"{c.quantity.normalize():f} {c.unit} x {c.unit_price} = {c.currency} {amount}"


def repeated_one_offs(
    con: duckdb.DuckDBPyConnection,
    custom_lines: tuple[CustomLine, ...],
    output: Path,
    period: str,
    rated_file: str,
) -> list[Finding]:
    """One-offs and credits of ``custom_lines.yaml`` billed in ``period`` that look entered
    twice: two entries (different ids) of one customer and kind with the same description
    (case and spaces aside), date, quantity and unit price, which the invoice merges into one
    line ("2 hour x 95.00"); and one billed in an earlier month's published run (as billed now)
    already: the same id (its date moved into this month) or an entry of the same customer,
    kind, description, quantity and amount (copied into this month). They may be real charges,
    so they are listed, not refused."""
    first, last = month_days(period)
    billed = [c for c in custom_lines if c.kind != "fee" and billed_in(c, first, last) is not None]
    if not billed:
        return []
    out = []
    same: dict[tuple, list[CustomLine]] = {}
    for c in billed:
        key = (c.customer, c.kind, _text_key(c.description), c.on, c.quantity, c.unit_price)
        same.setdefault(key, []).append(c)
    for group in same.values():
        if len(group) < 2:
            continue
        c = group[0]
        ids = " and ".join(f"custom_lines[id={g.id}]" for g in group)
        out.append(
            Finding(
                "one-off entered twice",
                f"{', '.join(g.id for g in group)} ({c.customer})",
                f"{ids}: {len(group)} {c.kind.replace('_', '-')}s of {c.customer} "
                f"{c.description!r} on {c.on.isoformat() if c.on else '-'}, each {_charge(c)}, "
                "are all billed (in one invoice line): the same charge entered twice? Remove "
                "one; if they are separate charges, make their descriptions tell them apart",
            )
        )
    out += _billed_before(con, billed, output, period, rated_file)
    return out


def _billed_before(
    con: duckdb.DuckDBPyConnection,
    billed: list[CustomLine],
    output: Path,
    period: str,
    rated_file: str,
) -> list[Finding]:
    """The one-offs and credits ``billed`` now that an earlier published run (as billed now)
    billed already: by id, or alike (customer, kind, description, quantity and amount). One
    read of the earlier runs' custom lines of those customers."""
    earlier = {
        p: output / p / rated_file
        for p in run_periods(output, MANIFEST)
        if p < period and (output / p / rated_file).is_file()
    }
    if not earlier:
        return []
    counted: dict[str, tuple[str, list[str]]] = {}
    for month, file in earlier.items():
        dropped, replacing = billed_now(output, month)
        counted[str(file)] = (month, dropped)
        counted |= {str(f): (month, []) for f in replacing}
    with named_if_damaged([Path(f) for f in counted]):
        rows = con.execute(
            """SELECT filename, customer_id, line_kind, rule_id, description, quantity, amount,
                      charge_date
               FROM read_parquet(?, filename = true, union_by_name = true)
               WHERE line_kind IN ('one_off', 'credit') AND list_contains(?, customer_id)
               ORDER BY charge_date, rule_id""",
            [list(counted), sorted({c.customer for c in billed})],
        ).fetchall()
    finalised = set(run_periods(output, FINALISED_MARKER))
    out = []
    for c in billed:
        amount = billed_in(c, *month_days(period))[0]  # type: ignore[index]
        for name, customer, kind, rule, text, quantity, then, day in rows:
            month, dropped = counted[name]
            if customer != c.customer or kind != c.kind or customer in dropped:
                continue
            alike = (
                _text_key(text or "") == _text_key(c.description)
                and Decimal(quantity) == c.quantity
                and Decimal(then) == amount
            )
            if rule != c.id and not alike:
                continue
            state = "finalised" if month in finalised else "published, not finalised"
            what = (
                "the same entry, its date moved into this month?"
                if rule == c.id
                else f"an identical {c.kind.replace('_', '-')}, {rule}: the same charge "
                "copied into this month?"
            )
            out.append(
                Finding(
                    "one-off billed before",
                    f"{c.id} ({c.customer})",
                    f"custom_lines[id={c.id}], {c.description!r} on "
                    f"{c.on.isoformat() if c.on else '-'}, {_charge(c)}, is billed in {period}; "
                    f"the run of {month} ({state}) billed {what} It was dated "
                    f"{day.isoformat()} there. If so, remove it from custom_lines.yaml; if it "
                    "is a second charge, make the descriptions tell them apart (a charge every "
                    "month is a fee)",
                )
            )
            break
    return out


def months_not_billed(output: Path, period: str) -> list[Finding]:
    """Months between the first this outputs folder billed and ``period`` that have no run: their
    usage, fees and one-offs are on no invoice (a month forgotten, or its folder removed), and the
    month-on-month checks compare with an older month without a word."""
    billed = [p for p in run_periods(output, MANIFEST) if p < period]
    if not billed:
        return []
    return [
        Finding(
            "month not billed",
            month,
            f"no run of {month} in the outputs folder, which holds runs from {billed[0]}: its "
            f"usage, fees and one-offs are on no invoice; bill it (billing run --period {month})",
        )
        for month in months_from(billed[0], period)
        if month not in billed
    ]


def months_not_finalised(output: Path, period: str) -> list[Finding]:
    """Months before ``period`` whose run is published but not finalised: their invoices can still
    be replaced by a rerun (they may not have been sent), and this month's comparisons skip them
    for the last finalised month. The close finalises each month once it is reviewed."""
    finalised = set(run_periods(output, FINALISED_MARKER))
    last = max((p for p in finalised if p < period), default=None)
    compared = f"; this month is compared with {last}" if last else ""
    return [
        Finding(
            "month not finalised",
            month,
            f"the run of {month} is published, not finalised: a rerun can still replace its "
            f"invoices{compared}. Once it is reviewed and sent: billing finalise --period {month}",
        )
        for month in run_periods(output, MANIFEST)
        if month < period and month not in finalised
    ]
