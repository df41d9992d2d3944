"""The sans-I/O Gemini protocol: request framing, URL rules, response headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsule.paths import remove_dot_segments
from capsule.resources import File, Gone, InputPrompt, NotFound, Page, Redirect, Resource
from server.gemini.protocol import (
    Request,
    RequestReader,
    ResponseHeader,
    parse_request,
    response_header,
    slow_down,
)

HOSTS = frozenset({"example.org", "localhost", "127.0.0.1", "::1"})
PORTS = frozenset({1965})


def parse(url: str | bytes) -> Request | ResponseHeader:
    line = url.encode() if isinstance(url, str) else url
    return parse_request(line, HOSTS, PORTS)


def status_of(url: str | bytes) -> int:
    result = parse(url)
    return 20 if isinstance(result, Request) else result.status


# --- framing -----------------------------------------------------------------------------------


def test_reader_waits_for_crlf() -> None:
    reader = RequestReader()
    assert reader.feed(b"gemini://example.org/") is None
    assert reader.feed(b"\r") is None
    assert reader.feed(b"\n") == b"gemini://example.org/"


def test_reader_returns_line_split_across_many_reads() -> None:
    reader = RequestReader()
    results = [reader.feed(bytes([byte])) for byte in b"gemini://a/\r\n"]
    assert results[:-1] == [None] * (len(results) - 1)
    assert results[-1] == b"gemini://a/"


def test_bare_lf_is_bad_request() -> None:
    result = RequestReader().feed(b"gemini://example.org/\n")
    assert isinstance(result, ResponseHeader) and result.status == 59


def test_request_of_exactly_1024_bytes_is_accepted() -> None:
    url = b"gemini://example.org/" + b"a" * (1024 - len(b"gemini://example.org/"))
    assert len(url) == 1024
    assert RequestReader().feed(url + b"\r\n") == url


def test_request_of_1025_bytes_is_bad_request() -> None:
    url = b"gemini://example.org/" + b"a" * (1025 - len(b"gemini://example.org/"))
    result = RequestReader().feed(url + b"\r\n")
    assert isinstance(result, ResponseHeader) and result.status == 59


def test_overlong_request_is_refused_before_its_end_arrives() -> None:
    result = RequestReader().feed(b"x" * 1026)
    assert isinstance(result, ResponseHeader) and result.status == 59


def test_eof_before_crlf_is_bad_request() -> None:
    reader = RequestReader()
    reader.feed(b"gemini://example.org/")
    assert reader.eof().status == 59


# --- URL rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("gemini://example.org/", 20),
        ("gemini://example.org/a/b.gmi", 20),
        ("GEMINI://EXAMPLE.ORG/", 20),
        ("gemini://example.org:1965/", 20),
        ("gemini://example.org./", 20),
        ("gemini://127.0.0.1/", 20),
        ("gemini://[::1]/", 20),
        ("gemini://example.org/?query", 20),
        ("gemini://example.org/#frag", 59),
        ("gemini://user@example.org/", 59),
        ("gemini://user:pw@example.org/", 59),
        ("//example.org/", 59),
        ("/index.gmi", 59),
        ("example.org/", 59),
        ("", 59),
        ("gemini:///", 59),
        ("gemini://example.org:99999/", 59),
        ("gemini://example.org:abc/", 59),
        ("gemini://example.org/a b", 59),
        ("gemini://example.org/\x00", 59),
        ("gemini://example.org/%00", 59),
        ("gemini://example.org/%ff", 59),
        ("gemini://example.org/%zz", 59),
        ("gemini://example.org/100%", 59),
        ("gemini://example.org/?a=%g1", 59),
        ("gemini://example.org/?%ff", 59),
        ("\ufeffgemini://example.org/", 59),
        ("https://example.org/", 53),
        ("gopher://example.org/", 53),
        ("gemini://other.example/", 53),
        ("gemini://example.org:1966/", 53),
        ("gemini://example.org.evil/", 53),
    ],
)
def test_url_status(url: str, status: int) -> None:
    assert status_of(url) == status


def test_non_utf8_request_is_bad_request() -> None:
    assert status_of(b"gemini://example.org/\xff") == 59


def test_empty_path_redirects_to_root() -> None:
    assert parse("gemini://example.org") == ResponseHeader(31, "gemini://example.org/")


def test_empty_path_redirect_keeps_port_and_query() -> None:
    assert parse("gemini://example.org:1965?q") == ResponseHeader(
        31, "gemini://example.org:1965/?q"
    )


def test_host_is_lowercased() -> None:
    request = parse("gemini://Example.ORG/x")
    assert isinstance(request, Request) and request.host == "example.org"


@pytest.mark.parametrize(
    "url",
    ["gemini://café.example/", "gemini://xn--caf-dma.example/", "gemini://CAFÉ.Example./",
     "gemini://XN--CAF-DMA.example:1965/"],
)
def test_international_host_matches_in_unicode_or_punycode(url: str) -> None:
    request = parse_request(url.encode(), frozenset({"xn--caf-dma.example"}), PORTS)
    assert isinstance(request, Request) and request.host == "xn--caf-dma.example"


@pytest.mark.parametrize("url", ["gemini://thé.example/", "gemini://caf\u200dé.example/"])
def test_international_host_that_is_not_ours_or_not_a_name_is_refused(url: str) -> None:
    refused = ResponseHeader(53, "Proxy request refused")
    assert parse_request(url.encode(), frozenset({"xn--caf-dma.example"}), PORTS) == refused


def test_path_is_percent_decoded() -> None:
    request = parse("gemini://example.org/caf%C3%A9%20cr%C3%A8me.gmi")
    assert isinstance(request, Request) and request.path == "/café crème.gmi"


def test_query_is_percent_decoded() -> None:
    request = parse("gemini://example.org/search?caf%C3%A9%20au%20lait")
    assert isinstance(request, Request) and request.query == "café au lait"


def test_missing_query_is_none_and_empty_query_is_empty() -> None:
    without = parse("gemini://example.org/search")
    empty = parse("gemini://example.org/search?")
    assert isinstance(without, Request) and without.query is None
    assert isinstance(empty, Request) and empty.query == ""


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("gemini://example.org/../../etc/passwd", "/etc/passwd"),
        ("gemini://example.org/a/%2e%2e/%2E%2E/etc/passwd", "/etc/passwd"),
        ("gemini://example.org/a/..%2f..%2fetc/passwd", "/etc/passwd"),
        ("gemini://example.org/./a/./b", "/a/b"),
        ("gemini://example.org//a//b/", "/a/b/"),
        ("gemini://example.org/a/b/..", "/a/"),
        ("gemini://example.org/a/.", "/a/"),
    ],
)
def test_dot_segments_never_climb_above_root(url: str, path: str) -> None:
    request = parse(url)
    assert isinstance(request, Request) and request.path == path


@given(st.lists(st.sampled_from(["..", ".", "", "a", "b", "%2e%2e", "..%2f"]), max_size=12))
def test_normalised_path_has_no_dot_segments(segments: list[str]) -> None:
    request = parse("gemini://example.org/" + "/".join(segments))
    assert isinstance(request, Request)
    assert request.path.startswith("/")
    assert not {".", ".."} & set(request.path.split("/"))


def test_remove_dot_segments_of_root_is_root() -> None:
    assert remove_dot_segments("/") == "/"
    assert remove_dot_segments("/..") == "/"


# --- response headers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "header"),
    [
        (Page("# hi\n"), ResponseHeader(20, "text/gemini; charset=utf-8")),
        (Page("# hi\n", "en"), ResponseHeader(20, "text/gemini; charset=utf-8; lang=en")),
        (File(Path("/x.png"), "image/png", 3, 0.0), ResponseHeader(20, "image/png")),
        (Redirect("/new/", permanent=True), ResponseHeader(31, "/new/")),
        (Redirect("/new/", permanent=False), ResponseHeader(30, "/new/")),
        (InputPrompt("Search for"), ResponseHeader(10, "Search for")),
        (InputPrompt("Password", sensitive=True), ResponseHeader(11, "Password")),
        (NotFound(), ResponseHeader(51, "Not found")),
        (Gone(), ResponseHeader(52, "Gone")),
    ],
)
def test_response_header_for_each_resource(resource: Resource, header: ResponseHeader) -> None:
    assert response_header(resource) == header


def test_header_encodes_with_crlf() -> None:
    assert ResponseHeader(20, "text/gemini").encode() == b"20 text/gemini\r\n"


def test_header_meta_cannot_inject_a_line() -> None:
    encoded = ResponseHeader(51, "gone\r\n20 text/html").encode()
    assert encoded.count(b"\r\n") == 1 and encoded.endswith(b"\r\n")


def test_header_meta_is_capped_at_1024_bytes() -> None:
    encoded = ResponseHeader(51, "é" * 2000).encode()
    assert len(encoded) <= len(b"51 \r\n") + 1024
    encoded.decode("utf-8")


@pytest.mark.parametrize(("seconds", "meta"), [(0.2, "1"), (1.0, "1"), (1.01, "2"), (30, "30")])
def test_slow_down_meta_is_a_bare_whole_number(seconds: float, meta: str) -> None:
    assert slow_down(seconds) == ResponseHeader(44, meta)
