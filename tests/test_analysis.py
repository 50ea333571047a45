"""The margin notebook's data: per customer/vendor/product/service sums of finished runs read by
DuckDB (never every rated line in pandas), and a what-if that reads the one customer's lines."""

from __future__ import annotations

import csv
import re
import shutil
from decimal import Decimal as D

import duckdb
import pytest

from billing_lib import analysis, charts
from billing_lib.errors import ParameterError
from billing_lib.invoice_files import billed_nets
from billing_lib.invoices import build_invoices
from billing_lib.money import round_money
from billing_lib.run import RATED_PARQUET, SUMMARY_CSV
from billing_lib.store import frame
from billing_lib.widgets import MarginExplorer, compare_margins
from tests.notebook_project import PERIOD


def _lines(outputs):
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE rated_lines AS SELECT * FROM read_parquet(?)",
        [str(outputs / PERIOD / RATED_PARQUET)],
    ).fetchall()
    return con


def test_the_summary_counts_the_rated_lines_per_customer_vendor_and_product(sample_outputs):
    summary = analysis.load_summary(sample_outputs)
    con = _lines(sample_outputs)
    assert len(summary) < con.execute("SELECT count(*) FROM rated_lines").fetchall()[0][0]
    assert (
        int(summary["lines"].sum())
        == con.execute("SELECT count(*) FROM rated_lines").fetchall()[0][0]
    )
    for by in (["customer"], ["vendor"], ["product"], ["service"], ["period", "customer"]):
        from_lines = charts.summarise_table(con, "rated_lines", by)
        from_summary = charts.summarise(summary.drop(columns="customer_name"), by)
        keys = [*from_lines.columns[: len(by)], "currency", "lines"]
        assert from_summary[keys].equals(from_lines[keys]), by  # the same rated-line counts
        # the invoice lines' rounding, shared: within a cent of the rated lines' sums per row
        # of a few invoice lines, never more than half a cent per rated line
        for column in ("revenue", "cost"):
            off = (from_summary[column] - from_lines[column]).abs()
            assert all(off <= D("0.005") * from_lines["lines"]), (by, column)
    assert isinstance(summary["cost"].iloc[0], D)
    named = charts.summarise(summary, ["customer"])
    assert all(" " in c for c in named["customer"])  # "C001 Dijkstra Architecten B.V."


def test_fees_credits_and_top_ups_are_named_by_service_not_nan(sample_outputs):
    """Custom lines and minimum-fee top-ups have no vendor service: grouped by service they were
    one row named NaN per currency (EUR 821.89: fees, a one-off and top-ups less a credit), which
    the notebook's "services that lost money" could not name, and a credit never showed there."""
    summary = analysis.load_summary(sample_outputs)
    assert summary["service"].notna().all()
    by_service = charts.summarise(summary, ["service"]).set_index(["service", "currency"])
    # the sample month bills no percent fee, allowance nor seat fee (tests/test_percent_fee_run.py,
    # tests/test_allowance_run.py and tests/test_seat_fee_run.py name their services)
    fees = ("percent_fee", "allowance", "seat_fee")
    kinds = {k: s for k, s in charts.KIND_SERVICES.items() if k not in fees}
    named = {s: by_service.loc[(s, "EUR"), "revenue"] for s in kinds.values()}
    assert named == {
        "fees (custom lines)": D(530),
        "one-offs (custom lines)": D(475),
        "credits (custom lines)": D(-200),
        "minimum fee top-ups": D("16.89"),
    }
    assert by_service.loc[("fees (custom lines)", "USD"), "revenue"] == D(300)
    lost = by_service[by_service["margin"] < 0]
    assert list(lost.index) == [("credits (custom lines)", "EUR")]


def test_the_runs_overview_counts_rated_lines_not_summary_rows(sample_outputs):
    overview = analysis.runs_overview(analysis.load_summary(sample_outputs))
    con = _lines(sample_outputs)
    lines, customers = con.execute(
        "SELECT count(*), count(DISTINCT customer_id) FROM rated_lines"
    ).fetchall()[0]
    assert overview[["period", "rated_lines", "customers"]].values.tolist() == [
        [PERIOD, lines, customers]
    ]


def test_the_what_if_reads_the_customers_lines_of_the_selected_periods_and_vendors(sample_outputs):
    summary = analysis.load_summary(sample_outputs)
    customer = summary.groupby("customer_id")["lines"].sum().idxmax()
    mine = summary[summary["customer_id"] == customer]
    reprice = analysis.repricer(sample_outputs)
    con = _lines(sample_outputs)
    lines = frame(con, f"SELECT * FROM rated_lines WHERE customer_id = '{customer}'")
    repriced = reprice(mine, customer, D(25))
    # every line of the customer, the minimum-fee top-up recomputed
    assert sorted(
        repriced.loc[repriced["line_kind"] != "minimum", "source_row"].dropna()
    ) == sorted(lines.loc[lines["line_kind"] != "minimum", "source_row"].dropna())
    vendor_lines = repriced[repriced["rule_id"] == "what-if"]
    assert len(vendor_lines) > 0
    assert all(
        abs(a - c * D("1.25")) < D("1e-12")  # exact to the stored 12 places
        for a, c in zip(vendor_lines["amount"], vendor_lines["cost"], strict=True)
    )
    assert set(repriced["customer_name"]) == set(mine["customer_name"])
    # every vendor's lines whatever the selection's vendors: a run prices them all
    vendors = sorted(set(mine["vendor"]))
    one = reprice(mine[mine["vendor"] == vendors[0]], customer, D(25))
    assert one.equals(repriced)


def test_the_what_if_of_some_vendors_tops_up_minimum_fees_from_every_vendor_s_lines(
    sample_outputs,
):
    """C005's VMware lines reach its VMware Cloud Director minimum (60.00): its Microsoft lines
    re-priced alone are not billed the whole minimum as if it had no VMware; with the vendor
    ``reseller`` chosen too, the top-up is the one of its month re-priced whole."""
    summary = analysis.load_summary(sample_outputs)
    mine = summary[summary["customer_id"] == "C005"]
    assert set(mine["vendor"]) == {"microsoft", "reseller", "vmware"}
    whole = analysis.repricer(sample_outputs)(mine, "C005", D(0))
    top_up = whole.loc[whole["line_kind"] == "minimum", "amount"]
    assert len(top_up) == 1 and D(0) < top_up.iloc[0] < D(60)

    ex = MarginExplorer(mine, analysis.repricer(sample_outputs), D(0))
    ex.vendors.value = ("microsoft",)
    ex.apply.click()
    row = ex.comparison.iloc[0]
    assert row["what_if_margin"] == 0  # at 0 %: the cost, no top-up
    assert row["what_if_revenue"] == sum(mine.loc[mine["vendor"] == "microsoft", "cost"])
    ex.vendors.value = ("microsoft", "reseller")
    ex.apply.click()
    assert ex.comparison.iloc[0]["what_if_margin"] == top_up.iloc[0]


