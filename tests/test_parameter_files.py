"""billing_lib.parameter_files: one validator, whose pydantic errors become Problem records naming
the file, the entry (or CSV row and column) and what was expected; the shared CSV reading; and
the one overlap rule of dated rows (billing_lib.periods.first_common_day)."""

from __future__ import annotations

import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import Field

from billing_lib.errors import ParameterError, Problem
from billing_lib.parameter_csv import csv_rows
from billing_lib.parameter_files import (
    MAX_YAML_DEPTH,
    PATTERN_WORDS,
    Strict,
    load_optional,
    read_yaml,
    validate,
)
from billing_lib.parameter_paths import misnamed_file
from billing_lib.periods import first_common_day

LIBRARY = Path(__file__).resolve().parents[1] / "billing_lib"


class _Settings(Strict):
    threshold: int = Field(5, ge=0)
    label: str = "x"


def test_every_problem_is_a_record_naming_the_entry_and_the_first_is_the_message(tmp_path):
    path = tmp_path / "settings.yaml"
    with pytest.raises(ParameterError) as raised:
        validate(_Settings, path, {"treshold": 3, "threshold": -1})
    err = raised.value
    assert err.problems == [
        Problem(
            str(path),
            None,
            "treshold",
            "treshold",
            "unknown key 'treshold'; did you mean 'threshold'?",
        ),
        Problem(
            str(path), None, "threshold", "-1", "Input should be greater than or equal to 0; got -1"
        ),
    ]
    assert str(err).startswith(f"{path}, entry treshold: unknown key 'treshold'; did you mean")
    assert "(2 problems in this file; the others:)" in str(err)


def test_a_csv_row_is_named_by_row_and_column(tmp_path):
    path = tmp_path / "rows.csv"
    with pytest.raises(ParameterError, match=r"rows.csv, entry row 7, column threshold: "):
        validate(_Settings, path, {"threshold": "many"}, row=7)


class _Address(Strict):
    country: str = Field(pattern=r"^[A-Z]{2}$")


def test_a_value_refused_by_a_pattern_is_told_in_words(tmp_path):
    with pytest.raises(ParameterError) as raised:
        validate(_Address, tmp_path / "customers.yaml", {"country": "nl"})
    assert str(raised.value) == (
        f"{tmp_path / 'customers.yaml'}, entry country: expected a two-letter country code in "
        "capitals (ISO 3166), e.g. NL; got 'nl'"
    )


class _Line(Strict):
    unit_price: Decimal
    days: int
    valid_from: date
    prorate: bool


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("unit_price", "95,00", "expected a decimal number written with a point, e.g. 95.00"),
        ("days", "30 days", "expected a whole number, e.g. 30"),
        ("days", 2.5, "expected a whole number, e.g. 30"),
        ("valid_from", "01-10-2026", "expected a date YYYY-MM-DD, e.g. 2026-10-01"),
        ("prorate", "ja", "expected true or false"),
    ],
)
def test_a_value_of_another_kind_is_told_what_the_key_takes(tmp_path, key, value, expected):
    good = {"unit_price": "1", "days": 1, "valid_from": "2026-10-01", "prorate": True}
    with pytest.raises(ParameterError) as raised:
        validate(_Line, tmp_path / "custom_lines.yaml", {**good, key: value})
    assert str(raised.value) == (
        f"{tmp_path / 'custom_lines.yaml'}, entry {key}: {expected}; got {value!r}"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (False, "YAML reads an unquoted no, off or false (in any case: NO, Off) as false"),
        (True, "YAML reads an unquoted yes, on or true (in any case: YES, On) as true"),
        (1500, "YAML reads an unquoted number as a number"),
    ],
    ids=["norway", "yes", "number"],
)
def test_text_yaml_read_as_a_boolean_or_number_is_told_to_be_quoted(tmp_path, value, expected):
    """``country: NO`` (Norway) is the boolean false to YAML; "Input should be a valid string;
    got False" told neither what was expected nor why."""
    with pytest.raises(ParameterError) as raised:
        validate(_Address, tmp_path / "customers.yaml", {"country": value})
    assert str(raised.value) == (
        f"{tmp_path / 'customers.yaml'}, entry country: expected text; {expected}: put the "
        f"text in quotes, as in country: 'NO' or vat_account: '1500'; got {value!r}"
    )


