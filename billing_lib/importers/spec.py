"""Format specifications: how one vendor layout maps to the line model, declared as data.

Each format is a YAML file in ``importers/formats/``. A vendor that renames or adds a column needs
an edit there, not in code: a mapping may list alternative source names, and the first one present
in the file is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from billing_lib.errors import InputError
from billing_lib.model import LINE_COLUMN_NAMES
from billing_lib.parameter_files import read_yaml, validate
from billing_lib.sql import qi, ql

FORMATS_DIR = Path(__file__).with_name("formats")

SourceKind = Literal["decimal", "timestamp", "date", "json"]
#: A column name, or alternatives of which the first present in the file is read.
ColumnChoice = str | list[str]
#: A double-quoted column name in a mapping's SQL (the columns an expression reads).
QUOTED_COLUMN = re.compile(r'"([^"]+)"')
# Columns the engine fills itself: they need no mapping (``x_FollowsCredits``: from the mapped
# line, model.DERIVED_COLUMNS; a format's mapping of it is refused).
ENGINE_COLUMNS = ("x_Format", "x_SourceFile", "x_SourceRow", "x_FollowsCredits")
# Columns a format may map or leave out: without a mapping the engine fills them from the mapped
# line (model.DERIVED_COLUMNS: x_PricingDate is then the charge date), or leaves them NULL
# (x_SubscriptionId: a format keying its lines by the subscription, or naming none;
# x_RefundsSeats: a format that does not tell a refund of seats from other money back).
OPTIONAL_COLUMNS = ("x_PricingDate", "x_SubscriptionId", "x_RefundsSeats")


#: The strptime directives a date format may begin with: a number (values.timestamp_from_text).
_DIGIT_DIRECTIVES = ("%Y", "%y", "%m", "%d", "%-m", "%-d")


class ColumnMap(BaseModel):
    """Where a line-model column comes from: a source column (or alternatives), a literal, SQL."""

    model_config = ConfigDict(extra="forbid")
    column: str | list[str] | None = None
    value: str | None = None
    sql: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ColumnMap:
        given = [k for k in ("column", "value", "sql") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of column, value, sql (got {given or 'none'})")
        return self

    def alternatives(self) -> list[str]:
        if self.column is None:
            return []
        return [self.column] if isinstance(self.column, str) else list(self.column)


class ContractPriceSpec(BaseModel):
    """How a report without money is priced from the reseller's contract
    (``parameters/vendor_prices.yaml``, billing_lib.importers.contract): SQL over source columns."""

    model_config = ConfigDict(extra="forbid")
    vendor: str = Field(description="Key in vendor_prices.yaml")
    product: str = Field(description="SQL: the product the price is for")
    month: str = Field(
        "NULL",
        description="SQL: a date in the month priced; without one, the import's period or a "
        "YYYY-MM in the file name",
    )
    units: str = Field(description="SQL: the units reported")
    points: str | None = Field(None, description="SQL: points the report gives, if it does")
    unit: str | None = Field(
        None,
        description="SQL: the unit the report gives its units in, if it does: a row in another "
        "unit than the contract entry's is refused",
    )
    needed: str = Field("true", description="SQL: the rows priced by the contract")
    hourly: bool = Field(
        False,
        description="Each row counts one hour's usage (64 cores are 64 core-hours): a price or "
        "points per unit must be for a unit of an hour (core-hour), else a price per core (a "
        "month) is charged for every hour",
    )

    def sql(self) -> list[str]:
        return [
            self.product,
            self.month,
            self.units,
            self.points or "",
            self.unit or "",
            self.needed,
        ]


class HeaderCurrency(BaseModel):
    """A column whose header names the currency of its values (``Price (EUR)``, ``Price
    (DKK)``): read by one name whatever the code, the code as a column of its own
    (billing_lib.importers.header_currency)."""

    model_config = ConfigDict(extra="forbid")
    column: str = Field(description="The name the mapping reads the column by")
    header: str = Field(
        description="Regular expression of the file's header name (any case); its group is the "
        "currency: an ISO 4217 code, or empty for none (the column is then not read)"
    )
    currency: str = Field(description="The name the mapping reads the code by")


class IdShape(BaseModel):
    """The shapes an id takes once rewritten (a regular expression over the whole value), on the
    rows where ``when`` (SQL over source columns) holds: the AWS account of a FOCUS export from
    AWS is 12 digits, another provider's is not."""

    model_config = ConfigDict(extra="forbid")
    damaged: str
    when: str | None = None
    #: what the id is, for messages ("an AWS account id: 12 digits")
    expected: str | None = None


