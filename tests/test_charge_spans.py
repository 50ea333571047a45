"""Usage lines whose charge period runs across a day the price or the account's customer
changes (a CUR of monthly granularity): billed as on their first day, and listed by the review."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from billing_lib import review
from billing_lib.importers import report_files
from billing_lib.rating.spans import spans
from tests.test_aws_commitments import CUR, cur_variant, rate

MONTH = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def monthly(table: pa.Table) -> pa.Table:
    """Every line charged from 1 October to 1 November, as a report of monthly granularity."""
    for column, value in zip(
        ("line_item_usage_start_date", "line_item_usage_end_date"), MONTH, strict=True
    ):
        at = table.schema.get_field_index(column)
        typed = pa.array([value] * len(table), table.schema.field(column).type)
        table = table.set_column(at, column, typed)
    return table


def test_the_sample_month_has_no_usage_across_a_change(tmp_path):
    """Its AWS and Azure usage is daily; its VMware usage runs the whole month but its price does
    not change on the 16th (the AWS rule and the USD rate do)."""
    con = rate(*report_files(CUR.parent))
    assert spans(con) == [] and review.charge_spans(con) == []


def test_monthly_usage_of_an_account_taken_over_mid_month_is_listed(tmp_path):
    """accounts.csv: the render farm account is Lumen Media's (C009) to 15 October, Dijkstra's
    (C001) from the 16th; a monthly line starting on the 1st is billed wholly to C009."""
    con = rate(cur_variant(tmp_path, monthly))
    [moved] = [s for s in spans(con) if s.kind == "account"]
    assert (moved.account, moved.before, moved.after, moved.cut.isoformat()) == (
        "963741852036",
        "C009",
        "C001",
        "2026-10-16",
    )
    [finding] = [f for f in review.charge_spans(con) if f.check == "usage spans an account move"]
    assert finding.subject == "aws 963741852036"
    assert finding.finding.startswith(
        "93 usage line(s) charged from 2026-10-01 to 2026-10-31 (USD 2111.30) are billed wholly "
        "to C009, the account's customer on 2026-10-01 (accounts.csv); from 2026-10-16 it "
        "belongs to C001. A line is billed as on the first day of its charge period"
    )
    assert finding.lines[0] == f"{CUR.name} row 8"


def test_monthly_usage_across_a_markup_change_is_listed_per_customer(tmp_path):
    """The smb plan's AWS markup goes from 15 % to 12 % on 16 October: a monthly line is priced
    at 15 % (and the 1 October USD rate) for the whole month."""
    con = rate(cur_variant(tmp_path, monthly))
    found = {f.subject: f for f in review.charge_spans(con) if f.check.endswith("price change")}
    assert sorted(found) == ["C001", "C002", "C004", "C006", "C009"]
    assert (
        "62 usage line(s) of aws (Amazon Elastic Compute Cloud, Amazon Simple Storage Service) "
        "charged from 2026-10-01 to 2026-10-31 are priced wholly as on 2026-10-01 (smb/aws-15, "
        "USD->EUR 0.9215); from 2026-10-16 smb/aws-12, USD->EUR 0.9187 applies"
        in found["C006"].finding
    )
    # the enterprise plan's rule does not change: only the exchange rate does
    assert "as on 2026-10-01 (USD->EUR 0.9215); from 2026-10-16 USD->EUR 0.9187" in (
        found["C002"].finding
    )
