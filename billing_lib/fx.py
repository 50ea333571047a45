"""Exchange rates from ``parameters/exchange_rates.csv``, chosen by a line's charge date.

Columns: ``from_currency, to_currency, rate, valid_from, valid_to, source``. One row converts one
unit of ``from_currency`` into ``rate`` units of ``to_currency`` for the dates from ``valid_from``
to ``valid_to`` (both inclusive; empty = open). Rates are exact decimals (no floats); rows for the
same pair must not overlap. Only the direct pair is used: an inverse rate is not derived, because
``1 / rate`` is not exact and the reseller's rate source quotes one direction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from billing_lib.errors import ParameterError
from billing_lib.parameter_csv import csv_rows
from billing_lib.periods import first_common_day

FX_FILE = "exchange_rates.csv"
FX_COLUMNS = ("from_currency", "to_currency", "rate", "valid_from", "valid_to", "source")
#: DuckDB type of a rate in the rate table (the rated lines keep it as DECIMAL(38,12)).
SQL_RATE = "DECIMAL(38,12)"
#: Rates are written with at most this many decimal places (the scale of SQL_RATE).
MAX_RATE_PLACES = 12
#: Default of ``fx_plausibility_factor`` (seller.yaml): neighbouring rates of one pair (the rows
#: before and after by date) may differ by at most this factor. Month-to-month moves of traded
#: currencies stay far below 1.5; a misplaced decimal point (92.15 for 0.9215) is 100.
FX_PLAUSIBILITY_FACTOR = Decimal("1.5")
_RATE_FORM = re.compile(r"\s*-?(\d+(\.\d*)?|\.\d+)\s*")


@dataclass(frozen=True)
class ExchangeRate:
    """One unit of ``from_currency`` is worth ``rate`` units of ``to_currency`` on its dates."""

    from_currency: str
    to_currency: str
    rate: Decimal
    valid_from: date | None
    valid_to: date | None
    source: str
    row: int  # spreadsheet row in the CSV (header = 1), for messages

    def covers(self, day: date) -> bool:
        return (self.valid_from or date.min) <= day <= (self.valid_to or date.max)


@dataclass(frozen=True)
class ExchangeRates:
    """The rate table of one parameters folder; ``path`` is named in every error."""

    path: Path
    rates: tuple[ExchangeRate, ...] = field(default_factory=tuple)

    def rate(self, from_currency: str, to_currency: str, day: date) -> Decimal:
        """The rate on ``day`` (1 for the same currency); a ParameterError naming pair and date."""
        if from_currency == to_currency:
            return Decimal(1)
        return self.row(from_currency, to_currency, day).rate

    def row(self, from_currency: str, to_currency: str, day: date) -> ExchangeRate:
        """The row of the pair in force on ``day`` (its rate and its source); a ParameterError
        naming pair and date."""
        for r in self.rates:
            if r.from_currency == from_currency and r.to_currency == to_currency and r.covers(day):
                return r
        raise missing_rate_error(self.path, from_currency, to_currency, day)

    def register(self, con: duckdb.DuckDBPyConnection, table: str = "_fx_rates") -> None:
        """The rates as a DuckDB table ``(from_currency, to_currency, rate, valid_from, valid_to,
        source)`` with open dates filled in, so a join can use BETWEEN."""
        arrow = pa.table(
            {
                "from_currency": pa.array([r.from_currency for r in self.rates], pa.string()),
                "to_currency": pa.array([r.to_currency for r in self.rates], pa.string()),
                "rate": pa.array([str(r.rate) for r in self.rates], pa.string()),
                "valid_from": pa.array(
                    [r.valid_from or date(1, 1, 1) for r in self.rates], pa.date32()
                ),
                "valid_to": pa.array(
                    [r.valid_to or date(9999, 12, 31) for r in self.rates], pa.date32()
                ),
                "source": pa.array([r.source for r in self.rates], pa.string()),
            }
        )
        con.register("__fx_rows", arrow)
        try:
            con.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS
                SELECT from_currency, to_currency, CAST(rate AS {SQL_RATE}) AS rate, valid_from,
                valid_to,
                       source FROM __fx_rows""")
        finally:
            con.unregister("__fx_rows")


