"""The review of exceptions: what the sample month lists, comparisons with the previous finalised
month, the refusal of a month that moved by an order of magnitude unless confirmed, seats against
Partner Center, exchange rates set before the month, and the printed list."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from rating_helpers import write_parameters

from billing_lib import cli, headless, invoices, numbering, review, run, run_parameters
from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.display import listed
from billing_lib.errors import ParameterError, RunError
from billing_lib.importers import import_reports
from billing_lib.numbering_records import RegisterEntry
from billing_lib.platform_exports import PartnerCenterSubscription
from billing_lib.pricing import load_pricing
from billing_lib.publishing import FINALISED_MARKER
from billing_lib.run_files import REGISTER
from billing_lib.store import open_store
from tests.folder_digest import digest
from tests.invoice_helpers import line
from tests.invoice_helpers import setup as invoice_setup
from tests.test_microsoft_credit_signs import (
    ACCOUNTS,
    TENANT,
    reconciliation_row,
    write_reconciliation,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE_REPORTS = REPO / "samples" / "2026-10" / "reports"
SUMMARY_HEADER = (
    "customer_id,invoice_number,currency,net_amount,vat_amount,gross_amount,cost_amount,"
    "margin_amount\n"
)


def invoiced(
    output: Path,
    confirm: str = "",
    reports: Path = SAMPLE_REPORTS,
    params: Path = REPO / "parameters",
) -> run.BillingRun:
    br = run.start("2026-10", str(reports), str(params), str(output), confirm_jumps=confirm)
    br.load_parameters()
    br.import_reports()
    br.map_customers()
    br.rate()
    br.build_invoices()
    return br


def finalised(output: Path, period: str, rows: str) -> None:
    folder = output / period
    folder.mkdir(parents=True)
    (folder / FINALISED_MARKER).write_text("")
    (folder / "invoice_summary.csv").write_text(SUMMARY_HEADER + rows)


def found(br: run.BillingRun, check: str) -> list[review.Finding]:
    """The review's findings of one ``check``."""
    return [f for f in br.review_findings() if f.check == check]


def one_finding(br: run.BillingRun, check: str) -> tuple[str, str]:
    """The subject and text of the review's one finding of ``check`` (there must be one)."""
    [f] = found(br, check)
    return f.subject, f.finding


def checks(br: run.BillingRun) -> list[tuple[str, str]]:
    return [(f.check, f.subject) for f in br.review_findings()]


def reviewed_again(br: run.BillingRun) -> run.BillingRun:
    """``br`` with its review computed again, from the outputs folder as it is now. The checks
    against an earlier month (its manifest, invoices.json, invoice summary) read that month's
    files when the review runs (``review.run_findings``), not when the month is imported or
    rated: a test that changes only the earlier month's files reviews the same run again
    instead of importing, rating and invoicing the same month a second time (about 1.5 s of
    CPU each)."""
    br.results.review = None
    return br


@pytest.fixture(scope="module")
def sample_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[run.BillingRun]:
    """The sample month invoiced with the committed parameters into an empty outputs folder, once
    for the module: the tests that only read such a run (its review, computed once and kept by
    the run) share it instead of invoicing the same month each (about a second of CPU each).
    Read only: its outputs folder must be as the run left it at the end."""
    br = invoiced(tmp_path_factory.mktemp("alone") / "out")
    before = digest(br.params.output)
    yield br
    assert digest(br.params.output) == before, "a test changed the shared run's outputs folder"


def test_the_sample_month_alone_needs_no_look(sample_alone):
    # its catch-all rules (id other) matched nothing: every line had a rule written for it
    br = sample_alone
    assert checks(br) == []
    assert list(br.review().columns) == ["check", "subject", "finding", "lines"]
    # the notebook says so in words, not as an empty table
    shown = listed(br.review(), "Nothing needs a human look.")
    assert repr(shown) == shown._repr_markdown_() == "Nothing needs a human look."
    found = listed(pd.DataFrame({"check": ["net moved"]}), "Nothing needs a human look.")
    assert isinstance(found, pd.DataFrame)


@pytest.mark.parametrize("blank", ["currency", "net"])
def test_a_previous_summary_row_without_currency_or_net_is_named(tmp_path, blank):
    """A damaged previous month's summary (an emptied cell) is named with its row, before any
    number is taken (an AttributeError on the empty currency before)."""
    row = "C001,X,,100.00,0,0,0,0\n" if blank == "currency" else "C001,X,EUR,,0,0,0,0\n"
    finalised(tmp_path / "out", "2026-09", "C002,Y,EUR,5.00,0,0,0,0\n" + row)
    with pytest.raises(RunError, match=r"2026-09/invoice_summary.csv, row 3: no customer_id"):
        invoiced(tmp_path / "out")


def test_a_month_ten_times_the_previous_finalised_one_stops_before_numbers_are_taken(tmp_path):
    out = tmp_path / "out"
    finalised(out, "2026-09", "C001,NW2026-000001,EUR,100.00,21.00,121.00,80.00,20.00\n")
    with pytest.raises(RunError) as err:
        invoiced(out)
    text = str(err.value)
    assert "C001: EUR 2584.54 against 100.00 in 2026-09 (x25.8)" in text
    assert "--confirm-jump C001" in text and 'confirm_jumps = "C001"' in text
    # refused before the register is opened or a staging folder made
    # (the lock file of the outputs folder is there from the run's start; it is not the register)
    assert sorted(p.name for p in out.iterdir()) == [".billing.lock", "2026-09"]


def test_a_month_of_zero_after_a_billed_month_stops_as_a_jump():
    """C005's month rated to 0.00 (every line priced at 0 by a rule typed wrong) after 9740.82
    in the finalised September went through, while a month of 0.01 stopped: the jump check
    skipped a month of 0. Zero is more than ``jump_factor`` times smaller."""
    now = {("C005", "EUR"): D("0.00"), ("C006", "EUR"): D("0.01")}
    previous = {("C005", "EUR"): D("9740.82"), ("C006", "EUR"): D("968.10")}
    with pytest.raises(RunError) as refused:
        review.month_jumps(now, previous, "2026-09", D(10), ())
    assert "  - C005: EUR 0.00 against 9740.82 in 2026-09 (x0.0)\n" in str(refused.value)
    assert "--confirm-jump C005,C006" in str(refused.value)


def test_a_jump_quotes_the_month_in_its_currency_s_decimals():
    """The review quoted every amount in cents: a yen customer's month as JPY 65536.40 (a
    fraction of a yen, beside last month's 3000), a dinar customer's as KWD 201.96 (its fils
    dropped, beside 2.019). It quotes the invoices' nets, in their currencies' minor units."""
    now = {("C011", "JPY"): D("65536"), ("C012", "KWD"): D("201.960")}
    previous = {("C011", "JPY"): D("3000"), ("C012", "KWD"): D("2.019")}
    assert review.month_jumps(now, previous, "2026-09", D(10), ("C011", "C012")) == [
        "C011: JPY 65536 against 3000 in 2026-09 (x21.8)",
        "C012: KWD 201.960 against 2.019 in 2026-09 (x100.0)",
    ]


#: The sample month's invoice nets but C009's (1337.86, its rated lines summing to 1337.854...).
OCTOBER_BUT_C009 = (
    "C001,NW2026-000001,EUR,2584.54,0,0,0,0\n"
    "C002,NW2026-000002,EUR,5701.29,0,0,0,0\n"
    "C003,NW2026-000003,EUR,75.00,0,0,0,0\n"
    "C004,NW2026-000004,EUR,14078.36,0,0,0,0\n"
    "C005,NW2026-000005,EUR,9740.82,0,0,0,0\n"
    "C006,NW2026-000006,EUR,968.10,0,0,0,0\n"
    "C007,NW2026-000007,EUR,138.35,0,0,0,0\n"
    "C008,NW2026-000008,USD,2045.85,0,0,0,0\n"
    "C009,NW2026-000009,EUR,100.00,0,0,0,0\n"
)


def test_a_jump_quotes_the_invoice_s_net_not_the_rated_lines_rounded_once(tmp_path):
    """C009's October jump read EUR 1337.85 (its rated lines summed, then rounded) while its
    invoice, invoice_summary.csv and the review's "net moved" say 1337.86 (each invoice line
    rounded, docs/rounding.md). The jump quotes the invoice's net, refused as confirmed."""
    out = tmp_path / "out"
    finalised(out, "2026-09", OCTOBER_BUT_C009)
    with pytest.raises(RunError) as refused:
        invoiced(out)
    assert "  - C009: EUR 1337.86 against 100.00 in 2026-09 (x13.4)\n" in str(refused.value)
    assert "--confirm-jump C009" in str(refused.value)
    assert sorted(p.name for p in out.iterdir()) == [".billing.lock", "2026-09"]
    finalised(tmp_path / "confirmed", "2026-09", OCTOBER_BUT_C009)
    br = invoiced(tmp_path / "confirmed", confirm="C009")
    [invoice] = [i for i in br.results.invoices if i.customer_id == "C009"]
    assert invoice.net == D("1337.86")
    confirmed = ("C009", "EUR 1337.86 against 100.00 in 2026-09 (x13.4)")
    assert one_finding(br, "confirmed jump") == confirmed
    assert one_finding(br, "net moved")[1].startswith("net EUR 1337.86 against 100.00 in 2026-09")


