"""One-offs and credits a reissue would bill that a later month bills already (``billing
reissue``): an invoice credited and not replaced, its one-off copied into the next month's run
under a new id, and the month reissued after it. Each month counts as billed now
(``run_files.billed_now``); the review of a later run lists the same the other way round
(``review.billed_checks``: "one-off billed before")."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from billing_lib.errors import RunError
from billing_lib.invoice_model import money_text
from billing_lib.money import round_money
from billing_lib.periods import run_periods
from billing_lib.run_files import MANIFEST, RATED_PARQUET, billed_now, named_if_damaged
from billing_lib.store import scratch_connection

#: A one-off's or credit's columns of the rated lines, as compared.
COLUMNS = "customer_id, line_kind, rule_id, description, quantity, amount, currency"


def text_key(text: str | None) -> str:
    """A description as compared: its case and spaces aside."""
    return " ".join((text or "").split()).casefold()


def refuse_billed_later(output: Path, period: str, rated: Path) -> None:
    """RunError when a one-off or credit of the new invoices (``rated``) is billed by the
    published run of a later month, or an invoice replacing one of it, as billed now: the same
    custom line id (its date moved), or one of the same customer, kind, description (case and
    spaces aside), quantity and amount (copied under a new id)."""
    # per file of a later month as billed now: its month and the customers it bills no longer
    later: dict[str, tuple[str, list[str]]] = {}
    for month in run_periods(output, MANIFEST):
        if month <= period or not (output / month / RATED_PARQUET).is_file():
            continue
        dropped, replacing = billed_now(output, month)
        later[str(output / month / RATED_PARQUET)] = (month, dropped)
        later |= {str(f): (month, []) for f in replacing}
    if not later:
        return
    with scratch_connection() as con:
        new = con.execute(
            f"SELECT {COLUMNS} FROM read_parquet(?) WHERE line_kind IN ('one_off', 'credit')",
            [str(rated)],
        ).fetchall()
        if not new:
            return
        with named_if_damaged([Path(f) for f in later]):
            held = con.execute(
                f"""SELECT filename, {COLUMNS} FROM read_parquet(?, filename = true,
                                                               union_by_name = true)
                    WHERE line_kind IN ('one_off', 'credit') AND list_contains(?, customer_id)""",
                [list(later), sorted({row[0] for row in new})],
            ).fetchall()
    found = []
    for customer, kind, rule, text, quantity, amount, currency in new:
        for name, c, k, r, t, q, a, _ in held:
            month, dropped = later[name]
            if (c, k) != (customer, kind) or c in dropped:
                continue
            alike = text_key(t) == text_key(text) and Decimal(q) == Decimal(quantity)
            if r != rule and not (alike and Decimal(a) == Decimal(amount)):
                continue
            folder = Path(name).parent
            where = (
                f"the run of {month} ({folder})"
                if folder.name == month
                else f"the invoice of {month} in {folder}"
            )
            charge = f"{currency} {money_text(round_money(Decimal(amount), currency))}"
            found.append(
                f"{kind.replace('_', '-')} {rule} of {customer} ({text!r}, {charge}) is billed "
                f"by {where} as {r}"
            )
            break
    if found:
        raise RunError(
            f"{period}: the new invoices would bill one-offs or credits that a later month bills "
            "already, so nothing was issued:\n  - "
            + "\n  - ".join(found)
            + f"\nIf it is the same charge, remove the {period} entry from custom_lines.yaml and "
            "reissue; if it is a second charge, make the descriptions tell them apart"
        )
