"""Keeping every capsule's catalog in step with the disk, from a worker thread, when the kernel
reports a change or at intervals; and saying how far it got: in the log, to systemd and in the
metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from capsule.catalog.connections import is_unwritable
from capsule.catalog.scan import resources_exhausted
from capsule.catalog.store import Catalog, Changes
from server.accesslog import ERROR_LOGGER
from server.daemon.watching import DiskWatch
from server.metrics.counting import Metrics
from server.settings.config import IndexSettings
from server.throttled_log import ThrottledLog

logger = logging.getLogger(ERROR_LOGGER)

_UNWRITABLE_INTERVAL = 60.0
"""Seconds between two reports of a state directory that takes no writes: it stays so until
the operator acts, and every quick refresh would say it again."""

REPORT_EVERY = 1000
"""Pages between two progress lines (log and systemd status) of a long refresh."""

GAUGE_EVERY = 100
"""Pages between two updates of the indexing gauges: updating them at every page made the first
listing of 100,000 pages 8% slower."""

Report = Callable[[str], None]
"""Shows one line saying what the server is doing (systemd's status)."""

_SETTLE_SECONDS = 0.1
"""How long the disk must stay quiet after a reported change before the catalog re-reads it."""


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
        if total and (done % GAUGE_EVERY == 0 or done == total):
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
    """Refresh fully at start, then keep every catalog in step with the disk until shutdown.

    Where the kernel reports changes (`settings.watch` and inotify), a writing catalog
    re-reads only the directories touched, once writes settle, and a full refresh comes every
    `rescan_interval` as a safety net; otherwise every catalog refreshes quickly every
    `quick_interval` and fully every `full_interval`. Catalogs that follow another process's
    index only reload it, every `quick_interval`. `catalogs` is asked each round, so catalogs
    added by a reload are picked up. A refresh that fails is logged and tried again the next
    round; only shutdown ends the loop. A refresh under way stops within a page when the
    caller's scope is cancelled.
    """
    metrics = metrics if metrics is not None else Metrics()
    async with trio.open_nursery() as nursery:
        watch = DiskWatch.open() if settings.watch else None
        if watch is not None:
            nursery.start_soon(watch.run)
        await _refresh_until(shutdown, catalogs, settings, watch, metrics, report)
        nursery.cancel_scope.cancel()


async def _refresh_until(
    shutdown: trio.Event,
    catalogs: Callable[[], Sequence[Catalog]],
    settings: IndexSettings,
    watch: DiskWatch | None,
    metrics: Metrics,
    report: Report,
) -> None:
    failures = _Failures()
    last_full = trio.current_time()
    fully_refreshed: set[int] = set()
    while not shutdown.is_set():
        watching = watch is not None and watch.active
        full_interval = settings.rescan_interval if watching else settings.full_interval
        now = trio.current_time()
        full_round = now - last_full >= full_interval
        try:
            current = catalogs()
        except Exception:
            failures.unexpected.exception("listing the catalogs to index failed")
            current = ()
        polling = not watching
        changed = False
        for catalog in current:
            full = full_round or id(catalog) not in fully_refreshed
            touched: frozenset[str] | None = frozenset()
            if watch is not None and watching and catalog.writer:
                touched = watch.take(catalog)
                if not full and touched == frozenset():
                    continue  # the kernel reported nothing: nothing to do
            else:
                polling = True
            progress = _Progress(catalog.root, metrics, report)
            changes = await _refresh(
                catalog, full or touched is None, failures, touched or frozenset(), progress
            )
            if changes is None:
                # What the kernel reported is taken: a full refresh, soon, finds it again.
                fully_refreshed.discard(id(catalog))
                polling = True
                continue
            changed = changes.any or changed
            fully_refreshed.add(id(catalog))
            metrics.catalog(catalog.root, len(catalog.articles))
            if watch is not None and catalog.writer:
                watch.follow(catalog)
        if changed:
            articles = sum(len(catalog.articles) for catalog in current)
            report(f"serving {articles:,} article{'' if articles == 1 else 's'}")
        if full_round:
            last_full = now
        wait = settings.quick_interval if polling else last_full + full_interval - now
        await _next_round(shutdown, watch, wait)


async def _next_round(shutdown: trio.Event, watch: DiskWatch | None, wait: float) -> None:
    """Return after `wait` seconds, at shutdown, or once a change reported by `watch` has
    settled (writes come in bursts: one refresh for the burst)."""
    with trio.move_on_after(wait):
        if watch is None or not watch.active:
            await shutdown.wait()
            return
        async with trio.open_nursery() as nursery:

            async def stop_at_shutdown() -> None:
                await shutdown.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(stop_at_shutdown)
            await watch.wake.receive()
            with trio.move_on_after(_SETTLE_SECONDS):
                await shutdown.wait()
            nursery.cancel_scope.cancel()


async def _refresh(
    catalog: Catalog,
    full: bool,
    failures: _Failures,
    touched: frozenset[str],
    progress: _Progress,
) -> Changes | None:
    """One refresh: what it changed, None if it failed (logged)."""
    started = trio.current_time()
    try:
        changes = await trio.to_thread.run_sync(catalog.refresh, full, touched, progress)
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
        return None
    if changes.any:
        logger.info(
            "index of %s: %d added, %d changed, %d removed, %d .meta files changed in %.2fs",
            catalog.root, changes.added, changes.changed, changes.removed, changes.meta_files,
            trio.current_time() - started,
        )
    return changes
