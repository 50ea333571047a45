"""The rated lines behind the invoices, as the workbooks' usage sheets show them and as the detail
file beside each workbook holds them.

Every invoice gets ``<workbook>.usage.parquet`` beside its workbook: every rated line behind it,
exact DECIMAL(38,12) amounts and quantities, typed dates, for the customer's own tools (DuckDB,
pandas, Power Query, Spark). The invoices are read in shares of at most ``DETAIL_SORT_LINES``
rated lines in customer order (``usage_shares``): each share reads only its customers' row
groups of ``rated_lines`` (stored by customer) into one Arrow table, labelled and sorted once
(``share_lines``), from which the usage sheets' rows are read and the detail files sliced
(``share_usage``). The workbooks' processes each take whole shares, reading them from the run's
rated_lines.parquet (``workbooks``). (One sorted query per share over a table of every labelled
line read all lines once per share: at 10 million lines that and the labelling took most of the
invoice files' 179 s, benchmarks/README.md.)

The usage sheets are read here too, a few queries per share, not per invoice: an invoice
with at most ``usage_detail_max_lines`` rated lines lists them all; a larger one shows them
summarised per invoice line, service, SKU, description, subscription/resource, unit and kind, with
exact sums that add up to its invoice lines.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from billing_lib.customers import Customer
from billing_lib.invoices import Invoice, Invoicing, labelled_lines
from billing_lib.journal_files import FORMULA_STARTS
from billing_lib.line_labels import kind_name_sql, resource_label_sql
from billing_lib.printed_columns import printed_column
from billing_lib.publishing import writing
from billing_lib.run_files import atomic_target
from billing_lib.sql import ql
from billing_lib.usage_summaries import SUMMARY_MAX_ROWS, summary_rows

#: Suffix of the file beside each invoice workbook that holds every rated line behind the invoice.
USAGE_DETAIL_SUFFIX = ".usage.parquet"
#: Suffix of the same lines as CSV (seller.yaml ``usage_detail_csv``).
USAGE_CSV_SUFFIX = ".usage.csv"

#: The column of a share's lines (``share_lines``) holding a line's resource as the usage sheets
#: show it: its name with its id beside it (``line_labels.resource_label_sql``).
RESOURCE_LABEL = "resource_label"
#: The column of a share's lines holding a line's kind as the usage sheets name it
#: (``line_labels.kind_name_sql``).
KIND_NAME = "kind_name"

#: Usage-sheet columns: (header, rated_lines column or expression, kind).
DETAIL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Invoice line", "invoice_line", "text"),
    ("Charge date", "charge_date", "date"),
    ("Kind", KIND_NAME, "text"),
    ("Service", "service", "text"),
    ("SKU", "sku", "text"),
    ("Description", "description", "text"),
    ("Subscription / resource", RESOURCE_LABEL, "text"),
    ("Tags", "tags", "text"),
    ("Quantity", "quantity", "quantity"),
    ("Unit", "unit", "text"),
    ("Unit price", "unit_price", "price"),
    ("Amount", "amount", "price"),
    ("Source file", "source_file", "text"),
    ("Source row", "source_row", "int"),
    ("Vendor line id", "vendor_line_id", "text"),
)

#: The columns of a share's lines whose texts the usage sheets print as the invoice prints them
#: (``printed_columns``): a vendor's texts, or made of them; the invoice line's text is clean
#: already (``line_labels``). The detail files keep the vendor's texts as the vendor wrote them.
PRINTED_COLUMNS = tuple(
    c for _, c, kind in DETAIL_COLUMNS if kind == "text" and c != "invoice_line"
)

#: The detail file's columns (snake_case, for machines), in the usage sheets' order after the
#: vendor, the resource as its id (``subscription``); ``currency`` is the invoice's; last the
#: resource's name (``subscription_name``, which the sheets show beside the id) and the last day
#: of a charge period longer than a day (``charge_end``: an annual licence's year), added after
#: the others so that a customer's tool reading them by position reads them as before.
DETAIL_FILE_COLUMNS = (
    "vendor",
    *(c for _, c, _ in DETAIL_COLUMNS[:2]),
    "line_kind",
    *(c for _, c, _ in DETAIL_COLUMNS[3:6]),
    "subscription",
    *(c for _, c, _ in DETAIL_COLUMNS[7:12]),
    "currency",
    *(c for _, c, _ in DETAIL_COLUMNS[12:]),
    "subscription_name",
    "charge_end",
)


@dataclass
class VendorUsage:
    """One usage sheet's rows (``selected(columns)`` values) for one vendor of an invoice."""

    vendor: str
    rows: list[tuple] = field(default_factory=list)
    #: True when the rows are per USAGE_GROUP without the resource, counting the resources.
    resources_counted: bool = False


