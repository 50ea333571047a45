"""A vendor line that the run of another month billed already is refused (billing_lib.billed_lines):
an export whose date range ends on 1 November inclusive holds the first day of November, which
October's run bills (with a warning, charged outside the period); November's export holds that
day again, and November's run billed it a second time without a word. FOCUS exports carry no
vendor invoice id to tell them by, and neither file was billed before."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing_lib import run
from billing_lib.corrections import issue_credit_note
from billing_lib.errors import InputError, Problem
from billing_lib.reissue import reissue_invoice
from tests.notebook_project import REPO
from tests.test_reissue import (
    CREDITED,
    ORIGINAL,
    REISSUED,
    REPORTS,
    assert_nothing_reissued,
    corrected_parameters,
    register_rows,
)

HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargePeriodStart,"
    "ChargePeriodEnd,ServiceName,BilledCost,BillingCurrency"
)


def _parameters_with_november(tmp_path: Path) -> Path:
    """A copy of the sample parameters with November's USD->EUR rate, so both months bill."""
    params = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-11-30,ECB 2026-10-31\n")
    return params


def _first_days_of_one_account() -> list[dict]:
    """The sample CUR's Usage lines of one account on 1-3 October."""
    return [
        r
        for r in pq.read_table(CUR).to_pylist()
        if r["line_item_usage_account_id"] == "402719385610"
        and r["line_item_line_item_type"] == "Usage"
        and r["line_item_usage_start_date"].day <= 3
    ]


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
    params = _parameters_with_november(tmp_path)
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
    params = _parameters_with_november(tmp_path)
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


def _one_line_billed_in_october(november: Path, params: Path, out: Path) -> Problem:
    """The one problem of November's run refused for a vendor line October billed already."""
    with pytest.raises(InputError) as err:
        run.run_all("2026-11", november, params, out)
    text = str(err.value)
    assert text.startswith(
        "the reports of 2026-11 hold 1 vendor line(s) that the run of 2026-10 billed already"
    ), text
    [problem] = err.value.problems
    return problem


def test_a_line_another_month_billed_restated_with_other_amounts_is_refused(tmp_path):
    """A vendor line keeps its line id (AWS's identity_line_item_id and its interval) when AWS
    restates its amounts: October billed it at 5.52, November's report holds it again at 6.07,
    and November billed it a second time in full (only 'charged outside 2026-11' among the
    warnings), since the lines were compared by their amounts too. Inside one run the same line
    id and interval with another cost is refused as a repeat; across months it is now too."""
    params = _parameters_with_november(tmp_path)
    out = tmp_path / "out"
    rows = _first_days_of_one_account()
    run.run_all("2026-10", _cur(tmp_path / "r10", "2026-10", rows), params, out)
    # on November's bill (its billing period), as AWS writes a line of its report
    restated = _a_month_later(rows[0]) | {
        "identity_line_item_id": rows[0]["identity_line_item_id"],
        "identity_time_interval": rows[0]["identity_time_interval"],
        "line_item_usage_start_date": rows[0]["line_item_usage_start_date"],
        "line_item_usage_end_date": rows[0]["line_item_usage_end_date"],
        "line_item_unblended_cost": 6.072,
    }
    november = _cur(tmp_path / "r11", "2026-11", [*map(_a_month_later, rows), restated])
    problem = _one_line_billed_in_october(november, params, out)
    assert (problem.file, problem.row) == ("cur-2026-11.parquet", len(rows) + 1)
    assert problem.value == (
        f"a line charged 2026-10-01 that the run of 2026-10 ({out / '2026-10'}) billed already "
        "from cur-2026-10.parquet, row 1, with other values (the same line id: restated?)"
    )
    assert not (out / "2026-11").exists()
    # without it November is billed
    shutil.rmtree(november)
    run.run_all("2026-11", _cur(november, "2026-11", [*map(_a_month_later, rows)]), params, out)