def missing_rate_error(
    path: Path | str, from_currency: str, to_currency: str, day: date, why: str = ""
) -> ParameterError:
    """The error for a line that needs a rate the table does not have; ``why`` says why a line
    needs the rate of that day where it is not the line's own (a licence credit: its cycle's
    start, ``rating.keys.cycle_credit_text``)."""
    add = "; add a row"
    if not Path(path).exists():  # left out of the folder: "add a row" to a file not there
        add = (
            f": the parameters folder has no {Path(path).name}; create it with the header row "
            f"{','.join(FX_COLUMNS)} and a row"
        )
    return ParameterError(
        path,
        f"{from_currency}->{to_currency} on {day.isoformat()}",
        f"no exchange rate from {from_currency} to {to_currency} valid on {day.isoformat()}"
        f"{why}{add} "
        f"'{from_currency},{to_currency},<rate>,<valid_from>,<valid_to>,<source>' "
        f"covering {day.isoformat()}",
    )


def _currency(path: Path, row: int, column: str, value: str | None) -> str:
    if not value or len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ParameterError(
            path,
            f"row {row}, column {column}",
            f"expected a three-letter ISO 4217 code like EUR; got {value!r}",
        )
    return value


def _date(path: Path, row: int, column: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ParameterError(
            path,
            f"row {row}, column {column}",
            f"expected a date YYYY-MM-DD or empty; got {value!r}",
        ) from exc


def _rate(path: Path, row: int, value: str | None) -> Decimal:
    """The rate as typed; only digits with one decimal point (and a sign, refused next as not
    above 0): Python's Decimal also reads ``1e2``, ``1_000`` and ``Infinity``, which no rate
    table writes and the journals would print as ``1E+2``."""
    if not _RATE_FORM.fullmatch(value or ""):
        raise ParameterError(
            path,
            f"row {row}, column rate",
            f"expected a decimal number like 0.9215 (digits with one decimal point); got {value!r}",
        )
    rate = Decimal(value or "")
    if not rate.is_finite() or rate <= 0:
        raise ParameterError(
            path, f"row {row}, column rate", f"expected a rate above 0; got {value!r}"
        )
    if -rate.as_tuple().exponent > MAX_RATE_PLACES:  # type: ignore[operator]
        raise ParameterError(
            path,
            f"row {row}, column rate",
            f"expected at most {MAX_RATE_PLACES} decimal places; got {value!r}",
        )
    return rate


def load_exchange_rates(
    parameters: Path, plausibility_factor: Decimal = FX_PLAUSIBILITY_FACTOR
) -> ExchangeRates:
    """Rates from ``parameters/exchange_rates.csv``; a folder without the file has no rates (a run
    whose customers are all invoiced in their vendors' currencies needs none). Every bad value,
    overlapping rows for one pair, a rate more than ``plausibility_factor`` away from its
    neighbouring rates of the pair (``check_plausible``) and a rate whose product with the inverse
    pair's rate of the same days is that far from 1 (``check_inverse``) are errors naming the
    row (both rows when nothing in the file tells which is wrong)."""
    path = Path(parameters) / FX_FILE
    if not path.exists():
        return ExchangeRates(path, ())
    rates: list[ExchangeRate] = []
    by_pair: dict[tuple[str, str], list[ExchangeRate]] = {}
    for n, clean in csv_rows(path, FX_COLUMNS):
        if not any(clean.values()):
            continue
        r = ExchangeRate(
            from_currency=_currency(path, n, "from_currency", clean.get("from_currency")),
            to_currency=_currency(path, n, "to_currency", clean.get("to_currency")),
            rate=_rate(path, n, clean.get("rate")),
            valid_from=_date(path, n, "valid_from", clean.get("valid_from")),
            valid_to=_date(path, n, "valid_to", clean.get("valid_to")),
            source=clean.get("source") or "",
            row=n,
        )
        _check_row(path, r, by_pair.get((r.from_currency, r.to_currency), []))
        by_pair.setdefault((r.from_currency, r.to_currency), []).append(r)
        rates.append(r)
    for (src, dst), pair_rates in by_pair.items():
        check_plausible(path, pair_rates, plausibility_factor, by_pair.get((dst, src)))
    check_inverse(path, by_pair, plausibility_factor)
    return ExchangeRates(path, tuple(rates))


def _check_row(path: Path, r: ExchangeRate, same_pair: list[ExchangeRate]) -> None:
    """A row's own rules (another currency, dates in order, a source) and no overlap with the
    earlier rows of its pair."""
    n = r.row
    if r.from_currency == r.to_currency:
        raise ParameterError(
            path,
            f"row {n}",
            f"a rate from {r.from_currency} to itself is always 1; remove the row",
        )
    if r.valid_from and r.valid_to and r.valid_to < r.valid_from:
        raise ParameterError(path, f"row {n}", "valid_to is before valid_from")
    if not r.source:
        raise ParameterError(
            path,
            f"row {n}, column source",
            "expected where the rate comes from (e.g. ECB reference rate)",
        )
    for other in same_pair:
        lo = first_common_day(other.valid_from, other.valid_to, r.valid_from, r.valid_to)
        if lo is not None:
            raise ParameterError(
                path,
                f"row {n}",
                f"{r.from_currency}->{r.to_currency} already has a rate for "
                f"{lo.isoformat()} in row {other.row}; dates must not overlap",
            )


def neighbours_in(
    rates: ExchangeRates, first: date, last: date
) -> list[tuple[ExchangeRate, ExchangeRate]]:
    """Each two rates of one pair that follow each other by date, where either is in force on a
    day from ``first`` to ``last``: the moves a month's lines were converted across."""
    by_pair: dict[tuple[str, str], list[ExchangeRate]] = {}
    for r in rates.rates:
        by_pair.setdefault((r.from_currency, r.to_currency), []).append(r)
    out = []
    for pair in sorted(by_pair):
        ordered = sorted(by_pair[pair], key=lambda r: r.valid_from or date.min)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if any(
                (r.valid_from or date.min) <= last and (r.valid_to or date.max) >= first
                for r in (a, b)
            ):
                out.append((a, b))
    return out


def _spread(a: Decimal, b: Decimal) -> Decimal:
    """How many times the larger of two positive figures is the smaller."""
    return max(a / b, b / a)


def _overlapping(r: ExchangeRate, others: list[ExchangeRate]) -> list[ExchangeRate]:
    """The rates of ``others`` in force on a day ``r`` is, in date order."""
    return sorted(
        (s for s in others if first_common_day(r.valid_from, r.valid_to, s.valid_from, s.valid_to)),
        key=lambda s: s.valid_from or date.min,
    )


def _median(ordered: list[ExchangeRate], factor: Decimal) -> Decimal | None:
    """The pair's median rate; of an even number the lower middle one, or None when the two
    middle ones differ by more than ``factor`` (two rates alone, half of them 100 times the
    others: the median cannot tell which are wrong)."""
    values = sorted(r.rate for r in ordered)
    lo, hi = values[(len(values) - 1) // 2], values[len(values) // 2]
    return lo if _spread(lo, hi) <= factor else None


def _backed(
    r: ExchangeRate, median: Decimal | None, inverse: list[ExchangeRate], factor: Decimal
) -> bool | None:
    """Whether the evidence backs rate ``r``: the inverse pair's rates of the same days (the
    product of a rate and its inverse is about 1), else the pair's median; None: no evidence."""
    same_days = _overlapping(r, inverse)
    if same_days:
        return all(_spread(r.rate * s.rate, Decimal(1)) <= factor for s in same_days)
    if median is None:
        return None
    return _spread(r.rate, median) <= factor


def _both_named(path: Path, a: ExchangeRate, b: ExchangeRate, why: str, factor: Decimal) -> None:
    """ParameterError naming the rows of ``a`` and ``b`` when nothing tells which is wrong."""
    first, second = sorted((a, b), key=lambda r: r.row)
    raise ParameterError(
        path,
        f"rows {first.row} and {second.row}, column rate",
        f"{why}; one of them is wrong (a misplaced decimal point, or the rate of the other "
        f"direction?) and nothing in the file tells which (at most a factor of {factor}, "
        "fx_plausibility_factor in seller.yaml). Correct it or, if both are right, raise "
        "fx_plausibility_factor",
    )


def check_plausible(
    path: Path,
    rates: list[ExchangeRate],
    factor: Decimal,
    inverse: list[ExchangeRate] | None = None,
) -> None:
    """Rates of one pair ordered by date: each must be within ``factor`` of the rates before and
    after it. Of two neighbours too far apart the one the evidence does not back is named, with
    its neighbouring rates: the rates of the ``inverse`` pair for the same days (a rate times its
    inverse is about 1), else the pair's median (``_median``); when neither tells (two rates
    alone), both rows are named. So a misplaced decimal point is found before a line is
    converted by it."""
    ordered = sorted(rates, key=lambda r: r.valid_from or date.min)
    median = _median(ordered, factor)
    for i in range(len(ordered) - 1):
        a, b = ordered[i], ordered[i + 1]
        if _spread(a.rate, b.rate) <= factor:
            continue
        backed = [_backed(r, median, inverse or [], factor) for r in (a, b)]
        if backed.count(False) != 1:
            _both_named(
                path,
                a,
                b,
                f"the {a.from_currency}->{a.to_currency} rates {a.rate} (row {a.row}, "
                f"{span_text(a)}) and {b.rate} (row {b.row}, {span_text(b)}) differ by a factor "
                f"of {_spread(a.rate, b.rate):.4g}",
                factor,
            )
        k = i if backed[0] is False else i + 1
        bad = ordered[k]
        around = [ordered[j] for j in (k - 1, k + 1) if 0 <= j < len(ordered)]
        shown = " and ".join(f"{r.rate} (row {r.row}, {span_text(r)})" for r in around)
        worst = max(_spread(bad.rate, r.rate) for r in around)
        same_days = _overlapping(bad, inverse or [])
        if same_days:  # the evidence that named it
            s = same_days[0]
            shown += (
                f", and times the {s.from_currency}->{s.to_currency} rate {s.rate} (row {s.row}) "
                f"of the same days it is {bad.rate * s.rate:.4g}, not about 1"
            )
        raise ParameterError(
            path,
            f"row {bad.row}, column rate",
            f"the {bad.from_currency}->{bad.to_currency} rate {bad.rate} for {span_text(bad)} is "
            f"{worst:.4g} times its neighbouring rate{'s' if len(around) > 1 else ''} {shown}; "
            f"rates of one pair may differ by at most a factor of {factor} from one period to the "
            "next (fx_plausibility_factor in seller.yaml). Correct the rate (a misplaced decimal "
            "point?) or, if it is right, raise fx_plausibility_factor",
        )


def check_inverse(
    path: Path, by_pair: dict[tuple[str, str], list[ExchangeRate]], factor: Decimal
) -> None:
    """A rate and the inverse pair's rate of the same days must multiply to about 1 (within
    ``factor``): the first (or only) rate of a pair has no neighbour to be checked against, and
    EUR->USD 108.53 typed for 1.0853 beside USD->EUR 0.9187 converted a customer's month at it.
    Named: the rate whose own pair has no other rate to back it while the other's has (each pair
    agrees within itself, ``check_plausible``); else both rows."""
    for (src, dst), rates in sorted(by_pair.items()):
        inverse = by_pair.get((dst, src), [])
        if src > dst or not inverse:
            continue  # each two pairs once
        for r in sorted(rates, key=lambda x: x.valid_from or date.min):
            off = [
                s for s in _overlapping(r, inverse) if _spread(r.rate * s.rate, Decimal(1)) > factor
            ]
            if not off:
                continue
            s = off[0]
            product = r.rate * s.rate
            if (len(rates) > 1) == (len(inverse) > 1):
                _both_named(
                    path,
                    r,
                    s,
                    f"the {src}->{dst} rate {r.rate} (row {r.row}, {span_text(r)}) times the "
                    f"{dst}->{src} rate {s.rate} (row {s.row}, {span_text(s)}) of the same days is "
                    f"{product:.4g}, not about 1",
                    factor,
                )
            bad, good = (r, s) if len(inverse) > 1 else (s, r)
            raise ParameterError(
                path,
                f"row {bad.row}, column rate",
                f"the {bad.from_currency}->{bad.to_currency} rate {bad.rate} for "
                f"{span_text(bad)} times the {good.from_currency}->{good.to_currency} rate "
                f"{good.rate} (row {good.row}, {span_text(good)}) of the same days is "
                f"{product:.4g}, not about 1, and the {good.from_currency}->{good.to_currency} "
                "rates agree with one another; a rate and the inverse pair's rate may differ "
                f"from 1/each other by at most a factor of {factor} (fx_plausibility_factor in "
                "seller.yaml). Correct the rate (a misplaced decimal point, or the rate of the "
                "other direction?) or, if it is right, raise fx_plausibility_factor",
            )


def span_text(r: ExchangeRate) -> str:
    """A rate's dates as text: ``2026-10-01 to 2026-10-15``, open ends in words."""
    lo = r.valid_from.isoformat() if r.valid_from else "open start"
    hi = r.valid_to.isoformat() if r.valid_to else "open end"
    return f"{lo} to {hi}"