@dataclass
class InvoiceUsage:
    """What one invoice's usage sheets show: every line, or the lines summarised."""

    summarised: bool
    vendors: list[VendorUsage] = field(default_factory=list)


def selected(columns: tuple[tuple[str, str, str], ...]) -> str:
    """The select list of a usage sheet: quantities and amounts as their exact decimal text
    (``float()`` of it is the same double as of the Decimal, without making a Decimal per cell)."""
    return ", ".join(
        f"CAST({c} AS VARCHAR)" if kind in ("quantity", "price") else c for _, c, kind in columns
    )


def rated_line_count(inv: Invoice) -> int:
    """The number of rated lines behind ``inv`` (the sum over its invoice lines)."""
    return sum(line.rated_lines for line in inv.lines)


def usage_shares(invoices: list[Invoice], parts: int = 1) -> list[list[Invoice]]:
    """``invoices`` in customer order, cut into consecutive shares (``detail_shares``) of at most
    ``DETAIL_SORT_LINES`` rated lines and at most about a ``parts``-th of them all, so that
    ``parts`` processes get several shares each. A share is labelled and sorted at once
    (``share_usage``), reading only its customers' row groups of ``rated_lines`` (stored by
    customer)."""
    ordered = sorted(invoices, key=lambda i: i.customer_id)
    counts = [rated_line_count(i) for i in ordered]
    most = max(1, min(DETAIL_SORT_LINES, -(-sum(counts) // parts)))
    bounds = detail_shares(counts, most)
    return [ordered[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def share_usage(
    con: duckdb.DuckDBPyConnection,
    share: list[Invoice],
    invoicing: Invoicing,
    customers: dict[str, Customer],
    targets: list[Path],
) -> dict[str, InvoiceUsage]:
    """The usage sheets' rows of one share's invoices per invoice number (``usage_rows``), their
    detail files written (``targets[k]`` for ``share[k]``, ``write_share_details``): the share's
    rated lines labelled and sorted once for both (``share_lines``)."""
    if not share:
        return {}
    lines = share_lines(con, share, invoicing, customers)
    usage = usage_rows(con, lines, share, invoicing.seller.usage_detail_max_lines)
    write_share_details(lines, targets, invoicing.seller.usage_detail_csv)
    return usage


def share_lines(
    con: duckdb.DuckDBPyConnection,
    invoices: list[Invoice],
    invoicing: Invoicing,
    customers: dict[str, Customer],
) -> pa.Table:
    """The rated lines of ``invoices`` (one share, kind 'invoice') with their invoice line
    (``invoices.labelled_lines``), as an Arrow table in the detail files' order (by ``part``,
    the invoice's index in ``invoices``, then DETAIL_ORDER): ``part``, ``vendor_id`` (the vendor
    as rated_lines has it) and DETAIL_FILE_COLUMNS, ``vendor`` the vendor's name as the detail
    file shows it. The detail files are slices of it and the usage sheets' rows are read from
    it (``usage_rows``), with ``RESOURCE_LABEL`` and ``KIND_NAME``, which the detail files leave
    out. The texts of the invoice lines come from a narrow pass over the lines, joined to them;
    the lines are sorted by pyarrow (``sorted_lines``)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _usage_parts (customer_id VARCHAR, part INTEGER)")
    try:
        con.executemany(
            "INSERT INTO _usage_parts VALUES (?, ?)",
            [(i.customer_id, k) for k, i in enumerate(invoices)],
        )
        keyed, texts = labelled_lines(
            customers, invoicing, invoices[0].period, [i.customer_id for i in invoices]
        )
        seller = ql(invoicing.seller.name)
        columns = ", ".join(
            f"CASE WHEN l.vendor = 'reseller' THEN {seller} ELSE l.vendor_name END AS vendor"
            if c == "vendor"
            else "t.invoice_line"
            if c == "invoice_line"
            else f"l.{c}"
            for c in DETAIL_FILE_COLUMNS
        )
        label = resource_label_sql("l.subscription", "l.subscription_name")
        kind = kind_name_sql("l.line_kind", "l.charge_category")
        lines = con.sql(
            f"SELECT p.part, l.vendor AS vendor_id, {columns}, {label} AS {RESOURCE_LABEL}, "
            f"{kind} AS {KIND_NAME} "
            f"FROM ({keyed}) AS l "
            f"JOIN ({texts}) AS t USING (customer_id, product_group, line_key, line_credit) "
            "JOIN _usage_parts p USING (customer_id)"
        ).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS _usage_parts")
    return sorted_lines(lines)


#: The order of an invoice's lines in its detail file and usage sheets (after ``part``, the
#: invoice): by vendor, the reseller's own lines last, then charge date, vendor file and row.
DETAIL_ORDER = (
    "_reseller",
    "vendor_id",
    "charge_date",
    "source_file",
    "source_row",
    "invoice_line",
    "description",
    "subscription",
    "amount",
    "quantity",
)


def sorted_lines(lines: pa.Table) -> pa.Table:
    """``lines`` (``share_lines``' columns) by ``part``, then DETAIL_ORDER, nulls last in each
    key (as DuckDB's ``ORDER BY``), ``_reseller`` being ``vendor_id = 'reseller'``. pyarrow
    sorts the keys alone and then takes the rows in that order: a quarter of the CPU of DuckDB's
    ``ORDER BY``, which carries every column through its sort (benchmarks/README.md, issue 13's
    sixth pass; ``Table.take`` took three times as long as taking each column, and a column of
    several chunks a third longer than one chunk: DuckDB gives batches of 131,072 lines)."""
    lines = lines.combine_chunks()
    keys = lines.select(["part", *DETAIL_ORDER[1:]]).append_column(
        "_reseller", pc.equal(lines["vendor_id"], pa.scalar("reseller"))
    )
    # nulls last: pyarrow's default for each key
    order = pc.sort_indices(keys, sort_keys=[(k, "ascending") for k in ("part", *DETAIL_ORDER)])
    return pa.Table.from_arrays([c.take(order) for c in lines.columns], schema=lines.schema)


#: The name under which ``usage_rows`` queries a share's lines (``share_lines``).
USAGE_LINES = "_usage_lines"


def usage_rows(
    con: duckdb.DuckDBPyConnection, lines: pa.Table, invoices: list[Invoice], limit: int
) -> dict[str, InvoiceUsage]:
    """Per invoice number: the usage sheets' rows of ``invoices`` read from their ``lines``
    (``share_lines``) for all of them at once: every line of those with at most ``limit`` rated
    lines (``usage_detail_max_lines``, read by DuckDB), the summaries of the others
    (``usage_summaries``). Their texts as the invoice documents print them (``printed_column``):
    a noncharacter read ``_xFFFE_`` in a usage sheet, dropped on the invoice."""
    for name in PRINTED_COLUMNS:
        lines = lines.set_column(
            lines.schema.get_field_index(name), name, printed_column(lines[name])
        )
    small = [k for k, i in enumerate(invoices) if rated_line_count(i) <= limit]
    large = [k for k, i in enumerate(invoices) if rated_line_count(i) > limit]
    out = {i.number: InvoiceUsage(summarised=rated_line_count(i) > limit) for i in invoices}
    by_part = {k: out[i.number] for k, i in enumerate(invoices)}
    if small:
        con.register(USAGE_LINES, lines)
        try:
            # the lines are in the sheets' order already (``share_lines``)
            rows = con.execute(
                f"SELECT part, vendor_id, {selected(DETAIL_COLUMNS)} FROM {USAGE_LINES} "
                "WHERE list_contains(?, part)",
                [small],
            ).fetchall()
        finally:
            con.unregister(USAGE_LINES)
        _distribute(rows, by_part, counted=set())
    if large:
        rows, over = summary_rows(lines, large, min(limit, SUMMARY_MAX_ROWS))
        _distribute(rows, by_part, over)
    return out


def _distribute(
    rows: list[tuple], by_part: dict[int, InvoiceUsage], counted: set[tuple[int, str]]
) -> None:
    """Append ``rows`` (part, vendor, values...; ordered by vendor within a part) to the vendors
    of their invoices."""
    for part, vendor, *values in rows:
        usage = by_part[part]
        if not usage.vendors or usage.vendors[-1].vendor != vendor:
            usage.vendors.append(VendorUsage(vendor, resources_counted=(part, vendor) in counted))
        usage.vendors[-1].rows.append(tuple(values))


def write_share_details(lines: pa.Table, targets: list[Path], also_csv: bool = False) -> None:
    """``targets[k]``: every rated line behind the share's invoice ``k`` (``part`` k of
    ``lines``, ``share_lines``), Parquet (zstd): DETAIL_FILE_COLUMNS, the vendor's name (the
    seller's for its own fees and credits), lines in the usage sheets' order; an empty file for
    an invoice without rated lines. Slices of ``lines`` in their order (no sort here), each
    invoice's written as one table by pyarrow; a rerun gives the same bytes. (DuckDB's
    partitioned ``COPY`` needs one thread for that: 14 s of the 1M month's run.) ``also_csv``:
    each also as CSV beside it (``csv_detail_path``, ``write_detail_csv``)."""
    if not targets:
        return
    targets[0].parent.mkdir(parents=True, exist_ok=True)
    detail = lines.drop_columns(["vendor_id", RESOURCE_LABEL, KIND_NAME])
    # where each part's lines begin (``part`` ascending)
    starts = np.searchsorted(detail.column("part").to_numpy(), np.arange(len(targets) + 1))
    detail = detail.drop_columns(["part"])
    for k, target in enumerate(targets):
        part = detail.slice(starts[k], starts[k + 1] - starts[k])
        _write_detail(part, target)
        if also_csv:
            write_detail_csv(part, csv_detail_path(target))


def csv_detail_path(detail: Path) -> Path:
    """``NW2026-000001_C003.usage.csv`` beside ``NW2026-000001_C003.usage.parquet``."""
    return detail.with_name(detail.name.removesuffix(USAGE_DETAIL_SUFFIX) + USAGE_CSV_SUFFIX)


#: A text that begins with a character a spreadsheet reads as a formula
#: (``journal_files.csv_text``).
_FORMULA_START = "^([" + re.escape("".join(FORMULA_STARTS)) + "])"


def _plain_decimal_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A decimal column as positional text: Arrow writes a value below a millionth in scientific
    notation (the sample's Savings Plan negations, amount 0 at 12 places, read "0E-12", which a
    spreadsheet shows as 0.00E+00); such values only are written out by Python's Decimal and
    put in their places, the others stay as Arrow wrote them (the whole column of a share of
    250,000 lines through Python took 0.18 s against 0.06 s; most detail files hold none)."""
    text = pc.cast(column, pa.string()).combine_chunks()
    exponent = pc.match_substring(text, "E")  # NULL on a NULL value: kept as it is
    if not pc.any(exponent).as_py():
        return pa.chunked_array([text])
    written = [format(Decimal(str(v)), "f") for v in pc.filter(text, exponent).to_pylist()]
    return pa.chunked_array([pc.replace_with_mask(text, exponent, pa.array(written, pa.string()))])


def write_detail_csv(table: pa.Table, path: Path) -> None:
    """``table`` (a detail file's lines) as CSV for a spreadsheet: UTF-8 with a byte-order mark
    (Excel reads the accents), a header of the column names, dates as YYYY-MM-DD, quantities and
    amounts exact without trailing zeros (``744``, ``0.0125``), and an apostrophe before text a
    spreadsheet would read as a formula (a vendor's description or tag). A rerun gives the same
    bytes."""
    columns = []
    for column in table.columns:
        if pa.types.is_decimal(column.type):
            text = _plain_decimal_text(column)
            text = pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")
            column = pc.replace_substring_regex(text, r"\.$", "")
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.replace_substring_regex(column, _FORMULA_START, r"'\1")
        columns.append(column)
    table = pa.Table.from_arrays(columns, names=table.column_names)
    with writing(path), atomic_target(path) as tmp, open(tmp, "wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, fh)


#: Most rated lines of one share (labelled and sorted at once by a writer process, in an Arrow
#: table of about 450 bytes a line, twice while it is sorted; when DuckDB sorted them within the
#: writer's WRITER_MEMORY, shares of 500,000 spilled at 10 million lines, the invoice files took
#: 63.9 instead of 53.9 s; one sort of every line ran out of the run's 1,200 MB).
DETAIL_SORT_LINES = 250_000


def detail_shares(counts: list[int], most: int = DETAIL_SORT_LINES) -> list[int]:
    """Boundaries (invoice indexes, first 0, last ``len(counts)``) cutting invoices with
    ``counts`` rated lines into consecutive shares of at most ``most`` lines; an invoice with more
    is a share of its own."""
    bounds, lines = [0], 0
    for k, count in enumerate(counts):
        if lines and lines + count > most:
            bounds.append(k)
            lines = 0
        lines += count
    return [*bounds, len(counts)]


def _write_detail(table: pa.Table, path: Path) -> None:
    """One detail file: ``table`` as one chunk (the bytes do not depend on how it is chunked)."""
    with writing(path):  # a full disk or a file-size limit names the file
        pq.write_table(table.combine_chunks(), path, compression="zstd")
