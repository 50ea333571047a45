"""The standard output of the ``billing`` command when it cannot be written: closed (``>&-``,
a scheduler that gives none) or on a full disk (``> report.txt``, ``/dev/full``).

Closed, the command ran and its report went nowhere, then ended in an ``AttributeError``
traceback; on a full disk in an ``OSError: [Errno 28]`` traceback naming no file. Now a closed
one is refused before anything is done, and a failed write is one message naming the standard
output. A reader that went away (``| head``) is left to ``cli._reader_gone``."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from billing_lib.errors import BillingError, write_fault


class OutputError(BillingError):
    """The standard output cannot be written."""


def check_open() -> None:
    """Raise ``OutputError`` when the process has no standard output (its descriptor closed:
    Python then sets ``sys.stdout`` to None and every print is dropped in silence)."""
    if sys.stdout is None:
        raise OutputError(
            "the standard output is closed (>&-), so what the command reports would be lost; "
            "nothing was done. Send it to a file (> billing.log) or to /dev/null"
        )


class GuardedOutput:
    """``stream`` (the standard output) whose failed writes raise ``OutputError`` naming it and
    the fault, instead of an ``OSError`` that names no file. A closed pipe's ``BrokenPipeError``
    passes as it is (128 + SIGPIPE, ``cli._reader_gone``)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _failed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _failed(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _failed(exc: OSError) -> OutputError:
    fault = write_fault(exc)
    what = fault[0] if fault else (exc.strerror or str(exc))
    return OutputError(
        f"the standard output could not be written: {what}; what the command printed is cut short"
    )
