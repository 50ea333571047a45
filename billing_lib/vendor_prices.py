"""The reseller's contract prices with a vendor (``parameters/vendor_prices.yaml``), for reports
that carry usage but no money.

VMware's Usage Meter and Broadcom's portals report units and points; what the provider pays is in
its rental contract with its aggregator: a price per point or per unit, per product, for a span of
months, and the points each unit of a product counts for. Both are effective-dated like the price
plans: the entry valid on the line's day is used (a billing API hour's own day; the first day of
the month of a monthly report), and two entries for one product may not overlap. The importer
looks the prices up in DuckDB (``register_vendor_prices``); a line with no price is an error
naming the product and the month before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import combinations
from pathlib import Path
from typing import Annotated, Literal

import duckdb
import pyarrow as pa
from pydantic import BeforeValidator, Field, model_validator

from billing_lib.errors import ParameterError
from billing_lib.money import SQL_AMOUNT
from billing_lib.parameter_files import Day, Strict, read_yaml, validate

VENDOR_PRICES_FILE = "vendor_prices.yaml"
#: DuckDB tables the importer joins on (created empty when there is no file).
PRICES_TABLE = "_vendor_prices"
POINTS_TABLE = "_vendor_points"
_LOW, _HIGH = date(1, 1, 1), date(9999, 12, 31)


def product_key(name: str) -> str:
    """``name`` as entries and report rows are matched: spaces trimmed and collapsed, lower case
    as DuckDB lowers the report's (``importers.contract_missing.PRODUCT_KEY``); not ``casefold``,
    which made ``Straße`` ``strasse`` on this side only."""
    return " ".join(name.split()).lower()


def _exact(value: object) -> object:
    """YAML gives 0.0725 as a float: take its shortest text, never its binary value."""
    return Decimal(repr(value)) if isinstance(value, float) else value


Amount = Annotated[Decimal, BeforeValidator(_exact), Field(ge=0, allow_inf_nan=False)]


class _Dated(Strict):
    product: str = Field(min_length=1, description="Product as the report names it (any case)")
    valid_from: Day | None = None
    valid_to: Day | None = Field(None, description="Last day the entry is valid (inclusive)")

    @model_validator(mode="after")
    def _dates(self) -> _Dated:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    def span(self) -> tuple[date, date]:
        return self.valid_from or _LOW, self.valid_to or _HIGH

    def key(self) -> str:
        return product_key(self.product)


#: The unit a report's quantity is in, as the report names it (Usage Meter's Unit of Measure).
Unit = Annotated[str, Field(min_length=1, pattern=r"\S")]


class ContractPrice(_Dated):
    """What the reseller pays for one point or one unit of a product; a price per unit names the
    unit (``Core``, ``TiB used``, ``core-hour``): a report giving its units in another is refused,
    and the lines carry it as their PricingUnit."""

    per: Literal["point", "unit"] = Field(description="point: per billable point; unit: per unit")
    price: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    unit: Unit | None = Field(None, description="per: unit only: the unit the price is for")

    @model_validator(mode="after")
    def _unit_of_a_unit_price(self) -> ContractPrice:
        if self.per == "point" and self.unit is not None:
            raise ValueError(
                "a price per point is for a point; the unit whose points it is belongs to the "
                "product's points_per_unit entry (unit: ...)"
            )
        return self


class PointsPerUnit(_Dated):
    """How many points one reported unit of a product counts for, and the unit (``TiB used``):
    a report giving the product's units in another is refused."""

    points: Amount
    unit: Unit | None = Field(None, description="The unit each of whose units counts ``points``")


class VendorContract(Strict):
    prices: list[ContractPrice] = Field(default_factory=list)
    points_per_unit: list[PointsPerUnit] = Field(default_factory=list)


class VendorPricesFile(Strict):
    vmware: VendorContract = VendorContract()


