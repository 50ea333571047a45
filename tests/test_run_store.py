"""The run's store: in memory for a month that fits DuckDB's memory limit, else a database file in
a temporary folder of its own, removed with its connection, when its process ends, or after a
``kill -9`` by the next run (real processes)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from billing_lib import store

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000

#: A process opening the store of a month of 1 GB of reports, saying where its file is, then
#: waiting ``argv[1]`` seconds.
_OWNER = (
    "import sys, time; from billing_lib.store import open_run_store; "
    "con = open_run_store(10**9); con.execute('CREATE TABLE t AS FROM range(9)'); "
    "print(con.execute('SELECT path FROM duckdb_databases() WHERE database_name = "
    "current_database()').fetchone()[0], flush=True); time.sleep(float(sys.argv[1]))"
)


@pytest.fixture
def tmp_dir(tmp_path, monkeypatch):
    """The temporary directory of this process and of the processes it starts: ``tmp_path``;
    DuckDB's memory limit 100MB."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("BILLING_MEMORY_LIMIT", "100MB")
    return tmp_path


def database_file(con) -> str | None:
    return con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()[0]


def test_a_month_within_the_memory_limit_is_stored_in_memory_a_larger_one_in_a_file(tmp_dir):
    small = store.open_run_store(9 * MB)  # 90 MB in memory: within the 100MB limit
    assert database_file(small) is None
    assert small.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "95.3 MiB"
    assert list(tmp_dir.iterdir()) == []

    large = store.open_run_store(11 * MB)
    path = Path(database_file(large))
    assert path.name == store.STORE_FILE and path.parent.parent == tmp_dir
    assert path.parent.name.startswith(f"billing-{store.STORE_KIND}-")
    assert large.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "95.3 MiB"
    # the large month's store keeps the memory it allocated, up to its limit
    kept = (
        "SELECT parse_formatted_bytes(current_setting('block_allocator_memory')), "
        "parse_formatted_bytes(current_setting('allocator_flush_threshold'))"
    )
    limit = "SELECT parse_formatted_bytes(current_setting('memory_limit'))"
    blocks, flush = large.execute(kept).fetchone()
    (memory,) = large.execute(limit).fetchone()
    assert flush == memory and memory - 2**18 <= blocks <= memory  # shown to a tenth of a MiB
    assert small.execute(kept).fetchone() == (0, 128 * 2**20)  # DuckDB's defaults
    large.execute("INSERT INTO lines (x_SourceRow) SELECT range FROM range(1000)")
    assert large.execute("SELECT count(*) FROM lines").fetchone() == (1000,)
    del large
    gc.collect()
    assert not path.parent.exists()  # the folder goes with its connection
    small.close()


def _owner(wait: float) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(wait)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_the_store_file_goes_when_its_process_ends_and_after_a_kill_by_the_next_run(tmp_dir):
    proc, path = _owner(0)
    assert path.name == store.STORE_FILE
    assert proc.wait(60) == 0
    assert proc.stderr is not None and proc.stderr.read() == ""
    assert not path.parent.exists()  # the connection closed, then its folder removed

    proc, path = _owner(60)
    try:
        assert path.is_file()
        store.open_run_store(0).close()  # its process runs: its folder is kept
        assert path.is_file()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    assert path.parent.is_dir()  # a kill -9 runs no clean-up
    next_run = "from billing_lib.store import open_run_store; open_run_store(0)"
    subprocess.run([sys.executable, "-c", next_run], cwd=ROOT, check=True, timeout=60)
    assert not path.parent.exists()
    assert list(tmp_dir.iterdir()) == []


def test_the_store_is_chosen_by_the_bytes_of_the_vendor_reports(tmp_path):
    from billing_lib.importers import files_size, reports_size

    (tmp_path / "cur.csv").write_bytes(b"x" * 700)
    (tmp_path / "cur.parquet").write_bytes(b"x" * 50)
    (tmp_path / "notes.txt").write_bytes(b"x" * 9000)  # no vendor report
    assert reports_size(tmp_path) == 750
    assert reports_size(tmp_path / "missing") == 0  # the import names the folder
    assert files_size([tmp_path / "cur.csv", str(tmp_path / "missing.csv")]) == 700


