"""Customer mapping: vendor accounts to customers, by date, with nothing dropped."""

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib import peppol_ids
from billing_lib.customers import (
    UNMAPPED_SQL,
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.errors import ParameterError
from billing_lib.model import LINE_COLUMN_NAMES, VENDOR_NAMES
from billing_lib.store import open_store

REPO = Path(__file__).resolve().parents[1]

CUSTOMERS = """
customers:
  - id: C1
    name: Alpha B.V.
    address: [Kade 1, 1011 AA Amsterdam]
    country: NL
    vat_number: NL000000008B01
    invoice_currency: EUR
  - id: C2
    name: Beta GmbH
    address: [Strasse 2, 10115 Berlin]
    country: DE
    vat_number: DE123456788
    invoice_currency: EUR
    vat_rule: eu_reverse_charge
"""


def write_params(tmp_path: Path, customers: str = CUSTOMERS, accounts: str = "") -> Path:
    (tmp_path / "customers.yaml").write_text(customers)
    (tmp_path / "accounts.csv").write_text(
        "vendor,account_id,customer_id,valid_from,valid_to,note\n" + accounts
    )
    return tmp_path


def add_line(
    con, vendor: str, account: str, start: str, cost: str, row: int, subscription: str | None = None
) -> None:
    values = {c: None for c in LINE_COLUMN_NAMES}
    values.update(
        x_Vendor=vendor,
        SubAccountId=account,
        x_SubscriptionId=subscription,
        ChargePeriodStart=datetime.fromisoformat(start),
        BilledCost=Decimal(cost),
        BillingCurrency="USD",
        ChargeCategory="Usage",
        ProviderName="AWS",
        x_Format="test",
        x_SourceFile="test.csv",
        x_SourceRow=row,
    )
    cols = ", ".join(f'"{c}"' for c in values)
    con.execute(
        f"INSERT INTO lines ({cols}) VALUES ({', '.join('?' for _ in values)})",
        list(values.values()),
    )


def test_an_account_that_moves_mid_month_follows_the_charge_date(tmp_path):
    params = write_params(
        tmp_path,
        accounts=(
            "aws,111,C1,,2026-10-14,moved to Beta on the 15th\n"
            "aws,111,C2,2026-10-15,,\n"
            "microsoft,tenant-1,C2,,,\n"
        ),
    )
    customers = load_customers(params)
    con = open_store()
    add_line(con, "aws", "111", "2026-10-14 23:00:00", "1.10", 2)
    add_line(con, "aws", "111", "2026-10-15 00:00:00", "2.20", 3)
    add_line(con, "microsoft", "tenant-1", "2026-10-01 00:00:00", "3.30", 4)
    add_line(con, "aws", "999", "2026-10-02 00:00:00", "4.40", 5)
    add_line(con, "aws", "999", "2026-10-03 00:00:00", "0.05", 6)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    got = con.execute("SELECT x_SourceRow, x_CustomerId FROM customer_lines ORDER BY 1").fetchall()
    assert got == [(2, "C1"), (3, "C2"), (4, "C2"), (5, None), (6, None)]
    [unmapped] = con.execute(UNMAPPED_SQL).fetchall()
    assert unmapped[:2] == ("aws", "999")
    assert unmapped[4:6] == (2, Decimal("4.45"))


def test_a_subscription_row_wins_over_its_tenants_row_on_its_dates(tmp_path):
    """A tenant shared by two customers (a subsidiary billed apart): the row of one of its
    subscriptions maps that subscription's lines on the row's dates, the tenant's row the rest.
    The subscription's row was ignored and all went to the tenant's customer without a word.
    Every line stays once: billed + unmapped = the lines' total."""
    params = write_params(
        tmp_path,
        accounts=(
            "microsoft,tenant-1,C1,,,shared tenant\n"
            "microsoft,sub-b,C2,2026-10-10,,subsidiary from the 10th\n"
            "microsoft,sub-c,C2,,,subscription of an unmapped tenant\n"
        ),
    )
    customers = load_customers(params)
    con = open_store()
    add_line(con, "microsoft", "tenant-1", "2026-10-09", "1.10", 2, "sub-b")  # before its row
    add_line(con, "microsoft", "tenant-1", "2026-10-10", "2.20", 3, "sub-b")
    add_line(con, "microsoft", "tenant-1", "2026-10-31", "3.30", 4, "sub-b")
    add_line(con, "microsoft", "tenant-1", "2026-10-10", "4.40", 5, "sub-a")  # no row of its own
    add_line(con, "microsoft", "tenant-1", "2026-10-10", "5.50", 6)  # names no subscription
    add_line(con, "microsoft", "tenant-2", "2026-10-10", "6.60", 7, "sub-c")
    add_line(con, "microsoft", "tenant-2", "2026-10-10", "7.70", 8, "sub-d")
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    got = con.execute("SELECT x_SourceRow, x_CustomerId FROM customer_lines ORDER BY 1").fetchall()
    assert got == [(2, "C1"), (3, "C2"), (4, "C2"), (5, "C1"), (6, "C1"), (7, "C2"), (8, None)]
    by_customer = dict(
        con.execute(
            "SELECT x_CustomerId, sum(BilledCost) FROM customer_lines GROUP BY 1"
        ).fetchall()
    )
    assert by_customer == {"C1": Decimal("11.00"), "C2": Decimal("12.10"), None: Decimal("7.70")}
    # the unmapped report names the tenant, as before
    [unmapped] = con.execute(UNMAPPED_SQL).fetchall()
    assert unmapped[:2] == ("microsoft", "tenant-2")
    assert unmapped[4:6] == (1, Decimal("7.70"))
    assert sum(by_customer.values()) == Decimal("30.80")


def test_a_vendor_written_in_capitals_maps_its_lines(tmp_path):
    # "AWS" as a person writes it; every format names the vendor in lower case
    params = write_params(tmp_path, accounts="AWS,111,C1,,,\nMicrosoft,Tenant-1,C2,,,\n")
    customers = load_customers(params)
    con = open_store()
    add_line(con, "aws", "111", "2026-10-14 23:00:00", "1.10", 2)
    add_line(con, "microsoft", "tenant-1", "2026-10-01 00:00:00", "3.30", 3)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    got = con.execute("SELECT x_SourceRow, x_CustomerId FROM customer_lines ORDER BY 1").fetchall()
    assert got == [(2, "C1"), (3, "C2")]


def test_a_vendor_by_another_name_and_an_aws_id_as_the_console_shows_it_map_their_lines(tmp_path):
    """``azure`` for an Azure subscription (its lines are ``microsoft``, as FOCUS names them too)
    and ``4027-1938-5610`` as the AWS console shows the account 402719385610: their lines were
    left unmapped, and the unmapped report proposed a new customer for them."""
    params = write_params(
        tmp_path,
        accounts=(
            "Azure,AB12CD34-0000-4000-8000-000000000001,C1,,,\n"
            "aws,4027-1938-5610,C2,,,as the console shows it\n"
            "Amazon Web Services,1234 5678 9012,C1,,,\n"
        ),
    )
    customers = load_customers(params)
    con = open_store()
    add_line(con, "microsoft", "ab12cd34-0000-4000-8000-000000000001", "2026-10-02", "1.10", 2)
    add_line(con, "aws", "402719385610", "2026-10-02 00:00:00", "2.20", 3)
    add_line(con, "aws", "123456789012", "2026-10-02 00:00:00", "3.30", 4)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    got = con.execute("SELECT x_SourceRow, x_CustomerId FROM customer_lines ORDER BY 1").fetchall()
    assert got == [(2, "C1"), (3, "C2"), (4, "C1")]


def test_a_microsoft_tenant_id_in_braces_maps_its_lines(tmp_path):
    """``{AB12CD34-...}`` as the registry, PowerShell and some portals copy a GUID: it mapped no
    line, and the unmapped report proposed a new customer for a tenant accounts.csv holds."""
    params = write_params(
        tmp_path, accounts="microsoft,{AB12CD34-0000-4000-8000-000000000001},C1,,,\n"
    )
    customers = load_customers(params)
    con = open_store()
    add_line(con, "microsoft", "ab12cd34-0000-4000-8000-000000000001", "2026-10-02", "1.10", 2)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    got = con.execute("SELECT x_SourceRow, x_CustomerId FROM customer_lines").fetchall()
    assert got == [(2, "C1")]


def test_one_account_mapped_under_two_names_of_its_vendor_is_refused(tmp_path):
    params = write_params(tmp_path, accounts="microsoft,T-1,C1,,,\nazure,t-1,C2,,,\n")
    with pytest.raises(
        ParameterError, match=r"entry row 3: account microsoft/t-1 is already mapped.*row 2"
    ):
        load_account_mappings(params, load_customers(params))


def test_the_other_names_of_a_vendor_are_those_the_focus_importer_reads():
    """VENDOR_NAMES and the FOCUS format's x_Vendor agree: a name read as one vendor in a report
    is read as that vendor in accounts.csv."""
    spec = (REPO / "billing_lib" / "importers" / "formats" / "focus.yaml").read_text()
    focus = {
        name: vendor
        for names, vendor in re.findall(r"\"ProviderName\"\)\) IN \(([^)]*)\) THEN '(\w+)'", spec)
        for name in re.findall(r"'([^']*)'", names)
        if name != vendor
    }
    assert focus == VENDOR_NAMES


def test_overlapping_mappings_for_one_account_are_refused_with_the_row(tmp_path):
    params = write_params(tmp_path, accounts="aws,111,C1,,2026-10-20,\naws,111,C2,2026-10-15,,\n")
    with pytest.raises(
        ParameterError, match=r"accounts.csv, entry row 3: account aws/111 is already mapped.*row 2"
    ):
        load_account_mappings(params, load_customers(params))


def test_an_unknown_customer_in_the_mapping_names_row_and_column(tmp_path):
    params = write_params(tmp_path, accounts="aws,111,C9,,,\n")
    with pytest.raises(ParameterError, match=r"row 2, column customer_id: unknown customer 'C9'"):
        load_account_mappings(params, load_customers(params))


def test_an_account_id_with_a_spreadsheet_s_text_apostrophe_names_row_and_column(tmp_path):
    """``'402719385610``, the apostrophe a spreadsheet's user types to keep a number as text,
    copied into accounts.csv: the row mapped no line, and the run listed 402719385610 as an
    account accounts.csv lacks, though the row was there."""
    params = write_params(tmp_path, accounts="aws,111,C1,,,\naws,'402719385610,C1,,,\n")
    with pytest.raises(ParameterError) as err:
        load_account_mappings(params, load_customers(params))
    assert "accounts.csv, entry row 3, column account_id: expected the account id without" in str(
        err.value
    )
    assert 'got "\'402719385610"' in str(err.value)


def test_a_bad_date_in_the_mapping_names_row_and_column(tmp_path):
    params = write_params(tmp_path, accounts="aws,111,C1,2026-13-01,,\n")
    with pytest.raises(ParameterError, match=r"row 2, column valid_from"):
        load_account_mappings(params, load_customers(params))


def test_a_mapping_saved_in_a_spreadsheets_code_page_names_the_row(tmp_path):
    """`Zürich` in latin-1 (a spreadsheet's save): the row and the byte, not a traceback."""
    params = write_params(tmp_path, accounts="aws,111,C1,,,\naws,222,C1,,,office\n")
    accounts = params / "accounts.csv"
    accounts.write_bytes(accounts.read_bytes() + "aws,333,C1,,,Zürich\n".encode("latin-1"))
    with pytest.raises(ParameterError, match=r"accounts.csv, entry row 4: expected UTF-8 text; "
                       r"found the byte 0xfc \(save the file as CSV UTF-8\)"):  # fmt: skip
        load_account_mappings(params, load_customers(params))


@pytest.mark.parametrize(
    ("header", "what"),
    [
        ("valid_until", "'valid_until' is not one the run reads (did you mean 'valid_to'?)"),
        ("Valid To", "'Valid To' is not one the run reads (did you mean 'valid_to'?)"),
        ("valid_from", "'valid_from' is given twice"),
    ],
    ids=["misspelt", "as-a-person-writes-it", "twice"],
)
def test_a_column_of_the_mapping_the_run_does_not_read_is_refused(tmp_path, header, what):
    """An account that left Alpha on the 14th, its end under a header ``valid_until``: the
    column was not read, the mapping had no end, and usage of the 20th was billed to Alpha
    without a word."""
    (tmp_path / "customers.yaml").write_text(CUSTOMERS)
    (tmp_path / "accounts.csv").write_text(
        f"vendor,account_id,customer_id,valid_from,{header},note\naws,111,C1,,2026-10-14,left\n"
    )
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(tmp_path, load_customers(tmp_path))
    assert str(raised.value).startswith(
        f"{tmp_path / 'accounts.csv'}, entry row 1: the column {what}; expected the columns "
        "vendor, account_id, customer_id, valid_from, valid_to, note, each once"
    )


def test_empty_rows_a_spreadsheet_saves_are_skipped_and_an_empty_cell_is_named(tmp_path):
    """A spreadsheet saves rows it once formatted as ``,,,,,``: they stopped the run with
    "Input should be a valid string; got None" for each column, as a row missing its customer
    still is, told in words."""
    params = write_params(tmp_path, accounts="aws,111,C1,,,\n,,,,,\n,,,,,\n")
    [mapping] = load_account_mappings(params, load_customers(params))
    assert (mapping.account_id, mapping.customer_id) == ("111", "C1")
    params = write_params(tmp_path, accounts="aws,111,C1,,,\naws,222,,,,\n")
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    assert str(raised.value) == (
        f"{params / 'accounts.csv'}, entry row 3, column customer_id: expected a value; the cell "
        "is empty"
    )


def test_reverse_charge_without_a_vat_number_is_refused(tmp_path):
    params = write_params(
        tmp_path, customers=CUSTOMERS.replace("    vat_number: DE123456788\n", "")
    )
    with pytest.raises(ParameterError, match=r"customers\[id=C2\].*VAT number"):
        load_customers(params)


@pytest.mark.parametrize("blank", ['""', '"  "'])
def test_reverse_charge_with_a_blank_vat_number_is_refused_naming_the_field(tmp_path, blank):
    """A number of spaces passed when customers.yaml was read (only the billing refused it)."""
    params = write_params(
        tmp_path, customers=CUSTOMERS.replace("vat_number: DE123456788", f"vat_number: {blank}")
    )
    written = (params / "customers.yaml").read_text().splitlines()
    at = next(n for n, t in enumerate(written, 1) if f"vat_number: {blank}" in t)
    with pytest.raises(ParameterError) as raised:
        load_customers(params)
    assert str(raised.value) == (
        f"{params / 'customers.yaml'}, line {at}, entry customers[id=C2].vat_number: the reverse "
        "charge (vat_rule eu_reverse_charge) needs the customer's VAT number, printed on the "
        "invoice (Art. 226(4) Directive 2006/112/EC)"
    )


def test_a_duplicate_customer_id_is_refused(tmp_path):
    params = write_params(tmp_path, customers=CUSTOMERS.replace("id: C2", "id: C1"))
    with pytest.raises(ParameterError, match=r"customers\[id=C1\]: the id is used twice"):
        load_customers(params)


def test_two_customer_ids_differing_only_in_case_are_refused(tmp_path):
    """``C1`` and ``c1``: loaded as two customers, so an accounts.csv or custom line typed ``c1``
    for ``C1`` billed the other customer without a word (and their files differ only in case,
    one file on Windows and macOS)."""
    params = write_params(tmp_path, customers=CUSTOMERS.replace("id: C2", "id: c1"))
    with pytest.raises(ParameterError) as err:
        load_customers(params)
    message = str(err.value)
    assert "customers.yaml" in message and "customers[id=c1]" in message
    assert "differs from the id 'C1' only in case" in message


def test_a_bad_field_names_the_customer(tmp_path):
    params = write_params(
        tmp_path,
        customers=CUSTOMERS.replace(
            "invoice_currency: EUR\n  - id: C2", "invoice_currency: euro\n  - id: C2"
        ),
    )
    with pytest.raises(ParameterError, match=r"customers\[id=C1\]\.invoice_currency"):
        load_customers(params)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        # one digit mistyped: the check digits of a Dutch btw number do not match
        (
            "NL000000001B01",
            "expected a valid NL VAT number: its check digits do not match (a digit mistyped?); "
            "got 'NL000000001B01'",
        ),
        (
            "DE12345678",
            "expected a valid DE VAT number: it has the wrong number of characters for DE; "
            "got 'DE12345678'",
        ),
        # the country's letters left out: YAML reads a number
        (
            "123456788",
            "expected a VAT number starting with its country's two letters (e.g. NL, BE, DE; EL "
            "for Greece), as the e-invoice needs it; got 123456788",
        ),
        # two letters that are no country's: the e-invoice's VAT identifier fails EN 16931
        # BR-CO-09 (an ISO 3166-1 code, EL or XI), fatal, however a British number is written
        (
            "UK 123 4567 89",
            "expected a VAT number starting with its country's two letters (e.g. NL, BE, DE; EL "
            "for Greece), as the e-invoice needs it (EN 16931 BR-CO-09): UK is not one, the code "
            "of United Kingdom is GB; got 'UK 123 4567 89'",
        ),
        (
            "EIN 12-3456789",
            "expected a VAT number starting with its country's two letters (e.g. NL, BE, DE; EL "
            "for Greece), as the e-invoice needs it (EN 16931 BR-CO-09): EI is not one; "
            "got 'EIN 12-3456789'",
        ),
    ],
)
def test_a_vat_number_that_is_not_valid_is_refused_naming_the_customer(tmp_path, number, expected):
    """A reverse-charge invoice with the customer's VAT number wrong is no reverse-charge invoice:
    each number is checked as its country defines it (python-stdnum), before anything is billed."""
    wrong = "DE123456788" if number.startswith(("DE", "1")) else "NL000000008B01"
    customer = "C2" if wrong.startswith("DE") else "C1"
    params = write_params(tmp_path, customers=CUSTOMERS.replace(wrong, number))
    with pytest.raises(ParameterError) as raised:
        load_customers(params)
    line = 7 if customer == "C1" else 13  # the line of the customer's vat_number
    assert str(raised.value) == (
        f"{params / 'customers.yaml'}, line {line}, entry customers[id={customer}].vat_number: "
        f"{expected}"
    )


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("facturen@alpha,nl", "The part after the @-sign contains invalid characters: ','."),
        ("facturen.alpha.nl", "An email address must have an @-sign."),
        ("facturen@alpha", "The part after the @-sign is not valid. It should have a period."),
        (
            "facturen @alpha.nl",
            "The email address contains invalid characters before the @-sign: SPACE.",
        ),
    ],
)
def test_an_email_address_that_is_not_one_is_refused_naming_the_customer(tmp_path, email, expected):
    """Without a Peppol id the e-invoice goes to the customer's e-mail address: a typo in it was
    printed on every invoice and sent as the buyer's electronic address, which no one reads."""
    customers = CUSTOMERS.replace(
        "    invoice_currency: EUR\n  - id: C2",
        f"    invoice_currency: EUR\n    email: {email}\n  - id: C2",
    )
    params = write_params(tmp_path, customers=customers)
    with pytest.raises(ParameterError) as raised:
        load_customers(params)
    assert str(raised.value) == (
        f"{params / 'customers.yaml'}, line 9, entry customers[id=C1].email: expected an e-mail "
        f"address such as billing@example.com: {expected}; got {email!r}"
    )


