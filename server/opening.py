"""Opening a resolved file before any header is sent, so that a failure can still be answered."""

from __future__ import annotations

import logging
from typing import Protocol

import trio

from capsule.resources import File, NotFound, Unavailable
from server.accesslog import ERROR_LOGGER

logger = logging.getLogger(ERROR_LOGGER)



class OpenedFile(Protocol):
    """A file open for reading in binary mode, closed with `aclose`."""

    async def read(self, size: int | None = -1, /) -> bytes:
        """Up to `size` bytes; empty at the end of the file."""

    async def aclose(self) -> None:
        """Close the file."""


async def open_file(file: File) -> OpenedFile | NotFound | Unavailable:
    """The open file, NotFound if it vanished since it was resolved, or Unavailable (logged
    with its path) if it cannot be read."""
    try:
        return await trio.open_file(file.path, "rb")
    except FileNotFoundError:
        return NotFound()
    except OSError as error:
        logger.error("cannot open %s: %s", file.path, error.strerror or error)
        return Unavailable()
