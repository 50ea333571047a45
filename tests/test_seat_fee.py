"""Seat fees (``kind: seat_fee``): a price per licence seat and month on the matched licence lines
("support at 2.00 EUR per Microsoft 365 seat"), billed as one line per customer and rule whose
quantity is the month's seat-months of those lines, each counted as a seat price
(``fixed_price``) counts it: prorated, a credit giving back its share, an annual term its 12
months; the customer's own replacing the plan's; refused when written wrong; kept by the what-if
(docs/pricing.md, "Seat fees")."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal as D

import pytest
from rating_helpers import cents, entry_named, group_plan, line, rated_month, write_parameters

from billing_lib import analysis, review, whatif
from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.pricing import load_pricing
from billing_lib.run import RATED_PARQUET
from billing_lib.sql import ql
from billing_lib.store import frame
from billing_lib.whatif import (
    MINIMUM_FEES_PARQUET,
    TERMS_PARQUET,
    reprice_customer,
    totals_sql,
    write_minimum_fees,
    write_terms,
)

CUSTOMERS = """
customers:
  - {id: C1, name: Alpha B.V., address: [Kade 1], country: NL, invoice_currency: EUR, group: smb}
  - {id: C2, name: Beta B.V., address: [Kade 2], country: NL, invoice_currency: EUR, group: smb}
  - {id: C3, name: Gamma K.K., address: [Ginza 1], country: JP, invoice_currency: JPY}
