"""A vendor line that the run of another month billed already is refused (billing_lib.billed_lines):
an export whose date range ends on 1 November inclusive holds the first day of November, which
October's run bills (with a warning, charged outside the period); November's export holds that
day again, and November's run billed it a second time without a word. FOCUS exports carry no
vendor invoice id to tell them by, and neither file was billed before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing_lib import run
from billing_lib.errors import InputError
from tests.notebook_project import REPO

HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargePeriodStart,"
    "ChargePeriodEnd,ServiceName,BilledCost,BillingCurrency"
)


def _export(folder: Path, month: str, days: list[str], costs: dict[str, str] | None = None) -> Path:
    """An AWS FOCUS export of Dijkstra's account (C001) with a line of 10.00 USD per day of
    ``days`` (YYYY-MM-DD), or of the cost ``costs`` gives the day."""
    folder.mkdir()
    rows = [
        f"111122223333,402719385610,AWS,Usage,{d}T00:00:00Z,{d}T23:00:00Z,"
        f"Amazon Elastic Compute Cloud,{(costs or {}).get(d, '10.00')},USD"
        for d in days
    ]
    path = folder / f"focus-{month}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return folder


SPLIT = "day billed by two runs"


def _review(folder: Path, check: str) -> list[dict]:
    """The findings of ``check`` in the review of the run published in ``folder``."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return [f for f in manifest["review"] if f["check"] == check]


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
    # and with no day billed by both, nothing for the review either
    assert _review(run.run_all("2026-11", november, params, out), SPLIT) == []
    assert _review(run.run_all("2026-10", october, params, out), SPLIT) == []


def test_a_day_billed_in_part_by_another_month_is_listed_in_the_review(tmp_path):
    """October's export ran to 1 November inclusive and held that day in part (4.00), which
    October billed; November's export holds the whole day (10.00), and November billed it with
    no refusal (the lines differ: two values of one day may be two real charges) and nothing in
    its review: 4.00 billed twice. Not refused, listed: billed in either order, the second run's
    review names the day, the account, both amounts and both reports."""
    params = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-11-30,ECB 2026-10-31\n")
    october = _export(
        tmp_path / "r10",
        "2026-10",
        [f"2026-10-{d:02d}" for d in (1, 2, 3)] + ["2026-11-01"],
        {"2026-11-01": "4.00"},
    )
    november = _export(tmp_path / "r11", "2026-11", ["2026-11-01", "2026-11-02", "2026-11-03"])
    for first, second in [("2026-10", "2026-11"), ("2026-11", "2026-10")]:
        out = tmp_path / f"out-{first}"
        reports = {"2026-10": october, "2026-11": november}
        assert _review(run.run_all(first, reports[first], params, out), SPLIT) == []
        [finding] = _review(run.run_all(second, reports[second], params, out), SPLIT)
        billed, bills = ("4.00", "10.00") if first == "2026-10" else ("10.00", "4.00")
        row = 2 if second == "2026-11" else 5
        assert finding == {
            "check": SPLIT,
            "subject": "aws 402719385610",
            "finding": (
                f"2026-11-01: the run of {first} ({out / first}) billed USD {billed} of this "
                f"day already (focus-{first}.csv); this run bills USD {bills} of it: a day split "
                "between two reports may be billed twice. If both reports hold the same charges, "
                "export each month from its 1st to its last day and bill again the month that "
                "is not finalised, or give the part billed twice back with a custom line"
            ),
            "lines": [f"focus-{second}.csv row {row}"],
        }, finding


CUR = REPO / "samples" / "2026-10" / "reports" / "aws-cur2-northwind-2026-10-00001.snappy.parquet"


def _cur(folder: Path, month: str, rows: list[dict]) -> Path:
    """An AWS CUR 2.0 of ``rows`` (the sample's columns) in ``folder``."""
    folder.mkdir()
    table = pq.read_table(CUR)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), folder / f"cur-{month}.parquet")
    return folder


def _a_month_later(row: dict) -> dict:
    """``row`` of October as the same usage in November: its days, interval, line id and
    invoice moved."""
    start, end = row["line_item_usage_start_date"], row["line_item_usage_end_date"]
    return row | {
        "identity_line_item_id": "nov" + row["identity_line_item_id"][3:],
        "identity_time_interval": row["identity_time_interval"].replace("2026-10", "2026-11"),
        "line_item_usage_start_date": start.replace(month=11),
        "line_item_usage_end_date": end.replace(month=11),
        "bill_billing_period_start_date": row["bill_billing_period_start_date"].replace(month=11),
        "bill_billing_period_end_date": row["bill_billing_period_end_date"].replace(month=12),
        "bill_invoice_id": "EUINNL26-3141592",
    }


def test_a_line_another_month_billed_restated_with_other_amounts_is_refused(tmp_path):
    """A vendor line keeps its line id (AWS's identity_line_item_id and its interval) when AWS
    restates its amounts: October billed it at 5.52, November's report holds it again at 6.07,
    and November billed it a second time in full (only 'charged outside 2026-11' among the
    warnings), since the lines were compared by their amounts too. Inside one run the same line
    id and interval with another cost is refused as a repeat; across months it is now too."""
    params = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-11-30,ECB 2026-10-31\n")
    out = tmp_path / "out"
    rows = [
        r
        for r in pq.read_table(CUR).to_pylist()
        if r["line_item_usage_account_id"] == "402719385610"
        and r["line_item_line_item_type"] == "Usage"
        and r["line_item_usage_start_date"].day <= 3
    ]
    run.run_all("2026-10", _cur(tmp_path / "r10", "2026-10", rows), params, out)
    # on November's bill (its billing period November's, as every line of November's report):
    # a line of another month's bill is refused by the import itself (test_import_two_months)
    billing_period = {k: v for k, v in _a_month_later(rows[0]).items() if k.startswith("bill_")}
    restated = rows[0] | billing_period | {"line_item_unblended_cost": 6.072}
    november = _cur(tmp_path / "r11", "2026-11", [*map(_a_month_later, rows), restated])
    with pytest.raises(InputError) as err:
        run.run_all("2026-11", november, params, out)
    text = str(err.value)
    assert text.startswith(
        "the reports of 2026-11 hold 1 vendor line(s) that the run of 2026-10 billed already"
    ), text
    [problem] = err.value.problems
    assert (problem.file, problem.row) == ("cur-2026-11.parquet", len(rows) + 1)
    assert problem.value == (
        f"a line charged 2026-10-01 that the run of 2026-10 ({out / '2026-10'}) billed already "
        "from cur-2026-10.parquet, row 1, with other values (the same line id: restated?)"
    )
    assert not (out / "2026-11").exists()
    # without it November is billed
    shutil.rmtree(november)
    run.run_all("2026-11", _cur(november, "2026-11", [*map(_a_month_later, rows)]), params, out)