def test_an_email_address_keeps_its_form_and_may_have_an_international_domain(tmp_path):
    """Capitals and an internationalised domain are e-mail addresses; the invoice prints the
    address as written."""
    customers = CUSTOMERS.replace(
        "    invoice_currency: EUR\n  - id: C2",
        "    invoice_currency: EUR\n    email: Facturen@Alpha.NL\n  - id: C2",
    ).replace(
        "    vat_rule: eu_reverse_charge\n",
        "    vat_rule: eu_reverse_charge\n    email: rechnung@bücher.de\n",
    )
    loaded = load_customers(write_params(tmp_path, customers=customers))
    assert [c.email for c in loaded.values()] == ["Facturen@Alpha.NL", "rechnung@bücher.de"]


def test_a_vat_number_is_read_as_people_write_it(tmp_path):
    """Spaces, dots and dashes, lower case, the Swiss MWST suffix; a country without VAT rules in
    python-stdnum is checked for its prefix only. The invoice prints the number as written."""
    written = {
        "NL000000008B01": "nl 0000.00.008 b01",
        "DE123456788": "DE 123 456 788",
    }
    customers = CUSTOMERS
    for valid, spaced in written.items():
        customers = customers.replace(valid, spaced)
    customers += (
        "  - id: C3\n    name: Gamma AG\n    address: [Bahnhofstrasse 1, 8001 Zürich]\n"
        "    country: CH\n    vat_number: CHE-123.456.788 MWST\n    invoice_currency: CHF\n"
        "  - id: C4\n    name: Delta Pty Ltd\n    address: [1 George St, Sydney NSW 2000]\n"
        "    country: AU\n    vat_number: AU 51 824 753 556\n    invoice_currency: AUD\n"
    )
    loaded = load_customers(write_params(tmp_path, customers=customers))
    assert [c.vat_number for c in loaded.values()] == [
        "nl 0000.00.008 b01",
        "DE 123 456 788",
        "CHE-123.456.788 MWST",
        "AU 51 824 753 556",
    ]


