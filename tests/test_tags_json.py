"""The Tags object built from a legacy CUR's one-column-per-tag layout (spec.tags_sql)."""

from __future__ import annotations

import json

import duckdb
import pytest

from billing_lib.importers.spec import spec_named, tags_sql

VALUES = [
    None,
    "",
    "   ",
    "CC-010",
    ' say "hi" ',
    "back\\slash",
    "line\nbreak\ttab",
    "Kostenstelle äöü €",
    "emoji 🚀",
    "slash/and<html>&amp;",
    "\u0001control",
]

COLUMNS = [
    "resourceTags/user:CostCenter",
    "resourceTags/user:Project",
    "resourceTags/aws:createdBy",
]


def _map_formula(columns: list[str]) -> str:
    """The earlier formula (spec.tags_sql before 2026-12-01): to_json of a map of the tags that
    have a value, keys in the order of their sorted column names."""
    keys = {
        "resourceTags/aws:createdBy": "aws_created_by",
        "resourceTags/user:CostCenter": "user_cost_center",
        "resourceTags/user:Project": "user_project",
    }
    entries = ", ".join(
        f"{{'k': '{keys[c]}', 'v': COALESCE(NULLIF(trim(\"{c}\"), ''))}}" for c in sorted(columns)
    )
    return f"to_json(map_from_entries(list_filter([{entries}], lambda x: x.v IS NOT NULL)))"


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    rows = [(a, b, c) for a in VALUES for b in VALUES[:5] + VALUES[-3:] for c in (None, "alice")]
    cols = ", ".join(f'"{c}" VARCHAR' for c in COLUMNS)
    con.execute(f"CREATE TABLE t ({cols})")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    return con


def test_tags_are_the_json_object_of_the_tags_with_a_value(con):
    spec = spec_named("aws_cur_legacy")
    got = con.execute(f"SELECT {tags_sql(spec, COLUMNS)}, * FROM t").fetchall()
    assert len(got) == len(VALUES) * 8 * 2
    for text, *values in got:
        keys = {"resourceTags/aws:createdBy": "aws_created_by"}
        keys |= {COLUMNS[0]: "user_cost_center", COLUMNS[1]: "user_project"}
        expected = {
            keys[c]: v.strip()
            for c, v in sorted(zip(COLUMNS, values, strict=True))
            if v is not None and v.strip()
        }
        assert json.loads(text) == expected


def test_tags_text_is_byte_for_byte_the_map_formula_s(con):
    """Stored Tags feed the content hash of lines and the workbooks: the cheaper concatenation
    must give exactly the text the earlier map formula gave, whatever the values hold."""
    spec = spec_named("aws_cur_legacy")
    differ = con.execute(
        f"SELECT count(*) FROM t WHERE NULLIF({tags_sql(spec, COLUMNS)}, '{{}}') "
        f"IS DISTINCT FROM NULLIF({_map_formula(COLUMNS)}, '{{}}')"
    ).fetchall()[0][0]
    assert differ == 0
