"""What a command killed with ``kill -9`` while writing a file of the outputs folder outside a
staging folder leaves there, and what the next command makes of it: real processes stopped at
the file's ``written:<name>`` point (``billing_lib.faults``, in ``run_files.atomic_target``) and
killed there.

``billing register list --csv`` and ``billing customers sync`` hold no lock of the outputs
folder; each writes its file into a temporary ``.<name>.<hex>.tmp`` beside it and renames it.
Killed in between, the temporary file stayed in the outputs folder for good (no command
removed it), and the sync's proposal, written in place, was left cut short: ``--apply`` then
refused it as "changed since it was written (new exports or parameters)". The next command
writing that file, or any command that locks the outputs folder, removes the temporary file of
a process that is gone and says so; one whose writer's process id runs is named and kept.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from billing_lib import cli
from tests.killed import RUNNER, killed_at, paused_at
from tests.test_bad_inputs_numbering import (
    CUR_HEADER,
    args,
    make_base,
    private_copy,
    run_in_process,
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """As ``test_bad_inputs_numbering``'s: tiny months, 2026-10 published and finalised."""
    return make_base(tmp_path_factory.mktemp("leftovers"))


@pytest.fixture
def case(base, tmp_path) -> Path:
    return private_copy(base, tmp_path)


#: real ``billing`` processes, paused and killed
pytestmark = pytest.mark.slow


def listing(out: Path, csv: Path) -> list[str]:
    return ["register", "list", "--output", str(out), "--csv", str(csv)]


def cleaned(printed: str) -> list[str]:
    return [ln for ln in printed.splitlines() if ln.startswith("cleaned up")]


def left_in(folder: Path, name: str) -> Path:
    """The one temporary file of ``name`` a killed writer left in ``folder``."""
    [left] = folder.glob(f".{name}.*.tmp")
    return left


@pytest.mark.parametrize("then", ["list", "run"])
def test_a_register_list_killed_writing_its_csv_leaves_nothing_the_next_command_keeps(
    case,
    capsys,
    then,
):
    out = case / "outputs"
    csv = out / "register.csv"
    assert cli.main(listing(out, csv)) == 0
    written = csv.read_bytes()
    killed_at("written:register.csv", listing(out, csv), case)
    left = left_in(out, "register.csv")
    assert csv.read_bytes() == written  # the file in place is the earlier one, whole
    capsys.readouterr()
    if then == "list":
        assert cli.main(listing(out, csv)) == 0
    else:
        assert run_in_process(case, "2026-11") == 0
    assert cleaned(capsys.readouterr().out) == [
        f"cleaned up: removed {left.name}: the unfinished register.csv of a command that was killed"
    ]
    assert not list(out.glob(".register.csv.*"))


def test_the_temporary_file_of_a_writer_still_running_is_named_and_kept(case, capsys):
    """A run cleaning the outputs folder while ``billing register list --csv`` writes into it
    (it takes no lock) must not remove the file in the writing: its writer's process runs."""
    out = case / "outputs"
    csv = out / "register.csv"
    with paused_at("written:register.csv", listing(out, csv), case) as proc:
        left = left_in(out, "register.csv")
        capsys.readouterr()
        assert run_in_process(case, "2026-11") == 0
        assert cleaned(capsys.readouterr().out) == [
            f"cleaned up: left {left.name}: the unfinished register.csv of process {proc.pid}, "
            "which is running (it may be writing it now); remove it by hand once no billing "
            "command runs"
        ]
        assert left.is_file()
        os.kill(proc.pid, signal.SIGKILL)
    assert run_in_process(case, "2026-12") == 0
    assert cleaned(capsys.readouterr().out) == [
        f"cleaned up: removed {left.name}: the unfinished register.csv of a command that was killed"
    ]


