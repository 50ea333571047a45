"""Invoices from rated_lines: grouping, rounding (hand-checked), VAT, totals and bad input."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
import yaml

from billing_lib.customers import STUB_ADDRESS
from billing_lib.errors import ParameterError
from billing_lib.invoices import (
    build_invoices,
    credit_note,
    figure_problems,
    load_invoicing,
    read_invoice_data,
    write_invoice_data,
    write_invoice_summary,
)
from billing_lib.numbering import open_register
from tests.invoice_helpers import ISSUED, PERIOD, line, parameters_copy, setup

D = Decimal


def build(rows, tmp_path, customers_update=None, parameters=None):
    con, customers, invoicing = setup(rows, parameters) if parameters else setup(rows)
    for cid, update in (customers_update or {}).items():
        customers[cid] = customers[cid].model_copy(update=update)
    register = open_register(tmp_path / "register.sqlite")
    return build_invoices(con, customers, invoicing, PERIOD, register, ISSUED), register


def test_three_lines_round_per_line_then_vat_on_the_rounded_sum(tmp_path):
    # C003 is domestic (NL, 21 %), grouped by vendor and service (the default).
    rows = [
        line("C003", "5.0025", service="Amazon EC2"),
        line("C003", "5.0025", service="Amazon EC2"),
        line("C003", "20.004", service="Amazon S3"),
        line("C003", "0.333", vendor="microsoft", service="Microsoft 365 Business Basic"),
    ]
    [inv], _ = build(rows, tmp_path)
    # 5.0025 + 5.0025 = 10.005 -> 10.01 (rounding each rated line first would give 10.00)
    assert [(ln.description, ln.amount) for ln in inv.lines] == [
        ("Amazon EC2", D("10.01")),
        ("Amazon S3", D("20.00")),
        ("Microsoft 365 Business Basic", D("0.33")),
    ]
    assert inv.lines[0].unrounded_amount == D("10.005") and inv.lines[0].rated_lines == 2
    assert inv.net == D("30.34")
    # 21 % of 30.34 = 6.3714 -> 6.37
    assert [(v.rate, v.base, v.amount) for v in inv.vat] == [(D(21), D("30.34"), D("6.37"))]
    assert (inv.vat_total, inv.gross) == (D("6.37"), D("36.71"))
    assert inv.subtotals() == [
        ("aws", "Amazon Web Services", D("30.01")),
        ("microsoft", "Microsoft", D("0.33")),
    ]
    # cost: 80 % per line, rounded per line: 8.004 -> 8.00, 16.0032 -> 16.00, 0.2664 -> 0.27
    assert (inv.cost, inv.margin) == (D("24.27"), D("6.07"))


def test_invoice_details_dates_number_and_parties(tmp_path):
    [inv], register = build([line("C004", "100")], tmp_path)
    assert inv.number == "NW2026-000001" and inv.kind == "invoice"
    assert (inv.issue_date, inv.due_date) == (date(2026, 11, 1), date(2026, 12, 16))  # 45 days
    assert (inv.supply_start, inv.supply_end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert inv.customer_reference == "INK-77310"
    assert inv.buyer.name == "Zorggroep Amstelland" and inv.buyer.vat_number == "NL845678905B01"
    assert inv.seller.name == "Northwind Cloud B.V." and inv.seller.vat_number == "NL867890125B01"
    # planned, not recorded: the register records the numbers when the run is published
    assert register.entries() == []


def test_one_invoice_per_customer_combines_every_vendor_in_product_group_order(tmp_path):
    rows = [
        line(
            "C002",
            "1",
            kind="fee",
            product_group="managed_services",
            description="Managed services",
        ),
        line("C002", "2", vendor="vmware", service="vSAN"),
        line("C002", "3", vendor="microsoft", service="M365"),
        line("C002", "4", service="EC2"),
        line("C001", "5"),
    ]
    invoices, _ = build(rows, tmp_path)
    assert [i.customer_id for i in invoices] == ["C001", "C002"]
    assert [i.number for i in invoices] == ["NW2026-000001", "NW2026-000002"]
    c002 = invoices[1]
    assert [ln.heading for ln in c002.lines] == [
        "Amazon Web Services",
        "Microsoft",
        "VMware Cloud",
        "Managed services",
    ]
    assert c002.net == D("10.00")


def test_grouping_by_subscription_and_by_tag(tmp_path):
    rows = [
        line("C002", "1.004", subscription="sub-a"),
        line("C002", "1.004", subscription="sub-a", service="S3"),
        line("C002", "2", subscription="sub-b"),
    ]
    [inv], _ = build(rows, tmp_path)  # C002 groups by vendor, subscription
    # No subscription names in these lines: the product (the vendor for two services) and the id,
    # never the id alone (billing_lib.line_labels).
    assert [(ln.description, ln.amount) for ln in inv.lines] == [
        ("Amazon EC2 sub-b", D("2.00")),
        ("Amazon Web Services sub-a", D("2.01")),
    ]

    tags = [
        line("C001", "10", tags='{"CostCenter": "R&D"}'),
        line("C001", "5", tags='{"CostCenter": "Sales"}'),
        line("C001", "1", tags='{"CostCenter": "R&D"}', vendor="microsoft", service="M365"),
        line("C001", "2"),
    ]
    [inv], _ = build(tags, tmp_path / "t", {"C001": {"line_grouping": ["tag:CostCenter"]}})
    assert [(ln.heading, ln.description, ln.amount) for ln in inv.lines] == [
        ("Amazon Web Services", "(no CostCenter)", D("2.00")),
        ("Amazon Web Services", "R&D", D("10.00")),
        ("Amazon Web Services", "Sales", D("5.00")),
        ("Microsoft", "R&D", D("1.00")),
    ]


def test_reverse_charge_and_export(tmp_path):
    rows = [line("C005", "100.005", vendor="microsoft"), line("C008", "50", currency="USD")]
    c005, c008 = build(rows, tmp_path)[0]
    assert (
        c005.vat_rule == "eu_reverse_charge"
        and c005.vat_total == D("0.00")
        and c005.gross == D("100.01")
    )
    assert c005.vat_mention.startswith(
        "Reverse charge: VAT to be accounted for by the recipient, Art. 196"
    )
    assert c005.buyer.vat_number == "BE0456789133" and c005.show_buyer_vat_number
    assert (
        c008.vat_rule == "export"
        and c008.currency == "USD"
        and c008.vat_mention == "Outside the scope of EU VAT"
    )
    assert c008.gross == D("50.00")


def test_credits_exceeding_charges_give_a_credit_balance(tmp_path):
    rows = [
        line("C004", "100.00"),
        line(
            "C004",
            "-250.004",
            kind="credit",
            product_group="managed_services",
            description="Service credit",
        ),
    ]
    [inv], _ = build(rows, tmp_path)
    assert (inv.net, inv.vat_total, inv.gross) == (D("-150.00"), D("-31.50"), D("-181.50"))
    assert inv.credit_balance and inv.kind == "invoice" and inv.number == "NW2026-000001"


def test_half_cents_round_half_up_both_signs(tmp_path):
    rows = [line("C003", "2.675", service="A"), line("C003", "-2.675", service="B")]
    [inv], _ = build(rows, tmp_path)
    assert (
        [ln.amount for ln in inv.lines] == [D("2.68"), D("-2.68")]
        and inv.net == 0
        and inv.gross == 0
    )


def test_summary_csv_has_the_invoice_figures(tmp_path):
    invoices, _ = build(
        [line("C003", "30.34"), line("C008", "12.5", currency="USD", cost="10")], tmp_path
    )
    path = write_invoice_summary(invoices, tmp_path / "out" / "invoice_summary.csv")
    rows = list(csv.DictReader(path.open()))
    assert rows == [
        {
            "customer_id": "C003",
            "invoice_number": "NW2026-000001",
            "currency": "EUR",
            "net_amount": "30.34",
            "vat_amount": "6.37",
            "gross_amount": "36.71",
            "cost_amount": "24.27",
            "margin_amount": "6.07",
        },
        {
            "customer_id": "C008",
            "invoice_number": "NW2026-000002",
            "currency": "USD",
            "net_amount": "12.50",
            "vat_amount": "0.00",
            "gross_amount": "12.50",
            "cost_amount": "10.00",
            "margin_amount": "2.50",
        },
    ]
    assert [p.name for p in path.parent.iterdir()] == [
        "invoice_summary.csv"
    ]  # no temporary file left


def test_a_credit_note_after_finalising_refers_to_the_original(tmp_path):
    [inv], register = build([line("C003", "30.34")], tmp_path)
    register.reserve("NW2026", PERIOD, [inv.customer_id], inv.issue_date)  # published
    register.finalise(PERIOD)
    _, _, invoicing = setup([])
    note = credit_note(inv, register, invoicing, "2026-11", date(2026, 12, 1), "wrong price plan")
    assert (
        note.number == "NWC2026-000001"
        and note.kind == "credit_note"
        and note.refers_to == "NW2026-000001"
    )
    assert (note.net, note.vat_total, note.gross) == (D("-30.34"), D("-6.37"), D("-36.71"))
    assert [ln.amount for ln in note.lines] == [D("-30.34")]


def test_a_credit_note_from_python_is_numbered_in_the_series_of_its_issue_year(tmp_path):
    """A credit note is numbered in the credit-note series of the year it is issued in
    (docs/invoices-and-ledger.md, "The credit note"), as ``billing credit-note`` numbers it.
    ``invoices.credit_note`` took the year of the run's period instead: issued on 5 January
    2027 in the run of December 2026 it was NWC2026-000001, a 2027 document in the 2026
    series, beside the NWC2027 numbers ``billing credit-note`` gives that day."""
    [inv], register = build([line("C003", "30.34")], tmp_path)
    register.reserve("NW2026", PERIOD, [inv.customer_id], inv.issue_date)  # published
    register.finalise(PERIOD)
    _, _, invoicing = setup([])
    note = credit_note(inv, register, invoicing, "2026-12", date(2027, 1, 5), "wrong price plan")
    assert note.number == "NWC2027-000001" and note.issue_date == date(2027, 1, 5)


@pytest.mark.parametrize(
    ("reason", "note"),
    [
        (" Wrong price\n\tplan\x0cfor\ufffe  M365 \r\n", "Wrong price plan for M365"),
        (" \t\n", None),
    ],
)
def test_a_credit_note_from_python_prints_its_reason_on_one_line(tmp_path, reason, note):
    """``billing credit-note`` and ``billing reissue`` clean a reason (``clean_text``: one line,
    no noncharacters, None when blank), ``invoices.credit_note`` kept it as given: pasted with a
    line break, a tab or a U+FFFE it became a note the PDF, the workbook and the e-invoice each
    printed their own way (a blank one an empty ``cbc:Note``)."""
    [inv], register = build([line("C003", "30.34")], tmp_path)
    register.reserve("NW2026", PERIOD, [inv.customer_id], inv.issue_date)  # published
    register.finalise(PERIOD)
    _, _, invoicing = setup([])
    credited = credit_note(inv, register, invoicing, "2026-11", date(2026, 12, 1), reason)
    assert credited.note == note


def test_invoices_json_gives_back_the_very_same_invoices(tmp_path):
    rows = [
        line("C003", "5.0025"),
        line("C003", "-0.000000000001", service="Amazon S3"),
        line("C008", "12.5", currency="USD", quantity="3.333333333333", unit="GB-Mo"),
    ]
    invoices, _ = build(rows, tmp_path)
    _, _, invoicing = setup([])
    path = write_invoice_data(invoices, invoicing.seller, tmp_path / "invoices.json")
    seller, back = read_invoice_data(path)
    assert seller == invoicing.seller
    assert list(back.values()) == invoices  # every Decimal with its digits, dates, parties, lines
    assert [str(ln.unrounded_amount) for ln in back["NW2026-000001"].lines] == [
        str(ln.unrounded_amount) for ln in invoices[0].lines
    ]
    assert all(figure_problems(i) == [] for i in back.values())


def test_figures_that_the_lines_do_not_give_are_named(tmp_path):
    [inv], _ = build([line("C003", "30.34")], tmp_path)
    assert figure_problems(replace(inv, gross=D("36.72"))) == ["gross 36.72; the lines give 36.71"]
    changed = replace(
        inv, vat=(replace(inv.vat[0], amount=D("6.38")),), vat_total=D("6.38"), gross=D("36.72")
    )
    assert figure_problems(changed) == [
        "VAT 21 %: base 30.34, VAT 6.38; the lines give base 30.34, VAT 6.37"
    ]


# -- bad input: a clear error, and no number reserved
# -------------------------------------------------


def assert_nothing_reserved(tmp_path):
    assert open_register(tmp_path / "register.sqlite").entries() == []


def test_a_product_group_without_ledger_accounts_is_an_error(tmp_path):
    with pytest.raises(
        ParameterError, match=r"products.yaml, product_groups: no entry 'quantum'.*3 rated lines"
    ):
        build([line("C001", "1", product_group="quantum")] * 3, tmp_path)
    assert_nothing_reserved(tmp_path)


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        (
            [line("C001", "1", product_group="azur", plan_id="smb", rule_id="azure")],
            "price_plans.yaml, plans[id=smb].rules[id=azure].product_group",
        ),
        (
            [line("C001", "1", kind="fee", product_group="suport", rule_id="c001-support")],
            "custom_lines.yaml, custom_lines[id=c001-support].product_group",
        ),
        (
            [
                line(
                    "C001",
                    "1",
                    kind="minimum",
                    product_group="suport",
                    plan_id="smb",
                    rule_id="smb-min",
                )
            ],
            "price_plans.yaml, plans[id=smb].rules[id=smb-min].product_group",
        ),
        (
            [line("C001", "1", vendor="alibaba", plan_id="smb", rule_id="other")],
            "price_plans.yaml, plans[id=smb].rules[id=other] sets no product_group)",
        ),
    ],
    ids=["rule", "custom-line", "minimum-fee", "vendor"],
)
def test_an_unknown_product_group_names_the_entry_that_sets_it(tmp_path, rows, where):
    """A typo in a rule's or custom line's product_group was named in products.yaml only, not in
    the file and entry where it was typed."""
    with pytest.raises(ParameterError) as err:
        build(rows, tmp_path)
    assert "products.yaml, product_groups: no entry" in str(err.value)
    assert where in str(err.value)


def test_a_customer_without_address_is_an_error(tmp_path):
    with pytest.raises(
        ParameterError,
        match=r"customers\[id=C001\]\.address: an invoice needs the customer's address",
    ):
        build([line("C001", "1"), line("C002", "1")], tmp_path, {"C001": {"address": ["  "]}})
    assert_nothing_reserved(tmp_path)


def test_a_customer_still_as_billing_customers_sync_proposed_it_is_not_invoiced(tmp_path):
    # the sync's stub loads (the analyst completes it), but its placeholder is never printed
    stub = {"C001": {"address": [STUB_ADDRESS]}}
    with pytest.raises(
        ParameterError,
        match=r"customers\[id=C001\]\.address: still '\(address to be completed\)', as billing "
        r"customers sync proposed the customer; complete its address",
    ):
        build([line("C001", "1"), line("C002", "1")], tmp_path, stub)
    assert_nothing_reserved(tmp_path)
    assert STUB_ADDRESS in customers_text_of_a_stub()


def customers_text_of_a_stub() -> str:
    """customers.yaml as billing customers sync writes it with one stub."""
    from billing_lib.customer_files import customers_text
    from billing_lib.sync_proposal import Proposal, Stub

    proposal = Proposal("2026-10", stubs=[Stub("C011", "poc-sandbox-ams", "aws account 1")])
    return customers_text("customers: []\n", proposal, "NL", "EUR")


def test_an_eu_customer_without_vat_number_is_an_error(tmp_path):
    with pytest.raises(ParameterError, match=r"C006.*without a VAT number.*OSS"):
        build([line("C006", "1")], tmp_path, {"C006": {"vat_number": None, "vat_rule": None}})
    with pytest.raises(
        ParameterError, match=r"C005\]\.vat_number: VAT rule 'eu_reverse_charge' needs"
    ):
        build([line("C005", "1")], tmp_path, {"C005": {"vat_number": ""}})
    assert_nothing_reserved(tmp_path)


def test_a_customer_s_problems_at_invoicing_name_their_line_in_customers_yaml(tmp_path):
    """A stub customer billing customers sync appended, an invoice currency its lines are not in:
    named ``customers.yaml, customers[id=C011].address``, by id only, among hundreds of
    customers. The entry is named with its line, as the file's errors when it is read."""
    params = parameters_copy(tmp_path)
    customers = params / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    address = "    address: [Oudegracht 112, 3511 AV Utrecht]\n"
    lines = text.splitlines()
    at = lines.index(address.rstrip("\n")) + 1  # C001's
    currency = lines.index("    invoice_currency: EUR", lines.index("  - id: C003")) + 1
    customers.write_text(text.replace(address, f"    address: ['{STUB_ADDRESS}']\n"))
    with pytest.raises(ParameterError) as raised:
        build([line("C001", "1"), line("C003", "1", currency="USD")], tmp_path, parameters=params)
    message = str(raised.value)
    assert (
        f"\n  - {customers}, line {at}, entry customers[id=C001].address: still "
        f"'{STUB_ADDRESS}', as billing customers sync proposed the customer"
    ) in message
    assert (
        f"\n  - {customers}, line {currency}, entry customers[id=C003].invoice_currency: is EUR "
        "but its "
        "rated lines are in ['USD']"
    ) in message
    assert_nothing_reserved(tmp_path)


