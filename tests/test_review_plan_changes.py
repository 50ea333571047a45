"""Price plans changed after a month was finalised: the review names the month, the plan, rule or
assignment changed and the customers billed on it, from the price plans the finalised run kept in
its manifest; a change dated after the month says nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing_lib import run
from billing_lib.corrections import issue_credit_note
from billing_lib.customers import load_customers
from billing_lib.pricing import PLANS_FILE
from billing_lib.reissue import reissue_invoice
from billing_lib.review import plans_changed_after_finalising
from billing_lib.review.plan_changes import CHECK, PLANS_TEXT
from billing_lib.run_files import MANIFEST, RATED_PARQUET, sha256_of
from tests.notebook_project import PERIOD, REPO
from tests.test_billed_lines import CUR, _a_month_later
from tests.test_reissue import CREDITED, ORIGINAL, REISSUED, REPORTS

NEXT = "2026-11"


@pytest.fixture
def folders(finalised_sample_outputs, tmp_path) -> tuple[Path, Path]:
    """A copy of the finalised sample month's outputs folder and of the parameters it was billed
    with."""
    out = Path(shutil.copytree(finalised_sample_outputs, tmp_path / "outputs"))
    parameters = Path(
        shutil.copytree(
            REPO / "parameters", tmp_path / "parameters", ignore=shutil.ignore_patterns("local")
        )
    )
    return out, parameters


def edit(parameters: Path, old: str, new: str) -> None:
    path = parameters / PLANS_FILE
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def found(out: Path, parameters: Path) -> list:
    return plans_changed_after_finalising(
        duckdb.connect(),
        out,
        NEXT,
        parameters,
        sha256_of(parameters / PLANS_FILE),
        load_customers(parameters),
    )


def billed_on(out: Path, plan: str) -> list[str]:
    return sorted(
        c
        for (c,) in duckdb.execute(
            "SELECT DISTINCT customer_id FROM read_parquet(?) WHERE plan_id = ?",
            [str(out / PERIOD / RATED_PARQUET), plan],
        ).fetchall()
    )


def test_the_finalised_run_keeps_the_price_plans_it_read(finalised_sample_outputs):
    manifest = json.loads((finalised_sample_outputs / PERIOD / MANIFEST).read_text())
    assert manifest[PLANS_TEXT] == (REPO / "parameters" / PLANS_FILE).read_text(encoding="utf-8")


def test_unchanged_price_plans_say_nothing(folders):
    assert found(*folders) == []


def test_a_markup_changed_after_finalising_names_month_rule_and_customers(folders):
    out, parameters = folders
    edit(
        parameters, "{id: azure, kind: markup, percent: 7,", "{id: azure, kind: markup, percent: 6,"
    )
    customers = billed_on(out, "enterprise")
    assert customers  # the sample month bills enterprise customers
    (f,) = found(out, parameters)
    assert f.check == CHECK
    assert f.subject == f"{PERIOD}: plan enterprise rule azure"
    assert f.lines == tuple(customers)
    assert f"customers concerned: {', '.join(customers)}" in f.finding
    assert "billing reissue --invoice NUMBER" in f.finding
    assert f"valid_from) in a month not yet billed ({NEXT} or later)" in f.finding


def test_a_price_change_moved_back_into_the_finalised_month_is_named(folders):
    out, parameters = folders
    edit(
        parameters,
        "match: {vendor: aws}, valid_to: 2026-10-15}",
        "match: {vendor: aws}, valid_to: 2026-10-09}",
    )
    edit(parameters, "valid_from: 2026-10-16}", "valid_from: 2026-10-10}")
    subjects = [f.subject for f in found(out, parameters)]
    assert subjects == [f"{PERIOD}: plan smb rule aws-12", f"{PERIOD}: plan smb rule aws-15"]


def test_an_assignment_moved_back_into_the_finalised_month_is_named(folders):
    """A customer's own plan from 20 October (its valid_from moved back from November)."""
    out, parameters = folders
    edit(
        parameters,
        "  - {plan: internal, group: internal}\n",
        "  - {plan: internal, group: internal}\n"
        "  - {plan: enterprise, customer: C001, valid_from: 2026-10-20}\n",
    )
    (f,) = found(out, parameters)
    assert f.subject == (
        f"{PERIOD}: assignment of plan enterprise to customer C001 (valid_from 2026-10-20)"
    )
    assert f.lines == ("C001",)
    assert "now in force" in f.finding


