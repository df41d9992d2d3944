"""Accept-Encoding and the codings the mirror sends, without sockets."""

from __future__ import annotations

import gzip

import pytest

from server.mirror.encoding import accepted, choose, compress, compressible


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, None),
        ("", None),
        ("gzip", "gzip"),
        ("GZIP", "gzip"),
        ("deflate, gzip;q=0.5", "gzip"),
        ("gzip;q=0", None),
        ("gzip; q=0.0", None),
        ("gzip;q=0.001", "gzip"),
        ("*", "gzip"),
        ("*;q=0", None),
        ("*, gzip;q=0", None),
        ("gzip;q=0, *", None),
        ("identity", None),
        ("br", None),
        ("gzip;q=1.5", None),
        ("gzip;q=nonsense", None),
        ("x-gzip", None),
        ("gzip;level=9;q=0.2", "gzip"),
        (" , ,gzip", "gzip"),
    ],
)
def test_the_coding_chosen_for_an_accept_encoding(header: str | None, chosen: str | None) -> None:
    assert choose(header) == chosen


def test_weights_are_read_with_their_codings() -> None:
    assert accepted("br;q=1.0, gzip;q=0.8, *;q=0.1") == {"br": 1.0, "gzip": 0.8, "*": 0.1}


def test_the_first_offered_coding_wins_a_tie() -> None:
    assert choose("gzip, br", ("br", "gzip")) == "br"
    assert choose("gzip, br;q=0.9", ("br", "gzip")) == "gzip"


def test_compression_is_the_same_bytes_every_time() -> None:
    body = b"<p>news</p>\n" * 100
    assert compress(body, "gzip") == compress(body, "gzip")
    assert gzip.decompress(compress(body, "gzip")) == body


@pytest.mark.parametrize(
    ("content_type", "size", "expected"),
    [
        ("text/html; charset=utf-8", 1000, True),
        ("text/css; charset=utf-8", 1000, True),
        ("application/xml", 1000, True),
        ("application/atom+xml; charset=utf-8", 1000, True),
        ("text/plain; charset=utf-8", 1000, True),
        ("image/png", 1000, False),
        ("text/html; charset=utf-8", 100, False),
    ],
)
def test_what_is_compressed(content_type: str, size: int, expected: bool) -> None:
    assert compressible(content_type, size) is expected
