"""What the margin notebook's what-if (``analysis.repricer``) says of a customer's months that it
has nothing to re-price: an invoice a credit note cancelled and none replaced, or no line of
the customer at all (an id mistyped), instead of an empty what-if read as a margin of nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb

from billing_lib.errors import ParameterError
from billing_lib.run_files import corrections_of, read_manifest


def credited_not_replaced(output: Path, period: str, customer: str) -> str | None:
    """Why ``customer`` has nothing billed in ``period`` now, when so: every invoice of its
    month (the run's, then each reissued one) cancelled by a credit note, the last one named
    with its credit note; None when an invoice of it stands (or it had none). What the what-if
    says instead of "no lines": it re-prices the invoices that stand."""
    corrections = corrections_of(Path(output), period)
    notes = {
        str(m.get("corrects")): str(m.get("credit_note"))
        for _, m in corrections
        if m.get("kind") != "reissue"
    }
    if not notes:  # no credit note of the month: its run's manifest is not read
        return None
    invoices = read_manifest(Path(output) / period).get("invoices", [])
    chain = [str(i.get("invoice_number")) for i in invoices if i.get("customer_id") == customer]
    chain += [
        str(m.get("invoice"))
        for _, m in corrections
        if m.get("kind") == "reissue" and str(m.get("customer_id")) == customer
    ]
    if not chain or any(n not in notes for n in chain):
        return None
    return (
        f"{customer} in {period}: invoice {chain[-1]} was cancelled by credit note "
        f"{notes[chain[-1]]} and not reissued, so nothing of that month is billed now to "
        "re-price (its vendor cost stays in the summary, at revenue 0)"
    )


def check_has_lines(
    con: duckdb.DuckDBPyConnection,
    lines: str,
    customer: str,
    periods: list[str],
    output: Path,
    not_billed: list[str],
) -> None:
    """ParameterError naming ``customer`` when the table ``_lines`` (its lines of ``periods`` as
    billed now, of ``lines``) is empty and no credit note says why (``not_billed``): a
    customer id mistyped, or one without a line in those months, gave an empty what-if, read
    as a customer with nothing to re-price. The customers with lines there are listed."""
    if not_billed or con.execute("SELECT count(*) FROM _lines").fetchall()[0][0]:
        return
    found = con.execute(f"SELECT DISTINCT customer_id FROM {lines} ORDER BY 1").fetchall()
    ids = [str(c) for (c,) in found]
    raise ParameterError(
        "what-if",
        "customer",
        f"{customer!r}: no line of this customer in the runs of {periods} in {output}; "
        f"customers with lines there: {', '.join(ids) or 'none'}",
    )
