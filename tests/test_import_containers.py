"""Every real sample under tests/data/vendor-samples imports (or is refused, as its expected file
says), and the containers vendors ship (CSV.gz, zip, Parquet) read like the plain CSV."""

import gzip
import io
import shutil
import tarfile
import zipfile
import zlib

import duckdb
import pyarrow.parquet as pq
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests import cur2_sample as cur2
from tests.notebook_project import REPO
from tests.sample_totals import SAMPLES, expected, report_totals

SAMPLE_REPORTS = REPO / "samples" / "2026-10" / "reports"
ALL = sorted(
    p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix in (".csv", ".gz", ".zip", ".parquet")
)


def test_the_vendor_samples_are_there():
    """The per-sample test below is parametrised over the folder: without this, a missing folder
    would make it pass by running nothing."""
    assert SAMPLES.is_dir(), (
        f"{SAMPLES}: the vendor samples are missing (set BILLING_VENDOR_SAMPLES)"
    )
    kinds = {p.parent.name for p in ALL}
    assert {"aws-cur", "azure-ea", "focus"} <= kinds and len(ALL) >= 5, ALL
    assert all(expected(p.stem) for p in ALL)


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_every_vendor_sample_matches_its_expected_file(path):
    want = expected(path.stem)
    con = open_store()
    if "error" in want:
        with pytest.raises(InputError) as err:
            import_reports(con, [path], default_currency="USD")
        got = {(p.row, p.column, p.value) for p in err.value.problems}
        assert (want["error"]["row"], want["error"]["column"], want["error"]["value"]) in got
        return
    needs_currency = path.parent.name == "focus"
    [report] = import_reports(con, [path], default_currency="USD" if needs_currency else None)
    assert report_totals(report) == want


def test_gzip_and_zip_read_like_the_plain_csv(tmp_path):
    cur = SAMPLES / "aws-cur" / "cur-legacy-anonymous-2023-11.csv"
    gz = tmp_path / "cur.csv.gz"
    gz.write_bytes(gzip.compress(cur.read_bytes(), mtime=0))
    zipped = tmp_path / "reports.zip"
    azure = SAMPLES / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(cur, "2023-11/cur.csv")
        zf.write(azure, "2023-09/azure.csv")
        zf.writestr("README.txt", "not a report")
    con = open_store()
    [from_gz] = import_reports(con, [gz])
    assert report_totals(from_gz) == expected(cur.stem)
    con = open_store()
    reports = import_reports(con, [zipped])
    assert [r.file for r in reports] == [f"{zipped}!2023-09/azure.csv", f"{zipped}!2023-11/cur.csv"]
    assert [report_totals(r) for r in reports] == [expected(azure.stem), expected(cur.stem)]
    files = {f for (f,) in con.execute("SELECT DISTINCT x_SourceFile FROM lines").fetchall()}
    assert files == {r.file for r in reports}


def test_damaged_containers(tmp_path):
    bad_gz = tmp_path / "cut.csv.gz"
    azure = SAMPLES / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
    data = gzip.compress(azure.read_bytes())
    bad_gz.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.csv.gz: cannot be read"):
        import_reports(open_store(), [bad_gz])
    damaged = tmp_path / "damaged.csv.gz"
    damaged.write_bytes(damaged_deflate_stream(data))
    with pytest.raises(InputError, match="damaged.csv.gz: cannot be read"):
        import_reports(open_store(), [damaged])
    damaged_zip = tmp_path / "damaged.zip"
    damaged_zip.write_bytes(damaged_zip_member(azure.read_bytes() * 20))
    with pytest.raises(InputError, match="damaged.zip!azure.csv: cannot be read from the zip"):
        import_reports(open_store(), [damaged_zip])
    bad_zip = tmp_path / "broken.zip"
    bad_zip.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="broken.zip: not a readable zip archive"):
        import_reports(open_store(), [bad_zip])
    empty_zip = tmp_path / "nothing.zip"
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("notes.txt", "x")
    with pytest.raises(InputError, match="nothing.zip: the zip holds no .csv"):
        import_reports(open_store(), [empty_zip])
    bad_parquet = tmp_path / "bad.parquet"
    bad_parquet.write_bytes(b"PAR1 garbage")
    with pytest.raises(InputError, match="bad.parquet: not a readable Parquet file"):
        import_reports(open_store(), [bad_parquet])


def test_a_compressed_file_under_a_csv_name_is_named_as_what_it_is(tmp_path):
    """An AWS ``-00001.csv.gz`` saved without its ``.gz`` (a browser or S3 client that dropped
    it), or a Parquet or zip file under ``.csv``: refused naming what the bytes are and the name
    to give it, not as UTF-16 text or a non-UTF-8 code page."""
    azure = SAMPLES / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
    renamed = tmp_path / "northwind-00001.csv"
    renamed.write_bytes(gzip.compress(azure.read_bytes(), mtime=0))
    with pytest.raises(InputError, match=r"northwind-00001.csv: gzip-compressed .*\.csv\.gz"):
        import_reports(open_store(), [renamed])
    parquet = cur2.write_parquet(tmp_path / "cur-00001.csv")
    with pytest.raises(InputError, match=r"cur-00001.csv: a Parquet file .*\.parquet"):
        import_reports(open_store(), [parquet])


