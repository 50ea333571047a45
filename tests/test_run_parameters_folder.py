"""Files of the parameters folder a run does not read: a copy the analyst edited instead of the
file (``price_plans (copy).yaml``), an editor's backup, a note. The run names each as a warning,
with the file it reads, since an edit there changes nothing; hidden files and the logo are not
named. A folder holding none of the files a run reads, or lacking some it needs, is refused
naming the folder and each file missing; so are a customers.yaml without customers and an
accounts.csv that maps no account."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from billing_lib import run
from billing_lib.errors import ParameterError
from billing_lib.run_parameters import check_parameters
from billing_lib.run_state import load_settings, parameters_not_read
from tests.notebook_project import PERIOD, REPO


def test_a_copy_of_a_parameters_file_is_named_with_the_file_the_run_reads(tmp_path):
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    shutil.copy(params / "price_plans.yaml", params / "price_plans (copy).yaml")
    shutil.copy(params / "customers.yaml", params / "customers.yaml~")
    (params / "notes.txt").write_text("ask Jan about C004\n")
    (params / ".DS_Store").write_bytes(b"\0")
    (params / "logo.png").write_bytes(b"\x89PNG")
    seller = params / "seller.yaml"
    seller.write_text(seller.read_text(encoding="utf-8") + "\nlogo: logo.png\n")
    br = run.start(
        PERIOD, str(REPO / "samples" / PERIOD / "reports"), str(params), str(tmp_path / "o")
    )
    try:
        br.load_parameters()
        assert br.results.parameters_not_read == [
            "parameters folder: customers.yaml~ not read; a run reads its files by name only "
            "(this looks like a copy of customers.yaml: edit that one)",
            "parameters folder: notes.txt not read; a run reads its files by name only",
            "parameters folder: price_plans (copy).yaml not read; a run reads its files by name "
            "only (this looks like a copy of price_plans.yaml: edit that one)",
        ]
        # shown with the run's other warnings (the notebook's table, `billing run`'s output)
        br.import_reports()
        br.map_customers()
        br.rate()
        assert br.warnings()["warning"].tolist()[:3] == br.results.parameters_not_read
    finally:
        br.lock.release()


def test_a_local_folder_of_parameters_beside_the_files_the_run_reads_is_named(tmp_path):
    """README: keep the reseller's own files in ``parameters/local/`` and run with ``--parameters
    parameters/local``. A run of ``parameters`` (the notebook's default) billed with the sample
    files and said nothing of the local prices edited beside them."""
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    (params / "local").mkdir()
    for name in ("price_plans.yaml", "customers.yaml"):
        shutil.copy(params / name, params / "local" / name)
    (params / "archive").mkdir()
    (params / "archive" / "notes.txt").write_text("old\n")
    assert parameters_not_read(params, load_settings(params)) == [
        "parameters folder: local/ holds parameters files (customers.yaml, price_plans.yaml) "
        f"this run does not read; it reads those of {params}: to bill with them, run with "
        f"--parameters {params / 'local'}"
    ]


def test_a_spreadsheet_in_the_folder_given_for_the_parameters_is_no_report(tmp_path):
    """A workbook in the folder given for the parameters (a price list kept there) stopped the
    run with "a spreadsheet workbook among the reports", naming no parameter: the check for the
    reports folder given there refused it as a reports folder does. The reports folder holding
    one is still named as such; a folder of a workbook alone, as one holding no parameters file;
    beside the parameters files, it is named among the files a run does not read."""
    reports = REPO / "samples" / PERIOD / "reports"
    copy = Path(shutil.copytree(reports, tmp_path / "reports"))
    (copy / "october.xlsx").write_bytes(b"")
    with pytest.raises(ParameterError) as err:
        check_parameters(PERIOD, str(reports), str(copy), str(tmp_path / "o"))
    assert f"entry parameters: {copy}: holds vendor reports (aws-cur2-" in str(err.value)
    prices = tmp_path / "prices"
    prices.mkdir()
    (prices / "prices.xlsx").write_bytes(b"")
    check_parameters(PERIOD, str(reports), str(prices), str(tmp_path / "o"))
    with pytest.raises(ParameterError, match="holds none of the parameters files a run reads"):
        load_settings(prices)
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    (params / "prices.xlsx").write_bytes(b"")
    check_parameters(PERIOD, str(reports), str(params), str(tmp_path / "o"))
    assert parameters_not_read(params, load_settings(params)) == [
        "parameters folder: prices.xlsx not read; a run reads its files by name only"
    ]


#: The files a run cannot bill without, in the order a run reads them.
NEEDED = (
    "customers.yaml, accounts.csv, price_plans.yaml, seller.yaml, products.yaml, vat_rules.yaml"
)


def test_an_empty_parameters_folder_is_refused_naming_the_files_a_run_needs(tmp_path):
    """An empty folder given for the parameters (the wrong one, or one not filled yet) stopped
    the run at "customers.yaml: file not found", as if one file were missing; it names the
    folder and every file a run needs."""
    empty = tmp_path / "params"
    empty.mkdir()
    with pytest.raises(ParameterError) as err:
        load_settings(empty)
    assert str(err.value) == (
        f"{empty}: holds none of the parameters files a run reads; expected {NEEDED} (and, if "
        "used, custom_lines.yaml, exchange_rates.csv, review.yaml, accounting_exports.yaml, "
        "vendor_prices.yaml): is it the parameters folder? The project's parameters/ folder "
        "has an example of each"
    )


def test_a_parameters_folder_missing_some_files_names_each_of_them(tmp_path):
    """accounts.csv and price_plans.yaml left out of a copied folder: the run named the first
    it read (accounts.csv), then, once put back, the next: each named at once."""
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    (params / "accounts.csv").unlink()
    (params / "price_plans.yaml").unlink()
    with pytest.raises(ParameterError) as err:
        load_settings(params)
    assert str(err.value) == (
        f"{params}: accounts.csv and price_plans.yaml missing; a run needs each of {NEEDED}"
        " (the project's parameters/ folder has an example of each)"
    )


def test_an_accounts_csv_of_its_header_only_is_refused_before_any_report_is_read(tmp_path):
    """accounts.csv saved with its header only (the rows lost in a spreadsheet): the run billed
    every vendor line to no customer, published fee-only invoices under new numbers and exited
    0. Refused naming the file, the row and what it must hold."""
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    accounts = params / "accounts.csv"
    accounts.write_text("vendor,account_id,customer_id,valid_from,valid_to,note\r\n,,,,,\r\n")
    with pytest.raises(ParameterError) as err:
        load_settings(params)
    assert str(err.value) == (
        f"{accounts}, entry row 2: no vendor account mapped to a customer (the file holds only "
        "its header); expected a row per vendor account: vendor,account_id,customer_id,"
        "valid_from,valid_to,note. Without one every line of the month's reports is billed to "
        "no customer (billing customers sync proposes the rows from the reports)"
    )


def test_a_folder_without_custom_lines_yaml_is_named_among_the_warnings(tmp_path):
    """custom_lines.yaml left out of a copied folder: the run billed without the month's
    recurring fees, one-offs and credits (the sample month's management fees) and said nothing.
    Named among the warnings, with how to say there are none; an empty file bills none."""
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    (params / "custom_lines.yaml").unlink()
    assert parameters_not_read(params, load_settings(params)) == [
        f"parameters folder: no custom_lines.yaml in {params}; no recurring fee, one-off charge "
        "or credit of it is billed (a reseller without any: an empty custom_lines.yaml says so)"
    ]
    (params / "custom_lines.yaml").write_text("", encoding="utf-8")
    assert parameters_not_read(params, load_settings(params)) == []


def test_a_customers_yaml_without_customers_is_refused_naming_it(tmp_path):
    """``customers: []`` (the list emptied, or a new folder's stub): the run blamed accounts.csv,
    "row 2, column customer_id: unknown customer 'C001'; known: []". It names customers.yaml."""
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    customers = params / "customers.yaml"
    customers.write_text("customers: []\n", encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        load_settings(params)
    assert str(err.value) == (
        f"{customers}, line 1, entry customers: no customer; expected an entry per customer billed "
        "(id, name, address, invoice currency, ...: the example in the project's parameters/ "
        "folder shows them; billing customers sync proposes them from the month's reports)"
    )


@pytest.mark.parametrize("kind", ["empty", "lacking accounts.csv"])
def test_billing_run_refuses_a_folder_lacking_files_before_it_writes_anything(
    tmp_path, capsys, kind
):
    """``billing run --parameters EMPTY`` started the notebook, which stopped in its cell [4] on
    the folder: by then the outputs folder was made, with its lock file and a
    ``.failed-<period>.ipynb``. The command refuses the folder before it writes anything."""
    from billing_lib.cli import main

    params = tmp_path / "p"
    if kind == "empty":
        params.mkdir()
    else:
        shutil.copytree(REPO / "parameters", params, ignore=shutil.ignore_patterns("local"))
        (params / "accounts.csv").unlink()
    out = tmp_path / "out"
    reports = REPO / "samples" / PERIOD / "reports"
    argv = ["run", "--period", PERIOD, "--reports", str(reports), "--parameters", str(params)]
    assert main([*argv, "--output", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    expected = (
        "holds none of the parameters files a run reads"
        if kind == "empty"
        else "accounts.csv missing; a run needs each of"
    )
    assert f"error: {params}: {expected}" in err, err
    assert not out.exists()


def test_a_run_judges_the_currency_of_a_customer_moved_from_its_own_month_on(tmp_path):
    """C006 moves from EUR to USD from November: customers.yaml's invoice_currency (not dated)
    is USD, a USD plan of its own from 1 November. November's run refused its parameters over
    the smb plan's EUR seat price, which priced C006's months before; it loads them now.
    October, billed again (a reissue bills its month as a run), is still refused: C006's
    October was in EUR on that plan."""
    params = Path(
        shutil.copytree(REPO / "parameters", tmp_path / "p", ignore=shutil.ignore_patterns("local"))
    )
    customers = (params / "customers.yaml").read_text(encoding="utf-8")
    c006 = customers.index("  - id: C006")
    moved = customers[c006:].replace("invoice_currency: EUR", "invoice_currency: USD", 1)
    (params / "customers.yaml").write_text(customers[:c006] + moved, encoding="utf-8")
    plans = (params / "price_plans.yaml").read_text(encoding="utf-8")
    own = "  - {plan: enterprise-usd, customer: C008, valid_from: 2026-01-01}\n"
    assert plans.count(own) == 1
    plans = plans.replace(
        own, own + "  - {plan: enterprise-usd, customer: C006, valid_from: 2026-11-01}\n"
    )
    (params / "price_plans.yaml").write_text(plans, encoding="utf-8")
    reports = REPO / "samples" / PERIOD / "reports"
    november = run.start("2026-11", reports, params, tmp_path / "out")
    november.load_parameters()
    assert november.settings.customers["C006"].invoice_currency == "USD"
    october = run.start("2026-10", reports, params, tmp_path / "out")
    with pytest.raises(ParameterError) as err:
        october.load_parameters()
    assert "entry plans[id=smb].rules[id=m365-bp-seat].currency: the price is in EUR but " in str(
        err.value
    )
    assert "customer 'C006' on this plan is invoiced in USD" in str(err.value)
