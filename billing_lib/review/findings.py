"""A finding of the review, how its amounts and lines read, and the review's thresholds
(``parameters/review.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import duckdb
import pandas as pd
from pydantic import Field

from billing_lib.money import round_money
from billing_lib.parameter_files import Strict, load_optional
from billing_lib.periods import PERIOD_PATTERN

REVIEW_FILE = "review.yaml"
#: A month of ``commitments_checked`` (YYYY-MM).
MONTH = PERIOD_PATTERN.pattern


#: Source rows shown per finding; the rest are counted.
LINES_SHOWN = 5


class ReviewSettings(Strict):
    """Thresholds of the review (``parameters/review.yaml``; every key optional)."""

    net_change_percent: Decimal = Field(
        Decimal(25),
        gt=0,
        description=(
            "list customers whose net moved more than this % vs the previous finalised month"
        ),
    )
    jump_factor: Decimal = Field(
        Decimal(10),
        gt=1,
        description="a net this many times larger or smaller stops the run unless confirmed",
    )
    min_margin_percent: Decimal = Field(
        Decimal(5), description="list customers whose margin is below this % of their revenue"
    )
    fx_change_percent: Decimal = Field(
        Decimal(5),
        gt=0,
        description=(
            "list exchange rates of the month that moved more than this % from the rate before"
        ),
    )
    commitments_checked: tuple[Annotated[str, Field(pattern=MONTH)], ...] = Field(
        (),
        description=(
            "months (YYYY-MM) whose runs were published before run manifests listed the "
            "commitments billed, checked to bill none of this run's in the other view "
            "(billed_commitments)"
        ),
    )


def load_review_settings(parameters: Path) -> ReviewSettings:
    """``parameters/review.yaml`` validated, or the defaults when the file is absent."""
    return load_optional(Path(parameters) / REVIEW_FILE, ReviewSettings)


@dataclass(frozen=True)
class Finding:
    """One thing to look at: which check found it, about whom or what, and the lines behind it."""

    check: str
    subject: str
    finding: str
    lines: tuple[str, ...] = field(default_factory=tuple)

    def as_row(self) -> dict[str, str]:
        shown = list(self.lines[:LINES_SHOWN])
        if len(self.lines) > LINES_SHOWN:
            shown.append(f"... and {len(self.lines) - LINES_SHOWN} more")
        return {
            "check": self.check,
            "subject": self.subject,
            "finding": self.finding,
            "lines": "; ".join(shown),
        }


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """The findings as the notebook shows them (one row each, at most five lines behind each)."""
    return pd.DataFrame(
        [f.as_row() for f in findings], columns=["check", "subject", "finding", "lines"]
    )


def source_lines(
    con: duckdb.DuckDBPyConnection, where: str, params: list | None = None
) -> tuple[str, ...]:
    rows = con.execute(
        f"""SELECT source_file, source_row FROM rated_lines WHERE {where}
            ORDER BY source_file, source_row""",
        params or [],
    ).fetchall()
    return tuple(f"{file_name(f)} row {r}" for f, r in rows)


def file_name(path: str | None) -> str:
    return Path(path).name if path else "-"


def money_text(amount: Decimal, currency: str) -> str:
    """``amount`` with its currency, as every amount of a finding reads: ``EUR 75.00``."""
    return f"{currency} {shown_text(amount, currency)}"


def shown_text(amount: Decimal, currency: str) -> str:
    """``amount`` in the decimals of ``currency`` (the rated figures are exact: 12 places)."""
    return str(round_money(Decimal(amount), currency))
