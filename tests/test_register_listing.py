"""``billing register list``: the register as an auditor reads it. The sample month finalised,
NW2026-000002 credited and reissued: every number with the amounts its folder states, what it
corrects and what corrected it, each series checked from 1 up; a void number with its reason,
and numbers whose folder is not there said so, not skipped."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest

from billing_lib import cli
from billing_lib.corrections import issue_credit_note
from billing_lib.numbering import open_register
from billing_lib.register_listing import COLUMNS, register_listing, series_check
from billing_lib.reissue import reissue_invoice
from tests.notebook_project import PERIOD, REPO

REPORTS = REPO / "samples" / PERIOD / "reports"


@pytest.fixture(scope="module")
def corrected_month(finalised_sample_outputs, tmp_path_factory) -> Path:
    """The finalised sample month, NW2026-000002 credited and reissued with the parameters
    (made once for the module; each test gets a copy, ``outputs``)."""
    base = tmp_path_factory.mktemp("listing")
    out = Path(shutil.copytree(finalised_sample_outputs, base / "outputs"))
    issue_credit_note(out, "NW2026-000002", date(2026, 12, 3), "Wrong address")
    parameters = shutil.copytree(
        REPO / "parameters", base / "parameters", ignore=shutil.ignore_patterns("local")
    )
    reissue_invoice(out, "NW2026-000002", parameters, REPORTS, date(2026, 12, 4))
    return out


@pytest.fixture
def outputs(corrected_month, tmp_path) -> Path:
    """A private copy of ``corrected_month``."""
    return Path(shutil.copytree(corrected_month, tmp_path / "outputs"))


def summary_rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["invoice_number"]: r for r in csv.DictReader(fh)}


def test_every_number_is_listed_with_its_folder_s_amounts_and_corrections(outputs):
    listing = register_listing(outputs)
    assert list(listing.columns) == list(COLUMNS)
    assert list(listing["number"]) == [
        *(f"NW2026-{n:06d}" for n in range(1, 11)),
        "NWC2026-000001",
    ]
    stated = summary_rows(outputs / PERIOD / "invoice_summary.csv")
    for folder in ("corrections/NWC2026-000001", "corrections/NW2026-000010"):
        stated |= summary_rows(outputs / folder / "invoice_summary.csv")
    for row in listing.itertuples():
        assert (row.currency, row.net_amount, row.vat_amount, row.gross_amount) == tuple(
            stated[row.number][c] for c in ("currency", "net_amount", "vat_amount", "gross_amount")
        )
        assert row.status == "final" and row.period == PERIOD
    by = listing.set_index("number")
    assert by.loc["NW2026-000002", "corrected_by"] == "NWC2026-000001, NW2026-000010"
    assert (by.loc["NW2026-000002", "folder"], by.loc["NW2026-000002", "issue_date"]) == (
        "2026-10/",
        "2026-11-01",
    )
    reissued = by.loc["NW2026-000010"]
    assert (reissued["kind"], reissued["corrects"], reissued["folder"]) == (
        "invoice",
        "NW2026-000002",
        "corrections/NW2026-000010/",
    )
    assert reissued["customer_name"] == "Van Leeuwen Logistiek B.V."
    note = by.loc["NWC2026-000001"]
    assert (note["kind"], note["gross_amount"], note["note"]) == (
        "credit note",
        "-6898.56",
        "Wrong address",
    )
    assert series_check(listing) == [
        "NW2026: NW2026-000001 to NW2026-000010, 10 numbers, 0 void, none missing",
        "NWC2026: NWC2026-000001 to NWC2026-000001, 1 numbers, 0 void, none missing",
    ]
    assert list(register_listing(outputs, series="NWC2026")["number"]) == ["NWC2026-000001"]
    assert list(register_listing(outputs, customer="C002")["number"]) == [
        "NW2026-000002",
        "NW2026-000010",
        "NWC2026-000001",
    ]


def test_a_void_number_has_its_reason_and_a_number_without_its_folder_says_so(outputs):
    """November planned for three customers and recorded (no folder published: as a register
    restored from a backup newer than the folders would be), then again for two: the middle
    number is void, the others are listed as not in their folder."""
    register = open_register(outputs / "invoice_register.sqlite")
    register.reserve("NW2026", "2026-11", ["C001", "C002", "C003"], date(2026, 12, 1))
    register.reserve("NW2026", "2026-11", ["C001", "C003"], date(2026, 12, 1))
    listing = register_listing(outputs, period="2026-11").set_index("number")
    assert list(listing.index) == ["NW2026-000011", "NW2026-000012", "NW2026-000013"]
    void = listing.loc["NW2026-000012"]
    assert (void["status"], void["gross_amount"], void["folder"]) == ("void", "", "")
    assert void["note"] == (
        "customer had no invoice in a rerun before finalising; number never issued"
    )
    missing = listing.loc["NW2026-000011"]
    assert (missing["status"], missing["gross_amount"]) == ("reserved", "")
    assert missing["note"] == "not in its folder (2026-11/)"
    assert series_check(register_listing(outputs))[0] == (
        "NW2026: NW2026-000001 to NW2026-000013, 13 numbers, 1 void, none missing"
    )


def test_the_command_prints_the_list_and_writes_every_column_as_csv(outputs, tmp_path, capsys):
    target = tmp_path / "register.csv"
    assert cli.main(["register", "list", "--output", str(outputs), "--csv", str(target)]) == 0
    printed = capsys.readouterr().out
    assert "NW2026: NW2026-000001 to NW2026-000010, 10 numbers, 0 void, none missing" in printed
    assert f"written to {target}" in printed
    line = next(ln for ln in printed.splitlines() if ln.startswith("NWC2026-000001"))
    assert line.split()[:6] == ["NWC2026-000001", "credit", "note", "final", PERIOD, "2026-12-03"]
    with open(target, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS
    assert [r["number"] for r in rows] == list(register_listing(outputs)["number"])
    assert rows[9]["note"].startswith("This invoice replaces invoice NW2026-000002")


def test_a_number_typed_in_lower_case_is_refused_with_the_number_meant(outputs):
    from billing_lib.errors import BillingError, RunError

    with pytest.raises(
        RunError, match=r"unknown: the register has no such number \(did you mean NW2026-000003\?\)"
    ):
        issue_credit_note(outputs, "nw2026-000003", date(2026, 12, 3))
    with pytest.raises(BillingError, match="expected a month as YYYY-MM"):
        register_listing(outputs, period="2026-1")


def test_a_damaged_summary_is_named(outputs):
    from billing_lib.errors import RunError

    summary = outputs / "2026-10" / "invoice_summary.csv"
    summary.write_text("klant;factuur\nC001;1\n", encoding="utf-8")
    with pytest.raises(RunError, match=r"2026-10/invoice_summary.csv: not an invoice summary"):
        register_listing(outputs)


@pytest.mark.parametrize(
    "command",
    [
        ["credit-note", "--invoice", "NW2026-000003", "--reason", "x"],
        ["reissue", "--invoice", "NW2026-000003"],
        ["register", "list"],
    ],
)
def test_an_outputs_folder_missing_or_a_file_is_named(tmp_path, monkeypatch, capsys, command):
    """``--output`` left at its default ``outputs`` in a folder without one, a typo, or the
    register's file given for the folder: the message, not a FileNotFoundError or
    NotADirectoryError traceback; nothing is created."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "invoice_register.sqlite").write_bytes(b"")
    way = "--output must be the outputs folder of the billing runs"
    for given, what in (
        (None, "outputs: no such outputs folder"),
        ("nonexist", "nonexist: no such outputs folder"),
        ("invoice_register.sqlite", "invoice_register.sqlite: a file, not a folder"),
    ):
        args = command + ([] if given is None else ["--output", given])
        assert cli.main(args) == 2
        assert capsys.readouterr().err.startswith(f"error: {what}; {way}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoice_register.sqlite"]


