"""Price plans and custom lines: what loads, and a clear message naming the file and the entry for
every bad input."""

import re
from datetime import date
from decimal import Decimal

import pytest
from rating_helpers import CUSTOMERS, entry_named, group_plan, line, rated_store, write_parameters

from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.pricing import load_pricing
from billing_lib.rating import rate_lines

GOOD = """
plans:
  - id: std
    valid_from: 2026-01-01
    rules:
      - {id: aws, kind: markup, percent: 12.5, match: {provider: AWS}}
      - {id: aws-ec2, kind: markup, percent: 8, basis: EffectiveCost,
         match: {provider: AWS, service: Amazon EC2}}
      - {id: ms, kind: list_price, discount_percent: 5, match: {provider: Microsoft}}
      - {id: seat, kind: fixed_price, unit_price: "30.00", currency: EUR,
         match: {provider: Microsoft, sku: M365-E3}}
      - id: s3
        kind: tiered
        currency: EUR
        match: {provider: AWS, service: Amazon S3}
        tiers: [{up_to: 1000, unit_price: "0.025"}, {unit_price: "0.02"}]
      - {id: rest, kind: pass_through}
      - {id: lab, kind: exclude, reason: internal lab, match: {customer: C2}}
      - {id: min, kind: minimum_fee, amount: "100", currency: EUR}
  - id: usd
    rules:
      - {id: all, kind: markup, percent: 10}
assignments:
  - {plan: std, group: smb}
  - {plan: usd, customer: C3, valid_from: 2026-10-01}
"""


def load(tmp_path, plans: str = GOOD, custom: str | None = None):
    params = write_parameters(tmp_path, plans, custom)
    return load_pricing(params, load_customers(params))


def error(tmp_path, plans: str = GOOD, custom: str | None = None) -> str:
    with pytest.raises(ParameterError) as err:
        load(tmp_path, plans, custom)
    return str(err.value)


def test_a_good_plan_loads_with_exact_numbers(tmp_path):
    pricing = load(tmp_path)
    rules = {r.id: r for r in pricing.plans["std"].rules}
    assert rules["aws"].percent == Decimal("12.5") and isinstance(rules["aws"].percent, Decimal)
    assert rules["aws-ec2"].basis == "EffectiveCost"
    assert rules["s3"].tiers[0].up_to == 1000 and rules["s3"].tiers[1].unit_price == Decimal("0.02")
    assert rules["rest"].specificity == 0 and rules["aws-ec2"].specificity == 2
    assert sorted((a.customer_id, a.level) for a in pricing.assignments) == [
        ("C1", 1),
        ("C2", 1),
        ("C3", 2),
    ]


def test_rules_of_two_regions_do_not_tie_and_one_of_a_region_beats_the_others(tmp_path):
    """``region`` is a match field like the others: trimmed, counted in the specificity (S3 of a
    region beats the plan's S3 tiers), and two rules that differ in it match no line together;
    two of one region (whatever its case) tie, as would a region's rule and another of as many
    fields (AWS EC2) that a line could match both of."""
    s3 = "match: {provider: AWS, service: Amazon S3, region: "
    regions = GOOD.replace(
        "{id: rest, kind: pass_through}",
        "{id: rest, kind: pass_through}\n"
        f"      - {{id: s3-fra, kind: markup, percent: 20, {s3}' eu-central-1'}}}}\n"
        f"      - {{id: s3-iad, kind: markup, percent: 14, {s3}us-east-1}}}}",
    )
    rules = {r.id: r for r in load(tmp_path / "two", regions).plans["std"].rules}
    assert rules["s3-fra"].match.region == "eu-central-1"
    assert rules["s3-fra"].specificity == 3 > rules["s3"].specificity
    for name, plans, pair in [
        (
            "tie",
            regions.replace("region: us-east-1", "region: EU-Central-1"),
            "s3-fra] and rules[id=s3-iad",
        ),
        (
            "ec2",
            regions.replace(f"{s3}us-east-1", "match: {provider: AWS, region: us-east-1"),
            "aws-ec2] and rules[id=s3-iad",
        ),
    ]:
        expect(
            error(tmp_path / name, plans),
            "price_plans.yaml",
            f"plans[id=std].rules[id={pair}]",
            "equally specific",
        )


def test_an_azure_region_is_read_in_any_spelling_microsoft_writes(tmp_path):
    """A Microsoft rule's ``region`` is Azure's programmatic name however it is written (the
    lines hold it so: billing_lib.azure_regions), and so is a rule of no vendor naming an Azure
    region; AWS's codes and another vendor's data centres stay as written. Two rules of one
    region written two ways tie."""
    spelt = {
        "ms-display": "{vendor: microsoft, region: West Europe, service: Virtual Machines}",
        "ms-legacy": "{vendor: Azure, region: EU West, service: Storage}",
        "ms-upper": "{vendor: microsoft, region: EASTUS2, service: Storage}",
        "ms-new": "{vendor: microsoft, region: Atlantis Central, service: Storage}",
        "any-legacy": "{region: US East 2, service: Virtual Machines, charge_category: Usage}",
        "any-dc": "{region: Amsterdam DC1, service: Virtual Machines, charge_category: Usage}",
        "aws-code": "{vendor: aws, region: EU-Central-1, service: Amazon Athena}",
        "vmware-dc": "{vendor: vmware, region: West Europe, service: vSAN}",
    }
    rules = "".join(
        f"\n      - {{id: {k}, kind: markup, percent: 5, match: {v}}}" for k, v in spelt.items()
    )
    plans = GOOD.replace("{id: rest, kind: pass_through}", "{id: rest, kind: pass_through}" + rules)
    loaded = {r.id: r.match.region for r in load(tmp_path / "spelt", plans).plans["std"].rules}
    assert {k: loaded[k] for k in spelt} == {
        "ms-display": "westeurope",
        "ms-legacy": "westeurope",
        "ms-upper": "eastus2",
        "ms-new": "atlantiscentral",
        "any-legacy": "eastus2",
        "any-dc": "Amsterdam DC1",
        "aws-code": "EU-Central-1",
        "vmware-dc": "West Europe",
    }
    tie = GOOD.replace(
        "{id: rest, kind: pass_through}",
        "{id: rest, kind: pass_through}\n"
        "      - {id: we, kind: markup, percent: 5,\n"
        "         match: {vendor: microsoft, region: West Europe, service: Storage}}\n"
        "      - {id: euw, kind: markup, percent: 6,\n"
        "         match: {vendor: microsoft, region: EU West, service: Storage}}",
    )
    expect(
        error(tmp_path / "tie", tie),
        "price_plans.yaml",
        "plans[id=std].rules[id=we] and rules[id=euw]",
        "equally specific",
        "region 'westeurope'",
    )


