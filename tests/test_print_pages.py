"""Where the printed invoice sheet's pages break (billing_lib/print_pages.py)."""

from __future__ import annotations

from billing_lib.print_pages import fit_scale, page_breaks, wrapped_height


def test_a_page_does_not_begin_with_a_kept_row():
    # ten rows of 10 points on pages of 45: a page of rows 0-3 would end with a heading (row 3)
    # whose first line (row 4) is kept with it, so the page ends before the heading
    assert page_breaks([10] * 10, set(), 45, repeated=0) == [4, 8]
    assert page_breaks([10] * 10, {4}, 45, repeated=0) == [3, 7]
    # the repeated header row takes its room on the pages after the first
    assert page_breaks([10] * 10, set(), 45, repeated=10) == [4, 7]


def test_rows_kept_together_over_more_than_a_page_break_where_the_page_is_full():
    assert page_breaks([10] * 10, set(range(1, 10)), 45, repeated=0) == [4, 8]


def test_the_sheet_s_scale_and_a_wrapped_row_s_height():
    assert fit_scale((52, 11, 10, 14, 8, 16)) == 0.85  # the invoice sheet's columns: 807 pixels
    assert fit_scale((10,)) == 1
    assert wrapped_height("EC2 hours", 60) == 15
    assert wrapped_height("x" * 150, 60) == 36  # three lines of Arial 9


def test_a_chinese_or_japanese_description_s_row_is_as_tall_as_its_wide_characters_wrap():
    """A Chinese or Japanese character prints about twice as wide as a Latin letter: a line's
    description of 100 of them wraps over four lines of column A, not the two its number of
    characters gave, and the page breaks, placed by the rows' heights, put more rows on a page
    than it prints (the spreadsheet then broke it where it was full, a group's heading at its
    foot)."""
    assert wrapped_height("東" * 100, 60) == 48  # 200 Latin letters' width: four lines
    assert wrapped_height("Сервер " * 20, 60) == 36  # Cyrillic is as wide as Latin


def test_a_blank_row_ends_a_page_rather_than_begin_one():
    # ten rows of 10 points on pages of 45: the page is full at row 4, a blank row (after a
    # subtotal): it began the next page; it ends this one (blank, in the room FILL leaves) and
    # the next page begins with the row after it
    assert page_breaks([10] * 10, set(), 45, repeated=0) == [4, 8]
    assert page_breaks([10] * 10, set(), 45, repeated=0, spacers={4}) == [5, 9]
    # the row after the blank kept with the one above it: the break comes before that one, and
    # never at a blank row on the way
    assert page_breaks([10] * 10, {5}, 45, repeated=0, spacers={4}) == [3, 7]
