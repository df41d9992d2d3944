"""What the mirror tells web crawlers, over a real HTTP socket: robots.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsule.resources import Robots
from server.mirror.crawlers import web_robots_txt
from tests.harness import write_page
from tests.mirror.conftest import StartMirror
from tests.mirror.mirror_client import fetch


@pytest.fixture
def news(tmp_path: Path) -> Path:
    """A news capsule: a home page and an article."""
    root = tmp_path / "news"
    write_page(root, "/index.gmi", "# Garden News\n{{recent}}\n")
    write_page(root, "/2026-11-22-compost.gmi", "# Compost\n")
    return root


async def test_robots_txt_asks_every_crawler_to_skip_search_and_queries(
    start_mirror: StartMirror, news: Path
) -> None:
    response = await fetch(await start_mirror(root=news), "/robots.txt")
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    rules = [line for line in response.text.splitlines() if line and not line.startswith("#")]
    assert rules == ["User-agent: *", "Disallow: /search", "Disallow: /*?"]


async def test_a_robots_txt_in_the_root_wins(start_mirror: StartMirror, news: Path) -> None:
    write_page(news, "/robots.txt", "User-agent: *\nDisallow: /\n")
    response = await fetch(await start_mirror(root=news), "/robots.txt")
    assert response.text == "User-agent: *\nDisallow: /\n"


def test_mirror_robots_map_capsule_paths_to_mirror_paths() -> None:
    robots = Robots(("/drafts/", "/private.gmi", "/a/index.gmi", "/café"))
    lines = web_robots_txt(robots).decode().splitlines()
    assert [line for line in lines if line.startswith("Disallow:")] == [
        "Disallow: /drafts/",
        "Disallow: /private.html",
        "Disallow: /private.gmi",
        "Disallow: /a/$",
        "Disallow: /a/index.gmi",
        "Disallow: /caf%C3%A9",
        "Disallow: /*?",
    ]
