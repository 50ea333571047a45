"""E-mail addresses of ``customers.yaml`` and ``seller.yaml`` checked for their syntax.

A customer without a Peppol id receives its e-invoice at its e-mail address: the UBL carries it
as the buyer's electronic address (scheme EM), and the seller's address is where the customer
answers. A typo (``facturen@example,nl``, a missing ``@``, a space) was printed on every invoice
and sent in every e-invoice, an address no one reads. email-validator checks the syntax of the
standards (RFC 5321/5322, internationalised domains); whether the domain receives mail would need
DNS, and runs work offline, so it is not asked.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from pydantic import ValidationInfo


def email_problem(address: str) -> str | None:
    """What is wrong with ``address`` as an e-mail address, in email-validator's words, or None."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def checked_email(address: object, info: ValidationInfo) -> object:
    """``address`` as given, if it is an e-mail address by its syntax; ValueError saying what is
    wrong otherwise (pydantic names the file and entry). Empty is left alone (an address is
    optional); read with ``AS_ISSUED`` (``invoices.json``), taken as it is."""
    if not isinstance(address, str) or not address or (info.context or {}).get("as_issued"):
        return address
    problem = email_problem(address)
    if problem:
        raise ValueError(f"expected an e-mail address such as billing@example.com: {problem}")
    return address
