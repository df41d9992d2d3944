"""Listening sockets: open or take them from systemd, accept until shutdown, drain."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence

import trio

from server import systemd
from server.accesslog import ERROR_LOGGER
from server.config import LOOPBACK_DEFAULTS, ConfigError, ListenAddress
from server.throttled_log import ThrottledLog

logger = logging.getLogger(ERROR_LOGGER)

# Running out of descriptors or memory is temporary: pause instead of dying.
_ACCEPT_RETRY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_ACCEPT_RETRY_PAUSE = 0.1
_ACCEPT_WARNING_INTERVAL = 1.0
"""Seconds between two warnings about failing accepts: a full table is logged, not flooded."""


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
            for stream in _queued(listener):
                connections.start_soon(handler, stream)
            await listener.aclose()
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


def _queued(listener: trio.SocketListener) -> list[trio.SocketStream]:
    """Connections the kernel completed that nobody accepted yet, taken without yielding to
    the scheduler: closing the listener would reset them, and a balancer that had sent them
    here would fail them instead of trying another replica."""
    sock = socket.socket(fileno=listener.socket.fileno())
    streams: list[trio.SocketStream] = []
    try:
        sock.setblocking(False)
        while True:
            connection, _ = sock.accept()
            streams.append(trio.SocketStream(trio.socket.from_stdlib_socket(connection)))
    except OSError:  # BlockingIOError once the queue is empty; or out of descriptors
        return streams
    finally:
        sock.detach()


def client_address(stream: trio.SocketStream) -> str:
    """The peer's IP address, or '-' if the socket is already gone."""
    try:
        peer = stream.socket.getpeername()
    except OSError:
        return "-"
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


async def open_listeners(
    addresses: tuple[ListenAddress, ...], key: str = "listen", reuse_port: bool = False
) -> list[trio.SocketListener]:
    """Bind every address; the loopback defaults tolerate a machine without IPv6."""
    listeners: list[trio.SocketListener] = []
    for address in addresses:
        try:
            listeners.append(await _listener(address, reuse_port))
        except OSError as error:
            if address in LOOPBACK_DEFAULTS and address.host == "::1":
                logger.warning("IPv6 loopback unavailable (%s); serving IPv4 only", error)
                continue
            raise ConfigError(f"{key}: cannot bind {address}: {error.strerror}") from None
    return listeners


async def _listener(address: ListenAddress, reuse_port: bool) -> trio.SocketListener:
    """A listening socket; an empty host means every interface, IPv6 and IPv4 alike."""
    every_interface = not address.host
    family = socket.AF_INET6 if ":" in address.host or every_interface else socket.AF_INET
    infos = await trio.socket.getaddrinfo(
        address.host or "::", address.port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    family, kind, proto, _, sockaddr = infos[0]
    sock = trio.socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            # "[::]:1965" is IPv6 only, so that "0.0.0.0:1965" can be listed beside it.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if every_interface else 1)
        await sock.bind(sockaddr)
        sock.listen(socket.SOMAXCONN)
    except OSError:
        sock.close()
        raise
    return trio.SocketListener(sock)


def activated_listeners(environ: Mapping[str, str], name: str) -> list[trio.SocketListener]:
    """Listeners systemd passed in by socket activation under `name`, if any."""
    return [
        trio.SocketListener(trio.socket.from_stdlib_socket(sock))
        for sock in systemd.listen_fds(environ, name)
    ]


def bound_ports(listeners: list[trio.SocketListener]) -> frozenset[int]:
    """Ports the listeners actually bound (port 0 becomes a real one)."""
    return frozenset(int(listener.socket.getsockname()[1]) for listener in listeners)


def listener_url(scheme: str, listener: trio.SocketListener, host: str) -> str:
    address, port = listener.socket.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    return f"{scheme}://{host}:{port}/ on {shown}:{port}"