def test_a_csv_given_as_a_folder_is_refused_before_anything_is_listed(outputs, tmp_path, capsys):
    """``--csv`` given a folder (where the file was meant to go): the message naming the option
    and the folder, exit 2, not an IsADirectoryError traceback from the rename; the folder is
    left as it was."""
    folder = tmp_path / "exports"
    folder.mkdir()
    assert cli.main(["register", "list", "--output", str(outputs), "--csv", str(folder)]) == 2
    printed = capsys.readouterr()
    err = printed.err
    assert err.startswith(f"error: billing register list, entry --csv: {folder}: a folder")
    assert printed.out == ""
    assert "Traceback" not in err
    assert list(folder.iterdir()) == []


def test_a_csv_in_a_folder_that_is_not_there_is_refused_and_nothing_created(
    outputs, tmp_path, capsys
):
    """``--csv some/missing/folder/register.csv`` (a typo of the folder) made the folders
    without a word, a tree of them for one typo: the listing is read only and, as for the
    outputs folder, nothing is created. Refused naming the option and the folder, before
    anything is listed; a file given for the folder is named as a file."""
    missing = tmp_path / "exprots" / "2026" / "register.csv"
    assert cli.main(["register", "list", "--output", str(outputs), "--csv", str(missing)]) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith(
        f"error: billing register list, entry --csv: {missing}: no such folder "
        f"{missing.parent}; expected a file in a folder that exists (nothing is created), "
        f"e.g. {outputs / 'register.csv'}"
    ), printed.err
    assert printed.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]
    (tmp_path / "exports").write_text("", encoding="utf-8")
    in_a_file = tmp_path / "exports" / "register.csv"
    assert cli.main(["register", "list", "--output", str(outputs), "--csv", str(in_a_file)]) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith(
        f"error: billing register list, entry --csv: {in_a_file}: {tmp_path / 'exports'} is a "
        "file, not a folder; expected a file in a folder that exists"
    ), printed.err
    assert printed.out == ""


