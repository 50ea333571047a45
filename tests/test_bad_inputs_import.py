"""Bad vendor reports that used to be billed in silence: a row repeated inside one file, the same
report given twice in another container or encoding, a header without rows, a report of another
month, quantities and costs of contradicting signs, amounts out of range of DECIMAL(38,12).

Each case is built from the bundled sample month or tests/data/vendor-samples in a temp folder and
asserts the outcome (refused, or accepted where the format allows it) and that the message names
the file, rows and columns. ``import_reports`` in-process for most; ``billing import`` as a
command once (its other case calls the command's code in-process); the run cases check that the
published run folder and the invoice register are byte-identical afterwards."""

from __future__ import annotations

import calendar
import codecs
import csv
import gzip
import io
import json
import re
import shutil
import subprocess
import zipfile
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billing_lib import cli
from billing_lib.errors import BillingError, InputError
from billing_lib.importers import import_reports
from billing_lib.importers.line_content import CONTENT_WORDS
from billing_lib.store import open_store
from tests import cur2_sample as cur2
from tests.console_scripts import BILLING
from tests.notebook_project import REPO, copy_project

REPORTS = REPO / "samples" / "2026-10" / "reports"
CUR2 = REPORTS / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
DAILY = REPORTS / "ms-daily-rated-usage-G052026103.csv"
RECON = REPORTS / "ms-invoice-reconciliation-G052026103.csv"
VMWARE = REPORTS / "vmware-usage-meter-customer-monthly-usage-2026-10.csv"
VENDOR = REPO / "tests" / "data" / "vendor-samples"
LEGACY = VENDOR / "aws-cur" / "cur-legacy-anonymous-2023-11.csv"
AZURE = VENDOR / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
MPA = REPO / "tests" / "data" / "azure-cost-details" / "mpa-actual-cost-2026-10.csv"
FLEX = (
    VENDOR
    / "focus"
    / "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv"
)


# -- building bad files ---------------------------------------------------------------------------


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, [r for r in rows if r]


def write_rows(path: Path, header: list[str], rows: list[list[str]], newline: str = "\n") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return path


def edited(src: Path, dst: Path, edit) -> Path:
    """``src`` with ``edit(header, rows)`` applied to its rows (a list of lists, changed in
    place)."""
    header, rows = read_rows(src)
    edit(header, rows)
    return write_rows(dst, header, rows)


def set_value(header, rows, index, column, value):
    rows[index][header.index(column)] = value


def import_error(*paths: Path, **kwargs) -> InputError:
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, list(paths), **kwargs)
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)  # all or nothing
    return err.value


def problems(err: InputError) -> set[tuple]:
    return {(p.row, p.column) for p in err.problems}


# -- 1. a row repeated inside one vendor file ------------------------------------------------------


RECON_KEY = (
    "InvoiceNumber + OrderId + AlternateId + SubscriptionId + ProductId + SkuId + ChargeType + "
    "ChargeStartDate + MeterDescription + Subtotal"
)


@pytest.mark.parametrize(
    "source, index, key",
    [
        (DAILY, 40, "every column"),
        (VMWARE, 3, "every column"),
        (AZURE, 4, "every column"),
        (RECON, 2, RECON_KEY),
        (LEGACY, 100, "identity/LineItemId + identity/TimeInterval"),
    ],
    ids=["daily-rated-usage", "vmware", "azure-ea", "invoice-reconciliation", "cur-legacy"],
)
def test_a_row_repeated_in_one_file_is_refused_naming_both_rows_and_the_key(
    tmp_path, source, index, key
):
    header, rows = read_rows(source)
    bad = write_rows(tmp_path / source.name, header, [*rows, rows[index]])
    err = import_error(bad)
    original, repeat = index + 2, len(rows) + 2  # spreadsheet rows: header = 1
    assert f"{bad} (" in str(err) and f"row {repeat} repeats row {original} (same {key})" in str(
        err
    )
    assert (repeat, key) in problems(err)
    assert "would be billed twice" in str(err)


def test_two_products_of_one_order_in_the_invoice_file_are_not_a_repeat(tmp_path):
    """AlternateId is an alternate id of the order (Microsoft Learn), not of the line: two
    products bought in one order share it and the OrderId, and differ in their subscription,
    product and SKU."""

    def one_order(header, rows):  # row 5 (C002 Teams) bought in the order of row 4 (C002 E3)
        for column in ("OrderId", "AlternateId"):
            set_value(header, rows, 3, column, rows[2][header.index(column)])

    [report] = import_reports(open_store(), [edited(RECON, tmp_path / RECON.name, one_order)])
    assert report.rows == len(read_rows(RECON)[1])


def test_a_repeated_aws_cur2_parquet_record_is_refused(tmp_path):
    table = pq.read_table(CUR2)
    bad = tmp_path / "cur2.parquet"
    pq.write_table(pa.concat_tables([table, table.slice(5, 1)]), bad)
    err = import_error(bad)
    assert f"row {table.num_rows + 1} repeats row 6" in str(err)
    assert (table.num_rows + 1, "identity_line_item_id + identity_time_interval") in problems(err)


IDENTITY = ["identity_line_item_id", "identity_time_interval"]


def _cur2_without_identity(path: Path, compression: str = "snappy", rows=None) -> Path:
    """The sample CUR 2.0 exported without its identity columns, as Data Exports allows."""
    table = pq.read_table(CUR2).drop_columns(IDENTITY)
    pq.write_table(table if rows is None else table.take(rows), path, compression=compression)
    return path


def test_a_repeat_in_an_aws_cur_without_identity_columns_names_the_line_not_missing_columns(
    tmp_path,
):
    table = pq.read_table(CUR2).drop_columns(IDENTITY)
    bad = tmp_path / "cur2.parquet"
    pq.write_table(pa.concat_tables([table, table.slice(5, 1)]), bad)
    err = import_error(bad)
    key = "every value of the line model; the line has no identity_line_item_id + "
    assert f"row {table.num_rows + 1} repeats row 6 (same {key}" in str(err)
    [p] = err.problems
    assert (p.row, p.value) == (table.num_rows + 1, None)
    assert p.column.startswith(key)


def test_an_aws_cur_without_identity_columns_given_twice_is_refused(tmp_path):
    first = _cur2_without_identity(tmp_path / "cur2.snappy.parquet")
    second = _cur2_without_identity(tmp_path / "cur2-again.zstd.parquet", "zstd")
    err = import_error(first, second)
    assert f"{second}: the same report as {first} (its 718 lines bill the same charges" in str(err)


