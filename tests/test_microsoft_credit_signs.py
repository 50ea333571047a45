"""Microsoft credits whichever way a file prints their sign (issue 10, part 4).

The project's sample prints a seat reduction with a positive Quantity and a negative
EffectiveUnitPrice; other invoice reconciliation files print a negative Quantity/BillableQuantity
and a positive EffectiveUnitPrice, some with BillableQuantity already the charged part of Quantity.
In every case the list cost has the sign of Subtotal, a credit's rated quantity is negative, and the
proration by days is applied once."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rating_helpers import write_parameters

from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.importers import import_reports
from billing_lib.pricing import load_pricing
from billing_lib.rating import rate_lines
from billing_lib.store import open_store

D = Decimal
TENANT = "0f6a1c2e-1111-4f0e-9a27-5c8e1d2b7a01"
HEADER = [
    "PartnerId",
    "CustomerId",
    "CustomerName",
    "InvoiceNumber",
    "OrderId",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "Subtotal",
    "TaxTotal",
    "Total",
    "Currency",
    "PublisherName",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "EffectiveUnitPrice",
    "UnitType",
    "AlternateId",
    "BillableQuantity",
    "BillingFrequency",
    "PCToBCExchangeRate",
]
ACCOUNTS = f"vendor,account_id,customer_id,valid_from,valid_to,note\nmicrosoft,{TENANT},C1,,,\n"
PLANS = """
plans:
  - id: p
    rules:
      - {id: ms, kind: list_price, uplift_percent: 3, credits: price, match: {vendor: microsoft}}
assignments:
  - {plan: p, group: smb}