"""
ACCOUNTS = "vendor,account_id,customer_id,valid_from,valid_to,note\n" + "".join(
    f"microsoft,tenant-{n},C{n},,,\n" for n in range(1, 4)
)
#: A Microsoft 365 licence line of C1 (Partner Center: publisher Microsoft Corporation).
M365 = {
    "x_Vendor": "microsoft",
    "SubAccountId": "tenant-1",
    "ProviderName": "Microsoft",
    "PublisherName": "Microsoft Corporation",
    "ServiceName": "Microsoft 365 Business Premium",
    "SkuId": "CFQ7TTC0LCHC:0002",
    "ChargeCategory": "Purchase",
    "BillingCurrency": "EUR",
    "PricingUnit": "Licenses",
}
#: An Azure line of C1 (publisher Microsoft): no licence, outside the fees' scope.
AZURE = {**M365, "PublisherName": "Microsoft", "ServiceName": "Bandwidth", "SkuId": "BW-1"}
SCOPE = "match: {vendor: microsoft, publisher: Microsoft Corporation}"
SUPPORT = f"{{id: support, kind: seat_fee, unit_price: '2.00', currency: EUR, {SCOPE}}}"


def rate(tmp_path, plans: str, rows: list[dict]):
    return rated_month(tmp_path, plans, rows, CUSTOMERS, ACCOUNTS)


def seats(quantity: int, start: datetime, end: datetime, cost: str, **values) -> dict:
    """A licence line of ``quantity`` seats for ``start`` to ``end`` (exclusive) costing
    ``cost``."""
    return line(
        **{**M365, **values},
        PricingQuantity=quantity,
        ChargePeriodStart=start,
        ChargePeriodEnd=end,
        BilledCost=cost,
    )


def fees(con, customer: str | None = None) -> list[tuple]:
    only = f"AND customer_id = {ql(customer)}" if customer else ""
    return con.execute(
        "SELECT customer_id, rule_id, quantity, unit, unit_price, amount, description "
        f"FROM rated_lines WHERE line_kind = 'seat_fee' {only} ORDER BY customer_id, rule_id"
    ).fetchall()


def test_a_seat_fee_counts_the_seat_months_of_its_lines_as_a_seat_price_does(tmp_path):
    """Each licence line counts its PricingQuantity x its charge period's months, as a
    ``fixed_price`` rule counts them: 12 seats for 12 Oct - 12 Nov are 12; 3 seats added for
    20 Oct - 12 Nov are 3 x 23/31; an annual term of 5 seats billed up front is 60, as its
    licence line bills 12 months. Azure (another publisher) is out of the scope. The fee is
    2.00 x the month's seat-months, rounded once half-up; its line is the reseller's, cost 0,
    quantity the seat-months, unit seat, unit price 2.00, and its text says both."""
    rows = [
        seats(12, datetime(2026, 10, 12), datetime(2026, 11, 12), "247.20"),
        seats(3, datetime(2026, 10, 20), datetime(2026, 11, 12), "45.84"),
        seats(5, datetime(2026, 10, 15), datetime(2027, 10, 15), "1320", SkuId="ANNUAL"),
        line(**AZURE, PricingQuantity=100, BilledCost="25"),
    ]
    con, _ = rate(tmp_path, group_plan("{id: all, kind: pass_through}", SUPPORT), rows)
    months = 12 + D("2.225806451613") + 60  # 3 x 23/31 half-up at 12 places
    assert fees(con) == [
        (
            "C1",
            "support",
            months,
            "seat",
            D("2.00"),
            cents(2 * months),
            "Support per seat (74.226 seats, EUR 2.00 a seat)",
        )
    ]
    assert cents(2 * months) == D("148.45")
    got = con.execute(
        "SELECT vendor, product_group, cost, vendor_cost, billed_cost, plan_id, charge_date "
        "FROM rated_lines WHERE line_kind = 'seat_fee'"
    ).fetchall()
    assert got == [("reseller", "services", 0, 0, 0, "p", datetime(2026, 10, 31).date())]
    # the same seat-months as a seat price of 1.00 on the same lines bills
    priced, _ = rate(
        tmp_path / "priced",
        group_plan(
            "{id: all, kind: pass_through}",
            f"{{id: one, kind: fixed_price, unit_price: '1', currency: EUR, {SCOPE}}}",
        ),
        rows,
    )
    [(billed,)] = priced.execute(
        "SELECT sum(amount) FROM rated_lines WHERE rule_id = 'one'"
    ).fetchall()
    assert billed == months


def test_not_prorated_each_line_counts_its_part_month_whole_and_text_and_unit_are_its_own(
    tmp_path,
):
    """``prorate: false`` counts a line's days left over as a whole month, as a seat price not
    prorated does: 3 seats for 20 Oct - 12 Nov are 3. The description and unit are the rule's;
    a product group the rule's; a quantity of one month is said in the singular."""
    rule = (
        "{id: desk, kind: seat_fee, unit_price: '3.5', currency: EUR, prorate: false, "
        f"unit: user, description: Service desk, product_group: managed_services, {SCOPE}}}"
    )
    con, _ = rate(
        tmp_path,
        group_plan("{id: all, kind: pass_through}", rule),
        [
            seats(3, datetime(2026, 10, 20), datetime(2026, 11, 12), "45.84"),
            seats(1, datetime(2026, 10, 1), datetime(2026, 10, 20), "10", SubAccountId="tenant-2"),
        ],
    )
    assert fees(con) == [
        (
            "C1",
            "desk",
            D(3),
            "user",
            D("3.5"),
            D("10.50"),
            "Service desk (3 users, EUR 3.50 a user)",
        ),
        ("C2", "desk", D(1), "user", D("3.5"), D("3.50"), "Service desk (1 user, EUR 3.50 a user)"),
    ]
    [(group,)] = con.execute(
        "SELECT DISTINCT product_group FROM rated_lines WHERE line_kind = 'seat_fee'"
    ).fetchall()
    assert group == "managed_services"