@dataclass(frozen=True)
class VendorPrices:
    """Contract prices and points per unit by vendor, as loaded and checked; ``path``: the file
    they were read from, or looked for (``exists`` False: no such file); None: none given."""

    path: Path | None
    contracts: dict[str, VendorContract]
    exists: bool = True

    @classmethod
    def none(cls) -> VendorPrices:
        return cls(None, {})

    def entry_for(self, vendor: str, product: str, day: date) -> ContractPrice | None:
        """The price of ``product`` valid on ``day`` (for tests and messages)."""
        contract = self.contracts.get(vendor)
        key = product_key(product)
        for p in contract.prices if contract else []:
            if p.key() == key and p.span()[0] <= day <= p.span()[1]:
                return p
        return None


def _overlaps(path: Path, vendor: str, field: str, entries: list[_Dated]) -> None:
    for (i, a), (j, b) in combinations(enumerate(entries), 2):
        (a0, a1), (b0, b1) = a.span(), b.span()
        if a.key() == b.key() and a0 <= b1 and b0 <= a1:
            raise ParameterError(
                path,
                f"{vendor}.{field}[{j}]",
                f"{b.product!r} from {b0} overlaps {field}[{i}] ({a0} to {a1}); give each "
                "period of a product one entry (end the earlier one with valid_to)",
            )


def load_vendor_prices(parameters: Path) -> VendorPrices:
    """``parameters/vendor_prices.yaml`` checked (types, dates, no overlapping entries), or no
    contract prices when the file is not there (reports that carry their own price need none;
    the path is kept, for the message of a report that does)."""
    path = Path(parameters) / VENDOR_PRICES_FILE
    if not path.exists():
        return VendorPrices(path, {}, exists=False)
    data = read_yaml(path)
    parsed = validate(VendorPricesFile, path, data or {})
    contracts = {"vmware": parsed.vmware}
    for vendor, contract in contracts.items():
        _overlaps(path, vendor, "prices", list(contract.prices))
        _overlaps(path, vendor, "points_per_unit", list(contract.points_per_unit))
    return VendorPrices(path, contracts)


def register_vendor_prices(con: duckdb.DuckDBPyConnection, prices: VendorPrices) -> None:
    """``_vendor_prices`` (vendor, product key, per, price, currency, unit, valid_from, valid_to,
    entry) and ``_vendor_points`` (vendor, product key, points, unit, valid_from, valid_to,
    entry) as temp tables, exact decimals, for the importer's lookup; ``entry`` names the entry
    in messages (``vmware.prices[3]``); empty without a file."""
    rows = [
        (v, p.key(), p.per, str(p.price), p.currency, p.unit, *p.span(), f"{v}.prices[{i}]")
        for v, c in prices.contracts.items()
        for i, p in enumerate(c.prices)
    ]
    points = [
        (v, p.key(), str(p.points), p.unit, *p.span(), f"{v}.points_per_unit[{i}]")
        for v, c in prices.contracts.items()
        for i, p in enumerate(c.points_per_unit)
    ]
    _table(
        con,
        PRICES_TABLE,
        [
            "vendor",
            "product",
            "per",
            "price",
            "currency",
            "unit",
            "valid_from",
            "valid_to",
            "entry",
        ],
        [
            "VARCHAR",
            "VARCHAR",
            "VARCHAR",
            SQL_AMOUNT,
            "VARCHAR",
            "VARCHAR",
            "DATE",
            "DATE",
            "VARCHAR",
        ],
        rows,
    )
    _table(
        con,
        POINTS_TABLE,
        ["vendor", "product", "points", "unit", "valid_from", "valid_to", "entry"],
        ["VARCHAR", "VARCHAR", SQL_AMOUNT, "VARCHAR", "DATE", "DATE", "VARCHAR"],
        points,
    )


def _table(
    con: duckdb.DuckDBPyConnection, name: str, cols: list[str], types: list[str], rows: list[tuple]
) -> None:
    arrow = pa.table(
        {
            c: pa.array([r[i] for r in rows], pa.date32() if t == "DATE" else pa.string())
            for i, (c, t) in enumerate(zip(cols, types, strict=True))
        }
    )
    con.register("__vp_rows", arrow)
    try:
        select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in zip(cols, types, strict=True))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select} FROM __vp_rows")
    finally:
        con.unregister("__vp_rows")
