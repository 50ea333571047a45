"""Invoice numbers: unique, sequential and gapless per series, kept in a SQLite register.

EU invoicing rules (Art. 226(2) Directive 2006/112/EC) ask for a sequential number that identifies
the invoice uniquely; Dutch practice reads it as gapless per series. The register is one SQLite file
beside the run folders (``outputs/invoice_register.sqlite``); it outlives every run.

- A run holds the lock of its outputs folder (``billing_lib.locking``) for its whole life, so no
  other run changes the register meanwhile. It **plans** its numbers (``plan``: computed in a
  transaction that is rolled back, so the file is not changed) and the register records them only
  when the run is **published** (``begin_publishing`` before the run folder is moved into place,
  ``commit_publishing`` after, in one transaction each). A run that fails or is killed before
  that leaves the register as it was, and the next run of the period gets the same numbers.
  Killed between the two steps, the next run finishes the commit when the folder is in place,
  and forgets the plan when it is not (``billing_lib.recovery``).
- Numbers are held per (series, period, customer): a rerun of a period that is not finalised
  gets the same numbers back. A customer new in the rerun takes a number the rerun freed (a
  customer that has no invoice any more), or else the next one; freed numbers at the end of the
  series are given back; a freed number in the middle is kept as ``void`` with the reason, so
  the register still accounts for every number. Status ``reserved`` means: on an invoice of the
  period's published run, not finalised yet.
- Finalising (a run published with ``--finalise``) makes the period's invoices immutable:
  planning numbers for it again raises RunError. A correction is then a credit note in its own
  series that refers to the original invoice number, issued by ``billing credit-note``
  (``credit_note_number``, recorded when its folder is published, final at once). An invoice is
  credited in full at most once.
"""

from __future__ import annotations

import json
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
CREATE TABLE IF NOT EXISTS publishing (
    run_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    plan TEXT NOT NULL,
    started TEXT NOT NULL
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


@dataclass(frozen=True)
class NumberPlan:
    """The invoice numbers a run gives its invoices, recorded in the register only when the run
    is published: ``numbers`` per customer of ``period`` in ``series``, and the numbers of the
    period that are then ``void`` (freed in the middle of the series, never issued)."""

    series: str
    period: str
    issue_date: str
    numbers: dict[str, str]
    void: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "series": self.series,
            "period": self.period,
            "issue_date": self.issue_date,
            "numbers": dict(sorted(self.numbers.items())),
            "void": list(self.void),
        }

    @classmethod
    def from_dict(cls, data: dict) -> NumberPlan:
        return cls(
            str(data["series"]),
            str(data["period"]),
            str(data["issue_date"]),
            {str(c): str(n) for c, n in data["numbers"].items()},
            tuple(str(n) for n in data.get("void", ())),
        )


