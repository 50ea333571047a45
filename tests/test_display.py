"""What the notebooks show of an error: the workbench's own as its message alone."""

from __future__ import annotations

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

from billing_lib.display import short_errors

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    yield shell
    shell.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def shown(shell: InteractiveShell, code: str, capsys: pytest.CaptureFixture) -> str:
    shell.run_cell(code)
    return ANSI.sub("", capsys.readouterr().out)


def test_an_error_of_the_workbench_shows_as_its_message_alone(shell, capsys):
    short_errors()
    out = shown(
        shell,
        "def load():\n"
        "    from billing_lib.errors import ParameterError\n"
        "    raise ParameterError('customers.yaml', 'customers[id=C1].country', 'expected NL')\n"
        "load()",
        capsys,
    )
    assert out.strip().splitlines() == [
        "An exception has occurred, use %tb to see the full traceback.",
        "",
        "ParameterError: customers.yaml, entry customers[id=C1].country: expected NL",
    ]
    # a fault of the code keeps its whole traceback
    out = shown(shell, "def g():\n    raise ValueError('boom')\ng()", capsys)
    assert "Traceback (most recent call last)" in out and "----> 2" in out


def test_money_is_shown_in_cents_and_the_exact_columns_unrounded():
    from decimal import Decimal as D

    import pandas as pd

    from billing_lib.display import display_money

    df = pd.DataFrame(
        {"revenue": [D("968.093281388287")], "invoiced": [D("968.1")], "name": ["C006"]}
    )
    shown = display_money(df, exact=("revenue",))
    assert shown.iloc[0].tolist() == ["968.093281388287", "968.10", "C006"]
    assert display_money(df).iloc[0].tolist() == ["968.09", "968.10", "C006"]


def test_money_is_shown_in_the_decimals_of_each_row_s_currency():
    from decimal import Decimal as D

    import pandas as pd

    from billing_lib.display import display_money

    df = pd.DataFrame(
        {
            "currency": ["EUR", "JPY", "KWD"],
            "net": [D("968.095"), D("13763.5"), D("42.4125")],
        }
    )
    assert display_money(df)["net"].tolist() == ["968.10", "13764", "42.413"]
    assert display_money(df, places=None)["net"].tolist() == ["968.095", "13763.5", "42.4125"]
    excluded = pd.DataFrame({"vendor_currency": ["JPY"], "vendor_cost": [D("100.4")]})
    assert display_money(excluded)["vendor_cost"].tolist() == ["100"]


def test_a_percentage_of_no_revenue_is_shown_as_n_a_not_nan():
    """A customer whose month a credit note cancelled (cost 463.44 at revenue 0.00) and the
    credits of the custom lines (-200.00 at cost 0) have no margin percent (``charts.summarise``
    leaves it empty); the notebooks' tables showed it as NaN, a division by zero to the analyst."""
    from decimal import Decimal as D

    from billing_lib import charts
    from billing_lib.display import display_money
    from tests.rated_frames import LINES

    lines = LINES.iloc[:2].assign(amount=[D("0.00"), D("-200.00")], cost=[D("463.44"), D(0)])
    lines = lines.assign(customer_id=["C006", "C001"])
    shown = display_money(charts.summarise(lines, ["customer"]))
    assert shown["margin_pct"].tolist() == ["n/a", "n/a"]
    assert shown["margin"].tolist() == ["-200.00", "-463.44"]
    assert "NaN" not in shown.to_string()
    # a percentage there is shown as it was
    assert display_money(charts.summarise(LINES, ["customer"]))["margin_pct"].tolist() == [
        15.1,
        -5.3,
    ]


def test_an_amount_that_rounds_to_nothing_is_shown_without_a_minus_sign():
    """The run's rated summary: a customer priced at cost whose margin is -0.004 (the rated
    lines' unrounded sums) showed "-0.00", a loss of nothing; a control total of -0 read "-0"."""
    from decimal import Decimal as D

    import pandas as pd

    from billing_lib.display import display_money

    df = pd.DataFrame(
        {
            "currency": ["EUR", "JPY", "EUR"],
            "margin": [D("-0.004"), D("-0.4"), D("-0.005")],
            "cost": [D("-0.000"), D("-0"), D("-1E-12")],
        }
    )
    assert display_money(df)["margin"].tolist() == ["0.00", "0", "-0.01"]
    assert display_money(df)["cost"].tolist() == ["0.00", "0", "0.00"]
    assert display_money(df, places=None)["cost"].tolist() == ["0", "0", "-0.000000000001"]
