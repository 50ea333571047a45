"""The FOCUS examples published with the specification import with their own totals; the one with
an impossible timestamp is refused with the file, row and column."""

import shutil
from decimal import Decimal

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests.sample_totals import SAMPLES, expected, own_totals, report_totals

FOCUS = SAMPLES / "focus"
SAAS = FOCUS / "saas_spend_agreements_b2.csv"
FLEX = (
    FOCUS
    / "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv"
)
BAD_HOUR = FOCUS / "commitment_discount_purchase_scenario_3.csv"
NULLS = ("", "null", "NULL")


def _own(path, currency="USD"):
    return own_totals(
        path,
        "BilledCost",
        lambda r: r.get("BillingCurrency") or currency,
        lambda r: r["ChargeCategory"],
        NULLS,
    )


@pytest.mark.parametrize(
    "path, currency", [(SAAS, None), (FLEX, "USD")], ids=["saas", "flexibility"]
)
def test_focus_samples_import_with_their_own_totals(path, currency):
    con = open_store()
    [report] = import_reports(con, [path], default_currency=currency)
    assert report.format == "focus"
    assert report.balanced
    assert report_totals(report) == _own(path) == expected(path.stem)


def test_blank_lines_and_null_text_rows_keep_spreadsheet_numbers():
    con = open_store()
    import_reports(con, [FLEX], default_currency="usd")
    got = con.execute(
        "SELECT x_SourceRow, ChargeCategory, BilledCost, EffectiveCost, ConsumedQuantity, "
        "BillingCurrency, SkuPriceId FROM lines ORDER BY 1"
    ).fetchall()
    # the file has a blank line after every record: rows 2, 4, 6 as a spreadsheet shows them
    assert [g[0] for g in got] == [2, 4, 6]
    assert [str(g[2]) for g in got] == ["2.000000000000", "0E-12", "0E-12"]
    assert got[0][4] is None  # the text 'null' is a missing value in FOCUS
    assert got[1][5] == "USD" and got[1][6] == "VM_MEDIUM_COMMITTED_HOUR"


def test_us_short_dates_are_read_month_first():
    con = open_store()
    import_reports(con, [SAAS])
    start, end, bp_end = con.execute(
        "SELECT ChargePeriodStart, ChargePeriodEnd, BillingPeriodEnd FROM lines "
        "WHERE x_SourceRow = 2"
    ).fetchone()
    assert (str(start), str(end), str(bp_end)) == (
        "2025-04-01 00:00:00",
        "2026-04-01 00:00:00",
        "2025-05-01 00:00:00",
    )
    assert con.execute("SELECT DISTINCT x_Vendor, SubAccountId FROM lines").fetchall() == [
        ("acme co", "000-00-000")
    ]


def test_missing_billing_currency_names_the_column_and_the_way_out():
    """The way out names where the option is: ``billing run --currency``, ``billing import
    --currency`` and the notebook's parameter (told to give "--currency / default_currency"
    without the command, the user met "unrecognized arguments")."""
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [FLEX])
    msg = str(err.value)
    assert msg.startswith(
        f"{FLEX} (FOCUS 1.0-1.2 cost and usage export): missing required column(s) "
        "['BillingCurrency'] (FOCUS requires it: export the data with it, or give the billing "
        "currency of the files without it: `billing run --currency EUR`, `billing import "
        "--currency EUR`, notebook parameter currency).\n"
    )
    assert "found: ['BillingPeriodStart'" in msg


def test_impossible_hour_is_refused_with_file_row_and_column():
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [BAD_HOUR], default_currency="USD")
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        str(BAD_HOUR),
        5,
        "ChargePeriodEnd",
        "2023-02-01T30:00:00Z",
    )
    assert "commitment_discount_purchase_scenario_3.csv, row 5, column 'ChargePeriodEnd'" in str(
        err.value
    )
    assert expected(BAD_HOUR.stem) == {
        "error": {"row": 5, "column": "ChargePeriodEnd", "value": "2023-02-01T30:00:00Z"}
    }
    assert con.execute("SELECT count(*) FROM lines").fetchone()[0] == 0


