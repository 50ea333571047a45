"""The ``billing`` command's options as typed by hand: an option a command does not have is
refused by that command, with its usage and the option meant, before anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from billing_lib.cli import main


@pytest.mark.parametrize(
    ("argv", "command", "typed", "meant"),
    [
        (["run", "--period", "2026-10", "--reports", "r", "--finalize"], "run", "--finalize",
         "--finalise"),
        (["credit-note", "--invoice", "NW2026-000002", "--reasons", "x"], "credit-note",
         "--reasons x", "--reason"),
        (["register", "list", "--serie", "NW2026"], "register list", "--serie NW2026", "--series"),
    ],
)  # fmt: skip
def test_an_option_the_command_does_not_have_is_refused_by_the_command(
    tmp_path, monkeypatch, capsys, argv, command, typed, meant
):
    """``billing run ... --finalize`` said "billing: error: unrecognized arguments: --finalize"
    under the usage of ``billing`` itself, which lists the commands, not the options of
    ``billing run``: its own usage, and the option meant."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: billing {command} "), err
    assert (
        f"billing {command}: error: unrecognized arguments: {typed} (did you mean {meant}?)" in err
    ), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("given", ["", " "])
def test_an_empty_run_id_is_refused_not_taken_for_none(tmp_path, capsys, given):
    """``billing finalise --run "$RUN_ID"`` from a script whose variable was not set: the empty
    id was taken as no ``--run`` at all, and whatever run was published was finalised without
    the check that it is the one reviewed. Refused naming the option, before anything is read."""
    with pytest.raises(SystemExit) as exited:
        main(["finalise", "--period", "2026-10", "--output", str(tmp_path), "--run", given])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "billing finalise: error: argument --run: expected the id of the run reviewed" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["credit-note", "reissue"])
def test_an_invoice_number_pasted_with_spaces_is_taken_without_them(command):
    """A number copied from a spreadsheet cell with its trailing space was refused as unknown,
    "did you mean NW2026-000004?" naming what looked like the number typed."""
    from billing_lib.cli import build_parser

    args = build_parser().parse_args([command, "--invoice", " NW2026-000004\t", "--invoice", "X"])
    assert args.invoice == ["NW2026-000004", "X"]


@pytest.mark.parametrize("command", ["credit-note", "reissue"])
@pytest.mark.parametrize(
    "given", ["NW2026-000005,NW2026-000006", "NW2026-000005 NW2026-000006", ""]
)
def test_several_numbers_in_one_invoice_option_are_refused_naming_the_way(command, given, capsys):
    """``--invoice NW2026-000005,NW2026-000006`` (as ``--confirm-jump`` takes them) was looked up
    as one number, "unknown: the register has no such number"; refused saying to repeat it."""
    with pytest.raises(SystemExit) as exited:
        main([command, "--invoice", given])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"billing {command}: error: argument --invoice: expected one invoice number" in err
    assert "give --invoice again for each" in err and repr(given) in err


def test_a_run_with_the_output_left_out_creates_no_outputs_folder_of_its_own(
    tmp_path, monkeypatch, capsys
):
    """``billing run`` from a scheduler whose working directory is not the project (cron's
    home), ``--output`` left out: it created ./outputs there with a new, empty invoice register,
    and billed the month from number 1 again, numbers the real register had issued already.
    Left out, the option names an outputs folder that exists; a new one is made only when
    named."""
    from tests.notebook_project import REPO

    monkeypatch.chdir(tmp_path)
    reports, parameters = REPO / "samples" / "2026-10" / "reports", REPO / "parameters"
    argv = ["run", "--period", "2026-10", "--reports", str(reports), "--parameters"]
    assert main([*argv, str(parameters), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: billing run, entry --output: left out, and the working directory {tmp_path} "
        "has no outputs folder"
    ), err
    assert "give --output" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["run", "--period", "2026-10", "--reports=~/x"], "reports"),
        (["run", "--period", "2026-10", "--reports", "r", "--parameters=~/x"], "parameters"),
        (["run", "--period", "2026-10", "--reports", "r", "--output=~/x"], "output"),
        (["import", "--parameters=~/x", "a.csv"], "parameters"),
        (["customers", "sync", "--period", "2026-10", "--reports=~/x"], "reports"),
        (["customers", "sync", "--period", "2026-10", "--reports", "r", "--platform=~/x"],
         "platform"),
        (["customers", "sync", "--period", "2026-10", "--reports", "r", "--diff=~/x"], "diff"),
        (["finalise", "--period", "2026-10", "--output=~/x"], "output"),
        (["credit-note", "--invoice", "NW2026-000002", "--output=~/x"], "output"),
        (["reissue", "--invoice", "NW2026-000002", "--reports=~/x"], "reports"),
        (["reissue", "--invoice", "NW2026-000002", "--parameters=~/x"], "parameters"),
        (["register", "list", "--csv=~/x"], "csv"),
    ],
)  # fmt: skip
def test_a_path_option_given_as_tilde_is_in_the_home_folder(tmp_path, monkeypatch, argv, option):
    """``billing run --reports=~/x``: the shell expands no ``~`` after ``=`` (nor in quotes, nor
    from a scheduler's settings), and the command took it as a folder named "~" in the working
    directory ("no such reports folder ~/x")."""
    from billing_lib.cli import build_parser

    monkeypatch.setenv("HOME", str(tmp_path))
    assert getattr(build_parser().parse_args(argv), option) == tmp_path / "x"


