"""Microsoft licence terms priced as the docs say: a change within a triennial cycle is prorated by
the days of that three-year cycle (list price and fixed seat price alike), and the proration is
applied once whichever way a file prints the prorated quantity."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from rating_helpers import RATES, write_parameters

from billing_lib import review
from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.errors import ParameterError
from billing_lib.importers import import_reports
from billing_lib.pricing import load_pricing
from billing_lib.rating import rate_lines
from billing_lib.store import open_store
from tests.test_microsoft_credit_signs import (
    ACCOUNTS,
    TENANT,
    reconciliation_row,
    write_reconciliation,
)

D = Decimal
PLANS = """
plans:
  - id: p
    rules:
      - {id: licences, kind: list_price, uplift_percent: 3, credits: price,
         match: {vendor: microsoft}}
      - {id: seat, kind: fixed_price, unit_price: "22.00", currency: EUR, credits: price,
         match: {vendor: microsoft, sku: "CFQ7TTC0LCHC:0002"}}
assignments:
  - {plan: p, group: smb}
"""
#: Microsoft 365 Business Premium: the seat rule's SKU.
PREMIUM = {"ProductId": "CFQ7TTC0LCHC", "SkuId": "0002", "UnitPrice": "20.60"}


def rated(
    tmp: Path, rows: list[dict[str, str]], plans: str = PLANS, period: str = "2026-10"
) -> list[dict]:
    """The vendor lines of ``rows`` rated for ``period`` under ``plans``, in file order."""
    params = write_parameters(tmp / "params", plans, accounts=ACCOUNTS)
    con = open_store()
    import_reports(con, [write_reconciliation(tmp / "r.csv", rows)])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    rate_lines(con, load_pricing(params, customers), customers, period)
    cur = con.execute(
        "SELECT r.rule_id, r.quantity, r.amount, l.ListCost, l.PricingQuantity, "
        "l.ChargePeriodStart, l.ChargePeriodEnd "
        "FROM rated_lines r JOIN lines l ON l.x_SourceRow = r.source_row "
        "WHERE r.line_kind = 'vendor' ORDER BY r.source_row"
    )
    return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]


def test_a_change_within_a_triennial_cycle_is_prorated_by_its_days(tmp_path):
    """2 Business Basic licences added on 20 Oct 2026 to a triennial subscription whose cycle runs
    15 Mar 2025 - 14 Mar 2028: 512 of the cycle's 1096 days. Billed at the full three-year list
    price, the customer paid 540 x 2 x 1.03 = 1112.40 for 504.52 of cost."""
    row = reconciliation_row(
        1,
        ProductId="CFQ7TTC0LH18",
        SkuId="0001",
        ChargeType="addQuantity",
        UnitPrice="540.00",
        Quantity="2",
        BillableQuantity="2",
        EffectiveUnitPrice="252.262774",
        Subtotal="504.52",
        ChargeStartDate="10/20/2026",
        ChargeEndDate="3/14/2028",
        BillingFrequency="Triennial",
    )
    [line] = rated(tmp_path, [row])
    # 512/1096 to 12 places (floor) = 0.467153284671; x 540 x 2
    assert line["ListCost"] == D("504.52554744468")
    assert line["rule_id"] == "licences"
    assert line["amount"] == D("519.661313868020")  # x 1.03, half-up at 12 places


def test_a_seat_price_over_a_long_partial_period_counts_its_months_then_days(tmp_path):
    """The same change on a Business Premium seat priced 22.00 a month: 16 whole months (20 Oct
    2026 - 20 Feb 2028), then 24 days of February 2028's 29. Its days over the 31 days of
    October (16.5 months) under-billed it; a period starting in February would over-bill."""
    row = reconciliation_row(
        1,
        **PREMIUM,
        ChargeType="addQuantity",
        Quantity="2",
        BillableQuantity="2",
        EffectiveUnitPrice="9.51",
        Subtotal="19.02",
        ChargeStartDate="10/20/2026",
        ChargeEndDate="3/14/2028",
        BillingFrequency="Triennial",
    )
    [line] = rated(tmp_path, [row])
    # 2 x 22 x 16 = 704; 2 x 22 x 24/29 = 36.413793103448(27..)
    assert (line["rule_id"], line["amount"]) == ("seat", D("740.413793103448"))


def test_a_seat_price_takes_whole_seats_whichever_way_the_file_prints_the_proration(tmp_path):
    """3 Business Premium seats added on 20 Oct to a cycle ending 11 Nov (23 of October's 31
    days), printed both ways: the sample's (BillableQuantity 3, the proration in
    EffectiveUnitPrice) and with BillableQuantity already the prorated part of Quantity
    (3 x 23/31 = 2.225806). The seat price prorated 2.225806 seats by days again: 36.33, below the
    cost of 45.84. And 3 seats removed for the last 20 of October's days, printed the second way."""
    common = {**PREMIUM, "ChargeStartDate": "10/20/2026", "ChargeEndDate": "11/11/2026"}
    rows = [
        reconciliation_row(
            1,
            **common,
            ChargeType="addQuantity",
            Quantity="3",
            BillableQuantity="3",
            EffectiveUnitPrice="15.283871",
            Subtotal="45.84",
        ),
        reconciliation_row(
            2,
            **common,
            ChargeType="addQuantity",
            Quantity="3",
            BillableQuantity="2.225806",
            EffectiveUnitPrice="20.6",
            Subtotal="45.84",
        ),
        reconciliation_row(
            3,
            **PREMIUM,
            ChargeType="removeQuantity",
            Quantity="-3",
            BillableQuantity="-1.935484",
            EffectiveUnitPrice="20.60",
            Subtotal="-39.87",
            ChargeStartDate="10/12/2026",
            ChargeEndDate="10/31/2026",
        ),
    ]
    lines = rated(tmp_path, rows)
    assert [(x["rule_id"], x["PricingQuantity"], x["quantity"]) for x in lines] == [
        ("seat", D(3), D(3)),
        ("seat", D(3), D(3)),
        ("seat", D(-3), D(-3)),
    ]
    # 22 x 3 x 23/31 = 48.967741935483(87..); 22 x -3 x 20/31 = -42.580645161290(32..)
    assert [x["amount"] for x in lines] == [
        D("48.967741935484"),
        D("48.967741935484"),
        D("-42.580645161290"),
    ]
    # the list cost as before, prorated once: 20.60 x 3 x 0.741935483870 (23/31 to 12 places), or
    # 20.60 x the BillableQuantity printed
    assert [x["ListCost"] for x in lines] == [
        D("45.851612903166"),
        D("45.8516036"),
        D("-39.8709704"),
    ]


