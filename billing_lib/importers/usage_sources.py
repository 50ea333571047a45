"""The same usage given in two report formats: a vendor's usage of one account and month comes
from one kind of report, or it is billed twice.

A vendor details the same usage in several layouts that share no line id: Microsoft's invoice
reconciliation file lists the Azure plan's billed usage per meter, the daily rated usage file the
same charges per day and resource, and an Azure cost export (partner) the same again; AWS writes
a CUR 2.0, a legacy CUR and a FOCUS export of one payer; VMware's Usage Meter exports one month
with its price (``vmware_usage_meter``) or without (``vmware_usage_meter_report``). Rows of two
layouts cannot be matched one to one, so the import refuses the month's Usage lines of one vendor
account coming from more than one format, naming both files. Purchases (licences in the invoice
file beside Azure usage in the daily file), credits, taxes and adjustments are not compared.
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.spec import spec_named
from billing_lib.sql import ql

#: What a vendor's usage may come from, for the way out of the message.
ONE_SOURCE = {
    "microsoft": (
        "the daily rated usage file, the invoice reconciliation file's usage-based (Azure plan) "
        "rows, or an Azure cost export. To bill Azure from the daily file beside the invoice "
        "file's licences, delete the invoice file's usage-based rows (those with a "
        "MeterDescription) in a text editor (a spreadsheet rewrites its ids); or leave the daily "
        "file out: the invoice file's rows bill the same usage per meter"
    ),
    "aws": "the CUR 2.0, the legacy CUR or the FOCUS export of the payer, not two of them",
    "vmware": (
        "the Usage Meter report with its price (vmware_usage_meter) or the one priced from "
        "vendor_prices.yaml (vmware_usage_meter_report), or the Cloud Partner Navigator or "
        "billing usage export, not two of them"
    ),
}


def _vendor_formats(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Vendor -> the formats of the store's reports that may hold its lines, for the vendors with
    more than one. A format's vendor is its fixed ``x_Vendor``; a format computing it (FOCUS:
    from ProviderName) is asked for the vendors of its lines, which reads only its own row groups
    (DuckDB skips the others by their min/max of ``x_Format``)."""
    formats = [r[0] for r in con.execute("SELECT DISTINCT format FROM imports").fetchall()]
    if len(formats) < 2:
        return {}
    by_vendor: dict[str, list[str]] = {}
    for name in sorted(formats):
        fixed = spec_named(name).column_map("x_Vendor").value
        vendors = (
            [fixed]
            if fixed is not None
            else [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT x_Vendor FROM lines WHERE x_Format = ?", [name]
                ).fetchall()
            ]
        )
        for vendor in vendors:
            by_vendor.setdefault(vendor, []).append(name)
    return {v: f for v, f in by_vendor.items() if len(f) > 1}


def check_usage_from_one_format(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse the store's lines when the Usage of one vendor account (``x_Vendor`` +
    ``SubAccountId``) in one charge month comes from more than one report format, naming the
    account, the month and the first file of each format. Runs once the reports of an import are
    in ``lines``; reads nothing when no two formats of one vendor were imported (the common case),
    and otherwise only the lines of those formats, summed per account, month and format."""
    shared = _vendor_formats(con)
    if not shared:
        return
    where = " OR ".join(
        f"(x_Vendor = {ql(v)} AND x_Format IN ({', '.join(ql(f) for f in fs)}))"
        for v, fs in sorted(shared.items())
    )
    clashes = con.execute(
        f"""WITH u AS (
              SELECT x_Vendor AS vendor, SubAccountId AS account,
                     strftime(ChargePeriodStart, '%Y-%m') AS month, x_Format AS format,
                     any_value(SubAccountName) AS name, min(rowid) AS first, count(*) AS n,
                     arg_min(x_SourceFile, rowid) AS file, arg_min(x_SourceRow, rowid) AS row
              FROM lines WHERE ChargeCategory = 'Usage' AND ({where})
              GROUP BY ALL)
            SELECT vendor, account, max(name), month,
                   list((format, file, row, n) ORDER BY first)
            FROM u GROUP BY vendor, account, month HAVING count(*) > 1
            ORDER BY min(first), vendor, account, month"""
    ).fetchall()
    if not clashes:
        return
    problems = [
        Problem(
            file,
            row,
            "SubAccountId",
            account,
            f"the Usage of {vendor} account {account} in {month} from one report format "
            f"(it is in {sources[0][1]} too, as {spec_named(sources[0][0]).title})",
        )
        for vendor, account, _, month, sources in clashes
        for _, file, row, _ in sources[1:]
    ]
    vendor, account, name, month, sources = clashes[0]
    named = f" ({name})" if name and name != account else ""
    given = " and ".join(
        f"{file} ({spec_named(fmt).title}, {n} Usage lines)" for fmt, file, _, n in sources
    )
    more = f" ({len(clashes)} accounts and months in all)" if len(clashes) > 1 else ""
    raise InputError(
        f"{sources[-1][1]}: the Usage of {vendor} account {account}{named} in {month} comes from "
        f"more than one report format: {given}{more}. They detail the same usage in layouts that "
        "share no line id, so it would be billed twice. Give one source of it: "
        f"{ONE_SOURCE.get(vendor, 'one report format')}",
        problems,
    )
