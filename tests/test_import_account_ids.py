"""Account ids as the vendor writes them: an Azure subscription of a FOCUS export in any case maps
as accounts.csv gives it (E5); an AWS account id is always 12 digits, so one whose leading zeros
were dropped or that a tool stored as a number is refused naming row and column, not left
unmapped (E6)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from rating_helpers import write_parameters

from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests import cur2_sample as cur2
from tests.test_aws_commitments import cur_variant

SUBSCRIPTION = "/subscriptions/AB12CD34-0000-4000-8000-00000000C002"
FOCUS_HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargePeriodStart,"
    "ChargePeriodEnd,BilledCost,BillingCurrency"
)


def focus(tmp_path, *rows: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "focus-2026-10.csv"
    path.write_text("\n".join([FOCUS_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def import_error(path) -> InputError:
    with pytest.raises(InputError) as caught:
        import_reports(open_store(), [path])
    return caught.value


# -- E5 ---------------------------------------------------------------------------------------


def test_an_azure_subscription_of_a_focus_export_maps_whatever_its_case(tmp_path):
    """accounts.csv reads Microsoft ids in lower case, as every Microsoft format writes them: the
    FOCUS export's upper-case subscription matched no mapping, even one written exactly so."""
    params = write_parameters(
        tmp_path / "parameters",
        "plans: []\nassignments: []\n",
        accounts=f"vendor,account_id,customer_id,valid_from,valid_to,note\n"
        f"microsoft,{SUBSCRIPTION},C2,,,\naws,444455556666,C1,,,\n",
    )
    report = focus(
        tmp_path,
        f"/providers/Microsoft.Billing/billingAccounts/1234,{SUBSCRIPTION},Microsoft,Usage,"
        "2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,2.304,EUR",
        "111122223333,444455556666,AWS,Usage,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,1,USD",
    )
    con = open_store()
    import_reports(con, [report])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    assert con.execute(
        "SELECT x_Vendor, SubAccountId, x_CustomerId FROM customer_lines ORDER BY x_SourceRow"
    ).fetchall() == [
        ("microsoft", SUBSCRIPTION.lower(), "C2"),
        ("aws", "444455556666", "C1"),
    ]


# -- E6 ---------------------------------------------------------------------------------------


def test_an_aws_account_whose_leading_zero_was_dropped_is_refused(tmp_path):
    rows = cur2.records()
    rows[3]["line_item_usage_account_id"] = "12345678901"  # 012345678901 re-saved as a number
    err = import_error(cur2.write_csv(tmp_path / "cur2.csv", rows))
    assert "ids rewritten by a spreadsheet" in str(err)
    [problem] = err.problems
    assert (problem.row, problem.column, problem.value) == (
        5,
        "line_item_usage_account_id",
        "12345678901",
    )
    assert problem.expected == (
        "the id as the vendor writes it (an AWS account id: 12 digits), not an id whose "
        "leading zeros a spreadsheet dropped"
    )


def test_a_parquet_cur_with_the_accounts_stored_as_numbers_is_refused(tmp_path):
    """Every account became 402719385610.0: the run published no AWS line at all."""

    def as_double(table: pa.Table) -> pa.Table:
        at = table.schema.get_field_index("line_item_usage_account_id")
        column = pc.cast(pc.cast(table[at], pa.int64()), pa.float64())
        return table.set_column(at, "line_item_usage_account_id", column)

    err = import_error(cur_variant(tmp_path, as_double))
    assert "ids stored as numbers (line_item_usage_account_id DOUBLE)" in str(err)
    first = err.problems[0]
    assert (first.row, first.column, first.value) == (
        1,
        "line_item_usage_account_id",
        "402719385610.0",
    )
    assert "not an id another tool rewrote (as a number with a decimal point" in first.expected


def test_a_parquet_cur_with_whole_account_numbers_of_12_digits_is_read(tmp_path):
    """An integer column whose ids all kept their 12 digits lost nothing."""

    def as_integer(table: pa.Table) -> pa.Table:
        at = table.schema.get_field_index("line_item_usage_account_id")
        return table.set_column(at, "line_item_usage_account_id", pc.cast(table[at], pa.int64()))

    con = open_store()
    import_reports(con, [cur_variant(tmp_path, as_integer)])
    assert con.execute("SELECT count(DISTINCT SubAccountId) FROM lines").fetchone() == (9,)


def test_a_legacy_cur_and_an_aws_focus_export_are_checked_too(tmp_path):
    legacy = tmp_path / "cur-00001.csv"
    legacy.write_text(
        "identity/LineItemId,lineItem/UsageAccountId,lineItem/LineItemType,"
        "lineItem/UsageStartDate,lineItem/ProductCode,lineItem/UnblendedCost,"
        "lineItem/CurrencyCode\n"
        "li1,12345678901,Usage,2026-10-05T00:00:00Z,AmazonEC2,1.5,USD\n"
    )
    [problem] = import_error(legacy).problems
    assert (problem.row, problem.column) == (2, "lineItem/UsageAccountId")
    aws = focus(
        tmp_path,
        "111122223333,12345678901,AWS,Usage,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,1,USD",
    )
    [problem] = import_error(aws).problems
    assert (problem.row, problem.column, problem.value) == (2, "SubAccountId", "12345678901")
    # another provider's accounts are no AWS accounts
    other = focus(
        tmp_path / "other",
        "b1,project-42,Google Cloud,Usage,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,1,USD",
    )
    con = open_store()
    import_reports(con, [other])
    assert con.execute("SELECT SubAccountId FROM lines").fetchall() == [("project-42",)]
