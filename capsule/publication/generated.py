"""Generated pages of a publication: archive, gemfeed, Atom feed, search, recent articles."""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import quote

from capsule.articles import Article, article_date, gemfeed_line
from capsule.catalog.store import Catalog, Snapshot
from capsule.catalog.visibility import Visibility
from capsule.markers import RECENT_MARKER, RecentLines, expand_markers
from capsule.resources import Feed, InputPrompt, Page, Redirect, Resource
from capsule.rules.access import Fingerprint, Protection
from capsule.rules.front_lines import FrontLines
from capsule.rules.meta import MetaIndex
from capsule.rules.policy import AccessPolicy
from capsule.setting import POSITIVE, setting

ARCHIVE_PATH = "/archive/"
GEMFEED_PATH = "/feed.gmi"
ATOM_PATH = "/atom.xml"
SEARCH_PATH = "/search"

_MONTH_PAGE = re.compile(r"^/archive/(\d{4})/(\d{2})/$")
_YEAR_PAGE = re.compile(r"^/archive/(\d{4})/$")

_INDEX_PAGE = "/index.gmi"

@dataclass(frozen=True, slots=True)
class PublicationSettings:
    """The title of the feeds, and how many articles each generated list shows."""

    title: str = setting(
        "",
        flag="--feed-title",
        metavar="TITLE",
        shown_default="the index page's title",
        help="title of the feeds; empty means the index page's title",
    )
    subtitle: str = setting(
        "Latest articles",
        flag="--feed-subtitle",
        metavar="TEXT",
        help="subtitle of the feeds: the gemfeed's second heading, the Atom feed's subtitle",
    )
    feed_size: int = setting(
        50, bound=POSITIVE, flag="--feed-size", metavar="N", help="articles in the feeds"
    )
    recent_size: int = setting(
        10, bound=POSITIVE, help="articles a {{recent}} line lists when it gives no number"
    )
    recent_under_articles: int = setting(
        0,
        flag="--recent-under-articles",
        metavar="N",
        help="recent articles listed under every article, 0 for none",
    )
    search_results: int = setting(20, bound=POSITIVE, help="results a search answers at most")
    staff: tuple[Fingerprint, ...] = setting(
        (),
        help="fingerprints of the client certificates that may see drafts, and articles before "
        "their publication time",
    )

    @property
    def staff_protection(self) -> Protection:
        """What the staff's fingerprints admit: those certificates, none if nobody is staff."""
        return Protection(frozenset(self.staff))


