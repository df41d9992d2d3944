"""Parsing one HTTP/1.x request head with llhttp (through httptools), without I/O.

The mirror finds where a head ends itself (`request.request_head`, under the size limit) and
hands exactly those bytes here, so the parser never sees a second request. llhttp is strict:
bare line feeds, spaces before a colon, controls in values and folded lines are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httptools

from server.mirror.request import HTTP_VERSIONS

_VERSIONED_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^ ]+ HTTP/(\d\.\d)\r\n")
"""A request line well formed but for its version, which llhttp may refuse (HTTP/3.5)."""
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})
_VERSIONS = {version.decode("ascii"): version for version in HTTP_VERSIONS}
CHUNKED = -1
"""The body length of a request whose body comes in chunks: its end is found by parsing."""


@dataclass(slots=True)
class RequestHead:
    """A parsed request head; header names are lower-case, in the order sent."""

    method: bytes
    target: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]
    body_length: int
    """Bytes of body to read: 0 for none, the Content-Length, or CHUNKED."""
    parser: httptools.HttpRequestParser
    """The parser, in the middle of a chunked body still to be read."""
    parsed: _Collector

    @property
    def framed(self) -> bool:
        """Whether the head says how a body is framed (Content-Length or Transfer-Encoding)."""
        return self.parsed.framed

    @property
    def complete(self) -> bool:
        """Whether the whole request, body included, has been parsed."""
        return self.parsed.message_done

    @property
    def chunked_bytes(self) -> int:
        """The bytes of chunked body parsed so far."""
        return self.parsed.body_bytes


class MalformedHead(Exception):
    """The head breaks HTTP/1.1's syntax."""


class UnknownMethod(MalformedHead):
    """The method is not one llhttp knows."""


class UnknownVersion(MalformedHead):
    """A request line of an HTTP version llhttp does not parse."""


class _Collector:
    """Receives llhttp's callbacks for one request."""

    __slots__ = ("body_bytes", "framed", "head_done", "headers", "message_done", "target")

    def __init__(self) -> None:
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.message_done = False
        self.body_bytes = 0
        self.framed = False

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in _FRAMING:
            self.framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)

    def on_message_complete(self) -> None:
        self.message_done = True


def parse_head(head: bytes) -> RequestHead:
    """The request in `head` (its bytes through the blank line); MalformedHead if llhttp
    refuses it. An Upgrade or CONNECT request is parsed as any other: the mirror never upgrades.
    """
    collector = _Collector()
    parser = httptools.HttpRequestParser(collector)
    try:
        parser.feed_data(head)
    except httptools.HttpParserUpgrade:
        pass
    except httptools.HttpParserInvalidMethodError as error:
        raise UnknownMethod(str(error)) from error
    except httptools.HttpParserError as error:
        line = _VERSIONED_LINE.match(head)
        if line is not None and line[1] not in HTTP_VERSIONS:
            raise UnknownVersion(str(error)) from error
        raise MalformedHead(str(error)) from error
    if not collector.head_done:
        raise MalformedHead("the head ended early")
    version = parser.get_http_version()
    return RequestHead(  # by position: made for every request, and keywords cost more
        parser.get_method(),
        collector.target,
        _VERSIONS.get(version) or version.encode("ascii"),
        collector.headers,
        _body_length(collector.headers, collector.message_done),
        parser,
        collector,
    )


def feed_chunked_body(head: RequestHead, data: bytes) -> None:
    """Parse more of a chunked body; `head.complete` once it has ended. Bytes past its end are
    parsed as the start of another request, so the connection cannot carry one after it."""
    try:
        head.parser.feed_data(data)
    except httptools.HttpParserError as error:
        raise MalformedHead(str(error)) from error


def _body_length(headers: list[tuple[bytes, bytes]], complete: bool) -> int:
    if complete:
        return 0
    for name, value in headers:
        if name == b"content-length":
            return int(value.partition(b",")[0])
    return CHUNKED
