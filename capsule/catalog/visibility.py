"""What a whole catalog may show at once: the access policy applied to every page, worked out
again only when the catalog or its rules change, or a publication time comes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from capsule.articles import Article, newest_first, release_of
from capsule.catalog.store import Catalog, Snapshot
from capsule.rules.access import ProtectRules
from capsule.rules.front_lines import NEVER
from capsule.rules.meta import META_NAME, MetaRules
from capsule.rules.policy import AccessPolicy, dated_release
from capsule.rules.redirects import RedirectRule, find_redirect


@dataclass(frozen=True, slots=True)
class Visible:
    """What a catalog may show of itself, as of one snapshot and one moment."""

    articles: tuple[Article, ...]
    """The articles readers may see, newest first by publication time."""
    hidden: frozenset[str]
    """The pages lists leave out: protected, drafts, withdrawn, or not published yet."""


@dataclass(frozen=True, slots=True)
class _Place:
    """A directory (a URL path ending in "/") with rules that shape lists, and those rules."""

    directory: str
    hiding: ProtectRules | None
    """Rules that cover what lies below the directories they match too (protect, draft), if
    any."""
    rules: MetaRules | None = None
    """The `.meta` file there, if it has rules for gone, redirects or publication times."""


@dataclass(frozen=True, slots=True)
class _Judged:
    """What the rules say of a catalog's pages, whatever the time."""

    hidden: frozenset[str] = frozenset()
    """The pages protected, drafted by `.meta` or withdrawn."""
    published: Mapping[str, datetime] = field(default_factory=dict)
    """The publication times `.meta` rules give pages that are not hidden."""


@dataclass(frozen=True, slots=True)
class _State:
    snapshot: Snapshot
    places: tuple[_Place, ...]
    judged: _Judged
    since: datetime
    until: datetime
    """The first publication time after `since`: `visible` holds until then."""
    visible: Visible


class Visibility:
    """What a catalog may show, worked out again only when the catalog changes (its pages or
    its `.meta` files; when the rules did not change, only new pages are looked at) or when a
    page's publication time comes, which needs neither a change on disk nor a restart.

    Requests read the result without touching the disk; safe to share between threads.
    """

    def __init__(self, catalog: Catalog, policy: AccessPolicy) -> None:
        self.catalog = catalog
        self.policy = policy
        self._state: _State | None = None

    def known(self, now: datetime | None = None) -> Visible | None:
        """What `current` would give, if that needs no work (the catalog has not changed and
        no publication time has come since it was last worked out); None otherwise."""
        now = self.policy.clock() if now is None else now
        state = self._state
        if (
            state is not None
            and state.snapshot is self.catalog.snapshot
            and state.since <= now < state.until
        ):
            return state.visible
        return None

    def current(self, now: datetime | None = None) -> Visible:
        """What the catalog may show as of its latest snapshot, at `now` (by default the
        policy's clock)."""
        now = self.policy.clock() if now is None else now
        snapshot = self.catalog.snapshot
        state = self._state
        if state is not None and state.snapshot is snapshot:
            if state.since <= now < state.until:
                return state.visible
            places, judged = state.places, state.judged
        else:
            places = self._places(snapshot)
            judged = self._judged(snapshot, places, state)
        pending = _pending(snapshot, judged, now)
        hidden = judged.hidden | snapshot.drafts
        if pending:
            hidden = hidden | {path for _, path in pending}
        articles = snapshot.articles
        if hidden:
            articles = tuple([article for article in articles if article.path not in hidden])
        if judged.published:
            articles = _retimed(articles, judged.published, snapshot)
        until = pending[0][0] if pending else NEVER
        visible = Visible(articles, hidden)
        # One assignment: another thread sees the old state or the new one, whole.
        self._state = _State(snapshot, places, judged, now, until, visible)
        return visible

    def _judged(
        self, snapshot: Snapshot, places: tuple[_Place, ...], state: _State | None
    ) -> _Judged:
        redirects = self.policy.redirects
        links = snapshot.links
        if not places and not redirects and not links:
            return _Judged()
        if state is not None and state.places == places:
            before = state.snapshot.pages
            if snapshot.pages is before and snapshot.links is state.snapshot.links:
                return state.judged
            current = set(snapshot.pages)
            # Symlinks are judged again each time: few, and their targets may have changed.
            again = current.difference(before).union(links)
            added = _judge(again, places, redirects, links)
            kept = state.judged
            return _Judged(
                frozenset(kept.hidden & (current - again)) | added.hidden,
                {
                    **{
                        path: when
                        for path, when in kept.published.items()
                        if path in current and path not in again
                    },
                    **added.published,
                },
            )
        return _judge(snapshot.pages, places, redirects, links)

    def _places(self, snapshot: Snapshot) -> tuple[_Place, ...]:
        configured = self.policy.configured
        places = [_Place("/", configured)] if configured else []
        for meta_file in snapshot.meta_files:
            directory = meta_file.removesuffix(META_NAME)
            rules = self.policy.meta.rules_at(directory)
            if rules is not None and rules.affects_lists:
                hiding = rules.hiding if rules.hiding else None
                exact = rules if rules.withdraws_or_publishes else None
                places.append(_Place(directory, hiding, exact))
        # A directory sorts before those below it: nearer rules come later, as in lookups.
        return tuple(sorted(places, key=lambda place: (place.directory, place.rules is not None)))


