"""A parameters file that holds no parameters: a folder of the file's name (an unzipped download,
a copy gone wrong), which stopped a run with Python's own ``IsADirectoryError`` (an optional
file, review.yaml, was taken as absent and its settings as the defaults, without a word); or an
empty YAML file, named in pydantic's words."""

from __future__ import annotations

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
