"""The CSV journal in the seller's national currency: a Dutch customer invoiced in USD under
Dutch VAT. The journal kept the entry in USD only (VAT USD 28.01, no rate), while the invoice,
its UBL e-invoice and the Xero file state the VAT as EUR 25.73 at 0.9187: the accountant's
package converted at its own rate, so the VAT return (filed from the journal's ``vat_code``) and
the invoice could differ. Each row now also carries the national currency, the rate and its
date (the invoice's and the Xero export's) and its debit or credit in EUR: every entry balances
in EUR (the conversion's cent on the rounding account, as the Xero file books it), the VAT rows
are the invoice's EUR VAT exactly, rows in EUR carry rate 1 and their own amounts. The columns
are appended, and a journal written before them still reads and still gets a credit note."""

from __future__ import annotations

import csv
import json
import os
import stat
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.accounting_exports import Conversion
from billing_lib.journal_entries import reversing_entry
from billing_lib.journal_files import EARLIER_JOURNAL_COLUMNS, JOURNAL_COLUMNS, write_csv_journal
from billing_lib.journal_readback import read_entry
from billing_lib.ledger import write_ledger
from billing_lib.publishing import sha256s_of
from tests.invoice_helpers import PERIOD, line, parameters_copy
from tests.test_national_vat import invoiced_with

D = Decimal
NEW_COLUMNS = (
    "national_currency",
    "exchange_rate",
    "rate_date",
    "national_debit",
    "national_credit",
)
#: C003 (Dutch, 21 % VAT) in USD: 90.00 AWS + 43.38 Microsoft = 133.38, VAT 28.01, gross 161.39.
#: In EUR at 0.9187: 148.27 - 82.68 - 39.85 - 25.73 = 0.01, the conversion's cent.
ROWS = [
    line("C003", "90", service="Amazon EC2", currency="USD"),
    line("C003", "43.38", vendor="microsoft", service="M365", currency="USD"),
    line("C004", "100", service="Amazon EC2"),  # a Dutch customer in EUR
]


def usd_parameters(tmp_path: Path, customer: str = "C003") -> Path:
    """The sample parameters with ``customer`` invoiced in USD."""
    params = parameters_copy(tmp_path)
    path = params / "customers.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {customer}")
    at = text.index("invoice_currency: EUR", start)
    path.write_text(text[:at] + "invoice_currency: USD" + text[at + 21 :], encoding="utf-8")
    return params


def billed(tmp_path: Path, rows=ROWS):
    """(connection, invoicing, rates, invoices by customer, journal rows) of ``rows``."""
    con, invoicing, rates, invoices = invoiced_with(tmp_path, usd_parameters(tmp_path), rows)
    journal, _ = write_ledger(
        con, list(invoices.values()), invoicing, tmp_path / "out", rates=rates, period=PERIOD
    )
    return con, invoicing, rates, invoices, read(journal), journal


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def signed(row: dict[str, str], debit: str = "debit", credit: str = "credit") -> Decimal:
    return D(row[debit] or 0) - D(row[credit] or 0)


def national(row: dict[str, str]) -> Decimal:
    return signed(row, "national_debit", "national_credit")


def test_a_usd_invoice_under_dutch_vat_states_each_row_in_eur_at_the_invoice_s_rate(tmp_path):
    _, _, _, invoices, rows, journal = billed(tmp_path)
    usd = invoices["C003"]
    assert (usd.currency, usd.vat_total, usd.gross) == ("USD", D("28.01"), D("161.39"))
    assert (usd.national_vat.amount, usd.national_vat.rate) == (D("25.73"), D("0.9187"))
    # the columns appended, the earlier ones first and as they were
    header = journal.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert tuple(header) == JOURNAL_COLUMNS == EARLIER_JOURNAL_COLUMNS + NEW_COLUMNS
    mine = [r for r in rows if r["entry_id"] == usd.number]
    assert [
        (
            r["account"],
            r["debit"],
            r["credit"],
            r["currency"],
            r["vat_code"],
            r["national_currency"],
            r["exchange_rate"],
            r["rate_date"],
            r["national_debit"],
            r["national_credit"],
        )
        for r in mine
    ] == [
        ("1300", "161.39", "", "USD", "", "EUR", "0.9187", "2026-10-31", "148.27", ""),
        ("8010", "", "90.00", "USD", "NL-21", "EUR", "0.9187", "2026-10-31", "", "82.68"),
        ("8020", "", "43.38", "USD", "NL-21", "EUR", "0.9187", "2026-10-31", "", "39.85"),
        ("1500", "", "28.01", "USD", "NL-21", "EUR", "0.9187", "2026-10-31", "", "25.73"),
        # the cent the roundings leave, where the Xero file books it: 0.00 in USD
        ("7099", "0.00", "", "USD", "", "EUR", "0.9187", "2026-10-31", "", "0.01"),
    ]
    assert mine[-1]["description"] == "Rounding differences converting to EUR on 2026-10-31"
    # the VAT return's figure (the VAT rows' EUR) is the invoice's VAT in EUR, to the cent
    vat = sum(-national(r) for r in mine if r["account"] == "1500")
    assert vat == usd.national_vat.amount
    # a row in EUR: rate 1, its own amounts
    eur = [r for r in rows if r["entry_id"] == invoices["C004"].number]
    assert eur and all(
        (r["national_currency"], r["exchange_rate"], r["national_debit"], r["national_credit"])
        == ("EUR", "1", r["debit"], r["credit"])
        for r in eur
    )


