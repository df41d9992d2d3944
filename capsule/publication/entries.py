"""How generated lists write an article: a gemfeed link line, and its summary under it."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from capsule.articles import Article


def gemfeed_line(article: Article) -> str:
    """A link line in the gemfeed convention: `=> path YYYY-MM-DD Title`."""
    return f"=> {quote(article.path)} {article.published.isoformat()} {article.title}"


def entry_lines(articles: Iterable[Article], summaries: bool) -> list[str]:
    """Gemfeed lines for `articles`; with `summaries`, each followed by its summary as a text
    line and a blank line."""
    if not summaries:
        return [gemfeed_line(article) for article in articles]
    lines: list[str] = []
    for article in articles:
        lines.append(gemfeed_line(article))
        if article.summary:
            lines.append(article.summary)
        lines.append("")
    if lines:
        lines.pop()
    return lines
