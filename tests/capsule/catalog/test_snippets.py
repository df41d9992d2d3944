"""Snippets: about sixteen words of a page's readable text around the first word searched for,
made from a window of lines around it, whatever the page's length."""

from __future__ import annotations

import pytest

from capsule.catalog.searching import SearchHit, SearchResults
from capsule.catalog.snippets import page_snippet
from capsule.publication.search_pages import SearchPage, results_page
from gemtext import parse, to_html

_FILLER = "A line of filler text about nothing much.\n" * 5000


def test_a_match_deep_in_a_long_page_is_in_its_snippet() -> None:
    page = f"# Title\n{_FILLER}The harbour café opens at dawn today.\n{_FILLER}"
    assert page_snippet(page, ["cafe"]) == (
        "…nothing much.\nThe harbour café opens at dawn today.\nA line of filler text about "
        "nothing…"
    )


def test_a_match_on_the_first_lines_starts_the_snippet_uncut() -> None:
    assert page_snippet("# Title\nThe river rose.\n", ["river"]) == "The river rose."


@pytest.mark.parametrize(
    ("line", "readable"),
    [
        ("* The river rose.", "The river rose."),
        ("> The river rose.", "The river rose."),
        ("=> /floods.gmi The river rose.", "The river rose."),
        ("## The river rose", "The river rose"),
    ],
)
def test_markup_is_stripped_from_the_window(line: str, readable: str) -> None:
    page = f"# Title\n{_FILLER}{line}\n"
    assert page_snippet(page, ["river"]) == f"…about nothing much.\n{readable}"


@pytest.mark.parametrize(
    "unreadable",
    ["# The river title", "=> /river.gmi Floods", "{{recent 3}}"],
)
def test_a_word_only_in_the_title_a_link_target_or_a_marker_is_passed_over(
    unreadable: str,
) -> None:
    page = f"{unreadable}\n{_FILLER}Later the river rose.\n"
    assert page_snippet(page, ["river", "recent"]) == "…nothing much.\nLater the river rose."


def test_a_window_opening_inside_a_preformatted_block_reads_it_as_such() -> None:
    page = f"# Title\n```\n{_FILLER}# river gauge\n```\n"
    assert page_snippet(page, ["river"]) == "…text about nothing much.\n# river gauge"


def test_a_heading_after_the_title_is_readable_text() -> None:
    page = f"# Title\n{_FILLER}## River news\n"
    assert page_snippet(page, ["river"]) == "…text about nothing much.\nRiver news"


def test_without_a_match_the_snippet_is_the_start_of_the_text() -> None:
    page = f"Status: published\n\n# Title\n{_FILLER}"
    assert page_snippet(page, ["river"]) == (
        "A line of filler text about nothing much.\nA line of filler text about nothing much.…"
    )


def test_a_snippet_is_text_the_results_page_escapes_when_rendered() -> None:
    snippet = page_snippet("# T\nA <script>river</script> & co\n", ["river"])
    assert snippet == "A <script>river</script> & co"
    hit = SearchHit("/a.gmi", "A", snippet)
    page = results_page("river", SearchPage(), SearchResults((hit,), 1), 20)
    html = to_html(parse(page), lambda target: target)
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("page", "words", "expected"),
    [
        ("# T\nRiverside walk one two three.\nThe RIVER rose.\n", ["river"],
         "…one two three.\nThe RIVER rose."),
        ("# T\nmy_river flows one two three.\nA river.\n", ["river"],
         "…one two three.\nA river."),
        ("# T\nLe Café ouvre.\n", ["CAFE"], "Le Café ouvre."),
        ("# T\nİstanbul news.\nThe river rose.\n", ["river"], "İstanbul news.\nThe river rose."),
        ("# T\nTea first, river later.\n", ["river", "tea"], "Tea first, river later."),
    ],
)
def test_a_word_is_found_whole_in_any_case_and_accents(
    page: str, words: list[str], expected: str
) -> None:
    assert page_snippet(page, words) == expected
