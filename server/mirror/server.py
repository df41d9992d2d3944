"""The mirror's HTTP/1.1 listeners on trio and llhttp, plain and TLS: accept, read, stream
answers."""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus

import trio
from OpenSSL import SSL

from capsule.resources import File, NotFound, Unavailable
from certs.acme import ChallengeTokens, challenge_token
from server.accesslog import ERROR_LOGGER, AccessLog, AccessRecord
from server.admission import admission_for, apply_limits
from server.https.certificates import HttpsCertificates
from server.listening import FirstRequests, accept_until, client_address
from server.metrics.counting import Metrics
from server.mirror import responses, secure
from server.mirror.forwarded import Reader, reader_of
from server.mirror.http_head import (
    CHUNKED,
    MalformedHead,
    RequestHead,
    UnknownMethod,
    UnknownVersion,
    feed_chunked_body,
    parse_head,
)
from server.mirror.links import capsule_target
from server.mirror.request import (
    HostNames,
    Refusal,
    parse_request,
    request_head,
    smuggling_refusal,
    version_refusal,
)
from server.mirror.responses import Mirror, Request, Response
from server.mirror.wire import DateField, UnsafeHeader, head_bytes, keeps_alive
from server.opening import OpenedFile, open_file
from server.prefixed_stream import PrefixedStream
from server.proxied import receive_proxy_header
from server.proxies import IPNetwork, may_forward, may_send_proxy_header
from server.send_deadline import SendDeadlineStream, SendTimeout
from server.settings.config import HttpsSettings, LimitSettings, MirrorSettings
from server.tls_stream import TLSStream

logger = logging.getLogger(ERROR_LOGGER)

RECEIVE_BYTES = 16 * 1024
SERVER_NAME = "capsule"
_TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError)
PROTOCOL = "http"
_REFUSALS: dict[Refusal, Callable[[Mirror], Response]] = {
    Refusal.MALFORMED: responses.bad_request,
    Refusal.METHOD: responses.method_not_allowed,
    Refusal.HOST: responses.misdirected,
    Refusal.HEAD_TOO_LARGE: responses.headers_too_large,
    Refusal.VERSION: responses.version_not_supported,
}
_TOO_MANY_REQUESTS = HTTPStatus.TOO_MANY_REQUESTS
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)
"""SO_LINGER on, zero seconds: close with a reset and drop what the client never took."""


class _PeerGone(Exception):
    """The client closed the connection or never finished its request in time."""


class _Incoming:
    """What a client has sent that no request has used yet, and whether it has closed its side."""

    __slots__ = ("closed", "data")

    def __init__(self, prefix: bytes) -> None:
        self.data = bytearray(prefix)
        self.closed = False

    async def receive(self, transport: trio.abc.Stream) -> None:
        """Wait for more bytes from the client, or for it to close its side."""
        chunk = await transport.receive_some(RECEIVE_BYTES)
        if not chunk:
            self.closed = True
        self.data += chunk


class _SourceFailed(Exception):
    """The file being streamed failed or ended early, after its header was sent."""


@dataclass(slots=True)
class _Exchange:
    """One request on a connection, for the access log."""

    client: str
    method: bytes = b"GET"
    host: str = ""
    path: str = ""
    status: int | None = None
    bytes_sent: int = 0
    closing: bool = True
    """Whether the answer said the connection closes after it."""
    whole: bool = False
    """Whether the request was read to its end, body included."""


DEADLINE_SLACK = 0.1
"""The share of a read timeout (at most a second) by which a keep-alive connection's read
deadline may run late: moving a deadline costs more than a request, so it moves only when it
must, and an idle connection closes between `timeout` and `timeout` plus the slack."""


def _read_deadline(scope: trio.CancelScope, timeout: float) -> None:
    """Give `scope` a deadline `timeout` seconds from now, late by at most the slack."""
    wanted = trio.current_time() + timeout
    slack = min(timeout * DEADLINE_SLACK, 1.0)
    if not wanted <= scope.deadline <= wanted + slack:
        scope.deadline = wanted + slack