class RowCheck(BaseModel):
    """Rows the mapping cannot bill right, refused with their row and column instead of billed
    wrong in silence (a Microsoft licence whose billing frequency leaves the cycle to prorate
    by unknown)."""

    model_config = ConfigDict(extra="forbid")
    column: str = Field(description="The vendor column the message names")
    refuse: str = Field(description="SQL over source columns: true on a row that is refused")
    found: str | None = Field(
        None, description="SQL: the value shown as found (default: the column's value)"
    )
    expected: str = Field(
        description="What the column must hold, in words; ``{detail}`` stands for the text of "
        "``detail``"
    )
    detail: str | None = Field(
        None,
        description="SQL: text about the row that helps put it right (or NULL); "
        "``{in_file:Column}`` in it is TRUE where the file has the column, FALSE where not",
    )
    if_in_file: bool = Field(
        False,
        description="Check only a file that has ``column``: a format whose files may lack it "
        "altogether (FOCUS's own examples) reads it as NULL, which the check must not refuse",
    )


class RowWarning(BaseModel):
    """Rows that import as the file says but that the analyst should look at: figures that do
    not agree where the vendor documents no rule that they must (VMware's points against units x
    points per unit: bundles, minimums, rounding), listed among the import report's warnings
    with their row and columns, never in silence."""

    model_config = ConfigDict(extra="forbid")
    columns: list[str] = Field(description="The vendor columns the warning names")
    when: str = Field(description="SQL over source columns: true on a row that is listed")
    says: str = Field(
        description="What is wrong with the row, in words; ``{detail}`` stands for the text "
        "of ``detail``"
    )
    detail: str | None = Field(None, description="SQL: text about the row (or NULL)")
    if_in_file: bool = Field(
        False, description="Check only a file that has the first of ``columns``"
    )


class OptionalKeyParts(BaseModel):
    """Parts of what tells a format's lines apart that a report of it may lack (VMware's Usage
    Meter column, which one export of a month has and another of the same month has not): a
    line without one may be the usage of any line with it, so two lines that bill the same usage
    (``same_usage``), whose parts agree where both have them and one of which lacks a part the
    other has, are refused, naming both files and rows
    (billing_lib.importers.optional_key_parts), rather than billed twice. Two lines with the same
    parts are compared by the format's other checks (line ids, rows)."""

    model_config = ConfigDict(extra="forbid")
    columns: dict[str, str] = Field(
        description="Line-model column of each part (NULL on a line without it) -> the vendor "
        "column it is read from, for the messages"
    )
    same_usage: list[str] = Field(
        description="SQL over line-model columns: the values that are one usage whatever the "
        "parts (month, customer, product, quantity), compared as typed values"
    )
    words: str = Field(description="``same_usage`` and the parts in words, for the messages")
    way_out: str = Field(
        description="What to give instead when the two lines are another's usage, in words"
    )


