"""A delivery's manifest beside its data files: AWS Data Exports write
``metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` listing the delivery's data files
(``dataFiles``), a legacy CUR ``<report>-Manifest.json`` listing them (``reportKeys``). Given
with the reports, it makes the delivery check exact: a part it lists that is missing (two thirds
of the month never billed) and a data file of its export and month that it does not list (an
older delivery's part left beside) are refused, naming the manifest and the files."""

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.importers.report_names import files_not_read, manifest_files
from billing_lib.store import open_store
from tests import cur2_sample as cur2
from tests.test_cur_deliveries import _billed, _gz, _legacy_parts, _legacy_rows, _renumbered

BUCKET = "s3://northwind-billing/cur/northwind"
ARN = "arn:aws:bcm-data-exports:us-east-1:111122223333:export/northwind-1a2b"
PERIOD = "BILLING_PERIOD=2024-05"


def _data_exports_manifest(path: Path, files: list[str]) -> Path:
    """A Data Exports manifest listing ``files`` (names under the export's data folder) as AWS
    documents its fields: executionId, exportArn, columns, dataFiles (full S3 URIs)."""
    path.write_text(
        json.dumps(
            {
                "executionId": "20240602T0508Z",
                "exportArn": ARN,
                "columns": [{"name": c, "type": "string"} for c in cur2.COLUMNS[:3]],
                "dataFiles": [f"{BUCKET}/data/{PERIOD}/{f}" for f in files],
                "additionalOutputFiles": [],
            }
        ),
        encoding="utf-8",
    )
    return path


def _three_parts(tmp_path: Path, prefix: str = "a") -> list[Path]:
    rows = _renumbered(cur2.records(), prefix)
    return [
        cur2.write_csv(tmp_path / f"northwind-{i:05d}.csv.gz", part)
        for i, part in enumerate((rows[:6], rows[6:12], rows[12:]), 1)
    ]


def test_a_delivery_with_parts_missing_is_refused_naming_the_manifest_and_the_parts(tmp_path):
    parts = _three_parts(tmp_path)
    names = [p.name for p in parts]
    manifest = _data_exports_manifest(tmp_path / "northwind-Manifest.json", names)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [parts[0], manifest], period="2024-05")
    text = str(err.value)
    assert str(manifest) in text
    assert "northwind-00002.csv.gz" in text and "northwind-00003.csv.gz" in text
    assert "2 of the 3 data files it lists" in text
    assert {p.file for p in err.value.problems} == {
        f"{BUCKET}/data/{PERIOD}/northwind-00002.csv.gz",
        f"{BUCKET}/data/{PERIOD}/northwind-00003.csv.gz",
    }
    assert _billed(con) == (0, 0)


def test_a_delivery_with_every_part_its_manifest_lists_imports_the_manifest_not_as_a_report(
    tmp_path,
):
    parts = _three_parts(tmp_path)
    manifest = _data_exports_manifest(tmp_path / "northwind-Manifest.json", [p.name for p in parts])
    con = open_store()
    reports = import_reports(con, [*parts, manifest], period="2024-05")
    assert [r.file for r in reports] == [str(p) for p in parts]
    total = sum(Decimal(r["line_item_unblended_cost"]) for r in cur2.records())
    assert _billed(con) == (len(cur2.ROWS), total)


def test_a_part_of_an_older_delivery_the_manifest_does_not_list_is_refused(tmp_path):
    """Overwrite mode: the restated month came in two parts, the early one in three; the early
    one's -00003 left in the folder has the newer parts' name and layout, so the part numbers
    take it for a part of the same delivery. The manifest lists two."""
    rows = _renumbered(cur2.records(), "n")
    new = [
        cur2.write_csv(tmp_path / "northwind-00001.csv.gz", rows[:9]),
        cur2.write_csv(tmp_path / "northwind-00002.csv.gz", rows[9:]),
    ]
    old = cur2.write_csv(tmp_path / "northwind-00003.csv.gz", _renumbered(cur2.records()[:5], "o"))
    manifest = _data_exports_manifest(tmp_path / "northwind-Manifest.json", [p.name for p in new])
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [*new, old, manifest], period="2024-05")
    text = str(err.value)
    assert f"{old}: a data file of northwind for 2024-05 that its manifest" in text
    assert str(manifest) in text
    assert _billed(con) == (0, 0)
    # without the manifest the part numbers cannot tell: as before, read as one delivery
    import_reports(con, [*new, old], period="2024-05")
    assert _billed(con)[0] == len(rows) + 5


