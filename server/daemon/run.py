"""Running the servers: one process or supervised workers; signals, reload and drain."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import trio
from OpenSSL import SSL

from capsule.catalog.store import Catalog
from certs import session_context
from certs.acme import ChallengeTokens
from server.accesslog import ERROR_LOGGER, AccessLog, configure_logging
from server.assemble import build_capsules, catalogs_of, identity_for
from server.daemon import systemd
from server.daemon.config_pipe import receive_configs
from server.daemon.descriptors import fit_connection_caps, raise_open_file_limit
from server.daemon.indexing import keep_fresh
from server.daemon.memory import freeze_start_up, release_memory, thaw
from server.daemon.sockets import (
    activated_listeners,
    bound_ports,
    listener_url,
    metrics_url,
    open_listeners,
)
from server.daemon.workers import supervise
from server.gemini.server import GeminiServer
from server.gemini.site import build_site
from server.gemini.upload import sweep_uploads
from server.hostnames import unicode_host
from server.https.certificates import HttpsCertificates
from server.https.renewal import CertificateKeeper
from server.metrics.counting import Metrics
from server.metrics.exposition import forget_process, share_between_processes
from server.metrics.listener import MetricsListener
from server.mirror.server import HttpsEndpoint, MirrorServer
from server.mirror.site import build_mirror
from server.settings.config import (
    DEFAULT_GEMINI_PORT,
    Config,
    ConfigError,
)

logger = logging.getLogger(ERROR_LOGGER)

Reload = Callable[[], Config]
"""Reads the configuration again (the command line and the file), validated."""


@dataclass
class Service:
    """The running servers and what they serve; `apply` swaps in a new config."""

    config: Config
    environ: Mapping[str, str]
    gemini: GeminiServer
    mirror: MirrorServer | None
    ports: frozenset[int]
    session_context: SSL.Context
    access_log: AccessLog
    catalogs: dict[Path, Catalog] = field(default_factory=dict)
    index_writer: bool = True
    https: HttpsCertificates | None = None
    certificate_keeper: CertificateKeeper | None = None

    def current_catalogs(self) -> list[Catalog]:
        """Catalogs of the capsules being served now."""
        return catalogs_of(self.gemini.site.capsules)

    def apply(self, config: Config) -> None:
        """Serve `config` from now on; listeners stay, new connections see the new site."""
        if (config.listen, config.workers, config.metrics) != (
            self.config.listen, self.config.workers, self.config.metrics
        ):
            logger.warning("listen addresses, workers and metrics change only on restart")
        if (config.mirror is None) != (self.mirror is None):
            logger.warning("turning the mirror on or off takes a restart")
        if config.https.listen != self.config.https.listen:
            logger.warning("HTTPS listen addresses change only on restart")
        capsules = build_capsules(config, self.catalogs, self.index_writer)
        site = build_site(config, self.ports, self.session_context, capsules)
        self.gemini.reconfigure(site, config.limits, config.proxy_protocol, config.trusted_proxies)
        if self.mirror is not None and config.mirror is not None:
            mirror, names = build_mirror(config, capsules)
            self.mirror.reconfigure(
                mirror, names, config.limits, config.mirror, config.trusted_proxies, config.https
            )
        if self.https is not None:
            self.https.reconfigure(config)
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
    tls_session: SSL.Context | None = None,
    https_session: SSL.Context | None = None,
    metrics_directory: Path | None = None,
    status_environ: Mapping[str, str] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight requests and return.

    New configs come either from SIGHUP, which calls `reload`, or from a supervisor over the
    pipe `config_fd`; a bad one is reported and the current one keeps serving. A worker that
    follows another's catalog has `index_writer` False; the one that keeps it also keeps the
    ACME certificates, serves the metrics of every process sharing `metrics_directory`, and
    tells systemd (`status_environ`, else `environ`) how indexing goes. Workers share the
    supervisor's `tls_session` and `https_session` contexts, and so their session-ticket keys.
    """
    tls_session = tls_session if tls_session is not None else session_context()
    environ = environ if environ is not None else {}
    status_environ = status_environ if status_environ is not None else environ
    metrics = Metrics()
    metrics.started(version("capsule"))
    listeners = activated_listeners(environ, "gemini") or await open_listeners(
        config.listen, "listen", reuse_port, config.workers
    )
    ports = bound_ports(listeners) | {DEFAULT_GEMINI_PORT}
    catalogs: dict[Path, Catalog] = {}
    capsules = build_capsules(config, catalogs, index_writer)
    access_log = AccessLog(path=config.access_log)
    gemini = GeminiServer(
        build_site(config, ports, tls_session, capsules),
        config.limits,
        access_log,
        config.proxy_protocol,
        config.trusted_proxies,
        metrics,
    )
    shown = unicode_host(config.hosts[0].name)
    urls = [listener_url("gemini", listener, shown) for listener in listeners]
    mirror_server, mirror_listeners, https_listeners = None, [], []
    https, keeper = None, None
    if config.mirror is not None:
        mirror, names = build_mirror(config, capsules)
        endpoint = None
        if config.https.listen:
            https_listeners = activated_listeners(environ, "https") or await open_listeners(
                config.https.listen, "https.listen", reuse_port, config.workers
            )
            https = HttpsCertificates(config)
            session = https_session or session_context(client_certificates=False)
            port = int(https_listeners[0].socket.getsockname()[1])
            endpoint = HttpsEndpoint(https, session, port, ChallengeTokens(config.state_dir))
            if index_writer:
                keeper = CertificateKeeper(config, https.refresh)
        mirror_server = MirrorServer(
            mirror,
            names,
            config.limits,
            config.mirror,
            access_log,
            config.trusted_proxies,
            endpoint,
            config.https,
            metrics,
        )
        mirror_listeners = activated_listeners(environ, "mirror") or await open_listeners(
            config.mirror.listen, "mirror.listen", reuse_port, config.workers
        )
        urls += [listener_url("http", listener, "localhost") for listener in mirror_listeners]
        urls += [listener_url("https", listener, "localhost") for listener in https_listeners]
    metrics_listeners = []
    if config.metrics is not None and metrics_directory is not None and index_writer:
        metrics_listeners = await open_listeners((config.metrics,), "metrics", reuse_port)
    service = Service(
        config,
        environ,
        gemini,
        mirror_server,
        ports,
        tls_session,
        access_log,
        catalogs,
        index_writer,
        https,
        keeper,
    )
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(_wait_for_stop_signal, shutdown)
        reopens, reloads = trio.CancelScope(), trio.CancelScope()
        await nursery.start(_reopen_on_sigusr1, service, reopens)
        if config_fd is not None:
            await nursery.start(_apply_from_supervisor, service, config_fd, reloads)
        elif reload is not None:
            await nursery.start(_reload_on_sighup, service, reload, reloads)
        indexing = trio.CancelScope()
        report = functools.partial(_report_status, status_environ)
        nursery.start_soon(_keep_fresh, indexing, service, shutdown, metrics, report)
        if index_writer:  # one process sweeps
            nursery.start_soon(sweep_uploads, gemini.site, config.limits.upload_timeout)
        nursery.start_soon(release_memory, config.limits.memory_release_interval, shutdown)
        nursery.start_soon(
            access_log.flush_periodically, lambda: service.config.access_log_flush, shutdown
        )
        nursery.start_soon(metrics.publish_periodically, shutdown)
        nursery.start_soon(gemini.serve, listeners, shutdown)
        if mirror_server is not None:
            nursery.start_soon(mirror_server.serve, mirror_listeners, shutdown)
            if https_listeners:
                nursery.start_soon(
                    functools.partial(mirror_server.serve, https_listeners, shutdown, tls=True)
                )
        if keeper is not None:
            nursery.start_soon(keeper.run, shutdown)
        if metrics_directory is not None and metrics_listeners:
            scrapes = MetricsListener(metrics_directory)
            nursery.start_soon(scrapes.serve, metrics_listeners, shutdown)
        for url in urls:
            logger.info("serving %s", url)
        for listener in metrics_listeners:
            logger.info("metrics on %s", metrics_url(listener))
        freeze_start_up()
        logger.info("ready")
        serving = systemd.status(f"serving {', '.join(urls)}")
        systemd.notify_or_warn(environ, systemd.ready() + "\n" + serving)
        if on_ready is not None:
            on_ready(urls)
        await shutdown.wait()
        reloads.cancel()
        reopens.cancel()
        indexing.cancel()  # a refresh under way stops within a page, keeping its batches
        systemd.notify_or_warn(environ, systemd.stopping())
        drain = service.config.limits.drain_timeout
        logger.info("stopping: draining in-flight requests (up to %.0fs)", drain)
        nursery.cancel_scope.deadline = trio.current_time() + drain + 1
    access_log.flush()  # the lines of the requests that finished while draining
    for catalog in service.catalogs.values():
        catalog.close()


