"""The SQLite side of a catalog: one connection per thread, closed with it, and what the
errors SQLite raises say about the database file."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import weakref
from pathlib import Path

from capsule.catalog.scan import resources_exhausted

# Primary SQLite result codes (the low byte of an extended one).
CANTOPEN = 14
DAMAGED = frozenset({11, 26})
"""SQLITE_CORRUPT, SQLITE_NOTADB: the file is no sound database."""
UNWRITABLE = frozenset({3, 8, 10, 13, CANTOPEN})
"""SQLITE_PERM, READONLY, IOERR, FULL, CANTOPEN: the place needs an operator's fix."""

_WAL_KEPT = 4 * 1024 * 1024
"""Bytes of write-ahead log kept on disk once it has been written back."""


class FailedCheck(sqlite3.DatabaseError):
    """SQLite's own check of the database file found it damaged."""


class Connections:
    """One SQLite connection per thread, closed when its thread ends or by `close_all`."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._local = threading.local()
        self._generation = 0
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[_Held] = weakref.WeakSet()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened at its first use or its first after `renew`."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.generation != self._generation:
            self.discard()
            held = _Held(connect(self._database), self._generation)
            self._local.held = held
            with self._lock:
                self._open.add(held)
        return held.connection

    def discard(self) -> None:
        """Close this thread's connection, which rolls back what it left uncommitted."""
        held: _Held | None = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None:
            held.close()

    def renew(self) -> None:
        """Have each thread open a new connection at its next use. Others' connections may be
        busy, so they are not closed here: a thread closes its own then, or as it ends."""
        self._generation += 1

    def close_all(self) -> None:
        """Close every connection still open, whichever thread opened it."""
        self._generation += 1
        with self._lock:
            held = list(self._open)
        for each in held:
            each.close()


class _Held:
    """A thread's connection, closed once the thread ends and drops it, or when asked."""

    __slots__ = ("__weakref__", "close", "connection", "generation")

    def __init__(self, connection: sqlite3.Connection, generation: int) -> None:
        self.connection = connection
        self.generation = generation
        self.close = weakref.finalize(self, _close_quietly, connection)


def connect(database: Path) -> sqlite3.Connection:
    """A connection for one thread; WAL lets searches run while a refresh writes. Any thread
    may close it (`Catalog.close`), though only its own uses it."""
    connection = sqlite3.connect(database, timeout=30, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        # A first index writes as much as the index holds; the log need not stay that large.
        connection.execute(f"PRAGMA journal_size_limit = {_WAL_KEPT}")
    except BaseException:
        connection.close()
        raise
    return connection


def _close_quietly(connection: sqlite3.Connection) -> None:
    # Runs as a thread ends, where an exception could only be printed.
    with contextlib.suppress(sqlite3.Error):
        connection.close()


def error_code(error: BaseException) -> int:
    """The primary SQLite result code of an error, 0 if it carries none."""
    code: int | None = getattr(error, "sqlite_errorcode", None)
    return (code or 0) & 0xFF


def is_damaged(error: BaseException) -> bool:
    """Whether an error says the database file is damaged."""
    return isinstance(error, FailedCheck) or (
        isinstance(error, sqlite3.DatabaseError) and error_code(error) in DAMAGED
    )


_NO_WRITES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def is_unwritable(error: BaseException) -> bool:
    """Whether an error says the database's place takes no writes now (a full disk, a
    read-only file system, permissions): the operator's to fix, not a fault in capsule."""
    if isinstance(error, sqlite3.Error):
        return error_code(error) in UNWRITABLE
    return isinstance(error, OSError) and error.errno in _NO_WRITES


def raise_if_out_of_descriptors(error: sqlite3.Error, database: Path) -> None:
    """Raise the OSError behind SQLite's "unable to open database file" if descriptors ran
    out; to be asked at once, before anything closes one."""
    if error_code(error) != CANTOPEN:
        return
    try:
        os.close(os.open(os.devnull, os.O_RDONLY))
    except OSError as probe:
        if resources_exhausted(probe):
            raise OSError(probe.errno, probe.strerror, str(database)) from error
