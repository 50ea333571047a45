"""What ``billing reissue`` refuses before it invoices anew, and what it tells: the reports not
the ones the finalised run read (name, sha256, the AWS delivery manifests), a vendor line that
costs another amount now, an exchange rate of the month edited since the run, a line another
invoice of the month or the run of another month bills already; and the lines the new invoice
bills that the run billed elsewhere (``moved_lines``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from billing_lib.billed_lines import lines_billed_elsewhere
from billing_lib.booked_rates import CONFIRM_OPTION, rate_changes
from billing_lib.errors import InputError, RunError
from billing_lib.importers.manifests import read_manifest as read_delivery_manifest
from billing_lib.importers.report_names import manifest_files, report_files
from billing_lib.invoice_model import Invoice, money_text
from billing_lib.invoices import CUSTOMER_SOURCE_FILE
from billing_lib.journal_readback import read_entry
from billing_lib.ledger import sales_entry
from billing_lib.money import round_money
from billing_lib.original_invoice import invoice_folder
from billing_lib.publishing import checksums
from billing_lib.run_files import (
    MANIFEST,
    RATED_PARQUET,
    billed_now,
    journal_name,
    read_manifest,
    sha256_of,
)
from billing_lib.sql import ql
from billing_lib.store import scratch_connection
from billing_lib.vendor_prices import VENDOR_PRICES_FILE

if TYPE_CHECKING:  # a reissue's own types; the reissue imports this module
    from billing_lib.numbering import RegisterEntry
    from billing_lib.reissue import ReplacedInvoice
    from billing_lib.reissue_billing import BilledAgain
    from billing_lib.run_state import RunSettings


#: The kinds of the rated lines of custom_lines.yaml (``rating.custom``), as a SQL list: a custom
#: line is the same wherever it is billed when its id (``rule_id``) is.
CUSTOM_KINDS = "('fee', 'one_off', 'credit')"


def moved_lines(then: Path, now: Path, replaced: Invoice) -> list[str]:
    """The vendor lines of ``replaced``'s customer and period billed in the rated lines ``then``
    and not in ``now`` (the reissued invoice's), and the other way round, per vendor and vendor
    currency, with their vendor cost: a line that an edited accounts.csv moved to another
    customer (or to none) shows here, not only as a smaller total. Lines are the same when their
    report's name and row are. Then the custom lines (fees, one-offs, credits of
    custom_lines.yaml) billed on one side only, each by its id, with its amount: a fee an edit
    moved to another customer (or dropped) shows too. A custom line whose amount changed is on
    both sides (the correction), not here."""
    with scratch_connection() as con:
        lines = (
            "SELECT vendor, vendor_currency, vendor_cost, source_row, "
            f"{CUSTOMER_SOURCE_FILE} AS source_file FROM read_parquet(?) r "
            "WHERE customer_id = ? AND period = ? AND line_kind = 'vendor'"
        )
        key = [replaced.customer_id, replaced.period]
        rows = con.execute(
            f"WITH t AS ({lines}), n AS ({lines}) "
            "SELECT 'then' AS side, vendor, vendor_currency, count(*), sum(vendor_cost) "
            "FROM t ANTI JOIN n USING (source_file, source_row) GROUP BY ALL "
            "UNION ALL SELECT 'now', vendor, vendor_currency, count(*), sum(vendor_cost) "
            "FROM n ANTI JOIN t USING (source_file, source_row) GROUP BY ALL ORDER BY 1 DESC, 2, 3",
            [str(then), *key, str(now), *key],
        ).fetchall()
        custom = (
            "SELECT rule_id, any_value(description ORDER BY charge_date) AS description, "
            "currency, sum(amount) AS amount FROM read_parquet(?) "
            f"WHERE customer_id = ? AND period = ? AND line_kind IN {CUSTOM_KINDS} GROUP BY ALL"
        )
        customs = con.execute(
            f"WITH t AS ({custom}), n AS ({custom}) "
            "SELECT 'then' AS side, * FROM t ANTI JOIN n USING (rule_id) "
            "UNION ALL SELECT 'now', * FROM n ANTI JOIN t USING (rule_id) ORDER BY 1 DESC, 2",
            [str(then), *key, str(now), *key],
        ).fetchall()

    def where(side: str) -> str:
        if side == "then":
            return f"billed on {replaced.number} and not now"
        return f"billed now and not on {replaced.number}"

    return [
        f"{vendor}: {count} vendor lines, cost {currency} "
        f"{money_text(round_money(cost, currency))}, {where(side)}"
        for side, vendor, currency, count, cost in rows
    ] + [
        f"custom line {rule_id} ({description}): {currency} "
        f"{money_text(round_money(amount, currency))}, {where(side)}"
        for side, rule_id, description, currency, amount in customs
    ]


def _keyed_lines(source: str, where: str = "") -> str:
    """The vendor and custom lines of the rated lines ``source`` (a ``read_parquet``), each with
    the key that is the same wherever the line is billed: a vendor line's report (as the customer
    sees its name) and row, a custom line's id (``custom``, row 0)."""
    return (
        "SELECT customer_id, line_kind <> 'vendor' AS custom, "
        f"CASE WHEN line_kind = 'vendor' THEN {CUSTOMER_SOURCE_FILE} ELSE rule_id END AS k_file, "
        "CASE WHEN line_kind = 'vendor' THEN source_row ELSE 0 END AS k_row "
        f"FROM {source} r WHERE line_kind IN ('vendor', {CUSTOM_KINDS[1:-1]}){where}"
    )


