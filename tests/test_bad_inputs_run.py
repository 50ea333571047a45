"""Bad inputs and faults of a billing run that must not pass quietly (issue 9): parameters files
(typos, YAML alias bombs, customer ids that are formulas, paths or too long, an implausible
exchange rate) and the machine (read-only output folder or register, a full disk, a file-size
limit, the command interrupted). Each ends in the project's own error naming the file, entry or
parameter and the way out, and leaves the published run folder and the invoice register
byte-identical. The sample month is published once (a copy of the session's run); most cases run
the notebook's steps in-process, a representative subset runs ``billing run`` as a real
process: forked from one that imported papermill and billing_lib once (``tests/forked.py``), so
each does not import them again (tests/test_billing_run_command.py and the kill -9 numbering
tests start the installed command as a new program)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from pathlib import Path

import openpyxl
import psutil  # installed with ipykernel
import pytest

from billing_lib import parameter_files, run
from billing_lib.errors import BillingError, ParameterError, RunError
from billing_lib.fx import load_exchange_rates
from billing_lib.numbering import _COLUMNS
from billing_lib.publishing import writing_error
from billing_lib.scratch import scratch_folder
from tests import forked
from tests.notebook_project import PERIOD, copy_project

REPORTS = Path("samples") / PERIOD / "reports"

#: USD->EUR for September to November with October's first half mistyped (92.15 for 0.9215).
BAD_RATES = """from_currency,to_currency,rate,valid_from,valid_to,source
USD,EUR,0.9201,2026-09-01,2026-09-30,ECB
USD,EUR,92.15,2026-10-01,2026-10-15,ECB
USD,EUR,0.9187,2026-10-16,2026-10-31,ECB
USD,EUR,0.9190,2026-11-01,2026-11-30,ECB
"""


def alias_bomb(levels: int = 9) -> str:
    """A few hundred bytes of YAML that expand to 9**9 (387 million) values."""
    lines = ['bomb0: &b0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"bomb{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# -- the published sample month every case must leave as it was ---------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory, sample_outputs) -> Path:
    """A copy of the project with the session's published sample month in its outputs/."""
    folder = copy_project(tmp_path_factory.mktemp("bad-inputs") / "project")
    shutil.copytree(sample_outputs, folder / "outputs")
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (the run folders and the invoice register) with its bytes; not
    the executed notebook a failed ``billing run`` keeps for diagnosis
    (``.failed-<period>.ipynb``)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".failed-")
    }


def register_numbers(register: Path) -> list[tuple]:
    """The numbers of the invoice register (every column but the time of the last change)."""
    with closing(sqlite3.connect(f"file:{register}?mode=ro", uri=True)) as db:
        return db.execute(f"SELECT {_COLUMNS} FROM numbers ORDER BY series, number").fetchall()


@contextmanager
def kept(project: Path, register_bytes: bool) -> Iterator[Path]:
    """After the block the published run folder is byte-identical and no staging folder is left;
    the register is byte-identical (``register_bytes``) or holds the same numbers."""
    before = tree(project / "outputs")
    assert "invoice_register.sqlite" in before and f"{PERIOD}/manifest.json" in before
    numbers = register_numbers(project / "outputs" / "invoice_register.sqlite")
    yield project
    after = tree(project / "outputs")
    if not register_bytes:
        before.pop("invoice_register.sqlite")
        after.pop("invoice_register.sqlite")
    assert after == before
    assert register_numbers(project / "outputs" / "invoice_register.sqlite") == numbers
    assert not [p.name for p in (project / "outputs").iterdir() if p.name.startswith(".staging")]


@pytest.fixture
def unchanged(project) -> Iterator[Path]:
    """For faults before the invoices are numbered: outputs and register byte-identical."""
    with kept(project, register_bytes=True):
        yield project


