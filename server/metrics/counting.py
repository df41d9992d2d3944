"""The server's counters, gauges and histogram: one method per event the wings and the
daemon report.

The metrics are prometheus-client objects registered nowhere: a process that shares them
(`server.metrics.exposition.share_between_processes`) writes every value to a file that the
exposition sums over the workers. Label children are looked up once and kept, so counting a
request costs a few dictionary lookups and value writes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from server.accesslog import AccessRecord

NO_STATUS = "none"
"""The status label of an exchange that ended before any answer."""


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
        self._request_children: dict[tuple[str, int | None], tuple[Any, Any, Any]] = {}

    def started(self, version: str) -> None:
        """This process starts serving `version` of capsule now."""
        self.start_time.set(time.time())
        self.build.labels(version).set(1)

    def request(self, record: AccessRecord) -> None:
        """One exchange ended, as the access log records it."""
        children = self._request_children.get((record.protocol, record.status))
        if children is None:
            status = NO_STATUS if record.status is None else str(record.status)
            children = self._request_children[record.protocol, record.status] = (
                self._child(self.requests, record.protocol, status),
                self._child(self.response_bytes, record.protocol),
                self._child(self.duration, record.protocol),
            )
        requests, response_bytes, duration = children
        requests.inc()
        response_bytes.inc(record.bytes_sent)
        duration.observe(record.duration)

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
