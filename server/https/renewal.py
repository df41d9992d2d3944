"""Keeps the ACME certificates: obtains the missing ones, renews each at two thirds of its life.

One process per deployment runs it (the one that also keeps the catalog); the certificates it
writes reach every worker through `HttpsCertificates`, which follows the files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import trio
from cryptography import x509

from certs import read_certificate
from certs.acme import AcmeAccount, AcmeError, obtain_certificate, renewal_time
from certs.errors import CertificateError
from certs.layout import acme_files
from server.accesslog import ERROR_LOGGER
from server.https.certificates import acme_hosts
from server.settings.config import Config

logger = logging.getLogger(ERROR_LOGGER)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CertificateKeeper:
    """Obtains and renews the certificates of `acme_hosts(config)`, calling `renewed` after each."""

    def __init__(
        self, config: Config, renewed: Callable[[], None], clock: Clock = _utc_now
    ) -> None:
        self._config = config
        self._renewed = renewed
        self._clock = clock
        self._wake = trio.Event()
        self._retry_at: dict[str, datetime] = {}

    def reconfigure(self, config: Config) -> None:
        """Keep the hosts of `config` from now on (a new host gets its certificate at once)."""
        self._config = config
        self._retry_at.clear()
        self._wake.set()

    async def run(self, shutdown: trio.Event) -> None:
        """Obtain and renew until `shutdown` is set, abandoning an order under way then."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._keep)
            await shutdown.wait()
            nursery.cancel_scope.cancel()

    async def _keep(self) -> None:
        while True:
            self._wake = trio.Event()
            next_time = await self._renew_due()
            delay = (next_time - self._clock()).total_seconds() if next_time else float("inf")
            with trio.move_on_after(max(delay, 0)):
                await self._wake.wait()

    async def _renew_due(self) -> datetime | None:
        """Renew every certificate that is due; when the next one will be."""
        config = self._config
        account = AcmeAccount(
            config.https.acme_directory,
            config.https.acme_email or "",
            config.state_dir,
            config.https.acme_ca_bundle,
            config.https.acme_timeout,
        )
        upcoming: dict[str, datetime] = {}
        async with trio.open_nursery() as nursery:
            # Hosts are ordered side by side: each waits mostly on the CA's validation.
            for host in acme_hosts(config):
                upcoming[host.name] = self._due(host.name)
                if upcoming[host.name] <= self._clock():
                    nursery.start_soon(self._obtain, account, host.name, upcoming)
        return min(upcoming.values(), default=None)

    def _due(self, host: str) -> datetime:
        """When `host` needs a certificate: a failed order's retry, else its renewal time."""
        if host in self._retry_at:
            return self._retry_at[host]
        try:
            return renewal_time(read_certificate(acme_files(self._config.state_dir, host).cert))
        except CertificateError:
            return self._clock()  # none yet (or unreadable): order one now

    async def _obtain(
        self, account: AcmeAccount, host: str, upcoming: dict[str, datetime]
    ) -> None:
        """Order a certificate for `host`; `upcoming[host]` becomes when to look at it next."""
        started = trio.current_time()
        try:
            cert: x509.Certificate = await trio.to_thread.run_sync(
                obtain_certificate, account, host, abandon_on_cancel=True
            )
        except (AcmeError, OSError) as error:
            retry = self._config.https.acme_retry_interval
            logger.error("ACME: no certificate for %s, next try in %.0fs: %s", host, retry, error)
            self._retry_at[host] = upcoming[host] = self._clock() + timedelta(seconds=retry)
            return
        self._retry_at.pop(host, None)
        self._renewed()
        renewal = renewal_time(cert)
        logger.info(
            "ACME: certificate for %s (serial %x) in %.1fs, valid until %s, renewed from %s",
            host,
            cert.serial_number,
            trio.current_time() - started,
            cert.not_valid_after_utc.isoformat(),
            renewal.isoformat(),
        )
        upcoming[host] = renewal

