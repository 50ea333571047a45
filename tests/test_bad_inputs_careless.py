"""Careless input a billing analyst produces from the sample month (samples/2026-10) and the
parameters: a report's column renamed, and others found by running `billing` on damaged copies.
Each case is built in a temp folder and asserts that the file, row and column are named with
what was expected, and that nothing is imported or billed from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from billing_lib.customers import load_account_mappings, load_customers
from billing_lib.errors import InputError, ParameterError
from billing_lib.fx import load_exchange_rates
from billing_lib.importers import import_reports
from billing_lib.importers.renamed_columns import resembles
from billing_lib.pricing.plans import load_price_plans
from billing_lib.review.findings import load_review_settings
from billing_lib.store import open_store
from billing_lib.vat import load_vat_rules
from billing_lib.vendor_prices import load_vendor_prices

ROOT = Path(__file__).resolve().parents[1]
VMWARE = (
    ROOT
    / "samples"
    / "2026-10"
    / "reports"
    / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
)
VMWARE_DATA = ROOT / "tests" / "data" / "vmware-usage"


def test_a_priced_usage_meter_report_with_its_points_column_renamed_is_not_priced_from_the_contract(
    tmp_path,
):
    """`Billable Points` renamed in a spreadsheet ('Billable points (sum)'): the report no longer
    had the columns of the priced layout (vmware_usage_meter), was taken for the priceless one
    (vmware_usage_meter_report) and billed at the contract's prices, its own `Price per Point`
    (here 0.95 a point) ignored without a word. It is refused naming the column."""
    text = VMWARE.read_text(encoding="utf-8")
    text = text.replace("Billable Points", "Billable points (sum)", 1).replace(
        ",0.8640,", ",0.9500,"
    )
    bad = tmp_path / VMWARE.name
    bad.write_text(text, encoding="utf-8")
    con = open_store()
    try:
        import_reports(con, [bad], vendor_prices=load_vendor_prices(VMWARE_DATA))
    except InputError as err:
        message, found = str(err), err.problems
    else:
        raise AssertionError(
            "imported at the contract's price: "
            f"{con.execute('SELECT DISTINCT ListUnitPrice FROM lines').fetchall()}"
        )
    assert message.startswith(f"{bad} (")
    assert {(p.file, p.column, p.value) for p in found} >= {(str(bad), "Price per Point", "0.9500")}
    assert [p.row for p in found] == list(range(2, 16))
    assert "vmware_usage_meter" in found[0].expected and "Billable Points" in found[0].expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


@pytest.mark.parametrize("renamed", ["Unit Price", "Price/Point", "Point Price", "Cost per Point"])
def test_a_usage_meter_report_with_its_price_column_renamed_is_not_priced_from_the_contract(
    tmp_path, renamed
):
    """`Price per Point` renamed to a name of other words (`Unit Price`): the report was taken
    for the priceless layout (vmware_usage_meter_report), which does not read the column, and
    billed at the contract's 0.864 a point, the report's own 0.95 ignored without a word. A
    report priced from the contract that carries a column of prices or amounts no layout reads
    is refused naming the column and a value in it."""
    text = VMWARE.read_text(encoding="utf-8")
    text = text.replace("Price per Point", renamed, 1).replace(",0.8640,", ",0.9500,")
    bad = tmp_path / VMWARE.name
    bad.write_text(text, encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [bad], vendor_prices=load_vendor_prices(VMWARE_DATA))
    assert str(err.value).startswith(f"{bad} (")
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == (str(bad), 1, renamed)
    assert "0.9500" in problem.value
    assert "vendor_prices.yaml" in problem.expected and "'Price per Point'" in problem.expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


@pytest.mark.parametrize(
    ("old", "new", "written"),
    [
        ("kind: markup, percent: 15,", "kind: markup, percent: 15,5,", "15,5"),
        ('unit_price: "22.00"', "unit_price: 22,00", "22,00"),
        ('{up_to: 500, unit_price: "1.10"}', "{up_to: 1,500, unit_price: 1.10}", "1,500"),
    ],
    ids=["percent", "price", "thousands"],
)
def test_a_number_with_a_comma_in_a_flow_mapping_is_named_as_such(tmp_path, old, new, written):
    """`percent: 15,5` inside `{...}` (the sample's price plans write each rule so): YAML reads
    the comma as the end of the entry, so percent 15 and a key 5. It was refused as 'entry
    plans[id=smb].rules[id=aws-15].5: Keys should be strings; got 5', with no line and no word of
    the comma, and `22,00` as the octal number 00. Named by its line, with the number as
    written and how to write it."""
    parameters = tmp_path / "parameters"
    shutil.copytree(ROOT / "parameters", parameters)
    plans = parameters / "price_plans.yaml"
    text = plans.read_text(encoding="utf-8")
    assert old in text
    # the line found in the file, so a comment added above moves it with the entry
    line = next(n for n, row in enumerate(text.splitlines(), 1) if old in row)
    plans.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        load_price_plans(parameters, load_customers(parameters))
    message = str(err.value)
    assert message.startswith(f"{plans}, entry line {line}, column ")
    assert f"{written!r}" in message and "comma" in message
    assert "a point" in message


@pytest.mark.parametrize(
    ("file", "old", "new", "entry", "found"),
    [
        (
            "accounts.csv",
            "aws,402719385610,C001,",
            "aws\t402719385610,C001,",
            "row 2, column vendor",
            "aws\t402719385610",
        ),
        (
            "exchange_rates.csv",
            "USD,EUR,0.9215,2026-10-01,",
            "USD,EUR,0.9215\t2026-10-01,",
            "row 2, column rate",
            "0.9215\t2026-10-01",
        ),
    ],
    ids=["accounts", "exchange-rates"],
)
def test_a_tab_inside_a_cell_of_a_parameters_csv_is_named_as_a_tab(
    tmp_path, file, old, new, entry, found
):
    """A tab typed for a comma in a text editor: the cells after it moved one column to the
    left, and the file was refused for what they then held ('customer_id: expected a value; the
    cell is empty', 'valid_to: ... got 'dijkstra-prod''), not for the tab."""
    parameters = tmp_path / "parameters"
    shutil.copytree(ROOT / "parameters", parameters)
    path = parameters / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        customers = load_customers(parameters)
        load_account_mappings(parameters, customers)
        load_exchange_rates(parameters)
    assert (err.value.file, err.value.entry) == (str(path), entry)
    assert f"{found!r}" in str(err.value) and "a tab" in str(err.value)


def _parameters(tmp_path: Path) -> Path:
    parameters = tmp_path / "parameters"
    shutil.copytree(ROOT / "parameters", parameters)
    return parameters


def _load_all(parameters: Path) -> None:
    """The parameters a run loads first, in its order."""
    customers = load_customers(parameters)
    load_account_mappings(parameters, customers)
    load_price_plans(parameters, customers)
    load_vat_rules(parameters)
    load_exchange_rates(parameters)
    load_review_settings(parameters)


@pytest.mark.parametrize(
    ("file", "text", "keys"),
    [
        ("customers.yaml", "", "customers"),
        ("price_plans.yaml", "# plans to follow\n", "plans"),
    ],
    ids=["empty", "comments-only"],
)
def test_an_empty_parameters_yaml_file_is_named_as_empty(tmp_path, file, text, keys):
    """An empty customers.yaml (saved before it was written, or emptied by a failed copy) was
    refused as 'entry (top level): Input should be a valid dictionary or instance of
    CustomersFile; got None'."""
    parameters = _parameters(tmp_path)
    (parameters / file).write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        _load_all(parameters)
    assert (err.value.file, err.value.entry) == (str(parameters / file), None)
    assert "empty" in str(err.value) and f"{keys}:" in str(err.value)
    assert "CustomersFile" not in str(err.value) and "dictionary" not in str(err.value)


@pytest.mark.parametrize(
    "file",
    ["vat_rules.yaml", "price_plans.yaml", "accounts.csv", "exchange_rates.csv", "review.yaml"],
)
def test_a_parameters_file_that_is_a_folder_is_named_as_a_folder(tmp_path, file):
    """A folder where the file should be (an unzipped download, a copy gone wrong) stopped the
    run with Python's own 'IsADirectoryError: [Errno 21] Is a directory'; an optional file
    (review.yaml) was taken as absent, its review thresholds as the defaults, without a word."""
    parameters = _parameters(tmp_path)
    (parameters / file).unlink()
    (parameters / file).mkdir()
    with pytest.raises(ParameterError) as err:
        _load_all(parameters)
    assert (err.value.file, err.value.entry) == (str(parameters / file), None)
    assert "a folder" in str(err.value)


REPORTS = ROOT / "samples" / "2026-10" / "reports"


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("ms-invoice-reconciliation-G052026103.csv", "SubscriptionId", "Subscription Id"),
        ("ms-invoice-reconciliation-G052026103.csv", ",UnitPrice,", ",Unit_Price,"),
        ("ms-daily-rated-usage-G052026103.csv", ",EntitlementId,", ",Entitlement Id,"),
    ],
    ids=["subscription", "unit-price", "entitlement"],
)
def test_a_column_the_format_reads_spelled_otherwise_in_the_header_is_refused(
    tmp_path, name, old, new
):
    """A header 'tidied' in a spreadsheet (`Subscription Id` for `SubscriptionId`): the column
    was not read and its values lost without a word: the lines had no subscription (a
    subscription's row in accounts.csv no longer mapped them), no list price, no resource."""
    source = REPORTS / name
    text = source.read_text(encoding="utf-8-sig")
    head, rest = text.split("\n", 1)
    assert head.count(old) == 1
    bad = tmp_path / name
    bad.write_text(head.replace(old, new) + "\n" + rest, encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [bad], period="2026-10")
    assert str(err.value).startswith(f"{bad} (")
    [problem] = err.value.problems
    column = new.strip(",")
    assert (problem.file, problem.row, problem.column) == (str(bad), 1, column)
    assert repr(old.strip(",")) in problem.expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