def test_a_customer_s_vat_problem_at_invoicing_names_its_line_in_customers_yaml(tmp_path):
    """Found when the month is invoiced (a customer with no lines is not checked): the problem
    named ``customers.yaml``, no folder and no line, where the file's other errors name both."""
    params = parameters_copy(tmp_path)
    customers = params / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    c006 = "    vat_number: DE298765435\n"
    assert c006 in text and "    vat_rule: eu_reverse_charge\n\n  - id: C007" in text
    text = text.replace(c006, "").replace(
        "    vat_rule: eu_reverse_charge\n\n  - id: C007", "\n  - id: C007"
    )
    customers.write_text(text, encoding="utf-8")
    c006_line = text.splitlines().index("  - id: C006") + 1
    with pytest.raises(ParameterError) as raised:
        build([line("C006", "1")], tmp_path, parameters=params)
    assert (
        f"{customers}, line {c006_line}, entry customers[id=C006]: an EU customer in DE without "
        "a VAT number would be a sale to a consumer (OSS)"
    ) in str(raised.value)
    assert_nothing_reserved(tmp_path)


def test_an_unknown_vat_rule_is_an_error(tmp_path):
    params = parameters_copy(tmp_path)
    rules = yaml.safe_load((params / "vat_rules.yaml").read_text())
    del rules["rules"]["export"]
    (params / "vat_rules.yaml").write_text(yaml.safe_dump(rules))
    with pytest.raises(
        ParameterError,
        match=r"vat_rules.yaml, entry rules.export: unknown VAT rule 'export' of customer C007",
    ):
        build([line("C007", "1")], tmp_path, parameters=params)
    assert_nothing_reserved(tmp_path)


