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
  credited in full at most once. What is really owed is then invoiced anew by ``billing reissue``
  (``reissue_number``): the next number of the original's series, final at once, for the
  original's period and customer, with the original's number in ``refers_to``; an invoice is
  replaced once (to correct the replacement, credit it and reissue that).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path

from billing_lib.command_lines import arg
from billing_lib.errors import RunError
from billing_lib.numbering_records import COLUMNS as _COLUMNS
from billing_lib.numbering_records import SCHEMA as _SCHEMA
from billing_lib.numbering_records import NumberPlan, RegisterEntry, format_number
from billing_lib.numbering_steps import RegisterSteps
from billing_lib.numbering_steps import timestamp as _now

#: Names callers import from here; what the register stores is in ``numbering_records``, its
#: steps inside a transaction in ``numbering_steps``.
__all__ = [
    "NumberPlan",
    "Register",
    "RegisterEntry",
    "format_number",
    "open_register",
    "UnwritableRegister",
    "unwritable_register",
]


class Register(RegisterSteps):
    """The invoice-number register in the SQLite file ``path`` (created on first use). Every
    method opens the file, does its work in one transaction and closes it again, so nothing is
    held in memory between calls and a crash loses at most the transaction under way. Writers
    hold the outputs folder's lock (``billing_lib.locking``); the register does not take it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        check_register_is_a_file(self.path)
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
            if "decode" in text:  # text in it that is no UTF-8: damaged
                raise self._unreadable(exc) from None
            raise RunError(f"{self.path}: the invoice register cannot be used: {text}") from None
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # damaged pages, damaged text
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: Exception) -> RunError:
        return RunError(
            f"{self.path}: not a readable invoice register ({exc}); restore it from a backup, "
            "or rebuild it from the run folders: billing register rebuild --output "
            f"{self.path.parent}"
        )

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

    def counters(self) -> dict[str, int]:
        """The last number given in each series (what ``_next`` counts on from)."""
        with self._errors(), self._read() as db:
            return {s: int(n) for s, n in db.execute("SELECT series, last_number FROM series")}

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
                    f"SELECT {_COLUMNS} FROM numbers WHERE kind = 'credit_note' AND refers_to = ? "
                    "AND status <> 'void' "
                    "ORDER BY series, number",
                    [original],
                )
            ]

    def latest_dated(self, series: str) -> tuple[str, str] | None:
        """The number of ``series`` (not void) with the latest issue date and that date: the
        earliest date the next number of the series may have."""
        with self._errors(), self._read() as db:
            row = db.execute(
                "SELECT invoice_number, issue_date FROM numbers WHERE series = ? "
                "AND status <> 'void' AND issue_date IS NOT NULL "
                "ORDER BY issue_date DESC, number DESC LIMIT 1",
                [series],
            ).fetchone()
        return (str(row[0]), str(row[1])) if row else None

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
            void = db.execute(  # of every series: one the rerun no longer numbers in too
                "SELECT invoice_number, customer_id, issue_date, note FROM numbers WHERE "
                "period = ? AND kind = 'invoice' AND status = 'void' ORDER BY series, number",
                [period],
            ).fetchall()
        return NumberPlan(
            series,
            period,
            issue_date.isoformat(),
            numbers,
            tuple(n for n, _, _, _ in void),
            {n: (customer, day) for n, customer, day, _ in void},
            {n: note for n, _, _, note in void if note},
        )

    def reserve(
        self, series: str, period: str, customer_ids: list[str], issue_date: date
    ) -> dict[str, str]:
        """Plan and record at once (what publishing a run does): ``{customer_id: number}``."""
        with self._transaction() as db:
            return self._reserve(db, series, period, customer_ids, issue_date)

    def begin_publishing(self, run_id: str, target: str, plan: dict) -> None:
        """Record, before the run's folder ``target`` (relative to the outputs folder) is moved
        into place, what the register records once it is there (``plan``: a ``NumberPlan`` as a
        dict with ``finalise``, a credit note, or ``{"kind": "finalise", "period": ...}`` for a
        published run finalised as it is, ``target`` its folder); ``commit_publishing`` records
        it."""
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
            if plan.get("kind") in ("credit_note", "reissue"):
                self._record_correction(db, plan)
            elif plan.get("kind") == "finalise":  # a published run finalised as it is
                self._finalise(db, str(plan["period"]))
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

    def reissue_number(self, series: str, original: str) -> tuple[str, str]:
        """The number the invoice replacing the finalised invoice ``original`` gets in ``series``
        (the next one), and the credit note that cancelled ``original``; the file is not changed,
        the number is recorded, final, when the invoice's folder is published. RunError when
        ``original`` is not a finalised invoice, has no credit note, or is already replaced."""
        with self._transaction(commit=False) as db:
            _, _, note = self._check_reissuable(db, original)
            return format_number(series, self._next(db, series)), note

    def replacements_of(self, original: str) -> list[RegisterEntry]:
        """The invoices (not void) that replace the credited invoice ``original``."""
        with self._errors(), self._read() as db:
            return [
                RegisterEntry(*row)
                for row in db.execute(
                    f"SELECT {_COLUMNS} FROM numbers WHERE kind = 'invoice' AND refers_to = ? "
                    "AND status <> 'void' ORDER BY series, number",
                    [original],
                )
            ]

    def credit_note(self, series: str, period: str, original: str, issue_date: date) -> str:
        """The number of a credit note in ``series`` correcting the finalised invoice ``original``,
        issued in the run of ``period``, recorded at once; a rerun of that run gets the same
        number back. (A library call; ``billing credit-note`` uses ``credit_note_number``.)"""
        now = _now()
        with self._transaction() as db:
            customer, _ = self._finalised_invoice(db, original)
            if db.execute("SELECT 1 FROM finalised_periods WHERE period = ?", [period]).fetchone():
                raise RunError(
                    f"{self.path}: the run of {period} is finalised; issue the credit note in a "
                    "later run"
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
                    db, series, number, "credit_note", period, customer, original, issue_date, now
                )
        return format_number(series, number)

    def finalise(self, period: str) -> int:
        """Make the numbers of ``period`` final (immutable); returns how many. Finalising twice is
        harmless."""
        with self._transaction() as db:
            return self._finalise(db, period)


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


def check_register_is_a_file(path: Path) -> None:
    """RunError when something other than a file is at the register's path (a folder a copy or
    an unzip made of it): SQLite only said "unable to open database file", and every command
    took the register for lost and sent the user to a rebuild, which cannot replace a folder."""
    if path.exists() and not path.is_file():
        what, it = ("a folder", "the folder") if path.is_dir() else ("not a file", "it")
        raise RunError(
            f"{path}: is {what}, not the invoice register (a file); nothing was changed. Move "
            f"{it} aside (mv {arg(path)} {arg(path.with_name(path.name + '.folder'))}; "
            "a copy or an unzip may have made a folder of the register, and the file may be in "
            "it), then put the register file back from a backup, or rebuild it from the run "
            f"folders: billing register rebuild --output {arg(path.parent)}"
        )


class UnwritableRegister(RunError):
    """A register that cannot be written (read-only file or folder, full disk): ``problem`` names
    the file, the cause and the way out; the message adds that nothing was reserved or changed
    (what a caller that changed something already words otherwise: ``finalising``)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.problem = (
            f"{path}: the invoice-number register cannot be written ({reason}). Make the file "
            f"and its folder writable for this user (chmod u+w {path} {path.parent}) and check "
            "the disk has room"
        )
        super().__init__(
            f"{self.problem}, then run again; no invoice number was reserved and nothing was "
            "changed."
        )


def unwritable_register(path: Path, reason: str) -> RunError:
    """The one message for a register that cannot be written (``UnwritableRegister``)."""
    return UnwritableRegister(path, reason)


def check_dated_in_order(register: Register, series: str, issued: date, what: str) -> None:
    """RunError when the next number of ``series``, ``what`` dated ``issued``, would be dated
    before a number the series has already given: a series' numbers follow their dates (a
    backdated credit note numbered after a later one passed without a word; the review's
    date-order check sees a run's own invoices only)."""
    latest = register.latest_dated(series)
    if latest and issued < date.fromisoformat(latest[1]):
        number, day = latest
        raise RunError(
            f"{what} would be numbered in {series} after {number}, which is dated {day}; it "
            f"cannot be dated {issued} (before it): a series' numbers follow their dates. Date "
            f"it {day} or later (--issue-date)"
        )
