"""The server's counters, gauges and histogram: one method per event the wings and the
daemon report.

The metrics are prometheus-client objects registered nowhere: a process that shares them
(`server.metrics.exposition.share_between_processes`) writes every value to a file that the
exposition sums over the workers. Label children are looked up once and kept.

Requests are the one event counted per request: they are tallied in memory (a few additions)
and added to the metrics once a second by `publish_periodically`, so a scrape sees them at
most `PUBLISH_INTERVAL` late, and a request costs no locked or shared-file writes.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from pathlib import Path
from typing import Any

import trio
from prometheus_client import Counter, Gauge, Histogram

from server.accesslog import AccessRecord

NO_STATUS = "none"
"""The status label of an exchange that ended before any answer."""
PUBLISH_INTERVAL = 1.0
"""Seconds between two additions of the requests tallied to the metrics."""
DURATION_BOUNDS = Histogram.DEFAULT_BUCKETS
"""The upper bounds of the request duration histogram's buckets, +Inf last."""


class _Tally:
    """Requests of one protocol and status since the last publication."""

    __slots__ = ("buckets", "bytes_sent", "count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.bytes_sent = 0
        self.seconds = 0.0
        self.buckets = [0] * len(DURATION_BOUNDS)
        """Requests per duration bucket, each counted in the first bucket it fits, as
        `Histogram.observe` counts it."""


class Metrics:
    """Every metric of one serving process; each method records one kind of event."""

    def __init__(self) -> None:
        self.requests = Counter(
            "capsule_requests", "Requests answered, by protocol and status",
            ["protocol", "status"], registry=None,
        )
        self.response_bytes = Counter(
            "capsule_response_bytes", "Bytes sent in answers (headers and bodies), by protocol",
            ["protocol"], registry=None,
        )
        self.duration = Histogram(
            "capsule_request_duration_seconds", "Time from accepting a request to its last byte",
            ["protocol"], registry=None,
        )
        self.handshakes = Counter(
            "capsule_tls_handshakes", "Gemini TLS handshakes completed, by session resumption",
            ["resumed"], registry=None,
        )
        self.open_connections = Gauge(
            "capsule_open_connections", "Connections being served now, by protocol",
            ["protocol"], registry=None, multiprocess_mode="livesum",
        )
        self.refusals = Counter(
            "capsule_refusals", "Connections or requests refused by a limit, by protocol and limit",
            ["protocol", "limit"], registry=None,
        )
        self.uploads = Counter(
            "capsule_titan_uploads", "Titan uploads, by outcome", ["outcome"], registry=None,
        )
        self.articles = Gauge(
            "capsule_catalog_articles", "Articles in the catalog, by content root",
            ["root"], registry=None, multiprocess_mode="livemax",
        )
        self.refreshed = Gauge(
            "capsule_catalog_refresh_timestamp_seconds",
            "When the catalog last finished a refresh (Unix time), by content root",
            ["root"], registry=None, multiprocess_mode="livemax",
        )
        self.indexing_files = Gauge(
            "capsule_indexing_files",
            "Pages the current (or last) refresh has to index, by content root",
            ["root"], registry=None, multiprocess_mode="livemax",
        )
        self.indexing_done = Gauge(
            "capsule_indexing_files_done",
            "Pages the current (or last) refresh has indexed so far, by content root",
            ["root"], registry=None, multiprocess_mode="livemax",
        )
        self.start_time = Gauge(
            "capsule_start_time_seconds", "When the longest-running serving process started",
            registry=None, multiprocess_mode="livemin",
        )
        self.build = Gauge(
            "capsule_build_info", "Always 1; the label says which capsule is running",
            ["version"], registry=None, multiprocess_mode="livemax",
        )
        self._children: dict[tuple[int | str, ...], Any] = {}
        self._tallies: dict[tuple[str, int | None], _Tally] = {}

    def started(self, version: str) -> None:
        """This process starts serving `version` of capsule now."""
        self.start_time.set(time.time())
        self.build.labels(version).set(1)

    def request(self, record: AccessRecord) -> None:
        """One exchange ended, as the access log records it (published by `publish`)."""
        tally = self._tallies.get((record.protocol, record.status))
        if tally is None:
            tally = self._tallies[record.protocol, record.status] = _Tally()
        tally.count += 1
        tally.bytes_sent += record.bytes_sent
        tally.seconds += record.duration
        tally.buckets[bisect_left(DURATION_BOUNDS, record.duration)] += 1

    def publish(self) -> None:
        """Add the requests tallied since the last call to the metrics."""
        for (protocol, status), tally in self._tallies.items():
            if not tally.count:
                continue
            label = NO_STATUS if status is None else str(status)
            self._child(self.requests, protocol, label).inc(tally.count)
            self._child(self.response_bytes, protocol).inc(tally.bytes_sent)
            duration = self._child(self.duration, protocol)
            # What `observe` would have done request by request, one addition per value.
            # These two attributes are the histogram's own values, the same in every
            # prometheus-client release since multiprocess mode; a test compares the result.
            duration._sum.inc(tally.seconds)
            for bucket, count in enumerate(tally.buckets):
                if count:
                    duration._buckets[bucket].inc(count)
            self._tallies[protocol, status] = _Tally()

    async def publish_periodically(self, shutdown: trio.Event) -> None:
        """Publish every `PUBLISH_INTERVAL` seconds until `shutdown`, and once more then."""
        try:
            while not shutdown.is_set():
                with trio.move_on_after(PUBLISH_INTERVAL):
                    await shutdown.wait()
                self.publish()
        finally:
            self.publish()

    def handshake(self, resumed: bool) -> None:
        """A TLS handshake completed, resuming a session or not."""
        self._child(self.handshakes, "true" if resumed else "false").inc()

    def opened(self, protocol: str) -> None:
        """A connection was admitted."""
        self._child(self.open_connections, protocol).inc()

    def closed(self, protocol: str) -> None:
        """An admitted connection ended."""
        self._child(self.open_connections, protocol).dec()

    def refused(self, protocol: str, limit: str) -> None:
        """A connection or a request was turned away by `limit` (the setting's name)."""
        self._child(self.refusals, protocol, limit).inc()

    def upload(self, outcome: str) -> None:
        """A Titan upload ended with `outcome`."""
        self._child(self.uploads, outcome).inc()

    def catalog(self, root: Path, articles: int) -> None:
        """The catalog of `root` finished a refresh and holds `articles` articles."""
        self._child(self.articles, str(root)).set(articles)
        self._child(self.refreshed, str(root)).set(time.time())

    def indexing(self, root: Path, done: int, total: int) -> None:
        """A refresh of the catalog of `root` has indexed `done` of its `total` pages."""
        self._child(self.indexing_files, str(root)).set(total)
        self._child(self.indexing_done, str(root)).set(done)

    def _child(self, metric: Counter | Gauge | Histogram, *labels: str) -> Any:
        """The labelled child of `metric`, made once."""
        key: tuple[int | str, ...] = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child
