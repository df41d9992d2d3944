"""Parsing one request head with llhttp: what the mirror reads, and what it refuses (no I/O)."""

from __future__ import annotations

import pytest

from server.mirror.http_head import (
    CHUNKED,
    MalformedHead,
    UnknownMethod,
    UnknownVersion,
    feed_chunked_body,
    parse_head,
)


def test_a_plain_get_is_complete_with_lower_case_names_in_order() -> None:
    head = parse_head(b"GET /a?q=1 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
    assert (head.method, head.target, head.version) == (b"GET", b"/a?q=1", b"1.1")
    assert head.headers == [(b"host", b"x"), (b"accept-encoding", b"gzip")]
    assert head.body_length == 0 and head.complete


def test_a_declared_length_is_the_body_to_read() -> None:
    head = parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n")
    assert head.body_length == 12 and not head.complete


def test_a_chunked_body_is_parsed_to_its_end() -> None:
    head = parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert head.body_length == CHUNKED
    feed_chunked_body(head, b"5\r\nhello\r\n")
    assert head.chunked_bytes == 5 and not head.complete
    feed_chunked_body(head, b"0\r\n\r\n")
    assert head.complete


def test_a_broken_chunk_is_malformed() -> None:
    head = parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(MalformedHead):
        feed_chunked_body(head, b"zz\r\nhello\r\n")


def test_an_upgrade_is_read_as_a_plain_request() -> None:
    head = parse_head(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
    )
    assert head.method == b"GET" and (b"upgrade", b"websocket") in head.headers


@pytest.mark.parametrize("method", [b"get", b"BREW", b"G\x00T"])
def test_a_method_llhttp_does_not_know_is_refused_as_a_method(method: bytes) -> None:
    with pytest.raises(UnknownMethod):
        parse_head(method + b" / HTTP/1.1\r\nHost: x\r\n\r\n")


@pytest.mark.parametrize("version", [b"2.0", b"3.5", b"0.9"])
def test_another_version_on_a_good_request_line_is_told_apart(version: bytes) -> None:
    try:
        head = parse_head(b"GET / HTTP/" + version + b"\r\nHost: x\r\n\r\n")
    except UnknownVersion:
        return
    assert head.version == version  # parsed: the mirror answers 505 from the version


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",
        b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"\r\n",
    ],
)
def test_broken_syntax_is_malformed(head: bytes) -> None:
    with pytest.raises(MalformedHead):
        parse_head(head)


def test_only_a_head_that_declares_framing_is_framed() -> None:
    assert not parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").framed
    assert parse_head(b"GET / HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n").framed


def test_a_head_cut_short_is_malformed() -> None:
    with pytest.raises(MalformedHead):
        parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n")
