"""The `{{recent}}` marker an author puts on a page to place a list of recent articles, and its
expansion, kept within a page size however many markers a page holds."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from capsule.articles import Article, gemfeed_line

RECENT_MARKER = re.compile(r"^\{\{\s*recent(?:\s+(\d{1,4}))?\s*\}\}[ \t\r]*$", re.MULTILINE)


def is_marker(line: str) -> bool:
    """Whether a whole line is a `{{recent}}` marker."""
    return line.startswith("{{") and RECENT_MARKER.match(line) is not None


@dataclass(frozen=True, slots=True)
class Expansion:
    """A page with its markers filled in, and the lines (from 1) of those left as they are
    because filling them would have taken the page past its size limit."""

    gemtext: str
    left: tuple[int, ...] = ()


class RecentLines:
    """The gemfeed lines of `articles` (newest first), made only as far as they are asked for:
    a marker costs what it adds to a page, never what the catalog holds. Safe to share between
    threads."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self.articles = articles
        self._lines: list[str] = []
        self._ends = [0]
        """Bytes of the first n lines, each with its newline, at index n."""
        self._lock = threading.Lock()

    def text(self, count: int, room: int) -> tuple[str, int] | None:
        """The first `count` lines and their size in bytes, if that is at most `room`."""
        count = min(count, len(self.articles))
        if len(self._lines) < count:
            self._make(count, room)
            if len(self._lines) < count:
                return None
        size = self._ends[count] - 1 if count else 0
        if size > room:
            return None
        return "\n".join(self._lines[:count]), size

    def _make(self, count: int, room: int) -> None:
        with self._lock:
            while len(self._lines) < count and self._ends[-1] <= room:
                line = gemfeed_line(self.articles[len(self._lines)])
                # Sizes first: a reader that sees n lines finds n sizes.
                self._ends.append(self._ends[-1] + len(line.encode("utf-8")) + 1)
                self._lines.append(line)


def expand_markers(
    gemtext: str, recent: RecentLines, default_count: int, limit: int | None
) -> Expansion:
    """Replace each `{{recent N}}` line of `gemtext` by the N newest articles (`default_count`
    without N) while the page stays within `limit` bytes; a marker that would pass it stays."""
    if "{{" not in gemtext:
        return Expansion(gemtext)
    size = len(gemtext.encode("utf-8")) if limit is not None else 0
    left: list[int] = []

    def fill(match: re.Match[str]) -> str:
        nonlocal size
        marker = match.group(0)
        marker_size = len(marker.encode("utf-8"))
        room = sys.maxsize if limit is None else limit - size + marker_size
        found = recent.text(int(match.group(1) or default_count), room)
        if found is None:
            left.append(gemtext.count("\n", 0, match.start()) + 1)
            return marker
        text, added = found
        size += added - marker_size
        return text

    return Expansion(RECENT_MARKER.sub(fill, gemtext), tuple(left))
