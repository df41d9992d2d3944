"""A socket stream that drops a client which takes no bytes for too long, but not a slow one."""

from __future__ import annotations

import os
from collections.abc import Callable

import trio

UNYIELDED_CALLS = 16
"""Sends and receives in a row that the kernel completed at once, after which the next one
yields to the scheduler anyway: a client that keeps its socket full cannot starve the rest."""
DEFAULT_RECEIVE_BYTES = 64 * 1024


class SendTimeout(trio.BrokenResourceError):
    """The peer took no bytes for the whole send timeout."""


class SendDeadlineStream(trio.abc.HalfCloseableStream):
    """Wraps a socket stream so that every send must make progress within `timeout` seconds.

    The deadline restarts with each partial write the kernel accepts, so a reader that is slow
    but keeps reading is served to the end, while one that stopped reading is cut off.

    Reads and writes go straight to the non-blocking socket and wait only when the kernel has
    nothing to give or takes nothing: a request already in and an answer that fits are one
    system call each, without a trip through the scheduler (see `UNYIELDED_CALLS`).
    """

    def __init__(self, transport_stream: trio.SocketStream, timeout: float) -> None:
        self.transport_stream = transport_stream
        self.timeout = timeout
        self._unyielded = 0
        self.before_waiting: Callable[[], None] | None = None
        """Called before a send waits for the client to take bytes, e.g. to move a deadline."""

    def _fd(self) -> int:
        fd = self.transport_stream.socket.fileno()
        if fd == -1:
            raise trio.ClosedResourceError("the socket was closed")
        return fd

    def _yield_due(self) -> bool:
        """Count a call the kernel completed at once; True for every `UNYIELDED_CALLS`th."""
        self._unyielded += 1
        if self._unyielded < UNYIELDED_CALLS:
            return False
        self._unyielded = 0
        return True

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send everything, failing with SendTimeout if one write waits over the timeout."""
        fd = self._fd()
        await trio.lowlevel.checkpoint_if_cancelled()
        with memoryview(data) as view:
            sent = 0
            while sent < len(view):
                try:
                    # The socket is non-blocking: write what the kernel takes now, and only
                    # when it takes nothing, wait (under the deadline) until it can take more.
                    sent += os.write(fd, view[sent:])
                except BlockingIOError:
                    self._unyielded = 0
                    if self.before_waiting is not None:
                        self.before_waiting()
                    with trio.move_on_after(self.timeout) as scope:
                        await trio.lowlevel.wait_writable(fd)
                    if scope.cancelled_caught:
                        stalled = f"the client took no bytes for {self.timeout:g}s"
                        raise SendTimeout(stalled) from None
                except OSError as error:
                    raise trio.BrokenResourceError(error) from error
        if self._yield_due():
            await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        """Wait as the socket stream does."""
        await self.transport_stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Receive what the client has sent, waiting for it if nothing is in yet; b"" once the
        client has closed its side."""
        fd = self._fd()
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                data = os.read(fd, max_bytes or DEFAULT_RECEIVE_BYTES)
            except BlockingIOError:
                self._unyielded = 0
                await trio.lowlevel.wait_readable(fd)
                fd = self._fd()
                continue
            except OSError as error:
                raise trio.BrokenResourceError(error) from error
            if self._yield_due():
                await trio.lowlevel.cancel_shielded_checkpoint()
            return data

    async def send_eof(self) -> None:
        """Close the sending side of the socket."""
        await self.transport_stream.send_eof()

    async def aclose(self) -> None:
        """Close the socket."""
        await self.transport_stream.aclose()
