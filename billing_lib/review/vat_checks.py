"""Customers invoiced from another country or under another VAT rule than in the previous
finalised month.

customers.yaml holds one country and one VAT rule per customer, not their history: a customer
that moved (Duisburg to Vienna, or into the seller's own country) is invoiced from its new
country from the month the file is edited, and a month before the move billed then (late, again,
or reissued) takes the new country's VAT rule without a word. The run cannot know the date of
the move; the review names the change so the analyst checks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from billing_lib.errors import RunError
from billing_lib.invoice_files import read_invoice_data
from billing_lib.invoice_model import Invoice
from billing_lib.review.findings import Finding
from billing_lib.run_files import INVOICE_DATA


def vat_place_changes(
    invoices: Sequence[Invoice], output: Path, previous: str | None
) -> list[Finding]:
    """Each customer of ``invoices`` whose country or VAT rule differs from its invoice of the
    ``previous`` finalised month (its run's ``invoices.json``; none there, nothing to compare)."""
    path = Path(output) / previous / INVOICE_DATA if previous else None
    if path is None or not path.is_file():
        return []
    try:
        _, before = read_invoice_data(path)
    except RunError as exc:  # named, not the review stopped: the month's invoices are built
        return [Finding("VAT country changed", previous or "", f"not compared: {exc}")]
    then = {i.customer_id: i for i in before.values()}
    out = []
    for inv in sorted(invoices, key=lambda i: i.customer_id):
        old = then.get(inv.customer_id)
        if old is None or (old.buyer.country, old.vat_rule) == (inv.buyer.country, inv.vat_rule):
            continue
        out.append(
            Finding(
                "VAT country changed",
                inv.customer_id,
                f"invoiced from {inv.buyer.country} under {inv.vat_rule}, in {previous} from "
                f"{old.buyer.country} under {old.vat_rule}: customers.yaml holds one country and "
                "VAT rule per customer, so a month before the move billed now (late, again or "
                "reissued) takes the new ones; check the date of the move",
                (f"{previous} invoice {old.number}",),
            )
        )
    return out
