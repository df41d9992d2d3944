"""The sans-I/O Titan protocol: request lines, the body's framing, and the answers."""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capsule.resources import (
    AccessRefusal,
    CertificateNotAuthorised,
    CertificateNotValid,
    CertificateRequired,
)
from server.gemini.protocol import RequestReader, ResponseHeader
from server.gemini.titan import (
    BodyReader,
    TitanRequest,
    deleted,
    is_titan,
    outcome,
    parse_titan_request,
    refused,
    written,
)

HOSTS = frozenset({"example.org", "localhost", "xn--caf-dma.example"})
PORTS = frozenset({1965})


def parse(line: str | bytes) -> TitanRequest | ResponseHeader:
    return parse_titan_request(line.encode() if isinstance(line, str) else line, HOSTS, PORTS)


def status_of(line: str | bytes) -> int:
    result = parse(line)
    return 0 if isinstance(result, TitanRequest) else result.status


# --- valid requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "titan://example.org/notes/a.gmi;size=10",
            TitanRequest("example.org", None, "/notes/a.gmi", 10),
        ),
        (
            "titan://example.org:1965/raw/Test;token=hello;mime=text/plain;size=10",
            TitanRequest("example.org", 1965, "/raw/Test", 10, "text/plain", "hello"),
        ),
        (  # Lagrange's order: mime, size, then a percent-encoded token
            "titan://localhost:1965/a.gmi;mime=text/gemini;size=3;token=a%20b%3Bc",
            TitanRequest("localhost", 1965, "/a.gmi", 3, "text/gemini", "a b;c"),
        ),
        (  # a deletion, as Lagrange sends it
            "titan://localhost/a.gmi;mime=application/octet-stream;size=0",
            TitanRequest("localhost", None, "/a.gmi", 0, "application/octet-stream"),
        ),
        (  # a MIME type with parameters comes percent-encoded
            "titan://example.org/a.txt;size=1;mime=text/plain%3B%20charset=utf-8",
            TitanRequest("example.org", None, "/a.txt", 1, "text/plain; charset=utf-8"),
        ),
        (  # the scheme and the parameters' names in any case; the host in either form
            "TITAN://café.example/a.gmi;SIZE=4",
            TitanRequest("xn--caf-dma.example", None, "/a.gmi", 4),
        ),
        (  # escapes in the path are decoded; "%3B" stays part of the name
            "titan://example.org/caf%C3%A9%3Bmenu.gmi;size=2",
            TitanRequest("example.org", None, "/café;menu.gmi", 2),
        ),
        (  # dot segments resolve as for Gemini while they stay under the root
            "titan://example.org/a/./b/../c.gmi;size=2",
            TitanRequest("example.org", None, "/a/c.gmi", 2),
        ),
        ("titan://example.org/;size=2", TitanRequest("example.org", None, "/", 2)),
    ],
)
def test_valid_request_is_parsed(line: str, expected: TitanRequest) -> None:
    assert parse(line) == expected


def test_default_mime_is_gemtext_and_token_is_optional() -> None:
    request = parse("titan://example.org/a.gmi;size=1")
    assert isinstance(request, TitanRequest)
    assert (request.mime, request.token) == ("text/gemini", None)


def test_a_directory_is_written_as_its_index_page() -> None:
    request = parse("titan://example.org/docs/;size=1")
    assert isinstance(request, TitanRequest)
    assert request.file_path == "/docs/index.gmi"
    assert request.gemini_url == "gemini://example.org/docs/"


def test_gemini_url_keeps_the_port_asked_for_and_encodes_the_path() -> None:
    request = TitanRequest("localhost", 4000, "/a b/é.gmi", 1)
    assert request.gemini_url == "gemini://localhost:4000/a%20b/%C3%A9.gmi"


