"""Requests tallied in memory and published: the same metrics as counting each one at once."""

from __future__ import annotations

import trio
from prometheus_client import Counter, Histogram
from prometheus_client.samples import Sample

from server.accesslog import AccessRecord
from server.metrics.counting import Metrics

DURATIONS = [0.0, 0.0004, 0.005, 0.0051, 0.3, 2.5, 9.9, 10.0, 31.0, 1e9]


def record(status: int | None, duration: float, protocol: str = "http") -> AccessRecord:
    return AccessRecord("127.0.0.1", "localhost", "/", status, 100, duration, protocol)


def samples(metric: Counter | Histogram) -> list[Sample]:
    return [sample for family in metric.collect() for sample in family.samples
            if not sample.name.endswith("_created")]


def test_published_requests_are_what_counting_each_one_gives() -> None:
    metrics = Metrics()
    requests = Counter("capsule_requests", "", ["protocol", "status"], registry=None)
    duration = Histogram("capsule_request_duration_seconds", "", ["protocol"], registry=None)
    for status in (200, 404, None):
        for seconds in DURATIONS:
            metrics.request(record(status, seconds))
            requests.labels("http", "none" if status is None else str(status)).inc()
            duration.labels("http").observe(seconds)
    assert samples(metrics.requests) == []  # tallied, not yet published
    metrics.publish()
    assert samples(metrics.requests) == samples(requests)
    assert samples(metrics.duration) == samples(duration)
    [sent] = samples(metrics.response_bytes)
    assert sent.value == 3 * len(DURATIONS) * 100


def test_publishing_twice_adds_only_what_came_between() -> None:
    metrics = Metrics()
    metrics.request(record(200, 0.01))
    metrics.publish()
    metrics.publish()
    metrics.request(record(200, 0.01, protocol="gemini"))
    metrics.publish()
    counted = {tuple(s.labels.values()): s.value for s in samples(metrics.requests)
               if s.name == "capsule_requests_total"}
    assert counted == {("http", "200"): 1, ("gemini", "200"): 1}


async def test_a_stop_publishes_what_is_left() -> None:
    metrics = Metrics()
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(metrics.publish_periodically, shutdown)
        await trio.sleep(0)
        metrics.request(record(200, 0.01))
        shutdown.set()
    [total] = [s.value for s in samples(metrics.requests) if s.name == "capsule_requests_total"]
    assert total == 1
