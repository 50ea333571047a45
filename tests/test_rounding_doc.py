"""docs/rounding.md: its worked example is what the rating produces and what the rounding rule
gives."""

import re
from datetime import datetime
from decimal import Decimal as D
from pathlib import Path

from rating_helpers import line, rated_store, write_parameters

from billing_lib.invoice_model import national_vat_amount
from billing_lib.money import round_money
from billing_lib.rating import rate_lines

DOC = Path(__file__).resolve().parents[1] / "docs" / "rounding.md"
HEADER = (
    "from_currency,to_currency,rate,valid_from,valid_to,source\n"
    "USD,EUR,0.9215,2026-10-01,2026-10-15,ECB\n"
)


def table(marker: str) -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8").split(f"<!-- {marker} -->", 1)[1].strip().splitlines()
    rows = []
    for row in text[2:]:
        if not row.startswith("|"):
            break
        rows.append([c.strip() for c in row.strip("|").split("|")])
    return rows


def test_each_line_is_rounded_half_up_and_totals_are_sums_of_rounded_figures():
    lines = table("rounding-example")
    assert len(lines) == 5
    for _, unrounded, rounded in lines:
        assert round_money(D(unrounded), "EUR") == D(rounded)
    totals = {name: D(value) for name, value, _ in table("rounding-totals")}
    net = sum(D(r) for _, _, r in lines)
    assert totals["net"] == net
    assert totals["VAT 21 %"] == round_money(net * D("0.21"))
    assert totals["gross"] == totals["net"] + totals["VAT 21 %"]
    assert "139.205606935484" in DOC.read_text() and sum(D(u) for _, u, _ in lines) == D(
        "139.205606935484"
    )


def test_the_unrounded_amounts_are_what_the_rating_gives(tmp_path):
    plans = """plans:
  - id: p
    rules:
      - {id: aws, kind: markup, percent: 10, match: {vendor: aws}}
      - {id: seat, kind: fixed_price, unit_price: "22.00", currency: EUR,
         match: {vendor: microsoft}}
assignments:
  - {plan: p, group: smb}
"""
    custom = (
        "custom_lines:\n  - {id: fee, customer: C1, kind: fee, description: Cloud management fee, "
        "unit_price: '155.00', currency: EUR, valid_from: 2026-10-16}\n"
    )
    params = write_parameters(tmp_path, plans, custom, rates=HEADER)
    con, pricing, customers = rated_store(
        params,
        [
            line(BilledCost="10.10", ChargePeriodStart=datetime(2026, 10, 15)),
            line(
                x_Vendor="microsoft",
                SubAccountId="tenant-1",
                ProviderName="Microsoft",
                BillingCurrency="EUR",
                PricingQuantity=3,
                BilledCost="45.84",
                ChargePeriodStart=datetime(2026, 10, 20),
                ChargePeriodEnd=datetime(2026, 11, 12),
            ),
        ],
    )
    rate_lines(con, pricing, customers, "2026-10")
    got = [
        r[0]
        for r in con.execute(
            "SELECT amount FROM rated_lines ORDER BY line_kind DESC, source_row"
        ).fetchall()
    ]
    documented = [D(u) for _, u, _ in table("rounding-example")[:3]]
    assert got == documented
    assert re.search(r"10\.10 x 0\.9215 = 9\.30715", DOC.read_text())


def test_the_vat_in_the_national_currency_is_the_vat_total_at_the_rate_rounded_half_up_once():
    rows = table("national-vat-example")
    assert len(rows) == 3
    for vat, rate, exact, national in rows:
        amount = D(vat.removeprefix("GBP "))
        assert amount * D(rate) == D(exact)
        assert national_vat_amount(amount, D(rate), "EUR") == D(national)
    # half-up, not Decimal's half-even: 0.045 -> 0.05
    assert D("0.045").quantize(D("0.01")) == D("0.04") and rows[1][3] == "0.05"
