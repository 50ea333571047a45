"""Price plans changed after a month was finalised: ``price_plans.yaml`` as a finalised month's run
read it (the text its ``manifest.json`` keeps, ``PLANS_TEXT``) against the file today, restricted
to what is in force in that month. A rule's markup changed, or an assignment's ``valid_from``
moved back into a billed month, says nothing by itself: the month's invoices stay billed under the
old prices, and the correction (credit note and reissue) is never made.

Cheap on purpose (it runs in every run's review): a month whose recorded sha256 is today's is
skipped unread; only a changed file is parsed, once, and the month's rated lines are read for
their (plan, customer) pairs only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from billing_lib.customers import Customer
from billing_lib.periods import month_days, run_periods
from billing_lib.pricing import PLANS_FILE
from billing_lib.publishing import FINALISED_MARKER
from billing_lib.review.findings import Finding
from billing_lib.run_files import MANIFEST, RATED_PARQUET, corrections_of

#: The key of ``manifest.json`` holding ``price_plans.yaml`` as the run read it (its text).
PLANS_TEXT = "price_plans_text"

CHECK = "price plan changed after finalising"


def plans_digest(files: pd.DataFrame | None) -> str | None:
    """``price_plans.yaml``'s sha256 in a run's table of parameters files (``load_parameters``)."""
    if files is None:
        return None
    found = files.loc[files["file"] == PLANS_FILE, "sha256"]
    return str(found.iloc[0]) if len(found) else None


def _day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _covers(entry: Mapping[str, Any], first: date, last: date) -> bool:
    """Whether ``entry``'s valid_from/valid_to (inclusive, open when missing) reach into the
    month."""
    start, end = _day(entry.get("valid_from")), _day(entry.get("valid_to"))
    return (start or date.min) <= last and (end or date.max) >= first


def _in_month(entry: Mapping[str, Any], first: date, last: date) -> dict[str, Any]:
    """``entry`` as it bears on the month: its dates cut to the month's days, so a valid_to or
    valid_from set outside the month (a price ended after it, a new one from a later month) is
    no change to it."""
    start, end = _day(entry.get("valid_from")), _day(entry.get("valid_to"))
    out = {k: v for k, v in entry.items() if k not in ("valid_from", "valid_to", "rules")}
    out["days in month"] = (max(start or first, first), min(end or last, last))
    return out


def _in_force(data: object, first: date, last: date) -> dict[str, tuple[Any, Any]]:
    """What of a parsed ``price_plans.yaml`` is in force in the month ``first``..``last``, by
    name: each plan (its header) and rule by (plan, rule) id, each assignment by its contents;
    each as (its contents for the month, the entry)."""
    out: dict[str, tuple[Any, Any]] = {}
    if not isinstance(data, dict):
        return out
    for plan in data.get("plans") or []:
        if not isinstance(plan, dict) or not _covers(plan, first, last):
            continue
        pid = str(plan.get("id"))
        out[f"plan {pid}"] = (_in_month(plan, first, last), plan)
        for rule in plan.get("rules") or []:
            if isinstance(rule, dict) and _covers(rule, first, last):
                out[f"plan {pid} rule {rule.get('id')}"] = (_in_month(rule, first, last), rule)
    for a in data.get("assignments") or []:
        if isinstance(a, dict) and _covers(a, first, last):
            month = _in_month(a, first, last)
            out[f"assignment {json.dumps(month, sort_keys=True, default=str)}"] = (month, a)
    return out


def _assignment_text(a: Mapping[str, Any]) -> str:
    who = f"customer {a.get('customer')}" if a.get("customer") else f"group {a.get('group')}"
    dates = ", ".join(f"{k} {a[k]}" for k in ("valid_from", "valid_to") if a.get(k))
    return f"assignment of plan {a.get('plan')} to {who}" + (f" ({dates})" if dates else "")


def _customers(
    key: str,
    entry: Mapping[str, Any],
    billed: Mapping[str, set[str]],
    customers: Mapping[str, Customer],
) -> set[str]:
    """The customers an entry concerns: an assignment's customer or its group's customers; a
    plan's or rule's, those the month billed on the plan."""
    if key.startswith("assignment "):
        if entry.get("customer"):
            return {str(entry["customer"])}
        return {c for c, cust in customers.items() if cust.group == entry.get("group")}
    return set(billed.get(key.split()[1], set()))


def _billed_plans(con: duckdb.DuckDBPyConnection, rated: Path) -> dict[str, set[str]]:
    """plan id -> the customers a run folder's rated lines billed on it."""
    if not rated.is_file():
        return {}
    out: dict[str, set[str]] = {}
    for plan, customer in con.execute(
        "SELECT DISTINCT plan_id, customer_id FROM read_parquet(?) WHERE plan_id IS NOT NULL",
        [str(rated)],
    ).fetchall():
        out.setdefault(str(plan), set()).add(str(customer))
    return out


