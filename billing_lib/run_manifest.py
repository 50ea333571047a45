"""``manifest.json`` of a run folder: what went in (reports and parameters files with sha256), with
which software, and what came out (counts, control totals, unmapped accounts, conservation,
warnings, review, per-customer totals, invoice numbers, ledger balance, every file's sha256)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from billing_lib import review
from billing_lib.accounting_exports import QUICKBOOKS_DATE_FORMAT, XERO_DATE_FORMAT
from billing_lib.billed_commitments import COMMITMENTS, WAIVED, billed_commitments
from billing_lib.billed_reports import vendor_invoices
from billing_lib.errors import RunError
from billing_lib.importers import manifest_files, report_files
from billing_lib.importers.report_names import is_manifest
from billing_lib.input_vat import InputVat
from billing_lib.pricing import PLANS_FILE
from billing_lib.publishing import MANIFEST, checksums, jsonable, package_versions, records
from billing_lib.review.plan_changes import PLANS_TEXT
from billing_lib.run_files import sha256_of
from billing_lib.run_state import required
from billing_lib.store import frame, relation_exists

if TYPE_CHECKING:
    import pandas as pd

    from billing_lib.invoicing_parameters import Invoicing
    from billing_lib.run import BillingRun

#: The store's tables a manifest counts the rows of.
COUNTED_TABLES = ("lines", "customer_lines", "rated_lines", "excluded_lines", "unmapped_lines")


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table of the run's store (``COUNTED_TABLES``)."""
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in COUNTED_TABLES}


def _recoverable(invoicing: Invoicing | None) -> dict[str, str]:
    """Per vendor with recoverable VAT, its input VAT account (products.yaml; which of its Tax
    lines are, ``InputVat``)."""
    vendors = invoicing.products.vendors if invoicing else {}
    return {k: v.input_vat_account for k, v in vendors.items() if v.input_vat_account}


def unbilled_costs(
    con: duckdb.DuckDBPyConnection, invoicing: Invoicing | None = None
) -> list[dict]:
    """The customer lines of the run that no invoice bills (``excluded_lines``: internal use,
    vendor taxes, credits the reseller keeps) per reason, customer, vendor and vendor currency:
    their lines and BilledCost, exact (what the ledger books on the unbilled-cost account), for
    the margin notebook's "cost billed to no customer" (``analysis.unbilled_cost``). The VAT of a
    vendor whose VAT is recoverable is no cost (the ledger books it as input VAT): left out, and
    listed by ``input_vat``."""
    if not relation_exists(con, "excluded_lines"):
        return []
    recoverable = InputVat.of(invoicing)
    return records(
        frame(
            con,
            f"""SELECT reason, x_CustomerId AS customer_id, x_Vendor AS vendor,
                      BillingCurrency AS vendor_currency, count(*) AS lines,
                      sum(BilledCost) AS cost
               FROM excluded_lines
               WHERE NOT (reason = 'vendor tax' AND {recoverable.sql(1)})
               GROUP BY ALL ORDER BY ALL""",
            recoverable.params(),
        )
    )


def input_vat(con: duckdb.DuckDBPyConnection, invoicing: Invoicing) -> list[dict]:
    """The VAT the vendors with recoverable VAT charged on the run's bills (their Tax lines: the
    customers' lines excluded as vendor tax, and those of unmapped accounts, by account id) per
    vendor, vendor currency and input VAT account: lines and amount, exact (what the ledger
    books there, each bill's rounded once). ``analysis.unbilled_cost`` leaves the unmapped
    accounts' share out of their cost billed to no customer."""
    accounts = _recoverable(invoicing)
    if not accounts:
        return []
    recoverable = InputVat.of(invoicing)
    parts = []
    if relation_exists(con, "excluded_lines"):
        parts.append(
            f"""SELECT 'vendor tax' AS source, CAST(NULL AS VARCHAR) AS account_id, x_Vendor,
                      BillingCurrency, BilledCost FROM excluded_lines
               WHERE reason = 'vendor tax' AND {recoverable.sql(1)}"""
        )
    if relation_exists(con, "unmapped_lines"):
        parts.append(
            f"""SELECT 'unmapped account', SubAccountId, x_Vendor, BillingCurrency, BilledCost
               FROM unmapped_lines WHERE ChargeCategory = 'Tax' AND {recoverable.sql(1)}"""
        )
    if not parts:
        return []
    found = frame(
        con,
        f"""SELECT source, account_id, x_Vendor AS vendor, BillingCurrency AS vendor_currency,
                   count(*) AS lines, sum(BilledCost) AS amount
            FROM ({" UNION ALL ".join(parts)})
            GROUP BY ALL ORDER BY source DESC, vendor, vendor_currency, account_id""",
        recoverable.params(),
    )
    found.insert(4, "account", found["vendor"].map(accounts))
    return records(found)


