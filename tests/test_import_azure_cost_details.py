"""Azure cost-details exports in the camelCase layouts Microsoft ships today: a partner's (MPA) and
a Microsoft Customer Agreement's, actual and amortized cost (tests/data/azure-cost-details/README.md
says what each file holds and which documentation it follows)."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from rating_helpers import write_parameters

from billing_lib import run
from billing_lib.customers import (
    assign_customers,
    load_account_mappings,
    load_customers,
    register_account_map,
)
from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.pricing import load_pricing
from billing_lib.rating import rate_lines
from billing_lib.store import open_store
from tests.sample_totals import model_amount, own_totals, report_totals

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "azure-cost-details"
MPA_ACTUAL = DATA / "mpa-actual-cost-2026-10.csv"
MPA_AMORTIZED = DATA / "mpa-amortized-cost-2026-10.csv"
MCA_ACTUAL = DATA / "mca-actual-cost-2026-10.csv"
SAMPLE = ROOT / "samples" / "2026-10" / "reports"
D = Decimal
#: ChargeType -> FOCUS ChargeCategory (the FinOps Foundation's converter rules; Refund a Credit)
CATEGORY = {
    "Usage": "Usage",
    "UnusedReservation": "Usage",
    "UnusedSavingsPlan": "Usage",
    "Purchase": "Purchase",
    "Tax": "Tax",
    "Refund": "Credit",
    "RoundingAdjustment": "Adjustment",
}


def _lines(con, columns: str) -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM lines ORDER BY x_SourceRow").fetchall()


@pytest.mark.parametrize(
    "path, fmt",
    [
        (MPA_ACTUAL, "azure_cost_export_partner"),
        (MPA_AMORTIZED, "azure_cost_export_partner"),
        (MCA_ACTUAL, "azure_cost_export"),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_exports_import_with_their_own_totals_and_focus_categories(path, fmt):
    con = open_store()
    [report] = import_reports(con, [path])
    assert report.format == fmt
    own = own_totals(
        path,
        "costInBillingCurrency",
        lambda r: r["billingCurrency"],
        lambda r: CATEGORY[r["chargeType"]],
    )
    assert report_totals(report) == own


def test_partner_export_lines():
    con = open_store()
    import_reports(con, [MPA_ACTUAL])
    rows = _lines(
        con,
        "SubAccountId, SubAccountName, ChargeCategory, ChargeClass, ChargeFrequency, "
        "PublisherName, BilledCost, ListCost, PricingQuantity, x_VendorChargeType",
    )
    vll, schelde = "88825278-08a8-4728-94af-fd0e00ff815f", "39bd560b-19de-415f-918b-0c2b21a46df9"
    # the customer tenant (printed upper case for Van Leeuwen) is the key, lower case
    assert [r[0] for r in rows] == [vll] * 4 + [schelde] * 4 + [vll]
    assert rows[0][1] == "Van Leeuwen Logistiek B.V."
    # pay-as-you-go VM usage with partner earned credit: list cost is the payg cost in EUR
    assert rows[0][2:9] == (
        "Usage",
        None,
        "Usage-Based",
        "Microsoft",
        D("3.603456"),
        D("4.23936"),  # 0.192 USD x 24 h x 0.92
        D(24),
    )
    # usage covered by the reservation costs nothing; its list cost is still the payg cost
    assert rows[2][6:8] == (D(0), D("4.23936"))
    # reservation and savings-plan purchases, a marketplace SaaS purchase: Purchase, Recurring
    assert [r[2:6] for r in rows[3:6]] == [
        ("Purchase", None, "Recurring", "Microsoft"),
        ("Purchase", None, "Recurring", "Microsoft"),
        ("Purchase", None, "Recurring", "Acme Backup Ltd"),
    ]
    assert [r[6] for r in rows[3:6]] == [D("63.48"), D("671.60"), D("110.40")]
    # marketplace VM licence usage
    assert rows[6][2] == "Usage" and rows[6][5] == "Acme Networks Ltd"
    # the reservation refund: a negative credit correcting an earlier invoice
    refund = rows[8]
    assert refund[2:5] == ("Credit", "Correction", "One-Time")
    assert refund[6] == D("-40.12") and refund[8] == D(-1) and refund[9] == "Refund"


def test_amortized_export_unused_commitments_are_usage():
    con = open_store()
    import_reports(con, [MPA_AMORTIZED])
    rows = _lines(con, "x_VendorChargeType, ChargeCategory, BilledCost, EffectiveCost, ResourceId")
    assert [(r[0], r[1]) for r in rows] == [
        ("Usage", "Usage"),
        ("Usage", "Usage"),
        ("UnusedReservation", "Usage"),
        ("UnusedReservation", "Usage"),
        ("Usage", "Usage"),
        ("UnusedSavingsPlan", "Usage"),
        ("Purchase", "Purchase"),
    ]
    # the amortized cost is taken as printed: 24 h x 0.09274194 USD x 0.92
    assert rows[1][2] == rows[1][3] == D("2.0477420352")
    # 3 unused hours of the reservation, on the reservation itself
    assert rows[3][2] == D("0.2559677544")
    assert rows[3][4].startswith("/providers/Microsoft.Capacity/reservationOrders/")


def test_mca_export_without_partner_columns_is_keyed_by_subscription():
    con = open_store()
    import_reports(con, [MCA_ACTUAL])
    rows = _lines(con, "SubAccountId, ChargeCategory, ChargeClass, BilledCost, ChargePeriodStart")
    assert {r[0] for r in rows} == {"c3f0a9b8-7d6e-4c5b-a4f3-e2d1c0b9a8f7"}
    assert [r[1:4] for r in rows] == [
        ("Usage", None, D("4.23936")),
        ("Purchase", None, D("110.40")),
        ("Credit", "Correction", D("-55.20")),
        ("Adjustment", None, D("0.01")),
    ]
    assert str(rows[0][4]) == "2026-10-01 00:00:00"  # ISO dates


def test_a_rounding_adjustment_is_billed_at_cost_where_the_reseller_keeps_credits(tmp_path):
    """The MCA export under a plan that keeps credits (``credits: keep``): the refund of -55.20 is
    the reseller's, but the RoundingAdjustment of +0.01 is a charge Microsoft made, billed to the
    customer at cost. It was kept as a credit: the reseller bore a charge it never billed."""
    plans = (
        "plans:\n  - id: p\n    rules:\n"
        "      - {id: azure, kind: markup, percent: 10, credits: keep}\n"
        "assignments:\n  - {plan: p, group: smb}\n"
    )
    accounts = (
        "vendor,account_id,customer_id,valid_from,valid_to,note\n"
        "microsoft,c3f0a9b8-7d6e-4c5b-a4f3-e2d1c0b9a8f7,C1,,,\n"
    )
    params = write_parameters(tmp_path, plans, accounts=accounts)
    con = open_store()
    import_reports(con, [MCA_ACTUAL])
    customers = load_customers(params)
    register_account_map(con, load_account_mappings(params, customers))
    assign_customers(con)
    rate_lines(con, load_pricing(params, customers), customers, "2026-10")
    billed = con.execute(
        "SELECT source_row, charge_category, amount FROM rated_lines ORDER BY source_row"
    ).fetchall()
    assert billed == [
        (2, "Usage", D("4.663296")),
        (3, "Purchase", D("121.44")),
        (5, "Adjustment", D("0.01")),
    ]
    kept = con.execute("SELECT x_SourceRow, BilledCost, reason FROM excluded_lines").fetchall()
    assert kept == [(4, D("-55.20"), "credit kept by reseller (rule azure)")]


def test_tags_in_quoted_json_fields():
    con = open_store()
    import_reports(con, [MPA_ACTUAL])
    tags = [json.loads(t) if t else None for (t,) in _lines(con, "Tags")]
    assert tags[0] == {"project": "p1", "env": "prod"}
    assert tags[7] == {"project": "p2", "owner": "ops, edge"}  # a comma inside the JSON
    assert tags[3] is None


def test_one_account_row_covers_licences_daily_usage_and_cost_exports():
    """accounts.csv maps Van Leeuwen's tenant once (vendor microsoft): its licences, its Azure plan
    daily usage and its partner cost export all land on C002, Schelde's on C005. (Two imports: the
    daily usage and the cost export of one tenant's month are the same usage twice, refused
    together: tests/test_usage_sources.py.)"""
    customers = load_customers(ROOT / "parameters")
    got = []
    for reports in (
        [
            SAMPLE / "ms-invoice-reconciliation-G052026103.csv",
            SAMPLE / "ms-daily-rated-usage-G052026103.csv",
        ],
        [MPA_ACTUAL],
    ):
        con = open_store()
        import_reports(con, reports)
        register_account_map(con, load_account_mappings(ROOT / "parameters", customers))
        assign_customers(con)
        got += con.execute(
            "SELECT x_Format, x_CustomerId, count(*) FROM customer_lines "
            "WHERE SubAccountId IN ('88825278-08a8-4728-94af-fd0e00ff815f', "
            "'39bd560b-19de-415f-918b-0c2b21a46df9') GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
    formats = {(f, c) for f, c, _ in got}
    assert ("azure_cost_export_partner", "C002") in formats
    assert ("azure_cost_export_partner", "C005") in formats
    assert ("ms_invoice_reconciliation", "C002") in formats
    assert ("ms_daily_rated_usage", "C002") in formats
    assert all(c in ("C002", "C005") for _, c, _ in got)


def test_an_upper_case_tenant_in_accounts_csv_maps_the_lower_case_key(tmp_path):
    params = tmp_path / "p"
    params.mkdir()
    for name in ("customers.yaml",):
        (params / name).write_text((ROOT / "parameters" / name).read_text(encoding="utf-8"))
    (params / "accounts.csv").write_text(
        "vendor,account_id,customer_id,valid_from,valid_to,note\n"
        "microsoft,88825278-08A8-4728-94AF-FD0E00FF815F,C002,,,\n"
    )
    customers = load_customers(params)
    [m] = load_account_mappings(params, customers)
    assert m.account_id == "88825278-08a8-4728-94af-fd0e00ff815f"


# -- CSV that Python's csv module reads must import ----------------------------------------------


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_crlf_lines_with_a_last_line_ending_in_lf(tmp_path):
    """Every line ends in CRLF but the last (appended by another tool), which ends in LF."""
    text = MPA_ACTUAL.read_text(encoding="utf-8").splitlines()
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(("\r\n".join(text[:-1]) + "\r\n" + text[-1] + "\n").encode("utf-8"))
    assert _csv_rows(mixed) == _csv_rows(MPA_ACTUAL)  # valid CSV to Python
    con = open_store()
    [report] = import_reports(con, [mixed])
    [plain] = import_reports(open_store(), [MPA_ACTUAL])
    assert report_totals(report) == report_totals(plain)
    assert _lines(con, "x_SourceRow, Tags")[-1][0] == 10
    assert json.loads(_lines(con, "Tags")[0][0]) == {"project": "p1", "env": "prod"}


def test_mixed_line_endings_keep_row_numbers_in_errors(tmp_path):
    lines = MPA_ACTUAL.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1].replace(",10/20/2026,", ",20.10.2026,", 1)
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(("\r\n".join(lines[:-1]) + "\r\n" + lines[-1] + "\n").encode("utf-8"))
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [mixed])
    assert (10, "date", "20.10.2026") in {(p.row, p.column, p.value) for p in err.value.problems}


def test_a_quoted_json_value_spanning_lines_in_a_mixed_file(tmp_path):
    """Tags written as JSON over two lines inside quotes, in a CRLF file whose last line ends in
    LF."""
    rows = _csv_rows(MPA_ACTUAL)
    tags = rows[0].index("tags")
    rows[1][tags] = '{"project":"p1",\r\n "note":"two lines"}'
    mixed = tmp_path / "multi.csv"
    with open(mixed, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    mixed.write_bytes(mixed.read_bytes()[:-2] + b"\n")
    assert _csv_rows(mixed) == rows
    con = open_store()
    import_reports(con, [mixed])
    first = json.loads(_lines(con, "Tags")[0][0])
    assert first == {"project": "p1", "note": "two lines"}
    # one record is one spreadsheet row, however many lines its quoted values span
    assert [r[0] for r in _lines(con, "x_SourceRow")] == list(range(2, 11))


# -- one commitment, two views -------------------------------------------------------------------


def _rows_of(path: Path, rows: list[int], out: Path) -> Path:
    """``out``: the header of ``path`` and its spreadsheet rows ``rows`` (2 is the first)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out.write_text("\n".join([lines[0], *(lines[r - 1] for r in rows)]) + "\n", encoding="utf-8")
    return out