@pytest.mark.parametrize("then", ["sync", "run"])
def test_a_customers_sync_killed_writing_its_proposal_leaves_no_half_proposal(
    case,
    capsys,
    then,
):
    """The proposal was written in place: killed while writing it, it was cut short. Now it is
    either not there or whole, and the temporary file is removed by the next sync or run."""
    out = case / "outputs"
    reports = case / "sync-reports"
    reports.mkdir()
    (reports / "cur.csv").write_text(
        CUR_HEADER + "2026-11-9,999999999999,123456789012,Usage,2026-11-02T00:00:00Z,"
        "2026-11-02T01:00:00Z,AmazonEC2,1.25,USD\n"
    )
    sync = ["customers", "sync", "--period", "2026-11", "--reports", str(reports)]
    sync += ["--parameters", str(case / "parameters"), "--output", str(out)]
    diff = "customers-sync-2026-11.diff"
    killed_at(f"written:{diff}", sync, case)
    left = left_in(out, diff)
    assert not (out / diff).exists()
    capsys.readouterr()
    if then == "sync":
        assert cli.main(sync) == 0
        assert "123456789012" in (out / diff).read_text(encoding="utf-8")
    else:
        assert run_in_process(case, "2026-11") == 0
    assert cleaned(capsys.readouterr().out) == [
        f"cleaned up: removed {left.name}: the unfinished {diff} of a command that was killed"
    ]
    assert not list(out.glob(f".{diff}.*"))


def test_the_register_list_names_a_run_folder_a_killed_rerun_moved_aside(case, capsys):
    """A rerun of 2026-11 killed once it had moved the published 2026-11/ aside
    (``.replaced-2026-11-*``) and before its own folder was in place: the outputs folder had no
    2026-11/ while ``billing register list`` listed the month's numbers as issued, saying only
    that the rerun's planned numbers were not used. It names where the month's folder is and
    that the next command puts it back."""
    out = case / "outputs"
    assert run_in_process(case, "2026-11") == 0
    argv = args(case, "2026-11")
    killed_at("old-run-moved-aside", argv, case, RUNNER)
    assert not (out / "2026-11").exists()
    [aside] = out.glob(".replaced-2026-11-*")
    capsys.readouterr()
    assert cli.main(["register", "list", "--output", str(out)]) == 0
    assert (
        f"moved aside: 2026-11/, whose invoices hold NW2026-000010 to NW2026-000018 (9 "
        f"numbers), is {aside.name} (a run of 2026-11 was killed while replacing it); the "
        f"next billing command on {out} puts it back"
    ) in capsys.readouterr().out.splitlines()
    assert run_in_process(case, "2026-12") == 0
    assert (out / "2026-11").is_dir() and not aside.exists()


def test_the_register_list_names_what_killed_commands_left_and_who_removes_it(case, capsys):
    """``billing register list`` is read only: a run killed once it had numbered left its staging
    folder, and a list killed while writing its CSV a temporary file, in the outputs folder;
    the listing said nothing of either, so an analyst looking in the folder found files no
    command explained. It names each and that the next command removes it; that command does."""
    out = case / "outputs"
    killed_at("numbers-planned", args(case, "2026-11"), case, RUNNER)
    killed_at("written:register.csv", listing(out, out / "register.csv"), case)
    [staging] = out.glob(".staging-2026-11-*")
    left = left_in(out, "register.csv")
    capsys.readouterr()
    assert cli.main(["register", "list", "--output", str(out)]) == 0
    printed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("left by")]
    assert printed == [
        f"left by a killed command: {staging.name} (the unfinished files of a killed run); the "
        f"next billing command on {out} removes it",
        f"left by a killed command: {left.name} (the unfinished register.csv of a killed "
        f"command); the next billing command on {out} removes it",
    ]
    assert staging.is_dir() and left.is_file()  # read only
    assert run_in_process(case, "2026-11") == 0
    assert len(cleaned(capsys.readouterr().out)) == 2
    assert cli.main(["register", "list", "--output", str(out)]) == 0
    assert "left by" not in capsys.readouterr().out
