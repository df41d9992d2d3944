"""A least-recently-used cache of rendered pages and their compressed bodies, bounded by the
bytes it holds."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sized
from typing import TypeVar

Made = TypeVar("Made", str, bytes)


class PageCache:
    """Maps a key to a rendered page (or its body in a content coding), evicting the least
    recently used past `max_bytes`.

    An entry costs the length of its source plus what was made of it (both are held). Entries
    larger than the whole budget are made but never kept. Safe to share between threads.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[Hashable, tuple[str | bytes, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, source: Sized, render: Callable[[], Made]) -> Made:
        """The cached value for `key`, or `render()`'s result, kept if it fits. A key always
        maps to values of one type: the caller's key says which."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]  # type: ignore[return-value]
        rendered = render()
        cost = len(source) + len(rendered)
        if cost > self.max_bytes:
            return rendered
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (rendered, cost)
                self.bytes += cost
            while self.bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self.bytes -= evicted
        return rendered

    def __len__(self) -> int:
        return len(self._entries)
