"""Archive, feeds and search served by a real `capsule serve`, on Gemini and on the mirror."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import trio

from tests.harness import CapsuleProcess, fetch, write_page
from tests.server.mirror.mirror_client import fetch as http_fetch

ATOM = "{http://www.w3.org/2005/Atom}"
NEW_ARTICLE = "/2026/11/25/beekeeping.gmi"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Garden News\n{{recent 5}}\n=> /archive/ Archive\n")
    write_page(root, "/2026/11/20/roses.gmi", "# Roses in winter\nPruning roses before frost.\n")
    write_page(root, "/2026-11-22-compost.gmi", "# Compost\nTurning the compost heap.\n")
    return root


@pytest.fixture
def capsule(root: Path, tmp_path: Path) -> Iterator[CapsuleProcess]:
    with CapsuleProcess(
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--root",
        str(root),
        "--index-interval",
        "0.2",
        "--full-index-interval",
        "1",
        state_dir=tmp_path / "state",
        log_dir=tmp_path,
    ) as process:
        yield process


def gemini(capsule: CapsuleProcess, path: str) -> tuple[str, str]:
    response = trio.run(
        fetch, capsule.gemini_port, f"gemini://localhost:{capsule.gemini_port}{path}"
    )
    return response.header.decode(), response.body.decode()


def http(capsule: CapsuleProcess, path: str) -> tuple[int, str, str]:
    response = trio.run(
        http_fetch, capsule.http_port, path, "GET", (), f"localhost:{capsule.http_port}"
    )
    return response.status, response.headers.get("content-type", ""), response.text


def eventually(check: Callable[[], bool], seconds: float = 15) -> None:
    """Ask again until the index has caught up with the disk, as a reader would."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the index did not catch up within the deadline")
        time.sleep(0.1)


def atom_links(xml: str) -> list[str]:
    root = ElementTree.fromstring(xml)
    return [
        link.get("href", "")
        for entry in root.iter(f"{ATOM}entry")
        for link in entry.iter(f"{ATOM}link")
    ]


def test_gemini_serves_archive_gemfeed_atom_and_search(capsule: CapsuleProcess) -> None:
    eventually(lambda: "Roses in winter" in gemini(capsule, "/feed.gmi")[1])
    header, archive = gemini(capsule, "/archive/")
    assert header.startswith("20 text/gemini")
    assert "=> /archive/2026/11/ November 2026 (2 articles)" in archive
    _, index = gemini(capsule, "/")
    assert "=> /2026-11-22-compost.gmi 2026-11-22 Compost" in index
    header, atom = gemini(capsule, "/atom.xml")
    assert header == "20 application/atom+xml; charset=utf-8"
    assert f"gemini://localhost:{capsule.gemini_port}/2026/11/20/roses.gmi" in atom_links(atom)
    assert gemini(capsule, "/search")[0] == "10 Search this capsule"
    _, results = gemini(capsule, "/search?pruning%20ROSES")
    assert "=> /2026/11/20/roses.gmi 2026-11-20 Roses in winter" in results
    assert "=> /search/newest?pruning%20ROSES Show newest first" in results
    header, newest = gemini(capsule, "/search/newest?pruning%20ROSES")
    assert header.startswith("20 text/gemini") and "1 page matches, newest first" in newest


def test_mirror_serves_the_same_archive_feeds_and_search(capsule: CapsuleProcess) -> None:
    eventually(lambda: "Roses in winter" in http(capsule, "/feed.html")[2])
    status, content_type, archive = http(capsule, "/archive/")
    assert (status, content_type.split(";")[0]) == (200, "text/html")
    assert 'href="/archive/2026/11/"' in archive
    status, content_type, atom = http(capsule, "/atom.xml")
    assert content_type.startswith("application/atom+xml")
    assert f"http://localhost:{capsule.http_port}/2026/11/20/roses.html" in atom_links(atom)
    status, _, form = http(capsule, "/search")
    assert status == 200 and "<form" in form and 'name="q"' in form
    status, _, results = http(capsule, "/search?q=compost")
    assert status == 200 and 'href="/2026-11-22-compost.html"' in results


def test_new_then_deleted_article_reaches_every_index_on_both_protocols(
    capsule: CapsuleProcess, root: Path
) -> None:
    eventually(lambda: "Compost" in gemini(capsule, "/feed.gmi")[1])
    page = write_page(root, NEW_ARTICLE, "# Beekeeping for beginners\nSmoke calms the hive.\n")

    def everywhere() -> list[bool]:
        return [
            "Beekeeping for beginners" in gemini(capsule, "/feed.gmi")[1],
            "Beekeeping for beginners" in gemini(capsule, "/")[1],
            "Beekeeping" in gemini(capsule, "/archive/2026/11/")[1],
            any(NEW_ARTICLE in link for link in atom_links(gemini(capsule, "/atom.xml")[1])),
            NEW_ARTICLE in gemini(capsule, "/search?hive")[1],
            "Beekeeping for beginners" in http(capsule, "/feed.html")[2],
            "beekeeping.html" in http(capsule, "/atom.xml")[2],
            "beekeeping.html" in http(capsule, "/search?q=hive")[2],
        ]

    eventually(lambda: all(everywhere()))
    page.unlink()
    eventually(lambda: not any(everywhere()))


def test_recent_markers_stop_expanding_at_the_page_size_limit(tmp_path: Path) -> None:
    """A page of many `{{recent 9999}}` lines costs markers × articles: the served page stays
    within --max-page-bytes, the markers past it left as they are, on both protocols."""
    root = tmp_path / "root"
    for day in range(1, 29):
        for number in range(8):
            write_page(root, f"/2026/02/{day:02d}/story-{number}.gmi", f"# Story {number}\n")
    write_page(root, "/index.gmi", "# Home\n" + "{{recent 9999}}\n" * 400)
    limit = 64 * 1024
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--root", str(root),
        "--max-page-bytes", str(limit),
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        eventually(lambda: "Story 7" in gemini(capsule, "/feed.gmi")[1])
        header, page = gemini(capsule, "/")
        status, _, source = http(capsule, "/index.gmi")
    assert header.startswith("20 ") and status == 200
    for served in (page, source):
        assert len(served.encode()) <= limit
        assert "/2026/02/28/story-0.gmi" in served  # the first markers are filled in
        assert served.rstrip().endswith("{{recent 9999}}")  # the last are left as they are
