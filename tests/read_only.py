"""A file or folder made read-only for this process, for tests of the messages a read-only file
or folder gives."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


class read_only:
    """Its write permissions taken away (``chmod a-w``: a folder can still be read), or for root
    (who may write any file) the immutable attribute (``chattr +i``: nothing can be made in a
    folder); the test is skipped when neither makes it read-only."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.mode = 0o644

    def __enter__(self) -> Path:
        self.mode = self.path.stat().st_mode & 0o7777
        self.path.chmod(self.mode & ~0o222)
        if os.access(self.path, os.W_OK):
            done = subprocess.run(
                ["chattr", "+i", str(self.path)], capture_output=True, check=False
            )
            if done.returncode != 0 or os.access(self.path, os.W_OK):
                self.path.chmod(self.mode)
                pytest.skip("cannot make a file or folder read-only for this user")
        return self.path

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["chattr", "-i", str(self.path)], capture_output=True, check=False)
        self.path.chmod(self.mode)