@pytest.mark.parametrize(
    ("file", "old", "new", "entry"),
    [
        (
            "accounts.csv",
            "microsoft,de6799dd-16e2-4542-8982-fcd5407b50a3,C001",
            "micrsoft,de6799dd-16e2-4542-8982-fcd5407b50a3,C001",
            "row 11, column vendor",
        ),
        (
            "price_plans.yaml",
            "{id: azure, kind: markup, percent: 8, match: {vendor: microsoft,",
            "{id: azure, kind: markup, percent: 8, match: {vendor: micrsoft,",
            "plans[id=smb].rules[id=azure].match.vendor",
        ),
        (
            "accounts.csv",
            "aws,402719385610,C001",
            "vmwre,402719385610,C001",
            "row 2, column vendor",
        ),
    ],
    ids=["accounts", "price-plan", "accounts-vmware"],
)
def test_a_vendor_misspelt_in_the_parameters_is_refused_naming_the_one_meant(
    tmp_path, file, old, new, entry
):
    """`micrsoft` in accounts.csv mapped no line: the tenant's licences and Azure were left
    unmapped, on no invoice; in a price plan's match, the rule matched no line and Azure was
    priced by the plan's catch-all rule (10 % instead of 8 %), without a word. A vendor name a
    FOCUS export may bring (any provider) is still read; one a letter or two away from a vendor
    the formats name is refused, naming it."""
    parameters = _parameters(tmp_path)
    path = parameters / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        _load_all(parameters)
    assert (err.value.file, err.value.entry) == (str(path), entry)
    meant = "vmware" if "vmwre" in new else "microsoft"
    assert f"did you mean {meant!r}" in str(err.value)