def test_a_reservation_billed_as_bought_and_as_amortized_cost_is_refused(tmp_path):
    """Van Leeuwen's reservation (order 2f6b8c1d...): the actual-cost export's purchase (EUR 63.48)
    and the usage it covers at 0, the amortized-cost export's covered usage at its share
    (2.0477420352) and the unused hours (0.2559677544). The two files share no row, so both were
    read and the reservation billed twice: 63.48 + 2.30 of cost Microsoft never invoiced. Each
    file alone is read."""
    actual = _rows_of(MPA_ACTUAL, [4, 5], tmp_path / "actual.csv")
    amortized = _rows_of(MPA_AMORTIZED, [3, 4, 5], tmp_path / "amortized.csv")
    # the purchase row as an amortized export may list it, at 0: it bills nothing
    purchase = _csv_rows(MPA_ACTUAL)[4]
    purchase[_csv_rows(MPA_ACTUAL)[0].index("costInBillingCurrency")] = "0"
    with_purchase = tmp_path / "amortized-with-purchase.csv"
    with open(with_purchase, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([*_csv_rows(amortized), purchase])
    for alone in (actual, amortized, with_purchase):
        [report] = import_reports(open_store(), [alone])
        assert report.rows in (2, 3, 4)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [actual, amortized])
    assert "2f6b8c1d-4e3a-4b5c-9d7e-8f0a1b2c3d4e" in str(err.value)
    assert "billed twice" in str(err.value)
    assert [(p.file, p.row, p.column) for p in err.value.problems] == [
        (str(actual), 3, "CommitmentDiscountId")
    ]
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_the_amortized_export_marks_the_lines_carrying_a_commitment_s_cost():
    """The amortized export's covered usage and unused lines with a cost carry the order bought
    (from benefitId), as the actual export's purchase does; the unused line of 0 and usage
    without a commitment carry none."""
    con = open_store()
    import_reports(con, [MPA_AMORTIZED])
    assert [r[0] for r in _lines(con, "CommitmentDiscountId")] == [
        None,
        "2f6b8c1d-4e3a-4b5c-9d7e-8f0a1b2c3d4e",
        None,
        "2f6b8c1d-4e3a-4b5c-9d7e-8f0a1b2c3d4e",
        "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b",
        "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b",
        None,
    ]


