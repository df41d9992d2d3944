"""The mirror behind real nginx and Caddy, each running the example the README shows: readers
on different addresses keep their own budgets and their addresses in the log, absolute URLs
say https, and pages arrive compressed by capsule."""

from __future__ import annotations

import gzip
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import h11
import pytest

from tests.fronts.web_fronts import (
    CADDY_EXAMPLE,
    NGINX_EXAMPLE,
    NGINX_STATIC_EXAMPLE,
    Caddy,
    Front,
    Nginx,
    TestAuthority,
)
from tests.harness import CapsuleProcess, write_page

README = Path(__file__).resolve().parents[2] / "README.md"
BURST = 3


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Deployment:
    """A capsule serve process and a front before its mirror."""

    capsule: CapsuleProcess
    front: Front
    authority: TestAuthority
    access_log: Path

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.front.https_port}"

    def get(
        self, path: str, source: str, headers: Sequence[tuple[str, str]] = ()
    ) -> Answer:
        """One HTTPS request to the front from the loopback address `source`."""
        context = self.authority.client_context()
        return _request(
            ("127.0.0.1", self.front.https_port),
            path,
            source,
            [("Host", f"localhost:{self.front.https_port}"), *headers],
            context,
        )

    def logged(self, path: str) -> list[list[str]]:
        """Access-log lines of `path`, split: time, protocol, client, host, path, status..."""
        lines = [line.split() for line in self.access_log.read_text().splitlines()]
        return [fields for fields in lines if fields[4] == path]

    def wait_until_logged(self, path: str, count: int) -> list[list[str]]:
        deadline = time.monotonic() + 10
        while len(found := self.logged(path)) < count:
            assert time.monotonic() < deadline, found
            time.sleep(0.02)
        return found


def _request(
    address: tuple[str, int],
    path: str,
    source: str,
    headers: Sequence[tuple[str, str]],
    context: ssl.SSLContext | None,
) -> Answer:
    connection = h11.Connection(h11.CLIENT)
    with socket.create_connection(address, timeout=10, source_address=(source, 0)) as raw:
        stream: socket.socket = (
            context.wrap_socket(raw, server_hostname="localhost") if context else raw
        )
        request = h11.Request(method="GET", target=path,
                              headers=[*headers, ("Connection", "close")])
        stream.sendall(connection.send(request) + connection.send(h11.EndOfMessage()))
        head, body = None, bytearray()
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(stream.recv(65536))
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
    assert head is not None
    fields = {name.decode().lower(): value.decode("latin-1") for name, value in head.headers}
    return Answer(head.status_code, fields, bytes(body))


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    front_class = {"nginx": Nginx, "caddy": Caddy}[request.param]
    directory = tmp_path_factory.mktemp(request.param)
    root = directory / "root"
    write_page(root, "index.gmi", "# Front page\n\n{{recent}}\n")
    write_page(root, "2026/01/05/first.gmi", "# The first article\n" + "News.\n" * 200)
    write_page(root, "docs/index.gmi", "# Docs\n")
    authority = TestAuthority.create(directory / "ca")
    access_log = directory / "access.log"
    with CapsuleProcess(
        "--root", str(root), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        "--trusted-proxy", "127.0.0.1",
        "--request-burst", str(BURST), "--requests-per-second", "0.01",
        "--access-log", str(access_log), "--access-log-flush", "0.05",
        state_dir=directory / "state", log_dir=directory,
    ) as capsule:
        front_directory = directory / "front"
        front_directory.mkdir()
        with front_class(front_directory, capsule.http_port, authority) as front:
            yield Deployment(capsule, front, authority, access_log)


def test_readers_on_different_addresses_have_budgets_of_their_own(
    deployment: Deployment,
) -> None:
    first = [deployment.get("/docs/", "127.0.0.2").status for _ in range(BURST + 1)]
    second = [deployment.get("/docs/", "127.0.0.3").status for _ in range(BURST)]
    assert first == [200] * BURST + [429]
    assert second == [200] * BURST


def test_the_access_log_names_each_reader_not_the_front(deployment: Deployment) -> None:
    for source in ("127.0.0.4", "127.0.0.5"):
        assert deployment.get("/2026/01/05/first.html", source).status == 200
    logged = deployment.wait_until_logged("/2026/01/05/first.html", 2)
    assert [fields[2] for fields in logged] == ["127.0.0.4", "127.0.0.5"]


def test_a_readers_own_forwarding_headers_are_not_believed(deployment: Deployment) -> None:
    spoofed = [("X-Forwarded-For", "192.0.2.1"), ("Forwarded", "for=192.0.2.2")]
    assert deployment.get("/index.gmi", "127.0.0.6", spoofed).status == 200
    (logged,) = deployment.wait_until_logged("/index.gmi", 1)
    assert logged[2] == "127.0.0.6"


def test_absolute_urls_and_redirects_say_https(deployment: Deployment) -> None:
    feed = deployment.get("/atom.xml", "127.0.0.7")
    assert f'href="{deployment.origin}/2026/01/05/first.html"' in feed.body.decode()
    assert "http://" not in feed.body.decode().replace("http://www.w3.org", "")
    sitemap = deployment.get("/sitemap.xml", "127.0.0.7")
    assert f"<loc>{deployment.origin}/2026/01/05/first.html</loc>" in sitemap.body.decode()
    moved = deployment.get("/docs", "127.0.0.7")
    assert moved.status == 301
    target = urljoin(deployment.origin + "/docs", moved.headers["location"])
    assert target == f"{deployment.origin}/docs/"


def test_pages_arrive_compressed_by_capsule(deployment: Deployment) -> None:
    plain = deployment.get("/2026/01/05/first.html", "127.0.0.8")
    packed = deployment.get(
        "/2026/01/05/first.html", "127.0.0.8", [("Accept-Encoding", "gzip")]
    )
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["etag"].strip('W/"').endswith("-gzip")
    assert gzip.decompress(packed.body) == plain.body
    assert "content-encoding" not in plain.headers


def test_plain_http_is_sent_to_https(deployment: Deployment) -> None:
    answer = _request(
        ("127.0.0.1", deployment.front.http_port), "/docs/", "127.0.0.9",
        [("Host", "localhost")], None,
    )
    assert answer.status in (301, 308)
    assert answer.headers["location"].startswith("https://localhost")
    assert answer.headers["location"].endswith("/docs/")


@pytest.mark.parametrize(
    ("example", "fence"),
    [
        (NGINX_EXAMPLE, "```nginx\n"),
        (CADDY_EXAMPLE, "```caddyfile\n"),
        (NGINX_STATIC_EXAMPLE, "```nginx\n"),
    ],
)
def test_readme_shows_the_example(example: Path, fence: str) -> None:
    section = README.read_text().split("## The web side in production", 1)[1]
    blocks = [block.split("```", 1)[0] for block in section.split(fence)[1:]]
    assert example.read_text() in blocks