def test_the_what_if_shows_a_top_up_the_run_did_not_need(sample_outputs):
    """C007's month (138.35) is above its minimum of 75.00 (no line of the vendor ``reseller``
    in the run); at -90 % it is not, and the what-if shows the top-up a run would bill."""
    summary = analysis.load_summary(sample_outputs)
    mine = summary[summary["customer_id"] == "C007"]
    assert set(mine["vendor"]) == {"microsoft"}
    ex = MarginExplorer(summary, analysis.repricer(sample_outputs), D(10))
    ex.what_if_customer.value = "C007"
    ex.markup.value = -90.0
    repriced = analysis.repricer(sample_outputs)(mine, "C007", D(-90))
    top_up = repriced.loc[repriced["line_kind"] == "minimum", "amount"]
    assert len(top_up) == 1 and top_up.iloc[0] > 0
    # the invoice prints its minimum exactly, its rated lines sum to a fraction of a cent more
    row = ex.comparison.iloc[0]
    assert (row["what_if_revenue"], row["what_if_rated_revenue"]) == (
        D(75),
        sum(repriced["amount"]),
    )
    assert row["what_if_rated_revenue"] != D(75)


def test_the_what_if_of_the_vendor_reseller_shows_a_top_up_where_nothing_of_it_is_billed_now(
    sample_outputs,
):
    """The what-if re-prices the customer's months of the chosen periods, whatever vendors are
    chosen: C007 has no top-up now (no line of the vendor ``reseller``), and with ``reseller``
    alone chosen, -90 % shows the top-up a run would bill (it said "no lines of this customer in
    the selection"; over several months, a month without a line of the chosen vendors now was
    left out, its new top-up with it, and the change read 0.00)."""
    summary = analysis.load_summary(sample_outputs)
    mine = summary[summary["customer_id"] == "C007"]
    repriced = analysis.repricer(sample_outputs)(mine, "C007", D(-90))
    [top_up] = repriced.loc[repriced["line_kind"] == "minimum", "amount"]
    ex = MarginExplorer(summary, analysis.repricer(sample_outputs), D(10))
    ex.what_if_customer.value = "C007"
    ex.vendors.value = ("reseller",)
    ex.markup.value = -90.0
    [row] = ex.comparison.to_dict("records")
    printed = round_money(top_up, "EUR")  # the invoice line the top-up is, as the invoice rounds
    assert (row["revenue"], row["margin"], row["rated_revenue"]) == (0, 0, 0)
    assert (row["what_if_revenue"], row["what_if_margin"]) == (printed, printed)
    assert row["margin_change"] == printed > 0
    assert f"margin EUR 0.00 (n/a) &rarr; EUR {printed}" in ex.what_if_text.value
    assert f"change <b>+{printed}</b>" in ex.what_if_text.value


def test_the_what_if_of_the_vendor_reseller_shows_a_top_up_billed_now_that_the_markup_ends(
    sample_outputs,
):
    """C003 is topped up to its minimum of 75.00 now (its Microsoft lines 58.71 at a cost of
    57.00, 16.29 of the vendor ``reseller``); at 1000 % they bill 627.00 and no top-up is
    needed. With ``reseller`` alone chosen, the what-if has no line of it: the callback raised a
    TypeError (round_money of None), which JupyterLab shows in no cell, and the what-if text
    kept the figures chosen before. It is a top-up of 0.00 with the markup, the change -16.29."""
    summary = analysis.load_summary(sample_outputs)
    ex = MarginExplorer(summary, analysis.repricer(sample_outputs), D(10))
    ex.what_if_customer.value = "C003"
    ex.vendors.value = ("reseller",)
    [row] = ex.comparison.to_dict("records")
    assert (row["revenue"], row["what_if_revenue"]) == (D("16.29"), D("12.30"))  # 75 - 62.70
    ex.markup.value = 1000.0
    [row] = ex.comparison.to_dict("records")
    assert (row["revenue"], row["margin"]) == (D("16.29"), D("16.29"))
    assert (row["what_if_revenue"], row["what_if_margin"], row["what_if_rated_revenue"]) == (
        0,
        0,
        0,
    )
    assert row["margin_change"] == D("-16.29")
    assert "at 1000 % markup: margin EUR 16.29 (100.0 %) &rarr; EUR 0.00 (n/a)" in (
        ex.what_if_text.value
    )
    assert "change <b>-16.29</b>" in ex.what_if_text.value


def test_the_what_if_states_the_net_each_invoice_prints(sample_outputs):
    """The what-if's revenue is the net the invoice would print (each invoice line rounded), not
    the rated lines' sum: at the markup as billed (None) it is each customer's invoice net of
    the run to the cent, while the rated lines' sums differ from it by the lines' rounding."""
    summary = analysis.load_summary(sample_outputs)
    nets = {c: n for (c, _), n in billed_nets(sample_outputs, PERIOD).items()}
    reprice = analysis.repricer(sample_outputs)
    rounding = []
    for customer in sorted(nets):
        mine = summary[summary["customer_id"] == customer]
        as_billed = compare_margins(*(2 * [reprice(mine, customer, None)]))
        [row] = as_billed.to_dict("records")
        assert row["revenue"] == row["what_if_revenue"] == nets[customer], customer
        rounding.append(row["rated_revenue"] - nets[customer])
    assert any(r != 0 for r in rounding) and all(abs(r) < 1 for r in rounding)