def _finely_grouped_nets(amounts: list[str]) -> dict[tuple[str, str], D]:
    """The invoice nets of C001's month of rated lines of ``amounts``, each line a resource of
    its own and C001's invoice grouped by resource (one invoice line per rated line)."""
    rows = [line("C001", a, subscription=f"i-{n:05d}") for n, a in enumerate(amounts)]
    con, customers, invoicing = invoice_setup(rows)
    customers["C001"] = customers["C001"].model_copy(
        update={"line_grouping": ["vendor", "service", "subscription"]}
    )
    drafts = invoices.draft_invoices(con, customers, invoicing, "2026-10", date(2026, 11, 1))
    assert [i.number for i in drafts] == [""]  # not numbered: no number is planned for a check
    return review.invoice_nets(drafts)


def test_a_finely_grouped_month_jumps_by_its_invoice_s_net():
    """2000 lines of 0.005, each an invoice line of its own: rated 10.00, invoiced 20.00 (each
    line 0.01). Against 2.00 the invoice is x10, a jump, though the rated sum is x5."""
    nets = _finely_grouped_nets(["0.005"] * 2000)
    assert nets == {("C001", "EUR"): D("20.00")}
    with pytest.raises(RunError) as refused:
        review.month_jumps(nets, {("C001", "EUR"): D("2.00")}, "2026-09", D(10), ())
    assert "  - C001: EUR 20.00 against 2.00 in 2026-09 (x10.0)\n" in str(refused.value)


def test_a_finely_grouped_month_whose_rated_sum_jumps_and_invoice_does_not_passes():
    """10.00 and 2000 lines of 0.0049: rated 19.80 (x10 against 1.98), invoiced 10.00 (each
    small line 0.00; x5.1): what the customer receives did not jump, and the run goes on."""
    nets = _finely_grouped_nets(["10.00"] + ["0.0049"] * 2000)
    assert nets == {("C001", "EUR"): D("10.00")}
    assert review.month_jumps(nets, {("C001", "EUR"): D("1.98")}, "2026-09", D(10), ()) == []


def test_a_confirmed_jump_is_billed_and_listed_with_the_other_month_on_month_findings(tmp_path):
    out = tmp_path / "out"
    finalised(
        out,
        "2026-09",
        "C001,NW2026-000001,EUR,100.00,21.00,121.00,80.00,20.00\n"
        "C002,NW2026-000002,EUR,5000.00,0,0,0,0\n"
        "C003,NW2026-000003,EUR,60.00,0,0,0,0\n"
        "C004,NW2026-000004,EUR,14000.00,0,0,0,0\n"
        "C005,NW2026-000005,EUR,9740.82,0,0,0,0\n"
        "C006,NW2026-000006,EUR,968.10,0,0,0,0\n"
        "C007,NW2026-000007,EUR,138.35,0,0,0,0\n"
        "C008,NW2026-000008,USD,2045.85,0,0,0,0\n"
        "C011,NW2026-000009,EUR,50.00,0,0,0,0\n",
    )
    br = invoiced(out, confirm="C001")
    found = {(f.check, f.subject): f for f in br.review_findings()}
    assert list(found) == [
        ("confirmed jump", "C001"),
        ("net moved", "C001"),
        ("new customer", "C009"),
        ("no invoice", "C011"),
    ]  # C002 +14 % and C003 +25 % stay under net_change_percent 25
    assert (
        found[("net moved", "C001")].finding == "net EUR 2584.54 against 100.00 in 2026-09 (+2485%)"
    )
    assert found[("net moved", "C001")].lines == ("invoice NW2026-000001",)
    # last month's invoice named; why C011 got none the review cannot tell (no accounts.csv row)
    assert found[("no invoice", "C011")].finding == (
        "no invoice this month; EUR 50.00 in 2026-09 (NW2026-000009)"
    )
    assert found[("no invoice", "C011")].lines == ("invoice NW2026-000009",)


#: The sample month's invoice nets, September finalised with them (no jump, no net moved).
SEPTEMBER_AS_OCTOBER = OCTOBER_BUT_C009.replace("EUR,100.00", "EUR,1337.86")


