"""What a page tells link previews and search engines: description, Open Graph, JSON-LD."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from capsule.articles import article_date
from gemtext import Document, first_paragraph

DESCRIPTION_CHARS = 160
"""About what search results show of a description; longer ones are cut at a word."""
_ELLIPSIS = "\u2026"


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """The facts about a page that its head announces."""

    title: str
    description: str | None
    url: str | None
    """The canonical URL; None without a base URL to make it absolute."""
    site_name: str
    lang: str | None
    published: datetime.date | None
    """The date of a dated article; None for any other page."""
    modified: datetime.datetime | None

    @property
    def og_type(self) -> str:
        """The Open Graph type: an article when the page is a dated one."""
        return "article" if self.published is not None else "website"

    def json_ld(self) -> dict[str, object] | None:
        """A schema.org NewsArticle for a dated article; None for any other page."""
        if self.published is None:
            return None
        article: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": self.title,
            "datePublished": self.published.isoformat(),
            "publisher": {"@type": "Organization", "name": self.site_name},
        }
        if self.modified is not None:
            article["dateModified"] = self.modified.isoformat()
        if self.url is not None:
            article["url"] = article["mainEntityOfPage"] = self.url
        if self.description is not None:
            article["description"] = self.description
        if self.lang is not None:
            article["inLanguage"] = self.lang
        return article


def page_metadata(
    document: Document,
    title: str,
    source_path: str,
    url: str | None,
    site_name: str,
    lang: str | None,
    modified: float | None,
) -> PageMetadata:
    """The metadata of the page whose gemtext lives at capsule path `source_path`."""
    dated = article_date(source_path)
    published = dated[0] if dated is not None else None
    written = None
    if published is not None and modified is not None:
        written = datetime.datetime.fromtimestamp(int(modified), datetime.UTC)
        # A file last written before the date it is published under (written ahead of it)
        # tells nothing of an edit since: no dateModified then.
        if written.date() < published:
            written = None
    paragraph = first_paragraph(document)
    return PageMetadata(
        title=title,
        description=shortened(paragraph, DESCRIPTION_CHARS) if paragraph else None,
        url=url,
        site_name=site_name,
        lang=lang,
        published=published,
        modified=written,
    )


def shortened(text: str, limit: int) -> str:
    """`text` with its runs of white space made single, cut at the last word that fits in
    `limit` characters (an ellipsis included) when it is longer."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[: limit - len(_ELLIPSIS) + 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut[:-1]
    return head.rstrip(" ,;:.-\u2013\u2014") + _ELLIPSIS