def test_float_percent_is_read_by_its_text_not_its_binary_value(tmp_path):
    pricing = load(tmp_path, GOOD.replace("percent: 12.5", "percent: 0.1"))
    assert pricing.plans["std"].rules[0].percent == Decimal("0.1")


def expect(text: str, file: str, entry: str, *fragments: str) -> None:
    assert re.search(entry_named(file, entry) + ":", text), text
    for f in fragments:
        assert f in text, text


@pytest.mark.parametrize(
    ("old", "new", "entry", "fragment"),
    [
        (
            "{plan: std, group: smb}",
            "{plan: gold, group: smb}",
            "assignments[0].plan",
            "unknown plan 'gold'",
        ),
        (
            "{plan: usd, customer: C3,",
            "{plan: usd, customer: C9,",
            "assignments[1].customer",
            "unknown customer 'C9'",
        ),
        (
            "{plan: std, group: smb}",
            "{plan: std, group: vip}",
            "assignments[0].group",
            "no customer is in group 'vip'",
        ),
        (
            "{plan: std, group: smb}",
            "{plan: std, group: smb, customer: C1}",
            "assignments[0]",
            "exactly one of customer or group",
        ),
        (
            "percent: 12.5, match",
            "percent: -3, match",
            "plans[id=std].rules[id=aws].percent",
            "a negative markup (-3 %) is not allowed",
        ),
        (
            "percent: 12.5, match",
            "percent: 1500, match",
            "plans[id=std].rules[id=aws].percent",
            "a markup of 1500 % is not plausible",
        ),
        (
            "percent: 12.5, match",
            "percent: 12.1234567, match",
            "plans[id=std].rules[id=aws].percent",
            "no more than 6 decimal places",
        ),
        (
            "discount_percent: 5",
            "discount_percent: 105",
            "plans[id=std].rules[id=ms].discount_percent",
            "a discount of 105 % is not plausible",
        ),
        (
            "discount_percent: 5",
            "discount_percent: 5, uplift_percent: 2",
            "plans[id=std].rules[id=ms]",
            "exactly one of discount_percent or uplift_percent",
        ),
        (
            "kind: pass_through}",
            "kind: passthrough}",
            "plans[id=std].rules[id=rest]",
            "does not match any of the expected tags",
        ),
        (
            "basis: EffectiveCost",
            "basis: AmortizedCost",
            "plans[id=std].rules[id=aws-ec2].basis",
            "'BilledCost' or 'EffectiveCost'",
        ),
        (
            '{up_to: 1000, unit_price: "0.025"}, {unit_price: "0.02"}',
            '{up_to: 1000, unit_price: "0.025"}, {up_to: 900, unit_price: "0.02"}',
            "plans[id=std].rules[id=s3]",
            "the last tier must have no up_to",
        ),
        (
            '{up_to: 1000, unit_price: "0.025"}, {unit_price: "0.02"}',
            '{up_to: 1000, unit_price: "0.025"}, {up_to: 500, unit_price: "0.02"}, '
            '{unit_price: "0.01"}',
            "plans[id=std].rules[id=s3]",
            "tier bounds must increase",
        ),
        ("reason: internal lab, ", "", "plans[id=std].rules[id=lab].reason", "Field required"),
        (
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {charge_category: Tax}}",
            "plans[id=std].rules[id=rest].match.charge_category",
            "vendor taxes (ChargeCategory Tax) are never billed",
        ),
        (
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {provder: AWS}}",
            "plans[id=std].rules[id=rest].match.provder",
            "unknown key 'provder'; did you mean 'provider'?",
        ),
        (  # a blank region matched no line: the catch-all priced the region's in silence
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {region: ' '}}",
            "plans[id=std].rules[id=rest].match.region",
            "a blank value matches nothing",
        ),
        (  # rated lines keep no region: a minimum of one region could count nothing
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR}',
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR, '
            "match: {region: eu-west-1}}",
            "plans[id=std].rules[id=min].match",
            "a minimum fee cannot be scoped by region",
        ),
        (  # a tag is a mapping of keys to values
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {tag: managed-by}}",
            "plans[id=std].rules[id=rest].match.tag",
            "expected a mapping of tag keys to values, e.g. tag: {managed-by: msp}",
        ),
        (
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {tag: {}}}",
            "plans[id=std].rules[id=rest].match.tag",
            "an empty tag matches every line",
        ),
        (
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {tag: {' ': msp}}}",
            "plans[id=std].rules[id=rest].match.tag",
            "a blank tag key matches nothing",
        ),
        (
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {tag: {managed-by: ' '}}}",
            "plans[id=std].rules[id=rest].match.tag",
            "the value of tag 'managed-by' is blank: a blank value matches nothing",
        ),
        (  # YAML reads 2026 as a number, 010 as 8, 1.10 as 1.1: never the tag's text
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {tag: {year: 2026}}}",
            "plans[id=std].rules[id=rest].match.tag",
            "the value of tag 'year' is 2026, not text: quote it ('2026')",
        ),
        (
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {tag: {Env: prod, env: dev}}}",
            "plans[id=std].rules[id=rest].match.tag",
            "tag 'env' is given twice (as 'Env' and 'env'); keys are compared whatever",
        ),
        (
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {tag: {"
            + ", ".join(f"k{n}: v" for n in range(21))
            + "}}}",
            "plans[id=std].rules[id=rest].match.tag",
            "at most 20 tags",
        ),
        (  # a fee counts its scope's invoice lines as printed; a tag splits none of them
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR}',
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR, '
            "match: {tag: {managed-by: msp}}}",
            "plans[id=std].rules[id=min].match",
            "a minimum fee cannot be scoped by tag",
        ),
        (
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR}',
            "{id: min, kind: percent_fee, percent: 5, match: {tag: {managed-by: msp}}}",
            "plans[id=std].rules[id=min].match",
            "a percent fee cannot be scoped by tag",
        ),
        (
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR}',
            '{id: min, kind: allowance, amount: "10", currency: EUR, '
            "match: {tag: {managed-by: msp}}}",
            "plans[id=std].rules[id=min].match",
            "an allowance cannot be scoped by tag",
        ),
        (
            "{id: rest, kind: pass_through}",
            "{id: rest, kind: pass_through, match: {tags: {env: prod}}}",
            "plans[id=std].rules[id=rest].match.tags",
            "unknown key 'tags'; did you mean 'tag'?",
        ),
        (
            "match: {customer: C2}",
            "match: {customer: C7}",
            "plans[id=std].rules[id=lab].match.customer",
            "unknown customer 'C7'",
        ),
        (
            "{id: rest, kind: pass_through}",
            "{id: aws, kind: pass_through}",
            "plans[id=std].rules[id=aws]",
            "used twice",
        ),
        # oversized or over-precise money: DuckDB's "Could not convert string ... to
        # DECIMAL(38,12)" before, or a price rounded to 12 places without a word
        (
            'unit_price: "30.00"',
            'unit_price: "1000000000000000000000000000.00"',
            "plans[id=std].rules[id=seat].unit_price",
            "expected an amount below 1000000000000 (a typing mistake?); got "
            "'1000000000000000000000000000.00'",
        ),
        (
            '{unit_price: "0.02"}',
            '{unit_price: "0.0000000000001"}',
            "plans[id=std].rules[id=s3].tiers[1].unit_price",
            "no more than 12 decimal places",
        ),
        (
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR}',
            '{id: min, kind: minimum_fee, amount: "1e15", currency: EUR}',
            "plans[id=std].rules[id=min].amount",
            "expected an amount below 1000000000000",
        ),
        (
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR}',
            '{id: min, kind: minimum_fee, amount: "100.005", currency: EUR}',
            "plans[id=std].rules[id=min]",
            "the minimum 100.005 has more decimals than EUR shows (2)",
        ),
        (  # its lines give money back: the whole minimum billed beside the credits
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR}',
            '{id: min, kind: minimum_fee, amount: "100", currency: EUR, '
            "match: {charge_category: Credit}}",
            "plans[id=std].rules[id=min].match",
            "a minimum fee cannot be scoped to charge_category Credit",
        ),
        (
            "  - {plan: usd, customer: C3, valid_from: 2026-10-01}",
            "  - {plan: std, customer: C1}\n  - {plan: std, customer: C1, valid_from: 2026-10-10}",
            "assignments[2] and assignments[1]",
            "customer 'C1' gets two own plans",
        ),
    ],
)
def test_bad_plans_name_the_file_and_entry(tmp_path, old, new, entry, fragment):
    assert old in GOOD
    expect(error(tmp_path, GOOD.replace(old, new)), "price_plans.yaml", entry, fragment)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("20261016", "20261016"),  # refused as "Datetimes provided to dates should have zero time"
        ("1760572800", "1760572800"),  # loaded as the Unix time of 2025-10-16
        ('"1760572800"', "'1760572800'"),  # the same, quoted
    ],
)
def test_a_rule_s_date_typed_as_a_number_is_refused_as_not_a_date(tmp_path, typed, shown):
    """A date is a day YYYY-MM-DD: a number (or digits in quotes) was read as seconds since
    1970, so ``valid_from: 1760572800`` put the rule in force from 16 October 2025, and
    ``20261016`` was refused in pydantic's words ("Datetimes provided to dates should have zero
    time"), naming no date at all."""
    plans = GOOD.replace(
        "{id: aws, kind: markup, percent: 12.5, match: {provider: AWS}}",
        f"{{id: aws, kind: markup, percent: 12.5, match: {{provider: AWS}}, valid_from: {typed}}}",
    )
    expect(
        error(tmp_path, plans),
        "price_plans.yaml",
        "plans[id=std].rules[id=aws].valid_from",
        f"expected a date YYYY-MM-DD, e.g. 2026-10-01, not a number; got {shown}",
    )


