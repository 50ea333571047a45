"""The journal in the import layouts of Xero (manual journals) and QuickBooks Online (journal
entries): the documented columns exactly, the documented date and sign conventions, every journal
balanced, and the receivables equal to the invoices to the cent."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.accounting_exports import (
    QUICKBOOKS_COLUMNS,
    XERO_COLUMNS,
    XERO_MAX_LINES,
    Conversion,
    ExportSettings,
    conversion_of,
    journal_number,
    load_export_settings,
    quickbooks_rows,
    write_package_journals,
    xero_files,
)
from billing_lib.errors import ParameterError, RunError
from billing_lib.fx import load_exchange_rates
from billing_lib.invoices import Invoicing, build_invoices, money_text
from billing_lib.journal_entries import Entry, NationalRate, Posting, in_national
from billing_lib.ledger import build_entries, sales_entry
from billing_lib.numbering import open_register
from billing_lib.quickbooks_names import quickbooks_name
from tests.invoice_helpers import ISSUED, PARAMETERS, PERIOD, line, setup

D = Decimal
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
ROWS = [
    line("C003", "5.0025", service="EC2", cost="4"),
    line("C003", "20.004", service="S3", cost="15.555"),
    line("C003", "0.333", vendor="microsoft", service="M365", cost="0.3"),
    line("C005", "99.995", vendor="microsoft", service="M365", cost="80"),
    line("C008", "50", currency="USD", cost="41.004", vendor_cost="41.004", billed_cost="41.004"),
    line("C004", "-40", kind="credit", product_group="managed_services", description="SLA credit"),
    line("C004", "10", service="RDS", cost="9", vendor_cost="9", billed_cost="12.5"),
]


@pytest.fixture
def written(tmp_path):
    con, customers, invoicing = setup(ROWS)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    entries = build_entries(con, invoices, invoicing)
    paths = write_package_journals(entries, invoicing, ExportSettings(), tmp_path / "out", PERIOD)
    return invoices, invoicing, {p.name: p for p in paths}


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    assert path.read_bytes().endswith(b"\r\n")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [dict(zip(header, r, strict=True)) for r in reader]


def _gross(invoices, currency):
    return sum((i.gross for i in invoices if i.currency == currency), D(0))


def test_xero_manual_journals_one_file_per_currency_balanced_and_equal_to_the_invoices(written):
    invoices, _, files = written
    assert sorted(n for n in files if n.startswith("xero")) == [
        "xero_manual_journal_2026-10_EUR.csv",
        "xero_manual_journal_2026-10_USD.csv",
    ]
    for currency in ("EUR", "USD"):
        header, rows = _read(files[f"xero_manual_journal_2026-10_{currency}.csv"])
        # the template's columns, in its order, mandatory ones marked with *
        assert header == [
            "*Narration",
            "*Date",
            "Description",
            "*AccountCode",
            "*TaxRate",
            "*Amount",
            "TrackingName1",
            "TrackingOption1",
            "TrackingName2",
            "TrackingOption2",
        ]
        assert tuple(header) == XERO_COLUMNS and 0 < len(rows) <= XERO_MAX_LINES
        journals: dict[tuple[str, str], Decimal] = defaultdict(D)
        for r in rows:
            assert all(r[c] for c in header if c.startswith("*"))
            datetime.strptime(r["*Date"], "%d/%m/%Y")  # dd/mm/yyyy
            assert AMOUNT.match(r["*Amount"]) and D(r["*Amount"]) != 0
            assert r["*TaxRate"] == "No VAT"
            journals[r["*Narration"], r["*Date"]] += D(r["*Amount"])  # + debit, - credit
        assert set(journals.values()) == {D(0)}
        receivable = sum(D(r["*Amount"]) for r in rows if r["*AccountCode"] == "1300")
        assert receivable == _gross(invoices, currency)
    # each invoice is a journal of its own, found by its number
    _, eur = _read(files["xero_manual_journal_2026-10_EUR.csv"])
    for inv in invoices:
        if inv.currency == "EUR":
            assert any(r["*Narration"].startswith(f"Invoice {inv.number}") for r in eur)


def test_quickbooks_journal_entries_balanced_named_and_equal_to_the_invoices(written):
    invoices, invoicing, files = written
    header, rows = _read(files["quickbooks_journal_2026-10.csv"])
    assert header == [
        "Journal No.",
        "Journal Date",
        "Account Name",
        "Description",
        "Debits",
        "Credits",
        "Name",
        "Currency Code",
        "Exchange Rate",
    ]
    assert tuple(header) == QUICKBOOKS_COLUMNS
    names = {a.name for a in invoicing.products.accounts.values()}
    journals: dict[str, Decimal] = defaultdict(D)
    currencies = defaultdict(set)
    for r in rows:
        assert len(r["Journal No."]) <= 21
        datetime.strptime(r["Journal Date"], "%d/%m/%Y")
        # an entry in USD names its A/R and A/P accounts "<name> - USD" (the home currency EUR's
        # own; test_quickbooks_books_an_entry_in_another_currency_on_that_currency_s_accounts)
        assert r["Account Name"].removesuffix(" - USD") in names
        assert bool(r["Debits"]) != bool(r["Credits"])
        amount = r["Debits"] or r["Credits"]
        assert AMOUNT.match(amount) and not amount.startswith("-")
        journals[r["Journal No."]] += D(r["Debits"] or 0) - D(r["Credits"] or 0)
        currencies[r["Journal No."]].add(r["Currency Code"])
        if r["Account Name"].startswith(("Accounts receivable", "Payable")):
            assert r["Name"]  # QuickBooks asks a customer / vendor on A/R and A/P lines
    assert set(journals.values()) == {D(0)}
    assert all(len(c) == 1 for c in currencies.values())
    for inv in invoices:
        mine = [r for r in rows if r["Journal No."] == inv.number]
        receivable = [r for r in mine if r["Account Name"].startswith("Accounts receivable")]
        # a customer in another currency than the home currency EUR: "<name> - USD"
        # (test_a_customer_invoiced_in_two_currencies_is_one_quickbooks_customer_per_currency)
        own = inv.buyer.name + ("" if inv.currency == "EUR" else f" - {inv.currency}")
        assert [r["Name"] for r in receivable] == [own]
        assert D(receivable[0]["Debits"] or 0) - D(receivable[0]["Credits"] or 0) == inv.gross
    assert len(journals) == len({r["Journal No."] for r in rows})


def _quickbooks_numbers(rows: list[dict[str, str]], tmp_path: Path) -> dict[str, str]:
    """Journal No. per payable line's vendor and currency in the QuickBooks file of ``rows``."""
    con, customers, invoicing = setup(rows)
    register = open_register(tmp_path / "reg.sqlite")
    invoices = build_invoices(con, customers, invoicing, PERIOD, register, ISSUED)
    entries = build_entries(con, invoices, invoicing)
    paths = write_package_journals(entries, invoicing, ExportSettings(), tmp_path / "out", PERIOD)
    _, lines = _read(next(p for p in paths if p.name.startswith("quickbooks")))
    numbers = {r["Journal No."] for r in lines}
    assert all(len(n) <= 21 for n in numbers) and len(numbers) == len(entries)
    return {
        f"{r['Name']} {r['Currency Code']}": r["Journal No."]
        for r in lines
        if r["Account Name"].startswith("Payable")
    }


def test_a_vendor_bill_keeps_its_quickbooks_number_when_the_month_is_run_again(tmp_path):
    """``COST-2026-10-microsoft-EUR`` is longer than QuickBooks' 21 characters: it was numbered
    by its place in the file (PURCH-2026-10-007), so a rerun of the unfinalised month with one
    customer fewer and the lines in another order numbered the same Microsoft bill
    PURCH-2026-10-006, and an accountant who had imported the first run got the bill twice. Its
    number is derived from the entry's id now: the same in both runs, unique in each file."""
    first = _quickbooks_numbers(ROWS, tmp_path / "first")
    again = [r for r in reversed(ROWS) if r["customer_id"] != "C004"]
    second = _quickbooks_numbers(again, tmp_path / "second")
    assert first == second
    assert first["Microsoft EUR"] == journal_number("COST-2026-10-microsoft-EUR")
    assert re.fullmatch(r"COST-2026-10-m-[0-9a-f]{6}", first["Microsoft EUR"])
    assert first["Amazon Web Services - USD USD"] == "COST-2026-10-aws-USD"  # fits: as it is
    # two vendors whose ids share the kept 14 characters are still told apart
    assert journal_number("COST-2026-10-microsoft_csp-EUR") != first["Microsoft EUR"]


def test_two_entries_quickbooks_would_merge_are_refused(written):
    """Two entries with one Journal No. would be one journal in QuickBooks: refused, naming
    both."""
    invoices, invoicing, _ = written
    entry = sales_entry(invoices[0], invoicing)
    with pytest.raises(RunError, match=rf"entries {entry.entry_id} and {entry.entry_id} both"):
        quickbooks_rows([entry, entry], invoicing, "%d/%m/%Y", PERIOD)


def test_quickbooks_names_the_customer_exactly_however_its_name_starts(tmp_path):
    """QuickBooks matches Name to the company file's customer as it is: "'@EasePay B.V." named no
    customer. The free-text columns still get the apostrophe before text like a formula."""
    con, customers, invoicing = setup(ROWS)
    names = {"C003": "@EasePay B.V.", "C005": "+Plus Media B.V.", "C004": "=Zorg Ltd"}
    for cid, name in names.items():
        customers[cid] = customers[cid].model_copy(update={"name": name})
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    entries = build_entries(con, invoices, invoicing)
    first = [replace(e.postings[0], description=f"-{e.postings[0].description}") for e in entries]
    entries = [
        replace(e, postings=(p, *e.postings[1:])) for e, p in zip(entries, first, strict=True)
    ]
    paths = write_package_journals(entries, invoicing, ExportSettings(), tmp_path / "out", PERIOD)
    _, rows = _read(next(p for p in paths if p.name.startswith("quickbooks")))
    receivable = {
        r["Journal No."]: r for r in rows if r["Account Name"].startswith("Accounts receivable")
    }
    for inv in invoices:
        own = inv.buyer.name + ("" if inv.currency == "EUR" else f" - {inv.currency}")
        assert receivable[inv.number]["Name"] == names.get(inv.customer_id, own)
        assert receivable[inv.number]["Description"].startswith("'-")