def test_a_line_grouping_typo_is_refused_when_the_customers_are_read(tmp_path):
    """Found when the invoices were built, after the import and the rating (minutes at ten
    million lines); now when customers.yaml is read, naming the file in full."""
    params = write_params(
        tmp_path,
        customers=CUSTOMERS.replace(
            "    invoice_currency: EUR\n  - id: C2",
            "    invoice_currency: EUR\n    line_grouping: [vendor, services]\n  - id: C2",
        ),
    )
    with pytest.raises(ParameterError) as raised:
        load_customers(params)
    assert str(raised.value) == (
        f"{params / 'customers.yaml'}, line 9, entry customers[id=C1].line_grouping: expected "
        "vendor, service, subscription, sku, provider, publisher or tag:<key>; got 'services'"
    )


@pytest.mark.parametrize(
    ("peppol_id", "expected"),
    [
        ("0208:0456789123", "expected a Belgian enterprise number (KBO/BCE, 10 digits) after"),
        ("9930:DE123456789", "expected a German VAT number after scheme 9930"),
        ("0106:3012345", "expected a Dutch Chamber of Commerce (KvK) number of 8 digits"),
        ("0088:8712345678907", "expected a GLN (13 digits with their check digit)"),
    ],
)
def test_a_peppol_id_with_a_digit_mistyped_is_refused(tmp_path, peppol_id, expected):
    """The e-invoice is delivered to the peppol_id: one that fails its scheme's check digits or
    form is an address no one has, and the invoice comes back undelivered."""
    customers = CUSTOMERS.replace(
        "    vat_rule: eu_reverse_charge\n",
        f'    vat_rule: eu_reverse_charge\n    peppol_id: "{peppol_id}"\n',
    )
    with pytest.raises(ParameterError) as raised:
        load_customers(write_params(tmp_path, customers=customers))
    assert f"entry customers[id=C2].peppol_id: {expected}" in str(raised.value)