def test_a_seat_removed_mid_cycle_gives_back_its_prorated_share_and_no_line_at_0(tmp_path):
    """A credit of seats (a positive quantity at a negative cost: cancelImmediate,
    removeQuantity) counts negative, as a seat price prices it: C1's 9 seats for 2 Oct - 2 Nov
    cancelled from 5 Oct give back 9 x 28/31, beside 9 Exchange seats for 26 Oct - 26 Nov: 9 -
    8.129032258065 + 9 seat-months, 19.74. C2's seats all given back count 0, and C3's more
    given back than charged below 0: neither is billed a line (the fee never pays money out). A
    price per seat finer than the currency shows is billed on the seat-months exactly and
    printed in its own decimals."""
    cancel = {"ChargeCategory": "Credit"}
    c2, c3 = {"SubAccountId": "tenant-2"}, {"SubAccountId": "tenant-3", "BillingCurrency": "JPY"}
    rows = [
        seats(9, datetime(2026, 10, 2), datetime(2026, 11, 2), "185.40"),
        seats(9, datetime(2026, 10, 5), datetime(2026, 11, 2), "-167.40", **cancel),
        seats(9, datetime(2026, 10, 26), datetime(2026, 11, 26), "33.30", SkuId="EXO"),
        seats(4, datetime(2026, 10, 1), datetime(2026, 11, 1), "80", **c2),
        seats(4, datetime(2026, 10, 1), datetime(2026, 11, 1), "-80", **c2, **cancel),
        seats(2, datetime(2026, 10, 10), datetime(2026, 11, 10), "4000", **c3),
        seats(3, datetime(2026, 10, 10), datetime(2026, 11, 10), "-6000", **c3, **cancel),
    ]
    plans = f"""plans:
  - id: p
    rules:
      - {{id: all, kind: pass_through}}
      - {{id: support, kind: seat_fee, unit_price: '2.005', currency: EUR, {SCOPE}}}
  - id: jp
    rules:
      - {{id: all, kind: pass_through}}
      - {{id: support, kind: seat_fee, unit_price: '200', currency: JPY, {SCOPE}}}
assignments:
  - {{plan: p, group: smb}}
  - {{plan: jp, customer: C3}}
"""
    con, _ = rate(tmp_path, plans, rows)
    months = 18 - D("8.129032258065")
    assert fees(con) == [
        (
            "C1",
            "support",
            months,
            "seat",
            D("2.005"),
            cents(D("2.005") * months),
            "Support per seat (9.87 seats, EUR 2.005 a seat)",
        )
    ]
    assert cents(D("2.005") * months) == D("19.79")


def test_a_customer_s_own_seat_fee_replaces_the_plan_s_of_its_scope_and_others_apply(tmp_path):
    """As the other fees: of one scope the customer's own replaces the plan's (C1 pays 1.50 a
    seat, C2 the plan's 2.00); a seat fee of another scope (one SKU) applies beside it; a
    minimum fee counts the vendor lines only, not the seat fee."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: pass_through}",
            SUPPORT,
            "{id: c1-support, kind: seat_fee, unit_price: '1.50', currency: EUR, "
            "match: {customer: C1, vendor: microsoft, publisher: Microsoft Corporation}}",
            "{id: bp-backup, kind: seat_fee, unit_price: '1', currency: EUR, "
            "match: {sku: 'CFQ7TTC0LCHC:0002'}, description: Backup per seat}",
            "{id: min, kind: minimum_fee, amount: '100', currency: EUR}",
        ),
        [
            seats(10, datetime(2026, 10, 1), datetime(2026, 11, 1), "200"),
            seats(4, datetime(2026, 10, 1), datetime(2026, 11, 1), "80", SubAccountId="tenant-2"),
        ],
    )
    assert [(c, r, q, a) for c, r, q, _, _, a, _ in fees(con)] == [
        ("C1", "bp-backup", D(10), D("10.00")),
        ("C1", "c1-support", D(10), D("15.00")),
        ("C2", "bp-backup", D(4), D("4.00")),
        ("C2", "support", D(4), D("8.00")),
    ]
    top_ups = con.execute(
        "SELECT customer_id, amount FROM rated_lines WHERE line_kind = 'minimum' ORDER BY 1"
    ).fetchall()
    assert top_ups == [("C2", D("20.00"))]  # 100 - 80: the seat fees are not spend it counts


def test_a_seat_fee_in_force_on_the_month_s_last_day_only_and_said_when_it_ends_within(tmp_path):
    """A fee applies to a month when in force on its last day, to the whole month's lines; one
    ending on the 30th bills nothing, said in the warnings. The review knows the kind: no
    rule that priced nothing, no gap between pricing rules' dates."""
    con, report = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: pass_through}",
            SUPPORT.replace("}}", "}, valid_to: 2026-10-30}"),
        ),
        [seats(10, datetime(2026, 10, 1), datetime(2026, 11, 1), "200")],
    )
    assert fees(con) == []
    [said] = [w for w in report.warnings if "support" in w]
    assert said.endswith(
        "plans[id=p].rules[id=support]: the seat fee ends on 2026-10-30, within 2026-10; a seat "
        "fee applies to a month in force on its last day (2026-10-31), to the whole month's "
        "lines, not prorated: not billed for 2026-10"
    )
    assert [w for w in report.warnings if "matched no line" in w] == []
    pricing = load_pricing(tmp_path, load_customers(tmp_path))
    assert review.rule_gaps(pricing.plans, "2026-10") == []