@pytest.mark.parametrize("with_ids_first", [True, False], ids=["ids-first", "ids-second"])
def test_an_aws_cur_given_with_and_without_identity_columns_is_refused(tmp_path, with_ids_first):
    without = _cur2_without_identity(tmp_path / "cur2-without-ids.parquet")
    first, second = (CUR2, without) if with_ids_first else (without, CUR2)
    err = import_error(first, second)
    assert f"{second}: the same report as {first} (its 718 lines" in str(err)


def test_aws_curs_without_identity_columns_that_do_not_overlap_are_both_read(tmp_path):
    first = _cur2_without_identity(tmp_path / "part-1.parquet", rows=list(range(400)))
    second = _cur2_without_identity(tmp_path / "part-2.parquet", rows=list(range(400, 718)))
    assert [r.rows for r in import_reports(open_store(), [first, second])] == [400, 318]
    overlapping = _cur2_without_identity(tmp_path / "part-2b.parquet", rows=list(range(390, 718)))
    err = import_error(first, overlapping)
    assert f"{overlapping} (AWS" in str(err)
    assert f"10 of its 328 rows are also in {first}. The reports overlap" in str(err)


def test_the_same_aws_line_id_and_hour_with_another_cost_is_refused(tmp_path):
    rows = cur2.records()
    rows.append({**rows[3], "line_item_unblended_cost": "99.5"})
    bad = cur2.write_csv(tmp_path / "cur2.csv", rows)
    err = import_error(bad)
    assert f"row {len(rows) + 1} repeats row 5" in str(err)
    [p] = err.problems
    assert p.value == rows[3]["identity_line_item_id"] + "@" + rows[3]["identity_time_interval"]


def test_the_same_line_id_in_another_hour_is_not_a_repeat(tmp_path):
    rows = cur2.records()
    rows.append({**rows[3], "identity_time_interval": "2024-05-31T23:00:00Z/2024-06-01T00:00:00Z"})
    [report] = import_reports(open_store(), [cur2.write_csv(tmp_path / "cur2.csv", rows)])
    assert report.rows == len(rows)


def test_a_daily_usage_row_differing_in_one_column_is_not_a_repeat(tmp_path):
    def edit(header, rows):
        rows.append(list(rows[40]))
        set_value(header, rows, -1, "AdditionalInfo", '{"ImageType":"Windows"}')

    [report] = import_reports(open_store(), [edited(DAILY, tmp_path / "daily.csv", edit)])
    assert report.rows == 249


@pytest.fixture
def colliding_hashes(monkeypatch):
    """A store in which every key has the same 64-bit hash (duplicates.KEY_HASH is a macro
    giving 42), as two different keys may have."""
    from billing_lib.importers import duplicates

    con = open_store()
    con.execute("CREATE MACRO same_hash(key) AS 42::UBIGINT")
    monkeypatch.setattr(duplicates, "KEY_HASH", "same_hash")
    return con


def test_keys_whose_hashes_collide_are_not_a_repeat(tmp_path, colliding_hashes):
    rows = cur2.records()
    reports = import_reports(
        colliding_hashes, [cur2.write_csv(tmp_path / "cur2.csv", rows), DAILY, VMWARE]
    )
    assert [r.rows for r in reports] == [len(rows), 248, 14]


def test_a_repeat_among_keys_whose_hashes_collide_is_refused_naming_its_rows(
    tmp_path, colliding_hashes
):
    rows = cur2.records()
    rows.append({**rows[3], "line_item_unblended_cost": "99.5"})
    with pytest.raises(InputError) as err:
        import_reports(colliding_hashes, [cur2.write_csv(tmp_path / "cur2.csv", rows)])
    assert f"row {len(rows) + 1} repeats row 5" in str(err.value)
    [p] = err.value.problems
    assert p.value == rows[3]["identity_line_item_id"] + "@" + rows[3]["identity_time_interval"]
    header, daily = read_rows(DAILY)
    bad = write_rows(tmp_path / DAILY.name, header, [*daily, daily[40]])
    with pytest.raises(InputError, match=f"row {len(daily) + 2} repeats row 42 \\(same every"):
        import_reports(colliding_hashes, [bad])


def test_focus_identical_rows_are_accepted_as_the_specification_example_has_them():
    # The FOCUS example bills two virtual machines in two identical rows (rows 4 and 6).
    [report] = import_reports(open_store(), [FLEX], default_currency="USD")
    assert report.rows == 3


FOCUS_HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ChargeCategory,ChargeFrequency,ChargeDescription,"
    "ChargePeriodStart,ChargePeriodEnd,BillingPeriodStart,BillingPeriodEnd,ServiceName,SkuId,"
    "ResourceId,PricingQuantity,PricingUnit,ListUnitPrice,ListCost,BilledCost,EffectiveCost,"
    "BillingCurrency,Tags"
)