@pytest.mark.parametrize(
    ("peppol_id", "expected"),
    [
        # 0106 (KvK) with a digit dropped and one added: four digits, no scheme
        ("0016:30123456", "scheme 0016 is not in Peppol's electronic address scheme list"),
        ("9999:12345678", "scheme 9999 is not in Peppol's electronic address scheme list"),
        # a scheme of the EN 16931 list Peppol does not deliver to (9901 was retired, Danish CVR
        # is 0184 now)
        ("9902:13585628", "scheme 9902 is not in Peppol's electronic address scheme list"),
    ],
)
def test_a_peppol_id_of_a_scheme_peppol_does_not_know_is_refused(tmp_path, peppol_id, expected):
    """The scheme is the first half of the address (BR-CL-25, PEPPOL-EN16931-CL008): one not in
    the CEF EAS code list made an e-invoice every access point refuses, written without a word
    (only schemes with a check of their own were checked)."""
    customers = CUSTOMERS.replace(
        "    vat_rule: eu_reverse_charge\n",
        f'    vat_rule: eu_reverse_charge\n    peppol_id: "{peppol_id}"\n',
    )
    with pytest.raises(ParameterError) as raised:
        load_customers(write_params(tmp_path, customers=customers))
    assert f"entry customers[id=C2].peppol_id: {expected}" in str(raised.value)