def test_a_vendor_of_a_focus_export_the_formats_do_not_name_is_still_mapped(tmp_path):
    parameters = _parameters(tmp_path)
    path = parameters / "accounts.csv"
    path.write_text(
        path.read_text(encoding="utf-8") + "Hetzner Online,K0123456,C001,,,\n", encoding="utf-8"
    )
    mappings = load_account_mappings(parameters, load_customers(parameters))
    assert ("hetzner online", "K0123456") in {(m.vendor, m.account_id) for m in mappings}


AZURE = ROOT / "tests" / "data" / "azure-cost-details"


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        (REPORTS / "ms-invoice-reconciliation-G052026103.csv", ",Quantity,", ",Qty,", "Quantity"),
        (REPORTS / "ms-daily-rated-usage-G052026103.csv", ",UnitPrice,", ",UnitPrc,", "UnitPrice"),
        (
            AZURE / "mca-actual-cost-2026-10.csv",
            ",paygCostInBillingCurrency,",
            ",paygAmtInBillingCurrency,",
            "PaygCostInBillingCurrency",
        ),
        (
            REPORTS / "vmware-usage-meter-customer-monthly-usage-2026-10.csv",
            ",Unit of Measure,",
            ",Units of Measure,",
            "Unit of Measure",
        ),
        (
            REPORTS / "ms-daily-rated-usage-G052026103.csv",
            ",PCToBCExchangeRate,",
            ",PCToBCExchangRate,",
            "PCToBCExchangeRate",
        ),
    ],
    ids=["qty", "abbreviated-price", "amt", "plural", "typo"],
)
def test_a_column_the_format_reads_renamed_to_a_word_like_it_is_refused(
    tmp_path, path, old, new, expected
):
    """A header whose column a spreadsheet user renamed to another word (`Qty` for `Quantity`,
    `Amt` for `Cost`, a plural, a typo): the format reads that column only where the file has it
    (a fallback, or NULL), so the import went on without it: licences counted by the prorated
    BillableQuantity, lines without a list price, Azure's list cost recomputed, without a word.
    Refused naming the file, the column found and the column expected."""
    text = path.read_text(encoding="utf-8-sig")
    head, rest = text.split("\n", 1)
    assert head.count(old) == 1
    bad = tmp_path / path.name
    bad.write_text(head.replace(old, new) + "\n" + rest, encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [bad], period="2026-10", vendor_prices=load_vendor_prices(VMWARE_DATA))
    assert str(err.value).startswith(f"{bad} (")
    [problem] = err.value.problems
    found = new.strip(",")
    assert (problem.file, problem.row, problem.column, problem.value) == (str(bad), 1, found, found)
    assert repr(expected) in problem.expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


