"""Rules that match a resource tag (``match: {tag: {key: value}}``): which lines they price, on
the month's keys (a column per tag key some rule names, none in a month without such a rule),
the spans and exclusions that read the lines by key, and the what-if's figures as the run's."""

from decimal import Decimal as D

import pytest
from rating_helpers import group_plan, line, rated_store, write_parameters

from billing_lib import analysis
from billing_lib.errors import ParameterError
from billing_lib.rating import rate_lines
from billing_lib.rating.spans import spans
from billing_lib.sql import ql
from billing_lib.whatif import (
    MINIMUM_FEES_PARQUET,
    TERMS_PARQUET,
    reprice_customer,
    write_minimum_fees,
    write_terms,
)

CATCH_ALL = "{id: all, kind: markup, percent: 10}"
MSP = "{id: msp, kind: markup, percent: 20, match: {tag: {managed-by: msp}}}"


def rate(tmp_path, plans: str, rows: list[dict]):
    params = write_parameters(tmp_path, plans)
    con, pricing, customers = rated_store(params, rows)
    rate_lines(con, pricing, customers, "2026-10")
    return con


def rules_by_row(con) -> list[tuple[int, str, D]]:
    return con.execute(
        "SELECT source_row, rule_id, amount FROM rated_lines WHERE line_kind = 'vendor' "
        "ORDER BY source_row"
    ).fetchall()


def tagged(tags: str | None, **values) -> dict:
    """An AWS usage line of 10 USD (9 EUR on 1 October) with the Tags text ``tags``."""
    return line(Tags=tags, **values)


def test_a_tag_rule_prices_the_lines_with_that_tag_whatever_the_case(tmp_path):
    """The tag's value and key are compared whatever their case (Azure's keys are
    case-insensitive); a line without the tag, with another value, or with the value under
    another key keeps the plan's other rule."""
    con = rate(
        tmp_path,
        group_plan(CATCH_ALL, MSP),
        [
            tagged('{"managed-by":"msp"}'),
            tagged('{"Managed-By":"MSP","env":"prod"}'),
            tagged('{"managed-by":"customer"}'),
            tagged('{"owner":"msp"}'),
            tagged(None),
            tagged('{"managed-by":" msp"}'),  # a vendor's value as it is: not trimmed
        ],
    )
    assert rules_by_row(con) == [
        (2, "msp", D("10.8")),
        (3, "msp", D("10.8")),
        (4, "all", D("9.9")),
        (5, "all", D("9.9")),
        (6, "all", D("9.9")),
        (7, "all", D("9.9")),
    ]


def test_a_tag_key_is_found_in_any_case_also_written_as_json_escapes(tmp_path):
    """A key with spaces, quotes, a backslash or a dot is read as one key (not a JSON path), and
    one whose capitals a file writes as JSON escapes (``\\u00c9``) whatever their case too."""
    rules = [
        CATCH_ALL,
        "{id: team, kind: markup, percent: 20, match: {tag: {Équipe: Rouge}}}",
        "{id: odd, kind: markup, percent: 30, match: {vendor: aws, tag: {'a \"b\\c.d': x}}}",
    ]
    con = rate(
        tmp_path,
        group_plan(*rules),
        [
            tagged('{"\\u00c9quipe":"rouge"}'),
            tagged('{"ÉQUIPE":"ROUGE"}'),
            tagged('{"équipe":"bleu"}'),
            tagged('{"a \\"b\\\\c.d":"X"}'),
            tagged('{"a":{"b":"x"}}'),
        ],
    )
    assert [(row, rule) for row, rule, _ in rules_by_row(con)] == [
        (2, "team"),
        (3, "team"),
        (4, "all"),
        (5, "odd"),
        (6, "all"),
    ]


def test_two_tags_must_both_hold_and_the_more_specific_rule_wins(tmp_path):
    """A rule of two tags prices only lines with both; it beats a rule of one of them (one field
    more), which beats the plan's rule of the vendor alone; a customer's own rule beats them
    all."""
    plans = group_plan(
        CATCH_ALL,
        "{id: aws, kind: markup, percent: 12, match: {vendor: aws}}",
        "{id: prod, kind: markup, percent: 15, match: {vendor: aws, tag: {env: prod}}}",
        "{id: msp-prod, kind: markup, percent: 30, "
        "match: {vendor: aws, tag: {env: prod, managed-by: msp}}}",
        "{id: c2, kind: markup, percent: 5, match: {customer: C2}}",
    )
    con = rate(
        tmp_path,
        plans,
        [
            tagged('{"env":"prod","managed-by":"msp"}'),
            tagged('{"env":"prod"}'),
            tagged('{"managed-by":"msp"}'),
            tagged('{"env":"dev","managed-by":"msp"}'),
            tagged('{"env":"prod","managed-by":"msp"}', SubAccountId="222"),
        ],
    )
    assert rules_by_row(con) == [
        (2, "msp-prod", D("11.7")),
        (3, "prod", D("10.35")),
        (4, "aws", D("10.08")),
        (5, "aws", D("10.08")),
        (6, "c2", D("9.45")),
    ]


