"""Invoice numbers under concurrency, kill -9 and lost files, with real processes (issue 9).

Each case starts real runs (``tests/numbering_runner.py``: the notebook's steps in one process;
``billing run`` and ``billing credit-note`` themselves where the command is what is tested),
stops them at a named point (``billing_lib.faults``) and kills them with SIGKILL, or starts two at
once. It asserts the exit status, that the message names what it should, and that the published
run folders and the register are as they were (byte for byte; in content where a killed run had
begun publishing and the register holds its plan), and that the next run gives the series with
no gap and no number twice.

The months are tiny (five AWS lines plus the sample reseller's fees: nine invoices), so a run
takes a second or two of CPU. The runs and credit notes a case pauses or kills are forked from a
process that imported billing_lib once (``tests/forked.py``): processes of their own that start
without importing it again; ``billing run`` (with its notebook kernel) is the installed command,
started as a new program.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from billing_lib import cli, cli_corrections, cli_runs, locking
from billing_lib.corrections import issue_credit_note
from billing_lib.errors import RunError
from billing_lib.finalising import finalise_published
from billing_lib.numbering import open_register
from billing_lib.publishing import REGISTER
from billing_lib.reissue import reissue_invoice
from tests import forked, numbering_runner
from tests.console_scripts import BILLING
from tests.read_only import read_only

REPO = Path(__file__).resolve().parents[1]
LOCK = ".billing.lock"
CUR_HEADER = (
    "identity/LineItemId,bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,"
    "lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,lineItem/UnblendedCost,"
    "lineItem/CurrencyCode\n"
)
#: AWS accounts of parameters/accounts.csv (C001, C002, C004, C006, C008)
ACCOUNTS = ("402719385610", "518204736291", "630917254842", "741852963014", "852963741025")
PERIODS = ("2026-10", "2026-11", "2026-12")

#: real processes started, paused at named points and killed: about a minute in all
pytestmark = pytest.mark.slow


# -- the outputs folder of a test, and what is in it ------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Parameters (the sample reseller's, with USD rates for November and December), a tiny
    report per month, and outputs/ with 2026-10 published and finalised."""
    return make_base(tmp_path_factory.mktemp("numbering"))


def make_base(root: Path) -> Path:
    """``root`` made the ``base`` fixture's folder."""
    params = shutil.copytree(
        REPO / "parameters", root / "parameters", ignore=shutil.ignore_patterns("local")
    )
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-12-31,test rate\n")
    for period in PERIODS:
        folder = root / "reports" / period
        folder.mkdir(parents=True)
        rows = [
            f"{period}-{i},999999999999,{a},Usage,{period}-0{i + 1}T00:00:00Z,"
            f"{period}-0{i + 1}T01:00:00Z,AmazonEC2,{10 + i}.25,USD\n"
            for i, a in enumerate(ACCOUNTS)
        ]
        (folder / "cur.csv").write_text(CUR_HEADER + "".join(rows))
    code = run_in_process(root, "2026-10", "--finalise")
    assert code == 0
    return root


def private_copy(base: Path, tmp_path: Path) -> Path:
    """A copy of ``base`` in ``tmp_path``, for one test to change."""
    root = tmp_path / "case"
    shutil.copytree(base, root)
    return root


@pytest.fixture
def case(base, tmp_path) -> Path:
    """A private copy of the base: ``case / "outputs"`` is the folder the runs share."""
    return private_copy(base, tmp_path)


@pytest.fixture(scope="module")
def base_with_november(base, tmp_path_factory) -> Path:
    """The base with 2026-11 published too (not finalised): billed once for the tests that start
    from a second run folder in place, instead of once in each."""
    root = private_copy(base, tmp_path_factory.mktemp("numbering-november"))
    assert run_in_process(root, "2026-11") == 0
    return root


@pytest.fixture
def case_with_november(base_with_november, tmp_path) -> Path:
    """A private copy of ``base_with_november``."""
    return private_copy(base_with_november, tmp_path)


def args(root: Path, period: str, *extra: str) -> list[str]:
    return [
        period,
        str(root / "reports" / period),
        str(root / "parameters"),
        str(root / "outputs"),
        *extra,
    ]


def run_in_process(root: Path, period: str, *extra: str) -> int:
    """A run in this process (its lock released at the end); its exit status."""
    return numbering_runner.main(args(root, period, *extra))


def start_run(
    root: Path,
    period: str,
    *extra: str,
    pause: str | None = None,
    resume: Path | None = None,
    marker: str = "paused",
) -> forked.Forked:
    """A run in its own process, stopping at ``pause`` (see ``wait_paused``; ``marker``: the
    file in ``root`` it writes there, one per run when two pause at once)."""
    return forked_start("runner", args(root, period, *extra), root, pause, resume, marker)


