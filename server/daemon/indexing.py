"""Keeping every capsule's catalog in step with the disk, from a worker thread."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import trio

from capsule.catalog.connections import is_unwritable
from capsule.catalog.scan import resources_exhausted
from capsule.catalog.store import Catalog
from server.accesslog import ERROR_LOGGER
from server.settings.config import IndexSettings
from server.throttled_log import ThrottledLog

logger = logging.getLogger(ERROR_LOGGER)

_UNWRITABLE_INTERVAL = 60.0
"""Seconds between two reports of a state directory that takes no writes: it stays so until
the operator acts, and every quick refresh would say it again."""


class _Failures:
    """Where failed refreshes are reported, each kind at most once a second (of trio's clock),
    a state directory that takes no writes once a minute."""

    def __init__(self) -> None:
        self.exhausted = ThrottledLog(logger, clock=trio.current_time)
        self.unwritable = ThrottledLog(logger, _UNWRITABLE_INTERVAL, trio.current_time)
        self.unexpected = ThrottledLog(logger, clock=trio.current_time)


async def keep_fresh(
    catalogs: Callable[[], Sequence[Catalog]], settings: IndexSettings, shutdown: trio.Event
) -> None:
    """Refresh fully at start and every full interval, quickly in between, until shutdown.

    `catalogs` is asked each round, so catalogs added by a reload are picked up. A refresh
    that fails is logged and tried again the next round; only shutdown ends the loop.
    """
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
        for catalog in current:
            full = full_round or id(catalog) not in fully_refreshed
            await _refresh(catalog, full, failures)
            fully_refreshed.add(id(catalog))
        if full_round:
            last_full = now
        with trio.move_on_after(settings.quick_interval):
            await shutdown.wait()


async def _refresh(catalog: Catalog, full: bool, failures: _Failures) -> None:
    started = trio.current_time()
    try:
        changes = await trio.to_thread.run_sync(catalog.refresh, full, abandon_on_cancel=True)
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
        return
    if changes.any:
        logger.info(
            "index of %s: %d added, %d changed, %d removed, %d .meta files changed in %.2fs",
            catalog.root, changes.added, changes.changed, changes.removed, changes.meta_files,
            trio.current_time() - started,
        )
