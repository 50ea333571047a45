"""A batch of credit notes or reissued invoices stopped part-way (``correction_batches``): the
error names the documents issued and the invoices to give again, whatever stopped it."""

from __future__ import annotations

import signal

import pytest

from billing_lib.correction_batches import NOT_ISSUED, StoppedPartWay, issued_in_turn
from billing_lib.errors import RunError
from billing_lib.interrupts import InterruptedAfter

GIVEN = ["NW2026-000002", "NW2026-000003", "NW2026-000004"]


def batch(stop_at: str, error: BaseException) -> list[str]:
    """The batch ``GIVEN`` issued in turn, ``error`` raised when issuing ``stop_at``."""

    def issue(number: str) -> str:
        if number == stop_at:
            raise error
        return f"NWC-{number}"

    return issued_in_turn(GIVEN, GIVEN, issue, lambda d: f"{d} was issued", "credit-note")


def test_a_failure_after_the_first_names_it_and_the_invoices_to_give_again():
    with pytest.raises(StoppedPartWay) as stopped:
        batch("NW2026-000003", RunError(f"journal.csv: the disk is full. {NOT_ISSUED}"))
    text = str(stopped.value)
    assert text == (
        "journal.csv: the disk is full. That one was not issued; its number was not used.\n"
        "Of the invoices given, NWC-NW2026-000002 was issued before this failure; not for "
        "NW2026-000003, NW2026-000004: give them again (billing credit-note --invoice "
        "NW2026-000003 --invoice NW2026-000004 ...) once that is fixed, not the ones issued"
    )
    assert stopped.value.signum is None


def test_an_interrupt_between_two_names_what_was_issued_with_the_exit_status_of_sigint():
    with pytest.raises(StoppedPartWay) as stopped:
        batch("NW2026-000004", KeyboardInterrupt())
    assert str(stopped.value).startswith("interrupted (SIGINT)\nOf the invoices given, ")
    assert "not for NW2026-000004: give it again" in str(stopped.value)
    assert stopped.value.signum == signal.SIGINT


def test_an_interrupt_held_off_until_one_was_issued_leaves_the_next_to_give_again():
    done = InterruptedAfter("credit note NWC2026-000001 was issued", signal.SIGTERM)
    with pytest.raises(StoppedPartWay) as stopped:
        batch("NW2026-000002", done)  # the first, issued: the other two are left
    assert str(stopped.value).startswith(str(done))
    assert "not for NW2026-000003, NW2026-000004: give them again" in str(stopped.value)
    assert stopped.value.signum == signal.SIGTERM
    with pytest.raises(InterruptedAfter):  # the last: nothing is left, it says what was done
        batch("NW2026-000004", done)


def test_a_failure_of_the_first_is_its_own_error():
    refused = RunError(f"the disk is full. {NOT_ISSUED}")
    with pytest.raises(RunError) as stopped:
        batch("NW2026-000002", refused)
    assert stopped.value is refused
