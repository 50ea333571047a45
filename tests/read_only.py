"""A file made read-only for this process, for tests of the messages a read-only file gives."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


class read_only:
    """``chmod 444``, or for root (who may write any file) the immutable attribute (``chattr
    +i``); the test is skipped when neither makes the file read-only."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.path.chmod(0o444)
        if os.access(self.path, os.W_OK):
            done = subprocess.run(
                ["chattr", "+i", str(self.path)], capture_output=True, check=False
            )
            if done.returncode != 0 or os.access(self.path, os.W_OK):
                self.path.chmod(0o644)
                pytest.skip("cannot make a file read-only for this user")
        return self.path

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["chattr", "-i", str(self.path)], capture_output=True, check=False)
        self.path.chmod(0o644)