def environment(
    root: Path, pause: str | None = None, resume: Path | None = None, marker: str = "paused"
) -> dict[str, str]:
    """This environment with the pause point asked for (billing_lib.faults), and no other."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for key in ("BILLING_PAUSE_AT", "BILLING_PAUSE_MARKER", "BILLING_PAUSE_RESUME"):
        env.pop(key, None)
    if pause:
        env["BILLING_PAUSE_AT"] = pause
        env["BILLING_PAUSE_MARKER"] = str(root / marker)
    if resume:
        env["BILLING_PAUSE_RESUME"] = str(resume)
    return env


def forked_start(
    target: str,
    argv: list[str],
    root: Path,
    pause: str | None = None,
    resume: Path | None = None,
    marker: str = "paused",
) -> forked.Forked:
    """``numbering_runner.main(argv)`` ("runner") or ``billing`` with ``argv`` ("billing") in a
    process forked from one that imported billing_lib."""
    env = environment(root, pause, resume, marker)
    proc = forked.start(target, argv, REPO, env, root.parent / f"{root.name}-logs")
    STARTED.append(proc)
    return proc


def start(
    cmd: list[str],
    root: Path,
    pause: str | None = None,
    resume: Path | None = None,
    marker: str = "paused",
) -> subprocess.Popen:
    """``cmd`` as a new program."""
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=environment(root, pause, resume, marker),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    STARTED.append(proc)
    return proc


#: every process a test started: killed after the test if still alive (a failed assertion must
#: not leave a paused run behind)
STARTED: list[subprocess.Popen | forked.Forked] = []


@pytest.fixture(scope="module", autouse=True)
def _fork_server():
    forked.preload(["tests.numbering_runner", "billing_lib.cli"])
    yield
    forked.stop()


@pytest.fixture(autouse=True)
def _no_process_left():
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def wait_paused(
    proc: subprocess.Popen | forked.Forked, root: Path, timeout: float = 300, marker: str = "paused"
) -> int:
    """The pid that reached the pause point (the run's, or the notebook kernel's)."""
    marker_file = root / marker
    deadline = time.monotonic() + timeout
    while not marker_file.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (status {proc.returncode}) before the pause:\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the run did not reach the pause point")
        time.sleep(0.05)
    return int(marker_file.read_text())


def kill9(proc: subprocess.Popen | forked.Forked) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def tree(output: Path) -> dict[str, bytes]:
    """Every file of the outputs folder but the register and the lock file."""
    return {
        str(p.relative_to(output)): p.read_bytes()
        for p in sorted(output.rglob("*"))
        if p.is_file() and p.name not in (REGISTER, LOCK)
    }


def published(output: Path) -> dict[str, bytes]:
    """The published run folders and credit notes (no hidden leftovers)."""
    return {
        k: v for k, v in tree(output).items() if not any(s.startswith(".") for s in k.split("/"))
    }


def register_bytes(output: Path) -> bytes:
    return (output / REGISTER).read_bytes()


def content(output: Path) -> dict[str, list]:
    """What the register says (timestamps left out)."""
    with sqlite3.connect(output / REGISTER) as db:
        return {
            "numbers": db.execute(
                "SELECT invoice_number, kind, period, customer_id, refers_to, status, issue_date, "
                "note FROM numbers ORDER BY series, number"
            ).fetchall(),
            "series": db.execute("SELECT * FROM series ORDER BY 1").fetchall(),
            "finalised": db.execute("SELECT period FROM finalised_periods ORDER BY 1").fetchall(),
            "publishing": db.execute("SELECT run_id, target FROM publishing").fetchall(),
        }


def issued(output: Path, series: str = "NW2026") -> list[tuple[str, str, str]]:
    """(number, period, customer) of the series, checked: numbered 1, 2, 3, ... with no gap,
    none void, none twice, each on the published invoices of its period."""
    numbers = [r for r in content(output)["numbers"] if r[0].startswith(series + "-")]
    assert [r[0] for r in numbers] == [f"{series}-{i:06d}" for i in range(1, len(numbers) + 1)]
    assert all(r[5] != "void" for r in numbers)
    rows = [(n, p, c) for n, kind, p, c, refers, *_ in numbers if kind == "invoice" and not refers]
    for n, kind, p, c, refers, *_ in numbers:  # an invoice replacing a credited one
        if kind == "invoice" and refers:
            reissue = _manifest(output / "corrections" / n)
            assert (reissue["invoice"], reissue["period"], reissue["customer_id"]) == (n, p, c)
    for period in {p for _, p, _ in rows}:
        on_invoices = sorted(
            (i["invoice_number"], i["customer_id"]) for i in _manifest(output / period)["invoices"]
        )
        assert on_invoices == sorted((n, c) for n, p, c in rows if p == period)
    return rows


def _manifest(folder: Path) -> dict:
    import json

    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def numbers_of(output: Path, period: str) -> list[str]:
    return sorted(i["invoice_number"] for i in _manifest(output / period)["invoices"])


# -- two runs at once ----------------------------------------------------------------------------


def test_two_runs_started_at_once_one_refuses_naming_the_holder_and_no_number_is_twice(case):
    out = case / "outputs"
    # both wait just before asking for the lock, then ask at the same moment: however slowly
    # either process started, neither can finish before the other asks
    go = case / "go"
    a = start_run(case, "2026-11", pause="lock-asked", resume=go, marker="a-waits")
    b = start_run(case, "2026-12", pause="lock-asked", resume=go, marker="b-waits")
    wait_paused(a, case, marker="a-waits")
    wait_paused(b, case, marker="b-waits")
    go.touch()
    (_, a_err), (_, b_err) = a.communicate(timeout=300), b.communicate(timeout=300)
    codes = {a.pid: a.returncode, b.pid: b.returncode}
    assert sorted(codes.values()) == [0, 2], (a_err, b_err)
    winner, loser_err = (a, b_err) if a.returncode == 0 else (b, a_err)
    assert f"{out.resolve()}: another billing run is using this outputs folder" in loser_err
    assert f"pid {winner.pid} " in loser_err and "--wait SECONDS" in loser_err
    rows = issued(out)
    assert len(rows) == len({n for n, _, _ in rows}) == 18  # 2026-10 and the winner's month


def test_a_second_run_refuses_at_once_and_one_asked_to_wait_runs_after(case, capsys):
    out = case / "outputs"
    resume = case / "resume"
    first = start_run(case, "2026-11", pause="numbers-planned", resume=resume)
    wait_paused(first, case)
    before, register = tree(out), register_bytes(out)
    # the first holds the folder with its numbers planned and its files staged
    capsys.readouterr()
    assert run_in_process(case, "2026-12") == 2  # this process is the second run
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {out.resolve()}: another billing run is using this outputs folder: "
        f"pid {first.pid} on "
    )
    assert "command: billing_run notebook, period 2026-11" in err
    assert tree(out) == before and register_bytes(out) == register  # its staging untouched
    # the run asked to wait finds the folder held and waits (stopped there until the first goes
    # on: it cannot have refused, nor have got the lock)
    waiting = start_run(
        case, "2026-12", "--wait", "300", pause="lock-waiting", resume=resume, marker="waiting"
    )
    wait_paused(waiting, case, marker="waiting")
    assert waiting.poll() is None
    resume.touch()
    assert first.wait(timeout=300) == 0 and waiting.wait(timeout=300) == 0
    issued(out)
    assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(10, 19)]
    assert numbers_of(out, "2026-12") == [f"NW2026-{i:06d}" for i in range(19, 28)]


def test_deleting_the_lock_file_while_a_run_holds_the_folder_lets_no_second_run_start(
    case, capsys, monkeypatch
):
    """A clean-up deleting ``.billing.lock`` while a run held it: the lock was a flock on that
    file, so the next run created a new one, locked it and ran at the same time (removing the
    first run's staging folder as a killed run's). The lock is on the folder itself now. (The
    refused commands here, in this process, wait 0.1 s, not a second, for the holder's text: the
    paused holder never writes it again.)"""
    monkeypatch.setattr(locking, "HOLDER_TEXT_SECONDS", 0.1)
    out = case / "outputs"
    resume = case / "resume"
    first = start_run(case, "2026-11", pause="numbers-planned", resume=resume)
    wait_paused(first, case)
    (out / LOCK).unlink()
    before, register = tree(out), register_bytes(out)
    capsys.readouterr()
    assert run_in_process(case, "2026-12") == 2
    err = capsys.readouterr().err
    assert f"error: {out.resolve()}: another billing run is using this outputs folder" in err
    assert f"holder unknown: its text, {LOCK}, was deleted while it held the folder" in err
    assert cli.main(credit_note(out)[1:]) == 2  # nor a credit note
    assert "another billing run is using this outputs folder" in capsys.readouterr().err
    assert tree(out) == before and register_bytes(out) == register  # its staging untouched
    resume.touch()
    assert first.wait(timeout=300) == 0
    assert run_in_process(case, "2026-12") == 0
    issued(out)
    assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(10, 19)]
    assert numbers_of(out, "2026-12") == [f"NW2026-{i:06d}" for i in range(19, 28)]


# -- kill -9 -------------------------------------------------------------------------------------

BEFORE_THE_FOLDER_IS_IN_PLACE = ("locked", "numbers-planned", "publishing-begun")


@pytest.mark.parametrize(
    ("point", "cleaned"),
    [
        ("locked", []),
        ("numbers-planned", ["removed .staging-2026-11-"]),
        (
            "publishing-begun",
            [
                "dropped the planned numbers of a run killed before 2026-11/ was in place",
                "removed .staging-2026-11-",
            ],
        ),
        ("run-moved-in", ["recorded the numbers of 2026-11/ in the register"]),
        ("numbers-recorded", []),
    ],
)
def test_a_run_killed_at_any_point_leaves_no_gap_and_the_next_run_reuses_its_numbers(
    case, capsys, point, cleaned
):
    out = case / "outputs"
    before, register, said = published(out), register_bytes(out), content(out)
    proc = start_run(case, "2026-11", pause=point)
    wait_paused(proc, case)
    kill9(proc)
    if point in BEFORE_THE_FOLDER_IS_IN_PLACE:
        assert published(out) == before  # no 2026-11 folder, 2026-10 untouched
        if point == "publishing-begun":  # the plan waits in the register for the next run
            assert {**content(out), "publishing": []} == said
            assert len(content(out)["publishing"]) == 1
            capsys.readouterr()
            assert cli.main(["register", "list", "--output", str(out)]) == 0
            assert (
                "planned, not used: NW2026-000010 to NW2026-000018 (9 numbers), by a run killed "
                "before 2026-11/ was in place"
            ) in capsys.readouterr().out
        else:
            assert register_bytes(out) == register
        expected = [f"NW2026-{i:06d}" for i in range(10, 19)]
    else:  # the killed run's folder is in place: its numbers are the ones to keep
        expected = numbers_of(out, "2026-11")
        assert {k: v for k, v in published(out).items() if k.startswith("2026-10")} == before
    capsys.readouterr()
    assert run_in_process(case, "2026-11") == 0  # the lock died with the killed process
    printed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("cleaned up")]
    assert len(printed) == len(cleaned) and all(
        line.startswith(f"cleaned up: {text}") for line, text in zip(printed, cleaned, strict=True)
    ), printed
    assert numbers_of(out, "2026-11") == expected
    issued(out)
    assert content(out)["publishing"] == []
    assert not [p.name for p in out.iterdir() if p.name.startswith((".staging", ".replaced"))]


def test_the_register_list_names_the_numbers_of_a_run_killed_while_publishing(case, capsys):
    """Killed once its folder was in place, a run's numbers are on published invoices and not
    yet in the register (the next command records them). ``billing register list``, read only,
    listed the series up to the number before them, "none missing", and nothing of 2026-11/."""
    out = case / "outputs"
    proc = start_run(case, "2026-11", pause="run-moved-in")
    wait_paused(proc, case)
    kill9(proc)
    run_id = _manifest(out / "2026-11")["run_id"]
    capsys.readouterr()
    assert cli.main(["register", "list", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "NW2026: NW2026-000001 to NW2026-000009, 9 numbers, 0 void, none missing" in printed
    assert (
        "not recorded yet: NW2026-000010 to NW2026-000018 (9 numbers), on the invoices of "
        f"2026-11/ (run {run_id}), published by a run killed before the register recorded "
        f"them; the next billing command on {out} records them"
    ) in printed
    assert run_in_process(case, "2026-12") == 0
    capsys.readouterr()
    assert cli.main(["register", "list", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "not recorded yet" not in printed
    assert "NW2026: NW2026-000001 to NW2026-000027, 27 numbers, 0 void, none missing" in printed


def test_a_run_killed_before_publishing_leaves_no_gap_for_the_next_month(case):
    out = case / "outputs"
    proc = start_run(case, "2026-11", pause="numbers-planned")
    wait_paused(proc, case)
    kill9(proc)
    assert run_in_process(case, "2026-12") == 0
    assert run_in_process(case, "2026-11") == 0
    assert numbers_of(out, "2026-12") == [f"NW2026-{i:06d}" for i in range(10, 19)]
    assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(19, 28)]
    issued(out)


def test_a_rerun_killed_while_replacing_the_earlier_run_gets_it_back_byte_for_byte(
    case_with_november, capsys
):
    case = case_with_november
    out = case / "outputs"
    before, said = published(out), content(out)
    proc = start_run(case, "2026-11", pause="old-run-moved-aside")
    wait_paused(proc, case)
    kill9(proc)
    assert not (out / "2026-11").exists()
    assert len(list(out.glob(".replaced-2026-11-*"))) == 1
    capsys.readouterr()
    assert run_in_process(case, "2026-12") == 0
    printed = capsys.readouterr().out
    assert "cleaned up: put back 2026-11/ from .replaced-2026-11-" in printed
    assert "cleaned up: dropped the planned numbers of a run killed before 2026-11/" in printed
    assert {k: v for k, v in published(out).items() if not k.startswith("2026-12")} == before
    assert [r for r in content(out)["numbers"] if r[2] != "2026-12"] == said["numbers"]
    assert numbers_of(out, "2026-12") == [f"NW2026-{i:06d}" for i in range(19, 28)]
    issued(out)


def test_an_earlier_run_folder_that_could_not_be_removed_is_never_put_back_for_another(
    case_with_november, capsys, monkeypatch
):
    """A rerun removes the earlier run folder it replaced once its own is in place; a file
    there that cannot be deleted (read-only, held open on a network share) left the folder
    as ``.replaced-<period>-*``, silently, and every later command said it "removed" it. A
    rerun killed while replacing the month later left two such folders, and the next command
    put back the first by name: the half-removed run of before, not the run the killed one
    had moved aside (which it then removed)."""
    from billing_lib import publishing

    case = case_with_november
    out = case / "outputs"
    # the name the earlier folder gets is random; this one sorts before any other
    monkeypatch.setattr(publishing, "secrets", type("S", (), {"token_hex": lambda n: "00" * n}))
    undeletable = read_only(out / "2026-11" / "invoices")
    undeletable.__enter__()
    try:
        assert run_in_process(case, "2026-11") == 0  # its earlier folder cannot all be removed
        monkeypatch.undo()
        (left,) = [p for p in out.glob(".*-2026-11-*") if p.is_dir()]
        before, said = published(out), content(out)
        proc = start_run(case, "2026-11", pause="old-run-moved-aside")
        wait_paused(proc, case)
        kill9(proc)
        capsys.readouterr()
        assert run_in_process(case, "2026-12") == 0
        printed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("cleaned")]
    finally:  # writable again, wherever the folder went
        for folder in [*out.glob("*/invoices"), *out.glob(".*/invoices")]:
            undeletable.path = folder
            undeletable.__exit__()
    assert any(
        ln.startswith("cleaned up: put back 2026-11/ from .replaced-2026-11-") for ln in printed
    )
    assert not any(f"removed {left.name}" in ln for ln in printed), printed
    assert any(left.name in ln and "cannot be removed" in ln for ln in printed), printed
    assert {k: v for k, v in published(out).items() if not k.startswith("2026-12")} == before
    assert [r for r in content(out)["numbers"] if r[2] != "2026-12"] == said["numbers"]
    issued(out)


def test_billing_run_killed_frees_the_lock_and_the_next_run_gets_the_same_numbers(case):
    """The command itself: it holds the lock while its notebook kernel builds the invoices."""
    out = case / "outputs"
    before, register = published(out), register_bytes(out)
    proc = start(
        [
            BILLING,
            "run",
            "--quiet",
            "--period",
            "2026-11",
            "--reports",
            str(case / "reports" / "2026-11"),
            "--parameters",
            str(case / "parameters"),
            "--output",
            str(out),
        ],
        case,
        pause="numbers-planned",
    )
    kernel = wait_paused(proc, case)
    assert kernel != proc.pid  # the kernel planned the numbers; the command holds the lock
    kill9(proc)
    try:
        assert published(out) == before and register_bytes(out) == register
        assert run_in_process(case, "2026-11") == 0  # at once: the lock died with the command
        assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(10, 19)]
        issued(out)
    finally:  # the kernel ends by itself when its parent is gone; make sure
        with contextlib.suppress(ProcessLookupError):
            os.kill(kernel, signal.SIGKILL)


def children_of(pid: int) -> list[int]:
    """The pids of the live processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (name) state ppid ...": the name may hold spaces, so split after its ")"
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def test_a_run_killed_while_forked_writers_write_its_workbooks_frees_the_lock(case):
    """A month of many invoices has its workbooks written by forked processes (``workbooks``),
    which inherit the open outputs folder and with it the flock: killed then, the run left
    them holding the lock (idle, waiting for work that never came), and every later run was
    refused naming the dead run's pid, until someone found and killed them."""
    out = case / "outputs"
    before, register = published(out), register_bytes(out)
    proc = start_run(case, "2026-11", "--writer-processes", "2", pause="writers-forked")
    wait_paused(proc, case)
    writers = children_of(proc.pid)
    assert len(writers) == 2
    kill9(proc)
    try:
        assert published(out) == before and register_bytes(out) == register
        assert run_in_process(case, "2026-11") == 0  # at once: no orphan holds the folder
        assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(10, 19)]
        issued(out)
        deadline = time.monotonic() + 10  # the writers end with their run
        while any(Path(f"/proc/{w}").exists() for w in writers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in writers if Path(f"/proc/{w}").exists()]
    finally:
        for writer in writers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(writer, signal.SIGKILL)


