"""The one billing-line model every stage reads: FOCUS 1.2 column names plus traceability columns.

The schema is declared once here. Importers produce exactly these columns with these DuckDB types;
``validate_lines`` checks the rules FOCUS states (mandatory values, allowed categories) and reports
every violation with the vendor file and row it came from.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from billing_lib.money import SQL_AMOUNT


@dataclass(frozen=True)
class Column:
    """One column of the line model: its name, DuckDB type, whether a value is mandatory, and
    why."""

    name: str
    sql_type: str
    mandatory: bool
    doc: str


LINE_COLUMNS: tuple[Column, ...] = (
    Column(
        "BillingAccountId",
        "VARCHAR",
        False,
        "Vendor account that is invoiced (AWS payer, MS partner)",
    ),
    Column("BillingAccountName", "VARCHAR", False, "Name of the billing account"),
    Column(
        "SubAccountId",
        "VARCHAR",
        True,
        "Vendor account of the end customer: AWS usage account, MS customer tenant, VMware "
        "customer label",
    ),
    Column(
        "SubAccountName", "VARCHAR", False, "Name of the sub-account (customer name at the vendor)"
    ),
    Column("ProviderName", "VARCHAR", True, "Who provides the service (AWS, Microsoft, VMware)"),
    Column(
        "PublisherName",
        "VARCHAR",
        False,
        "Who publishes the product (marketplace vendor or provider)",
    ),
    Column("InvoiceIssuerName", "VARCHAR", False, "Who invoices the reseller"),
    Column("InvoiceId", "VARCHAR", False, "Vendor invoice the line is billed on"),
    Column("ChargeCategory", "VARCHAR", True, "FOCUS: Usage, Purchase, Tax, Credit, Adjustment"),
    Column(
        "ChargeClass",
        "VARCHAR",
        False,
        "FOCUS: Correction for corrections of an earlier period, else empty",
    ),
    Column("ChargeFrequency", "VARCHAR", False, "FOCUS: One-Time, Recurring, Usage-Based"),
    Column("ChargeDescription", "VARCHAR", False, "Vendor's description of the charge"),
    Column("ChargePeriodStart", "TIMESTAMP", True, "Start of the charged period (UTC, inclusive)"),
    Column("ChargePeriodEnd", "TIMESTAMP", False, "End of the charged period (UTC, exclusive)"),
    Column(
        "BillingPeriodStart",
        "TIMESTAMP",
        False,
        "Start of the vendor's billing period (UTC, inclusive)",
    ),
    Column(
        "BillingPeriodEnd",
        "TIMESTAMP",
        False,
        "End of the vendor's billing period (UTC, exclusive)",
    ),
    Column(
        "ServiceName",
        "VARCHAR",
        False,
        "Service (Amazon EC2, Microsoft 365 E3, VMware Cloud Foundation)",
    ),
    Column("ServiceCategory", "VARCHAR", False, "FOCUS service category (Compute, Storage, ...)"),
    Column("SkuId", "VARCHAR", False, "Vendor's product or SKU id"),
    Column("SkuPriceId", "VARCHAR", False, "Vendor's price id (rate code, availability id)"),
    Column("ResourceId", "VARCHAR", False, "Resource, subscription or licence the charge is for"),
    Column("ResourceName", "VARCHAR", False, "Readable name of the resource"),
    Column("RegionId", "VARCHAR", False, "Region code"),
    Column("ConsumedQuantity", SQL_AMOUNT, False, "Quantity consumed, in ConsumedUnit"),
    Column("ConsumedUnit", "VARCHAR", False, "Unit of ConsumedQuantity"),
    Column(
        "PricingQuantity", SQL_AMOUNT, False, "Quantity priced, in PricingUnit (seats, hours, GB)"
    ),
    Column("PricingUnit", "VARCHAR", False, "Unit of PricingQuantity"),
    Column(
        "ListUnitPrice",
        SQL_AMOUNT,
        False,
        "Vendor's public list price per PricingUnit, BillingCurrency",
    ),
    Column("ListCost", SQL_AMOUNT, False, "ListUnitPrice x PricingQuantity, BillingCurrency"),
    Column(
        "ContractedCost",
        SQL_AMOUNT,
        False,
        "Cost at the reseller's negotiated price, BillingCurrency",
    ),
    Column(
        "BilledCost",
        SQL_AMOUNT,
        True,
        "What the vendor invoices the reseller for the line, BillingCurrency",
    ),
    Column(
        "EffectiveCost",
        SQL_AMOUNT,
        False,
        "Amortised cost (commitments spread over usage), BillingCurrency",
    ),
    Column("BillingCurrency", "VARCHAR", True, "ISO 4217 currency of the cost columns"),
    Column("Tags", "VARCHAR", False, "Resource tags as a JSON object"),
    Column(
        "CommitmentDiscountId",
        "VARCHAR",
        False,
        "The commitment (Savings Plan, reservation) the line is covered by or pays for",
    ),
    Column(
        "x_Vendor",
        "VARCHAR",
        True,
        "Vendor key used for account mapping: aws, microsoft, vmware, ...",
    ),
    Column("x_Format", "VARCHAR", True, "Import format that read the line"),
    Column(
        "x_VendorChargeType",
        "VARCHAR",
        False,
        "Vendor's own line type (lineItem/LineItemType, ChargeType)",
    ),
    Column("x_VendorLineId", "VARCHAR", False, "Vendor's own id of the line, where it has one"),
    Column(
        "x_SubscriptionId",
        "VARCHAR",
        False,
        "Microsoft subscription the line bills where its SubAccountId is the customer's tenant "
        "(Partner Center's licence subscription, the Azure subscription; lower case): its "
        "accounts.csv row maps the line before the tenant's (a tenant shared by customers)",
    ),
    Column(
        "x_PricingDate",
        "DATE",
        False,
        "Day whose plan, rule and exchange rate price the line: its charge date (the day of "
        "ChargePeriodStart), but for a credit of a Partner Center licence cycle the cycle's first "
        "day (the charge it gives back was priced on it); filled by the importer "
        "(``DERIVED_COLUMNS``)",
    ),
    Column(
        "x_FollowsCredits",
        "BOOLEAN",
        False,
        "Whether a price rule's ``credits`` setting decides the line: a Credit (also one taken"
        " back, positive), or an Adjustment giving money back (BilledCost 0 or less); a positive"
        " Adjustment is a charge; filled by the importer (``DERIVED_COLUMNS``)",
    ),
    Column(
        "x_RefundsSeats",
        "BOOLEAN",
        False,
        "On a line the ``credits`` setting decides: true where it gives back seats a charge billed"
        " (a Partner Center seat removal, cancellation or refund of a licence billed by cycle),"
        " false where it gives back none (a Partner Center credit, customerCredit or price"
        " adjustment), NULL where the format does not tell; NULL on every other line"
        " (docs/pricing.md, item 4; ``DERIVED_COLUMNS``)",
    ),
    Column("x_SourceFile", "VARCHAR", True, "File the line was read from"),
    Column(
        "x_SourceRow",
        "BIGINT",
        True,
        "Row in that file as a spreadsheet numbers it (header = row 1)",
    ),
)

LINE_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in LINE_COLUMNS)
LINE_COLUMN_TYPES: dict[str, str] = {c.name: c.sql_type for c in LINE_COLUMNS}

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")

#: Line-model columns the importer computes from a line's other columns once they are mapped
#: (``derived_select_sql``), so that the rating joins each line to its key on plain columns
#: (a computed expression in that join made DuckDB spill past 60 GB at a million lines,
#: benchmarks/README.md, twentieth pass). ``x_PricingDate`` starts from the format's own mapping
#: (``ms_invoice_reconciliation``: a licence credit's cycle start; none elsewhere), never after
#: the charge date; ``x_FollowsCredits`` from the category and the sign of BilledCost;
#: ``x_RefundsSeats`` the format's own (``ms_invoice_reconciliation``), kept on the lines the
#: credits setting decides only.
_FOLLOWS_CREDITS = (
    """("ChargeCategory" = 'Credit' OR ("ChargeCategory" = 'Adjustment' AND "BilledCost" <= 0))"""
)
DERIVED_COLUMNS: dict[str, str] = {
    "x_PricingDate": 'least("x_PricingDate", CAST("ChargePeriodStart" AS DATE))',
    "x_FollowsCredits": f"COALESCE({_FOLLOWS_CREDITS}, false)",
    "x_RefundsSeats": f'CASE WHEN {_FOLLOWS_CREDITS} THEN "x_RefundsSeats" END',
}


def derived_select_sql(source: str) -> str:
    """SELECT of every line-model column of ``source`` (a relation of them, the derived columns
    as mapped: NULL or the format's value) in model order, ``DERIVED_COLUMNS`` computed."""
    cols = ", ".join(
        f'CAST({DERIVED_COLUMNS[c.name]} AS {c.sql_type}) AS "{c.name}"'
        if c.name in DERIVED_COLUMNS
        else f'"{c.name}"'
        for c in LINE_COLUMNS
    )
    return f"SELECT {cols} FROM {source}"


def lines_table_sql(table: str = "lines") -> str:
    """CREATE TABLE statement for an empty table of normalised lines."""
    cols = ",\n  ".join(f'"{c.name}" {c.sql_type}' for c in LINE_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"


#: The store's record of each imported vendor report (``content``: its content key, which finds the
#: same report again in another container or encoding; ``invoice_ids``: whether the report has the
#: column of the vendor's invoice id, which Data Exports lets a user leave out).
IMPORTS_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS imports (
  file VARCHAR, format VARCHAR, checksum VARCHAR, rows BIGINT,
  charge_start TIMESTAMP, charge_end TIMESTAMP, content VARCHAR, invoice_ids BOOLEAN
)"""


#: The lines of the imported reports that have no vendor line id
#: (``importers.line_content.remember_rows``), each as the 128-bit hash of the charge it bills: a
#: line of a later report with the same hash is the same charge twice (two overlapping exports),
#: refused. ``report`` is the rowid of the report's first line in ``lines``: one value per
#: imported report.
IMPORTED_ROWS_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS imported_rows (
  format VARCHAR, report BIGINT, file VARCHAR, row BIGINT, hash UHUGEINT
)"""


#: The dates a line's timestamps may hold: the years of a billing period (``PERIOD_PATTERN``). A
#: date DuckDB parses but Python cannot hold (the year 29023) would reach the checks as text.
DATES_FROM, DATES_BEFORE = "1900-01-01", "3000-01-01"


def date_in_range_sql(column: str) -> str:
    """SQL true when the TIMESTAMP ``column`` is within ``DATES_FROM`` .. ``DATES_BEFORE``."""
    return f"({column} >= TIMESTAMP '{DATES_FROM}' AND {column} < TIMESTAMP '{DATES_BEFORE}')"


def violation_rules() -> list[tuple[str, str, str, str]]:
    """Each rule of the model a line can break, as (SQL condition true on a breaking line, the
    column, SQL of the value shown, what was expected); conditions name the columns only."""
    rules = [
        (f'"{c.name}" IS NULL', c.name, "NULL", "a value (mandatory)")
        for c in LINE_COLUMNS
        if c.mandatory
    ]
    years = f"a date in the years {DATES_FROM[:4]} to {int(DATES_BEFORE[:4]) - 1}"
    dates = [f'"{c.name}"' for c in LINE_COLUMNS if c.sql_type == "TIMESTAMP"]
    rules += [
        (f"NOT {date_in_range_sql(d)}", d.strip('"'), f"CAST({d} AS VARCHAR)", years) for d in dates
    ]
    cats = ", ".join(f"'{v}'" for v in CHARGE_CATEGORIES)
    freqs = ", ".join(f"'{v}'" for v in CHARGE_FREQUENCIES)
    cat_text = ", ".join(CHARGE_CATEGORIES)
    freq_text = ", ".join(CHARGE_FREQUENCIES)
    # An end before its start: a day-first file read month first (Partner Center in a European
    # locale: 05/10/2026-04/11/2026 as 10 May-11 Apr) or a spreadsheet's edit. Prorated by a
    # negative number of days, a seat's list price came out as a credit of the charge.
    rules += [
        (
            f'"{end}" < "{start}"',
            end,
            f'CAST("{end}" AS VARCHAR) || \', before {start} \' || CAST("{start}" AS VARCHAR)',
            f"an end not before {start}: dates are read in the order the format declares "
            "(docs/formats.md), a file with dates in another order is refused, never guessed",
        )
        for start, end in (
            ("ChargePeriodStart", "ChargePeriodEnd"),
            ("BillingPeriodStart", "BillingPeriodEnd"),
        )
    ]
    return [
        *rules,
        (
            f"ChargeCategory NOT IN ({cats})",
            "ChargeCategory",
            "ChargeCategory",
            f"one of {cat_text}",
        ),
        (
            f"ChargeFrequency IS NOT NULL AND ChargeFrequency NOT IN ({freqs})",
            "ChargeFrequency",
            "ChargeFrequency",
            f"one of {freq_text}",
        ),
        (
            "NOT regexp_full_match(BillingCurrency, '[A-Z]{3}')",
            "BillingCurrency",
            "BillingCurrency",
            "a three-letter ISO 4217 code",
        ),
    ]


def violations_sql(table: str, limit: int = 200) -> str:
    """A query listing (row, column, value, expected) for every rule of the model a line breaks."""
    checks = [
        f"SELECT x_SourceRow AS row, '{column}' AS col, {value} AS val, '{expected}' AS expected "
        f"FROM {table} WHERE {condition}"
        for condition, column, value, expected in violation_rules()
    ]
    union = "\nUNION ALL\n".join(f"({q} LIMIT {limit})" for q in checks)
    return f"SELECT * FROM ({union}) ORDER BY row LIMIT {limit}"


#: Other names of a vendor in accounts.csv and in price plans' ``match``, read as the vendor the
#: lines name (``x_Vendor``): the providers the FOCUS importer reads as one
#: (``importers/formats/focus.yaml``, ``x_Vendor``).
VENDOR_NAMES = {
    "amazon": "aws",
    "amazon web services": "aws",
    "azure": "microsoft",
    "microsoft azure": "microsoft",
    "google cloud": "google",
    "google cloud platform": "google",
    "gcp": "google",
    "oracle cloud infrastructure": "oracle",
    "oci": "oracle",
}


def line_vendor(name: str) -> str:
    """``name`` as the lines name the vendor (``x_Vendor``): in lower case, single spaces, and by
    ``VENDOR_NAMES`` (``Azure`` -> ``microsoft``)."""
    vendor = " ".join(name.split()).lower()
    return VENDOR_NAMES.get(vendor, vendor)


#: The vendors the formats name (``x_Vendor``) and the other names of ``VENDOR_NAMES``.
KNOWN_VENDORS = frozenset({"aws", "microsoft", "vmware", *VENDOR_NAMES, *VENDOR_NAMES.values()})


def checked_vendor(name: str) -> str:
    """``line_vendor(name)``; a ValueError naming the vendor meant when it is a letter or two away
    from one the formats name (``micrsoft``): such a name maps no line (accounts.csv) and matches
    none (a price plan's rule, whose lines a catch-all rule then prices), without a word. Any
    other name is read: a FOCUS export names its provider as it likes (``hetzner online``)."""
    vendor = line_vendor(name)
    if vendor not in KNOWN_VENDORS:
        close = difflib.get_close_matches(vendor, sorted(KNOWN_VENDORS), n=1, cutoff=0.75)
        if close:
            meant = line_vendor(close[0])
            raise ValueError(
                f"{name!r} is close to {meant!r} but not it; did you mean {meant!r}? (a vendor "
                f"spelt otherwise maps and matches none of {meant}'s lines)"
            )
    return vendor