class _Connection:
    """One client connection: its transport, what it has sent, who it is, and the cancel
    scope that holds its current deadline."""

    __slots__ = ("client", "direct", "exchange_deadline", "incoming", "scope", "tls", "transport")

    def __init__(
        self,
        transport: trio.abc.Stream,
        incoming: _Incoming,
        client: str,
        direct: Reader | None,
        tls: bool,
    ) -> None:
        self.transport = transport
        self.incoming = incoming
        self.client = client
        self.direct = direct
        """The reader of every request, unless the client is a trusted front."""
        self.tls = tls
        self.scope = trio.CancelScope()
        self.exchange_deadline = math.inf
        """When the exchange under way must be over."""

    def until_exchange_end(self) -> None:
        """Hold the connection to the exchange's deadline instead of its read deadline: done
        before the answer first waits (a thread, a file, a client that takes nothing), and
        never for an answer that goes out at once."""
        self.scope.deadline = self.exchange_deadline


@dataclass(frozen=True, slots=True)
class HttpsEndpoint:
    """The mirror's HTTPS side: certificates by host name, the deployment's TLS session context
    (one ticket key for every worker), the port plain HTTP redirects to, and the ACME challenges
    plain HTTP still answers."""

    certificates: HttpsCertificates
    session: SSL.Context
    port: int
    challenges: ChallengeTokens


