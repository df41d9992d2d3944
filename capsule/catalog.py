"""The catalog of a capsule's gemtext pages: an incremental SQLite index with full-text search."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from capsule.articles import Article, article_date, fallback_title
from capsule.mime import is_gemtext
from gemtext import Document, Heading, Link, Preformatted, parse, title

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    published TEXT,
    title TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pages_by_date ON pages(published) WHERE published IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS page_text USING fts5(
    path UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2'
);
"""


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
    """

    def __init__(self, root: Path, database: Path) -> None:
        self.root = root.resolve(strict=True)
        self.database = database
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        with self._connection() as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                connection.executescript(
                    "DROP TABLE IF EXISTS pages; DROP TABLE IF EXISTS page_text;"
                )
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._articles: tuple[Article, ...] = ()
        self._load_articles()

    @property
    def articles(self) -> tuple[Article, ...]:
        """Every article, newest first (ties by path)."""
        return self._articles

    def refresh(self) -> Changes:
        """Bring the index in step with the disk; safe to call from any thread."""
        with self._write_lock:
            connection = self._connection()
            known = {
                path: (mtime_ns, size)
                for path, mtime_ns, size in connection.execute(
                    "SELECT path, mtime_ns, size FROM pages"
                )
            }
            added = changed = 0
            with connection:
                for path, info in _gemtext_files(self.root):
                    signature = (info.st_mtime_ns, info.st_size)
                    previous = known.pop(path, None)
                    if previous == signature:
                        continue
                    self._store(connection, path, signature)
                    if previous is None:
                        added += 1
                    else:
                        changed += 1
                for path in known:
                    connection.execute("DELETE FROM pages WHERE path = ?", (path,))
                    connection.execute("DELETE FROM page_text WHERE path = ?", (path,))
            changes = Changes(added, changed, len(known))
            if changes.any:
                self._load_articles()
            return changes

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Pages matching every word of `query`, best first; FTS syntax in it is inert."""
        match = fts_query(query)
        if not match:
            return []
        rows = self._connection().execute(
            "SELECT path, title, snippet(page_text, 2, '', '', '…', 16) FROM page_text "
            "WHERE page_text MATCH ? ORDER BY bm25(page_text, 0.0, 8.0, 1.0) LIMIT ?",
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

    def _store(self, connection: sqlite3.Connection, path: str, signature: tuple[int, int]) -> None:
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
        connection.execute(
            "INSERT OR REPLACE INTO pages (path, mtime_ns, size, published, title) "
            "VALUES (?, ?, ?, ?, ?)",
            (path, *signature, published, page_title),
        )
        connection.execute("DELETE FROM page_text WHERE path = ?", (path,))
        connection.execute(
            "INSERT INTO page_text (path, title, body) VALUES (?, ?, ?)",
            (path, page_title, plain_text(document)),
        )

    def _load_articles(self) -> None:
        rows = self._connection().execute(
            "SELECT path, published, title FROM pages WHERE published IS NOT NULL "
            "ORDER BY published DESC, path"
        )
        self._articles = tuple(
            Article(path, date.fromisoformat(published), page_title)
            for path, published, page_title in rows
        )

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
    """The readable text of a gemtext document, for the search index."""
    parts: list[str] = []
    for line in document.lines:
        if isinstance(line, Link):
            parts.append(line.label)
        elif isinstance(line, Preformatted):
            parts.append(line.alt)
            parts.extend(line.lines)
        elif isinstance(line, Heading):
            parts.append(line.text)
        else:
            parts.append(line.text)
    return "\n".join(part for part in parts if part)


def _gemtext_files(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every gemtext file under root as (absolute URL path, stat), skipping dotfiles."""
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = f"{prefix}/{entry.name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), path))
                elif is_gemtext(entry.name):
                    info = entry.stat()
                    if stat.S_ISREG(info.st_mode) and _inside(root, entry):
                        yield path, info
            except OSError:
                continue


def _inside(root: Path, entry: os.DirEntry[str]) -> bool:
    """Symlinked files count only if they point inside the root."""
    if not entry.is_symlink():
        return True
    return Path(entry.path).resolve().is_relative_to(root)
