"""News-site benchmark: list page sizes, search latency and article page bytes on the mirror.

Makes (or reuses) a news capsule of N posts with make_news.py, starts `capsule serve` with its
mirror, waits until the archive counts every post, then reports the HTML size of every kind
of list page (the largest of its kind where there are many), the latency of search result
pages 1 and 50 (best first and newest first, median of --runs), and the bytes of article
pages (stories, link round-ups, IRC logs).
Usage: python benchmarks/bench_news.py [--posts 30000] [--work DIR] [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from make_news import make_news

_COUNT = re.compile(r"(\d{4}): ([\d,]+) articles?")


class Mirror:
    """`capsule serve` with its mirror on a free port, stopped by its PID."""

    def __init__(self, root: Path, state: Path) -> None:
        command = [
            sys.executable, "-m", "server", "serve", "--root", str(root), "--state-dir",
            str(state), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--requests-per-second", "0", "--base-url", "https://news.example/",
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.port = 0
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(120):
            raise RuntimeError("the server did not start")

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if (found := re.search(r"serving http://[^ ]+:(\d+)", line)) is not None:
                self.port = int(found[1])
                self._ready.set()

    def get(self, path: str) -> tuple[bytes, float]:
        """The body at `path` and the seconds it took."""
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=120) as reply:
            body: bytes = reply.read()
        return body, time.perf_counter() - started

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def wait_for_catalog(mirror: Mirror, posts: int) -> float:
    """Seconds until the archive counts every post."""
    started = time.perf_counter()
    while True:
        body, _ = mirror.get("/archive/")
        counted = sum(int(n.replace(",", "")) for _, n in _COUNT.findall(body.decode()))
        if counted >= posts:
            return time.perf_counter() - started
        time.sleep(1)


def list_pages(mirror: Mirror) -> dict[str, str]:
    """One path of each kind of list page, the largest of its kind."""
    archive = mirror.get("/archive/")[0].decode()
    years = re.findall(r'href="(/archive/\d{4}/)"', archive)
    months = re.findall(r'href="(/archive/\d{4}/\d{2}/)"[^>]*>[^<(]*\(([\d,]+) articles', archive)
    busiest = max(months, key=lambda month: int(month[1].replace(",", "")))[0]
    month_page = mirror.get(busiest)[0].decode()
    article = re.search(r'href="(/\d{4}/\d{2}/\d{2}/)[^"]+\.html"', month_page)
    assert article is not None
    series = mirror.get("/series/")[0].decode()
    one_series = re.search(r'href="(/series/[^"]+/)"', series)
    assert one_series is not None
    return {
        "home /": "/",
        "archive /archive/": "/archive/",
        f"year {years[0]}": years[0],
        f"month {busiest} (busiest)": busiest,
        f"day /archive{article[1]}": f"/archive{article[1]}",
        f"date directory {article[1]}": article[1],
        "series index /series/": "/series/",
        f"series {one_series[1]}": one_series[1],
        "gemfeed /feed.html": "/feed.html",
        "search page 1 (river)": "/search?q=river",
        "Atom feed /atom.xml": "/atom.xml",
    }


def article_bytes(mirror: Mirror, root: Path) -> dict[str, list[int]]:
    """The HTML bytes of a sample of article pages, by kind."""
    sizes: dict[str, list[int]] = {"story": [], "links": [], "irc-log": [], "series part": []}
    days = sorted(root.glob("20??/??/??"))[:: max(1, len(list(root.glob("20??/??/??"))) // 40)]
    for day in days:
        for page in sorted(day.glob("*.gmi")):
            kind = page.stem if page.stem in ("links", "irc-log") else (
                "series part" if page.stem.startswith("series-part") else "story")
            path = "/" + page.relative_to(root).as_posix().removesuffix(".gmi") + ".html"
            sizes[kind].append(len(mirror.get(path)[0]))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=30000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-news")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = args.work / f"news-{args.posts}"
    if not (root / "index.gmi").exists():
        print(f"{make_news(args.posts, root)} posts written to {root}")
    posts = sum(1 for _ in root.glob("20??/??/??/*.gmi"))
    with tempfile.TemporaryDirectory() as state:
        mirror = Mirror(root, Path(state))
        try:
            print(f"catalog of {posts} posts ready in {wait_for_catalog(mirror, posts):.1f} s")
            print("\nlist page HTML sizes:")
            for name, path in list_pages(mirror).items():
                print(f"  {name:48} {len(mirror.get(path)[0]) / 1024:8.1f} KB")
            print(f"\nsearch latency, median of {args.runs} (ms), HTML KB:")
            for label, path in [
                ("page 1, best first", "/search?q=river"),
                ("page 50, best first", "/search/50?river"),
                ("page 1, newest first", "/search/newest?river"),
                ("page 50, newest first", "/search/newest/50?river"),
                ("page 1, two words", "/search?q=river%20harbour"),
            ]:
                runs = [mirror.get(path) for _ in range(args.runs)]
                median = statistics.median(seconds for _, seconds in runs) * 1000
                print(f"  {label:28} {median:8.1f} ms {len(runs[0][0]) / 1024:8.1f} KB")
            print("\narticle page HTML bytes (median, max):")
            for kind, sizes in article_bytes(mirror, root).items():
                if sizes:
                    print(f"  {kind:14} {statistics.median(sizes) / 1024:8.1f} KB "
                          f"{max(sizes) / 1024:8.1f} KB  ({len(sizes)} pages)")
        finally:
            mirror.stop()


if __name__ == "__main__":
    main()
