"""A news article as headless Chromium shows it from a real `capsule serve`: its figure,
dateline, neighbours and series, the search box, and long preformatted blocks at phone and
desktop widths."""

from __future__ import annotations

import html
import json
import re
import struct
import subprocess
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import CapsuleProcess, write_page
from tests.server.mirror.test_mirror_browser import browser, dump_dom

BASE_URL = "https://news.example/"
IRC_LINE = "[12:27] <reporter> " + "the river is rising at the north bridge, " * 5
ART = "+--------+    +--------+\n| source | -> | mirror |\n+--------+    +--------+"


def png(width: int, height: int) -> bytes:
    """A valid one-colour PNG image of that size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


@pytest.fixture
def news(tmp_path: Path) -> Iterator[str]:
    """The mirror of a small news capsule whose catalog has indexed every page."""
    browser()
    root = tmp_path / "news"
    write_page(root, "/index.gmi", "# The Daily\n{{recent 3 summaries}}\n")
    write_page(root, "/2025/03/04/levee.gmi",
               "Published: 2025-03-04T10:00:00Z\nSeries: The flood\n\n# The levee holds\n"
               "{{series}}\nSummary: Engineers say the levee will hold.\n")
    write_page(root, "/2025/03/05/alarm.gmi",
               "Published: 2025-03-05T12:27:00Z\nSeries: The flood\n\n# Flood alarm\n"
               "By Ann Lee\nSummary: The river rose two metres overnight.\n\n"
               "=> /images/pier.png The pier at dawn, under water\n\n{{series}}\n\n"
               f"```IRC log\n{IRC_LINE}\n" + f"{IRC_LINE}\n" * 30 + "```\n"
               f"```diagram\n{ART}\n```\n")
    write_page(root, "/2025/03/06/after.gmi",
               "Published: 2025-03-06T08:00:00Z\n\n# After the flood\nThe clean-up starts.\n")
    (root / "images").mkdir()
    (root / "images" / "pier.png").write_bytes(png(1200, 800))
    with CapsuleProcess(
        "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--root", str(root),
        "--base-url", BASE_URL, state_dir=tmp_path / "state", log_dir=tmp_path,
    ) as capsule:
        capsule.wait_for_log("index of", timeout=30)
        yield f"http://127.0.0.1:{capsule.http_port}/"


def chromium(profile: Path, width: int, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", f"--window-size={width},900",
         *arguments],
        capture_output=True, text=True, timeout=120, check=False,
    )


_MEASURE = """<script>
const pres = [...document.querySelectorAll("pre")];
parent.document.body.dataset.layout = JSON.stringify({
  viewport: window.innerWidth,
  page: document.documentElement.scrollWidth,
  pres: pres.map(pre => ({
    right: Math.round(pre.getBoundingClientRect().right),
    scroll: pre.scrollWidth, client: pre.clientWidth,
    space: getComputedStyle(pre).whiteSpace,
  })),
});
</script>"""


def framed(url: str, tmp_path: Path, width: int) -> Path:
    """A file showing the mirror's page at `url` (its HTML and stylesheet, with a measuring
    script the page's CSP would refuse) in a frame `width` pixels wide: headless Chromium
    makes no window narrower than 500 pixels, a frame can be a phone's width."""
    page = urllib.request.urlopen(url).read().decode()
    origin = url.split("/", 3)[:3]
    css = urllib.request.urlopen("/".join(origin) + "/_capsule/style.css").read().decode()
    page = page.replace('<link rel="stylesheet" href="/_capsule/style.css">',
                        f'<base href="{"/".join(origin)}/"><style>{css}</style>')
    frame = html.escape(page.replace("</body>", _MEASURE + "</body>"), quote=True)
    wrapper = tmp_path / f"frame-{width}.html"
    wrapper.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe width="{width}" height="900" style="border:0" srcdoc="{frame}"></iframe>'
        "</body></html>"
    )
    return wrapper


def layout(url: str, tmp_path: Path, width: int) -> dict[str, object]:
    """How Chromium lays out the mirror's page at `url` `width` pixels wide."""
    wrapper = framed(url, tmp_path, width)
    result = chromium(tmp_path / "profile", max(width, 500) + 20, "--dump-dom", wrapper.as_uri())
    found = re.search(r'data-layout="([^"]*)"', result.stdout)
    assert found is not None, result.stderr[-2000:]
    measured: dict[str, object] = json.loads(html.unescape(found[1]))
    return measured


def test_an_article_shows_its_figure_dateline_neighbours_and_series(
    news: str, tmp_path: Path
) -> None:
    dom = dump_dom(news + "2025/03/05/alarm.html", tmp_path / "profile")
    assert dom.meta["og:image"] == BASE_URL + "images/pier.png"
    assert dom.meta["og:description"] == "The river rose two metres overnight."
    assert dom.meta["article:published_time"] == "2025-03-05T12:27:00+00:00"
    assert {"figure", "figcaption", "img", "time"} <= dom.tags
    assert "/2025/03/04/levee.html" in dom.hrefs and "/2025/03/06/after.html" in dom.hrefs
    assert "/series/the-flood/" in dom.hrefs
    assert "/search" in dom.hrefs
    page = urllib.request.urlopen(news + "2025/03/05/alarm.html").read().decode()
    assert ('<img src="/images/pier.png" alt="The pier at dawn, under water" loading="lazy" '
            'decoding="async" width="1200" height="800">') in page
    assert "<figcaption>The pier at dawn, under water</figcaption>" in page
    assert '<time datetime="2025-03-05T12:27:00+00:00">5 March 2025, 12:27 UTC</time>' in page


def test_search_results_carry_a_search_box_a_count_and_dates(news: str, tmp_path: Path) -> None:
    dom = dump_dom(news + "search?q=flood", tmp_path / "profile")
    assert {"form", "input"} <= dom.tags
    page = urllib.request.urlopen(news + "search?q=flood").read().decode()
    assert "2 pages match, best matches first; page 1 of 1." in page
    assert "2025-03-05 Flood alarm" in page


def test_a_long_log_scrolls_inside_its_block_on_a_phone(news: str, tmp_path: Path) -> None:
    measured = layout(news + "2025/03/05/alarm.html", tmp_path, 390)
    assert measured["viewport"] == 390
    assert measured["page"] == 390  # nothing is cut at the right edge
    log, art = measured["pres"]  # type: ignore[misc]
    assert log["right"] <= 390 and log["scroll"] > log["client"]
    assert art["space"] == "pre"


def test_ascii_art_keeps_its_columns_on_a_desktop(news: str, tmp_path: Path) -> None:
    measured = layout(news + "2025/03/05/alarm.html", tmp_path, 1280)
    assert measured["page"] == 1280
    art = measured["pres"][1]  # type: ignore[index]
    assert art["space"] == "pre" and art["scroll"] == art["client"]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_article_page_can_be_drawn_at_desktop_and_phone_widths(
    news: str, tmp_path: Path, width: int
) -> None:
    shot = tmp_path / f"alarm-{width}.png"
    wrapper = framed(news + "2025/03/05/alarm.html", tmp_path, width)
    result = chromium(tmp_path / "profile", max(width, 500) + 20, f"--screenshot={shot}",
                      wrapper.as_uri())
    assert result.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