def test_a_quickbooks_name_past_100_characters_is_shortened_uniquely_and_the_same_each_run(
    written,
):
    """QuickBooks Online's customer and vendor names are at most 100 characters (Intuit help,
    "Which contact fields are imported?"); the Name column gave a longer legal name as it is,
    which no QuickBooks customer can have, and cut at 100 two names that differ further on
    would be one customer. A longer name is its first 92 characters, " #" and 6 hex digits of
    its SHA-256: 100 characters, one per name, the same in every run; a name that fits is
    left as it is."""
    invoices, invoicing, _ = written
    entry = sales_entry(invoices[0], invoicing)
    stem = "Stichting Samenwerkende Zorginstellingen " * 3  # 123 characters
    long_names = [f"{stem}Noord-Holland", f"{stem}Zuid-Holland"]
    entries = [
        replace(entry, entry_id=f"NW2026-00009{n}", payee=name)
        for n, name in enumerate([*long_names, "Acme B.V."])
    ]
    named = {r[0]: r[6] for r in quickbooks_rows(entries, invoicing, "%d/%m/%Y", PERIOD) if r[6]}
    first, second, short = (named[f"NW2026-00009{n}"] for n in range(3))
    assert short == "Acme B.V."
    assert len(first) == len(second) == 100 and first != second
    assert first.startswith(stem[:92] + " #") and second.startswith(stem[:92] + " #")
    again = {r[0]: r[6] for r in quickbooks_rows(entries, invoicing, "%d/%m/%Y", PERIOD) if r[6]}
    assert again == named


@pytest.mark.parametrize(
    ("code", "length", "limit"),
    [("7010", 101, 100), ("1300", 95, 94), ("1610", 95, 94)],
)
def test_an_account_name_quickbooks_cannot_hold_is_refused_when_the_parameters_load(
    tmp_path, code, length, limit
):
    """QuickBooks Online's account names are at most 100 characters, and the receivable and
    payable accounts are named "<name> - USD" in an entry in another currency (6 more): a
    longer name in products.yaml was written to the QuickBooks file, whose import finds no
    such account (and cut, two names alike in their first 100 characters would be one). The
    chart is refused when loaded, naming the entry, the length and the limit; one that fits
    loads."""
    from billing_lib.invoicing_parameters import load_invoicing
    from tests.invoice_helpers import parameters_copy

    params = parameters_copy(tmp_path)
    products = params / "products.yaml"
    text = products.read_text(encoding="utf-8")
    old = re.search(rf'  "{code}": {{name: ([^,]+), type', text)
    assert old is not None
    name = (old.group(1) + " " + "x" * length)[:length]
    products.write_text(text.replace(old.group(1), f'"{name}"', 1), encoding="utf-8")
    with pytest.raises(ParameterError) as refused:
        load_invoicing(params)
    message = str(refused.value)
    assert f"entry accounts.{code}: " in message
    assert f"{length} characters" in message and f"at most {limit}" in message
    assert "QuickBooks" in message
    products.write_text(text.replace(old.group(1), f'"{name[:limit]}"', 1), encoding="utf-8")
    assert load_invoicing(params).account(code).name == name[:limit]


def test_a_quickbooks_name_with_a_character_quickbooks_refuses_is_rewritten_uniquely(written):
    """QuickBooks Online refuses a colon, a double quote, a tab and a line break in a customer's
    or vendor's name, and reads a colon in a Name as the path of a sub-customer: "ACME: Germany"
    named the sub-customer " Germany" of "ACME", or the import refused the line (Intuit's API
    error 2040 "Invalid String"). The Name column gave such a name as it is. It is now the name
    QuickBooks can hold: a colon (with the spaces beside it) " - ", a double quote "'", a tab or
    line break a space, then " #" and 6 hex digits of the name's SHA-256, so that two names that
    differ only there, or a name already written that way, stay two customers; the same in
    every run; a name without those characters is left as it is."""
    invoices, invoicing, _ = written
    entry = sales_entry(invoices[0], invoicing)
    rewritten = {
        "ACME: Germany": "ACME - Germany",
        "ACME:Germany": "ACME - Germany",
        'The "Blue" Company': "The 'Blue' Company",
        "Two\nLines B.V.": "Two Lines B.V.",
        "Tab\tB.V.": "Tab B.V.",
        "Line \r\n Break": "Line Break",
    }
    kept = ["ACME - Germany", "The 'Blue' Company", "Acme B.V."]
    payees = [*rewritten, *kept]
    entries = [
        replace(entry, entry_id=f"NW2026-0009{n:02}", payee=name) for n, name in enumerate(payees)
    ]
    rows = quickbooks_rows(entries, invoicing, "%d/%m/%Y", PERIOD)
    named = {r[0]: r[6] for r in rows if r[6]}
    by_payee = {name: named[f"NW2026-0009{n:02}"] for n, name in enumerate(payees)}
    for name, held in rewritten.items():
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
        assert by_payee[name] == f"{held} #{digest}"
    assert all(by_payee[name] == name for name in kept)
    assert len(set(by_payee.values())) == len(payees)
    assert not any(set(n) & {":", '"', "\t", "\n", "\r"} for n in by_payee.values())
    assert quickbooks_rows(entries, invoicing, "%d/%m/%Y", PERIOD) == rows
    # past 100 characters as well: cut to 92, then the digest of the whole name
    long = "Stichting Zorg: " + "Noord-Holland " * 8
    shortened = quickbooks_name(long)
    digest = hashlib.sha256(long.encode("utf-8")).hexdigest()[:6]
    assert shortened == ("Stichting Zorg - " + "Noord-Holland " * 8)[:92] + f" #{digest}"
    assert len(shortened) == 100


def _products_with_name(tmp_path: Path, code: str, name: str) -> Path:
    """A copy of the sample parameters whose products.yaml names account ``code`` ``name``."""
    from tests.invoice_helpers import parameters_copy

    params = parameters_copy(tmp_path)
    products = params / "products.yaml"
    text = products.read_text(encoding="utf-8")
    old = re.search(rf'  "{code}": {{name: ([^,]+), type', text)
    assert old is not None
    products.write_text(text.replace(old.group(1), json.dumps(name), 1), encoding="utf-8")
    return params


@pytest.mark.parametrize(
    ("code", "name", "said"),
    [
        ("8010", "Revenue: AWS", "a space beside a colon"),
        ("8010", "Revenue :AWS", "a space beside a colon"),
        ("8010", "Revenue::AWS", "an empty account between two colons"),
        ("8010", ":Revenue AWS", "an empty account before a colon"),
        ("8010", "Revenue AWS:", "an empty account after a colon"),
        ("8010", 'Revenue "AWS"', "a double quote"),
        ("1300", "Accounts\treceivable", "a tab"),
        ("1610", "Payable\nAWS", "a line break"),
        ("7010", "Cost of sales:" + "x" * 101, "101 characters"),
        ("1300", "Assets:" + "x" * 95, "95 characters"),
    ],
)
def test_an_account_name_quickbooks_would_read_as_another_account_is_refused(
    tmp_path, code, name, said
):
    """QuickBooks Online reads a colon in an Account Name as the path of a sub-account
    ("Revenue:AWS" is the sub-account AWS of Revenue, its FullyQualifiedName), and refuses a
    double quote, a tab and a line break in an account's name. products.yaml's name of an
    account is the name the QuickBooks file gives it, so a colon there is deliberate, the way
    to name a sub-account; but a space beside it ("Revenue: AWS", a parent "Revenue " and a
    sub-account " AWS") or an empty part names no account QuickBooks has, and the other
    characters no account it can have: they were written as they were, and the import found no
    account. Refused when the parameters load, naming the entry and what is wrong; the
    100-character limit is on each account of the path, not on the whole of it."""
    from billing_lib.invoicing_parameters import load_invoicing

    with pytest.raises(ParameterError) as refused:
        load_invoicing(_products_with_name(tmp_path, code, name))
    message = str(refused.value)
    assert f"entry accounts.{code}: " in message
    assert said in message and "QuickBooks" in message


def test_an_account_name_with_a_colon_is_a_quickbooks_sub_account_path(written, tmp_path):
    """A colon in products.yaml's account name is QuickBooks' sub-account path, written as it
    is ("Revenue:Revenue AWS"; the receivable in USD "Assets:Accounts receivable - USD"); each
    account of the path may have QuickBooks' 100 characters (94 for the last of the receivable
    and payable accounts, which get " - USD"), where the whole path was held to them."""
    from billing_lib.invoicing_parameters import load_invoicing

    long = "Assets:" + "x" * 94
    assert load_invoicing(_products_with_name(tmp_path / "long", "1300", long))
    params = _products_with_name(tmp_path / "path", "1300", "Assets:Accounts receivable")
    invoicing = load_invoicing(params)
    invoices, _, _ = written
    usd = next(i for i in invoices if i.currency == "USD")
    rows = quickbooks_rows([sales_entry(usd, invoicing)], invoicing, "%d/%m/%Y", PERIOD)
    assert {r[2] for r in rows if r[6]} == {"Assets:Accounts receivable - USD"}


def test_xero_in_the_base_currency_holds_every_entry_converted_at_the_period_end_rate(tmp_path):
    # a Dutch reseller's Xero organisation is in EUR: the USD invoice of C008 and the AWS bill
    # in USD go into the EUR file at the USD->EUR rate of 31 October (0.9187), each still
    # balanced, the cents of rounding on 7099, the dollars kept in the description
    con, customers, invoicing = setup(ROWS)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    entries = build_entries(con, invoices, invoicing)
    settings = ExportSettings.model_validate({"xero": {"base_currency": "EUR"}})
    conversion = Conversion("EUR", date(2026, 10, 31), load_exchange_rates(PARAMETERS), "7099")
    paths = write_package_journals(
        entries, invoicing, settings, tmp_path / "out", PERIOD, conversion
    )
    assert [p.name for p in paths if p.name.startswith("xero")] == [
        "xero_manual_journal_2026-10_EUR.csv"
    ]
    _, rows = _read(paths[0])
    journals: dict[tuple[str, str], Decimal] = defaultdict(D)
    for r in rows:
        assert AMOUNT.match(r["*Amount"])
        journals[r["*Narration"], r["*Date"]] += D(r["*Amount"])
    assert set(journals.values()) == {D(0)}
    usd = next(i for i in invoices if i.currency == "USD")
    assert usd.gross == D("50.00")
    mine = [r for r in rows if r["*Narration"].startswith(f"Invoice {usd.number}")]
    assert [(r["*AccountCode"], r["*Amount"], r["Description"]) for r in mine] == [
        ("1300", "45.94", f"Invoice {usd.number} Harborview Analytics Inc. (USD 50.00 at 0.9187)"),
        ("8010", "-45.94", "Amazon Web Services 2026-10 (USD -50.00 at 0.9187)"),
    ]
    # every invoice and vendor bill is there once: the EUR ones as they are
    assert len(journals) == len(entries)
    receivable = sum(D(r["*Amount"]) for r in rows if r["*AccountCode"] == "1300")
    assert receivable == _gross(invoices, "EUR") + D("45.94")