def _c008_without_support(tmp_path: Path, mapping_ends: bool) -> Path:
    """A copy of the parameters whose C008 (one AWS account, USD, no minimum fee) has its support
    fee ended on 30 September, and with ``mapping_ends`` its accounts.csv row too."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    edits = [
        (
            "custom_lines.yaml",
            "currency: USD, valid_from: 2026-01-01,",
            "currency: USD, valid_from: 2026-01-01, valid_to: 2026-09-30,",
        )
    ]
    if mapping_ends:
        edits.append(
            ("accounts.csv", "aws,852963741025,C008,,,", "aws,852963741025,C008,,2026-09-30,")
        )
    for name, old, new in edits:
        text = (params / name).read_text()
        assert text.count(old) == 1
        (params / name).write_text(text.replace(old, new))
    return params


def test_no_invoice_names_last_month_s_invoice_and_an_account_mapping_that_ended(tmp_path):
    """C008 left in September: its support fee and its accounts.csv row end on 30 September.
    The review said only "no invoice this month"; it names September's invoice and the mapping
    that ended (the account's October lines are in the unmapped report)."""
    params = _c008_without_support(tmp_path, mapping_ends=True)
    finalised(tmp_path / "out", "2026-09", SEPTEMBER_AS_OCTOBER)
    br = invoiced(tmp_path / "out", params=params)
    [f] = found(br, "no invoice")
    assert (f.subject, f.lines) == ("C008", ("invoice NW2026-000008",))
    assert f.finding == (
        "no invoice this month; USD 2045.85 in 2026-09 (NW2026-000008); its accounts.csv "
        "mapping ended: aws 852963741025 on 2026-09-30"
    )


def test_no_invoice_says_when_none_of_the_customer_s_accounts_has_a_line(tmp_path):
    """C008's support fee ended, and the AWS report left out of the reports folder: C008, billed
    for its one AWS account only, gets no invoice, and the review names the account mapped to it
    that has no line this month."""
    params = _c008_without_support(tmp_path, mapping_ends=False)
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    for aws in reports.glob("aws-cur2-*"):
        aws.unlink()
    finalised(tmp_path / "out", "2026-09", SEPTEMBER_AS_OCTOBER)
    br = invoiced(tmp_path / "out", reports=reports, params=params)
    by_customer = {f.subject: f for f in found(br, "no invoice")}
    assert by_customer["C008"].finding == (
        "no invoice this month; USD 2045.85 in 2026-09 (NW2026-000008); no line of its "
        "account(s) aws 852963741025 in this month's reports: is a report missing from the "
        "reports folder?"
    )


def test_a_customer_invoiced_in_another_currency_than_last_month_is_listed_once(tmp_path):
    """C008 was invoiced in EUR in September and is in USD in October (its invoice_currency
    changed). Looked up per currency, the review read it as a new customer ("first invoice")
    and as one without an invoice, without a number or a reason. It is one finding, naming
    both invoices and the change."""
    finalised(
        tmp_path / "out",
        "2026-09",
        SEPTEMBER_AS_OCTOBER.replace("C008,NW2026-000008,USD", "C008,NW2026-000008,EUR"),
    )
    br = invoiced(tmp_path / "out")
    [f] = br.review_findings()
    totals = br.results.invoice_totals
    [number] = totals.loc[totals["customer_id"] == "C008", "invoice_number"]
    assert (f.check, f.subject) == ("currency changed", "C008")
    assert f.finding == (
        f"invoiced in USD this month (USD 2045.85 ({number})), in EUR in 2026-09 (EUR 2045.85 "
        "(NW2026-000008)): its invoice currency changed, so the nets are not compared. Check "
        "customers.yaml invoice_currency and the custom lines' currency, and tell the customer"
    )
    assert f.lines == (f"invoice {number}", "invoice NW2026-000008")


def test_no_invoice_of_a_customer_whose_invoice_currency_changed_says_so(tmp_path):
    """C008, invoiced in EUR in September, is in USD in customers.yaml now and got no invoice
    (its fee and mapping ended): the finding names September's EUR invoice and the change."""
    params = _c008_without_support(tmp_path, mapping_ends=True)
    finalised(
        tmp_path / "out",
        "2026-09",
        SEPTEMBER_AS_OCTOBER.replace("C008,NW2026-000008,USD", "C008,NW2026-000008,EUR"),
    )
    br = invoiced(tmp_path / "out", params=params)
    [f] = found(br, "no invoice")
    assert (f.subject, f.lines) == ("C008", ("invoice NW2026-000008",))
    assert f.finding == (
        "no invoice this month; EUR 2045.85 in 2026-09 (NW2026-000008); its invoice currency is "
        "now USD (customers.yaml), EUR then; its accounts.csv mapping ended: aws 852963741025 "
        "on 2026-09-30"
    )
    assert not found(br, "currency changed") and not found(br, "new customer")


def test_a_net_that_moved_from_zero_is_listed(tmp_path):
    """C001's September was invoiced 0.00 (its usage covered by a credit) and October bills it
    EUR 2584.54: the review said nothing (no % of 0, so the customer was skipped), and neither
    did the jump check (no factor of 0). It is listed, without a %; a month of 0.00 after one of
    0.00 is not."""
    out = tmp_path / "out"
    finalised(
        out,
        "2026-09",
        "C001,NW2026-000001,EUR,0.00,0.00,0.00,0.00,0.00\n"
        "C002,NW2026-000002,EUR,5000.00,0,0,0,0\n"
        "C003,NW2026-000003,EUR,75.00,0,0,0,0\n"
        "C004,NW2026-000004,EUR,14000.00,0,0,0,0\n"
        "C005,NW2026-000005,EUR,9740.82,0,0,0,0\n"
        "C006,NW2026-000006,EUR,968.10,0,0,0,0\n"
        "C007,NW2026-000007,EUR,138.35,0,0,0,0\n"
        "C008,NW2026-000008,USD,2045.85,0,0,0,0\n"
        "C009,NW2026-000009,EUR,1337.86,0,0,0,0\n",
    )
    br = invoiced(out)
    assert [(f.check, f.subject, f.finding, f.lines) for f in br.review_findings()] == [
        (
            "net moved",
            "C001",
            "net EUR 2584.54 against 0.00 in 2026-09 (from 0.00: no %)",
            ("invoice NW2026-000001",),
        )
    ]
    zero = pd.DataFrame(
        {"customer_id": ["C001"], "currency": ["EUR"], "net": [D("0.00")], "invoice_number": ["X"]}
    )
    assert review.net_changes(zero, {("C001", "EUR"): D("0.00")}, "2026-09", D(25)) == []


def test_only_finalised_months_before_the_run_are_compared(tmp_path):
    out = tmp_path / "out"
    finalised(out, "2026-08", "C001,NW2026-000001,EUR,100.00,0,0,0,0\n")
    unfinalised = out / "2026-09"
    unfinalised.mkdir()
    (unfinalised / "invoice_summary.csv").write_text(SUMMARY_HEADER + "C001,X,EUR,1.00,0,0,0,0\n")
    assert review.finalised_before(out, "2026-10") == ["2026-08"]
    assert review.finalised_before(out, "2026-08") == []


def test_a_damaged_rated_lines_file_of_an_earlier_month_is_named(tmp_path):
    finalised(tmp_path / "out", "2026-09", "")
    damaged = tmp_path / "out" / "2026-09" / "rated_lines.parquet"
    damaged.write_bytes(b"PAR1 cut short by a copy")
    br = invoiced(tmp_path / "out")
    with pytest.raises(RunError) as raised:
        br.review_findings()
    assert str(raised.value).startswith(
        f"{damaged}: the run's file cannot be read (damaged or cut short: "
    )
    assert str(raised.value).endswith("from a backup, or bill 2026-09 again if it is not finalised")


def test_review_thresholds_are_checked_naming_the_file_and_key(tmp_path):
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    (params / "review.yaml").write_text("jump_factr: 10\n")
    with pytest.raises(ParameterError, match=r"review.yaml.*jump_factr"):
        review.load_review_settings(params)
    (params / "review.yaml").unlink()
    assert review.load_review_settings(params).jump_factor == 10  # optional file: defaults


def sample_with_platform(tmp_path: Path, subscriptions: list[dict]) -> Path:
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    (reports / "platform").mkdir()
    (reports / "platform" / "partner-center-subscriptions.json").write_text(
        json.dumps({"totalCount": len(subscriptions), "items": subscriptions})
    )
    return reports


def subscription(
    tenant: str, sub: str, quantity: int, cycle: str = "monthly", status: str = "active"
) -> dict:
    return {
        "id": sub,
        "offerId": "CFQ7TTC0LCHC:0002",
        "offerName": "Microsoft 365 Business Premium",
        "friendlyName": "BP",
        "quantity": quantity,
        "unitType": "Licenses",
        "status": status,
        "billingCycle": cycle,
        "termDuration": "P1Y",
        "commitmentEndDate": "2027-03-11T00:00:00Z",
        "links": {"self": {"uri": f"customers/{tenant}/subscriptions/{sub}", "method": "GET"}},
    }


def test_licences_billed_are_compared_with_the_partner_center_seats(tmp_path):
    dijkstra = "de6799dd-16e2-4542-8982-fcd5407b50a3"
    vll = "88825278-08a8-4728-94af-fd0e00ff815f"
    reports = sample_with_platform(
        tmp_path,
        [
            # billed 12 + 3 added = 15, Partner Center shows 12: over-billed
            subscription(dijkstra, "3f5a1c2e-6b1d-4f0e-9a27-5c8e1d2b7a01", 12),
            # billed 40 - 5 removed = 35: as in Partner Center
            subscription(vll, "7c2d9e4b-1a3f-4c6d-8e5b-2f9a0c7d3e14", 35),
            # monthly, 10 seats, not billed at all; the annual one is billed once a year
            subscription(vll, "00000000-0000-4000-8000-000000000001", 10),
            subscription(vll, "00000000-0000-4000-8000-000000000002", 10, cycle="annual"),
        ],
    )
    br = invoiced(tmp_path / "out", reports=reports)
    seats = found(br, "seats")
    assert [(f.subject, f.finding) for f in seats] == [
        (
            vll,
            (
                "subscription 00000000-0000-4000-8000-000000000001 "
                "(Microsoft 365 Business Premium): "
                "10 seats in Partner Center, none billed by Microsoft in 2026-10"
            ),
        ),
        (
            "C001",
            (
                "subscription 3f5a1c2e-6b1d-4f0e-9a27-5c8e1d2b7a01 "
                "(Microsoft 365 Business Premium): "
                "15 licences billed, 12 seats in Partner Center (active): over-billed"
            ),
        ),
    ]
    assert seats[1].lines == (
        "ms-invoice-reconciliation-G052026103.csv row 2",
        "ms-invoice-reconciliation-G052026103.csv row 3",
        "partner-center-subscriptions.json items[0]",
    )


def test_an_exchange_rate_set_before_the_month_is_listed(tmp_path):
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    (params / "exchange_rates.csv").write_text(
        "from_currency,to_currency,rate,valid_from,valid_to,source\n"
        "USD,EUR,0.9215,2026-09-01,,ECB 2026-08-31\n"
    )
    br = invoiced(tmp_path / "out", params=params)
    stale = found(br, "old exchange rate")
    assert len(stale) == 1 and stale[0].subject == "USD->EUR"
    assert stale[0].finding.startswith("rate 0.9215 valid from 2026-09-01 (ECB 2026-08-31) priced ")


def test_a_late_line_of_last_month_priced_at_last_month_s_rate_is_no_old_rate(tmp_path):
    """October's AWS report holding one usage line of 30 September (late usage, billed at the
    prices of its day) was converted at September's rate, as it should be, and the review said
    "rate 0.915 valid from 2026-09-01 ... priced 1 line(s) of 2026-10", whose way out is to add
    the month's rate, which the file has. A rate of an earlier day that priced only lines of
    that day is not an old rate of the month; the lines are the rating's warning about lines
    outside the month."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    rates = params / "exchange_rates.csv"
    rates.write_text(
        rates.read_text().replace(
            "source\n", "source\nUSD,EUR,0.9150,2026-09-01,2026-09-30,ECB 2026-08-31\n"
        )
    )
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    aws = reports / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * EXCLUDE (n) REPLACE (
                CASE WHEN n = 1 THEN TIMESTAMPTZ '2026-09-30 00:00:00+00'
                     ELSE line_item_usage_start_date END AS line_item_usage_start_date,
                CASE WHEN n = 1 THEN TIMESTAMPTZ '2026-09-30 01:00:00+00'
                     ELSE line_item_usage_end_date END AS line_item_usage_end_date)
              FROM (SELECT *, row_number() OVER () AS n
                    FROM read_parquet('{SAMPLE_REPORTS / aws.name}')))
            TO '{aws}' (FORMAT parquet)"""
    )
    con.close()
    br = invoiced(tmp_path / "out", reports=reports, params=params)
    assert any("charged outside 2026-10" in w for w in br.warnings()["warning"])
    assert found(br, "old exchange rate") == []
    # without October's rates, September's open-ended rate prices the month: listed
    rates.write_text(
        "from_currency,to_currency,rate,valid_from,valid_to,source\n"
        "USD,EUR,0.9150,2026-09-01,,ECB 2026-08-31\n"
    )
    stale_month = invoiced(tmp_path / "out2", reports=reports, params=params)
    [stale] = found(stale_month, "old exchange rate")
    assert stale.finding.startswith("rate 0.915 valid from 2026-09-01 (ECB 2026-08-31) priced ")