def test_a_group_assignment_dated_into_the_month_names_the_group_customers(folders):
    out, parameters = folders
    edit(
        parameters,
        "  - {plan: internal, group: internal}\n",
        "  - {plan: internal, group: internal, valid_from: 2026-10-20}\n",
    )
    no_longer, now = sorted(found(out, parameters), key=lambda f: f.subject)
    assert no_longer.subject == f"{PERIOD}: assignment of plan internal to group internal"
    assert "no longer in force" in no_longer.finding
    assert now.subject == (
        f"{PERIOD}: assignment of plan internal to group internal (valid_from 2026-10-20)"
    )
    assert now.lines == ("C010",)


def test_a_change_dated_after_the_finalised_month_says_nothing(folders):
    """The old price ended with October, a new one from November: October as billed."""
    out, parameters = folders
    edit(
        parameters,
        "{id: azure, kind: markup, percent: 7, match: {vendor: microsoft, publisher: Microsoft}}",
        "{id: azure, kind: markup, percent: 7, match: {vendor: microsoft, "
        "publisher: Microsoft}, valid_to: 2026-10-31}\n"
        "      - {id: azure-11, kind: markup, percent: 6, match: {vendor: microsoft, "
        "publisher: Microsoft}, valid_from: 2026-11-01}",
    )
    edit(
        parameters,
        "  - {plan: internal, group: internal}\n",
        "  - {plan: internal, group: internal}\n"
        "  - {plan: enterprise, customer: C001, valid_from: 2026-11-01}\n",
    )
    assert found(out, parameters) == []


def test_a_run_folder_without_the_text_is_not_compared(folders):
    """A run folder finalised before the file's text was kept has only its digest, which every
    later edit changes (a new customer's assignment from a later month too): listed in every
    run from then on, a finding nothing could clear. It is not compared; the same change with
    the text kept is named."""
    out, parameters = folders
    edit(parameters, "{id: other, kind: pass_through}", "{id: other, kind: markup, percent: 1}")
    assert found(out, parameters)  # the text kept: the change is named
    manifest = json.loads((out / PERIOD / MANIFEST).read_text())
    del manifest[PLANS_TEXT]
    (out / PERIOD / MANIFEST).write_text(json.dumps(manifest))
    assert found(out, parameters) == []


def test_the_next_month_s_run_lists_a_markup_changed_for_the_finalised_one(folders, tmp_path):
    """November billed after October was finalised, enterprise's Azure markup changed since with
    no date: the run's review (its manifest's) names October's rule and customers."""
    out, parameters = folders
    edit(
        parameters, "{id: azure, kind: markup, percent: 7,", "{id: azure, kind: markup, percent: 6,"
    )
    review = parameters / "review.yaml"
    text = review.read_text(encoding="utf-8")
    assert "jump_factor: 10 " in text  # November holds one account's lines: no jump to stop
    review.write_text(text.replace("jump_factor: 10 ", "jump_factor: 1000000 "), encoding="utf-8")
    with open(parameters / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-11-30,ECB 2026-10-31\n")
    table = pq.read_table(CUR)
    rows = [
        _a_month_later(r)
        for r in table.to_pylist()
        if r["line_item_usage_account_id"] == "630917254842"
        and r["line_item_usage_start_date"].day < 30
    ]
    reports = tmp_path / "r11"
    reports.mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), reports / "cur-2026-11.parquet")
    folder = run.run_all(NEXT, reports, parameters, out, issue_date="2026-12-01")
    listed = json.loads((folder / MANIFEST).read_text())["review"]
    mine = [f for f in listed if f["check"] == CHECK]
    assert [f["subject"] for f in mine] == [f"{PERIOD}: plan enterprise rule azure"]
    assert mine[0]["lines"] == billed_on(out, "enterprise")


def test_a_customer_reissued_under_today_s_plans_is_no_longer_concerned(folders):
    """C002's October invoice credited and reissued under the changed markup: the correction is
    made, so C002 is named no more; the other enterprise customers still are."""
    out, parameters = folders
    edit(
        parameters, "{id: azure, kind: markup, percent: 7,", "{id: azure, kind: markup, percent: 6,"
    )
    customers = billed_on(out, "enterprise")
    assert "C002" in customers and len(customers) > 1
    issue_credit_note(out, ORIGINAL, CREDITED, "Azure markup 6 % from October")
    reissue_invoice(out, ORIGINAL, parameters, REPORTS, REISSUED)
    (f,) = found(out, parameters)
    assert f.lines == tuple(c for c in customers if c != "C002")
