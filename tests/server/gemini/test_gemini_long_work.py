"""Work that grows with the capsule (a generated listing) leaves the event loop: a small page is
answered while listings are being built, and only a few are built at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from server.settings.config import LimitSettings
from tests.harness import HeldListings, Response, StartServer, fetch

LIMITS = LimitSettings(requests_per_second=0, long_work_threads=2)
LISTINGS = 5


def listed_directory(root: Path) -> str:
    """A directory of a few pages with a generated listing; its URL path."""
    for number in range(20):
        (root / "big").mkdir(exist_ok=True)
        (root / "big" / f"page-{number}.gmi").write_text(f"# Page {number}\n")
    (root / ".meta").write_text("big/ listing\n")
    return "/big/"


async def test_a_small_page_is_answered_while_listings_are_built(
    start_server: StartServer, capsule_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = listed_directory(capsule_root)
    held = HeldListings(monkeypatch)
    server = await start_server(LIMITS)
    url = f"gemini://localhost:{server.port}"
    listings: list[Response] = []

    async def listing() -> None:
        listings.append(await fetch(server.port, url + listed))

    async with trio.open_nursery() as nursery:
        for _ in range(LISTINGS):
            nursery.start_soon(listing)
        await held.wait_started(1)
        page = await fetch(server.port, url + "/")
        held.release()
    assert page.status == 20
    assert held.timed_out == 0, "the page waited for the listings"
    assert held.most_at_once <= LIMITS.long_work_threads
    assert [response.status for response in listings] == [20] * LISTINGS
    assert b"page-19.gmi" in listings[0].body
