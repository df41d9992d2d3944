"""Link previews and search engines: description, Open Graph, JSON-LD, canonical URL, robots,
the favicon and the print stylesheet, read from a real mirror over HTTP."""

from __future__ import annotations

import datetime
import json
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from server.mirror.metadata import DESCRIPTION_CHARS, shortened
from tests.server.mirror.conftest import StartMirror
from tests.server.mirror.mirror_client import HttpResponse, fetch

BASE_URL = "https://news.example/"
SITE = "The Daily Capsule"
LEAD = (
    "The council met on Thursday evening and agreed, after a long and sometimes heated debate, "
    "to keep the old library open for at least another five years while a new building is planned."
)
HOSTILE = """</script><script>alert("x")</script> & 'quotes' <b>bold</b>"""
EDITED = datetime.datetime(2026, 11, 22, 8, 30, tzinfo=datetime.UTC)


@dataclass
class Head:
    """What a page's head announces, as an HTML parser reads it."""

    meta: dict[str, str] = field(default_factory=dict)
    """`name` or `property` -> `content`."""
    links: dict[str, str] = field(default_factory=dict)
    """`rel` -> `href`."""
    scripts: list[tuple[str | None, str]] = field(default_factory=list)
    """(`type`, text) of every script element, anywhere in the page."""