@pytest.mark.parametrize("quantity", [None, 0])
def test_a_line_in_its_scope_without_a_quantity_that_costs_something_is_refused(tmp_path, quantity):
    """A licence line of no PricingQuantity (or of 0) that costs something would count no seat:
    refused naming the rule, the file and the row, as a price per unit refuses it. One that
    costs nothing passes."""
    rows = [
        seats(10, datetime(2026, 10, 1), datetime(2026, 11, 1), "200"),
        seats(quantity, datetime(2026, 10, 1), datetime(2026, 11, 1), "0"),
        seats(quantity, datetime(2026, 10, 1), datetime(2026, 11, 1), "12.5"),
    ]
    plans = group_plan("{id: all, kind: pass_through}", SUPPORT)
    with pytest.raises(ParameterError) as err:
        rate(tmp_path, plans, rows)
    text = str(err.value)
    assert "price_plans.yaml, line 5, entry plans[id=p].rules[id=support]" in text, text
    has = "none" if quantity is None else "a quantity of 0"
    assert f"test.csv row 4 has {has} and costs 12.5 EUR" in text, text
    con, _ = rate(tmp_path / "free", plans, rows[:2])
    assert [r[2] for r in fees(con)] == [D(10)]


def test_a_line_in_its_scope_whose_charge_period_has_no_length_is_refused_when_prorated(tmp_path):
    """3 seats whose ChargePeriodEnd is their ChargePeriodStart (an instant) counted 0
    seat-months prorated, so the support for them was never billed, without a word. Refused
    naming the rule, the file, the row and the instant, as a prorated seat price refuses it,
    even beside a line without a quantity in the same invoice line; a fee not prorated counts
    such a line one month."""
    instant = datetime(2026, 10, 5)
    rows = [
        seats(10, datetime(2026, 10, 1), datetime(2026, 11, 1), "200"),
        seats(3, instant, instant, "60"),
    ]
    plans = group_plan("{id: all, kind: pass_through}", SUPPORT)
    with pytest.raises(ParameterError) as err:
        rate(tmp_path, plans, rows)
    text = str(err.value)
    assert "price_plans.yaml, line 5, entry plans[id=p].rules[id=support]" in text, text
    assert (
        "test.csv row 3 has a charge period of no length (ChargePeriodStart and ChargePeriodEnd "
        "both 2026-10-05 00:00:00)"
    ) in text, text
    # a line without a quantity that costs is refused as before, whichever comes first
    no_quantity = seats(None, datetime(2026, 10, 1), datetime(2026, 11, 1), "12.5")
    with pytest.raises(ParameterError, match="test.csv row 4 has none and costs 12.5 EUR"):
        rate(tmp_path / "both", plans, [*rows, no_quantity])
    whole = SUPPORT[:-1] + ", prorate: false}"
    con, _ = rate(tmp_path / "whole", group_plan("{id: all, kind: pass_through}", whole), rows)
    assert [r[2] for r in fees(con)] == [D(13)]