def refuse_billed_twice(output: Path, period: str, rated: Path) -> None:
    """RunError when a vendor line or a custom line (a fee, one-off or credit of
    custom_lines.yaml, by its id) of the new invoices (``rated``) is on an invoice of ``period``
    that stands (the month as billed now, ``run_files.billed_now``: a line an edit of
    accounts.csv or custom_lines.yaml moved to this customer from another is still on that one's
    invoice): billed twice. The way out is to credit that invoice too and reissue both at once."""
    dropped, replacing = billed_now(output, period)
    live = [(output / period / RATED_PARQUET, dropped), *((f, []) for f in replacing)]
    missing = [str(path) for path, _ in live if not path.is_file()]
    if missing:
        raise RunError(
            f"{', '.join(missing)}: missing, so the lines the month's invoices bill cannot be "
            "compared with the new invoices' (restore it from a backup); nothing was issued"
        )
    sources = " UNION ALL ".join(
        f"SELECT *, {ql(str(path))} AS held_in FROM ("
        + _keyed_lines(
            f"read_parquet({ql(str(path))})",
            f" AND period = {ql(period)}"
            + (f" AND customer_id NOT IN ({', '.join(ql(c) for c in out)})" if out else ""),
        )
        + ")"
        for path, out in live
    )
    with scratch_connection() as con:
        rows = con.execute(
            f"""WITH n AS ({_keyed_lines(f"read_parquet({ql(str(rated))})")}),
                    l AS ({sources})
                SELECT n.customer_id, l.customer_id, l.held_in,
                       CASE WHEN n.custom THEN n.k_file END AS custom_id, count(*)
                FROM n JOIN l USING (custom, k_file, k_row) GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
    if not rows:
        return
    # the invoice that bills each customer's lines of each file
    standing: dict[tuple[str, str], str] = {}
    for path, _ in live:
        manifest = read_manifest(path.parent)
        if path.parent.name == period:  # the run folder
            invoices = manifest.get("invoices", [])
            standing |= {(str(path), i["customer_id"]): i["invoice_number"] for i in invoices}
        else:  # an invoice replacing a credited one
            standing[str(path), str(manifest.get("customer_id"))] = str(manifest.get("invoice"))
    found = [
        (
            f"custom line {custom_id} of {new}'s new invoice is on "
            if custom_id is not None
            else f"{count} vendor lines of {new}'s new invoice are on "
        )
        + f"{standing.get((held, old), '?')} ({old}), which stands"
        for new, old, held, custom_id, count in rows
    ]
    both = sorted({standing.get((held, old), "?") for _, old, held, _, _ in rows})
    raise RunError(
        f"{period}: the new invoices would bill lines that an invoice of the month still bills, "
        "so nothing was issued:\n  - "
        + "\n  - ".join(found)
        + f"\nIf those lines are this customer's now (accounts.csv, custom_lines.yaml), credit "
        f"{', '.join(both)} too and reissue them in the same command (--invoice ... --invoice "
        "...); else undo the change to accounts.csv or custom_lines.yaml (a new custom line "
        "takes an id of its own)"
    )


def refuse_billed_elsewhere(output: Path, period: str, reports: Path, rated: Path) -> None:
    """InputError naming each vendor line of the new invoices (``rated``, billed from
    ``reports``) that the published run of another period in ``output`` (as billed now) billed
    already: the check a run makes after rating (``billed_lines.lines_billed_elsewhere``), which
    the reissue's rating, in a scratch folder beside no other month, skipped. A line of an
    account unmapped when the month was billed is on none of its invoices, so the next month's
    run billed it without a refusal where its report held it again; the account mapped since,
    the new invoice billed it a second time."""
    with scratch_connection() as con:
        con.execute(f"CREATE TEMP VIEW new_lines AS SELECT * FROM read_parquet({ql(str(rated))})")
        found = lines_billed_elsewhere(con, output, period, reports, "new_lines")
    if found is None:
        return
    raise InputError(
        f"{period}: the new invoices would bill {found.shared} vendor line(s) that the run of "
        f"{', '.join(found.months)} billed already (the same charge on the same day: the vendor's "
        "report of that month holds it again), a second time, so nothing was issued. Where an "
        f"account unmapped when {period} was billed is mapped since (accounts.csv), the month "
        f"named bills those lines: reissue with the account's row as the run of {period} read "
        f"it, and bill the rest of its charges of {period} as custom lines (custom_lines.yaml)",
        found.problems,
    )


def check_vendor_cost(old: ReplacedInvoice, now: Path, parameters: Path) -> None:
    """RunError when a vendor line of ``old``'s invoice (by report name and row) costs the vendor
    another amount in the rated lines ``now`` than the finalised run booked: the reports are the
    run's (``check_reports``), so only the contract prices that price VMware usage
    (``vendor_prices.yaml``) can have changed it. The run's purchase entries booked the vendor
    cost, which a reissue does not book again: the new invoice's cost and margin would
    contradict the journal."""
    lines = (
        "SELECT vendor, vendor_currency, billed_cost, source_row, "
        f"{CUSTOMER_SOURCE_FILE} AS source_file FROM read_parquet(?) r "
        "WHERE customer_id = ? AND period = ? AND line_kind = 'vendor'"
    )
    key = [old.invoice.customer_id, old.invoice.period]
    with scratch_connection() as con:
        rows = con.execute(
            f"WITH t AS ({lines}), n AS ({lines}) "
            "SELECT t.vendor, t.vendor_currency, count(*), sum(t.billed_cost), "
            "sum(n.billed_cost), n.vendor_currency "
            "FROM t JOIN n USING (source_file, source_row) "
            "WHERE t.billed_cost IS DISTINCT FROM n.billed_cost "
            "OR t.vendor_currency IS DISTINCT FROM n.vendor_currency GROUP BY ALL ORDER BY ALL",
            [str(old.folder / RATED_PARQUET), *key, str(now), *key],
        ).fetchall()
    if not rows:
        return
    prices = parameters / VENDOR_PRICES_FILE
    then = {
        str(f.get("file")): str(f.get("sha256")) for f in old.manifest.get("parameter_files", [])
    }
    was = then.get(VENDOR_PRICES_FILE)
    is_now = checksums([prices], parameters)[0]["sha256"] if prices.is_file() else None
    differ = [
        f"{vendor}: {count} vendor {'line costs' if count == 1 else 'lines cost'} {currency} "
        f"{money_text(round_money(a, currency))} "
        f"on {old.invoice.number} and {currency_now} {money_text(round_money(b, currency_now))} "
        "now"
        for vendor, currency, count, a, b, currency_now in rows
    ]
    raise RunError(
        f"{prices}: the vendor cost of {old.invoice.number}'s lines differs from what the "
        "finalised run booked, from the same reports, so nothing was issued:\n  - "
        + "\n  - ".join(differ)
        + f"\nThe contract prices of {old.invoice.period} are not those the run read "
        f"({VENDOR_PRICES_FILE}: sha256 {(was or 'none')[:16]}... then, "
        f"{(is_now or 'no file')[:16]}... now; {old.folder / MANIFEST}). The run's purchase "
        "entries booked the vendor cost and a reissue does not book it again: restore the "
        f"entries valid in {old.invoice.period} as the run had them (a change of price from a "
        "later month is an entry of its own from that month) and reissue"
    )


@dataclass(frozen=True)
class Delivery:
    """The AWS delivery manifests the finalised run of ``period`` checked its reports'
    deliveries by (its manifest's ``delivery_manifests``; None: a run folder written before
    recorded none, and the manifests are not compared)."""

    period: str
    checked: list[dict] | None


def check_rates(
    output: Path,
    replaced: list[ReplacedInvoice],
    invoices: list[Invoice],
    billed: BilledAgain,
    confirmed: bool,
) -> list[list[str]]:
    """Per invoice, the exchange_rates.csv rows edited since the finalised run that convert the
    new invoice otherwise than the run converted the one it replaces
    (``booked_rates.rate_changes``: a vendor line's price in the invoice currency, the invoice's
    national amounts); a RunError naming them unless ``confirmed``.

    Refused by default, unlike a corrected price plan: a past day's rate is a fact the month's
    other invoices, its purchase entries and its Xero file state too, and the reissue rebooks
    only this invoice, so an edit made for another reason (the file refreshed from another
    source, the wrong row changed) would reprice a closed month and spend a number in silence.
    Not refused outright: a rate that was wrong for the month can only be corrected on the
    invoice itself (its VAT in the national currency), so ``--confirm-rate-change`` lets it
    through, stated in the command's output and the new invoice's manifest."""
    fx = billed.settings.pricing.fx
    invoicing = billed.settings.invoicing
    found: list[list[str]] = []
    for r, inv in zip(replaced, invoices, strict=True):
        _, name = invoice_folder(output, r.entry)
        journal = r.folder / journal_name(name)
        same = journal.is_file() and r.invoice.currency == inv.currency
        then = read_entry(journal, r.entry.invoice_number).national if same else None
        now = sales_entry(inv, invoicing, fx).national
        found.append(
            rate_changes(
                r.folder / RATED_PARQUET,
                billed.rated,
                (r.invoice.customer_id, r.invoice.period),
                (then, now),
                inv.currency,
                fx,
            )
        )
    if confirmed or not any(found):
        return found
    listed = [
        f"{r.entry.invoice_number}: {text}"
        for r, texts in zip(replaced, found, strict=True)
        for text in texts
    ]
    raise RunError(
        f"{fx.path}: an exchange rate of {replaced[0].entry.period} was changed since the "
        "finalised run, and the new invoice would be converted at it, so nothing was issued:\n  - "
        + "\n  - ".join(listed)
        + "\nThe month's other invoices, its purchase entries and its Xero file keep the rate the "
        "run read. Restore the row as the run read it and reissue; or, if that rate was wrong and "
        f"this invoice is to be converted at the corrected one, reissue with {CONFIRM_OPTION} "
        "(the new invoice's manifest records it)"
    )


def check_reports(
    reports: Path,
    manifest: dict,
    folder: Path,
    invoice_number: str,
    delivery: Delivery,
    billed: BilledAgain | None = None,
) -> None:
    """RunError unless ``reports`` holds exactly the report files the run of ``folder`` read
    (``manifest``: its manifest.json), each with the sha256 its manifest recorded: the new
    invoice bills the same vendor lines. A delivery manifest among them must be one the run of
    the month checked (``_manifest_problems``). ``billed``: the reports and manifests as the
    reissue's import read them (else as the folder holds them)."""
    if not reports.is_dir():
        raise RunError(
            f"{reports}: no such reports folder; give the reports {folder.name} was billed from "
            "(--reports)"
        )
    inputs = manifest.get("inputs", [])
    read = billed.inputs if billed is not None else checksums(report_files(reports), reports)
    have = {c["file"]: c["sha256"] for c in read}
    want = {str(c["file"]): str(c["sha256"]) for c in inputs}
    problems = [f"{name}: missing" for name in sorted(set(want) - set(have))]
    problems += [f"{name}: not read by that run" for name in sorted(set(have) - set(want))]
    problems += [
        f"{name}: differs from the file that run read (sha256 {want[name][:16]}...)"
        for name in sorted(set(want) & set(have))
        if want[name] != have[name]
    ]
    delivered = _manifest_problems(reports, manifest, delivery, billed)
    if problems or delivered:
        way_out = (
            f"\nA delivery manifest checks the delivery of the reports beside it; these reports "
            f"are those the run of {delivery.period} billed (by sha256), whose delivery that run "
            "checked: put back the manifest it checked, or move it out of the reports folder"
        )
        corrected = (
            "\nA report the vendor corrected after the month was finalised is not billed by a "
            "reissue (it changes other customers' months too): put back the file the run read, "
            "and bill the difference in a later month as custom lines (one-offs or credits in "
            "custom_lines.yaml)"
        )
        changed = any(want[name] != have[name] for name in set(want) & set(have))
        raise RunError(
            f"{reports}: not the reports {invoice_number} was billed from ({folder / MANIFEST}); "
            "the invoice replacing it must bill the same vendor lines, so nothing was issued:\n  - "
            + "\n  - ".join(problems + delivered)
            + (way_out if delivered else "")
            + (corrected if changed else "")
        )


def _manifest_problems(
    reports: Path, manifest: dict, delivery: Delivery, billed: BilledAgain | None
) -> list[str]:
    """Each AWS delivery manifest of ``reports`` (as the reissue's import read them, ``billed``,
    else as the folder holds them) that is not one the run of the month checked, by name and
    sha256: a manifest AWS wrote since (the month refreshed: new parts, or the same names
    restated) describes another delivery than the run's reports, and the import would check them
    by it (refusing them with a way out that leads nowhere, or recording a check of another
    delivery). A manifest the run checked that is gone is no problem: the reports are the run's
    (``check_reports``), whose delivery it checked. One in a zip is the zip's (a report). With
    each, the data files it lists that ``manifest``'s run did not read."""
    if delivery.checked is None:  # a run folder written before recorded none: as before
        return []
    want = {
        str(c["file"]): str(c["sha256"])
        for c in delivery.checked
        if ".zip!" not in str(c["file"]).lower()
    }
    if billed is not None:
        have = {
            str(c["file"]): str(c["sha256"])
            for c in billed.manifests
            if ".zip!" not in str(c["file"]).lower()
        }
    else:
        have = {p.name: sha256_of(p) for p in manifest_files(reports)}
    problems = []
    for name in sorted(have):
        if name not in want:
            what = f"a delivery manifest the run of {delivery.period} did not check the delivery by"
        elif want[name] != have[name]:
            what = (
                f"differs from the delivery manifest the run of {delivery.period} checked the "
                f"delivery by (sha256 {want[name][:16]}... then, {have[name][:16]}... now)"
            )
        else:
            continue
        problems.append(f"{name}: {what}{_not_read(reports / name, manifest)}")
    return problems


def _not_read(path: Path, manifest: dict) -> str:
    """ "; it lists X, which that run did not read": the data files the delivery manifest
    ``path`` lists that are not among the reports of the run of ``manifest`` (a report or a
    zip's member, by file name); empty when there are none or it cannot be read."""
    try:
        listed = read_delivery_manifest(str(path), path.read_bytes()).files
    except (OSError, InputError):
        return ""
    read = {
        PurePosixPath(str(c["file"]).rsplit("!", 1)[-1]).name
        for c in [*manifest.get("inputs", []), *manifest.get("input_contents", [])]
    }
    names = [n for n in dict.fromkeys(PurePosixPath(f).name for f in listed) if n not in read]
    if not names:
        return ""
    return f"; it lists {', '.join(names)}, which that run did not read"


def nothing_to_bill(
    entry: RegisterEntry, parameters: Path, reports: Path, settings: RunSettings
) -> RunError:
    """The refusal of a reissue whose customer (``entry``'s) has no rated line now: what to
    check, its customers.yaml entry first when the parameters no longer hold it (a customer
    taken out after it was invoiced: its accounts and fees go with it)."""
    customer, period = str(entry.customer_id), entry.period
    why = (
        "Check accounts.csv and the price plans"
        if customer in settings.customers
        else f"{customer} is not in {parameters / 'customers.yaml'} (taken out since it was "
        "invoiced?): restore its entry, with its accounts.csv rows and fees, to bill it again"
    )
    return RunError(
        f"{customer} has no rated lines in {period} with the parameters in {parameters} (billed "
        f"from {reports}); there is nothing to invoice in place of {entry.invoice_number}. {why}"
    )


def buyer_changes(replaced: Invoice, new: Invoice) -> list[str]:
    """The buyer's fields (as customers.yaml gives them: name, address, VAT number, ..., VAT
    rule, reference) the invoice ``new`` prints otherwise than the invoice it replaces, one text
    each ("vat_number: 'NL...' -> 'NL...'"): shown and recorded as the lines an edit moved are,
    so that a careless edit of customers.yaml does not go onto the invoice unseen."""

    def shown(value: object) -> str:
        return repr(", ".join(value) if isinstance(value, tuple) else value)

    then, now = replaced.buyer, new.buyer
    pairs = [(f.name, getattr(then, f.name), getattr(now, f.name)) for f in fields(then)]
    pairs += [
        ("vat_rule", replaced.vat_rule, new.vat_rule),
        ("reference", replaced.customer_reference, new.customer_reference),
    ]
    return [f"{name}: {shown(a)} -> {shown(b)}" for name, a, b in pairs if a != b]
