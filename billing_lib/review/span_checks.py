"""Checks of what runs over time: seat counts of licence subscriptions, commitments (savings
plans, reservations) and charge periods that change inside the month."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import duckdb

from billing_lib.money import round_money
from billing_lib.rating.commitments import EFFECTIVE, NOT_BILLED, Side, commitment_splits
from billing_lib.rating.spans import Span, spans
from billing_lib.review.findings import Finding, file_name


def seat_counts(con: duckdb.DuckDBPyConnection, subscriptions: list, period: str) -> list[Finding]:
    """Licences Microsoft billed per subscription as the month ends (the invoice reconciliation's
    quantities, credits negative whichever way the file prints them) against the seat count Partner
    Center shows for it (``platform_exports.PartnerCenterSubscription``; 0 when not active). Only
    subscriptions billed as licences this month or active in Partner Center with seats are
    compared.

    The seats as the month ends are those of the subscription's latest whole charge of the month
    (a purchase that is not an ``addQuantity``: cycle charge, renewal, new purchase, trial
    conversion) and the changes charged on or after its day: a change before it (seats added on
    the 5th to a cycle renewing on the 20th) is in that charge's quantity already, and summed with
    it read as seats over-billed. A subscription billed once a term (annual, triennial) whose
    month holds only changes (seats added mid-term) tells nothing of its seats: not compared."""
    if not subscriptions:
        return []
    whole = (
        "ChargeCategory = 'Purchase' "
        "AND lower(replace(x_VendorChargeType, ' ', '')) IS DISTINCT FROM 'addquantity'"
    )
    billed = {
        sub: (Decimal(q), customer, tuple(f"{file_name(f)} row {r}" for f, r in rows), has_whole)
        for sub, q, customer, rows, has_whole in con.execute(
            f"""SELECT sub, sum(PricingQuantity),  -- a credit's quantity is negative (importer)
                      any_value(x_CustomerId),
                      list((x_SourceFile, x_SourceRow) ORDER BY x_SourceRow),
                      any_value(since IS NOT NULL)
               FROM (SELECT lower(ResourceId) AS sub, PricingQuantity, x_CustomerId,
                            x_SourceFile, x_SourceRow, ChargePeriodStart,
                            max(CASE WHEN {whole} THEN ChargePeriodStart END)
                              OVER (PARTITION BY lower(ResourceId)) AS since
                     FROM customer_lines
                     WHERE x_Format = 'ms_invoice_reconciliation'
                       AND lower(PricingUnit) = 'licenses' AND ResourceId IS NOT NULL)
               WHERE since IS NULL OR ChargePeriodStart >= since
               GROUP BY sub"""
        ).fetchall()
    }
    out = []
    for s in sorted(subscriptions, key=lambda s: (s.tenant_id, s.id)):
        seats = s.quantity if s.status == "active" else Decimal(0)
        got = billed.get(s.id.lower())
        if got is None:
            # an annual or triennial subscription is billed once a term: only a monthly one is
            # expected on every month's invoice
            if seats and s.unit_type.lower() == "licenses" and s.billing_cycle == "monthly":
                out.append(
                    Finding(
                        "seats",
                        s.tenant_id,
                        f"subscription {s.id} ({s.offer_name}): {seats} seats in Partner Center, "
                        f"none billed by Microsoft in {period}",
                        (s.source,),
                    )
                )
            continue
        quantity, customer, rows, has_whole = got
        if not has_whole and s.billing_cycle != "monthly":
            continue  # only changes of a term billed once: its seats are not in the month
        if quantity != seats:
            side = "over-billed" if quantity > seats else "under-billed"
            out.append(
                Finding(
                    "seats",
                    customer or s.tenant_id,
                    f"subscription {s.id} ({s.offer_name}): {quantity.normalize():f} licences "
                    f"billed, {seats} seats in Partner Center ({s.status}): {side}",
                    rows + (s.source,),
                )
            )
    return out


def _priced(side: Side) -> str:
    """``account 518204736291 (C002, priced on EffectiveCost)``."""
    how = {EFFECTIVE: "priced on its amortised cost, EffectiveCost", NOT_BILLED: "not billed"}
    return (
        f"account {side.account} ({side.customer or 'no customer'}, "
        f"{how.get(side.basis, 'priced on ' + side.basis)})"
    )


def commitments(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Commitments (AWS Savings Plans, reserved instances) whose covered usage of an account and
    whose fee are priced so that the part of the commitment the usage used is billed to nobody,
    twice, or to the fee's customer for another customer's usage (``rating.commitments``)."""
    out = []
    for s in commitment_splits(con):
        amount = f"{s.currency} {round_money(s.usage.moved, s.currency)}"
        fee = " and ".join(_priced(f) for f in s.fees)
        if s.outcome == "twice":
            what = f"{amount} of it is billed twice, in the usage and again in the fee"
        elif s.outcome == "fee not billed":
            what = (
                f"{amount} of it is billed in the usage's amortised cost, but its fee is billed "
                "to nobody (unmapped or excluded): the run's not-billed cost counts the whole "
                "fee and the journal counts that part twice, the second time against the "
                "prepaid account"
            )
        elif s.outcome == "other customer":
            payers = ", ".join(sorted({f.customer or f.account for f in s.fees}))
            user = s.usage.customer or "no customer"
            what = f"{payers} pays {amount} of it for the usage of {user}"
        else:
            what = f"{amount} of it is billed to nobody"
        advice = (
            "Map the fee's account (accounts.csv) to the customer that bears the commitment's "
            "unused part, on a plan pricing the fee on EffectiveCost (the unused part is then "
            "billed to it), or correct the journal's unbilled cost and prepaid by that part"
            if s.outcome == "fee not billed"
            else "Price the usage and the fee on the same basis (price_plans.yaml), or keep the "
            "commitment to one customer's accounts (AWS: turn off its sharing)"
        )
        out.append(
            Finding(
                "commitment priced apart",
                f"{s.vendor} {s.commitment}",
                f"its covered usage of {_priced(s.usage)}, {s.usage.lines} line(s), and its fee "
                f"of {fee}: {what}. {advice}",
                tuple(f"{file_name(f)} row {r}" for f, r in s.usage.rows[:3])
                + tuple(f"{file_name(f)} row {r}" for side in s.fees for f, r in side.rows[:1]),
            )
        )
    return out


