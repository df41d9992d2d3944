"""Read facts out of a Document: its title, first paragraph, links and feed entries."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from gemtext.model import Document, Heading, Link, Text

# Gemini feed convention: a link whose label starts with an ISO 8601 date, then the title,
# optionally after a dash or colon separator.
_DATED_LABEL = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:\Z|[ \t]+[-\u2013\u2014][ \t]+|:[ \t]*|[ \t]+)"
    r"(?P<title>.*)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One dated link of a gemfeed page."""

    date: datetime.date
    url: str
    title: str


def title(doc: Document) -> str | None:
    """The text of the first heading of any level, or None if the document has none."""
    for line in doc:
        if isinstance(line, Heading):
            return line.text
    return None


def first_paragraph(doc: Document) -> str | None:
    """The first text line that reads as prose: not blank, not a date line (starting with a
    date, as the datelines gemlogs put under the heading), not a byline ("By …"), and not a
    line ending in a colon (which introduces what follows); None if there is none."""
    for line in doc:
        if isinstance(line, Text) and _is_prose(line.text):
            return line.text
    return None


_DATE_LINE = re.compile(r"\W*\d{4}-\d{2}-\d{2}\b")
_BYLINE = re.compile(r"(by|written by|posted by)\s", re.IGNORECASE)
_LONGEST_BYLINE = 80


def _is_prose(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped.endswith(":") or _DATE_LINE.match(stripped):
        return False
    return not (len(stripped) <= _LONGEST_BYLINE and _BYLINE.match(stripped))


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def is_image_url(url: str) -> bool:
    """Whether a link target names a PNG, JPEG, GIF or WebP image by its suffix."""
    path = url.partition("#")[0].partition("?")[0]
    return path.lower().endswith(IMAGE_SUFFIXES)


def first_image(doc: Document) -> Link | None:
    """The first link to an image, if any: the picture a link preview shows."""
    for line in doc:
        if isinstance(line, Link) and is_image_url(line.url):
            return line
    return None


def links(doc: Document) -> tuple[Link, ...]:
    """Every link line of the document, in order."""
    return tuple(line for line in doc if isinstance(line, Link))


def feed_entries(doc: Document) -> tuple[FeedEntry, ...]:
    """The links whose label starts with a valid YYYY-MM-DD date, in document order."""
    entries: list[FeedEntry] = []
    for link in links(doc):
        match = _DATED_LABEL.match(link.label)
        if match is None:
            continue
        try:
            date = datetime.date.fromisoformat(match["date"])
        except ValueError:
            continue
        entries.append(FeedEntry(date, link.url, match["title"]))
    return tuple(entries)
