"""Reading the YAML files in ``parameters/``: one way to open them and one way to word a validation
problem, so every parameters error names the file and the entry the same way.

A parameters file is small, hand-written text. Reading it is bounded so that a hostile or broken
file fails at once with a message instead of hanging the run: at most ``MAX_YAML_BYTES`` bytes, at
most ``MAX_YAML_NODES`` values once every alias is expanded (an "alias bomb" of a few hundred bytes
expands to billions), and a nesting depth Python can follow.

A run, and the test suite far more often, reads the same files again and again (about a thousand
reads in one suite, a millisecond or two each): a parse is remembered by the file's path and the
digest of its bytes, so a changed file is always parsed afresh, and each read gets its own copy.
"""

from __future__ import annotations

import dataclasses
import difflib
import io
import pickle
import re
import threading
import types
import typing
from collections import OrderedDict
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from billing_lib.entry_lines import digest_of, places, remember, where
from billing_lib.errors import ParameterError, Problem
from billing_lib.parameter_paths import check_not_a_folder, empty_file
from billing_lib.yaml_commas import check_comma_numbers

#: Largest parameters YAML file read (bytes): a customers.yaml of 10,000 customers is about 4 MB.
MAX_YAML_BYTES = 20_000_000
#: Most values (mappings, lists, scalars) a parameters file may hold with its aliases expanded:
#: ten times what 20 MB of plain YAML can hold, far below what an alias bomb expands to.
MAX_YAML_NODES = 5_000_000
#: Most levels of lists and mappings in a parameters file (they have about six): deeper YAML is
#: refused before Python builds it (libyaml reads any depth; the pure-Python parser recursed).
MAX_YAML_DEPTH = 100
#: libyaml's parser where PyYAML was built with it (its wheels are): the same documents, read
#: about three times faster than by the pure-Python parser (the 1M benchmark's parameters files:
#: 1.3 -> 0.4 s), which every run and every test that bills a month pays.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOO_DEEP = "the YAML is nested too deeply to read; flatten its lists and mappings"
#: How many parsed files are remembered (a run reads about a dozen).
PARSED_KEPT = 64
#: (path, digest of the bytes) -> the parsed contents, pickled: unpickling is a fresh copy about
#: fifty times faster than parsing, and no caller can change what another one reads.
_PARSED: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
_PARSED_LOCK = threading.Lock()


def read_yaml(path: Path) -> object:
    """The parsed contents of ``path``; a ParameterError naming the file when it is missing, too
    large, not valid YAML (with the line YAML reports) or expands to too many values. The same
    bytes at the same path are parsed once (``_PARSED``)."""
    if not path.exists():
        raise ParameterError(path, None, "file not found")
    check_not_a_folder(path)
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ParameterError(
            path,
            None,
            f"the file has {size:,} bytes; a parameters file may have at most {MAX_YAML_BYTES:,}. "
            "Is it the right file?",
        )
    raw = path.read_bytes()
    key = (str(path), digest_of(raw))
    with _PARSED_LOCK:
        kept = _PARSED.get(key)
        if kept is not None:
            _PARSED.move_to_end(key)
    if kept is None:
        kept = pickle.dumps(_parse(path, raw), protocol=pickle.HIGHEST_PROTOCOL)
        with _PARSED_LOCK:
            _PARSED[key] = kept
            while len(_PARSED) > PARSED_KEPT:
                _PARSED.popitem(last=False)
    remember(path, key[1])  # an error naming an entry of it names its line (entry_lines)
    return pickle.loads(kept)


