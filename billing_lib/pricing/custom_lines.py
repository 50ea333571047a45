"""The reseller's own lines (``parameters/custom_lines.yaml``): fees, one-offs and credits,
validated when they are loaded (known customers, unique ids, the customer's invoice currency)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import combinations
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from billing_lib.customers import Customer
from billing_lib.errors import ParameterError
from billing_lib.parameter_files import Strict, read_yaml, validate
from billing_lib.periods import days_text, first_common_day
from billing_lib.pricing.rules import MAX_MONEY, Currency, Money, _Date
from billing_lib.printed_texts import PrintedText

CUSTOM_FILE = "custom_lines.yaml"


class CustomLine(Strict):
    """A line the reseller adds: a monthly ``fee`` (support, management; prorated by the days it is
    valid in the month), a ``one_off`` charge, or a ``credit`` (billed negative), the latter two
    in the month of ``date``. Amount = quantity x unit_price, in the customer's invoice currency."""

    id: str = Field(min_length=1)
    customer: str
    kind: Literal["fee", "one_off", "credit"]
    description: PrintedText
    quantity: Money = Decimal(1)
    unit: PrintedText = "each"
    unit_price: Money = Field(ge=0)
    currency: Currency
    product_group: str = "services"
    valid_from: _Date | None = None
    valid_to: _Date | None = None
    on: _Date | None = Field(default=None, alias="date", description="Day of a one-off or credit")
    prorate: bool = True

    @field_validator("quantity")
    @classmethod
    def _quantity_not_negative(cls, value: Decimal) -> Decimal:
        """The sign of a line comes from its ``kind``, as ``unit_price`` has none: a negative
        quantity made a ``credit`` a charge (-2 x -50.00 = 100.00) and a ``fee`` a credit."""
        if value < 0:
            raise ValueError(
                "expected a quantity of 0 or more; the kind gives the sign (a credit is billed "
                "negative by kind: credit, a fee or one_off positive), so write a credit's "
                "quantity positive"
            )
        return value

    @model_validator(mode="after")
    def _amount(self) -> CustomLine:
        """quantity x unit_price bounded as each is (``MAX_MONEY``)."""
        amount = self.quantity * self.unit_price
        if abs(amount) >= MAX_MONEY:
            raise ValueError(
                f"quantity {self.quantity} x unit_price {self.unit_price} is {amount}, expected "
                f"an amount below {MAX_MONEY} (a typing mistake?)"
            )
        return self

    @model_validator(mode="after")
    def _dates(self) -> CustomLine:
        if self.kind == "fee":
            if self.on is not None:
                raise ValueError("a recurring fee has valid_from/valid_to, not date")
            if self.valid_from is None:
                raise ValueError("a recurring fee needs valid_from (the first day it is charged)")
            if self.valid_to and self.valid_to < self.valid_from:
                raise ValueError("valid_to is before valid_from")
        else:
            if self.on is None:
                raise ValueError(f"a {self.kind} needs date (it is billed in that month)")
            if self.valid_from or self.valid_to:
                raise ValueError(f"a {self.kind} has a date, not valid_from/valid_to")
        return self


class CustomLinesFile(Strict):
    custom_lines: list[CustomLine] = Field(default_factory=list)


def load_custom_lines(
    parameters: Path, customers: dict[str, Customer], *, from_day: date | None = None
) -> list[CustomLine]:
    """Custom lines from ``custom_lines.yaml`` (none if the file is absent): known customers,
    unique ids, amounts in the customer's invoice currency: every line billed from ``from_day``
    on (None: every line); one of the months before, billed in the currency the customer had
    then, is history (``load_pricing``)."""
    path = Path(parameters) / CUSTOM_FILE
    if not path.exists():
        return []
    data = read_yaml(path) or {}
    parsed: CustomLinesFile = validate(CustomLinesFile, path, data)
    seen: set[str] = set()
    for line in parsed.custom_lines:
        entry = f"custom_lines[id={line.id}]"
        if line.id in seen:
            raise ParameterError(path, entry, "the id is used twice")
        seen.add(line.id)
        if line.customer not in customers:
            raise ParameterError(
                path,
                f"{entry}.customer",
                f"unknown customer {line.customer!r}; known: {sorted(customers)}",
            )
        invoiced = customers[line.customer].invoice_currency
        if line.currency != invoiced and _billed_from(line, from_day):
            raise ParameterError(
                path,
                f"{entry}.currency",
                f"the line is in {line.currency} but customer {line.customer!r} is "
                f"invoiced in {invoiced}; custom lines are not converted",
            )
    _check_fees_once(path, parsed.custom_lines)
    return list(parsed.custom_lines)


def _billed_from(line: CustomLine, day: date | None) -> bool:
    """Whether ``line`` is billed on ``day`` or later (a fee not ended before it, a one-off or
    credit dated on or after it); every line when ``day`` is None."""
    if day is None:
        return True
    if line.kind == "fee":
        return line.valid_to is None or line.valid_to >= day
    return line.on is not None and line.on >= day


def _check_fees_once(path: Path, lines: list[CustomLine]) -> None:
    """No two fees of one customer with one description (whatever its case and spaces) on
    overlapping dates: a fee's new price added without ending the old one billed both each month
    without a word. End one's valid_to before the other's valid_from, as for two rules."""
    fees: dict[tuple[str, str], list[CustomLine]] = {}
    for line in lines:
        if line.kind == "fee":
            key = (line.customer, " ".join(line.description.split()).casefold())
            fees.setdefault(key, []).append(line)
    for same in fees.values():
        for a, b in combinations(same, 2):
            first = first_common_day(a.valid_from, a.valid_to, b.valid_from, b.valid_to)
            if first is None:
                _check_month_shared(path, a, b)
                continue
            last = min(a.valid_to or date.max, b.valid_to or date.max)
            raise ParameterError(
                path,
                f"custom_lines[id={b.id}] and custom_lines[id={a.id}]",
                f"two fees of customer {a.customer!r} described {a.description!r} on overlapping "
                f"dates ({days_text(first, last)}) would both be billed; end one's valid_to "
                "before the other's valid_from (a new price), or describe them apart",
            )


def _check_month_shared(path: Path, a: CustomLine, b: CustomLine) -> None:
    """Two fees of one customer and description one after the other (no day in common) where
    either is not prorated must not meet in one month: a fee not prorated bills every month it
    is valid on any day of in full, so a price changed on the 16th billed that month twice
    (the old fee whole and the new one whole, or whole and prorated)."""
    if a.prorate and b.prorate:
        return
    earlier, later = sorted((a, b), key=lambda c: c.valid_from or date.min)
    end, start = earlier.valid_to, later.valid_from
    if end is None or start is None or (end.year, end.month) != (start.year, start.month):
        return
    raise ParameterError(
        path,
        f"custom_lines[id={b.id}] and custom_lines[id={a.id}]",
        f"two fees of customer {a.customer!r} described {a.description!r} in one month "
        f"({start:%Y-%m}: one ends on {end.isoformat()}, the other starts on "
        f"{start.isoformat()}), and a fee not prorated (prorate: false) bills in full every "
        "month it is valid on any day of, so that month would be billed twice; end the old fee "
        "on a month's last day and start the new one on the first day of a month, or prorate "
        "both",
    )