@pytest.mark.parametrize(
    ("valid_from", "listed"), [("2026-09-01", True), ("", True), ("2026-10-01", False)]
)
def test_an_old_rate_that_only_states_the_vat_in_the_national_currency_is_listed(
    tmp_path, valid_from, listed
):
    # C009 invoiced in GBP by a EUR seller: GBP->EUR converts no vendor line (they are converted
    # to GBP), it states the invoice's VAT in EUR (Art. 230); an old one went without a finding
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    customers = params / "customers.yaml"
    customers.write_text(
        customers.read_text().replace(
            "vat_number: NL856789070B01\n    invoice_currency: EUR",
            "vat_number: NL856789070B01\n    invoice_currency: GBP",
        )
    )
    plans = params / "price_plans.yaml"
    plans.write_text(
        plans.read_text().replace(
            "  - {plan: internal, group: internal}",
            "  - {plan: enterprise-usd, customer: C009, valid_from: 2026-01-01}\n"
            "  - {plan: internal, group: internal}",
        )
    )
    with open(params / "exchange_rates.csv", "a") as fh:
        fh.write(
            "USD,GBP,0.7512,2026-10-01,2026-10-31,BoE 2026-09-30\n"
            "EUR,GBP,0.8690,2026-10-01,2026-10-31,BoE 2026-09-30\n"
            f"GBP,EUR,1.1507,{valid_from},,ECB 2026-08-31\n"
        )
    br = invoiced(tmp_path / "out", params=params)
    [c009] = [i for i in br.results.invoices if i.customer_id == "C009"]
    assert c009.currency == "GBP" and c009.national_vat.rate == D("1.1507")
    stale = found(br, "old exchange rate")
    if not listed:
        assert stale == []
        return
    assert [(f.subject, f.finding, f.lines) for f in stale] == [
        (
            "GBP->EUR",
            f"rate 1.1507 valid from {valid_from or 'no date'} (ECB 2026-08-31) states the VAT "
            "of 1 invoice(s) of 2026-10 in EUR, the seller's national currency",
            (f"invoice {c009.number}",),
        )
    ]


def test_a_report_whose_usage_ends_before_the_month_does_is_listed(tmp_path):
    # the AWS report downloaded on the 15th: its usage runs to the 14th, its monthly fees further
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    aws = reports / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{SAMPLE_REPORTS / aws.name}') "
        f"WHERE line_item_usage_start_date < TIMESTAMPTZ '2026-10-15 00:00:00+00') "
        f"TO '{aws}' (FORMAT parquet)"
    )
    con.close()
    br = invoiced(tmp_path / "out", reports=reports)
    assert one_finding(br, "report ends early") == (
        aws.name,
        "its 322 usage line(s) of 2026-10 run to 2026-10-14, the month to 2026-10-31: "
        "downloaded before the month ended, or a part of the report missing?",
    )


