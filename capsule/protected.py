"""What readers may see of a capsule: protected paths, drafts, articles not published yet and
withdrawn pages, per request and over a whole catalog at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from capsule.access import (
    NO_CERTIFICATE,
    NO_RULES,
    ClientIdentity,
    Protection,
    ProtectRules,
    narrowest,
    refusal,
)
from capsule.articles import Article, article_date, release_of
from capsule.catalog import Catalog, Snapshot
from capsule.front_lines import NEVER, NO_FRONT_LINES, FrontLines
from capsule.meta import META_NAME, NO_META, Meta, MetaIndex, MetaRules
from capsule.redirects import RedirectRule, find_redirect
from capsule.resources import Gone, Redirect, Resource
from capsule.tree import served_names

Clock = Callable[[], datetime]
"""Where "now" comes from: an aware datetime."""


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PathRules:
    """What the rules say of one path alone (its front lines aside)."""

    protection: Protection | None
    """Who may see it, drafts by `.meta` included; None: anybody."""
    withdrawn: bool
    published: datetime | None
    """When it is published by `.meta` or its article date, if anything dates it."""


class AccessPolicy:
    """What readers may see under one root: the operator's protect rules for that root and the
    `protect` and `draft` rules of the `.meta` files along each path (every rule covering a path
    must admit a certificate, so no rule can open what another protects); the staff, who alone
    see drafts and pages before their publication time; and the operator's redirects, which
    withdraw what they cover from every list. `clock` says what time it is.

    Where symlinks make the file read another than the path asked for, the rules of both paths
    apply, and every one must let a reader through: what a direct request for the file would
    refuse, no link serves or lists (`barrier` and `unlisted` here, `Visibility` for lists).
    """

    def __init__(
        self,
        meta: MetaIndex,
        configured: ProtectRules = NO_RULES,
        *,
        staff: Protection = NO_CERTIFICATE,
        redirects: tuple[RedirectRule, ...] = (),
        clock: Clock = utc_now,
    ) -> None:
        self.meta = meta
        self.configured = configured
        self.staff = staff
        self.redirects = redirects
        self.clock = clock

    def lookup(self, path: str) -> Meta:
        """The `.meta` settings of `path` (decoded, starting with "/")."""
        return NO_META if served_names(path) is None else self.meta.lookup(path)

    def protection(self, path: str, meta: Meta | None = None) -> Protection | None:
        """What protects `path` (decoded, starting with "/"), None if it is public; `meta` is
        its metadata when the caller has looked it up already. A draft admits the staff."""
        if meta is None:
            meta = self.lookup(path)
        configured = self.configured.protection(path[1:], path.endswith("/"))
        return narrowest(configured, meta.protect, self.staff if meta.draft else None)

    def is_staff(self, identity: ClientIdentity | None, moment: datetime) -> bool:
        """Whether a request with `identity` at `moment` comes from the staff."""
        return identity is not None and refusal(self.staff, identity, moment) is None

    def withdrawn(self, path: str, meta: Meta) -> bool:
        """Whether `path` is gone or redirected, by `.meta` (`meta`) or by the operator."""
        return meta.gone or meta.redirect is not None or bool(
            self.redirects and find_redirect(self.redirects, path)
        )

    def published_at(
        self, path: str, meta: Meta, front: datetime | None = None
    ) -> datetime | None:
        """When `path` is published: the time its front line gives (`front`), else its `.meta`
        files (`meta`), else the start of its article date in UTC; None if nothing dates it."""
        if front is not None:
            return front
        if meta.published is not None:
            return meta.published
        return _dated(path)

    def unpublished(
        self, path: str, meta: Meta, moment: datetime, front: datetime | None = None
    ) -> bool:
        """Whether `path` is not published yet at `moment` (see `published_at`)."""
        when = self.published_at(path, meta, front)
        return when is not None and when > moment

    def rules_of(self, path: str) -> PathRules:
        """What the rules say of `path` (decoded, starting with "/") alone."""
        meta = self.lookup(path)
        return PathRules(
            self.protection(path, meta), self.withdrawn(path, meta), self.published_at(path, meta)
        )

    def barrier(
        self, path: str, meta: Meta, identity: ClientIdentity | None
    ) -> Resource | None:
        """What the rules of `path` (its `.meta` settings `meta`) answer a request with
        `identity` before any file is read, if anything: a refusal (protected, or a draft by
        `.meta`), else the operator's redirect, else gone or a `.meta` redirect.

        A request is judged so on the path asked for, and again on the path of the file or
        directory actually read when a symlink makes it another (see `Capsule.resolve`).
        """
        protection = self.protection(path, meta)
        if protection is not None:
            refused = refusal(protection, identity, self.clock())
            if refused is not None:
                return refused
        if self.redirects and (redirect := find_redirect(self.redirects, path)) is not None:
            return redirect
        if meta.gone:
            return Gone()
        if meta.redirect is not None:
            return Redirect(meta.redirect, meta.permanent)
        return None

    def unlisted(
        self,
        path: str,
        moment: datetime,
        front: FrontLines = NO_FRONT_LINES,
        also: Iterable[str] = (),
    ) -> bool:
        """Whether lists leave `path` out at `moment`, by the `.meta` files and configuration as
        they are now and the page's `front` lines: protected, a draft, withdrawn or not
        published yet. `also` are the paths of what is actually read there when symlinks make
        them others: their rules must let the page through too."""
        if front.draft:
            return True
        for place in (path, *also):
            meta = self.lookup(place)
            if (
                self.protection(place, meta) is not None
                or self.withdrawn(place, meta)
                or self.unpublished(place, meta, moment, front.published)
            ):
                return True
        return False


@dataclass(frozen=True, slots=True)
class Visible:
    """What a catalog may show of itself, as of one snapshot and one moment."""

    articles: tuple[Article, ...]
    """The articles readers may see, newest first."""
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
            times = [when or _dated(page), there or _dated(real)]
            when = max((time for time in times if time is not None), default=None)
        if hides:
            hidden.append(page)
        elif when is not None:
            published[page] = when
    return _Judged(frozenset(hidden), published)


def _dated(path: str) -> datetime | None:
    """The start of the article date of `path` in UTC, if it is an article."""
    dated = article_date(path)
    return None if dated is None else release_of(dated[0])


def _pending(snapshot: Snapshot, judged: _Judged, now: datetime) -> list[tuple[datetime, str]]:
    """The pages not published at `now`, with their publication times, soonest first."""
    # A front line's time comes before the `.meta` files' time, as in published_at.
    timed = {**judged.published, **snapshot.releases}
    pending = [(when, path) for path, when in timed.items() if when > now]
    today = now.astimezone(UTC).date()
    # Newest first: the articles dated after today lead the list.
    for article in snapshot.articles:
        if article.published <= today:
            break
        if article.path not in timed:
            pending.append((release_of(article.published), article.path))
    pending.sort()
    return pending