def test_every_entry_balances_in_the_national_currency_as_the_xero_file_converts_it(tmp_path):
    """Each entry's EUR rows add up to 0 and are, line by line, the Xero base-currency file's
    (the same rate of the period's last day, the same rounding line): the books' EUR amounts
    reconcile with the invoices and with Xero. The AWS bill in USD is converted at the rate the
    Xero file converts it at, the period's last day."""
    _, invoicing, rates, _, rows, journal = billed(tmp_path)
    ids = list(dict.fromkeys(r["entry_id"] for r in rows))
    assert "COST-2026-10-aws-USD" in ids
    xero = Conversion("EUR", date(2026, 10, 31), rates, invoicing.products.rounding_account)
    for entry_id in ids:
        mine = [r for r in rows if r["entry_id"] == entry_id]
        assert sum(national(r) for r in mine) == 0, entry_id
        assert sum(signed(r) for r in mine) == 0, entry_id
        converted = xero.entry(read_entry(journal, entry_id))
        assert [(r["account"], national(r)) for r in mine] == [
            (p.account, p.amount) for p in converted.postings
        ], entry_id
    aws = [r for r in rows if r["entry_id"] == "COST-2026-10-aws-USD"]
    assert {(r["exchange_rate"], r["rate_date"]) for r in aws} == {("0.9187", "2026-10-31")}


def test_a_credit_note_reverses_the_national_amounts_exactly(tmp_path):
    *_, invoices, rows, journal = billed(tmp_path)
    usd = invoices["C003"]
    original = read_entry(journal, usd.number)
    note = reversing_entry(
        original, "NWC2026-000001", date(2026, 12, 3), "", "", "Credit note NWC2026-000001"
    )
    written = read(write_csv_journal([note], None, tmp_path / "journal_NWC2026-000001.csv"))
    before = [r for r in rows if r["entry_id"] == usd.number]
    assert [
        (r["account"], r["national_debit"], r["national_credit"], r["exchange_rate"])
        for r in written
    ] == [
        (r["account"], r["national_credit"], r["national_debit"], r["exchange_rate"])
        for r in before
    ]
    assert sum(national(r) for r in written if r["account"] == "1500") == usd.national_vat.amount


def old_layout(path: Path) -> None:
    """``path`` rewritten as journals were written before the national columns."""
    rows = read(path)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(EARLIER_JOURNAL_COLUMNS)
        for r in rows:
            if D(r["debit"] or 0) or D(r["credit"] or 0) or r["account"] != "7099":
                writer.writerow([r[c] for c in EARLIER_JOURNAL_COLUMNS])


def test_a_journal_written_before_the_national_columns_reads_as_it_did(tmp_path):
    *_, invoices, rows, journal = billed(tmp_path)
    new = read_entry(journal, invoices["C003"].number)
    old_layout(journal)
    was = read_entry(journal, invoices["C003"].number)
    assert [(p.account, p.amount, p.currency, p.vat_code) for p in was.postings] == [
        (p.account, p.amount, p.currency, p.vat_code) for p in new.postings
    ]
    assert was.national is None and all(p.national is None for p in was.postings)
    assert read_entry(journal, "COST-2026-10-aws-USD").national is None
    # its reversal (a credit note) leaves the national columns empty: nothing to reverse
    note = reversing_entry(was, "NWC2026-000001", date(2026, 12, 3), "", "", "Credit note")
    written = read(write_csv_journal([note], None, tmp_path / "note.csv"))
    assert {(r["exchange_rate"], r["national_debit"], r["national_credit"]) for r in written} == {
        ("", "", "")
    }
    assert note.conversion is None


