"""Directories whose changes the kernel reports (inotify), for the mirror's kept responses: a
response made from files in watched directories is current while none of them has changed,
which one question to the inotify descriptor (how many bytes are queued) tells."""

from __future__ import annotations

import fcntl
import os
import termios
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from inotify_simple import INotify, flags, parse_events

_MASK = (
    flags.ATTRIB
    | flags.CREATE
    | flags.DELETE
    | flags.DELETE_SELF
    | flags.MODIFY
    | flags.MOVE_SELF
    | flags.MOVED_FROM
    | flags.MOVED_TO
    | flags.CLOSE_WRITE
    | flags.ONLYDIR
    | flags.DONT_FOLLOW
)
"""Every change to a directory or to a name in it: contents, names, permissions."""
MAX_WATCHED = 100_000
"""Directories one process watches at most; past it, pages in other directories are checked
by `stat`."""
SHARE_OF_USER_WATCHES = 8
"""The kernel's watches are counted per user, shared with the catalog's own watch and every
worker: a process's kept pages take at most this fraction of them."""
_USER_WATCHES = "/proc/sys/fs/inotify/max_user_watches"
_READ_BYTES = 64 * 1024
_NOTHING_QUEUED = bytes(4)


@dataclass(frozen=True, slots=True)
class Watched:
    """Directories being watched, and the count of changes seen when they were."""

    descriptors: tuple[int, ...]
    serial: int
    watch: ChangeWatch

    def unchanged(self) -> bool:
        """Whether none of these directories has changed since."""
        return self.watch.unchanged(self)


class ChangeWatch:
    """One inotify instance, watching the directories responses were made from.

    Every change reported is numbered; a directory remembers the number of its last change.
    A directory deleted or moved away keeps its last number forever, and a queue overflow
    counts as a change everywhere. Safe to share between threads.
    """

    def __init__(self, inotify: INotify) -> None:
        self._inotify = inotify
        self._descriptors: dict[str, int] = {}
        self._directories: dict[int, str] = {}
        self._last_change: dict[int, int] = {}
        self._serial = 0
        self._everything_since = 0
        self._broken = False
        """Set when the descriptor cannot be read: from then on nothing is trusted to it."""
        self._lock = threading.Lock()
        self._queued = bytearray(_NOTHING_QUEUED)
        """The bytes of reports queued, as FIONREAD last told (under the lock)."""
        self.max_watched = _max_watched()

    @classmethod
    def open(cls) -> ChangeWatch | None:
        """A watch on a new inotify instance; None where the kernel offers none."""
        try:
            return cls(INotify(nonblocking=True))
        except OSError:
            return None

    def watch(self, directories: Sequence[str]) -> Watched | None:
        """Start watching `directories` (absolute, no symlinks) now; None if the kernel cannot
        watch one of them (gone, or out of watches): the caller then checks by `stat`."""
        descriptors = []
        with self._lock:
            self._drain()
            if self._broken:
                return None
            for directory in directories:
                descriptor = self._descriptors.get(directory)
                if descriptor is None:
                    if len(self._descriptors) >= self.max_watched:
                        return None
                    try:
                        descriptor = self._inotify.add_watch(directory, _MASK)
                    except OSError:
                        return None
                    self._descriptors[directory] = descriptor
                    self._directories[descriptor] = directory
                descriptors.append(descriptor)
            return Watched(tuple(descriptors), self._serial, self)

    def unchanged(self, watched: Watched) -> bool:
        """Whether no directory of `watched` has changed since it was watched."""
        with self._lock:
            self._drain()
            if self._broken or watched.serial < self._everything_since:
                return False
            last_change = self._last_change
            return all(last_change.get(d, 0) <= watched.serial for d in watched.descriptors)

    def _drain(self) -> None:
        """Number the changes the kernel has queued; when there are none, one ioctl (cheaper
        than a read that fails)."""
        fd = self._inotify.fileno()
        while True:
            try:
                fcntl.ioctl(fd, termios.FIONREAD, self._queued)
                if self._queued == _NOTHING_QUEUED:
                    return
                data = os.read(fd, _READ_BYTES)
            except BlockingIOError:
                return
            except OSError:
                self._broken = True
                return
            self._serial += 1
            for event in parse_events(data):
                if event.wd == -1:  # the queue overflowed: anything may have changed
                    self._everything_since = self._serial
                self._last_change[event.wd] = self._serial
                if event.mask & flags.IGNORED:
                    # Deleted or moved away: a directory later made there is watched anew.
                    directory = self._directories.pop(event.wd, None)
                    if directory is not None and self._descriptors.get(directory) == event.wd:
                        del self._descriptors[directory]


def _max_watched() -> int:
    """How many directories this process may watch: a share of the user's watch limit."""
    try:
        with open(_USER_WATCHES, encoding="ascii") as limit:
            return min(MAX_WATCHED, int(limit.read()) // SHARE_OF_USER_WATCHES)
    except (OSError, ValueError):
        return MAX_WATCHED
