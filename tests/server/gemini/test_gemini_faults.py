"""A fault inside one Gemini exchange stays in that exchange: answered or closed, logged once."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import trio

from capsule.articles import Article
from capsule.resources import Feed, Resource
from capsule.root import Capsule
from capsule.rules.access import ClientIdentity
from server.settings.config import LimitSettings
from tests.harness import (
    RunningServer,
    StartServer,
    client_context,
    fail_reads,
    fetch,
    refuse_opening,
)

ERRORS = "capsule"


def capsule_of(server: RunningServer) -> Capsule:
    return server.server.site.capsules["localhost"]


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ERRORS and r.levelno >= 40]


async def assert_still_serving(server: RunningServer) -> None:
    response = await fetch(server.port, f"gemini://localhost:{server.port}/")
    assert response.status == 20
    assert response.body.startswith(b"# Welcome")


async def test_unreadable_file_is_40_with_one_line_naming_it(
    start_server: StartServer,
    capsule_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await start_server()
    locked = (capsule_root / "data.bin").resolve()
    refuse_opening(monkeypatch, locked)
    response = await fetch(server.port, f"gemini://localhost:{server.port}/data.bin")
    assert response.header == b"40 Temporarily unavailable"
    assert response.close_notify
    assert error_lines(caplog) == [f"cannot open {locked}: Permission denied"]
    await assert_still_serving(server)


async def test_file_that_vanished_after_resolving_is_51(
    start_server: StartServer, capsule_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await start_server()
    capsule = capsule_of(server)
    resolve = capsule.resolve_at_once

    def resolve_then_delete(
        path: str, query: str | None = None, identity: ClientIdentity | None = None
    ) -> Resource | None:
        resource = resolve(path, query, identity)
        (capsule_root / "data.bin").unlink()
        return resource

    monkeypatch.setattr(capsule, "resolve_at_once", resolve_then_delete)
    response = await fetch(server.port, f"gemini://localhost:{server.port}/data.bin")
    assert response.status == 51
    monkeypatch.undo()
    await assert_still_serving(server)


async def test_capsule_raising_while_rendering_a_page_is_40_in_that_exchange_only(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    capsule = capsule_of(server)
    resolve = capsule.resolve
    # The body is made before the header is sent, so a failure to render it is still answered.
    broken: Any = Article("/2026/x.gmi", None, "no date")

    def broken_feed(
        path: str, query: str | None = None, identity: ClientIdentity | None = None
    ) -> Resource:
        if path == "/atom.xml":
            return Feed("Feed", path, (broken,))
        return resolve(path, query, identity)

    monkeypatch.setattr(capsule, "resolve", broken_feed)
    response = await fetch(server.port, f"gemini://localhost:{server.port}/atom.xml")
    assert response.header == b"40 Temporary failure"
    [line] = error_lines(caplog)
    assert line.startswith("127.0.0.1: answering localhost/atom.xml failed")
    await assert_still_serving(server)


async def test_capsule_raising_before_the_header_is_40(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()

    def explode(
        path: str, query: str | None = None, identity: ClientIdentity | None = None
    ) -> Resource:
        raise RuntimeError("on purpose")

    monkeypatch.setattr(capsule_of(server), "resolve_at_once", explode)
    response = await fetch(server.port, f"gemini://localhost:{server.port}/docs/")
    assert response.header == b"40 Temporary failure"
    assert len(error_lines(caplog)) == 1
    monkeypatch.undo()
    await assert_still_serving(server)


async def test_read_error_mid_file_closes_the_exchange_and_logs_the_path(
    start_server: StartServer,
    capsule_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await start_server()
    fail_reads(monkeypatch)
    response = await fetch(server.port, f"gemini://localhost:{server.port}/data.bin")
    assert response.header == b"20 application/octet-stream"
    assert response.body == b""
    path = (capsule_root / "data.bin").resolve()
    expected = f"127.0.0.1: reading {path} failed: [Errno 5] Input/output error"
    assert error_lines(caplog) == [expected]
    monkeypatch.undo()
    await assert_still_serving(server)


# --- send timeout -------------------------------------------------------------------------------

BIG = 8 * 1024 * 1024  # more than the kernel buffers between the server and a small window


async def open_small_window(port: int) -> trio.SSLStream[trio.SocketStream]:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sock.connect(("127.0.0.1", port))
    tls = trio.SSLStream(trio.SocketStream(sock), client_context(), server_hostname="localhost")
    await tls.do_handshake()
    return tls


async def test_client_that_takes_no_bytes_is_dropped_after_the_send_timeout(
    start_server: StartServer, capsule_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, ERRORS)
    (capsule_root / "big.bin").write_bytes(b"\0" * BIG)
    server = await start_server(LimitSettings(requests_per_second=0, send_timeout=0.5))
    tls = await open_small_window(server.port)
    await tls.send_all(f"gemini://localhost:{server.port}/big.bin\r\n".encode())
    with trio.fail_after(10):
        while not any("dropped" in r.getMessage() for r in caplog.records):
            await trio.sleep(0.05)
    received = bytearray()
    with trio.fail_after(10):
        try:
            while chunk := await tls.receive_some(65536):
                received += chunk
        except trio.BrokenResourceError:
            pass  # the server closed the socket under the unread bytes
    assert received.startswith(b"20 application/octet-stream\r\n")
    assert len(received) < BIG
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped == ["127.0.0.1: localhost/big.bin dropped: the client took no bytes for 0.5s"]
    await assert_still_serving(server)


async def test_slow_reader_that_keeps_reading_gets_the_whole_file(
    start_server: StartServer, capsule_root: Path
) -> None:
    size = 6 * 1024 * 1024
    (capsule_root / "big.bin").write_bytes(b"\1" * size)
    server = await start_server(LimitSettings(requests_per_second=0, send_timeout=1.0))
    tls = await open_small_window(server.port)
    await tls.send_all(f"gemini://localhost:{server.port}/big.bin\r\n".encode())
    received = 0
    started = trio.current_time()
    with trio.fail_after(30):
        while chunk := await tls.receive_some(65536):
            received += len(chunk)
            if received % (1024 * 1024) < len(chunk):
                await trio.sleep(0.4)  # the reader pauses, but never for a whole send timeout
    # The transfer outlasted the send timeout several times over and was not cut short.
    assert trio.current_time() - started > 2.0
    assert received == size + len(b"20 application/octet-stream\r\n")


async def test_anything_raised_in_a_connection_handler_stops_at_the_connection(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    admit = server.server.gate.admit
    calls = 0

    def fail_once(client: str) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("on purpose, outside any exchange")
        return admit(client)

    monkeypatch.setattr(server.server.gate, "admit", fail_once)
    with trio.fail_after(10):
        tcp = await trio.open_tcp_stream("127.0.0.1", server.port)
        assert await tcp.receive_some(1) == b""  # closed without an answer
    assert error_lines(caplog) == ["127.0.0.1: connection failed"]
    await assert_still_serving(server)
