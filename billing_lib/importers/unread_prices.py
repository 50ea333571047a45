"""A report priced from the reseller's contract that carries prices of its own in a column no
layout reads: refused, not billed at the contract's prices.

A VMware Usage Meter report whose ``Price per Point`` a spreadsheet user renamed (``Unit Price``,
``Price/Point``) no longer has the columns of the priced layout (vmware_usage_meter): it was
taken for the priceless one (vmware_usage_meter_report) and billed at the contract's price per
point, the report's own price ignored without a word. A column whose name names a price or an
amount (``renamed_columns.words``: price, cost, amount, charge, fee, rate) that the format does
not read, and which holds a value, refuses such a file naming the column and the value.
"""

from __future__ import annotations

import re

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.reader import SourceFile, duckdb_source
from billing_lib.importers.renamed_columns import words
from billing_lib.importers.spec import (
    CONTRACT_COLUMNS,
    QUOTED_COLUMN,
    FormatSpec,
    all_specs,
    tag_columns_of,
)
from billing_lib.sql import qi

#: Words of a column name that say it holds money (``cost`` and ``amt`` are ``amount``).
_MONEY_WORDS = frozenset({"price", "amount", "charge", "fee", "rate"})


def _money_like(name: str) -> bool:
    return not _MONEY_WORDS.isdisjoint(words(name))


def _vendor(spec: FormatSpec) -> str | None:
    m = spec.columns.get("x_Vendor")
    return m.value if m is not None and not isinstance(m, str) else None


def _priced_columns(spec: FormatSpec) -> list[str]:
    """The price and amount columns the other layouts of the vendor of ``spec`` bill by, as
    ``'Price per Point' (vmware_usage_meter)``, for the message."""
    out = []
    for other in all_specs():
        if other.name == spec.name or _vendor(other) != _vendor(spec):
            continue
        currency = other.header_currency.column if other.header_currency else None
        for column in sorted(set(QUOTED_COLUMN.findall(other.cost)) - set(CONTRACT_COLUMNS)):
            if _money_like(column):
                shown = "Price (EUR)" if column == currency else column
                out.append(f"{shown!r} ({other.name})")
    return out


def check_unread_prices(
    con: duckdb.DuckDBPyConnection, src: SourceFile, spec: FormatSpec, found: dict
) -> None:
    """Refuse a file of a format priced from the contract (``spec.contract_price``) whose header
    has a column of prices or amounts the format does not read, holding a value. ``found``: the
    format's columns the header has, by the file's spelling (``resolve_columns``)."""
    if spec.contract_price is None:
        return
    read = set(found.values()) | set(tag_columns_of(spec, src.header)) | set(src.unnamed)
    currency = re.compile(spec.header_currency.header, re.I) if spec.header_currency else None
    suspects = [
        c
        for c in src.header
        if c not in read and _money_like(c) and not (currency and currency.fullmatch(c))
    ]
    if not suspects:
        return
    values = ", ".join(
        f"first(CAST({qi(c)} AS VARCHAR)) FILTER (WHERE trim(CAST({qi(c)} AS VARCHAR)) <> '')"
        for c in suspects
    )
    try:
        firsts = con.execute(
            f"SELECT {values} FROM {duckdb_source(src, spec.null_values)}"
        ).fetchone()
    except duckdb.Error:
        return  # rows that are no CSV: the import names them (source_checks.check_rejects)
    held = [(c, v) for c, v in zip(suspects, firsts or (), strict=True) if v is not None]
    if not held:
        return  # an empty column: nothing would be ignored
    known = ", ".join(_priced_columns(spec)) or "none"
    problems = [
        Problem(
            src.name,
            1 if src.kind == "csv" else None,
            column,
            f"{column!r} holding {value!r}",
            "no prices or amounts the layout does not read: this layout is priced from "
            f"parameters/vendor_prices.yaml and does not read {column!r}, so the report's own "
            "figures would be ignored and the contract's billed instead. A report that prints "
            f"its prices is read by the layout whose columns it has ({known}): give the columns "
            "the names the vendor exports them under, or export the report again",
        )
        for column, value in held
    ]
    raise InputError(
        f"{src.name} ({spec.title}): a column of prices or amounts this layout does not read",
        problems,
    )