class Register:
    """The invoice-number register in the SQLite file ``path`` (created on first use). Every
    method opens the file, does its work in one transaction and closes it again, so nothing is
    held in memory between calls and a crash loses at most the transaction under way. Writers
    hold the outputs folder's lock (``billing_lib.locking``); the register does not take it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._errors(), closing(sqlite3.connect(self.path)) as db:
            known = {
                r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not {"series", "numbers", "finalised_periods", "publishing"} <= known:
                db.executescript(_SCHEMA)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as RunError naming the register file and the way out."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "readonly" in text or "read-only" in text:
                raise unwritable_register(self.path, text) from None
            raise RunError(f"{self.path}: the invoice register cannot be used: {text}") from None
        except sqlite3.DatabaseError as exc:
            raise RunError(
                f"{self.path}: not a readable invoice register ({exc}); restore it from a backup, "
                "or rebuild it from the run folders: billing register rebuild --output "
                f"{self.path.parent}"
            ) from None

    @contextmanager
    def _transaction(self, commit: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); rolled back on any exception, and always
        when ``commit`` is False (a plan: the file is left as it was)."""
        with self._errors():
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT" if commit else "ROLLBACK")
            finally:
                db.close()

    def _read(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self.path))

    # -- queries ---------------------------------------------------------------------------

    def is_finalised(self, period: str) -> bool:
        with self._errors(), self._read() as db:
            return (
                db.execute("SELECT 1 FROM finalised_periods WHERE period = ?", [period]).fetchone()
                is not None
            )

    def finalised_periods(self) -> list[str]:
        with self._errors(), self._read() as db:
            return [r[0] for r in db.execute("SELECT period FROM finalised_periods ORDER BY 1")]

    def entry(self, invoice_number: str) -> RegisterEntry | None:
        """The register's row of ``invoice_number`` (None when the register never gave it)."""
        with self._errors(), self._read() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM numbers WHERE invoice_number = ?", [invoice_number]
            ).fetchone()
        return RegisterEntry(*row) if row else None

    def credit_notes_of(self, original: str) -> list[RegisterEntry]:
        """The credit notes (not void) that correct the invoice ``original``."""
        with self._errors(), self._read() as db:
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
        with self._errors(), self._read() as db:
            return [RegisterEntry(*row) for row in db.execute(sql, [period] if period else [])]

    # -- a run's numbers: planned, then recorded when the run is published -------------------

    def plan(
        self, series: str, period: str, customer_ids: list[str], issue_date: date
    ) -> NumberPlan:
        """The invoice numbers a run of ``period`` gives ``customer_ids`` in ``series``, without
        changing the file (computed in a transaction that is rolled back). Customers that hold a
        number for (series, period) keep it; RunError when the period is finalised."""
        with self._transaction(commit=False) as db:
            numbers = self._reserve(db, series, period, customer_ids, issue_date)
            void = tuple(
                r[0]
                for r in db.execute(
                    "SELECT invoice_number FROM numbers WHERE series = ? AND period = ? "
                    "AND status = 'void' ORDER BY number",
                    [series, period],
                )
            )
        return NumberPlan(series, period, issue_date.isoformat(), numbers, void)

    def reserve(
        self, series: str, period: str, customer_ids: list[str], issue_date: date
    ) -> dict[str, str]:
        """Plan and record at once (what publishing a run does): ``{customer_id: number}``."""
        with self._transaction() as db:
            return self._reserve(db, series, period, customer_ids, issue_date)

    def begin_publishing(self, run_id: str, target: str, plan: dict) -> None:
        """Record, before the run's folder ``target`` (relative to the outputs folder) is moved
        into place, what the register records once it is there (``plan``: a ``NumberPlan`` as a
        dict with ``finalise``, or a credit note); ``commit_publishing`` records it."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO publishing VALUES (?, ?, ?, ?)",
                [run_id, target, json.dumps(plan, sort_keys=True), _now()],
            )

    def pending_publishing(self) -> list[tuple[str, str, dict]]:
        """(run id, target folder, plan) of every run that began publishing and did not commit."""
        with self._errors(), self._read() as db:
            return [
                (r, t, json.loads(p))
                for r, t, p in db.execute(
                    "SELECT run_id, target, plan FROM publishing ORDER BY started, run_id"
                )
            ]

    def abandon_publishing(self, run_id: str) -> None:
        """Forget the plan of a run whose folder was never moved into place."""
        with self._transaction() as db:
            db.execute("DELETE FROM publishing WHERE run_id = ?", [run_id])

    def commit_publishing(self, run_id: str) -> dict:
        """Record the plan of ``run_id`` (its folder is in place), in one transaction: the run's
        invoice numbers (final, with the period, when it finalises), or its credit note. RunError,
        with nothing changed, when the register no longer gives the planned numbers."""
        with self._transaction() as db:
            row = db.execute("SELECT plan FROM publishing WHERE run_id = ?", [run_id]).fetchone()
            if row is None:
                raise RunError(f"{self.path}: no run {run_id} is being published")
            plan = json.loads(row[0])
            if plan.get("kind") == "credit_note":
                self._record_credit_note(db, plan)
            else:
                self._record_plan(db, NumberPlan.from_dict(plan), bool(plan.get("finalise")))
            db.execute("DELETE FROM publishing WHERE run_id = ?", [run_id])
        return plan

    def credit_note_number(self, series: str, original: str) -> str:
        """The number the credit note cancelling the finalised invoice ``original`` gets in
        ``series`` (the next one), without changing the file; it is recorded, final, when the
        credit note's folder is published. RunError when ``original`` is not a finalised invoice
        of the register, or already has a credit note (an invoice is credited in full once)."""
        with self._transaction(commit=False) as db:
            self._check_creditable(db, original)
            return format_number(series, self._next(db, series))

    def credit_note(self, series: str, period: str, original: str, issue_date: date) -> str:
        """The number of a credit note in ``series`` correcting the finalised invoice ``original``,
        issued in the run of ``period``, recorded at once; a rerun of that run gets the same
        number back. (A library call; ``billing credit-note`` uses ``credit_note_number``.)"""
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

    def finalise(self, period: str) -> int:
        """Make the numbers of ``period`` final (immutable); returns how many. Finalising twice is
        harmless."""
        with self._transaction() as db:
            return self._finalise(db, period)

    # -- inside a transaction --------------------------------------------------------------

    def _reserve(
        self,
        db: sqlite3.Connection,
        series: str,
        period: str,
        customer_ids: list[str],
        issue_date: date,
    ) -> dict[str, str]:
        wanted = sorted(set(customer_ids))
        now = _now()
        if db.execute("SELECT 1 FROM finalised_periods WHERE period = ?", [period]).fetchone():
            raise RunError(
                f"{self.path}: the invoices of {period} are finalised; they cannot be numbered "
                "again. Correct them with a credit note (billing credit-note)."
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
                self._insert(db, series, number, "invoice", period, customer, None, issue_date, now)
            out[customer] = format_number(series, number)
        self._release(db, series, freed, now)
        return out

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

    def _record_credit_note(self, db: sqlite3.Connection, plan: dict) -> None:
        original = self._check_creditable(db, plan["refers_to"])
        series, number = plan["series"], self._next(db, plan["series"])
        if format_number(series, number) != plan["number"]:
            raise RunError(
                f"{self.path}: the next number of {series} is {format_number(series, number)}, not "
                f"{plan['number']} as the credit note printed; nothing was recorded"
            )
        db.execute(
            "INSERT INTO numbers (series, number, invoice_number, kind, period, customer_id, refers_to, "
            "status, issue_date, note, updated) VALUES (?, ?, ?, 'credit_note', ?, ?, ?, 'final', ?, ?, ?)",
            [
                series,
                number,
                plan["number"],
                original[1],
                original[0],
                plan["refers_to"],
                plan["issue_date"],
                plan.get("note"),
                _now(),
            ],
        )

    def _check_creditable(self, db: sqlite3.Connection, original: str) -> tuple[str, str]:
        """(customer, period) of the finalised invoice ``original`` that has no credit note yet;
        RunError otherwise."""
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
        return row[0], row[3]

    @staticmethod
    def _finalise(db: sqlite3.Connection, period: str) -> int:
        now = _now()
        count = db.execute(
            "UPDATE numbers SET status = 'final', updated = ? WHERE period = ? AND status = 'reserved'",
            [now, period],
        ).rowcount
        db.execute("INSERT OR IGNORE INTO finalised_periods VALUES (?, ?)", [period, now])
        return count

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
        raise unwritable_register(path, str(exc)) from None
    return register


def unwritable_register(path: Path, reason: str) -> RunError:
    """The one message for a register that cannot be written (read-only file or folder, full
    disk): the file, the cause and the way out; nothing was reserved or changed."""
    return RunError(
        f"{path}: the invoice-number register cannot be written ({reason}). Make the file and "
        f"its folder writable for this user (chmod u+w {path} {path.parent}) and check the disk "
        "has room, then run again; no invoice number was reserved and nothing was changed."
    )


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