class OlderName(BaseModel):
    """The name an older layout of the format gives a column (Azure's EA and pay-as-you-go
    exports name their CostInBillingCurrency Cost), read in the column's place only in a file of
    that layout: a file with a column of the layouts that name it as the format does is of one of
    those, and a column of the older name in it is none of the vendor's (the column renamed, or
    another currency's cost under its name). Refused then, naming row 1 and the column missing."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="The older layout's name of the column")
    what: str = Field(description="What the column holds, in words for the messages")
    older_layout: str = Field(description="The older layout, in words for the messages")
    newer_columns: list[str] = Field(
        description="Columns of the layouts that name the column as the format does, which the "
        "older layout lacks"
    )


#: The month a contract-priced report is priced for (its ``contract_price.month``, else the
#: file name's or the period's): a column ``contract_price`` adds.
CONTRACT_MONTH = "__contract_month"
#: Columns ``contract_price`` adds to a format's source columns (not read from the file).
CONTRACT_COLUMNS = (
    CONTRACT_MONTH,
    "__contract_price",
    "__contract_currency",
    "__contract_per",
    "__contract_points",
    "__contract_cost",
    "__contract_needed",
    "__contract_product",
    "__contract_unit",
    "__contract_ppu",
    "__contract_ppu_entry",
)
#: The name of the file a row is read from (a zip member's own name), a column every format's SQL
#: may read like a source column (not read from the file): a report that cannot tell its lines
#: from another site's (no Usage Meter column) keys them by their file.
FILE_NAME_COLUMN = "__file_name"


class FormatSpec(BaseModel):
    """A vendor report layout and its mapping to the line model."""

    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    documented_at: str = Field(description="Where the vendor documents this layout")
    signature: list[ColumnChoice] = Field(
        description="Columns whose presence identifies the format (a list entry: any one of them)"
    )
    required: list[ColumnChoice] = Field(
        description="Columns that must be present to import (a list entry: any one of them)"
    )
    default_currency_column: str | None = Field(
        None,
        description="Column that ``default_currency`` stands in for when the file lacks it; "
        "``{default_currency}`` in SQL is that currency then, else NULL",
    )
    priority: int = Field(0, description="Higher wins when several signatures match")
    null_values: list[str] = [""]
    timestamp_formats: list[str] = []
    slash_date_order: Literal["declared", "from_file"] = Field(
        "declared",
        description="Order of the slash dates of timestamp_formats: as declared (the vendor's "
        "own, Microsoft's US month first), or from_file: the vendor writes ISO and a slash date "
        "is a spreadsheet's re-save in its locale's order, read from the file's own dates "
        "(slash_dates.with_file_order)",
    )
    types: dict[str, SourceKind] = {}
    cost: str = Field(description="SQL over source columns: the vendor's cost of a raw row")
    currency: str = Field(description="SQL over source columns: the currency of a raw row")
    single_currency: bool = False
    contract_price: ContractPriceSpec | None = Field(
        None, description="Price from the reseller's contract where the report carries none"
    )
    header_currency: HeaderCurrency | None = Field(
        None, description="A column whose header names the currency of its values"
    )
    delimiters: list[str] = Field(
        [","], description="Field separators the vendor writes (the header tells which one)"
    )
    duplicate_key: Literal["line_id", "row"] | None = Field(
        None,
        description="What identifies a row inside one file: 'line_id' (the x_VendorLineId "
        "mapping), 'row' (every column of the row, typed); unset: line_id when x_VendorLineId "
        "is mapped",
    )
    repeated_rows: str | None = Field(
        None,
        description="Why identical rows are legitimate in this format: then they are imported "
        "(each is a line), otherwise a repeated key refuses the file",
    )
    one_delivery: str | None = Field(
        None,
        description="Why the format's line ids cannot tell two deliveries of one month apart: "
        "then two reports of one billing account (BillingAccountId) and billing period "
        "(BillingPeriodStart, else the charge month) that are not parts of one delivery are "
        "refused (deliveries), rather than both billed",
    )
    positive_quantity_credits: list[str] = Field(
        [],
        description="Vendor charge types (x_VendorChargeType) that give money back on a positive "
        "quantity as the vendor's convention (not a contradiction of signs)",
    )
    money_back_marks: list[str] = Field(
        [],
        description="Columns by which the format tells a line that gives money back on a "
        "positive quantity (its mapping leaves such a line without PricingQuantity): named, with "
        "those the file lacks, when lines with contradicting signs carry no such mark",
    )
    file_keyed_lines: str | None = Field(
        None,
        description="When a line id takes its file's name (``__file_name`` in x_VendorLineId): "
        "why, in words for the messages that name it ('the report has no Usage Meter column')",
    )
    optional_key_parts: OptionalKeyParts | None = Field(
        None,
        description="Parts of what tells the lines apart that a report may lack: a line "
        "without one that bills the same usage as a line with it is refused",
    )
    total_row: str | None = Field(
        None,
        description="Why a report of the format may end with a total row (a label, Total, in "
        "its first column, the sums in its numeric columns): the row is then no line, and each "
        "sum it prints must be its column's over the lines (billing_lib.importers.total_rows)",
    )
    ids: dict[str, str | IdShape | None] = Field(
        {},
        description="Id columns a spreadsheet rewrites when the file is re-saved in it: a value in "
        "scientific notation refuses the file, and so does one matching the regular expression "
        "given (the shape the id takes with its leading zeros dropped, or as a number), on the "
        "rows where its ``when`` holds; in a Parquet file, such a column stored as a number",
    )
    effective_cost_columns: dict[str, list[str]] = Field(
        {},
        description="Vendor charge types (x_VendorChargeType) whose EffectiveCost, the amortised "
        "cost of a commitment, is computed from these columns: a file without one of them, or "
        "a line without its value, leaves the line without EffectiveCost, which a rule pricing "
        "EffectiveCost refuses (rating.effective_cost)",
    )
    tag_columns: str | None = Field(
        None,
        description="Prefix of the columns that each hold one tag (the legacy CUR's "
        "resourceTags/user:CostCenter): every such column of a file is read into Tags, a JSON "
        "object keyed as the CUR 2.0 names them (user_cost_center), instead of the Tags mapping",
    )
    older_names: dict[str, OlderName] = Field(
        {},
        description="Column -> the name an older layout gives it, read in its place only in a "
        "file of that layout (billing_lib.importers.source_checks.check_older_names)",
    )
    newer_names: dict[str, str] = Field(
        {},
        description="Column -> the name a newer version of the format gives it, read in its "
        "place in a file without the column (FOCUS 1.3's ServiceProviderName for ProviderName: "
        "billing_lib.importers.source_checks.with_newer_names)",
    )
    row_checks: list[RowCheck] = Field(
        [],
        description="Rows the mapping cannot bill right: the file is refused naming each row, "
        "its column and what was expected",
    )
    row_warnings: list[RowWarning] = Field(
        [],
        description="Rows imported as the file says but listed among the import report's "
        "warnings, naming row and columns (importers/row_warnings.py)",
    )
    columns: dict[str, ColumnMap | str | None] = Field(
        description="Line-model column -> source: {column: name or [alternatives]}, "
        "{value: literal}, a SQL expression over quoted source columns, or null (not in this "
        "format)"
    )

    @model_validator(mode="after")
    def _columns_known(self) -> FormatSpec:
        unknown = sorted(set(self.columns) - set(LINE_COLUMN_NAMES))
        if unknown:
            raise ValueError(f"columns not in the line model: {unknown}")
        derived = sorted(set(self.columns) & {"x_FollowsCredits"})
        if derived:
            raise ValueError(f"columns the importer computes, not mapped: {derived}")
        missing = sorted(
            set(LINE_COLUMN_NAMES) - set(self.columns) - set(ENGINE_COLUMNS) - set(OPTIONAL_COLUMNS)
        )
        if missing:
            raise ValueError(f"line-model columns without a mapping (map them to null): {missing}")
        wordy = [f for f in self.timestamp_formats if not f.startswith(_DIGIT_DIRECTIVES)]
        if wordy:
            raise ValueError(
                f"timestamp_formats must begin with a number (%Y, %y, %m, %d; the importer reads "
                f"a date that does not as unreadable, values.timestamp_from_text): {wordy}"
            )
        if self.line_id_by_file and not self.file_keyed_lines:
            raise ValueError(
                f"x_VendorLineId reads {FILE_NAME_COLUMN}: say why in file_keyed_lines"
            )
        return self

    def id_shapes(self) -> dict[str, IdShape | None]:
        """``ids`` with each damaged shape as an ``IdShape`` (None: scientific notation only)."""
        return {
            c: IdShape(damaged=shape) if isinstance(shape, str) else shape
            for c, shape in self.ids.items()
        }

    @property
    def key_kind(self) -> str:
        """``line_id`` or ``row``: what identifies a row inside one file (``duplicate_key``)."""
        if self.duplicate_key:
            return self.duplicate_key
        return "line_id" if self.columns.get("x_VendorLineId") is not None else "row"

    def line_id_columns(self) -> list[str]:
        """The vendor columns the line id is made of (for messages and docs); ``month`` for the
        month a contract-priced report is priced for (its Month column, the period or the file
        name), not the engine's own column."""
        m = self.column_map("x_VendorLineId")
        names = m.alternatives() or list(dict.fromkeys(QUOTED_COLUMN.findall(m.sql or "")))
        words = {"__contract_month": "month", FILE_NAME_COLUMN: "file name"}
        return [words.get(n, n) for n in names]

    @property
    def line_id_by_file(self) -> bool:
        """Whether a line id may take its file's name (``FILE_NAME_COLUMN``): two such reports
        are then told apart as copies by what they bill (``line_content.content_key``)."""
        return FILE_NAME_COLUMN in (self.column_map("x_VendorLineId").sql or "")

    def column_map(self, target: str) -> ColumnMap:
        m = self.columns[target]
        if m is None:
            return ColumnMap(sql="NULL")
        return ColumnMap(sql=m) if isinstance(m, str) else m

    def referenced_columns(self) -> set[str]:
        """Every source column the mapping may read (quoted identifiers in SQL count)."""
        names: set[str] = set(self.types) | set(self.ids)
        for shape in self.id_shapes().values():
            if shape is not None and shape.when:
                names |= set(QUOTED_COLUMN.findall(shape.when))
        names |= {c for columns in self.effective_cost_columns.values() for c in columns}
        for choice in self.required:
            names |= set(choices(choice))
        for check in self.row_checks:
            names.add(check.column)
        for warning in self.row_warnings:
            names |= set(warning.columns)
        for expr in (
            self.cost,
            self.currency,
            *(self.contract_price.sql() if self.contract_price else []),
            *(f"{c.refuse} {c.found or ''} {c.detail or ''}" for c in self.row_checks),
            *(f"{w.when} {w.detail or ''}" for w in self.row_warnings),
        ):
            names |= set(QUOTED_COLUMN.findall(expr))
        for target in self.columns:
            m = self.column_map(target)
            names |= set(m.alternatives())
            if m.sql:
                names |= set(QUOTED_COLUMN.findall(m.sql))
        return names - set(CONTRACT_COLUMNS) - {FILE_NAME_COLUMN}

    def file_columns(self) -> set[str]:
        """The vendor columns the mapping may read, as a reader of the file names them: the
        ``header_currency`` column by its name for any currency (``Price (CUR)``), its code not
        (it is in the header, not a column)."""
        code = {self.header_currency.currency} if self.header_currency else set()
        return (self.referenced_columns() - code) | set(self.newer_names.values())


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")


