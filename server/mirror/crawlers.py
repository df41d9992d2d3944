"""What the mirror tells web crawlers: the robots.txt rules in mirror paths, and the sitemaps
of each capsule, made from its catalog once per catalog generation."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from urllib.parse import quote

from capsule.articles import Article
from capsule.catalog.store import Catalog
from capsule.publication.archive import ARCHIVE_PATH
from capsule.publication.robots import robots_txt
from capsule.resources import Robots
from capsule.root import Capsule
from capsule.tree import INDEX_NAME
from server.mirror.links import mirror_path
from server.mirror.sitemap import SITEMAP_PATH, Listed, is_sitemap_path, sitemap_files

WEB_AGENTS = ("*",)
QUERIES = "/*?"
"""Any URL with a query: a page asked with one is the same page again, and search results
never end."""
_KEPT = 8
"""Sitemap sets kept, one per capsule and origin (a mirror without a base URL takes its
origin from each request's Host)."""


def web_robots_txt(robots: Robots, sitemap: str | None) -> bytes:
    """The robots.txt the mirror serves: the capsule's rules for every crawler, in mirror
    paths, no URL with a query, and the absolute URL of the sitemap if there is one."""
    patterns: list[str] = []
    for path in robots.disallowed:
        encoded = quote(path)
        shown = mirror_path(encoded)
        # A directory's index page is shown at the directory: only that exact URL is meant.
        exact = shown.endswith("/") and not encoded.endswith("/")
        patterns += [shown + "$" if exact else shown, encoded]
    patterns.append(QUERIES)
    return robots_txt(WEB_AGENTS, list(dict.fromkeys(patterns)), sitemap).encode("utf-8")


class Sitemaps:
    """The sitemap files of each capsule with a catalog, for one origin at a time each.

    They are made from the publication's article list, the archive's own (so nothing readers
    may not see), when first asked for after that list changed (the catalog changed, or an
    article's publication time came), never by reading the disk.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: OrderedDict[tuple[Capsule, str], tuple[tuple[Article, ...], dict[str, bytes]]]
        self._made = OrderedDict()

    def url(self, capsule: Capsule, origin: str | None) -> str | None:
        """The absolute URL of the capsule's sitemap, if it has one and the origin is known."""
        if capsule.publication is None or not origin:
            return None
        return origin.rstrip("/") + SITEMAP_PATH

    def file(self, capsule: Capsule, path: str, origin: str) -> bytes | None:
        """The sitemap file at mirror path `path`, or None if there is none there."""
        return self.files(capsule, origin).get(path) if is_sitemap_path(path) else None

    def files(self, capsule: Capsule, origin: str) -> dict[str, bytes]:
        """Every sitemap file of the capsule by mirror path; none without a catalog."""
        if capsule.publication is None:
            return {}
        catalog = capsule.publication.catalog
        articles = capsule.publication.articles()
        key = (capsule, origin)
        with self._lock:
            made = self._made.get(key)
            if made is None or made[0] is not articles:
                made = (articles, sitemap_files(_listed(catalog, articles, origin), origin))
                self._made[key] = made
                while len(self._made) > _KEPT:
                    self._made.popitem(last=False)
            self._made.move_to_end(key)
        return made[1]


def _listed(catalog: Catalog, articles: tuple[Article, ...], origin: str) -> Iterator[Listed]:
    """The home page if it is a page, the archive, then every article, newest first. The
    home page and the archive list the newest articles, so they change when any does. An
    article changes when its text does (copying its file changes nothing)."""
    base = origin.rstrip("/")
    changes = [article.last_change for article in articles]
    latest = max(changes, default=None)
    home = "/" + INDEX_NAME
    if catalog.holds(home):
        edited = catalog.modified(home)
        when = max(filter(None, (edited, latest)), default=None)
        yield Listed(base + "/", when)
    yield Listed(base + quote(mirror_path(ARCHIVE_PATH)), latest)
    for article, change in zip(articles, changes, strict=True):
        yield Listed(base + quote(mirror_path(article.path)), change)