#: The columns the 2019-11-01 version of the MCA and MPA cost-details layouts names otherwise
#: (Microsoft Learn, dataset-schema/usage-details-mca-2019-11-01.md and the "Version 2019-11-01"
#: table of cost-usage-details-mca-partner.md: the resource as InstanceName, the product name as
#: product, the normalised location as Location).
VERSION_2019_11_01 = {
    "ResourceId": "InstanceName",
    "ProductName": "product",
    "location": "Location",
}


def _as_version_2019_11_01(path: Path, out: Path, subscription: tuple[str, str] | None = None):
    """``path`` with its header as version 2019-11-01 names the columns; ``subscription`` (old,
    new) moves its lines to another Azure subscription."""
    rows = _csv_rows(path)
    header = [VERSION_2019_11_01.get(c, c) for c in rows[0]]
    body = [[v.replace(*subscription) if subscription else v for v in r] for r in rows[1:]]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows([header, *body])
    return out


@pytest.mark.parametrize("path", [MCA_ACTUAL, MPA_ACTUAL], ids=lambda p: p.name)
def test_a_version_2019_11_01_export_keeps_each_line_s_resource(tmp_path, path):
    """Cost Management still offers the 2019-11-01 dataset version, which names the Azure
    Resource Manager id of a line's resource ``InstanceName`` (Microsoft Learn, dataset schema
    "usage-details-mca-2019-11-01": "InstanceName | Unique identifier of the Azure Resource
    Manager resource"; the same column in cost-usage-details-mca-partner "Version 2019-11-01").
    Read by ResourceId alone, the MCA export's lines had no resource and the partner export's
    the subscription instead: every VM and disk of a subscription one invoice line under
    `line_grouping: [vendor, subscription]`, the usage sheets without a resource."""
    old = _as_version_2019_11_01(path, tmp_path / path.name)
    current, before = open_store(), open_store()
    import_reports(current, [path])
    import_reports(before, [old])
    columns = "x_SourceRow, ResourceId, ResourceName, ChargeDescription, BilledCost"
    assert _lines(before, columns) == _lines(current, columns)
    assert any(r[0] and r[0].startswith("/subscriptions/") for r in _lines(before, "ResourceId"))


