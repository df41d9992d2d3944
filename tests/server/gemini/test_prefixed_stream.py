"""PrefixedStream: bytes read ahead come back first, and TLS runs over it on real sockets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trio
import trio.testing

from certs import HostContexts, ensure_identity, session_context
from server.prefixed_stream import PrefixedStream
from server.proxy_protocol import ProxyHeader, ProxyHeaderReader
from server.tls_stream import TLSStream
from tests.harness import client_context

Pair = tuple[trio.abc.HalfCloseableStream, trio.abc.HalfCloseableStream]


ServerTLS = Callable[[trio.abc.Stream], TLSStream]


@pytest.fixture
def server_tls(tmp_path: Path) -> ServerTLS:
    hosts = HostContexts({"localhost": ensure_identity("localhost", tmp_path)}, "localhost")
    session = session_context()
    return lambda transport: TLSStream(transport, session, hosts)


async def test_prefix_is_received_before_the_transport() -> None:
    left, right = trio.testing.memory_stream_pair()
    stream = PrefixedStream(right, b"early ")
    await left.send_all(b"late")
    assert await stream.receive_some() == b"early "
    assert await stream.receive_some() == b"late"


async def test_max_bytes_splits_the_prefix() -> None:
    _, right = trio.testing.memory_stream_pair()
    stream = PrefixedStream(right, b"abcde")
    assert [await stream.receive_some(2) for _ in range(3)] == [b"ab", b"cd", b"e"]


async def test_zero_max_bytes_is_refused_while_a_prefix_is_left() -> None:
    _, right = trio.testing.memory_stream_pair()
    with pytest.raises(ValueError, match="max_bytes"):
        await PrefixedStream(right, b"abc").receive_some(0)


async def test_sending_and_eof_go_to_the_transport() -> None:
    left, right = trio.testing.memory_stream_pair()
    stream = PrefixedStream(right, b"unread")
    await stream.wait_send_all_might_not_block()
    await stream.send_all(b"reply")
    await stream.send_eof()
    assert await left.receive_some() == b"reply"
    assert await left.receive_some() == b""


async def test_aclose_drops_the_prefix_and_closes_the_transport() -> None:
    _, right = trio.testing.memory_stream_pair()
    stream = PrefixedStream(right, b"unread")
    await stream.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await stream.receive_some()
    with pytest.raises(trio.ClosedResourceError):
        await right.send_all(b"x")


async def test_with_an_empty_prefix_it_is_a_conforming_half_closeable_stream() -> None:
    async def make_pair() -> Pair:
        left, right = trio.testing.memory_stream_pair()
        return PrefixedStream(left, b""), PrefixedStream(right, b"")

    async def make_clogged_pair() -> Pair:
        left, right = trio.testing.lockstep_stream_pair()
        return PrefixedStream(left, b""), PrefixedStream(right, b"")

    # The clogged in-memory pair cannot itself detect send_eof racing send_all, so it only
    # serves the two-way checks.
    await trio.testing.check_two_way_stream(make_pair, make_clogged_pair)
    await trio.testing.check_half_closeable_stream(make_pair, None)


async def test_tls_handshake_completes_when_the_client_hello_starts_in_the_prefix(
    server_tls: ServerTLS,
) -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    client = await trio.testing.open_stream_to_socket_listener(listener)
    server = await listener.accept()
    client_tls = trio.SSLStream(client, client_context(), server_hostname="localhost")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client_tls.do_handshake)
        prefix = await server.receive_some(7)
        tls = server_tls(PrefixedStream(server, prefix))
        await tls.do_handshake()
    assert prefix[:1] == b"\x16"
    await client_tls.send_all(b"gemini://localhost/\r\n")
    assert await tls.receive_some() == b"gemini://localhost/\r\n"
    await trio.aclose_forcefully(client_tls)
    await trio.aclose_forcefully(tls)
    await listener.aclose()


async def test_tls_after_a_proxy_header_read_in_the_same_chunk(
    server_tls: ServerTLS,
) -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    client = await trio.testing.open_stream_to_socket_listener(listener)
    server = await listener.accept()
    await client.send_all(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 1965\r\n")
    client_tls = trio.SSLStream(client, client_context(), server_hostname="localhost")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client_tls.do_handshake)
        # Once the client waits for the ServerHello, its ClientHello is in our receive buffer.
        await trio.testing.wait_all_tasks_blocked()
        reader = ProxyHeaderReader()
        header = reader.feed(await server.receive_some())
        assert header == ProxyHeader(("192.0.2.1", 56324), ("198.51.100.2", 1965))
        assert reader.remainder()[:1] == b"\x16"
        tls = server_tls(PrefixedStream(server, reader.remainder()))
        await tls.do_handshake()
    await tls.send_all(b"20 text/gemini\r\n")
    assert await client_tls.receive_some() == b"20 text/gemini\r\n"
    await trio.aclose_forcefully(client_tls)
    await trio.aclose_forcefully(tls)
    await listener.aclose()