def test_report_files_given_as_tilde_are_in_the_home_folder(tmp_path, monkeypatch):
    from billing_lib.cli import build_parser

    monkeypatch.setenv("HOME", str(tmp_path))
    args = build_parser().parse_args(["import", "~/a.csv", "b.csv"])
    assert args.files == [tmp_path / "a.csv", Path("b.csv")]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BILLING_MEMORY_LIMIT", "lots", "expected an amount of memory such as 4GB"),
        ("BILLING_MEMORY_LIMIT", "0", "expected an amount of memory such as 4GB"),
        ("BILLING_MEMORY_LIMIT", "-1GB", "expected an amount of memory such as 4GB"),
        ("BILLING_MEMORY_LIMIT", "10KB", "at least 64MB"),
        ("BILLING_THREADS", "lots", "expected a whole number of threads from 1 to 1024"),
        ("BILLING_THREADS", "0", "expected a whole number of threads from 1 to 1024"),
        ("BILLING_THREADS", "-1", "expected a whole number of threads from 1 to 1024"),
        ("BILLING_THREADS", "99999", "expected a whole number of threads from 1 to 1024"),
    ],
)
@pytest.mark.parametrize("command", ["import", "run"])
def test_a_junk_store_setting_in_the_environment_is_refused_naming_it(
    tmp_path, monkeypatch, capsys, variable, value, expected, command
):
    """``BILLING_MEMORY_LIMIT=lots`` or ``BILLING_THREADS=lots`` ended ``billing import`` in a
    DuckDB or int() traceback, and ``billing run`` in "stopped in cell [3]: ValueError"; 0 threads
    was taken as unset, 99999 started that many threads. Refused before anything is read,
    naming the variable, what it holds and what is expected."""
    from tests.notebook_project import REPO

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    reports = REPO / "samples" / "2026-10" / "reports"
    argv = {
        "import": ["import", *map(str, sorted(reports.iterdir()))],
        "run": ["run", "--period", "2026-10", "--reports", str(reports), "--parameters",
                str(REPO / "parameters"), "--output", str(tmp_path / "out"), "--quiet"],
    }[command]  # fmt: skip
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: environment variable {variable}: {value!r}: "), err
    assert expected in err and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("memory", "threads", "expected"),
    [("4GB", "2", ("4GB", 2)), (" 1.5 GiB ", "", ("1.5 GiB", None)), ("80%", " 1 ", ("80%", 1)),
     ("", "", (None, None)), ("100mb", "1024", ("100mb", 1024))],
)  # fmt: skip
def test_the_store_settings_of_the_environment_are_read_as_duckdb_takes_them(
    monkeypatch, memory, threads, expected
):
    from billing_lib.store_limits import store_limits

    monkeypatch.setenv("BILLING_MEMORY_LIMIT", memory)
    monkeypatch.setenv("BILLING_THREADS", threads)
    assert store_limits() == expected


