"""Several worker processes sharing the listening ports, supervised by the first process.

Each worker binds the same addresses with SO_REUSEPORT, so the kernel spreads connections
over them. The supervisor forwards SIGTERM and SIGINT to every worker; on SIGHUP it reads the
configuration itself, once, and hands the validated config to every worker over its pipe;
SIGUSR1 (reopen the access log) it forwards. It replaces a worker that dies unexpectedly, and
reports readiness once all of them are serving.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping

from server.accesslog import ERROR_LOGGER
from server.daemon import systemd
from server.daemon.config_pipe import send_config
from server.settings.config import LOOPBACK_DEFAULTS, Config, ConfigError, ListenAddress

logger = logging.getLogger(ERROR_LOGGER)

READY_SIGNAL = signal.SIGRTMIN
"""Sent by a worker to the supervisor once it serves; real-time signals queue, never merge."""
_SUPERVISED = {
    signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGCHLD, READY_SIGNAL
}
_CRASH_WINDOW = 10.0
_MAX_CRASHES = 5

Worker = Callable[[Config, Callable[[], None], int, int], None]
"""Runs one worker (config, report_ready, slot, config_fd) until told to stop; slots are 0 to
N-1, and later configs arrive on the pipe `config_fd` (see `server.daemon.config_pipe`)."""


def supervise(
    config: Config,
    worker: Worker,
    reload: Callable[[], Config],
    environ: Mapping[str, str],
    exited: Callable[[int], None] = lambda pid: None,
) -> int:
    """Run `config.workers` workers until SIGTERM or SIGINT; return the exit status.

    On SIGHUP the supervisor reloads too, so a worker it starts later serves the new config.
    `exited` hears of every worker that has exited, by pid.
    """
    # Sockets systemd passes in are held by systemd: there is nothing to check or reserve.
    config, reservations = reserve_ports(config, check_free="LISTEN_FDS" not in environ)
    signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISED)
    supervisor = os.getpid()
    workers: dict[int, int] = {}
    pipes: dict[int, int] = {}
    """Each worker's end of its config pipe, by pid."""
    crashes: list[float] = []

    def spawn(slot: int) -> None:
        config_read, config_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(config_write)
            for reservation in reservations:
                reservation.close()
            for fd in pipes.values():
                os.close(fd)
            # Configs come from the supervisor; a stray SIGHUP must not end the worker.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            # Nor one that comes before the worker listens for it (its default is to exit).
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SUPERVISED)
            status = 1
            try:
                worker(config, lambda: os.kill(supervisor, READY_SIGNAL), slot, config_read)
                status = 0
            except BaseException:
                logger.exception("worker %d failed", os.getpid())
            finally:
                os._exit(status)
        os.close(config_read)
        workers[pid] = slot
        pipes[pid] = config_write

    for slot in range(config.workers):
        spawn(slot)
    serving: set[int] = set()
    stopping = False
    while workers:
        info = signal.sigwaitinfo(_SUPERVISED)
        if info.si_signo == READY_SIGNAL:
            serving.add(info.si_pid)
            if len(serving) == config.workers:
                logger.info("ready: %d workers", config.workers)
                systemd.notify_or_warn(environ, systemd.ready())
        elif info.si_signo in (signal.SIGTERM, signal.SIGINT):
            stopping = True
            systemd.notify_or_warn(environ, systemd.stopping())
            _forward(workers, signal.SIGTERM)
        elif info.si_signo == signal.SIGUSR1:
            _forward(workers, signal.SIGUSR1)
        elif info.si_signo == signal.SIGHUP:
            systemd.notify_or_warn(environ, systemd.reloading())
            latest = _reloaded(config, reload)
            if latest is not config:
                config = latest
                _hand_over(pipes, config)
            systemd.notify_or_warn(environ, systemd.ready())
        elif info.si_signo == signal.SIGCHLD:
            for pid, slot, status in _reap(workers):
                serving.discard(pid)
                os.close(pipes.pop(pid))
                exited(pid)
                if stopping:
                    continue
                logger.error("worker %d exited (%s); starting a new one", pid, status)
                now = time.monotonic()
                crashes[:] = [moment for moment in crashes if now - moment < _CRASH_WINDOW]
                crashes.append(now)
                if len(crashes) > _MAX_CRASHES:
                    logger.error("workers keep crashing; stopping")
                    stopping = True
                    _forward(workers, signal.SIGTERM)
                    continue
                spawn(slot)
    for reservation in reservations:
        reservation.close()
    for fd in pipes.values():
        os.close(fd)
    return 1 if len(crashes) > _MAX_CRASHES else 0


