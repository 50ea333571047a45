"""The previous finalised month of a run's outputs folder: its nets and invoice numbers per
customer, and the one finding that stops a run, a month that moves by an order of magnitude
against it (``month_jumps``, before invoice numbers are taken)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from billing_lib.errors import RunError
from billing_lib.invoice_files import billed_nets, billed_numbers
from billing_lib.invoice_model import Invoice
from billing_lib.money import ZERO, minor_unit
from billing_lib.periods import run_periods
from billing_lib.publishing import FINALISED_MARKER


def finalised_before(output: Path, period: str) -> list[str]:
    """Finalised periods in ``output`` before ``period``, oldest first."""
    return [p for p in run_periods(output, FINALISED_MARKER) if p < period]


def previous_net(output: Path, previous: str | None) -> dict[tuple[str, str], Decimal]:
    """Net per (customer, currency) billed for the previous finalised month: its run's invoices,
    and the credit notes and reissued invoices of that month since (``corrections/``), so that
    a corrected invoice is compared as corrected."""
    if previous is None:
        return {}
    net = billed_nets(output, previous)
    return {key: amount.quantize(minor_unit(key[1])) for key, amount in net.items()}


def previous_numbers(output: Path, previous: str | None) -> dict[tuple[str, str], list[str]]:
    """The invoice numbers per (customer, currency) that the previous finalised month bills now."""
    return billed_numbers(output, previous) if previous else {}


def _times(now: Decimal, before: Decimal) -> Decimal:
    return (abs(now) / abs(before)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def invoice_nets(invoices: Sequence[Invoice]) -> dict[tuple[str, str], Decimal]:
    """Net per (customer, currency) of ``invoices``, as each states it (the sum of its rounded
    lines, the figure of invoice_summary.csv): drafts (``invoices.draft_invoices``) included."""
    nets: dict[tuple[str, str], Decimal] = {}
    for i in invoices:
        nets[i.customer_id, i.currency] = nets.get((i.customer_id, i.currency), ZERO) + i.net
    return nets


def month_jumps(
    nets: Mapping[tuple[str, str], Decimal],
    previous: dict[tuple[str, str], Decimal],
    previous_period: str | None,
    factor: Decimal,
    confirmed: tuple[str, ...],
) -> list[str]:
    """Customers whose month (``nets``: the invoices' nets, ``invoice_nets``) is ``factor`` times
    larger or smaller (0.00 included) than their net in the previous finalised month; raises
    RunError for those not ``confirmed`` and for a customer ``confirmed`` whose month did not
    move (``_stray_text``), both in one message: a stray confirmation stopped the run on its
    own, and the unconfirmed jump beside it was found only by the next run. Returns the
    confirmed ones' descriptions. The run calls it on its draft invoices, before any invoice
    number is taken: the figure judged and quoted is the one the customer receives, not the
    rated lines' sum rounded once (which differs by up to half a cent per invoice line,
    docs/rounding.md)."""
    jumps = _jumps(nets, previous, previous_period, factor)
    moved = [c for c, _ in jumps]
    refused = [(c, text) for c, text in jumps if c not in confirmed]
    problems = []
    if refused:
        ids = ",".join(dict.fromkeys(c for c, _ in refused))
        problems.append(
            f"a customer's month moved by a factor of {factor} or more against the finalised "
            f"{previous_period}; nothing was invoiced:\n  - "
            + "\n  - ".join(text for _, text in refused)
            + f"\nCheck the lines; if the figures are right, confirm with "
            f'`billing run ... --confirm-jump {ids}` (notebook parameter confirm_jumps = "{ids}")'
        )
    stray = _stray_text(confirmed, moved, previous_period, factor, alone=not problems)
    if stray:
        problems.append(stray)
    if problems:
        raise RunError("\n".join(problems))
    return [text for _, text in jumps]


def _jumps(
    nets: Mapping[tuple[str, str], Decimal],
    previous: dict[tuple[str, str], Decimal],
    previous_period: str | None,
    factor: Decimal,
) -> list[tuple[str, str]]:
    """(customer, description) of each (customer, currency) of ``nets`` that moved by
    ``factor`` or more against ``previous``, in customer order."""
    jumps: list[tuple[str, str]] = []
    for (customer, currency), net in sorted(nets.items()):
        before = previous.get((customer, currency))
        if not before:  # no factor of 0 (net_changes lists a move from 0.00)
            continue
        if abs(net) >= factor * abs(before) or abs(net) * factor <= abs(before):
            jumps.append(
                (
                    customer,
                    (
                        f"{customer}: {currency} {net} against {before} in {previous_period} "
                        f"(x{_times(net, before)})"
                    ),
                )
            )
    return jumps


def _stray_text(
    confirmed: tuple[str, ...],
    moved: list[str],
    previous_period: str | None,
    factor: Decimal,
    alone: bool,
) -> str:
    """The refusal of the customers ``confirmed`` that are none of those whose month ``moved``
    (empty when there is none): a confirmation given for the wrong customer (a typo, no such
    customer) or left in a script from an earlier month would let a later jump of that
    customer through unseen. ``alone``: no other refusal says that nothing was invoiced."""
    stray = [c for c in dict.fromkeys(confirmed) if c not in moved]
    if not stray:
        return ""
    ids = ",".join(stray)
    against = (
        f"against the finalised {previous_period} ({', '.join(dict.fromkeys(moved)) or 'none'})"
        if previous_period
        else "against the previous finalised month, but there is no finalised month before "
        "this one to compare with"
    )
    return (
        f"--confirm-jump {ids} (notebook parameter confirm_jumps): expected a customer whose "
        f"month moved by a factor of {factor} or more {against}"
        + ("; nothing was invoiced. " if alone else ". ")
        + "Confirm only the customers a run names as moved"
    )


def previous_period(output: Path, period: str) -> str | None:
    """The last finalised period before ``period`` in ``output``, None when there is none."""
    done = finalised_before(output, period)
    return done[-1] if done else None
