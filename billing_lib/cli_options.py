"""The options several ``billing`` commands share and how their values are checked: the
outputs folder, ``--wait SECONDS``, customer ids, run ids, paths given as ``~/...``, options taken
only as written in full and the arguments no option of a command takes."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, NoReturn


def output_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--output``, the outputs folder (default ``outputs``), as ``help_text`` describes it."""
    parser.add_argument("--output", default=Path("outputs"), type=Path, help=help_text)


def seconds(text: str) -> float:
    """``--wait``'s value: a number of seconds, 0 or more (``-5``, ``nan`` and ``inf`` were
    taken, a negative one as 0)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more; got {text!r}")
    return seconds


def customer_ids(text: str) -> str:
    """``--confirm-jump``'s value: one customer id or several, comma-separated (an empty value
    confirmed nothing in silence). Whether each names a jump the run finds, the run checks
    (``review.month_jumps``)."""
    if not any(v.strip() for v in text.split(",")):
        raise argparse.ArgumentTypeError(
            f"expected customer ids, e.g. C001 or C001,C002; got {text!r}"
        )
    return text


def invoice_number(text: str) -> str:
    """``--invoice``'s value: one invoice number, without the spaces a copied cell brings
    (``'NW2026-000004 '`` was unknown, "did you mean NW2026-000004?"). Several in one value
    (``A,B``, as ``--confirm-jump`` takes them) were looked up as one unknown number."""
    number = text.strip()
    if not number or any(c == "," or c.isspace() for c in number):
        raise argparse.ArgumentTypeError(
            f"expected one invoice number, e.g. NW2026-000002 (give --invoice again for each "
            f"more); got {text!r}"
        )
    return number


def run_id(text: str) -> str:
    """``billing finalise --run``'s value: a run's id. An empty one (``--run "$RUN_ID"`` with the
    variable unset) was taken as no ``--run``, and the run published finalised unchecked."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"expected the id of the run reviewed (billing run prints it); got {text!r}"
        )
    return text


def wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        default=0,
        type=seconds,
        metavar="SECONDS",
        help="when another run holds the outputs folder, wait up to SECONDS for it (default: "
        "refuse at once)",
    )


def home_path(text: str) -> Path:
    """A path option's value (every ``type=Path`` of a ``WholeOptions`` parser), a leading ``~``
    the home folder: the shell expands none after ``=`` (``--reports=~/x``), in quotes or from a
    scheduler's settings, and ``~/x`` was a folder named "~" in the working directory."""
    return Path(text).expanduser()


class WholeOptions(argparse.ArgumentParser):
    """A parser (and, as their class, its subcommands') that takes options only as written in
    full: argparse took the start of one for the option (``--f`` for ``--finalise``), so a typo
    of `billing run` finalised the month. Its ``type=Path`` options read ``~`` (``home_path``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        # argparse converts a value by the function registered for its type, if any: so every
        # option and argument declared ``type=Path``, of every command, expands ``~``
        self.register("type", Path, home_path)


def refuse_unknown(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]
) -> NoReturn:
    """Exit 2 for the arguments in ``extra`` no option of the command takes, from the command's
    own parser (its usage, "billing run: error: ..."), with the option meant where one is spelt
    alike (``--finalize``: ``--finalise``). argparse refused them from the top parser, under a
    usage that lists the commands, not the options of the one typed."""
    import difflib

    command = _command_parser(parser, args)
    known = [o for a in command._actions for o in a.option_strings]
    options = [e.split("=", 1)[0] for e in extra if e.startswith("-")]
    meant = [m for o in options for m in difflib.get_close_matches(o, known, n=1, cutoff=0.7)]
    hint = f" (did you mean {', '.join(meant)}?)" if meant else ""
    command.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def refuse_repeated(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]
) -> None:
    """Exit 2, from the command's own parser, when an option taking one value is given twice with
    different values (``--period 2026-10 ... --period=2026-11``): argparse kept the last in
    silence, and the month billed was not the one read first. The same value twice is taken.
    Options meant to be repeated (``--invoice``, ``--confirm-jump``) append, and are not
    checked."""
    command = _command_parser(parser, args)
    single = {
        o: a
        for a in command._actions
        if isinstance(a, argparse._StoreAction) and a.nargs is None
        for o in a.option_strings
    }
    given: dict[str, list[str]] = {}
    tokens = argv[: argv.index("--")] if "--" in argv else argv
    for i, token in enumerate(tokens):
        option, equals, value = token.partition("=")
        if option not in single:
            continue
        if not equals:
            if i + 1 >= len(tokens):
                continue
            value = tokens[i + 1]
        values = given.setdefault(single[option].dest, [])
        if values and value != values[0]:
            command.error(
                f"argument {option}: given twice, as {values[0]!r} and {value!r}; give it once"
            )
        values.append(value)


def check_apart_from_records(path: Path, output: Path, command: str, option: str) -> None:
    """ParameterError when the file ``path`` an option names for writing is the invoice register
    (or a file beside it of its name) or in a folder of the outputs folder ``output`` (a run
    folder, corrections/): ``--csv outputs/invoice_register.sqlite`` replaced the register with
    the CSV, and a file of a finalised run folder was rewritten. A file at the top of the outputs
    folder is taken."""
    from billing_lib.errors import ParameterError
    from billing_lib.run_files import REGISTER

    target, folder = Path(path).resolve(), Path(output).resolve()
    register = target.parent == folder and target.name.startswith(REGISTER)
    if register or (target.is_relative_to(folder) and target.parent != folder):
        what = "the invoice register" if register else "in a folder of the outputs folder"
        example = Path(output) / ("register.csv" if option == "--csv" else "sync.diff")
        raise ParameterError(
            command,
            option,
            f"{path}: {what}, whose files are the runs' records; give a file outside the run "
            f"folders, e.g. {example}",
        )


def check_folder_exists(path: Path, example: Path, command: str, option: str) -> None:
    """ParameterError when the folder of the file ``path`` an option names for writing is not
    there, or is a file (``example``: a file to give instead, for the message): its folders were
    made without a word, a tree of them for one mistyped folder (``--csv
    exprots/2026/register.csv``). Nothing is created, as a command that reads the outputs folder
    creates none (``billing register list``, ``credit-note``, ``reissue``)."""
    from billing_lib.errors import ParameterError

    folder = Path(path).parent
    if folder.is_dir():
        return
    what = f"{folder} is a file, not a folder" if folder.exists() else f"no such folder {folder}"
    raise ParameterError(
        command,
        option,
        f"{path}: {what}; expected a file in a folder that exists (nothing is created), e.g. "
        f"{example}",
    )


def _command_parser(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` were parsed for: ``billing register list``'s."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = getattr(args, action.dest, None)
            if chosen in action.choices:
                return _command_parser(action.choices[chosen], args)
    return parser
