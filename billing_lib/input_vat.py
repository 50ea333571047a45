"""Which of a vendor's Tax lines are recoverable input VAT: those of a vendor with an
``input_vat_account`` in products.yaml, and where the vendor lists ``input_vat_issuers``, only
those its report says one of them issued (``InvoiceIssuerName``). AWS invoices a European
reseller from AWS EMEA SARL (EU VAT: recoverable) and from Amazon Web Services, Inc. (US sales
tax on a US account: a cost); one account per vendor booked the sales tax as input VAT. The
purchase entries (``cost_entries``), the not-billed report (``not_billed``) and the run's
manifest (``run_manifest``) ask the same question here, so the ledger's 7095 and input VAT
account and the reports that reconcile them agree."""

from __future__ import annotations

from dataclasses import dataclass

from billing_lib.invoicing_parameters import Invoicing

#: Between a vendor key and an issuer's name in ``InputVat.issued`` (no name holds it).
_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class InputVat:
    """``vendors``: the vendors every Tax line of which is input VAT (an ``input_vat_account``,
    no ``input_vat_issuers``); ``issued``: "<vendor>\\x1f<issuer>" of each issuer a vendor
    lists. Bound as two SQL list parameters of ``sql``."""

    vendors: list[str]
    issued: list[str]

    @classmethod
    def of(cls, invoicing: Invoicing | None) -> InputVat:
        """The recoverable VAT of products.yaml's vendors (none without ``invoicing``)."""
        vendors = invoicing.products.vendors if invoicing else {}
        return cls(
            sorted(
                k for k, v in vendors.items() if v.input_vat_account and not v.input_vat_issuers
            ),
            sorted(
                f"{k}{_SEPARATOR}{issuer}"
                for k, v in vendors.items()
                if v.input_vat_account
                for issuer in v.input_vat_issuers or ()
            ),
        )

    def params(self) -> list[list[str]]:
        """The list parameters ``sql`` reads, in order: ``vendors``, and ``issued`` where a
        vendor lists issuers."""
        return [self.vendors, self.issued] if self.issued else [self.vendors]

    def sql(self, first: int) -> str:
        """SQL (true or false, never NULL) of whether a line (``x_Vendor``,
        ``InvoiceIssuerName``) is input VAT, were it a Tax line: ``params`` bound from ``$first``
        on (a statement's other parameters before them). Where no vendor lists issuers the
        line's issuer is not read (a table without the column)."""
        own = f"COALESCE(list_contains(${first}, x_Vendor), false)"
        if not self.issued:
            return own
        issuer = "x_Vendor || chr(31) || InvoiceIssuerName"
        return f"({own} OR COALESCE(list_contains(${first + 1}, {issuer}), false))"
