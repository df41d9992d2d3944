"""The mirror's HTTP/1.1 listener on trio and h11: accept, read requests, stream answers."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

import h11
import trio

from capsule.resources import File, NotFound, Unavailable
from server.accesslog import ERROR_LOGGER, AccessLog, AccessRecord
from server.admission import admission_for, apply_limits
from server.listening import accept_until, client_address
from server.metrics.counting import Metrics
from server.mirror import responses
from server.mirror.links import capsule_target
from server.mirror.request import (
    HostNames,
    Refusal,
    parse_request,
    request_head,
    smuggling_refusal,
)
from server.mirror.responses import Mirror, Response
from server.opening import OpenedFile, open_file
from server.send_deadline import SendDeadlineStream, SendTimeout
from server.settings.config import LimitSettings, MirrorSettings

logger = logging.getLogger(ERROR_LOGGER)

RECEIVE_BYTES = 16 * 1024
SERVER_NAME = b"capsule"
_TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError)
PROTOCOL = "http"
_REFUSALS: dict[Refusal, Callable[[Mirror], Response]] = {
    Refusal.MALFORMED: responses.bad_request,
    Refusal.METHOD: responses.method_not_allowed,
    Refusal.HOST: responses.misdirected,
    Refusal.HEAD_TOO_LARGE: responses.headers_too_large,
}
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)
"""SO_LINGER on, zero seconds: close with a reset and drop what the client never took."""


class _PeerGone(Exception):
    """The client closed the connection or never finished its request in time."""


class _SourceFailed(Exception):
    """The file being streamed failed or ended early, after its header was sent."""


@dataclass(slots=True)
class _Exchange:
    """One request on a connection, for the access log."""

    method: bytes = b"GET"
    host: str = ""
    path: str = ""
    status: int | None = None
    bytes_sent: int = 0


class MirrorServer:
    """Serves the mirror over HTTP/1.1 with keep-alive, under the configured limits."""

    def __init__(
        self,
        mirror: Mirror,
        hosts: HostNames,
        limits: LimitSettings,
        settings: MirrorSettings,
        access_log: AccessLog,
        metrics: Metrics | None = None,
    ) -> None:
        self.mirror = mirror
        self.metrics = metrics if metrics is not None else Metrics()
        self.hosts = hosts
        self.limits = limits
        self.settings = settings
        self.access_log = access_log
        self.gate, self.rate = admission_for(limits)
        self._waiting: set[trio.CancelScope] = set()
        self._stopping = False

    def reconfigure(
        self, mirror: Mirror, hosts: HostNames, limits: LimitSettings, settings: MirrorSettings
    ) -> None:
        """Serve new requests from `mirror` under `limits`; open connections keep going."""
        self.mirror, self.hosts, self.limits, self.settings = mirror, hosts, limits, settings
        apply_limits(self.gate, self.rate, limits)

    async def serve(self, listeners: Sequence[trio.SocketListener], shutdown: trio.Event) -> None:
        """Accept until `shutdown` is set, then close idle connections and drain the others."""
        await accept_until(
            listeners,
            self.handle_connection,
            shutdown,
            lambda: self.limits.drain_timeout,
            self._close_idle_connections,
        )

    def _close_idle_connections(self) -> None:
        self._stopping = True
        for scope in self._waiting:
            scope.cancel()

    async def handle_connection(self, stream: trio.SocketStream) -> None:
        """Serve requests on one connection until either side closes it or it idles out.

        The connection is a boundary: whatever fails inside it is answered or closed, logged
        once, and ends here.
        """
        client = client_address(stream)
        if not self.gate.admit(client):
            self.metrics.refused(PROTOCOL, self.gate.refusal(client))
            await trio.aclose_forcefully(stream)
            return
        self.metrics.opened(PROTOCOL)
        try:
            await self._serve_connection(stream, client)
        except Exception:
            logger.exception("%s: connection failed", client)
        finally:
            self.gate.release(client)
            self.metrics.closed(PROTOCOL)
            await trio.aclose_forcefully(stream)

    async def _serve_connection(self, stream: trio.SocketStream, client: str) -> None:
        transport = SendDeadlineStream(stream, self.limits.send_timeout)
        connection = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self.settings.max_header_bytes
        )
        timeout = self.limits.request_timeout
        try:
            served = 0
            while not self._stopping:
                served += 1
                last = served >= self.settings.max_requests_per_connection
                if not await self._exchange(transport, connection, client, timeout, last):
                    break
                connection.start_next_cycle()
                timeout = self.settings.keepalive_timeout
        except (_PeerGone, *_TRANSPORT_ERRORS):
            pass
        except h11.LocalProtocolError as error:
            logger.warning("%s: response aborted: %s", client, error)

    async def _exchange(
        self,
        transport: SendDeadlineStream,
        connection: h11.Connection,
        client: str,
        timeout: float,
        last: bool,
    ) -> bool:
        """Read one request and answer it; True if the connection can carry another."""
        started = trio.current_time()
        exchange = _Exchange()
        source: OpenedFile | None = None
        try:
            received = await self._read(transport, connection, exchange, timeout)
            if isinstance(received, h11.Request):
                response, source = await self._answer(received, client, exchange)
            else:
                response = received
            with trio.move_on_after(self.limits.exchange_timeout) as scope:
                await self._send(transport, connection, response, source, exchange, last)
            return not scope.cancelled_caught and _reusable(connection)
        except SendTimeout as error:
            logger.info("%s: %s%s dropped: %s", client, exchange.host, exchange.path, error)
            with contextlib.suppress(OSError):
                transport.transport_stream.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE
                )
            return False
        except _SourceFailed as error:
            logger.error("%s: %s", client, error)
            return False
        except (_PeerGone, h11.LocalProtocolError, *_TRANSPORT_ERRORS):
            raise
        except Exception:
            logger.exception("%s: answering %s%s failed", client, exchange.host, exchange.path)
            if exchange.status is None:
                await self._send_internal_error(transport, connection, exchange)
            return False
        finally:
            if source is not None:
                await source.aclose()
            if exchange.status is not None:
                record = AccessRecord(
                    client,
                    exchange.host,
                    exchange.path,
                    exchange.status,
                    exchange.bytes_sent,
                    trio.current_time() - started,
                    PROTOCOL,
                )
                self.access_log.write(record)
                self.metrics.request(record)
                if record.status == HTTPStatus.TOO_MANY_REQUESTS:
                    self.metrics.refused(PROTOCOL, "requests_per_second")

    async def _read(
        self,
        transport: trio.abc.Stream,
        connection: h11.Connection,
        exchange: _Exchange,
        timeout: float,
    ) -> h11.Request | Response:
        """Read a request head and its (discarded) body, or the response refusing it.

        A refusal is sent before the request is read to its end, so it closes the connection.
        """
        with trio.CancelScope(deadline=trio.current_time() + timeout) as scope:
            self._waiting.add(scope)
            try:
                head = await self._next_request(transport, connection, exchange)
                if isinstance(head, Refusal):
                    return _REFUSALS[head](self.mirror)
                body = 0
                while not isinstance(
                    event := await _next_event(transport, connection), h11.EndOfMessage
                ):
                    if isinstance(event, h11.Data):
                        body += len(event.data)
                        if body > self.settings.max_body_bytes:
                            return responses.content_too_large(self.mirror)
                return head
            except h11.RemoteProtocolError as error:
                if error.error_status_hint == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
                    return responses.headers_too_large(self.mirror)
                return responses.bad_request(self.mirror)
            finally:
                self._waiting.discard(scope)
        raise _PeerGone  # the deadline passed

    async def _next_request(
        self, transport: trio.abc.Stream, connection: h11.Connection, exchange: _Exchange
    ) -> h11.Request | Refusal:
        """The next request head, once all of it is in; refused if it is over the size limit
        (h11 only bounds what it holds unparsed) or shaped to smuggle a second request."""
        data = bytearray(connection.trailing_data[0])
        searched = 0
        limit = self.settings.max_header_bytes
        while (head := request_head(data, limit, searched)) is None:
            if connection.next_event() is not h11.NEED_DATA:
                raise _PeerGone
            searched = len(data)
            chunk = bytes(await transport.receive_some(RECEIVE_BYTES))
            connection.receive_data(chunk)
            data += chunk
        if isinstance(head, Refusal):
            return head
        event = connection.next_event()
        if not isinstance(event, h11.Request):
            raise _PeerGone
        exchange.method = event.method
        refusal = smuggling_refusal(head)
        return event if refusal is None else refusal

    async def _answer(
        self, head: h11.Request, client: str, exchange: _Exchange
    ) -> tuple[Response, OpenedFile | None]:
        """The response to a request, with its file already open if it streams one."""
        request = parse_request(head.method, head.target, head.headers, self.hosts)
        exchange.path = head.target.decode("ascii", errors="replace")
        if isinstance(request, Refusal):
            return _REFUSALS[request](self.mirror), None
        exchange.host = request.host
        wait = self.rate.retry_after(client, trio.current_time())
        if wait is not None:
            return responses.too_many_requests(self.mirror, wait), None
        # Resolving and rendering read the disk and take CPU: off the event loop.
        response = await trio.to_thread.run_sync(self.mirror.respond, request)
        if not isinstance(response.body, File):
            return response, None
        opened = await open_file(response.body)
        if isinstance(opened, NotFound | Unavailable):
            target = capsule_target(request.path)
            return self.mirror.response_for(opened, target, request.host), None
        return response, opened

    async def _send(
        self,
        transport: trio.abc.Stream,
        connection: h11.Connection,
        response: Response,
        source: OpenedFile | None,
        exchange: _Exchange,
        close: bool,
    ) -> None:
        if connection.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        headers = [
            ("Date", formatdate(usegmt=True)),
            ("Server", SERVER_NAME.decode()),
            *response.headers,
        ]
        if close or self._stopping or connection.their_state is not h11.DONE:
            headers.append(("Connection", "close"))
        exchange.status = response.status
        reason = HTTPStatus(response.status).phrase
        head = h11.Response(status_code=response.status, headers=headers, reason=reason)
        await _send(transport, connection, head, exchange)
        if exchange.method != b"HEAD":
            if isinstance(response.body, File) and source is not None:
                await self._stream_file(transport, connection, source, response.body, exchange)
            elif isinstance(response.body, bytes) and response.body:
                await _send(transport, connection, h11.Data(data=response.body), exchange)
        await _send(transport, connection, h11.EndOfMessage(), exchange)

    async def _send_internal_error(
        self, transport: trio.abc.Stream, connection: h11.Connection, exchange: _Exchange
    ) -> None:
        """Answer 500 and close, as far as the connection still allows."""
        error = responses.internal_error(self.mirror)
        with (
            contextlib.suppress(h11.LocalProtocolError, *_TRANSPORT_ERRORS),
            trio.move_on_after(self.limits.exchange_timeout),
        ):
            await self._send(transport, connection, error, None, exchange, close=True)

    async def _stream_file(
        self,
        transport: trio.abc.Stream,
        connection: h11.Connection,
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
            await _send(transport, connection, h11.Data(data=chunk), exchange)


def _reusable(connection: h11.Connection) -> bool:
    return connection.our_state is h11.DONE and connection.their_state is h11.DONE


async def _next_event(transport: trio.abc.Stream, connection: h11.Connection) -> h11.Event:
    while True:
        event = connection.next_event()
        if event is h11.PAUSED:
            raise _PeerGone
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        connection.receive_data(bytes(await transport.receive_some(RECEIVE_BYTES)))


async def _send(
    transport: trio.abc.Stream, connection: h11.Connection, event: h11.Event, exchange: _Exchange
) -> None:
    data = connection.send(event)
    if data:
        await transport.send_all(data)
        exchange.bytes_sent += len(data)
