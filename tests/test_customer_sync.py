"""``billing customers sync``: platform exports read in their documented shapes, accounts matched by
tenant id, tag, domain or exact name (the rule shown), stubs for the rest, mappings of accounts that
left closed, the files edited in place, and --apply only for the reviewed proposal."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from billing_lib import cli, customer_files, customer_sync, run, sync_proposal
from billing_lib.account_matching import accounts_of_month
from billing_lib.customers import load_account_mappings, load_customers
from billing_lib.errors import InputError, ParameterError
from billing_lib.platform_exports import read_platform_folder
from tests.read_only import read_only

REPO = Path(__file__).resolve().parents[1]
SAMPLE_REPORTS = REPO / "samples" / "2026-10" / "reports"
DIJKSTRA_TENANT = "de6799dd-16e2-4542-8982-fcd5407b50a3"
ALPENBLICK_TENANT = "fe83a528-2229-4f24-b795-a5b44c878ac3"
NEW_TENANT = "0a1b2c3d-0000-4000-8000-00000000beef"
AZURE_SUB = "11111111-2222-4333-8444-555555555555"


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def aws_account(account: str, name: str, email: str, status: str = "ACTIVE") -> dict:
    return {
        "Id": account,
        "Arn": f"arn:aws:organizations::111111111111:account/o-abc/{account}",
        "Email": email,
        "Name": name,
        "Status": status,
        "JoinedMethod": "CREATED",
        "JoinedTimestamp": "2026-10-20T09:00:00+00:00",
    }


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """Exports of the sample reseller: the six rules' cases and two accounts that left."""
    return write_platform(tmp_path / "platform")


def write_platform(folder: Path) -> Path:
    """``folder`` with the exports of the ``platform`` fixture written into it."""
    write(
        folder / "aws-organizations-accounts.json",
        {
            "Accounts": [
                aws_account("402719385610", "dijkstra-prod", "aws@dijkstra-architecten.example"),
                aws_account("518204736291", "vll-prod", "aws@vanleeuwen-logistiek.example"),
                # 518204736307 (vll-dev) is missing: it left the organisation
                aws_account("630917254842", "zorg-ehr", "x@zorg.example", status="SUSPENDED"),
                aws_account("741852963014", "rheinwerk-iot", "aws@rheinwerk-mb.example"),
                aws_account("852963741025", "harborview", "aws@harborview-analytics.example"),
                aws_account("963741852036", "lumen-renderfarm", "aws@lumenmedia.example"),
                aws_account("174285396047", "northwind-lab", "lab@northwind-cloud.example"),
                # new accounts: by tag, by e-mail domain, by exact name, and two of a new customer
                aws_account("285396417058", "poc-sandbox-ams", "poc@unknown.example"),
                aws_account("300000000001", "gk-webshop", "it@goudenkorst.example"),
                aws_account("300000000002", "Schelde Data Services NV", "ops@elsewhere.example"),
                aws_account("300000000003", "acme-prod", "a@acme.example"),
                aws_account("300000000004", "acme-dev", "b@acme.example"),
            ]
        },
    )
    write(folder / "aws-tags-285396417058.json", {"Tags": [{"Key": "customer", "Value": "C007"}]})
    write(
        folder / "aws-tags-300000000003.json", {"Tags": [{"Key": "customer", "Value": "Acme BV"}]}
    )
    write(
        folder / "aws-tags-300000000004.json", {"Tags": [{"Key": "customer", "Value": "Acme BV"}]}
    )
    customers = [
        (t, n, d)
        for t, n, d in [
            (DIJKSTRA_TENANT, "Dijkstra Architecten B.V.", "dijkstraarchitecten.onmicrosoft.com"),
            (
                "88825278-08a8-4728-94af-fd0e00ff815f",
                "Van Leeuwen Logistiek B.V.",
                "vll.onmicrosoft.com",
            ),
            (
                "c348c81a-4cf5-4dfc-8faa-7047974d0238",
                "Bakkerij De Gouden Korst",
                "gk.onmicrosoft.com",
            ),
            ("570032ed-7e4a-4bb0-9409-2afd36814937", "Zorggroep Amstelland", "za.onmicrosoft.com"),
            (
                "39bd560b-19de-415f-918b-0c2b21a46df9",
                "Schelde Data Services NV",
                "sd.onmicrosoft.com",
            ),
            (
                "cabede65-d7f6-45ec-8b17-371710f8eaae",
                "Rheinwerk Maschinenbau GmbH",
                "rw.onmicrosoft.com",
            ),
            # Alpenblick (fe83a528-...) is missing: it left the reseller
            ("1698cf33-0128-4959-96da-9afd661e26c4", "Lumen Media B.V.", "lm.onmicrosoft.com"),
            ("8de64811-73ed-4e1e-913d-a807f586205a", "Northwind Cloud B.V.", "nw.onmicrosoft.com"),
            (NEW_TENANT, "Nieuwe Klant B.V.", "nieuweklant.onmicrosoft.com"),
        ]
    ]
    write(
        folder / "partner-center-customers.json",
        {
            "totalCount": len(customers),
            "items": [
                {
                    "id": t,
                    "companyProfile": {"tenantId": t, "domain": d, "companyName": n},
                    "relationshipToPartner": "reseller",
                    "attributes": {"objectType": "Customer"},
                }
                for t, n, d in customers
            ],
            "attributes": {"objectType": "Collection"},
        },
    )
    write(
        folder / f"partner-center-subscriptions-{DIJKSTRA_TENANT}.json",
        {
            "totalCount": 1,
            "items": [
                {
                    "id": "aaaaaaaa-0000-4000-8000-000000000001",
                    "entitlementId": AZURE_SUB,
                    "offerId": "DZH318Z0BPS6:0001",
                    "offerName": "Azure plan",
                    "friendlyName": "Azure plan",
                    "quantity": 1,
                    "unitType": "Usage-based",
                    "status": "active",
                    "billingCycle": "monthly",
                    "termDuration": "",
                }
            ],
        },
    )
    return folder


def proposal_for(platform: Path, seen: list[tuple[str, str, str | None]]) -> sync_proposal.Proposal:
    params = REPO / "parameters"
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    exports = read_platform_folder(platform)
    accounts = accounts_of_month(seen, exports)
    return sync_proposal.propose("2026-10", customers, mappings, accounts, exports)


