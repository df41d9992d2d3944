"""The mirror against hostile or broken peers and faults on disk, over real sockets."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h11
import pytest
import trio

from capsule.resources import File, Resource
from server.settings.config import LimitSettings
from tests.harness import fail_reads, refuse_opening
from tests.server.mirror.conftest import ScriptedCapsule, StartMirror
from tests.server.mirror.mirror_client import HttpClient, fetch, send_raw, status_of

ERRORS = "capsule"
SMUGGLED = b"GET /about.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
BIG = 1024 * 1024


class LogWatch(logging.Handler):
    """Keeps the error log's own records; sets `seen` when one containing `text` arrives."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.records: list[logging.LogRecord] = []
        self.seen = trio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != ERRORS:
            return  # the access log is a child of the error logger
        self.records.append(record)
        if self.text in record.getMessage():
            self.seen.set()

    def lines(self, level: int) -> list[str]:
        return [record.getMessage() for record in self.records if record.levelno == level]


@pytest.fixture
def dropped() -> Iterator[LogWatch]:
    watch = LogWatch("dropped")
    logger = logging.getLogger(ERRORS)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(watch)
    yield watch
    logger.removeHandler(watch)
    logger.setLevel(level)


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ERRORS and r.levelno >= 40]


async def assert_still_serving(port: int) -> None:
    response = await fetch(port, "/")
    assert response.status == 200
    assert "<h1>Home</h1>" in response.text


async def small_window_client(port: int, window: int) -> trio.SocketStream:
    """A connection whose receive buffer holds `window` bytes, so an unread response backs up."""
    sock = trio.socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, window)
    await sock.connect(("127.0.0.1", port))
    return trio.SocketStream(sock)


async def read_until_closed(stream: trio.SocketStream, pause: float = 0) -> bytes:
    """Everything the server sends until it closes, taking it `pause` seconds apart."""
    received = bytearray()
    with trio.fail_after(30):
        try:
            while chunk := await stream.receive_some(16 * 1024):
                received += chunk
                await trio.sleep(pause)  # the client's pace, not a synchronisation
        except trio.BrokenResourceError:
            pass  # reset by the server
    await stream.aclose()
    return bytes(received)


def head_of_size(size: int) -> bytes:
    """A request head of exactly `size` bytes, its blank line included."""
    start = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Pad: "
    return start + b"x" * (size - len(start) - 4) + b"\r\n\r\n"


# Request smuggling shapes (RFC 9112 5.2, 6.1, 6.3)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"),
        (b"Content-Length: 0\r\nContent-Length: 45\r\n", b""),
        (b"Content-Length: 0, 45\r\n", b""),
        (b"X-Folded: a\r\n b\r\n", b""),
        (b"X-Folded: a\r\n\tb\r\n", b""),
    ],
    ids=["cl-then-te", "te-then-cl", "two-lengths", "length-list", "fold-space", "fold-tab"],
)
async def test_smuggling_shape_is_400_and_nothing_after_it_is_served(
    start_mirror: StartMirror, headers: bytes, body: bytes
) -> None:
    port = await start_mirror()
    raw = await send_raw(
        port, b"GET / HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n" + body + SMUGGLED
    )
    assert status_of(raw) == 400
    assert raw.count(b"HTTP/1.1 ") == 1
    assert b"\r\nconnection: close\r\n" in raw.lower()


async def test_pipelined_requests_are_answered_in_order_on_one_connection(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror()
    close = b"GET /about.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    raw = await send_raw(
        port,
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"HEAD /about.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc"
        + close,
    )
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", raw) == [b"200", b"200", b"200"]


