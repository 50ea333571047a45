"""The tests the docs cite exist: docs/guarantees.md and the other pages back each promise with
``tests/test_x.py::test_name``, and ``::test_name`` for more of a file named before (in the
paragraph, or in the section's opening words); a test renamed or merged since left a promise
pointing at nothing."""

from __future__ import annotations

import os
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


#: The project's own text files (not the venv, git's objects or a run's outputs).
_TEXT = (".md", ".py", ".yaml", ".yml", ".toml", ".ipynb", ".csv", ".cfg", "Makefile")
_SKIP = {".venv", ".git", "outputs", "data", "node_modules", "__pycache__", ".mypy_cache"}
_MARKER = re.compile(r"^(<<<<<<<|>>>>>>>) ", re.M)


def conflict_markers(root: Path) -> list[str]:
    """``path:line`` of each line of the project's text files that begins like a merge conflict's
    marker (``<<<<<<< HEAD``, ``>>>>>>> branch``): a merge left half-done."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in _SKIP]
        for name in files:
            if not name.endswith(_TEXT):
                continue
            path = Path(folder, name)
            text = path.read_text(encoding="utf-8", errors="replace")
            for m in _MARKER.finditer(text):
                found.append(f"{path.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}")
    return sorted(found)


def test_no_file_holds_a_merge_conflict_marker(tmp_path):
    """docs/guarantees.md held both sides of a merge, markers and all, for a session: every page
    and source file is searched for them (and a planted one is found)."""
    assert conflict_markers(REPO) == []
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> h1\n")
    assert conflict_markers(tmp_path) == ["docs/page.md:2", "docs/page.md:6"]