def test_a_line_another_month_billed_delivered_again_under_another_line_id_is_refused(tmp_path):
    """AWS gives each report line ids of its own ("the line item ID isn't consistent between
    different Cost and Usage Reports"), so October's line that November's report holds again has
    another id there: November billed it a second time (October finalised, its invoice sent),
    with only 'charged outside 2026-11' among the warnings, since lines with a vendor line id
    were compared by their id alone. The same charge (day, account, SKU, service, category,
    quantity and cost) under another id is refused as one without an id is."""
    params = _parameters_with_november(tmp_path)
    out = tmp_path / "out"
    rows = _first_days_of_one_account()
    run.run_all("2026-10", _cur(tmp_path / "r10", "2026-10", rows), params, out, finalise=True)
    again = rows[-1] | {
        "identity_line_item_id": "late" + rows[-1]["identity_line_item_id"][4:],
        "bill_invoice_id": "EUINNL26-3141592",
        "bill_billing_period_start_date": rows[-1]["bill_billing_period_start_date"].replace(
            month=11
        ),
        "bill_billing_period_end_date": rows[-1]["bill_billing_period_end_date"].replace(month=12),
    }
    november = _cur(tmp_path / "r11", "2026-11", [*map(_a_month_later, rows), again])
    problem = _one_line_billed_in_october(november, params, out)
    assert (problem.file, problem.row, problem.column) == (
        "cur-2026-11.parquet",
        len(rows) + 1,
        "ChargePeriodStart",
    )
    day = rows[-1]["line_item_usage_start_date"].date().isoformat()
    assert problem.value == (
        f"a line charged {day} that the run of 2026-10 ({out / '2026-10'}) billed already "
        f"from cur-2026-10.parquet, row {len(rows)}, under another line id (the same charge "
        "delivered again?)"
    )
    assert not (out / "2026-11").exists()
    # a charge of that day that October did not bill (another cost) is billed in November
    shutil.rmtree(november)
    late = again | {"line_item_unblended_cost": 0.25}
    folder = run.run_all(
        "2026-11", _cur(november, "2026-11", [*map(_a_month_later, rows), late]), params, out
    )
    billed = pq.read_table(folder / "rated_lines.parquet").to_pylist()
    assert [
        (r["source_row"], r["billed_cost"]) for r in billed if r["charge_date"].month == 10
    ] == [(len(rows) + 1, Decimal("0.25"))]


RECONCILIATION = (
    REPO / "samples" / "2026-10" / "reports" / "ms-invoice-reconciliation-G052026103.csv"
)


def _next_month(value: str) -> str:
    """A Partner Center date (M/D/YYYY) of October or November a month later (the 31st the
    30th)."""
    month, day, year = map(int, value.split("/"))
    if month == 12:
        return f"1/{day}/{year + 1}"
    return f"{month + 1}/{min(day, 30) if month == 10 else day}/{year}"


def test_a_licence_charge_billed_last_month_on_the_next_invoice_again_is_refused(tmp_path):
    """October's invoice reconciliation billed Dijkstra's cycle charge of 12 October; November's
    invoice (another InvoiceNumber, so another line id and another vendor invoice) holds that
    charge again beside its own cycles: November billed it a second time in silence, October
    finalised. Refused as the same charge under another line id."""
    params = _parameters_with_november(tmp_path)
    out = tmp_path / "out"
    october = tmp_path / "r10"
    october.mkdir()
    shutil.copy(RECONCILIATION, october)
    run.run_all("2026-10", october, params, out, finalise=True)
    header, *rows = list(csv.reader(RECONCILIATION.open(newline="", encoding="utf-8")))
    col = {name: header.index(name) for name in header}
    later = []
    for row in rows:
        row = list(row)
        row[col["InvoiceNumber"]] = "G052026114"
        for name in ("ChargeStartDate", "ChargeEndDate", "OrderDate"):
            row[col[name]] = _next_month(row[col[name]])
        later.append(row)
    again = list(rows[0])
    again[col["InvoiceNumber"]] = "G052026114"
    november = tmp_path / "r11"
    november.mkdir()
    with (november / "ms-invoice-reconciliation-G052026114.csv").open(
        "w", newline="", encoding="utf-8"
    ) as fh:
        csv.writer(fh).writerows([header, *later, again])
    with pytest.raises(InputError) as err:
        run.run_all("2026-11", november, params, out)
    [problem] = err.value.problems
    assert (problem.file, problem.row) == ("ms-invoice-reconciliation-G052026114.csv", 21)
    assert problem.value == (
        f"a line charged 2026-10-12 that the run of 2026-10 ({out / '2026-10'}) billed already "
        f"from {RECONCILIATION.name}, row 2, under another line id (the same charge delivered "
        "again?)"
    )
    assert not (out / "2026-11").exists()