class _HeadReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.head = Head()
        self._script: tuple[str | None, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = dict(attrs)
        if tag == "meta" and "content" in fields:
            key = fields.get("property") or fields.get("name")
            assert key is not None and key not in self.head.meta, key
            self.head.meta[key] = fields["content"] or ""
        elif tag == "link":
            self.head.links[fields["rel"] or ""] = fields["href"] or ""
        elif tag == "script":
            self._script = (fields.get("type"), [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.head.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)


def head_of(response: HttpResponse) -> Head:
    assert response.status == 200, response.status
    reader = _HeadReader()
    reader.feed(response.text)
    reader.close()
    return reader.head


def json_ld(head: Head) -> dict[str, object]:
    """The one JSON-LD block of a page, parsed."""
    (script,) = head.scripts
    assert script[0] == "application/ld+json"
    parsed = json.loads(script[1])
    assert isinstance(parsed, dict)
    return parsed


def write(root: Path, path: str, text: str, mtime: datetime.datetime | None = None) -> None:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(file, (mtime.timestamp(), mtime.timestamp()))


@pytest.fixture
def news_root(tmp_path: Path) -> Path:
    root = tmp_path / "news"
    write(root, "index.gmi", f"# {SITE}\n\nNews from the capsule.\n=> 2026/11/20/library.gmi\n")
    write(root, "2026/11/20/library.gmi", f"# Library stays open\n\n{LEAD}\nMore to come.\n",
          EDITED)
    write(root, "2026/11/24/early.gmi", "# Written ahead\nShort.\n",
          datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC))
    write(root, "2026/11/21/hostile.gmi", f"# {HOSTILE}\n{HOSTILE}\n")
    write(root, "about.gmi", "# About us\n\nWe write about the town.\n")
    write(root, "favicon.txt", "🦊\n")
    return root


async def test_article_announces_itself_to_link_previews(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root, base_url=BASE_URL)
    head = head_of(await fetch(port, "/2026/11/20/library.html"))
    url = BASE_URL + "2026/11/20/library.html"
    assert head.links["canonical"] == url
    assert {key: value for key, value in head.meta.items() if key.startswith(("og:", "article:"))
            } == {
        "og:title": "Library stays open",
        "og:type": "article",
        "og:url": url,
        "og:description": head.meta["description"],
        "og:site_name": SITE,
        # First seen after its date (an import): published at its start, and never edited
        # since, whatever the file's time says.
        "article:published_time": "2026-11-20T00:00:00+00:00",
    }


async def test_article_carries_a_news_article_in_json_ld(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root, base_url=BASE_URL)
    head = head_of(await fetch(port, "/2026/11/20/library.html"))
    url = BASE_URL + "2026/11/20/library.html"
    assert json_ld(head) == {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Library stays open",
        "datePublished": "2026-11-20T00:00:00+00:00",
        "url": url,
        "mainEntityOfPage": url,
        "description": head.meta["description"],
        "publisher": {"@type": "Organization", "name": SITE},
    }


async def test_description_is_the_first_paragraph_cut_at_a_word(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root, base_url=BASE_URL)
    description = head_of(await fetch(port, "/2026/11/20/library.html")).meta["description"]
    assert len(description) <= DESCRIPTION_CHARS < len(LEAD)
    assert description.endswith("…")
    kept = description.removesuffix("…")
    assert LEAD.startswith(kept) and LEAD[len(kept)] == " "
    about = head_of(await fetch(port, "/about.html")).meta["description"]
    assert about == "We write about the town."


async def test_a_file_written_before_its_article_date_gives_no_modified_time(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root, base_url=BASE_URL)
    head = head_of(await fetch(port, "/2026/11/24/early.html"))
    assert head.meta["article:published_time"] == "2026-11-24T00:00:00+00:00"
    assert "article:modified_time" not in head.meta
    assert "dateModified" not in json_ld(head)


async def test_page_that_is_not_an_article_is_a_website_without_json_ld(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root, base_url=BASE_URL)
    head = head_of(await fetch(port, "/about.html"))
    assert head.meta["og:type"] == "website"
    assert head.meta["og:url"] == head.links["canonical"] == BASE_URL + "about.html"
    assert "article:published_time" not in head.meta
    assert head.scripts == []


async def test_without_a_base_url_there_is_no_canonical_url_anywhere(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root)
    head = head_of(await fetch(port, "/2026/11/20/library.html"))
    assert "canonical" not in head.links
    assert "og:url" not in head.meta
    article = json_ld(head)
    assert "url" not in article and "mainEntityOfPage" not in article
    assert article["headline"] == head.meta["og:title"] == "Library stays open"


async def test_hostile_title_stays_inert_in_attributes_and_json_ld(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root, base_url=BASE_URL)
    response = await fetch(port, "/2026/11/21/hostile.html")
    head = head_of(response)
    (script,) = head.scripts
    assert not any(character in script[1] for character in "<>&")
    assert "\\u003c/script\\u003e" in script[1]
    assert response.text.count("<script") == 1
    assert json_ld(head)["headline"] == HOSTILE
    assert head.meta["og:title"] == head.meta["og:description"] == HOSTILE


async def test_search_results_are_kept_out_of_search_engines(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root, base_url=BASE_URL)
    results = head_of(await fetch(port, "/search?q=library"))
    assert results.meta["robots"] == "noindex"
    assert "robots" not in head_of(await fetch(port, "/2026/11/20/library.html")).meta


async def test_pages_link_the_favicon_drawn_from_favicon_txt(
    start_mirror: StartMirror, news_root: Path
) -> None:
    port = await start_mirror(root=news_root)
    for path in ("/", "/2026/11/20/library.html", "/search"):
        assert head_of(await fetch(port, path)).links["icon"] == "/favicon.svg"
    icon = await fetch(port, "/favicon.svg")
    assert icon.status == 200
    assert icon.headers["content-type"] == "image/svg+xml; charset=utf-8"
    svg = ElementTree.fromstring(icon.body)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "".join(svg.itertext()) == "🦊"


async def test_favicon_text_is_escaped_in_the_svg(
    start_mirror: StartMirror, news_root: Path
) -> None:
    write(news_root, "favicon.txt", "<&\"'>\n")
    port = await start_mirror(root=news_root)
    svg = ElementTree.fromstring((await fetch(port, "/favicon.svg")).body)
    assert "".join(svg.itertext()) == "<&\"'>"


@pytest.mark.parametrize("favicon", [None, "", "\n\n", "🦊\n🐻\n", "x" * 65])
async def test_without_a_usable_favicon_txt_there_is_no_favicon(
    start_mirror: StartMirror, news_root: Path, favicon: str | None
) -> None:
    if favicon is None:
        (news_root / "favicon.txt").unlink()
    else:
        write(news_root, "favicon.txt", favicon)
    port = await start_mirror(root=news_root)
    assert "icon" not in head_of(await fetch(port, "/")).links
    assert (await fetch(port, "/favicon.svg")).status == 404


async def test_a_favicon_svg_of_the_capsule_is_served_as_it_is(
    start_mirror: StartMirror, news_root: Path
) -> None:
    own = b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>'
    (news_root / "favicon.svg").write_bytes(own)
    port = await start_mirror(root=news_root)
    assert (await fetch(port, "/favicon.svg")).body == own


async def test_print_stylesheet_drops_navigation_and_spells_out_link_targets(
    start_mirror: StartMirror,
) -> None:
    port = await start_mirror()
    css = (await fetch(port, "/_capsule/style.css")).text
    print_rules = css[css.index("@media print {"):]
    assert "header, footer, form { display: none; }" in print_rules
    assert 'main a[href]::after {\n    content: " (" attr(href) ")";' in print_rules


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short and sweet", 20, "short and sweet"),
        ("  spaced \t out\u00a0 text ", 20, "spaced out text"),
        ("one two three four", 12, "one two…"),
        ("one two, three", 10, "one two…"),
        ("one two three", 8, "one two…"),
        ("unbreakable", 6, "unbre…"),
    ],
)
def test_shortened_cuts_at_the_last_whole_word(text: str, limit: int, expected: str) -> None:
    assert shortened(text, limit) == expected
    assert len(shortened(text, limit)) <= limit