def cur2_tag_key(name: str) -> str:
    """A legacy CUR tag (``user:CostCenter``, ``aws:createdBy``) as the CUR 2.0's resource_tags
    name it (``user_cost_center``, ``aws_created_by``): words split at a capital, joined by
    underscores, in lower case."""
    return _NOT_WORD.sub("_", _CAMEL.sub("_", name)).strip("_").lower()


def tag_columns_of(spec: FormatSpec, header: Iterable[str]) -> list[str]:
    """The columns of ``header`` holding one tag each (``FormatSpec.tag_columns``)."""
    prefix = spec.tag_columns
    return sorted(h for h in header if prefix and h.startswith(prefix) and len(h) > len(prefix))


_REPEATED = re.compile(r"(.+)_[0-9]+")


def _header_name(column: str, columns: list[str]) -> str:
    """The file's own name of ``column``: the reader suffixes a name repeated ignoring case
    (resourceTags/user:name after resourceTags/user:Name is resourceTags/user:name_2)."""
    m = _REPEATED.fullmatch(column)
    if m and any(c != column and c.casefold() == m[1].casefold() for c in columns):
        return m[1]
    return column


def tags_sql(spec: FormatSpec, columns: Iterable[str]) -> str:
    """SQL of the Tags JSON object from the tag ``columns`` (each a column of one tag, named
    after ``spec.tag_columns``): empty values left out, a key two columns give (user:CostCenter
    and user:cost_center) from the first that has a value; NULL without columns."""
    prefix = spec.tag_columns or ""
    columns = sorted(columns)
    keys: dict[str, list[str]] = {}
    for column in columns:
        keys.setdefault(cur2_tag_key(_header_name(column, columns)[len(prefix) :]), []).append(
            column
        )
    if not keys:
        return "NULL"
    # Each member '"key":value' is NULL when its value is, and concat_ws leaves NULLs out: the
    # same text as to_json of a map of the present keys, at a third of its cost (no list, lambda
    # or map per line; 0.67 -> 0.27 CPU-s per million AWS lines).
    members = ", ".join(
        f"{ql(json.dumps(key, ensure_ascii=False) + ':')} || to_json(COALESCE("
        + ", ".join(f"NULLIF(trim({qi(c)}), '')" for c in cols)
        + "))"
        for key, cols in keys.items()
    )
    return f"('{{' || concat_ws(',', {members}) || '}}')"


