"""What the mirror tells web crawlers, over a real HTTP socket: robots.txt and the sitemaps."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from capsule.catalog.store import Catalog
from capsule.publication.generated import Publication, PublicationSettings
from capsule.resources import Robots
from capsule.root import Capsule
from server.mirror.crawlers import Sitemaps, web_robots_txt
from tests.harness import write_page
from tests.server.mirror.conftest import StartMirror
from tests.server.mirror.mirror_client import fetch

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE_URL = "https://news.example/"
# 2026-11-20 10:00:00 UTC and a day later: when the files were last written.
WRITTEN = 1_795_168_800
LATER = WRITTEN + 86_400


@pytest.fixture
def news(tmp_path: Path) -> Path:
    """A news capsule: a home page, a plain page and two articles."""
    root = tmp_path / "news"
    for path, text, mtime in [
        ("/index.gmi", "# Garden News\n{{recent}}\n", WRITTEN),
        ("/about.gmi", "# About\n", WRITTEN),
        ("/2026/11/20/roses & thorns.gmi", "# Roses\n", WRITTEN),
        ("/2026-11-22-compost.gmi", "# Compost\n", LATER),
    ]:
        os.utime(write_page(root, path, text), (mtime, mtime))
    return root


def urls(document: bytes) -> dict[str, str | None]:
    """Each <url>'s loc and lastmod."""
    return {
        url.findtext(f"{NS}loc") or "": url.findtext(f"{NS}lastmod")
        for url in ElementTree.fromstring(document).iter(f"{NS}url")
    }


def stamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


async def test_robots_txt_asks_every_crawler_to_skip_search_and_queries(
    start_mirror: StartMirror, news: Path
) -> None:
    response = await fetch(await start_mirror(root=news, base_url=BASE_URL), "/robots.txt")
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    rules = [line for line in response.text.splitlines() if line and not line.startswith("#")]
    assert rules == [
        "User-agent: *",
        "Disallow: /search",
        "Disallow: /*?",
        "Sitemap: https://news.example/sitemap.xml",
    ]


async def test_robots_txt_without_a_base_url_points_at_the_host_asked_for(
    start_mirror: StartMirror, news: Path
) -> None:
    response = await fetch(await start_mirror(root=news), "/robots.txt")
    assert "Sitemap: http://localhost/sitemap.xml\n" in response.text


async def test_a_robots_txt_in_the_root_wins(start_mirror: StartMirror, news: Path) -> None:
    write_page(news, "/robots.txt", "User-agent: *\nDisallow: /\n")
    response = await fetch(await start_mirror(root=news, base_url=BASE_URL), "/robots.txt")
    assert response.text == "User-agent: *\nDisallow: /\n"


async def test_sitemap_lists_home_archive_and_articles_dated_from_the_catalog(
    start_mirror: StartMirror, news: Path
) -> None:
    response = await fetch(await start_mirror(root=news, base_url=BASE_URL), "/sitemap.xml")
    assert response.status == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    # Articles first seen after their date were imported: published at the start of it, and
    # never changed since, whatever their files' times say.
    compost, roses = "2026-11-22T00:00:00+00:00", "2026-11-20T00:00:00+00:00"
    assert urls(response.body) == {
        # The home page lists the newest articles, so it changes when they do.
        "https://news.example/": compost,
        "https://news.example/archive/": compost,
        "https://news.example/2026-11-22-compost.html": compost,
        "https://news.example/2026/11/20/roses%20%26%20thorns.html": roses,
    }


async def test_sitemap_home_page_ignores_its_file_time(
    start_mirror: StartMirror, news: Path
) -> None:
    copied = LATER + 365 * 86_400  # the home page's file copied a year later, text unchanged
    os.utime(news / "index.gmi", (copied, copied))
    response = await fetch(await start_mirror(root=news, base_url=BASE_URL), "/sitemap.xml")
    assert urls(response.body)["https://news.example/"] == "2026-11-22T00:00:00+00:00"


async def test_sitemap_has_no_numbered_files_while_one_holds_every_url(
    start_mirror: StartMirror, news: Path
) -> None:
    response = await fetch(await start_mirror(root=news, base_url=BASE_URL), "/sitemap-1.xml")
    assert response.status == 404


async def test_sitemap_answers_conditional_requests(
    start_mirror: StartMirror, news: Path
) -> None:
    port = await start_mirror(root=news, base_url=BASE_URL)
    etag = (await fetch(port, "/sitemap.xml")).headers["etag"]
    assert (await fetch(port, "/sitemap.xml", headers=[("If-None-Match", etag)])).status == 304


async def test_a_sitemap_in_the_root_wins(start_mirror: StartMirror, news: Path) -> None:
    write_page(news, "/sitemap.xml", "<urlset/>\n")
    response = await fetch(await start_mirror(root=news, base_url=BASE_URL), "/sitemap.xml")
    assert response.body == b"<urlset/>\n"


def test_mirror_robots_map_capsule_paths_to_mirror_paths() -> None:
    robots = Robots(("/drafts/", "/private.gmi", "/a/index.gmi", "/café"))
    lines = web_robots_txt(robots, None).decode().splitlines()
    assert [line for line in lines if line.startswith("Disallow:")] == [
        "Disallow: /drafts/",
        "Disallow: /private.html",
        "Disallow: /private.gmi",
        "Disallow: /a/$",
        "Disallow: /a/index.gmi",
        "Disallow: /caf%C3%A9",
        "Disallow: /*?",
    ]
    assert not any(line.startswith("Sitemap:") for line in lines)


@pytest.fixture
def capsule(news: Path, tmp_path: Path) -> Capsule:
    catalog = Catalog(news, tmp_path / "catalog.sqlite3")
    catalog.refresh()
    return Capsule(news, publication=Publication(catalog, PublicationSettings(), None))


def test_sitemaps_are_made_once_per_catalog_generation(capsule: Capsule) -> None:
    sitemaps = Sitemaps()
    first = sitemaps.files(capsule, BASE_URL)
    assert sitemaps.files(capsule, BASE_URL) is first
    write_page(capsule.root, "/2026/11/25/bees.gmi", "# Bees\n")
    assert capsule.publication is not None
    capsule.publication.catalog.refresh()
    again = sitemaps.files(capsule, BASE_URL)
    assert "https://news.example/2026/11/25/bees.html" in urls(again["/sitemap.xml"])


def test_sitemaps_come_from_the_catalog_not_the_disk(capsule: Capsule) -> None:
    (capsule.root / "2026-11-22-compost.gmi").unlink()
    listed = urls(Sitemaps().files(capsule, BASE_URL)["/sitemap.xml"])
    assert "https://news.example/2026-11-22-compost.html" in listed


def test_a_capsule_without_a_catalog_has_no_sitemap(news: Path) -> None:
    sitemaps = Sitemaps()
    assert sitemaps.files(Capsule(news), BASE_URL) == {}
    assert sitemaps.url(Capsule(news), BASE_URL) is None