def test_another_export_s_file_beside_the_manifest_is_not_refused(tmp_path):
    parts = _three_parts(tmp_path)
    manifest = _data_exports_manifest(tmp_path / "northwind-Manifest.json", [p.name for p in parts])
    other = _renumbered(cur2.records(), "b")
    for r in other:
        r["bill_payer_account_id"] = "222233334444"
    lumen = cur2.write_csv(tmp_path / "lumen-00001.csv.gz", other)
    con = open_store()
    import_reports(con, [*parts, lumen, manifest], period="2024-05")
    assert _billed(con)[0] == 2 * len(cur2.ROWS)


def test_a_manifest_in_a_zip_picks_the_delivery_it_lists_among_two(tmp_path):
    """Create-new-file mode copied as one zip: two executions' folders and the manifest of the
    latest. The older execution's file is refused by the manifest, naming it."""
    data = f"cur/northwind/data/{PERIOD}"
    early = _gz(_renumbered(cur2.records()[:8], "a"), tmp_path, "early.csv.gz")
    full = _gz(_renumbered(cur2.records(), "b"), tmp_path, "full.csv.gz")
    manifest = _data_exports_manifest(
        tmp_path / "m.json", ["20240602T0508Z/northwind-00001.csv.gz"]
    ).read_bytes()
    archive = tmp_path / "northwind.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"{data}/20240510T0312Z/northwind-00001.csv.gz", early)
        zf.writestr(f"{data}/20240602T0508Z/northwind-00001.csv.gz", full)
        zf.writestr(f"cur/northwind/metadata/{PERIOD}/northwind-Manifest.json", manifest)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [archive], period="2024-05")
    text = str(err.value)
    assert text.startswith(f"{archive}!{data}/20240510T0312Z/northwind-00001.csv.gz: ")
    assert f"{archive}!cur/northwind/metadata/{PERIOD}/northwind-Manifest.json" in text
    assert _billed(con) == (0, 0)


def test_a_legacy_cur_assembly_missing_a_part_is_refused_by_its_manifest(tmp_path):
    rows, header = _legacy_rows()
    month = "cur/northwind/20231101-20231201"
    assembly = f"{month}/7c1e9d03-assembly-2"
    parts = _legacy_parts(rows, header, 3)
    manifest = {
        "assemblyId": "7c1e9d03-assembly-2",
        "account": "111122223333",
        "reportName": "northwind",
        "bucket": "northwind-billing",
        "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        "reportKeys": [f"{assembly}/northwind-{i}.csv.gz" for i in (1, 2, 3)],
    }
    archive = tmp_path / "northwind-legacy.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"{assembly}/northwind-1.csv.gz", parts[0])
        zf.writestr(f"{assembly}/northwind-2.csv.gz", parts[1])
        zf.writestr(f"{month}/northwind-Manifest.json", json.dumps(manifest))
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [archive], period="2023-11")
    text = str(err.value)
    assert f"{archive}!{month}/northwind-Manifest.json" in text
    assert "1 of the 3 data files it lists" in text and "northwind-3.csv.gz" in text
    assert _billed(con) == (0, 0)


def test_a_manifest_that_is_no_readable_json_is_refused_naming_it(tmp_path):
    parts = _three_parts(tmp_path)
    manifest = tmp_path / "northwind-Manifest.json"
    manifest.write_text('{"dataFiles": ["s3://b/northwind-00001.csv.gz"', encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError, match="northwind-Manifest.json: not a delivery manifest"):
        import_reports(con, [*parts, manifest], period="2024-05")


def test_a_manifest_is_read_from_the_reports_folder_not_listed_as_not_read(tmp_path):
    (tmp_path / "northwind-Manifest.json").write_text('{"dataFiles": []}', encoding="utf-8")
    (tmp_path / "settings.json").write_text("{}", encoding="utf-8")
    assert manifest_files(tmp_path) == [tmp_path / "northwind-Manifest.json"]
    assert [name for name, _ in files_not_read(tmp_path)] == ["settings.json"]


def _focus(path: Path, sub_account: str, cost: str) -> Path:
    header = (
        "BilledCost,BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,"
        "ChargeCategory,ChargePeriodStart,ChargePeriodEnd,SubAccountId,ServiceName,ResourceId"
    )
    row = (
        f"{cost},/providers/Microsoft.Billing/billingAccounts/8611537,EUR,2026-10-01T00:00:00Z,"
        f"2026-11-01T00:00:00Z,Usage,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,{sub_account},"
        f"Virtual Machines,/subscriptions/{sub_account}/vm1"
    )
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    return path


