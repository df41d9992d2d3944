"""The Gemini protocol without I/O: request framing, URL validation, response headers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote_to_bytes, urlsplit

from capsule.paths import gemini_url, remove_dot_segments
from capsule.publication.robots import ROBOTS_MIME
from capsule.resources import (
    CertificateNotAuthorised,
    CertificateNotValid,
    CertificateRequired,
    Feed,
    File,
    Gone,
    InputPrompt,
    NotFound,
    Page,
    Redirect,
    Resource,
    Robots,
    Unavailable,
)
from server.hostnames import matching_host

MAX_URL_BYTES = 1024
MAX_META_BYTES = 1024
GEMTEXT_MIME = "text/gemini; charset=utf-8"
ATOM_MIME = "application/atom+xml; charset=utf-8"

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")

INPUT = 10
SENSITIVE_INPUT = 11
SUCCESS = 20
REDIRECT_TEMPORARY = 30
REDIRECT_PERMANENT = 31
TEMPORARY_FAILURE = 40
SLOW_DOWN = 44
NOT_FOUND = 51
GONE = 52
PROXY_REQUEST_REFUSED = 53
BAD_REQUEST = 59
CLIENT_CERTIFICATE_REQUIRED = 60
CERTIFICATE_NOT_AUTHORISED = 61
CERTIFICATE_NOT_VALID = 62


@dataclass(frozen=True, slots=True)
class ResponseHeader:
    """The single header line of a Gemini response: a two-digit status and its meta."""

    status: int
    meta: str

    def encode(self) -> bytes:
        """Return the header as sent on the wire, CRLF included."""
        meta = self.meta.replace("\r", " ").replace("\n", " ")
        raw = meta.encode("utf-8")
        if len(raw) > MAX_META_BYTES:
            raw = raw[:MAX_META_BYTES].decode("utf-8", errors="ignore").encode("utf-8")
        return b"%d %s\r\n" % (self.status, raw)


@dataclass(frozen=True, slots=True)
class Request:
    """A valid Gemini request for one of our hosts, with its path decoded and normalised."""

    url: str
    host: str
    port: int | None
    path: str
    query: str | None


class RequestReader:
    """Accumulates bytes from the client until a complete request line is available."""

    def __init__(self, max_url_bytes: int = MAX_URL_BYTES) -> None:
        self._buffer = bytearray()
        self._line_end = 0
        self._max_line = max_url_bytes + 2
        self._too_long = f"Request longer than {max_url_bytes} bytes"

    def feed(self, data: bytes | bytearray) -> bytes | ResponseHeader | None:
        """Add received bytes; return the request line, an error header, or None for more."""
        self._buffer += data
        end = self._buffer.find(b"\n")
        # Length first: however the bytes were split, an over-long line gets the same answer.
        if (end == -1 and len(self._buffer) >= self._max_line) or end + 1 > self._max_line:
            return bad_request(self._too_long)
        if end == -1:
            return None
        if end == 0 or self._buffer[end - 1] != ord("\r"):
            return bad_request("Request must end with CRLF")
        self._line_end = end + 1
        return bytes(self._buffer[: end - 1])

    def remainder(self) -> bytes:
        """The bytes received after the request line (the start of a Titan upload's body)."""
        return bytes(self._buffer[self._line_end :]) if self._line_end else b""

    @property
    def started(self) -> bool:
        """Whether any byte of the request has arrived."""
        return bool(self._buffer)

    def eof(self) -> ResponseHeader:
        """Return the answer for a client that stopped sending before the end of its line."""
        return bad_request("Request must end with CRLF")


def bad_request(reason: str) -> ResponseHeader:
    """A 59 answer for a malformed request."""
    return ResponseHeader(BAD_REQUEST, reason)


def split_request_line(line: bytes) -> tuple[str, SplitResult] | ResponseHeader:
    """A request line (without CRLF) as its URL and that URL's parts, or the 59 it earns:
    not UTF-8, empty, spaces or control characters, or not a URL (a bad port included)."""
    try:
        url = line.decode("utf-8")
    except UnicodeDecodeError:
        return bad_request("Request is not valid UTF-8")
    if not url:
        return bad_request("Empty request")
    if any(char <= " " or char == "\x7f" for char in url):
        return bad_request("Request contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it validates the port)
    except ValueError:
        return bad_request("Malformed URL")
    return url, parts


def parse_request(
    line: bytes, hosts: frozenset[str], ports: frozenset[int]
) -> Request | ResponseHeader:
    """Validate a request line (without CRLF) for our host names and ports."""
    split = split_request_line(line)
    if isinstance(split, ResponseHeader):
        return split
    url, parts = split
    port = parts.port
    if not parts.scheme:
        return bad_request("Request must be an absolute URL")
    if parts.scheme.lower() != "gemini":
        return ResponseHeader(PROXY_REQUEST_REFUSED, "This server only serves gemini:// URLs")
    if "#" in url:
        return bad_request("URL must not contain a fragment")
    host = our_host(parts, hosts, ports)
    if isinstance(host, ResponseHeader):
        return host
    path = _decode(parts.path)
    query = _decode(parts.query) if "?" in url else None
    if _BAD_ESCAPE.search(url) or path is None or (query is None and "?" in url):
        return bad_request("URL has invalid percent-encoding")
    if not parts.path:
        # Only after every check, so the redirect never points at a URL we would refuse.
        return ResponseHeader(REDIRECT_PERMANENT, _with_root_path(parts))
    if "\x00" in path:
        return bad_request("URL path contains NUL")
    return Request(url, host, port, remove_dot_segments(path), query)


def our_host(
    parts: SplitResult, hosts: frozenset[str], ports: frozenset[int]
) -> str | ResponseHeader:
    """The host of a URL split by `urlsplit`, if it is one of ours on one of our ports (in the
    stored form: an international name may come in Unicode or as xn--); else the answer."""
    if "@" in parts.netloc:
        return bad_request("URL must not contain userinfo")
    if not (parts.hostname or "").rstrip("."):
        return bad_request("URL has no host")
    host = matching_host(parts.hostname or "")
    if host is None or host not in hosts or (parts.port is not None and parts.port not in ports):
        return ResponseHeader(PROXY_REQUEST_REFUSED, "Proxy request refused")
    return host


def response_header(resource: Resource) -> ResponseHeader:
    """The header that answers a request for `resource`."""
    match resource:
        case Page(lang=lang):
            return ResponseHeader(SUCCESS, f"{GEMTEXT_MIME}; lang={lang}" if lang else GEMTEXT_MIME)
        case File(mime=mime):
            return ResponseHeader(SUCCESS, mime)
        case Redirect(target=target, permanent=permanent):
            return ResponseHeader(REDIRECT_PERMANENT if permanent else REDIRECT_TEMPORARY, target)
        case InputPrompt(prompt=prompt, sensitive=sensitive):
            return ResponseHeader(SENSITIVE_INPUT if sensitive else INPUT, prompt)
        case NotFound(reason=reason):
            return ResponseHeader(NOT_FOUND, reason)
        case Gone(reason=reason):
            return ResponseHeader(GONE, reason)
        case Unavailable(reason=reason):
            return ResponseHeader(TEMPORARY_FAILURE, reason)
        case Feed():
            return ResponseHeader(SUCCESS, ATOM_MIME)
        case Robots():
            return ResponseHeader(SUCCESS, ROBOTS_MIME)
        case CertificateRequired(reason=reason):
            return ResponseHeader(CLIENT_CERTIFICATE_REQUIRED, reason)
        case CertificateNotAuthorised(reason=reason):
            return ResponseHeader(CERTIFICATE_NOT_AUTHORISED, reason)
        case CertificateNotValid(reason=reason):
            return ResponseHeader(CERTIFICATE_NOT_VALID, reason)


def origin(request: Request) -> str:
    """The scheme, host and port a request was made to, e.g. `gemini://example.org`."""
    return gemini_url(request.host, request.port)


def slow_down(retry_after: float) -> ResponseHeader:
    """A 44 answer telling the client how many whole seconds to wait (a bare number)."""
    return ResponseHeader(SLOW_DOWN, str(max(1, math.ceil(retry_after))))


def temporary_failure(reason: str = "Temporary failure") -> ResponseHeader:
    """A 40 answer for an error on our side."""
    return ResponseHeader(TEMPORARY_FAILURE, reason)


def _decode(component: str) -> str | None:
    try:
        return unquote_to_bytes(component).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _with_root_path(parts: SplitResult) -> str:
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}/{query}"