def test_a_version_2019_11_01_mca_export_of_the_daily_file_s_subscription_is_refused(tmp_path):
    """The same Azure usage as the daily rated usage file and as an EA/MCA export is refused by
    the Azure subscription of the export's resource ids (docs/guarantees.md). A 2019-11-01 MCA
    export names its resources in InstanceName: its lines had no resource id, no subscription was
    compared, and the subscription's October usage was billed from both files."""
    daily = SAMPLE / "ms-daily-rated-usage-G052026103.csv"
    subscription = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c02"  # an EntitlementId of the daily file
    mca = _as_version_2019_11_01(
        MCA_ACTUAL,
        tmp_path / "mca-2019-11-01.csv",
        ("c3f0a9b8-7d6e-4c5b-a4f3-e2d1c0b9a8f7", subscription),
    )
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [daily, mca])
    assert f"the Usage of microsoft Azure subscription {subscription}" in str(err.value)
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


# -- the cost in the billing currency, never another cost column in its place --------------------


def _edited(source: Path, target: Path, edit) -> Path:
    rows = _csv_rows(source)
    edit(rows)
    with open(target, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return target


def _rename(rows: list[list[str]], column: str, to: str) -> None:
    rows[0][rows[0].index(column)] = to


def _drop(rows: list[list[str]], column: str) -> None:
    at = rows[0].index(column)
    for row in rows:
        del row[at]


@pytest.mark.parametrize(
    ("source", "edit"),
    [
        # costInBillingCurrency renamed Cost, the EA layout's name: read as the EA layout
        (MCA_ACTUAL, lambda rows: _rename(rows, "costInBillingCurrency", "Cost")),
        # the same in a partner's export, which was then read as the EA/MCA layout
        (MPA_ACTUAL, lambda rows: _rename(rows, "costInBillingCurrency", "Cost")),
        # costInBillingCurrency deleted and costInUsd renamed Cost: USD billed as EUR
        (
            MCA_ACTUAL,
            lambda rows: (
                _drop(rows, "costInBillingCurrency"),
                _rename(rows, "costInUsd", "Cost"),
            ),
        ),
    ],
    ids=["mca-renamed", "mpa-renamed", "mca-usd-as-cost"],
)
def test_a_cost_column_in_a_layout_that_names_its_billing_cost_otherwise_is_refused(
    tmp_path, source, edit
):
    """Cost is the billing currency's cost only in the EA and pay-as-you-go layout (the real
    export tests/data/vendor-samples/azure-ea, which has no costInUsd, costInPricingCurrency,
    paygCost* or pricingCurrency); in the MCA and partner layouts it is no column of Microsoft's,
    and was read as the cost, in whatever currency it holds, without a word."""
    path = _edited(source, tmp_path / source.name, edit)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [path])
    assert "CostInBillingCurrency" in str(err.value).splitlines()[0]
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == (str(path), 1, "CostInBillingCurrency")
    assert problem.expected.startswith("the cost in the billing currency")
    assert "costInPricingCurrency" in problem.expected
    assert "Cost is not read in its place" in problem.expected
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_a_row_without_its_billing_cost_is_refused_not_costed_by_another_column(tmp_path):
    """A file with both costInBillingCurrency and a Cost column: the row whose
    costInBillingCurrency is empty took Cost (here the USD cost, 9.6 billed as EUR 9.60)."""

    def edit(rows: list[list[str]]) -> None:
        usd = rows[0].index("costInUsd")
        for row in rows:
            row.append("Cost" if row is rows[0] else row[usd])
        rows[2][rows[0].index("costInBillingCurrency")] = ""

    path = _edited(MCA_ACTUAL, tmp_path / MCA_ACTUAL.name, edit)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [path])
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.value) == (3, "CostInBillingCurrency", None)
    assert problem.expected.startswith("the cost in the billing currency")