@pytest.mark.parametrize(
    ("argv", "command", "option", "values"),
    [
        (["run", "--period", "2026-10", "--reports", "r", "--period=2026-11"], "run", "--period",
         "'2026-10' and '2026-11'"),
        (["register", "list", "--series", "NW2026", "--series", "XX"], "register list",
         "--series", "'NW2026' and 'XX'"),
        (["finalise", "--period", "2026-10", "--output", "a", "--output", "b"], "finalise",
         "--output", "'a' and 'b'"),
        (["credit-note", "--invoice", "NW2026-000002", "--reason", "x", "--reason", "y"],
         "credit-note", "--reason", "'x' and 'y'"),
    ],
)  # fmt: skip
def test_an_option_given_twice_with_different_values_is_refused(
    tmp_path, monkeypatch, capsys, argv, command, option, values
):
    """``billing run --period 2026-10 ... --period=2026-11`` (a line edited by hand, a value
    appended by a script) billed 2026-11: argparse keeps the last value in silence, and
    ``register list --series NW2026 --series XX`` said "no numbers". Refused naming both values,
    before anything is read; the same value twice is taken."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"billing {command}: error: argument {option}: given twice, as {values}" in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_option_given_twice_with_the_same_value_is_taken():
    from billing_lib.cli import build_parser
    from billing_lib.cli_options import refuse_repeated

    argv = ["register", "list", "--series", "NW2026", "--series=NW2026"]
    parser = build_parser()
    args = parser.parse_args(argv)
    refuse_repeated(parser, args, argv)  # no SystemExit
    assert args.series == "NW2026"


def test_ctrl_c_as_the_command_starts_ends_it_without_a_traceback(monkeypatch, capsys):
    """Ctrl-C in the first tenth of a second of ``billing ...`` (while it imported its modules
    and built its parser, before ``main``'s handling) ended in a KeyboardInterrupt traceback.
    One line and 130, as a shell reports an interrupt."""
    from billing_lib import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["register", "list"]) == 130
    out, err = capsys.readouterr()
    assert out == "" and err == "error: interrupted as the command started; nothing was done\n"


def test_the_command_imports_its_modules_where_an_interrupt_is_handled():
    """The console script imports ``billing_lib.cli`` before ``main`` can handle Ctrl-C: that
    import loads no other module of the project (they are imported in ``main``)."""
    import subprocess
    import sys

    code = (
        "import sys, billing_lib.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('billing_lib')))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["['billing_lib',", "'billing_lib.cli']"]


@pytest.mark.parametrize(
    ("argv", "prog", "expected"),
    [
        ([], "billing", "{import,run,customers,finalise,credit-note,reissue,register}"),
        (["customers"], "billing customers", "{sync}"),
        (["register"], "billing register", "{list,rebuild}"),
    ],
)
def test_a_command_left_out_is_named_by_the_commands_there_are(capsys, argv, prog, expected):
    """``billing register`` alone said "the following arguments are required: register_command",
    a name of the code's; the commands to choose from instead."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{prog}: error: the following arguments are required: {expected}\n" in err, err
    assert "_command" not in err


def test_the_command_help_shows_no_markup_of_the_code(capsys):
    """``billing --help`` began "The ``billing`` command": the module docstring's reST quotes."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "The billing command: quick checks of vendor files" in " ".join(out.split()), out
    assert "``" not in out


@pytest.mark.parametrize("command", ["credit-note", "reissue"])
@pytest.mark.parametrize(
    ("given", "expected"),
    [(" 2026-11-05", "2026-11-05"), ("2026-11-05\t", "2026-11-05"), ("20261105", None),
     ("2026-W45-4", None), ("2026-11-5", None)],
)  # fmt: skip
def test_a_correction_issue_date_is_read_as_billing_run_reads_it(command, given, expected):
    """``billing run --issue-date ' 2026-11-01'`` (a pasted cell) is taken, the same date for a
    credit note was refused; and a credit note took ``20261105`` or an ISO week date
    (``2026-W45-4``) that ``billing run`` refuses. Both read a date as YYYY-MM-DD, spaces
    around it dropped."""
    import argparse
    from datetime import date

    from billing_lib.cli_corrections import parsed_issue_date
    from billing_lib.errors import ParameterError

    args = argparse.Namespace(issue_date=given)
    if expected is None:
        with pytest.raises(ParameterError, match="expected a date YYYY-MM-DD"):
            parsed_issue_date(args, command)
    else:
        assert parsed_issue_date(args, command) == date.fromisoformat(expected)
