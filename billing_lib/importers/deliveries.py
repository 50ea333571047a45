"""One delivery of a month per billing account, for the formats whose line ids cannot tell two
deliveries apart (``FormatSpec.one_delivery``: the AWS CURs).

AWS refreshes a month's Cost and Usage Report at least daily and for up to two weeks after the
month, writing it again each time: in place (Data Exports' overwrite mode), beside the earlier one
(create-new-file mode), or as a new assembly folder of a legacy CUR, whose top-level manifest names
the latest. Each delivery has line ids of its own (AWS: "the line item ID isn't consistent between
different Cost and Usage Reports"), so a report given twice is not found by its ids
(``duplicates.check_not_imported``): an early, partial delivery beside the restated month billed
its days twice. Two reports of such a format, one billing account (the payer) and one billing
period that are not parts of one delivery (``export_parts.delivery_part``: one folder, one name but
for its ``-00001`` or ``-1`` part number, each number once) and that hold lines of one usage account
are refused, naming the files. Member accounts' own exports of one payer's month (each with its
own account's lines only: AWS lets a member account export its own costs) are two reports. A line
without a billing account (an export whose query left out ``bill_payer_account_id``) is not
compared: two payers' months would be one there (an account that moved between organisations in
the month is in both). The part numbers cannot tell a delivery missing a part, nor an older
delivery's part left under the latest one's name; a delivery's manifest given with the reports
makes that exact (``manifests``).

FOCUS is not checked so: its BillingAccountId is the account receiving the invoice, while an
export covers a scope that can be narrower (an Azure subscription or resource group), so two
exports of one billing account's month are not two deliveries; its InvoiceId is shared by every
delivery of the month (focus.yaml).
"""

from __future__ import annotations

import duckdb

from billing_lib.errors import InputError, Problem
from billing_lib.importers.export_parts import delivery_part
from billing_lib.importers.spec import all_specs
from billing_lib.sql import ql

#: The month of a line's billing period, else of its charge (a file without the billing period).
_MONTH = "strftime(COALESCE(BillingPeriodStart, ChargePeriodStart), '%Y-%m')"


def _deliveries(files: list[str]) -> list[list[str]]:
    """``files`` grouped into deliveries (``delivery_part``); a part number given twice within
    one delivery's name is another delivery (a copy of the same part)."""
    groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for name in sorted(files):
        part = delivery_part(name)
        takes = groups.setdefault(part.export, [])
        slot = next((d for d in takes if part.number not in d), None)
        if slot is None or not part.number:
            slot = {}
            takes.append(slot)
        slot[part.number] = name
    return [sorted(d.values()) for takes in groups.values() for d in takes]


def check_one_delivery(con: duckdb.DuckDBPyConnection) -> None:
    """InputError when the store holds two deliveries of one billing account's billing period in
    a format whose ``one_delivery`` says why its line ids cannot tell them apart (module
    docstring). Reads ``lines`` only when the store holds more than one report of such a
    format."""
    specs = {s.name: s for s in all_specs() if s.one_delivery}
    formats = ", ".join(ql(n) for n in specs)
    if not specs:
        return
    reports = con.execute(f"SELECT count(*) FROM imports WHERE format IN ({formats})").fetchall()
    if reports[0][0] < 2:
        return
    # per usage account: member accounts' own exports of one payer's month (each of its account
    # alone) are two reports, not two deliveries; a delivery again repeats the accounts it had
    found = con.execute(
        f"""SELECT x_Format, BillingAccountId, {_MONTH} AS month, list(DISTINCT x_SourceFile)
            FROM lines WHERE x_Format IN ({formats}) AND BillingAccountId IS NOT NULL
            GROUP BY x_Format, BillingAccountId, month, SubAccountId
            HAVING count(DISTINCT x_SourceFile) > 1 ORDER BY ALL"""
    ).fetchall()
    for fmt, account, month, files in found:
        deliveries = _deliveries(files)
        if len(deliveries) < 2:
            continue
        spec = specs[fmt]
        first, second = deliveries[0][0], deliveries[1][0]
        raise InputError(
            f"{second}: another delivery of the {spec.title} of billing account {account} for "
            f"{month}, beside {first} ({len(deliveries)} deliveries): "
            f"{spec.one_delivery}. Give the latest delivery's files only (those its "
            "Manifest.json lists: a Data Export's metadata/BILLING_PERIOD=YYYY-MM/<export>-"
            "Manifest.json, or the legacy CUR's <report>-Manifest.json beside its assembly "
            "folders, naming the latest assemblyId). The parts of one delivery are read "
            "together as AWS names them, in one folder: <name>-00001, <name>-00002 (or -1, -2); "
            "parts renamed otherwise are taken for deliveries",
            [
                Problem(name, None, None, None, f"the only delivery of {account}'s {month}")
                for files in deliveries
                for name in files
            ],
        )
