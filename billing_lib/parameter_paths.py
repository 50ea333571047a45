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


#: Files that make a folder a parameters folder (what a run reads first).
PARAMETERS_MARKS = ("customers.yaml", "price_plans.yaml", "accounts.csv")


def check_parameters_folder(folder: Path, where: str, entry: str) -> None:
    """ParameterError (``where``, ``entry``: the command and its option, or the notebook's
    parameters) when ``folder`` does not exist, or holds vendor reports and no parameters file:
    the reports folder given for the parameters stopped a run in its notebook at
    "customers.yaml: file not found", naming no option, and ``billing import`` took it as a
    parameters folder without accounts.csv: no account mapped and none listed, exit 0."""
    from billing_lib.importers.report_names import reports_among

    folder = Path(folder)
    if folder.is_file():  # a parameters file given for its folder
        holding = any((folder.parent / mark).is_file() for mark in PARAMETERS_MARKS)
        raise ParameterError(
            where,
            entry,
            f"{folder}: a file, not a folder; expected the parameters folder (holding "
            f"{', '.join(PARAMETERS_MARKS)})" + (f": {folder.parent}?" if holding else ""),
        )
    if not folder.is_dir():
        raise ParameterError(where, entry, f"{folder}: no such parameters folder")
    if any((folder / mark).is_file() for mark in PARAMETERS_MARKS) or any(
        p.suffix.lower() in (".yaml", ".yml") for p in folder.iterdir()
    ):
        return  # (a folder of vendor_prices.yaml beside the reports it prices is one)
    # a workbook there is no sign of the reports folder (a price list kept beside the
    # parameters stopped the run as "a spreadsheet workbook among the reports")
    reports = [p.name for p in reports_among(folder)]
    if reports:
        shown = ", ".join(reports[:3]) + (", ..." if len(reports) > 3 else "")
        raise ParameterError(
            where,
            entry,
            f"{folder}: holds vendor reports ({shown}) and no parameters file "
            f"({', '.join(PARAMETERS_MARKS)}): is it the reports folder? Give the parameters "
            "folder",
        )


def check_files_present(
    folder: Path, reads: tuple[str, ...], needed: tuple[str, ...], who: str = "a run"
) -> None:
    """ParameterError naming ``folder`` when it holds none of the files ``who`` (a run, a
    command) ``reads``, or lacks some of those it ``needed`` (the rest have defaults): an empty
    or wrong folder stopped a run at "customers.yaml: file not found", and each missing file was
    named only once the one before it was put back."""
    folder = Path(folder)
    missing = [name for name in needed if not (folder / name).exists()]
    if not missing:
        return
    if not any((folder / name).exists() for name in reads):
        optional = ", ".join(name for name in reads if name not in needed)
        raise ParameterError(
            folder,
            None,
            f"holds none of the parameters files {who} reads; expected {', '.join(needed)} "
            f"(and, if used, {optional}): is it the parameters folder? The project's "
            "parameters/ folder has an example of each",
        )
    named = ", ".join(missing[:-1]) + " and " + missing[-1] if missing[1:] else missing[0]
    raise ParameterError(
        folder,
        None,
        f"{named} missing; {who} needs each of {', '.join(needed)} (the project's parameters/ "
        "folder has an example of each)",
    )