def test_the_ea_layout_s_cost_is_its_billing_cost(tmp_path):
    """The real EA export names it Cost (beside BillingCurrency), as Microsoft documents for EA
    and pay-as-you-go accounts: read, the total its own sum."""
    ea = DATA.parent / "vendor-samples" / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
    con = open_store()
    [report] = import_reports(con, [ea])
    assert report.format == "azure_cost_export"
    with open(ea, newline="", encoding="utf-8-sig") as fh:
        total = sum(model_amount(r["Cost"]) for r in csv.DictReader(fh))
    assert con.execute("SELECT sum(BilledCost) FROM lines").fetchone()[0] == total


@pytest.mark.parametrize(
    ("source", "column", "expected"),
    [
        (MCA_ACTUAL, "Cost | CostInBillingCurrency", "the column Cost or CostInBillingCurrency"),
        (MPA_ACTUAL, "costInBillingCurrency", "the column costInBillingCurrency"),
    ],
    ids=["mca", "mpa"],
)
def test_an_export_without_its_billing_cost_is_refused_naming_the_column_in_row_1(
    tmp_path, source, column, expected
):
    """costInBillingCurrency deleted, costInUsd and costInPricingCurrency left: refused as no
    known format, listing every format's columns, but naming no row nor the column to look for."""
    path = _edited(
        source, tmp_path / source.name, lambda rows: _drop(rows, "costInBillingCurrency")
    )
    con = open_store()
    with pytest.raises(InputError, match="not a known vendor report format") as err:
        import_reports(con, [path])
    problems = {p.column: p for p in err.value.problems}
    problem = problems[column]
    assert (problem.file, problem.row, problem.value) == (str(path), 1, None)
    assert problem.expected.startswith(expected)
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