def test_xero_books_the_conversion_cent_of_a_credit_balance_on_the_rounding_account(tmp_path):
    """A USD invoice whose credit (150.01 of managed services) exceeds its AWS usage (100.01): a
    credit balance of 50.00, converted for the EUR organisation at 0.9187. Each line rounded
    half-up leaves a cent (-45.94 - 91.88 + 137.81); it was put on the largest line, the credit's
    revenue line (8100 137.82 for 137.81), where the ledger books rounding on 7099 "Rounding
    differences". It is on 7099 now, and every other line is its own amount converted."""
    rows = [
        line("C008", "100.01", currency="USD", cost="80", vendor_cost="80", billed_cost="80"),
        line("C008", "-150.01", currency="USD", kind="credit", product_group="managed_services"),
    ]
    con, customers, invoicing = setup(rows)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    [credit_balance] = invoices
    assert (credit_balance.currency, credit_balance.gross) == ("USD", D("-50.00"))
    settings = ExportSettings.model_validate({"xero": {"base_currency": "EUR"}})
    conversion = conversion_of(
        settings, date(2026, 10, 31), load_exchange_rates(PARAMETERS), invoicing
    )
    assert conversion is not None and conversion.rounding_account == "7099"
    files = xero_files(build_entries(con, invoices, invoicing), "No VAT", conversion)
    mine = [r for r in files["EUR"] if r[0].startswith(f"Invoice {credit_balance.number}")]
    assert [(r[3], r[5]) for r in mine] == [
        ("1300", "-45.94"),  # USD -50.00 x 0.9187 = -45.935
        ("8010", "-91.88"),  # USD -100.01 x 0.9187 = -91.879187
        ("8100", "137.81"),  # USD 150.01 x 0.9187 = 137.814187
        ("7099", "0.01"),
    ]
    assert mine[-1][2] == "Rounding differences converting to EUR on 2026-10-31"
    assert invoicing.account("7099").name == "Rounding differences"


def test_a_missing_base_currency_rate_names_the_pair_the_day_and_the_setting(tmp_path):
    con, customers, invoicing = setup(ROWS)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    entries = build_entries(con, invoices, invoicing)
    conversion = Conversion("EUR", date(2026, 11, 30), load_exchange_rates(PARAMETERS), "7099")
    with pytest.raises(
        ParameterError,
        match=r"exchange_rates\.csv, entry USD->EUR on 2026-11-30: the Xero journal is in the "
        r"base currency EUR \(accounting_exports\.yaml xero\.base_currency\) and converts the USD "
        r"entries at the rate of the period's last day, but no rate",
    ):
        xero_files(entries, "No VAT", conversion)


def test_a_xero_file_holds_at_most_300_lines_and_never_splits_a_journal(written):
    invoices, invoicing, _ = written
    c003 = next(i for i in invoices if i.customer_id == "C003")
    many = [replace(c003, number=f"NW2026-{n:06d}") for n in range(1, 121)]  # 4 lines each
    from billing_lib.ledger import sales_entry

    files = xero_files([sales_entry(i, invoicing) for i in many], "No VAT")
    assert sorted(files) == ["EUR", "EUR_2"]
    assert [len(rows) for rows in files.values()] == [300, 180]
    first = {r[0] for r in files["EUR"]}
    assert not first & {r[0] for r in files["EUR_2"]}


def test_a_journal_of_more_than_300_lines_is_split_into_balanced_parts_xero_imports(
    written, tmp_path
):
    """A vendor bill of 350 invoices (an AWS reseller with a payer account per customer: a
    payable line each) was written as one journal of 351 lines in one file, which Xero refuses
    (at most 300 lines a file). Now it is journals "(part 1 of 2)" and "(part 2 of 2)" in
    files of their own, each balanced by a line carried from one to the next on the rounding
    account (netting to 0 there), every line of the entry in one of them once."""
    _, invoicing, _ = written
    bills = [Posting("1610", D("-1.00"), "EUR", f"AWS invoice EU-{n} 2026-10") for n in range(350)]
    cost = Posting("7010", D("350.00"), "EUR", "Cost of sales AWS 2026-10")
    rounding = Posting("7099", D("0.00"), "EUR", "AWS rounding differences 2026-10")
    big = Entry(
        date(2026, 10, 31), "PURCH", "COST-2026-10-aws-EUR", "Amazon Web Services",
        "Amazon Web Services vendor report 2026-10 (EUR)", (cost, rounding, *bills),
    )  # fmt: skip
    small = replace(big, entry_id="COST-2026-10-vmware-EUR", narration="VMware", postings=(
        Posting("7040", D("5.00"), "EUR", "Cost"), Posting("1630", D("-5.00"), "EUR", "Bill"),
    ))  # fmt: skip
    paths = write_package_journals(
        [big, small], invoicing, ExportSettings(), tmp_path / "big", PERIOD
    )
    xero = [p for p in paths if p.name.startswith("xero")]
    assert [p.name for p in xero] == [
        "xero_manual_journal_2026-10_EUR.csv",
        "xero_manual_journal_2026-10_EUR_2.csv",
    ]
    journals: dict[str, list[dict[str, str]]] = defaultdict(list)
    for path in xero:
        header, rows = _read(path)
        assert header == list(XERO_COLUMNS) and len(rows) <= XERO_MAX_LINES
        for r in rows:
            journals[r["*Narration"]].append(r)
    base = "COST-2026-10-aws-EUR Amazon Web Services vendor report 2026-10 (EUR)"
    assert sorted(journals) == [
        f"{base} (part 1 of 2)",
        f"{base} (part 2 of 2)",
        "COST-2026-10-vmware-EUR VMware – Amazon Web Services",
    ]
    for rows in journals.values():
        assert sum(D(r["*Amount"]) for r in rows) == 0
    parts = [journals[f"{base} (part {n} of 2)"] for n in (1, 2)]
    carried = [r for rows in parts for r in rows if r["*AccountCode"] == "7099"]
    assert [(r["*Amount"], r["Description"]) for r in carried] == [
        ("-53.00", "COST-2026-10-aws-EUR carried to part 2 of 2"),
        ("53.00", "COST-2026-10-aws-EUR carried from part 1 of 2"),
    ]
    own = [(r["*AccountCode"], r["*Amount"], r["Description"]) for rows in parts for r in rows]
    assert [x for x in own if x[0] != "7099"] == [
        (p.account, money_text(p.amount), p.description) for p in big.postings if p.amount
    ]


def test_the_reversal_of_a_journal_split_into_parts_is_split_the_same_way_and_balances(
    written, tmp_path
):
    """An entry of more than 300 lines is written as journals "(part 1 of 2)", "(part 2 of 2)"
    in two files. Its reversal looked its rows up by the entry's narration alone, found none
    of the parts and wrote no Xero file: the reversal was missing in silence (and rows from the
    two files of one currency went to one target, the second overwriting the first). It is the
    parts reversed: each a journal that balances, at most 300 lines a file, the carried lines
    named after the reversal and netting to 0, every line of the entry negated once."""
    from billing_lib.accounting_exports import write_reversed_packages
    from billing_lib.journal_entries import reversing_entry

    _, invoicing, _ = written
    bills = [Posting("1610", D("-1.00"), "EUR", f"AWS invoice EU-{n} 2026-10") for n in range(350)]
    cost = Posting("7010", D("350.00"), "EUR", "Cost of sales AWS 2026-10")
    big = Entry(
        date(2026, 10, 31), "PURCH", "COST-2026-10-aws-EUR", "Amazon Web Services",
        "Amazon Web Services vendor report 2026-10 (EUR)", (cost, *bills),
    )  # fmt: skip
    small = replace(big, entry_id="COST-2026-10-vmware-EUR", narration="VMware", postings=(
        Posting("7040", D("5.00"), "EUR", "Cost"), Posting("1630", D("-5.00"), "EUR", "Bill"),
    ))  # fmt: skip
    paths = write_package_journals(
        [big, small], invoicing, ExportSettings(), tmp_path / "run", PERIOD
    )
    xero = [p for p in paths if p.name.startswith("xero")]
    assert len(xero) == 2  # the parts in two files
    reversal = reversing_entry(
        big, "COST-NWC2026-000001-aws-EUR", date(2026, 12, 3), "Amazon Web Services",
        "reverses COST-2026-10-aws-EUR", cost.description,
    )  # fmt: skip
    out = tmp_path / "note"
    out.mkdir()
    reversed_files = write_reversed_packages(xero, big, reversal, out)
    assert [p.name for p in reversed_files] == [
        "xero_manual_journal_COST-NWC2026-000001-aws-EUR_EUR.csv",
        "xero_manual_journal_COST-NWC2026-000001-aws-EUR_EUR_2.csv",
    ]
    journals: dict[str, list[dict[str, str]]] = defaultdict(list)
    for path in reversed_files:
        header, rows = _read(path)
        assert header == list(XERO_COLUMNS) and len(rows) <= XERO_MAX_LINES
        for r in rows:
            journals[r["*Narration"]].append(r)
    base = "COST-NWC2026-000001-aws-EUR reverses COST-2026-10-aws-EUR – Amazon Web Services"
    assert sorted(journals) == [f"{base} (part 1 of 2)", f"{base} (part 2 of 2)"]
    for rows in journals.values():
        assert sum(D(r["*Amount"]) for r in rows) == 0
        assert {r["*Date"] for r in rows} == {"03/12/2026"}
    parts = [journals[f"{base} (part {n} of 2)"] for n in (1, 2)]
    carried = [r for rows in parts for r in rows if r["*AccountCode"] == "7099"]
    assert [(r["*Amount"], r["Description"]) for r in carried] == [
        ("53.00", "COST-NWC2026-000001-aws-EUR carried to part 2 of 2"),
        ("-53.00", "COST-NWC2026-000001-aws-EUR carried from part 1 of 2"),
    ]
    own = [(r["*AccountCode"], r["*Amount"], r["Description"]) for rows in parts for r in rows]
    assert [x for x in own if x[0] != "7099"] == [
        (p.account, money_text(-p.amount), p.description) for p in big.postings
    ]


