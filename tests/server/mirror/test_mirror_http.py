"""The mirror over real sockets: HTTP/1.1 framing, keep-alive, limits and refusals."""

from __future__ import annotations

from email.utils import formatdate

import trio

from capsule.resources import Gone, Redirect
from server.mirror.responses import CSP
from server.settings.config import LimitSettings
from tests.server.mirror.conftest import StartMirror
from tests.server.mirror.mirror_client import HttpClient, fetch, send_raw, status_of


async def test_two_requests_share_one_connection(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    client = await HttpClient.connect(port)
    first = await client.request("/")
    assert client.reusable
    second = await client.request("/a/b.html")
    await client.aclose()
    assert (first.status, second.status) == (200, 200)
    assert "<h1>Page B</h1>" in second.text


async def test_head_has_the_headers_of_get_and_no_body(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    client = await HttpClient.connect(port)
    head = await client.request("/", method="HEAD")
    get = await client.request("/")
    await client.aclose()
    assert head.body == b""
    assert head.headers["content-length"] == str(len(get.body)) != "0"
    assert head.headers["etag"] == get.headers["etag"]


async def test_file_is_streamed_whole(start_mirror: StartMirror) -> None:
    port = await start_mirror(limits=LimitSettings(requests_per_second=0, chunk_size=3))
    response = await fetch(port, "/files/note.txt")
    assert response.body == b"a note\n"
    assert "last-modified" in response.headers


async def test_if_none_match_answers_304(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    etag = (await fetch(port, "/")).headers["etag"]
    response = await fetch(port, "/", headers=[("If-None-Match", etag)])
    assert response.status == 304
    assert response.body == b""


async def test_if_modified_since_answers_304(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    last_modified = (await fetch(port, "/files/note.txt")).headers["last-modified"]
    response = await fetch(port, "/files/note.txt", headers=[("If-Modified-Since", last_modified)])
    assert response.status == 304


async def test_if_modified_since_before_the_change_gets_the_file(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror()
    since = formatdate(0, usegmt=True)
    response = await fetch(port, "/files/note.txt", headers=[("If-Modified-Since", since)])
    assert response.status == 200


async def test_responses_carry_csp_and_no_sniffing(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    response = await fetch(port, "/")
    assert response.headers["content-security-policy"] == CSP
    assert "script-src" not in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "referrer-policy" in response.headers


async def test_missing_page_is_404(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    response = await fetch(port, "/nothing.html")
    assert response.status == 404
    assert "<h1>404" in response.text


async def test_gone_page_is_410(start_mirror: StartMirror) -> None:
    port = await start_mirror(scripted={"/old.gmi": Gone()})
    assert (await fetch(port, "/old.html")).status == 410


async def test_permanent_redirect_is_301_to_the_mirror_path(start_mirror: StartMirror) -> None:
    port = await start_mirror(scripted={"/old.gmi": Redirect("/a/b.gmi", permanent=True)})
    response = await fetch(port, "/old.html")
    assert (response.status, response.headers["location"]) == (301, "/a/b.html")


async def test_temporary_redirect_is_302_to_the_mirror_path(start_mirror: StartMirror) -> None:
    port = await start_mirror(scripted={"/now.gmi": Redirect("about.gmi", permanent=False)})
    response = await fetch(port, "/now.html")
    assert (response.status, response.headers["location"]) == (302, "/about.html")


async def test_directory_without_slash_redirects_to_it(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    response = await fetch(port, "/a")
    assert (response.status, response.headers["location"]) == (301, "/a/")


async def test_wrong_host_is_421(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    assert (await fetch(port, "/", host="evil.example")).status == 421


async def test_local_names_with_any_port_are_accepted(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    for host in ["localhost:8080", f"127.0.0.1:{port}", "[::1]"]:
        assert (await fetch(port, "/", host=host)).status == 200, host


async def test_base_url_host_is_accepted(start_mirror: StartMirror) -> None:
    port = await start_mirror(base_url="https://mirror.example.org/")
    assert (await fetch(port, "/", host="mirror.example.org")).status == 200


async def test_malformed_request_is_400(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    raw = await send_raw(port, b"GET / HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n")
    assert status_of(raw) == 400


async def test_http11_request_without_host_is_400(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    assert status_of(await send_raw(port, b"GET / HTTP/1.1\r\n\r\n")) == 400


async def test_oversized_headers_are_431(start_mirror: StartMirror) -> None:
    port = await start_mirror(max_header_bytes=1024)
    raw = await send_raw(port, b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"x" * 4096)
    assert status_of(raw) == 431


async def test_post_is_405_with_allow(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    response = await fetch(port, "/", method="POST")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_too_many_requests_is_429_with_retry_after(start_mirror: StartMirror) -> None:
    port = await start_mirror(limits=LimitSettings(requests_per_second=0.01, request_burst=2))
    client = await HttpClient.connect(port)
    statuses = [(await client.request("/")).status for _ in range(2)]
    refused = await client.request("/")
    await client.aclose()
    assert statuses == [200, 200]
    assert refused.status == 429
    assert int(refused.headers["retry-after"]) >= 1


async def test_dot_segments_cannot_leave_the_root(start_mirror: StartMirror) -> None:
    port = await start_mirror()
    for target in ["/../secret.txt", "/a/../../secret.txt", "/%2e%2e/secret.txt",
                   "/a/%2E%2E/%2e%2e/secret.txt", "/..%2fsecret.txt"]:
        response = await fetch(port, target)
        assert b"outside the root" not in response.body, target
        assert response.status == 404, target


async def test_connection_cap_turns_away_extra_connections(start_mirror: StartMirror) -> None:
    port = await start_mirror(limits=LimitSettings(requests_per_second=0, max_connections=1))
    holder = await HttpClient.connect(port)
    assert (await holder.request("/")).status == 200
    assert await send_raw(port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n") == b""
    await holder.aclose()


async def test_idle_keepalive_connection_is_closed(start_mirror: StartMirror) -> None:
    port = await start_mirror(keepalive_timeout=0.2)
    client = await HttpClient.connect(port)
    assert (await client.request("/")).status == 200
    with trio.fail_after(5):
        assert await client.stream.receive_some(1024) == b""
    await client.aclose()
