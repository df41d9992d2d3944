"""The markers an author puts on a page to place generated lists: `{{recent}}` (recent
articles, with `summaries` their summaries too), `{{series}}` (the parts of the page's series)
and `{{neighbours}}` (the articles published just before and after it); and their expansion,
kept within a page size however many markers a page holds."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from capsule.articles import Article

RECENT_MARKER = re.compile(
    r"^\{\{\s*recent(?:\s+(\d{1,4}))?(\s+summaries)?\s*\}\}[ \t\r]*$", re.MULTILINE
)
SERIES_MARKER = re.compile(r"^\{\{\s*series\s*\}\}[ \t\r]*$", re.MULTILINE)
NEIGHBOURS_MARKER = re.compile(r"^\{\{\s*neighbours\s*\}\}[ \t\r]*$", re.MULTILINE)
MARKERS = (RECENT_MARKER, SERIES_MARKER, NEIGHBOURS_MARKER)
ANY_MARKER = re.compile("|".join(f"(?:{marker.pattern})" for marker in MARKERS), re.MULTILINE)
"""Any marker: group 1 is a `{{recent}}` count, group 2 its `summaries`."""

MarkerText = Callable[[re.Match[str], int], "tuple[str, int] | None"]
"""What a marker (a match of ANY_MARKER) becomes, with its size in bytes, if that is at most
the room given; None if it is not."""


def marker_kind(match: re.Match[str]) -> str:
    """Which marker a match of ANY_MARKER is: "recent", "series" or "neighbours"."""
    for kind in ("recent", "series", "neighbours"):
        if kind in match.group(0):
            return kind
    raise ValueError(match.group(0))


def is_marker(line: str) -> bool:
    """Whether a whole line is a marker."""
    return line.startswith("{{") and any(marker.match(line) for marker in MARKERS)


def without_markers(gemtext: str) -> str:
    """A page with its marker lines removed, for capsules that keep no catalog."""
    if "{{" not in gemtext:
        return gemtext
    return ANY_MARKER.sub("", gemtext)


@dataclass(frozen=True, slots=True)
class Expansion:
    """A page with its markers filled in, and the lines (from 1) of those left as they are
    because filling them would have taken the page past its size limit."""

    gemtext: str
    left: tuple[int, ...] = ()


class RecentLines:
    """The entries `line_of` makes of `articles` (newest first), joined by `separator`, made
    only as far as they are asked for: a marker costs what it adds to a page, never what the
    catalog holds. Safe to share between threads."""

    def __init__(
        self,
        articles: Sequence[Article],
        line_of: Callable[[Article], str],
        separator: str = "\n",
    ) -> None:
        self.articles = articles
        self._line_of = line_of
        self._separator = separator
        self._separator_size = len(separator.encode("utf-8"))
        self._lines: list[str] = []
        self._ends = [0]
        """Bytes of the first n lines, each with its separator, at index n."""
        self._lock = threading.Lock()

    def text(self, count: int, room: int) -> tuple[str, int] | None:
        """The first `count` lines and their size in bytes, if that is at most `room`."""
        count = min(count, len(self.articles))
        if len(self._lines) < count:
            self._make(count, room)
            if len(self._lines) < count:
                return None
        size = self._ends[count] - self._separator_size if count else 0
        if size > room:
            return None
        return self._separator.join(self._lines[:count]), size

    def _make(self, count: int, room: int) -> None:
        with self._lock:
            while len(self._lines) < count and self._ends[-1] <= room:
                line = self._line_of(self.articles[len(self._lines)])
                # Sizes first: a reader that sees n lines finds n sizes.
                self._ends.append(self._ends[-1] + len(line.encode("utf-8")) + self._separator_size)
                self._lines.append(line)


def expand_markers(gemtext: str, fill: MarkerText, limit: int | None) -> Expansion:
    """Replace each marker line of `gemtext` by what `fill` makes of it, from the top, while
    the page stays within `limit` bytes; a marker that would pass it stays as it is."""
    if "{{" not in gemtext:
        return Expansion(gemtext)
    size = len(gemtext.encode("utf-8")) if limit is not None else 0
    left: list[int] = []

    def replace(match: re.Match[str]) -> str:
        nonlocal size
        marker = match.group(0)
        marker_size = len(marker.encode("utf-8"))
        room = sys.maxsize if limit is None else limit - size + marker_size
        found = fill(match, room)
        if found is None:
            left.append(gemtext.count("\n", 0, match.start()) + 1)
            return marker
        text, added = found
        size += added - marker_size
        return text

    return Expansion(ANY_MARKER.sub(replace, gemtext), tuple(left))