@pytest.mark.parametrize("credits", ["", ", credits: keep"])
def test_a_price_for_credits_only_that_its_credits_setting_never_applies_is_refused(
    tmp_path, credits
):
    """A markup of the credit lines (``match: {charge_category: Credit}``) with credits passed on
    at cost (the default) or kept: its markup never applied, the credits went at cost or to the
    reseller in silence. ``credits: price`` applies it; a pass-through or exclusion is fine."""
    rule = "{id: credits, kind: markup, percent: 50, match: {provider: VMware, charge_category: "
    rule += "Credit}"
    plans = GOOD.replace(
        "{id: rest, kind: pass_through}",
        f"{rule}{credits}}}\n      - {{id: rest, kind: pass_through}}",
    )
    expect(
        error(tmp_path / "refused", plans),
        "price_plans.yaml",
        "plans[id=std].rules[id=credits]",
        "the rule matches only credits (charge_category Credit), but its credits: "
        + ("keep" if credits else "pass_on"),
        "its markup never applies",
        "credits: price",
    )
    load(tmp_path / "price", plans.replace(f"{rule}{credits}}}", f"{rule}, credits: price}}"))
    load(tmp_path / "at-cost", plans.replace("kind: markup, percent: 50", "kind: pass_through"))


@pytest.mark.parametrize(
    "match",
    [
        "{charge_type: Refund}",
        "{vendor: aws, charge_type: credit}",
        "{vendor: microsoft, charge_type: Cancel Immediate}",
        "{vendor: microsoft, charge_type: RoundingAdjustment}",
        "{vendor: google, charge_type: Adjustment/Credit}",
    ],
)
def test_a_price_for_a_charge_type_only_credits_carry_that_its_credits_never_apply_is_refused(
    tmp_path, match
):
    """A markup of ``charge_type: Refund`` (a type the imports map to ChargeCategory Credit
    only) with credits passed on at cost: its markup never applied, the refunds went at cost in
    silence, as with ``charge_category: Credit``."""
    rule = f"{{id: refunds, kind: markup, percent: 10, match: {match}"
    plans = GOOD.replace(
        "{id: all, kind: markup, percent: 10}",
        f"{{id: all, kind: markup, percent: 10}}\n      - {rule}}}",
    )
    expect(
        error(tmp_path / "refused", plans),
        "price_plans.yaml",
        "plans[id=usd].rules[id=refunds]",
        "the rule matches only credits (charge_type ",
        "which the imports map to ChargeCategory Credit or Adjustment only), but its credits: "
        "pass_on",
        "credits: price",
    )
    load(tmp_path / "price", plans.replace(f"{rule}}}", f"{rule}, credits: price}}"))


