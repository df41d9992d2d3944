"""Scale-out: two `capsule serve` replicas over one root, behind a real HAProxy in TCP mode."""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certs import create_self_signed
from tests.harness import CapsuleProcess, Response, fetch, write_page
from tests.scaleout.balancer import EXAMPLE_CONFIG, HAProxy, haproxy_executable

README = Path(__file__).resolve().parents[2] / "README.md"
CLIENT = "127.0.0.2"
"""The clients' source address: loopback, but not the balancer's 127.0.0.1."""
QUICK_INTERVAL = 0.25
CATALOG_DEADLINE = 40 * QUICK_INTERVAL
"""A bound for a shared, busy machine; the full refresh (10 minutes here) is far off."""
HOME = "# Scaled out\n\n{{recent}}\n"
CLIENTS = 4
BEFORE_STOP = 20
AFTER_DOWN = 20


@dataclass
class Cluster:
    """Two replicas sharing a root and a certificate, and the balancer in front of them."""

    root: Path
    certificate: bytes
    replicas: tuple[CapsuleProcess, CapsuleProcess]
    balancer: HAProxy

    def request(self, path: str = "/") -> Response:
        """One Gemini request through the balancer, from the client address."""
        return trio.run(self.fetch, path)

    async def fetch(self, path: str = "/") -> Response:
        return await fetch(self.balancer.port, f"gemini://localhost{path}", source=CLIENT)