def _azure_focus(path: Path, days) -> Path:
    """An Azure FOCUS export of one VM's usage on the October ``days``."""
    rows = [
        f"/providers/Microsoft.Billing/billingAccounts/1234,/subscriptions/ab12cd34,Microsoft,"
        f"Usage,Usage-Based,D2s v5,2026-10-{d:02d}T00:00:00Z,2026-10-{d + 1:02d}T00:00:00Z,"
        "2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,Virtual Machines,DZH318Z0BQ4L,"
        '/subscriptions/ab12cd34/vm1,24,1 Hour,0.096,2.304,2.304,2.304,EUR,"{""env"":""prod""}"'
        for d in days
    ]
    path.write_text("\n".join([FOCUS_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "first_days, second_days, message",
    [
        ([5, 6], [6], "row 2 bills the same charge as {first} row 3 "),
        (range(1, 21), range(15, 31), "6 of its 16 rows are also in {first}. The reports overlap"),
    ],
    ids=["month-to-date-and-final", "first-20-days-and-from-the-15th"],
)
def test_focus_exports_that_overlap_are_refused(tmp_path, first_days, second_days, message):
    """FOCUS accepts identical rows inside one file, not the same charge in two files."""
    first = _azure_focus(tmp_path / "azure-focus-2026-10-mtd.csv", first_days)
    second = _azure_focus(tmp_path / "azure-focus-2026-10-final.csv", second_days)
    err = import_error(first, second)
    assert str(err).startswith(f"{second} (FOCUS")
    assert message.format(first=first) in str(err)


def test_focus_exports_that_do_not_overlap_are_both_read(tmp_path):
    first = _azure_focus(tmp_path / "azure-focus-1.csv", range(1, 15))
    second = _azure_focus(tmp_path / "azure-focus-2.csv", range(15, 31))
    assert [r.rows for r in import_reports(open_store(), [first, second])] == [14, 16]


def test_a_focus_row_identical_to_two_of_an_earlier_file_is_refused(tmp_path):
    # the specification's example bills two VMs in two identical rows (4 and 6); one of them
    # again in a second file is the same charge twice
    header, rows = read_rows(FLEX)
    again = write_rows(tmp_path / "again.csv", header, [rows[1]])
    err = import_error(FLEX, again, default_currency="USD")
    assert f"row 2 bills the same charge as {FLEX} row 4 " in str(err)


# -- 2. the same report twice, in another container or encoding ------------------------------------


def _gz(src: Path, dst: Path) -> Path:
    dst.write_bytes(gzip.compress(src.read_bytes(), mtime=0))
    return dst


def _crlf(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes().replace(b"\n", b"\r\n"))
    return dst


def _bom(src: Path, dst: Path) -> Path:
    dst.write_bytes(codecs.BOM_UTF8 + src.read_bytes())
    return dst


def _reordered_crlf(src: Path, dst: Path) -> Path:
    header, rows = read_rows(src)
    return write_rows(dst, header, list(reversed(rows)), newline="\r\n")


@pytest.mark.parametrize(
    "source, copy, name",
    [
        (DAILY, _gz, "daily.csv.gz"),
        (DAILY, _crlf, "daily-crlf.csv"),
        (DAILY, _bom, "daily-bom.csv"),
        (DAILY, _reordered_crlf, "daily-resorted.csv"),
        (VMWARE, _crlf, "vmware-crlf.csv"),
        (AZURE, _bom, "azure-bom.csv"),
    ],
    ids=["gzip", "crlf", "bom", "reordered", "vmware-crlf", "azure-bom"],
)
def test_a_report_without_line_ids_given_twice_is_refused_by_content(tmp_path, source, copy, name):
    first = shutil.copy(source, tmp_path / source.name)
    second = copy(source, tmp_path / name)
    err = import_error(Path(first), second)
    assert f"{second}: the same report as {first} (" in str(err)
    assert "given twice" in str(err)


@pytest.mark.parametrize(
    "source, copy, name",
    [(RECON, _gz, "recon.csv.gz"), (RECON, _reordered_crlf, "recon.csv"), (LEGACY, _gz, "cur.gz")],
    ids=["recon-gzip", "recon-reordered-crlf", "cur-legacy-gzip"],
)
def test_a_report_with_line_ids_given_twice_is_refused_naming_both_files(
    tmp_path, source, copy, name
):
    first = Path(shutil.copy(source, tmp_path / source.name))
    second = copy(source, tmp_path / ("again-" + name))
    err = import_error(first, second)
    assert f"{second}: the same report as {first} (its " in str(err)
    assert "vendor line ids were all already imported from it" in str(err)
    assert all(p.file == str(second) and str(first) in p.expected for p in err.problems)


@pytest.mark.parametrize(
    "source, first_rows, second_rows",
    [(DAILY, (0, 160), (100, 248)), (AZURE, (0, 6), (4, 9))],
    ids=["daily-rated-usage", "azure-ea"],
)
def test_reports_without_line_ids_that_overlap_are_refused_naming_the_shared_rows(
    tmp_path, source, first_rows, second_rows
):
    # two month-to-date exports: the second repeats the last rows of the first
    header, rows = read_rows(source)
    first = write_rows(tmp_path / f"first-{source.name}", header, rows[slice(*first_rows)])
    second = write_rows(tmp_path / f"second-{source.name}", header, rows[slice(*second_rows)])
    shared = first_rows[1] - second_rows[0]
    err = import_error(first, second)
    assert str(err).startswith(f"{second} (")
    assert (
        f"row 2 bills the same charge as {first} row {second_rows[0] + 2} (the same "
        f"{CONTENT_WORDS}); {shared} of its "
        f"{second_rows[1] - second_rows[0]} rows are also in {first}. The reports overlap"
    ) in str(err)
    assert "would be billed twice" in str(err)
    assert [(p.row, p.expected) for p in err.problems][:2] == [
        (2, f"a row not in {first} (it is its row {second_rows[0] + 2})"),
        (3, f"a row not in {first} (it is its row {second_rows[0] + 3})"),
    ]


def test_reports_without_line_ids_that_do_not_overlap_are_both_read(tmp_path):
    header, rows = read_rows(DAILY)
    first = write_rows(tmp_path / "first.csv", header, rows[:100])
    second = write_rows(tmp_path / "second.csv", header, rows[100:])
    reports = import_reports(open_store(), [first, second])
    assert [r.rows for r in reports] == [100, len(rows) - 100]


def test_an_overlap_with_a_report_imported_into_the_store_before_is_refused(tmp_path):
    # ``billing import`` into a store file, one report at a time: the earlier one is compared too
    header, rows = read_rows(DAILY)
    con = open_store()
    import_reports(con, [write_rows(tmp_path / "a.csv", header, rows[:10])])
    later = write_rows(tmp_path / "b.csv", header, rows[9:])
    with pytest.raises(
        InputError, match=r"b\.csv \(.*\): row 2 bills the same charge as .*a\.csv row 11"
    ):
        import_reports(con, [later])
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (10,)
    assert con.execute("SELECT count(*) FROM imported_rows").fetchone() == (10,)


def test_a_zip_of_a_report_beside_the_report_is_refused(tmp_path):
    first = Path(shutil.copy(VMWARE, tmp_path / VMWARE.name))
    archive = tmp_path / "vmware.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(VMWARE, "october/" + VMWARE.name)
    err = import_error(first, archive)
    assert f"{archive}!october/{VMWARE.name}: same content as {first}, given twice" in str(err)


def test_a_daily_usage_file_re_saved_with_other_number_spelling_is_the_same_report(tmp_path):
    def edit(header, rows):  # a spreadsheet re-save: 24 -> 24.00, 0.2300 -> 0.23
        for r in rows:
            q = Decimal(r[header.index("Quantity")])
            r[header.index("Quantity")] = (
                f"{q:.2f}" if q == q.to_integral() else f"{q.normalize():f}"
            )

    first = Path(shutil.copy(DAILY, tmp_path / DAILY.name))
    second = edited(DAILY, tmp_path / "resaved.csv", edit)
    assert second.read_bytes() != first.read_bytes()
    err = import_error(first, second)
    assert f"{second}: the same report as {first}" in str(err)


def _column_added(header, rows):  # a newer export version, or a column the user added
    header.append("NewCol")
    for r in rows:
        r.append("x")


def _last_columns_dropped(header, rows):  # an older export version
    del header[-3:]
    for r in rows:
        del r[-3:]


def _iso_dates(header, rows):  # 10/1/2026 -> 2026-10-01
    for r in rows:
        for i, value in enumerate(r):
            if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", value):
                month, day, year = value.split("/")
                r[i] = f"{year}-{int(month):02d}-{int(day):02d}"


def _not_invoiced_yet(header, rows):  # the unbilled daily export of the same usage
    for r in rows:
        r[header.index("InvoiceNumber")] = ""


def _saved_by_excel_us(header, rows):  # 10/01/2026 -> 10/1/2026, True -> TRUE
    for r in rows:
        for i, value in enumerate(r):
            if re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
                month, day, year = value.split("/")
                r[i] = f"{int(month)}/{int(day)}/{year}"
            r[i] = {"True": "TRUE", "False": "FALSE"}.get(r[i], r[i])


@pytest.mark.parametrize(
    "source, edit",
    [
        (DAILY, _column_added),
        (DAILY, _last_columns_dropped),
        (DAILY, _iso_dates),
        (DAILY, _not_invoiced_yet),
        (MPA, _column_added),
        (MPA, _saved_by_excel_us),
    ],
    ids=[
        "daily-column-added",
        "daily-older-export",
        "daily-iso-dates",
        "daily-not-invoiced-yet",
        "mpa-column-added",
        "mpa-saved-by-excel",
    ],
)
def test_a_report_given_again_in_another_layout_or_spelling_is_the_same_report(
    tmp_path, source, edit
):
    """Reports without line ids are compared by the charges their lines bill (the line model's
    values), not by the text of every column: an added or dropped column the format does not read,
    dates spelt otherwise, or the invoice id not yet there, is the same usage billed twice."""
    first = Path(shutil.copy(source, tmp_path / source.name))
    second = edited(source, tmp_path / f"again-{source.name}", edit)
    assert second.read_bytes() != first.read_bytes()
    err = import_error(first, second, period="2026-10")
    assert f"{second}: the same report as {first} (" in str(err)
    assert "given twice" in str(err)


def _customer_renamed(header, rows):  # Partner Center writes the customer's current name
    for r in rows:
        r[header.index("CustomerName")] += " (renamed)"


def _partner_renamed(header, rows):
    for r in rows:
        r[header.index("PartnerName")] = "Northwind Cloud Europe B.V."


def _tag_added(header, rows):  # a tag put on the resources between the two downloads
    for r in rows:
        tags = json.loads(r[header.index("Tags")] or "{}")
        r[header.index("Tags")] = json.dumps({"owner": "it", **dict(reversed(tags.items()))})


def _meter_renamed(header, rows):  # Microsoft renames a meter; its MeterId stays
    for r in rows:
        r[header.index("MeterName")] += " (new name)"
        r[header.index("MeterSubCategory")] = ""


@pytest.mark.parametrize(
    "edit",
    [_customer_renamed, _partner_renamed, _tag_added, _meter_renamed],
    ids=["customer-renamed", "partner-renamed", "tag-added", "meter-renamed"],
)
def test_a_daily_usage_month_downloaded_again_with_other_names_or_tags_is_the_same_report(
    tmp_path, edit
):
    """Each download writes today's customer and partner names, meter names and resource tags:
    two downloads of one month bill the same charges (tenant, meter, resource, day, quantity,
    amounts), and both were billed before."""
    first = Path(shutil.copy(DAILY, tmp_path / DAILY.name))
    second = edited(DAILY, tmp_path / "ms-daily-rated-usage-G052026103 (1).csv", edit)
    err = import_error(first, second, period="2026-10")
    assert f"{second}: the same report as {first} (" in str(err)
    assert "given twice" in str(err)


def _other_resource(header, rows):  # another VM of the same size, the same usage
    for r in rows:
        r[header.index("ResourceURI")] += "-b"


def test_two_resources_billing_the_same_amounts_are_both_read(tmp_path):
    first = Path(shutil.copy(DAILY, tmp_path / DAILY.name))
    second = edited(DAILY, tmp_path / "other-resources.csv", _other_resource)
    assert [r.rows for r in import_reports(open_store(), [first, second])] == [248, 248]


@pytest.mark.parametrize(
    "sku, refused", [("DZH318Z0BQ4L", True), ("", False)], ids=["with-sku", "without-sku"]
)
def test_a_focus_description_tells_charges_apart_only_without_their_sku(tmp_path, sku, refused):
    """With a SkuId, a description is the name of the day; a FOCUS export without SkuId and
    SkuPriceId has nothing but the description to tell two charges apart."""
    first = _azure_focus(tmp_path / "a.csv", [5])
    second = _azure_focus(tmp_path / "b.csv", [5])
    for path, name in ((first, "D2s v5"), (second, "D2s v5 Linux")):
        text = path.read_text(encoding="utf-8").replace(",DZH318Z0BQ4L,", f",{sku},")
        path.write_text(text.replace(",D2s v5,", f",{name},"), encoding="utf-8")
    if refused:
        assert "the same report as" in str(import_error(first, second))
    else:
        assert [r.rows for r in import_reports(open_store(), [first, second])] == [1, 1]


def test_a_cost_export_given_again_as_parquet_is_the_same_report(tmp_path):
    first = Path(shutil.copy(MPA, tmp_path / MPA.name))
    second = tmp_path / "mpa-actual-cost-2026-10.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{first}')) TO '{second}' (FORMAT parquet)")
    err = import_error(first, second)
    assert f"{second}: the same report as {first} (" in str(err)


def test_reports_that_overlap_in_another_layout_are_refused_naming_the_shared_rows(tmp_path):
    header, rows = read_rows(DAILY)
    first = write_rows(tmp_path / "first.csv", header, rows[:160])
    second = edited(
        write_rows(tmp_path / "second.csv", header, rows[100:]),
        tmp_path / "second.csv",
        _column_added,
    )
    err = import_error(first, second)
    assert f"row 2 bills the same charge as {first} row 102 " in str(err)
    assert f"60 of its {len(rows) - 100} rows are also in {first}" in str(err)


def test_a_reconciliation_re_saved_in_a_spreadsheet_is_refused_naming_the_rewritten_ids(tmp_path):
    """Opened in Excel and saved, Partner Center's file kept its columns and amounts, but SkuId 0002
    became 2 and the line id 8449250160e3 became 8.44925E+12: its licences matched other price
    rules and were billed at other prices, with nothing said but "rule matched nothing"."""

    def resave(header, rows):
        for r in rows:
            r[header.index("SkuId")] = str(int(r[header.index("SkuId")]))
        alternate = header.index("AlternateId")
        assert rows[0][alternate] == "8449250160e3"  # a hexadecimal id, as Microsoft writes it
        rows[0][alternate] = "8.44925E+12"

    err = import_error(edited(RECON, tmp_path / RECON.name, resave))
    assert str(err).startswith(
        f"{tmp_path / RECON.name} (Microsoft Partner Center new-commerce invoice reconciliation): "
        "ids rewritten by a spreadsheet: the file was opened and saved in one (Excel, LibreOffice)"
    )
    header, rows = read_rows(RECON)
    assert problems(err) == {(n, "SkuId") for n in range(2, len(rows) + 2)} | {(2, "AlternateId")}
    by_column = {p.column: p for p in err.problems if p.row == 2}
    assert by_column["AlternateId"].expected == (
        "the id as the vendor writes it, not a long number as a spreadsheet writes it "
        "(scientific notation)"
    )
    assert (by_column["SkuId"].value, by_column["SkuId"].expected) == (
        "2",
        "the id as the vendor writes it, not an id whose leading zeros a spreadsheet dropped",
    )


def test_an_aws_report_re_saved_in_a_spreadsheet_is_refused_not_left_unmapped(tmp_path):
    """A 12-digit account id as a spreadsheet writes it (1.23412E+11) maps to no customer."""
    source = VENDOR / "aws-cur" / "cur-legacy-anonymous-2023-11.csv"

    def resave(header, rows):
        for column in ("bill/PayerAccountId", "lineItem/UsageAccountId"):
            set_value(header, rows, 4, column, "1.23412E+11")

    err = import_error(edited(source, tmp_path / source.name, resave))
    assert problems(err) == {(6, "bill/PayerAccountId"), (6, "lineItem/UsageAccountId")}
    assert [p.value for p in err.problems] == ["1.23412E+11", "1.23412E+11"]


# -- 3. a header without rows, a report of another month -------------------------------------------


@pytest.mark.parametrize("blank_lines", [0, 3], ids=["header-only", "header-and-blank-lines"])
def test_a_report_with_a_header_and_no_rows_is_refused(tmp_path, blank_lines):
    header = VMWARE.read_text(encoding="utf-8").splitlines()[0]
    bad = tmp_path / "vmware-empty.csv"
    bad.write_text(header + "\n" * (1 + blank_lines), encoding="utf-8")
    err = import_error(bad)
    assert str(err).startswith(f"{bad} (VMware")
    assert "no rows; a vendor report for a month has lines" in str(err)


def test_an_empty_member_of_a_zip_is_named(tmp_path):
    archive = tmp_path / "recon.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("recon.csv", RECON.read_text(encoding="utf-8").splitlines()[0] + "\n")
    err = import_error(archive)
    assert f"{archive}!recon.csv (Microsoft" in str(err) and "no rows" in str(err)


def _september_vmware(tmp_path: Path) -> Path:
    def edit(header, rows):
        for i in range(len(rows)):
            set_value(header, rows, i, "Month", "2026-09")

    return edited(VMWARE, tmp_path / "vmware-2026-09.csv", edit)


def test_a_report_of_another_month_is_refused_naming_both_periods(tmp_path):
    bad = _september_vmware(tmp_path)
    err = import_error(bad, period="2026-10")
    assert f"{bad} (VMware" in str(err)
    assert "no line is charged in the run's period 2026-10" in str(err)
    assert "charged in 2026-09 (2026-09-01 to 2026-09-30)" in str(err)
    # without a period (billing import without --period) it is read
    assert import_reports(open_store(), [bad])[0].rows == 14


def test_a_report_of_another_month_names_its_rows_and_column(tmp_path):
    """The refusal named the file and its months, not a row or column to look at."""
    bad = _september_vmware(tmp_path)
    err = import_error(bad, period="2026-10")
    assert [(p.file, p.row, p.column) for p in err.problems] == [
        (str(bad), row, "ChargePeriodStart (from 'Month')") for row in range(2, 16)
    ]
    assert err.problems[0].value == "2026-09-01, cost 72.576"  # 84 points x 0.8640
    assert err.problems[0].expected == "a charge in 2026-10"


def test_a_daily_usage_report_of_august_in_october_is_refused(tmp_path):
    def edit(header, rows):
        for i in range(len(rows)):
            for col in ("UsageDate", "ChargeStartDate", "ChargeEndDate"):
                set_value(header, rows, i, col, rows[i][header.index(col)].replace("10/", "8/", 1))

    bad = edited(DAILY, tmp_path / "daily-2026-08.csv", edit)
    err = import_error(bad, period="2026-10")
    assert f"{bad} (Microsoft" in str(err)
    assert "no line is charged in the run's period 2026-10" in str(err)
    assert "charged in 2026-08 (2026-08-01 to 2026-08-31)" in str(err)


def test_lines_of_an_earlier_vendor_billing_period_are_refused_naming_their_rows(tmp_path):
    """A line whose vendor billing period (the bill it is on: a Usage Meter row's Month, the
    daily file's ChargeStartDate and ChargeEndDate, an AWS CUR's bill_billing_period_start_date)
    ends before the run's month is on an earlier vendor bill. Two months' exports pasted into one
    file, September's rows carrying less than half of the money, were billed in October with
    only "2 rated lines are charged outside 2026-10" among the warnings: September's usage
    billed a second time, or in the wrong month. Refused naming each row and the column."""

    def september_rows(header, rows):
        rows += [
            [("2026-09" if c == "Month" else v) for c, v in zip(header, r, strict=True)]
            for r in rows[:2]
        ]

    bad = edited(VMWARE, tmp_path / "usage-2026-10.csv", september_rows)
    err = import_error(bad, period="2026-10")
    text = str(err)
    assert text.startswith(
        f"{bad} (VMware Cloud Provider Program usage meter monthly usage): 2 of its 16 lines "
        "are on a vendor bill of a period before 2026-10 (2026-09-01 to 2026-09-30)"
    ), text
    assert [(p.row, p.column, p.value) for p in err.problems] == [
        (16, "BillingPeriodStart (from 'Month')", "2026-09-01, cost 72.576"),
        (17, "BillingPeriodStart (from 'Month')", "2026-09-01, cost 276.48"),
    ]
    assert err.problems[0].expected == "a line of a vendor bill of 2026-10"

    def september_days(header, rows):
        for i in (3, 7):
            for col, value in (
                ("UsageDate", "9/29/2026"),
                ("ChargeStartDate", "9/1/2026"),
                ("ChargeEndDate", "9/30/2026"),
            ):
                set_value(header, rows, i, col, value)

    bad = edited(DAILY, tmp_path / "daily.csv", september_days)
    err = import_error(bad, period="2026-10")
    assert [(p.row, p.column) for p in err.problems] == [
        (5, "BillingPeriodStart (from 'ChargeStartDate')"),
        (9, "BillingPeriodStart (from 'ChargeStartDate')"),
    ]

    # a line of September on October's bill (a late credit, a late usage day) is read
    def late_day(header, rows):
        set_value(header, rows, 3, "UsageDate", "9/29/2026")

    good = edited(DAILY, tmp_path / "daily-late.csv", late_day)
    assert import_reports(open_store(), [good], period="2026-10")[0].rows == 248


def test_a_report_with_some_lines_in_the_period_is_read(tmp_path):
    # A licence cycle from 12 October to 11 November and a September credit: the file is October's.
    def edit(header, rows):
        for col, value in (("ChargeStartDate", "9/12/2026"), ("ChargeEndDate", "10/11/2026")):
            set_value(header, rows, 0, col, value)

    good = edited(RECON, tmp_path / "recon.csv", edit)
    assert import_reports(open_store(), [good], period="2026-10")[0].rows == 19


def _next_months_invoice(tmp_path: Path) -> Path:
    """November's Partner Center invoice: the sample's rows a month later, but one addQuantity
    of 28 October that Microsoft bills on the invoice after the change (for the rest of its
    cycle, to 11 November: moved to 11 December it charged 45 days of a monthly cycle, which
    the import refuses)."""

    def later(value: str) -> str:
        month, day, year = (int(v) for v in value.split("/"))
        last = day == calendar.monthrange(year, month)[1]
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
        days = calendar.monthrange(year, month)[1]
        return f"{month}/{days if last else min(day, days)}/{year}"

    def edit(header, rows):
        for i, row in enumerate(rows):
            set_value(header, rows, i, "InvoiceNumber", "G052026999")
            for col in ("ChargeStartDate", "ChargeEndDate", "OrderDate"):
                if i == 1 and col == "ChargeEndDate":
                    continue
                value = "10/28/2026" if i == 1 else later(row[header.index(col)])
                set_value(header, rows, i, col, value)

    return edited(RECON, tmp_path / "ms-invoice-reconciliation-G052026999.csv", edit)


def test_next_months_invoice_with_one_late_change_of_the_month_is_refused(tmp_path):
    """One row of it reaches into October: it passed as October's, and every November licence
    was billed in October (C005 9740.82 -> 18911.94)."""
    bad = _next_months_invoice(tmp_path)
    err = import_error(bad, period="2026-10")
    assert str(err).startswith(
        f"{bad} (Microsoft Partner Center new-commerce invoice reconciliation): 18 of its 19 "
        "lines, with 99.7% of its charges (EUR 21669.1 of 21714.94), are charged outside the "
        "run's period 2026-10 (from 2026-11-01 to 2026-11-26); only 1 line is charged in "
        "2026-10. A report of another month (next month's invoice in this month's folder)? Bill "
        "it with --period 2026-11, or remove it from the reports folder."
    )
    assert [(p.row, p.column) for p in err.problems][:2] == [
        (2, "ChargePeriodStart (from 'ChargeStartDate')"),
        (4, "ChargePeriodStart (from 'ChargeStartDate')"),
    ]
    assert len(err.problems) == 18 and err.problems[0].value == "2026-11-12, cost 247.2"
    # in its own month it is read, its October change among its lines
    assert import_reports(open_store(), [bad], period="2026-11")[0].rows == 19


def test_last_months_invoice_whose_cycles_run_into_the_month_is_refused(tmp_path):
    """September's Partner Center invoice of licences renewing on their anniversaries (5 Sep to
    4 Oct, 12 Sep to 11 Oct): every cycle meets October, so it passed as October's, and
    September's EUR 21,530.84 was billed in October beside October's own invoice, with only
    "18 rated lines are charged outside 2026-10" among the warnings."""

    def edit(header, rows):
        for i, row in enumerate(rows):
            set_value(header, rows, i, "InvoiceNumber", "G052026093")
            day = max(int(row[header.index("ChargeStartDate")].split("/")[1]), 5)
            for col, value in (
                ("ChargeStartDate", f"9/{day}/2026"),
                ("OrderDate", f"9/{day}/2026"),
            ):
                set_value(header, rows, i, col, value)
            set_value(header, rows, i, "ChargeEndDate", f"10/{day - 1}/2026")

    bad = edited(RECON, tmp_path / "ms-invoice-reconciliation-G052026093.csv", edit)
    err = import_error(bad, period="2026-10")
    assert str(err).startswith(
        f"{bad} (Microsoft Partner Center new-commerce invoice reconciliation): 19 of its 19 "
        "lines, with 100.0% of its charges (EUR 21714.94 of 21714.94), begin before the run's "
        "period 2026-10 (from 2026-09-05 to 2026-09-26); none begins in 2026-10. A report of an "
        "earlier month (last month's invoice, whose charge cycles run into 2026-10)? Bill it "
        "with --period 2026-09, or remove it from the reports folder."
    )
    assert len(err.problems) == 19 and err.problems[0].value == "2026-09-12, cost 247.2"
    assert err.problems[0].column == "ChargePeriodStart (from 'ChargeStartDate')"
    assert import_reports(open_store(), [bad], period="2026-09")[0].rows == 19


def test_this_months_invoice_with_one_large_purchase_of_the_month_before_is_read(tmp_path):
    # a reservation bought on 30 September, on October's invoice, carries most of its money: the
    # lines begun before October are most of its charges, not most of its lines (paid up front:
    # one year charged on a monthly cycle is refused)
    def edit(header, rows):
        for col, value in (
            ("BillingFrequency", "OneTime"),
            ("ChargeStartDate", "9/30/2026"),
            ("ChargeEndDate", "9/29/2027"),
            ("UnitPrice", "40000"),
            ("EffectiveUnitPrice", "40000"),
            ("Quantity", "1"),
            ("BillableQuantity", "1"),
            ("Subtotal", "40000"),
            ("Total", "40000"),
        ):
            set_value(header, rows, 0, col, value)

    good = edited(RECON, tmp_path / "recon.csv", edit)
    assert import_reports(open_store(), [good], period="2026-10")[0].rows == 19


def test_a_report_with_a_few_lines_of_the_month_before_is_read(tmp_path):
    # October's invoice with two late changes of September (their cycles ended in September)
    def edit(header, rows):
        for i in (1, 5):
            set_value(header, rows, i, "ChargeStartDate", "9/20/2026")
            set_value(header, rows, i, "ChargeEndDate", "9/30/2026")

    good = edited(RECON, tmp_path / "recon.csv", edit)
    assert import_reports(open_store(), [good], period="2026-10")[0].rows == 19


# -- 4. contradicting signs ------------------------------------------------------------------------


def test_a_tag_holding_a_control_character_is_named_with_its_row(tmp_path):
    """A tab typed into an Azure tag's value makes the Tags text invalid JSON: refused with its
    row (DuckDB's json_type raised on it, unnamed, before)."""
    sample = VENDOR / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
    with open(sample, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    tags = rows[0].index("Tags")
    row = next(n for n, r in enumerate(rows) if n and r[tags].strip())
    rows[row][tags] = rows[row][tags].replace('": "', '": "\t', 1)
    bad = tmp_path / "ea-tab-in-tag.csv"
    with open(bad, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [bad])
    [problem] = err.value.problems
    assert problem.row == row + 1 and "Tags" in problem.column and "\t" in problem.value


def test_a_charge_of_a_negative_quantity_at_a_positive_cost_is_refused(tmp_path):
    rows = cur2.records()
    usage = next(i for i, r in enumerate(rows) if r["line_item_line_item_type"] == "Usage")
    rows[usage]["line_item_usage_amount"] = "-" + rows[usage]["line_item_usage_amount"]
    bad = cur2.write_csv(tmp_path / "cur2.csv", rows)
    err = import_error(bad)
    assert "lines whose quantity and cost have contradicting signs" in str(err)
    [p] = err.problems
    assert (p.row, p.file) == (usage + 2, str(bad))
    assert p.column == (
        "PricingQuantity (from 'line_item_line_item_type', 'reservation_reservation_a_r_n', "
        "'line_item_usage_amount') / BilledCost (from 'line_item_unblended_cost')"
    )
    assert p.value.startswith("quantity -") and "(Usage, Usage)" in p.value


def test_a_microsoft_charge_printed_with_a_negative_quantity_takes_the_sign_of_its_subtotal(
    tmp_path,
):
    # Issue 10: Microsoft's amount decides (Subtotal 247.20 for 12 seats printed as -12), so the
    # line model holds no contradiction and the seats are priced as a charge.
    def edit(header, rows):
        for col in ("Quantity", "BillableQuantity"):
            set_value(header, rows, 0, col, "-12")

    con = open_store()
    import_reports(con, [edited(RECON, tmp_path / "recon.csv", edit)])
    assert con.execute(
        "SELECT PricingQuantity, BilledCost FROM lines WHERE x_SourceRow = 2"
    ).fetchone() == (Decimal(12), Decimal("247.2"))


def test_a_negative_price_per_point_on_positive_points_is_refused(tmp_path):
    def edit(header, rows):
        set_value(header, rows, 4, "Price per Point", "-0.8640")

    err = import_error(edited(VMWARE, tmp_path / "vmware.csv", edit))
    [p] = err.problems
    assert p.row == 6 and "Billable Points" in p.column and "Price per Point" in p.column


def test_an_aws_usage_line_with_a_negative_cost_is_refused_but_a_negation_is_not(tmp_path):
    rows = cur2.records()
    usage = next(i for i, r in enumerate(rows) if r["line_item_line_item_type"] == "Usage")
    rows[usage]["line_item_unblended_cost"] = "-" + rows[usage]["line_item_unblended_cost"]
    err = import_error(cur2.write_csv(tmp_path / "cur2.csv", rows))
    [p] = err.problems
    assert p.row == usage + 2 and "line_item_usage_amount" in p.column
    # the sample month's Savings Plan negations (positive hours, negative cost) are read
    assert import_reports(open_store(), [CUR2])[0].rows == 718


@pytest.mark.parametrize(
    "quantity, subtotal", [("-9", "-167.40"), ("9", "-167.40")], ids=["negative", "positive"]
)
def test_microsoft_credits_pass_in_both_sign_conventions(tmp_path, quantity, subtotal):
    header, rows = read_rows(RECON)
    i = next(i for i, r in enumerate(rows) if r[header.index("ChargeType")] == "cancelImmediate")
    for col in ("Quantity", "BillableQuantity"):
        rows[i][header.index(col)] = quantity
    rows[i][header.index("Subtotal")] = rows[i][header.index("Total")] = subtotal
    con = open_store()
    import_reports(con, [write_rows(tmp_path / "recon.csv", header, rows)])
    assert con.execute(
        "SELECT ChargeCategory, BilledCost FROM lines WHERE x_SourceRow = ?", [i + 2]
    ).fetchone() == ("Credit", Decimal(subtotal))


# -- 5. out of range -------------------------------------------------------------------------------


def test_an_amount_that_overflows_decimal_38_12_is_out_of_range(tmp_path):
    rows = cur2.records()
    rows[2]["line_item_unblended_cost"] = "1.5E+30"
    err = import_error(cur2.write_csv(tmp_path / "cur2.csv", rows))
    [p] = err.problems
    assert (p.row, p.column, p.value) == (4, "line_item_unblended_cost", "1.5E+30")
    assert "out of range" in str(err) and "expected a decimal number" not in str(err)


def test_a_computed_amount_out_of_range_names_row_and_column(tmp_path):
    def edit(header, rows):
        set_value(header, rows, 2, "Billable Points", "90000000000000000000")
        set_value(header, rows, 2, "Price per Point", "12345678")

    err = import_error(edited(VMWARE, tmp_path / "vmware.csv", edit))
    assert "out of range of DECIMAL(38,12)" in str(err)
    assert (4, "BilledCost (from 'Billable Points')") in problems(err)
    # the value shown: its size, and the exact amounts it is computed from, no float's digits
    [value] = {p.value for p in err.problems if p.row == 4}
    assert value.startswith("about 1.11e+27 (") and "Billable Points 90000000000000000000" in value
    assert "Price per Point 12345678" in value


def test_computed_amounts_reach_the_range_of_decimal_38_12_exactly(tmp_path):
    """A product of two DECIMAL(38,12) amounts is exact up to 10^26, not only below 10^14 (where
    DuckDB's own DECIMAL(38,24) product stops): a list cost of 2.06 x 10^15 and points x price
    of 1.1 x 10^25 import, to the last place."""

    def recon(header, rows):
        set_value(header, rows, 0, "Quantity", "99999999999999")
        set_value(header, rows, 0, "BillableQuantity", "99999999999999")

    con = duckdb.connect()
    import_reports(con, [edited(RECON, tmp_path / RECON.name, recon)])
    assert con.execute("SELECT ListCost FROM lines WHERE x_SourceRow = 2").fetchone() == (
        Decimal("2059999999999979.4"),
    )

    def vmware(header, rows):
        set_value(header, rows, 2, "Billable Points", "12345678901234.000000000001")
        set_value(header, rows, 2, "Price per Point", "891234567890.123456789012")

    con = duckdb.connect()
    import_reports(con, [edited(VMWARE, tmp_path / "vmware.csv", vmware)])
    with localcontext(prec=60):
        product = Decimal("12345678901234.000000000001") * Decimal("891234567890.123456789012")
        exact = product.quantize(Decimal("1E-12"), rounding=ROUND_HALF_UP)
    assert con.execute(
        "SELECT BilledCost, ListCost FROM lines WHERE x_SourceRow = 4"
    ).fetchone() == (exact, exact)


def test_a_total_out_of_range_names_the_column_and_the_largest_rows(tmp_path):
    rows = cur2.records()
    for i in (1, 5):
        rows[i]["line_item_unblended_cost"] = "90000000000000000000000000"
    err = import_error(cur2.write_csv(tmp_path / "cur2.csv", rows))
    assert "the total of BilledCost (from 'line_item_unblended_cost') is out of range" in str(err)
    assert "Traceback" not in str(err)
    assert {p.row for p in err.problems} >= {3, 7}


# -- the commands ----------------------------------------------------------------------------------


def billing(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BILLING, *args], cwd=cwd, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.mark.slow  # the `billing` command in a process of its own
def test_billing_import_exits_2_on_a_repeated_row(tmp_path):
    header, rows = read_rows(VMWARE)
    bad = write_rows(tmp_path / "vmware.csv", header, [*rows, rows[0]])
    result = billing(tmp_path, "import", str(bad), "--parameters", str(REPO / "parameters"))
    assert result.returncode == 2 and result.stdout == ""
    assert f"error: {bad} (VMware" in result.stderr and "row 16 repeats row 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_billing_import_with_a_period_exits_2_on_a_report_of_another_month(
    tmp_path, monkeypatch, capsys
):
    """What ``billing import`` calls, in this process, in a folder without parameters/ (the test
    above starts the command as a program: a second one would only add its start-up, about a
    CPU-second)."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["import", str(VMWARE), "--period", "2026-11"]) == 2
    err = capsys.readouterr().err
    assert "no line is charged in the run's period 2026-11" in err
    assert "charged in 2026-10" in err and "Traceback" not in err


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def published_state(outputs: Path) -> dict[str, bytes]:
    """The published run folder and the invoice register, byte for byte (a failed ``billing run``
    also leaves its executed notebook, ``.failed-<period>.ipynb``, for the analyst to read)."""
    return {
        **tree(outputs / "2026-10"),
        "invoice_register.sqlite": (outputs / "invoice_register.sqlite").read_bytes(),
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory, sample_outputs):
    """A copy of the project with the session's published sample month in its outputs/; each case
    runs against it."""
    project = copy_project(tmp_path_factory.mktemp("bad-inputs") / "project")
    outputs = Path(shutil.copytree(sample_outputs, project / "outputs"))
    assert (outputs / "invoice_register.sqlite").is_file() and (outputs / "2026-10").is_dir()
    return project, published_state(outputs)


def _reports_with(project: Path, name: str, change) -> Path:
    folder = project / "bad-reports" / name
    shutil.copytree(project / "samples" / "2026-10" / "reports", folder)
    change(folder)
    return folder


def _daily_also_gzipped(folder: Path) -> None:
    _gz(folder / DAILY.name, folder / (DAILY.name + ".gz"))


def _vmware_header_only(folder: Path) -> None:
    path = folder / VMWARE.name
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


def _vmware_of_september(folder: Path) -> None:
    (folder / VMWARE.name).unlink()
    _september_vmware(folder)


def _recon_row_repeated(folder: Path) -> None:
    header, rows = read_rows(folder / RECON.name)
    write_rows(folder / RECON.name, header, [*rows, rows[4]])


def _vmware_negative_price(folder: Path) -> None:
    def edit(header, rows):
        set_value(header, rows, 4, "Price per Point", "-0.8640")

    edited(folder / VMWARE.name, folder / VMWARE.name, edit)


@pytest.mark.parametrize(
    "change, expected",
    [
        (_daily_also_gzipped, f"{DAILY.name}.gz: the same report as "),
        (_vmware_header_only, "no rows; a vendor report for a month has lines"),
        (_vmware_of_september, "no line is charged in the run's period 2026-10"),
        (_recon_row_repeated, "row 21 repeats row 6"),
        (_vmware_negative_price, "contradicting signs"),
    ],
    ids=["gzipped-copy", "header-only", "september", "repeated-row", "signs"],
)
def test_a_run_with_a_bad_report_fails_and_leaves_the_published_run_as_it_was(
    published, change, expected
):
    from billing_lib import run

    project, before = published
    reports = _reports_with(project, change.__name__, change)
    with pytest.raises(BillingError) as err:
        run.run_all("2026-10", reports, project / "parameters", project / "outputs")
    assert expected in str(err.value) and str(reports) in str(err.value)
    assert published_state(project / "outputs") == before
