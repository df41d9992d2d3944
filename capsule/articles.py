"""Articles: gemtext files whose path carries a date, with their titles."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from capsule.mime import GEMTEXT_EXTENSIONS

_DATED_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[-_](?P<slug>.+))?$")
_YEAR, _TWO_DIGITS = re.compile(r"\d{4}"), re.compile(r"\d{2}")


@dataclass(frozen=True, slots=True)
class Article:
    """A dated gemtext page: where it is served, when it was published, what it is called,
    what it is about and which series it belongs to."""

    path: str
    published: date
    """The date its path carries."""
    title: str
    time: datetime | None = None
    """Its publication time (aware, UTC); None: the start of `published`."""
    updated: datetime | None = None
    """When its text last changed after it was first seen; None if it never did."""
    summary: str = ""
    series: str = ""

    @property
    def moment(self) -> datetime:
        """When it was published: its time, else the start of its date in UTC."""
        return self.time if self.time is not None else release_of(self.published)

    @property
    def last_change(self) -> datetime:
        """When its text last changed: its update, else its publication."""
        return max(self.updated, self.moment) if self.updated is not None else self.moment


@dataclass(frozen=True, slots=True)
class ArticlePlace:
    """An article where lists show it: with the articles published just before and after it."""

    article: Article
    previous: Article | None
    """The article published just before it, if any."""
    next: Article | None
    """The article published just after it, if any."""


def article_date(path: str) -> tuple[date, str] | None:
    """The publication date and slug of a capsule path, or None if it is not an article.

    Two layouts are recognised: `.../YYYY/MM/DD/slug.gmi` and `.../YYYY-MM-DD-slug.gmi`
    (also `YYYY-MM-DD.gmi`, whose slug is empty). A date in the file name wins over one in the
    directories.
    """
    directory, _, name = path.rpartition("/")
    # Most pages are no articles: neither a name nor a last directory starting with digits.
    if not name[:1].isdigit() and not directory[-2:].isdigit():
        return None
    dot = name.rfind(".")
    # A leading dot names a file, not a suffix, as for pathlib's stem.
    stem = name[:dot] if dot > 0 else name
    if stem == "index" or dot <= 0 or name[dot:].lower() not in GEMTEXT_EXTENSIONS:
        return None
    named = _DATED_NAME.match(stem)
    if named is not None:
        published = _valid_date(*named.group(1, 2, 3))
        if published is not None:
            return published, named.group("slug") or ""
    published = _directory_date(directory)
    return None if published is None else (published, stem)


@functools.lru_cache(maxsize=4096)
def _directory_date(directory: str) -> date | None:
    """The date a `.../YYYY/MM/DD` directory stands for; remembered, as a day's articles
    share it."""
    parents = directory.rsplit("/", 3)[-3:]
    if len(parents) == 3:
        year, month, day = parents
        if _YEAR.fullmatch(year) and _TWO_DIGITS.fullmatch(month) and _TWO_DIGITS.fullmatch(day):
            return _valid_date(year, month, day)
    return None


def release_of(published: date) -> datetime:
    """When an article dated `published` is released, short of a time of its own: the start
    of that day in UTC."""
    return datetime.combine(published, time(), UTC)


def article_time(published: date, release: datetime | None, first_seen: datetime) -> datetime:
    """The publication time of an article dated `published`: the time its front lines give,
    else its date at the time of day it was first seen, when that was on its date; else
    (written ahead of its date, or imported later) the start of its date."""
    if release is not None:
        return release
    if first_seen.astimezone(UTC).date() == published:
        return first_seen.astimezone(UTC).replace(microsecond=0)
    return release_of(published)


def newest_first(articles: Iterable[Article]) -> tuple[Article, ...]:
    """`articles` by publication time, newest first; ties by path."""
    by_path = sorted(articles, key=lambda article: article.path)
    return tuple(sorted(by_path, key=lambda article: article.moment, reverse=True))


def fallback_title(published: date, slug: str) -> str:
    """A readable title made from the slug (or the date), for articles without a heading."""
    words = re.sub(r"[-_]+", " ", slug).strip()
    return words[:1].upper() + words[1:] if words else published.isoformat()


def _valid_date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
