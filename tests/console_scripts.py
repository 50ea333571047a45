"""The project's console scripts, found one way: beside the Python that runs the tests (the
virtual environment's ``bin/``), so a test runs the installed command of this checkout whatever
``PATH`` holds."""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent
BILLING = str(BIN / "billing")
BEAN_CHECK = str(BIN / "bean-check")