class MirrorServer:
    """Serves the mirror over HTTP/1.1 with keep-alive, under the configured limits."""

    def __init__(
        self,
        mirror: Mirror,
        hosts: HostNames,
        limits: LimitSettings,
        settings: MirrorSettings,
        access_log: AccessLog,
        trusted_proxies: tuple[IPNetwork, ...] = (),
        https: HttpsEndpoint | None = None,
        https_settings: HttpsSettings | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.mirror = mirror
        self.metrics = metrics if metrics is not None else Metrics()
        self.hosts = hosts
        self.limits = limits
        self.settings = settings
        self.access_log = access_log
        self.trusted_proxies = trusted_proxies
        self.https = https
        """Set when the mirror also serves HTTPS: plain HTTP then redirects there."""
        self.https_settings = https_settings or HttpsSettings()
        self.gate, self.rate = admission_for(limits)
        self.long_work = trio.CapacityLimiter(limits.long_work_threads)
        self.first_requests = FirstRequests()
        self._waiting: set[trio.CancelScope] = set()
        self._stopping = False
        self._awaiting_proxy_header = 0
        self.date = DateField([("Server", SERVER_NAME)])

    def reconfigure(
        self,
        mirror: Mirror,
        hosts: HostNames,
        limits: LimitSettings,
        settings: MirrorSettings,
        trusted_proxies: tuple[IPNetwork, ...],
        https_settings: HttpsSettings,
    ) -> None:
        """Serve new requests from `mirror` under `limits`; open connections keep going."""
        self.mirror, self.hosts, self.limits, self.settings = mirror, hosts, limits, settings
        self.trusted_proxies = trusted_proxies
        self.https_settings = https_settings
        apply_limits(self.gate, self.rate, limits)
        self.long_work.total_tokens = limits.long_work_threads

    async def serve(
        self,
        listeners: Sequence[trio.SocketListener],
        shutdown: trio.Event,
        *,
        tls: bool = False,
    ) -> None:
        """Accept until `shutdown` is set, then close idle connections and drain the others.

        With `tls`, the listeners are the HTTPS ones (the server must have an HttpsEndpoint).
        """
        await accept_until(
            listeners,
            self.handle_tls_connection if tls else self.handle_connection,
            shutdown,
            lambda: self.limits.drain_timeout,
            self._close_idle_connections,
        )

    def _close_idle_connections(self) -> None:
        self._stopping = True
        self.first_requests.stop()
        for scope in self._waiting:
            scope.cancel()

    async def handle_connection(self, stream: trio.SocketStream) -> None:
        """Serve requests on one plain HTTP connection until either side closes it or it idles
        out.

        The connection is a boundary: whatever fails inside it is answered or closed, logged
        once, and ends here. Behind a PROXY front the client is the one its header names;
        behind a front that forwards headers, readers are counted per request instead.
        """
        await self._handle(stream, tls=False)

    async def handle_tls_connection(self, stream: trio.SocketStream) -> None:
        """Serve requests on one HTTPS connection, as `handle_connection` does."""
        await self._handle(stream, tls=True)

    async def _handle(self, stream: trio.SocketStream, tls: bool) -> None:
        client = client_address(stream)
        prefix = b""
        if self.settings.proxy_protocol:
            proxied = await self._proxied(stream, client)
            if proxied is None:
                await trio.aclose_forcefully(stream)
                return
            client, prefix = proxied
        per_client = not may_forward(client, self.trusted_proxies)
        if not self.gate.admit(client, per_client):
            self.metrics.refused(PROTOCOL, self.gate.refusal(client))
            await trio.aclose_forcefully(stream)
            return
        self.metrics.opened(PROTOCOL)
        try:
            await self._serve_connection(stream, client, prefix, tls)
        except Exception:
            logger.exception("%s: connection failed", client)
        finally:
            self.gate.release(client, per_client)
            self.metrics.closed(PROTOCOL)
            await trio.aclose_forcefully(stream)

    async def _proxied(self, stream: trio.SocketStream, peer: str) -> tuple[str, bytes] | None:
        """The client and the bytes after the PROXY header, or None to close the connection."""
        # Connections still sending their PROXY header count against the total cap too.
        if self.gate.total + self._awaiting_proxy_header >= self.limits.max_connections:
            return None
        if not may_send_proxy_header(peer, self.trusted_proxies):
            logger.info("%s: refused: not a trusted proxy", peer)
            return None
        self._awaiting_proxy_header += 1
        try:
            return await receive_proxy_header(stream, peer, self.limits.request_timeout)
        finally:
            self._awaiting_proxy_header -= 1

    async def _serve_connection(
        self, stream: trio.SocketStream, client: str, prefix: bytes, tls: bool
    ) -> None:
        """Serve `client`'s requests, over TLS if `tls`; `prefix` holds bytes read past a PROXY
        header."""
        plain = SendDeadlineStream(stream, self.limits.send_timeout)
        transport: trio.abc.Stream = plain
        incoming = _Incoming(prefix)
        if tls:
            assert self.https is not None, "HTTPS listeners need an HttpsEndpoint"
            contexts = self.https.certificates.contexts()
            # The bytes after a PROXY header start the TLS handshake, not a request.
            transport = TLSStream(PrefixedStream(plain, prefix), self.https.session, contexts)
            incoming = _Incoming(b"")
        # A client that is not a trusted front is the reader of every request it sends.
        direct = None if may_forward(client, self.trusted_proxies) else Reader(
            client, "https" if tls else "http"
        )
        connection = _Connection(transport, incoming, client, direct, tls)
        if not tls:
            # A plain answer moves the deadline to the exchange's only if it has to wait.
            plain.before_waiting = connection.until_exchange_end
        timeout = self.limits.request_timeout
        with connection.scope:
            try:
                served = 0
                # A stop closes connections waiting between requests; a new connection's
                # first request, perhaps already on its way, is still answered (a restart
                # loses none).
                while served == 0 or not self._stopping:
                    served += 1
                    last = served >= self.settings.max_requests_per_connection
                    if not await self._exchange(stream, connection, timeout, last, served > 1):
                        break
                    timeout = self.settings.keepalive_timeout
            except (_PeerGone, *_TRANSPORT_ERRORS):
                pass
        if isinstance(transport, TLSStream):
            # close_notify, so the client knows the last response ended where it ended.
            with trio.move_on_after(self.limits.send_timeout):
                await transport.aclose()

    async def _exchange(
        self,
        stream: trio.SocketStream,
        connection: _Connection,
        timeout: float,
        last: bool,
        idle: bool,
    ) -> bool:
        """Read one request and answer it; True if the connection can carry another. A
        connection `idle` between requests is closed by a stop instead of waiting."""
        client = connection.client
        exchange = _Exchange(client)
        source: OpenedFile | None = None
        held: str | None = None
        tls = connection.tls
        transport = connection.transport
        # The connection's cancel scope holds the read deadline until the request is in (cut
        # by a stop), then the exchange deadline for the answer.
        scope = connection.scope
        connection.exchange_deadline = math.inf  # until the request is in
        if idle:
            waiting = self._waiting
            _read_deadline(scope, timeout)
        else:
            waiting = self.first_requests.reads
            scope.deadline = self.first_requests.deadline(timeout)
        started = 0.0
        try:
            waiting.add(scope)
            try:
                received = await self._read(transport, connection.incoming, exchange)
            finally:
                waiting.discard(scope)
            started = trio.current_time()
            connection.exchange_deadline = started + self.limits.exchange_timeout
            if tls:
                connection.until_exchange_end()
            if isinstance(received, RequestHead):
                reader = connection.direct or reader_of(
                    client, received.headers, self.trusted_proxies, "https" if tls else "http"
                )
                exchange.client = reader.address
                if reader.address != client and not self.gate.hold(reader.address):
                    # A reader behind a front: the per-address cap counts its open requests.
                    response = responses.too_many_requests(self.mirror, 1.0)
                else:
                    held = reader.address if reader.address != client else None
                    request = self._request(received, reader, exchange)
                    if isinstance(request, Response):
                        response = request
                    elif (self.https is None or tls) and (
                        kept := self.mirror.cached(request)
                    ) is not None:
                        # A page answered before is answered again at once, on the event
                        # loop, while its files and rules hold.
                        response = kept
                    else:
                        response, source = await self._answer(
                            request, received.target, connection
                        )
            else:
                response = received
            close = last or (
                isinstance(received, RequestHead)
                and not keeps_alive(received.version, received.headers)
            )
            await self._send(connection, response, source, exchange, close)
            return not exchange.closing
        except SendTimeout as error:
            logger.info("%s: %s%s dropped: %s", client, exchange.host, exchange.path, error)
            with contextlib.suppress(OSError):
                stream.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE
                )
            return False
        except _SourceFailed as error:
            logger.error("%s: %s", client, error)
            return False
        except (_PeerGone, *_TRANSPORT_ERRORS):
            raise
        except Exception:
            logger.exception("%s: answering %s%s failed", client, exchange.host, exchange.path)
            if exchange.status is None:
                await self._send_internal_error(connection, exchange)
            return False
        finally:
            if held is not None:
                self.gate.unhold(held)
            if source is not None:
                await source.aclose()
            if exchange.status is not None:
                record = AccessRecord(
                    exchange.client,
                    exchange.host,
                    exchange.path,
                    exchange.status,
                    exchange.bytes_sent,
                    trio.current_time() - started,
                    "https" if tls else PROTOCOL,
                )
                self.access_log.write(record)
                self.metrics.request(record)
                if record.status == _TOO_MANY_REQUESTS:
                    self.metrics.refused(PROTOCOL, "requests_per_second")

    async def _read(
        self, transport: trio.abc.Stream, incoming: _Incoming, exchange: _Exchange
    ) -> RequestHead | Response:
        """Read a request head and its (discarded) body, or the response refusing it.

        A refusal is sent before the request is read to its end, so it closes the connection.
        """
        limit = self.settings.max_header_bytes
        searched = 0
        while (head := request_head(incoming.data, limit, searched)) is None:
            if incoming.closed:
                if incoming.data:
                    return responses.bad_request(self.mirror)
                raise _PeerGone
            searched = len(incoming.data)
            await incoming.receive(transport)
        if isinstance(head, Refusal):
            return _REFUSALS[head](self.mirror)
        del incoming.data[: len(head)]
        try:
            request = parse_head(head)
        except UnknownMethod:
            return responses.method_not_allowed(self.mirror)
        except UnknownVersion:
            return responses.version_not_supported(self.mirror)
        except MalformedHead:
            return responses.bad_request(self.mirror)
        exchange.method = request.method
        # llhttp refuses these shapes too; checked here as well, where framing is declared.
        refusal = (request.framed and smuggling_refusal(head)) or version_refusal(request.version)
        if refusal is not None:
            return _REFUSALS[refusal](self.mirror)
        if request.body_length == 0:
            exchange.whole = True
            return request
        if request.body_length > self.settings.max_body_bytes:
            # Refused at once: waiting for a body the mirror would not read costs a slot
            # for nothing.
            return responses.content_too_large(self.mirror)
        if request.body_length == CHUNKED:
            # Its end is only found by parsing past it: the answer closes the connection.
            return await self._skip_chunked_body(transport, incoming, request)
        await self._skip_body(transport, incoming, request.body_length)
        exchange.whole = True
        return request

    async def _skip_body(
        self, transport: trio.abc.Stream, incoming: _Incoming, length: int
    ) -> None:
        """Read and drop a body of `length` bytes."""
        while True:
            taken = min(length, len(incoming.data))
            del incoming.data[:taken]
            length -= taken
            if length == 0:
                return
            if incoming.closed:
                raise _PeerGone
            await incoming.receive(transport)

    async def _skip_chunked_body(
        self, transport: trio.abc.Stream, incoming: _Incoming, request: RequestHead
    ) -> RequestHead | Response:
        """Read and drop a chunked body within the body limit; the request, or the refusal."""
        try:
            while True:
                feed_chunked_body(request, bytes(incoming.data))
                incoming.data.clear()
                if request.chunked_bytes > self.settings.max_body_bytes:
                    return responses.content_too_large(self.mirror)
                if request.complete:
                    return request
                if incoming.closed:
                    raise _PeerGone
                await incoming.receive(transport)
        except MalformedHead:
            return responses.bad_request(self.mirror)

    def _request(
        self, head: RequestHead, reader: Reader, exchange: _Exchange
    ) -> Request | Response:
        """The request to answer from the mirror, or the response refusing it."""
        request = parse_request(head.method, head.target, head.headers, self.hosts, reader)
        # Never the query: it carries what readers search for.
        exchange.path = head.target.partition(b"?")[0].decode("ascii", errors="replace")
        if isinstance(request, Refusal):
            # After a malformed request, where the next one starts is anybody's guess.
            exchange.whole = exchange.whole and request is not Refusal.MALFORMED
            return _REFUSALS[request](self.mirror)
        exchange.host = request.host
        wait = self.rate.retry_after(reader.address, trio.current_time())
        if wait is not None:
            return responses.too_many_requests(self.mirror, wait)
        return request

    async def _answer(
        self, request: Request, target: bytes, connection: _Connection
    ) -> tuple[Response, OpenedFile | None]:
        """The response to a request for `target` that no kept response answers, with its file
        already open if it streams one."""
        if self.https is not None and not connection.tls:
            # Plain HTTP only answers ACME's challenges; everything else moves to HTTPS.
            token = challenge_token(request.path)
            if token is None:
                asked = target.decode("ascii", errors="replace")  # the query goes too
                return secure.to_https(request.origin or "", asked, self.https.port), None
            connection.until_exchange_end()
            found = await trio.to_thread.run_sync(self.https.challenges.lookup, token)
            return secure.challenge_answer(self.mirror, found), None
        # Not kept: resolving and rendering read the disk and take CPU, off the event loop.
        # Work that grows with the capsule waits for one of a few threads, leaving the rest
        # to others.
        connection.until_exchange_end()
        response = await trio.to_thread.run_sync(self.mirror.respond_at_once, request)
        if response is None:
            response = await trio.to_thread.run_sync(
                self.mirror.respond, request, limiter=self.long_work
            )
        if not isinstance(response.body, File):
            return response, None
        connection.until_exchange_end()
        opened = await open_file(response.body)
        if isinstance(opened, NotFound | Unavailable):
            return self.mirror.response_for(
                opened, capsule_target(request.path), request.host
            ), None
        return response, opened

    async def _send(
        self,
        connection: _Connection,
        response: Response,
        source: OpenedFile | None,
        exchange: _Exchange,
        close: bool,
    ) -> None:
        transport = connection.transport
        extra: list[tuple[str, str]] = []
        if connection.tls:
            extra += secure.hsts(self.https_settings.hsts_max_age)
        closing = close or self._stopping or not exchange.whole
        if closing:
            extra.append(("Connection", "close"))
        head = head_bytes(response.status, self.date.lines(), response.headers, extra)
        exchange.status, exchange.closing = response.status, closing
        if exchange.method == b"HEAD":
            await _send(transport, head, exchange)
        elif isinstance(response.body, File):
            await _send(transport, head, exchange)
            if source is not None:
                await self._stream_file(transport, source, response.body, exchange)
        else:
            await _send(transport, head + response.body, exchange)  # one write, small answers

    async def _send_internal_error(self, connection: _Connection, exchange: _Exchange) -> None:
        """Answer 500 and close, as far as the connection still allows."""
        error = responses.internal_error(self.mirror)
        with (
            contextlib.suppress(UnsafeHeader, *_TRANSPORT_ERRORS),
            trio.move_on_after(self.limits.exchange_timeout),
        ):
            await self._send(connection, error, None, exchange, close=True)

    async def _stream_file(
        self,
        transport: trio.abc.Stream,
        source: OpenedFile,
        file: File,
        exchange: _Exchange,
    ) -> None:
        remaining = file.size
        while remaining > 0:
            try:
                chunk = await source.read(min(self.limits.chunk_size, remaining))
            except OSError as error:
                raise _SourceFailed(f"reading {file.path} failed: {error}") from error
            if not chunk:
                raise _SourceFailed(f"reading {file.path} failed: {remaining} bytes short")
            remaining -= len(chunk)
            await _send(transport, chunk, exchange)


async def _send(transport: trio.abc.Stream, data: bytes, exchange: _Exchange) -> None:
    await transport.send_all(data)
    exchange.bytes_sent += len(data)