@pytest.mark.parametrize(
    ("fee", "entry", "fragment"),
    [
        ("unit_price: '0', currency: EUR", "support].unit_price", "greater than 0"),
        ("unit_price: '-2', currency: EUR", "support].unit_price", "greater than 0"),
        ("unit_price: '2.0000000000001', currency: EUR", "support].unit_price", "12 decimal"),
        ("unit_price: '2.00', currency: USD", "support].currency", "customer 'C1'"),
        ("unit_price: '2.00', currency: eur", "support].currency", "three-letter currency code"),
        ("currency: EUR", "support].unit_price", "Field required"),
        ("unit_price: '2.00'", "support].currency", "Field required"),
        ("unit_price: '2.00', currency: EUR, unit: ' '", "support].unit", "not blank"),
        ("unit_price: '2.00', currency: EUR, seats: 15", "support].seats", "unknown key 'seats'"),
        (
            "unit_price: '2.00', currency: EUR, match: {charge_type: cycleCharge}",
            "support].match",
            "a seat fee cannot be scoped by charge_type",
        ),
        (
            "unit_price: '2.00', currency: EUR, match: {region: WestEurope}",
            "support].match",
            "a seat fee cannot be scoped by region",
        ),
        (
            "unit_price: '2.00', currency: EUR, match: {charge_category: Credit}",
            "support].match",
            "a seat fee cannot be scoped to charge_category Credit",
        ),
    ],
)
def test_a_bad_seat_fee_is_refused_naming_the_file_entry_and_field(tmp_path, fee, entry, fragment):
    plans = group_plan("{id: all, kind: pass_through}", f"{{id: support, kind: seat_fee, {fee}}}")
    params = write_parameters(tmp_path, plans, customers=CUSTOMERS, accounts=ACCOUNTS)
    with pytest.raises(ParameterError) as err:
        load_pricing(params, load_customers(params))
    text = str(err.value)
    assert re.search(entry_named("price_plans.yaml", f"plans[id=p].rules[id={entry}"), text), text
    assert fragment in text, text


def test_two_seat_fees_of_one_scope_on_the_same_days_are_refused_naming_both(tmp_path):
    """A new price added without ending the old fee billed both: refused, as two percent fees
    of one scope are; ended the day before the other starts, both load."""
    plans = group_plan(
        "{id: all, kind: pass_through}",
        SUPPORT,
        SUPPORT.replace("id: support", "id: support-new").replace("2.00", "2.50"),
    )
    params = write_parameters(tmp_path, plans, customers=CUSTOMERS, accounts=ACCOUNTS)
    with pytest.raises(ParameterError) as err:
        load_pricing(params, load_customers(params))
    assert "plans[id=p].rules[id=support] and rules[id=support-new]" in str(err.value)
    assert "equally specific" in str(err.value)
    ended = plans.replace("'2.00', currency: EUR,", "'2.00', currency: EUR, valid_to: 2026-10-15,")
    ended = ended.replace(
        "'2.50', currency: EUR,", "'2.50', currency: EUR, valid_from: 2026-10-16,"
    )
    params = write_parameters(tmp_path, ended, customers=CUSTOMERS, accounts=ACCOUNTS)
    load_pricing(params, load_customers(params))


def test_a_month_without_seat_fees_counts_no_seats(tmp_path):
    """No seat fee in force: the fees' revenue and counts are summed as before, without the seat
    columns (no SQL of them is run)."""
    con, _ = rate(
        tmp_path,
        group_plan("{id: all, kind: pass_through}", "{id: m, kind: percent_fee, percent: 10}"),
        [seats(10, datetime(2026, 10, 1), datetime(2026, 11, 1), "200")],
    )
    columns = {r[0] for r in con.execute("DESCRIBE rating_revenue").fetchall()}
    assert columns and not any("seat" in c for c in columns)


# -- the what-if ------------------------------------------------------------------------------


def _run_folder(con, tmp_path):
    folder = tmp_path / "outputs" / "2026-10"
    folder.mkdir(parents=True)
    con.execute(f"COPY rated_lines TO {ql(str(folder / RATED_PARQUET))} (FORMAT parquet)")
    write_minimum_fees(con, "2026-10", folder / MINIMUM_FEES_PARQUET)
    write_terms(con, "2026-10", folder / TERMS_PARQUET)
    return folder