def test_the_schemes_read_are_the_en_16931_code_list_s():
    """The EAS list the parameters are checked by is the CEN validation artefacts' (BR-CL-25),
    Peppol's four-digit codes of it: an update of the artefacts that adds or retires a scheme
    fails here, not in a customer's access point."""
    from tests.ubl_validation import artefacts

    xslt = (artefacts() / "EN16931-UBL-validation.xslt").read_text(encoding="utf-8")
    before = xslt[: xslt.index('<xsl:attribute name="id">BR-CL-25<')]
    listed = re.findall(r"' (0002 [0-9A-Z ]+) '", before)[-1]
    codes = {c for c in listed.split() if c.isdigit()}
    assert codes == set(peppol_ids.EAS_SCHEMES)


def test_peppol_ids_of_their_schemes_or_of_schemes_without_a_rule_are_read(tmp_path):
    for peppol_id in ("0208:0456789133", "9930:DE123456788", "0106:30123456", "0088:8712345678906",
                      "9957:FR12345678901"):  # fmt: skip
        customers = CUSTOMERS.replace(
            "    vat_rule: eu_reverse_charge\n",
            f'    vat_rule: eu_reverse_charge\n    peppol_id: "{peppol_id}"\n',
        )
        assert load_customers(write_params(tmp_path, customers=customers))["C2"].peppol_id == (
            peppol_id
        )


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("0208:0456.789.133", "0208:0456789133"),
        ("0208:BE0456.789.133", "0208:0456789133"),
        ("0007:556036-0793", "0007:5560360793"),
        ("9944:NL8123.45.678.B01", "9944:NL812345678B01"),
        ("9930:DE123456788", "9930:DE123456788"),
        # PEPPOL-COMMON-R042: a CVR number is 8 digits, or DK and 8 digits; nothing else
        ("0184:dk13585628", "0184:DK13585628"),
        ("0184:DK13585628", "0184:DK13585628"),
    ],
)
def test_a_peppol_id_written_as_people_write_it_is_read_in_its_compact_form(
    tmp_path, written, read
):
    """A Belgian enterprise number as Belgians write it (0456.789.133) passed the check digits and
    went into the e-invoice as written: an EndpointID that fails PEPPOL-COMMON-R043 (fatal: ten
    digits) and that no Peppol directory knows."""
    customers = CUSTOMERS.replace(
        "    vat_rule: eu_reverse_charge\n",
        f'    vat_rule: eu_reverse_charge\n    peppol_id: "{written}"\n',
    )
    assert load_customers(write_params(tmp_path, customers=customers))["C2"].peppol_id == read


