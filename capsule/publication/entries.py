"""How generated lists write an article: a gemfeed link line, and its summary under it."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from capsule.articles import Article


def gemfeed_line(article: Article) -> str:
    """A link line in the gemfeed convention: `=> path YYYY-MM-DD Title`."""
    return f"=> {quote(article.path)} {article.published.isoformat()} {article.title}"


ENTRY_SEPARATOR = {False: "\n", True: "\n\n"}
"""What stands between two entries: a blank line when they carry summaries."""


def entry_text(article: Article, summaries: bool) -> str:
    """One article in a generated list: its gemfeed line; with `summaries`, followed by its
    summary as a text line."""
    if summaries and article.summary:
        return f"{gemfeed_line(article)}\n{article.summary}"
    return gemfeed_line(article)


def entry_lines(articles: Iterable[Article], summaries: bool) -> list[str]:
    """The lines of `articles` as a generated list (see `entry_text`), entries with summaries
    set apart by a blank line."""
    texts = [entry_text(article, summaries) for article in articles]
    return ENTRY_SEPARATOR[summaries].join(texts).split("\n") if texts else []