@pytest.mark.parametrize(
    "found",
    ["custom_lines.yml", "Custom_Lines.yaml", "custom-lines.yaml", "custom_lines.yaml.txt"],
)
def test_a_misspelt_parameters_file_is_named_when_its_name_is_missing(tmp_path, found):
    (tmp_path / "customers.yaml").write_text("customers: []\n")
    (tmp_path / found).write_text("custom_lines: []\n")
    with pytest.raises(ParameterError) as raised:
        misnamed_file(tmp_path, ("customers.yaml", "custom_lines.yaml", "review.yaml"))
    assert str(raised.value) == (
        f"{tmp_path / found}: the run reads custom_lines.yaml, which is missing, and not this "
        "file: rename it to custom_lines.yaml (a parameters file of another name is not read)"
    )


def test_a_backup_beside_its_parameters_file_and_other_files_are_left_alone(tmp_path):
    for name in ("customers.yaml", "custom_lines.yaml", "custom_lines_old.yaml", "notes.txt"):
        (tmp_path / name).write_text("x\n")
    misnamed_file(tmp_path, ("customers.yaml", "custom_lines.yaml", "review.yaml"))


@pytest.mark.parametrize(
    ("text", "line", "where"),
    [
        ("custom_lines:\n  - {id: a}\ncustom_lines:\n  - {id: b}\n", 3, "first on line 1"),
        ("rules:\n  - {id: aws-15, percent: 15, percent: 25}\n", 2, "on this line"),
        ("plans:\n  - id: std\n    markup: 1\n    markup: 2\n", 4, "first on line 3"),
    ],
    ids=["top-level", "flow", "nested"],
)
def test_a_key_given_twice_in_yaml_is_refused_with_both_lines(tmp_path, text, line, where):
    path = tmp_path / "price_plans.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError) as raised:
        read_yaml(path)
    assert str(raised.value).startswith(f"{path}, entry line {line}: the key ")
    assert f"is given twice ({where}); YAML would keep only the last value" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "line", "value"),
    [
        ("rules:\n  - {id: aws-12, valid_from: 2026-10-32}\n", 2, "2026-10-32"),
        ("custom_lines:\n  - id: x\n    date: 2026-02-29\n", 3, "2026-02-29"),
        ("plans:\n  - id: std\n    valid_to: 2026-13-01 00:00:00\n", 3, "2026-13-01 00:00:00"),
    ],
    ids=["day-32", "not-a-leap-year", "month-13-with-time"],
)
def test_a_date_that_is_no_day_of_the_calendar_is_named_by_file_and_line(
    tmp_path, text, line, value
):
    """YAML reads 2026-10-32 as a date and failed with Python's "day is out of range for
    month", naming neither the file nor the entry."""
    path = tmp_path / "price_plans.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError) as raised:
        read_yaml(path)
    assert str(raised.value).startswith(f"{path}, entry line {line}: {value!r} is not a date")
    assert "YYYY-MM-DD" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "line", "written", "read_as"),
    [
        (
            'custom_lines:\n  - {id: a, quantity: 1:30, unit: hour, unit_price: "95.00"}\n',
            2,
            "1:30",
            "90",
        ),
        ("rules:\n  - id: smb-minimum\n    amount: 075\n", 3, "075", "61"),
        ("tiers:\n  - {up_to: 0500, unit_price: '1.10'}\n", 2, "0500", "320"),
        ("rules:\n  - {id: seat, unit_price: 1:30.5}\n", 2, "1:30.5", "90.5"),
        ("usage_detail_max_lines: 0x3E8\n", 1, "0x3E8", "1000"),
        ("accounts:\n  01300: {name: Accounts receivable}\n", 2, "01300", "704"),
    ],
    ids=["hours-as-base-60", "octal-amount", "octal-tier", "base-60-float", "hex", "octal-key"],
)
def test_a_number_yaml_reads_as_another_is_refused_naming_its_line(
    tmp_path, text, line, written, read_as
):
    """YAML 1.1 reads an unquoted 075 as the octal 61 and 1:30 as the base-60 90: a minimum fee
    of 75.00 billed 61.00, an hour and a half of work billed as 90 hours, without a word."""
    path = tmp_path / "price_plans.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError) as raised:
        read_yaml(path)
    assert str(raised.value).startswith(
        f"{path}, entry line {line}: YAML reads {written} as the number {read_as}"
    )