@pytest.mark.parametrize(
    "match",
    [
        "{charge_type: Fee}",  # an AWS purchase
        "{vendor: microsoft, charge_type: new}",  # a purchase, or by its sign a credit
        "{vendor: google, charge_type: Usage/Discount}",
        "{charge_type: Refund, charge_category: Usage}",
    ],
)
def test_a_price_for_a_charge_type_charges_carry_too_loads(tmp_path, match):
    rule = f"{{id: types, kind: markup, percent: 10, match: {match}}}"
    plans = GOOD.replace(
        "{id: all, kind: markup, percent: 10}",
        f"{{id: all, kind: markup, percent: 10}}\n      - {rule}",
    )
    assert rule in plans
    assert [r.id for r in load(tmp_path, plans).plans["usd"].rules] == ["all", "types"]


@pytest.mark.parametrize("typed", ["SMB", "smbb"])
def test_a_customer_s_group_that_only_nearly_names_a_plan_s_group_is_refused(tmp_path, typed):
    """``group: SMB`` for the plans' ``smb``: the customer was on no plan, so a month without its
    lines billed it no minimum fee, without a word. A group no assignment names nor nearly names
    (C3's enterprise here) is the customer's own business."""
    customers = CUSTOMERS.replace(
        "NL000000008B01\n    invoice_currency: EUR\n    group: smb",
        f"NL000000008B01\n    invoice_currency: EUR\n    group: {typed}",
    )
    assert f"group: {typed}" in customers
    params = write_parameters(tmp_path, GOOD, customers=customers)
    with pytest.raises(ParameterError) as err:
        load_pricing(params, load_customers(params))
    expect(
        str(err.value),
        "customers.yaml",
        "customers[id=C1].group",
        f"no price plan is assigned to group {typed!r}",
        "did you mean 'smb'",
    )


def test_two_equally_specific_rules_that_can_meet_are_refused(tmp_path):
    # {provider: AWS} and {service: Amazon S3} are both one field: a line of AWS's Amazon S3
    # matches both
    plans = GOOD.replace(
        "{id: rest, kind: pass_through}",
        "{id: rest, kind: pass_through}\n"
        "      - {id: s3-all, kind: markup, percent: 3, match: {service: Amazon S3}}",
    )
    text = error(tmp_path, plans)
    expect(
        text,
        "price_plans.yaml",
        "plans[id=std].rules[id=aws] and rules[id=s3-all]",
        "equally specific (1 other match field(s) each)",
        "provider 'AWS', service 'Amazon S3'",
    )


def test_two_rules_that_differ_only_in_case_are_refused(tmp_path):
    """The rating compares service, SKU and the other text fields whatever their case: ``Amazon
    S3`` and ``amazon s3`` are one scope, two rules for it one too many."""
    plans = GOOD.replace(
        "{id: rest, kind: pass_through}",
        "{id: rest, kind: pass_through}\n"
        "      - {id: s3-lower, kind: markup, percent: 3,\n"
        "         match: {provider: aws, service: amazon s3}}",
    )
    expect(
        error(tmp_path, plans),
        "price_plans.yaml",
        "plans[id=std].rules[id=s3] and rules[id=s3-lower]",
        "equally specific (2 other match field(s) each)",
    )


def test_equal_rules_are_fine_when_their_dates_or_values_keep_them_apart(tmp_path):
    plans = GOOD.replace(
        "{id: aws, kind: markup, percent: 12.5, match: {provider: AWS}}",
        "{id: aws, kind: markup, percent: 12.5, match: {provider: AWS}, valid_to: 2026-10-14}\n"
        "      - {id: aws-new, kind: markup, percent: 15, match: {provider: AWS},\n"
        "         valid_from: 2026-10-15}\n"
        "      - {id: vmware, kind: markup, percent: 20, match: {provider: VMware}}",
    )
    assert [r.id for r in load(tmp_path, plans).plans["std"].rules][:3] == [
        "aws",
        "aws-new",
        "vmware",
    ]
    overlapping = plans.replace("valid_from: 2026-10-15", "valid_from: 2026-10-14")
    expect(
        error(tmp_path, overlapping),
        "price_plans.yaml",
        "plans[id=std].rules[id=aws] and rules[id=aws-new]",
        "overlapping dates",
    )


def test_a_fixed_price_in_another_currency_than_the_customers_is_refused(tmp_path):
    # C3 is invoiced in USD and gets the plan from October: the EUR seat price cannot apply to it
    plans = GOOD.replace("{plan: usd, customer: C3,", "{plan: std, customer: C3,")
    expect(
        error(tmp_path, plans),
        "price_plans.yaml",
        "plans[id=std].rules[id=seat].currency",
        "the price is in EUR but customer 'C3' on this plan is invoiced in USD",
    )


#: C3 (USD) on the EUR plan std, with prices of its own in USD for each of the plan's money prices:
#: a rule for one customer beats the plan's of its lines, and its own minimum replaces the plan's.
C3_ON_STD = GOOD.replace("{plan: usd, customer: C3,", "{plan: std, customer: C3,").replace(
    '      - {id: min, kind: minimum_fee, amount: "100", currency: EUR}\n',
    """      - {id: min, kind: minimum_fee, amount: "100", currency: EUR}
      - {id: c3-seat, kind: fixed_price, unit_price: "33.00", currency: USD,
         match: {customer: C3, provider: Microsoft, sku: M365-E3}}
      - {id: c3-s3, kind: tiered, currency: USD, match: {customer: C3, provider: aws},
         tiers: [{up_to: 1000, unit_price: "0.03"}, {unit_price: "0.02"}]}
      - {id: c3-min, kind: minimum_fee, amount: "110", currency: USD, match: {customer: C3}}
""",
)


