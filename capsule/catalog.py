"""The catalog of a capsule's gemtext pages: an incremental SQLite index with full-text search."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from capsule.articles import Article, article_date, fallback_title
from capsule.markers import is_marker
from capsule.scan import Listing, TreeScanner, parent_of
from gemtext import Document, Heading, Link, Preformatted, parse, title

SCHEMA_VERSION = 2
# page_text rows share their rowid with pages.id, so updates never scan the text index.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    published TEXT,
    title TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pages_by_date ON pages(published) WHERE published IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS page_text USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2'
);
"""
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Changes:
    """What one refresh of the catalog found."""

    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def any(self) -> bool:
        """Whether anything was added, changed or removed."""
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: the page, its title and a snippet around the match."""

    path: str
    title: str
    snippet: str


class Catalog:
    """Keeps an SQLite index of every gemtext page under a root in step with the disk.

    `refresh` re-reads only files whose size or modification time changed, so it can run
    every few seconds. Readers get an immutable snapshot of the articles, newest first.
    Several processes may share one database: one writer indexes the disk, and the others
    (`writer=False`) only reload what it committed.
    """

    def __init__(self, root: Path, database: Path, writer: bool = True) -> None:
        self.root = root.resolve(strict=True)
        self.database = database
        self.writer = writer
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._scanner = TreeScanner(self.root)
        self._create_schema()
        # data_version is per connection, so a follower always asks the same one.
        self._version_connection = (
            None if writer else sqlite3.connect(database, check_same_thread=False)
        )
        self._data_version = -1
        self._known: dict[str, tuple[int, int, int]] = {}
        self._by_path: dict[str, Article] = {}
        self._articles: tuple[Article, ...] = ()
        self._load()

    def _create_schema(self) -> None:
        """Create the tables, or rebuild them for another schema version, atomically."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                connection.execute("DROP TABLE IF EXISTS pages")
                connection.execute("DROP TABLE IF EXISTS page_text")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.commit()
        except BaseException:
            connection.rollback()
            raise

    def _load(self) -> None:
        """Read what the database holds into memory (at start, and when following a writer)."""
        connection = self._connection()
        if not self.writer:
            self._data_version = self._current_data_version()
        known: dict[str, tuple[int, int, int]] = {}
        by_path: dict[str, Article] = {}
        for page_id, path, mtime_ns, size, published, page_title in connection.execute(
            "SELECT id, path, mtime_ns, size, published, title FROM pages"
        ):
            known[path] = (page_id, mtime_ns, size)
            if published is not None:
                by_path[path] = Article(path, date.fromisoformat(published), page_title)
        self._known, self._by_path = known, by_path
        self._articles = _newest_first(by_path.values())

    @property
    def articles(self) -> tuple[Article, ...]:
        """Every article, newest first (ties by path)."""
        return self._articles

    def refresh(self, full: bool = True) -> Changes:
        """Bring the index in step with the disk; safe to call from any thread.

        A quick refresh (`full=False`) re-lists only directories whose mtime changed: it sees
        new, deleted and renamed pages but not in-place edits, which a full refresh finds.
        """
        if not self.writer:
            return self._follow()
        with self._write_lock:
            try:
                return self._index(full)
            except BaseException:
                # Leave nothing half-written, and forget what memory says was stored.
                self._connection().rollback()
                self._scanner = TreeScanner(self.root)
                self._load()
                raise

    def _index(self, full: bool) -> Changes:
        """One refresh as the writer: store what changed on disk, drop what vanished."""
        listing = self._scanner.scan(full)
        connection = self._connection()
        added = changed = pending = 0
        for path, signature in listing.files.items():
            previous = self._known.get(path)
            if previous is not None and previous[1:] == signature:
                continue
            self._store(connection, path, signature, previous[0] if previous else None)
            if previous is None:
                added += 1
            else:
                changed += 1
            pending += 1
            if pending >= _BATCH:
                connection.commit()
                pending = 0
        removed = self._removed(listing)
        for path in removed:
            page_id = self._known.pop(path)[0]
            self._by_path.pop(path, None)
            connection.execute("DELETE FROM pages WHERE id = ?", (page_id,))
            connection.execute("DELETE FROM page_text WHERE rowid = ?", (page_id,))
        connection.commit()
        changes = Changes(added, changed, len(removed))
        if changes.any:
            self._articles = _newest_first(self._by_path.values())
        return changes

    def _follow(self) -> Changes:
        """Reload from the database if the writer committed since the last look."""
        with self._write_lock:
            if self._current_data_version() == self._data_version:
                return Changes()
            before = set(self._known)
            self._load()
            after = set(self._known)
            return Changes(added=len(after - before), removed=len(before - after))

    def _current_data_version(self) -> int:
        assert self._version_connection is not None, "only followers track data_version"
        version: int = self._version_connection.execute("PRAGMA data_version").fetchone()[0]
        return version

    def _removed(self, listing: Listing) -> list[str]:
        """Known pages that a listed directory no longer holds, or whose directory is gone."""
        gone_from = listing.listed | listing.vanished
        if not gone_from:
            return []
        return [
            path
            for path in self._known
            if parent_of(path) in gone_from and path not in listing.files
        ]

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Pages matching every word of `query`, best first; FTS syntax in it is inert."""
        match = fts_query(query)
        if not match:
            return []
        rows = self._connection().execute(
            "SELECT pages.path, pages.title, snippet(page_text, 1, '', '', '…', 16) "
            "FROM page_text JOIN pages ON pages.id = page_text.rowid "
            "WHERE page_text MATCH ? ORDER BY bm25(page_text, 8.0, 1.0) LIMIT ?",
            (match, limit),
        )
        return [
            SearchHit(path, page_title, " ".join(snip.split())) for path, page_title, snip in rows
        ]

    def title_of(self, path: str) -> str | None:
        """The indexed title of a page, if it is in the catalog."""
        row = (
            self._connection().execute("SELECT title FROM pages WHERE path = ?", (path,)).fetchone()
        )
        return None if row is None else str(row[0])

    def _store(
        self,
        connection: sqlite3.Connection,
        path: str,
        signature: tuple[int, int],
        page_id: int | None,
    ) -> None:
        try:
            text = (self.root / path.lstrip("/")).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return
        document = parse(text)
        dated = article_date(path)
        page_title = title(document) or (
            fallback_title(*dated) if dated else Path(path).stem.replace("-", " ")
        )
        published = dated[0].isoformat() if dated else None
        if page_id is None:
            cursor = connection.execute(
                "INSERT INTO pages (path, mtime_ns, size, published, title) VALUES (?, ?, ?, ?, ?)",
                (path, *signature, published, page_title),
            )
            assert cursor.lastrowid is not None
            page_id = cursor.lastrowid
        else:
            connection.execute(
                "UPDATE pages SET mtime_ns = ?, size = ?, published = ?, title = ? WHERE id = ?",
                (*signature, published, page_title, page_id),
            )
            connection.execute("DELETE FROM page_text WHERE rowid = ?", (page_id,))
        connection.execute(
            "INSERT INTO page_text (rowid, title, body) VALUES (?, ?, ?)",
            (page_id, page_title, plain_text(document)),
        )
        self._known[path] = (page_id, *signature)
        if dated is not None:
            self._by_path[path] = Article(path, dated[0], page_title)

    def _connection(self) -> sqlite3.Connection:
        """One connection per thread; WAL lets searches run while a refresh writes."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.database, timeout=30)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection = connection
        return connection


def fts_query(query: str) -> str:
    """Turn reader input into an FTS5 query that matches all its words, each quoted."""
    words = "".join(char if char.isalnum() else " " for char in query).split()
    return " ".join('"' + word + '"' for word in words[:32])


def plain_text(document: Document) -> str:
    """The readable text of a gemtext document for the search index, without its title
    (indexed on its own) and without `{{recent}}` markers."""
    parts: list[str] = []
    title_seen = False
    for line in document.lines:
        if isinstance(line, Link):
            parts.append(line.label)
        elif isinstance(line, Preformatted):
            parts.append(line.alt)
            parts.extend(line.lines)
        elif isinstance(line, Heading) and not title_seen:
            title_seen = True
        elif not is_marker(line.text):
            parts.append(line.text)
    return "\n".join(part for part in parts if part)


def _newest_first(articles: Iterable[Article]) -> tuple[Article, ...]:
    by_path = sorted(articles, key=lambda article: article.path)
    return tuple(sorted(by_path, key=lambda article: article.published, reverse=True))