async def test_a_chunked_body_is_read_answered_and_the_connection_closed(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror()
    raw = await send_raw(
        port,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    )
    assert status_of(raw) == 200
    assert raw.count(b"HTTP/1.1 ") == 1
    assert b"\r\nconnection: close\r\n" in raw.lower()


async def test_a_chunked_body_over_the_limit_is_413(start_mirror: StartMirror) -> None:
    port = await start_mirror(max_body_bytes=10)
    raw = await send_raw(
        port,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n",
    )
    assert status_of(raw) == 413


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/3.5"])
async def test_other_http_versions_are_505(start_mirror: StartMirror, version: bytes) -> None:
    port = await start_mirror()
    raw = await send_raw(port, b"GET / " + version + b"\r\nHost: localhost\r\n\r\n")
    assert status_of(raw) == 505


async def test_a_declared_body_over_the_limit_is_413_before_it_is_sent(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror()
    head = b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 70000\r\n\r\n"
    raw = await send_raw(port, head)  # no body follows: the answer must not wait for one
    assert status_of(raw) == 413


async def test_a_host_that_is_no_host_is_400(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    head = b"GET / HTTP/1.1\r\nHost: local host\r\nConnection: close\r\n\r\n"
    raw = await send_raw(port, head)
    assert status_of(raw) == 400


async def test_request_after_a_plain_body_is_served_in_turn(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    second = b"GET /about.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    raw = await send_raw(
        port, b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello" + second
    )
    assert raw.count(b"HTTP/1.1 200 ") == 2
    assert b"<h1>About</h1>" in raw


# max_header_bytes is exact


@pytest.mark.parametrize("limit", [1024, 16 * 1024])
async def test_head_of_exactly_max_header_bytes_is_served(
    start_mirror: StartMirror, limit: int
) -> None:
    port = await start_mirror(max_header_bytes=limit)
    assert status_of(await send_raw(port, head_of_size(limit))) == 200


@pytest.mark.parametrize("limit", [1024, 16 * 1024])
async def test_head_one_byte_over_max_header_bytes_is_431_and_closed(
    start_mirror: StartMirror, limit: int
) -> None:
    port = await start_mirror(max_header_bytes=limit)
    raw = await send_raw(port, head_of_size(limit + 1))
    assert status_of(raw) == 431
    assert b"\r\nconnection: close\r\n" in raw.lower()


async def test_head_of_two_receive_buffers_is_431(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    assert status_of(await send_raw(port, head_of_size(32_000))) == 431


async def test_head_limit_applies_to_each_request_on_a_connection(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror(max_header_bytes=1024)
    first = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    raw = await send_raw(port, first + head_of_size(1025))
    assert [status_of(b"HTTP/1.1 " + part) for part in raw.split(b"HTTP/1.1 ")[1:]] == [200, 431]


# Send timeout


async def test_client_taking_no_bytes_is_dropped_once(
    start_mirror: StartMirror, capsule_root: Path, dropped: LogWatch
) -> None:
    (capsule_root / "big.bin").write_bytes(b"x" * BIG)
    port = await start_mirror(limits=LimitSettings(requests_per_second=0, send_timeout=0.5))
    stream = await small_window_client(port, 4096)
    await stream.send_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
    with trio.fail_after(10):
        await dropped.seen.wait()
    received = await read_until_closed(stream)
    assert len(received) < BIG
    [line] = dropped.lines(logging.INFO)
    assert line == "127.0.0.1: localhost/big.bin dropped: the client took no bytes for 0.5s"
    await assert_still_serving(port)


async def test_slow_reader_that_keeps_reading_gets_everything(
    start_mirror: StartMirror, capsule_root: Path, dropped: LogWatch
) -> None:
    (capsule_root / "big.bin").write_bytes(b"x" * BIG)
    port = await start_mirror(limits=LimitSettings(requests_per_second=0, send_timeout=0.5))
    stream = await small_window_client(port, 16 * 1024)
    await stream.send_all(
        b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    # About 0.8 MB/s: the whole file takes longer than the send timeout, no pause comes near it.
    received = await read_until_closed(stream, pause=0.02)
    assert received.endswith(b"\r\n\r\n" + b"x" * BIG)
    assert not dropped.seen.is_set()


# Requests per keep-alive connection


async def test_last_request_allowed_on_a_connection_closes_it(start_mirror: StartMirror) -> None:
    port = await start_mirror(max_requests_per_connection=3)
    client = await HttpClient.connect(port)
    responses = [await client.request("/") for _ in range(3)]
    assert [r.status for r in responses] == [200, 200, 200]
    assert [r.headers.get("connection") for r in responses] == [None, None, "close"]
    assert client.connection.our_state is h11.MUST_CLOSE
    with trio.fail_after(5):
        assert await client.stream.receive_some(1024) == b""
    await client.aclose()


# Files are opened before the header


def missing_file(tmp_path: Path) -> dict[str, Resource]:
    return {"/vanished.bin": File(tmp_path / "vanished.bin", "application/octet-stream", 5, 0.0)}


async def test_file_vanished_after_resolving_is_404(
    start_mirror: StartMirror, tmp_path: Path
) -> None:
    port = await start_mirror(scripted=missing_file(tmp_path))
    response = await fetch(port, "/vanished.bin")
    assert response.status == 404
    assert "<h1>404 Not found</h1>" in response.text
    await assert_still_serving(port)


async def test_head_of_a_vanished_file_is_404_too(
    start_mirror: StartMirror, tmp_path: Path
) -> None:
    port = await start_mirror(scripted=missing_file(tmp_path))
    assert (await fetch(port, "/vanished.bin", method="HEAD")).status == 404


async def test_unreadable_file_is_503_with_one_line_naming_it(
    start_mirror: StartMirror,
    capsule_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = await start_mirror()
    locked = (capsule_root / "files" / "note.txt").resolve()
    refuse_opening(monkeypatch, locked)
    response = await fetch(port, "/files/note.txt")
    assert response.status == 503
    assert "<h1>503 Temporarily unavailable</h1>" in response.text
    [line] = error_lines(caplog)
    assert str(locked) in line
    await assert_still_serving(port)


async def test_read_error_after_the_header_closes_and_logs_the_path(
    start_mirror: StartMirror,
    capsule_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = await start_mirror()
    fail_reads(monkeypatch)
    raw = await send_raw(port, b"GET /files/note.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
    monkeypatch.undo()
    assert status_of(raw) == 200
    assert raw.endswith(b"\r\n\r\n")  # the header, then the close
    path = capsule_root / "files" / "note.txt"
    assert error_lines(caplog) == [
        f"127.0.0.1: reading {path} failed: [Errno 5] Input/output error"
    ]
    await assert_still_serving(port)


async def test_file_shorter_than_resolved_closes_and_logs_the_path(
    start_mirror: StartMirror, capsule_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = capsule_root / "files" / "note.txt"
    port = await start_mirror(scripted={"/short.txt": File(path, "text/plain", 100, 0.0)})
    raw = await send_raw(port, b"GET /short.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert status_of(raw) == 200
    assert raw.endswith(b"\r\n\r\na note\n")
    assert error_lines(caplog) == [f"127.0.0.1: reading {path} failed: 93 bytes short"]
    await assert_still_serving(port)


# The connection is a boundary


async def test_capsule_raising_while_resolving_is_500(
    start_mirror: StartMirror, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = await start_mirror(scripted={})

    def explode(*args: Any) -> Resource:
        raise RuntimeError("on purpose")

    monkeypatch.setattr(ScriptedCapsule, "resolve", explode)
    response = await fetch(port, "/a/b.html")
    monkeypatch.undo()
    assert response.status == 500
    assert len(error_lines(caplog)) == 1
    await assert_still_serving(port)


async def test_failure_before_the_header_is_500_and_logged_once_with_the_path(
    start_mirror: StartMirror, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = await start_mirror()

    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("on purpose")

    monkeypatch.setattr(trio, "open_file", explode)
    raw = await send_raw(port, b"GET /files/note.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
    monkeypatch.undo()
    assert status_of(raw) == 500
    assert b"\r\nconnection: close\r\n" in raw.lower()
    [line] = error_lines(caplog)
    assert line == "127.0.0.1: answering localhost/files/note.txt failed"
    await assert_still_serving(port)


async def test_failure_after_the_header_closes_only_that_connection(
    start_mirror: StartMirror, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = await start_mirror()
    real_open = trio.open_file

    class ExplodingRead:
        def __init__(self, opened: Any) -> None:
            self.opened = opened

        async def read(self, size: int = -1) -> bytes:
            raise RuntimeError("on purpose")

        async def aclose(self) -> None:
            await self.opened.aclose()

    async def open_exploding(path: Any, *args: Any, **kwargs: Any) -> Any:
        return ExplodingRead(await real_open(path, *args, **kwargs))

    monkeypatch.setattr(trio, "open_file", open_exploding)
    raw = await send_raw(port, b"GET /files/note.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
    monkeypatch.undo()
    assert status_of(raw) == 200
    assert raw.endswith(b"\r\n\r\n")
    [line] = error_lines(caplog)
    assert line == "127.0.0.1: answering localhost/files/note.txt failed"
    await assert_still_serving(port)


async def test_kept_answers_read_slowly_have_the_exchange_time_not_the_read_time(
    start_mirror: StartMirror, capsule_root: Path, dropped: LogWatch
) -> None:
    kept = 200 * 1024  # small enough to be kept whole and answered from memory
    (capsule_root / "kept.bin").write_bytes(b"x" * kept)
    limits = LimitSettings(requests_per_second=0, request_timeout=0.3, send_timeout=5)
    port = await start_mirror(limits=limits, keepalive_timeout=0.3)
    assert (await fetch(port, "/kept.bin")).body == b"x" * kept
    stream = await small_window_client(port, 4096)
    request = b"GET /kept.bin HTTP/1.1\r\nHost: localhost\r\n"
    await stream.send_all((request + b"\r\n") * 3 + request + b"Connection: close\r\n\r\n")
    # A few KB every 20 ms: seconds for all four, far past the deadline for a request.
    received = await read_until_closed(stream, pause=0.02)
    assert received.count(b"\r\n\r\n" + b"x" * kept) == 4
    assert not dropped.seen.is_set()
