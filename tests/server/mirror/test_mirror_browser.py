"""A real browser (headless Chromium) reads pages from a real `capsule serve` process."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.harness import CapsuleProcess
from tests.programs import required_program
from tests.server.mirror.conftest import write_capsule

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str:
    """The Chromium executable; a missing browser skips locally and fails in CI."""
    return required_program(BROWSERS, "chromium", "browser tests")


@dataclass
class Dom:
    """What the tests look at in a document as the browser built it."""

    title: str = ""
    headings: list[tuple[str, str]] = field(default_factory=list)
    lists: list[list[str]] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    meta: dict[str, str] = field(default_factory=dict)
    """`property` or `name` -> `content` of the meta elements."""
    links: dict[str, str] = field(default_factory=dict)
    """`rel` -> `href` of the link elements."""
    texts: dict[str, list[str]] = field(default_factory=dict)
    """The text of every script and SVG text element, by tag."""


class _DomReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.dom = Dom()
        self._open: list[str] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.dom.tags.add(tag)
        if tag == "ul":
            self.dom.lists.append([])
        if tag == "a":
            self.dom.hrefs += [value or "" for name, value in attrs if name == "href"]
        fields = dict(attrs)
        if tag == "meta" and (key := fields.get("property") or fields.get("name")):
            self.dom.meta[key] = fields.get("content") or ""
        if tag == "link":
            self.dom.links[fields.get("rel") or ""] = fields.get("href") or ""
        self._open.append(tag)
        self._text = []

    def handle_endtag(self, tag: str) -> None:
        text = "".join(self._text).strip()
        if tag == "title":
            self.dom.title = text
        elif tag in ("h1", "h2", "h3"):
            self.dom.headings.append((tag, text))
        elif tag == "li":
            self.dom.lists[-1].append(text)
        elif tag in ("script", "text"):
            self.dom.texts.setdefault(tag, []).append(text)
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def dump_dom(url: str, profile: Path, root: str = "html") -> Dom:
    """Load `url` in headless Chromium and read the DOM it serialises (`root`: its element)."""
    result = subprocess.run(
        [browser(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-quic", f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"<{root}" in result.stdout, result.stderr[-2000:]
    reader = _DomReader()
    reader.feed(result.stdout)
    return reader.dom


@pytest.fixture
def mirror_url(tmp_path: Path) -> Iterator[str]:
    """The mirror URL of a `capsule serve` subprocess on loopback ports chosen by the OS."""
    browser()
    root = write_capsule(tmp_path / "capsule")
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--root", str(root),
        state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        urls = [url.split()[0] for url in capsule.urls if url.startswith("http://")]
        assert urls, capsule.stderr_lines
        yield urls[0]


def test_browser_shows_the_page_title_headings_and_one_list(
    mirror_url: str, tmp_path: Path
) -> None:
    dom = dump_dom(mirror_url, tmp_path / "profile")
    assert dom.title == "Home"
    assert dom.headings == [("h1", "Home")]
    assert dom.lists == [["first", "second", "third"]]


def test_browser_sees_links_rewritten_for_the_mirror(mirror_url: str, tmp_path: Path) -> None:
    dom = dump_dom(mirror_url, tmp_path / "profile")
    assert "/a/b.html" in dom.hrefs
    assert "/about.html" in dom.hrefs
    assert "gemini://elsewhere.example/page.gmi" in dom.hrefs
    assert "https://example.org/" in dom.hrefs


def test_browser_finds_no_script_even_on_a_hostile_page(mirror_url: str, tmp_path: Path) -> None:
    dom = dump_dom(mirror_url + "xss.html", tmp_path / "profile")
    assert "script" not in dom.tags
    assert dom.headings == [("h1", "<script>alert('heading')</script>")]
    assert not any(href.lower().startswith("javascript:") for href in dom.hrefs)


NEWS_BASE_URL = "https://news.example/"


@pytest.fixture
def news_url(tmp_path: Path) -> Iterator[str]:
    """A mirror with a base URL, over a capsule with a dated article and a favicon.txt."""
    browser()
    root = tmp_path / "news"
    (root / "2026" / "11" / "20").mkdir(parents=True)
    (root / "index.gmi").write_text("# The Daily Capsule\n=> 2026/11/20/library.gmi\n")
    (root / "2026" / "11" / "20" / "library.gmi").write_text(
        "# Library stays open\n\nThe council voted to keep the library open.\n"
    )
    (root / "favicon.txt").write_text("🦊\n", encoding="utf-8")
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--root", str(root),
        "--base-url", NEWS_BASE_URL, state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        yield f"http://127.0.0.1:{capsule.http_port}/"


def test_browser_reads_open_graph_json_ld_and_the_favicon_link_of_an_article(
    news_url: str, tmp_path: Path
) -> None:
    dom = dump_dom(news_url + "2026/11/20/library.html", tmp_path / "profile")
    url = NEWS_BASE_URL + "2026/11/20/library.html"
    assert dom.meta["og:title"] == "Library stays open"
    assert dom.meta["og:type"] == "article"
    assert dom.meta["og:url"] == dom.links["canonical"] == url
    assert dom.meta["og:description"] == "The council voted to keep the library open."
    assert dom.meta["article:published_time"] == "2026-11-20T00:00:00+00:00"
    assert dom.links["icon"] == "/favicon.svg"
    (article,) = (json.loads(text) for text in dom.texts["script"])
    assert article["@type"] == "NewsArticle"
    assert (article["headline"], article["datePublished"]) == (
        "Library stays open", "2026-11-20T00:00:00+00:00"
    )
    assert article["mainEntityOfPage"] == url


def test_browser_draws_the_favicon_as_an_svg_with_the_emoji(news_url: str, tmp_path: Path) -> None:
    dom = dump_dom(news_url + "favicon.svg", tmp_path / "profile", root="svg")
    assert "svg" in dom.tags
    assert dom.texts["text"] == ["🦊"]
