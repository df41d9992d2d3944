"""Sitemaps (sitemaps.org 0.9) without I/O: URL sets within the protocol's limits, and an index."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

SITEMAP_PATH = "/sitemap.xml"
SITEMAP_MIME = "application/xml; charset=utf-8"
MAX_URLS = 50_000
"""URLs one sitemap file may list (the protocol's limit)."""
MAX_BYTES = 52_428_800
"""Bytes one sitemap file may take, uncompressed (the protocol's limit)."""

_SITEMAP_FILE = re.compile(r"^/sitemap(-[1-9][0-9]*)?\.xml$")
_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_URLSET = (f'{_DECLARATION}<urlset xmlns="{_NAMESPACE}">\n', "</urlset>\n")
_INDEX = (f'{_DECLARATION}<sitemapindex xmlns="{_NAMESPACE}">\n', "</sitemapindex>\n")
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "'": "&apos;"}


@dataclass(frozen=True, slots=True)
class Listed:
    """One URL in a sitemap and, if known, when what it shows last changed (aware, UTC)."""

    url: str
    modified: datetime | None = None


def is_sitemap_path(path: str) -> bool:
    """Whether a sitemap file may be at mirror path `path`: the first, or a numbered one."""
    return _SITEMAP_FILE.match(path) is not None


def part_path(number: int) -> str:
    """The mirror path of the `number`th sitemap (from 1) that an index lists."""
    return f"/sitemap-{number}.xml"


def sitemap_files(
    listed: Iterable[Listed], origin: str, *, max_bytes: int = MAX_BYTES
) -> dict[str, bytes]:
    """Every sitemap file by mirror path. `/sitemap.xml` lists the URLs when one file holds
    them all; otherwise it is an index of `/sitemap-1.xml`, `/sitemap-2.xml`... each within
    MAX_URLS URLs and `max_bytes` bytes. `origin` (scheme, host, any path prefix) makes the
    index's URLs absolute."""
    parts = _split(listed, max_bytes)
    if len(parts) == 1:
        return {SITEMAP_PATH: _document(_URLSET, parts[0][0])}
    files = {
        part_path(number): _document(_URLSET, entries)
        for number, (entries, _) in enumerate(parts, start=1)
    }
    index = [
        _entry("sitemap", origin.rstrip("/") + part_path(number), modified)
        for number, (_, modified) in enumerate(parts, start=1)
    ]
    return {SITEMAP_PATH: _document(_INDEX, index), **files}


def _split(listed: Iterable[Listed], max_bytes: int) -> list[tuple[list[str], datetime | None]]:
    """The URL entries cut into files, each with the latest modification among its URLs."""
    room = max_bytes - len(_URLSET[0]) - len(_URLSET[1])
    parts: list[tuple[list[str], datetime | None]] = []
    entries: list[str] = []
    size, latest = 0, None
    for item in listed:
        entry = _entry("url", item.url, item.modified)
        length = len(entry.encode("utf-8"))
        if entries and (len(entries) >= MAX_URLS or size + length > room):
            parts.append((entries, latest))
            entries, size, latest = [], 0, None
        entries.append(entry)
        size += length
        if item.modified is not None and (latest is None or item.modified > latest):
            latest = item.modified
    parts.append((entries, latest))
    return parts


def _entry(element: str, url: str, modified: datetime | None) -> str:
    loc = f"<loc>{escape(url, _ATTRIBUTE_ENTITIES)}</loc>"
    lastmod = "" if modified is None else f"<lastmod>{modified.isoformat('T', 'seconds')}</lastmod>"
    return f"<{element}>{loc}{lastmod}</{element}>\n"


def _document(frame: tuple[str, str], entries: list[str]) -> bytes:
    return (frame[0] + "".join(entries) + frame[1]).encode("utf-8")
