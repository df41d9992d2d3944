"""Response heads as bytes: their layout, the Date line, and header splitting refused (no I/O)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest

from server.mirror.wire import DateField, UnsafeHeader, head_bytes, keeps_alive


def test_a_head_is_status_common_lines_fields_extra_and_a_blank_line() -> None:
    head = head_bytes(
        200, b"Date: x\r\n", (("Content-Type", "text/html"),), [("Connection", "close")]
    )
    assert head == (
        b"HTTP/1.1 200 OK\r\nDate: x\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    "field", [("X-A", "a\r\nSet-Cookie: b"), ("X-A", "a\nb"), ("X A", "b"), ("X-A:", "b")]
)
def test_a_field_that_would_split_the_head_is_refused(field: tuple[str, str]) -> None:
    with pytest.raises(UnsafeHeader):
        head_bytes(200, b"", (field,))
    with pytest.raises(UnsafeHeader):
        head_bytes(200, b"", (), [field])


def test_the_date_line_is_an_http_date_followed_by_the_common_fields() -> None:
    lines = DateField([("Server", "capsule")]).lines()
    date, server, end = lines.split(b"\r\n")
    assert date.startswith(b"Date: ") and parsedate_to_datetime(date[6:].decode()).tzinfo
    assert (server, end) == (b"Server: capsule", b"")


@pytest.mark.parametrize(
    ("version", "headers", "alive"),
    [
        (b"1.1", [], True),
        (b"1.1", [(b"connection", b"keep-alive, Close")], False),
        (b"1.0", [(b"connection", b"keep-alive")], False),
    ],
)
def test_only_http11_without_close_keeps_alive(
    version: bytes, headers: list[tuple[bytes, bytes]], alive: bool
) -> None:
    assert keeps_alive(version, headers) is alive