def _judge(
    pages: Iterable[str],
    places: tuple[_Place, ...],
    redirects: tuple[RedirectRule, ...],
    links: Mapping[str, str],
) -> _Judged:
    """What `places` and `redirects` say of `pages`; each folder is judged once for the rules
    that cover whole directories. A page that is a symlink (in `links`) is judged on the path
    it leads to as well, as a request for it is: hidden if either is, published at the later
    of their times."""
    folders: dict[tuple[int, str], bool] = {}

    def verdict(page: str) -> tuple[bool, datetime | None]:
        """Whether the rules hide `page`, and the publication time `.meta` rules give it."""
        if redirects and find_redirect(redirects, page) is not None:
            return True, None
        when = None
        for index, place in enumerate(places):
            if not page.startswith(place.directory):
                continue
            relative = page[len(place.directory) :]
            hiding = place.hiding
            if hiding is not None:
                folder = relative[: relative.rfind("/") + 1]
                covered = folders.get((index, folder))
                if covered is None:
                    covered = hiding.folder_protection(folder) is not None
                    folders[(index, folder)] = covered
                if covered or hiding.matching(relative) is not None:
                    return True, None
            rules = place.rules
            if rules is not None:
                if rules.withdraws(relative):
                    return True, None
                when = rules.publication(relative) or when
        return False, when

    hidden = []
    published = {}
    for page in pages:
        hides, when = verdict(page)
        real = links.get(page)
        if real is not None and not hides:
            hides, there = verdict(real)
            times = [when or dated_release(page), there or dated_release(real)]
            when = max((time for time in times if time is not None), default=None)
        if hides:
            hidden.append(page)
        elif when is not None:
            published[page] = when
    return _Judged(frozenset(hidden), published)


def _retimed(
    articles: tuple[Article, ...], published: Mapping[str, datetime], snapshot: Snapshot
) -> tuple[Article, ...]:
    """`articles` with the publication times `.meta` rules give them (a front line's time
    comes first), newest first again."""
    moved = {
        article.path: replace(article, time=published[article.path])
        for article in articles
        if article.path in published and article.path not in snapshot.releases
    }
    if not moved:
        return articles
    return newest_first(moved.get(article.path, article) for article in articles)


def _pending(snapshot: Snapshot, judged: _Judged, now: datetime) -> list[tuple[datetime, str]]:
    """The pages not published at `now`, with their publication times, soonest first."""
    # A front line's time comes before the `.meta` files' time, as in published_at.
    timed = {**judged.published, **snapshot.releases}
    pending = [(when, path) for path, when in timed.items() if when > now]
    today = now.astimezone(UTC).date()
    tomorrow = release_of(today + timedelta(days=1))
    # Newest first: an article dated after today without a time of its own is published no
    # sooner than the start of its date, so none follows one published before tomorrow.
    for article in snapshot.articles:
        if article.moment < tomorrow and article.path not in timed:
            break
        if article.published <= today:
            continue
        if article.path not in timed:
            pending.append((release_of(article.published), article.path))
    pending.sort()
    return pending