def reports_as_found(reports: Path) -> dict[str, tuple[int, int, int]]:
    """Each report file and AWS delivery manifest of ``reports`` by name, with its inode, size
    and modification time: a file written again since has others."""
    found = {}
    for path in [*report_files(reports), *manifest_files(reports)]:
        st = path.stat()
        found[path.name] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return found


def check_reports_as_read(br: BillingRun) -> None:
    """RunError when the reports folder is not as the run read it: a report changed, added or
    removed since the import (a sync or download writing into the folder meanwhile). The
    manifest would record the sha256 of bytes the run never read: ``billing reissue`` would
    take the new report for the one the month billed, and a report added would be listed as
    billed, so the next month would refuse it. A file whose inode, size or time is not as the
    import found it is hashed again and compared with the sha256 the run read
    (``RunParameters.report_digests``, which the import checked: ``changed_since_checked``);
    the others are not read again (810 MB at the 10M benchmark month). The deliveries'
    manifests in the folder likewise (``RunParameters.delivery_manifests``): the manifest would
    record a delivery check the import did not make; one in a zip is the zip's."""
    p = br.params
    read = required(br.results.reports_read, "import_reports")
    digests = {name: sha256 for name, sha256, _ in p.report_digests}
    digests |= {n: d for n, d in p.delivery_manifests if ".zip!" not in n.lower()}
    now = reports_as_found(p.reports)
    problems = []
    for name in sorted(set(read) | set(now)):
        what, unused = (
            ("a delivery manifest ", "no delivery was checked by it")
            if is_manifest(name)
            else ("", "not billed")
        )
        if name not in now:
            problems.append(f"{name}: {what}removed since the run read it")
        elif name not in read or name not in digests:
            problems.append(f"{name}: {what}added since the run read the folder; {unused}")
        elif now[name] != read[name] and (sha256 := sha256_of(p.reports / name)) != digests[name]:
            problems.append(
                f"{name}: {what}changed since the run read it (sha256 {digests[name][:16]}... "
                f"then, {sha256[:16]}... now)"
            )
    if problems:
        raise RunError(
            f"{p.reports}: the reports folder changed while the run read it, so the invoices "
            "bill the reports as they were read, not what the folder holds now:\n  - "
            + "\n  - ".join(problems)
            + "\nNothing was published and no invoice number was used. Run again once the "
            "folder is complete (a sync or a download still under way?)"
        )


def plans_text(parameters: Path, files: pd.DataFrame | None) -> str | None:
    """``price_plans.yaml``'s text when its bytes are still those the run loaded (the sha256
    ``load_parameters`` recorded); else None (nothing to compare with later)."""
    path = Path(parameters) / PLANS_FILE
    if files is None or not path.is_file():
        return None
    digests = dict(zip(files["file"], files["sha256"], strict=True))
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digests.get(PLANS_FILE):
        return None
    return data.decode("utf-8", errors="replace")


def write_manifest(folder: Path, manifest: dict) -> None:
    """``manifest`` as ``<folder>/manifest.json`` (dates, paths and decimals as text)."""
    (folder / MANIFEST).write_text(
        json.dumps(jsonable(manifest), indent=2) + "\n", encoding="utf-8"
    )