def test_a_customer_s_own_prices_in_its_currency_let_it_share_a_plan_priced_in_another(tmp_path):
    """The refusal of the plan's EUR seat price for a USD customer said "give this customer a
    rule priced in USD", and a rule so given was refused all the same: the plan's EUR prices
    were judged against every customer on it, even one whose own rules price every line they
    would (a rule for one customer beats every other; its match no narrower) and whose own
    minimum replaces the plan's. Such a plan loads and bills the customer its own prices."""
    assert C3_ON_STD != GOOD
    params = write_parameters(tmp_path, C3_ON_STD)
    con, pricing, customers = rated_store(
        params, [line(SubAccountId="333", ServiceName="Amazon S3", PricingQuantity=10)]
    )
    rate_lines(con, pricing, customers, "2026-10")
    assert con.execute(
        "SELECT rule_id, currency, amount FROM rated_lines WHERE customer_id = 'C3' ORDER BY 1"
    ).fetchall() == [
        ("c3-min", "USD", Decimal("109.7")),
        ("c3-s3", "USD", Decimal("0.3")),
    ]


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        # its own seat price from the 16th: the plan's EUR one prices its seats before
        ("sku: M365-E3}}\n      - {id: c3-s3", "sku: M365-E3}, valid_from: 2026-10-16}\n"
         "      - {id: c3-s3", "seat"),
        # its own price of one region's seats only: the plan's prices the others
        ("customer: C3, provider: Microsoft, sku: M365-E3}",
         "customer: C3, provider: Microsoft, sku: M365-E3, region: eu-west-1}", "seat"),
        # its own minimum of AWS only: the plan's of everything applies beside it
        ("match: {customer: C3}}", "match: {customer: C3, provider: aws}}", "min"),
    ],
)  # fmt: skip
def test_a_plan_price_in_another_currency_that_still_prices_a_customer_is_refused(
    tmp_path, old, new, rule
):
    assert old in C3_ON_STD
    expect(
        error(tmp_path, C3_ON_STD.replace(old, new)),
        "price_plans.yaml",
        f"plans[id=std].rules[id={rule}].currency",
        "the price is in EUR but customer 'C3' on this plan is invoiced in USD",
    )


#: C1 moves from EUR to USD from November: customers.yaml's (undated) invoice_currency is USD
#: now, it is on a USD plan of its own from 1 November, its EUR fee ends on 31 October and a USD
#: one follows; its EUR prices and one-off of October stay in the files, as they were billed.
MOVED_TO_USD = GOOD + "  - {plan: usd, customer: C1, valid_from: 2026-11-01}\n"
MOVED_CUSTOM = """
custom_lines:
  - {id: sup-c1, customer: C1, kind: fee, description: Managed support,
     unit_price: "250", currency: EUR, valid_from: 2026-01-01, valid_to: 2026-10-31}
  - {id: sup-c1-usd, customer: C1, kind: fee, description: Managed support,
     unit_price: "275", currency: USD, valid_from: 2026-11-01}
  - {id: onb-c1, customer: C1, kind: one_off, description: Onboarding,
     unit_price: "900", currency: EUR, date: 2026-10-05}
"""


def test_a_customer_moved_to_another_currency_is_judged_from_the_month_billed(tmp_path):
    """A customer invoiced in EUR until October and in USD from November (its plan, fees and
    invoice_currency changed as of 1 November) could not be billed in November: the load judged
    the EUR prices its group's plan charged it in the months before, and its EUR fee and one-off
    of October, against today's undated invoice_currency. A run loads its parameters from its
    month's first day on: November loads; October, billed again (a reissue), is still refused,
    naming the rule."""
    customers = CUSTOMERS.replace(
        "vat_number: NL000000008B01\n    invoice_currency: EUR",
        "vat_number: NL000000008B01\n    invoice_currency: USD",
    )
    assert customers != CUSTOMERS
    params = write_parameters(tmp_path, MOVED_TO_USD, MOVED_CUSTOM, customers=customers)
    loaded = load_customers(params)
    pricing = load_pricing(params, loaded, from_day=date(2026, 11, 1))
    assert ("C1", "usd", date(2026, 11, 1)) in {
        (a.customer_id, a.plan_id, a.valid_from) for a in pricing.assignments
    }
    assert {c.id for c in pricing.custom_lines} == {"sup-c1", "sup-c1-usd", "onb-c1"}
    for day in (date(2026, 10, 1), None):  # October, and every day (no month given)
        with pytest.raises(ParameterError) as err:
            load_pricing(params, loaded, from_day=day)
        expect(
            str(err.value),
            "price_plans.yaml",
            "plans[id=std].rules[id=seat].currency",
            "the price is in EUR but customer 'C1' on this plan is invoiced in USD",
        )
    # the plans right, the October one-off in EUR still refused for October, not for November
    plans = MOVED_TO_USD.replace("customer: C1, valid_from: 2026-11-01", "customer: C1")
    params = write_parameters(tmp_path / "b", plans, MOVED_CUSTOM, customers=customers)
    load_pricing(params, loaded, from_day=date(2026, 11, 1))
    with pytest.raises(ParameterError) as err:
        load_pricing(params, loaded, from_day=date(2026, 10, 1))
    expect(
        str(err.value),
        "custom_lines.yaml",
        "custom_lines[id=sup-c1].currency",
        "the line is in EUR but customer 'C1' is invoiced in USD",
    )


def test_not_valid_yaml_and_missing_file(tmp_path):
    assert "not valid YAML" in error(tmp_path, "plans: [")
    params = write_parameters(tmp_path, GOOD)
    (params / "price_plans.yaml").unlink()
    with pytest.raises(ParameterError, match="price_plans.yaml: file not found"):
        load_pricing(params, load_customers(params))


CUSTOM = """
custom_lines:
  - {id: sup-c1, customer: C1, kind: fee, description: Managed support,
     unit_price: "250", currency: EUR, valid_from: 2026-01-01}
  - {id: onb-c2, customer: C2, kind: one_off, description: Onboarding,
     unit_price: "900", currency: EUR, date: 2026-10-05}
  - {id: cr-c2, customer: C2, kind: credit, description: Outage credit,
     unit_price: "75", currency: EUR, date: 2026-10-20}
"""


def test_custom_lines_load(tmp_path):
    lines = load(tmp_path, custom=CUSTOM).custom_lines
    assert [(c.id, c.kind, c.unit_price) for c in lines] == [
        ("sup-c1", "fee", Decimal(250)),
        ("onb-c2", "one_off", Decimal(900)),
        ("cr-c2", "credit", Decimal(75)),
    ]