def _reissued_as_now(output: Path, month: str, sha256_now: str) -> set[str]:
    """The customers of ``month`` whose invoice now is a reissued one (``billing reissue``, not
    cancelled in turn) billed from ``price_plans.yaml`` as it is today: corrected already."""
    corrections = corrections_of(output, month)
    credited = {m.get("corrects") for _, m in corrections if m.get("kind") != "reissue"}
    return {
        str(m.get("customer_id"))
        for _, m in corrections
        if m.get("kind") == "reissue"
        and m.get("invoice") not in credited
        and any(
            f.get("file") == PLANS_FILE and f.get("sha256") == sha256_now
            for f in m.get("parameter_files", [])
        )
    }


def _changes(
    then: dict[str, tuple[Any, Any]], now: dict[str, tuple[Any, Any]]
) -> list[tuple[str, str, Any]]:
    """(name, what happened, entry) of what differs between two ``_in_force`` results."""
    out = []
    for key in sorted(then.keys() | now.keys()):
        was, is_ = then.get(key), now.get(key)
        if is_ is None and was is not None:
            gone = "no longer in force" if key.startswith("assignment ") else "removed or dated out"
            out.append((key, gone, was[1]))
        elif was is None and is_ is not None:
            new = "now in force" if key.startswith("assignment ") else "added"
            out.append((key, new, is_[1]))
        elif was is not None and is_ is not None and was[0] != is_[0]:
            out.append((key, "changed", is_[1]))
    return out


def _as_read(folder: Path, sha256_now: str) -> tuple[str, str | None] | None:
    """(sha256, text) of ``price_plans.yaml`` as a run folder's manifest records it, when it is
    not ``sha256_now``; None when it is, or is not recorded, or the manifest cannot be read (the
    checks that need it name it)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sha = next(
        (
            str(f.get("sha256"))
            for f in manifest.get("parameter_files", [])
            if f.get("file") == PLANS_FILE
        ),
        None,
    )
    if sha is None or sha == sha256_now:
        return None
    text = manifest.get(PLANS_TEXT)
    return sha, text if isinstance(text, str) else None


def plans_changed_after_finalising(
    con: duckdb.DuckDBPyConnection,
    output: Path,
    period: str,
    parameters: Path | None,
    sha256_now: str | None,
    customers: Mapping[str, Customer],
) -> list[Finding]:
    """For every finalised month before ``period`` whose run read another ``price_plans.yaml``
    (its manifest's sha256 is not ``sha256_now``): the plans, rules and assignments in force in
    that month that differ now, with the customers billed on them and the way out. A manifest
    without the file's text (a run folder written before it was kept) is not compared: the
    digest alone changes with every later edit, a new customer's assignment of a later month
    too, so each such month would be listed in every run from then on, a finding that can never
    be cleared. A customer whose invoice of the month was
    reissued under today's file is corrected already: not named (nor an entry that concerns
    only such customers)."""
    if parameters is None or not sha256_now:
        return []
    now_data: object = None
    parsed = False
    found = []
    for month in run_periods(output, FINALISED_MARKER):
        if month >= period:
            continue
        as_read = _as_read(output / month, sha256_now)
        if as_read is None:
            continue
        _, text = as_read
        way_out = (
            f"If the change is meant for {month}, its invoices were billed under the old "
            "prices: cancel each customer's invoice (billing credit-note --invoice NUMBER) and "
            "bill it again under the plans as they are now (billing reissue --invoice NUMBER); "
            f"if not, date the change (valid_from) in a month not yet billed ({period} or later)"
        )
        if text is None:  # written before the text was kept: not comparable (docstring)
            continue
        if not parsed:
            now_data = yaml.safe_load((parameters / PLANS_FILE).read_text(encoding="utf-8"))
            parsed = True
        first, last = month_days(month)
        changes = _changes(
            _in_force(yaml.safe_load(text), first, last), _in_force(now_data, first, last)
        )
        if not changes:
            continue
        billed = _billed_plans(con, output / month / RATED_PARQUET)
        corrected = _reissued_as_now(output, month, sha256_now)
        for key, what, entry in changes:
            name = _assignment_text(entry) if key.startswith("assignment ") else key
            concerned = _customers(key, entry, billed, customers)
            if concerned and concerned <= corrected:
                continue  # every customer concerned reissued under today's plans
            who = sorted(concerned - corrected)
            found.append(
                Finding(
                    CHECK,
                    f"{month}: {name}",
                    f"{name} in {PLANS_FILE}: {what} since {month} was finalised, and in force "
                    f"in {month}; customers concerned: {', '.join(who) or 'none billed'}. "
                    f"{way_out}",
                    tuple(who),
                )
            )
    return found