@pytest.fixture
def same_numbers(project) -> Iterator[Path]:
    """For faults after the invoices are numbered: the run folder byte-identical, the register
    with the same numbers. (Today a rerun that reaches numbering stamps the time of the change on
    the numbers it keeps, so the file's bytes change though no number does; committing numbers
    only when a run is published is the numbering part of issue 9.)"""
    with kept(project, register_bytes=False):
        yield project


def variant(project: Path, tmp_path: Path, file: str, edit: Callable[[str], str]) -> Path:
    """A copy of the project's parameters folder with ``file`` edited."""
    params = tmp_path / "parameters"
    shutil.copytree(project / "parameters", params)
    path = params / file
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return params


def replace(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)

    return edit


def run_in_process(
    project: Path, parameters: Path | None = None, output: Path | None = None
) -> BillingError:
    """The notebook's steps without the notebook (the project's own parameters and outputs unless
    given); the error they end in."""
    with pytest.raises(BillingError) as err:
        run.run_all(
            PERIOD,
            project / REPORTS,
            parameters or project / "parameters",
            output or project / "outputs",
        )
    return err.value


@pytest.fixture
def edited(unchanged: Path, tmp_path: Path) -> Callable[[str, Callable[[str], str]], Path]:
    """``edited(file, edit)``: a copy of the published project's parameters with ``file`` edited."""

    def make(file: str, edit: Callable[[str], str]) -> Path:
        return variant(unchanged, tmp_path, file, edit)

    return make