def test_settings_are_checked_and_default_without_the_file(tmp_path):
    assert load_export_settings(tmp_path) == ExportSettings()
    (tmp_path / "accounting_exports.yaml").write_text(
        "quickbooks_online: {date_format: '%Y-%m-%d'}\n", encoding="utf-8"
    )
    with pytest.raises(ParameterError, match=r"accounting_exports\.yaml.*date_format"):
        load_export_settings(tmp_path)


def test_a_credit_note_reverses_an_invoice_from_the_second_xero_file_of_its_currency(tmp_path):
    """A month past Xero's 300 lines a file: the invoice's rows in ``..._EUR_2.csv``; the credit
    note's one entry is one file, named after the currency alone."""
    from datetime import date
    from decimal import Decimal

    from billing_lib.accounting_exports import XERO_COLUMNS, write_reversed_packages
    from billing_lib.journal_entries import Entry, Posting

    def entry(number: str, day: date, sign: int, narration: str) -> Entry:
        postings = (
            Posting("1300", Decimal("121.00") * sign, "EUR", f"{narration} Acme"),
            Posting("8010", Decimal("-100.00") * sign, "EUR", "Amazon Web Services 2026-10"),
            Posting("1500", Decimal("-21.00") * sign, "EUR", "VAT 21 % on 100.00"),
        )
        return Entry(day, "SALES", number, "Acme", f"{narration} period 2026-10", postings)

    invoice = entry("NW2026-000301", date(2026, 11, 1), 1, "Invoice NW2026-000301")
    note = entry("NWC2026-000001", date(2026, 12, 3), -1, "Credit note NWC2026-000001")
    run_file = tmp_path / "xero_manual_journal_2026-10_EUR_2.csv"
    narration = "Invoice NW2026-000301 period 2026-10 – Acme"
    run_file.write_text(
        ",".join(XERO_COLUMNS)
        + "\n"
        + "".join(
            f"{narration},01/11/2026,{p.description},{p.account},No VAT,{p.amount},,,,\n"
            for p in invoice.postings
        ),
        encoding="utf-8",
    )
    out = tmp_path / "note"
    out.mkdir()
    [written] = write_reversed_packages([run_file], invoice, note, out)
    assert written.name == "xero_manual_journal_NWC2026-000001_EUR.csv"
    rows = written.read_text(encoding="utf-8").splitlines()[1:]
    assert [r.split(",")[3:6] for r in rows] == [
        ["1300", "No VAT", "-121.00"],
        ["8010", "No VAT", "100.00"],
        ["1500", "No VAT", "21.00"],
    ]
    assert rows[0].startswith(
        "Credit note NWC2026-000001 period 2026-10 – Acme,03/12/2026,"
        "Credit note NWC2026-000001 Acme"
    )


def test_a_credit_note_reverses_an_entry_whose_id_is_longer_than_a_quickbooks_number(written):
    """An entry id past 21 characters is numbered ``journal_number(id)`` in the run's QuickBooks
    file; the credit note looked its rows up by the id itself, found none and wrote no
    QuickBooks reversal, leaving the invoice receivable in QuickBooks."""
    from billing_lib.accounting_exports import write_reversed_packages
    from billing_lib.journal_entries import reversing_entry

    invoices, invoicing, files = written
    long_id = "NWSERIESLONG2026-000000001"
    invoice = replace(sales_entry(invoices[0], invoicing), entry_id=long_id)
    folder = files["quickbooks_journal_2026-10.csv"].parent / "long"
    [run_file] = [
        p
        for p in write_package_journals([invoice], invoicing, ExportSettings(), folder, PERIOD)
        if p.name.startswith("quickbooks")
    ]
    note_id = "NWCSERIESLONG2026-000000001"
    note = reversing_entry(invoice, note_id, date(2026, 12, 3), "Acme", "Credit note", "Credit")
    out = folder / "note"
    out.mkdir()
    [written_file] = write_reversed_packages([run_file], invoice, note, out, "%d/%m/%Y")
    _, rows = _read(written_file)
    assert len(rows) == len(invoice.postings)
    assert {r["Journal No."] for r in rows} == {journal_number(note_id)}
    assert len(journal_number(note_id)) == 21


def _finalised_one_line_month(
    tmp_path: Path, accounting_exports: str | None = None
) -> tuple[Path, Path, Path]:
    """October billed and finalised from a one-line AWS report with the project's parameters
    (``accounting_exports.yaml`` replaced by ``accounting_exports`` when given): the parameters,
    reports and outputs folders."""
    import shutil

    from tests import numbering_runner
    from tests.notebook_project import REPO

    params = Path(
        shutil.copytree(
            REPO / "parameters", tmp_path / "parameters", ignore=shutil.ignore_patterns("local")
        )
    )
    if accounting_exports is not None:
        (params / "accounting_exports.yaml").write_text(accounting_exports, encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cur.csv").write_text(
        "identity/LineItemId,bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,"
        "lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
        "lineItem/UnblendedCost,lineItem/CurrencyCode\n"
        "1,999999999999,402719385610,Usage,2026-10-02T00:00:00Z,2026-10-02T01:00:00Z,"
        "AmazonEC2,10.25,USD\n"
    )
    out = tmp_path / "outputs"
    assert (
        numbering_runner.main(["2026-10", str(reports), str(params), str(out), "--finalise"]) == 0
    )
    return params, reports, out


def test_a_credit_note_of_a_reissued_invoice_dates_quickbooks_as_the_company_file_does(tmp_path):
    """A US company file (``%m/%d/%Y``): the invoice reissued on 12 December (12/12/2026, the
    same in either format) and that invoice credited on 5 January. The credit note's QuickBooks
    file was dated 05/01/2027 (the day-first default, as the reissue's one date could not tell the
    format), which the US company file books as 1 May; it reads 01/05/2027, the format the
    reissue's manifest recorded."""
    from billing_lib.corrections import issue_credit_note
    from billing_lib.reissue import reissue_invoice

    params, reports, out = _finalised_one_line_month(
        tmp_path, "xero: {base_currency: EUR}\nquickbooks_online: {date_format: '%m/%d/%Y'}\n"
    )
    issue_credit_note(out, "NW2026-000001", date(2026, 12, 3), "Wrong price")
    reissued = reissue_invoice(out, "NW2026-000001", params, reports, date(2026, 12, 12))
    _, rows = _read(
        out
        / "corrections"
        / reissued.invoice.number
        / f"quickbooks_journal_{reissued.invoice.number}.csv"
    )
    assert {r["Journal Date"] for r in rows} == {"12/12/2026"}
    note = issue_credit_note(out, reissued.invoice.number, date(2027, 1, 5), "Wrong again")
    _, rows = _read(
        out / "corrections" / note.note.number / f"quickbooks_journal_{note.note.number}.csv"
    )
    assert {r["Journal Date"] for r in rows} == {"01/05/2027"}


def test_a_credit_note_is_refused_when_the_runs_xero_file_is_lost(tmp_path):
    """The finalised run's Xero file moved away (or deleted): the credit note was issued without
    its Xero reversal, as for a run from before those files were written, and the invoice stayed
    receivable in Xero. It is refused now, naming the file its manifest lists, with no number
    used; with the file back it is issued with both packages' files."""
    from billing_lib.corrections import issue_credit_note
    from billing_lib.errors import RunError

    _, _, out = _finalised_one_line_month(tmp_path)
    xero = out / "2026-10" / "xero_manual_journal_2026-10_EUR.csv"
    kept = xero.rename(tmp_path / xero.name)
    with pytest.raises(RunError, match=r"xero_manual_journal_2026-10_EUR\.csv: missing"):
        issue_credit_note(out, "NW2026-000001", date(2026, 12, 3), "Wrong price")
    assert not (out / "corrections").exists() or not any((out / "corrections").iterdir())
    kept.rename(xero)
    note = issue_credit_note(out, "NW2026-000001", date(2026, 12, 3), "Wrong price")
    assert note.note.number == "NWC2026-000001"
    assert {p.name for p in note.folder.glob("*journal_*.csv")} >= {
        "xero_manual_journal_NWC2026-000001_EUR.csv",
        "quickbooks_journal_NWC2026-000001.csv",
    }


@pytest.mark.parametrize("other_name", ["Revenue Microsoft", "revenue  microsoft "])
def test_two_codes_of_one_account_name_are_refused_since_quickbooks_would_merge_them(
    tmp_path, other_name
):
    """QuickBooks' Account Name column names the account by its name: 8020 and 8021 both
    "Revenue Microsoft" were one QuickBooks account, the two revenues merged in silence (the
    beancount names, ``8020-...`` and ``8021-...``, stay apart, so nothing else noticed). The
    chart is refused when loaded, naming the file, both codes and the name; another name is
    fine."""
    from billing_lib.invoicing_parameters import load_invoicing
    from tests.invoice_helpers import parameters_copy

    params = parameters_copy(tmp_path)
    products = params / "products.yaml"
    original = products.read_text(encoding="utf-8")
    line_8020 = '  "8020": {name: Revenue Microsoft, type: income}\n'
    assert line_8020 in original
    text = original.replace(
        line_8020, f'{line_8020}  "8021": {{name: "{other_name}", type: income}}\n'
    )
    products.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as refused:
        load_invoicing(params)
    message = str(refused.value)
    assert message.startswith(f"{products}, line 29, entry accounts.8021: ")  # below 8020's
    assert "'8020' and '8021'" in message
    assert "'Revenue Microsoft'" in message and "QuickBooks" in message
    products.write_text(text.replace(f'"{other_name}"', "Revenue Microsoft CSP"), encoding="utf-8")
    assert load_invoicing(params).account("8021").name == "Revenue Microsoft CSP"