def test_times_on_the_inclusive_charge_dates_change_no_price(tmp_path):
    """The same seats with the charge dates printed with times, the end at the end of its day
    ("11/11/2026 11:59:59 PM"): the charge period ended on 12 Nov 23:59:59, a whole month was no
    longer one, and every seat price rose by about 3 %."""
    rows = [
        reconciliation_row(
            1,
            **PREMIUM,
            ChargeType="cycleCharge",
            Quantity="12",
            BillableQuantity="12",
            EffectiveUnitPrice="20.6",
            Subtotal="247.20",
            ChargeStartDate="10/12/2026",
            ChargeEndDate="11/11/2026",
        ),
        reconciliation_row(
            2,
            **PREMIUM,
            ChargeType="addQuantity",
            Quantity="3",
            BillableQuantity="3",
            EffectiveUnitPrice="15.283871",
            Subtotal="45.84",
            ChargeStartDate="10/20/2026",
            ChargeEndDate="11/11/2026",
        ),
    ]
    timed = [
        {
            **r,
            "ChargeStartDate": r["ChargeStartDate"] + " 12:00:00 AM",
            "ChargeEndDate": r["ChargeEndDate"] + " 11:59:59 PM",
        }
        for r in rows
    ]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, with_times = rated(tmp_path / "a", rows), rated(tmp_path / "b", timed)
    assert with_times == plain
    assert [(x["ChargePeriodEnd"].isoformat(), x["amount"]) for x in with_times] == [
        ("2026-11-12T00:00:00", D(264)),  # 12 x 22, one month
        ("2026-11-12T00:00:00", D("48.967741935484")),  # 3 x 22 x 23/31
    ]


