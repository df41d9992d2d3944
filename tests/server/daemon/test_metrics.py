"""The metrics listener of a real `capsule serve` with two workers, read with
prometheus-client's own parser while both protocols are served."""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from server.metrics.counting import PUBLISH_INTERVAL
from tests.harness import CapsuleProcess, fetch

GEMINI_PAGES = 20
MIRROR_PAGES = 20


def metrics_port(capsule: CapsuleProcess) -> int:
    found = [
        int(match.group(1))
        for line in capsule.stderr_lines
        if (match := re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", line))
    ]
    assert len(found) == 1, capsule.stderr_lines
    return found[0]


def http_get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "localhost"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def scrape(capsule: CapsuleProcess) -> dict[str, list[Sample]]:
    status, body = http_get(metrics_port(capsule), "/metrics")
    assert status == 200
    return {
        family.name: family.samples
        for family in text_string_to_metric_families(body.decode("utf-8"))
    }


def scrape_once_published(capsule: CapsuleProcess, requests: int) -> dict[str, list[Sample]]:
    """A scrape that counts `requests` requests: the workers publish them once a second."""
    deadline = time.monotonic() + 10 * PUBLISH_INTERVAL
    while True:
        families = scrape(capsule)
        counted = sum(
            s.value
            for s in families.get("capsule_requests", [])
            if s.name == "capsule_requests_total"
        )
        if counted >= requests or time.monotonic() > deadline:
            return families
        time.sleep(PUBLISH_INTERVAL / 10)


def value(samples: list[Sample], name: str, **labels: str) -> float:
    matching = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(matching) == 1, (name, labels, samples)
    return matching[0]


@pytest.fixture
def capsule(tmp_path: Path) -> Iterator[CapsuleProcess]:
    root = tmp_path / "root"
    (root / "2026" / "01" / "05").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n")
    (root / "2026" / "01" / "05" / "hello.gmi").write_text("# Hello\n")
    with CapsuleProcess(
        "--root", str(root), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        "--workers", "2", "--metrics", "127.0.0.1:0", "--requests-per-second", "0",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        capsule.wait_for_log("index of", count=2)
        yield capsule


def test_metrics_sum_both_workers_and_both_protocols(capsule: CapsuleProcess) -> None:
    for _ in range(GEMINI_PAGES):
        assert trio.run(fetch, capsule.gemini_port, "gemini://localhost/").status == 20
    assert trio.run(fetch, capsule.gemini_port, "gemini://localhost/missing.gmi").status == 51
    for _ in range(MIRROR_PAGES):
        assert http_get(capsule.http_port, "/")[0] == 200
    assert http_get(capsule.http_port, "/missing.gmi")[0] == 404
    families = scrape_once_published(capsule, 2 * GEMINI_PAGES + 2)

    requests = families["capsule_requests"]
    assert value(requests, "capsule_requests_total", protocol="gemini", status="20") == 20
    assert value(requests, "capsule_requests_total", protocol="gemini", status="51") == 1
    assert value(requests, "capsule_requests_total", protocol="http", status="200") == 20
    assert value(requests, "capsule_requests_total", protocol="http", status="404") == 1
    durations = families["capsule_request_duration_seconds"]
    assert value(durations, "capsule_request_duration_seconds_count", protocol="gemini") == 21
    assert value(durations, "capsule_request_duration_seconds_count", protocol="http") == 21
    sent = families["capsule_response_bytes"]
    assert value(sent, "capsule_response_bytes_total", protocol="gemini") > 21 * len("20 ")
    handshakes = families["capsule_tls_handshakes"]
    assert sum(s.value for s in handshakes if s.name.endswith("_total")) == 21
    articles = families["capsule_catalog_articles"]
    assert [s.value for s in articles] == [1]
    assert [s.value for s in families["capsule_indexing_files_done"]] == [2]
    assert [s.value for s in families["capsule_indexing_files"]] == [2]
    [refreshed] = families["capsule_catalog_refresh_timestamp_seconds"]
    [started] = families["capsule_start_time_seconds"]
    assert started.value <= refreshed.value <= time.time()
    [build] = families["capsule_build_info"]
    assert build.labels["version"] and build.value == 1
    assert all(s.value == 0 for s in families["capsule_open_connections"])


def test_refusals_are_counted_by_limit(tmp_path: Path) -> None:
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--no-http", "--workers", "2", "--metrics", "127.0.0.1:0",
        "--requests-per-second", "0.001", "--request-burst", "1",
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        statuses = [
            trio.run(fetch, capsule.gemini_port, "gemini://localhost/").status for _ in range(6)
        ]
        refusals = scrape(capsule)["capsule_refusals"]
    limited = value(
        refusals, "capsule_refusals_total", protocol="gemini", limit="requests_per_second"
    )
    assert limited == statuses.count(44) > 0


def test_the_metrics_listener_answers_nothing_but_metrics(capsule: CapsuleProcess) -> None:
    assert http_get(metrics_port(capsule), "/status")[0] == 404
