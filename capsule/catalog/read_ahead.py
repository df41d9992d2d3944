"""Reading many small files in order while threads read the next ones: on a disk whose pages
are not cached (a first start after a boot), one read at a time waits for the device each time,
and a few reads in flight take a fraction of that. Where the files are cached already, threads
would only contend for the GIL: a few files spread over the list are asked first."""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

READERS = 8
"""Threads reading at once: reads in flight for the device, each waiting outside the GIL."""
CHUNK = 64
"""Files a thread reads in one go: handing work to a thread costs about as much as reading a
cached file, so it is handed over by the chunk."""
AHEAD = 2 * READERS
"""Chunks read or waiting to be read ahead of the one in use: what bounds the memory."""
PROBES = 16
"""Files, spread over the list, whose first page is looked for in the page cache."""
_NOWAIT = getattr(os, "RWF_NOWAIT", None)


def read_ahead(
    paths: Sequence[str], read: Callable[[str], bytes]
) -> Generator[bytes | OSError, None, None]:
    """`read(path)` of each of `paths`, in their order, or the OSError it raised. Unless the
    files look cached (PROBES of them, spread out), READERS threads read up to AHEAD chunks of
    CHUNK paths ahead. Stopping early (closing the iterator, or an exception where it is used)
    drops the chunks not started and waits for those under way."""
    if len(paths) <= CHUNK or _cached(paths[:: max(1, len(paths) // PROBES)]):
        yield from _read_each(paths, read)
        return
    chunks = (paths[start : start + CHUNK] for start in range(0, len(paths), CHUNK))
    pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="read-ahead")
    try:
        pending: deque[Future[list[bytes | OSError]]] = deque(
            pool.submit(_read_all, chunk, read) for chunk in itertools.islice(chunks, AHEAD)
        )
        while pending:
            done = pending.popleft().result()
            following = next(chunks, None)
            if following is not None:
                pending.append(pool.submit(_read_all, following, read))
            yield from done
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_each(
    paths: Sequence[str], read: Callable[[str], bytes]
) -> Generator[bytes | OSError, None, None]:
    for path in paths:
        try:
            yield read(path)
        except OSError as error:
            yield error


def _read_all(paths: Sequence[str], read: Callable[[str], bytes]) -> list[bytes | OSError]:
    return list(_read_each(paths, read))


def _cached(paths: Sequence[str]) -> bool:
    """Whether the first page of each of `paths` that can be opened is in the page cache, by
    a read that fails rather than wait for the device (Linux); False where that is unknown."""
    if _NOWAIT is None:
        return False
    probe = bytearray(1)
    for path in paths:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.preadv(descriptor, [probe], 0, _NOWAIT)
        except OSError:  # BlockingIOError: not cached; or a file system that cannot tell
            return False
        finally:
            os.close(descriptor)
    return True
