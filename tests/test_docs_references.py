"""The tests the docs cite exist: docs/guarantees.md and the other pages back each promise with
``tests/test_x.py::test_name``, and ``::test_name`` for more of a file named before (in the
paragraph, or in the section's opening words); a test renamed or merged since left a promise
pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_REF = re.compile(
    r"`(tests/(?P<file>test_\w+\.py))?::(?P<name>test_\w+)"
    r"|`tests/(?P<alone>test_\w+\.py)`"
    r"|`(?P<bare>test_\w+)(\[[^\]`]*\])?`"
)
_DEF = re.compile(r"^(?:async )?def (test_\w+)", re.M)


def _defined(file: str) -> set[str]:
    path = REPO / "tests" / file
    return set(_DEF.findall(path.read_text(encoding="utf-8"))) if path.is_file() else set()


def cited_tests_missing(page: Path) -> list[str]:
    """``file::name`` of each test ``page`` cites that its file does not define (a file missing:
    ``file``); ``::name`` of a bare one no test file defines (its file is named further up, in
    the paragraph or the section's opening words)."""
    every = set().union(*(_defined(p.name) for p in (REPO / "tests").glob("test_*.py")))
    missing = []
    for m in _REF.finditer(page.read_text(encoding="utf-8")):
        if m["alone"]:
            if not (REPO / "tests" / m["alone"]).is_file():
                missing.append(m["alone"])
        elif m["bare"]:  # a test (of a file named further up) or a test module
            if m["bare"] not in every and not (REPO / "tests" / f"{m['bare']}.py").is_file():
                missing.append(m["bare"])
        elif m["file"]:
            if m["name"] not in _defined(m["file"]):
                missing.append(f"{m['file']}::{m['name']}")
        elif m["name"] not in every:
            missing.append(f"::{m['name']}")
    return missing


def test_every_test_the_docs_cite_exists():
    found = {p.name: cited_tests_missing(p) for p in PAGES}
    assert {page: refs for page, refs in found.items() if refs} == {}
