"""The Gemini listener on trio: accept, TLS, read the request, stream the answer, close."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import trio

from capsule.publication.atom import render_atom
from capsule.publication.robots import gemini_robots_txt
from capsule.resources import Feed, File, NotFound, Page, Resource, Robots, Unavailable
from capsule.root import Capsule
from capsule.rules.access import ClientIdentity
from certs import certificate_fingerprint
from server.accesslog import ERROR_LOGGER, AccessLog, AccessRecord
from server.admission import admission_for, apply_limits
from server.gemini import protocol, titan
from server.gemini.site import Site
from server.gemini.upload import serve_upload
from server.listening import FirstRequests, accept_until, client_address
from server.metrics.counting import Metrics
from server.opening import open_file
from server.prefixed_stream import PrefixedStream
from server.proxied import receive_proxy_header
from server.proxies import IPNetwork, may_send_proxy_header
from server.send_deadline import SendDeadlineStream, SendTimeout
from server.settings.config import LimitSettings
from server.tls_stream import TLSStream

logger = logging.getLogger(ERROR_LOGGER)

# A whole TLS record: OpenSSL sends no close_notify while decrypted bytes sit unread.
_RECEIVE_BYTES = 16 * 1024
_TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError)
PROTOCOL = "gemini"


class GeminiServer:
    """Serves Gemini requests on any number of listeners, under the configured limits."""

    def __init__(
        self,
        site: Site,
        limits: LimitSettings,
        access_log: AccessLog,
        proxy_protocol: bool = False,
        trusted_proxies: tuple[IPNetwork, ...] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self.site = site
        self.metrics = metrics if metrics is not None else Metrics()
        self.limits = limits
        self.access_log = access_log
        self.proxy_protocol = proxy_protocol
        self.trusted_proxies = trusted_proxies
        self.gate, self.rate = admission_for(limits)
        self.long_work = trio.CapacityLimiter(limits.long_work_threads)
        self.first_requests = FirstRequests()
        self._awaiting_proxy_header = 0

    def reconfigure(
        self,
        site: Site,
        limits: LimitSettings,
        proxy_protocol: bool,
        trusted_proxies: tuple[IPNetwork, ...],
    ) -> None:
        """Serve new connections from `site` under `limits`; open ones finish as they began."""
        self.site, self.limits, self.proxy_protocol = site, limits, proxy_protocol
        self.trusted_proxies = trusted_proxies
        apply_limits(self.gate, self.rate, limits)
        self.long_work.total_tokens = limits.long_work_threads

    async def serve(self, listeners: Sequence[trio.SocketListener], shutdown: trio.Event) -> None:
        """Accept until `shutdown` is set, then let open exchanges finish within the drain time."""
        await accept_until(
            listeners,
            self.handle_connection,
            shutdown,
            lambda: self.limits.drain_timeout,
            self.first_requests.stop,
        )

    async def handle_connection(self, stream: trio.SocketStream) -> None:
        """Serve one connection: at most one request, then close with close_notify.

        The connection is a boundary: whatever fails inside it is logged once and ends here.
        """
        client = client_address(stream)
        try:
            await self._serve_connection(stream, client)
        except Exception:
            logger.exception("%s: connection failed", client)
            await trio.aclose_forcefully(stream)

    async def _serve_connection(self, stream: trio.SocketStream, client: str) -> None:
        limits = self.limits
        transport: trio.abc.Stream = SendDeadlineStream(stream, limits.send_timeout)
        if self.proxy_protocol:
            # Connections still sending their PROXY header count against the total cap too.
            busy = self.gate.total + self._awaiting_proxy_header >= limits.max_connections
            if busy or not may_send_proxy_header(client, self.trusted_proxies):
                if busy:
                    self.metrics.refused(PROTOCOL, "max_connections")
                else:
                    logger.info("%s: refused: not a trusted proxy", client)
                await trio.aclose_forcefully(stream)
                return
            self._awaiting_proxy_header += 1
            try:
                proxied = await receive_proxy_header(stream, client, limits.request_timeout)
            finally:
                self._awaiting_proxy_header -= 1
            if proxied is None:
                await trio.aclose_forcefully(stream)
                return
            client, prefix = proxied
            transport = PrefixedStream(SendDeadlineStream(stream, limits.send_timeout), prefix)
        if not self.gate.admit(client):
            self.metrics.refused(PROTOCOL, self.gate.refusal(client))
            await trio.aclose_forcefully(stream)
            return
        site = self.site
        self.metrics.opened(PROTOCOL)
        try:
            with trio.move_on_after(limits.exchange_timeout):
                tls = TLSStream(transport, site.session_context, site.hosts)
                try:
                    await self._exchange(tls, client, site)
                finally:
                    await _close(tls)
        finally:
            self.gate.release(client)
            self.metrics.closed(PROTOCOL)

    async def _exchange(self, tls: TLSStream, client: str, site: Site) -> None:
        started = trio.current_time()
        progress = _Progress()
        try:
            await self._answer(tls, client, site, progress)
        except SendTimeout as error:
            logger.info("%s: %s%s dropped: %s", client, progress.host, progress.path, error)
        except _TRANSPORT_ERRORS as error:
            if progress.status is None:
                logger.info("%s: connection failed before a response: %s", client, _reason(error))
        except Exception:
            logger.exception("%s: answering %s%s failed", client, progress.host, progress.path)
            if progress.status is None:
                with contextlib.suppress(*_TRANSPORT_ERRORS):
                    await _send_header(tls, protocol.temporary_failure(), progress)
        finally:
            # An upload is logged even when its connection broke before any answer.
            if progress.status is not None or progress.protocol == titan.SCHEME:
                duration = trio.current_time() - started
                record = AccessRecord(
                    client,
                    progress.host,
                    progress.path,
                    progress.status,
                    progress.bytes_sent,
                    duration,
                    protocol=progress.protocol,
                    identity=progress.identity,
                )
                self.access_log.write(record)
                self._count(record)

    def _count(self, record: AccessRecord) -> None:
        """Count one exchange: its request, and a refusal or an upload's outcome."""
        self.metrics.request(record)
        if record.status == protocol.SLOW_DOWN:
            self.metrics.refused(record.protocol, "requests_per_second")
        if record.protocol == titan.SCHEME:
            self.metrics.upload(titan.outcome(record.status))

    async def _answer(self, tls: TLSStream, client: str, site: Site, progress: _Progress) -> None:
        """Read one request and send its answer; the file, if any, is opened before the header."""
        reader = protocol.RequestReader()
        received = await self._receive_request(tls, client, reader)
        if received is None:
            return
        if isinstance(received, protocol.ResponseHeader):
            await _send_header(tls, received, progress)
            return
        if titan.is_titan(received):
            progress.protocol = titan.SCHEME
            await serve_upload(
                tls, received, reader.remainder(), client=client, site=site, limits=self.limits,
                rate=self.rate, identity=_client_identity(tls), progress=progress,
                answer=lambda header, body: _send_header(tls, header, progress, body),
            )
            return
        request = protocol.parse_request(received, site.host_names, site.ports)
        if isinstance(request, protocol.ResponseHeader):
            await _send_header(tls, request, progress)
            return
        progress.host, progress.path = request.host, request.path
        wait = self.rate.retry_after(client, trio.current_time())
        if wait is not None:
            await _send_header(tls, protocol.slow_down(wait), progress)
            return
        capsule = site.capsules[request.host]
        identity = _client_identity(tls)
        resource = await _resolve(capsule, request, identity, self.long_work)
        if identity is not None and capsule.protection(request.path) is not None:
            progress.identity = str(identity)  # logged for protected paths only
        if resource is None:
            await _send_header(tls, protocol.temporary_failure(), progress)
            return
        if not isinstance(resource, File):
            body = _generated_body(resource, request)
            await _send_header(tls, protocol.response_header(resource), progress, body)
            return
        opened = await open_file(resource)
        if isinstance(opened, NotFound | Unavailable):
            await _send_header(tls, protocol.response_header(opened), progress)
            return
        try:
            await _send_header(tls, protocol.response_header(resource), progress, last=False)
            while chunk := await opened.read(self.limits.chunk_size):
                await tls.send_all(chunk)
                progress.bytes_sent += len(chunk)
        except OSError as error:
            logger.error("%s: reading %s failed: %s", client, resource.path, error)
        finally:
            await opened.aclose()

    async def _receive_request(
        self, tls: TLSStream, client: str, reader: protocol.RequestReader
    ) -> bytes | protocol.ResponseHeader | None:
        """Handshake and read the request line; a partial line that times out is a 59."""
        with self.first_requests.reading(self.limits.request_timeout):
            await tls.do_handshake()
            self.metrics.handshake(tls.session_reused)
            while True:
                data = await tls.receive_some(_RECEIVE_BYTES)
                if not data:
                    return reader.eof()
                line = reader.feed(data)
                if line is not None:
                    return line
        if reader.started:
            return reader.eof()
        logger.info("%s: no request within %.1fs, dropped", client, self.limits.request_timeout)
        return None


