"""Reading a request head for the mirror: Host, method and target, without sockets."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsule.paths import remove_dot_segments
from server.mirror.request import HostNames, Refusal, parse_request, version_refusal
from server.mirror.responses import Request

HOSTS = HostNames.build(
    ["example.org", "other.example", "xn--caf-dma.example"], "example.org", ["www.example.org"]
)


def parse(
    target: bytes = b"/",
    host: bytes | None = b"example.org",
    method: bytes = b"GET",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> Request | Refusal:
    headers = ([(b"host", host)] if host is not None else []) + (extra or [])
    return parse_request(method, target, headers, HOSTS)


@pytest.mark.parametrize(
    ("host", "capsule_host"),
    [
        (b"example.org", "example.org"),
        (b"EXAMPLE.org.", "example.org"),
        (b"example.org:8080", "example.org"),
        (b"other.example", "other.example"),
        (b"www.example.org", "example.org"),
        (b"localhost:8080", "example.org"),
        (b"127.0.0.1:1234", "example.org"),
        (b"[::1]:8080", "example.org"),
        (b"xn--caf-dma.example", "xn--caf-dma.example"),
        (b"XN--CAF-DMA.example.:8080", "xn--caf-dma.example"),
        ("café.example".encode(), "xn--caf-dma.example"),
        ("CAFÉ.example:8080".encode(), "xn--caf-dma.example"),
    ],
)
def test_host_header_selects_the_capsule_host(host: bytes, capsule_host: str) -> None:
    request = parse(host=host)
    assert isinstance(request, Request)
    assert request.host == capsule_host


@pytest.mark.parametrize(
    "host", [b"evil.example", b"example.org.evil.example", b"10.0.0.1", b"[::2]:80"]
)
def test_other_host_is_refused_as_misdirected(host: bytes) -> None:
    assert parse(host=host) is Refusal.HOST


@pytest.mark.parametrize(
    "host",
    [
        b"example.org:http",
        b"[::1",
        b"example.org:8080:1",
        b"[::1]@evil.example",
        b"a@localhost",
        b"[::1]x",
        b"local host",
        "caf é.example".encode(),
    ],
)
def test_host_that_is_no_host_is_malformed(host: bytes) -> None:
    # RFC 9112, 3.2: a Host with an invalid value is a 400, not a host of someone else's.
    assert parse(host=host) is Refusal.MALFORMED


def test_host_with_an_empty_port_is_not_ours() -> None:
    assert parse(host=b"[::1]:") is Refusal.HOST


@pytest.mark.parametrize("version", [b"1.0", b"1.1"])
def test_http_1_is_spoken(version: bytes) -> None:
    assert version_refusal(version) is None


@pytest.mark.parametrize("version", [b"2.0", b"3.5", b"0.9", b"1.2"])
def test_other_http_versions_are_refused(version: bytes) -> None:
    assert version_refusal(version) is Refusal.VERSION


def test_host_that_is_not_utf8_is_malformed() -> None:
    assert parse(host="café.example".encode("latin-1")) is Refusal.MALFORMED


@pytest.mark.parametrize("host", [None, b""])
def test_missing_or_empty_host_is_malformed(host: bytes | None) -> None:
    assert parse(host=host) is Refusal.MALFORMED


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE", b"OPTIONS", b"get"])
def test_methods_other_than_get_and_head_are_refused(method: bytes) -> None:
    assert parse(method=method) is Refusal.METHOD


@pytest.mark.parametrize(
    ("target", "path"),
    [
        (b"/", "/"),
        (b"/a/b.html", "/a/b.html"),
        (b"/a/../b.html", "/b.html"),
        (b"/../../etc/passwd", "/etc/passwd"),
        (b"/%2e%2e/%2e%2e/etc/passwd", "/etc/passwd"),
        (b"/a/%2E%2E/%2e%2E/secret.txt", "/secret.txt"),
        (b"/caf%C3%A9.html", "/caf\u00e9.html"),
        (b"/a//b/", "/a/b/"),
    ],
)
def test_target_path_is_decoded_and_cannot_climb_above_root(target: bytes, path: str) -> None:
    request = parse(target)
    assert isinstance(request, Request)
    assert request.path == path


def test_query_is_kept_apart_from_the_path() -> None:
    request = parse(b"/search.html?q=gemini%20pages")
    assert isinstance(request, Request)
    assert (request.path, request.query) == ("/search.html", "q=gemini%20pages")


def test_absolute_form_target_takes_its_host_from_the_url() -> None:
    request = parse(b"http://other.example/a.html", host=b"example.org")
    assert isinstance(request, Request)
    assert (request.host, request.path) == ("other.example", "/a.html")


@pytest.mark.parametrize(
    "target", [b"*", b"a.html", b"/%ff.html", b"/a%00b", b"/a#frag", b"/caf\xc3\xa9"]
)
def test_unusable_target_is_malformed(target: bytes) -> None:
    assert parse(target) is Refusal.MALFORMED


def test_conditional_headers_are_carried_into_the_request() -> None:
    request = parse(
        extra=[
            (b"if-none-match", b'"abc"'),
            (b"if-modified-since", b"Wed, 25 Nov 2026 10:00:00 GMT"),
        ]
    )
    assert isinstance(request, Request)
    assert request.if_none_match == '"abc"'
    assert request.if_modified_since == "Wed, 25 Nov 2026 10:00:00 GMT"


@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "%2e", "%2F", "%41", "é", "x.y"]),
                max_size=6), st.booleans())
def test_every_path_comes_out_decoded_and_free_of_dot_and_empty_segments(
    segments: list[str], trailing: bool
) -> None:
    raw = "/" + "/".join(segments) + ("/" if trailing else "")
    parsed = parse(quote(raw, safe="/%.").encode("ascii"))
    assert isinstance(parsed, Request)
    assert parsed.path == remove_dot_segments(unquote(raw))


def test_a_host_value_is_judged_the_same_when_asked_again() -> None:
    for _ in range(2):
        assert parse(host=b"evil.example") is Refusal.HOST
        assert parse(host=b"a b") is Refusal.MALFORMED
        assert isinstance(parse(host=b"example.org:8080"), Request)
