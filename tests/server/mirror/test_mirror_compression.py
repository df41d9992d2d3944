"""Compressed answers: gzip when accepted, an ETag per coding, made once, 304 and HEAD kept."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from server.mirror import responses
from tests.server.mirror.conftest import StartMirror
from tests.server.mirror.mirror_client import HttpClient, HttpResponse, fetch

GZIP = [("Accept-Encoding", "gzip, deflate, br")]


async def test_a_page_is_sent_gzipped_to_a_client_that_accepts_it(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror()
    plain = await fetch(port, "/")
    packed = await fetch(port, "/", headers=GZIP)
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body
    assert int(packed.headers["content-length"]) == len(packed.body) < len(plain.body)
    assert plain.headers["vary"] == packed.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize(
    "path", ["/", "/_capsule/style.css", "/long.gmi", "/long.html", "/atom.xml", "/sitemap.xml"]
)
async def test_text_answers_are_compressed(
    start_mirror: StartMirror, capsule_root: Path, path: str
) -> None:
    article = capsule_root / "2026" / "01" / "05" / "news.gmi"
    article.parent.mkdir(parents=True)
    article.write_text("# News\n")
    (capsule_root / "long.gmi").write_text("# Long\n" + "A line of news.\n" * 100)
    port = await start_mirror()
    response = await fetch(port, path, headers=GZIP)
    assert response.headers.get("content-encoding") == "gzip", response.headers


@pytest.mark.parametrize("header", ["gzip;q=0", "identity", "*;q=0", "br"])
async def test_a_client_refusing_gzip_gets_the_body_as_it_is(
    start_mirror: StartMirror, header: str
) -> None:
    port = await start_mirror()
    response = await fetch(port, "/", headers=[("Accept-Encoding", header)])
    assert "content-encoding" not in response.headers
    assert response.body.startswith(b"<!DOCTYPE html>")


async def test_files_from_disk_are_streamed_as_they_are(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    response = await fetch(port, "/files/note.txt", headers=GZIP)
    assert "content-encoding" not in response.headers
    assert response.body == b"a note\n"


async def test_each_coding_has_its_own_etag_and_revalidates_as_itself(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror()
    plain = await fetch(port, "/")
    packed = await fetch(port, "/", headers=GZIP)
    assert plain.headers["etag"] != packed.headers["etag"]
    again = await fetch(port, "/", headers=[*GZIP, ("If-None-Match", packed.headers["etag"])])
    assert (again.status, again.body) == (304, b"")
    assert again.headers["etag"] == packed.headers["etag"]
    assert "content-encoding" not in again.headers
    assert again.headers["vary"] == "Accept-Encoding"
    # The identity's tag does not stand for the gzip representation.
    other = await fetch(port, "/", headers=[*GZIP, ("If-None-Match", plain.headers["etag"])])
    assert other.status == 200


async def test_head_says_what_get_would_send(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    get = await fetch(port, "/", headers=GZIP)
    head = await fetch(port, "/", "HEAD", headers=GZIP)
    assert head.body == b""
    for name in ("content-length", "content-encoding", "etag", "vary"):
        assert head.headers[name] == get.headers[name]


async def test_a_range_request_gets_the_whole_compressed_page(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    response = await fetch(port, "/", headers=[*GZIP, ("Range", "bytes=0-9")])
    assert response.status == 200
    assert gzip.decompress(response.body).startswith(b"<!DOCTYPE html>")


async def test_a_page_is_compressed_once(
    start_mirror: StartMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []
    original: Callable[[bytes, str], bytes] = responses.compress

    def counting(body: bytes, coding: str) -> bytes:
        made.append(len(body))
        return original(body, coding)

    monkeypatch.setattr(responses, "compress", counting)
    port = await start_mirror()
    client = await HttpClient.connect(port)
    answers: list[HttpResponse] = [await client.request("/", headers=GZIP) for _ in range(5)]
    await client.aclose()
    assert len({answer.body for answer in answers}) == 1
    assert len(made) == 1