@contextmanager
def running_cluster(directory: Path) -> Iterator[Cluster]:
    """Start the replicas, then HAProxy in front of them; stop all three by PID on exit."""
    haproxy_executable()
    root = directory / "root"
    write_page(root, "index.gmi", HOME)
    write_page(root, "2026/01/05/first.gmi", "# The first article\n")
    for page in ("address", "certificate"):
        write_page(root, f"{page}.gmi", f"# {page}\n")
    cert_dir = directory / "certs"
    pair = cert_dir / "localhost"
    pair.mkdir(parents=True)
    create_self_signed(["localhost"], pair / "cert.pem", pair / "key.pem")
    certificate = x509.load_pem_x509_certificate((pair / "cert.pem").read_bytes())
    config = directory / "capsule.toml"
    config.write_text(
        f'root = "{root}"\ncert_dir = "{cert_dir}"\nlisten = ["127.0.0.1:0"]\n'
        f"[mirror]\nenabled = false\n[limits]\nrequests_per_second = 0\n"
        f"[index]\nquick_interval = {QUICK_INTERVAL}\nfull_interval = 600\n"
    )
    with ExitStack() as stack:
        replicas = []
        for name in ("replica1", "replica2"):
            (directory / name).mkdir()
            replica = CapsuleProcess(
                "--config",
                str(config),
                "--proxy-protocol",
                "--trusted-proxy",
                "127.0.0.1",
                state_dir=directory / name / "state",
                log_dir=directory / name,
            )
            replicas.append(stack.enter_context(replica))
        ports = [replica.gemini_port for replica in replicas]
        balancer = stack.enter_context(HAProxy(directory, ports))
        yield Cluster(
            root, certificate.public_bytes(Encoding.DER), (replicas[0], replicas[1]), balancer
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def logged(replica: CapsuleProcess, path: str) -> list[list[str]]:
    """The fields of the replica's access-log lines (its stdout) for requests of `path`:
    time, protocol, client, host, path, status, bytes, duration."""
    lines = [line.split() for line in replica.stdout_path.read_text().splitlines()]
    return [fields for fields in lines if len(fields) > 6 and fields[4] == path]


def wait_until_logged(cluster: Cluster, path: str, count: int) -> None:
    """Block until the replicas together have logged `count` requests of `path`: a line is
    written once its response went out, so the client can be a moment ahead of the log."""
    deadline = time.monotonic() + 10
    while sum(len(logged(replica, path)) for replica in cluster.replicas) < count:
        assert time.monotonic() < deadline, [logged(r, path) for r in cluster.replicas]
        time.sleep(0.02)


def test_requests_through_the_balancer_reach_both_replicas(cluster: Cluster) -> None:
    responses = [cluster.request("/2026/01/05/first.gmi") for _ in range(6)]
    assert {(response.status, response.body) for response in responses} == {
        (20, b"# The first article\n")
    }
    wait_until_logged(cluster, "/2026/01/05/first.gmi", 6)
    assert all(logged(replica, "/2026/01/05/first.gmi") for replica in cluster.replicas)


def test_both_replicas_log_the_clients_address_not_the_balancers(cluster: Cluster) -> None:
    assert [cluster.request("/address.gmi").status for _ in range(4)] == [20] * 4
    wait_until_logged(cluster, "/address.gmi", 4)
    for replica in cluster.replicas:
        assert {fields[2] for fields in logged(replica, "/address.gmi")} == {CLIENT}


def test_both_replicas_present_the_one_certificate(cluster: Cluster) -> None:
    certificates = {cluster.request("/certificate.gmi").peer_certificate for _ in range(4)}
    assert certificates == {cluster.certificate}
    wait_until_logged(cluster, "/certificate.gmi", 4)
    assert all(logged(replica, "/certificate.gmi") for replica in cluster.replicas)


def test_new_article_in_the_shared_root_appears_through_the_balancer(cluster: Cluster) -> None:
    link = "=> /2026/02/10/second.gmi 2026-02-10 The second article"
    assert link not in cluster.request("/feed.gmi").body.decode()
    wait_until_logged(cluster, "/feed.gmi", 1)
    (without,) = [int(fields[6]) for r in cluster.replicas for fields in logged(r, "/feed.gmi")]
    write_page(cluster.root, "2026/02/10/second.gmi", "# The second article\n")
    # Each replica refreshes its own catalog, and round robin alternates between them: wait
    # for two answers in a row that list the article.
    deadline = time.monotonic() + CATALOG_DEADLINE
    requests, in_a_row = 1, 0
    while in_a_row < len(cluster.replicas):
        assert time.monotonic() < deadline, "the new article never appeared on both replicas"
        requests += 1
        in_a_row = in_a_row + 1 if link in cluster.request("/feed.gmi").body.decode() else 0
    # Both replicas' latest feeds were the longer one that lists it.
    wait_until_logged(cluster, "/feed.gmi", requests)
    latest = [int(logged(replica, "/feed.gmi")[-1][6]) for replica in cluster.replicas]
    assert min(latest) > without


def test_stopping_a_replica_under_load_loses_no_request(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as cluster:
        outcomes, exit_code, backend = trio.run(_stream_while_stopping, cluster)
    assert exit_code == 0
    assert [outcome for outcome in outcomes if outcome != "20 Scaled out"] == []
    # The balancer did send connections to the stopped replica, and moved them elsewhere.
    assert int(backend["wredis"]) > 0
    wait_until_logged(cluster, "/", len(outcomes))
    assert all(logged(replica, "/") for replica in cluster.replicas)


async def _stream_while_stopping(cluster: Cluster) -> tuple[list[str], int, dict[str, str]]:
    """Requests from CLIENTS clients in a row through the balancer; after BEFORE_STOP answers
    the first replica gets SIGTERM, and the stream goes on until HAProxy's health checks
    have marked it down and AFTER_DOWN more answers came. Returns every answer (status and
    title) or error, the replica's exit code, and HAProxy's counters for the backend."""
    outcomes: list[str] = []
    send, receive = trio.open_memory_channel[str](math.inf)

    async def client() -> None:
        while True:
            try:
                response = await cluster.fetch()
                outcome = f"{response.status} {response.body.decode().splitlines()[0][2:]}"
            except (OSError, ssl.SSLError, trio.BrokenResourceError, trio.TooSlowError) as error:
                outcome = repr(error)
            send.send_nowait(outcome)

    async def collect(count: int) -> None:
        for _ in range(count):
            outcomes.append(await receive.receive())

    async with trio.open_nursery() as nursery:
        for _ in range(CLIENTS):
            nursery.start_soon(client)
        await collect(BEFORE_STOP)
        exit_code = await trio.to_thread.run_sync(cluster.replicas[0].stop)
        await trio.to_thread.run_sync(cluster.balancer.wait_for_status, "capsule1", "DOWN")
        stats = await trio.to_thread.run_sync(cluster.balancer.stats)
        await collect(AFTER_DOWN)
        nursery.cancel_scope.cancel()
    while True:
        try:
            outcomes.append(receive.receive_nowait())
        except trio.WouldBlock:
            return outcomes, exit_code, stats["BACKEND"]


def test_readme_shows_the_example_config() -> None:
    section = README.read_text().split("### Past one machine", 1)[1]
    block = section.split("```haproxy\n", 1)[1].split("```", 1)[0]
    assert block == EXAMPLE_CONFIG.read_text()
