"""Invoice numbers: unique, sequential and gapless per series, kept in a SQLite register.

EU invoicing rules (Art. 226(2) Directive 2006/112/EC) ask for a sequential number that identifies
the invoice uniquely; Dutch practice reads it as gapless per series. The register is one SQLite file
beside the run folders (``outputs/invoice_register.sqlite``); it outlives every run.

- A run reserves the numbers of all its invoices in ONE transaction (``reserve``): the numbers of a
  run that fails before the commit are never used, so a failure leaves no gap.
- Numbers are reserved per (series, period, customer): a rerun of a period that is not finalised
  gets the same numbers back. A customer new in the rerun takes a number the rerun freed (a
  customer that has no invoice any more), or else the next one; freed numbers at the end of the
  series are given back; a freed number in the middle is kept as ``void`` with the reason, so
  the register still accounts for every number.
- ``finalise(period)`` makes the period's invoices immutable: reserving numbers for it again
  raises RunError. A correction is then a credit note in its own series that refers to the
  original invoice number: numbered in a later run (``credit_note``) or issued on its own by
  ``billing credit-note`` (``issue_credit_note``, final at once). An invoice is credited in full
  at most once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from billing_lib.errors import RunError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    series TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL CHECK (last_number >= 0)
);
CREATE TABLE IF NOT EXISTS numbers (
    series TEXT NOT NULL,
    number INTEGER NOT NULL CHECK (number >= 1),
    invoice_number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    period TEXT NOT NULL,
    customer_id TEXT,
    refers_to TEXT,
    status TEXT NOT NULL CHECK (status IN ('reserved', 'final', 'void')),
    issue_date TEXT,
    note TEXT,
    updated TEXT NOT NULL,
    PRIMARY KEY (series, number)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_number_per_invoice
    ON numbers (series, period, customer_id, COALESCE(refers_to, '')) WHERE status <> 'void';
CREATE TABLE IF NOT EXISTS finalised_periods (
    period TEXT PRIMARY KEY,
    finalised TEXT NOT NULL
);
"""


_COLUMNS = (
    "invoice_number, series, number, kind, period, customer_id, refers_to, status, issue_date, note"
)


def format_number(series: str, number: int) -> str:
    """``NW2026`` and 123 -> ``NW2026-000123``."""
    return f"{series}-{number:06d}"


@dataclass(frozen=True)
class RegisterEntry:
    """One number of the register as stored."""

    invoice_number: str
    series: str
    number: int
    kind: str
    period: str
    customer_id: str | None
    refers_to: str | None
    status: str
    issue_date: str | None
    note: str | None


