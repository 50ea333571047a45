"""``billing customers sync --apply`` killed with ``kill -9`` (issue 9's leftovers, for the
parameters folder): real processes stopped at a named point (``billing_lib.faults``) and killed
there, then the next command on the same parameters folder.

``--apply`` writes both proposed files beside the parameters files (``.customers.yaml.sync``,
``.accounts.csv.sync``) and moves them in one after the other. Killed between the two moves,
customers.yaml held the new customer stubs and accounts.csv not their accounts: every run
billed half the proposal in silence, and the sync itself then proposed something other than
the diff reviewed. Killed before the moves, the two hidden files stayed for good.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from billing_lib import cli, run
from billing_lib.customer_files import APPLYING
from billing_lib.customers import load_account_mappings, load_customers
from billing_lib.run_state import load_settings
from tests.killed import killed_at
from tests.test_customer_sync import REPO, SAMPLE_REPORTS, write_platform

#: a real ``billing`` process per case, killed where it paused
pytestmark = pytest.mark.slow
LEFT = (".customers.yaml.sync", ".accounts.csv.sync")


def sync_args(tmp_path: Path, platform: Path, *extra: str) -> list[str]:
    return [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--platform", str(platform), "--parameters", str(tmp_path / "parameters"),
        "--output", str(tmp_path / "out"), *extra,
    ]  # fmt: skip


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    return write_platform(tmp_path / "platform")


@pytest.fixture
def reviewed(tmp_path, platform, capsys) -> dict[str, bytes]:
    """The sample parameters in ``tmp_path / "parameters"`` with the proposal reviewed (its diff
    written, nothing applied); the parameters files as they are then."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params, ignore=shutil.ignore_patterns("local"))
    assert cli.main(sync_args(tmp_path, platform)) == 0
    capsys.readouterr()
    return {p.name: p.read_bytes() for p in params.iterdir()}


def nothing_left(params: Path) -> None:
    assert sorted(p.name for p in params.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("then", ["sync", "run", "import"])
def test_a_sync_killed_between_its_two_files_is_finished_by_the_next_command(
    tmp_path,
    platform,
    reviewed,
    capsys,
    then,
):
    """Killed once customers.yaml was moved in and accounts.csv not: the next command (the sync
    again, or a run loading the parameters) moves the reviewed accounts.csv in too, says so,
    and reads both files as the proposal had them."""
    params = tmp_path / "parameters"
    killed_at("customers-sync-half-applied", sync_args(tmp_path, platform, "--apply"), tmp_path)
    assert (params / APPLYING).is_file()
    assert (params / "customers.yaml").read_bytes() != reviewed["customers.yaml"]
    assert (params / "accounts.csv").read_bytes() == reviewed["accounts.csv"]  # half applied
    if then == "sync":
        assert cli.main(sync_args(tmp_path, platform)) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed[-1] == "nothing to change"  # the whole proposal is in
    elif then == "import":  # billing import maps the accounts by the parameters too
        report = SAMPLE_REPORTS / "aws-cur2-northwind-2026-10-00001.snappy.parquet"
        assert cli.main(["import", "--parameters", str(params), "--json", str(report)]) == 0
        said = capsys.readouterr()
        json.loads(said.out)  # the cleaning said on standard error: the JSON stays JSON
        printed = said.err.splitlines()
    else:  # a run of the month (the notebook's first step), then its parameters loaded
        br = run.start("2026-10", SAMPLE_REPORTS, params, tmp_path / "outputs")
        try:
            printed = [f"cleaned up: {line}" for line in br.cleaned]
            assert len(br.load_parameters()) > 0
            assert len(br.loaded.account_mappings) == 22 + 6
        finally:
            br.lock.release()
    assert printed[0] == (
        "cleaned up: finished the billing customers sync --apply killed while applying its "
        f"proposal to {params}: accounts.csv"
    )
    nothing_left(params)
    customers = load_customers(params)
    assert customers["C011"].name == "Acme BV"
    assert len(load_account_mappings(params, customers)) == 22 + 6


def test_a_sync_killed_before_applying_leaves_the_files_as_they_were_and_nothing_behind(
    tmp_path,
    platform,
    reviewed,
    capsys,
):
    """Killed once both proposed files were written and before any was moved in: the parameters
    are as they were (a run reads them so), and the next sync removes the two hidden files,
    says so, and applies the reviewed proposal when asked."""
    params = tmp_path / "parameters"
    killed_at("customers-sync-written", sync_args(tmp_path, platform, "--apply"), tmp_path)
    assert sorted(p.name for p in params.iterdir() if p.name.startswith(".")) == sorted(LEFT)
    assert {p.name: p.read_bytes() for p in params.iterdir() if p.name not in LEFT} == reviewed
    load_settings(params)  # a run reads the folder as it was, and leaves the files alone
    assert cli.main(sync_args(tmp_path, platform, "--apply")) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [
        f"cleaned up: removed {name} from {params}: the unfinished proposal of a billing "
        "customers sync --apply that was killed; nothing was applied"
        for name in LEFT
    ], printed
    nothing_left(params)
    assert len(load_account_mappings(params, load_customers(params))) == 22 + 6