# -- end to end: a run, its credit note and its reissue ------------------------------------------

CUR_HEADER = (
    "identity/LineItemId,bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,"
    "lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
    "lineItem/UnblendedCost,lineItem/CurrencyCode\n"
)


def usd_month(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """A finalised October in which C001 (Dutch, 21 % VAT) is invoiced in USD (its fee too, on the
    USD plan), from
    a one-line AWS report: (outputs, parameters, reports, C001's invoice number)."""
    from tests import numbering_runner

    params = usd_parameters(tmp_path, "C001")
    fees = params / "custom_lines.yaml"
    text = fees.read_text(encoding="utf-8")
    old = 'unit_price: "155.00", currency: EUR'
    assert old in text
    fees.write_text(text.replace(old, 'unit_price: "155.00", currency: USD'), encoding="utf-8")
    plans = params / "price_plans.yaml"
    text = plans.read_text(encoding="utf-8")
    old = "  - {plan: enterprise-usd, customer: C008, valid_from: 2026-01-01}\n"
    assert old in text
    usd_plan = old.replace("C008", "C001")
    plans.write_text(text.replace(old, old + usd_plan), encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cur.csv").write_text(
        CUR_HEADER + "2026-10-1,999999999999,402719385610,Usage,2026-10-02T00:00:00Z,"
        "2026-10-02T01:00:00Z,AmazonEC2,10.25,USD\n"
    )
    out = tmp_path / "outputs"
    assert numbering_runner.main([PERIOD, str(reports), str(params), str(out), "--finalise"]) == 0
    [number] = [
        r["invoice_number"]
        for r in read(out / PERIOD / "invoice_summary.csv")
        if r["customer_id"] == "C001"
    ]
    return out, params, reports, number


@pytest.mark.slow
def test_a_run_its_credit_note_and_its_reissue_state_the_national_amounts(tmp_path):
    from billing_lib.corrections import issue_credit_note
    from billing_lib.reissue import reissue_invoice

    out, params, reports, number = usd_month(tmp_path)
    run_rows = read(out / PERIOD / "journal_2026-10.csv")
    sales = [r for r in run_rows if r["entry_id"] == number]
    data = json.loads((out / PERIOD / "invoices.json").read_text(encoding="utf-8"))
    [record] = [i for i in data["invoices"] if i["number"] == number]
    assert record["currency"] == "USD"
    vat_eur = D(record["national_vat"]["amount"])
    assert sum(-national(r) for r in sales if r["account"] == "1500") == vat_eur
    assert {r["exchange_rate"] for r in sales} == {record["national_vat"]["rate"]}
    for entry_id in dict.fromkeys(r["entry_id"] for r in run_rows):
        assert sum(national(r) for r in run_rows if r["entry_id"] == entry_id) == 0, entry_id
    # the Xero file (base currency EUR) books the same EUR amounts
    xero = [
        r
        for r in read(out / PERIOD / "xero_manual_journal_2026-10_EUR.csv")
        if r["*Narration"].startswith(f"Invoice {number} ")
    ]
    assert [(r["*AccountCode"], D(r["*Amount"])) for r in xero] == [
        (r["account"], national(r)) for r in sales if national(r)
    ]

    done = issue_credit_note(out, number, date(2026, 12, 3), "Wrong price")
    note = read(done.folder / f"journal_{done.note.number}.csv")
    assert [(r["account"], national(r), r["exchange_rate"], r["rate_date"]) for r in note] == [
        (r["account"], -national(r), r["exchange_rate"], r["rate_date"]) for r in sales
    ]
    again = reissue_invoice(out, number, params, reports, date(2026, 12, 4))
    rows = read(again.folder / f"journal_{again.invoice.number}.csv")
    assert rows and all(r["exchange_rate"] for r in rows)
    assert sum(national(r) for r in rows if r["journal"] == "SALES") == 0


@pytest.mark.slow
def test_a_credit_note_of_a_run_written_before_the_national_columns(tmp_path):
    """A finalised run whose journal has the earlier layout (its manifest's checksum as it was
    published): the credit note is issued as before, in the new layout, its rows the original's
    with debit and credit swapped; its national columns stay empty, as the original's were (the
    accounting package converted that invoice at its own rate: the credit note reverses what it
    booked)."""
    from billing_lib.corrections import issue_credit_note

    out, _, _, number = usd_month(tmp_path)
    folder = out / PERIOD
    journal = folder / "journal_2026-10.csv"
    old_layout(journal)
    before = read(journal)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    [digest] = sha256s_of([journal])
    for o in manifest["outputs"]:
        if o["file"] == journal.name:
            o["sha256"], o["bytes"] = digest, journal.stat().st_size
    os.chmod(manifest_path, stat.S_IRUSR | stat.S_IWUSR)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    done = issue_credit_note(out, number, date(2026, 12, 3), "Wrong price")
    rows = read(done.folder / f"journal_{done.note.number}.csv")
    assert tuple(rows[0]) == JOURNAL_COLUMNS
    sales = [r for r in before if r["entry_id"] == number]
    assert [(r["account"], r["debit"], r["credit"], r["currency"]) for r in rows] == [
        (r["account"], r["credit"], r["debit"], r["currency"]) for r in sales
    ]
    assert {tuple(r[c] for c in NEW_COLUMNS) for r in rows} == {("", "", "", "", "")}


def test_a_credit_note_refuses_a_journal_whose_national_vat_is_not_the_invoice_s(tmp_path):
    """The credit note checks the run's journal entry against the invoice: its VAT rows in EUR
    must be the invoice's VAT in EUR (a journal edited since is named)."""
    from billing_lib.original_invoice import _entry_problems

    *_, invoices, _, journal = billed(tmp_path)
    usd = invoices["C003"]
    entry = read_entry(journal, usd.number)
    assert _entry_problems(journal, entry, usd) == []
    edited = tuple(
        replace(p, national=D("-25.72")) if p.account == "1500" else p for p in entry.postings
    )
    assert _entry_problems(journal, replace(entry, postings=edited), usd) == [
        f"{journal}: the entry of {usd.number} states its VAT as EUR 25.72 at 0.9187; the "
        "invoice as EUR 25.73 at 0.9187"
    ]


def test_the_sample_month_s_journal_states_every_entry_in_eur_as_its_xero_file(sample_outputs):
    """The sample month: every entry balances in EUR; the EUR rows carry rate 1 and their own
    amounts; the USD invoice of Harborview (C008, export: no VAT) and the AWS bill in USD are at
    0.9187, the rate of 2026-10-31, and their EUR rows are the Xero file's lines (base currency
    EUR), the rounding line included."""
    folder = sample_outputs / PERIOD
    rows = read(folder / "journal_2026-10.csv")
    xero = read(folder / "xero_manual_journal_2026-10_EUR.csv")
    for entry_id in dict.fromkeys(r["entry_id"] for r in rows):
        mine = [r for r in rows if r["entry_id"] == entry_id]
        assert sum(national(r) for r in mine) == 0, entry_id
        assert len({r["exchange_rate"] for r in mine}) == 1, entry_id
        if mine[0]["currency"] == "EUR":
            assert all(
                (r["exchange_rate"], r["national_debit"], r["national_credit"])
                == ("1", r["debit"], r["credit"])
                for r in mine
            ), entry_id
            continue
        assert {(r["exchange_rate"], r["rate_date"]) for r in mine} == {("0.9187", "2026-10-31")}
        booked = [
            (r["*AccountCode"], D(r["*Amount"]))
            for r in xero
            if r["*Narration"].startswith(f"{entry_id} ")
            or r["*Narration"].startswith(f"Invoice {entry_id} ")
        ]
        assert booked == [(r["account"], national(r)) for r in mine if national(r)], entry_id


def test_a_vendor_bill_in_usd_without_a_rate_of_the_period_s_last_day_is_named(tmp_path):
    """The journal states the AWS bill in USD in EUR at the rate of 2026-10-31: without one the
    ledger stops, naming the pair, the day and why (the run ends in that message)."""
    from billing_lib.errors import ParameterError
    from billing_lib.fx import ExchangeRates
    from tests.invoice_helpers import setup

    con, _, invoicing = setup([])
    con.execute(
        "CREATE TABLE unmapped_lines AS SELECT 'aws' AS x_Vendor, 'USD' AS BillingCurrency, "
        "'Usage' AS ChargeCategory, CAST(12.34 AS DECIMAL(38,12)) AS BilledCost"
    )
    rates = ExchangeRates(tmp_path / "exchange_rates.csv")
    with pytest.raises(ParameterError, match=r"USD->EUR on 2026-10-31.*national currency EUR"):
        write_ledger(con, [], invoicing, tmp_path / "out", period=PERIOD, rates=rates)
    assert not (tmp_path / "out" / "journal_2026-10.csv").exists()