def _reloaded(config: Config, reload: Callable[[], Config]) -> Config:
    """The new config for future workers, keeping what only a restart may change."""
    try:
        latest = reload()
    except Exception as error:
        logger.error("reload refused, new workers keep the previous config: %s", error)
        return config
    mirror = latest.mirror
    if mirror is not None and config.mirror is not None:
        if not _same_addresses(mirror.listen, config.mirror.listen):
            logger.warning("mirror.listen changes only on restart; still listening as before")
        mirror = dataclasses.replace(mirror, listen=config.mirror.listen)
    if not _same_addresses(latest.listen, config.listen) or latest.workers != config.workers:
        logger.warning("listen addresses and workers change only on restart")
    if latest.metrics != config.metrics:
        logger.warning("the metrics address changes only on restart")
    return dataclasses.replace(
        latest,
        listen=config.listen,
        mirror=mirror,
        workers=config.workers,
        metrics=config.metrics,
    )


def _same_addresses(
    configured: tuple[ListenAddress, ...], bound: tuple[ListenAddress, ...]
) -> bool:
    """Whether a reloaded config asks for the addresses being served (port 0: any port)."""
    return len(configured) == len(bound) and all(
        wanted.host == held.host and wanted.port in (0, held.port)
        for wanted, held in zip(configured, bound, strict=True)
    )


def reserve_ports(
    config: Config, check_free: bool = True
) -> tuple[Config, list[socket.socket]]:
    """Pick real ports for addresses with port 0 so every worker binds the same ones, and
    make sure the other ports are free (`check_free`).

    The reservations are bound SO_REUSEPORT sockets that never listen, so they receive no
    connections while keeping the port for the workers. The check matters because workers
    bind with SO_REUSEPORT: on a port another capsule's workers hold, they would bind without
    error and share its connections.
    """
    reservations: list[socket.socket] = []

    def concrete(address: ListenAddress, key: str) -> ListenAddress:
        if address.port != 0:
            if check_free:
                _check_free(address, key)
            return address
        family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
        reservation = socket.socket(family, socket.SOCK_STREAM)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reservation.bind((address.host or "", 0))
        reservations.append(reservation)
        return ListenAddress(address.host, reservation.getsockname()[1])

    listen = tuple(concrete(address, "listen") for address in config.listen)
    metrics = None if config.metrics is None else concrete(config.metrics, "metrics")
    mirror = config.mirror
    if mirror is not None:
        mirror = dataclasses.replace(
            mirror, listen=tuple(concrete(address, "mirror.listen") for address in mirror.listen)
        )
    return dataclasses.replace(config, listen=listen, mirror=mirror, metrics=metrics), reservations


def _check_free(address: ListenAddress, key: str) -> None:
    """Bind `address` once without SO_REUSEPORT: it fails if anyone holds the port."""
    family = socket.AF_INET6 if ":" in address.host or not address.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if not address.host else 1)
        try:
            probe.bind((address.host or "::", address.port))
        except OSError as error:
            if address in LOOPBACK_DEFAULTS and address.host == "::1":
                return  # no IPv6 here: the worker will say so and serve IPv4
            raise ConfigError(f"{key}: cannot bind {address}: {error.strerror}") from None


def _hand_over(pipes: Mapping[int, int], config: Config) -> None:
    """Send `config` to every worker; one that is gone gets it no more."""
    for pid, fd in pipes.items():
        try:
            send_config(fd, config)
        except OSError as error:
            logger.warning("cannot hand the new config to worker %d: %s", pid, error)


def _forward(workers: Mapping[int, int], signum: int) -> None:
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _reap(workers: dict[int, int]) -> list[tuple[int, int, str]]:
    """Collect every worker that has exited: pid, slot, and a description of how."""
    exited = []
    while workers:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid in workers:
            slot = workers.pop(pid)
            if os.WIFSIGNALED(status):
                how = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
            else:
                how = f"status {os.waitstatus_to_exitcode(status)}"
            exited.append((pid, slot, how))
    return exited