def test_numbers_without_a_leading_zero_or_colon_are_read_as_written(tmp_path):
    path = tmp_path / "price_plans.yaml"
    path.write_text("a: 0\nb: 0.5\nc: -0.25\nd: 1_000\ne: '075'\nf: 10:30 text\ng: 08\n")
    assert read_yaml(path) == {
        "a": 0,
        "b": 0.5,
        "c": -0.25,
        "d": 1000,
        "e": "075",
        "f": "10:30 text",
        "g": "08",
    }


def test_a_tab_indenting_yaml_is_named_by_line_and_column(tmp_path):
    """An editor's tab before a key: YAML's own message named a "<unicode string>" and a
    character "that cannot start any token", never the tab."""
    path = tmp_path / "customers.yaml"
    path.write_text("customers:\n  - id: C001\n\tcountry: NL\n")
    with pytest.raises(ParameterError) as raised:
        read_yaml(path)
    assert str(raised.value).startswith(
        f"{path}, entry line 3, column 1: a tab; YAML indents with spaces only: replace the tab "
        "with spaces"
    )


def test_a_yaml_file_saved_in_a_code_page_is_named_by_line_and_byte(tmp_path):
    """customers.yaml saved by an editor in Windows-1252 ("Architécten"): the message gave
    Python's "can't decode byte 0xe9 in position 34: invalid continuation byte", a position in
    bytes nobody can find, and no word of what to do; as accounts.csv's, the line and the byte."""
    path = tmp_path / "customers.yaml"
    text = "customers:\n  - id: C001\n    name: Dijkstra Archit\u00e9cten\n"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(ParameterError) as raised:
        read_yaml(path)
    assert str(raised.value) == (
        f"{path}, entry line 3: expected UTF-8 text; found the byte 0xe9 (save the file as UTF-8)"
    )


def test_a_merge_key_overriding_an_anchor_is_not_a_repeat(tmp_path):
    path = tmp_path / "price_plans.yaml"
    path.write_text("base: &b {percent: 10, basis: cost}\nrule: {<<: *b, percent: 12}\n")
    assert read_yaml(path)["rule"] == {"percent": 12, "basis": "cost"}


def test_every_pattern_of_the_parameters_models_is_told_in_words():
    source = "\n".join(p.read_text(encoding="utf-8") for p in LIBRARY.rglob("*.py"))
    patterns = set(re.findall(r'pattern=r"([^"]+)"', source))
    patterns |= set(re.findall(r'^PEPPOL_ID = r"([^"]+)"', source, re.MULTILINE))
    assert len(patterns) >= 7
    assert patterns <= set(PATTERN_WORDS), sorted(patterns - set(PATTERN_WORDS))


def test_an_optional_settings_file_that_is_absent_gives_the_defaults(tmp_path):
    assert load_optional(tmp_path / "absent.yaml", _Settings) == _Settings()
    (tmp_path / "given.yaml").write_text("threshold: 9\n", encoding="utf-8")
    assert load_optional(tmp_path / "given.yaml", _Settings).threshold == 9


def test_csv_rows_are_numbered_as_a_spreadsheet_and_stripped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\ufeffa,b\n x ,\n", encoding="utf-8")
    assert list(csv_rows(path, ("a", "b"))) == [(2, {"a": "x", "b": None})]


def test_csv_rows_name_a_missing_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(
        ParameterError, match=r"expected the columns a, b \(\+ c\); missing \['b'\]"
    ):
        list(csv_rows(path, ("a", "b"), ("c",)))


