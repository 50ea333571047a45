"""The ``billing`` command's options as typed by hand: an option a command does not have is
refused by that command, with its usage and the option meant, before anything is read."""

from __future__ import annotations

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
