"""Articles: gemtext files whose path carries a date, with their titles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

from capsule.mime import is_gemtext

_DATED_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[-_](?P<slug>.+))?$")
_YEAR, _TWO_DIGITS = re.compile(r"^\d{4}$"), re.compile(r"^\d{2}$")


@dataclass(frozen=True, slots=True)
class Article:
    """A dated gemtext page: where it is served, when it was published, what it is called."""

    path: str
    published: date
    title: str


def article_date(path: str) -> tuple[date, str] | None:
    """The publication date and slug of a capsule path, or None if it is not an article.

    Two layouts are recognised: `.../YYYY/MM/DD/slug.gmi` and `.../YYYY-MM-DD-slug.gmi`
    (also `YYYY-MM-DD.gmi`, whose slug is empty). A date in the file name wins over one in the
    directories.
    """
    pure = PurePosixPath(path)
    if not is_gemtext(pure.name) or pure.stem == "index":
        return None
    named = _DATED_NAME.match(pure.stem)
    if named is not None:
        published = _valid_date(*named.group(1, 2, 3))
        if published is not None:
            return published, named.group("slug") or ""
    parents = pure.parent.parts
    if len(parents) >= 3:
        year, month, day = parents[-3:]
        if _YEAR.match(year) and _TWO_DIGITS.match(month) and _TWO_DIGITS.match(day):
            published = _valid_date(year, month, day)
            if published is not None:
                return published, pure.stem
    return None


def fallback_title(published: date, slug: str) -> str:
    """A readable title made from the slug (or the date), for articles without a heading."""
    words = re.sub(r"[-_]+", " ", slug).strip()
    return words[:1].upper() + words[1:] if words else published.isoformat()


def _valid_date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
