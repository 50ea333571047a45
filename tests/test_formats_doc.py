"""docs/formats.md is generated from the format specs; this fails when someone forgets to
regenerate."""

from pathlib import Path

from billing_lib.importers.docs import formats_markdown
from billing_lib.importers.spec import all_specs

DOC = Path(__file__).resolve().parents[1] / "docs" / "formats.md"


def test_formats_doc_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == formats_markdown(), (
        "docs/formats.md is out of date: python -m billing_lib.importers.docs > docs/formats.md"
    )


def test_every_format_and_its_vendor_columns_are_documented():
    text = formats_markdown()
    for spec in all_specs():
        assert f"(`{spec.name}`)" in text
        for column in spec.file_columns():
            assert f"`{column}`" in text


def test_readme_lists_every_format_with_the_columns_it_reads():
    from billing_lib.importers.docs import readme_with_formats

    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_formats(readme), (
        "README.md's formats section is out of date: python -m billing_lib.importers.docs --readme"
    )
    for spec in all_specs():
        assert f"(`{spec.name}`)" in readme
