"""Ctrl-C (SIGINT) and a scheduler's SIGTERM held off the few steps that make a change take
effect: a run folder swapped in and its numbers recorded, a month finalised, a credit note or
reissued invoice moved into place.

Let through, an interrupt there either undid a change that was as good as made or left one
the next command completes (``recovery``), while the command said "nothing was published": an
analyst then finalised a run they were told was not published. Held off, the step (milliseconds)
is done whole, and the interrupt then ends the command with ``InterruptedAfter`` saying what
was done, exit status 130 or 143 as a shell reports an interrupt.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from billing_lib.errors import RunError

HELD = (signal.SIGINT, signal.SIGTERM)


class InterruptedAfter(RunError):
    """An interrupt received while a change was being made, which was made whole first; the
    message says what was done, ``signum`` gives the exit status (128 + signum)."""

    def __init__(self, done: str, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(
            f"interrupted ({name}) once {done}: the interrupt was held off until then, so "
            "nothing is left half-done"
        )
        self.signum = int(signum)


@contextmanager
def held_off(done: str) -> Iterator[None]:
    """SIGINT and SIGTERM held off the block (in the main thread; elsewhere signals reach no
    handler of Python's anyway); one received raises ``InterruptedAfter(done)`` once the block
    completed. A block that fails raises its own error: it undid its change itself."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: object) -> None:
        received.append(signum)

    before = {sig: signal.signal(sig, hold) for sig in HELD}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if received:
        raise InterruptedAfter(done, received[0])
