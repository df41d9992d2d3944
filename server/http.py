"""The mirror's HTTP/1.1 listener on trio and h11: accept, read requests, stream answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

import h11
import trio

from capsule.resources import File
from server import mirror as responses
from server.accesslog import ERROR_LOGGER, AccessLog, AccessRecord
from server.admission import admission_for, apply_limits
from server.config import Limits, MirrorConfig
from server.listening import accept_until, client_address
from server.mirror import Mirror, Request, Response
from server.mirror_request import HostNames, Refusal, parse_request

logger = logging.getLogger(ERROR_LOGGER)

RECEIVE_BYTES = 16 * 1024
SERVER_NAME = b"capsule"
_TRANSPORT_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError)
_REFUSALS: dict[Refusal, Callable[[Mirror], Response]] = {
    Refusal.MALFORMED: responses.bad_request,
    Refusal.METHOD: responses.method_not_allowed,
    Refusal.HOST: responses.misdirected,
}


class _PeerGone(Exception):
    """The client closed the connection or never finished its request in time."""


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
        limits: Limits,
        settings: MirrorConfig,
        access_log: AccessLog,
    ) -> None:
        self.mirror = mirror
        self.hosts = hosts
        self.limits = limits
        self.settings = settings
        self.access_log = access_log
        self.gate, self.rate = admission_for(limits)
        self._waiting: set[trio.CancelScope] = set()
        self._stopping = False

    def reconfigure(
        self, mirror: Mirror, hosts: HostNames, limits: Limits, settings: MirrorConfig
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
        """Serve requests on one connection until either side closes it or it idles out."""
        client = client_address(stream)
        if not self.gate.admit(client):
            await trio.aclose_forcefully(stream)
            return
        connection = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self.settings.max_header_bytes
        )
        try:
            timeout = self.limits.request_timeout
            while not self._stopping:
                if not await self._exchange(stream, connection, client, timeout):
                    break
                connection.start_next_cycle()
                timeout = self.settings.keepalive_timeout
        except (_PeerGone, *_TRANSPORT_ERRORS):
            pass
        except h11.LocalProtocolError as error:
            logger.warning("%s: response aborted: %s", client, error)
        finally:
            self.gate.release(client)
            await trio.aclose_forcefully(stream)

    async def _exchange(
        self,
        stream: trio.SocketStream,
        connection: h11.Connection,
        client: str,
        timeout: float,
    ) -> bool:
        """Read one request and answer it; True if the connection can carry another."""
        started = trio.current_time()
        exchange = _Exchange()
        try:
            received = await self._read(stream, connection, exchange, timeout)
            if isinstance(received, h11.Request):
                response = await self._answer(received, client, exchange)
            else:
                response = received
            with trio.move_on_after(self.limits.exchange_timeout) as scope:
                await self._send(stream, connection, response, exchange)
            if scope.cancelled_caught:
                return False
        finally:
            if exchange.status is not None:
                self.access_log.write(
                    AccessRecord(
                        client,
                        exchange.host,
                        exchange.path,
                        exchange.status,
                        exchange.bytes_sent,
                        trio.current_time() - started,
                        "http",
                    )
                )
        return connection.our_state is h11.DONE and connection.their_state is h11.DONE

    async def _read(
        self,
        stream: trio.SocketStream,
        connection: h11.Connection,
        exchange: _Exchange,
        timeout: float,
    ) -> h11.Request | Response:
        """Read a request head and its (discarded) body, or the response refusing it."""
        with trio.CancelScope(deadline=trio.current_time() + timeout) as scope:
            self._waiting.add(scope)
            try:
                event = await _next_event(stream, connection)
                if not isinstance(event, h11.Request):
                    raise _PeerGone
                head = event
                exchange.method = event.method
                body = 0
                while not isinstance(
                    event := await _next_event(stream, connection), h11.EndOfMessage
                ):
                    if isinstance(event, h11.Data):
                        body += len(event.data)
                        if body > self.settings.max_body_bytes:
                            return responses.content_too_large(self.mirror)
            except h11.RemoteProtocolError as error:
                if error.error_status_hint == responses.HEADERS_TOO_LARGE:
                    return responses.headers_too_large(self.mirror)
                return responses.bad_request(self.mirror)
            finally:
                self._waiting.discard(scope)
        if scope.cancelled_caught:
            raise _PeerGone
        return head

    async def _answer(self, head: h11.Request, client: str, exchange: _Exchange) -> Response:
        request = parse_request(head.method, head.target, head.headers, self.hosts)
        exchange.path = head.target.decode("ascii", errors="replace")
        if isinstance(request, Refusal):
            return _REFUSALS[request](self.mirror)
        exchange.host = request.host
        wait = self.rate.retry_after(client, trio.current_time())
        if wait is not None:
            return responses.too_many_requests(self.mirror, wait)
        return await self._respond(request)

    async def _respond(self, request: Request) -> Response:
        """Resolve and render off the event loop (disk and CPU); 500 if that fails."""
        try:
            return await trio.to_thread.run_sync(self.mirror.respond, request)
        except Exception:
            logger.exception("answering %s %s failed", request.host, request.path)
            return responses.internal_error(self.mirror)

    async def _send(
        self,
        stream: trio.SocketStream,
        connection: h11.Connection,
        response: Response,
        exchange: _Exchange,
    ) -> None:
        if connection.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        headers = [
            ("Date", formatdate(usegmt=True)),
            ("Server", SERVER_NAME.decode()),
            *response.headers,
        ]
        if self._stopping or connection.their_state is not h11.DONE:
            headers.append(("Connection", "close"))
        exchange.status = response.status
        reason = HTTPStatus(response.status).phrase
        head = h11.Response(status_code=response.status, headers=headers, reason=reason)
        await _send(stream, connection, head, exchange)
        if exchange.method != b"HEAD":
            if isinstance(response.body, File):
                await self._stream_file(stream, connection, response.body, exchange)
            elif response.body:
                await _send(stream, connection, h11.Data(data=response.body), exchange)
        await _send(stream, connection, h11.EndOfMessage(), exchange)

    async def _stream_file(
        self,
        stream: trio.SocketStream,
        connection: h11.Connection,
        file: File,
        exchange: _Exchange,
    ) -> None:
        remaining = file.size
        async with await trio.open_file(file.path, "rb") as source:
            while remaining > 0:
                chunk = await source.read(min(self.limits.chunk_size, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                await _send(stream, connection, h11.Data(data=chunk), exchange)


async def _next_event(stream: trio.SocketStream, connection: h11.Connection) -> h11.Event:
    while True:
        event = connection.next_event()
        if event is h11.PAUSED:
            raise _PeerGone
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        connection.receive_data(await stream.receive_some(RECEIVE_BYTES))


async def _send(
    stream: trio.SocketStream, connection: h11.Connection, event: h11.Event, exchange: _Exchange
) -> None:
    data = connection.send(event)
    if data:
        await stream.send_all(data)
        exchange.bytes_sent += len(data)
