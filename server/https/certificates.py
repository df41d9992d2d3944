"""The mirror's HTTPS certificates by host name, followed on disk and swapped in without a restart.

A host gets, in order: the certificate ACME issued for it (when `https.acme_email` is set and
the operator gave it none), else the same certificate as on Gemini (the operator's, else the
self-signed one). The files are looked at again at most once a second, as connections come in,
so a renewal by this process, another worker or the operator's own ACME client is picked up
without a restart or a SIGHUP. Connections already open keep the certificate they started with.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from certs import CertificateError, HostContexts, Identity, load_identity
from certs.layout import acme_files
from server.accesslog import ERROR_LOGGER
from server.assemble import identity_for
from server.settings.config import Config, HostConfig

logger = logging.getLogger(ERROR_LOGGER)

CHECK_INTERVAL = 1.0
"""Seconds between looks at the certificate files: a stat per file, not per handshake."""

_Stamp = tuple[int, int, int] | None


def acme_hosts(config: Config) -> list[HostConfig]:
    """The hosts whose HTTPS certificates come from ACME: all those without operator files."""
    if config.https.acme_email is None:
        return []
    return [host for host in config.hosts if host.cert is None]


def https_identity(host: HostConfig, config: Config) -> Identity:
    """The certificate a host shows over HTTPS now."""
    if config.https.acme_email is not None and host.cert is None:
        files = acme_files(config.state_dir, host.name)
        if files.cert.exists() and files.key.exists():
            return load_identity(host.name, files.cert, files.key)
    return identity_for(host, config)


class HttpsCertificates:
    """The HTTPS contexts of every host name, rebuilt when a certificate file changes."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._config = config
        self._stamps = self._look()
        self._contexts = self._build()
        self._checked = clock()

    def reconfigure(self, config: Config) -> None:
        """Serve the hosts and certificates of `config` from the next connection on."""
        self._config = config
        self._stamps = self._look()
        self._contexts = self._build()

    def contexts(self) -> HostContexts:
        """The contexts for a new connection, after a look at the files if one is due."""
        now = self._clock()
        if now - self._checked >= CHECK_INTERVAL:
            self._checked = now
            self.refresh()
        return self._contexts

    def refresh(self) -> None:
        """Rebuild the contexts now if a certificate file changed; on a bad pair (an operator
        halfway through replacing it), keep the current ones and look again later."""
        stamps = self._look()
        if stamps == self._stamps:
            return
        try:
            contexts = self._build()
        except CertificateError as error:
            logger.warning("HTTPS certificates not reloaded: %s", error)
            return
        self._stamps, self._contexts = stamps, contexts
        logger.info("HTTPS certificates reloaded")

    def _build(self) -> HostContexts:
        identities = {host.name: https_identity(host, self._config) for host in self._config.hosts}
        return HostContexts(identities, self._config.hosts[0].name, client_certificates=False)

    def _look(self) -> tuple[_Stamp, ...]:
        """What the files that may change look like: ACME's and the operator's certificates."""
        watched: list[Path] = []
        for host in self._config.hosts:
            if host.cert is not None:
                watched.append(host.cert)
            elif self._config.https.acme_email is not None:
                watched.append(acme_files(self._config.state_dir, host.name).cert)
        return tuple(_stamp(path) for path in watched)


def _stamp(path: Path) -> _Stamp:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)