def _rate(span: Span, rate: Decimal | None) -> str:
    return f"{span.pair} {Decimal(rate).normalize():f}" if rate is not None else "no rate"


def _price(span: Span, before: bool) -> str:
    """``smb/aws-15, USD->EUR 0.9215``: what prices the span's lines before or after its cut
    (the rule where it changes, the exchange rate where it changes)."""
    rule, rate = (span.before, span.rate_before) if before else (span.after, span.rate_after)
    parts = [rule or "no rule"] if span.before != span.after else []
    if span.rate_before != span.rate_after:
        parts.append(_rate(span, rate))
    return ", ".join(parts)


def _account_move(s: Span, first: str, end: str) -> str:
    """What an account move (``Span`` of kind account) bills, and who from its day on: by the
    tenant's row or the account's, or by the subscription's row (named: it maps the
    subscription's lines before its tenant's)."""
    cost = round_money(Decimal(s.cost or 0), s.currency or "")
    lines = f"{s.lines} {(s.category or 'usage').lower()} line(s)"
    if s.tenant is None:
        return (
            f"{lines} charged from {first} to {end} ({s.currency} {cost}) are billed wholly to "
            f"{s.before or 'no customer'}, the account's customer on {first} (accounts.csv); from "
            f"{s.cut.isoformat()} it belongs to {s.after or 'no customer'}"
        )
    # the subscription's row starts or ends on the day: the day before, or on it, the customer
    # may be the tenant's (no row of the subscription's own then)
    by = f"its tenant {s.tenant}'s row" if s.before_by_tenant else "its own row"
    # mappings not read from accounts.csv (made in code) have no row number
    row = "its accounts.csv row" if s.mapping_row is None else f"accounts.csv row {s.mapping_row}"
    return (
        f"{lines} charged from {first} to {end} ({s.currency} {cost}) are billed wholly to "
        f"{s.before or 'no customer'}, the subscription's customer on {first} (accounts.csv, "
        f"{by}); from {s.cut.isoformat()} {row} gives the subscription to "
        f"{s.after or 'no customer'}"
    )


def charge_spans(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Usage lines whose charge period runs across a day from which the price (rule, plan,
    exchange rate) or the customer of their account (``accounts.csv``) changes: billed wholly as
    on their first day (``rating.spans``), per customer, vendor and change, or per account."""
    groups: dict[tuple, list[Span]] = {}
    for s in spans(con):
        category = s.category if s.kind == "account" else None  # a move per charge category
        key = (
            s.kind,
            s.customer,
            s.vendor,
            s.account,
            s.cut,
            _price(s, True),
            _price(s, False),
            category,
        )
        groups.setdefault(key, []).append(s)
    out = []
    for (kind, customer, vendor, account, cut, before, after, _), group in groups.items():
        first = min(s.first_day for s in group).isoformat()
        end = (max(s.last_end for s in group) - timedelta(microseconds=1)).date().isoformat()
        n = sum(s.lines for s in group)
        rows = tuple(f"{file_name(f)} row {r}" for f, r in sorted(r for s in group for r in s.rows))
        if kind == "account":
            [s] = group
            text = _account_move(s, first, end)
            subject = f"{vendor} {account}"
        else:
            products = ", ".join(sorted({s.product or "-" for s in group}))
            text = (
                f"{n} usage line(s) of {vendor} ({products}) charged from {first} to {end} are "
                f"priced wholly as on {first} ({before}); from {cut.isoformat()} {after} applies"
            )
            subject = customer or "-"
        out.append(
            Finding(
                "usage spans an account move"
                if kind == "account"
                else "usage spans a price change",
                subject,
                f"{text}. A line is billed as on the first day of its charge period: bill from a "
                "report of daily or hourly granularity (AWS Data Exports: time granularity), or "
                "correct the part after the change with custom lines",
                rows,
            )
        )
    return out