def choices(choice: ColumnChoice) -> list[str]:
    """The alternatives of a signature or required entry."""
    return [choice] if isinstance(choice, str) else list(choice)


def choice_text(choice: ColumnChoice) -> str:
    """A signature or required entry as a reader sees it: ``Cost`` or
    ``Cost | CostInBillingCurrency``."""
    return " | ".join(choices(choice))


def load_spec(path: Path) -> FormatSpec:
    """A format specification; a ParameterError naming the file and the entry when it is not
    valid YAML or not a valid specification."""
    return validate(FormatSpec, path, read_yaml(path))


@lru_cache(maxsize=1)
def all_specs() -> tuple[FormatSpec, ...]:
    """Every format the workbench knows, highest priority first."""
    specs = [load_spec(p) for p in sorted(FORMATS_DIR.glob("*.yaml"))]
    return tuple(sorted(specs, key=lambda s: -s.priority))


def spec_named(name: str) -> FormatSpec:
    """The format called ``name`` (``billing import --format``), or an InputError listing them."""
    for spec in all_specs():
        if spec.name == name:
            return spec
    known = ", ".join(sorted(s.name for s in all_specs()))
    raise InputError(f"unknown format {name!r}; expected one of: {known}")


def mapping_sql(spec: FormatSpec, present: set[str], target: str, default_sql: str) -> str:
    m = spec.column_map(target)
    # Tags: a column of tags (CUR 2.0's resource_tags map) where the file has one, else a column
    # per tag (a legacy CUR: resourceTags/user:CostCenter, or resource_tags_user_cost_center in
    # Parquet)
    if target == "Tags" and spec.tag_columns and not any(a in present for a in m.alternatives()):
        return tags_sql(spec, tag_columns_of(spec, present))
    if m.value is not None:
        return ql(m.value)
    if m.sql is not None:
        return m.sql.replace("{default_currency}", default_sql)
    for alt in m.alternatives():
        if alt in present:
            return qi(alt)
    return "NULL"


def source_of(spec: FormatSpec, target: str, present: set[str]) -> str:
    if target not in spec.columns:
        return target
    m = spec.column_map(target)
    alts = [a for a in m.alternatives() if a in present]
    if not alts and m.sql:
        alts = [a for a in QUOTED_COLUMN.findall(m.sql) if a in present][:1]
    return f"{target} (from {alts[0]!r})" if alts else target
