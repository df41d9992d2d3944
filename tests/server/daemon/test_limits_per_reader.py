"""Per-client limits hold for the whole server, whatever `--workers` is: each client address
is steered to one worker, which counts all of its connections and requests."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from tests.harness import CapsuleProcess, fetch, open_tls

BURST = 5
READERS = ("127.0.0.1", "127.0.0.2")


@pytest.fixture
def capsule(tmp_path: Path) -> Iterator[CapsuleProcess]:
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "2",
        "--requests-per-second", "0.001", "--request-burst", str(BURST),
        "--max-connections-per-ip", "2",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        yield capsule


def gemini_status(capsule: CapsuleProcess, source: str) -> int | None:
    try:
        return trio.run(fetch, capsule.gemini_port, "gemini://localhost/", "localhost",
                        "127.0.0.1", source).status
    except (OSError, trio.BrokenResourceError):
        return None


def http_connection(capsule: CapsuleProcess, source: str) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(
        "127.0.0.1", capsule.http_port, timeout=10, source_address=(source, 0)
    )


def http_status(connection: http.client.HTTPConnection) -> int | None:
    try:
        connection.request("GET", "/", headers={"Host": "localhost"})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return None


@pytest.mark.parametrize("reader", READERS)
def test_one_address_gets_the_gemini_burst_once_across_workers(
    capsule: CapsuleProcess, reader: str
) -> None:
    statuses = [gemini_status(capsule, reader) for _ in range(3 * BURST)]
    assert statuses == [20] * BURST + [44] * (2 * BURST)


def test_one_address_gets_the_mirror_burst_once_across_workers(capsule: CapsuleProcess) -> None:
    statuses = []
    for _ in range(3 * BURST):
        connection = http_connection(capsule, READERS[0])
        statuses.append(http_status(connection))
        connection.close()
    assert statuses == [200] * BURST + [429] * (2 * BURST)


def test_one_address_holds_the_documented_mirror_connections_across_workers(
    capsule: CapsuleProcess,
) -> None:
    held = [http_connection(capsule, READERS[0]) for _ in range(2)]
    try:
        assert [http_status(connection) for connection in held] == [200, 200]
        # Both keep-alive connections stay open: a third from the address is one too many,
        # while another address is served.
        third, other = http_connection(capsule, READERS[0]), http_connection(capsule, READERS[1])
        assert (http_status(third), http_status(other)) == (None, 200)
        third.close()
        other.close()
    finally:
        for connection in held:
            connection.close()


def test_one_address_holds_the_documented_gemini_connections_across_workers(
    capsule: CapsuleProcess,
) -> None:
    async def third_while_two_are_open() -> tuple[int | None, int]:
        held = [
            await open_tls(capsule.gemini_port, source=READERS[0]) for _ in range(2)
        ]
        try:
            try:
                third = (await fetch(capsule.gemini_port, "gemini://localhost/",
                                     source=READERS[0])).status
            except (OSError, trio.BrokenResourceError):
                third = None
            other = await fetch(capsule.gemini_port, "gemini://localhost/", source=READERS[1])
            return third, other.status
        finally:
            for tls in held:
                await trio.aclose_forcefully(tls)

    assert trio.run(third_while_two_are_open) == (None, 20)
