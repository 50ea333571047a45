"""The usage detail as CSV beside the Parquet (seller.yaml ``usage_detail_csv: true``), for the
customer who opens it in a spreadsheet: the same lines and amounts to the last digit, numbers
without trailing zeros, text that would run as a formula defused, UTF-8 with a byte-order mark;
off by default, and nothing else of the run changes with it."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from billing_lib import run
from billing_lib.usage import write_detail_csv
from tests.notebook_project import PERIOD, REPO

D = Decimal


def test_a_detail_table_is_written_as_a_spreadsheet_reads_it(tmp_path):
    table = pa.table(
        {
            "description": ['=HYPERLINK("x")', "-5 GB credit", "Zürich storage", None],
            "charge_date": [date(2026, 10, 1)] * 4,
            "quantity": pa.array(
                [D("744.000000000000"), D("0.012500000000"), D("-5"), None], pa.decimal128(38, 12)
            ),
            "source_row": [1, 2, 3, 4],
        }
    )
    path = tmp_path / "x.usage.csv"
    write_detail_csv(table, path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert rows == [
        ["description", "charge_date", "quantity", "source_row"],
        ['\'=HYPERLINK("x")', "2026-10-01", "744", "1"],
        ["'-5 GB credit", "2026-10-01", "0.0125", "2"],
        ["Zürich storage", "2026-10-01", "-5", "3"],
        ["", "2026-10-01", "", "4"],
    ]
    write_detail_csv(table, tmp_path / "again.usage.csv")
    assert (tmp_path / "again.usage.csv").read_bytes() == data


def test_a_zero_or_tiny_amount_is_written_without_an_exponent(tmp_path):
    """Arrow writes a DECIMAL(38,12) below a millionth in scientific notation: the sample month's
    Savings Plan negations (amount 0) read "0E-12" in C002's and C004's usage CSV, which Excel
    shows as 0.00E+00, and 0.000000123456 would read "1.23456E-7". Plain decimals, as every other
    amount."""
    amounts = [D(0), D("0.000000123456"), D("-0.000000500000"), D("0.000001"), D("2.5"), None]
    table = pa.table({"amount": pa.array(amounts, pa.decimal128(38, 12)), "row": range(6)})
    path = tmp_path / "x.usage.csv"
    write_detail_csv(table, path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["0", "0.000000123456", "-0.0000005", "0.000001", "2.5", ""]


def test_the_run_writes_each_invoice_s_lines_as_csv_too(tmp_path, sample_outputs):
    params = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    seller = params / "seller.yaml"
    seller.write_text(seller.read_text(encoding="utf-8") + "\nusage_detail_csv: true\n")
    folder = run.run_all(PERIOD, REPO / "samples" / PERIOD / "reports", params, tmp_path / "out")
    invoices = sorted((folder / "invoices").glob("*.usage.parquet"))
    assert len(invoices) == 9
    con = duckdb.connect()
    for parquet in invoices:
        path = parquet.with_name(parquet.name.replace(".parquet", ".csv"))
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        (count, total) = con.execute(
            "SELECT count(*), sum(amount) FROM read_parquet(?)", [str(parquet)]
        ).fetchone()
        assert len(rows) == count
        assert sum(D(r["amount"]) for r in rows) == total
        assert all(not r["quantity"].endswith("0") or "." not in r["quantity"] for r in rows)
    con.close()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = {o["file"] for o in manifest["outputs"]}
    assert {f"invoices/{p.name.replace('.parquet', '.csv')}" for p in invoices} <= listed
    # nothing else changes: the invoices as data are those of the run without it
    assert (folder / "invoices.json").read_bytes() == (
        sample_outputs / PERIOD / "invoices.json"
    ).read_bytes()
    assert not list((sample_outputs / PERIOD / "invoices").glob("*.usage.csv"))
