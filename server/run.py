"""Running the servers: build what they serve, bind, handle signals, reload, drain."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import trio

from capsule.catalog import Catalog, CatalogError
from capsule.publication import Publication
from capsule.site import Capsule
from certs import Identity, ensure_identity, load_identity, server_context
from server import systemd
from server.accesslog import ERROR_LOGGER, AccessLog, configure_logging
from server.config import (
    DEFAULT_GEMINI_PORT,
    Config,
    ConfigError,
    HostConfig,
    ListenAddress,
    MirrorSettings,
)
from server.config_pipe import receive_configs
from server.descriptors import fit_connection_caps, raise_open_file_limit
from server.gemini import GeminiServer, Site
from server.http import MirrorServer
from server.indexing import keep_fresh
from server.mirror import Mirror
from server.mirror_request import HostNames
from server.pages import PageRenderer
from server.workers import supervise

logger = logging.getLogger(ERROR_LOGGER)

LOOPBACK_DEFAULTS = (
    ListenAddress("127.0.0.1", DEFAULT_GEMINI_PORT),
    ListenAddress("::1", DEFAULT_GEMINI_PORT),
)

Reload = Callable[[], Config]


class StateDirectoryError(Exception):
    """The state directory cannot hold what capsule must write there."""


def identity_for(host: HostConfig, config: Config) -> Identity:
    """The operator's certificate for a host if configured, else its self-signed one."""
    if host.cert is not None and host.key is not None:
        return load_identity(host.name, host.cert, host.key)
    try:
        return ensure_identity(host.name, config.state_dir)
    except OSError as error:
        raise StateDirectoryError(
            f"state directory {config.state_dir}: {error.strerror or error}: capsule needs to "
            f"write the self-signed certificate of {host.name} under certs/ there (or give the "
            "host a certificate of its own with cert_dir or hosts.cert)"
        ) from None


def build_capsules(
    config: Config, catalogs: dict[Path, Catalog] | None = None, index_writer: bool = True
) -> dict[str, Capsule]:
    """One capsule per content root, keyed by every host name serving it.

    `catalogs` carries the catalogs of an earlier build (by root) so a reload reuses them;
    `index_writer` is False in workers that follow another worker's index.
    """
    catalogs = catalogs if catalogs is not None else {}
    by_root: dict[Path, Capsule] = {}
    capsules: dict[str, Capsule] = {}
    for host in config.hosts:
        root = config.root_for(host)
        try:
            real_root = root.resolve(strict=True)
        except OSError as error:
            raise ConfigError(f"root of host {host.name!r}: {root}: {error.strerror}") from None
        if real_root not in by_root:
            by_root[real_root] = _capsule(real_root, config, catalogs, index_writer)
        capsules[host.name.lower()] = by_root[real_root]
    return capsules


def _capsule(
    root: Path, config: Config, catalogs: dict[Path, Catalog], index_writer: bool
) -> Capsule:
    catalog = _catalog(root, config, catalogs, index_writer) if config.index.enabled else None
    publication = Publication(catalog, config.publication, config.lang) if catalog else None
    return Capsule(
        root,
        config.lang,
        publication,
        redirects=config.redirects,
        max_page_bytes=config.limits.max_page_bytes,
    )


def _catalog(
    root: Path, config: Config, catalogs: dict[Path, Catalog], index_writer: bool
) -> Catalog | None:
    """The root's catalog, kept across reloads; None (and a warning) if it cannot be written."""
    if root not in catalogs:
        name = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        database = config.state_dir / "index" / f"{name}.sqlite3"
        try:
            catalogs[root] = Catalog(root, database, index_writer)
        except CatalogError as error:
            logger.warning("%s; %s is served without search, the archive and feeds", error, root)
            return None
    return catalogs[root]


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
    settings = config.mirror or MirrorSettings()
    capsules = capsules if capsules is not None else build_capsules(config)
    gemini_port = config.listen[0].port if config.listen else None
    renderer = PageRenderer(
        settings.templates,
        settings.inline_images,
        settings.base_url,
        settings.page_cache_bytes,
        publication=any(capsule.publication is not None for capsule in capsules.values()),
    )
    base_host = urlsplit(settings.base_url).hostname if settings.base_url else None
    extra = [base_host] if base_host else []
    names = HostNames.build(capsules, config.hosts[0].name.lower(), extra)
    return Mirror(capsules, renderer, gemini_port), names


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


@dataclass
class Service:
    """The running servers and what they serve; `apply` swaps in a new config."""

    config: Config
    environ: Mapping[str, str]
    gemini: GeminiServer
    mirror: MirrorServer | None
    ports: frozenset[int]
    catalogs: dict[Path, Catalog] = field(default_factory=dict)
    index_writer: bool = True

    def current_catalogs(self) -> list[Catalog]:
        """Catalogs of the capsules being served now."""
        return catalogs_of(self.gemini.site.capsules)

    def apply(self, config: Config) -> None:
        """Serve `config` from now on; listeners stay, new connections see the new site."""
        if config.listen != self.config.listen or config.workers != self.config.workers:
            logger.warning("listen addresses and workers change only on restart")
        if (config.mirror is None) != (self.mirror is None):
            logger.warning("turning the mirror on or off takes a restart")
        capsules = build_capsules(config, self.catalogs, self.index_writer)
        site = build_site(config, self.ports, capsules)
        self.gemini.reconfigure(site, config.limits, config.proxy_protocol, config.trusted_proxies)
        if self.mirror is not None and config.mirror is not None:
            mirror, names = build_mirror(config, capsules)
            self.mirror.reconfigure(mirror, names, config.limits, config.mirror)
        self.config = config