def test_accounts_are_matched_by_tenant_tag_domain_and_exact_name_and_the_rest_get_stubs(platform):
    p = proposal_for(platform, [("microsoft", AZURE_SUB, "Azure plan")])
    assert [(r.csv_line(), r.rule) for r in p.rows] == [
        ("aws,285396417058,C007,,,poc-sandbox-ams", "tag customer=C007"),
        ("aws,300000000001,C003,,,gk-webshop", "domain goudenkorst.example"),
        (
            "aws,300000000002,C005,,,Schelde Data Services NV",
            "exact name 'Schelde Data Services NV'",
        ),
        ("aws,300000000003,C011,,,acme-prod", "new customer stub"),
        ("aws,300000000004,C011,,,acme-dev", "new customer stub"),
        (f"microsoft,{NEW_TENANT},C012,,,Nieuwe Klant B.V.", "new customer stub"),
        (f"microsoft,{AZURE_SUB},C001,,,Azure plan", f"tenant id {DIJKSTRA_TENANT}"),
    ]
    assert [(s.id, s.name, s.source) for s in p.stubs] == [
        ("C011", "Acme BV", "tag Acme BV"),
        ("C012", "Nieuwe Klant B.V.", f"microsoft account {NEW_TENANT}"),
    ]


def test_a_tag_naming_a_customer_id_in_another_case_matches_it(platform):
    """An AWS account tagged ``customer=c007`` (typed in lower case) got a new customer stub
    named c007, a second company for Alpenblick's account, though customer ids
    differ in more than case (``load_customers``): the tag names C007."""
    write(platform / "aws-tags-285396417058.json", {"Tags": [{"Key": "customer", "Value": "c007"}]})
    p = proposal_for(platform, [])
    assert [(r.csv_line(), r.rule) for r in p.rows][:1] == [
        ("aws,285396417058,C007,,,poc-sandbox-ams", "tag customer=c007")
    ]
    assert "c007" not in [s.name for s in p.stubs]


def test_accounts_that_left_get_their_open_mapping_closed_at_the_end_of_the_month(platform):
    p = proposal_for(platform, [])
    assert [
        (c.row, c.mapping.account_id, c.valid_to.isoformat(), c.reason) for c in p.closings
    ] == [
        (4, "518204736307", "2026-10-31", "not in AWS Organizations list-accounts"),
        (5, "630917254842", "2026-10-31", "status SUSPENDED in list-accounts"),
        (17, ALPENBLICK_TENANT, "2026-10-31", "not in the Partner Center customer list"),
    ]


def test_the_files_keep_every_other_line_and_comment_as_they_were(platform):
    p = proposal_for(platform, [])
    changes = customer_files.changes(REPO / "parameters", p)
    old_acc = (REPO / "parameters" / "accounts.csv").read_text().splitlines()
    new_acc = changes.accounts.splitlines()
    assert [n for n, (a, b) in enumerate(zip(old_acc, new_acc, strict=False)) if a != b] == [
        3,
        4,
        16,
    ]
    assert new_acc[3] == "aws,518204736307,C002,,2026-10-31,vll-dev"
    assert (
        new_acc[16]
        == f"microsoft,{ALPENBLICK_TENANT},C007,,2026-10-31,alpenblicktreuhand.onmicrosoft.com"
    )
    assert len(new_acc) == len(old_acc) + len(p.rows)
    old_cus = (REPO / "parameters" / "customers.yaml").read_text()
    assert changes.customers.startswith(old_cus)  # comments, flow lists, order: all kept
    assert changes.customers[len(old_cus) :] == (
        "  # proposed by billing customers sync 2026-10 from tag Acme BV: complete address, "
        "country, VAT number, invoice currency and group\n"
        "  - id: C011\n    name: Acme BV\n    address: [(address to be completed)]\n"
        "    country: NL\n    invoice_currency: EUR\n"
        "  # proposed by billing customers sync 2026-10 from microsoft account "
        f"{NEW_TENANT}: complete address, country, VAT number, invoice currency and group\n"
        "  - id: C012\n    name: Nieuwe Klant B.V.\n    address: [(address to be completed)]\n"
        "    country: NL\n    invoice_currency: EUR\n"
    )
    assert "+aws,300000000003,C011,,,acme-prod" in changes.diff
    assert "-aws,518204736307,C002,,,vll-dev" in changes.diff


def test_a_note_over_two_lines_does_not_move_the_closing_to_another_row(tmp_path, platform):
    """A note written over two lines in a spreadsheet (a quoted line break): the closing the summary
    names (vll-dev, row 4) is the row changed; it closed vll-prod, the row above, before."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    text = accounts.read_text()
    two_lines = 'aws,402719385610,C001,,,"dijkstra-prod\nsince 2019"\n'
    accounts.write_text(text.replace("aws,402719385610,C001,,,dijkstra-prod\n", two_lines))
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    exports = read_platform_folder(platform)
    p = sync_proposal.propose("2026-10", customers, mappings, {}, exports)
    assert [(c.row, c.mapping.account_id) for c in p.closings][:1] == [(4, "518204736307")]
    new = customer_files.changes(params, p).accounts
    assert two_lines in new
    assert "aws,518204736291,C002,,,vll-prod (owns the Compute Savings Plan)\n" in new
    assert "aws,518204736307,C002,,2026-10-31,vll-dev\n" in new
    accounts.write_text(new)
    reloaded = load_account_mappings(params, customers)
    assert [m.valid_to for m in reloaded[:3]] == [None, None, date(2026, 10, 31)]


def test_an_empty_row_a_spreadsheet_saved_does_not_move_the_closing_to_another_row(
    tmp_path, platform
):
    """An empty row (``,,,,,``, as a spreadsheet saves a blank line: skipped when the mappings
    are read) above the account that left: the closing the summary names (vll-dev, row 5) is
    the row changed; counted by the mappings read, it closed the row above, vll-prod, which
    stays in the organisation and whose November lines then went unmapped, while vll-dev's
    mapping stayed open."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    prod = "aws,402719385610,C001,,,dijkstra-prod\n"
    accounts.write_text(accounts.read_text().replace(prod, prod + ",,,,,\n"))
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    exports = read_platform_folder(platform)
    p = sync_proposal.propose("2026-10", customers, mappings, {}, exports)
    assert [(c.row, c.mapping.account_id) for c in p.closings][:1] == [(5, "518204736307")]
    new = customer_files.changes(params, p).accounts
    assert "aws,518204736291,C002,,,vll-prod (owns the Compute Savings Plan)\n" in new
    assert "aws,518204736307,C002,,2026-10-31,vll-dev\n" in new
    accounts.write_text(new)
    reloaded = {m.account_id: m.valid_to for m in load_account_mappings(params, customers)}
    assert reloaded["518204736291"] is None
    assert reloaded["518204736307"] == date(2026, 10, 31)