@pytest.mark.parametrize("text", ["", "\ufeff", "\r\n\r\n"], ids=["empty", "bom-only", "blank"])
def test_csv_rows_of_an_empty_file_name_the_header_expected(tmp_path, text):
    """An accounts.csv or exchange_rates.csv saved empty (a spreadsheet's export gone wrong)
    was told "missing ['vendor', 'account_id', 'customer_id']; found None": it is named empty,
    with the header row it must start with."""
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as raised:
        list(csv_rows(path, ("a", "b"), ("c",)))
    assert str(raised.value) == (
        f"{path}, entry row 1: the file is empty; expected a header row naming its columns, "
        "a,b,c (the example in the project's parameters/ folder shows them), then a row per "
        "entry"
    )


@pytest.mark.parametrize(("mark", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_csv_rows_name_a_header_separated_by_another_mark(tmp_path, mark, name):
    path = tmp_path / "accounts.csv"
    path.write_text(f"\ufeffa{mark}b\r\n1{mark}2\r\n", encoding="utf-8")
    with pytest.raises(ParameterError) as raised:
        list(csv_rows(path, ("a", "b")))
    assert str(raised.value) == (
        f"{path}, entry row 1: expected comma-separated columns a, b; the header is separated "
        f"by {name} (a spreadsheet saves CSV so in some languages): save it as CSV with commas, "
        "or edit it in a text editor"
    )


def test_csv_rows_with_a_semicolon_inside_a_column_name_still_name_the_missing_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b;c\n1,2\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"missing \['b'\]; found \['a', 'b;c'\]"):
        list(csv_rows(path, ("a", "b")))


@pytest.mark.parametrize(
    ("a", "b", "first"),
    [
        ((date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 1, 31), None), date(2026, 1, 31)),
        ((date(2026, 1, 1), date(2026, 1, 30)), (date(2026, 1, 31), None), None),
        ((None, None), (date(2026, 3, 1), date(2026, 3, 1)), date(2026, 3, 1)),
    ],
)
def test_two_dated_spans_share_their_first_common_day(a, b, first):
    assert first_common_day(*a, *b) == first


def test_yaml_deeper_than_the_limit_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "deep.yaml"
    lists = MAX_YAML_DEPTH - 1  # in the mapping: MAX_YAML_DEPTH levels
    path.write_text("a: 1\n" + "b: " + "[" * lists + "]" * lists + "\n")
    assert read_yaml(path)["a"] == 1
    path.write_text("a: 1\n" + "b: " + "[" * (lists + 1) + "]" * (lists + 1))
    with pytest.raises(ParameterError, match=r"deep.yaml.*line 2: the YAML is nested too deeply"):
        read_yaml(path)


def test_a_file_read_again_is_the_same_and_a_copy_of_its_own(tmp_path):
    path = tmp_path / "plans.yaml"
    path.write_text("plans:\n  - id: std\n    rules: [{percent: 10}]\n")
    first = read_yaml(path)
    first["plans"][0]["rules"].append("changed by the caller")
    assert read_yaml(path) == {"plans": [{"id": "std", "rules": [{"percent": 10}]}]}


