"""Front lines: `Status:` and `Published:` at the top of a page, read and taken off the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsule.rules.front_lines import NEVER, NO_FRONT_LINES, FrontLines, front_lines

HELD = "held back until it is fixed"


@pytest.mark.parametrize(
    ("text", "draft", "published", "body"),
    [
        ("Status: draft\n# Budget\n", True, None, "# Budget\n"),
        ("Status: draft\n\n# Budget\n", True, None, "# Budget\n"),
        ("status: DRAFT\r\n\r\n# Budget\r\n", True, None, "# Budget\r\n"),
        ("Status: published\n# Budget\n", False, None, "# Budget\n"),
        ("Published: 2026-11-27T08:00:00Z\n# Budget\n", False,
         datetime(2026, 11, 27, 8, tzinfo=UTC), "# Budget\n"),
        ("Published: 2026-11-27 09:30+01:00\n# Budget\n", False,
         datetime(2026, 11, 27, 8, 30, tzinfo=UTC), "# Budget\n"),
        ("Published: 2026-11-27T08:00\n# Budget\n", False,
         datetime(2026, 11, 27, 8, tzinfo=UTC), "# Budget\n"),
        ("Published: 2026-11-27\n# Budget\n", False, datetime(2026, 11, 27, tzinfo=UTC),
         "# Budget\n"),
        ("Published: 2026-11-27\nStatus: draft\n\n# Budget\n", True,
         datetime(2026, 11, 27, tzinfo=UTC), "# Budget\n"),
        ("Status: draft", True, None, ""),
    ],
)
def test_front_lines_are_read_and_taken_off_the_page(
    text: str, draft: bool, published: datetime | None, body: str
) -> None:
    front = front_lines(text)
    assert (front.draft, front.published, front.problems) == (draft, published, ())
    assert front.body(text) == body


@pytest.mark.parametrize(
    "text",
    [
        "# Budget\nStatus: draft\n",  # not at the top
        "\nStatus: draft\n",
        " Status: draft\n",
        "Statuses: draft\n",
        "Published 2026-11-25.\n",  # prose, as the benchmark articles start
        "Status: " + "x" * 65 + "\n",  # too long for a front line: prose
        "",
    ],
)
def test_other_first_lines_are_the_page_itself(text: str) -> None:
    assert front_lines(text) == NO_FRONT_LINES
    assert front_lines(text).body(text) == text


def test_a_repeated_key_ends_the_front_lines() -> None:
    text = "Status: draft\nStatus: published\n"
    front = front_lines(text)
    assert front.draft
    assert front.body(text) == "Status: published\n"


def test_only_one_blank_line_goes_with_the_front_lines() -> None:
    text = "Status: draft\n\n\nText\n"
    assert front_lines(text).body(text) == "\nText\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Status: drfat\n", FrontLines(True, None, 14, ((1, "unknown status 'drfat' (draft or "
                                                            "published); held back as a draft "
                                                            "until it is fixed"),))),
        ("Status:\n", FrontLines(True, None, 8, ((1, "unknown status '' (draft or published); "
                                                     "held back as a draft until it is fixed"),))),
        ("Status: draft\nPublished: tomorrow\n",
         FrontLines(True, NEVER, 34, ((2, "'tomorrow' is not a date or a time such as "
                                          f"2026-11-25T08:00:00Z; {HELD}"),))),
        ("Published: 2026-02-30\n",
         FrontLines(False, NEVER, 22, ((1, "'2026-02-30' is not a date or a time such as "
                                           f"2026-11-25T08:00:00Z; {HELD}"),))),
    ],
)
def test_a_front_line_that_cannot_be_read_holds_the_page_back(
    text: str, expected: FrontLines
) -> None:
    assert front_lines(text) == expected


def test_publication_times_are_kept_in_utc() -> None:
    front = front_lines("Published: 2026-11-27T08:00:00-05:00\n")
    assert front.published == datetime(2026, 11, 27, 13, tzinfo=UTC)
    assert front.published is not None and front.published.utcoffset() == timedelta(0)
    assert front.published == datetime(2026, 11, 27, 8, tzinfo=timezone(timedelta(hours=-5)))


@given(st.text())
def test_what_readers_get_is_the_end_of_the_text(text: str) -> None:
    front = front_lines(text)
    assert text.endswith(front.body(text))
    assert (front.length == 0) == (front == NO_FRONT_LINES)


@given(st.text().filter(lambda body: not body[:1].isspace() and body[:1] not in "SsPp"))
def test_a_draft_line_over_any_page_leaves_the_page_as_it_was(body: str) -> None:
    text = "Status: draft\n" + body
    front = front_lines(text)
    assert front.draft and front.body(text) == body


def test_summary_and_series_front_lines_are_read_and_taken_off_the_page() -> None:
    text = (
        "Series: Cities after the flood\nsummary:  The levee  holds.\n\n# Part 2\nBody.\n"
    )
    front = front_lines(text)
    assert (front.summary, front.series) == ("The levee holds.", "Cities after the flood")
    assert front.body(text) == "# Part 2\nBody.\n"
    assert not front.draft and front.published is None and not front.problems
