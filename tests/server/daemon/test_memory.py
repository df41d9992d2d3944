"""Handing memory back: the collector and the heap trim run on their interval, and stop."""

from __future__ import annotations

import gc

import pytest
import trio
import trio.testing

from server.daemon import memory


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    """Virtual time that jumps ahead whenever every task waits."""
    return trio.testing.MockClock(autojump_threshold=0)


async def test_memory_is_released_every_interval_until_shutdown(
    monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    collections: list[float] = []
    monkeypatch.setattr(gc, "collect", lambda: collections.append(trio.current_time()) or 0)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(memory.release_memory, 2.0, shutdown)
        await trio.sleep(7)
        shutdown.set()
    start = collections[0] - 2.0
    assert [round(moment - start) for moment in collections] == [2, 4, 6]


async def test_an_interval_of_zero_never_releases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc, "collect", lambda: pytest.fail("collected") or 0)
    with trio.fail_after(1):
        await memory.release_memory(0, trio.Event())


def test_start_up_objects_are_frozen_and_thawed() -> None:
    memory.freeze_start_up()
    try:
        assert gc.get_freeze_count() > 0
    finally:
        memory.thaw()
    assert gc.get_freeze_count() == 0