def test_a_file_changed_in_place_is_read_anew_even_with_the_same_size_and_time(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("currency: EUR\n")
    stamp = path.stat().st_mtime_ns
    assert read_yaml(path) == {"currency": "EUR"}
    path.write_text("currency: USD\n")
    os.utime(path, ns=(stamp, stamp))
    assert read_yaml(path) == {"currency": "USD"}
    path.write_text("currency: [EUR\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        read_yaml(path)


# -- the line of an entry (billing_lib.entry_lines) ---------------------------------------------

#: Comments and blank lines, so an entry's line is not its index: plans[0].rules[1] is on line 9.
COMMENTED_PLANS = """\
# Price plans: comments and blank lines before the entries

plans:
  # the first plan
  - id: a
    rules:

      - {id: x, kind: markup, percent: 5}
      - id: y
        percent: 7
  - id: b
    rules:
      - {id: x, kind: markup, percent: 6}
"""


def _read(tmp_path: Path, text: str = COMMENTED_PLANS, name: str = "price_plans.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    read_yaml(path)
    return path


@pytest.mark.parametrize(
    ("entry", "place", "line", "column"),
    [
        ("plans[id=a].rules[id=y].percent", "line 10", 10, None),
        ("plans[0].rules[1].percent", "line 10", 10, None),
        ("plans[id=a].rules[id=y]", "line 9", 9, None),
        ("plans[id=b]", "line 11", 11, None),
        ("plans", "line 3", 3, None),
        # one of several entries written on one line ({...}): its column tells which
        ("plans[id=b].rules[id=x].percent", "line 13, column 31", 13, 31),
        ("plans[id=a].rules[0].kind", "line 8, column 17", 8, 17),
        # two entries, the second named beside the first (its plan's rule y)
        ("plans[id=a].rules[id=x] and rules[id=y]", "lines 8 and 9", 8, None),
    ],
)
def test_an_error_naming_an_entry_of_a_yaml_file_names_its_line(
    tmp_path, entry, place, line, column
):
    """A ParameterError named the file and the entry path only: an analyst with a 2,000-line
    customers.yaml counted entries by hand to find ``customers[1234].country``."""
    path = _read(tmp_path)
    err = ParameterError(path, entry, "expected something else")
    assert str(err) == f"{path}, {place}, entry {entry}: expected something else"
    assert (err.line, err.column) == (line, column)


@pytest.mark.parametrize(
    "entry",
    [
        "plans[id=a].rules[id=z]",  # no rule z
        "plans[id=a].rules[id=x].valid_to",  # a key left out
        "plans[2]",
        "plans[id=a].rules[id=x] and rules[id=z]",
        "(top level)",
    ],
)
def test_an_entry_the_file_does_not_hold_is_named_without_a_line(tmp_path, entry):
    path = _read(tmp_path)
    err = ParameterError(path, entry, "expected something else")
    assert str(err) == f"{path}, entry {entry}: expected something else"
    assert err.line is None


def test_a_file_changed_since_it_was_read_or_never_read_is_named_without_a_line(tmp_path):
    """The entry was read from the file as it was: after a line is added above it, its line is
    not known (no line rather than a wrong one); a file never read gives no line either."""
    path = _read(tmp_path)
    path.write_text("# a line added\n" + COMMENTED_PLANS, encoding="utf-8")
    assert str(ParameterError(path, "plans[id=b]", "x")) == f"{path}, entry plans[id=b]: x"
    read_yaml(path)  # read again: the line of what was read
    assert str(ParameterError(path, "plans[id=b]", "x")) == f"{path}, line 12, entry plans[id=b]: x"
    other = tmp_path / "other" / "price_plans.yaml"
    other.parent.mkdir()
    other.write_text(COMMENTED_PLANS, encoding="utf-8")
    assert str(ParameterError(other, "plans[id=b]", "x")) == f"{other}, entry plans[id=b]: x"


def test_an_id_given_twice_names_the_line_of_each(tmp_path):
    path = _read(tmp_path, COMMENTED_PLANS.replace("id: b", "id: a"))
    err = ParameterError(path, "plans[id=a]", "the plan id is used twice")
    assert str(err) == f"{path}, lines 5 and 11, entry plans[id=a]: the plan id is used twice"
    assert err.line == 5


def test_a_key_holding_a_dot_is_followed(tmp_path):
    text = "# accounts\naccounts:\n\n  '4000': {name: Sales}\n  '4000.10':\n    name: Sales AWS\n"
    path = _read(tmp_path, text, "products.yaml")
    assert ParameterError(path, "accounts.4000.10.name", "x").line == 6
    assert ParameterError(path, "accounts.4000.name", "x").line == 4


def test_every_validation_problem_names_its_line(tmp_path):
    path = _read(tmp_path, "# settings\n\ntreshold: 3\nlabel: x\n\nthreshold: -1\n", "s.yaml")
    with pytest.raises(ParameterError) as raised:
        validate(_Settings, path, read_yaml(path))
    err = raised.value
    assert [(p.column, p.line) for p in err.problems] == [("treshold", 3), ("threshold", 6)]
    assert str(err).startswith(f"{path}, line 3, entry treshold: unknown key 'treshold'")
    assert "\n  - line 6, entry threshold: Input should be greater than or equal to 0" in str(err)
    assert str(err.problems[1]).startswith(f"{path}, line 6, column 'threshold': found '-1'")