def _spans(folder: Path, month: str, spans: list[tuple[str, str, str]]) -> Path:
    """An AWS FOCUS export of Dijkstra's account (C001): a Usage line per (first day, day after
    its last, cost in USD) of ``spans``."""
    folder.mkdir()
    rows = [
        f"111122223333,402719385610,AWS,Usage,{a}T00:00:00Z,{b}T00:00:00Z,"
        f"Amazon Elastic Compute Cloud,{cost},USD"
        for a, b, cost in spans
    ]
    (folder / f"focus-{month}.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return folder


def test_a_usage_line_running_into_the_next_month_is_listed_beside_that_month_s_lines(tmp_path):
    """October's export bills one line of 31 October to 1 November (USD 20.00: two days), and
    November's export bills 1 November again (10.00): November published with nothing in its
    review, since lines were compared by the day they begin. A Usage line counts on every day it
    covers (its cost spread evenly over them), so the day is listed, in either order."""
    params = _parameters_with_november(tmp_path)
    october = _spans(
        tmp_path / "r10",
        "2026-10",
        [("2026-10-01", "2026-10-02", "10.00"), ("2026-10-31", "2026-11-02", "20.00")],
    )
    november = _spans(
        tmp_path / "r11",
        "2026-11",
        [("2026-11-01", "2026-11-02", "10.00"), ("2026-11-02", "2026-11-03", "10.00")],
    )
    reports = {"2026-10": october, "2026-11": november}
    for first, second in [("2026-10", "2026-11"), ("2026-11", "2026-10")]:
        out = tmp_path / f"out-{first}"
        assert _review(run.run_all(first, reports[first], params, out), SPLIT) == []
        [finding] = _review(run.run_all(second, reports[second], params, out), SPLIT)
        assert finding["subject"] == "aws 402719385610"
        assert finding["finding"].startswith(
            f"2026-11-01: the run of {first} ({out / first}) billed USD 10.00 of this day "
            f"already (focus-{first}.csv); this run bills USD 10.00 of it"
        ), finding
        assert finding["lines"] == [
            f"focus-{second}.csv row 3" if second == "2026-10" else f"focus-{second}.csv row 2"
        ]


SANDBOX = "285396417058"  # poc-sandbox-ams: the sample month's account in no accounts.csv row


def test_a_reissue_refuses_a_line_the_run_of_another_month_billed(
    finalised_sample_outputs, tmp_path
):
    """October's run left AWS account poc-sandbox-ams unmapped: its 62 lines were billed to no
    one, and lines billed to no one are no month's (not compared). November's CUR holds one of
    them again (delivered again under another line id) and November's run, the account mapped
    to C002 by then, billed it: October had not, so nothing refused it. NW2026-000002 (C002)
    credited and reissued with the account mapped: the new invoice billed that line a second
    time without a word, since the reissue rates the month in a scratch folder beside no other
    month's run. Refused now as the run refuses it, naming both reports and rows, with no number
    taken; reissued with accounts.csv as the run read it, the invoice is issued (the line stays
    billed once, in November)."""
    out = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    issue_credit_note(out, ORIGINAL, CREDITED, "poc-sandbox-ams is Van Leeuwen's")
    mapped, as_run = corrected_parameters(tmp_path / "a"), corrected_parameters(tmp_path / "b")
    with open(mapped / "accounts.csv", "a", encoding="utf-8") as fh:
        fh.write(f"aws,{SANDBOX},C002,,,poc-sandbox-ams\n")
    with open(mapped / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-11-30,ECB 2026-10-31\n")
    # November billed from the sandbox's lines alone: no customer's month to hold against October
    review = mapped / "review.yaml"
    text = review.read_text(encoding="utf-8")
    assert "jump_factor: 10 " in text
    review.write_text(text.replace("jump_factor: 10 ", "jump_factor: 1000000 "), encoding="utf-8")
    rows = pq.read_table(CUR).to_pylist()
    sandbox = [(n, r) for n, r in enumerate(rows, 1) if r["line_item_usage_account_id"] == SANDBOX]
    row, line = sandbox[3]
    again = _a_month_later(line) | {  # on November's bill, under an id of November's report
        "identity_time_interval": line["identity_time_interval"],
        "line_item_usage_start_date": line["line_item_usage_start_date"],
        "line_item_usage_end_date": line["line_item_usage_end_date"],
    }
    later = [_a_month_later(r) for _, r in sandbox if r["line_item_usage_start_date"].day < 30]
    november = _cur(tmp_path / "r11", "2026-11", [*later, again])
    folder = run.run_all("2026-11", november, mapped, out, issue_date="2026-12-01")
    billed = pq.read_table(folder / "rated_lines.parquet").to_pylist()
    assert [
        (r["customer_id"], r["source_row"]) for r in billed if r["charge_date"].month == 10
    ] == [("C002", len(later) + 1)]
    before = register_rows(out)
    with pytest.raises(InputError) as err:
        reissue_invoice(out, ORIGINAL, mapped, REPORTS, REISSUED)
    text = str(err.value)
    assert text.startswith(
        "2026-10: the new invoices would bill 1 vendor line(s) that the run of 2026-11 billed "
        "already"
    ), text
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == (CUR.name, row, "ChargePeriodStart")
    day = line["line_item_usage_start_date"].date().isoformat()
    assert problem.value == (
        f"a line charged {day} that the run of 2026-11 ({out / '2026-11'}) billed already "
        f"from cur-2026-11.parquet, row {len(later) + 1}, under another line id (the same charge "
        "delivered again?)"
    )
    assert problem.expected == "a line billed in one month only (1 line(s) shared)"
    assert_nothing_reissued(out, before)
    done = reissue_invoice(out, ORIGINAL, as_run, REPORTS, REISSUED)
    assert done.moved_lines == ()