def test_all_problems_are_listed_together(tmp_path):
    rows = [
        line("C001", "1", product_group="quantum"),
        line("C099", "1"),
        line("C003", "1", currency="USD"),
    ]
    with pytest.raises(ParameterError) as err:
        build(rows, tmp_path)
    text = str(err.value)
    assert (
        "no entry 'quantum'" in text
        and "customers[id=C099]: rated lines for a customer that is not" in text
    )
    assert "C003].invoice_currency: is EUR but its rated lines are in ['USD']" in text


def test_parameters_naming_an_unknown_account_are_refused(tmp_path):
    params = parameters_copy(tmp_path)
    products = yaml.safe_load((params / "products.yaml").read_text())
    products["product_groups"]["aws"]["revenue_account"] = "9999"
    (params / "products.yaml").write_text(yaml.safe_dump(products))
    with pytest.raises(
        ParameterError, match=r"entry product_groups.aws.revenue_account: account '9999' is not"
    ):
        load_invoicing(params)
    products["product_groups"]["aws"]["revenue_account"] = "7010"
    (params / "products.yaml").write_text(yaml.safe_dump(products))
    with pytest.raises(ParameterError, match=r"account '7010' is expense; expected income"):
        load_invoicing(params)


def test_a_wrong_iban_is_refused(tmp_path):
    params = parameters_copy(tmp_path)
    text = (params / "seller.yaml").read_text().replace("NL91ABNA0417164300", "NL92ABNA0417164300")
    (params / "seller.yaml").write_text(text)
    with pytest.raises(
        ParameterError, match=r"seller.yaml, line 22, entry payment.iban: .*check digits"
    ):
        load_invoicing(params)


