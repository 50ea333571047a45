"""AWS Savings Plans and reserved instances in the sample month: a report without the columns a
commitment's amortised cost is computed from is refused where a rule prices that cost (E1); a
commitment whose covered usage and fee are priced apart is a review finding (E2)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing_lib import review
from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.pricing import load_pricing
from billing_lib.rating import rate_lines
from billing_lib.rating.commitments import commitment_splits
from billing_lib.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CUR = ROOT / "samples" / "2026-10" / "reports" / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
PARAMETERS = ROOT / "parameters"
SP_COLUMNS = (
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
)
RI_COLUMNS = (
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
)


def cur_variant(folder: Path, edit: Callable[[pa.Table], pa.Table]) -> Path:
    """The sample CUR 2.0 written to ``folder`` after ``edit``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CUR.name
    pq.write_table(edit(pq.read_table(CUR)), path, compression="snappy")
    return path


def without(*columns: str) -> Callable[[pa.Table], pa.Table]:
    return lambda table: table.drop_columns(list(columns))


def parameters_variant(folder: Path, file: str, edit: Callable[[str], str]) -> Path:
    shutil.copytree(PARAMETERS, folder)
    (folder / file).write_text(edit((folder / file).read_text()))
    return folder


def rate(*reports: Path, parameters: Path = PARAMETERS):
    con = open_store()
    import_reports(con, list(reports))
    customers = load_customers(parameters)
    register_account_map(con, load_account_mappings(parameters, customers))
    assign_customers(con)
    rate_lines(con, load_pricing(parameters, customers), customers, "2026-10")
    return con