#: The Business Premium seat from 22.00 to 23.00 on 1 January 2027 (a rule ended, one begun).
NEW_YEAR_PRICE = """
plans:
  - id: p
    rules:
      - {id: licences, kind: list_price, uplift_percent: 3, credits: price,
         match: {vendor: microsoft}}
      - {id: seat-2026, kind: fixed_price, unit_price: "22.00", currency: EUR, credits: price,
         match: {vendor: microsoft, sku: "CFQ7TTC0LCHC:0002"}, valid_to: 2026-12-31}
      - {id: seat-2027, kind: fixed_price, unit_price: "23.00", currency: EUR, credits: price,
         match: {vendor: microsoft, sku: "CFQ7TTC0LCHC:0002"}, valid_from: 2027-01-01}
assignments:
  - {plan: p, group: smb}
"""


def test_a_credit_of_a_term_begun_before_a_price_change_is_priced_as_its_charge(tmp_path):
    """An annual term of 10 Business Premium seats begun 28 Dec 2026 (billed in December at
    22.00), 2 seats removed on 2 Jan 2027 for the rest of the term (to 27 Dec 2027), where the
    seat price is 23.00 from 1 January: the credit gives back what the term's charge billed for
    them, at 22.00. Priced by its own date it was credited at 23.00: 2 x 1.00 x (11 + 26/31)
    = 23.68 more than the customer had paid. The same with monthly billing of the term: the
    cycle 28 Dec - 27 Jan was charged at 22.00, so its credit too; the next cycle's charge (28
    Jan) is priced at 23.00, its own date's."""
    common = {**PREMIUM, "Quantity": "2", "BillableQuantity": "2"}
    rows = [
        reconciliation_row(
            1,
            **common,
            ChargeType="removeQuantity",
            EffectiveUnitPrice="-226.46",
            Subtotal="-452.92",
            ChargeStartDate="1/2/2027",
            ChargeEndDate="12/27/2027",
            BillingFrequency="Annual",
        ),
        reconciliation_row(
            2,
            **common,
            ChargeType="removeQuantity",
            EffectiveUnitPrice="-17.94",
            Subtotal="-35.88",
            ChargeStartDate="1/2/2027",
            ChargeEndDate="1/27/2027",
        ),
        reconciliation_row(
            3,
            **common,
            ChargeType="cycleCharge",
            EffectiveUnitPrice="20.60",
            Subtotal="41.20",
            ChargeStartDate="1/28/2027",
            ChargeEndDate="2/27/2027",
        ),
    ]
    lines = rated(tmp_path, rows, NEW_YEAR_PRICE, "2027-01")
    assert [x["rule_id"] for x in lines] == ["seat-2026", "seat-2026", "seat-2027"]
    # 2 Jan - 28 Dec: 11 whole months to 2 Dec, then 26 of December's 31 days, at 22.00:
    # -(2 x 22 x 11 + 2 x 22 x 26/31) = -484 - 36.903225806451(61..); 2 Jan - 28 Jan: 26 of
    # January's 31 days; the next cycle a whole month at 23.00
    assert [x["amount"] for x in lines] == [
        D("-520.903225806452"),
        D("-36.903225806452"),
        D(46),
    ]


def _annual_credit(currency: str = "EUR") -> list[dict[str, str]]:
    """2 Business Premium seats removed on 2 Jan 2027 from an annual term begun 28 Dec 2026."""
    return [
        reconciliation_row(
            1,
            **PREMIUM,
            Quantity="2",
            BillableQuantity="2",
            ChargeType="removeQuantity",
            EffectiveUnitPrice="-226.46",
            Subtotal="-452.92",
            Currency=currency,
            ChargeStartDate="1/2/2027",
            ChargeEndDate="12/27/2027",
            BillingFrequency="Annual",
        )
    ]


def _credit_refused(tmp_path: Path, plans: str, rates: str = RATES, currency: str = "EUR") -> str:
    """The refusal's text of rating January 2027's ``_annual_credit`` under ``plans`` and
    ``rates``."""
    params = write_parameters(tmp_path / "params", plans, rates=rates, accounts=ACCOUNTS)
    con = open_store()
    import_reports(con, [write_reconciliation(tmp_path / "r.csv", _annual_credit(currency))])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    with pytest.raises(ParameterError) as err:
        rate_lines(con, load_pricing(params, customers), customers, "2027-01")
    return str(err.value)