# --- refused requests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("titan://example.org/a.gmi", 59),  # no size
        ("titan://example.org/a.gmi;mime=text/plain", 59),
        ("titan://example.org/a.gmi;size=", 59),
        ("titan://example.org/a.gmi;size=-1", 59),
        ("titan://example.org/a.gmi;size=+1", 59),
        ("titan://example.org/a.gmi;size=1.5", 59),
        ("titan://example.org/a.gmi;size=0x10", 59),
        ("titan://example.org/a.gmi;size=١٢", 59),  # digits, but not ASCII ones
        ("titan://example.org/a.gmi;size=1234567890123456789", 59),  # 19 digits
        ("titan://example.org/a.gmi;size=1;size=2", 59),
        ("titan://example.org/a.gmi;size=1;colour=red", 59),
        ("titan://example.org/a.gmi;size=1;token", 59),
        ("titan://example.org/a.gmi;size=1;;mime=text/plain", 59),
        ("titan://example.org/a.gmi;size=1;mime=nonsense", 59),
        ("titan://example.org/a.gmi;size=1;mime=text/", 59),
        ("titan://example.org/a.gmi;size=1;token=%FF", 59),
        ("titan://example.org/a.gmi;size=1;token=%zz", 59),
        ("titan://example.org/a.gmi?q;size=1", 59),
        ("titan://example.org/a.gmi;size=1?q", 59),
        ("titan://example.org/a.gmi;size=1#top", 59),
        ("titan://user@example.org/a.gmi;size=1", 59),
        ("titan://example.org/../etc/passwd;size=1", 59),
        ("titan://example.org/a/../../b.gmi;size=1", 59),
        ("titan://example.org/%2e%2e/b.gmi;size=1", 59),
        ("titan://example.org/a%00.gmi;size=1", 59),
        ("titan://example.org/a b.gmi;size=1", 59),
        ("titan://example.org;size=1", 53),  # the parameters run into the host
        ("titan:///a.gmi;size=1", 59),
        ("titan://example.org:99999/a.gmi;size=1", 59),
        ("titan://other.org/a.gmi;size=1", 53),
        ("titan://example.org:1966/a.gmi;size=1", 53),
        ("gemini://example.org/a.gmi;size=1", 59),
    ],
)
def test_bad_request_lines_are_refused(line: str, status: int) -> None:
    assert status_of(line) == status


def test_invalid_utf8_is_refused() -> None:
    assert status_of(b"titan://example.org/\xff.gmi;size=1") == 59


@pytest.mark.parametrize(
    ("line", "titan"),
    [
        (b"titan://example.org/", True),
        (b"TiTaN://example.org/", True),
        (b"gemini://example.org/", False),
        (b"titans://example.org/", False),
        (b"titan", False),
    ],
)
def test_is_titan_looks_at_the_scheme(line: bytes, titan: bool) -> None:
    assert is_titan(line) is titan


# --- the body ----------------------------------------------------------------------------------


def test_reader_hands_on_the_bytes_after_the_request_line() -> None:
    reader = RequestReader()
    assert reader.feed(b"titan://example.org/a.gmi;size=5\r\nhel") == (
        b"titan://example.org/a.gmi;size=5"
    )
    assert reader.remainder() == b"hel"


def test_reader_has_no_remainder_before_the_line_is_complete() -> None:
    reader = RequestReader()
    assert reader.feed(b"titan://example.org/a.gmi;si") is None
    assert reader.remainder() == b""


def test_body_of_exactly_its_size_is_complete() -> None:
    body = BodyReader(5)
    assert body.feed(b"he") == b"he"
    assert not body.complete and body.expecting
    assert body.feed(b"llo") == b"llo"
    assert body.complete and not body.expecting


def test_body_past_its_size_is_59_and_nothing_more_is_taken() -> None:
    body = BodyReader(5)
    assert body.feed(b"hel") == b"hel"
    result = body.feed(b"lo!")
    assert isinstance(result, ResponseHeader) and result.status == 59
    assert "longer than its size of 5 bytes" in result.meta
    assert body.received == 3 and body.expecting


def test_body_that_ends_early_is_59_saying_how_much_came() -> None:
    body = BodyReader(5)
    body.feed(b"he")
    result = body.eof()
    assert (result.status, result.meta) == (59, "Upload ended after 2 of its 5 bytes")
    assert not body.expecting


