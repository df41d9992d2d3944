"""One access-log line per request, written to standard output or a file that can be rotated."""

from __future__ import annotations

import contextlib
import logging
import select
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import trio

from server.hostnames import unicode_host

ERROR_LOGGER = "capsule"
BATCH_BYTES = select.PIPE_BUF
"""The most bytes of access lines written at once: what a pipe takes without interleaving
another writer's bytes."""


@dataclass(slots=True)
class AccessRecord:
    """What one exchange did, as the access log reports it.

    Not frozen, though nothing changes one: it is made for every request, and a frozen
    dataclass takes about five times as long to make."""

    client: str
    host: str
    path: str
    status: int | None
    bytes_sent: int
    duration: float
    protocol: str = "gemini"
    identity: str | None = None
    """The client certificate's fingerprint, for requests to protected paths and uploads only."""


def format_access(record: AccessRecord, stamp: str) -> str:
    """Render a record as one log line: time, protocol, client, host, path, status, bytes, ms,
    and for a protected path or an upload, the client certificate's fingerprint (`sha256:…`)."""
    status = "-" if record.status is None else str(record.status)
    path = record.path
    if not (path.isascii() and path.isprintable()) or " " in path or "\\" in path:
        path = path.encode("unicode_escape").decode("ascii").replace(" ", "%20")
    return (
        f"{stamp} {record.protocol} {record.client} {unicode_host(record.host) or '-'} "
        f"{path or '-'} "
        f"{status} {record.bytes_sent} {record.duration * 1000:.1f}ms"
        + (f" {record.identity}" if record.identity else "")
    )


class AccessLog:
    """Writes one line per exchange to standard output or to a file, in batches.

    Lines wait here and go out together, at least every `flush_interval` seconds
    (`flush_periodically`), when a batch is full, and when the server stops: one write per
    batch instead of one per request. A batch is whole lines of at most PIPE_BUF bytes, which
    a pipe or an appended file takes in one piece: the lines of several worker processes
    sharing standard output or a file never tear each other. A file is opened for appending
    and `reopen`ed after rotation.
    """

    def __init__(self, stream: TextIO | None = None, path: Path | None = None) -> None:
        self.path = path
        self._stream = stream if stream is not None else _open(path)
        self._second = -1
        self._stamp = ""
        self._batch: list[str] = []
        self._batch_bytes = 0

    def reopen(self, path: Path | None) -> None:
        """Flush, then write to `path` (standard output for None) from now on, opened anew:
        after `mv access.log access.log.1`, lines go to a new `access.log`. If it cannot be
        opened, the log says why and lines keep going where they went."""
        self.flush()
        try:
            stream = _open(path)
        except OSError as error:
            logging.getLogger(ERROR_LOGGER).error("cannot reopen the access log: %s", error)
            return
        if self._stream is not sys.stdout:
            with contextlib.suppress(OSError):
                self._stream.close()
        self._stream, self.path = stream, path
        logging.getLogger(ERROR_LOGGER).info("access log reopened: %s", path or "standard output")

    def write(self, record: AccessRecord) -> None:
        """Log one exchange."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)
            )
        line = format_access(record, self._stamp) + "\n"
        size = len(line) if line.isascii() else len(line.encode(errors="replace"))
        if self._batch_bytes + size > BATCH_BYTES:
            self.flush()
        self._batch.append(line)
        self._batch_bytes += size

    def flush(self) -> None:
        """Send the lines written so far, as one write."""
        lines = "".join(self._batch)
        self._batch.clear()
        self._batch_bytes = 0
        with contextlib.suppress(OSError, ValueError):  # stdout closed or gone: nowhere to log
            self._stream.write(lines)
            self._stream.flush()

    async def flush_periodically(self, interval: Callable[[], float], shutdown: trio.Event) -> None:
        """Flush every `interval()` seconds until `shutdown`, and once more then."""
        try:
            while not shutdown.is_set():
                with trio.move_on_after(interval()):
                    await shutdown.wait()
                self.flush()
        finally:
            self.flush()


def _open(path: Path | None) -> TextIO:
    """Standard output, or `path` opened for appending."""
    if path is None:
        return sys.stdout
    return path.open("a", encoding="utf-8")


def configure_logging(level: str = "INFO") -> None:
    """Errors and notices go to stderr, each line flushed (access lines: see AccessLog)."""
    errors = logging.getLogger(ERROR_LOGGER)
    errors.handlers.clear()
    errors.propagate = False
    error_handler = logging.StreamHandler(sys.stderr)
    error_handler.setFormatter(
        logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(message)s")
    )
    errors.addHandler(error_handler)
    errors.setLevel(level)
