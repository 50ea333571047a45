"""Exchange rates: exact, chosen by charge date, a missing rate is an error naming pair and date."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from rating_helpers import line, rated_store, write_parameters

from billing_lib.errors import ParameterError
from billing_lib.fx import load_exchange_rates
from billing_lib.rating import rate_lines
from billing_lib.store import frame

HEADER = "from_currency,to_currency,rate,valid_from,valid_to,source\n"
PLAN = """
plans:
  - id: std
    rules:
      - {id: all, kind: markup, percent: 0}
assignments:
  - {plan: std, group: smb}
"""


def write(tmp_path, body: str):
    (tmp_path / "exchange_rates.csv").write_text(HEADER + body)
    return tmp_path


def test_rate_follows_the_date_and_same_currency_is_one(tmp_path):
    fx = load_exchange_rates(
        write(
            tmp_path, "USD,EUR,0.9215,2026-10-01,2026-10-15,ECB\nUSD,EUR,0.9301,2026-10-16,,ECB\n"
        )
    )
    assert fx.rate("USD", "EUR", date(2026, 10, 15)) == Decimal("0.9215")
    assert fx.rate("USD", "EUR", date(2026, 10, 16)) == Decimal("0.9301")
    assert fx.rate("USD", "EUR", date(2027, 3, 1)) == Decimal("0.9301")  # open end
    assert fx.rate("EUR", "EUR", date(2026, 10, 1)) == 1


@pytest.mark.parametrize(
    ("typed", "rate"),
    [("2", "2"), ("2.0", "2.0"), ("0.5", "0.5"), (".5", "0.5"), (" 1.08567 ", "1.08567")],
)
def test_a_rate_typed_with_few_digits_loads_exactly(tmp_path, typed, rate):
    fx = load_exchange_rates(write(tmp_path, f"USD,EUR,{typed},,,ECB\n"))
    assert fx.rate("USD", "EUR", date(2026, 10, 1)) == Decimal(rate)


def test_missing_rate_names_file_pair_and_date(tmp_path):
    fx = load_exchange_rates(write(tmp_path, "USD,EUR,0.9215,2026-10-01,2026-10-15,ECB\n"))
    with pytest.raises(ParameterError) as err:
        fx.rate("USD", "EUR", date(2026, 10, 20))
    assert "exchange_rates.csv" in str(err.value)
    assert "USD->EUR on 2026-10-20" in str(err.value)
    with pytest.raises(ParameterError, match="GBP->EUR on 2026-10-01"):
        fx.rate("GBP", "EUR", date(2026, 10, 1))


def test_a_missing_rate_without_the_file_says_the_file_is_missing(tmp_path):
    """A parameters folder without exchange_rates.csv (left out of a copy) stopped a run in two
    currencies at "no exchange rate from USD to EUR valid on 2026-10-01; add a row ...": to a
    file that is not there. It says so, with the header row the new file starts with."""
    fx = load_exchange_rates(tmp_path)
    with pytest.raises(ParameterError) as err:
        fx.rate("USD", "EUR", date(2026, 10, 1))
    assert str(err.value) == (
        f"{tmp_path / 'exchange_rates.csv'}, entry USD->EUR on 2026-10-01: no exchange rate from "
        "USD to EUR valid on 2026-10-01: the parameters folder has no exchange_rates.csv; "
        "create it with the header row from_currency,to_currency,rate,valid_from,valid_to,"
        "source and a row 'USD,EUR,<rate>,<valid_from>,<valid_to>,<source>' covering 2026-10-01"
    )


@pytest.mark.parametrize(
    ("body", "entry", "expected"),
    [
        ("USD,EUR,-0.9,,,ECB\n", "row 2, column rate", "above 0"),
        ("USD,EUR,0,,,ECB\n", "row 2, column rate", "above 0"),
        ("USD,EUR,abc,,,ECB\n", "row 2, column rate", "decimal number"),
        ("USD,EUR,0.1234567890123,,,ECB\n", "row 2, column rate", "at most 12 decimal places"),
        # Python's Decimal reads these; no rate table writes them, and 1e2 was printed "1E+2"
        ("USD,EUR,1e2,,,ECB\n", "row 2, column rate", "digits with one decimal point"),
        ("USD,EUR,1_000,,,ECB\n", "row 2, column rate", "digits with one decimal point"),
        ("USD,EUR,+0.9,,,ECB\n", "row 2, column rate", "digits with one decimal point"),
        ("USD,EUR,Infinity,,,ECB\n", "row 2, column rate", "digits with one decimal point"),
        ("usd,EUR,0.9,,,ECB\n", "row 2, column from_currency", "three-letter"),
        ("USD,EURO,0.9,,,ECB\n", "row 2, column to_currency", "three-letter"),
        ("USD,USD,1,,,ECB\n", "row 2", "to itself"),
        ("USD,EUR,0.9,2026-10-31,2026-10-01,ECB\n", "row 2", "valid_to is before valid_from"),
        ("USD,EUR,0.9,1 Oct,,ECB\n", "row 2, column valid_from", "YYYY-MM-DD"),
        ("USD,EUR,0.9,,,\n", "row 2, column source", "where the rate comes from"),
        (
            "USD,EUR,0.9,2026-10-01,2026-10-15,ECB\nUSD,EUR,0.91,2026-10-15,,ECB\n",
            "row 3",
            "already has a rate for 2026-10-15 in row 2",
        ),
    ],
)
def test_bad_rows_are_named(tmp_path, body, entry, expected):
    with pytest.raises(ParameterError) as err:
        load_exchange_rates(write(tmp_path, body))
    text = str(err.value)
    assert "exchange_rates.csv" in text and f"entry {entry}:" in text and expected in text


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("USD,EUR,0.9215,2026-10-01,,ECB,0.9300\n", "'0.9300'"),  # a cell too many
        ("USD,EUR,0.9215,2026-10-01,,ECB, inverted,x\n", "'inverted', 'x'"),  # unquoted commas
        ("USD,EUR,1,0850,,,ECB\n", "'ECB'"),  # a decimal comma shifts every later value
    ],
    ids=["extra-cell", "source-with-commas", "decimal-comma"],
)
def test_a_row_with_more_values_than_the_header_is_refused(tmp_path, body, found):
    """More cells than the header were dropped without a word (the rate 0.9215 loaded, the
    0.9300 beside it ignored); the row is named with what was expected and what was found."""
    with pytest.raises(ParameterError) as err:
        load_exchange_rates(write(tmp_path, body))
    text = str(err.value)
    assert text.startswith(f"{tmp_path / 'exchange_rates.csv'}, entry row 2: expected at most 6 ")
    assert "(from_currency, to_currency, rate, valid_from, valid_to, source)" in text
    assert f"found more, {found} beyond them" in text


def test_empty_cells_beyond_the_header_are_fine(tmp_path):
    # trailing commas, as a spreadsheet writes them when another row was wider once
    fx = load_exchange_rates(write(tmp_path, "USD,EUR,0.9215,2026-10-01,,ECB,,\n"))
    assert fx.rate("USD", "EUR", date(2026, 10, 1)) == Decimal("0.9215")


def test_missing_column_is_named(tmp_path):
    (tmp_path / "exchange_rates.csv").write_text("from_currency,to_currency,rate\nUSD,EUR,0.9\n")
    with pytest.raises(
        ParameterError,
        match=r"exchange_rates.csv: .*missing \['valid_from', 'valid_to', 'source'\]",
    ):
        load_exchange_rates(tmp_path)


def test_rating_converts_each_line_exactly_by_its_charge_date(tmp_path):
    params = write_parameters(
        tmp_path,
        PLAN,
        rates=HEADER + "USD,EUR,0.9215,2026-10-01,2026-10-15,ECB\n"
        "USD,EUR,0.9301,2026-10-16,2026-10-31,ECB\n",
    )
    con, pricing, customers = rated_store(
        params,
        [
            line(BilledCost="10.10", ChargePeriodStart=datetime(2026, 10, 15, 23, 59)),
            line(BilledCost="10.10", ChargePeriodStart=datetime(2026, 10, 16)),
            line(BilledCost="0.000000000001", ChargePeriodStart=datetime(2026, 10, 16)),
        ],
    )
    rate_lines(con, pricing, customers, "2026-10")
    got = frame(con, "SELECT fx_rate, cost, amount FROM rated_lines ORDER BY source_row")
    # 10.10 x 0.9215 = 9.307150; 10.10 x 0.9301 = 9.394010; 1e-12 x 0.9301 = 9.301e-13 -> 1e-12
    # (half-up)
    assert list(got["fx_rate"]) == [Decimal("0.9215"), Decimal("0.9301"), Decimal("0.9301")]
    assert list(got["cost"]) == [Decimal("9.30715"), Decimal("9.39401"), Decimal("0.000000000001")]
    assert list(got["amount"]) == list(got["cost"])


def test_rating_stops_on_a_missing_rate(tmp_path):
    params = write_parameters(
        tmp_path, PLAN, rates=HEADER + "USD,EUR,0.9215,2026-10-01,2026-10-15,ECB\n"
    )
    con, pricing, customers = rated_store(
        params, [line(ChargePeriodStart=datetime(2026, 10, 20, 5))]
    )
    with pytest.raises(ParameterError) as err:
        rate_lines(con, pricing, customers, "2026-10")
    assert str(err.value).startswith(
        f"{params / 'exchange_rates.csv'}, entry USD->EUR on 2026-10-20:"
    )


def test_no_rates_file_is_fine_when_no_line_needs_one(tmp_path):
    params = write_parameters(tmp_path, PLAN, rates=None)
    con, pricing, customers = rated_store(params, [line(BillingCurrency="EUR", BilledCost="5")])
    rate_lines(con, pricing, customers, "2026-10")
    assert frame(con, "SELECT amount FROM rated_lines")["amount"].tolist() == [Decimal(5)]


USD_EUR = "USD,EUR,0.9215,2026-10-01,2026-10-15,ECB\nUSD,EUR,0.9187,2026-10-16,2026-10-31,ECB\n"


def refusal(tmp_path, body: str) -> str:
    with pytest.raises(ParameterError) as err:
        load_exchange_rates(write(tmp_path, body))
    return str(err.value)


def test_a_first_rate_far_from_the_inverse_pair_s_rate_is_refused(tmp_path):
    """The first (or only) rate of a pair had no neighbour, so EUR->USD 108.53 typed for 1.0853
    beside USD->EUR 0.9187 converted a USD customer's month at it. A rate times the inverse
    pair's rate of the same days must be within fx_plausibility_factor of 1; the row named is
    the one its own pair does not back (the USD->EUR rates agree with one another)."""
    text = refusal(tmp_path, USD_EUR + "EUR,USD,108.53,2026-10-01,2026-10-31,ECB\n")
    assert "entry row 4, column rate:" in text
    assert "EUR->USD rate 108.53 for 2026-10-01 to 2026-10-31" in text
    assert "USD->EUR rate 0.9215 (row 2, 2026-10-01 to 2026-10-15)" in text
    assert "100.0, not about 1" in text and "fx_plausibility_factor" in text


def test_a_rate_and_its_inverse_alone_that_disagree_are_both_named(tmp_path):
    text = refusal(
        tmp_path,
        "USD,EUR,0.9187,2026-10-01,2026-10-31,ECB\nEUR,USD,108.53,2026-10-01,2026-10-31,ECB\n",
    )
    assert "entry rows 2 and 3, column rate:" in text and "one of them is wrong" in text


def test_the_implausible_rate_of_two_is_named_by_the_inverse_pair(tmp_path):
    """Of two EUR->USD rates 108.53 (October) and 1.0861 (November) the later one was blamed: the
    "median" of two rates is the upper one. The USD->EUR rates of October say 108.53 is wrong."""
    text = refusal(
        tmp_path,
        USD_EUR
        + "EUR,USD,108.53,2026-10-01,2026-10-31,ECB\nEUR,USD,1.0861,2026-11-01,2026-11-30,ECB\n",
    )
    assert "entry row 4, column rate: the EUR->USD rate 108.53" in text
    assert "1.0861 (row 5, 2026-11-01 to 2026-11-30)" in text


def test_two_rates_of_a_pair_far_apart_with_nothing_to_tell_are_both_named(tmp_path):
    text = refusal(
        tmp_path,
        "EUR,USD,108.53,2026-10-01,2026-10-31,ECB\nEUR,USD,1.0861,2026-11-01,2026-11-30,ECB\n",
    )
    assert "entry rows 2 and 3, column rate:" in text
    assert "108.53 (row 2, 2026-10-01 to 2026-10-31) and 1.0861 (row 3" in text
    assert "one of them is wrong" in text


def test_a_pair_and_its_inverse_that_agree_load(tmp_path):
    rates = load_exchange_rates(
        write(
            tmp_path, USD_EUR + "EUR,USD,1.0885,2026-10-01,,ECB\nEUR,USD,1.0861,,2026-09-30,ECB\n"
        )
    )
    assert len(rates.rates) == 4
