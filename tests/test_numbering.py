"""The invoice-number register: gapless, stable across reruns, immutable once finalised, and
crash-safe (one transaction per run; the file is reopened to check)."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from billing_lib.errors import RunError
from billing_lib.numbering import Register, open_register
from tests.read_only import read_only

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
    # one wording for both ways of numbering a credit note
    unfinalised = (
        r"NW2026-000002 \(period 2026-10\) is not finalised; correct it by running 2026-10"
    )
    with pytest.raises(RunError, match=unfinalised):
        reg.credit_note("NWC2026", "2026-11", "NW2026-000002", date(2026, 12, 1))
    with pytest.raises(RunError, match=unfinalised):
        reg.credit_note_number("NWC2026", "NW2026-000002")
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


def issue(reg: Register, original: str, issued: date, note: str | None, run_id="cn-1") -> str:
    """What ``billing credit-note`` does with the register: the next number, read; the plan
    recorded before the folder moves into place; the number recorded after."""
    number = reg.credit_note_number("NWC2026", original)
    plan = {
        "kind": "credit_note",
        "series": "NWC2026",
        "number": number,
        "refers_to": original,
        "issue_date": issued.isoformat(),
        "note": note,
    }
    reg.begin_publishing(run_id, f"corrections/{number}", plan)
    reg.commit_publishing(run_id)
    return number


def test_a_credit_note_issued_on_its_own_is_final_at_once_and_only_one_per_invoice(tmp_path):
    reg = open_register(tmp_path / "r.sqlite")
    reg.reserve("NW2026", "2026-10", ["C1", "C2"], ISSUED)
    with pytest.raises(RunError, match=r"NW2026-000002 \(period 2026-10\) is not finalised"):
        issue(reg, "NW2026-000002", date(2026, 12, 1), "wrong plan")
    reg.finalise("2026-10")
    assert issue(reg, "NW2026-000002", date(2026, 12, 1), "wrong plan") == "NWC2026-000001"
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
    with pytest.raises(RunError, match="already corrected by credit note NWC2026-000001"):
        issue(reg, "NW2026-000002", date(2026, 12, 2), "again")
    # nor in a later run
    with pytest.raises(RunError, match="already corrected by credit note NWC2026-000001"):
        reg.credit_note("NWC2026", "2026-11", "NW2026-000002", date(2026, 12, 1))
    with pytest.raises(RunError, match="NW2026-000099 is not an invoice"):
        issue(reg, "NW2026-000099", date(2026, 12, 1), None)
    with pytest.raises(RunError, match="NWC2026-000001 is not an invoice"):
        issue(reg, "NWC2026-000001", date(2026, 12, 1), None)


def test_a_credit_note_whose_folder_never_got_into_place_uses_no_number(tmp_path):
    path = tmp_path / "r.sqlite"
    reg = open_register(path)
    reg.reserve("NW2026", "2026-10", ["C1"], ISSUED)
    reg.finalise("2026-10")
    number = reg.credit_note_number("NWC2026", "NW2026-000001")
    assert number == "NWC2026-000001"
    plan = {"kind": "credit_note", "series": "NWC2026", "number": number}
    reg.begin_publishing("cn-1", f"corrections/{number}", {**plan, "refers_to": "NW2026-000001"})
    assert [(r, t) for r, t, _ in reg.pending_publishing()] == [
        ("cn-1", "corrections/NWC2026-000001")
    ]
    reg.abandon_publishing("cn-1")  # the folder never got into place
    assert open_register(path).credit_notes_of("NW2026-000001") == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT series, last_number FROM series ORDER BY 1").fetchall() == [
            ("NW2026", 1)
        ]
    assert issue(reg, "NW2026-000001", date(2026, 12, 1), None) == "NWC2026-000001"


# -- a run's numbers: planned without touching the file, recorded when published -----------------


def publish_plan(reg: Register, plan, run_id="run-1", finalise=False) -> None:
    reg.begin_publishing(run_id, plan.period, {**plan.to_dict(), "finalise": finalise})
    reg.commit_publishing(run_id)


def test_planning_numbers_leaves_the_file_byte_identical(tmp_path):
    path = tmp_path / "r.sqlite"
    reg = open_register(path)
    reg.reserve("NW2026", "2026-09", ["C1", "C2"], ISSUED)
    before = path.read_bytes()
    plan = reg.plan("NW2026", "2026-10", ["C3", "C1"], ISSUED)
    assert plan.numbers == {"C1": "NW2026-000003", "C3": "NW2026-000004"}
    assert reg.plan("NW2026", "2026-10", ["C3", "C1"], ISSUED) == plan  # nothing was taken
    assert path.read_bytes() == before


def test_a_published_plan_is_what_the_register_records_and_a_rerun_gets_back(tmp_path):
    reg = open_register(tmp_path / "r.sqlite")
    plan = reg.plan("NW2026", "2026-10", ["C1", "C2", "C3"], ISSUED)
    publish_plan(reg, plan)
    assert numbers(reg) == [
        ("NW2026-000001", "C1", "reserved"),
        ("NW2026-000002", "C2", "reserved"),
        ("NW2026-000003", "C3", "reserved"),
    ]
    assert reg.pending_publishing() == []
    # the rerun drops C1 (middle: void once published) and keeps the others
    rerun = reg.plan("NW2026", "2026-10", ["C2", "C3"], ISSUED)
    assert rerun.numbers == {"C2": "NW2026-000002", "C3": "NW2026-000003"}
    assert rerun.void == ("NW2026-000001",)
    assert numbers(reg)[0] == ("NW2026-000001", "C1", "reserved")  # not before it is published
    publish_plan(reg, rerun, "run-2", finalise=True)
    assert numbers(reg) == [
        ("NW2026-000001", "C1", "void"),
        ("NW2026-000002", "C2", "final"),
        ("NW2026-000003", "C3", "final"),
    ]
    assert reg.is_finalised("2026-10")


def test_a_plan_the_register_no_longer_gives_is_not_recorded(tmp_path):
    reg = open_register(tmp_path / "r.sqlite")
    plan = reg.plan("NW2026", "2026-10", ["C1"], ISSUED)
    reg.reserve("NW2026", "2026-09", ["C9"], ISSUED)  # someone took NW2026-000001 meanwhile
    reg.begin_publishing("run-1", "2026-10", {**plan.to_dict(), "finalise": False})
    with pytest.raises(RunError, match=r"no longer gives the numbers .* \['C1'\]"):
        reg.commit_publishing("run-1")
    assert numbers(reg) == [("NW2026-000001", "C9", "reserved")]


def test_a_read_only_register_is_named_with_the_way_out(tmp_path):
    path = tmp_path / "r.sqlite"
    open_register(path).reserve("NW2026", "2026-10", ["C1"], ISSUED)
    before = path.read_bytes()
    with (
        read_only(path),
        pytest.raises(
            RunError,
            match=rf"{path}: the invoice-number register cannot be written .*readonly.*chmod u\+w",
        ),
    ):
        open_register(path).plan("NW2026", "2026-11", ["C1"], ISSUED)
    assert path.read_bytes() == before


def test_a_rerun_in_another_series_frees_the_numbers_of_the_earlier_series(tmp_path):
    """seller.yaml's invoice_series changed before the month is rerun: the period's numbers of
    the earlier series are on no invoice any more. They are given back (at the end of their
    series) or kept void (in its middle), never finalised with the month as invoices no run
    folder holds."""
    reg = open_register(tmp_path / "r.sqlite")
    publish_plan(reg, reg.plan("NW2026", "2026-10", ["C1", "C2"], ISSUED), "run-1")
    publish_plan(reg, reg.plan("NW2026", "2026-11", ["C1"], date(2026, 12, 1)), "run-2")
    rerun = reg.plan("NX2026", "2026-10", ["C1", "C2"], ISSUED)
    assert rerun.numbers == {"C1": "NX2026-000001", "C2": "NX2026-000002"}
    assert rerun.void == ("NW2026-000001", "NW2026-000002")  # the manifest lists them
    publish_plan(reg, rerun, "run-3", finalise=True)
    assert [(e.invoice_number, e.customer_id, e.status) for e in reg.entries("2026-10")] == [
        ("NW2026-000001", "C1", "void"),
        ("NW2026-000002", "C2", "void"),
        ("NX2026-000001", "C1", "final"),
        ("NX2026-000002", "C2", "final"),
    ]
    # November rerun in the new series: its NW2026-000003 is the last of NW2026, given back;
    # October's void numbers before it stay void, as October's manifest lists them
    publish_plan(reg, reg.plan("NX2026", "2026-11", ["C1"], date(2026, 12, 1)), "run-4")
    assert numbers(reg) == [
        ("NW2026-000001", "C1", "void"),
        ("NW2026-000002", "C2", "void"),
        ("NX2026-000001", "C1", "final"),
        ("NX2026-000002", "C2", "final"),
        ("NX2026-000003", "C1", "reserved"),
    ]


def test_a_void_number_of_another_month_is_not_given_back_to_be_issued_again(tmp_path):
    """October rerun without C3 keeps its NW2026-000003 void (November's 000004 after it) and
    finalises: its manifest lists 000003 as never issued. November rerun after seller.yaml's
    invoice_series changed gave back its 000004 and, at the end of the series then, October's
    000003 too: the next reissue of an October invoice was NW2026-000003, a number the finalised
    month records as void, and `billing register rebuild` refused ("in both 2026-10/manifest.json
    and corrections/NW2026-000003/invoices.json")."""
    reg = open_register(tmp_path / "r.sqlite")
    publish_plan(reg, reg.plan("NW2026", "2026-10", ["C1", "C2", "C3"], ISSUED), "run-1")
    publish_plan(reg, reg.plan("NW2026", "2026-11", ["C1"], date(2026, 12, 1)), "run-2")
    october = reg.plan("NW2026", "2026-10", ["C1", "C2"], ISSUED)
    assert october.void == ("NW2026-000003",)  # what October's manifest lists
    publish_plan(reg, october, "run-3", finalise=True)
    publish_plan(reg, reg.plan("NX2026", "2026-11", ["C1"], date(2026, 12, 1)), "run-4")
    assert [(e.invoice_number, e.status) for e in reg.entries() if e.series == "NW2026"] == [
        ("NW2026-000001", "final"),
        ("NW2026-000002", "final"),
        ("NW2026-000003", "void"),
    ]
    issue(reg, "NW2026-000001", date(2026, 12, 2), "wrong plan")
    assert reg.reissue_number("NW2026", "NW2026-000001")[0] == "NW2026-000004"


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (
            "UPDATE series SET last_number = 7",
            "series NW2026: its counter is at NW2026-000007, its numbers end at NW2026-000003",
        ),
        ("DELETE FROM numbers WHERE number = 2", "series NW2026: NW2026-000002 is missing"),
        (
            "UPDATE series SET last_number = 2",
            "series NW2026: its counter is at NW2026-000002, its numbers end at NW2026-000003",
        ),
    ],
)
def test_a_register_edited_out_of_its_series_is_refused_before_any_number_is_taken(
    tmp_path, edit, said
):
    """The series counter raised by hand: the next run took NW2026-000008 and left 4 to 7
    unissued, with nothing said but a later ``register list``'s "NUMBERS MISSING". Every
    command checks, holding the lock, that each series runs 1, 2, 3, ... to its counter."""
    from billing_lib.recovery import open_output

    path = tmp_path / "invoice_register.sqlite"
    open_register(path).reserve("NW2026", "2026-10", ["C1", "C2", "C3"], ISSUED)
    lock, _ = open_output(tmp_path, "test")  # as it is: accepted
    lock.release()
    with sqlite3.connect(path) as db:
        db.execute(edit)
    before = path.read_bytes()
    with pytest.raises(RunError) as refused:
        open_output(tmp_path, "test")
    assert said in str(refused.value)
    assert "was it edited?" in str(refused.value)
    assert f"billing register rebuild --output {tmp_path}" in str(refused.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("create", [True, False])
def test_an_outputs_folder_that_is_a_file_is_named_so(tmp_path, create):
    """It was "cannot create the outputs folder (File exists)": as if the folder were there."""
    from billing_lib.recovery import open_output

    output = tmp_path / "outputs"
    output.write_text("", encoding="utf-8")
    with pytest.raises(RunError, match=r"outputs: is a file, not a folder; .*give a folder"):
        open_output(output, "test", create=create)