def test_a_credit_whose_cycle_began_before_the_first_rate_is_refused_saying_why_that_day(tmp_path):
    """A USD licence credit of 2 Jan 2027 is priced at the rate of its cycle's start, 28 Dec
    2026; the rates begin on 1 January. The refusal named 28 Dec without a word of why a line of
    January needs December's rate: it now names the credit (file, row, its own date), the cycle
    it gives back and the row to add."""
    rates = (
        "from_currency,to_currency,rate,valid_from,valid_to,source\n"
        "USD,EUR,0.95,2027-01-01,2027-01-31,test\n"
    )
    text = _credit_refused(tmp_path, NEW_YEAR_PRICE, rates=rates, currency="USD")
    assert "no exchange rate from USD to EUR valid on 2026-12-28" in text
    assert "r.csv row 2" in text and "charged from 2027-01-02" in text
    assert "the start of the cycle it gives back (2026-12-28 to 2027-12-27)" in text
    assert "'USD,EUR,<rate>,<valid_from>,<valid_to>,<source>' covering 2026-12-28" in text


def test_a_credit_whose_cycle_began_before_the_customer_s_plan_is_refused_saying_why(tmp_path):
    """The customer's plan starts on 1 January 2027; its licence credit of 2 January gives back
    part of a term begun 28 Dec 2026, priced on that day: refused naming the credit, the cycle
    and what to add (the assignment from that day)."""
    plans = NEW_YEAR_PRICE.replace(
        "{plan: p, group: smb}", "{plan: p, group: smb, valid_from: 2027-01-01}"
    )
    text = _credit_refused(tmp_path, plans)
    assert "customer 'C1' has lines priced on 2026-12-28" in text
    assert "r.csv row 2" in text and "charged from 2027-01-02" in text
    assert "the start of the cycle it gives back (2026-12-28 to 2027-12-27)" in text
    assert "valid_from 2026-12-28 or earlier" in text


def test_the_review_lists_the_earlier_rate_a_licence_credit_was_priced_with(tmp_path):
    """A USD licence credit of 2 Jan 2027 is converted at December's rate, that of its cycle's
    start (28 Dec 2026), beside a cycle charge of 28 January at January's. The review's "old
    exchange rate" matched rated lines by their own charge date: it found January's rate for the
    credit and listed nothing, though December's converted it. It now lists December's rate for
    the credit, saying why, and not January's."""
    rates = (
        "from_currency,to_currency,rate,valid_from,valid_to,source\n"
        "USD,EUR,0.93,2026-12-01,2026-12-31,test December\n"
        "USD,EUR,0.95,2027-01-01,2027-01-31,test January\n"
    )
    charge = reconciliation_row(
        2,
        **PREMIUM,
        Quantity="2",
        BillableQuantity="2",
        ChargeType="cycleCharge",
        EffectiveUnitPrice="20.60",
        Subtotal="41.20",
        Currency="USD",
        ChargeStartDate="1/28/2027",
        ChargeEndDate="2/27/2027",
    )
    params = write_parameters(tmp_path / "params", NEW_YEAR_PRICE, rates=rates, accounts=ACCOUNTS)
    con = open_store()
    report = write_reconciliation(tmp_path / "r.csv", [*_annual_credit("USD"), charge])
    import_reports(con, [report])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    rate_lines(con, load_pricing(params, customers), customers, "2027-01")
    assert con.execute(
        "SELECT source_row, fx_rate FROM rated_lines WHERE line_kind = 'vendor' ORDER BY 1"
    ).fetchall() == [(2, D("0.93")), (3, D("0.95"))]
    assert [(f.subject, f.finding, f.lines) for f in review.stale_rates(con, "2027-01")] == [
        (
            "USD->EUR",
            "rate 0.93 valid from 2026-12-01 (test December) priced 1 line(s) of 2027-01: "
            "licence credit(s) priced as of the start of the cycle they give back (from "
            "2026-12-28), as that cycle's charge was; check it is the rate of that day",
            ("r.csv row 2",),
        )
    ]