def test_version_differences_and_vendor_names(tmp_path):
    """FOCUS 1.0 credits (Adjustment + ChargeSubcategory Credit), offsets converted to UTC, and
    x_Vendor from ProviderName."""
    path = tmp_path / "focus-1.0.csv"
    path.write_text(
        "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargeSubcategory,ChargePeriodStart,"
        "ChargePeriodEnd,BilledCost,BillingCurrency,Tags\n"
        "111122223333,444455556666,Amazon Web Services,Usage,On-Demand,"
        '2024-05-01T02:00:00+02:00,2024-05-02T00:00:00Z,10.5,EUR,"{""env"": ""prod""}"\n'
        "b1,s2,Microsoft,Adjustment,Credit,2024-05-01T00:00:00Z,2024-05-02T00:00:00Z,-2,EUR,\n"
        "b1,,Google Cloud,Adjustment,Refund,"
        "2024-05-01T00:00:00-05:00,2024-05-02T00:00:00Z,-1.25,EUR,\n"
        "b1,s4,Oracle,Tax,,2024-05-01T00:00:00Z,2024-05-02T00:00:00Z,1.81E-8,EUR,\n"
        "b1,s5,Acme SaaS,Adjustment,General Adjustment,2024-05-01,2024-05-02,3,EUR,\n",
        encoding="utf-8",
    )
    con = open_store()
    [report] = import_reports(con, [path])
    got = con.execute(
        "SELECT x_Vendor, SubAccountId, ChargeCategory, ChargePeriodStart, BilledCost, Tags "
        "FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert [(g[0], g[1], g[2]) for g in got] == [
        ("aws", "444455556666", "Usage"),
        ("microsoft", "s2", "Credit"),
        ("google", "b1", "Credit"),
        ("oracle", "s4", "Tax"),
        ("acme saas", "s5", "Adjustment"),
    ]
    assert [str(g[3]) for g in got[:3]] == [
        "2024-05-01 00:00:00",
        "2024-05-01 00:00:00",
        "2024-05-01 05:00:00",
    ]
    assert got[3][4] == Decimal("0.0000000181")
    assert got[0][5] == '{"env": "prod"}'
    assert report.cost_per_category["Credit"]["EUR"] == -3.25


def _provider_named(tmp_path, provider_column: str, account: str = "012345678901"):
    path = tmp_path / f"focus-{provider_column}.csv"
    path.write_text(
        f"BillingAccountId,SubAccountId,{provider_column},ChargeCategory,ChargePeriodStart,"
        "ChargePeriodEnd,BilledCost,BillingCurrency,RegionId\n"
        f"{account},{account},AWS,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,10.5,EUR,"
        "eu-west-1\n"
        "b1,/subscriptions/5C0A8E52-31D4-4F6B-9A0E-7D2C3B1A9F01,Microsoft,Usage,"
        "2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,2.25,EUR,West Europe\n",
        encoding="utf-8",
    )
    return path


def test_a_focus_1_3_export_naming_its_provider_service_provider_name_is_read_alike(tmp_path):
    """FOCUS 1.3 names the provider ServiceProviderName (ProviderName deprecated, left out by
    newer exports): its lines were read as of vendor 'unknown', so they mapped to no customer,
    and a Microsoft subscription and region were not read as Microsoft's."""
    lines = {}
    for column in ("ProviderName", "ServiceProviderName"):
        con = open_store()
        import_reports(con, [_provider_named(tmp_path, column)])
        lines[column] = con.execute(
            "SELECT x_Vendor, ProviderName, SubAccountId, RegionId, BilledCost FROM lines "
            "ORDER BY x_SourceRow"
        ).fetchall()
    assert lines["ServiceProviderName"] == lines["ProviderName"]
    assert [line[:4] for line in lines["ServiceProviderName"]] == [
        ("aws", "AWS", "012345678901", "eu-west-1"),
        (
            "microsoft",
            "Microsoft",
            "/subscriptions/5c0a8e52-31d4-4f6b-9a0e-7d2c3b1a9f01",
            "westeurope",
        ),
    ]


def test_an_aws_account_id_a_spreadsheet_rewrote_in_a_focus_1_3_export_is_refused(tmp_path):
    """The AWS account ids of a FOCUS export are checked for a spreadsheet's damage by the
    line's provider: in a FOCUS 1.3 export, by ServiceProviderName (unchecked before)."""
    path = _provider_named(tmp_path, "ServiceProviderName", account="12345678901")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    assert {(p.file, p.row, p.column, p.value) for p in err.value.problems} == {
        (str(path), 2, "BillingAccountId", "12345678901"),
        (str(path), 2, "SubAccountId", "12345678901"),
    }
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_copy_under_another_name_is_the_same_report(tmp_path):
    copy = tmp_path / "renamed.csv"
    shutil.copy(SAAS, copy)
    con = open_store()
    import_reports(con, [SAAS])
    with pytest.raises(InputError, match="already imported as .*saas_spend_agreements_b2.csv"):
        import_reports(con, [copy])


