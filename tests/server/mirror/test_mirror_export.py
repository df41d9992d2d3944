"""`capsule build`: the static export is byte for byte the live mirror, and its links hold."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from capsule.publication.search_pages import SEARCH_PATH
from server.daemon.cli import demo_root, main
from server.mirror.export import export
from tests.server.mirror.conftest import StartMirror, mirror_config
from tests.server.mirror.mirror_client import HttpClient


class _References(HTMLParser):
    """Collects every href and src of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("href", "src") and value]


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


def mirror_url_of(relative: Path) -> str:
    """The live mirror path of an exported file."""
    path = "/" + relative.as_posix()
    return path.removesuffix("index.html") if relative.name == "index.html" else path


BASE_URL = "https://capsule.example/"


@pytest.fixture
def demo_export(tmp_path: Path) -> Path:
    outdir = tmp_path / "site"
    export(mirror_config(demo_root(), tmp_path, base_url=BASE_URL), outdir)
    return outdir


def exported_files(outdir: Path) -> list[Path]:
    """Every file written, but the gzip siblings."""
    return sorted(
        path.relative_to(outdir)
        for path in outdir.rglob("*")
        if path.is_file() and path.suffix != ".gz"
    )


def test_export_writes_pages_sources_files_and_the_stylesheet(demo_export: Path) -> None:
    names = {path.as_posix() for path in exported_files(demo_export)}
    assert {"index.html", "index.gmi", "about.html", "about.gmi", "files/capsule.txt",
            "2026/11/24/the-mirror.html", "2026/11/24/the-mirror.gmi",
            "_capsule/style.css", "archive/index.html", "archive/2026/11/index.html",
            "feed.html", "atom.xml", "robots.txt", "sitemap.xml", "favicon.txt",
            "favicon.svg"} <= names


def test_export_writes_robots_txt_naming_the_sitemap_at_the_base_url(demo_export: Path) -> None:
    robots = (demo_export / "robots.txt").read_text()
    assert "User-agent: *\nDisallow: /search\n" in robots
    assert robots.endswith("Sitemap: https://capsule.example/sitemap.xml\n")
    sitemap = (demo_export / "sitemap.xml").read_text()
    assert "<loc>https://capsule.example/2026/11/24/the-mirror.html</loc>" in sitemap


def test_export_without_a_base_url_leaves_out_the_sitemap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outdir = tmp_path / "site"
    export(mirror_config(demo_root(), tmp_path), outdir)
    assert "Sitemap:" not in (outdir / "robots.txt").read_text()
    assert not (outdir / "sitemap.xml").exists()
    assert "/sitemap.xml needs absolute URLs; give --base-url" in caplog.text


async def test_every_exported_file_is_byte_identical_to_the_live_mirror(
    demo_export: Path, start_mirror: StartMirror
) -> None:
    port = await start_mirror(root=demo_root(), base_url=BASE_URL)
    client = await HttpClient.connect(port)
    files = exported_files(demo_export)
    assert len(files) >= 14
    for relative in files:
        response = await client.request(mirror_url_of(relative))
        assert response.status == 200, relative
        assert response.body == (demo_export / relative).read_bytes(), relative
    await client.aclose()


async def test_a_gzip_sibling_is_what_the_live_mirror_sends_gzipped(
    demo_export: Path, start_mirror: StartMirror
) -> None:
    port = await start_mirror(root=demo_root(), base_url=BASE_URL)
    client = await HttpClient.connect(port)
    compressed = 0
    for relative in exported_files(demo_export):
        response = await client.request(mirror_url_of(relative),
                                        headers=[("Accept-Encoding", "gzip")])
        sibling = demo_export / f"{relative}.gz"
        if response.headers.get("content-encoding") == "gzip":
            assert sibling.read_bytes() == response.body, relative
            compressed += 1
        else:
            assert not sibling.exists(), relative
    await client.aclose()
    assert compressed >= 10


def test_every_internal_link_resolves_to_an_exported_file(demo_export: Path) -> None:
    checked = 0
    for relative in exported_files(demo_export):
        if relative.suffix != ".html":
            continue
        page_url = "/" + relative.as_posix()
        for url in references((demo_export / relative).read_text(encoding="utf-8")):
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            path = unquote(urljoin(page_url, parts.path))
            if path == SEARCH_PATH:
                continue  # a form that needs the live mirror (see "A static mirror")
            if path.endswith("/"):
                path += "index.html"
            assert (demo_export / path.lstrip("/")).is_file(), f"{url} on {page_url}"
            checked += 1
    assert checked > 30


def test_build_command_writes_the_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "out"
    assert main(["build", str(outdir), "--root", str(demo_root())]) == 0
    assert (outdir / "index.html").is_file()
    assert "wrote" in capsys.readouterr().out


def test_build_refuses_an_output_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n")
    assert main(["build", str(root / "site"), "--root", str(root)]) == 2
