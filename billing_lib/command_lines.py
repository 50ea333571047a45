"""The commands messages give to copy and paste (``billing finalise --output ...``): each value
quoted as a POSIX shell reads it, so a folder named with a space or a quote (``Billing
Outputs``, a synced drive) is one argument when pasted, as it is in the folder's name."""

from __future__ import annotations

import shlex


def arg(value: object) -> str:
    """``value`` as one shell word: as it is when it needs no quoting (``outputs``), else quoted
    (``'Billing Outputs'``)."""
    return shlex.quote(str(value))
