"""Series and neighbours: the parts of a series in publication order, its page under
/series/, and the links to the articles published just before and after one."""

from __future__ import annotations

import re
from urllib.parse import quote

from capsule.articles import Article, ArticlePlace
from capsule.publication.entries import entry_lines
from capsule.publication.groups import ArticleGroups, series_slug

SERIES_PATH = "/series/"
SERIES_PAGE = re.compile(r"^/series/([^/]+)/$")


def series_path(name: str) -> str:
    """The page listing the series called `name`."""
    return f"{SERIES_PATH}{quote(series_slug(name))}/"


def series_block(groups: ArticleGroups, path: str) -> str:
    """What `{{series}}` on the page at `path` becomes: the parts of its series in
    publication order, the page itself marked "you are here"; nothing outside a series."""
    place = groups.place(path)
    if place is None or not place.article.series:
        return ""
    name = place.article.series
    parts = groups.series().get(series_slug(name), [])
    lines = [f"## {name}: part {_position(parts, path)} of {len(parts)}"]
    for number, part in enumerate(parts, start=1):
        if part.path == path:
            lines.append(f"{number}. {part.title} (you are here)")
        else:
            lines.append(f"=> {quote(part.path)} {number}. {part.title}")
    lines.append(f"=> {series_path(name)} The whole series")
    return "\n".join(lines)


def _position(parts: list[Article], path: str) -> int:
    return next(number for number, part in enumerate(parts, start=1) if part.path == path)


def series_page(groups: ArticleGroups, slug: str) -> str | None:
    """/series/NAME/: the parts of a series, oldest first, with their summaries."""
    parts = groups.series().get(slug)
    if not parts:
        return None
    name = parts[-1].series
    lines = [f"# {name}", "", f"A series in {len(parts)} parts.", ""]
    lines += entry_lines(parts, summaries=True)
    lines += ["", f"=> {SERIES_PATH} Every series"]
    return "\n".join(lines) + "\n"


def series_index(groups: ArticleGroups) -> str:
    """/series/: every series, the latest first, with its number of parts."""
    every = sorted(groups.series().values(), key=lambda parts: parts[-1].moment, reverse=True)
    lines = ["# Series", ""]
    lines += [
        f"=> {series_path(parts[-1].series)} {parts[-1].series} ({len(parts)} parts)"
        for parts in every
    ]
    if not every:
        lines.append("No series yet.")
    return "\n".join(lines) + "\n"


def neighbour_lines(place: ArticlePlace | None) -> str:
    """What `{{neighbours}}` becomes: links to the previous and the next article."""
    if place is None:
        return ""
    lines = []
    if place.previous is not None:
        lines.append(f"=> {quote(place.previous.path)} Previous: {place.previous.title}")
    if place.next is not None:
        lines.append(f"=> {quote(place.next.path)} Next: {place.next.title}")
    return "\n".join(lines)
