"""Where an entry of a parameters YAML file is written: the line (and, inside a one-line
``{...}`` or ``[...]``, the column) an error names beside the entry path, so an analyst with a
2,000-line customers.yaml goes to the line instead of counting entries by hand.

``read_yaml`` records the digest of the bytes it read from each file (``remember``). When an error
names that file and an entry (``plans[id=smb].rules[2].percent``, ``customers[id=C001]``,
``accounts.4000``, ``a[1] and b[id=x]``), the file is composed again, only then (errors are rare
and reading stays as fast as it was), if it still holds the bytes read, and the entry path is
followed through its nodes. An entry not in the file (a key left out, a rule it does not define),
a file changed since it was read, or one never read as YAML gets no line: its message is as before.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: File names of the YAML parameters files (any other file's entries are rows, options, rates).
YAML_SUFFIXES = (".yaml", ".yml")
#: Entries that are no document path: already a line (YAML's own errors), a CSV row, the top.
_NOT_PATHS = ("line ", "row ", "rows ", "(top level)")
#: Most places an entry is named at (an id given to several entries names each).
MOST_PLACES = 5
#: Composed files kept for the further errors of one check (a few naming one file): few, as the
#: nodes of a large file take many times its size.
TREES_KEPT = 2

#: absolute path -> digest of the bytes ``read_yaml`` last read there.
_READ: dict[str, bytes] = {}
_TREES: OrderedDict[tuple[str, bytes], yaml.Node | None] = OrderedDict()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Place:
    """Where an entry is written: its line and column (1-based) and whether that line holds
    other entries too (a ``{...}`` or ``[...]`` written on one line), where the column tells
    them apart."""

    line: int
    column: int
    in_flow: bool


def remember(path: Path | str, digest: bytes) -> None:
    """Record that the entries of ``path`` came from the bytes of ``digest``."""
    with _LOCK:
        _READ[os.path.abspath(path)] = digest


def digest_of(raw: bytes) -> bytes:
    """The digest of a file's bytes, as ``read_yaml`` and ``remember`` key them."""
    return hashlib.blake2b(raw, digest_size=20).digest()


def places(file: Path | str, entry: str | None) -> list[Place]:
    """Where ``entry`` is written in the YAML file ``file``, in the file's order; empty when the
    file was not read as YAML, was changed since, or has no such entry."""
    if not entry or entry.startswith(_NOT_PATHS):
        return []
    name = str(file)
    if not name.lower().endswith(YAML_SUFFIXES):
        return []
    root = _tree(os.path.abspath(name))
    if root is None:
        return []
    found = _resolve(root, entry)
    if not found and " and " in entry:  # two entries: "custom_lines[id=b] and custom_lines[id=a]"
        first, *others = entry.split(" and ")
        found = _resolve(root, first)
        for other in others if found else []:
            more = _resolve(root, other) or _relative(root, first, other)
            if not more:
                return []
            found += more
    unique = sorted(set(found), key=lambda p: (p.line, p.column))
    return unique if len(unique) <= MOST_PLACES else []


def place_text(found: list[Place]) -> str:
    """``line 41``, ``line 3, column 31`` (one of a line's several entries), ``lines 12 and
    40``; empty for no place."""
    if not found:
        return ""
    if len(found) == 1:
        only = found[0]
        return f"line {only.line}" + (f", column {only.column}" if only.in_flow else "")
    lines = sorted({p.line for p in found})
    if len(lines) == 1:
        return f"line {lines[0]}"
    return "lines " + ", ".join(str(n) for n in lines[:-1]) + f" and {lines[-1]}"


def where(file: Path | str, entry: str | None) -> str:
    """``line 41, entry plans[2].rules[0].markup`` (``entry X`` where it has no place): how an
    error names an entry of a parameters file after the file's name."""
    if not entry:
        return ""
    shown = place_text(places(file, entry))
    return f"{shown}, entry {entry}" if shown else f"entry {entry}"