def test_a_us_xero_organisation_gets_its_dates_month_first(written, tmp_path):
    """Xero's import reads a date as the organisation's regional settings write it: a US
    organisation month first. Every Xero file was written dd/mm/yyyy, so 01/11/2026 (the
    invoices' issue date, 1 November) was booked on 11 January and 31/10/2026 (the purchase
    entries) refused. ``xero.date_format`` is set as QuickBooks' is."""
    from billing_lib.accounting_exports import QuickBooksSettings, XeroSettings

    invoices, invoicing, _ = written
    settings = load_export_settings(tmp_path)
    assert settings.xero.date_format == "%d/%m/%Y"  # the day-first default Xero documents
    (tmp_path / "accounting_exports.yaml").write_text(
        "xero: {date_format: '%m/%d/%Y'}\n", encoding="utf-8"
    )
    us = load_export_settings(tmp_path)
    assert us == ExportSettings(xero=XeroSettings(date_format="%m/%d/%Y"))
    (tmp_path / "accounting_exports.yaml").write_text(
        "xero: {date_format: '%Y-%m-%d'}\n", encoding="utf-8"
    )
    with pytest.raises(ParameterError, match=r"accounting_exports\.yaml.*xero.*date_format"):
        load_export_settings(tmp_path)
    con, _, _ = setup(ROWS)
    entries = build_entries(con, invoices, invoicing)
    paths = write_package_journals(entries, invoicing, us, tmp_path / "us", PERIOD)
    dates = {r["*Date"] for p in paths if p.name.startswith("xero") for r in _read(p)[1]}
    assert dates == {"11/01/2026", "10/31/2026"}  # issue date 1 November, purchases 31 October
    _, quickbooks = _read(next(p for p in paths if p.name.startswith("quickbooks")))
    assert {r["Journal Date"] for r in quickbooks} == {"01/11/2026", "31/10/2026"}
    assert us.quickbooks_online == QuickBooksSettings()  # each package its own setting


def test_a_credit_note_dates_its_xero_reversal_as_the_run_wrote_the_xero_file(tmp_path):
    """A month billed for a US Xero organisation (month first) and credited on 3 December: the
    reversal was written 03/12/2026, 12 March to that organisation; it is 12/03/2026, the
    format the run's manifest records (the parameters may say otherwise by then)."""
    from billing_lib.corrections import issue_credit_note

    params, _, out = _finalised_one_line_month(
        tmp_path, "xero: {base_currency: EUR, date_format: '%m/%d/%Y'}\n"
    )
    (params / "accounting_exports.yaml").write_text("xero: {base_currency: EUR}\n")
    _, run_rows = _read(out / "2026-10" / "xero_manual_journal_2026-10_EUR.csv")
    assert {r["*Date"] for r in run_rows} == {"11/01/2026", "10/31/2026"}
    note = issue_credit_note(out, "NW2026-000001", date(2026, 12, 3), "Wrong price")
    _, rows = _read(note.folder / "xero_manual_journal_NWC2026-000001_EUR.csv")
    assert rows and {r["*Date"] for r in rows} == {"12/03/2026"}


def test_quickbooks_books_an_entry_in_another_currency_on_that_currency_s_accounts(
    written, tmp_path
):
    """A QuickBooks Online account has one currency (income and expense accounts the home
    currency's), and a journal entry with A/R or A/P must post them to accounts of the entry's
    currency: "The transaction needs to be in the same currency as the A/R and A/P accounts you
    use". The file booked the USD invoice of C008 on "Accounts receivable", the account of the
    EUR invoices, and the AWS bills in EUR and USD both on "Payable Amazon Web Services": one of
    the two currencies' journals could not be imported as it was. An entry in another currency
    than the company file's home currency (``quickbooks_online.home_currency``, by default the
    seller's national currency) names its A/R and A/P accounts "<name> - <currency>", as
    QuickBooks names the A/R and A/P accounts it keeps per currency; the other accounts keep
    their names."""
    invoices, invoicing, files = written
    _, rows = _read(files["quickbooks_journal_2026-10.csv"])
    usd = next(i for i in invoices if i.currency == "USD")
    receivable = {
        r["Journal No."]: r["Account Name"] for r in rows if r["Account Name"].startswith("Acc")
    }
    assert receivable[usd.number] == "Accounts receivable - USD"
    assert {receivable[i.number] for i in invoices if i.currency == "EUR"} == {
        "Accounts receivable"
    }
    payable = {
        r["Currency Code"]: r["Account Name"]
        for r in rows
        if r["Name"].startswith("Amazon Web Services")
    }
    assert payable == {
        "EUR": "Payable Amazon Web Services",
        "USD": "Payable Amazon Web Services - USD",
    }
    # every A/R and A/P account in one currency; the others (revenue, cost, VAT: the home
    # currency's, which an entry in any currency may post to) keep their names
    currencies: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        currencies[r["Account Name"]].add(r["Currency Code"])
    named = {r["Account Name"] for r in rows if r["Name"]}
    assert all(len(currencies[a]) == 1 for a in named)
    shared = {a for a, c in currencies.items() if len(c) > 1}
    accounts = {a.name for a in invoicing.products.accounts.values()}
    assert shared and shared <= accounts and not shared & named
    # a company file whose home currency is USD: the EUR entries name the currency instead
    settings = ExportSettings.model_validate({"quickbooks_online": {"home_currency": "USD"}})
    con, _, _ = setup(ROWS)
    entries = build_entries(con, invoices, invoicing)
    us = write_package_journals(entries, invoicing, settings, tmp_path / "us", PERIOD)
    _, rows = _read(us[-1])
    assert {r["Account Name"] for r in rows if r["Name"] == usd.buyer.name} == {
        "Accounts receivable"
    }
    assert "Accounts receivable - EUR" in {r["Account Name"] for r in rows}


def test_quickbooks_names_the_accounts_by_the_entries_national_currency_not_today_s(tmp_path):
    """Without ``home_currency`` the company file's home currency is the seller's national
    currency: the one the entries are stated in (the CSV journal's ``national_currency``, of
    each entry's period), not the one of the day the file is written. A Bulgarian seller
    without ``national_currency`` in vat_rules.yaml billing December 2025 in lev: its CSV
    journal states the month in BGN, but the QuickBooks file, written in 2026 (the euro in use
    that day), named the lev receivable "Accounts receivable - BGN" and the payable "Payable
    Amazon Web Services - BGN", as if the lev were a foreign currency; the same month billed
    on 31 December named them plainly. Each entry now takes its own national currency."""
    _, _, invoicing = setup([])
    bulgarian = replace(
        invoicing,
        seller=invoicing.seller.model_copy(update={"country": "BG"}),
        vat=invoicing.vat.model_copy(update={"national_currency": None}),
    )
    assert bulgarian.national_currency == "EUR"  # written in 2026 or later
    products = bulgarian.products
    day = date(2025, 12, 31)
    lev = NationalRate("BGN", D(1), day)
    sale = Entry(
        date(2026, 1, 1),
        "SALES",
        "NW2025-000001",
        "Bakkerij De Gouden Korst",
        "Invoice NW2025-000001 period 2025-12",
        (
            Posting(products.receivable_account, D("10.00"), "BGN", "Invoice", None, D("10.00")),
            Posting("8010", D("-10.00"), "BGN", "Amazon Web Services", None, D("-10.00")),
        ),
        "C003",
        "NW2025-000001",
        lev,
    )
    bill = Entry(
        day,
        "PURCH",
        "COST-2025-12-aws-BGN",
        "Amazon Web Services",
        "Amazon Web Services vendor report 2025-12 (BGN)",
        (
            Posting("7010", D("8.00"), "BGN", "Cost of sales", None, D("8.00")),
            Posting(
                products.vendors["aws"].payable_account, D("-8.00"), "BGN", "AWS", None, D("-8.00")
            ),
        ),
        national=lev,
    )
    rows = quickbooks_rows([sale, bill], bulgarian, "%d/%m/%Y", "2025-12")
    named = {r[2] for r in rows if r[6]}
    assert named == {"Accounts receivable", "Payable Amazon Web Services"}
    # an entry in another currency than its own national one still names that currency
    usd = replace(
        sale,
        entry_id="NW2025-000002",
        postings=tuple(replace(p, currency="USD") for p in sale.postings),
        national=NationalRate("BGN", D("1.7"), day),
    )
    rows = quickbooks_rows([usd], bulgarian, "%d/%m/%Y", "2025-12")
    assert {r[2] for r in rows if r[6]} == {"Accounts receivable - USD"}


def test_quickbooks_gives_an_entry_in_another_currency_the_rate_the_journal_states_it_at(
    tmp_path,
):
    """An entry in another currency than the company file's home currency took QuickBooks'
    own rate of its date (or 1, where QuickBooks has none): the USD invoice of C008 and the AWS
    bill in USD were booked in EUR at another rate than the CSV journal and the Xero file state
    them at, and the receivable in EUR did not reconcile with the invoice. The file now gives
    QuickBooks' Exchange Rate column (home-currency units per unit of the entry's currency, as
    Intuit defines it) on every line of such an entry: the rate the journal states it in the
    national currency at (``national_rate``, USD->EUR 0.9187 of 31 October); empty for an
    entry in the home currency. Read back, the file converts each entry as the journal does."""
    con, customers, invoicing = setup(ROWS)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    rates = load_exchange_rates(PARAMETERS)
    entries = build_entries(con, invoices, invoicing, rates=rates)
    paths = write_package_journals(entries, invoicing, ExportSettings(), tmp_path / "out", PERIOD)
    header, rows = _read(next(p for p in paths if p.name.startswith("quickbooks")))
    assert header == [*QUICKBOOKS_COLUMNS] and header[-1] == "Exchange Rate"
    assert header[:8] == [
        "Journal No.",
        "Journal Date",
        "Account Name",
        "Description",
        "Debits",
        "Credits",
        "Name",
        "Currency Code",
    ]
    by_entry = {journal_number(e.entry_id): e for e in entries}
    stated = {r["Journal No."]: (r["Currency Code"], r["Exchange Rate"]) for r in rows}
    usd = next(i for i in invoices if i.currency == "USD")
    assert stated[usd.number] == ("USD", "0.9187")
    assert stated["COST-2026-10-aws-USD"] == ("USD", "0.9187")
    for number, (currency, rate) in stated.items():
        entry = by_entry[number]
        assert entry.national is not None
        assert rate == ("" if currency == "EUR" else str(entry.national.rate))
    for r in rows:  # one rate per journal, on every one of its lines
        assert (r["Currency Code"], r["Exchange Rate"]) == stated[r["Journal No."]]


