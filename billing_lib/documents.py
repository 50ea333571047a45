"""What the customer receives beside the workbook: the PDF and the UBL e-invoice of each invoice
or credit note (``<number>_<customer>.pdf`` and ``.xml`` in the run's ``invoices/`` folder, or the
credit note's folder), both written from the same ``Invoice`` objects as the workbook."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from billing_lib.invoice_pdf import logo_path, pdf_name, write_invoice_pdf
from billing_lib.invoices import Invoice, Seller
from billing_lib.publishing import writing
from billing_lib.ubl import ubl_name, ubl_unavailable, write_ubl


def document_writer(
    seller: Seller, folder: Path, parameters: Path | None, logo: Path | None = None
) -> Callable[[Invoice], list[Path]]:
    """A function writing the PDF and the UBL document of one invoice in ``folder`` (the PDF
    first: the UBL document embeds it when seller.yaml's ``ubl_attach_pdf`` is true) and
    returning their paths; no UBL document where ``ubl.ubl_unavailable`` says why. The logo is
    ``logo``, else seller.yaml's ``logo`` in the folder ``parameters``, looked up (and refused
    when missing) once, here. The billing run hands it to ``workbooks.write_workbooks``, which
    calls it in the process writing the invoice's workbook."""
    logo = logo or logo_path(seller, parameters)
    folder = Path(folder)

    def write(inv: Invoice) -> list[Path]:
        pdf = folder / pdf_name(inv)
        with writing(pdf):  # a full disk or a file-size limit names the file
            write_invoice_pdf(inv, seller, pdf, logo)
        if ubl_unavailable(inv):  # three-decimal currencies (the run warns)
            return [pdf]
        ubl = folder / ubl_name(inv)
        with writing(ubl):
            return [pdf, write_ubl(inv, seller, ubl, pdf)]

    return write


def write_documents(
    invoices: list[Invoice],
    seller: Seller,
    folder: Path,
    parameters: Path | None,
    logo: Path | None = None,
) -> list[Path]:
    """The PDF and the UBL document of every invoice in ``folder`` (``document_writer``); the
    paths written."""
    write = document_writer(seller, folder, parameters, logo)
    return [path for inv in invoices for path in write(inv)]
