"""A stream that gives back bytes already read from a connection before reading it further."""

from __future__ import annotations

from typing import Generic, TypeVar

import trio

StreamT = TypeVar("StreamT", bound=trio.abc.HalfCloseableStream)


class PrefixedStream(trio.abc.HalfCloseableStream, Generic[StreamT]):
    """Receives `prefix` first, then from `transport_stream`; everything else is delegated.

    Used to hand TLS the bytes that arrived in the same read as a PROXY header.
    """

    def __init__(self, transport_stream: StreamT, prefix: bytes) -> None:
        self.transport_stream = transport_stream
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Return unread prefix bytes while there are any, then what the transport receives."""
        if not self._prefix:
            return await self.transport_stream.receive_some(max_bytes)
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        await trio.lowlevel.checkpoint()
        size = len(self._prefix) if max_bytes is None else max_bytes
        chunk, self._prefix = self._prefix[:size], self._prefix[size:]
        return chunk

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send through the transport."""
        await self.transport_stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        """Wait as the transport does."""
        await self.transport_stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        """Close the transport's sending side."""
        await self.transport_stream.send_eof()

    async def aclose(self) -> None:
        """Drop the unread prefix and close the transport."""
        self._prefix = b""
        await self.transport_stream.aclose()