# -- the register lost or read-only --------------------------------------------------------------


def test_a_lost_register_is_refused_rebuilt_from_the_run_folders_and_the_series_continues(
    case, capsys
):
    out = case / "outputs"
    issue_credit_note(out, "NW2026-000002", None, "Wrong price plan")
    said = content(out)
    (out / REGISTER).unlink()
    before = tree(out)
    capsys.readouterr()
    assert run_in_process(case, "2026-11") == 2
    err = capsys.readouterr().err
    assert f"error: {out / REGISTER}: the invoice register does not know what these run" in err
    assert "2026-10/: NW2026-000001 (C001) is not in the register" in err
    assert "2026-10/ is finalised; the register does not have it so" in err
    assert "corrections/NWC2026-000001/: credit note NWC2026-000001 (corrects NW2026-000002)" in err
    assert f"billing register rebuild --output {out}" in err
    assert tree(out) == before and not (out / REGISTER).exists()
    assert cli.main(credit_note(out)[1:]) == 2  # nor a credit note
    assert f"billing register rebuild --output {out}" in capsys.readouterr().err
    assert tree(out) == before and not (out / REGISTER).exists()

    assert cli.main(["register", "rebuild", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        f"rebuilt {out / REGISTER} from 1 run folders and 1 credit notes (finalised: 2026-10)"
        in printed
    )
    assert "NW2026: NW2026-000001 to NW2026-000009 (9 numbers, 0 void)" in printed
    assert "NWC2026: NWC2026-000001 to NWC2026-000001 (1 numbers, 0 void)" in printed
    assert content(out) == said
    assert run_in_process(case, "2026-11") == 0
    assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(10, 19)]
    issued(out)