@pytest.mark.parametrize("line", ["", "# Van Leeuwen Logistiek, two accounts"])
def test_a_blank_line_above_a_closing_is_a_row_in_the_summary_and_the_diff(
    tmp_path, platform, line
):
    """A blank line (a text editor's) above the account that left: the summary named vll-dev's
    row as row 4, the line of vll-prod, which the analyst reviewing the proposal then checked
    instead. It is row 5, in the file, the spreadsheet and the diff; so with a comment line."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    prod = "aws,402719385610,C001,,,dijkstra-prod\n"
    accounts.write_text(accounts.read_text().replace(prod, prod + line + "\n"))
    assert accounts.read_text().splitlines()[4].startswith("aws,518204736307,C002,")  # row 5
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    exports = read_platform_folder(platform)
    p = sync_proposal.propose("2026-10", customers, mappings, {}, exports)
    assert [(c.row, c.mapping.account_id) for c in p.closings][:1] == [(5, "518204736307")]
    assert "  close accounts.csv row 5 (aws 518204736307 -> C002) valid_to 2026-10-31" in "\n".join(
        p.summary()
    )
    new = customer_files.changes(params, p).accounts
    assert new.splitlines()[2:5] == [
        line,
        "aws,518204736291,C002,,,vll-prod (owns the Compute Savings Plan)",
        "aws,518204736307,C002,,2026-10-31,vll-dev",
    ]


@pytest.mark.slow  # the sample month's reports read and matched three times
def test_sync_writes_a_diff_applies_only_the_reviewed_one_and_then_has_nothing_to_do(
    tmp_path, platform, capsys
):
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params, ignore=shutil.ignore_patterns("local"))
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--platform", str(platform), "--parameters", str(params), "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    before = {p.name: p.read_bytes() for p in params.iterdir()}
    assert cli.main([*args, "--apply"]) == 2  # nothing reviewed yet
    assert "no reviewed proposal" in capsys.readouterr().err
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "customers sync 2026-10: 3 account(s) matched to known customers, 2 new customer stub(s) "
        "with 3 account(s), 3 mapping(s) closed\n"
        "  add   aws,285396417058,C007,,,poc-sandbox-ams   [tag customer=C007]\n"
    )
    assert {p.name: p.read_bytes() for p in params.iterdir()} == before  # proposed, not written
    diff = tmp_path / "out" / "customers-sync-2026-10.diff"
    reviewed = diff.read_text()
    diff.write_text(reviewed.replace("C011", "C099"))  # not what sync proposes now
    assert cli.main([*args, "--apply"]) == 2
    assert "changed since it was written" in capsys.readouterr().err
    diff.write_bytes(reviewed.encode() + b"\xff")  # an editor's stray byte (a traceback before)
    assert cli.main([*args, "--apply"]) == 2
    assert "changed since it was written" in capsys.readouterr().err
    diff.write_text(reviewed)
    assert cli.main([*args, "--apply"]) == 0
    customers = load_customers(params)
    assert customers["C011"].name == "Acme BV" and customers["C011"].group is None
    assert len(load_account_mappings(params, customers)) == 22 + 6
    capsys.readouterr()
    assert cli.main(args) == 0
    assert capsys.readouterr().out == (
        "customers sync 2026-10: 0 account(s) matched to known customers, 0 new customer stub(s) "
        "with 0 account(s), 0 mapping(s) closed\nnothing to change\n"
    )


@pytest.mark.parametrize("target", ["parameters", "parameters/accounts.csv"])
def test_apply_to_a_read_only_parameters_folder_is_named_and_changes_nothing(
    tmp_path, platform, capsys, target
):
    """``--apply`` to parameters that cannot be written (a read-only share, a file locked): a
    traceback ("OSError: [Errno 30] Read-only file system: .../.customers.yaml.sync"), exit
    status 1; with accounts.csv alone locked, customers.yaml was written and accounts.csv not,
    half a proposal applied. Now one message naming the file, and neither file changed."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params, ignore=shutil.ignore_patterns("local"))
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--platform", str(platform), "--parameters", str(params), "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    assert cli.main(args) == 0
    before = {p.name: p.read_bytes() for p in params.iterdir()}
    capsys.readouterr()
    with read_only(tmp_path / target):
        assert cli.main([*args, "--apply"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    failed = "accounts.csv" if target.endswith("accounts.csv") else "customers.yaml"
    assert err.startswith(f"error: {params / failed}: the folder cannot be written"), err
    assert "Nothing was applied" in err and "make the parameters folder" in err, err
    assert {p.name: p.read_bytes() for p in params.iterdir()} == before
    assert cli.main([*args, "--apply"]) == 0  # writable again: applied


def test_an_outputs_path_that_is_a_file_is_named(tmp_path, platform, capsys):
    """``--output`` naming a file (a typo, the register's file): "FileExistsError" traceback."""
    (tmp_path / "out").write_text("")
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--platform", str(platform), "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    capsys.readouterr()
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'out'}: a file, not a folder"), err
    assert "nothing was written" in err and "Traceback" not in err


@pytest.mark.parametrize("into", ["reports", "parameters"])
@pytest.mark.parametrize("how", ["--output", "--diff"])
def test_a_proposal_into_the_reports_or_parameters_folder_is_refused(
    tmp_path, platform, capsys, into, how
):
    """``billing customers sync --output REPORTS`` (the folders' options swapped) wrote
    customers-sync-2026-10.diff among the vendor reports (the next run's reports folder), or
    among the parameters; ``billing run`` refuses such an outputs folder. Refused the same way,
    nothing written."""
    reports, parameters = tmp_path / "reports", tmp_path / "parameters"
    shutil.copytree(SAMPLE_REPORTS, reports)
    shutil.copytree(REPO / "parameters", parameters)
    folder = {"reports": reports, "parameters": parameters}[into]
    target = folder if how == "--output" else folder / "sync.diff"
    before = sorted(p.name for p in folder.iterdir())
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(reports),
        "--parameters", str(parameters), "--platform", str(platform), how, str(target),
    ]  # fmt: skip
    capsys.readouterr()
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: billing customers sync, entry {how}: {target}: in the {into} folder {folder}: "
        f"the proposal would be mixed with the {into}"
    ), err
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_diff_given_as_the_invoice_register_is_refused(tmp_path, platform, capsys):
    """``--diff outputs/invoice_register.sqlite`` replaced the invoice register with the
    proposal. Refused before anything is read, the register as it was."""
    out = tmp_path / "out"
    out.mkdir()
    register = out / "invoice_register.sqlite"
    register.write_bytes(b"SQLite format 3\x00")
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--platform", str(platform), "--output", str(out), "--diff", str(register),
    ]  # fmt: skip
    capsys.readouterr()
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: billing customers sync, entry --diff: {register}: the invoice register"
    ), err
    assert register.read_bytes() == b"SQLite format 3\x00"