def test_the_what_if_s_margin_now_is_the_margin_each_invoice_states(sample_outputs):
    """The what-if's margin now is the invoice's (invoice_summary.csv's margin_amount, the
    ledger's revenue less cost of sales): net less the cost each invoice line rounds to, not
    less the rated lines' unrounded cost (C004's 888.44 beside its invoice's 888.42)."""
    with open(sample_outputs / PERIOD / "invoice_summary.csv", encoding="utf-8") as fh:
        stated = {r["customer_id"]: r for r in csv.DictReader(fh)}
    summary = analysis.load_summary(sample_outputs)
    reprice = analysis.repricer(sample_outputs)
    for customer, row in stated.items():
        now = reprice(summary[summary["customer_id"] == customer], customer, None)
        [got] = compare_margins(now, now).to_dict("records")
        assert (got["revenue"], got["margin"]) == (
            D(row["net_amount"]),
            D(row["margin_amount"]),
        ), customer
    assert stated["C004"]["margin_amount"] == "888.42"  # the rated lines' cost: 888.44


def test_the_vendor_cost_billed_to_no_customer_is_the_ledger_s(sample_outputs):
    """What the reseller bought and billed nobody (Northwind's own lab, vendor taxes, the
    unmapped AWS account) is a loss the rated lines cannot show: ``unbilled_cost`` lists it per
    period, reason, customer, vendor and vendor currency, summing to the ledger's postings on
    the unbilled-cost account 7095 of the same run, per vendor and currency."""
    unbilled = analysis.unbilled_cost(sample_outputs)
    assert set(unbilled["period"]) == {PERIOD}
    unmapped = unbilled[unbilled["reason"] == "unmapped account"]
    assert unmapped[["vendor", "account", "vendor_currency", "lines", "cost"]].values.tolist() == [
        ["aws", "285396417058 (poc-sandbox-ams)", "USD", 62, D("9.9079999992")]
    ]
    internal = unbilled[unbilled["customer_id"] == "C010"]
    assert set(internal["vendor"]) == {"aws", "microsoft", "vmware"} and all(internal["cost"] > 0)
    with open(sample_outputs / PERIOD / f"journal_{PERIOD}.csv", encoding="utf-8") as fh:
        booked: dict[tuple[str, str], D] = {}
        for row in csv.DictReader(fh):
            if row["account"] == "7095":
                key = (row["entry_id"].split("-")[3], row["currency"])
                booked[key] = booked.get(key, D(0)) + D(row["debit"] or 0) - D(row["credit"] or 0)
    for (vendor, currency), cost in booked.items():
        mine = unbilled[(unbilled["vendor"] == vendor) & (unbilled["vendor_currency"] == currency)]
        # the ledger rounds each of its postings (not billed, vendor tax, unmapped) to the cent
        assert abs(mine["cost"].sum() - cost) <= D("0.005") * len(mine), (vendor, currency)
    assert len(booked) == 3  # aws USD, microsoft EUR, vmware EUR


def test_the_explorer_counts_the_rated_lines_behind_the_summary(sample_outputs):
    summary = analysis.load_summary(sample_outputs)
    ex = MarginExplorer(summary, analysis.repricer(sample_outputs), D(10))
    assert f"<p>{int(summary['lines'].sum())} rated lines selected</p>" in ex.totals.value
    assert len(ex.comparison) == 1  # the first customer re-priced from its own lines


def test_a_period_listed_twice_is_loaded_once(sample_outputs):
    """``-r periods "2026-10, 2026-10"`` means October: read twice, every line, cost, revenue and
    margin of the notebook was doubled."""
    once = analysis.load_summary(sample_outputs, analysis.period_list(PERIOD))
    twice = analysis.load_summary(sample_outputs, analysis.period_list(f"{PERIOD}, {PERIOD} "))
    assert twice.equals(once)
    assert analysis.runs_overview(twice).equals(analysis.runs_overview(once))
    assert analysis.rated_files(sample_outputs, [PERIOD, PERIOD]) == [
        sample_outputs / PERIOD / RATED_PARQUET
    ]


@pytest.mark.parametrize(
    "given", ["2026-09 2026-10", "2026-09;2026-10", "2026-09, 2026-10 2026-11"]
)
def test_periods_not_separated_by_commas_are_named_so(given):
    """``periods = "2026-09 2026-10"`` read "expected a month as YYYY-MM ...; got '2026-09
    2026-10'", two months that are each one; the separator is what is wrong."""
    with pytest.raises(
        ParameterError,
        match=r"entry periods: expected months separated by commas \('2026-09, 2026-10'\); got "
        rf"{given!r}",
    ):
        analysis.period_list(given)


def test_a_bad_period_names_the_notebook_s_periods_parameter(sample_outputs):
    bad = "margin_analysis parameters, entry periods: expected a month as YYYY-MM"
    with pytest.raises(ParameterError, match=bad):
        analysis.period_list("2026-10, 2026/10")
    with pytest.raises(ParameterError, match=bad):
        analysis.load_summary(sample_outputs, ["202610"])
    with pytest.raises(ParameterError, match="margin_analysis parameters, entry output"):
        analysis.resolve(" ")


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("15%", "expected a number of percent on cost, e.g. 10 or 12.5; got '15%'"),
        (5000, "expected a number of percent on cost from -100 to 1000; got 5000"),
    ],
)
def test_the_markup_parameter_is_checked_with_the_others_before_a_run_is_read(
    sample_outputs, monkeypatch, markup, expected
):
    """``-r markup 15%``: the notebook checked ``markup`` in the explorer's cell only, after the
    summary of every month was loaded (the slow part) and the tables and charts were drawn.
    ``check_parameters``, the first code cell's, checks the three before a run is read, each
    named; a careless markup is refused without a file opened."""

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run was read before the markup was checked")

    monkeypatch.setattr(analysis, "rated_files", no_reading)
    monkeypatch.setattr(analysis, "load_summary", no_reading)
    with pytest.raises(ParameterError) as err:
        analysis.check_parameters(str(sample_outputs), "", markup)
    assert str(err.value) == f"margin_analysis parameters, entry markup: {expected}"
    with pytest.raises(ParameterError, match=r"^margin_analysis parameters, entry periods: "):
        analysis.check_parameters(str(sample_outputs), "2026/10", markup)  # in their order
    checked = analysis.check_parameters(str(sample_outputs), f" {PERIOD}", "12.5")
    assert checked == (sample_outputs, [PERIOD], 12.5)
    assert (checked.output, checked.periods, checked.markup) == (sample_outputs, [PERIOD], 12.5)


