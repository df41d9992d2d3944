"""Checking an HTTP request head for the mirror: size, framing, method, Host and target, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import unquote_to_bytes, urlsplit

from capsule.paths import remove_dot_segments
from server.hostnames import matching_host
from server.mirror.forwarded import Reader
from server.mirror.responses import Request

_HEAD_END = re.compile(rb"\n\r?\n")
"""The blank line that ends a request head, found exactly as h11 finds it."""

_HOST_SYNTAX = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s@/?#\[\]\\:]+)(:[0-9]*)?")
"""A Host value as RFC 9112 allows it: a name or an IP literal, and perhaps a port; anything
else is a malformed request (400), not a host of someone else's (421)."""
HTTP_VERSIONS = frozenset({b"1.0", b"1.1"})
"""The versions the mirror speaks; others are answered 505."""

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
"""Accepted with any port for the primary host, so the local default works out of the box."""


class Refusal(Enum):
    """Why a request head is refused; the mirror turns each into its response."""

    MALFORMED = "malformed"
    METHOD = "method"
    HOST = "host"
    HEAD_TOO_LARGE = "head too large"
    VERSION = "version"


KNOWN_HOST_VALUES = 1024
"""Host values whose answer is remembered; past this many, the memory starts again."""


@dataclass(frozen=True, slots=True)
class HostNames:
    """Which Host values the mirror answers, and the capsule host each one stands for."""

    names: Mapping[str, str]
    _known: dict[str, str | Refusal] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, hosts: Iterable[str], primary: str, extra: Iterable[str] = ()) -> HostNames:
        """Our host names as themselves; loopback names and `extra` (e.g. the base URL's host)
        for the primary host."""
        names = dict.fromkeys([*LOOPBACK_NAMES, *extra], primary)
        names.update((host, host) for host in hosts)
        return cls(names)

    def host_for(self, host_header: str) -> str | Refusal:
        """The capsule host a Host value (already decoded) stands for, or why it is refused:
        MALFORMED if it is not a host and port, HOST if it is not ours. Remembered."""
        known = self._known.get(host_header)
        if known is None:
            if not host_header or _HOST_SYNTAX.fullmatch(host_header) is None:
                known = Refusal.MALFORMED
            else:
                known = self.capsule_host(host_header) or Refusal.HOST
            if len(self._known) >= KNOWN_HOST_VALUES:
                self._known.clear()
            self._known[host_header] = known
        return known

    def capsule_host(self, host_header: str) -> str | None:
        """The capsule host for a Host header value (any port), or None if it is not ours."""
        if host_header.startswith("["):
            name, bracket, rest = host_header[1:].partition("]")
            if not bracket or (rest and not (rest[0] == ":" and rest[1:].isdigit())):
                return None
        else:
            name, _, port = host_header.partition(":")
            if port and not port.isdigit():
                return None
        stored = matching_host(name)
        return None if stored is None else self.names.get(stored)


def request_head(data: bytes | bytearray, limit: int, searched: int = 0) -> bytes | Refusal | None:
    """The request head at the start of `data`, through its blank line; None while more bytes
    are needed; HEAD_TOO_LARGE once it cannot end within `limit` bytes. The first `searched`
    bytes are known to hold no end of head (reading a byte at a time stays linear)."""
    if data.startswith((b"\n", b"\r\n")):
        # An empty line where the request line belongs: h11 refuses it as it is.
        return bytes(data[: data.index(b"\n") + 1])
    end = _HEAD_END.search(data, max(0, searched - 2), limit)
    if end is not None:
        return bytes(data[: end.end()])
    return Refusal.HEAD_TOO_LARGE if len(data) >= limit else None


def smuggling_refusal(head: bytes) -> Refusal | None:
    """MALFORMED for head shapes that let one request hide another behind a proxy: a folded
    header line (RFC 9112 5.2), Transfer-Encoding with Content-Length (6.1), or
    Content-Length values that differ (6.3)."""
    lengths: set[bytes] = set()
    chunked = False
    for line in head.split(b"\n")[1:]:
        if line.startswith((b" ", b"\t")):
            return Refusal.MALFORMED
        name, _, value = line.partition(b":")
        name = name.lower()
        if name == b"transfer-encoding":
            chunked = True
        elif name == b"content-length":
            lengths.update(length.strip() for length in value.split(b","))
    if len(lengths) > 1 or (lengths and chunked):
        return Refusal.MALFORMED
    return None


def version_refusal(version: bytes) -> Refusal | None:
    """VERSION for a request of an HTTP version other than 1.0 and 1.1."""
    return None if version in HTTP_VERSIONS else Refusal.VERSION


def parse_request(
    method: bytes,
    target: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    hosts: HostNames,
    reader: Reader | None = None,
) -> Request | Refusal:
    """Validate a request head as h11 delivers it (header names lower-case); a `reader`
    that a trusted front described gives the scheme and the host the reader asked for."""
    host_value: bytes | None = None
    if_none_match: bytes | None = None
    if_modified_since: bytes | None = None
    codings: list[bytes] = []
    for name, value in headers:
        if name == b"host":
            if host_value is None:
                host_value = value
        elif name == b"accept-encoding":
            codings.append(value)
        elif name == b"if-none-match":
            if if_none_match is None:
                if_none_match = value
        elif name == b"if-modified-since" and if_modified_since is None:
            if_modified_since = value
    try:
        text = target.decode("ascii")
        # An international name may come as UTF-8 as well as in its xn-- form.
        host_header = (host_value or b"").decode("utf-8")
    except UnicodeDecodeError:
        return Refusal.MALFORMED
    if text.startswith(("http://", "https://")):
        # Absolute form: the target's authority replaces the Host header (RFC 9112, 3.2.2).
        try:
            parts = urlsplit(text)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return Refusal.MALFORMED
        host_header, text = parts.netloc, text[len(parts.scheme) + 3 + len(parts.netloc):] or "/"
    if reader is not None and reader.host is not None:
        host_header = reader.host
    host = hosts.host_for(host_header)
    if isinstance(host, Refusal):
        return host
    if method not in (b"GET", b"HEAD"):
        return Refusal.METHOD
    if not text.startswith("/") or "#" in text:
        return Refusal.MALFORMED
    raw_path, question, query = text.partition("?")
    if "%" in raw_path or "/." in raw_path or "//" in raw_path:
        try:
            path = unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            return Refusal.MALFORMED
        if "\x00" in path:
            return Refusal.MALFORMED
        path = remove_dot_segments(path)
    else:
        path = raw_path  # nothing to decode and no dot or empty segment: already normal
    return Request(  # by position: made for every request, and keywords cost more
        "GET" if method == b"GET" else "HEAD",
        host,
        path,
        query if question else None,
        f"{reader.scheme if reader else 'http'}://{host_header}",
        None if if_none_match is None else if_none_match.decode("latin-1"),
        None if if_modified_since is None else if_modified_since.decode("latin-1"),
        b",".join(codings).decode("latin-1") if codings else None,
    )

