"""A folder's contents as one digest: what the shared fixtures compare at the end to check that
no test wrote into the folder they share."""

from __future__ import annotations

import hashlib
from pathlib import Path


def digest(folder: Path) -> str:
    """sha256 over every file's relative path and bytes: equal digests, equal folders."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()