def test_two_focus_exports_of_one_billing_account_s_month_are_both_billed(tmp_path):
    """Why FOCUS is not checked by billing account and period: an Azure cost export is made at
    a scope (a subscription, a resource group), so two exports of one billing account's month
    are two halves of it, not two deliveries (docs/formats.md, FOCUS)."""
    a = _focus(tmp_path / "sub-a-focus.csv", "0f6c3a1e-sub-a", "10.00")
    b = _focus(tmp_path / "sub-b-focus.csv", "7d2e9b4f-sub-b", "12.50")
    con = open_store()
    import_reports(con, [a, b], period="2026-10")
    assert _billed(con) == (2, Decimal("22.50"))


def _flag_encrypted(archive: Path, member: str) -> None:
    """Set the "encrypted" flag of ``member`` in its local header and central directory entry
    of ``archive``, as a zip made with a password has it (Python's zipfile writes none)."""
    data = bytearray(archive.read_bytes())
    name = member.encode()
    for signature, flags, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = data.find(signature)
        while at >= 0:
            if data[at + name_at : at + name_at + len(name)] == name:
                data[at + flags] |= 0x01
            at = data.find(signature, at + 1)
    archive.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["a wrong CRC", "encrypted"])
def test_a_manifest_in_a_zip_that_cannot_be_read_is_refused_naming_the_zip_and_member(
    tmp_path, damage
):
    """Its delivery cannot be checked: skipped, -00001 alone of three parts was billed as the
    whole month."""
    rows = _renumbered(cur2.records(), "a")
    part = _gz(rows[:6], tmp_path, "part.csv.gz")
    member = f"cur/northwind/metadata/{PERIOD}/northwind-Manifest.json"
    listed = [f"northwind-{i:05d}.csv.gz" for i in (1, 2, 3)]
    manifest = _data_exports_manifest(tmp_path / "m.json", listed).read_bytes()
    archive = tmp_path / "northwind.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # stored: the manifest's bytes as they are
        zf.writestr(member, manifest)
        zf.writestr(f"cur/northwind/data/{PERIOD}/northwind-00001.csv.gz", part)
    if damage == "encrypted":
        _flag_encrypted(archive, member)
    else:
        archive.write_bytes(archive.read_bytes().replace(b"exportArn", b"exportArm", 1))
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [archive], period="2024-05")
    text = str(err.value)
    assert text.startswith(f"{archive}!{member}: the delivery's manifest cannot be read from ")
    assert "expected" in text and "download" in text
    assert _billed(con) == (0, 0)


# -- Azure Cost Management partitioned exports ----------------------------------------------------

AZURE = (
    Path(__file__).resolve().parent / "data" / "azure-cost-details" / "mpa-actual-cost-2026-10.csv"
)
#: Where a partitioned export's run writes its parts: <directory>/<export>/<from>-<to>/<run id>/.
AZURE_MPA_RUN = (
    "msexports/northwind-mpa-actual/20261001-20261031/7c1e2f3a-0b9d-4e8f-a6c5-d4b3a2918070"
)


def _azure_parts(folder: Path) -> list[Path]:
    """The partner actual-cost export cut into two parts as Cost Management names them
    (part_0_0001.csv with 4 rows, part_1_0001.csv with 5), each with the header."""
    lines = AZURE.read_text(encoding="utf-8").splitlines(keepends=True)
    parts = []
    for name, rows in (("part_0_0001.csv", lines[1:5]), ("part_1_0001.csv", lines[5:])):
        (folder / name).write_text("".join([lines[0], *rows]), encoding="utf-8")
        parts.append(folder / name)
    return parts


