"""The quantity an invoice line shows counts the usage consumed, once: not the usage amount a
Savings Plan negation, a discount or a commitment's fee repeats, and nothing for a line without
a quantity (E4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pyarrow as pa

from billing_lib.customers import load_customers
from billing_lib.invoices import build_invoices, load_invoicing
from billing_lib.numbering import open_register
from tests.test_aws_commitments import CUR, PARAMETERS, cur_variant, rate


def invoice_lines(con, tmp_path, customer: str) -> dict[str, tuple]:
    customers = load_customers(PARAMETERS)
    invoices = build_invoices(
        con,
        customers,
        load_invoicing(PARAMETERS, customers),
        "2026-10",
        open_register(tmp_path / "register.sqlite"),
        date(2026, 11, 1),
    )
    [invoice] = [i for i in invoices if i.customer_id == customer]
    return {
        ln.description: (ln.display_quantity, ln.unit, ln.display_unit_price, ln.amount)
        for ln in invoice.lines
    }


def test_savings_plan_covered_usage_is_counted_once_not_with_its_negation(tmp_path):
    """C002's EC2 instance: 31 days x 96 h covered by the Savings Plan (2976 h), and 31
    negation lines of the same 96 h each."""
    lines = invoice_lines(rate(CUR), tmp_path, "C002")
    quantity, unit, _, _ = lines["Amazon Elastic Compute Cloud – vll-prod"]
    assert (quantity, unit) == (D(2976), "Hrs")
    # the plan's fee has no quantity of its own: its amount only
    assert lines["Savings Plans for AWS Compute usage – vll-prod"][:3] == (None, None, None)


def test_a_reservation_counts_its_hours_once_not_with_its_fee(tmp_path):
    """C004's RDS reserved instance: 744 hours of DiscountedUsage in a 744-hour month; the RIFee
    line repeats them."""
    lines = invoice_lines(rate(CUR), tmp_path, "C004")
    assert lines["Amazon Relational Database Service"][:2] == (D(744), "Hrs")


def test_lines_without_a_quantity_add_nothing_to_the_shown_quantity(tmp_path):
    """Five copies of a C008 EC2 line with a usage amount of 0 and no cost, and one without a
    usage amount: the line still shows the 1488 hours consumed (1493 and more before)."""

    def with_empty_copies(table: pa.Table) -> pa.Table:
        rows = table.to_pylist()
        template = next(
            r
            for r in rows
            if r["line_item_usage_account_id"] == "852963741025"
            and r["line_item_line_item_type"] == "Usage"
            and r["line_item_product_code"] == "AmazonEC2"
        )
        for n, amount in enumerate([0.0] * 5 + [None]):
            rows.append(
                dict(
                    template,
                    identity_line_item_id=f"empty{n}",
                    line_item_usage_amount=amount,
                    line_item_unblended_cost=0.0,
                    pricing_public_on_demand_cost=0.0,
                )
            )
        return pa.Table.from_pylist(rows, schema=table.schema)

    before = invoice_lines(rate(CUR), tmp_path / "a", "C008")
    after = invoice_lines(rate(cur_variant(tmp_path, with_empty_copies)), tmp_path / "b", "C008")
    assert after == before
    assert [v[:2] for k, v in after.items() if "Elastic Compute" in k] == [(D(1488), "Hrs")]
