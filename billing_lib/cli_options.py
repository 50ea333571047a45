"""The options several ``billing`` commands share and how their values are checked: the
outputs folder, ``--wait SECONDS``, customer ids, and options taken only as written in full."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any


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


def wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        default=0,
        type=seconds,
        metavar="SECONDS",
        help="when another run holds the outputs folder, wait up to SECONDS for it (default: "
        "refuse at once)",
    )


class WholeOptions(argparse.ArgumentParser):
    """A parser (and, as their class, its subcommands') that takes options only as written in
    full: argparse took the start of one for the option (``--f`` for ``--finalise``), so a typo
    of `billing run` finalised the month."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
