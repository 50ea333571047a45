"""Checks of the register of invoice numbers: numbers out of the order of their dates, and
invoices credited in the previous month and not replaced."""

from __future__ import annotations

from billing_lib.numbering_records import NumberPlan, RegisterEntry
from billing_lib.review.findings import Finding


def number_order(plan: NumberPlan | None, register: list[RegisterEntry]) -> list[Finding]:
    """The run's invoice numbers out of the order of their issue dates against the numbers of
    other periods in the same series: a lower number dated later (a month billed after this one,
    or issued with a later ``--issue-date``), or a higher number dated earlier (this period run
    again with a later date after the next month was billed).

    The register keeps a series unique and gapless, what Dutch law asks. Spain, Italy, Portugal,
    France and Belgium also ask the numbers to follow the dates; where the seller is bound by
    that, bill the months in order and keep a rerun's issue date."""
    if plan is None or not plan.numbers:
        return []
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in plan.numbers.values())
    series = next(iter(plan.numbers.values())).rsplit("-", 1)[0]
    others = [
        e
        for e in register
        if e.series == series and e.period != plan.period and e.status != "void" and e.issue_date
    ]
    dated = plan.issue_date
    later = [e for e in others if e.number < numbers[-1] and str(e.issue_date) > dated]
    earlier = [e for e in others if e.number > numbers[0] and str(e.issue_date) < dated]
    if not later and not earlier:
        return []
    conflicts = [
        f"{e.invoice_number} of {e.period}, dated {e.issue_date}"
        for e in sorted(later + earlier, key=lambda e: e.number)
    ]
    # only lower numbers dated later (a month billed, or an invoice reissued, after the date
    # this run gives): dated on the last of those days, this run's numbers are in order
    fix = (
        f"; dated {max(str(e.issue_date) for e in later)} or later (--issue-date) they are in order"
        if later and not earlier
        else ""
    )
    return [
        Finding(
            "numbers out of date order",
            series,
            f"this run's numbers ({numbers[0]} to {numbers[-1]}), dated {dated}, are out of the "
            f"order of the dates of {len(conflicts)} number(s) of other periods: a country that "
            "asks numbers to follow the issue dates (ES, IT, PT, FR, BE) would refuse them. Bill "
            f"the months in order, and keep a rerun's issue date (--issue-date){fix}",
            tuple(conflicts),
        )
    ]


def credited_not_replaced(previous: str | None, register: list[RegisterEntry]) -> list[Finding]:
    """Invoices that a credit note cancelled and no invoice replaces (``billing reissue``): their
    month now bills the customer nothing for them. Right when nothing was owed; a correction left
    half-done otherwise, its revenue lost. Listed are the credit notes of the previous finalised
    month, and those of any earlier month issued since that month's invoices: a credit note of
    October issued after November was reviewed and finalised was named by no review (November's
    was done before it, December's looked at November's credit notes only)."""
    if previous is None:
        return []
    replaced = {
        e.refers_to for e in register if e.kind == "invoice" and e.refers_to and e.status != "void"
    }
    dates = [
        e.issue_date
        for e in register
        if e.kind == "invoice"
        and e.period == previous
        and not e.refers_to
        and e.status != "void"
        and e.issue_date
    ]
    since = min(dates) if dates else None
    return [
        Finding(
            "credited, not replaced",
            e.customer_id or "",
            f"{e.refers_to} of {e.period} was cancelled by credit note {e.invoice_number} on "
            f"{e.issue_date} and no invoice replaces it: {e.period} bills {e.customer_id} nothing "
            f"for it. If something is owed: billing reissue --invoice {e.refers_to}",
        )
        for e in register
        if e.kind == "credit_note"
        and e.status != "void"
        and e.refers_to not in replaced
        and (
            e.period == previous
            or (
                e.period < previous
                and since is not None
                and e.issue_date is not None
                and e.issue_date >= since
            )
        )
    ]