def test_a_line_charged_after_the_month_is_listed(tmp_path):
    # one day of a daily usage file with its year mistyped: billed in October at its prices of
    # 2027 with only the rating's general warning about lines outside the month
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    usage = reports / "ms-daily-rated-usage-G052026103.csv"
    with open(usage, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    day = rows[0].index("UsageDate")
    assert rows[6][day] == "10/1/2026"
    rows[6][day] = "10/5/2027"  # row 7 of the file as a spreadsheet shows it
    with open(usage, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    br = invoiced(tmp_path / "out", reports=reports)
    check, finding = one_finding(br, "charged after the month")
    assert check == usage.name
    assert finding.startswith(
        "1 line(s) charged from 2027-10-05 to 2027-10-05, after 2026-10, are billed on this "
        "month's invoices (EUR "
    ), finding
    assert [f.lines for f in found(br, "charged after the month")] == [(f"{usage.name} row 7",)]


def test_a_usage_line_running_past_the_month_is_listed(tmp_path):
    """A FOCUS Usage line of 31 October to 1 November (USD 20.00) is billed whole in October:
    nothing said, the rating's warning counting only lines that begin outside the month, and
    November's report may bill 1 November again. Listed with its row; a line within the month is
    not."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "focus-2026-10.csv").write_text(
        "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargePeriodStart,"
        "ChargePeriodEnd,ServiceName,BilledCost,BillingCurrency\n"
        "111122223333,402719385610,AWS,Usage,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,"
        "Amazon Elastic Compute Cloud,10.00,USD\n"
        "111122223333,402719385610,AWS,Usage,2026-10-31T00:00:00Z,2026-11-02T00:00:00Z,"
        "Amazon Elastic Compute Cloud,20.00,USD\n",
        encoding="utf-8",
    )
    br = invoiced(tmp_path / "out", reports=reports)
    [finding] = found(br, "charged after the month")
    assert (finding.subject, finding.lines) == ("focus-2026-10.csv", ("focus-2026-10.csv row 3",))
    assert finding.finding.startswith(
        "1 Usage line(s) charged from 2026-10-31 run past 2026-10, to 2026-11-01, and are "
        "billed whole on this month's invoices ("
    ), finding.finding
    assert finding.finding.endswith(
        "): next month's report may bill their days after 2026-10 again"
    ), finding.finding


def test_a_vendor_billed_last_month_and_absent_now_is_listed(tmp_path, sample_outputs):
    # September (finalised) billed AWS, Microsoft and VMware; October's VMware report is left out
    finalised(tmp_path / "out", "2026-09", "")
    shutil.copy(sample_outputs / "2026-10" / "rated_lines.parquet", tmp_path / "out" / "2026-09")
    whole = invoiced(tmp_path / "out")
    assert not found(whole, "vendor missing")
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    (reports / "vmware-usage-meter-customer-monthly-usage-2026-10.csv").unlink()
    br = invoiced(tmp_path / "out", reports=reports)
    assert one_finding(br, "vendor missing") == (
        "vmware",
        "no vmware line this month; 2026-09 had 12 for 3 customer(s): is its report missing "
        "from the reports folder?",
    )


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        # EUR->USD typed for USD->EUR: within fx_plausibility_factor, 18 % more on every line
        (
            "1.0885",
            "1.0885 (row 3, 2026-10-16 to 2026-10-31) is 18.1 % above 0.9215 (row 2, 2026-10-01 "
            "to 2026-10-15); it is about 1/0.9215: the EUR->USD rate, entered the wrong way round?",
        ),
        ("0.8500", "0.8500 (row 3, 2026-10-16 to 2026-10-31) is 7.8 % below 0.9215 (row 2, "
         "2026-10-01 to 2026-10-15)"),
    ],
)  # fmt: skip
def test_an_exchange_rate_that_moved_more_than_fx_change_percent_is_listed(
    tmp_path, rate, expected
):
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    rates = params / "exchange_rates.csv"
    text = rates.read_text()
    assert "USD,EUR,0.9187," in text  # the sample's move: -0.3 %, not listed
    rates.write_text(text.replace("USD,EUR,0.9187,", f"USD,EUR,{rate},"))
    br = invoiced(tmp_path / "out", params=params)
    assert one_finding(br, "exchange rate moved") == ("USD->EUR", expected)
    (params / "review.yaml").write_text("fx_change_percent: 20\n")
    assert not found(invoiced(tmp_path / "out2", params=params), "exchange rate moved")


def _september_finalised(tmp_path: Path, sample_outputs: Path) -> tuple[Path, Path]:
    """An outputs folder whose September was billed and finalised (October's run folder stands
    in for it, its lines charged a month earlier: October's lines as they were would be billed
    twice), and a copy of the parameters to edit."""
    out = tmp_path / "out"
    finalised(out, "2026-09", "")
    duckdb.sql(
        f"""COPY (SELECT * REPLACE (CAST(charge_date - INTERVAL 1 MONTH AS DATE) AS charge_date)
                  FROM '{sample_outputs / "2026-10" / "rated_lines.parquet"}')
            TO '{out / "2026-09" / "rated_lines.parquet"}' (FORMAT parquet)"""
    )
    # a run that recorded its commitments (billed_commitments): none it bought up front
    (out / "2026-09" / "manifest.json").write_text('{"commitments": []}')
    numbering.open_register(out / REGISTER).finalise("2026-09")
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    return out, params


def test_a_custom_line_of_a_month_billed_before_it_was_entered_is_listed(
    tmp_path, sample_outputs, sample_alone
):
    # September was billed and finalised (October's run folder stands in for it); afterwards
    # the analyst enters a one-off dated in September and a fee from 1 September
    out, params = _september_finalised(tmp_path, sample_outputs)
    custom = params / "custom_lines.yaml"
    custom.write_text(
        custom.read_text()
        + "  - {id: c003-migration, customer: C003, kind: one_off, description: Migration,\n"
        '     unit_price: "250.00", currency: EUR, date: 2026-09-20}\n'
        "  - {id: c009-backup, customer: C009, kind: fee, description: Backup service,\n"
        '     unit_price: "60.00", currency: EUR, valid_from: 2026-09-01}\n'
    )
    br = invoiced(out, params=params)
    assert [(f.subject, f.finding) for f in found(br, "custom line not billed")] == [
        (
            "c003-migration (C003)",
            "one_off of EUR 250.00 in 2026-09, whose run (finalised) does not hold it: entered "
            "after that month was billed, it is billed in no month. Bill it in 2026-10: a "
            "one-off or credit dated in 2026-10",
        ),
        (
            "c009-backup (C009)",
            "fee of EUR 60.00 in 2026-09, whose run (finalised) does not hold it: entered after "
            "that month was billed, it is billed in no month. Bill it in 2026-10: a one-off or "
            "credit dated in 2026-10, with the fee's missed days as a one-off",
        ),
    ]
    # the custom lines September's run billed (a fee since 2025, one since January) are not listed
    # (the sample month alone: invoiced with the committed parameters into an empty folder)
    assert not found(sample_alone, "custom line not billed")


def test_two_identical_one_offs_of_a_customer_are_listed(tmp_path):
    """Two one-offs with different ids but the same customer, description, date, quantity and
    unit price are both billed, merged into one invoice line ("4 hour x 95.00"), without a word.
    They may be two real charges, so the run bills them; the review names both entries."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    custom = params / "custom_lines.yaml"
    entry = (
        "  - {{id: {id}, customer: C006, kind: one_off, description: {text},\n"
        '     quantity: 2, unit: hour, unit_price: "95.00", currency: EUR, date: 2026-10-20}}\n'
    )
    custom.write_text(
        custom.read_text()
        + entry.format(id="c006-extra-hours", text="Extra hours")
        + entry.format(id="c006-extra-hours-2", text="extra  Hours")
        + entry.format(id="c006-extra-day", text="Extra hours").replace("10-20", "10-21")
    )
    br = invoiced(tmp_path / "out", params=params)
    assert [(f.check, f.subject, f.finding) for f in br.review_findings()] == [
        (
            "one-off entered twice",
            "c006-extra-hours, c006-extra-hours-2 (C006)",
            "custom_lines[id=c006-extra-hours] and custom_lines[id=c006-extra-hours-2]: 2 "
            "one-offs of C006 'Extra hours' on 2026-10-20, each 2 hour x 95.00 = EUR 190.00, "
            "are all billed (in one invoice line): the same charge entered twice? Remove one; "
            "if they are separate charges, make their descriptions tell them apart",
        )
    ]


def test_a_one_off_billed_in_an_earlier_month_and_again_now_is_listed(tmp_path, sample_outputs):
    """September's run billed C006's onboarding (dated 2026-09-08) and C004's SLA credit (dated
    2026-09-30). Now the onboarding is entered again under a new id, dated in October, and the
    credit's date was moved into October: both are billed a second time, and listed."""
    out, params = _september_finalised(tmp_path, sample_outputs)
    custom = params / "custom_lines.yaml"
    text = custom.read_text()
    assert text.count("id: c006-onboarding,") == 1
    custom.write_text(text.replace("id: c006-onboarding,", "id: c006-onboarding-oct,"))
    br = invoiced(out, params=params)
    assert [(f.subject, f.finding) for f in found(br, "one-off billed before")] == [
        (
            "c006-onboarding-oct (C006)",
            "custom_lines[id=c006-onboarding-oct], 'Onboarding IoT workload' on 2026-10-08, 5 "
            "hour x 95.00 = EUR 475.00, is billed in 2026-10; the run of 2026-09 (finalised) "
            "billed an identical one-off, c006-onboarding: the same charge copied into this "
            "month? It was dated 2026-09-08 there. If so, remove it from custom_lines.yaml; if "
            "it is a second charge, make the descriptions tell them apart (a charge every "
            "month is a fee)",
        ),
        (
            "c004-sla-credit (C004)",
            "custom_lines[id=c004-sla-credit], 'Service credit (SLA, incident 14 October)' on "
            "2026-10-31, 1 each x 200.00 = EUR 200.00, is billed in 2026-10; the run of 2026-09 "
            "(finalised) billed the same entry, its date moved into this month? It was dated "
            "2026-09-30 there. If so, remove it from custom_lines.yaml; if it is a second "
            "charge, make the descriptions tell them apart (a charge every month is a fee)",
        ),
    ]
    assert not found(br, "one-off entered twice")


def test_a_month_without_a_run_or_not_finalised_since_the_first_one_billed_is_listed(tmp_path):
    """July and August billed, September forgotten: October's review says so (its month-on-month
    checks compared October with August without a word, and September's fees were on no
    invoice)."""
    out = tmp_path / "out"
    for month in ("2026-07", "2026-08"):
        (out / month).mkdir(parents=True)
        # runs that recorded their commitments (billed_commitments): none
        (out / month / "manifest.json").write_text('{"commitments": []}')
    br = invoiced(out)
    assert [(f.subject, f.finding) for f in found(br, "month not billed")] == [
        (
            "2026-09",
            "no run of 2026-09 in the outputs folder, which holds runs from 2026-07: its usage, "
            "fees and one-offs are on no invoice; bill it (billing run --period 2026-09)",
        )
    ]
    # July and August published, neither finalised: a rerun can still replace their invoices
    assert [(f.subject, f.finding) for f in found(br, "month not finalised")] == [
        (
            month,
            f"the run of {month} is published, not finalised: a rerun can still replace its "
            f"invoices. Once it is reviewed and sent: billing finalise --period {month}",
        )
        for month in ("2026-07", "2026-08")
    ]
    (out / "2026-07" / FINALISED_MARKER).write_text("")
    [august] = review.months_not_finalised(out, "2026-10")
    assert (
        august.subject == "2026-08" and "; this month is compared with 2026-07." in august.finding
    )
    assert review.months_not_billed(out, "2026-09") == []  # September's own run: none before
    (out / "2026-09").mkdir()
    (out / "2026-09" / "manifest.json").write_text("{}")
    assert review.months_not_billed(out, "2026-10") == []
    # across a year's end; a run of a later month (billed ahead) changes nothing
    (out / "2027-03").mkdir()
    (out / "2027-03" / "manifest.json").write_text("{}")
    assert [f.subject for f in review.months_not_billed(out, "2027-01")] == [
        "2026-10",
        "2026-11",
        "2026-12",
    ]


def test_a_report_of_last_month_missing_now_is_listed(tmp_path, sample_outputs):
    # September (finalised) had the four reports; October's Azure daily usage file is left out
    # beside the licence reconciliation: Microsoft is still billed, so no vendor is missing
    out = tmp_path / "out"
    finalised(out, "2026-09", "")
    manifest = json.loads((sample_outputs / "2026-10" / "manifest.json").read_text())
    assert manifest["billing_accounts"] == [
        {"vendor": "aws", "format": "aws_cur2", "account": "111122223333", "lines": 718},
        {
            "vendor": "microsoft",
            "format": "ms_daily_rated_usage",
            "account": "06e7e8c4-907e-4ab2-8fce-417259f6115a",
            "lines": 248,
        },
        {
            "vendor": "microsoft",
            "format": "ms_invoice_reconciliation",
            "account": "06e7e8c4-907e-4ab2-8fce-417259f6115a",
            "lines": 19,
        },
        {
            "vendor": "vmware",
            "format": "vmware_usage_meter",
            "account": "um-utr-01.northwind-cloud.example",
            "lines": 14,
        },
    ]
    manifest["invoices"] = []  # September's own invoices play no part here
    manifest["inputs"] = []  # nor its files: the same files again would be billed twice
    manifest["input_contents"] = []  # nor their contents, for the same reason
    manifest["vendor_invoices"] = []  # nor October's vendor invoices, for the same reason
    (out / "2026-09" / "manifest.json").write_text(json.dumps(manifest))
    numbering.open_register(out / REGISTER).finalise("2026-09")
    assert not found(invoiced(out), "report missing")
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    (reports / "ms-daily-rated-usage-G052026103.csv").unlink()
    (reports / "vmware-usage-meter-customer-monthly-usage-2026-10.csv").unlink()
    br = invoiced(out, reports=reports)
    assert one_finding(br, "report missing") == (
        "ms_daily_rated_usage 06e7e8c4-907e-4ab2-8fce-417259f6115a",
        "2026-09 had 248 line(s) from the ms_daily_rated_usage report of microsoft billing "
        "account 06e7e8c4-907e-4ab2-8fce-417259f6115a; none this month: is its report missing "
        "from the reports folder?",
    )
    assert [f.subject for f in found(br, "vendor missing")] == []  # no earlier rated lines here
    # a month published before manifests recorded billing accounts: compared by format
    del manifest["billing_accounts"]
    (out / "2026-09" / "manifest.json").write_text(json.dumps(manifest))
    br = reviewed_again(br)
    assert [f.subject for f in found(br, "report missing")] == [
        "ms_daily_rated_usage",
        "vmware_usage_meter",
    ]


def test_a_report_the_vendor_had_not_invoiced_yet_is_listed(tmp_path):
    # the AWS report exported before AWS invoiced the month, and the Partner Center daily usage
    # with 8 unbilled lines
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    aws = reports / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
    duckdb.execute(
        f"COPY (SELECT * REPLACE (NULL::VARCHAR AS bill_invoice_id) FROM read_parquet('{aws}')) "
        f"TO '{tmp_path / 'aws.parquet'}' (FORMAT parquet)"
    )
    shutil.move(tmp_path / "aws.parquet", aws)
    usage = reports / "ms-daily-rated-usage-G052026103.csv"
    lines = usage.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    assert lines[1].count("G052026103") == 1
    usage.write_text(
        lines[0]
        + "".join(ln.replace("G052026103", "", 1) for ln in lines[1:9])
        + "".join(lines[9:]),
        encoding="utf-8",
    )
    br = invoiced(tmp_path / "out", reports=reports)
    assert [(f.subject, f.finding.split(":")[0]) for f in found(br, "not invoiced yet")] == [
        (aws.name, "718 of its 718 line(s) have no vendor invoice id"),
        (usage.name, "8 of its 248 line(s) have no vendor invoice id"),
    ]


def test_days_between_two_dated_versions_of_a_rule_are_listed(tmp_path):
    # aws-15 ends on the 15th; a typo starts aws-12 on the 18th instead of the 16th
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    plans = params / "price_plans.yaml"
    text = plans.read_text()
    assert "valid_from: 2026-10-16}" in text
    plans.write_text(text.replace("valid_from: 2026-10-16}", "valid_from: 2026-10-18}", 1))
    br = invoiced(tmp_path / "out", params=params)
    assert one_finding(br, "rule dates leave a gap") == (
        "price_plans.yaml, plans[id=smb].rules[id=aws-15] and [id=aws-12]",
        "no version of the rule for vendor aws from 2026-10-16 to 2026-10-17: those days' "
        "lines are priced by the next rule that matches them",
    )


OWN_PLAN_GAP = """plans:
  - id: std
    rules:
      - {id: all, kind: pass_through}
  - id: own
    rules:
      - {id: all, kind: markup, percent: 5}
assignments:
  - {plan: std, group: smb}
  - {plan: own, customer: C1, valid_to: 2026-10-14}
  - {plan: own, customer: C1, valid_from: 2026-10-16}
"""


def test_days_between_two_of_a_customer_s_own_plans_are_listed(tmp_path):
    """C1's own plan until 14 October and again from the 16th (a typo for the 15th): on the 15th
    its group's plan priced it, at cost, and nothing said so (a gap between two rules is listed,
    ``rule dates leave a gap``; the plan on the month's last day, ``no price plan``)."""
    params = write_parameters(tmp_path, OWN_PLAN_GAP)
    pricing = load_pricing(params, load_customers(params))
    assert review.assignment_gaps(pricing.assignments, "2026-10") == [
        review.Finding(
            "plan dates leave a gap",
            "C1",
            "no plan of its own from 2026-10-15 to 2026-10-15, between own (assignments[1], "
            "until 2026-10-14) and own (assignments[2], from 2026-10-16) in price_plans.yaml: "
            "those days' lines are priced by its group's plan std",
        )
    ]
    # without a group's plan those days it is on none: a line of them stops the rating
    no_group = OWN_PLAN_GAP.replace("  - {plan: std, group: smb}\n", "")
    params = write_parameters(tmp_path / "alone", no_group)
    pricing = load_pricing(params, load_customers(params))
    [gap] = review.assignment_gaps(pricing.assignments, "2026-10")
    assert gap.finding.endswith(
        "those days it is on no plan: a vendor line of them stops the rating"
    )
    # a gap outside the month, or none, is not listed
    assert review.assignment_gaps(pricing.assignments, "2026-11") == []
    closed = OWN_PLAN_GAP.replace("valid_from: 2026-10-16", "valid_from: 2026-10-15")
    params = write_parameters(tmp_path / "closed", closed)
    pricing = load_pricing(params, load_customers(params))
    assert review.assignment_gaps(pricing.assignments, "2026-10") == []


def test_a_percentage_written_as_a_fraction_is_listed(tmp_path, sample_alone):
    # azure's 8 % typed as 0.08: a markup of 0.08 %, billed without a word
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    plans = params / "price_plans.yaml"
    text = plans.read_text()
    old = "{id: azure, kind: markup, percent: 8,"
    assert old in text
    plans.write_text(text.replace(old, "{id: azure, kind: markup, percent: 0.08,", 1))
    br = invoiced(tmp_path / "out", params=params)
    assert one_finding(br, "percent below 1") == (
        "price_plans.yaml, plans[id=smb].rules[id=azure].percent",
        "percent 0.08 means 0.08 %, not 8.00 %: percentages are written in percent (12 for 12 %), "
        "not as fractions",
    )
    assert not found(sample_alone, "percent below 1")  # the committed parameters


def test_numbers_out_of_the_order_of_their_dates_are_listed(tmp_path, sample_alone):
    # the sample month alone (invoiced into an empty outputs folder): its numbers are in order
    assert not found(sample_alone, "numbers out of date order")
    out = tmp_path / "out"
    out.mkdir()
    # September billed late: its numbers were issued on 1 December, before October's run, dated
    # 1 November, takes the next ones
    register = numbering.open_register(out / REGISTER)
    register.reserve("NW2026", "2026-09", ["C001", "C002"], date(2026, 12, 1))
    br = invoiced(out)
    assert br.results.numbering.numbers["C001"] == "NW2026-000003"
    [f] = found(br, "numbers out of date order")
    assert f.subject == "NW2026"
    assert f.finding.startswith(
        "this run's numbers (3 to 11), dated 2026-11-01, are out of the order of the dates of "
        "2 number(s) of other periods"
    )
    assert f.finding.endswith("; dated 2026-12-01 or later (--issue-date) they are in order")
    assert f.lines == (
        "NW2026-000001 of 2026-09, dated 2026-12-01",
        "NW2026-000002 of 2026-09, dated 2026-12-01",
    )
    # the same run dated on or after them is in order
    later = run.start(
        "2026-10", str(SAMPLE_REPORTS), str(REPO / "parameters"), str(out), issue_date="2026-12-01"
    )
    for step in ("load_parameters", "import_reports", "map_customers", "rate", "build_invoices"):
        getattr(later, step)()
    assert not found(later, "numbers out of date order")


def test_the_printed_review_shows_each_finding_and_at_most_five_lines_behind_it():
    manifest = {
        "review": [
            {
                "check": "negative margin",
                "subject": "C001",
                "finding": "2 line(s) ...",
                "lines": [f"f.csv row {n}" for n in range(2, 9)],
            },
            {
                "check": "no invoice",
                "subject": "C011",
                "finding": "no invoice this month",
                "lines": [],
            },
        ]
    }
    assert headless.review_report(manifest) == [
        "needs a human look (2; information only, the invoices stay as rated):",
        "  [negative margin] C001: 2 line(s) ...",
        "      f.csv row 2; f.csv row 3; f.csv row 4; f.csv row 5; f.csv row 6; ... and 2 more",
        "  [no invoice] C011: no invoice this month",
    ]
    assert headless.review_report({"review": []}) == ["needs a human look: nothing"]


def test_billing_run_takes_confirmed_jumps_repeated_or_comma_separated():
    args = cli.build_parser().parse_args(
        [
            "run",
            "--period",
            "2026-10",
            "--reports",
            "r",
            "--confirm-jump",
            "C001,C002",
            "--confirm-jump",
            "C003",
        ]
    )
    assert ",".join(args.confirm_jump) == "C001,C002,C003"
    given = " C001, C002,,C003 "
    assert run_parameters.customer_list("confirm_jumps", given) == ("C001", "C002", "C003")
    with pytest.raises(ParameterError, match="confirm_jumps"):
        run_parameters.customer_list("confirm_jumps", 1)


def low_margins(rows, tmp_path):
    """The review's ``low margin`` findings on invoices built from the rated ``rows``, the
    invoices read back from their invoice_summary.csv as a run hands them to the review."""
    from billing_lib.invoices import build_invoices, write_invoice_summary
    from billing_lib.numbering import open_register
    from billing_lib.run_readback import read_invoice_summary
    from tests.invoice_helpers import ISSUED, PERIOD, setup

    con, customers, invoicing = setup(rows)
    register = open_register(tmp_path / "reg.sqlite")
    built = build_invoices(con, customers, invoicing, PERIOD, register, ISSUED)
    totals = read_invoice_summary(write_invoice_summary(built, tmp_path / "summary.csv"))
    return [
        (f.subject, f.finding, f.lines)
        for f in review.margins(con, D(5), totals)
        if f.check == "low margin"
    ]


def test_a_customer_billed_at_a_loss_on_a_credit_balance_is_listed_below_the_minimum_margin(
    tmp_path,
):
    """A negative net (a goodwill credit larger than the month) escaped the margin check (only
    revenue above 0 was looked at): C009, net -662.14 at a cost of 1183.93, was not listed. A loss
    on a revenue of 0 or less is listed, without a margin % (of a negative revenue it reads as a
    profit: 278.8 %)."""
    from tests.invoice_helpers import line

    low = low_margins(
        [
            line("C009", "1337.86", cost="1183.93"),
            line("C009", "-2000", kind="credit", product_group="managed_services"),
            line("C005", "-50", cost="-60"),  # a credit passed on: no loss, not listed
            line("C003", "100", cost="99"),
        ],
        tmp_path,
    )
    assert low == [
        (
            "C003",
            "margin 1.0% of revenue (below 5%): EUR 1.00 on 100.00",
            ("invoice NW2026-000001",),
        ),
        (
            "C009",
            "a loss of EUR -1846.07 on revenue of -662.14 (a credit balance: no margin %; "
            "below 5%)",
            ("invoice NW2026-000003",),
        ),
    ]


def test_the_margin_check_quotes_the_invoice_not_the_unrounded_rated_lines(tmp_path):
    """A credit of 1337.86 on C009's month of 1337.86 (on the invoice: 1000.00 + 337.86, the
    rated lines 1000.004 + 337.855) gives a 0.00 invoice ("Nothing to pay"), but the review said
    "a loss of EUR -1183.93 on revenue of -0.01 (a credit balance ...)": it judged the rated lines'
    exact sum, -0.001. It quotes the invoice's own net and margin (invoice_summary.csv); a larger
    credit is a credit balance, in the invoice's figures too."""
    from tests.invoice_helpers import line

    month = [
        line("C009", "1000.004", service="EC2", cost="1000"),
        line("C009", "337.855", service="S3", cost="183.93"),
    ]
    zero = [line("C009", "-1337.86", kind="credit", product_group="managed_services")]
    assert low_margins(month + zero, tmp_path / "a") == [
        (
            "C009",
            "a loss of EUR -1183.93 on revenue of 0.00 (nothing invoiced: no margin %; below 5%)",
            ("invoice NW2026-000001",),
        )
    ]
    larger = [line("C009", "-5000", kind="credit", product_group="managed_services")]
    assert low_margins(month + larger, tmp_path / "b") == [
        (
            "C009",
            "a loss of EUR -4846.07 on revenue of -3662.14 (a credit balance: no margin %; "
            "below 5%)",
            ("invoice NW2026-000001",),
        )
    ]


def test_an_invoice_without_a_vendor_line_is_listed(tmp_path):
    """A new smb customer whose accounts were not mapped yet got a 75.00 invoice of the plan's
    minimum fee alone, and the review said nothing. An invoice without a vendor line (only
    minimum fees, fees, one-offs or credits) is listed with what it holds."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    customers = params / "customers.yaml"
    customers.write_text(
        customers.read_text()
        + "\n  - {id: C011, name: Nieuwe Klant B.V., address: [Stationsplein 1, 3511 ED Utrecht],\n"
        "     country: NL, vat_number: NL123456782B01, invoice_currency: EUR, group: smb,\n"
        "     postal_code: 3511 ED, city: Utrecht, email: info@nieuweklant.example}\n"
    )
    br = invoiced(tmp_path / "out", params=params)
    assert [(f.subject, f.finding, f.lines) for f in found(br, "no vendor line")] == [
        (
            "C011",
            "invoiced EUR 75.00 for minimum fees only, without a vendor line: a minimum fee "
            "bills a customer without usage its whole amount; are its accounts missing from "
            "accounts.csv?",
            ("invoice NW2026-000010",),
        )
    ]


def _entry(number: str, kind: str, period: str, customer: str, issued: str, refers_to=None):
    series, n = number.rsplit("-", 1)
    return RegisterEntry(
        number, series, int(n), kind, period, customer, refers_to, "final", issued, None
    )


def test_a_credit_note_of_an_older_month_issued_after_the_last_close_is_listed():
    # October billed on 1 November, November on 1 December (reviewed, finalised as it was);
    # on 5 December October's C003 invoice is credited and not replaced: December's review is the
    # first after it, and it looked only at November's credit notes, so no review named it
    register = [
        _entry("NW2026-000001", "invoice", "2026-10", "C001", "2026-11-01"),
        _entry("NW2026-000002", "invoice", "2026-10", "C002", "2026-11-01"),
        _entry("NW2026-000003", "invoice", "2026-10", "C003", "2026-11-01"),
        _entry("NWC2026-000001", "credit_note", "2026-10", "C001", "2026-11-20", "NW2026-000001"),
        _entry("NW2026-000004", "invoice", "2026-11", "C001", "2026-12-01"),
        _entry("NW2026-000005", "invoice", "2026-11", "C003", "2026-12-01"),
        _entry("NWC2026-000002", "credit_note", "2026-10", "C003", "2026-12-05", "NW2026-000003"),
        _entry("NWC2026-000003", "credit_note", "2026-10", "C002", "2026-12-06", "NW2026-000002"),
        _entry("NW2026-000006", "invoice", "2026-10", "C002", "2026-12-06", "NW2026-000002"),
    ]
    found = review.credited_not_replaced("2026-11", register)
    # C001's credit note of 20 November was November's review's to name; C002's was replaced
    assert [(f.subject, f.finding) for f in found] == [
        (
            "C003",
            "NW2026-000003 of 2026-10 was cancelled by credit note NWC2026-000002 on 2026-12-05 "
            "and no invoice replaces it: 2026-10 bills C003 nothing for it. If something is "
            "owed: billing reissue --invoice NW2026-000003",
        )
    ]
    # November's review (October the previous month) names C001's credit note, as before
    assert [f.subject for f in review.credited_not_replaced("2026-10", register[:4])] == ["C001"]


def test_a_customer_on_no_price_plan_is_listed(tmp_path):
    """A customer whose group no assignment names (C3's ``enterprise``, too far from ``smb`` to be
    refused as a typo) was on no plan: in a month without its lines it was billed no minimum fee
    without a word. Listed, as is one whose plan ended within the month (C2); a customer on a
    plan on the month's last day is not (C1), nor one whose plans all ended before the month."""
    plans = """plans:
  - id: std
    rules:
      - {id: all, kind: pass_through}
      - {id: min, kind: minimum_fee, amount: '75', currency: EUR}
assignments:
  - {plan: std, group: smb, valid_to: 2026-10-20}
  - {plan: std, customer: C1, valid_from: 2026-10-21}
"""
    params = write_parameters(tmp_path, plans)
    customers = load_customers(params)
    pricing = load_pricing(params, customers)
    invoices = pd.DataFrame({"customer_id": ["C2"], "invoice_number": ["NW2026-000002"]})
    found = [
        (f.check, f.subject, f.finding, f.lines)
        for f in review.no_plan(customers, pricing.assignments, "2026-10", invoices)
    ]
    tail = (
        "price_plans.yaml): billed no minimum fee, and a vendor line of it would stop the "
        "rating. Assign it a plan, or leave it so if it is billed for services only"
    )
    assert found == [
        (
            "no price plan",
            "C2",
            f"on no price plan on 2026-10-31 (its plan std ended on 2026-10-20; {tail}",
            ("invoice NW2026-000002",),
        ),
        (
            "no price plan",
            "C3",
            "on no price plan on 2026-10-31 (no plan is assigned to its group 'enterprise' nor "
            f"to it; {tail}",
            (),
        ),
    ]
    assert [
        f.subject for f in review.no_plan(customers, pricing.assignments, "2026-11", invoices)
    ] == ["C3"]


def _billed_seats(tmp_path: Path, rows: list[dict[str, str]], pc: list) -> list[str]:
    """The seat findings of ``rows`` (an invoice reconciliation file) against the Partner Center
    subscriptions ``pc``."""
    no_plans = "plans: []\nassignments: []\n"
    params = write_parameters(tmp_path / "params", no_plans, accounts=ACCOUNTS)
    con = open_store()
    import_reports(con, [write_reconciliation(tmp_path / "r.csv", rows)])
    register_account_map(con, load_account_mappings(params, load_customers(params)))
    assign_customers(con)
    return [f.finding for f in review.seat_counts(con, pc, "2026-10")]


def test_seats_are_compared_as_the_month_ends_not_summed_over_its_cycles(tmp_path):
    """Seats Microsoft billed are the seats in force at the month's end: the latest whole charge
    (a cycle charge, renewal or purchase) and the changes on or after it. 3 seats added on
    5 October to a monthly subscription renewing on the 20th (5-19 Oct), then its cycle charge of
    the 15 seats (20 Oct - 19 Nov), with 15 in Partner Center, read as 18 billed, over-billed; and
    an annual subscription billed once a term, whose month holds only 2 seats added mid-term, as 2
    billed against its 37, under-billed. Neither differs from Partner Center."""
    monthly, annual = "7c2d9e4b-0000-4c6d-8e5b-2f9a0c7d3e14", "7c2d9e4b-0000-4c6d-8e5b-2f9a0c7d3e15"

    def sub(sub_id: str, seats: int, cycle: str) -> PartnerCenterSubscription:
        return PartnerCenterSubscription(
            sub_id, TENANT, "CFQ7TTC0LH16:0001", "Exchange Online (Plan 1)", "EXO", D(seats),
            "Licenses", "active", cycle, "P1Y", "2027-06-30T00:00:00Z", "pc.json",
        )  # fmt: skip

    common = {"UnitPrice": "4.00", "UnitType": "Licenses"}
    rows = [
        reconciliation_row(
            1, **common, SubscriptionId=monthly, ChargeType="addQuantity", Quantity="3",
            BillableQuantity="3", EffectiveUnitPrice="1.935484", Subtotal="5.79",
            ChargeStartDate="10/5/2026", ChargeEndDate="10/19/2026",
        ),
        reconciliation_row(
            2, **common, SubscriptionId=monthly, ChargeType="cycleCharge", Quantity="15",
            BillableQuantity="15", EffectiveUnitPrice="4.00", Subtotal="60.00",
            ChargeStartDate="10/20/2026", ChargeEndDate="11/19/2026",
        ),
        reconciliation_row(
            3, UnitPrice="48.00", UnitType="Licenses", SubscriptionId=annual,
            ChargeType="addQuantity", Quantity="2", BillableQuantity="2",
            EffectiveUnitPrice="28.93", Subtotal="57.86", ChargeStartDate="10/20/2026",
            ChargeEndDate="6/30/2027", BillingFrequency="Annual",
        ),
    ]  # fmt: skip
    in_partner_center = [sub(monthly, 15, "monthly"), sub(annual, 37, "annual")]
    assert _billed_seats(tmp_path, rows, in_partner_center) == []
    # still told: the monthly one at 12 seats, 15 billed from 20 October
    (tmp_path / "b").mkdir()
    assert _billed_seats(tmp_path / "b", rows, [sub(monthly, 12, "monthly")]) == [
        f"subscription {monthly} (Exchange Online (Plan 1)): 15 licences billed, 12 seats in "
        "Partner Center (active): over-billed"
    ]


@pytest.mark.parametrize(
    "given",
    [
        ["run", "--period", "2026-10", "--reports", "r", "--f"],
        ["run", "--period", "2026-10", "--reports", "r", "--final"],
        ["credit-note", "--invoice", "NW2026-000002", "--reas", "typo"],
    ],
)
def test_a_shortened_option_is_refused_not_taken_for_the_one_it_begins(given, capsys):
    """argparse takes the start of an option for the option (``--f`` for ``--finalise``): a
    typo or half-remembered option of `billing run` finalised the month, its numbers and folder
    immutable. Every option is given whole."""
    with pytest.raises(SystemExit) as stopped:
        cli.build_parser().parse_args(given)
    assert stopped.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--period", "2026-10", "--reports", "r"],
        ["finalise", "--period", "2026-10"],
        ["credit-note", "--invoice", "NW2026-000002"],
        ["register", "rebuild"],
    ],
)
@pytest.mark.parametrize("wait", ["-5", "nan", "inf", "soon"])
def test_a_wait_that_is_no_number_of_seconds_is_refused_naming_the_option(command, wait, capsys):
    """``--wait -5`` was taken (and waited no time, as 0 does), ``--wait nan`` and ``inf`` too:
    refused, naming the option and what it takes."""
    with pytest.raises(SystemExit) as stopped:
        cli.build_parser().parse_args([*command, "--wait", wait])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --wait: expected a number of seconds, 0 or more" in err and wait in err
    assert cli.build_parser().parse_args([*command, "--wait", "2.5"]).wait == 2.5


