"""Drafts, articles not published yet and withdrawn articles over the mirror: a draft is a 403
page, an article before its time is not found, and none of them is in the sitemap, the feeds or
the static export."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from server.mirror.export import export
from tests.harness import write_page
from tests.server.mirror.conftest import StartMirror, mirror_config
from tests.server.mirror.mirror_client import fetch

HIDDEN = ("budget", "plans", "future", "soon", "recalled", "members")


def write_editorial_capsule(root: Path) -> Path:
    """A capsule with one public article and one of each kind readers may not see."""
    write_page(root, "/index.gmi", "# Home\n\n{{recent}}\n")
    write_page(root, "/2026/11/20/gardens.gmi", "# Gardens\nAbout gardens.\n")
    write_page(root, "/2026/11/19/timed.gmi", "Published: 2026-11-19T08:00:00Z\n\n# Timed\nOut.\n")
    write_page(root, "/2026/11/21/budget.gmi", "Status: draft\n\n# Budget draft\nGardens.\n")
    write_page(root, "/drafts/2026/11/22/plans.gmi", "# Plans draft\nGardens.\n")
    write_page(root, "/2099/01/01/future.gmi", "# Future story\nGardens.\n")
    write_page(root, "/2026/11/23/soon.gmi", "Published: 2099-01-01T08:00:00Z\n# Soon story\n")
    write_page(root, "/2026/11/24/recalled.gmi", "# Recalled story\nGardens.\n")
    write_page(root, "/members/2026/11/25/minutes.gmi", "# Members minutes\nGardens.\n")
    write_page(
        root, "/.meta", "drafts/ draft\n2026/11/24/recalled.gmi gone\nmembers/ protect=any\n"
    )
    return root


@pytest.fixture
def editorial_root(tmp_path: Path) -> Path:
    return write_editorial_capsule(tmp_path / "editorial")


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/2026/11/21/budget.html", 403),
        ("/2026/11/21/budget.gmi", 403),
        ("/drafts/2026/11/22/plans.html", 403),
        ("/2099/01/01/future.html", 404),
        ("/2099/01/01/future.gmi", 404),
        ("/2026/11/23/soon.html", 404),
        ("/2026/11/24/recalled.html", 410),
    ],
)
async def test_what_readers_may_not_see_is_not_served(
    start_mirror: StartMirror, editorial_root: Path, target: str, status: int
) -> None:
    port = await start_mirror(root=editorial_root)
    response = await fetch(port, target)
    assert response.status == status
    for word in ("Budget draft", "Plans draft", "Future story", "Soon story", "Recalled story"):
        assert word not in response.text


async def test_a_draft_is_a_403_page_pointing_to_gemini(
    start_mirror: StartMirror, editorial_root: Path
) -> None:
    port = await start_mirror(root=editorial_root)
    response = await fetch(port, "/2026/11/21/budget.html")
    gemini = "gemini://localhost/2026/11/21/budget.gmi"
    assert f'<a href="{gemini}">{gemini}</a>' in response.text


@pytest.mark.parametrize(
    "target",
    ["/", "/archive/", "/archive/2026/11/", "/feed.html", "/atom.xml", "/sitemap.xml",
     "/search?q=gardens"],
)
async def test_no_list_shows_what_readers_may_not_see(
    start_mirror: StartMirror, editorial_root: Path, target: str
) -> None:
    port = await start_mirror(root=editorial_root, base_url="https://news.example/")
    response = await fetch(port, target)
    assert response.status == 200
    public = "November 2026 (2 articles)" if target == "/archive/" else "/2026/11/20/gardens.html"
    assert public in response.text
    for word in HIDDEN:
        assert word not in response.text.lower().replace("search: gardens", ""), (word, target)


def test_the_static_export_writes_none_of_them(
    tmp_path: Path, editorial_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outdir = tmp_path / "site"
    with caplog.at_level(logging.WARNING):
        export(mirror_config(editorial_root, tmp_path, base_url="https://news.example/"), outdir)
    written = {path.relative_to(outdir).as_posix() for path in outdir.rglob("*") if path.is_file()}
    assert {"index.html", "2026/11/20/gardens.html", "2026/11/20/gardens.gmi", "atom.xml",
            "sitemap.xml"} <= written
    for name in written:
        assert not any(word in name for word in HIDDEN), name
        content = (outdir / name).read_bytes().decode("utf-8", errors="replace").lower()
        for word in HIDDEN:
            assert word not in content, (name, word)
    messages = [record.getMessage() for record in caplog.records]
    assert "build: 6 files not written: protected, drafts, withdrawn or not published yet" in (
        messages
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/2026/11/19/timed.gmi", "# Timed\nOut.\n"), ("/2026/11/19/timed.html", "<h1>Timed</h1>")],
)
async def test_a_published_page_is_mirrored_without_its_front_lines(
    start_mirror: StartMirror, editorial_root: Path, target: str, expected: str
) -> None:
    port = await start_mirror(root=editorial_root)
    response = await fetch(port, target)
    assert response.status == 200
    assert expected in response.text
    assert "Published:" not in response.text
