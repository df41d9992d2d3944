"""Front lines: `Status:`, `Published:`, `Summary:` and `Series:` lines an author puts at the
top of a gemtext page to hold it back as a draft or until a publication time, to say what it is
about, and to place it in a series. They are never shown to readers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

NEVER = datetime.max.replace(tzinfo=UTC)
"""The publication time of a page whose time cannot be read: held until it is fixed."""

_FRONT_LINE = re.compile(
    r"(status|published|summary|series):[ \t]*(.*?)[ \t\r]*(?:\n|\Z)", re.IGNORECASE
)
_BLANK = re.compile(r"[ \t\r]*(?:\n|\Z)")
_STATUSES = {"draft": True, "published": False}
_FIRST_LETTERS = frozenset("SsPp")
"""What a page with front lines starts with: most pages are told apart by one character."""
_LONGEST_VALUE = 64
"""A longer value reads as prose that happens to start with a key, not as a front line."""
_LONGEST_SUMMARY = 400
"""A summary is a sentence or two; a longer `Summary:` line is the page's own text."""


@dataclass(frozen=True, slots=True)
class FrontLines:
    """What the front lines of a page say, and how many characters they take."""

    draft: bool = False
    published: datetime | None = None
    """When the page is published (aware, UTC), if a line says so; NEVER if it cannot be read."""
    length: int = 0
    """Characters of the text the front lines take, a blank line right after them included."""
    problems: tuple[tuple[int, str], ...] = ()
    """(line number, what is wrong) for each line that could not be read as meant."""
    summary: str = ""
    """What the page is about, in a sentence, if a `Summary:` line says so."""
    series: str = ""
    """The name of the series the page belongs to, if a `Series:` line names one."""

    def body(self, text: str) -> str:
        """`text` without its front lines: what readers get."""
        return text[self.length :] if self.length else text


NO_FRONT_LINES = FrontLines()


def front_lines(text: str) -> FrontLines:
    """The front lines at the top of a gemtext page: at most one each of `Status:`,
    `Published:`, `Summary:` and `Series:` (keys in any case), in any order, then an optional
    blank line.

    A value that cannot be read holds the page back (a draft, or NEVER published) and is
    reported as a problem: a typo must not publish early.
    """
    if text[:1] not in _FIRST_LETTERS:
        return NO_FRONT_LINES
    draft, published = False, None
    texts = {"summary": "", "series": ""}
    seen: set[str] = set()
    problems: list[tuple[int, str]] = []
    position = 0
    while (found := _FRONT_LINE.match(text, position)) is not None:
        key, value = found.group(1).lower(), found.group(2)
        longest = _LONGEST_SUMMARY if key == "summary" else _LONGEST_VALUE
        if key in seen or len(value) > longest or (key in texts and not value):
            break
        seen.add(key)
        number = len(seen)
        if key in texts:
            texts[key] = " ".join(value.split())
        elif key == "status":
            draft = _STATUSES.get(value.lower(), True)
            if value.lower() not in _STATUSES:
                problems.append((number, f"unknown status {value!r} (draft or published); "
                                         "held back as a draft until it is fixed"))
        else:
            published = parse_publication_time(value)
            if published is None:
                published = NEVER
                problems.append((number, f"{value!r} is not a date or a time such as "
                                         "2026-11-25T08:00:00Z; held back until it is fixed"))
        position = found.end()
    if not seen:
        return NO_FRONT_LINES
    if (blank := _BLANK.match(text, position)) is not None and position < len(text):
        position = blank.end()
    return FrontLines(
        draft, published, position, tuple(problems), texts["summary"], texts["series"]
    )


def parse_publication_time(value: str) -> datetime | None:
    """An ISO 8601 date or date and time as an aware UTC datetime: a date alone is the start
    of that day in UTC, and a time without an offset is UTC. None if `value` is neither."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