def _azure_manifest(folder: Path, parts: list[Path]) -> Path:
    """The manifest.json Cost Management writes beside a partitioned export's parts: the export's
    configuration, the run's dates, and each blob written (blobName, byteCount, dataRowCount)."""
    blobs = [
        {
            "blobName": f"{AZURE_MPA_RUN}/{p.name}",
            "byteCount": p.stat().st_size,
            "dataRowCount": len(p.read_text(encoding="utf-8").splitlines()) - 1,
        }
        for p in parts
    ]
    doc = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(b["byteCount"] for b in blobs),
        "blobCount": len(blobs),
        "dataRowCount": sum(b["dataRowCount"] for b in blobs),
        "exportConfig": {
            "exportName": "northwind-mpa-actual",
            "dataVersion": "2023-12-01-preview",
            "type": "ActualCost",
            "timeFrame": "Custom",
            "granularity": "Daily",
        },
        "deliveryConfig": {"partitionData": True, "fileFormat": "Csv", "compressionMode": "None"},
        "runInfo": {"startDate": "2026-10-01T00:00:00", "endDate": "2026-10-31T00:00:00"},
        "blobs": blobs,
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def test_an_azure_partitioned_export_missing_a_part_is_refused_by_its_manifest(tmp_path):
    """Cost Management cuts a large export into parts (part_0_0001.csv, part_1_0001.csv ...) and
    writes manifest.json beside them listing every blob. The manifest was listed among the files
    not read, and part 0 given alone was billed as the whole month: the 5 rows of part 1 (EUR
    749.43 of purchases, usage and a refund) on no invoice, without a word."""
    parts = _azure_parts(tmp_path)
    manifest = _azure_manifest(tmp_path, parts)
    assert manifest_files(tmp_path) == [manifest]
    assert [name for name, _ in files_not_read(tmp_path)] == []
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [parts[0], manifest], period="2026-10")
    text = str(err.value)
    assert str(manifest) in text and "part_1_0001.csv" in text
    assert "1 of the 2 data files it lists" in text
    assert [p.file for p in err.value.problems] == [f"{AZURE_MPA_RUN}/part_1_0001.csv"]
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)
    # every part given: read as the export, the manifest not as a report
    con = open_store()
    reports = import_reports(con, [*parts, manifest], period="2026-10")
    assert [r.file for r in reports] == [str(p) for p in parts]
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (9,)


#: An Azure Cost Management FOCUS export run, partitioned: ``part_<n>_0001.csv`` beside the
#: run's ``manifest.json`` in ``<export>/<YYYYMMDD-YYYYMMDD>/<run id>/``.
AZURE_RUN = "focus-export/20261001-20261031/7d2c9a10-0000-4000-8000-000000000001"
AZURE_FOCUS = (
    "BilledCost,BillingAccountId,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,"
    "ChargeCategory,ChargePeriodEnd,ChargePeriodStart,ProviderName,SubAccountId\n"
)


def _azure_export(
    tmp_path: Path,
    parts: int = 3,
    subscription: str = "5c0a8e52-31d4-4f6b-9a0e-7d2c3b1a9f01",
    run: str = AZURE_RUN,
) -> tuple[list[Path], Path]:
    """The parts of an Azure export run and its manifest, with the fields Cost Management writes
    and FinOps hubs read (blobCount, blobs[].blobName, exportConfig, runInfo)."""
    folder = tmp_path / run
    folder.mkdir(parents=True)
    paths = []
    for n in range(parts):
        path = folder / f"part_{n}_0001.csv"
        path.write_text(
            AZURE_FOCUS + f"{n + 1}.25,ba1,EUR,2026-11-01T00:00:00Z,2026-10-01T00:00:00Z,Usage,"
            f"2026-10-0{n + 2}T00:00:00Z,2026-10-0{n + 1}T00:00:00Z,Microsoft,"
            f"/subscriptions/{subscription}\n",
            encoding="utf-8",
        )
        paths.append(path)
    manifest = folder / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "manifestVersion": "2024-04-01",
                "blobCount": parts,
                "exportConfig": {
                    "exportName": "focus-export",
                    "resourceId": "/providers/Microsoft.Billing/billingAccounts/ba1/providers/"
                    "Microsoft.CostManagement/exports/focus-export",
                    "dataVersion": "1.0r2",
                    "type": "FocusCost",
                },
                "runInfo": {"startDate": "2026-10-01T00:00:00", "endDate": "2026-10-31T00:00:00"},
                "blobs": [{"blobName": f"exports/{run}/{p.name}"} for p in paths],
            }
        ),
        encoding="utf-8",
    )
    return paths, manifest


def test_an_azure_export_run_missing_a_part_is_refused_by_its_manifest_json(tmp_path):
    """Cost Management partitions an export run and lists its parts in the run's manifest.json
    (blobs). The manifest was not read, "not a vendor report" beside the parts, so a run of three
    parts given two imported as the whole month: a third of it on no invoice."""
    parts, manifest = _azure_export(tmp_path)
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [parts[0], parts[2], manifest], period="2026-10")
    text = str(err.value)
    assert text.startswith(f"{manifest}: 1 of the 3 data files it lists are not among the reports")
    assert "(part_1_0001.csv)" in text
    assert [p.file for p in err.value.problems] == [f"exports/{AZURE_RUN}/part_1_0001.csv"]
    assert _billed(con) == (0, 0)
    reports = import_reports(con, [*parts, manifest], period="2026-10")
    assert [r.file for r in reports] == [str(p) for p in parts]
    assert _billed(con) == (3, Decimal("6.75"))
    assert manifest_files(parts[0].parent) == [manifest]
    assert files_not_read(parts[0].parent) == []


