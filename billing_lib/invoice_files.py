"""The invoice files of a run: ``invoice_summary.csv`` (one row per invoice, the figures as
printed) and ``invoices.json`` (every invoice in full, read back exactly for corrections).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from billing_lib.errors import RunError
from billing_lib.invoice_model import (
    Invoice,
    InvoiceLine,
    NationalVat,
    Party,
    VatLine,
    money_text,
)
from billing_lib.invoicing_parameters import Seller
from billing_lib.line_figures import display_figures
from billing_lib.periods import PERIOD_PATTERN
from billing_lib.run_files import SUMMARY_CSV, atomic_target, corrections_of
from billing_lib.vat_numbers import AS_ISSUED

INVOICE_DATA_FORMAT = "billing_lib.invoices/1"
SUMMARY_COLUMNS = (
    "customer_id",
    "invoice_number",
    "currency",
    "net_amount",
    "vat_amount",
    "gross_amount",
    "cost_amount",
    "margin_amount",
)


def summary_row(inv: Invoice) -> dict[str, str]:
    """The row of ``inv`` in ``invoice_summary.csv`` (``SUMMARY_COLUMNS`` in order), as text:
    what the run writes, what a correction checks the run's file against and what a credit
    note's manifest records as its totals."""
    return dict(
        zip(
            SUMMARY_COLUMNS,
            (
                inv.customer_id,
                inv.number,
                inv.currency,
                money_text(inv.net),
                money_text(inv.vat_total),
                money_text(inv.gross),
                money_text(inv.cost),
                money_text(inv.margin),
            ),
            strict=True,
        )
    )


