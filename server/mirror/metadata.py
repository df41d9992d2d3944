"""What a page tells link previews and search engines: description, image, Open Graph, JSON-LD."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from capsule.articles import ArticlePlace, article_date, release_of
from capsule.summaries import shortened, summary
from gemtext import Document, first_image

DESCRIPTION_CHARS = 160
"""About what search results show of a description; longer ones are cut at a word."""


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """The facts about a page that its head announces."""

    title: str
    description: str | None
    url: str | None
    """The canonical URL; None without a base URL to make it absolute."""
    site_name: str
    lang: str | None
    published: datetime.datetime | None
    """The publication time of a dated article; None for any other page."""
    modified: datetime.datetime | None
    image: str | None = None
    """The absolute URL of the page's first image, if it has one and a base URL."""

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
        if self.image is not None:
            article["image"] = self.image
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
    place: ArticlePlace | None = None,
    image_url: str | None = None,
) -> PageMetadata:
    """The metadata of the page whose gemtext lives at capsule path `source_path`; `place` is
    what the catalog knows of it as a listed article, `image_url` its first image's absolute
    URL."""
    published, written = _times(source_path, modified, place)
    about = place.article.summary if place is not None else summary("", document)
    return PageMetadata(
        title=title,
        description=shortened(about, DESCRIPTION_CHARS) if about else None,
        url=url,
        site_name=site_name,
        lang=lang,
        published=published,
        modified=written,
        image=image_url if first_image(document) is not None else None,
    )


def _times(
    source_path: str, modified: float | None, place: ArticlePlace | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """When a page was published and last changed: the catalog's times for a listed article
    (changed when its text did), else its date and the time its file was last written."""
    if place is not None:
        return place.article.moment, place.article.updated
    dated = article_date(source_path)
    if dated is None:
        return None, None
    published = release_of(dated[0])
    if modified is None:
        return published, None
    written = datetime.datetime.fromtimestamp(int(modified), datetime.UTC)
    # A file last written before the date it is published under (written ahead of it) tells
    # nothing of an edit since: no modified time then.
    return published, written if written >= published else None
