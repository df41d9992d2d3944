"""The catalog of a capsule's gemtext pages: an incremental SQLite index with full-text search."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from capsule.articles import Article, article_date, article_time, newest_first
from capsule.catalog import titles
from capsule.catalog.connections import (
    UNWRITABLE,
    Connections,
    FailedCheck,
    error_code,
    is_damaged,
    raise_if_out_of_descriptors,
)
from capsule.catalog.heads import read_head
from capsule.catalog.read_ahead import read_ahead
from capsule.catalog.scan import Listing, TreeScanner, parent_of, resources_exhausted
from capsule.catalog.search_text import plain_text
from capsule.catalog.searching import SearchResults, search
from capsule.rules.front_lines import FrontLines, front_lines
from capsule.summaries import summary, summary_of
from gemtext import parse

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 8
# page_text keeps no text (contentless), only where words occur: it cannot delete a page's
# words without being told them again, so a page whose text changes or goes away leaves its
# row behind under a text_id no page names (stale, counted), and gets a new one. text_ids are
# never reused, and are handed out oldest page first, so the index's order follows time.
# first_seen and changed are what no file tells again: when a page was first indexed, and when
# its text (digest, NULL until its text is indexed) last changed, so that copying files marks
# nothing modified.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    published TEXT,
    title TEXT NOT NULL,
    draft INTEGER NOT NULL DEFAULT 0,
    release TEXT,
    real TEXT,
    time TEXT,
    first_seen TEXT NOT NULL,
    digest TEXT,
    changed TEXT,
    summary TEXT NOT NULL DEFAULT '',
    series TEXT NOT NULL DEFAULT '',
    text_id INTEGER UNIQUE
);
CREATE INDEX IF NOT EXISTS pages_by_time ON pages(time) WHERE time IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS page_text USING fts5(
    title, body, content = '', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS text_index (stale INTEGER NOT NULL);
INSERT INTO text_index (stale) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM text_index);
CREATE TABLE IF NOT EXISTS meta_files (
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL
);
"""
_BATCH = 2000
HEAD_BYTES = 1024
"""Bytes of a new page read for the lists (front lines, title, summary); its text is read for
the full-text index after every new page is listed."""
_STALE_FLOOR = 1000
"""Stale rows the text index keeps in any case; beyond both this and as many as there are
pages, it is emptied and filled again."""
_COMPANIONS = ("-wal", "-shm", "-journal")


Progress = Callable[[int, int], None]
"""Told how many of the pages a refresh has to index are indexed: (done, total)."""


def _unreported(done: int, total: int) -> None:
    """A refresh nobody follows."""


class CatalogError(Exception):
    """The catalog's database cannot be created, opened or written where it is configured."""


@dataclass(frozen=True, slots=True)
class Changes:
    """What one refresh of the catalog found."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    meta_files: int = 0
    """`.meta` files added, changed or removed."""

    @property
    def any(self) -> bool:
        """Whether anything was added, changed or removed."""
        return bool(self.added or self.changed or self.removed or self.meta_files)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the catalog holds at one moment; a new object each time anything changes."""

    articles: tuple[Article, ...] = ()
    """Every article, newest first (ties by path)."""
    pages: tuple[str, ...] = ()
    """The URL path of every page (a tuple: an eighth of the memory of a set)."""
    meta_files: frozenset[str] = frozenset()
    """The URL path of every `.meta` file, which may protect pages."""
    drafts: frozenset[str] = frozenset()
    """The pages whose front lines say they are drafts."""
    releases: Mapping[str, datetime] = field(default_factory=dict)
    """The publication times the front lines of pages give, by page."""
    links: Mapping[str, str] = field(default_factory=dict)
    """For pages that are symlinks, the URL path of the file each leads to, whose rules must
    let the page into lists too."""