def manifest_record(br: BillingRun, folder: Path, counts: dict[str, int]) -> dict:
    """The contents of ``manifest.json`` (every file of ``folder`` but the manifest itself
    with its sha256)."""
    p = br.params
    check_reports_as_read(br)
    return {
        "period": p.period,
        "run_id": br.run_id,
        "finalised": p.finalise,
        "issue_date": p.issue_date,
        "created": datetime.now(UTC).replace(microsecond=0),
        "parameters": {
            "period": p.period,
            "reports": p.reports,
            "parameters": p.parameters,
            "output": p.output,
            "finalise": p.finalise,
            "issue_date": p.issue_date,
            "currency": p.currency,
        },
        # the reports as checked and imported (``changed_since_checked``), and as the folder still
        # holds them (``check_reports_as_read``): not hashed a third time
        "inputs": [{"file": f, "sha256": d, "bytes": n} for f, d, n in p.report_digests],
        # each report's content once decompressed (a zip's members each): the same report
        # gzipped again is caught as billed by the later months (billed_reports)
        "input_contents": [{"file": f, "sha256": d} for f, d in p.report_contents],
        # each CSV report's text where it is not its content as it is (UTF-16, a BOM, CRLF line
        # ends): the same report saved again so is caught too (billed_reports)
        "input_texts": [{"file": f, "sha256": d} for f, d in p.report_texts],
        # the AWS delivery manifests the import checked the deliveries by (a zip's members as
        # ``x.zip!member``): not billed, so not among the inputs the later months compare with
        # (billed_reports); a run folder written before has none
        "delivery_manifests": [{"file": f, "sha256": d} for f, d in p.delivery_manifests],
        "parameter_files": required(br.results.parameter_files, "load_parameters").to_dict(
            "records"
        ),
        # price_plans.yaml as the run read it (when unchanged since): the review of a later
        # month names what changed in it since this month was finalised (review.plan_changes)
        PLANS_TEXT: plans_text(p.parameters, br.results.parameter_files),
        "packages": package_versions(),
        # the QuickBooks file's dates, which a credit note's reversal writes alike (a date such
        # as 12/12/2026 reads the same in either format)
        QUICKBOOKS_DATE_FORMAT: br.settings.accounting_exports.quickbooks_online.date_format,
        XERO_DATE_FORMAT: br.settings.accounting_exports.xero.date_format,
        "counts": counts,
        "control_totals": records(required(br.results.control_totals, "import_reports")),
        "billing_accounts": review.billing_accounts(br.report_lines()),
        # the vendor invoices billed: a later month refuses a report of one of them
        # (billed_reports.check_invoices_not_billed)
        "vendor_invoices": vendor_invoices(br.con, p.reports),
        # the Microsoft commitments billed up front or amortised: a later month refuses the
        # other view of one (billed_commitments)
        COMMITMENTS: billed_commitments(br.con, p.reports),
        # the older months stated checked (review.yaml's commitments_checked) whose runs, listing
        # no commitments, this run's were let through beside without a comparison
        WAIVED: required(br.results.commitments_waived, "rate"),
        "unmapped": records(required(br.results.unmapped, "map_customers")),
        "conservation": records(br.conservation()),
        "unbilled": unbilled_costs(br.con, br.settings.invoicing),
        "input_vat": input_vat(br.con, br.settings.invoicing),
        "warnings": list(br.warnings()["warning"]),
        "confirmed_jumps": br.results.confirmed_jumps or [],
        "review": [
            {"check": f.check, "subject": f.subject, "finding": f.finding, "lines": list(f.lines)}
            for f in br.review_findings()
        ],
        "invoices": records(required(br.results.invoice_totals, "build_invoices")),
        "numbering": required(br.results.numbering, "build_invoices").to_dict(),
        "ledger_balance": records(required(br.results.ledger_balance, "ledger_balance")),
        "outputs": checksums(
            [f for f in folder.rglob("*") if f.is_file() and f.name != MANIFEST], folder
        ),
    }
