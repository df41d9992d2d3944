"""Whole mirror responses kept with what they were made from, so a page asked for again is
answered on the event loop after a few `stat` calls instead of being resolved and rendered."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capsule.root import Capsule
from capsule.rules.meta import META_NAME
from capsule.tree import INDEX_NAME, served_names
from server.mirror.change_watch import ChangeWatch, Watched

if TYPE_CHECKING:
    from server.mirror.responses import Response

FileState = tuple[int, int, int, int, int, int]
"""Mode, device, inode, size, modification and change times (ns) of one file or directory;
the change time moves with its permissions too."""
FAVICON_TEXT = "favicon.txt"
"""Every page links the icon only if the capsule has one: pages depend on this file too."""
SETTLE_NS = 1_000_000_000
"""A file written this recently may be written again within the same clock tick, unseen by
its modification time: its page is not kept until then."""
ENTRY_OVERHEAD = 512
"""What an entry costs beyond its body: key, headers, the state it was made from."""


@dataclass(frozen=True, slots=True)
class Validity:
    """What a page's response depends on, taken before it was made: the files and directories
    along its path, the `.meta` files in those directories (whose rules decided who may see it),
    the icon, and the catalog."""

    files: tuple[FileState | None, ...]
    listed: tuple[object, ...]
    """The catalog's snapshot and what readers may see of it; compared by identity."""
    watched: Watched | None = None
    """The directories on the path, when the kernel reports their changes."""

    def holds(self, capsule: Capsule, path: str) -> bool:
        """Whether a response made under this validity is still the one to send for `path`;
        bounded work (one read of the kernel's change reports, or a few stats), fit for the
        event loop. A catalog change is a miss before the visible list is asked for, so this
        never works that list out again on a change."""
        if self.watched is not None:
            if not self.watched.unchanged():
                return False
        else:
            now = validity(capsule, path, listed=False)
            if now is None or now.files != self.files:
                return False
        return _same(self.listed, _listed(capsule, current=self.listed))


def validity(
    capsule: Capsule, path: str, *, listed: bool = True, watch: ChangeWatch | None = None
) -> Validity | None:
    """The validity of the page at capsule path `path` as things are now; None if it may not be
    kept: a symlink on the way or as a `.meta` (rules are then judged on two paths), or a file
    changed moments ago. Without `listed`, the catalog part is left empty. With `watch`, the
    directories on the path are watched first, so any change after this call is reported.

    The `.meta` files are taken by their state, as the `.meta` index takes them: unchanged
    files give the same rules, so the decision made with them stands."""
    names = served_names(path)
    if names is None:
        return None
    if path.endswith("/"):
        names = [*names, INDEX_NAME]
    files: list[FileState | None] = []
    place = str(capsule.root)
    watched = None
    if watch is not None:
        directories = [place]
        for name in names[:-1]:
            directories.append(f"{directories[-1]}/{name}")
        watched = watch.watch(directories)
    try:
        for name in names:
            files.append(_unlinked_state(f"{place}/{META_NAME}"))
            place = f"{place}/{name}" if place != "/" else f"/{name}"
            files.append(_unlinked_state(place))
            if files[-1] is None:
                break
    except _Linked:
        return None
    last = files[-1]
    if last is not None and time.time_ns() - last[4] < SETTLE_NS:
        return None
    try:
        files.append(_state(os.stat(f"{capsule.root}/{FAVICON_TEXT}")))
    except (OSError, ValueError):
        files.append(None)
    if None in files[1::2]:
        watched = None  # a name missing on the way: its directory cannot be watched yet
    return Validity(tuple(files), _listed(capsule) if listed else (), watched)


def _listed(capsule: Capsule, current: tuple[object, ...] | None = None) -> tuple[object, ...]:
    """The catalog's snapshot and visible list, as identities; with `current`, the list is only
    asked for while the snapshot is still the one in `current`, and only as already worked
    out (None if a publication time has come since)."""
    publication = capsule.publication
    if publication is None:
        return ()
    snapshot = publication.catalog.snapshot
    if current is not None and (not current or current[0] is not snapshot):
        return (snapshot,)
    if current is not None:
        # On the event loop: a publication time that has come is a miss, and the list is
        # worked out again in the thread that makes the page.
        return (snapshot, publication.visibility.known())
    return (snapshot, publication.visibility.current())


def _same(kept: tuple[object, ...], now: tuple[object, ...]) -> bool:
    return len(kept) == len(now) and all(a is b for a, b in zip(kept, now, strict=True))


class _Linked(Exception):
    """A symlink on the way: what it leads to is judged by the rules of two paths."""


def _unlinked_state(name: str) -> FileState | None:
    """The state of `name`, None if there is nothing there (or it cannot be seen)."""
    try:
        info = os.lstat(name)
    except (OSError, ValueError):
        return None
    if stat.S_ISLNK(info.st_mode):
        raise _Linked(name)
    return _state(info)


def _state(info: os.stat_result) -> FileState:
    return (
        info.st_mode, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """A response as sent to anybody asking for its page, and what it was made from."""

    path: str
    """The capsule path the response was resolved from."""
    validity: Validity
    response: Response


class ResponseCache:
    """Maps (host, mirror path, coding, origin) to the whole 200 response made for it,
    evicting the least recently used past `max_bytes`. Safe to share between threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[Hashable, tuple[Entry, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Entry | None:
        """The entry kept for `key`, if any; the caller checks that it still holds."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, entry: Entry) -> None:
        """Keep `entry` for `key`, if it fits the budget."""
        body = entry.response.body
        cost = ENTRY_OVERHEAD + (len(body) if isinstance(body, bytes) else 0)
        if cost > self.max_bytes:
            return
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self.bytes -= replaced[1]
            self._entries[key] = (entry, cost)
            self.bytes += cost
            while self.bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self.bytes -= evicted

    def __len__(self) -> int:
        return len(self._entries)
