"""A socket stream that drops a client which takes no bytes for too long, but not a slow one."""

from __future__ import annotations

import os

import trio


class SendTimeout(trio.BrokenResourceError):
    """The peer took no bytes for the whole send timeout."""


class SendDeadlineStream(trio.abc.HalfCloseableStream):
    """Wraps a socket stream so that every send must make progress within `timeout` seconds.

    The deadline restarts with each partial write the kernel accepts, so a reader that is slow
    but keeps reading is served to the end, while one that stopped reading is cut off.
    """

    def __init__(self, transport_stream: trio.SocketStream, timeout: float) -> None:
        self.transport_stream = transport_stream
        self.timeout = timeout

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send everything, failing with SendTimeout if one write waits over the timeout."""
        fd = self.transport_stream.socket.fileno()
        if fd == -1:
            raise trio.ClosedResourceError("the socket was closed")
        await trio.lowlevel.checkpoint_if_cancelled()
        with memoryview(data) as view:
            sent = 0
            while sent < len(view):
                try:
                    # The socket is non-blocking: write what the kernel takes now, and only
                    # when it takes nothing, wait (under the deadline) until it can take more.
                    sent += os.write(fd, view[sent:])
                except BlockingIOError:
                    with trio.move_on_after(self.timeout) as scope:
                        await trio.lowlevel.wait_writable(fd)
                    if scope.cancelled_caught:
                        stalled = f"the client took no bytes for {self.timeout:g}s"
                        raise SendTimeout(stalled) from None
                except OSError as error:
                    raise trio.BrokenResourceError(error) from error
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        """Wait as the socket stream does."""
        await self.transport_stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Receive from the socket stream."""
        return await self.transport_stream.receive_some(max_bytes)

    async def send_eof(self) -> None:
        """Close the sending side of the socket."""
        await self.transport_stream.send_eof()

    async def aclose(self) -> None:
        """Close the socket."""
        await self.transport_stream.aclose()
