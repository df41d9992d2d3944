"""Keeping every capsule's catalog in step with the disk, from a worker thread, and saying
how far it got: in the log, to systemd and in the metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from capsule.catalog.connections import is_unwritable
from capsule.catalog.scan import resources_exhausted
from capsule.catalog.store import Catalog
from server.accesslog import ERROR_LOGGER
from server.metrics.counting import Metrics
from server.settings.config import IndexSettings
from server.throttled_log import ThrottledLog

logger = logging.getLogger(ERROR_LOGGER)

_UNWRITABLE_INTERVAL = 60.0
"""Seconds between two reports of a state directory that takes no writes: it stays so until
the operator acts, and every quick refresh would say it again."""

REPORT_EVERY = 1000
"""Pages between two progress lines (log and systemd status) of a long refresh."""

Report = Callable[[str], None]
"""Shows one line saying what the server is doing (systemd's status)."""


class _Failures:
    """Where failed refreshes are reported, each kind at most once a second (of trio's clock),
    a state directory that takes no writes once a minute."""

    def __init__(self) -> None:
        self.exhausted = ThrottledLog(logger, clock=trio.current_time)
        self.unwritable = ThrottledLog(logger, _UNWRITABLE_INTERVAL, trio.current_time)
        self.unexpected = ThrottledLog(logger, clock=trio.current_time)


@dataclass(frozen=True, slots=True)
class _Progress:
    """Follows one refresh from its thread; raises trio.Cancelled there once the server stops."""

    root: Path
    metrics: Metrics
    report: Report

    def __call__(self, done: int, total: int) -> None:
        trio.from_thread.check_cancelled()
        if total:
            self.metrics.indexing(self.root, done, total)
        if total >= REPORT_EVERY and done and (done % REPORT_EVERY == 0 or done == total):
            logger.info("indexing %s: %d of %d pages", self.root, done, total)
            self.report(f"indexing {done:,} of {total:,} pages of {self.root}")


async def keep_fresh(
    catalogs: Callable[[], Sequence[Catalog]],
    settings: IndexSettings,
    shutdown: trio.Event,
    metrics: Metrics | None = None,
    report: Report = lambda text: None,
) -> None:
    """Refresh fully at start and every full interval, quickly in between, until shutdown.

    `catalogs` is asked each round, so catalogs added by a reload are picked up. A refresh
    that fails is logged and tried again the next round; only shutdown ends the loop. A
    refresh under way stops within a page when the caller's scope is cancelled.
    """
    metrics = metrics if metrics is not None else Metrics()
    failures = _Failures()
    last_full = None
    fully_refreshed: set[int] = set()
    while not shutdown.is_set():
        now = trio.current_time()
        full_round = last_full is None or now - last_full >= settings.full_interval
        try:
            current = catalogs()
        except Exception:
            failures.unexpected.exception("listing the catalogs to index failed")
            current = ()
        changed = False
        for catalog in current:
            full = full_round or id(catalog) not in fully_refreshed
            progress = _Progress(catalog.root, metrics, report)
            changed = await _refresh(catalog, full, failures, progress) or changed
            fully_refreshed.add(id(catalog))
            metrics.catalog(catalog.root, len(catalog.articles))
        if changed:
            articles = sum(len(catalog.articles) for catalog in current)
            report(f"serving {articles:,} article{'' if articles == 1 else 's'}")
        if full_round:
            last_full = now
        with trio.move_on_after(settings.quick_interval):
            await shutdown.wait()


async def _refresh(
    catalog: Catalog, full: bool, failures: _Failures, progress: _Progress
) -> bool:
    """One refresh; whether it changed anything."""
    started = trio.current_time()
    try:
        changes = await trio.to_thread.run_sync(catalog.refresh, full, progress)
    except Exception as error:
        if isinstance(error, OSError) and resources_exhausted(error):
            failures.exhausted.warning(
                "indexing %s skipped: %s; serving the previous index until the next refresh",
                catalog.root, error,
            )
        elif is_unwritable(error):
            failures.unwritable.warning(
                "indexing %s skipped: %s; serving the previous index until the state directory "
                "can be written again", catalog.root, error,
            )
        else:
            failures.unexpected.exception(
                "indexing %s failed; serving the previous index", catalog.root
            )
        return False
    if changes.any:
        logger.info(
            "index of %s: %d added, %d changed, %d removed, %d .meta files changed in %.2fs",
            catalog.root, changes.added, changes.changed, changes.removed, changes.meta_files,
            trio.current_time() - started,
        )
    return changes.any