CUR2_MONTH = (
    SAMPLES.parents[2]
    / "samples"
    / "2026-10"
    / "reports"
    / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
)
#: The sample month's CUR 2.0 in FOCUS columns by the FinOps Foundation's converter rules for the
#: AWS CUR (ChargeCategory by line item type, a Savings Plan negation Usage; CommitmentDiscountId
#: the Savings Plan's ARN, else the reservation's; EffectiveCost 0 on a negation; PricingQuantity
#: the usage amount) and FOCUS 1.0's ChargeSubcategory of credits and refunds.
CONVERTED = """
SELECT line_item_unblended_cost AS BilledCost, bill_payer_account_id AS BillingAccountId,
  'USD' AS BillingCurrency,
  strftime(timezone('UTC', bill_billing_period_start_date), '%Y-%m-%dT%H:%M:%SZ')
    AS BillingPeriodStart,
  strftime(timezone('UTC', bill_billing_period_end_date), '%Y-%m-%dT%H:%M:%SZ') AS BillingPeriodEnd,
  CASE line_item_line_item_type WHEN 'Tax' THEN 'Tax' WHEN 'Fee' THEN 'Purchase'
    WHEN 'RIFee' THEN 'Purchase' WHEN 'SavingsPlanRecurringFee' THEN 'Purchase'
    WHEN 'Credit' THEN 'Adjustment' WHEN 'Refund' THEN 'Adjustment' ELSE 'Usage' END
    AS ChargeCategory,
  CASE line_item_line_item_type WHEN 'Credit' THEN 'Credit' WHEN 'Refund' THEN 'Refund' END
    AS ChargeSubcategory,
  strftime(timezone('UTC', line_item_usage_start_date), '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodStart,
  strftime(timezone('UTC', line_item_usage_end_date), '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodEnd,
  COALESCE(savings_plan_savings_plan_a_r_n, reservation_reservation_a_r_n) AS CommitmentDiscountId,
  CASE line_item_line_item_type
    WHEN 'SavingsPlanCoveredUsage' THEN savings_plan_savings_plan_effective_cost
    WHEN 'SavingsPlanNegation' THEN 0 ELSE line_item_unblended_cost END AS EffectiveCost,
  line_item_usage_amount AS PricingQuantity, pricing_unit AS PricingUnit, 'AWS' AS ProviderName,
  line_item_usage_account_id AS SubAccountId, product_servicecode AS ServiceName,
  line_item_resource_id AS ResourceId, line_item_line_item_type AS x_LineItemType
FROM read_parquet(?)"""


def _converted(tmp_path, where: str = "true"):
    import duckdb

    path = tmp_path / "aws-focus-2026-10.csv"
    rel = duckdb.sql(f"SELECT * FROM ({CONVERTED}) WHERE {where}", params=[str(CUR2_MONTH)])
    rel.write_csv(str(path))
    return path


def test_an_aws_month_as_the_focus_converter_writes_it_imports_its_negations(tmp_path):
    """A Savings Plan negation in FOCUS is a Usage line with a positive quantity, a negative cost
    and the plan's CommitmentDiscountId: money given back, not contradicting signs. Its cost
    cancels the covered usage, and the month costs what the CUR itself does."""
    focus = _converted(tmp_path)
    con = open_store()
    [report] = import_reports(con, [focus])
    assert report.format == "focus"
    cur = open_store()
    import_reports(cur, [CUR2_MONTH])
    per_account = "SELECT SubAccountId, sum(BilledCost) FROM lines GROUP BY 1 ORDER BY 1"
    assert con.execute(per_account).fetchall() == cur.execute(per_account).fetchall()
    # the negations: no priced quantity (it repeats the covered usage's), cost as printed
    negations = con.execute(
        "SELECT count(*), count(PricingQuantity), sum(BilledCost), sum(ConsumedQuantity) "
        "FROM lines WHERE ChargeCategory = 'Usage' AND BilledCost < 0"
    ).fetchone()
    assert negations[:3] == (31, 0, Decimal("-684.48"))
    covered = con.execute(
        "SELECT sum(BilledCost), count(PricingQuantity) FROM lines "
        "WHERE ChargeCategory = 'Usage' AND CommitmentDiscountId LIKE 'arn:aws:savingsplans:%'"
    ).fetchone()
    assert covered == (Decimal("0"), 31)  # 31 covered days priced, each cancelled