def test_a_missing_period_is_named(sample_outputs):
    with pytest.raises(analysis.RunError, match=r"no finished run for \['2026-01'\]"):
        analysis.load_summary(sample_outputs, ["2026-01"])


def _damaged_copy(sample_outputs, tmp_path, name):
    """A copy of the sample outputs with the run's ``name`` cut to half its bytes."""
    outputs = tmp_path / "outputs"
    shutil.copytree(sample_outputs, outputs)
    for path in outputs.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    damaged = outputs / PERIOD / name
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    return outputs, damaged


def test_a_damaged_rated_lines_file_is_named_with_the_way_out(sample_outputs, tmp_path):
    outputs, damaged = _damaged_copy(sample_outputs, tmp_path, RATED_PARQUET)
    summary = analysis.load_summary(sample_outputs)
    for read in (
        lambda: analysis.load_summary(outputs),
        lambda: analysis.repricer(outputs)(summary, summary["customer_id"].iloc[0], D(10)),
    ):
        with pytest.raises(analysis.RunError) as raised:
            read()
        message = str(raised.value)
        assert message.startswith(
            f"{damaged}: the run's file cannot be read (damaged or cut short: "
        )
        assert message.endswith(
            f"); restore the run folder {damaged.parent} from a backup, or bill {PERIOD} again if "
            "it is not finalised"
        )


def test_a_run_folder_without_its_invoice_summary_is_named_with_the_way_out(
    sample_outputs, tmp_path
):
    """The notebook's "The invoices, to the cent" cell read a run folder missing its
    invoice_summary.csv as DuckDB's "IO Error: No files found that match the pattern" with the
    SQL statement under it; a damaged one (cut short) as a "Binder Error" of its columns."""
    outputs, damaged = _damaged_copy(sample_outputs, tmp_path, SUMMARY_CSV)
    summary = analysis.load_summary(outputs)
    way_out = (
        f"; restore the run folder {damaged.parent} from a backup, or bill {PERIOD} again if it "
        "is not finalised"
    )
    for cut in (True, False):
        if not cut:
            damaged.unlink()
        with pytest.raises(analysis.RunError) as raised:
            analysis.revenue_against_invoices(outputs, summary)
        message = str(raised.value)
        assert "\n" not in message and "LINE 1" not in message, message
        what = "cannot be read (damaged or cut short: " if cut else "not found"
        assert message.startswith(f"{damaged}: the invoices' summary {what}"), message
        assert message.endswith(way_out), message


def test_a_damaged_minimum_fees_file_is_named_by_the_what_if(sample_outputs, tmp_path):
    outputs, damaged = _damaged_copy(sample_outputs, tmp_path, "minimum_fees.parquet")
    summary = analysis.load_summary(outputs)
    with pytest.raises(analysis.RunError, match=f"{damaged}: the run's file cannot be read"):
        analysis.repricer(outputs)(summary, summary["customer_id"].iloc[0], D(10))


def test_the_explorer_opens_and_names_a_run_the_what_if_cannot_read(sample_outputs, tmp_path):
    """A run folder without what_if_terms.parquet (billed before runs wrote it): the explorer's
    cell failed whole, no filter nor chart to use; the what-if's message belongs in its text."""
    outputs, _ = _damaged_copy(sample_outputs, tmp_path, "minimum_fees.parquet")
    (outputs / PERIOD / "what_if_terms.parquet").unlink()
    ex = MarginExplorer(analysis.load_summary(outputs), analysis.repricer(outputs), 10)
    assert "what_if_terms.parquet: not found; the what-if needs" in ex.what_if_text.value
    assert f"bill {PERIOD} again" in ex.what_if_text.value
    assert ex.comparison.empty and ex.what_if_area.outputs == ()
    assert len(ex.chart_area.outputs) == 4


