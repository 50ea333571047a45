"""A VAT rate that changes on a date (an EU member state raises its standard rate on 1 January):
each month is invoiced at the rate in force on its supply period's last day (a continuous supply
is chargeable at the end of each period it is billed for, Art. 64(1) Directive 2006/112/EC),
whenever it is billed. vat_rules.yaml held one rate per rule: December billed in January (or
again, or reissued) after the file was changed for January's rate was invoiced at January's
rate, and January billed before the change at December's, with no way to state both."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import yaml

from billing_lib.errors import ParameterError
from billing_lib.invoices import build_invoices
from billing_lib.ledger import sales_entry
from billing_lib.vat import load_vat_rules
from tests.invoice_helpers import line, parameters_copy, setup

D = Decimal
CHANGE = {"valid_from": "2027-01-01", "rate": "22", "label": "VAT 22 %", "vat_code": "NL-22"}


def _with_change(tmp_path, change: dict[str, str] | list[dict[str, str]] = CHANGE):
    params = parameters_copy(tmp_path)
    path = params / "vat_rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"]["domestic"]["rate_changes"] = change if isinstance(change, list) else [change]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return params


def _invoice(params, period: str, issued: date):
    row = line("C003", "100.00", period=period, charge_date=date.fromisoformat(period + "-15"))
    con, customers, invoicing = setup([row], params)
    (inv,) = build_invoices(con, customers, invoicing, period, None, issued, {"C003": "NW-1"})
    return inv, invoicing


def test_each_month_is_invoiced_at_the_rate_in_force_on_its_last_day(tmp_path):
    params = _with_change(tmp_path)
    # December billed late, after January: the rate of December, its label and VAT code
    dec, invoicing = _invoice(params, "2026-12", date(2027, 2, 3))
    assert [(v.rate, v.amount, v.label, v.vat_code) for v in dec.vat] == [
        (D(21), D("21.00"), "VAT 21 %", "NL-21")
    ]
    assert dec.gross == D("121.00")
    codes = {p.vat_code for p in sales_entry(dec, invoicing).postings if p.vat_code}
    assert codes == {"NL-21"}, codes
    jan, invoicing = _invoice(params, "2027-01", date(2027, 2, 1))
    assert [(v.rate, v.amount, v.label, v.vat_code) for v in jan.vat] == [
        (D(22), D("22.00"), "VAT 22 %", "NL-22")
    ]
    assert jan.lines[0].vat_rate == D(22) and jan.gross == D("122.00")
    codes = {p.vat_code for p in sales_entry(jan, invoicing).postings if p.vat_code}
    assert codes == {"NL-22"}, codes


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"valid_from": "2027-01-01", "rate": "0.22"}, "a VAT rate of 0.22 % is no VAT rate"),
        ({"valid_from": "2027-01-01", "rate": 22.0}, "a float is not exact"),
        ({"valid_from": "2027-01-01", "rate": "0"}, "category S (standard rate) needs a rate"),
        (
            [
                {"valid_from": "2027-01-01", "rate": "22"},
                {"valid_from": "2026-07-01", "rate": "23"},
            ],
            "in date order",
        ),
        ({"rate": "22"}, "valid_from"),
        (  # January was invoiced at 22 % whole, its first 14 days too, without a word
            {"valid_from": "2027-01-15", "rate": "22", "label": "VAT 22 %"},
            "rate_changes from 2027-01-15: expected the first day of a month: a month is invoiced "
            "at one rate, the one in force on its last day, so 1 to 14 January 2027 would be "
            "taxed at 22 % in silence; give 2027-01-01 (the month at 22 %) or 2027-02-01 (at "
            "21 %) and correct the month by hand",
        ),
        (  # read as the Unix time of 2027-01-01: the new rate in force from then, without a word
            {"valid_from": 1798761600, "rate": "22", "label": "VAT 22 %"},
            "rate_changes[0].valid_from: expected a date YYYY-MM-DD, e.g. 2026-10-01, not a "
            "number; got 1798761600",
        ),
        (
            {"valid_from": "1798761600", "rate": "22", "label": "VAT 22 %"},
            "not a number; got '1798761600'",
        ),
        (  # refused in pydantic's words, "Datetimes provided to dates should have zero time"
            {"valid_from": datetime(2027, 1, 1, 0, 0, 1), "rate": "22", "label": "VAT 22 %"},
            "rate_changes[0].valid_from: expected a date YYYY-MM-DD, e.g. 2026-10-31: a date here "
            "is a whole day (valid_to included), without a time of day; got 2027-01-01 00:00:01",
        ),
    ],
)
def test_a_bad_rate_change_is_refused_naming_the_entry(tmp_path, change, expected):
    params = _with_change(tmp_path, change)
    with pytest.raises(ParameterError) as err:
        load_vat_rules(params)
    text = str(err.value)
    assert "vat_rules.yaml" in text and "rules.domestic" in text, text
    assert expected in text, text


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (  # the change without a label of its own: the rule's "VAT 21 %" beside 22 %
            {"rate_changes": [{"valid_from": "2027-01-01", "rate": "22"}]},
            r"label 'VAT 21 %' states 21 % but the rate is 22 % \(rate_changes from 2027-01-01\)",
        ),
        ({"rate": "9"}, r"label 'VAT 21 %' states 21 % but the rate is 9 %"),
        (
            {"rate_changes": [{**CHANGE, "label": "VAT 21 %"}]},
            r"label 'VAT 21 %' states 21 % but the rate is 22 % \(rate_changes from 2027-01-01\)",
        ),
    ],
)
def test_a_label_stating_another_rate_than_the_rule_s_is_refused(tmp_path, rule, expected):
    """The VAT summary prints a rule's label beside its rate: a rate change without a label of
    its own kept the rule's ("left out: the rule's"), so January was invoiced "VAT 21 %" beside
    22 % and a VAT amount of 22 %. A label whose percentage is not the rate is refused when
    vat_rules.yaml is loaded, naming the entry; a label stating no rate ("VAT reverse charged")
    is any rate's."""
    params = parameters_copy(tmp_path)
    path = params / "vat_rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"]["domestic"].update(rule)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ParameterError, match=expected) as err:
        load_vat_rules(params)
    assert "rules.domestic" in str(err.value)
    data["rules"]["domestic"]["label"] = "Dutch VAT"  # no rate stated: the change's rate
    data["rules"]["domestic"].pop("rate_changes", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert load_vat_rules(params).rules["domestic"].label == "Dutch VAT"