@pytest.mark.parametrize("given", ["", ",", " "])
def test_a_confirmed_jump_that_names_no_customer_is_refused_naming_the_option(given, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.build_parser().parse_args(
            ["run", "--period", "2026-10", "--reports", "r", "--confirm-jump", given]
        )
    assert stopped.value.code == 2
    assert "argument --confirm-jump: expected customer ids" in capsys.readouterr().err


def test_a_confirmed_jump_of_a_customer_whose_month_did_not_move_is_refused():
    """``--confirm-jump C999`` (no such customer, or one whose month did not move) was taken in
    silence: a confirmation left in a script, or given for the wrong customer, would let next
    month's jump of it through unseen. A confirmation must name a jump the run finds."""
    now = {("C001", "EUR"): D("2584.54"), ("C002", "EUR"): D("5702.29")}
    previous = {("C001", "EUR"): D("100.00"), ("C002", "EUR"): D("5000.00")}
    with pytest.raises(RunError) as refused:
        review.month_jumps(now, previous, "2026-09", D(10), ("C001", "C999"))
    text = str(refused.value)
    assert text.startswith("--confirm-jump C999 (notebook parameter confirm_jumps):")
    assert (
        "a customer whose month moved by a factor of 10 or more against the finalised "
        "2026-09 (C001)"
        in text
        and "nothing was invoiced" in text
    )
    with pytest.raises(RunError, match=r"--confirm-jump C002,C999 .*\(none\)"):
        review.month_jumps(now, {("C002", "EUR"): D("5000")}, "2026-09", D(10), ("C002", "C999"))
    with pytest.raises(RunError, match=r"--confirm-jump C001 .*no finalised month before"):
        review.month_jumps(now, {}, None, D(10), ("C001",))
    # the jump confirmed: billed
    assert review.month_jumps(now, previous, "2026-09", D(10), ("C001",)) == [
        "C001: EUR 2584.54 against 100.00 in 2026-09 (x25.8)"
    ]
    assert review.month_jumps(now, {}, None, D(10), ()) == []


@pytest.mark.parametrize(
    "confirmed",
    [("C001", "C999"), ("C999", "C001"), ("C999",), ("C002", "C001"), ("C001", "C002")],
)
def test_a_stray_confirmation_does_not_mask_another_customer_s_unconfirmed_jump(confirmed):
    """C003's month moved tenfold and was not confirmed, while the analyst confirmed C999 (no
    such customer) or C002 (whose month did not move): the run stopped on the stray
    confirmation alone, C003 named only among "the customers that moved", without its figures
    or the option that bills it; fixing the confirmation, the next run stopped again for C003.
    One refusal names both, whatever the order of the options."""
    now = {("C001", "EUR"): D("2584.54"), ("C002", "EUR"): D("5702.29"), ("C003", "EUR"): D("900")}
    previous = {
        ("C001", "EUR"): D("100.00"),
        ("C002", "EUR"): D("5000.00"),
        ("C003", "EUR"): D("90.00"),
    }
    with pytest.raises(RunError) as refused:
        review.month_jumps(now, previous, "2026-09", D(10), confirmed)
    text = str(refused.value)
    stray = next(c for c in confirmed if c in ("C002", "C999"))
    # the unconfirmed jump, with its figures and the option that bills it
    assert "  - C003: EUR 900 against 90.00 in 2026-09 (x10.0)\n" in text
    unconfirmed = "C003" if "C001" in confirmed else "C001,C003"
    assert f"--confirm-jump {unconfirmed}`" in text and f'confirm_jumps = "{unconfirmed}"' in text
    # a confirmed jump is not refused
    assert ("  - C001: EUR 2584.54" in text) is ("C001" not in confirmed)
    # the stray confirmation, naming it and the customers that did move
    assert f"--confirm-jump {stray} (notebook parameter confirm_jumps): expected a customer" in text
    assert "(C001, C003)" in text
    assert text.count("nothing was invoiced") == 1


def test_a_customer_invoiced_from_another_country_than_last_month_is_listed(
    tmp_path, sample_outputs
):
    """customers.yaml holds one country per customer: a customer that moved (Duisburg to
    Vienna) is invoiced from its new country from the month it is edited, and a month before the
    move billed then (late, again, reissued) takes the new country's VAT rule without a word.
    The review lists the customer whose country or VAT rule differs from the previous finalised
    month's invoice, so the analyst checks the date of the move."""
    september = tmp_path / "out" / "2026-09"
    finalised(tmp_path / "out", "2026-09", "")
    shutil.copy(sample_outputs / "2026-10" / "invoices.json", september / "invoices.json")
    # a run that recorded its commitments (billed_commitments): none
    (september / "manifest.json").write_text('{"commitments": []}')
    numbering.open_register(tmp_path / "out" / REGISTER).finalise("2026-09")
    shutil.copytree(tmp_path / "out", tmp_path / "out2")
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    path = params / "customers.yaml"
    text = path.read_text(encoding="utf-8")
    moved = text.replace(
        '    address: [Industriestraße 41, 47119 Duisburg, Germany]\n    postal_code: "47119"\n'
        '    city: "Duisburg"\n',
        '    address: [Kärntner Ring 5, 1010 Wien, Austria]\n    postal_code: "1010"\n'
        '    city: "Wien"\n',
    ).replace(
        '    peppol_id: "9930:DE298765435"\n    country: DE\n    vat_number: DE298765435\n',
        "    country: AT\n    vat_number: ATU13585627\n",
    )
    assert moved != text
    path.write_text(moved, encoding="utf-8")
    br = invoiced(tmp_path / "out", params=params)
    [finding] = found(br, "VAT country changed")
    assert (finding.subject, finding.finding) == (
        "C006",
        "invoiced from AT under eu_reverse_charge, in 2026-09 from DE under eu_reverse_charge: "
        "customers.yaml holds one country and VAT rule per customer, so a month before the "
        "move billed now (late, again or reissued) takes the new ones; check the date of the "
        "move",
    )
    assert finding.lines[0].startswith("2026-09 invoice NW2026-")
    # the sample month against itself (as September): nothing moved
    plain = invoiced(tmp_path / "out2")
    assert not found(plain, "VAT country changed")
    # a damaged invoices.json of September is named, the review goes on
    (tmp_path / "out2" / "2026-09" / "invoices.json").write_text("{")
    damaged = reviewed_again(plain)
    [finding] = found(damaged, "VAT country changed")
    assert finding.subject == "2026-09"
    assert finding.finding.startswith("not compared: ") and "invoices.json" in finding.finding