class Publication:
    """Answers the generated paths of a capsule from its catalog, leaving out what readers may
    not see: protected pages, drafts, withdrawn pages and articles not published yet.

    `access` says what that is; by default what the `.meta` files under the catalog's root say.
    A capsule and its publication share one.
    """

    def __init__(
        self,
        catalog: Catalog,
        settings: PublicationSettings,
        lang: str | None,
        access: AccessPolicy | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.lang = lang
        self.access = access or AccessPolicy(
            MetaIndex(catalog.root), staff=settings.staff_protection
        )
        self.visibility = Visibility(catalog, self.access)
        self._months_of: tuple[Article, ...] | None = None
        self._months: dict[tuple[int, int], list[Article]] = {}
        self._recent: RecentLines | None = None

    @property
    def title(self) -> str:
        """The publication's name: configured, else its index page's heading, else "Articles"."""
        now = self.access.clock()
        snapshot = self.catalog.snapshot
        front = _front_of(snapshot, _INDEX_PAGE)
        if self.access.unlisted(_INDEX_PAGE, now, front, _links_of(snapshot, _INDEX_PAGE)):
            return self.settings.title or "Articles"
        indexed = self.catalog.title_of(_INDEX_PAGE)
        # An index without a heading is titled by its path, which names no publication.
        return self.settings.title or (indexed if indexed != _INDEX_PAGE else None) or "Articles"

    def resolve(self, path: str, query: str | None) -> Resource | None:
        """The generated resource at `path`, or None if nothing is generated there."""
        if path == ARCHIVE_PATH:
            return self._page(self._archive())
        if path == GEMFEED_PATH:
            return self._page(self._gemfeed())
        if path == ATOM_PATH:
            articles = self.articles()[: self.settings.feed_size]
            return Feed(self.title, ATOM_PATH, articles, self.settings.subtitle)
        if path == SEARCH_PATH:
            if not query or not query.strip():
                return InputPrompt("Search this capsule")
            return self._page(self._search(query))
        if not path.endswith("/") and _is_generated_directory(path + "/"):
            generated = self.resolve(path + "/", None)
            return Redirect(quote(path) + "/", permanent=True) if generated is not None else None
        if month := _MONTH_PAGE.match(path):
            return self._month(int(month.group(1)), int(month.group(2)))
        if year := _YEAR_PAGE.match(path):
            return self._year(int(year.group(1)))
        return None

    def generates(self, path: str) -> bool:
        """Whether `path` is one `resolve` may answer: deciding costs no catalog work."""
        return (
            path in (ARCHIVE_PATH, GEMFEED_PATH, ATOM_PATH, SEARCH_PATH)
            or _is_generated_directory(path)
            or _is_generated_directory(path + "/")
        )

    def expand(self, path: str, gemtext: str, limit: int | None = None) -> str:
        """Fill `{{recent}}` markers and, if configured, list recent articles under articles,
        as far as the page stays within `limit` bytes: past it, markers stay as they are."""
        if "{{" in gemtext:
            gemtext = expand_markers(
                gemtext, self._recent_lines(), self.settings.recent_size, limit
            ).gemtext
        count = self.settings.recent_under_articles
        if count and article_date(path) is not None:
            others = [a for a in self.articles()[: count + 1] if a.path != path][:count]
            if others:
                tail = "\n".join(gemfeed_line(article) for article in others)
                expanded = gemtext.rstrip("\n") + "\n\n## More articles\n" + tail + "\n"
                if limit is None or len(expanded.encode("utf-8")) <= limit:
                    gemtext = expanded
        return gemtext

    def _recent_lines(self) -> RecentLines:
        """The gemfeed lines of the articles readers may see now, kept while they stay."""
        articles = self.articles()
        recent = self._recent
        if recent is None or recent.articles is not articles:
            recent = self._recent = RecentLines(articles)
        return recent

    def articles(self) -> tuple[Article, ...]:
        """The articles readers may see now, newest first: the archive's, the feeds' and the
        sitemaps' list."""
        return self.visibility.current().articles

    def _page(self, gemtext: str) -> Page:
        return Page(gemtext, self.lang)

    def _archive(self) -> str:
        lines = ["# Archive", ""]
        year = None
        for (month_year, month), articles in sorted(self._by_month().items(), reverse=True):
            if month_year != year:
                year = month_year
                lines += ["", f"## {year}"] if len(lines) > 2 else [f"## {year}"]
            count = len(articles)
            noun = "article" if count == 1 else "articles"
            lines.append(
                f"=> /archive/{year}/{month:02d}/ {calendar.month_name[month]} {year} "
                f"({count} {noun})"
            )
        if not self.articles():
            lines.append("Nothing published yet.")
        lines += ["", f"=> {GEMFEED_PATH} Subscribe (gemfeed)", f"=> {ATOM_PATH} Atom feed"]
        return "\n".join(lines) + "\n"

    def _month(self, year: int, month: int) -> Resource | None:
        articles = self._by_month().get((year, month))
        if not articles:
            return None
        lines = [f"# {calendar.month_name[month]} {year}", ""]
        lines += [gemfeed_line(article) for article in articles]
        lines += ["", f"=> /archive/{year}/ All of {year}", f"=> {ARCHIVE_PATH} Archive"]
        return self._page("\n".join(lines) + "\n")

    def _year(self, year: int) -> Resource | None:
        months = sorted(
            ((month, articles) for (y, month), articles in self._by_month().items() if y == year),
            reverse=True,
        )
        if not months:
            return None
        lines = [f"# {year}", ""]
        for month, articles in months:
            lines.append(f"## {calendar.month_name[month]}")
            lines += [gemfeed_line(article) for article in articles]
            lines.append("")
        lines.append(f"=> {ARCHIVE_PATH} Archive")
        return self._page("\n".join(lines) + "\n")

    def _gemfeed(self) -> str:
        articles = self.articles()[: self.settings.feed_size]
        # A "## " line right under the title is the feed's subtitle (the subscription convention).
        subtitle = " ".join(self.settings.subtitle.split())
        lines = [f"# {self.title}", *([f"## {subtitle}"] if subtitle else []), ""]
        lines += [gemfeed_line(article) for article in articles]
        lines += ["", f"=> {ARCHIVE_PATH} Archive"]
        return "\n".join(lines) + "\n"

    def _search(self, query: str) -> str:
        now = self.access.clock()
        hidden = self.visibility.current(now).hidden
        hits = self.catalog.search(query, self.settings.search_results, hidden)
        # The catalog learns of a new `.meta` file at its next refresh; the file applies now.
        snapshot = self.catalog.snapshot
        hits = [
            hit for hit in hits
            if not self.access.unlisted(
                hit.path, now, _front_of(snapshot, hit.path), _links_of(snapshot, hit.path)
            )
        ]
        shown = " ".join(query.split())
        lines = [f"# Search: {shown}", ""]
        if not hits:
            lines.append("No pages match every word of this search.")
        for hit in hits:
            lines.append(f"=> {quote(hit.path)} {hit.title}")
            if hit.snippet:
                lines.append(f"> {hit.snippet}")
            lines.append("")
        lines += [f"=> {SEARCH_PATH} Search again"]
        return "\n".join(lines) + "\n"

    def _by_month(self) -> dict[tuple[int, int], list[Article]]:
        """Articles grouped by month, recomputed only when the list of articles changes."""
        articles = self.articles()
        if self._months_of is not articles:
            months: dict[tuple[int, int], list[Article]] = defaultdict(list)
            for article in articles:
                months[(article.published.year, article.published.month)].append(article)
            self._months, self._months_of = dict(months), articles
        return self._months


def _front_of(snapshot: Snapshot, path: str) -> FrontLines:
    """What the front lines of the page at `path` said when the catalog last read it."""
    return FrontLines(path in snapshot.drafts, snapshot.releases.get(path))


def _links_of(snapshot: Snapshot, path: str) -> tuple[str, ...]:
    """Where the page at `path` leads if it is a symlink, as the catalog last saw it."""
    real = snapshot.links.get(path)
    return () if real is None else (real,)


def _is_generated_directory(path: str) -> bool:
    return path == ARCHIVE_PATH or bool(_MONTH_PAGE.match(path) or _YEAR_PAGE.match(path))


def without_markers(gemtext: str) -> str:
    """A page with its `{{recent}}` lines removed, for capsules that keep no catalog."""
    return RECENT_MARKER.sub("", gemtext) if "{{" in gemtext else gemtext