def _parse(path: Path, raw: bytes) -> object:
    """``raw``, the bytes of ``path``, decoded as ``path.read_text(encoding="utf-8")`` decodes
    them (universal newlines) and parsed, with the checks of ``read_yaml``."""
    text = ""
    try:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expanded_size(path, node)
            check_comma_numbers(path, _nodes(node))  # before a cut number's key is judged
            _check_repeated_keys(path, node)
            _check_number_forms(path, loader, node)
            try:
                return loader.construct_document(node)
            except ValueError as exc:
                raise _no_day(path, loader, node, exc) from None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _tab(path, text, exc) or ParameterError(path, None, f"not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        # as a parameters CSV names it: the line and the byte (an editor's save in its code
        # page, "Architécten" in Windows-1252), not Python's position in bytes
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ParameterError(
            path,
            f"line {line}",
            f"expected UTF-8 text; found the byte 0x{raw[exc.start]:02x} (save the file as UTF-8)",
        ) from None
    except RecursionError:
        raise ParameterError(path, None, TOO_DEEP) from None


TAB = "\t"


def _tab(path: Path, text: str, error: yaml.YAMLError) -> ParameterError | None:
    """The error for YAML refused on a line a tab indents (an editor's tab key), named by line
    and column: YAML's own words name a "<unicode string>" and, depending on where the tab is,
    a character "that cannot start any token"; None for another error."""
    mark = getattr(error, "problem_mark", None)
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    indent = line[: len(line) - len(line.lstrip())]
    if mark is None or TAB not in indent:
        return None
    return ParameterError(
        path,
        f"line {mark.line + 1}, column {indent.index(TAB) + 1}",
        "a tab; YAML indents with spaces only: replace the tab with spaces",
    )


def _check_repeated_keys(path: Path, root: yaml.Node) -> None:
    """Refuse a mapping that gives one key twice: YAML keeps the last value and drops the first
    in silence (a second ``custom_lines:`` at the end of the file replaced every custom line
    before it; ``percent: 15, percent: 25`` priced at 25). Merge keys (``<<``) are not keys."""
    for node in _nodes(root):
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                line, name = key.start_mark.line + 1, (key.tag, key.value)
                if name in first:
                    where = (
                        "on this line" if first[name] == line else f"first on line {first[name]}"
                    )
                    raise ParameterError(
                        path,
                        f"line {line}",
                        f"the key {key.value!r} is given twice ({where}); YAML would keep only "
                        "the last value and drop the first without a word: give the key once",
                    )
                first[name] = line


#: YAML 1.1's number forms that read as another number than the digits written, with why: a
#: leading 0 (octal), 0x, 0b, and a colon (base 60: ``1:30`` is 90).
_OTHER_NUMBER_FORMS = (
    (re.compile(r"[-+]?0[0-7_]+"), "a leading 0 makes it an octal number"),
    (re.compile(r"[-+]?0x[0-9a-fA-F_]+"), "0x makes it a hexadecimal number"),
    (re.compile(r"[-+]?0b[01_]+"), "0b makes it a binary number"),
    (
        re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"),
        "a colon makes it a base-60 number (1:30 is 1 x 60 + 30)",
    ),
)
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _check_number_forms(path: Path, loader: Any, root: yaml.Node) -> None:
    """Refuse an unquoted number YAML 1.1 reads as another than written: ``amount: 075`` is the
    octal 61 and ``quantity: 1:30`` (an hour and a half) the base-60 90, so a minimum fee of
    75.00 billed 61.00 and 1.5 hours billed as 90, without a word. Nobody means those forms in a
    parameters file; quoted, the text is read as written."""
    for node in _nodes(root):
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _NUMBER_TAGS or node.style:
            continue
        why = next((w for form, w in _OTHER_NUMBER_FORMS if form.fullmatch(node.value)), None)
        if why is None:
            continue
        number = (
            loader.construct_yaml_int(node)
            if node.tag == _NUMBER_TAGS[0]
            else loader.construct_yaml_float(node)
        )
        raise ParameterError(
            path,
            f"line {node.start_mark.line + 1}",
            f"YAML reads {node.value} as the number {number} ({why}); write the number as you "
            "mean it, without a leading 0 or a colon (75, 1.5), or in quotes if it is text "
            f"('{node.value}')",
        )


#: YAML's tag of a value it reads as a date or time (``2026-10-31``, ``2026-10-31 12:00``).
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _no_day(path: Path, loader: Any, root: yaml.Node, error: ValueError) -> ParameterError:
    """Why ``root`` could not be built: the first value YAML takes for a date that is no day of
    the calendar (2026-10-32, 2026-02-29), named by its line, not Python's "day is out of range
    for month" naming neither file nor entry; a ParameterError naming the file otherwise."""
    for node in _nodes(root):
        if isinstance(node, yaml.ScalarNode) and node.tag == _TIMESTAMP:
            try:
                loader.construct_yaml_timestamp(node)
            except ValueError as exc:
                return ParameterError(
                    path,
                    f"line {node.start_mark.line + 1}",
                    f"{node.value!r} is not a date ({exc}); expected a date YYYY-MM-DD that is a "
                    "day of the calendar, e.g. 2026-10-31",
                )
    return ParameterError(path, None, f"a value of the file could not be read: {error}")


def _check_expanded_size(path: Path, root: yaml.Node) -> None:
    """Count the values of ``root`` with every alias expanded (each distinct node once, its size
    remembered), so an alias bomb is refused before anything is built from it."""
    sizes: dict[int, int] = {}
    aliases = 0
    # iterative post-order walk: deep files must not exhaust Python's stack here
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    open_nodes: set[int] = set()
    while stack:
        node, done, depth = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_YAML_NODES:
                raise ParameterError(
                    path,
                    None,
                    f"the YAML expands to more than {MAX_YAML_NODES:,} values through its aliases "
                    f"(*name refers to &name; {aliases:,} references counted so far). "
                    "Write the entries out or use fewer nested aliases",
                )
            continue
        if key in sizes:
            aliases += 1
            continue
        if key in open_nodes:
            raise ParameterError(
                path,
                None,
                f"line {node.start_mark.line + 1}: an alias refers to the entry that holds it; "
                "a parameters file cannot be recursive",
            )
        if depth > MAX_YAML_DEPTH:
            raise ParameterError(path, None, f"line {node.start_mark.line + 1}: {TOO_DEEP}")
        open_nodes.add(key)
        stack.append((node, True, depth))
        for child in children:
            if id(child) in sizes:
                aliases += 1
            else:
                stack.append((child, False, depth + 1))


def _nodes(root: yaml.Node) -> Iterator[yaml.Node]:
    """Every node of ``root`` once, in the file's order (an alias's node is not visited again:
    an alias bomb is walked in its size, not its expansion)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed(_children(node)))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


# -- validation problems ------------------------------------------------------------------------


class Strict(BaseModel):
    """Base of every parameters model: an unknown key is an error (a misspelt key must not be
    ignored in silence) and a loaded value does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: A date written as a number, or as digits in quotes: pydantic reads it as seconds since 1970.
_DIGITS = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")
#: A date with a time of day in text: ``2026-10-31T23:59:59``, ``2026-10-31 12:00``.
_DATE_TIME = re.compile(r"\s*\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}.*", re.IGNORECASE)


def _a_day(value: Any) -> Any:
    """A parameters file's date is a day (YAML's 2026-10-16, or that text): a number, or digits
    in quotes, was read as Unix time (``valid_from: 1760572800`` in force from 16 October 2025)
    or refused in pydantic's words ("Datetimes provided to dates should have zero time" for
    ``20261016``), naming no date; so was a time of day (``valid_to: 2026-10-31 23:59:59``, the
    day's end as a spreadsheet writes it: the date alone is the whole day, inclusive)."""
    digits = isinstance(value, str) and _DIGITS.fullmatch(value)
    if (isinstance(value, int | float) and not isinstance(value, bool)) or digits:
        raise ValueError("expected a date YYYY-MM-DD, e.g. 2026-10-01, not a number")
    timed = isinstance(value, datetime) and value.time() != time(0)
    if timed or (isinstance(value, str) and _DATE_TIME.fullmatch(value)):
        raise ValueError(
            "expected a date YYYY-MM-DD, e.g. 2026-10-31: a date here is a whole day (valid_to "
            "included), without a time of day"
        )
    return value


#: A date of a parameters file: a day YYYY-MM-DD, never a number read as Unix time.
Day = Annotated[date, BeforeValidator(_a_day)]


M = typing.TypeVar("M", bound=BaseModel)


def load_optional(path: Path, model: type[M]) -> M:
    """``model`` validated from the YAML file ``path``, or its defaults when there is no such
    file (settings files whose every key has a default)."""
    if not path.exists():
        return model()
    return validate(model, path, read_yaml(path) or {})


def validate(model: type[M], path: Path, data: object, row: int | None = None) -> M:
    """``model`` validated from ``data``; every problem in one ParameterError naming the entry
    (``row``: the spreadsheet row of a CSV file the data came from)."""
    if data is None and row is None:
        data = empty_file(path, model)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problem(path, exc, data, model, row) from exc


def pydantic_problem(
    path: Path,
    exc: ValidationError,
    data: object,
    model: type[BaseModel] | None = None,
    row: int | None = None,
) -> ParameterError:
    """A ParameterError of ``validation_problems``: the first in the usual ``file, entry ...:
    message`` form and each further one on its own line."""
    problems = validation_problems(path, exc, data, model, row)
    entry, message = _entry(problems[0]), problems[0].expected
    if len(problems) > 1:
        message += f"\n  ({len(problems)} problems in this file; the others:)"
        message += "".join(f"\n  - {where(path, _entry(p))}: {p.expected}" for p in problems[1:])
    return ParameterError(path, entry, message, problems)


def validation_problems(
    path: Path,
    exc: ValidationError,
    data: object,
    model: type[BaseModel] | None = None,
    row: int | None = None,
) -> list[Problem]:
    """One Problem per pydantic error, as the importers report bad values: the entry as the
    column (list items named by their id where they have one), what is wrong and the value found.
    An unknown key names the known key it most likely means (``model`` given); unknown keys come
    first, as a misspelt key is why the key it means is reported missing."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    found = [_problem(str(path), row, err, data, model) for err in errors]
    return found if row is not None else [_with_line(p) for p in found]


def _with_line(problem: Problem) -> Problem:
    """``problem`` with the line its entry is written on in its YAML file, where known."""
    at = places(problem.file, problem.column)
    return dataclasses.replace(problem, line=at[0].line) if at else problem


def _entry(problem: Problem) -> str:
    if problem.row is None:
        return problem.column or "(top level)"
    return f"row {problem.row}, column {problem.column}"


#: Each text pattern of the parameters models (``Field(pattern=...)``) in words: what a value
#: refused by it should look like, instead of the pattern itself.
PATTERN_WORDS = {
    r"^[A-Z]{2}$": "a two-letter country code in capitals (ISO 3166), e.g. NL",
    r"^[A-Z]{3}$": "a three-letter currency code in capitals (ISO 4217), e.g. EUR",
    r"^[A-Z]{1,8}$": "1 to 8 capital letters, e.g. NW",
    r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$": "a BIC of 8 or 11 capitals and digits, e.g. ABNANL2A",
    r"^\d{4}:[^\s:]{1,100}$": "an electronic address '<EAS scheme>:<id>', e.g. 0106:12345678",
    r"^VATEX-[A-Z0-9-]+$": "a VAT exemption reason code, e.g. VATEX-EU-IC",
    r"^(%d/%m/%Y|%m/%d/%Y)$": "%d/%m/%Y or %m/%d/%Y",
    r"\S": "a text that is not blank, e.g. Core or TiB used",
    r"^(19\d\d|2\d\d\d)-(0[1-9]|1[0-2])$": "a month YYYY-MM, e.g. 2026-10",
}


#: pydantic's error types of a value that is not of its key's kind -> what such a value looks
#: like in a parameters file (instead of "Input should be a valid decimal").
KIND_WORDS = {
    "decimal_parsing": "a decimal number written with a point, e.g. 95.00",
    "decimal_type": "a decimal number written with a point, e.g. 95.00",
    "int_parsing": "a whole number, e.g. 30",
    "int_from_float": "a whole number, e.g. 30",
    "date_from_datetime_parsing": "a date YYYY-MM-DD, e.g. 2026-10-01",
    "date_parsing": "a date YYYY-MM-DD, e.g. 2026-10-01",
    "bool_parsing": "true or false",
}


def _problem(
    file: str, row: int | None, err: Any, data: object, model: type[BaseModel] | None
) -> Problem:
    loc = tuple(err["loc"])
    entry = entry_name(loc, data)
    if err["type"] == "extra_forbidden" and loc:
        key = str(loc[-1])
        known = sorted(known_keys(model, loc[:-1], data)) if model is not None else []
        guess = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if guess:
            return Problem(
                file, row, entry, key, f"unknown key {key!r}; did you mean {guess[0]!r}?"
            )
        listed = f"; expected one of {', '.join(known)}" if known else ""
        return Problem(file, row, entry, key, f"unknown key {key!r}{listed}")
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "string_pattern_mismatch" and err["ctx"]["pattern"] in PATTERN_WORDS:
        message = f"expected {PATTERN_WORDS[err['ctx']['pattern']]}"
    elif err["type"] in KIND_WORDS:
        message = f"expected {KIND_WORDS[err['type']]}"
    elif err["type"] == "string_type" and err.get("input") is None:
        return Problem(file, row, entry, None, f"expected a value; the {_empty(row)} is empty")
    elif err["type"] == "string_type" and isinstance(err.get("input"), bool | int | float):
        quote = "put the text in quotes, as in country: 'NO' or vat_account: '1500'"
        message = f"expected text; {_yaml_reads(err['input'])}: {quote}"
    shown = err.get("input")
    if isinstance(shown, date):  # as the file has it, not Python's datetime.datetime(...)
        shown = shown.isoformat(" ") if isinstance(shown, datetime) else shown.isoformat()
        got = f"; got {shown}"
    else:
        got = "" if isinstance(shown, dict | list) else f"; got {shown!r}"
    value = None if isinstance(shown, dict | list) else str(shown)
    return Problem(file, row, entry, value, f"{message}{got}")


def _empty(row: int | None) -> str:
    """What an empty value is: a CSV file's cell, or a YAML file's entry (``name:`` alone)."""
    return "entry" if row is None else "cell"


def _yaml_reads(value: bool | int | float) -> str:
    """Why a text key got ``value``: YAML 1.1 reads an unquoted ``NO`` (Norway), ``off`` or
    ``yes`` as a boolean and digits as a number, so the text written is not what arrived."""
    if value is False:
        return "YAML reads an unquoted no, off or false (in any case: NO, Off) as false"
    if value is True:
        return "YAML reads an unquoted yes, on or true (in any case: YES, On) as true"
    return "YAML reads an unquoted number as a number"


def entry_name(loc: tuple, data: object) -> str:
    """``plans[id=std].rules[id=aws].percent`` for a pydantic location, naming list items by id."""
    parts: list[str] = []
    node: Any = data
    for p in loc:
        if isinstance(p, int) and isinstance(node, list) and p < len(node) and parts:
            node = node[p]
            ident = node.get("id") if isinstance(node, dict) else None
            parts[-1] += f"[id={ident}]" if ident is not None else f"[{p}]"
        elif isinstance(node, dict) and p in node:
            node = node[p]
            parts.append(str(p))
        elif isinstance(node, dict) and p == node.get("kind"):
            continue  # the discriminator's tag in a union location
        else:
            parts.append(str(p))
            node = None
    return ".".join(parts) or "(top level)"


def known_keys(model: type[BaseModel], loc: tuple, data: object) -> set[str]:
    """The keys the models at ``loc`` (a pydantic location without the unknown key) accept: the
    type annotations are followed through lists, dicts, optionals and unions (a union's tag in
    the location picks its members)."""
    types_here: list[Any] = [model]
    for part in loc:
        types_here = [inner for t in _flat(types_here) for inner in _types_at(t, part)]
    keys: set[str] = set()
    for t in _flat(types_here):
        if isinstance(t, type) and issubclass(t, BaseModel):
            for name, info in t.model_fields.items():
                keys.add(info.alias or name)
    return keys


def _types_at(t: Any, part: str | int) -> list[Any]:
    """The types one step ``part`` (a field, a list index, a dict key, a union's tag) into ``t``
    leads to."""
    if isinstance(t, type) and issubclass(t, BaseModel):
        if isinstance(part, str) and part in t.model_fields:
            return [t.model_fields[part].annotation]
        return [t] if isinstance(part, str) and _has_tag(t, part) else []
    origin = typing.get_origin(t)
    if origin in (list, tuple, set, frozenset) and isinstance(part, int):
        return [a for a in typing.get_args(t) if a is not Ellipsis]
    if origin is dict and isinstance(part, str):
        return [typing.get_args(t)[1]]
    return []


def _has_tag(model: type[BaseModel], tag: str) -> bool:
    field = model.model_fields.get("kind")
    return field is not None and tag in typing.get_args(field.annotation)


def _flat(candidates: list[Any]) -> list[Any]:
    """Annotated, Optional and Union types unwrapped to their members."""
    out: list[Any] = []
    todo = list(candidates)
    while todo:
        t = todo.pop()
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            todo.append(typing.get_args(t)[0])
        elif origin is typing.Union or origin is types.UnionType:
            todo.extend(typing.get_args(t))
        else:
            out.append(t)
    return out
