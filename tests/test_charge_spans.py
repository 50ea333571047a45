"""Usage lines whose charge period runs across a day the price or the account's customer
changes (a CUR of monthly granularity): billed as on their first day, and listed by the review."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pyarrow as pa

from billing_lib import review
from billing_lib.importers import report_files
from billing_lib.rating.spans import spans
from tests.test_aws_commitments import CUR, PARAMETERS, cur_variant, rate

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


# -- a Microsoft subscription's accounts.csv row, which maps its lines before its tenant's -------

INVOICE = CUR.parent / "ms-invoice-reconciliation-G052026103.csv"
#: Zorggroep Amstelland's tenant (C004) and its Teams licence subscription, whose monthly cycle
#: runs 1-31 October (one line, EUR 1200.00).
TENANT = "570032ed-7e4a-4bb0-9409-2afd36814937"
TEAMS = "5e6f7a8b-0004-4c1d-9e2f-3a4b5c6d7e42"


def _rate_with_accounts(tmp_path, edit) -> object:
    """The sample invoice file rated with the sample's parameters, accounts.csv edited."""
    params = tmp_path / "parameters"
    shutil.copytree(PARAMETERS, params)
    path = params / "accounts.csv"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return rate(INVOICE, parameters=params)


def test_a_licence_cycle_across_its_subscription_s_row_start_is_listed(tmp_path):
    """A row for the Teams subscription gives it to Van Leeuwen (C002) from 16 October: its
    monthly cycle charged 1-31 October is billed wholly to the tenant's customer (C004) of the
    1st. Only the tenant's rows were looked at, so nothing was listed."""
    con = _rate_with_accounts(tmp_path, lambda t: t + f"microsoft,{TEAMS},C002,2026-10-16,,\n")
    [moved] = [s for s in spans(con) if s.kind == "account"]
    assert (moved.account, moved.before, moved.after, moved.cut.isoformat()) == (
        TEAMS,
        "C004",
        "C002",
        "2026-10-16",
    )
    [finding] = review.charge_spans(con)
    assert finding.check == "usage spans an account move"
    assert finding.subject == f"microsoft {TEAMS}"
    rows = len(PARAMETERS.joinpath("accounts.csv").read_text().splitlines()) + 1
    assert finding.finding.startswith(
        "1 purchase line(s) charged from 2026-10-01 to 2026-10-31 (EUR 1200.00) are billed "
        f"wholly to C004, the subscription's customer on 2026-10-01 (accounts.csv, its tenant "
        f"{TENANT}'s row); from 2026-10-16 accounts.csv row {rows} gives the subscription to C002. "
        "A line is billed as on the first day of its charge period"
    )
    assert finding.lines == (f"{INVOICE.name} row 11",)


def test_a_tenant_move_is_listed_for_the_licences_its_subscription_rows_do_not_map(tmp_path):
    """The tenant moves from C004 to C007 on 16 October; its Teams subscription has a row of its
    own for the whole month (C002): the Teams cycle's customer does not change, the tenant's two
    other licence cycles are billed wholly to C004."""

    def edit(text: str) -> str:
        text = text.replace(
            f"microsoft,{TENANT},C004,,,",
            f"microsoft,{TENANT},C004,,2026-10-15,\nmicrosoft,{TENANT},C007,2026-10-16,,",
        )
        return text + f"microsoft,{TEAMS},C002,,,\n"

    con = _rate_with_accounts(tmp_path, edit)
    [moved] = [s for s in spans(con) if s.kind == "account"]
    assert (moved.account, moved.before, moved.after, moved.lines) == (TENANT, "C004", "C007", 2)
    [finding] = review.charge_spans(con)
    assert finding.subject == f"microsoft {TENANT}"
    assert finding.finding.startswith(
        "2 purchase line(s) charged from 2026-10-01 to 2026-10-31 (EUR 6961.20) are billed "
        "wholly to C004, the account's customer on 2026-10-01 (accounts.csv); from 2026-10-16 it "
        "belongs to C007"
    )