@dataclass(slots=True)
class _Progress:
    """What has happened so far in one exchange, for the access log."""

    host: str = ""
    path: str = ""
    status: int | None = None
    bytes_sent: int = 0
    identity: str | None = None
    protocol: str = "gemini"


async def _send_header(
    tls: TLSStream,
    header: protocol.ResponseHeader,
    progress: _Progress,
    body: bytes = b"",
    *,
    last: bool = True,
) -> None:
    """Send the header, and the body if it is already known, in one write (one TLS record
    for a small page); unless more is to follow, close_notify goes out in the same write."""
    progress.status = header.status
    encoded = header.encode() + body
    if last:
        await tls.send_last(encoded)
    else:
        await tls.send_all(encoded)
    progress.bytes_sent += len(encoded)


def _generated_body(resource: Resource, request: protocol.Request) -> bytes:
    """The body of a page, a feed or a robots.txt; other resources have none."""
    if isinstance(resource, Page):
        return resource.gemtext.encode("utf-8")
    if isinstance(resource, Feed):
        return render_atom(resource, protocol.origin(request))
    if isinstance(resource, Robots):
        return gemini_robots_txt(resource).encode("utf-8")
    return b""


def _client_identity(tls: TLSStream) -> ClientIdentity | None:
    """The client certificate the connection came with, as the capsule judges it."""
    certificate = tls.peer_certificate()
    if certificate is None:
        return None
    return ClientIdentity(
        certificate_fingerprint(certificate),
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
    )


