"""A vendor's bills of the month, as the purchase entries book its payable: one per vendor
invoice, each rounded once, as the vendor rounds it.

A vendor invoices per billing account and invoice: AWS one invoice per payer (management)
account (``bill/PayerAccountId``, ``bill/InvoiceId``), Microsoft one per invoice number, an
Azure or FOCUS export per billing account and invoice id; the line model carries them as
``BillingAccountId`` and ``InvoiceId``. A line's bill is its (billing account, invoice id) in
a format that maps ``InvoiceId`` (where the invoice id is empty, an estimated month not yet
invoiced, its billing account's alone); a format without one (VMware's usage reports, whose
``BillingAccountId`` is a usage meter, not an invoiced account) bills the vendor's month once.
Rounded once over the vendor and currency, two AWS payers of 10.004 each were booked a payable
of 20.01 against invoices of 10.00 and 10.00."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb

from billing_lib.errors import ControlTotalError
from billing_lib.importers.spec import all_specs
from billing_lib.money import ZERO, round_money
from billing_lib.sql import qi
from billing_lib.store import relation_exists


@dataclass(frozen=True)
class VendorBill:
    """The lines of one vendor invoice: ``billed`` their exact BilledCost in ``currency``;
    ``account`` and ``invoice`` as the report names them (None where it does not)."""

    currency: str
    account: str | None
    invoice: str | None
    billed: Decimal

    @property
    def payable(self) -> Decimal:
        """What the invoice asks: its lines' BilledCost summed, rounded half-up once."""
        return round_money(self.billed, self.currency)

    def text(self, vendor_name: str, period: str) -> str:
        """The payable posting's description, naming what the accountant matches it to."""
        if self.invoice:
            return f"{vendor_name} {self.named()} {period}"
        if self.account:
            return f"{vendor_name} billing account {self.account} {period} (no invoice id)"
        return f"{vendor_name} report {period}"

    def vat_text(self, vendor_name: str, period: str) -> str:
        """The input VAT posting's description: the VAT charged on this bill."""
        return f"{vendor_name} input VAT charged on its {self.named()} {period}"

    def named(self) -> str:
        """The bill as its report names it: ``invoice X (billing account Y)``, ``bill of
        billing account Y``, or ``bill``."""
        account = f"billing account {self.account}" if self.account else ""
        if self.invoice:
            return f"invoice {self.invoice}" + (f" ({account})" if account else "")
        return f"bill of {account}" if account else "bill"


def bill_sql(formats: str) -> tuple[str, str]:
    """SQL of a line's bill (``vendor_bills``): its billing account and its invoice id, of the
    lines whose ``x_Format`` is in the list ``formats`` (SQL: ``invoiced_formats``'), else
    NULL."""
    account, invoice = (
        f"CASE WHEN list_contains({formats}, x_Format) THEN {column} END"
        for column in ("BillingAccountId", "InvoiceId")
    )
    return account, invoice


def has_bills(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table`` has the columns a line's bill is read from (a run's relations do;
    tables a test builds by hand may not)."""
    # DESCRIBE binds the one relation (information_schema.columns lists every column of the
    # store's tables and views: 12 ms a call on the sample month's store, twice per table a run)
    found = {r[0] for r in con.execute(f"DESCRIBE {qi(table)}").fetchall()}
    return {"x_Format", "BillingAccountId", "InvoiceId"} <= found


def invoiced_formats() -> list[str]:
    """The import formats whose lines name the vendor's invoice (they map ``InvoiceId``)."""
    return sorted(s.name for s in all_specs() if s.columns.get("InvoiceId") is not None)


def vendor_bills(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[VendorBill]]:
    """Per vendor and vendor currency, the bills of the run's ``lines`` (every line the run
    imported: rated, excluded and unmapped), in billing account and invoice order; empty for a
    store without ``lines`` (entries built from rated lines alone: one bill per vendor and
    currency, ``bills_of``)."""
    if not relation_exists(con, "lines"):
        return {}
    rows = con.execute(
        f"""SELECT x_Vendor, BillingCurrency, {", ".join(bill_sql("$1"))}, sum(BilledCost)
           FROM lines GROUP BY ALL ORDER BY ALL""",
        [invoiced_formats()],
    ).fetchall()
    out: dict[tuple[str, str], list[VendorBill]] = {}
    for vendor, currency, account, invoice, billed in rows:
        out.setdefault((vendor, currency), []).append(
            VendorBill(currency, account, invoice, billed)
        )
    return out


def bills_of(
    found: dict[tuple[str, str], list[VendorBill]],
    vendor: str,
    currency: str,
    billed: Decimal,
    period: str,
) -> list[VendorBill]:
    """The bills of ``vendor`` in ``currency`` among ``found`` (``vendor_bills``), whose
    BilledCost must add up to ``billed`` (the month's rated, excluded and unmapped lines); one
    bill of ``billed`` when ``found`` holds none of the store's lines. A ControlTotalError when
    they differ: the payable would not be the vendor's bill."""
    if not found:
        return [VendorBill(currency, None, None, billed)]
    bills = found.get((vendor, currency), [])
    total = sum((b.billed for b in bills), ZERO)
    if total != billed:
        raise ControlTotalError(
            f"purchase entry of {vendor} {currency} {period}: the imported lines bill {total} "
            f"but the rated, excluded and unmapped lines {billed}; the payable would not be "
            "the vendor's invoices"
        )
    return bills
