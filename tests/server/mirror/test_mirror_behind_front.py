"""The mirror behind a front: limits, the access log and absolute URLs see the reader."""

from __future__ import annotations

import io
import ipaddress
from pathlib import Path

import trio
import trio.testing

from server.accesslog import AccessLog
from server.settings.config import LimitSettings
from tests.server.mirror.conftest import StartMirror
from tests.server.mirror.mirror_client import fetch, send_raw, status_of

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)
ELSEWHERE = (ipaddress.ip_network("10.0.0.0/8"),)
TWO_A_BURST = LimitSettings(requests_per_second=0.001, request_burst=2)


class MemoryLog:
    """An access log written to memory."""

    def __init__(self) -> None:
        self.text = io.StringIO()
        self.access_log = AccessLog(self.text)


async def logged_lines(log: MemoryLog) -> list[list[str]]:
    """The access log's lines, split, once the server has logged what it answered and the
    batch is sent."""
    await trio.testing.wait_all_tasks_blocked()
    log.access_log.flush()
    return [line.split() for line in log.text.getvalue().splitlines()]


async def logged_clients(log: MemoryLog) -> list[str]:
    return [fields[2] for fields in await logged_lines(log)]


async def statuses_for(port: int, reader: str, count: int) -> list[int]:
    forwarded = [("X-Forwarded-For", reader)]
    return [(await fetch(port, "/about.html", headers=forwarded)).status for _ in range(count)]


async def test_readers_behind_a_trusted_front_have_budgets_of_their_own(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror(limits=TWO_A_BURST, trusted_proxies=LOOPBACK)
    assert await statuses_for(port, "192.0.2.7", 3) == [200, 200, 429]
    assert await statuses_for(port, "192.0.2.8", 2) == [200, 200]


async def test_forwarding_headers_from_an_untrusted_peer_are_ignored(
    start_mirror: StartMirror,
) -> None:
    log = MemoryLog()
    port = await start_mirror(
        limits=TWO_A_BURST, trusted_proxies=ELSEWHERE, access_log=log.access_log
    )
    assert await statuses_for(port, "192.0.2.7", 2) == [200, 200]
    assert await statuses_for(port, "192.0.2.8", 1) == [429]
    assert set(await logged_clients(log)) == {"127.0.0.1"}


async def test_the_access_log_names_the_reader(start_mirror: StartMirror) -> None:
    log = MemoryLog()
    port = await start_mirror(trusted_proxies=LOOPBACK, access_log=log.access_log)
    await statuses_for(port, "192.0.2.7", 1)
    await fetch(port, "/", headers=[("Forwarded", 'for="[2001:db8::5]:4711"')])
    assert await logged_clients(log) == ["192.0.2.7", "2001:db8::5"]


async def test_the_access_log_keeps_no_query_string(start_mirror: StartMirror) -> None:
    log = MemoryLog()
    port = await start_mirror(access_log=log.access_log)
    await fetch(port, "/search?q=who+reads+what")
    await fetch(port, "/about.html?utm=x")
    paths = [fields[4] for fields in await logged_lines(log)]
    assert paths == ["/search", "/about.html"]


async def test_absolute_urls_take_the_readers_scheme_and_host(
    start_mirror: StartMirror, capsule_root: Path
) -> None:
    (capsule_root / "2026" / "01" / "05").mkdir(parents=True)
    (capsule_root / "2026" / "01" / "05" / "news.gmi").write_text("# News\n")
    port = await start_mirror(trusted_proxies=LOOPBACK)
    front = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "localhost:8443")]
    feed = await fetch(port, "/atom.xml", headers=front)
    assert 'href="https://localhost:8443/2026/01/05/news.html"' in feed.text
    ignored = [("X-Forwarded-Proto", "https")]
    direct = await start_mirror(trusted_proxies=ELSEWHERE)
    assert "https://" not in (await fetch(direct, "/atom.xml", headers=ignored)).text


async def test_a_forwarded_host_that_is_not_ours_is_misdirected(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror(trusted_proxies=LOOPBACK)
    response = await fetch(port, "/", headers=[("X-Forwarded-Host", "evil.example")])
    assert response.status == 421


async def test_a_proxy_header_names_the_client_on_the_mirror(start_mirror: StartMirror) -> None:
    log = MemoryLog()
    port = await start_mirror(
        trusted_proxies=LOOPBACK, access_log=log.access_log, proxy_protocol=True
    )
    request = b"GET /about.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    header = b"PROXY TCP4 192.0.2.9 127.0.0.1 40000 8080\r\n"
    assert status_of(await send_raw(port, header + request)) == 200
    assert await logged_clients(log) == ["192.0.2.9"]


async def test_a_proxy_header_from_an_untrusted_peer_is_refused(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror(trusted_proxies=ELSEWHERE, proxy_protocol=True)
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    header = b"PROXY TCP4 192.0.2.9 127.0.0.1 40000 8080\r\n"
    assert await send_raw(port, header + request) == b""


async def test_a_connection_without_its_proxy_header_is_refused(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror(trusted_proxies=LOOPBACK, proxy_protocol=True)
    with trio.fail_after(10):
        raw = await send_raw(port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert raw == b""