async def _resolve(
    capsule: Capsule,
    request: protocol.Request,
    identity: ClientIdentity | None,
    long_work: trio.CapacityLimiter,
) -> Resource | None:
    """The resource a request names; None if the capsule failed.

    Most paths are resolved here on the event loop: a few stat calls and at most one small
    file read, cheaper than a hop to a thread by an order of magnitude. Work that grows with
    the capsule (a listing, the archive, feeds, search) would stall every other connection: it
    goes to a thread, a few at a time under `long_work`.
    """
    try:
        resource = capsule.resolve_at_once(request.path, request.query, identity)
        if resource is not None:
            return resource
        return await trio.to_thread.run_sync(
            capsule.resolve, request.path, request.query, identity, limiter=long_work
        )
    except Exception:
        logger.exception("resolving %s failed", request.url)
        return None


async def _close(tls: TLSStream) -> None:
    """Send close_notify and close; a peer that does not cooperate is closed forcefully."""
    if tls.close_notify_sent:  # with the answer: only the socket is left to close
        with contextlib.suppress(*_TRANSPORT_ERRORS):
            await tls.aclose()
        return
    with trio.move_on_after(1.0):
        with contextlib.suppress(*_TRANSPORT_ERRORS):
            await tls.aclose()
        return
    await trio.aclose_forcefully(tls.transport_stream)


def _reason(error: BaseException) -> str:
    cause = error.__cause__ or error.__context__
    return str(cause or error) or type(error).__name__
