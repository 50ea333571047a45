"""``billing run --currency``: the billing currency of FOCUS reports without a BillingCurrency
column (the FOCUS specification's own examples have none), given to the run's import as
``billing import --currency`` gives it; checked before anything is read, recorded in the manifest,
and never overriding a report's own currency."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib import cli, headless, run
from billing_lib.errors import InputError, ParameterError
from billing_lib.run_parameters import check_currency
from tests.console_scripts import BILLING
from tests.notebook_project import PERIOD, REPO

#: A FOCUS export without BillingCurrency: a Google Cloud charge of October, its account unmapped
#: (listed as unmapped, on no invoice).
FOCUS = (
    "BilledCost,BillingAccountId,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,"
    "ServiceName\n"
    "12.50,focus-acct-1,Usage,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,Google Cloud,Storage\n"
)


def _reports(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    shutil.copytree(REPO / "samples" / PERIOD / "reports", reports)
    (reports / "focus-export-2026-10.csv").write_text(FOCUS, encoding="utf-8")
    return reports


def test_the_run_bills_a_focus_report_in_the_currency_given(tmp_path):
    folder = run.run_all(
        PERIOD, _reports(tmp_path), REPO / "parameters", tmp_path / "outputs", currency="eur"
    )
    text = (folder / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert manifest["parameters"]["currency"] == "EUR"
    [focus] = [c for c in manifest["control_totals"] if c["file"].startswith("focus-export")]
    assert (focus["currency"], Decimal(focus["cost_imported"])) == ("EUR", Decimal("12.5"))
    # on no invoice, in the unmapped report; the account has no name (null, not NaN)
    [account] = [u for u in manifest["unmapped"] if u["account_id"] == "focus-acct-1"]
    assert (account["currency"], account["account_name"]) == ("EUR", None)
    assert "NaN" not in text


def test_without_it_the_run_names_the_option(tmp_path):
    with pytest.raises(InputError, match=r"billing run --currency EUR"):
        run.run_all(PERIOD, _reports(tmp_path), REPO / "parameters", tmp_path / "outputs")
    assert not (tmp_path / "outputs" / PERIOD).exists()


@pytest.mark.parametrize("given, code", [("", None), (" eur ", "EUR"), ("USD", "USD")])
def test_the_currency_parameter(given, code):
    assert check_currency(given) == code


@pytest.mark.parametrize("given", ["EURO", "E1R", 978, "€"])
def test_a_currency_that_is_no_code_is_refused(given):
    with pytest.raises(ParameterError, match="three-letter ISO 4217 code"):
        check_currency(given)


@pytest.mark.parametrize("given", ["XYZ", "eru", "ERU"])
def test_a_three_letter_currency_that_is_no_iso_4217_code_is_refused(given):
    """A typo of the code (``ERU``) passed as three letters: a FOCUS report without its own
    currency was imported and rated in it, and the run stopped at the ledger naming
    exchange_rates.csv ("add a row 'ERU,EUR,...'"), not the parameter mistyped."""
    with pytest.raises(ParameterError, match=r"entry currency: .*no ISO 4217 currency code"):
        check_currency(given)
    with pytest.raises(ParameterError, match=r"--currency: .*no ISO 4217 currency code"):
        check_currency(given, "billing import", "--currency")


def test_the_command_passes_it_to_the_run(monkeypatch, capsys, tmp_path):
    seen = {}
    folder = tmp_path / "outputs" / PERIOD  # a published run's, as the command reads it back
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"run_id": "r1"}', encoding="utf-8")

    def execute(*args, **kwargs):
        seen.update(kwargs)
        return folder

    monkeypatch.setattr(headless, "execute", execute)
    monkeypatch.setattr(headless, "run_report", lambda folder: "report")
    argv = ["run", "--period", PERIOD, "--reports", "r", "--quiet", "--currency", "CHF"]
    assert cli.main(argv) == 0
    assert seen["currency"] == "CHF"
    assert cli.main(argv[:-2]) == 0
    assert seen["currency"] == ""


def test_the_installed_command_refuses_a_bad_currency_before_reading_anything(tmp_path):
    """Checked with the other parameters, before the notebook starts: nothing is written."""
    result = subprocess.run(
        [
            BILLING,
            "run",
            "--period",
            PERIOD,
            "--reports",
            str(_reports(tmp_path)),
            "--parameters",
            str(REPO / "parameters"),
            "--output",
            str(tmp_path / "out"),
            "--quiet",
            "--currency",
            "EURO",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "currency" in result.stderr and "three-letter ISO 4217 code" in result.stderr
    assert "'EURO'" in result.stderr
    assert not (tmp_path / "out" / PERIOD).exists()
