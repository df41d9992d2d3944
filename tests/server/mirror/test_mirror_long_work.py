"""Work that grows with the capsule (a generated listing) takes a few threads at most: a small
page is answered while more listings than the thread pool holds are asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from server.settings.config import LimitSettings
from tests.harness import HeldListings
from tests.server.gemini.test_gemini_long_work import listed_directory
from tests.server.mirror.conftest import StartMirror
from tests.server.mirror.mirror_client import HttpResponse, fetch

LISTINGS = 45
"""More than trio's default thread limiter (40): listings alone could take every thread."""
LIMITS = LimitSettings(
    requests_per_second=0, long_work_threads=2, max_connections_per_ip=2 * LISTINGS
)


async def test_a_small_page_is_answered_while_listings_are_built(
    start_mirror: StartMirror, capsule_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = listed_directory(capsule_root)
    held = HeldListings(monkeypatch)
    port = await start_mirror(LIMITS)
    listings: list[HttpResponse] = []

    async def listing() -> None:
        listings.append(await fetch(port, listed))

    async with trio.open_nursery() as nursery:
        for _ in range(LISTINGS):
            nursery.start_soon(listing)
        await held.wait_started(LIMITS.long_work_threads)
        await trio.testing.wait_all_tasks_blocked()
        page = await fetch(port, "/")
        held.release()
    assert page.status == 200
    assert held.timed_out == 0, "the page waited for the listings"
    assert held.most_at_once <= LIMITS.long_work_threads
    assert [response.status for response in listings] == [200] * LISTINGS