def write_invoice_summary(invoices: list[Invoice], path: Path) -> Path:
    """``invoice_summary.csv``: one row per invoice (``summary_row``), in number order."""
    path = Path(path)
    with atomic_target(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(SUMMARY_COLUMNS)
        for inv in sorted(invoices, key=lambda i: i.number):
            writer.writerow(summary_row(inv).values())
    return path


# -- invoices as data: written with the run, read back for corrections ----------------------------


def _plain(value: Any) -> Any:
    """JSON-ready: Decimal as fixed-point text (exact, no exponent), dates ISO."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def invoice_record(invoice: Invoice) -> dict[str, Any]:
    """``invoice`` as plain JSON data (amounts as exact decimal text); ``national_vat``,
    ``refers_to_date``, a party's ``state`` and a line's ``charge_start`` and ``charge_end`` only
    where the invoice has them (other records are as before)."""
    record = _plain(asdict(invoice))
    for key in ("national_vat", "refers_to_date"):
        if record[key] is None:
            del record[key]
    for ln in record["lines"]:
        for key in ("charge_start", "charge_end"):
            if ln[key] is None:
                del ln[key]
    for party in ("buyer", "seller"):
        if record[party]["state"] is None:
            del record[party]["state"]
    return record


def invoice_from_record(data: dict[str, Any]) -> Invoice:
    """The ``Invoice`` that ``invoice_record`` wrote, exactly (every Decimal with its digits)."""

    def dec(v: str | None) -> Decimal | None:
        return None if v is None else Decimal(v)

    def party(d: dict[str, Any]) -> Party:
        return Party(
            d["name"],
            tuple(d["address"]),
            d["country"],
            d["vat_number"],
            d.get("email"),
            d.get("postal_code"),
            d.get("city"),
            d.get("registration"),
            d.get("peppol_id"),
            d.get("state"),  # None in records written before it was kept
        )

    def line(ln: dict[str, Any]) -> InvoiceLine:
        read = InvoiceLine(
            product_group=ln["product_group"],
            heading=ln["heading"],
            description=ln["description"],
            amount=Decimal(ln["amount"]),
            cost=Decimal(ln["cost"]),
            unrounded_amount=Decimal(ln["unrounded_amount"]),
            vat_rate=Decimal(ln["vat_rate"]),
            rated_lines=int(ln["rated_lines"]),
            quantity=dec(ln["quantity"]),
            unit=ln["unit"],
            unit_price=dec(ln["unit_price"]),
            display_quantity=dec(ln.get("display_quantity")),
            display_unit_price=dec(ln.get("display_unit_price")),
            # None in records written before lines named their charge period
            charge_start=date.fromisoformat(ln["charge_start"]) if "charge_start" in ln else None,
            charge_end=date.fromisoformat(ln["charge_end"]) if "charge_end" in ln else None,
        )
        if "display_quantity" in ln:
            return read
        # written before lines carried their shown figures: the same rule gives them
        shown = display_figures(
            read.quantity,
            read.unit_price,
            read.amount,
            data["currency"],
            read.amount < 0,
            exact=read.unrounded_amount,
        )
        return replace(read, display_quantity=shown[0], display_unit_price=shown[1])

    lines = tuple(line(ln) for ln in data["lines"])
    vat = tuple(
        VatLine(
            Decimal(v["rate"]),
            v["label"],
            v["vat_code"],
            Decimal(v["base"]),
            Decimal(v["amount"]),
            v.get("category") or _OLD_CATEGORIES.get(data["vat_rule"], "S"),
            v.get("exemption_code"),
        )
        for v in data["vat"]
    )
    day = date.fromisoformat
    national = data.get("national_vat")
    return Invoice(
        number=data["number"],
        kind=data["kind"],
        period=data["period"],
        issue_date=day(data["issue_date"]),
        due_date=day(data["due_date"]),
        supply_start=day(data["supply_start"]),
        supply_end=day(data["supply_end"]),
        currency=data["currency"],
        customer_id=data["customer_id"],
        buyer=party(data["buyer"]),
        seller=party(data["seller"]),
        customer_reference=data["customer_reference"],
        vat_rule=data["vat_rule"],
        vat_mention=data["vat_mention"],
        show_buyer_vat_number=bool(data["show_buyer_vat_number"]),
        lines=lines,
        vat=vat,
        net=Decimal(data["net"]),
        vat_total=Decimal(data["vat_total"]),
        gross=Decimal(data["gross"]),
        cost=Decimal(data["cost"]),
        margin=Decimal(data["margin"]),
        payment_terms_days=int(data["payment_terms_days"]),
        refers_to=data.get("refers_to"),
        refers_to_date=day(data["refers_to_date"]) if data.get("refers_to_date") else None,
        note=data.get("note"),
        national_vat=(
            NationalVat(
                national["currency"],
                Decimal(national["rate"]),
                day(national["rate_date"]),
                Decimal(national["amount"]),
                national.get("source") or "",
            )
            if national
            else None
        ),
    )


#: The VAT category of runs written before invoices.json carried it (the sample rules' names).
_OLD_CATEGORIES = {"domestic": "S", "eu_reverse_charge": "AE", "export": "G"}


def write_invoice_data(invoices: list[Invoice], seller: Seller, path: Path) -> Path:
    """``invoices.json``: every invoice in full (lines, VAT, totals, parties) and the seller block
    as printed, in number order. A credit note for one of them is rebuilt from this file, not from
    the parameters of the day, which may have changed since."""
    data = {
        "format": INVOICE_DATA_FORMAT,
        "seller": seller.model_dump(mode="json"),
        "invoices": [invoice_record(i) for i in sorted(invoices, key=lambda i: i.number)],
    }
    with atomic_target(Path(path)) as tmp:
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)


def read_invoice_data(path: Path) -> tuple[Seller, dict[str, Invoice]]:
    """The seller and the invoices (by number) of an ``invoices.json``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != INVOICE_DATA_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {INVOICE_DATA_FORMAT!r}")
        seller = Seller.model_validate(data["seller"], context=AS_ISSUED)  # not judged again
        invoices = {i["number"]: invoice_from_record(i) for i in data["invoices"]}
    except (OSError, ValueError, KeyError, TypeError, ArithmeticError, ValidationError) as exc:
        raise RunError(f"{path}: cannot read the run's invoices: {exc}") from exc
    return seller, invoices


def _way_out(folder: Path) -> str:
    """What to do about a file of the run (or correction) ``folder`` that is missing or damaged."""
    again = (
        f", or bill {folder.name} again if it is not finalised"
        if PERIOD_PATTERN.fullmatch(folder.name)
        else ""
    )
    what = "the run folder" if again else "the folder"
    return f"; restore {what} {folder} from a backup{again}"


def summary_nets(path: Path) -> list[tuple[str, str, Decimal]]:
    """(customer, currency, net) of each row of an ``invoice_summary.csv`` (a run's, a credit
    note's or a reissued invoice's); RunError naming the file and row when it cannot be read."""
    import duckdb

    from billing_lib.store import scratch_connection

    if not Path(path).is_file():
        raise RunError(f"{path}: the invoices' summary not found{_way_out(Path(path).parent)}")
    with scratch_connection() as con:
        try:
            rows = con.execute(
                "SELECT customer_id, currency, CAST(net_amount AS DECIMAL(18,3)) "
                "FROM read_csv(?, all_varchar = true, header = true)",
                [str(path)],
            ).fetchall()
        except duckdb.Error as exc:
            # DuckDB's first line: the statement and the sniffer's search space under it are noise
            raise RunError(
                f"{path}: the invoices' summary cannot be read (damaged or cut short: "
                f"{str(exc).splitlines()[0]}){_way_out(Path(path).parent)}"
            ) from exc
    blank = next((n for n, row in enumerate(rows, start=2) if None in row), None)
    if blank is not None:
        raise RunError(
            f"{path}, row {blank}: no customer_id, currency or net_amount; the invoice summary is "
            "damaged (restore it from a backup)"
        )
    return rows


def billed_nets(output: Path, period: str) -> dict[tuple[str, str], Decimal]:
    """Net per (customer, currency) that ``period`` bills now: its run's ``invoice_summary.csv``
    and those of its credit notes (negative) and reissued invoices in ``corrections/``."""
    net: dict[tuple[str, str], Decimal] = {}
    folders = [Path(output) / period, *(f for f, _ in corrections_of(output, period))]
    for folder in folders:
        for customer, currency, amount in summary_nets(folder / SUMMARY_CSV):
            net[customer, currency] = net.get((customer, currency), Decimal(0)) + amount
    return net


def billed_numbers(output: Path, period: str) -> dict[tuple[str, str], list[str]]:
    """Invoice numbers per (customer, currency) that ``period`` bills now: its run's and its
    reissued invoices' (``invoice_summary.csv``), less those a credit note cancelled since."""
    corrections = corrections_of(output, period)
    credited = {m.get("corrects") for _, m in corrections if m.get("kind") != "reissue"}
    folders = [Path(output) / period, *(f for f, m in corrections if m.get("kind") == "reissue")]
    numbers: dict[tuple[str, str], list[str]] = {}
    for folder in folders:
        with (folder / SUMMARY_CSV).open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("invoice_number") and row["invoice_number"] not in credited:
                    key = (row["customer_id"], row.get("currency") or "")
                    numbers.setdefault(key, []).append(row["invoice_number"])
    return numbers