@pytest.mark.parametrize("name", ["azure.csv.tar.gz", "azure.tar", "azure.csv"])
def test_a_tar_archive_of_a_report_is_named_as_one(tmp_path, name):
    """A report packed with tar (``tar czf``, as a Linux or macOS user sends it): refused as
    UTF-16 text without a byte-order mark, its rows' NUL bytes the tar header's."""
    azure = SAMPLES / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as tf:
        tf.add(azure, arcname=azure.name)
    data = packed.getvalue()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    with pytest.raises(InputError, match=rf"{name}: a tar archive .*unpack it") as err:
        import_reports(open_store(), [path])
    assert "UTF-16" not in str(err.value)


def damaged_deflate_stream(data: bytes) -> bytes:
    """``data`` (gzip) with four bytes overwritten where the deflate stream then breaks (zlib
    raises its own error, not an OSError: a damaged block, not a cut file or a wrong CRC)."""
    for at in range(len(data) // 2, len(data) - 8):
        damaged = data[:at] + b"\xff" * 4 + data[at + 4 :]
        try:
            gzip.decompress(damaged)
        except zlib.error:
            return damaged
        except (OSError, EOFError):
            continue
    raise AssertionError("no damage that breaks the deflate stream")


def damaged_zip_member(text: bytes) -> bytes:
    """A zip of ``text`` as ``azure.csv`` with four bytes of its deflated data overwritten where
    reading the member then raises zlib's own error."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("azure.csv", text)
    data = packed.getvalue()
    for at in range(60, len(data) // 2):
        damaged = data[:at] + b"\xff" * 4 + data[at + 4 :]
        try:
            zipfile.ZipFile(io.BytesIO(damaged)).read("azure.csv")
        except zlib.error:
            return damaged
        except (zipfile.BadZipFile, OSError, EOFError):
            continue
    raise AssertionError("no damage that breaks the member's deflate stream")


def test_a_parquet_file_with_damaged_pages_is_named_and_the_store_left_as_it_was(tmp_path):
    """Its footer reads (the format is recognised), its data pages do not: DuckDB's error came up
    unnamed, or hidden behind the aborted transaction's refusal of the next statement."""
    cur2 = SAMPLE_REPORTS / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
    data = cur2.read_bytes()
    damaged = tmp_path / "damaged.parquet"
    for at in range(200, len(data) // 2, 97):
        damaged.write_bytes(data[:at] + b"\xff" * 8 + data[at + 8 :])
        try:
            pq.read_schema(damaged)
            duckdb.sql(f"SELECT * FROM read_parquet('{damaged}')").fetchall()
        except duckdb.Error:
            break  # the footer reads, a page does not
        except Exception:  # the footer itself is damaged: another case (test_damaged_containers)
            continue
    else:
        raise AssertionError("no damage that breaks a page and keeps the footer")
    con = open_store()
    import_reports(con, [cur2])
    before = con.execute("SELECT count(*), current_setting('disabled_optimizers') FROM lines")
    before = before.fetchall()
    with pytest.raises(InputError, match="damaged.parquet: the Parquet file's data cannot be read"):
        import_reports(con, [damaged])
    after = con.execute("SELECT count(*), current_setting('disabled_optimizers') FROM lines")
    assert after.fetchall() == before


def test_a_forced_format_of_no_known_name_is_refused_naming_them():
    daily = SAMPLE_REPORTS / "ms-daily-rated-usage-G052026103.csv"
    with pytest.raises(InputError, match=r"unknown format 'nope'; expected one of: aws_cur2, "):
        import_reports(open_store(), [daily], fmt="nope")


def test_renamed_copy_of_a_zip_member_is_refused(tmp_path):
    azure = SAMPLES / "azure-ea" / "ea-actual-cost-small-2023-09.csv"
    zipped = tmp_path / "sept.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(azure, "azure.csv")
    copy = tmp_path / "azure-copy.csv"
    shutil.copy(azure, copy)
    con = open_store()
    import_reports(con, [zipped])
    with pytest.raises(InputError, match="already imported as .*sept.zip!azure.csv"):
        import_reports(con, [copy])


def _zip_of(name: str, data: bytes) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return packed.getvalue()


def test_a_zip_in_a_zip_is_read_and_a_third_level_refused(tmp_path):
    """A legacy CUR delivered zipped (``cur.csv.zip``) inside the month's zip was left out of
    ``billing import`` without a word, and out of the run with only a warning."""
    cur = SAMPLES / "aws-cur" / "cur-legacy-anonymous-2023-11.csv"
    month = tmp_path / "month.zip"
    with zipfile.ZipFile(month, "w") as zf:
        zf.writestr("aws/cur.csv.zip", _zip_of("cur.csv", cur.read_bytes()))
    [report] = import_reports(open_store(), [month])
    assert report.file == f"{month}!aws/cur.csv.zip!cur.csv"
    assert report_totals(report) == expected(cur.stem)
    deeper = tmp_path / "deeper.zip"
    with zipfile.ZipFile(deeper, "w") as zf:
        zf.writestr("a.zip", _zip_of("b.zip", _zip_of("cur.csv", cur.read_bytes())))
    with pytest.raises(InputError, match=r"deeper\.zip!a\.zip!b\.zip: a zip in a zip in a zip"):
        import_reports(open_store(), [deeper])
    empty_inside = tmp_path / "empty-inside.zip"
    with zipfile.ZipFile(empty_inside, "w") as zf:
        zf.writestr("aws.zip", _zip_of("notes.json", b"{}"))
    with pytest.raises(InputError, match=r"empty-inside\.zip!aws\.zip: the zip holds no \.csv"):
        import_reports(open_store(), [empty_inside])
