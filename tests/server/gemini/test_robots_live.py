"""robots.txt and the sitemap from a real `capsule serve` configured by a TOML file, on Gemini
and on the mirror."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import trio

from tests.harness import CapsuleProcess, fetch, write_page
from tests.server.mirror.mirror_client import fetch as http_fetch

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    write_page(root, "/index.gmi", "# Garden News\n")
    write_page(root, "/2026/11/20/roses.gmi", "# Roses in winter\n")
    return root


def serve(tmp_path: Path, root: Path, toml: str) -> CapsuleProcess:
    config = tmp_path / "capsule.toml"
    config.write_text(
        f'root = "{root}"\nlisten = ["127.0.0.1:0"]\n'
        f'[mirror]\nlisten = ["127.0.0.1:0"]\nbase_url = "https://news.example/"\n{toml}'
    )
    return CapsuleProcess(
        "--config", str(config), state_dir=tmp_path / "state", log_dir=tmp_path
    )


def gemini(capsule: CapsuleProcess, path: str) -> tuple[str, str]:
    response = trio.run(fetch, capsule.gemini_port, f"gemini://localhost{path}")
    return response.header.decode(), response.body.decode()


def http(capsule: CapsuleProcess, path: str) -> tuple[int, str]:
    response = trio.run(http_fetch, capsule.http_port, path)
    return response.status, response.text


@pytest.fixture
def configured(tmp_path: Path, root: Path) -> Iterator[CapsuleProcess]:
    toml = '[robots]\ndisallow = ["/drafts/", "/private.gmi"]\n'
    with serve(tmp_path, root, toml) as process:
        yield process


def test_configured_paths_are_disallowed_on_gemini(configured: CapsuleProcess) -> None:
    header, body = gemini(configured, "/robots.txt")
    assert header == "20 text/plain; charset=utf-8"
    assert "Disallow: /search\nDisallow: /drafts/\nDisallow: /private.gmi\n" in body
    assert "User-agent: indexer\n" in body and "Sitemap:" not in body


def test_configured_paths_are_disallowed_on_the_mirror_in_mirror_paths(
    configured: CapsuleProcess,
) -> None:
    status, body = http(configured, "/robots.txt")
    assert status == 200
    assert body.endswith(
        "User-agent: *\nDisallow: /search\nDisallow: /drafts/\nDisallow: /private.html\n"
        "Disallow: /private.gmi\nDisallow: /*?\n\nSitemap: https://news.example/sitemap.xml\n"
    )


def test_the_sitemap_named_by_robots_txt_lists_the_articles(configured: CapsuleProcess) -> None:
    configured.wait_for_log("index of")  # the first indexing of the root is done
    status, body = http(configured, "/sitemap.xml")
    assert status == 200
    locs = [loc.text for loc in ElementTree.fromstring(body).iter(f"{SITEMAP}loc")]
    assert locs == [
        "https://news.example/",
        "https://news.example/archive/",
        "https://news.example/2026/11/20/roses.html",
    ]


def test_generation_turned_off_leaves_robots_txt_to_the_root(tmp_path: Path, root: Path) -> None:
    with serve(tmp_path, root, "[robots]\ngenerate = false\n") as capsule:
        assert gemini(capsule, "/robots.txt")[0].startswith("51 ")
        assert http(capsule, "/robots.txt")[0] == 404
        write_page(root, "/robots.txt", "User-agent: *\nDisallow: /\n")
        assert gemini(capsule, "/robots.txt") == (
            "20 text/plain; charset=utf-8",
            "User-agent: *\nDisallow: /\n",
        )