async def _keep_fresh(
    scope: trio.CancelScope,
    service: Service,
    shutdown: trio.Event,
    metrics: Metrics,
    report: Callable[[str], None],
) -> None:
    """Keep the catalogs fresh until `scope` is cancelled, which stops a refresh under way."""
    with scope:
        await keep_fresh(service.current_catalogs, service.config.index, shutdown, metrics, report)


def _report_status(environ: Mapping[str, str], text: str) -> None:
    systemd.notify_or_warn(environ, systemd.status(text))


async def _wait_for_stop_signal(
    shutdown: trio.Event, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()
        async for _ in signals:
            shutdown.set()
            return


async def _reopen_on_sigusr1(
    service: Service,
    scope: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Reopen the access log on each SIGUSR1 (nginx's signal for it), e.g. after rotation."""
    with scope, trio.open_signal_receiver(signal.SIGUSR1) as signals:
        task_status.started()
        async for _ in signals:
            service.access_log.reopen(service.config.access_log)


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
    """Serve `config` from now on; whatever goes wrong, the previous one keeps serving. The
    access log is reopened either way, so SIGHUP serves rotation too."""
    thaw()  # what the new config replaces must become collectable
    try:
        await trio.to_thread.run_sync(service.apply, config)
    except Exception as error:
        logger.error("reload refused, still serving the previous config: %s", error)
    else:
        if service.certificate_keeper is not None:
            service.certificate_keeper.reconfigure(config)  # on the event loop: it wakes a task
        configure_logging(config.log_level)
        logger.info("reloaded the configuration and certificates")
    service.access_log.reopen(service.config.access_log)
    freeze_start_up()


def run_server(config: Config, reload: Reload, environ: Mapping[str, str]) -> int:
    """Serve in this process, or supervise `config.workers` worker processes."""
    if config.access_log is not None:
        try:
            config.access_log.open("a").close()
        except OSError as error:
            raise ConfigError(f"logging.access_log: cannot open {config.access_log}: "
                              f"{error.strerror}") from None
    with _shared_metrics(config) as metrics_directory:
        return _run(config, reload, environ, metrics_directory)


@contextmanager
def _shared_metrics(config: Config) -> Iterator[Path | None]:
    """A private directory where every process of this server keeps its metrics, if they are
    served; removed at the end, so each start counts from zero."""
    if config.metrics is None:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="capsule-metrics-"))
    try:
        share_between_processes(directory)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _run(
    config: Config, reload: Reload, environ: Mapping[str, str], metrics_directory: Path | None
) -> int:
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
    # One session-ticket key for the whole deployment: made once, before workers are forked,
    # and kept across reloads, so every worker resumes every session.
    tls_session = session_context()
    https_session = session_context(client_certificates=False)
    if config.workers == 1:
        trio.run(
            functools.partial(
                serve,
                config,
                reload=reload,
                environ=environ,
                tls_session=tls_session,
                https_session=https_session,
                metrics_directory=metrics_directory,
            )
        )
        return 0
    # Only the supervisor says ready, reloading and stopping; the index writer sends its status.
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
            tls_session=tls_session,
            https_session=https_session,
            metrics_directory=metrics_directory,
            # Its indexing progress is the status worth showing (NotifyAccess=all).
            status_environ=environ if slot == 0 else quiet,
        )
        trio.run(worker)

    def exited(pid: int) -> None:
        if metrics_directory is not None:
            forget_process(pid, metrics_directory)

    return supervise(config, work, reload, environ, exited)
