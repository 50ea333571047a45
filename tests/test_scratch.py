"""The temporary folders of a run's process: kept while their process runs, removed by the next
process once it has ended, ``kill -9`` included (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from billing_lib import scratch

ROOT = Path(__file__).resolve().parents[1]

#: A process that makes a folder of kind "t", says where, and waits to be killed.
_OWNER = (
    "import sys, time; from billing_lib.scratch import owned_folder; "
    "print(owned_folder('t'), flush=True); time.sleep(60)"
)


@pytest.fixture
def tmp_dir(tmp_path, monkeypatch):
    """The temporary directory of this process and of the processes it starts: ``tmp_path``."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def _owner() -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _OWNER], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_running_processs_folder_is_kept_and_a_killed_ones_removed(tmp_dir):
    proc, theirs = _owner()
    try:
        (theirs / "rated_lines.parquet").write_bytes(b"x" * 1000)
        mine = scratch.owned_folder("t")  # sweeps: theirs is held
        assert theirs.is_dir() and mine.is_dir() and mine != theirs
        assert not scratch.remove_if_abandoned(mine)  # held by this process
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    again = scratch.owned_folder("t")
    assert not theirs.exists()  # its process was killed: nobody owns it
    assert mine.is_dir() and again.is_dir()  # this process's own stay
    scratch.release(mine)
    scratch.release(again)
    assert list(tmp_dir.iterdir()) == []


def test_only_folders_of_the_kind_with_a_lock_file_are_swept(tmp_dir):
    other_kind = tmp_dir / "billing-u-abc"
    other_kind.mkdir()
    (other_kind / scratch.OWNER_LOCK).touch()  # abandoned, but another kind
    no_lock = tmp_dir / "billing-t-abc"
    no_lock.mkdir()  # being made by another process, or not ours
    with scratch.scratch_folder("t") as folder:
        assert folder.is_dir()
    assert not folder.exists()
    assert other_kind.is_dir() and no_lock.is_dir()
    assert scratch.remove_if_abandoned(other_kind) and not other_kind.exists()


def test_a_rating_run_again_replaces_its_file_and_the_folder_goes_with_the_run(tmp_dir):
    """A notebook's rating cell run twice: the first rated_lines.parquet and its folder are
    removed when the second rating has replaced them, not kept until the kernel ends."""
    from billing_lib import run
    from tests.notebook_project import PERIOD, REPO

    br = run.start(
        PERIOD,
        str(REPO / "samples" / PERIOD / "reports"),
        str(REPO / "parameters"),
        str(tmp_dir / "outputs"),
    )
    try:
        br.load_parameters()
        br.import_reports()
        br.map_customers()
        br.rate()
        first = br.results.rating.rated_file
        assert first is not None and first.is_file()
        lines = br.con.execute("SELECT count(*) FROM rated_lines").fetchall()
        br.rate()
        second = br.results.rating.rated_file
        assert second is not None and second.is_file()
        assert not first.parent.exists()
        assert br.con.execute("SELECT count(*) FROM rated_lines").fetchall() == lines
    finally:
        if br.lock is not None:
            br.lock.release()


def test_a_folder_when_needed_is_made_at_its_first_use_only_and_removed_after(tmp_dir):
    abandoned = tmp_dir / "billing-t-old"
    abandoned.mkdir()
    (abandoned / scratch.OWNER_LOCK).touch()  # its process ended: nobody holds the lock
    with scratch.scratch_when_needed("t") as folder:
        assert not abandoned.exists()  # swept though no folder is made
        assert list(tmp_dir.iterdir()) == []
    with scratch.scratch_when_needed("t") as folder:
        made = folder()
        assert folder() == made and made.is_dir()
    assert list(tmp_dir.iterdir()) == []