"""
CREDIT_TYPES = ("removeQuantity", "cancelImmediate", "refund")


def _us(d: date) -> str:
    return f"{d.month}/{d.day}/{d.year}"


def reconciliation_row(n: int, **values: str) -> dict[str, str]:
    row = {
        "PartnerId": "06e7e8c4-907e-4ab2-8fce-417259f6115a",
        "CustomerId": TENANT,
        "CustomerName": "Test B.V.",
        "InvoiceNumber": "G000000001",
        "OrderId": f"order-{n}",
        "ProductId": "CFQ7TTC0LH16",
        "SkuId": "0001",
        "AvailabilityId": "CFQ7TTC0K3C9",
        "SkuName": "Exchange Online (Plan 1)",
        "ProductName": "Exchange Online (Plan 1)",
        "TaxTotal": "0",
        "Currency": "EUR",
        "PublisherName": "Microsoft Corporation",
        "SubscriptionId": "7c2d9e4b-1a3f-4c6d-8e5b-2f9a0c7d3e14",
        "UnitType": "Licenses",
        "AlternateId": f"alt{n}",
        "BillingFrequency": "Monthly",
        "PCToBCExchangeRate": "1",
    }
    row.update(values)
    row.setdefault("Total", row["Subtotal"])
    return row


def write_reconciliation(path: Path, rows: list[dict[str, str]], newline: str = "\r\n") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, HEADER, lineterminator=newline)
        w.writeheader()
        w.writerows(rows)
    return path


def rated(tmp: Path, report: Path) -> list[dict]:
    """Rated lines of ``report`` under a list-price rule (3 % uplift, credits priced)."""
    params = write_parameters(tmp / "params", PLANS, accounts=ACCOUNTS)
    con = open_store()
    import_reports(con, [report])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    rate_lines(con, load_pricing(params, customers), customers, "2026-10")
    cur = con.execute(
        "SELECT r.source_row, r.quantity, r.amount, l.BilledCost, l.ListCost, l.PricingQuantity, "
        "l.ChargeCategory FROM rated_lines r JOIN lines l ON l.x_SourceRow = r.source_row "
        "WHERE r.line_kind = 'vendor' ORDER BY r.source_row"
    )
    return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]


def test_a_seat_reduction_printed_either_way_is_the_same_credit(tmp_path):
    """5 of 40 Exchange seats removed on 4 Oct (28 of 31 days back), printed both ways."""
    common = {
        "ChargeType": "removeQuantity",
        "UnitPrice": "3.70",
        "Subtotal": "-16.70",
        "ChargeStartDate": "10/4/2026",
        "ChargeEndDate": "10/31/2026",
    }
    sample_way = reconciliation_row(
        1, **common, Quantity="5", BillableQuantity="5", EffectiveUnitPrice="-3.341935"
    )
    other_way = reconciliation_row(
        2, **common, Quantity="-5", BillableQuantity="-5", EffectiveUnitPrice="3.341935"
    )
    lines = rated(tmp_path, write_reconciliation(tmp_path / "r.csv", [sample_way, other_way]))
    # ListCost = 3.70 x 5 x 0.903225806451 (28/31 to 12 places), amount = that x 1.03
    assert [(x["ListCost"], x["PricingQuantity"]) for x in lines] == [
        (D("-16.709677419344"), D(-5)),
        (D("-16.709677419344"), D(-5)),
    ]
    assert [x["quantity"] for x in lines] == [D(-5), D(-5)]
    assert all(x["amount"] == D("-17.210967741924") for x in lines)


def test_a_billable_quantity_already_prorated_is_not_prorated_again(tmp_path):
    """3 seats removed for the last 20 of November's 30 days; the file prints BillableQuantity
    -2 (the charged part of Quantity -3) and a positive unit price. Prorating again, and flipping
    the sign twice, charged the customer +4.93 (3.70 x 2 x 20/30) instead of crediting 7.40. The
    rated quantity is the 3 seats (Quantity), as the other convention prints them: a seat price
    prorates them by the charge period once (tests/test_microsoft_terms.py)."""
    row = reconciliation_row(
        1,
        ChargeType="removeQuantity",
        UnitPrice="3.70",
        Quantity="-3",
        BillableQuantity="-2",
        EffectiveUnitPrice="3.70",
        Subtotal="-7.40",
        ChargeStartDate="11/11/2026",
        ChargeEndDate="11/30/2026",
    )
    con = open_store()
    import_reports(con, [write_reconciliation(tmp_path / "r.csv", [row])])
    got = con.execute("SELECT ListCost, PricingQuantity, ChargeCategory FROM lines").fetchall()
    assert got == [(D("-7.40"), D(-3), "Credit")]


def test_a_refund_of_daily_rated_usage_is_negative_whatever_the_signs(tmp_path):
    header = (
        "PartnerId,CustomerId,CustomerName,InvoiceNumber,ProductId,SkuId,ChargeStartDate,"
        "ChargeEndDate,UsageDate,MeterCategory,MeterId,ResourceURI,Quantity,UnitPrice,"
        "EffectiveUnitPrice,BillingPreTaxTotal,BillingCurrency,PCToBCExchangeRate,ChargeType\n"
    )
    common = f"p,{TENANT},Test,G1,DZH318Z0BQPS,00TW,10/1/2026,10/31/2026,10/3/2026,Storage,m1,"
    text = (
        header
        + common
        + "/subscriptions/s/r1,-2,0.5,0.5,-1.00,EUR,1,refund\n"
        + common
        + "/subscriptions/s/r2,2,-0.5,-0.5,-1.00,EUR,1,refund\n"
        + common
        + "/subscriptions/s/r3,4,0.5,0.5,2.00,EUR,1,new\n"
    )
    path = tmp_path / "usage.csv"
    path.write_text(text, encoding="utf-8")
    con = open_store()
    import_reports(con, [path])
    got = con.execute("SELECT ListCost, PricingQuantity FROM lines ORDER BY x_SourceRow").fetchall()
    assert got == [(D(-1), D(-2)), (D(-1), D(-2)), (D(2), D(4))]


# -- the property ---------------------------------------------------------------------------------


@st.composite
def licence_event(draw, n: int) -> dict[str, str]:
    """One invoice reconciliation row: a charge type, a sign convention for credits, a monthly or
    annual cycle, a change on some day of it, BillableQuantity whole or already prorated."""
    charge_type = draw(
        st.sampled_from(["new", "addQuantity", "renew", "cycleCharge", *CREDIT_TYPES])
    )
    credit = charge_type in CREDIT_TYPES
    annual = draw(st.booleans())
    cycle_end = date(2026, 10, 31) if not annual else date(2027, 9, 30)
    cycle_start = date(2026, 10, 1)
    start = cycle_start + timedelta(days=draw(st.integers(0, 29)))
    days = (cycle_end - start).days + 1
    cycle_days = (cycle_end - cycle_start).days + 1
    unit_price = draw(st.decimals(min_value=D("0.01"), max_value=D(500), places=2))
    quantity = D(draw(st.integers(1, 300)))
    part = D(days) / D(cycle_days)
    prorated_quantity = draw(st.booleans()) and days < cycle_days
    billable = (quantity * part).quantize(D("0.000001")) if prorated_quantity else quantity
    effective = unit_price if prorated_quantity else (unit_price * part).quantize(D("0.000001"))
    subtotal = (effective * billable).quantize(D("0.01"))
    if subtotal == 0:
        subtotal = D("0.01")
    negative_quantity = draw(st.booleans())  # the other sign convention
    if credit:
        subtotal = -subtotal
        if negative_quantity:
            quantity, billable = -quantity, -billable
        else:
            effective = -effective
    return reconciliation_row(
        n,
        ChargeType=charge_type,
        UnitPrice=str(unit_price),
        Quantity=str(quantity),
        BillableQuantity=str(billable),
        EffectiveUnitPrice=str(effective),
        Subtotal=str(subtotal),
        ChargeStartDate=_us(start),
        ChargeEndDate=_us(cycle_end),
        BillingFrequency="Annual" if annual else "Monthly",
    )


@pytest.mark.slow  # 30 generated reports rated
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), count=st.integers(1, 12))
def test_list_price_amount_has_the_sign_of_subtotal(tmp_path_factory, data, count):
    rows = [data.draw(licence_event(n)) for n in range(count)]
    tmp = tmp_path_factory.mktemp("signs")
    lines = rated(tmp, write_reconciliation(tmp / "r.csv", rows))
    assert len(lines) == count
    for x in lines:
        row = rows[x["source_row"] - 2]
        sign = -1 if D(row["Subtotal"]) < 0 else 1
        assert (x["amount"] > 0 and sign == 1) or (x["amount"] < 0 and sign == -1), (row, x)
        assert (x["ListCost"] > 0) == (sign == 1), (row, x)
        assert (x["quantity"] < 0) == (row["ChargeType"] in CREDIT_TYPES), (row, x)
        # never prorated twice: the list cost is at most the undiscounted price of the quantity
        # for the whole cycle, and at least what Microsoft billed less its rounding: the unit
        # price's last cent per unit and the Subtotal's cent (a Subtotal that would round to 0.00
        # is billed as 0.01 here, as licence_event draws it)
        whole = D(row["UnitPrice"]) * abs(D(row["Quantity"]))
        assert abs(x["ListCost"]) <= whole
        assert abs(x["ListCost"]) >= abs(D(row["Subtotal"])) - D("0.01") * abs(
            D(row["BillableQuantity"])
        ) - D("0.01"), (row, x)