def test_a_platform_path_that_is_a_file_is_named_as_a_file(tmp_path, platform, capsys):
    """``--platform`` naming one export file instead of their folder: "no such folder of platform
    exports", as if the path did not exist. Named as a file, with the folder it is in."""
    export = next(p for p in sorted(platform.iterdir()) if p.is_file())
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--platform", str(export), "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    capsys.readouterr()
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {export}: a file, not a folder; expected the folder of the platforms' exports "
        f"(e.g. {platform})"
    ), err
    assert not (tmp_path / "out").exists()


def test_a_subscription_goes_to_the_customer_its_tenant_has_in_the_month(tmp_path, platform):
    """Dijkstra's tenant was Lumen Media's until September (its row below Dijkstra's): the Azure
    plan subscription of the tenant is proposed for Dijkstra, not for Lumen Media, which left."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    text = accounts.read_text()
    row = f"microsoft,{DIJKSTRA_TENANT},C001,,,"
    assert row in text
    accounts.write_text(
        text.replace(
            row,
            f"microsoft,{DIJKSTRA_TENANT},C001,2026-10-01,,taken over from Lumen Media\n"
            f"microsoft,{DIJKSTRA_TENANT},C009,,2026-09-30,",
        )
    )
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    exports = read_platform_folder(platform)
    seen = [("microsoft", AZURE_SUB, "Azure plan")]
    accounts_seen = accounts_of_month(seen, exports)
    p = sync_proposal.propose("2026-10", customers, mappings, accounts_seen, exports)
    [sub] = [r for r in p.rows if r.account_id == AZURE_SUB]
    assert (sub.customer_id, sub.rule) == ("C001", f"tenant id {DIJKSTRA_TENANT}")
    p = sync_proposal.propose("2026-09", customers, mappings, accounts_seen, exports)
    [sub] = [r for r in p.rows if r.account_id == AZURE_SUB]
    assert sub.customer_id == "C009"


def test_a_file_of_no_documented_shape_is_refused_naming_it(tmp_path):
    folder = tmp_path / "platform"
    write(folder / "something.json", {"value": []})
    with pytest.raises(
        InputError, match=r"something.json: not a platform export this workbench reads"
    ):
        read_platform_folder(folder)
    (folder / "something.json").unlink()
    write(folder / "tags.json", {"Tags": []})
    with pytest.raises(
        InputError, match=r"tags.json: .*12-digit account id at the end of the file name"
    ):
        read_platform_folder(folder)
    (folder / "tags.json").unlink()
    write(folder / "accounts.json", {"Accounts": [{"Id": "12345", "Name": "x"}]})
    with pytest.raises(InputError, match=r"Accounts\[0\].Id.*12-digit account id; got '12345'"):
        read_platform_folder(folder)


@pytest.mark.parametrize(
    ("name", "data", "where"),
    [
        (
            "accounts.json",
            {"Accounts": [aws_account("300000000001", "a", "a@x.example"), None]},
            r"Accounts\[1\]",
        ),
        (
            "aws-tags-300000000001.json",
            {"Tags": [{"Key": "k", "Value": "v"}, "customer"]},
            r"Tags\[1\]",
        ),
        (
            "partner-center-subscriptions.json",
            {"items": [{"offerId": "X", "id": "s"}, 7]},
            r"items\[1\]",
        ),
    ],
    ids=["account", "tag", "subscription"],
)
def test_a_list_member_that_is_no_json_object_is_named(tmp_path, name, data, where):
    """An edited export with a stray value in its list (an AttributeError before)."""
    write(tmp_path / "platform" / name, data)
    with pytest.raises(InputError, match=rf"{name}: not a platform export as documented") as err:
        read_platform_folder(tmp_path / "platform")
    [problem] = err.value.problems
    assert re.fullmatch(where, problem.column) and "a JSON object" in problem.expected


def test_a_partner_center_item_with_links_of_another_shape_takes_the_tenant_from_the_name(tmp_path):
    tenant = "de6799dd-16e2-4542-8982-fcd5407b50a3"
    write(
        tmp_path / "platform" / f"partner-center-subscriptions-{tenant}.json",
        {"items": [{"offerId": "CFQ7TTC0LF8Q", "id": "sub-1", "links": ["self"], "quantity": 3}]},
    )
    [sub] = read_platform_folder(tmp_path / "platform").subscriptions
    assert (sub.tenant_id, sub.quantity) == (tenant, 3)


def test_a_portal_csv_export_in_a_spreadsheets_code_page_names_the_row(tmp_path):
    folder = tmp_path / "platform"
    folder.mkdir()
    (folder / "customers.csv").write_bytes(
        f"Company name,Microsoft ID,Primary domain name\nZürich AG,{NEW_TENANT},z.example\n".encode(
            "latin-1"
        )
    )
    with pytest.raises(InputError, match="customers.csv: expected UTF-8 text") as err:
        read_platform_folder(folder)
    assert [p.row for p in err.value.problems] == [2]


def test_the_portal_csv_export_of_customers_is_read(tmp_path):
    folder = tmp_path / "platform"
    folder.mkdir()
    (folder / "customers.csv").write_text(
        "Company name,Microsoft ID,Primary domain name,Country\n"
        f"Nieuwe Klant B.V.,{NEW_TENANT.upper()},nieuweklant.onmicrosoft.com,NL\n",
        encoding="utf-8",
    )
    [c] = read_platform_folder(folder).customers
    assert (c.tenant_id, c.company_name, c.domain, c.source) == (
        NEW_TENANT,
        "Nieuwe Klant B.V.",
        "nieuweklant.onmicrosoft.com",
        "customers.csv row 2",
    )


def test_the_runs_unmapped_report_names_the_line_to_add_and_the_customer_it_would_match(
    tmp_path, platform
):
    br = run.start("2026-10", str(SAMPLE_REPORTS), str(REPO / "parameters"), str(tmp_path / "out"))
    br.load_parameters()
    br.import_reports()
    unmapped = br.map_customers()
    assert list(zip(unmapped["add_to_accounts_csv"], unmapped["would_match"], strict=True)) == [
        (
            "aws,285396417058,C011,,,poc-sandbox-ams",
            "no known customer: new customer C011 (billing customers sync)",
        )
    ]
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    shutil.copytree(platform, reports / "platform")  # the tag names Alpenblick
    br = run.start("2026-10", str(reports), str(REPO / "parameters"), str(tmp_path / "out"))
    br.load_parameters()
    br.import_reports()
    unmapped = br.map_customers()
    assert list(unmapped["would_match"]) == ["C007 Alpenblick Treuhand AG by tag customer=C007"]


def _reports_with_an_unnamed_focus_account(tmp_path: Path) -> Path:
    """The sample reports and a FOCUS export of one line of an account no customer has, from
    provider none (vendor ``unknown``), with neither SubAccountName nor BillingAccountName."""
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    (reports / "focus-2026-10.csv").write_text(
        "BilledCost,BillingCurrency,BillingAccountId,ChargeCategory,ChargePeriodStart\n"
        "12.50,EUR,focus-acct-1,Usage,2026-10-05T00:00:00Z\n",
        encoding="utf-8",
    )
    return reports


def test_an_unmapped_account_without_a_name_is_reported(tmp_path):
    """A report naming no account (a FOCUS export without SubAccountName or BillingAccountName):
    its account's name is missing in the run's unmapped table (NaN in pandas), and the suggestion
    is made from its id alone, not a failure of the run."""
    reports = _reports_with_an_unnamed_focus_account(tmp_path)
    br = run.start("2026-10", str(reports), str(REPO / "parameters"), str(tmp_path / "out"))
    br.load_parameters()
    br.import_reports()
    unmapped = br.map_customers()
    [row] = unmapped[unmapped["account_id"] == "focus-acct-1"].to_dict("records")
    assert row["add_to_accounts_csv"] == "unknown,focus-acct-1,C012,,,focus-acct-1"
    assert row["would_match"] == "no known customer: new customer C012 (billing customers sync)"


def test_an_account_mapped_on_other_days_only_is_reported_with_its_spans(tmp_path):
    """The first half of a mid-month move left out of accounts.csv: those lines are unmapped, and
    the report says which dates accounts.csv covers (the run stopped on a KeyError before)."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params)
    accounts = params / "accounts.csv"
    moved = "aws,963741852036,C009,"
    lines = accounts.read_text().splitlines()
    accounts.write_text("".join(f"{x}\n" for x in lines if not x.startswith(moved)))
    br = run.start("2026-10", str(SAMPLE_REPORTS), str(params), str(tmp_path / "out"))
    br.load_parameters()
    br.import_reports()
    unmapped = br.map_customers().set_index("account_id")
    assert unmapped.loc["963741852036", "add_to_accounts_csv"] == ""
    assert unmapped.loc["963741852036", "would_match"] == (
        "accounts.csv maps it on other days only (C001 from 2026-10-16 to the end): widen those "
        "dates or add a line for the days without a customer"
    )


