"""The title of a page: its first heading, else a dated article's slug in words, else its path."""

from __future__ import annotations

from capsule.articles import article_date, fallback_title
from gemtext import Document, title


def page_title(document: Document, path: str) -> str:
    """What a page at capsule path `path` is called, in search results, feeds and the mirror."""
    return titled(title(document), path)


def titled(heading: str | None, path: str) -> str:
    """What a page at `path` whose first heading says `heading` (None: it has none) is called."""
    if heading:
        return heading
    dated = article_date(path)
    return fallback_title(*dated) if dated else path