class Catalog:
    """Keeps an SQLite index of every gemtext page under a root in step with the disk.

    `refresh` re-reads only files whose size or modification time changed, so it can run
    every few seconds. Readers get an immutable snapshot of the articles, newest first.
    Several processes may share one database: one writer indexes the disk, and the others
    (`writer=False`) only reload what it committed. A damaged database stops nothing: the
    writer moves it aside and rebuilds it from the disk; followers, which must not touch the
    writer's file, keep the articles they last read until the writer has done so.
    """

    def __init__(
        self,
        root: Path,
        database: Path,
        writer: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Open `database`, creating it if need be; CatalogError if its place is unusable.
        `clock` says when pages are first seen and changed."""
        self.root = root.resolve(strict=True)
        self._root_text = str(self.root)
        """The root as a string, to which URL paths are added: the cheapest path to a file."""
        self.database = database
        self.writer = writer
        self.clock = clock
        self._write_lock = threading.Lock()
        self._connections = Connections(database)
        self._scanner = TreeScanner(self.root)
        # data_version is per connection, so a follower always asks the same one.
        self._version_connection: sqlite3.Connection | None = None
        self._data_version = -1
        self._opened: tuple[int, int] | None = None
        """Device and inode of the database file in use, to notice it being replaced."""
        self._stale = False
        """Memory may disagree with the database: reload it before the next refresh."""
        self._suspect = False
        """A reader met damage: the writer's next refresh checks the whole file."""
        self._damage_reported = False
        self._known: dict[str, tuple[int, int, int]] = {}
        self._by_path: dict[str, Article] = {}
        self._meta_files: dict[str, tuple[int, int]] = {}
        self._front: dict[str, tuple[bool, datetime | None]] = {}
        """Whether a page is a draft and when it is published, for pages with front lines."""
        self._links: dict[str, str] = {}
        """Where the pages that are symlinks lead (URL paths)."""
        self._unindexed = 0
        """Pages listed whose text is not in the full-text index yet."""
        self._next_text = 1
        """The text_id the next page indexed gets."""
        self._snapshot = Snapshot()
        self._hidden_json: tuple[frozenset[str], str] | None = None
        try:
            self._start()
        except (OSError, sqlite3.Error) as error:
            self.close()
            if isinstance(error, sqlite3.Error) and error_code(error) not in UNWRITABLE:
                raise
            raise CatalogError(
                f"capsule needs to create and write {database} for search and the archive: "
                f"{_reason(error)}"
            ) from error

    def _start(self) -> None:
        """Open the database and load it; set it aside if damaged (the writer), or wait."""
        try:
            self._open()
            self._load()
        except sqlite3.DatabaseError as error:
            if not is_damaged(error):
                raise
            if not self.writer:
                self._report_damage(error)
                self._stale = True
                return
            # Empty now; the first refresh indexes the whole disk.
            self._set_aside(error)
            self._open()

    def _open(self) -> None:
        """Open the file now at the database path, creating its tables, and note which it is.
        Its directory is made again if it went away (a state directory deleted while serving)."""
        self.database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._create_schema()
        if not self.writer:
            if self._version_connection is not None:
                self._version_connection.close()
            self._version_connection = sqlite3.connect(self.database, check_same_thread=False)
        info = os.stat(self.database)
        self._opened = (info.st_dev, info.st_ino)

    def _create_schema(self) -> None:
        """Create the tables, or rebuild them for another schema version, atomically."""
        connection = self._connections.get()
        if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                connection.execute("DROP TABLE IF EXISTS pages")
                connection.execute("DROP TABLE IF EXISTS page_text")
                connection.execute("DROP TABLE IF EXISTS meta_files")
                connection.execute("DROP TABLE IF EXISTS text_index")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.commit()
        except BaseException:
            connection.rollback()
            raise

    def _moved(self) -> bool:
        """Whether the database path names another file than the one in use, or none."""
        try:
            info = os.stat(self.database)
        except FileNotFoundError:
            return True
        return (info.st_dev, info.st_ino) != self._opened

    def _reopen(self) -> None:
        """Switch to the file now at the database path, through fresh connections."""
        self._connections.renew()
        self._open()
        self._stale = True

    def _load(self) -> None:
        """Read what the database holds into memory (at start, when following a writer, and
        after a failed refresh); the next scan then lists every directory."""
        connection = self._connections.get()
        if not self.writer:
            self._data_version = self._current_data_version()
        known: dict[str, tuple[int, int, int]] = {}
        by_path: dict[str, Article] = {}
        front: dict[str, tuple[bool, datetime | None]] = {}
        links: dict[str, str] = {}
        unindexed = 0
        for (
            page_id, path, mtime_ns, size, published, page_title, draft, release, real, time,
            changed, about, series, waiting,
        ) in connection.execute(
            "SELECT id, path, mtime_ns, size, published, title, draft, release, real, time, "
            "changed, summary, series, text_id IS NULL FROM pages"
        ):
            known[path] = (page_id, mtime_ns, size)
            unindexed += waiting
            if published is not None:
                by_path[path] = Article(
                    path, date.fromisoformat(published), page_title, _time(time),
                    _time(changed), about, series,
                )
            if draft or release is not None:
                front[path] = (bool(draft), _time(release))
            if real is not None:
                links[path] = real
        meta_files = {
            path: (mtime_ns, size)
            for path, mtime_ns, size in connection.execute(
                "SELECT path, mtime_ns, size FROM meta_files"
            )
        }
        self._known, self._by_path, self._meta_files = known, by_path, meta_files
        self._front, self._links = front, links
        self._unindexed = unindexed
        last = connection.execute("SELECT rowid FROM page_text ORDER BY rowid DESC LIMIT 1")
        self._next_text = (last.fetchone() or (0,))[0] + 1
        self._scanner = TreeScanner(self.root)
        self._stale = self._damage_reported = False
        self._publish()

    @property
    def articles(self) -> tuple[Article, ...]:
        """Every article, newest first (ties by path)."""
        return self._snapshot.articles

    @property
    def snapshot(self) -> Snapshot:
        """The articles, pages and `.meta` files as of the last change, all from one moment."""
        return self._snapshot

    def holds(self, path: str) -> bool:
        """Whether the page at `path` is in the catalog."""
        return path in self._known

    def modified(self, path: str) -> datetime | None:
        """When the text of the page at `path` last changed since the catalog first saw it:
        never the time its file was copied or touched. None if it has not changed, or is not
        in the catalog."""
        changed = self._page_field(path, "changed") if path in self._known else None
        return None if changed is None else _time(str(changed))

    def directories(self) -> frozenset[str]:
        """The directories of the root the last refresh walked, as URL paths ("" for the
        root): what a watcher of the disk watches."""
        return self._scanner.directories()

    def refresh(
        self,
        full: bool = True,
        touched: frozenset[str] = frozenset(),
        progress: Progress = _unreported,
    ) -> Changes:
        """Bring the index in step with the disk; safe to call from any thread.

        A quick refresh (`full=False`) re-lists only directories whose mtime changed and those
        in `touched` (URL paths, "" for the root): it sees new, deleted and renamed pages, and
        edits in place in the touched directories; a full refresh finds every edit.
        Running out of descriptors raises OSError (EMFILE, ENFILE); the next refresh retries.
        The writer calls `progress` before and after each page it indexes; whatever it
        raises stops the refresh, keeping the batches already committed.
        """
        with self._write_lock:
            return self._write(full, touched, progress) if self.writer else self._follow()

    def _write(self, full: bool, touched: frozenset[str], progress: Progress) -> Changes:
        """One refresh as the writer; a damaged database is set aside and rebuilt."""
        try:
            try:
                self._prepare(full)
                return self._index(full, touched, progress)
            except sqlite3.Error as error:
                if not is_damaged(error):
                    raise_if_out_of_descriptors(error, self.database)
                    raise
                self._connections.discard()
                return self._rebuild(error)
        except BaseException:
            # Closing the connection rolls back what was half-written; memory is reloaded
            # from what was committed at the next refresh.
            self._connections.discard()
            self._stale = True
            raise

    def _prepare(self, full: bool) -> None:
        """Make memory match the file at the database path, and have SQLite check that file
        at each full refresh and after a reader met damage."""
        if self._moved():
            self._reopen()
        if self._stale:
            self._load()
        if full or self._suspect:
            self._verify(thorough=self._suspect)
            self._suspect = False

    def _index(
        self, full: bool, touched: frozenset[str], progress: Progress = _unreported
    ) -> Changes:
        """One refresh as the writer: store what changed on disk, drop what vanished."""
        listing = self._scanner.scan(full, touched)
        connection = self._connections.get()
        added = changed = pending = 0
        # In order of path, as new pages get ids: both indexes of their rows then grow at
        # their ends, which takes two thirds of the time of inserting in the scan's order.
        todo = sorted(
            (path, signature, previous)
            for path, signature in listing.files.items()
            if (previous := self._known.get(path)) is None
            or previous[1:] != signature
            or self._links.get(path) != listing.links.get(path)
        )
        # New pages get their ids here, so that their rows go in a batch at a time.
        (next_id,) = connection.execute("SELECT coalesce(max(id), 0) + 1 FROM pages").fetchone()
        new: list[tuple[object, ...]] = []
        # When the new pages of this batch were first seen, and that time as stored.
        sight: tuple[datetime, str] | None = None
        new_files = [self._root_text + path for path, _, previous in todo if previous is None]
        with contextlib.closing(read_ahead(new_files, _read_head)) as heads:
            for done, (path, signature, previous) in enumerate(todo):
                progress(done, len(todo))
                real = listing.links.get(path)
                if previous is None:
                    if sight is None:
                        now = self.clock().astimezone(UTC).replace(microsecond=0)
                        sight = (now, now.isoformat())
                    row = self._listed(path, next(heads), signature, next_id, real, sight)
                    if row is not None:
                        new.append(row)
                        next_id += 1
                    added += 1
                else:
                    self._store(connection, path, signature, previous[0], real)
                    changed += 1
                pending += 1
                if pending >= _BATCH:
                    self._insert(connection, new)
                    connection.commit()
                    pending, sight = 0, None
        self._insert(connection, new)
        removed = self._removed(listing)
        for path in removed:
            page_id = self._known.pop(path)[0]
            self._by_path.pop(path, None)
            self._front.pop(path, None)
            self._links.pop(path, None)
            self._drop_text(connection, page_id)
            connection.execute("DELETE FROM pages WHERE id = ?", (page_id,))
        meta_files = self._store_meta_files(connection, listing.meta_files)
        connection.commit()
        progress(len(todo), len(todo))
        changes = Changes(added, changed, len(removed), meta_files)
        if changes.any:
            self._publish()
        self._compact(connection)
        self._index_texts(connection, progress)
        return changes

    def _drop_text(self, connection: sqlite3.Connection, page_id: int) -> None:
        """Leave the page's row in the text index stale, if it has one; it then has none."""
        (text_id,) = connection.execute(
            "SELECT text_id FROM pages WHERE id = ?", (page_id,)
        ).fetchone()
        if text_id is None:
            self._unindexed -= 1
            return
        connection.execute("UPDATE text_index SET stale = stale + 1")
        connection.execute("UPDATE pages SET text_id = NULL WHERE id = ?", (page_id,))

    def _compact(self, connection: sqlite3.Connection) -> None:
        """Empty the text index once its stale rows outnumber both the pages and the floor;
        every page's text is then indexed again."""
        (stale,) = connection.execute("SELECT stale FROM text_index").fetchone()
        if stale <= max(_STALE_FLOOR, len(self._known)):
            return
        connection.execute("INSERT INTO page_text (page_text) VALUES ('delete-all')")
        connection.execute("UPDATE pages SET text_id = NULL")
        connection.execute("UPDATE text_index SET stale = 0")
        connection.commit()
        self._unindexed, self._next_text = len(self._known), 1

    def _index_texts(self, connection: sqlite3.Connection, progress: Progress) -> None:
        """Put the text of every page listed but not yet indexed into the full-text index,
        oldest first, committing in batches; correct titles and summaries its head missed."""
        if not self._unindexed:
            return
        waiting = connection.execute(
            "SELECT id, path, title, summary FROM pages WHERE text_id IS NULL "
            "ORDER BY time IS NOT NULL, time, path"
        ).fetchall()
        self._unindexed = len(waiting)
        corrected = False
        for done, (page_id, path, listed_title, listed_summary) in enumerate(waiting):
            progress(done, len(waiting))
            corrected = self._index_text(
                connection, page_id, path, listed_title, listed_summary
            ) or corrected
            self._unindexed -= 1
            if (done + 1) % _BATCH == 0:
                connection.commit()
        connection.commit()
        progress(len(waiting), len(waiting))
        if corrected:
            self._publish()

    def _index_text(
        self,
        connection: sqlite3.Connection,
        page_id: int,
        path: str,
        listed_title: str,
        listed_summary: str,
    ) -> bool:
        """Index the text of one page under a new text_id; whether its title or summary
        differ from those listed (its head held no heading, or a cut first paragraph)."""
        try:
            raw = (self.root / path.lstrip("/")).read_bytes()
        except OSError as error:
            if resources_exhausted(error):
                raise
            raw = b""
        text = raw.decode("utf-8", errors="replace")
        front = front_lines(text)
        document = parse(front.body(text))
        page_title = titles.page_title(document, path)
        text_id = self._next_text
        connection.execute(
            "INSERT INTO page_text (rowid, title, body) VALUES (?, ?, ?)",
            (text_id, page_title, plain_text(document)),
        )
        self._next_text += 1
        article = self._by_path.get(path)
        about = summary(front.summary, document) if article is not None else listed_summary
        connection.execute(
            "UPDATE pages SET text_id = ?, digest = coalesce(digest, ?), title = ?, "
            "summary = ? WHERE id = ?",
            (text_id, hashlib.blake2b(raw, digest_size=16).hexdigest(), page_title, about,
             page_id),
        )
        if (page_title, about) == (listed_title, listed_summary):
            return False
        if article is not None:
            self._by_path[path] = replace(article, title=page_title, summary=about)
        return True

    def _store_meta_files(
        self, connection: sqlite3.Connection, found: dict[str, tuple[int, int]]
    ) -> int:
        """Record the `.meta` files a scan found; how many were added, changed or removed."""
        removed = self._meta_files.keys() - found.keys()
        for path in removed:
            connection.execute("DELETE FROM meta_files WHERE path = ?", (path,))
        changed = [(path, *signature) for path, signature in found.items()
                   if self._meta_files.get(path) != signature]
        connection.executemany(
            "INSERT OR REPLACE INTO meta_files (path, mtime_ns, size) VALUES (?, ?, ?)", changed
        )
        self._meta_files = dict(found)
        return len(removed) + len(changed)

    def _rebuild(self, error: sqlite3.Error) -> Changes:
        """Set the damaged database aside and index the whole disk into a fresh one; readers
        keep the previous articles until that is done."""
        self._set_aside(error)
        self._open()
        self._known, self._by_path, self._meta_files, self._front = {}, {}, {}, {}
        self._links, self._unindexed, self._next_text = {}, 0, 1
        self._scanner = TreeScanner(self.root)
        self._stale = self._suspect = self._damage_reported = False
        changes = self._index(full=True, touched=frozenset())
        self._publish()
        return changes

    def _set_aside(self, error: sqlite3.Error) -> None:
        """Move the database and its companion files to `<name>.corrupt-<UTC time>`."""
        self._connections.renew()
        aside = _aside_name(self.database)
        # Companions first: a stale -wal beside a fresh database would be replayed into it.
        for suffix in (*_COMPANIONS, ""):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{self.database}{suffix}", f"{aside}{suffix}")
        logger.warning(
            "catalog %s is damaged (%s): moved it aside to %s; rebuilding it from %s",
            self.database, error, aside, self.root,
        )

    def _verify(self, thorough: bool) -> None:
        """Have SQLite check the file through a fresh connection, which reads the disk rather
        than a cache; `thorough` also checks the full-text index, which takes longer."""
        with contextlib.closing(sqlite3.connect(self.database, timeout=30)) as connection:
            found = connection.execute("PRAGMA quick_check(1)").fetchone()[0]
            if thorough and found == "ok":
                connection.execute("INSERT INTO page_text (page_text) VALUES ('integrity-check')")
        if found != "ok":
            raise FailedCheck(" ".join(found.split()))

    def _follow(self) -> Changes:
        """Reload from the database if the writer committed, or replaced it, since the last look."""
        before, meta_before = set(self._known), dict(self._meta_files)
        try:
            if self._moved():
                self._reopen()
            if not self._stale and self._current_data_version() == self._data_version:
                return Changes()
            self._load()
        except sqlite3.Error as error:
            if not is_damaged(error):
                raise_if_out_of_descriptors(error, self.database)
                raise
            # The file is the writer's to set aside; until it has, try again at each refresh.
            self._report_damage(error)
            self._stale = True
            return Changes()
        after = set(self._known)
        meta_changed = meta_before.items() ^ self._meta_files.items()
        return Changes(
            added=len(after - before),
            removed=len(before - after),
            meta_files=len({path for path, _ in meta_changed}),
        )

    def _current_data_version(self) -> int:
        assert self._version_connection is not None, "only followers track data_version"
        version: int = self._version_connection.execute("PRAGMA data_version").fetchone()[0]
        return version

    def _removed(self, listing: Listing) -> list[str]:
        """Known pages a complete listing lacks; otherwise those that a listed directory no
        longer holds, or whose directory is gone."""
        if listing.complete:
            return [path for path in self._known if path not in listing.files]
        gone_from = listing.listed | listing.vanished
        if not gone_from:
            return []
        return [
            path
            for path in self._known
            if parent_of(path) in gone_from and path not in listing.files
        ]

    def search(
        self,
        query: str,
        limit: int = 20,
        hidden: frozenset[str] = frozenset(),
        offset: int = 0,
        newest: bool = False,
    ) -> SearchResults:
        """Pages matching every word of `query`, best first (or `newest` first, pages without
        a date last), `limit` of them after skipping `offset`, with the count of all (up to a
        bound), less the paths in `hidden` (which leave their places to others); FTS syntax in
        the query is inert. Says how many pages are not searchable yet, while some are not.
        A damaged database finds nothing until it is rebuilt.
        """
        try:
            results = search(
                self._connections.get(), self.root, query, limit, offset, newest,
                self._as_json(hidden) if hidden else None,
            )
        except sqlite3.DatabaseError as error:
            if not is_damaged(error):
                raise
            self._report_damage(error)
            return SearchResults()
        unindexed = self._unindexed
        if not unindexed:
            return results
        return replace(results, unindexed=unindexed, pages=len(self._known))

    def _as_json(self, paths: frozenset[str]) -> str:
        """`paths` as a JSON array, kept while the same set is asked for again."""
        cached = self._hidden_json
        if cached is None or cached[0] is not paths:
            cached = (paths, json.dumps(sorted(paths)))
            self._hidden_json = cached
        return cached[1]

    def title_of(self, path: str) -> str | None:
        """The indexed title of a page, if it is in the catalog (and the catalog is sound)."""
        title = self._page_field(path, "title")
        return None if title is None else str(title)

    def _page_field(self, path: str, column: Literal["title", "changed"]) -> object:
        """One column of the page at `path`; None if it is not there, or the catalog is
        damaged (which is reported)."""
        try:
            row = (
                self._connections.get()
                .execute(f"SELECT {column} FROM pages WHERE path = ?", (path,))
                .fetchone()
            )
        except sqlite3.DatabaseError as error:
            if not is_damaged(error):
                raise
            self._report_damage(error)
            return None
        return None if row is None else row[0]

    def _report_damage(self, error: sqlite3.Error) -> None:
        """Say once that the database is damaged, and have the writer check it soon."""
        self._suspect = True
        if not self._damage_reported:
            self._damage_reported = True
            logger.warning(
                "catalog %s is damaged (%s); serving the articles last read until %s rebuilds it",
                self.database, error, "the next refresh" if self.writer else "the writer",
            )

    def close(self) -> None:
        """Close every connection the catalog opened; a later use opens new ones."""
        self._connections.close_all()
        if self._version_connection is not None:
            self._version_connection.close()
            self._version_connection = None
        self._opened = None

    def _publish(self) -> None:
        # One assignment, so that readers in other threads see one moment.
        front = self._front
        self._snapshot = Snapshot(
            newest_first(self._by_path.values()),
            tuple(self._known),
            frozenset(self._meta_files),
            frozenset(path for path, (draft, _) in front.items() if draft),
            {path: release for path, (_, release) in front.items() if release is not None},
            dict(self._links),
        )

    def _listed(
        self,
        path: str,
        head: bytes | OSError,
        signature: tuple[int, int],
        page_id: int,
        real: str | None,
        sight: tuple[datetime, str],
    ) -> tuple[object, ...] | None:
        """List a page new to the catalog, first seen at `sight` (a time, and as stored), from
        its `head` as read, in memory; the row to insert for it, None if it cannot be read."""
        if isinstance(head, OSError):
            if resources_exhausted(head):
                raise head
            return None
        text = head.decode("utf-8", errors="replace")
        now, now_text = sight
        front, dated, page_title, about, time = _described(path, text, now)
        self._unindexed += 1
        self._remember(path, page_id, signature, dated, page_title, time, None, about, front,
                       real)
        return (
            page_id,
            path,
            *signature,
            dated[0].isoformat() if dated else None,
            page_title,
            int(front.draft),
            None if front.published is None else front.published.isoformat(),
            real,
            now_text if time == now else None if time is None else time.isoformat(),
            now_text,
            about,
            front.series,
        )

    def _insert(self, connection: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
        """Insert the rows of pages `_listed`, and forget them."""
        connection.executemany(
            "INSERT INTO pages (id, path, mtime_ns, size, published, title, draft, release, "
            "real, time, first_seen, summary, series) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        rows.clear()

    def _remember(
        self,
        path: str,
        page_id: int,
        signature: tuple[int, int],
        dated: tuple[date, str] | None,
        page_title: str,
        time: datetime | None,
        changed: datetime | None,
        about: str,
        front: FrontLines,
        real: str | None,
    ) -> None:
        """Keep in memory what lists need of a page just stored."""
        self._known[path] = (page_id, *signature)
        if dated is not None:
            self._by_path[path] = Article(
                path, dated[0], page_title, time, changed, about, front.series
            )
        if front.draft or front.published is not None:
            self._front[path] = (front.draft, front.published)
        else:
            self._front.pop(path, None)
        if real is not None:
            self._links[path] = real
        else:
            self._links.pop(path, None)

    def _store(
        self,
        connection: sqlite3.Connection,
        path: str,
        signature: tuple[int, int],
        page_id: int,
        real: str | None,
    ) -> None:
        """Store again a page whose file changed, read whole: its text is indexed again
        only if it changed."""
        try:
            raw = _read(self._root_text + path, whole=True)
        except OSError as error:
            if resources_exhausted(error):
                raise
            return
        text = raw.decode("utf-8", errors="replace")
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
        seen, before, was_changed = connection.execute(
            "SELECT first_seen, digest, changed FROM pages WHERE id = ?", (page_id,)
        ).fetchone()
        first_seen = datetime.fromisoformat(seen)
        # A copy or a touch leaves the text as it was: nothing to call modified, nor to
        # index again. A page listed but never indexed has no digest to tell.
        changed = _time(was_changed) if before in (digest, None) else now
        if before != digest:
            self._drop_text(connection, page_id)
            self._unindexed += 1
        front, dated, page_title, about, time = _described(path, text, first_seen)
        connection.execute(
            "UPDATE pages SET mtime_ns = ?, size = ?, published = ?, title = ?, draft = ?, "
            "release = ?, real = ?, time = ?, first_seen = ?, digest = ?, changed = ?, "
            "summary = ?, series = ? WHERE id = ?",
            (
                *signature,
                dated[0].isoformat() if dated else None,
                page_title,
                int(front.draft),
                None if front.published is None else front.published.isoformat(),
                real,
                None if time is None else time.isoformat(),
                first_seen.isoformat(),
                digest,
                None if changed is None else changed.isoformat(),
                about,
                front.series,
                page_id,
            ),
        )
        self._remember(path, page_id, signature, dated, page_title, time, changed, about, front,
                       real)


def _time(stored: str | None) -> datetime | None:
    return None if stored is None else datetime.fromisoformat(stored)


def _read_head(path: str) -> bytes:
    return _read(path, whole=False)


def _read(path: str, whole: bool) -> bytes:
    """The bytes of the file at `path`, or its first HEAD_BYTES cut at a line's end."""
    if whole:
        with open(path, "rb") as file:
            return file.read()
    # A bare descriptor: a file object costs twice the time of the read at 100,000 pages.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        head = os.read(descriptor, HEAD_BYTES)
    finally:
        os.close(descriptor)
    if len(head) < HEAD_BYTES:
        return head
    return head[: head.rfind(b"\n") + 1] or head


def _reason(error: OSError | sqlite3.Error) -> str:
    if isinstance(error, FileExistsError):
        return f"{error.filename} is not a directory"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error)


def _aside_name(database: Path) -> Path:
    """`<name>.corrupt-<UTC time>` beside the database, numbered if that is taken."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = database.with_name(f"{database.name}.corrupt-{stamp}")
    number = 1
    while aside.exists():
        aside = database.with_name(f"{database.name}.corrupt-{stamp}.{number}")
        number += 1
    return aside


def _described(
    path: str, text: str, first_seen: datetime
) -> tuple[FrontLines, tuple[date, str] | None, str, str, datetime | None]:
    """What lists say of the page at `path` from its text (the head will do): its front
    lines (their problems logged), its date and slug if it is an article, its title, its
    summary (articles only) and its publication time, given when it was first seen."""
    front = front_lines(text)
    for line, problem in front.problems:
        logger.warning("%s:%d: %s", path, line, problem)
    dated = article_date(path)
    head = read_head(front.body(text), with_summary=dated is not None and not front.summary)
    page_title = titles.titled(head.heading, path)
    about = summary_of(front.summary, head.about) if dated else ""
    time = article_time(dated[0], front.published, first_seen) if dated else None
    return front, dated, page_title, about, time
