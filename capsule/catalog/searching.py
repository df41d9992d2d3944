"""Full-text search of the catalog: matches counted up to a bound, ranked, one page of them
shown with snippets made from the pages' files.

The index keeps no text, only where words occur, so a search costs what it shows: it counts
matches up to COUNTED, and when there are more, ranks only the RANKED newest of them (by
index order, which follows publication time), so that a common word costs no more than a rare
one however large the capsule.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from capsule.catalog.search_text import fts_query, query_words
from capsule.catalog.snippets import page_snippet

COUNTED = 1000
"""Matches counted at most: beyond, a search says "more than" this."""
RANKED = 2000
"""Matches ranked when there are more than COUNTED: the newest this many."""
SNIPPET_SOURCE = 256 * 1024
"""Bytes of a page read for its snippet."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: the page, its title, a snippet around the match (its lines kept),
    and for an article its date and summary."""

    path: str
    title: str
    snippet: str
    published: date | None = None
    summary: str = ""


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of search results, and how many pages match in all."""

    hits: tuple[SearchHit, ...] = ()
    total: int = 0
    more: bool = False
    """Whether more pages match than `total`, which then stops at COUNTED."""
    unindexed: int = 0
    """Pages whose text is not in the index yet, which the search may have missed."""
    pages: int = 0
    """Pages in the catalog, when some are not indexed yet."""


def search(
    connection: sqlite3.Connection,
    root: Path,
    query: str,
    limit: int,
    offset: int,
    newest: bool,
    hidden: str | None,
) -> SearchResults:
    """Pages of the catalog under `root` matching every word of `query`, best (or `newest`)
    first, `limit` of them after `offset`, less the paths in the JSON array `hidden`."""
    match = fts_query(query)
    if not match:
        return SearchResults()
    parameters: tuple[str, ...] = (match,)
    leaving_out = ""
    if hidden is not None:
        leaving_out = "pages.path NOT IN (SELECT value FROM json_each(?))"
        parameters = (match, hidden)
    where = f"WHERE {leaving_out}" if leaving_out else ""
    total = connection.execute(
        "SELECT count(*) FROM (SELECT 1 FROM page_text JOIN pages "
        "ON pages.text_id = page_text.rowid WHERE page_text MATCH ? "
        f"{'AND ' + leaving_out if leaving_out else ''} LIMIT ?)",
        (*parameters, COUNTED + 1),
    ).fetchone()[0]
    more = total > COUNTED
    order = "pages.time IS NULL, pages.time DESC, pages.path" if newest else "found.score"
    # The newest RANKED matches come straight from the index, read backwards: SQLite stops
    # there instead of scoring every match.
    rows = connection.execute(
        "SELECT pages.path, pages.title, pages.published, pages.summary FROM ("
        "SELECT rowid, bm25(page_text, 8.0, 1.0) AS score FROM page_text "
        "WHERE page_text MATCH ? ORDER BY rowid DESC LIMIT ?) AS found "
        f"JOIN pages ON pages.text_id = found.rowid {where} "
        f"ORDER BY {order}, pages.path LIMIT ? OFFSET ?",
        (match, RANKED if more else -1, *parameters[1:], limit, offset),
    ).fetchall()
    words = query_words(query)
    place = str(root)
    hits = tuple(
        SearchHit(path, title, _snippet(place, path, words), _day(published), about)
        for path, title, published, about in rows
    )
    return SearchResults(hits, min(total, COUNTED), more)


def _snippet(root: str, path: str, words: list[str]) -> str:
    """A snippet of the indexed text of the page at `path` around `words`; "" if unreadable."""
    try:
        with open(os.path.join(root, path.lstrip("/")), "rb") as page:
            raw = page.read(SNIPPET_SOURCE)
    except OSError:
        return ""
    return _lines(page_snippet(raw.decode("utf-8", errors="replace"), words))


def _day(stored: str | None) -> date | None:
    return None if stored is None else date.fromisoformat(stored)


def _lines(text: str) -> str:
    """`text` with the runs of white space in each line made single, its lines kept."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
