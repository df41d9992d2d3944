"""Running the servers: build what they serve from the config, bind, handle signals, drain."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable

import trio

from capsule.site import Capsule
from certs import Identity, ensure_identity, load_identity, server_context
from server.accesslog import ERROR_LOGGER, AccessLog
from server.config import DEFAULT_GEMINI_PORT, Config, ConfigError, HostConfig, ListenAddress
from server.gemini import GeminiServer, Site

logger = logging.getLogger(ERROR_LOGGER)

LOOPBACK_DEFAULTS = (ListenAddress("127.0.0.1", DEFAULT_GEMINI_PORT), ListenAddress("::1", 1965))


def identity_for(host: HostConfig, config: Config) -> Identity:
    """The operator's certificate for a host if configured, else its self-signed one."""
    if host.cert is not None and host.key is not None:
        return load_identity(host.name, host.cert, host.key)
    return ensure_identity(host.name, config.state_dir)


def build_site(config: Config, ports: frozenset[int]) -> Site:
    """Load capsules and certificates for every configured host."""
    capsules: dict[str, Capsule] = {}
    identities: dict[str, Identity] = {}
    for host in config.hosts:
        root = config.root_for(host)
        try:
            capsule = Capsule(root, config.lang)
        except OSError as error:
            raise ConfigError(f"root of host {host.name!r}: {root}: {error.strerror}") from None
        identity = identity_for(host, config)
        identities[host.name] = identity
        for name in identity.names:
            capsules.setdefault(name.lower(), capsule)
        capsules[host.name.lower()] = capsule
    context = server_context(identities, config.hosts[0].name)
    return Site(capsules, context, ports)


async def open_listeners(addresses: tuple[ListenAddress, ...]) -> list[trio.SocketListener]:
    """Bind every address; the loopback defaults tolerate a machine without IPv6."""
    listeners: list[trio.SocketListener] = []
    for address in addresses:
        try:
            listeners += await trio.open_tcp_listeners(address.port, host=address.host or None)
        except OSError as error:
            if address in LOOPBACK_DEFAULTS and address.host == "::1":
                logger.warning("IPv6 loopback unavailable (%s); serving IPv4 only", error)
                continue
            raise ConfigError(f"listen: cannot bind {address}: {error.strerror}") from None
    return listeners


def bound_ports(listeners: list[trio.SocketListener]) -> frozenset[int]:
    """Ports the listeners actually bound (port 0 becomes a real one)."""
    return frozenset(int(listener.socket.getsockname()[1]) for listener in listeners)


async def serve(config: Config, on_ready: Callable[[list[str]], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight requests and return."""
    listeners = await open_listeners(config.listen)
    ports = bound_ports(listeners)
    site = build_site(config, ports | {DEFAULT_GEMINI_PORT})
    gemini = GeminiServer(site, config.limits, AccessLog())
    urls = [_listener_url(listener, config.hosts[0].name) for listener in listeners]
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_wait_for_stop_signal, shutdown)
        nursery.start_soon(gemini.serve, listeners, shutdown)
        for url in urls:
            logger.info("serving %s", url)
        logger.info("ready")
        if on_ready is not None:
            on_ready(urls)
        await shutdown.wait()
        drain = config.limits.drain_timeout
        logger.info("stopping: draining in-flight requests (up to %.0fs)", drain)
        nursery.cancel_scope.deadline = trio.current_time() + drain + 1


async def _wait_for_stop_signal(shutdown: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            shutdown.set()
            return


def _listener_url(listener: trio.SocketListener, host: str) -> str:
    address, port = listener.socket.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    return f"gemini://{host}:{port}/ on {shown}:{port}"