def test_a_credit_whose_cycle_began_before_its_rule_is_refused_saying_why(tmp_path):
    """The plan's rules for Microsoft begin on 1 January 2027: a licence credit of 2 January
    priced on its cycle's start, 28 Dec 2026, has no rule; the refusal listed it "on 2026-12-28"
    without a word of why a line of January needs a rule of December."""
    plans = """
plans:
  - id: p
    rules:
      - {id: seat-2027, kind: fixed_price, unit_price: "23.00", currency: EUR, credits: price,
         match: {vendor: microsoft}, valid_from: 2027-01-01}
assignments:
  - {plan: p, group: smb}
"""
    text = _credit_refused(tmp_path, plans)
    assert "charge_category 'Credit' on 2026-12-28 (1 lines" in text
    assert "r.csv row 2" in text and "charged from 2027-01-02" in text
    assert "the start of the cycle it gives back (2026-12-28 to 2027-12-27)" in text


def _added_then_removed(added: str, removed: str, subscription: str | None = None) -> list[dict]:
    """3 seats added on ``added`` to a monthly cycle 28 Dec 2026 - 27 Jan 2027 and 3 removed on
    ``removed`` (of the subscription ``subscription``, else the same one)."""
    common = {**PREMIUM, "Quantity": "3", "BillableQuantity": "3", "ChargeEndDate": "1/27/2027"}
    other = {"SubscriptionId": subscription} if subscription else {}
    return [
        reconciliation_row(
            1,
            **common,
            ChargeType="addQuantity",
            EffectiveUnitPrice="15.28",
            Subtotal="45.84",
            ChargeStartDate=added,
        ),
        reconciliation_row(
            2,
            **common,
            **other,
            ChargeType="removeQuantity",
            EffectiveUnitPrice="-13.29",
            Subtotal="-39.87",
            ChargeStartDate=removed,
        ),
    ]


def test_seats_removed_within_7_days_of_their_addition_are_credited_at_its_price(tmp_path):
    """New commerce lets seats added be removed within 7 days. 3 seats added on 5 Jan 2027 to a
    cycle begun 28 Dec (charged at January's 23.00, their own date's) and removed on 8 Jan are
    credited at 23.00 too: the customer pays the 3 days it held them, 3 x 23.00 x 3/31. Priced
    on the cycle's first day (22.00, the price of the seats held since then) the credit gave
    back 3 x 1.00 x 20/31 less than the addition had charged."""
    lines = rated(tmp_path, _added_then_removed("1/5/2027", "1/8/2027"), NEW_YEAR_PRICE, "2027-01")
    assert [x["rule_id"] for x in lines] == ["seat-2027", "seat-2027"]
    added, removed = (x["amount"] for x in lines)
    # 5-27 Jan: 23 of January's 31 days, 3 x 23 x 23/31 = 51.1935483870967(74..); 8-27 Jan: 20
    assert (added, removed) == (D("51.193548387097"), D("-44.516129032258"))
    assert added + removed == D("6.677419354839")  # 3 x 23.00 x 3/31


@pytest.mark.parametrize(
    ("added", "removed", "subscription"),
    [
        ("1/1/2027", "1/9/2027", None),  # 8 days after: seats held since the cycle began
        ("1/5/2027", "1/8/2027", "0b7c2f1e-5d4a-4e3b-9c8d-7a6f5e4d3c2b"),  # another subscription
    ],
)
def test_a_removal_without_an_addition_7_days_before_is_priced_on_the_cycle_start(
    tmp_path, added, removed, subscription
):
    lines = rated(
        tmp_path, _added_then_removed(added, removed, subscription), NEW_YEAR_PRICE, "2027-01"
    )
    assert [x["rule_id"] for x in lines] == ["seat-2027", "seat-2026"]


def _trial(n: int, charge_type: str, unit_price: str, subtotal: str) -> dict[str, str]:
    """A row of 25 Business Premium seats for the cycle 5 Oct - 4 Nov 2026."""
    return reconciliation_row(
        n,
        **{**PREMIUM, "UnitPrice": unit_price},
        ChargeType=charge_type,
        Quantity="25",
        BillableQuantity="25",
        EffectiveUnitPrice=unit_price,
        Subtotal=subtotal,
        ChargeStartDate="10/5/2026",
        ChargeEndDate="11/4/2026",
    )


