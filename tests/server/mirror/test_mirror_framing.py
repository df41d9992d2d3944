"""Where a request head ends, how large it may be, and which shapes smuggle (no sockets)."""

from __future__ import annotations

import h11
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.mirror.request import Refusal, request_head, smuggling_refusal

HEAD = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def test_head_ends_with_its_blank_line() -> None:
    assert request_head(HEAD + b"GET /next HTTP/1.1\r\n", limit=1024) == HEAD


def test_incomplete_head_needs_more_bytes() -> None:
    assert request_head(HEAD[:-1], limit=1024) is None


def test_head_of_exactly_the_limit_is_complete() -> None:
    assert request_head(HEAD, limit=len(HEAD)) == HEAD


def test_head_one_byte_over_the_limit_is_too_large() -> None:
    assert request_head(HEAD, limit=len(HEAD) - 1) is Refusal.HEAD_TOO_LARGE


def test_unfinished_head_reaching_the_limit_is_too_large() -> None:
    assert request_head(HEAD[:-1], limit=len(HEAD) - 1) is Refusal.HEAD_TOO_LARGE


def test_bare_line_feeds_end_a_head_as_in_h11() -> None:
    head = b"GET / HTTP/1.1\nHost: localhost\n\n"
    assert request_head(head + b"rest", limit=1024) == head


@pytest.mark.parametrize("data", [b"\r\nGET / HTTP/1.1\r\n", b"\nGET / HTTP/1.1\r\n"])
def test_leading_empty_line_is_a_head_of_its_own(data: bytes) -> None:
    assert request_head(data, limit=1024) == data[: data.index(b"\n") + 1]


def test_search_resumes_across_a_split_blank_line() -> None:
    first = HEAD[:-3]
    assert request_head(first, limit=1024) is None
    assert request_head(HEAD, limit=1024, searched=len(first)) == HEAD


@given(st.sets(st.integers(min_value=1, max_value=len(HEAD) - 1)))
def test_head_is_found_however_its_bytes_arrive(cuts: set[int]) -> None:
    data = bytearray()
    found = []
    for end in [*sorted(cuts), len(HEAD)]:
        searched = len(data)
        data += HEAD[searched:end]
        found.append(request_head(data, limit=1024, searched=searched))
    assert found == [None] * len(cuts) + [HEAD]


HEAD_BYTES = st.lists(st.sampled_from([b"\r", b"\n", b"X-A", b": ", b"b", b" "]), max_size=12)


@given(HEAD_BYTES.map(b"".join))
def test_head_ends_where_h11_ends_it(tail: bytes) -> None:
    data = b"GET / HTTP/1.1\r\nHost: x\r\n" + tail
    head = request_head(data, limit=1024)
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(data)
    try:
        event = connection.next_event()
    except h11.RemoteProtocolError:
        return
    assert (head is None) == (event is h11.NEED_DATA)
    if isinstance(head, bytes):
        assert connection.trailing_data[0] == data[len(head) :]


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        b"content-length: 0\r\ntransfer-encoding: identity\r\n",
        b"Content-Length: 1\r\nContent-Length: 2\r\n",
        b"Content-Length: 1, 2\r\n",
        b"X-Folded: a\r\n b\r\n",
        b"X-Folded: a\r\n\tb\r\n",
        b" Host: localhost\r\n",
    ],
)
def test_smuggling_shapes_are_malformed(headers: bytes) -> None:
    head = b"GET / HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n"
    assert smuggling_refusal(head) is Refusal.MALFORMED


@pytest.mark.parametrize(
    "headers",
    [
        b"",
        b"Content-Length: 5\r\n",
        b"Content-Length: 5\r\nContent-Length: 5\r\n",
        b"Content-Length: 5, 5\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"X-Spaces: a b\tc\r\n",
    ],
)
def test_plain_framing_passes(headers: bytes) -> None:
    head = b"GET / HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n"
    assert smuggling_refusal(head) is None
