"""Empty fields written as '' (an empty string) instead of left out: pyarrow and pandas write every
empty text field of a table as '' to Parquet, and pyarrow's CSV writer quotes it (""). The import
reads such a value as absent, exactly as an empty CSV field: a partner cost export whose
previousInvoiceId is '' has no corrections, a customer tenant '' falls back to the subscription,
an empty date or amount is none (importers.values.absent_text_sql)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.model import LINE_COLUMN_NAMES
from billing_lib.store import open_store

DATA = Path(__file__).resolve().parent / "data" / "azure-cost-details"
MPA = DATA / "mpa-actual-cost-2026-10.csv"
MCA = DATA / "mca-actual-cost-2026-10.csv"
#: Line-model columns compared: all but where the line came from (file name, row numbering).
COMPARED = [c for c in LINE_COLUMN_NAMES if c not in ("x_SourceFile", "x_SourceRow")]
#: Fields emptied on the first row, besides those the exports leave empty: a date, an amount
#: (ListCost then comes from PayGPrice x quantity x rate) and, in the partner export, the tenant
#: (the line is then keyed by its subscription).
EMPTIED = ["billingPeriodStartDate", "billingPeriodEndDate", "paygCostInBillingCurrency"]


def _rows(path: Path, emptied: list[str] = EMPTIED) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    for name in emptied + (["customerTenantId"] if "customerTenantId" in header else []):
        rows[1][header.index(name)] = ""
    return rows


def _plain_csv(rows: list[list[str]], target: Path) -> Path:
    """The export with empty fields left empty (,,): read as NULL."""
    with open(target, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return target


def _lines(paths: list[Path]) -> list[tuple]:
    con = open_store()
    import_reports(con, paths)
    columns = ", ".join(f'"{c}"' for c in COMPARED)
    return con.execute(f"SELECT {columns} FROM lines ORDER BY x_SourceRow").fetchall()


def _table(rows: list[list[str]]) -> pa.Table:
    """Every column as text, empty fields as '' (pandas' ``fillna('')`` or a CSV read as text)."""
    header, body = rows[0], rows[1:]
    return pa.table({h: pa.array([r[i] for r in body], pa.string()) for i, h in enumerate(header)})


@pytest.mark.parametrize("source", [MPA, MCA], ids=lambda p: p.name)
def test_parquet_with_empty_strings_reads_them_as_absent(tmp_path, source):
    rows = _rows(source)
    expected = _lines([_plain_csv(rows, tmp_path / "plain.csv")])
    parquet = tmp_path / "export.parquet"
    pq.write_table(_table(rows), parquet)
    assert pq.read_table(parquet).column("previousInvoiceId")[0].as_py() == ""
    assert _lines([parquet]) == expected
    # only the refund names the invoice it corrects
    classes = [line[COMPARED.index("ChargeClass")] for line in expected]
    assert classes.count("Correction") == 1
    first = dict(zip(COMPARED, expected[0], strict=True))
    assert first["BillingPeriodStart"] is None and first["BillingPeriodEnd"] is None
    assert first["ListCost"] == first["ListUnitPrice"] * first["PricingQuantity"]
    if source is MPA:  # no customer tenant: keyed by the subscription
        assert first["SubAccountId"] == "5c0a8e52-31d4-4f6b-9a0e-7d2c3b1a9f01"


def test_parquet_with_typed_amounts_and_empty_text(tmp_path):
    """As pyarrow writes a DataFrame read with types: amounts as numbers (NULL when empty), text
    columns with ''. Nothing to refuse here: an empty previousInvoiceId would make every line a
    correction, and an empty customerTenantId a customer of its own."""
    rows = _rows(MPA, ["paygCostInBillingCurrency"])
    expected = _lines([_plain_csv(rows, tmp_path / "plain.csv")])
    table = _table(rows)
    for name in ("quantity", "costInBillingCurrency", "paygCostInBillingCurrency", "PayGPrice"):
        i = table.schema.get_field_index(name)
        values = [None if v == "" else v for v in table.column(i).to_pylist()]
        table = table.set_column(i, name, pa.array(values, pa.string()).cast(pa.decimal128(24, 10)))
    parquet = tmp_path / "typed.parquet"
    pq.write_table(table, parquet)
    got = _lines([parquet])
    classes = [line[COMPARED.index("ChargeClass")] for line in got]
    assert classes == [None] * 8 + ["Correction"]
    assert got[0][COMPARED.index("SubAccountId")] == "5c0a8e52-31d4-4f6b-9a0e-7d2c3b1a9f01"
    assert got == expected


@pytest.mark.parametrize("source", [MPA, MCA], ids=lambda p: p.name)
def test_csv_with_quoted_empty_fields(tmp_path, source):
    """pyarrow's CSV writer quotes '' (""): as empty as an empty field."""
    rows = _rows(source)
    expected = _lines([_plain_csv(rows, tmp_path / "plain.csv")])
    quoted = tmp_path / "quoted.csv"
    pa_csv.write_csv(_table(rows), quoted)
    assert ',"",' in quoted.read_text(encoding="utf-8")
    assert _lines([quoted]) == expected


def test_a_row_repeated_with_null_for_empty_text_is_the_same_row(tmp_path):
    """Whole rows are compared as the import reads them: '' and NULL are one value."""
    rows = _rows(MPA)
    table = _table(rows[:2] + [rows[1]])
    i = table.schema.get_field_index("previousInvoiceId")
    table = table.set_column(i, "previousInvoiceId", pa.array(["", None], pa.string()))
    parquet = tmp_path / "repeated.parquet"
    pq.write_table(table, parquet)
    with pytest.raises(InputError, match="row 2 repeats row 1"):
        import_reports(open_store(), [parquet])


@pytest.mark.parametrize(
    "options",
    [{"row_group_size": 4}, {"write_statistics": False}],
    ids=["empty-in-the-second-row-group-only", "without-statistics"],
)
def test_parquet_statistics_do_not_hide_empty_text(tmp_path, options):
    """A text column is left as it is only where the footer's least and greatest values rule out
    an empty one in every row group."""
    rows = _rows(MPA, ["paygCostInBillingCurrency"])
    header = rows[0]
    for r in rows[1:5]:  # the first row group has no empty previousInvoiceId or tenant
        r[header.index("previousInvoiceId")] = "G052026001"
        r[header.index("customerTenantId")] = r[header.index("customerTenantId")] or "x"
    expected = _lines([_plain_csv(rows, tmp_path / "plain.csv")])
    parquet = tmp_path / "groups.parquet"
    pq.write_table(_table(rows), parquet, **options)
    got = _lines([parquet])
    assert [line[COMPARED.index("ChargeClass")] for line in got] == ["Correction"] * 4 + [
        None
    ] * 4 + ["Correction"]
    assert got == expected
