"""Full-text search of the catalog: matches counted up to a bound, ranked, one page of them
shown with snippets made from the pages' files.

The index keeps no text, only where words occur, so a search costs what it shows: it counts
matches up to COUNTED and ranks them all by bm25. When there are more, it ranks only the
RANKED newest (by index order, which follows publication time), and without bm25, which
would read every match in the index for its weights: pages whose title holds every word
come first, newest first, then the others, newest first. So a common word costs no more
than a rare one however large the capsule. Only the page of results shown is looked up.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from capsule.catalog.search_text import fts_query, query_words
from capsule.catalog.snippets import page_snippet

COUNTED = 1000
"""Matches counted at most, and ranked by bm25: beyond, a search says "more than" this."""
RANKED = 2000
"""Matches ranked when there are more than COUNTED: the newest this many, title matches
first."""
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
    total = _count(connection, match, hidden)
    more = total > COUNTED
    # Past COUNTED matches only the newest RANKED are ranked: those from `floor` up.
    floor = _floor(connection, match) if more else 0
    if newest:
        rows = _newest(connection, match, floor, hidden, limit, offset)
    elif more:
        rows = _titles_first(connection, match, floor, hidden, limit, offset)
    else:
        rows = _by_bm25(connection, match, hidden, limit, offset)
    words = query_words(query)
    place = str(root)
    hits = tuple(
        SearchHit(path, title, _snippet(place, path, words), _day(published), about)
        for path, title, published, about in rows
    )
    return SearchResults(hits, min(total, COUNTED), more)


def _count(connection: sqlite3.Connection, match: str, hidden: str | None) -> int:
    """Pages matching `match`, less those in `hidden`, counted up to one past COUNTED."""
    count: int = connection.execute(
        "SELECT count(*) FROM (SELECT 1 FROM page_text JOIN pages "
        "ON pages.text_id = page_text.rowid WHERE page_text MATCH ? "
        f"{_page_shown(hidden)} LIMIT ?)",
        (match, *([hidden] if hidden else []), COUNTED + 1),
    ).fetchone()[0]
    return count


def _floor(connection: sqlite3.Connection, match: str) -> int:
    """The lowest text id of the newest RANKED matches of `match` (index order follows
    publication time), read backwards from the newest: SQLite stops there."""
    found = connection.execute(
        "SELECT rowid FROM page_text WHERE page_text MATCH ? ORDER BY rowid DESC "
        "LIMIT 1 OFFSET ?",
        (match, RANKED - 1),
    ).fetchone()
    return 0 if found is None else int(found[0])


_Rows = list[tuple[str, str, str | None, str]]


def _by_bm25(
    connection: sqlite3.Connection, match: str, hidden: str | None, limit: int, offset: int
) -> _Rows:
    """One page of the matches best first by bm25 (the title weighing 8 times the text),
    newer first where they tie. Only that page is looked up in `pages`."""
    rows: _Rows = connection.execute(
        "SELECT pages.path, pages.title, pages.published, pages.summary FROM ("
        "SELECT page_text.rowid AS id, bm25(page_text, 8.0, 1.0) AS score FROM page_text "
        f"WHERE page_text MATCH ? {_listed(hidden)} "
        "ORDER BY score, id DESC LIMIT ? OFFSET ?) AS chosen "
        "JOIN pages ON pages.text_id = chosen.id ORDER BY chosen.score, chosen.id DESC",
        (match, *([hidden] if hidden else []), limit, offset),
    ).fetchall()
    return rows


def _titles_first(
    connection: sqlite3.Connection,
    match: str,
    floor: int,
    hidden: str | None,
    limit: int,
    offset: int,
) -> _Rows:
    """One page of the matches from text id `floor` up: those whose title holds every word,
    newest first, then the others, newest first.

    bm25 would count every match in the index for its weights, a cost that grows with the
    capsule; a title match and the time are known from the window alone. Read newest first
    from the index, the others stop at the page shown.
    """
    leaving_out = (hidden,) if hidden else ()
    titled = [
        text_id
        for (text_id,) in connection.execute(
            "SELECT rowid FROM page_text WHERE page_text MATCH ? AND rowid >= ? "
            f"{_listed(hidden)} ORDER BY rowid DESC",
            (f"title : ({match})", floor, *leaving_out),
        )
    ]
    chosen = titled[offset : offset + limit]
    if len(chosen) < limit:
        chosen += [
            text_id
            for (text_id,) in connection.execute(
                "SELECT rowid FROM page_text WHERE page_text MATCH ? AND rowid >= ? "
                f"AND rowid NOT IN (SELECT value FROM json_each(?)) {_listed(hidden)} "
                "ORDER BY rowid DESC LIMIT ? OFFSET ?",
                (match, floor, json.dumps(titled), *leaving_out, limit - len(chosen),
                 max(0, offset - len(titled))),
            )
        ]
    found = {
        row[0]: row[1:]
        for row in connection.execute(
            "SELECT text_id, path, title, published, summary FROM pages "
            "WHERE text_id IN (SELECT value FROM json_each(?))",
            (json.dumps(chosen),),
        )
    }
    # A page removed since the text ids were read is left out.
    return [found[text_id] for text_id in chosen if text_id in found]


def _page_shown(hidden: str | None) -> str:
    """With `hidden` (a parameter), the condition on a joined page that it is not hidden."""
    return "AND pages.path NOT IN (SELECT value FROM json_each(?))" if hidden else ""


def _listed(hidden: str | None) -> str:
    """The condition on a text row that a page holds it, and (with `hidden`, a parameter)
    that its page is not hidden. An edited page's old text stays in the index a while."""
    held = "AND EXISTS (SELECT 1 FROM pages WHERE pages.text_id = page_text.rowid)"
    if not hidden:
        return held
    return (
        f"{held} AND page_text.rowid NOT IN (SELECT text_id FROM pages "
        "WHERE text_id IS NOT NULL AND path IN (SELECT value FROM json_each(?)))"
    )


def _newest(
    connection: sqlite3.Connection,
    match: str,
    floor: int,
    hidden: str | None,
    limit: int,
    offset: int,
) -> _Rows:
    """One page of the matches from text id `floor` up, newest first, pages without a date
    last."""
    rows: _Rows = connection.execute(
        "SELECT pages.path, pages.title, pages.published, pages.summary FROM page_text "
        "JOIN pages ON pages.text_id = page_text.rowid "
        f"WHERE page_text MATCH ? AND page_text.rowid >= ? {_page_shown(hidden)} "
        "ORDER BY pages.time IS NULL, pages.time DESC, pages.path LIMIT ? OFFSET ?",
        (match, floor, *([hidden] if hidden else []), limit, offset),
    ).fetchall()
    return rows


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