@pytest.mark.parametrize("damage", ["cut short", "text that is no UTF-8"])
def test_a_damaged_register_is_rebuilt_as_its_message_says(case, capsys, damage):
    """A damaged register is "not a readable invoice register ...; rebuild it from the run
    folders: billing register rebuild"; the rebuild refused it with that same message (it read
    the earlier register to keep a copy), so the way out led back to itself."""
    out = case / "outputs"
    issue_credit_note(out, "NW2026-000002", None, "Wrong price plan")
    said = content(out)
    path = out / REGISTER
    if damage == "cut short":
        damaged = path.read_bytes()[:5000]
        path.write_bytes(damaged)
    else:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE numbers SET customer_id = CAST(X'89FF' AS TEXT) WHERE rowid = 2")
        damaged = path.read_bytes()
    capsys.readouterr()
    assert run_in_process(case, "2026-11") == 2
    err = capsys.readouterr().err
    assert f"{path}: not a readable invoice register" in err
    assert f"billing register rebuild --output {out}" in err
    assert cli.main(["register", "rebuild", "--output", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert (
        "the earlier register (not readable) is kept as invoice_register.sqlite.before" in printed
    )
    (kept,) = out.glob(f"{REGISTER}.before-rebuild-*")
    assert kept.read_bytes() == damaged  # kept as it was
    assert content(out) == said
    assert run_in_process(case, "2026-11") == 0
    assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(10, 19)]
    issued(out)


def test_a_register_that_is_a_folder_is_named_so_by_every_command_and_the_rebuild(case, capsys):
    """The register's path holding a folder (a copy or an unzip that made one of it): every
    command said the register "does not know what these run folders hold" and sent the user to
    ``billing register rebuild``, which failed with "unable to open database file"."""
    out = case / "outputs"
    said = content(out)
    (out / REGISTER).rename(case / "register-backup")
    (out / REGISTER).mkdir()
    before = tree(out)
    capsys.readouterr()
    rebuild = ["register", "rebuild", "--output", str(out)]
    for command in (lambda: run_in_process(case, "2026-11"), lambda: cli.main(rebuild)):
        assert command() == 2
        err = capsys.readouterr().err
        assert f"{out / REGISTER}: is a folder, not the invoice register (a file)" in err, err
        assert "does not know" not in err and "Move the folder aside" in err
        assert tree(out) == before and (out / REGISTER).is_dir()
    (out / REGISTER).rmdir()  # the way out: the folder moved aside, the register rebuilt
    assert cli.main(rebuild) == 0
    assert content(out) == said
    assert run_in_process(case, "2026-11") == 0
    assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(10, 19)]


