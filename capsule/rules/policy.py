"""What readers may see of one page: protected paths, drafts, articles not published yet and
withdrawn pages, decided per request from the operator's rules and the `.meta` files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from capsule.articles import article_date, release_of
from capsule.resources import Gone, Redirect, Resource
from capsule.rules.access import (
    NO_CERTIFICATE,
    NO_RULES,
    ClientIdentity,
    Protection,
    ProtectRules,
    narrowest,
    refusal,
)
from capsule.rules.front_lines import NO_FRONT_LINES, FrontLines
from capsule.rules.meta import NO_META, Meta, MetaIndex
from capsule.rules.redirects import RedirectRule, find_redirect
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
        return dated_release(path)

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


def dated_release(path: str) -> datetime | None:
    """The start of the article date of `path` in UTC, if it is an article."""
    dated = article_date(path)
    return None if dated is None else release_of(dated[0])
