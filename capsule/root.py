"""A capsule root directory on disk, turning request paths into resources."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from capsule.markers import without_markers
from capsule.mime import GEMTEXT, is_gemtext, mime_type
from capsule.publication.generated import Publication
from capsule.publication.listing import directory_listing
from capsule.publication.robots import ROBOTS_PATH
from capsule.resources import File, Gone, NotFound, Page, Redirect, Resource, Robots, Unavailable
from capsule.rules.access import ClientIdentity, Protection, narrowest, refusal
from capsule.rules.front_lines import NO_FRONT_LINES, FrontLines, front_lines
from capsule.rules.meta import NO_META, Meta, MetaIndex
from capsule.rules.policy import AccessPolicy
from capsule.rules.redirects import find_redirect
from capsule.tree import INDEX_NAME, found_inside, served_names, stays_inside

logger = logging.getLogger(__name__)

_QUERY_SAFE = "/?:@!$&'()*+,;="
"""Characters a query may carry as they are (RFC 3986 query), so `a=1&b=2` stays readable."""
_FRONT_BYTES = 4096
"""How much of a page is read to find its front lines when the page itself is not read."""


class Capsule:
    """Resolves absolute, already-normalised URL paths to resources under one root.

    Protection comes first (a protected path or a draft answers nothing else without an
    admitted certificate), then the operator's redirects, then the `.meta` files along the path
    (gone, redirects), then files on disk (with the MIME type and language the metadata gives
    them; a page its front lines make a draft is protected too, and a file not published yet is
    not found but by the staff), then the publication's generated pages and the generated
    robots.txt.

    `access` says what readers may see, and holds the operator's redirects: by default the
    publication's, else the `.meta` files'.
    """

    def __init__(
        self,
        root: Path,
        lang: str | None = None,
        publication: Publication | None = None,
        *,
        max_page_bytes: int | None = None,
        robots: Robots | None = None,
        access: AccessPolicy | None = None,
    ) -> None:
        self.root = root.resolve(strict=True)
        self._root = str(self.root)
        self.lang = lang
        self.publication = publication
        self.max_page_bytes = max_page_bytes
        """Gemtext files larger than this are served as files, never read whole into memory."""
        self.robots = robots
        """What /robots.txt answers when the root has no such file; None: nothing."""
        if publication is not None and access not in (None, publication.access):
            # Pages protected here would otherwise show in the publication's lists.
            raise ValueError("a capsule and its publication must share one access policy")
        if access is None:
            access = publication.access if publication else AccessPolicy(MetaIndex(self.root))
        self.access = access
        self.meta = access.meta

    def protection(self, path: str) -> Protection | None:
        """What protects `path` (decoded, starting with '/'), a draft included; None if anybody
        may see it."""
        meta = self.access.lookup(path)
        protection = self.access.protection(path, meta)
        if self._front_of(path, meta).draft:
            return narrowest(protection, self.access.staff)
        return protection

    def withheld(self, path: str) -> bool:
        """Whether lists and the static export leave `path` out now: protected, a draft,
        withdrawn, or not published yet (front lines included)."""
        meta = self.access.lookup(path)
        return self.access.unlisted(path, self.access.clock(), self._front_of(path, meta))

    def resolve(
        self, path: str, query: str | None = None, identity: ClientIdentity | None = None
    ) -> Resource:
        """Return the resource at `path` (decoded, starting with '/') for a request that came
        with the client certificate `identity`, if any; see the class for the order."""
        segments = served_names(path)
        meta = NO_META if segments is None else self.meta.lookup(path)
        protection = self.access.protection(path, meta)
        if protection is not None:
            refused = refusal(protection, identity, self.access.clock())
            if refused is not None:
                return refused
        if (redirect := find_redirect(self.access.redirects, path)) is not None:
            return redirect
        if meta.gone:
            return Gone()
        if meta.redirect is not None:
            return Redirect(meta.redirect, meta.permanent)
        resource = (
            NotFound()
            if segments is None
            else self._from_disk(path, query, segments, meta, identity)
        )
        if isinstance(resource, Redirect) and protection is None:
            # A directory asked for without its slash: the redirect would tell anyone that a
            # protected directory exists, so it is answered as the directory would be.
            below = self.access.protection(path + "/")
            if below is not None and (refused := refusal(below, identity, self.access.clock())):
                return refused
        if isinstance(resource, NotFound) and path == ROBOTS_PATH and self.robots is not None:
            return self.robots
        if self.publication is None:
            if isinstance(resource, Page):
                return replace(resource, gemtext=without_markers(resource.gemtext))
            return resource
        if isinstance(resource, NotFound):
            generated = self.publication.resolve(path, query)
            if isinstance(generated, Page) and meta.lang is not None:
                return Page(generated.gemtext, meta.lang)
            return generated or resource
        if isinstance(resource, Page):
            expanded = self.publication.expand(path, resource.gemtext)
            return replace(resource, gemtext=expanded, article=self.publication.place(path))
        return resource

    def _from_disk(
        self,
        path: str,
        query: str | None,
        segments: list[str],
        meta: Meta,
        identity: ClientIdentity | None,
    ) -> Resource:
        found = found_inside(self._root, segments)
        if found is None:
            return NotFound()
        real, info = Path(found[0]), found[1]
        if stat.S_ISDIR(info.st_mode):
            if not path.endswith("/"):
                # Rebuilt from its segments and encoded again: "?" or "#" in a name stay in the
                # path, and "//name" cannot become a scheme-relative URL to another host.
                # The query goes along, encoded again as it came decoded.
                again = "" if query is None else "?" + quote(query, safe=_QUERY_SAFE)
                return Redirect("/" + quote("/".join(segments)) + "/" + again, permanent=True)
            return self._directory_index(real, path, meta, identity)
        if not stat.S_ISREG(info.st_mode):
            return NotFound()
        if path.endswith("/"):
            return NotFound()
        return self._file(real, info, path, meta, identity)

    def _directory_index(
        self, directory: Path, path: str, meta: Meta, identity: ClientIdentity | None
    ) -> Resource:
        index = stays_inside(self.root, directory / INDEX_NAME)
        info = _regular_file(index)
        if index is None or info is None:
            if meta.listing:
                listing = directory_listing(directory, path, self.root, self.withheld)
                return Page(listing, meta.lang or self.lang)
            return NotFound()
        # The index page is a file too: rules naming index.gmi apply, then the directory's.
        file_meta = self.meta.lookup(path + INDEX_NAME)
        return self._file(index, info, path, _fall_back(file_meta, meta), identity)

    def _file(
        self,
        real: Path,
        info: os.stat_result,
        path: str,
        meta: Meta,
        identity: ClientIdentity | None,
    ) -> Resource:
        mime, gemtext = _mime(real.name, meta)
        too_large = self.max_page_bytes is not None and info.st_size > self.max_page_bytes
        if gemtext and not too_large:
            try:
                text = real.read_bytes().decode("utf-8", errors="replace")
            except FileNotFoundError:
                return NotFound()
            except OSError as error:
                logger.error("cannot read %s: %s", real, error.strerror or error)
                return Unavailable()
            front = front_lines(text)
            held = self._held(path, meta, front, identity)
            if held is not None:
                return held
            return Page(front.body(text), meta.lang or self.lang, info.st_mtime)
        front = _head_front(real) if gemtext else NO_FRONT_LINES
        held = self._held(path, meta, front, identity)
        if held is not None:
            return held
        lang = meta.lang or self.lang
        if gemtext and lang and "lang=" not in mime:
            mime = f"{mime}; lang={lang}"
        return File(real, mime, info.st_size, info.st_mtime)

    def _held(
        self, path: str, meta: Meta, front: FrontLines, identity: ClientIdentity | None
    ) -> Resource | None:
        """What a reader gets instead of a draft (by its front lines) or of a file not
        published yet, if anything: drafts are protected for the staff, and the staff alone see
        what is not published yet."""
        if front.draft:
            refused = refusal(self.access.staff, identity, self.access.clock())
            if refused is not None:
                return refused
        when = self.access.published_at(path, meta, front.published)
        if when is not None:
            moment = self.access.clock()
            if when > moment and not self.access.is_staff(identity, moment):
                return NotFound()
        return None

    def _front_of(self, path: str, meta: Meta) -> FrontLines:
        """The front lines of the page served at `path`, if it is one; read from disk."""
        segments = served_names(path)
        found = None if segments is None else found_inside(self._root, segments)
        if found is None:
            return NO_FRONT_LINES
        real: Path | None = Path(found[0])
        if stat.S_ISDIR(found[1].st_mode):
            real = stays_inside(self.root, Path(found[0]) / INDEX_NAME)
            meta = _fall_back(self.meta.lookup(path.rstrip("/") + "/" + INDEX_NAME), meta)
        if real is None or not _mime(real.name, meta)[1]:
            return NO_FRONT_LINES
        return _head_front(real)


def _mime(name: str, meta: Meta) -> tuple[str, bool]:
    """The MIME type of a file called `name` under `meta`, and whether it is a gemtext page."""
    if meta.mime is None:
        return mime_type(name), is_gemtext(name)
    return meta.mime, meta.mime.partition(";")[0].strip() == GEMTEXT


def _head_front(real: Path) -> FrontLines:
    """The front lines of a page, from its first bytes only."""
    try:
        with real.open("rb") as file:
            head = file.read(_FRONT_BYTES)
    except OSError:
        return NO_FRONT_LINES
    return front_lines(head.decode("utf-8", errors="replace"))


def _regular_file(path: Path | None) -> os.stat_result | None:
    """The stat of `path` if it is a regular file."""
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def _fall_back(first: Meta, then: Meta) -> Meta:
    """The MIME type, language and publication time of `first`, or else of `then`."""
    return Meta(
        mime=first.mime or then.mime,
        lang=first.lang or then.lang,
        published=first.published or then.published,
    )