def test_a_rebuild_refuses_a_gap_no_run_folder_explains(case_with_november, capsys):
    out = case_with_november / "outputs"
    shutil.rmtree(out / "2026-10")
    register = register_bytes(out)
    capsys.readouterr()
    assert cli.main(["register", "rebuild", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot rebuild the register from the run folders; nothing was written" in err
    assert "series NW2026: NW2026-000001, NW2026-000002" in err and "NW2026-000009 in no run" in err
    assert register_bytes(out) == register


def test_a_rebuild_restores_the_customer_and_date_of_a_void_number(case_with_november, capsys):
    """November billed again without C008 (its AWS line gone, its support fee ended in October):
    its number stays void in the middle of the series. Rebuilt from the run folders, the void
    number keeps the customer and issue date the register had for it (from the run's manifest),
    as every other number does."""
    out = case_with_november / "outputs"
    report = case_with_november / "reports" / "2026-11" / "cur.csv"
    report.write_text(
        "".join(ln for ln in report.read_text().splitlines(True) if ACCOUNTS[4] not in ln)
    )
    lines = case_with_november / "parameters" / "custom_lines.yaml"
    fee = "valid_from: 2026-01-01, product_group: support"
    assert fee in lines.read_text()
    lines.write_text(lines.read_text().replace(fee, f"{fee}, valid_to: 2026-10-31"))
    assert run_in_process(case_with_november, "2026-11") == 0
    said = content(out)
    [void] = [r for r in said["numbers"] if r[5] == "void"]
    assert void[:4] == ("NW2026-000017", "invoice", "2026-11", "C008")
    assert void[6] == "2026-12-01"
    (out / REGISTER).unlink()
    assert cli.main(["register", "rebuild", "--output", str(out)]) == 0
    assert "NW2026: NW2026-000001 to NW2026-000018 (18 numbers, 1 void)" in capsys.readouterr().out
    assert content(out) == said


def test_a_rebuild_keeps_the_note_of_numbers_voided_by_a_series_change(case_with_november, capsys):
    """seller.yaml's invoice_series changed, then November billed again: its NW2026 numbers, in
    the middle of the series (December follows), stay void with the note that the month was
    rerun in the new series. Rebuilt from the run folders they keep that note, not the general
    one of a customer without an invoice in a rerun."""
    out = case_with_november / "outputs"
    assert run_in_process(case_with_november, "2026-12") == 0
    seller = case_with_november / "parameters" / "seller.yaml"
    assert "invoice_series: NW " in seller.read_text()
    seller.write_text(seller.read_text().replace("invoice_series: NW ", "invoice_series: NX "))
    assert run_in_process(case_with_november, "2026-11") == 0
    said = content(out)
    void = [r for r in said["numbers"] if r[5] == "void"]
    assert [r[0] for r in void] == [f"NW2026-{i:06d}" for i in range(10, 19)]
    assert {r[7] for r in void} == {"the month was rerun in series NX2026; number never issued"}
    (out / REGISTER).unlink()
    assert cli.main(["register", "rebuild", "--output", str(out)]) == 0
    assert "NW2026: NW2026-000001 to NW2026-000027 (27 numbers, 9 void)" in capsys.readouterr().out
    assert content(out) == said
    # a manifest written before the notes were recorded: the note follows from the series
    manifest = _manifest(out / "2026-11")
    held = manifest["numbering"]["void_of"]
    assert {v.pop("note") for v in held.values()} == {void[0][7]}
    (out / "2026-11" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (out / REGISTER).unlink()
    assert cli.main(["register", "rebuild", "--output", str(out)]) == 0
    assert content(out) == said


def test_a_read_only_register_is_refused_naming_the_file(case, capsys):
    out = case / "outputs"
    before, register = tree(out), register_bytes(out)
    with read_only(out / REGISTER):
        capsys.readouterr()
        assert run_in_process(case, "2026-11") == 2
        err = capsys.readouterr().err
    assert f"error: {out / REGISTER}: the invoice-number register cannot be written" in err
    assert f"chmod u+w {out / REGISTER}" in err
    assert tree(out) == before and register_bytes(out) == register


# -- leftovers of killed runs --------------------------------------------------------------------


def test_leftover_staging_and_replaced_folders_are_cleaned_and_reported(case, capsys):
    out = case / "outputs"
    before = published(out)
    for leftover in (
        out / ".staging-2026-11-0badf00d",
        out / "corrections" / ".staging-0badf00d",
        out / ".replaced-2026-10-0badf00d",
    ):
        leftover.mkdir(parents=True)
        (leftover / "manifest.json").write_text("{}")
    capsys.readouterr()
    assert run_in_process(case, "2026-11") == 0
    printed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("cleaned up")]
    assert printed == [
        "cleaned up: removed .replaced-2026-10-0badf00d: "
        "the earlier 2026-10/ a killed run had replaced",
        "cleaned up: removed .staging-2026-11-0badf00d: "
        "the unfinished files of a run that was killed",
        "cleaned up: removed corrections/.staging-0badf00d: "
        "the unfinished files of a run that was killed",
    ]
    assert {k: v for k, v in published(out).items() if k.startswith("2026-10")} == before
    assert not [p for p in out.rglob(".*") if p.name != LOCK]


def test_leftovers_that_cannot_be_removed_are_named_and_stop_nothing(case, capsys):
    """What killed runs leave may be undeletable (made by another user, read-only): the
    unfinished register of a killed rebuild stopped every command with a PermissionError
    traceback, and a staging folder was said to be "removed" by every run while it stayed.
    Neither is ever used again, so the run goes on and names each with the way out."""
    if os.geteuid() != 0:
        pytest.skip("only root can make a file undeletable in a writable folder (chattr +i)")
    out = case / "outputs"
    staging = out / ".staging-2026-11-0badf00d"
    staging.mkdir()
    (staging / "manifest.json").write_text("{}")
    rebuild = out / f".{REGISTER}.rebuild-0badf00d"
    rebuild.write_bytes(b"SQLite format 3\x00")
    capsys.readouterr()
    with read_only(staging), read_only(rebuild):
        assert run_in_process(case, "2026-11") == 0, capsys.readouterr().err
        printed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("cleaned")]
    assert printed == [
        f"cleaned up: {staging.name} cannot be removed ({staging / 'manifest.json'}: Operation "
        "not permitted): the unfinished files of a run that was killed; remove it by hand (make "
        "it writable first)",
        f"cleaned up: {rebuild.name} cannot be removed ({rebuild}: Operation not permitted): "
        "the unfinished register of a register rebuild that was killed; remove it by hand (make "
        "it writable first)",
    ]
    assert numbers_of(out, "2026-11") == [f"NW2026-{i:06d}" for i in range(10, 19)]
    issued(out)
    capsys.readouterr()
    assert run_in_process(case, "2026-12") == 0  # writable again: removed, and said so
    printed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("cleaned")]
    assert [ln.split(":")[1].strip() for ln in printed] == [
        f"removed {staging.name}",
        f"removed {rebuild.name}",
    ]
    assert not staging.exists() and not rebuild.exists()


def test_a_register_rebuild_killed_leaves_nothing_the_next_command_does_not_clean(case, capsys):
    """``billing register rebuild`` writes the new register beside the old one, then moves it
    into place; killed in between, its unfinished file stayed in the outputs folder for good
    (``.invoice_register.sqlite.rebuild-*``). The next run or rebuild, holding the lock, removes
    it and says so; the register in place is the one before the killed rebuild."""
    out = case / "outputs"
    register = register_bytes(out)
    rebuild = ["register", "rebuild", "--output", str(out)]
    for then in ("run", "rebuild"):
        proc = forked_start("billing", rebuild, case, pause="register-rebuild-written")
        wait_paused(proc, case)
        kill9(proc)
        (case / "paused").unlink()
        [left] = [p.name for p in out.glob(f".{REGISTER}.rebuild-*")]
        assert register_bytes(out) == register  # the killed rebuild changed nothing in place
        capsys.readouterr()
        if then == "run":
            assert run_in_process(case, "2026-11") == 0
            register = register_bytes(out)
        else:
            assert cli.main(rebuild) == 0
        printed = capsys.readouterr().out
        assert (
            f"cleaned up: removed {left}: the unfinished register of a register rebuild that "
            "was killed"
        ) in printed
        assert not list(out.glob(f".{REGISTER}*")), then
    issued(out)


# -- credit notes --------------------------------------------------------------------------------