@pytest.mark.parametrize(
    ("country", "vat_number", "registration", "expected"),
    [
        ("DK", "DK13585628", "13585629", "expected a Danish CVR number (the e-invoice states it"),
        ("DK", "DK13585628", "CVR 13585628", "expected a Danish CVR number"),
        ("BE", "BE0456789133", "0456.789.134", "expected a Belgian enterprise number"),
        ("NL", "NL000000008B01", "KvK 3012345", "expected a Dutch Chamber of Commerce (KvK)"),
    ],
)
def test_a_register_number_its_e_invoice_scheme_refuses_is_named(
    tmp_path, country, vat_number, registration, expected
):
    """The e-invoice states chamber_of_commerce as the legal registration with its country's
    scheme (0184 for a Danish CVR number): one that fails the scheme's form or check digits was
    written as given, and Peppol refused the e-invoice (PEPPOL-COMMON-R042, R043: fatal)."""
    customers = CUSTOMERS.replace(
        "    country: DE\n    vat_number: DE123456788\n",
        f"    country: {country}\n    vat_number: {vat_number}\n"
        f'    chamber_of_commerce: "{registration}"\n',
    )
    with pytest.raises(ParameterError) as raised:
        load_customers(write_params(tmp_path, customers=customers))
    assert f"entry customers[id=C2].chamber_of_commerce: {expected}" in str(raised.value)
    assert repr(registration) in str(raised.value)
    for valid in ("13585628", "DK 13 58 56 28") if country == "DK" else ():
        fine = customers.replace(registration, valid)
        assert load_customers(write_params(tmp_path, fine))["C2"].chamber_of_commerce == valid


@pytest.mark.parametrize(
    ("lines", "key", "expected"),
    [
        (
            '    postal_code: "MA 02210"\n',
            "postal_code",
            "expected a ZIP code (02210 or 02210-1234);",
        ),
        ("    state: Massachusetts\n", "state", "expected the code of a US state (AA, AE, AK,"),
    ],
)
def test_a_us_state_in_the_zip_code_or_by_its_name_is_refused(tmp_path, lines, key, expected):
    """The state went into postal_code ("MA 02210"): the e-invoice's PostalZone was no ZIP code
    and its CountrySubentity (BT-54) empty. It has its own key, state, with the state's code."""
    customers = CUSTOMERS.replace(
        "    country: DE\n    vat_number: DE123456788\n",
        "    country: US\n    vat_number: null\n" + lines,
    ).replace("vat_rule: eu_reverse_charge", "vat_rule: export")
    with pytest.raises(ParameterError) as raised:
        load_customers(write_params(tmp_path, customers=customers))
    assert f"entry customers[id=C2].{key}: {expected}" in str(raised.value)
    fine = customers.replace(lines, '    postal_code: "02210"\n    state: MA\n')
    loaded = load_customers(write_params(tmp_path, customers=fine))["C2"]
    assert (loaded.postal_code, loaded.state) == ("02210", "MA")