def aws_totals(con) -> dict[str, D]:
    return dict(
        con.execute(
            "SELECT customer_id, sum(amount) FROM rated_lines WHERE vendor = 'aws' "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )


# -- E1: the amortised cost's columns left out of the export ------------------------------------


def test_savings_plan_lines_without_their_columns_are_refused_where_priced_on_effective_cost(
    tmp_path,
):
    report = cur_variant(tmp_path, without(*SP_COLUMNS))
    with pytest.raises(InputError) as caught:
        rate(report)
    text = str(caught.value)
    # 31 covered-usage lines and the fee (the negations' amortised cost is 0 by definition)
    assert "32 line(s) priced on their amortised cost (EffectiveCost) have none" in text
    assert f"{CUR.name}, row " in text
    assert "column 'EffectiveCost (from savings_plan_savings_plan_effective_cost)'" in text
    assert (
        "SavingsPlanCoveredUsage" in text and "plans[id=enterprise].rules[id=aws-effective]" in text
    )
    assert "savings_plan_* and reservation_* columns" in text


def test_a_reservation_without_its_columns_is_refused_not_billed_to_nobody(tmp_path):
    report = cur_variant(tmp_path, without(*RI_COLUMNS))
    with pytest.raises(InputError) as caught:
        rate(report)
    text = str(caught.value)
    assert "32 line(s)" in text  # 31 DiscountedUsage lines and the RIFee
    assert "EffectiveCost (from reservation_effective_cost)" in text and "DiscountedUsage" in text


def test_a_reservation_fee_without_its_unused_fee_columns_is_refused(tmp_path):
    """The RIFee's amortised cost is its unused part: without the columns it is unknown, not 0."""
    report = cur_variant(tmp_path, without(*RI_COLUMNS[1:]))
    with pytest.raises(InputError) as caught:
        rate(report)
    text = str(caught.value)
    assert "1 line(s)" in text and "RIFee" in text
    assert (
        "EffectiveCost (from reservation_unused_amortized_upfront_fee_for_billing_period, "
        "reservation_unused_recurring_fee)" in text
    )


def test_lines_priced_on_billed_cost_need_no_amortised_cost(tmp_path):
    """On BilledCost the covered usage and its negation cancel and the fee is billed: right
    without the Savings Plan columns, so the same file passes and bills as the full one does."""
    params = parameters_variant(
        tmp_path / "parameters",
        "price_plans.yaml",
        lambda text: text.replace("basis: EffectiveCost", "basis: BilledCost"),
    )
    full = aws_totals(rate(CUR, parameters=params))
    lean = aws_totals(
        rate(cur_variant(tmp_path / "lean", without(*SP_COLUMNS, *RI_COLUMNS)), parameters=params)
    )
    assert lean == full and full["C002"] > 0


LEGACY_HEADER = [
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/PayerAccountId",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageAmount",
    "lineItem/UnblendedCost",
    "lineItem/CurrencyCode",
]
#: type, unblended cost, amortised cost columns (SP effective / commitment, used; RI effective /
#: unused upfront, unused recurring)
LEGACY_ROWS = [
    ("SavingsPlanCoveredUsage", "22.08", {"savingsPlan/SavingsPlanEffectiveCost": "13.728"}),
    ("SavingsPlanNegation", "-22.08", {}),
    (
        "SavingsPlanRecurringFee",
        "446.40",
        {"savingsPlan/TotalCommitmentToDate": "446.40", "savingsPlan/UsedCommitment": "425.568"},
    ),
    ("DiscountedUsage", "0", {"reservation/EffectiveCost": "3.648"}),
    (
        "RIFee",
        "113.088",
        {
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "0",
            "reservation/UnusedRecurringFee": "0",
        },
    ),
]


def legacy_cur(path: Path, amortised: bool) -> Path:
    """A legacy CUR of C002's account with one line of each commitment type, with or without the
    savingsPlan/ and reservation/ columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = sorted({c for _, _, cols in LEGACY_ROWS for c in cols}) if amortised else []
    lines = [",".join(LEGACY_HEADER + extra)]
    for n, (kind, cost, cols) in enumerate(LEGACY_ROWS):
        values = [
            f"li{n}",
            "2026-10-05T00:00:00Z/2026-10-06T00:00:00Z",
            "518204736291",
            "518204736291",
            kind,
            "2026-10-05T00:00:00Z",
            "2026-10-06T00:00:00Z",
            "AmazonEC2",
            "24",
            cost,
            "USD",
        ]
        lines.append(",".join(values + [cols.get(c, "") for c in extra]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_legacy_cur_without_the_amortised_cost_columns_is_refused_too(tmp_path):
    complete = rate(legacy_cur(tmp_path / "cur-00001.csv", amortised=True))
    # (13.728 + 0 + (446.40 - 425.568) + 3.648 + 0) USD x 0.9215 x 1.09 on 5 October
    assert aws_totals(complete) == {
        "C002": (D("13.728") + D("20.832") + D("3.648")) * D("0.9215") * D("1.09")
    }
    with pytest.raises(InputError) as caught:
        rate(legacy_cur(tmp_path / "lean" / "cur-00001.csv", amortised=False))
    text = str(caught.value)
    assert "4 line(s)" in text  # every commitment line but the negation
    assert (
        "cur-00001.csv, row 2, column 'EffectiveCost (from savingsPlan/SavingsPlanEffectiveCost)'"
        in text
    )
    assert (
        "row 6, column 'EffectiveCost (from reservation/UnusedAmortizedUpfrontFeeForBillingPeriod, "
        "reservation/UnusedRecurringFee)'" in text
    )


def test_a_focus_export_without_effective_cost_is_refused_where_priced_on_it(tmp_path):
    """Covered usage of an AWS FOCUS export costs 0 billed: without EffectiveCost (a column
    FOCUS mandates) the amortised view is unknown."""
    header = (
        "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargePeriodStart,"
        "ChargePeriodEnd,BilledCost,BillingCurrency"
    )
    row = "518204736291,518204736291,AWS,Usage,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,0,USD"
    path = tmp_path / "focus.csv"
    path.write_text(f"{header}\n{row}\n")
    with pytest.raises(InputError) as caught:
        rate(path)
    assert (
        "focus.csv, row 2, column 'EffectiveCost'; expected the amortised cost of this Usage line"
        in str(caught.value)
    )


# -- E2: a commitment's covered usage and its fee priced apart ----------------------------------

SP_ACCOUNT, C001_ACCOUNT = "518204736291", "402719385610"


def moved(types: tuple[str, ...], account: str) -> Callable[[pa.Table], pa.Table]:
    """The lines of the line item ``types`` moved to the usage ``account``."""

    def edit(table: pa.Table) -> pa.Table:
        kind = table["line_item_line_item_type"].to_pylist()
        accounts = [
            account if k in types else a
            for k, a in zip(kind, table["line_item_usage_account_id"].to_pylist(), strict=True)
        ]
        at = table.schema.get_field_index("line_item_usage_account_id")
        return table.set_column(at, "line_item_usage_account_id", pa.array(accounts, pa.string()))

    return edit


COVERED = ("SavingsPlanCoveredUsage", "SavingsPlanNegation")


def test_the_sample_month_s_commitments_are_priced_alike_and_its_lines_not_read():
    con = rate(CUR)
    assert commitment_splits(con) == []
    assert con.execute("SELECT count(*) FROM rating_commitments").fetchone() == (0,)


def test_covered_usage_on_billed_cost_and_the_fee_on_effective_cost_is_billed_to_nobody(
    tmp_path,
):
    """The Savings Plan of C002 (enterprise, EffectiveCost) covering C001's account (smb,
    BilledCost): C001's covered usage nets to 0, C002 pays only the plan's unused part."""
    con = rate(cur_variant(tmp_path, moved(COVERED, C001_ACCOUNT)))
    [split] = commitment_splits(con)
    assert split.outcome == "nobody" and split.currency == "USD"
    assert (split.usage.account, split.usage.customer, split.usage.basis) == (
        C001_ACCOUNT,
        "C001",
        "BilledCost",
    )
    assert split.usage.moved == D("425.568") and split.usage.lines == 62
    assert [(f.account, f.customer, f.basis) for f in split.fees] == [
        (SP_ACCOUNT, "C002", "EffectiveCost")
    ]
    [finding] = review.commitments(con)
    assert finding.check == "commitment priced apart"
    assert finding.subject.startswith("aws arn:aws:savingsplans::518204736291:savingsplan/")
    assert (
        "its covered usage of account 402719385610 (C001, priced on BilledCost), 62 line(s), and "
        "its fee of account 518204736291 (C002, priced on its amortised cost, EffectiveCost): "
        "USD 425.57 of it is billed to nobody" in finding.finding
    )
    assert finding.lines[0] == f"{CUR.name} row 9"


def test_covered_usage_on_effective_cost_and_the_fee_on_billed_cost_is_billed_twice(tmp_path):
    con = rate(cur_variant(tmp_path, moved(("SavingsPlanRecurringFee",), C001_ACCOUNT)))
    [split] = commitment_splits(con)
    assert (split.outcome, split.usage.customer, split.usage.moved) == (
        "twice",
        "C002",
        D("425.568"),
    )
    assert "USD 425.57 of it is billed twice" in review.commitments(con)[0].finding


def test_on_billed_cost_the_fee_s_customer_paying_another_customer_s_usage_is_named(tmp_path):
    params = parameters_variant(
        tmp_path / "parameters",
        "price_plans.yaml",
        lambda text: text.replace("basis: EffectiveCost", "basis: BilledCost"),
    )
    con = rate(cur_variant(tmp_path / "r", moved(COVERED, C001_ACCOUNT)), parameters=params)
    [split] = commitment_splits(con)
    assert (split.outcome, split.usage.customer) == ("other customer", "C001")
    assert "C002 pays USD 425.57 of it for the usage of C001" in review.commitments(con)[0].finding


UNMAPPED_ACCOUNT = "285396417058"  # poc-sandbox-ams: in the sample, on no customer


def test_covered_usage_on_effective_cost_and_the_fee_billed_to_nobody_is_named(tmp_path):
    """The Savings Plan's fee in an account billed to no customer (the payer's, unmapped; or
    excluded by a rule), its covered usage priced on EffectiveCost: C002 pays the plan's used
    part (USD 425.57) in its usage, right, but the run counted the whole fee (USD 446.40) as
    vendor cost billed to nobody, and the journal booked the used part again, as a negative
    prepaid (USD -425.57), with "needs a human look: nothing"."""
    con = rate(cur_variant(tmp_path, moved(("SavingsPlanRecurringFee",), UNMAPPED_ACCOUNT)))
    [split] = commitment_splits(con)
    assert (split.outcome, split.usage.customer, split.usage.basis, split.usage.moved) == (
        "fee not billed",
        "C002",
        "EffectiveCost",
        D("425.568"),
    )
    assert [(f.account, f.customer, f.basis) for f in split.fees] == [
        (UNMAPPED_ACCOUNT, None, "not billed")
    ]
    [finding] = review.commitments(con)
    assert (
        "USD 425.57 of it is billed in the usage's amortised cost, but its fee is billed to "
        "nobody" in finding.finding
    )
    assert "counts that part twice" in finding.finding