@pytest.mark.parametrize(
    ("old", "new", "expected", "message"),
    [
        (",Currency,", ",Curr,", "Currency", "missing required column(s) ['Currency']"),
        (
            ",BillableQuantity,",
            ",BillableQty,",
            "BillableQuantity",
            "not a known vendor report format",
        ),
    ],
    ids=["required", "signature"],
)
def test_a_column_the_format_needs_renamed_to_a_word_like_it_is_named_beside_it(
    tmp_path, old, new, expected, message
):
    """A column the format requires, or recognises the report by, renamed to a word like its own
    (`Curr`, `BillableQty`): the report was refused listing every column expected and found (or
    every format's), leaving the user to spot the one renamed among 47. The error names the
    column found in row 1 and the one it stands for."""
    source = REPORTS / "ms-invoice-reconciliation-G052026103.csv"
    head, rest = source.read_text(encoding="utf-8-sig").split("\n", 1)
    assert head.count(old) == 1
    bad = tmp_path / source.name
    bad.write_text(head.replace(old, new) + "\n" + rest, encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [bad], period="2026-10")
    assert message in str(err.value)
    found = new.strip(",")
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (str(bad), 1, found, found)
    assert repr(expected) in problem.expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


@pytest.mark.parametrize(
    ("found", "expected", "alike"),
    [
        ("Qty", "Quantity", True),
        ("UnitPrc", "UnitPrice", True),
        ("paygAmtInBillingCurrency", "PaygCostInBillingCurrency", True),
        ("Units of Measure", "Unit of Measure", True),
        ("PCToBCExchangRate", "PCToBCExchangeRate", True),
        ("lineItem/BlendedCost", "lineItem/UnblendedCost", False),
        ("ServiceSubcategory", "ServiceCategory", False),
        ("Datacenter", "Date", False),
        ("RegionName", "Region", False),
        ("ProductOrderName", "ProductName", False),
        ("resourceGroupName", "ResourceName", False),
    ],
)
def test_a_column_is_taken_for_a_renamed_one_only_in_words_like_its_own(found, expected, alike):
    """Real exports carry columns whose names are close to one a format reads and the file
    lacks (an AWS CUR's BlendedCost beside UnblendedCost, FOCUS's ServiceSubcategory, Azure's
    resourceGroupName): those are other columns, not renamed ones."""
    assert resembles(found, expected) is alike
