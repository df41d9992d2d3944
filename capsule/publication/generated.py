"""Generated pages of a publication: what answers each generated path (archive, gemfeed, Atom
feed, search, series), and the markers filled on authors' pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from urllib.parse import quote

from capsule.articles import Article, ArticlePlace, article_date
from capsule.catalog.store import Catalog, Snapshot
from capsule.catalog.visibility import Visibility
from capsule.markers import MarkerText, RecentLines, expand_markers, marker_kind
from capsule.publication.archive import (
    ARCHIVE_PATH,
    archive_page,
    day_page,
    directory_page,
    month_page,
    year_page,
)
from capsule.publication.entries import ENTRY_SEPARATOR, entry_text, gemfeed_line
from capsule.publication.groups import ArticleGroups
from capsule.publication.search_pages import SearchPage, results_page, search_page
from capsule.publication.series import (
    SERIES_PAGE,
    SERIES_PATH,
    neighbour_lines,
    series_block,
    series_index,
    series_page,
)
from capsule.resources import Feed, InputPrompt, Page, Redirect, Resource
from capsule.rules.access import Fingerprint, Protection
from capsule.rules.front_lines import FrontLines
from capsule.rules.meta import META_NAME, MetaIndex
from capsule.rules.policy import AccessPolicy
from capsule.setting import POSITIVE, setting

GEMFEED_PATH = "/feed.gmi"
ATOM_PATH = "/atom.xml"

_MONTH_PAGE = re.compile(r"^/archive/(\d{4})/(\d{2})/$")
_YEAR_PAGE = re.compile(r"^/archive/(\d{4})/$")
_DAY_PAGE = re.compile(r"^/archive/(\d{4})/(\d{2})/(\d{2})/$")
_DATE_DIRECTORY = re.compile(r"^(?:/[^/]+)*/(\d{4})/(\d{2})/(\d{2})/$")

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
    neighbours_under_articles: bool = setting(
        False,
        help="links to the previous and next article under every article on Gemini (the "
        "mirror always shows them)",
    )
    search_results: int = setting(20, bound=POSITIVE, help="results on one page of a search")
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
        self._groups = ArticleGroups(())
        self._grouped_from: tuple[tuple[Article, ...], Snapshot] | None = None
        """Which list of articles and which catalog snapshot `_groups` was made from."""
        self._recent: dict[bool, RecentLines] = {}

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
            return self._page(archive_page(self.groups(), self._feed_links()))
        if path == GEMFEED_PATH:
            return self._page(self._gemfeed())
        if path == ATOM_PATH:
            articles = self.articles()[: self.settings.feed_size]
            return Feed(self.title, ATOM_PATH, articles, self.settings.subtitle)
        if (asked := search_page(path)) is not None:
            if not query or not query.strip():
                return InputPrompt("Search this capsule")
            found = self._search(query, asked.newest, asked.number)
            return None if found is None else self._page(found)
        if path == SERIES_PATH:
            return self._page(series_index(self.groups()))
        if not path.endswith("/") and _is_generated_directory(path + "/"):
            generated = self.resolve(path + "/", None)
            return Redirect(quote(path) + "/", permanent=True) if generated is not None else None
        return self._dated(path)

    def _dated(self, path: str) -> Resource | None:
        """The archive pages of a year, month or day, a series, or a date directory."""
        groups = self.groups()
        gemtext = None
        if day := _DAY_PAGE.match(path):
            found = _date(*day.groups())
            gemtext = day_page(groups, found) if found else None
        elif month := _MONTH_PAGE.match(path):
            gemtext = month_page(groups, int(month[1]), int(month[2]))
        elif year := _YEAR_PAGE.match(path):
            gemtext = year_page(groups, int(year[1]))
        elif series := SERIES_PAGE.match(path):
            gemtext = series_page(groups, series[1])
        elif directory := _DATE_DIRECTORY.match(path):
            found = _date(*directory.groups())
            gemtext = directory_page(groups, path, found) if found else None
        return None if gemtext is None else self._page(gemtext)

    def generates(self, path: str) -> bool:
        """Whether `path` is one `resolve` may answer: deciding costs no catalog work."""
        return (
            path in (ARCHIVE_PATH, GEMFEED_PATH, ATOM_PATH, SERIES_PATH)
            or search_page(path) is not None
            or _is_generated_directory(path)
            or _is_generated_directory(path + "/")
            or _DATE_DIRECTORY.match(path) is not None
        )

    def expand(self, path: str, gemtext: str, limit: int | None = None) -> str:
        """Fill the markers of a page and, if configured, list recent articles and the
        neighbours under articles, as far as the page stays within `limit` bytes: past it,
        markers stay as they are."""
        if "{{" in gemtext:
            gemtext = expand_markers(gemtext, self._marker_text(path), limit).gemtext
        if article_date(path) is None:
            return gemtext
        if self.settings.neighbours_under_articles and (neighbours := neighbour_lines(
            self.place(path)
        )):
            gemtext = _within(gemtext.rstrip("\n") + "\n\n" + neighbours + "\n", limit, gemtext)
        count = self.settings.recent_under_articles
        if count:
            others = [a for a in self.articles()[: count + 1] if a.path != path][:count]
            if others:
                tail = "\n".join(gemfeed_line(article) for article in others)
                expanded = gemtext.rstrip("\n") + "\n\n## More articles\n" + tail + "\n"
                gemtext = _within(expanded, limit, gemtext)
        return gemtext

    def _marker_text(self, path: str) -> MarkerText:
        """What each marker of the page at `path` becomes, within the room it is given; a
        series or neighbours block is made once per page, however many markers ask for it."""
        blocks: dict[str, tuple[str, int]] = {}

        def text(match: re.Match[str], room: int) -> tuple[str, int] | None:
            kind = marker_kind(match)
            if kind == "recent":
                count = int(match.group(1) or self.settings.recent_size)
                return self._recent_lines(bool(match.group(2))).text(count, room)
            if kind not in blocks:
                made = (
                    series_block(self.groups(), path)
                    if kind == "series"
                    else neighbour_lines(self.place(path))
                )
                blocks[kind] = (made, len(made.encode("utf-8")))
            return blocks[kind] if blocks[kind][1] <= room else None

        return text

    def _recent_lines(self, summaries: bool) -> RecentLines:
        """The entry lines of the articles readers may see now (with their summaries or not),
        kept while that list stays."""
        articles = self.articles()
        recent = self._recent.get(summaries)
        if recent is None or recent.articles is not articles:
            recent = RecentLines(
                articles, partial(entry_text, summaries=summaries), ENTRY_SEPARATOR[summaries]
            )
            self._recent[summaries] = recent
        return recent

    def articles(self) -> tuple[Article, ...]:
        """The articles readers may see now, newest first: the archive's, the feeds' and the
        sitemaps' list."""
        return self.visibility.current().articles

    def groups(self) -> ArticleGroups:
        """The articles readers may see now, each in the series its `Series:` line or its
        `.meta` files name, grouped; made again when that list or the catalog changes."""
        visible, snapshot = self.articles(), self.catalog.snapshot
        made_from = self._grouped_from
        if made_from is None or made_from[0] is not visible or made_from[1] is not snapshot:
            named = self._series_named(snapshot)
            articles = tuple(map(self._in_series, visible)) if named else visible
            self._groups = ArticleGroups(articles)
            self._grouped_from = (visible, snapshot)
        return self._groups

    def _series_named(self, snapshot: Snapshot) -> bool:
        """Whether any `.meta` file the catalog knows has a `series=` rule: if none does, no
        article needs its `.meta` settings looked up for one."""
        for meta_file in snapshot.meta_files:
            rules = self.access.meta.rules_at(meta_file.removesuffix(META_NAME))
            if rules is not None and any(rule.series for rule in rules.rules):
                return True
        return False

    def _in_series(self, article: Article) -> Article:
        """`article` in the series its `.meta` files name, unless its own front line does."""
        if article.series:
            return article
        named = self.access.lookup(article.path).series
        return replace(article, series=named) if named else article

    def place(self, path: str) -> ArticlePlace | None:
        """The article at `path` with its neighbours, if lists may show it now."""
        return self.groups().place(path)

    def _page(self, gemtext: str) -> Page:
        return Page(gemtext, self.lang)

    def _feed_links(self) -> list[str]:
        return [f"=> {GEMFEED_PATH} Subscribe (gemfeed)", f"=> {ATOM_PATH} Atom feed"]

    def _gemfeed(self) -> str:
        articles = self.articles()[: self.settings.feed_size]
        # A "## " line right under the title is the feed's subtitle (the subscription convention).
        subtitle = " ".join(self.settings.subtitle.split())
        lines = [f"# {self.title}", *([f"## {subtitle}"] if subtitle else []), ""]
        lines += [gemfeed_line(article) for article in articles]
        lines += ["", f"=> {ARCHIVE_PATH} Archive"]
        return "\n".join(lines) + "\n"

    def _search(self, query: str, newest: bool, number: int) -> str | None:
        """The gemtext of page `number` of a search; None for a page past the last one."""
        now = self.access.clock()
        hidden = self.visibility.current(now).hidden
        per_page = self.settings.search_results
        results = self.catalog.search(query, per_page, hidden, (number - 1) * per_page, newest)
        # The catalog learns of a new `.meta` file at its next refresh; the file applies now.
        snapshot = self.catalog.snapshot
        kept = tuple(
            hit for hit in results.hits
            if not self.access.unlisted(
                hit.path, now, _front_of(snapshot, hit.path), _links_of(snapshot, hit.path)
            )
        )
        if number > 1 and not results.hits:
            return None
        results = replace(results, hits=kept, total=results.total - len(results.hits) + len(kept))
        return results_page(query, SearchPage(newest, number), results, per_page)


def _front_of(snapshot: Snapshot, path: str) -> FrontLines:
    """What the front lines of the page at `path` said when the catalog last read it."""
    return FrontLines(path in snapshot.drafts, snapshot.releases.get(path))


def _links_of(snapshot: Snapshot, path: str) -> tuple[str, ...]:
    """Where the page at `path` leads if it is a symlink, as the catalog last saw it."""
    real = snapshot.links.get(path)
    return () if real is None else (real,)


def _within(expanded: str, limit: int | None, fallback: str) -> str:
    """`expanded` if it stays within `limit` bytes, else `fallback`."""
    return expanded if limit is None or len(expanded.encode("utf-8")) <= limit else fallback


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _is_generated_directory(path: str) -> bool:
    generated = (_MONTH_PAGE, _YEAR_PAGE, _DAY_PAGE, SERIES_PAGE)
    return path in (ARCHIVE_PATH, SERIES_PATH) or any(page.match(path) for page in generated)