def test_focus_discount_and_credit_subcategories_give_money_back(tmp_path):
    path = tmp_path / "focus.csv"
    path.write_text(
        "BillingAccountId,SubAccountId,ChargeCategory,ChargeSubcategory,ChargePeriodStart,"
        "BilledCost,BillingCurrency,PricingQuantity\n"
        "b1,s1,Usage,On-Demand,2024-05-01,10,EUR,4\n"
        "b1,s1,Usage,Discount,2024-05-01,-1,EUR,4\n"
        "b1,s1,Purchase,Credit,2024-05-01,-2,EUR,1\n",
        encoding="utf-8",
    )
    con = open_store()
    import_reports(con, [path])
    got = con.execute("SELECT PricingQuantity, BilledCost FROM lines ORDER BY x_SourceRow")
    assert got.fetchall() == [
        (Decimal("4"), Decimal("10")),
        (None, Decimal("-1")),
        (None, Decimal("-2")),
    ]


def test_an_unmarked_negative_usage_line_names_what_focus_would_mark_it_by(tmp_path):
    """The same month without CommitmentDiscountId (a converter leaving the column out): the
    negations cannot be told from a sign error. The message says what FOCUS marks them by and
    that the file lacks it, not that the vendor's report is wrong."""
    focus = _converted(tmp_path)
    import duckdb

    bare = tmp_path / "bare.csv"
    duckdb.sql(
        f"SELECT * EXCLUDE (CommitmentDiscountId, ChargeSubcategory) FROM read_csv('{focus}')"
    ).write_csv(str(bare))
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [bare])
    message = str(err.value)
    assert "contradicting signs" in message and "ask the vendor" not in message
    assert "CommitmentDiscountId" in message and "the file has no" in message
    assert [p.row for p in err.value.problems][:2] == [11, 34]


def test_a_focus_1_0_correction_gives_money_back_as_microsoft_writes_a_refund(tmp_path):
    """FOCUS 1.0 dropped ChargeSubcategory; a refund is its charge's category with ChargeClass
    Correction. Microsoft's FOCUS export writes an Azure reservation Refund so (Microsoft Learn,
    "Convert Cost Management data to FOCUS": Refund -> Purchase, ChargeClass Correction) with the
    refunded quantity positive, as the cost export prints it (tests/data/azure-cost-details).
    Refused as contradicting signs, the message asked for a ChargeSubcategory column that no
    FOCUS 1.0-1.2 export has."""
    order = "/providers/Microsoft.Capacity/reservationOrders/7d2c9a10"
    path = tmp_path / "part_0_0001.csv"
    path.write_text(
        "BilledCost,BillingAccountId,BillingCurrency,ChargeCategory,ChargeClass,ChargeFrequency,"
        "ChargePeriodEnd,ChargePeriodStart,CommitmentDiscountId,EffectiveCost,PricingQuantity,"
        "ProviderName,SubAccountId,x_ResourceGroupName\n"
        "12.5,ba1,EUR,Usage,,Usage-Based,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,,12.5,3,"
        "Microsoft,/subscriptions/C3F0A9B8-7D6E-4C5B-A4F3-E2D1C0B9A8F7,rg1\n"
        f"-40.12,ba1,EUR,Purchase,Correction,One-Time,2026-10-13T00:00:00Z,"
        f"2026-10-12T00:00:00Z,{order},0,1,"
        "Microsoft,/subscriptions/C3F0A9B8-7D6E-4C5B-A4F3-E2D1C0B9A8F7,\n"
        "2.5,ba1,EUR,Usage,Correction,Usage-Based,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,,"
        "2.5,1,Microsoft,/subscriptions/C3F0A9B8-7D6E-4C5B-A4F3-E2D1C0B9A8F7,rg1\n",
        encoding="utf-8",
    )
    con = open_store()
    [report] = import_reports(con, [path])
    got = con.execute(
        "SELECT ChargeCategory, PricingQuantity, BilledCost FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [
        ("Usage", Decimal(3), Decimal("12.5")),
        # a refund: a Credit, its quantity signed as its cost, as the cost export has it
        ("Credit", Decimal(-1), Decimal("-40.12")),
        ("Usage", Decimal(1), Decimal("2.5")),  # a correction that charges keeps its quantity
    ]
    assert report.currencies[0].cost_after == Decimal("-25.12")


#: An Azure marketplace refund (tests/data/azure-cost-details/mca-actual-cost-2026-10.csv row 4)
#: as Microsoft's FOCUS export writes it: Purchase, ChargeClass Correction, quantity positive.
AZURE_REFUND_FOCUS = (
    "BilledCost,BillingAccountId,BillingCurrency,ChargeCategory,ChargeClass,ChargeFrequency,"
    "ChargePeriodEnd,ChargePeriodStart,EffectiveCost,PricingQuantity,ProviderName,"
    "PublisherName,SubAccountId\n"
    "-55.20,ba1,EUR,Purchase,Correction,One-Time,2026-10-10T00:00:00Z,2026-10-09T00:00:00Z,"
    "-55.20,1,Microsoft,Acme Backup Ltd,/subscriptions/9e1b2c3d-0000-4000-8000-000000000001\n"
)


