"""Reading the title, first paragraph, links and feed entries of a document."""

import datetime

import pytest

from gemtext import FeedEntry, Link, feed_entries, first_image, first_paragraph, links, parse, title


def test_title_is_first_heading_in_document_order() -> None:
    assert title(parse("intro\n## Sub\n# Main")) == "Sub"


def test_title_of_document_without_heading_is_none() -> None:
    assert title(parse("text\n=> /x")) is None


def test_heading_inside_preformatted_block_is_not_a_title() -> None:
    assert title(parse("```\n# fake\n```\n# Real")) == "Real"


def test_first_paragraph_is_the_first_text_line_that_is_not_blank() -> None:
    doc = parse("# Title\n\n   \n=> /a A\n* item\n> quote\n```\ncode\n```\nFirst.\nSecond.")
    assert first_paragraph(doc) == "First."


def test_a_line_that_is_only_a_date_is_a_byline_not_the_first_paragraph() -> None:
    doc = parse("# An article\n\n2026-11-20\n\nWhat happened.\n2026-11-21 was a Saturday.\n")
    assert first_paragraph(doc) == "What happened."


def test_document_without_text_has_no_first_paragraph() -> None:
    assert first_paragraph(parse("# Title\n=> /a A\n\n")) is None


def test_links_in_order_skipping_preformatted() -> None:
    doc = parse("=> /a A\ntext\n```\n=> /no\n```\n=> /b")
    assert links(doc) == (Link("/a", "A"), Link("/b", ""))


@pytest.mark.parametrize(
    ("label", "expected_title"),
    [
        ("2024-03-01 - Spring", "Spring"),
        ("2024-03-01: Spring", "Spring"),
        ("2024-03-01:Spring", "Spring"),
        ("2024-03-01 Spring", "Spring"),
        ("2024-03-01\tSpring", "Spring"),
        ("2024-03-01 \u2014 Spring", "Spring"),
        ("2024-03-01 - Spring - part 2", "Spring - part 2"),
        ("2024-03-01", ""),
    ],
)
def test_feed_entry_separators(label: str, expected_title: str) -> None:
    assert feed_entries(parse(f"=> /post.gmi {label}")) == (
        FeedEntry(datetime.date(2024, 3, 1), "/post.gmi", expected_title),
    )


@pytest.mark.parametrize(
    "label",
    [
        "Spring 2024-03-01",
        "2024-02-30 - Not a day",
        "2024-13-01 - Not a month",
        "2024-3-1 - Short",
        "2024-03-011 - Too long",
        "20240301 - Basic format",
        "2024-03-01T10:00 - With time",
        "\u0662\u0660\u0662\u0664-03-01 - Arabic-Indic digits",
        "",
    ],
)
def test_label_without_leading_valid_date_is_not_an_entry(label: str) -> None:
    assert feed_entries(parse(f"=> /post.gmi {label}")) == ()


def test_feed_entries_keep_document_order_and_ignore_other_lines() -> None:
    doc = parse(
        "# Log\n2024-01-01 - not a link\n"
        "=> /b.gmi 2024-02-01 - B\n=> /about About\n=> /a.gmi 2023-12-31 - A\n"
    )
    assert feed_entries(doc) == (
        FeedEntry(datetime.date(2024, 2, 1), "/b.gmi", "B"),
        FeedEntry(datetime.date(2023, 12, 31), "/a.gmi", "A"),
    )


@pytest.mark.parametrize(
    "lead",
    ["By Ann Lee", "Written by the climate desk", "2025-03-05 12:27 UTC", "Series parts:",
     "The agenda:"],
)
def test_bylines_date_lines_and_lead_ins_are_not_the_first_paragraph(lead: str) -> None:
    doc = parse(f"# An article\n{lead}\n\nThe board will vote on the harbour plan.\n")
    assert first_paragraph(doc) == "The board will vote on the harbour plan."


def test_a_long_line_starting_with_by_is_prose() -> None:
    line = "By the time the river crested, the town had moved its archive" + " uphill" * 12
    assert first_paragraph(parse(f"# A\n{line}\n")) == line


def test_first_image_is_the_first_link_to_an_image() -> None:
    doc = parse("# A\n=> /a.gmi Page\n=> /pics/pier.JPG?x=1 The pier\n=> /b.png B\n")
    image = first_image(doc)
    assert image is not None and image.url == "/pics/pier.JPG?x=1"