def test_a_free_trial_and_its_conversion_bill_the_paid_seats_once(tmp_path):
    """A free trial of 25 seats converted to paid on the day: Microsoft prints the trial (new, at
    a unit price of 0), the trial given back on conversion (convertTrial, 0) and the paid seats
    (convertTrial, 20.60). Only the paid seats are billed at the seat price, 25 x 22.00: the two
    free rows counted their 25 seats too, and the customer paid 1650.00 for 550.00 of seats (a
    trial not converted was billed in full, a trial cancelled credited in full)."""
    rows = [
        _trial(1, "new", "0", "0"),
        _trial(2, "convertTrial", "0", "0"),
        _trial(3, "convertTrial", "20.60", "515.00"),
        _trial(4, "cancelImmediate", "0", "0"),
    ]
    lines = rated(tmp_path, rows)
    assert [x["rule_id"] for x in lines] == ["seat"] * 4
    assert [x["PricingQuantity"] for x in lines] == [0, 0, 25, 0]
    assert [x["amount"] for x in lines] == [0, 0, D("550"), 0]


def test_a_licence_credit_after_its_tenant_moved_goes_to_the_customer_its_charge_billed(tmp_path):
    """A tenant mapped to C1 until 15 Oct and to C2 from 16 Oct (accounts.csv). Its monthly cycle
    1-31 Oct was charged on 1 Oct, to C1; 2 seats removed on 20 Oct give back part of that charge,
    priced on the cycle's first day (docs/pricing.md: a line is priced, and its account mapped, as
    on that day). Mapped by its own date the credit went to C2, which never paid for the seats:
    C1 paid 2 x 22.00 = 44.00 and C2 got 2 x 22.00 x 12/31 = 17.03 back, on C2's plan of 1 Oct."""
    accounts = (
        "vendor,account_id,customer_id,valid_from,valid_to,note\n"
        f"microsoft,{TENANT},C1,,2026-10-15,\n"
        f"microsoft,{TENANT},C2,2026-10-16,,\n"
    )
    common = {**PREMIUM, "Quantity": "2", "BillableQuantity": "2", "ChargeEndDate": "10/31/2026"}
    rows = [
        reconciliation_row(
            1,
            **common,
            ChargeType="cycleCharge",
            EffectiveUnitPrice="20.60",
            Subtotal="41.20",
            ChargeStartDate="10/1/2026",
        ),
        reconciliation_row(
            2,
            **common,
            ChargeType="removeQuantity",
            EffectiveUnitPrice="-7.97",
            Subtotal="-15.94",
            ChargeStartDate="10/20/2026",
        ),
    ]
    params = write_parameters(tmp_path / "params", PLANS, accounts=accounts)
    con = open_store()
    import_reports(con, [write_reconciliation(tmp_path / "r.csv", rows)])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    rate_lines(con, load_pricing(params, customers), customers, "2026-10")
    billed = con.execute(
        "SELECT source_row, customer_id, amount FROM rated_lines WHERE line_kind = 'vendor' "
        "ORDER BY source_row"
    ).fetchall()
    # 2 x 22.00; 20-31 Oct: 12 of October's 31 days, -(2 x 22.00 x 12/31) = -17.0322580645(16..)
    assert billed == [(2, "C1", D(44)), (3, "C1", D("-17.032258064516"))]


def _seats_raised(added: str, cycle_end: str, old: int, new: int, price: str) -> list[dict]:
    """Business Premium seats raised from ``old`` to ``new`` on ``added`` within a monthly cycle
    ending on ``cycle_end``, as Microsoft documents addQuantity ("used in both the refund of the
    original purchase and the new quantity after an increase"): two rows of one order, the
    ``old`` seats given back for the rest of the cycle and the ``new`` seats charged for it, at
    the prorated unit price ``price``."""
    common = {
        **PREMIUM,
        "ChargeType": "addQuantity",
        "OrderId": "seat-change-order",
        "AlternateId": "5c1d7e2f9a0b",
        "EffectiveUnitPrice": price,
        "ChargeStartDate": added,
        "ChargeEndDate": cycle_end,
    }
    return [
        reconciliation_row(
            1,
            **common,
            Quantity=str(-old),
            BillableQuantity=str(-old),
            Subtotal=str(-old * D(price)),
        ),
        reconciliation_row(
            2, **common, Quantity=str(new), BillableQuantity=str(new), Subtotal=str(new * D(price))
        ),
    ]