@pytest.mark.parametrize(
    "target",
    ["invoice_register.sqlite", f"{PERIOD}/invoice_summary.csv", f"{PERIOD}/new.csv",
     "corrections/listing.csv"],
)  # fmt: skip
def test_a_csv_given_as_the_register_or_into_a_run_folder_is_refused(outputs, capsys, target):
    """``--csv outputs/invoice_register.sqlite`` (the file the list reads, tab-completed)
    replaced the invoice register with the CSV, every later command "not a readable invoice
    register"; ``--csv outputs/2026-10/invoice_summary.csv`` rewrote a file of a finalised run.
    Refused before anything is listed, every file as it was."""
    csv_file = outputs / target
    before = {p: p.read_bytes() for p in outputs.rglob("*") if p.is_file()}
    argv = ["register", "list", "--output", str(outputs), "--csv", str(csv_file)]
    assert cli.main(argv) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith(f"error: billing register list, entry --csv: {csv_file}: "), (
        printed.err
    )
    assert "give a file outside the run folders, e.g." in printed.err, printed.err
    assert printed.out == ""
    assert {p: p.read_bytes() for p in outputs.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("option", "given", "meant"),
    [
        ("--customer", "c002", "C002"),
        ("--series", "nw2026", "NW2026"),
        ("--customer", "C002 ", "C002"),
    ],
)
def test_a_filter_typed_in_another_case_is_refused_with_the_one_meant(
    outputs, capsys, option, given, meant
):
    """``--customer c002`` printed "no numbers" and exit 0, as for a customer never billed,
    though C002 has numbers: refused naming the option and the value meant."""
    assert cli.main(["register", "list", "--output", str(outputs), option, given]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: billing register list, entry {option}: no number for {given!r}; did you mean "
        f"{meant}?"
    ), err
    assert cli.main(["register", "list", "--output", str(outputs), option, meant]) == 0
    assert "no numbers" not in capsys.readouterr().out
