"""Make a news-shaped capsule of N dated posts over years, deterministically, for benchmarks.

Usage: python benchmarks/make_news.py N OUTDIR [--seed 1]
Each day, going back from 2026-11-25 until N posts are written: a few articles (a heading, a
`Summary:` line, a byline, an image with a caption, paragraphs), a "Links" round-up of 30-60
links and an IRC log of 500 lines in a preformatted block; every 60 days a 10-part series
(one part a day) whose parts carry `Series:` front lines and `{{series}}`. Times come from
`Published:` front lines. Images are 50 small PNG files under /images/.
"""

from __future__ import annotations

import argparse
import random
import struct
import zlib
from datetime import date, datetime, time, timedelta
from pathlib import Path

from make_capsule import WORDS, sentence

LAST_DAY = date(2026, 11, 25)
ARTICLES_PER_DAY = 4
SERIES_EVERY = 60
SERIES_PARTS = 10
IMAGES = 50


def png(width: int, height: int) -> bytes:
    """A valid grey PNG image of that size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def stamp(day: date, hour: int, minute: int) -> str:
    return datetime.combine(day, time(hour, minute)).isoformat() + "Z"


def article(rng: random.Random, title: str, day: date, hour: int, image: int,
            series: str | None = None) -> str:
    front = [f"Published: {stamp(day, hour, rng.randrange(60))}"]
    if series:
        front.append(f"Series: {series}")
    lines = [*front, "", f"# {title}", f"By {rng.choice(WORDS).capitalize()} Reporter",
             f"Summary: {sentence(rng, 12, 22)}", "",
             f"=> /images/photo-{image}.png {sentence(rng, 5, 10)}", ""]
    if series:
        lines += ["{{series}}", ""]
    for section in range(rng.randint(2, 4)):
        lines += [f"## {sentence(rng, 2, 5).rstrip('.')}", ""]
        lines += [" ".join(sentence(rng, 8, 20) for _ in range(rng.randint(2, 4))), ""]
        if section == 1:
            lines += [f"* {sentence(rng, 3, 8)}" for _ in range(3)] + [""]
            lines += [f"> {sentence(rng, 6, 14)}", ""]
    return "\n".join(lines) + "\n"


def links_post(rng: random.Random, day: date) -> str:
    lines = [f"Published: {stamp(day, 18, 0)}", "", f"# Links for {day:%A %-d %B %Y}",
             f"Summary: {rng.randint(30, 60)} links worth reading today.", ""]
    lines += [f"=> https://example.org/{rng.choice(WORDS)}/{n} {sentence(rng, 4, 9)}"
              for n in range(rng.randint(30, 60))]
    return "\n".join(lines) + "\n"


def irc_post(rng: random.Random, day: date) -> str:
    lines = [f"Published: {stamp(day, 23, 30)}", "", f"# IRC log, {day.isoformat()}",
             "Summary: The newsroom channel, as it happened.", "", "```irc log"]
    for n in range(500):
        nick = rng.choice(WORDS)[:9]
        lines.append(f"[{n // 21:02d}:{n % 60:02d}] <{nick:>9}> {sentence(rng, 4, 24)}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def make_news(count: int, out: Path, seed: int = 1) -> int:
    """Write about `count` posts (never fewer) and an index under `out`; return how many."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    for n in range(IMAGES):
        (out / "images" / f"photo-{n}.png").write_bytes(png(64 + n, 48 + n))
    (out / "index.gmi").write_text(
        "# The Daily Capsule\n\nNews, every day.\n\n## Latest\n{{recent 10 summaries}}\n\n"
        "=> /archive/ Archive\n=> /feed.gmi Subscribe\n=> /search Search\n"
    )
    written, day_number = 0, 0
    series_name, series_part = "", 0
    while written < count:
        day = LAST_DAY - timedelta(days=day_number)
        directory = out / f"{day:%Y/%m/%d}"
        directory.mkdir(parents=True, exist_ok=True)
        if day_number % SERIES_EVERY == 0:
            series_name, series_part = sentence(rng, 2, 4).rstrip("."), SERIES_PARTS
        posts: dict[str, str] = {}
        for n in range(ARTICLES_PER_DAY):
            title = sentence(rng, 3, 7).rstrip(".")
            slug = "-".join(title.lower().split()[:5])
            posts[slug] = article(rng, title, day, 7 + 3 * n, rng.randrange(IMAGES))
        if series_part:
            title = f"{series_name}, part {series_part}"
            posts[f"series-part-{series_part}"] = article(
                rng, title, day, 16, rng.randrange(IMAGES), series_name
            )
            series_part -= 1
        posts["links"] = links_post(rng, day)
        posts["irc-log"] = irc_post(rng, day)
        for slug, text in posts.items():
            (directory / f"{slug}.gmi").write_text(text)
        written += len(posts)
        day_number += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{make_news(args.count, args.out, args.seed)} posts written")


if __name__ == "__main__":
    main()