def test_vmware_usage_without_prices_is_read_with_the_contract_prices(tmp_path, platform):
    """A Usage Meter export without prices among the month's reports: sync prices it from the
    parameters' vendor_prices.yaml, as the run does, and sees its customer labels."""
    reports = tmp_path / "reports"
    shutil.copytree(SAMPLE_REPORTS, reports)
    (reports / "vmware-usage-meter-customer-monthly-usage-2026-10.csv").unlink()
    data = REPO / "tests" / "data" / "vmware-usage"
    shutil.copy(data / "customer-monthly-usage-2026-10.tsv", reports / "um-customers.tsv")
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params, ignore=shutil.ignore_patterns("local"))
    with pytest.raises(InputError, match=r"there is no .*vendor_prices.yaml \(no such file\) for"):
        customer_sync.sync("2026-10", reports, params, platform)
    shutil.copy(data / "vendor_prices.yaml", params / "vendor_prices.yaml")
    proposal, _ = customer_sync.sync("2026-10", reports, params, platform)
    assert proposal.period == "2026-10"
    assert not [r for r in proposal.rows if r.vendor == "vmware"]  # every label is mapped


def test_without_platform_exports_the_reports_accounts_are_matched_and_nothing_is_closed():
    params = REPO / "parameters"
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    seen = [
        ("vmware", "schelde-data", "schelde-data"),  # mapped: nothing to do
        ("vmware", "acme-cloud", "acme-cloud"),  # a VMware customer label no row maps
        ("aws", "300000000009", "Lumen Media B.V."),  # named exactly like a customer
    ]
    p = sync_proposal.propose("2026-10", customers, mappings, accounts_of_month(seen, None), None)
    assert [(r.csv_line(), r.rule) for r in p.rows] == [
        ("aws,300000000009,C009,,,Lumen Media B.V.", "exact name 'Lumen Media B.V.'"),
        ("vmware,acme-cloud,C011,,,acme-cloud", "new customer stub"),
    ]
    assert [(s.id, s.source) for s in p.stubs] == [("C011", "vmware account acme-cloud")]
    assert p.closings == []


def test_an_account_mapped_from_a_later_month_is_proposed_up_to_the_day_before(tmp_path):
    """poc-sandbox-ams goes to Gouden Korst from November, yet bills in October: the row proposed
    for October ends on 31 October. It was open-ended, overlapping the November row: sync stopped
    on "already mapped" naming a temporary file, and the run's unmapped report gave that line."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    accounts.write_text(
        accounts.read_text()
        + "aws,285396417058,C003,2026-11-01,,from November\n"
        + "aws,300000000009,C009,,2026-09-30,until September\n"
        + "aws,300000000009,C003,2026-11-15,,from 15 November\n"
    )
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    seen = [("aws", "285396417058", "poc-sandbox-ams"), ("aws", "300000000009", "gk-shop")]
    p = sync_proposal.propose("2026-10", customers, mappings, accounts_of_month(seen, None), None)
    assert [r.csv_line() for r in p.rows] == [
        "aws,285396417058,C011,,2026-10-31,poc-sandbox-ams",
        "aws,300000000009,C012,2026-10-01,2026-11-14,gk-shop",
    ]
    customer_files.check_loadable(params, customer_files.changes(params, p))  # no overlap
    found = customer_sync.unmapped_suggestions(seen[:1], "2026-10", customers, mappings, None)
    assert found[("aws", "285396417058")][0] == "aws,285396417058,C011,,2026-10-31,poc-sandbox-ams"


def test_an_account_whose_row_lost_its_leading_zeros_is_named_not_given_a_new_customer(tmp_path):
    """accounts.csv saved by a spreadsheet maps 2719385610 for the account 002719385610: the
    report's lines are unmapped, and the report says which row it is, instead of proposing a new
    customer for them."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    accounts.write_text(accounts.read_text() + "aws,2719385610,C003,,,bakery-web\n")
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    found = customer_sync.unmapped_suggestions(
        [("aws", "002719385610", "bakery-web"), ("aws", "285396417058", "poc-sandbox-ams")],
        "2026-10",
        customers,
        mappings,
        None,
    )
    assert found[("aws", "002719385610")] == (
        "",
        "accounts.csv maps 2719385610 to C003: this account with its leading zeros dropped "
        "(saved by a spreadsheet?); write it as 002719385610",
    )
    assert found[("aws", "285396417058")][1].startswith("no known customer: new customer")


