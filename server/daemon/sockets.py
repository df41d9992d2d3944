"""Listening sockets: bound from the configured addresses or taken from systemd, and the ports
and URLs they ended up on."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping

import trio

from server.accesslog import ERROR_LOGGER
from server.daemon import systemd
from server.daemon.steering import steer_by_client
from server.settings.config import LOOPBACK_DEFAULTS, ConfigError, ListenAddress

logger = logging.getLogger(ERROR_LOGGER)


async def open_listeners(
    addresses: tuple[ListenAddress, ...],
    key: str = "listen",
    reuse_port: bool = False,
    steer_among: int = 1,
) -> list[trio.SocketListener]:
    """Bind every address; the loopback defaults tolerate a machine without IPv6. With
    `steer_among` workers sharing the ports, each client address goes to one of them."""
    listeners: list[trio.SocketListener] = []
    for address in addresses:
        try:
            listeners.append(await _listener(address, reuse_port, steer_among))
        except OSError as error:
            if address in LOOPBACK_DEFAULTS and address.host == "::1":
                logger.warning("IPv6 loopback unavailable (%s); serving IPv4 only", error)
                continue
            raise ConfigError(f"{key}: cannot bind {address}: {error.strerror}") from None
    return listeners


async def _listener(
    address: ListenAddress, reuse_port: bool, steer_among: int
) -> trio.SocketListener:
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
        if reuse_port and steer_among > 1:
            # Once listening, the socket is in its port's group, which the program steers.
            steer_by_client(sock, steer_among)
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


def metrics_url(listener: trio.SocketListener) -> str:
    address, port = listener.socket.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    return f"http://{shown}:{port}/metrics"
