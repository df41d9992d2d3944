"""Per-path metadata from `.meta` files: MIME type, language, redirects, gone, listings,
protection, drafts and publication times."""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from fnmatch import translate
from pathlib import Path

from capsule.mime import is_textual
from capsule.paths import split_path
from capsule.resources import target_problem
from capsule.rules.access import (
    NO_CERTIFICATE,
    Protection,
    ProtectRule,
    ProtectRules,
    narrowest,
    parse_protection,
)
from capsule.rules.front_lines import NEVER, parse_publication_time
from capsule.tree import Served, stays_inside, walk_served

META_NAME = ".meta"

logger = logging.getLogger(__name__)

_MIME = re.compile(
    r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*"
    r"(;[\w!#$&^.+-]+=[\w!#$&^.+-]+)*",
    re.ASCII,
)
_LANG_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", re.ASCII)
_KEYS = frozenset(
    {
        "mime", "lang", "redirect", "redirect-temporary", "gone", "listing", "protect", "draft",
        "published", "series",
    }
)
_HOLDING_KEYS = ("protect", "draft", "published")
"""Keys whose lines hold paths back from readers: a bad one holds its pattern back anyway."""
_GLOB = re.compile(r"[*?\[]")
_LISTING_VALUES = {"yes": True, "no": False}


@dataclass(frozen=True, slots=True)
class Meta:
    """The metadata in effect for one URL path; None and False mean "as usual"."""

    mime: str | None = None
    lang: str | None = None
    redirect: str | None = None
    permanent: bool = True
    gone: bool = False
    listing: bool = False
    protect: Protection | None = None
    """Who may see the path, if it is protected; a request without a certificate may not."""
    draft: bool = False
    """Whether the path is a draft, which only the staff may see."""
    published: datetime | None = None
    """When the path is published (aware, UTC), if a rule says so."""
    series: str | None = None
    """The series the page belongs to, if a rule names one (its `Series:` line comes first)."""


NO_META = Meta()


@dataclass(frozen=True, slots=True)
class MetaRule:
    """One valid line of a `.meta` file: a pattern and the settings it gives matching paths.

    `pattern` is relative to the directory of the file; "" names that directory itself. A rule
    that sets `gone` or `redirect` replaces both (they are one choice: what happens instead).
    """

    pattern: str
    line: int
    mime: str | None = None
    lang: str | None = None
    redirect: str | None = None
    permanent: bool = True
    gone: bool = False
    listing: bool | None = None
    protect: Protection | None = None
    draft: bool = False
    published: datetime | None = None
    series: str | None = None