def test_a_label_whose_row_is_written_in_another_case_is_named_not_given_a_new_customer(tmp_path):
    """accounts.csv maps the VMware label Schelde-Data, the Usage Meter writes schelde-data: the
    lines are unmapped (ids are compared exactly), and the report names the row to fix instead of
    proposing a new customer for Schelde Data's usage."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    text = accounts.read_text()
    assert "vmware,schelde-data,C005," in text
    accounts.write_text(text.replace("vmware,schelde-data,C005,", "vmware,Schelde-Data,C005,"))
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    found = customer_sync.unmapped_suggestions(
        [("vmware", "schelde-data", "schelde-data")], "2026-10", customers, mappings, None
    )
    assert found[("vmware", "schelde-data")] == (
        "",
        "accounts.csv maps Schelde-Data to C005: this account in another case (ids are compared "
        "exactly); write it as the report does, schelde-data",
    )


@pytest.mark.parametrize(
    ("report", "what"),
    [
        ("schelde  data", "with other spaces"),
        ("Schelde  Data", "in another case and with other spaces"),
    ],
)
def test_a_label_whose_row_is_written_with_other_spaces_is_named_not_given_a_new_customer(
    tmp_path, report, what
):
    """accounts.csv maps the VMware label 'schelde data', one Usage Meter writes it with two
    spaces: the report proposed a new customer C011 for Schelde Data's usage (a second customer
    for one), instead of naming the row that means it."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    text = accounts.read_text()
    accounts.write_text(text.replace("vmware,schelde-data,C005,", "vmware,schelde data,C005,"))
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    found = customer_sync.unmapped_suggestions(
        [("vmware", report, report)], "2026-10", customers, mappings, None
    )
    assert found[("vmware", report)] == (
        "",
        f"accounts.csv maps schelde data to C005: this account {what} (ids are compared "
        f"exactly); write it as the report does, {report}",
    )


def test_a_label_whose_row_is_spaced_otherwise_is_named_not_given_a_new_customer(tmp_path):
    """accounts.csv maps the VMware label ``Gouden  Korst`` (two spaces, typed by hand), the
    Usage Meter writes ``gouden korst``: the lines were unmapped and a new customer was proposed
    for the bakery's usage. The report names the row to fix, as for a label in another case."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    accounts.write_text(accounts.read_text() + "vmware,Gouden  Korst,C003,,,typed by hand\n")
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    seen = [("vmware", "gouden korst", "gouden korst")]
    found = customer_sync.unmapped_suggestions(seen, "2026-10", customers, mappings, None)
    assert found[("vmware", "gouden korst")] == (
        "",
        "accounts.csv maps Gouden  Korst to C003: this account in another case and with other "
        "spaces (ids are compared exactly); write it as the report does, gouden korst",
    )
    p = sync_proposal.propose("2026-10", customers, mappings, accounts_of_month(seen, None), None)
    assert (p.rows, p.stubs) == ([], [])
    assert [(f.row, f.account_id) for f in p.fixes] == [(24, "gouden korst")]


def test_sync_fixes_a_row_in_another_case_or_without_its_zeros_instead_of_a_new_customer(
    tmp_path,
):
    """accounts.csv maps the VMware label Schelde-Data (the Usage Meter writes schelde-data) and
    the AWS account 2719385610 (the report writes 002719385610): sync proposed new customers C011
    and C012 for accounts these rows mean. It now proposes to rewrite each row's account_id as the
    report writes it, naming the row, as the run's unmapped report does."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    text = accounts.read_text()
    assert text.splitlines()[21].startswith("vmware,schelde-data,C005,")  # row 22
    accounts.write_text(
        text.replace("vmware,schelde-data,C005,", "vmware,Schelde-Data,C005,")
        + "aws,2719385610,C003,,,bakery-web\n"  # row 24
    )
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    seen = [("vmware", "schelde-data", "schelde-data"), ("aws", "002719385610", "bakery-web")]
    p = sync_proposal.propose("2026-10", customers, mappings, accounts_of_month(seen, None), None)
    assert (p.rows, p.stubs, p.closings) == ([], [], [])
    assert p.summary() == [
        "customers sync 2026-10: 0 account(s) matched to known customers, 0 new customer stub(s) "
        "with 0 account(s), 0 mapping(s) closed, 2 accounts.csv id(s) fixed",
        "  fix   accounts.csv row 24 (aws 2719385610 -> C003) account_id 002719385610: "
        "accounts.csv maps 2719385610 to C003: this account with its leading zeros dropped "
        "(saved by a spreadsheet?); write it as 002719385610",
        "  fix   accounts.csv row 22 (vmware Schelde-Data -> C005) account_id schelde-data: "
        "accounts.csv maps Schelde-Data to C005: this account in another case (ids are compared "
        "exactly); write it as the report does, schelde-data",
    ]
    changes = customer_files.changes(params, p)
    assert [line for line in changes.diff.splitlines() if line[:1] in "+-"] == [
        "--- a/accounts.csv",
        "+++ b/accounts.csv",
        "-vmware,Schelde-Data,C005,,,Usage Meter customer label",
        "+vmware,schelde-data,C005,,,Usage Meter customer label",
        "-aws,2719385610,C003,,,bakery-web",
        "+aws,002719385610,C003,,,bakery-web",
    ]
    diff = tmp_path / "reviewed.diff"
    diff.write_text(changes.diff)
    customer_files.apply(params, changes, diff)
    mappings = load_account_mappings(params, customers)
    again = sync_proposal.propose(
        "2026-10", customers, mappings, accounts_of_month(seen, None), None
    )
    assert again.empty