def _tree(path: str) -> yaml.Node | None:
    """The composed document of ``path`` when it still holds the bytes last read there."""
    with _LOCK:
        digest = _READ.get(path)
    if digest is None:
        return None
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    if digest_of(raw) != digest:
        return None
    key = (path, digest)
    with _LOCK:
        if key in _TREES:
            _TREES.move_to_end(key)
            return _TREES[key]
    root = _compose(raw)
    with _LOCK:
        _TREES[key] = root
        while len(_TREES) > TREES_KEPT:
            _TREES.popitem(last=False)
    return root


def _compose(raw: bytes) -> yaml.Node | None:
    """The node tree of ``raw`` decoded as ``read_yaml`` decodes it (universal newlines, so the
    lines are an editor's); None when it cannot be composed (it was read, so it can)."""
    try:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()
        loader = _LOADER(text)
        try:
            node: yaml.Node | None = loader.get_single_node()
            return node
        finally:
            loader.dispose()
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return None


def _resolve(root: yaml.Node, entry: str) -> list[Place]:
    """The places the path ``entry`` leads to from ``root``: keys separated by dots, list items
    by ``[n]`` or ``[id=X]`` (every item of that id)."""
    todo: list[tuple[yaml.Node, str, Place | None]] = [(root, entry, None)]
    found: list[Place] = []
    while todo:
        node, rest, place = todo.pop()
        if not rest:
            if place is not None:
                found.append(place)
            continue
        todo.extend(_steps(node, rest))
    return found


def _steps(node: yaml.Node, rest: str) -> list[tuple[yaml.Node, str, Place | None]]:
    """One step of ``rest`` into ``node``: each child it names, the rest of the path after it,
    and where the child is written (a mapping's key, a list's item)."""
    flow = bool(getattr(node, "flow_style", False))
    if isinstance(node, yaml.MappingNode):
        named = [
            (key, value)
            for key, value in node.value
            if isinstance(key, yaml.ScalarNode) and _leads(rest, key.value)
        ]
        if not named:
            return []
        key, value = max(named, key=lambda kv: len(kv[0].value))  # "a.b" before "a"
        return [(value, _after(rest, len(key.value)), _place(key, flow))]
    if isinstance(node, yaml.SequenceNode) and rest.startswith("["):
        close = rest.find("]")
        index = rest[1:close]
        if close > 1 and index.isdigit():
            n = int(index)
            if n < len(node.value):
                item = node.value[n]
                return [(item, _after(rest, close + 1), _place(item, flow))]
            return []
        if rest.startswith("[id="):
            out: list[tuple[yaml.Node, str, Place | None]] = []
            for item in node.value:
                ident = _id_of(item)
                if ident is not None and _leads(rest, f"[id={ident}]"):
                    out.append((item, _after(rest, len(ident) + 5), _place(item, flow)))
            return out
    return []


def _relative(root: yaml.Node, first: str, other: str) -> list[Place]:
    """``other`` read beside ``first``: ``rules[id=b]`` of ``plans[id=x].rules[id=a] and
    rules[id=b]`` is a rule of plan x (the nearest enclosing entry that has it)."""
    for cut in range(len(first) - 1, 0, -1):
        if first[cut] == ".":
            found = _resolve(root, first[: cut + 1] + other)
            if found:
                return found
    return []


def _leads(rest: str, name: str) -> bool:
    return rest.startswith(name) and rest[len(name) : len(name) + 1] in ("", ".", "[")


def _after(rest: str, length: int) -> str:
    return rest[length:].removeprefix(".")


def _id_of(item: yaml.Node) -> str | None:
    if isinstance(item, yaml.MappingNode):
        for key, value in item.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "id":
                return str(value.value) if isinstance(value, yaml.ScalarNode) else None
    return None


def _place(node: yaml.Node, flow: bool) -> Place:
    mark = node.start_mark
    return Place(mark.line + 1, mark.column + 1, flow)