#: CUSTOMERS with a header of comments and a blank line between the customers: an entry's line is
#: not its index (C2 starts on line 14, its invoice_currency on line 19).
COMMENTED = "# Customers of the reseller.\n#\n# One entry per customer.\n" + CUSTOMERS.replace(
    "  - id: C2", "\n  # Beta: reverse charge\n  - id: C2"
)


@pytest.mark.parametrize(
    ("old", "new", "place", "entry", "fragment"),
    [
        # a value the model refuses (pydantic)
        ("invoice_currency: EUR\n    vat_rule", "invoice_currency: euro\n    vat_rule", "line 19",
         "customers[id=C2].invoice_currency", "three-letter currency code"),
        # a check of the loaded customers
        ("vat_rule: eu_reverse_charge", "vat_rule: eu_reverse_charge\n    line_grouping: [colour]",
         "line 21", "customers[id=C2].line_grouping", "got 'colour'"),
        # an id given twice: both entries
        ("id: C2", "id: C1", "lines 6 and 14", "customers[id=C1]", "the id is used twice"),
    ],
)  # fmt: skip
def test_an_error_of_customers_yaml_names_the_line(tmp_path, old, new, place, entry, fragment):
    """An analyst with a 2,000-line customers.yaml counted the entries by hand to find the one an
    error named: the line is named with the entry."""
    assert old in COMMENTED
    params = write_params(tmp_path, customers=COMMENTED.replace(old, new))
    with pytest.raises(ParameterError) as raised:
        load_customers(params)
    message = str(raised.value)
    assert message.startswith(f"{params / 'customers.yaml'}, {place}, entry {entry}: "), message
    assert fragment in message
    assert raised.value.line == int(place.split()[1])


def test_a_blank_line_counts_as_a_row_in_the_row_a_message_names(tmp_path):
    """A blank line between the mappings (a text editor's, or an empty row a spreadsheet saves
    as one) is a row in the spreadsheet and a line in the editor: the row named after it was one
    too low, pointing the analyst at the row above the wrong one."""
    params = write_params(tmp_path, accounts="aws,111,C1,,,\n\naws,222,C9,,,\n")
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    assert str(raised.value).startswith(
        f"{params / 'accounts.csv'}, entry row 4, column customer_id: unknown customer 'C9'"
    )
    (params / "accounts.csv").write_bytes(
        b"vendor,account_id,customer_id,valid_from,valid_to,note\r\n\r\naws,111,C1,,,\r\n"
    )
    [mapping] = load_account_mappings(params, load_customers(params))
    assert mapping.row == 3


@pytest.mark.parametrize(
    "written",
    [
        '"""402719385610"""',  # quoted twice: the quotes are part of the value
        "4027\u00a01938\u00a05610",  # non-breaking spaces between the console's groups
        "402719385610\u200b",  # a zero-width space pasted from a web page
        "40271 9385610",
        "402719385610.0",  # a spreadsheet's number with its decimals
        "4.02719E11",  # scientific notation without the exponent's +
    ],
)
def test_an_aws_account_id_that_is_not_digits_is_refused_naming_row_and_column(tmp_path, written):
    """An AWS account id is digits only: a row holding quotes, a space of any kind or a number
    as a spreadsheet writes it mapped no line, and loaded without a word: its lines went to the
    unmapped report and ``billing customers sync`` proposed a new customer for an account the
    row means."""
    params = write_params(tmp_path, accounts=f"aws,111,C1,,,\naws,{written},C2,,,\n")
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    message = str(raised.value)
    assert message.startswith(f"{params / 'accounts.csv'}, entry row 3, column account_id: ")
    assert "expected the AWS account id in digits only" in message


@pytest.mark.parametrize(
    ("vendor", "written", "shown"),
    [
        ("microsoft", "de6799dd-16e2-4542-8982-fcd5407b50a3\u200b", "'\\u200b'"),
        ("microsoft", '"""de6799dd-16e2-4542-8982-fcd5407b50a3"""', "'\"'"),
        ("vmware", "schelde\u00a0data", "'\\xa0'"),
        ("vmware", "\ufeffschelde-data", "'\\ufeff'"),
    ],
)
def test_an_account_id_holding_quotes_or_an_invisible_character_is_refused(
    tmp_path, vendor, written, shown
):
    """No vendor writes a quote, a non-breaking, zero-width or byte-order-mark character in an
    id: a row holding one (pasted from a web page or a mail) mapped no line and loaded without
    a word, its lines left unmapped."""
    params = write_params(tmp_path, accounts=f"aws,111,C1,,,\n{vendor},{written},C2,,,\n")
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    message = str(raised.value)
    assert message.startswith(f"{params / 'accounts.csv'}, entry row 3, column account_id: ")
    assert f"found {shown} in it" in message