def test_an_account_id_saved_in_scientific_notation_is_refused_naming_the_row(tmp_path):
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    accounts = params / "accounts.csv"
    text = accounts.read_text()
    assert "aws,402719385610,C001," in text
    accounts.write_text(text.replace("aws,402719385610,C001,", "aws,4.02719E+11,C001,"))
    with pytest.raises(ParameterError) as raised:
        load_account_mappings(params, load_customers(params))
    assert str(raised.value) == (
        f"{accounts}, entry row 2, column account_id: expected the account id as the vendor "
        "writes it (e.g. 402719385610), not a long number as a spreadsheet writes it: "
        "accounts.csv was saved by a spreadsheet; write the id in full (a text editor, or the "
        "column formatted as text); got '4.02719E+11'"
    )


def test_an_unmapped_line_of_a_vendor_products_yaml_lacks_stops_invoicing_naming_the_entry(
    tmp_path,
):
    """The ledger books unmapped and excluded lines as the vendor's bill (not billed to a
    customer) to the vendor's payable account: a vendor products.yaml does not list stops the run
    before any number is taken, naming the entry to add, as it does for rated lines (the ledger
    step failed on a KeyError before)."""
    reports = _reports_with_an_unnamed_focus_account(tmp_path)
    out = tmp_path / "out"
    br = run.start("2026-10", str(reports), str(REPO / "parameters"), str(out))
    br.load_parameters()
    br.import_reports()
    br.map_customers()
    br.rate()
    with pytest.raises(ParameterError) as caught:
        br.build_invoices()
    assert "products.yaml, vendors: no entry 'unknown' (payable account) for 1 unmapped" in str(
        caught.value
    )
    assert not out.exists() or not any(out.rglob("*.xlsx"))


def test_a_new_customer_is_not_given_the_id_of_a_removed_customer_the_register_invoiced(
    tmp_path, capsys
):
    """C011 (poc-sandbox-ams) was invoiced, then removed from customers.yaml and accounts.csv
    when it left. The next new account's stub was C011 again: the new company got the removed
    one's invoice numbers, credit notes and history in the register, the margin analysis and
    the review (not listed as a new customer), and a reissue of the old company's invoice
    would bill the new one. The id is skipped, by sync and by the run's unmapped report."""
    from billing_lib.numbering import open_register

    params = shutil.copytree(
        REPO / "parameters", tmp_path / "parameters", ignore=shutil.ignore_patterns("local")
    )
    out = tmp_path / "out"
    open_register(out / "invoice_register.sqlite").reserve(
        "NW2026", "2026-09", ["C001", "C011"], date(2026, 10, 1)
    )
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--parameters", str(params), "--output", str(out),
    ]  # fmt: skip
    assert cli.main(args) == 0
    said = capsys.readouterr().out
    assert "  add   aws,285396417058,C012,,,poc-sandbox-ams" in said
    assert "C011" not in said
    unmapped = pd.DataFrame(
        {"vendor": ["aws"], "account_id": ["285396417058"], "account_name": ["poc-sandbox-ams"]}
    )
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    customer_sync.add_suggestions(
        unmapped, "2026-10", customers, mappings, SAMPLE_REPORTS, output=out
    )
    assert unmapped["add_to_accounts_csv"].tolist() == ["aws,285396417058,C012,,,poc-sandbox-ams"]


def test_a_subscription_is_proposed_for_its_tenants_customer_named_in_the_months_lines(tmp_path):
    """An Azure subscription unmapped in a FOCUS export whose name matches another customer
    exactly, and which the month's Partner Center lines name under Zorggroep's tenant (C004): a
    subscription's row now maps its Partner Center lines before its tenant's, so a row for the
    customer its name matched would move them away from C004. It is proposed for C004, by its
    tenant."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    customers = load_customers(params)
    mappings = load_account_mappings(params, customers)
    sub = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04"
    seen = [("microsoft", sub, customers["C002"].name)]
    by_name = customer_sync.unmapped_suggestions(seen, "2026-10", customers, mappings, None)
    assert by_name[("microsoft", sub)][1].startswith("C002 ")  # by its name, as before
    found = customer_sync.unmapped_suggestions(
        seen,
        "2026-10",
        customers,
        mappings,
        None,
        tenants={sub: "570032ed-7e4a-4bb0-9409-2afd36814937"},
    )
    assert found[("microsoft", sub)][0].startswith(f"microsoft,{sub},C004,")
    assert "tenant id 570032ed-7e4a-4bb0-9409-2afd36814937" in found[("microsoft", sub)][1]


def test_sync_proposes_no_row_for_a_tenant_its_subscriptions_rows_map(tmp_path):
    """A tenant accounts.csv has no row for, whose every line a row of its subscription maps:
    nothing of it is unmapped, so no row (and no new customer) is proposed for it."""
    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(
        REPO / "samples" / "2026-10" / "reports" / "ms-daily-rated-usage-G052026103.csv", reports
    )
    accounts = params / "accounts.csv"
    text = accounts.read_text().replace(
        "microsoft,570032ed-7e4a-4bb0-9409-2afd36814937,C004,,,",
        "microsoft,9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04,C004,,,",
    )
    accounts.write_text(text)
    proposal, _ = customer_sync.sync("2026-10", reports, params)
    assert not [r for r in proposal.rows if r.account_id.startswith("570032ed")]
    assert not proposal.stubs


def test_a_subscription_row_alone_bills_and_the_tenant_row_proposed_swallows_nothing(tmp_path):
    """accounts.csv has a row for one Azure subscription of Zorggroep's tenant (given to Van
    Leeuwen, C002) and none for the tenant. A run bills the subscription's 93 daily lines (EUR
    643.53) to C002 and reports the tenant's licences as unmapped; the row the unmapped report
    and `billing customers sync` propose for the tenant maps only those: once added, the
    subscription's lines stay with C002 (its row comes first), nothing is left unmapped."""
    params = Path(
        shutil.copytree(
            REPO / "parameters", tmp_path / "parameters", ignore=shutil.ignore_patterns("local")
        )
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("ms-daily-rated-usage-G052026103.csv", "ms-invoice-reconciliation-G052026103.csv"):
        shutil.copy(SAMPLE_REPORTS / name, reports)
    tenant, sub = "570032ed-7e4a-4bb0-9409-2afd36814937", "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04"
    accounts = params / "accounts.csv"
    accounts.write_text(
        accounts.read_text().replace(f"microsoft,{tenant},C004,,,", f"microsoft,{sub},C002,,,")
    )

    def billed(out: str) -> tuple[object, dict]:
        br = run.start("2026-10", str(reports), str(params), str(tmp_path / out))
        br.load_parameters()
        br.import_reports()
        unmapped = br.map_customers()
        br.rate()
        got = br.con.execute(
            "SELECT x_CustomerId, count(*), sum(BilledCost) FROM customer_lines "
            "WHERE SubAccountId = ? GROUP BY 1",
            [tenant],
        ).fetchall()
        return unmapped, {c: (n, cost) for c, n, cost in got}

    unmapped, by_customer = billed("out1")
    assert unmapped[["vendor", "account_id", "lines"]].values.tolist() == [["microsoft", tenant, 3]]
    [row] = unmapped["add_to_accounts_csv"]
    assert row.startswith(f"microsoft,{tenant},C004,,,")
    assert by_customer[None][0] == 3 and by_customer["C002"] == (93, Decimal("643.526990"))
    proposal, _ = customer_sync.sync("2026-10", reports, params)
    assert [(r.account_id, r.customer_id) for r in proposal.rows] == [(tenant, "C004")]
    with accounts.open("a", encoding="utf-8") as fh:
        fh.write(row + "\n")
    unmapped, by_customer = billed("out2")
    assert unmapped.empty
    assert by_customer["C002"] == (93, Decimal("643.526990")) and by_customer["C004"][0] == 3


def test_a_delivery_manifest_among_the_reports_checks_the_delivery_and_is_no_report(tmp_path):
    """As a run: the AWS delivery's -Manifest.json in the reports folder is read to check that
    every part it lists is given (here one of three), never as a report."""
    from tests.test_delivery_manifests import _data_exports_manifest, _three_parts

    params = shutil.copytree(REPO / "parameters", tmp_path / "parameters")
    reports = tmp_path / "reports"
    reports.mkdir()
    parts = _three_parts(reports)
    manifest = _data_exports_manifest(reports / "northwind-Manifest.json", [p.name for p in parts])
    assert customer_sync.sync("2024-05", reports, params)[0].rows  # the accounts of the month
    parts[2].unlink()
    with pytest.raises(InputError) as err:
        customer_sync.sync("2024-05", reports, params)
    assert f"{manifest}: 1 of the 3 data files it lists are not among the reports" in str(err.value)


def test_the_reports_folder_given_for_the_parameters_folder_is_named_by_the_option(
    tmp_path, capsys
):
    """``--parameters`` given the reports folder said only "reports/customers.yaml: file not
    found"; the option is named with what the folder holds, and nothing is written."""
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--parameters", str(SAMPLE_REPORTS), "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: billing customers sync, entry --parameters: {SAMPLE_REPORTS}: holds vendor "
    ), err
    assert not (tmp_path / "out").exists()


