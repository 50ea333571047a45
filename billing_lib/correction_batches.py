"""Credit notes and reissued invoices given several at once (``--invoice A --invoice B``), issued
one after the other: what the command says when it stops part-way.

Every invoice of a batch is checked before the first is issued, but writing one can still fail
(a full disk) or be interrupted after the ones before it were issued. The failure of that one
said "Nothing was issued; no credit note or invoice number was used", and Ctrl-C "nothing was
published", while the ones before it stood, numbered and recorded: given the whole batch again,
they were refused as credited or replaced already, or were believed not to be. The error now
names what was issued, and what to give again.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from typing import TypeVar

from billing_lib.errors import RunError
from billing_lib.interrupts import InterruptedAfter

#: What a credit note or reissued invoice that failed to write leaves, as its message says.
NOT_ISSUED = "Nothing was issued; no credit note or invoice number was used."

Item = TypeVar("Item")
Done = TypeVar("Done")


class StoppedPartWay(RunError):
    """A batch that stopped after issuing some of its documents: the message names the failure,
    each document issued and the invoices left; ``signum`` (an interrupt) gives the exit
    status."""

    def __init__(self, message: str, signum: int | None) -> None:
        super().__init__(message)
        self.signum = signum


def issued_in_turn(
    items: Sequence[Item],
    invoices: Sequence[str],
    issue: Callable[[Item], Done],
    said: Callable[[Done], str],
    command: str,
) -> list[Done]:
    """``issue`` applied to each of ``items`` (the batch, for the invoices ``invoices`` in the
    same order), in turn. A RunError or interrupt after one was issued is ``StoppedPartWay``:
    what happened, each issued document as ``said`` gives it, and the invoices of ``invoices``
    not done, to give again with ``billing <command>``."""
    done: list[Done] = []
    for item in items:
        try:
            done.append(issue(item))
        except (RunError, KeyboardInterrupt) as exc:
            # interrupted once this one was issued (its message says so): the next are left
            left = list(invoices[len(done) + isinstance(exc, InterruptedAfter) :])
            if not left or not (done or isinstance(exc, InterruptedAfter)):
                raise
            raise stopped_part_way(exc, [said(d) for d in done], left, command) from None
    return done


def stopped_part_way(
    exc: RunError | KeyboardInterrupt, issued: list[str], left: list[str], command: str
) -> StoppedPartWay:
    """The error of a batch that stopped with ``exc`` once the documents ``issued`` were issued,
    the invoices ``left`` not done."""
    signum = getattr(exc, "signum", None)
    if isinstance(exc, KeyboardInterrupt):
        what, signum = "interrupted (SIGINT)", signal.SIGINT
    else:
        what = str(exc).replace(NOT_ISSUED, "That one was not issued; its number was not used.")
    given = " ".join(f"--invoice {n}" for n in left)
    before = f"{'; '.join(issued)} before this failure; " if issued else ""
    return StoppedPartWay(
        f"{what.rstrip()}\nOf the invoices given, {before}not for {', '.join(left)}: give "
        f"{'it' if len(left) == 1 else 'them'} again (billing {command} {given} ...) once that "
        "is fixed, not the ones issued",
        None if signum is None else int(signum),
    )