@pytest.mark.parametrize("markup", [None, "50", "0"])
def test_the_what_if_bills_the_seat_fee_as_the_run_did_whatever_the_markup(tmp_path, markup):
    """A markup re-prices the licences, not their seats: the what-if (the margin notebook's,
    from the run folder, and the benchmark's, on the run's store) bills the seat fee the run
    billed, beside the re-priced lines and a percent fee billed again from them, and states the
    net the invoice would print."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: markup, percent: 10}",
            SUPPORT,
            "{id: mgmt, kind: percent_fee, percent: 10}",
        ),
        [
            seats(12, datetime(2026, 10, 12), datetime(2026, 11, 12), "200"),
            seats(3, datetime(2026, 10, 20), datetime(2026, 11, 12), "40"),
        ],
    )
    folder = _run_folder(con, tmp_path)
    lines = frame(con, "SELECT * FROM rated_lines WHERE customer_id = 'C1'")
    pct = None if markup is None else D(markup)
    in_notebook = analysis.repricer(tmp_path / "outputs")(lines, "C1", pct)
    on_the_run = reprice_customer(con, "C1", markup)
    assert in_notebook.equals(on_the_run)
    months = 12 + D("2.225806451613")
    [fee] = on_the_run[on_the_run["line_kind"] == "seat_fee"].itertuples()
    assert (fee.quantity, fee.amount, fee.rule_id) == (months, cents(2 * months), "support")
    licences = cents(200 * (1 + D(markup or 10) / 100)) + cents(40 * (1 + D(markup or 10) / 100))
    totals = reprice_customer(con, "C1", markup, totals=True)
    assert totals.equals(frame(con, totals_sql("_whatif")))
    [invoiced] = totals["invoiced"].tolist()
    assert invoiced == licences + cents(licences * D("0.1")) + D("28.45")
    kept = con.execute(
        "SELECT rule_id, fee_kind, minimum, unit, prorate FROM read_parquet(?) "
        "WHERE customer_id = 'C1' ORDER BY ALL",
        [str(folder / MINIMUM_FEES_PARQUET)],
    ).fetchall()
    assert kept == [
        ("mgmt", "percent_fee", None, None, None),
        ("support", "seat_fee", D("2.00"), "seat", True),
    ]


def test_the_what_if_reads_an_older_fees_file_beside_a_newer_one(tmp_path):
    """The margin notebook reads a month's fees from the run's minimum_fees.parquet and a
    reissue's beside it (``analysis.billed_run_file``, by name): a row of a file written before
    fee kinds has none, and is a minimum fee that the what-if still tops up, beside the seat fee
    it keeps."""
    con, _ = rate(
        tmp_path,
        group_plan(
            "{id: all, kind: markup, percent: 10}",
            "{id: min, kind: minimum_fee, amount: '300', currency: EUR}",
            SUPPORT,
        ),
        [seats(12, datetime(2026, 10, 12), datetime(2026, 11, 12), "200")],
    )
    folder = _run_folder(con, tmp_path)
    fees_file, old, new = (str(folder / n) for n in (MINIMUM_FEES_PARQUET, "old.pq", "new.pq"))
    con.execute(
        f"""COPY (SELECT * EXCLUDE (fee_kind, percent, unit, prorate) FROM read_parquet(
              {ql(fees_file)}) WHERE fee_kind = 'minimum_fee') TO {ql(old)} (FORMAT parquet)"""
    )
    con.execute(
        f"COPY (SELECT * FROM read_parquet({ql(fees_file)}) WHERE fee_kind = 'seat_fee') "
        f"TO {ql(new)} (FORMAT parquet)"
    )
    rules = (
        f"(SELECT * FROM read_parquet({ql(old)}) "
        f"UNION ALL BY NAME SELECT * FROM read_parquet({ql(new)}))"
    )
    terms = f"read_parquet({ql(str(folder / TERMS_PARQUET))})"
    lines = whatif.reprice(con, "rated_lines", rules, terms, "C1", D(0))
    assert sorted(zip(lines["line_kind"], lines["amount"], strict=True)) == [
        ("minimum", D(100)),  # 300 less the licences at cost: the seat fee is not spend
        ("seat_fee", D(24)),
        ("vendor", D(200)),
    ]