async def serve(
    config: Config,
    *,
    reload: Reload | None = None,
    config_fd: int | None = None,
    on_ready: Callable[[list[str]], None] | None = None,
    environ: Mapping[str, str] | None = None,
    reuse_port: bool = False,
    index_writer: bool = True,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight requests and return.

    New configs come either from SIGHUP, which calls `reload`, or from a supervisor over the
    pipe `config_fd`; a bad one is reported and the current one keeps serving. A worker that
    follows another's catalog has `index_writer` False.
    """
    environ = environ if environ is not None else {}
    listeners = activated_listeners(environ, "gemini") or await open_listeners(
        config.listen, "listen", reuse_port
    )
    ports = bound_ports(listeners) | {DEFAULT_GEMINI_PORT}
    catalogs: dict[Path, Catalog] = {}
    capsules = build_capsules(config, catalogs, index_writer)
    gemini = GeminiServer(
        build_site(config, ports, capsules),
        config.limits,
        AccessLog(),
        config.proxy_protocol,
        config.trusted_proxies,
    )
    urls = [_url("gemini", listener, config.hosts[0].name) for listener in listeners]
    mirror_server, mirror_listeners = None, []
    if config.mirror is not None:
        mirror, names = build_mirror(config, capsules)
        mirror_server = MirrorServer(mirror, names, config.limits, config.mirror, AccessLog())
        mirror_listeners = activated_listeners(environ, "mirror") or await open_listeners(
            config.mirror.listen, "mirror.listen", reuse_port
        )
        urls += [_url("http", listener, "localhost") for listener in mirror_listeners]
    service = Service(config, environ, gemini, mirror_server, ports, catalogs, index_writer)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(_wait_for_stop_signal, shutdown)
        reloads = trio.CancelScope()
        if config_fd is not None:
            await nursery.start(_apply_from_supervisor, service, config_fd, reloads)
        elif reload is not None:
            await nursery.start(_reload_on_sighup, service, reload, reloads)
        nursery.start_soon(keep_fresh, service.current_catalogs, config.index, shutdown)
        nursery.start_soon(gemini.serve, listeners, shutdown)
        if mirror_server is not None:
            nursery.start_soon(mirror_server.serve, mirror_listeners, shutdown)
        for url in urls:
            logger.info("serving %s", url)
        logger.info("ready")
        serving = systemd.status(f"serving {', '.join(urls)}")
        systemd.notify_or_warn(environ, systemd.ready() + "\n" + serving)
        if on_ready is not None:
            on_ready(urls)
        await shutdown.wait()
        reloads.cancel()
        systemd.notify_or_warn(environ, systemd.stopping())
        drain = service.config.limits.drain_timeout
        logger.info("stopping: draining in-flight requests (up to %.0fs)", drain)
        nursery.cancel_scope.deadline = trio.current_time() + drain + 1


async def _wait_for_stop_signal(
    shutdown: trio.Event, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()
        async for _ in signals:
            shutdown.set()
            return


async def _reload_on_sighup(
    service: Service,
    reload: Reload,
    scope: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    with scope, trio.open_signal_receiver(signal.SIGHUP) as signals:
        task_status.started()
        async for _ in signals:
            systemd.notify_or_warn(service.environ, systemd.reloading())
            try:
                config = await trio.to_thread.run_sync(reload)
            except Exception as error:
                logger.error("reload refused, still serving the previous config: %s", error)
            else:
                await _apply(service, config)
            systemd.notify_or_warn(service.environ, systemd.ready())


async def _apply_from_supervisor(
    service: Service,
    config_fd: int,
    scope: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    with scope:
        async with trio.lowlevel.FdStream(config_fd) as pipe:
            task_status.started()
            async for config in receive_configs(pipe):
                await _apply(service, config)


async def _apply(service: Service, config: Config) -> None:
    """Serve `config` from now on; whatever goes wrong, the previous one keeps serving."""
    try:
        await trio.to_thread.run_sync(service.apply, config)
    except Exception as error:
        logger.error("reload refused, still serving the previous config: %s", error)
    else:
        configure_logging(config.log_level)
        logger.info("reloaded the configuration and certificates")


def _url(scheme: str, listener: trio.SocketListener, host: str) -> str:
    address, port = listener.socket.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    return f"{scheme}://{host}:{port}/ on {shown}:{port}"


def run_server(config: Config, reload: Reload, environ: Mapping[str, str]) -> int:
    """Serve in this process, or supervise `config.workers` worker processes."""
    open_files = raise_open_file_limit()  # workers inherit it
    config = fit_connection_caps(config, open_files)
    read_config = reload

    def reload_fitted() -> Config:
        return fit_connection_caps(read_config(), open_files)

    reload = reload_fitted
    for host in config.hosts:
        # Made once here, before anything else: not by workers racing each other, and a state
        # directory that cannot hold them stops the start with one line.
        identity_for(host, config)
    if config.workers == 1:
        trio.run(functools.partial(serve, config, reload=reload, environ=environ))
        return 0
    # Only the supervisor talks to systemd (NotifyAccess=main).
    quiet = {key: value for key, value in environ.items() if key != "NOTIFY_SOCKET"}

    def work(config: Config, report_ready: Callable[[], None], slot: int, config_fd: int) -> None:
        # Sockets passed by systemd were inherited: every worker serves them.
        own = {**quiet, "LISTEN_PID": str(os.getpid())} if "LISTEN_FDS" in quiet else quiet
        worker = functools.partial(
            serve,
            config,
            config_fd=config_fd,
            on_ready=lambda _urls: report_ready(),
            environ=own,
            reuse_port=True,
            index_writer=slot == 0,  # the first worker keeps the index; the others follow it
        )
        trio.run(worker)

    return supervise(config, work, reload, environ)