def test_two_azure_export_runs_in_one_zip_are_each_checked_by_their_own_manifest(tmp_path):
    """Two scopes' export runs (two subscriptions) in one zip: each run's parts are named
    part_0_0001.csv ..., so a part one manifest does not list is another scope's, not an older
    run's: both import, and a part missing from either is refused."""
    scopes = {s: f"focus-{s}/20261001-20261031/{s}-run" for s in ("sub-a", "sub-b")}
    archive = tmp_path / "exports.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for scope, run in scopes.items():
            parts, manifest = _azure_export(tmp_path, 2, f"{scope}-0000-4000-8000-1", run)
            for path in [*parts, manifest]:
                zf.write(path, f"{run}/{path.name}")
    con = open_store()
    import_reports(con, [archive], period="2026-10")
    assert _billed(con) == (4, Decimal("7.00"))
    with zipfile.ZipFile(archive) as zf, zipfile.ZipFile(tmp_path / "short.zip", "w") as short:
        for member in zf.namelist():
            if member != f"{scopes['sub-b']}/part_1_0001.csv":
                short.writestr(member, zf.read(member))
    with pytest.raises(InputError, match=r"sub-b/.*manifest\.json: 1 of the 2 data files"):
        import_reports(open_store(), [tmp_path / "short.zip"], period="2026-10")


def test_an_azure_part_cut_short_is_refused_by_its_manifest_s_row_count(tmp_path):
    """A part downloaded short, cut off at a line boundary (the last row of part_1_0001.csv lost
    in the copy), parses as a whole file: its manifest's blobs[].dataRowCount (5, the data rows
    without the header, as Cost Management counts them) was not compared with the rows read (4),
    and the part was billed as whole, the lost row on no invoice."""
    parts = _azure_parts(tmp_path)
    manifest = _azure_manifest(tmp_path, parts)
    text = parts[1].read_text(encoding="utf-8")
    parts[1].write_text(text[: text.rstrip("\n").rfind("\n") + 1], encoding="utf-8")
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [*parts, manifest], period="2026-10")
    text = str(err.value)
    assert text.startswith(f"{parts[1]}: 4 data rows read, but its manifest {manifest} counts 5")
    assert [(p.file, p.value, p.expected) for p in err.value.problems] == [
        (
            str(parts[1]),
            "4 data rows",
            f"5 data rows (dataRowCount of {AZURE_MPA_RUN}/part_1_0001.csv)",
        )
    ]
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (0,)


def test_blank_lines_in_an_azure_part_are_no_data_rows_of_its_manifest_count(tmp_path):
    """A blank line (one left at the end of a part by an editor, one between rows) is no data row
    of the manifest's count, nor a line the import reads: the part matches its dataRowCount."""
    parts = _azure_parts(tmp_path)
    manifest = _azure_manifest(tmp_path, parts)
    lines = parts[0].read_text(encoding="utf-8").splitlines(keepends=True)
    parts[0].write_text("".join([*lines[:2], "\n", *lines[2:], "\n"]), encoding="utf-8")
    con = open_store()
    reports = import_reports(con, [*parts, manifest], period="2026-10")
    assert [r.rows for r in reports] == [4, 5]


def test_an_azure_manifest_whose_row_count_is_no_number_is_refused_naming_the_blob(tmp_path):
    """A dataRowCount that is no whole number (a manifest edited by hand) cannot check its part:
    the manifest is refused naming it and the blob, as one that cannot be read."""
    parts = _azure_parts(tmp_path)
    manifest = _azure_manifest(tmp_path, parts)
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["blobs"][1]["dataRowCount"] = "5"
    manifest.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_reports(open_store(), [*parts, manifest], period="2026-10")
    assert str(err.value).startswith(
        f"{manifest}: blobs[1].dataRowCount of {AZURE_MPA_RUN}/part_1_0001.csv is '5', not a "
        "number of rows"
    )
    assert [(p.column, p.value) for p in err.value.problems] == [("blobs[1].dataRowCount", "'5'")]
