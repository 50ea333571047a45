"""The invoice-number register: gapless, stable across reruns, immutable once finalised, and
crash-safe (one transaction per run; the file is reopened to check)."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from billing_lib.errors import RunError
from billing_lib.numbering import Register, open_register

ISSUED = date(2026, 11, 1)


def numbers(register: Register) -> list[tuple[str, str | None, str]]:
    return [(e.invoice_number, e.customer_id, e.status) for e in register.entries()]


def test_numbers_are_sequential_per_series_and_survive_reopening(tmp_path):
    path = tmp_path / "invoice_register.sqlite"
    reg = open_register(path)
    assert reg.reserve("NW2026", "2026-10", ["C2", "C1", "C3"], ISSUED) == {
        "C1": "NW2026-000001",
        "C2": "NW2026-000002",
        "C3": "NW2026-000003",
    }
    assert open_register(path).reserve("NW2026", "2026-11", ["C1"], date(2026, 12, 1)) == {
        "C1": "NW2026-000004"
    }
    assert open_register(path).reserve("NW2027", "2027-01", ["C1"], date(2027, 2, 1)) == {
        "C1": "NW2027-000001"
    }


def test_a_rerun_before_finalising_keeps_the_numbers(tmp_path):
    reg = open_register(tmp_path / "r.sqlite")
    first = reg.reserve("NW2026", "2026-10", ["C1", "C2"], ISSUED)
    assert (
        open_register(tmp_path / "r.sqlite").reserve(
            "NW2026", "2026-10", ["C1", "C2"], date(2026, 11, 2)
        )
        == first
    )
    assert [e.issue_date for e in reg.entries()] == ["2026-11-02", "2026-11-02"]


def test_a_rerun_with_other_customers_leaves_no_gap(tmp_path):
    reg = open_register(tmp_path / "r.sqlite")
    reg.reserve("NW2026", "2026-10", ["C1", "C2", "C3"], ISSUED)
    # C3 (the last number) has no invoice any more: its number is given back
    assert reg.reserve("NW2026", "2026-10", ["C1", "C2"], ISSUED) == {
        "C1": "NW2026-000001",
        "C2": "NW2026-000002",
    }
    assert numbers(reg) == [
        ("NW2026-000001", "C1", "reserved"),
        ("NW2026-000002", "C2", "reserved"),
    ]
    # C1 drops out in the middle: its number is kept as void, then reused by a new customer
    reg.reserve("NW2026", "2026-10", ["C2"], ISSUED)
    assert numbers(reg) == [("NW2026-000001", "C1", "void"), ("NW2026-000002", "C2", "reserved")]
    assert reg.reserve("NW2026", "2026-10", ["C2", "C9"], ISSUED) == {
        "C2": "NW2026-000002",
        "C9": "NW2026-000001",
    }
    assert reg.reserve("NW2026", "2026-10", ["C2", "C9", "C4"], ISSUED)["C4"] == "NW2026-000003"


def test_finalising_makes_the_period_immutable(tmp_path):
    reg = open_register(tmp_path / "r.sqlite")
    reg.reserve("NW2026", "2026-10", ["C1", "C2"], ISSUED)
    assert reg.finalise("2026-10") == 2 and reg.is_finalised("2026-10")
    assert open_register(tmp_path / "r.sqlite").finalise("2026-10") == 0  # twice is harmless
    with pytest.raises(RunError, match="the invoices of 2026-10 are finalised"):
        open_register(tmp_path / "r.sqlite").reserve("NW2026", "2026-10", ["C1"], ISSUED)
    assert {e.status for e in reg.entries()} == {"final"}


def test_a_correction_is_a_credit_note_in_its_own_series(tmp_path):
    reg = open_register(tmp_path / "r.sqlite")
    reg.reserve("NW2026", "2026-10", ["C1", "C2"], ISSUED)
    with pytest.raises(RunError, match="not finalised"):
        reg.credit_note("NWC2026", "2026-11", "NW2026-000002", date(2026, 12, 1))
    reg.finalise("2026-10")
    assert (
        reg.credit_note("NWC2026", "2026-11", "NW2026-000002", date(2026, 12, 1))
        == "NWC2026-000001"
    )
    # the rerun of the correcting run gets the same credit-note number
    assert (
        reg.credit_note("NWC2026", "2026-11", "NW2026-000002", date(2026, 12, 1))
        == "NWC2026-000001"
    )
    note = [e for e in reg.entries() if e.kind == "credit_note"]
    assert [(n.refers_to, n.customer_id) for n in note] == [("NW2026-000002", "C2")]
    with pytest.raises(RunError, match="NW2026-000099 is not an invoice"):
        reg.credit_note("NWC2026", "2026-11", "NW2026-000099", date(2026, 12, 1))


def test_a_crash_between_reservations_leaves_no_number_and_no_gap(tmp_path, monkeypatch):
    path = tmp_path / "r.sqlite"
    open_register(path).reserve("NW2026", "2026-09", ["C1"], ISSUED)
    calls = []
    real = Register._insert

    def crash_on_second(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt("the process dies between two reservations")
        return real(*args, **kwargs)

    monkeypatch.setattr(Register, "_insert", staticmethod(crash_on_second))
    with pytest.raises(KeyboardInterrupt):
        open_register(path).reserve("NW2026", "2026-10", ["C1", "C2", "C3"], ISSUED)
    monkeypatch.undo()
    # reopened from the file: the failed run left nothing, the earlier number is intact
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT invoice_number FROM numbers").fetchall() == [("NW2026-000001",)]
        assert db.execute("SELECT last_number FROM series").fetchall() == [(1,)]
    assert open_register(path).reserve("NW2026", "2026-10", ["C1", "C2"], ISSUED) == {
        "C1": "NW2026-000002",
        "C2": "NW2026-000003",
    }


def test_a_credit_note_issued_on_its_own_is_final_at_once_and_only_one_per_invoice(tmp_path):
    reg = open_register(tmp_path / "r.sqlite")
    reg.reserve("NW2026", "2026-10", ["C1", "C2"], ISSUED)
    with (
        pytest.raises(RunError, match=r"NW2026-000002 \(period 2026-10\) is not finalised"),
        reg.issue_credit_note("NWC2026", "NW2026-000002", date(2026, 12, 1), "wrong plan"),
    ):
        pass
    reg.finalise("2026-10")
    with reg.issue_credit_note(
        "NWC2026", "NW2026-000002", date(2026, 12, 1), "wrong plan"
    ) as number:
        assert number == "NWC2026-000001"
    entry = reg.entry("NWC2026-000001")
    assert (
        entry.kind,
        entry.status,
        entry.refers_to,
        entry.customer_id,
        entry.period,
        entry.note,
    ) == ("credit_note", "final", "NW2026-000002", "C2", "2026-10", "wrong plan")
    assert reg.credit_notes_of("NW2026-000002") == [entry]
    with (
        pytest.raises(RunError, match="already corrected by credit note NWC2026-000001"),
        reg.issue_credit_note("NWC2026", "NW2026-000002", date(2026, 12, 2), "again"),
    ):
        pass
    # nor in a later run
    with pytest.raises(RunError, match="already corrected by credit note NWC2026-000001"):
        reg.credit_note("NWC2026", "2026-11", "NW2026-000002", date(2026, 12, 1))
    with (
        pytest.raises(RunError, match="NW2026-000099 is not an invoice"),
        reg.issue_credit_note("NWC2026", "NW2026-000099", date(2026, 12, 1), None),
    ):
        pass
    with (
        pytest.raises(RunError, match="NWC2026-000001 is not an invoice"),
        reg.issue_credit_note("NWC2026", "NWC2026-000001", date(2026, 12, 1), None),
    ):
        pass


def test_a_failure_while_a_credit_note_is_written_uses_no_number(tmp_path):
    path = tmp_path / "r.sqlite"
    reg = open_register(path)
    reg.reserve("NW2026", "2026-10", ["C1"], ISSUED)
    reg.finalise("2026-10")
    with (
        pytest.raises(OSError, match="disk full"),
        reg.issue_credit_note("NWC2026", "NW2026-000001", date(2026, 12, 1), None) as number,
    ):
        assert number == "NWC2026-000001"
        raise OSError("disk full")
    assert open_register(path).credit_notes_of("NW2026-000001") == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT series, last_number FROM series ORDER BY 1").fetchall() == [
            ("NW2026", 1)
        ]
    with reg.issue_credit_note("NWC2026", "NW2026-000001", date(2026, 12, 1), None) as number:
        assert number == "NWC2026-000001"
