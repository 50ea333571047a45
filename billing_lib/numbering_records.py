"""What the invoice-number register (``numbering.Register``) stores: its tables, a number as
stored (``RegisterEntry``), the numbers a run plans (``NumberPlan``) and a number's text."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from billing_lib.command_lines import arg

SCHEMA = """
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


#: The columns of ``numbers`` in the order of ``RegisterEntry``'s fields.
COLUMNS = (
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


#: Why a number is void: its customer had no invoice in the rerun of the month.
NO_INVOICE_IN_RERUN = "customer had no invoice in a rerun before finalising"


def rerun_in_series(series: str) -> str:
    """Why a number is void: the month was rerun in ``series`` (seller.yaml's invoice_series
    changed), so its numbers of the earlier series are on no invoice."""
    return f"the month was rerun in series {series}"


def not_final_way_out(period: str, output: Path) -> str:
    """What to do with an invoice of ``period``'s run that is published, not finalised: bill it
    again, or finalise the run as it was reviewed (``billing finalise``; ``billing run
    --finalise`` bills the month again, so it finalises whatever changed since the review)."""
    return (
        f"correct it by running {period} again (billing run --period {period} ...), or, once "
        f"the published run is reviewed, finalise it as it is (billing finalise --period "
        f"{period} --output {arg(output)})"
    )


def void_note(why: str) -> str:
    """The register's note of a number made void for ``why``."""
    return f"{why}; number never issued"


@dataclass(frozen=True)
class NumberPlan:
    """The invoice numbers a run gives its invoices, recorded in the register only when the run
    is published: ``numbers`` per customer of ``period`` in ``series``, and the numbers of the
    period that are then ``void`` (freed in the middle of the series, never issued), with the
    customer and issue date each void number was held for (``void_of``) and the register's note
    of why it is void (``void_notes``: a customer without an invoice in the rerun, or the month
    rerun in another series): what the register keeps of it, so ``billing register rebuild``
    restores it from the run's manifest."""

    series: str
    period: str
    issue_date: str
    numbers: dict[str, str]
    void: tuple[str, ...] = ()
    #: number -> (customer, issue date) it was held for before it became void
    void_of: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    #: number -> the register's note of why it is void
    void_notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "series": self.series,
            "period": self.period,
            "issue_date": self.issue_date,
            "numbers": dict(sorted(self.numbers.items())),
            "void": list(self.void),
            "void_of": {
                n: {"customer_id": c, "issue_date": d}
                | ({"note": self.void_notes[n]} if n in self.void_notes else {})
                for n, (c, d) in sorted(self.void_of.items())
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> NumberPlan:
        return cls(
            str(data["series"]),
            str(data["period"]),
            str(data["issue_date"]),
            {str(c): str(n) for c, n in data["numbers"].items()},
            tuple(str(n) for n in data.get("void", ())),
            void_held_for(data),
            void_notes(data),
        )


def void_held_for(data: dict) -> dict[str, tuple[str | None, str | None]]:
    """The customer and issue date of each void number of a plan as a dict (a run manifest's
    ``numbering``); none for a manifest written before they were recorded."""
    held = data.get("void_of")
    if not isinstance(held, dict):
        return {}
    out: dict[str, tuple[str | None, str | None]] = {}
    for number, of in held.items():
        if isinstance(of, dict):
            customer, day = of.get("customer_id"), of.get("issue_date")
            out[str(number)] = (
                str(customer) if customer else None,
                str(day) if day else None,
            )
    return out


def void_notes(data: dict) -> dict[str, str]:
    """The register's note of each void number of a plan (a run manifest's ``numbering``); none
    for a manifest written before they were recorded."""
    held = data.get("void_of")
    if not isinstance(held, dict):
        return {}
    return {
        str(n): str(of["note"])
        for n, of in held.items()
        if isinstance(of, dict) and isinstance(of.get("note"), str) and of["note"]
    }
