"""The benchmark's generated month is reproducible, and its one-query reference agrees with the
pipeline on a tiny month (times are never asserted: benchmarks/README.md)."""

import gzip
from decimal import Decimal
from pathlib import Path

import duckdb
import floor_benchmark
import generate_month  # benchmarks/ (pyproject's pythonpath)
import pytest
import run_benchmark

from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.importers import import_reports, report_files
from billing_lib.pricing import load_pricing
from billing_lib.rating import rate_lines
from billing_lib.run_state import load_settings, parameters_not_read
from billing_lib.store import open_store

SHAPE = generate_month.shape_for("3000")


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Path:
    return generate_month.generate(tmp_path_factory.mktemp("month"), SHAPE)


def _rows(path: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()


def test_the_same_shape_gives_the_same_month(month, tmp_path):
    again = generate_month.generate(tmp_path / "again", SHAPE)
    name = f"aws_cur_{SHAPE.period}"
    assert _rows(month / "reports-parquet" / f"{name}.parquet") == _rows(
        again / "reports-parquet" / f"{name}.parquet"
    )
    with (
        gzip.open(month / "reports-csv" / f"{name}.csv.gz") as a,
        gzip.open(again / "reports-csv" / f"{name}.csv.gz") as b,
    ):
        assert a.read() == b.read()
    for small in (f"ms_azure_cost_{SHAPE.period}.csv", f"vmware_usage_meter_{SHAPE.period}.csv"):
        assert (month / "reports-csv" / small).read_bytes() == (
            again / "reports-csv" / small
        ).read_bytes()
        assert (month / "reports-csv" / small).read_bytes() == (
            month / "reports-parquet" / small
        ).read_bytes()
    for param in ("customers.yaml", "accounts.csv", "price_plans.yaml", "exchange_rates.csv"):
        assert (month / "parameters" / param).read_bytes() == (
            again / "parameters" / param
        ).read_bytes()


def test_a_run_of_the_month_warns_of_no_parameters_file(month):
    """The generated parameters folder held no custom_lines.yaml, so a run of the month warned
    that its recurring fees, one-offs and credits were missing (``run_state.parameters_not_read``,
    the run's warnings): it has none, and says so with an empty file."""
    params = month / "parameters"
    assert (params / "custom_lines.yaml").read_text(encoding="utf-8") == ""
    assert parameters_not_read(params, load_settings(params)) == []


def test_the_month_has_the_shape_asked_for(month):
    report = month / "reports-parquet" / f"aws_cur_{SHAPE.period}.parquet"
    lines, accounts, types = (
        duckdb.connect()
        .execute(
            f"""SELECT count(*), count(DISTINCT "lineItem/UsageAccountId"),
                   list(DISTINCT "lineItem/LineItemType")
            FROM read_parquet('{report}')"""
        )
        .fetchone()
    )
    assert lines == SHAPE.aws_lines
    assert accounts <= SHAPE.aws_accounts
    assert {"Usage", "Tax", "Credit", "SavingsPlanCoveredUsage", "SavingsPlanNegation"} <= set(
        types
    )
    customers = load_customers(month / "parameters")
    assert len(customers) == SHAPE.customers
    mappings = load_account_mappings(month / "parameters", customers)
    aws = [m for m in mappings if m.vendor == "aws"]
    assert len({m.account_id for m in aws}) == SHAPE.aws_accounts - SHAPE.unmapped_accounts
    assert (
        len(aws) == SHAPE.aws_accounts - SHAPE.unmapped_accounts + SHAPE.moving_accounts
    )  # a move: two rows
    assert len([m for m in mappings if m.vendor == "microsoft"]) == SHAPE.ms_subscriptions
    vmware = [m for m in mappings if m.vendor == "vmware"]
    assert len({m.account_id for m in vmware}) == len(vmware) == SHAPE.vmware_customers
    assert len(mappings) == len(aws) + SHAPE.ms_subscriptions + SHAPE.vmware_customers
    usage = month / "reports-csv" / f"vmware_usage_meter_{SHAPE.period}.csv"
    labels, rows, months = (
        duckdb.connect()
        .execute(
            f"""SELECT count(DISTINCT "Customer Label"), count(*), list(DISTINCT "Month")
            FROM read_csv('{usage}', header = true, all_varchar = true)"""
        )
        .fetchone()
    )
    assert (labels, rows, months) == (
        SHAPE.vmware_customers,
        SHAPE.vmware_customers * generate_month.VMWARE_PRODUCTS_PER_LABEL,
        [SHAPE.period],
    )


@pytest.mark.slow  # the generated month billed twice
@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_the_reference_query_agrees_with_the_pipeline(month, kind):
    con = open_store()
    import_reports(con, report_files(month / run_benchmark.REPORT_DIRS[kind]))
    customers = load_customers(month / "parameters")
    register_account_map(con, load_account_mappings(month / "parameters", customers))
    assign_customers(con)

    def reference(rated: bool) -> dict[str, list]:
        rows = duckdb.connect().execute(run_benchmark.reference_sql(month, kind, rated)).fetchall()
        return {f"{r[0]}|{r[1]}": [r[2], *(str(v) for v in r[3:])] for r in rows}

    mapped = run_benchmark._our_totals(con, rated=False)
    assert run_benchmark.compare(mapped, reference(rated=False)) == []
    assert "None|USD" in mapped  # the unmapped accounts' lines are there, without a customer
    assert any(k.endswith("|EUR") for k in mapped)  # and the Microsoft and VMware lines
    vendors = dict(
        con.execute("SELECT x_Vendor, count(*) FROM customer_lines GROUP BY 1").fetchall()
    )
    assert vendors["vmware"] == SHAPE.vmware_customers * generate_month.VMWARE_PRODUCTS_PER_LABEL
    assert set(vendors) == {"aws", "microsoft", "vmware"}

    rate_lines(con, load_pricing(month / "parameters", customers), customers, SHAPE.period)
    ours, ref = run_benchmark._our_totals(con, rated=True), reference(rated=True)
    assert run_benchmark.compare(ours, ref) == []
    assert {k.split("|")[0] for k in ours} >= {"excluded", "unmapped", "C0001"}
    assert {k.split("|")[1] for k in ours} == {"EUR", "GBP", "USD"}
    # and the comparison can fail: one cent more revenue for one customer is a difference
    key = "C0001|" + customers["C0001"].invoice_currency
    ref[key] = [*ref[key][:2], str(Decimal(ref[key][2]) + Decimal("0.01"))]
    assert run_benchmark.compare(ours, ref) == [f"{key}: ours {ours[key]}, reference {ref[key]}"]


def test_the_floor_queries_price_every_aws_line_as_the_reference_and_sort_by_customer(
    month, tmp_path
):
    results = {v: floor_benchmark.child(month, v, tmp_path / v) for v in floor_benchmark.VARIANTS}
    sums = results["sums"]["totals"]
    assert sums and all(k.split("|")[0] for k in sums)
    for variant in ("lines", "sorted", "narrow", "narrow_store"):
        assert run_benchmark.compare(results[variant]["totals"], sums) == [], variant
    for variant in ("sorted", "narrow", "narrow_store"):
        path = tmp_path / variant / "lines.parquet"
        written = duckdb.sql(
            f"SELECT customer_id, source_row FROM read_parquet('{path}')"
        ).fetchall()
        assert written == sorted(written, key=lambda r: (r[0] is None, r[0] or "", r[1]))
        assert len(written) == sum(v[0] for v in sums.values())
    assert results["repeated"]["repeated"] == 0
    assert results["narrow_store"]["repeated"] == 0


def test_the_floors_repeated_line_check_finds_a_line_id_seen_twice(month, tmp_path):
    aws = next((month / "reports-parquet").glob("aws_cur_*.parquet"))
    twice = tmp_path / "twice.parquet"
    duckdb.sql(
        f"COPY (SELECT * FROM read_parquet('{aws}') UNION ALL "
        f"(SELECT * FROM read_parquet('{aws}') LIMIT 1)) TO '{twice}'"
    )
    repeated = floor_benchmark.REPEATED_SQL.format(path=twice)
    assert duckdb.sql(repeated).fetchall() == [(1,)]


def test_the_import_checks_only_run_every_check_on_lines_left_in_the_report(
    month, tmp_path, monkeypatch
):
    import import_benchmark

    from billing_lib.errors import InputError
    from billing_lib.importers import engine

    monkeypatch.setattr(engine, "_insert_lines", import_benchmark._lines_left_in_report)
    aws = next((month / "reports-parquet").glob("aws_cur_*.parquet"))
    con = open_store()
    reports = import_reports(con, [aws])
    assert reports[0].rows == SHAPE.aws_lines
    assert con.execute("SELECT count(*) FROM lines").fetchall() == [(0,)]
    twice = tmp_path / aws.name
    duckdb.sql(
        f"COPY (SELECT * FROM read_parquet('{aws}') UNION ALL "
        f"(SELECT * FROM read_parquet('{aws}') LIMIT 1)) TO '{twice}'"
    )
    with pytest.raises(InputError, match="repeats row"):
        import_reports(open_store(), [twice])