#: ``billing run`` of the sample month into the project's outputs/, run in the project
BILLING_RUN = ["run", "--period", PERIOD, "--reports", str(REPORTS), "--parameters", "parameters",
               "--output", "outputs", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def forks() -> Iterator[None]:
    """The server the module's real runs are forked from (``start``), ended after them."""
    modules = ["billing_lib.cli", "billing_lib.headless", "billing_lib.run", "papermill"]
    forked.preload([*modules, "jupyter_client.manager"])
    yield
    forked.stop()


def start(
    project: Path, target: str, argv: list[str], file_size_limit: int | None = None
) -> forked.Forked:
    """``billing`` with ``argv`` ("billing") or ``run.run_all(*argv)`` ("run_all") in a process
    of its own in ``project``, with this environment (``tests/forked.py``)."""
    logs = project.parent / "forked-logs"
    return forked.start(target, argv, project, dict(os.environ), logs, file_size_limit)


def finished(proc: forked.Forked) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess([], proc.returncode, out, err)


def assert_clean_failure(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Non-zero exit, one error message naming what it should, no Python traceback."""
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-3000:]
    assert "error: " in result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    for f in fragments:
        assert f in result.stderr, result.stderr[-3000:]


# -- parameters files: in-process catalogue ------------------------------------------------------

#: The sample parameters the cases edit (a copy of them: ``unchanged``).
SAMPLE_PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"


def line_of(name: str, text: str | None = None) -> int:
    """The line of the sample parameters file ``name`` that holds ``text`` first (the entry an
    edit of it breaks), or, without ``text``, the line after the file's last (a key appended):
    found in the file, so a comment added above moves the line a case expects with it."""
    lines = (SAMPLE_PARAMETERS / name).read_text(encoding="utf-8").splitlines()
    if text is None:
        return len(lines) + 1
    return next(n for n, line in enumerate(lines, 1) if text in line)


CASES = [
    pytest.param(
        "customers.yaml",
        replace("invoice_currency: EUR", "invoice_curency: EUR"),
        [
            f"customers.yaml, line {line_of('customers.yaml', 'invoice_currency: EUR')}, "
            "entry customers[id=C001].invoice_curency",
            "unknown key 'invoice_curency'; did you mean 'invoice_currency'?",
            "(2 problems in this file",  # the typo and the key it hides: both shown
            # a key left out has no line; the problems after the first are named by line too
            "\n  - entry customers[id=C001].invoice_currency: Field required",
        ],
        id="customers-key-typo-shows-both-problems",
    ),
    pytest.param(
        "price_plans.yaml",
        replace("kind: markup, percent: 15,", "kind: markup, percnt: 15,"),
        [
            f"price_plans.yaml, line {line_of('price_plans.yaml', 'percent: 15,')}, column 36, "
            "entry plans[id=smb].rules[id=aws-15].percnt",
            "did you mean 'percent'?",
        ],
        id="price-plan-rule-key-typo",
    ),
    pytest.param(
        "seller.yaml",
        replace("invoice_series: NW", "invoice_serie: NW"),
        [
            f"seller.yaml, line {line_of('seller.yaml', 'invoice_series: NW')}, "
            "entry invoice_serie",
            "did you mean 'invoice_series'?",
        ],
        id="seller-key-typo",
    ),
    pytest.param(
        "vat_rules.yaml",
        replace("    vat_code: NL-21", "    vat_cod: NL-21"),
        [
            f"vat_rules.yaml, line {line_of('vat_rules.yaml', '    vat_code: NL-21')}, "
            "entry rules.domestic.vat_cod",
            "did you mean 'vat_code'?",
        ],
        id="vat-rule-key-typo",
    ),
    pytest.param(
        "customers.yaml",
        lambda text: alias_bomb() + text,
        ["customers.yaml", "expands to more than", "aliases"],
        id="yaml-alias-bomb",
    ),
    pytest.param(
        "price_plans.yaml",
        lambda text: "loop: &loop [1, *loop]\n" + text,
        ["price_plans.yaml", "line 1: an alias refers to the entry that holds it"],
        id="yaml-recursive-alias",
    ),
    pytest.param(
        "customers.yaml",
        lambda text: "deep: " + "[" * 20_000 + "]" * 20_000 + "\n" + text,
        ["customers.yaml", "nested too deeply"],
        id="yaml-nested-too-deeply",
    ),
    pytest.param(
        "customers.yaml",
        replace("id: C001", "id: '=HYPERLINK(\"http://evil.example\")'"),
        ["customers.yaml", ".id", "does not start with =, +, - or @"],
        id="customer-id-formula",
    ),
    pytest.param(
        "customers.yaml",
        replace("id: C001", 'id: "+31 C001"'),
        ["customers.yaml", "does not start with =, +, - or @"],
        id="customer-id-plus",
    ),
    pytest.param(
        "customers.yaml",
        replace("id: C001", 'id: "-C001"'),
        ["customers.yaml", "does not start with =, +, - or @"],
        id="customer-id-minus",
    ),
    pytest.param(
        "customers.yaml",
        replace("id: C001", 'id: "@C001"'),
        ["customers.yaml", "does not start with =, +, - or @"],
        id="customer-id-at",
    ),
    pytest.param(
        "customers.yaml",
        replace("id: C001", 'id: "../../etc/C001"'),
        ["customers.yaml", "without path characters", "'/'"],
        id="customer-id-path",
    ),
    pytest.param(
        "customers.yaml",
        replace("id: C001", 'id: "C001\\\\x:y"'),
        ["customers.yaml", "without path characters", "':'", "'\\\\'"],
        id="customer-id-backslash-colon",
    ),
    pytest.param(
        "customers.yaml",
        replace("id: C001", "id: " + "C" * 240),
        ["customers.yaml", "at most 100 bytes", "this one has 240"],
        id="customer-id-too-long-for-a-file-name",
    ),
    pytest.param(
        "exchange_rates.csv",
        lambda text: BAD_RATES,
        [
            "exchange_rates.csv, entry row 3, column rate",
            "USD->EUR rate 92.15 for 2026-10-01 to 2026-10-15",
            "0.9201 (row 2, 2026-09-01 to 2026-09-30)",
            "0.9187 (row 4, 2026-10-16 to 2026-10-31)",
            "fx_plausibility_factor in seller.yaml",
        ],
        id="fx-rate-misplaced-decimal-point",
    ),
    pytest.param(
        "exchange_rates.csv",
        lambda text: BAD_RATES.replace("92.15", "0.9215").replace("0.9190", "0.09190"),
        ["exchange_rates.csv, entry row 5, column rate", "0.09190", "0.9187 (row 4"],
        id="fx-rate-implausible-last-row",
    ),
    pytest.param(
        "seller.yaml",
        lambda text: text + "fx_plausibility_factor: 0.5\n",
        [
            f"seller.yaml, line {line_of('seller.yaml')}, entry fx_plausibility_factor",
            "greater than 1",
        ],
        id="fx-factor-not-above-one",
    ),
]


@pytest.mark.parametrize(("file", "edit", "fragments"), CASES)
def test_a_bad_parameters_file_is_refused_naming_it(unchanged, edited, file, edit, fragments):
    err = run_in_process(unchanged, edited(file, edit))
    text = str(err)
    assert isinstance(err, ParameterError), text
    assert "more problems" not in text
    for f in fragments:
        assert f in text, text


def test_billing_run_names_the_line_of_a_bad_parameters_entry(unchanged, edited, forks):
    """The notebook's kernel reads the parameters files: ``billing run`` prints its message, the
    entry named with its line and column in the file as in the notebook."""
    params = edited(
        "price_plans.yaml", replace("kind: markup, percent: 15,", "kind: markup, percnt: 15,")
    )
    argv = [*BILLING_RUN]
    argv[argv.index("--parameters") + 1] = str(params)
    result = finished(start(unchanged, "billing", argv))
    assert_clean_failure(
        result,
        "ParameterError: "
        f"{params / 'price_plans.yaml'}, line {line_of('price_plans.yaml', 'percent: 15,')}, "
        "column 36, entry plans[id=smb].rules[id=aws-15]"
        ".percnt: unknown key 'percnt'; did you mean 'percent'?",
        "(nothing was published",
    )


def test_a_parameters_file_too_large_is_refused_before_it_is_read(unchanged, edited, monkeypatch):
    params = edited("custom_lines.yaml", lambda t: t + "#" * 12_000 + "\n")
    monkeypatch.setattr(parameter_files, "MAX_YAML_BYTES", 10_000)  # the sample's are below 6,000
    text = str(run_in_process(unchanged, params))
    assert "custom_lines.yaml: the file has" in text and "at most 10,000" in text


def test_custom_lines_saved_as_yml_are_refused_not_left_off_the_invoices(unchanged, edited):
    # before: custom_lines.yml was not read, and every fee, one-off and credit was left out
    params = edited("custom_lines.yaml", lambda t: t)
    (params / "custom_lines.yaml").rename(params / "custom_lines.yml")
    text = str(run_in_process(unchanged, params))
    assert text.startswith(f"{params / 'custom_lines.yml'}: the run reads custom_lines.yaml")
    assert "rename it to custom_lines.yaml" in text


def test_a_raised_fx_factor_in_seller_yaml_lets_a_real_jump_through(tmp_path):
    (tmp_path / "exchange_rates.csv").write_text(BAD_RATES.replace("92.15", "1.85"))
    with pytest.raises(ParameterError, match=r"row 3, column rate.*1.85.*factor of 1.5"):
        load_exchange_rates(tmp_path)
    rates = load_exchange_rates(tmp_path, Decimal(3))
    assert [r.rate for r in rates.rates][1] == Decimal("1.85")


def test_the_customers_workbook_shows_the_source_file_name_not_the_resellers_folder(project):
    book = openpyxl.load_workbook(
        project / "outputs" / PERIOD / "invoices" / "NW2026-000001_C001.xlsx", read_only=True
    )
    names = set()
    for ws in book.worksheets[1:]:
        rows = ws.iter_rows(values_only=True)
        header = list(next(rows))
        if "Source file" in header:
            names |= {r[header.index("Source file")] for r in rows} - {None}
    assert "aws-cur2-northwind-2026-10-00001.snappy.parquet" in names
    assert not [n for n in names if "/" in n or "\\" in n or str(project) in n]


def test_the_journal_csv_neutralises_formula_like_descriptions(tmp_path):
    from billing_lib.journal_files import csv_text

    assert csv_text("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_text("@SUM(A1)") == "'@SUM(A1)"
    assert csv_text("-3-4") == "'-3-4" and csv_text("AWS EC2") == "AWS EC2"


# -- the machine: read-only folders, a full disk, a file-size limit ------------------------------


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` (a folder or file) read-only for this process: without write permission for a
    user, or a read-only bind mount for root (whom permissions do not stop)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if not _mount("--bind", str(path), str(path)):
        pytest.skip("running as root without the right to mount: cannot make a path read-only")
    try:
        if not _mount("-o", "remount,ro,bind", str(path)):
            pytest.skip("cannot remount read-only")
        yield
    finally:
        subprocess.run(["umount", str(path)], check=False)


@pytest.mark.parametrize(
    ("target", "fragments"),
    [
        pytest.param(
            "outputs",
            ["{path}", "cannot be written", "give the run another output folder (--output)"],
            id="output-folder",
        ),
        pytest.param(
            "outputs/invoice_register.sqlite",
            [
                "{path}: the invoice-number register cannot be written",
                "readonly",
                "no invoice number was reserved",
            ],
            id="register",
        ),
    ],
)
def test_a_read_only_output_is_named(unchanged, target, fragments):
    path = unchanged / target
    with read_only(path):
        err = run_in_process(unchanged)
    text = str(err)
    assert isinstance(err, RunError) and "Traceback" not in text
    for fragment in fragments:
        assert fragment.format(path=path) in text, text


def test_a_full_disk_is_named_and_changes_nothing(project, tmp_path):
    """A real full file system: a small tmpfs holding a copy of the published outputs."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the file-size limit test covers the rest")
    disk = tmp_path / "small-disk"
    disk.mkdir()
    # tmpfs counts whole 4 KiB pages per file: the copy fits, the run's new folder does not
    used = sum(-(-len(b) // 4096) * 4096 for b in tree(project / "outputs").values())
    if not _mount("-t", "tmpfs", "-o", f"size={used // 1024 + 96}k", "tmpfs", str(disk)):
        pytest.skip("cannot mount a tmpfs here")
    try:
        shutil.copytree(project / "outputs", disk / "outputs")
        with kept(disk, register_bytes=False):  # the disk fills after numbering (same_numbers)
            err = run_in_process(project, project / "parameters", disk / "outputs")
        text = str(err)
        assert isinstance(err, RunError) and "the disk is full" in text
        assert str(disk / "outputs") in text and "free space on that file system" in text
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)


def test_a_file_duckdb_could_not_write_is_named():
    # DuckDB 2 puts its message in JSON: the file's quotes escaped, other quoted words around it
    text = (
        'IO Error: Async write failed for range [offset=26869, size=36592]: {"exception_type":'
        '"IO","exception_message":"Could not write file \\"/out/.staging-2026-10-8ae04363/rated '
        'lines.parquet\\": File too large","errno":"27"}'
    )
    err = writing_error(OSError(text), "/out/.staging-2026-10-8ae04363")
    assert str(err).startswith("/out/2026-10/rated lines.parquet: the file is larger than")


def test_an_outputs_folder_in_the_temporary_directory_gets_the_outputs_way_out(tmp_path):
    """Any file under the temporary directory was taken for the run's store or scratch: an
    outputs folder there (``--output /tmp/billing``, a container's) that could not be written was
    told to "set TMPDIR", which changes nothing for it. Only a file of the process's own scratch
    folders gets that way out."""
    assert Path(tempfile.gettempdir()).resolve() in tmp_path.resolve().parents
    marker = tmp_path / "outputs" / PERIOD / "FINALISED"
    err = writing_error(PermissionError(errno.EACCES, "Permission denied", str(marker)), marker)
    assert str(err).endswith(
        "Way out: make it writable for this user, or give the run another output folder (--output)."
    ), err
    with scratch_folder("store") as folder:
        err = writing_error(OSError(errno.ENOSPC, "No space left", str(folder / "x.db")), folder)
    assert "set TMPDIR to a folder on one with room" in str(err)


def test_a_copy_into_a_full_disk_names_the_copy_not_the_file_copied():
    """The rated lines are copied from the run's scratch folder into the outputs folder when the
    two are on different file systems; CPython's copy says ``filename`` (the file read, in the
    temporary directory) and ``filename2`` (the file written). A full outputs disk was named as
    the temporary file with "set TMPDIR" for the way out, which frees nothing where the disk is
    full (found by test_a_full_disk_is_named_and_changes_nothing under a loaded machine, where
    the copy was the write that met the full disk)."""
    with scratch_folder("rated") as folder:
        source = folder / "rated_lines.parquet"
        target = "/out/.staging-2026-10-8ae04363/rated_lines.parquet"
        exc = OSError(errno.ENOSPC, "No space left on device")
        exc.filename, exc.filename2 = str(source), target
        err = writing_error(exc, "/out/.staging-2026-10-8ae04363")
    assert str(err).startswith("/out/2026-10/rated_lines.parquet: the disk is full"), err
    assert "give the run another output folder (--output)" in str(err), err


@pytest.mark.slow  # the run in a process of its own, under a file-size limit
def test_a_file_size_limit_while_writing_an_invoice_file_is_named(same_numbers, forks):
    # below the largest of the invoice folder's files (workbook, detail file, PDF, UBL) of the
    # published run, above the register and the rated lines' Parquet (written first; with a
    # margin: it holds the reports' paths, which differ between project folders)
    published = same_numbers / "outputs" / PERIOD
    limit = max(p.stat().st_size for p in (published / "invoices").iterdir()) - 1
    assert (published / "rated_lines.parquet").stat().st_size < limit - 2_000
    # a real process with a real limit: the run's steps, a BillingError printed as `billing` does
    run_all = [PERIOD, str(REPORTS), "parameters", "outputs"]
    result = finished(start(same_numbers, "run_all", run_all, file_size_limit=limit))
    assert_clean_failure(
        result,
        f"{same_numbers / 'outputs' / PERIOD / 'invoices'}/NW2026-",
        "the file is larger than this process may write",
        "ulimit -f",
    )


# -- `billing run` as a real process --------------------------------------------------------------


@pytest.mark.slow  # papermill runs the notebook in a kernel
def test_billing_run_names_the_file_a_file_size_limit_stops(same_numbers, forks):
    # 1 MB: the notebook runs through; its HTML report (plotly.js embedded, ~5 MB) cannot be written
    result = finished(start(same_numbers, "billing", BILLING_RUN, file_size_limit=1_000_000))
    assert_clean_failure(
        result,
        f"{same_numbers / 'outputs' / PERIOD / 'billing_run.html'}: the file is larger",
        "Nothing was published",
    )


def _kernel_of(pid: int, timeout: float = 120, poll: float = 0.1) -> int:
    """The pid of the notebook kernel ``billing run`` (``pid``) started, once it runs (looked
    for every ``poll`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(pid).children(recursive=True):
            try:
                if "ipykernel" in " ".join(child.cmdline()):
                    return child.pid
            except psutil.NoSuchProcess:
                continue
        time.sleep(poll)
    raise AssertionError("billing run started no kernel")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow  # `billing run` started, then stopped once its kernel runs
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_billing_run_ends_its_kernel_and_publishes_nothing(
    same_numbers, forks, sig, status
):
    proc = start(same_numbers, "billing", BILLING_RUN)
    try:
        kernel = _kernel_of(proc.pid)
        time.sleep(1)  # the kernel starts and executes the notebook's first cells
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, err[-3000:]
    assert f"was interrupted ({sig.name})" in err and "kernel was ended" in err
    assert "Traceback" not in err, err[-3000:]
    deadline = time.monotonic() + 10
    while not _gone(kernel) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(kernel), f"kernel {kernel} still runs after billing run ended"


def _kernel_killed(proc: forked.Forked, kernel: Callable[[], int]) -> str:
    """The standard error of ``billing run`` (``proc``) once the kernel ``kernel()`` names is
    killed: status 2, one message saying the kernel died and nothing was published."""
    try:
        os.kill(kernel(), signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "the notebook's kernel died" in err and "nothing was published" in err
    return err


@pytest.mark.slow  # `billing run` started, then its kernel killed
def test_a_billing_run_whose_kernel_died_says_so_and_keeps_its_notebook(same_numbers, forks):
    """A kernel killed (by the system when memory ran out) ended ``billing run`` in 30 lines of
    nbclient's traceback, "DeadKernelError: Kernel died", exit status 1, and no notebook to
    read: a scheduler's log showed a fault of the code."""
    marker = same_numbers.parent / "numbering"
    with pytest.MonkeyPatch.context() as mp:  # the kernel stops once it has numbered (faults.py)
        mp.setenv("BILLING_PAUSE_AT", "numbers-planned")
        mp.setenv("BILLING_PAUSE_MARKER", str(marker))
        proc = start(same_numbers, "billing", BILLING_RUN)

    def paused_kernel() -> int:
        kernel = _kernel_of(proc.pid)
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert int(marker.read_text(encoding="utf-8")) == kernel  # paused in a cell of the kernel
        return kernel

    err = _kernel_killed(proc, paused_kernel)
    assert f"error: the billing run for {PERIOD} stopped in or after cell [" in err
    failed = same_numbers / "outputs" / f".failed-{PERIOD}.ipynb"
    assert f"the executed notebook is kept as {failed}" in err
    assert json.loads(failed.read_text(encoding="utf-8"))["cells"]


@pytest.mark.slow  # `billing run` started, its kernel killed as it starts
def test_a_billing_run_whose_kernel_died_as_it_started_says_so(unchanged, forks):
    """A kernel killed before it answered its first request ended ``billing run`` in
    jupyter_client's traceback, "RuntimeError: Kernel died before replying to kernel_info",
    exit status 1 (nbclient raises its DeadKernelError only for a kernel running a cell)."""
    proc = start(unchanged, "billing", BILLING_RUN)
    # killed while it still imports ipykernel
    err = _kernel_killed(proc, lambda: _kernel_of(proc.pid, poll=0.005))
    assert f"error: the billing run for {PERIOD} stopped before its first cell" in err


def test_billing_run_prints_the_warnings_the_review_does_not_list(project, tmp_path):
    from billing_lib.headless import run_report

    folder = tmp_path / "run"
    shutil.copytree(project / "outputs" / PERIOD, folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    # the sample month's rules all matched lines, but its catch-alls: no warning, no finding
    assert not [w for w in manifest["warnings"] if "matched no line" in w]
    assert manifest["review"] == []
    subject = "price_plans.yaml, plans[id=smb].rules[id=aws-15]"
    unmatched = [f"{subject}: the rule matched no line in 2026-10"]
    manifest["review"].append(
        {
            "check": "rule matched nothing",
            "subject": subject,
            "finding": "the rule matched no line in 2026-10",
            "lines": [],
        }
    )
    outside = "2 rated lines are charged outside 2026-10 (2026-09-30 to 2026-09-30)"
    manifest["warnings"] += [*unmatched, outside]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    printed = run_report(folder)
    assert f"warnings (1; the run went through, look at them):\n  {outside}" in printed
    assert all(printed.count(w.rpartition(": ")[2]) >= 1 for w in unmatched)
    assert all(printed.count(w) <= 1 for w in unmatched)  # shown once, in the review