@pytest.mark.parametrize(
    ("old", "new", "entry", "fragment"),
    [
        (
            "customer: C1, kind: fee",
            "customer: C9, kind: fee",
            "custom_lines[id=sup-c1].customer",
            "unknown customer 'C9'",
        ),
        (
            'unit_price: "900", currency: EUR',
            'unit_price: "900", currency: USD',
            "custom_lines[id=onb-c2].currency",
            "the line is in USD but customer 'C2' is invoiced in EUR",
        ),
        (
            "date: 2026-10-05",
            "valid_from: 2026-10-05",
            "custom_lines[id=onb-c2]",
            "a one_off needs date",
        ),
        (
            "currency: EUR, valid_from: 2026-01-01",
            "currency: EUR",
            "custom_lines[id=sup-c1]",
            "a recurring fee needs valid_from",
        ),
        (
            'unit_price: "75"',
            'unit_price: "-75"',
            "custom_lines[id=cr-c2].unit_price",
            "greater than or equal to 0",
        ),
        # the kind gives the sign: -2 x 75 was billed +150 as a "credit", -1 x 900 credited
        (
            'unit_price: "75"',
            'unit_price: "75", quantity: "-2"',
            "custom_lines[id=cr-c2].quantity",
            "expected a quantity of 0 or more; the kind gives the sign (a credit is billed "
            "negative by kind: credit",
        ),
        (
            'unit_price: "900"',
            'unit_price: "900", quantity: -1',
            "custom_lines[id=onb-c2].quantity",
            "write a credit's quantity positive; got -1",
        ),
        (
            'unit_price: "250"',
            'unit_price: "250", quantity: "-0.5"',
            "custom_lines[id=sup-c1].quantity",
            "expected a quantity of 0 or more",
        ),
        (
            "kind: credit",
            "kind: rebate",
            "custom_lines[id=cr-c2].kind",
            "'fee', 'one_off' or 'credit'",
        ),
        ("id: cr-c2", "id: onb-c2", "custom_lines[id=onb-c2]", "used twice"),
        # InvalidOperation (Python's 28 digits) before
        (
            'unit_price: "900"',
            'unit_price: "123456789012345678.00"',
            "custom_lines[id=onb-c2].unit_price",
            "expected an amount below 1000000000000 (a typing mistake?)",
        ),
        (
            'unit_price: "900"',
            'unit_price: "900000", quantity: "9000000"',
            "custom_lines[id=onb-c2]",
            "quantity 9000000 x unit_price 900000 is 8100000000000, expected an amount below "
            "1000000000000",
        ),
    ],
)
def test_bad_custom_lines_name_the_file_and_entry(tmp_path, old, new, entry, fragment):
    assert old in CUSTOM
    expect(error(tmp_path, custom=CUSTOM.replace(old, new)), "custom_lines.yaml", entry, fragment)


#: GOOD with the smb group (C1, C2) on plan std from 1 June 2026 only.
STD_FROM_JUNE = GOOD.replace(
    "  - {plan: std, group: smb}",
    "  - {plan: std, group: smb, valid_from: 2026-06-01}\n"
    "  - {plan: usd, customer: C1, valid_from: 2026-10-01}",
)


def with_rule(rule: str) -> str:
    return STD_FROM_JUNE.replace(
        "      - {id: rest, kind: pass_through}",
        f"      - {{id: rest, kind: pass_through}}\n      - {rule}",
    )


@pytest.mark.parametrize(
    ("rule", "entry", "fragment"),
    [
        # C3 is on plan usd only: a negotiated minimum put into plan std was never billed, and a
        # markup only warned that it matched nothing
        (
            '{id: c3-min, kind: minimum_fee, amount: "500.00", currency: USD,'
            " match: {customer: C3}}",
            "plans[id=std].rules[id=c3-min].match.customer",
            "the rule is for customer 'C3', who is not on plan 'std' on any day the rule is "
            "valid; 'C3' is on plan usd (from 2026-10-01)",
        ),
        # C1's own plan usd from 1 October replaces its group's std from then on
        (
            "{id: c1-nov, kind: markup, percent: 2, match: {customer: C1}, valid_from: 2026-11-01}",
            "plans[id=std].rules[id=c1-nov].match.customer",
            "'C1' is on plan std (2026-06-01 to 2026-09-30); plan usd (from 2026-10-01)",
        ),
        (
            "{id: c3-deal, kind: markup, percent: 2, match: {customer: C3}}",
            "plans[id=std].rules[id=c3-deal].match.customer",
            "the rule is for customer 'C3', who is not on plan 'std' on any day",
        ),
        # C1 is on std from 1 June 2026 (its group's plan), not before
        (
            "{id: c1-old, kind: markup, percent: 2, match: {customer: C1}, valid_to: 2026-05-31}",
            "plans[id=std].rules[id=c1-old].match.customer",
            "the rule is for customer 'C1', who is not on plan 'std' on any day the rule is valid "
            "(2026-01-01 to 2026-05-31); 'C1' is on plan std (2026-06-01 to 2026-09-30)",
        ),
    ],
)
def test_a_rule_for_a_customer_never_on_its_plan_is_refused(tmp_path, rule, entry, fragment):
    """A rule for one customer prices nothing, and a minimum fee for one customer bills nothing,
    in a plan the customer is not on while the rule is valid: refused, naming the rule, the
    customer and its plans."""
    text = error(tmp_path, with_rule(rule))
    expect(text, "price_plans.yaml", entry, fragment, "put the rule into the customer's plan")


def test_a_rule_for_a_customer_on_its_plan_for_part_of_its_dates_loads(tmp_path):
    rule = "{id: c1-may, kind: markup, percent: 2, match: {customer: C1}, valid_from: 2026-05-01}"
    pricing = load(tmp_path, with_rule(rule))
    assert "c1-may" in {r.id for r in pricing.plans["std"].rules}


