"""What the customer receives beside the workbook: the PDF and the UBL e-invoice of each invoice
or credit note (``<number>_<customer>.pdf`` and ``.xml`` in the run's ``invoices/`` folder, or the
credit note's folder), both written from the same ``Invoice`` objects as the workbook."""

from __future__ import annotations

from pathlib import Path

from billing_lib.invoice_pdf import logo_path, pdf_name, write_invoice_pdf
from billing_lib.invoices import Invoice, Seller
from billing_lib.ubl import ubl_name, write_ubl


def write_documents(
    invoices: list[Invoice],
    seller: Seller,
    folder: Path,
    parameters: Path | None,
    logo: Path | None = None,
) -> list[Path]:
    """The PDF and the UBL document of every invoice in ``folder`` (the PDF first: the UBL
    document embeds it when seller.yaml's ``ubl_attach_pdf`` is true); the paths written.
    The logo is ``logo``, else seller.yaml's ``logo`` in the folder ``parameters``."""
    logo = logo or logo_path(seller, parameters)
    written: list[Path] = []
    for inv in invoices:
        pdf = write_invoice_pdf(inv, seller, Path(folder) / pdf_name(inv), logo)
        written += [pdf, write_ubl(inv, seller, Path(folder) / ubl_name(inv), pdf)]
    return written