def credit_note(out: Path, *extra: str) -> list[str]:
    return [
        BILLING,
        "credit-note",
        "--output",
        str(out),
        "--invoice",
        "NW2026-000002",
        "--issue-date",
        "2026-12-03",
        *extra,
    ]


def test_a_credit_note_while_a_run_holds_the_folder_refuses_or_waits(case, capsys):
    out = case / "outputs"
    resume = case / "resume"
    run = start_run(case, "2026-11", pause="numbers-planned", resume=resume)
    wait_paused(run, case)
    before, register = tree(out), register_bytes(out)
    capsys.readouterr()
    assert cli.main(credit_note(out)[1:]) == 2  # `billing credit-note` in this process
    refused = capsys.readouterr().err
    assert f"error: {out.resolve()}: another billing run is using this outputs folder" in refused
    assert f"pid {run.pid} " in refused
    assert tree(out) == before and register_bytes(out) == register
    waiting = forked_start(  # `billing credit-note --wait` in a process of its own
        "billing", credit_note(out, "--wait", "300")[1:], case, "lock-waiting", resume, "waiting"
    )
    wait_paused(waiting, case, marker="waiting")  # it found the folder held and waits
    resume.touch()
    assert run.wait(timeout=300) == 0
    w_out, w_err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, w_err
    assert "credit note NWC2026-000001 issued on 2026-12-03 for C002" in w_out
    issued(out)
    assert [r[:6] for r in content(out)["numbers"] if r[1] == "credit_note"] == [
        ("NWC2026-000001", "credit_note", "2026-10", "C002", "NW2026-000002", "final")
    ]


@pytest.mark.parametrize(
    ("point", "kept"),
    [("credit-note-publishing-begun", False), ("credit-note-moved-in", True)],
)
def test_a_credit_note_killed_while_publishing_is_finished_or_undone_by_the_next_run(
    case, capsys, point, kept
):
    out = case / "outputs"
    before, said = published(out), content(out)
    proc = forked_start("billing", credit_note(out)[1:], case, pause=point)
    wait_paused(proc, case)
    kill9(proc)
    assert (out / "corrections" / "NWC2026-000001").exists() == kept
    capsys.readouterr()
    assert run_in_process(case, "2026-11") == 0
    printed = capsys.readouterr().out
    if kept:  # the folder was in place: its number is recorded, the invoice is credited
        assert "cleaned up: recorded the numbers of corrections/NWC2026-000001/" in printed
        with pytest.raises(Exception, match="already corrected by credit note NWC2026-000001"):
            issue_credit_note(out, "NW2026-000002", None)
    else:  # never in place: the number is free again, the next credit note takes it
        assert (
            "cleaned up: dropped the planned numbers of a run killed before corrections/" in printed
        )
        assert {k: v for k, v in published(out).items() if k.startswith("2026-10")} == {
            k: v for k, v in before.items() if k.startswith("2026-10")
        }
        assert [r for r in content(out)["numbers"] if r[2] == "2026-10"] == said["numbers"]
        assert issue_credit_note(out, "NW2026-000002", None).note.number == "NWC2026-000001"
    issued(out)
    issued(out, "NWC2026")


def reissue(case: Path) -> list[str]:
    return [
        "reissue",
        "--output",
        str(case / "outputs"),
        "--invoice",
        "NW2026-000002",
        "--issue-date",
        "2026-12-04",
        "--parameters",
        str(case / "parameters"),
        "--reports",
        str(case / "reports" / "2026-10"),
    ]


@pytest.mark.parametrize(
    ("point", "kept"), [("reissue-publishing-begun", False), ("reissue-moved-in", True)]
)
def test_a_reissue_killed_while_publishing_is_finished_or_undone_by_the_next_run(
    case, capsys, point, kept
):
    out = case / "outputs"
    issue_credit_note(out, "NW2026-000002", None, "Wrong price plan")
    said = content(out)
    proc = forked_start("billing", reissue(case), case, pause=point)
    wait_paused(proc, case)
    kill9(proc)
    last = said["numbers"][8][0]  # the finalised month's last invoice
    assert last == "NW2026-000009"
    assert (out / "corrections" / "NW2026-000010").exists() == kept
    capsys.readouterr()
    assert run_in_process(case, "2026-11") == 0
    printed = capsys.readouterr().out
    if kept:  # in place: recorded as the invoice replacing NW2026-000002; November follows it
        assert "cleaned up: recorded the numbers of corrections/NW2026-000010/" in printed
        with pytest.raises(RunError, match="already replaced by invoice NW2026-000010"):
            reissue_invoice(out, "NW2026-000002", case / "parameters", case / "reports" / "2026-10")
        assert numbers_of(out, "2026-11")[0] == "NW2026-000011"
    else:  # never in place: the number went to November, the next reissue takes the next one
        assert "cleaned up: dropped the planned numbers of a run killed before corrections/" in (
            printed
        )
        assert numbers_of(out, "2026-11")[0] == "NW2026-000010"
        assert not (out / "corrections" / "NW2026-000010").exists()
        # still to be replaced: the next reissue takes the number after November's
        register = open_register(out / REGISTER)
        after = f"NW2026-{len(numbers_of(out, '2026-11')) + 10:06d}"
        assert register.reissue_number("NW2026", "NW2026-000002") == (after, "NWC2026-000001")
    issued(out)
    issued(out, "NWC2026")


# -- billing finalise: the published run finalised as it is ------------------------------------


def finalise(out: Path, period: str = "2026-11") -> list[str]:
    return ["finalise", "--period", period, "--output", str(out)]


def test_a_published_run_is_finalised_as_it_is_and_then_only_credited(case_with_november, capsys):
    out = case_with_november / "outputs"
    before = published(out)
    run_id = _manifest(out / "2026-11")["run_id"]
    assert cli.main(finalise(out)) == 0
    printed = capsys.readouterr().out
    assert (
        f"finalised {out / '2026-11'} (run {run_id}) as published: 9 invoice number(s) final "
        "(NW2026-000010 to NW2026-000018)" in printed
    )
    after = published(out)
    assert after.pop("2026-11/FINALISED").startswith(b"finalised ")
    assert after == before  # not billed again: every file of the run as it was reviewed
    said = content(out)
    assert said["finalised"] == [("2026-10",), ("2026-11",)] and said["publishing"] == []
    assert {r[5] for r in said["numbers"] if r[2] == "2026-11"} == {"final"}
    with pytest.raises(RunError, match=r"the run for 2026-11 is finalised"):
        finalise_published(out, "2026-11")
    assert run_in_process(case_with_november, "2026-11") == 2  # no rerun of a finalised month
    november = numbers_of(out, "2026-11")[0]
    assert issue_credit_note(out, november, None).original.number == november


def test_a_run_changed_since_it_was_published_is_not_finalised(case_with_november):
    out = case_with_november / "outputs"
    summary = out / "2026-11" / "invoice_summary.csv"
    summary.write_bytes(summary.read_bytes().replace(b",", b";", 1))
    before, said = published(out), content(out)
    with pytest.raises(
        RunError,
        match=r"2026-11: the run is not as it was published, so it is not what was reviewed; "
        r"nothing was finalised\. .*\n  - invoice_summary\.csv: changed since the run",
    ):
        finalise_published(out, "2026-11")
    assert published(out) == before and content(out) == said
    with pytest.raises(RunError, match=r"no published run of 2026-12 .* bill it first"):
        finalise_published(out, "2026-12")