def test_a_seller_email_address_that_is_not_one_is_refused(tmp_path):
    """The seller's address is where customers answer, printed on every invoice and in the UBL."""
    params = parameters_copy(tmp_path)
    seller = params / "seller.yaml"
    seller.write_text(seller.read_text().replace("email: ", "email: billing@@", 1))
    with pytest.raises(
        ParameterError,
        match=r"seller.yaml, line 9, entry email: expected an e-mail address such as "
        r"billing@example.com: "
        r"The part after the @-sign contains invalid characters: '@'",
    ):
        load_invoicing(params)


def test_an_iban_of_another_length_than_its_country_s_is_refused(tmp_path):
    """Check digits right (recomputed), one digit short for a Dutch IBAN: python-stdnum knows each
    country's IBAN length and form."""
    params = parameters_copy(tmp_path)
    text = (
        (params / "seller.yaml")
        .read_text()
        .replace("iban: NL91ABNA0417164300", "iban: NL58ABNA041716430")
    )
    (params / "seller.yaml").write_text(text)
    with pytest.raises(
        ParameterError, match=r"seller.yaml, line 22, entry payment.iban: expected an IBAN such as"
    ):
        load_invoicing(params)


def test_a_wrong_seller_vat_number_is_refused(tmp_path):
    """The seller's own VAT number is on every invoice and e-invoice: checked like a customer's."""
    params = parameters_copy(tmp_path)
    text = (params / "seller.yaml").read_text().replace("NL867890125B01", "NL867890126B01")
    (params / "seller.yaml").write_text(text)
    with pytest.raises(
        ParameterError,
        match=r"seller.yaml, line 7, entry vat_number: expected a valid NL VAT number: its check "
        r"digits "
        r"do not match \(a digit mistyped\?\); got 'NL867890126B01'",
    ):
        load_invoicing(params)