def test_a_comment_line_in_the_mapping_is_skipped_and_counted_as_a_row(tmp_path):
    """A line starting with ``#`` (a heading typed by hand, or a row put out of use) stopped the
    run with "column account_id: expected a value; the cell is empty", a cell the analyst never
    meant to fill; it is a comment, and still a row for the rows named below it."""
    params = write_params(
        tmp_path,
        accounts="# AWS accounts, by team\naws,111,C1,,,\n#aws,222,C2,,,left in September\n"
        "aws,333,C9,,,\n",
    )
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    assert str(raised.value).startswith(
        f"{params / 'accounts.csv'}, entry row 5, column customer_id: unknown customer 'C9'"
    )
    (params / "accounts.csv").write_text(
        (params / "accounts.csv").read_text().replace("aws,333,C9", "aws,333,C2")
    )
    mappings = load_account_mappings(params, load_customers(params))
    assert [(m.row, m.account_id, m.customer_id) for m in mappings] == [
        (3, "111", "C1"),
        (5, "333", "C2"),
    ]


def test_a_move_whose_dates_touch_says_both_ends_are_inclusive(tmp_path):
    """An account moved on the 16th written as ``valid_to 2026-10-16`` on the old row and
    ``valid_from 2026-10-16`` on the new one, as if the end were exclusive: the message said
    only "already mapped for these dates", leaving the analyst to find out that ``valid_to`` is
    the last day billed to the old customer. It names the day both rows map and the way out."""
    params = write_params(
        tmp_path, accounts="aws,111,C1,,2026-10-16,\naws,111,C2,2026-10-16,,taken over\n"
    )
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    assert str(raised.value) == (
        f"{params / 'accounts.csv'}, entry row 3, column valid_from: account aws/111 is already "
        "mapped for these dates in row 2 (to C1), both on 2026-10-16: valid_from and valid_to "
        "are inclusive, each day billed once; end row 2 on 2026-10-15 (valid_to, its last day) "
        "or start this row on 2026-10-17"
    )


@pytest.mark.parametrize("domain", ["dijkstraarchitecten.onmicrosoft.com", "Dijkstra.NL"])
def test_a_microsoft_customer_mapped_by_its_domain_is_refused_asking_for_its_tenant_id(
    tmp_path, domain
):
    """Every Microsoft format keys a customer's lines by its tenant id (a GUID), never by its
    domain: a row holding the domain, as the Partner Center customer list shows the customer,
    mapped no line and loaded without a word."""
    params = write_params(tmp_path, accounts=f"aws,111,C1,,,\nmicrosoft,{domain},C2,,,\n")
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    message = str(raised.value)
    assert message.startswith(f"{params / 'accounts.csv'}, entry row 3, column account_id: ")
    assert f"expected the customer's tenant id (a GUID), not its domain {domain.lower()!r}" in (
        message
    )


def test_a_customer_id_typed_in_another_case_names_the_customer_meant(tmp_path):
    """``c1`` for the customer C1 (typed by hand) was refused listing every known id, leaving
    the analyst to see that ids are compared exactly; the message names the one meant."""
    params = write_params(tmp_path, accounts="aws,111,c1,,,\n")
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    assert str(raised.value) == (
        f"{params / 'accounts.csv'}, entry row 2, column customer_id: unknown customer 'c1'; "
        "customer ids are compared exactly: did you mean 'C1'?"
    )


def test_a_move_whose_dates_touch_is_named_also_with_the_new_row_written_first(tmp_path):
    """The new customer's row above the old one's (rows sorted by customer): the touching day
    was told only as "already mapped for these dates"."""
    params = write_params(
        tmp_path, accounts="aws,111,C2,2026-10-16,,taken over\naws,111,C1,,2026-10-16,\n"
    )
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    assert str(raised.value) == (
        f"{params / 'accounts.csv'}, entry row 3, column valid_to: account aws/111 is already "
        "mapped for these dates in row 2 (to C2), both on 2026-10-16: valid_from and valid_to "
        "are inclusive, each day billed once; end this row on 2026-10-15 (valid_to, its last "
        "day) or start row 2 on 2026-10-17"
    )


def test_a_row_given_twice_is_named_as_a_repeat(tmp_path):
    """A row pasted twice (the same account, customer and dates) was refused as "already mapped
    for these dates", as if two customers claimed it; it says the row repeats the other."""
    params = write_params(tmp_path, accounts="aws,111,C1,,,\naws,222,C2,,,\naws,111,C1,,,again\n")
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    assert str(raised.value) == (
        f"{params / 'accounts.csv'}, entry row 4: the row repeats row 2 (aws/111 to C1, the same "
        "dates); remove one of them"
    )
