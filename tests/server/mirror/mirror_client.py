"""A small HTTP/1.1 client on h11 for the mirror tests, keeping its connection alive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h11
import trio

TIMEOUT = 10


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers (names in lower case) and the whole body of one response."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class HttpClient:
    """One TCP connection to the mirror carrying any number of requests in turn."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.connection = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, port: int) -> HttpClient:
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    async def request(
        self,
        target: str,
        method: str = "GET",
        headers: Sequence[tuple[str, str]] = (),
        host: str = "localhost",
    ) -> HttpResponse:
        if self.connection.our_state is h11.DONE:
            self.connection.start_next_cycle()
        with trio.fail_after(TIMEOUT):
            await self._send(h11.Request(method=method, target=target,
                                         headers=[("Host", host), *headers]))
            await self._send(h11.EndOfMessage())
            head = await self._next()
            assert isinstance(head, h11.Response), head
            body = bytearray()
            while not isinstance(event := await self._next(), h11.EndOfMessage):
                assert isinstance(event, h11.Data), event
                body += event.data
        fields = {name.decode().lower(): value.decode("latin-1") for name, value in head.headers}
        return HttpResponse(head.status_code, fields, bytes(body))

    @property
    def reusable(self) -> bool:
        return self.connection.our_state is h11.DONE and self.connection.their_state is h11.DONE

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def _send(self, event: h11.Event) -> None:
        data = self.connection.send(event)
        if data:
            await self.stream.send_all(data)

    async def _next(self) -> h11.Event:
        while (event := self.connection.next_event()) is h11.NEED_DATA:
            self.connection.receive_data(await self.stream.receive_some(65536))
        assert not isinstance(event, type), event
        return event


async def fetch(
    port: int,
    target: str,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    host: str = "localhost",
) -> HttpResponse:
    """One request on a fresh connection."""
    client = await HttpClient.connect(port)
    try:
        return await client.request(target, method, headers, host)
    finally:
        await client.aclose()


async def send_raw(port: int, data: bytes) -> bytes:
    """Send bytes as they are and read everything until the server closes."""
    with trio.fail_after(TIMEOUT):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(data)
        received = bytearray()
        try:
            while chunk := await stream.receive_some(65536):
                received += chunk
        except trio.BrokenResourceError:
            pass  # a reset after the server closed with our bytes unread
        await stream.aclose()
    return bytes(received)


def status_of(raw: bytes) -> int:
    """The status code on the first line of a raw response."""
    return int(raw.split(b" ", 2)[1])