def test_a_run_billed_again_after_its_review_is_not_finalised_for_the_reviewed_one(
    case_with_november, capsys
):
    """November reviewed, then billed again with a price edited (a colleague, a scheduled
    rerun): ``billing finalise`` finalised the rerun's folder, which nobody had reviewed, as
    "the published run you reviewed". Given the run reviewed (``--run``, the id ``billing run``
    prints with the command to finalise it), it refuses any other, naming both, with nothing
    finalised; given the rerun's id, once that is reviewed, it finalises it."""
    case = case_with_november
    out = case / "outputs"
    reviewed = _manifest(out / "2026-11")["run_id"]
    plans = case / "parameters" / "price_plans.yaml"
    plans.write_text(plans.read_text().replace("percent: 12,", "percent: 22,", 1))
    assert run_in_process(case, "2026-11") == 0
    rerun = _manifest(out / "2026-11")["run_id"]
    assert rerun != reviewed
    before, said = published(out), content(out)
    capsys.readouterr()
    assert cli.main([*finalise(out), "--run", reviewed]) == 2
    err = capsys.readouterr().err
    assert f"error: {out / '2026-11'}: billed again since run {reviewed} was published" in err
    assert f"the run published now is run {rerun}" in err
    assert "nothing was finalised" in err
    assert f"billing finalise --period 2026-11 --output {out} --run {rerun}" in err
    assert published(out) == before and content(out) == said
    assert cli.main([*finalise(out), "--run", rerun]) == 0
    assert f"finalised {out / '2026-11'} (run {rerun}) as published" in capsys.readouterr().out
    assert ("2026-11",) in content(out)["finalised"]


def _printed_command(text: str) -> list[str]:
    """The arguments of the ``billing ...`` command ``text`` ends with, split as a shell does."""
    return shlex.split(text[text.rindex("billing ") :].strip())[1:]


