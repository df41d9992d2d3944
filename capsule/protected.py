"""Which paths of a capsule are protected: per request, and over a whole catalog at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from capsule.access import NO_RULES, Protection, ProtectRules, narrowest
from capsule.articles import Article
from capsule.catalog import Catalog, Snapshot
from capsule.meta import META_NAME, NO_META, Meta, MetaIndex
from capsule.tree import served_names


class AccessPolicy:
    """The protection of the paths under one root: the operator's rules for that root, and the
    `protect` rules of the `.meta` files along each path. Every rule covering a path must admit
    a certificate, so no rule can open what another protects."""

    def __init__(self, meta: MetaIndex, configured: ProtectRules = NO_RULES) -> None:
        self.meta = meta
        self.configured = configured

    def protection(self, path: str, meta: Meta | None = None) -> Protection | None:
        """What protects `path` (decoded, starting with "/"), None if it is public; `meta` is
        its metadata when the caller has looked it up already."""
        if meta is None:
            meta = NO_META if served_names(path) is None else self.meta.lookup(path)
        configured = self.configured.protection(path[1:], path.endswith("/"))
        return narrowest(configured, meta.protect)


@dataclass(frozen=True, slots=True)
class Visible:
    """What a catalog may show of itself, as of one snapshot."""

    articles: tuple[Article, ...]
    """The articles no rule protects, newest first."""
    hidden: frozenset[str]
    """The pages some rule protects."""


_Places = tuple[tuple[str, ProtectRules], ...]
"""Each directory (a URL path ending in "/") with protect rules, and those rules."""


class Visibility:
    """The protected pages of a catalog, worked out again only when the catalog changes (its
    pages or its `.meta` files); when the rules did not change, only new pages are looked at.

    Requests read the result without touching the disk; safe to share between threads.
    """

    def __init__(self, catalog: Catalog, policy: AccessPolicy) -> None:
        self.catalog = catalog
        self.policy = policy
        self._state: tuple[Snapshot, _Places, Visible] | None = None

    def current(self) -> Visible:
        """What the catalog may show as of its latest snapshot."""
        snapshot = self.catalog.snapshot
        state = self._state
        if state is not None and state[0] is snapshot:
            return state[2]
        places = self._places(snapshot)
        if not places:
            hidden: frozenset[str] = frozenset()
        elif state is not None and state[1] == places:
            hidden = _updated(state[2].hidden, state[0].pages, snapshot.pages, places)
        else:
            hidden = _protected(snapshot.pages, places)
        articles = snapshot.articles
        if hidden:
            articles = tuple([article for article in articles if article.path not in hidden])
        visible = Visible(articles, hidden)
        # One assignment: another thread sees the old state or the new one, whole.
        self._state = (snapshot, places, visible)
        return visible

    def _places(self, snapshot: Snapshot) -> _Places:
        places = [("/", self.policy.configured)] if self.policy.configured else []
        for meta_file in sorted(snapshot.meta_files):
            directory = meta_file.removesuffix(META_NAME)
            rules = self.policy.meta.rules_at(directory)
            if rules is not None and rules.protecting:
                places.append((directory, rules.protecting))
        return tuple(places)


def _updated(
    hidden: frozenset[str], before: tuple[str, ...], pages: tuple[str, ...], places: _Places
) -> frozenset[str]:
    """`hidden` (of the pages `before`) brought up to date for `pages`, under the same rules:
    only the pages added are judged."""
    if pages is before:
        return hidden
    current = set(pages)
    return frozenset(hidden & current) | _protected(current.difference(before), places)


def _protected(pages: Iterable[str], places: _Places) -> frozenset[str]:
    """The pages that some place's rules protect; each folder is judged once."""
    folders: dict[tuple[int, str], bool] = {}
    found = []
    for page in pages:
        for index, (directory, rules) in enumerate(places):
            if not page.startswith(directory):
                continue
            relative = page[len(directory) :]
            folder = relative[: relative.rfind("/") + 1]
            covered = folders.get((index, folder))
            if covered is None:
                covered = folders[(index, folder)] = rules.folder_protection(folder) is not None
            if covered or rules.matching(relative) is not None:
                found.append(page)
                break
    return frozenset(found)