def test_a_company_file_in_another_home_currency_gets_exchange_rates_csv_s_rate_to_it(tmp_path):
    """A company file whose home currency is not the national one (``home_currency: USD`` for
    a Dutch seller's US books): its EUR entries take exchange_rates.csv's EUR->USD rate of the
    period's last day, the day the journal states them at; its USD entries none. Without that
    rate the file is refused, naming the pair, the day and the setting, rather than left to
    QuickBooks' own rate."""
    from billing_lib.quickbooks_journal import quickbooks_rate

    params = tmp_path / "parameters"
    params.mkdir()
    table = (PARAMETERS / "exchange_rates.csv").read_text(encoding="utf-8")
    (params / "exchange_rates.csv").write_text(
        table + "EUR,USD,1.0885,2026-10-16,2026-10-31,test rate\n", encoding="utf-8"
    )
    rates = load_exchange_rates(params)
    con, customers, invoicing = setup(ROWS)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    entries = build_entries(con, invoices, invoicing, rates=rates)
    settings = ExportSettings.model_validate({"quickbooks_online": {"home_currency": "USD"}})
    paths = write_package_journals(
        entries, invoicing, settings, tmp_path / "us", PERIOD, None, rates
    )
    _, rows = _read(paths[-1])
    assert {(r["Currency Code"], r["Exchange Rate"]) for r in rows} == {
        ("EUR", "1.0885"),
        ("USD", ""),
    }
    eur = next(e for e in entries if e.postings[0].currency == "EUR")
    with pytest.raises(ParameterError, match=r"EUR->USD on 2026-10-31.*home_currency"):
        quickbooks_rate(eur, "EUR", "USD", load_exchange_rates(PARAMETERS))


