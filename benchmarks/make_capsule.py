"""Make a synthetic news capsule of N dated articles, deterministically, for benchmarks.

Usage: python benchmarks/make_capsule.py N OUTDIR [--seed 1]
Articles are spread over the days before 2026-11-25 as YYYY/MM/DD/slug.gmi, a few per day,
each 1-2 KB of gemtext with headings, paragraphs, lists, quotes and links. Every word of the
text is common except the desk each article is filed by (`desk d42`), one of DESKS: a word
found in a handful of articles at any size, for benchmarks of rare words.
"""

from __future__ import annotations

import argparse
import random
from datetime import date, timedelta
from pathlib import Path

WORDS = (
    "city council budget river bridge school election weather harbour market festival "
    "library transport rail energy housing museum garden football theatre science report "
    "committee hospital water storm summer winter farmers coffee tea bicycle workers union "
    "court trial mayor volunteers concert archive island mountain forest"
).split()
LAST_DAY = date(2026, 11, 25)
DESKS = 5000


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def article(rng: random.Random, title: str, published: date, desk: int = 0) -> str:
    lines = [f"# {title}", "", f"Published {published.isoformat()}, desk d{desk}.", ""]
    for section in range(rng.randint(2, 4)):
        lines += [f"## {sentence(rng, 2, 5).rstrip('.')}", ""]
        lines += [" ".join(sentence(rng, 8, 20) for _ in range(rng.randint(2, 4))), ""]
        if section == 1:
            lines += [f"* {sentence(rng, 3, 8)}" for _ in range(3)] + [""]
            lines += [f"> {sentence(rng, 6, 14)}", ""]
    lines += ["=> / Front page", "=> /archive/ Archive"]
    return "\n".join(lines) + "\n"


def make_capsule(count: int, out: Path, seed: int = 1) -> None:
    """Write `count` articles and an index under `out`."""
    rng = random.Random(seed)
    per_day = 24
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.gmi").write_text(
        "# The Daily Capsule\n\nNews, every day.\n\n## Latest\n{{recent 20}}\n\n"
        "=> /archive/ Archive\n=> /feed.gmi Subscribe\n=> /search Search\n"
    )
    (out / "about.gmi").write_text("# About\n\nA synthetic capsule for benchmarks.\n")
    for number in range(count):
        published = LAST_DAY - timedelta(days=number // per_day)
        title = sentence(rng, 3, 7).rstrip(".")
        slug = "-".join(title.lower().split()[:5]) + f"-{number}"
        directory = out / f"{published:%Y/%m/%d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{slug}.gmi").write_text(article(rng, title, published, number % DESKS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    make_capsule(args.count, args.out, args.seed)


if __name__ == "__main__":
    main()