#: Microsoft's licences at cost plus 10 %, credits passed on at cost (the default).
MARKUP = """
plans:
  - id: p
    rules:
      - {id: ms, kind: markup, percent: 10, match: {vendor: microsoft}}
assignments:
  - {plan: p, group: smb}
"""


def test_a_seat_increase_printed_as_refund_and_new_quantity_bills_the_seats_added(tmp_path):
    """12 seats raised to 15 on 20 Oct in the cycle 12 Oct - 11 Nov: Microsoft gives the 12 back
    and charges the 15 (23 of 31 days at 15.28), EUR 45.84 net for the 3 seats added. The
    refund was read as a credit, passed on at cost, while the 15 seats were marked up: the
    customer paid 12 x 15.28 x 10 % = 18.34 more than the 3 seats at cost plus 10 % (50.42).
    Both rows are the addition's, priced alike."""
    lines = rated(tmp_path, _seats_raised("10/20/2026", "11/11/2026", 12, 15, "15.28"), MARKUP)
    assert [(x["rule_id"], x["quantity"]) for x in lines] == [("ms", D(-12)), ("ms", D(15))]
    # -183.36 x 1.10 and 229.20 x 1.10
    assert [x["amount"] for x in lines] == [D("-201.696"), D("252.12")]
    assert sum(x["amount"] for x in lines) == D("45.84") * D("1.10")


def test_a_seat_increase_after_a_price_change_bills_the_seats_added_at_the_new_price(tmp_path):
    """12 seats of the monthly cycle 28 Dec 2026 - 27 Jan 2027 (charged at 22.00, December's
    seat price) raised to 15 on 5 Jan, where the seat price is 23.00 from 1 January. The 12
    seats given back were priced on the cycle's first day (22.00) and the 15 charged on the
    addition's (23.00): the 12 seats kept cost the customer 12 x 1.00 x 23/31 = 8.90 more for
    a change that added 3. Both rows are priced on the addition's day: the 3 seats added at
    23.00 for the 23 days left, 3 x 23.00 x 23/31."""
    rows = _seats_raised("1/5/2027", "1/27/2027", 12, 15, "15.28")
    lines = rated(tmp_path, rows, NEW_YEAR_PRICE, "2027-01")
    assert [x["rule_id"] for x in lines] == ["seat-2027", "seat-2027"]
    # -(12 x 23 x 23/31) = -204.774193548387(09..); 15 x 23 x 23/31 = 255.967741935483(87..)
    assert [x["amount"] for x in lines] == [D("-204.774193548387"), D("255.967741935484")]
    assert sum(x["amount"] for x in lines) == D("51.193548387097")  # 3 x 23 x 23/31