def test_a_credit_note_reverses_quickbooks_rows_with_their_rate_and_an_earlier_file_as_it_is(
    tmp_path,
):
    """The reversal of a USD invoice keeps the Exchange Rate its run gave it (the credit note
    cancels it at the invoice's rate); a run folder written before the column holds an
    eight-column file, reversed in that layout rather than refused."""
    from billing_lib.accounting_exports import write_reversed_packages
    from billing_lib.journal_entries import reversing_entry
    from billing_lib.quickbooks_journal import EARLIER_QUICKBOOKS_COLUMNS

    rate = NationalRate("EUR", D("0.9187"), date(2026, 10, 31))
    invoice = Entry(
        date(2026, 11, 1),
        "SALES",
        "NW2026-000008",
        "Harborview Analytics Inc.",
        "Invoice NW2026-000008 period 2026-10",
        (
            Posting(
                "1300", D("50.00"), "USD", "Invoice NW2026-000008 Harborview", None, D("45.94")
            ),
            Posting("8010", D("-50.00"), "USD", "Amazon Web Services 2026-10", None, D("-45.94")),
        ),
        "C008",
        "NW2026-000008",
        rate,
    )
    note = reversing_entry(
        invoice,
        "NWC2026-000001",
        date(2026, 12, 3),
        "Harborview Analytics Inc.",
        "Credit note",
        "Credit",
    )
    _, _, invoicing = setup([])
    run = tmp_path / "run"
    [run_file] = [
        p
        for p in write_package_journals([invoice], invoicing, ExportSettings(), run, PERIOD)
        if p.name.startswith("quickbooks")
    ]
    out = tmp_path / "note"
    out.mkdir()
    [reversed_file] = write_reversed_packages([run_file], invoice, note, out, "%d/%m/%Y")
    header, rows = _read(reversed_file)
    assert tuple(header) == QUICKBOOKS_COLUMNS
    assert [(r["Debits"], r["Credits"], r["Exchange Rate"]) for r in rows] == [
        ("", "50.00", "0.9187"),
        ("50.00", "", "0.9187"),
    ]
    # the same run file as written before the column: reversed in its eight columns
    earlier = tmp_path / "earlier" / run_file.name
    earlier.parent.mkdir()
    with open(run_file, newline="", encoding="utf-8") as fh:
        cut = [r[:-1] for r in csv.reader(fh)]
    with open(earlier, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(cut)
    out2 = tmp_path / "note2"
    out2.mkdir()
    [reversed_file] = write_reversed_packages([earlier], invoice, note, out2, "%d/%m/%Y")
    header, rows = _read(reversed_file)
    assert tuple(header) == EARLIER_QUICKBOOKS_COLUMNS
    assert [(r["Debits"], r["Credits"]) for r in rows] == [("", "50.00"), ("50.00", "")]


def _quickbooks_home(rows: list[dict[str, str]], home: str) -> dict[tuple[str, str], Decimal]:
    """Per (Journal No., account): the home-currency amount QuickBooks books from ``rows``,
    converting each row at its Exchange Rate and rounding it half-up to the cent, as its import
    does (debit +, credit -); a row in the home currency as it is."""
    from billing_lib.money import round_money

    booked: dict[tuple[str, str], Decimal] = defaultdict(D)
    for r in rows:
        amount = D(r["Debits"] or 0) - D(r["Credits"] or 0)
        if r["Exchange Rate"]:
            amount = round_money(amount * D(r["Exchange Rate"]), home)
        booked[r["Journal No."], r["Account Name"]] += amount
    return booked


def test_quickbooks_books_a_usd_entry_in_the_home_currency_as_the_journal_states_it(tmp_path):
    """QuickBooks converts each row of an entry in another currency at its Exchange Rate and
    rounds it by itself. A USD invoice of two product groups of USD 0.55 each at 0.9187: its
    receivable USD 1.10 is EUR 1.01, its revenue rows EUR 0.51 + 0.51 = 1.02; the CSV journal
    books the cent on the rounding account 7099, the QuickBooks file did not: QuickBooks' EUR
    journal did not balance and did not equal the journal. The file now carries the cent on
    rows of the rounding account that net to USD 0.00 and convert to it, so QuickBooks' EUR
    amounts per account are the journal's national ones, and the USD amounts stay the
    invoice's."""
    rows = [
        line("C008", "0.55", currency="USD", cost="0.40"),
        line("C008", "0.55", currency="USD", vendor="microsoft", service="M365", cost="0.40"),
    ]
    con, customers, invoicing = setup(rows)
    invoices = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    rates = load_exchange_rates(PARAMETERS)
    entries = build_entries(con, invoices, invoicing, rates=rates)
    [invoice] = invoices
    [sale] = [e for e in entries if e.entry_id == invoice.number]
    assert sale.conversion is not None  # the journal books a cent of conversion on 7099
    paths = write_package_journals(entries, invoicing, ExportSettings(), tmp_path / "out", PERIOD)
    _, qb = _read(next(p for p in paths if p.name.startswith("quickbooks")))
    booked = _quickbooks_home(qb, "EUR")
    for entry in entries:
        number = journal_number(entry.entry_id)
        stated: dict[str, Decimal] = defaultdict(D)
        for p in (*entry.postings, *([entry.conversion] if entry.conversion else [])):
            stated[invoicing.account(p.account).name] += p.national or D(0)
        home = {a.removesuffix(" - USD"): v for (n, a), v in booked.items() if n == number}
        assert home == {a: v for a, v in stated.items() if v or a in home}, number
        assert sum(home.values()) == 0
        # in USD each account as the entry books it: the rounding rows net to nothing
        usd: dict[str, Decimal] = defaultdict(D)
        for r in qb:
            if r["Journal No."] == number:
                usd[r["Account Name"].removesuffix(" - USD")] += D(r["Debits"] or 0) - D(
                    r["Credits"] or 0
                )
        own: dict[str, Decimal] = defaultdict(D)
        for p in entry.postings:
            own[invoicing.account(p.account).name] += p.amount
        assert {a: v for a, v in usd.items() if v} == {a: v for a, v in own.items() if v}
    receivable = booked[invoice.number, "Accounts receivable - USD"]
    assert receivable == D("1.01") == sale.postings[0].national


def test_quickbooks_books_the_national_vat_the_invoice_states(tmp_path):
    """A USD invoice with VAT at two rates states its VAT in EUR as the invoice does, USD 1.10
    converted once (``in_national`` makes its VAT rows add up to it, EUR 1.01): QuickBooks,
    converting each VAT row by itself, booked 1.02 in VAT payable and an entry that did not
    balance in EUR. The file carries the cent on VAT rows that net to USD 0.00, so QuickBooks'
    VAT payable is the invoice's VAT in EUR."""
    _, _, invoicing = setup([])
    entry, vat_account = _usd_invoice_with_vat(invoicing)
    assert entry.national_balance() == 0
    header = list(QUICKBOOKS_COLUMNS)
    qb = [
        dict(zip(header, r, strict=True))
        for r in quickbooks_rows([entry], invoicing, "%d/%m/%Y", PERIOD)
    ]
    booked = _quickbooks_home(qb, "EUR")
    vat_name = invoicing.account(vat_account).name
    assert booked["NW2026-000011", vat_name] == D("-1.01")
    assert sum(booked.values()) == 0
    assert sum(D(r["Debits"] or 0) - D(r["Credits"] or 0) for r in qb) == 0
    vat_usd = sum(
        D(r["Debits"] or 0) - D(r["Credits"] or 0) for r in qb if r["Account Name"] == vat_name
    )
    assert vat_usd == D("-1.10")


def _usd_invoice_with_vat(invoicing: Invoicing) -> tuple[Entry, str]:
    """The sales entry of a USD invoice with VAT at two rates (USD 0.55 at 21 % on 2.62 and
    0.55 at 9 % on 6.11), stated in EUR at 0.9187 by ``in_national``: its VAT in EUR is the
    invoice's, USD 1.10 converted once (EUR 1.01), where its two VAT rows converted each by
    itself make 0.51 + 0.51 = 1.02; the largest row carries the cent (0.50). Its VAT account."""
    products = invoicing.products
    vat_account = invoicing.vat.rules["domestic"].on(date(2026, 10, 31)).vat_account
    entry = Entry(
        date(2026, 11, 1),
        "SALES",
        "NW2026-000011",
        "Harborview Analytics Inc.",
        "Invoice NW2026-000011 period 2026-10",
        (
            Posting(products.receivable_account, D("9.83"), "USD", "Invoice"),
            Posting("8010", D("-2.62"), "USD", "Amazon Web Services", "V21"),
            Posting("8020", D("-6.11"), "USD", "Microsoft", "V9"),
            Posting(vat_account, D("-0.55"), "USD", "VAT 21% on 2.62", "V21"),
            Posting(vat_account, D("-0.55"), "USD", "VAT 9% on 6.11", "V9"),
        ),
        "C008",
        "NW2026-000011",
    )
    rate = NationalRate("EUR", D("0.9187"), date(2026, 10, 31))
    entry = in_national(entry, rate, products.rounding_account, (vat_account, D("-1.01")))
    assert [p.national for p in entry.postings][-2:] == [D("-0.50"), D("-0.51")]
    assert entry.conversion is None and entry.national_balance() == 0
    return entry, vat_account


def test_xero_in_the_base_currency_books_the_national_vat_the_invoice_states(tmp_path):
    """The Xero file in the base currency converted each row by itself, the VAT rows too: VAT
    payable EUR 1.02 for a USD invoice stating its VAT as EUR 1.01, which the CSV journal books
    (and the VAT return declares), and the cent on 7099 where the journal has none. An entry
    stated in the base currency is booked as the journal states it."""
    _, _, invoicing = setup([])
    entry, vat_account = _usd_invoice_with_vat(invoicing)
    conversion = Conversion("EUR", date(2026, 10, 31), load_exchange_rates(PARAMETERS), "7099")
    [rows] = xero_files([entry], "No VAT", conversion).values()
    booked: dict[str, Decimal] = defaultdict(D)
    for r in rows:
        booked[r[3]] += D(r[5])
    assert booked == {
        invoicing.products.receivable_account: D("9.03"),
        "8010": D("-2.41"),
        "8020": D("-5.61"),
        vat_account: D("-1.01"),
    }
    assert [r[2] for r in rows][-1] == "VAT 9% on 6.11 (USD -0.55 at 0.9187)"


@pytest.mark.parametrize(
    ("currency", "home", "rate"),
    [("USD", "EUR", "0.9187"), ("EUR", "USD", "1.0885"), ("JPY", "EUR", "0.006123"),
     ("EUR", "JPY", "163.31"), ("USD", "EUR", "0.92"), ("GBP", "EUR", "1.1725")],
)  # fmt: skip
@pytest.mark.parametrize("sign", [1, -1])
def test_quickbooks_rounding_rows_net_to_nothing_and_convert_to_one_unit(
    currency, home, rate, sign
):
    """The rows that carry a rounding cent: nothing in the entry's currency, one minor unit of
    the home currency converted row by row, and no row on a half unit, whose rounding would
    depend on how QuickBooks breaks a tie."""
    from billing_lib.money import minor_unit, round_money
    from billing_lib.quickbooks_journal import _cent_rows

    rows = _cent_rows(currency, home, D(rate), sign, "NW2026-000001")
    assert len(rows) == 3 and sum(rows) == 0
    assert all(r == r.quantize(minor_unit(currency)) for r in rows)
    assert sum(round_money(r * D(rate), home) for r in rows) == sign * minor_unit(home)
    assert all((abs(r) * D(rate) / minor_unit(home)) % 1 != D("0.5") for r in rows)


@pytest.mark.parametrize(
    ("currency", "home", "rate"),
    [("USD", "EUR", "0.5"), ("USD", "EUR", "1.5"), ("USD", "EUR", "1.25"), ("USD", "EUR", "0.75"),
     ("JPY", "EUR", "0.005"), ("KWD", "EUR", "2.5"), ("EUR", "JPY", "50")],
)  # fmt: skip
@pytest.mark.parametrize("sign", [1, -1])
def test_at_a_rate_of_half_units_the_rounding_rows_book_one_unit_half_up_or_half_even(
    currency, home, rate, sign
):
    """At a rate that converts every amount to whole or half minor units (no rows avoid a half
    unit), the rows that carry a rounding unit: nothing in the entry's currency, and one minor
    unit of ``home`` whether QuickBooks rounds each debit or credit half-up or half-even."""
    from billing_lib.money import minor_unit
    from billing_lib.quickbooks_journal import _cent_rows

    rows = _cent_rows(currency, home, D(rate), sign, "NW2026-000001")
    assert len(rows) == 3 and sum(rows) == 0
    assert all(r == r.quantize(minor_unit(currency)) for r in rows)
    for half_even in (False, True):
        booked = sum((_tie_rounded(r * D(rate), home, half_even) for r in rows), D(0))
        assert booked == sign * minor_unit(home), half_even


def test_a_rate_that_converts_every_amount_exactly_carries_no_rounding_cent():
    """At 2 every amount of USD converts to whole cents of EUR: no rows carry a cent (nor does
    an entry at 2 ever need one, ``test_quickbooks_books_an_entry_at_a_rate_of_few_digits``),
    and asking for them is refused naming the entry rather than writing an unbalanced file."""
    from billing_lib.quickbooks_journal import _cent_rows

    with pytest.raises(RunError, match=r"entry NW2026-000001 in EUR .* at 2 "):
        _cent_rows("USD", "EUR", D(2), 1, "NW2026-000001")


def _tie_rounded(amount: Decimal, home: str, half_even: bool) -> Decimal:
    """``amount`` rounded to ``home``'s minor unit as an importer rounds a debit or a credit
    (a positive amount, its side kept): half-up, or half-even."""
    from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP

    from billing_lib.money import minor_unit

    rule = ROUND_HALF_EVEN if half_even else ROUND_HALF_UP
    magnitude = abs(amount).quantize(minor_unit(home), rounding=rule)
    return magnitude if amount >= 0 else -magnitude


@pytest.mark.parametrize("written", ["2", "2.0", "0.5", ".5", "1.5", "1.25", "1.08567"])
@pytest.mark.parametrize("sign", [1, -1])
def test_quickbooks_books_an_entry_at_a_rate_of_few_digits(tmp_path, written, sign):
    """exchange_rates.csv's USD->EUR rate as an accountant types it. At 0.5 (1.5, 1.25) every
    USD amount converts to whole or half cents only, so the rows carrying the journal's
    rounding cent could not avoid a half cent, and the QuickBooks file was refused ("no amount
    of USD converts at 0.5 to a rounding of one EUR minor unit"): the run wrote no export. The
    rate is read exactly, stated as it is in Exchange Rate, and QuickBooks' EUR amounts per
    account are the journal's, whether it rounds a half cent half-up or half-even."""
    from billing_lib.journal_entries import national_rate

    (tmp_path / "exchange_rates.csv").write_text(
        "from_currency,to_currency,rate,valid_from,valid_to,source\n"
        f"USD,EUR,{written},2026-10-01,2026-10-31,typed by the accountant\n"
    )
    rate = load_exchange_rates(tmp_path).rate("USD", "EUR", date(2026, 10, 31))
    assert rate == D(written)
    _, _, invoicing = setup([])
    products = invoicing.products
    revenue = [("8010", "0.55"), ("8020", "0.55"), ("8010", "0.02"), ("8020", "0.02")]
    entry = Entry(
        date(2026, 11, 1),
        "SALES",
        "NW2026-000011",
        "Harborview Analytics Inc.",
        "Invoice NW2026-000011 period 2026-10",
        (
            Posting(products.receivable_account, sign * D("1.14"), "USD", "Invoice"),
            *(Posting(a, -sign * D(v), "USD", "Revenue") for a, v in revenue),
        ),
        "C008",
        "NW2026-000011",
    )
    stated = national_rate("USD", "EUR", date(2026, 10, 31), load_exchange_rates(tmp_path))
    entry = in_national(entry, stated, products.rounding_account)
    # the case that was refused: the journal books a cent of conversion at 0.5, 1.5 and 1.25
    assert (entry.conversion is not None) is (written not in ("2", "2.0", "1.08567"))
    header = list(QUICKBOOKS_COLUMNS)
    qb = [
        dict(zip(header, r, strict=True))
        for r in quickbooks_rows([entry], invoicing, "%d/%m/%Y", PERIOD)
    ]
    assert {r["Exchange Rate"] for r in qb} == {f"{D(written):f}"}
    assert D(qb[0]["Exchange Rate"]) == D(written)
    journal: dict[str, Decimal] = defaultdict(D)
    own: dict[str, Decimal] = defaultdict(D)
    for p in (*entry.postings, *([entry.conversion] if entry.conversion else [])):
        journal[invoicing.account(p.account).name] += p.national or D(0)
        own[invoicing.account(p.account).name] += p.amount
    booked: dict[str, Decimal] = defaultdict(D)
    usd: dict[str, Decimal] = defaultdict(D)
    for r in qb:
        amount = D(r["Debits"] or 0) - D(r["Credits"] or 0)
        name = r["Account Name"].removesuffix(" - USD")
        booked[name] += _tie_rounded(amount * rate, "EUR", half_even=False)
        usd[name] += amount
    assert {a: v for a, v in booked.items() if v} == {a: v for a, v in journal.items() if v}
    assert {a: v for a, v in usd.items() if v} == {a: v for a, v in own.items() if v}
    # the rows that carry the cent book it whether QuickBooks rounds a half cent half-up or
    # half-even (the entry's own rows are the journal's, each rounded half-up: docs/rounding.md)
    carried = [
        D(r["Debits"] or 0) - D(r["Credits"] or 0)
        for r in qb
        if r["Description"].startswith("Rounding differences converting to EUR at")
    ]
    assert bool(carried) is (entry.conversion is not None)
    for half_even in (False, True):
        cents = sum((_tie_rounded(a * rate, "EUR", half_even) for a in carried), D(0))
        assert cents == (entry.conversion.national if entry.conversion else 0)


def _two_halves_of_usd(products) -> Entry:
    """An invoice of USD 1.10 whose two revenue rows of 0.55 each convert to a tie at 1.5."""
    return Entry(
        date(2026, 11, 1),
        "SALES",
        "NW2026-000011",
        "Harborview Analytics Inc.",
        "Invoice NW2026-000011 period 2026-10",
        (
            Posting(products.receivable_account, D("1.10"), "USD", "Invoice"),
            Posting("8010", D("-0.55"), "USD", "Amazon Web Services"),
            Posting("8020", D("-0.55"), "USD", "Microsoft"),
        ),
        "C008",
        "NW2026-000011",
    )


def test_quickbooks_rounding_rows_say_what_they_are_and_round_a_tie_half_up(tmp_path):
    """The rows that carry the journal's rounding cent read "Rounding differences converting to
    EUR at 1.5" three times, USD 0.01 and 0.01 debit beside 0.02 credit: an accountant saw USD
    amounts booked as rounding, not that the three net to USD 0.00 and book EUR 0.01. Each now
    says so. And the tie the journal rounds: USD 0.55 at 1.5 is EUR 0.825, half-up 0.83 as
    docs/rounding.md writes (half-even would make it 0.82), the cent left on 7099."""
    _, _, invoicing = setup([])
    products = invoicing.products
    entry = _two_halves_of_usd(products)
    rate = NationalRate("EUR", D("1.5"), date(2026, 10, 31))
    entry = in_national(entry, rate, products.rounding_account)
    assert [p.national for p in entry.postings] == [D("1.65"), D("-0.83"), D("-0.83")]
    assert entry.conversion is not None and entry.conversion.national == D("0.01")
    rows = quickbooks_rows([entry], invoicing, "%d/%m/%Y", PERIOD)
    rounding = invoicing.account(products.rounding_account).name
    label = "Rounding differences converting to EUR at 1.5 (3 rows: USD 0.00, EUR 0.01 debit)"
    assert [r[2:] for r in rows[3:]] == [
        [rounding, label, "0.01", "", "", "USD", "1.5"],
        [rounding, label, "0.01", "", "", "USD", "1.5"],
        [rounding, label, "", "0.02", "", "USD", "1.5"],
    ]
    # on another account than the rounding account: which of its rows it corrects, and the side
    vat_entry, vat_account = _usd_invoice_with_vat(invoicing)
    vat_rows = quickbooks_rows([vat_entry], invoicing, "%d/%m/%Y", PERIOD)
    carried = [r for r in vat_rows if r[3].startswith("Rounding differences")]
    assert {(r[2], r[3]) for r in carried} == {
        (
            invoicing.account(vat_account).name,
            "Rounding differences converting to EUR at 0.9187, VAT 21% on 2.62 "
            "(3 rows: USD 0.00, EUR 0.01 debit)",
        )
    }


def test_a_credit_note_s_quickbooks_rounding_rows_name_the_side_they_book(tmp_path):
    """The credit note's QuickBooks file reverses the invoice's rows, its rounding rows too: the
    debit becomes a credit, and the rows' own words say so."""
    from billing_lib.accounting_exports import write_reversed_packages
    from billing_lib.journal_entries import reversing_entry

    _, _, invoicing = setup([])
    products = invoicing.products
    invoice = in_national(
        _two_halves_of_usd(products),
        NationalRate("EUR", D("1.5"), date(2026, 10, 31)),
        products.rounding_account,
    )
    note = reversing_entry(
        invoice, "NWC2026-000001", date(2026, 12, 3), "Harborview Analytics Inc.", "Credit note",
        "Credit",
    )  # fmt: skip
    [run_file] = [
        p
        for p in write_package_journals([invoice], invoicing, ExportSettings(), tmp_path, PERIOD)
        if p.name.startswith("quickbooks")
    ]
    out = tmp_path / "note"
    out.mkdir()
    [reversed_file] = write_reversed_packages([run_file], invoice, note, out, "%d/%m/%Y")
    _, rows = _read(reversed_file)
    label = "Rounding differences converting to EUR at 1.5 (3 rows: USD 0.00, EUR 0.01 credit)"
    assert [(r["Description"], r["Debits"], r["Credits"]) for r in rows[3:]] == [
        (label, "", "0.01"),
        (label, "", "0.01"),
        (label, "0.02", ""),
    ]


def _in_currency(entry: Entry, entry_id: str, currency: str) -> Entry:
    """``entry`` numbered ``entry_id`` with its postings in ``currency`` (stated in EUR at 0.9)."""
    return replace(
        entry,
        entry_id=entry_id,
        postings=tuple(replace(p, currency=currency) for p in entry.postings),
        national=NationalRate("EUR", D("0.9"), date(2026, 10, 31)),
        conversion=None,
    )


def test_a_customer_invoiced_in_two_currencies_is_one_quickbooks_customer_per_currency(written):
    """A QuickBooks Online customer or vendor has one currency, fixed once it has transactions.
    customers.yaml's ``invoice_currency`` is not dated: a customer moved from EUR to USD (or a
    credit note of its EUR invoice after the move, or a reissue) has entries in both, and the
    AWS bills of one month are in EUR and USD. Both were written under one Name: the import
    refused one currency's journals or booked a USD amount on the EUR customer. A customer's or
    vendor's Name in an entry in another currency than the company file's home currency is
    "<name> - <currency>", as its A/R and A/P accounts are: the same in every run whatever the
    customer's currency this month; in the home currency the name as it is."""
    invoices, invoicing, files = written
    _, rows = _read(files["quickbooks_journal_2026-10.csv"])
    payable = {
        r["Currency Code"]: r["Name"]
        for r in rows
        if r["Account Name"].startswith("Payable Amazon")
    }
    assert payable == {"EUR": "Amazon Web Services", "USD": "Amazon Web Services - USD"}
    usd = next(i for i in invoices if i.currency == "USD")
    receivable = {r["Journal No."]: r["Name"] for r in rows if r["Account Name"].startswith("Acc")}
    assert receivable[usd.number] == f"{usd.buyer.name} - USD"
    # one customer invoiced in EUR, then in USD: two QuickBooks customers, told apart the same way
    eur = next(i for i in invoices if i.currency == "EUR")
    entry = sales_entry(eur, invoicing)
    moved = _in_currency(entry, "NW2026-000099", "USD")
    for home, names in (
        (None, {entry.entry_id: eur.buyer.name, moved.entry_id: f"{eur.buyer.name} - USD"}),
        ("USD", {entry.entry_id: f"{eur.buyer.name} - EUR", moved.entry_id: eur.buyer.name}),
    ):
        rows = quickbooks_rows([entry, moved], invoicing, "%d/%m/%Y", PERIOD, home)
        assert {r[0]: r[6] for r in rows if r[6]} == names
    # a name QuickBooks cannot hold keeps its currency visible within the 100 characters
    long = replace(moved, payee="Stichting Zorg: " + "Noord-Holland " * 8)
    (name,) = {r[6] for r in quickbooks_rows([long], invoicing, "%d/%m/%Y", PERIOD) if r[6]}
    digest = hashlib.sha256(long.payee.encode("utf-8")).hexdigest()[:6]
    assert name == ("Stichting Zorg - " + "Noord-Holland " * 8)[:86] + f" #{digest} - USD"
    assert len(name) == 100


def test_a_customer_named_like_a_vendor_is_a_quickbooks_customer_of_its_own(written):
    """QuickBooks Online keeps one display name across customers, vendors and employees ("Another
    customer, vendor or employee is already using this name"): a customer named "Amazon Web
    Services" or "MICROSOFT" was written under the Name of the vendor of products.yaml, and its
    receivable was booked on the vendor or refused. Such a customer's Name is "<name>
    (customer)" (before a currency's " - USD"), whatever the month's vendors, and the vendor
    keeps its name; a customer named as a vendor's Name in another currency is so too."""
    invoices, invoicing, _ = written
    eur = next(i for i in invoices if i.currency == "EUR")
    entry = sales_entry(eur, invoicing)
    con, _, _ = setup(ROWS)
    bills = [e for e in build_entries(con, invoices, invoicing) if e.entry_id.startswith("COST")]
    sales = {
        "NW2026-000091": replace(entry, entry_id="NW2026-000091", payee="Amazon Web Services"),
        "NW2026-000092": replace(entry, entry_id="NW2026-000092", payee="MICROSOFT"),
        "NW2026-000093": _in_currency(
            replace(entry, payee="Amazon  web services"), "NW2026-000093", "USD"
        ),
        "NW2026-000094": replace(
            entry, entry_id="NW2026-000094", payee="Amazon Web Services - USD"
        ),
        "NW2026-000095": replace(entry, entry_id="NW2026-000095", payee="Amazon Web Services EMEA"),
    }
    rows = quickbooks_rows([*sales.values(), *bills], invoicing, "%d/%m/%Y", PERIOD)
    named = {r[0]: r[6] for r in rows if r[6] and r[0] in sales}
    assert named == {
        "NW2026-000091": "Amazon Web Services (customer)",
        "NW2026-000092": "MICROSOFT (customer)",
        "NW2026-000093": "Amazon  web services (customer) - USD",
        "NW2026-000094": "Amazon Web Services - USD (customer)",
        "NW2026-000095": "Amazon Web Services EMEA",
    }
    vendors = {r[6] for r in rows if r[2].startswith("Payable")}
    assert vendors >= {"Amazon Web Services", "Amazon Web Services - USD", "Microsoft"}
    assert not vendors & set(named.values())


def test_two_contacts_quickbooks_would_merge_under_one_name_are_refused(written):
    """Two customers (or a customer and a vendor) the file would write under one Name would be
    one QuickBooks contact: a EUR customer named "ACME - USD" beside the USD customer "ACME".
    The run is refused, naming both and the Name."""
    invoices, invoicing, _ = written
    entry = sales_entry(next(i for i in invoices if i.currency == "EUR"), invoicing)
    clash = [
        replace(entry, entry_id="NW2026-000091", payee="ACME - USD"),
        _in_currency(replace(entry, payee="ACME"), "NW2026-000092", "USD"),
    ]
    with pytest.raises(RunError, match=r"'ACME - USD'.*'ACME' in USD.*both 'ACME - USD'"):
        quickbooks_rows(clash, invoicing, "%d/%m/%Y", PERIOD)
