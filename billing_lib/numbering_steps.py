"""The steps of the invoice-number register inside one transaction: reserving, releasing,
recording and checking numbers (SQL on an open ``sqlite3`` connection). ``numbering.Register``
opens the transaction and calls them; they never commit."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from billing_lib.errors import RunError
from billing_lib.numbering_records import (
    NO_INVOICE_IN_RERUN,
    NumberPlan,
    format_number,
    not_final_way_out,
    rerun_in_series,
    void_note,
)


class RegisterSteps:
    """The register's work inside a transaction (``numbering.Register`` is one); ``path``, the
    register file, is named in every error."""

    path: Path

    def _reserve(
        self,
        db: sqlite3.Connection,
        series: str,
        period: str,
        customer_ids: list[str],
        issue_date: date,
    ) -> dict[str, str]:
        wanted = sorted(set(customer_ids))
        now = timestamp()
        if db.execute("SELECT 1 FROM finalised_periods WHERE period = ?", [period]).fetchone():
            raise RunError(
                f"{self.path}: the invoices of {period} are finalised; they cannot be numbered "
                "again. Correct them with a credit note (billing credit-note)."
            )
        held = dict(
            db.execute(
                "SELECT customer_id, number FROM numbers WHERE series = ? AND period = ? AND kind "
                "= 'invoice' "
                "AND status = 'reserved'",
                [series, period],
            ).fetchall()
        )
        voided = [
            n
            for (n,) in db.execute(
                "SELECT number FROM numbers WHERE series = ? AND period = ? AND kind = 'invoice' "
                "AND status = 'void'",
                [series, period],
            ).fetchall()
        ]
        freed = sorted([n for c, n in held.items() if c not in wanted] + voided)
        out: dict[str, str] = {}
        for customer in wanted:
            if customer in held:
                number = held[customer]
                db.execute(
                    "UPDATE numbers SET issue_date = ?, updated = ? WHERE series = ? AND number = "
                    "?",
                    [issue_date.isoformat(), now, series, number],
                )
            elif freed:
                number = freed.pop(0)
                db.execute(
                    "UPDATE numbers SET customer_id = ?, issue_date = ?, updated = ?, status = "
                    "'reserved', "
                    "note = 'reassigned in a rerun before finalising' WHERE series = ? AND number "
                    "= ?",
                    [customer, issue_date.isoformat(), now, series, number],
                )
            else:
                number = self._next(db, series)
                self._insert(db, series, number, "invoice", period, customer, None, issue_date, now)
            out[customer] = format_number(series, number)
        self._release(db, series, period, freed, now)
        self._release_other_series(db, series, period, now)
        return out

    def _release_other_series(
        self, db: sqlite3.Connection, series: str, period: str, now: str
    ) -> None:
        """The period's unfinalised invoice numbers in another series than ``series`` (the
        seller's ``invoice_series`` changed before the rerun): on no invoice of the rerun, so
        released like a customer's that dropped out, not left reserved to be finalised with
        the month as invoices no run folder holds."""
        held = db.execute(
            "SELECT series, number FROM numbers WHERE period = ? AND series <> ? AND kind = "
            "'invoice' AND status = 'reserved' ORDER BY series, number",
            [period, series],
        ).fetchall()
        for other in sorted({s for s, _ in held}):
            numbers = [n for s, n in held if s == other]
            self._release(db, other, period, numbers, now, rerun_in_series(series))

    def _record_plan(self, db: sqlite3.Connection, plan: NumberPlan, finalise: bool) -> None:
        got = self._reserve(
            db, plan.series, plan.period, list(plan.numbers), date.fromisoformat(plan.issue_date)
        )
        if got != plan.numbers:
            changed = sorted(c for c in plan.numbers if got.get(c) != plan.numbers[c])
            raise RunError(
                f"{self.path}: the register no longer gives the numbers this run of {plan.period} "
                f"printed on its invoices (customers {changed}); it was changed while the run held "
                "the lock. Nothing was recorded; run the period again"
            )
        if finalise:
            self._finalise(db, plan.period)

    def _record_correction(self, db: sqlite3.Connection, plan: dict) -> None:
        """Record a credit note (``plan["kind"]`` ``credit_note``) or the invoice that replaces a
        credited one (``reissue``), final at once, with the number the documents printed."""
        reissue = plan["kind"] == "reissue"
        if reissue:
            customer, period, _ = self._check_reissuable(db, plan["refers_to"])
        else:
            customer, period = self._check_creditable(db, plan["refers_to"])
        series, number = plan["series"], self._next(db, plan["series"])
        if format_number(series, number) != plan["number"]:
            raise RunError(
                f"{self.path}: the next number of {series} is {format_number(series, number)}, not "
                f"{plan['number']} as the {'invoice' if reissue else 'credit note'} printed; "
                "nothing was recorded"
            )
        db.execute(
            "INSERT INTO numbers (series, number, invoice_number, kind, period, customer_id, "
            "refers_to, "
            "status, issue_date, note, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 'final', ?, ?, ?)",
            [
                series,
                number,
                plan["number"],
                "invoice" if reissue else "credit_note",
                period,
                customer,
                plan["refers_to"],
                plan["issue_date"],
                plan.get("note"),
                timestamp(),
            ],
        )

    def _check_reissuable(self, db: sqlite3.Connection, original: str) -> tuple[str, str, str]:
        """(customer, period, credit note) of the finalised invoice ``original`` that a credit
        note cancels and no invoice replaces yet; RunError naming the way out otherwise."""
        customer, period = self._finalised_invoice(db, original)
        note = db.execute(
            "SELECT invoice_number FROM numbers WHERE kind = 'credit_note' AND refers_to = ? "
            "AND status <> 'void' ORDER BY series, number",
            [original],
        ).fetchone()
        if note is None:
            raise RunError(
                f"{self.path}: {original} has no credit note; an invoice is replaced only once "
                f"it is cancelled: billing credit-note --invoice {original} --reason ... first"
            )
        done = db.execute(
            "SELECT invoice_number, issue_date FROM numbers WHERE kind = 'invoice' AND "
            "refers_to = ? AND status <> 'void' ORDER BY series, number",
            [original],
        ).fetchone()
        if done:
            raise RunError(
                f"{self.path}: {original} is already replaced by invoice {done[0]} (issued "
                f"{done[1]}); to correct that one, credit it and reissue it"
            )
        return customer, period, note[0]

    def _check_creditable(self, db: sqlite3.Connection, original: str) -> tuple[str, str]:
        """(customer, period) of the finalised invoice ``original`` that has no credit note yet;
        RunError otherwise."""
        found = self._finalised_invoice(db, original)
        self._not_credited(db, original)
        return found

    def _finalised_invoice(self, db: sqlite3.Connection, original: str) -> tuple[str, str]:
        """(customer, period) of ``original`` when it is a finalised invoice; RunError naming
        the way out otherwise."""
        row = db.execute(
            "SELECT customer_id, status, kind, period FROM numbers WHERE invoice_number = ?",
            [original],
        ).fetchone()
        if row is None or row[2] != "invoice" or row[1] == "void":
            raise RunError(f"{self.path}: {original} is not an invoice in the register")
        if row[1] != "final":
            raise RunError(
                f"{self.path}: {original} (period {row[3]}) is not finalised; "
                + not_final_way_out(row[3], self.path.parent)
            )
        return row[0], row[3]

    @staticmethod
    def _finalise(db: sqlite3.Connection, period: str) -> int:
        now = timestamp()
        count = db.execute(
            "UPDATE numbers SET status = 'final', updated = ? WHERE period = ? AND status = "
            "'reserved'",
            [now, period],
        ).rowcount
        db.execute("INSERT OR IGNORE INTO finalised_periods VALUES (?, ?)", [period, now])
        return count

    def _not_credited(self, db: sqlite3.Connection, original: str) -> None:
        """RunError when a credit note (not void) already corrects ``original``."""
        done = db.execute(
            "SELECT invoice_number, issue_date FROM numbers WHERE kind = 'credit_note' AND "
            "refers_to = ? "
            "AND status <> 'void' ORDER BY series, number",
            [original],
        ).fetchone()
        if done:
            raise RunError(
                f"{self.path}: {original} is already corrected by credit note {done[0]} (issued "
                f"{done[1]}); an invoice is credited in full only once. Issue a new invoice for "
                "what is still owed, and credit that one if it is wrong"
            )

    @staticmethod
    def _next(db: sqlite3.Connection, series: str) -> int:
        db.execute("INSERT OR IGNORE INTO series VALUES (?, 0)", [series])
        db.execute("UPDATE series SET last_number = last_number + 1 WHERE series = ?", [series])
        return int(
            db.execute("SELECT last_number FROM series WHERE series = ?", [series]).fetchone()[0]
        )

    @staticmethod
    def _insert(
        db: sqlite3.Connection,
        series: str,
        number: int,
        kind: str,
        period: str,
        customer: str | None,
        refers_to: str | None,
        issue_date: date,
        now: str,
    ) -> None:
        db.execute(
            "INSERT INTO numbers (series, number, invoice_number, kind, period, customer_id, "
            "refers_to, "
            "status, issue_date, note, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 'reserved', ?, NULL, "
            "?)",
            [
                series,
                number,
                format_number(series, number),
                kind,
                period,
                customer,
                refers_to,
                issue_date.isoformat(),
                now,
            ],
        )

    @staticmethod
    def _release(
        db: sqlite3.Connection,
        series: str,
        period: str,
        freed: list[int],
        now: str,
        why: str = NO_INVOICE_IN_RERUN,
    ) -> None:
        """Numbers no invoice of the rerun of ``period`` needs: taken back from the end of the
        series, kept as ``void`` (with the reason) in the middle, so no number disappears
        unexplained. Only ``period``'s void numbers are taken back: another month's are listed
        void in its run folder's manifest (a finalised one's for good), and were given again
        (a series left by a ``invoice_series`` change, then a reissue in it: the number the
        finalised month says was never issued was issued, and the register could no longer be
        rebuilt)."""
        for number in freed:
            db.execute(
                "UPDATE numbers SET status = 'void', updated = ?, note = ? WHERE series = ? AND "
                "number = ?",
                [now, void_note(why), series, number],
            )
        while True:
            last = db.execute(
                "SELECT n.number FROM series s JOIN numbers n ON n.series = s.series "
                "AND n.number = s.last_number WHERE s.series = ? AND n.status = 'void' "
                "AND n.period = ?",
                [series, period],
            ).fetchone()
            if last is None:
                break
            db.execute("DELETE FROM numbers WHERE series = ? AND number = ?", [series, last[0]])
            db.execute("UPDATE series SET last_number = last_number - 1 WHERE series = ?", [series])


def timestamp() -> str:
    """When a row of the register is updated: UTC, to the second, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
