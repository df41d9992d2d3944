"""Hostile input for every request parser: whatever arrives, each result keeps its contract."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from itertools import pairwise
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from capsule.rules.meta import MetaRule, MetaWarning, parse_meta
from server.gemini.protocol import (
    MAX_URL_BYTES,
    Request,
    RequestReader,
    ResponseHeader,
    parse_request,
)
from server.mirror import request as mirror_request
from server.mirror.forwarded import Reader, reader_of
from server.mirror.http_head import MalformedHead, RequestHead, parse_head
from server.mirror.request import HostNames, Refusal
from server.mirror.responses import Request as MirrorRequest
from server.proxy_protocol import (
    DEFAULT_MAX_HEADER_BYTES,
    V1_MAX_BYTES,
    V2_SIGNATURE,
    ProxyError,
    ProxyHeader,
    ProxyHeaderReader,
)
from server.settings.config import MirrorSettings

# Sized so the whole file runs in a few seconds; no deadline, so a slow machine cannot flake.
FUZZ = settings(max_examples=300, deadline=None)
CUTS = st.lists(st.integers(min_value=0), max_size=8)
T = TypeVar("T")


def pieces(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """`data` split at `cuts` (taken modulo its length) into non-empty reads, as a socket does."""
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[start:end] for start, end in pairwise([0, *points, len(data)]) if end > start]


def no_dot_segments(path: str) -> bool:
    """A normalised path: rooted, no '.' or '..' segment, no empty segment inside."""
    return (
        path.startswith("/")
        and not {".", ".."} & set(path.split("/"))
        and "//" not in path
        and "\x00" not in path
    )


# --- Gemini: framing -----------------------------------------------------------------------------


def first_result(reader: RequestReader, reads: list[bytes]) -> bytes | ResponseHeader | None:
    """Feed reads until the reader decides, as the server does; None if it never does."""
    for data in reads:
        if (result := reader.feed(data)) is not None:
            return result
    return None


ENDINGS = st.sampled_from([b"\r\n", b"\n", b"\r", b"", b"\n\r", b"\r\r\n", b"\x00\r\n"])


@st.composite
def request_streams(draw: st.DrawFn) -> tuple[bytes, int]:
    """Bytes a client might send, and the URL limit of the reader that gets them.

    Lines are drawn around the limit, so both sides of it and every ending are reached.
    """
    limit = draw(st.sampled_from([1, 2, 16, 64, MAX_URL_BYTES]))
    line = draw(
        st.one_of(
            st.binary(max_size=80),
            st.integers(max(0, limit - 3), limit + 3).map(lambda n: b"a" * n),
        )
    )
    tail = draw(st.one_of(st.just(b""), st.binary(max_size=20), st.just(b"gemini://x/\r\n")))
    return line + draw(ENDINGS) + tail, limit


@FUZZ
@given(request_streams(), CUTS, CUTS)
@example((b"a" * 1030 + b"\n", MAX_URL_BYTES), [1026], [])
def test_request_reader_answers_a_bounded_line_or_59_however_the_bytes_are_split(
    stream: tuple[bytes, int], cuts: list[int], other_cuts: list[int]
) -> None:
    data, limit = stream
    whole = RequestReader(limit).feed(data)
    assert first_result(RequestReader(limit), pieces(data, cuts)) == whole
    assert first_result(RequestReader(limit), pieces(data, other_cuts)) == whole
    end = data.find(b"\n")
    complete_line = 0 < end <= limit + 1 and data[end - 1 : end] == b"\r"
    if whole is None:
        assert end == -1 and len(data) < limit + 2
    elif isinstance(whole, ResponseHeader):
        assert whole.status == 59
        assert not complete_line
    else:
        assert complete_line
        assert data.startswith(whole + b"\r\n")
        assert len(whole) <= limit and b"\n" not in whole


def test_reader_that_never_decided_answers_59_at_eof() -> None:
    reader = RequestReader()
    assert reader.feed(b"gemini://localhost/") is None
    assert reader.eof().status == 59


# --- Gemini: the request URL ---------------------------------------------------------------------

HOSTS = frozenset({"localhost", "example.org", "127.0.0.1", "::1"})
PORTS = frozenset({1965, 1966})

USUAL_SEGMENTS = st.sampled_from(
    [".", "..", "%2e", "%2E%2e", ".%2e", "..%2f", "%2f..", "", "a", "b.gmi", "%C3%A9", "é", "%25",
     "%252e%252e", ";", "@", "..%5c", "..\\", "\\..", "%0a", "%0d%0a", "\x85", "%7f"]
)
HOSTILE_SEGMENTS = st.one_of(
    USUAL_SEGMENTS,
    st.sampled_from(
        ["%00", "\x00", "%", "%a", "%zz", "%ff", "%c3", "\t", "\r", "\n", "?", "#", " ", "\x7f",
         "\u202e", "\ufeff"]
    ),
    st.integers(1, 400).map(lambda n: "%2e" * n),
    st.integers(1, 400).map(lambda n: "%" * n),
    st.text(max_size=6),
)


def rooted(segments: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(segments, max_size=8).map(lambda parts: "/" + "/".join(parts))


GEMINI_PARTS: dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[str]]] = {
    # part: (what clients usually send, what a hostile one might)
    "scheme": (
        st.sampled_from(["gemini", "GEMINI", "Gemini"]),
        st.sampled_from(
            ["gemini+x", "http", "https", "gopher", "", "g", " gemini", "gemini\x00", "1gemini",
             "gémini"]
        ),
    ),
    "separator": (st.just("://"), st.sampled_from([":", ":/", ":///", "//", ":\\\\", "：//"])),
    "userinfo": (st.just(""), st.sampled_from(["user@", "user:pw@", "@", "%40@", "a\\@", ":@"])),
    "host": (
        st.sampled_from(["localhost", "LocalHost", "localhost.", "example.org", "127.0.0.1",
                         "[::1]"]),
        st.sampled_from(
            ["localhost..", "[::1", "::1]", "[::ffff:127.0.0.1]", "[v1.x]", "[::1%25lo]",
             "evil.example", "example.org.evil", "", "loc%61lhost", "xn--e1afmkfd",
             "localhost\x00", "ｌocalhost", "localhost\\", "127.1", "0x7f.1", "[]", "[[::1]]"]
        ),
    ),
    "port": (
        st.sampled_from(["", ":1965", ":1966", ":"]),
        st.sampled_from(
            [":01965", ":0", ":65536", ":99999", ":-1", ":abc", ": 1965", ":1965:1965", ":١٩٦٥",
             ":+1965"]
        ),
    ),
    "path": (rooted(USUAL_SEGMENTS), st.one_of(st.just(""), rooted(HOSTILE_SEGMENTS))),
    "query": (
        st.one_of(st.just(""), USUAL_SEGMENTS.map(lambda text: "?" + text)),
        st.one_of(HOSTILE_SEGMENTS, st.text(max_size=8)).map(lambda text: "?" + text),
    ),
    "fragment": (st.just(""), st.sampled_from(["#", "#frag", "#%00", "#/../x"])),
}


@st.composite
def assembled(
    draw: st.DrawFn, parts: dict[str, tuple[st.SearchStrategy[T], st.SearchStrategy[T]]]
) -> list[T]:
    """One value per part, in order, a few of them (often none) drawn from the hostile side.

    Spoiling every part at once would only ever test the first check that fails.
    """
    spoiled = draw(st.sets(st.sampled_from(sorted(parts)), max_size=3))
    return [draw(hostile if name in spoiled else usual) for name, (usual, hostile) in parts.items()]


GEMINI_URLS = assembled(GEMINI_PARTS).map("".join)


def check_gemini_contract(line: bytes) -> None:
    """A served request is normalised and for us; anything else is a redirect to one, 53 or 59."""
    result = parse_request(line, HOSTS, PORTS)
    if isinstance(result, Request):
        assert result.url == line.decode("utf-8")
        assert no_dot_segments(result.path)
        assert result.host in HOSTS
        assert result.port is None or result.port in PORTS
        return
    assert isinstance(result, ResponseHeader)
    if result.status == 31:
        # Only an empty path is redirected, and only to a URL that is then served.
        target = parse_request(result.meta.encode("utf-8"), HOSTS, PORTS)
        assert isinstance(target, Request) and target.path == "/"
    else:
        assert result.status in (53, 59)


@FUZZ
@given(GEMINI_URLS)
@example("gemini://localhost?%ff")
def test_url_shaped_request_is_a_normalised_request_or_53_or_59(url: str) -> None:
    check_gemini_contract(url.encode("utf-8"))


@FUZZ
@given(st.one_of(st.binary(max_size=120), st.text(max_size=120).map(str.encode)))
def test_arbitrary_request_line_is_a_normalised_request_or_53_or_59(line: bytes) -> None:
    check_gemini_contract(line)


@FUZZ
@given(GEMINI_URLS, st.binary(min_size=1, max_size=4), st.integers(min_value=0))
def test_url_with_bytes_spliced_in_is_a_normalised_request_or_53_or_59(
    url: str, junk: bytes, at: int
) -> None:
    raw = url.encode("utf-8")
    position = at % (len(raw) + 1)
    check_gemini_contract(raw[:position] + junk + raw[position:])


# --- HTTP: the mirror's request head -------------------------------------------------------------

CAPSULE_HOSTS = frozenset({"localhost", "example.org"})
HOST_NAMES = HostNames.build(sorted(CAPSULE_HOSTS), "localhost", ["mirror.example"])

AUTHORITIES = (
    st.sampled_from(
        ["localhost", "localhost:8080", "LOCALHOST.", "example.org:80", "mirror.example", "[::1]",
         "[::1]:80", "127.0.0.1:"]
    ),
    st.sampled_from(
        ["[::1", "[::1]x", "[", "]", "127.0.0.1:x", "evil.example", "user@localhost",
         "localhost:80@evil", "localhost:８０", "localhost:+80", "", "::1", "localhost\\@evil",
         "%6cocalhost", "localhost:99999", "localhost:80:80"]
    ),
)
USUAL_HTTP_SEGMENTS = st.sampled_from(
    [".", "..", "%2e%2e", "..%2f", "%2F", "", "a", "b.gmi", "%C3%A9", "\\..", "%0d%0a", "%7f"]
)
HOSTILE_HTTP_SEGMENTS = st.one_of(
    USUAL_HTTP_SEGMENTS,
    st.sampled_from(["%00", "%ff", "%", "#", "?", "é"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=5),
)
ORIGIN_FORM = st.builds(
    lambda path, query: path + query,
    rooted(USUAL_HTTP_SEGMENTS),
    st.sampled_from(["", "?", "?q=a%20b", "?%ff"]),
)


def encoded(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    return strategy.map(lambda text: text.encode("utf-8"))


HTTP_PARTS: dict[str, tuple[st.SearchStrategy[bytes], st.SearchStrategy[bytes]]] = {
    "method": (
        st.sampled_from([b"GET", b"HEAD"]),
        st.one_of(
            st.sampled_from(
                [b"POST", b"get", b"PUT", b"OPTIONS", b"CONNECT", b"TRACE", b"G\x00T", b""]
            ),
            st.binary(max_size=8),
        ),
    ),
    "target": (
        encoded(ORIGIN_FORM),
        st.one_of(
            encoded(rooted(HOSTILE_HTTP_SEGMENTS)),
            encoded(
                st.builds(
                    lambda scheme, authority, path: f"{scheme}://{authority}{path}",
                    st.sampled_from(["http", "https", "HTTP", "ftp"]),
                    st.one_of(*AUTHORITIES),
                    st.one_of(st.just(""), rooted(HOSTILE_HTTP_SEGMENTS)),
                )
            ),
            st.sampled_from(
                [b"*", b"localhost:80", b"//evil.example/", b"/\\evil.example", b"http:/x", b""]
            ),
            st.binary(max_size=40),
        ),
    ),
    "host": (encoded(AUTHORITIES[0]), st.one_of(encoded(AUTHORITIES[1]), st.binary(max_size=12))),
}
HEADER_NAMES = st.sampled_from(
    [b"host", b"if-none-match", b"if-modified-since", b"x-forwarded-host", b"content-length"]
)


@st.composite
def mirror_heads(draw: st.DrawFn) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    """Method, target and headers as the parser hands them over, a few parts hostile."""
    method, target, host = draw(assembled(HTTP_PARTS))
    others = draw(st.lists(st.tuples(HEADER_NAMES, st.binary(max_size=12)), max_size=3))
    hosts = draw(st.sampled_from([[host], [host], [host], [], [host, b"evil.example"]]))
    return method, target, [*((b"host", value) for value in hosts), *others]


def check_mirror_contract(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> MirrorRequest | Refusal:
    """A mirror request is a GET or HEAD for one of our capsules with a normalised path."""
    result = mirror_request.parse_request(method, target, headers, HOST_NAMES)
    if isinstance(result, MirrorRequest):
        assert result.method in ("GET", "HEAD")
        assert result.host in CAPSULE_HOSTS
        assert no_dot_segments(result.path)
        assert result.origin is not None and result.origin.startswith("http://")
    else:
        assert isinstance(result, Refusal)
    return result


@FUZZ
@given(mirror_heads())
def test_request_head_is_a_normalised_mirror_request_or_a_refusal(
    head: tuple[bytes, bytes, list[tuple[bytes, bytes]]],
) -> None:
    method, target, headers = head
    check_mirror_contract(method, target, headers)


def test_absolute_target_with_an_unclosed_ipv6_bracket_is_malformed() -> None:
    result = mirror_request.parse_request(b"GET", b"http://[::1/", [(b"host", b"x")], HOST_NAMES)
    assert result is Refusal.MALFORMED


HEAD_PARTS: dict[str, tuple[st.SearchStrategy[bytes], st.SearchStrategy[bytes]]] = {
    **HTTP_PARTS,
    "version": (
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0"]),
        st.sampled_from(
            [b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.10", b"http/1.1", b"HTTP/1", b"", b"HTTP/1.1 x"]
        ),
    ),
    "fields": (
        st.sampled_from([b"", b"Accept: */*\r\n", b"If-None-Match: \"x\"\r\n"]),
        st.lists(
            st.one_of(
                st.sampled_from(
                    [b"Content-Length: 5", b"Content-Length: 0", b"Content-Length: -1",
                     b"Content-Length: 1e3", b"Transfer-Encoding: chunked",
                     b"Transfer-Encoding: gzip, chunked", b" folded: value", b"\tcontinued",
                     b"X-Injected: a\rb", b"Bad Name: x", b": empty", b"X\x00: y",
                     b"Connection: close", b"Expect: 100-continue", b"Host:"]
                ),
                st.integers(1, 300).map(lambda n: b"X-Big: " + b"x" * n * 64),
                st.binary(max_size=20),
            ),
            min_size=1,
            max_size=4,
        ).map(lambda lines: b"".join(line + b"\r\n" for line in lines)),
    ),
    "ending": (
        st.just(b"\r\n"),
        st.sampled_from([b"\n", b"\r", b"", b"\r\n\r\n", b"\n\n"]),
    ),
    "after": (
        st.sampled_from([b"", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"]),
        st.binary(max_size=30),
    ),
}


@st.composite
def request_heads(draw: st.DrawFn) -> bytes:
    """The bytes of a request head, a few parts hostile, maybe followed by more bytes."""
    method, target, host, version, fields, ending, after = draw(assembled(HEAD_PARTS))
    head = b" ".join([method, target, version]) + ending
    return head + b"Host: " + host + ending + fields + ending + after


def first_request(data: bytes, cuts: Iterable[int], limit: int) -> object:
    """What the mirror's reading steps make of `data` arriving in pieces: a parsed head, a
    refusal, the class of parse error, or None while the head is incomplete."""
    received = b""
    for chunk in pieces(data, cuts):
        searched = len(received)
        received += chunk
        head = mirror_request.request_head(received, limit, searched)
        if isinstance(head, Refusal):
            return head
        if head is not None:
            try:
                return parse_head(head)
            except MalformedHead as error:
                return type(error)
    return None


@FUZZ
@given(request_heads(), CUTS)
def test_head_bytes_end_in_a_parsed_head_a_refusal_or_a_wait(
    head: bytes, cuts: list[int]
) -> None:
    limit = MirrorSettings().max_header_bytes
    first = first_request(head, [], limit)
    again = first_request(head, cuts, limit)
    if isinstance(first, RequestHead):
        # However the bytes arrive, the same request is read.
        assert isinstance(again, RequestHead)
        assert (again.method, again.target, again.headers) == (
            first.method, first.target, first.headers
        )
        check_mirror_contract(first.method, first.target, first.headers)
    else:
        assert again == first
        assert first is None or isinstance(first, Refusal) or issubclass(first, MalformedHead)


# --- PROXY protocol -------------------------------------------------------------------------------

IPV4 = st.ip_addresses(v=4)
IPV6 = st.ip_addresses(v=6)
PORT_NUMBERS = st.integers(0, 65535)
TAILS = st.one_of(st.just(b""), st.just(b"\x16\x03\x01\x02\x00"), st.binary(max_size=30))


@st.composite
def valid_v1(draw: st.DrawFn) -> tuple[bytes, ProxyHeader]:
    version = draw(st.sampled_from([4, 6]))
    addresses = IPV4 if version == 4 else IPV6
    source, destination = draw(addresses), draw(addresses)
    source_port, destination_port = draw(PORT_NUMBERS), draw(PORT_NUMBERS)
    if draw(st.booleans()):
        unknown = b"PROXY UNKNOWN" + draw(st.sampled_from([b"", b" ff::1 ff::2 1 2", b" junk"]))
        return unknown + b"\r\n", ProxyHeader(None, None)
    line = f"PROXY TCP{version} {source} {destination} {source_port} {destination_port}\r\n"
    header = ProxyHeader((str(source), source_port), (str(destination), destination_port))
    return line.encode("ascii"), header


@st.composite
def valid_v2(draw: st.DrawFn) -> tuple[bytes, ProxyHeader]:
    command = draw(st.sampled_from([0x0, 0x1]))
    family = draw(st.sampled_from([0x0, 0x1, 0x2, 0x3]))
    tlvs = draw(st.binary(max_size=40))
    header = ProxyHeader(None, None)
    if family in (0x1, 0x2) and command == 0x1:
        addresses = IPV4 if family == 0x1 else IPV6
        source, destination = draw(addresses), draw(addresses)
        source_port, destination_port = draw(PORT_NUMBERS), draw(PORT_NUMBERS)
        block = (
            source.packed
            + destination.packed
            + source_port.to_bytes(2, "big")
            + destination_port.to_bytes(2, "big")
        )
        header = ProxyHeader((str(source), source_port), (str(destination), destination_port))
    else:
        block = bytes(216 if family == 0x3 else 0)
    transport = 0x1 if family in (0x1, 0x2) else draw(st.sampled_from([0x0, 0x1, 0x2]))
    body = block + tlvs
    fixed = bytes([0x20 | command, family << 4 | transport]) + len(body).to_bytes(2, "big")
    return V2_SIGNATURE + fixed + body, header


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[tuple[bytes, ProxyHeader]]) -> bytes:
    """A valid header with a few bytes flipped, inserted, deleted, or cut short."""
    data = bytearray(draw(valid)[0])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["flip", "insert", "delete", "truncate"])):
            case "flip" if at < len(data):
                data[at] = draw(st.integers(0, 255))
            case "insert":
                data[at:at] = draw(st.sampled_from([b" ", b"\r", b"\n", b"\x00", b":", b"\xff"]))
            case "delete":
                del data[at : at + 1]
            case "truncate":
                del data[at:]
    return bytes(data) + draw(TAILS)


def header_length(data: bytes) -> int:
    """Where a header that was accepted ends, read straight from the specification."""
    if data.startswith(V2_SIGNATURE):
        return 16 + int.from_bytes(data[14:16], "big")
    return data.index(b"\n") + 1


def check_proxy_contract(data: bytes, cuts: Iterable[int]) -> ProxyHeader | ProxyError | None:
    """Split-invariant result; an accepted header leaves exactly the bytes after it."""
    reader = ProxyHeaderReader()
    whole = reader.feed(data)
    chunked = ProxyHeaderReader()
    result = None
    for chunk in pieces(data, cuts):
        result = chunked.feed(chunk)
    assert result == whole
    assert chunked.remainder() == reader.remainder()
    if whole is None:
        assert len(data) < DEFAULT_MAX_HEADER_BYTES
        assert isinstance(reader.eof(), ProxyError)
    elif isinstance(whole, ProxyError):
        assert whole.reason and reader.remainder() == b""
    else:
        length = header_length(data)
        v2 = data.startswith(V2_SIGNATURE)
        assert length <= (DEFAULT_MAX_HEADER_BYTES if v2 else V1_MAX_BYTES)
        assert reader.remainder() == data[length:]
        assert (whole.source is None) == (whole.destination is None)
        for address in filter(None, (whole.source, whole.destination)):
            ipaddress.ip_address(address[0])
            assert 0 <= address[1] <= 65535
    return whole


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=60),
        st.binary(max_size=120).map(lambda rest: b"PROXY " + rest),
        st.binary(max_size=120).map(lambda rest: V2_SIGNATURE + rest),
    ),
    CUTS,
)
def test_arbitrary_first_bytes_are_a_header_an_error_or_a_wait(
    data: bytes, cuts: list[int]
) -> None:
    check_proxy_contract(data, cuts)


@FUZZ
@given(st.one_of(valid_v1(), valid_v2()), TAILS, TAILS, CUTS)
def test_valid_header_is_read_and_leaves_exactly_what_follows(
    valid: tuple[bytes, ProxyHeader], tail: bytes, later: bytes, cuts: list[int]
) -> None:
    header, expected = valid
    reader = ProxyHeaderReader()
    assert check_proxy_contract(header + tail, cuts) == expected
    for chunk in pieces(header + tail, cuts):
        reader.feed(chunk)
    assert reader.feed(later) == expected
    assert reader.remainder() == tail + later


@FUZZ
@given(st.one_of(mutated(valid_v1()), mutated(valid_v2())), CUTS)
def test_mutated_header_is_a_header_an_error_or_a_wait(data: bytes, cuts: list[int]) -> None:
    check_proxy_contract(data, cuts)


# --- .meta lines ----------------------------------------------------------------------------------

# Characters str.splitlines() breaks at besides "\n"; editors count only "\n", and so do
# .meta warnings (test_meta_warning_line_counts_newlines_only).
OTHER_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
ONE_LINE_TEXT = st.text(st.characters(exclude_characters="\n" + OTHER_LINE_BREAKS), max_size=30)
META_WORDS = st.one_of(
    st.sampled_from(
        ["*.gmi", "/", "", "..", "../x", "a/./b", "a//b", "/a", "[", "[z-a]", "[!]", "**", "#",
         "#x", "mime=text/plain", "mime=text/csv;charset=latin-1", "mime=", "mime=text",
         "mime=a/b;c=d;e", "lang=fr", "lang=fr,en-GB", "lang=fr_FR", "lang=", "redirect=/x",
         "redirect=//evil", "redirect=/\\evil", "redirect=gemini://h/", "redirect=http://[x",
         "redirect=/a\x7fb", "redirect=/a\x9fb", "redirect=https://a\\@b/", "redirect=",
         "redirect-temporary=/y", "gone", "gone=yes", "listing", "listing=no", "listing=maybe",
         "colour=blue", "=", "lang", "\x00", "\u00a0"]
    ),
    ONE_LINE_TEXT.filter(lambda word: not any(char.isspace() for char in word)),
)
META_LINES = st.one_of(
    st.lists(META_WORDS, max_size=5).map(" ".join),
    ONE_LINE_TEXT,
)


def meaningful(line: str) -> bool:
    """A line with a word before any comment: it must become a rule or a warning."""
    words = line.split()
    return bool(words) and not words[0].startswith("#")


def check_rule(rule: MetaRule) -> None:
    """A rule only names paths inside its directory and carries valid values."""
    assert not rule.pattern.startswith("/") and "//" not in rule.pattern
    assert not {".", ".."} & set(rule.pattern.split("/"))
    if rule.mime is not None:
        assert "/" in rule.mime and rule.mime.isascii() and rule.mime.isprintable()
    if rule.lang is not None:
        assert rule.lang and rule.lang.isascii()
    if rule.redirect is not None:
        # Nothing a browser could read as another host than the target says.
        target = rule.redirect
        assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in target)
        assert "\\" not in target and not target.startswith("//")
        parts = urlsplit(target)
        assert (parts.scheme and parts.netloc) or (target.startswith("/") and not parts.netloc)


@FUZZ
@given(st.lists(META_LINES, max_size=8), st.sampled_from(["\n", "\r\n"]))
def test_each_meta_line_is_a_rule_or_a_warning_carrying_its_line_number(
    lines: list[str], newline: str
) -> None:
    rules, warnings = parse_meta(newline.join(lines), "/docs/.meta")
    by_line: dict[int, MetaRule | MetaWarning] = {}
    items: list[MetaRule | MetaWarning] = [*rules.rules, *warnings]
    for item in items:
        assert item.line not in by_line
        by_line[item.line] = item
    expected = {number for number, line in enumerate(lines, start=1) if meaningful(line)}
    assert set(by_line) == expected
    for rule in rules.rules:
        check_rule(rule)
    for warning in warnings:
        assert warning.source == "/docs/.meta" and warning.reason
        assert str(warning).startswith(f"/docs/.meta:{warning.line}: ")


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_meta_text_never_raises_and_numbers_stay_in_the_file(text: str) -> None:
    rules, warnings = parse_meta(text, "/.meta")
    count = len(text.splitlines())
    assert all(1 <= rule.line <= count for rule in rules.rules)
    assert all(1 <= warning.line <= count for warning in warnings)
    for rule in rules.rules:
        check_rule(rule)


@pytest.mark.parametrize("separator", ["\x0c", "\x1c", "\x85", "\u2028"])
def test_meta_warning_line_counts_newlines_only(separator: str) -> None:
    _, warnings = parse_meta(f"# notes{separator}more notes\nx.gmi bogus\n", "/.meta")
    assert [warning.line for warning in warnings] == [2]


FORWARDING_NAMES = st.sampled_from(
    [b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"host"]
)
FORWARDING_VALUES = st.one_of(
    st.binary(max_size=60),
    st.lists(
        st.sampled_from(["for=", "proto=", "host=", "192.0.2.7", "[2001:db8::1]:80", '"', ";",
                         ",", " ", "https", "unknown", "_x", "127.0.0.1", "10.0.0.1"]),
        max_size=12,
    ).map(lambda parts: "".join(parts).encode()),
)


@given(st.sampled_from(["127.0.0.1", "192.0.2.1", "::1"]),
       st.lists(st.tuples(FORWARDING_NAMES, FORWARDING_VALUES), max_size=5))
@FUZZ
def test_forwarding_headers_name_a_reader_by_an_address_and_a_known_scheme(
    peer: str, headers: list[tuple[bytes, bytes]]
) -> None:
    trusted = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.0.0.0/8"))
    reader = reader_of(peer, headers, trusted)
    assert reader.scheme in ("http", "https")
    ipaddress.ip_address(reader.address)
    if peer == "192.0.2.1":
        assert reader == Reader(peer)