KEEP = "{id: all, kind: markup, percent: 10, credits: keep}"
SEAT = (
    "{id: all, kind: fixed_price, unit_price: '60', currency: EUR, prorate: false, credits: price}"
)
REFUNDS = "{id: refunds, kind: pass_through, match: {charge_type: Refund}}"


@pytest.mark.parametrize(
    "rules, billed",
    [([KEEP], []), ([SEAT], [("all", -60)]), ([KEEP, REFUNDS], [("refunds", Decimal("-55.2"))])],
    ids=["kept", "priced-per-seat", "refund-rule"],
)
def test_an_azure_refund_rates_alike_from_the_cost_export_and_from_focus(tmp_path, rules, billed):
    """One Azure refund, from the cost export (C1) and from the FOCUS export (C2): a Credit of
    charge type Refund from both, so a rule's credits setting and a rule for refunds treat them
    alike. Through FOCUS it was a Purchase of no quantity and of charge type Purchase: billed at
    the markup under ``credits: keep`` (kept from the cost export), refused by a seat price (no
    quantity) that refunds one seat from the cost export, and missed by a rule for refunds."""
    from rating_helpers import ACCOUNTS, rated_store, write_parameters

    from billing_lib.rating import rate_lines

    focus = tmp_path / "focus.csv"
    focus.write_text(AZURE_REFUND_FOCUS, encoding="utf-8")
    export = tmp_path / "mca.csv"
    mca = (SAMPLES.parent / "azure-cost-details" / "mca-actual-cost-2026-10.csv").read_text()
    export.write_text("\n".join(mca.splitlines()[i] for i in (0, 3)) + "\n", encoding="utf-8")
    accounts = ACCOUNTS + (
        "microsoft,c3f0a9b8-7d6e-4c5b-a4f3-e2d1c0b9a8f7,C1,,,\n"
        "microsoft,/subscriptions/9e1b2c3d-0000-4000-8000-000000000001,C2,,,\n"
    )
    listed = "".join(f"      - {r}\n" for r in rules)
    plans = f"plans:\n  - id: p\n    rules:\n{listed}assignments:\n  - {{plan: p, group: smb}}\n"
    params = write_parameters(tmp_path / "parameters", plans, accounts=accounts)
    con = open_store()
    import_reports(con, [export, focus])
    con, pricing, customers = rated_store(params, [], con)
    rate_lines(con, pricing, customers, "2026-10")
    got = con.execute(
        "SELECT customer_id, charge_category, quantity, rule_id, amount FROM rated_lines "
        "WHERE line_kind = 'vendor' ORDER BY customer_id"
    ).fetchall()
    assert got == [(c, "Credit", -1, *b) for c in ("C1", "C2") for b in billed]
    kept = con.execute("SELECT x_CustomerId, reason FROM excluded_lines ORDER BY 1").fetchall()
    assert kept == (
        [] if billed else [(c, "credit kept by reseller (rule all)") for c in ("C1", "C2")]
    )