def test_a_what_if_the_widgets_ask_for_names_what_it_cannot_read(sample_outputs, tmp_path):
    """Another customer chosen, the what-if runs in the widget's callback, whose exception
    JupyterLab shows in no cell (the kernel's log only): the text kept the previous customer's
    margins as if they were the answer."""
    outputs, damaged = _damaged_copy(sample_outputs, tmp_path, "minimum_fees.parquet")
    good = (sample_outputs / PERIOD / "minimum_fees.parquet").read_bytes()
    damaged.write_bytes(good)
    ex = MarginExplorer(analysis.load_summary(outputs), analysis.repricer(outputs), 10)
    assert "C001" in ex.what_if_text.value and not ex.comparison.empty
    damaged.write_bytes(good[: len(good) // 2])
    ex.what_if_customer.value = "C002"
    assert ex.what_if_text.value.startswith(f"{damaged}: the run&#x27;s file cannot be read")
    assert ex.comparison.empty and ex.what_if_area.outputs == ()


def test_a_month_billed_again_since_the_summary_was_loaded_is_not_mixed_into_it(
    sample_outputs, tmp_path
):
    """The margin notebook open while the month is billed again (C002's fee corrected): the
    summary loaded before, set against the invoices and the what-if read now, showed C002's
    100.00 less as "rounding" and a what-if "now" of another run than the totals above it."""
    from billing_lib import run
    from tests.notebook_project import REPO

    outputs, _ = _damaged_copy(sample_outputs, tmp_path, "minimum_fees.parquet")
    good = (sample_outputs / PERIOD / "minimum_fees.parquet").read_bytes()
    (outputs / PERIOD / "minimum_fees.parquet").write_bytes(good)
    summary = analysis.load_summary(outputs)
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    fees = params / "custom_lines.yaml"
    fees.write_text(fees.read_text().replace('unit_price: "450.00"', 'unit_price: "350.00"'))
    run.run_all(PERIOD, REPO / "samples" / PERIOD / "reports", params, outputs)
    changed = rf"the runs of \['{PERIOD}'\] changed since the summary was loaded"
    with pytest.raises(analysis.RunError, match=changed):
        analysis.revenue_against_invoices(outputs, summary)
    with pytest.raises(analysis.RunError, match=changed):
        analysis.repricer(outputs)(summary, "C002", D(10))
    again = analysis.load_summary(outputs)
    against = analysis.revenue_against_invoices(outputs, again).set_index("customer_id")
    assert against.loc["C002", "difference"] == 0


def test_the_summary_is_each_invoice_to_the_cent(sample_outputs):
    """The summary shares each invoice line as the invoice rounds it: per customer and month its
    revenue is the invoice's net and its cost the invoice's cost, to the cent (C002 showed
    5701.30, the sum of its rated lines, against the invoice's 5701.29; the EUR cost 31189.84
    against the invoices' 31189.87), and so per currency the invoices' totals."""
    from billing_lib.invoices import read_invoice_data

    summary = analysis.load_summary(sample_outputs)
    table = analysis.revenue_against_invoices(sample_outputs, summary).set_index("customer_id")
    _, invoices = read_invoice_data(sample_outputs / PERIOD / "invoices.json")
    assert sorted(table.index) == sorted(i.customer_id for i in invoices.values())
    totals: dict[str, list[D]] = {}
    for inv in invoices.values():
        mine = summary[summary["customer_id"] == inv.customer_id]
        row = table.loc[inv.customer_id]
        assert (row["revenue"], row["invoiced"], row["currency"]) == (
            inv.net,
            inv.net,
            inv.currency,
        )
        assert row["difference"] == 0
        assert (mine["amount"].sum(), mine["cost"].sum()) == (inv.net, inv.cost), inv.customer_id
        total = totals.setdefault(inv.currency, [D(0), D(0)])
        total[0] += inv.net
        total[1] += inv.cost
    assert table.loc["C002", "revenue"] == D("5701.29")
    assert table.loc["C002", "customer_name"] == "Van Leeuwen Logistiek B.V."
    by_currency = charts.summarise(summary, ["currency"]).set_index("currency")
    for currency, (net, cost) in totals.items():
        assert (by_currency.loc[currency, "revenue"], by_currency.loc[currency, "cost"]) == (
            net,
            cost,
        )
    assert by_currency.loc["EUR", "cost"] == D("31189.87")
    assert "Equal to the cent" in analysis.equal_to_the_cent(table.reset_index())


def test_every_figure_shown_is_in_cents_and_its_margin_is_revenue_less_cost(sample_outputs):
    """Each row of the summary is a share of invoice lines in cents, so every total the notebook
    shows, at any level, is in cents and its margin is exactly its revenue less its cost (a
    margin of sums rounded once was not always the shown revenue less the shown cost)."""
    summary = analysis.load_summary(sample_outputs)
    cents = D("0.01")
    for column in ("amount", "cost"):
        assert all(v == v.quantize(cents) for v in summary[column]), column
    for by in (["customer"], ["vendor"], ["product"], ["service"], ["period", "customer"]):
        shown = charts.summarise(summary, by)
        assert all(shown["margin"] == shown["revenue"] - shown["cost"]), by
        assert all(v == v.quantize(cents) for v in shown["margin"]), by


def test_the_cost_per_vendor_and_product_group_is_the_journal_s_cost_of_sales(sample_outputs):
    """Where the vendor bills in the invoices' currency (Microsoft and VMware in EUR), the
    summary's cost per vendor and product group is the journal's cost of sales posted for it, to
    the cent (each invoice line's cost rounded once, shared as ``cost_entries.rated_costs``
    shares it)."""
    from billing_lib.customers import load_customers
    from billing_lib.invoices import load_invoicing
    from tests.notebook_project import REPO

    customers = load_customers(REPO / "parameters")
    groups = load_invoicing(REPO / "parameters", customers).products.product_groups
    summary = analysis.load_summary(sample_outputs)
    con = _lines(sample_outputs)
    same = {
        v
        for (v,) in con.execute(
            "SELECT vendor FROM rated_lines WHERE line_kind = 'vendor' GROUP BY vendor "
            "HAVING bool_and(vendor_currency = currency)"
        ).fetchall()
    }
    assert same == {"microsoft", "vmware"}
    booked: dict[tuple[str, str], D] = {}
    with open(sample_outputs / PERIOD / f"journal_{PERIOD}.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["journal"] == "PURCH" and row["description"].startswith("Cost of sales"):
                key = (row["entry_id"].split("-")[3], row["account"])
                booked[key] = booked.get(key, D(0)) + D(row["debit"] or 0) - D(row["credit"] or 0)
    shown: dict[tuple[str, str], D] = {}
    for vendor, group, cost in summary[["vendor", "product_group", "cost"]].itertuples(
        index=False, name=None
    ):
        if vendor in same:
            key = (vendor, groups[group].cost_account)
            shown[key] = shown.get(key, D(0)) + cost
    assert shown and shown == {k: v for k, v in booked.items() if k[0] in same}


def test_an_invoice_line_of_two_vendors_is_shared_as_the_invoice_rounds_it(tmp_path):
    """C003 grouped by a tag: one invoice line "R&D" of a VMware line (1.004, cost 0.804) and two
    Microsoft services (0.5021 + 0.502, cost 0.4021 + 0.402): 2.0081 -> 2.01 on the invoice, cost
    1.6081 -> 1.61. Each row rounded on its own gave 2.00 and 1.60. The line is shared among its
    vendors (each part rounded, the cent to the largest part, as the ledger shares cost of
    sales), then each vendor's share among its services the same way."""
    from billing_lib.cost_entries import rated_costs
    from billing_lib.invoice_files import write_invoice_summary
    from billing_lib.numbering import open_register
    from billing_lib.sql import ql
    from tests.invoice_helpers import ISSUED, line, parameters_copy, setup

    params = parameters_copy(tmp_path)
    customers_file = params / "customers.yaml"
    text = customers_file.read_text(encoding="utf-8")
    start, end = text.index("  - id: C003"), text.index("  - id: C004")
    block = text[start:end].rstrip("\n") + "\n    line_grouping: [tag:CostCenter]\n\n"
    customers_file.write_text(text[:start] + block + text[end:], encoding="utf-8")
    tags = '{"CostCenter": "R&D"}'
    shared = {"product_group": "services", "tags": tags}
    rows = [
        line("C003", "1.004", vendor="vmware", service="vCloud", cost="0.804", **shared),
        line("C003", "0.5021", vendor="microsoft", service="M365", cost="0.4021", **shared),
        line("C003", "0.502", vendor="microsoft", service="Azure", cost="0.402", **shared),
    ]
    con, customers, invoicing = setup(rows, params)
    [inv] = build_invoices(
        con, customers, invoicing, PERIOD, open_register(tmp_path / "reg.sqlite"), ISSUED
    )
    assert [(ln.amount, ln.cost) for ln in inv.lines] == [(D("2.01"), D("1.61"))]
    folder = tmp_path / "outputs" / PERIOD
    folder.mkdir(parents=True)
    con.execute(f"COPY rated_lines TO {ql(str(folder / RATED_PARQUET))} (FORMAT parquet)")
    con.execute(
        f"""COPY (SELECT '{PERIOD}' AS period, 'C003' AS customer_id,
                         ['tag:CostCenter'] AS line_grouping, [] AS priced_credits)
            TO {ql(str(folder / "what_if_terms.parquet"))} (FORMAT parquet)"""
    )
    (folder / "manifest.json").write_text('{"run_id": "test"}', encoding="utf-8")
    write_invoice_summary([inv], folder / "invoice_summary.csv")
    summary = analysis.load_summary(tmp_path / "outputs")
    got = summary[["vendor", "service", "amount", "cost"]].values.tolist()
    assert got == [
        ["microsoft", "Azure", D("0.50"), D("0.40")],
        ["microsoft", "M365", D("0.51"), D("0.41")],
        ["vmware", "vCloud", D("1.00"), D("0.80")],
    ]
    booked = {v: c for v, _, _, c, _, _ in rated_costs(con, PERIOD, ["C003"], invoicing)}
    assert booked == {"microsoft": D("0.81"), "vmware": D("0.80")}
    against = analysis.revenue_against_invoices(tmp_path / "outputs", summary)
    assert against[["revenue", "invoiced", "difference"]].values.tolist() == [
        [D("2.01"), D("2.01"), D(0)]
    ]


def test_an_output_folder_that_is_missing_or_a_file_is_named(tmp_path):
    """A mistyped folder, or a file, read as "no finished run ...; runs found: []"."""
    with pytest.raises(ParameterError, match=r"entry output: .*nowhere: no such folder"):
        analysis.resolve(tmp_path / "nowhere")
    (tmp_path / "outputs.txt").write_text("", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"entry output: .*outputs.txt: is a file"):
        analysis.resolve(str(tmp_path / "outputs.txt"))
    assert analysis.resolve(tmp_path) == tmp_path


def test_a_run_folder_given_for_the_outputs_folder_is_named_with_its_parent(sample_outputs):
    """``output = "outputs/2026-10"`` (the month's folder, or one inside it) read "no finished
    run in this folder ...; bill a month first (billing run --output with this folder)": a
    run published inside a run folder. Refused naming the parameter and the outputs folder."""
    for given in (sample_outputs / PERIOD, sample_outputs / PERIOD / "invoices"):
        with pytest.raises(
            ParameterError,
            match=rf"entry output: .*/{PERIOD}(/invoices)?: in the run folder of {PERIOD}, not "
            rf"the outputs folder of the runs; expected {sample_outputs}, which holds it "
            rf"\(periods = \"{PERIOD}\" for that month alone\)$",
        ):
            analysis.resolve(str(given))
    assert analysis.resolve(sample_outputs) == sample_outputs


def test_an_output_folder_without_a_run_says_so(tmp_path):
    with pytest.raises(analysis.RunError, match="no finished run in this folder .*bill a month"):
        analysis.load_summary(tmp_path)


def test_a_vendor_s_recoverable_vat_is_no_cost_in_the_books_nor_in_the_analysis(tmp_path):
    """The sample month billed for a reseller whose AWS tax is recoverable input VAT (products.yaml
    ``vendors.aws.input_vat_account``): the AWS bill's 28.27 USD of tax was debited to 7095 as
    cost, and the margin notebook listed it as cost billed to no customer. It is on 1510 now, the
    list leaves it out and still adds up to 7095, and no revenue account carries it."""
    import json

    from tests import numbering_runner
    from tests.notebook_project import REPO

    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params, ignore=shutil.ignore_patterns("local"))
    products = params / "products.yaml"
    text = products.read_text(encoding="utf-8")
    aws = 'payable_account: "1610"}'
    products.write_text(text.replace(aws, aws[:-1] + ', input_vat_account: "1510"}'))
    out = tmp_path / "outputs"
    reports = REPO / "samples" / PERIOD / "reports"
    assert numbering_runner.main([PERIOD, str(reports), str(params), str(out)]) == 0
    with open(out / PERIOD / f"journal_{PERIOD}.csv", encoding="utf-8") as fh:
        journal = list(csv.DictReader(fh))
    on = {
        a: [(r["entry_id"], r["debit"], r["credit"]) for r in journal if r["account"] == a]
        for a in ("1510", "7095")
    }
    assert on["1510"] == [(f"COST-{PERIOD}-aws-USD", "28.27", "")]
    assert not any("tax" in r["description"].lower() for r in journal if r["account"] == "7095")
    assert not any(r["account"].startswith("8") and "tax" in r["description"] for r in journal)
    unbilled = analysis.unbilled_cost(out)
    assert "vendor tax" not in set(unbilled["reason"])
    for vendor, currency in {("aws", "USD"), ("microsoft", "EUR"), ("vmware", "EUR")}:
        booked = sum(
            (
                D(d or 0) - D(c or 0)
                for e, d, c in on["7095"]
                if e == f"COST-{PERIOD}-{vendor}-{currency}"
            ),
            D(0),
        )
        mine = unbilled[(unbilled["vendor"] == vendor) & (unbilled["vendor_currency"] == currency)]
        assert abs(mine["cost"].sum() - booked) <= D("0.005") * len(mine), (vendor, currency)
    manifest = json.loads((out / PERIOD / "manifest.json").read_text(encoding="utf-8"))
    [recorded] = manifest["input_vat"]
    assert D(recorded.pop("amount")) == D("28.27")  # exact, as the ledger's sum before rounding
    assert recorded == {
        "source": "vendor tax",
        "account_id": None,
        "vendor": "aws",
        "vendor_currency": "USD",
        "account": "1510",
        "lines": 1,
    }


def test_an_unmapped_account_s_recoverable_vat_is_taken_off_its_cost_billed_to_nobody(
    sample_outputs, tmp_path
):
    """The ledger books the Tax lines of an unmapped account of a vendor with recoverable VAT
    on the input VAT account, not on 7095: the run records them (``run_manifest.input_vat``) and
    the list of cost billed to no customer takes them off that account's row, so it still adds up
    to 7095."""
    import json

    from billing_lib.invoicing_parameters import load_invoicing
    from billing_lib.run_manifest import input_vat, unbilled_costs
    from tests.invoice_helpers import input_vat_parameters

    invoicing = load_invoicing(input_vat_parameters(tmp_path))
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE excluded_lines AS SELECT * FROM (VALUES
             ('vendor tax', 'C008', 'aws', 'USD', CAST(2.10 AS DECIMAL(38,12))),
             ('vendor tax', 'C001', 'microsoft', 'EUR', CAST(4.20 AS DECIMAL(38,12))))
           t(reason, x_CustomerId, x_Vendor, BillingCurrency, BilledCost);
           CREATE TABLE unmapped_lines AS SELECT * FROM (VALUES
             ('285396417058', 'aws', 'USD', 'Tax', CAST(1.50 AS DECIMAL(38,12))),
             ('285396417058', 'aws', 'USD', 'Usage', CAST(8.408 AS DECIMAL(38,12))))
           t(SubAccountId, x_Vendor, BillingCurrency, ChargeCategory, BilledCost)"""
    )
    assert [(r["vendor"], D(r["cost"])) for r in unbilled_costs(con, invoicing)] == [
        ("microsoft", D("4.20"))  # Microsoft's tax is no recoverable VAT here: a cost
    ]
    recorded = input_vat(con, invoicing)
    assert [(r["source"], r["account_id"], r["account"], D(r["amount"])) for r in recorded] == [
        ("vendor tax", None, "1510", D("2.10")),
        ("unmapped account", "285396417058", "1510", D("1.50")),
    ]
    out = tmp_path / "outputs"
    shutil.copytree(sample_outputs / PERIOD, out / PERIOD)
    manifest_path = out / PERIOD / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["input_vat"] = [r for r in recorded if r["source"] == "unmapped account"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    unbilled = analysis.unbilled_cost(out)
    sandbox = unbilled[unbilled["account"] == "285396417058 (poc-sandbox-ams)"]
    assert sandbox[["reason", "lines", "cost"]].values.tolist() == [
        ["unmapped account", 62, D("9.9079999992")],
        ["of which recoverable VAT, booked on 1510 (input VAT)", -1, D("-1.50")],
    ]


def test_the_run_records_as_input_vat_only_the_tax_of_the_issuers_listed(tmp_path):
    """With ``vendors.aws.input_vat_issuers`` only AWS EMEA's VAT is input VAT: the run's record
    of it (``run_manifest.input_vat``) and of the cost billed to no customer
    (``unbilled_costs``) split the AWS tax as the ledger books it, the US sales tax a cost."""
    from billing_lib.invoicing_parameters import load_invoicing
    from billing_lib.run_manifest import input_vat, unbilled_costs
    from tests.invoice_helpers import input_vat_parameters

    params = input_vat_parameters(tmp_path)
    products = params / "products.yaml"
    old = 'input_vat_account: "1510"}'
    products.write_text(
        products.read_text(encoding="utf-8").replace(
            old, old[:-1] + ', input_vat_issuers: ["Amazon Web Services EMEA SARL"]}'
        ),
        encoding="utf-8",
    )
    invoicing = load_invoicing(params)
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE excluded_lines AS SELECT * FROM (VALUES
             ('vendor tax', 'C008', 'aws', 'USD', 'Amazon Web Services EMEA SARL',
              CAST(2.10 AS DECIMAL(38,12))),
             ('vendor tax', 'C008', 'aws', 'USD', 'Amazon Web Services, Inc.',
              CAST(0.70 AS DECIMAL(38,12))))
           t(reason, x_CustomerId, x_Vendor, BillingCurrency, InvoiceIssuerName, BilledCost);
           CREATE TABLE unmapped_lines AS SELECT * FROM (VALUES
             ('285396417058', 'aws', 'USD', 'Tax', 'Amazon Web Services, Inc.',
              CAST(1.50 AS DECIMAL(38,12))),
             ('285396417058', 'aws', 'USD', 'Tax', 'Amazon Web Services EMEA SARL',
              CAST(0.30 AS DECIMAL(38,12))))
           t(SubAccountId, x_Vendor, BillingCurrency, ChargeCategory, InvoiceIssuerName,
             BilledCost)"""
    )
    assert [(r["vendor"], D(r["cost"])) for r in unbilled_costs(con, invoicing)] == [
        ("aws", D("0.70"))  # the US sales tax: a cost
    ]
    assert [
        (r["source"], r["account_id"], r["account"], D(r["amount"]))
        for r in input_vat(con, invoicing)
    ] == [
        ("vendor tax", None, "1510", D("2.10")),
        ("unmapped account", "285396417058", "1510", D("0.30")),
    ]


def test_a_month_without_a_rated_line_is_listed_and_said_so(sample_outputs):
    """A month whose run rated no line (every account unmapped, nothing else billed): the
    overview of the runs loaded was "Empty DataFrame", the month left out of it; the check
    against the invoices read "... (0 customer months, net )."; the explorer's what-if "no
    lines of this customer" of no customer."""
    empty = analysis.load_summary(sample_outputs).iloc[0:0]
    overview = analysis.runs_overview(empty)
    assert overview.values.tolist() == [[PERIOD, 0, 0, ""]]
    against = analysis.revenue_against_invoices(sample_outputs, empty).iloc[0:0]
    assert analysis.equal_to_the_cent(against) == (
        "No invoice in the runs loaded: no customer billed, nothing to set the summary against."
    )
    explorer = MarginExplorer(empty, analysis.repricer(sample_outputs), 10)
    assert explorer.what_if_text.value == "no customer has a rated line in the runs loaded"


def test_a_month_without_a_rated_line_is_in_the_explorer_s_periods_and_said_so(sample_outputs):
    """The explorer's Periods list was built from the rated lines: a month whose run rated no
    line was left out of it (the list empty when it was the only month loaded, with the
    Customers and Vendors lists), and nothing said why. The month is listed, as the overview of
    the runs loaded lists it, and a sentence under the lists says it has no rated line."""
    empty = analysis.load_summary(sample_outputs).iloc[0:0]
    explorer = MarginExplorer(empty, analysis.repricer(sample_outputs), 10)
    assert explorer.periods.options == (PERIOD,)
    assert explorer.notice.value == (
        f"No rated line in the runs loaded ({PERIOD}): no customer is billed, nothing to "
        "choose or re-price; the vendor cost billed to no customer is listed at the end."
    )
    assert explorer.notice in explorer.widget().children
    loaded = analysis.load_summary(sample_outputs)
    explorer = MarginExplorer(loaded, analysis.repricer(sample_outputs), 10)
    assert explorer.periods.options == (PERIOD,) and explorer.notice.value == ""
    # September loaded beside it, its run without a rated line (as load_summary records it)
    loaded.attrs["runs"] = {"2026-09": ("run-of-september",), **loaded.attrs["runs"]}
    explorer = MarginExplorer(loaded, analysis.repricer(sample_outputs), 10)
    assert explorer.periods.options == ("2026-09", PERIOD)
    assert explorer.notice.value == (
        "No rated line in 2026-09: its run billed no customer; the vendor cost billed to no "
        "customer is listed at the end."
    )
    assert len(explorer.selected()) == len(loaded)  # every month chosen: all October's lines


def test_a_parameters_cell_changed_after_the_summary_was_loaded_is_named(
    sample_outputs, tmp_path, monkeypatch
):
    """The parameters cell edited and run (``periods``, ``output``), the first code cell (the
    summary's) not run again: the last cell read ``periods`` itself and listed the cost billed
    to no customer of other months than the summary above it, and another ``output`` (a copy of
    the runs) went on unnoticed, or was named only as runs "changed since the summary was
    loaded". Each cell below the summary names the parameter changed and the cell to run again;
    the parameters cell set back, they go on with the summary's months."""
    from billing_lib import notebook_parameters

    namespace: dict[str, object] = {"output": str(sample_outputs), "periods": "", "markup": 10.0}
    monkeypatch.setattr(notebook_parameters, "kernel_namespace", lambda: namespace)
    summary = analysis.load_summary(analysis.resolve(str(sample_outputs)), analysis.period_list(""))
    copy = tmp_path / "copy"
    shutil.copytree(sample_outputs, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    way_out = (
        rf"; the summary above is of \['{PERIOD}'\] in {re.escape(str(sample_outputs))}: run the "
        r"first code cell again \(analysis\.load_summary\), then the cells below it"
    )
    for name, value in (("periods", "2026-09"), ("output", str(copy))):
        namespace[name] = value
        was = "" if name == "periods" else str(sample_outputs)
        changed = (
            rf"^the parameters cell changed since the summary was loaded \({name}: "
            rf"'{re.escape(was)}' -> '{re.escape(value)}'\){way_out}$"
        )
        with pytest.raises(analysis.RunError, match=changed):
            analysis.resolve(str(namespace["output"]), summary)
        with pytest.raises(analysis.RunError, match=changed):
            analysis.revenue_against_invoices(sample_outputs, summary)
        with pytest.raises(analysis.RunError, match=changed):
            analysis.repricer(sample_outputs)(summary, "C002", D(10))
        with pytest.raises(analysis.RunError, match=changed):
            analysis.unbilled_cost_of(sample_outputs, summary)
        namespace[name] = "" if name == "periods" else str(sample_outputs)
    unbilled = analysis.unbilled_cost_of(analysis.resolve(str(sample_outputs), summary), summary)
    assert unbilled.equals(analysis.unbilled_cost(sample_outputs, [PERIOD]))
    assert set(unbilled["period"]) == {PERIOD}


def test_months_given_in_another_order_are_listed_in_calendar_order(sample_outputs, tmp_path):
    """``periods = "2026-11, 2026-10"``: every table of the notebook lists the months in calendar
    order but the vendor cost billed to no customer, which listed November's rows above
    October's, as the parameter named them."""
    out = tmp_path / "outputs"
    for period in (PERIOD, "2026-11"):  # a second month: the sample run's folder, copied
        shutil.copytree(sample_outputs / PERIOD, out / period)
    unbilled = analysis.unbilled_cost(out, analysis.period_list(f"2026-11, {PERIOD}"))
    assert list(dict.fromkeys(unbilled["period"])) == [PERIOD, "2026-11"]
    assert analysis.rated_files(out, ["2026-11", PERIOD]) == [
        out / p / RATED_PARQUET for p in (PERIOD, "2026-11")
    ]


def test_a_what_if_of_a_customer_without_a_line_in_the_runs_is_named(sample_outputs):
    """The what-if called in a cell of one's own for a customer id mistyped ("C0O1") or with no
    line in the months chosen (C010, whose lines a rule excludes): an empty frame, and
    ``compare_margins`` an empty table, read as a customer with nothing to re-price. Named,
    with the customers that have lines there; C002's month a credit note cancelled still says
    so (``credited_not_replaced``), not this."""
    summary = analysis.load_summary(sample_outputs)
    reprice = analysis.repricer(sample_outputs)
    for customer in ("C0O1", "C010"):
        with pytest.raises(
            ParameterError,
            match=rf"^what-if, entry customer: {customer!r}: no line of this customer in the runs "
            rf"of \['{PERIOD}'\] in {re.escape(str(sample_outputs))}; customers with lines there: "
            r"C001, C002, C003, C004, C005, C006, C007, C008, C009$",
        ):
            reprice(summary, customer, D(10))
    assert not reprice(summary, "C003", D(10)).empty


@pytest.mark.slow
def test_the_notebook_of_a_month_without_a_customer_says_so_not_empty_dataframe(tmp_path):
    """The margin notebook over a month whose run billed nobody (its one AWS line on an unmapped
    account): "Totals per customer" showed "Empty DataFrame" and its columns, which reads as a
    fault (every other list of the notebook says what its emptiness means)."""
    import json

    from tests.notebook_project import copy_project
    from tests.test_notebook_parameters import papermill_run
    from tests.test_summary_not_billed import unmapped_month

    outputs = unmapped_month(tmp_path / "month")
    project = copy_project(tmp_path / "project")
    result = papermill_run(project, "margin_analysis.ipynb", "-r", "output", str(outputs))
    assert result.returncode == 0, result.stderr[-3000:]
    executed = json.loads((tmp_path / "executed-margin_analysis.ipynb").read_text("utf-8"))
    cells = executed["cells"]
    [after] = [
        n for n, c in enumerate(cells) if "".join(c["source"]).startswith("## Totals per customer")
    ]
    [shown] = ["".join(o["data"]["text/plain"]) for o in cells[after + 1]["outputs"]]
    assert shown == analysis.NO_CUSTOMER