#: Seats of the monthly cycle 1 - 31 Oct charged on 1 Oct, given back on 4 Oct (28 of 31 days):
#: 40 Exchange seats and 5 removed, 9 Business Premium seats and all 9 cancelled; and a
#: Microsoft credit of 10.00 naming the 40 Exchange seats (``customerCredit``: money back, no
#: seat given back).
SEATS_BACK = [
    reconciliation_row(
        1,
        ChargeType="cycleCharge",
        UnitPrice="3.70",
        Quantity="40",
        BillableQuantity="40",
        EffectiveUnitPrice="3.7",
        Subtotal="148.00",
        ChargeStartDate="10/1/2026",
        ChargeEndDate="10/31/2026",
    ),
    reconciliation_row(
        2,
        ChargeType="removeQuantity",
        UnitPrice="3.70",
        Quantity="5",
        BillableQuantity="5",
        EffectiveUnitPrice="-3.341935",
        Subtotal="-16.70",
        ChargeStartDate="10/4/2026",
        ChargeEndDate="10/31/2026",
    ),
    reconciliation_row(
        3,
        **PREMIUM,
        ChargeType="cycleCharge",
        Quantity="9",
        BillableQuantity="9",
        EffectiveUnitPrice="20.6",
        Subtotal="185.40",
        ChargeStartDate="10/1/2026",
        ChargeEndDate="10/31/2026",
    ),
    reconciliation_row(
        4,
        **PREMIUM,
        ChargeType="cancelImmediate",
        Quantity="-9",
        BillableQuantity="-9",
        EffectiveUnitPrice="18.606452",
        Subtotal="-167.40",
        ChargeStartDate="10/4/2026",
        ChargeEndDate="10/31/2026",
    ),
    reconciliation_row(
        5,
        ChargeType="customerCredit",
        UnitPrice="3.70",
        Quantity="40",
        BillableQuantity="40",
        EffectiveUnitPrice="-0.25",
        Subtotal="-10.00",
        ChargeStartDate="10/1/2026",
        ChargeEndDate="10/31/2026",
    ),
]
#: The licences at cost plus 10 %, Business Premium at the seat price 22.00, credits passed on
#: (the default).
PASSED_ON = """
plans:
  - id: p
    rules:
      - {id: ms, kind: markup, percent: 10, match: {vendor: microsoft}}
      - {id: seat, kind: fixed_price, unit_price: "22.00", currency: EUR,
         match: {vendor: microsoft, sku: "CFQ7TTC0LCHC:0002"}}
assignments:
  - {plan: p, group: smb}
"""


def test_seats_given_back_under_pass_on_are_credited_what_they_were_charged(tmp_path):
    """Seats removed or cancelled give back what the customer paid for the seat-days given back,
    under ``credits: pass_on`` too: 5 Exchange seats charged at cost + 10 % are credited
    16.70 x 1.10, the 9 Business Premium seats charged 22.00 each are credited 22.00 x 9 for
    28 of October's 31 days. Passed on at cost, the customer paid 1.67 for Exchange seats it
    did not hold, and 11.44 for Business Premium seats (credited 167.40 of the 178.84 it paid
    for those days). A Microsoft credit gives back no seat: at cost, 10.00."""
    lines = rated(tmp_path, SEATS_BACK, PASSED_ON)
    assert [(x["rule_id"], x["amount"]) for x in lines] == [
        ("ms", D("162.80")),  # 148.00 x 1.10
        ("ms", D("-18.37")),  # -16.70 x 1.10
        ("seat", D(198)),  # 9 x 22.00
        ("seat", D("-178.838709677419")),  # -(9 x 22.00 x 28/31), 12 places half-up
        ("ms", D("-10.00")),
    ]


def test_a_microsoft_credit_is_not_marked_up_by_a_list_or_seat_price_under_credits_price(
    tmp_path,
):
    """Under ``credits: price`` seats given back are priced as their charge (list + 3 %, the seat
    price), but a Microsoft credit that gives back no seat (``customerCredit``, ``credit``) has
    no list or seat price of its own: the seats its row names are not what it gives back. The
    10.00 credit naming 40 Exchange seats was priced at their list price + 3 %, 152.44 back to
    the customer (the reseller paid 142.44 of it); on the Business Premium seat price it was
    880.00 back. It gives back its cost, 10.00."""
    premium_credit = reconciliation_row(
        6,
        **PREMIUM,
        ChargeType="credit",
        Quantity="40",
        BillableQuantity="40",
        EffectiveUnitPrice="-0.25",
        Subtotal="-10.00",
        ChargeStartDate="10/1/2026",
        ChargeEndDate="10/31/2026",
    )
    lines = rated(tmp_path, [*SEATS_BACK, premium_credit])
    assert [(x["rule_id"], x["amount"]) for x in lines] == [
        ("licences", D("152.44")),  # 148.00 x 1.03
        ("licences", D("-17.210967741924")),  # list 3.70 x 5 x 28/31, x 1.03
        ("seat", D(198)),
        ("seat", D("-178.838709677419")),
        ("licences", D("-10.00")),
        ("seat", D("-10.00")),
    ]