def test_a_spreadsheet_in_the_folder_given_for_the_parameters_is_no_report(tmp_path, capsys):
    """A workbook in the folder given for ``--parameters`` stopped the sync with "a spreadsheet
    workbook among the reports", naming no option; the reports folder holding one is named by
    the option, as without it."""
    copy = Path(shutil.copytree(SAMPLE_REPORTS, tmp_path / "reports"))
    (copy / "october.xlsx").write_bytes(b"")
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--parameters", str(copy), "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: billing customers sync, entry --parameters: {copy}: holds vendor reports ("
    ), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("apply", [False, True])
def test_a_diff_given_as_a_folder_is_named_by_the_option(tmp_path, capsys, apply):
    """``--diff`` given a folder (where the proposal was meant to go) ended in an
    IsADirectoryError traceback, after the month's reports were read; refused first, naming the
    option, with nothing written."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params, ignore=shutil.ignore_patterns("local"))
    before = {p.name: p.read_bytes() for p in params.iterdir()}
    folder = tmp_path / "proposals"
    folder.mkdir()
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--parameters", str(params), "--output", str(tmp_path / "out"), "--diff", str(folder),
    ]  # fmt: skip
    assert cli.main(args + (["--apply"] if apply else [])) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(
        f"error: billing customers sync, entry --diff: {folder}: a folder; expected the "
        "proposal's file"
    ), captured.err
    assert captured.out == ""
    assert list(folder.iterdir()) == [] and not (tmp_path / "out").exists()
    assert {p.name: p.read_bytes() for p in params.iterdir()} == before


def test_a_diff_in_a_folder_that_is_not_there_is_refused_and_nothing_created(tmp_path, capsys):
    """``--diff proposals/2026-10/customers.diff`` into a folder not made yet (a typo of it):
    the proposal's folders were made without a word, where ``billing register list --csv``
    refuses such a file naming its folder; refused the same way, before the month is read."""
    params = tmp_path / "parameters"
    shutil.copytree(REPO / "parameters", params, ignore=shutil.ignore_patterns("local"))
    missing = tmp_path / "propsals" / "2026-10" / "customers.diff"
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--parameters", str(params), "--output", str(tmp_path / "out"), "--diff", str(missing),
    ]  # fmt: skip
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(
        f"error: billing customers sync, entry --diff: {missing}: no such folder "
        f"{missing.parent}; expected a file in a folder that exists (nothing is created), e.g. "
        f"{tmp_path / 'out' / 'customers-sync-2026-10.diff'}"
    ), captured.err
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parameters"]


@pytest.mark.parametrize("present", [(), ("customers.yaml",)], ids=["empty", "no-accounts"])
def test_an_empty_or_half_parameters_folder_is_named_with_the_files_expected(
    tmp_path, capsys, present
):
    """An empty folder given for the parameters said only "customers.yaml: file not found", as
    if one file were missing from the right folder; it names the folder and the files the
    proposal is made against, and nothing is written."""
    params = tmp_path / "params"
    params.mkdir()
    for name in present:
        shutil.copy(REPO / "parameters" / name, params / name)
    args = [
        "customers", "sync", "--period", "2026-10", "--reports", str(SAMPLE_REPORTS),
        "--parameters", str(params), "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    expected = (
        "holds none of the parameters files billing customers sync reads; expected "
        "customers.yaml, accounts.csv (and, if used, vendor_prices.yaml): is it the parameters "
        "folder?"
        if not present
        else "accounts.csv missing; billing customers sync needs each of customers.yaml, "
        "accounts.csv"
    )
    assert err.startswith(f"error: {params}: {expected}"), err
    assert not (tmp_path / "out").exists()
