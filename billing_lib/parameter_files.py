"""Reading the YAML files in ``parameters/``: one way to open them and one way to word a validation
problem, so every parameters error names the file and the entry the same way."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from billing_lib.errors import ParameterError


def read_yaml(path: Path) -> object:
    """The parsed contents of ``path``; a ParameterError naming the file when it is missing or
    not valid YAML (with the line YAML reports)."""
    if not path.exists():
        raise ParameterError(path, None, "file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(path, None, f"not valid YAML: {exc}") from exc


def pydantic_problem(path: Path, exc: ValidationError, data: object) -> ParameterError:
    """A ParameterError naming the entry (by its id where it has one) and the field."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    entry = ".".join(str(p) for p in loc)
    node = data
    try:
        for p in loc[:2]:
            node = node[p]  # type: ignore[index]
        if isinstance(node, dict) and "id" in node:
            entry = f"{loc[0]}[id={node['id']}]" + (
                "." + ".".join(str(p) for p in loc[2:]) if loc[2:] else ""
            )
    except (KeyError, IndexError, TypeError):
        pass
    more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
    return ParameterError(path, entry, f"{err['msg']}; got {err.get('input')!r}{more}")