def test_the_commands_printed_for_an_outputs_folder_with_spaces_run_as_printed(
    sample_outputs, tmp_path, capsys
):
    """An outputs folder named with a space (``Billing Outputs``, a synced drive): the
    commands ``billing run`` and ``billing finalise`` print to finalise the run said
    ``--output Billing Outputs/é``, which the shell splits into two arguments; pasted, it failed
    with "unrecognized arguments". Quoted as a shell reads them, they run as printed."""
    out = Path(shutil.copytree(sample_outputs, tmp_path / "Billing Outputs" / "é"))
    run_id = _manifest(out / "2026-10")["run_id"]
    hint = cli_runs.finalise_hint(out / "2026-10", "2026-10", out)
    assert _printed_command(hint) == [
        "finalise", "--period", "2026-10", "--output", str(out), "--run", run_id
    ]  # fmt: skip
    assert cli.main(["finalise", "--period", "2026-10", "--output", str(out), "--run", "0ld"]) == 2
    printed = _printed_command(capsys.readouterr().err)
    assert printed == ["finalise", "--period", "2026-10", "--output", str(out), "--run", run_id]
    assert cli.main(printed) == 0
    assert (out / "2026-10" / "FINALISED").is_file()
    # the run folder given for the outputs folder: the outputs folder to give, quoted
    reports, parameters = REPO / "samples" / "2026-10" / "reports", REPO / "parameters"
    argv = ["run", "--period", "2026-10", "--reports", str(reports), "--parameters"]
    assert cli.main([*argv, str(parameters), "--output", str(out / "2026-10"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"(--output {shlex.quote(str(out))})" in err, err


def test_a_run_folder_that_cannot_be_written_is_named_by_billing_finalise(
    case_with_november, capsys
):
    """Its ``FINALISED`` marker cannot be written (a read-only folder; a full disk alike):
    ``billing finalise`` ended in a PermissionError's traceback, exit status 1. It names the file
    and the way out; nothing is finalised, and once the folder is writable it finalises."""
    out = case_with_november / "outputs"
    before, said = published(out), content(out)
    capsys.readouterr()
    with read_only(out / "2026-11"):
        assert cli.main(finalise(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {out / '2026-11' / 'FINALISED'}: the folder cannot be written (read-only or no "
        "permission)"
    ), err
    assert "Nothing was finalised; the run folder is as it was" in err
    assert "make it writable for this user" in err and "Traceback" not in err
    assert published(out) == before and content(out) == said
    assert not [p for p in (out / "2026-11").iterdir() if p.name.startswith(".")]
    assert cli.main(finalise(out)) == 0


def test_a_register_that_cannot_record_a_finalised_folder_is_said_so(
    case_with_november, capsys, monkeypatch
):
    """The register cannot be written after the folder got its FINALISED marker (a full disk,
    the file made read-only meanwhile): the message said "nothing was changed", yet the folder was
    final, the next command recorded the month as final and ``billing finalise`` again said it
    was finalised already. It says the folder is finalised and the register not yet, and the
    way out; ``billing finalise`` again, the register writable, records it and says so."""
    import billing_lib.finalising as finalising

    out = case_with_november / "outputs"
    held = contextlib.ExitStack()

    def pause(point: str) -> None:
        if point == "finalise-marker-written":
            held.enter_context(read_only(out / REGISTER))

    monkeypatch.setattr(finalising, "pause_point", pause)
    capsys.readouterr()
    with held:
        assert cli.main(finalise(out)) == 2
    err = capsys.readouterr().err
    assert "nothing was changed" not in err and "Nothing was finalised" not in err, err
    assert err.startswith(
        f"error: {out / '2026-11'}: finalised (its FINALISED marker is written: the run folder is "
        "final and is never billed again), but the invoice register could not record it: "
        f"{out / REGISTER}: the invoice-number register cannot be written ("
    ), err
    assert (
        f"then run billing finalise --period 2026-11 --output {out} again: it records the "
        "month's invoice numbers as final" in err
    ), err
    assert (out / "2026-11" / "FINALISED").is_file()
    assert ("2026-11",) not in content(out)["finalised"] and content(out)["publishing"] != []
    monkeypatch.undo()
    assert cli.main(finalise(out)) == 0
    printed = capsys.readouterr().out
    assert "cleaned up: recorded 2026-11 as finalised in the register" in printed
    run_id = _manifest(out / "2026-11")["run_id"]
    assert (
        f"finalised {out / '2026-11'} (run {run_id}) as published: 9 invoice number(s) final"
        in (printed)
    )
    said = content(out)
    assert ("2026-11",) in said["finalised"] and said["publishing"] == []
    assert {r[5] for r in said["numbers"] if r[2] == "2026-11"} == {"final"}
    with pytest.raises(RunError, match=r"the run for 2026-11 is finalised"):
        finalise_published(out, "2026-11")


@pytest.mark.parametrize(
    ("point", "kept"), [("finalise-begun", False), ("finalise-marker-written", True)]
)
def test_billing_finalise_killed_is_finished_or_undone_by_the_next_command(
    case_with_november, capsys, point, kept
):
    out = case_with_november / "outputs"
    proc = forked_start("billing", finalise(out), case_with_november, pause=point)
    wait_paused(proc, case_with_november)
    kill9(proc)
    assert (out / "2026-11" / "FINALISED").exists() == kept
    assert content(out)["publishing"] != []  # the register knows a finalise began
    capsys.readouterr()
    assert cli.main(["register", "list", "--output", str(out)]) == 0  # read only: says so
    assert (
        "not recorded yet: 2026-11/ was finalised by billing finalise, killed before the "
        f"register made its numbers final; the next billing command on {out} does"
        if kept
        else "billing finalise of 2026-11/ was killed before it finalised the folder; the month "
        "is not final"
    ) in capsys.readouterr().out
    assert run_in_process(case_with_november, "2026-12") == 0
    printed = capsys.readouterr().out
    said = content(out)
    assert said["publishing"] == []
    if kept:  # the folder was marked: the register makes the month final too
        assert "cleaned up: recorded 2026-11 as finalised in the register" in printed
        assert ("2026-11",) in said["finalised"]
        assert {r[5] for r in said["numbers"] if r[2] == "2026-11"} == {"final"}
    else:  # never marked: nothing was finalised, and it can be finalised now
        assert "cleaned up: 2026-11 is not finalised: billing finalise was killed" in printed
        assert ("2026-11",) not in said["finalised"]
        assert cli.main(finalise(out)) == 0


def test_billing_finalise_killed_while_writing_its_marker_leaves_no_temporary_file(
    case_with_november, capsys
):
    """``billing finalise`` killed between writing its marker's temporary file and moving it in
    left ``2026-11/.FINALISED.<hex>.tmp`` for good: no command removed it. The next command
    that locks the outputs folder removes it, as it does the other leftovers of killed runs;
    the month was not finalised, and is finalised then."""
    out = case_with_november / "outputs"
    proc = forked_start("billing", finalise(out), case_with_november, "finalise-marker-staged")
    wait_paused(proc, case_with_november)
    kill9(proc)
    left = sorted((out / "2026-11").glob(".FINALISED.*.tmp"))
    assert len(left) == 1 and not (out / "2026-11" / "FINALISED").exists()
    capsys.readouterr()
    assert cli.main(finalise(out)) == 0
    printed = capsys.readouterr().out
    assert (
        f"removed 2026-11/{left[0].name}: the unfinished FINALISED marker of a billing "
        "finalise that was killed" in printed
    ), printed
    assert sorted((out / "2026-11").glob(".FINALISED.*")) == []
    assert (out / "2026-11" / "FINALISED").is_file()
    assert ("2026-11",) in content(out)["finalised"] and content(out)["publishing"] == []


def test_billing_finalise_waiting_for_a_rerun_does_not_finalise_the_rerun(
    case_with_november, capsys
):
    """``billing finalise --wait`` given while November is billed again: it waited for the lock
    and then finalised the rerun's folder, which nobody had reviewed (a price edited, a report
    dropped in since). It finalises the run that was published when it was asked, or nothing."""
    case = case_with_november
    out = case / "outputs"
    resume = case / "resume"
    run = start_run(case, "2026-11", pause="numbers-planned", resume=resume)
    wait_paused(run, case)
    waiting = forked_start(
        "billing", [*finalise(out), "--wait", "300"], case, "lock-waiting", resume, "waiting"
    )
    wait_paused(waiting, case, marker="waiting")  # it found the folder held and waits
    resume.touch()
    assert run.wait(timeout=300) == 0
    _, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 2
    assert f"error: {out / '2026-11'}: billed again while billing finalise waited" in err
    assert "it is not the run that was reviewed; nothing was finalised" in err
    assert not (out / "2026-11" / "FINALISED").exists()
    said = content(out)
    assert ("2026-11",) not in said["finalised"] and said["publishing"] == []
    assert {r[5] for r in said["numbers"] if r[2] == "2026-11"} == {"reserved"}
    capsys.readouterr()
    assert cli.main(finalise(out)) == 0  # asked again, once the rerun is reviewed


# -- Ctrl-C (SIGINT) once a command's change has begun to take effect ----------------------------


def interrupted(proc: subprocess.Popen | forked.Forked, root: Path, resume: Path) -> str:
    """The standard error of ``proc`` sent SIGINT (Ctrl-C) where it paused, then let go on."""
    wait_paused(proc, root)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)  # the signal is handled before the pause looks for ``resume`` again
    resume.touch()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    return err


@pytest.mark.parametrize("point", ["run-moved-in", "numbers-recorded"])
def test_billing_run_interrupted_as_it_publishes_says_it_published(case_with_november, point):
    """Ctrl-C once the new run folder was moved into place: ``billing run`` said "nothing was
    published; an earlier run folder is as it was", exit 130, while the new run was in place
    (and the earlier one in ``.replaced-*``) and the next command recorded its numbers: a
    ``billing finalise`` then finalised the run the analyst was told was not published. The
    interrupt waits until the run is published whole, and the message says so."""
    case = case_with_november
    out = case / "outputs"
    resume = case / "resume"
    cmd = [BILLING, "run", "--quiet", "--period", "2026-11", "--reports",
           str(case / "reports" / "2026-11"), "--parameters", str(case / "parameters"),
           "--output", str(out)]  # fmt: skip
    earlier = _manifest(out / "2026-11")["run_id"]
    err = interrupted(start(cmd, case, point, resume), case, resume)
    assert "nothing was published" not in err, err
    now = _manifest(out / "2026-11")["run_id"]
    assert now != earlier
    assert err.startswith(
        f"error: interrupted (SIGINT) once the run for 2026-11 was published in {out / '2026-11'}"
    ), err
    assert not list(out.glob(".replaced-*")) and content(out)["publishing"] == []
    issued(out)


def test_billing_finalise_interrupted_once_the_folder_is_marked_says_it_finalised(
    case_with_november,
):
    """Ctrl-C once the run folder got its FINALISED marker: the command said "nothing was
    published" while the folder was final (and the register not yet)."""
    case = case_with_november
    out = case / "outputs"
    resume = case / "resume"
    proc = forked_start("billing", finalise(out), case, "finalise-marker-written", resume)
    err = interrupted(proc, case, resume)
    assert err.startswith(f"error: interrupted (SIGINT) once {out / '2026-11'} was finalised"), err
    said = content(out)
    assert ("2026-11",) in said["finalised"] and said["publishing"] == []
    assert {r[5] for r in said["numbers"] if r[2] == "2026-11"} == {"final"}


def test_a_credit_note_interrupted_while_printing_says_it_was_issued(case, capsys, monkeypatch):
    """Ctrl-C while ``billing credit-note`` printed what it issued: "interrupted; nothing was
    published", though the credit note was issued (and asked again, refused as credited)."""

    def interrupted_printing(*args: object, file: object = None, **kwargs: object) -> None:
        if file is None:  # what the command prints; its error goes on to standard error
            raise KeyboardInterrupt
        print(*args, file=file, **kwargs)

    monkeypatch.setattr(cli_corrections, "print", interrupted_printing, raising=False)
    out = case / "outputs"
    capsys.readouterr()
    assert cli.main(credit_note(out)[1:]) == 130
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "nothing was published" not in err, err
    assert err.startswith(
        "error: interrupted (SIGINT) once credit note NWC2026-000001 was issued for invoice "
        f"NW2026-000002 in {out / 'corrections' / 'NWC2026-000001'}"
    ), err