class Register:
    """The invoice-number register in the SQLite file ``path`` (created on first use). Every
    method opens the file, does its work in one transaction and closes it again, so nothing is
    held in memory between calls and a crash loses at most the transaction under way."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: a second run waits instead of interleaving);
        rolled back on any exception."""
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # -- queries ---------------------------------------------------------------------------

    def is_finalised(self, period: str) -> bool:
        with closing(sqlite3.connect(self.path)) as db:
            return (
                db.execute("SELECT 1 FROM finalised_periods WHERE period = ?", [period]).fetchone()
                is not None
            )

    def entry(self, invoice_number: str) -> RegisterEntry | None:
        """The register's row of ``invoice_number`` (None when the register never gave it)."""
        with closing(sqlite3.connect(self.path)) as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM numbers WHERE invoice_number = ?", [invoice_number]
            ).fetchone()
        return RegisterEntry(*row) if row else None

    def credit_notes_of(self, original: str) -> list[RegisterEntry]:
        """The credit notes (not void) that correct the invoice ``original``."""
        with closing(sqlite3.connect(self.path)) as db:
            return [
                RegisterEntry(*row)
                for row in db.execute(
                    f"SELECT {_COLUMNS} FROM numbers WHERE kind = 'credit_note' AND refers_to = ? AND status <> 'void' "
                    "ORDER BY series, number",
                    [original],
                )
            ]

    def entries(self, period: str | None = None) -> list[RegisterEntry]:
        """Every number (of ``period``), in series and number order."""
        sql = (
            f"SELECT {_COLUMNS} FROM numbers"
            + (" WHERE period = ?" if period else "")
            + " ORDER BY series, number"
        )
        with closing(sqlite3.connect(self.path)) as db:
            return [RegisterEntry(*row) for row in db.execute(sql, [period] if period else [])]

    # -- writes ----------------------------------------------------------------------------

    def reserve(
        self, series: str, period: str, customer_ids: list[str], issue_date: date
    ) -> dict[str, str]:
        """The invoice numbers of one run: ``{customer_id: number}`` for ``customer_ids`` in
        ``series``, all in one transaction. Customers that already hold a number for (series,
        period) keep it; RunError when the period is finalised."""
        wanted = sorted(set(customer_ids))
        now = _now()
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM finalised_periods WHERE period = ?", [period]).fetchone():
                raise RunError(
                    f"{self.path}: the invoices of {period} are finalised; they cannot be numbered "
                    "again. Correct them with a credit note (Register.credit_note)."
                )
            held = dict(
                db.execute(
                    "SELECT customer_id, number FROM numbers WHERE series = ? AND period = ? AND kind = 'invoice' "
                    "AND status = 'reserved'",
                    [series, period],
                ).fetchall()
            )
            voided = [
                n
                for (n,) in db.execute(
                    "SELECT number FROM numbers WHERE series = ? AND period = ? AND kind = 'invoice' AND status = 'void'",
                    [series, period],
                ).fetchall()
            ]
            freed = sorted([n for c, n in held.items() if c not in wanted] + voided)
            out: dict[str, str] = {}
            for customer in wanted:
                if customer in held:
                    number = held[customer]
                    db.execute(
                        "UPDATE numbers SET issue_date = ?, updated = ? WHERE series = ? AND number = ?",
                        [issue_date.isoformat(), now, series, number],
                    )
                elif freed:
                    number = freed.pop(0)
                    db.execute(
                        "UPDATE numbers SET customer_id = ?, issue_date = ?, updated = ?, status = 'reserved', "
                        "note = 'reassigned in a rerun before finalising' WHERE series = ? AND number = ?",
                        [customer, issue_date.isoformat(), now, series, number],
                    )
                else:
                    number = self._next(db, series)
                    self._insert(
                        db, series, number, "invoice", period, customer, None, issue_date, now
                    )
                out[customer] = format_number(series, number)
            self._release(db, series, freed, now)
        return out

    def credit_note(self, series: str, period: str, original: str, issue_date: date) -> str:
        """The number of a credit note in ``series`` correcting the finalised invoice ``original``,
        issued in the run of ``period``; a rerun of that run gets the same number back."""
        now = _now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT customer_id, status, kind FROM numbers WHERE invoice_number = ?", [original]
            ).fetchone()
            if row is None or row[2] != "invoice" or row[1] == "void":
                raise RunError(f"{self.path}: {original} is not an invoice in the register")
            if row[1] != "final":
                raise RunError(
                    f"{self.path}: {original} is not finalised; rerun its period instead of "
                    "issuing a credit note"
                )
            if db.execute("SELECT 1 FROM finalised_periods WHERE period = ?", [period]).fetchone():
                raise RunError(
                    f"{self.path}: the run of {period} is finalised; issue the credit note in a later run"
                )
            held = db.execute(
                "SELECT number FROM numbers WHERE series = ? AND period = ? AND refers_to = ? "
                "AND status <> 'void'",
                [series, period, original],
            ).fetchone()
            if held:
                number = held[0]
            else:
                self._not_credited(db, original)
                number = self._next(db, series)
                self._insert(
                    db, series, number, "credit_note", period, row[0], original, issue_date, now
                )
        return format_number(series, number)

    @contextmanager
    def issue_credit_note(
        self, series: str, original: str, issue_date: date, note: str | None
    ) -> Iterator[str]:
        """Issue, on its own (``billing credit-note``), the credit note cancelling the finalised
        invoice ``original``: yields its number, the next of ``series``, with the register's write
        transaction still open. The caller writes the credit note's files inside the block; the
        number is committed, as final (issued, immutable), only when the block finishes, and an
        exception in the block rolls it back: no number is used and no gap is left. Other runs
        wait for the block (it holds the register's write lock), so keep it short.

        RunError when ``original`` is not a finalised invoice of the register, or already has a
        credit note (an invoice is credited in full once)."""
        now = _now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT customer_id, status, kind, period FROM numbers WHERE invoice_number = ?",
                [original],
            ).fetchone()
            if row is None or row[2] != "invoice" or row[1] == "void":
                raise RunError(f"{self.path}: {original} is not an invoice in the register")
            if row[1] != "final":
                raise RunError(
                    f"{self.path}: {original} (period {row[3]}) is not finalised; correct it by running "
                    f"{row[3]} again, or finalise that run first (billing run --finalise)"
                )
            self._not_credited(db, original)
            number = self._next(db, series)
            db.execute(
                "INSERT INTO numbers (series, number, invoice_number, kind, period, customer_id, refers_to, "
                "status, issue_date, note, updated) VALUES (?, ?, ?, 'credit_note', ?, ?, ?, 'final', ?, ?, ?)",
                [
                    series,
                    number,
                    format_number(series, number),
                    row[3],
                    row[0],
                    original,
                    issue_date.isoformat(),
                    note,
                    now,
                ],
            )
            yield format_number(series, number)

    def finalise(self, period: str) -> int:
        """Make the numbers of ``period`` final (immutable); returns how many. Finalising twice is
        harmless."""
        now = _now()
        with self._transaction() as db:
            count = db.execute(
                "UPDATE numbers SET status = 'final', updated = ? WHERE period = ? "
                "AND status = 'reserved'",
                [now, period],
            ).rowcount
            db.execute("INSERT OR IGNORE INTO finalised_periods VALUES (?, ?)", [period, now])
        return count

    # -- inside a transaction --------------------------------------------------------------

    def _not_credited(self, db: sqlite3.Connection, original: str) -> None:
        """RunError when a credit note (not void) already corrects ``original``."""
        done = db.execute(
            "SELECT invoice_number, issue_date FROM numbers WHERE kind = 'credit_note' AND refers_to = ? "
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
            "INSERT INTO numbers (series, number, invoice_number, kind, period, customer_id, refers_to, "
            "status, issue_date, note, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 'reserved', ?, NULL, ?)",
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
    def _release(db: sqlite3.Connection, series: str, freed: list[int], now: str) -> None:
        """Numbers no invoice of the rerun needs: taken back from the end of the series, kept as
        ``void`` (with the reason) in the middle, so no number disappears unexplained."""
        for number in freed:
            db.execute(
                "UPDATE numbers SET status = 'void', updated = ?, note = 'customer had no invoice "
                "in a rerun before finalising; number never issued' WHERE series = ? AND number = ?",
                [now, series, number],
            )
        while True:
            last = db.execute(
                "SELECT n.number FROM series s JOIN numbers n ON n.series = s.series "
                "AND n.number = s.last_number WHERE s.series = ? AND n.status = 'void'",
                [series],
            ).fetchone()
            if last is None:
                break
            db.execute("DELETE FROM numbers WHERE series = ? AND number = ?", [series, last[0]])
            db.execute("UPDATE series SET last_number = last_number - 1 WHERE series = ?", [series])


def open_register(path: Path) -> Register:
    """The register in ``path`` (created with its tables when new). A register that cannot be
    written (a read-only file or folder, a full disk) is a RunError naming the file before any
    number is reserved: a write to the register is tried and rolled back."""
    path = Path(path)
    try:
        register = Register(path)
        with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(f"PRAGMA user_version = {int(version)}")
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")
    except (sqlite3.Error, OSError) as exc:
        raise RunError(
            f"{path}: the invoice-number register cannot be written ({exc}). Make the file and "
            "its folder writable for this user (and check the disk has room), then run again; "
            "no invoice number was reserved."
        ) from None
    return register


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
