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
from capsule.resources import File, NotFound, Page, Redirect, Resource, Robots, Unavailable
from capsule.rules.access import ClientIdentity, Protection, narrowest, refusal
from capsule.rules.front_lines import NO_FRONT_LINES, FrontLines, front_lines
from capsule.rules.meta import NO_META, Meta, MetaIndex
from capsule.rules.policy import AccessPolicy
from capsule.tree import (
    INDEX_NAME,
    found_inside,
    real_url,
    relinked,
    served_inside,
    served_names,
)

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
        """What protects `path` (decoded, starting with '/'), a draft included, and what is
        read there when symlinks lead elsewhere; None if anybody may see it."""
        front, also = self._served(path)
        found = [self.access.protection(place) for place in (path, *also)]
        return narrowest(*found, self.access.staff if front.draft else None)

    def withheld(self, path: str) -> bool:
        """Whether lists and the static export leave `path` out now: protected, a draft,
        withdrawn, or not published yet (front lines included), by its own rules or by those of
        what symlinks lead it to."""
        front, also = self._served(path)
        return self.access.unlisted(path, self.access.clock(), front, also)

    def resolve(
        self, path: str, query: str | None = None, identity: ClientIdentity | None = None
    ) -> Resource:
        """Return the resource at `path` (decoded, starting with '/') for a request that came
        with the client certificate `identity`, if any; see the class for the order."""
        resource = self._resolve(path, query, identity, at_once=False)
        assert resource is not None, "only resolving at once stops short"
        return resource

    def resolve_at_once(
        self, path: str, query: str | None = None, identity: ClientIdentity | None = None
    ) -> Resource | None:
        """As `resolve`, if that takes bounded work: a few stat calls and at most one page
        read. None if it needs work that grows with the capsule, a generated listing or a page
        the publication generates (archive, feeds, search): `resolve` that off the event loop."""
        return self._resolve(path, query, identity, at_once=True)

    def _resolve(
        self, path: str, query: str | None, identity: ClientIdentity | None, *, at_once: bool
    ) -> Resource | None:
        segments = served_names(path)
        meta = NO_META if segments is None else self.meta.lookup(path)
        barrier = self.access.barrier(path, meta, identity)
        if barrier is not None:
            return barrier
        resource = (
            NotFound()
            if segments is None
            else self._from_disk(path, query, segments, meta, identity, at_once)
        )
        if resource is None:
            return None
        if isinstance(resource, Redirect) and self.access.protection(path, meta) is None:
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
            if at_once and self.publication.generates(path):
                return None
            generated = self.publication.resolve(path, query)
            if isinstance(generated, Page) and meta.lang is not None:
                return Page(generated.gemtext, meta.lang)
            return generated or resource
        if isinstance(resource, Page):
            expanded = self.publication.expand(path, resource.gemtext, self.max_page_bytes)
            return replace(resource, gemtext=expanded, article=self.publication.place(path))
        return resource

    def _from_disk(
        self,
        path: str,
        query: str | None,
        segments: list[str],
        meta: Meta,
        identity: ClientIdentity | None,
        at_once: bool,
    ) -> Resource | None:
        found = found_inside(self._root, segments)
        if found is None:
            return NotFound()
        real, info = Path(found[0]), found[1]
        is_directory = stat.S_ISDIR(info.st_mode)
        # Symlinks may lead elsewhere: the rules there must let the request through too.
        elsewhere = relinked(self._root, segments, found[0], is_directory)
        also: tuple[tuple[str, Meta], ...] = ()
        if elsewhere is not None:
            also = ((elsewhere, self.meta.lookup(elsewhere)),)
            if (barrier := self.access.barrier(*also[0], identity)) is not None:
                return barrier
        if is_directory:
            if not path.endswith("/"):
                # Rebuilt from its segments and encoded again: "?" or "#" in a name stay in the
                # path, and "//name" cannot become a scheme-relative URL to another host.
                # The query goes along, encoded again as it came decoded.
                again = "" if query is None else "?" + quote(query, safe=_QUERY_SAFE)
                return Redirect("/" + quote("/".join(segments)) + "/" + again, permanent=True)
            return self._directory_index(real, path, meta, identity, also, at_once)
        if not stat.S_ISREG(info.st_mode):
            return NotFound()
        if path.endswith("/"):
            return NotFound()
        return self._file(real, info, path, meta, identity, also)

    def _directory_index(
        self,
        directory: Path,
        path: str,
        meta: Meta,
        identity: ClientIdentity | None,
        also: tuple[tuple[str, Meta], ...],
        at_once: bool,
    ) -> Resource | None:
        index = served_inside(self.root, directory / INDEX_NAME)
        info = _regular_file(index)
        if index is None or info is None:
            if meta.listing:
                if at_once:
                    return None
                listing = directory_listing(directory, path, self.root, self.withheld)
                return Page(listing, meta.lang or self.lang)
            return NotFound()
        elsewhere = relinked(str(directory), [INDEX_NAME], str(index), is_directory=False)
        if elsewhere is not None:
            index_there = real_url(self._root, str(index), is_directory=False)
            also = (*also, (index_there, self.meta.lookup(index_there)))
            if (barrier := self.access.barrier(*also[-1], identity)) is not None:
                return barrier
        # The index page is a file too: rules naming index.gmi apply, then the directory's.
        file_meta = self.meta.lookup(path + INDEX_NAME)
        return self._file(index, info, path, _fall_back(file_meta, meta), identity, also)

    def _file(
        self,
        real: Path,
        info: os.stat_result,
        path: str,
        meta: Meta,
        identity: ClientIdentity | None,
        also: tuple[tuple[str, Meta], ...],
    ) -> Resource:
        mime, gemtext = _mime(real.name, meta)
        too_large = self.max_page_bytes is not None and info.st_size > self.max_page_bytes
        places = ((path, meta), *also)
        if gemtext and not too_large:
            try:
                text = real.read_bytes().decode("utf-8", errors="replace")
            except FileNotFoundError:
                return NotFound()
            except OSError as error:
                logger.error("cannot read %s: %s", real, error.strerror or error)
                return Unavailable()
            front = front_lines(text)
            held = self._held(places, front, identity)
            if held is not None:
                return held
            return Page(front.body(text), meta.lang or self.lang, info.st_mtime)
        front = _head_front(real) if gemtext else NO_FRONT_LINES
        held = self._held(places, front, identity)
        if held is not None:
            return held
        lang = meta.lang or self.lang
        if gemtext and lang and "lang=" not in mime:
            mime = f"{mime}; lang={lang}"
        return File(real, mime, info.st_size, info.st_mtime)

    def _held(
        self,
        places: tuple[tuple[str, Meta], ...],
        front: FrontLines,
        identity: ClientIdentity | None,
    ) -> Resource | None:
        """What a reader gets instead of a draft (by its front lines) or of a file not
        published yet at any of its `places` (the path asked for and those symlinks lead to,
        with their metadata), if anything: drafts are protected for the staff, and the staff
        alone see what is not published yet."""
        if front.draft:
            refused = refusal(self.access.staff, identity, self.access.clock())
            if refused is not None:
                return refused
        times = [self.access.published_at(place, meta, front.published) for place, meta in places]
        when = max((time for time in times if time is not None), default=None)
        if when is not None:
            moment = self.access.clock()
            if when > moment and not self.access.is_staff(identity, moment):
                return NotFound()
        return None

    def _served(self, path: str) -> tuple[FrontLines, tuple[str, ...]]:
        """The front lines of the page served at `path`, if it is one, and the URL paths of
        what is read there when symlinks make them others; read from disk."""
        segments = served_names(path)
        found = None if segments is None else found_inside(self._root, segments)
        if segments is None or found is None:
            return NO_FRONT_LINES, ()
        is_directory = stat.S_ISDIR(found[1].st_mode)
        elsewhere = relinked(self._root, segments, found[0], is_directory)
        also = () if elsewhere is None else (elsewhere,)
        real = Path(found[0])
        meta = self.meta.lookup(path)
        if is_directory:
            index = served_inside(self.root, real / INDEX_NAME)
            if index is None:
                return NO_FRONT_LINES, also
            if relinked(found[0], [INDEX_NAME], str(index), is_directory=False) is not None:
                also = (*also, real_url(self._root, str(index), is_directory=False))
            real = index
            meta = _fall_back(self.meta.lookup(path.rstrip("/") + "/" + INDEX_NAME), meta)
        if not _mime(real.name, meta)[1]:
            return NO_FRONT_LINES, also
        return _head_front(real), also


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