# -- charges without a meter category -------------------------------------------------------------


def _invoice_lines(tmp_path: Path, report: Path, account: str, customer: str) -> list[tuple]:
    """(description, amount) of ``customer``'s invoice lines of a billing run of October over
    ``report`` alone, the sample parameters with ``account`` mapped to ``customer``."""
    params = Path(shutil.copytree(ROOT / "parameters", tmp_path / "parameters"))
    with open(params / "accounts.csv", "a", encoding="utf-8") as fh:
        fh.write(f"microsoft,{account},{customer},,,\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(report, reports)
    out = run.run_all("2026-10", reports, params, tmp_path / "out")
    invoices = json.loads((out / "invoices.json").read_text(encoding="utf-8"))["invoices"]
    [invoice] = [i for i in invoices if i["customer_id"] == customer]
    return [(x["description"], D(x["amount"])) for x in invoice["lines"]]


def test_charges_without_a_meter_category_keep_their_own_invoice_lines(tmp_path):
    """The MCA export's marketplace purchase (Acme Backup, EUR 110.40, no meterCategory as
    Microsoft writes marketplace purchases) and its RoundingAdjustment (+0.01, no product at all)
    both had no service: under the default line_grouping [vendor, service] Microsoft's rounding
    adjustment was summed into the marketplace product's line, billed as 'Acme Backup for Azure -
    Business plan' EUR 121.45. The EA and MCA layouts name the service of such a line by its
    product order or product, as the partner layout does."""
    lines = _invoice_lines(tmp_path, MCA_ACTUAL, "c3f0a9b8-7d6e-4c5b-a4f3-e2d1c0b9a8f7", "C003")
    vendor = [x for x in lines if not x[0].startswith("Minimum monthly fee")]
    assert sorted(vendor) == sorted(
        [
            ("Virtual Machines", D("4.58")),
            ("Acme Backup for Azure - Business plan", D("121.44")),
            ("Acme Backup for Azure - Business plan – credit", D("-55.20")),
            ("Adjustment", D("0.01")),
        ]
    ), lines


def test_a_rounding_adjustment_of_the_billing_profile_is_listed_unmapped_not_refusing_the_file(
    tmp_path,
):
    """Microsoft generates RoundingAdjustment rows per invoice section or billing profile (the
    invoice rounds each meter's sum to cents; the FinOps toolkit's maintainers, issue 1231): no
    subscription. The EA/MCA layout keyed its lines by SubscriptionId alone, and a billing
    profile's export holding such a row was refused whole ("SubAccountId: expected a value").
    It is keyed by its invoice section, else billing profile, else billing account, and lands
    among the unmapped lines until accounts.csv maps it."""
    rows = _csv_rows(MCA_ACTUAL)
    header = rows[0]
    for column in ("SubscriptionId", "subscriptionName"):
        rows[4][header.index(column)] = ""
    path = tmp_path / "mca-billing-profile.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    con = open_store()
    import_reports(con, [path])
    assert _lines(con, "x_SourceRow, SubAccountId, SubAccountName, BilledCost")[3] == (
        5,
        "qwer-asdf-bg7-pgb",
        "Northwind Cloud EUR",
        D("0.01"),
    )
    out = tmp_path / "run"
    out.mkdir()
    lines = _invoice_lines(out, path, "c3f0a9b8-7d6e-4c5b-a4f3-e2d1c0b9a8f7", "C003")
    assert "Adjustment" not in [d for d, _ in lines]
    manifest = json.loads((out / "out" / "2026-10" / "manifest.json").read_text(encoding="utf-8"))
    assert [(u["account_id"], D(u["cost"])) for u in manifest["unmapped"]] == [
        ("qwer-asdf-bg7-pgb", D("0.01"))
    ], manifest["unmapped"]
    # the partner layout alike: a row of no customer tenant and no subscription
    rows = _csv_rows(MPA_ACTUAL)
    for column in ("customerTenantId", "customerName", "SubscriptionId", "subscriptionName"):
        rows[1][rows[0].index(column)] = ""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    import_reports(con := open_store(), [path])
    assert _lines(con, "SubAccountId, SubAccountName")[0] == (
        "qwer-asdf-bg7-pgb",
        "Northwind Cloud EUR",
    )


#: The reservation order the real EA sample's purchase (row 2) bought, and a reservation in it.
EA_ORDER = "49ed0e4d-8e0c-4f1f-af2c-67c865056615"
EA_RESERVATION = "c3a9f1e2-6b7d-4e8f-9a0b-1c2d3e4f5a6b"


def _ea_without_benefit_columns(tmp_path: Path) -> tuple[Path, Path]:
    """The real EA actual-cost sample as an EA layout older than benefitId writes it (no benefitId,
    benefitName: Microsoft added them with savings plans), its reservation purchase alone; and
    the amortized-cost export of that layout: a VM's usage the reservation covers, at its share,
    and the reservation's unused hours. As Microsoft documents ("Reconcile reservation purchases
    with usage records", understand-usage-details-fields): a purchase carries its order as
    ProductOrderId and stamps it as ReservationId too; a usage record carries the order as
    ProductOrderId, but its ReservationId is the reservation within the order that covered it."""
    ea = DATA.parent / "vendor-samples" / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
    with open(ea, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    keep = [i for i, c in enumerate(rows[0]) if c not in ("benefitId", "benefitName")]
    header = [rows[0][i] for i in keep]
    col = {c: header.index(c) for c in header}
    body = [[r[i] for i in keep] for r in rows[1:]]
    purchase = body[0]
    assert purchase[col["ReservationId"]] == purchase[col["ProductOrderId"]] == EA_ORDER
    covered = next(
        list(r) for r in body if r[col["MeterCategory"]] == "Virtual Machines" and r is not purchase
    )
    for name, value in {
        "PricingModel": "Reservation",
        "ReservationId": EA_RESERVATION,
        "ReservationName": purchase[col["ReservationName"]],
        "ProductOrderId": EA_ORDER,
        "ProductOrderName": purchase[col["ProductOrderName"]],
        "Cost": "0.0741",
    }.items():
        covered[col[name]] = value
    unused = list(purchase)
    for name, value in {
        "ChargeType": "UnusedReservation",
        "Frequency": "UsageBased",
        "ReservationId": EA_RESERVATION,
        "Date": "09/22/2023",
        "Cost": "0.0326",
    }.items():
        unused[col[name]] = value
    paths = []
    for name, lines in (("ea-actual.csv", [purchase]), ("ea-amortized.csv", [covered, unused])):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([header, *lines])
        paths.append(tmp_path / name)
    return paths[0], paths[1]


def test_an_older_ea_layout_s_reservation_billed_as_bought_and_amortized_is_refused(tmp_path):
    """An EA layout without benefitId: the amortized lines were marked with their ReservationId,
    the reservation within the order, not the order their purchase carries (ProductOrderId), so
    the reservation bought in the actual-cost export (USD 3.25) and amortized in the other
    (0.0741 + 0.0326) was billed in both views: the one-import check and the cross-month check
    (billed_commitments) compare orders, and found none in common."""
    actual, amortized = _ea_without_benefit_columns(tmp_path)
    con = open_store()
    import_reports(con, [amortized])
    assert _lines(con, "x_VendorChargeType, CommitmentDiscountId") == [
        ("Usage", EA_ORDER),
        ("UnusedReservation", EA_ORDER),
    ]
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [actual, amortized])
    assert EA_ORDER in str(err.value) and "billed twice" in str(err.value)
    assert [(p.file, p.row, p.column) for p in err.value.problems] == [
        (str(actual), 2, "CommitmentDiscountId")
    ]
