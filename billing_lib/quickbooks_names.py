"""The Name of a customer or vendor in the QuickBooks Online journal-entries import file
(``quickbooks_journal``): as QuickBooks can hold it (``quickbooks_name``), one per currency
and one across customers and vendors (``quickbooks_contact``), and the check that no two
contacts of a file share one (``QuickBooksContacts``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection

from billing_lib.errors import RunError
from billing_lib.invoicing_parameters import QUICKBOOKS_MAX_NAME, QUICKBOOKS_REFUSED, Invoicing

#: Hex digits of a name's SHA-256 in a Name QuickBooks could not hold as it is.
_NAME_DIGEST = 6
#: A colon and the spaces beside it, which a Name gives as " - ".
_COLON = re.compile(r"\s*:\s*")
#: Tabs and line breaks (``QUICKBOOKS_REFUSED``) and the spaces beside them, given as a space.
_BREAKS = re.compile(
    r"\s*[" + re.escape("".join(c for c in QUICKBOOKS_REFUSED if c != '"')) + r"]+\s*"
)


def quickbooks_name(name: str, room: int = 0) -> str:
    """QuickBooks' Name of a customer or vendor ``name`` (customers.yaml's, products.yaml's):
    the name itself where QuickBooks can hold it. QuickBooks Online refuses a colon, a double
    quote, a tab and a line break in a customer's or vendor's name (``QUICKBOOKS_REFUSED``)
    and reads a colon in a Name as a sub-customer's path ("ACME: Germany" the sub-customer
    " Germany" of "ACME"); such a name is given with a colon and the spaces beside it as
    " - ", a double quote as "'", a tab or line break and the spaces beside it as one space,
    then " #" and 6 hex digits of the name's SHA-256 ("ACME - Germany #<6 hex>"). A name
    longer than ``QUICKBOOKS_MAX_NAME`` characters less ``room`` (what ``quickbooks_contact``
    adds after it: " - USD"), which no QuickBooks customer or vendor can have, is given so
    too, cut before the digest to fit ("Stichting ... #1f2e3d", 100 characters). The digest
    keeps two names apart that differ only where they were rewritten or cut (and from a name
    already written "ACME - Germany"), and the same name has the same Name in every run:
    create the customer in QuickBooks under it. The invoices keep the name as it is: it is
    the customer's, and only the QuickBooks file cannot hold it."""
    limit = QUICKBOOKS_MAX_NAME - room
    held = _BREAKS.sub(" ", _COLON.sub(" - ", name)).replace('"', "'")
    if held == name and len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_NAME_DIGEST]
    return f"{held.strip()[: limit - _NAME_DIGEST - 2]} #{digest}"


#: What a customer's Name adds where a vendor could be written under it (``quickbooks_contact``).
CUSTOMER_MARK = " (customer)"
#: The end of a Name in another currency than the home currency (``quickbooks_contact``).
_IN_CURRENCY = re.compile(r" - [A-Z]{3}$", re.IGNORECASE)


def _folded(name: str) -> str:
    """``name`` as QuickBooks compares display names: whatever its case and runs of spaces."""
    return " ".join(name.split()).casefold()


def quickbooks_contact(name: str, currency: str, home: str, vendors: Collection[str] = ()) -> str:
    """QuickBooks' Name of the customer or vendor ``name`` on an A/R or A/P row in ``currency``
    of a company file in ``home``: ``quickbooks_name``, and in another currency than ``home``
    "<name> - <currency>" ("Harborview Analytics Inc. - USD", "Amazon Web Services - USD"), as
    its A/R and A/P accounts are named (``quickbooks_account``). A QuickBooks customer or
    vendor has one currency, fixed once it has transactions: a customer moved from EUR to USD
    (customers.yaml's ``invoice_currency`` is not dated), and a vendor billing in both, were
    one Name for both currencies, and the import refused one currency's journals or booked
    USD on the EUR customer. The Name hangs on the currency alone, not on the customer's
    currency of the month, so it is the same in every run.

    ``vendors``: for a customer, products.yaml's vendor names (empty for a vendor). QuickBooks
    keeps one display name across customers, vendors and employees, so a customer whose Name
    would be one a vendor of them is written under, in any currency ("Amazon Web Services",
    "MICROSOFT", "Amazon Web Services - USD"; whatever the case and runs of spaces), is given
    ``CUSTOMER_MARK`` before the currency: "Amazon Web Services (customer) - USD". The vendor
    keeps its name; the mark depends on products.yaml's vendors only, not on the month's."""
    suffix = f" - {currency}" if currency != home else ""
    written = quickbooks_name(name, len(suffix)) + suffix
    if vendors:
        alike = {_folded(quickbooks_name(v)) for v in vendors}
        in_currency = {_folded(quickbooks_name(v, len(" - USD"))) for v in vendors}
        bare = _IN_CURRENCY.sub("", written) if _IN_CURRENCY.search(written) else None
        if _folded(written) in alike or (bare is not None and _folded(bare) in in_currency):
            room = len(CUSTOMER_MARK) + len(suffix)
            written = quickbooks_name(name, room) + CUSTOMER_MARK + suffix
    return written


class QuickBooksContacts:
    """The Names of one QuickBooks file's customers and vendors (``quickbooks_contact``), and
    the check that no two of them are written under one Name: QuickBooks would make them one
    contact (a EUR customer named "ACME - USD" and the USD customer "ACME")."""

    def __init__(self, invoicing: Invoicing, period: str) -> None:
        self.receivable = invoicing.products.receivable_account
        self.vendors = sorted({v.name for v in invoicing.products.vendors.values()})
        self.period = period
        self.written: dict[str, tuple[str, str, str, str]] = {}

    def name(self, payee: str, account: str, currency: str, home: str) -> str:
        """The Name of ``payee`` on a row of ``account`` (the receivable account: a customer;
        a payable account: a vendor) in ``currency``; a RunError when another contact of the
        file has that Name (whatever its case and runs of spaces, as QuickBooks compares)."""
        customer = account == self.receivable
        kind = "customer" if customer else "vendor"
        name = quickbooks_contact(payee, currency, home, self.vendors if customer else ())
        key = (kind, payee, currency, name)
        seen = self.written.setdefault(_folded(name), key)
        if (seen[0], _folded(seen[1])) != (kind, _folded(payee)):
            raise RunError(
                f"the QuickBooks journal of {self.period} would write the {seen[0]} {seen[1]!r} "
                f"in {seen[2]} and the {kind} {payee!r} in {currency} both {seen[3]!r} (Name), "
                "and QuickBooks would make them one contact; no file is written: give one of "
                "them another name (customers.yaml, products.yaml vendors)"
            )
        return name