@pytest.mark.parametrize(
    ("second", "overlap"),
    [
        # the new price from 1 October added, the old fee left without valid_to: both billed
        ('valid_from: 2026-10-01, unit_price: "300"', "from 2026-10-01"),
        # the same fee typed in again in another case
        (
            'valid_from: 2026-03-01, valid_to: 2026-03-31, unit_price: "250"',
            "2026-03-01 to 2026-03-31",
        ),
    ],
)
def test_two_fees_of_one_customer_and_description_on_overlapping_dates_are_refused(
    tmp_path, second, overlap
):
    """A fee whose new price was added without ending the old one billed both (450 + 500 a
    month), without a word: refused, naming both entries, as two equally specific rules are."""
    description = "managed Support " if "03-01" in second else "Managed support"
    custom = CUSTOM + (
        f"  - {{id: sup-c1-new, customer: C1, kind: fee, description: {description},\n"
        f"     currency: EUR, {second}}}\n"
    )
    expect(
        error(tmp_path, custom=custom),
        "custom_lines.yaml",
        "custom_lines[id=sup-c1-new] and custom_lines[id=sup-c1]",
        f"two fees of customer 'C1' described 'Managed support' on overlapping dates ({overlap})",
        "end one's valid_to before the other's valid_from",
    )


def test_two_fees_of_one_description_one_after_the_other_load(tmp_path):
    custom = CUSTOM.replace(
        "valid_from: 2026-01-01}", "valid_from: 2026-01-01, valid_to: 2026-09-30}"
    )
    custom += (
        "  - {id: sup-c1-new, customer: C1, kind: fee, description: Managed support,\n"
        '     currency: EUR, unit_price: "300", valid_from: 2026-10-01}\n'
        "  - {id: sup-c2, customer: C2, kind: fee, description: Managed support,\n"
        '     currency: EUR, unit_price: "300", valid_from: 2026-10-01}\n'
    )
    assert len(load(tmp_path, custom=custom).custom_lines) == 5


@pytest.mark.parametrize(
    ("old_prorate", "new_prorate"), [("false", "false"), ("true", "false"), ("false", "true")]
)
def test_a_fee_not_prorated_whose_price_changes_within_a_month_is_refused(
    tmp_path, old_prorate, new_prorate
):
    """A fee not prorated (``prorate: false``) bills every month it is valid on any day of in
    full: the old price ended on 15 October and the new one from 16 October billed October twice
    (100.00 + 120.00 for one month of support; one prorated and one not, 1.5 months), without a
    word. Refused, naming both; one after the other from a month's first day loads."""
    custom = CUSTOM.replace(
        "valid_from: 2026-01-01}",
        f"valid_from: 2026-01-01, valid_to: 2026-10-15, prorate: {old_prorate}}}",
    )
    custom += (
        "  - {id: sup-c1-new, customer: C1, kind: fee, description: managed support,\n"
        f'     currency: EUR, unit_price: "120", valid_from: 2026-10-16, prorate: {new_prorate}}}\n'
    )
    expect(
        error(tmp_path, custom=custom),
        "custom_lines.yaml",
        "custom_lines[id=sup-c1-new] and custom_lines[id=sup-c1]",
        "two fees of customer 'C1' described 'Managed support' in one month (2026-10: ",
        "not prorated",
        "first day of a month",
    )
    whole_months = custom.replace("2026-10-15", "2026-10-31").replace("2026-10-16", "2026-11-01")
    assert len(load(tmp_path, custom=whole_months).custom_lines) == 4


def test_a_match_value_with_spaces_around_it_matches_as_written_without_them(tmp_path):
    """``charge_type: 'Refund '`` (a space typed after it) matched no line, and the catch-all
    rule priced refunds in silence: the text fields are compared without spaces around them."""
    plans = GOOD.replace(
        "{id: rest, kind: pass_through}",
        "{id: rest, kind: pass_through}\n"
        "      - {id: refunds, kind: pass_through,\n"
        "         match: {provider: AWS, charge_type: 'Refund ', service: ' Amazon S3'}}",
    )
    [rule] = [r for r in load(tmp_path, plans).plans["std"].rules if r.id == "refunds"]
    assert rule.match.fields() == {
        "provider": "AWS",
        "service": "Amazon S3",
        "charge_type": "Refund",
    }
    blank = GOOD.replace(
        "{id: rest, kind: pass_through}",
        "{id: rest, kind: pass_through}\n"
        "      - {id: blank, kind: pass_through, match: {sku: '  '}}",
    )
    expect(
        error(tmp_path, blank),
        "price_plans.yaml",
        "plans[id=std].rules[id=blank].match.sku",
        "leave the field out",
    )


def test_each_tag_pair_is_a_match_field_compared_whatever_the_case_of_key_and_value(tmp_path):
    """``tag`` holds key/value pairs a line's Tags must all have: each pair counts as a match
    field (two tags beat one, and a rule of a tag beats the plan's rule of the same other
    fields), keys and values are trimmed and compared whatever their case (``folded``), and a
    rule for one customer still beats a rule of every other field and tags."""
    tagged = GOOD.replace(
        "{id: rest, kind: pass_through}",
        "{id: rest, kind: pass_through}\n"
        "      - {id: ec2-msp, kind: markup, percent: 20, match: {provider: AWS, "
        "service: Amazon EC2, tag: {' Managed-By ': ' MSP '}}}\n"
        "      - {id: msp-prod, kind: markup, percent: 25, match: {provider: AWS, "
        "service: Amazon EC2, tag: {managed-by: msp, env: prod}}}\n"
        "      - {id: c1-aws, kind: markup, percent: 5, match: {customer: C1}}\n"
        "      - {id: wide, kind: markup, percent: 30, match: {vendor: aws, provider: AWS, "
        "publisher: AWS, service: Amazon EC2, sku: X, charge_category: Usage, charge_type: "
        "Usage, region: eu-west-1, tag: {a: '1', b: '2', c: '3', d: '4'}}}",
    )
    rules = {r.id: r for r in load(tmp_path, tagged).plans["std"].rules}
    assert rules["ec2-msp"].match.tag == {"Managed-By": "MSP"}
    assert rules["ec2-msp"].match.folded() == {
        "provider": "aws",
        "service": "amazon ec2",
        "tag:managed-by": "msp",
    }
    assert rules["aws-ec2"].specificity == 2 < rules["ec2-msp"].specificity == 3
    assert rules["msp-prod"].specificity == 4
    assert rules["c1-aws"].specificity > rules["wide"].specificity == 12