def test_a_product_group_products_yaml_lacks_is_refused_when_the_parameters_are_read(tmp_path):
    """A typo in a rule's or a custom line's product_group stopped the run at its invoices, after
    the import and the rating; now when the parameters are read, with the group it likely means."""
    from billing_lib.run_state import load_settings

    params = parameters_copy(tmp_path)
    plans = params / "price_plans.yaml"
    text = plans.read_text(encoding="utf-8")
    seat = "description: Microsoft 365 Business Premium (per user per month)}"
    assert seat in text
    line = next(n for n, row in enumerate(text.splitlines(), 1) if seat in row)  # found, not fixed
    plans.write_text(
        text.replace(seat, seat[:-1] + ", product_group: microsoft_licence}"), encoding="utf-8"
    )
    with pytest.raises(ParameterError) as raised:
        load_settings(params)
    assert str(raised.value).startswith(
        f"{plans}, line {line}, column 76, entry plans[id=smb].rules[id=m365-bp-seat]."
        "product_group: expected a product "
        "group of products.yaml (did you mean 'microsoft_licences'?); got 'microsoft_licence'; "
        "known: ['aws', "
    )
    plans.write_text(text, encoding="utf-8")
    custom = params / "custom_lines.yaml"
    custom.write_text(
        custom.read_text(encoding="utf-8").replace(
            "product_group: managed_services}", "product_group: managed_servics}", 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(ParameterError, match=r"custom_lines\[id=c001-management\]\.product_group"):
        load_settings(params)


def test_a_custom_credit_described_as_a_fee_is_a_line_of_its_own_not_summed_into_the_fee(
    tmp_path,
):
    """A custom credit with the description of a fee of the same product group (a credit of
    50.00 on "Managed services" beside the 450.00 fee) was summed into the fee's line:
    "Managed services 2 each 400.00", the credit nowhere and its quantity counted as a charge's.
    It is a line of its own, as a vendor credit is, told apart from the fee by " – credit"."""
    rows = [
        line("C003", "10.00"),
        line(
            "C003",
            "450",
            kind="fee",
            product_group="managed_services",
            description="Managed services",
            unit="each",
        ),
        line(
            "C003",
            "-50",
            kind="credit",
            product_group="managed_services",
            description="Managed services",
            unit="each",
        ),
    ]
    [inv], _ = build(rows, tmp_path)
    assert [
        (ln.description, ln.display_quantity, ln.unit, ln.display_unit_price, ln.amount)
        for ln in inv.lines
        if ln.product_group == "managed_services"
    ] == [
        ("Managed services", D(1), "each", D("450.00"), D("450.00")),
        ("Managed services – credit", D(-1), "each", D("50.00"), D("-50.00")),
    ]
    assert inv.net == D("410.00")
