"""A VAT rule's rate is in percent: 21 % written as a fraction (0.21) is refused naming the entry,
as no VAT rate is below 1 % (it invoiced 0.21 % VAT, a hundredth of the VAT owed)."""

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import ParameterError
from billing_lib.vat import VatRule, load_vat_rules

PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"
BASE = {"vat_code": "X", "label": "X", "vat_account": "1500"}


def test_a_vat_rate_written_as_a_fraction_is_refused_naming_the_entry(tmp_path):
    shutil.copy(PARAMETERS / "vat_rules.yaml", tmp_path / "vat_rules.yaml")
    path = tmp_path / "vat_rules.yaml"
    path.write_text(path.read_text().replace('rate: "21"', 'rate: "0.21"', 1))
    with pytest.raises(ParameterError) as err:
        load_vat_rules(tmp_path)
    text = str(err.value)
    domestic = path.read_text().splitlines().index("  domestic:") + 1
    assert f"vat_rules.yaml, line {domestic}, entry rules.domestic:" in text, text
    assert "a VAT rate of 0.21 % is no VAT rate" in text and "write 21 for 21 %" in text, text
    # real rates, the lowest reduced ones of the EU included, and 0 % stand
    for rate in ("21", "2.1", "1", "0"):
        assert VatRule.model_validate({**BASE, "rate": rate}).rate == Decimal(rate)