def test_a_full_disk_under_the_store_is_named_not_blamed_on_a_report(tmp_path, monkeypatch, capsys):
    """A real full file system (a small tmpfs) as the temporary directory of a month stored in a
    database file: the run names the store's file and TMPDIR, not a report as damaged."""
    from billing_lib import cli, run
    from billing_lib.errors import RunError
    from tests.notebook_project import PERIOD, REPO

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "small-tmp"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(disk))
        # the sample month's 0.3 MB of reports as if each byte took a MB in memory
        monkeypatch.setattr(store, "STORE_BYTES_PER_REPORT_BYTE", 10**6)
        br = run.start(
            PERIOD,
            str(REPO / "samples" / PERIOD / "reports"),
            str(REPO / "parameters"),
            str(tmp_path / "outputs"),
        )
        try:
            br.load_parameters()
            with pytest.raises(RunError) as raised:
                br.import_reports()
        finally:
            assert br.lock is not None
            br.lock.release()
        text = str(raised.value)
        assert text.startswith(f"{disk}/billing-{store.STORE_KIND}-")
        assert "the disk is full" in text and "set TMPDIR to a folder on one with room" in text
        assert "download it again" not in text and "--output" not in text
        del br, raised
        gc.collect()
        assert list(disk.iterdir()) == []  # the store's folder went with the run

        # `billing import` of the same reports: the same message, exit status 2
        reports = sorted((REPO / "samples" / PERIOD / "reports").iterdir())
        assert cli.main(["import", *map(str, reports), "--period", PERIOD]) == 2
        said = capsys.readouterr().err
        assert said.startswith(f"error: {disk}/billing-{store.STORE_KIND}-")
        assert "the disk is full" in said and "Traceback" not in said
        gc.collect()
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)


@pytest.mark.parametrize(
    "error",
    [
        'IO Error: Could not write file "/tmp/billing-store-x/store.duckdb": No space left',
        'IO Error: Could not write file "/tmp/billing-store-x/store.duckdb": File too large',
    ],
)
def test_a_failed_write_of_the_store_is_no_fault_of_the_report_being_read(error):
    from billing_lib.importers.engine import _raise_duckdb, unreadable_parquet
    from billing_lib.importers.reader import SourceFile

    parquet = SourceFile("cur.parquet", Path("cur.parquet"), "parquet", (), "utf-8", "")
    exc = duckdb.IOException(error)
    assert not unreadable_parquet(parquet, exc)  # not "damaged, download it again"
    csv = SourceFile("cur.csv", Path("cur.csv"), "csv", (), "utf-8", "")
    with pytest.raises(duckdb.IOException):  # not "cannot be parsed as CSV"
        _raise_duckdb(csv, exc)
    assert unreadable_parquet(parquet, duckdb.IOException("IO Error: Invalid Thrift header"))


def test_a_scratch_connection_keeps_nothing_for_the_next_and_a_forked_process_has_its_own():
    with store.scratch_connection() as con:
        con.execute("CREATE TEMP VIEW rated_lines AS SELECT 1 AS x")
        assert con.execute("SELECT x FROM rated_lines").fetchall() == [(1,)]
        # another user meanwhile: none of it
        with store.scratch_connection() as other, pytest.raises(duckdb.CatalogException):
            other.execute("SELECT * FROM rated_lines")
    with store.scratch_connection() as con:
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM rated_lines")
        assert con.execute("SELECT current_setting('threads')").fetchone() == (
            duckdb.connect().execute("SELECT current_setting('threads')").fetchone()
        )
    kept = store._SCRATCH
    assert kept is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a database of its own, the parent's never touched
        try:
            with store.scratch_connection() as con:
                answer = con.execute("SELECT 42").fetchone()
            inherited = store._INHERITED[-1] is kept[1]
            ok = answer == (42,) and store._SCRATCH is not kept and inherited
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert store._SCRATCH is kept
