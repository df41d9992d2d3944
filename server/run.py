"""Running the servers: build what they serve from the config, bind, handle signals, drain."""

from __future__ import annotations

import hashlib
import logging
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import trio

from capsule.catalog import Catalog
from capsule.publication import Publication
from capsule.site import Capsule
from certs import Identity, ensure_identity, load_identity, server_context
from server.accesslog import ERROR_LOGGER, AccessLog
from server.config import (
    DEFAULT_GEMINI_PORT,
    Config,
    ConfigError,
    HostConfig,
    ListenAddress,
    MirrorConfig,
)
from server.gemini import GeminiServer, Site
from server.http import MirrorServer
from server.indexing import keep_fresh
from server.mirror import Mirror
from server.mirror_request import HostNames
from server.pages import PageRenderer

logger = logging.getLogger(ERROR_LOGGER)

LOOPBACK_DEFAULTS = (ListenAddress("127.0.0.1", DEFAULT_GEMINI_PORT), ListenAddress("::1", 1965))


def identity_for(host: HostConfig, config: Config) -> Identity:
    """The operator's certificate for a host if configured, else its self-signed one."""
    if host.cert is not None and host.key is not None:
        return load_identity(host.name, host.cert, host.key)
    return ensure_identity(host.name, config.state_dir)


def build_capsules(config: Config) -> dict[str, Capsule]:
    """One capsule per content root (with its catalog), keyed by every host name serving it."""
    by_root: dict[Path, Capsule] = {}
    capsules: dict[str, Capsule] = {}
    for host in config.hosts:
        root = config.root_for(host)
        if root not in by_root:
            try:
                by_root[root] = _capsule(root, config)
            except OSError as error:
                raise ConfigError(f"root of host {host.name!r}: {root}: {error.strerror}") from None
        capsules[host.name.lower()] = by_root[root]
    return capsules


def _capsule(root: Path, config: Config) -> Capsule:
    if not config.index.enabled:
        return Capsule(root, config.lang)
    real_root = root.resolve(strict=True)
    name = hashlib.sha256(str(real_root).encode()).hexdigest()[:16]
    catalog = Catalog(real_root, config.state_dir / "index" / f"{name}.sqlite3")
    return Capsule(real_root, config.lang, Publication(catalog, config.publication, config.lang))


def catalogs_of(capsules: Mapping[str, Capsule]) -> list[Catalog]:
    """The distinct catalogs behind a set of capsules."""
    found: dict[int, Catalog] = {}
    for capsule in capsules.values():
        if capsule.publication is not None:
            found.setdefault(id(capsule.publication.catalog), capsule.publication.catalog)
    return list(found.values())


def build_site(
    config: Config, ports: frozenset[int], capsules: Mapping[str, Capsule] | None = None
) -> Site:
    """Certificates for every configured host, and its capsule under each name it carries."""
    capsules = dict(capsules if capsules is not None else build_capsules(config))
    identities: dict[str, Identity] = {}
    for host in config.hosts:
        identity = identity_for(host, config)
        identities[host.name] = identity
        for name in identity.names:
            capsules.setdefault(name.lower(), capsules[host.name.lower()])
    context = server_context(identities, config.hosts[0].name)
    return Site(capsules, context, ports)


def build_mirror(
    config: Config, capsules: Mapping[str, Capsule] | None = None
) -> tuple[Mirror, HostNames]:
    """The mirror and the Host names it answers, from the config alone (no certificates)."""
    settings = config.mirror or MirrorConfig()
    capsules = capsules if capsules is not None else build_capsules(config)
    gemini_port = config.listen[0].port if config.listen else None
    renderer = PageRenderer(
        settings.templates, settings.inline_images, settings.base_url, settings.page_cache_size
    )
    base_host = urlsplit(settings.base_url).hostname if settings.base_url else None
    extra = [base_host] if base_host else []
    names = HostNames.build(capsules, config.hosts[0].name.lower(), extra)
    return Mirror(capsules, renderer, gemini_port), names


async def open_listeners(
    addresses: tuple[ListenAddress, ...], key: str = "listen"
) -> list[trio.SocketListener]:
    """Bind every address; the loopback defaults tolerate a machine without IPv6."""
    listeners: list[trio.SocketListener] = []
    for address in addresses:
        try:
            listeners += await trio.open_tcp_listeners(address.port, host=address.host or None)
        except OSError as error:
            if address in LOOPBACK_DEFAULTS and address.host == "::1":
                logger.warning("IPv6 loopback unavailable (%s); serving IPv4 only", error)
                continue
            raise ConfigError(f"{key}: cannot bind {address}: {error.strerror}") from None
    return listeners


def bound_ports(listeners: list[trio.SocketListener]) -> frozenset[int]:
    """Ports the listeners actually bound (port 0 becomes a real one)."""
    return frozenset(int(listener.socket.getsockname()[1]) for listener in listeners)


async def serve(config: Config, on_ready: Callable[[list[str]], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight requests and return."""
    listeners = await open_listeners(config.listen)
    ports = bound_ports(listeners)
    capsules = build_capsules(config)
    site = build_site(config, ports | {DEFAULT_GEMINI_PORT}, capsules)
    gemini = GeminiServer(site, config.limits, AccessLog())
    urls = [_listener_url(listener, config.hosts[0].name) for listener in listeners]
    mirror_listeners: list[trio.SocketListener] = []
    mirror_server: MirrorServer | None = None
    if config.mirror is not None:
        mirror, names = build_mirror(config, capsules)
        mirror_server = MirrorServer(mirror, names, config.limits, config.mirror, AccessLog())
        mirror_listeners = await open_listeners(config.mirror.listen, "http")
        urls += [_mirror_url(listener) for listener in mirror_listeners]
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_wait_for_stop_signal, shutdown)
        nursery.start_soon(keep_fresh, catalogs_of(capsules), config.index, shutdown)
        nursery.start_soon(gemini.serve, listeners, shutdown)
        if mirror_server is not None:
            nursery.start_soon(mirror_server.serve, mirror_listeners, shutdown)
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


def _mirror_url(listener: trio.SocketListener) -> str:
    address, port = listener.socket.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    name = "localhost" if address in ("127.0.0.1", "::1") else shown
    return f"http://{name}:{port}/ on {shown}:{port}"
