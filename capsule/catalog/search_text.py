"""What the search index holds of a page, and how a reader's input becomes a query."""

from __future__ import annotations

from capsule.markers import is_marker
from gemtext import Document, Heading, Link, Preformatted

QUERY_WORDS = 32
"""Words of a search that count; the rest are left out."""


def query_words(query: str) -> list[str]:
    """The words of reader input: its runs of letters and digits, the first QUERY_WORDS."""
    return "".join(char if char.isalnum() else " " for char in query).split()[:QUERY_WORDS]


def fts_query(query: str) -> str:
    """Turn reader input into an FTS5 query that matches all its words, each quoted."""
    return " ".join('"' + word + '"' for word in query_words(query))


def plain_text(document: Document, title_seen: bool = False) -> str:
    """The readable text of a gemtext document for the search index, without its title
    (indexed on its own; its first heading, unless `title_seen` before it) and without
    `{{recent}}` markers."""
    parts: list[str] = []
    for line in document.lines:
        if isinstance(line, Link):
            parts.append(line.label)
        elif isinstance(line, Preformatted):
            parts.append(line.alt)
            parts.extend(line.lines)
        elif isinstance(line, Heading) and not title_seen:
            title_seen = True
        elif not is_marker(line.text):
            parts.append(line.text)
    return "\n".join(part for part in parts if part)
