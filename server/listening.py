"""Accepting connections on listening sockets until shutdown, and who is on the other end."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager

import trio

from server.accesslog import ERROR_LOGGER
from server.throttled_log import ThrottledLog

logger = logging.getLogger(ERROR_LOGGER)

# Running out of descriptors or memory is temporary: pause instead of dying.
_ACCEPT_RETRY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_ACCEPT_RETRY_PAUSE = 0.1
_ACCEPT_WARNING_INTERVAL = 1.0
"""Seconds between two warnings about failing accepts: a full table is logged, not flooded."""


STOP_GRACE = 1.0
"""Seconds a connection's first request still has to arrive once the server stops: bytes on
their way are answered (a restart loses no request), a silent connection holds nothing up."""


class FirstRequests:
    """The reads of connections' first requests, each under its request deadline, cut to
    `STOP_GRACE` at a stop."""

    def __init__(self) -> None:
        self.reads: set[trio.CancelScope] = set()
        """The scopes of the reads under way; whoever reads adds its scope and discards it."""
        self._stopping = False

    def deadline(self, timeout: float) -> float:
        """When a first request starting now must be in: `timeout` seconds, cut at a stop."""
        return trio.current_time() + (min(timeout, STOP_GRACE) if self._stopping else timeout)

    @contextmanager
    def reading(self, timeout: float) -> Iterator[trio.CancelScope]:
        """A cancel scope for reading a first request within `timeout` seconds."""
        with trio.CancelScope(deadline=self.deadline(timeout)) as scope:
            self.reads.add(scope)
            try:
                yield scope
            finally:
                self.reads.discard(scope)

    def stop(self) -> None:
        """Give every read under way at most `STOP_GRACE` more seconds, and later ones too."""
        self._stopping = True
        cut = trio.current_time() + STOP_GRACE
        for scope in self.reads:
            scope.deadline = min(scope.deadline, cut)


async def accept_until(
    listeners: Sequence[trio.SocketListener],
    handler: Callable[[trio.SocketStream], Awaitable[None]],
    shutdown: trio.Event,
    drain_timeout: Callable[[], float],
    on_stop: Callable[[], None] = lambda: None,
) -> None:
    """Run `handler` per connection until `shutdown`; then take the connections still queued,
    close the listeners, call `on_stop`, and give open connections `drain_timeout()` seconds
    to finish."""
    async with trio.open_nursery() as connections:
        async with trio.open_nursery() as acceptors:
            for listener in listeners:
                acceptors.start_soon(_accept_loop, listener, handler, connections)
            await shutdown.wait()
            acceptors.cancel_scope.cancel()
        for listener in listeners:
            # Closed right after the queue is empty: a connection the kernel completes in
            # between would be reset, so nothing else happens in between.
            queued = _queued(listener)
            await listener.aclose()
            for connection in queued:
                connections.start_soon(
                    handler, trio.SocketStream(trio.socket.from_stdlib_socket(connection))
                )
        on_stop()
        connections.cancel_scope.deadline = trio.current_time() + drain_timeout()


async def _accept_loop(
    listener: trio.SocketListener,
    handler: Callable[[trio.SocketStream], Awaitable[None]],
    connections: trio.Nursery,
) -> None:
    failures = ThrottledLog(logger, _ACCEPT_WARNING_INTERVAL, trio.current_time)
    while True:
        try:
            stream = await listener.accept()
        except OSError as error:
            if error.errno not in _ACCEPT_RETRY_ERRNOS:
                raise
            failures.warning("accept failed (%s); pausing before the next accept", error)
            await trio.sleep(_ACCEPT_RETRY_PAUSE)
            continue
        connections.start_soon(handler, stream)


def _queued(listener: trio.SocketListener) -> list[socket.socket]:
    """Connections the kernel completed that nobody accepted yet, taken without yielding to
    the scheduler: closing the listener would reset them, and a balancer that had sent them
    here would fail them instead of trying another replica."""
    sock = socket.socket(fileno=listener.socket.fileno())
    connections: list[socket.socket] = []
    try:
        sock.setblocking(False)
        while True:
            connection, _ = sock.accept()
            connections.append(connection)
    except OSError:  # BlockingIOError once the queue is empty; or out of descriptors
        return connections
    finally:
        sock.detach()


def client_address(stream: trio.SocketStream) -> str:
    """The peer's IP address, or '-' if the socket is already gone."""
    try:
        peer = stream.socket.getpeername()
    except OSError:
        return "-"
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)