@pytest.mark.parametrize(
    ("a", "b", "tie"),
    [
        ("tag: {env: prod}", "tag: {env: dev}", False),  # no line has both values
        ("tag: {env: prod}", "tag: {ENV: ' Prod'}", True),  # one scope, written otherwise
        ("tag: {env: prod}", "tag: {project: x}", True),  # a line may carry both tags
        ("tag: {env: prod}", "service: Amazon EC2", True),  # an EC2 line tagged env prod
        ("vendor: microsoft, tag: {env: prod}", "vendor: aws, service: Amazon EC2", False),
        ("tag: {env: prod, project: x}", "vendor: aws, service: Amazon EC2", True),
        ("tag: {env: prod, project: x}", "vendor: aws, tag: {env: prod}", True),
        ("tag: {env: prod, project: x}", "vendor: aws, tag: {ENV: dev}", False),
        ("tag: {env: prod}", "vendor: aws, tag: {env: prod}", False),  # 1 field and 2
    ],
)
def test_two_equally_specific_rules_a_line_could_match_by_its_tags_are_refused(tmp_path, a, b, tie):
    """A tag rule ties as every other rule does: refused when loaded where a line could match
    it and another rule of as many match fields (each tag pair one), compared on the folded
    fields; accepted where a field both have differs, or one has more fields."""
    plans = group_plan(
        "{id: all, kind: markup, percent: 10}",
        f"{{id: a, kind: markup, percent: 20, match: {{{a}}}}}",
        f"{{id: b, kind: markup, percent: 30, match: {{{b}}}}}",
    )
    if not tie:
        load(tmp_path, plans)
        return
    expect(
        error(tmp_path, plans),
        "price_plans.yaml",
        "plans[id=p].rules[id=a] and rules[id=b]",
        "equally specific",
        "tag:",
    )


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("2026-10-31 23:59:59", "2026-10-31 23:59:59"),  # YAML's own date and time
        ('"2026-10-31T23:59:59"', "'2026-10-31T23:59:59'"),
    ],
)
def test_a_rule_s_date_with_a_time_of_day_is_refused_saying_a_date_is_a_whole_day(
    tmp_path, typed, shown
):
    """``valid_to: 2026-10-31 23:59:59`` (the end of the day, as a spreadsheet writes it) was
    refused in pydantic's words ("Datetimes provided to dates should have zero time - e.g. be
    exact dates; got datetime.datetime(2026, 10, 31, 23, 59, 59)"): said as a date of a
    parameters file is, a whole day, valid_to included."""
    plans = GOOD.replace(
        "{id: aws, kind: markup, percent: 12.5, match: {provider: AWS}}",
        f"{{id: aws, kind: markup, percent: 12.5, match: {{provider: AWS}}, valid_to: {typed}}}",
    )
    expect(
        error(tmp_path, plans),
        "price_plans.yaml",
        "plans[id=std].rules[id=aws].valid_to",
        "expected a date YYYY-MM-DD, e.g. 2026-10-31: a date here is a whole day (valid_to "
        f"included), without a time of day; got {shown}",
    )


def test_a_custom_line_s_date_typed_as_a_number_is_refused(tmp_path):
    custom = CUSTOM.replace("date: 2026-10-05", "date: 1759622400")
    expect(
        error(tmp_path, custom=custom),
        "custom_lines.yaml",
        "custom_lines[id=onb-c2].date",
        "expected a date YYYY-MM-DD, e.g. 2026-10-01, not a number; got 1759622400",
    )


#: GOOD and CUSTOM with comments and blank lines, so an entry's line is not its index.
COMMENTED_PLANS = "# Price plans of the reseller.\n#\n" + GOOD.replace(
    "      - {id: rest", "\n      # everything else at cost\n      - {id: rest"
)
COMMENTED_CUSTOM = "# Custom lines\n\n" + CUSTOM.replace(
    "  - {id: cr-c2", "\n  # October's outage\n  - {id: cr-c2"
)


@pytest.mark.parametrize(
    ("old", "new", "place", "entry"),
    [
        # a check of the loaded plans, a key inside a {...} of its rule's line: line and column
        ("match: {customer: C2}", "match: {customer: C7}", "line 22, column 64",
         "plans[id=std].rules[id=lab].match.customer"),
        ("{plan: usd, customer: C3,", "{plan: usd, customer: C9,", "line 29, column 17",
         "assignments[1].customer"),
        # refused by the model (pydantic), in a list inside a rule written over several lines
        ('{unit_price: "0.02"}', '{unit_price: "-0.02"}', "line 18, column 54",
         "plans[id=std].rules[id=s3].tiers[1].unit_price"),
        ("{id: all, kind: markup, percent: 10}", "{id: all, kind: markup, percent: 1500}",
         "line 26, column 33", "plans[id=usd].rules[id=all].percent"),
        # two rules: the line of each
        ("{id: rest, kind: pass_through}", "{id: rest, kind: pass_through, match: {provider: AWS}}",
         "lines 8 and 21", "plans[id=std].rules[id=aws] and rules[id=rest]"),
        ("{id: ms,", "{id: aws,", "lines 8 and 11", "plans[id=std].rules[id=aws]"),
    ],
)  # fmt: skip
def test_an_error_of_price_plans_yaml_names_the_line(tmp_path, old, new, place, entry):
    """A ParameterError named the entry path only: with a few hundred rules, the analyst counted
    them by hand to find ``plans[2].rules[14]``."""
    assert old in COMMENTED_PLANS
    text = error(tmp_path, COMMENTED_PLANS.replace(old, new))
    assert f"{tmp_path / 'price_plans.yaml'}, {place}, entry {entry}: " in text, text


@pytest.mark.parametrize(
    ("old", "new", "place", "entry"),
    [
        ("customer: C1, kind: fee", "customer: C9, kind: fee", "line 5, column 18",
         "custom_lines[id=sup-c1].customer"),
        ('unit_price: "75"', 'unit_price: "-75"', "line 12, column 6",
         "custom_lines[id=cr-c2].unit_price"),
        ("id: cr-c2", "id: onb-c2", "lines 7 and 11", "custom_lines[id=onb-c2]"),
    ],
)  # fmt: skip
def test_an_error_of_custom_lines_yaml_names_the_line(tmp_path, old, new, place, entry):
    assert old in COMMENTED_CUSTOM
    text = error(tmp_path, custom=COMMENTED_CUSTOM.replace(old, new))
    assert f"{tmp_path / 'custom_lines.yaml'}, {place}, entry {entry}: " in text, text