def test_a_late_body_is_59_and_no_longer_expected() -> None:
    body = BodyReader(5)
    assert body.late(2.5) == ResponseHeader(59, "Upload not complete within 2.5 seconds")
    assert not body.expecting


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=8))
def test_body_split_anyhow_comes_through_whole(data: bytes, cuts: list[int]) -> None:
    body = BodyReader(len(data))
    points = sorted({min(cut, len(data)) for cut in cuts} | {0, len(data)})
    passed = b"".join(
        bytes(body.feed(data[start:end]))  # a ResponseHeader here would fail the join
        for start, end in itertools.pairwise(points)
    )
    assert passed == data and body.complete


@given(st.binary(min_size=1, max_size=300), st.integers(min_value=1, max_value=50))
def test_any_excess_is_refused_however_it_is_split(data: bytes, excess: int) -> None:
    body = BodyReader(len(data))
    body.feed(data[: len(data) // 2])
    result = body.feed(data[len(data) // 2 :] + b"x" * excess)
    assert isinstance(result, ResponseHeader) and result.status == 59


# --- round trips and robustness ----------------------------------------------------------------

NAMES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1
).filter(lambda name: name not in (".", ".."))


@given(
    st.lists(NAMES, min_size=1, max_size=4),
    st.integers(min_value=0, max_value=10**17),
    st.sampled_from(["text/gemini", "text/plain", "image/png", "text/plain; charset=utf-8"]),
    st.one_of(st.none(), st.text(max_size=20).filter(lambda t: "\x00" not in t)),
)
def test_any_upload_a_client_encodes_is_parsed_back(
    names: list[str], size: int, mime: str, token: str | None
) -> None:
    path = "/" + "/".join(names)
    line = f"titan://example.org{quote(path)};size={size};mime={quote(mime, safe='/')}"
    if token is not None:
        line += f";token={quote(token, safe='')}"
    if len(line.encode()) > 1024:
        return
    assert parse(line) == TitanRequest("example.org", None, path, size, mime, token)


@given(st.binary(max_size=200))
def test_any_bytes_give_a_request_or_an_answer(line: bytes) -> None:
    result = parse(b"titan://example.org/" + line)
    assert isinstance(result, TitanRequest | ResponseHeader)
    if isinstance(result, ResponseHeader):
        assert result.status in (53, 59)
    else:
        assert result.path.startswith("/") and "/../" not in result.path + "/"


# --- answers -----------------------------------------------------------------------------------


def test_a_write_redirects_temporarily_to_the_gemini_url() -> None:
    request = TitanRequest("example.org", 1965, "/notes/a.gmi", 3)
    assert written(request) == ResponseHeader(30, "gemini://example.org/notes/a.gmi")


def test_a_deletion_answers_a_page_saying_so() -> None:
    header, body = deleted(TitanRequest("example.org", None, "/notes/a.gmi", 0))
    assert header == ResponseHeader(20, "text/gemini; charset=utf-8")
    assert body.decode().startswith("# Deleted\n")


@pytest.mark.parametrize(
    ("refusal", "status", "words"),
    [
        (CertificateRequired(), 60, "needed to upload here"),
        (CertificateNotAuthorised(), 61, "may not upload here"),
        (CertificateNotValid("This client certificate expired on 2020-01-01 00:00 UTC"), 62,
         "expired"),
    ],
)
def test_certificate_refusals_speak_of_uploads(
    refusal: AccessRefusal, status: int, words: str
) -> None:
    header = refused(refusal)
    assert header.status == status and words in header.meta


@pytest.mark.parametrize(
    ("status", "word"),
    [(30, "written"), (20, "deleted"), (59, "refused"), (61, "refused"), (44, "refused"),
     (50, "refused"), (40, "failed"), (None, "broken")],
)
def test_an_uploads_answer_names_its_outcome(status: int | None, word: str) -> None:
    assert outcome(status) == word