def test_a_month_without_tag_rules_keys_no_tag_and_one_with_them_a_column_per_key(tmp_path):
    """Only the tag keys some rule names are part of a line's key, one column each: a month
    whose plans name none has the keys it had before (one per customer, vendor, category,
    currency and date segment here), one with two tag keys a column for each."""
    rows = [tagged('{"env":"prod","a":"1"}'), tagged('{"env":"dev","a":"2"}'), tagged(None)]
    con = rate(tmp_path / "none", group_plan(CATCH_ALL), rows)
    columns = [c for c, *_ in con.execute("DESCRIBE rating_line_keys").fetchall()]
    assert not [c for c in columns if c.startswith("tag")]
    assert con.execute("SELECT count(*) FROM rating_line_keys").fetchone() == (1,)

    plans = group_plan(
        CATCH_ALL,
        "{id: prod, kind: markup, percent: 15, match: {tag: {ENV: prod}}}",
        "{id: team, kind: markup, percent: 15, match: {tag: {team: x, env: dev}}}",
    )
    con = rate(tmp_path / "two", plans, rows)
    columns = [c for c, *_ in con.execute("DESCRIBE rating_line_keys").fetchall()]
    assert [c for c in columns if c.startswith("tag")] == ["tag_1", "tag_2"]  # env, team
    keys = con.execute("SELECT tag_1, tag_2, lines FROM rating_line_keys ORDER BY 1").fetchall()
    assert keys == [("dev", None, 1), ("prod", None, 1), (None, None, 1)]
    assert [r for _, r, _ in rules_by_row(con)] == ["prod", "all", "all"]


def test_lines_a_tag_rule_excludes_keep_the_columns_of_the_customer_lines(tmp_path):
    """An exclusion by tag: the excluded lines have the customer lines' columns and no column
    of the key's tags."""
    plans = group_plan(
        CATCH_ALL, "{id: lab, kind: exclude, reason: internal lab, match: {tag: {env: lab}}}"
    )
    con = rate(tmp_path, plans, [tagged('{"env":"lab"}'), tagged('{"env":"prod"}')])
    excluded = con.execute("SELECT x_SourceRow, reason FROM excluded_lines").fetchall()
    assert excluded == [(2, "excluded by rule lab: internal lab")]
    described = [c for c, *_ in con.execute("DESCRIBE excluded_lines").fetchall()]
    customer_lines = [c for c, *_ in con.execute("DESCRIBE customer_lines").fetchall()]
    assert described == [*customer_lines, "reason", "plan_id", "rule_id"]
    assert [r for _, r, _ in rules_by_row(con)] == ["all"]


def test_a_line_no_rule_matches_is_named_with_its_tags(tmp_path):
    """A plan of tag rules only: the lines without the tag match no rule, and the error names
    the key's tag values beside its other fields."""
    plans = group_plan(MSP)
    with pytest.raises(ParameterError) as err:
        rate(tmp_path, plans, [tagged('{"managed-by":"msp"}'), tagged('{"managed-by":"me"}')])
    text = str(err.value)
    assert "no rule matches these lines of customer 'C1'" in text, text
    assert "vendor 'aws', charge_category 'Usage', tag managed-by 'me' on 2026-10-01" in text


def test_usage_across_the_day_a_tag_rule_starts_is_a_price_span(tmp_path):
    """A tag rule from 16 October and a month-long line with the tag: the key is resolved again
    on the 16th (with its tag column), and the review's span names both rules."""
    plans = group_plan(
        CATCH_ALL,
        "{id: msp, kind: markup, percent: 20, match: {tag: {managed-by: msp}}, "
        "valid_from: 2026-10-16}",
    )
    # in EUR: no exchange rate changes on the 16th
    month = {
        "ChargePeriodEnd": line()["ChargePeriodStart"].replace(month=11),
        "BillingCurrency": "EUR",
    }
    con = rate(
        tmp_path,
        plans,
        [tagged('{"managed-by":"msp"}', **month), tagged('{"managed-by":"x"}', **month)],
    )
    found = [(s.kind, s.before, s.after, s.lines) for s in spans(con)]
    assert found == [("price", "p/all", "p/msp", 1)]


def test_the_what_if_as_the_run_priced_gives_the_run_s_amounts_of_tag_rules(tmp_path):
    """The what-if re-prices the rated lines, which keep their rule and amount: without a markup
    (the run's figures) it gives each tag rule's amounts as the run, on the run's store and read
    back from a run folder (the margin notebook); with one it re-prices every vendor line."""
    con = rate(
        tmp_path,
        group_plan(CATCH_ALL, MSP),
        [tagged('{"managed-by":"msp"}'), tagged('{"managed-by":"me"}'), tagged(None)],
    )
    run = con.execute(
        "SELECT rule_id, amount FROM rated_lines WHERE customer_id = 'C1' ORDER BY source_row"
    ).fetchall()
    assert run == [("msp", D("10.8")), ("all", D("9.9")), ("all", D("9.9"))]
    folder = tmp_path / "outputs" / "2026-10"
    folder.mkdir(parents=True)
    con.execute(f"COPY rated_lines TO {ql(str(folder / 'rated_lines.parquet'))} (FORMAT parquet)")
    write_minimum_fees(con, "2026-10", folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", folder / TERMS_PARQUET)
    lines = con.execute("SELECT * FROM rated_lines WHERE customer_id = 'C1'").df()
    on_the_run = reprice_customer(con, "C1", None)
    in_notebook = analysis.repricer(tmp_path / "outputs")(lines, "C1", None)
    for what_if in (on_the_run, in_notebook):
        got = what_if.sort_values("source_row")[["rule_id", "amount"]].values.tolist()
        assert got == [list(r) for r in run]
    totals = reprice_customer(con, "C1", None, totals=True)
    assert totals["invoiced"].tolist() == [D("30.60")]
    marked_up = reprice_customer(con, "C1", "50")
    assert sorted(marked_up["amount"].tolist()) == [D("13.5")] * 3
