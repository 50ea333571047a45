"""A parameters file that holds no parameters: a folder of the file's name (an unzipped download,
a copy gone wrong), which stopped a run with Python's own ``IsADirectoryError`` (an optional
file, review.yaml, was taken as absent and its settings as the defaults, without a word); or an
empty YAML file, named in pydantic's words; or a parameters file misspelt (``custom_lines.yml``)
while the name the run reads is missing, which would be left unread without a word."""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import BaseModel

from billing_lib.errors import ParameterError


def check_not_a_folder(path: Path) -> None:
    """ParameterError naming ``path`` when it is a folder."""
    if path.is_dir():
        raise ParameterError(
            path,
            None,
            "a folder, not a file; expected the parameters file of that name (a folder is not "
            "read): move what the folder holds elsewhere and put the file in its place",
        )


def empty_file(path: Path, model: type[BaseModel]) -> dict:
    """What an empty YAML file (or one of comments only) holds for ``model``: nothing, which a
    model whose every key has a default takes as its defaults; a ParameterError naming the keys
    the file must have otherwise (pydantic's words were 'Input should be a valid dictionary or
    instance of CustomersFile; got None')."""
    keys = [name for name, field in model.model_fields.items() if field.is_required()]
    if not keys:
        return {}
    raise ParameterError(
        path,
        None,
        "the file is empty (or holds only comments); expected "
        + ", ".join(f"{k}:" for k in keys)
        + " with its entries (the example in the project's parameters/ folder shows them)",
    )


def misnamed_file(folder: Path, names: tuple[str, ...]) -> None:
    """ParameterError for a file of ``folder`` that is one of ``names`` misspelt while that name
    is missing: ``custom_lines.yml``, ``Custom_Lines.yaml``, ``custom-lines.yaml``,
    ``custom_lines.yaml.txt`` (Windows hides the ending). An optional file of another name is
    not read, so its fees or settings would be left out in silence; the name is not guessed."""
    present = {p.name for p in Path(folder).iterdir() if p.is_file()}
    for name in names:
        if name in present:
            continue
        for other in sorted(present - set(names)):
            if _near(other, name):
                raise ParameterError(
                    Path(folder) / other,
                    None,
                    f"the run reads {name}, which is missing, and not this file: rename it to "
                    f"{name} (a parameters file of another name is not read)",
                )


def _near(found: str, name: str) -> bool:
    """Whether the file name ``found`` is ``name`` misspelt (case, ``.yml``, a character or two,
    an ending added)."""
    lower = found.lower().replace(".yml", ".yaml")
    if lower == name or lower.startswith(f"{name}."):
        return True
    return difflib.SequenceMatcher(None, lower, name).ratio() >= NEAR_NAME


#: How alike a file name must be to a parameters file's name to be taken for it misspelt
#: (``difflib`` ratio: custom-lines.yaml 0.94, price_plan.yaml 0.97, products_old.yaml 0.87;
#: the known names are never taken for each other, customers.yaml and custom_lines.yaml 0.84).
NEAR_NAME = 0.85
