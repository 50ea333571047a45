"""Two deliveries of one AWS CUR month: AWS refreshes a month's report as its charges come in and
writes it again (Data Exports' create-new-file mode, a legacy CUR's assembly folders), with line
ids of their own each time ("The line item ID isn't consistent between different Cost and Usage
Reports"). The older, partial delivery beside the newer one would bill the month's first days
twice; parts of one delivery (``-00001``, ``-00002``; a legacy CUR's ``-1``, ``-2``) are one
report."""

import csv
import gzip
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports
from billing_lib.store import open_store
from tests import cur2_sample as cur2
from tests.sample_totals import SAMPLES

LEGACY = SAMPLES / "aws-cur" / "cur-legacy-anonymous-2023-11.csv"
DATA = "cur/northwind/data/BILLING_PERIOD=2024-05"


def _renumbered(rows: list[dict[str, str]], prefix: str) -> list[dict[str, str]]:
    """``rows`` with line ids of another delivery."""
    for r in rows:
        r["identity_line_item_id"] = prefix + r["identity_line_item_id"]
    return rows


def _gz(rows: list[dict[str, str]], tmp_path: Path, name: str) -> bytes:
    return cur2.write_csv(tmp_path / name, rows).read_bytes()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _billed(con) -> tuple[int, Decimal]:
    return con.execute("SELECT count(*), COALESCE(sum(BilledCost), 0) FROM lines").fetchone()


def test_an_early_partial_delivery_beside_the_restated_month_is_refused(tmp_path):
    early = _gz(_renumbered(cur2.records()[:8], "a"), tmp_path, "early.csv.gz")
    full = _gz(_renumbered(cur2.records(), "b"), tmp_path, "full.csv.gz")
    archive = _zip(
        tmp_path / "northwind.zip",
        {
            f"{DATA}/20240510T0312Z/northwind-00001.csv.gz": early,
            f"{DATA}/20240602T0508Z/northwind-00001.csv.gz": full,
        },
    )
    con = open_store()
    with pytest.raises(InputError) as err:
        import_reports(con, [archive], period="2024-05")
    text = str(err.value)
    assert "20240510T0312Z/northwind-00001.csv.gz" in text
    assert "20240602T0508Z/northwind-00001.csv.gz" in text
    assert "111122223333" in text and "2024-05" in text
    assert _billed(con) == (0, 0)


def test_the_same_delivery_copied_again_under_another_name_is_refused(tmp_path):
    first = cur2.write_csv(tmp_path / "northwind-00001.csv.gz", _renumbered(cur2.records(), "a"))
    again = cur2.write_csv(
        tmp_path / "northwind-00001 (1).csv.gz", _renumbered(cur2.records(), "b")
    )
    con = open_store()
    with pytest.raises(InputError, match="northwind-00001 \\(1\\).csv.gz"):
        import_reports(con, [first, again])
    assert _billed(con) == (0, 0)


def test_the_parts_of_one_delivery_are_one_report(tmp_path):
    rows = cur2.records()
    archive = _zip(
        tmp_path / "northwind.zip",
        {
            f"{DATA}/northwind-00001.csv.gz": _gz(rows[:9], tmp_path, "p1.csv.gz"),
            f"{DATA}/northwind-00002.csv.gz": _gz(rows[9:], tmp_path, "p2.csv.gz"),
        },
    )
    con = open_store()
    import_reports(con, [archive], period="2024-05")
    total = sum(Decimal(r["line_item_unblended_cost"]) for r in rows)
    assert _billed(con) == (len(rows), total)


def test_two_payers_of_one_month_are_two_reports(tmp_path):
    other = cur2.records()
    for r in other:
        r["bill_payer_account_id"] = "222233334444"
    first = cur2.write_csv(tmp_path / "payer-a-00001.csv.gz", cur2.records())
    second = cur2.write_csv(tmp_path / "payer-b-00001.csv.gz", _renumbered(other, "b"))
    con = open_store()
    import_reports(con, [first, second], period="2024-05")
    assert _billed(con)[0] == 2 * len(cur2.ROWS)


def _legacy_parts(rows: list[dict[str, str]], header: list[str], parts: int) -> list[bytes]:
    """``rows`` cut into ``parts`` gzipped CSV files, as a legacy CUR's ``<report>-1.csv.gz`` ..."""
    out = []
    for i in range(parts):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[i::parts])
        out.append(gzip.compress(buf.getvalue().encode(), mtime=0))
    return out


def _legacy_rows() -> tuple[list[dict[str, str]], list[str]]:
    with open(LEGACY, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader), list(reader.fieldnames or [])


def test_two_assemblies_of_a_legacy_cur_month_are_refused(tmp_path):
    rows, header = _legacy_rows()
    newer = [dict(r, **{"identity/LineItemId": "n" + r["identity/LineItemId"]}) for r in rows]
    month = "cur/northwind/20231101-20231201"
    [old1, old2] = _legacy_parts(rows, header, 2)
    [new1, new2] = _legacy_parts(newer, header, 2)
    archive = _zip(
        tmp_path / "northwind-legacy.zip",
        {
            f"{month}/0b5f8a52-assembly-1/northwind-1.csv.gz": old1,
            f"{month}/0b5f8a52-assembly-1/northwind-2.csv.gz": old2,
            f"{month}/7c1e9d03-assembly-2/northwind-1.csv.gz": new1,
            f"{month}/7c1e9d03-assembly-2/northwind-2.csv.gz": new2,
        },
    )
    con = open_store()
    with pytest.raises(InputError, match="0b5f8a52-assembly-1/northwind-1.csv.gz"):
        import_reports(con, [archive], period="2023-11")
    assert _billed(con) == (0, 0)


def test_the_parts_of_one_legacy_cur_assembly_are_one_report(tmp_path):
    rows, header = _legacy_rows()
    month = "cur/northwind/20231101-20231201/7c1e9d03-assembly-2"
    archive = _zip(
        tmp_path / "northwind-legacy.zip",
        {
            f"{month}/northwind-{i}.csv.gz": part
            for i, part in enumerate(_legacy_parts(rows, header, 3), 1)
        },
    )
    con = open_store()
    import_reports(con, [archive], period="2023-11")
    total = sum(Decimal(r["lineItem/UnblendedCost"] or "0") for r in rows)
    assert _billed(con) == (len(rows), total)


def test_two_member_accounts_own_exports_of_one_payer_s_month_are_two_reports(tmp_path):
    """A member account may export its own costs: its report names the payer as billing account,
    as the payer's and every other member's do, but holds its own account's lines only. Two such
    exports share no usage account and are not two deliveries."""
    rows = cur2.records()
    accounts = sorted({r["line_item_usage_account_id"] for r in rows})
    mine = [r for r in rows if r["line_item_usage_account_id"] == accounts[0]]
    others = [r for r in rows if r["line_item_usage_account_id"] != accounts[0]]
    for r in others:
        r["line_item_usage_account_id"] = "555566667777"
    first = cur2.write_csv(tmp_path / "member-a-00001.csv.gz", mine)
    second = cur2.write_csv(tmp_path / "member-b-00001.csv.gz", _renumbered(others, "b"))
    con = open_store()
    import_reports(con, [first, second], period="2024-05")
    assert _billed(con)[0] == len(cur2.ROWS)
