"""What an article says it is about: its summary, for lists, feeds, search and link previews."""

from __future__ import annotations

import re

from gemtext import Document, Text, first_paragraph

SUMMARY_LINES = 10
"""A `Summary:` text line counts among this many first lines of a page (front lines apart)."""
LONGEST_SUMMARY = 300
"""Characters of a summary kept for lists; longer ones are cut at a word."""
_SUMMARY_LINE = re.compile(r"summary:\s*(?P<text>\S.*)", re.IGNORECASE)
_ELLIPSIS = "\u2026"


def summary(front_summary: str, document: Document) -> str:
    """The summary of a page: its `Summary:` front line, else a `Summary:` text line among its
    first SUMMARY_LINES lines (without the prefix), else its first real paragraph; "" if it
    has none. Runs of white space are made single and the result cut to LONGEST_SUMMARY."""
    text = front_summary or summary_line(document) or first_paragraph(document) or ""
    return shortened(text, LONGEST_SUMMARY)


def summary_of(front_summary: str, text: str) -> str:
    """The summary of a page whose `Summary:` front line says `front_summary` and whose
    `Summary:` text line, else first paragraph, says `text` (as `summary` finds them)."""
    return shortened(front_summary or text, LONGEST_SUMMARY)


def summary_line(document: Document) -> str | None:
    """The text of a `Summary:` line near the top of the page, if it has one."""
    for line in document.lines[:SUMMARY_LINES]:
        if isinstance(line, Text) and (found := summary_line_text(line.text)) is not None:
            return found
    return None


def summary_line_text(text: str) -> str | None:
    """What a text line says after `Summary:`, if it is such a line."""
    found = _SUMMARY_LINE.match(text.strip())
    return None if found is None else found["text"]


def shortened(text: str, limit: int) -> str:
    """`text` with its runs of white space made single, cut at the last word that fits in
    `limit` characters (an ellipsis included) when it is longer."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[: limit - len(_ELLIPSIS) + 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut[:-1]
    return head.rstrip(" ,;:.-\u2013\u2014") + _ELLIPSIS
