"""Being told by the kernel (inotify) which directories of the capsule roots changed, and saying
once when it cannot tell."""

from __future__ import annotations

import contextlib
import errno
import logging

import trio
from inotify_simple import INotify, flags

from capsule.catalog.store import Catalog
from server.accesslog import ERROR_LOGGER

logger = logging.getLogger(ERROR_LOGGER)

_MASK = (
    flags.CREATE
    | flags.DELETE
    | flags.MOVED_FROM
    | flags.MOVED_TO
    | flags.CLOSE_WRITE
    | flags.MODIFY
    | flags.ATTRIB
    | flags.ONLYDIR
    | flags.DONT_FOLLOW
)
"""What changes a catalog: names coming and going, contents written, permissions changed (an
unreadable `.meta` closes its directory)."""

_OUT_OF_WATCHES = frozenset({errno.ENOSPC, errno.ENOMEM, errno.EMFILE, errno.ENFILE})


class DiskWatch:
    """The directories of each writing catalog that changed since the catalog last looked.

    One inotify instance serves every catalog. A directory is watched once a refresh of its
    catalog has walked it, and read once more by the refresh after, so nothing written before
    its watch starts is missed. When the kernel cannot watch (no inotify, or
    the watch limit reached), `active` turns False, once and with one log line, and the
    caller polls instead.
    """

    def __init__(self, inotify: INotify | None) -> None:
        self._inotify = inotify
        self._places: dict[int, tuple[int, str]] = {}
        """Watch descriptor -> (id of its catalog, URL path of its directory)."""
        self._descriptors: dict[tuple[int, str], int] = {}
        self._touched: dict[int, set[str]] = {}
        self._lost: set[int] = set()
        """Catalogs some of whose events the kernel dropped (its queue overflowed)."""
        self._wake_send, self.wake = trio.open_memory_channel[None](1)
        """Receives once something changed since the last receive."""

    @classmethod
    def open(cls) -> DiskWatch:
        """A watch on a new inotify instance, or an inactive one (logged) if there is none."""
        try:
            return cls(INotify(nonblocking=True))
        except OSError as error:
            logger.warning(
                "the kernel cannot report changes (%s); polling the capsule roots instead",
                error.strerror,
            )
            return cls(None)

    @property
    def active(self) -> bool:
        """Whether the kernel reports changes, so polling is not needed."""
        return self._inotify is not None

    def follow(self, catalog: Catalog) -> None:
        """Watch every directory the catalog's last refresh walked; forget those gone.

        A file written after the refresh read it and before its directory was watched sends
        no event: every directory watched anew is reported touched, so the next refresh reads
        it once more, now that nothing can slip by."""
        inotify = self._inotify
        if inotify is None:
            return
        key = id(catalog)
        directories = catalog.directories()
        watched_anew: set[str] = set()
        for directory in directories:
            if (key, directory) in self._descriptors:
                continue
            try:
                descriptor = inotify.add_watch(f"{catalog.root}{directory}", _MASK)
            except OSError as error:
                if error.errno in _OUT_OF_WATCHES:
                    self._give_up(catalog, error)
                    return
                continue  # gone since the refresh: the next refresh sees that
            self._places[descriptor] = (key, directory)
            self._descriptors[(key, directory)] = descriptor
            watched_anew.add(directory)
        if watched_anew:
            self._touched.setdefault(key, set()).update(watched_anew)
            self._wake()
        gone = [place for place in self._descriptors if place[0] == key]
        for place in gone:
            if place[1] not in directories:
                self._forget(self._descriptors[place], remove=True)

    def take(self, catalog: Catalog) -> frozenset[str] | None:
        """The directories of `catalog` touched since the last take (URL paths, "" for the
        root); None if some changes were lost, so that only a full refresh is sure."""
        key = id(catalog)
        if key in self._lost:
            self._lost.discard(key)
            self._touched.pop(key, None)
            return None
        return frozenset(self._touched.pop(key, ()))

    async def run(self) -> None:
        """Read the kernel's events until cancelled, waking the receiver of `wake`."""
        inotify = self._inotify
        if inotify is None:
            return
        try:
            while True:
                await trio.lowlevel.wait_readable(inotify.fileno())
                for event in inotify.read(timeout=0):
                    self._note(event.wd, event.mask)
                self._wake()
        finally:
            trio.lowlevel.notify_closing(inotify.fileno())
            inotify.close()

    def _note(self, descriptor: int, mask: int) -> None:
        if mask & flags.Q_OVERFLOW:
            self._lost.update(key for key, _ in self._places.values())
            return
        place = self._places.get(descriptor)
        if place is None:
            return
        self._touched.setdefault(place[0], set()).add(place[1])
        if mask & flags.IGNORED:
            # The directory is gone, or its watch was removed: the kernel freed the descriptor.
            self._forget(descriptor, remove=False)

    def _forget(self, descriptor: int, remove: bool) -> None:
        place = self._places.pop(descriptor, None)
        if place is not None:
            self._descriptors.pop(place, None)
        if remove and self._inotify is not None:
            _unwatch(self._inotify, descriptor)

    def _give_up(self, catalog: Catalog, error: OSError) -> None:
        logger.warning(
            "the kernel cannot watch every directory of %s (%s; raise "
            "fs.inotify.max_user_watches to fix); polling the capsule roots instead",
            catalog.root,
            error.strerror,
        )
        inotify, self._inotify = self._inotify, None
        if inotify is not None:
            for descriptor in self._places:
                _unwatch(inotify, descriptor)
        self._places.clear()
        self._descriptors.clear()
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(trio.WouldBlock):  # a wake-up is already waiting
            self._wake_send.send_nowait(None)


def _unwatch(inotify: INotify, descriptor: int) -> None:
    with contextlib.suppress(OSError):  # already gone with its directory
        inotify.rm_watch(descriptor)
