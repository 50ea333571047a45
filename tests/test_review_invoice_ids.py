"""The review's "not invoiced yet" speaks of reports whose invoice id column is there and empty,
not of reports exported without that column (E8)."""

from __future__ import annotations

import shutil

import duckdb

from tests.test_review import SAMPLE_REPORTS, found, invoiced


def test_a_report_exported_without_the_invoice_id_column_is_not_said_to_be_uninvoiced(tmp_path):
    """AWS Data Exports lets the user leave bill_invoice_id out: its 718 lines were said to be
    "not invoiced yet" though the report tells nothing of it."""
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    aws = reports / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
    duckdb.execute(
        f"COPY (SELECT * EXCLUDE (bill_invoice_id) FROM read_parquet('{aws}')) "
        f"TO '{tmp_path / 'aws.parquet'}' (FORMAT parquet)"
    )
    shutil.move(tmp_path / "aws.parquet", aws)
    br = invoiced(tmp_path / "out", reports=reports)
    assert found(br, "not invoiced yet") == []
    # the report's lines are counted for the manifest as before
    assert [r.lines for r in br.report_lines() if r.file.endswith(aws.name)] == [718]
    assert [r.invoice_ids for r in br.report_lines() if r.file.endswith(aws.name)] == [False]
