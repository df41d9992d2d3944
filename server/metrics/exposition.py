"""Metrics shared by every process of a server, summed into one Prometheus text page.

prometheus-client's multi-process mode keeps each process's values in memory-mapped files in
one directory, and reads them all for a scrape. The library finds that directory through the
environment, so it is set once, in the first process, before any metric is made: the workers
it forks inherit it.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of the text exposition format."""
_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def share_between_processes(directory: Path) -> None:
    """Make every metric created from now on, in this process and those it forks, keep its
    values in files in `directory` (empty, and private to this server)."""
    os.environ[_DIRECTORY_VARIABLE] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def forget_process(pid: int, directory: Path) -> None:
    """Drop the gauges of a process that has exited (its counters still count)."""
    mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def render(directory: Path) -> bytes:
    """The text exposition of every process's metrics in `directory`, summed."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry)
