"""A vendor line that the run of another month billed already is refused (billing_lib.billed_lines):
an export whose date range ends on 1 November inclusive holds the first day of November, which
October's run bills (with a warning, charged outside the period); November's export holds that
day again, and November's run billed it a second time without a word. FOCUS exports carry no
vendor invoice id to tell them by, and neither file was billed before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from billing_lib import run
from billing_lib.errors import InputError
from tests.notebook_project import REPO

HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargePeriodStart,"
    "ChargePeriodEnd,ServiceName,BilledCost,BillingCurrency"
)


def _export(folder: Path, month: str, days: list[str]) -> Path:
    """An AWS FOCUS export of Dijkstra's account (C001) with a line of 10.00 USD per day of
    ``days`` (YYYY-MM-DD)."""
    folder.mkdir()
    rows = [
        f"111122223333,402719385610,AWS,Usage,{d}T00:00:00Z,{d}T23:00:00Z,"
        "Amazon Elastic Compute Cloud,10.00,USD"
        for d in days
    ]
    path = folder / f"focus-{month}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return folder


def test_a_line_the_run_of_another_month_billed_is_refused_not_billed_twice(tmp_path):
    params = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-11-30,ECB 2026-10-31\n")
    out = tmp_path / "out"
    october = _export(
        tmp_path / "r10", "2026-10", [f"2026-10-{d:02d}" for d in (1, 2, 3)] + ["2026-11-01"]
    )
    run.run_all("2026-10", october, params, out)
    november = _export(tmp_path / "r11", "2026-11", ["2026-11-01", "2026-11-02", "2026-11-03"])
    with pytest.raises(InputError) as err:
        run.run_all("2026-11", november, params, out)
    text = str(err.value)
    assert text.startswith(
        "the reports of 2026-11 hold 1 vendor line(s) that the run of 2026-10 billed already"
    ), text
    assert (
        f"  - focus-2026-11.csv, row 2, column 'ChargePeriodStart': found 'a line charged "
        f"2026-11-01 that the run of 2026-10 ({out / '2026-10'}) billed already from "
        "focus-2026-10.csv, row 5'; expected a line billed in one month only (1 line(s) shared)"
    ) in text.splitlines(), text
    assert not (out / "2026-11").exists()
    # exported without the day October billed, November is billed; October's own rerun is too
    shutil.rmtree(november)
    november = _export(tmp_path / "r11", "2026-11", ["2026-11-02", "2026-11-03"])
    run.run_all("2026-11", november, params, out)
    run.run_all("2026-10", october, params, out)