@dataclass(frozen=True, slots=True)
class MetaRules:
    """The valid rules of one `.meta` file, in file order."""

    source: str
    rules: tuple[MetaRule, ...] = ()
    _patterns: tuple[Callable[[str], object], ...] = field(init=False, repr=False, compare=False)
    protecting: ProtectRules = field(init=False, repr=False, compare=False)
    """The `protect` rules, which cover what lies below the directories they match too."""
    drafting: ProtectRules = field(init=False, repr=False, compare=False)
    """The `draft` rules, which cover what lies below the directories they match too."""
    hiding: ProtectRules = field(init=False, repr=False, compare=False)
    """The `protect` and `draft` rules together: what keeps a path out of every list."""
    _withdrawing: tuple[frozenset[str], Callable[[str], object] | None] = field(
        init=False, repr=False, compare=False
    )
    """The patterns of `gone` and redirect rules: the literal ones, and a matcher of the others
    (globs), if any."""
    _publishing: tuple[tuple[Callable[[str], object], datetime], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Compiled once per version of the file: lookups only run the regexes.
        patterns = tuple(re.compile(translate(rule.pattern)).match for rule in self.rules)
        object.__setattr__(self, "_patterns", patterns)
        protecting = tuple(
            ProtectRule(rule.pattern, rule.protect) for rule in self.rules if rule.protect
        )
        # What a draft admits is the staff's, known to the access policy: only coverage counts.
        drafting = tuple(
            ProtectRule(rule.pattern, NO_CERTIFICATE) for rule in self.rules if rule.draft
        )
        object.__setattr__(self, "protecting", ProtectRules(protecting))
        object.__setattr__(self, "drafting", ProtectRules(drafting))
        object.__setattr__(self, "hiding", ProtectRules(protecting + drafting))
        withdrawing = [rule.pattern for rule in self.rules if rule.gone or rule.redirect]
        literal = frozenset(pattern for pattern in withdrawing if not _GLOB.search(pattern))
        globs = [translate(pattern) for pattern in withdrawing if pattern not in literal]
        # One regex for every glob: a page is matched once, whatever the number of lines.
        either = re.compile("|".join(globs)).match if globs else None
        object.__setattr__(self, "_withdrawing", (literal, either))
        publishing = tuple(
            (match, rule.published)
            for rule, match in zip(self.rules, patterns, strict=True)
            if rule.published is not None
        )
        object.__setattr__(self, "_publishing", publishing)

    @property
    def affects_lists(self) -> bool:
        """Whether any rule here keeps paths out of the lists, or sets when they are published."""
        return bool(self.hiding) or self.withdraws_or_publishes

    @property
    def withdraws_or_publishes(self) -> bool:
        """Whether any rule here marks paths gone, redirects them or sets when they are
        published: rules about the paths they match, not what lies below."""
        return bool(self._withdrawing[0] or self._withdrawing[1] or self._publishing)

    def withdraws(self, relative: str) -> bool:
        """Whether a rule marks `relative` gone or redirects it (no later rule can undo that)."""
        literal, globs = self._withdrawing
        return relative in literal or (globs is not None and globs(relative) is not None)

    def publication(self, relative: str) -> datetime | None:
        """The publication time the last rule setting one for `relative` gives, if any."""
        found = None
        for match, published in self._publishing:
            if match(relative):
                found = published
        return found

    def matching(self, relative: str) -> Iterator[MetaRule]:
        """The rules that apply to a path relative to the file's directory, in file order."""
        for rule, match in zip(self.rules, self._patterns, strict=True):
            if match(relative):
                yield rule


class _Effective:
    """Settings gathered along a path; each rule laid over the last overrides what it sets,
    except protection: every protect rule that covers the path must admit a certificate."""

    __slots__ = (
        "draft", "gone", "lang", "listing", "mime", "permanent", "protect", "published",
        "redirect", "series",
    )

    def __init__(self) -> None:
        self.mime: str | None = None
        self.lang: str | None = None
        self.redirect: str | None = None
        self.permanent = True
        self.gone = False
        self.listing = False
        self.protect: Protection | None = None
        self.draft = False
        self.published: datetime | None = None
        self.series: str | None = None

    def add(self, rule: MetaRule) -> None:
        if rule.gone or rule.redirect is not None:
            self.gone, self.redirect, self.permanent = rule.gone, rule.redirect, rule.permanent
        if rule.mime is not None:
            self.mime = rule.mime
        if rule.lang is not None:
            self.lang = rule.lang
        if rule.listing is not None:
            self.listing = rule.listing
        if rule.published is not None:
            self.published = rule.published
        if rule.series is not None:
            self.series = rule.series

    def meta(self) -> Meta:
        return Meta(
            self.mime, self.lang, self.redirect, self.permanent, self.gone, self.listing,
            self.protect, self.draft, self.published, self.series,
        )


@dataclass(frozen=True, slots=True)
class MetaWarning:
    """A line of a `.meta` file that was ignored, and why."""

    source: str
    line: int
    reason: str
    outcome: str = "line ignored"
    """What capsule does about the line, for the log."""

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


class _BadLine(Exception):
    """A line of a `.meta` file that cannot be used."""


def parse_meta(text: str, source: str) -> tuple[MetaRules, list[MetaWarning]]:
    """Parse the text of a `.meta` file; bad lines become warnings and are left out."""
    rules: list[MetaRule] = []
    warnings: list[MetaWarning] = []
    # Numbered as editors number them: only a newline ends a line (not \f, \x85, U+2028...).
    for number, raw in enumerate(text.removesuffix("\n").split("\n"), start=1):
        words = _words(raw)
        if not words:
            continue
        try:
            rules.append(_rule(words, number))
        except _BadLine as problem:
            closed = _failing_closed(words, number)
            if closed is None:
                warnings.append(MetaWarning(source, number, str(problem)))
            else:
                rules.append(closed)
                warnings.append(MetaWarning(source, number, str(problem), _closed(closed)))
    return MetaRules(source, tuple(rules)), warnings


def _failing_closed(words: list[str], number: int) -> MetaRule | None:
    """For a bad line that protects, drafts or schedules something, a rule holding its pattern
    back from everybody: a typo in a fingerprint or a time must not publish it."""
    if words[0].partition("=")[0] in _KEYS:
        return None
    keys = {word.partition("=")[0] for word in words[1:]}
    if not keys.intersection(_HOLDING_KEYS):
        return None
    try:
        pattern = _pattern(words[0])
    except _BadLine:
        return None
    return MetaRule(
        pattern,
        number,
        protect=NO_CERTIFICATE if "protect" in keys else None,
        draft="draft" in keys,
        published=NEVER if "published" in keys else None,
    )


def _closed(rule: MetaRule) -> str:
    """What happens to the paths of a bad line that holds them back."""
    held = [
        *(["protected and admit no certificate"] if rule.protect else []),
        *(["drafts"] if rule.draft else []),
        *(["unpublished"] if rule.published else []),
    ]
    return f"line ignored, but its paths stay {' and '.join(held)} until it is fixed"


def _words(line: str) -> list[str]:
    """The whitespace-separated words of a line, up to a word that starts a comment."""
    words = line.split()
    for index, word in enumerate(words):
        if word.startswith("#"):
            return words[:index]
    return words


def _rule(words: list[str], number: int) -> MetaRule:
    pattern, settings = words[0], words[1:]
    key = pattern.partition("=")[0]
    if key in _KEYS and ("=" in pattern or not settings):
        raise _BadLine(f"missing pattern before {pattern!r}")
    if not settings:
        raise _BadLine(f"no settings after pattern {pattern!r}")
    rule = MetaRule(_pattern(pattern), number)
    for setting in settings:
        rule = _setting(rule, setting)
    return rule


def _pattern(pattern: str) -> str:
    relative = relative_pattern(pattern)
    if relative is None:
        raise _BadLine(f"pattern {pattern!r} must name paths inside this directory")
    return relative


def relative_pattern(pattern: str) -> str | None:
    """The pattern relative to its directory (a leading "/" is optional, "/" alone is ""), or
    None if it could name something outside: dot segments, empty segments."""
    relative = pattern.removeprefix("/")
    parts = relative.split("/")
    if any(part in (".", "..") for part in parts) or "//" in relative or relative.startswith("/"):
        return None
    return relative


def _setting(rule: MetaRule, setting: str) -> MetaRule:
    key, equals, value = setting.partition("=")
    if key not in _KEYS:
        raise _BadLine(f"unknown key {key!r}")
    if key in ("gone", "draft") and equals:
        raise _BadLine(f"{key!r} takes no value")
    if key == "gone":
        return replace(rule, gone=True, redirect=None)
    if key == "draft":
        return replace(rule, draft=True)
    if key == "listing":
        if not equals:
            return replace(rule, listing=True)
        if value not in _LISTING_VALUES:
            raise _BadLine(f"bad value for 'listing': {value!r} (yes or no)")
        return replace(rule, listing=_LISTING_VALUES[value])
    if not value:
        raise _BadLine(f"{key!r} needs a value")
    if key == "mime":
        return replace(rule, mime=_mime(value))
    if key == "lang":
        return replace(rule, lang=_lang(value))
    if key == "protect":
        try:
            return replace(rule, protect=parse_protection(value))
        except ValueError as error:
            raise _BadLine(f"bad value for 'protect': {error}") from None
    if key == "series":
        # A value holds no space: "_" stands for one ("series=Mayor_bridge").
        name = " ".join(value.replace("_", " ").split())
        if not name.isprintable():
            raise _BadLine(f"bad value for 'series': {value!r}")
        return replace(rule, series=name)
    if key == "published":
        published = parse_publication_time(value)
        if published is None:
            raise _BadLine(
                f"bad value for 'published': {value!r} (a date or a time such as "
                "2026-11-25T08:00:00Z)"
            )
        return replace(rule, published=published)
    return replace(rule, redirect=_target(value), permanent=key == "redirect", gone=False)


def _mime(value: str) -> str:
    """A MIME type with parameters; text types without a charset get `charset=utf-8`."""
    if not _MIME.fullmatch(value):
        raise _BadLine(f"bad value for 'mime': {value!r} (type/subtype)")
    essence, _, parameters = value.partition(";")
    essence = essence.lower()
    if is_textual(essence) and "charset=" not in parameters.lower():
        parameters = ";".join(filter(None, [*parameters.split(";"), "charset=utf-8"]))
    return "; ".join(filter(None, [essence, *parameters.split(";")]))


def _lang(value: str) -> str:
    if not all(_LANG_TAG.fullmatch(tag) for tag in value.split(",")):
        raise _BadLine(f"bad value for 'lang': {value!r} (language tags such as en or fr-CA)")
    return value


def _target(value: str) -> str:
    """A redirect target: an absolute path or a full URL."""
    if (problem := target_problem(value)) is not None:
        raise _BadLine(f"bad redirect target {value!r} ({problem})")
    return value


class MetaIndex:
    """The metadata of URL paths under a root, from the `.meta` files along each path.

    Each lookup checks for a `.meta` in every directory on the path and stats those it finds;
    a file is parsed again only when its inode, size or mtime changed, so edits apply on the
    next request. A `.meta` that cannot be read, or changed while it was read, is not known:
    its last rules stay, or, never read, its directory is closed to everybody (see
    `CLOSED_PATTERN`). Safe to share between threads: the cache holds immutable values.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve(strict=True)
        self._root = str(self.root)
        self._cache: dict[str, tuple[tuple[int, int, int, int], MetaRules | None]] = {}
        self._unknown: dict[str, bool] = {}
        """The `.meta` files now not known, and whether that was logged: once until read."""

    def lookup(self, path: str) -> Meta:
        """The effective metadata of `path` (decoded, starting with '/'); the nearest rule wins."""
        segments = split_path(path)
        if segments is None:
            return NO_META
        is_directory = path.endswith("/")
        depth = len(segments) if is_directory else len(segments) - 1
        effective = _Effective()
        found = False
        directory = self._root
        for level in range(depth + 1):
            if level:
                directory = f"{directory}/{segments[level - 1]}"
            rules = self._rules(directory)
            if rules is not None:
                relative = "/".join(segments[level:])
                if is_directory and relative:
                    relative += "/"
                for rule in rules.matching(relative):
                    effective.add(rule)
                    found = True
                if rules.protecting:
                    protect = rules.protecting.protection(relative, is_directory)
                    effective.protect = narrowest(effective.protect, protect)
                    found = found or protect is not None
                if rules.drafting and rules.drafting.protection(relative, is_directory) is not None:
                    effective.draft = found = True
        return effective.meta() if found else NO_META

    def rules_at(self, directory: str) -> MetaRules | None:
        """The rules of the `.meta` file in `directory` (a URL path ending in "/"), if any."""
        return self._rules(self._root + directory.removesuffix("/"))

    def _rules(self, directory: str) -> MetaRules | None:
        """The rules of the `.meta` file in `directory`, read again if it changed."""
        name = f"{directory}/{META_NAME}"
        # Most directories have no `.meta`: access() says so without raising, a third of the
        # cost of a failing stat(). Not following links: a dangling `.meta` is one not known.
        if not os.access(name, os.F_OK, follow_symlinks=False):
            self._cache.pop(name, None)
            self._unknown.pop(name, None)
            return None
        try:
            info = os.stat(name)
        except (OSError, ValueError) as error:
            return self._not_known(name, _reason(error))
        if not stat.S_ISREG(info.st_mode):
            return self._not_known(name, "not a regular file")
        identity = _identity(info)
        cached = self._cache.get(name)
        if cached is not None and cached[0] == identity and name not in self._unknown:
            return cached[1]
        if stays_inside(self.root, name) is None:
            if stays_inside(self.root, directory) is None:
                # Nothing is served there: the directory itself leads out of the root.
                self._cache[name] = (identity, None)
                return None
            return self._not_known(name, "a link leading out of the root")
        if info.st_size == 0 and _moments_ago(info):
            # Saved in place: truncated, the new text not written yet. Quiet: editors do it.
            return self._not_known(name, "emptied moments ago", logged=False)
        try:
            text = _read_unchanged(name, identity)
        except (OSError, ValueError) as error:
            return self._not_known(name, _reason(error))
        rules, warnings = parse_meta(text, self._source(name))
        for warning in warnings:
            logger.warning("%s; %s", warning, warning.outcome)
        if self._unknown.pop(name, False):
            logger.warning("%s: read again; its rules apply", self._source(name))
        self._cache[name] = (identity, rules)
        return rules

    def _not_known(self, name: str, reason: str, *, logged: bool = True) -> MetaRules:
        """The rules a `.meta` file that cannot be read stands for: its last rules, else
        its directory closed to everybody; logged once until it is read again."""
        cached = self._cache.get(name)
        last = cached[1] if cached is not None else None
        if logged and not self._unknown.get(name, False):
            outcome = (
                "keeping its last rules" if last is not None
                else "its directory is closed to everybody until it can be read"
            )
            logger.warning("%s: cannot read (%s); %s", self._source(name), reason, outcome)
        self._unknown[name] = logged or self._unknown.get(name, False)
        return last if last is not None else closed_rules(self._source(name))

    def _source(self, name: str) -> str:
        return "/" + Path(name).relative_to(self.root).as_posix()


CLOSED_PATTERN = ""
"""The pattern of the one rule a `.meta` file never read stands for: its whole directory,
protected and admitting no certificate, so hidden from every list too."""
_SETTLE_NS = 1_000_000_000
"""How long an emptied `.meta` is taken for a save in place still under way."""


def closed_rules(source: str) -> MetaRules:
    """What a `.meta` file that cannot be read and has no last rules stands for."""
    return MetaRules(source, (MetaRule(CLOSED_PATTERN, 0, protect=NO_CERTIFICATE),))


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _moments_ago(info: os.stat_result) -> bool:
    return time.time_ns() - info.st_mtime_ns < _SETTLE_NS


def _read_unchanged(name: str, identity: tuple[int, int, int, int]) -> str:
    """The text of the regular file `name`, which must still be the file `identity` describes
    before and after the read; ValueError if it changed meanwhile."""
    descriptor = os.open(name, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        before = os.fstat(descriptor)
        if not stat.S_ISREG(before.st_mode) or _identity(before) != identity:
            raise ValueError("changed while being read")
        chunks = []
        while chunk := os.read(descriptor, 65536):
            chunks.append(chunk)
        data = b"".join(chunks)
        if _identity(os.fstat(descriptor)) != identity or len(data) != identity[2]:
            raise ValueError("changed while being read")
    finally:
        os.close(descriptor)
    return data.decode("utf-8", errors="replace")


def _reason(error: OSError | ValueError) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


def check_meta_files(root: Path) -> list[MetaWarning]:
    """Every problem in the `.meta` files of the directories served under `root`, for checking
    a capsule before serving."""
    root = root.resolve(strict=True)
    directories = [("/", str(root))] + [
        (found.url, found.path)
        for found in walk_served(root)
        if isinstance(found, Served) and found.is_directory and not found.is_link
    ]
    warnings: list[MetaWarning] = []
    for url, directory in directories:
        name = Path(directory) / META_NAME
        if not os.path.lexists(name):
            continue
        source = url + META_NAME
        closed = "its last rules stay, or its directory is closed to everybody"
        try:
            if not name.is_file():
                raise ValueError("not a regular file")
            text = name.read_bytes().decode("utf-8", errors="replace")
        except (OSError, ValueError) as error:
            reason = f"cannot read: {_reason(error)}; {closed}"
            warnings.append(MetaWarning(source, 0, reason, closed))
            continue
        warnings += parse_meta(text, source)[1]
    return warnings
