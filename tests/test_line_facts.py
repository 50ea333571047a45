"""line_facts: the counts of one scan of a file's lines that let the later checks pass without
reading the lines again; each count is what the check's own query would find."""

from datetime import datetime
from decimal import Decimal

import duckdb

from billing_lib.importers import spec_named
from billing_lib.importers.line_facts import FACTS, LineFacts, line_facts
from billing_lib.model import LINE_COLUMN_NAMES, lines_table_sql

AWS = spec_named("aws_cur_legacy")


def _new(*lines: dict) -> duckdb.DuckDBPyConnection:
    """A connection whose ``__new`` holds ``lines`` (the line model, a valid usage line of
    2026-10 unless a field is given)."""
    con = duckdb.connect()
    con.execute(lines_table_sql("__new"))
    for row, fields in enumerate(lines, start=2):
        line = {
            "SubAccountId": "111",
            "ProviderName": "AWS",
            "ChargeCategory": "Usage",
            "ChargePeriodStart": datetime(2026, 10, 3),
            "ChargePeriodEnd": datetime(2026, 10, 3, 1),
            "PricingQuantity": Decimal("2"),
            "BilledCost": Decimal("1.50"),
            "BillingCurrency": "USD",
            "x_Vendor": "aws",
            "x_Format": "aws_cur_legacy",
            "x_SourceFile": "cur.csv",
            "x_SourceRow": row,
            "x_VendorLineId": f"line-{row}@2026-10-03T00:00:00Z/2026-10-03T01:00:00Z",
            **fields,
        }
        names = [n for n in LINE_COLUMN_NAMES if n in line]
        con.execute(
            f"INSERT INTO __new ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [line[n] for n in names],
        )
    return con


def test_valid_lines_of_the_period_give_nothing_to_look_at():
    con = _new({}, {"BilledCost": Decimal("2.25"), "ChargeCategory": "Tax"})
    assert line_facts(con, AWS, "2026-10") == LineFacts(
        0, 0, 2, datetime(2026, 10, 3), datetime(2026, 10, 3, 1)
    )


def test_each_broken_rule_counts_its_lines():
    con = _new(
        {},
        {"SubAccountId": None},  # mandatory
        {"ChargeCategory": "Refund"},  # not a FOCUS category
        {"ChargeFrequency": "Hourly"},
        {"BillingCurrency": "usd"},  # not a three-letter ISO code
        {"Tags": '["a"]'},  # not a JSON object
        {"PricingQuantity": Decimal("-1")},  # a negative quantity at a positive cost
        {"ChargePeriodStart": datetime(2026, 9, 3), "ChargePeriodEnd": datetime(2026, 9, 4)},
    )
    facts = line_facts(con, AWS, "2026-10")
    assert (facts.broken, facts.wrong_signs, facts.in_period) == (5, 1, 7)
    assert (facts.first_start, facts.last_end) == (datetime(2026, 9, 3), datetime(2026, 10, 3, 1))


def test_the_sums_per_category_and_currency_are_exact():
    con = _new(
        {"BilledCost": Decimal("0.000000000001")},
        {"BilledCost": Decimal("12345678901234.123456789012")},
        {"BilledCost": Decimal("-3"), "PricingQuantity": Decimal("-1"), "ChargeCategory": "Credit"},
        {"BillingCurrency": "EUR"},
    )
    line_facts(con, AWS)
    assert con.execute(
        f"SELECT ChargeCategory, BillingCurrency, lines, cost FROM {FACTS} ORDER BY 1, 2"
    ).fetchall() == [
        ("Credit", "USD", 1, Decimal("-3")),
        ("Usage", "EUR", 1, Decimal("1.5")),
        ("Usage", "USD", 2, Decimal("12345678901234.123456789013")),
    ]


def test_without_a_period_nothing_is_counted_for_it():
    assert line_facts(_new({}), AWS).in_period is None


def test_no_lines_give_no_charge_period():
    assert line_facts(_new(), AWS, "2026-10") == LineFacts(0, 0, 0, None, None)


def test_lines_without_a_vendor_line_id_are_counted():
    # an AWS CUR exported without its identity columns: compared across reports by what it bills
    con = _new({}, {"x_VendorLineId": None}, {"x_VendorLineId": None, "BillingCurrency": "EUR"})
    assert line_facts(con, AWS).without_line_id == 2
    assert line_facts(_new({}), AWS).without_line_id == 0