def test_a_negative_purchase_that_is_no_correction_is_still_refused(tmp_path):
    path = tmp_path / "focus.csv"
    path.write_text(
        "SubAccountId,ChargeCategory,ChargeClass,ChargePeriodStart,BilledCost,BillingCurrency,"
        "PricingQuantity\n"
        "s1,Purchase,,2026-10-01,-40.12,EUR,1\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    assert "contradicting signs" in str(err.value) and "ChargeClass" in str(err.value)
    assert [p.row for p in err.value.problems] == [2]


def test_an_empty_charge_period_end_is_refused_where_the_file_has_the_column(tmp_path):
    """FOCUS: ChargePeriodEnd must not be empty. A row that leaves it empty had no end, so a seat
    price billed it a whole month; a file without the column at all reads as before."""
    path = tmp_path / "focus.csv"
    path.write_text(
        "SubAccountId,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,BilledCost,BillingCurrency\n"
        "s1,Purchase,2026-10-20,2026-11-01,40.12,EUR\n"
        "s1,Purchase,2026-10-20,,22.00,EUR\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (3, "ChargePeriodEnd")
    assert "must not be empty" in str(err.value)

    without = tmp_path / "focus-without-end.csv"
    without.write_text(
        "SubAccountId,ChargeCategory,ChargePeriodStart,BilledCost,BillingCurrency\n"
        "s1,Purchase,2026-10-20,22.00,EUR\n",
        encoding="utf-8",
    )
    con = open_store()
    import_reports(con, [without])
    assert con.execute("SELECT count(*) FROM lines WHERE ChargePeriodEnd IS NULL").fetchone() == (
        1,
    )


#: Azure usage charged on 9 October and corrected (given back) as Microsoft's FOCUS export writes
#: a correction: ChargeClass Correction, the cost negative, the quantity and the list cost
#: positive, as the cost export prints them; and an AWS Savings Plan negation as the FinOps
#: Foundation's converter writes it (ListCost the public on-demand rate x the usage amount).
CORRECTED_USAGE_FOCUS = (
    "BilledCost,BillingAccountId,BillingCurrency,ChargeCategory,ChargeClass,ChargePeriodEnd,"
    "ChargePeriodStart,CommitmentDiscountId,EffectiveCost,ListCost,ListUnitPrice,"
    "PricingQuantity,ProviderName,PublisherName,SubAccountId\n"
    "10,ba1,EUR,Usage,,2026-10-10T00:00:00Z,2026-10-09T00:00:00Z,,10,12,12,1,Microsoft,"
    "Microsoft,/subscriptions/9e1b2c3d-0000-4000-8000-000000000001\n"
    "-10,ba1,EUR,Usage,Correction,2026-10-10T00:00:00Z,2026-10-09T00:00:00Z,,-10,12,12,1,"
    "Microsoft,Microsoft,/subscriptions/9e1b2c3d-0000-4000-8000-000000000001\n"
    "5,ba1,EUR,Usage,,2026-10-10T00:00:00Z,2026-10-09T00:00:00Z,sp-1,2,5,5,1,Microsoft,"
    "Microsoft,/subscriptions/9e1b2c3d-0000-4000-8000-000000000001\n"
    "-5,ba1,EUR,Usage,,2026-10-10T00:00:00Z,2026-10-09T00:00:00Z,sp-1,0,5,5,1,Microsoft,"
    "Microsoft,/subscriptions/9e1b2c3d-0000-4000-8000-000000000001\n"
)


def test_money_given_back_on_usage_is_given_back_at_list_price_too(tmp_path):
    """A usage correction that gives money back (and a commitment's negation) keeps the list
    cost the provider wrote, positive beside a negative cost: a ``list_price`` rule billed it as
    a second charge (EUR 12.36 for the usage, 12.36 again for its refund). The Azure cost export
    gives a line's list cost the sign of its cost; so does FOCUS now, for every line giving money
    back, as it did only for a refunded purchase."""
    from rating_helpers import ACCOUNTS, rated_store, write_parameters

    from billing_lib.rating import rate_lines

    focus = tmp_path / "focus.csv"
    focus.write_text(CORRECTED_USAGE_FOCUS, encoding="utf-8")
    accounts = ACCOUNTS + "microsoft,/subscriptions/9e1b2c3d-0000-4000-8000-000000000001,C2,,,\n"
    plans = (
        "plans:\n  - id: p\n    rules:\n"
        "      - {id: list, kind: list_price, uplift_percent: 3}\n"
        "assignments:\n  - {plan: p, group: smb}\n"
    )
    params = write_parameters(tmp_path / "parameters", plans, accounts=accounts)
    con = open_store()
    import_reports(con, [focus])
    listed = con.execute("SELECT ListCost FROM lines ORDER BY x_SourceRow").fetchall()
    assert [c for (c,) in listed] == [Decimal(12), Decimal(-12), Decimal(5), Decimal(-5)]
    con, pricing, customers = rated_store(params, [], con)
    rate_lines(con, pricing, customers, "2026-10")
    got = con.execute(
        "SELECT amount FROM rated_lines WHERE line_kind = 'vendor' ORDER BY source_row"
    ).fetchall()
    assert [a for (a,) in got] == [
        Decimal("12.36"),
        Decimal("-12.36"),
        Decimal("5.15"),
        Decimal("-5.15"),
    ]


#: A month of Compute Engine in FOCUS with a committed use discount as Google Cloud bills one:
#: the usage at its on-demand price, the commitment's discount on it as a credit naming the
#: commitment (FOCUS: CommitmentDiscountId "MUST NOT be null when a charge is related to a
#: commitment discount"), the commitment's fee, and a promotional credit.
COMMITMENT_CREDIT_FOCUS = (
    "BilledCost,BillingAccountId,BillingCurrency,ChargeCategory,ChargeClass,ChargePeriodEnd,"
    "ChargePeriodStart,CommitmentDiscountId,EffectiveCost,PricingQuantity,ProviderName,"
    "SubAccountId\n"
    "100,01A2B3-C4D5E6-F7A8B9,EUR,Usage,,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,,100,50,"
    "Google Cloud,proj-a\n"
    "-60,01A2B3-C4D5E6-F7A8B9,EUR,Credit,,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,cud-1,-60,"
    "50,Google Cloud,proj-a\n"
    "50,01A2B3-C4D5E6-F7A8B9,EUR,Purchase,,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,cud-1,50,"
    "1,Google Cloud,proj-a\n"
    "-5,01A2B3-C4D5E6-F7A8B9,EUR,Credit,,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,,-5,,"
    "Google Cloud,proj-a\n"
)


def test_a_commitment_s_credit_is_part_of_the_usage_s_price_not_a_credit_kept(tmp_path):
    """A credit naming a commitment (CommitmentDiscountId) is the commitment's discount on the
    usage it covers, as AWS's Savings Plan negation is (a Usage line there). Read as a Credit,
    a rule's ``credits: keep`` kept it for the reseller: the customer paid the usage at its
    on-demand price and the commitment's fee too (EUR 165.00 for a vendor cost of 90.00). It is
    Usage now, priced with the usage; a promotional credit (no commitment) is still kept."""
    from rating_helpers import ACCOUNTS, rated_store, write_parameters

    from billing_lib.rating import rate_lines

    focus = tmp_path / "focus.csv"
    focus.write_text(COMMITMENT_CREDIT_FOCUS, encoding="utf-8")
    accounts = ACCOUNTS + "google,proj-a,C2,,,\n"
    plans = (
        "plans:\n  - id: p\n    rules:\n"
        "      - {id: google, kind: markup, percent: 10, credits: keep}\n"
        "assignments:\n  - {plan: p, group: smb}\n"
    )
    params = write_parameters(tmp_path / "parameters", plans, accounts=accounts)
    con = open_store()
    import_reports(con, [focus])
    got = con.execute(
        "SELECT ChargeCategory, x_VendorChargeType, PricingQuantity FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [
        ("Usage", "Usage", Decimal(50)),
        ("Usage", "Credit", None),  # money back on the covered usage, its quantity repeated
        ("Purchase", "Purchase", Decimal(1)),
        ("Credit", "Credit", None),
    ]
    con, pricing, customers = rated_store(params, [], con)
    rate_lines(con, pricing, customers, "2026-10")
    billed = con.execute(
        "SELECT source_row, amount FROM rated_lines WHERE line_kind = 'vendor' ORDER BY 1"
    ).fetchall()
    assert billed == [(2, Decimal(110)), (3, Decimal(-66)), (4, Decimal(55))]
    kept = con.execute("SELECT x_SourceRow, reason FROM excluded_lines").fetchall()
    assert kept == [(5, "credit kept by reseller (rule google)")]


def test_a_credit_correcting_an_earlier_bill_is_a_refund_as_the_cur_calls_it(tmp_path):
    """FOCUS 1.0 and later have no ChargeSubcategory: a refund of a charge billed before is a
    Credit of ChargeClass Correction ("a correction to a previously invoiced billing period"),
    a promotional credit a Credit without it. Both were of charge type Credit, so a rule for
    refunds (charge_type: Refund, the type the CURs and Azure's exports give a refund) missed
    the refund, and ``credits: keep`` kept it for the reseller. Such a credit is a Refund now,
    as a refunded purchase already was."""
    from rating_helpers import ACCOUNTS, rated_store, write_parameters

    from billing_lib.rating import rate_lines

    focus = tmp_path / "focus.csv"
    focus.write_text(
        "BilledCost,BillingAccountId,BillingCurrency,ChargeCategory,ChargeClass,ChargePeriodEnd,"
        "ChargePeriodStart,ProviderName,SubAccountId\n"
        "100,111122223333,EUR,Usage,,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,AWS,"
        "444455556666\n"
        "-25,111122223333,EUR,Credit,,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,AWS,"
        "444455556666\n"
        "-12.40,111122223333,EUR,Credit,Correction,2026-10-01T00:00:00Z,2026-09-01T00:00:00Z,"
        "AWS,444455556666\n",
        encoding="utf-8",
    )
    plans = (
        "plans:\n  - id: p\n    rules:\n"
        f"      - {KEEP}\n      - {REFUNDS}\n"
        "assignments:\n  - {plan: p, group: smb}\n"
    )
    accounts = ACCOUNTS + "aws,444455556666,C1,,,\n"
    params = write_parameters(tmp_path / "parameters", plans, accounts=accounts)
    con = open_store()
    import_reports(con, [focus])
    got = con.execute(
        "SELECT ChargeCategory, x_VendorChargeType FROM lines ORDER BY x_SourceRow"
    ).fetchall()
    assert got == [("Usage", "Usage"), ("Credit", "Credit"), ("Credit", "Refund")]
    con, pricing, customers = rated_store(params, [], con)
    rate_lines(con, pricing, customers, "2026-10")
    billed = con.execute(
        "SELECT source_row, rule_id, amount FROM rated_lines WHERE line_kind = 'vendor' ORDER BY 1"
    ).fetchall()
    assert billed == [(2, "all", Decimal(110)), (4, "refunds", Decimal("-12.4"))]
    kept = con.execute("SELECT x_SourceRow, reason FROM excluded_lines").fetchall()
    assert kept == [(3, "credit kept by reseller (rule all)")]


#: The SaaS spend agreement's first month (the FOCUS example's rows 2-4): its purchase (USD
#: 1200.00 billed, EffectiveCost 0: amortised over the usage), April's usage (billed 0, amortised
#: 48) and unused part (billed 0, amortised 12); no line names the commitment.
SAAS_PLAN = (
    "plans:\n  - id: saas\n    rules:\n"
    "      - {{id: acme-usage, kind: markup, percent: 10, basis: {usage},\n"
    "         match: {{vendor: acme co}}}}\n"
    "      - {{id: acme-purchase, kind: markup, percent: 10, basis: {purchase},\n"
    "         match: {{vendor: acme co, charge_category: Purchase}}}}\n"
    "assignments:\n  - {{plan: saas, group: enterprise}}\n"
)


def _saas_april(tmp_path, usage: str, purchase: str):
    """(store, pricing, customers) of the SaaS example's April (``SAAS_PLAN``'s bases) for
    Gamma (C3, USD)."""
    from rating_helpers import ACCOUNTS, rated_store, write_parameters

    focus = tmp_path / "saas-2025-04.csv"
    focus.write_text(
        "".join(SAAS.read_text(encoding="utf-8").splitlines(keepends=True)[:4]), encoding="utf-8"
    )
    params = write_parameters(
        tmp_path / "parameters",
        SAAS_PLAN.format(usage=usage, purchase=purchase),
        accounts=ACCOUNTS + "acme co,000-00-000,C3,,,\n",
    )
    con = open_store()
    import_reports(con, [focus])
    return rated_store(params, [], con)


def test_a_spend_commitment_bought_on_billed_cost_and_used_on_amortised_cost_is_refused(
    tmp_path,
):
    """The spend agreement's purchase priced on BilledCost (USD 1200.00, billed whole) and its
    usage on EffectiveCost (USD 48.00 and 12.00 of that same payment, spread over April) billed
    the commitment twice: no CommitmentDiscountId ties the lines together, so neither the
    review's "commitment priced apart" nor any check saw it. The rating refuses it, naming both
    rules and the lines."""
    from billing_lib.errors import ParameterError
    from billing_lib.rating import rate_lines

    con, pricing, customers = _saas_april(tmp_path, "EffectiveCost", "BilledCost")
    with pytest.raises(ParameterError) as err:
        rate_lines(con, pricing, customers, "2025-04")
    assert err.value.entry == "plans[id=saas].rules[id=acme-usage]"
    text = str(err.value)
    assert "saas-2025-04.csv row 2" in text and "plans[id=saas].rules[id=acme-purchase]" in text
    assert "row 3 and 1 more" in text and "USD 60 on EffectiveCost" in text, text
    assert "USD 1200 on BilledCost" in text, text


@pytest.mark.parametrize(
    "usage, purchase, billed",
    [
        ("EffectiveCost", "EffectiveCost", [(2, 0), (3, "52.8"), (4, "13.2")]),
        ("BilledCost", "BilledCost", [(2, 1320), (3, 0), (4, 0)]),
    ],
    ids=["amortised", "as-billed"],
)
def test_a_spend_commitment_priced_on_one_basis_is_billed_once(tmp_path, usage, purchase, billed):
    from billing_lib.rating import rate_lines

    con, pricing, customers = _saas_april(tmp_path, usage, purchase)
    rate_lines(con, pricing, customers, "2025-04")
    got = con.execute(
        "SELECT source_row, amount FROM rated_lines WHERE line_kind = 'vendor' ORDER BY 1"
    ).fetchall()
    assert got == [(row, Decimal(amount)) for row, amount in billed]
